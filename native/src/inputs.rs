//! Reading a command's input files into the core's model, every problem collected.

use crate::output::Failure;
use depot_migrate_core::{load, DatasetConfig, Invalid, Package, Problem};
use depot_migrate_engine::input::{self, read_input};

/// [`load_pair`] for the commands that turn the package into SQL (plan, apply, submit):
/// also refuses what no engine can store (NUL in comments and string defaults).
pub fn load_pair_for_sql(
    package: &str,
    dataset: &str,
) -> Result<(Package, DatasetConfig), Failure> {
    let (pkg, ds) = load_pair(package, dataset)?;
    let nul = depot_migrate_core::validate::text_without_nul(&pkg);
    if !nul.is_empty() {
        return Err(Failure::BadInput(vec![(input::display_name(package), nul)]));
    }
    Ok((pkg, ds))
}

/// Reads and validates a package and its dataset config, collecting the problems of
/// both files before failing.
pub fn load_pair(package: &str, dataset: &str) -> Result<(Package, DatasetConfig), Failure> {
    if package == "-" && dataset == "-" {
        return Err(Failure::Usage(
            "--package and --dataset cannot both be - (standard input)".into(),
        ));
    }
    let mut failures: Vec<(String, Vec<Problem>)> = Vec::new();
    let ds = match read_input(dataset) {
        Ok(f) => load::parse_dataset(&f.bytes).map_err(|e| (f.name, e)),
        Err(e) => Err(e),
    };
    let engine = ds.as_ref().ok().map(|d| d.engine);
    let pkg = match read_input(package) {
        Ok(f) => load::parse_package(&f.bytes, engine).map_err(|e| (f.name, e)),
        Err(e) => Err(e),
    };
    for err in [pkg.as_ref().err(), ds.as_ref().err()]
        .into_iter()
        .flatten()
    {
        let (name, e): &(String, Invalid) = err;
        failures.push((name.clone(), e.problems.clone()));
    }
    match (pkg, ds) {
        (Ok(p), Ok(d)) => Ok((p, d)),
        _ => Err(Failure::BadInput(failures)),
    }
}

/// Reads and validates a dataset config.
pub fn read_dataset(dataset: &str) -> Result<DatasetConfig, Failure> {
    let file = read_input(dataset).map_err(|(n, e)| Failure::BadInput(vec![(n, e.problems)]))?;
    load::parse_dataset(&file.bytes).map_err(|e| Failure::BadInput(vec![(file.name, e.problems)]))
}

/// Ends the life of a command's parsed input without freeing it: `hash` and `validate`
/// finish right after this and the process exits (`main.rs`), where the operating system
/// takes the memory back at once. Freeing a model of hundreds of thousands of strings
/// one by one was about a quarter of `hash` on a 20 MB package (`core/benches/hash.rs`,
/// "drop of the model"). Only for the CLI's one-shot commands: the Lambda handler
/// (`lambda/`) never calls them, so a long-lived process does not keep what this leaves.
pub fn leave_to_exit<T>(value: T) {
    std::mem::forget(value);
}
