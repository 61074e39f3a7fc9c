//! `depot-migrate`: version and migrate dataset schemas. See docs/design.md, "Native CLI".
//!
//! The command line is in `args.rs`, each command in `commands/<command>.rs`, and
//! `output.rs` is the only place results become exit codes: 0 ok, 1 migration failed,
//! 2 bad input or usage, 3 refused, 4 only for `plan --detailed-exitcode`. The Lambda
//! handler (`lambda/`) is the same binary, started by the Lambda runtime.

mod args;
mod commands;
mod dataset_ref;
mod db;
mod inputs;
mod lambda;
mod operate;
mod output;
mod text;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Started by the Lambda runtime (`bootstrap` on provided.al2023): the handler loop.
    if lambda::is_lambda() {
        return output::lambda_exit_code(lambda::run());
    }
    let cli = args::Cli::parse();
    let output = cli.output;
    output::exit_code(commands::run(cli), output)
}
