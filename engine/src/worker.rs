//! `worker`: runs submitted migrations (asynchronous mode), from an SQS queue fed by an
//! EventBridge rule on `desired` events, or by polling the state store.
//!
//! Each `desired` event carries the state revision its submission created. The worker
//! takes the dataset's lock, then acts only if the state's revision is still that one
//! (and the submission's run id and version match the event): a duplicate or late
//! delivery, or a message for a version that was superseded since (even when the same
//! hash was submitted again, A → B → A), is acknowledged and skipped. The run itself is
//! the synchronous path's attempted → deployed / failed ([`executor::execute`]).

use crate::events::EventSink;
use crate::executor::{self, ApplyError, ApplyOptions, ApplyOutcome, Start, Submission};
use crate::store::Store;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// One queue message: its receipt handle (to delete or release it) and body.
#[derive(Debug, Clone)]
pub struct Message {
    /// The receipt handle.
    pub receipt: String,
    /// The body (an EventBridge envelope when the queue is a rule's target).
    pub body: String,
}

/// A queue of `desired` events (SQS: `depot_migrate_aws::sqs::Queue`).
pub trait MessageQueue {
    /// Receives a batch, waiting at most `wait` for the first message.
    fn receive(&mut self, wait: Duration) -> Result<Vec<Message>, String>;
    /// Acknowledges a message.
    fn delete(&mut self, receipt: &str) -> Result<(), String>;
    /// Makes a message visible again after `after`.
    fn release(&mut self, receipt: &str, after: Duration) -> Result<(), String>;
}

/// Where submissions come from.
pub enum Source {
    /// An SQS queue (the target of a rule on `desired` events).
    Queue(Box<dyn MessageQueue>),
    /// The state store itself: datasets whose last change is a submission.
    Poll,
}

/// A `desired` event, as far as the worker needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Dataset id.
    pub dataset_id: String,
    /// The revision the submission created.
    pub revision: i64,
    /// The desired version.
    pub version: String,
    /// The submission's run.
    pub run_id: String,
}

impl Desired {
    /// Reads a `desired` event from a message body (the EventBridge envelope, or its
    /// `detail` alone). `Err`: not a `desired` lifecycle event (acknowledged and skipped).
    pub fn from_body(body: &str) -> Result<Desired, String> {
        let v: Value =
            serde_json::from_str(body).map_err(|e| format!("the message is not JSON ({e})"))?;
        let d = if v.get("detail").is_some() {
            &v["detail"]
        } else {
            &v
        };
        if d["type"] != "lifecycle" || d["event"] != "desired" {
            return Err(format!(
                "not a desired lifecycle event (event {})",
                d["event"]
            ));
        }
        let field = |k: &str| {
            d[k].as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("the desired event has no {k}"))
        };
        Ok(Desired {
            dataset_id: field("datasetId")?,
            revision: d["revision"]
                .as_i64()
                .ok_or("the desired event has no revision")?,
            version: field("datasetVersionHash")?,
            run_id: field("runId")?,
        })
    }
}

/// What happened to one submission.
#[derive(Debug)]
pub enum Handled {
    /// It ran: deployed, or failed (recorded, with its `failed` event).
    Ran(Result<String, String>),
    /// Acknowledged without running, and why.
    Skipped(String),
    /// Another executor holds the dataset now: left for later.
    Busy,
}

/// Knobs of a worker.
pub struct WorkerOptions {
    /// Run knobs (lock timeout, retries, maxDuration default, step by step).
    pub run: ApplyOptions,
    /// Handle what is pending and exit.
    pub once: bool,
    /// Pause between polls (`--poll`) when nothing is pending.
    pub poll_interval: Duration,
}

/// Handles one `desired` event.
pub fn handle(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    d: &Desired,
    opts: &ApplyOptions,
) -> Result<Handled, String> {
    store.ensure_state_schema().map_err(|e| e.to_string())?;
    let mut holder = crate::identity::lease_holder();
    holder.max_duration = opts.max_duration;
    // Read the submission's own maxDuration first (the lease records the deadline).
    if let Ok(Some(stored)) = store.read_state(&d.dataset_id) {
        if let Some(Ok(sub)) = stored.submission.as_deref().map(Submission::parse) {
            if let Some(secs) = sub.max_duration_seconds {
                holder.max_duration = Some(Duration::from_secs(secs));
            }
        }
    }
    let max_duration = holder.max_duration;
    let lock = executor::LockRequest {
        dataset_id: &d.dataset_id,
        holder,
        wait: Duration::from_secs(1),
        command: "worker",
        publish_budget: opts.publish_budget,
    };
    match executor::under_dataset_lock(store, sink, &lock, |store, sink| {
        Ok(handle_locked(store, sink, d, opts, max_duration))
    }) {
        Ok(Ok(handled)) => handled,
        // The lost-run detection's error (the work's own errors are its result).
        Ok(Err(e)) => Err(describe(e)),
        Err(ApplyError::Refused(..)) => Ok(Handled::Busy),
        Err(e) => Err(describe(e)),
    }
}

fn handle_locked(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    d: &Desired,
    opts: &ApplyOptions,
    max_duration: Option<Duration>,
) -> Result<Handled, String> {
    let Some(stored) = store.read_state(&d.dataset_id).map_err(|e| e.to_string())? else {
        return Ok(Handled::Skipped(format!(
            "dataset {} has no state in this database",
            d.dataset_id
        )));
    };
    let s = &stored.state;
    // The compare-and-set: the state must still be exactly what the submission made.
    if s.revision != d.revision || stored.submitted_revision != Some(d.revision) {
        return Ok(Handled::Skipped(format!(
            "duplicate, late or superseded: the state of dataset {} is at revision {}, the event carries revision {}",
            d.dataset_id, s.revision, d.revision
        )));
    }
    let Some(text) = stored.submission.as_deref() else {
        return Ok(Handled::Skipped("no stored submission".into()));
    };
    let sub = Submission::parse(text).map_err(describe)?;
    if sub.run_id != d.run_id || sub.version != d.version {
        return Ok(Handled::Skipped(format!(
            "the stored submission (run {}, version {}) is not the event's (run {}, version {})",
            sub.run_id, sub.version, d.run_id, d.version
        )));
    }
    if s.deployed_version.as_deref() == Some(&sub.version)
        && s.attempted_version == s.deployed_version
    {
        return Ok(Handled::Skipped(format!(
            "version {} is deployed already",
            sub.version
        )));
    }
    if let Some(f) = s.last_failure.as_ref().filter(|f| !f.rolled_back) {
        return Ok(Handled::Skipped(format!(
            "the last run left committed steps ({}); nothing runs until `depot-migrate recover`",
            f.committed_steps.join(", ")
        )));
    }
    let mut run = opts.clone();
    run.max_duration = max_duration;
    match executor::execute(
        store,
        sink,
        executor::RunRequest {
            sub: &sub,
            stored: &stored,
            opts: &run,
            start: Start::Fresh,
            write_submission: false,
            mode: "asynchronous",
        },
    ) {
        Ok(ApplyOutcome::Deployed { version, .. } | ApplyOutcome::AlreadyDeployed(version)) => {
            Ok(Handled::Ran(Ok(version)))
        }
        Err(ApplyError::Failed(f)) => Ok(Handled::Ran(Err(format!(
            "{} failed ({}: {})",
            sub.version, f.class, f.message
        )))),
        Err(ApplyError::Refused(_, m)) => Ok(Handled::Skipped(m)),
        Err(ApplyError::Store(m) | ApplyError::Credentials(m)) => Err(m),
    }
}

fn describe(e: ApplyError) -> String {
    match e {
        ApplyError::Refused(_, m) | ApplyError::Store(m) | ApplyError::Credentials(m) => m,
        ApplyError::Failed(f) => f.message,
    }
}

/// Submissions still scheduled in the store (`--poll`).
fn scheduled(store: &mut dyn Store) -> Result<Vec<Desired>, String> {
    store.ensure_state_schema().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for id in store.dataset_ids().map_err(|e| e.to_string())? {
        let Some(stored) = store.read_state(&id).map_err(|e| e.to_string())? else {
            continue;
        };
        let s = &stored.state;
        if stored.submitted_revision != Some(s.revision) || s.is_stable() {
            continue;
        }
        if let Some(Ok(sub)) = stored.submission.as_deref().map(Submission::parse) {
            out.push(Desired {
                dataset_id: id,
                revision: s.revision,
                version: sub.version,
                run_id: sub.run_id,
            });
        }
    }
    Ok(out)
}

/// Runs the worker until stopped (SIGTERM/SIGINT, checked between messages and at step
/// boundaries), or, with `once`, until nothing is pending. Returns one JSON line per
/// message handled.
pub fn run(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    source: &mut Source,
    opts: &WorkerOptions,
) -> Result<Vec<Value>, String> {
    let stop = executor::stop_flag();
    let mut report = Vec::new();
    // (dataset, revision) pairs this worker acknowledged: a poll never hands the same
    // submission over twice, even if its state row did not move on.
    let mut seen = std::collections::HashSet::new();
    loop {
        if stop.load(Ordering::SeqCst) {
            eprintln!("worker: stopping (signal)");
            break;
        }
        let batch: Vec<(Option<String>, Result<Desired, String>)> = match source {
            Source::Queue(q) => {
                let wait = if opts.once {
                    Duration::from_secs(1)
                } else {
                    Duration::from_secs(5)
                };
                q.receive(wait)?
                    .into_iter()
                    .map(|m| (Some(m.receipt), Desired::from_body(&m.body)))
                    .collect()
            }
            Source::Poll => scheduled(store)?
                .into_iter()
                .filter(|d| !seen.contains(&(d.dataset_id.clone(), d.revision)))
                .map(|d| (None, Ok(d)))
                .collect(),
        };
        let mut progressed = false;
        for (receipt, desired) in &batch {
            if stop.load(Ordering::SeqCst) {
                // Unacknowledged: the queue delivers it again.
                break;
            }
            let (line, ack) = match desired {
                Err(why) => {
                    eprintln!("worker: skipping a message: {why}");
                    (json!({"result": "skipped", "reason": why}), true)
                }
                Ok(d) => {
                    let h = handle(store, sink, d, &opts.run)?;
                    let base = json!({"datasetId": d.dataset_id, "revision": d.revision, "version": d.version, "runId": d.run_id});
                    let (result, extra, ack) = match h {
                        Handled::Ran(Ok(v)) => {
                            eprintln!("worker: dataset {} deployed {v}", d.dataset_id);
                            ("deployed", Value::Null, true)
                        }
                        Handled::Ran(Err(m)) => {
                            eprintln!("worker: dataset {}: {m}", d.dataset_id);
                            ("failed", json!(m), true)
                        }
                        Handled::Skipped(m) => {
                            eprintln!(
                                "worker: skipped revision {} of dataset {}: {m}",
                                d.revision, d.dataset_id
                            );
                            ("skipped", json!(m), true)
                        }
                        Handled::Busy => {
                            eprintln!(
                                "worker: dataset {} is locked by another executor; leaving the message for later",
                                d.dataset_id
                            );
                            ("busy", Value::Null, false)
                        }
                    };
                    let mut line = base;
                    line["result"] = json!(result);
                    if !extra.is_null() {
                        line["reason"] = extra;
                    }
                    (line, ack)
                }
            };
            progressed |= ack;
            if let (true, Ok(d)) = (ack, desired) {
                seen.insert((d.dataset_id.clone(), d.revision));
            }
            report.push(line);
            if let (Source::Queue(q), Some(r)) = (&mut *source, receipt) {
                if ack {
                    q.delete(r)?;
                } else {
                    q.release(r, Duration::from_secs(5))?;
                }
            }
        }
        if opts.once && (batch.is_empty() || !progressed) {
            break;
        }
        if batch.is_empty() || !progressed {
            if let Source::Poll = source {
                let mut slept = Duration::ZERO;
                while slept < opts.poll_interval && !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(200));
                    slept += Duration::from_millis(200);
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_events_parse_and_others_are_skipped() {
        let env = json!({"detail": {"type": "lifecycle", "event": "desired", "datasetId": "d", "revision": 3, "datasetVersionHash": "h", "runId": "r"}});
        assert_eq!(
            Desired::from_body(&env.to_string()),
            Ok(Desired {
                dataset_id: "d".into(),
                revision: 3,
                version: "h".into(),
                run_id: "r".into()
            })
        );
        let attempted = json!({"detail": {"type": "lifecycle", "event": "attempted", "datasetId": "d", "revision": 3, "datasetVersionHash": "h", "runId": "r"}});
        assert!(Desired::from_body(&attempted.to_string()).is_err());
        assert!(Desired::from_body("not json").is_err());
        let no_rev = json!({"type": "lifecycle", "event": "desired", "datasetId": "d", "datasetVersionHash": "h", "runId": "r"});
        assert!(Desired::from_body(&no_rev.to_string()).is_err());
    }
}
