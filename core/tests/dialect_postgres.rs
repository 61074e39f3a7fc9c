//! Golden SQL for PostgreSQL (and Aurora PostgreSQL, which speaks the same SQL): every
//! case in `tests/plan-cases/` planned for `postgres`, snapshotted as readable text in
//! `snapshots/dialect_postgres__<case>.snap`.

mod common;

use common::{cases, render, strict_dataset};

#[test]
fn postgres_plans_match_snapshots() {
    snapshot_all!("postgres");
}

/// Aurora PostgreSQL gets exactly the PostgreSQL statements; only `engine` differs.
#[test]
fn aurora_postgresql_speaks_postgres_sql() {
    let pg = strict_dataset("postgres");
    let aurora = strict_dataset("aurora-postgresql");
    for case in cases() {
        let a = case.plan(&aurora);
        let p = case.plan(&pg);
        assert_eq!(a.engine, "aurora-postgresql", "{}", case.name);
        assert_eq!(p.engine, "postgres", "{}", case.name);
        assert_eq!(render(&a), render(&p), "{}: aurora steps differ from postgres", case.name);
        let sql = |plan: &depot_migrate_core::plan::Plan| plan.steps.iter().map(|s| s.sql.clone()).collect::<Vec<_>>();
        assert_eq!(sql(&a), sql(&p), "{}", case.name);
    }
    let case = cases().into_iter().find(|c| c.name == "create_from_empty").expect("create_from_empty case");
    insta::assert_snapshot!("aurora_create_from_empty", render(&case.plan(&aurora)));
}
