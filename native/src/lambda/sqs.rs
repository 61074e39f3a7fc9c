//! SQS batches of `desired` events (asynchronous datasets): EventBridge rule → queue (with
//! a dead-letter queue) → this function through an event source mapping with
//! `ReportBatchItemFailures`.
//!
//! Records are handled one at a time, in order. While one runs, a heartbeat extends the
//! visibility timeout of it and of the records still waiting in the batch, so a long
//! migration is not delivered a second time meanwhile. The answer lists the records that
//! failed or were not started (`batchItemFailures`), so only they come back; a record is
//! not started when too little of the invocation's time is left.

use super::{aws, blocking};
use depot_migrate_aws::sinks::sink_from_arg;
use depot_migrate_engine::executor::{self, ApplyOptions, DbTarget};
use depot_migrate_engine::worker::{self, Handled};
use serde::Deserialize;
use serde_json::{json, Value};
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
struct Record {
    message_id: String,
    #[serde(default)]
    receipt_handle: String,
    #[serde(default)]
    body: String,
    #[serde(default, rename = "eventSourceARN")]
    event_source_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Batch {
    records: Vec<Record>,
}

/// Knobs of batch handling (environment: `DEPOT_SQS_VISIBILITY_SECONDS`, default 300;
/// `DEPOT_SQS_MIN_REMAINING_SECONDS`, default 60).
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// The visibility timeout set by each heartbeat.
    pub visibility: Duration,
    /// Heartbeat period (a third of `visibility`).
    pub heartbeat: Duration,
    /// A record is started only when at least this much of the invocation is left.
    pub min_remaining: Duration,
}

impl BatchOptions {
    /// From the environment.
    pub fn from_env() -> BatchOptions {
        let secs = |k: &str, d: u64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(d)
        };
        let visibility = Duration::from_secs(secs("DEPOT_SQS_VISIBILITY_SECONDS", 300).max(3));
        BatchOptions {
            visibility,
            heartbeat: visibility / 3,
            min_remaining: Duration::from_secs(secs("DEPOT_SQS_MIN_REMAINING_SECONDS", 60)),
        }
    }
}

/// Handles a batch with the worker's `desired`-event handler.
pub async fn handle(event: Value, deadline_ms: u64) -> Result<Value, String> {
    let batch: Batch = serde_json::from_value(event)
        .map_err(|e| format!("the SQS event is not an SQS batch: {e}"))?;
    let opts = BatchOptions::from_env();
    let url = super::database_url(depot_migrate_core::Engine::Postgres).await?;
    let mut queue_urls: std::collections::HashMap<String, String> = Default::default();
    for r in &batch.records {
        if !queue_urls.contains_key(&r.event_source_arn) {
            match aws::queue_url(&r.event_source_arn).await {
                Ok(u) => {
                    queue_urls.insert(r.event_source_arn.clone(), u);
                }
                Err(e) => eprintln!("warning: {e}; visibility timeouts will not be extended"),
            }
        }
    }
    let extend = |record: Record| {
        let url = queue_urls.get(&record.event_source_arn).cloned();
        let seconds = i32::try_from(opts.visibility.as_secs()).unwrap_or(43_200);
        async move {
            if let Some(url) = url {
                if let Err(e) = aws::extend_visibility(&url, &record.receipt_handle, seconds).await
                {
                    eprintln!("warning: message {}: {e}", record.message_id);
                }
            }
        }
    };
    let failures = process(
        batch.records,
        opts,
        || remaining(deadline_ms),
        |record: Record| {
            let url = url.clone();
            blocking(move || handle_desired(&url, &record.body))
        },
        extend,
    )
    .await;
    Ok(json!({
        "batchItemFailures": failures
            .iter()
            .map(|id| json!({"itemIdentifier": id}))
            .collect::<Vec<_>>()
    }))
}

/// One `desired` event (an EventBridge envelope), handled by the worker: `Ok` acknowledges
/// the message (deployed, failed and recorded, or skipped as a duplicate, late or
/// superseded delivery); `Err` lets it come back (busy dataset, unreachable database).
fn handle_desired(url: &str, body: &str) -> Result<(), String> {
    let desired = match worker::Desired::from_body(body) {
        Ok(d) => d,
        Err(why) => {
            // Not ours to act on (a rule that is too wide): acknowledged.
            eprintln!("note: message acknowledged without running: {why}");
            return Ok(());
        }
    };
    let mut store =
        executor::open_store(&DbTarget::Postgres(url.to_string())).map_err(|e| e.to_string())?;
    // Events go to the bus of the dataset's stored submission, else DEPOT_EVENT_BUS.
    let bus = store
        .read_state(&desired.dataset_id)
        .ok()
        .flatten()
        .and_then(|s| s.submission)
        .and_then(|text| executor::Submission::parse(&text).ok())
        .and_then(|sub| sub.dataset.event_bus_name)
        .unwrap_or_else(super::event_bus);
    let mut sink = sink_from_arg(&super::events_sink(), Some(&bus))?;
    let opts = ApplyOptions {
        max_duration: Some(super::max_duration()),
        ..ApplyOptions::default()
    };
    let id = &desired.dataset_id;
    match worker::handle(store.as_mut(), sink.as_mut(), &desired, &opts)? {
        Handled::Ran(Ok(version)) => {
            eprintln!("dataset {id}: deployed {version}");
            Ok(())
        }
        Handled::Ran(Err(m)) => {
            eprintln!("dataset {id}: {m} (recorded, with its `failed` event)");
            Ok(())
        }
        Handled::Skipped(why) => {
            eprintln!("dataset {id}: skipped: {why}");
            Ok(())
        }
        Handled::Busy => Err(format!(
            "another executor holds dataset {id}; the message comes back after its visibility timeout"
        )),
    }
}

fn remaining(deadline_ms: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Duration::from_millis(u64::try_from(u128::from(deadline_ms).saturating_sub(now)).unwrap_or(0))
}

/// Runs `run` on each record in order, extending the visibility of the running and the
/// waiting records every `opts.heartbeat` with `extend`; returns the message ids to report
/// as `batchItemFailures`.
async fn process<R, RF, E, EF, T>(
    records: Vec<Record>,
    opts: BatchOptions,
    time_left: T,
    mut run: R,
    extend: E,
) -> Vec<String>
where
    R: FnMut(Record) -> RF,
    RF: Future<Output = Result<(), String>>,
    E: Fn(Record) -> EF,
    EF: Future<Output = ()>,
    T: Fn() -> Duration,
{
    let mut failures = Vec::new();
    for (i, record) in records.iter().enumerate() {
        if time_left() < opts.min_remaining {
            eprintln!(
                "message {}: not started, only {} s of the invocation left; it comes back later",
                record.message_id,
                time_left().as_secs()
            );
            failures.push(record.message_id.clone());
            continue;
        }
        let work = run(record.clone());
        tokio::pin!(work);
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + opts.heartbeat, opts.heartbeat);
        let result = loop {
            tokio::select! {
                r = &mut work => break r,
                _ = tick.tick() => {
                    for waiting in &records[i..] {
                        extend(waiting.clone()).await;
                    }
                }
            }
        };
        if let Err(e) = result {
            eprintln!("message {}: {e}", record.message_id);
            failures.push(record.message_id.clone());
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn record(id: &str) -> Record {
        Record {
            message_id: id.into(),
            receipt_handle: format!("rh-{id}"),
            body: String::new(),
            event_source_arn: "arn:aws:sqs:eu-west-1:123456789012:q".into(),
        }
    }

    fn opts(heartbeat_ms: u64) -> BatchOptions {
        BatchOptions {
            visibility: Duration::from_secs(30),
            heartbeat: Duration::from_millis(heartbeat_ms),
            min_remaining: Duration::from_secs(10),
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a test runtime")
    }

    #[test]
    fn failed_records_are_reported_and_the_rest_still_run() {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let r2 = ran.clone();
        let failures = rt().block_on(process(
            vec![record("1"), record("2"), record("3")],
            opts(1000),
            || Duration::from_secs(600),
            move |r: Record| {
                let ran = r2.clone();
                async move {
                    ran.lock().expect("lock").push(r.message_id.clone());
                    if r.message_id == "2" {
                        Err("boom".to_string())
                    } else {
                        Ok(())
                    }
                }
            },
            |_r: Record| async {},
        ));
        assert_eq!(failures, vec!["2".to_string()]);
        assert_eq!(*ran.lock().expect("lock"), vec!["1", "2", "3"]);
    }

    #[test]
    fn a_long_record_extends_its_own_and_the_waiting_visibility() {
        let extended = Arc::new(Mutex::new(Vec::new()));
        let e2 = extended.clone();
        let failures = rt().block_on(process(
            vec![record("1"), record("2")],
            opts(20),
            || Duration::from_secs(600),
            |r: Record| async move {
                if r.message_id == "1" {
                    // Several heartbeat periods.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(())
            },
            move |r: Record| {
                let e = e2.clone();
                async move { e.lock().expect("lock").push(r.message_id) }
            },
        ));
        assert!(failures.is_empty());
        let e = extended.lock().expect("lock").clone();
        // Each heartbeat during record 1 extends record 1 and the waiting record 2; the
        // quick record 2 finishes before its first heartbeat.
        assert!(
            !e.is_empty(),
            "no heartbeat during a record that outlasted it"
        );
        for pair in e.chunks(2) {
            assert_eq!(pair, ["1", "2"]);
        }
    }

    #[test]
    fn records_are_not_started_near_the_deadline() {
        let started = Arc::new(Mutex::new(Vec::<String>::new()));
        let started2 = started.clone();
        let failures = rt().block_on(process(
            vec![record("1"), record("2")],
            opts(1000),
            || Duration::from_secs(5),
            |r: Record| {
                let started = started2.clone();
                async move {
                    started.lock().expect("lock").push(r.message_id);
                    Ok(())
                }
            },
            |_r: Record| async {},
        ));
        assert_eq!(failures, vec!["1".to_string(), "2".to_string()]);
        assert!(started.lock().expect("lock").is_empty());
    }
}
