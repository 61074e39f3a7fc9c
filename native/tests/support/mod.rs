//! Helpers for the black-box CLI tests in `tests/apply.rs`: a per-test scratch directory,
//! a per-test database (a SQLite file, or a PostgreSQL database created on the throwaway
//! server of `scripts/with-services.sh`), a runner for the binary with a clean
//! environment, and catalog queries that look at the database directly.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_depot-migrate");

/// The first key of depot-migrate's advisory locks ("DPMG").
pub const LOCK_NAMESPACE: i32 = 0x4450_4d47;

/// Variables that would change what the binary does, removed from every run unless a test
/// sets them itself.
const SCRUBBED_ENV: &[&str] = &[
    "DEPOT_DATABASE_URL",
    "DEPOT_AWS_ACCOUNT_ID",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "PGPASSWORD",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGOPTIONS",
    "PGSERVICE",
    "PGPASSFILE",
];

/// The same test on both engines:
/// `engine_tests!(lifecycle_sqlite, lifecycle_postgres => first_apply);` defines
/// `#[test] fn lifecycle_sqlite() { first_apply(Engine::Sqlite) }` and its PostgreSQL twin.
#[macro_export]
macro_rules! engine_tests {
    ($sqlite:ident, $postgres:ident => $body:path) => {
        #[test]
        fn $sqlite() {
            $body($crate::support::Engine::Sqlite)
        }

        #[test]
        fn $postgres() {
            $body($crate::support::Engine::Postgres)
        }
    };
}

/// The engines the tests run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in the test's scratch directory.
    Sqlite,
    /// A database of its own on the test PostgreSQL server.
    Postgres,
}

impl Engine {
    /// The dataset config's `engine`.
    pub fn id(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// The admin URL of the test PostgreSQL server.
pub fn pg_admin_url() -> String {
    std::env::var("DEPOT_TEST_PG_URL").expect(
        "DEPOT_TEST_PG_URL is not set: run the tests through scripts/with-services.sh, which starts a throwaway PostgreSQL",
    )
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL with ://");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let query = path.find('?').map(|i| &path[i..]).unwrap_or("");
    format!("{scheme}://{authority}/{db}{query}")
}

/// `url` with a password added to its user (user `postgres` when it names none).
pub fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL with ://");
    let slash = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(slash);
    let authority = match authority.split_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap_or("postgres");
            format!("{user}:{password}@{host}")
        }
        None => format!("postgres:{password}@{authority}"),
    };
    format!("{scheme}://{authority}{tail}")
}

/// `url` pointing at another host and port (keeps user, password and database).
pub fn with_host_port(url: &str, host_port: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL with ://");
    let slash = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(slash);
    let authority = match authority.split_once('@') {
        Some((user, _)) => format!("{user}@{host_port}"),
        None => host_port.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// A connection to a PostgreSQL URL.
pub fn pg_connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"))
}

/// The second advisory-lock key of a dataset: the first 4 bytes of sha256(datasetId),
/// big-endian (engine/src/store/postgres.rs `lock_key`).
pub fn lock_key(dataset_id: &str) -> i32 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(dataset_id.as_bytes());
    i32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The repository's `examples/` directory.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Path of an example file, as a string.
pub fn example(name: &str) -> String {
    let p = examples().join(name);
    assert!(p.is_file(), "missing example {}", p.display());
    p.to_string_lossy().into_owned()
}

/// An example file, parsed.
pub fn example_json(name: &str) -> Value {
    let text = std::fs::read_to_string(examples().join(name)).expect("read example");
    serde_json::from_str(&text).expect("example is JSON")
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// One run of the binary.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The command line, for messages.
    pub args: Vec<String>,
}

impl Run {
    fn from_output(args: Vec<String>, out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            args,
        }
    }

    /// Asserts the exit code, showing everything when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "depot-migrate {:?} exited {} (expected {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Asserts exit 0.
    #[track_caller]
    pub fn ok(&self) -> &Run {
        self.expect_code(0)
    }

    /// Standard output as JSON lines (every non-empty line must be a JSON object).
    #[track_caller]
    pub fn events(&self) -> Vec<Value> {
        parse_jsonl(&self.stdout, &format!("stdout of {:?}", self.args))
    }

    /// The `event` of every event on stdout.
    #[track_caller]
    pub fn event_names(&self) -> Vec<String> {
        names(&self.events())
    }

    /// Standard output as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout of {:?} is not one JSON document ({e}):\n{}",
                self.args, self.stdout
            )
        })
    }

    /// Everything the run printed.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Parses JSON lines; every non-empty line must be a JSON object.
#[track_caller]
pub fn parse_jsonl(text: &str, what: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| {
                panic!("{what}: a line is not JSON ({e}): {l:?}\nall:\n{text}")
            });
            assert!(v.is_object(), "{what}: a line is not a JSON object: {l}");
            v
        })
        .collect()
}

/// `detail.event` of each event.
pub fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["detail"]["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// A per-test scratch directory and database.
pub struct Ctx {
    /// The engine.
    pub engine: Engine,
    /// Scratch directory (files, current directory of every run).
    pub dir: PathBuf,
    /// The `--db` URL of this test's database.
    pub url: String,
    /// This test's dataset id (unique, so that nothing collides even in a shared database).
    pub dataset_id: String,
    /// The dataset's schema (Postgres) / namespace.
    pub schema: String,
    pg: Option<PgDatabase>,
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Keep the database of a failed test for inspection; the server is throwaway.
        if std::thread::panicking() {
            eprintln!("(keeping database {} of the failed test)", self.name);
            return;
        }
        if let Ok(mut c) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

impl Ctx {
    /// A fresh scratch directory and an empty database for `test`.
    pub fn new(engine: Engine, test: &str) -> Ctx {
        let id = short_id();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("apply")
            .join(format!("{test}-{}-{id}", engine.id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let (url, pg) = match engine {
            Engine::Sqlite => (
                format!("sqlite:{}", dir.join("db.sqlite").to_string_lossy()),
                None,
            ),
            Engine::Postgres => {
                let admin_url = pg_admin_url();
                let name = format!("t_{}_{id}", test.to_lowercase().replace('-', "_"));
                let name: String = name.chars().take(63).collect();
                let mut admin = pg_connect(&admin_url);
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
                (
                    with_database(&admin_url, &name),
                    Some(PgDatabase { admin_url, name }),
                )
            }
        };
        Ctx {
            engine,
            dir,
            url,
            dataset_id: format!("ds-{id}"),
            schema: "dogs".into(),
            pg,
        }
    }

    /// A path in the scratch directory.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// Writes a JSON file into the scratch directory; returns its path.
    pub fn write_json(&self, name: &str, v: &Value) -> String {
        let p = self.path(name);
        std::fs::write(&p, serde_json::to_vec_pretty(v).expect("json")).expect("write");
        p
    }

    /// The dataset config of this test (no event bus, so stdout events get no warning),
    /// with `extra` members merged in.
    pub fn dataset_json(&self, extra: Value) -> Value {
        let mut d = json!({
            "environmentId": "e2e404529091ed2",
            "datasetId": self.dataset_id,
            "datasetAlias": "WsDevDogSrc",
            "engine": self.engine.id(),
            "schema": self.schema,
            "migrationMode": "synchronous",
        });
        if let (Some(o), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                o.insert(k.clone(), v.clone());
            }
        }
        d
    }

    /// Writes the dataset config (see `dataset_json`) as `name`; returns its path.
    pub fn dataset(&self, name: &str, extra: Value) -> String {
        self.write_json(name, &self.dataset_json(extra))
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> (Command, Vec<String>) {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(&self.dir).stdin(Stdio::null());
        for k in SCRUBBED_ENV {
            cmd.env_remove(k);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        (cmd, args.iter().map(|s| s.to_string()).collect())
    }

    /// Runs the binary in the scratch directory with a clean environment plus `env`.
    pub fn cli_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let (mut cmd, args) = self.command(args, env);
        let out = cmd.output().expect("run depot-migrate");
        Run::from_output(args, out)
    }

    /// Runs the binary in the scratch directory with a clean environment.
    pub fn cli(&self, args: &[&str]) -> Run {
        self.cli_env(args, &[])
    }

    /// Starts the binary with stdout and stderr piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        let (mut cmd, _) = self.command(args, &[]);
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn depot-migrate")
    }

    /// `apply --package P --dataset D --db URL EXTRA...`
    pub fn apply(&self, package: &str, dataset: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "apply",
            "--package",
            package,
            "--dataset",
            dataset,
            "--db",
            &self.url,
        ];
        args.extend_from_slice(extra);
        self.cli(&args)
    }

    /// `hash`.
    pub fn hash(&self, package: &str, dataset: &str) -> String {
        let r = self.cli(&["hash", "--package", package, "--dataset", dataset]);
        r.ok();
        let h = r.stdout.trim().to_string();
        assert!(
            h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()),
            "hash: {h:?}"
        );
        h
    }

    /// `status` (must succeed), parsed.
    #[track_caller]
    pub fn status(&self, dataset: &str) -> Value {
        let r = self.cli(&[
            "status",
            "--dataset",
            dataset,
            "--db",
            &self.url,
            "--output",
            "json",
        ]);
        r.ok();
        r.json()
    }

    /// `history` (must succeed), parsed (JSON lines).
    #[track_caller]
    pub fn history(&self, dataset: &str) -> Vec<Value> {
        let r = self.cli(&[
            "history",
            "--dataset",
            dataset,
            "--db",
            &self.url,
            "--output",
            "json",
        ]);
        r.ok();
        r.json().as_array().cloned().unwrap_or_default()
    }

    /// `plan --package P --dataset D --db URL` (JSON), with its exit code.
    pub fn plan_db(&self, package: &str, dataset: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "plan",
            "--package",
            package,
            "--dataset",
            dataset,
            "--db",
            &self.url,
        ];
        args.extend_from_slice(extra);
        self.cli(&args)
    }

    /// `events flush --db URL --events stdout`, which must succeed.
    #[track_caller]
    pub fn flush(&self) -> Run {
        let r = self.cli(&["events", "flush", "--db", &self.url, "--events", "stdout"]);
        r.ok();
        r
    }

    /// The table name as SQL written by hand must spell it here.
    pub fn q(&self, table: &str) -> String {
        match self.engine {
            Engine::Sqlite => format!("\"{table}\""),
            Engine::Postgres => format!("\"{}\".\"{table}\"", self.schema),
        }
    }

    /// Runs SQL directly on the test's database (a batch, no results).
    #[track_caller]
    pub fn sql(&self, sql: &str) {
        match self.engine {
            Engine::Sqlite => {
                let c = self.sqlite();
                c.execute_batch(sql)
                    .unwrap_or_else(|e| panic!("sqlite {sql}: {e}"));
            }
            Engine::Postgres => {
                let mut c = pg_connect(&self.url);
                c.batch_execute(sql)
                    .unwrap_or_else(|e| panic!("postgres {sql}: {e}"));
            }
        }
    }

    /// A connection to the test's SQLite file.
    pub fn sqlite(&self) -> rusqlite::Connection {
        let path = self.url.strip_prefix("sqlite:").expect("sqlite url");
        rusqlite::Connection::open(path).expect("open sqlite")
    }

    /// A connection to the test's PostgreSQL database.
    pub fn pg(&self) -> postgres::Client {
        pg_connect(&self.url)
    }

    /// The dataset's tables (not depot-migrate's own).
    pub fn tables(&self) -> BTreeSet<String> {
        match self.engine {
            Engine::Sqlite => self.sqlite_strings("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'depot_migrate%' AND name NOT LIKE 'sqlite_%'"),
            Engine::Postgres => self.pg_strings("SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'"),
        }
    }

    /// The columns of a table.
    pub fn columns(&self, table: &str) -> BTreeSet<String> {
        match self.engine {
            Engine::Sqlite => {
                let c = self.sqlite();
                let mut st = c
                    .prepare(&format!("PRAGMA table_info(\"{table}\")"))
                    .expect("pragma");
                let rows = st.query_map([], |r| r.get::<_, String>(1)).expect("query");
                rows.map(|r| r.expect("row")).collect()
            }
            Engine::Postgres => {
                let mut c = self.pg();
                c.query(
                    "SELECT a.attname::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
                    &[&self.schema, &table],
                )
                .expect("columns")
                .iter()
                .map(|r| r.get(0))
                .collect()
            }
        }
    }

    /// The dataset's index names (not automatic ones on SQLite).
    pub fn indexes(&self) -> BTreeSet<String> {
        match self.engine {
            Engine::Sqlite => self.sqlite_strings("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' AND tbl_name NOT LIKE 'depot_migrate%'"),
            Engine::Postgres => self.pg_strings("SELECT indexname::text FROM pg_indexes WHERE schemaname = $1"),
        }
    }

    /// Everything that describes the dataset's schema in the catalog, for "exactly as
    /// before" comparisons.
    pub fn catalog(&self) -> BTreeSet<String> {
        match self.engine {
            Engine::Sqlite => self.sqlite_strings("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'depot_migrate%' AND tbl_name NOT LIKE 'depot_migrate%' AND name NOT LIKE 'sqlite_%'"),
            Engine::Postgres => {
                let mut out = BTreeSet::new();
                for sql in [
                    "SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname = $1",
                    "SELECT 'relation ' || c.relname || ' kind=' || c.relkind::text || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
                    "SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull::text || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' comment=' || coalesce(col_description(c.oid, a.attnum), '') FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped",
                    "SELECT 'constraint ' || c.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
                    "SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = $1",
                ] {
                    out.extend(self.pg_strings(sql));
                }
                out
            }
        }
    }

    /// Rows of a table as text, in key order (to see that data survived).
    pub fn row_count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {}", self.q(table));
        match self.engine {
            Engine::Sqlite => self
                .sqlite()
                .query_row(&sql, [], |r| r.get(0))
                .expect("count"),
            Engine::Postgres => self.pg().query_one(&sql, &[]).expect("count").get(0),
        }
    }

    /// Everything depot-migrate stored in the database as text (state, history, outbox,
    /// lease, journal, meta), to look for things that must not be there.
    pub fn state_dump(&self) -> String {
        let mut out = String::new();
        match self.engine {
            Engine::Sqlite => {
                let c = self.sqlite();
                let tables: Vec<String> = {
                    let mut st = c
                        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'depot_migrate%'")
                        .expect("prepare");
                    let rows = st.query_map([], |r| r.get(0)).expect("query");
                    rows.map(|r| r.expect("row")).collect()
                };
                for t in tables {
                    let mut st = c
                        .prepare(&format!("SELECT * FROM \"{t}\""))
                        .expect("prepare");
                    let n = st.column_count();
                    let mut rows = st.query([]).expect("query");
                    while let Some(r) = rows.next().expect("row") {
                        for i in 0..n {
                            let v: rusqlite::types::Value = r.get(i).expect("value");
                            out.push_str(&format!("{v:?} "));
                        }
                        out.push('\n');
                    }
                }
            }
            Engine::Postgres => {
                let mut c = self.pg();
                let tables: Vec<String> = c
                    .query(
                        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'depot_migrate'",
                        &[],
                    )
                    .expect("tables")
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                for t in tables {
                    for r in c
                        .query(&format!("SELECT t::text FROM depot_migrate.\"{t}\" t"), &[])
                        .expect("dump")
                    {
                        out.push_str(&r.get::<_, String>(0));
                        out.push('\n');
                    }
                }
            }
        }
        out
    }

    fn sqlite_strings(&self, sql: &str) -> BTreeSet<String> {
        let c = self.sqlite();
        let mut st = c.prepare(sql).expect("prepare");
        let rows = st.query_map([], |r| r.get::<_, String>(0)).expect("query");
        rows.map(|r| r.expect("row")).collect()
    }

    fn pg_strings(&self, sql: &str) -> BTreeSet<String> {
        let mut c = self.pg();
        c.query(sql, &[&self.schema])
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect()
    }
}

/// What [`check_envelope`] expects of an event.
pub struct Envelope<'a> {
    /// `detail.datasetId`.
    pub dataset_id: &'a str,
    /// `detail.datasetAlias`.
    pub alias: &'a str,
    /// `detail.engine`.
    pub engine: &'a str,
    /// `detail.event`.
    pub event: &'a str,
    /// `detail.datasetVersionHash`.
    pub version_hash: &'a str,
}

/// A lowercase SHA-256 hex digest.
pub fn is_hex64(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

/// An RFC 3339 UTC time (`2025-05-16T08:13:22Z`, fractions allowed).
pub fn is_rfc3339_utc(v: &Value) -> bool {
    // 2025-05-16T08:13:22Z (the observability page's shape), fractions allowed.
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    b.len() >= 20
        && s.ends_with('Z')
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
}

/// Checks one lifecycle event against the envelope of the Depot migrations observability
/// page and the additions of docs/design.md: every member, the detail's identity and
/// version, ids, revision, times, and `error` on failed events only. The dataset is one
/// of the examples' (environment `e2e404529091ed2`).
#[track_caller]
pub fn check_envelope(e: &Value, x: &Envelope<'_>) {
    let (event, version_hash) = (x.event, x.version_hash);
    let top: BTreeSet<&str> = e
        .as_object()
        .expect("event object")
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    .into_iter()
    .collect();
    assert_eq!(top, expected, "envelope members of {e}");
    assert_eq!(e["version"], "0", "{e}");
    assert!(e["id"].as_str().is_some_and(|s| !s.is_empty()), "id: {e}");
    assert_eq!(e["detail-type"], "migration-lifecycle", "{e}");
    assert_eq!(e["source"], "tech.stage.depot", "{e}");
    assert!(e["account"].is_string(), "account: {e}");
    assert!(e["region"].is_string(), "region: {e}");
    assert!(is_rfc3339_utc(&e["time"]), "time: {e}");
    assert_eq!(e["resources"], json!([]), "{e}");
    let d = &e["detail"];
    assert_eq!(d["type"], "lifecycle", "{e}");
    assert_eq!(d["environmentId"], "e2e404529091ed2", "{e}");
    assert_eq!(d["datasetId"], x.dataset_id, "{e}");
    assert_eq!(d["datasetAlias"], x.alias, "{e}");
    assert!(
        d["environmentUri"].as_str().is_some_and(|s| !s.is_empty()),
        "environmentUri: {e}"
    );
    assert_eq!(d["datasetVersionHash"], version_hash, "{e}");
    assert_eq!(d["event"], event, "{e}");
    assert!(
        d["eventId"].as_str().is_some_and(|s| !s.is_empty()),
        "eventId: {e}"
    );
    assert!(
        d["revision"].as_i64().is_some_and(|r| r > 0),
        "revision: {e}"
    );
    assert!(
        d["runId"].as_str().is_some_and(|s| !s.is_empty()),
        "runId: {e}"
    );
    assert!(
        d["previousVersionHash"].is_null() || is_hex64(&d["previousVersionHash"]),
        "previousVersionHash: {e}"
    );
    assert!(is_hex64(&d["planHash"]), "planHash: {e}");
    assert_eq!(d["engine"], x.engine, "{e}");
    assert_eq!(d["migrationMode"], "synchronous", "{e}");
    if event == "failed" {
        assert!(d["error"].is_object(), "a failed event carries error: {e}");
    } else {
        assert!(
            d.get("error").is_none(),
            "only failed events carry error: {e}"
        );
    }
}
