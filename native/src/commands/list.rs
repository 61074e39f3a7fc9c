//! `depot-migrate list` (the arguments, then the command).

use crate::args::{DbArgs, Output};
use crate::output::{print_json, print_line, Failure};
use crate::{operate, text};
use clap::Args;
use serde_json::json;

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

/// Every dataset the store records. Text: a table ([`text::list_table`]); JSON: the rows
/// of [`operate::list`].
pub fn run(args: ListArgs, output: Output) -> Result<(), Failure> {
    let rows = operate::list(args.db.url())?;
    match output {
        Output::Json => print_json(&json!(rows)),
        Output::Text => print_line(&text::list_table(&rows)),
    }
    Ok(())
}
