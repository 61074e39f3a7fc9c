//! The state statements of the SQL stores (PostgreSQL and SQLite), written once: a
//! transition (the state row's compare-and-set, its history row and its outbox event),
//! the fenced commit that ends a migration, and the reads of state, history, journal,
//! leases and the outbox. A store hands them a [`Driver`] over its connection or open
//! transaction; the driver says how values are bound and read, names the state tables
//! and writes the placeholders its engine understands. What truly differs stays in the
//! stores: the locking primitive (advisory locks or a lease row), the journal writes of
//! a migration, claiming the outbox, and reading the catalog.
//!
//! Statements here name a state table as `{T}state` (`depot_migrate.state` on
//! PostgreSQL, `depot_migrate_state` on SQLite) and number their parameters `$1`, `$2`, …
//! (rewritten to `?1`, `?2`, … for SQLite); none contains a `$` otherwise.

use super::{
    FailureRecord, HistoryEntry, Identity, LeaseInfo, PendingRow, StoreError, StoredState,
    Transition,
};
use depot_migrate_core::lifecycle::DatasetState;
use serde_json::Value;

/// A value bound to a statement.
pub(crate) enum Param<'a> {
    /// Text (or SQL NULL).
    Text(Option<&'a str>),
    /// A 64-bit integer (or SQL NULL).
    Int(Option<i64>),
    /// A JSON document (PostgreSQL `jsonb`, SQLite text), or SQL NULL.
    Json(Option<Value>),
}

/// The kind of a column read.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// Text, or NULL.
    Text,
    /// An integer (32 or 64 bits), or NULL.
    Int,
    /// A JSON document (a JSON column, or text holding JSON), or NULL.
    Json,
}

/// A value read from a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// SQL NULL.
    Null,
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A JSON document (`Value::Null` when stored text does not parse).
    Json(Value),
}

impl Cell {
    fn text(self) -> Option<String> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }
    fn int(self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(i),
            _ => None,
        }
    }
    fn json(self) -> Option<Value> {
        match self {
            Cell::Json(v) => Some(v),
            _ => None,
        }
    }
}

/// What the shared statements need of a connection or an open transaction.
pub(crate) trait Driver {
    /// The state tables' prefix: `depot_migrate.` or `depot_migrate_`.
    fn tables(&self) -> &'static str;
    /// Runs a statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError>;
    /// Runs a query; each row's cells in the order of `kinds`.
    fn query(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Cell>>, StoreError>;
    /// A JSON value as this engine can store it (PostgreSQL text and `jsonb` cannot
    /// hold NUL: it becomes U+FFFD there).
    fn storable(&self, v: Value) -> Value {
        v
    }
    /// Text as this engine can store it (see [`Driver::storable`]).
    fn storable_text(&self, s: &str) -> String {
        s.to_string()
    }
}

/// A statement template with its table prefix filled in and, when `placeholder` is `?`,
/// its `$N` placeholders rewritten as `?N`.
pub(crate) fn render(template: &str, tables: &str, placeholder: char) -> String {
    let s = template.replace("{T}", tables);
    if placeholder == '$' {
        s
    } else {
        s.replace('$', &placeholder.to_string())
    }
}

fn text(s: &str) -> Param<'_> {
    Param::Text(Some(s))
}

fn opt(s: &Option<String>) -> Param<'_> {
    Param::Text(s.as_deref())
}

/// Writes a transition in the caller's transaction: the state row (inserted at revision
/// 0, else updated only at the expected revision), the submission, run and deployed
/// package when given, the history row and the outbox event. A state row at another
/// revision is [`StoreError::Conflict`] (and the caller rolls back).
pub(crate) fn write_transition(d: &mut dyn Driver, t: &Transition) -> Result<(), StoreError> {
    let s = &t.state;
    let failure = s
        .last_failure
        .as_ref()
        .map(|f| {
            serde_json::to_value(f)
                .map(|v| d.storable(v))
                .map_err(|e| StoreError::Db(format!("the failure record is not JSON ({e})")))
        })
        .transpose()?;
    let synced = s.synced.clone().unwrap_or_default();
    let id = text(&s.dataset_id);
    let changed = if t.expected_revision == 0 {
        d.execute(
            "INSERT INTO {T}state (dataset_id, environment_id, alias, engine, schema_name, revision, synced, desired_version, attempted_version, deployed_version, last_failure)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (dataset_id) DO NOTHING",
            &[id, text(&t.environment_id), opt(&s.alias), text(&t.engine), text(&t.schema), Param::Int(Some(s.revision)), text(&synced),
              opt(&s.desired_version), opt(&s.attempted_version), opt(&s.deployed_version), Param::Json(failure)],
        )?
    } else {
        d.execute(
            "UPDATE {T}state SET alias = $2, revision = $3, synced = $4, desired_version = $5, attempted_version = $6, deployed_version = $7, last_failure = $8
             WHERE dataset_id = $1 AND revision = $9",
            &[id, opt(&s.alias), Param::Int(Some(s.revision)), text(&synced), opt(&s.desired_version), opt(&s.attempted_version),
              opt(&s.deployed_version), Param::Json(failure), Param::Int(Some(t.expected_revision))],
        )?
    };
    if changed != 1 {
        return Err(StoreError::Conflict {
            dataset: s.dataset_id.clone(),
            expected: t.expected_revision,
        });
    }
    let id = || text(&s.dataset_id);
    if let Some((package, plan_hash)) = &t.deployed {
        d.execute(
            "UPDATE {T}state SET deployed_package = $2, deployed_plan_hash = $3 WHERE dataset_id = $1",
            &[id(), text(package), text(plan_hash)],
        )?;
    }
    if let Some(submission) = &t.submission {
        d.execute(
            "UPDATE {T}state SET submission = $2 WHERE dataset_id = $1",
            &[id(), text(submission)],
        )?;
    }
    if t.scheduled {
        d.execute(
            "UPDATE {T}state SET submitted_revision = revision WHERE dataset_id = $1",
            &[id()],
        )?;
    }
    if let Some(run_id) = &t.run_id {
        d.execute(
            "UPDATE {T}state SET run_id = $2 WHERE dataset_id = $1",
            &[id(), text(run_id)],
        )?;
    }
    let h: &HistoryEntry = &t.history;
    let reason = h.reason.as_deref().map(|r| d.storable_text(r));
    let detail = d.storable(h.detail.clone());
    d.execute(
        "INSERT INTO {T}history (dataset_id, revision, at, event, version, run_id, actor, reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[id(), Param::Int(Some(s.revision)), text(&h.at), text(&h.event), opt(&h.version), text(&h.run_id), text(&h.actor),
          Param::Text(reason.as_deref()), Param::Json(Some(detail))],
    )?;
    if let Some((event_id, envelope)) = &t.outbox {
        let envelope = d.storable(envelope.clone());
        d.execute(
            "INSERT INTO {T}outbox (dataset_id, event_id, created_at, envelope, destination) VALUES ($1, $2, $3, $4, $5)",
            &[id(), text(event_id), text(&h.at), Param::Json(Some(envelope)), opt(&t.outbox_destination)],
        )?;
    }
    Ok(())
}

/// The end of a migration, in the transaction that ran its steps: commit only while this
/// executor's lease (`token`) is still the dataset's, then write the transition. A
/// lease taken over is [`StoreError::LockHeld`]: the caller rolls the steps back.
pub(crate) fn fenced_transition(
    d: &mut dyn Driver,
    dataset_id: &str,
    token: Option<&str>,
    then: &Transition,
) -> Result<(), StoreError> {
    let ours = d
        .query(
            "SELECT count(*) FROM {T}lease WHERE dataset_id = $1 AND token = $2",
            &[text(dataset_id), Param::Text(token)],
            &[Kind::Int],
        )?
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .and_then(Cell::int);
    if ours != Some(1) {
        return Err(StoreError::LockHeld {
            dataset: dataset_id.to_string(),
            holder: " (our lease was taken over)".into(),
        });
    }
    write_transition(d, then)
}

/// A dataset's state row, if it has one.
pub(crate) fn read_state(
    d: &mut dyn Driver,
    dataset_id: &str,
) -> Result<Option<StoredState>, StoreError> {
    use Kind::{Int, Json, Text};
    let rows = d.query(
        "SELECT alias, revision, synced, desired_version, attempted_version, deployed_version, last_failure, deployed_package, deployed_plan_hash, submission, submitted_revision, run_id, environment_id, engine, schema_name FROM {T}state WHERE dataset_id = $1",
        &[text(dataset_id)],
        &[Text, Int, Text, Text, Text, Text, Json, Text, Text, Text, Int, Text, Text, Text, Text],
    )?;
    Ok(rows.into_iter().next().map(|r| {
        let mut c = r.into_iter();
        let mut next = || c.next().unwrap_or(Cell::Null);
        let alias = next().text();
        let revision = next().int().unwrap_or_default();
        let synced = next().text();
        let desired_version = next().text();
        let attempted_version = next().text();
        let deployed_version = next().text();
        let last_failure = next()
            .json()
            .and_then(|f| serde_json::from_value::<FailureRecord>(f).ok());
        StoredState {
            state: DatasetState {
                dataset_id: dataset_id.to_string(),
                alias,
                revision,
                synced,
                desired_version,
                attempted_version,
                deployed_version,
                last_failure,
            },
            deployed_package: next().text(),
            deployed_plan_hash: next().text(),
            submission: next().text(),
            submitted_revision: next().int(),
            run_id: next().text(),
            identity: Identity {
                environment_id: next().text().unwrap_or_default(),
                engine: next().text().unwrap_or_default(),
                schema: next().text().unwrap_or_default(),
            },
        }
    }))
}

/// A dataset's history, oldest first, as the `history` command prints it.
pub(crate) fn history(d: &mut dyn Driver, dataset_id: &str) -> Result<Vec<Value>, StoreError> {
    use Kind::{Int, Json, Text};
    let rows = d.query(
        "SELECT revision, at, event, version, run_id, actor, reason, detail FROM {T}history WHERE dataset_id = $1 ORDER BY id",
        &[text(dataset_id)],
        &[Int, Text, Text, Text, Text, Text, Text, Json],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut c = r.into_iter();
            let mut next = || c.next().unwrap_or(Cell::Null);
            serde_json::json!({
                "revision": next().int(), "at": next().text(), "event": next().text(),
                "version": next().text(), "runId": next().text(), "actor": next().text(),
                "reason": next().text(), "detail": next().json().unwrap_or(Value::Null),
            })
        })
        .collect())
}

/// The indexes of the steps of a run journaled as done, in order.
pub(crate) fn completed_steps(
    d: &mut dyn Driver,
    dataset_id: &str,
    run_id: &str,
) -> Result<Vec<usize>, StoreError> {
    let rows = d.query(
        "SELECT DISTINCT step_index FROM {T}journal WHERE dataset_id = $1 AND run_id = $2 AND status = 'done' ORDER BY step_index",
        &[text(dataset_id), text(run_id)],
        &[Kind::Int],
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.into_iter().next().and_then(Cell::int))
        .filter_map(|i| usize::try_from(i).ok())
        .collect())
}

/// The lease row of a dataset, if any.
pub(crate) fn lease(d: &mut dyn Driver, dataset_id: &str) -> Result<Option<LeaseInfo>, StoreError> {
    let rows = d.query(
        "SELECT holder, token, started FROM {T}lease WHERE dataset_id = $1",
        &[text(dataset_id)],
        &[Kind::Json, Kind::Text, Kind::Text],
    )?;
    Ok(rows.into_iter().next().map(|r| {
        let mut c = r.into_iter();
        let mut next = || c.next().unwrap_or(Cell::Null);
        let holder = next().json().unwrap_or(Value::Null);
        LeaseInfo::from_row(
            holder,
            next().text().unwrap_or_default(),
            next().text().unwrap_or_default(),
        )
    }))
}

/// Deletes a dataset's lease if it still has this token; whether it did.
pub(crate) fn revoke_lease(
    d: &mut dyn Driver,
    dataset_id: &str,
    token: &str,
) -> Result<bool, StoreError> {
    let n = d.execute(
        "DELETE FROM {T}lease WHERE dataset_id = $1 AND token = $2",
        &[text(dataset_id), text(token)],
    )?;
    Ok(n == 1)
}

/// Every dataset with a state row, by id.
pub(crate) fn dataset_ids(d: &mut dyn Driver) -> Result<Vec<String>, StoreError> {
    let rows = d.query(
        "SELECT dataset_id FROM {T}state ORDER BY dataset_id",
        &[],
        &[Kind::Text],
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.into_iter().next().and_then(Cell::text))
        .collect())
}

/// Up to `limit` unpublished outbox rows (of one dataset, or all), oldest first. With
/// `legacy` (an outbox of layout 2, read without upgrading it) no row has a destination.
pub(crate) fn pending_events(
    d: &mut dyn Driver,
    dataset_id: Option<&str>,
    limit: usize,
    legacy: bool,
) -> Result<Vec<PendingRow>, StoreError> {
    let destination = if legacy {
        "CAST(NULL AS TEXT)"
    } else {
        "destination"
    };
    let sql = format!("SELECT id, envelope, {destination} FROM {{T}}outbox WHERE published_at IS NULL AND (CAST($1 AS TEXT) IS NULL OR dataset_id = $1) ORDER BY id LIMIT $2");
    let rows = d.query(
        &sql,
        &[
            Param::Text(dataset_id),
            Param::Int(Some(i64::try_from(limit).unwrap_or(i64::MAX))),
        ],
        &[Kind::Int, Kind::Json, Kind::Text],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut c = r.into_iter();
            let mut next = || c.next().unwrap_or(Cell::Null);
            let id = next().int().unwrap_or_default();
            let envelope = next().json().unwrap_or(Value::Null);
            (id, next().text(), envelope)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_name_the_tables_and_number_the_placeholders() {
        let t = "UPDATE {T}state SET a = $2 WHERE dataset_id = $1 AND b = $12";
        assert_eq!(
            render(t, "depot_migrate.", '$'),
            "UPDATE depot_migrate.state SET a = $2 WHERE dataset_id = $1 AND b = $12"
        );
        assert_eq!(
            render(t, "depot_migrate_", '?'),
            "UPDATE depot_migrate_state SET a = ?2 WHERE dataset_id = ?1 AND b = ?12"
        );
    }
}
