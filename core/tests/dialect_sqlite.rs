//! Golden SQL for SQLite: every case in `tests/plan-cases/` planned for `sqlite`,
//! snapshotted as readable text in `snapshots/dialect_sqlite__<case>.snap`.

mod common;

#[test]
fn sqlite_plans_match_snapshots() {
    snapshot_all!("sqlite");
}
