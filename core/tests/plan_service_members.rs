//! Golden SQL for the service-schema members: unique constraints, checks and foreign
//! keys on Postgres (dropped first, added after the tables, `NOT VALID` then
//! `VALIDATE` on tables with rows), function defaults, and the added scalar types on
//! Postgres and SQLite. Snapshots in `snapshots/plan_service_members__<name>.snap`.

mod common;

use common::{render, strict_dataset};
use depot_migrate_core::{load, plan::plan, Engine, Package};
use serde_json::{json, Value};

fn pkg(v: &Value, engine: Engine) -> Package {
    load::parse_package(v.to_string().as_bytes(), Some(engine)).expect("valid package")
}

fn shop(keys: bool) -> Value {
    let mut customers = json!({"name": "customers", "primaryKey": ["id"], "columns": [
        {"name": "id", "type": "bigint", "nullable": false},
        {"name": "email", "type": "string", "maxLength": 320, "nullable": false},
        {"name": "created_at", "type": "timestamptz", "nullable": false, "default": {"function": "now"}},
        {"name": "public_id", "type": "uuid", "default": {"function": "genRandomUuid"}}]});
    let mut orders = json!({"name": "orders", "primaryKey": ["id"], "columns": [
        {"name": "id", "type": "bigint", "nullable": false},
        {"name": "customer_id", "type": "bigint", "nullable": false},
        {"name": "amount", "type": "decimal", "precision": 12, "scale": 2, "nullable": false}]});
    if keys {
        customers["uniqueConstraints"] =
            json!([{"name": "customers_email_key", "columns": ["email"]}]);
        customers["checks"] =
            json!([{"name": "customers_email_at", "expression": "email like '%@%'"}]);
        orders["foreignKeys"] = json!([{"name": "orders_customer_fk", "columns": ["customer_id"],
            "references": {"table": "customers", "columns": ["id"]}, "onDelete": "cascade", "deferrable": "initiallyDeferred"}]);
        orders["checks"] =
            json!([{"name": "orders_amount_nonneg", "expression": "amount>=0 AND amount<1e9"}]);
    }
    json!({"namespace": "shop", "tables": [customers, orders]})
}

#[test]
fn postgres_constraints() {
    let ds = strict_dataset("postgres");
    let (base, keyed) = (
        pkg(&shop(false), Engine::Postgres),
        pkg(&shop(true), Engine::Postgres),
    );
    insta::assert_snapshot!(
        "postgres_create_with_keys",
        render(&plan(None, &keyed, &ds).expect("plan"))
    );
    insta::assert_snapshot!(
        "postgres_add_keys",
        render(&plan(Some(&base), &keyed, &ds).expect("plan"))
    );
    insta::assert_snapshot!(
        "postgres_drop_keys",
        render(&plan(Some(&keyed), &base, &ds).expect("plan"))
    );
    assert!(plan(Some(&keyed), &keyed, &ds)
        .expect("plan")
        .steps
        .is_empty());
}

fn typed(wide: bool) -> Value {
    let cols = if wide {
        json!([{"name": "id", "type": "bigint", "nullable": false},
               {"name": "qty", "type": "int"}, {"name": "ratio", "type": "double"},
               {"name": "at", "type": "time"}, {"name": "cc", "type": "char", "maxLength": 5},
               {"name": "amount", "type": "decimal", "precision": 20, "scale": 4}])
    } else {
        json!([{"name": "id", "type": "bigint", "nullable": false},
               {"name": "qty", "type": "smallint", "default": 1}, {"name": "ratio", "type": "real"},
               {"name": "at", "type": "time", "default": "08:30:00"}, {"name": "cc", "type": "char", "maxLength": 2},
               {"name": "amount", "type": "numeric"}])
    };
    json!({"namespace": "n", "tables": [{"name": "m", "primaryKey": ["id"], "columns": cols}]})
}

#[test]
fn added_types() {
    for (engine, name) in [(Engine::Postgres, "postgres"), (Engine::Sqlite, "sqlite")] {
        let ds = strict_dataset(name);
        let (a, b) = (pkg(&typed(false), engine), pkg(&typed(true), engine));
        insta::assert_snapshot!(
            format!("{name}_create_added_types"),
            render(&plan(None, &a, &ds).expect("plan"))
        );
        insta::assert_snapshot!(
            format!("{name}_change_added_types"),
            render(&plan(Some(&a), &b, &ds).expect("plan"))
        );
    }
}

#[test]
fn snowflake_refuses_checks() {
    let ds = strict_dataset("snowflake");
    let p: Package = serde_json::from_value(shop(true)).expect("model");
    let err = plan(None, &p, &ds).expect_err("refused");
    assert!(
        err.problems.iter().all(|p| p.code.as_str() == "DM2024"),
        "{err:?}"
    );
    assert!(
        err.problems.iter().any(|p| p.path == "$.tables[0].checks"),
        "{err:?}"
    );
}

/// The shop for SQLite: no UUID generator there (refused by validation).
fn shop_sqlite(keys: bool) -> Value {
    let mut v = shop(keys);
    v["tables"][0]["columns"][3]
        .as_object_mut()
        .expect("column")
        .remove("default");
    v
}

#[test]
fn sqlite_constraints_in_create_table_and_rebuilds() {
    let ds = strict_dataset("sqlite");
    let (base, keyed) = (
        pkg(&shop_sqlite(false), Engine::Sqlite),
        pkg(&shop_sqlite(true), Engine::Sqlite),
    );
    insta::assert_snapshot!(
        "sqlite_create_with_keys",
        render(&plan(None, &keyed, &ds).expect("plan"))
    );
    let add = plan(Some(&base), &keyed, &ds).expect("plan");
    let kinds: Vec<&str> = add.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["rebuildTable", "rebuildTable", "checkForeignKeys"],
        "{}",
        add.sql_script()
    );
    insta::assert_snapshot!("sqlite_add_keys", render(&add));
    assert!(plan(Some(&keyed), &keyed, &ds)
        .expect("plan")
        .steps
        .is_empty());
}

fn shop_snowflake(keys: bool) -> Value {
    let mut v = shop(keys);
    for t in v["tables"].as_array_mut().expect("tables") {
        t.as_object_mut().expect("table").remove("checks");
        for c in t["columns"].as_array_mut().expect("columns") {
            c.as_object_mut().expect("column").remove("default");
        }
    }
    v
}

#[test]
fn snowflake_declares_unique_constraints_and_foreign_keys() {
    let ds = strict_dataset("snowflake");
    let base = pkg(&shop_snowflake(false), Engine::Snowflake);
    let keyed = pkg(&shop_snowflake(true), Engine::Snowflake);
    let create = plan(None, &keyed, &ds).expect("plan");
    assert!(
        create.notes.iter().any(|n| n
            .contains("foreign keys and named unique constraints are declared but not enforced")),
        "{:?}",
        create.notes
    );
    insta::assert_snapshot!("snowflake_create_with_keys", render(&create));
    let add = plan(Some(&base), &keyed, &ds).expect("plan");
    assert!(
        add.steps
            .iter()
            .all(|s| s.kind != "validateConstraint" && !s.may_fail),
        "nothing is checked: {add:?}"
    );
    insta::assert_snapshot!("snowflake_add_keys", render(&add));
    insta::assert_snapshot!(
        "snowflake_drop_keys",
        render(&plan(Some(&keyed), &base, &ds).expect("plan"))
    );
}

#[test]
fn postgres_identity() {
    let ds = strict_dataset("postgres");
    let t = |id: Value| {
        pkg(
            &json!({"namespace": "n", "tables": [{"name": "item", "primaryKey": ["id"], "columns": [id]}]}),
            Engine::Postgres,
        )
    };
    let plain = t(json!({"name": "id", "type": "bigint", "nullable": false}));
    let by_default = t(json!({"name": "id", "type": "bigint", "identity": "byDefault"}));
    let always = t(
        json!({"name": "id", "type": "bigint", "identity": "always", "start": 100, "increment": 5}),
    );
    insta::assert_snapshot!(
        "postgres_create_identity",
        render(&plan(None, &always, &ds).expect("plan"))
    );
    insta::assert_snapshot!(
        "postgres_add_identity",
        render(&plan(Some(&plain), &by_default, &ds).expect("plan"))
    );
    insta::assert_snapshot!(
        "postgres_alter_identity",
        render(&plan(Some(&by_default), &always, &ds).expect("plan"))
    );
    insta::assert_snapshot!(
        "postgres_drop_identity",
        render(&plan(Some(&always), &plain, &ds).expect("plan"))
    );
}

#[test]
fn snowflake_refuses_identity_and_function_default_changes_on_existing_tables() {
    let ds = strict_dataset("snowflake");
    let t = |cols: Value| {
        pkg(
            &json!({"namespace": "n", "tables": [{"name": "item", "primaryKey": ["id"], "columns": cols}]}),
            Engine::Snowflake,
        )
    };
    let plain = t(json!([{"name": "id", "type": "bigint", "nullable": false}]));
    let ident = t(json!([{"name": "id", "type": "bigint", "identity": "byDefault"}]));
    let stamped = t(json!([{"name": "id", "type": "bigint", "nullable": false},
        {"name": "at", "type": "timestamp", "default": {"function": "now"}}]));
    for (from, to, path) in [
        (&plain, &ident, "$.tables[0].columns[0].identity"),
        (&ident, &plain, "$.tables[0].columns[0].identity"),
        (&plain, &stamped, "$.tables[0].columns[1].default"),
    ] {
        let err = plan(Some(from), to, &ds).expect_err("refused");
        assert_eq!(err.problems.len(), 1, "{err:?}");
        assert_eq!(err.problems[0].code.as_str(), "DM2025", "{err:?}");
        assert_eq!(err.problems[0].path, path, "{err:?}");
    }
    // In a new table both are written in CREATE TABLE, and removing a function default
    // is a column rebuild without it.
    let created = plan(None, &stamped, &ds).expect("plan");
    assert!(
        created
            .sql_script()
            .contains(r#""AT" TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP()"#),
        "{}",
        created.sql_script()
    );
    let ident_create = plan(None, &ident, &ds).expect("plan");
    assert!(
        ident_create
            .sql_script()
            .contains(r#""ID" NUMBER(38,0) IDENTITY(1, 1) ORDER NOT NULL"#),
        "{}",
        ident_create.sql_script()
    );
    let unstamped = t(json!([{"name": "id", "type": "bigint", "nullable": false},
        {"name": "at", "type": "timestamp"}]));
    let dropped = plan(Some(&stamped), &unstamped, &ds).expect("plan");
    let kinds: Vec<&str> = dropped.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["rebuildColumn"], "{}", dropped.sql_script());
    // Postgres makes the same changes in place.
    let pg = strict_dataset("postgres");
    let (plain, ident) = (
        pkg(
            &json!({"namespace": "n", "tables": [{"name": "item", "primaryKey": ["id"], "columns": [{"name": "id", "type": "bigint", "nullable": false}]}]}),
            Engine::Postgres,
        ),
        pkg(
            &json!({"namespace": "n", "tables": [{"name": "item", "primaryKey": ["id"], "columns": [{"name": "id", "type": "bigint", "identity": "byDefault"}]}]}),
            Engine::Postgres,
        ),
    );
    assert!(plan(Some(&plain), &ident, &pg).is_ok());
}
