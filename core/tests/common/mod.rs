//! Shared plan cases for the dialect tests (`dialect_*.rs`), the cross-dialect
//! properties (`plan_common.rs`) and the native Snowflake/sqlglot check
//! (`native/tests/snowflake_sqlglot.rs`, which includes this file by path).
//!
//! The cases themselves are JSON files in `tests/plan-cases/` at the workspace root, one
//! per case: `{"description", "from": <package> | null, "to": <package>}`; the case name
//! is the file stem. One list, readable from any crate (and from other languages).

#![allow(dead_code)]

use depot_migrate_core::plan::{plan, Plan};
use depot_migrate_core::{load, DatasetConfig, Package};
use std::path::{Path, PathBuf};

/// One change-kind case: the package deployed (`None`: an empty database) and the
/// package wanted.
#[derive(Debug, Clone)]
pub struct Case {
    /// File stem, used as the snapshot name.
    pub name: String,
    /// What the case covers.
    pub description: String,
    /// The deployed package, as JSON text (`None`: an empty database).
    pub from: Option<String>,
    /// The wanted package, as JSON text.
    pub to: String,
}

impl Case {
    /// The deployed package, parsed and validated for the dataset's engine.
    pub fn old_package(&self, ds: &DatasetConfig) -> Option<Package> {
        self.from.as_ref().map(|f| parse(f, ds, &self.name, "from"))
    }
    /// The wanted package, parsed and validated for the dataset's engine.
    pub fn to_package(&self, ds: &DatasetConfig) -> Package {
        parse(&self.to, ds, &self.name, "to")
    }
    /// `plan(from, to, dataset)`, which every case expects to succeed.
    pub fn plan(&self, ds: &DatasetConfig) -> Plan {
        let from = self.old_package(ds);
        let to = self.to_package(ds);
        plan(from.as_ref(), &to, ds)
            .unwrap_or_else(|e| panic!("case {}: plan failed: {e:?}", self.name))
    }
}

fn parse(text: &str, ds: &DatasetConfig, case: &str, which: &str) -> Package {
    load::parse_package(text.as_bytes(), Some(ds.engine)).unwrap_or_else(|e| {
        panic!(
            "case {case}: `{which}` package is invalid for {:?}: {e:?}",
            ds.engine
        )
    })
}

/// The folder that holds the case files.
pub fn cases_dir() -> PathBuf {
    // Both `core` and `native` sit one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/plan-cases")
}

/// Every case, sorted by name.
pub fn cases() -> Vec<Case> {
    let dir = cases_dir();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 file name")
            .to_string();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let description = v["description"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no description"))
            .to_string();
        let from = match &v["from"] {
            serde_json::Value::Null => None,
            p => Some(serde_json::to_string_pretty(p).expect("serialize")),
        };
        assert!(v["to"].is_object(), "{name}: `to` must be a package object");
        let to = serde_json::to_string_pretty(&v["to"]).expect("serialize");
        out.push(Case {
            name,
            description,
            from,
            to,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        out.len() >= 20,
        "expected the plan cases in {}, found {}",
        dir.display(),
        out.len()
    );
    out
}

/// The engines a plan can be for.
pub const ENGINES: &[&str] = &["postgres", "aurora-postgresql", "snowflake", "sqlite"];

/// A dataset config for an engine; `allow_destructive` is the JSON of that member
/// (`false`, `true` or a list of step keys).
pub fn dataset(engine: &str, allow_destructive: serde_json::Value) -> DatasetConfig {
    let v = serde_json::json!({
        "environmentId": "e2e404529091ed2",
        "datasetId": "9afc0c483ed3",
        "engine": engine,
        "schema": "dogs",
        "allowDestructive": allow_destructive,
    });
    load::parse_dataset(v.to_string().as_bytes()).expect("valid dataset config")
}

/// A dataset config for an engine that allows no destructive change.
pub fn strict_dataset(engine: &str) -> DatasetConfig {
    dataset(engine, serde_json::Value::Bool(false))
}

/// Every case's plan for one engine (allowing no destructive change), with its case.
pub fn plans(engine: &str) -> Vec<(Case, Plan)> {
    let ds = strict_dataset(engine);
    cases()
        .into_iter()
        .map(|c| {
            let p = c.plan(&ds);
            (c, p)
        })
        .collect()
}

/// The plan as readable text, for snapshots: per step its key and flags, its summary,
/// its destructive changes when they are not just its key, then its SQL; then the notes.
pub fn render(p: &Plan) -> String {
    let mut out = String::new();
    if p.steps.is_empty() {
        out.push_str("(no steps)\n");
    }
    for s in &p.steps {
        out.push_str(&format!(
            "{} | destructive={} | mayFail={} | transactional={} | locks={}\n",
            s.key,
            s.destructive,
            s.may_fail,
            s.transactional,
            s.locks.as_deref().unwrap_or("-")
        ));
        out.push_str(&format!("  -- {}\n", s.summary));
        if !s.destructive_changes.is_empty() && s.destructive_changes != [s.key.clone()] {
            out.push_str(&format!(
                "  -- destructive changes: {}\n",
                s.destructive_changes.join(", ")
            ));
        }
        for q in &s.sql {
            out.push_str(&format!("  {q};\n"));
        }
    }
    if !p.notes.is_empty() {
        out.push_str("notes:\n");
        for n in &p.notes {
            out.push_str(&format!("  - {n}\n"));
        }
    }
    out
}

/// Snapshots `render(plan)` of every case for one engine, as
/// `snapshots/<test file>__<case name>.snap`, and reports every mismatch (not just the
/// first) before failing. A macro so that `insta` (a dev-dependency of `core` only) is
/// named only where it is used, and the snapshot lands beside the calling test file.
#[macro_export]
macro_rules! snapshot_all {
    ($engine:expr) => {{
        let engine: &str = $engine;
        let ds = $crate::common::strict_dataset(engine);
        let mut failed = Vec::new();
        for case in $crate::common::cases() {
            let text = $crate::common::render(&case.plan(&ds));
            let mut settings = insta::Settings::clone_current();
            settings.set_description(format!("{engine}: {}", case.description));
            settings.set_omit_expression(true);
            let name = case.name.clone();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                settings.bind(|| insta::assert_snapshot!(name.as_str(), text));
            }));
            if r.is_err() {
                failed.push(case.name);
            }
        }
        assert!(
            failed.is_empty(),
            "{engine}: snapshots differ for {failed:?}"
        );
    }};
}
