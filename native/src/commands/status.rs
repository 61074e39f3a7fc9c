//! `depot-migrate status` (the arguments, then the command).

use crate::args::{DbArgs, Output};
use crate::dataset_ref::DatasetArg;
use crate::output::{print_json, print_line, Failure};
use crate::{operate, text};
use clap::Args;

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Text: a block for people ([`text::status_block`]); JSON: the `get-dataset` shape plus
/// `phase` and `pendingEvents`.
pub fn run(args: StatusArgs, output: Output) -> Result<(), Failure> {
    let StatusArgs { dataset, db } = args;
    let (doc, extra) = operate::status(&dataset.resolve()?, db.url().as_deref())?;
    match output {
        Output::Json => print_json(&doc),
        Output::Text => print_line(&text::status_block(
            &doc,
            &extra,
            std::time::SystemTime::now(),
        )),
    }
    Ok(())
}
