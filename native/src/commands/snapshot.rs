//! `depot-migrate snapshot` (the arguments, then the command).

use crate::args::DbArgs;
use crate::db::{note_unrecorded, read_for};
use crate::inputs::read_dataset;
use crate::output::{print_json, Failure};
use clap::Args;

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    /// The dataset config.
    #[arg(long, value_name = "FILE")]
    pub dataset: String,
    #[command(flatten)]
    pub db: DbArgs,
}

pub fn run(args: SnapshotArgs) -> Result<(), Failure> {
    let SnapshotArgs { dataset, db } = args;
    let ds = read_dataset(&dataset)?;
    let stored = match read_for(&dataset, db.url().as_deref())? {
        Some((ds, mut store, stored)) => {
            if stored.is_none() {
                note_unrecorded(store.as_mut(), &ds)?;
            }
            stored
        }
        None => None,
    };
    match stored.and_then(|s| s.deployed_package) {
        Some(text) => {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            print_json(&v);
            Ok(())
        }
        None => Err(Failure::Refused(format!(
            "dataset {} has nothing deployed yet: there is no snapshot to print",
            ds.dataset_id
        ))),
    }
}
