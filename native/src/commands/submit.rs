//! `depot-migrate submit` (the arguments, then the command).

use crate::args::{parse_duration, DbArgs, LockArgs, Output, SinkArgs};
use crate::commands::sink_for;
use crate::inputs::load_pair_for_sql;
use crate::output::{apply_failure, print_json, steps_text, store_failure, Failure};
use clap::Args;
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::{executor, input};
use serde_json::json;

#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// The package to deploy, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub package: String,
    /// The dataset config (`migrationMode: asynchronous`), or `-`.
    #[arg(long, value_name = "FILE")]
    pub dataset: String,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub events: SinkArgs,
    #[command(flatten)]
    pub lock_wait: LockArgs,
    /// `environmentUri` carried in events.
    #[arg(long, value_name = "URI")]
    pub environment_uri: Option<String>,
    /// The worker commits each step on its own and journals it.
    #[arg(long)]
    pub step_by_step: bool,
    /// How long the worker's run may take (recorded with the submission).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_duration: Option<std::time::Duration>,
}

pub fn run(args: SubmitArgs, output: Output) -> Result<(), Failure> {
    let SubmitArgs {
        package,
        dataset,
        db,
        events: SinkArgs { events },
        lock_wait: LockArgs { lock_wait },
        environment_uri,
        step_by_step,
        max_duration,
    } = args;
    let (pkg, ds) = load_pair_for_sql(&package, &dataset)?;
    if ds.mode() != depot_migrate_core::MigrationMode::Asynchronous {
        return Err(Failure::Usage(format!(
            "dataset {} is synchronous: use `depot-migrate apply`, or set \"migrationMode\": \"asynchronous\" in {}",
            ds.dataset_id,
            input::display_name(&dataset)
        )));
    }
    let target = executor::resolve_db(db.url().as_deref(), ds.engine).map_err(Failure::Usage)?;
    let mut sink = sink_for(&events, ds.event_bus_name.as_deref(), None, output)?;
    let mut store = executor::open_store(&target).map_err(store_failure)?;
    let opts = executor::ApplyOptions {
        lock_wait,
        environment_uri,
        step_by_step,
        max_duration,
        ..executor::ApplyOptions::default()
    };
    let package_json = serde_json::to_string(&pkg).map_err(|e| {
        Failure::Failed(
            ErrorCode::Store,
            format!("cannot write the package as JSON: {e}"),
        )
    })?;
    match executor::submit(
        store.as_mut(),
        sink.as_mut(),
        &pkg,
        package_json,
        &ds,
        &opts,
    )
    .map_err(apply_failure)?
    {
        executor::SubmitOutcome::Submitted(revision, sub) => {
            eprintln!(
                "dataset {} desired {} (revision {revision}, run {}, {}); a worker runs it",
                ds.dataset_id,
                sub.version,
                sub.run_id,
                steps_text(sub.plan.steps.len())
            );
            if output == Output::Json {
                print_json(
                    &json!({"ok": true, "result": "submitted", "desiredVersion": sub.version, "revision": revision, "runId": sub.run_id, "planHash": sub.plan.plan_hash, "steps": sub.plan.steps.len()}),
                );
            }
        }
        executor::SubmitOutcome::Unchanged(version, why) => {
            eprintln!(
                "dataset {}: {version} is {why}; nothing to do",
                ds.dataset_id
            );
            if output == Output::Json {
                print_json(
                    &json!({"ok": true, "result": "unchanged", "desiredVersion": version, "reason": why}),
                );
            }
        }
    }
    Ok(())
}
