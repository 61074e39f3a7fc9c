//! The native side of `scripts/bench-cdk.sh`: times, in process, the same core calls that
//! the wasm exports make, on the same files, so the two can be compared.
//!
//! Usage: `native_timing PACKAGE DATASET FROM_PACKAGE RUNS`. Prints one JSON object with
//! the median milliseconds of `parse` (parse + validate the package and the dataset
//! config: what `validate` does), `digest` (canonical JSON + SHA-256 of the parsed model),
//! `hash` (`hash_files`, its own fast parse + digest: what `versionHash` does) and `plan` (parse all three + plan + serialize, what `plan`
//! does), and the version hash so the script can check both sides hashed the same thing.

use depot_migrate_core::{hash_files, load, plan};
use std::time::Instant;

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: native_timing PACKAGE DATASET FROM_PACKAGE RUNS");
        std::process::exit(2);
    }
    let read = |p: &str| std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    let (pkg, ds, from) = (read(&args[1]), read(&args[2]), read(&args[3]));
    let runs: usize = args[4].parse().expect("RUNS is a number");

    let hash = hash_files(&pkg, &ds).expect("valid bench inputs");
    let parse = median_ms(runs, || {
        let d = load::parse_dataset(&ds).expect("valid dataset");
        let p = load::parse_package(&pkg, Some(d.engine)).expect("valid package");
        std::hint::black_box((p, d));
    });
    let (p, d) = {
        let d = load::parse_dataset(&ds).expect("valid dataset");
        (
            load::parse_package(&pkg, Some(d.engine)).expect("valid package"),
            d,
        )
    };
    let digest = median_ms(runs, || {
        std::hint::black_box(depot_migrate_core::version_hash(&p, &d));
    });
    let hash_ms = median_ms(runs, || {
        std::hint::black_box(hash_files(&pkg, &ds).expect("valid bench inputs"));
    });
    let plan_ms = median_ms(runs, || {
        let d = load::parse_dataset(&ds).expect("valid dataset");
        let p = load::parse_package(&pkg, Some(d.engine)).expect("valid package");
        let f = load::parse_package(&from, Some(d.engine)).expect("valid from package");
        let plan = plan::plan(Some(&f), &p, &d).expect("plannable");
        std::hint::black_box(serde_json::to_string(&plan).expect("serializable"));
    });
    println!(
        "{{\"parse\":{parse},\"digest\":{digest},\"hash\":{hash_ms},\"plan\":{plan_ms},\"versionHash\":\"{}\"}}",
        hash.as_str()
    );
}
