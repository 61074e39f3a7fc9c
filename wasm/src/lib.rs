//! WebAssembly exports of `depot-migrate-core`, for the `depot-migrate-cdk` construct
//! library. This crate only converts: JSON text in, call the core, JSON text out.
//! Values cross the boundary as JSON text (see TOOLCHAIN.md).

use wasm_bindgen::prelude::*;

/// Computes the version hash of a package (JSON text) for a dataset config (JSON text).
/// On invalid input, throws an `Error` whose message is the JSON of
/// `{"package": [problems], "dataset": [problems]}`, each problem `{code, path, message}`.
#[wasm_bindgen(js_name = versionHash)]
pub fn version_hash(package_json: &str, dataset_json: &str) -> Result<String, JsError> {
    depot_migrate_core::hash_files(package_json.as_bytes(), dataset_json.as_bytes())
        .map(|h| h.as_str().to_string())
        .map_err(|problems| {
            JsError::new(&serde_json::to_string(&problems).unwrap_or_else(|e| e.to_string()))
        })
}
