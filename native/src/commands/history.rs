//! `depot-migrate history` (the arguments, then the command).

use crate::args::{DbArgs, Output};
use crate::db::{note_unrecorded, read_for};
use crate::output::{print_json, print_line, store_failure, Failure};
use clap::Args;
use serde_json::json;

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The dataset config.
    #[arg(long, value_name = "FILE")]
    pub dataset: String,
    #[command(flatten)]
    pub db: DbArgs,
}

pub fn run(args: HistoryArgs, output: Output) -> Result<(), Failure> {
    let HistoryArgs { dataset, db } = args;
    let rows = match read_for(&dataset, db.url().as_deref())? {
        Some((ds, mut store, stored)) => {
            if stored.is_none() {
                note_unrecorded(store.as_mut(), &ds)?;
            }
            store.history(&ds.dataset_id).map_err(store_failure)?
        }
        None => Vec::new(),
    };
    if output == Output::Json {
        print_json(&json!(rows));
    } else {
        for r in rows {
            print_line(&r.to_string());
        }
    }
    Ok(())
}
