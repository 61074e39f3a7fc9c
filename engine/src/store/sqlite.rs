//! SQLite state store: tables `depot_migrate_*` next to the dataset's tables. The lease
//! is a row taken by compare-and-set; the migration transaction is `BEGIN IMMEDIATE`
//! (SQLite's single writer), so two executors never interleave.

use super::sql;
use super::{DestinationFilter, PendingRow};
use super::{
    LeaseHolder, LeaseInfo, MigrateError, Store, StoreError, StoredState, Transition,
    STATE_SCHEMA_VERSION,
};
use crate::clock::{now_rfc3339, now_unix};
use depot_migrate_core::lifecycle::FailureClass;
use depot_migrate_core::plan::Step;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// A SQLite database holding a dataset and its state.
pub struct SqliteStore {
    conn: Connection,
    token: Option<String>,
    /// The outbox has no `destination` column (layout 2, seen by a read that must not
    /// upgrade it).
    legacy_outbox: bool,
    /// The state tables are known to be at this layout (checked or created once per
    /// store: every later [`Store::ensure_state_schema`] is free).
    schema_ready: bool,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Db(e.to_string())
}

/// How long a lease stays valid without renewal.
const LEASE_SECONDS: i64 = 300;

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS depot_migrate_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS depot_migrate_state (
  dataset_id TEXT PRIMARY KEY, environment_id TEXT NOT NULL, alias TEXT, engine TEXT NOT NULL,
  schema_name TEXT NOT NULL, revision INTEGER NOT NULL, synced TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'RUNNING', desired_version TEXT, attempted_version TEXT,
  deployed_version TEXT, last_failure TEXT, deployed_package TEXT, deployed_plan_hash TEXT);
CREATE TABLE IF NOT EXISTS depot_migrate_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id TEXT NOT NULL, revision INTEGER NOT NULL,
  at TEXT NOT NULL, event TEXT NOT NULL, version TEXT, run_id TEXT NOT NULL, actor TEXT NOT NULL,
  reason TEXT, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS depot_migrate_journal (
  id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id TEXT NOT NULL, run_id TEXT NOT NULL,
  step_index INTEGER NOT NULL, step_key TEXT NOT NULL, status TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS depot_migrate_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id TEXT NOT NULL, event_id TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL, envelope TEXT NOT NULL, published_at TEXT);
CREATE TABLE IF NOT EXISTS depot_migrate_lease (
  dataset_id TEXT PRIMARY KEY, holder TEXT NOT NULL, token TEXT NOT NULL, started TEXT NOT NULL,
  heartbeat INTEGER NOT NULL, expires INTEGER NOT NULL);
";

impl SqliteStore {
    /// Opens (creating) the database file.
    pub fn open(path: &str) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(db)?;
        // Foreign keys off (the bundled SQLite turns them on by default): a plan rebuilds a table
        // by dropping it and renaming a copy, which with keys on would delete or refuse
        // the rows that refer to it. The plan's last step checks every key with
        // `pragma_foreign_key_check` before it commits (core/src/plan_constraints.rs).
        conn.execute_batch("PRAGMA foreign_keys = OFF")
            .map_err(db)?;
        Ok(SqliteStore {
            conn,
            token: None,
            legacy_outbox: false,
            schema_ready: false,
        })
    }

    fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool, StoreError> {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
                params![table, column],
                |r| r.get(0),
            )
            .map_err(db)?;
        Ok(n > 0)
    }
}

/// The shared state statements ([`super::sql`]) over a SQLite connection or transaction.
struct Sqlite<'a>(&'a Connection);

impl sql::Driver for Sqlite<'_> {
    fn tables(&self) -> &'static str {
        "depot_migrate_"
    }

    fn execute(&mut self, template: &str, params: &[sql::Param<'_>]) -> Result<u64, StoreError> {
        let text = sql::render(template, self.tables(), '?');
        let mut st = self.0.prepare_cached(&text).map_err(db)?;
        let n = st
            .execute(rusqlite::params_from_iter(params.iter().map(bind)))
            .map_err(db)?;
        Ok(n as u64)
    }

    fn query(
        &mut self,
        template: &str,
        params: &[sql::Param<'_>],
        kinds: &[sql::Kind],
    ) -> Result<Vec<Vec<sql::Cell>>, StoreError> {
        let text = sql::render(template, self.tables(), '?');
        let mut st = self.0.prepare_cached(&text).map_err(db)?;
        let mut rows = st
            .query(rusqlite::params_from_iter(params.iter().map(bind)))
            .map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let mut cells = Vec::with_capacity(kinds.len());
            for (i, kind) in kinds.iter().enumerate() {
                cells.push(cell(row.get_ref(i).map_err(db)?, *kind));
            }
            out.push(cells);
        }
        Ok(out)
    }
}

/// A shared statement's parameter as SQLite binds it (JSON as its text).
fn bind(p: &sql::Param<'_>) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match p {
        sql::Param::Text(Some(t)) => V::Text((*t).to_string()),
        sql::Param::Int(Some(i)) => V::Integer(*i),
        sql::Param::Json(Some(v)) => V::Text(v.to_string()),
        sql::Param::Text(None) | sql::Param::Int(None) | sql::Param::Json(None) => V::Null,
    }
}

/// A column as the shared statements read it (JSON columns are text holding JSON).
fn cell(v: rusqlite::types::ValueRef<'_>, kind: sql::Kind) -> sql::Cell {
    use rusqlite::types::ValueRef as R;
    match (v, kind) {
        (R::Null, _) => sql::Cell::Null,
        (R::Integer(i), sql::Kind::Int) => sql::Cell::Int(i),
        (R::Text(t), sql::Kind::Json) => {
            sql::Cell::Json(serde_json::from_slice(t).unwrap_or(Value::Null))
        }
        (R::Text(t), _) => sql::Cell::Text(String::from_utf8_lossy(t).into_owned()),
        (R::Integer(i), _) => sql::Cell::Text(i.to_string()),
        (R::Real(f), _) => sql::Cell::Text(f.to_string()),
        (R::Blob(b), _) => sql::Cell::Text(String::from_utf8_lossy(b).into_owned()),
    }
}

/// Whether a lease holder ran on this host and its process is gone (killed): such a
/// holder can never renew or release its lease.
fn holder_is_dead(holder: &Value, this_host: &str) -> bool {
    let same_host = holder["host"].as_str() == Some(this_host);
    let gone = holder["pid"]
        .as_u64()
        .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
    same_host && gone && std::path::Path::new("/proc/self").exists()
}

impl Store for SqliteStore {
    fn ensure_state_schema(&mut self) -> Result<(), StoreError> {
        if self.schema_ready {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        tx.execute_batch(SCHEMA_V1).map_err(db)?;
        // Layout 2: the submission and the current run on the state row.
        let has_submission: i64 = tx
            .query_row(
                "SELECT count(*) FROM pragma_table_info('depot_migrate_state') WHERE name = 'submission'",
                [],
                |r| r.get(0),
            )
            .map_err(db)?;
        if has_submission == 0 {
            tx.execute_batch(
                "ALTER TABLE depot_migrate_state ADD COLUMN submission TEXT;
                 ALTER TABLE depot_migrate_state ADD COLUMN submitted_revision INTEGER;
                 ALTER TABLE depot_migrate_state ADD COLUMN run_id TEXT;",
            )
            .map_err(db)?;
        }
        // Layout 3: each outbox row's destination.
        if !SqliteStore::has_column(&tx, "depot_migrate_outbox", "destination")? {
            tx.execute_batch("ALTER TABLE depot_migrate_outbox ADD COLUMN destination TEXT;")
                .map_err(db)?;
        }
        let current: Option<String> = tx
            .query_row(
                "SELECT value FROM depot_migrate_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        match current.and_then(|v| v.parse::<i64>().ok()) {
            None => {
                tx.execute("INSERT INTO depot_migrate_meta (key, value) VALUES ('schema_version', ?1)", params![STATE_SCHEMA_VERSION.to_string()])
                    .map_err(db)?;
            }
            Some(v) if v > STATE_SCHEMA_VERSION => {
                return Err(StoreError::Db(format!(
                    "the state tables are at layout version {v}, newer than this depot-migrate understands ({STATE_SCHEMA_VERSION}); upgrade depot-migrate"
                )))
            }
            Some(v) if v < STATE_SCHEMA_VERSION => {
                tx.execute("UPDATE depot_migrate_meta SET value = ?1 WHERE key = 'schema_version'", params![STATE_SCHEMA_VERSION.to_string()])
                    .map_err(db)?;
            }
            Some(_) => {}
        }
        tx.commit().map_err(db)?;
        self.legacy_outbox = false;
        self.schema_ready = true;
        Ok(())
    }

    fn has_state(&mut self) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'depot_migrate_state'",
                [],
                |r| r.get(0),
            )
            .map_err(db)?;
        self.legacy_outbox =
            n > 0 && !SqliteStore::has_column(&self.conn, "depot_migrate_outbox", "destination")?;
        Ok(n > 0)
    }

    fn lock(
        &mut self,
        dataset_id: &str,
        holder: &LeaseHolder,
        wait: Duration,
    ) -> Result<(), StoreError> {
        let start = Instant::now();
        let holder_json = holder.to_json(now_unix()).to_string();
        loop {
            let now = now_unix();
            let changed = self
                .conn
                .execute(
                    "INSERT INTO depot_migrate_lease (dataset_id, holder, token, started, heartbeat, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (dataset_id) DO UPDATE SET holder = excluded.holder, token = excluded.token, started = excluded.started, heartbeat = excluded.heartbeat, expires = excluded.expires
                     WHERE depot_migrate_lease.expires < ?5",
                    params![dataset_id, holder_json, holder.token, now_rfc3339(), now, now + LEASE_SECONDS],
                )
                .map_err(db)?;
            if changed == 1 {
                self.token = Some(holder.token.clone());
                return Ok(());
            }
            // A holder on this host whose process is gone (killed) cannot renew: take over.
            let row: Option<(String, String)> = self
                .conn
                .query_row(
                    "SELECT holder, started FROM depot_migrate_lease WHERE dataset_id = ?1",
                    params![dataset_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db)?;
            let started = row.as_ref().map(|r| r.1.clone());
            let holder_now = row.map(|r| r.0);
            let parsed = holder_now
                .as_deref()
                .and_then(|h| serde_json::from_str::<Value>(h).ok());
            if let Some(h) = parsed.filter(|h| holder_is_dead(h, &holder.host)) {
                eprintln!(
                    "warning: the previous executor (pid {}) is gone; taking over its lease",
                    h["pid"]
                );
                self.conn
                    .execute(
                        "UPDATE depot_migrate_lease SET expires = 0 WHERE dataset_id = ?1 AND holder = ?2",
                        params![dataset_id, holder_now],
                    )
                    .map_err(db)?;
                continue;
            }
            if start.elapsed() >= wait {
                return Err(StoreError::LockHeld {
                    dataset: dataset_id.to_string(),
                    holder: holder_now
                        .map(|w| super::describe_holder(&w, started.as_deref()))
                        .unwrap_or_default(),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn unlock(&mut self, dataset_id: &str) -> Result<(), StoreError> {
        if let Some(token) = self.token.take() {
            self.conn
                .execute(
                    "DELETE FROM depot_migrate_lease WHERE dataset_id = ?1 AND token = ?2",
                    params![dataset_id, token],
                )
                .map_err(db)?;
        }
        Ok(())
    }

    fn lock_held_elsewhere(&mut self, dataset_id: &str) -> Result<bool, StoreError> {
        let holder: Option<String> = self
            .conn
            .query_row(
                "SELECT holder FROM depot_migrate_lease WHERE dataset_id = ?1 AND expires >= ?2 AND token IS NOT ?3",
                params![dataset_id, now_unix(), self.token],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        let this_host = crate::identity::host();
        Ok(holder
            .and_then(|h| serde_json::from_str::<Value>(&h).ok())
            .is_some_and(|h| !holder_is_dead(&h, this_host)))
    }

    fn read_state(&mut self, dataset_id: &str) -> Result<Option<StoredState>, StoreError> {
        sql::read_state(&mut Sqlite(&self.conn), dataset_id)
    }

    fn transition(&mut self, t: &Transition) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        sql::write_transition(&mut Sqlite(&tx), t)?;
        tx.commit().map_err(db)
    }

    fn migrate(
        &mut self,
        dataset_id: &str,
        run_id: &str,
        steps: &[Step],
        _lock_timeout: Duration,
        then: &Transition,
        progress: &mut dyn FnMut(&Step),
    ) -> Result<(), MigrateError> {
        let token = self.token.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| MigrateError::Store(db(e)))?;
        for step in steps {
            progress(step);
            for statement in &step.sql {
                if let Err(e) = tx.execute(statement, []) {
                    let code = match &e {
                        rusqlite::Error::SqliteFailure(f, _) => Some(format!("{:?}", f.code)),
                        _ => None,
                    };
                    let retryable = matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy);
                    return Err(MigrateError::statement_failed(
                        step,
                        statement,
                        FailureClass::Step,
                        code,
                        &e.to_string(),
                        retryable,
                    ));
                }
            }
            // Prepared once per connection (the statement cache), not parsed again per step.
            tx.prepare_cached(
                "INSERT INTO depot_migrate_journal (dataset_id, run_id, step_index, step_key, status, at) VALUES (?1, ?2, ?3, ?4, 'done', ?5)",
            )
            .and_then(|mut st| {
                st.execute(params![dataset_id, run_id, step.index as i64, step.key, now_rfc3339()])
            })
            .map_err(|e| MigrateError::Store(db(e)))?;
        }
        sql::fenced_transition(&mut Sqlite(&tx), dataset_id, token.as_deref(), then)
            .map_err(MigrateError::Store)?;
        tx.commit().map_err(|e| MigrateError::Store(db(e)))
    }

    fn pending_events(
        &mut self,
        dataset_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PendingRow>, StoreError> {
        sql::pending_events(
            &mut Sqlite(&self.conn),
            dataset_id,
            limit,
            self.legacy_outbox,
        )
    }

    fn publish_claimed(
        &mut self,
        dataset_id: Option<&str>,
        filter: &DestinationFilter,
        limit: usize,
        publish: &mut dyn FnMut(&[super::Outgoing]) -> usize,
    ) -> Result<Option<(usize, usize)>, StoreError> {
        // BEGIN IMMEDIATE: SQLite's single writer is the claim.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let batch: Vec<(i64, String, Option<String>)> = {
            let mut st = tx
                .prepare("SELECT id, envelope, destination FROM depot_migrate_outbox WHERE published_at IS NULL AND (?1 IS NULL OR dataset_id = ?1)
                            AND (CASE WHEN destination IS NULL THEN ?4 WHEN ?5 THEN substr(destination, 1, length(?3)) = ?3 ELSE destination = ?3 END)
                          ORDER BY id LIMIT ?2")
                .map_err(db)?;
            let rows = st
                .query_map(
                    params![
                        dataset_id,
                        limit as i64,
                        filter.value,
                        filter.legacy,
                        filter.prefix
                    ],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?)),
                )
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)?
        };
        if batch.is_empty() {
            return Ok(Some((0, 0)));
        }
        let envelopes: Vec<(Option<String>, Value)> = batch
            .iter()
            .map(|(_, e, d)| (d.clone(), serde_json::from_str(e).unwrap_or(Value::Null)))
            .collect();
        let n = publish(&envelopes).min(batch.len());
        let at = now_rfc3339();
        for (id, _, _) in batch.iter().take(n) {
            tx.execute(
                "UPDATE depot_migrate_outbox SET published_at = ?2 WHERE id = ?1",
                params![id, at],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(Some((batch.len(), n)))
    }

    fn run_step(
        &mut self,
        dataset_id: &str,
        run_id: &str,
        step: &Step,
        _lock_timeout: Duration,
    ) -> Result<(), MigrateError> {
        let token = self.token.clone();
        // SQLite DDL is transactional: the step and its journal row commit together,
        // after the fencing check, under SQLite's single writer.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| MigrateError::Store(db(e)))?;
        let ours: i64 = tx
            .query_row(
                "SELECT count(*) FROM depot_migrate_lease WHERE dataset_id = ?1 AND token IS ?2",
                params![dataset_id, token],
                |r| r.get(0),
            )
            .map_err(|e| MigrateError::Store(db(e)))?;
        if ours != 1 {
            return Err(MigrateError::Store(StoreError::LockHeld {
                dataset: dataset_id.to_string(),
                holder: " (our lease was revoked or taken over)".into(),
            }));
        }
        for statement in &step.sql {
            if let Err(e) = tx.execute(statement, []) {
                return Err(step_error(step, statement, &e));
            }
        }
        tx.execute(
            "INSERT INTO depot_migrate_journal (dataset_id, run_id, step_index, step_key, status, at) VALUES (?1, ?2, ?3, ?4, 'done', ?5)",
            params![dataset_id, run_id, step.index as i64, step.key, now_rfc3339()],
        )
        .map_err(|e| MigrateError::Store(db(e)))?;
        tx.commit().map_err(|e| MigrateError::Store(db(e)))
    }

    fn completed_steps(
        &mut self,
        dataset_id: &str,
        run_id: &str,
    ) -> Result<Vec<usize>, StoreError> {
        sql::completed_steps(&mut Sqlite(&self.conn), dataset_id, run_id)
    }

    fn lease(&mut self, dataset_id: &str) -> Result<Option<LeaseInfo>, StoreError> {
        sql::lease(&mut Sqlite(&self.conn), dataset_id)
    }

    fn renew_lease(&mut self, dataset_id: &str) -> Result<(), StoreError> {
        let now = now_unix();
        let n = self
            .conn
            .execute(
                "UPDATE depot_migrate_lease SET heartbeat = ?3, expires = ?4 WHERE dataset_id = ?1 AND token IS ?2",
                params![dataset_id, self.token, now, now + LEASE_SECONDS],
            )
            .map_err(db)?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::LockHeld {
                dataset: dataset_id.to_string(),
                holder: " (our lease was revoked or taken over)".into(),
            })
        }
    }

    fn revoke_lease(&mut self, dataset_id: &str, token: &str) -> Result<bool, StoreError> {
        sql::revoke_lease(&mut Sqlite(&self.conn), dataset_id, token)
    }

    fn dataset_ids(&mut self) -> Result<Vec<String>, StoreError> {
        sql::dataset_ids(&mut Sqlite(&self.conn))
    }

    fn catalog(&mut self, _schema: &str) -> Result<BTreeSet<String>, StoreError> {
        describe(&self.conn).map_err(db)
    }

    fn inspect(
        &mut self,
        _schema: &str,
    ) -> Result<depot_migrate_core::inspect::LiveCatalog, StoreError> {
        super::inspect_sqlite::read(&self.conn).map_err(db)
    }

    fn scratch_catalog(
        &mut self,
        build: &dyn Fn(&str) -> Vec<String>,
    ) -> Result<BTreeSet<String>, StoreError> {
        // SQLite has no schemas: an in-memory database is the scratch space.
        let scratch = Connection::open_in_memory().map_err(db)?;
        for statement in build("main") {
            scratch.execute(&statement, []).map_err(|e| {
                StoreError::Db(format!("building the expected catalog failed: {e}"))
            })?;
        }
        describe(&scratch).map_err(db)
    }

    fn history(&mut self, dataset_id: &str) -> Result<Vec<Value>, StoreError> {
        sql::history(&mut Sqlite(&self.conn), dataset_id)
    }
}

fn step_error(step: &Step, statement: &str, e: &rusqlite::Error) -> MigrateError {
    let code = match e {
        rusqlite::Error::SqliteFailure(f, _) => Some(format!("{:?}", f.code)),
        _ => None,
    };
    let retryable = matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy);
    MigrateError::statement_failed(
        step,
        statement,
        FailureClass::Step,
        code,
        &e.to_string(),
        retryable,
    )
}

/// The dataset's catalog from SQLite's own description of its tables and indexes (not
/// the stored `CREATE` texts, which `ALTER TABLE` edits differently than a fresh create
/// writes them).
fn describe(conn: &Connection) -> Result<BTreeSet<String>, rusqlite::Error> {
    let mut out = BTreeSet::new();
    let tables: Vec<String> = {
        let mut st = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'depot_migrate%' AND name NOT LIKE 'sqlite_%' ORDER BY name")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for t in &tables {
        out.insert(format!("table {t}"));
        let mut st = conn.prepare("SELECT name, type, \"notnull\", coalesce(dflt_value, ''), pk FROM pragma_table_info(?1)")?;
        let rows = st.query_map(params![t], |r| {
            Ok(format!(
                "column {t}.{} {} notnull={} default={} pk={}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?
            ))
        })?;
        for r in rows {
            out.insert(r?);
        }
        let mut st = conn.prepare("SELECT l.name, l.\"unique\", l.origin, l.partial, (SELECT group_concat(coalesce(i.name, '?'), ',') FROM (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno) i) FROM pragma_index_list(?1) l")?;
        let rows = st.query_map(params![t], |r| {
            let name: String = r.get(0)?;
            let origin: String = r.get(2)?;
            // Automatic indexes are named after their table's creation order: describe
            // them by what they index instead.
            let shown = if name.starts_with("sqlite_autoindex") {
                "(auto)".to_string()
            } else {
                name
            };
            Ok(format!(
                "index {t}.{shown} unique={} origin={origin} partial={} columns={}",
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?.unwrap_or_default()
            ))
        })?;
        for r in rows {
            out.insert(r?);
        }
    }
    Ok(out)
}
