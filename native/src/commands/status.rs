//! `depot-migrate status` (the arguments, then the command).

use crate::args::{DbArgs, Output};
use crate::dataset_ref::DatasetArg;
use crate::operate::{self, LocalSinks, RunnerArgs};
use crate::output::Failure;
use crate::text;
use clap::Args;
use depot_migrate_engine::operator::Operation;

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub runner: RunnerArgs,
}

/// Text: a block for people ([`text::status_block`]); JSON: the `get-dataset` shape plus
/// `phase` and `pendingEvents`.
pub fn run(args: StatusArgs, output: Output) -> Result<(), Failure> {
    let StatusArgs {
        dataset,
        db,
        runner,
    } = args;
    let reply = operate::call(
        Operation::Status {},
        Some(dataset.resolve()?),
        &db,
        &runner,
        LocalSinks::default(),
        &[],
    )?;
    operate::present(reply, |r| {
        operate::render_json_or(output, r, |r| {
            text::status_block(&r.output, &r.extra, std::time::SystemTime::now())
        })
    })
}
