//! `depot-migrate history` (the arguments, then the command).

use crate::args::{DbArgs, Output};
use crate::dataset_ref::DatasetArg;
use crate::output::{print_json, print_line, Failure};
use crate::{operate, text};
use clap::Args;
use serde_json::json;

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Text: a table fitted to the terminal ([`text::history_table`]); JSON: the rows.
pub fn run(args: HistoryArgs, output: Output) -> Result<(), Failure> {
    let HistoryArgs { dataset, db } = args;
    let rows = operate::history(&dataset.resolve()?, db.url().as_deref())?;
    match output {
        Output::Json => print_json(&json!(rows)),
        Output::Text => print_line(&text::history_table(&rows)),
    }
    Ok(())
}
