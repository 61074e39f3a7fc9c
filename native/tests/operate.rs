//! Black-box tests of what an operator runs without the dataset file: `--dataset-id` on
//! `status`, `history`, `snapshot`, `wait` and `recover`, `list`, the readable text output
//! of `status`, `history` and `list`, and the embedded `sqlite:depot.sqlite` default of
//! the commands that take no dataset file. SQLite in the scratch directory and the real
//! PostgreSQL of scripts/with-services.sh.

mod support;

use serde_json::{json, Value};
use support::*;

const V1: &str = "dogs.v1.package.json";
const V2: &str = "dogs.v2.package.json";

/// v1 plus a unique index on dog.name: fails on duplicate names.
fn unique_name_package() -> Value {
    let mut p = example_json(V1);
    p["tables"][0]["indexes"] =
        json!([{"name": "dog_name_uq", "columns": ["name"], "unique": true}]);
    p
}

/// Applies v1 then a version that fails (duplicate names): the dataset is `failed`.
fn failed_dataset(ctx: &Ctx) -> (String, String, String) {
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    ctx.apply(&v1, &ds, &["--events", "none"]).ok();
    ctx.sql(&format!(
        "INSERT INTO {} (id, name) VALUES (1, 'Rex'), (2, 'Rex')",
        ctx.q("dog")
    ));
    let uq = ctx.write_json("uq.package.json", &unique_name_package());
    ctx.apply(&uq, &ds, &["--events", "none"]).expect_code(1);
    (ds, v1, uq)
}

fn by_id(ctx: &Ctx, cmd: &str, extra: &[&str]) -> Run {
    let mut args = vec![cmd, "--dataset-id", &ctx.dataset_id, "--db", &ctx.url];
    args.extend_from_slice(extra);
    ctx.cli(&args)
}

fn id_and_file_agree(engine: Engine) {
    let ctx = Ctx::new(engine, "byid");
    let (ds, _, _) = failed_dataset(&ctx);
    let j = ["--output", "json"];
    for cmd in ["status", "history", "snapshot"] {
        let file = ctx.cli(&[cmd, "--dataset", &ds, "--db", &ctx.url, j[0], j[1]]);
        file.ok();
        let id = by_id(&ctx, cmd, &j);
        id.ok();
        assert_eq!(id.json(), file.json(), "{cmd} by id and by file");
        // With the right environment too.
        let env = by_id(
            &ctx,
            cmd,
            &["--environment-id", "e2e404529091ed2", j[0], j[1]],
        );
        env.ok();
        assert_eq!(env.json(), file.json(), "{cmd} --environment-id");
    }
    let status = by_id(&ctx, "status", &j).json();
    assert_eq!(status["phase"], "failed", "{status}");
    assert_eq!(status["lastFailure"]["class"], "step", "{status}");
}

engine_tests!(id_and_file_agree_sqlite, id_and_file_agree_postgres => id_and_file_agree);

#[test]
fn bad_ids_are_refused_clearly() {
    let ctx = Ctx::new(Engine::Sqlite, "badid");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    ctx.apply(&example(V1), &ds, &["--events", "none"]).ok();
    // Another environment: refused, naming both.
    let r = by_id(&ctx, "status", &["--environment-id", "prod"]);
    r.expect_code(3);
    assert!(
        r.stderr.contains("\"e2e404529091ed2\"") && r.stderr.contains("\"prod\""),
        "{}",
        r.stderr
    );
    // An id that is not recorded: refused, naming the recorded ones.
    for cmd in ["status", "history", "snapshot"] {
        let r = ctx.cli(&[cmd, "--dataset-id", "nosuch", "--db", &ctx.url]);
        r.expect_code(3);
        assert!(
            r.stderr.contains("no dataset \"nosuch\"") && r.stderr.contains(&ctx.dataset_id),
            "{cmd}: {}",
            r.stderr
        );
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
    // Not an id at all, both forms at once, neither, --environment-id alone: usage (2).
    for args in [
        vec!["status", "--dataset-id", "a'b", "--db", &ctx.url],
        vec![
            "status",
            "--dataset-id",
            "x",
            "--environment-id",
            "a b",
            "--db",
            &ctx.url,
        ],
        vec![
            "status",
            "--dataset",
            &ds,
            "--dataset-id",
            "x",
            "--db",
            &ctx.url,
        ],
        vec!["status", "--db", &ctx.url],
        vec!["history", "--environment-id", "e", "--dataset", &ds],
    ] {
        let r = ctx.cli(&args);
        r.expect_code(2);
        assert_eq!(r.stdout.trim(), "", "{args:?}");
    }
    // A database without state: refused for an id (there is nothing to name), and no
    // file is created.
    let empty = ctx.path("empty.sqlite");
    let r = ctx.cli(&[
        "status",
        "--dataset-id",
        &ctx.dataset_id,
        "--db",
        &format!("sqlite:{empty}"),
    ]);
    r.expect_code(3);
    assert!(!std::path::Path::new(&empty).exists());
}

/// `recover` and `wait` by id: the config comes from the stored submission.
#[test]
fn recover_and_wait_by_id_sqlite() {
    let ctx = Ctx::new(Engine::Sqlite, "recoverid");
    let (ds, _, uq) = failed_dataset(&ctx);
    let huq = ctx.hash(&uq, &ds);
    ctx.sql(&format!("DELETE FROM {} WHERE id = 2", ctx.q("dog")));
    let r = by_id(
        &ctx,
        "recover",
        &[
            "--resolve",
            "retry",
            "--reason",
            "removed the duplicate",
            "--events",
            "none",
            "--output",
            "json",
        ],
    );
    r.ok();
    assert_eq!(r.json()["deployedVersion"], huq.as_str(), "{}", r.stdout);
    by_id(&ctx, "wait", &["--version", &huq, "--timeout", "5s"]).ok();
    let history = ctx.history(&ds);
    let last = history.last().expect("history");
    assert_eq!(last["event"], "deployed", "{history:?}");
    assert!(
        history
            .iter()
            .any(|h| h["reason"] == "removed the duplicate"),
        "{history:?}"
    );
}

#[test]
fn list_shows_every_dataset_sqlite() {
    let ctx = Ctx::new(Engine::Sqlite, "list");
    let (ds, _, _) = failed_dataset(&ctx);
    let r = ctx.cli(&["list", "--db", &ctx.url, "--output", "json"]);
    r.ok();
    let rows = r.json();
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["id"], ctx.dataset_id.as_str());
    assert_eq!(row["alias"], "WsDevDogSrc");
    assert_eq!(row["engine"], "sqlite");
    assert_eq!(row["phase"], "failed");
    assert_eq!(row["lastFailureClass"], "step");
    assert_eq!(row["pendingEvents"], 0);
    assert_eq!(row["deployedVersion"], ctx.hash(&example(V1), &ds).as_str());
    // Text: a table with the short version.
    let t = ctx.cli_env(&["list", "--db", &ctx.url], &[("COLUMNS", "120")]);
    t.ok();
    let short = &row["deployedVersion"].as_str().expect("version")[..12];
    let line = t
        .stdout
        .lines()
        .find(|l| l.contains(&ctx.dataset_id))
        .unwrap_or_else(|| panic!("a row for the dataset:\n{}", t.stdout));
    for cell in ["WsDevDogSrc", "sqlite", "failed", short, "step"] {
        assert!(line.contains(cell), "{cell} in {line:?}");
    }
    for l in t.stdout.lines() {
        assert!(l.chars().count() <= 120, "fits 120 columns: {l:?}");
    }
    // A narrow terminal: the table wraps the alias and still fits.
    let t = ctx.cli_env(&["list", "--db", &ctx.url], &[("COLUMNS", "100")]);
    for l in t.stdout.lines() {
        assert!(l.chars().count() <= 100, "fits 100 columns: {l:?}");
    }
    assert!(t.stdout.contains(&ctx.dataset_id), "{}", t.stdout);
}

/// Two datasets in one Postgres database (each in its own schema): `list` shows both.
#[test]
fn list_shows_every_dataset_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "listpg");
    let (ds, _, _) = failed_dataset(&ctx);
    let mut other = ctx.dataset_json(json!({}));
    other["datasetId"] = json!("zz-other");
    other["datasetAlias"] = json!("Other");
    other["schema"] = json!("other");
    let other = ctx.write_json("other.dataset.json", &other);
    ctx.apply(&example(V2), &other, &["--events", "stdout"])
        .ok();
    let rows = ctx
        .cli(&["list", "--db", &ctx.url, "--output", "json"])
        .json();
    let rows = rows.as_array().expect("array").clone();
    let ids: Vec<&str> = rows.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, [ctx.dataset_id.as_str(), "zz-other"], "{rows:?}");
    assert_eq!(rows[0]["phase"], "failed");
    assert_eq!(rows[1]["phase"], "stable");
    assert_eq!(
        rows[1]["deployedVersion"],
        ctx.hash(&example(V2), &other).as_str()
    );
    assert!(rows[1]["lastFailureClass"].is_null());
    let _ = ds;
}

/// What a person reads: `status` a block, `history` a table.
#[test]
fn text_output_is_for_people() {
    let ctx = Ctx::new(Engine::Sqlite, "text");
    let (ds, v1, uq) = failed_dataset(&ctx);
    let h1 = ctx.hash(&v1, &ds);
    let huq = ctx.hash(&uq, &ds);
    let s = by_id(&ctx, "status", &[]);
    s.ok();
    assert!(
        serde_json::from_str::<Value>(&s.stdout).is_err(),
        "not JSON: {}",
        s.stdout
    );
    for want in [
        format!(
            "{} (WsDevDogSrc), environment e2e404529091ed2",
            ctx.dataset_id
        ),
        "failed: the last run did not deploy".into(),
        format!("desired        {huq}"),
        format!("deployed       {h1}"),
        "step createIndex:dog.dog_name_uq".into(),
        "class step".into(),
        "UNIQUE".into(),
        "pending events 0".into(),
    ] {
        assert!(s.stdout.contains(&want), "{want:?} in:\n{}", s.stdout);
    }
    let h = ctx.cli_env(
        &["history", "--dataset", &ds, "--db", &ctx.url],
        &[("COLUMNS", "120")],
    );
    h.ok();
    let rows: Vec<&str> = h
        .stdout
        .lines()
        .filter(|l| l.contains(&huq[..12]))
        .collect();
    assert!(rows.iter().any(|l| l.contains("attempted")), "{}", h.stdout);
    let failed = rows
        .iter()
        .find(|l| l.contains("failed"))
        .unwrap_or_else(|| panic!("a failed row:\n{}", h.stdout));
    assert!(failed.contains("step at createIndex"), "{failed}");
    assert!(
        !h.stdout.contains(&huq),
        "versions are shortened:\n{}",
        h.stdout
    );
    for l in h.stdout.lines() {
        assert!(l.chars().count() <= 120, "fits 120 columns: {l:?}");
    }
}

/// Commands without a dataset file use `sqlite:depot.sqlite` in the working directory
/// when it exists and neither --db nor DEPOT_DATABASE_URL is given.
#[test]
fn embedded_default_for_commands_without_a_dataset_file() {
    let ctx = Ctx::new(Engine::Sqlite, "embedded");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    // Before the file exists: a usage error naming the ways to give a database.
    for args in [
        vec!["list"],
        vec!["watchdog", "--events", "none"],
        vec!["events", "flush"],
        vec!["worker", "--poll", "--once", "--events", "none"],
        vec!["status", "--dataset-id", "x"],
    ] {
        let r = ctx.cli(&args);
        r.expect_code(2);
        assert!(
            r.stderr.contains("--db") && r.stderr.contains("depot.sqlite"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert!(!ctx.dir.join("depot.sqlite").exists(), "nothing created");
    // `apply` of a SQLite dataset creates it (its own default).
    ctx.cli(&["apply", "--package", &example(V1), "--dataset", &ds])
        .ok();
    assert!(ctx.dir.join("depot.sqlite").exists());
    let rows = ctx.cli(&["list", "--output", "json"]).json();
    assert_eq!(rows[0]["id"], ctx.dataset_id.as_str(), "{rows}");
    for args in [
        vec!["watchdog", "--events", "none"],
        vec!["events", "flush"],
        vec!["worker", "--poll", "--once", "--events", "none"],
    ] {
        ctx.cli(&args).ok();
    }
    let s = ctx.cli(&[
        "status",
        "--dataset-id",
        &ctx.dataset_id,
        "--output",
        "json",
    ]);
    s.ok();
    assert_eq!(s.json()["phase"], "stable");
    // DEPOT_DATABASE_URL still wins over the file.
    let other = ctx.path("other.sqlite");
    let r = ctx.cli_env(
        &["list", "--output", "json"],
        &[("DEPOT_DATABASE_URL", &format!("sqlite:{other}"))],
    );
    r.ok();
    assert_eq!(r.json(), json!([]));
}

/// `deployed` and `failed` events carry `durationMs` (a number, from the run's start);
/// `attempted` does not.
#[test]
fn deployed_and_failed_events_carry_duration_ms_sqlite() {
    let ctx = Ctx::new(Engine::Sqlite, "duration");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let r = ctx.apply(&example(V1), &ds, &["--events", "stdout"]);
    r.ok();
    let ev = r.events();
    assert_eq!(names(&ev), ["attempted", "deployed"]);
    assert!(ev[0]["detail"].get("durationMs").is_none(), "{}", ev[0]);
    assert!(ev[1]["detail"]["durationMs"].is_u64(), "{}", ev[1]);
    ctx.sql(&format!(
        "INSERT INTO {} (id, name) VALUES (1, 'Rex'), (2, 'Rex')",
        ctx.q("dog")
    ));
    let uq = ctx.write_json("uq.package.json", &unique_name_package());
    let r = ctx.apply(&uq, &ds, &["--events", "stdout"]);
    r.expect_code(1);
    let ev = r.events();
    assert_eq!(names(&ev), ["attempted", "failed"]);
    assert!(ev[0]["detail"].get("durationMs").is_none(), "{}", ev[0]);
    assert!(ev[1]["detail"]["durationMs"].is_u64(), "{}", ev[1]);
    // The core's pattern (exact-value lists only) still matches both events with the
    // extra field.
    let pattern = ctx.cli(&["alert-rule", "--dataset", &ds, "--format", "json"]);
    pattern.ok();
    let pattern = pattern.json();
    for e in &ev {
        let matches = |want: &Value, got: &Value| {
            want.as_array()
                .is_some_and(|vals| vals.iter().any(|v| v == got))
        };
        assert!(matches(&pattern["source"], &e["source"]), "{e}");
        assert!(matches(&pattern["detail-type"], &e["detail-type"]), "{e}");
        let fields = pattern["detail"].as_object().expect("detail pattern");
        for (k, want) in fields {
            assert!(matches(want, &e["detail"][k]), "{k}: {e}");
        }
    }
}

/// `--runner` arguments that cannot work are refused before any AWS call (exit 2):
/// not a function name or ARN, and options that only mean something here.
#[test]
fn runner_arguments_are_checked_before_anything_is_sent() {
    let ctx = Ctx::new(Engine::Sqlite, "runnerargs");
    let id = ctx.dataset_id.clone();
    let r = ctx.cli(&["status", "--dataset-id", &id, "--runner", "no such/fn"]);
    r.expect_code(2);
    assert!(
        r.stderr.contains(
            "--runner \"no such/fn\" is neither a Lambda function name nor a function ARN"
        ),
        "{}",
        r.stderr
    );
    let r = ctx.cli(&["list", "--runner", "depot-runner", "--db", &ctx.url]);
    r.expect_code(2);
    assert!(r.stderr.contains("drop --db"), "{}", r.stderr);
    let r = ctx.cli(&[
        "recover",
        "--dataset-id",
        &id,
        "--resolve",
        "retry",
        "--reason",
        "x",
        "--events",
        "none",
        "--runner",
        "depot-runner",
    ]);
    r.expect_code(2);
    assert!(r.stderr.contains("drop --events"), "{}", r.stderr);
    let r = ctx.cli(&[
        "events",
        "flush",
        "--event-bus",
        "b",
        "--runner",
        "depot-runner",
    ]);
    r.expect_code(2);
    assert!(r.stderr.contains("drop --event-bus"), "{}", r.stderr);
    let r = ctx.cli(&["status", "--dataset-id", &id, "--profile", "p"]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("--runner"),
        "--profile goes with --runner: {}",
        r.stderr
    );
}
