//! Submissions nobody starts: a dataset `scheduled` (its `desired` event published, no
//! worker has attempted it) for longer than its `scheduledLimitMinutes` (default 15).
//! The watchdog publishes the `desired` event again, once (a duplicate is harmless: a
//! worker runs a submission only while the state's revision is the one its event
//! carries); if after as long again no worker has started it, it records `failed` with
//! class `notStarted` and emits the `failed` event: the failure has been detected, as the
//! Depot migrations observability page defines it. `recover --resolve retry` then runs it.

use crate::clock;
use crate::events::EventSink;
use crate::executor::{ApplyError, Because, Change, Events, Submission, WatchdogFinding};
use crate::store::{Store, StoredState};
use depot_migrate_core::lifecycle::{FailureClass, FailureRecord, LifecycleEvent};
use serde_json::json;
use std::time::{Duration, SystemTime};

/// Whether a dataset waits for a worker: its last change is the submission (or the
/// watchdog's re-publication of it) and no run has attempted the desired version.
pub fn is_scheduled(stored: &StoredState) -> bool {
    let s = &stored.state;
    stored.submitted_revision == Some(s.revision)
        && s.desired_version.is_some()
        && s.desired_version != s.attempted_version
}

/// What the watchdog does about one scheduled dataset (see the module comment), at
/// [`clock::run_now`].
pub fn check(
    store: &mut dyn Store,
    sink: &dyn EventSink,
    stored: &StoredState,
) -> Result<Option<WatchdogFinding>, ApplyError> {
    let s = &stored.state;
    let Some(sub) = stored
        .submission
        .as_deref()
        .and_then(|t| Submission::parse(t).ok())
    else {
        return Ok(None);
    };
    let limit = Duration::from_secs(u64::from(sub.dataset.scheduled_limit_minutes()) * 60);
    let since = clock::parse(s.synced.as_deref())
        .or_else(|| clock::parse(Some(&sub.submitted_at)))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let now_t = clock::run_now();
    let waited = now_t.duration_since(since).unwrap_or_default();
    let finding = |what: &str, failure: Option<FailureRecord>| {
        Some(WatchdogFinding {
            dataset_id: s.dataset_id.clone(),
            finding: what.into(),
            failure,
        })
    };
    if waited < limit {
        return Ok(finding("scheduled", None));
    }
    // Whether the watchdog already published it again: the last history row says so.
    let republished = store
        .history(&s.dataset_id)?
        .last()
        .is_some_and(|h| h["event"] == "desired" && h["detail"]["republishedBy"] == "watchdog");
    store.ensure_state_schema()?;
    let version = s.desired_version.clone().unwrap_or_default();
    let mut events = Events::new(sub.context(s.deployed_version.clone()), sink, &sub.dataset);
    // A `failed` event's durationMs: since the submission.
    events.started = clock::parse(Some(&sub.submitted_at));
    let change = Change {
        ds: &sub.dataset,
        events: &events,
        run_id: &sub.run_id,
    };
    let at = humantime::format_rfc3339_seconds(now_t).to_string();
    let mut st = s.clone();
    st.revision = s.revision + 1;
    st.synced = Some(at.clone());
    let minutes = sub.dataset.scheduled_limit_minutes();
    if !republished {
        let mut t = change.transition(
            st,
            s.revision,
            LifecycleEvent::Desired,
            &version,
            json!({"republishedBy": "watchdog", "scheduledSince": s.synced, "submittedAt": sub.submitted_at,
                   "planHash": sub.plan.plan_hash, "steps": sub.plan.steps.len(), "from": s.deployed_version}),
            Because::NOTHING,
        );
        // The submission stays; the new revision is the one a worker may run.
        t.scheduled = true;
        store.transition(&t)?;
        return Ok(finding("notStarted: desired published again", None));
    }
    let record = FailureRecord {
        class: FailureClass::NotStarted,
        message: format!(
            "version {version} was submitted at {} and no worker started it: its desired event was published again at {} after {minutes} minutes, and {minutes} more have passed; is a worker running (`depot-migrate worker`, or the runner's queue)? then `depot-migrate recover --dataset-id {} --resolve retry --reason TEXT` runs it",
            sub.submitted_at,
            s.synced.as_deref().unwrap_or("?"),
            s.dataset_id
        ),
        rolled_back: true,
        ..FailureRecord::default()
    };
    // attempted = desired with a failure: the phase is `failed`, a late worker skips it
    // (the revision moved on) and `recover` resolves it.
    st.attempted_version = Some(version.clone());
    st.last_failure = Some(record.clone());
    let mut t = change.transition(
        st,
        s.revision,
        LifecycleEvent::Failed,
        &version,
        json!({"failure": record, "detectedBy": "watchdog", "submittedAt": sub.submitted_at}),
        Because::failure(&record),
    );
    t.run_id = Some(sub.run_id.clone());
    store.transition(&t)?;
    Ok(finding("notStarted", Some(record)))
}
