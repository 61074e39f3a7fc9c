//! Views on real databases: applying `plan(None, A)` then `plan(A, B)` leaves the same
//! catalog as a fresh `plan(None, B)`, views included and compared as the engine reports
//! them (Postgres `pg_get_viewdef`, SQLite `sqlite_master.sql`, with each view's columns
//! and types), over evolutions that change what views read; plan(B, B) is empty; and the
//! rows a view shows survive the migration. Runs against the real PostgreSQL that
//! `scripts/with-services.sh` starts (`DEPOT_TEST_PG_URL`) and against SQLite.

use depot_migrate_core::{load, plan::plan, DatasetConfig, Package};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn dataset(engine: &str, schema: &str) -> DatasetConfig {
    load::parse_dataset(
        json!({"environmentId": "e", "datasetId": "d", "engine": engine, "schema": schema})
            .to_string()
            .as_bytes(),
    )
    .expect("dataset")
}

fn package(v: &Value) -> Package {
    load::parse_package(v.to_string().as_bytes(), None)
        .unwrap_or_else(|e| panic!("invalid test package: {e:?}\n{v}"))
}

fn pg() -> postgres::Client {
    let url = std::env::var("DEPOT_TEST_PG_URL").expect(
        "DEPOT_TEST_PG_URL is not set: run the tests through scripts/with-services.sh, which starts a throwaway PostgreSQL",
    );
    postgres::Client::connect(&url, postgres::NoTls).expect("connect")
}

fn statements(p: &depot_migrate_core::plan::Plan) -> Vec<String> {
    p.steps.iter().flat_map(|s| s.sql.clone()).collect()
}

/// Tables, columns, views (definition as the server prints it, kind, populated,
/// comment) and view columns of a schema.
fn pg_catalog(client: &mut postgres::Client, schema: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in client
        .query(
            "SELECT c.relname::text, c.relkind::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped",
            &[&schema],
        )
        .expect("columns")
    {
        out.insert(format!(
            "column {}({}).{} {} notnull={}",
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2),
            r.get::<_, String>(3),
            r.get::<_, bool>(4)
        ));
    }
    for r in client
        .query(
            "SELECT c.relname::text, c.relkind::text, pg_get_viewdef(c.oid, true), c.relispopulated, coalesce(obj_description(c.oid, 'pg_class'), '') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('v', 'm')",
            &[&schema],
        )
        .expect("views")
    {
        out.insert(format!(
            "view {} kind={} populated={} comment={:?} {}",
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, bool>(3),
            r.get::<_, String>(4),
            r.get::<_, String>(2).split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    out
}

fn pg_apply(client: &mut postgres::Client, sql: &[String]) -> Result<(), String> {
    let mut tx = client.transaction().map_err(|e| e.to_string())?;
    for s in sql {
        tx.batch_execute(s).map_err(|e| format!("{e:?}\n{s}"))?;
    }
    tx.commit().map_err(|e| e.to_string())
}

fn diff(migrated: &BTreeSet<String>, fresh: &BTreeSet<String>, script: &str) -> Result<(), String> {
    if migrated == fresh {
        return Ok(());
    }
    let only_m: Vec<_> = migrated.difference(fresh).collect();
    let only_f: Vec<_> = fresh.difference(migrated).collect();
    Err(format!(
        "catalogs differ\nonly after migration: {only_m:#?}\nonly when fresh: {only_f:#?}\nplan(A,B):\n{script}"
    ))
}

/// Applies A, inserts `rows` (SQL run after A), applies plan(A, B), compares with a fresh
/// B and returns the migrated catalog.
fn check_pg(
    client: &mut postgres::Client,
    schema: &str,
    a: &Value,
    b: &Value,
    rows: &str,
) -> Result<BTreeSet<String>, String> {
    let ds = dataset("postgres", schema);
    let (pa, pb) = (package(a), package(b));
    let reset = |client: &mut postgres::Client| {
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .expect("reset")
    };
    reset(client);
    pg_apply(
        client,
        &statements(&plan(None, &pa, &ds).map_err(|e| format!("{e:?}"))?),
    )?;
    if !rows.is_empty() {
        client
            .batch_execute(&rows.replace("{s}", schema))
            .map_err(|e| format!("rows: {e:?}"))?;
    }
    let step = plan(Some(&pa), &pb, &ds).map_err(|e| format!("{e:?}"))?;
    pg_apply(client, &statements(&step))
        .map_err(|e| format!("plan(A,B) failed: {e}\nplan: {}", step.sql_script()))?;
    let migrated = pg_catalog(client, schema);
    let again = plan(Some(&pb), &pb, &ds).map_err(|e| format!("{e:?}"))?;
    if !again.steps.is_empty() {
        return Err(format!("plan(B, B) is not empty: {}", again.sql_script()));
    }
    reset(client);
    pg_apply(
        client,
        &statements(&plan(None, &pb, &ds).map_err(|e| format!("{e:?}"))?),
    )?;
    let fresh = pg_catalog(client, schema);
    reset(client);
    diff(&migrated, &fresh, &step.sql_script())?;
    Ok(migrated)
}

fn sqlite_catalog(conn: &rusqlite::Connection) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let objects: Vec<(String, String, String)> = conn
        .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    for (kind, name, sql) in objects {
        if kind == "view" {
            out.insert(format!("view {name} {sql}"));
        } else {
            out.insert(format!("table {name}"));
        }
        let mut st = conn
            .prepare(&format!(
                "SELECT name, type, \"notnull\" FROM pragma_table_info('{name}')"
            ))
            .expect("prepare");
        for r in st
            .query_map([], |r| {
                Ok(format!(
                    "column {name}.{} {} notnull={}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?
                ))
            })
            .expect("query")
        {
            out.insert(r.expect("row"));
        }
    }
    out
}

fn sqlite_apply(conn: &mut rusqlite::Connection, sql: &[String]) -> Result<(), String> {
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    for s in sql {
        tx.execute_batch(s).map_err(|e| format!("{e}\n{s}"))?;
    }
    tx.commit().map_err(|e| e.to_string())
}

fn check_sqlite(a: &Value, b: &Value, rows: &str) -> Result<rusqlite::Connection, String> {
    let ds = dataset("sqlite", "main");
    let (pa, pb) = (package(a), package(b));
    let mut m = rusqlite::Connection::open_in_memory().expect("sqlite");
    sqlite_apply(
        &mut m,
        &statements(&plan(None, &pa, &ds).map_err(|e| format!("{e:?}"))?),
    )?;
    if !rows.is_empty() {
        m.execute_batch(&rows.replace("\"{s}\".", ""))
            .map_err(|e| format!("rows: {e}"))?;
    }
    let step = plan(Some(&pa), &pb, &ds).map_err(|e| format!("{e:?}"))?;
    sqlite_apply(&mut m, &statements(&step))
        .map_err(|e| format!("plan(A,B) failed: {e}\nplan: {}", step.sql_script()))?;
    let again = plan(Some(&pb), &pb, &ds).map_err(|e| format!("{e:?}"))?;
    if !again.steps.is_empty() {
        return Err(format!("plan(B, B) is not empty: {}", again.sql_script()));
    }
    let mut f = rusqlite::Connection::open_in_memory().expect("sqlite");
    sqlite_apply(
        &mut f,
        &statements(&plan(None, &pb, &ds).map_err(|e| format!("{e:?}"))?),
    )?;
    diff(&sqlite_catalog(&m), &sqlite_catalog(&f), &step.sql_script())?;
    Ok(m)
}

fn customers() -> Value {
    json!({"name": "customers", "primaryKey": ["id"], "columns": [
        {"name": "id", "type": "bigint", "nullable": false},
        {"name": "email", "type": "string", "maxLength": 200, "nullable": false}
    ]})
}

fn orders() -> Value {
    json!({"name": "orders", "primaryKey": ["id"], "columns": [
        {"name": "id", "type": "bigint", "nullable": false},
        {"name": "customer_id", "type": "bigint", "nullable": false},
        {"name": "total", "type": "decimal", "precision": 10, "scale": 2},
        {"name": "status", "type": "string", "maxLength": 20},
        {"name": "note", "type": "string"}
    ]})
}

fn shop(tables: Value, views: Value) -> Value {
    json!({"namespace": "shop", "tables": tables, "views": views})
}

const TOTALS: &str = "SELECT c.email, count(*) AS orders, sum(o.total) AS total FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.email";

fn reporting() -> Value {
    json!([
        {"name": "customer_totals", "query": TOTALS, "comment": "one row per customer"},
        {"name": "big_customers", "query": "SELECT email, total FROM customer_totals WHERE total > 100"},
        {"name": "open_orders", "query": "SELECT id, status AS state FROM orders WHERE status = 'open' OR status IS NULL"}
    ])
}

const ROWS: &str = "INSERT INTO \"{s}\".customers (id, email) VALUES (1, 'a@x'), (2, 'b@x'); \
    INSERT INTO \"{s}\".orders (id, customer_id, total, status) VALUES (1, 1, 80.00, 'open'), (2, 1, 50.00, 'paid'), (3, 2, 10.00, NULL);";

/// Evolutions that touch what views read: (name, A, B, postgres only).
fn evolutions() -> Vec<(&'static str, Value, Value, bool)> {
    let base = shop(json!([customers(), orders()]), reporting());
    let mut v = Vec::new();
    v.push((
        "add views",
        shop(json!([customers(), orders()]), json!([])),
        base.clone(),
        false,
    ));
    // Widen total: Postgres refuses ALTER TYPE under customer_totals (and big_customers
    // reads that); SQLite rebuilds orders.
    let mut o = orders();
    o["columns"][2] = json!({"name": "total", "type": "decimal", "precision": 14, "scale": 2});
    v.push((
        "type change under a view on a view",
        base.clone(),
        shop(json!([customers(), o]), reporting()),
        false,
    ));
    // status becomes NOT NULL with a default (SQLite: a table rebuild under open_orders).
    let mut o = orders();
    o["columns"][3] = json!({"name": "status", "type": "string", "maxLength": 20, "nullable": false, "default": "open"});
    v.push((
        "rebuild under a view",
        base.clone(),
        shop(json!([customers(), o]), reporting()),
        false,
    ));
    // Drop a column a view read; the view no longer reads it.
    let mut o = orders();
    o["columns"].as_array_mut().expect("cols").remove(3);
    let mut views = reporting();
    views[2]["query"] = json!("SELECT id, note AS state FROM orders");
    v.push((
        "drop a column a view read",
        base.clone(),
        shop(json!([customers(), o]), views),
        false,
    ));
    // Rename a column and a table the views read.
    let mut o = orders();
    o["columns"][2] = json!({"name": "amount", "type": "decimal", "precision": 10, "scale": 2, "renamedFrom": "total"});
    o["name"] = json!("purchases");
    o["renamedFrom"] = json!("orders");
    let views = json!([
        {"name": "customer_totals", "query": "SELECT c.email, count(*) AS orders, sum(o.amount) AS total FROM purchases o JOIN customers c ON c.id = o.customer_id GROUP BY c.email", "comment": "one row per customer"},
        {"name": "big_customers", "query": "SELECT email, total FROM customer_totals WHERE total > 100"},
        {"name": "open_orders", "query": "SELECT id, status AS state FROM purchases WHERE status = 'open' OR status IS NULL"}
    ]);
    v.push((
        "rename a table and a column views read",
        base.clone(),
        shop(json!([customers(), o]), views),
        false,
    ));
    // Rename a view (ALTER VIEW on Postgres; drop and create on SQLite), change another's
    // comment and columns, remove the third.
    let views = json!([
        {"name": "customer_summary", "renamedFrom": "customer_totals", "query": TOTALS, "comment": "per customer"},
        {"name": "big_customers", "query": "SELECT email, total FROM customer_summary WHERE total > 100", "columns": ["customer_email", "spent"]}
    ]);
    v.push((
        "rename, recomment, relist and remove views",
        base.clone(),
        shop(json!([customers(), orders()]), views),
        false,
    ));
    // Remove every view and the table they read.
    v.push((
        "drop the table and its views",
        base.clone(),
        shop(json!([customers()]), json!([])),
        false,
    ));
    // A set operation, CASE and functions.
    let views = json!([{"name": "contacts", "query": "SELECT lower(email) AS who, CASE WHEN id > 1 THEN 'new' ELSE 'old' END AS age FROM customers UNION SELECT coalesce(note, 'none'), status FROM orders ORDER BY who LIMIT 100"}]);
    v.push((
        "union view",
        shop(json!([customers(), orders()]), json!([])),
        shop(json!([customers(), orders()]), views),
        false,
    ));
    // Materialized views: kept over a changed table (refreshed), and created.
    let mat = |extra: Value| {
        let mut views = json!([
            {"name": "status_counts", "materialized": true, "query": "SELECT status, count(*) AS n FROM orders GROUP BY status", "comment": "refreshed by each migration of orders"}
        ]);
        if let Some(x) = extra.as_array() {
            views
                .as_array_mut()
                .expect("views")
                .extend(x.iter().cloned());
        }
        views
    };
    let mut o = orders();
    o["columns"][4] = json!({"name": "note", "type": "string", "comment": "free text"});
    v.push((
        "materialized view refreshed and created",
        shop(json!([customers(), orders()]), mat(json!([]))),
        shop(json!([customers(), o]), mat(json!([{"name": "status_totals", "materialized": true, "query": "SELECT s.status, s.n FROM status_counts s WHERE s.n > 0"}]))),
        true,
    ));
    let mut o = orders();
    o["columns"][3] = json!({"name": "status", "type": "string"});
    v.push((
        "type change under a materialized view",
        shop(json!([customers(), orders()]), mat(json!([]))),
        shop(json!([customers(), o]), mat(json!([]))),
        true,
    ));
    v
}

#[test]
fn view_evolutions_converge_on_postgres() {
    let mut client = pg();
    let mut failures = Vec::new();
    for (i, (name, a, b, _)) in evolutions().into_iter().enumerate() {
        let schema = format!("views_conv_{i}");
        if let Err(e) = check_pg(&mut client, &schema, &a, &b, ROWS) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn view_evolutions_converge_on_sqlite() {
    let mut failures = Vec::new();
    for (name, a, b, postgres_only) in evolutions() {
        if postgres_only {
            continue;
        }
        if let Err(e) = check_sqlite(&a, &b, ROWS) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The rows a view shows after a migration that dropped and recreated it.
#[test]
fn views_show_the_migrated_rows() {
    let (_, a, b, _) = evolutions().remove(1);
    let ds = dataset("postgres", "views_rows");
    let mut client = pg();
    client
        .batch_execute("DROP SCHEMA IF EXISTS views_rows CASCADE")
        .expect("reset");
    pg_apply(
        &mut client,
        &statements(&plan(None, &package(&a), &ds).expect("plan")),
    )
    .expect("A");
    client
        .batch_execute(&ROWS.replace("{s}", "views_rows"))
        .expect("rows");
    let step = plan(Some(&package(&a)), &package(&b), &ds).expect("plan");
    let kinds: Vec<&str> = step.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "dropView",
            "dropView",
            "alterColumnType",
            "createView",
            "createView"
        ]
    );
    pg_apply(&mut client, &statements(&step)).expect("A -> B");
    let rows: Vec<(String, i64, String)> = client
        .query(
            "SELECT email, orders, total::text FROM views_rows.customer_totals ORDER BY email",
            &[],
        )
        .expect("view")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("a@x".into(), 2, "130.00".into()),
            ("b@x".into(), 1, "10.00".into())
        ]
    );
    client
        .batch_execute("DROP SCHEMA views_rows CASCADE")
        .expect("cleanup");

    let (_, a, b, _) = evolutions().remove(2);
    let m = check_sqlite(&a, &b, ROWS).expect("sqlite");
    let states: Vec<(i64, String)> = m
        .prepare("SELECT id, state FROM open_orders ORDER BY id")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    // The rebuild backfilled the NULL status with the default 'open'.
    assert_eq!(
        states,
        vec![(1, "open".to_string()), (3, "open".to_string())]
    );
}

/// A materialized view kept over a table whose rows the migration changes is refreshed
/// by the plan: it shows the backfilled rows.
#[test]
fn postgres_materialized_view_is_refreshed_after_a_backfill() {
    let views = json!([{"name": "status_counts", "materialized": true, "query": "SELECT status, count(*) AS n FROM orders GROUP BY status"}]);
    let a = shop(json!([customers(), orders()]), views.clone());
    let mut o = orders();
    o["columns"][4] = json!({"name": "note", "type": "string", "nullable": false, "default": "-"});
    let b = shop(json!([customers(), o]), views);
    let ds = dataset("postgres", "views_refresh");
    let mut client = pg();
    client
        .batch_execute("DROP SCHEMA IF EXISTS views_refresh CASCADE")
        .expect("reset");
    pg_apply(
        &mut client,
        &statements(&plan(None, &package(&a), &ds).expect("plan")),
    )
    .expect("A");
    client
        .batch_execute(&ROWS.replace("{s}", "views_refresh"))
        .expect("rows");
    client
        .batch_execute("REFRESH MATERIALIZED VIEW views_refresh.status_counts; INSERT INTO views_refresh.orders (id, customer_id, status) VALUES (4, 2, 'paid')")
        .expect("refresh, then a row the view does not show yet");
    let step = plan(Some(&package(&a)), &package(&b), &ds).expect("plan");
    let last = step.steps.last().expect("steps");
    assert_eq!(last.key, "refreshMaterializedView:status_counts");
    assert_eq!(
        last.sql,
        vec![r#"REFRESH MATERIALIZED VIEW "views_refresh"."status_counts""#]
    );
    pg_apply(&mut client, &statements(&step)).expect("A -> B");
    let paid: i64 = client
        .query_one(
            "SELECT n FROM views_refresh.status_counts WHERE status = 'paid'",
            &[],
        )
        .expect("row")
        .get(0);
    assert_eq!(paid, 2, "the refresh step recomputed the view");
    client
        .batch_execute("DROP SCHEMA views_refresh CASCADE")
        .expect("cleanup");
}

// ---- grants (Postgres, with roles created by the test) ---------------------------

/// Privileges on the schema's objects and its default privileges, for the given roles.
fn pg_grants(client: &mut postgres::Client, schema: &str, roles: &[&str]) -> BTreeSet<String> {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    let mut out = BTreeSet::new();
    for r in client
        .query(
            "SELECT c.relname::text, c.relkind::text, g.rolname::text, a.privilege_type \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a JOIN pg_roles g ON g.oid = a.grantee \
             WHERE n.nspname = $1 AND g.rolname = ANY($2)",
            &[&schema, &roles],
        )
        .expect("grants")
    {
        out.insert(format!(
            "grant {}({}) {} {}",
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2),
            r.get::<_, String>(3)
        ));
    }
    for r in client
        .query(
            "SELECT g.rolname::text, a.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) a JOIN pg_roles g ON g.oid = a.grantee \
             WHERE n.nspname = $1 AND g.rolname = ANY($2)",
            &[&schema, &roles],
        )
        .expect("schema grants")
    {
        out.insert(format!("schema {} {}", r.get::<_, String>(0), r.get::<_, String>(1)));
    }
    for r in client
        .query(
            "SELECT d.defaclobjtype::text, g.rolname::text, a.privilege_type \
             FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a JOIN pg_roles g ON g.oid = a.grantee \
             WHERE n.nspname = $1 AND g.rolname = ANY($2)",
            &[&schema, &roles],
        )
        .expect("default privileges")
    {
        out.insert(format!(
            "default {} {} {}",
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2)
        ));
    }
    out
}

fn grants_shop(tables: Value, views: Value, grants: Value) -> Value {
    json!({"namespace": "shop", "tables": tables, "views": views, "grants": grants})
}

#[test]
fn grant_evolutions_converge_on_postgres_and_a_missing_role_changes_nothing() {
    let (reader, writer) = ("depot_views_reader", "depot_views_writer");
    let mut client = pg();
    for r in [reader, writer] {
        client
            .batch_execute(&format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{r}') THEN CREATE ROLE {r}; END IF; END $$"
            ))
            .expect("create role");
    }
    let read_all =
        json!({"role": reader, "privileges": ["select"], "on": {"tables": "all"}, "future": true});
    let read_views = json!({"role": reader, "privileges": ["select"], "on": {"views": "all"}});
    let write = json!({"role": writer, "privileges": ["select", "insert", "update", "delete"], "on": {"tables": ["orders"]}});
    let seqs = json!({"role": writer, "privileges": ["usage"], "on": {"sequences": "all"}});
    let mut ident = orders();
    ident["columns"][0] =
        json!({"name": "id", "type": "bigint", "nullable": false, "identity": "byDefault"});
    let base = grants_shop(
        json!([customers(), orders()]),
        reporting(),
        json!([read_all, read_views, write]),
    );
    let evolutions = vec![
        (
            "add grants",
            shop(json!([customers(), orders()]), reporting()),
            base.clone(),
        ),
        // A view created again loses its grants: the plan grants them again.
        ("recreated views are granted again", base.clone(), {
            let mut o = orders();
            o["columns"][2] =
                json!({"name": "total", "type": "decimal", "precision": 14, "scale": 2});
            grants_shop(
                json!([customers(), o]),
                reporting(),
                json!([read_all, read_views, write]),
            )
        }),
        // A new table is covered by "all"; a renamed one keeps its grants.
        ("new and renamed tables", base.clone(), {
            let mut o = orders();
            o["name"] = json!("purchases");
            o["renamedFrom"] = json!("orders");
            let extra = json!({"name": "refunds", "columns": [{"name": "id", "type": "bigint"}]});
            let w = json!({"role": writer, "privileges": ["select", "insert", "update", "delete"], "on": {"tables": ["purchases"]}});
            grants_shop(
                json!([customers(), o, extra]),
                json!([]),
                json!([read_all, w]),
            )
        }),
        // Fewer privileges and no default privileges: revoked.
        ("revokes", base.clone(), {
            let w = json!({"role": writer, "privileges": ["select"], "on": {"tables": ["orders"]}});
            let r =
                json!({"role": reader, "privileges": ["select"], "on": {"tables": ["customers"]}});
            grants_shop(json!([customers(), orders()]), reporting(), json!([r, w]))
        }),
        // An identity column added: its new sequence is covered by "all" sequences.
        (
            "sequences",
            grants_shop(json!([customers(), orders()]), json!([]), json!([seqs])),
            grants_shop(json!([customers(), ident]), json!([]), json!([seqs])),
        ),
    ];
    let mut failures = Vec::new();
    for (i, (name, a, b)) in evolutions.into_iter().enumerate() {
        let schema = format!("views_grants_{i}");
        let ds = dataset("postgres", &schema);
        let (pa, pb) = (package(&a), package(&b));
        let run = |client: &mut postgres::Client| -> Result<(), String> {
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .map_err(|e| e.to_string())?;
            pg_apply(
                client,
                &statements(&plan(None, &pa, &ds).map_err(|e| format!("{e:?}"))?),
            )?;
            let step = plan(Some(&pa), &pb, &ds).map_err(|e| format!("{e:?}"))?;
            pg_apply(client, &statements(&step))
                .map_err(|e| format!("plan(A,B): {e}\n{}", step.sql_script()))?;
            let migrated = pg_grants(client, &schema, &[reader, writer]);
            if !plan(Some(&pb), &pb, &ds)
                .map_err(|e| format!("{e:?}"))?
                .steps
                .is_empty()
            {
                return Err("plan(B, B) is not empty".into());
            }
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .map_err(|e| e.to_string())?;
            pg_apply(
                client,
                &statements(&plan(None, &pb, &ds).map_err(|e| format!("{e:?}"))?),
            )?;
            let fresh = pg_grants(client, &schema, &[reader, writer]);
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .map_err(|e| e.to_string())?;
            if fresh.is_empty() {
                return Err("no grants at all".into());
            }
            diff(&migrated, &fresh, &step.sql_script())
        };
        if let Err(e) = run(&mut client) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // A grant to a role that does not exist: the first step fails, naming it, and the
    // transaction leaves nothing behind.
    let ds = dataset("postgres", "views_grants_missing");
    client
        .batch_execute("DROP SCHEMA IF EXISTS views_grants_missing CASCADE")
        .expect("reset");
    let pkg = package(&grants_shop(
        json!([customers()]),
        json!([]),
        json!([{"role": "depot_views_nobody", "privileges": ["select"], "on": {"tables": "all"}}]),
    ));
    let p = plan(None, &pkg, &ds).expect("plan");
    assert_eq!(p.steps[0].kind, "checkRoles");
    let err = pg_apply(&mut client, &statements(&p)).expect_err("missing role");
    assert!(err.contains("depot_views_nobody do not exist"), "{err}");
    let schemas: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'views_grants_missing'",
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(schemas, 0, "nothing of the plan was applied");
}

/// The orders example's v4 (a reporting view and a read grant) on PostgreSQL: v3 then
/// v4 leaves the catalog and the grants a fresh v4 has, and the role reads the view.
#[test]
fn orders_example_v4_reporting_view_and_grant_on_postgres() {
    let example = |f: &str| -> Value {
        let path = format!("{}/../examples/orders/{f}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).expect("example")).expect("json")
    };
    let (v3, v4) = (
        example("orders.v3.package.json"),
        example("orders.v4.postgres.package.json"),
    );
    let mut client = pg();
    client
        .batch_execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reporting') THEN CREATE ROLE reporting; END IF; END $$")
        .expect("role");
    let migrated = check_pg(&mut client, "views_orders_v4", &v3, &v4, "").expect("v3 -> v4");
    assert!(
        migrated
            .iter()
            .any(|l| l.starts_with("view customer_order_totals kind=v")),
        "{migrated:#?}"
    );
    let ds = dataset("postgres", "views_orders_v4");
    client
        .batch_execute("DROP SCHEMA IF EXISTS views_orders_v4 CASCADE")
        .expect("reset");
    pg_apply(
        &mut client,
        &statements(&plan(None, &package(&v4), &ds).expect("plan")),
    )
    .expect("v4");
    assert_eq!(
        pg_grants(&mut client, "views_orders_v4", &["reporting"]),
        BTreeSet::from([
            "grant customer_order_totals(v) reporting SELECT".to_string(),
            "schema reporting USAGE".to_string()
        ])
    );
    client
        .batch_execute("INSERT INTO views_orders_v4.customers (email, name) VALUES ('a@x', 'A')")
        .expect("a customer");
    // The role reads the view (USAGE on the schema came with its grant), and only it.
    client
        .batch_execute("SET ROLE reporting")
        .expect("set role");
    let spent: Vec<(String, i64)> = client
        .query(
            "SELECT email, orders FROM views_orders_v4.customer_order_totals",
            &[],
        )
        .expect("reporting reads the view")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let table = client.query("SELECT * FROM views_orders_v4.customers", &[]);
    client.batch_execute("RESET ROLE").expect("reset role");
    assert_eq!(spent, vec![("a@x".to_string(), 0)]);
    assert!(table.is_err(), "reporting cannot read the table itself");
    client
        .batch_execute("DROP SCHEMA views_orders_v4 CASCADE")
        .expect("cleanup");
}
