//! `depot-migrate inspect` (the arguments, then the command): reads a live schema's
//! catalog and writes the package that describes it (docs/adopt-and-drift.md). The
//! store reads the rows; `depot_migrate_core::inspect` maps them.

use crate::args::Output;
use crate::db::open_existing;
use crate::inputs::read_dataset;
use crate::output::{print_json, store_failure, Failure};
use clap::Args;
use depot_migrate_core::inspect::{package_from_catalog, Inspected};
use depot_migrate_core::{load, validate, Engine};
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::executor;
use depot_migrate_engine::operator::dataset::{target_name, target_of_url};
use serde_json::json;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Database URL (`sqlite:FILE`, `postgres://…`, `snowflake://…`); default
    /// `DEPOT_DATABASE_URL`.
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// The schema to read (default: the dataset's).
    #[arg(long, value_name = "NAME", required_unless_present = "dataset")]
    pub schema: Option<String>,
    /// A dataset config: its engine (Aurora or PostgreSQL) and, without --schema, its
    /// schema.
    #[arg(long, value_name = "FILE")]
    pub dataset: Option<String>,
    /// The package namespace (default: the schema name).
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// Write the package to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
    /// Refuse (exit 3, nothing written) when the schema holds objects the package model
    /// cannot express.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: InspectArgs, output: Output) -> Result<(), Failure> {
    let ds = args.dataset.as_deref().map(read_dataset).transpose()?;
    let url = args
        .db
        .clone()
        .or_else(|| {
            std::env::var("DEPOT_DATABASE_URL")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .ok_or_else(|| {
            Failure::Usage("no database: pass --db URL or set DEPOT_DATABASE_URL".into())
        })?;
    let target = match &ds {
        Some(d) => executor::resolve_db(Some(&url), d.engine).map_err(Failure::Usage)?,
        None => target_of_url(&url)?,
    };
    let engine = match (&ds, &target) {
        (Some(d), _) => d.engine,
        (None, executor::DbTarget::Sqlite(_)) => Engine::Sqlite,
        (None, executor::DbTarget::Snowflake(_)) => Engine::Snowflake,
        (None, executor::DbTarget::Postgres(_)) => Engine::Postgres,
    };
    let schema = args
        .schema
        .clone()
        .or_else(|| ds.as_ref().map(|d| d.schema.clone()))
        .unwrap_or_default();
    let namespace = args.namespace.clone().unwrap_or_else(|| schema.clone());
    for (flag, v) in [("--schema", &schema), ("--namespace", &namespace)] {
        if !validate::is_identifier(v) {
            return Err(Failure::Usage(format!(
                "{flag} {v:?} is not an identifier (letters, digits and `_`, not starting with a digit, at most 63); pass --namespace NAME if the schema name is not one"
            )));
        }
    }
    let Some(mut store) = open_existing(&target)? else {
        return Err(Failure::Usage(format!(
            "{} does not exist: there is nothing to inspect",
            target_name(&target)
        )));
    };
    let live = store.inspect(&schema).map_err(store_failure)?;
    if engine != Engine::Sqlite && live.tables.is_empty() && live.unrepresented.is_empty() {
        eprintln!(
            "note: schema {schema} of {} holds no tables (is --schema right?)",
            target_name(&target)
        );
    }
    let Inspected {
        package,
        unrepresented,
    } = package_from_catalog(engine, &namespace, &live);
    for u in &unrepresented {
        eprintln!("not represented: {u}");
    }
    if args.strict && !unrepresented.is_empty() {
        return Err(Failure::Refused(
            ErrorCode::Unrepresented,
            format!(
                "schema {schema} holds {} object(s) the package model cannot express (listed above); nothing was written",
                unrepresented.len()
            ),
        ));
    }
    let mut text = serde_json::to_string_pretty(&package).map_err(|e| {
        Failure::Failed(
            ErrorCode::InspectInvalid,
            format!("cannot write the package: {e}"),
        )
    })?;
    text.push('\n');
    // The package must be one the rest of depot-migrate accepts.
    if let Err(invalid) = load::parse_package(text.as_bytes(), Some(engine)) {
        let problems: Vec<String> = invalid
            .problems
            .iter()
            .map(|p| format!("{}: {}: {}", p.path, p.code, p.message))
            .collect();
        return Err(Failure::Failed(
            ErrorCode::InspectInvalid,
            format!(
                "the package read from schema {schema} does not validate: {}",
                problems.join("; ")
            ),
        ));
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| Failure::Usage(format!("{path}: cannot write the package: {e}")))?;
            eprintln!(
                "wrote {path}: {} table(s) from schema {schema}{}",
                package.tables.len(),
                if unrepresented.is_empty() {
                    String::new()
                } else {
                    format!("; {} object(s) not represented", unrepresented.len())
                }
            );
            if output == Output::Json {
                print_json(&json!({
                    "ok": true, "file": path, "tables": package.tables.len(),
                    "unrepresented": unrepresented,
                }));
            }
        }
        None => {
            print!("{text}");
        }
    }
    Ok(())
}
