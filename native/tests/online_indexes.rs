//! Online (CONCURRENTLY) index builds on real PostgreSQL (docs/indexes.md): writers keep
//! writing during a concurrent build and are observed blocked (pg_locks, not timing)
//! during a plain one; a failed concurrent build leaves an INVALID index that the failure
//! record names, and `recover --resolve retry` drops it and builds it again.

mod support;

use serde_json::{json, Value};
use support::{pg_connect, Ctx, Engine};

fn package(indexes: Value) -> Value {
    json!({"namespace": "n", "tables": [{"name": "accounts", "primaryKey": ["id"], "columns": [
        {"name": "id", "type": "bigint", "nullable": false},
        {"name": "email", "type": "string", "nullable": false},
        {"name": "score", "type": "int"}],
        "indexes": indexes}]})
}

fn recover(ctx: &Ctx, dataset: &str) -> support::Run {
    ctx.cli(&[
        "recover",
        "--dataset",
        dataset,
        "--db",
        &ctx.url,
        "--resolve",
        "retry",
        "--reason",
        "data fixed",
    ])
}

#[test]
fn failed_concurrent_build_leaves_invalid_index_and_retry_rebuilds_it() {
    let ctx = Ctx::new(Engine::Postgres, "online_invalid");
    let ds = ctx.dataset("d.dataset.json", json!({"onlineIndexes": true}));
    let v1 = ctx.write_json("v1.package.json", &package(json!([])));
    ctx.apply(&v1, &ds, &[]).ok();
    let mut db = pg_connect(&ctx.url);
    db.batch_execute(
        "INSERT INTO dogs.accounts (id, email) VALUES (1, 'a@x'), (2, 'A@X'), (3, 'b@x')",
    )
    .expect("rows");
    // A unique index over lower(email): rows 1 and 2 collide.
    let v2 = ctx.write_json(
        "v2.package.json",
        &package(json!([{"name": "accounts_email_uq", "columns": [{"expression": "lower(email)"}], "unique": true}])),
    );
    let r = ctx.apply(&v2, &ds, &[]);
    assert_ne!(r.code, 0, "{}", r.all_output());
    let invalid: Vec<String> = db
        .query(
            "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'dogs' AND NOT i.indisvalid",
            &[],
        )
        .expect("pg_index")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        invalid,
        ["accounts_email_uq"],
        "the failed build leaves the index INVALID"
    );
    let status = ctx.status(&ds);
    let failure = &status["lastFailure"];
    assert_eq!(
        failure["stepKey"], "createIndex:accounts.accounts_email_uq",
        "{status}"
    );
    assert_eq!(failure["rolledBack"], false, "{status}");
    let message = failure["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("left index accounts_email_uq INVALID"),
        "status names the invalid index: {message}"
    );
    assert!(
        ctx.history(&ds).iter().any(|h| h
            .to_string()
            .contains("left index accounts_email_uq INVALID")),
        "history names it too"
    );
    // Fix the data, then retry: the leftover is dropped and the index built again.
    db.batch_execute("UPDATE dogs.accounts SET email = 'c@x' WHERE id = 2")
        .expect("fix");
    let r = recover(&ctx, &ds);
    r.ok();
    assert!(r.stderr.contains("left INVALID"), "{}", r.stderr);
    let valid: Vec<bool> = db
        .query(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'accounts_email_uq'",
            &[],
        )
        .expect("pg_index")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(valid, [true]);
    let status = ctx.status(&ds);
    assert_eq!(status["deployedVersion"], ctx.hash(&v2, &ds), "{status}");
    // The unique index works.
    assert!(db
        .batch_execute("INSERT INTO dogs.accounts (id, email) VALUES (9, 'C@X')")
        .is_err());
}

/// Whether a writer is observed blocked while an index builds. A session holds an open
/// INSERT transaction (`ROW EXCLUSIVE`), so the build (either form) stays in progress,
/// waiting for it, for as long as the test needs; a writer in a third session is then
/// either queued on a lock (`pg_locks.granted = false`: behind a plain build's SHARE
/// request) or commits (beside a concurrent build's SHARE UPDATE EXCLUSIVE). No timing.
fn writer_blocked_during_build(online: bool) -> bool {
    let ctx = Ctx::new(
        Engine::Postgres,
        if online {
            "online_build"
        } else {
            "plain_build"
        },
    );
    let ds = ctx.dataset("d.dataset.json", json!({"onlineIndexes": online}));
    let v1 = ctx.write_json("v1.package.json", &package(json!([])));
    ctx.apply(&v1, &ds, &[]).ok();
    let mut db = pg_connect(&ctx.url);
    db.batch_execute(
        "INSERT INTO dogs.accounts (id, email, score) SELECT g, 'u' || g || '@x', g % 1000 FROM generate_series(1, 200000) g",
    )
    .expect("rows");
    // An open write transaction: the build (either form) waits for it to end, which keeps
    // the build in progress for as long as this test needs, without any timing.
    let mut holder = pg_connect(&ctx.url);
    let mut hold = holder.transaction().expect("tx");
    hold.batch_execute("INSERT INTO dogs.accounts (id, email) VALUES (-1, 'hold@x')")
        .expect("hold");
    let v2 = ctx.write_json(
        "v2.package.json",
        &package(json!([{"name": "accounts_score", "columns": ["score", "email"]}])),
    );
    // A lock timeout far longer than the test: the build waits on the holder, not on a
    // clock.
    let mut apply = ctx.spawn(&[
        "apply",
        "--package",
        &v2,
        "--dataset",
        &ds,
        "--db",
        &ctx.url,
        "--lock-timeout",
        "10m",
    ]);
    // Wait until the build is waiting on the holder (observed in pg_stat_activity).
    let mut monitor = pg_connect(&ctx.url);
    let building = |m: &mut postgres::Client| -> Option<i32> {
        m.query_opt(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX%accounts_score%' AND wait_event_type = 'Lock'",
            &[],
        )
        .expect("activity")
        .map(|r| r.get(0))
    };
    let mut tries = 0;
    while building(&mut monitor).is_none() {
        tries += 1;
        assert!(tries < 600, "the build never started waiting");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // A writer in another session.
    let url = ctx.url.clone();
    let writer = std::thread::spawn(move || {
        let mut w = pg_connect(&url);
        w.batch_execute("INSERT INTO dogs.accounts (id, email) VALUES (-2, 'writer@x')")
            .expect("writer insert");
    });
    // Either the writer's INSERT is queued on a lock (blocked), or it commits.
    let mut blocked = false;
    loop {
        let waiting: i64 = monitor
            .query_one(
                "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid WHERE a.query LIKE 'INSERT INTO dogs.accounts (id, email) VALUES (-2%' AND NOT l.granted",
                &[],
            )
            .expect("locks")
            .get(0);
        if waiting > 0 {
            blocked = true;
            break;
        }
        if writer.is_finished() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    hold.commit().expect("release");
    writer.join().expect("writer");
    let out = apply.wait().expect("apply");
    assert!(out.success(), "apply succeeds once the holder commits");
    let rows: i64 = db
        .query_one("SELECT count(*) FROM dogs.accounts WHERE id < 0", &[])
        .expect("count")
        .get(0);
    assert_eq!(rows, 2, "both writes landed");
    blocked
}

#[test]
fn plain_build_blocks_writers_and_concurrent_build_does_not() {
    assert!(
        writer_blocked_during_build(false),
        "a plain CREATE INDEX (SHARE lock) queues the writer"
    );
    assert!(
        !writer_blocked_during_build(true),
        "CREATE INDEX CONCURRENTLY (SHARE UPDATE EXCLUSIVE) lets the writer through"
    );
}
