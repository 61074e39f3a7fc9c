//! `depot-migrate schema` (the arguments, then the command).

use crate::output::{print_json, Failure};
use clap::{Args, ValueEnum};

#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// Which file format.
    #[arg(value_enum)]
    pub kind: SchemaKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// `*.package.json`.
    Package,
    /// `*.dataset.json`.
    Dataset,
}

pub fn run(args: SchemaArgs) -> Result<(), Failure> {
    let SchemaArgs { kind } = args;
    let schema = match kind {
        SchemaKind::Package => depot_migrate_core::schema::package(),
        SchemaKind::Dataset => depot_migrate_core::schema::dataset(),
    };
    print_json(&schema);
    Ok(())
}
