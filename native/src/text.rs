//! Text output for people: the `status` block and the `history` and `list` tables
//! (comfy-table, fitted to the terminal's width, or to `COLUMNS` when set). Each renders
//! the JSON document the command prints with `--output json`, so both say the same.

use comfy_table::{presets, ColumnConstraint, ContentArrangement, Table};
use serde_json::Value;

/// Versions in tables: the first 12 hex digits (as `git log --oneline` shortens).
const SHORT: usize = 12;

fn short(v: &Value) -> String {
    match v.as_str() {
        Some(s) => s.chars().take(SHORT).collect(),
        None => "-".into(),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The phase in words.
pub fn phase_words(phase: &str) -> &'static str {
    match phase {
        "new" => "new: nothing applied or submitted yet",
        "stable" => "stable: the desired version is deployed",
        "scheduled" => "scheduled: a new version is desired and no run has started it yet",
        "in-progress" => "in progress: a run holds the lease and is migrating",
        "failed" => "failed: the last run did not deploy (see the failure below)",
        _ => "unknown phase",
    }
}

/// `COLUMNS` when set (at least 20): the width to fit; else comfy-table asks the
/// terminal (and does not wrap when stdout is not one).
fn columns() -> Option<u16> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|w| *w >= 20)
}

/// A table fitted to `width`, or to the terminal: the columns `keep` (short values:
/// times, versions, counts) never wrap; the others share what is left.
fn table(header: &[&str], keep: &[usize], width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    if let Some(w) = width {
        t.set_width(w);
    }
    for &i in keep {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    t
}

/// "5m ago, " for an RFC 3339 time, or nothing when it does not parse.
fn ago(at: &str, now: std::time::SystemTime) -> String {
    let Ok(t) = humantime::parse_rfc3339_weak(at) else {
        return String::new();
    };
    match now.duration_since(t) {
        Ok(d) => {
            let secs = d.as_secs();
            let rounded = if secs >= 3600 {
                std::time::Duration::from_secs(secs / 60 * 60)
            } else {
                std::time::Duration::from_secs(secs)
            };
            format!("{} ago, ", humantime::format_duration(rounded))
        }
        Err(_) => String::new(),
    }
}

/// The `status` block: what a person needs at a glance.
/// `extra` is what the JSON document does not carry: `environmentId` and, while a run
/// is in progress, `lease` (`holder`, `started`).
pub fn status_block(doc: &Value, extra: &Value, now: std::time::SystemTime) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        out.push_str(&format!("{label:<15}{value}\n"));
    };
    let mut name = text(&doc["id"]);
    if let Some(a) = doc["alias"].as_str() {
        name.push_str(&format!(" ({a})"));
    }
    if let Some(e) = extra["environmentId"].as_str() {
        name.push_str(&format!(", environment {e}"));
    }
    line("dataset", name);
    let phase = doc["phase"].as_str().unwrap_or("");
    line("phase", phase_words(phase).to_string());
    let deployed = doc["deployedVersion"].as_str();
    for (label, key) in [
        ("desired", "desiredVersion"),
        ("attempted", "attemptedVersion"),
        ("deployed", "deployedVersion"),
    ] {
        let v = &doc[key];
        let mut shown = v.as_str().unwrap_or("-").to_string();
        if key != "deployedVersion" && v.as_str().is_some() && v.as_str() == deployed {
            shown.push_str(" (= deployed)");
        }
        line(label, shown);
    }
    if let Some(at) = doc["synced"].as_str() {
        line(
            "since",
            format!("{at} ({}revision {})", ago(at, now), text(&doc["version"])),
        );
    }
    let f = &doc["lastFailure"];
    if f.is_object() {
        let mut what = format!("class {}", text(&f["class"]));
        if let Some(k) = f["stepKey"].as_str() {
            let index = f["stepIndex"]
                .as_u64()
                .map(|i| format!(" (step {})", i + 1))
                .unwrap_or_default();
            what = format!("step {k}{index}, {what}");
        }
        if let Some(code) = f["sqlstate"].as_str() {
            what.push_str(&format!(", SQLSTATE or engine code {code}"));
        }
        if f["rolledBack"] == true {
            what.push_str(", rolled back");
        }
        line("last failure", what);
        line("  message", text(&f["message"]).replace(['\n', '\r'], " "));
        if let Some(steps) = f["committedSteps"].as_array().filter(|s| !s.is_empty()) {
            line(
                "  committed",
                steps.iter().map(text).collect::<Vec<_>>().join(", "),
            );
        }
    }
    let lease = &extra["lease"];
    if lease.is_object() {
        let h = &lease["holder"];
        let mut who = format!(
            "pid {} on host {}",
            text(&h["pid"]),
            h["host"].as_str().unwrap_or("?")
        );
        if let Some(job) = h["ciJob"].as_str() {
            who.push_str(&format!(", CI job {job}"));
        }
        who.push_str(&format!(", since {}", text(&lease["started"])));
        line("lease", who);
    }
    let pending = &doc["pendingEvents"];
    let count = pending["count"].as_u64().unwrap_or(0);
    let mut p = count.to_string();
    if let Some(d) = pending["destinations"]
        .as_object()
        .filter(|d| !d.is_empty())
    {
        let parts: Vec<String> = d.iter().map(|(k, n)| format!("{n} to {k}")).collect();
        p.push_str(&format!(" ({})", parts.join(", ")));
    }
    if count > 0 {
        p.push_str("; publish them with `depot-migrate events flush`");
    }
    line("pending events", p);
    if doc["recorded"] == false {
        line("note", "not recorded in this database".into());
    }
    let id = text(&doc["id"]);
    match phase {
        "failed" => line(
            "next",
            format!("fix the cause, then depot-migrate recover --dataset-id {id} --resolve retry|rolled-back|deployed --reason TEXT"),
        ),
        "scheduled" => line(
            "next",
            "a worker runs it (depot-migrate worker, or the runner's queue); the watchdog reports it if none does".into(),
        ),
        _ => {}
    }
    out.trim_end().to_string()
}

/// What a history row's detail says about the steps: `3` (planned), `2/3` (a failure after
/// two committed steps), or `-`.
fn steps_of(row: &Value) -> String {
    let d = &row["detail"];
    let planned = d["steps"].as_u64().or_else(|| d["plan"]["steps"].as_u64());
    let committed = d["failure"]["committedSteps"]
        .as_array()
        .or_else(|| d["error"]["committedSteps"].as_array())
        .map(|a| a.len());
    match (committed, planned) {
        (Some(c), Some(p)) if row["event"] == "failed" => format!("{c}/{p}"),
        (_, Some(p)) => p.to_string(),
        (Some(c), None) if row["event"] == "failed" => format!("{c} committed"),
        _ => "-".into(),
    }
}

/// What a history row says went wrong (or why it was recorded): the failure's class,
/// step and message, else the recovery reason.
fn error_of(row: &Value) -> String {
    let d = &row["detail"];
    let e = [&d["failure"], &d["error"]]
        .into_iter()
        .find(|e| e.is_object());
    if let Some(e) = e {
        let mut s = text(&e["class"]);
        if let Some(k) = e["stepKey"].as_str() {
            s.push_str(&format!(" at {k}"));
        }
        if let Some(m) = e["message"].as_str() {
            s.push_str(": ");
            s.push_str(&m.replace(['\n', '\r'], " "));
        }
        return s;
    }
    match row["reason"].as_str() {
        Some(r) => format!("reason: {r}"),
        None => String::new(),
    }
}

/// The `history` table: time, event, version, actor, steps, error (oldest first).
pub fn history_table(rows: &[Value]) -> String {
    history_table_in(rows, columns())
}

fn history_table_in(rows: &[Value], width: Option<u16>) -> String {
    if rows.is_empty() {
        return "no history recorded".into();
    }
    let mut t = table(
        &["time", "event", "version", "actor", "steps", "error"],
        &[0, 1, 2, 4],
        width,
    );
    for r in rows {
        t.add_row(vec![
            text(&r["at"]),
            text(&r["event"]),
            short(&r["version"]),
            text(&r["actor"]),
            steps_of(r),
            error_of(r),
        ]);
    }
    t.to_string()
}

/// The `list` table: id, alias, engine, phase, deployed, since, pending, failure.
pub fn list_table(rows: &[Value]) -> String {
    if rows.is_empty() {
        return "no dataset recorded".into();
    }
    let mut t = table(
        &[
            "id", "alias", "engine", "phase", "deployed", "since", "pending", "failure",
        ],
        &[0, 2, 3, 4, 5, 6],
        columns(),
    );
    for r in rows {
        t.add_row(vec![
            text(&r["id"]),
            text(&r["alias"]),
            text(&r["engine"]),
            text(&r["phase"]),
            short(&r["deployedVersion"]),
            text(&r["since"]),
            text(&r["pendingEvents"]),
            text(&r["lastFailureClass"]),
        ]);
    }
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failed_status_names_step_class_and_message() {
        let doc = json!({
            "id": "dogs", "alias": "dogs-prod", "version": 4, "synced": "2026-01-01T00:00:00Z",
            "desiredVersion": "b".repeat(64), "attemptedVersion": "b".repeat(64),
            "deployedVersion": "a".repeat(64), "phase": "failed",
            "lastFailure": {"class": "step", "stepIndex": 1, "stepKey": "add_column.dog.tag",
                "sqlstate": "23505", "message": "duplicate key\nvalue", "committedSteps": [], "rolledBack": true},
            "pendingEvents": {"count": 2, "destinations": {"stdout": 2}}, "recorded": true,
        });
        let now = humantime::parse_rfc3339("2026-01-01T00:05:00Z").expect("time");
        let s = status_block(&doc, &Value::Null, now);
        assert!(s.contains("dogs (dogs-prod)"), "{s}");
        assert!(s.contains("failed: the last run did not deploy"), "{s}");
        assert!(
            s.contains("step add_column.dog.tag (step 2), class step, SQLSTATE or engine code 23505, rolled back"),
            "{s}"
        );
        assert!(s.contains("duplicate key value"), "{s}");
        assert!(s.contains("(5m ago, revision 4)"), "{s}");
        assert!(s.contains("2 (2 to stdout); publish them"), "{s}");
        assert!(!s.contains("(= deployed)"), "{s}");
        assert!(s.contains("next           fix the cause, then depot-migrate recover --dataset-id dogs --resolve"), "{s}");
    }

    #[test]
    fn history_table_fits_80_columns() {
        let rows: Vec<Value> = (0..3)
            .map(|i| json!({"at": "2026-01-01T00:00:00Z", "event": "failed", "version": "c".repeat(64),
                "actor": "ci@host", "detail": {"plan": {"steps": 3}, "failure": {"class": "step", "stepKey": "k", "message": "a long message ".repeat(8), "committedSteps": ["x"]}}, "n": i}))
            .collect();
        let t = history_table_in(&rows, Some(80));
        for line in t.lines() {
            assert!(line.chars().count() <= 80, "{line:?} is wider than 80\n{t}");
        }
        assert!(t.contains("cccccccccccc"), "{t}");
        assert!(!t.contains(&"c".repeat(13)), "{t}");
        assert!(t.contains("1/3"), "{t}");
    }
}
