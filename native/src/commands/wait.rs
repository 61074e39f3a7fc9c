//! `depot-migrate wait` (the arguments, then the command).

use crate::args::{parse_duration, DbArgs, Output};
use crate::commands::recover::millis;
use crate::dataset_ref::DatasetArg;
use crate::operate::{self, LocalSinks, RunnerArgs};
use crate::output::{one_line, print_json, Failure};
use clap::Args;
use depot_migrate_engine::operator::{check_version_hash, Operation};

#[derive(Args, Debug)]
pub struct WaitArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    /// The version hash to wait for.
    #[arg(long, value_name = "HASH")]
    pub version: String,
    /// How long to wait.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// How often to look.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub interval: std::time::Duration,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub runner: RunnerArgs,
}

pub fn run(args: WaitArgs, output: Output) -> Result<(), Failure> {
    let WaitArgs {
        dataset,
        version,
        timeout,
        interval,
        db,
        runner,
    } = args;
    check_version_hash(&version, "--version")?;
    let op = Operation::Wait {
        version_hash: version,
        timeout_ms: millis(timeout),
        interval_ms: millis(interval),
    };
    let reply = operate::call(
        op,
        Some(dataset.resolve()?),
        &db,
        &runner,
        LocalSinks::default(),
        &[],
    )?;
    // A superseded version is an answer, not an error: its document is printed, the
    // exit code is 1.
    let superseded = reply.error.is_none() && reply.output["result"] == "superseded";
    if superseded {
        eprintln!(
            "superseded: {}",
            one_line(reply.output["message"].as_str().unwrap_or_default())
        );
    }
    operate::present(reply, |r| {
        if output == Output::Json {
            print_json(&r.output);
        }
    })?;
    if superseded {
        return Err(Failure::Exit1Quiet);
    }
    Ok(())
}
