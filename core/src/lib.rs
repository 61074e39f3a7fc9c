//! # depot-migrate-core
//!
//! The pure core of depot-migrate: the typed model of packages and dataset configs,
//! their validation (every problem, with its JSONPath and a stable code), RFC 8785
//! canonical JSON and the version hash. No I/O, no clock, no randomness: values in,
//! values out. The wasm crate, the CLI and the CDK library all call this crate and
//! never re-implement it.
//!
//! ```
//! use depot_migrate_core::{load, version_hash};
//! let package = load::parse_package(
//!     br#"{"namespace":"dogs","tables":[{"name":"dog","columns":[{"name":"id","type":"bigint","nullable":false}],"primaryKey":["id"]}]}"#,
//!     None,
//! ).expect("valid package");
//! let dataset = load::parse_dataset(
//!     br#"{"environmentId":"e2e404529091ed2","datasetId":"9afc0c483ed3","engine":"postgres","schema":"dogs"}"#,
//! ).expect("valid dataset");
//! let hash = version_hash(&package, &dataset);
//! assert_eq!(hash.as_str().len(), 64);
//! ```
//!
//! Error codes are listed in `docs/errors.md`.

pub mod bundle;
pub mod constraints;
pub mod dialect;
pub mod error;
pub mod grants;
pub mod hash;
pub mod indexes;
pub mod inspect;
pub mod jcs;
pub mod lifecycle;
pub mod load;
pub mod model;
pub mod plan;
mod plan_constraints;
mod plan_enums;
mod plan_identity;
mod plan_views;
pub mod summary;
pub mod validate;
pub mod views;

pub use error::{Code, Invalid, JsonPath, Problem};
pub use hash::{version_hash, VersionHash};
pub use model::{
    AllowDestructive, Column, ColumnType, DatasetConfig, Engine, Index, Literal, MigrationMode,
    Package, RenamedFrom, Table,
};

/// Parses a package and a dataset config and computes the version hash, validating the
/// package with the dataset's engine. Problems from both files are returned together,
/// each tagged with which file it belongs to.
pub fn hash_files(package: &[u8], dataset: &[u8]) -> Result<VersionHash, FileProblems> {
    let ds = load::parse_dataset(dataset);
    let engine = ds.as_ref().ok().map(|d| d.engine);
    let pkg = load::parse_package(package, engine);
    match (pkg, ds) {
        (Ok(p), Ok(d)) => Ok(version_hash(&p, &d)),
        (p, d) => Err(FileProblems {
            package: p.err().map(|e| e.problems).unwrap_or_default(),
            dataset: d.err().map(|e| e.problems).unwrap_or_default(),
        }),
    }
}

/// Problems found in the two input files of a command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileProblems {
    /// Problems in the package file.
    pub package: Vec<Problem>,
    /// Problems in the dataset file.
    pub dataset: Vec<Problem>,
}

impl FileProblems {
    /// Every problem code, package first.
    pub fn codes(&self) -> Vec<Code> {
        self.package
            .iter()
            .chain(&self.dataset)
            .map(|p| p.code)
            .collect()
    }
}

/// JSON Schemas for the input files, generated from the model so they cannot drift.
#[cfg(feature = "schema")]
pub mod schema {
    /// The JSON Schema of `*.package.json`.
    pub fn package() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(crate::Package)).unwrap_or_default()
    }
    /// The JSON Schema of `*.dataset.json`.
    pub fn dataset() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(crate::DatasetConfig)).unwrap_or_default()
    }
}
