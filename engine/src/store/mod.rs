//! State stores: where the executor keeps a dataset's desired / attempted / deployed
//! versions, the deployed package snapshot, history, the step journal, the lease and the
//! event outbox, in the target database itself (schema `depot_migrate` on Postgres,
//! tables `depot_migrate_*` on SQLite, schema `DEPOT_MIGRATE` on Snowflake). One small
//! trait, one thin impl per engine.
//!
//! # What a store must provide (and what it may lack)
//!
//! The executor needs two ways to run a plan:
//!
//! - **one transaction** ([`Store::migrate`]): every step, the journal rows and the final
//!   transition commit together or not at all. Only for engines with transactional DDL
//!   ([`Store::transactional_ddl`]) and plans whose steps are all `transactional`.
//! - **step by step** ([`Store::run_step`]): each step on its own, journaled as done when
//!   it has taken effect, the lease checked (fencing) before each one and renewed
//!   ([`Store::renew_lease`]) between them. This is the path of every non-transactional
//!   step (all Snowflake DDL, any non-transactional Postgres statement) and of
//!   `--step-by-step`. After a failure or a crash the journal
//!   ([`Store::completed_steps`]) says where `recover --resolve retry` resumes, and the
//!   catalog ([`Store::catalog`], compared with [`Store::scratch_catalog`]) proves that
//!   the steps journaled as done really are in place.
//!
//! Locks: where the engine has session locks (Postgres advisory locks) they are the
//! liveness signal; where it has none (Snowflake), the lease row alone is the lock,
//! taken and renewed by compare-and-set on its token and expiry, and a lease whose
//! heartbeat stopped is lost. Either way the lease row carries the holder, its fencing
//! token and the run's deadline (`maxDuration`), which is how `watchdog` tells a crashed
//! executor (lease lost) from a hung one (past its deadline) from a healthy one.

mod inspect_pg;
mod inspect_sqlite;
pub mod postgres;
pub mod snowflake;
pub(crate) mod sql;
pub mod sqlite;

use depot_migrate_core::lifecycle::{DatasetState, FailureClass, FailureRecord};
use depot_migrate_core::plan::Step;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// The version of the state tables' own layout. Creating or upgrading them is versioned
/// in the `meta` table. Version 2 adds the submission (`submission`,
/// `submitted_revision`) and the current run (`run_id`) to the state row. Version 3 adds
/// each outbox row's destination (`destination`: `stdout`, `jsonl:PATH`,
/// `eventbridge:BUS`), recorded when the row is written; rows written before it have
/// none (see [`DestinationFilter`]).
pub const STATE_SCHEMA_VERSION: i64 = 3;

/// What a dataset's state row records about the dataset itself, written when the row is
/// first inserted and compared with the dataset config by every command that reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `environmentId`.
    pub environment_id: String,
    /// Engine id.
    pub engine: String,
    /// Database schema.
    pub schema: String,
}

/// Which outbox rows a publisher takes: those recorded for `value` (exactly, or every
/// destination starting with it when `prefix`), and, when `legacy`, rows written before
/// destinations were recorded (layout 2), whose destination is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationFilter {
    /// The destination, or its prefix.
    pub value: String,
    /// Whether `value` is a prefix.
    pub prefix: bool,
    /// Whether rows without a recorded destination match.
    pub legacy: bool,
}

impl DestinationFilter {
    /// Whether a row recorded for `destination` matches.
    pub fn matches(&self, destination: Option<&str>) -> bool {
        match destination {
            None => self.legacy,
            Some(d) if self.prefix => d.starts_with(&self.value),
            Some(d) => d == self.value,
        }
    }
}

/// An unpublished outbox row: its id, the destination recorded for it, its envelope.
pub type PendingRow = (i64, Option<String>, Value);

/// An event handed to a publisher: the destination recorded for it, its envelope.
pub type Outgoing = (Option<String>, Value);

/// A stored dataset state with what the executor needs beyond the fields of the observability page (docs/design.md).
#[derive(Debug, Clone, Default)]
pub struct StoredState {
    /// The lifecycle state.
    pub state: DatasetState,
    /// The package deployed now (JSON text), the base of the next plan.
    pub deployed_package: Option<String>,
    /// The `planHash` of the plan that deployed it.
    pub deployed_plan_hash: Option<String>,
    /// The last submission (JSON text of [`crate::executor::Submission`]: dataset config,
    /// package and plan of the desired version, its run id), written by `submit` and by a
    /// synchronous `apply`; what a worker executes and what `recover` resumes.
    pub submission: Option<String>,
    /// The revision the last `submit` created: while it equals `state.revision`, the
    /// submission is scheduled and nothing has happened since (what `worker --poll`
    /// looks for, and what a `desired` event's revision must match).
    pub submitted_revision: Option<i64>,
    /// The run that last set `attemptedVersion` (the journal's run id).
    pub run_id: Option<String>,
    /// The identity recorded when the row was inserted.
    pub identity: Identity,
}

/// One state change: a compare-and-set on the revision, with its history row and, unless
/// events are off, its outbox row, all in one transaction.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The revision the change expects to find (0: the dataset has no state row yet).
    pub expected_revision: i64,
    /// The new state (its revision is `expected_revision + 1`).
    pub state: DatasetState,
    /// Identity columns, written on insert.
    pub environment_id: String,
    /// Engine id.
    pub engine: String,
    /// Database schema.
    pub schema: String,
    /// New deployed package snapshot and plan hash, when the change deploys.
    pub deployed: Option<(String, String)>,
    /// History row.
    pub history: HistoryEntry,
    /// Outbox row (event id, envelope), unless events are off.
    pub outbox: Option<(String, Value)>,
    /// Where the outbox row is meant to go (`stdout`, `jsonl:PATH`, `eventbridge:BUS`).
    pub outbox_destination: Option<String>,
    /// New submission (JSON text), written when `Some`.
    pub submission: Option<String>,
    /// Whether this change schedules the submission (`submitted_revision` becomes the
    /// new revision); otherwise `submitted_revision` is left as it is.
    pub scheduled: bool,
    /// The run now attempting the desired version, written when `Some`.
    pub run_id: Option<String>,
}

/// A history row: who changed what, and why.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// When (RFC 3339).
    pub at: String,
    /// The lifecycle event or action (`attempted`, `deployed`, `failed`, `recovered`).
    pub event: String,
    /// The version concerned.
    pub version: Option<String>,
    /// The run.
    pub run_id: String,
    /// Who: user@host, CI job.
    pub actor: String,
    /// Why (recoveries).
    pub reason: Option<String>,
    /// Everything else (failure record, plan summary), kept whole.
    pub detail: Value,
}

/// Who holds an executor lease.
#[derive(Debug, Clone)]
pub struct LeaseHolder {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// CI job id, when known.
    pub ci_job: Option<String>,
    /// The fencing token of this holder.
    pub token: String,
    /// How long the run may take (`maxDuration`); the lease records the deadline
    /// (`start + max_duration`) so that `watchdog` can tell a hung executor.
    pub max_duration: Option<Duration>,
}

impl LeaseHolder {
    /// The holder as stored in the lease row (`host`, `pid`, `ciJob`, and, with a
    /// `maxDuration`, `deadline` in Unix seconds and `maxDurationSeconds`). Stores may add
    /// members of their own (Postgres adds `backendPid`).
    pub fn to_json(&self, now_unix: i64) -> Value {
        let mut v = serde_json::json!({"host": self.host, "pid": self.pid, "ciJob": self.ci_job});
        if let Some(d) = self.max_duration {
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2);
            v["maxDurationSeconds"] = serde_json::json!(secs);
            v["deadline"] = serde_json::json!(now_unix.saturating_add(secs));
        }
        v
    }
}

/// A lease as stored: who holds it, since when, until when.
#[derive(Debug, Clone)]
pub struct LeaseInfo {
    /// The holder JSON ([`LeaseHolder::to_json`] plus the store's own members).
    pub holder: Value,
    /// The holder's fencing token.
    pub token: String,
    /// When it was taken (RFC 3339).
    pub started: String,
    /// The run's deadline (Unix seconds), when it has a `maxDuration`.
    pub deadline: Option<i64>,
}

impl LeaseInfo {
    /// A lease from its stored columns (holder JSON text, token, start).
    pub fn from_row(holder: Value, token: String, started: String) -> LeaseInfo {
        let deadline = holder["deadline"].as_i64();
        LeaseInfo {
            holder,
            token,
            started,
            deadline,
        }
    }
}

/// A lease holder for people: " (held by pid P on host H (CI job J) since T; its run
/// may last until D)", times in ISO 8601 UTC. `holder` is the stored holder JSON text.
pub fn describe_holder(holder: &str, started: Option<&str>) -> String {
    let Ok(h) = serde_json::from_str::<Value>(holder) else {
        return String::new();
    };
    let mut out = format!(
        " (held by pid {} on host {}",
        h["pid"],
        h["host"].as_str().unwrap_or("?")
    );
    if let Some(job) = h["ciJob"].as_str() {
        out.push_str(&format!(", CI job {job}"));
    }
    if let Some(t) = started {
        out.push_str(&format!(", since {t}"));
    }
    if let Some(d) = h["deadline"].as_i64().and_then(|d| u64::try_from(d).ok()) {
        let at = std::time::UNIX_EPOCH + Duration::from_secs(d);
        out.push_str(&format!(
            "; its run may last until {}",
            humantime::format_rfc3339_seconds(at)
        ));
    }
    out.push(')');
    out
}

pub use crate::clock::now_unix;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another executor holds the dataset's lock.
    #[error("another executor holds the lock of dataset {dataset}{holder}; wait for it, or raise --lock-wait")]
    LockHeld {
        /// Dataset id.
        dataset: String,
        /// Who holds it, when known.
        holder: String,
    },
    /// The state changed under us (compare-and-set failed).
    #[error("the state of dataset {dataset} changed while this run was working (expected revision {expected}); run again")]
    Conflict {
        /// Dataset id.
        dataset: String,
        /// The revision we expected.
        expected: i64,
    },
    /// The database said no.
    #[error("{0}")]
    Db(String),
    /// The database refused the credentials from the environment: bad input (exit 2),
    /// nothing ran.
    #[error("{0}")]
    Credentials(String),
}

/// `value` as JSON text for the state tables or a submission. A value that does not
/// serialize is an error, never an empty text that would be stored (or hashed) silently.
pub fn json_text<T: serde::Serialize + ?Sized>(
    what: &str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Db(format!("cannot write {what} as JSON: {e}")))
}

impl StoreError {
    /// The stable code of this error (`docs/errors.md`, "Runtime errors").
    pub fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            StoreError::LockHeld { .. } => ErrorCode::LockHeld,
            StoreError::Conflict { .. } => ErrorCode::StateChanged,
            StoreError::Db(_) => ErrorCode::Store,
            StoreError::Credentials(_) => ErrorCode::Credentials,
        }
    }
}

/// How [`Store::catalog`] ends the line of an index that a failed or killed concurrent
/// build left INVALID (Postgres `pg_index.indisvalid = false`).
pub const INVALID_MARK: &str = " INVALID";

/// A step that failed, and where.
#[derive(Debug, Clone)]
pub struct StepFailure {
    /// The failure record (class, step, statement, SQLSTATE, message).
    pub record: FailureRecord,
    /// Whether retrying may help (lock timeout).
    pub retryable: bool,
}

/// What an executor needs from a database.
pub trait Store {
    /// Creates or upgrades the state tables (idempotent; versioned). Checked once per
    /// store: after the first success a call does nothing, so the lifecycle operations
    /// that need the tables can each ask for them without a round trip.
    fn ensure_state_schema(&mut self) -> Result<(), StoreError>;
    /// Takes the dataset's executor lock, waiting up to `wait`.
    fn lock(
        &mut self,
        dataset_id: &str,
        holder: &LeaseHolder,
        wait: Duration,
    ) -> Result<(), StoreError>;
    /// Releases the lock.
    fn unlock(&mut self, dataset_id: &str) -> Result<(), StoreError>;
    /// The stored state, if the dataset has one.
    fn read_state(&mut self, dataset_id: &str) -> Result<Option<StoredState>, StoreError>;
    /// Applies a state change as a compare-and-set.
    fn transition(&mut self, t: &Transition) -> Result<(), StoreError>;
    /// Runs the steps and then the final transition in one transaction (rolled back
    /// whole on any error), journaling each step, with `lock_timeout` for DDL.
    fn migrate(
        &mut self,
        dataset_id: &str,
        run_id: &str,
        steps: &[Step],
        lock_timeout: Duration,
        then: &Transition,
        progress: &mut dyn FnMut(&Step),
    ) -> Result<(), MigrateError>;
    /// Unpublished events, oldest first, with the destination recorded for each.
    fn pending_events(
        &mut self,
        dataset_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PendingRow>, StoreError>;
    /// Claims up to `limit` of the oldest unpublished events that `filter` matches (one
    /// publisher at a time, so each event goes out once and in order), hands them to
    /// `publish` with their destinations, and marks the prefix it reports as published,
    /// all in one transaction. `Ok(None)`: another publisher holds the claim (and will
    /// publish these too).
    fn publish_claimed(
        &mut self,
        dataset_id: Option<&str>,
        filter: &DestinationFilter,
        limit: usize,
        publish: &mut dyn FnMut(&[Outgoing]) -> usize,
    ) -> Result<Option<(usize, usize)>, StoreError>;
    /// Whether this database holds depot-migrate's state tables, found without creating
    /// or changing anything (the read-only commands' first question).
    fn has_state(&mut self) -> Result<bool, StoreError>;
    /// Opens a fresh connection after the old one was lost (no-op where there is none).
    fn reconnect(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// The dataset's history, oldest first.
    fn history(&mut self, dataset_id: &str) -> Result<Vec<Value>, StoreError>;
    /// Whether another executor holds the dataset's lock now.
    fn lock_held_elsewhere(&mut self, dataset_id: &str) -> Result<bool, StoreError>;

    // --- Step-by-step execution, failure detection and recovery (docs/async-and-recovery.md). ---

    /// Whether DDL can run inside a transaction that rolls back whole (Postgres, SQLite:
    /// yes; Snowflake: no, so every plan runs step by step through [`Store::run_step`]).
    fn transactional_ddl(&self) -> bool {
        true
    }
    /// Runs ONE step outside any surrounding transaction and journals it as done
    /// (`status = 'done'`, keyed by dataset, run and step index) once it has taken
    /// effect. Before running, checks that this store's lease is still the current one
    /// (fencing: `Err(MigrateError::Store(StoreError::LockHeld))` otherwise, and nothing
    /// runs). A `transactional` step runs with its journal row in one transaction where
    /// the engine allows it, so a failed step leaves nothing; a non-transactional one
    /// runs statement by statement, then the journal row is written (a crash in between
    /// leaves a step that ran but is not journaled: `recover --resolve retry` finds it in
    /// the catalog). On failure the record's `rolled_back` says whether the failed step
    /// itself left nothing behind; the executor fills `committed_steps` from the journal.
    /// Where the engine has a lock timeout, `lock_timeout` applies to the step's DDL.
    fn run_step(
        &mut self,
        dataset_id: &str,
        run_id: &str,
        step: &Step,
        lock_timeout: Duration,
    ) -> Result<(), MigrateError>;
    /// Indexes of the steps journaled as done in a run, ascending, without duplicates.
    fn completed_steps(&mut self, dataset_id: &str, run_id: &str)
        -> Result<Vec<usize>, StoreError>;
    /// The dataset's lease row, if any (whether or not its holder is alive).
    fn lease(&mut self, dataset_id: &str) -> Result<Option<LeaseInfo>, StoreError>;
    /// Renews this store's lease (heartbeat; where the lease expires, a new expiry).
    /// `Err(StoreError::LockHeld)` when the lease is no longer ours (revoked by
    /// `watchdog` or `recover`, or taken over after it expired): the caller must stop.
    fn renew_lease(&mut self, dataset_id: &str) -> Result<(), StoreError>;
    /// Removes the lease row if it still carries `token` (a hung executor's lease, after
    /// `watchdog` recorded its failure): its next fencing check fails, so it can never
    /// commit. Returns whether a row was removed. A session lock the hung process holds
    /// (Postgres) stays until that process ends.
    fn revoke_lease(&mut self, dataset_id: &str, token: &str) -> Result<bool, StoreError>;
    /// Every dataset with a state row in this database (for `worker --poll` and
    /// `watchdog`).
    fn dataset_ids(&mut self) -> Result<Vec<String>, StoreError>;
    /// The catalog of the dataset's schema, as a set of normalized lines that do not
    /// name the schema itself (tables, columns with type, nullability and default,
    /// constraints, indexes, comments where the engine has them), so it can be compared
    /// with [`Store::scratch_catalog`].
    fn catalog(&mut self, schema: &str) -> Result<BTreeSet<String>, StoreError>;
    /// The catalog that `build(scratch_schema)`'s statements create in an empty scratch
    /// schema (or scratch database) that is thrown away afterwards, in the same
    /// normalized form as [`Store::catalog`]. The executor plans into the scratch schema
    /// (`plan(null, A)` plus the steps journaled as done) to know what the real schema
    /// must look like.
    fn scratch_catalog(
        &mut self,
        build: &dyn Fn(&str) -> Vec<String>,
    ) -> Result<BTreeSet<String>, StoreError>;
    /// The schema's catalog as rows for `inspect`
    /// ([`depot_migrate_core::inspect::package_from_catalog`] maps them to a package).
    /// Reads only.
    fn inspect(
        &mut self,
        _schema: &str,
    ) -> Result<depot_migrate_core::inspect::LiveCatalog, StoreError> {
        Err(StoreError::Db(
            "inspect cannot read this engine's catalog yet".into(),
        ))
    }
}

/// Why `migrate` failed.
#[derive(Debug)]
pub enum MigrateError {
    /// A step failed; the transaction rolled back.
    Step(Box<StepFailure>),
    /// The final state change found another revision; the transaction rolled back.
    Store(StoreError),
}

impl MigrateError {
    /// A statement of `step` failed inside the migration transaction, which rolled back:
    /// the failure record, with row values left out of the message.
    pub fn statement_failed(
        step: &Step,
        statement: &str,
        class: FailureClass,
        sqlstate: Option<String>,
        message: &str,
        retryable: bool,
    ) -> MigrateError {
        MigrateError::Step(Box::new(StepFailure {
            record: FailureRecord {
                class,
                step_index: Some(step.index),
                step_key: Some(step.key.clone()),
                statement: Some(statement.to_string()),
                sqlstate,
                message: without_values(message),
                committed_steps: Vec::new(),
                rolled_back: true,
                truncated: false,
            },
            retryable,
        }))
    }
}

/// Removes a URL's password from a message, wherever it appears.
pub fn scrub(message: &str, url: &str) -> String {
    let mut out = message.to_string();
    for password in passwords_of(url) {
        out = out.replace(&password, "***");
        if let Some(decoded) = percent_decoded(&password) {
            out = out.replace(&decoded, "***");
        }
    }
    if let Ok(p) = std::env::var("PGPASSWORD") {
        if !p.is_empty() {
            out = out.replace(&p, "***");
        }
    }
    out.replace(['\n', '\r'], " ")
}

/// Every password a connection string carries, whatever its form: the userinfo of a
/// URL (`scheme://user:pw@host`, also the typos `scheme:/user:pw@host` and
/// `scheme:user:pw@host`, up to the last `@`), and `password=` in a query string or a
/// libpq `key=value` string (quoted or not).
fn passwords_of(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((start, end)) = userinfo_password_span(url) {
        out.push(url[start..end].to_string());
    }
    for (start, end) in keyword_password_spans(url) {
        let v = url[start..end].trim_matches('\'');
        out.push(v.to_string());
        out.push(v.replace("\\'", "'").replace("\\\\", "\\"));
    }
    out.retain(|p| !p.is_empty());
    out
}

/// Byte range of the password in a URL's userinfo, if there is one.
fn userinfo_password_span(url: &str) -> Option<(usize, usize)> {
    // The authority ends at the query; the userinfo at its last `@` (an unescaped `@`
    // in a password is still hidden).
    let before_query = url.split('?').next().unwrap_or(url);
    let at = before_query.rfind('@')?;
    let colon = url.find(':')?;
    let mut start = colon + 1;
    while url[start..].starts_with('/') {
        start += 1;
    }
    if start >= at {
        return None;
    }
    let userinfo = &url[start..at];
    if url[..colon].contains(['@', ' ', '=']) {
        // No scheme (`user:pw@host`): everything after the first colon is the password.
        return Some((colon + 1, at)).filter(|(a, b)| a < b);
    }
    match userinfo.find(':') {
        Some(i) => Some((start + i + 1, at)),
        // `scheme:/user:pw@…` without `://` where the first colon was the scheme's, or
        // only a user: hide the whole userinfo unless it is a plain user name.
        None if url[colon..].starts_with("://") => None,
        None => Some((start, at)),
    }
}

/// Byte ranges of `password=` values (libpq `key=value` strings and query strings).
fn keyword_password_spans(url: &str) -> Vec<(usize, usize)> {
    let lower = url.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find("password") {
        let key_start = from + i;
        let mut j = key_start + "password".len();
        from = j;
        let boundary = key_start == 0 || !lower.as_bytes()[key_start - 1].is_ascii_alphanumeric();
        while lower[j..].starts_with(' ') {
            j += 1;
        }
        if !boundary || !lower[j..].starts_with('=') {
            continue;
        }
        j += 1;
        while lower[j..].starts_with(' ') {
            j += 1;
        }
        let start = j;
        let bytes = url.as_bytes();
        let end = if bytes.get(j) == Some(&b'\'') {
            // A quoted libpq value: up to the closing quote, backslash escapes allowed.
            let mut k = j + 1;
            while k < bytes.len() && bytes[k] != b'\'' {
                k += if bytes[k] == b'\\' { 2 } else { 1 };
            }
            (k + 1).min(bytes.len())
        } else {
            url[j..]
                .find([' ', '&', '\t', '\n'])
                .map_or(url.len(), |k| j + k)
        };
        if end > start {
            out.push((start, end));
        }
        from = end.max(from);
    }
    out
}

fn percent_decoded(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out)
        .ok()
        .filter(|d| d != s && !d.is_empty())
}

/// A database error message without the row values some messages quote (`invalid
/// input syntax for type date: "…"`): events and history must not carry data.
pub fn without_values(message: &str) -> String {
    match message.find(": \"") {
        Some(i) if message.ends_with('"') => format!("{}: (value omitted)", &message[..i]),
        _ => message.to_string(),
    }
}

/// A URL or connection string fit for logs and errors: every password replaced by
/// `***`, whatever the form (see [`scrub`]).
pub fn redact_url(url: &str) -> String {
    let mut spans = keyword_password_spans(url);
    spans.extend(userinfo_password_span(url));
    spans.sort_unstable();
    let mut out = String::with_capacity(url.len());
    let mut at = 0;
    for (start, end) in spans {
        if start < at {
            continue;
        }
        out.push_str(&url[at..start]);
        out.push_str("***");
        at = end;
    }
    out.push_str(&url[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_omitted() {
        assert_eq!(
            without_values("invalid input syntax for type date: \"abc\""),
            "invalid input syntax for type date: (value omitted)"
        );
        assert_eq!(
            without_values("could not create unique index \"i\""),
            "could not create unique index \"i\""
        );
    }

    #[test]
    fn passwords_never_survive() {
        let url = "postgres://app:s3cr%et@db.example:5432/x";
        assert_eq!(redact_url(url), "postgres://app:***@db.example:5432/x");
        assert_eq!(
            scrub("auth failed for s3cr%et\nline2", url),
            "auth failed for *** line2"
        );
        assert_eq!(redact_url("sqlite:depot.sqlite"), "sqlite:depot.sqlite");
    }

    #[test]
    fn passwords_in_any_form_are_hidden() {
        let cases = [
            (
                "host=h user=app password=hunter2 dbname=x",
                "host=h user=app password=*** dbname=x",
            ),
            (
                "host=h password = 'two words\\' x' dbname=x",
                "host=h password = *** dbname=x",
            ),
            ("postgres:/app:hunter2@h/db", "postgres:/app:***@h/db"),
            ("postgres:app:hunter2@h/db", "postgres:app:***@h/db"),
            ("postgres:/hunter2@h/db", "postgres:/***@h/db"),
            ("postgres://app:hun@ter2@h/db", "postgres://app:***@h/db"),
            (
                "postgres://app@h/db?password=hunter2&sslmode=require",
                "postgres://app@h/db?password=***&sslmode=require",
            ),
            (
                "postgresql://h/db?PASSWORD=hunter2",
                "postgresql://h/db?PASSWORD=***",
            ),
            ("app:hunter2@h", "app:***@h"),
            ("postgres://app@h/db", "postgres://app@h/db"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
            let message = format!("failed for {url}: bad");
            let s = scrub(&message, url);
            assert!(
                !s.contains("hunter2") && !s.contains("two words") && !s.contains("ter2"),
                "{url}: {s}"
            );
        }
        assert_eq!(
            scrub("auth failed for s3cr@t", "postgres://app:s3cr%40t@h/db"),
            "auth failed for ***"
        );
    }
}
