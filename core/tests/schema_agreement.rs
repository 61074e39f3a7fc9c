//! The JSON Schemas in `schemas/` and the Rust validation agree: every example passes
//! both; on the bad-input corpus, whatever the schema rejects Rust rejects too, and every
//! structural problem Rust finds (DM1005..DM1010) the schema finds too. Semantic checks
//! (name collisions, defaults that do not fit) are beyond a JSON Schema, so files with
//! only those may pass the schema.

use depot_migrate_core::{load, Code};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schemas").join(name)).expect("schema file");
    let v: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&v).expect("schema compiles")
}

fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.to_string_lossy().ends_with(suffix));
    out.sort();
    out
}

#[test]
fn committed_schemas_are_the_generated_ones() {
    for (file, generated) in [
        ("package.schema.json", depot_migrate_core::schema::package()),
        ("dataset.schema.json", depot_migrate_core::schema::dataset()),
    ] {
        let text = std::fs::read_to_string(root().join("schemas").join(file)).expect("schema file");
        let committed: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            committed,
            generated,
            "schemas/{file} is stale; regenerate with `depot-migrate schema {} > schemas/{file}`",
            file.split('.').next().unwrap_or_default()
        );
    }
}

#[test]
fn examples_pass_schema_and_validation() {
    let package_schema = schema("package.schema.json");
    let dataset_schema = schema("dataset.schema.json");
    let examples = root().join("examples");
    let packages = files(&examples, ".package.json");
    let datasets = files(&examples, ".dataset.json");
    assert!(
        !packages.is_empty() && !datasets.is_empty(),
        "examples/ has packages and datasets"
    );
    for p in &packages {
        let bytes = std::fs::read(p).expect("read");
        let v: Value = serde_json::from_slice(&bytes).expect("json");
        assert!(
            package_schema.is_valid(&v),
            "{} fails the schema",
            p.display()
        );
        for engine in depot_migrate_core::Engine::ALL {
            load::parse_package(&bytes, Some(engine))
                .unwrap_or_else(|e| panic!("{}: {e:?}", p.display()));
        }
    }
    for d in &datasets {
        let bytes = std::fs::read(d).expect("read");
        let v: Value = serde_json::from_slice(&bytes).expect("json");
        assert!(
            dataset_schema.is_valid(&v),
            "{} fails the schema",
            d.display()
        );
        load::parse_dataset(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", d.display()));
    }
}

#[test]
fn schema_and_validation_agree_on_bad_inputs() {
    let package_schema = schema("package.schema.json");
    let dataset_schema = schema("dataset.schema.json");
    let dir = root().join("tests/bad-inputs");
    let mut checked = 0;
    let mut schema_rejected = 0;
    for (suffix, validator) in [
        (".package.json", &package_schema),
        (".dataset.json", &dataset_schema),
    ] {
        for f in files(&dir, suffix) {
            let name = f.file_name().expect("name").to_string_lossy().into_owned();
            if name.starts_with("valid.") {
                continue;
            }
            let bytes = std::fs::read(&f).expect("read");
            let rust = if suffix == ".package.json" {
                load::parse_package(&bytes, Some(depot_migrate_core::Engine::Postgres)).err()
            } else {
                load::parse_dataset(&bytes).err()
            };
            // Files that are not JSON at all (or too deep to parse) are outside a schema's reach.
            let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            let schema_ok = validator.is_valid(&value);
            let codes: Vec<Code> = rust
                .map(|e| e.problems.iter().map(|p| p.code).collect())
                .unwrap_or_default();
            if !schema_ok {
                schema_rejected += 1;
                assert!(
                    !codes.is_empty(),
                    "{name}: the schema rejects it but Rust accepts it"
                );
            }
            let structural = codes.iter().any(|c| {
                matches!(
                    c,
                    Code::WrongType
                        | Code::MissingField
                        | Code::UnknownField
                        | Code::UnsafeInteger
                        | Code::InvalidEnum
                )
            });
            if structural {
                assert!(
                    !schema_ok,
                    "{name}: Rust finds structural problems {codes:?} but the schema accepts it"
                );
            }
            checked += 1;
        }
    }
    // Only meaningful once the corpus exists.
    assert!(checked >= 10, "only {checked} corpus files checked");
    assert!(
        schema_rejected >= 5,
        "the schema rejected only {schema_rejected} corpus files"
    );
}
