//! The command line: the top-level options, the commands, and the argument types several
//! commands share. Each command's own arguments are beside it in `commands/<command>.rs`.

use crate::commands;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Version and migrate the schema of a dataset (Postgres/Aurora, Snowflake, SQLite),
/// and make every step observable.
#[derive(Parser, Debug)]
#[command(name = "depot-migrate", version, about, long_about = None)]
pub struct Cli {
    /// Output format of the command's result (errors always go to stderr as lines).
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Plain text for people and shell scripts.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// The commands; each runs in `commands/<command>.rs`.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the version hash of a package for a dataset (64 lowercase hex digits).
    Hash(commands::hash::HashArgs),
    /// Compute the migration plan from a deployed package (or an empty database) to a
    /// package.
    Plan(commands::plan::PlanArgs),
    /// Migrate the database to a package (synchronous lifecycle: attempted, then
    /// deployed or failed), keeping state, history and events in the database.
    Apply(commands::apply::ApplyArgs),
    /// Asynchronous mode: set desiredVersion, store the plan and the package, emit
    /// `desired` (carrying the state revision and a runId) and return at once; a
    /// `worker` runs it.
    Submit(commands::submit::SubmitArgs),
    /// Run submitted migrations: from an SQS queue fed by an EventBridge rule on
    /// `desired` events, or by polling the state store. Each submission runs once (a
    /// compare-and-set on the revision its `desired` event carries); duplicates, late
    /// deliveries and superseded versions are acknowledged and skipped. Runs until
    /// SIGTERM/SIGINT (finishing at a step boundary) unless `--once`.
    Worker(commands::worker::WorkerArgs),
    /// Wait until a version is deployed (exit 0), failed or superseded (exit 1), or the
    /// timeout passes (exit 3).
    Wait(commands::wait::WaitArgs),
    /// Resolve a failed run: `deployed` (the change is in place; the catalog is verified
    /// unless --force), `rolled-back` (the database is at the old version; verified the
    /// same way) or `retry` (resume at the first step not completed, after checking the
    /// completed ones are in place). A compare-and-set, recorded in history with who and
    /// why.
    Recover(commands::recover::RecoverArgs),
    /// Find runs whose executor crashed (lease lost) or hangs (past maxDuration) and
    /// record them as failed, with their failure record and `failed` event.
    Watchdog(commands::watchdog::WatchdogArgs),
    /// Print a dataset's state: a short block for people, or with `--output json` the
    /// `get-dataset` shape of the Depot migrations observability page plus `phase`.
    Status(commands::status::StatusArgs),
    /// Print a dataset's transition history, oldest first: a table (time, event,
    /// version, actor, steps, error), or with `--output json` the rows.
    History(commands::history::HistoryArgs),
    /// List every dataset a state store records: id, alias, engine, phase, deployed
    /// version, since when, pending events, last failure class. The database: --db, else
    /// `DEPOT_DATABASE_URL`, else `sqlite:depot.sqlite` when that file exists.
    List(commands::list::ListArgs),
    /// Print the package deployed now (commit it beside the package as the CDK baseline).
    Snapshot(commands::snapshot::SnapshotArgs),
    /// Print the EventBridge rule that routes a dataset's lifecycle events to an SNS
    /// topic, as a CloudFormation template (rule + the topic policy that lets
    /// EventBridge publish) or as the bare event pattern.
    AlertRule(commands::alert_rule::AlertRuleArgs),
    /// Event outbox maintenance.
    Events(commands::events::EventsArgs),
    /// Check a package and a dataset config and list every problem.
    Validate(commands::validate::ValidateArgs),
    /// Print the JSON Schema of an input file format.
    Schema(commands::schema::SchemaArgs),
    /// Read a live schema's catalog and write the package that describes it; what the
    /// package model cannot express is listed on stderr (`--strict`: exit 3).
    Inspect(commands::inspect::InspectArgs),
}

/// A duration argument (`5s`, `500ms`, `2m`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (write durations like 5s, 500ms, 2m)"))
}

/// `--db`, for every command that opens a state store (except `plan`, whose `--db` is a
/// read that `--from-package` replaces).
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Database URL (`sqlite:FILE`, `postgres://…`, `snowflake://…`); default
    /// `DEPOT_DATABASE_URL`, then, for a command given a SQLite dataset,
    /// `sqlite:depot.sqlite`.
    #[arg(long, value_name = "URL")]
    db: Option<String>,
}

impl DbArgs {
    /// Whether `--db` was given (not the environment's `DEPOT_DATABASE_URL`): `--runner`
    /// refuses an explicit `--db` but not a variable set for local work. This is why the
    /// variable is read here rather than by clap's `env`, which would hide where the URL
    /// came from.
    pub fn given(&self) -> bool {
        self.db.is_some()
    }

    /// `--db`, else `DEPOT_DATABASE_URL` when it is set and not empty. The only place the
    /// command line reads that variable.
    pub fn url(&self) -> Option<String> {
        self.db.clone().or_else(|| {
            std::env::var("DEPOT_DATABASE_URL")
                .ok()
                .filter(|v| !v.is_empty())
        })
    }
}

/// `--events`: where a run's events go.
#[derive(Args, Debug, Clone)]
pub struct SinkArgs {
    /// Where events go: `stdout`, `jsonl:PATH`, `eventbridge` or `none`.
    #[arg(long, value_name = "SINK", default_value = "stdout")]
    pub events: String,
}

/// `--event-bus`, for the commands that serve every dataset of a database.
#[derive(Args, Debug, Clone)]
pub struct EventBusArgs {
    /// Send every EventBridge event to this bus (name or ARN) instead of its dataset's
    /// `eventBusName` (a warning says so). Without it each event goes to the bus
    /// recorded for it.
    #[arg(long, value_name = "NAME")]
    pub event_bus: Option<String>,
}

/// `--lock-wait`: how long to wait for the dataset lock.
#[derive(Args, Debug, Clone)]
pub struct LockArgs {
    /// How long to wait for another executor's lock before refusing (exit 3).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub lock_wait: std::time::Duration,
}

/// `--lock-timeout`: the database lock timeout of each DDL statement.
#[derive(Args, Debug, Clone)]
pub struct LockTimeoutArgs {
    /// Postgres `lock_timeout` for each DDL statement.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,
}
