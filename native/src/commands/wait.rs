//! `depot-migrate wait` (the arguments, then the command).

use crate::args::{parse_duration, DbArgs, Output};
use crate::db::{open_existing, state_if_any};
use crate::inputs::read_dataset;
use crate::output::{apply_failure, one_line, print_json, Failure};
use clap::Args;
use depot_migrate_engine::{executor, store};
use serde_json::json;

#[derive(Args, Debug)]
pub struct WaitArgs {
    /// The dataset config.
    #[arg(long, value_name = "FILE")]
    pub dataset: String,
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
    let ds = read_dataset(&dataset)?;
    let target = executor::resolve_db(db.url().as_deref(), ds.engine).map_err(Failure::Usage)?;
    let start = std::time::Instant::now();
    // A read: until the state tables exist (nothing submitted yet) it only looks.
    let mut store: Option<Box<dyn store::Store>> = None;
    loop {
        if store.is_none() {
            store = open_existing(&target)?;
        }
        let stored = state_if_any(&mut store, &ds.dataset_id)?;
        if let Some(s) = &stored {
            executor::check_identity(&ds, s).map_err(apply_failure)?;
        }
        match executor::wait_state(stored.as_ref(), &version) {
            executor::WaitState::Deployed => {
                eprintln!("dataset {}: {version} is deployed", ds.dataset_id);
                if output == Output::Json {
                    print_json(&json!({"ok": true, "result": "deployed", "version": version}));
                }
                return Ok(());
            }
            executor::WaitState::Failed(m) => return Err(Failure::Failed(m)),
            executor::WaitState::Superseded(m) => {
                eprintln!("superseded: {}", one_line(&m));
                if output == Output::Json {
                    print_json(
                        &json!({"ok": false, "result": "superseded", "version": version, "message": m}),
                    );
                }
                return Err(Failure::Exit1Quiet);
            }
            executor::WaitState::Pending => {}
        }
        if start.elapsed() >= timeout {
            return Err(Failure::Timeout(format!(
                "dataset {}: {version} is not deployed after {}; see `depot-migrate status`",
                ds.dataset_id,
                humantime::format_duration(timeout)
            )));
        }
        std::thread::sleep(
            interval
                .min(timeout.saturating_sub(start.elapsed()))
                .max(std::time::Duration::from_millis(10)),
        );
    }
}
