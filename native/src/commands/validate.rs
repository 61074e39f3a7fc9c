//! `depot-migrate validate` (the arguments, then the command).

use crate::args::Output;
use crate::inputs::leave_to_exit;
use crate::output::{print_json, print_line, Failure};
use clap::Args;
use depot_migrate_core::load;
use depot_migrate_engine::input::read_input;
use serde_json::json;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The package file, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub package: Option<String>,
    /// The dataset config, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub dataset: Option<String>,
}

pub fn run(args: ValidateArgs, output: Output) -> Result<(), Failure> {
    let ValidateArgs { package, dataset } = args;
    if package.is_none() && dataset.is_none() {
        return Err(Failure::Usage(
            "validate needs --package, --dataset or both".into(),
        ));
    }
    let mut failures = Vec::new();
    let mut engine = None;
    if let Some(d) = &dataset {
        match read_input(d) {
            Ok(f) => match load::parse_dataset(&f.bytes) {
                Ok(ds) => engine = Some(ds.engine),
                Err(e) => failures.push((f.name, e.problems)),
            },
            Err((name, e)) => failures.push((name, e.problems)),
        }
    }
    if let Some(p) = &package {
        if dataset.as_deref() == Some("-") && p == "-" {
            return Err(Failure::Usage(
                "--package and --dataset cannot both be - (standard input)".into(),
            ));
        }
        match read_input(p) {
            Ok(f) => {
                match load::parse_package(&f.bytes, engine) {
                    Err(e) => failures.push((f.name, e.problems)),
                    // With a dataset the package is meant for an engine: what
                    // none can store is refused too.
                    Ok(pkg) if engine.is_some() => {
                        let nul = depot_migrate_core::validate::text_without_nul(&pkg);
                        if !nul.is_empty() {
                            failures.push((f.name, nul));
                        }
                        leave_to_exit(pkg);
                    }
                    Ok(pkg) => leave_to_exit(pkg),
                }
            }
            Err((name, e)) => failures.push((name, e.problems)),
        }
    }
    if !failures.is_empty() {
        return Err(Failure::BadInput(failures));
    }
    match output {
        Output::Text => print_line("ok"),
        Output::Json => print_json(&json!({"ok": true})),
    }
    Ok(())
}
