//! Snowflake execution through the SQL API v2, against a STAND-IN: Snowflake cannot run
//! here, so each test starts `tests/snowflake-api/server.py` (its own process, port and
//! database), a small server that speaks the documented SQL API shapes, verifies key-pair
//! JWTs and an OAuth token, and executes the SQL on fakesnow (DuckDB) patched to behave
//! like Snowflake where fakesnow does not (autocommit, primary-key/unique constraints not
//! enforced, no `SET DEFAULT` to a constant). Its known gaps are listed in
//! `tests/snowflake-api/README.md`; what passes here still has to be checked on a real
//! account (`docs/snowflake.md`, "Manual check"; `real_account_smoke` below runs only when
//! the DEPOT_TEST_SNOWFLAKE_* variables are set).
//!
//! The stand-in's statement log is the proof of what ran: which statements, under which
//! requestId, and whether a resubmission was deduplicated.

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{example, names, parse_jsonl, Envelope, Run, BIN};

const ACCOUNT: &str = "myorg-acct";
const USER: &str = "deployer";
const OAUTH: &str = "test-oauth-token-9f2c1d";

/// Variables that would change what the binary does, removed from every run.
const SCRUBBED_ENV: &[&str] = &[
    "DEPOT_DATABASE_URL",
    "DEPOT_SNOWFLAKE_USER",
    "DEPOT_SNOWFLAKE_PRIVATE_KEY",
    "DEPOT_SNOWFLAKE_PRIVATE_KEY_PATH",
    "DEPOT_SNOWFLAKE_TOKEN",
    "DEPOT_SNOWFLAKE_ENDPOINT",
    "DEPOT_AWS_ACCOUNT_ID",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
];

fn venv() -> PathBuf {
    match std::env::var_os("DEPOT_SNOWFLAKE_STANDIN_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
            .join(".cache/depot-migrate/snowflake-api-venv"),
    }
}

fn standin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/snowflake-api")
}

fn python() -> PathBuf {
    let p = venv().join("bin/python");
    assert!(
        p.is_file(),
        "the Snowflake stand-in's venv is missing ({}): run scripts/setup.sh",
        p.display()
    );
    p
}

/// One stand-in server with its own port and database, and a scratch directory.
struct StandIn {
    child: Child,
    port: u16,
    dir: PathBuf,
    dataset_id: String,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(dir: &Path, name: &str) {
    let st = Command::new(python())
        .arg(standin_dir().join("keygen.py"))
        .arg(dir)
        .arg(name)
        .status()
        .expect("run keygen.py");
    assert!(st.success(), "keygen.py failed");
}

impl StandIn {
    fn start(test: &str) -> StandIn {
        Self::start_with(test, &[])
    }

    fn start_with(test: &str, extra: &[&str]) -> StandIn {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("snowflake")
            .join(format!("{test}-{id}"));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        keygen(&dir, "user");
        let mut child = Command::new(python())
            .arg(standin_dir().join("server.py"))
            .args(["--account", ACCOUNT, "--user", USER, "--database", "testdb"])
            .arg("--public-key")
            .arg(dir.join("user.pub.pem"))
            .args(["--oauth-token", OAUTH, "--port", "0", "--log"])
            .arg(dir.join("statements.jsonl"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null())
            .spawn()
            .expect("start the stand-in");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the stand-in's first line");
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the stand-in did not start: {line:?}"));
        StandIn {
            child,
            port,
            dir,
            dataset_id: format!("ds-{id}"),
        }
    }

    fn url(&self) -> String {
        "snowflake://myorg-acct/testdb?warehouse=wh&role=deployer".to_string()
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// The example Snowflake dataset config with this test's dataset id and `extra`.
    fn dataset(&self, name: &str, extra: Value) -> String {
        let text =
            std::fs::read_to_string(example("dogs.snowflake.dataset.json")).expect("example");
        let mut d: Value = serde_json::from_str(&text).expect("json");
        d["datasetId"] = json!(self.dataset_id);
        d.as_object_mut().expect("object").remove("eventBusName");
        if let Some(o) = extra.as_object() {
            for (k, v) in o {
                d[k] = v.clone();
            }
        }
        let p = self.path(name);
        std::fs::write(&p, serde_json::to_vec_pretty(&d).expect("json")).expect("write");
        p
    }

    fn key_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "DEPOT_SNOWFLAKE_ENDPOINT".into(),
                format!("http://127.0.0.1:{}", self.port),
            ),
            ("DEPOT_SNOWFLAKE_USER".into(), USER.into()),
            (
                "DEPOT_SNOWFLAKE_PRIVATE_KEY_PATH".into(),
                self.path("user.p8"),
            ),
        ]
    }

    fn command(&self, args: &[&str], env: &[(String, String)]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(&self.dir).stdin(Stdio::null());
        for k in SCRUBBED_ENV {
            cmd.env_remove(k);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn cli_env(&self, args: &[&str], env: &[(String, String)]) -> Run {
        let out = self.command(args, env).output().expect("run depot-migrate");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn cli(&self, args: &[&str]) -> Run {
        self.cli_env(args, &self.key_env())
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args, &self.key_env())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn depot-migrate")
    }

    fn apply(&self, package: &str, dataset: &str, extra: &[&str]) -> Run {
        let url = self.url();
        let mut args = vec![
            "apply",
            "--package",
            package,
            "--dataset",
            dataset,
            "--db",
            &url,
        ];
        args.extend_from_slice(extra);
        self.cli(&args)
    }

    #[track_caller]
    fn status(&self, dataset: &str) -> Value {
        let r = self.cli(&[
            "status",
            "--dataset",
            dataset,
            "--db",
            &self.url(),
            "--output",
            "json",
        ]);
        r.ok();
        r.json()
    }

    #[track_caller]
    fn history(&self, dataset: &str) -> Vec<Value> {
        let r = self.cli(&[
            "history",
            "--dataset",
            dataset,
            "--db",
            &self.url(),
            "--output",
            "json",
        ]);
        r.ok();
        r.json().as_array().cloned().unwrap_or_default()
    }

    fn recover(&self, dataset: &str, resolve: &str, reason: &str) -> Run {
        let url = self.url();
        self.cli(&[
            "recover",
            "--dataset",
            dataset,
            "--db",
            &url,
            "--resolve",
            resolve,
            "--reason",
            reason,
        ])
    }

    /// Waits (polling, bounded) for a statement-log entry; returns it.
    #[track_caller]
    fn wait_for_log(&self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(e) = self.log().into_iter().find(|e| pred(e)) {
                return e;
            }
            assert!(Instant::now() < deadline, "never logged: {:?}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One HTTP request to the stand-in; status and JSON body.
    fn http(&self, method: &str, path: &str, body: Option<&Value>, auth: bool) -> (u16, Value) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        let data = body.map(Value::to_string).unwrap_or_default();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            data.len()
        );
        if auth {
            req.push_str(&format!(
                "Authorization: Bearer {OAUTH}\r\nX-Snowflake-Authorization-Token-Type: OAUTH\r\n"
            ));
        }
        req.push_str("\r\n");
        req.push_str(&data);
        s.write_all(req.as_bytes()).expect("send");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read");
        let status: u16 = resp
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status");
        let body = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Runs SQL on the stand-in directly (as a test's own session, with OAuth); rows.
    #[track_caller]
    fn sql(&self, statement: &str) -> Vec<Vec<Value>> {
        let (mut status, mut v) = self.http(
            "POST",
            "/api/v2/statements",
            Some(&json!({"statement": statement, "database": "TESTDB"})),
            true,
        );
        // A busy stand-in answers 202: poll, as any SQL API client must.
        let deadline = Instant::now() + Duration::from_secs(60);
        while status == 202 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            let handle = v["statementHandle"].as_str().expect("handle").to_string();
            (status, v) = self.http("GET", &format!("/api/v2/statements/{handle}"), None, true);
        }
        assert_eq!(status, 200, "{statement}: {v}");
        v["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// `TABLE.COLUMN` of every column of schema DOGS.
    fn columns(&self) -> BTreeSet<String> {
        self.sql("SELECT TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'DOGS'")
            .into_iter()
            .map(|r| format!("{}.{}", r[0].as_str().unwrap_or("?"), r[1].as_str().unwrap_or("?")))
            .collect()
    }

    fn faults(&self, f: Value) {
        let (status, v) = self.http("POST", "/_standin/faults", Some(&f), false);
        assert_eq!(status, 200, "{v}");
    }

    /// The statement log.
    fn log(&self) -> Vec<Value> {
        let (status, v) = self.http("GET", "/_standin/log", None, false);
        assert_eq!(status, 200);
        v.as_array().cloned().unwrap_or_default()
    }

    /// Log entries of statements of the dataset's schema (the migration steps).
    fn step_log(&self) -> Vec<Value> {
        self.log()
            .into_iter()
            .filter(|e| {
                let sql = e["sql"].as_str().unwrap_or_default();
                sql.contains("\"DOGS\"") && !sql.contains("INFORMATION_SCHEMA")
            })
            .collect()
    }
}

/// Every requestId ran at most once (resubmissions are deduplicated, never re-executed).
#[track_caller]
fn no_request_ran_twice(log: &[Value]) {
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    for e in log {
        let outcome = e["outcome"].as_str().unwrap_or_default();
        if outcome.starts_with("ok") || outcome == "error" || outcome == "injected-failure" {
            *runs
                .entry(e["requestId"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
    }
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "requestIds executed more than once: {twice:?}"
    );
}

/// The envelope and detail shape shared with the other engines ([`support::check_envelope`]).
#[track_caller]
fn check_envelope(e: &Value, dataset_id: &str, event: &str, version_hash: &str) {
    support::check_envelope(
        e,
        &Envelope {
            dataset_id,
            alias: "WsDevSfDogSrc",
            engine: "snowflake",
            event,
            version_hash,
        },
    );
}

fn hash(s: &StandIn, package: &str, dataset: &str) -> String {
    let r = s.cli(&["hash", "--package", package, "--dataset", dataset]);
    r.ok();
    r.stdout.trim().to_string()
}

// ---------------------------------------------------------------------------------------

#[test]
fn apply_v1_v2_v3_with_events_like_the_other_engines() {
    let s = StandIn::start("lifecycle");
    let ds = s.dataset("d.dataset.json", json!({}));
    let (v1, v2, v3) = (
        example("dogs.v1.package.json"),
        example("dogs.v2.package.json"),
        example("dogs.v3.package.json"),
    );
    let mut previous: Option<String> = None;
    let mut revision = 1;
    for (pkg, cols) in [
        (
            &v1,
            vec!["DOG.ID", "DOG.NAME", "DOG.OWNER_NAME", "DOG.WEIGHT"],
        ),
        (
            &v2,
            vec![
                "DOG.ACTIVE",
                "DOG.ID",
                "DOG.NAME",
                "DOG.OWNER",
                "DOG.WEIGHT",
            ],
        ),
        (
            &v3,
            vec![
                "DOG.ACTIVE",
                "DOG.ID",
                "DOG.NAME",
                "DOG.OWNER",
                "VISIT.DETAILS",
                "VISIT.DOG_ID",
                "VISIT.ID",
                "VISIT.VISITED_AT",
            ],
        ),
    ] {
        let h = hash(&s, pkg, &ds);
        let r = s.apply(pkg, &ds, &[]);
        r.ok();
        let events = r.events();
        assert_eq!(names(&events), ["attempted", "deployed"], "{}", r.stderr);
        for (i, e) in events.iter().enumerate() {
            check_envelope(e, &s.dataset_id, ["attempted", "deployed"][i], &h);
            assert_eq!(e["detail"]["revision"], revision + i as i64, "{e}");
            assert_eq!(
                e["detail"]["previousVersionHash"],
                previous.as_deref().map_or(Value::Null, |p| json!(p))
            );
        }
        revision += 2;
        let st = s.status(&ds);
        assert_eq!(st["phase"], "stable", "{st}");
        assert_eq!(st["deployedVersion"], h.as_str(), "{st}");
        assert_eq!(st["status"], "RUNNING");
        let expected: BTreeSet<String> = cols.into_iter().map(String::from).collect();
        assert_eq!(s.columns(), expected, "catalog after {pkg}");
        previous = Some(h);
    }
    // The same version again: a silent no-op.
    let r = s.apply(&v3, &ds, &[]);
    r.ok();
    assert_eq!(r.stdout.trim(), "", "no events: {}", r.stdout);
    // History: attempted/deployed three times, in revision order.
    let hist = s.history(&ds);
    let events: Vec<&str> = hist
        .iter()
        .map(|h| h["event"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        events,
        [
            "attempted",
            "deployed",
            "attempted",
            "deployed",
            "attempted",
            "deployed"
        ]
    );
    // The snapshot is v3.
    let snap = s.cli(&["snapshot", "--dataset", &ds, "--db", &s.url()]);
    snap.ok();
    assert_eq!(snap.json()["tables"].as_array().map(Vec::len), Some(2));
    // Declared, not enforced: a duplicate primary key goes in (as on Snowflake).
    s.sql("INSERT INTO \"DOGS\".\"DOG\" (\"ID\", \"NAME\") VALUES (1, 'a')");
    s.sql("INSERT INTO \"DOGS\".\"DOG\" (\"ID\", \"NAME\") VALUES (1, 'b')");
    assert_eq!(s.sql("SELECT COUNT(*) FROM \"DOGS\".\"DOG\"")[0][0], "2");
    no_request_ran_twice(&s.log());
}

#[test]
fn a_failed_step_is_recorded_and_blocks_until_recovery() {
    let s = StandIn::start("failure");
    let ds = s.dataset("d.dataset.json", json!({}));
    let v1 = example("dogs.v1.package.json");
    let v3 = example("dogs.v3.package.json");
    s.apply(&v1, &ds, &[]).ok();
    // v1 -> v3 has several steps; the visit table's creation fails once.
    s.faults(json!({"failPattern": "CREATE TABLE \"DOGS\".\"VISIT\"", "failTimes": 1}));
    let h3 = hash(&s, &v3, &ds);
    let r = s.apply(&v3, &ds, &[]);
    r.expect_code(1);
    assert_eq!(r.event_names(), ["attempted", "failed"], "{}", r.stderr);
    let failed = &r.events()[1];
    check_envelope(failed, &s.dataset_id, "failed", &h3);
    let err = &failed["detail"]["error"];
    assert_eq!(err["rolledBack"], false, "{err}");
    assert!(
        err["stepKey"].as_str().is_some_and(|k| k.contains("visit")),
        "{err}"
    );
    let committed: Vec<&str> = err["committedSteps"]
        .as_array()
        .expect("committedSteps")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !committed.is_empty(),
        "steps before the failure committed: {err}"
    );
    assert!(r.stderr.contains("partly migrated"), "{}", r.stderr);
    // The failure is in status; nothing runs until recover.
    let st = s.status(&ds);
    assert_eq!(st["phase"], "failed", "{st}");
    let steps = s.step_log();
    let injected: Vec<&Value> = steps
        .iter()
        .filter(|e| e["outcome"] == "injected-failure")
        .collect();
    assert_eq!(injected.len(), 1, "{steps:?}");
    let again = s.apply(&v3, &ds, &[]);
    again.expect_code(3);
    assert!(again.stderr.contains("recover"), "{}", again.stderr);

    // The cause is gone (the injected failure was for one run only): retry resumes at
    // the failed step; the completed ones do not run again.
    let before: Vec<Value> = s.step_log();
    let r = s.recover(&ds, "retry", "visit table fixed");
    r.ok();
    assert_eq!(r.event_names(), ["attempted", "deployed"], "{}", r.stderr);
    let failed_index = err["stepIndex"].as_u64().expect("stepIndex") as usize;
    assert!(
        !r.stderr.contains("[1/"),
        "resumed after the completed steps: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("[{}/", failed_index + 1)),
        "resumed at the failed step: {}",
        r.stderr
    );
    let after = s.step_log();
    let new_statements: Vec<&str> = after[before.len()..]
        .iter()
        .filter(|e| e["outcome"] == "ok")
        .filter_map(|e| e["sql"].as_str())
        .collect();
    for e in before.iter().filter(|e| e["outcome"] == "ok") {
        let sql = e["sql"].as_str().unwrap_or_default();
        assert!(
            !new_statements.contains(&sql),
            "a completed statement ran again on retry: {sql}"
        );
    }
    assert!(
        new_statements
            .iter()
            .any(|q| q.starts_with("CREATE TABLE \"DOGS\".\"VISIT\"")),
        "the failed step ran: {new_statements:?}"
    );
    let st = s.status(&ds);
    assert_eq!(st["phase"], "stable", "{st}");
    assert_eq!(st["deployedVersion"], h3.as_str());
    assert!(s.columns().contains("VISIT.DOG_ID"));
    assert!(!s.columns().contains("DOG.WEIGHT"));
    no_request_ran_twice(&s.log());
}

/// Asynchronous mode on Snowflake: `submit` emits `desired`, a worker runs it
/// (`attempted`, `deployed`), `wait` sees it deployed; the same lifecycle as elsewhere.
#[test]
fn asynchronous_mode_submit_worker_wait() {
    let s = StandIn::start("async");
    let ds = s.dataset("a.dataset.json", json!({"migrationMode": "asynchronous"}));
    let v2 = example("dogs.v2.package.json");
    let h2 = hash(&s, &v2, &ds);
    let url = s.url();
    let r = s.cli(&["submit", "--package", &v2, "--dataset", &ds, "--db", &url]);
    r.ok();
    assert_eq!(r.event_names(), ["desired"], "{}", r.stderr);
    assert_eq!(s.status(&ds)["phase"], "scheduled");
    let w = s.cli(&["worker", "--poll", "--once", "--db", &url]);
    w.ok();
    let events: Vec<Value> = w
        .stdout
        .lines()
        .filter(|l| l.starts_with('{') && l.contains("\"detail-type\""))
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect();
    assert_eq!(names(&events), ["attempted", "deployed"], "{}", w.stdout);
    for e in &events {
        assert_eq!(e["detail"]["migrationMode"], "asynchronous", "{e}");
        assert_eq!(e["detail"]["engine"], "snowflake", "{e}");
    }
    s.cli(&[
        "wait",
        "--dataset",
        &ds,
        "--version",
        &h2,
        "--db",
        &url,
        "--timeout",
        "60s",
    ])
    .ok();
    assert!(s.columns().contains("DOG.ACTIVE"));
}

/// `kill -9` of an executor while a statement is in flight: `watchdog` finds the lost
/// lease and records `failed`; `recover --resolve retry` resubmits the unfinished
/// statement under its own requestId with `retry=true`, so Snowflake (here the
/// stand-in) does not run it a second time, and then finishes the plan.
#[test]
fn kill_9_mid_statement_then_watchdog_then_retry_runs_it_once() {
    let s = StandIn::start("kill9");
    let ds = s.dataset("d.dataset.json", json!({}));
    let v1 = example("dogs.v1.package.json");
    let v3 = example("dogs.v3.package.json");
    let h3 = hash(&s, &v3, &ds);
    s.apply(&v1, &ds, &["--events", "none"]).ok();
    let visit = "CREATE TABLE \"DOGS\".\"VISIT\"";
    s.faults(json!({"holdPattern": regex_escape(visit)}));
    let url = s.url();
    let mut child = s.spawn(&["apply", "--package", &v3, "--dataset", &ds, "--db", &url]);
    let held = s.wait_for_log(|e| e["outcome"] == "started (held)");
    let held_request = held["requestId"].as_str().expect("requestId").to_string();
    child.kill().expect("kill -9 the executor");
    let _ = child.wait();
    assert_eq!(
        s.status(&ds)["phase"],
        "failed",
        "its holder is gone: failed, not in progress"
    );

    // watchdog records the lost run.
    let w = s.cli(&["watchdog", "--db", &url]);
    w.ok();
    let events = w.events();
    assert_eq!(names(&events), ["failed"], "{}", w.stderr);
    let err = &events[0]["detail"]["error"];
    assert_eq!(err["class"], "leaseLost", "{err}");
    assert_eq!(err["rolledBack"], false, "{err}");
    check_envelope(&events[0], &s.dataset_id, "failed", &h3);

    // retry: the unfinished statement is resubmitted (same requestId, retry=true) while
    // the first submission is still running; then it is let go.
    let mut retry = s.spawn(&[
        "recover",
        "--dataset",
        &ds,
        "--db",
        &url,
        "--resolve",
        "retry",
        "--reason",
        "executor killed",
    ]);
    let dedup = s.wait_for_log(|e| e["outcome"] == "deduplicated (retry=true)");
    assert_eq!(dedup["requestId"], held_request.as_str(), "same requestId");
    let (status, _) = s.http("POST", "/_standin/release", None, false);
    assert_eq!(status, 200);
    let out = wait_output(&mut retry);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.event_names(),
        ["attempted", "deployed"],
        "{}",
        out.stderr
    );
    let created: Vec<Value> = s
        .log()
        .into_iter()
        .filter(|e| e["sql"].as_str().is_some_and(|q| q.starts_with(visit)) && e["outcome"] == "ok")
        .collect();
    assert_eq!(created.len(), 1, "the table was created once: {created:?}");
    no_request_ran_twice(&s.log());
    let st = s.status(&ds);
    assert_eq!(st["phase"], "stable", "{st}");
    assert_eq!(st["deployedVersion"], h3.as_str());
    assert!(s.columns().contains("VISIT.DETAILS"));
}

/// Ctrl-C (SIGINT) while a statement runs: the statement is cancelled through the API,
/// the failure is recorded (`failed`, class `interrupted`), exit 1.
#[test]
fn interrupt_cancels_the_running_statement() {
    let s = StandIn::start("interrupt");
    let ds = s.dataset("d.dataset.json", json!({}));
    let v1 = example("dogs.v1.package.json");
    let table = "CREATE TABLE \"DOGS\".\"DOG\"";
    s.faults(json!({"holdPattern": regex_escape(table)}));
    let url = s.url();
    let mut child = s.spawn(&["apply", "--package", &v1, "--dataset", &ds, "--db", &url]);
    let held = s.wait_for_log(|e| e["outcome"] == "started (held)");
    // SIGINT once the client polls the held statement: it waits interruptibly then.
    s.wait_for_log(|e| e["outcome"] == "polled (202)" && e["handle"] == held["handle"]);
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(st.success());
    let out = wait_output(&mut child);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.event_names(), ["attempted", "failed"], "{}", out.stderr);
    let err = &out.events()[1]["detail"]["error"];
    assert_eq!(err["class"], "interrupted", "{err}");
    let cancelled = s.wait_for_log(|e| e["outcome"] == "cancel-requested");
    assert_eq!(
        cancelled["handle"], held["handle"],
        "the held statement was cancelled"
    );
    // It never ran: no table.
    assert!(!s.columns().iter().any(|c| c.starts_with("DOG.")));
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if "\\.^$|?*+()[]{}".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn wait_output(child: &mut Child) -> Run {
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut stdout);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().expect("wait");
    Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
        args: Vec::new(),
    }
}

#[test]
fn two_executors_at_once_one_is_refused() {
    let s = StandIn::start("two");
    let ds = s.dataset("d.dataset.json", json!({}));
    let v1 = example("dogs.v1.package.json");
    // The table creation takes a while; the second executor arrives meanwhile.
    s.faults(json!({"slowPattern": "CREATE TABLE \"DOGS\"", "slowSeconds": 4}));
    let url = s.url();
    let first = s.spawn(&["apply", "--package", &v1, "--dataset", &ds, "--db", &url]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !s.log().iter().any(|e| e["outcome"] == "started (slow)") {
        assert!(
            Instant::now() < deadline,
            "the first apply never reached its slow step"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let second = s.apply(&v1, &ds, &["--lock-wait", "1s"]);
    second.expect_code(3);
    assert!(
        second.stderr.contains("another executor"),
        "{}",
        second.stderr
    );
    assert_eq!(second.stdout.trim(), "", "the refused run emits nothing");
    let out = first.wait_with_output().expect("first apply");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = parse_jsonl(&String::from_utf8_lossy(&out.stdout), "first");
    assert_eq!(names(&events), ["attempted", "deployed"]);
    // The 202 of the slow statement was polled to its end.
    assert!(s.log().iter().any(|e| e["outcome"] == "started (slow)"));
    assert_eq!(s.status(&ds)["phase"], "stable");
}

#[test]
fn wrong_or_expired_credentials_are_refused_clearly() {
    let s = StandIn::start_with("auth", &["--clock-skew", "0"]);
    let ds = s.dataset("d.dataset.json", json!({}));
    let v1 = example("dogs.v1.package.json");
    let url = s.url();
    let args = [
        "apply",
        "--package",
        v1.as_str(),
        "--dataset",
        ds.as_str(),
        "--db",
        url.as_str(),
    ];
    // A key that is not the user's.
    keygen(&s.dir, "other");
    let mut env = s.key_env();
    env[2].1 = s.path("other.p8");
    let r = s.cli_env(&args, &env);
    r.expect_code(2);
    assert!(r.stderr.contains("refused the credentials"), "{}", r.stderr);
    assert!(r.stderr.contains("JWT"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {}", r.stderr);
    assert_eq!(r.stdout.trim(), "");
    // A wrong OAuth token.
    let mut env = s.key_env();
    env.push(("DEPOT_SNOWFLAKE_TOKEN".into(), "not-the-token".into()));
    let r = s.cli_env(&args, &env);
    r.expect_code(2);
    assert!(r.stderr.contains("OAuth"), "{}", r.stderr);
    assert!(
        !r.all_output().contains("not-the-token"),
        "{}",
        r.all_output()
    );
    // No credentials at all: said before anything is sent.
    let env = vec![s.key_env().remove(0)];
    let r = s.cli_env(&args, &env);
    r.expect_code(2);
    assert!(r.stderr.contains("DEPOT_SNOWFLAKE_USER"), "{}", r.stderr);
    // Nothing ran.
    assert!(s.log().is_empty(), "{:?}", s.log());
    // The right OAuth token works.
    let mut env = s.key_env();
    env.push(("DEPOT_SNOWFLAKE_TOKEN".into(), OAUTH.into()));
    s.cli_env(&args, &env).ok();
}

#[test]
fn expired_tokens_are_refused() {
    // The server's clock runs two hours ahead: every fresh one-hour token has expired.
    let s = StandIn::start_with("expired", &["--clock-skew", "7200"]);
    let ds = s.dataset("d.dataset.json", json!({}));
    let r = s.apply(&example("dogs.v1.package.json"), &ds, &[]);
    r.expect_code(2);
    assert!(r.stderr.contains("expired"), "{}", r.stderr);
    assert!(s.log().is_empty());
}

#[test]
fn credentials_never_show() {
    let s = StandIn::start("secrets");
    let ds = s.dataset("d.dataset.json", json!({}));
    let v1 = example("dogs.v1.package.json");
    let url = s.url();
    let pem = std::fs::read_to_string(s.path("user.p8")).expect("key");
    // The key as PEM text in the environment (not a path) this time.
    let env = vec![
        s.key_env().remove(0),
        ("DEPOT_SNOWFLAKE_USER".into(), USER.into()),
        ("DEPOT_SNOWFLAKE_PRIVATE_KEY".into(), pem.clone()),
    ];
    let mut outputs = Vec::new();
    // A failing run too: a bad statement is reported with the statement, never the key.
    s.faults(json!({"failPattern": "CREATE TABLE", "failTimes": 1}));
    for args in [
        vec!["apply", "--package", &v1, "--dataset", &ds, "--db", &url],
        vec!["status", "--dataset", &ds, "--db", &url],
        vec!["history", "--dataset", &ds, "--db", &url],
    ] {
        let r = s.cli_env(&args, &env);
        outputs.push(r.all_output());
    }
    let body_lines: Vec<&str> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .collect();
    assert!(body_lines.len() > 10);
    for out in &outputs {
        for l in &body_lines {
            assert!(!out.contains(l), "key material in output:\n{out}");
        }
        assert!(!out.contains("BEGIN PRIVATE KEY"), "{out}");
        assert!(!out.contains("eyJ"), "a JWT in output:\n{out}");
    }
    assert!(outputs[0].contains("failed"), "{}", outputs[0]);
}

#[test]
fn the_url_must_fit_the_engine() {
    let s = StandIn::start("engine");
    let ds = s.dataset("d.dataset.json", json!({}));
    let v1 = example("dogs.v1.package.json");
    let sqlite = format!("sqlite:{}", s.path("x.sqlite"));
    let r = s.cli(&["apply", "--package", &v1, "--dataset", &ds, "--db", &sqlite]);
    r.expect_code(2);
    assert!(r.stderr.contains("snowflake://"), "{}", r.stderr);
    assert!(!Path::new(&s.path("x.sqlite")).exists());
    let sqlite_ds = example("dogs.dataset.json");
    let r = s.cli(&[
        "apply",
        "--package",
        &v1,
        "--dataset",
        &sqlite_ds,
        "--db",
        &s.url(),
    ]);
    r.expect_code(2);
    // Credentials in the URL are refused, not used.
    let r = s.cli(&[
        "apply",
        "--package",
        &v1,
        "--dataset",
        &ds,
        "--db",
        "snowflake://deployer:hunter2@myorg-acct/testdb",
    ]);
    r.expect_code(2);
    assert!(!r.all_output().contains("hunter2"), "{}", r.all_output());
    assert!(s.log().is_empty());
}

/// A manual check against a real account: runs only when DEPOT_TEST_SNOWFLAKE_URL,
/// DEPOT_TEST_SNOWFLAKE_USER and DEPOT_TEST_SNOWFLAKE_PRIVATE_KEY_PATH are set (see
/// docs/snowflake.md). Without them it checks nothing and says so.
#[test]
fn real_account_smoke() {
    let (Ok(url), Ok(user), Ok(key)) = (
        std::env::var("DEPOT_TEST_SNOWFLAKE_URL"),
        std::env::var("DEPOT_TEST_SNOWFLAKE_USER"),
        std::env::var("DEPOT_TEST_SNOWFLAKE_PRIVATE_KEY_PATH"),
    ) else {
        eprintln!("real_account_smoke: DEPOT_TEST_SNOWFLAKE_* not set; the real-account check did not run");
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("snowflake-real");
    std::fs::create_dir_all(&dir).expect("dir");
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let ds = dir.join("d.dataset.json");
    let mut d: Value = serde_json::from_str(
        &std::fs::read_to_string(example("dogs.snowflake.dataset.json")).expect("example"),
    )
    .expect("json");
    d["datasetId"] = json!(format!("smoke-{id}"));
    d["schema"] = json!(format!("depot_smoke_{id}"));
    std::fs::write(&ds, d.to_string()).expect("write");
    let ds = ds.to_string_lossy().into_owned();
    for v in [
        "dogs.v1.package.json",
        "dogs.v2.package.json",
        "dogs.v3.package.json",
    ] {
        let out = Command::new(BIN)
            .args([
                "apply",
                "--package",
                &example(v),
                "--dataset",
                &ds,
                "--db",
                &url,
            ])
            .env("DEPOT_SNOWFLAKE_USER", &user)
            .env("DEPOT_SNOWFLAKE_PRIVATE_KEY_PATH", &key)
            .env_remove("DEPOT_SNOWFLAKE_ENDPOINT")
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{v}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A store written by state layout 2 (no outbox `DESTINATION` column): reads work on it
/// without changing it, and the first writer upgrades it to layout 3; its pending events
/// (whose destination is unknown) go where `events flush --events` says.
#[test]
fn state_layout_2_is_read_as_is_and_upgraded_by_a_writer() {
    let s = StandIn::start("layout2");
    let ds = s.dataset("d.dataset.json", json!({}));
    let v1 = example("dogs.v1.package.json");
    let broken = s.path("nodir/e.jsonl");
    s.apply(&v1, &ds, &["--events", &format!("jsonl:{broken}")])
        .ok();
    s.sql(r#"ALTER TABLE "DEPOT_MIGRATE"."OUTBOX" DROP COLUMN "DESTINATION""#);
    s.sql(r#"UPDATE "DEPOT_MIGRATE"."META" SET "VALUE" = '2' WHERE "KEY" = 'schema_version'"#);
    let layout = |s: &StandIn| {
        s.sql(r#"SELECT "VALUE" FROM "DEPOT_MIGRATE"."META" WHERE "KEY" = 'schema_version'"#)[0][0]
            .clone()
    };
    let st = s.status(&ds);
    assert_eq!(st["pendingEvents"]["destinations"]["unrecorded"], 2, "{st}");
    assert_eq!(layout(&s), "2", "a read changed nothing");
    let url = s.url();
    let f = s.cli(&["events", "flush", "--db", &url, "--events", "stdout"]);
    f.ok();
    assert_eq!(
        names(&f.events()),
        ["attempted", "deployed"],
        "{}",
        f.stderr
    );
    assert_eq!(layout(&s), "3", "the writer upgraded the layout");
    assert_eq!(s.status(&ds)["pendingEvents"]["count"], 0);
}
