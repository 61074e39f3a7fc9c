//! Version-hash throughput against plain SHA-256 of the same canonical bytes.
//!
//! The input is a generated, valid ~20 MB package written the way people write them
//! (`gen/mod.rs`). One criterion group, `version_hash`, with four benchmarks:
//!
//! - `baseline_sha256`: `sha2::Sha256` over the canonical bytes (what `sha256sum` of
//!   `depot-migrate hash --canonical` computes); throughput is the canonical size.
//! - `version_hash_end_to_end`: `parse_package` + `parse_dataset` + `version_hash` from
//!   the file bytes (validation included, the package dropped afterwards); throughput is
//!   the package file size.
//! - `parse_only`: `parse_package` + `parse_dataset`; throughput is the file size.
//! - `hash_from_model`: `version_hash` on the parsed model; throughput is the canonical
//!   size.
//!
//! After criterion, a simple interleaved timing loop in the same process prints the
//! medians and `RATIO hash/sha256 = X.XX (goal <= 3.0)` (end to end over baseline), so
//! a quick run prints the ratio too.
//!
//! Run it with `cargo bench -p depot-migrate-core --bench hash` (or `scripts/bench.sh`,
//! which also compares the CLI with the `sha256sum` command). In criterion's test mode
//! (`cargo test --benches`, `cargo bench -- --test`) the package is about 256 KB and
//! the run takes well under a second; it still checks that the version hash equals
//! SHA-256 of `canonical_hash_input`.
//!
//! Environment:
//! - `BENCH_PACKAGE_MB`: package size in MB (default 20, or 0.25 in test mode).
//! - `BENCH_TIMING_RUNS`: runs per measurement in the ratio loop (default 15, 3 in
//!   test mode).
//! - `BENCH_WRITE_DATA=1`: write `package.json`, `dataset.json`, `canonical.json` and
//!   `version-hash.txt` to `BENCH_DATA_DIR` (default `<workspace>/target/bench-data`).

#[path = "gen/mod.rs"]
mod generate;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use depot_migrate_core::{
    hash::canonical_hash_input, hash_files, load, validate, version_hash, Package,
};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SEED: u64 = 20_240_601;

fn env_f64(name: &str) -> Option<f64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

/// Median wall time of `runs` calls of each closure, interleaved so drift (frequency
/// scaling, the other core's load) hits them all alike.
fn medians(runs: usize, fs: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); fs.len()];
    for f in fs.iter_mut() {
        f(); // warm-up: page in the input, grow the allocator's arenas
    }
    for _ in 0..runs {
        for (f, t) in fs.iter_mut().zip(&mut times) {
            let start = Instant::now();
            f();
            t.push(start.elapsed());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_unstable();
            t[t.len() / 2]
        })
        .collect()
}

fn write_data(pkg: &[u8], ds: &[u8], canonical: &[u8], hash: &str) {
    let dir = std::env::var_os("BENCH_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench-data"))
        });
    std::fs::create_dir_all(&dir).expect("create the bench data directory");
    for (name, bytes) in [
        ("package.json", pkg),
        ("dataset.json", ds),
        ("canonical.json", canonical),
        ("version-hash.txt", hash.as_bytes()),
    ] {
        std::fs::write(dir.join(name), bytes).expect("write bench data");
    }
    eprintln!("bench data written to {}", dir.display());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    // The same rule criterion uses: `--test`, or no `--bench` (cargo test --benches).
    let test_mode = has("--test") || !has("--bench");
    let list_mode = has("--list");

    let target_mb = env_f64("BENCH_PACKAGE_MB").unwrap_or(if test_mode { 0.25 } else { 20.0 });
    let pkg_bytes = generate::package_json((target_mb * 1e6) as usize, SEED);
    let ds_bytes = generate::dataset_json();

    // Parse once: the inputs must be valid, and the hash must be SHA-256 of the
    // canonical bytes (the smoke test of `cargo test --benches`).
    let ds = load::parse_dataset(&ds_bytes).expect("generated dataset is valid");
    let pkg = match load::parse_package(&pkg_bytes, Some(ds.engine)) {
        Ok(p) => p,
        Err(e) => panic!(
            "generated package is invalid: {:?}",
            &e.problems[..e.problems.len().min(5)]
        ),
    };
    let canonical = canonical_hash_input(&pkg, &ds);
    let hash = version_hash(&pkg, &ds);
    assert_eq!(
        hash.as_str(),
        hex(&Sha256::digest(&canonical)),
        "version hash is SHA-256 of the canonical bytes"
    );
    assert_eq!(
        hash_files(&pkg_bytes, &ds_bytes).expect("hash_files accepts the generated files"),
        hash,
        "hash_files agrees with parse + version_hash"
    );
    let columns: usize = pkg.tables.iter().map(|t| t.columns.len()).sum();
    eprintln!(
        "package: {:.2} MB, {} tables, {} columns; canonical: {:.2} MB; hash {}",
        mb(pkg_bytes.len()),
        pkg.tables.len(),
        columns,
        mb(canonical.len()),
        hash
    );
    if std::env::var("BENCH_WRITE_DATA").is_ok_and(|v| v == "1") {
        write_data(&pkg_bytes, &ds_bytes, &canonical, hash.as_str());
    }

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    {
        let mut g = c.benchmark_group("version_hash");
        // Iterations take 10 to 400 ms: equal-sized samples, not criterion's linear ramp
        // (which would need 55 iterations for 10 samples).
        g.sampling_mode(SamplingMode::Flat);
        let file_len = pkg_bytes.len() as u64;
        let canon_len = canonical.len() as u64;

        g.throughput(Throughput::Bytes(canon_len));
        g.bench_function(BenchmarkId::from_parameter("baseline_sha256"), |b| {
            b.iter(|| Sha256::digest(black_box(&canonical)))
        });
        g.throughput(Throughput::Bytes(file_len));
        g.bench_function(
            BenchmarkId::from_parameter("version_hash_end_to_end"),
            |b| {
                b.iter(|| {
                    let ds = load::parse_dataset(black_box(&ds_bytes)).expect("valid");
                    let pkg =
                        load::parse_package(black_box(&pkg_bytes), Some(ds.engine)).expect("valid");
                    version_hash(&pkg, &ds)
                })
            },
        );
        g.bench_function(BenchmarkId::from_parameter("parse_only"), |b| {
            b.iter(|| {
                let ds = load::parse_dataset(black_box(&ds_bytes)).expect("valid");
                load::parse_package(black_box(&pkg_bytes), Some(ds.engine)).expect("valid")
            })
        });
        g.throughput(Throughput::Bytes(canon_len));
        g.bench_function(BenchmarkId::from_parameter("hash_from_model"), |b| {
            b.iter(|| version_hash(black_box(&pkg), black_box(&ds)))
        });
        g.finish();
    }
    c.final_summary();

    if list_mode {
        return;
    }
    let runs = env_f64("BENCH_TIMING_RUNS")
        .map_or(if test_mode { 3 } else { 15 }, |n| n.max(1.0) as usize);
    let engine = Some(ds.engine);
    let t = medians(
        runs,
        &mut [
            &mut || {
                black_box(Sha256::digest(black_box(&canonical)));
            },
            &mut || {
                let ds = load::parse_dataset(black_box(&ds_bytes)).expect("valid");
                let pkg =
                    load::parse_package(black_box(&pkg_bytes), Some(ds.engine)).expect("valid");
                black_box(version_hash(&pkg, &ds));
            },
            &mut || {
                let ds = load::parse_dataset(black_box(&ds_bytes)).expect("valid");
                let pkg = load::parse_package(black_box(&pkg_bytes), Some(ds.engine));
                black_box(pkg.expect("valid"));
            },
            &mut || {
                black_box(version_hash(black_box(&pkg), black_box(&ds)));
            },
            // The parts of parse_package: serde_json alone, serde_json with the path
            // tracking parse_package adds, and the semantic checks.
            &mut || {
                let p: Package = serde_json::from_slice(black_box(&pkg_bytes)).expect("valid");
                black_box(p);
            },
            &mut || {
                let mut de = serde_json::Deserializer::from_slice(black_box(&pkg_bytes));
                let p: Package = serde_path_to_error::deserialize(&mut de).expect("valid");
                black_box(p);
            },
            &mut || {
                black_box(validate::package(black_box(&pkg), engine, None));
            },
        ],
    );
    let [sha, e2e, parse, model, serde_plain, serde_tracked, checks] = t[..] else {
        unreachable!("one median per closure")
    };
    // Dropping the parsed model is inside every parse above; show its share.
    let mut drops: Vec<Duration> = (0..runs.min(5))
        .map(|_| {
            let p = load::parse_package(&pkg_bytes, engine).expect("valid");
            let start = Instant::now();
            drop(black_box(p));
            start.elapsed()
        })
        .collect();
    drops.sort_unstable();
    let drop_model = drops[drops.len() / 2];

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / e2e.as_secs_f64();
    let (file, canon) = (pkg_bytes.len(), canonical.len());
    let row = |name: &str, d: Duration, bytes: usize, of: &str| {
        println!(
            "  {name:<26} {:9.2} ms {:8.1} MB/s of {of}  {:5.1}% of end to end",
            ms(d),
            mb(bytes) / d.as_secs_f64(),
            pct(d)
        );
    };
    println!(
        "TIMING median of {runs} interleaved runs; package {:.2} MB, canonical {:.2} MB",
        mb(file),
        mb(canon)
    );
    row("baseline_sha256", sha, canon, "canonical");
    row("version_hash_end_to_end", e2e, file, "file     ");
    row("parse_only", parse, file, "file     ");
    row("  serde_json alone", serde_plain, file, "file     ");
    row(
        "  serde_json + path track",
        serde_tracked,
        file,
        "file     ",
    );
    row("  validate::package", checks, file, "file     ");
    row("  drop of the model", drop_model, file, "file     ");
    row("hash_from_model", model, canon, "canonical");
    row(
        "  canonical writer",
        model.saturating_sub(sha),
        canon,
        "canonical",
    );
    println!("  (each serde line includes the drop; parse_only = UTF-8 check + serde_json + path tracking + validate::package + drop)");
    println!(
        "RATIO hash_from_model/sha256 = {:.2}",
        model.as_secs_f64() / sha.as_secs_f64()
    );
    println!(
        "RATIO hash/sha256 = {:.2} (goal <= 3.0)",
        e2e.as_secs_f64() / sha.as_secs_f64()
    );
}
