//! `depot-migrate plan` (the arguments, then the command).

use crate::args::Output;
use crate::db::{open_existing, state_if_any};
use crate::inputs::load_pair_for_sql;
use crate::output::{apply_failure, print_json, print_line, Failure};
use clap::{Args, ValueEnum};
use depot_migrate_core::{load, summary};
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::input::read_input;
use depot_migrate_engine::{executor, input};
use std::io::Write;

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// The package to migrate to, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub package: String,
    /// The dataset config, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub dataset: String,
    /// The package deployed now; without it (and without --db) the plan creates
    /// everything.
    #[arg(long, value_name = "FILE", conflicts_with = "db")]
    pub from_package: Option<String>,
    /// Plan from the version deployed in this database (its stored snapshot).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// `json` (the plan), `sql` (statements ready to run) or `text` (a summary).
    #[arg(long, value_enum, default_value_t = PlanFormat::Json)]
    pub format: PlanFormat,
    /// Exit 0 when there is nothing to do and 4 when there is (as `terraform plan`).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// The plan as JSON.
    Json,
    /// The statements, each ending in `;`.
    Sql,
    /// A readable summary.
    Text,
}

pub fn run(args: PlanArgs, output: Output) -> Result<(), Failure> {
    let PlanArgs {
        package,
        dataset,
        from_package,
        db,
        format,
        detailed_exitcode,
    } = args;
    let (pkg, ds) = load_pair_for_sql(&package, &dataset)?;
    let from = match &from_package {
        None if db.is_some() => {
            let target = executor::resolve_db(db.as_deref(), ds.engine).map_err(Failure::Usage)?;
            // A read: nothing is created or changed (no state tables yet is the
            // plan of a new dataset).
            let mut store = open_existing(&target)?;
            let stored = state_if_any(&mut store, &ds.dataset_id)?;
            match stored {
                Some(s) => {
                    executor::check_identity(&ds, &s).map_err(apply_failure)?;
                    executor::deployed_package(&s, ds.engine).map_err(apply_failure)?
                }
                None => {
                    if let Some(store) = store.as_mut() {
                        executor::check_untracked_objects(store.as_mut(), &ds)
                            .map_err(apply_failure)?;
                    }
                    None
                }
            }
        }
        None => None,
        Some(f) => {
            if f == "-" && (package == "-" || dataset == "-") {
                return Err(Failure::Usage(
                    "only one input can be - (standard input)".into(),
                ));
            }
            let file = read_input(f).map_err(|(n, e)| Failure::BadInput(vec![(n, e.problems)]))?;
            Some(
                load::parse_package(&file.bytes, Some(ds.engine))
                    .map_err(|e| Failure::BadInput(vec![(file.name, e.problems)]))?,
            )
        }
    };
    let plan = depot_migrate_core::plan::plan(from.as_ref(), &pkg, &ds)
        .map_err(|e| Failure::BadInput(vec![(input::display_name(&package), e.problems)]))?;
    let format = if output == Output::Json {
        PlanFormat::Json
    } else {
        format
    };
    match format {
        PlanFormat::Json => print_json(&serde_json::to_value(&plan).map_err(|e| {
            Failure::Failed(
                ErrorCode::Store,
                format!("cannot write the plan as JSON: {e}"),
            )
        })?),
        PlanFormat::Sql => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(plan.sql_script().as_bytes());
        }
        PlanFormat::Text => print_line(&summary::plan_text(&plan, &ds)),
    }
    if detailed_exitcode && !plan.steps.is_empty() {
        return Err(Failure::Changes);
    }
    Ok(())
}
