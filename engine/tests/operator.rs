//! The operator commands in the process (`operator::execute`, what both the CLI and the
//! runner call) on a SQLite state store: reads by id, a refusal, and a recover acting as
//! a runner's caller, whose identity history records.

use depot_migrate_core::{load, DatasetConfig, Package};
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::events::EventSink;
use depot_migrate_engine::executor::{self, ApplyOptions};
use depot_migrate_engine::identity;
use depot_migrate_engine::memory_sink::MemorySink;
use depot_migrate_engine::operator::{self, DatasetRef, ErrorKind, Operation, Resolve, Sinks};
use depot_migrate_engine::store::sqlite::SqliteStore;
use serde_json::Value;
use std::path::Path;

fn example(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn package(v: &Value, ds: &DatasetConfig) -> (Package, String) {
    let bytes = serde_json::to_vec(v).expect("json");
    let pkg = load::parse_package(&bytes, Some(ds.engine)).expect("a package");
    let json = serde_json::to_string(&pkg).expect("serializes");
    (pkg, json)
}

/// Events of operator commands go to memory.
struct Memory;
impl Sinks for Memory {
    fn dataset_sink(&self, _: Option<&str>) -> Result<Box<dyn EventSink>, String> {
        Ok(Box::new(MemorySink::new()))
    }
    fn watchdog_sink(&self) -> Result<Box<dyn EventSink>, String> {
        Ok(Box::new(MemorySink::new()))
    }
    fn flush_sink(&self) -> Result<(Box<dyn EventSink>, bool), String> {
        Ok((Box::new(MemorySink::new()), true))
    }
}

#[test]
fn reads_refusals_and_a_recover_acting_as_the_caller() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("engine-operator")
        .join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let db_path = dir.join("db.sqlite").to_string_lossy().to_string();
    let url = format!("sqlite:{db_path}");
    let ds = load::parse_dataset(&example("dogs.dataset.json")).expect("the example dataset");
    let v1: Value = serde_json::from_slice(&example("dogs.v1.package.json")).expect("json");
    let mut uq = v1.clone();
    uq["tables"][0]["indexes"] =
        serde_json::json!([{"name": "dog_name_uq", "columns": ["name"], "unique": true}]);
    {
        let mut store = SqliteStore::open(&db_path).expect("open");
        let mut sink = MemorySink::new();
        let (p1, j1) = package(&v1, &ds);
        executor::apply(
            &mut store,
            &mut sink,
            &p1,
            j1,
            &ds,
            &ApplyOptions::default(),
        )
        .expect("v1 deploys");
    }
    let conn = rusqlite::Connection::open(&db_path).expect("sqlite");
    conn.execute_batch("INSERT INTO dog (id, name) VALUES (1, 'Rex'), (2, 'Rex')")
        .expect("duplicates");
    drop(conn);
    {
        let mut store = SqliteStore::open(&db_path).expect("open");
        let mut sink = MemorySink::new();
        let (pu, ju) = package(&uq, &ds);
        executor::apply(
            &mut store,
            &mut sink,
            &pu,
            ju,
            &ds,
            &ApplyOptions::default(),
        )
        .expect_err("duplicate names fail the unique index");
    }
    let by_id = DatasetRef::Id {
        id: ds.dataset_id.clone(),
        environment_id: None,
    };

    let status = operator::execute(&Operation::Status {}, Some(&by_id), Some(&url), &Memory);
    assert_eq!(status.error, None);
    assert_eq!(status.output["phase"], "failed", "{}", status.output);
    assert_eq!(status.extra["environmentId"], ds.environment_id.as_str());
    let list = operator::execute(&Operation::List {}, None, Some(&url), &Memory);
    assert_eq!(
        list.output[0]["lastFailureClass"], "step",
        "{}",
        list.output
    );

    // An id nobody recorded, and another environment: refused with their codes.
    let nope = DatasetRef::Id {
        id: "nope".into(),
        environment_id: None,
    };
    let r = operator::execute(&Operation::History {}, Some(&nope), Some(&url), &Memory);
    let e = r.error.expect("refused");
    assert_eq!(
        (e.kind, e.code),
        (ErrorKind::Refused, Some(ErrorCode::NoState))
    );
    let other_env = DatasetRef::Id {
        id: ds.dataset_id.clone(),
        environment_id: Some("prod".into()),
    };
    let r = operator::execute(&Operation::Status {}, Some(&other_env), Some(&url), &Memory);
    assert_eq!(
        r.error.expect("refused").code,
        Some(ErrorCode::IdentityMismatch)
    );
    // A dataset operation without its dataset is a usage error, not a panic.
    let r = operator::execute(&Operation::Snapshot {}, None, Some(&url), &Memory);
    assert_eq!(r.error.expect("usage").kind, ErrorKind::Usage);

    let who =
        "arn:aws:sts::123456789012:assumed-role/OnCall/alice via runner fn (Lambda request r-1)";
    let recover = Operation::Recover {
        resolve: Resolve::RolledBack,
        reason: "duplicate names stay".into(),
        force: false,
        lock_wait_ms: 1_000,
        lock_timeout_ms: 1_000,
        max_duration_ms: 60_000,
    };
    let r = identity::acting_as(who.into(), || {
        operator::execute(&recover, Some(&by_id), Some(&url), &Memory)
    });
    assert_eq!(r.error, None, "{:?}", r.notes);
    assert_eq!(r.output["result"], "resolved");
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("recovered (rolled-back)")),
        "{:?}",
        r.notes
    );
    let history = operator::execute(&Operation::History {}, Some(&by_id), Some(&url), &Memory);
    let rows = history.output.as_array().cloned().unwrap_or_default();
    let last = rows.last().expect("history");
    assert_eq!(last["actor"], who, "{last}");
    assert_eq!(last["reason"], "duplicate names stay");
    assert_ne!(rows[0]["actor"], who, "earlier rows keep their own actor");
    let status = operator::execute(&Operation::Status {}, Some(&by_id), Some(&url), &Memory);
    assert_eq!(status.output["phase"], "stable");
}
