//! Black-box tests of the asynchronous mode and of failure detection and recovery:
//! `submit`, `worker` (`--queue-url` on moto_server's SQS fed by an EventBridge rule, and
//! `--poll`), `wait`, `watchdog` and `recover`, against the real PostgreSQL and
//! moto_server that `scripts/with-services.sh` starts (and SQLite files where that is
//! cheap). docs/design.md, "State, lifecycle and events" and "Native CLI", is what they hold
//! the binary to. No test asserts a wall-clock duration: waits are polling deadlines.
//!
//! Fault scenarios: a duplicate delivery, superseded versions and A → B → A, a
//! runtime failure (a unique index over duplicate rows) then `recover --resolve retry`,
//! `recover --resolve rolled-back|deployed` (with and without `--force`, the catalog
//! check refusing a lie), `kill -9` of a worker mid-migration found by `watchdog`, a run
//! past its `maxDuration`, and a step-by-step (journaled) run resumed after a failure.

#[path = "support/aws.rs"]
mod aws;
mod support;

use serde_json::{json, Value};
use std::process::Child;
use std::time::{Duration, Instant};
use support::*;

const V1: &str = "dogs.v1.package.json";
const V2: &str = "dogs.v2.package.json";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// An asynchronous dataset config for `ctx`, with `extra` members.
fn async_dataset(ctx: &Ctx, extra: Value) -> String {
    let mut d = json!({"migrationMode": "asynchronous"});
    if let (Some(o), Some(e)) = (d.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    ctx.dataset("async.dataset.json", d)
}

/// v1 plus a column, a table and a unique index over `dog.name` (the index step last, so
/// the other steps run before it fails over duplicate names).
fn unique_name_package() -> Value {
    let mut p = example_json(V1);
    let dog = &mut p["tables"][0];
    dog["columns"]
        .as_array_mut()
        .expect("columns")
        .push(json!({"name": "tag", "type": "string", "maxLength": 50}));
    dog["indexes"] = json!([{"name": "dog_name_uq", "columns": ["name"], "unique": true}]);
    p["tables"].as_array_mut().expect("tables").push(json!({
        "name": "cat",
        "columns": [{"name": "id", "type": "bigint", "nullable": false}],
        "primaryKey": ["id"]
    }));
    p
}

/// Two dogs with the same name: a unique index over `name` fails on them.
fn insert_duplicates(ctx: &Ctx) {
    ctx.sql(&format!(
        "INSERT INTO {} (id, name) VALUES (1, 'Rex'), (2, 'Rex')",
        ctx.q("dog")
    ));
}

fn fix_duplicates(ctx: &Ctx) {
    ctx.sql(&format!(
        "UPDATE {} SET name = 'Max' WHERE id = 2",
        ctx.q("dog")
    ));
}

fn submit(ctx: &Ctx, package: &str, dataset: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "submit",
        "--package",
        package,
        "--dataset",
        dataset,
        "--db",
        &ctx.url,
    ];
    args.extend_from_slice(extra);
    ctx.cli(&args)
}

fn worker_poll_once(ctx: &Ctx, extra: &[&str]) -> Run {
    let mut args = vec![
        "worker", "--poll", "--once", "--db", &ctx.url, "--output", "json",
    ];
    args.extend_from_slice(extra);
    // The JSON report (`report`) on stdout; the events (stdout sink) on stderr.
    ctx.cli(&args)
}

/// The worker's `--output json` report (the last JSON document on stdout; event lines
/// come before it).
fn report(r: &Run) -> Vec<Value> {
    let start = r
        .stdout
        .find("{\n")
        .unwrap_or_else(|| panic!("no JSON report in {}", r.stdout));
    let doc: Value = serde_json::from_str(&r.stdout[start..])
        .unwrap_or_else(|e| panic!("report: {e}: {}", &r.stdout[start..]));
    doc["handled"].as_array().cloned().expect("handled")
}

/// The event lines of a run with `--output json` (on stderr; the report is on stdout).
fn event_lines(r: &Run) -> Vec<Value> {
    // With `--output json` the stdout sink's events go to stderr, one a line.
    let lines: String = r
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| format!("{l}\n"))
        .collect();
    parse_jsonl(&lines, "events")
}

fn recover(ctx: &Ctx, dataset: &str, resolve: &str, reason: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "recover",
        "--dataset",
        dataset,
        "--db",
        &ctx.url,
        "--resolve",
        resolve,
        "--reason",
        reason,
    ];
    args.extend_from_slice(extra);
    ctx.cli(&args)
}

fn watchdog(ctx: &Ctx) -> Run {
    ctx.cli(&["watchdog", "--db", &ctx.url, "--output", "json"])
}

fn wait_for(ctx: &Ctx, dataset: &str, version: &str, timeout: &str) -> Run {
    ctx.cli(&[
        "wait",
        "--dataset",
        dataset,
        "--db",
        &ctx.url,
        "--version",
        version,
        "--timeout",
        timeout,
        "--interval",
        "100ms",
    ])
}

/// History rows with this event.
fn history_events(ctx: &Ctx, dataset: &str, event: &str) -> Vec<Value> {
    ctx.history(dataset)
        .into_iter()
        .filter(|h| h["event"] == event)
        .collect()
}

/// Polls `check` until it holds or `within` passes (a deadline, not a timed assertion).
#[track_caller]
fn eventually(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A PostgreSQL session holding `ACCESS EXCLUSIVE` on the dataset's `dog` table until
/// released: a migration touching it waits, mid-run, for as long as the test wants.
fn hold_table_lock(ctx: &Ctx) -> postgres::Client {
    let mut c = ctx.pg();
    c.batch_execute(&format!(
        "BEGIN; LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
        ctx.q("dog")
    ))
    .expect("lock table");
    c
}

fn release_table_lock(mut c: postgres::Client) {
    c.batch_execute("COMMIT").expect("commit");
}

fn kill9(child: &mut Child) {
    let pid = child.id().to_string();
    let st = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .expect("kill");
    assert!(st.success(), "kill -9 {pid}");
    let _ = child.wait();
}

// ---------------------------------------------------------------------------------------
// 1. The whole asynchronous flow on moto: submit → `desired` in a queue via an
//    EventBridge rule → worker --queue-url --once → `attempted` and `deployed` in an
//    alert queue; a duplicate delivery runs nothing twice.
// ---------------------------------------------------------------------------------------

#[test]
fn async_flow_through_eventbridge_and_sqs_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "asyncflow");
    let bus = format!("bus-{}", ctx.dataset_id);
    aws::aws("events", "CreateEventBus", json!({"Name": bus}));
    let (work_url, work_arn) = aws::queue(&format!("work-{}", ctx.dataset_id));
    let (alert_url, alert_arn) = aws::queue(&format!("alert-{}", ctx.dataset_id));
    // The worker's queue gets `desired` events only; the alert queue the other three.
    let desired_pattern = depot_migrate_core::lifecycle::event_pattern(
        &[],
        &[],
        &[depot_migrate_core::lifecycle::LifecycleEvent::Desired],
    );
    aws::rule_to_queue(&bus, "work", &desired_pattern, &work_arn);
    let alert_pattern = depot_migrate_core::lifecycle::event_pattern(
        &[],
        &[],
        &[
            depot_migrate_core::lifecycle::LifecycleEvent::Attempted,
            depot_migrate_core::lifecycle::LifecycleEvent::Deployed,
            depot_migrate_core::lifecycle::LifecycleEvent::Failed,
        ],
    );
    aws::rule_to_queue(&bus, "alerts", &alert_pattern, &alert_arn);

    let ds = async_dataset(&ctx, json!({"eventBusName": bus}));
    let v1 = example(V1);
    let h1 = ctx.hash(&v1, &ds);
    let env = aws::env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // submit: desired, nothing else, returns at once.
    let r = ctx.cli_env(
        &[
            "submit",
            "--package",
            &v1,
            "--dataset",
            &ds,
            "--db",
            &ctx.url,
            "--events",
            "eventbridge",
            "--output",
            "json",
        ],
        &env,
    );
    r.ok();
    let out = r.json();
    assert_eq!(out["result"], "submitted", "{out}");
    let revision = out["revision"].as_i64().expect("revision");
    let run_id = out["runId"].as_str().expect("runId").to_string();
    let status = ctx.status(&ds);
    assert_eq!(status["phase"], "scheduled", "{status}");
    assert_eq!(status["desiredVersion"], h1.as_str());
    assert!(status["attemptedVersion"].is_null(), "{status}");
    assert_eq!(
        status["version"], revision,
        "the event carries the state revision"
    );

    // `desired` reached the worker's queue through the rule, with revision and runId.
    let desired = aws::receive(&work_url, 1, Duration::from_secs(10));
    assert_eq!(desired.len(), 1, "one desired event: {desired:?}");
    let d = &desired[0]["detail"];
    assert_eq!(d["event"], "desired", "{d}");
    assert_eq!(d["datasetVersionHash"], h1.as_str(), "{d}");
    assert_eq!(d["revision"], revision, "{d}");
    assert_eq!(d["runId"], run_id.as_str(), "{d}");
    assert_eq!(d["migrationMode"], "asynchronous", "{d}");
    assert_eq!(d["datasetId"], ctx.dataset_id.as_str(), "{d}");
    // The test consumed it; deliver it twice (a duplicate delivery).
    let body = desired[0].to_string();
    aws::send(&work_url, &body);
    aws::send(&work_url, &body);

    let w = ctx.cli_env(
        &[
            "worker",
            "--queue-url",
            &work_url,
            "--once",
            "--db",
            &ctx.url,
            "--events",
            "eventbridge",
            "--event-bus",
            &bus,
            "--output",
            "json",
        ],
        &env,
    );
    w.ok();
    let handled = w.json()["handled"].as_array().cloned().expect("handled");
    let results: Vec<&str> = handled
        .iter()
        .map(|h| h["result"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        results,
        ["deployed", "skipped"],
        "one run, the duplicate skipped: {handled:?}\n{}",
        w.stderr
    );
    assert!(
        handled[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("revision")),
        "{handled:?}"
    );

    // The alert queue got attempted and deployed, once each, joined by the runId.
    let alerts = aws::receive(&alert_url, 2, Duration::from_secs(10));
    assert_eq!(
        names(&alerts),
        ["attempted", "deployed"],
        "alerts: {alerts:?}"
    );
    for a in &alerts {
        assert_eq!(a["detail"]["runId"], run_id.as_str(), "{a}");
        assert_eq!(a["detail"]["datasetVersionHash"], h1.as_str(), "{a}");
        assert_eq!(a["detail"]["migrationMode"], "asynchronous", "{a}");
    }
    assert_eq!(alerts[0]["detail"]["revision"], revision + 1);
    assert_eq!(alerts[1]["detail"]["revision"], revision + 2);
    assert!(
        aws::receive(&alert_url, 1, Duration::from_secs(1)).is_empty(),
        "no further events"
    );
    assert!(
        aws::receive(&work_url, 1, Duration::from_secs(1)).is_empty(),
        "every message was acknowledged"
    );
    let status = ctx.status(&ds);
    assert_eq!(status["phase"], "stable", "{status}");
    assert_eq!(status["deployedVersion"], h1.as_str());
    assert_eq!(ctx.columns("dog").len(), 4, "v1 is in place");
    assert_eq!(history_events(&ctx, &ds, "attempted").len(), 1, "one run");
    assert_eq!(wait_for(&ctx, &ds, &h1, "5s").code, 0);
}

// ---------------------------------------------------------------------------------------
// 2. Superseded versions and A → B → A: only the last submission runs.
// ---------------------------------------------------------------------------------------

#[test]
fn superseded_and_a_b_a_are_skipped_sqlite() {
    let ctx = Ctx::new(Engine::Sqlite, "aba");
    let (work_url, work_arn) = aws::queue(&format!("aba-{}", ctx.dataset_id));
    let bus = format!("bus-{}", ctx.dataset_id);
    aws::aws("events", "CreateEventBus", json!({"Name": bus}));
    let desired_pattern = depot_migrate_core::lifecycle::event_pattern(
        &[],
        &[],
        &[depot_migrate_core::lifecycle::LifecycleEvent::Desired],
    );
    aws::rule_to_queue(&bus, "work", &desired_pattern, &work_arn);
    let ds = async_dataset(&ctx, json!({"eventBusName": bus}));
    let env = aws::env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (a, b) = (example(V1), example(V2));
    let ha = ctx.hash(&a, &ds);

    let mut runs = Vec::new();
    for p in [&a, &b, &a] {
        let r = ctx.cli_env(
            &[
                "submit",
                "--package",
                p,
                "--dataset",
                &ds,
                "--db",
                &ctx.url,
                "--events",
                "eventbridge",
                "--output",
                "json",
            ],
            &env,
        );
        r.ok();
        assert_eq!(r.json()["result"], "submitted", "{}", r.stdout);
        runs.push(r.json()["runId"].as_str().expect("runId").to_string());
    }
    assert_ne!(runs[0], runs[2], "A submitted twice: two submissions");

    let w = ctx.cli_env(
        &[
            "worker",
            "--queue-url",
            &work_url,
            "--once",
            "--db",
            &ctx.url,
            "--events",
            "none",
            "--output",
            "json",
        ],
        &env,
    );
    w.ok();
    let handled = w.json()["handled"].as_array().cloned().expect("handled");
    let by_run = |run: &str| -> Vec<String> {
        handled
            .iter()
            .filter(|h| h["runId"] == run)
            .map(|h| h["result"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    assert_eq!(by_run(&runs[0]), ["skipped"], "the first A: {handled:?}");
    assert_eq!(by_run(&runs[1]), ["skipped"], "B: {handled:?}");
    assert_eq!(by_run(&runs[2]), ["deployed"], "the last A: {handled:?}");
    let attempted = history_events(&ctx, &ds, "attempted");
    assert_eq!(attempted.len(), 1, "one run: {attempted:?}");
    assert_eq!(attempted[0]["runId"], runs[2].as_str());
    assert_eq!(attempted[0]["version"], ha.as_str());

    // A late delivery of the last desired event, after it ran: skipped.
    let late = json!({"detail": {"type": "lifecycle", "event": "desired", "datasetId": ctx.dataset_id, "revision": 3, "datasetVersionHash": ha, "runId": runs[2]}});
    aws::send(&work_url, &late.to_string());
    let w = ctx.cli_env(
        &[
            "worker",
            "--queue-url",
            &work_url,
            "--once",
            "--db",
            &ctx.url,
            "--events",
            "none",
            "--output",
            "json",
        ],
        &env,
    );
    w.ok();
    let handled = w.json()["handled"].as_array().cloned().expect("handled");
    assert_eq!(handled.len(), 1, "{handled:?}");
    assert_eq!(handled[0]["result"], "skipped", "{handled:?}");
    assert_eq!(
        history_events(&ctx, &ds, "attempted").len(),
        1,
        "still one run"
    );
}

// ---------------------------------------------------------------------------------------
// 3. A runtime failure (unique index over duplicate rows) → `failed` with its record →
//    fix the data → recover --resolve retry → deployed. Also `wait`'s exit codes.
// ---------------------------------------------------------------------------------------

fn runtime_failure_then_retry(engine: Engine) {
    let ctx = Ctx::new(engine, "retry");
    let ds = async_dataset(&ctx, json!({}));
    let v1 = example(V1);
    let uq = ctx.write_json("uq.package.json", &unique_name_package());
    let (h1, huq) = (ctx.hash(&v1, &ds), ctx.hash(&uq, &ds));

    submit(&ctx, &v1, &ds, &["--events", "none"]).ok();
    // Nothing runs it yet: wait times out (exit 3).
    let r = wait_for(&ctx, &ds, &h1, "300ms");
    r.expect_code(3);
    assert!(r.stderr.contains("timeout"), "{}", r.stderr);
    worker_poll_once(&ctx, &["--events", "none"]).ok();
    wait_for(&ctx, &ds, &h1, "10s").ok();
    insert_duplicates(&ctx);
    let before = ctx.catalog();

    submit(&ctx, &uq, &ds, &["--events", "none"]).ok();
    let w = worker_poll_once(&ctx, &[]);
    w.expect_code(1);
    let handled = report(&w);
    assert_eq!(handled.len(), 1);
    assert_eq!(handled[0]["result"], "failed", "{handled:?}");
    assert_eq!(
        names(&event_lines(&w)),
        ["attempted", "failed"],
        "{}",
        w.stdout
    );
    let failed = &event_lines(&w)[1]["detail"];
    assert_eq!(
        failed["error"]["stepKey"], "createIndex:dog.dog_name_uq",
        "{failed}"
    );
    assert_eq!(failed["error"]["rolledBack"], true, "{failed}");
    if engine == Engine::Postgres {
        assert_eq!(failed["error"]["sqlstate"], "23505", "{failed}");
    }
    assert_eq!(ctx.catalog(), before, "the plan rolled back whole");
    let status = ctx.status(&ds);
    assert_eq!(status["phase"], "failed", "{status}");
    assert_eq!(status["lastFailure"]["class"], "step", "{status}");
    // wait: 1 for a failed version.
    let r = wait_for(&ctx, &ds, &huq, "10s");
    r.expect_code(1);
    assert!(r.stderr.contains("failed"), "{}", r.stderr);

    // recover --resolve retry without fixing the data fails again, and is recorded.
    let r = recover(&ctx, &ds, "retry", "try again", &[]);
    r.expect_code(1);
    assert_eq!(r.event_names(), ["attempted", "failed"], "{}", r.stderr);

    fix_duplicates(&ctx);
    let r = recover(&ctx, &ds, "retry", "renamed the duplicate dog", &[]);
    r.ok();
    let ev = r.events();
    assert_eq!(names(&ev), ["attempted", "deployed"], "{}", r.stderr);
    let recovery = &ev[0]["detail"]["recovery"];
    assert_eq!(recovery["resolve"], "retry", "{recovery}");
    assert_eq!(
        recovery["reason"], "renamed the duplicate dog",
        "{recovery}"
    );
    assert!(
        recovery["actor"].as_str().is_some_and(|a| a.contains('@')),
        "{recovery}"
    );
    assert_eq!(ev[1]["detail"]["datasetVersionHash"], huq.as_str());
    let status = ctx.status(&ds);
    assert_eq!(status["phase"], "stable", "{status}");
    assert_eq!(status["deployedVersion"], huq.as_str());
    assert!(ctx.indexes().contains("dog_name_uq"));
    wait_for(&ctx, &ds, &huq, "5s").ok();
    // Audited: who and why.
    let audited: Vec<Value> = ctx
        .history(&ds)
        .into_iter()
        .filter(|h| h["reason"] == "renamed the duplicate dog")
        .collect();
    assert!(!audited.is_empty(), "the recovery is in history");
    assert!(audited[0]["actor"].as_str().is_some_and(|a| !a.is_empty()));
    // Nothing left to recover.
    recover(&ctx, &ds, "retry", "again", &[]).expect_code(3);
}

#[test]
fn runtime_failure_then_retry_postgres() {
    runtime_failure_then_retry(Engine::Postgres);
}

#[test]
fn runtime_failure_then_retry_sqlite() {
    runtime_failure_then_retry(Engine::Sqlite);
}

// ---------------------------------------------------------------------------------------
// 4. recover --resolve rolled-back and deployed: the catalog check refuses a lie, --force
//    overrides it.
// ---------------------------------------------------------------------------------------

fn recover_rolled_back_and_deployed(engine: Engine) {
    let ctx = Ctx::new(engine, "resolve");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let uq = ctx.write_json("uq.package.json", &unique_name_package());
    let (h1, huq) = (ctx.hash(&v1, &ds), ctx.hash(&uq, &ds));
    ctx.apply(&v1, &ds, &["--events", "none"]).ok();
    insert_duplicates(&ctx);
    ctx.apply(&uq, &ds, &["--events", "none"]).expect_code(1);

    // The database is at v1: claiming the change is in place is a lie.
    let r = recover(&ctx, &ds, "deployed", "it is fine", &[]);
    r.expect_code(3);
    assert!(r.stderr.contains("catalog"), "{}", r.stderr);
    assert_eq!(ctx.status(&ds)["phase"], "failed", "nothing changed");

    let r = recover(&ctx, &ds, "rolled-back", "keeping v1 for now", &[]);
    r.ok();
    let ev = r.events();
    assert_eq!(names(&ev), ["deployed"], "{}", r.stderr);
    assert_eq!(ev[0]["detail"]["datasetVersionHash"], h1.as_str());
    let recovery = &ev[0]["detail"]["recovery"];
    assert_eq!(recovery["resolve"], "rolled-back", "{recovery}");
    assert_eq!(recovery["reason"], "keeping v1 for now", "{recovery}");
    assert_eq!(recovery["failure"]["class"], "step", "{recovery}");
    let status = ctx.status(&ds);
    assert_eq!(status["phase"], "stable", "{status}");
    for k in ["desiredVersion", "attemptedVersion", "deployedVersion"] {
        assert_eq!(status[k], h1.as_str(), "{k}: {status}");
    }

    // Fail again, then the operator builds the change by hand: deployed is verified.
    ctx.apply(&uq, &ds, &["--events", "none"]).expect_code(1);
    fix_duplicates(&ctx);
    let plan = ctx.plan_db(&uq, &ds, &["--format", "sql"]);
    plan.ok();
    ctx.sql(&plan.stdout);
    let r = recover(&ctx, &ds, "deployed", "created the index by hand", &[]);
    r.ok();
    assert_eq!(r.event_names(), ["deployed"], "{}", r.stderr);
    let status = ctx.status(&ds);
    assert_eq!(status["deployedVersion"], huq.as_str(), "{status}");
    assert_eq!(status["phase"], "stable");
    let snap = ctx.cli(&["snapshot", "--dataset", &ds, "--db", &ctx.url]);
    snap.ok();
    assert_eq!(
        snap.json()["tables"].as_array().map(Vec::len),
        Some(2),
        "the snapshot is the new package"
    );

    // --force: the check is skipped (and says so in the recovery object).
    let v3 = ctx.write_json("v3.package.json", &{
        let mut p = unique_name_package();
        p["tables"][1]["columns"]
            .as_array_mut()
            .expect("columns")
            .push(json!({"name": "lives", "type": "int", "nullable": false}));
        p
    });
    ctx.sql(&format!("INSERT INTO {} (id) VALUES (1)", ctx.q("cat")));
    ctx.apply(&v3, &ds, &["--events", "none"]).expect_code(1);
    recover(&ctx, &ds, "deployed", "trust me", &[]).expect_code(3);
    let r = recover(&ctx, &ds, "deployed", "trust me", &["--force"]);
    r.ok();
    assert_eq!(r.events()[0]["detail"]["recovery"]["forced"], true);
    assert_eq!(
        ctx.status(&ds)["deployedVersion"],
        ctx.hash(&v3, &ds).as_str()
    );
}

#[test]
fn recover_rolled_back_and_deployed_postgres() {
    recover_rolled_back_and_deployed(Engine::Postgres);
}

#[test]
fn recover_rolled_back_and_deployed_sqlite() {
    recover_rolled_back_and_deployed(Engine::Sqlite);
}

// ---------------------------------------------------------------------------------------
// 5. Step by step (the journaled path of non-transactional steps): a failure leaves the
//    completed steps committed; nothing runs until recover; retry checks them against
//    the catalog and resumes at the first step not completed.
// ---------------------------------------------------------------------------------------

fn journal_resume(engine: Engine) {
    let ctx = Ctx::new(engine, "journal");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let uq = ctx.write_json("uq.package.json", &unique_name_package());
    let huq = ctx.hash(&uq, &ds);
    ctx.apply(&v1, &ds, &["--events", "none"]).ok();
    insert_duplicates(&ctx);
    let plan = ctx.plan_db(&uq, &ds, &[]);
    plan.ok();
    let steps = plan.json()["steps"].as_array().cloned().expect("steps");
    let n = steps.len();
    assert!(n >= 3, "{steps:?}");
    assert_eq!(steps[n - 1]["key"], "createIndex:dog.dog_name_uq");

    let r = ctx.apply(&uq, &ds, &["--step-by-step"]);
    r.expect_code(1);
    let err = &r.events()[1]["detail"]["error"];
    assert_eq!(err["rolledBack"], false, "{err}");
    let committed: Vec<&str> = err["committedSteps"]
        .as_array()
        .expect("committedSteps")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let expected: Vec<&str> = steps[..n - 1]
        .iter()
        .filter_map(|s| s["key"].as_str())
        .collect();
    assert_eq!(committed, expected, "the steps before the index committed");
    assert!(ctx.tables().contains("cat"), "a committed step is in place");
    assert!(ctx.columns("dog").contains("tag"));

    // Nothing runs until recover.
    let r = ctx.apply(&uq, &ds, &[]);
    r.expect_code(3);
    assert!(r.stderr.contains("recover"), "{}", r.stderr);
    // Deployed would be a lie (the index is missing).
    recover(&ctx, &ds, "deployed", "no", &[]).expect_code(3);

    fix_duplicates(&ctx);
    let r = recover(&ctx, &ds, "retry", "names fixed", &[]);
    r.ok();
    assert_eq!(r.event_names(), ["attempted", "deployed"], "{}", r.stderr);
    // Only the last step ran.
    assert!(
        r.stderr.contains(&format!("[{n}/{n}]")) && !r.stderr.contains(&format!("[1/{n}]")),
        "resumed at the first step not completed: {}",
        r.stderr
    );
    let attempted = history_events(&ctx, &ds, "attempted");
    assert_eq!(
        attempted.last().expect("attempted")["detail"]["resumeAtStep"],
        n - 1,
        "{attempted:?}"
    );
    assert_eq!(ctx.status(&ds)["deployedVersion"], huq.as_str());

    // The end state is the catalog a fresh database gets.
    let fresh = Ctx::new(engine, "journalfresh");
    let fds = fresh.dataset("d.dataset.json", json!({}));
    let fuq = fresh.write_json("uq.package.json", &unique_name_package());
    fresh.apply(&fuq, &fds, &["--events", "none"]).ok();
    assert_eq!(ctx.catalog(), fresh.catalog());
}

#[test]
fn journal_resume_postgres() {
    journal_resume(Engine::Postgres);
}

#[test]
fn journal_resume_sqlite() {
    journal_resume(Engine::Sqlite);
}

/// A completed step that is no longer in place: retry refuses (exit 3) rather than build
/// on it.
#[test]
fn retry_checks_completed_steps_are_in_place_sqlite() {
    let ctx = Ctx::new(Engine::Sqlite, "tamper");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let uq = ctx.write_json("uq.package.json", &unique_name_package());
    ctx.apply(&v1, &ds, &["--events", "none"]).ok();
    insert_duplicates(&ctx);
    ctx.apply(&uq, &ds, &["--step-by-step", "--events", "none"])
        .expect_code(1);
    assert!(ctx.tables().contains("cat"));
    ctx.sql("DROP TABLE \"cat\"");
    fix_duplicates(&ctx);
    let r = recover(&ctx, &ds, "retry", "go on", &[]);
    r.expect_code(3);
    assert!(r.stderr.contains("journaled as done"), "{}", r.stderr);
    assert_eq!(ctx.status(&ds)["phase"], "failed", "nothing changed");
    assert!(!ctx.tables().contains("cat"), "nothing ran");
}

// ---------------------------------------------------------------------------------------
// 6. kill -9 of a worker mid-migration: watchdog finds the lost lease and records
//    `failed`; the database is as before; retry deploys.
// ---------------------------------------------------------------------------------------

#[test]
fn kill_9_worker_then_watchdog_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "kill9");
    let ds = async_dataset(&ctx, json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let h2 = ctx.hash(&v2, &ds);
    submit(&ctx, &v1, &ds, &["--events", "none"]).ok();
    worker_poll_once(&ctx, &["--events", "none"]).ok();
    let before = ctx.catalog();
    submit(&ctx, &v2, &ds, &["--events", "none"]).ok();

    let lock = hold_table_lock(&ctx);
    let mut child = ctx.spawn(&[
        "worker",
        "--poll",
        "--once",
        "--db",
        &ctx.url,
        "--lock-timeout",
        "10m",
    ]);
    eventually(
        "the worker is mid-migration",
        Duration::from_secs(30),
        || {
            let s = ctx.status(&ds);
            s["phase"] == "in-progress" && s["attemptedVersion"] == h2.as_str()
        },
    );
    // A live executor is not reported as failed.
    let w = watchdog(&ctx);
    w.ok();
    assert_eq!(
        w.json()["findings"][0]["finding"],
        "healthy",
        "{}",
        w.stdout
    );
    kill9(&mut child);

    let mut found = Value::Null;
    eventually(
        "watchdog finds the lost lease",
        Duration::from_secs(30),
        || {
            let w = watchdog(&ctx);
            w.ok();
            let start = w.stdout.find("{\n").unwrap_or(0);
            let doc: Value = serde_json::from_str(&w.stdout[start..]).unwrap_or(Value::Null);
            let f = doc["findings"][0].clone();
            if f["finding"] == "crashed" {
                found = f;
                let events = event_lines(&w);
                assert_eq!(names(&events), ["failed"], "{}", w.stderr);
                assert_eq!(events[0]["detail"]["error"]["class"], "leaseLost");
                assert_eq!(events[0]["detail"]["datasetVersionHash"], h2.as_str());
                true
            } else {
                false
            }
        },
    );
    assert_eq!(found["failure"]["rolledBack"], true, "{found}");
    let status = ctx.status(&ds);
    assert_eq!(status["phase"], "failed", "{status}");
    assert_eq!(status["lastFailure"]["class"], "leaseLost", "{status}");
    release_table_lock(lock);
    // The killed run's transaction never commits.
    eventually(
        "the orphaned transaction ends",
        Duration::from_secs(30),
        || ctx.catalog() == before,
    );
    let r = recover(
        &ctx,
        &ds,
        "retry",
        "worker was killed",
        &["--events", "none"],
    );
    r.ok();
    assert_eq!(ctx.status(&ds)["deployedVersion"], h2.as_str());
}

// ---------------------------------------------------------------------------------------
// 7. A run past its maxDuration: watchdog records `failed` (timeout) and revokes the
//    lease; the hung run can never commit.
// ---------------------------------------------------------------------------------------

#[test]
fn max_duration_exceeded_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "maxdur");
    let ds = async_dataset(&ctx, json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let (h1, h2) = (ctx.hash(&v1, &ds), ctx.hash(&v2, &ds));
    submit(&ctx, &v1, &ds, &["--events", "none"]).ok();
    worker_poll_once(&ctx, &["--events", "none"]).ok();
    let before = ctx.catalog();
    submit(
        &ctx,
        &v2,
        &ds,
        &["--events", "none", "--max-duration", "1s"],
    )
    .ok();
    assert_eq!(ctx.status(&ds)["desiredVersion"], h2.as_str());

    let lock = hold_table_lock(&ctx);
    let child = ctx.spawn(&[
        "worker",
        "--poll",
        "--once",
        "--db",
        &ctx.url,
        "--lock-timeout",
        "10m",
        "--events",
        "none",
    ]);
    eventually(
        "the worker is mid-migration",
        Duration::from_secs(30),
        || ctx.status(&ds)["phase"] == "in-progress",
    );
    eventually(
        "watchdog finds the run past its maxDuration",
        Duration::from_secs(30),
        || {
            let w = watchdog(&ctx);
            w.ok();
            let start = w.stdout.find("{\n").unwrap_or(0);
            let doc: Value = serde_json::from_str(&w.stdout[start..]).unwrap_or(Value::Null);
            doc["findings"][0]["finding"] == "hung"
        },
    );
    let status = ctx.status(&ds);
    assert_eq!(status["phase"], "failed", "{status}");
    assert_eq!(status["lastFailure"]["class"], "timeout", "{status}");
    // Let the hung run go on: its commit is fenced off.
    release_table_lock(lock);
    let out = child.wait_with_output().expect("worker");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ctx.catalog(), before, "the hung run never committed");
    let status = ctx.status(&ds);
    assert_eq!(status["deployedVersion"], h1.as_str(), "{status}");
    assert_eq!(
        status["lastFailure"]["class"], "timeout",
        "the watchdog's record stands"
    );
}

/// The next apply finds a hung run the same way (it waits for the lock, sees the deadline
/// passed, records `failed` and revokes the lease) and refuses while the hung process
/// still holds the session lock; once it is gone, apply deploys.
#[test]
fn max_duration_found_by_next_apply_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "maxdurapply");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let h2 = ctx.hash(&v2, &ds);
    ctx.apply(&v1, &ds, &["--events", "none"]).ok();
    let before = ctx.catalog();
    let lock = hold_table_lock(&ctx);
    let child = ctx.spawn(&[
        "apply",
        "--package",
        &v2,
        "--dataset",
        &ds,
        "--db",
        &ctx.url,
        "--events",
        "none",
        "--max-duration",
        "1s",
        "--lock-timeout",
        "10m",
    ]);
    eventually(
        "the apply is mid-migration",
        Duration::from_secs(30),
        || ctx.status(&ds)["phase"] == "in-progress",
    );
    eventually(
        "the next apply finds the hung run",
        Duration::from_secs(30),
        || {
            let r = ctx.apply(&v2, &ds, &["--lock-wait", "0s", "--events", "none"]);
            assert_eq!(
                r.code, 3,
                "refused while the hung run holds the lock: {}",
                r.stderr
            );
            ctx.status(&ds)["lastFailure"]["class"] == "timeout"
        },
    );
    let history = ctx.history(&ds);
    let failed = history.last().expect("history");
    assert_eq!(failed["event"], "failed", "{failed}");
    assert_eq!(failed["detail"]["detectedBy"], "apply", "{failed}");
    release_table_lock(lock);
    let out = child.wait_with_output().expect("apply");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ctx.catalog(), before, "the hung run never committed");
    ctx.apply(&v2, &ds, &["--events", "none"]).ok();
    assert_eq!(ctx.status(&ds)["deployedVersion"], h2.as_str());
}

/// SIGTERM during a step-by-step run: the worker finishes the step it is in, stops at
/// the next boundary (recorded as failed, class `interrupted`, with the committed step),
/// exits 0; `recover --resolve retry` resumes after the committed step.
#[test]
fn sigterm_stops_at_a_step_boundary_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "sigtermstep");
    let ds = async_dataset(&ctx, json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let h2 = ctx.hash(&v2, &ds);
    submit(&ctx, &v1, &ds, &["--events", "none"]).ok();
    worker_poll_once(&ctx, &["--events", "none"]).ok();
    let plan = ctx.plan_db(&v2, &ds, &[]);
    plan.ok();
    let n = plan.json()["steps"]
        .as_array()
        .map(Vec::len)
        .expect("steps");
    assert!(n >= 2, "{}", plan.stdout);
    submit(&ctx, &v2, &ds, &["--events", "none", "--step-by-step"]).ok();

    let lock = hold_table_lock(&ctx);
    let child = ctx.spawn(&[
        "worker",
        "--poll",
        "--db",
        &ctx.url,
        "--lock-timeout",
        "10m",
        "--events",
        "none",
    ]);
    eventually(
        "the worker is in its first step",
        Duration::from_secs(30),
        || {
            // Its step waits for the table lock the test holds.
            let waiting: i64 = ctx
                .pg()
                .query_one("SELECT count(*) FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", &[])
                .expect("pg_locks")
                .get(0);
            waiting > 0 && ctx.status(&ds)["phase"] == "in-progress"
        },
    );
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(st.success());
    release_table_lock(lock);
    let out = child.wait_with_output().expect("worker");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let status = ctx.status(&ds);
    let failure = &status["lastFailure"];
    assert_eq!(failure["class"], "interrupted", "{status}\n{stderr}");
    assert_eq!(failure["rolledBack"], false, "{status}");
    assert_eq!(
        failure["committedSteps"].as_array().map(Vec::len),
        Some(1),
        "{status}"
    );
    assert_eq!(
        failure["stepIndex"], 1,
        "stopped before the second step: {status}"
    );

    let r = recover(
        &ctx,
        &ds,
        "retry",
        "worker was stopped",
        &["--events", "none"],
    );
    r.ok();
    assert!(
        r.stderr.contains(&format!("[2/{n}]")) && !r.stderr.contains(&format!("[1/{n}]")),
        "resumed after the committed step: {}",
        r.stderr
    );
    assert_eq!(ctx.status(&ds)["deployedVersion"], h2.as_str());
}

// ---------------------------------------------------------------------------------------
// 8. wait for a superseded version; SIGTERM stops a worker cleanly; bad input.
// ---------------------------------------------------------------------------------------

#[test]
fn wait_superseded_and_sigterm_sqlite() {
    let ctx = Ctx::new(Engine::Sqlite, "sigterm");
    let ds = async_dataset(&ctx, json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let (h1, h2) = (ctx.hash(&v1, &ds), ctx.hash(&v2, &ds));
    submit(&ctx, &v1, &ds, &["--events", "none"]).ok();
    submit(&ctx, &v2, &ds, &["--events", "none"]).ok();
    let r = wait_for(&ctx, &ds, &h1, "5s");
    r.expect_code(1);
    assert!(r.stderr.contains("superseded"), "{}", r.stderr);

    // A long-running worker picks v2 up, then stops on SIGTERM with exit 0.
    let child = ctx.spawn(&[
        "worker",
        "--poll",
        "--db",
        &ctx.url,
        "--events",
        "none",
        "--poll-interval",
        "100ms",
    ]);
    wait_for(&ctx, &ds, &h2, "30s").ok();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(st.success());
    let out = child.wait_with_output().expect("worker");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopping"));

    // A synchronous dataset cannot be submitted (exit 2), and a reason is required.
    let sync = ctx.dataset("sync.dataset.json", json!({}));
    let r = submit(&ctx, &v1, &sync, &[]);
    r.expect_code(2);
    assert!(r.stderr.contains("asynchronous"), "{}", r.stderr);
    recover(&ctx, &ds, "retry", " ", &[]).expect_code(2);
    let r = wait_for(&ctx, &ds, "abc", "1s");
    r.expect_code(2);
    assert!(r.stderr.contains("--version"), "{}", r.stderr);
}
