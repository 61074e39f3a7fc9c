//! `depot-migrate history` (the arguments, then the command).

use crate::args::{DbArgs, Output};
use crate::dataset_ref::DatasetArg;
use crate::operate::{self, LocalSinks, RunnerArgs};
use crate::output::Failure;
use crate::text;
use clap::Args;
use depot_migrate_engine::operator::Operation;

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub runner: RunnerArgs,
}

/// Text: a table fitted to the terminal ([`text::history_table`]); JSON: the rows.
pub fn run(args: HistoryArgs, output: Output) -> Result<(), Failure> {
    let HistoryArgs {
        dataset,
        db,
        runner,
    } = args;
    let reply = operate::call(
        Operation::History {},
        Some(dataset.resolve()?),
        &db,
        &runner,
        LocalSinks::default(),
        &[],
    )?;
    operate::present(reply, |r| {
        operate::render_json_or(output, r, |r| {
            text::history_table(r.output.as_array().map(Vec::as_slice).unwrap_or(&[]))
        })
    })
}
