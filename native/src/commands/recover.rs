//! `depot-migrate recover` (the arguments, then the command).

use crate::args::{parse_duration, DbArgs, LockArgs, LockTimeoutArgs, Output, SinkArgs};
use crate::operate::{self, LocalSinks, RunnerArgs};
use crate::output::{print_json, Failure};
use clap::{Args, ValueEnum};
use depot_migrate_engine::operator::{Operation, Resolve};

#[derive(Args, Debug)]
pub struct RecoverArgs {
    #[command(flatten)]
    pub dataset: crate::dataset_ref::DatasetArg,
    /// How to resolve.
    #[arg(long, value_enum)]
    pub resolve: ResolveArg,
    /// Why (recorded in history and in the event's `recovery` object).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Skip the catalog check.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub events: SinkArgs,
    #[command(flatten)]
    pub lock_wait: LockArgs,
    #[command(flatten)]
    pub lock_timeout: LockTimeoutArgs,
    /// How long the retried run may take.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub max_duration: std::time::Duration,
    #[command(flatten)]
    pub runner: RunnerArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ResolveArg {
    /// The change is in place.
    Deployed,
    /// The database is at the old version.
    RolledBack,
    /// Resume at the first step not completed.
    Retry,
}

pub fn run(args: RecoverArgs, output: Output) -> Result<(), Failure> {
    let RecoverArgs {
        dataset,
        resolve,
        reason,
        force,
        db,
        events: SinkArgs { events },
        lock_wait: LockArgs { lock_wait },
        lock_timeout: LockTimeoutArgs { lock_timeout },
        max_duration,
        runner,
    } = args;
    if reason.trim().is_empty() {
        return Err(Failure::Usage(
            "--reason must say why (it is recorded in history)".into(),
        ));
    }
    let op = Operation::Recover {
        resolve: match resolve {
            ResolveArg::Deployed => Resolve::Deployed,
            ResolveArg::RolledBack => Resolve::RolledBack,
            ResolveArg::Retry => Resolve::Retry,
        },
        reason,
        force,
        lock_wait_ms: millis(lock_wait),
        lock_timeout_ms: millis(lock_timeout),
        max_duration_ms: millis(max_duration),
    };
    let local_only: &[&str] = if events != "stdout" {
        &["--events"]
    } else {
        &[]
    };
    let sinks = LocalSinks {
        events: Some(events),
        json_output: output == Output::Json,
        ..LocalSinks::default()
    };
    let reply = operate::call(
        op,
        Some(dataset.resolve()?),
        &db,
        &runner,
        sinks,
        local_only,
    )?;
    operate::present(reply, |r| {
        if output == Output::Json {
            print_json(&r.output);
        }
    })
}

/// A duration in whole milliseconds (the operator request's unit).
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
