//! `depot-migrate recover` (the arguments, then the command).

use crate::args::{parse_duration, DbArgs, LockArgs, LockTimeoutArgs, Output, SinkArgs};
use crate::commands::sink_for;
use crate::dataset_ref::open_for;
use crate::output::{apply_failure, print_json, Failure};
use clap::{Args, ValueEnum};
use depot_migrate_engine::executor;
use serde_json::json;

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
    } = args;
    if reason.trim().is_empty() {
        return Err(Failure::Usage(
            "--reason must say why (it is recorded in history)".into(),
        ));
    }
    let (ds, mut store) = open_for(&dataset.resolve()?, db.url().as_deref())?;
    let mut sink = sink_for(&events, ds.event_bus_name.as_deref(), None, output)?;
    let opts = executor::RecoverOptions {
        resolve: match resolve {
            ResolveArg::Deployed => executor::Resolve::Deployed,
            ResolveArg::RolledBack => executor::Resolve::RolledBack,
            ResolveArg::Retry => executor::Resolve::Retry,
        },
        reason,
        force,
        run: executor::ApplyOptions {
            lock_wait,
            lock_timeout,
            max_duration: Some(max_duration),
            ..executor::ApplyOptions::default()
        },
    };
    let (result, version) = match executor::recover(store.as_mut(), sink.as_mut(), &ds, &opts)
        .map_err(apply_failure)?
    {
        executor::RecoverOutcome::Resolved(v) => ("resolved", v),
        executor::RecoverOutcome::Deployed(v) => ("deployed", v),
    };
    eprintln!(
        "dataset {}: recovered ({}); deployed version {version}",
        ds.dataset_id,
        opts.resolve.as_str()
    );
    if output == Output::Json {
        print_json(
            &json!({"ok": true, "result": result, "resolve": opts.resolve.as_str(), "deployedVersion": version}),
        );
    }
    Ok(())
}
