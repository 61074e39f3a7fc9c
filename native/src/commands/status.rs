//! `depot-migrate status` (the arguments, then the command).

use crate::args::DbArgs;
use crate::db::{note_unrecorded, read_for};
use crate::inputs::read_dataset;
use crate::output::{print_json, store_failure, Failure};
use clap::Args;
use depot_migrate_engine::executor;
use serde_json::json;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The dataset config.
    #[arg(long, value_name = "FILE")]
    pub dataset: String,
    #[command(flatten)]
    pub db: DbArgs,
}

pub fn run(args: StatusArgs) -> Result<(), Failure> {
    let StatusArgs { dataset, db } = args;
    let Some((ds, mut store, stored)) = read_for(&dataset, db.url().as_deref())? else {
        // No state tables: the dataset is new here (the note said where).
        let ds = read_dataset(&dataset)?;
        let mut doc = executor::status_json(&ds, None, false);
        doc["pendingEvents"] = json!({"count": 0, "destinations": {}});
        print_json(&doc);
        return Ok(());
    };
    let held = store
        .lock_held_elsewhere(&ds.dataset_id)
        .map_err(store_failure)?;
    let mut doc = executor::status_json(&ds, stored.as_ref(), held);
    if stored.is_none() {
        note_unrecorded(store.as_mut(), &ds)?;
    }
    let pending = store
        .pending_events(Some(&ds.dataset_id), 10_000)
        .map_err(store_failure)?;
    let mut by_destination = serde_json::Map::new();
    for (_, d, _) in &pending {
        let key = d.clone().unwrap_or_else(|| "unrecorded".into());
        let n = by_destination
            .get(&key)
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        by_destination.insert(key, json!(n + 1));
    }
    doc["pendingEvents"] = json!({"count": pending.len(), "destinations": by_destination});
    print_json(&doc);
    Ok(())
}
