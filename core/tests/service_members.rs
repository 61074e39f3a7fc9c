//! Validation of the service-schema members: enums, identity, unique constraints, foreign
//! keys, checks, function defaults and the added types, per engine.

use depot_migrate_core::constraints::check_sql;
use depot_migrate_core::model::IdentifierFolding;
use depot_migrate_core::{load, Engine};
use serde_json::{json, Value};

fn orders() -> Value {
    json!({
        "namespace": "shop",
        "enums": [{"name": "order_status", "values": ["pending", "paid", "shipped"]}],
        "tables": [
            {"name": "customers",
             "columns": [
                {"name": "id", "type": "bigint", "identity": "byDefault"},
                {"name": "email", "type": "string", "maxLength": 320, "nullable": false},
                {"name": "created_at", "type": "timestamptz", "default": {"function": "now"}}],
             "primaryKey": ["id"],
             "uniqueConstraints": [{"name": "customers_email_key", "columns": ["email"]}]},
            {"name": "orders",
             "columns": [
                {"name": "id", "type": "bigint", "identity": "byDefault"},
                {"name": "customer_id", "type": "bigint", "nullable": false},
                {"name": "status", "type": "enum", "enum": "order_status", "default": "pending"},
                {"name": "amount", "type": "decimal", "precision": 12, "scale": 2}],
             "primaryKey": ["id"],
             "foreignKeys": [{"name": "orders_customer_fk", "columns": ["customer_id"],
                              "references": {"table": "customers", "columns": ["id"]},
                              "onDelete": "cascade"}],
             "checks": [{"name": "orders_amount_nonneg", "expression": "amount >= 0"}]}
        ]
    })
}

fn problems(pkg: &Value, engine: Option<Engine>) -> Vec<(String, String, String)> {
    match load::parse_package(pkg.to_string().as_bytes(), engine) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .problems
            .into_iter()
            .map(|p| (p.code.as_str().to_string(), p.path, p.message))
            .collect(),
    }
}

fn assert_problem(pkg: &Value, engine: Option<Engine>, code: &str, path: &str) -> String {
    let ps = problems(pkg, engine);
    ps.iter()
        .find(|(c, p, _)| c == code && p == path)
        .unwrap_or_else(|| panic!("expected {code} at {path}, got {ps:#?}"))
        .2
        .clone()
}

#[test]
fn the_orders_package_is_valid_on_postgres_and_sqlite() {
    assert_eq!(problems(&orders(), Some(Engine::Postgres)), vec![]);
    assert_eq!(problems(&orders(), Some(Engine::Sqlite)), vec![]);
    assert_eq!(problems(&orders(), None), vec![]);
}

#[test]
fn unknown_enum_is_reported_with_did_you_mean() {
    let mut p = orders();
    p["tables"][1]["columns"][2]["enum"] = json!("order_statu");
    let m = assert_problem(&p, None, "DM2019", "$.tables[1].columns[2].enum");
    assert!(m.contains("did you mean \"order_status\""), "{m}");
}

#[test]
fn enum_default_must_be_a_value() {
    let mut p = orders();
    p["tables"][1]["columns"][2]["default"] = json!("lost");
    assert_problem(&p, None, "DM2010", "$.tables[1].columns[2].default");
}

#[test]
fn enum_values_must_be_distinct_and_present() {
    let mut p = orders();
    p["enums"][0]["values"] = json!(["a", "a"]);
    assert_problem(&p, None, "DM2019", "$.enums[0].values[1]");
    p["enums"][0]["values"] = json!([]);
    assert_problem(&p, None, "DM2011", "$.enums[0].values");
}

#[test]
fn enum_name_collides_with_a_table() {
    let mut p = orders();
    p["enums"][0]["name"] = json!("orders");
    p["tables"][1]["columns"][2]["enum"] = json!("orders");
    assert_problem(&p, None, "DM2023", "$.enums[0].name");
}

#[test]
fn identity_rules() {
    let mut p = orders();
    p["tables"][0]["columns"][1]["identity"] = json!("always");
    let m = assert_problem(&p, None, "DM2020", "$.tables[0].columns[1].identity");
    assert!(m.contains("smallint, int or bigint"), "{m}");
    let mut p = orders();
    p["tables"][0]["columns"][0]["default"] = json!(1);
    assert_problem(&p, None, "DM2020", "$.tables[0].columns[0].default");
    let mut p = orders();
    p["tables"][0]["columns"][0]["increment"] = json!(0);
    assert_problem(&p, None, "DM2020", "$.tables[0].columns[0].increment");
    let mut p = orders();
    p["tables"][1]["columns"][3]["start"] = json!(5);
    assert_problem(&p, None, "DM2009", "$.tables[1].columns[3].start");
}

#[test]
fn identity_on_sqlite_must_be_the_integer_primary_key() {
    let mut p = orders();
    p["tables"][0]["columns"][0]["identity"] = json!("always");
    let m = assert_problem(
        &p,
        Some(Engine::Sqlite),
        "DM2020",
        "$.tables[0].columns[0].identity",
    );
    assert!(m.contains("byDefault"), "{m}");
    assert_eq!(problems(&p, Some(Engine::Postgres)), vec![]);
    let mut p = orders();
    p["tables"][0]["primaryKey"] = json!(["id", "email"]);
    assert_problem(
        &p,
        Some(Engine::Sqlite),
        "DM2020",
        "$.tables[0].columns[0].identity",
    );
}

#[test]
fn foreign_key_target_must_exist_and_be_a_key() {
    let mut p = orders();
    p["tables"][1]["foreignKeys"][0]["references"]["table"] = json!("customer");
    let m = assert_problem(
        &p,
        None,
        "DM2021",
        "$.tables[1].foreignKeys[0].references.table",
    );
    assert!(m.contains("did you mean \"customers\""), "{m}");
    let mut p = orders();
    p["tables"][1]["foreignKeys"][0]["references"]["columns"] = json!(["created_at"]);
    assert_problem(
        &p,
        None,
        "DM2021",
        "$.tables[1].foreignKeys[0].references.columns",
    );
    // A named unique constraint is a valid target.
    let mut p = orders();
    p["tables"][1]["columns"][1] =
        json!({"name": "customer_id", "type": "string", "maxLength": 320});
    p["tables"][1]["foreignKeys"][0]["references"]["columns"] = json!(["email"]);
    assert_eq!(problems(&p, None), vec![]);
}

#[test]
fn foreign_key_types_and_counts_must_match() {
    let mut p = orders();
    p["tables"][1]["columns"][1]["type"] = json!("int");
    assert_problem(&p, None, "DM2021", "$.tables[1].foreignKeys[0].columns[0]");
    let mut p = orders();
    p["tables"][1]["foreignKeys"][0]["columns"] = json!(["customer_id", "amount"]);
    assert_problem(
        &p,
        None,
        "DM2021",
        "$.tables[1].foreignKeys[0].references.columns",
    );
    let mut p = orders();
    p["tables"][1]["foreignKeys"][0]["onDelete"] = json!("setNull");
    let m = assert_problem(&p, None, "DM2021", "$.tables[1].foreignKeys[0].columns[0]");
    assert!(m.contains("NULL"), "{m}");
}

#[test]
fn constraint_names_are_unique_per_schema() {
    let mut p = orders();
    p["tables"][1]["checks"][0]["name"] = json!("customers_email_key");
    assert_problem(&p, None, "DM2023", "$.tables[1].checks[0].name");
    let mut p = orders();
    p["tables"][1]["foreignKeys"][0]["name"] = json!("customers_pkey");
    assert_problem(&p, None, "DM2023", "$.tables[1].foreignKeys[0].name");
}

#[test]
fn checks_are_refused_on_snowflake() {
    let m = assert_problem(
        &orders(),
        Some(Engine::Snowflake),
        "DM2024",
        "$.tables[1].checks[0]",
    );
    assert!(m.contains("Snowflake has no check constraints"), "{m}");
}

#[test]
fn check_expressions_outside_the_allow_list_are_refused() {
    for (expr, why) in [
        ("amount >= 0; DROP TABLE orders", "continues after"),
        ("amount >= 0) OR (1 = 1", "continues after"),
        ("(SELECT 1) = 1", "not allowed"),
        ("pg_sleep(10) IS NULL", "not allowed"),
        ("amount", "not a condition"),
        ("amount + 1", "not a condition"),
        ("other_table.amount > 0", "not allowed"),
        ("total > 0", "not a column"),
        ("amount >= 0 --", ""),
        ("", "does not parse"),
        ("amount >= $$x$$", ""),
    ] {
        let mut p = orders();
        p["tables"][1]["checks"][0]["expression"] = json!(expr);
        let ps = problems(&p, Some(Engine::Postgres));
        // A trailing comment is harmless (it is not re-printed); everything else fails.
        if expr.ends_with("--") {
            assert_eq!(ps, vec![], "{expr}");
            continue;
        }
        let m = &ps
            .iter()
            .find(|(c, path, _)| c == "DM2022" && path == "$.tables[1].checks[0].expression")
            .unwrap_or_else(|| panic!("{expr}: {ps:#?}"))
            .2;
        assert!(m.contains(why), "{expr}: {m}");
    }
}

#[test]
fn check_expressions_are_reprinted_from_the_tree() {
    let pkg = load::parse_package(orders().to_string().as_bytes(), None).expect("valid");
    let t = &pkg.tables[1];
    let q = |n: &str| format!("\"{n}\"");
    let f = IdentifierFolding::AsWritten;
    let pg = Some(Engine::Postgres);
    assert_eq!(
        check_sql(
            "amount>=0   AND   status IN ('paid','shipped')",
            t,
            pg,
            f,
            &q
        )
        .expect("ok"),
        r#""amount" >= 0 AND "status" IN ('paid', 'shipped')"#
    );
    assert_eq!(
        check_sql("lower(status) LIKE 'p%' -- note", t, pg, f, &q).expect("ok"),
        r#"lower("status") LIKE 'p%'"#
    );
    assert_eq!(
        check_sql("amount BETWEEN 0 AND 10 OR amount IS NULL", t, pg, f, &q).expect("ok"),
        r#""amount" BETWEEN 0 AND 10 OR "amount" IS NULL"#
    );
    // Quotes inside string literals stay inside the literal.
    assert_eq!(
        check_sql("status <> 'it''s'", t, pg, f, &q).expect("ok"),
        r#""status" <> 'it''s'"#
    );
}

#[test]
fn function_defaults_fit_their_types() {
    let mut p = orders();
    p["tables"][0]["columns"][1]["default"] = json!({"function": "now"});
    assert_problem(&p, None, "DM2010", "$.tables[0].columns[1].default");
    let mut p = orders();
    p["tables"][0]["columns"][2]["default"] = json!({"function": "sysdate"});
    let m = assert_problem(
        &p,
        None,
        "DM1009",
        "$.tables[0].columns[2].default.function",
    );
    assert!(m.contains("genRandomUuid"), "{m}");
    let mut p = orders();
    p["tables"][0]["columns"][2]["default"] = json!({"function": "now", "args": []});
    assert_problem(&p, None, "DM1007", "$.tables[0].columns[2].default.args");
    let mut p = orders();
    p["tables"][0]["columns"][2] =
        json!({"name": "created_at", "type": "uuid", "default": {"function": "genRandomUuid"}});
    assert_eq!(problems(&p, Some(Engine::Postgres)), vec![]);
    assert_problem(
        &p,
        Some(Engine::Sqlite),
        "DM2024",
        "$.tables[0].columns[2].default",
    );
}

#[test]
fn added_types_and_their_attributes() {
    let col = |c: Value| {
        let mut p = orders();
        p["tables"][0]["columns"][2] = c;
        p
    };
    assert_problem(
        &col(json!({"name": "c", "type": "char"})),
        None,
        "DM2007",
        "$.tables[0].columns[2].maxLength",
    );
    assert_eq!(
        problems(
            &col(json!({"name": "c", "type": "char", "maxLength": 2, "default": "DE"})),
            None
        ),
        vec![]
    );
    assert_problem(
        &col(json!({"name": "c", "type": "array"})),
        None,
        "DM1006",
        "$.tables[0].columns[2].items",
    );
    assert_problem(
        &col(json!({"name": "c", "type": "array", "items": "array"})),
        None,
        "DM1009",
        "$.tables[0].columns[2].items",
    );
    assert_problem(
        &col(json!({"name": "c", "type": "int", "items": "int"})),
        None,
        "DM2009",
        "$.tables[0].columns[2].items",
    );
    assert_eq!(
        problems(
            &col(
                json!({"name": "c", "type": "array", "items": "decimal", "precision": 5, "scale": 2})
            ),
            None
        ),
        vec![]
    );
    assert_problem(
        &col(json!({"name": "c", "type": "array", "items": "decimal"})),
        None,
        "DM2008",
        "$.tables[0].columns[2].precision",
    );
    assert_problem(
        &col(json!({"name": "c", "type": "string", "jsonStorage": "text"})),
        None,
        "DM2009",
        "$.tables[0].columns[2].jsonStorage",
    );
    assert_problem(
        &col(json!({"name": "c", "type": "smallint", "default": 40000})),
        None,
        "DM2010",
        "$.tables[0].columns[2].default",
    );
    assert_problem(
        &col(json!({"name": "c", "type": "time", "default": "25:00:00"})),
        None,
        "DM2010",
        "$.tables[0].columns[2].default",
    );
    assert_eq!(
        problems(
            &col(json!({"name": "c", "type": "time", "default": "23:59:59.5"})),
            None
        ),
        vec![]
    );
    assert_problem(
        &col(json!({"name": "c", "type": "numeric", "precision": 5})),
        None,
        "DM2009",
        "$.tables[0].columns[2].precision",
    );
    let numeric = col(json!({"name": "c", "type": "numeric", "default": "12.50"}));
    assert_eq!(problems(&numeric, Some(Engine::Postgres)), vec![]);
    assert_problem(
        &numeric,
        Some(Engine::Snowflake),
        "DM2024",
        "$.tables[0].columns[2].type",
    );
    let interval = col(json!({"name": "c", "type": "interval"}));
    assert_eq!(problems(&interval, Some(Engine::Postgres)), vec![]);
    assert_problem(
        &interval,
        Some(Engine::Sqlite),
        "DM2024",
        "$.tables[0].columns[2].type",
    );
    assert_problem(
        &interval,
        Some(Engine::Snowflake),
        "DM2024",
        "$.tables[0].columns[2].type",
    );
    // A decimal without precision stays an error: arbitrary precision is `numeric`.
    assert_problem(
        &col(json!({"name": "c", "type": "decimal"})),
        None,
        "DM2008",
        "$.tables[0].columns[2].precision",
    );
}

#[test]
fn structural_problems_in_new_members_are_all_listed() {
    let mut p = orders();
    p["tables"][1]["foreignKeys"][0]["onDelet"] = json!("cascade");
    p["tables"][1]["foreignKeys"][0]["onUpdate"] = json!("casacde");
    p["tables"][1]["columns"][0]["identity"] = json!("alwys");
    p["enums"][0]["value"] = json!([]);
    let ps = problems(&p, None);
    let has = |code: &str, path: &str| ps.iter().any(|(c, p2, _)| c == code && p2 == path);
    assert!(
        has("DM1007", "$.tables[1].foreignKeys[0].onDelet"),
        "{ps:#?}"
    );
    assert!(
        has("DM1009", "$.tables[1].foreignKeys[0].onUpdate"),
        "{ps:#?}"
    );
    assert!(has("DM1009", "$.tables[1].columns[0].identity"), "{ps:#?}");
    assert!(has("DM1007", "$.enums[0].value"), "{ps:#?}");
    let m = &ps
        .iter()
        .find(|(_, p2, _)| p2 == "$.tables[1].foreignKeys[0].onDelet")
        .expect("listed")
        .2;
    assert!(m.contains("did you mean \"onDelete\""), "{m}");
}

#[test]
fn postgres_plans_enums_before_the_tables_that_use_them() {
    let ds = load::parse_dataset(
        br#"{"environmentId":"e","datasetId":"d","engine":"postgres","schema":"shop"}"#,
    )
    .expect("ds");
    let pkg = load::parse_package(orders().to_string().as_bytes(), Some(Engine::Postgres))
        .expect("valid");
    let p = depot_migrate_core::plan::plan(None, &pkg, &ds).expect("planned");
    let kinds: Vec<&str> = p.steps.iter().map(|s| s.kind.as_str()).collect();
    let enum_at = kinds
        .iter()
        .position(|k| *k == "createEnum")
        .expect("createEnum");
    let table_at = kinds
        .iter()
        .position(|k| *k == "createTable")
        .expect("createTable");
    assert!(enum_at < table_at, "{kinds:?}");
    assert!(
        p.steps[enum_at].sql[0].starts_with(r#"CREATE TYPE "shop"."order_status" AS ENUM ('"#),
        "{:?}",
        p.steps[enum_at].sql
    );
    // Columns of the enum name the schema-qualified type.
    assert!(
        p.sql_script().contains(r#""status" "shop"."order_status""#),
        "{}",
        p.sql_script()
    );
}
