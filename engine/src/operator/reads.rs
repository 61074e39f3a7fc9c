//! The reads an operator runs (`status`, `history`, `snapshot`, `list`), by dataset
//! config or recorded id: each builds the JSON document `--output json` prints (the
//! command line renders the same documents as text for people).

use super::dataset::{self, DatasetRef};
use super::{OpError, Reply};
use crate::error::ErrorCode;
use crate::{executor, store};
use serde_json::{json, Value};

/// What a read found: the store and the dataset's recorded state, or `None` when the
/// database holds no state tables (a note for a config; refused for an id).
type Found = Option<(Box<dyn store::Store>, Option<store::StoredState>)>;

/// A read: creates and changes nothing. A recorded identity other than the one named is
/// refused (exit 3).
fn read(dref: &DatasetRef, db: Option<&str>, reply: &mut Reply) -> Result<Found, OpError> {
    let target = dref.target(db)?;
    let no_state = |reply: &mut Reply| match dref {
        DatasetRef::File(_) => {
            reply.note(format!(
                "note: no depot-migrate state in {}: nothing has been applied or submitted there (is --db the right database?)",
                dataset::target_name(&target)
            ));
            Ok(None)
        }
        DatasetRef::Id { id, .. } => Err(OpError::refused(
            ErrorCode::NoState,
            format!(
                "no depot-migrate state in {}, so no dataset {id:?} (is --db the right database?)",
                dataset::target_name(&target)
            ),
        )),
    };
    let Some(mut store) = crate::wait::open_existing(&target)? else {
        return no_state(reply);
    };
    if !store.has_state()? {
        return no_state(reply);
    }
    let stored = store.read_state(dref.id())?;
    match &stored {
        Some(s) => dref.check(s)?,
        None => dref.unrecorded(store.as_mut(), reply)?,
    }
    Ok(Some((store, stored)))
}

/// Pending outbox events of a dataset: `{count, destinations: {dest: n}}`.
fn pending_json(store: &mut dyn store::Store, id: &str) -> Result<Value, OpError> {
    let pending = store.pending_events(Some(id), 10_000)?;
    let mut by_destination = serde_json::Map::new();
    for (_, d, _) in &pending {
        let key = d.clone().unwrap_or_else(|| "unrecorded".into());
        let n = by_destination
            .get(&key)
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        by_destination.insert(key, json!(n + 1));
    }
    Ok(json!({"count": pending.len(), "destinations": by_destination}))
}

/// `status`: the `get-dataset` shape plus `phase` and `pendingEvents` (the JSON document).
/// What the text block adds goes to [`Reply::extra`]: `environmentId` (recorded, else
/// configured) and, while a run is in progress, `lease` (`holder`, `started`,
/// `deadline`; never its token).
pub fn status(dref: &DatasetRef, db: Option<&str>, reply: &mut Reply) -> Result<Value, OpError> {
    let Some((mut store, stored)) = read(dref, db, reply)? else {
        // No state tables (only for a config): the dataset is new here.
        let ds = dref.config(None)?;
        let mut doc = executor::status_json(&ds, None, false);
        doc["pendingEvents"] = json!({"count": 0, "destinations": {}});
        reply.extra = json!({"environmentId": ds.environment_id});
        return Ok(doc);
    };
    let ds = match dref {
        DatasetRef::File(ds) => (**ds).clone(),
        DatasetRef::Id { id, .. } => match &stored {
            Some(s) => dataset::config_from_state(id, s)?,
            None => return Err(unrecorded(id)),
        },
    };
    let held = store.lock_held_elsewhere(dref.id())?;
    let mut doc = executor::status_json(&ds, stored.as_ref(), held);
    doc["pendingEvents"] = pending_json(store.as_mut(), dref.id())?;
    let lease = if held { store.lease(dref.id())? } else { None };
    let environment_id = stored
        .as_ref()
        .map(|s| s.identity.environment_id.clone())
        .filter(|e| !e.is_empty())
        .unwrap_or(ds.environment_id);
    reply.extra = json!({
        "environmentId": environment_id,
        "lease": lease.map(|l| json!({"holder": l.holder, "started": l.started, "deadline": l.deadline})),
    });
    Ok(doc)
}

/// [`read`] refuses an id that is not recorded; this keeps that promise visible.
fn unrecorded(id: &str) -> OpError {
    OpError::refused(
        ErrorCode::NoState,
        format!("no dataset {id:?} is recorded in this database"),
    )
}

/// `history`: the dataset's transitions, oldest first.
pub fn history(dref: &DatasetRef, db: Option<&str>, reply: &mut Reply) -> Result<Value, OpError> {
    match read(dref, db, reply)? {
        Some((mut store, _)) => Ok(Value::Array(store.history(dref.id())?)),
        None => Ok(json!([])),
    }
}

/// `snapshot`: the package deployed now.
pub fn snapshot(dref: &DatasetRef, db: Option<&str>, reply: &mut Reply) -> Result<Value, OpError> {
    let stored = read(dref, db, reply)?.and_then(|(_, s)| s);
    match stored.and_then(|s| s.deployed_package) {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            OpError::failed(
                ErrorCode::Store,
                format!(
                    "the stored deployed package of dataset {} is not JSON: {e}",
                    dref.id()
                ),
            )
        }),
        None => Err(OpError::refused(
            ErrorCode::NoState,
            format!(
                "dataset {} has nothing deployed yet: there is no snapshot to print",
                dref.id()
            ),
        )),
    }
}

/// `list`: every dataset the store records, in id order: `{id, alias, environmentId,
/// engine, schema, phase, desiredVersion, attemptedVersion, deployedVersion, since,
/// pendingEvents, lastFailureClass}`.
pub fn list(db: Option<&str>, reply: &mut Reply) -> Result<Value, OpError> {
    let url = dataset::store_url(db.map(str::to_string))?;
    let target = dataset::target_of_url(&url)?;
    let empty = |reply: &mut Reply| {
        reply.note(format!(
            "note: no depot-migrate state in {}: no dataset is recorded there",
            dataset::target_name(&target)
        ));
        Ok(json!([]))
    };
    let Some(mut store) = crate::wait::open_existing(&target)? else {
        return empty(reply);
    };
    if !store.has_state()? {
        return empty(reply);
    }
    let mut ids = store.dataset_ids()?;
    ids.sort();
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(s) = store.read_state(&id)? else {
            continue;
        };
        let held = store.lock_held_elsewhere(&id)?;
        let phase = depot_migrate_core::lifecycle::phase(&s.state, held);
        let pending = pending_json(store.as_mut(), &id)?;
        rows.push(json!({
            "id": id,
            "alias": s.state.alias,
            "environmentId": s.identity.environment_id,
            "engine": s.identity.engine,
            "schema": s.identity.schema,
            "phase": phase,
            "desiredVersion": s.state.desired_version,
            "attemptedVersion": s.state.attempted_version,
            "deployedVersion": s.state.deployed_version,
            "since": s.state.synced,
            "pendingEvents": pending["count"],
            "lastFailureClass": s.state.last_failure.as_ref().map(|f| f.class),
        }));
    }
    Ok(Value::Array(rows))
}
