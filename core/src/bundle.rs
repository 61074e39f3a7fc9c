//! The migration bundle: what the CDK construct `DatasetMigration` with a `runner` hands
//! to the Lambda handler as one JSON file (a CDK asset), and what the handler reads
//! (docs/lambda.md). Its format is defined here only: the CDK package writes it through
//! the wasm build, the handler (`native/src/lambda/custom_resource.rs`) parses it.
//!
//! `{"formatVersion": 1, "versionHash": "<hash>", "dataset": <dataset config>,
//! "package": <package>, "plan": <the synth-time plan, or null>}`

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The bundle format this build writes and reads.
pub const BUNDLE_FORMAT_VERSION: u64 = 1;

/// The migration bundle (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bundle {
    /// [`BUNDLE_FORMAT_VERSION`].
    pub format_version: u64,
    /// The version the package and dataset hash to.
    pub version_hash: String,
    /// The dataset config.
    pub dataset: Value,
    /// The package.
    pub package: Value,
    /// The plan made at synth, if any.
    #[serde(default)]
    pub plan: Option<Value>,
}

impl Bundle {
    /// A bundle of the current format from the JSON texts of the dataset config, the
    /// package and (optionally) the plan. Only checks that each is JSON: the handler
    /// validates and hashes what it reads.
    ///
    /// ```
    /// # use depot_migrate_core::bundle::Bundle;
    /// let b = Bundle::from_json("abc", r#"{"datasetId":"d"}"#, r#"{"namespace":"n"}"#, None).unwrap();
    /// assert_eq!(b.to_json().unwrap(), r#"{"formatVersion":1,"versionHash":"abc","dataset":{"datasetId":"d"},"package":{"namespace":"n"},"plan":null}"#);
    /// ```
    pub fn from_json(
        version_hash: &str,
        dataset_json: &str,
        package_json: &str,
        plan_json: Option<&str>,
    ) -> Result<Bundle, String> {
        let parse = |what: &str, text: &str| {
            serde_json::from_str::<Value>(text).map_err(|e| format!("the {what} is not JSON: {e}"))
        };
        Ok(Bundle {
            format_version: BUNDLE_FORMAT_VERSION,
            version_hash: version_hash.to_string(),
            dataset: parse("dataset config", dataset_json)?,
            package: parse("package", package_json)?,
            plan: plan_json.map(|p| parse("plan", p)).transpose()?,
        })
    }

    /// The bundle as JSON text (members in the order of the module docs).
    pub fn to_json(&self) -> Result<String, String> {
        serde_json::to_string(self).map_err(|e| e.to_string())
    }
}
