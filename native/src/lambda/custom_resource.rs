//! CloudFormation custom-resource requests from the CDK Provider framework: a
//! synchronous dataset migrates during `cdk deploy`.
//!
//! # Contract (what `DatasetMigration` with a `runner` writes)
//!
//! Resource properties (CloudFormation passes every scalar as a string):
//!
//! | property | meaning |
//! |---|---|
//! | `versionHash` | the version to deploy; a new hash is an Update, so a new version migrates |
//! | `bundleBucket`, `bundleKey` | the S3 object of the *migration bundle* (a CDK asset) |
//! | `environmentUri` | optional; `environmentUri` of the events (default `s3://bundleBucket/bundleKey`) |
//! | `removalPolicy` | optional; `retain` (the default and, for now, the only value) |
//! | `lockWait`, `lockTimeout` | optional durations (`10s`, `5s` by default) |
//!
//! The migration bundle is one JSON file:
//! `{"formatVersion": 1, "versionHash": "<hash>", "dataset": <dataset config>,
//! "package": <package>, "plan": <the synth-time plan, or null>}`. The function checks
//! that the bundle's package and dataset hash to `versionHash` (a bundle from another
//! build is refused), then applies it as `depot-migrate apply --plan` does: the executor
//! recomputes the plan from the snapshot stored in the database and never runs SQL from
//! the bundle.
//!
//! - **Create / Update** apply the version. The synth-time plan is enforced (stale plan:
//!   the deployment fails) when it was made from a baseline, or when nothing is deployed
//!   yet; a plan made without a baseline against a database that has a version is only
//!   advice, and the recomputed plan runs under the dataset's `allowDestructive`.
//!   A failed migration answers an error: the Provider framework fails the resource with
//!   the error in the reason, and CloudFormation rolls back.
//! - **Rollback (forward-only)**: an Update to a version this dataset had deployed before,
//!   or to the deployed version after a later attempt failed, changes nothing, answers
//!   success and records `rollbackSkipped` in history. CloudFormation sends a stack
//!   rollback as such an Update; a deliberate return to an old package is therefore also a
//!   no-op here: change the package (a comment will do) to make it a new version, or run
//!   `depot-migrate apply` from a pipeline.
//! - **Delete** changes nothing (`removalPolicy` `retain`).
//!
//! The answer's `PhysicalResourceId` is `depot-migrate:<environmentId>:<datasetId>`,
//! stable across versions, so an Update never makes CloudFormation delete the old one.

use super::{aws, blocking};
use depot_migrate_aws::sinks::sink_from_arg;
use depot_migrate_core::plan::Plan;
use depot_migrate_core::{load, version_hash, DatasetConfig, MigrationMode, Package};
use depot_migrate_engine::executor::{self, ApplyError, ApplyOptions, ApplyOutcome, DbTarget};
use depot_migrate_engine::store::{HistoryEntry, Store, StoredState, Transition};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// The bundle format, defined once in the core.
pub use depot_migrate_core::bundle::{Bundle, BUNDLE_FORMAT_VERSION};
/// A bundle holds a package (at most 32 MiB) and its plan.
const MAX_BUNDLE_BYTES: usize = 96 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    request_type: String,
    #[serde(default)]
    physical_resource_id: Option<String>,
    #[serde(default)]
    logical_resource_id: String,
    #[serde(default)]
    stack_id: String,
    resource_properties: Properties,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Properties {
    #[serde(default)]
    version_hash: Option<String>,
    #[serde(default)]
    bundle_bucket: Option<String>,
    #[serde(default)]
    bundle_key: Option<String>,
    #[serde(default)]
    environment_uri: Option<String>,
    #[serde(default)]
    removal_policy: Option<String>,
    #[serde(default)]
    lock_wait: Option<String>,
    #[serde(default)]
    lock_timeout: Option<String>,
}

/// A bundle checked against the properties: parsed, validated, hashed.
pub struct Inputs {
    /// The dataset config.
    pub dataset: DatasetConfig,
    /// The package.
    pub package: Package,
    /// The package as the model holds it (the snapshot stored on deploy).
    pub package_json: String,
    /// The synth-time plan.
    pub plan: Option<Plan>,
    /// The version hash.
    pub version: String,
}

/// Parses and checks a bundle's bytes (`name` names it in errors).
pub fn read_bundle(bytes: &[u8], name: &str, expected_version: &str) -> Result<Inputs, String> {
    let bundle: Bundle = serde_json::from_slice(bytes).map_err(|e| {
        format!("{name}: not a depot-migrate migration bundle ({e}); DatasetMigration writes it as {{formatVersion, versionHash, dataset, package, plan}}")
    })?;
    if bundle.format_version != BUNDLE_FORMAT_VERSION {
        return Err(format!(
            "{name}: $.formatVersion is {}, this runner reads {BUNDLE_FORMAT_VERSION}; use the same depot-migrate version for the CDK package and the runner",
            bundle.format_version
        ));
    }
    let problems = |what: &str, e: depot_migrate_core::Invalid| {
        let lines: Vec<String> = e
            .problems
            .iter()
            .map(|p| format!("$.{what}{}: {}: {}", &p.path[1..], p.code, p.message))
            .collect();
        format!("{name}: {}", lines.join("; "))
    };
    let dataset_bytes = serde_json::to_vec(&bundle.dataset)
        .map_err(|e| format!("{name}: $.dataset cannot be written as JSON ({e})"))?;
    let dataset = load::parse_dataset(&dataset_bytes).map_err(|e| problems("dataset", e))?;
    let package_bytes = serde_json::to_vec(&bundle.package)
        .map_err(|e| format!("{name}: $.package cannot be written as JSON ({e})"))?;
    let package = load::parse_package(&package_bytes, Some(dataset.engine))
        .map_err(|e| problems("package", e))?;
    let version = version_hash(&package, &dataset).as_str().to_string();
    if version != bundle.version_hash || version != expected_version {
        return Err(format!(
            "{name}: the package and dataset hash to {version}, but the bundle says {} and the resource asks for {expected_version}; deploy the bundle synthesized with this versionHash",
            bundle.version_hash
        ));
    }
    if dataset.migration_mode.unwrap_or_default() != MigrationMode::Synchronous {
        return Err(format!(
            "{name}: dataset {} is asynchronous; the custom resource migrates synchronous datasets (asynchronous ones go through the queue)",
            dataset.dataset_id
        ));
    }
    let plan = match bundle.plan.filter(|p| !p.is_null()) {
        None => None,
        Some(p) => Some(
            serde_json::from_value::<Plan>(p)
                .map_err(|e| format!("{name}: $.plan is not a depot-migrate plan ({e})"))?,
        ),
    };
    let package_json = serde_json::to_string(&package)
        .map_err(|e| format!("{name}: the package cannot be written as JSON ({e})"))?;
    Ok(Inputs {
        dataset,
        package,
        package_json,
        plan,
        version,
    })
}

/// What a Create/Update does, decided from the stored state and history.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Apply the version (the executor decides whether anything runs).
    Apply {
        /// Whether the synth-time plan must match the recomputed one.
        enforce_plan: bool,
    },
    /// Forward-only: answer success, change nothing, record it.
    SkipRollback {
        /// Why, for history and logs.
        why: String,
    },
}

/// Decides between applying and skipping a rollback (see the module docs).
pub fn decide(
    request_type: &str,
    requested: &str,
    stored: Option<&StoredState>,
    history: &[Value],
    synth_plan: Option<&Plan>,
) -> Decision {
    let deployed = stored.and_then(|s| s.state.deployed_version.as_deref());
    if request_type == "Update" {
        if let Some(s) = stored {
            let st = &s.state;
            if deployed == Some(requested) && !st.is_stable() {
                return Decision::SkipRollback {
                    why: format!(
                        "CloudFormation asked for {requested}, the deployed version, after the attempt of {} ended as it did; forward-only: nothing runs",
                        st.attempted_version.as_deref().unwrap_or("another version")
                    ),
                };
            }
            let deployed_before = history.iter().any(|h| {
                h.get("event").and_then(Value::as_str) == Some("deployed")
                    && h.get("version").and_then(Value::as_str) == Some(requested)
            });
            if deployed_before && deployed != Some(requested) {
                return Decision::SkipRollback {
                    why: format!(
                        "CloudFormation asked for {requested}, a version deployed before; the database stays at {} (forward-only: a rollback never runs a backward migration)",
                        deployed.unwrap_or("nothing")
                    ),
                };
            }
        }
    }
    let enforce_plan = match synth_plan {
        None => false,
        Some(p) => p.from_version.is_some() || deployed.is_none(),
    };
    Decision::Apply { enforce_plan }
}

/// Handles one custom-resource request; the answer is what the Provider framework expects
/// from its `onEvent` handler (`PhysicalResourceId`, `Data`).
pub async fn handle(event: Value) -> Result<Value, String> {
    let req: Request = serde_json::from_value(event).map_err(|e| {
        format!("the custom-resource request is not what the MigrationRunner sends: {e}")
    })?;
    let props = &req.resource_properties;
    let policy = props.removal_policy.as_deref().unwrap_or("retain");
    match req.request_type.as_str() {
        "Delete" => {
            eprintln!(
                "Delete of {}: removalPolicy {policy}: the database and its state are kept",
                req.physical_resource_id.as_deref().unwrap_or("?")
            );
            return Ok(json!({
                "PhysicalResourceId": req.physical_resource_id,
                "Data": {"result": "retained"},
            }));
        }
        "Create" | "Update" => {}
        other => {
            return Err(format!(
                "unknown RequestType {other:?}; expected Create, Update or Delete"
            ))
        }
    }
    if policy != "retain" {
        return Err(format!(
            "removalPolicy {policy:?} is not supported; use retain (the database and its state stay when the resource is deleted)"
        ));
    }
    let requested = props
        .version_hash
        .clone()
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or("the resource property versionHash is missing or not 64 hex digits")?;
    let (bucket, key) = match (&props.bundle_bucket, &props.bundle_key) {
        (Some(b), Some(k)) if !b.is_empty() && !k.is_empty() => (b.clone(), k.clone()),
        _ => return Err("the resource properties bundleBucket and bundleKey are required (the migration bundle asset)".into()),
    };
    let duration = |name: &str, v: &Option<String>, default: u64| -> Result<Duration, String> {
        match v {
            None => Ok(Duration::from_secs(default)),
            Some(s) => humantime::parse_duration(s).map_err(|e| {
                format!("the resource property {name} {s:?}: {e}; write durations like 10s")
            }),
        }
    };
    let lock_wait = duration("lockWait", &props.lock_wait, 10)?;
    let lock_timeout = duration("lockTimeout", &props.lock_timeout, 5)?;
    let environment_uri = props
        .environment_uri
        .clone()
        .unwrap_or_else(|| format!("s3://{bucket}/{key}"));

    let bytes = aws::s3_get(&bucket, &key, MAX_BUNDLE_BYTES).await?;
    let inputs = read_bundle(&bytes, &format!("s3://{bucket}/{key}"), &requested)?;
    let url = super::database_url(inputs.dataset.engine).await?;
    let physical_id = format!(
        "depot-migrate:{}:{}",
        inputs.dataset.environment_id, inputs.dataset.dataset_id
    );
    let request_type = req.request_type.clone();
    let actor = format!(
        "cloudformation {} {}",
        req.stack_id, req.logical_resource_id
    );
    let data = blocking(move || {
        migrate(
            &request_type,
            inputs,
            &url,
            actor,
            ApplyOptions {
                lock_wait,
                lock_timeout,
                environment_uri: Some(environment_uri),
                max_duration: Some(super::max_duration()),
                ..ApplyOptions::default()
            },
        )
    })
    .await?;
    Ok(json!({"PhysicalResourceId": physical_id, "Data": data}))
}

/// The blocking part: state, decision, apply or record the skipped rollback.
fn migrate(
    request_type: &str,
    inputs: Inputs,
    url: &str,
    actor: String,
    mut opts: ApplyOptions,
) -> Result<Value, String> {
    let ds = &inputs.dataset;
    let target = DbTarget::Postgres(url.to_string());
    let mut store = executor::open_store(&target).map_err(|e| e.to_string())?;
    store.ensure_state_schema().map_err(|e| e.to_string())?;
    let stored = store
        .read_state(&ds.dataset_id)
        .map_err(|e| e.to_string())?;
    let history = match &stored {
        Some(_) => store.history(&ds.dataset_id).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    match decide(
        request_type,
        &inputs.version,
        stored.as_ref(),
        &history,
        inputs.plan.as_ref(),
    ) {
        Decision::SkipRollback { why } => {
            eprintln!("{why}");
            let s = stored.unwrap_or_default();
            record_skipped_rollback(store.as_mut(), ds, &s, &inputs.version, &why, actor)?;
            Ok(json!({
                "result": "rollbackSkipped",
                "versionHash": inputs.version,
                "deployedVersion": s.state.deployed_version,
            }))
        }
        Decision::Apply { enforce_plan } => {
            if enforce_plan {
                opts.expected_plan = inputs.plan.clone();
            } else if inputs.plan.is_some() {
                eprintln!("note: the synth-time plan was made without a baseline and the database has a deployed version: the plan recomputed from the database's snapshot runs (allowDestructive still applies); commit a baseline to have the plan checked");
            }
            let mut sink = sink_from_arg(&super::events_sink(), ds.event_bus_name.as_deref())?;
            match executor::apply(
                store.as_mut(),
                sink.as_mut(),
                &inputs.package,
                inputs.package_json.clone(),
                ds,
                &opts,
            ) {
                Ok(ApplyOutcome::AlreadyDeployed(v)) => {
                    eprintln!("dataset {} is already at {v}; nothing to do", ds.dataset_id);
                    Ok(json!({"result": "unchanged", "versionHash": v, "deployedVersion": v}))
                }
                Ok(ApplyOutcome::Deployed { version, plan }) => {
                    eprintln!(
                        "dataset {} deployed {version} ({} steps, planHash {})",
                        ds.dataset_id,
                        plan.steps.len(),
                        plan.plan_hash
                    );
                    Ok(json!({
                        "result": "deployed",
                        "versionHash": version,
                        "deployedVersion": version,
                        "planHash": plan.plan_hash,
                        "steps": plan.steps.len(),
                    }))
                }
                Err(e @ ApplyError::Refused(..)) => {
                    Err(format!("dataset {}: refused: {e}", ds.dataset_id))
                }
                Err(e) => Err(format!("dataset {}: {e}", ds.dataset_id)),
            }
        }
    }
}

/// Records a skipped rollback in history (a compare-and-set that changes no version and
/// publishes no lifecycle event).
fn record_skipped_rollback(
    store: &mut dyn Store,
    ds: &DatasetConfig,
    stored: &StoredState,
    requested: &str,
    why: &str,
    actor: String,
) -> Result<(), String> {
    let at = depot_migrate_engine::clock::now_rfc3339();
    let mut state = stored.state.clone();
    state.revision += 1;
    state.synced = Some(at.clone());
    let t = Transition {
        expected_revision: stored.state.revision,
        state,
        environment_id: ds.environment_id.clone(),
        engine: ds.engine.as_str().to_string(),
        schema: ds.schema.clone(),
        deployed: None,
        history: HistoryEntry {
            at,
            event: "rollbackSkipped".into(),
            version: Some(requested.to_string()),
            run_id: uuid::Uuid::new_v4().to_string(),
            actor,
            reason: Some(why.to_string()),
            detail: json!({"requested": requested, "deployed": stored.state.deployed_version}),
        },
        outbox: None,
        outbox_destination: None,
        submission: None,
        scheduled: false,
        run_id: None,
    };
    store.transition(&t).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use depot_migrate_core::lifecycle::DatasetState;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn stored(desired: &str, attempted: &str, deployed: Option<&str>) -> StoredState {
        StoredState {
            state: DatasetState {
                dataset_id: "d".into(),
                revision: 4,
                desired_version: Some(desired.into()),
                attempted_version: Some(attempted.into()),
                deployed_version: deployed.map(str::to_string),
                ..DatasetState::default()
            },
            ..StoredState::default()
        }
    }

    #[test]
    fn updates_back_to_an_earlier_version_are_skipped() {
        let history = vec![
            json!({"event": "deployed", "version": A}),
            json!({"event": "deployed", "version": B}),
        ];
        let at_b = stored(B, B, Some(B));
        assert!(matches!(
            decide("Update", A, Some(&at_b), &history, None),
            Decision::SkipRollback { .. }
        ));
        // A Create is never a rollback: it applies.
        assert_eq!(
            decide("Create", A, Some(&at_b), &history, None),
            Decision::Apply {
                enforce_plan: false
            }
        );
        // Back to the deployed version after a failed attempt: skipped too.
        let failed_b = stored(B, B, Some(A));
        assert!(matches!(
            decide("Update", A, Some(&failed_b), &history[..1], None),
            Decision::SkipRollback { .. }
        ));
        // A new version applies.
        assert_eq!(
            decide(
                "Update",
                B,
                Some(&stored(A, A, Some(A))),
                &history[..1],
                None
            ),
            Decision::Apply {
                enforce_plan: false
            }
        );
    }
}
