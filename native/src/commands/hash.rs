//! `depot-migrate hash` (the arguments, then the command).

use crate::args::Output;
use crate::inputs::{leave_to_exit, load_pair};
use crate::output::{print_json, print_line, Failure};
use clap::Args;
use depot_migrate_core::version_hash;
use serde_json::json;
use std::io::Write;

#[derive(Args, Debug)]
pub struct HashArgs {
    /// The package file (`*.package.json`), or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub package: String,
    /// The dataset config (`*.dataset.json`), or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub dataset: String,
    /// Print the canonical JSON the hash is computed over instead of the hash.
    #[arg(long)]
    pub canonical: bool,
}

pub fn run(args: HashArgs, output: Output) -> Result<(), Failure> {
    let HashArgs {
        package,
        dataset,
        canonical,
    } = args;
    let (pkg, ds) = load_pair(&package, &dataset)?;
    if canonical {
        let bytes = depot_migrate_core::hash::canonical_hash_input(&pkg, &ds);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&bytes);
        let _ = writeln!(out);
        leave_to_exit((pkg, ds, bytes));
        return Ok(());
    }
    let hash = version_hash(&pkg, &ds);
    match output {
        Output::Text => print_line(hash.as_str()),
        Output::Json => print_json(&json!({
            "versionHash": hash,
            "dataset": {
                "environmentId": ds.environment_id,
                "datasetId": ds.dataset_id,
                "datasetAlias": ds.dataset_alias,
                "engine": ds.engine,
                "schema": ds.schema,
            },
            "package": { "namespace": pkg.namespace, "tables": pkg.tables.len() },
        })),
    }
    leave_to_exit((pkg, ds));
    Ok(())
}
