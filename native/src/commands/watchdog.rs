//! `depot-migrate watchdog` (the arguments, then the command).

use crate::args::{DbArgs, EventBusArgs, Output, SinkArgs};
use crate::commands::sink_for;
use crate::db::open_db_existing;
use crate::output::{apply_failure, print_json, Failure};
use clap::Args;
use depot_migrate_engine::executor;
use serde_json::json;

#[derive(Args, Debug)]
pub struct WatchdogArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub events: SinkArgs,
    #[command(flatten)]
    pub event_bus: EventBusArgs,
}

pub fn run(args: WatchdogArgs, output: Output) -> Result<(), Failure> {
    let WatchdogArgs {
        db,
        events: SinkArgs { events },
        event_bus: EventBusArgs { event_bus },
    } = args;
    let mut store = open_db_existing(db.url())?;
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
