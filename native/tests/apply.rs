//! Black-box tests of the synchronous executor: `depot-migrate apply`, `status`,
//! `history`, `snapshot`, `plan --db` and `events flush`, run as a binary against a
//! temporary SQLite file and against the real PostgreSQL that
//! `scripts/with-services.sh` starts (`DEPOT_TEST_PG_URL`; every test gets a database of
//! its own and a dataset id of its own, so tests run in parallel).
//!
//! What they hold the binary to is docs/design.md, "State, lifecycle and events" and "Native
//! CLI", and the lifecycle of the Depot migrations observability page.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};
use support::*;

const V1: &str = "dogs.v1.package.json";
const V2: &str = "dogs.v2.package.json";
const V3: &str = "dogs.v3.package.json";

/// A value that only ever lives in a row of the dataset: no output may show it.
const ROW_SECRET: &str = "RowValue-zq81x";

/// The password of the credential tests: no output may show it.
const PASSWORD: &str = "supersecret";

// ---------------------------------------------------------------------------------------
// Checks shared by the tests
// ---------------------------------------------------------------------------------------

/// Checks one event against the observability page's envelope and the additions of
/// docs/design.md ([`support::check_envelope`]), for this test's dataset.
#[track_caller]
fn check_envelope(e: &Value, ctx: &Ctx, event: &str, version_hash: &str) {
    support::check_envelope(
        e,
        &Envelope {
            dataset_id: &ctx.dataset_id,
            alias: "WsDevDogSrc",
            engine: ctx.engine.id(),
            event,
            version_hash,
        },
    );
}

/// Checks a run's events: exactly `expected` in order, one run id, consecutive revisions
/// starting at `first_revision`, distinct event ids. Returns them.
#[track_caller]
fn check_run_events(
    run: &Run,
    ctx: &Ctx,
    expected: &[&str],
    version_hash: &str,
    previous: Option<&str>,
    first_revision: i64,
) -> Vec<Value> {
    let events = run.events();
    assert_eq!(
        names(&events),
        expected,
        "events of {:?}:\n{}\nstderr:\n{}",
        run.args,
        run.stdout,
        run.stderr
    );
    for (i, e) in events.iter().enumerate() {
        check_envelope(e, ctx, expected[i], version_hash);
        assert_eq!(
            e["detail"]["revision"],
            first_revision + i as i64,
            "revision of event {i}: {e}"
        );
        assert_eq!(
            e["detail"]["previousVersionHash"],
            previous.map_or(Value::Null, |p| json!(p)),
            "previousVersionHash: {e}"
        );
        assert_eq!(
            e["detail"]["runId"], events[0]["detail"]["runId"],
            "one runId per run"
        );
        assert_eq!(
            e["detail"]["planHash"], events[0]["detail"]["planHash"],
            "one planHash per run"
        );
    }
    let ids: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["detail"]["eventId"].as_str())
        .collect();
    assert_eq!(
        ids.len(),
        events.len(),
        "event ids are distinct: {events:?}"
    );
    events
}

/// Checks `status` for a stable dataset at `hash`, revision `revision`.
#[track_caller]
fn check_stable(status: &Value, ctx: &Ctx, hash: &str, revision: i64) {
    assert_eq!(status["id"], ctx.dataset_id.as_str(), "{status}");
    assert_eq!(status["alias"], "WsDevDogSrc", "{status}");
    assert_eq!(status["status"], "RUNNING", "{status}");
    assert_eq!(status["phase"], "stable", "{status}");
    assert_eq!(status["version"], revision, "{status}");
    assert_eq!(status["desiredVersion"], hash, "{status}");
    assert_eq!(status["attemptedVersion"], hash, "{status}");
    assert_eq!(status["deployedVersion"], hash, "{status}");
    assert!(is_rfc3339_utc(&status["synced"]), "synced: {status}");
    assert!(
        status.get("lastFailure").is_none_or(Value::is_null),
        "no failure after a deploy: {status}"
    );
}

/// A package derived from v1 whose plan adds a column, a table and a unique index over
/// `dog.name` (the index step comes last, so it fails after the others ran).
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

fn deploy(ctx: &Ctx, package: &str, dataset: &str) -> Vec<Value> {
    let r = ctx.apply(package, dataset, &[]);
    r.ok();
    assert_eq!(r.event_names(), ["attempted", "deployed"], "{}", r.stderr);
    r.events()
}

// ---------------------------------------------------------------------------------------
// 1. Synchronous lifecycle
// ---------------------------------------------------------------------------------------

fn first_apply_emits_attempted_then_deployed(engine: Engine) {
    let ctx = Ctx::new(engine, "lifecycle");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let hash = ctx.hash(&v1, &ds);

    // Before anything: phase new, nothing desired.
    let before = ctx.status(&ds);
    assert_eq!(before["phase"], "new", "{before}");
    assert!(before["desiredVersion"].is_null(), "{before}");
    assert!(before["deployedVersion"].is_null(), "{before}");

    let r = ctx.cli_env(
        &[
            "apply",
            "--package",
            &v1,
            "--dataset",
            &ds,
            "--db",
            &ctx.url,
        ],
        &[
            ("AWS_REGION", "eu-west-1"),
            ("DEPOT_AWS_ACCOUNT_ID", "058264526050"),
        ],
    );
    r.ok();
    let events = check_run_events(&r, &ctx, &["attempted", "deployed"], &hash, None, 1);
    for e in &events {
        assert_eq!(
            e["region"], "eu-west-1",
            "region from the AWS environment: {e}"
        );
        assert_eq!(e["account"], "058264526050", "{e}");
    }
    assert!(
        !r.stderr.contains("warning"),
        "no warning without an event bus: {}",
        r.stderr
    );

    let status = ctx.status(&ds);
    check_stable(&status, &ctx, &hash, 2);
    assert_eq!(
        status["deployedPlanHash"], events[1]["detail"]["planHash"],
        "{status}"
    );
    assert_eq!(
        status["synced"], events[1]["time"],
        "an event's time is the time of its state change"
    );

    // The tables really exist.
    assert_eq!(ctx.tables(), BTreeSet::from(["dog".to_string()]));
    assert_eq!(
        ctx.columns("dog"),
        ["id", "name", "owner_name", "weight"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    if engine == Engine::Postgres {
        let pk = ctx.pg().query_one(
            "SELECT count(*) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'dogs' AND c.relname = 'dog' AND k.contype = 'p'",
            &[],
        ).expect("pk").get::<_, i64>(0);
        assert_eq!(pk, 1, "primary key of dogs.dog");
    }

    // History has both transitions of the run.
    let h = ctx.history(&ds);
    let evs: Vec<&str> = h.iter().filter_map(|x| x["event"].as_str()).collect();
    assert_eq!(evs, ["attempted", "deployed"], "{h:?}");
    for x in &h {
        assert_eq!(x["runId"], events[0]["detail"]["runId"], "{x}");
        assert_eq!(x["version"], hash.as_str(), "{x}");
    }
    // Everything was published during the apply: nothing pending.
    assert_eq!(ctx.flush().stdout.trim(), "");
}

engine_tests!(lifecycle_sqlite, lifecycle_postgres => first_apply_emits_attempted_then_deployed);

// ---------------------------------------------------------------------------------------
// 2. Re-applying the deployed version is a silent no-op
// ---------------------------------------------------------------------------------------

fn reapply_is_silent(engine: Engine) {
    let ctx = Ctx::new(engine, "reapply");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    deploy(&ctx, &v1, &ds);
    let status = ctx.status(&ds);
    let history = ctx.history(&ds);
    let catalog = ctx.catalog();
    std::thread::sleep(Duration::from_millis(1100)); // so a rewritten `synced` would differ

    let r = ctx.apply(&v1, &ds, &[]);
    r.ok();
    assert_eq!(r.stdout.trim(), "", "no events when nothing changes");
    assert_eq!(ctx.status(&ds), status, "state unchanged");
    assert_eq!(ctx.history(&ds), history, "history unchanged");
    assert_eq!(ctx.catalog(), catalog);
    assert_eq!(ctx.flush().stdout.trim(), "", "nothing left pending either");

    // Also with a sink that would show anything written.
    let jsonl = ctx.path("events.jsonl");
    ctx.apply(&v1, &ds, &["--events", &format!("jsonl:{jsonl}")])
        .ok();
    let written = std::fs::read_to_string(&jsonl).unwrap_or_default();
    assert_eq!(written.trim(), "", "no events in the jsonl sink either");
}

engine_tests!(reapply_is_silent_sqlite, reapply_is_silent_postgres => reapply_is_silent);

// ---------------------------------------------------------------------------------------
// 3. v1 -> v2, snapshot, plan --db
// ---------------------------------------------------------------------------------------

fn v1_to_v2(engine: Engine) {
    let ctx = Ctx::new(engine, "v1v2");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2, v3) = (example(V1), example(V2), example(V3));
    let (h1, h2) = (ctx.hash(&v1, &ds), ctx.hash(&v2, &ds));
    let first = deploy(&ctx, &v1, &ds);
    ctx.sql(&format!(
        "INSERT INTO {} (id, name, owner_name, weight) VALUES (1, 'Rex', 'Ann', 12.5)",
        ctx.q("dog")
    ));

    let uri = "s3://sdp-bootstrap-058264526050-eu-west-1/sdp-e2e404529091ed2/datasets/plan.json";
    let r = ctx.apply(&v2, &ds, &["--environment-uri", uri]);
    r.ok();
    let events = check_run_events(&r, &ctx, &["attempted", "deployed"], &h2, Some(&h1), 3);
    assert_ne!(
        events[0]["detail"]["runId"], first[0]["detail"]["runId"],
        "a new run id per run"
    );
    for e in &events {
        assert_eq!(e["detail"]["environmentUri"], uri, "{e}");
    }
    check_stable(&ctx.status(&ds), &ctx, &h2, 4);

    // The catalog is at v2, and the row survived the rename.
    assert_eq!(
        ctx.columns("dog"),
        ["id", "name", "owner", "weight", "active"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert!(
        ctx.indexes().contains("dog_name_idx"),
        "{:?}",
        ctx.indexes()
    );
    assert_eq!(ctx.row_count("dog"), 1);

    // `snapshot` prints the v2 package: same version hash, and a usable baseline.
    let snap = ctx.cli(&["snapshot", "--dataset", &ds, "--db", &ctx.url]);
    snap.ok();
    let snap_json = snap.json();
    assert_eq!(snap_json["namespace"], "dogs", "{snap_json}");
    let snap_file = ctx.write_json("snapshot.package.json", &snap_json);
    assert_eq!(ctx.hash(&snap_file, &ds), h2, "snapshot is the v2 package");
    let cols: Vec<&str> = snap_json["tables"][0]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(cols, ["id", "name", "owner", "weight", "active"]);
    let from_snapshot = ctx.cli(&[
        "plan",
        "--package",
        &v2,
        "--dataset",
        &ds,
        "--from-package",
        &snap_file,
        "--detailed-exitcode",
    ]);
    from_snapshot.expect_code(0);

    // plan --db: nothing to do for v2, something for v3.
    let p2 = ctx.plan_db(&v2, &ds, &["--detailed-exitcode"]);
    p2.expect_code(0);
    assert_eq!(p2.json()["steps"], json!([]), "{}", p2.stdout);
    assert_eq!(p2.json()["fromVersion"], h2.as_str());
    let p3 = ctx.plan_db(&v3, &ds, &["--detailed-exitcode"]);
    p3.expect_code(4);
    assert!(
        p3.json()["steps"].as_array().is_some_and(|s| !s.is_empty()),
        "{}",
        p3.stdout
    );
}

engine_tests!(v1_to_v2_sqlite, v1_to_v2_postgres => v1_to_v2);

// ---------------------------------------------------------------------------------------
// 4. Destructive steps are refused unless allowed, key by key
// ---------------------------------------------------------------------------------------

fn destructive_refused(engine: Engine) {
    let ctx = Ctx::new(engine, "destructive");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let other_key = ctx.dataset(
        "other.dataset.json",
        json!({"allowDestructive": ["dropColumn:dog.name"]}),
    );
    let allow = ctx.dataset(
        "allow.dataset.json",
        json!({"allowDestructive": ["dropColumn:dog.weight"]}),
    );
    let (v1, v2, v3) = (example(V1), example(V2), example(V3));
    deploy(&ctx, &v1, &ds);
    deploy(&ctx, &v2, &ds);
    let h2 = ctx.hash(&v2, &ds);
    let status = ctx.status(&ds);
    let history = ctx.history(&ds);
    let catalog = ctx.catalog();

    for dataset in [&ds, &other_key] {
        let r = ctx.apply(&v3, dataset, &[]);
        r.expect_code(3);
        assert!(
            r.stderr.contains("dropColumn:dog.weight"),
            "stderr names the key to allow: {}",
            r.stderr
        );
        assert_eq!(r.stdout.trim(), "", "no events for a refused apply");
        assert_eq!(ctx.status(dataset), status, "state unchanged");
        assert_eq!(ctx.history(&ds), history, "no history for a refused apply");
        assert_eq!(ctx.catalog(), catalog, "nothing ran");
        assert!(ctx.columns("dog").contains("weight"));
    }
    assert_eq!(
        ctx.flush().stdout.trim(),
        "",
        "nothing pending after refusals"
    );

    // Allowed by its key, it deploys.
    let h3 = ctx.hash(&v3, &allow);
    let r = ctx.apply(&v3, &allow, &[]);
    r.ok();
    check_run_events(&r, &ctx, &["attempted", "deployed"], &h3, Some(&h2), 5);
    assert!(!ctx.columns("dog").contains("weight"));
    assert!(ctx.tables().contains("visit"));
    check_stable(&ctx.status(&allow), &ctx, &h3, 6);
}

engine_tests!(destructive_refused_sqlite, destructive_refused_postgres => destructive_refused);

// ---------------------------------------------------------------------------------------
// 5. A failing step rolls the whole plan back and is recorded; fixing the data lets the
//    next apply deploy
// ---------------------------------------------------------------------------------------

fn failure_rolls_back(engine: Engine) {
    let ctx = Ctx::new(engine, "failure");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let uq = ctx.write_json("uq.package.json", &unique_name_package());
    let (h1, huq) = (ctx.hash(&v1, &ds), ctx.hash(&uq, &ds));
    deploy(&ctx, &v1, &ds);
    ctx.sql(&format!(
        "INSERT INTO {} (id, name, owner_name) VALUES (1, '{ROW_SECRET}', '{ROW_SECRET}-o'), (2, '{ROW_SECRET}', '{ROW_SECRET}-o')",
        ctx.q("dog")
    ));

    // Where the plan will break.
    let plan = ctx.plan_db(&uq, &ds, &[]);
    plan.ok();
    let plan = plan.json();
    let steps = plan["steps"].as_array().expect("steps");
    let index_step = steps
        .iter()
        .find(|s| s["key"] == "createIndex:dog.dog_name_uq")
        .expect("the plan creates the unique index");
    assert!(steps.len() >= 3, "the plan has other steps too: {plan}");
    assert_eq!(
        index_step["index"].as_u64(),
        Some(steps.len() as u64 - 1),
        "the index step is last, so the other steps ran before it: {plan}"
    );

    let before = ctx.catalog();
    let r = ctx.apply(&uq, &ds, &[]);
    r.expect_code(1);
    let events = check_run_events(&r, &ctx, &["attempted", "failed"], &huq, Some(&h1), 3);
    let err = &events[1]["detail"]["error"];
    assert_eq!(err["stepIndex"], index_step["index"], "{err}");
    assert_eq!(err["stepKey"], "createIndex:dog.dog_name_uq", "{err}");
    assert!(
        err["statement"]
            .as_str()
            .is_some_and(|s| s.contains("dog_name_uq")),
        "the failing statement: {err}"
    );
    match engine {
        Engine::Postgres => assert_eq!(err["sqlstate"], "23505", "{err}"),
        Engine::Sqlite => assert!(
            err["sqlstate"].as_str().is_some_and(|s| !s.is_empty()),
            "an error code on SQLite too: {err}"
        ),
    }
    assert!(
        err["message"].as_str().is_some_and(|s| !s.is_empty()),
        "{err}"
    );
    assert_eq!(err["rolledBack"], true, "{err}");
    assert_eq!(err["committedSteps"], json!([]), "{err}");

    // The database is exactly at "before": no index, no other step of the plan.
    assert_eq!(ctx.catalog(), before, "the failed plan left nothing behind");
    assert!(!ctx.indexes().contains("dog_name_uq"));
    assert!(!ctx.tables().contains("cat"));
    assert!(!ctx.columns("dog").contains("tag"));
    assert_eq!(ctx.row_count("dog"), 2);

    let status = ctx.status(&ds);
    assert_eq!(status["phase"], "failed", "{status}");
    assert_eq!(status["deployedVersion"], h1.as_str(), "{status}");
    assert_eq!(status["desiredVersion"], huq.as_str(), "{status}");
    assert_eq!(status["attemptedVersion"], huq.as_str(), "{status}");
    assert_eq!(status["version"], 4, "{status}");
    assert_eq!(
        status["lastFailure"]["stepKey"], "createIndex:dog.dog_name_uq",
        "{status}"
    );
    assert_eq!(status["lastFailure"]["rolledBack"], true, "{status}");
    let history = ctx.history(&ds);
    assert_eq!(
        history.last().map(|h| h["event"].clone()),
        Some(json!("failed")),
        "{history:?}"
    );

    // No row value anywhere: stdout (events), stderr, status, history, the stored state.
    let history_text = ctx
        .cli(&["history", "--dataset", &ds, "--db", &ctx.url])
        .stdout;
    for (what, text) in [
        ("stdout", r.stdout.clone()),
        ("stderr", r.stderr.clone()),
        ("status", status.to_string()),
        ("history", history_text),
        ("stored state, history and outbox", ctx.state_dump()),
    ] {
        assert!(
            !text.contains(ROW_SECRET),
            "{what} shows a row value ({ROW_SECRET}):\n{text}"
        );
    }

    // Fix the data; the next apply runs again and deploys, as a new run.
    ctx.sql(&format!("DELETE FROM {} WHERE id = 2", ctx.q("dog")));
    let again = ctx.apply(&uq, &ds, &[]);
    again.ok();
    let ok = check_run_events(&again, &ctx, &["attempted", "deployed"], &huq, Some(&h1), 5);
    assert_ne!(
        ok[0]["detail"]["runId"], events[0]["detail"]["runId"],
        "a new run id"
    );
    check_stable(&ctx.status(&ds), &ctx, &huq, 6);
    assert!(ctx.indexes().contains("dog_name_uq"));
    assert!(ctx.tables().contains("cat"));
    assert!(ctx.columns("dog").contains("tag"));
}

engine_tests!(failure_rolls_back_sqlite, failure_rolls_back_postgres => failure_rolls_back);

/// A cast that fails on a row (`invalid input syntax for type bigint: "<value>"`): the
/// value must not reach the event, the state or history.
#[test]
fn failed_cast_message_omits_the_value_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "castvalue");
    let ds = ctx.dataset("d.dataset.json", json!({"allowDestructive": true}));
    let v1 = example(V1);
    deploy(&ctx, &v1, &ds);
    ctx.sql(&format!(
        "INSERT INTO {} (id, name, owner_name) VALUES (1, 'Rex', '{ROW_SECRET}')",
        ctx.q("dog")
    ));
    let mut p = example_json(V1);
    p["tables"][0]["columns"][2] = json!({"name": "owner_name", "type": "bigint"});
    let pkg = ctx.write_json("cast.package.json", &p);
    let r = ctx.apply(&pkg, &ds, &[]);
    r.expect_code(1);
    let events = r.events();
    assert_eq!(names(&events), ["attempted", "failed"], "{}", r.stderr);
    let err = &events[1]["detail"]["error"];
    assert_eq!(err["rolledBack"], true, "{err}");
    assert!(
        err["sqlstate"]
            .as_str()
            .is_some_and(|s| s.starts_with("22")),
        "{err}"
    );
    let history_text = ctx
        .cli(&["history", "--dataset", &ds, "--db", &ctx.url])
        .stdout;
    for (what, text) in [
        ("stdout", r.stdout.clone()),
        ("stderr", r.stderr.clone()),
        ("status", ctx.status(&ds).to_string()),
        ("history", history_text),
        ("stored state", ctx.state_dump()),
    ] {
        assert!(
            !text.contains(ROW_SECRET),
            "{what} shows a row value ({ROW_SECRET}):\n{text}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 6. Stale plans are refused
// ---------------------------------------------------------------------------------------

fn stale_plan(engine: Engine) {
    let ctx = Ctx::new(engine, "staleplan");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let allow = ctx.dataset(
        "allow.dataset.json",
        json!({"allowDestructive": ["dropColumn:dog.weight"]}),
    );
    let (v1, v2, v3) = (example(V1), example(V2), example(V3));
    deploy(&ctx, &v1, &ds);

    // The plan v1 -> v2, made before deploying (e.g. at synth), is accepted.
    let saved = ctx.plan_db(&v2, &ds, &[]);
    saved.ok();
    let saved_path = ctx.path("saved.plan.json");
    std::fs::write(&saved_path, &saved.stdout).expect("write plan");
    let r = ctx.apply(&v2, &ds, &["--plan", &saved_path]);
    r.ok();
    let events = r.events();
    assert_eq!(names(&events), ["attempted", "deployed"]);
    assert_eq!(
        events[1]["detail"]["planHash"],
        saved.json()["planHash"],
        "the plan that ran is the plan given"
    );

    // The same file for v3 (after v2 is deployed) is stale: refused, nothing changes.
    let status = ctx.status(&ds);
    let catalog = ctx.catalog();
    let r = ctx.apply(&v3, &allow, &["--plan", &saved_path]);
    r.expect_code(3);
    assert!(
        r.stderr.contains("stale plan"),
        "stderr says stale plan: {}",
        r.stderr
    );
    assert_eq!(r.stdout.trim(), "");
    assert_eq!(ctx.status(&ds), status);
    assert_eq!(ctx.catalog(), catalog);

    // A plan from a baseline that is not what is deployed (v1 -> v3) is stale too.
    let old_base = ctx.cli(&[
        "plan",
        "--package",
        &v3,
        "--dataset",
        &allow,
        "--from-package",
        &v1,
    ]);
    old_base.ok();
    let old_path = ctx.path("old-base.plan.json");
    std::fs::write(&old_path, &old_base.stdout).expect("write plan");
    let r = ctx.apply(&v3, &allow, &["--plan", &old_path]);
    r.expect_code(3);
    assert!(r.stderr.contains("stale plan"), "{}", r.stderr);
    assert_eq!(ctx.status(&ds), status);

    // A fresh plan works.
    let fresh = ctx.plan_db(&v3, &allow, &[]);
    fresh.ok();
    let fresh_path = ctx.path("fresh.plan.json");
    std::fs::write(&fresh_path, &fresh.stdout).expect("write plan");
    let r = ctx.apply(&v3, &allow, &["--plan", &fresh_path]);
    r.ok();
    let events = r.events();
    assert_eq!(names(&events), ["attempted", "deployed"]);
    assert_eq!(events[1]["detail"]["planHash"], fresh.json()["planHash"]);
    assert!(ctx.tables().contains("visit"));
}

engine_tests!(stale_plan_sqlite, stale_plan_postgres => stale_plan);

// ---------------------------------------------------------------------------------------
// 7. Which database: --db, DEPOT_DATABASE_URL, the SQLite default
// ---------------------------------------------------------------------------------------

#[test]
fn db_url_must_fit_the_engine() {
    let ctx = Ctx::new(Engine::Sqlite, "dbrules");
    let pg_ds = ctx.write_json(
        "pg.dataset.json",
        &json!({"environmentId": "e2e404529091ed2", "datasetId": ctx.dataset_id, "engine": "postgres", "schema": "dogs", "migrationMode": "synchronous"}),
    );
    let sqlite_ds = ctx.dataset("sqlite.dataset.json", json!({}));
    let v1 = example(V1);
    let x = ctx.path("x.sqlite");

    // A Postgres dataset never lands in a SQLite file.
    let r = ctx.cli(&[
        "apply",
        "--package",
        &v1,
        "--dataset",
        &pg_ds,
        "--db",
        &format!("sqlite:{x}"),
    ]);
    r.expect_code(2);
    assert_eq!(r.stdout.trim(), "");
    assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {}", r.stderr);
    assert!(!std::path::Path::new(&x).exists(), "no file was created");
    for cmd in ["status", "history", "snapshot"] {
        ctx.cli(&[cmd, "--dataset", &pg_ds, "--db", &format!("sqlite:{x}")])
            .expect_code(2);
    }
    ctx.cli(&[
        "plan",
        "--package",
        &v1,
        "--dataset",
        &pg_ds,
        "--db",
        &format!("sqlite:{x}"),
    ])
    .expect_code(2);
    assert!(!std::path::Path::new(&x).exists(), "no file was created");

    // Nor does it fall back to the local default without --db and DEPOT_DATABASE_URL.
    let r = ctx.cli(&["apply", "--package", &v1, "--dataset", &pg_ds]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("DEPOT_DATABASE_URL") || r.stderr.contains("--db"),
        "says how to give a database: {}",
        r.stderr
    );
    assert!(!ctx.dir.join("depot.sqlite").exists());
    ctx.cli(&["status", "--dataset", &pg_ds]).expect_code(2);

    // A SQLite dataset with a Postgres URL is the same mistake the other way round.
    ctx.cli(&[
        "apply",
        "--package",
        &v1,
        "--dataset",
        &sqlite_ds,
        "--db",
        "postgres://postgres@127.0.0.1:1/nothing",
    ])
    .expect_code(2);
    // And an unknown scheme is bad input.
    ctx.cli(&[
        "apply",
        "--package",
        &v1,
        "--dataset",
        &sqlite_ds,
        "--db",
        "mysql://u@h/d",
    ])
    .expect_code(2);
}

#[test]
fn sqlite_defaults_to_depot_sqlite_in_the_current_directory() {
    let ctx = Ctx::new(Engine::Sqlite, "sqlitedefault");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let h1 = ctx.hash(&v1, &ds);
    let file = ctx.dir.join("depot.sqlite");
    assert!(!file.exists());
    let r = ctx.cli(&["apply", "--package", &v1, "--dataset", &ds]);
    r.ok();
    assert_eq!(r.event_names(), ["attempted", "deployed"]);
    assert!(
        file.is_file(),
        "depot.sqlite appears in the current directory"
    );
    // The dataset is really in that file, and the other commands find it the same way.
    let c = rusqlite::Connection::open(&file).expect("open");
    let n: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'dog'",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(n, 1);
    let s = ctx.cli(&["status", "--dataset", &ds, "--output", "json"]);
    s.ok();
    assert_eq!(s.json()["deployedVersion"], h1.as_str());
    assert!(
        !ctx.dir.join("db.sqlite").exists(),
        "the --db file of the context was not used"
    );
}

#[test]
fn depot_database_url_is_honoured_sqlite() {
    let ctx = Ctx::new(Engine::Sqlite, "envurl");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let h1 = ctx.hash(&v1, &ds);
    let env_file = ctx.path("from-env.sqlite");
    let env_url = format!("sqlite:{env_file}");
    let r = ctx.cli_env(
        &["apply", "--package", &v1, "--dataset", &ds],
        &[("DEPOT_DATABASE_URL", &env_url)],
    );
    r.ok();
    assert!(std::path::Path::new(&env_file).is_file());
    assert!(
        !ctx.dir.join("depot.sqlite").exists(),
        "the env var wins over the default"
    );
    let s = ctx.cli(&[
        "status",
        "--dataset",
        &ds,
        "--db",
        &env_url,
        "--output",
        "json",
    ]);
    s.ok();
    assert_eq!(s.json()["deployedVersion"], h1.as_str());
    // --db wins over the env var.
    let other = ctx.path("other.sqlite");
    let r = ctx.cli_env(
        &[
            "apply",
            "--package",
            &v1,
            "--dataset",
            &ds,
            "--db",
            &format!("sqlite:{other}"),
        ],
        &[("DEPOT_DATABASE_URL", &env_url)],
    );
    r.ok();
    assert_eq!(r.event_names(), ["attempted", "deployed"], "a new database");
    assert!(std::path::Path::new(&other).is_file());
}

#[test]
fn depot_database_url_is_honoured_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "envurl");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let h1 = ctx.hash(&v1, &ds);
    let env: &[(&str, &str)] = &[("DEPOT_DATABASE_URL", &ctx.url)];
    let r = ctx.cli_env(&["apply", "--package", &v1, "--dataset", &ds], env);
    r.ok();
    assert_eq!(r.event_names(), ["attempted", "deployed"]);
    assert!(ctx.tables().contains("dog"));
    for cmd in ["status", "history", "snapshot"] {
        ctx.cli_env(&[cmd, "--dataset", &ds], env).ok();
    }
    let s = ctx.cli_env(&["status", "--dataset", &ds, "--output", "json"], env);
    assert_eq!(s.json()["deployedVersion"], h1.as_str());
    let f = ctx.cli_env(&["events", "flush", "--events", "stdout"], env);
    f.ok();
    assert_eq!(f.stdout.trim(), "");
    assert!(!ctx.dir.join("depot.sqlite").exists());
}

// ---------------------------------------------------------------------------------------
// 8. Event sinks: none, jsonl, and an unwritable sink
// ---------------------------------------------------------------------------------------

/// Events with what differs between two identical runs (ids, times) blanked.
fn normalized(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e["id"] = json!("-");
            e["time"] = json!("-");
            e["detail"]["eventId"] = json!("-");
            e["detail"]["runId"] = json!("-");
            // Per run, like the run id: how long it took.
            if let Some(d) = e["detail"].get_mut("durationMs") {
                *d = json!("-");
            }
            e
        })
        .collect()
}

fn event_sinks(engine: Engine) {
    let a = Ctx::new(engine, "sinks-a");
    let mut b = Ctx::new(engine, "sinks-b");
    b.dataset_id = a.dataset_id.clone(); // same dataset, another database
    let ds_a = a.dataset("d.dataset.json", json!({}));
    let ds_b = b.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));

    // --events none: nothing on stdout, nothing pending, history still complete.
    for (ctx, ds) in [(&a, &ds_a), (&b, &ds_b)] {
        let r = ctx.apply(&v1, ds, &["--events", "none"]);
        r.ok();
        assert_eq!(r.stdout.trim(), "", "--events none prints nothing");
        assert_eq!(
            ctx.flush().stdout.trim(),
            "",
            "--events none leaves nothing pending"
        );
        let h = ctx.history(ds);
        let evs: Vec<&str> = h.iter().filter_map(|x| x["event"].as_str()).collect();
        assert_eq!(
            evs,
            ["attempted", "deployed"],
            "history keeps the transitions"
        );
        check_stable(&ctx.status(ds), ctx, &ctx.hash(&v1, ds), 2);
    }

    // jsonl:PATH writes what stdout would.
    let path = a.path("events.jsonl");
    let ra = a.apply(&v2, &ds_a, &["--events", &format!("jsonl:{path}")]);
    ra.ok();
    assert_eq!(ra.stdout.trim(), "", "events go to the file, not stdout");
    let rb = b.apply(&v2, &ds_b, &[]);
    rb.ok();
    let from_file = parse_jsonl(
        &std::fs::read_to_string(&path).expect("jsonl file"),
        "jsonl",
    );
    let h1 = a.hash(&v1, &ds_a);
    let h2 = a.hash(&v2, &ds_a);
    let from_stdout = check_run_events(&rb, &b, &["attempted", "deployed"], &h2, Some(&h1), 3);
    assert_eq!(names(&from_file), ["attempted", "deployed"]);
    for (i, e) in from_file.iter().enumerate() {
        check_envelope(e, &a, ["attempted", "deployed"][i], &h2);
    }
    assert_eq!(normalized(&from_file), normalized(&from_stdout));
    assert_eq!(
        a.flush().stdout.trim(),
        "",
        "published to the file: nothing pending"
    );
}

engine_tests!(event_sinks_sqlite, event_sinks_postgres => event_sinks);

/// An outage of the sink delays events, never loses them and never blocks a migration.
fn unwritable_sink_leaves_events_pending(engine: Engine) {
    let ctx = Ctx::new(engine, "outage");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let h1 = ctx.hash(&v1, &ds);
    let broken = ctx.path("no-such-dir/events.jsonl");
    let r = ctx.apply(&v1, &ds, &["--events", &format!("jsonl:{broken}")]);
    r.ok();
    assert!(
        r.stderr.contains("warning"),
        "says events are pending: {}",
        r.stderr
    );
    check_stable(&ctx.status(&ds), &ctx, &h1, 2);
    // `events flush` publishes them, in order, once.
    let f = ctx.flush();
    check_run_events(&f, &ctx, &["attempted", "deployed"], &h1, None, 1);
    assert_eq!(ctx.flush().stdout.trim(), "", "published once");
}

engine_tests!(unwritable_sink_leaves_events_pending_sqlite, unwritable_sink_leaves_events_pending_postgres => unwritable_sink_leaves_events_pending);

// ---------------------------------------------------------------------------------------
// 9. Locks (Postgres): the executor lock, lock_timeout and retries
// ---------------------------------------------------------------------------------------

#[test]
fn lock_held_refuses_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "lockheld");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let (h1, h2) = (ctx.hash(&v1, &ds), ctx.hash(&v2, &ds));
    deploy(&ctx, &v1, &ds);
    let status = ctx.status(&ds);
    let catalog = ctx.catalog();

    let mut holder = ctx.pg();
    holder
        .execute(
            "SELECT pg_advisory_lock($1, $2)",
            &[&LOCK_NAMESPACE, &lock_key(&ctx.dataset_id)],
        )
        .expect("take the dataset's lock");

    // (No wall-clock assertion: the refusal itself and its message are the behaviour.)
    let r = ctx.apply(&v2, &ds, &["--lock-wait", "1s"]);
    r.expect_code(3);
    assert!(
        r.stderr.contains("lock") && r.stderr.contains(&ctx.dataset_id),
        "names the lock: {}",
        r.stderr
    );
    assert_eq!(r.stdout.trim(), "", "no events");
    // Status still reads (and shows no migration in progress: nothing was attempted).
    let now = ctx.status(&ds);
    assert_eq!(now["version"], status["version"], "{now}");
    assert_eq!(now["deployedVersion"], h1.as_str(), "{now}");
    assert_eq!(now["phase"], "stable", "{now}");
    assert_eq!(ctx.catalog(), catalog);
    assert_eq!(ctx.flush().stdout.trim(), "");

    holder
        .execute(
            "SELECT pg_advisory_unlock($1, $2)",
            &[&LOCK_NAMESPACE, &lock_key(&ctx.dataset_id)],
        )
        .expect("release");
    let r = ctx.apply(&v2, &ds, &["--lock-wait", "1s"]);
    r.ok();
    check_run_events(&r, &ctx, &["attempted", "deployed"], &h2, Some(&h1), 3);
}

#[test]
fn lock_timeout_fails_after_retries_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "locktimeout");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let (h1, h2) = (ctx.hash(&v1, &ds), ctx.hash(&v2, &ds));
    deploy(&ctx, &v1, &ds);
    let catalog = ctx.catalog();

    let mut blocker = ctx.pg();
    let mut tx = blocker.transaction().expect("begin");
    tx.batch_execute("LOCK TABLE dogs.dog IN ACCESS EXCLUSIVE MODE")
        .expect("lock dog");
    let r = ctx.apply(
        &v2,
        &ds,
        &[
            "--lock-timeout",
            "200ms",
            "--retries",
            "1",
            "--lock-wait",
            "1s",
        ],
    );
    tx.rollback().expect("release dog");

    r.expect_code(1);
    let events = check_run_events(&r, &ctx, &["attempted", "failed"], &h2, Some(&h1), 3);
    let err = &events[1]["detail"]["error"];
    assert_eq!(err["sqlstate"], "55P03", "{err}");
    assert_eq!(err["class"], "lockTimeout", "{err}");
    assert_eq!(err["rolledBack"], true, "{err}");
    assert!(
        r.stderr.contains("warning") && r.stderr.contains("retry"),
        "a retry warning on stderr: {}",
        r.stderr
    );
    assert_eq!(
        r.stderr.lines().filter(|l| l.contains("retry")).count(),
        1,
        "--retries 1 retries once: {}",
        r.stderr
    );
    let status = ctx.status(&ds);
    assert_eq!(status["deployedVersion"], h1.as_str(), "{status}");
    assert_eq!(status["phase"], "failed", "{status}");
    assert_eq!(status["lastFailure"]["sqlstate"], "55P03", "{status}");
    assert_eq!(ctx.catalog(), catalog, "nothing of v2 committed");

    // Once the table is free, the next apply deploys.
    let r = ctx.apply(&v2, &ds, &["--lock-timeout", "5s"]);
    r.ok();
    check_run_events(&r, &ctx, &["attempted", "deployed"], &h2, Some(&h1), 5);
}

/// Reads one line from a child's stdout on a thread, so a test can give up waiting;
/// the rest of stdout is collected by the returned thread (so the child never blocks on
/// a full pipe).
fn first_line(
    child: &mut std::process::Child,
    within: Duration,
) -> Option<(String, std::thread::JoinHandle<String>)> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let rest = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
        rest
    });
    let line = rx.recv_timeout(within).ok()?;
    Some((line, rest))
}

/// `attempted` is committed and published before any DDL runs, so an observer sees it
/// (and `status` says in-progress) while the migration waits for a table lock.
#[test]
fn attempted_is_published_before_the_ddl_runs_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "attemptedfirst");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let (h1, h2) = (ctx.hash(&v1, &ds), ctx.hash(&v2, &ds));
    deploy(&ctx, &v1, &ds);

    let mut blocker = ctx.pg();
    let mut tx = blocker.transaction().expect("begin");
    tx.batch_execute("LOCK TABLE dogs.dog IN ACCESS EXCLUSIVE MODE")
        .expect("lock dog");
    let mut child = ctx.spawn(&[
        "apply",
        "--package",
        &v2,
        "--dataset",
        &ds,
        "--db",
        &ctx.url,
        "--lock-timeout",
        "20s",
        "--retries",
        "0",
    ]);
    let first = first_line(&mut child, Duration::from_secs(15));
    let still_running = child.try_wait().expect("try_wait").is_none();
    let status = ctx.status(&ds);
    tx.rollback().expect("release dog");
    let out = child.wait_with_output().expect("wait");

    let (line, rest) = first.expect("an event line while the DDL waits");
    let rest = rest.join().expect("stdout");
    assert_eq!(names(&parse_jsonl(&rest, "stdout")), ["deployed"], "{rest}");
    let e: Value = serde_json::from_str(&line).expect("event JSON");
    assert_eq!(e["detail"]["event"], "attempted", "{e}");
    assert!(
        still_running,
        "attempted was printed before the migration finished"
    );
    assert_eq!(status["phase"], "in-progress", "{status}");
    assert_eq!(
        status["desiredVersion"],
        h2.as_str(),
        "desired = attempted in one update: {status}"
    );
    assert_eq!(status["attemptedVersion"], h2.as_str(), "{status}");
    assert_eq!(status["deployedVersion"], h1.as_str(), "{status}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_stable(&ctx.status(&ds), &ctx, &h2, 4);
}

/// Two applies of the same version at once: one deploys, the other waits for the lock
/// and then finds it deployed (exit 0, no events).
fn concurrent_applies_deploy_once(engine: Engine) {
    let ctx = Ctx::new(engine, "concurrent");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let h1 = ctx.hash(&v1, &ds);
    // Create the state tables first, so both runs race on the dataset only.
    ctx.status(&ds);
    let args = [
        "apply",
        "--package",
        &v1,
        "--dataset",
        &ds,
        "--db",
        &ctx.url,
        "--lock-wait",
        "60s",
    ];
    let children: Vec<_> = (0..3).map(|_| ctx.spawn(&args)).collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    let mut all = Vec::new();
    for o in &outs {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        all.extend(parse_jsonl(&String::from_utf8_lossy(&o.stdout), "stdout"));
    }
    // Deduplicated by eventId: a waiter also publishes what is pending, and may deliver
    // the winner's events a second time (at-least-once; see the outbox-claim bug in
    // concurrent_flushes_publish_each_event_once).
    let mut seen = BTreeSet::new();
    all.retain(|e| seen.insert(e["detail"]["eventId"].as_str().unwrap_or("").to_string()));
    all.sort_by_key(|e| e["detail"]["revision"].as_i64());
    assert_eq!(
        names(&all),
        ["attempted", "deployed"],
        "one run deployed: {all:?}"
    );
    assert_eq!(all[0]["detail"]["runId"], all[1]["detail"]["runId"]);
    check_stable(&ctx.status(&ds), &ctx, &h1, 2);
}

engine_tests!(concurrent_applies_deploy_once_sqlite, concurrent_applies_deploy_once_postgres => concurrent_applies_deploy_once);

// ---------------------------------------------------------------------------------------
// 10. Credentials never show
// ---------------------------------------------------------------------------------------

#[test]
fn password_never_shows_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "password");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let url = with_password(&ctx.url, PASSWORD);
    assert!(url.contains(&format!(":{PASSWORD}@")), "{url}");
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut keep = |what: &str, r: &Run| outputs.push((what.to_string(), r.all_output()));

    let r = ctx.cli(&["apply", "--package", &v1, "--dataset", &ds, "--db", &url]);
    r.ok();
    keep("apply", &r);
    // A failing migration, and a refused one, with the same URL.
    let uq = ctx.write_json("uq.package.json", &unique_name_package());
    ctx.sql("INSERT INTO dogs.dog (id, name) VALUES (1, 'a'), (2, 'a')");
    let r = ctx.cli(&["apply", "--package", &uq, "--dataset", &ds, "--db", &url]);
    r.expect_code(1);
    keep("failed apply", &r);
    let mut holder = ctx.pg();
    holder
        .execute(
            "SELECT pg_advisory_lock($1, $2)",
            &[&LOCK_NAMESPACE, &lock_key(&ctx.dataset_id)],
        )
        .expect("lock");
    let r = ctx.cli(&[
        "apply",
        "--package",
        &v2,
        "--dataset",
        &ds,
        "--db",
        &url,
        "--lock-wait",
        "200ms",
    ]);
    r.expect_code(3);
    keep("refused apply", &r);
    drop(holder);
    let r = ctx.cli(&[
        "apply",
        "--package",
        &v2,
        "--dataset",
        &ds,
        "--db",
        &url,
        "--output",
        "json",
    ]);
    r.ok();
    keep("apply --output json", &r);

    for cmd in ["status", "history", "snapshot"] {
        let r = ctx.cli(&[cmd, "--dataset", &ds, "--db", &url]);
        r.ok();
        keep(cmd, &r);
    }
    let r = ctx.cli(&["plan", "--package", &v2, "--dataset", &ds, "--db", &url]);
    r.ok();
    keep("plan --db", &r);
    let r = ctx.cli(&["events", "flush", "--db", &url, "--events", "stdout"]);
    r.ok();
    keep("events flush", &r);
    let r = ctx.cli_env(
        &["status", "--dataset", &ds],
        &[("DEPOT_DATABASE_URL", &url)],
    );
    r.ok();
    keep("status via DEPOT_DATABASE_URL", &r);

    // Unreachable server, missing database, malformed URL: errors without the password.
    let unreachable = with_host_port(&url, "127.0.0.1:1");
    assert!(unreachable.contains(PASSWORD));
    for (what, bad) in [
        ("unreachable", unreachable.clone()),
        ("no such database", with_database(&url, "no_such_db_here")),
        ("malformed port", with_host_port(&url, "127.0.0.1:notaport")),
    ] {
        let r = ctx.cli(&["apply", "--package", &v1, "--dataset", &ds, "--db", &bad]);
        assert_ne!(r.code, 0, "{what}: {}", r.stderr);
        assert!(!r.stderr.trim().is_empty(), "{what}: an error message");
        assert_eq!(
            r.stderr.trim().lines().count(),
            1,
            "{what}: one line: {}",
            r.stderr
        );
        keep(&format!("apply, {what}"), &r);
        let r = ctx.cli(&["status", "--dataset", &ds, "--db", &bad]);
        assert_ne!(r.code, 0, "{what}: {}", r.stderr);
        keep(&format!("status, {what}"), &r);
        let r = ctx.cli(&["events", "flush", "--db", &bad]);
        assert_ne!(r.code, 0, "{what}: {}", r.stderr);
        keep(&format!("events flush, {what}"), &r);
    }
    // A password from PGPASSWORD does not show either.
    let no_password_unreachable = with_host_port(&ctx.url, "127.0.0.1:1");
    let r = ctx.cli_env(
        &[
            "apply",
            "--package",
            &v1,
            "--dataset",
            &ds,
            "--db",
            &no_password_unreachable,
        ],
        &[("PGPASSWORD", PASSWORD)],
    );
    assert_ne!(r.code, 0);
    keep("apply with PGPASSWORD, unreachable", &r);
    let r = ctx.cli_env(
        &["status", "--dataset", &ds, "--db", &ctx.url],
        &[("PGPASSWORD", PASSWORD)],
    );
    r.ok();
    keep("status with PGPASSWORD", &r);
    let r = ctx.cli(&[
        "apply",
        "--package",
        &v1,
        "--dataset",
        &ds,
        "--db",
        &unreachable,
        "--output",
        "json",
    ]);
    assert_ne!(r.code, 0);
    keep("apply --output json, unreachable", &r);

    outputs.push((
        "stored state, history, outbox, lease".into(),
        ctx.state_dump(),
    ));
    for (what, text) in &outputs {
        assert!(
            !text.contains(PASSWORD),
            "{what} shows the password:\n{text}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// More: who holds the lock, a killed executor, long failures, several datasets, reserved
// names
// ---------------------------------------------------------------------------------------

/// An `apply` running in the background, blocked on a table lock.
struct Blocked {
    child: std::process::Child,
    /// The connection holding ACCESS EXCLUSIVE on dogs.dog in an open transaction.
    blocker: postgres::Client,
    /// The rest of the child's stdout (after the `attempted` line).
    rest: std::thread::JoinHandle<String>,
}

impl Blocked {
    /// Releases the table, waits for the child: (exit code, stdout after attempted, stderr).
    fn finish(mut self) -> (Option<i32>, String, String) {
        let _ = self.blocker.batch_execute("ROLLBACK");
        let out = self.child.wait_with_output().expect("wait");
        let rest = self.rest.join().expect("stdout");
        (
            out.status.code(),
            rest,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Starts `apply` of v2 blocked on a table lock held by the returned transaction's
/// connection, and waits until it has printed `attempted` (it then holds the executor
/// lock and waits for the table).
fn blocked_apply(ctx: &Ctx, v2: &str, ds: &str, lock_timeout: &str) -> Blocked {
    let mut blocker = ctx.pg();
    blocker
        .batch_execute("BEGIN; LOCK TABLE dogs.dog IN ACCESS EXCLUSIVE MODE")
        .expect("lock dog");
    let mut child = ctx.spawn(&[
        "apply",
        "--package",
        v2,
        "--dataset",
        ds,
        "--db",
        &ctx.url,
        "--lock-timeout",
        lock_timeout,
        "--retries",
        "0",
    ]);
    let (line, rest) = first_line(&mut child, Duration::from_secs(15)).expect("attempted line");
    assert!(line.contains("\"attempted\""), "{line}");
    Blocked {
        child,
        blocker,
        rest,
    }
}

/// A second executor is refused while the first migrates, and the refusal says who
/// holds the lock (host and pid of the other executor).
#[test]
fn lock_refusal_names_the_holder_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "lockholder");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let h2 = ctx.hash(&v2, &ds);
    deploy(&ctx, &v1, &ds);
    let blocked = blocked_apply(&ctx, &v2, &ds, "30s");
    let pid = blocked.child.id();

    let r = ctx.apply(&v2, &ds, &["--lock-wait", "500ms"]);
    let (code, rest, stderr) = blocked.finish();

    r.expect_code(3);
    assert_eq!(r.stdout.trim(), "");
    assert!(
        r.stderr.contains(&pid.to_string()),
        "the refusal names the executor holding the lock (pid {pid}): {}",
        r.stderr
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(names(&parse_jsonl(&rest, "stdout")), ["deployed"]);
    check_stable(&ctx.status(&ds), &ctx, &h2, 4);
}

/// An executor killed in the middle of a migration: its transaction rolls back, `status`
/// tells failed from in-progress by the lost lock, and the next apply deploys.
#[test]
fn killed_executor_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "killed");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let (h1, h2) = (ctx.hash(&v1, &ds), ctx.hash(&v2, &ds));
    deploy(&ctx, &v1, &ds);
    let catalog = ctx.catalog();
    let mut blocked = blocked_apply(&ctx, &v2, &ds, "30s");
    assert_eq!(ctx.status(&ds)["phase"], "in-progress");
    blocked.child.kill().expect("kill the executor");
    let _ = blocked.child.wait();

    // Its lock goes with its session: the phase turns failed (no executor alive).
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let s = ctx.status(&ds);
        if s["phase"] != "in-progress" || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status["phase"], "failed", "{status}");
    assert_eq!(status["deployedVersion"], h1.as_str(), "{status}");
    assert_eq!(status["attemptedVersion"], h2.as_str(), "{status}");
    let _ = blocked.finish();

    // Nothing of the killed run committed; the next apply deploys.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ctx.catalog() != catalog && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ctx.catalog(), catalog, "the killed run's DDL rolled back");
    let r = ctx.apply(&v2, &ds, &[]);
    r.ok();
    // The killed run may have printed `attempted` without marking it published: then it
    // is published again first (at-least-once, same eventId). This run's own events are
    // those of its run id.
    let events = r.events();
    let run_id = events.last().expect("events")["detail"]["runId"].clone();
    let own: Vec<Value> = events
        .iter()
        .filter(|e| e["detail"]["runId"] == run_id)
        .cloned()
        .collect();
    assert_eq!(names(&own), ["attempted", "deployed"], "{events:?}");
    // Before running, the apply found the killed run (its lease lost) and recorded it
    // as failed, with its own `failed` event (the next apply detects it).
    let before = status["version"].as_i64().expect("version");
    assert_eq!(own[0]["detail"]["revision"], before + 2);
    let others: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail"]["runId"] != run_id)
        .collect();
    assert_eq!(
        others.last().map(|e| e["detail"]["event"].clone()),
        Some(json!("failed")),
        "the killed run is recorded as failed first: {events:?}"
    );
    assert_eq!(
        others.last().expect("failed")["detail"]["error"]["class"],
        "leaseLost"
    );
    for e in &others[..others.len() - 1] {
        assert_eq!(
            e["detail"]["event"], "attempted",
            "only the killed run's attempted is republished: {e}"
        );
    }
    check_stable(&ctx.status(&ds), &ctx, &h2, before + 3);
}

/// A failing statement longer than an event may carry is truncated in the event (and
/// marked so) and kept whole in history and status.
fn long_failure_is_truncated_in_events_only(engine: Engine) {
    let ctx = Ctx::new(engine, "longfailure");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    deploy(&ctx, &v1, &ds);
    let mut p = example_json(V1);
    let columns: Vec<Value> = (0..120)
        .map(|i| json!({"name": format!("a_rather_long_column_name_for_a_wide_table_{i:03}"), "type": "string"}))
        .collect();
    p["tables"]
        .as_array_mut()
        .expect("tables")
        .push(json!({"name": "wide", "columns": columns}));
    let pkg = ctx.write_json("wide.package.json", &p);
    // The table exists already (made by hand), so creating it fails.
    ctx.sql(&format!("CREATE TABLE {} (x int)", ctx.q("wide")));
    let plan = ctx.plan_db(&pkg, &ds, &[]);
    plan.ok();
    let full: String = plan.json()["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["key"] == "createTable:wide")
        .expect("createTable:wide")["sql"][0]
        .as_str()
        .expect("sql")
        .to_string();
    assert!(full.len() > 5000, "the statement is long: {}", full.len());

    let r = ctx.apply(&pkg, &ds, &[]);
    r.expect_code(1);
    let events = r.events();
    assert_eq!(names(&events), ["attempted", "failed"]);
    let err = &events[1]["detail"]["error"];
    let st = err["statement"].as_str().expect("statement");
    assert!(st.len() < full.len(), "truncated in the event");
    assert!(st.len() <= 8192, "an event stays small: {}", st.len());
    assert_eq!(err["truncated"], true, "marked truncated: {err}");
    assert!(full.starts_with(st.trim_end_matches("…[truncated]")));

    let status = ctx.status(&ds);
    assert_eq!(
        status["lastFailure"]["statement"],
        full.as_str(),
        "status keeps it whole"
    );
    let history = ctx.history(&ds);
    let failed = history
        .iter()
        .find(|h| h["event"] == "failed")
        .expect("failed in history");
    assert!(
        failed.to_string().contains(
            &serde_json::to_string(&full)
                .expect("json")
                .trim_matches('"')
                .to_string()
        ),
        "history keeps the statement whole: {failed}"
    );
}

engine_tests!(long_failure_is_truncated_in_events_only_sqlite, long_failure_is_truncated_in_events_only_postgres => long_failure_is_truncated_in_events_only);

/// Two datasets in one database keep separate state, history and events.
#[test]
fn two_datasets_in_one_database_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "twodatasets");
    let a = ctx.dataset(
        "a.dataset.json",
        json!({"datasetId": format!("{}-a", ctx.dataset_id), "schema": "dogs_a"}),
    );
    let b = ctx.dataset(
        "b.dataset.json",
        json!({"datasetId": format!("{}-b", ctx.dataset_id), "schema": "dogs_b"}),
    );
    let (v1, v2) = (example(V1), example(V2));
    let ra = ctx.apply(&v1, &a, &[]);
    ra.ok();
    let rb = ctx.apply(&v2, &b, &[]);
    rb.ok();
    assert_eq!(ra.event_names(), ["attempted", "deployed"]);
    assert_eq!(rb.event_names(), ["attempted", "deployed"]);
    for e in rb.events() {
        assert_eq!(e["detail"]["datasetId"], format!("{}-b", ctx.dataset_id));
        assert_eq!(
            e["detail"]["revision"].as_i64().map(|r| r <= 2),
            Some(true),
            "revisions are per dataset: {e}"
        );
    }
    let sa = ctx.status(&a);
    let sb = ctx.status(&b);
    assert_eq!(sa["deployedVersion"], ctx.hash(&v1, &a).as_str());
    assert_eq!(sb["deployedVersion"], ctx.hash(&v2, &b).as_str());
    assert_eq!(sa["version"], 2);
    assert_eq!(sb["version"], 2);
    assert_eq!(ctx.history(&a).len(), 2);
    assert_eq!(ctx.history(&b).len(), 2);
    // Re-applying A leaves B alone, and A's own state.
    ctx.apply(&v1, &a, &[]).ok();
    assert_eq!(ctx.status(&b), sb);
}

// Regression test (an executor bug this suite found, now fixed): nothing stops a package or dataset from naming depot-migrate's own state
// tables (SQLite: `depot_migrate_*` in the same file; Postgres: schema `depot_migrate`).
// The collision is found only when the DDL runs, after `attempted` was published and the
// dataset marked failed, instead of being rejected as bad input (exit 2) before anything
// runs (docs/design.md, "Inputs": invalid input is rejected before anything runs).
fn reserved_state_names_are_rejected(engine: Engine) {
    let ctx = Ctx::new(engine, "reserved");
    let (ds, pkg) = match engine {
        Engine::Sqlite => (
            ctx.dataset("d.dataset.json", json!({})),
            ctx.write_json(
                "p.package.json",
                &json!({"namespace": "x", "tables": [{"name": "depot_migrate_outbox", "columns": [{"name": "id", "type": "int"}]}]}),
            ),
        ),
        Engine::Postgres => (
            ctx.dataset("d.dataset.json", json!({"schema": "depot_migrate"})),
            ctx.write_json(
                "p.package.json",
                &json!({"namespace": "x", "tables": [{"name": "lease", "columns": [{"name": "id", "type": "int"}]}]}),
            ),
        ),
    };
    let r = ctx.apply(&pkg, &ds, &[]);
    assert!(
        r.stdout.trim().is_empty(),
        "a name reserved for the state tables reaches the database: exit {}, events {:?}, stderr {}",
        r.code,
        names(&parse_jsonl(&r.stdout, "stdout")),
        r.stderr.trim()
    );
    r.expect_code(2);
}

engine_tests!(reserved_state_names_are_rejected_sqlite, reserved_state_names_are_rejected_postgres => reserved_state_names_are_rejected);

/// The backend of depot-migrate's migration transaction, waiting for a lock.
fn waiting_backend(ctx: &Ctx) -> i32 {
    let mut c = ctx.pg();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let row = c
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'depot-migrate' AND wait_event_type = 'Lock' LIMIT 1",
                &[],
            )
            .expect("pg_stat_activity");
        if let Some(r) = row {
            return r.get(0);
        }
        assert!(
            Instant::now() < deadline,
            "no depot-migrate backend waits for the table lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// Regression test (an executor bug this suite found, now fixed): when the connection of the migration transaction is lost (failover,
// network, pg_terminate_backend), apply exits 1 with "failed: connection closed" but
// records nothing: no `failed` event, no lastFailure, no history row. The failure was
// detected (by the executor itself), so docs/design.md requires `failed` with its `error`
// ("any failure detected emits failed"); it can be recorded on a new connection (the
// transaction rolled back, so the database is exactly at "before").
#[test]
fn connection_lost_mid_migration_is_recorded_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "connlost");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let (h1, h2) = (ctx.hash(&v1, &ds), ctx.hash(&v2, &ds));
    deploy(&ctx, &v1, &ds);
    let catalog = ctx.catalog();
    let blocked = blocked_apply(&ctx, &v2, &ds, "30s");
    let pid = waiting_backend(&ctx);
    let killed: bool = ctx
        .pg()
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .expect("terminate")
        .get(0);
    assert!(killed);
    let (code, stdout, stderr) = blocked.finish();

    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(ctx.catalog(), catalog, "rolled back");
    let status = ctx.status(&ds);
    assert_eq!(status["deployedVersion"], h1.as_str(), "{status}");
    assert_eq!(status["phase"], "failed", "{status}");
    // The events of this run: the first line (attempted) was read by blocked_apply.
    let mut events = vec!["attempted".to_string()];
    events.extend(names(&parse_jsonl(&stdout, "stdout")));
    let pending = names(&ctx.flush().events());
    assert!(
        events.contains(&"failed".to_string()) || pending.contains(&"failed".to_string()),
        "a lost connection emits no failed event (events {events:?}, pending {pending:?}, stderr {stderr:?})"
    );
    assert!(
        status["lastFailure"].is_object(),
        "a lost connection records no lastFailure: {status}"
    );
    assert_eq!(status["attemptedVersion"], h2.as_str(), "{status}");
}

/// Fencing: if the lease is taken over while the migration runs, the migration
/// transaction does not commit; the failure is recorded.
#[test]
fn lease_taken_over_mid_migration_does_not_commit_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "fencing");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let (h1, h2) = (ctx.hash(&v1, &ds), ctx.hash(&v2, &ds));
    deploy(&ctx, &v1, &ds);
    let catalog = ctx.catalog();
    let blocked = blocked_apply(&ctx, &v2, &ds, "30s");
    let n = ctx
        .pg()
        .execute(
            "UPDATE depot_migrate.lease SET token = 'another-executor' WHERE dataset_id = $1",
            &[&ctx.dataset_id],
        )
        .expect("take the lease over");
    assert_eq!(n, 1, "the running executor has a lease row");
    let (code, stdout, stderr) = blocked.finish();

    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        ctx.catalog(),
        catalog,
        "the fenced transaction did not commit"
    );
    let status = ctx.status(&ds);
    assert_eq!(status["deployedVersion"], h1.as_str(), "{status}");
    assert_eq!(status["attemptedVersion"], h2.as_str(), "{status}");
    assert_eq!(status["phase"], "failed", "{status}");
    assert_eq!(status["lastFailure"]["rolledBack"], true, "{status}");
    let events = parse_jsonl(&stdout, "stdout");
    assert_eq!(
        names(&events),
        ["failed"],
        "after the attempted line: {stdout}"
    );
    let err = &events[0]["detail"]["error"];
    // Regression test: a lease lost mid-run is reported with class leaseLost (it was
    // "store"), so a consumer routing on error.class can tell it from other errors.
    assert_eq!(
        err["class"], "leaseLost",
        "a lease lost mid-run is reported with class {}: {err}",
        err["class"]
    );
}

/// Packages whose plans each add one table: p_k has tables t_0..t_k.
fn growing_packages(ctx: &Ctx, n: usize) -> Vec<String> {
    (0..n)
        .map(|k| {
            let tables: Vec<Value> = (0..=k)
                .map(|i| json!({"name": format!("t_{i}"), "columns": [{"name": "id", "type": "int"}]}))
                .collect();
            ctx.write_json(
                &format!("p{k}.package.json"),
                &json!({"namespace": "grow", "tables": tables}),
            )
        })
        .collect()
}

// Regression test (an executor bug this suite found, now fixed): concurrent publishers must claim outbox rows (docs/design.md: "concurrent
// publishers claim rows, e.g. FOR UPDATE SKIP LOCKED"). Both stores read pending rows
// with a plain SELECT (`pending_events`) and mark them afterwards (`mark_published`), so
// two `events flush` (or a flush and an apply's own publishing) at once publish the same
// events twice; across publishers the order per dataset is lost too. A race, but with 8
// publishers over 50 events it has failed on every run on both engines.
fn concurrent_flushes_publish_each_event_once(engine: Engine) {
    let ctx = Ctx::new(engine, "flushrace");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let broken = format!("jsonl:{}", ctx.path("no-such-dir/e.jsonl"));
    let packages = growing_packages(&ctx, 25);
    for p in &packages {
        ctx.apply(p, &ds, &["--events", &broken]).ok();
    }
    let expected = packages.len() * 2;
    let flushers: Vec<_> = (0..8)
        .map(|_| ctx.spawn(&["events", "flush", "--db", &ctx.url, "--events", "stdout"]))
        .collect();
    let mut all = Vec::new();
    for f in flushers {
        let out = f.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0));
        let events = parse_jsonl(&String::from_utf8_lossy(&out.stdout), "flush");
        let revisions: Vec<i64> = events
            .iter()
            .filter_map(|e| e["detail"]["revision"].as_i64())
            .collect();
        let mut sorted = revisions.clone();
        sorted.sort_unstable();
        assert_eq!(revisions, sorted, "each publisher publishes in order");
        all.extend(events);
    }
    let ids: BTreeSet<String> = all
        .iter()
        .filter_map(|e| e["detail"]["eventId"].as_str().map(String::from))
        .collect();
    assert_eq!(ids.len(), expected, "every pending event was published");
    assert_eq!(
        all.len(),
        expected,
        "concurrent flushes published {} events for {expected} pending (duplicates)",
        all.len()
    );
}

engine_tests!(concurrent_flushes_publish_each_event_once_sqlite, concurrent_flushes_publish_each_event_once_postgres => concurrent_flushes_publish_each_event_once);

/// Bad arguments and bad input are refused before anything touches the database.
#[test]
fn bad_arguments_change_nothing() {
    let ctx = Ctx::new(Engine::Sqlite, "badargs");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let bad_pkg = ctx.write_json(
        "bad.package.json",
        &json!({"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "id", "type": "nonsense"}]}]}),
    );
    let db = ctx.path("fresh.sqlite");
    let url = format!("sqlite:{db}");
    for (what, args) in [
        (
            "unknown sink",
            vec![
                "apply",
                "--package",
                &v1,
                "--dataset",
                &ds,
                "--db",
                &url,
                "--events",
                "bogus",
            ],
        ),
        (
            "jsonl without a path",
            vec![
                "apply",
                "--package",
                &v1,
                "--dataset",
                &ds,
                "--db",
                &url,
                "--events",
                "jsonl:",
            ],
        ),
        (
            "bad duration",
            vec![
                "apply",
                "--package",
                &v1,
                "--dataset",
                &ds,
                "--db",
                &url,
                "--lock-wait",
                "soon",
            ],
        ),
        (
            "invalid package",
            vec![
                "apply",
                "--package",
                &bad_pkg,
                "--dataset",
                &ds,
                "--db",
                &url,
            ],
        ),
        (
            "missing package",
            vec![
                "apply",
                "--package",
                "no-such.package.json",
                "--dataset",
                &ds,
                "--db",
                &url,
            ],
        ),
        (
            "plan file that is not a plan",
            vec![
                "apply",
                "--package",
                &v1,
                "--dataset",
                &ds,
                "--db",
                &url,
                "--plan",
                &ds,
            ],
        ),
    ] {
        let r = ctx.cli(&args);
        assert_eq!(r.code, 2, "{what}: exit 2\n{}", r.stderr);
        assert_eq!(r.stdout.trim(), "", "{what}: no events");
        assert!(
            !std::path::Path::new(&db).exists(),
            "{what}: the database was not even opened"
        );
    }
}

/// The stdout sink warns when the dataset names an event bus (the events are not going
/// there); other sinks do not.
#[test]
fn stdout_sink_warns_about_an_event_bus() {
    let ctx = Ctx::new(Engine::Sqlite, "buswarning");
    let ds = ctx.dataset("d.dataset.json", json!({"eventBusName": "default"}));
    let (v1, v2) = (example(V1), example(V2));
    let r = ctx.apply(&v1, &ds, &[]);
    r.ok();
    assert!(
        r.stderr.contains("warning") && r.stderr.contains("default"),
        "{}",
        r.stderr
    );
    assert_eq!(r.event_names(), ["attempted", "deployed"]);
    let r = ctx.apply(&v2, &ds, &["--events", "none"]);
    r.ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

/// `apply --output json`: stdout is one JSON document, the result; the events of the
/// default stdout sink go to stderr, one a line.
#[test]
fn apply_output_json_is_machine_readable() {
    let ctx = Ctx::new(Engine::Sqlite, "outputjson");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let r = ctx.apply(&v1, &ds, &["--output", "json"]);
    r.ok();
    let result = r.json();
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["result"], "deployed", "{result}");
    let events: String = r
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        names(&parse_jsonl(&events, "stderr events")),
        ["attempted", "deployed"]
    );
    let again = ctx.apply(&v1, &ds, &["--output", "json"]);
    again.ok();
    assert_eq!(again.json()["result"], "unchanged");
}

/// `--plan -` reads the plan from standard input.
#[test]
fn plan_from_stdin_sqlite() {
    let ctx = Ctx::new(Engine::Sqlite, "planstdin");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    deploy(&ctx, &v1, &ds);
    let plan = ctx.plan_db(&v2, &ds, &[]);
    plan.ok();
    let mut child = std::process::Command::new(BIN)
        .args([
            "apply",
            "--package",
            &v2,
            "--dataset",
            &ds,
            "--db",
            &ctx.url,
            "--plan",
            "-",
        ])
        .current_dir(&ctx.dir)
        .env_remove("DEPOT_DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(plan.stdout.as_bytes()).expect("write plan");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = parse_jsonl(&String::from_utf8_lossy(&out.stdout), "stdout");
    assert_eq!(names(&events), ["attempted", "deployed"]);
    assert_eq!(events[1]["detail"]["planHash"], plan.json()["planHash"]);
}

/// Holds ACCESS EXCLUSIVE on dogs.dog from another connection for `hold`, then releases
/// it; returns once the lock is taken.
fn lock_table_for(ctx: &Ctx, hold: Duration) -> std::thread::JoinHandle<()> {
    let mut c = ctx.pg();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let mut t = c.transaction().expect("begin");
        t.batch_execute("LOCK TABLE dogs.dog IN ACCESS EXCLUSIVE MODE")
            .expect("lock dog");
        tx.send(()).expect("signal");
        std::thread::sleep(hold);
        t.rollback().expect("release");
    });
    rx.recv().expect("the table is locked");
    h
}

/// A lock timeout is retried: once the table is free, the retry deploys, with no
/// `failed` event in between.
#[test]
fn lock_timeout_retry_succeeds_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "retryok");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let (h1, h2) = (ctx.hash(&v1, &ds), ctx.hash(&v2, &ds));
    deploy(&ctx, &v1, &ds);
    let holder = lock_table_for(&ctx, Duration::from_secs(2));
    let r = ctx.apply(&v2, &ds, &["--lock-timeout", "200ms", "--retries", "5"]);
    holder.join().expect("holder");
    r.ok();
    assert!(r.stderr.contains("retry"), "it had to retry: {}", r.stderr);
    check_run_events(&r, &ctx, &["attempted", "deployed"], &h2, Some(&h1), 3);
    check_stable(&ctx.status(&ds), &ctx, &h2, 4);
}

/// `--lock-wait` waits for another executor's lock and goes on once it is released.
#[test]
fn lock_wait_waits_for_the_lock_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "lockwait");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    let h1 = ctx.hash(&v1, &ds);
    ctx.status(&ds); // state tables exist
    let mut holder = ctx.pg();
    holder
        .execute(
            "SELECT pg_advisory_lock($1, $2)",
            &[&LOCK_NAMESPACE, &lock_key(&ctx.dataset_id)],
        )
        .expect("lock");
    let child = ctx.spawn(&[
        "apply",
        "--package",
        &v1,
        "--dataset",
        &ds,
        "--db",
        &ctx.url,
        "--lock-wait",
        "20s",
    ]);
    std::thread::sleep(Duration::from_millis(800));
    holder
        .execute(
            "SELECT pg_advisory_unlock($1, $2)",
            &[&LOCK_NAMESPACE, &lock_key(&ctx.dataset_id)],
        )
        .expect("unlock");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = parse_jsonl(&String::from_utf8_lossy(&out.stdout), "stdout");
    assert_eq!(names(&events), ["attempted", "deployed"]);
    check_stable(&ctx.status(&ds), &ctx, &h1, 2);
}

// Regression test (an executor bug this suite found, now fixed): `status` probes the executor lock (to tell in-progress from failed) in
// pg_locks without filtering on the database (engine/src/store/postgres.rs `lock_held_elsewhere`),
// while advisory locks are per database. An executor of the same dataset id in another
// database of the same server (dev/staging databases on one cluster) makes a dead run
// look alive: status says in-progress instead of failed.
#[test]
fn lock_probe_is_per_database_postgres() {
    let a = Ctx::new(Engine::Postgres, "probe-a");
    let mut b = Ctx::new(Engine::Postgres, "probe-b");
    b.dataset_id = a.dataset_id.clone();
    let ds = a.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    deploy(&a, &v1, &ds);
    // A run in database A dies mid-migration: phase failed.
    let mut blocked = blocked_apply(&a, &v2, &ds, "30s");
    blocked.child.kill().expect("kill");
    let _ = blocked.child.wait();
    let _ = blocked.finish();
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.status(&ds)["phase"] == "in-progress" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(a.status(&ds)["phase"], "failed");
    // The same dataset id's lock, held in database B.
    let mut other = b.pg();
    other
        .execute(
            "SELECT pg_advisory_lock($1, $2)",
            &[&LOCK_NAMESPACE, &lock_key(&b.dataset_id)],
        )
        .expect("lock in B");
    let status = a.status(&ds);
    assert_eq!(
        status["phase"], "failed",
        "a lock held in another database makes the dead run in this one look in-progress: {status}"
    );
}

// Regression test (SQLite liveness): the SQLite lease is a row valid for 300 s. When the
// executor dies mid-migration (kill -9, OOM, CI job cancelled), a holder on this host
// whose pid is gone is dead: `status` says failed (not in-progress) and the next apply
// takes the lease over instead of being refused for five minutes.
#[test]
fn killed_executor_sqlite() {
    let (v1, v2) = (example(V1), example(V2));
    // Kill right after `attempted`; retry with a fresh database if the run had already
    // finished by then.
    for attempt in 0..20 {
        let ctx = Ctx::new(Engine::Sqlite, &format!("killed{attempt}"));
        let ds = ctx.dataset("d.dataset.json", json!({}));
        deploy(&ctx, &v1, &ds);
        let mut child = ctx.spawn(&[
            "apply",
            "--package",
            &v2,
            "--dataset",
            &ds,
            "--db",
            &ctx.url,
        ]);
        let (line, rest) = first_line(&mut child, Duration::from_secs(15)).expect("attempted");
        child.kill().expect("kill");
        let _ = child.wait();
        let _ = rest.join();
        assert!(line.contains("\"attempted\""), "{line}");
        let status = ctx.status(&ds);
        if status["phase"] == "stable" {
            continue; // the migration committed before the kill
        }
        assert_eq!(
            status["phase"], "failed",
            "a killed SQLite executor still counts as in-progress: {status}"
        );
        let r = ctx.apply(&v2, &ds, &["--lock-wait", "2s"]);
        assert_eq!(
            r.code, 0,
            "the lease of a killed SQLite executor blocks the next apply: {}",
            r.stderr
        );
        // The apply first records the killed run as failed (its lease is lost), then
        // attempted and deployed.
        check_stable(
            &ctx.status(&ds),
            &ctx,
            &ctx.hash(&v2, &ds),
            status["version"].as_i64().expect("version") + 3,
        );
        return;
    }
    eprintln!("every run finished before it could be killed; nothing to check");
}
