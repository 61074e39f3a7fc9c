//! Plans for people: the change sign of a step, the one-line summary of each step, the
//! CLI's `plan --format text` and the CDK construct's `planSummary`, and the warning
//! every rename gets (docs/design.md, "Plan", plan text). Written once here; the CLI
//! prints these strings and the CDK package gets them through the wasm build.

use crate::model::DatasetConfig;
use crate::plan::{Plan, Step};
use serde::Serialize;

/// What a step does to the schema, as `plan` totals it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeSign {
    /// Creates or adds something (`+`).
    Add,
    /// Changes something in place (`~`).
    Change,
    /// Drops something, losing data (`-`).
    Destroy,
}

impl ChangeSign {
    /// The sign of a step: `+` for a step that creates or adds, `-` for a destructive
    /// drop, `~` for everything else (renames, type changes, a drop that loses nothing).
    pub fn of(step: &Step) -> ChangeSign {
        if step.kind.starts_with("create") || step.kind.starts_with("add") {
            ChangeSign::Add
        } else if step.kind.starts_with("drop") && step.destructive {
            ChangeSign::Destroy
        } else {
            ChangeSign::Change
        }
    }

    /// `+`, `~` or `-`.
    pub fn as_char(self) -> char {
        match self {
            ChangeSign::Add => '+',
            ChangeSign::Change => '~',
            ChangeSign::Destroy => '-',
        }
    }
}

/// One step in one line: `<sign> <summary> (<key>)`, e.g.
/// `~ rename column dog.owner_name to owner (renameColumn:dog.owner)`.
///
/// ```
/// # use depot_migrate_core::{load, plan::plan, summary::step_line};
/// let ds = load::parse_dataset(br#"{"environmentId":"e","datasetId":"d","engine":"sqlite","schema":"s"}"#).unwrap();
/// let pkg = load::parse_package(br#"{"namespace":"s","tables":[{"name":"t","columns":[{"name":"id","type":"int"},{"name":"n","type":"string"}]}]}"#, Some(ds.engine)).unwrap();
/// let p = plan(None, &pkg, &ds).unwrap();
/// assert_eq!(step_line(&p.steps[0]), "+ create table t (2 columns) (createTable:t)");
/// ```
pub fn step_line(step: &Step) -> String {
    format!(
        "{} {} ({})",
        ChangeSign::of(step).as_char(),
        step.summary,
        step.key
    )
}

/// The CDK construct's `planSummary`: one [`step_line`] per step, destructive steps
/// marked ` [destructive]`, or `no changes`.
pub fn plan_summary(plan: &Plan) -> String {
    if plan.steps.is_empty() {
        return "no changes".to_string();
    }
    plan.steps
        .iter()
        .map(|s| {
            let mark = if s.destructive { " [destructive]" } else { "" };
            format!("{}{mark}", step_line(s))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `depot-migrate plan --format text`: a header naming the dataset and the versions,
/// each step as `  <step line>  [flags]` (whether a destructive step is allowed, may
/// fail on existing data, the lock it takes), the plan's notes, the totals
/// (`Plan: N to add, N to change, N to destroy.`) and, when `allowDestructive` does not
/// allow a destructive change, what to add to it. No trailing newline.
pub fn plan_text(plan: &Plan, dataset: &DatasetConfig) -> String {
    let short = |h: &str| h.get(..12).unwrap_or(h).to_string();
    let from = plan
        .from_version
        .as_ref()
        .map_or("(empty)".to_string(), |h| short(h.as_str()));
    let mut out = format!(
        "dataset {} ({}) on {}: {} -> {}\n",
        plan.dataset_id,
        dataset.dataset_alias.as_deref().unwrap_or("-"),
        plan.engine,
        from,
        short(plan.to_version.as_str())
    );
    if plan.steps.is_empty() {
        out.push_str("No changes. The dataset matches the package.");
        return out;
    }
    let (mut add, mut change, mut destroy) = (0, 0, 0);
    let policy = dataset.destructive_policy();
    for s in &plan.steps {
        match ChangeSign::of(s) {
            ChangeSign::Add => add += 1,
            ChangeSign::Change => change += 1,
            ChangeSign::Destroy => destroy += 1,
        }
        let mut flags = Vec::new();
        if s.destructive {
            let ok = s.destructive_changes.iter().all(|k| policy.allows(k));
            flags.push(if ok {
                "DESTRUCTIVE (allowed)".to_string()
            } else {
                "DESTRUCTIVE (not allowed)".to_string()
            });
        }
        if s.may_fail {
            flags.push("may fail on existing data".to_string());
        }
        if let Some(l) = &s.locks {
            flags.push(l.clone());
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", flags.join("; "))
        };
        out.push_str(&format!("  {}{flags}\n", step_line(s)));
    }
    for n in &plan.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
    out.push_str(&format!(
        "Plan: {add} to add, {change} to change, {destroy} to destroy."
    ));
    let disallowed = plan.disallowed(dataset);
    if !disallowed.is_empty() {
        out.push_str(&format!(
            "\nRefused as it stands: add {} to allowDestructive in the dataset config to allow.",
            disallowed
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}

/// One warning per rename step: a rename comes only from a `renamedFrom` hint, and a
/// wrong hint moves the old data under the new name. The CDK construct adds them as synth
/// warnings.
pub fn rename_warnings(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter(|s| s.kind.starts_with("rename"))
        .map(|s| {
            let what = match s.kind.as_str() {
                "renameTable" => "table",
                "renameEnum" => "enum",
                "renameIndex" => "index",
                _ => "column",
            };
            format!(
                "{} ({}): from the renamedFrom hint in the package; check it is a rename and not a new {what}, or the old data moves under the new name",
                s.summary, s.key
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load;
    use crate::plan::plan;

    fn dataset(allow: &str) -> DatasetConfig {
        load::parse_dataset(
            format!(
                r#"{{"environmentId":"e","datasetId":"d","datasetAlias":"A","engine":"postgres","schema":"dogs","allowDestructive":{allow}}}"#
            )
            .as_bytes(),
        )
        .expect("dataset")
    }

    fn package(columns: &str) -> crate::Package {
        load::parse_package(
            format!(
                r#"{{"namespace":"dogs","tables":[{{"name":"dog","columns":[{{"name":"id","type":"bigint","nullable":false}}{columns}],"primaryKey":["id"]}}]}}"#
            )
            .as_bytes(),
            Some(crate::Engine::Postgres),
        )
        .expect("package")
    }

    #[test]
    fn signs_lines_summary_and_text_agree() {
        let ds = dataset("false");
        let v1 =
            package(r#",{"name":"owner_name","type":"string"},{"name":"weight","type":"double"}"#);
        let v2 = package(
            r#",{"name":"owner","type":"string","renamedFrom":"owner_name"},{"name":"active","type":"boolean"}"#,
        );
        let p = plan(Some(&v1), &v2, &ds).expect("plan");
        let signs: Vec<char> = p
            .steps
            .iter()
            .map(|s| ChangeSign::of(s).as_char())
            .collect();
        assert!(
            signs.contains(&'+') && signs.contains(&'~') && signs.contains(&'-'),
            "{signs:?}"
        );

        let summary = plan_summary(&p);
        let text = plan_text(&p, &ds);
        assert_eq!(summary.lines().count(), p.steps.len());
        for (line, step) in summary.lines().zip(&p.steps) {
            let core = step_line(step);
            assert!(line.starts_with(&core), "{line} / {core}");
            assert!(
                text.lines().any(|l| l.starts_with(&format!("  {core}"))),
                "{core} not in\n{text}"
            );
        }
        assert!(
            summary.contains("- drop column dog.weight (dropColumn:dog.weight) [destructive]"),
            "{summary}"
        );
        assert!(
            text.contains("Plan: 1 to add, 1 to change, 1 to destroy."),
            "{text}"
        );
        assert!(
            text.ends_with(
                r#"add "dropColumn:dog.weight" to allowDestructive in the dataset config to allow."#
            ),
            "{text}"
        );
        assert!(text.contains("[DESTRUCTIVE (not allowed)"), "{text}");
        let allowed = plan_text(&p, &dataset("true"));
        assert!(
            allowed.contains("[DESTRUCTIVE (allowed)") && !allowed.contains("Refused"),
            "{allowed}"
        );

        let warnings = rename_warnings(&p);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("rename column dog.owner_name to owner (renameColumn:dog.owner): from the renamedFrom hint"), "{warnings:?}");
    }

    #[test]
    fn no_changes() {
        let ds = dataset("false");
        let v = package("");
        let p = plan(Some(&v), &v, &ds).expect("plan");
        assert_eq!(plan_summary(&p), "no changes");
        assert!(plan_text(&p, &ds).ends_with("No changes. The dataset matches the package."));
        assert!(rename_warnings(&p).is_empty());
    }
}
