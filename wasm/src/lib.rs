//! WebAssembly exports of `depot-migrate-core`, for the `depot-migrate-cdk` construct
//! library (Node, loaded synchronously by the `wasm-bindgen --target nodejs` glue).
//!
//! This crate only converts: JSON text in, call the core, JSON text out. Values cross the
//! boundary as JSON text parsed by serde_json (see docs/contributing.md, "Toolchain pitfalls"), never as JS objects.
//!
//! Invalid input throws a JS `Error`. Its `message` has one line per problem,
//! `FILE:PATH: CODE: message` (as the CLI prints them), and its `problems` property is an
//! array of `{ file, code, path, message }` objects. `FILE` is `package`, `dataset`,
//! `from` or `options`. Codes are listed in `docs/errors.md`. Nothing here panics on
//! input: a panic would trap and leave the instance unusable.
//!
//! Build with `scripts/build-wasm.sh`.

use depot_migrate_core::bundle::Bundle;
use depot_migrate_core::lifecycle::{alert_input_transformer, event_pattern_from_json};
use depot_migrate_core::{hash_files, load, plan, summary, DatasetConfig, Package, Problem};
use js_sys::{Array, Error, Object, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** One problem in an input, as the `problems` property of a thrown `Error` carries it. */
export interface Problem {
  /** Which input: `package`, `dataset`, `from` or `options`. */
  file: string;
  /** Stable code (`DM1007`), listed in docs/errors.md. */
  code: string;
  /** JSONPath of the offending value (`$.tables[0].columns[2].type`). */
  path: string;
  /** What is wrong and how to fix it. */
  message: string;
}

/** The `Error` thrown for invalid input. */
export interface InvalidInputError extends Error {
  /** Every problem found, never empty. */
  problems: Problem[];
}

/** Options of `eventPattern`, passed as JSON text. */
export interface EventPatternOptions {
  /** Match these dataset ids only. @default every dataset */
  datasetIds?: string[] | null;
  /** Match these dataset aliases only. @default every alias */
  aliases?: string[] | null;
  /** Match these events only. @default all four */
  events?: ("desired" | "attempted" | "deployed" | "failed")[] | null;
}
"#;

/// Computes the version hash (64 lowercase hex digits) of a package (JSON text) for a
/// dataset config (JSON text). Throws an `Error` with `problems` on invalid input.
#[wasm_bindgen(js_name = versionHash)]
pub fn version_hash(
    #[wasm_bindgen(js_name = packageJson)] package_json: &str,
    #[wasm_bindgen(js_name = datasetJson)] dataset_json: &str,
) -> Result<String, Error> {
    hash_files(package_json.as_bytes(), dataset_json.as_bytes())
        .map(|h| h.as_str().to_string())
        .map_err(|p| invalid(&[("package", &p.package), ("dataset", &p.dataset)]))
}

/// Validates a dataset config and, when given (not `undefined`, `null` or empty), a
/// package for it. Returns nothing; throws an `Error` with every problem in `problems`.
#[wasm_bindgen]
pub fn validate(
    #[wasm_bindgen(js_name = packageJson)] package_json: Option<String>,
    #[wasm_bindgen(js_name = datasetJson)] dataset_json: &str,
) -> Result<(), Error> {
    let package_json = package_json.filter(|p| !p.is_empty());
    load_inputs(None, package_json.as_deref(), dataset_json).map(|_| ())
}

/// Computes the migration plan from `fromPackageJson` (`null`: an empty database) to
/// `toPackageJson` for a dataset, and returns it as JSON text (the JSON that
/// `depot-migrate plan` prints). Throws an `Error` with `problems` on invalid input or
/// an ambiguous `renamedFrom` hint (reported against `package`).
#[wasm_bindgen]
pub fn plan(
    #[wasm_bindgen(js_name = fromPackageJson)] from_package_json: Option<String>,
    #[wasm_bindgen(js_name = toPackageJson)] to_package_json: &str,
    #[wasm_bindgen(js_name = datasetJson)] dataset_json: &str,
) -> Result<String, Error> {
    let (from, to, dataset) = load_inputs(
        from_package_json.as_deref(),
        Some(to_package_json),
        dataset_json,
    )?;
    let to = to.ok_or_else(|| internal("the target package was not loaded"))?;
    let plan = plan::plan(from.as_ref(), &to, &dataset)
        .map_err(|e| invalid(&[("package", &e.problems)]))?;
    serde_json::to_string(&plan).map_err(|e| internal(&e.to_string()))
}

/// The EventBridge event pattern (JSON text) that matches depot-migrate lifecycle events.
/// `optionsJson` is an `EventPatternOptions` object as JSON text; absent or `null`
/// members mean "no filter" (all four events). Throws an `Error` with `problems` on
/// invalid options.
#[wasm_bindgen(js_name = eventPattern)]
pub fn event_pattern_json(
    #[wasm_bindgen(js_name = optionsJson)] options_json: &str,
) -> Result<String, Error> {
    let pattern =
        event_pattern_from_json(options_json).map_err(|e| invalid(&[("options", &e.problems)]))?;
    serde_json::to_string(&pattern).map_err(|e| internal(&e.to_string()))
}

/// The alert message of `MigrationLifecycleAlerts` and `depot-migrate alert-rule`, as an
/// EventBridge input transformer: JSON text of `{InputPathsMap, InputTemplate}`.
#[wasm_bindgen(js_name = alertInputTransformer)]
pub fn alert_input_transformer_json() -> Result<String, Error> {
    serde_json::to_string(&alert_input_transformer()).map_err(|e| internal(&e.to_string()))
}

/// The keys of the destructive changes in a plan (JSON text, as `plan` returns it) that
/// the dataset config's `allowDestructive` does not allow, as JSON text of an array of
/// strings (empty when everything is allowed). Throws an `Error` with `problems` on an
/// invalid dataset config.
#[wasm_bindgen]
pub fn disallowed(
    #[wasm_bindgen(js_name = planJson)] plan_json: &str,
    #[wasm_bindgen(js_name = datasetJson)] dataset_json: &str,
) -> Result<String, Error> {
    let (_, _, dataset) = load_inputs(None, None, dataset_json)?;
    let plan = parse_plan(plan_json)?;
    serde_json::to_string(&plan.disallowed(&dataset)).map_err(|e| internal(&e.to_string()))
}

/// The construct's `planSummary` of a plan (JSON text, as `plan` returns it): one line
/// per step (`~ rename column dog.owner_name to owner (renameColumn:dog.owner)`), or
/// `no changes`. The same step lines as `depot-migrate plan --format text`.
#[wasm_bindgen(js_name = planSummary)]
pub fn plan_summary(#[wasm_bindgen(js_name = planJson)] plan_json: &str) -> Result<String, Error> {
    Ok(summary::plan_summary(&parse_plan(plan_json)?))
}

/// What `depot-migrate plan --format text` prints for a plan (JSON text) and its dataset
/// config (JSON text). Throws an `Error` with `problems` on an invalid dataset config.
#[wasm_bindgen(js_name = planText)]
pub fn plan_text(
    #[wasm_bindgen(js_name = planJson)] plan_json: &str,
    #[wasm_bindgen(js_name = datasetJson)] dataset_json: &str,
) -> Result<String, Error> {
    let (_, _, dataset) = load_inputs(None, None, dataset_json)?;
    Ok(summary::plan_text(&parse_plan(plan_json)?, &dataset))
}

/// The warnings of a plan's rename steps (JSON text of an array of strings).
#[wasm_bindgen(js_name = renameWarnings)]
pub fn rename_warnings(
    #[wasm_bindgen(js_name = planJson)] plan_json: &str,
) -> Result<String, Error> {
    let warnings = summary::rename_warnings(&parse_plan(plan_json)?);
    serde_json::to_string(&warnings).map_err(|e| internal(&e.to_string()))
}

/// The migration bundle (JSON text) that the `MigrationRunner`'s function reads, from the
/// version hash and the JSON texts of the dataset config, the package and the plan
/// (`null`: none). Its format is the core's (`core/src/bundle.rs`).
#[wasm_bindgen(js_name = migrationBundle)]
pub fn migration_bundle(
    #[wasm_bindgen(js_name = versionHash)] version_hash: &str,
    #[wasm_bindgen(js_name = datasetJson)] dataset_json: &str,
    #[wasm_bindgen(js_name = packageJson)] package_json: &str,
    #[wasm_bindgen(js_name = planJson)] plan_json: Option<String>,
) -> Result<String, Error> {
    Bundle::from_json(
        version_hash,
        dataset_json,
        package_json,
        plan_json.as_deref(),
    )
    .and_then(|b| b.to_json())
    .map_err(|e| internal(&e))
}

/// A plan as `plan` returns it.
fn parse_plan(plan_json: &str) -> Result<plan::Plan, Error> {
    serde_json::from_str(plan_json).map_err(|e| internal(&format!("not a plan from `plan`: {e}")))
}

/// The loaded inputs of `validate` and `plan`: the `from` package, the package, the
/// dataset config.
type Inputs = (Option<Package>, Option<Package>, DatasetConfig);

/// Parses the dataset config and the given packages with the dataset's engine (as
/// `hash_files` and the CLI do), reporting the problems of every input together.
fn load_inputs(from: Option<&str>, package: Option<&str>, dataset: &str) -> Result<Inputs, Error> {
    let dataset = load::parse_dataset(dataset.as_bytes());
    let engine = dataset.as_ref().ok().map(|d| d.engine);
    let parse = |text: Option<&str>| {
        text.map(|t| load::parse_package(t.as_bytes(), engine))
            .transpose()
    };
    let package = parse(package);
    let from = parse(from);
    match (from, package, dataset) {
        (Ok(f), Ok(p), Ok(d)) => Ok((f, p, d)),
        (f, p, d) => Err(invalid(&[
            ("package", &problems(p)),
            ("dataset", &problems(d)),
            ("from", &problems(f)),
        ])),
    }
}

fn problems<T>(r: Result<T, depot_migrate_core::Invalid>) -> Vec<Problem> {
    r.err().map(|e| e.problems).unwrap_or_default()
}

/// The `Error` thrown for invalid input: one `FILE:PATH: CODE: message` line per problem,
/// and a `problems` array of `{ file, code, path, message }`.
fn invalid(files: &[(&str, &[Problem])]) -> Error {
    let mut lines = Vec::new();
    let list = Array::new();
    for (file, problems) in files {
        for p in problems.iter() {
            lines.push(format!("{file}:{p}"));
            let item = Object::new();
            set(&item, "file", &JsValue::from_str(file));
            set(&item, "code", &JsValue::from_str(p.code.as_str()));
            set(&item, "path", &JsValue::from_str(&p.path));
            set(&item, "message", &JsValue::from_str(&p.message));
            list.push(&item);
        }
    }
    let error = Error::new(&lines.join("\n"));
    set(&error, "problems", &list);
    error
}

/// An `Error` for what cannot happen with valid core results (never a panic).
fn internal(message: &str) -> Error {
    Error::new(&format!("depot-migrate internal error: {message}"))
}

/// Sets a property on a plain object or an `Error` (cannot fail on those; a failure is
/// ignored rather than trapping).
fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}
