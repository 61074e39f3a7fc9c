//! `depot-migrate list` (the arguments, then the command).

use crate::args::{DbArgs, Output};
use crate::operate::{self, LocalSinks, RunnerArgs};
use crate::output::Failure;
use crate::text;
use clap::Args;
use depot_migrate_engine::operator::Operation;

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub runner: RunnerArgs,
}

/// Every dataset the store records. Text: a table ([`text::list_table`]); JSON: the rows
/// of `depot_migrate_engine::operator::reads::list`.
pub fn run(args: ListArgs, output: Output) -> Result<(), Failure> {
    let reply = operate::call(
        Operation::List {},
        None,
        &args.db,
        &args.runner,
        LocalSinks::default(),
        &[],
    )?;
    operate::present(reply, |r| {
        operate::render_json_or(output, r, |r| {
            text::list_table(r.output.as_array().map(Vec::as_slice).unwrap_or(&[]))
        })
    })
}
