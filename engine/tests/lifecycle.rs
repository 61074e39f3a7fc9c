//! The lifecycle in the process: apply, submit, worker, watchdog and recover on a SQLite
//! state store with the in-memory event sink (no process spawned, no stdout parsed). The
//! CLI's black-box tests in native/tests cover the same paths end to end.

use depot_migrate_core::{load, DatasetConfig, Package};
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::executor::{
    self, ApplyError, ApplyOptions, ApplyOutcome, RecoverOptions, Resolve, SubmitOutcome,
};
use depot_migrate_engine::memory_sink::MemorySink;
use depot_migrate_engine::store::sqlite::SqliteStore;
use depot_migrate_engine::store::Store;
use depot_migrate_engine::worker::{self, Source, WorkerOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn example(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn dataset() -> DatasetConfig {
    load::parse_dataset(&example("dogs.dataset.json")).expect("the example dataset")
}

fn package(name: &str, ds: &DatasetConfig) -> (Package, String) {
    let pkg = load::parse_package(&example(name), Some(ds.engine)).expect("an example package");
    let json = serde_json::to_string(&pkg).expect("a package serializes");
    (pkg, json)
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("engine-lifecycle")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn store(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("db.sqlite").to_string_lossy()).expect("open the SQLite store")
}

#[test]
fn apply_is_idempotent_and_refusals_change_nothing() {
    let dir = scratch("apply");
    let mut store = store(&dir);
    let mut sink = MemorySink::new();
    let ds = dataset();
    let opts = ApplyOptions::default();
    let (v1, v1_json) = package("dogs.v1.package.json", &ds);

    let out = executor::apply(&mut store, &mut sink, &v1, v1_json.clone(), &ds, &opts)
        .expect("v1 deploys");
    let ApplyOutcome::Deployed { version, plan } = out else {
        panic!("v1 is deployed, not {out:?}");
    };
    assert!(!plan.steps.is_empty(), "v1 creates tables");
    assert_eq!(sink.names(), ["attempted", "deployed"]);
    let events = sink.take();
    assert_eq!(events[1]["detail"]["datasetVersionHash"], version.as_str());
    assert_eq!(events[0]["detail"]["runId"], events[1]["detail"]["runId"]);
    let stored = store
        .read_state(&ds.dataset_id)
        .expect("read")
        .expect("state");
    assert_eq!(
        stored.state.deployed_version.as_deref(),
        Some(version.as_str())
    );
    assert!(stored.state.is_stable());

    // The same version again: nothing runs, no events.
    let again = executor::apply(&mut store, &mut sink, &v1, v1_json, &ds, &opts).expect("no-op");
    assert!(matches!(again, ApplyOutcome::AlreadyDeployed(v) if v == version));
    assert!(sink.events.is_empty(), "{:?}", sink.names());

    // Nothing failed: nothing to recover, and the watchdog finds nothing to record.
    let recover = RecoverOptions {
        resolve: Resolve::Retry,
        reason: "test".into(),
        force: false,
        run: ApplyOptions::default(),
    };
    match executor::recover(&mut store, &mut sink, &ds, &recover) {
        Err(e @ ApplyError::Refused(..)) => assert_eq!(e.code(), ErrorCode::NothingToRecover),
        other => panic!("recover without a failed run is refused, not {other:?}"),
    }
    let findings =
        executor::watchdog(&mut store, &mut sink, Duration::from_secs(1)).expect("watchdog");
    assert!(findings.iter().all(|f| f.failure.is_none()), "{findings:?}");
    assert!(sink.events.is_empty(), "{:?}", sink.names());

    // v3 drops a column the config does not allow: refused, state unchanged.
    let (v3, v3_json) = package("dogs.v3.package.json", &ds);
    let (v2, v2_json) = package("dogs.v2.package.json", &ds);
    executor::apply(&mut store, &mut sink, &v2, v2_json, &ds, &opts).expect("v2 deploys");
    sink.take();
    let before = store
        .read_state(&ds.dataset_id)
        .expect("read")
        .expect("state");
    match executor::apply(&mut store, &mut sink, &v3, v3_json, &ds, &opts) {
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::DestructiveNotAllowed, "{e}");
            assert!(e.to_string().contains("dropColumn:dog.weight"), "{e}");
        }
        Ok(o) => panic!("v3 is refused, not {o:?}"),
    }
    let after = store
        .read_state(&ds.dataset_id)
        .expect("read")
        .expect("state");
    assert_eq!(after.state, before.state, "a refusal writes nothing");
    assert!(sink.events.is_empty(), "{:?}", sink.names());
}

#[test]
fn submit_then_worker_deploys_and_an_outage_leaves_events_pending() {
    let dir = scratch("submit");
    let mut store = store(&dir);
    let mut sink = MemorySink::new();
    let ds = dataset();
    let opts = ApplyOptions::default();
    let (v1, v1_json) = package("dogs.v1.package.json", &ds);

    let out =
        executor::submit(&mut store, &mut sink, &v1, v1_json.clone(), &ds, &opts).expect("submit");
    let SubmitOutcome::Submitted(revision, sub) = out else {
        panic!("v1 is submitted, not left unchanged");
    };
    assert!(revision > 0);
    assert_eq!(sink.names(), ["desired"]);
    sink.take();
    // Submitting the same version again while it is scheduled changes nothing.
    let again = executor::submit(&mut store, &mut sink, &v1, v1_json, &ds, &opts).expect("again");
    assert!(
        matches!(again, SubmitOutcome::Unchanged(..)),
        "a second submit changes nothing"
    );
    assert!(sink.events.is_empty(), "{:?}", sink.names());

    // The worker's events go nowhere for now: they stay in the outbox.
    sink.fail_with = Some("bus unreachable".into());
    let wopts = WorkerOptions {
        run: ApplyOptions::default(),
        once: true,
        poll_interval: Duration::from_millis(10),
    };
    worker::run(&mut store, &mut sink, &mut Source::Poll, &wopts).expect("the worker runs");
    let stored = store
        .read_state(&ds.dataset_id)
        .expect("read")
        .expect("state");
    assert_eq!(
        stored.state.deployed_version.as_deref(),
        Some(sub.version.as_str())
    );
    assert!(stored.state.last_failure.is_none());
    assert!(sink.events.is_empty());
    let pending = store.pending_events(None, 10).expect("pending");
    assert!(
        pending.len() >= 2,
        "attempted and deployed are pending: {pending:?}"
    );

    // The bus is back: a flush publishes them, once, in order.
    sink.fail_with = None;
    let n = depot_migrate_engine::events::publish_pending(
        &mut store,
        &mut sink,
        None,
        Duration::from_secs(5),
    )
    .expect("flush");
    assert_eq!(n, sink.events.len());
    let names = sink.names();
    assert_eq!(
        &names[names.len() - 2..],
        ["attempted", "deployed"],
        "{names:?}"
    );
    assert!(store.pending_events(None, 10).expect("pending").is_empty());
}
