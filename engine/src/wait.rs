//! `wait`: polls a dataset's recorded state until a version is deployed, failed or
//! superseded, or the time is up. A read: until the state tables exist (nothing
//! submitted yet) it only looks, and it creates nothing.

use crate::executor::{self, ApplyError, DbTarget, WaitState};
use crate::store::{Store, StoreError, StoredState};
use depot_migrate_core::DatasetConfig;
use std::time::{Duration, Instant};

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The version is deployed.
    Deployed,
    /// The version failed (the message says how).
    Failed(String),
    /// Another version is wanted now (the message says which).
    Superseded(String),
    /// Still pending after the timeout.
    TimedOut,
}

/// Why a wait could not go on.
#[derive(Debug)]
pub enum WaitError {
    /// Opening or reading the store failed.
    Store(StoreError),
    /// The recorded state belongs to another dataset identity.
    Identity(ApplyError),
}

/// Opens a target's store only if it can hold state already, creating nothing: a SQLite
/// file that does not exist is `None` (opening it would create it).
pub fn open_existing(target: &DbTarget) -> Result<Option<Box<dyn Store>>, StoreError> {
    if let DbTarget::Sqlite(path) = target {
        if !std::path::Path::new(path).exists() {
            return Ok(None);
        }
    }
    executor::open_store(target).map(Some)
}

/// The recorded state of a dataset, if the store exists and holds state (a read).
pub fn state_if_any(
    store: &mut Option<Box<dyn Store>>,
    dataset_id: &str,
) -> Result<Option<StoredState>, StoreError> {
    match store {
        Some(st) => {
            if st.has_state()? {
                st.read_state(dataset_id)
            } else {
                Ok(None)
            }
        }
        None => Ok(None),
    }
}

/// Waits for `version` of `dataset` in `target`, looking every `interval` (at least every
/// 10 ms) for at most `timeout`.
pub fn wait(
    target: &DbTarget,
    dataset: &DatasetConfig,
    version: &str,
    timeout: Duration,
    interval: Duration,
) -> Result<WaitOutcome, WaitError> {
    let start = Instant::now();
    let mut store: Option<Box<dyn Store>> = None;
    loop {
        if store.is_none() {
            store = open_existing(target).map_err(WaitError::Store)?;
        }
        let stored = state_if_any(&mut store, &dataset.dataset_id).map_err(WaitError::Store)?;
        if let Some(s) = &stored {
            executor::check_identity(dataset, s).map_err(WaitError::Identity)?;
        }
        match executor::wait_state(stored.as_ref(), version) {
            WaitState::Deployed => return Ok(WaitOutcome::Deployed),
            WaitState::Failed(m) => return Ok(WaitOutcome::Failed(m)),
            WaitState::Superseded(m) => return Ok(WaitOutcome::Superseded(m)),
            WaitState::Pending => {}
        }
        if start.elapsed() >= timeout {
            return Ok(WaitOutcome::TimedOut);
        }
        std::thread::sleep(
            interval
                .min(timeout.saturating_sub(start.elapsed()))
                .max(Duration::from_millis(10)),
        );
    }
}
