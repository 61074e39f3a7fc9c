//! State stores: where the executor keeps a dataset's desired / attempted / deployed
//! versions, the deployed package snapshot, history, the step journal, the lease and the
//! event outbox, in the target database itself (schema `depot_migrate` on Postgres,
//! tables `depot_migrate_*` on SQLite). One small trait, one thin impl per engine.

pub mod postgres;
pub mod sqlite;

use depot_migrate_core::lifecycle::{DatasetState, FailureRecord};
use depot_migrate_core::plan::Step;
use serde_json::Value;
use std::time::Duration;

/// The version of the state tables' own layout. Creating or upgrading them is versioned
/// in the `meta` table.
pub const STATE_SCHEMA_VERSION: i64 = 1;

/// A stored dataset state with what the executor needs beyond the seed's fields.
#[derive(Debug, Clone, Default)]
pub struct StoredState {
    /// The lifecycle state.
    pub state: DatasetState,
    /// The package deployed now (JSON text), the base of the next plan.
    pub deployed_package: Option<String>,
    /// The `planHash` of the plan that deployed it.
    pub deployed_plan_hash: Option<String>,
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
}

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
}

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
    /// Creates or upgrades the state tables (idempotent; versioned).
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
    /// Unpublished events, oldest first.
    fn pending_events(
        &mut self,
        dataset_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(i64, Value)>, StoreError>;
    /// Claims up to `limit` of the oldest unpublished events (one publisher at a time, so
    /// each event goes out once and in order), hands them to `publish`, and marks the
    /// prefix it reports as published, all in one transaction. `Ok(None)`: another
    /// publisher holds the claim (and will publish these too).
    fn publish_claimed(
        &mut self,
        dataset_id: Option<&str>,
        limit: usize,
        publish: &mut dyn FnMut(&[Value]) -> usize,
    ) -> Result<Option<(usize, usize)>, StoreError>;
    /// Opens a fresh connection after the old one was lost (no-op where there is none).
    fn reconnect(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// The dataset's history, oldest first.
    fn history(&mut self, dataset_id: &str) -> Result<Vec<Value>, StoreError>;
    /// Whether another executor holds the dataset's lock now.
    fn lock_held_elsewhere(&mut self, dataset_id: &str) -> Result<bool, StoreError>;
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
        class: &str,
        sqlstate: Option<String>,
        message: &str,
        retryable: bool,
    ) -> MigrateError {
        MigrateError::Step(Box::new(StepFailure {
            record: FailureRecord {
                class: class.to_string(),
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
    if let Some(password) = password_of(url) {
        if !password.is_empty() {
            out = out.replace(&password, "***");
        }
    }
    if let Ok(p) = std::env::var("PGPASSWORD") {
        if !p.is_empty() {
            out = out.replace(&p, "***");
        }
    }
    out.replace(['\n', '\r'], " ")
}

fn password_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split('@').next().filter(|_| rest.contains('@'))?;
    userinfo.split_once(':').map(|(_, p)| p.to_string())
}

/// A database error message without the row values some messages quote (`invalid
/// input syntax for type date: "…"`): events and history must not carry data.
pub fn without_values(message: &str) -> String {
    match message.find(": \"") {
        Some(i) if message.ends_with('"') => format!("{}: (value omitted)", &message[..i]),
        _ => message.to_string(),
    }
}

/// A URL fit for logs: the password replaced.
pub fn redact_url(url: &str) -> String {
    match password_of(url) {
        Some(p) if !p.is_empty() => url.replacen(&format!(":{p}@"), ":***@", 1),
        _ => url.to_string(),
    }
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
}
