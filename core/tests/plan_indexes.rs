//! Index options, renames and online builds: validation (codes and paths) and golden SQL
//! per change kind on Postgres and SQLite (`snapshots/plan_indexes__<name>.snap`).
//! docs/indexes.md describes the behaviour.

mod common;

use common::{render, strict_dataset};
use depot_migrate_core::{load, plan::plan, Code, DatasetConfig, Engine, Package};
use serde_json::{json, Value};

fn pkg(v: &Value, engine: Engine) -> Package {
    load::parse_package(v.to_string().as_bytes(), Some(engine))
        .unwrap_or_else(|e| panic!("invalid package: {e:?}"))
}

fn problems(v: &Value, engine: Option<Engine>) -> Vec<(Code, String)> {
    match load::parse_package(v.to_string().as_bytes(), engine) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.into_iter().map(|p| (p.code, p.path)).collect(),
    }
}

fn online_dataset(engine: &str) -> DatasetConfig {
    let v = json!({"environmentId": "e2e404529091ed2", "datasetId": "9afc0c483ed3",
        "engine": engine, "schema": "dogs", "onlineIndexes": true});
    load::parse_dataset(v.to_string().as_bytes()).expect("valid dataset")
}

fn accounts(indexes: Value) -> Value {
    json!({"namespace": "n", "tables": [{"name": "accounts", "primaryKey": ["id"], "columns": [
        {"name": "id", "type": "bigint", "nullable": false},
        {"name": "email", "type": "string", "nullable": false},
        {"name": "deleted_at", "type": "timestamp"},
        {"name": "score", "type": "int"},
        {"name": "tags", "type": "json"}],
        "indexes": indexes}]})
}

fn options() -> Value {
    json!([
        {"name": "accounts_email_live", "columns": [{"expression": "LOWER( email )"}], "unique": true,
         "where": "deleted_at is null"},
        {"name": "accounts_score", "columns": [{"column": "score", "order": "desc", "nulls": "last"}, "id"],
         "include": ["email"]},
        {"name": "accounts_tags", "columns": ["tags"], "method": "gin"}
    ])
}

#[test]
fn postgres_index_options_create_and_drop() {
    let ds = strict_dataset("postgres");
    let base = pkg(&accounts(json!([])), Engine::Postgres);
    let with = pkg(&accounts(options()), Engine::Postgres);
    let p = plan(None, &with, &ds).expect("plan");
    // Expressions and conditions are re-printed from the parse tree, columns quoted.
    let sql = p.sql_script();
    assert!(
        sql.contains(r#"("LOWER"("email"))"#) || sql.contains(r#"(LOWER("email"))"#),
        "{sql}"
    );
    assert!(sql.contains(r#"WHERE "deleted_at" IS NULL"#), "{sql}");
    insta::assert_snapshot!("postgres_create_with_options", render(&p));
    insta::assert_snapshot!(
        "postgres_add_index_options",
        render(&plan(Some(&base), &with, &ds).expect("plan"))
    );
    insta::assert_snapshot!(
        "postgres_drop_index_options",
        render(&plan(Some(&with), &base, &ds).expect("plan"))
    );
    assert!(plan(Some(&with), &with, &ds)
        .expect("plan")
        .steps
        .is_empty());
}

#[test]
fn same_expression_written_differently_is_no_change() {
    let ds = strict_dataset("postgres");
    let a = pkg(&accounts(options()), Engine::Postgres);
    let mut v = options();
    v[0]["columns"][0]["expression"] = json!("LOWER(email)");
    v[0]["where"] = json!("deleted_at  IS   NULL");
    let b = pkg(&accounts(v), Engine::Postgres);
    assert!(plan(Some(&a), &b, &ds).expect("plan").steps.is_empty());
}

#[test]
fn postgres_changed_index_is_dropped_and_recreated() {
    let ds = strict_dataset("postgres");
    let a = pkg(&accounts(options()), Engine::Postgres);
    let mut v = options();
    v[1]["columns"][0]["order"] = json!("asc");
    let b = pkg(&accounts(v), Engine::Postgres);
    let p = plan(Some(&a), &b, &ds).expect("plan");
    let keys: Vec<&str> = p.steps.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "dropIndex:accounts.accounts_score",
            "createIndex:accounts.accounts_score"
        ]
    );
    insta::assert_snapshot!("postgres_change_index_order", render(&p));
}

#[test]
fn index_renames() {
    for engine in ["postgres", "sqlite"] {
        let e = Engine::from_name(engine).expect("engine");
        let ds = strict_dataset(engine);
        let ix = |name: &str, hint: Option<&str>| {
            let mut i = json!({"name": name, "columns": [{"expression": "lower(email)"}], "where": "deleted_at IS NULL"});
            if let Some(h) = hint {
                i["renamedFrom"] = json!(h);
            }
            accounts(json!([i]))
        };
        let a = pkg(&ix("accounts_old", None), e);
        let b = pkg(&ix("accounts_new", Some("accounts_old")), e);
        let p = plan(Some(&a), &b, &ds).expect("plan");
        assert_eq!(p.steps.len(), 1, "{engine}: {:?}", p.steps);
        assert_eq!(p.steps[0].key, "renameIndex:accounts.accounts_new");
        insta::assert_snapshot!(format!("{engine}_rename_index"), render(&p));
        // Deployed already: the hint is ignored.
        assert!(plan(Some(&b), &b, &ds).expect("plan").steps.is_empty());
    }
}

#[test]
fn postgres_online_builds_run_after_the_transaction() {
    let ds = online_dataset("postgres");
    let base = accounts(json!([{"name": "accounts_score", "columns": ["score"]}]));
    let mut next = accounts(options());
    // A column added in the same plan: its step stays in the transaction.
    next["tables"][0]["columns"]
        .as_array_mut()
        .expect("columns")
        .push(json!({"name": "note", "type": "string"}));
    // One index opts out of the dataset's online builds.
    next["tables"][0]["indexes"][2]["online"] = json!(false);
    let (a, b) = (pkg(&base, Engine::Postgres), pkg(&next, Engine::Postgres));
    let p = plan(Some(&a), &b, &ds).expect("plan");
    let first_outside = p
        .steps
        .iter()
        .position(|s| !s.transactional)
        .expect("an online step");
    assert!(
        p.steps[first_outside..].iter().all(|s| !s.transactional),
        "non-transactional steps come last: {:?}",
        p.steps
    );
    for s in &p.steps {
        let concurrent = s.sql.iter().any(|q| q.contains("CONCURRENTLY"));
        assert_eq!(concurrent, !s.transactional, "{}", s.key);
        if concurrent {
            assert!(
                s.locks
                    .as_deref()
                    .is_some_and(|l| l.starts_with("SHARE UPDATE EXCLUSIVE")),
                "{}",
                s.key
            );
        }
    }
    let gin = p
        .steps
        .iter()
        .find(|s| s.key == "createIndex:accounts.accounts_tags")
        .expect("gin step");
    assert!(
        gin.transactional
            && gin
                .locks
                .as_deref()
                .is_some_and(|l| l.starts_with("SHARE lock"))
    );
    insta::assert_snapshot!("postgres_online_index_builds", render(&p));
    // On a new table, indexes build in the transaction whatever the option says.
    let fresh = plan(None, &b, &ds).expect("plan");
    assert!(fresh.steps.iter().all(|s| s.transactional));
    // Online is not schema: switching it alone plans nothing.
    let plain = strict_dataset("postgres");
    assert_eq!(
        plan(None, &b, &ds).expect("plan").to_version,
        plan(None, &b, &plain).expect("plan").to_version
    );
}

#[test]
fn sqlite_partial_and_expression_indexes() {
    let ds = strict_dataset("sqlite");
    let ix = json!([{"name": "accounts_email_live", "columns": [{"expression": "lower(email)", "order": "desc"}],
                     "unique": true, "where": "deleted_at IS NULL"}]);
    let a = pkg(&accounts(json!([])), Engine::Sqlite);
    let b = pkg(&accounts(ix), Engine::Sqlite);
    insta::assert_snapshot!(
        "sqlite_add_partial_expression_index",
        render(&plan(Some(&a), &b, &ds).expect("plan"))
    );
}

#[test]
fn options_each_engine_refuses() {
    let sqlite = problems(
        &accounts(json!([
            {"name": "a", "columns": ["score"], "include": ["email"]},
            {"name": "b", "columns": ["score"], "method": "btree"},
            {"name": "c", "columns": [{"column": "score", "nulls": "first"}]},
            {"name": "d", "columns": ["score"], "online": true}
        ])),
        Some(Engine::Sqlite),
    );
    assert_eq!(
        sqlite,
        [
            (
                Code::IndexOptionUnsupported,
                "$.tables[0].indexes[0].include".into()
            ),
            (
                Code::IndexOptionUnsupported,
                "$.tables[0].indexes[1].method".into()
            ),
            (
                Code::IndexOptionUnsupported,
                "$.tables[0].indexes[2].columns[0].nulls".into()
            ),
            (
                Code::OnlineIndexUnsupported,
                "$.tables[0].indexes[3].online".into()
            ),
        ]
    );
    let snowflake = problems(
        &accounts(json!([
            {"name": "a", "columns": ["score"], "where": "score > 0"},
            {"name": "b", "columns": [{"expression": "lower(email)"}]},
            {"name": "c", "columns": ["score"], "unique": true}
        ])),
        Some(Engine::Snowflake),
    );
    assert_eq!(
        snowflake,
        [
            (
                Code::IndexOptionUnsupported,
                "$.tables[0].indexes[0].where".into()
            ),
            (
                Code::IndexOptionUnsupported,
                "$.tables[0].indexes[1].columns[0]".into()
            ),
        ]
    );
    let message = load::parse_package(
        accounts(json!([{"name": "a", "columns": ["score"], "where": "score > 0"}]))
            .to_string()
            .as_bytes(),
        Some(Engine::Snowflake),
    )
    .expect_err("refused")
    .problems[0]
        .message
        .clone();
    assert!(
        message.contains("Snowflake has no secondary indexes"),
        "{message}"
    );
    let ds = load::parse_dataset(
        br#"{"environmentId":"e","datasetId":"d","engine":"sqlite","schema":"main","onlineIndexes":true}"#,
    )
    .expect_err("refused");
    assert_eq!(ds.problems[0].code, Code::OnlineIndexUnsupported);
    assert_eq!(ds.problems[0].path, "$.onlineIndexes");
}

#[test]
fn bad_keys_expressions_and_method_conflicts() {
    let got = problems(
        &accounts(json!([
            {"name": "a", "columns": [{"column": "score", "expression": "score + 1"}]},
            {"name": "b", "columns": [{"expression": "lower(email); DROP TABLE accounts"}]},
            {"name": "c", "columns": ["score"], "where": "score"},
            {"name": "d", "columns": [{"expression": "pg_sleep(10)"}]},
            {"name": "e", "columns": ["score"], "method": "hash", "unique": true},
            {"name": "f", "columns": [{"column": "score", "order": "desc"}], "method": "gin"},
            {"name": "g", "columns": ["score"], "include": ["score", "nope"]},
            {"name": "h", "columns": [{"expression": "lower(emial)"}]}
        ])),
        Some(Engine::Postgres),
    );
    assert_eq!(
        got,
        [
            (
                Code::InvalidIndexKey,
                "$.tables[0].indexes[0].columns[0]".into()
            ),
            (
                Code::InvalidIndexExpression,
                "$.tables[0].indexes[1].columns[0].expression".into()
            ),
            (
                Code::InvalidIndexExpression,
                "$.tables[0].indexes[2].where".into()
            ),
            (
                Code::InvalidIndexExpression,
                "$.tables[0].indexes[3].columns[0].expression".into()
            ),
            (
                Code::IndexMethodConflict,
                "$.tables[0].indexes[4].method".into()
            ),
            (
                Code::IndexMethodConflict,
                "$.tables[0].indexes[5].columns[0]".into()
            ),
            (
                Code::InvalidIncludeColumn,
                "$.tables[0].indexes[6].include[0]".into()
            ),
            (
                Code::InvalidIncludeColumn,
                "$.tables[0].indexes[6].include[1]".into()
            ),
            (
                Code::InvalidIndexExpression,
                "$.tables[0].indexes[7].columns[0].expression".into()
            ),
        ]
    );
    // An unknown member of a key object is a structural error with its path.
    let unknown = problems(
        &accounts(json!([{"name": "a", "columns": [{"column": "score", "ordr": "desc"}]}])),
        Some(Engine::Postgres),
    );
    assert_eq!(
        unknown,
        [(
            Code::UnknownField,
            "$.tables[0].indexes[0].columns[0].ordr".into()
        )]
    );
}

#[test]
fn plan_text_shows_index_steps_with_their_locks() {
    let ds = online_dataset("postgres");
    let a = pkg(
        &accounts(json!([
            {"name": "accounts_old", "columns": ["email"]},
            {"name": "accounts_score", "columns": ["score"]}
        ])),
        Engine::Postgres,
    );
    let b = pkg(
        &accounts(json!([
            {"name": "accounts_new", "columns": ["email"], "renamedFrom": "accounts_old"},
            {"name": "accounts_score", "columns": [{"column": "score", "order": "desc"}], "online": false},
            {"name": "accounts_live", "columns": [{"expression": "lower(email)"}], "where": "deleted_at IS NULL"}
        ])),
        Engine::Postgres,
    );
    let p = plan(Some(&a), &b, &ds).expect("plan");
    let text = depot_migrate_core::summary::plan_text(&p, &ds);
    assert!(text.contains("SHARE UPDATE EXCLUSIVE"), "{text}");
    assert!(text.contains("SHARE lock: blocks writes"), "{text}");
    let warnings = depot_migrate_core::summary::rename_warnings(&p);
    assert!(warnings[0].contains("not a new index"), "{warnings:?}");
    insta::assert_snapshot!("plan_text_index_steps", text);
}
