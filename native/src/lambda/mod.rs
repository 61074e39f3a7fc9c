//! The executor as an AWS Lambda function (`provided.al2023`, the binary is `bootstrap`).
//!
//! `main` runs [`run`] instead of the CLI when `AWS_LAMBDA_RUNTIME_API` is set. The
//! function is orchestration only: it fetches its inputs (the migration bundle from S3,
//! the database secret from Secrets Manager), then calls the same executor functions as
//! the CLI, on a blocking thread (the stores and the EventBridge sink are blocking).
//!
//! One function handles three kinds of invocation, told apart by their shape:
//!
//! - CloudFormation custom-resource events from the CDK Provider framework
//!   ([`custom_resource`]): synchronous datasets migrate during `cdk deploy`;
//! - SQS batches of `desired` events ([`sqs`]): asynchronous datasets;
//! - the watchdog schedule ([`dispatch`]: an EventBridge `Scheduled Event`);
//! - operator requests from `depot-migrate … --runner FUNCTION` ([`operator`]:
//!   `{"depotMigrate": "operator", "version": 1, "operation": …}`, the request of
//!   `engine/src/operator/mod.rs`): `status`, `history`, `snapshot`, `list`, `wait`,
//!   `recover`, `events flush` and `watchdog`, run here on the function's own database
//!   and answered in the shape of the command's `--output json`.
//!
//! Configuration (environment variables, set by the `MigrationRunner` construct; none of
//! them holds a credential):
//!
//! | variable | meaning |
//! |---|---|
//! | `DEPOT_DB_SECRET_ARN` | Secrets Manager secret in the RDS JSON shape (`username`, `password`, `host`, `port`, `dbname`, `engine`) |
//! | `DEPOT_DB_SSLMODE` | `require` (default), `prefer` or `disable` |
//! | `PGSSLROOTCERT` | the RDS CA bundle (a file in the function's package or a layer) |
//! | `DEPOT_EVENTS` | event sink: `eventbridge` (default), `stdout`, `none` |
//! | `DEPOT_EVENT_BUS` | the watchdog's bus, and the worker's when the dataset names none (default `default`) |
//! | `DEPOT_MAX_DURATION` | a run's `maxDuration` (default `15m`) |
//! | `DEPOT_RUNNER_OPERATIONS` | the operator operations allowed, comma-separated (default the reads: `status,history,snapshot,list,wait`; `grantOperate` adds `recover,eventsFlush,watchdog`) |

pub mod aws;
pub mod custom_resource;
pub mod operator;
pub mod sqs;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use std::time::Duration;

/// Whether this process was started by the Lambda runtime (or a local runtime API).
pub fn is_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some_and(|v| !v.is_empty())
}

/// Runs the Lambda loop until the runtime API goes away. Returns an error line when the
/// loop cannot start or stops with an error.
pub fn run() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the Lambda runtime: {e}"))?;
    rt.block_on(async {
        lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
            dispatch(
                event.payload,
                event.context.deadline,
                &event.context.request_id,
            )
            .await
        }))
        .await
        .map_err(|e| format!("the Lambda runtime loop stopped: {e}"))
    })
}

/// What an invocation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invocation {
    /// A CloudFormation custom-resource request (from the CDK Provider framework).
    CustomResource,
    /// An SQS batch.
    Sqs,
    /// The watchdog schedule.
    Watchdog,
    /// An operator request (`depot-migrate … --runner`).
    Operator,
}

/// Tells the kinds of invocation apart by their shape.
pub fn classify(event: &Value) -> Option<Invocation> {
    if depot_migrate_engine::operator::Request::is_request(event) {
        return Some(Invocation::Operator);
    }
    if event.get("RequestType").is_some() && event.get("ResourceProperties").is_some() {
        return Some(Invocation::CustomResource);
    }
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        if records
            .iter()
            .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
        {
            return Some(Invocation::Sqs);
        }
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        || event.get("depotMigrate").and_then(Value::as_str) == Some("watchdog")
    {
        return Some(Invocation::Watchdog);
    }
    None
}

/// Handles one invocation. An error becomes the invocation's error response: for a
/// custom resource the Provider framework puts its message in the CloudFormation reason.
/// An operator request is always answered (its refusals and failures are in the
/// answer, for the command line to print and map to its exit code).
pub async fn dispatch(
    event: Value,
    deadline_ms: u64,
    request_id: &str,
) -> Result<Value, Diagnostic> {
    match classify(&event) {
        Some(Invocation::CustomResource) => custom_resource::handle(event)
            .await
            .map_err(|m| diagnostic("MigrationFailed", m)),
        Some(Invocation::Sqs) => sqs::handle(event, deadline_ms)
            .await
            .map_err(|m| diagnostic("SqsBatchFailed", m)),
        Some(Invocation::Watchdog) => watchdog()
            .await
            .map_err(|m| diagnostic("WatchdogFailed", m)),
        Some(Invocation::Operator) => Ok(operator::handle(event, deadline_ms, request_id).await),
        None => Err(diagnostic(
            "UnknownEvent",
            "unknown event: expected a CloudFormation custom-resource request, an SQS batch, a scheduled event or an operator request".into(),
        )),
    }
}

/// The watchdog over every dataset of the function's database: lost leases and runs past
/// their `maxDuration` are recorded as failed (with their `failed` events). The same
/// operation as an operator's `watchdog` ([`operator::run`]), without its permission
/// check: the schedule is the function's own.
async fn watchdog() -> Result<Value, String> {
    let url = database_url(depot_migrate_core::Engine::Postgres).await?;
    let reply = blocking(move || {
        Ok(depot_migrate_engine::operator::execute(
            &depot_migrate_engine::operator::Operation::Watchdog {},
            None,
            Some(&url),
            &operator::RunnerSinks,
        ))
    })
    .await?;
    for line in &reply.notes {
        eprintln!("{line}");
    }
    match reply.error {
        Some(e) => Err(e.message),
        None => Ok(serde_json::json!({ "findings": reply.output["findings"] })),
    }
}

/// The database URL of the function's configuration (Secrets Manager).
pub async fn database_url(engine: depot_migrate_core::Engine) -> Result<String, String> {
    use depot_migrate_core::Engine;
    if !matches!(engine, Engine::Postgres | Engine::AuroraPostgresql) {
        return Err(format!(
            "the runner migrates postgres and aurora-postgresql datasets, not {}",
            engine.as_str()
        ));
    }
    let sslmode = std::env::var("DEPOT_DB_SSLMODE").unwrap_or_else(|_| "require".into());
    match std::env::var("DEPOT_DB_SECRET_ARN").ok().filter(|v| !v.is_empty()) {
        Some(arn) => aws::database_url_from_secret(&arn, &sslmode).await,
        None => Err("no database configured: set DEPOT_DB_SECRET_ARN to the database secret (the MigrationRunner's `secret`)".into()),
    }
}

/// `DEPOT_EVENTS`: the event sink (default `eventbridge`).
pub fn events_sink() -> String {
    std::env::var("DEPOT_EVENTS")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "eventbridge".into())
}

/// `DEPOT_EVENT_BUS`: the bus of events whose dataset names no `eventBusName` (every
/// other event goes to its dataset's `eventBusName`, recorded on its outbox row).
pub fn event_bus() -> String {
    std::env::var("DEPOT_EVENT_BUS")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "default".into())
}

/// `DEPOT_MAX_DURATION`: how long a run may take before the watchdog records it as failed
/// (default 15m, Lambda's longest timeout; the runner sets its function's timeout).
pub fn max_duration() -> Duration {
    std::env::var("DEPOT_MAX_DURATION")
        .ok()
        .and_then(|v| humantime::parse_duration(&v).ok())
        .unwrap_or(Duration::from_secs(15 * 60))
}

fn diagnostic(error_type: &str, message: String) -> Diagnostic {
    eprintln!("error: {message}");
    Diagnostic {
        error_type: error_type.to_string(),
        error_message: message,
    }
}

/// Runs blocking executor work on tokio's blocking pool (the stores and the EventBridge
/// sink block; they must not run on the runtime's own thread).
pub async fn blocking<T, F>(f: F) -> Result<T, String>
where
    F: FnOnce() -> Result<T, String> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("the migration thread stopped unexpectedly: {e}"))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn invocations_are_told_apart_by_shape() {
        let cr = json!({"RequestType": "Create", "ResourceProperties": {}, "StackId": "s"});
        assert_eq!(classify(&cr), Some(Invocation::CustomResource));
        let sqs = json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]});
        assert_eq!(classify(&sqs), Some(Invocation::Sqs));
        let sched = json!({"source": "aws.events", "detail-type": "Scheduled Event"});
        assert_eq!(classify(&sched), Some(Invocation::Watchdog));
        let mixed = json!({"Records": [{"eventSource": "aws:sqs"}, {"eventSource": "aws:s3"}]});
        assert_eq!(classify(&mixed), None);
        assert_eq!(classify(&json!({"hello": 1})), None);
        let op = json!({"depotMigrate": "operator", "version": 1, "operation": "status"});
        assert_eq!(classify(&op), Some(Invocation::Operator));
        // Any version: the operator handler answers an unknown one with a refusal.
        let newer = json!({"depotMigrate": "operator", "version": 7});
        assert_eq!(classify(&newer), Some(Invocation::Operator));
    }
}
