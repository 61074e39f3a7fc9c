//! `depot-migrate snapshot` (the arguments, then the command).

use crate::args::DbArgs;
use crate::dataset_ref::DatasetArg;
use crate::operate;
use crate::output::{print_json, Failure};
use clap::Args;

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    #[command(flatten)]
    pub db: DbArgs,
}

pub fn run(args: SnapshotArgs) -> Result<(), Failure> {
    let SnapshotArgs { dataset, db } = args;
    print_json(&operate::snapshot(
        &dataset.resolve()?,
        db.url().as_deref(),
    )?);
    Ok(())
}
