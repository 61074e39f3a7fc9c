//! `depot-migrate`: version and migrate dataset schemas. See docs/design.md, "Native CLI".
//!
//! This file is the only place errors become exit codes: 0 ok, 1 migration failed,
//! 2 bad input or usage, 3 refused, 4 only for `plan --detailed-exitcode`.

mod lambda;

use depot_migrate_aws::{sinks, sqs};
use depot_migrate_engine::{events, executor, input, store, worker};

use clap::{Parser, Subcommand, ValueEnum};
use depot_migrate_core::summary;
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
        /// The package deployed now; without it (and without --db) the plan creates
        /// everything.
        #[arg(long, value_name = "FILE", conflicts_with = "db")]
        from_package: Option<String>,
        /// Plan from the version deployed in this database (its stored snapshot).
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        /// `json` (the plan), `sql` (statements ready to run) or `text` (a summary).
        #[arg(long, value_enum, default_value_t = PlanFormat::Json)]
        format: PlanFormat,
        /// Exit 0 when there is nothing to do and 4 when there is (as `terraform plan`).
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Migrate the database to a package (synchronous lifecycle: attempted, then
    /// deployed or failed), keeping state, history and events in the database.
    Apply {
        /// The package to deploy, or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        package: String,
        /// The dataset config, or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        dataset: String,
        /// Database URL (`sqlite:FILE`, `postgres://…`); default `DEPOT_DATABASE_URL`,
        /// then `sqlite:depot.sqlite` for SQLite datasets.
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        /// Where events go: `stdout`, `jsonl:PATH`, `eventbridge` or `none`.
        #[arg(long, value_name = "SINK", default_value = "stdout")]
        events: String,
        /// A plan made earlier (e.g. at CDK synth): refused as stale (exit 3) unless the
        /// plan recomputed from the deployed snapshot has the same planHash.
        #[arg(long, value_name = "FILE")]
        plan: Option<String>,
        /// How long to wait for another executor's lock before refusing (exit 3).
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
        lock_wait: std::time::Duration,
        /// Postgres `lock_timeout` for each DDL statement.
        #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
        lock_timeout: std::time::Duration,
        /// Retries of the whole migration after a lock timeout.
        #[arg(long, value_name = "N", default_value_t = 3)]
        retries: u32,
        /// `environmentUri` carried in events (where the plan is stored).
        #[arg(long, value_name = "URI")]
        environment_uri: Option<String>,
        /// Commit each step on its own and journal it (the path non-transactional steps
        /// always take), so `recover --resolve retry` can resume after a failure,
        /// instead of one transaction for the whole plan.
        #[arg(long)]
        step_by_step: bool,
        /// How long the run may take; past it `watchdog` (or the next executor) records
        /// it as failed and revokes its lease so it can never commit.
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
        max_duration: std::time::Duration,
        /// Run an asynchronous dataset (`migrationMode: asynchronous`) synchronously here
        /// instead of refusing (its events then say `synchronous`).
        #[arg(long)]
        sync: bool,
    },
    /// Asynchronous mode: set desiredVersion, store the plan and the package, emit
    /// `desired` (carrying the state revision and a runId) and return at once; a
    /// `worker` runs it.
    Submit {
        /// The package to deploy, or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        package: String,
        /// The dataset config (`migrationMode: asynchronous`), or `-`.
        #[arg(long, value_name = "FILE")]
        dataset: String,
        /// Database URL.
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        /// Where events go: `stdout`, `jsonl:PATH`, `eventbridge` or `none`.
        #[arg(long, value_name = "SINK", default_value = "stdout")]
        events: String,
        /// How long to wait for a running executor's lock before refusing (exit 3).
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
        lock_wait: std::time::Duration,
        /// `environmentUri` carried in events.
        #[arg(long, value_name = "URI")]
        environment_uri: Option<String>,
        /// The worker commits each step on its own and journals it.
        #[arg(long)]
        step_by_step: bool,
        /// How long the worker's run may take (recorded with the submission).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        max_duration: Option<std::time::Duration>,
    },
    /// Run submitted migrations: from an SQS queue fed by an EventBridge rule on
    /// `desired` events, or by polling the state store. Each submission runs once (a
    /// compare-and-set on the revision its `desired` event carries); duplicates, late
    /// deliveries and superseded versions are acknowledged and skipped. Runs until
    /// SIGTERM/SIGINT (finishing at a step boundary) unless `--once`.
    Worker {
        /// Database URL (default `DEPOT_DATABASE_URL`).
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        /// The SQS queue that receives the `desired` events.
        #[arg(
            long,
            value_name = "URL",
            conflicts_with = "poll",
            required_unless_present = "poll"
        )]
        queue_url: Option<String>,
        /// Find submissions by polling the state store (no AWS needed).
        #[arg(long)]
        poll: bool,
        /// Handle what is pending and exit.
        #[arg(long)]
        once: bool,
        /// Where events go.
        #[arg(long, value_name = "SINK", default_value = "stdout")]
        events: String,
        /// Send every EventBridge event to this bus (name or ARN) instead of its dataset's
        /// `eventBusName` (a warning says so). Without it each event goes to the bus
        /// recorded for it.
        #[arg(long, value_name = "NAME")]
        event_bus: Option<String>,
        /// Postgres `lock_timeout` for each DDL statement.
        #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
        lock_timeout: std::time::Duration,
        /// Retries after a lock timeout.
        #[arg(long, value_name = "N", default_value_t = 3)]
        retries: u32,
        /// How long a run may take unless its submission says otherwise.
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
        max_duration: std::time::Duration,
        /// Pause between polls when nothing is pending (`--poll`).
        #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
        poll_interval: std::time::Duration,
    },
    /// Wait until a version is deployed (exit 0), failed or superseded (exit 1), or the
    /// timeout passes (exit 3).
    Wait {
        /// The dataset config.
        #[arg(long, value_name = "FILE")]
        dataset: String,
        /// The version hash to wait for.
        #[arg(long, value_name = "HASH")]
        version: String,
        /// How long to wait.
        #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
        timeout: std::time::Duration,
        /// How often to look.
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
        interval: std::time::Duration,
        /// Database URL.
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
    /// Resolve a failed run: `deployed` (the change is in place; the catalog is verified
    /// unless --force), `rolled-back` (the database is at the old version; verified the
    /// same way) or `retry` (resume at the first step not completed, after checking the
    /// completed ones are in place). A compare-and-set, recorded in history with who and
    /// why.
    Recover {
        /// The dataset config.
        #[arg(long, value_name = "FILE")]
        dataset: String,
        /// How to resolve.
        #[arg(long, value_enum)]
        resolve: ResolveArg,
        /// Why (recorded in history and in the event's `recovery` object).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// Skip the catalog check.
        #[arg(long)]
        force: bool,
        /// Database URL.
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        /// Where events go.
        #[arg(long, value_name = "SINK", default_value = "stdout")]
        events: String,
        /// How long to wait for another executor's lock before refusing (exit 3).
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
        lock_wait: std::time::Duration,
        /// Postgres `lock_timeout` for each DDL statement (retry).
        #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
        lock_timeout: std::time::Duration,
        /// How long the retried run may take.
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
        max_duration: std::time::Duration,
    },
    /// Find runs whose executor crashed (lease lost) or hangs (past maxDuration) and
    /// record them as failed, with their failure record and `failed` event.
    Watchdog {
        /// Database URL (default `DEPOT_DATABASE_URL`).
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        /// Where events go.
        #[arg(long, value_name = "SINK", default_value = "stdout")]
        events: String,
        /// Send every EventBridge event to this bus (name or ARN) instead of its dataset's
        /// `eventBusName` (a warning says so). Without it each event goes to the bus
        /// recorded for it.
        #[arg(long, value_name = "NAME")]
        event_bus: Option<String>,
    },
    /// Print a dataset's state: the `get-dataset` shape of the Depot migrations observability page plus `phase`.
    Status {
        /// The dataset config.
        #[arg(long, value_name = "FILE")]
        dataset: String,
        /// Database URL.
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
    /// Print a dataset's transition history (JSON lines, oldest first).
    History {
        /// The dataset config.
        #[arg(long, value_name = "FILE")]
        dataset: String,
        /// Database URL.
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
    /// Print the package deployed now (commit it beside the package as the CDK baseline).
    Snapshot {
        /// The dataset config.
        #[arg(long, value_name = "FILE")]
        dataset: String,
        /// Database URL.
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
    /// Print the EventBridge rule that routes a dataset's lifecycle events to an SNS
    /// topic, as a CloudFormation template (rule + the topic policy that lets
    /// EventBridge publish) or as the bare event pattern.
    AlertRule {
        /// The dataset config (its id scopes the rule; its eventBusName is the bus).
        #[arg(long, value_name = "FILE")]
        dataset: String,
        /// Events to alert on, comma-separated (default: all four).
        #[arg(long, value_name = "EVENTS", value_delimiter = ',')]
        events: Vec<String>,
        /// The SNS topic; without it the template takes an `AlertTopicArn` parameter.
        #[arg(long, value_name = "ARN")]
        topic_arn: Option<String>,
        /// `cloudformation` (a template) or `json` (the event pattern only).
        #[arg(long, value_enum, default_value_t = RuleFormat::Cloudformation)]
        format: RuleFormat,
        /// Also emit an `AWS::SNS::TopicPolicy` letting the rule publish. It REPLACES the
        /// topic's whole policy: only for a topic this stack's rule alone uses. Without
        /// it the statement to add to the topic's policy is printed on stderr.
        #[arg(long)]
        with_topic_policy: bool,
    },
    /// Event outbox maintenance.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
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

#[derive(Subcommand, Debug)]
enum EventsCommand {
    /// Publish every pending event, in order.
    Flush {
        /// Database URL (required unless DEPOT_DATABASE_URL is set).
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        /// Send every pending event here (`stdout`, `jsonl:PATH`, `eventbridge`), whatever
        /// destination was recorded for it (a warning says so). Without it each event
        /// goes to the destination recorded when it was written.
        #[arg(long, value_name = "SINK")]
        events: Option<String>,
        /// Send every EventBridge event to this bus (name or ARN) instead of its dataset's
        /// `eventBusName` (a warning says so). Without it each event goes to the bus
        /// recorded for it.
        #[arg(long, value_name = "NAME")]
        event_bus: Option<String>,
    },
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (write durations like 5s, 500ms, 2m)"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ResolveArg {
    /// The change is in place.
    Deployed,
    /// The database is at the old version.
    RolledBack,
    /// Resume at the first step not completed.
    Retry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RuleFormat {
    /// A CloudFormation template.
    Cloudformation,
    /// The event pattern.
    Json,
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
    /// Refused before anything ran (exit 3).
    Refused(String),
    /// The migration failed (exit 1).
    Failed(String),
    /// `wait` ran out of time (exit 3).
    Timeout(String),
    /// Exit 1, everything already said (`worker --once` after a failed run).
    Exit1Quiet,
}

fn main() -> ExitCode {
    // Started by the Lambda runtime (`bootstrap` on provided.al2023): the handler loop.
    if lambda::is_lambda() {
        return match lambda::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                let _ = writeln!(std::io::stderr(), "error: {}", one_line(&message));
                ExitCode::from(1)
            }
        };
    }
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
        Err(Failure::Refused(message)) => {
            let _ = writeln!(std::io::stderr(), "refused: {}", one_line(&message));
            if output == Output::Json {
                print_json(&json!({"ok": false, "error": "refused", "message": message}));
            }
            ExitCode::from(3)
        }
        Err(Failure::Exit1Quiet) => ExitCode::from(1),
        Err(Failure::Timeout(message)) => {
            let _ = writeln!(std::io::stderr(), "timeout: {}", one_line(&message));
            if output == Output::Json {
                print_json(&json!({"ok": false, "error": "timeout", "message": message}));
            }
            ExitCode::from(3)
        }
        Err(Failure::Failed(message)) => {
            let _ = writeln!(std::io::stderr(), "failed: {}", one_line(&message));
            if output == Output::Json {
                print_json(&json!({"ok": false, "error": "failed", "message": message}));
            }
            ExitCode::from(1)
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
            db,
            format,
            detailed_exitcode,
        } => {
            let (pkg, ds) = load_pair_for_sql(&package, &dataset)?;
            let from = match &from_package {
                None if db.is_some() => {
                    let target =
                        executor::resolve_db(db.as_deref(), ds.engine).map_err(Failure::Usage)?;
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
                PlanFormat::Text => print_line(&summary::plan_text(&plan, &ds)),
            }
            if detailed_exitcode && !plan.steps.is_empty() {
                return Err(Failure::Changes);
            }
            Ok(())
        }
        Command::Apply {
            package,
            dataset,
            db,
            events,
            plan,
            lock_wait,
            lock_timeout,
            retries,
            environment_uri,
            step_by_step,
            max_duration,
            sync,
        } => {
            let (pkg, ds) = load_pair_for_sql(&package, &dataset)?;
            if ds.mode() == depot_migrate_core::MigrationMode::Asynchronous && !sync {
                return Err(Failure::Refused(format!(
                    "dataset {} is asynchronous (\"migrationMode\": \"asynchronous\" in {}): use `depot-migrate submit` and a worker, or pass --sync to run it here and now",
                    ds.dataset_id,
                    input::display_name(&dataset)
                )));
            }
            let expected_plan = match &plan {
                None => None,
                Some(f) => {
                    let file =
                        read_input(f).map_err(|(n, e)| Failure::BadInput(vec![(n, e.problems)]))?;
                    let p: depot_migrate_core::plan::Plan = serde_json::from_slice(&file.bytes).map_err(|e| {
                        Failure::BadInput(vec![(file.name.clone(), vec![Problem::new(depot_migrate_core::Code::MalformedJson, "$", format!("not a depot-migrate plan: {e}; pass the JSON that `depot-migrate plan` prints"))])])
                    })?;
                    Some(p)
                }
            };
            let target = executor::resolve_db(db.as_deref(), ds.engine).map_err(Failure::Usage)?;
            let mut sink = sink_for(&events, ds.event_bus_name.as_deref(), None, cli.output)?;
            if events == "stdout" {
                if let Some(bus) = &ds.event_bus_name {
                    eprintln!("warning: the dataset names event bus {bus:?}, but events go to stdout; pass --events eventbridge to publish them there");
                }
            }
            let mut store = executor::open_store(&target).map_err(store_failure)?;
            let opts = executor::ApplyOptions {
                lock_wait,
                lock_timeout,
                retries,
                expected_plan,
                environment_uri,
                publish_budget: std::time::Duration::from_secs(10),
                step_by_step,
                max_duration: Some(max_duration),
            };
            // The snapshot stored is the package as the model holds it (no nulls).
            let package_json = serde_json::to_string(&pkg).unwrap_or_default();
            match executor::apply(
                store.as_mut(),
                sink.as_mut(),
                &pkg,
                package_json,
                &ds,
                &opts,
            ) {
                Ok(executor::ApplyOutcome::AlreadyDeployed(v)) => {
                    eprintln!("dataset {} is already at {v}; nothing to do", ds.dataset_id);
                    if cli.output == Output::Json {
                        print_json(
                            &json!({"ok": true, "result": "unchanged", "deployedVersion": v}),
                        );
                    }
                    Ok(())
                }
                Ok(executor::ApplyOutcome::Deployed { version, plan }) => {
                    eprintln!(
                        "dataset {} deployed {version} ({}, planHash {})",
                        ds.dataset_id,
                        steps_text(plan.steps.len()),
                        plan.plan_hash
                    );
                    if cli.output == Output::Json {
                        print_json(
                            &json!({"ok": true, "result": "deployed", "deployedVersion": version, "planHash": plan.plan_hash, "steps": plan.steps.len()}),
                        );
                    }
                    Ok(())
                }
                Err(e) => Err(apply_failure(e)),
            }
        }
        Command::Submit {
            package,
            dataset,
            db,
            events,
            lock_wait,
            environment_uri,
            step_by_step,
            max_duration,
        } => {
            let (pkg, ds) = load_pair_for_sql(&package, &dataset)?;
            if ds.mode() != depot_migrate_core::MigrationMode::Asynchronous {
                return Err(Failure::Usage(format!(
                    "dataset {} is synchronous: use `depot-migrate apply`, or set \"migrationMode\": \"asynchronous\" in {}",
                    ds.dataset_id,
                    input::display_name(&dataset)
                )));
            }
            let target = executor::resolve_db(db.as_deref(), ds.engine).map_err(Failure::Usage)?;
            let mut sink = sink_for(&events, ds.event_bus_name.as_deref(), None, cli.output)?;
            let mut store = executor::open_store(&target).map_err(store_failure)?;
            let opts = executor::ApplyOptions {
                lock_wait,
                environment_uri,
                step_by_step,
                max_duration,
                ..executor::ApplyOptions::default()
            };
            let package_json = serde_json::to_string(&pkg).unwrap_or_default();
            match executor::submit(
                store.as_mut(),
                sink.as_mut(),
                &pkg,
                package_json,
                &ds,
                &opts,
            )
            .map_err(apply_failure)?
            {
                executor::SubmitOutcome::Submitted(revision, sub) => {
                    eprintln!(
                        "dataset {} desired {} (revision {revision}, run {}, {}); a worker runs it",
                        ds.dataset_id,
                        sub.version,
                        sub.run_id,
                        steps_text(sub.plan.steps.len())
                    );
                    if cli.output == Output::Json {
                        print_json(
                            &json!({"ok": true, "result": "submitted", "desiredVersion": sub.version, "revision": revision, "runId": sub.run_id, "planHash": sub.plan.plan_hash, "steps": sub.plan.steps.len()}),
                        );
                    }
                }
                executor::SubmitOutcome::Unchanged(version, why) => {
                    eprintln!(
                        "dataset {}: {version} is {why}; nothing to do",
                        ds.dataset_id
                    );
                    if cli.output == Output::Json {
                        print_json(
                            &json!({"ok": true, "result": "unchanged", "desiredVersion": version, "reason": why}),
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Worker {
            db,
            queue_url,
            poll,
            once,
            events,
            event_bus,
            lock_timeout,
            retries,
            max_duration,
            poll_interval,
        } => {
            let mut store = open_db(db)?;
            let mut sink = sink_for(&events, None, event_bus.as_deref(), cli.output)?;
            let mut source = match (&queue_url, poll) {
                (Some(url), false) => {
                    worker::Source::Queue(Box::new(sqs::Queue::new(url).map_err(Failure::Failed)?))
                }
                (None, true) => worker::Source::Poll,
                _ => {
                    return Err(Failure::Usage(
                        "worker needs exactly one of --queue-url URL or --poll".into(),
                    ))
                }
            };
            let stop = executor::stop_flag();
            for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
                signal_hook::flag::register(sig, stop.clone())
                    .map_err(|e| Failure::Failed(format!("cannot handle signals: {e}")))?;
            }
            let opts = worker::WorkerOptions {
                run: executor::ApplyOptions {
                    lock_timeout,
                    retries,
                    max_duration: Some(max_duration),
                    ..executor::ApplyOptions::default()
                },
                once,
                poll_interval,
            };
            let report = worker::run(store.as_mut(), sink.as_mut(), &mut source, &opts)
                .map_err(Failure::Failed)?;
            let failed = report.iter().filter(|l| l["result"] == "failed").count();
            eprintln!(
                "worker: {} message(s): {} deployed, {failed} failed, {} skipped",
                report.len(),
                report.iter().filter(|l| l["result"] == "deployed").count(),
                report.iter().filter(|l| l["result"] == "skipped").count()
            );
            if cli.output == Output::Json {
                print_json(&json!({"ok": true, "handled": report}));
            }
            // `--once` is for pipelines: say in the exit code that a run failed.
            if once && failed > 0 {
                return Err(Failure::Exit1Quiet);
            }
            Ok(())
        }
        Command::Wait {
            dataset,
            version,
            timeout,
            interval,
            db,
        } => {
            if version.len() != 64
                || !version
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(Failure::Usage(format!(
                    "--version {version:?} is not a version hash; pass the 64 lowercase hex digits `depot-migrate hash` prints"
                )));
            }
            let ds = read_dataset(&dataset)?;
            let target = executor::resolve_db(db.as_deref(), ds.engine).map_err(Failure::Usage)?;
            let start = std::time::Instant::now();
            // A read: until the state tables exist (nothing submitted yet) it only looks.
            let mut store: Option<Box<dyn store::Store>> = None;
            loop {
                if store.is_none() {
                    store = open_existing(&target)?;
                }
                let stored = state_if_any(&mut store, &ds.dataset_id)?;
                if let Some(s) = &stored {
                    executor::check_identity(&ds, s).map_err(apply_failure)?;
                }
                match executor::wait_state(stored.as_ref(), &version) {
                    executor::WaitState::Deployed => {
                        eprintln!("dataset {}: {version} is deployed", ds.dataset_id);
                        if cli.output == Output::Json {
                            print_json(
                                &json!({"ok": true, "result": "deployed", "version": version}),
                            );
                        }
                        return Ok(());
                    }
                    executor::WaitState::Failed(m) => return Err(Failure::Failed(m)),
                    executor::WaitState::Superseded(m) => {
                        eprintln!("superseded: {}", one_line(&m));
                        if cli.output == Output::Json {
                            print_json(
                                &json!({"ok": false, "result": "superseded", "version": version, "message": m}),
                            );
                        }
                        return Err(Failure::Exit1Quiet);
                    }
                    executor::WaitState::Pending => {}
                }
                if start.elapsed() >= timeout {
                    return Err(Failure::Timeout(format!(
                        "dataset {}: {version} is not deployed after {}; see `depot-migrate status`",
                        ds.dataset_id,
                        humantime::format_duration(timeout)
                    )));
                }
                std::thread::sleep(
                    interval
                        .min(timeout.saturating_sub(start.elapsed()))
                        .max(std::time::Duration::from_millis(10)),
                );
            }
        }
        Command::Recover {
            dataset,
            resolve,
            reason,
            force,
            db,
            events,
            lock_wait,
            lock_timeout,
            max_duration,
        } => {
            if reason.trim().is_empty() {
                return Err(Failure::Usage(
                    "--reason must say why (it is recorded in history)".into(),
                ));
            }
            let (ds, mut store) = open_for(&dataset, db.as_deref())?;
            let mut sink = sink_for(&events, ds.event_bus_name.as_deref(), None, cli.output)?;
            let opts = executor::RecoverOptions {
                resolve: match resolve {
                    ResolveArg::Deployed => executor::Resolve::Deployed,
                    ResolveArg::RolledBack => executor::Resolve::RolledBack,
                    ResolveArg::Retry => executor::Resolve::Retry,
                },
                reason,
                force,
                run: executor::ApplyOptions {
                    lock_wait,
                    lock_timeout,
                    max_duration: Some(max_duration),
                    ..executor::ApplyOptions::default()
                },
            };
            let (result, version) =
                match executor::recover(store.as_mut(), sink.as_mut(), &ds, &opts)
                    .map_err(apply_failure)?
                {
                    executor::RecoverOutcome::Resolved(v) => ("resolved", v),
                    executor::RecoverOutcome::Deployed(v) => ("deployed", v),
                };
            eprintln!(
                "dataset {}: recovered ({}); deployed version {version}",
                ds.dataset_id,
                opts.resolve.as_str()
            );
            if cli.output == Output::Json {
                print_json(
                    &json!({"ok": true, "result": result, "resolve": opts.resolve.as_str(), "deployedVersion": version}),
                );
            }
            Ok(())
        }
        Command::Watchdog {
            db,
            events,
            event_bus,
        } => {
            let mut store = open_db_existing(db)?;
            let mut sink = sink_for(&events, None, event_bus.as_deref(), cli.output)?;
            let findings = executor::watchdog(
                store.as_mut(),
                sink.as_mut(),
                std::time::Duration::from_secs(10),
            )
            .map_err(apply_failure)?;
            for f in &findings {
                eprintln!(
                    "watchdog: dataset {}: {}{}",
                    f.dataset_id,
                    f.finding,
                    f.failure
                        .as_ref()
                        .map(|r| format!(" (recorded as failed: {})", r.class))
                        .unwrap_or_default()
                );
            }
            if cli.output == Output::Json {
                print_json(&json!({"ok": true, "findings": findings}));
            }
            Ok(())
        }
        Command::Status { dataset, db } => {
            let Some((ds, mut store, stored)) = read_for(&dataset, db.as_deref())? else {
                // No state tables: the dataset is new here (the note said where).
                let ds = read_dataset(&dataset)?;
                let mut doc = executor::status_json(&ds, None, false);
                doc["pendingEvents"] = json!({"count": 0, "destinations": {}});
                print_json(&doc);
                return Ok(());
            };
            let held = store
                .lock_held_elsewhere(&ds.dataset_id)
                .map_err(store_failure)?;
            let mut doc = executor::status_json(&ds, stored.as_ref(), held);
            if stored.is_none() {
                note_unrecorded(store.as_mut(), &ds)?;
            }
            let pending = store
                .pending_events(Some(&ds.dataset_id), 10_000)
                .map_err(store_failure)?;
            let mut by_destination = serde_json::Map::new();
            for (_, d, _) in &pending {
                let key = d.clone().unwrap_or_else(|| "unrecorded".into());
                let n = by_destination
                    .get(&key)
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0);
                by_destination.insert(key, json!(n + 1));
            }
            doc["pendingEvents"] = json!({"count": pending.len(), "destinations": by_destination});
            print_json(&doc);
            Ok(())
        }
        Command::History { dataset, db } => {
            let rows = match read_for(&dataset, db.as_deref())? {
                Some((ds, mut store, stored)) => {
                    if stored.is_none() {
                        note_unrecorded(store.as_mut(), &ds)?;
                    }
                    store.history(&ds.dataset_id).map_err(store_failure)?
                }
                None => Vec::new(),
            };
            if cli.output == Output::Json {
                print_json(&json!(rows));
            } else {
                for r in rows {
                    print_line(&r.to_string());
                }
            }
            Ok(())
        }
        Command::Snapshot { dataset, db } => {
            let ds = read_dataset(&dataset)?;
            let stored = match read_for(&dataset, db.as_deref())? {
                Some((ds, mut store, stored)) => {
                    if stored.is_none() {
                        note_unrecorded(store.as_mut(), &ds)?;
                    }
                    stored
                }
                None => None,
            };
            match stored.and_then(|s| s.deployed_package) {
                Some(text) => {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    print_json(&v);
                    Ok(())
                }
                None => Err(Failure::Refused(format!(
                    "dataset {} has nothing deployed yet: there is no snapshot to print",
                    ds.dataset_id
                ))),
            }
        }
        Command::Events {
            command:
                EventsCommand::Flush {
                    db,
                    events,
                    event_bus,
                },
        } => {
            let url = db
                .or_else(|| std::env::var("DEPOT_DATABASE_URL").ok())
                .ok_or_else(|| {
                    Failure::Usage("events flush needs --db URL or DEPOT_DATABASE_URL".into())
                })?;
            let engine = if url.starts_with("sqlite:") {
                depot_migrate_core::Engine::Sqlite
            } else if url.starts_with("snowflake://") {
                depot_migrate_core::Engine::Snowflake
            } else {
                depot_migrate_core::Engine::Postgres
            };
            let target = executor::resolve_db(Some(&url), engine).map_err(Failure::Usage)?;
            let mut sink: Box<dyn events::EventSink> = match &events {
                Some(arg) => Box::new(events::Redirected::new(sink_for(
                    arg,
                    None,
                    event_bus.as_deref(),
                    cli.output,
                )?)),
                None => Box::new(events::RecordedDestinations::new(
                    sinks::sink_with_override,
                    event_bus.as_deref(),
                    cli.output == Output::Json,
                )),
            };
            let mut store = executor::open_store(&target).map_err(store_failure)?;
            store.ensure_state_schema().map_err(store_failure)?;
            let n = events::publish_pending(
                store.as_mut(),
                sink.as_mut(),
                None,
                std::time::Duration::from_secs(60),
            )
            .map_err(Failure::Failed)?;
            eprintln!("{n} event(s) published");
            // A flush that leaves events pending has not done its job: say so in the exit
            // code, so a pipeline can retry.
            let left = store.pending_events(None, 1).map_err(store_failure)?;
            if let Some((_, dest, _)) = left.first().filter(|_| sink.enabled()) {
                if dest.is_none() && events.is_none() {
                    return Err(Failure::Failed(
                        "events written before depot-migrate recorded destinations are pending; say where they go with `depot-migrate events flush --events SINK`".into(),
                    ));
                }
                return Err(Failure::Failed(
                    "events are still pending after the flush; run `depot-migrate events flush` again".into(),
                ));
            }
            if cli.output == Output::Json {
                print_json(&json!({"ok": true, "published": n}));
            }
            Ok(())
        }
        Command::AlertRule {
            dataset,
            events,
            topic_arn,
            format,
            with_topic_policy,
        } => {
            let file =
                read_input(&dataset).map_err(|(n, e)| Failure::BadInput(vec![(n, e.problems)]))?;
            let ds = load::parse_dataset(&file.bytes)
                .map_err(|e| Failure::BadInput(vec![(file.name, e.problems)]))?;
            let options = json!({"datasetIds": [ds.dataset_id], "events": events});
            let pattern =
                depot_migrate_core::lifecycle::event_pattern_from_json(&options.to_string())
                    .map_err(|e| {
                        Failure::Usage(format!(
                            "--events: {}",
                            e.problems
                                .first()
                                .map(|p| p.message.clone())
                                .unwrap_or_default()
                        ))
                    })?;
            if format == RuleFormat::Json {
                print_json(&pattern);
                return Ok(());
            }
            if let Some(arn) = &topic_arn {
                let ok = arn.starts_with("arn:aws")
                    && arn.split(':').count() == 6
                    && arn.split(':').nth(2) == Some("sns");
                if !ok {
                    return Err(Failure::Usage(format!("--topic-arn {arn:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")));
                }
            }
            let template =
                alert_rule_template(&ds, pattern, topic_arn.as_deref(), with_topic_policy);
            if !with_topic_policy {
                let statement = topic_statement(
                    &json!(topic_arn.as_deref().unwrap_or("<AlertTopicArn>")),
                    json!("<the stack's RuleArn output>"),
                );
                eprintln!(
                    "note: the template leaves the SNS topic's policy to its owner (an AWS::SNS::TopicPolicy replaces the whole policy, and other datasets' alerts may share the topic); add this statement to the topic's policy so that EventBridge can publish: {statement}"
                );
            }
            print_json(&template);
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
                        match load::parse_package(&f.bytes, engine) {
                            Err(e) => failures.push((f.name, e.problems)),
                            // With a dataset the package is meant for an engine: what
                            // none can store is refused too.
                            Ok(pkg) if engine.is_some() => {
                                let nul = depot_migrate_core::validate::text_without_nul(&pkg);
                                if !nul.is_empty() {
                                    failures.push((f.name, nul));
                                }
                            }
                            Ok(_) => {}
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
/// [`load_pair`] for the commands that turn the package into SQL (plan, apply, submit):
/// also refuses what no engine can store (NUL in comments and string defaults).
fn load_pair_for_sql(package: &str, dataset: &str) -> Result<(Package, DatasetConfig), Failure> {
    let (pkg, ds) = load_pair(package, dataset)?;
    let nul = depot_migrate_core::validate::text_without_nul(&pkg);
    if !nul.is_empty() {
        return Err(Failure::BadInput(vec![(input::display_name(package), nul)]));
    }
    Ok((pkg, ds))
}

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

/// A store error as a command failure: refused credentials are bad input (exit 2; they
/// come from the caller's environment and nothing ran), the rest a failure (exit 1).
fn store_failure(e: store::StoreError) -> Failure {
    match e {
        store::StoreError::Credentials(m) => Failure::Usage(m),
        other => Failure::Failed(other.to_string()),
    }
}

fn apply_failure(e: executor::ApplyError) -> Failure {
    match e {
        executor::ApplyError::Credentials(m) => Failure::Usage(m),
        executor::ApplyError::Refused(m) => Failure::Refused(m),
        executor::ApplyError::Store(m) => Failure::Failed(m),
        failed @ executor::ApplyError::Failed(_) => Failure::Failed(failed.to_string()),
    }
}

/// Opens the state store of a database URL for commands that serve every dataset in it
/// (`worker`, `watchdog`, `events flush`): `--db`, else `DEPOT_DATABASE_URL`.
fn open_db(db: Option<String>) -> Result<Box<dyn store::Store>, Failure> {
    let url = db
        .or_else(|| {
            std::env::var("DEPOT_DATABASE_URL")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .ok_or_else(|| Failure::Usage("pass --db URL or set DEPOT_DATABASE_URL".into()))?;
    let engine = if url.starts_with("sqlite:") {
        depot_migrate_core::Engine::Sqlite
    } else if url.starts_with("snowflake://") {
        depot_migrate_core::Engine::Snowflake
    } else {
        depot_migrate_core::Engine::Postgres
    };
    let target = executor::resolve_db(Some(&url), engine).map_err(Failure::Usage)?;
    let mut store = executor::open_store(&target).map_err(store_failure)?;
    store.ensure_state_schema().map_err(store_failure)?;
    Ok(store)
}

/// "1 step", "2 steps".
fn steps_text(n: usize) -> String {
    if n == 1 {
        "1 step".into()
    } else {
        format!("{n} steps")
    }
}

/// The sink of `--events` (and `--event-bus` where the command has it); with `--output
/// json`, `stdout` events go to standard error so stdout stays one JSON document.
fn sink_for(
    arg: &str,
    dataset_bus: Option<&str>,
    bus_override: Option<&str>,
    output: Output,
) -> Result<Box<dyn events::EventSink>, Failure> {
    let sink = sinks::sink_with_override(arg, dataset_bus, bus_override).map_err(Failure::Usage)?;
    Ok(events::json_safe(arg, sink, output == Output::Json))
}

/// Reads and validates a dataset config.
fn read_dataset(dataset: &str) -> Result<DatasetConfig, Failure> {
    let file = read_input(dataset).map_err(|(n, e)| Failure::BadInput(vec![(n, e.problems)]))?;
    load::parse_dataset(&file.bytes).map_err(|e| Failure::BadInput(vec![(file.name, e.problems)]))
}

/// Opens a target's store only if it can hold state already, creating nothing: a SQLite
/// file that does not exist is `None` (opening it would create it).
fn open_existing(target: &executor::DbTarget) -> Result<Option<Box<dyn store::Store>>, Failure> {
    if let executor::DbTarget::Sqlite(path) = target {
        if !std::path::Path::new(path).exists() {
            return Ok(None);
        }
    }
    executor::open_store(target)
        .map(Some)
        .map_err(store_failure)
}

/// The recorded state of a dataset, if the store exists and holds state (a read).
fn state_if_any(
    store: &mut Option<Box<dyn store::Store>>,
    dataset_id: &str,
) -> Result<Option<store::StoredState>, Failure> {
    match store {
        Some(st) => {
            if st.has_state().map_err(store_failure)? {
                st.read_state(dataset_id).map_err(store_failure)
            } else {
                Ok(None)
            }
        }
        None => Ok(None),
    }
}

/// Where a target is, for messages (no password).
fn target_name(target: &executor::DbTarget) -> String {
    match target {
        executor::DbTarget::Sqlite(p) => format!("sqlite:{p}"),
        executor::DbTarget::Postgres(u) | executor::DbTarget::Snowflake(u) => store::redact_url(u),
    }
}

/// The dataset config, its store and its recorded state, as a read finds them.
type ReadState = (
    DatasetConfig,
    Box<dyn store::Store>,
    Option<store::StoredState>,
);

/// A read (`status`, `history`, `snapshot`): the dataset config, its store and its
/// recorded state, creating and changing nothing. `None`: the database holds no state
/// tables (said on stderr). A recorded identity other than the config's: refused
/// (exit 3).
fn read_for(dataset: &str, db: Option<&str>) -> Result<Option<ReadState>, Failure> {
    let ds = read_dataset(dataset)?;
    let target = executor::resolve_db(db, ds.engine).map_err(Failure::Usage)?;
    let no_state = || {
        eprintln!(
            "note: no depot-migrate state in {}: nothing has been applied or submitted there (is --db the right database?)",
            target_name(&target)
        );
        Ok(None)
    };
    let Some(mut store) = open_existing(&target)? else {
        return no_state();
    };
    if !store.has_state().map_err(store_failure)? {
        return no_state();
    }
    let stored = store.read_state(&ds.dataset_id).map_err(store_failure)?;
    if let Some(s) = &stored {
        executor::check_identity(&ds, s).map_err(apply_failure)?;
    }
    Ok(Some((ds, store, stored)))
}

/// Says on stderr that a dataset id is not recorded (new, or mistyped), naming the ones
/// that are.
fn note_unrecorded(store: &mut dyn store::Store, ds: &DatasetConfig) -> Result<(), Failure> {
    let ids = store.dataset_ids().map_err(store_failure)?;
    let known = if ids.is_empty() {
        "none".to_string()
    } else {
        ids.iter()
            .take(10)
            .map(|i| format!("{i:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "note: no dataset {:?} is recorded in this database (a new dataset, or a mistyped datasetId); recorded datasets: {known}",
        ds.dataset_id
    );
    Ok(())
}

/// [`open_db`] for commands that only write when they find something to do
/// (`watchdog`): creates nothing.
fn open_db_existing(db: Option<String>) -> Result<Box<dyn store::Store>, Failure> {
    let url = db
        .or_else(|| {
            std::env::var("DEPOT_DATABASE_URL")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .ok_or_else(|| Failure::Usage("pass --db URL or set DEPOT_DATABASE_URL".into()))?;
    let engine = if url.starts_with("sqlite:") {
        depot_migrate_core::Engine::Sqlite
    } else if url.starts_with("snowflake://") {
        depot_migrate_core::Engine::Snowflake
    } else {
        depot_migrate_core::Engine::Postgres
    };
    let target = executor::resolve_db(Some(&url), engine).map_err(Failure::Usage)?;
    match open_existing(&target)? {
        Some(store) => Ok(store),
        None => Err(Failure::Refused(format!(
            "no depot-migrate state in {}",
            target_name(&target)
        ))),
    }
}

/// Reads a dataset config and opens its state store.
fn open_for(
    dataset: &str,
    db: Option<&str>,
) -> Result<(DatasetConfig, Box<dyn store::Store>), Failure> {
    let file = read_input(dataset).map_err(|(n, e)| Failure::BadInput(vec![(n, e.problems)]))?;
    let ds = load::parse_dataset(&file.bytes)
        .map_err(|e| Failure::BadInput(vec![(file.name, e.problems)]))?;
    let target = executor::resolve_db(db, ds.engine).map_err(Failure::Usage)?;
    let mut store = executor::open_store(&target).map_err(store_failure)?;
    store.ensure_state_schema().map_err(store_failure)?;
    Ok((ds, store))
}

/// A CloudFormation template with the lifecycle alert rule and the SNS topic policy that
/// lets EventBridge publish to the topic (without it, notifications are dropped).
/// The topic-policy statement that lets the rule `rule_arn` publish to `topic`.
fn topic_statement(topic: &serde_json::Value, rule_arn: serde_json::Value) -> serde_json::Value {
    json!({
        "Sid": "AllowEventBridgePublish",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
    })
}

fn alert_rule_template(
    ds: &DatasetConfig,
    pattern: serde_json::Value,
    topic_arn: Option<&str>,
    with_topic_policy: bool,
) -> serde_json::Value {
    let topic = match topic_arn {
        Some(arn) => json!(arn),
        None => json!({"Ref": "AlertTopicArn"}),
    };
    let mut rule = json!({
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Description": format!("Notify (alert) rule for migration lifecycle events of dataset {}", ds.dataset_id),
            "EventPattern": pattern,
            "State": "ENABLED",
            "Targets": [{
                "Arn": topic,
                "Id": "AlertTopic",
                "InputTransformer": depot_migrate_core::lifecycle::alert_input_transformer(),
            }],
        },
    });
    if let Some(bus) = ds.event_bus_name.as_deref().filter(|b| *b != "default") {
        rule["Properties"]["EventBusName"] = json!(bus);
    }
    let mut template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("depot-migrate lifecycle alerts for dataset {} ({})", ds.dataset_id, ds.dataset_alias.as_deref().unwrap_or("-")),
        "Resources": {
            "MigrationLifecycleRule": rule,
        },
        "Outputs": {"RuleArn": {"Value": {"Fn::GetAtt": ["MigrationLifecycleRule", "Arn"]}}},
    });
    if with_topic_policy {
        template["Resources"]["MigrationLifecycleTopicPolicy"] = json!({
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [topic],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [topic_statement(&topic, json!({"Fn::GetAtt": ["MigrationLifecycleRule", "Arn"]}))],
                },
            },
        });
    }
    if topic_arn.is_none() {
        template["Parameters"] = json!({"AlertTopicArn": {"Type": "String", "Description": "ARN of the SNS topic that receives the alerts"}});
    }
    template
}
