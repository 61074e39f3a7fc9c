//! The reads an operator runs (`status`, `history`, `snapshot`, `list`), by dataset file or
//! recorded id: each builds the JSON document `--output json` prints; `text` renders them
//! for people.

use crate::dataset_ref::{self, DatasetRef};
use crate::db::{open_existing, target_name, target_of_url};
use crate::output::{store_failure, Failure};
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::{executor, store};
use serde_json::{json, Value};

/// What a read found: the store and the dataset's recorded state, or `None` when the
/// database holds no state tables (said on stderr for a file; refused for an id).
pub type Found = Option<(Box<dyn store::Store>, Option<store::StoredState>)>;

/// A read: creates and changes nothing. A recorded identity other than the one named is
/// refused (exit 3).
pub fn read(dref: &DatasetRef, db: Option<&str>) -> Result<Found, Failure> {
    let target = dref.target(db)?;
    let no_state = || match dref {
        DatasetRef::File(_) => {
            eprintln!(
                "note: no depot-migrate state in {}: nothing has been applied or submitted there (is --db the right database?)",
                target_name(&target)
            );
            Ok(None)
        }
        DatasetRef::Id { id, .. } => Err(Failure::Refused(
            ErrorCode::NoState,
            format!(
                "no depot-migrate state in {}, so no dataset {id:?} (is --db the right database?)",
                target_name(&target)
            ),
        )),
    };
    let Some(mut store) = open_existing(&target)? else {
        return no_state();
    };
    if !store.has_state().map_err(store_failure)? {
        return no_state();
    }
    let stored = store.read_state(dref.id()).map_err(store_failure)?;
    match &stored {
        Some(s) => dref.check(s)?,
        None => dref.unrecorded(store.as_mut())?,
    }
    Ok(Some((store, stored)))
}

/// Pending outbox events of a dataset: `{count, destinations: {dest: n}}`.
fn pending_json(store: &mut dyn store::Store, id: &str) -> Result<Value, Failure> {
    let pending = store
        .pending_events(Some(id), 10_000)
        .map_err(store_failure)?;
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

/// What `status` shows beyond its JSON document (text output only).
#[derive(Default)]
pub struct StatusExtra {
    /// The environment recorded (or configured).
    pub environment_id: Option<String>,
    /// The lease holder, while a run is in progress: the stored holder and since when.
    pub lease: Option<store::LeaseInfo>,
}

/// `status`: the `get-dataset` shape plus `phase` and `pendingEvents` (the JSON document),
/// and what the text block adds.
pub fn status(dref: &DatasetRef, db: Option<&str>) -> Result<(Value, StatusExtra), Failure> {
    let Some((mut store, stored)) = read(dref, db)? else {
        // No state tables (only for a file): the dataset is new here.
        let ds = dref.config(None)?;
        let mut doc = executor::status_json(&ds, None, false);
        doc["pendingEvents"] = json!({"count": 0, "destinations": {}});
        let extra = StatusExtra {
            environment_id: Some(ds.environment_id),
            lease: None,
        };
        return Ok((doc, extra));
    };
    let ds = match dref {
        DatasetRef::File(ds) => (**ds).clone(),
        DatasetRef::Id { id, .. } => match &stored {
            Some(s) => dataset_ref::config_from_state(id, s)?,
            None => unreachable_unrecorded(id)?,
        },
    };
    let held = store
        .lock_held_elsewhere(dref.id())
        .map_err(store_failure)?;
    let mut doc = executor::status_json(&ds, stored.as_ref(), held);
    doc["pendingEvents"] = pending_json(store.as_mut(), dref.id())?;
    let lease = if held {
        store.lease(dref.id()).map_err(store_failure)?
    } else {
        None
    };
    let environment_id = stored
        .as_ref()
        .map(|s| s.identity.environment_id.clone())
        .filter(|e| !e.is_empty())
        .or(Some(ds.environment_id));
    Ok((
        doc,
        StatusExtra {
            environment_id,
            lease,
        },
    ))
}

/// [`read`] refuses an id that is not recorded; this keeps that promise visible.
fn unreachable_unrecorded<T>(id: &str) -> Result<T, Failure> {
    Err(Failure::Refused(
        ErrorCode::NoState,
        format!("no dataset {id:?} is recorded in this database"),
    ))
}

/// `history`: the dataset's transitions, oldest first.
pub fn history(dref: &DatasetRef, db: Option<&str>) -> Result<Vec<Value>, Failure> {
    match read(dref, db)? {
        Some((mut store, _)) => store.history(dref.id()).map_err(store_failure),
        None => Ok(Vec::new()),
    }
}

/// `snapshot`: the package deployed now.
pub fn snapshot(dref: &DatasetRef, db: Option<&str>) -> Result<Value, Failure> {
    let stored = read(dref, db)?.and_then(|(_, s)| s);
    match stored.and_then(|s| s.deployed_package) {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            Failure::Failed(
                ErrorCode::Store,
                format!(
                    "the stored deployed package of dataset {} is not JSON: {e}",
                    dref.id()
                ),
            )
        }),
        None => Err(Failure::Refused(
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
pub fn list(db: Option<String>) -> Result<Vec<Value>, Failure> {
    let url = dataset_ref::store_url(db)?;
    let target = target_of_url(&url)?;
    let Some(mut store) = open_existing(&target)? else {
        eprintln!(
            "note: no depot-migrate state in {}: no dataset is recorded there",
            target_name(&target)
        );
        return Ok(Vec::new());
    };
    if !store.has_state().map_err(store_failure)? {
        eprintln!(
            "note: no depot-migrate state in {}: no dataset is recorded there",
            target_name(&target)
        );
        return Ok(Vec::new());
    }
    let mut ids = store.dataset_ids().map_err(store_failure)?;
    ids.sort();
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(s) = store.read_state(&id).map_err(store_failure)? else {
            continue;
        };
        let held = store.lock_held_elsewhere(&id).map_err(store_failure)?;
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
    Ok(rows)
}
