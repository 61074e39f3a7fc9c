//! Lifecycle state, phases and events (docs/design.md, "State, lifecycle and events"), as
//! pure data. The executor passes in ids and times; nothing here reads a clock.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `source` of every lifecycle event.
pub const SOURCE: &str = "tech.stage.depot";
/// `detail-type` of every lifecycle event.
pub const DETAIL_TYPE: &str = "migration-lifecycle";
/// Longest statement or message kept whole in an event (history keeps everything).
pub const MAX_EVENT_TEXT: usize = 4096;

/// The four lifecycle events of the Depot migrations observability page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleEvent {
    /// `desiredVersion` changed: a migration is scheduled.
    Desired,
    /// `attemptedVersion` changed: the migration has started.
    Attempted,
    /// `deployedVersion` changed: the migration completed.
    Deployed,
    /// The migration failed and that was detected.
    Failed,
}

impl LifecycleEvent {
    /// All four, in lifecycle order.
    pub const ALL: [LifecycleEvent; 4] = [
        LifecycleEvent::Desired,
        LifecycleEvent::Attempted,
        LifecycleEvent::Deployed,
        LifecycleEvent::Failed,
    ];

    /// The name used in events (`deployed`).
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleEvent::Desired => "desired",
            LifecycleEvent::Attempted => "attempted",
            LifecycleEvent::Deployed => "deployed",
            LifecycleEvent::Failed => "failed",
        }
    }
}

/// A dataset's migration state, as the executor stores it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetState {
    /// Dataset id.
    pub dataset_id: String,
    /// Dataset alias.
    pub alias: Option<String>,
    /// Every change increments it; every change is a compare-and-set on it.
    pub revision: i64,
    /// When the state last changed (RFC 3339).
    pub synced: Option<String>,
    /// The version the dataset should be at.
    pub desired_version: Option<String>,
    /// The version last attempted.
    pub attempted_version: Option<String>,
    /// The version deployed.
    pub deployed_version: Option<String>,
    /// The last failure, while it is not resolved.
    pub last_failure: Option<FailureRecord>,
}

impl DatasetState {
    /// desired = attempted = deployed (all three unset counts too): no migration is
    /// pending or running.
    pub fn is_stable(&self) -> bool {
        self.desired_version == self.deployed_version
            && self.attempted_version == self.deployed_version
    }

    /// attempted is set and differs from deployed, and no failure is recorded: a run is
    /// (or was, if its lease is lost) working on it.
    pub fn in_progress(&self) -> bool {
        self.attempted_version.is_some()
            && self.attempted_version != self.deployed_version
            && self.last_failure.is_none()
    }
}

/// Why a run failed: the `class` of a failure record and of a `failed` event's `error`.
/// The list in `docs/errors.md` ("Failure classes") matches these variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum FailureClass {
    /// A statement of a step failed.
    #[default]
    Step,
    /// A statement waited longer than `lock_timeout` for a table lock (retryable).
    LockTimeout,
    /// The connection to the database broke.
    Connection,
    /// The database refused the credentials while the run was going.
    Auth,
    /// The run's lease was lost (another executor took the dataset, or the run died).
    LeaseLost,
    /// The run went over its `maxDuration` (recorded by the watchdog).
    Timeout,
    /// A newer desired version or another run changed the state under this run.
    Superseded,
    /// The run was stopped (a signal, or a cancelled statement) at a step boundary.
    Interrupted,
    /// A scheduled migration that never started.
    NotStarted,
}

impl FailureClass {
    /// Every class, in the order `docs/errors.md` lists them.
    pub const ALL: [FailureClass; 9] = [
        FailureClass::Step,
        FailureClass::LockTimeout,
        FailureClass::Connection,
        FailureClass::Auth,
        FailureClass::LeaseLost,
        FailureClass::Timeout,
        FailureClass::Superseded,
        FailureClass::Interrupted,
        FailureClass::NotStarted,
    ];

    /// The name as events, history and `status` write it (`lockTimeout`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Step => "step",
            FailureClass::LockTimeout => "lockTimeout",
            FailureClass::Connection => "connection",
            FailureClass::Auth => "auth",
            FailureClass::LeaseLost => "leaseLost",
            FailureClass::Timeout => "timeout",
            FailureClass::Superseded => "superseded",
            FailureClass::Interrupted => "interrupted",
            FailureClass::NotStarted => "notStarted",
        }
    }
}

impl std::fmt::Display for FailureClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What broke, and what had committed before it broke.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    /// Why it failed.
    pub class: FailureClass,
    /// Index of the failing step, when a step failed.
    pub step_index: Option<usize>,
    /// Key of the failing step.
    pub step_key: Option<String>,
    /// The failing statement.
    pub statement: Option<String>,
    /// SQLSTATE (Postgres) or the engine's error code.
    pub sqlstate: Option<String>,
    /// The message, without row values or credentials.
    pub message: String,
    /// Keys of the steps that had committed (non-transactional steps only; a rolled-back
    /// transactional plan leaves this empty).
    pub committed_steps: Vec<String>,
    /// Whether the database is exactly at the version before the migration.
    pub rolled_back: bool,
    /// Marks texts shortened for the event (history keeps them whole).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl FailureRecord {
    /// A copy whose statement and message fit in an event, marked when shortened.
    pub fn for_event(&self) -> FailureRecord {
        let mut f = self.clone();
        for text in [f.statement.as_mut(), Some(&mut f.message)]
            .into_iter()
            .flatten()
        {
            if text.len() > MAX_EVENT_TEXT {
                let mut cut = MAX_EVENT_TEXT;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                text.push_str("…[truncated]");
                f.truncated = true;
            }
        }
        f
    }
}

/// Where a dataset is in its lifecycle (`status` prints it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Nothing desired yet.
    New,
    /// desired = attempted = deployed.
    Stable,
    /// desired differs from attempted: scheduled, not started.
    Scheduled,
    /// attempted differs from deployed and an executor holds the lease.
    InProgress,
    /// attempted differs from deployed with a recorded failure, or nobody holds the lease.
    Failed,
}

/// The phase of a state. The observability page's rule of thumb cannot tell in-progress from failed;
/// the recorded failure and the lease can.
pub fn phase(state: &DatasetState, lease_held: bool) -> Phase {
    match (
        &state.desired_version,
        &state.attempted_version,
        &state.deployed_version,
    ) {
        (None, _, _) => Phase::New,
        (d, a, _) if d != a => Phase::Scheduled,
        (_, a, dep) if a == dep => Phase::Stable,
        _ if state.last_failure.is_some() || !lease_held => Phase::Failed,
        _ => Phase::InProgress,
    }
}

/// Everything an event says about the dataset and the run, apart from the event itself.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventContext {
    /// Environment id.
    pub environment_id: String,
    /// Dataset id.
    pub dataset_id: String,
    /// Dataset alias.
    pub dataset_alias: String,
    /// Where the plan lives (the S3 URI of the plan asset).
    pub environment_uri: String,
    /// Engine id.
    pub engine: String,
    /// `synchronous` or `asynchronous`.
    pub migration_mode: String,
    /// One id shared by the events of one submission or execution.
    pub run_id: String,
    /// The deployed version the plan starts from.
    pub previous_version_hash: Option<String>,
    /// The plan's hash.
    pub plan_hash: Option<String>,
}

/// The `detail` of a lifecycle event: the observability page's `MigrationLifecycleEvent` plus our
/// additions. None of the page's members may be renamed.
pub fn event_detail(
    ctx: &EventContext,
    event: LifecycleEvent,
    version_hash: &str,
    event_id: &str,
    revision: i64,
    error: Option<&FailureRecord>,
    recovery: Option<&Value>,
) -> Value {
    let mut detail = json!({
        "type": "lifecycle",
        "environmentId": ctx.environment_id,
        "datasetId": ctx.dataset_id,
        "datasetAlias": ctx.dataset_alias,
        "environmentUri": ctx.environment_uri,
        "datasetVersionHash": version_hash,
        "event": event.as_str(),
        "eventId": event_id,
        "revision": revision,
        "runId": ctx.run_id,
        "previousVersionHash": ctx.previous_version_hash,
        "planHash": ctx.plan_hash,
        "engine": ctx.engine,
        "migrationMode": ctx.migration_mode,
    });
    if let Some(e) = error {
        detail["error"] = serde_json::to_value(e.for_event()).unwrap_or(Value::Null);
    }
    if let Some(r) = recovery {
        detail["recovery"] = r.clone();
    }
    detail
}

/// Adds how long the run took (`durationMs`, from its start to this event) to the detail
/// of a `deployed` or `failed` event; other events carry no duration. The metric filter
/// of the CDK package's `MigrationObservability` reads it as `$.detail.durationMs`.
///
/// ```
/// use depot_migrate_core::lifecycle::{set_duration_ms, LifecycleEvent};
/// let mut d = serde_json::json!({"event": "deployed"});
/// set_duration_ms(&mut d, LifecycleEvent::Deployed, 1234);
/// assert_eq!(d["durationMs"], 1234);
/// let mut a = serde_json::json!({"event": "attempted"});
/// set_duration_ms(&mut a, LifecycleEvent::Attempted, 5);
/// assert!(a.get("durationMs").is_none());
/// ```
pub fn set_duration_ms(detail: &mut Value, event: LifecycleEvent, duration_ms: u64) {
    if matches!(event, LifecycleEvent::Deployed | LifecycleEvent::Failed) {
        detail["durationMs"] = json!(duration_ms);
    }
}

/// The full EventBridge envelope, as the `stdout` and `jsonl` sinks write it (on
/// EventBridge, AWS sets `id`, `account` and `region`).
pub fn envelope(id: &str, time: &str, account: &str, region: &str, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account,
        "time": time,
        "region": region,
        "resources": [],
        "detail": detail,
    })
}

/// The EventBridge event pattern for lifecycle events, optionally narrowed to datasets
/// (by id), aliases and events. The CDK construct and `alert-rule` both use this.
///
/// ```
/// use depot_migrate_core::lifecycle::{event_pattern, LifecycleEvent};
/// let p = event_pattern(&[], &[], &[LifecycleEvent::Failed]);
/// assert_eq!(p["detail"]["event"][0], "failed");
/// assert_eq!(p["source"][0], "tech.stage.depot");
/// ```
pub fn event_pattern(
    dataset_ids: &[String],
    aliases: &[String],
    events: &[LifecycleEvent],
) -> Value {
    let events: Vec<&str> = if events.is_empty() {
        LifecycleEvent::ALL.iter().map(|e| e.as_str()).collect()
    } else {
        events.iter().map(|e| e.as_str()).collect()
    };
    let mut detail = json!({ "type": ["lifecycle"], "event": events });
    if !dataset_ids.is_empty() {
        detail["datasetId"] = json!(dataset_ids);
    }
    if !aliases.is_empty() {
        detail["datasetAlias"] = json!(aliases);
    }
    json!({ "source": [SOURCE], "detail-type": [DETAIL_TYPE], "detail": detail })
}

/// The lines of the alert message ([`alert_input_transformer`]), placeholders in
/// angle brackets. The last three are for `failed` events (the others leave them empty);
/// the commands name the dataset by id, so the on-call engineer needs no dataset file.
pub const ALERT_LINES: [&str; 6] = [
    "Migration lifecycle event for dataset <datasetId> (<datasetAlias>)",
    "lifecycle event: <event> -> version hash <versionHash>",
    "in environment <environmentId>",
    "if failed: step <stepKey>, error class <errorClass>, SQLSTATE or engine code <sqlstate>",
    "message: <errorMessage>",
    "next: depot-migrate status --dataset-id <datasetId> --environment-id <environmentId> and depot-migrate history --dataset-id <datasetId> (with --db URL, the dataset's state store), then depot-migrate recover --dataset-id <datasetId> --resolve retry|rolled-back|deployed --reason TEXT",
];

/// The alert message for lifecycle events, as an EventBridge input transformer
/// (`{InputPathsMap, InputTemplate}`): the three lines of the Depot migrations
/// observability page, reading the real field `$.detail.datasetVersionHash` (the page's
/// `$.detail.versionHash` does not exist), then, filled on `failed` events, the failing
/// step, the error class, the SQLSTATE (or engine code) and the message as the event
/// carries it (the executor keeps row values and credentials out of it), and the commands
/// to run next. Every placeholder sits inside the quoted template, which both AWS and
/// moto accept.
///
/// ```
/// let t = depot_migrate_core::lifecycle::alert_input_transformer();
/// assert_eq!(t["InputPathsMap"]["versionHash"], "$.detail.datasetVersionHash");
/// assert_eq!(t["InputPathsMap"]["errorClass"], "$.detail.error.class");
/// ```
pub fn alert_input_transformer() -> Value {
    json!({
        "InputPathsMap": {
            "datasetId": "$.detail.datasetId",
            "datasetAlias": "$.detail.datasetAlias",
            "event": "$.detail.event",
            "versionHash": "$.detail.datasetVersionHash",
            "environmentId": "$.detail.environmentId",
            "stepKey": "$.detail.error.stepKey",
            "errorClass": "$.detail.error.class",
            "sqlstate": "$.detail.error.sqlstate",
            "errorMessage": "$.detail.error.message",
        },
        "InputTemplate": format!("\"{}\"", ALERT_LINES.join("\\n")),
    })
}

/// Options of an event pattern, as the CDK construct and the wasm build pass them:
/// absent or `null` members mean "no filter" (all datasets, all four events).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventPatternOptions {
    /// Match these dataset ids only.
    #[serde(default)]
    pub dataset_ids: Option<Vec<String>>,
    /// Match these aliases only.
    #[serde(default)]
    pub aliases: Option<Vec<String>>,
    /// Match these events only.
    #[serde(default)]
    pub events: Option<Vec<LifecycleEvent>>,
}

/// Parses [`EventPatternOptions`] from JSON text and builds the pattern; bad options
/// are reported like any other input, with a code and a JSONPath.
///
/// ```
/// let p = depot_migrate_core::lifecycle::event_pattern_from_json(r#"{"events":["failed"]}"#).unwrap();
/// assert_eq!(p["detail"]["event"][0], "failed");
/// assert!(depot_migrate_core::lifecycle::event_pattern_from_json(r#"{"event":[]}"#).is_err());
/// ```
pub fn event_pattern_from_json(text: &str) -> Result<Value, crate::Invalid> {
    use crate::error::{is_unsafe_char, Code, JsonPath, Problem};
    let mut de = serde_json::Deserializer::from_str(text);
    // MapOnly: a derived struct would also accept an array of its members.
    let (path, error) = match serde_path_to_error::deserialize(&mut de) {
        Ok(crate::model::MapOnly::<EventPatternOptions>(o)) => match de.end() {
            Ok(()) => {
                return Ok(event_pattern(
                    &o.dataset_ids.unwrap_or_default(),
                    &o.aliases.unwrap_or_default(),
                    &o.events.unwrap_or_default(),
                ))
            }
            Err(e) => (JsonPath::root(), e),
        },
        Err(e) => {
            let mut path = JsonPath::root();
            for segment in e.path() {
                path = match segment {
                    serde_path_to_error::Segment::Seq { index } => path.index(*index),
                    serde_path_to_error::Segment::Map { key } => path.key(key),
                    _ => path,
                };
            }
            (path, e.into_inner())
        }
    };
    // serde quotes member names raw: escape what would break the one-line format.
    let message: String = error
        .to_string()
        .chars()
        .map(|c| {
            if is_unsafe_char(c) {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect();
    let code = if !error.is_data() {
        return Err(crate::Invalid::one(
            Code::MalformedJson,
            "$",
            format!("malformed JSON: {message}; fix the syntax there"),
        ));
    } else if message.starts_with("unknown field") {
        Code::UnknownField
    } else if message.starts_with("unknown variant") {
        Code::InvalidEnum
    } else if message.starts_with("duplicate field") {
        Code::DuplicateMember
    } else {
        Code::WrongType
    };
    Err(crate::Invalid {
        problems: vec![Problem::new(code, path, message)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_classes_serialize_as_named_and_are_documented() {
        let docs = include_str!("../../docs/errors.md");
        let listed = docs
            .split("## Failure classes")
            .nth(1)
            .expect("docs/errors.md has a \"Failure classes\" section");
        let mut documented = Vec::new();
        for line in listed.lines() {
            if let Some(rest) = line.strip_prefix("| `") {
                documented.push(rest.split('`').next().unwrap_or_default().to_string());
            }
        }
        let names: Vec<String> = FailureClass::ALL
            .iter()
            .map(|c| c.as_str().to_string())
            .collect();
        assert_eq!(
            documented, names,
            "docs/errors.md lists exactly the failure classes, in order"
        );
        for c in FailureClass::ALL {
            let json = serde_json::to_value(c).expect("a class serializes");
            assert_eq!(json, serde_json::json!(c.as_str()));
            let back: FailureClass = serde_json::from_value(json).expect("and reads back");
            assert_eq!(back, c);
        }
    }

    fn state(d: Option<&str>, a: Option<&str>, dep: Option<&str>) -> DatasetState {
        DatasetState {
            desired_version: d.map(str::to_string),
            attempted_version: a.map(str::to_string),
            deployed_version: dep.map(str::to_string),
            ..DatasetState::default()
        }
    }

    #[test]
    fn phases_follow_the_observability_page_and_tell_failed_from_in_progress() {
        assert_eq!(phase(&state(None, None, None), false), Phase::New);
        assert_eq!(
            phase(&state(Some("a"), Some("a"), Some("a")), false),
            Phase::Stable
        );
        assert_eq!(
            phase(&state(Some("b"), Some("a"), Some("a")), false),
            Phase::Scheduled
        );
        assert_eq!(
            phase(&state(Some("b"), Some("b"), Some("a")), true),
            Phase::InProgress
        );
        assert_eq!(
            phase(&state(Some("b"), Some("b"), Some("a")), false),
            Phase::Failed
        );
        let mut failed = state(Some("b"), Some("b"), Some("a"));
        failed.last_failure = Some(FailureRecord::default());
        assert_eq!(phase(&failed, true), Phase::Failed);
    }

    #[test]
    fn event_detail_has_the_observability_page_fields() {
        let ctx = EventContext {
            environment_id: "e".into(),
            dataset_id: "d".into(),
            dataset_alias: "A".into(),
            ..EventContext::default()
        };
        let d = event_detail(&ctx, LifecycleEvent::Deployed, "h", "1", 3, None, None);
        for k in [
            "type",
            "environmentId",
            "datasetId",
            "datasetAlias",
            "environmentUri",
            "datasetVersionHash",
            "event",
        ] {
            assert!(d.get(k).is_some(), "{k}");
        }
        assert_eq!(d["event"], "deployed");
        let env = envelope("id", "2025-05-16T08:13:22Z", "", "", d);
        assert_eq!(env["detail-type"], "migration-lifecycle");
        assert_eq!(env["version"], "0");
    }

    #[test]
    fn long_failure_texts_are_truncated_and_marked() {
        let f = FailureRecord {
            message: "é".repeat(MAX_EVENT_TEXT),
            ..FailureRecord::default()
        };
        let e = f.for_event();
        assert!(e.truncated && e.message.len() < f.message.len());
        assert!(!FailureRecord::default().for_event().truncated);
    }

    /// Renders the alert template the way EventBridge does (each placeholder replaced by
    /// the value at its path) on a `failed` event detail built by `event_detail`.
    #[test]
    fn failed_alert_names_the_step_class_sqlstate_message_and_next_commands() {
        let ctx = EventContext {
            environment_id: "e2e404529091ed2".into(),
            dataset_id: "9afc0c483ed3".into(),
            dataset_alias: "WsDevDogSrc".into(),
            ..EventContext::default()
        };
        let failure = FailureRecord {
            class: FailureClass::Step,
            step_index: Some(1),
            step_key: Some("addColumn:dog.active".into()),
            sqlstate: Some("42701".into()),
            message: "column active of relation dog already exists".into(),
            ..FailureRecord::default()
        };
        let detail = event_detail(
            &ctx,
            LifecycleEvent::Failed,
            "ab",
            "1",
            4,
            Some(&failure),
            None,
        );
        let event = envelope("1", "2025-05-16T08:13:22Z", "", "", detail);
        let t = alert_input_transformer();
        let mut text = t["InputTemplate"]
            .as_str()
            .expect("template text")
            .to_string();
        for (name, path) in t["InputPathsMap"].as_object().expect("paths map") {
            let mut v = &event;
            for key in path
                .as_str()
                .expect("path text")
                .trim_start_matches("$.")
                .split('.')
            {
                v = &v[key];
            }
            let value = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            text = text.replace(&format!("<{name}>"), &value);
        }
        let text: String =
            serde_json::from_str(&text).expect("the rendered template is a JSON string");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "Migration lifecycle event for dataset 9afc0c483ed3 (WsDevDogSrc)"
        );
        assert_eq!(lines[1], "lifecycle event: failed -> version hash ab");
        assert_eq!(
            lines[3],
            "if failed: step addColumn:dog.active, error class step, SQLSTATE or engine code 42701"
        );
        assert_eq!(
            lines[4],
            "message: column active of relation dog already exists"
        );
        assert!(
            lines[5].starts_with(
                "next: depot-migrate status --dataset-id 9afc0c483ed3 --environment-id e2e404529091ed2 and depot-migrate history --dataset-id 9afc0c483ed3 "
            ),
            "{}",
            lines[5]
        );
        assert!(lines[5].contains(
            "depot-migrate recover --dataset-id 9afc0c483ed3 --resolve retry|rolled-back|deployed"
        ));
        assert!(!text.contains('<'), "every placeholder filled: {text}");
    }
}
