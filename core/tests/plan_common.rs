//! Plan properties that hold on every dialect, over every case in `tests/plan-cases/`.

mod common;

use common::{cases, dataset, strict_dataset, ENGINES};
use depot_migrate_core::load;
use depot_migrate_core::plan::{plan, plan_hash};
use serde_json::{json, Value};

/// `plan(A, A)` is empty for every package of every case (both `to` and `from`), on
/// every engine, and for an empty database it is not.
#[test]
fn plan_from_a_package_to_itself_is_empty() {
    for engine in ENGINES {
        let ds = strict_dataset(engine);
        for case in cases() {
            let mut packages = vec![case.to_package(&ds)];
            packages.extend(case.old_package(&ds));
            for p in &packages {
                let same = plan(Some(p), p, &ds)
                    .unwrap_or_else(|e| panic!("{engine} {}: {e:?}", case.name));
                assert!(
                    same.steps.is_empty(),
                    "{engine} {}: plan(A, A) has steps:\n{}",
                    case.name,
                    common::render(&same)
                );
                assert!(!same.destructive, "{engine} {}", case.name);
                assert_eq!(
                    same.from_version,
                    Some(same.to_version.clone()),
                    "{engine} {}",
                    case.name
                );
                let fresh =
                    plan(None, p, &ds).unwrap_or_else(|e| panic!("{engine} {}: {e:?}", case.name));
                assert!(
                    !fresh.steps.is_empty(),
                    "{engine} {}: plan(None, A) is empty",
                    case.name
                );
                assert!(
                    !fresh.destructive,
                    "{engine} {}: creating from empty is destructive",
                    case.name
                );
            }
        }
    }
}

/// Planning is deterministic: the same inputs give byte-identical JSON, `planHash`
/// included, and `planHash` is the hash of the plan without it.
#[test]
fn same_inputs_give_byte_identical_plans() {
    for engine in ENGINES {
        let ds = strict_dataset(engine);
        for case in cases() {
            let a = case.plan(&ds);
            let b = case.plan(&ds);
            let (ja, jb) = (
                serde_json::to_string(&a).expect("json"),
                serde_json::to_string(&b).expect("json"),
            );
            assert_eq!(ja, jb, "{engine} {}", case.name);
            assert_eq!(a.plan_hash.len(), 64, "{engine} {}", case.name);
            assert_eq!(
                a.plan_hash,
                plan_hash(&a),
                "{engine} {}: planHash does not match the plan",
                case.name
            );
            assert_eq!(a.sql_script(), b.sql_script(), "{engine} {}", case.name);
            // Steps are numbered in order.
            for (i, s) in a.steps.iter().enumerate() {
                assert_eq!(s.index, i, "{engine} {}", case.name);
            }
            // The JSON round-trips to the same plan.
            let back: depot_migrate_core::plan::Plan =
                serde_json::from_str(&ja).expect("plan JSON parses back");
            assert_eq!(back, a, "{engine} {}", case.name);
        }
    }
}

/// Step keys are unique within a plan (they are what `allowDestructive` names).
#[test]
fn step_keys_are_unique() {
    for engine in ENGINES {
        let ds = strict_dataset(engine);
        for case in cases() {
            let p = case.plan(&ds);
            let mut keys: Vec<&str> = p.steps.iter().map(|s| s.key.as_str()).collect();
            keys.sort_unstable();
            let n = keys.len();
            keys.dedup();
            assert_eq!(
                keys.len(),
                n,
                "{engine} {}: duplicate step keys in\n{}",
                case.name,
                common::render(&p)
            );
            for s in &p.steps {
                assert!(
                    s.key.starts_with(&format!("{}:", s.kind)),
                    "{engine} {}: key {} does not start with its kind {}",
                    case.name,
                    s.key,
                    s.kind
                );
            }
        }
    }
}

/// `plan.destructive` is true exactly when a step is destructive, and a step is
/// destructive exactly when it lists destructive changes.
#[test]
fn destructive_flag_matches_steps() {
    for engine in ENGINES {
        let ds = strict_dataset(engine);
        for case in cases() {
            let p = case.plan(&ds);
            assert_eq!(
                p.destructive,
                p.steps.iter().any(|s| s.destructive),
                "{engine} {}",
                case.name
            );
            for s in &p.steps {
                assert_eq!(
                    s.destructive,
                    !s.destructive_changes.is_empty(),
                    "{engine} {}: step {}",
                    case.name,
                    s.key
                );
            }
        }
    }
}

/// With `allowDestructive: false` every destructive change of every destructive step is
/// disallowed (a step's own key when it is a single change, and each folded-in change of
/// a rebuild); with `true` none is; with a list, exactly the changes not listed are.
#[test]
fn destructive_steps_need_allow_destructive() {
    for engine in ENGINES {
        let strict = dataset(engine, json!(false));
        let open = dataset(engine, json!(true));
        for case in cases() {
            let p = case.plan(&strict);
            let disallowed = p.disallowed(&strict);
            for s in p.steps.iter().filter(|s| s.destructive) {
                for k in &s.destructive_changes {
                    assert!(
                        disallowed.contains(k),
                        "{engine} {}: {k} of step {} is not disallowed: {disallowed:?}",
                        case.name,
                        s.key
                    );
                }
                if s.destructive_changes == [s.key.clone()] {
                    assert!(
                        disallowed.contains(&s.key),
                        "{engine} {}: {}",
                        case.name,
                        s.key
                    );
                }
            }
            let all: Vec<String> = p
                .steps
                .iter()
                .flat_map(|s| s.destructive_changes.clone())
                .collect();
            for k in &disallowed {
                assert!(
                    all.contains(k),
                    "{engine} {}: {k} disallowed but no step carries it",
                    case.name
                );
            }
            assert!(p.disallowed(&open).is_empty(), "{engine} {}", case.name);
            assert_eq!(
                disallowed.is_empty(),
                !p.destructive,
                "{engine} {}",
                case.name
            );

            // Acknowledging every change but one leaves exactly that one disallowed.
            let mut unique = all.clone();
            unique.sort();
            unique.dedup();
            for skip in &unique {
                let listed: Vec<&String> = unique.iter().filter(|k| *k != skip).collect();
                let partial = dataset(engine, json!(listed));
                let p2 = case.plan(&partial);
                assert_eq!(
                    p2.disallowed(&partial),
                    vec![skip.clone()],
                    "{engine} {}",
                    case.name
                );
            }
            if !unique.is_empty() {
                let all_listed = dataset(engine, json!(unique));
                assert!(
                    case.plan(&all_listed).disallowed(&all_listed).is_empty(),
                    "{engine} {}",
                    case.name
                );
            }
        }
    }
}

/// Snowflake DDL is not transactional; every other engine's is.
#[test]
fn transactional_flag_follows_the_engine() {
    for engine in ENGINES {
        let ds = strict_dataset(engine);
        let expected = *engine != "snowflake";
        for case in cases() {
            for s in &case.plan(&ds).steps {
                assert_eq!(
                    s.transactional, expected,
                    "{engine} {}: step {}",
                    case.name, s.key
                );
            }
        }
    }
}

/// Every step has SQL, and the SQL script carries each statement once, terminated.
#[test]
fn every_step_has_sql() {
    for engine in ENGINES {
        let ds = strict_dataset(engine);
        for case in cases() {
            let p = case.plan(&ds);
            for s in &p.steps {
                assert!(
                    !s.sql.is_empty(),
                    "{engine} {}: step {} has no SQL",
                    case.name,
                    s.key
                );
                for q in &s.sql {
                    assert!(
                        !q.trim().is_empty() && !q.trim_end().ends_with(';'),
                        "{engine} {}: {q:?}",
                        case.name
                    );
                }
            }
            let n: usize = p.steps.iter().map(|s| s.sql.len()).sum();
            assert_eq!(
                p.sql_script().matches(";\n").count(),
                n,
                "{engine} {}",
                case.name
            );
        }
    }
}

/// The plans of the cases that are expected to be destructive are, on every engine, and
/// those expected not to be are not.
#[test]
fn destructive_cases_are_the_expected_ones() {
    let destructive = [
        "drop_column",
        "drop_indexed_column",
        "drop_table",
        "type_change_commented_column",
        "type_change_text_to_json_uuid",
        "type_change_with_default",
        "type_narrowing",
    ];
    for engine in ENGINES {
        let ds = strict_dataset(engine);
        for case in cases() {
            let p = case.plan(&ds);
            let expected = destructive.contains(&case.name.as_str());
            assert_eq!(
                p.destructive,
                expected,
                "{engine} {}:\n{}",
                case.name,
                common::render(&p)
            );
        }
    }
}

fn package(v: Value, engine: &str) -> depot_migrate_core::Package {
    let ds = strict_dataset(engine);
    load::parse_package(v.to_string().as_bytes(), Some(ds.engine)).expect("valid package")
}

/// A rename hint is ambiguous when the deployed package has both the old and the new
/// name: planning fails with DM2014 at the hint's JSON path, on every engine.
#[test]
fn ambiguous_rename_hint_is_an_error() {
    for engine in ENGINES {
        let ds = strict_dataset(engine);
        let old = package(
            json!({"namespace": "dogs", "tables": [{"name": "dog", "columns": [
                {"name": "id", "type": "bigint"},
                {"name": "owner_name", "type": "string"},
                {"name": "owner", "type": "string"}
            ]}]}),
            engine,
        );
        let new = package(
            json!({"namespace": "dogs", "tables": [{"name": "dog", "columns": [
                {"name": "id", "type": "bigint"},
                {"name": "owner", "type": "string", "renamedFrom": "owner_name"}
            ]}]}),
            engine,
        );
        let err = plan(Some(&old), &new, &ds).expect_err("ambiguous column rename must fail");
        assert_eq!(err.problems.len(), 1, "{engine}: {err:?}");
        assert_eq!(err.problems[0].code.as_str(), "DM2014", "{engine}: {err:?}");
        assert_eq!(
            err.problems[0].path, "$.tables[0].columns[1].renamedFrom",
            "{engine}: {err:?}"
        );

        // The same for a list hint whose second name is the ambiguous one, and for a table.
        let new_list = package(
            json!({"namespace": "dogs", "tables": [{"name": "dog", "columns": [
                {"name": "id", "type": "bigint"},
                {"name": "owner", "type": "string", "renamedFrom": ["owner_nm", "owner_name"]}
            ]}]}),
            engine,
        );
        let err =
            plan(Some(&old), &new_list, &ds).expect_err("ambiguous column rename (list) must fail");
        assert_eq!(err.problems[0].code.as_str(), "DM2014", "{engine}: {err:?}");
        assert!(
            err.problems[0]
                .path
                .starts_with("$.tables[0].columns[1].renamedFrom"),
            "{engine}: {err:?}"
        );

        let old_tables = package(
            json!({"namespace": "dogs", "tables": [
                {"name": "dog", "columns": [{"name": "id", "type": "bigint"}]},
                {"name": "hound", "columns": [{"name": "id", "type": "bigint"}]}
            ]}),
            engine,
        );
        let new_tables = package(
            json!({"namespace": "dogs", "tables": [
                {"name": "hound", "renamedFrom": "dog", "columns": [{"name": "id", "type": "bigint"}]}
            ]}),
            engine,
        );
        let err = plan(Some(&old_tables), &new_tables, &ds)
            .expect_err("ambiguous table rename must fail");
        assert_eq!(err.problems[0].code.as_str(), "DM2014", "{engine}: {err:?}");
        assert_eq!(
            err.problems[0].path, "$.tables[0].renamedFrom",
            "{engine}: {err:?}"
        );
    }
}

/// A hint whose old name the deployed package no longer has is ignored (the rename was
/// deployed earlier, or the environment never had the old name).
#[test]
fn stale_rename_hint_is_ignored() {
    for engine in ENGINES {
        let ds = strict_dataset(engine);
        let case = cases()
            .into_iter()
            .find(|c| c.name == "rename_hint_already_applied")
            .expect("case");
        let p = case.plan(&ds);
        assert!(p.steps.is_empty(), "{engine}:\n{}", common::render(&p));
    }
}

/// A rename hint produces a rename, never a drop and an add.
#[test]
fn renames_come_from_hints() {
    for engine in ENGINES {
        let ds = strict_dataset(engine);
        for (name, kinds) in [
            ("rename_column", &["renameColumn", "rebuildTable"][..]),
            (
                "rename_column_from_list",
                &["renameColumn", "rebuildTable"][..],
            ),
            ("rename_table", &["renameTable"][..]),
        ] {
            let case = cases().into_iter().find(|c| c.name == name).expect("case");
            let p = case.plan(&ds);
            assert!(!p.destructive, "{engine} {name}:\n{}", common::render(&p));
            assert!(
                p.steps.iter().any(|s| kinds.contains(&s.kind.as_str())),
                "{engine} {name}:\n{}",
                common::render(&p)
            );
            assert!(
                !p.steps
                    .iter()
                    .any(|s| s.kind == "dropColumn" || s.kind == "dropTable"),
                "{engine} {name}"
            );
        }
    }
}
