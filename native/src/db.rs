//! Opening a command's state store: `--db` / `DEPOT_DATABASE_URL`, reads that create
//! nothing, and the messages for a database without state.

use crate::inputs::read_dataset;
use crate::output::{apply_failure, store_failure, Failure};
use depot_migrate_core::{load, DatasetConfig};
use depot_migrate_engine::input::read_input;
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
/// (`worker`, `watchdog`): `db` is [`crate::args::DbArgs::url`].
pub fn open_db(db: Option<String>) -> Result<Box<dyn store::Store>, Failure> {
    let url = db.ok_or_else(|| Failure::Usage("pass --db URL or set DEPOT_DATABASE_URL".into()))?;
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

/// The dataset config, its store and its recorded state, as a read finds them.
pub type ReadState = (
    DatasetConfig,
    Box<dyn store::Store>,
    Option<store::StoredState>,
);

/// A read (`status`, `history`, `snapshot`): the dataset config, its store and its
/// recorded state, creating and changing nothing. `None`: the database holds no state
/// tables (said on stderr). A recorded identity other than the config's: refused
/// (exit 3).
pub fn read_for(dataset: &str, db: Option<&str>) -> Result<Option<ReadState>, Failure> {
    let ds = read_dataset(dataset)?;
    let target = executor::resolve_db(db, ds.engine).map_err(Failure::Usage)?;
    let no_state = || {
        eprintln!(
            "note: no depot-migrate state in {}: nothing has been applied or submitted there (is --db the right database?)",
            target_name(&target)
        );
        Ok(None)
    };
    let Some(mut store) = open_existing(&target)? else {
        return no_state();
    };
    if !store.has_state().map_err(store_failure)? {
        return no_state();
    }
    let stored = store.read_state(&ds.dataset_id).map_err(store_failure)?;
    if let Some(s) = &stored {
        executor::check_identity(&ds, s).map_err(apply_failure)?;
    }
    Ok(Some((ds, store, stored)))
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
    let url = db.ok_or_else(|| Failure::Usage("pass --db URL or set DEPOT_DATABASE_URL".into()))?;
    let target = target_of_url(&url)?;
    match open_existing(&target)? {
        Some(store) => Ok(store),
        None => Err(Failure::Refused(format!(
            "no depot-migrate state in {}",
            target_name(&target)
        ))),
    }
}

/// Reads a dataset config and opens its state store.
pub fn open_for(
    dataset: &str,
    db: Option<&str>,
) -> Result<(DatasetConfig, Box<dyn store::Store>), Failure> {
    let file = read_input(dataset).map_err(|(n, e)| Failure::BadInput(vec![(n, e.problems)]))?;
    let ds = load::parse_dataset(&file.bytes)
        .map_err(|e| Failure::BadInput(vec![(file.name, e.problems)]))?;
    let target = executor::resolve_db(db, ds.engine).map_err(Failure::Usage)?;
    let mut store = executor::open_store(&target).map_err(store_failure)?;
    store.ensure_state_schema().map_err(store_failure)?;
    Ok((ds, store))
}
