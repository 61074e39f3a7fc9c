//! Validation is linear in the input: the inputs that used to be quadratic (duplicate
//! checks over `renamedFrom` lists and primary-key/index column lists), each at two sizes
//! 4× apart. One criterion group, `validate_linear`, with `parse_package` +
//! `validate` + `plan` from an empty database for each case and size; after criterion a
//! timing loop prints `RATIO <case> 4x/1x = X.XX` (linear: about 4; quadratic: about
//! 16, which is what a regression shows).
//!
//! `cargo bench -p depot-migrate-core --bench validate`; in criterion's test mode
//! (`cargo test --benches`) the sizes are small and the run checks that every case is
//! valid and plans.

use criterion::{BenchmarkId, Criterion, Throughput};
use depot_migrate_core::{load, plan::plan};
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A package of one table whose `renamedFrom` list has `n` entries.
fn renamed_from(n: usize) -> Value {
    let hints: Vec<String> = (0..n).map(|i| format!("old_{i}")).collect();
    json!({"namespace": "b", "tables": [{"name": "t", "renamedFrom": hints,
        "columns": [{"name": "c", "type": "int", "renamedFrom": (0..n).map(|i| format!("c_{i}")).collect::<Vec<_>>()}]}]})
}

/// One table with `n` columns, all in the primary key and in one index.
fn wide_key(n: usize) -> Value {
    let cols: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("c{i}"), "type": "int", "nullable": false}))
        .collect();
    let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    json!({"namespace": "b", "tables": [{"name": "t", "columns": cols, "primaryKey": names,
        "indexes": [{"name": "t_all_idx", "columns": names}]}]})
}

/// A generator of one case's package.
type Case = (&'static str, fn(usize) -> Value);

fn run(bytes: &[u8], ds: &depot_migrate_core::DatasetConfig) {
    let pkg = load::parse_package(bytes, Some(ds.engine)).expect("valid");
    black_box(plan(None, &pkg, ds).expect("plans"));
}

fn main() {
    // The same rule criterion uses: `--test`, or no `--bench` (cargo test --benches).
    let has = |flag: &str| std::env::args().any(|a| a == flag);
    let test_mode = has("--test") || !has("--bench");
    let base = if test_mode { 500 } else { 25_000 };
    let ds = load::parse_dataset(
        br#"{"environmentId":"e","datasetId":"d","engine":"postgres","schema":"s"}"#,
    )
    .expect("dataset");
    let cases: [Case; 2] = [
        ("renamedFrom", renamed_from),
        ("primaryKeyAndIndex", wide_key),
    ];
    let inputs: Vec<(&str, usize, Vec<u8>)> = cases
        .iter()
        .flat_map(|(name, f)| {
            [base, base * 4]
                .into_iter()
                .map(move |n| (*name, n, f(n).to_string().into_bytes()))
        })
        .collect();
    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("validate_linear");
        g.sample_size(10).measurement_time(Duration::from_secs(3));
        for (name, n, bytes) in &inputs {
            g.throughput(Throughput::Bytes(bytes.len() as u64));
            g.bench_with_input(BenchmarkId::new(*name, n), bytes, |b, bytes| {
                b.iter(|| run(bytes, &ds))
            });
        }
        g.finish();
    }
    c.final_summary();
    let runs = if test_mode { 1 } else { 5 };
    let time = |bytes: &[u8]| {
        let mut v: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                run(bytes, &ds);
                t.elapsed()
            })
            .collect();
        v.sort();
        v[v.len() / 2]
    };
    for pair in inputs.chunks(2) {
        let (small, large) = (time(&pair[0].2), time(&pair[1].2));
        println!(
            "RATIO {} 4x/1x = {:.2} ({:?} for {}, {:?} for {})",
            pair[0].0,
            large.as_secs_f64() / small.as_secs_f64().max(1e-9),
            small,
            pair[0].1,
            large,
            pair[1].1
        );
    }
}
