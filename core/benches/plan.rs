//! Planner throughput: `plan(A, B)` for 10,000 tables × 20 columns with 10% of the
//! tables changed, against the version hashes of the same inputs (goal: under 1 s
//! native and at most 5× the hashes). Prints `RATIO plan/hash = X.XX`.
//!
//! `cargo bench -p depot-migrate-core --bench plan`; in criterion's test mode
//! (`cargo test --benches`) it uses 200 tables and checks the plan's shape.

use criterion::Criterion;
use depot_migrate_core::{load, plan::plan, version_hash, Package};
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::{Duration, Instant};

const TYPES: &[&str] = &[
    "bigint",
    "string",
    "int",
    "double",
    "boolean",
    "date",
    "timestamptz",
    "uuid",
];

fn table(i: usize, changed: bool) -> Value {
    let mut cols = vec![json!({"name": "id", "type": "bigint", "nullable": false})];
    for c in 1..20 {
        let t = TYPES[(i + c) % TYPES.len()];
        let mut col = json!({"name": format!("col_{c}"), "type": t});
        if t == "string" {
            col["maxLength"] = json!(if changed && c == 1 { 400 } else { 200 });
        }
        if c % 5 == 0 {
            col["comment"] = json!(format!("column {c} of table {i}"));
        }
        cols.push(col);
    }
    if changed {
        // One added column, one renamed column, one dropped column, a new index.
        cols.pop();
        cols.push(json!({"name": "added", "type": "string", "default": "x", "nullable": false}));
        cols[2] = json!({"name": "renamed_2", "type": cols[2]["type"], "renamedFrom": "col_2", "maxLength": cols[2].get("maxLength")});
    }
    let mut t = json!({"name": format!("table_{i}"), "columns": cols, "primaryKey": ["id"]});
    if changed {
        t["indexes"] = json!([{"name": format!("table_{i}_added_idx"), "columns": ["added"]}]);
    }
    t
}

fn packages(tables: usize) -> (Package, Package) {
    let a = json!({"namespace": "bench", "tables": (0..tables).map(|i| table(i, false)).collect::<Vec<_>>()});
    let b = json!({"namespace": "bench", "tables": (0..tables).map(|i| table(i, i % 10 == 0)).collect::<Vec<_>>()});
    let parse = |v: &Value| {
        load::parse_package(v.to_string().as_bytes(), None).expect("generated package is valid")
    };
    (parse(&a), parse(&b))
}

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes neither (or --test).
    let has = |flag: &str| std::env::args().any(|a| a == flag);
    let test_mode = has("--test") || !has("--bench");
    let tables = if test_mode { 200 } else { 10_000 };
    let (a, b) = packages(tables);
    let ds = load::parse_dataset(
        br#"{"environmentId":"e","datasetId":"d","engine":"postgres","schema":"bench"}"#,
    )
    .expect("dataset");
    let p = plan(Some(&a), &b, &ds).expect("plan");
    // 10% of the tables change: each gets a type change, a rename, an added and a
    // dropped column and a new index.
    let changed = tables / 10;
    assert_eq!(
        p.steps.iter().filter(|s| s.kind == "renameColumn").count(),
        changed
    );
    assert_eq!(
        p.steps.iter().filter(|s| s.kind == "createIndex").count(),
        changed
    );
    assert_eq!(
        p.steps.iter().filter(|s| s.kind == "dropColumn").count(),
        changed
    );
    assert!(plan(Some(&b), &b, &ds).expect("plan").steps.is_empty());

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    c.bench_function("plan_10pct_changed", |bench| {
        bench.iter(|| plan(Some(black_box(&a)), black_box(&b), &ds))
    });
    c.bench_function("version_hash_both", |bench| {
        bench.iter(|| {
            (
                version_hash(black_box(&a), &ds),
                version_hash(black_box(&b), &ds),
            )
        })
    });
    c.final_summary();

    let runs = if test_mode { 3 } else { 11 };
    let plan_t = median(
        || {
            black_box(plan(Some(&a), &b, &ds).expect("plan"));
        },
        runs,
    );
    let hash_t = median(
        || {
            black_box((version_hash(&a, &ds), version_hash(&b, &ds)));
        },
        runs,
    );
    println!(
        "plan of {tables} tables x 20 columns, {changed} changed ({} steps): {:.1} ms; version hashes of both: {:.1} ms",
        p.steps.len(),
        plan_t.as_secs_f64() * 1e3,
        hash_t.as_secs_f64() * 1e3
    );
    println!(
        "RATIO plan/hash = {:.2} (goal <= 5.0; plan goal < 1000 ms)",
        plan_t.as_secs_f64() / hash_t.as_secs_f64()
    );
}
