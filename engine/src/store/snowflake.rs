//! Snowflake state store, through the SQL API v2: schema `DEPOT_MIGRATE` in the target
//! database. Snowflake DDL commits on its own and there are no advisory locks, so:
//!
//! - a state change is one compare-and-set `UPDATE … WHERE REVISION = ?` (checked by
//!   its affected row count) that also stores the change's history row and outbox event
//!   in the state row (`PENDING`); they are then copied into `HISTORY` and `OUTBOX`, and
//!   whoever reads a state row that still has them copies them (a crash between the two
//!   loses nothing; readers drop the duplicates a race can make);
//! - the executor lease is a row taken and renewed by compare-and-set on its `VERSION`,
//!   renewed between statements and while a long statement is polled; the final state
//!   change happens only after a renewal succeeded (fencing);
//! - every statement of every step is journaled before it is submitted and after it
//!   finished, with its deterministic requestId; a run that meets its own journal again
//!   (resume) skips what is done and resubmits an unfinished statement with the same
//!   requestId and `retry=true`, so Snowflake never executes it twice;
//! - `catalog` and `scratch_catalog` read `INFORMATION_SCHEMA`, so that `recover
//!   --resolve retry` can check that the steps journaled as done are really in place.

use super::{DestinationFilter, Identity, PendingRow};
use super::{
    LeaseHolder, LeaseInfo, MigrateError, StepFailure, Store, StoreError, StoredState, Transition,
    STATE_SCHEMA_VERSION,
};
use crate::clock::{now_rfc3339, now_unix};
use crate::snowflake::api::{request_id, ApiError, Bind, ErrorKind, Outcome, SqlApi};
use crate::snowflake::SnowflakeConfig;
use depot_migrate_core::lifecycle::{DatasetState, FailureClass, FailureRecord};
use depot_migrate_core::plan::Step;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// How long a lease stays valid without renewal.
const LEASE_SECONDS: i64 = 60;
/// Renew the lease when it is older than this.
const RENEW_AFTER: Duration = Duration::from_secs(10);
/// The lease key of the outbox publisher.
const PUBLISHER: &str = "__depot_migrate_publisher__";

const SCHEMA_DDL: &[&str] = &[
    r#"CREATE SCHEMA IF NOT EXISTS "DEPOT_MIGRATE""#,
    r#"CREATE TABLE IF NOT EXISTS "DEPOT_MIGRATE"."META" ("KEY" VARCHAR NOT NULL, "VALUE" VARCHAR NOT NULL)"#,
    r#"CREATE TABLE IF NOT EXISTS "DEPOT_MIGRATE"."STATE" ("DATASET_ID" VARCHAR NOT NULL, "ENVIRONMENT_ID" VARCHAR, "ALIAS" VARCHAR, "ENGINE" VARCHAR, "SCHEMA_NAME" VARCHAR, "REVISION" NUMBER(38,0) NOT NULL, "SYNCED" VARCHAR, "STATUS" VARCHAR, "DESIRED_VERSION" VARCHAR, "ATTEMPTED_VERSION" VARCHAR, "DEPLOYED_VERSION" VARCHAR, "LAST_FAILURE" VARCHAR, "DEPLOYED_PACKAGE" VARCHAR, "DEPLOYED_PLAN_HASH" VARCHAR, "PENDING" VARCHAR, "SUBMISSION" VARCHAR, "SUBMITTED_REVISION" NUMBER(38,0), "RUN_ID" VARCHAR)"#,
    r#"CREATE TABLE IF NOT EXISTS "DEPOT_MIGRATE"."HISTORY" ("DATASET_ID" VARCHAR NOT NULL, "REVISION" NUMBER(38,0) NOT NULL, "AT" VARCHAR, "EVENT" VARCHAR, "VERSION" VARCHAR, "RUN_ID" VARCHAR, "ACTOR" VARCHAR, "REASON" VARCHAR, "DETAIL" VARCHAR)"#,
    r#"CREATE TABLE IF NOT EXISTS "DEPOT_MIGRATE"."JOURNAL" ("DATASET_ID" VARCHAR NOT NULL, "RUN_ID" VARCHAR NOT NULL, "ATTEMPT" NUMBER(38,0) NOT NULL, "STEP_INDEX" NUMBER(38,0) NOT NULL, "STEP_KEY" VARCHAR, "STATEMENT_INDEX" NUMBER(38,0) NOT NULL, "REQUEST_ID" VARCHAR, "STATUS" VARCHAR NOT NULL, "CODE" VARCHAR, "AT" VARCHAR, "SEQ" NUMBER(38,0))"#,
    r#"CREATE TABLE IF NOT EXISTS "DEPOT_MIGRATE"."OUTBOX" ("DATASET_ID" VARCHAR NOT NULL, "REVISION" NUMBER(38,0) NOT NULL, "EVENT_ID" VARCHAR NOT NULL, "CREATED_AT" VARCHAR, "ENVELOPE" VARCHAR, "PUBLISHED_AT" VARCHAR)"#,
    // Layout 2 on a layout-1 state table.
    r#"ALTER TABLE "DEPOT_MIGRATE"."STATE" ADD COLUMN IF NOT EXISTS "SUBMISSION" VARCHAR"#,
    r#"ALTER TABLE "DEPOT_MIGRATE"."STATE" ADD COLUMN IF NOT EXISTS "SUBMITTED_REVISION" NUMBER(38,0)"#,
    r#"ALTER TABLE "DEPOT_MIGRATE"."STATE" ADD COLUMN IF NOT EXISTS "RUN_ID" VARCHAR"#,
    r#"ALTER TABLE "DEPOT_MIGRATE"."OUTBOX" ADD COLUMN IF NOT EXISTS "DESTINATION" VARCHAR"#,
    r#"CREATE TABLE IF NOT EXISTS "DEPOT_MIGRATE"."LEASE" ("DATASET_ID" VARCHAR NOT NULL, "HOLDER" VARCHAR, "TOKEN" VARCHAR, "VERSION" NUMBER(38,0) NOT NULL, "STARTED" VARCHAR, "HEARTBEAT" NUMBER(38,0), "EXPIRES" NUMBER(38,0))"#,
];

const RENEW_SQL: &str = r#"UPDATE "DEPOT_MIGRATE"."LEASE" SET "HEARTBEAT" = ?, "EXPIRES" = ?, "VERSION" = "VERSION" + 1 WHERE "DATASET_ID" = ? AND "TOKEN" = ?"#;

fn renew_binds(key: &str, token: &str) -> [Bind; 4] {
    let now = now_unix();
    [
        now.into(),
        (now + LEASE_SECONDS).into(),
        key.into(),
        token.into(),
    ]
}

fn db(e: ApiError) -> StoreError {
    if e.kind == ErrorKind::Auth {
        StoreError::Credentials(e.to_string())
    } else {
        StoreError::Db(format!("Snowflake: {e}"))
    }
}

/// Whether a lease holder ran on this host and its process is gone (killed).
fn holder_is_dead(holder: &Value, this_host: &str) -> bool {
    holder["host"].as_str() == Some(this_host)
        && holder["pid"]
            .as_u64()
            .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        && std::path::Path::new("/proc/self").exists()
}

/// A held lease.
#[derive(Debug, Clone)]
struct Held {
    token: String,
    renewed: Instant,
}

/// What the journal says about one run.
#[derive(Debug, Default)]
pub struct JournalView {
    /// The highest attempt so far (0: none).
    pub attempt: i64,
    /// Statements done: (step index, statement index).
    pub done: BTreeSet<(usize, usize)>,
    /// Statements started and not finished (a crash): their requestIds.
    pub unfinished: BTreeMap<(usize, usize), String>,
}

/// A Snowflake database holding a dataset and its state.
pub struct SnowflakeStore {
    api: SqlApi,
    lease: BTreeMap<String, Held>,
    /// The journal of each run this process works on (read once, then kept up to date).
    journals: BTreeMap<(String, String), JournalView>,
    /// Journal rows written by this process (their order within an attempt).
    seq: i64,
    /// The outbox has no `DESTINATION` column (layout 2, seen by a read that must not
    /// upgrade it).
    legacy_outbox: bool,
    /// The state tables are known to be at this layout (checked or created once per
    /// store: every later [`Store::ensure_state_schema`] is free).
    schema_ready: bool,
}

impl SnowflakeStore {
    /// Reads the URL and the credentials from the environment. Nothing is sent yet.
    pub fn connect(url: &str) -> Result<SnowflakeStore, StoreError> {
        let cfg = SnowflakeConfig::from_url(url).map_err(StoreError::Db)?;
        let api = SqlApi::new(cfg).map_err(StoreError::Db)?;
        Ok(SnowflakeStore {
            api,
            lease: BTreeMap::new(),
            journals: BTreeMap::new(),
            seq: 0,
            legacy_outbox: false,
            schema_ready: false,
        })
    }

    /// A schema's catalog as normalized lines that do not name the schema: tables with
    /// their comment, columns with type, length/precision/scale, nullability, default.
    fn describe(&mut self, schema: &str) -> Result<BTreeSet<String>, StoreError> {
        let mut out = BTreeSet::new();
        let t = self.q(
            r#"SELECT "TABLE_NAME", "COMMENT" FROM INFORMATION_SCHEMA.TABLES WHERE "TABLE_SCHEMA" = ?"#,
            &[schema.into()],
        )?;
        for i in 0..t.rows.len() {
            out.insert(format!(
                "table {} comment={}",
                t.get(i, "TABLE_NAME").unwrap_or("?"),
                t.get(i, "COMMENT").unwrap_or("")
            ));
        }
        let c = self.q(
            r#"SELECT "TABLE_NAME", "COLUMN_NAME", "DATA_TYPE", "CHARACTER_MAXIMUM_LENGTH", "NUMERIC_PRECISION", "NUMERIC_SCALE", "IS_NULLABLE", "COLUMN_DEFAULT" FROM INFORMATION_SCHEMA.COLUMNS WHERE "TABLE_SCHEMA" = ?"#,
            &[schema.into()],
        )?;
        for i in 0..c.rows.len() {
            let g = |k: &str| c.get(i, k).unwrap_or("");
            out.insert(format!(
                "column {}.{} {}({},{},{}) nullable={} default={}",
                g("TABLE_NAME"),
                g("COLUMN_NAME"),
                g("DATA_TYPE"),
                g("CHARACTER_MAXIMUM_LENGTH"),
                g("NUMERIC_PRECISION"),
                g("NUMERIC_SCALE"),
                g("IS_NULLABLE"),
                g("COLUMN_DEFAULT")
            ));
        }
        Ok(out)
    }

    fn q(&mut self, sql: &str, binds: &[Bind]) -> Result<Outcome, StoreError> {
        self.api.run(sql, binds).map_err(db)
    }

    fn insert_state(&mut self, t: &Transition, pending: &str) -> Result<i64, StoreError> {
        let s = &t.state;
        let failure = s
            .last_failure
            .as_ref()
            .map(|f| super::json_text("the failure record", f))
            .transpose()?;
        // Insert-if-absent (no MERGE: one statement, the same on Snowflake and the
        // stand-in). Only the lease holder creates a state row, so two never race here.
        let o = self.q(
            r#"INSERT INTO "DEPOT_MIGRATE"."STATE" ("DATASET_ID", "ENVIRONMENT_ID", "ALIAS", "ENGINE", "SCHEMA_NAME", "REVISION", "SYNCED", "STATUS", "DESIRED_VERSION", "ATTEMPTED_VERSION", "DEPLOYED_VERSION", "LAST_FAILURE", "PENDING", "SUBMISSION", "SUBMITTED_REVISION", "RUN_ID", "DEPLOYED_PACKAGE", "DEPLOYED_PLAN_HASH")
               SELECT ?, ?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM "DEPOT_MIGRATE"."STATE" WHERE "DATASET_ID" = ?)"#,
            &[
                s.dataset_id.as_str().into(),
                t.environment_id.as_str().into(),
                (&s.alias).into(),
                t.engine.as_str().into(),
                t.schema.as_str().into(),
                s.revision.into(),
                (&s.synced).into(),
                (&s.desired_version).into(),
                (&s.attempted_version).into(),
                (&s.deployed_version).into(),
                failure.into(),
                pending.into(),
                (&t.submission).into(),
                Bind::Fixed(s.revision).nullable(t.scheduled),
                (&t.run_id).into(),
                t.deployed.as_ref().map(|d| d.0.clone()).into(),
                t.deployed.as_ref().map(|d| d.1.clone()).into(),
                s.dataset_id.as_str().into(),
            ],
        )?;
        Ok(o.affected())
    }

    /// Copies a state row's pending history row and outbox event into their tables
    /// (skipping what is there already) and clears it.
    /// `fresh`: the caller has just written the change itself, so nothing of it can be
    /// there yet (a concurrent reader may still copy it too; readers drop duplicates).
    fn materialize(
        &mut self,
        dataset_id: &str,
        revision: i64,
        pending: &str,
        fresh: bool,
    ) -> Result<(), StoreError> {
        let p: Value = serde_json::from_str(pending).unwrap_or(Value::Null);
        let h = &p["history"];
        let absent = |this: &mut Self, sql: &str, binds: &[Bind]| -> Result<bool, StoreError> {
            Ok(fresh || this.q(sql, binds)?.get(0, "N") == Some("0"))
        };
        if absent(
            self,
            r#"SELECT COUNT(*) AS "N" FROM "DEPOT_MIGRATE"."HISTORY" WHERE "DATASET_ID" = ? AND "REVISION" = ?"#,
            &[dataset_id.into(), revision.into()],
        )? {
            let text = |k: &str| Bind::Text(h[k].as_str().map(str::to_string));
            self.q(
                r#"INSERT INTO "DEPOT_MIGRATE"."HISTORY" ("DATASET_ID", "REVISION", "AT", "EVENT", "VERSION", "RUN_ID", "ACTOR", "REASON", "DETAIL") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
                &[
                    dataset_id.into(),
                    revision.into(),
                    text("at"),
                    text("event"),
                    text("version"),
                    text("runId"),
                    text("actor"),
                    text("reason"),
                    h["detail"].to_string().into(),
                ],
            )?;
        }
        if let Some(event_id) = p["outbox"]["eventId"].as_str() {
            if absent(
                self,
                r#"SELECT COUNT(*) AS "N" FROM "DEPOT_MIGRATE"."OUTBOX" WHERE "EVENT_ID" = ?"#,
                &[event_id.into()],
            )? {
                self.q(
                    r#"INSERT INTO "DEPOT_MIGRATE"."OUTBOX" ("DATASET_ID", "REVISION", "EVENT_ID", "CREATED_AT", "ENVELOPE", "DESTINATION") VALUES (?, ?, ?, ?, ?, ?)"#,
                    &[
                        dataset_id.into(),
                        revision.into(),
                        event_id.into(),
                        Bind::Text(h["at"].as_str().map(str::to_string)),
                        p["outbox"]["envelope"].to_string().into(),
                        Bind::Text(p["outbox"]["destination"].as_str().map(str::to_string)),
                    ],
                )?;
            }
        }
        self.q(
            r#"UPDATE "DEPOT_MIGRATE"."STATE" SET "PENDING" = NULL WHERE "DATASET_ID" = ? AND "REVISION" = ?"#,
            &[dataset_id.into(), revision.into()],
        )?;
        Ok(())
    }

    /// [`Self::materialize_all`] for a read: the state row is already current, so a read
    /// that cannot copy (a read-only role) goes on without the copy, saying so; the next
    /// writer makes it.
    fn materialize_for_read(&mut self, dataset_id: &str) {
        if let Err(e) = self.materialize_all(Some(dataset_id)) {
            eprintln!("warning: the last change of dataset {dataset_id} is not copied to history and the outbox yet ({e}); the next writing command copies it");
        }
    }

    /// Materializes every state row that still carries a pending change.
    fn materialize_all(&mut self, dataset_id: Option<&str>) -> Result<usize, StoreError> {
        let o = self.q(
            r#"SELECT "DATASET_ID", "REVISION", "PENDING" FROM "DEPOT_MIGRATE"."STATE" WHERE "PENDING" IS NOT NULL AND (? IS NULL OR "DATASET_ID" = ?)"#,
            &[
                Bind::Text(dataset_id.map(str::to_string)),
                Bind::Text(dataset_id.map(str::to_string)),
            ],
        )?;
        for i in 0..o.rows.len() {
            let (Some(d), Some(r), Some(p)) = (
                o.get(i, "DATASET_ID").map(str::to_string),
                o.get(i, "REVISION").and_then(|r| r.parse::<i64>().ok()),
                o.get(i, "PENDING").map(str::to_string),
            ) else {
                continue;
            };
            self.materialize(&d, r, &p, false)?;
        }
        Ok(o.rows.len())
    }

    // --- the lease ------------------------------------------------------------------

    /// Tries once to take a lease; `Ok(Err(holder))` when someone else holds it.
    fn try_lease(
        &mut self,
        key: &str,
        holder: &Value,
        token: &str,
        ttl: i64,
    ) -> Result<Result<(), String>, StoreError> {
        for first_try in [true, false] {
            // A free or expired lease is taken in one compare-and-set.
            let now = now_unix();
            let o = self.q(
                r#"UPDATE "DEPOT_MIGRATE"."LEASE" SET "HOLDER" = ?, "TOKEN" = ?, "VERSION" = "VERSION" + 1, "STARTED" = ?, "HEARTBEAT" = ?, "EXPIRES" = ? WHERE "DATASET_ID" = ? AND ("TOKEN" IS NULL OR "EXPIRES" < ?)"#,
                &[
                    holder.to_string().into(),
                    token.into(),
                    now_rfc3339().into(),
                    now.into(),
                    (now + ttl).into(),
                    key.into(),
                    now.into(),
                ],
            )?;
            if o.affected() >= 1 {
                self.held(key, token);
                return Ok(Ok(()));
            }
            let o = self.q(
                r#"SELECT "HOLDER", "VERSION" FROM "DEPOT_MIGRATE"."LEASE" WHERE "DATASET_ID" = ? ORDER BY "VERSION" DESC"#,
                &[key.into()],
            )?;
            if o.rows.is_empty() {
                if !first_try {
                    break;
                }
                // The lease row, created once. Two first executors racing may both
                // insert one; identical rows stay identical (every update matches
                // both), so a duplicate is harmless.
                self.q(
                    r#"INSERT INTO "DEPOT_MIGRATE"."LEASE" ("DATASET_ID", "VERSION", "EXPIRES") SELECT ?, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM "DEPOT_MIGRATE"."LEASE" WHERE "DATASET_ID" = ?)"#,
                    &[key.into(), key.into()],
                )?;
                continue;
            }
            let current_holder = o.get(0, "HOLDER").map(str::to_string).unwrap_or_default();
            let version: i64 = o
                .get(0, "VERSION")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let this_host = holder["host"].as_str().unwrap_or_default().to_string();
            let dead = serde_json::from_str::<Value>(&current_holder)
                .ok()
                .is_some_and(|h| holder_is_dead(&h, &this_host));
            if !dead {
                return Ok(Err(current_holder));
            }
            // A holder on this host whose process is gone can never renew: take over,
            // by compare-and-set on the version read.
            eprintln!("warning: the previous executor is gone (its process no longer exists); taking over its lease");
            let o = self.q(
                r#"UPDATE "DEPOT_MIGRATE"."LEASE" SET "HOLDER" = ?, "TOKEN" = ?, "VERSION" = "VERSION" + 1, "STARTED" = ?, "HEARTBEAT" = ?, "EXPIRES" = ? WHERE "DATASET_ID" = ? AND "VERSION" = ?"#,
                &[
                    holder.to_string().into(),
                    token.into(),
                    now_rfc3339().into(),
                    now.into(),
                    (now + ttl).into(),
                    key.into(),
                    version.into(),
                ],
            )?;
            if o.affected() >= 1 {
                self.held(key, token);
                return Ok(Ok(()));
            }
            return Ok(Err(current_holder));
        }
        Ok(Err(String::new()))
    }

    fn held(&mut self, key: &str, token: &str) {
        self.lease.insert(
            key.to_string(),
            Held {
                token: token.to_string(),
                renewed: Instant::now(),
            },
        );
    }

    /// Renews a held lease by compare-and-set on its token; an error when it was taken
    /// over.
    fn renew(&mut self, key: &str, force: bool) -> Result<(), StoreError> {
        let Some(held) = self.lease.get(key).cloned() else {
            return Ok(());
        };
        if !force && held.renewed.elapsed() < RENEW_AFTER {
            return Ok(());
        }
        let o = self.q(RENEW_SQL, &renew_binds(key, &held.token))?;
        if o.affected() < 1 {
            self.lease.remove(key);
            return Err(StoreError::LockHeld {
                dataset: key.to_string(),
                holder: " (our lease was taken over)".into(),
            });
        }
        self.held(key, &held.token);
        Ok(())
    }

    fn release(&mut self, key: &str) -> Result<(), StoreError> {
        if let Some(held) = self.lease.remove(key) {
            self.q(
                r#"UPDATE "DEPOT_MIGRATE"."LEASE" SET "HOLDER" = NULL, "TOKEN" = NULL, "EXPIRES" = 0, "VERSION" = "VERSION" + 1 WHERE "DATASET_ID" = ? AND "TOKEN" = ?"#,
                &[key.into(), held.token.as_str().into()],
            )?;
        }
        Ok(())
    }

    // --- the journal ----------------------------------------------------------------

    /// What the journal holds for a run.
    pub fn journal(&mut self, dataset_id: &str, run_id: &str) -> Result<JournalView, StoreError> {
        let o = self.q(
            r#"SELECT "ATTEMPT", "STEP_INDEX", "STATEMENT_INDEX", "REQUEST_ID", "STATUS" FROM "DEPOT_MIGRATE"."JOURNAL" WHERE "DATASET_ID" = ? AND "RUN_ID" = ? ORDER BY "SEQ""#,
            &[dataset_id.into(), run_id.into()],
        )?;
        let mut view = JournalView::default();
        for i in 0..o.rows.len() {
            let n = |c: &str| o.get(i, c).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
            view.attempt = view.attempt.max(n("ATTEMPT"));
            if n("STATEMENT_INDEX") < 0 {
                continue; // a whole step's row
            }
            let at = (n("STEP_INDEX") as usize, n("STATEMENT_INDEX") as usize);
            match o.get(i, "STATUS") {
                Some("started") => {
                    view.unfinished
                        .insert(at, o.get(i, "REQUEST_ID").unwrap_or_default().to_string());
                }
                Some("done") => {
                    view.unfinished.remove(&at);
                    view.done.insert(at);
                }
                Some(_) => {
                    view.unfinished.remove(&at);
                }
                None => {}
            }
        }
        Ok(view)
    }

    /// One journal row of `run`'s step: a statement (`statement_index` ≥ 0, with its
    /// request id) or, at -1, the step as a whole.
    fn journal_write(
        &mut self,
        run: &JournalRun<'_>,
        step: &Step,
        statement: (i64, &str),
        status: &str,
        code: Option<String>,
    ) -> Result<(), StoreError> {
        let JournalRun {
            dataset_id,
            run_id,
            attempt,
        } = *run;
        let (statement_index, request_id) = statement;
        self.seq += 1;
        let seq = (attempt << 32) + self.seq;
        self.q(
            r#"INSERT INTO "DEPOT_MIGRATE"."JOURNAL" ("DATASET_ID", "RUN_ID", "ATTEMPT", "STEP_INDEX", "STEP_KEY", "STATEMENT_INDEX", "REQUEST_ID", "STATUS", "CODE", "AT", "SEQ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
            &[
                dataset_id.into(),
                run_id.into(),
                attempt.into(),
                (step.index as i64).into(),
                step.key.as_str().into(),
                statement_index.into(),
                request_id.into(),
                status.into(),
                code.into(),
                now_rfc3339().into(),
                seq.into(),
            ],
        )?;
        Ok(())
    }

    fn write_transition(&mut self, t: &Transition) -> Result<(), StoreError> {
        self.write_transition_once(t, false)
    }

    fn write_transition_once(&mut self, t: &Transition, retried: bool) -> Result<(), StoreError> {
        let s = &t.state;
        let pending = json!({
            "history": {
                "at": t.history.at, "event": t.history.event, "version": t.history.version,
                "runId": t.history.run_id, "actor": t.history.actor, "reason": t.history.reason,
                "detail": t.history.detail,
            },
            "outbox": t.outbox.as_ref().map(|(id, env)| json!({"eventId": id, "envelope": env, "destination": t.outbox_destination})),
        })
        .to_string();
        let conflict = || StoreError::Conflict {
            dataset: s.dataset_id.clone(),
            expected: t.expected_revision,
        };
        if t.expected_revision == 0 {
            if self.insert_state(t, &pending)? != 1 {
                return Err(conflict());
            }
        } else {
            let failure = s
                .last_failure
                .as_ref()
                .map(|f| super::json_text("the failure record", f))
                .transpose()?;
            let (dp, dh) = match &t.deployed {
                Some((p, h)) => (Some(p.clone()), Some(h.clone())),
                None => (None, None),
            };
            let o = self.q(
                r#"UPDATE "DEPOT_MIGRATE"."STATE" SET "ALIAS" = ?, "REVISION" = ?, "SYNCED" = ?, "DESIRED_VERSION" = ?, "ATTEMPTED_VERSION" = ?, "DEPLOYED_VERSION" = ?, "LAST_FAILURE" = ?, "PENDING" = ?,
                   "DEPLOYED_PACKAGE" = COALESCE(?, "DEPLOYED_PACKAGE"), "DEPLOYED_PLAN_HASH" = COALESCE(?, "DEPLOYED_PLAN_HASH"),
                   "SUBMISSION" = COALESCE(?, "SUBMISSION"), "SUBMITTED_REVISION" = COALESCE(?, "SUBMITTED_REVISION"), "RUN_ID" = COALESCE(?, "RUN_ID")
                   WHERE "DATASET_ID" = ? AND "REVISION" = ? AND "PENDING" IS NULL"#,
                &[
                    (&s.alias).into(),
                    s.revision.into(),
                    (&s.synced).into(),
                    (&s.desired_version).into(),
                    (&s.attempted_version).into(),
                    (&s.deployed_version).into(),
                    failure.into(),
                    pending.as_str().into(),
                    dp.into(),
                    dh.into(),
                    (&t.submission).into(),
                    Bind::Fixed(s.revision).nullable(t.scheduled),
                    (&t.run_id).into(),
                    s.dataset_id.as_str().into(),
                    t.expected_revision.into(),
                ],
            )?;
            if o.affected() != 1 {
                // An earlier change still pending (its writer crashed before copying it
                // out) goes out first, in order; then the compare-and-set once more.
                if !retried && self.materialize_all(Some(&s.dataset_id))? > 0 {
                    return self.write_transition_once(t, true);
                }
                return Err(conflict());
            }
        }
        self.materialize(&s.dataset_id, s.revision, &pending, true)
    }

    fn failure(
        step: &Step,
        statement: &str,
        e: &ApiError,
        committed: Vec<String>,
        anything_ran: bool,
    ) -> MigrateError {
        let class = match e.kind {
            ErrorKind::Statement => FailureClass::Step,
            ErrorKind::Cancelled => FailureClass::Interrupted,
            ErrorKind::Auth => FailureClass::Auth,
            ErrorKind::Transport => FailureClass::Connection,
        };
        MigrateError::Step(Box::new(StepFailure {
            record: FailureRecord {
                class,
                step_index: Some(step.index),
                step_key: Some(step.key.clone()),
                statement: Some(statement.to_string()),
                sqlstate: e.sql_state.clone().or_else(|| e.code.clone()),
                message: super::without_values(&e.to_string()),
                committed_steps: committed,
                rolled_back: !anything_ran,
                truncated: false,
            },
            retryable: false,
        }))
    }
}

impl Store for SnowflakeStore {
    fn ensure_state_schema(&mut self) -> Result<(), StoreError> {
        if self.schema_ready {
            return Ok(());
        }
        let current = match self.api.run(
            r#"SELECT "VALUE" FROM "DEPOT_MIGRATE"."META" WHERE "KEY" = 'schema_version'"#,
            &[],
        ) {
            Ok(o) => o.get(0, "VALUE").and_then(|v| v.parse::<i64>().ok()),
            // Not created yet is fine; anything else (credentials, network) is not.
            Err(e) if e.kind == ErrorKind::Statement => None,
            Err(e) => return Err(db(e)),
        };
        match current {
            Some(v) if v == STATE_SCHEMA_VERSION => return Ok(()),
            Some(v) if v > STATE_SCHEMA_VERSION => {
                return Err(StoreError::Db(format!(
                    "the state tables are at layout version {v}, newer than this depot-migrate understands ({STATE_SCHEMA_VERSION}); upgrade depot-migrate"
                )))
            }
            _ => {}
        }
        for ddl in SCHEMA_DDL {
            self.q(ddl, &[])?;
        }
        self.q(
            r#"INSERT INTO "DEPOT_MIGRATE"."META" ("KEY", "VALUE") SELECT 'schema_version', ? WHERE NOT EXISTS (SELECT 1 FROM "DEPOT_MIGRATE"."META" WHERE "KEY" = 'schema_version')"#,
            &[STATE_SCHEMA_VERSION.to_string().into()],
        )?;
        self.q(
            r#"UPDATE "DEPOT_MIGRATE"."META" SET "VALUE" = ? WHERE "KEY" = 'schema_version'"#,
            &[STATE_SCHEMA_VERSION.to_string().into()],
        )?;
        self.legacy_outbox = false;
        self.schema_ready = true;
        Ok(())
    }

    fn lock(
        &mut self,
        dataset_id: &str,
        holder: &LeaseHolder,
        wait: Duration,
    ) -> Result<(), StoreError> {
        let start = Instant::now();
        let holder_json = holder.to_json(super::now_unix());
        loop {
            match self.try_lease(dataset_id, &holder_json, &holder.token, LEASE_SECONDS)? {
                Ok(()) => return Ok(()),
                Err(who) => {
                    if start.elapsed() >= wait {
                        return Err(StoreError::LockHeld {
                            dataset: dataset_id.to_string(),
                            holder: if who.is_empty() {
                                String::new()
                            } else {
                                format!(" ({who})")
                            },
                        });
                    }
                    if self.api.wait_interruptible(Duration::from_millis(500)) {
                        return Err(StoreError::Db(
                            "interrupted while waiting for the lock".into(),
                        ));
                    }
                }
            }
        }
    }

    fn unlock(&mut self, dataset_id: &str) -> Result<(), StoreError> {
        self.release(dataset_id)
    }

    fn lock_held_elsewhere(&mut self, dataset_id: &str) -> Result<bool, StoreError> {
        if self.lease.contains_key(dataset_id) {
            return Ok(false);
        }
        let o = self.q(
            r#"SELECT "HOLDER", "TOKEN", "EXPIRES" FROM "DEPOT_MIGRATE"."LEASE" WHERE "DATASET_ID" = ?"#,
            &[dataset_id.into()],
        )?;
        let this_host = crate::identity::host();
        Ok((0..o.rows.len()).any(|i| {
            let live = o.get(i, "TOKEN").is_some()
                && o.get(i, "EXPIRES")
                    .and_then(|e| e.parse::<i64>().ok())
                    .is_some_and(|e| e >= now_unix());
            let dead = o
                .get(i, "HOLDER")
                .and_then(|h| serde_json::from_str::<Value>(h).ok())
                .is_some_and(|h| holder_is_dead(&h, this_host));
            live && !dead
        }))
    }

    fn read_state(&mut self, dataset_id: &str) -> Result<Option<StoredState>, StoreError> {
        self.materialize_for_read(dataset_id);
        let o = self.q(
            r#"SELECT "ALIAS", "REVISION", "SYNCED", "DESIRED_VERSION", "ATTEMPTED_VERSION", "DEPLOYED_VERSION", "LAST_FAILURE", "DEPLOYED_PACKAGE", "DEPLOYED_PLAN_HASH", "SUBMISSION", "SUBMITTED_REVISION", "RUN_ID", "ENVIRONMENT_ID", "ENGINE", "SCHEMA_NAME" FROM "DEPOT_MIGRATE"."STATE" WHERE "DATASET_ID" = ?"#,
            &[dataset_id.into()],
        )?;
        if o.rows.is_empty() {
            return Ok(None);
        }
        let g = |c: &str| o.get(0, c).map(str::to_string);
        Ok(Some(StoredState {
            state: DatasetState {
                dataset_id: dataset_id.to_string(),
                alias: g("ALIAS"),
                revision: g("REVISION").and_then(|r| r.parse().ok()).unwrap_or(0),
                synced: g("SYNCED"),
                desired_version: g("DESIRED_VERSION"),
                attempted_version: g("ATTEMPTED_VERSION"),
                deployed_version: g("DEPLOYED_VERSION"),
                last_failure: g("LAST_FAILURE")
                    .and_then(|f| serde_json::from_str::<FailureRecord>(&f).ok()),
            },
            deployed_package: g("DEPLOYED_PACKAGE"),
            deployed_plan_hash: g("DEPLOYED_PLAN_HASH"),
            submission: g("SUBMISSION"),
            submitted_revision: g("SUBMITTED_REVISION").and_then(|r| r.parse().ok()),
            run_id: g("RUN_ID"),
            identity: Identity {
                environment_id: g("ENVIRONMENT_ID").unwrap_or_default(),
                engine: g("ENGINE").unwrap_or_default(),
                schema: g("SCHEMA_NAME").unwrap_or_default(),
            },
        }))
    }

    fn transition(&mut self, t: &Transition) -> Result<(), StoreError> {
        self.write_transition(t)
    }

    fn migrate(
        &mut self,
        dataset_id: &str,
        run_id: &str,
        steps: &[Step],
        lock_timeout: Duration,
        then: &Transition,
        progress: &mut dyn FnMut(&Step),
    ) -> Result<(), MigrateError> {
        // Snowflake has no DDL transactions: the executor runs its plans step by step
        // (`run_step`) and calls this with no steps for the final state change. Given
        // steps, they run one by one all the same.
        for step in steps {
            progress(step);
            self.run_step(dataset_id, run_id, step, lock_timeout)?;
        }
        // Fencing: the final state change only while the lease is still ours.
        self.renew(dataset_id, true).map_err(MigrateError::Store)?;
        self.write_transition(then).map_err(MigrateError::Store)
    }

    fn transactional_ddl(&self) -> bool {
        false
    }

    fn run_step(
        &mut self,
        dataset_id: &str,
        run_id: &str,
        step: &Step,
        _lock_timeout: Duration,
    ) -> Result<(), MigrateError> {
        // Fencing before anything runs: the lease must still be ours (a renewal by
        // token; skipped when the executor renewed it a moment ago).
        let fresh = self
            .lease
            .get(dataset_id)
            .is_some_and(|h| h.renewed.elapsed() < Duration::from_secs(2));
        if !fresh {
            self.renew(dataset_id, true).map_err(MigrateError::Store)?;
        }
        if !self.lease.contains_key(dataset_id) {
            return Err(MigrateError::Store(StoreError::LockHeld {
                dataset: dataset_id.to_string(),
                holder: " (this process holds no lease)".into(),
            }));
        }
        let key = (dataset_id.to_string(), run_id.to_string());
        if !self.journals.contains_key(&key) {
            let mut view = self
                .journal(dataset_id, run_id)
                .map_err(MigrateError::Store)?;
            view.attempt += 1;
            self.journals.insert(key.clone(), view);
        }
        let (attempt, done, unfinished) = {
            let v = &self.journals[&key];
            (v.attempt, v.done.clone(), v.unfinished.clone())
        };
        let run = JournalRun {
            dataset_id,
            run_id,
            attempt,
        };
        let mut ran_here = false;
        for (i, statement) in step.sql.iter().enumerate() {
            if done.contains(&(step.index, i)) {
                continue;
            }
            // An unfinished statement of a crashed attempt: resubmitted under its own
            // requestId with retry=true, so Snowflake runs it at most once.
            let fresh_id = request_id(&[
                "depot-migrate",
                dataset_id,
                run_id,
                &attempt.to_string(),
                &step.index.to_string(),
                &i.to_string(),
            ]);
            let (rid, retry) = match unfinished.get(&(step.index, i)) {
                Some(rid) => (rid.clone(), true),
                None => (fresh_id.clone(), false),
            };
            self.journal_write(&run, step, (i as i64, &rid), "started", None)
                .map_err(MigrateError::Store)?;
            let mut renew_err: Option<StoreError> = None;
            let mut result = {
                let lease = &mut self.lease;
                let lease_key = dataset_id.to_string();
                let mut between = |api: &mut SqlApi| -> Result<(), ApiError> {
                    // Lease renewal while a long statement runs.
                    if let Some(held) = lease.get(&lease_key).cloned() {
                        if held.renewed.elapsed() >= RENEW_AFTER {
                            let o = api.run(RENEW_SQL, &renew_binds(&lease_key, &held.token))?;
                            if o.affected() >= 1 {
                                lease.insert(
                                    lease_key.clone(),
                                    Held {
                                        renewed: Instant::now(),
                                        ..held
                                    },
                                );
                            } else {
                                lease.remove(&lease_key);
                                renew_err = Some(StoreError::LockHeld {
                                    dataset: lease_key.clone(),
                                    holder: " (our lease was taken over)".into(),
                                });
                            }
                        }
                    }
                    Ok(())
                };
                self.api.run_with(statement, &[], &rid, retry, &mut between)
            };
            if retry {
                if let Err(e) = &result {
                    if e.kind == ErrorKind::Statement {
                        // The crashed attempt's statement had failed (no effect): run it
                        // afresh under this attempt's requestId.
                        result = self
                            .api
                            .run_with(statement, &[], &fresh_id, false, &mut |_| Ok(()));
                    }
                }
            }
            if let Some(e) = renew_err {
                return Err(MigrateError::Store(e));
            }
            match result {
                Ok(_) => {
                    ran_here = true;
                    self.journal_write(&run, step, (i as i64, &rid), "done", None)
                        .map_err(MigrateError::Store)?;
                    if let Some(v) = self.journals.get_mut(&key) {
                        v.done.insert((step.index, i));
                        v.unfinished.remove(&(step.index, i));
                    }
                }
                Err(e) => {
                    let _ =
                        self.journal_write(&run, step, (i as i64, &rid), "failed", e.code.clone());
                    if let Some(v) = self.journals.get_mut(&key) {
                        v.unfinished.remove(&(step.index, i));
                    }
                    // The step left nothing behind only if none of its statements ran
                    // (now or in an earlier attempt) and the failed one surely did not.
                    let partial = ran_here
                        || (0..i).any(|k| done.contains(&(step.index, k)))
                        || e.kind == ErrorKind::Transport;
                    return Err(Self::failure(step, statement, &e, Vec::new(), partial));
                }
            }
            self.renew(dataset_id, false).map_err(MigrateError::Store)?;
        }
        // The step as a whole: what `completed_steps` reads.
        self.journal_write(&run, step, (-1, ""), "done", None)
            .map_err(MigrateError::Store)
    }

    fn completed_steps(
        &mut self,
        dataset_id: &str,
        run_id: &str,
    ) -> Result<Vec<usize>, StoreError> {
        let o = self.q(
            r#"SELECT DISTINCT "STEP_INDEX" FROM "DEPOT_MIGRATE"."JOURNAL" WHERE "DATASET_ID" = ? AND "RUN_ID" = ? AND "STATUS" = 'done' AND "STATEMENT_INDEX" = -1 ORDER BY "STEP_INDEX""#,
            &[dataset_id.into(), run_id.into()],
        )?;
        let mut out: Vec<usize> = o
            .rows
            .iter()
            .filter_map(|r| r.first()?.as_deref()?.parse().ok())
            .collect();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn lease(&mut self, dataset_id: &str) -> Result<Option<LeaseInfo>, StoreError> {
        let o = self.q(
            r#"SELECT "HOLDER", "TOKEN", "STARTED", "EXPIRES" FROM "DEPOT_MIGRATE"."LEASE" WHERE "DATASET_ID" = ? AND "TOKEN" IS NOT NULL ORDER BY "VERSION" DESC"#,
            &[dataset_id.into()],
        )?;
        if o.rows.is_empty() {
            return Ok(None);
        }
        let holder = o
            .get(0, "HOLDER")
            .and_then(|h| serde_json::from_str(h).ok())
            .unwrap_or(Value::Null);
        Ok(Some(LeaseInfo::from_row(
            holder,
            o.get(0, "TOKEN").unwrap_or_default().to_string(),
            o.get(0, "STARTED").unwrap_or_default().to_string(),
        )))
    }

    fn renew_lease(&mut self, dataset_id: &str) -> Result<(), StoreError> {
        if !self.lease.contains_key(dataset_id) {
            return Err(StoreError::LockHeld {
                dataset: dataset_id.to_string(),
                holder: " (this process holds no lease)".into(),
            });
        }
        self.renew(dataset_id, true)
    }

    fn revoke_lease(&mut self, dataset_id: &str, token: &str) -> Result<bool, StoreError> {
        let o = self.q(
            r#"UPDATE "DEPOT_MIGRATE"."LEASE" SET "HOLDER" = NULL, "TOKEN" = NULL, "EXPIRES" = 0, "VERSION" = "VERSION" + 1 WHERE "DATASET_ID" = ? AND "TOKEN" = ?"#,
            &[dataset_id.into(), token.into()],
        )?;
        Ok(o.affected() >= 1)
    }

    fn dataset_ids(&mut self) -> Result<Vec<String>, StoreError> {
        let o = self.q(
            r#"SELECT DISTINCT "DATASET_ID" FROM "DEPOT_MIGRATE"."STATE" ORDER BY "DATASET_ID""#,
            &[],
        )?;
        Ok(o.rows
            .iter()
            .filter_map(|r| r.first().cloned().flatten())
            .collect())
    }

    fn catalog(&mut self, schema: &str) -> Result<BTreeSet<String>, StoreError> {
        self.describe(&schema.to_ascii_uppercase())
    }

    fn scratch_catalog(
        &mut self,
        build: &dyn Fn(&str) -> Vec<String>,
    ) -> Result<BTreeSet<String>, StoreError> {
        // A scratch schema of the same database, dropped afterwards.
        let name = format!(
            "depot_scratch_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let upper = name.to_ascii_uppercase();
        let result = (|| {
            for statement in build(&name) {
                self.q(&statement, &[]).map_err(|e| {
                    StoreError::Db(format!("building the expected catalog failed: {e}"))
                })?;
            }
            self.describe(&upper)
        })();
        let dropped = self.q(&format!(r#"DROP SCHEMA IF EXISTS "{upper}" CASCADE"#), &[]);
        let out = result?;
        dropped?;
        Ok(out)
    }

    fn pending_events(
        &mut self,
        dataset_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PendingRow>, StoreError> {
        self.materialize_all(dataset_id)?;
        let all = DestinationFilter {
            value: String::new(),
            prefix: true,
            legacy: true,
        };
        let rows = self.unpublished(dataset_id, &all, limit)?;
        Ok(rows.into_iter().map(|(r, _, d, v)| (r, d, v)).collect())
    }

    fn has_state(&mut self) -> Result<bool, StoreError> {
        match self.api.run(
            r#"SELECT "VALUE" FROM "DEPOT_MIGRATE"."META" WHERE "KEY" = 'schema_version'"#,
            &[],
        ) {
            Ok(o) => {
                let v = o.get(0, "VALUE").and_then(|v| v.parse::<i64>().ok());
                self.legacy_outbox = v.is_some_and(|v| v < 3);
                Ok(true)
            }
            Err(e) if e.kind == ErrorKind::Statement => Ok(false),
            Err(e) => Err(db(e)),
        }
    }

    fn publish_claimed(
        &mut self,
        dataset_id: Option<&str>,
        filter: &DestinationFilter,
        limit: usize,
        publish: &mut dyn FnMut(&[super::Outgoing]) -> usize,
    ) -> Result<Option<(usize, usize)>, StoreError> {
        let holder = json!({"host": crate::identity::host(), "pid": std::process::id()});
        let token = uuid::Uuid::new_v4().to_string();
        if self.try_lease(PUBLISHER, &holder, &token, 30)?.is_err() {
            return Ok(None);
        }
        let result = (|| {
            self.materialize_all(dataset_id)?;
            let rows = self.unpublished(dataset_id, filter, limit)?;
            if rows.is_empty() {
                return Ok(Some((0, 0)));
            }
            let envelopes: Vec<(Option<String>, Value)> = rows
                .iter()
                .map(|(_, _, d, v)| (d.clone(), v.clone()))
                .collect();
            let n = publish(&envelopes).min(rows.len());
            let at = now_rfc3339();
            if n > 0 {
                let marks = vec!["?"; n].join(", ");
                let mut binds: Vec<Bind> = vec![at.as_str().into()];
                binds.extend(
                    rows.iter()
                        .take(n)
                        .map(|(_, id, _, _)| Bind::from(id.as_str())),
                );
                self.q(
                    &format!(r#"UPDATE "DEPOT_MIGRATE"."OUTBOX" SET "PUBLISHED_AT" = ? WHERE "EVENT_ID" IN ({marks})"#),
                    &binds,
                )?;
            }
            Ok(Some((rows.len(), n)))
        })();
        let released = self.release(PUBLISHER);
        let r = result?;
        released?;
        Ok(r)
    }

    fn history(&mut self, dataset_id: &str) -> Result<Vec<Value>, StoreError> {
        self.materialize_for_read(dataset_id);
        let o = self.q(
            r#"SELECT "REVISION", "AT", "EVENT", "VERSION", "RUN_ID", "ACTOR", "REASON", "DETAIL" FROM "DEPOT_MIGRATE"."HISTORY" WHERE "DATASET_ID" = ? ORDER BY "REVISION""#,
            &[dataset_id.into()],
        )?;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for i in 0..o.rows.len() {
            let revision: i64 = o
                .get(i, "REVISION")
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            if !seen.insert(revision) {
                continue; // a duplicate from a race of two readers
            }
            out.push(json!({
                "revision": revision, "at": o.get(i, "AT"), "event": o.get(i, "EVENT"),
                "version": o.get(i, "VERSION"), "runId": o.get(i, "RUN_ID"), "actor": o.get(i, "ACTOR"),
                "reason": o.get(i, "REASON"),
                "detail": o.get(i, "DETAIL").and_then(|d| serde_json::from_str::<Value>(d).ok()).unwrap_or(Value::Null),
            }));
        }
        Ok(out)
    }
}

/// An unpublished outbox row: revision, event id, destination, envelope.
type UnpublishedRow = (i64, String, Option<String>, Value);

impl SnowflakeStore {
    /// Unpublished outbox rows that `filter` matches (revision, event id, destination,
    /// envelope), in order per dataset, duplicates dropped.
    fn unpublished(
        &mut self,
        dataset_id: Option<&str>,
        filter: &DestinationFilter,
        limit: usize,
    ) -> Result<Vec<UnpublishedRow>, StoreError> {
        let destination = if self.legacy_outbox {
            "NULL"
        } else {
            "\"DESTINATION\""
        };
        let o = self.q(
            &format!(r#"SELECT "REVISION", "EVENT_ID", "ENVELOPE", {destination} AS "DESTINATION" FROM "DEPOT_MIGRATE"."OUTBOX" WHERE "PUBLISHED_AT" IS NULL AND (? IS NULL OR "DATASET_ID" = ?) ORDER BY "DATASET_ID", "REVISION""#),
            &[
                Bind::Text(dataset_id.map(str::to_string)),
                Bind::Text(dataset_id.map(str::to_string)),
            ],
        )?;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for i in 0..o.rows.len() {
            let Some(event_id) = o.get(i, "EVENT_ID").map(str::to_string) else {
                continue;
            };
            if !seen.insert(event_id.clone()) {
                continue;
            }
            let dest = o.get(i, "DESTINATION").map(str::to_string);
            if !filter.matches(dest.as_deref()) {
                continue;
            }
            let revision = o
                .get(i, "REVISION")
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            let envelope = o
                .get(i, "ENVELOPE")
                .and_then(|e| serde_json::from_str(e).ok())
                .unwrap_or(Value::Null);
            out.push((revision, event_id, dest, envelope));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}

/// Which run's journal a row belongs to: the dataset, the run and the attempt of it.
#[derive(Clone, Copy)]
struct JournalRun<'a> {
    dataset_id: &'a str,
    run_id: &'a str,
    attempt: i64,
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_holders_are_only_local_gone_processes() {
        let me = json!({"host": "h", "pid": std::process::id()});
        assert!(!holder_is_dead(&me, "h"));
        let gone = json!({"host": "h", "pid": 4_000_000_000u64});
        assert!(holder_is_dead(&gone, "h"));
        assert!(!holder_is_dead(&gone, "other-host"));
    }
}
