//! Black-box tests of the watchdog on submissions nobody starts (`scheduled` past the
//! dataset's `scheduledLimitMinutes`): it publishes `desired` again once, then records
//! `failed` with class `notStarted`. The worker is stopped (not run) and then started.
//! Time is driven by `DEPOT_TEST_NOW` (the clock of runs and of the watchdog), so no test
//! sleeps or looks at the wall clock. SQLite and the real PostgreSQL.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, SystemTime};
use support::*;

const V1: &str = "dogs.v1.package.json";

fn at(minutes: u64) -> String {
    // Submissions are stamped with the real clock: look ahead of it.
    let t = SystemTime::now() + Duration::from_secs(minutes * 60);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `watchdog --output json` at `minutes` from now: (findings, events it emitted).
fn watchdog_at(ctx: &Ctx, minutes: u64) -> (Vec<Value>, Vec<Value>) {
    let r = ctx.cli_env(
        &["watchdog", "--db", &ctx.url, "--output", "json"],
        &[("DEPOT_TEST_NOW", &at(minutes))],
    );
    r.ok();
    let start = r.stdout.find("{\n").unwrap_or(0);
    let doc: Value = serde_json::from_str(&r.stdout[start..])
        .unwrap_or_else(|e| panic!("watchdog report: {e}: {}", r.stdout));
    // With --output json the stdout sink's events go to stderr, one a line.
    let lines: String = r
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| format!("{l}\n"))
        .collect();
    (
        doc["findings"].as_array().cloned().unwrap_or_default(),
        parse_jsonl(&lines, "events"),
    )
}

fn submit(ctx: &Ctx, extra: Value) -> (String, String) {
    let mut e = json!({"migrationMode": "asynchronous"});
    if let (Some(o), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        o.extend(x.clone());
    }
    let ds = ctx.dataset("d.dataset.json", e);
    let v1 = example(V1);
    let r = ctx.cli(&[
        "submit",
        "--package",
        &v1,
        "--dataset",
        &ds,
        "--db",
        &ctx.url,
    ]);
    r.ok();
    assert_eq!(r.event_names(), ["desired"], "{}", r.stderr);
    let h = ctx.hash(&v1, &ds);
    (ds, h)
}

fn worker_once(ctx: &Ctx) -> Run {
    ctx.cli(&[
        "worker", "--poll", "--once", "--db", &ctx.url, "--events", "stdout",
    ])
}

/// Worker stopped past the limit: the watchdog publishes `desired` again (once); then the
/// worker starts and runs it.
fn republished_then_run(engine: Engine) {
    let ctx = Ctx::new(engine, "stuckrun");
    let (ds, h1) = submit(&ctx, json!({}));
    // Within the limit (default 15 minutes): nothing happens.
    let (f, ev) = watchdog_at(&ctx, 5);
    assert_eq!(f[0]["finding"], "scheduled", "{f:?}");
    assert!(ev.is_empty(), "{ev:?}");
    let before = ctx.status(&ds);
    // Past it: `desired` again, same version and run, the next revision.
    let (f, ev) = watchdog_at(&ctx, 16);
    assert_eq!(
        f[0]["finding"], "notStarted: desired published again",
        "{f:?}"
    );
    assert_eq!(names(&ev), ["desired"], "{ev:?}");
    assert_eq!(ev[0]["detail"]["datasetVersionHash"], h1.as_str());
    assert_eq!(
        ev[0]["detail"]["revision"],
        before["version"].as_i64().expect("revision") + 1
    );
    let s = ctx.status(&ds);
    assert_eq!(s["phase"], "scheduled", "{s}");
    // Once only: shortly after, nothing more.
    let (f, ev) = watchdog_at(&ctx, 20);
    assert_eq!(f[0]["finding"], "scheduled", "{f:?}");
    assert!(ev.is_empty(), "{ev:?}");
    // The worker starts: it runs the re-published submission.
    let w = worker_once(&ctx);
    w.ok();
    assert_eq!(w.event_names(), ["attempted", "deployed"], "{}", w.stderr);
    let s = ctx.status(&ds);
    assert_eq!(s["phase"], "stable", "{s}");
    assert_eq!(s["deployedVersion"], h1.as_str());
    // A stable dataset is no business of the watchdog's.
    let (f, ev) = watchdog_at(&ctx, 60);
    assert!(f.is_empty() && ev.is_empty(), "{f:?} {ev:?}");
}

engine_tests!(republished_then_run_sqlite, republished_then_run_postgres => republished_then_run);

/// Still not started a second period later: `failed`, class `notStarted`; a late worker
/// skips it; `recover --resolve retry` runs it.
fn not_started_fails(engine: Engine) {
    let ctx = Ctx::new(engine, "notstarted");
    let (ds, h1) = submit(&ctx, json!({"scheduledLimitMinutes": 10}));
    let (f, _) = watchdog_at(&ctx, 9);
    assert_eq!(f[0]["finding"], "scheduled", "the dataset's limit: {f:?}");
    let (_, ev) = watchdog_at(&ctx, 11);
    assert_eq!(names(&ev), ["desired"]);
    let (f, ev) = watchdog_at(&ctx, 20);
    assert_eq!(
        f[0]["finding"], "scheduled",
        "a second period from the re-publication: {f:?}"
    );
    assert!(ev.is_empty());
    let (f, ev) = watchdog_at(&ctx, 22);
    assert_eq!(f[0]["finding"], "notStarted", "{f:?}");
    assert_eq!(f[0]["failure"]["class"], "notStarted", "{f:?}");
    assert_eq!(names(&ev), ["failed"], "{ev:?}");
    let d = &ev[0]["detail"];
    assert_eq!(d["datasetVersionHash"], h1.as_str());
    assert_eq!(d["error"]["class"], "notStarted", "{d}");
    assert!(
        d["error"]["message"].as_str().is_some_and(
            |m| m.contains("no worker started it") && m.contains("recover --dataset-id")
        ),
        "{d}"
    );
    // From the submission, about 22 minutes (the test clock), as a number.
    let ms = d["durationMs"].as_u64().expect("durationMs");
    assert!((21 * 60_000..=23 * 60_000).contains(&ms), "{ms}");
    let s = ctx.status(&ds);
    assert_eq!(s["phase"], "failed", "{s}");
    assert_eq!(s["lastFailure"]["class"], "notStarted", "{s}");
    // Recorded once: the watchdog leaves a failed dataset alone.
    let (f, ev) = watchdog_at(&ctx, 60);
    assert!(f.is_empty() && ev.is_empty(), "{f:?} {ev:?}");
    // The worker starts late: the revision moved on, it runs nothing.
    let w = worker_once(&ctx);
    w.ok();
    assert!(w.event_names().is_empty(), "{}", w.stdout);
    assert_eq!(ctx.status(&ds)["phase"], "failed");
    // The fix: retry.
    let r = ctx.cli(&[
        "recover",
        "--dataset-id",
        &ctx.dataset_id,
        "--db",
        &ctx.url,
        "--resolve",
        "retry",
        "--reason",
        "worker was down",
        "--events",
        "stdout",
    ]);
    r.ok();
    assert_eq!(r.event_names(), ["attempted", "deployed"], "{}", r.stderr);
    let s = ctx.status(&ds);
    assert_eq!(s["phase"], "stable", "{s}");
    assert_eq!(s["deployedVersion"], h1.as_str());
}

engine_tests!(not_started_fails_sqlite, not_started_fails_postgres => not_started_fails);

#[test]
fn scheduled_limit_is_validated() {
    let ctx = Ctx::new(Engine::Sqlite, "limitbad");
    for bad in [json!(0), json!(1441), json!(-1), json!("15m")] {
        let ds = ctx.dataset(
            "bad.dataset.json",
            json!({"migrationMode": "asynchronous", "scheduledLimitMinutes": bad}),
        );
        let r = ctx.cli(&["validate", "--dataset", &ds]);
        r.expect_code(2);
        assert!(
            r.stderr.contains("$.scheduledLimitMinutes"),
            "{bad}: {}",
            r.stderr
        );
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
}
