//! Operator commands, in one place for the command line and the runner: `status`,
//! `history`, `snapshot`, `list`, `wait`, `recover`, `events flush` and `watchdog`.
//!
//! The `depot-migrate` command line calls [`execute`] with what its arguments say; with
//! `--runner FUNCTION` it sends the same operation as a [`Request`] to the
//! `MigrationRunner` Lambda function instead, which checks it ([`Request::parse`],
//! [`Allowed`]) and calls [`execute`] inside the VPC with its own database. Either way
//! the answer is a [`Reply`]: the document `--output json` prints, what the text output
//! adds, notes for stderr, or the error with its kind and `DR` code. The command line
//! renders a runner's reply exactly as its own.
//!
//! The request on the wire (JSON, version [`VERSION`]):
//!
//! ```json
//! {"depotMigrate": "operator", "version": 1, "operation": "recover",
//!  "datasetId": "dogs", "environmentId": "prod",
//!  "resolve": "retry", "reason": "index dropped by hand", "force": false,
//!  "lockWaitMs": 10000, "lockTimeoutMs": 5000, "maxDurationMs": 900000,
//!  "caller": {"arn": "arn:aws:sts::123456789012:assumed-role/OnCall/alice",
//!             "account": "123456789012", "userId": "AROA…:alice"}}
//! ```
//!
//! and the answer ([`Response`]):
//!
//! ```json
//! {"depotMigrate": "operatorResponse", "version": 1, "operation": "recover",
//!  "ok": true, "output": {"ok": true, "result": "deployed", …}, "extra": null,
//!  "notes": [], "requestId": "…"}
//! ```
//!
//! or with `"ok": false, "error": {"kind": "refused", "code": "DR1520", "message": …}`.

pub mod dataset;
pub mod reads;

pub use dataset::DatasetRef;

use crate::error::ErrorCode;
use crate::events::{self, EventSink};
use crate::executor::{self, ApplyError, ApplyOptions, RecoverOptions};
use crate::store::StoreError;
use crate::wait::{WaitError, WaitOutcome};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// The version of the operator request and response this build speaks.
pub const VERSION: u32 = 1;
/// The `depotMigrate` member of a request (how the runner tells it from other events).
pub const REQUEST_MARKER: &str = "operator";
/// The `depotMigrate` member of a response.
pub const RESPONSE_MARKER: &str = "operatorResponse";

/// What kind of error an operator command ended with; the command line maps it to its
/// exit code (usage 2, refused 3, failed 1, timeout 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// Bad input or usage (exit 2).
    Usage,
    /// Refused before anything ran (exit 3).
    Refused,
    /// The command's work failed (exit 1).
    Failed,
    /// `wait` ran out of time (exit 3).
    Timeout,
}

/// Why an operator command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpError {
    /// The kind (the exit code).
    pub kind: ErrorKind,
    /// The `DR` code (`docs/errors.md`), when the kind has one.
    #[serde(default, with = "code_serde", skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// One line for people.
    pub message: String,
}

mod code_serde {
    use crate::error::ErrorCode;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(c: &Option<ErrorCode>, s: S) -> Result<S::Ok, S::Error> {
        match c {
            Some(c) => s.serialize_str(c.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ErrorCode>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        // A code this build does not know (a newer runner) is kept out, not an error:
        // the kind and the message still say what happened.
        Ok(s.and_then(|s| ErrorCode::from_code(&s)))
    }
}

impl OpError {
    /// Bad input or usage (exit 2).
    pub fn usage(message: impl Into<String>) -> OpError {
        OpError {
            kind: ErrorKind::Usage,
            code: None,
            message: message.into(),
        }
    }
    /// Refused (exit 3).
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> OpError {
        OpError {
            kind: ErrorKind::Refused,
            code: Some(code),
            message: message.into(),
        }
    }
    /// Failed (exit 1).
    pub fn failed(code: ErrorCode, message: impl Into<String>) -> OpError {
        OpError {
            kind: ErrorKind::Failed,
            code: Some(code),
            message: message.into(),
        }
    }
}

impl From<StoreError> for OpError {
    /// Refused credentials are bad input (they come from the caller's environment and
    /// nothing ran), the rest a failure.
    fn from(e: StoreError) -> OpError {
        match e {
            StoreError::Credentials(m) => OpError::usage(m),
            other => OpError::failed(other.code(), other.to_string()),
        }
    }
}

impl From<ApplyError> for OpError {
    fn from(e: ApplyError) -> OpError {
        match e {
            ApplyError::Credentials(m) => OpError::usage(m),
            ApplyError::Refused(code, m) => OpError::refused(code, m),
            ApplyError::Store(m) => OpError::failed(ErrorCode::Store, m),
            failed @ ApplyError::Failed(_) => {
                OpError::failed(ErrorCode::MigrationFailed, failed.to_string())
            }
        }
    }
}

/// How `recover` resolves (the wire spelling is the command line's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolve {
    /// The change is in place.
    Deployed,
    /// The database is at the old version.
    RolledBack,
    /// Resume at the first step not completed.
    Retry,
}

impl From<Resolve> for executor::Resolve {
    fn from(r: Resolve) -> executor::Resolve {
        match r {
            Resolve::Deployed => executor::Resolve::Deployed,
            Resolve::RolledBack => executor::Resolve::RolledBack,
            Resolve::Retry => executor::Resolve::Retry,
        }
    }
}

/// An operation and its arguments (the dataset is given beside it, as a [`DatasetRef`]
/// in process or `datasetId`/`environmentId` on the wire). Durations are milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "operation",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Operation {
    /// `status`.
    Status {},
    /// `history`.
    History {},
    /// `snapshot`.
    Snapshot {},
    /// `list`.
    List {},
    /// `wait`: until `versionHash` is deployed, failed or superseded, or the timeout.
    Wait {
        /// The version hash waited for.
        version_hash: String,
        /// How long to wait.
        timeout_ms: u64,
        /// How often to look.
        interval_ms: u64,
    },
    /// `recover`.
    Recover {
        /// How to resolve.
        resolve: Resolve,
        /// Why (recorded in history).
        reason: String,
        /// Skip the catalog check.
        #[serde(default)]
        force: bool,
        /// How long to wait for another executor's lock.
        lock_wait_ms: u64,
        /// The database lock timeout of each DDL statement.
        lock_timeout_ms: u64,
        /// How long the retried run may take.
        max_duration_ms: u64,
    },
    /// `events flush`.
    EventsFlush {},
    /// `watchdog`.
    Watchdog {},
}

/// The operations, by their wire names.
pub const OPERATIONS: [&str; 8] = [
    "status",
    "history",
    "snapshot",
    "list",
    "wait",
    "recover",
    "eventsFlush",
    "watchdog",
];

/// The operations that change nothing: what a runner allows by default.
pub const READ_OPERATIONS: [&str; 5] = ["status", "history", "snapshot", "list", "wait"];

impl Operation {
    /// The wire name (`eventsFlush`).
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Status {} => "status",
            Operation::History {} => "history",
            Operation::Snapshot {} => "snapshot",
            Operation::List {} => "list",
            Operation::Wait { .. } => "wait",
            Operation::Recover { .. } => "recover",
            Operation::EventsFlush {} => "eventsFlush",
            Operation::Watchdog {} => "watchdog",
        }
    }

    /// The command line that runs it (`events flush`).
    pub fn command(&self) -> &'static str {
        match self {
            Operation::EventsFlush {} => "events flush",
            other => other.name(),
        }
    }

    /// Whether it names one dataset.
    pub fn takes_dataset(&self) -> bool {
        !matches!(
            self,
            Operation::List {} | Operation::EventsFlush {} | Operation::Watchdog {}
        )
    }

    /// Whether it changes state (and so records who asked).
    pub fn mutating(&self) -> bool {
        !READ_OPERATIONS.contains(&self.name())
    }
}

/// Who sent a runner request, as STS `GetCallerIdentity` told the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Caller {
    /// The caller's ARN (`arn:aws:sts::123456789012:assumed-role/OnCall/alice`).
    pub arn: String,
    /// The account.
    pub account: String,
    /// The unique id of the principal.
    pub user_id: String,
}

/// A runner request: one operation on one dataset (or on the whole database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request version ([`VERSION`]).
    pub version: u32,
    /// The operation and its arguments.
    pub operation: Operation,
    /// The dataset id, for the operations that name one.
    pub dataset_id: Option<String>,
    /// The environment the dataset must be recorded for.
    pub environment_id: Option<String>,
    /// Who asked (required for the operations that change state).
    pub caller: Option<Caller>,
}

/// The envelope members of a request (the rest belongs to the operation).
const ENVELOPE: [&str; 5] = [
    "depotMigrate",
    "version",
    "datasetId",
    "environmentId",
    "caller",
];

impl Request {
    /// The request as JSON (what the command line sends).
    pub fn to_json(&self) -> Value {
        let mut doc = match serde_json::to_value(&self.operation) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        doc.insert("depotMigrate".into(), json!(REQUEST_MARKER));
        doc.insert("version".into(), json!(self.version));
        if let Some(id) = &self.dataset_id {
            doc.insert("datasetId".into(), json!(id));
        }
        if let Some(env) = &self.environment_id {
            doc.insert("environmentId".into(), json!(env));
        }
        if let Some(c) = &self.caller {
            doc.insert("caller".into(), json!(c));
        }
        Value::Object(doc)
    }

    /// Whether an event is an operator request (by its `depotMigrate` member).
    pub fn is_request(event: &Value) -> bool {
        event.get("depotMigrate").and_then(Value::as_str) == Some(REQUEST_MARKER)
    }

    /// Reads and checks a request as the command line checks its arguments: the version
    /// this build speaks, a known operation, its arguments (types, no unknown members),
    /// the dataset id where the operation needs one, and the caller for an operation
    /// that changes state. Every error names the member and what to do.
    pub fn parse(event: &Value) -> Result<Request, OpError> {
        let Some(obj) = event.as_object() else {
            return Err(invalid("the request is not a JSON object".into()));
        };
        let version = obj.get("version");
        match version.and_then(Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            _ => {
                return Err(OpError::refused(
                    ErrorCode::OperatorVersion,
                    format!(
                        "operator request version {} is not one this runner speaks (it speaks version {VERSION}); use a depot-migrate of the runner's release, or update the runner",
                        version.map(Value::to_string).unwrap_or_else(|| "(missing)".into())
                    ),
                ));
            }
        }
        let op_name = obj.get("operation").and_then(Value::as_str);
        if !op_name.is_some_and(|n| OPERATIONS.contains(&n)) {
            return Err(OpError::refused(
                ErrorCode::UnknownOperation,
                format!(
                    "operation {} is not an operator operation; the operations are {}",
                    obj.get("operation")
                        .map(Value::to_string)
                        .unwrap_or_else(|| "(missing)".into()),
                    OPERATIONS.join(", ")
                ),
            ));
        }
        let rest: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| !ENVELOPE.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let operation: Operation = serde_json::from_value(Value::Object(rest))
            .map_err(|e| invalid(format!("{}: {e}", op_name.unwrap_or("?"))))?;
        let string = |key: &str| -> Result<Option<String>, OpError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(invalid(format!("$.{key} is {other}, not a string"))),
            }
        };
        let dataset_id = string("datasetId")?;
        let environment_id = string("environmentId")?;
        match (&dataset_id, operation.takes_dataset()) {
            (Some(id), true) => dataset::check_ids(
                ("$.datasetId", id),
                environment_id.as_deref().map(|e| ("$.environmentId", e)),
            )?,
            (None, true) => {
                return Err(invalid(format!(
                    "$.datasetId is missing: {} names one dataset",
                    operation.command()
                )))
            }
            (Some(_), false) => {
                return Err(invalid(format!(
                    "$.datasetId is given, but {} works on every dataset of the database",
                    operation.command()
                )))
            }
            (None, false) => {}
        }
        let caller = match obj.get("caller") {
            None | Some(Value::Null) => None,
            Some(c) => Some(
                serde_json::from_value::<Caller>(c.clone())
                    .map_err(|e| invalid(format!("$.caller: {e}")))?,
            ),
        };
        if operation.mutating() && caller.as_ref().is_none_or(|c| c.arn.trim().is_empty()) {
            return Err(OpError::refused(
                ErrorCode::CallerIdentity,
                format!(
                    "{} changes state, so the request must say who asks ($.caller, from STS GetCallerIdentity); depot-migrate --runner sends it",
                    operation.command()
                ),
            ));
        }
        if let Operation::Recover { reason, .. } = &operation {
            if reason.trim().is_empty() {
                return Err(invalid(
                    "$.reason must say why (it is recorded in history)".into(),
                ));
            }
        }
        if let Operation::Wait { version_hash, .. } = &operation {
            check_version_hash(version_hash, "$.versionHash")?;
        }
        Ok(Request {
            version: VERSION,
            operation,
            dataset_id,
            environment_id,
            caller,
        })
    }

    /// The dataset the request names, as [`execute`] takes it.
    pub fn dataset(&self) -> Option<DatasetRef> {
        self.dataset_id.as_ref().map(|id| DatasetRef::Id {
            id: id.clone(),
            environment_id: self.environment_id.clone(),
        })
    }
}

fn invalid(message: String) -> OpError {
    OpError {
        kind: ErrorKind::Usage,
        code: Some(ErrorCode::InvalidOperatorRequest),
        message: format!("invalid operator request: {message}"),
    }
}

/// Checks a version hash argument (`wait --version`, `$.versionHash`).
pub fn check_version_hash(v: &str, what: &str) -> Result<(), OpError> {
    if v.len() != 64
        || !v
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(OpError::usage(format!(
            "{what} {v:?} is not a version hash; pass the 64 lowercase hex digits `depot-migrate hash` prints"
        )));
    }
    Ok(())
}

/// The operations a runner allows (`DEPOT_RUNNER_OPERATIONS`, set by the
/// `MigrationRunner` construct's `grantRead` / `grantOperate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed(Vec<String>);

impl Allowed {
    /// From the variable's value: operation names separated by commas or spaces; unset
    /// or empty: the read operations ([`READ_OPERATIONS`]). An unknown name is an error
    /// (the runner then refuses every operator request and says why).
    pub fn from_config(value: Option<&str>) -> Result<Allowed, String> {
        let names: Vec<String> = value
            .unwrap_or("")
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            return Ok(Allowed(
                READ_OPERATIONS.iter().map(|s| s.to_string()).collect(),
            ));
        }
        if let Some(bad) = names.iter().find(|n| !OPERATIONS.contains(&n.as_str())) {
            return Err(format!(
                "DEPOT_RUNNER_OPERATIONS names {bad:?}, which is not an operation; the operations are {}",
                OPERATIONS.join(", ")
            ));
        }
        Ok(Allowed(names))
    }

    /// Refuses an operation the configuration does not allow.
    pub fn check(&self, op: &Operation, function: &str) -> Result<(), OpError> {
        if self.0.iter().any(|n| n == op.name()) {
            return Ok(());
        }
        Err(OpError::refused(
            ErrorCode::OperationNotAllowed,
            format!(
                "the runner {function} does not allow {} (it allows {}); the stack gives it with MigrationRunner.grantOperate(...), which sets DEPOT_RUNNER_OPERATIONS",
                op.command(),
                self.0.join(", ")
            ),
        ))
    }
}

/// Where the events of an operator command go: the command line makes them from
/// `--events` / `--event-bus`, the runner from its configuration.
pub trait Sinks {
    /// The sink of a run on one dataset (`recover`), whose config names `dataset_bus`.
    fn dataset_sink(&self, dataset_bus: Option<&str>) -> Result<Box<dyn EventSink>, String>;
    /// The sink of `watchdog`.
    fn watchdog_sink(&self) -> Result<Box<dyn EventSink>, String>;
    /// The sink of `events flush`, and whether it sends every event to one place
    /// (`--events`) rather than where each was recorded to go.
    fn flush_sink(&self) -> Result<(Box<dyn EventSink>, bool), String>;
}

/// What an operator command answered: the document `--output json` prints, what the
/// text output adds (`status`: `environmentId`, `lease`), notes for stderr, or the error.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply {
    /// The JSON document of `--output json` (on success).
    pub output: Value,
    /// What the text output adds (`null` when nothing).
    pub extra: Value,
    /// Lines for stderr (`note: …` and what the command says it did).
    pub notes: Vec<String>,
    /// The error, when it did not succeed.
    pub error: Option<OpError>,
}

impl Reply {
    /// Adds a line for stderr.
    pub fn note(&mut self, line: String) {
        self.notes.push(line);
    }
}

/// The answer of a runner on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// [`RESPONSE_MARKER`].
    pub depot_migrate: String,
    /// The response version ([`VERSION`]).
    pub version: u32,
    /// The operation answered (`null` when the request could not be read).
    pub operation: Option<String>,
    /// Whether it succeeded.
    pub ok: bool,
    /// [`Reply::output`].
    #[serde(default)]
    pub output: Value,
    /// [`Reply::extra`].
    #[serde(default)]
    pub extra: Value,
    /// [`Reply::notes`].
    #[serde(default)]
    pub notes: Vec<String>,
    /// [`Reply::error`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OpError>,
    /// The Lambda request id that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Response {
    /// A reply as the runner sends it.
    pub fn of(operation: Option<&str>, reply: Reply, request_id: Option<&str>) -> Response {
        Response {
            depot_migrate: RESPONSE_MARKER.into(),
            version: VERSION,
            operation: operation.map(str::to_string),
            ok: reply.error.is_none(),
            output: reply.output,
            extra: reply.extra,
            notes: reply.notes,
            error: reply.error,
            request_id: request_id.map(str::to_string),
        }
    }

    /// Reads a runner's answer (what the command line received).
    pub fn parse(payload: &[u8]) -> Result<Response, String> {
        let v: Value = serde_json::from_slice(payload).map_err(|e| {
            format!("the runner answered something that is not JSON ({e}); is --runner the MigrationRunner function?")
        })?;
        if v.get("depotMigrate").and_then(Value::as_str) != Some(RESPONSE_MARKER) {
            return Err(format!(
                "the runner's answer is not an operator response (no \"depotMigrate\": \"{RESPONSE_MARKER}\"); is --runner the MigrationRunner function of depot-migrate {} or later?",
                env!("CARGO_PKG_VERSION")
            ));
        }
        let r: Response = serde_json::from_value(v)
            .map_err(|e| format!("the runner's operator response does not read: {e}"))?;
        if r.version != VERSION {
            return Err(format!(
                "the runner answered in operator response version {}; this depot-migrate reads version {VERSION}",
                r.version
            ));
        }
        Ok(r)
    }

    /// The reply it carries.
    pub fn into_reply(self) -> Reply {
        Reply {
            output: self.output,
            extra: self.extra,
            notes: self.notes,
            error: self.error,
        }
    }
}

/// Runs one operator command: `dataset` for the operations that name one, `db` the state
/// store's URL (the command line's `--db`, else `DEPOT_DATABASE_URL`, else the embedded
/// store; the runner's own database), `sinks` where events go. Never panics on input;
/// every outcome is in the [`Reply`].
pub fn execute(
    operation: &Operation,
    dataset: Option<&DatasetRef>,
    db: Option<&str>,
    sinks: &dyn Sinks,
) -> Reply {
    let mut reply = Reply::default();
    let result = match (operation.takes_dataset(), dataset) {
        (true, None) => Err(OpError::usage(format!(
            "{} names one dataset: pass --dataset FILE or --dataset-id ID",
            operation.command()
        ))),
        (_, dref) => run(operation, dref, db, sinks, &mut reply),
    };
    match result {
        Ok(doc) => reply.output = doc,
        Err(e) => reply.error = Some(e),
    }
    reply
}

fn run(
    operation: &Operation,
    dref: Option<&DatasetRef>,
    db: Option<&str>,
    sinks: &dyn Sinks,
    reply: &mut Reply,
) -> Result<Value, OpError> {
    let need = || dref.ok_or_else(|| OpError::usage("no dataset named"));
    match operation {
        Operation::Status {} => reads::status(need()?, db, reply),
        Operation::History {} => reads::history(need()?, db, reply),
        Operation::Snapshot {} => reads::snapshot(need()?, db, reply),
        Operation::List {} => reads::list(db, reply),
        Operation::Wait {
            version_hash,
            timeout_ms,
            interval_ms,
        } => wait(
            need()?,
            db,
            version_hash,
            Duration::from_millis(*timeout_ms),
            Duration::from_millis(*interval_ms),
            reply,
        ),
        Operation::Recover {
            resolve,
            reason,
            force,
            lock_wait_ms,
            lock_timeout_ms,
            max_duration_ms,
        } => {
            if reason.trim().is_empty() {
                return Err(OpError::usage(
                    "--reason must say why (it is recorded in history)",
                ));
            }
            let (ds, mut store) = dataset::open_for(need()?, db, reply)?;
            let mut sink = sinks
                .dataset_sink(ds.event_bus_name.as_deref())
                .map_err(OpError::usage)?;
            let opts = RecoverOptions {
                resolve: (*resolve).into(),
                reason: reason.clone(),
                force: *force,
                run: ApplyOptions {
                    lock_wait: Duration::from_millis(*lock_wait_ms),
                    lock_timeout: Duration::from_millis(*lock_timeout_ms),
                    max_duration: Some(Duration::from_millis(*max_duration_ms)),
                    ..ApplyOptions::default()
                },
            };
            let (result, version) =
                match executor::recover(store.as_mut(), sink.as_mut(), &ds, &opts)? {
                    executor::RecoverOutcome::Resolved(v) => ("resolved", v),
                    executor::RecoverOutcome::Deployed(v) => ("deployed", v),
                };
            reply.note(format!(
                "dataset {}: recovered ({}); deployed version {version}",
                ds.dataset_id,
                opts.resolve.as_str()
            ));
            Ok(
                json!({"ok": true, "result": result, "resolve": opts.resolve.as_str(), "deployedVersion": version}),
            )
        }
        Operation::EventsFlush {} => flush(db, sinks, reply),
        Operation::Watchdog {} => {
            let url = dataset::store_url(db.map(str::to_string))?;
            let target = dataset::target_of_url(&url)?;
            let Some(mut store) = crate::wait::open_existing(&target)? else {
                return Err(OpError::refused(
                    ErrorCode::NoState,
                    format!(
                        "no depot-migrate state in {}",
                        dataset::target_name(&target)
                    ),
                ));
            };
            let mut sink = sinks.watchdog_sink().map_err(OpError::usage)?;
            let findings =
                executor::watchdog(store.as_mut(), sink.as_mut(), Duration::from_secs(10))?;
            for f in &findings {
                reply.note(format!(
                    "watchdog: dataset {}: {}{}",
                    f.dataset_id,
                    f.finding,
                    f.failure
                        .as_ref()
                        .map(|r| format!(" (recorded as failed: {})", r.class))
                        .unwrap_or_default()
                ));
            }
            Ok(json!({"ok": true, "findings": findings}))
        }
    }
}

/// `wait`: `{"ok": true, "result": "deployed", "version"}`, or for a superseded version
/// `{"ok": false, "result": "superseded", "version", "message"}` (the command line exits
/// 1 after printing it).
fn wait(
    dref: &DatasetRef,
    db: Option<&str>,
    version: &str,
    timeout: Duration,
    interval: Duration,
    reply: &mut Reply,
) -> Result<Value, OpError> {
    check_version_hash(version, "--version")?;
    let target = dref.target(db)?;
    let ds = match dref {
        DatasetRef::File(ds) => (**ds).clone(),
        // By id: the dataset must be recorded already (its config comes from the record).
        DatasetRef::Id { .. } => dataset::open_for(dref, db, reply)?.0,
    };
    let outcome =
        crate::wait::wait(&target, &ds, version, timeout, interval).map_err(|e| match e {
            WaitError::Store(e) => OpError::from(e),
            WaitError::Identity(e) => OpError::from(e),
        })?;
    match outcome {
        WaitOutcome::Deployed => {
            reply.note(format!("dataset {}: {version} is deployed", ds.dataset_id));
            Ok(json!({"ok": true, "result": "deployed", "version": version}))
        }
        WaitOutcome::Failed(m) => Err(OpError::failed(ErrorCode::MigrationFailed, m)),
        WaitOutcome::Superseded(m) => {
            Ok(json!({"ok": false, "result": "superseded", "version": version, "message": m}))
        }
        WaitOutcome::TimedOut => Err(OpError {
            kind: ErrorKind::Timeout,
            code: Some(ErrorCode::WaitTimeout),
            message: format!(
                "dataset {}: {version} is not deployed after {}; see `depot-migrate status`",
                ds.dataset_id,
                humantime::format_duration(timeout)
            ),
        }),
    }
}

/// `events flush`: `{"ok": true, "published": n}`; events left pending are a failure
/// (exit 1), so a pipeline can retry.
fn flush(db: Option<&str>, sinks: &dyn Sinks, reply: &mut Reply) -> Result<Value, OpError> {
    let url = dataset::store_url(db.map(str::to_string))?;
    let target = dataset::target_of_url(&url)?;
    let (mut sink, redirected) = sinks.flush_sink().map_err(OpError::usage)?;
    let mut store = executor::open_store(&target)?;
    store.ensure_state_schema()?;
    let n = events::publish_pending(store.as_mut(), sink.as_mut(), None, Duration::from_secs(60))
        .map_err(|m| OpError::failed(ErrorCode::EventsPending, m))?;
    reply.note(format!("{n} event(s) published"));
    let left = store.pending_events(None, 1)?;
    if let Some((_, dest, _)) = left.first().filter(|_| sink.enabled()) {
        if dest.is_none() && !redirected {
            return Err(OpError::failed(
                ErrorCode::EventsPending,
                "events written before depot-migrate recorded destinations are pending; say where they go with `depot-migrate events flush --events SINK`",
            ));
        }
        return Err(OpError::failed(
            ErrorCode::EventsPending,
            "events are still pending after the flush; run `depot-migrate events flush` again",
        ));
    }
    Ok(json!({"ok": true, "published": n}))
}

#[cfg(test)]
mod tests;
