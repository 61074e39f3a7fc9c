//! Opening a command's state store: `--db` / `DEPOT_DATABASE_URL` and reads that create
//! nothing. The operator commands' rules are the engine's
//! (`engine/src/operator/dataset.rs`).

use crate::output::{store_failure, Failure};
use depot_migrate_engine::operator::dataset;
use depot_migrate_engine::{executor, store};

/// Opens the state store of a database URL for commands that serve every dataset in it
/// (`worker`): `db` is [`crate::args::DbArgs::url`], else the embedded
/// `sqlite:depot.sqlite` when it exists ([`crate::dataset_ref::store_url`]).
pub fn open_db(db: Option<String>) -> Result<Box<dyn store::Store>, Failure> {
    let url = crate::dataset_ref::store_url(db)?;
    let target = dataset::target_of_url(&url)?;
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
