//! Every vector in `tests/vectors/` (expected values computed by the independent Python
//! `rfc8785` package) must be reproduced by the core.

use depot_migrate_core::{hash_files, jcs};
use serde_json::Value;
use std::path::PathBuf;

fn vectors() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/vectors exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("readable vector");
            let v: Value = serde_json::from_str(&text).expect("vector is JSON");
            out.push((
                path.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
                v,
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn at_least_twenty_hash_vectors_and_all_kinds_present() {
    let all = vectors();
    let hashes = all
        .iter()
        .filter(|(_, v)| v["kind"] == "versionHash" && v["expected"]["versionHash"].is_string())
        .count();
    let errors = all
        .iter()
        .filter(|(_, v)| v["expected"]["error"].is_string())
        .count();
    let jcs = all.iter().filter(|(_, v)| v["kind"] == "jcs").count();
    assert!(hashes >= 20, "{hashes} hash vectors");
    assert!(errors >= 3, "{errors} error vectors");
    assert!(jcs >= 10, "{jcs} jcs vectors");
}

#[test]
fn jcs_vectors() {
    let mut checked = 0;
    for (name, v) in vectors().into_iter().filter(|(_, v)| v["kind"] == "jcs") {
        let input = v["input"].as_str().expect("input text");
        let raw: Value = serde_json::from_str(input).unwrap_or_else(|e| panic!("{name}: {e}"));
        let canonical = String::from_utf8(jcs::canonicalize(&raw)).expect("utf8");
        assert_eq!(
            canonical,
            v["expected"]["canonical"].as_str().expect("canonical"),
            "{name}"
        );
        assert_eq!(
            depot_migrate_core::hash::sha256_hex(canonical.as_bytes()),
            v["expected"]["sha256"].as_str().expect("sha256"),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn version_hash_vectors() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, v) in vectors()
        .into_iter()
        .filter(|(_, v)| v["kind"] == "versionHash")
    {
        let package = v["input"]["package"].as_str().expect("package text");
        let dataset = v["input"]["dataset"].as_str().expect("dataset text");
        let result = hash_files(package.as_bytes(), dataset.as_bytes());
        match (&v["expected"]["versionHash"], &v["expected"]["error"]) {
            (Value::String(expected), _) => match result {
                Ok(h) if h.as_str() == expected => {}
                Ok(h) => failures.push(format!("{name}: got {h}, expected {expected}")),
                Err(e) => failures.push(format!("{name}: rejected: {e:?}")),
            },
            (_, Value::String(code)) => match result {
                Ok(h) => failures.push(format!("{name}: expected {code}, got hash {h}")),
                Err(e) if e.codes().iter().any(|c| c.as_str() == code) => {}
                Err(e) => failures.push(format!("{name}: expected {code}, got {e:?}")),
            },
            _ => failures.push(format!("{name}: expected neither versionHash nor error")),
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 20);
}
