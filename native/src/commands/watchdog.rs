//! `depot-migrate watchdog` (the arguments, then the command).

use crate::args::Output;
use crate::commands::sink_for;
use crate::db::open_db_existing;
use crate::output::{apply_failure, print_json, Failure};
use clap::Args;
use depot_migrate_engine::executor;
use serde_json::json;

#[derive(Args, Debug)]
pub struct WatchdogArgs {
    /// Database URL (default `DEPOT_DATABASE_URL`).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Where events go.
    #[arg(long, value_name = "SINK", default_value = "stdout")]
    pub events: String,
    /// Send every EventBridge event to this bus (name or ARN) instead of its dataset's
    /// `eventBusName` (a warning says so). Without it each event goes to the bus
    /// recorded for it.
    #[arg(long, value_name = "NAME")]
    pub event_bus: Option<String>,
}

pub fn run(args: WatchdogArgs, output: Output) -> Result<(), Failure> {
    let WatchdogArgs {
        db,
        events,
        event_bus,
    } = args;
    let mut store = open_db_existing(db)?;
    let mut sink = sink_for(&events, None, event_bus.as_deref(), output)?;
    let findings = executor::watchdog(
        store.as_mut(),
        sink.as_mut(),
        std::time::Duration::from_secs(10),
    )
    .map_err(apply_failure)?;
    for f in &findings {
        eprintln!(
            "watchdog: dataset {}: {}{}",
            f.dataset_id,
            f.finding,
            f.failure
                .as_ref()
                .map(|r| format!(" (recorded as failed: {})", r.class))
                .unwrap_or_default()
        );
    }
    if output == Output::Json {
        print_json(&json!({"ok": true, "findings": findings}));
    }
    Ok(())
}
