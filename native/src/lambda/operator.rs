//! Operator requests (`depot-migrate … --runner FUNCTION`): checked as the command line
//! checks its arguments (`Request::parse`: version, operation, arguments, dataset id,
//! caller), refused unless `DEPOT_RUNNER_OPERATIONS` allows the operation, then run by
//! the same engine function as the local command (`operator::execute`) on the function's
//! own database (the secret of `DEPOT_DB_SECRET_ARN`), with its event configuration.
//!
//! The answer is always an operator response, also for a refusal: the command line
//! prints it as the local command's result and exits with the same code. A request that
//! changes state (`recover`, `events flush`, `watchdog`) runs acting as its caller: history records
//! the caller's STS identity with this function and the Lambda request id (which
//! CloudTrail's record of the Invoke call carries too). Every request is logged (one
//! line: operation, dataset, caller, outcome).

use super::{blocking, database_url, event_bus, events_sink};
use depot_migrate_aws::sinks;
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::events::{EventSink, RecordedDestinations};
use depot_migrate_engine::identity;
use depot_migrate_engine::operator::{
    self, Allowed, OpError, Operation, Reply, Request, Response, Sinks,
};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// The runner's sinks: `DEPOT_EVENTS` (default `eventbridge`), the dataset's bus or
/// `DEPOT_EVENT_BUS`; `events flush` sends each event where it was recorded to go.
pub struct RunnerSinks;

impl Sinks for RunnerSinks {
    fn dataset_sink(&self, dataset_bus: Option<&str>) -> Result<Box<dyn EventSink>, String> {
        let bus = dataset_bus.map(str::to_string).unwrap_or_else(event_bus);
        sinks::sink_from_arg(&events_sink(), Some(&bus))
    }
    fn watchdog_sink(&self) -> Result<Box<dyn EventSink>, String> {
        sinks::sink_from_arg(&events_sink(), Some(&event_bus()))
    }
    fn flush_sink(&self) -> Result<(Box<dyn EventSink>, bool), String> {
        Ok((
            Box::new(RecordedDestinations::new(
                sinks::sink_with_override,
                None,
                false,
            )),
            false,
        ))
    }
}

/// This function's name (for messages and the actor).
fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "the runner".into())
}

/// Answers one operator request (see the module documentation).
pub async fn handle(event: Value, deadline_ms: u64, request_id: &str) -> Value {
    let operation = event
        .get("operation")
        .and_then(Value::as_str)
        .map(str::to_string);
    let (reply, who) = match run(event, deadline_ms, request_id).await {
        Ok(r) => r,
        Err((e, who)) => (
            Reply {
                error: Some(e),
                ..Reply::default()
            },
            who,
        ),
    };
    eprintln!(
        "operator: {} by {} (Lambda request {request_id}): {}",
        operation.as_deref().unwrap_or("(no operation)"),
        who.as_deref().unwrap_or("an unnamed caller"),
        match &reply.error {
            None => "ok".to_string(),
            Some(e) => format!(
                "{:?} {}: {}",
                e.kind,
                e.code.map(|c| c.as_str()).unwrap_or("-"),
                e.message
            ),
        }
    );
    let response = Response::of(operation.as_deref(), reply, Some(request_id));
    serde_json::to_value(&response).unwrap_or_else(|e| {
        serde_json::json!({
            "depotMigrate": operator::RESPONSE_MARKER, "version": operator::VERSION, "ok": false,
            "error": {"kind": "failed", "code": ErrorCode::Store.as_str(), "message": format!("the answer does not serialize: {e}")},
        })
    })
}

type Failed = (OpError, Option<String>);

async fn run(
    event: Value,
    deadline_ms: u64,
    request_id: &str,
) -> Result<(Reply, Option<String>), Failed> {
    let function = function_name();
    let allowed = Allowed::from_config(std::env::var("DEPOT_RUNNER_OPERATIONS").ok().as_deref())
        .map_err(|m| (OpError::refused(ErrorCode::OperationNotAllowed, m), None))?;
    let request = Request::parse(&event).map_err(|e| (e, None))?;
    let who = request.caller.as_ref().map(|c| c.arn.clone());
    allowed
        .check(&request.operation, &function)
        .map_err(|e| (e, who.clone()))?;
    let url = database_url(depot_migrate_core::Engine::Postgres)
        .await
        .map_err(|m| (OpError::failed(ErrorCode::Store, m), who.clone()))?;
    let mut operation = request.operation.clone();
    // `wait` waits here: no longer than the invocation may run (a margin to answer).
    if let Operation::Wait { timeout_ms, .. } = &mut operation {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let left = deadline_ms.saturating_sub(now_ms).saturating_sub(5_000);
        *timeout_ms = (*timeout_ms).min(left.max(1_000));
    }
    let dataset = request.dataset();
    let actor = request.caller.as_ref().map(|c| {
        format!(
            "{} via runner {function} (Lambda request {request_id})",
            c.arn
        )
    });
    let reply = blocking(move || {
        let go = || operator::execute(&operation, dataset.as_ref(), Some(&url), &RunnerSinks);
        Ok(match actor.filter(|_| operation.mutating()) {
            Some(a) => identity::acting_as(a, go),
            None => go(),
        })
    })
    .await
    .map_err(|m| (OpError::failed(ErrorCode::Store, m), who.clone()))?;
    Ok((reply, who))
}
