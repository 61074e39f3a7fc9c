//! Which dataset an operator command works on: a dataset config (`--dataset FILE`, read
//! by the command line) or a dataset id recorded in a state store (`--dataset-id ID`,
//! optionally checked against `--environment-id`; the only form a runner request has),
//! and which state store commands without a dataset file use.

use super::{OpError, Reply};
use crate::error::ErrorCode;
use crate::{executor, store};
use depot_migrate_core::{DatasetConfig, Engine};

/// The embedded state store of the README's main job, used by the commands that take no
/// dataset file when no database URL is given and it exists.
pub const EMBEDDED_DB: &str = "depot.sqlite";

/// A dataset named by config or by id.
#[derive(Debug, Clone)]
pub enum DatasetRef {
    /// From `--dataset FILE` (read and validated).
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
pub fn valid_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// Checks the syntax of a dataset id (and environment id) named by `flag`s; the error
/// says what an id is and where the recorded ones are listed.
pub fn check_ids(dataset: (&str, &str), environment: Option<(&str, &str)>) -> Result<(), OpError> {
    for (flag, v) in std::iter::once(dataset).chain(environment) {
        if !valid_id(v) {
            return Err(OpError::usage(format!(
                "{flag} {v:?} is not an id: ids start with a letter or digit and hold only letters, digits, `_` and `-` (at most 128); `depot-migrate list` shows the recorded ones"
            )));
        }
    }
    Ok(())
}

impl DatasetRef {
    /// The dataset id.
    pub fn id(&self) -> &str {
        match self {
            DatasetRef::File(ds) => &ds.dataset_id,
            DatasetRef::Id { id, .. } => id,
        }
    }

    /// The state store: a config's engine chooses the default as `apply` does; an id uses
    /// [`store_url`].
    pub fn target(&self, db: Option<&str>) -> Result<executor::DbTarget, OpError> {
        match self {
            DatasetRef::File(ds) => executor::resolve_db(db, ds.engine).map_err(OpError::usage),
            DatasetRef::Id { .. } => target_of_url(&store_url(db.map(str::to_string))?),
        }
    }

    /// Checks that the recorded dataset is the one named: the config's identity, or the
    /// environment id given with an id (exit 3 otherwise).
    pub fn check(&self, stored: &store::StoredState) -> Result<(), OpError> {
        match self {
            DatasetRef::File(ds) => executor::check_identity(ds, stored).map_err(OpError::from),
            DatasetRef::Id {
                id,
                environment_id: Some(env),
            } if !stored.identity.environment_id.is_empty()
                && &stored.identity.environment_id != env =>
            {
                Err(OpError::refused(ErrorCode::IdentityMismatch, format!(
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
    pub fn config(&self, stored: Option<&store::StoredState>) -> Result<DatasetConfig, OpError> {
        match self {
            DatasetRef::File(ds) => Ok((**ds).clone()),
            DatasetRef::Id { id, .. } => {
                let Some(s) = stored else {
                    return Err(OpError::refused(ErrorCode::NoState, format!(
                        "no dataset {id:?} is recorded in this database; `depot-migrate list` shows the recorded ones"
                    )));
                };
                config_from_state(id, s)
            }
        }
    }

    /// The dataset named is not recorded: for a file that is a new dataset (a note); for
    /// an id there is nothing to show (a refusal, exit 3).
    pub fn unrecorded(
        &self,
        store: &mut dyn store::Store,
        reply: &mut Reply,
    ) -> Result<(), OpError> {
        let ids = store.dataset_ids()?;
        match self {
            DatasetRef::File(ds) => {
                let known = if ids.is_empty() {
                    "none".to_string()
                } else {
                    ids.iter()
                        .take(10)
                        .map(|i| format!("{i:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                reply.note(format!(
                    "note: no dataset {:?} is recorded in this database (a new dataset, or a mistyped datasetId); recorded datasets: {known}",
                    ds.dataset_id
                ));
                Ok(())
            }
            DatasetRef::Id { id, .. } => Err(OpError::refused(ErrorCode::NoState, format!(
                "no dataset {id:?} is recorded in this database (recorded: {}); check the id with `depot-migrate list`, or pass the database it lives in with --db",
                recorded_list(&ids)
            ))),
        }
    }
}

/// Opens the state store of a dataset that a command changes (`recover`) and returns its
/// config: a file's store is created if needed; an id's store and state must exist.
pub fn open_for(
    dref: &DatasetRef,
    db: Option<&str>,
    reply: &mut Reply,
) -> Result<(DatasetConfig, Box<dyn store::Store>), OpError> {
    let target = dref.target(db)?;
    match dref {
        DatasetRef::File(ds) => {
            let mut store = executor::open_store(&target)?;
            store.ensure_state_schema()?;
            Ok(((**ds).clone(), store))
        }
        DatasetRef::Id { id, .. } => {
            let refuse = || {
                OpError::refused(ErrorCode::NoState, format!(
                    "no depot-migrate state in {}, so no dataset {id:?} (is --db the right database?)",
                    target_name(&target)
                ))
            };
            let mut store = crate::wait::open_existing(&target)?.ok_or_else(refuse)?;
            if !store.has_state()? {
                return Err(refuse());
            }
            store.ensure_state_schema()?;
            let stored = store.read_state(id)?;
            match &stored {
                Some(s) => dref.check(s)?,
                None => dref.unrecorded(store.as_mut(), reply)?,
            }
            let ds = dref.config(stored.as_ref())?;
            Ok((ds, store))
        }
    }
}

/// Up to ten recorded ids, quoted, or `none`.
pub fn recorded_list(ids: &[String]) -> String {
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
pub fn config_from_state(id: &str, s: &store::StoredState) -> Result<DatasetConfig, OpError> {
    if let Some(text) = &s.submission {
        let sub = executor::Submission::parse(text)?;
        return Ok(sub.dataset);
    }
    let engine = Engine::from_name(&s.identity.engine).ok_or_else(|| {
        OpError::failed(ErrorCode::Store, format!(
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
        online_indexes: None,
    })
}

/// The state store of a command that takes no dataset file (`worker`, `watchdog`,
/// `events flush`, `list`, and the `--dataset-id` forms): `db` (the command line's
/// `--db`, else `DEPOT_DATABASE_URL`; the runner's own database), else the embedded
/// `sqlite:depot.sqlite` when that file exists in the working directory.
pub fn store_url(db: Option<String>) -> Result<String, OpError> {
    if let Some(url) = db {
        return Ok(url);
    }
    if std::path::Path::new(EMBEDDED_DB).is_file() {
        return Ok(format!("sqlite:{EMBEDDED_DB}"));
    }
    Err(OpError::usage(format!(
        "no database: pass --db URL or set DEPOT_DATABASE_URL (there is no {EMBEDDED_DB} here to use)"
    )))
}

/// The target of a database URL for commands that serve every dataset in it: the engine
/// from the URL's scheme.
pub fn target_of_url(url: &str) -> Result<executor::DbTarget, OpError> {
    let engine = if url.starts_with("sqlite:") {
        Engine::Sqlite
    } else if url.starts_with("snowflake://") {
        Engine::Snowflake
    } else {
        Engine::Postgres
    };
    executor::resolve_db(Some(url), engine).map_err(OpError::usage)
}

/// Where a target is, for messages (no password).
pub fn target_name(target: &executor::DbTarget) -> String {
    match target {
        executor::DbTarget::Sqlite(p) => format!("sqlite:{p}"),
        executor::DbTarget::Postgres(u) | executor::DbTarget::Snowflake(u) => store::redact_url(u),
    }
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
        assert!(check_ids(("--dataset-id", "a b"), None)
            .expect_err("an error")
            .message
            .contains("--dataset-id \"a b\" is not an id"));
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
