//! `--output json` errors carry the runtime error code (`docs/errors.md`, "Runtime
//! errors"); the stderr line and the exit code stay as they are.

mod support;

use serde_json::json;
use support::*;

/// The JSON error document of a run: `ok` false, the kind and the code.
#[track_caller]
fn check_error(r: &Run, exit: i32, kind: &str, code: &str) {
    r.expect_code(exit);
    let doc = r.json();
    assert_eq!(doc["ok"], false, "{doc}");
    assert_eq!(doc["error"], kind, "{doc}");
    assert_eq!(doc["code"], code, "{doc}");
    assert!(
        doc["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{doc}"
    );
    assert!(
        r.stderr
            .lines()
            .any(|l| l.starts_with(&format!("{kind}: "))),
        "stderr still says `{kind}: …`: {}",
        r.stderr
    );
}

#[test]
fn refusals_and_failures_carry_their_code() {
    let ctx = Ctx::new(Engine::Sqlite, "errorcodes");
    let ds = ctx.dataset("d.dataset.json", json!({}));
    let (v1, v2, v3) = (
        example("dogs.v1.package.json"),
        example("dogs.v2.package.json"),
        example("dogs.v3.package.json"),
    );

    // Nothing deployed yet: no snapshot (DR1013 NoState).
    let r = ctx.cli(&[
        "snapshot",
        "--dataset",
        &ds,
        "--db",
        &ctx.url,
        "--output",
        "json",
    ]);
    check_error(&r, 3, "refused", "DR1013");

    ctx.apply(&v1, &ds, &[]).ok();
    ctx.apply(&v2, &ds, &[]).ok();

    // v3 drops a column the config does not allow (DR1004 DestructiveNotAllowed).
    let r = ctx.apply(&v3, &ds, &["--output", "json"]);
    check_error(&r, 3, "refused", "DR1004");
    assert!(r.stderr.contains("dropColumn:dog.weight"), "{}", r.stderr);

    // An asynchronous dataset is not applied without --sync (DR1014).
    let async_ds = ctx.dataset("a.dataset.json", json!({"migrationMode": "asynchronous"}));
    let r = ctx.apply(&v3, &async_ds, &["--output", "json"]);
    check_error(&r, 3, "refused", "DR1014");

    // Nothing failed: nothing to recover (DR1009).
    let r = ctx.cli(&[
        "recover",
        "--dataset",
        &ds,
        "--db",
        &ctx.url,
        "--resolve",
        "retry",
        "--reason",
        "test",
        "--output",
        "json",
    ]);
    check_error(&r, 3, "refused", "DR1009");
}
