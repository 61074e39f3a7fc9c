//! `depot-migrate snapshot` (the arguments, then the command).

use crate::args::DbArgs;
use crate::dataset_ref::DatasetArg;
use crate::operate::{self, LocalSinks, RunnerArgs};
use crate::output::{print_json, Failure};
use clap::Args;
use depot_migrate_engine::operator::Operation;

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub runner: RunnerArgs,
}

/// The package deployed now, as JSON (in either output format).
pub fn run(args: SnapshotArgs) -> Result<(), Failure> {
    let SnapshotArgs {
        dataset,
        db,
        runner,
    } = args;
    let reply = operate::call(
        Operation::Snapshot {},
        Some(dataset.resolve()?),
        &db,
        &runner,
        LocalSinks::default(),
        &[],
    )?;
    operate::present(reply, |r| print_json(&r.output))
}
