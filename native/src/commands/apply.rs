//! `depot-migrate apply` (the arguments, then the command).

use crate::args::{parse_duration, DbArgs, LockArgs, LockTimeoutArgs, Output, SinkArgs};
use crate::commands::sink_for;
use crate::inputs::load_pair_for_sql;
use crate::output::{apply_failure, print_json, steps_text, store_failure, Failure};
use clap::Args;
use depot_migrate_core::Problem;
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::input::read_input;
use depot_migrate_engine::{executor, input};
use serde_json::json;

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The package to deploy, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub package: String,
    /// The dataset config, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub dataset: String,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub events: SinkArgs,
    /// A plan made earlier (e.g. at CDK synth): refused as stale (exit 3) unless the
    /// plan recomputed from the deployed snapshot has the same planHash.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<String>,
    #[command(flatten)]
    pub lock_wait: LockArgs,
    #[command(flatten)]
    pub lock_timeout: LockTimeoutArgs,
    /// Retries of the whole migration after a lock timeout.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// `environmentUri` carried in events (where the plan is stored).
    #[arg(long, value_name = "URI")]
    pub environment_uri: Option<String>,
    /// Commit each step on its own and journal it (the path non-transactional steps
    /// always take), so `recover --resolve retry` can resume after a failure,
    /// instead of one transaction for the whole plan.
    #[arg(long)]
    pub step_by_step: bool,
    /// How long the run may take; past it `watchdog` (or the next executor) records
    /// it as failed and revokes its lease so it can never commit.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub max_duration: std::time::Duration,
    /// Run an asynchronous dataset (`migrationMode: asynchronous`) synchronously here
    /// instead of refusing (its events then say `synchronous`).
    #[arg(long)]
    pub sync: bool,
}

pub fn run(args: ApplyArgs, output: Output) -> Result<(), Failure> {
    let ApplyArgs {
        package,
        dataset,
        db,
        events: SinkArgs { events },
        plan,
        lock_wait: LockArgs { lock_wait },
        lock_timeout: LockTimeoutArgs { lock_timeout },
        retries,
        environment_uri,
        step_by_step,
        max_duration,
        sync,
    } = args;
    let (pkg, ds) = load_pair_for_sql(&package, &dataset)?;
    if ds.mode() == depot_migrate_core::MigrationMode::Asynchronous && !sync {
        return Err(Failure::Refused(ErrorCode::AsynchronousDataset, format!(
            "dataset {} is asynchronous (\"migrationMode\": \"asynchronous\" in {}): use `depot-migrate submit` and a worker, or pass --sync to run it here and now",
            ds.dataset_id,
            input::display_name(&dataset)
        )));
    }
    let expected_plan = match &plan {
        None => None,
        Some(f) => {
            let file = read_input(f).map_err(|(n, e)| Failure::BadInput(vec![(n, e.problems)]))?;
            let p: depot_migrate_core::plan::Plan = serde_json::from_slice(&file.bytes).map_err(|e| {
                Failure::BadInput(vec![(file.name.clone(), vec![Problem::new(depot_migrate_core::Code::MalformedJson, "$", format!("not a depot-migrate plan: {e}; pass the JSON that `depot-migrate plan` prints"))])])
            })?;
            Some(p)
        }
    };
    let target = executor::resolve_db(db.url().as_deref(), ds.engine).map_err(Failure::Usage)?;
    let mut sink = sink_for(&events, ds.event_bus_name.as_deref(), None, output)?;
    if events == "stdout" {
        if let Some(bus) = &ds.event_bus_name {
            eprintln!("warning: the dataset names event bus {bus:?}, but events go to stdout; pass --events eventbridge to publish them there");
        }
    }
    let mut store = executor::open_store(&target).map_err(store_failure)?;
    let opts = executor::ApplyOptions {
        lock_wait,
        lock_timeout,
        retries,
        expected_plan,
        environment_uri,
        publish_budget: std::time::Duration::from_secs(10),
        step_by_step,
        max_duration: Some(max_duration),
    };
    // The snapshot stored is the package as the model holds it (no nulls).
    let package_json = serde_json::to_string(&pkg).map_err(|e| {
        Failure::Failed(
            ErrorCode::Store,
            format!("cannot write the package as JSON: {e}"),
        )
    })?;
    match executor::apply(
        store.as_mut(),
        sink.as_mut(),
        &pkg,
        package_json,
        &ds,
        &opts,
    ) {
        Ok(executor::ApplyOutcome::AlreadyDeployed(v)) => {
            eprintln!("dataset {} is already at {v}; nothing to do", ds.dataset_id);
            if output == Output::Json {
                print_json(&json!({"ok": true, "result": "unchanged", "deployedVersion": v}));
            }
            Ok(())
        }
        Ok(executor::ApplyOutcome::Deployed { version, plan }) => {
            eprintln!(
                "dataset {} deployed {version} ({}, planHash {})",
                ds.dataset_id,
                steps_text(plan.steps.len()),
                plan.plan_hash
            );
            if output == Output::Json {
                print_json(
                    &json!({"ok": true, "result": "deployed", "deployedVersion": version, "planHash": plan.plan_hash, "steps": plan.steps.len()}),
                );
            }
            Ok(())
        }
        Err(e) => Err(apply_failure(e)),
    }
}
