//! Regression tests for defects a new user ran into: a dataset's identity checked against
//! its recorded state, reads that create nothing (a read-only role can run them), every
//! event delivered to the destination recorded for it (and to its dataset's bus), one
//! JSON document on stdout with `--output json`, schemas that already hold objects, the
//! alert template and the smaller messages. Black-box: the binary against a SQLite file,
//! the real PostgreSQL and moto of `scripts/with-services.sh`.

#[path = "support/aws.rs"]
#[allow(dead_code)]
mod aws;
mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::*;

const V1: &str = "dogs.v1.package.json";
const V2: &str = "dogs.v2.package.json";

fn both() -> [Engine; 2] {
    [Engine::Sqlite, Engine::Postgres]
}

// ---------------------------------------------------------------------------------------
// A dataset's identity is checked against what is recorded.
// ---------------------------------------------------------------------------------------

#[test]
fn another_schema_environment_or_engine_for_a_recorded_dataset_is_refused() {
    for engine in both() {
        let ctx = Ctx::new(engine, "identity");
        let ds = ctx.dataset("d.dataset.json", json!({}));
        let v1 = example(V1);
        ctx.apply(&v1, &ds, &["--events", "none"]).ok();
        let before = ctx.state_dump();
        for (name, extra, given, recorded) in [
            (
                "schema",
                json!({"schema": "other"}),
                "\"other\"",
                "\"dogs\"",
            ),
            (
                "environmentId",
                json!({"environmentId": "someotherenv"}),
                "\"someotherenv\"",
                "\"e2e404529091ed2\"",
            ),
        ] {
            let other = ctx.dataset(&format!("{name}.dataset.json"), extra);
            let mut runs = vec![
                ctx.apply(&v1, &other, &["--events", "none"]),
                ctx.plan_db(&v1, &other, &[]),
                ctx.cli(&["status", "--dataset", &other, "--db", &ctx.url]),
                ctx.cli(&["history", "--dataset", &other, "--db", &ctx.url]),
                ctx.cli(&["snapshot", "--dataset", &other, "--db", &ctx.url]),
            ];
            let h = ctx.hash(&v1, &other);
            runs.push(ctx.cli(&[
                "wait",
                "--dataset",
                &other,
                "--db",
                &ctx.url,
                "--version",
                &h,
                "--timeout",
                "1s",
            ]));
            for r in &runs {
                r.expect_code(3);
                assert!(
                    r.stderr.contains(name)
                        && r.stderr.contains(given)
                        && r.stderr.contains(recorded),
                    "{engine:?} {:?} names both {name} values: {}",
                    r.args,
                    r.stderr
                );
            }
        }
        assert_eq!(ctx.state_dump(), before, "{engine:?}: nothing changed");
        if engine == Engine::Postgres {
            let mut c = ctx.pg();
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM pg_namespace WHERE nspname = 'other'",
                    &[],
                )
                .expect("query")
                .get(0);
            assert_eq!(n, 0, "no schema other was created");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading needs no write privilege and creates nothing.
// ---------------------------------------------------------------------------------------

#[test]
fn reads_on_a_database_without_state_create_nothing_sqlite() {
    let ctx = Ctx::new(Engine::Sqlite, "readsnone");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    for (args, code) in [
        (vec!["status", "--dataset", &ds, "--db", &ctx.url], 0),
        (vec!["history", "--dataset", &ds, "--db", &ctx.url], 0),
        (vec!["snapshot", "--dataset", &ds, "--db", &ctx.url], 3),
    ] {
        let r = ctx.cli(&args);
        r.expect_code(code);
        assert!(r.stderr.contains("no depot-migrate state"), "{}", r.stderr);
    }
    let r = ctx.cli(&[
        "status",
        "--dataset",
        &ds,
        "--db",
        &ctx.url,
        "--output",
        "json",
    ]);
    assert_eq!(r.json()["phase"], "new");
    assert_eq!(r.json()["recorded"], false);
    ctx.plan_db(&v1, &ds, &[]).ok();
    let path = ctx.url.strip_prefix("sqlite:").expect("sqlite url");
    assert!(
        !std::path::Path::new(path).exists(),
        "no database file was created by reading"
    );
}

#[test]
fn reads_work_for_a_read_only_role_and_create_nothing_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "readonly");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    // Nothing recorded yet: said clearly, and no schema appears.
    let r = ctx.cli(&[
        "status",
        "--dataset",
        &ds,
        "--db",
        &ctx.url,
        "--output",
        "json",
    ]);
    r.ok();
    assert!(r.stderr.contains("no depot-migrate state"), "{}", r.stderr);
    assert_eq!(r.json()["phase"], "new");
    ctx.cli(&["history", "--dataset", &ds, "--db", &ctx.url])
        .ok();
    ctx.cli(&["snapshot", "--dataset", &ds, "--db", &ctx.url])
        .expect_code(3);
    ctx.plan_db(&v1, &ds, &[]).ok();
    let schemas = |ctx: &Ctx| -> i64 {
        ctx.pg()
            .query_one(
                "SELECT count(*) FROM pg_namespace WHERE nspname = 'depot_migrate'",
                &[],
            )
            .expect("query")
            .get(0)
    };
    assert_eq!(schemas(&ctx), 0, "reads created the state schema");

    ctx.apply(&v1, &ds, &["--events", "none"]).ok();
    let role = format!("ro_{}", ctx.dataset_id.replace('-', "_"));
    ctx.sql(&format!(
        "CREATE ROLE \"{role}\" LOGIN; GRANT USAGE ON SCHEMA depot_migrate TO \"{role}\"; GRANT SELECT ON ALL TABLES IN SCHEMA depot_migrate TO \"{role}\";"
    ));
    let ro_url = ctx.url.replacen("postgres@", &format!("{role}@"), 1);
    assert_ne!(ro_url, ctx.url, "the test URL names user postgres");
    let h1 = ctx.hash(&v1, &ds);
    let runs = [
        ctx.cli(&[
            "status",
            "--dataset",
            &ds,
            "--db",
            &ro_url,
            "--output",
            "json",
        ]),
        ctx.cli(&["history", "--dataset", &ds, "--db", &ro_url]),
        ctx.cli(&["snapshot", "--dataset", &ds, "--db", &ro_url]),
        ctx.cli(&["plan", "--package", &v1, "--dataset", &ds, "--db", &ro_url]),
        ctx.cli(&["wait", "--dataset", &ds, "--db", &ro_url, "--version", &h1]),
        ctx.cli(&["watchdog", "--db", &ro_url, "--events", "none"]),
    ];
    for r in &runs {
        r.ok();
    }
    assert_eq!(runs[0].json()["phase"], "stable");

    // An id that is not recorded: phase new, and it says no such dataset is recorded.
    let typo = ctx.dataset("typo.dataset.json", json!({"datasetId": "ds-typo"}));
    let r = ctx.cli(&[
        "status",
        "--dataset",
        &typo,
        "--db",
        &ro_url,
        "--output",
        "json",
    ]);
    r.ok();
    assert_eq!(r.json()["phase"], "new", "{}", r.stdout);
    assert!(
        r.stderr.contains("no dataset \"ds-typo\" is recorded")
            && r.stderr.contains(&ctx.dataset_id),
        "{}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------------------
// A pending event goes to the destination recorded for it, never to another.
// ---------------------------------------------------------------------------------------

#[test]
fn pending_events_keep_their_destination() {
    for engine in both() {
        let ctx = Ctx::new(engine, "destination");
        let ds = ctx.dataset("d.dataset.json", json!({}));
        let (v1, v2) = (example(V1), example(V2));
        let dir = ctx.path("later");
        let jsonl = format!("{dir}/events.jsonl");
        // The jsonl sink is unreachable (no directory): v1's events stay pending.
        ctx.apply(&v1, &ds, &["--events", &format!("jsonl:{jsonl}")])
            .ok();
        let status = ctx.status(&ds);
        assert_eq!(status["pendingEvents"]["count"], 2, "{status}");
        assert_eq!(
            status["pendingEvents"]["destinations"][format!("jsonl:{jsonl}")],
            2,
            "{status}"
        );
        // A run with another sink publishes only its own events.
        let r = ctx.apply(&v2, &ds, &[]);
        r.ok();
        let h2 = ctx.hash(&v2, &ds);
        let events = r.events();
        assert_eq!(names(&events), ["attempted", "deployed"], "{}", r.stdout);
        assert!(
            events
                .iter()
                .all(|e| e["detail"]["datasetVersionHash"] == h2.as_str()),
            "stdout carries only v2's events: {}",
            r.stdout
        );
        assert_eq!(ctx.status(&ds)["pendingEvents"]["count"], 2);
        // `events flush` (no --events) delivers them where they were meant to go.
        std::fs::create_dir_all(&dir).expect("mkdir");
        let f = ctx.cli(&["events", "flush", "--db", &ctx.url]);
        f.ok();
        assert_eq!(f.stdout.trim(), "", "nothing to stdout: {}", f.stdout);
        let written = parse_jsonl(&std::fs::read_to_string(&jsonl).expect("jsonl"), "jsonl");
        let h1 = ctx.hash(&v1, &ds);
        assert_eq!(names(&written), ["attempted", "deployed"]);
        assert!(written
            .iter()
            .all(|e| e["detail"]["datasetVersionHash"] == h1.as_str()));
        assert_eq!(ctx.status(&ds)["pendingEvents"]["count"], 0);
    }
}

#[test]
fn state_layout_2_is_upgraded_and_its_events_flushed_on_request() {
    for engine in both() {
        let ctx = Ctx::new(engine, "layout2");
        let ds = ctx.dataset("d.dataset.json", json!({}));
        let v1 = example(V1);
        let broken = ctx.path("nodir/e.jsonl");
        ctx.apply(&v1, &ds, &["--events", &format!("jsonl:{broken}")])
            .ok();
        // Make it look like a store written by the previous layout: no destination column.
        let (outbox, meta) = match engine {
            Engine::Sqlite => ("depot_migrate_outbox", "depot_migrate_meta"),
            Engine::Postgres => ("depot_migrate.outbox", "depot_migrate.meta"),
        };
        ctx.sql(&format!(
            "ALTER TABLE {outbox} DROP COLUMN destination; UPDATE {meta} SET value = '2' WHERE key = 'schema_version';"
        ));
        let has_column = |ctx: &Ctx| -> bool {
            match engine {
                Engine::Sqlite => ctx
                    .sqlite()
                    .query_row(
                        "SELECT count(*) FROM pragma_table_info('depot_migrate_outbox') WHERE name = 'destination'",
                        [],
                        |r| r.get::<_, i64>(0),
                    )
                    .expect("query")
                    > 0,
                Engine::Postgres => ctx
                    .pg()
                    .query_one(
                        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'depot_migrate' AND table_name = 'outbox' AND column_name = 'destination'",
                        &[],
                    )
                    .expect("query")
                    .get::<_, i64>(0)
                    > 0,
            }
        };
        // Reads work on it without upgrading it.
        let s = ctx.status(&ds);
        assert_eq!(s["pendingEvents"]["destinations"]["unrecorded"], 2, "{s}");
        assert!(
            !has_column(&ctx),
            "{engine:?}: status did not alter the store"
        );
        // A flush without --events cannot know where they go: says so, leaves them.
        let f = ctx.cli(&["events", "flush", "--db", &ctx.url]);
        f.expect_code(1);
        assert!(f.stderr.contains("--events"), "{}", f.stderr);
        // With --events they go there, and the store is at the new layout.
        let f = ctx.flush();
        assert_eq!(names(&f.events()), ["attempted", "deployed"]);
        assert!(has_column(&ctx), "{engine:?}: upgraded");
        assert_eq!(ctx.status(&ds)["pendingEvents"]["count"], 0);
    }
}

// ---------------------------------------------------------------------------------------
// Every event goes to its dataset's bus.
// ---------------------------------------------------------------------------------------

#[test]
fn worker_and_flush_publish_to_the_datasets_bus_postgres() {
    let ctx = Ctx::new(Engine::Postgres, "datasetbus");
    let bus = format!("orders-{}", ctx.dataset_id);
    aws::aws("events", "CreateEventBus", json!({"Name": bus}));
    let (url, arn) = aws::queue(&format!("q-{}", ctx.dataset_id));
    let pattern =
        json!({"source": ["tech.stage.depot"], "detail": {"datasetId": [ctx.dataset_id]}});
    aws::rule_to_queue(&bus, "all", &pattern, &arn);
    let (default_url, default_arn) = aws::queue(&format!("d-{}", ctx.dataset_id));
    aws::rule_to_queue(
        "default",
        &format!("d-{}", ctx.dataset_id),
        &pattern,
        &default_arn,
    );
    let ds = ctx.dataset(
        "d.dataset.json",
        json!({"eventBusName": bus, "migrationMode": "asynchronous"}),
    );
    let v1 = example(V1);
    let env = aws::env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ctx.cli_env(
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
        ],
        &env,
    )
    .ok();
    ctx.cli_env(
        &[
            "worker",
            "--poll",
            "--once",
            "--db",
            &ctx.url,
            "--events",
            "eventbridge",
        ],
        &env,
    )
    .ok();
    let got = aws::receive(&url, 3, Duration::from_secs(10));
    assert_eq!(
        names(&got),
        ["desired", "attempted", "deployed"],
        "{got:#?}"
    );
    assert!(
        aws::receive(&default_url, 1, Duration::from_secs(2)).is_empty(),
        "nothing on the default bus"
    );
    // events flush without --event-bus: the recorded bus. Make an event pending by hand
    // (as an outage would leave it).
    ctx.sql("UPDATE depot_migrate.outbox SET published_at = NULL WHERE envelope->'detail'->>'event' = 'deployed'");
    ctx.cli_env(&["events", "flush", "--db", &ctx.url], &env)
        .ok();
    let got = aws::receive(&url, 1, Duration::from_secs(10));
    assert_eq!(names(&got), ["deployed"], "{got:#?}");
    assert!(aws::receive(&default_url, 1, Duration::from_secs(2)).is_empty());
    // --event-bus overrides, with a warning.
    ctx.sql("UPDATE depot_migrate.outbox SET published_at = NULL WHERE envelope->'detail'->>'event' = 'deployed'");
    let f = ctx.cli_env(
        &[
            "events",
            "flush",
            "--db",
            &ctx.url,
            "--event-bus",
            "default",
        ],
        &env,
    );
    f.ok();
    assert!(f.stderr.contains("overrides"), "{}", f.stderr);
    assert_eq!(
        names(&aws::receive(&default_url, 1, Duration::from_secs(10))),
        ["deployed"]
    );
}

// ---------------------------------------------------------------------------------------
// `--output json` is one parseable document on stdout.
// ---------------------------------------------------------------------------------------

#[test]
fn output_json_is_one_document_for_every_command() {
    let ctx = Ctx::new(Engine::Sqlite, "jsonout");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let ads = ctx.dataset(
        "a.dataset.json",
        json!({"datasetId": format!("{}-a", ctx.dataset_id), "migrationMode": "asynchronous"}),
    );
    let (v1, v2) = (example(V1), example(V2));
    let h1 = ctx.hash(&v1, &ds);
    // The asynchronous dataset lives in a database of its own (one SQLite file is one
    // namespace).
    let adb = format!("sqlite:{}", ctx.path("async.sqlite"));
    let j = "--output";
    let runs: Vec<Vec<&str>> = vec![
        vec!["hash", "--package", &v1, "--dataset", &ds, j, "json"],
        vec!["validate", "--package", &v1, "--dataset", &ds, j, "json"],
        vec!["plan", "--package", &v1, "--dataset", &ds, j, "json"],
        vec![
            "apply",
            "--package",
            &v1,
            "--dataset",
            &ds,
            "--db",
            &ctx.url,
            j,
            "json",
        ],
        vec!["status", "--dataset", &ds, "--db", &ctx.url, j, "json"],
        vec!["history", "--dataset", &ds, "--db", &ctx.url, j, "json"],
        vec!["snapshot", "--dataset", &ds, "--db", &ctx.url, j, "json"],
        vec![
            "wait",
            "--dataset",
            &ds,
            "--db",
            &ctx.url,
            "--version",
            &h1,
            j,
            "json",
        ],
        vec![
            "submit",
            "--package",
            &v2,
            "--dataset",
            &ads,
            "--db",
            &adb,
            j,
            "json",
        ],
        vec!["worker", "--poll", "--once", "--db", &adb, j, "json"],
        vec!["watchdog", "--db", &ctx.url, j, "json"],
        vec![
            "events", "flush", "--db", &ctx.url, "--events", "stdout", j, "json",
        ],
        vec!["alert-rule", "--dataset", &ds, j, "json"],
        vec!["schema", "dataset", j, "json"],
        // A refusal is one document too.
        vec![
            "apply",
            "--package",
            &v1,
            "--dataset",
            &ads,
            "--db",
            &ctx.url,
            j,
            "json",
        ],
    ];
    for args in &runs {
        let r = ctx.cli(args);
        assert!(r.code == 0 || r.code == 3, "{args:?}: {}", r.all_output());
        let doc: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: stdout is not one JSON document ({e}):\n{}",
                r.stdout
            )
        });
        assert!(doc.is_object() || doc.is_array(), "{args:?}: {doc}");
    }
    // The events of `apply --output json` went to stderr, whole.
    let r = ctx.cli(&[
        "apply",
        "--package",
        &v2,
        "--dataset",
        &ds,
        "--db",
        &ctx.url,
        j,
        "json",
    ]);
    r.ok();
    assert_eq!(r.json()["result"], "deployed");
    let events: Vec<Value> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("event line"))
        .collect();
    assert_eq!(names(&events), ["attempted", "deployed"], "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// A schema that already holds objects and has no state: refused before anything runs.
// ---------------------------------------------------------------------------------------

#[test]
fn untracked_objects_in_the_schema_are_refused() {
    for engine in both() {
        let ctx = Ctx::new(engine, "untracked");
        let ds = ctx.dataset("d.dataset.json", json!({}));
        let v1 = example(V1);
        match engine {
            Engine::Sqlite => ctx.sql("CREATE TABLE legacy_orders (id integer)"),
            Engine::Postgres => {
                ctx.sql("CREATE SCHEMA dogs; CREATE TABLE dogs.legacy_orders (id int)")
            }
        }
        for r in [
            ctx.plan_db(&v1, &ds, &[]),
            ctx.apply(&v1, &ds, &["--events", "none"]),
        ] {
            r.expect_code(3);
            assert!(
                r.stderr.contains("legacy_orders") && r.stderr.contains("no state"),
                "{engine:?} {:?}: {}",
                r.args,
                r.stderr
            );
        }
        assert!(!ctx.tables().contains("dog"), "{engine:?}: nothing ran");
    }
}

// ---------------------------------------------------------------------------------------
// `alert-rule` leaves a shared topic's policy alone.
// ---------------------------------------------------------------------------------------

#[test]
fn alert_rule_does_not_replace_the_topic_policy() {
    let ctx = Ctx::new(Engine::Sqlite, "alertpolicy");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let r = ctx.cli(&[
        "alert-rule",
        "--dataset",
        &ds,
        "--topic-arn",
        "arn:aws:sns:eu-west-1:123456789012:alerts",
    ]);
    r.ok();
    let t = r.json();
    let kinds: Vec<&str> = t["Resources"]
        .as_object()
        .expect("resources")
        .values()
        .filter_map(|v| v["Type"].as_str())
        .collect();
    assert_eq!(kinds, ["AWS::Events::Rule"], "{t:#}");
    assert!(
        r.stderr.contains("sns:Publish") && r.stderr.contains("events.amazonaws.com"),
        "says what to add to the topic policy: {}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------------------
// The smaller ones.
// ---------------------------------------------------------------------------------------

#[test]
fn apply_on_an_asynchronous_dataset_needs_sync() {
    let ctx = Ctx::new(Engine::Sqlite, "needsync");
    let ds = ctx.dataset("d.dataset.json", json!({"migrationMode": "asynchronous"}));
    let v1 = example(V1);
    let r = ctx.apply(&v1, &ds, &["--events", "none"]);
    r.expect_code(3);
    assert!(
        r.stderr.contains("--sync") && r.stderr.contains("submit"),
        "{}",
        r.stderr
    );
    ctx.apply(&v1, &ds, &["--events", "none", "--sync"]).ok();
    assert_eq!(ctx.status(&ds)["phase"], "stable");
}

#[test]
fn snapshot_with_nothing_deployed_is_refused_not_failed() {
    let ctx = Ctx::new(Engine::Sqlite, "nosnap");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let other = ctx.dataset("o.dataset.json", json!({"datasetId": "ds-other"}));
    ctx.apply(&example(V1), &other, &["--events", "none"]).ok();
    let r = ctx.cli(&["snapshot", "--dataset", &ds, "--db", &ctx.url]);
    r.expect_code(3);
    assert!(r.stderr.contains("nothing deployed"), "{}", r.stderr);
}

#[test]
fn wait_on_a_superseded_version_says_superseded() {
    let ctx = Ctx::new(Engine::Sqlite, "superseded");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let h1 = ctx.hash(&v1, &ds);
    ctx.apply(&v1, &ds, &["--events", "none"]).ok();
    ctx.apply(&v2, &ds, &["--events", "none"]).ok();
    let r = ctx.cli(&["wait", "--dataset", &ds, "--db", &ctx.url, "--version", &h1]);
    r.expect_code(1);
    assert!(r.stderr.starts_with("superseded:"), "{}", r.stderr);
    assert!(!r.stderr.contains("failed"), "{}", r.stderr);
}

#[test]
fn one_step_is_one_step() {
    let ctx = Ctx::new(Engine::Sqlite, "onestep");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let pkg = ctx.write_json(
        "one.package.json",
        &json!({"namespace": "dogs", "tables": [{"name": "t", "columns": [{"name": "id", "type": "bigint", "nullable": false}], "primaryKey": ["id"]}]}),
    );
    let r = ctx.apply(&pkg, &ds, &["--events", "none"]);
    r.ok();
    assert!(r.stderr.contains("(1 step,"), "{}", r.stderr);
    assert!(!r.stderr.contains("1 steps"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// Postgres lock and rewrite labels tell the truth: each label against the relfilenode.
// ---------------------------------------------------------------------------------------

fn dog_package(columns: Value, indexes: Value) -> Value {
    json!({"namespace": "dogs", "tables": [{
        "name": "dog",
        "columns": columns,
        "primaryKey": ["id"],
        "indexes": indexes,
    }]})
}

#[test]
fn postgres_rewrite_labels_match_the_relfilenode() {
    let id = json!({"name": "id", "type": "bigint", "nullable": false});
    let col = |name: &str, extra: Value| {
        let mut c = json!({"name": name});
        for (k, v) in extra.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    // (what, from columns, to columns, to indexes)
    let cases = vec![
        (
            "numeric scale up",
            vec![col(
                "w",
                json!({"type": "decimal", "precision": 12, "scale": 2}),
            )],
            vec![col(
                "w",
                json!({"type": "decimal", "precision": 16, "scale": 4}),
            )],
            json!([]),
        ),
        (
            "numeric precision up, same scale",
            vec![col(
                "w",
                json!({"type": "decimal", "precision": 12, "scale": 2}),
            )],
            vec![col(
                "w",
                json!({"type": "decimal", "precision": 16, "scale": 2}),
            )],
            json!([]),
        ),
        (
            "varchar longer",
            vec![col("s", json!({"type": "string", "maxLength": 20}))],
            vec![col("s", json!({"type": "string", "maxLength": 40}))],
            json!([]),
        ),
        (
            "varchar to text",
            vec![col("s", json!({"type": "string", "maxLength": 20}))],
            vec![col("s", json!({"type": "string"}))],
            json!([]),
        ),
        (
            "int to bigint",
            vec![col("n", json!({"type": "int"}))],
            vec![col("n", json!({"type": "bigint"}))],
            json!([]),
        ),
        (
            "date to timestamp",
            vec![col("d", json!({"type": "date"}))],
            vec![col("d", json!({"type": "timestamp"}))],
            json!([]),
        ),
        (
            "add nullable column",
            vec![col("n", json!({"type": "int"}))],
            vec![
                col("n", json!({"type": "int"})),
                col("m", json!({"type": "int"})),
            ],
            json!([]),
        ),
        (
            "set not null",
            vec![col("n", json!({"type": "int"}))],
            vec![col("n", json!({"type": "int", "nullable": false}))],
            json!([]),
        ),
        (
            "create index",
            vec![col("n", json!({"type": "int"}))],
            vec![col("n", json!({"type": "int"}))],
            json!([{"name": "dog_n_idx", "columns": ["n"]}]),
        ),
    ];
    let ctx = Ctx::new(Engine::Postgres, "relfilenode");
    for (i, (what, from, to, indexes)) in cases.into_iter().enumerate() {
        let schema = format!("s{i}");
        let ds = ctx.dataset(
            &format!("{i}.dataset.json"),
            json!({"schema": schema, "datasetId": format!("{}-{i}", ctx.dataset_id)}),
        );
        let mut from_cols = vec![id.clone()];
        from_cols.extend(from);
        let mut to_cols = vec![id.clone()];
        to_cols.extend(to);
        let p0 = ctx.write_json(
            &format!("{i}.from.package.json"),
            &dog_package(json!(from_cols), json!([])),
        );
        let p1 = ctx.write_json(
            &format!("{i}.to.package.json"),
            &dog_package(json!(to_cols), indexes),
        );
        ctx.apply(&p0, &ds, &["--events", "none"]).ok();
        ctx.sql(&format!(
            "INSERT INTO \"{schema}\".\"dog\" (id) SELECT g FROM generate_series(1, 100) g"
        ));
        if what == "set not null" {
            ctx.sql(&format!("UPDATE \"{schema}\".\"dog\" SET n = 1"));
        }
        let node = |ctx: &Ctx| -> u32 {
            ctx.pg()
                .query_one(
                    "SELECT c.relfilenode FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'dog'",
                    &[&schema],
                )
                .expect("relfilenode")
                .get::<_, postgres::types::Oid>(0)
        };
        let before = node(&ctx);
        let plan = ctx.plan_db(&p1, &ds, &[]);
        plan.ok();
        let plan = plan.json();
        let steps = plan["steps"].as_array().cloned().expect("steps");
        assert!(!steps.is_empty(), "{what}: {plan:#}");
        let labels: Vec<String> = steps
            .iter()
            .map(|s| s["locks"].as_str().unwrap_or("").to_string())
            .collect();
        ctx.apply(&p1, &ds, &["--events", "none"]).ok();
        let rewrote = node(&ctx) != before;
        let says_rewrite = labels.iter().any(|l| l.contains("rewrites"));
        assert_eq!(
            says_rewrite,
            rewrote,
            "{what}: labels {labels:?}, but the table was {}rewritten",
            if rewrote { "" } else { "not " }
        );
        assert!(
            labels.iter().all(|l| !l.is_empty()),
            "{what}: every step has a label: {labels:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Who acted, and who holds the lock, in words.
// ---------------------------------------------------------------------------------------

#[test]
fn actor_comes_from_depot_migrate_actor_then_ci_then_the_os_user() {
    let ctx = Ctx::new(Engine::Sqlite, "actor");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    let args = |p: &str| -> Vec<String> {
        [
            "apply",
            "--package",
            p,
            "--dataset",
            &ds,
            "--db",
            &ctx.url,
            "--events",
            "none",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let a1 = args(&v1);
    let a1: Vec<&str> = a1.iter().map(String::as_str).collect();
    ctx.cli_env(
        &a1,
        &[("DEPOT_MIGRATE_ACTOR", "alice (release 42)"), ("USER", "")],
    )
    .ok();
    let a2 = args(&v2);
    let a2: Vec<&str> = a2.iter().map(String::as_str).collect();
    ctx.cli_env(&a2, &[("USER", ""), ("GITHUB_ACTOR", "")]).ok();
    let h = ctx.history(&ds);
    assert_eq!(h[0]["actor"], "alice (release 42)", "{h:#?}");
    let last = h.last().expect("rows")["actor"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        !last.starts_with("unknown@"),
        "the OS user, not unknown: {last}"
    );
    assert!(last.contains('@'), "{last}");
}

#[test]
fn lock_held_message_says_who_since_and_until_when_in_words() {
    let ctx = Ctx::new(Engine::Sqlite, "lockwords");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    ctx.apply(&v1, &ds, &["--events", "none"]).ok();
    // A live holder on this host (this test process), whose run may last an hour.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let holder = json!({"host": host.trim(), "pid": std::process::id(), "ciJob": null, "maxDurationSeconds": 3600, "deadline": now + 3600});
    ctx.sqlite()
        .execute(
            "INSERT INTO depot_migrate_lease (dataset_id, holder, token, started, heartbeat, expires) VALUES (?1, ?2, 't', '2026-01-02T03:04:05Z', ?3, ?4)",
            rusqlite::params![ctx.dataset_id, holder.to_string(), now, now + 3600],
        )
        .expect("lease");
    let r = ctx.apply(
        &example(V2),
        &ds,
        &["--events", "none", "--lock-wait", "200ms"],
    );
    r.expect_code(3);
    assert!(
        r.stderr
            .contains(&format!("held by pid {}", std::process::id()))
            && r.stderr.contains("since 2026-01-02T03:04:05Z")
            && r.stderr.contains("may last until 20"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("{\""), "no raw JSON: {}", r.stderr);
}

#[test]
fn validate_refuses_allow_destructive_keys_that_name_no_step() {
    let ctx = Ctx::new(Engine::Sqlite, "allowkeys");
    for (key, hint) in [
        (
            "dropcolumn:dog.weight",
            "did you mean \"dropColumn:dog.weight\"",
        ),
        ("dropColumn:dog", "names no column"),
    ] {
        let ds = ctx.dataset("d.dataset.json", json!({"allowDestructive": [key]}));
        let r = ctx.cli(&["validate", "--dataset", &ds]);
        r.expect_code(2);
        assert!(
            r.stderr.contains("$.allowDestructive[0]") && r.stderr.contains(hint),
            "{key}: {}",
            r.stderr
        );
    }
}

#[test]
fn unknown_key_columns_are_listed_and_datetime_suggests_timestamp() {
    let ctx = Ctx::new(Engine::Sqlite, "hints");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let pk = ctx.write_json(
        "pk.package.json",
        &json!({"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "id", "type": "bigint"}, {"name": "name", "type": "string"}], "primaryKey": ["dog_id"], "indexes": [{"name": "i", "columns": ["nam"]}]}]}),
    );
    let r = ctx.cli(&["validate", "--package", &pk, "--dataset", &ds]);
    r.expect_code(2);
    for code in ["DM2005", "DM2006"] {
        let line = r
            .stderr
            .lines()
            .find(|l| l.contains(code))
            .unwrap_or_else(|| panic!("{code}: {}", r.stderr));
        assert!(line.contains("id, name"), "{line}");
    }
    assert!(r.stderr.contains("did you mean \"name\""), "{}", r.stderr);
    let dt = ctx.write_json(
        "dt.package.json",
        &json!({"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "at", "type": "datetime"}]}]}),
    );
    let r = ctx.cli(&["validate", "--package", &dt, "--dataset", &ds]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("did you mean \"timestamp\""),
        "{}",
        r.stderr
    );
}

#[test]
fn stale_plan_message_suggests_refreshing_the_baseline() {
    let ctx = Ctx::new(Engine::Sqlite, "staleplan");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2) = (example(V1), example(V2));
    // A plan from nothing to v2, used after v1 is deployed: stale.
    let plan = ctx.cli(&["plan", "--package", &v2, "--dataset", &ds]);
    plan.ok();
    let plan_file = ctx.path("plan.json");
    std::fs::write(&plan_file, &plan.stdout).expect("write");
    ctx.apply(&v1, &ds, &["--events", "none"]).ok();
    let r = ctx.apply(&v2, &ds, &["--events", "none", "--plan", &plan_file]);
    r.expect_code(3);
    assert!(
        r.stderr.contains("stale plan") && r.stderr.contains("depot-migrate snapshot"),
        "{}",
        r.stderr
    );
}

#[test]
fn status_of_a_crashed_run_is_unconfirmed_not_null() {
    let ctx = Ctx::new(Engine::Sqlite, "unconfirmed");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let v1 = example(V1);
    ctx.apply(&v1, &ds, &["--events", "none"]).ok();
    // What a run killed after `attempted` leaves: attempted ≠ deployed, no failure, no lease.
    ctx.sql(&format!(
        "UPDATE depot_migrate_state SET attempted_version = 'ab', desired_version = 'ab', revision = revision + 1 WHERE dataset_id = '{}'",
        ctx.dataset_id
    ));
    let s = ctx.status(&ds);
    assert_eq!(s["status"], "RUNNING", "the Depot page's field stays: {s}");
    assert_eq!(s["phase"], "failed", "{s}");
    assert_eq!(s["lastFailure"]["class"], "unconfirmed", "{s}");
    assert_eq!(s["lastFailure"]["recorded"], false, "{s}");
}

#[test]
fn docs_cover_allow_destructive_true_and_at_least_once_delivery() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    assert!(
        readme.contains("`allowDestructive` is either")
            && readme.contains("`true`, which allows every destructive step"),
        "README documents allowDestructive: true"
    );
    let doc = std::fs::read_to_string(root.join("docs/state-and-events.md")).expect("doc");
    assert!(doc.contains("at least once") && doc.contains("`detail.eventId`"));
    assert!(readme.contains("at least once") && readme.contains("`detail.eventId`"));
}

#[test]
fn progress_and_failure_count_steps_the_same_way() {
    let ctx = Ctx::new(Engine::Sqlite, "stepnumbers");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let t = |indexes: Value| json!({"namespace": "dogs", "tables": [{"name": "t", "columns": [{"name": "id", "type": "bigint", "nullable": false}, {"name": "n", "type": "int"}], "primaryKey": ["id"], "indexes": indexes}]});
    let p0 = ctx.write_json("p0.package.json", &t(json!([])));
    let p1 = ctx.write_json(
        "p1.package.json",
        &t(json!([{"name": "t_n_uq", "columns": ["n"], "unique": true}])),
    );
    ctx.apply(&p0, &ds, &["--events", "none"]).ok();
    ctx.sql("INSERT INTO t (id, n) VALUES (1, 7), (2, 7)");
    let r = ctx.apply(&p1, &ds, &["--events", "none"]);
    r.expect_code(1);
    assert!(r.stderr.contains("[1/1]"), "{}", r.stderr);
    assert!(
        r.stderr.contains("step 1 (createIndex:t.t_n_uq) failed"),
        "{}",
        r.stderr
    );
}
