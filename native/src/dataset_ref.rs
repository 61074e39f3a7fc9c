//! Which dataset a command works on: a dataset config file (`--dataset FILE`) or a
//! dataset id recorded in a state store (`--dataset-id ID`, optionally checked against
//! `--environment-id`), and which state store commands without a dataset file use.

use crate::db::{note_unrecorded, open_existing, target_name, target_of_url};
use crate::inputs::read_dataset;
use crate::output::{apply_failure, store_failure, Failure};
use depot_migrate_core::{DatasetConfig, Engine};
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::{executor, store};

/// The embedded state store of the README's main job, used by the commands that take no
/// dataset file when neither `--db` nor `DEPOT_DATABASE_URL` names one and it exists.
pub const EMBEDDED_DB: &str = "depot.sqlite";

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

/// A dataset named by file (read and validated) or by id.
pub enum DatasetRef {
    /// From `--dataset FILE`.
    File(Box<DatasetConfig>),
    /// From `--dataset-id ID [--environment-id ENV]`.
    Id {
        /// The dataset id.
        id: String,
        /// The environment it must be recorded for.
        environment_id: Option<String>,
    },
}

/// Whether `s` is a valid dataset or environment id (the dataset config's rule).
fn valid_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
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
                for (flag, v) in [
                    ("--dataset-id", Some(id)),
                    ("--environment-id", self.environment_id.as_ref()),
                ] {
                    if let Some(v) = v {
                        if !valid_id(v) {
                            return Err(Failure::Usage(format!(
                                "{flag} {v:?} is not an id: ids start with a letter or digit and hold only letters, digits, `_` and `-` (at most 128); `depot-migrate list` shows the recorded ones"
                            )));
                        }
                    }
                }
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

impl DatasetRef {
    /// The dataset id.
    pub fn id(&self) -> &str {
        match self {
            DatasetRef::File(ds) => &ds.dataset_id,
            DatasetRef::Id { id, .. } => id,
        }
    }

    /// The state store: a file's engine chooses the default as `apply` does; an id uses
    /// [`store_url`].
    pub fn target(&self, db: Option<&str>) -> Result<executor::DbTarget, Failure> {
        match self {
            DatasetRef::File(ds) => executor::resolve_db(db, ds.engine).map_err(Failure::Usage),
            DatasetRef::Id { .. } => target_of_url(&store_url(db.map(str::to_string))?),
        }
    }

    /// Checks that the recorded dataset is the one named: the config's identity, or the
    /// `--environment-id` given with an id (exit 3 otherwise).
    pub fn check(&self, stored: &store::StoredState) -> Result<(), Failure> {
        match self {
            DatasetRef::File(ds) => executor::check_identity(ds, stored).map_err(apply_failure),
            DatasetRef::Id {
                id,
                environment_id: Some(env),
            } if !stored.identity.environment_id.is_empty()
                && &stored.identity.environment_id != env =>
            {
                Err(Failure::Refused(ErrorCode::IdentityMismatch, format!(
                    "dataset {id} is recorded for environment {:?}, not {env:?}: this database is not the one of environment {env:?} (pass its --db)",
                    stored.identity.environment_id
                )))
            }
            DatasetRef::Id { .. } => Ok(()),
        }
    }

    /// The dataset config: the file's, or for an id the one stored with its last
    /// submission (what `apply` and `submit` record), else what the state row records
    /// (environment, engine, schema, alias; no event bus).
    pub fn config(&self, stored: Option<&store::StoredState>) -> Result<DatasetConfig, Failure> {
        match self {
            DatasetRef::File(ds) => Ok((**ds).clone()),
            DatasetRef::Id { id, .. } => {
                let Some(s) = stored else {
                    return Err(Failure::Refused(ErrorCode::NoState, format!(
                        "no dataset {id:?} is recorded in this database; `depot-migrate list` shows the recorded ones"
                    )));
                };
                config_from_state(id, s)
            }
        }
    }

    /// Says on stderr that the dataset named is not recorded: for a file that is a new
    /// dataset (a note); for an id there is nothing to show (a refusal, exit 3).
    pub fn unrecorded(&self, store: &mut dyn store::Store) -> Result<(), Failure> {
        match self {
            DatasetRef::File(ds) => note_unrecorded(store, ds),
            DatasetRef::Id { id, .. } => {
                let ids = store.dataset_ids().map_err(store_failure)?;
                Err(Failure::Refused(ErrorCode::NoState, format!(
                    "no dataset {id:?} is recorded in this database (recorded: {}); check the id with `depot-migrate list`, or pass the database it lives in with --db",
                    recorded_list(&ids)
                )))
            }
        }
    }
}

/// Opens the state store of a dataset that a command changes (`recover`) and returns its
/// config: a file's store is created if needed; an id's store and state must exist.
pub fn open_for(
    dref: &DatasetRef,
    db: Option<&str>,
) -> Result<(DatasetConfig, Box<dyn store::Store>), Failure> {
    let target = dref.target(db)?;
    match dref {
        DatasetRef::File(ds) => {
            let mut store = executor::open_store(&target).map_err(store_failure)?;
            store.ensure_state_schema().map_err(store_failure)?;
            Ok(((**ds).clone(), store))
        }
        DatasetRef::Id { id, .. } => {
            let refuse = || {
                Failure::Refused(ErrorCode::NoState, format!(
                    "no depot-migrate state in {}, so no dataset {id:?} (is --db the right database?)",
                    target_name(&target)
                ))
            };
            let mut store = open_existing(&target)?.ok_or_else(refuse)?;
            if !store.has_state().map_err(store_failure)? {
                return Err(refuse());
            }
            store.ensure_state_schema().map_err(store_failure)?;
            let stored = store.read_state(id).map_err(store_failure)?;
            match &stored {
                Some(s) => dref.check(s)?,
                None => dref.unrecorded(store.as_mut())?,
            }
            let ds = dref.config(stored.as_ref())?;
            Ok((ds, store))
        }
    }
}

/// Up to ten recorded ids, quoted, or `none`.
fn recorded_list(ids: &[String]) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    let mut s = ids
        .iter()
        .take(10)
        .map(|i| format!("{i:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > 10 {
        s.push_str(&format!(" and {} more", ids.len() - 10));
    }
    s
}

/// The dataset config of a recorded dataset (see [`DatasetRef::config`]).
pub fn config_from_state(id: &str, s: &store::StoredState) -> Result<DatasetConfig, Failure> {
    if let Some(text) = &s.submission {
        let sub = executor::Submission::parse(text).map_err(apply_failure)?;
        return Ok(sub.dataset);
    }
    let engine = Engine::from_name(&s.identity.engine).ok_or_else(|| {
        Failure::Failed(ErrorCode::Store, format!(
            "dataset {id}: the state row records engine {:?}, which this depot-migrate does not know; pass the dataset config with --dataset FILE",
            s.identity.engine
        ))
    })?;
    Ok(DatasetConfig {
        environment_id: s.identity.environment_id.clone(),
        dataset_id: id.to_string(),
        dataset_alias: s.state.alias.clone(),
        engine,
        schema: s.identity.schema.clone(),
        migration_mode: None,
        event_bus_name: None,
        allow_destructive: None,
        scheduled_limit_minutes: None,
    })
}

/// The state store of a command that takes no dataset file (`worker`, `watchdog`,
/// `events flush`, `list`, and the `--dataset-id` forms): `db` ([`crate::args::DbArgs::url`]:
/// `--db`, else `DEPOT_DATABASE_URL`), else the embedded `sqlite:depot.sqlite` when that
/// file exists in the working directory.
pub fn store_url(db: Option<String>) -> Result<String, Failure> {
    if let Some(url) = db {
        return Ok(url);
    }
    if std::path::Path::new(EMBEDDED_DB).is_file() {
        return Ok(format!("sqlite:{EMBEDDED_DB}"));
    }
    Err(Failure::Usage(format!(
        "no database: pass --db URL or set DEPOT_DATABASE_URL (there is no {EMBEDDED_DB} here to use)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_config_rule() {
        assert!(valid_id("dogs"));
        assert!(valid_id("a-b_9"));
        assert!(!valid_id(""));
        assert!(!valid_id("-x"));
        assert!(!valid_id("a b"));
        assert!(!valid_id("a'b"));
        assert!(!valid_id(&"a".repeat(129)));
    }

    #[test]
    fn recorded_ids_are_listed_briefly() {
        assert_eq!(recorded_list(&[]), "none");
        let ids: Vec<String> = (0..12).map(|i| format!("d{i}")).collect();
        let s = recorded_list(&ids);
        assert!(s.starts_with("\"d0\", \"d1\""), "{s}");
        assert!(s.ends_with("and 2 more"), "{s}");
    }
}
