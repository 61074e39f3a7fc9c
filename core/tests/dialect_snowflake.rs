//! Golden SQL for Snowflake: every case in `tests/plan-cases/` planned for `snowflake`,
//! snapshotted as readable text in `snapshots/dialect_snowflake__<case>.snap`.

mod common;

#[test]
fn snowflake_plans_match_snapshots() {
    snapshot_all!("snowflake");
}
