//! Property tests: the version hash ignores member order, whitespace, null members and
//! rename hints; every generated valid package passes validation and the JSON Schema.

use depot_migrate_core::{load, version_hash};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const TYPES: &[&str] = &[
    "string",
    "int",
    "bigint",
    "decimal",
    "double",
    "boolean",
    "date",
    "timestamp",
    "timestamptz",
    "json",
    "uuid",
    "binary",
];

fn column(
    i: usize,
    type_idx: usize,
    nullable: Option<bool>,
    with_default: bool,
    comment: Option<String>,
) -> Value {
    let t = TYPES[type_idx % TYPES.len()];
    let mut c = Map::new();
    c.insert("name".into(), json!(format!("c{i}")));
    c.insert("type".into(), json!(t));
    if let Some(n) = nullable {
        c.insert("nullable".into(), json!(n));
    }
    match t {
        "string" => {
            c.insert("maxLength".into(), json!(20 + i));
        }
        "decimal" => {
            c.insert("precision".into(), json!(12));
            c.insert("scale".into(), json!(2));
        }
        _ => {}
    }
    if with_default {
        let d = match t {
            "string" => json!("x"),
            "int" => json!(-7),
            "bigint" => json!("9223372036854775807"),
            "decimal" => json!("1234.5"),
            "double" => json!(0.1),
            "boolean" => json!(true),
            "date" => json!("2024-02-29"),
            "timestamp" => json!("2024-01-01T00:00:00.5"),
            "timestamptz" => json!("2024-01-01T00:00:00Z"),
            "json" => json!("{\"a\": [1]}"),
            "uuid" => json!("123e4567-e89b-12d3-a456-426614174000"),
            _ => json!("cafe"),
        };
        c.insert("default".into(), d);
    }
    if let Some(text) = comment {
        c.insert("comment".into(), json!(text));
    }
    Value::Object(c)
}

prop_compose! {
    fn table(ti: usize)(
        cols in prop::collection::vec((0usize..12, prop::option::of(any::<bool>()), any::<bool>(), prop::option::of("\\PC{0,12}")), 1..6),
        with_pk in any::<bool>(),
        with_index in any::<bool>(),
    ) -> Value {
        let mut columns: Vec<Value> = cols.into_iter().enumerate()
            .map(|(i, (t, n, d, c))| column(i, t, n, d, c)).collect();
        let mut t = Map::new();
        t.insert("name".into(), json!(format!("t{ti}")));
        if with_pk {
            // c0 as key: never json, never nullable.
            columns[0]["type"] = json!("bigint");
            columns[0].as_object_mut().expect("obj").remove("maxLength");
            columns[0].as_object_mut().expect("obj").remove("precision");
            columns[0].as_object_mut().expect("obj").remove("scale");
            columns[0].as_object_mut().expect("obj").remove("default");
            columns[0]["nullable"] = json!(false);
            t.insert("primaryKey".into(), json!(["c0"]));
            if with_index {
                t.insert("indexes".into(), json!([{"name": format!("t{ti}_c0_idx"), "columns": ["c0"], "unique": true}]));
            }
        }
        t.insert("columns".into(), Value::Array(columns));
        Value::Object(t)
    }
}

fn package() -> impl Strategy<Value = Value> {
    (1usize..5)
        .prop_flat_map(|n| (0..n).map(table).collect::<Vec<_>>())
        .prop_map(|tables| json!({"namespace": "ns", "tables": tables}))
}

/// Writes JSON with members in reverse order and newlines/indentation, a different text
/// for the same value.
fn write_reversed(v: &Value, out: &mut String, depth: usize) {
    match v {
        Value::Object(m) => {
            out.push_str("{\n");
            let entries: Vec<_> = m.iter().rev().collect();
            for (i, (k, v)) in entries.iter().enumerate() {
                out.push_str(&"  ".repeat(depth + 1));
                out.push_str(&serde_json::to_string(k).expect("string"));
                out.push_str(" : ");
                write_reversed(v, out, depth + 1);
                if i + 1 < entries.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&"  ".repeat(depth));
            out.push('}');
        }
        Value::Array(a) => {
            out.push_str("[ ");
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(" ,\t");
                }
                write_reversed(x, out, depth + 1);
            }
            out.push_str(" ]");
        }
        other => out.push_str(&serde_json::to_string(other).expect("scalar")),
    }
}

/// Adds null members and rename hints everywhere they are allowed.
fn add_noise(pkg: &mut Value) {
    for t in pkg["tables"].as_array_mut().expect("tables") {
        t["comment"] = t.get("comment").cloned().unwrap_or(Value::Null);
        t["renamedFrom"] = json!(["old_table_name"]);
        for c in t["columns"].as_array_mut().expect("columns") {
            c["renamedFrom"] = json!("old_col");
            if c.get("comment").is_none() {
                c["comment"] = Value::Null;
            }
        }
    }
}

const DATASET: &str = r#"{"environmentId":"e2e404529091ed2","datasetId":"9afc0c483ed3","engine":"postgres","schema":"dogs"}"#;
const DATASET_OTHER_IGNORED: &str = r#"{"allowDestructive":["dropColumn:dog.weight"],"eventBusName":"other","migrationMode":"asynchronous","datasetAlias":"Other","schema":"dogs","engine":"postgres","datasetId":"9afc0c483ed3","environmentId":"e2e404529091ed2"}"#;

fn hash_of(pkg: &str, ds: &str) -> String {
    let d = load::parse_dataset(ds.as_bytes()).expect("dataset valid");
    let p = load::parse_package(pkg.as_bytes(), Some(d.engine))
        .unwrap_or_else(|e| panic!("{e:?}\n{pkg}"));
    version_hash(&p, &d).as_str().to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn hash_ignores_order_whitespace_nulls_hints_and_ignored_dataset_fields(pkg in package()) {
        let plain = serde_json::to_string(&pkg).expect("json");
        let base = hash_of(&plain, DATASET);
        let mut reversed = String::new();
        write_reversed(&pkg, &mut reversed, 0);
        prop_assert_eq!(&hash_of(&reversed, DATASET), &base);
        let mut noisy = pkg.clone();
        add_noise(&mut noisy);
        prop_assert_eq!(&hash_of(&serde_json::to_string(&noisy).expect("json"), DATASET), &base);
        prop_assert_eq!(&hash_of(&plain, DATASET_OTHER_IGNORED), &base);
        // ... but the schema is part of the hash.
        prop_assert_ne!(&hash_of(&plain, &DATASET.replace("\"dogs\"", "\"cats\"")), &base);
    }

    #[test]
    fn hash_equals_generic_jcs_of_the_document(pkg in package()) {
        let text = serde_json::to_string(&pkg).expect("json");
        let doc = json!({"dataset": {"environmentId": "e2e404529091ed2", "datasetId": "9afc0c483ed3", "engine": "postgres", "schema": "dogs"}, "package": pkg});
        let expected = depot_migrate_core::hash::sha256_hex(&depot_migrate_core::jcs::canonicalize(&doc));
        prop_assert_eq!(hash_of(&text, DATASET), expected);
    }

    #[test]
    fn a_changed_column_changes_the_hash(pkg in package()) {
        let base = hash_of(&serde_json::to_string(&pkg).expect("json"), DATASET);
        let mut changed = pkg.clone();
        let col = &mut changed["tables"][0]["columns"][0];
        col["comment"] = json!(format!("{}!", col.get("comment").and_then(Value::as_str).unwrap_or("")));
        prop_assert_ne!(hash_of(&serde_json::to_string(&changed).expect("json"), DATASET), base);
    }

    #[test]
    fn generated_packages_satisfy_the_json_schema(pkg in package()) {
        let schema = depot_migrate_core::schema::package();
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        prop_assert!(validator.is_valid(&pkg));
    }
}
