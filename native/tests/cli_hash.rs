//! `depot-migrate hash`, `validate` and `schema` on the examples in `examples/`.

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_depot-migrate");

/// The example files the README walks through; every other example is hashed too.
const PACKAGES: &[&str] = &[
    "dogs.v1.package.json",
    "dogs.v2.package.json",
    "dogs.v3.package.json",
];
const DATASETS: &[&str] = &[
    "dogs.dataset.json",
    "dogs.postgres.dataset.json",
    "dogs.v3-allow.dataset.json",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn examples() -> PathBuf {
    root().join("examples")
}

fn example(name: &str) -> String {
    examples().join(name).to_string_lossy().into_owned()
}

fn example_files(suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(examples())
        .expect("examples/ exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    for required in if suffix == ".package.json" {
        PACKAGES
    } else {
        DATASETS
    } {
        assert!(
            names.iter().any(|n| n == required),
            "examples/{required} is missing"
        );
    }
    names
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(examples().join(name)).expect("read example");
    serde_json::from_str(&text).expect("example is JSON")
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn depot-migrate");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        // The CLI may exit before reading its input (a usage error): that is a broken
        // pipe here, not a failure.
        if let Err(e) = pipe.write_all(input) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
    }
    child.wait_with_output().expect("wait")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `hash` and returns the hash, asserting the output is 64 lowercase hex digits and
/// a newline, exit code 0 and nothing on stderr.
fn hash(package: &str, dataset: &str, stdin: Option<&[u8]>) -> String {
    let out = run(&["hash", "--package", package, "--dataset", dataset], stdin);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "hash --package {package} --dataset {dataset}: stderr: {}",
        text(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "hash wrote to stderr: {}",
        text(&out.stderr)
    );
    let line = stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("no trailing newline: {stdout:?}"));
    assert!(
        line.len() == 64
            && line
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "not 64 lowercase hex digits: {stdout:?}"
    );
    line.to_string()
}

fn hash_examples(package: &str, dataset: &str) -> String {
    hash(&example(package), &example(dataset), None)
}

/// Hash of an example package with a dataset given as JSON on stdin.
fn hash_with_dataset(package: &str, dataset: &Value) -> String {
    hash(&example(package), "-", Some(dataset.to_string().as_bytes()))
}

fn problem_lines(out: &Output) -> Vec<String> {
    text(&out.stderr).lines().map(str::to_string).collect()
}

#[test]
fn hash_of_every_example_is_64_lowercase_hex() {
    let packages = example_files(".package.json");
    let datasets = example_files(".dataset.json");
    let mut seen = std::collections::BTreeMap::new();
    for p in &packages {
        for d in &datasets {
            let h = hash_examples(p, d);
            seen.entry(h)
                .or_insert_with(Vec::new)
                .push(format!("{p} + {d}"));
        }
    }
    // dogs.v3-allow differs from dogs.dataset.json only in allowDestructive, which is not
    // hashed; every other pair has its own version.
    let expected_distinct = packages.len() * (datasets.len() - 1);
    assert_eq!(seen.len(), expected_distinct, "hash collisions: {seen:#?}");
}

#[test]
fn cli_agrees_with_the_core_library() {
    for p in example_files(".package.json") {
        for d in example_files(".dataset.json") {
            let pb = std::fs::read(examples().join(&p)).expect("read");
            let db = std::fs::read(examples().join(&d)).expect("read");
            let core = depot_migrate_core::hash_files(&pb, &db)
                .unwrap_or_else(|e| panic!("{p} + {d}: {e:?}"));
            assert_eq!(hash_examples(&p, &d), core.as_str(), "{p} + {d}");
        }
    }
}

#[test]
fn json_output_has_the_version_hash_and_the_dataset_identity() {
    for p in PACKAGES {
        for d in DATASETS {
            let out = run(
                &[
                    "--output",
                    "json",
                    "hash",
                    "--package",
                    &example(p),
                    "--dataset",
                    &example(d),
                ],
                None,
            );
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            let doc: Value =
                serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
            assert_eq!(
                doc["versionHash"],
                json!(hash_examples(p, d)),
                "{p} + {d}: {doc}"
            );
            let ds = read_json(d);
            for field in [
                "environmentId",
                "datasetId",
                "datasetAlias",
                "engine",
                "schema",
            ] {
                assert_eq!(
                    doc["dataset"][field], ds[field],
                    "{p} + {d}: dataset.{field} in {doc}"
                );
            }
        }
    }
    // --output after the subcommand works too (it is a global flag).
    let out = run(
        &[
            "hash",
            "--package",
            &example(PACKAGES[0]),
            "--dataset",
            &example(DATASETS[0]),
            "--output",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(doc["versionHash"].is_string());
}

#[test]
fn stdin_gives_the_same_hash_as_the_path() {
    for p in PACKAGES {
        for d in DATASETS {
            let by_path = hash_examples(p, d);
            let pkg = std::fs::read(examples().join(p)).expect("read");
            assert_eq!(
                hash("-", &example(d), Some(&pkg)),
                by_path,
                "--package - < {p}"
            );
            let ds = std::fs::read(examples().join(d)).expect("read");
            assert_eq!(
                hash(&example(p), "-", Some(&ds)),
                by_path,
                "--dataset - < {d}"
            );
        }
    }
}

#[test]
fn alias_mode_event_bus_and_allow_destructive_are_not_hashed() {
    let base = read_json("dogs.dataset.json");
    for p in PACKAGES {
        let expected = hash_examples(p, "dogs.dataset.json");
        let mut changes: Vec<(&str, Value)> = vec![
            ("datasetAlias", json!("SomeOtherAlias")),
            ("migrationMode", json!("asynchronous")),
            (
                "eventBusName",
                json!("arn:aws:events:eu-west-1:058264526050:event-bus/depot-custom"),
            ),
            ("allowDestructive", json!(true)),
            (
                "allowDestructive",
                json!(["dropColumn:dog.weight", "dropTable:visit"]),
            ),
        ];
        changes.push(("datasetAlias", Value::Null));
        for (field, value) in changes {
            let mut ds = base.clone();
            ds[field] = value.clone();
            assert_eq!(
                hash_with_dataset(p, &ds),
                expected,
                "{p}: changing {field} to {value} changed the hash"
            );
        }
        let mut all = base.clone();
        all["datasetAlias"] = json!("X");
        all["migrationMode"] = json!("asynchronous");
        all["eventBusName"] = json!("other-bus");
        assert_eq!(
            hash_with_dataset(p, &all),
            expected,
            "{p}: alias + mode + bus changed the hash"
        );
        for field in ["datasetAlias", "migrationMode", "eventBusName"] {
            let mut ds = base.clone();
            ds.as_object_mut().expect("object").remove(field);
            assert_eq!(
                hash_with_dataset(p, &ds),
                expected,
                "{p}: removing {field} changed the hash"
            );
        }
    }
}

#[test]
fn identity_fields_are_hashed() {
    let base = read_json("dogs.dataset.json");
    let expected = hash_examples("dogs.v1.package.json", "dogs.dataset.json");
    for (field, value) in [
        ("environmentId", json!("e2e404529091ed3")),
        ("datasetId", json!("bdc659741d5a")),
        ("engine", json!("postgres")),
        ("schema", json!("dogs2")),
    ] {
        let mut ds = base.clone();
        ds[field] = value;
        assert_ne!(
            hash_with_dataset("dogs.v1.package.json", &ds),
            expected,
            "{field} is part of the version"
        );
    }
}

#[test]
fn rename_hints_are_not_hashed() {
    for p in ["dogs.v2.package.json", "dogs.v3.package.json"] {
        let mut pkg = read_json(p);
        let mut removed = 0;
        for table in pkg["tables"].as_array_mut().expect("tables") {
            for column in table["columns"].as_array_mut().expect("columns") {
                if column
                    .as_object_mut()
                    .expect("column")
                    .remove("renamedFrom")
                    .is_some()
                {
                    removed += 1;
                }
            }
        }
        assert!(removed > 0, "{p} has a rename hint");
        let without = hash(
            "-",
            &example("dogs.dataset.json"),
            Some(pkg.to_string().as_bytes()),
        );
        assert_eq!(
            without,
            hash_examples(p, "dogs.dataset.json"),
            "{p}: dropping renamedFrom changed the hash"
        );
    }
}

#[test]
fn canonical_output_is_the_hashed_document() {
    for p in PACKAGES {
        let out = run(
            &[
                "hash",
                "--canonical",
                "--package",
                &example(p),
                "--dataset",
                &example("dogs.postgres.dataset.json"),
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let pb = std::fs::read(examples().join(p)).expect("read");
        let db = std::fs::read(examples().join("dogs.postgres.dataset.json")).expect("read");
        let pkg = depot_migrate_core::load::parse_package(
            &pb,
            Some(depot_migrate_core::Engine::Postgres),
        )
        .expect("valid");
        let ds = depot_migrate_core::load::parse_dataset(&db).expect("valid");
        let mut expected = depot_migrate_core::hash::canonical_hash_input(&pkg, &ds);
        expected.push(b'\n');
        assert_eq!(text(&out.stdout), text(&expected), "{p}");
        let doc: Value = serde_json::from_slice(&out.stdout).expect("canonical output is JSON");
        assert_eq!(
            doc["dataset"],
            json!({"environmentId": "e2e404529091ed2", "datasetId": "bdc659741d5a", "engine": "postgres", "schema": "dogs"}),
            "only the identity fields of the dataset are hashed"
        );
        assert!(
            !text(&out.stdout).contains("renamedFrom"),
            "{p}: rename hints are not hashed"
        );
    }
}

#[test]
fn both_inputs_from_stdin_is_a_usage_error() {
    for args in [
        vec!["hash", "--package", "-", "--dataset", "-"],
        vec!["validate", "--package", "-", "--dataset", "-"],
    ] {
        let out = run(&args, Some(b"{}"));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            out.stdout.is_empty(),
            "{args:?}: stdout {}",
            text(&out.stdout)
        );
        let lines = problem_lines(&out);
        assert_eq!(lines.len(), 1, "{args:?}: one line of error: {lines:?}");
        assert!(
            lines[0].contains("stdin") || lines[0].contains(" - "),
            "{args:?}: says why: {lines:?}"
        );
        assert!(!text(&out.stderr).contains("panicked"));
    }
}

#[test]
fn a_missing_file_is_dm1011() {
    let missing = root()
        .join("examples/no-such-file.package.json")
        .to_string_lossy()
        .into_owned();
    let dataset = example("dogs.dataset.json");
    let package = example("dogs.v1.package.json");
    for (args, file) in [
        (
            vec![
                "hash",
                "--package",
                missing.as_str(),
                "--dataset",
                dataset.as_str(),
            ],
            missing.as_str(),
        ),
        (
            vec![
                "hash",
                "--package",
                package.as_str(),
                "--dataset",
                missing.as_str(),
            ],
            missing.as_str(),
        ),
        (
            vec!["validate", "--package", missing.as_str()],
            missing.as_str(),
        ),
    ] {
        let out = run(&args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let lines = problem_lines(&out);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(
            lines[0].starts_with(&format!("{file}:$: DM1011: ")),
            "{args:?}: {lines:?}"
        );
    }
    // A directory is not a file either.
    let dir = examples().to_string_lossy().into_owned();
    let out = run(&["hash", "--package", &dir, "--dataset", &dataset], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with(&format!("{dir}:$: DM1011: ")),
        "{}",
        text(&out.stderr)
    );
    // Both files missing: both reported.
    let other = root()
        .join("examples/no-such-file.dataset.json")
        .to_string_lossy()
        .into_owned();
    let out = run(&["hash", "--package", &missing, "--dataset", &other], None);
    assert_eq!(out.status.code(), Some(2));
    let lines = problem_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.contains(": DM1011: ")), "{lines:?}");
}

#[test]
fn validate_accepts_every_example() {
    for p in example_files(".package.json") {
        for d in example_files(".dataset.json") {
            let out = run(
                &[
                    "validate",
                    "--package",
                    &example(&p),
                    "--dataset",
                    &example(&d),
                ],
                None,
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "{p} + {d}: {}",
                text(&out.stderr)
            );
            assert_eq!(text(&out.stdout), "ok\n");
            assert!(out.stderr.is_empty());
        }
        let out = run(&["validate", "--package", &example(&p)], None);
        assert_eq!(out.status.code(), Some(0), "{p}: {}", text(&out.stderr));
    }
    for d in example_files(".dataset.json") {
        let out = run(&["validate", "--dataset", &example(&d)], None);
        assert_eq!(out.status.code(), Some(0), "{d}: {}", text(&out.stderr));
        let out = run(
            &["--output", "json", "validate", "--dataset", &example(&d)],
            None,
        );
        let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(doc, json!({"ok": true}));
    }
}

#[test]
fn schema_output_matches_the_committed_schemas() {
    for kind in ["package", "dataset"] {
        let out = run(&["schema", kind], None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let printed: Value = serde_json::from_slice(&out.stdout).expect("schema output is JSON");
        let file = root().join(format!("schemas/{kind}.schema.json"));
        let committed: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("committed schema"))
                .expect("committed schema is JSON");
        assert!(
            printed == committed,
            "schemas/{kind}.schema.json is stale; regenerate it with `depot-migrate schema {kind} > schemas/{kind}.schema.json` \
             (e.g. `cargo run -q -p depot-migrate -- schema {kind} > schemas/{kind}.schema.json`)"
        );
    }
}

#[test]
fn examples_conform_to_the_committed_schemas() {
    for (suffix, kind) in [(".package.json", "package"), (".dataset.json", "dataset")] {
        let file = root().join(format!("schemas/{kind}.schema.json"));
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(file).expect("schema")).expect("JSON");
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        for name in example_files(suffix) {
            let doc = read_json(&name);
            let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "{name} fails schemas/{kind}.schema.json: {errors:#?}"
            );
        }
    }
}

/// The evolution the README describes: v1 → v2 renames owner_name to owner (a hint, not a
/// drop) and adds columns; v3 adds a table and drops exactly the column that
/// dogs.v3-allow.dataset.json acknowledges.
#[test]
fn the_examples_evolve_as_documented() {
    let columns = |p: &str, table: &str| -> Vec<Value> {
        read_json(p)["tables"]
            .as_array()
            .expect("tables")
            .iter()
            .find(|t| t["name"] == table)
            .unwrap_or_else(|| panic!("{p} has table {table}"))["columns"]
            .as_array()
            .expect("columns")
            .clone()
    };
    let names = |cols: &[Value]| -> Vec<String> {
        cols.iter()
            .map(|c| c["name"].as_str().expect("name").to_string())
            .collect()
    };
    let v1 = columns("dogs.v1.package.json", "dog");
    let v2 = columns("dogs.v2.package.json", "dog");
    let v3 = columns("dogs.v3.package.json", "dog");
    assert_eq!(names(&v1), ["id", "name", "owner_name", "weight"]);
    let owner = v2
        .iter()
        .find(|c| c["name"] == "owner")
        .expect("v2 has owner");
    assert_eq!(owner["renamedFrom"], json!("owner_name"));
    // Every v1 column survives in v2, by name or by rename hint.
    for c in names(&v1) {
        assert!(
            v2.iter()
                .any(|n| n["name"] == c.as_str() || n["renamedFrom"] == c.as_str()),
            "v2 drops {c}"
        );
    }
    let dropped: Vec<String> = names(&v2)
        .into_iter()
        .filter(|c| !names(&v3).contains(c))
        .collect();
    assert_eq!(dropped, ["weight"], "v3 drops exactly one dog column");
    let allow = read_json("dogs.v3-allow.dataset.json")["allowDestructive"].clone();
    assert_eq!(allow, json!(["dropColumn:dog.weight"]));
    assert!(read_json("dogs.dataset.json")
        .get("allowDestructive")
        .is_none());
    let visit = columns("dogs.v3.package.json", "visit");
    let types: Vec<&str> = visit
        .iter()
        .map(|c| c["type"].as_str().expect("type"))
        .collect();
    for t in ["timestamptz", "uuid", "json"] {
        assert!(types.contains(&t), "visit has a {t} column");
    }
    assert!(
        visit
            .iter()
            .any(|c| c["type"] == "json" && c.get("default").is_some()),
        "the json column has a default"
    );
}

/// The plans between the example versions are what the README says: v1 → v2 renames and
/// adds, destroying nothing; v2 → v3 and v1 → v3 have exactly one destructive step,
/// `dropColumn:dog.weight`, the key dogs.v3-allow.dataset.json acknowledges.
#[test]
fn the_plans_between_example_versions_match_the_readme() {
    let plan = |from: &str, to: &str, dataset: &str| -> (Vec<String>, Vec<String>) {
        let out = run(
            &[
                "plan",
                "--from-package",
                &example(from),
                "--package",
                &example(to),
                "--dataset",
                &example(dataset),
            ],
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "plan {from} -> {to} ({dataset}): {}",
            text(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).expect("plan is JSON");
        let steps = doc["steps"].as_array().expect("steps").clone();
        let key = |s: &Value| s["key"].as_str().expect("step key").to_string();
        let all = steps.iter().map(key).collect();
        let destructive = steps
            .iter()
            .filter(|s| s["destructive"] == json!(true))
            .map(key)
            .collect();
        (all, destructive)
    };
    for dataset in ["dogs.dataset.json", "dogs.postgres.dataset.json"] {
        let (v2, destructive) = plan("dogs.v1.package.json", "dogs.v2.package.json", dataset);
        for k in [
            "renameColumn:dog.owner",
            "addColumn:dog.active",
            "createIndex:dog.dog_name_idx",
        ] {
            assert!(
                v2.iter().any(|s| s == k),
                "{dataset}: v1 -> v2 has {k}: {v2:?}"
            );
        }
        assert!(
            destructive.is_empty(),
            "{dataset}: v1 -> v2 destroys nothing: {destructive:?}"
        );
        let (v3, destructive) = plan("dogs.v2.package.json", "dogs.v3.package.json", dataset);
        assert!(
            v3.iter().any(|s| s == "createTable:visit"),
            "{dataset}: v2 -> v3 creates visit: {v3:?}"
        );
        assert_eq!(
            destructive,
            ["dropColumn:dog.weight"],
            "{dataset}: v2 -> v3"
        );
        let (skip, destructive) = plan("dogs.v1.package.json", "dogs.v3.package.json", dataset);
        assert!(
            skip.iter().any(|s| s == "renameColumn:dog.owner"),
            "{dataset}: v1 -> v3 still renames owner_name: {skip:?}"
        );
        assert_eq!(
            destructive,
            ["dropColumn:dog.weight"],
            "{dataset}: v1 -> v3"
        );
    }
}
