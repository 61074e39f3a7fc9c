//! `depot-migrate`: version and migrate dataset schemas. See DESIGN.md, "Native CLI".
//!
//! This file is the only place errors become exit codes: 0 ok, 1 migration failed,
//! 2 bad input or usage, 3 refused, 4 only for `plan --detailed-exitcode`.

mod input;

use clap::{Parser, Subcommand, ValueEnum};
use depot_migrate_core::{load, version_hash, DatasetConfig, Invalid, Package, Problem};
use input::read_input;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

/// Version and migrate the schema of a dataset (Postgres/Aurora, Snowflake, SQLite),
/// and make every step observable.
#[derive(Parser, Debug)]
#[command(name = "depot-migrate", version, about, long_about = None)]
struct Cli {
    /// Output format of the command's result (errors always go to stderr as lines).
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    /// Plain text for people and shell scripts.
    Text,
    /// One JSON document on stdout.
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the version hash of a package for a dataset (64 lowercase hex digits).
    Hash {
        /// The package file (`*.package.json`), or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        package: String,
        /// The dataset config (`*.dataset.json`), or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        dataset: String,
        /// Print the canonical JSON the hash is computed over instead of the hash.
        #[arg(long)]
        canonical: bool,
    },
    /// Compute the migration plan from a deployed package (or an empty database) to a
    /// package.
    Plan {
        /// The package to migrate to, or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        package: String,
        /// The dataset config, or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        dataset: String,
        /// The package deployed now; without it the plan creates everything.
        #[arg(long, value_name = "FILE")]
        from_package: Option<String>,
        /// `json` (the plan), `sql` (statements ready to run) or `text` (a summary).
        #[arg(long, value_enum, default_value_t = PlanFormat::Json)]
        format: PlanFormat,
        /// Exit 0 when there is nothing to do and 4 when there is (as `terraform plan`).
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Check a package and a dataset config and list every problem.
    Validate {
        /// The package file, or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        package: Option<String>,
        /// The dataset config, or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        dataset: Option<String>,
    },
    /// Print the JSON Schema of an input file format.
    Schema {
        /// Which file format.
        #[arg(value_enum)]
        kind: SchemaKind,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PlanFormat {
    /// The plan as JSON.
    Json,
    /// The statements, each ending in `;`.
    Sql,
    /// A readable summary.
    Text,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchemaKind {
    /// `*.package.json`.
    Package,
    /// `*.dataset.json`.
    Dataset,
}

/// Why a command did not succeed, mapped to an exit code in `main` only.
enum Failure {
    /// Bad input: every problem, per file (exit 2).
    BadInput(Vec<(String, Vec<Problem>)>),
    /// Usage error not caught by clap (exit 2).
    Usage(String),
    /// `plan --detailed-exitcode` found changes (exit 4).
    Changes,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = cli.output;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Changes) => ExitCode::from(4),
        Err(Failure::BadInput(files)) => {
            let stderr = std::io::stderr();
            let mut err = stderr.lock();
            for (file, problems) in &files {
                for p in problems {
                    let _ = writeln!(
                        err,
                        "{file}:{}: {}: {}",
                        p.path,
                        p.code,
                        one_line(&p.message)
                    );
                }
            }
            if output == Output::Json {
                let doc = json!({
                    "ok": false,
                    "error": "invalidInput",
                    "problems": files.iter().flat_map(|(file, ps)| ps.iter().map(move |p| json!({
                        "file": file, "path": p.path, "code": p.code.as_str(), "message": p.message,
                    }))).collect::<Vec<_>>(),
                });
                print_json(&doc);
            }
            ExitCode::from(2)
        }
        Err(Failure::Usage(message)) => {
            let _ = writeln!(std::io::stderr(), "error: {}", one_line(&message));
            ExitCode::from(2)
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn print_json(doc: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, doc);
    let _ = writeln!(out);
}

fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Hash {
            package,
            dataset,
            canonical,
        } => {
            let (pkg, ds) = load_pair(&package, &dataset)?;
            if canonical {
                let bytes = depot_migrate_core::hash::canonical_hash_input(&pkg, &ds);
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&bytes);
                let _ = writeln!(out);
                return Ok(());
            }
            let hash = version_hash(&pkg, &ds);
            match cli.output {
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
            Ok(())
        }
        Command::Plan {
            package,
            dataset,
            from_package,
            format,
            detailed_exitcode,
        } => {
            let (pkg, ds) = load_pair(&package, &dataset)?;
            let from = match &from_package {
                None => None,
                Some(f) => {
                    if f == "-" && (package == "-" || dataset == "-") {
                        return Err(Failure::Usage(
                            "only one input can be - (standard input)".into(),
                        ));
                    }
                    let file =
                        read_input(f).map_err(|(n, e)| Failure::BadInput(vec![(n, e.problems)]))?;
                    Some(
                        load::parse_package(&file.bytes, Some(ds.engine))
                            .map_err(|e| Failure::BadInput(vec![(file.name, e.problems)]))?,
                    )
                }
            };
            let plan = depot_migrate_core::plan::plan(from.as_ref(), &pkg, &ds).map_err(|e| {
                Failure::BadInput(vec![(input::display_name(&package), e.problems)])
            })?;
            let format = if cli.output == Output::Json {
                PlanFormat::Json
            } else {
                format
            };
            match format {
                PlanFormat::Json => print_json(&serde_json::to_value(&plan).unwrap_or_default()),
                PlanFormat::Sql => {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(plan.sql_script().as_bytes());
                }
                PlanFormat::Text => print_line(&plan_text(&plan, &ds)),
            }
            if detailed_exitcode && !plan.steps.is_empty() {
                return Err(Failure::Changes);
            }
            Ok(())
        }
        Command::Validate { package, dataset } => {
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
                        if let Err(e) = load::parse_package(&f.bytes, engine) {
                            failures.push((f.name, e.problems));
                        }
                    }
                    Err((name, e)) => failures.push((name, e.problems)),
                }
            }
            if !failures.is_empty() {
                return Err(Failure::BadInput(failures));
            }
            match cli.output {
                Output::Text => print_line("ok"),
                Output::Json => print_json(&json!({"ok": true})),
            }
            Ok(())
        }
        Command::Schema { kind } => {
            let schema = match kind {
                SchemaKind::Package => depot_migrate_core::schema::package(),
                SchemaKind::Dataset => depot_migrate_core::schema::dataset(),
            };
            print_json(&schema);
            Ok(())
        }
    }
}

/// Reads and validates a package and its dataset config, collecting the problems of
/// both files before failing.
fn load_pair(package: &str, dataset: &str) -> Result<(Package, DatasetConfig), Failure> {
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

/// A readable summary of a plan, in the spirit of `terraform plan`.
fn plan_text(plan: &depot_migrate_core::plan::Plan, ds: &DatasetConfig) -> String {
    let mut out = String::new();
    let from = plan
        .from_version
        .as_ref()
        .map_or("(empty)".to_string(), |h| h.as_str()[..12].to_string());
    out.push_str(&format!(
        "dataset {} ({}) on {}: {} -> {}\n",
        plan.dataset_id,
        ds.dataset_alias.as_deref().unwrap_or("-"),
        plan.engine,
        from,
        &plan.to_version.as_str()[..12]
    ));
    if plan.steps.is_empty() {
        out.push_str("No changes. The dataset matches the package.");
        return out;
    }
    let (mut add, mut change, mut destroy) = (0, 0, 0);
    let allowed = |k: &String| ds.destructive_policy().allows(k);
    for s in &plan.steps {
        let sign = if s.kind.starts_with("create") || s.kind.starts_with("add") {
            add += 1;
            '+'
        } else if s.kind.starts_with("drop") && s.destructive {
            destroy += 1;
            '-'
        } else {
            change += 1;
            '~'
        };
        let mut flags = Vec::new();
        if s.destructive {
            let ok = s.destructive_changes.iter().all(allowed);
            flags.push(
                if ok {
                    "DESTRUCTIVE (allowed)"
                } else {
                    "DESTRUCTIVE (not allowed)"
                }
                .to_string(),
            );
        }
        if s.may_fail {
            flags.push("may fail on existing data".to_string());
        }
        if let Some(l) = &s.locks {
            flags.push(l.clone());
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", flags.join("; "))
        };
        out.push_str(&format!("  {sign} {}  ({}){flags}\n", s.summary, s.key));
    }
    for n in &plan.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
    out.push_str(&format!(
        "Plan: {add} to add, {change} to change, {destroy} to destroy."
    ));
    let disallowed = plan.disallowed(ds);
    if !disallowed.is_empty() {
        out.push_str(&format!(
            "\nRefused as it stands: add {} to allowDestructive in the dataset config to allow.",
            disallowed
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}
