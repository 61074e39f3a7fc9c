//! The planner's correctness criterion on real databases: applying `plan(None, A)` then
//! `plan(A, B)` leaves the same catalog as a fresh `plan(None, B)` (tables, columns,
//! types, nullability, defaults, primary keys, unique constraints, indexes, comments;
//! column order may differ). Runs against the real PostgreSQL that `scripts/test.sh`
//! starts (`DEPOT_TEST_PG_URL`) and against SQLite, over hand-written evolutions and
//! over random package pairs.

use depot_migrate_core::{load, plan::plan, DatasetConfig, Package};
use proptest::prelude::*;
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

fn pg_url() -> String {
    std::env::var("DEPOT_TEST_PG_URL").expect(
        "DEPOT_TEST_PG_URL is not set: run the tests through scripts/test.sh, which starts a throwaway PostgreSQL",
    )
}

fn pg_catalog(client: &mut postgres::Client, schema: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let q = |client: &mut postgres::Client, sql: &str| {
        client.query(sql, &[&schema]).expect("catalog query")
    };
    for r in q(client, "SELECT c.relname::text, coalesce(obj_description(c.oid, 'pg_class'), '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'") {
        out.insert(format!("table {} comment={:?}", r.get::<_, String>(0), r.get::<_, String>(1)));
    }
    for r in q(client, "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), ''), coalesce(col_description(c.oid, a.attnum), '') FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped") {
        out.insert(format!(
            "column {}.{} {} notnull={} default={:?} comment={:?}",
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2),
            r.get::<_, bool>(3),
            r.get::<_, String>(4),
            r.get::<_, String>(5)
        ));
    }
    for r in q(client, "SELECT c.relname::text, k.conname::text, pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1") {
        out.insert(format!(
            "constraint {}.{} {}",
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2)
        ));
    }
    // Identity columns and their sequences (kind, type, start, increment).
    for r in q(client, "SELECT c.relname::text, a.attname::text, a.attidentity::text, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_depend dep ON dep.refobjid = c.oid AND dep.refobjsubid = a.attnum AND dep.deptype = 'i' AND dep.classid = 'pg_class'::regclass JOIN pg_sequence s ON s.seqrelid = dep.objid WHERE n.nspname = $1 AND a.attidentity <> ''") {
        out.insert(format!(
            "identity {}.{} {} {} start={} increment={}",
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2),
            r.get::<_, String>(3),
            r.get::<_, i64>(4),
            r.get::<_, i64>(5)
        ));
    }
    // Enum types with their values in order (and any other type left in the schema).
    for r in q(client, "SELECT t.typname::text, t.typtype::text, coalesce((SELECT string_agg(e.enumlabel::text, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '') FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typtype <> 'c' AND t.typcategory <> 'A'") {
        out.insert(format!(
            "type {} kind={} values={}",
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2)
        ));
    }
    for r in q(
        client,
        "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = $1",
    ) {
        out.insert(format!(
            "index {} {}",
            r.get::<_, String>(0),
            r.get::<_, String>(1)
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

fn statements(p: &depot_migrate_core::plan::Plan) -> Vec<String> {
    p.steps.iter().flat_map(|s| s.sql.clone()).collect()
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

fn check_pg(
    client: &mut postgres::Client,
    schema: &str,
    a: &Value,
    b: &Value,
) -> Result<(), String> {
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
    diff(&migrated, &fresh, &step.sql_script())
}

fn sqlite_catalog(conn: &rusqlite::Connection) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    for t in &tables {
        out.insert(format!("table {t}"));
        // Each column definition and table constraint as stored (checks, enum CHECKs,
        // foreign keys with their actions, unique constraints), in any order.
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [t],
                |r| r.get(0),
            )
            .expect("table sql");
        for part in definition_parts(&sql) {
            // SQLite never reports a primary key's constraint name, and a renamed table
            // keeps the old one (docs/service-schemas.md): compare the key without it.
            let part = match part.split_once(" PRIMARY KEY ") {
                Some((name, cols)) if name.starts_with("CONSTRAINT ") => {
                    format!("PRIMARY KEY {cols}")
                }
                _ => part,
            };
            out.insert(format!("definition {t}: {part}"));
        }
        let mut st = conn
            .prepare(&format!("SELECT name, type, \"notnull\", coalesce(dflt_value, ''), pk FROM pragma_table_info('{t}')"))
            .expect("prepare");
        let rows = st
            .query_map([], |r| {
                Ok(format!(
                    "column {t}.{} {} notnull={} default={:?} pk={}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?
                ))
            })
            .expect("query");
        for r in rows {
            out.insert(r.expect("row"));
        }
        let mut st = conn
            .prepare(&format!(
                "SELECT name, \"unique\", origin FROM pragma_index_list('{t}')"
            ))
            .expect("prepare");
        let idx: Vec<(String, i64, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect();
        for (name, unique, origin) in idx {
            let mut st = conn
                .prepare(&format!(
                    "SELECT coalesce(name, '') FROM pragma_index_info('{name}') ORDER BY seqno"
                ))
                .expect("prepare");
            let cols: Vec<String> = st
                .query_map([], |r| r.get(0))
                .expect("query")
                .map(|r| r.expect("row"))
                .collect();
            // The definition as the engine keeps it (partial and expression indexes:
            // the key columns above are NULL for an expression), for created indexes.
            let definition: Option<String> = if origin == "c" {
                conn.query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    [&name],
                    |r| r.get(0),
                )
                .expect("index sql")
            } else {
                None
            };
            // Automatic index names (sqlite_autoindex_T_N) depend on creation history.
            let shown = if origin == "c" { name } else { origin.clone() };
            out.insert(format!(
                "index {t}.{shown} unique={unique} ({}) {}",
                cols.join(","),
                definition.unwrap_or_default()
            ));
        }
    }
    out
}

/// The comma-separated parts of a `CREATE TABLE` body (outside parentheses and quotes).
fn definition_parts(sql: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (sql.find('('), sql.rfind(')')) else {
        return vec![sql.to_string()];
    };
    let body = &sql[open + 1..close];
    let (mut parts, mut cur, mut depth, mut quote) = (Vec::new(), String::new(), 0, None);
    for ch in body.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    parts.push(cur.trim().to_string());
    parts
}

fn sqlite_apply(conn: &mut rusqlite::Connection, sql: &[String]) -> Result<(), String> {
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    for s in sql {
        tx.execute_batch(s).map_err(|e| format!("{e}\n{s}"))?;
    }
    tx.commit().map_err(|e| e.to_string())
}

/// An in-memory database as the SQLite store opens one: foreign keys off (the bundled
/// SQLite turns them on by default).
fn sqlite_memory() -> rusqlite::Connection {
    let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .expect("pragma");
    conn
}

fn check_sqlite(a: &Value, b: &Value) -> Result<(), String> {
    let ds = dataset("sqlite", "main");
    let (pa, pb) = (package(a), package(b));
    let mut m = sqlite_memory();
    sqlite_apply(
        &mut m,
        &statements(&plan(None, &pa, &ds).map_err(|e| format!("{e:?}"))?),
    )?;
    let step = plan(Some(&pa), &pb, &ds).map_err(|e| format!("{e:?}"))?;
    sqlite_apply(&mut m, &statements(&step))
        .map_err(|e| format!("plan(A,B) failed: {e}\nplan: {}", step.sql_script()))?;
    let mut f = sqlite_memory();
    sqlite_apply(
        &mut f,
        &statements(&plan(None, &pb, &ds).map_err(|e| format!("{e:?}"))?),
    )?;
    diff(&sqlite_catalog(&m), &sqlite_catalog(&f), &step.sql_script())
}

fn examples(f: &str) -> Value {
    let path = format!("{}/../examples/{f}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("example")).expect("json")
}

/// Hand-written evolutions: (name, A, B).
fn evolutions() -> Vec<(&'static str, Value, Value)> {
    let dog = |cols: Value, extra: Value| {
        let mut t = json!({"name": "dog", "columns": cols, "primaryKey": ["id"]});
        for (k, v) in extra.as_object().expect("obj") {
            t[k] = v.clone();
        }
        json!({"namespace": "dogs", "tables": [t]})
    };
    let id = json!({"name": "id", "type": "bigint", "nullable": false});
    let name = json!({"name": "name", "type": "string", "maxLength": 200, "nullable": false});
    let weight = json!({"name": "weight", "type": "decimal", "precision": 10, "scale": 2});
    let owner = json!({"name": "owner_name", "type": "string"});
    let base_cols = json!([id, name, weight, owner]);
    let v1 = dog(base_cols.clone(), json!({}));
    vec![
        (
            "examples v1 -> v2",
            examples("dogs.v1.package.json"),
            examples("dogs.v2.package.json"),
        ),
        (
            "examples v2 -> v3",
            examples("dogs.v2.package.json"),
            examples("dogs.v3.package.json"),
        ),
        (
            "examples v1 -> v3",
            examples("dogs.v1.package.json"),
            examples("dogs.v3.package.json"),
        ),
        (
            "add nullable column",
            v1.clone(),
            dog(
                json!([id, name, weight, owner, {"name": "active", "type": "boolean", "default": true}]),
                json!({}),
            ),
        ),
        (
            "add not-null column with default",
            v1.clone(),
            dog(
                json!([id, name, weight, owner, {"name": "born", "type": "date", "nullable": false, "default": "2020-01-01"}]),
                json!({}),
            ),
        ),
        (
            "drop column",
            v1.clone(),
            dog(json!([id, name, owner]), json!({})),
        ),
        (
            "rename column",
            v1.clone(),
            dog(
                json!([id, name, weight, {"name": "owner", "type": "string", "renamedFrom": ["owner_nm", "owner_name"]}]),
                json!({}),
            ),
        ),
        (
            "widen and narrow types",
            v1.clone(),
            dog(
                json!([id, {"name": "name", "type": "string", "maxLength": 100, "nullable": false}, {"name": "weight", "type": "decimal", "precision": 12, "scale": 3}, {"name": "owner_name", "type": "string", "maxLength": 50}]),
                json!({}),
            ),
        ),
        (
            "type change with default",
            dog(
                json!([id, {"name": "n", "type": "int", "default": 5}]),
                json!({}),
            ),
            dog(
                json!([id, {"name": "n", "type": "bigint", "default": 7}]),
                json!({}),
            ),
        ),
        (
            "type change drops default",
            dog(
                json!([id, {"name": "n", "type": "int", "default": 5}]),
                json!({}),
            ),
            dog(json!([id, {"name": "n", "type": "string"}]), json!({})),
        ),
        (
            "nullability both ways",
            dog(
                json!([id, {"name": "a", "type": "string", "default": "x"}, {"name": "b", "type": "int", "nullable": false}]),
                json!({}),
            ),
            dog(
                json!([id, {"name": "a", "type": "string", "default": "x", "nullable": false}, {"name": "b", "type": "int"}]),
                json!({}),
            ),
        ),
        (
            "defaults change",
            dog(
                json!([id, {"name": "a", "type": "string", "default": "x"}, {"name": "b", "type": "double"}]),
                json!({}),
            ),
            dog(
                json!([id, {"name": "a", "type": "string"}, {"name": "b", "type": "double", "default": 0.5}]),
                json!({}),
            ),
        ),
        (
            "rename table with primary key and index",
            dog(
                base_cols.clone(),
                json!({"indexes": [{"name": "dog_name_idx", "columns": ["name"]}]}),
            ),
            json!({"namespace": "dogs", "tables": [{"name": "hound", "renamedFrom": "dog", "columns": base_cols.clone(), "primaryKey": ["id"], "indexes": [{"name": "dog_name_idx", "columns": ["name"]}]}]}),
        ),
        (
            "primary key change",
            dog(
                json!([id, {"name": "code", "type": "string", "maxLength": 10, "nullable": false}]),
                json!({}),
            ),
            json!({"namespace": "dogs", "tables": [{"name": "dog", "columns": [id, {"name": "code", "type": "string", "maxLength": 10, "nullable": false}], "primaryKey": ["code"]}]}),
        ),
        (
            "index changes",
            dog(
                base_cols.clone(),
                json!({"indexes": [{"name": "i1", "columns": ["name"]}, {"name": "i2", "columns": ["weight"]}]}),
            ),
            dog(
                base_cols.clone(),
                json!({"indexes": [{"name": "i1", "columns": ["name", "weight"]}, {"name": "i3", "columns": ["owner_name"], "unique": true}]}),
            ),
        ),
        (
            "comments",
            dog(base_cols.clone(), json!({"comment": "old"})),
            dog(
                json!([id, {"name": "name", "type": "string", "maxLength": 200, "nullable": false, "comment": "it's a name"}, weight, owner]),
                json!({}),
            ),
        ),
        (
            "drop and create tables",
            v1.clone(),
            json!({"namespace": "dogs", "tables": [{"name": "cat", "columns": [{"name": "id", "type": "uuid"}], "primaryKey": ["id"]}]}),
        ),
        (
            "renamed column in index and key",
            dog(
                base_cols.clone(),
                json!({"indexes": [{"name": "i1", "columns": ["owner_name"]}]}),
            ),
            json!({"namespace": "dogs", "tables": [{"name": "dog", "columns": [{"name": "dog_id", "type": "bigint", "nullable": false, "renamedFrom": "id"}, name, {"name": "owner", "type": "string", "renamedFrom": "owner_name"}], "primaryKey": ["dog_id"], "indexes": [{"name": "i1", "columns": ["owner"]}]}]}),
        ),
    ]
}

#[test]
fn hand_written_evolutions_converge_on_postgres() {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    let mut failures = Vec::new();
    for (name, a, b) in evolutions() {
        if let Err(e) = check_pg(&mut client, "conv_hand", &a, &b) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn hand_written_evolutions_converge_on_sqlite() {
    let mut failures = Vec::new();
    for (name, a, b) in evolutions() {
        if let Err(e) = check_sqlite(&a, &b) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---- random pairs -------------------------------------------------------------------

const TYPES: &[(&str, Option<u32>)] = &[
    ("string", Some(20)),
    ("string", Some(40)),
    ("string", None),
    ("int", None),
    ("bigint", None),
    ("decimal", Some(10)),
    ("double", None),
    ("boolean", None),
    ("date", None),
    ("timestamp", None),
    ("timestamptz", None),
    ("uuid", None),
    ("smallint", None),
    ("real", None),
    ("time", None),
    ("char", Some(3)),
    ("array", None),
    ("enum", None),
    ("json", None),
    ("jsonText", None),
];

fn default_for(t: &str) -> Value {
    match t {
        "string" => json!("d"),
        "int" | "bigint" => json!(3),
        "decimal" => json!("1.5"),
        "double" => json!(2.5),
        "boolean" => json!(false),
        "date" => json!("2024-01-02"),
        "timestamp" => json!("2024-01-02T03:04:05"),
        "timestamptz" => json!("2024-01-02T03:04:05Z"),
        "smallint" => json!(2),
        "real" => json!(0.5),
        "time" => json!("08:30:00"),
        "char" => json!("abc"),
        // Always a value of the generated enum.
        "enum" => json!("a"),
        "json" | "jsonText" => json!("{\"k\": [1, 2]}"),
        _ => json!("123e4567-e89b-12d3-a456-426614174000"),
    }
}

#[derive(Debug, Clone)]
struct ColGen {
    ty: usize,
    nullable: bool,
    default: bool,
    comment: bool,
}

fn column(name: &str, g: &ColGen) -> Value {
    let (t, size) = TYPES[g.ty % TYPES.len()];
    let ty = if t == "jsonText" { "json" } else { t };
    let mut c = json!({"name": name, "type": ty, "nullable": g.nullable});
    match (t, size) {
        ("string" | "char", Some(n)) => c["maxLength"] = json!(n),
        ("array", _) => c["items"] = json!(if g.comment { "string" } else { "int" }),
        ("enum", _) => c["enum"] = json!("st"),
        ("jsonText", _) => c["jsonStorage"] = json!("text"),
        ("decimal", Some(p)) => {
            c["precision"] = json!(p);
            c["scale"] = json!(2);
        }
        _ => {}
    }
    // A function default instead of the literal one where the type has one.
    let function = match t {
        "timestamp" | "timestamptz" => Some("now"),
        "date" => Some("currentDate"),
        _ => None,
    };
    if g.default && t != "array" {
        c["default"] = match function.filter(|_| g.nullable) {
            Some(f) => json!({"function": f}),
            None => default_for(t),
        };
    }
    if g.comment {
        c["comment"] = json!(format!("about {name}"));
    }
    c
}

fn colgen() -> impl Strategy<Value = ColGen> {
    (0..TYPES.len(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(ty, nullable, default, comment)| ColGen {
            ty,
            nullable,
            default,
            comment,
        },
    )
}

fn table_value(
    name: &str,
    cols: &[(String, ColGen)],
    index_on: Option<usize>,
    renamed_from: Option<&str>,
) -> Value {
    let mut columns = vec![json!({"name": "id", "type": "bigint", "nullable": false})];
    for (n, g) in cols {
        columns.push(column(n, g));
    }
    let mut t = json!({"name": name, "columns": columns, "primaryKey": ["id"]});
    let indexable =
        |g: &ColGen| !matches!(TYPES[g.ty % TYPES.len()].0, "json" | "jsonText" | "array");
    if let Some(i) = index_on.filter(|&i| i < cols.len() && indexable(&cols[i].1)) {
        t["indexes"] = json!([{"name": format!("{name}_ix"), "columns": [cols[i].0]}]);
    }
    if let Some(r) = renamed_from {
        t["renamedFrom"] = json!(r);
    }
    t
}

prop_compose! {
    fn pair()(
        a_cols in prop::collection::vec(colgen(), 1..5),
        changes in prop::collection::vec((0usize..6, colgen()), 0..5),
        a_index in prop::option::of(0usize..5),
        b_index in prop::option::of(0usize..5),
        rename_table in any::<bool>(),
        extra_table in any::<bool>(),
        members in prop::collection::vec(any::<bool>(), 10),
        enum_a in Just(vec!["b", "c", "d"]).prop_shuffle(),
        enum_b in Just(vec!["b", "c", "d"]).prop_shuffle(),
        enum_len in (0usize..4, 0usize..4),
    ) -> (Value, Value) {
        let a: Vec<(String, ColGen)> = a_cols.iter().enumerate().map(|(i, g)| (format!("c{i}"), g.clone())).collect();
        let mut b = a.clone();
        let mut renames: Vec<(String, String)> = Vec::new();
        let mut next = a.len();
        for (op, g) in changes {
            match op {
                0 => { b.push((format!("c{next}"), g)); next += 1; }
                1 if b.len() > 1 => { b.remove(0); }
                2 if !b.is_empty() => { let k = b.len() - 1; b[k].1 = g; }
                3 if !b.is_empty() => {
                    let old = b[0].0.clone();
                    if a.iter().any(|(n, _)| *n == old) && !renames.iter().any(|(o, _)| *o == old) {
                        let new = format!("r{next}");
                        next += 1;
                        renames.push((old, new.clone()));
                        b[0].0 = new;
                    }
                }
                4 if !b.is_empty() => { b[0].1.nullable = !b[0].1.nullable; }
                _ => { if let Some(x) = b.last_mut() { x.1.default = !x.1.default; x.1.comment = !x.1.comment; } }
            }
        }
        let mut tb = table_value(if rename_table { "t_new" } else { "t" }, &b, b_index, rename_table.then_some("t"));
        for (old, new) in &renames {
            for c in tb["columns"].as_array_mut().expect("cols") {
                if c["name"] == json!(new) { c["renamedFrom"] = json!(old); }
            }
        }
        let mut ta = table_value("t", &a, a_index, None);
        // Service-schema members, each present or not in A and in B: identity on the
        // key, a check, a unique constraint, a foreign key from the extra table.
        let add_members = |t: &mut Value, m: &[bool]| {
            if m[0] {
                t["columns"][0] = json!({"name": "id", "type": "bigint", "identity": "byDefault"});
            }
            if m[1] {
                t["checks"] = json!([{"name": "t_id_nonneg", "expression": if m[3] { "id >= 0" } else { "id > -1" }}]);
            }
            if m[2] {
                t["uniqueConstraints"] = json!([{"name": "t_id_key", "columns": ["id"]}]);
            }
        };
        add_members(&mut ta, &members[0..4]);
        add_members(&mut tb, &members[4..8]);
        let bname = tb["name"].clone();
        let mut btables = vec![tb];
        if extra_table {
            let mut u = table_value("u", &[("x".to_string(), ColGen { ty: 0, nullable: true, default: false, comment: false })], Some(0), None);
            if members[8] {
                u["columns"].as_array_mut().expect("cols").push(json!({"name": "t_id", "type": "bigint"}));
                u["foreignKeys"] = json!([{"name": "u_t_fk", "columns": ["t_id"], "references": {"table": bname, "columns": ["id"]}, "onDelete": if members[9] { "cascade" } else { "setNull" }}]);
            }
            btables.push(u);
        }
        let values = |rest: &[&str], n: usize| {
            let mut v = vec!["a"];
            v.extend(rest.iter().take(n));
            json!([{"name": "st", "values": v}])
        };
        (
            json!({"namespace": "ns", "enums": values(&enum_a, enum_len.0), "tables": [ta]}),
            json!({"namespace": "ns", "enums": values(&enum_b, enum_len.1), "tables": btables}),
        )
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_pairs_converge_on_sqlite((a, b) in pair()) {
        let r = check_sqlite(&a, &b);
        prop_assert!(r.is_ok(), "{}\nA={a}\nB={b}", r.err().unwrap_or_default());
    }

    #[test]
    fn random_pairs_converge_on_postgres((a, b) in pair()) {
        let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls).expect("connect to the test PostgreSQL");
        let r = check_pg(&mut client, "conv_random", &a, &b);
        prop_assert!(r.is_ok(), "{}\nA={a}\nB={b}", r.err().unwrap_or_default());
    }

    #[test]
    fn plan_of_a_package_to_itself_is_empty_and_plans_are_deterministic((a, b) in pair()) {
        for engine in ["postgres", "sqlite", "snowflake", "aurora-postgresql"] {
            let ds = dataset(engine, "conv");
            let (pa, pb) = (package(&a), package(&b));
            // Snowflake has no checks (DM2024) and cannot change an identity or add a
            // function default to an existing table (DM2025): those are refused, with
            // nothing else.
            let refused = |r: &Result<depot_migrate_core::plan::Plan, depot_migrate_core::Invalid>| {
                engine == "snowflake"
                    && r.as_ref().err().is_some_and(|e| {
                        e.problems.iter().all(|p| matches!(p.code.as_str(), "DM2024" | "DM2025"))
                    })
            };
            let same = plan(Some(&pa), &pa, &ds);
            prop_assert!(refused(&same) || same.expect("plan").steps.is_empty());
            let r1 = plan(Some(&pa), &pb, &ds);
            if refused(&r1) {
                continue;
            }
            let p1 = serde_json::to_string(&r1.expect("plan")).expect("json");
            let p2 = serde_json::to_string(&plan(Some(&pa), &pb, &ds).expect("plan")).expect("json");
            prop_assert_eq!(p1, p2);
        }
    }
}

// ---- data survives -------------------------------------------------------------------

/// A table rebuild on SQLite (type change, NOT NULL with a default, a renamed and a
/// dropped column) keeps every row, backfills NULLs with the default and casts values.
#[test]
fn sqlite_rebuild_keeps_rows_and_backfills_defaults() {
    let a = json!({"namespace": "n", "tables": [{"name": "dog", "primaryKey": ["id"], "indexes": [{"name": "dog_name_idx", "columns": ["name"]}], "columns": [
        {"name": "id", "type": "bigint", "nullable": false},
        {"name": "name", "type": "string"},
        {"name": "weight", "type": "int"},
        {"name": "owner_name", "type": "string"},
        {"name": "gone", "type": "string"}]}]});
    let b = json!({"namespace": "n", "tables": [{"name": "dog", "primaryKey": ["id"], "indexes": [{"name": "dog_name_idx", "columns": ["name"]}], "columns": [
        {"name": "id", "type": "bigint", "nullable": false},
        {"name": "name", "type": "string", "nullable": false, "default": "unnamed"},
        {"name": "weight", "type": "double"},
        {"name": "owner", "type": "string", "renamedFrom": "owner_name"}]}]});
    let ds = dataset("sqlite", "main");
    let (pa, pb) = (package(&a), package(&b));
    let mut conn = rusqlite::Connection::open_in_memory().expect("sqlite");
    sqlite_apply(&mut conn, &statements(&plan(None, &pa, &ds).expect("plan"))).expect("create");
    conn.execute_batch("INSERT INTO dog VALUES (1, 'rex', 12, 'ann', 'x'); INSERT INTO dog VALUES (2, NULL, 7, 'bob', 'y');").expect("rows");
    let p = plan(Some(&pa), &pb, &ds).expect("plan");
    assert!(
        p.steps.iter().any(|s| s.kind == "rebuildTable"),
        "{}",
        p.sql_script()
    );
    assert!(p.steps.iter().any(|s| s
        .destructive_changes
        .contains(&"dropColumn:dog.gone".to_string())));
    sqlite_apply(&mut conn, &statements(&p)).expect("migrate");
    let rows: Vec<(i64, String, f64, String)> = conn
        .prepare("SELECT id, name, weight, owner FROM dog ORDER BY id")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, "rex".into(), 12.0, "ann".into()),
            (2, "unnamed".into(), 7.0, "bob".into())
        ]
    );
    // The index came back with the rebuilt table.
    let idx: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_index_list('dog') WHERE name = 'dog_name_idx'",
            [],
            |r| r.get(0),
        )
        .expect("index");
    assert_eq!(idx, 1);
}

/// On Postgres, nullable -> NOT NULL with a default backfills existing NULLs with an
/// explicit UPDATE first; without a default the step is marked mayFail and, over NULLs,
/// fails and rolls back the whole transaction.
#[test]
fn postgres_not_null_backfills_or_fails_cleanly() {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    let schema = "conv_data";
    let ds = dataset("postgres", schema);
    let col = |extra: Value| {
        let mut c = json!({"name": "name", "type": "string"});
        for (k, v) in extra.as_object().expect("obj") {
            c[k] = v.clone();
        }
        package(
            &json!({"namespace": "n", "tables": [{"name": "dog", "primaryKey": ["id"], "columns": [{"name": "id", "type": "bigint"}, c]}]}),
        )
    };
    let (a, with_default, without_default) = (
        col(json!({})),
        col(json!({"nullable": false, "default": "unnamed"})),
        col(json!({"nullable": false})),
    );
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .expect("reset");
    pg_apply(
        &mut client,
        &statements(&plan(None, &a, &ds).expect("plan")),
    )
    .expect("create");
    client
        .batch_execute(&format!(
            "INSERT INTO {schema}.dog VALUES (1, 'rex'), (2, NULL)"
        ))
        .expect("rows");

    let failing = plan(Some(&a), &without_default, &ds).expect("plan");
    let step = failing
        .steps
        .iter()
        .find(|s| s.kind == "setNotNull")
        .expect("setNotNull step");
    assert!(
        step.may_fail,
        "SET NOT NULL without a default may fail: {step:?}"
    );
    let err = pg_apply(&mut client, &statements(&failing)).expect_err("NULLs present");
    assert!(err.contains("23502"), "not-null violation expected: {err}");
    let nulls: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM {schema}.dog WHERE name IS NULL"),
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(nulls, 1, "the failed plan rolled back");

    let backfill = plan(Some(&a), &with_default, &ds).expect("plan");
    let step = backfill
        .steps
        .iter()
        .find(|s| s.kind == "setNotNull")
        .expect("setNotNull step");
    assert!(
        step.sql[0].starts_with("UPDATE"),
        "backfill first: {:?}",
        step.sql
    );
    pg_apply(&mut client, &statements(&backfill)).expect("backfill and set not null");
    let names: Vec<String> = client
        .query(&format!("SELECT name FROM {schema}.dog ORDER BY id"), &[])
        .expect("rows")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, vec!["rex", "unnamed"]);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("cleanup");
}

// ---- service-schema members (Postgres): unique constraints, checks, foreign keys,
// function defaults ---------------------------------------------------------------

fn shop(tables: Value) -> Value {
    json!({"namespace": "shop", "tables": tables})
}

fn customers(extra: Value) -> Value {
    let mut t = json!({"name": "customers", "primaryKey": ["id"], "columns": [
        {"name": "id", "type": "bigint", "nullable": false},
        {"name": "email", "type": "string", "maxLength": 320, "nullable": false},
        {"name": "created_at", "type": "timestamptz", "nullable": false, "default": {"function": "now"}},
        {"name": "public_id", "type": "uuid", "default": {"function": "genRandomUuid"}}
    ]});
    for (k, v) in extra.as_object().expect("obj") {
        t[k] = v.clone();
    }
    t
}

fn orders(extra: Value) -> Value {
    let mut t = json!({"name": "orders", "primaryKey": ["id"], "columns": [
        {"name": "id", "type": "bigint", "nullable": false},
        {"name": "customer_id", "type": "bigint"},
        {"name": "amount", "type": "decimal", "precision": 12, "scale": 2, "nullable": false, "default": 0},
        {"name": "placed_on", "type": "date", "default": {"function": "currentDate"}}
    ]});
    for (k, v) in extra.as_object().expect("obj") {
        t[k] = v.clone();
    }
    t
}

fn fk(name: &str, on_delete: Option<&str>) -> Value {
    let mut f = json!({"name": name, "columns": ["customer_id"], "references": {"table": "customers", "columns": ["id"]}});
    if let Some(a) = on_delete {
        f["onDelete"] = json!(a);
    }
    f
}

fn service_evolutions() -> Vec<(&'static str, Value, Value)> {
    let orders_v = |v: &str| examples(&format!("orders/orders.{v}.package.json"));
    let base = shop(json!([customers(json!({})), orders(json!({}))]));
    let keyed = shop(json!([
        customers(
            json!({"uniqueConstraints": [{"name": "customers_email_key", "columns": ["email"]}],
                          "checks": [{"name": "customers_email_at", "expression": "email LIKE '%@%'"}]})
        ),
        orders(
            json!({"foreignKeys": [fk("orders_customer_fk", Some("cascade"))],
                       "checks": [{"name": "orders_amount_nonneg", "expression": "amount >= 0"}]})
        )
    ]));
    vec![
        (
            "examples/orders: empty to v1",
            json!({"namespace": "shop", "tables": []}),
            orders_v("v1"),
        ),
        ("examples/orders: v1 to v2", orders_v("v1"), orders_v("v2")),
        ("examples/orders: v2 to v3", orders_v("v2"), orders_v("v3")),
        (
            "add unique, checks and a foreign key",
            base.clone(),
            keyed.clone(),
        ),
        ("drop them again", keyed.clone(), base.clone()),
        (
            "change the foreign key's action and a check's expression",
            keyed.clone(),
            shop(json!([
                customers(
                    json!({"uniqueConstraints": [{"name": "customers_email_key", "columns": ["email"]}],
                                  "checks": [{"name": "customers_email_at", "expression": "email LIKE '%@%'"}]})
                ),
                orders(
                    json!({"foreignKeys": [fk("orders_customer_fk", Some("setNull"))],
                               "checks": [{"name": "orders_amount_nonneg", "expression": "amount BETWEEN 0 AND 1000000"}]})
                )
            ])),
        ),
        (
            "rename the foreign key and make it deferrable",
            keyed.clone(),
            shop(json!([
                customers(
                    json!({"uniqueConstraints": [{"name": "customers_email_key", "columns": ["email"]}],
                                  "checks": [{"name": "customers_email_at", "expression": "email LIKE '%@%'"}]})
                ),
                orders(
                    json!({"foreignKeys": [{"name": "orders_customer_ref", "columns": ["customer_id"], "references": {"table": "customers", "columns": ["id"]}, "deferrable": "initiallyDeferred"}],
                               "checks": [{"name": "orders_amount_nonneg", "expression": "amount >= 0"}]})
                )
            ])),
        ),
        (
            "foreign key to a unique constraint, referenced table renamed",
            shop(json!([
                customers(json!({"uniqueConstraints": [{"name": "customers_email_key", "columns": ["email"]}]})),
                {"name": "notes", "columns": [{"name": "email", "type": "string", "maxLength": 320}],
                 "foreignKeys": [{"name": "notes_email_fk", "columns": ["email"], "references": {"table": "customers", "columns": ["email"]}}]}
            ])),
            shop(json!([
                {"name": "clients", "renamedFrom": "customers", "primaryKey": ["id"], "columns": [
                    {"name": "id", "type": "bigint", "nullable": false},
                    {"name": "email", "type": "string", "maxLength": 320, "nullable": false},
                    {"name": "created_at", "type": "timestamptz", "nullable": false, "default": {"function": "now"}},
                    {"name": "public_id", "type": "uuid", "default": {"function": "genRandomUuid"}}],
                 "uniqueConstraints": [{"name": "customers_email_key", "columns": ["email"]}]},
                {"name": "notes", "columns": [{"name": "email", "type": "string", "maxLength": 320}],
                 "foreignKeys": [{"name": "notes_email_fk", "columns": ["email"], "references": {"table": "clients", "columns": ["email"]}}]}
            ])),
        ),
        (
            "referenced primary key changes type; check column renamed",
            keyed.clone(),
            shop(json!([
                customers(json!({"uniqueConstraints": [{"name": "customers_email_key", "columns": ["email"]}],
                                  "checks": [{"name": "customers_email_at", "expression": "email LIKE '%@%'"}]})),
                {"name": "orders", "primaryKey": ["id"], "columns": [
                    {"name": "id", "type": "bigint", "nullable": false},
                    {"name": "customer_id", "type": "bigint"},
                    {"name": "total", "type": "decimal", "precision": 14, "scale": 2, "nullable": false, "default": 0, "renamedFrom": "amount"},
                    {"name": "placed_on", "type": "date", "default": {"function": "currentDate"}}],
                 "foreignKeys": [fk("orders_customer_fk", Some("cascade"))],
                 "checks": [{"name": "orders_amount_nonneg", "expression": "total >= 0"}]}
            ])),
        ),
        (
            "drop the referenced table together with the referring key",
            keyed.clone(),
            shop(json!([orders(json!({}))])),
        ),
        (
            "function defaults added, changed and removed",
            shop(json!([orders(json!({}))])),
            shop(json!([{"name": "orders", "primaryKey": ["id"], "columns": [
                {"name": "id", "type": "bigint", "nullable": false},
                {"name": "customer_id", "type": "bigint"},
                {"name": "amount", "type": "decimal", "precision": 12, "scale": 2, "nullable": false, "default": 0},
                {"name": "placed_on", "type": "date"},
                {"name": "placed_at", "type": "timestamp", "default": {"function": "currentTimestamp"}}]}])),
        ),
    ]
}

#[test]
fn service_evolutions_converge_on_postgres() {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    let mut failures = Vec::new();
    for (name, a, b) in service_evolutions() {
        if let Err(e) = check_pg(&mut client, "conv_shop", &a, &b) {
            failures.push(format!("{name}: {e}"));
        }
        // And back again: every change is reversible in a later plan.
        if let Err(e) = check_pg(&mut client, "conv_shop", &b, &a) {
            failures.push(format!("{name} (reversed): {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn postgres_foreign_key_and_check_over_bad_rows_fail_cleanly() {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    let schema = "conv_fk_data";
    let ds = dataset("postgres", schema);
    let base = package(&shop(json!([customers(json!({})), orders(json!({}))])));
    let with_fk = package(&shop(json!([
        customers(json!({})),
        orders(json!({"foreignKeys": [fk("orders_customer_fk", None)]}))
    ])));
    let with_check = package(&shop(json!([
        customers(json!({})),
        orders(json!({"checks": [{"name": "orders_amount_small", "expression": "amount < 100"}]}))
    ])));
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .expect("reset");
    pg_apply(
        &mut client,
        &statements(&plan(None, &base, &ds).expect("plan")),
    )
    .expect("create");
    client
        .batch_execute(&format!(
            "INSERT INTO {schema}.customers (id, email) VALUES (1, 'a@x');
             INSERT INTO {schema}.orders (id, customer_id, amount) VALUES (10, 1, 5), (11, 99, 500)"
        ))
        .expect("rows, one orphan");
    // Function defaults filled the new rows.
    let (uuid_set, created_set): (bool, bool) = {
        let r = client
            .query_one(
                &format!(
                    "SELECT public_id IS NOT NULL, created_at IS NOT NULL FROM {schema}.customers"
                ),
                &[],
            )
            .expect("row");
        (r.get(0), r.get(1))
    };
    assert!(
        uuid_set && created_set,
        "now() and gen_random_uuid() defaults applied"
    );

    for (target, code) in [(&with_fk, "23503"), (&with_check, "23514")] {
        let p = plan(Some(&base), target, &ds).expect("plan");
        let kinds: Vec<&str> = p.steps.iter().map(|s| s.kind.as_str()).collect();
        let add = kinds
            .iter()
            .position(|k| *k == "addForeignKey" || *k == "addCheck")
            .expect("add step");
        assert_eq!(kinds.get(add + 1), Some(&"validateConstraint"), "{kinds:?}");
        assert!(
            p.steps[add].sql[0].ends_with("NOT VALID"),
            "{:?}",
            p.steps[add].sql
        );
        assert!(
            !p.steps[add].may_fail && p.steps[add + 1].may_fail,
            "validation is the step that may fail"
        );
        assert!(p.steps[add + 1]
            .locks
            .as_deref()
            .unwrap_or("")
            .starts_with("SHARE UPDATE EXCLUSIVE"));
        let err = pg_apply(&mut client, &statements(&p)).expect_err("bad row present");
        assert!(err.contains(code), "{code} expected: {err}");
        let constraints: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname = $1 AND k.contype IN ('f', 'c')",
                &[&schema],
            )
            .expect("count")
            .get(0);
        assert_eq!(constraints, 0, "the failed plan rolled back");
    }
    // Without the bad row both apply.
    client
        .batch_execute(&format!("DELETE FROM {schema}.orders WHERE id = 11"))
        .expect("fix data");
    pg_apply(
        &mut client,
        &statements(&plan(Some(&base), &with_fk, &ds).expect("plan")),
    )
    .expect("fk applies");
    let err = client
        .batch_execute(&format!(
            "INSERT INTO {schema}.orders (id, customer_id) VALUES (12, 42)"
        ))
        .expect_err("enforced");
    assert!(format!("{err:?}").contains("23503"), "{err:?}");
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("cleanup");
}

fn type_evolutions(postgres: bool) -> Vec<(&'static str, Value, Value)> {
    let t = |cols: Value| json!({"namespace": "n", "tables": [{"name": "m", "primaryKey": ["id"], "columns": cols}]});
    let id = json!({"name": "id", "type": "bigint", "nullable": false});
    let mut small = vec![
        id.clone(),
        json!({"name": "qty", "type": "smallint", "default": 1}),
        json!({"name": "ratio", "type": "real", "default": 0.5}),
        json!({"name": "at", "type": "time", "default": "08:30:00"}),
        json!({"name": "cc", "type": "char", "maxLength": 2, "default": "DE"}),
        json!({"name": "amount", "type": "numeric", "default": "12.50"}),
    ];
    let mut wide = vec![
        id.clone(),
        json!({"name": "qty", "type": "int", "default": 1}),
        json!({"name": "ratio", "type": "double", "default": 0.5}),
        json!({"name": "at", "type": "time", "nullable": false, "default": "09:00:00"}),
        json!({"name": "cc", "type": "char", "maxLength": 5, "default": "DE"}),
        json!({"name": "amount", "type": "decimal", "precision": 20, "scale": 4}),
    ];
    if postgres {
        small.push(json!({"name": "span", "type": "interval"}));
        small.push(json!({"name": "stamp", "type": "timestamptz", "default": {"function": "now"}}));
        wide.push(json!({"name": "span", "type": "string"}));
        wide.push(json!({"name": "stamp", "type": "timestamptz"}));
    }
    vec![
        (
            "add columns of the added types",
            t(json!([id.clone()])),
            t(json!(small.clone())),
        ),
        ("change the added types", t(json!(small)), t(json!(wide))),
    ]
}

#[test]
fn added_types_converge_on_postgres_and_sqlite() {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    let mut failures = Vec::new();
    for (name, a, b) in type_evolutions(true) {
        for (x, y, dir) in [(&a, &b, ""), (&b, &a, " (reversed)")] {
            if let Err(e) = check_pg(&mut client, "conv_types", x, y) {
                failures.push(format!("postgres {name}{dir}: {e}"));
            }
        }
    }
    for (name, a, b) in type_evolutions(false) {
        for (x, y, dir) in [(&a, &b, ""), (&b, &a, " (reversed)")] {
            if let Err(e) = check_sqlite(x, y) {
                failures.push(format!("sqlite {name}{dir}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn identity_evolutions() -> Vec<(&'static str, Value, Value)> {
    let t = |id: Value| json!({"namespace": "n", "tables": [{"name": "item", "primaryKey": ["id"], "columns": [id, {"name": "label", "type": "string"}]}]});
    let plain = t(json!({"name": "id", "type": "bigint", "nullable": false}));
    let by_default = t(json!({"name": "id", "type": "bigint", "identity": "byDefault"}));
    let always = t(
        json!({"name": "id", "type": "bigint", "identity": "always", "start": 100, "increment": 5}),
    );
    let int_always = t(json!({"name": "id", "type": "int", "identity": "always"}));
    vec![
        (
            "add identity to an existing column",
            plain.clone(),
            by_default.clone(),
        ),
        (
            "byDefault to always with start and increment",
            by_default.clone(),
            always.clone(),
        ),
        ("identity column changes type", always.clone(), int_always),
        (
            "new table with an identity column",
            json!({"namespace": "n", "tables": []}),
            always,
        ),
        (
            "with a nullable column made identity",
            t(json!({"name": "id", "type": "bigint"})),
            by_default,
        ),
    ]
}

#[test]
fn identity_evolutions_converge_on_postgres() {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    let mut failures = Vec::new();
    for (name, a, b) in identity_evolutions() {
        for (x, y, dir) in [(&a, &b, ""), (&b, &a, " (reversed)")] {
            if let Err(e) = check_pg(&mut client, "conv_ident", x, y) {
                failures.push(format!("{name}{dir}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn postgres_identity_continues_after_existing_rows() {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    let schema = "conv_ident_data";
    let ds = dataset("postgres", schema);
    let t = |id: Value| {
        package(
            &json!({"namespace": "n", "tables": [{"name": "item", "primaryKey": ["id"], "columns": [id, {"name": "label", "type": "string"}]}]}),
        )
    };
    let plain = t(json!({"name": "id", "type": "bigint", "nullable": false}));
    let ident = t(json!({"name": "id", "type": "bigint", "identity": "byDefault"}));
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .expect("reset");
    pg_apply(
        &mut client,
        &statements(&plan(None, &plain, &ds).expect("plan")),
    )
    .expect("create");
    client
        .batch_execute(&format!(
            "INSERT INTO {schema}.item VALUES (1, 'a'), (7, 'b'), (3, 'c')"
        ))
        .expect("rows");
    let p = plan(Some(&plain), &ident, &ds).expect("plan");
    assert!(
        p.steps
            .iter()
            .any(|s| s.kind == "addIdentity" && s.may_fail),
        "{}",
        p.sql_script()
    );
    pg_apply(&mut client, &statements(&p)).expect("add identity");
    let id: i64 = client
        .query_one(
            &format!("INSERT INTO {schema}.item (label) VALUES ('d') RETURNING id"),
            &[],
        )
        .expect("insert")
        .get(0);
    assert_eq!(
        id, 8,
        "the sequence continues after the largest existing id"
    );
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("cleanup");
}

// ---- enums, arrays and jsonStorage (Postgres) ----------------------------------------

fn enum_pkg(enums: Value, cols: Value, checks: Value) -> Value {
    let mut t = json!({"name": "orders", "primaryKey": ["id"], "columns": [{"name": "id", "type": "bigint", "nullable": false}]});
    for c in cols.as_array().expect("cols") {
        t["columns"].as_array_mut().expect("cols").push(c.clone());
    }
    if checks != json!(null) {
        t["checks"] = checks;
    }
    let mut p = json!({"namespace": "shop", "tables": [t]});
    if enums != json!(null) {
        p["enums"] = enums;
    }
    p
}

fn enum_evolutions() -> Vec<(&'static str, Value, Value)> {
    let status = |values: Value| json!([{"name": "order_status", "values": values}]);
    let col = |default: Option<&str>| {
        let mut c =
            json!({"name": "status", "type": "enum", "enum": "order_status", "nullable": false});
        if let Some(d) = default {
            c["default"] = json!(d);
        }
        c
    };
    let two = status(json!(["pending", "paid"]));
    let five = status(json!(["new", "pending", "on_hold", "paid", "shipped"]));
    vec![
        (
            "add an enum and a column of it",
            enum_pkg(json!(null), json!([]), json!(null)),
            enum_pkg(two.clone(), json!([col(Some("pending"))]), json!(null)),
        ),
        (
            "add values at the start, in the middle and at the end (reversed: removal)",
            enum_pkg(two.clone(), json!([col(Some("pending"))]), json!(null)),
            enum_pkg(five.clone(), json!([col(Some("pending"))]), json!(null)),
        ),
        (
            "reorder values",
            enum_pkg(two.clone(), json!([col(Some("paid"))]), json!(null)),
            enum_pkg(
                status(json!(["paid", "pending"])),
                json!([col(Some("paid"))]),
                json!(null),
            ),
        ),
        (
            "an added value used as the default at once",
            enum_pkg(two.clone(), json!([col(Some("pending"))]), json!(null)),
            enum_pkg(five.clone(), json!([col(Some("new"))]), json!(null)),
        ),
        (
            "rename the enum",
            enum_pkg(two.clone(), json!([col(Some("pending"))]), json!(null)),
            enum_pkg(
                json!([{"name": "state", "values": ["pending", "paid"], "renamedFrom": "order_status"}]),
                json!([{"name": "status", "type": "enum", "enum": "state", "nullable": false, "default": "pending"}]),
                json!(null),
            ),
        ),
        (
            "enum column becomes text",
            enum_pkg(two.clone(), json!([col(Some("pending"))]), json!(null)),
            enum_pkg(
                json!(null),
                json!([{"name": "status", "type": "string", "nullable": false, "default": "pending"}]),
                json!(null),
            ),
        ),
        (
            "a check over an enum column whose values change",
            enum_pkg(
                two.clone(),
                json!([col(None)]),
                json!([{"name": "orders_not_paid", "expression": "status <> 'paid'"}]),
            ),
            enum_pkg(
                status(json!(["paid", "pending", "void"])),
                json!([col(None)]),
                json!([{"name": "orders_not_paid", "expression": "status <> 'paid'"}]),
            ),
        ),
        (
            "a check that uses an added value",
            enum_pkg(two.clone(), json!([col(None)]), json!(null)),
            enum_pkg(
                five.clone(),
                json!([col(None)]),
                json!([{"name": "orders_not_new", "expression": "status <> 'new'"}]),
            ),
        ),
        (
            "two columns of one enum, one dropped",
            enum_pkg(
                two.clone(),
                json!([col(None), {"name": "previous", "type": "enum", "enum": "order_status"}]),
                json!(null),
            ),
            enum_pkg(
                status(json!(["paid"])),
                json!([{"name": "status", "type": "enum", "enum": "order_status", "nullable": false}]),
                json!(null),
            ),
        ),
        (
            "arrays added",
            enum_pkg(json!(null), json!([]), json!(null)),
            enum_pkg(
                json!(null),
                json!([
                    {"name": "tags", "type": "array", "items": "string"},
                    {"name": "codes", "type": "array", "items": "char", "maxLength": 3},
                    {"name": "qty", "type": "array", "items": "int", "nullable": false},
                    {"name": "ids", "type": "array", "items": "uuid"}
                ]),
                json!(null),
            ),
        ),
        (
            "array element types change",
            enum_pkg(
                json!(null),
                json!([
                    {"name": "tags", "type": "array", "items": "string", "maxLength": 10},
                    {"name": "qty", "type": "array", "items": "int"},
                    {"name": "at", "type": "array", "items": "date"}
                ]),
                json!(null),
            ),
            enum_pkg(
                json!(null),
                json!([
                    {"name": "tags", "type": "array", "items": "string"},
                    {"name": "qty", "type": "array", "items": "bigint"},
                    {"name": "at", "type": "array", "items": "timestamptz"}
                ]),
                json!(null),
            ),
        ),
        (
            "array becomes text",
            enum_pkg(
                json!(null),
                json!([{"name": "tags", "type": "array", "items": "string"}]),
                json!(null),
            ),
            enum_pkg(
                json!(null),
                json!([{"name": "tags", "type": "string"}]),
                json!(null),
            ),
        ),
        (
            "jsonb to json text and a json text column added",
            enum_pkg(
                json!(null),
                json!([{"name": "doc", "type": "json", "default": "{\"a\": 1}"}]),
                json!(null),
            ),
            enum_pkg(
                json!(null),
                json!([
                    {"name": "doc", "type": "json", "jsonStorage": "text", "default": "{\"a\": 1}"},
                    {"name": "raw", "type": "json", "jsonStorage": "text"}
                ]),
                json!(null),
            ),
        ),
        (
            "explicit jsonb is the default storage",
            enum_pkg(
                json!(null),
                json!([{"name": "doc", "type": "json"}]),
                json!(null),
            ),
            enum_pkg(
                json!(null),
                json!([{"name": "doc", "type": "json", "jsonStorage": "jsonb"}]),
                json!(null),
            ),
        ),
    ]
}

#[test]
fn enum_array_json_evolutions_converge_on_postgres() {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    let mut failures = Vec::new();
    for (name, a, b) in enum_evolutions() {
        for (x, y, dir) in [(&a, &b, ""), (&b, &a, " (reversed)")] {
            if let Err(e) = check_pg(&mut client, "conv_enum", x, y) {
                failures.push(format!("{name}{dir}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn postgres_enum_value_added_is_usable_and_removed_value_fails_cleanly() {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    let schema = "conv_enum_data";
    let ds = dataset("postgres", schema);
    let status = |values: Value| {
        package(&enum_pkg(
            json!([{"name": "order_status", "values": values}]),
            json!([{"name": "status", "type": "enum", "enum": "order_status", "nullable": false, "default": "pending"}]),
            json!(null),
        ))
    };
    let (v1, v2) = (
        status(json!(["pending", "paid"])),
        status(json!(["pending", "paid", "refunded"])),
    );
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .expect("reset");
    pg_apply(
        &mut client,
        &statements(&plan(None, &v1, &ds).expect("plan")),
    )
    .expect("create");
    client
        .batch_execute(&format!(
            "INSERT INTO {schema}.orders (id) VALUES (1); INSERT INTO {schema}.orders VALUES (2, 'paid')"
        ))
        .expect("rows");
    let p = plan(Some(&v1), &v2, &ds).expect("plan");
    let kinds: Vec<&str> = p.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, vec!["addEnumValue"], "{}", p.sql_script());
    assert!(!p.destructive);
    pg_apply(&mut client, &statements(&p)).expect("add value");
    client
        .batch_execute(&format!(
            "INSERT INTO {schema}.orders VALUES (3, 'refunded')"
        ))
        .expect("the added value is usable after the migration");
    // Removing a value that rows hold: a destructive rebuild that fails and rolls back.
    let p = plan(Some(&v2), &v1, &ds).expect("plan");
    let rebuild = p
        .steps
        .iter()
        .find(|s| s.kind == "rebuildEnum")
        .expect("rebuild step");
    assert!(rebuild.destructive && rebuild.may_fail, "{rebuild:?}");
    let err = pg_apply(&mut client, &statements(&p)).expect_err("a row holds the value");
    assert!(err.contains("22P02"), "invalid enum input expected: {err}");
    let values: String = client
        .query_one(
            "SELECT string_agg(e.enumlabel::text, ',' ORDER BY e.enumsortorder) FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1",
            &[&schema],
        )
        .expect("values")
        .get(0);
    assert_eq!(
        values, "pending,paid,refunded",
        "the failed plan rolled back"
    );
    client
        .batch_execute(&format!("DELETE FROM {schema}.orders WHERE id = 3"))
        .expect("fix data");
    pg_apply(&mut client, &statements(&p)).expect("rebuild without the value");
    let n: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM {schema}.orders WHERE status = 'paid'"),
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(n, 1, "rows kept their values through the rebuild");
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("cleanup");
}

// ---- the service-schema members on SQLite ---------------------------------------------

/// The package without what SQLite refuses by validation (no UUID generator).
fn for_sqlite(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, x)| {
                    !(k.as_str() == "default" && x.get("function") == Some(&json!("genRandomUuid")))
                })
                .map(|(k, x)| (k.clone(), for_sqlite(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(for_sqlite).collect()),
        other => other.clone(),
    }
}

fn sqlite_identity_evolutions() -> Vec<(&'static str, Value, Value)> {
    let t = |id: Value| json!({"namespace": "n", "tables": [{"name": "item", "primaryKey": ["id"], "columns": [id, {"name": "label", "type": "string"}]}]});
    let plain = t(json!({"name": "id", "type": "bigint", "nullable": false}));
    let ident = t(json!({"name": "id", "type": "bigint", "identity": "byDefault"}));
    vec![
        ("add identity to an existing column", plain, ident.clone()),
        (
            "new table with an identity column",
            json!({"namespace": "n", "tables": []}),
            ident.clone(),
        ),
        (
            "int identity becomes bigint identity",
            t(json!({"name": "id", "type": "int", "identity": "byDefault"})),
            ident,
        ),
    ]
}

#[test]
fn service_members_converge_on_sqlite() {
    let mut failures = Vec::new();
    let cases = service_evolutions()
        .into_iter()
        .chain(enum_evolutions())
        .chain(sqlite_identity_evolutions())
        .map(|(n, a, b)| (n, for_sqlite(&a), for_sqlite(&b)));
    for (name, a, b) in cases {
        for (x, y, dir) in [(&a, &b, ""), (&b, &a, " (reversed)")] {
            if let Err(e) = check_sqlite(x, y) {
                failures.push(format!("{name}{dir}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn sqlite_run(conn: &rusqlite::Connection, sql: &str) {
    conn.execute_batch(sql)
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

#[test]
fn sqlite_foreign_key_over_orphans_fails_cleanly_identity_continues_enum_value_usable() {
    let ds = dataset("sqlite", "main");
    let base = package(&for_sqlite(&shop(json!([
        customers(json!({})),
        orders(json!({}))
    ]))));
    let with_fk = package(&for_sqlite(&shop(json!([
        customers(json!({})),
        orders(json!({"foreignKeys": [fk("orders_customer_fk", None)]}))
    ]))));
    // The store's connection: foreign keys off (SQLite's default, which the store sets).
    let mut conn = sqlite_memory();
    sqlite_run(&conn, "PRAGMA foreign_keys = OFF");
    sqlite_apply(
        &mut conn,
        &statements(&plan(None, &base, &ds).expect("plan")),
    )
    .expect("create");
    sqlite_run(
        &conn,
        "INSERT INTO customers (id, email) VALUES (1, 'a@x');
         INSERT INTO orders (id, customer_id, amount) VALUES (10, 1, 5), (11, 99, 500)",
    );
    let created: String = conn
        .query_row("SELECT created_at FROM customers", [], |r| r.get(0))
        .expect("row");
    assert_eq!(
        created.len(),
        19,
        "CURRENT_TIMESTAMP filled the default: {created}"
    );
    let p = plan(Some(&base), &with_fk, &ds).expect("plan");
    let kinds: Vec<&str> = p.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["rebuildTable", "checkForeignKeys"],
        "{}",
        p.sql_script()
    );
    assert!(p.steps.iter().all(|s| s.may_fail), "{:?}", p.steps);
    let err = sqlite_apply(&mut conn, &statements(&p)).expect_err("an orphan row");
    assert!(err.contains("rows_break_a_foreign_key"), "{err}");
    let fks: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_foreign_key_list('orders')",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(fks, 0, "the failed plan rolled back");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 2, "rows untouched");
    sqlite_run(&conn, "DELETE FROM orders WHERE id = 11");
    sqlite_apply(&mut conn, &statements(&p)).expect("the key applies without the orphan");
    sqlite_run(&conn, "PRAGMA foreign_keys = ON");
    let err = conn
        .execute_batch("INSERT INTO orders (id, customer_id) VALUES (12, 42)")
        .expect_err("enforced where the application turns keys on");
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
    sqlite_run(&conn, "PRAGMA foreign_keys = OFF");

    // Identity added to a filled column continues after the largest value.
    let t = |id: Value, values: Value| {
        package(
            &json!({"namespace": "n", "enums": [{"name": "kind", "values": values}], "tables": [{"name": "item", "primaryKey": ["id"], "columns": [id, {"name": "k", "type": "enum", "enum": "kind"}]}]}),
        )
    };
    let plain = t(
        json!({"name": "id", "type": "bigint", "nullable": false}),
        json!(["a", "b"]),
    );
    let ident = t(
        json!({"name": "id", "type": "bigint", "identity": "byDefault"}),
        json!(["a", "b", "c"]),
    );
    let mut conn = sqlite_memory();
    sqlite_apply(
        &mut conn,
        &statements(&plan(None, &plain, &ds).expect("plan")),
    )
    .expect("create");
    sqlite_run(
        &conn,
        "INSERT INTO item VALUES (1, 'a'), (7, 'b'), (3, NULL)",
    );
    let err = conn
        .execute_batch("INSERT INTO item VALUES (8, 'c')")
        .expect_err("not a value yet");
    assert!(err.to_string().contains("CHECK"), "{err}");
    sqlite_apply(
        &mut conn,
        &statements(&plan(Some(&plain), &ident, &ds).expect("plan")),
    )
    .expect("migrate");
    let id: i64 = conn
        .query_row("INSERT INTO item (k) VALUES ('c') RETURNING id", [], |r| {
            r.get(0)
        })
        .expect("the added enum value is usable and the id generated");
    assert_eq!(id, 8, "the rowid continues after the largest existing id");
}

/// Index option evolutions (docs/indexes.md); `postgres` adds the Postgres-only options.
fn index_evolutions(postgres: bool) -> Vec<(&'static str, Value, Value)> {
    let t = |indexes: Value| {
        json!({"namespace": "n", "tables": [{"name": "accounts", "primaryKey": ["id"], "columns": [
            {"name": "id", "type": "bigint", "nullable": false},
            {"name": "email", "type": "string", "nullable": false},
            {"name": "deleted_at", "type": "timestamp"},
            {"name": "score", "type": "int"},
            {"name": "profile", "type": "json"}],
            "indexes": indexes}]})
    };
    let partial = json!({"name": "acc_email_live", "columns": [{"expression": "lower(email)"}],
        "unique": true, "where": "deleted_at IS NULL"});
    let ordered =
        json!({"name": "acc_score", "columns": [{"column": "score", "order": "desc"}, "id"]});
    let mut v = vec![
        (
            "add partial expression index",
            t(json!([])),
            t(json!([partial.clone()])),
        ),
        (
            "add ordered index",
            t(json!([])),
            t(json!([ordered.clone()])),
        ),
        (
            "change the where condition",
            t(json!([partial.clone()])),
            t(
                json!([{"name": "acc_email_live", "columns": [{"expression": "lower(email)"}],
                "unique": true, "where": "deleted_at IS NULL AND score > 0"}]),
            ),
        ),
        (
            "change the expression",
            t(json!([partial.clone()])),
            t(
                json!([{"name": "acc_email_live", "columns": [{"expression": "upper(email)"}],
                "unique": true, "where": "deleted_at IS NULL"}]),
            ),
        ),
        (
            "rename an index",
            t(json!([partial.clone()])),
            t(
                json!([{"name": "acc_email_alive", "renamedFrom": "acc_email_live",
                "columns": [{"expression": "lower(email)"}], "unique": true, "where": "deleted_at IS NULL"}]),
            ),
        ),
    ];
    if postgres {
        v.push((
            "nulls, include and methods",
            t(json!([ordered])),
            t(json!([
                {"name": "acc_score", "columns": [{"column": "score", "order": "desc", "nulls": "last"}, "id"], "include": ["email"]},
                {"name": "acc_profile", "columns": ["profile"], "method": "gin"},
                {"name": "acc_email_hash", "columns": ["email"], "method": "hash"},
                {"name": "acc_id_brin", "columns": ["id"], "method": "brin"}
            ])),
        ));
    }
    v
}

#[test]
fn index_options_converge_on_postgres_and_sqlite() {
    let mut client = postgres::Client::connect(&pg_url(), postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    let mut failures = Vec::new();
    for (name, a, b) in index_evolutions(true) {
        for (x, y, dir) in [(&a, &b, ""), (&b, &a, " (reversed)")] {
            if let Err(e) = check_pg(&mut client, "conv_indexes", x, y) {
                failures.push(format!("postgres {name}{dir}: {e}"));
            }
        }
    }
    for (name, a, b) in index_evolutions(false) {
        for (x, y, dir) in [(&a, &b, ""), (&b, &a, " (reversed)")] {
            if let Err(e) = check_sqlite(x, y) {
                failures.push(format!("sqlite {name}{dir}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---- inspect round trips (docs/adopt-and-drift.md) ----------------------------------

/// Every package of this file's corpora and of `examples/`, for an engine.
fn corpus(postgres: bool) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut add = |name: &str, list: Vec<(&'static str, Value, Value)>| {
        for (case, a, b) in list {
            out.push((format!("{name} {case} (A)"), a));
            out.push((format!("{name} {case} (B)"), b));
        }
    };
    add("evolutions", evolutions());
    add("types", type_evolutions(postgres));
    if postgres {
        add("service", service_evolutions());
        add("identity", identity_evolutions());
    }
    let dir = format!("{}/../examples", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .filter(|f| f.ends_with(".package.json"))
        .collect();
    files.sort();
    for f in files {
        out.push((f.clone(), examples(&f)));
    }
    out
}

/// `depot-migrate inspect` of a built database: the package it prints and its stderr.
fn inspect_cli(url: &str, schema: &str, namespace: &str) -> Result<(Package, String), String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_depot-migrate"))
        .args([
            "inspect",
            "--db",
            url,
            "--schema",
            schema,
            "--namespace",
            namespace,
        ])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if !out.status.success() {
        return Err(format!("inspect failed ({}): {stderr}", out.status));
    }
    let p = load::parse_package(&out.stdout, None).map_err(|e| format!("{e:?}"))?;
    Ok((p, stderr))
}

/// The round trip: the inspected package plans to nothing against P (and against the
/// form P reads back as), and equals that form member for member (so its hash too).
fn round_trip(ds: &DatasetConfig, p: &Package, got: &Package) -> Result<(), String> {
    use depot_migrate_core::inspect::normalize;
    let expected = normalize(ds.engine, p);
    let to_expected = plan(Some(got), &expected, ds).map_err(|e| format!("{e:?}"))?;
    if !to_expected.steps.is_empty() {
        return Err(format!(
            "plan(inspected, normalized P) is not empty:\n{}",
            to_expected.sql_script()
        ));
    }
    let to_p = plan(Some(got), p, ds).map_err(|e| format!("{e:?}"))?;
    if !to_p.steps.is_empty() {
        let keys: Vec<&str> = to_p.steps.iter().map(|s| s.key.as_str()).collect();
        // Only the forms normalize() documents may differ: a check re-printed by the
        // engine, a default the engine spells another way.
        if !keys.iter().all(|k| {
            k.starts_with("addCheck:")
                || k.starts_with("dropCheck:")
                || k.starts_with("validateConstraint:")
                || k.starts_with("setDefault:")
                || k.starts_with("rebuildTable:")
        }) {
            return Err(format!(
                "plan(inspected, P) has steps beyond the documented forms: {keys:?}\n{}",
                to_p.sql_script()
            ));
        }
    }
    let a = serde_json::to_value(got).map_err(|e| e.to_string())?;
    let b = serde_json::to_value(&expected).map_err(|e| e.to_string())?;
    if a != b {
        return Err(format!(
            "inspected package differs from normalized P:\ninspected: {a:#}\nexpected:  {b:#}"
        ));
    }
    if depot_migrate_core::version_hash(got, ds) != depot_migrate_core::version_hash(&expected, ds)
    {
        return Err("hashes differ".into());
    }
    Ok(())
}

#[test]
fn inspect_round_trips_on_postgres() {
    let url = pg_url();
    let mut client =
        postgres::Client::connect(&url, postgres::NoTls).expect("connect to the test PostgreSQL");
    let schema = "conv_inspect";
    let ds = dataset("postgres", schema);
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, v) in corpus(true) {
        let p = package(&v);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .expect("reset");
        let create = plan(None, &p, &ds).expect("plan");
        pg_apply(&mut client, &statements(&create)).expect("build");
        count += 1;
        match inspect_cli(&url, schema, &p.namespace) {
            Ok((got, stderr)) => {
                if stderr.lines().any(|l| !l.starts_with("note: ")) {
                    failures.push(format!("{name}: unexpected stderr: {stderr}"));
                }
                if let Err(e) = round_trip(&ds, &p, &got) {
                    failures.push(format!("{name}: {e}"));
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .expect("reset");
    assert!(count > 20, "the corpus has {count} packages");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn inspect_round_trips_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("depot-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ds = dataset("sqlite", "main");
    let mut failures = Vec::new();
    for (i, (name, v)) in corpus(false).into_iter().enumerate() {
        let p = package(&v);
        let file = dir.join(format!("p{i}.sqlite"));
        let mut conn = rusqlite::Connection::open(&file).expect("sqlite");
        sqlite_apply(&mut conn, &statements(&plan(None, &p, &ds).expect("plan"))).expect("build");
        drop(conn);
        let url = format!("sqlite:{}", file.display());
        match inspect_cli(&url, "main", &p.namespace) {
            Ok((got, stderr)) => {
                if stderr.lines().any(|l| !l.starts_with("note: ")) {
                    failures.push(format!("{name}: unexpected stderr: {stderr}"));
                }
                if let Err(e) = round_trip(&ds, &p, &got) {
                    failures.push(format!("{name}: {e}"));
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn inspect_lists_what_the_model_cannot_express_and_strict_refuses() {
    let url = pg_url();
    let mut client =
        postgres::Client::connect(&url, postgres::NoTls).expect("connect to the test PostgreSQL");
    client
        .batch_execute(
            "DROP SCHEMA IF EXISTS conv_extra CASCADE; CREATE SCHEMA conv_extra;
             CREATE TABLE conv_extra.t (id bigint PRIMARY KEY, p point, n text);
             CREATE FUNCTION conv_extra.f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
             CREATE TRIGGER trg BEFORE INSERT ON conv_extra.t FOR EACH ROW EXECUTE FUNCTION conv_extra.f();
             CREATE SEQUENCE conv_extra.loose;
             CREATE INDEX t_lower ON conv_extra.t (lower(n));",
        )
        .expect("build");
    let (got, stderr) = inspect_cli(&url, "conv_extra", "extra").expect("inspect");
    for line in [
        "not represented: column t.p: type point",
        "not represented: trigger t.trg:",
        "not represented: function f():",
        "not represented: sequence loose:",
        "not represented: index t_lower:",
    ] {
        assert!(stderr.contains(line), "{line} missing from:\n{stderr}");
    }
    let t = &got.tables[0];
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "n"]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_depot-migrate"))
        .args([
            "inspect",
            "--db",
            &url,
            "--schema",
            "conv_extra",
            "--strict",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty(), "nothing written with --strict");
    client
        .batch_execute("DROP SCHEMA conv_extra CASCADE")
        .expect("drop");
}
