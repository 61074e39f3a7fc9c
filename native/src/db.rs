//! Opening a command's state store: `--db` / `DEPOT_DATABASE_URL`, reads that create
//! nothing, and the messages for a database without state.

use crate::output::{store_failure, Failure};
use depot_migrate_core::DatasetConfig;
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::{executor, store};

/// The target of a database URL for commands that serve every dataset in it (`worker`,
/// `watchdog`, `events flush`): the engine from the URL's scheme.
pub fn target_of_url(url: &str) -> Result<executor::DbTarget, Failure> {
    let engine = if url.starts_with("sqlite:") {
        depot_migrate_core::Engine::Sqlite
    } else if url.starts_with("snowflake://") {
        depot_migrate_core::Engine::Snowflake
    } else {
        depot_migrate_core::Engine::Postgres
    };
    executor::resolve_db(Some(url), engine).map_err(Failure::Usage)
}

/// Opens the state store of a database URL for commands that serve every dataset in it
/// (`worker`, `watchdog`, `events flush`): `db` is [`crate::args::DbArgs::url`], else
/// the embedded `sqlite:depot.sqlite` when it exists ([`crate::dataset_ref::store_url`]).
pub fn open_db(db: Option<String>) -> Result<Box<dyn store::Store>, Failure> {
    let url = crate::dataset_ref::store_url(db)?;
    let target = target_of_url(&url)?;
    let mut store = executor::open_store(&target).map_err(store_failure)?;
    store.ensure_state_schema().map_err(store_failure)?;
    Ok(store)
}

/// [`depot_migrate_engine::wait::open_existing`], its error as a command failure.
pub fn open_existing(
    target: &executor::DbTarget,
) -> Result<Option<Box<dyn store::Store>>, Failure> {
    depot_migrate_engine::wait::open_existing(target).map_err(store_failure)
}

/// [`depot_migrate_engine::wait::state_if_any`], its error as a command failure.
pub fn state_if_any(
    store: &mut Option<Box<dyn store::Store>>,
    dataset_id: &str,
) -> Result<Option<store::StoredState>, Failure> {
    depot_migrate_engine::wait::state_if_any(store, dataset_id).map_err(store_failure)
}

/// Where a target is, for messages (no password).
pub fn target_name(target: &executor::DbTarget) -> String {
    match target {
        executor::DbTarget::Sqlite(p) => format!("sqlite:{p}"),
        executor::DbTarget::Postgres(u) | executor::DbTarget::Snowflake(u) => store::redact_url(u),
    }
}

/// Says on stderr that a dataset id is not recorded (new, or mistyped), naming the ones
/// that are.
pub fn note_unrecorded(store: &mut dyn store::Store, ds: &DatasetConfig) -> Result<(), Failure> {
    let ids = store.dataset_ids().map_err(store_failure)?;
    let known = if ids.is_empty() {
        "none".to_string()
    } else {
        ids.iter()
            .take(10)
            .map(|i| format!("{i:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "note: no dataset {:?} is recorded in this database (a new dataset, or a mistyped datasetId); recorded datasets: {known}",
        ds.dataset_id
    );
    Ok(())
}

/// [`open_db`] for commands that only write when they find something to do
/// (`watchdog`): creates nothing.
pub fn open_db_existing(db: Option<String>) -> Result<Box<dyn store::Store>, Failure> {
    let url = crate::dataset_ref::store_url(db)?;
    let target = target_of_url(&url)?;
    match open_existing(&target)? {
        Some(store) => Ok(store),
        None => Err(Failure::Refused(
            ErrorCode::NoState,
            format!("no depot-migrate state in {}", target_name(&target)),
        )),
    }
}
