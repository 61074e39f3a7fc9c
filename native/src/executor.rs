//! The synchronous lifecycle (DESIGN.md, "State, lifecycle and events"): one update sets
//! desired = attempted = new (no `desired` event) and emits `attempted`; the steps and
//! `deployedVersion` commit together and emit `deployed`; a failure emits `failed` with
//! its record. Commits in that order, each with its outbox row.

use crate::events::{publish_pending, EventSink};
use crate::store::{
    HistoryEntry, LeaseHolder, MigrateError, Store, StoreError, StoredState, Transition,
};
use depot_migrate_core::lifecycle::{
    envelope, event_detail, DatasetState, EventContext, FailureRecord, LifecycleEvent,
};
use depot_migrate_core::plan::{plan, Plan};
use depot_migrate_core::{load, version_hash, DatasetConfig, Engine, Package};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

/// How the database URL was chosen and what it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A SQLite file.
    Sqlite(String),
    /// A PostgreSQL URL.
    Postgres(String),
}

/// Resolves `--db`, then `DEPOT_DATABASE_URL`, then (SQLite datasets only) the embedded
/// `sqlite:depot.sqlite`. A URL whose scheme does not fit the engine is an error: a
/// Postgres dataset never silently lands in a local file.
pub fn resolve_db(arg: Option<&str>, engine: Engine) -> Result<DbTarget, String> {
    let env = std::env::var("DEPOT_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty());
    let url = match (arg, env) {
        (Some(a), _) => a.to_string(),
        (None, Some(e)) => e,
        (None, None) if engine == Engine::Sqlite => "sqlite:depot.sqlite".to_string(),
        (None, None) => {
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
        DbTarget::Sqlite(path.to_string())
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        DbTarget::Postgres(url.clone())
    } else {
        return Err(format!(
            "unsupported database URL scheme in {}; use sqlite:FILE or postgres://…",
            crate::store::redact_url(&url)
                .split("://")
                .next()
                .unwrap_or("?")
        ));
    };
    match (engine, &target) {
        (Engine::Sqlite, DbTarget::Sqlite(_)) | (Engine::Postgres | Engine::AuroraPostgresql, DbTarget::Postgres(_)) => Ok(target),
        (Engine::Snowflake, _) => Err("apply on Snowflake is not supported yet (see the Snowflake execution issue); use `plan --format sql` and run it in a worksheet".into()),
        (e, _) => Err(format!("the database URL does not fit the dataset's engine {}; pass a {} URL", e.as_str(), if e == Engine::Sqlite { "sqlite:FILE" } else { "postgres://" })),
    }
}

/// Opens the store for a target.
pub fn open_store(target: &DbTarget) -> Result<Box<dyn Store>, StoreError> {
    Ok(match target {
        DbTarget::Sqlite(path) => Box::new(crate::store::sqlite::SqliteStore::open(path)?),
        DbTarget::Postgres(url) => Box::new(crate::store::postgres::PostgresStore::connect(url)?),
    })
}

/// Knobs of an apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// How long to wait for another executor's lock.
    pub lock_wait: Duration,
    /// Postgres `lock_timeout` for DDL.
    pub lock_timeout: Duration,
    /// Retries of the migration transaction after a lock timeout.
    pub retries: u32,
    /// A plan made earlier (e.g. at synth) that must match the recomputed one.
    pub expected_plan: Option<Plan>,
    /// `environmentUri` of the events (the plan's location).
    pub environment_uri: Option<String>,
    /// How long to try publishing events before leaving them to `events flush`.
    pub publish_budget: Duration,
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
    /// Refused before anything ran (exit 3).
    Refused(String),
    /// The migration failed; `failed` was recorded (exit 1).
    Failed(Box<FailureRecord>),
    /// Infrastructure error (exit 1).
    Store(String),
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::LockHeld { .. } | StoreError::Conflict { .. } => {
                ApplyError::Refused(e.to_string())
            }
            StoreError::Db(m) => ApplyError::Store(m),
        }
    }
}

/// RFC 3339 time now.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Who is acting: user@host and the CI job, when known.
pub fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let job = ci_job()
        .map(|j| format!(" (CI job {j})"))
        .unwrap_or_default();
    format!("{user}@{}{job}", host())
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

fn ci_job() -> Option<String> {
    [
        "CI_JOB_ID",
        "GITHUB_RUN_ID",
        "CODEBUILD_BUILD_ID",
        "BUILD_ID",
    ]
    .iter()
    .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// The lease holder for this process.
pub fn lease_holder() -> LeaseHolder {
    LeaseHolder {
        host: host(),
        pid: std::process::id(),
        ci_job: ci_job(),
        token: uuid::Uuid::new_v4().to_string(),
    }
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

struct Events {
    ctx: EventContext,
    on: bool,
}

impl Events {
    fn outbox(
        &self,
        event: LifecycleEvent,
        version: &str,
        revision: i64,
        at: &str,
        error: Option<&FailureRecord>,
    ) -> Option<(String, Value)> {
        if !self.on {
            return None;
        }
        let event_id = uuid::Uuid::new_v4().to_string();
        let detail = event_detail(&self.ctx, event, version, &event_id, revision, error, None);
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
    let holder = lease_holder();
    store.lock(&dataset.dataset_id, &holder, opts.lock_wait)?;
    let result = apply_locked(store, sink, package, package_json, dataset, opts);
    let _ = store.unlock(&dataset.dataset_id);
    // Whatever happened, try to publish what is pending (bounded).
    if sink.enabled() {
        let _ = publish_pending(store, sink, Some(&dataset.dataset_id), opts.publish_budget);
    }
    result
}

fn apply_locked(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    package: &Package,
    package_json: String,
    dataset: &DatasetConfig,
    opts: &ApplyOptions,
) -> Result<ApplyOutcome, ApplyError> {
    let stored = store.read_state(&dataset.dataset_id)?.unwrap_or_default();
    let to_version = version_hash(package, dataset).as_str().to_string();
    let s = &stored.state;
    if s.deployed_version.as_deref() == Some(&to_version)
        && s.desired_version == s.deployed_version
        && s.attempted_version == s.deployed_version
    {
        return Ok(ApplyOutcome::AlreadyDeployed(to_version));
    }
    if let Some(f) = &s.last_failure {
        if !f.rolled_back {
            return Err(ApplyError::Refused(format!(
                "the last migration of dataset {} failed after steps had committed ({}); nothing runs until `depot-migrate recover --dataset … --resolve deployed|rolled-back|retry --reason …`",
                dataset.dataset_id,
                f.committed_steps.join(", ")
            )));
        }
    }
    let from = deployed_package(&stored, dataset.engine)?;
    let plan = plan(from.as_ref(), package, dataset)
        .map_err(|e| ApplyError::Refused(format!("cannot plan: {e}")))?;
    let disallowed = plan.disallowed(dataset);
    if !disallowed.is_empty() {
        return Err(ApplyError::Refused(format!(
            "the plan has destructive steps the dataset config does not allow; to allow them add {} to \"allowDestructive\"",
            disallowed.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
        )));
    }
    if let Some(expected) = &opts.expected_plan {
        if expected.plan_hash != plan.plan_hash
            || expected.engine != plan.engine
            || expected.dataset_id != plan.dataset_id
        {
            return Err(ApplyError::Refused(format!(
                "stale plan: the given plan (planHash {}, {} {}) is not the plan from the deployed version ({}) to this package (planHash {}); make the plan again",
                expected.plan_hash,
                expected.engine,
                expected.dataset_id,
                s.deployed_version.as_deref().unwrap_or("nothing deployed"),
                plan.plan_hash
            )));
        }
    }

    let run_id = uuid::Uuid::new_v4().to_string();
    let events = Events {
        ctx: EventContext {
            environment_id: dataset.environment_id.clone(),
            dataset_id: dataset.dataset_id.clone(),
            dataset_alias: dataset.dataset_alias.clone().unwrap_or_default(),
            environment_uri: opts
                .environment_uri
                .clone()
                .unwrap_or_else(|| format!("urn:depot-migrate:plan:{}", plan.plan_hash)),
            engine: dataset.engine.as_str().to_string(),
            migration_mode: "synchronous".to_string(),
            run_id: run_id.clone(),
            previous_version_hash: s.deployed_version.clone(),
            plan_hash: Some(plan.plan_hash.clone()),
        },
        on: sink.enabled(),
    };
    let summary = json!({"planHash": plan.plan_hash, "steps": plan.steps.len(), "destructive": plan.destructive, "from": s.deployed_version});
    let base = |revision: i64, at: &str| DatasetState {
        dataset_id: dataset.dataset_id.clone(),
        alias: dataset.dataset_alias.clone(),
        revision,
        synced: Some(at.to_string()),
        desired_version: Some(to_version.clone()),
        attempted_version: Some(to_version.clone()),
        deployed_version: s.deployed_version.clone(),
        last_failure: None,
    };
    let transition = |state: DatasetState,
                      expected: i64,
                      event: LifecycleEvent,
                      at: &str,
                      detail: Value,
                      error: Option<&FailureRecord>,
                      deployed: Option<(String, String)>| Transition {
        expected_revision: expected,
        outbox: events.outbox(event, &to_version, state.revision, at, error),
        state,
        environment_id: dataset.environment_id.clone(),
        engine: dataset.engine.as_str().to_string(),
        schema: dataset.schema.clone(),
        deployed,
        history: HistoryEntry {
            at: at.to_string(),
            event: event.as_str().to_string(),
            version: Some(to_version.clone()),
            run_id: run_id.clone(),
            actor: actor(),
            reason: None,
            detail,
        },
    };

    // (1) desired = attempted = new, `attempted`, committed and published before any DDL.
    let at = now();
    let r1 = s.revision + 1;
    store.transition(&transition(
        base(r1, &at),
        s.revision,
        LifecycleEvent::Attempted,
        &at,
        summary.clone(),
        None,
        None,
    ))?;
    if sink.enabled() {
        let _ = publish_pending(store, sink, Some(&dataset.dataset_id), opts.publish_budget);
    }

    // (2) the steps + deployedVersion + `deployed`, in one transaction, retried after a
    // lock timeout.
    let mut attempt = 0;
    loop {
        let at = now();
        let mut deployed_state = base(r1 + 1, &at);
        deployed_state.deployed_version = Some(to_version.clone());
        let t2 = transition(
            deployed_state,
            r1,
            LifecycleEvent::Deployed,
            &at,
            summary.clone(),
            None,
            Some((package_json.clone(), plan.plan_hash.clone())),
        );
        let total = plan.steps.len();
        let mut progress = |step: &depot_migrate_core::plan::Step| {
            eprintln!(
                "[{}/{total}] {} ({})",
                step.index + 1,
                step.summary,
                step.key
            );
        };
        match store.migrate(
            &dataset.dataset_id,
            &run_id,
            &plan.steps,
            opts.lock_timeout,
            &t2,
            &mut progress,
        ) {
            Ok(()) => {
                return Ok(ApplyOutcome::Deployed {
                    version: to_version,
                    plan,
                })
            }
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
            Err(e) => {
                // (3) record the failure and its `failed` event in a separate transaction.
                let record = match e {
                    MigrateError::Step(f) => f.record.clone(),
                    MigrateError::Store(StoreError::LockHeld { .. }) => FailureRecord {
                        class: "leaseLost".into(),
                        message:
                            "another executor took over this run's lease; nothing was committed"
                                .into(),
                        rolled_back: true,
                        ..FailureRecord::default()
                    },
                    MigrateError::Store(se) => FailureRecord {
                        class: "connection".into(),
                        message: se.to_string(),
                        rolled_back: true,
                        ..FailureRecord::default()
                    },
                };
                let at = now();
                let mut failed_state = base(r1 + 1, &at);
                failed_state.last_failure = Some(record.clone());
                let detail = json!({"plan": summary, "failure": record});
                let t3 = transition(
                    failed_state,
                    r1,
                    LifecycleEvent::Failed,
                    &at,
                    detail,
                    Some(&record),
                    None,
                );
                // The failure may have taken the connection with it: record it on a
                // fresh one.
                if let Err(first) = store.transition(&t3) {
                    eprintln!("warning: recording the failure failed ({first}); retrying on a new connection");
                    store.reconnect()?;
                    store.transition(&t3)?;
                }
                return Err(ApplyError::Failed(Box::new(record)));
            }
        }
    }
}

/// The seed's `get-dataset` shape plus `phase`.
pub fn status_json(
    dataset: &DatasetConfig,
    stored: Option<&StoredState>,
    lease_held: bool,
) -> Value {
    let state = stored.map(|s| s.state.clone()).unwrap_or_default();
    let phase = depot_migrate_core::lifecycle::phase(&state, lease_held);
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
        "lastFailure": state.last_failure,
    })
}
