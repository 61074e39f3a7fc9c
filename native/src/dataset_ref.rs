//! Which dataset a command works on: a dataset config file (`--dataset FILE`) or a
//! dataset id recorded in a state store (`--dataset-id ID`, optionally checked against
//! `--environment-id`), and which state store commands without a dataset file use. The
//! rules are the engine's (`engine/src/operator/dataset.rs`); this is their command line.

use crate::inputs::read_dataset;
use crate::output::Failure;
use depot_migrate_engine::operator::dataset::{self, check_ids};
pub use depot_migrate_engine::operator::DatasetRef;

/// How a command names its dataset: exactly one of a config file or a recorded id.
#[derive(clap::Args, Debug, Clone)]
pub struct DatasetArg {
    /// The dataset config (`*.dataset.json`).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "dataset_id",
        conflicts_with = "dataset_id"
    )]
    pub dataset: Option<String>,
    /// The dataset's id as the state store records it (see `depot-migrate list`),
    /// instead of its config file. The database comes from --db, else
    /// `DEPOT_DATABASE_URL`, else `sqlite:depot.sqlite` when that file exists.
    #[arg(long, value_name = "ID")]
    pub dataset_id: Option<String>,
    /// With --dataset-id: refuse (exit 3) unless the dataset is recorded for this
    /// environment (several environments may use the same dataset ids).
    #[arg(long, value_name = "ID")]
    pub environment_id: Option<String>,
}

impl DatasetArg {
    /// Reads the config file, or checks the id's syntax (exit 2 on either).
    pub fn resolve(&self) -> Result<DatasetRef, Failure> {
        match (&self.dataset, &self.dataset_id) {
            (Some(_), None) if self.environment_id.is_some() => Err(Failure::Usage(
                "--environment-id goes with --dataset-id (a dataset file names its environment)"
                    .into(),
            )),
            (Some(file), None) => Ok(DatasetRef::File(Box::new(read_dataset(file)?))),
            (None, Some(id)) => {
                check_ids(
                    ("--dataset-id", id),
                    self.environment_id
                        .as_deref()
                        .map(|e| ("--environment-id", e)),
                )?;
                Ok(DatasetRef::Id {
                    id: id.clone(),
                    environment_id: self.environment_id.clone(),
                })
            }
            _ => Err(Failure::Usage(
                "name the dataset with exactly one of --dataset FILE or --dataset-id ID".into(),
            )),
        }
    }
}

/// The state store of a command that takes no dataset file
/// ([`dataset::store_url`]: `db`, else the embedded `sqlite:depot.sqlite` when it exists).
pub fn store_url(db: Option<String>) -> Result<String, Failure> {
    dataset::store_url(db).map_err(Failure::from)
}
