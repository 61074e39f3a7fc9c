//! `depot-migrate wait` (the arguments, then the command).

use crate::args::{parse_duration, DbArgs, Output};
use crate::dataset_ref::{DatasetArg, DatasetRef};
use crate::output::{apply_failure, one_line, print_json, store_failure, Failure};
use clap::Args;
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::wait::{WaitError, WaitOutcome};
use serde_json::json;

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
}

pub fn run(args: WaitArgs, output: Output) -> Result<(), Failure> {
    let WaitArgs {
        dataset,
        version,
        timeout,
        interval,
        db,
    } = args;
    if version.len() != 64
        || !version
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Failure::Usage(format!(
            "--version {version:?} is not a version hash; pass the 64 lowercase hex digits `depot-migrate hash` prints"
        )));
    }
    let dref = dataset.resolve()?;
    let target = dref.target(db.url().as_deref())?;
    let ds = match &dref {
        DatasetRef::File(ds) => (**ds).clone(),
        // By id: the dataset must be recorded already (its config comes from the record).
        DatasetRef::Id { .. } => {
            let (ds, _) = crate::dataset_ref::open_for(&dref, db.url().as_deref())?;
            ds
        }
    };
    let outcome = depot_migrate_engine::wait::wait(&target, &ds, &version, timeout, interval)
        .map_err(|e| match e {
            WaitError::Store(e) => store_failure(e),
            WaitError::Identity(e) => apply_failure(e),
        })?;
    match outcome {
        WaitOutcome::Deployed => {
            eprintln!("dataset {}: {version} is deployed", ds.dataset_id);
            if output == Output::Json {
                print_json(&json!({"ok": true, "result": "deployed", "version": version}));
            }
            Ok(())
        }
        WaitOutcome::Failed(m) => Err(Failure::Failed(ErrorCode::MigrationFailed, m)),
        WaitOutcome::Superseded(m) => {
            eprintln!("superseded: {}", one_line(&m));
            if output == Output::Json {
                print_json(
                    &json!({"ok": false, "result": "superseded", "version": version, "message": m}),
                );
            }
            Err(Failure::Exit1Quiet)
        }
        WaitOutcome::TimedOut => Err(Failure::Timeout(format!(
            "dataset {}: {version} is not deployed after {}; see `depot-migrate status`",
            ds.dataset_id,
            humantime::format_duration(timeout)
        ))),
    }
}
