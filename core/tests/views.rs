//! Views: validation of the query (the allow-list, names, cycles), its re-printed form,
//! and the plan around views (drop before, create after, dependency order).

use depot_migrate_core::{load, plan::plan, Code, DatasetConfig, Engine, Package};
use serde_json::{json, Value};

fn ds(engine: &str) -> DatasetConfig {
    let schema = if engine == "sqlite" { "main" } else { "shop" };
    load::parse_dataset(
        json!({"environmentId": "e", "datasetId": "d", "engine": engine, "schema": schema})
            .to_string()
            .as_bytes(),
    )
    .expect("dataset")
}

fn engine(name: &str) -> Engine {
    Engine::from_name(name).expect("engine")
}

fn tables() -> Value {
    json!([
        {"name": "customers", "columns": [
            {"name": "id", "type": "bigint", "nullable": false},
            {"name": "email", "type": "string", "maxLength": 200}
        ], "primaryKey": ["id"]},
        {"name": "orders", "columns": [
            {"name": "id", "type": "bigint", "nullable": false},
            {"name": "customer_id", "type": "bigint"},
            {"name": "total", "type": "decimal", "precision": 12, "scale": 2},
            {"name": "status", "type": "string", "maxLength": 20}
        ], "primaryKey": ["id"]}
    ])
}

fn with_views(tables: Value, views: Value) -> Value {
    json!({"namespace": "shop", "tables": tables, "views": views})
}

fn parse(v: &Value, e: &str) -> Result<Package, Vec<(Code, String, String)>> {
    load::parse_package(v.to_string().as_bytes(), Some(engine(e))).map_err(|err| {
        err.problems
            .into_iter()
            .map(|p| (p.code, p.path.to_string(), p.message))
            .collect()
    })
}

fn pkg(v: &Value, e: &str) -> Package {
    parse(v, e).unwrap_or_else(|p| panic!("invalid test package: {p:#?}"))
}

fn problem(query: &str, e: &str) -> (Code, String, String) {
    let v = with_views(tables(), json!([{"name": "v", "query": query}]));
    let mut p = parse(&v, e).expect_err(query);
    assert_eq!(p.len(), 1, "{p:#?}");
    p.remove(0)
}

#[test]
fn queries_outside_the_allow_list_are_refused_with_the_reason() {
    for (q, needle) in [
        ("SELECT id FROM orders; DROP TABLE orders", "2 statements"),
        ("DELETE FROM orders", "\"DELETE\" statement"),
        ("SELECT * FROM orders", "SELECT *"),
        ("SELECT id FROM other.orders", "names a schema"),
        ("SELECT id FROM pg_catalog.pg_class", "names a schema"),
        (
            "SELECT id FROM invoices",
            "not a table or view of this package",
        ),
        ("SELECT idd FROM orders", "did you mean \"id\""),
        (
            "SELECT id FROM orders JOIN customers ON customer_id = customers.id",
            "more than one table",
        ),
        (
            "SELECT pg_sleep(1) AS x FROM orders",
            "function \"pg_sleep\" is not allowed",
        ),
        (
            "SELECT id FROM orders WHERE id IN (SELECT id FROM customers)",
            "not allowed in a view",
        ),
        ("SELECT id FROM orders FOR UPDATE", "FOR UPDATE"),
        ("WITH x AS (SELECT id FROM orders) SELECT id FROM x", "WITH"),
        ("SELECT total + 1 FROM orders", "has no name"),
        (
            "SELECT id FROM orders WHERE count(id) > 1",
            "not allowed in WHERE",
        ),
        (
            "SELECT id, customer_id AS id FROM orders",
            "two columns named",
        ),
        (
            "SELECT id FROM orders UNION SELECT id, email FROM customers",
            "select 1 and 2 columns",
        ),
        (
            "SELECT sum(total) OVER () AS s FROM orders",
            "no FILTER or OVER",
        ),
        ("SELECT id FROM v", "reads itself"),
    ] {
        let (code, path, msg) = problem(q, "postgres");
        assert_eq!(code, Code::InvalidView, "{q}: {msg}");
        assert_eq!(path, "$.views[0].query");
        assert!(msg.contains(needle), "{q}: {msg}");
    }
}

#[test]
fn view_names_share_the_schema_namespace_and_cycles_are_refused() {
    let v = with_views(
        tables(),
        json!([{"name": "orders", "query": "SELECT id FROM customers"}]),
    );
    let p = parse(&v, "postgres").expect_err("collision");
    assert_eq!(p[0].0, Code::DuplicateView, "{p:?}");
    assert!(p[0].2.contains("table \"orders\""), "{p:?}");
    let v = with_views(
        tables(),
        json!([
            {"name": "a", "query": "SELECT id FROM b"},
            {"name": "b", "query": "SELECT id FROM a"}
        ]),
    );
    let p = parse(&v, "postgres").expect_err("cycle");
    assert_eq!(p[0].0, Code::ViewCycle, "{p:?}");
    assert!(p[0].2.contains("a -> b -> a"), "{p:?}");
    let v = with_views(
        tables(),
        json!([{"name": "m", "query": "SELECT id FROM orders", "materialized": true}]),
    );
    let p = parse(&v, "sqlite").expect_err("sqlite materialized");
    assert_eq!(p[0].0, Code::UnsupportedOnEngine, "{p:?}");
    assert_eq!(p[0].1, "$.views[0].materialized");
}

#[test]
fn the_query_is_reprinted_quoted_and_qualified() {
    let v = with_views(
        tables(),
        json!([{"name": "order_totals", "query":
            "select c.email, COUNT(*) as n, Sum(o.total) AS total from orders o join customers c on c.id = o.customer_id where o.status <> 'cancelled' group by c.email having sum(o.total) > 0 order by total desc limit 10"}]),
    );
    let p = plan(None, &pkg(&v, "postgres"), &ds("postgres")).expect("plan");
    let create = p
        .steps
        .iter()
        .find(|s| s.kind == "createView")
        .expect("createView");
    assert_eq!(
        create.sql,
        vec![
            r#"CREATE VIEW "shop"."order_totals" AS SELECT "c"."email", count(*) AS "n", sum("o"."total") AS "total" FROM "shop"."orders" AS "o" JOIN "shop"."customers" AS "c" ON "c"."id" = "o"."customer_id" WHERE "o"."status" <> 'cancelled' GROUP BY "c"."email" HAVING sum("o"."total") > 0 ORDER BY "total" DESC LIMIT 10"#
        ]
    );
    assert_eq!(create.key, "createView:order_totals");
    let p = plan(None, &pkg(&v, "snowflake"), &ds("snowflake")).expect("plan");
    let create = p
        .steps
        .iter()
        .find(|s| s.kind == "createView")
        .expect("createView");
    assert!(
        create.sql[0].starts_with(r#"CREATE VIEW "SHOP"."ORDER_TOTALS" AS SELECT "C"."EMAIL""#),
        "{}",
        create.sql[0]
    );
}

fn kinds(p: &depot_migrate_core::plan::Plan) -> Vec<String> {
    p.steps.iter().map(|s| s.key.clone()).collect()
}

#[test]
fn a_type_change_under_a_view_drops_and_recreates_it_and_its_dependents_in_order() {
    let views = json!([
        {"name": "big_orders", "query": "SELECT id, total FROM orders WHERE total > 100"},
        {"name": "big_order_count", "query": "SELECT count(*) AS n FROM big_orders"},
        {"name": "emails", "query": "SELECT email FROM customers"}
    ]);
    let a = with_views(tables(), views.clone());
    let mut t = tables();
    t[1]["columns"][2] = json!({"name": "total", "type": "decimal", "precision": 14, "scale": 2});
    let b = with_views(t, views);
    let p = plan(
        Some(&pkg(&a, "postgres")),
        &pkg(&b, "postgres"),
        &ds("postgres"),
    )
    .expect("plan");
    assert_eq!(
        kinds(&p),
        vec![
            "dropView:big_order_count",
            "dropView:big_orders",
            "alterColumnType:orders.total",
            "createView:big_orders",
            "createView:big_order_count",
        ]
    );
    // Nothing changes under the views: no view steps.
    let p = plan(
        Some(&pkg(&b, "postgres")),
        &pkg(&b, "postgres"),
        &ds("postgres"),
    )
    .expect("plan");
    assert!(p.steps.is_empty(), "{:?}", kinds(&p));
}

#[test]
fn a_sqlite_rebuild_drops_and_recreates_the_views_over_the_table() {
    let views =
        json!([{"name": "open_orders", "query": "SELECT id FROM orders WHERE status = 'open'"}]);
    let a = with_views(tables(), views.clone());
    let mut t = tables();
    t[1]["columns"][3]["nullable"] = json!(false);
    t[1]["columns"][3]["default"] = json!("open");
    let b = with_views(t, views);
    let p = plan(Some(&pkg(&a, "sqlite")), &pkg(&b, "sqlite"), &ds("sqlite")).expect("plan");
    assert_eq!(
        kinds(&p),
        vec![
            "dropView:open_orders",
            "rebuildTable:orders",
            "createView:open_orders"
        ]
    );
    assert_eq!(
        p.steps[2].sql,
        vec![r#"CREATE VIEW "open_orders" AS SELECT "id" FROM "orders" WHERE "status" = 'open'"#]
    );
}

#[test]
fn renames_changes_and_removals_of_views() {
    let a = with_views(
        tables(),
        json!([
            {"name": "v1", "query": "SELECT id FROM orders"},
            {"name": "v2", "query": "SELECT id FROM customers", "comment": "old"}
        ]),
    );
    let b = with_views(
        tables(),
        json!([
            {"name": "v1_renamed", "query": "SELECT id FROM orders", "renamedFrom": "v1"},
            {"name": "v2", "query": "SELECT id, email FROM customers", "comment": "new"}
        ]),
    );
    let p = plan(
        Some(&pkg(&a, "postgres")),
        &pkg(&b, "postgres"),
        &ds("postgres"),
    )
    .expect("plan");
    assert_eq!(
        kinds(&p),
        vec!["dropView:v2", "renameView:v1_renamed", "createView:v2"]
    );
    assert_eq!(
        p.steps[1].sql,
        vec![r#"ALTER VIEW "shop"."v1" RENAME TO "v1_renamed""#]
    );
    assert_eq!(
        p.steps[2].sql,
        vec![
            r#"CREATE VIEW "shop"."v2" AS SELECT "id", "email" FROM "shop"."customers""#
                .to_string(),
            r#"COMMENT ON VIEW "shop"."v2" IS 'new'"#.to_string()
        ]
    );
    // SQLite has no ALTER VIEW: a renamed view is dropped and created.
    let p = plan(Some(&pkg(&a, "sqlite")), &pkg(&b, "sqlite"), &ds("sqlite")).expect("plan");
    assert_eq!(
        kinds(&p),
        vec![
            "dropView:v2",
            "dropView:v1",
            "createView:v1_renamed",
            "createView:v2"
        ]
    );
}

// ---- grants ---------------------------------------------------------------------

fn with_grants(grants: Value) -> Value {
    json!({"namespace": "shop", "tables": tables(), "views": [
        {"name": "order_totals", "query": "SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id"}
    ], "grants": grants})
}

#[test]
fn grants_that_cannot_be_right_are_refused() {
    for (g, path, needle) in [
        (
            json!({"role": "r", "privileges": ["usage"], "on": {"tables": "all"}}),
            "$.grants[0].privileges[0]",
            "does not apply to tables",
        ),
        (
            json!({"role": "r", "privileges": ["insert"], "on": {"views": "all"}}),
            "$.grants[0].privileges[0]",
            "use select",
        ),
        (
            json!({"role": "r", "privileges": ["select"], "on": {"tables": ["ordrs"]}}),
            "$.grants[0].on.tables[0]",
            "did you mean \"orders\"",
        ),
        (
            json!({"role": "r", "privileges": ["select"], "on": {"tables": ["orders"]}, "future": true}),
            "$.grants[0].future",
            "needs \"all\"",
        ),
        (
            json!({"role": "r", "privileges": ["usage"], "on": {"sequences": ["orders_id_seq"]}}),
            "$.grants[0].on.sequences",
            "write \"all\"",
        ),
        (
            json!({"role": "r", "privileges": ["select"], "on": {"tables": "all", "views": "all"}}),
            "$.grants[0].on",
            "one kind",
        ),
        (
            json!({"role": "r", "privileges": ["select"], "on": {}}),
            "$.grants[0].on",
            "\"tables\", \"views\" or \"sequences\"",
        ),
        (
            json!({"role": "PUBLIC", "privileges": ["select"], "on": {"tables": "all"}}),
            "$.grants[0].role",
            "reserved",
        ),
        (
            json!({"role": "r", "privileges": ["select", "select"], "on": {"tables": "all"}}),
            "$.grants[0].privileges[1]",
            "twice",
        ),
    ] {
        let p = parse(&with_grants(json!([g])), "postgres").expect_err(&g.to_string());
        assert!(
            p.iter().any(
                |(c, pa, m)| matches!(c, Code::InvalidGrant | Code::MissingField)
                    && pa == path
                    && m.contains(needle)
            ),
            "{g}: {p:#?}"
        );
    }
    let p = parse(
        &with_grants(
            json!([{"role": "r; DROP ROLE x", "privileges": ["select"], "on": {"tables": "all"}}]),
        ),
        "postgres",
    )
    .expect_err("role");
    assert_eq!(
        (p[0].0, p[0].1.as_str()),
        (Code::InvalidIdentifier, "$.grants[0].role")
    );
    let p = parse(
        &with_grants(json!([{"role": "r", "privileges": ["select"], "on": {"tables": "all"}}])),
        "sqlite",
    )
    .expect_err("sqlite");
    assert_eq!(
        (p[0].0, p[0].1.as_str()),
        (Code::InvalidGrant, "$.grants"),
        "{p:?}"
    );
    assert!(p[0].2.contains("sqlite has no roles"), "{p:?}");
}

fn reader_grants() -> Value {
    json!([
        {"role": "reporting", "privileges": ["select"], "on": {"views": "all"}},
        {"role": "reporting", "privileges": ["select"], "on": {"tables": "all"}, "future": true},
        {"role": "app", "privileges": ["select", "insert", "update"], "on": {"tables": ["orders"]}},
        {"role": "app", "privileges": ["usage"], "on": {"sequences": "all"}}
    ])
}

#[test]
fn grants_plan_a_role_check_first_and_grants_last() {
    let p = plan(
        None,
        &pkg(&with_grants(reader_grants()), "postgres"),
        &ds("postgres"),
    )
    .expect("plan");
    let keys = kinds(&p);
    assert_eq!(keys[0], "checkRoles:app.reporting");
    assert!(
        p.steps[0].sql[0].contains("unnest(ARRAY['app', 'reporting']::text[])"),
        "{}",
        p.steps[0].sql[0]
    );
    assert!(p.steps[0].may_fail);
    let grants: Vec<&str> = p
        .steps
        .iter()
        .filter(|s| s.kind == "grant")
        .flat_map(|s| s.sql.iter().map(String::as_str))
        .collect();
    assert_eq!(
        grants,
        vec![
            r#"GRANT USAGE ON SCHEMA "shop" TO "app""#,
            r#"GRANT SELECT, INSERT, UPDATE ON "shop"."orders" TO "app""#,
            r#"GRANT USAGE ON ALL SEQUENCES IN SCHEMA "shop" TO "app""#,
            r#"GRANT USAGE ON SCHEMA "shop" TO "reporting""#,
            r#"GRANT SELECT ON "shop"."customers" TO "reporting""#,
            r#"GRANT SELECT ON "shop"."orders" TO "reporting""#,
            r#"GRANT SELECT ON "shop"."order_totals" TO "reporting""#,
            r#"ALTER DEFAULT PRIVILEGES IN SCHEMA "shop" GRANT SELECT ON TABLES TO "reporting""#,
        ]
    );
    assert_eq!(
        keys.last().map(String::as_str),
        Some("grant:reporting.future_tables")
    );
    // Unchanged: nothing to do.
    let same = pkg(&with_grants(reader_grants()), "postgres");
    assert!(plan(Some(&same), &same, &ds("postgres"))
        .expect("plan")
        .steps
        .is_empty());
    // A grant removed is revoked; a view created again is granted again.
    let mut fewer = reader_grants();
    fewer.as_array_mut().expect("grants").remove(2);
    let mut b = with_grants(fewer);
    b["views"][0]["query"] =
        json!("SELECT customer_id, max(total) AS total FROM orders GROUP BY customer_id");
    let p = plan(Some(&same), &pkg(&b, "postgres"), &ds("postgres")).expect("plan");
    assert_eq!(
        kinds(&p),
        vec![
            "checkRoles:app.reporting",
            "dropView:order_totals",
            "createView:order_totals",
            "revoke:app.orders",
            "grant:reporting.order_totals"
        ]
    );
    assert_eq!(
        p.steps[3].sql,
        vec![r#"REVOKE SELECT, INSERT, UPDATE ON "shop"."orders" FROM "app""#]
    );
    // Snowflake: ROLE, object kinds, FUTURE grants, SHOW GRANTS as the role check.
    let p = plan(
        None,
        &pkg(&with_grants(reader_grants()), "snowflake"),
        &ds("snowflake"),
    )
    .expect("plan");
    let sql: Vec<&str> = p
        .steps
        .iter()
        .filter(|s| matches!(s.kind.as_str(), "grant" | "checkRoles"))
        .flat_map(|s| s.sql.iter().map(String::as_str))
        .collect();
    assert_eq!(
        sql,
        vec![
            r#"SHOW GRANTS TO ROLE "APP""#,
            r#"SHOW GRANTS TO ROLE "REPORTING""#,
            r#"GRANT USAGE ON SCHEMA "SHOP" TO ROLE "APP""#,
            r#"GRANT SELECT, INSERT, UPDATE ON TABLE "SHOP"."ORDERS" TO ROLE "APP""#,
            r#"GRANT USAGE ON ALL SEQUENCES IN SCHEMA "SHOP" TO ROLE "APP""#,
            r#"GRANT USAGE ON SCHEMA "SHOP" TO ROLE "REPORTING""#,
            r#"GRANT SELECT ON TABLE "SHOP"."CUSTOMERS" TO ROLE "REPORTING""#,
            r#"GRANT SELECT ON TABLE "SHOP"."ORDERS" TO ROLE "REPORTING""#,
            r#"GRANT SELECT ON VIEW "SHOP"."ORDER_TOTALS" TO ROLE "REPORTING""#,
            r#"GRANT SELECT ON FUTURE TABLES IN SCHEMA "SHOP" TO ROLE "REPORTING""#,
        ]
    );
}

// ---- golden plans for the kinds plan cases cannot hold (materialized views and
// grants are refused on SQLite, and every plan case must be valid on every engine) ---

mod common;

/// Every view and grant step kind in one evolution: a materialized view refreshed and
/// another created, a view renamed and one recreated, a comment changed, grants revoked
/// and granted after the role check.
fn every_kind() -> (Value, Value) {
    let a = json!({"namespace": "dogs", "tables": tables(), "views": [
        {"name": "status_counts", "materialized": true, "query": "SELECT status, count(*) AS n FROM orders GROUP BY status"},
        {"name": "emails", "query": "SELECT email FROM customers", "comment": "old"},
        {"name": "totals", "query": "SELECT customer_id, total FROM orders"}
    ], "grants": [
        {"role": "reporting", "privileges": ["select"], "on": {"views": "all"}},
        {"role": "app", "privileges": ["select", "insert"], "on": {"tables": "all"}, "future": true}
    ]});
    let mut t = tables();
    t[1]["columns"][2] = json!({"name": "total", "type": "decimal", "precision": 14, "scale": 2});
    let b = json!({"namespace": "dogs", "tables": t, "views": [
        {"name": "status_counts", "materialized": true, "query": "SELECT status, count(*) AS n FROM orders GROUP BY status"},
        {"name": "customer_emails", "renamedFrom": "emails", "query": "SELECT email FROM customers", "comment": "new"},
        {"name": "totals", "query": "SELECT customer_id, total FROM orders"},
        {"name": "big_totals", "materialized": true, "query": "SELECT customer_id, total FROM orders WHERE total > 100"}
    ], "grants": [
        {"role": "reporting", "privileges": ["select"], "on": {"views": "all"}},
        {"role": "app", "privileges": ["select"], "on": {"tables": "all"}}
    ]});
    (a, b)
}

#[test]
fn materialized_views_and_grants_golden_plans() {
    let (a, b) = every_kind();
    for e in ["postgres", "snowflake"] {
        let ds = common::strict_dataset(e);
        let p = plan(Some(&pkg(&a, e)), &pkg(&b, e), &ds).expect("plan");
        insta::assert_snapshot!(format!("materialized_and_grants_{e}"), common::render(&p));
        let fresh = plan(None, &pkg(&b, e), &ds).expect("plan");
        insta::assert_snapshot!(
            format!("materialized_and_grants_fresh_{e}"),
            common::render(&fresh)
        );
    }
}

/// `plan --format text` shows every new kind with its sign and flags.
#[test]
fn plan_text_shows_view_and_grant_steps() {
    let (a, b) = every_kind();
    let ds = common::strict_dataset("postgres");
    let p = plan(Some(&pkg(&a, "postgres")), &pkg(&b, "postgres"), &ds).expect("plan");
    let text = depot_migrate_core::summary::plan_text(&p, &ds);
    insta::assert_snapshot!("plan_text_views_and_grants", text);
    for kind in [
        "checkRoles:",
        "dropView:totals",
        "renameView:customer_emails",
        "commentView:customer_emails",
        "createView:totals",
        "createMaterializedView:big_totals",
        "refreshMaterializedView:status_counts",
        "revoke:app.",
        "grant:reporting.totals",
    ] {
        assert!(text.contains(kind), "{kind} missing:\n{text}");
    }
}
