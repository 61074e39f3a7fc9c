//! Runtime error codes: every refusal and failure of a command that runs against a
//! database has a stable `DR` code, listed in `docs/errors.md` ("Runtime errors"). Codes
//! are never reused; new ones are appended. (Input problems have `DM` codes, in
//! `core/src/error.rs`.) `--output json` prints the code beside the message.

use std::fmt;

/// A stable runtime error code (`DR1001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Another executor holds the dataset's lock.
    LockHeld,
    /// The dataset's state changed while this run was working.
    StateChanged,
    /// The stored or given plan is not the plan from the deployed version.
    StalePlan,
    /// The plan has destructive steps the dataset config does not allow.
    DestructiveNotAllowed,
    /// The last run failed after steps had committed; only `recover` goes on.
    Dirty,
    /// The config names another target than the one recorded for the dataset.
    IdentityMismatch,
    /// The schema holds objects but no state is recorded for the dataset.
    SchemaNotEmpty,
    /// The planner cannot plan from the deployed version to the package.
    CannotPlan,
    /// `recover` found nothing to recover.
    NothingToRecover,
    /// `recover` found no stored submission for the failed run.
    NoSubmission,
    /// `recover --resolve rolled-back` with nothing deployed before the run.
    NoPreviousVersion,
    /// The database's catalog is not what the chosen resolution needs.
    CatalogMismatch,
    /// No depot-migrate state where the command needs some.
    NoState,
    /// An asynchronous dataset given to `apply` without `--sync`.
    AsynchronousDataset,
    /// The migration failed; `failed` was recorded.
    MigrationFailed,
    /// The state store (or its database) failed.
    Store,
    /// The database refused the credentials from the environment.
    Credentials,
    /// `wait` ran out of time.
    WaitTimeout,
    /// Events are still pending after `events flush`, or could not be published.
    EventsPending,
    /// The worker could not read its queue or handle signals.
    Worker,
    /// `inspect --strict` found objects the package model cannot express.
    Unrepresented,
    /// The package read from the catalog does not validate.
    InspectInvalid,
    /// The runner's configuration does not allow the operation.
    OperationNotAllowed,
    /// An operator request of a version the runner does not speak.
    OperatorVersion,
    /// An operator request naming an operation there is not.
    UnknownOperation,
    /// An operator request whose arguments do not read.
    InvalidOperatorRequest,
    /// The runner could not be invoked, or did not answer as a runner does.
    RunnerInvoke,
    /// The caller's identity is unknown (STS failed, or a request that changes state
    /// does not say who asks).
    CallerIdentity,
}

impl ErrorCode {
    /// Every code, in the order `docs/errors.md` lists them.
    pub const ALL: [ErrorCode; 28] = [
        ErrorCode::LockHeld,
        ErrorCode::StateChanged,
        ErrorCode::StalePlan,
        ErrorCode::DestructiveNotAllowed,
        ErrorCode::Dirty,
        ErrorCode::IdentityMismatch,
        ErrorCode::SchemaNotEmpty,
        ErrorCode::CannotPlan,
        ErrorCode::NothingToRecover,
        ErrorCode::NoSubmission,
        ErrorCode::NoPreviousVersion,
        ErrorCode::CatalogMismatch,
        ErrorCode::NoState,
        ErrorCode::AsynchronousDataset,
        ErrorCode::MigrationFailed,
        ErrorCode::Store,
        ErrorCode::Credentials,
        ErrorCode::WaitTimeout,
        ErrorCode::EventsPending,
        ErrorCode::Worker,
        ErrorCode::Unrepresented,
        ErrorCode::InspectInvalid,
        ErrorCode::OperationNotAllowed,
        ErrorCode::OperatorVersion,
        ErrorCode::UnknownOperation,
        ErrorCode::InvalidOperatorRequest,
        ErrorCode::RunnerInvoke,
        ErrorCode::CallerIdentity,
    ];

    /// The code (`DR1001`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::LockHeld => "DR1001",
            ErrorCode::StateChanged => "DR1002",
            ErrorCode::StalePlan => "DR1003",
            ErrorCode::DestructiveNotAllowed => "DR1004",
            ErrorCode::Dirty => "DR1005",
            ErrorCode::IdentityMismatch => "DR1006",
            ErrorCode::SchemaNotEmpty => "DR1007",
            ErrorCode::CannotPlan => "DR1008",
            ErrorCode::NothingToRecover => "DR1009",
            ErrorCode::NoSubmission => "DR1010",
            ErrorCode::NoPreviousVersion => "DR1011",
            ErrorCode::CatalogMismatch => "DR1012",
            ErrorCode::NoState => "DR1013",
            ErrorCode::AsynchronousDataset => "DR1014",
            ErrorCode::MigrationFailed => "DR1015",
            ErrorCode::Store => "DR1016",
            ErrorCode::Credentials => "DR1017",
            ErrorCode::WaitTimeout => "DR1018",
            ErrorCode::EventsPending => "DR1019",
            ErrorCode::Worker => "DR1020",
            ErrorCode::Unrepresented => "DR1500",
            ErrorCode::InspectInvalid => "DR1501",
            ErrorCode::OperationNotAllowed => "DR1520",
            ErrorCode::OperatorVersion => "DR1521",
            ErrorCode::UnknownOperation => "DR1522",
            ErrorCode::InvalidOperatorRequest => "DR1523",
            ErrorCode::RunnerInvoke => "DR1524",
            ErrorCode::CallerIdentity => "DR1525",
        }
    }

    /// The name `docs/errors.md` gives it (`LockHeld`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::LockHeld => "LockHeld",
            ErrorCode::StateChanged => "StateChanged",
            ErrorCode::StalePlan => "StalePlan",
            ErrorCode::DestructiveNotAllowed => "DestructiveNotAllowed",
            ErrorCode::Dirty => "Dirty",
            ErrorCode::IdentityMismatch => "IdentityMismatch",
            ErrorCode::SchemaNotEmpty => "SchemaNotEmpty",
            ErrorCode::CannotPlan => "CannotPlan",
            ErrorCode::NothingToRecover => "NothingToRecover",
            ErrorCode::NoSubmission => "NoSubmission",
            ErrorCode::NoPreviousVersion => "NoPreviousVersion",
            ErrorCode::CatalogMismatch => "CatalogMismatch",
            ErrorCode::NoState => "NoState",
            ErrorCode::AsynchronousDataset => "AsynchronousDataset",
            ErrorCode::MigrationFailed => "MigrationFailed",
            ErrorCode::Store => "Store",
            ErrorCode::Credentials => "Credentials",
            ErrorCode::WaitTimeout => "WaitTimeout",
            ErrorCode::EventsPending => "EventsPending",
            ErrorCode::Worker => "Worker",
            ErrorCode::Unrepresented => "Unrepresented",
            ErrorCode::InspectInvalid => "InspectInvalid",
            ErrorCode::OperationNotAllowed => "OperationNotAllowed",
            ErrorCode::OperatorVersion => "OperatorVersion",
            ErrorCode::UnknownOperation => "UnknownOperation",
            ErrorCode::InvalidOperatorRequest => "InvalidOperatorRequest",
            ErrorCode::RunnerInvoke => "RunnerInvoke",
            ErrorCode::CallerIdentity => "CallerIdentity",
        }
    }

    /// The code of its text (`DR1001`), when this build knows it.
    pub fn from_code(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_documented_and_in_their_ranges() {
        let docs = include_str!("../../docs/errors.md");
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "{} used twice", c.as_str());
            let n: u32 = c.as_str()[2..].parse().expect("DR and four digits");
            assert!(
                c.as_str().starts_with("DR")
                    && ((1001..1500).contains(&n)
                        || (1500..1520).contains(&n)
                        || (1520..1540).contains(&n)),
                "{c}"
            );
            assert!(
                docs.contains(&format!("| {} | {} |", c.as_str(), c.name())),
                "{} {} missing from docs/errors.md",
                c.as_str(),
                c.name()
            );
        }
    }

    #[test]
    fn codes_read_back_from_their_text() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(c.as_str()), Some(c));
        }
        assert_eq!(ErrorCode::from_code("DR9999"), None);
    }
}
