//! The lifecycle (docs/design.md, "State, lifecycle and events").
//!
//! Synchronous: one update sets desired = attempted = new (no `desired` event) and emits
//! `attempted`; the steps and `deployedVersion` commit together and emit `deployed`; a
//! failure emits `failed` with its record. Commits in that order, each with its outbox
//! row. Asynchronous: `submit` sets desired (emitting `desired`) and stores the
//! [`Submission`]; a worker runs the same attempted → deployed path later, only if the
//! state's revision is still the one the `desired` event carried (module `worker`).
//!
//! Plans whose steps are all transactional run in one transaction (where the engine has
//! transactional DDL); any other plan, and `--step-by-step`, runs one journaled step at a
//! time, so that `recover --resolve retry` resumes at the first step not completed.
//! Failure detection: an error emits `failed` at once; an executor that lost its lease
//! (crashed) or ran past its `maxDuration` (hung) is found by `watchdog` or by the next
//! executor that takes the lock ([`detect_lost_run`]).

use crate::error::ErrorCode;
use crate::events::{publish_pending, EventSink};
use crate::store::{
    json_text, now_unix, HistoryEntry, LeaseHolder, MigrateError, Store, StoreError, StoredState,
    Transition, INVALID_MARK,
};
use depot_migrate_core::lifecycle::{
    envelope, event_detail, DatasetState, EventContext, FailureClass, FailureRecord, LifecycleEvent,
};
use depot_migrate_core::plan::Step;
use depot_migrate_core::plan::{plan, Plan};
use depot_migrate_core::MigrationMode;
use depot_migrate_core::{load, version_hash, DatasetConfig, Engine, Package};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How the database URL was chosen and what it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A SQLite file.
    Sqlite(String),
    /// A PostgreSQL URL.
    Postgres(String),
    /// A `snowflake://ACCOUNT/DATABASE?warehouse=WH&role=ROLE` URL (credentials from the
    /// environment).
    Snowflake(String),
}

/// Resolves a database URL (the CLI's `--db`, else `DEPOT_DATABASE_URL`), else (SQLite
/// datasets only) the embedded `sqlite:depot.sqlite`. A URL whose scheme does not fit the
/// engine is an error: a Postgres dataset never silently lands in a local file.
pub fn resolve_db(arg: Option<&str>, engine: Engine) -> Result<DbTarget, String> {
    let url = match arg {
        Some(a) => a.to_string(),
        None if engine == Engine::Sqlite => "sqlite:depot.sqlite".to_string(),
        None => {
            return Err(format!(
                "no database given for {} dataset; pass --db URL or set DEPOT_DATABASE_URL",
                engine.as_str()
            ))
        }
    };
    let target = if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if path.is_empty() {
            return Err("sqlite URL without a path; use sqlite:FILE".into());
        }
        if sqlite_in_memory(path) {
            return Err(format!(
                "sqlite:{path} is an in-memory database: the dataset's state would vanish when this process exits; use sqlite:FILE"
            ));
        }
        DbTarget::Sqlite(path.to_string())
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        DbTarget::Postgres(url.clone())
    } else if url.starts_with("snowflake://") {
        // The URL and the credentials in the environment are checked now (exit 2), before
        // anything is sent.
        crate::snowflake::SnowflakeConfig::from_url(&url)?;
        DbTarget::Snowflake(url.clone())
    } else {
        // Only the scheme is shown when there is one; otherwise (a libpq key=value
        // string, a typo without `://`) the string with every password hidden.
        let redacted = crate::store::redact_url(&url);
        let shown = match redacted.split_once("://") {
            Some((scheme, _)) => scheme.to_string(),
            None => redacted,
        };
        return Err(format!(
            "unsupported database URL scheme in {shown}; use sqlite:FILE, postgres://… or snowflake://ACCOUNT/DATABASE"
        ));
    };
    match (engine, &target) {
        (Engine::Sqlite, DbTarget::Sqlite(_))
        | (Engine::Postgres | Engine::AuroraPostgresql, DbTarget::Postgres(_))
        | (Engine::Snowflake, DbTarget::Snowflake(_)) => Ok(target),
        (e, _) => Err(format!(
            "the database URL does not fit the dataset's engine {}; pass a {} URL",
            e.as_str(),
            match e {
                Engine::Sqlite => "sqlite:FILE",
                Engine::Snowflake => "snowflake://ACCOUNT/DATABASE?warehouse=WH&role=ROLE",
                _ => "postgres://",
            }
        )),
    }
}

/// Whether a SQLite path names an in-memory database (`:memory:`, a `file:` URI with
/// `mode=memory` or `:memory:`), which SQLite opens since URIs are enabled.
fn sqlite_in_memory(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower == ":memory:"
        || (lower.starts_with("file:")
            && (lower.starts_with("file::memory:")
                || lower
                    .split_once('?')
                    .is_some_and(|(_, q)| q.split('&').any(|kv| kv == "mode=memory"))))
}

/// Opens the store for a target.
pub fn open_store(target: &DbTarget) -> Result<Box<dyn Store>, StoreError> {
    Ok(match target {
        DbTarget::Sqlite(path) => Box::new(crate::store::sqlite::SqliteStore::open(path)?),
        DbTarget::Postgres(url) => Box::new(crate::store::postgres::PostgresStore::connect(url)?),
        DbTarget::Snowflake(url) => {
            Box::new(crate::store::snowflake::SnowflakeStore::connect(url)?)
        }
    })
}

/// Knobs of a run (apply, worker, recover).
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// How long to wait for another executor's lock.
    pub lock_wait: Duration,
    /// Postgres `lock_timeout` for DDL.
    pub lock_timeout: Duration,
    /// Retries of the migration transaction (or of a step) after a lock timeout.
    pub retries: u32,
    /// A plan made earlier (e.g. at synth) that must match the recomputed one.
    pub expected_plan: Option<Plan>,
    /// `environmentUri` of the events (the plan's location).
    pub environment_uri: Option<String>,
    /// How long to try publishing events before leaving them to `events flush`.
    pub publish_budget: Duration,
    /// Run every step on its own and journal it (the path non-transactional steps always
    /// take), instead of one transaction for the whole plan.
    pub step_by_step: bool,
    /// How long a run may take; past it, `watchdog` (or the next executor) records it as
    /// failed and revokes its lease. `None`: no limit.
    pub max_duration: Option<Duration>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            lock_wait: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(5),
            retries: 3,
            expected_plan: None,
            environment_uri: None,
            publish_budget: Duration::from_secs(10),
            step_by_step: false,
            max_duration: None,
        }
    }
}

/// What an apply did.
#[derive(Debug)]
pub enum ApplyOutcome {
    /// The version is already deployed: nothing ran, no events.
    AlreadyDeployed(String),
    /// Deployed.
    Deployed {
        /// The new version.
        version: String,
        /// The plan that ran.
        plan: Plan,
    },
}

/// Why an apply did not deploy, mapped to exit codes in main.
#[derive(Debug)]
pub enum ApplyError {
    /// Refused before anything ran (exit 3), with its code.
    Refused(ErrorCode, String),
    /// The migration failed; `failed` was recorded (exit 1).
    Failed(Box<FailureRecord>),
    /// Infrastructure error (exit 1).
    Store(String),
    /// The database refused the credentials from the environment (exit 2): nothing ran.
    Credentials(String),
}

impl ApplyError {
    /// The stable code of this error (`docs/errors.md`, "Runtime errors").
    pub fn code(&self) -> ErrorCode {
        match self {
            ApplyError::Refused(code, _) => *code,
            ApplyError::Failed(_) => ErrorCode::MigrationFailed,
            ApplyError::Store(_) => ErrorCode::Store,
            ApplyError::Credentials(_) => ErrorCode::Credentials,
        }
    }
}

impl std::fmt::Display for ApplyError {
    /// One line for people: what failed, and in which state the database is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApplyError::Refused(_, m) | ApplyError::Store(m) | ApplyError::Credentials(m) => {
                f.write_str(m)
            }
            ApplyError::Failed(r) => {
                let what = match (r.step_index, r.step_key.as_deref()) {
                    // Counted from 1, as the progress lines (`[1/3]`) count.
                    (Some(i), Some(k)) => format!("step {} ({k})", i + 1),
                    _ => format!("the migration ({})", r.class),
                };
                write!(
                    f,
                    "{what} failed{}: {}; the database is {} (see `depot-migrate status` and `history`)",
                    r.sqlstate.as_deref().map(|c| format!(" with SQLSTATE {c}")).unwrap_or_default(),
                    r.message,
                    if r.rolled_back { "exactly as before (rolled back)" } else { "partly migrated" }
                )
            }
        }
    }
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::LockHeld { .. } => ApplyError::Refused(ErrorCode::LockHeld, e.to_string()),
            StoreError::Conflict { .. } => {
                ApplyError::Refused(ErrorCode::StateChanged, e.to_string())
            }
            StoreError::Db(m) => ApplyError::Store(m),
            StoreError::Credentials(m) => ApplyError::Credentials(m),
        }
    }
}

pub use crate::clock::now_rfc3339 as now;
pub use crate::identity::{actor, lease_holder};

/// The flag SIGTERM/SIGINT set (see `worker`): runs stop at the next step boundary.
pub fn stop_flag() -> Arc<AtomicBool> {
    static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    STOP.get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone()
}

fn stop_requested() -> bool {
    stop_flag().load(Ordering::SeqCst)
}

/// The deployed package snapshot of a stored state, if any.
pub fn deployed_package(
    stored: &StoredState,
    engine: Engine,
) -> Result<Option<Package>, ApplyError> {
    match &stored.deployed_package {
        None => Ok(None),
        Some(text) => load::parse_package(text.as_bytes(), Some(engine))
            .map(Some)
            .map_err(|e| {
                ApplyError::Store(format!(
                    "the deployed package snapshot in the database does not parse: {e}"
                ))
            }),
    }
}

/// Refuses a dataset config whose `environmentId`, `engine` or `schema` differs from what
/// the dataset's state records: the state describes one schema, and pointing the same
/// `datasetId` at another would make it claim a schema it never migrated. A schema move
/// is not a no-op: give the new schema a new `datasetId`.
pub fn check_identity(dataset: &DatasetConfig, stored: &StoredState) -> Result<(), ApplyError> {
    let id = &stored.identity;
    let pairs = [
        (
            "environmentId",
            id.environment_id.as_str(),
            dataset.environment_id.as_str(),
        ),
        ("engine", id.engine.as_str(), dataset.engine.as_str()),
        ("schema", id.schema.as_str(), dataset.schema.as_str()),
    ];
    let diffs: Vec<String> = pairs
        .iter()
        // An empty recorded value: a row from a store that did not record it.
        .filter(|(_, recorded, given)| !recorded.is_empty() && recorded != given)
        .map(|(k, recorded, given)| format!("{k} {given:?} (recorded: {recorded:?})"))
        .collect();
    if diffs.is_empty() {
        return Ok(());
    }
    Err(ApplyError::Refused(ErrorCode::IdentityMismatch, format!(
        "dataset {} is recorded for another target than this config: the config says {}; a dataset's environmentId, engine and schema cannot change (to move to another schema, give it a new datasetId and migrate it there; see docs/state-and-events.md, \"Dataset identity\")",
        dataset.dataset_id,
        diffs.join(", ")
    )))
}

/// Refuses to plan a dataset with no state into a schema that already holds objects:
/// the plan would create everything and fail on the first table that exists. Names the
/// objects found. Where the state tables share the namespace with other datasets'
/// tables (SQLite, one file), the check applies only while no dataset is recorded.
pub fn check_untracked_objects(
    store: &mut dyn Store,
    dataset: &DatasetConfig,
) -> Result<(), ApplyError> {
    if dataset.engine == Engine::Sqlite && store.has_state()? && !store.dataset_ids()?.is_empty() {
        return Ok(());
    }
    let catalog = store.catalog(&dataset.schema)?;
    if catalog.is_empty() {
        return Ok(());
    }
    let mut objects: Vec<String> = catalog
        .iter()
        .filter(|l| l.starts_with("table ") || l.starts_with("relation "))
        .map(|l| {
            let mut w = l.split_whitespace();
            format!("{} {}", w.next().unwrap_or(""), w.next().unwrap_or(""))
        })
        .collect();
    if objects.is_empty() {
        objects = catalog.iter().take(5).cloned().collect();
    }
    let n = objects.len();
    objects.truncate(10);
    Err(ApplyError::Refused(ErrorCode::SchemaNotEmpty, format!(
        "schema {:?} already holds objects but no state is recorded for dataset {} ({n} found: {}{}); depot-migrate only migrates schemas it created: point the dataset at an empty schema, or drop or move these objects",
        dataset.schema,
        dataset.dataset_id,
        objects.join(", "),
        if n > 10 { ", …" } else { "" }
    )))
}

/// What was submitted for the desired version: everything a worker, `watchdog` or
/// `recover` needs without the files (stored on the state row as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    /// The run: shared by the `desired`, `attempted` and `deployed`/`failed` events.
    pub run_id: String,
    /// The desired version hash.
    pub version: String,
    /// The dataset config.
    pub dataset: DatasetConfig,
    /// The package (the model's form, no nulls).
    pub package: Value,
    /// The plan from the version deployed at submission.
    pub plan: Plan,
    /// When (RFC 3339).
    pub submitted_at: String,
    /// Who.
    pub actor: String,
    /// `environmentUri` of the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_uri: Option<String>,
    /// Run step by step (journaled).
    #[serde(default)]
    pub step_by_step: bool,
    /// The run's `maxDuration` in seconds, if the submitter set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_seconds: Option<u64>,
}

impl Submission {
    /// Reads a stored submission, validating its dataset config and package again (the
    /// state row is data, not trusted code).
    pub fn parse(text: &str) -> Result<Submission, ApplyError> {
        let bad = |e: String| {
            ApplyError::Store(format!(
                "the stored submission does not parse ({e}); submit the version again"
            ))
        };
        let sub: Submission = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let ds_json = serde_json::to_vec(&sub.dataset).map_err(|e| bad(e.to_string()))?;
        load::parse_dataset(&ds_json).map_err(|e| bad(e.to_string()))?;
        sub.package()?;
        Ok(sub)
    }

    /// The package.
    pub fn package(&self) -> Result<Package, ApplyError> {
        let bytes = serde_json::to_vec(&self.package).map_err(|e| {
            ApplyError::Store(format!("the stored package does not serialize ({e})"))
        })?;
        load::parse_package(&bytes, Some(self.dataset.engine))
            .map_err(|e| ApplyError::Store(format!("the stored package does not parse ({e})")))
    }

    pub(crate) fn context(&self, previous: Option<String>) -> EventContext {
        let ds = &self.dataset;
        EventContext {
            environment_id: ds.environment_id.clone(),
            dataset_id: ds.dataset_id.clone(),
            dataset_alias: ds.dataset_alias.clone().unwrap_or_default(),
            environment_uri: self
                .environment_uri
                .clone()
                .unwrap_or_else(|| format!("urn:depot-migrate:plan:{}", self.plan.plan_hash)),
            engine: ds.engine.as_str().to_string(),
            migration_mode: match ds.mode() {
                MigrationMode::Synchronous => "synchronous",
                MigrationMode::Asynchronous => "asynchronous",
            }
            .to_string(),
            run_id: self.run_id.clone(),
            previous_version_hash: previous,
            plan_hash: Some(self.plan.plan_hash.clone()),
        }
    }
}

pub(crate) struct Events {
    ctx: EventContext,
    /// When the run started (its `attempted`), for the `durationMs` of `deployed` and
    /// `failed`; `None` where there is no run to time (a recovery resolved by hand).
    pub(crate) started: Option<std::time::SystemTime>,
    on: bool,
    /// Where the outbox rows are meant to go.
    destination: Option<String>,
}

impl Events {
    pub(crate) fn new(ctx: EventContext, sink: &dyn EventSink, dataset: &DatasetConfig) -> Events {
        Events {
            ctx,
            started: None,
            on: sink.enabled(),
            destination: sink
                .enabled()
                .then(|| sink.destination(dataset.event_bus_name.as_deref())),
        }
    }
}

impl Events {
    fn outbox(
        &self,
        event: LifecycleEvent,
        version: &str,
        revision: i64,
        at: &str,
        error: Option<&FailureRecord>,
        recovery: Option<&Value>,
    ) -> Option<(String, Value)> {
        if !self.on {
            return None;
        }
        let event_id = uuid::Uuid::new_v4().to_string();
        let mut detail = event_detail(
            &self.ctx, event, version, &event_id, revision, error, recovery,
        );
        if let Some(ms) = crate::clock::elapsed_ms(self.started) {
            depot_migrate_core::lifecycle::set_duration_ms(&mut detail, event, ms);
        }
        let account = std::env::var("DEPOT_AWS_ACCOUNT_ID").unwrap_or_default();
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .unwrap_or_default();
        Some((
            event_id.clone(),
            envelope(&event_id, at, &account, &region, detail),
        ))
    }
}

/// One change of a dataset's state with its history row and event.
pub(crate) struct Change<'a> {
    pub(crate) ds: &'a DatasetConfig,
    pub(crate) events: &'a Events,
    pub(crate) run_id: &'a str,
}

/// What a failure or a recovery adds to a change: the failure record (the `error` of a
/// `failed` event) and the `recovery` object (carried by the event; its reason goes to
/// history).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Because<'a> {
    pub(crate) failure: Option<&'a FailureRecord>,
    pub(crate) recovery: Option<&'a Value>,
}

impl<'a> Because<'a> {
    /// A plain change: neither a failure nor a recovery.
    pub(crate) const NOTHING: Because<'static> = Because {
        failure: None,
        recovery: None,
    };

    /// A change that records this failure.
    pub(crate) fn failure(record: &'a FailureRecord) -> Self {
        Because {
            failure: Some(record),
            recovery: None,
        }
    }

    /// A change made by a recovery (when there is one).
    pub(crate) fn recovery(recovery: Option<&'a Value>) -> Self {
        Because {
            failure: None,
            recovery,
        }
    }
}

impl Change<'_> {
    pub(crate) fn transition(
        &self,
        state: DatasetState,
        expected: i64,
        event: LifecycleEvent,
        version: &str,
        detail: Value,
        because: Because<'_>,
    ) -> Transition {
        let Because {
            failure: error,
            recovery,
        } = because;
        let at = state.synced.clone().unwrap_or_else(now);
        let reason = recovery.and_then(|r| r["reason"].as_str().map(str::to_string));
        Transition {
            expected_revision: expected,
            outbox: self
                .events
                .outbox(event, version, state.revision, &at, error, recovery),
            outbox_destination: self.events.destination.clone(),
            state,
            environment_id: self.ds.environment_id.clone(),
            engine: self.ds.engine.as_str().to_string(),
            schema: self.ds.schema.clone(),
            deployed: None,
            history: HistoryEntry {
                at,
                event: event.as_str().to_string(),
                version: Some(version.to_string()),
                run_id: self.run_id.to_string(),
                actor: actor(),
                reason,
                detail,
            },
            submission: None,
            scheduled: false,
            run_id: None,
        }
    }
}

/// Runs a synchronous apply.
pub fn apply(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    package: &Package,
    package_json: String,
    dataset: &DatasetConfig,
    opts: &ApplyOptions,
) -> Result<ApplyOutcome, ApplyError> {
    store.ensure_state_schema()?;
    let mut holder = lease_holder();
    holder.max_duration = opts.max_duration;
    let lock = LockRequest {
        dataset_id: &dataset.dataset_id,
        holder,
        wait: opts.lock_wait,
        command: "apply",
        publish_budget: opts.publish_budget,
    };
    under_dataset_lock(store, sink, &lock, |store, sink| {
        apply_locked(store, sink, package, package_json, dataset, opts)
    })?
}

/// A run under a dataset's lock: which dataset, who holds the lock, how long to wait for
/// it, and who asks.
pub struct LockRequest<'a> {
    /// The dataset whose lock is taken.
    pub dataset_id: &'a str,
    /// The holder (its lease records the deadline a watchdog checks).
    pub holder: LeaseHolder,
    /// How long to wait for the lock.
    pub wait: Duration,
    /// The command asking, named in the record of a lost or hung run it detects.
    pub command: &'static str,
    /// How long to spend publishing pending events afterwards.
    pub publish_budget: Duration,
}

/// The sequence every run of a dataset goes through, written once: take the dataset's
/// lock ([`lock_detecting`]: a hung holder is recorded as failed first), record an
/// earlier run that lost its lease ([`detect_lost_run`]), run `work`, unlock, and publish
/// what is pending (bounded by the budget) — also when the lock could not be taken, since
/// detection may have recorded a failure. The outer `Err` is the lock not taken (the
/// work did not run); the inner result is the work's (or the lost-run detection's).
pub fn under_dataset_lock<T>(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    lock: &LockRequest<'_>,
    work: impl FnOnce(&mut dyn Store, &mut dyn EventSink) -> Result<T, ApplyError>,
) -> Result<Result<T, ApplyError>, ApplyError> {
    let publish = |store: &mut dyn Store, sink: &mut dyn EventSink| {
        if sink.enabled() {
            let _ = publish_pending(store, sink, Some(lock.dataset_id), lock.publish_budget);
        }
    };
    if let Err(e) = lock_detecting(
        store,
        &*sink,
        lock.dataset_id,
        &lock.holder,
        lock.wait,
        lock.command,
    ) {
        publish(store, sink);
        return Err(e);
    }
    let result = detect_lost_run(store, &*sink, lock.dataset_id, lock.command)
        .and_then(|_| work(&mut *store, &mut *sink));
    let _ = store.unlock(lock.dataset_id);
    publish(store, sink);
    Ok(result)
}

/// The checks before a new version is attempted or submitted, and its plan: refuses
/// after a failure that left committed steps, destructive steps not allowed, and a
/// stale `--plan`. `Ok(None)`: the version is already deployed and stable.
fn plan_for(
    stored: &StoredState,
    package: &Package,
    dataset: &DatasetConfig,
    expected_plan: Option<&Plan>,
) -> Result<Option<(String, Plan)>, ApplyError> {
    let to_version = version_hash(package, dataset).as_str().to_string();
    let s = &stored.state;
    if s.deployed_version.as_deref() == Some(&to_version) && s.is_stable() {
        return Ok(None);
    }
    if let Some(f) = &s.last_failure {
        if !f.rolled_back {
            return Err(ApplyError::Refused(ErrorCode::Dirty, format!(
                "the last migration of dataset {} failed after steps had committed ({}); nothing runs until `depot-migrate recover --dataset … --resolve deployed|rolled-back|retry --reason …`",
                dataset.dataset_id,
                f.committed_steps.join(", ")
            )));
        }
    }
    let from = deployed_package(stored, dataset.engine)?;
    let plan = plan(from.as_ref(), package, dataset)
        .map_err(|e| ApplyError::Refused(ErrorCode::CannotPlan, format!("cannot plan: {e}")))?;
    let disallowed = plan.disallowed(dataset);
    if !disallowed.is_empty() {
        return Err(ApplyError::Refused(ErrorCode::DestructiveNotAllowed, format!(
            "the plan has destructive steps the dataset config does not allow; to allow them add {} to \"allowDestructive\"",
            disallowed.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
        )));
    }
    if let Some(expected) = expected_plan {
        if expected.plan_hash != plan.plan_hash
            || expected.engine != plan.engine
            || expected.dataset_id != plan.dataset_id
        {
            return Err(ApplyError::Refused(ErrorCode::StalePlan, format!(
                "stale plan: the given plan (planHash {}, {} {}) is not the plan from the deployed version ({}) to this package (planHash {}); the baseline it was made from is out of date: refresh it with `depot-migrate snapshot --dataset … --db …` (the package deployed now, the CDK baseline) and make the plan again",
                expected.plan_hash,
                expected.engine,
                expected.dataset_id,
                s.deployed_version.as_deref().unwrap_or("nothing deployed"),
                plan.plan_hash
            )));
        }
    }
    Ok(Some((to_version, plan)))
}

fn new_submission(
    version: String,
    plan: Plan,
    package_json: &str,
    dataset: &DatasetConfig,
    opts: &ApplyOptions,
) -> Result<Submission, ApplyError> {
    Ok(Submission {
        run_id: uuid::Uuid::new_v4().to_string(),
        version,
        dataset: dataset.clone(),
        package: serde_json::from_str(package_json)
            .map_err(|e| ApplyError::Store(format!("the package to store is not JSON ({e})")))?,
        plan,
        submitted_at: now(),
        actor: actor(),
        environment_uri: opts.environment_uri.clone(),
        step_by_step: opts.step_by_step,
        max_duration_seconds: opts.max_duration.map(|d| d.as_secs()),
    })
}

fn apply_locked(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    package: &Package,
    package_json: String,
    dataset: &DatasetConfig,
    opts: &ApplyOptions,
) -> Result<ApplyOutcome, ApplyError> {
    let stored = match store.read_state(&dataset.dataset_id)? {
        Some(stored) => {
            check_identity(dataset, &stored)?;
            stored
        }
        None => {
            check_untracked_objects(store, dataset)?;
            StoredState::default()
        }
    };
    let Some((to_version, plan)) =
        plan_for(&stored, package, dataset, opts.expected_plan.as_ref())?
    else {
        return Ok(ApplyOutcome::AlreadyDeployed(
            version_hash(package, dataset).as_str().to_string(),
        ));
    };
    let sub = new_submission(to_version, plan, &package_json, dataset, opts)?;
    execute(
        store,
        sink,
        RunRequest {
            sub: &sub,
            stored: &stored,
            opts,
            start: Start::Fresh,
            write_submission: true,
            mode: "synchronous",
        },
    )
}

/// Where a run starts.
#[derive(Debug, Clone)]
pub enum Start {
    /// A new attempt of the submission.
    Fresh,
    /// `recover --resolve retry`: the same run, from this step, with the recovery object
    /// carried by its `attempted` event.
    Resume {
        /// The first step not completed.
        from_step: usize,
        /// The `recovery` object.
        recovery: Value,
    },
}

/// One run of a submission, as [`execute`] takes it.
pub struct RunRequest<'a> {
    /// What runs: the version, its plan, the dataset and the package.
    pub sub: &'a Submission,
    /// The state the run starts from (its revision is the compare-and-set's).
    pub stored: &'a StoredState,
    /// Lock, retry, publish and step-by-step options.
    pub opts: &'a ApplyOptions,
    /// A fresh attempt, or `recover --resolve retry` resuming at a step.
    pub start: Start,
    /// Store the submission with `attempted` (a synchronous apply; a worker's and a
    /// retry's submission is stored already).
    pub write_submission: bool,
    /// The event's `migrationMode`: `synchronous` or `asynchronous`.
    pub mode: &'a str,
}

/// Runs a submission: `attempted` (a compare-and-set on the stored revision), the steps,
/// then `deployed`, or `failed` with its record.
pub fn execute(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    run: RunRequest<'_>,
) -> Result<ApplyOutcome, ApplyError> {
    let RunRequest {
        sub,
        stored,
        opts,
        start,
        write_submission,
        mode,
    } = run;
    let ds = &sub.dataset;
    let s = &stored.state;
    let plan = &sub.plan;
    let to_version = sub.version.clone();
    let mut ctx = sub.context(s.deployed_version.clone());
    ctx.migration_mode = mode.to_string();
    let mut events = Events::new(ctx, &*sink, ds);
    events.started = Some(crate::clock::run_now());
    let change = Change {
        ds,
        events: &events,
        run_id: &sub.run_id,
    };
    let (from_step, recovery) = match &start {
        Start::Fresh => (0, None),
        Start::Resume {
            from_step,
            recovery,
        } => (*from_step, Some(recovery.clone())),
    };
    let mut summary = json!({"planHash": plan.plan_hash, "steps": plan.steps.len(), "destructive": plan.destructive, "from": s.deployed_version});
    if from_step > 0 {
        summary["resumeAtStep"] = json!(from_step);
    }
    let base = |revision: i64, at: &str| DatasetState {
        dataset_id: ds.dataset_id.clone(),
        alias: ds.dataset_alias.clone(),
        revision,
        synced: Some(at.to_string()),
        desired_version: Some(to_version.clone()),
        attempted_version: Some(to_version.clone()),
        deployed_version: s.deployed_version.clone(),
        last_failure: None,
    };

    // (1) attempted, committed and published before any DDL.
    let r1 = s.revision + 1;
    let mut detail1 = summary.clone();
    if let Some(r) = &recovery {
        detail1["recovery"] = r.clone();
    }
    let mut t1 = change.transition(
        base(r1, &now()),
        s.revision,
        LifecycleEvent::Attempted,
        &to_version,
        detail1,
        Because::recovery(recovery.as_ref()),
    );
    t1.run_id = Some(sub.run_id.clone());
    if write_submission {
        t1.submission = Some(json_text("the submission", sub)?);
    }
    // Written before anything runs: a package that does not serialize refuses the run.
    let deployed_package = json_text("the deployed package", &sub.package)?;
    store.transition(&t1)?;
    if sink.enabled() {
        let _ = publish_pending(store, sink, Some(&ds.dataset_id), opts.publish_budget);
    }

    let deployed_transition = |store_revision: i64| {
        let at = now();
        let mut st = base(store_revision + 1, &at);
        st.deployed_version = Some(to_version.clone());
        let mut t = change.transition(
            st,
            store_revision,
            LifecycleEvent::Deployed,
            &to_version,
            summary.clone(),
            Because::NOTHING,
        );
        t.deployed = Some((deployed_package.clone(), plan.plan_hash.clone()));
        t
    };
    let total = plan.steps.len();
    let announce = |step: &Step| {
        // One write per line: stderr is unbuffered, and `eprintln!` writes each piece of
        // the format on its own (several system calls a step on a long plan).
        let line = format!(
            "[{}/{total}] {} ({})\n",
            step.index + 1,
            step.summary,
            step.key
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    };
    let journaled = opts.step_by_step
        || sub.step_by_step
        || from_step > 0
        || !store.transactional_ddl()
        || plan.steps.iter().any(|st| !st.transactional);

    // (2) the steps and deployedVersion.
    let outcome: Result<(), Box<FailureRecord>> = if !journaled {
        let mut attempt = 0;
        loop {
            let t2 = deployed_transition(r1);
            let mut progress = |step: &Step| announce(step);
            match store.migrate(
                &ds.dataset_id,
                &sub.run_id,
                &plan.steps,
                opts.lock_timeout,
                &t2,
                &mut progress,
            ) {
                Ok(()) => break Ok(()),
                Err(MigrateError::Step(f)) if f.retryable && attempt < opts.retries => {
                    attempt += 1;
                    eprintln!(
                        "warning: step {} waited longer than lock_timeout ({} ms); retrying the migration ({attempt}/{})",
                        f.record.step_key.as_deref().unwrap_or("?"),
                        opts.lock_timeout.as_millis(),
                        opts.retries
                    );
                    std::thread::sleep(Duration::from_millis(500 * u64::from(attempt)));
                }
                Err(e) => break Err(Box::new(migrate_failure(e, Vec::new()))),
            }
        }
    } else {
        run_journaled(store, sub, from_step, opts, &announce)
            .and_then(|()| {
                let t2 = deployed_transition(r1);
                store
                    .migrate(
                        &ds.dataset_id,
                        &sub.run_id,
                        &[],
                        opts.lock_timeout,
                        &t2,
                        &mut |_| {},
                    )
                    .map_err(|e| Box::new(migrate_failure(e, Vec::new())))
            })
            .map_err(|mut record| {
                // What had committed: the journal of this run.
                if let Ok(done) = store.completed_steps(&ds.dataset_id, &sub.run_id) {
                    record.committed_steps = step_keys(plan, &done);
                    record.rolled_back = record.rolled_back && done.is_empty();
                }
                record
            })
    };
    match outcome {
        Ok(()) => Ok(ApplyOutcome::Deployed {
            version: to_version,
            plan: plan.clone(),
        }),
        Err(record) => {
            let record = *record;
            // (3) record the failure and its `failed` event in a separate transaction.
            let mut failed_state = base(r1 + 1, &now());
            failed_state.last_failure = Some(record.clone());
            let t3 = change.transition(
                failed_state,
                r1,
                LifecycleEvent::Failed,
                &to_version,
                json!({"plan": summary, "failure": record}),
                Because::failure(&record),
            );
            write_failure(store, &t3)?;
            Err(ApplyError::Failed(Box::new(record)))
        }
    }
}

/// Records a failure; the failure may have taken the connection with it, so a second
/// try runs on a fresh one. A compare-and-set that finds another revision means someone
/// else (watchdog, recover) already decided about this run: nothing more to record.
fn write_failure(store: &mut dyn Store, t: &Transition) -> Result<(), ApplyError> {
    match store.transition(t) {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict { .. }) => {
            eprintln!("warning: the state changed while this run was failing (watchdog or recover recorded it first); not recording the failure again");
            Ok(())
        }
        Err(first) => {
            eprintln!(
                "warning: recording the failure failed ({first}); retrying on a new connection"
            );
            store.reconnect()?;
            match store.transition(t) {
                Err(StoreError::Conflict { .. }) => Ok(()),
                other => Ok(other?),
            }
        }
    }
}

fn migrate_failure(e: MigrateError, committed: Vec<String>) -> FailureRecord {
    match e {
        MigrateError::Step(f) => {
            let mut r = f.record;
            r.committed_steps = committed;
            r
        }
        MigrateError::Store(StoreError::LockHeld { .. }) => FailureRecord {
            class: FailureClass::LeaseLost,
            message: "this run's lease was revoked or taken over (watchdog, or another executor after it expired); its last step did not commit".into(),
            committed_steps: committed,
            rolled_back: true,
            ..FailureRecord::default()
        },
        MigrateError::Store(StoreError::Conflict { .. }) => FailureRecord {
            class: FailureClass::Superseded,
            message: "the dataset's state changed while this run was working (watchdog or recover decided about it); its last transaction rolled back".into(),
            committed_steps: committed,
            rolled_back: true,
            ..FailureRecord::default()
        },
        MigrateError::Store(se) => FailureRecord {
            class: FailureClass::Connection,
            message: se.to_string(),
            committed_steps: committed,
            rolled_back: true,
            ..FailureRecord::default()
        },
    }
}

fn step_keys(plan: &Plan, indexes: &[usize]) -> Vec<String> {
    indexes
        .iter()
        .filter_map(|i| plan.steps.get(*i).map(|s| s.key.clone()))
        .collect()
}

/// Runs the steps from `from_step` one at a time, each journaled, renewing the lease
/// between them and stopping at a step boundary when asked to (SIGTERM).
fn run_journaled(
    store: &mut dyn Store,
    sub: &Submission,
    from_step: usize,
    opts: &ApplyOptions,
    announce: &dyn Fn(&Step),
) -> Result<(), Box<FailureRecord>> {
    let ds = &sub.dataset;
    for step in sub.plan.steps.iter().skip(from_step) {
        if stop_requested() {
            return Err(Box::new(FailureRecord {
                class: FailureClass::Interrupted,
                step_index: Some(step.index),
                step_key: Some(step.key.clone()),
                message: format!(
                    "stopped by a signal at the boundary before step {}; `depot-migrate recover --resolve retry` resumes here",
                    step.index
                ),
                rolled_back: true,
                ..FailureRecord::default()
            }));
        }
        store
            .renew_lease(&ds.dataset_id)
            .map_err(|e| Box::new(migrate_failure(MigrateError::Store(e), Vec::new())))?;
        announce(step);
        let mut attempt = 0;
        loop {
            match store.run_step(&ds.dataset_id, &sub.run_id, step, opts.lock_timeout) {
                Ok(()) => break,
                Err(MigrateError::Step(f)) if f.retryable && attempt < opts.retries => {
                    attempt += 1;
                    eprintln!(
                        "warning: step {} waited longer than lock_timeout; retrying it ({attempt}/{})",
                        step.key, opts.retries
                    );
                    std::thread::sleep(Duration::from_millis(500 * u64::from(attempt)));
                }
                Err(e) => return Err(Box::new(migrate_failure(e, Vec::new()))),
            }
        }
    }
    Ok(())
}

/// The failure of a run whose executor is gone or hung: what its journal says had
/// committed, and whether the database is exactly as before.
fn lost_run_record(
    store: &mut dyn Store,
    stored: &StoredState,
    sub: Option<&Submission>,
    class: FailureClass,
    message: String,
) -> Result<FailureRecord, StoreError> {
    let done = match &stored.run_id {
        Some(run) => store.completed_steps(&stored.state.dataset_id, run)?,
        None => Vec::new(),
    };
    let committed = sub.map(|s| step_keys(&s.plan, &done)).unwrap_or_default();
    Ok(FailureRecord {
        class,
        message,
        rolled_back: done.is_empty(),
        committed_steps: committed,
        ..FailureRecord::default()
    })
}

/// Records `failed` for a run that nobody will finish (crashed or hung), as a
/// compare-and-set on the state that showed it.
fn record_lost_run(
    store: &mut dyn Store,
    sink: &dyn EventSink,
    stored: &StoredState,
    record: &FailureRecord,
    detector: &str,
) -> Result<(), ApplyError> {
    let s = &stored.state;
    let sub = stored.submission.as_deref().map(Submission::parse);
    let sub = match sub {
        Some(Ok(sub)) => sub,
        Some(Err(e)) => return Err(e),
        None => {
            return Err(ApplyError::Store(format!(
                "dataset {} has a run in progress but no stored submission; recover it by hand",
                s.dataset_id
            )))
        }
    };
    let version = s.attempted_version.clone().unwrap_or_default();
    let mut events = Events::new(sub.context(s.deployed_version.clone()), sink, &sub.dataset);
    // The run started when it recorded `attempted`: the state's time then.
    events.started = crate::clock::parse(s.synced.as_deref());
    let run_id = stored.run_id.clone().unwrap_or_else(|| sub.run_id.clone());
    let change = Change {
        ds: &sub.dataset,
        events: &events,
        run_id: &run_id,
    };
    let mut st = s.clone();
    st.revision = s.revision + 1;
    st.synced = Some(now());
    st.last_failure = Some(record.clone());
    let t = change.transition(
        st,
        s.revision,
        LifecycleEvent::Failed,
        &version,
        json!({"failure": record, "detectedBy": detector}),
        Because::failure(record),
    );
    store.transition(&t)?;
    Ok(())
}

/// A run in progress (attempted ≠ deployed, no failure recorded) whose lock this process
/// now holds: its executor is gone. Records `failed` (class `leaseLost`) for it and
/// returns the record. The caller must hold the dataset's lock.
pub fn detect_lost_run(
    store: &mut dyn Store,
    sink: &dyn EventSink,
    dataset_id: &str,
    detector: &str,
) -> Result<Option<FailureRecord>, ApplyError> {
    let Some(stored) = store.read_state(dataset_id)? else {
        return Ok(None);
    };
    if !stored.state.in_progress() {
        return Ok(None);
    }
    let sub = stored
        .submission
        .as_deref()
        .and_then(|t| Submission::parse(t).ok());
    let record = lost_run_record(
        store,
        &stored,
        sub.as_ref(),
        FailureClass::LeaseLost,
        format!(
            "the executor of run {} ended without recording an outcome (it crashed, was killed, or could not write its failure record; its log has the error); detected by {detector}",
            stored.run_id.as_deref().unwrap_or("?")
        ),
    )?;
    eprintln!(
        "warning: the previous run of dataset {dataset_id} lost its lease; recording it as failed"
    );
    record_lost_run(store, sink, &stored, &record, detector)?;
    Ok(Some(record))
}

/// What `watchdog` found for one dataset.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchdogFinding {
    /// Dataset id.
    pub dataset_id: String,
    /// `healthy` (a run in progress within its time), `crashed` (lease lost: recorded
    /// as failed), `hung` (past maxDuration: recorded as failed, lease revoked),
    /// `busy` (another watchdog or executor got there first).
    pub finding: String,
    /// The failure recorded, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureRecord>,
}

/// `watchdog`: finds runs whose executor crashed (its lease is lost: the lock is free) or
/// hangs (past the deadline its lease records) and records them as failed. Stable and
/// scheduled datasets are not reported.
pub fn watchdog(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    publish_budget: Duration,
) -> Result<Vec<WatchdogFinding>, ApplyError> {
    // Reads first: a database without state, or with nothing in progress, is left as it
    // is (a read-only role can run the watchdog there).
    if !store.has_state()? {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut upgraded = false;
    for id in store.dataset_ids()? {
        let Some(stored) = store.read_state(&id)? else {
            continue;
        };
        if crate::stuck::is_scheduled(&stored) {
            out.extend(crate::stuck::check(store, &*sink, &stored)?);
            continue;
        }
        if !stored.state.in_progress() {
            continue;
        }
        if !upgraded {
            store.ensure_state_schema()?;
            upgraded = true;
        }
        let holder = lease_holder();
        match store.lock(&id, &holder, Duration::ZERO) {
            Ok(()) => {
                // We hold the lock: the run's executor is gone.
                let r = detect_lost_run(store, &*sink, &id, "watchdog");
                let _ = store.unlock(&id);
                match r {
                    Ok(Some(f)) => out.push(WatchdogFinding {
                        dataset_id: id.clone(),
                        finding: "crashed".into(),
                        failure: Some(f),
                    }),
                    Ok(None) => {}
                    Err(ApplyError::Refused(..)) => out.push(WatchdogFinding {
                        dataset_id: id.clone(),
                        finding: "busy".into(),
                        failure: None,
                    }),
                    Err(e) => return Err(e),
                }
            }
            Err(StoreError::LockHeld { .. }) => {
                match detect_hung_run(store, &*sink, &id, "watchdog") {
                    Ok(Some(record)) => out.push(WatchdogFinding {
                        dataset_id: id.clone(),
                        finding: "hung".into(),
                        failure: Some(record),
                    }),
                    Ok(None) => out.push(WatchdogFinding {
                        dataset_id: id.clone(),
                        finding: "healthy".into(),
                        failure: None,
                    }),
                    Err(ApplyError::Refused(..)) => out.push(WatchdogFinding {
                        dataset_id: id.clone(),
                        finding: "busy".into(),
                        failure: None,
                    }),
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    // Pending events of earlier runs too (a read-only role cannot mark them published:
    // they stay pending, which is all a failure here means).
    if sink.enabled() {
        let _ = publish_pending(store, sink, None, publish_budget);
    }
    Ok(out)
}

/// A run in progress whose executor holds the lock past the deadline its lease records
/// (`maxDuration`): records `failed` (class `timeout`) for it and revokes its lease, so
/// its next fencing check fails and it can never commit. `Ok(None)`: no such run.
pub fn detect_hung_run(
    store: &mut dyn Store,
    sink: &dyn EventSink,
    dataset_id: &str,
    detector: &str,
) -> Result<Option<FailureRecord>, ApplyError> {
    let Some(lease) = store.lease(dataset_id)? else {
        return Ok(None);
    };
    let Some(deadline) = lease.deadline.filter(|d| now_unix() > *d) else {
        return Ok(None);
    };
    let Some(stored) = store.read_state(dataset_id)? else {
        return Ok(None);
    };
    if !stored.state.in_progress() {
        return Ok(None);
    }
    let sub = stored
        .submission
        .as_deref()
        .and_then(|t| Submission::parse(t).ok());
    let record = lost_run_record(
        store,
        &stored,
        sub.as_ref(),
        FailureClass::Timeout,
        format!(
            "run {} ran past its maxDuration ({} s, started {}, deadline passed {} s ago) and can no longer commit; detected by {detector}",
            stored.run_id.as_deref().unwrap_or("?"),
            lease.holder["maxDurationSeconds"].as_i64().unwrap_or(0),
            lease.started,
            now_unix() - deadline
        ),
    )?;
    record_lost_run(store, sink, &stored, &record, detector)?;
    store.revoke_lease(dataset_id, &lease.token)?;
    eprintln!("warning: the run in progress on dataset {dataset_id} is past its maxDuration; recorded it as failed and revoked its lease");
    Ok(Some(record))
}

/// Takes the dataset's lock; when another executor holds it, checks whether that one is
/// hung (past its deadline: recorded as failed, lease revoked) and then tries once more
/// (where the lease row is the lock, it is free now; a Postgres session lock stays with
/// the hung process until it ends).
pub fn lock_detecting(
    store: &mut dyn Store,
    sink: &dyn EventSink,
    dataset_id: &str,
    holder: &LeaseHolder,
    wait: Duration,
    detector: &str,
) -> Result<(), ApplyError> {
    match store.lock(dataset_id, holder, wait) {
        Err(StoreError::LockHeld { .. })
            if detect_hung_run(store, sink, dataset_id, detector)?.is_some() =>
        {
            Ok(store.lock(dataset_id, holder, Duration::ZERO)?)
        }
        other => Ok(other?),
    }
}

/// `submit`: sets desiredVersion, stores the submission (package, plan, dataset config,
/// run id) and emits `desired` carrying the new revision; returns at once.
pub enum SubmitOutcome {
    /// Submitted: the new revision and the submission.
    Submitted(i64, Box<Submission>),
    /// Nothing to do: deployed and stable, or submitted already and still scheduled.
    Unchanged(String, &'static str),
}

/// Submits a version for a worker (asynchronous mode).
pub fn submit(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    package: &Package,
    package_json: String,
    dataset: &DatasetConfig,
    opts: &ApplyOptions,
) -> Result<SubmitOutcome, ApplyError> {
    store.ensure_state_schema()?;
    // The lock makes the check and the compare-and-set one step against a running
    // executor (a submission never lands under a run in progress).
    let lock = LockRequest {
        dataset_id: &dataset.dataset_id,
        holder: lease_holder(),
        wait: opts.lock_wait,
        command: "submit",
        publish_budget: opts.publish_budget,
    };
    under_dataset_lock(store, sink, &lock, |store, sink| {
        submit_locked(store, sink, package, &package_json, dataset, opts)
    })?
}

fn submit_locked(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    package: &Package,
    package_json: &str,
    dataset: &DatasetConfig,
    opts: &ApplyOptions,
) -> Result<SubmitOutcome, ApplyError> {
    let stored = match store.read_state(&dataset.dataset_id)? {
        Some(stored) => {
            check_identity(dataset, &stored)?;
            stored
        }
        None => {
            check_untracked_objects(store, dataset)?;
            StoredState::default()
        }
    };
    let s = &stored.state;
    let to_version = version_hash(package, dataset).as_str().to_string();
    if s.desired_version.as_deref() == Some(&to_version)
        && stored.submitted_revision == Some(s.revision)
    {
        return Ok(SubmitOutcome::Unchanged(to_version, "submitted already"));
    }
    let Some((to_version, plan)) = plan_for(&stored, package, dataset, None)? else {
        return Ok(SubmitOutcome::Unchanged(to_version, "deployed already"));
    };
    let sub = new_submission(to_version.clone(), plan, package_json, dataset, opts)?;
    let events = Events::new(
        sub.context(s.deployed_version.clone()),
        &*sink,
        &sub.dataset,
    );
    let change = Change {
        ds: dataset,
        events: &events,
        run_id: &sub.run_id,
    };
    let mut st = s.clone();
    st.dataset_id = dataset.dataset_id.clone();
    st.alias = dataset.dataset_alias.clone();
    st.revision = s.revision + 1;
    st.synced = Some(now());
    st.desired_version = Some(to_version.clone());
    let mut t = change.transition(
        st,
        s.revision,
        LifecycleEvent::Desired,
        &to_version,
        json!({"planHash": sub.plan.plan_hash, "steps": sub.plan.steps.len(), "destructive": sub.plan.destructive, "from": s.deployed_version}),
        Because::NOTHING,
    );
    t.submission = Some(json_text("the submission", &sub)?);
    t.scheduled = true;
    store.transition(&t)?;
    Ok(SubmitOutcome::Submitted(s.revision + 1, Box::new(sub)))
}

/// How `recover` resolves a failed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// The change is in place: deployed = attempted (catalog verified unless forced).
    Deployed,
    /// The database is at the old version: desired = attempted = deployed = old.
    RolledBack,
    /// Resume at the first step not completed.
    Retry,
}

impl Resolve {
    /// The command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolve::Deployed => "deployed",
            Resolve::RolledBack => "rolled-back",
            Resolve::Retry => "retry",
        }
    }
}

/// What `recover` did.
#[derive(Debug)]
pub enum RecoverOutcome {
    /// The dataset is now stable at this version.
    Resolved(String),
    /// `retry` ran the rest of the plan.
    Deployed(String),
}

/// A step's statements as the scratch schema runs them, in one transaction: an online
/// index step's `CONCURRENTLY` (which no transaction accepts) left out; the index it
/// builds or drops is the same (docs/indexes.md).
fn in_transaction(step: &Step) -> Vec<String> {
    if step.transactional {
        return step.sql.clone();
    }
    step.sql
        .iter()
        .map(|q| {
            for (concurrent, plain) in [
                ("CREATE INDEX CONCURRENTLY ", "CREATE INDEX "),
                ("CREATE UNIQUE INDEX CONCURRENTLY ", "CREATE UNIQUE INDEX "),
                ("DROP INDEX CONCURRENTLY ", "DROP INDEX "),
            ] {
                if let Some(rest) = q.strip_prefix(concurrent) {
                    return format!("{plain}{rest}");
                }
            }
            q.clone()
        })
        .collect()
}

/// The catalog a version must have: what `plan(null, package)` creates.
fn expected_catalog(
    store: &mut dyn Store,
    dataset: &DatasetConfig,
    package: Option<&Package>,
    then: Option<(&Package, usize)>,
) -> Result<std::collections::BTreeSet<String>, ApplyError> {
    let build = |scratch: &str| -> Vec<String> {
        let mut ds = dataset.clone();
        ds.schema = scratch.to_string();
        let mut out = Vec::new();
        if let Some(p) = package {
            if let Ok(create) = plan(None, p, &ds) {
                out.extend(create.steps.into_iter().flat_map(|s| s.sql));
            }
        }
        if let Some((to, k)) = then {
            if let Ok(next) = plan(package, to, &ds) {
                out.extend(
                    next.steps
                        .into_iter()
                        .take(k)
                        .flat_map(|s| in_transaction(&s)),
                );
            }
        }
        out
    };
    Ok(store.scratch_catalog(&build)?)
}

fn catalog_diff(
    actual: &std::collections::BTreeSet<String>,
    expected: &std::collections::BTreeSet<String>,
) -> String {
    let missing: Vec<&String> = expected.difference(actual).take(3).collect();
    let extra: Vec<&String> = actual.difference(expected).take(3).collect();
    format!(
        "{} missing (e.g. {missing:?}), {} unexpected (e.g. {extra:?})",
        expected.difference(actual).count(),
        actual.difference(expected).count()
    )
}

/// Knobs of `recover`.
#[derive(Debug, Clone)]
pub struct RecoverOptions {
    /// How to resolve.
    pub resolve: Resolve,
    /// Why (recorded in history and the `recovery` object).
    pub reason: String,
    /// Skip the catalog check.
    pub force: bool,
    /// Run knobs for `retry`.
    pub run: ApplyOptions,
}

/// `recover`: resolves a failed run, as a compare-and-set on the state, recorded in
/// history with who and why.
pub fn recover(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    dataset: &DatasetConfig,
    opts: &RecoverOptions,
) -> Result<RecoverOutcome, ApplyError> {
    store.ensure_state_schema()?;
    let mut holder = lease_holder();
    holder.max_duration = opts.run.max_duration;
    let lock = LockRequest {
        dataset_id: &dataset.dataset_id,
        holder,
        wait: opts.run.lock_wait,
        command: "recover",
        publish_budget: opts.run.publish_budget,
    };
    under_dataset_lock(store, sink, &lock, |store, sink| {
        recover_locked(store, sink, dataset, opts)
    })?
}

fn recover_locked(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    dataset: &DatasetConfig,
    opts: &RecoverOptions,
) -> Result<RecoverOutcome, ApplyError> {
    let Some(stored) = store.read_state(&dataset.dataset_id)? else {
        return Err(ApplyError::Refused(
            ErrorCode::NothingToRecover,
            format!(
                "dataset {} has no state yet; nothing to recover",
                dataset.dataset_id
            ),
        ));
    };
    check_identity(dataset, &stored)?;
    let s = &stored.state;
    let Some(failure) = s
        .last_failure
        .clone()
        .filter(|_| s.attempted_version != s.deployed_version)
    else {
        return Err(ApplyError::Refused(
            ErrorCode::NothingToRecover,
            format!(
                "dataset {} has no failed run to recover (deployed {}); see `depot-migrate status`",
                dataset.dataset_id,
                s.deployed_version.as_deref().unwrap_or("nothing")
            ),
        ));
    };
    let sub = match stored.submission.as_deref() {
        Some(t) => Submission::parse(t)?,
        None => {
            return Err(ApplyError::Refused(
                ErrorCode::NoSubmission,
                format!(
                    "dataset {} has no stored submission for its failed run; apply or submit again",
                    dataset.dataset_id
                ),
            ))
        }
    };
    if Some(&sub.version) != s.attempted_version.as_ref() {
        return Err(ApplyError::Refused(
            ErrorCode::StalePlan,
            format!(
                "the stored submission ({}) is not the failed version ({}); submit again",
                sub.version,
                s.attempted_version.as_deref().unwrap_or("none")
            ),
        ));
    }
    let recovery = json!({
        "resolve": opts.resolve.as_str(),
        "reason": opts.reason,
        "actor": actor(),
        "at": now(),
        "forced": opts.force,
        "failure": failure,
    });
    let from = deployed_package(&stored, dataset.engine)?;
    let to = sub.package()?;
    let r = Recovering {
        dataset,
        opts,
        stored: &stored,
        sub: &sub,
        recovery,
        from,
        to,
    };
    match opts.resolve {
        Resolve::Deployed | Resolve::RolledBack => recover_in_place(store, sink, r),
        Resolve::Retry => recover_retry(store, sink, r),
    }
}

/// A failed run being recovered, checked: its state and submission, the `recovery`
/// object, and the packages before (deployed) and after (submitted) the run.
struct Recovering<'a> {
    dataset: &'a DatasetConfig,
    opts: &'a RecoverOptions,
    stored: &'a StoredState,
    sub: &'a Submission,
    recovery: Value,
    from: Option<Package>,
    to: Package,
}

/// `--resolve deployed|rolled-back`: unless forced, the database must show the version
/// chosen, which is then recorded as deployed; nothing runs.
fn recover_in_place(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    r: Recovering<'_>,
) -> Result<RecoverOutcome, ApplyError> {
    let Recovering {
        dataset,
        opts,
        stored,
        sub,
        recovery,
        from,
        to,
    } = r;
    let s = &stored.state;
    let (version, package, pkg_json, plan_hash) = if opts.resolve == Resolve::Deployed {
        (
            sub.version.clone(),
            Some(&to),
            json_text("the deployed package", &sub.package)?,
            sub.plan.plan_hash.clone(),
        )
    } else {
        let Some(old) = s.deployed_version.clone() else {
            return Err(ApplyError::Refused(ErrorCode::NoPreviousVersion,
                "nothing was deployed before this run, so there is no old version to roll back to; use --resolve retry, or --resolve deployed once the change is in place".into(),
            ));
        };
        (
            old,
            from.as_ref(),
            stored.deployed_package.clone().unwrap_or_default(),
            stored.deployed_plan_hash.clone().unwrap_or_default(),
        )
    };
    if !opts.force {
        let actual = store.catalog(&dataset.schema)?;
        let expected = expected_catalog(store, &sub.dataset, package, None)?;
        if actual != expected {
            return Err(ApplyError::Refused(ErrorCode::CatalogMismatch, format!(
                "the database's catalog is not version {version}: {}; fix the database or choose another resolution (--force skips this check)",
                catalog_diff(&actual, &expected)
            )));
        }
    }
    let events = Events::new(
        sub.context(s.deployed_version.clone()),
        &*sink,
        &sub.dataset,
    );
    let change = Change {
        ds: &sub.dataset,
        events: &events,
        run_id: &sub.run_id,
    };
    let mut st = s.clone();
    st.revision = s.revision + 1;
    st.synced = Some(now());
    st.desired_version = Some(version.clone());
    st.attempted_version = Some(version.clone());
    st.deployed_version = Some(version.clone());
    st.last_failure = None;
    let mut t = change.transition(
        st,
        s.revision,
        LifecycleEvent::Deployed,
        &version,
        json!({"recovery": recovery}),
        Because::recovery(Some(&recovery)),
    );
    t.deployed = Some((pkg_json, plan_hash));
    store.transition(&t)?;
    Ok(RecoverOutcome::Resolved(version))
}

/// `--resolve retry`: the same run again from the first step not journaled as done
/// (unless forced, the database must show exactly the steps done).
fn recover_retry(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    r: Recovering<'_>,
) -> Result<RecoverOutcome, ApplyError> {
    let Recovering {
        dataset,
        opts,
        stored,
        sub,
        recovery,
        from,
        to,
    } = r;
    let replan = plan(from.as_ref(), &to, &sub.dataset)
        .map_err(|e| ApplyError::Refused(ErrorCode::CannotPlan, format!("cannot plan: {e}")))?;
    if replan.plan_hash != sub.plan.plan_hash {
        return Err(ApplyError::Refused(ErrorCode::StalePlan, format!(
            "stale plan: the stored plan ({}) is not the plan from the deployed version to the submitted package ({}); submit again",
            sub.plan.plan_hash, replan.plan_hash
        )));
    }
    let done = match &stored.run_id {
        Some(run) => store.completed_steps(&dataset.dataset_id, run)?,
        None => Vec::new(),
    };
    // The steps done must be a prefix of the plan.
    let mut k = 0;
    while done.contains(&k) {
        k += 1;
    }
    let mut from_step = k;
    if !opts.force {
        let mut actual = store.catalog(&dataset.schema)?;
        // An index left INVALID by the failed concurrent build of step k: the step drops
        // it before it builds again (docs/indexes.md).
        if let Some(step) = sub
            .plan
            .steps
            .get(k)
            .filter(|s| !s.transactional && s.kind == "createIndex")
        {
            let name = step.key.rsplit('.').next().unwrap_or_default();
            let prefix = format!("index {name} ");
            let invalid: Vec<String> = actual
                .iter()
                .filter(|l| l.starts_with(&prefix) && l.ends_with(INVALID_MARK))
                .cloned()
                .collect();
            for line in invalid {
                eprintln!("note: index {name} was left INVALID by the failed concurrent build of step {k}; the retry drops it and builds it again");
                actual.remove(&line);
                // Its relation line goes with it.
                let relation = format!("relation {name} kind=i ");
                actual.retain(|l| !l.starts_with(&relation));
            }
        }
        let expected = expected_catalog(store, &sub.dataset, from.as_ref(), Some((&to, k)))?;
        if actual != expected {
            // A non-transactional step may have run without its journal row.
            let next = (k < sub.plan.steps.len())
                .then(|| expected_catalog(store, &sub.dataset, from.as_ref(), Some((&to, k + 1))))
                .transpose()?;
            if next.as_ref() == Some(&actual) {
                eprintln!("note: step {k} ran but was not journaled; resuming after it");
                from_step = k + 1;
            } else {
                return Err(ApplyError::Refused(ErrorCode::CatalogMismatch, format!(
                    "the {k} step(s) journaled as done are not what the database shows: {}; fix the database, or use --resolve deployed|rolled-back (--force resumes anyway)",
                    catalog_diff(&actual, &expected)
                )));
            }
        }
    }
    let mut run_opts = opts.run.clone();
    run_opts.expected_plan = None;
    let mode = match sub.dataset.mode() {
        MigrationMode::Synchronous => "synchronous",
        MigrationMode::Asynchronous => "asynchronous",
    };
    match execute(
        store,
        sink,
        RunRequest {
            sub,
            stored,
            opts: &run_opts,
            start: Start::Resume {
                from_step,
                recovery,
            },
            write_submission: false,
            mode,
        },
    )? {
        ApplyOutcome::Deployed { version, .. } | ApplyOutcome::AlreadyDeployed(version) => {
            Ok(RecoverOutcome::Deployed(version))
        }
    }
}

/// What `wait` sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitState {
    /// The version is deployed.
    Deployed,
    /// The version failed (or was superseded by another version).
    Failed(String),
    /// Another version is wanted now (whether or not this one was ever deployed).
    Superseded(String),
    /// Not yet.
    Pending,
}

/// Where a version stands in a state.
pub fn wait_state(stored: Option<&StoredState>, version: &str) -> WaitState {
    let Some(stored) = stored else {
        return WaitState::Pending;
    };
    let s = &stored.state;
    if s.deployed_version.as_deref() == Some(version) {
        return WaitState::Deployed;
    }
    if stored.submitted_revision == Some(s.revision)
        && s.desired_version.as_deref() == Some(version)
    {
        return WaitState::Pending;
    }
    if s.attempted_version.as_deref() == Some(version) {
        if let Some(f) = &s.last_failure {
            return WaitState::Failed(format!(
                "version {version} failed ({}: {})",
                f.class, f.message
            ));
        }
    }
    if s.desired_version.is_some() && s.desired_version.as_deref() != Some(version) {
        return WaitState::Superseded(format!(
            "version {version} was superseded: the dataset now wants {}",
            s.desired_version.as_deref().unwrap_or("?")
        ));
    }
    WaitState::Pending
}

/// The `get-dataset` shape of the Depot migrations observability page plus `phase`.
pub fn status_json(
    dataset: &DatasetConfig,
    stored: Option<&StoredState>,
    lease_held: bool,
) -> Value {
    let state = stored.map(|s| s.state.clone()).unwrap_or_default();
    let phase = depot_migrate_core::lifecycle::phase(&state, lease_held);
    // A run whose executor is gone before anything recorded its outcome (a crash the
    // watchdog has not seen yet): failed as far as anyone can tell, but unconfirmed.
    // `status` stays the Depot page's field (`RUNNING` while the dataset exists);
    // `phase` and `lastFailure` say how the dataset really is.
    let last_failure = match &state.last_failure {
        Some(f) => json!(f),
        None if phase == depot_migrate_core::lifecycle::Phase::Failed => json!({
            "class": "unconfirmed",
            "recorded": false,
            "message": format!(
                "the run {} of version {} holds no lock and recorded no outcome: its executor is gone (crashed or killed); `depot-migrate watchdog` or the next run records it as failed",
                stored.and_then(|s| s.run_id.clone()).unwrap_or_else(|| "?".into()),
                state.attempted_version.as_deref().unwrap_or("?")
            ),
        }),
        None => Value::Null,
    };
    json!({
        "id": dataset.dataset_id,
        "alias": state.alias.or_else(|| dataset.dataset_alias.clone()),
        "version": state.revision,
        "synced": state.synced,
        "status": if stored.is_some() { Some("RUNNING") } else { None },
        "desiredVersion": state.desired_version,
        "attemptedVersion": state.attempted_version,
        "deployedVersion": state.deployed_version,
        "phase": phase,
        "deployedPlanHash": stored.and_then(|s| s.deployed_plan_hash.clone()),
        "lastFailure": last_failure,
        "recorded": stored.is_some(),
    })
}
