//! Planning of views and materialized views.
//!
//! The planner knows what each view reads ([`crate::views::analyze`]): which tables,
//! views and columns. A view is kept only when its re-printed query, column names and
//! kind are unchanged and nothing it reads changes in a way an engine refuses or that
//! would change the view: a column it reads is dropped, renamed or changes type (or, on
//! Snowflake, is rebuilt for a default change), a table it reads is dropped, renamed or
//! rebuilt (SQLite), or a view it reads is dropped or recreated. Such views are dropped
//! at the start of the plan, dependents first, and created again at the end, in
//! dependency order, in the same transaction where the engine has transactional DDL.
//!
//! A materialized view that is kept is refreshed at the end of a plan that changes any
//! table it reads (directly or through views), on engines that refresh by a statement
//! (Postgres); a created one is filled when it is created. Snowflake keeps its
//! materialized views current itself.

use crate::error::{Code, Invalid, JsonPath, Problem};
use crate::model::{Package, Table, View};
use crate::plan::{counterpart, name_index, Draft, Planner, ACCESS_EXCLUSIVE};
use crate::views::{analyze_all, order, Analysis, Names};
use std::collections::HashSet;

type Pairs = [(Option<usize>, bool)];

/// The lock a `REFRESH MATERIALIZED VIEW` holds.
const REFRESH: &str =
    "ACCESS EXCLUSIVE lock on the materialized view while it is recomputed (reads of it wait)";

/// What the plan does with views: drafts for the start and for the end of the plan.
pub(crate) struct ViewSteps {
    pub(crate) before: Vec<Draft>,
    pub(crate) after: Vec<Draft>,
    /// Old views that are dropped (by old index), for grants.
    pub(crate) dropped: HashSet<usize>,
    /// New views that are created (by new index), for grants.
    pub(crate) created: HashSet<usize>,
    /// Per new view: its old counterpart.
    pub(crate) pairs: Vec<Option<usize>>,
}

fn analyses(p: &Planner<'_>, pkg: &Package, which: &str) -> Result<Vec<Analysis>, Invalid> {
    let d = p.d;
    let quote = |n: &str| d.quote(n);
    let schema = p.schema.to_string();
    let qualify = |n: &str| {
        if d.supports_schemas() {
            vec![schema.clone(), n.to_string()]
        } else {
            vec![n.to_string()]
        }
    };
    let names = Names {
        engine: Some(d.engine()),
        folding: d.engine().identifier_folding(),
        quote: &quote,
        qualify: &qualify,
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, r) in analyze_all(pkg, &names).into_iter().enumerate() {
        match r {
            Ok(a) => out.push(a),
            Err(why) => problems.push(Problem::new(
                Code::InvalidView,
                JsonPath::root().key("views").index(i).key("query"),
                format!(
                    "{which} package: view {}: {why}",
                    pkg.views.as_deref().unwrap_or_default()[i].name
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Invalid { problems })
    }
}

/// Whether a column of an enum type keeps the enum but the enum's values change (the
/// type may be rebuilt and the column converted, which Postgres refuses under a view).
fn enum_changes(
    from: Option<&Package>,
    to: &Package,
    oc: &crate::model::Column,
    nc: &crate::model::Column,
) -> bool {
    let values = |p: Option<&Package>, c: &crate::model::Column| {
        let name = c.enum_name.as_deref()?;
        p?.enums
            .iter()
            .flatten()
            .find(|e| e.name == name)
            .map(|e| e.values.clone())
    };
    oc.column_type == crate::model::ColumnType::Enum && values(from, oc) != values(Some(to), nc)
}

/// The views read by each view (indexes into the same package's views).
fn view_reads(p: &Planner<'_>, views: &[View], a: &[Analysis]) -> Vec<Vec<usize>> {
    a.iter()
        .map(|an| {
            an.relations
                .iter()
                .filter_map(|r| views.iter().position(|v| p.d.names_equal(&v.name, r)))
                .collect()
        })
        .collect()
}

/// Plans the views of `to` from `from`. `table_pairs`/`col_pairs` pair new tables and
/// columns with old ones; `rebuilt(i)` says whether new table `i` is rebuilt;
/// `changed(i)` whether it changes at all.
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan(
    p: &Planner<'_>,
    from: Option<&Package>,
    to: &Package,
    table_pairs: &Pairs,
    col_pairs: &[Vec<(Option<usize>, bool)>],
    rebuilt: &dyn Fn(usize) -> bool,
    changed: &dyn Fn(usize) -> bool,
) -> Result<ViewSteps, Invalid> {
    let d = p.d;
    let empty_views: Vec<View> = Vec::new();
    let empty_tables: Vec<Table> = Vec::new();
    let old_views: &[View] = from
        .and_then(|f| f.views.as_deref())
        .unwrap_or(&empty_views);
    let new_views: &[View] = to.views.as_deref().unwrap_or(&empty_views);
    let old_tables: &[Table] = from.map_or(&empty_tables, |f| &f.tables);
    let mut steps = ViewSteps {
        before: Vec::new(),
        after: Vec::new(),
        dropped: HashSet::new(),
        created: HashSet::new(),
        pairs: vec![None; new_views.len()],
    };
    if old_views.is_empty() && new_views.is_empty() {
        return Ok(steps);
    }
    let old_a = match from {
        Some(f) => analyses(p, f, "deployed")?,
        None => Vec::new(),
    };
    let new_a = analyses(p, to, "new")?;
    let old_reads = view_reads(p, old_views, &old_a);
    let new_reads = view_reads(p, new_views, &new_a);

    // Pair new views with old ones (by name, then by rename hint).
    let mut renamed = vec![false; new_views.len()];
    let index = name_index(d, old_views, |v: &View| &v.name);
    let mut problems = Vec::new();
    for (j, v) in new_views.iter().enumerate() {
        let path = JsonPath::root().key("views").index(j).key("renamedFrom");
        let hints = v
            .renamed_from
            .as_ref()
            .map(|h| h.names())
            .unwrap_or_default();
        match counterpart(d, &v.name, hints, &index, &path) {
            Ok(Some((o, r))) => {
                steps.pairs[j] = Some(o);
                renamed[j] = r;
            }
            Ok(None) => {}
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return Err(Invalid { problems });
    }

    // What changes under the old views: whole tables and single columns (old names).
    let mut whole: HashSet<String> = HashSet::new();
    let mut cols: HashSet<(String, String)> = HashSet::new();
    let key = |n: &str| d.name_key(n);
    let kept_tables: HashSet<usize> = table_pairs.iter().filter_map(|p| p.0).collect();
    for (o, t) in old_tables.iter().enumerate() {
        if !kept_tables.contains(&o) {
            whole.insert(key(&t.name));
        }
    }
    for (i, t) in to.tables.iter().enumerate() {
        let (Some(o), was_renamed) = table_pairs[i] else {
            continue;
        };
        let old = &old_tables[o];
        if !changed(i) {
            continue;
        }
        if was_renamed || rebuilt(i) {
            whole.insert(key(&old.name));
            continue;
        }
        for (k, oc) in old.columns.iter().enumerate() {
            let hit = match col_pairs[i].iter().position(|cp| cp.0 == Some(k)) {
                None => true,
                Some(j) => {
                    let nc = &t.columns[j];
                    col_pairs[i][j].1
                        || d.column_type(oc) != d.column_type(nc)
                        || (!d.supports_set_default() && oc.default != nc.default)
                        || enum_changes(from, to, oc, nc)
                }
            };
            if hit {
                cols.insert((key(&old.name), key(&oc.name)));
            }
        }
    }

    // Old views to drop: gone, changed, or reading something that changes.
    let mut drop: HashSet<usize> = HashSet::new();
    for (o, a) in old_a.iter().enumerate() {
        let ov = &old_views[o];
        let paired = steps.pairs.iter().position(|p| *p == Some(o));
        let same = paired.is_some_and(|j| {
            let nv = &new_views[j];
            let na = &new_a[j];
            na.sql == a.sql
                && na.output == a.output
                && nv.columns.is_some() == ov.columns.is_some()
                && nv.is_materialized() == ov.is_materialized()
                && (!renamed[j] || d.supports_view_rename())
        });
        let affected = a.relations.iter().any(|r| whole.contains(&key(r)))
            || a.columns
                .iter()
                .any(|(r, c)| cols.contains(&(key(r), key(c))));
        if !same || affected {
            drop.insert(o);
        }
    }
    let drop = crate::views::dependents(&old_reads, &drop);
    steps.dropped = drop.clone();
    // New views to create: no kept counterpart.
    for j in 0..new_views.len() {
        if steps.pairs[j].is_none_or(|o| drop.contains(&o)) {
            steps.created.insert(j);
        }
    }

    // Drops, dependents first (the reverse of the old package's dependency order).
    let folding = d.engine().identifier_folding();
    if let Some(f) = from {
        let old_order = order(f, Some(d.engine()), folding).unwrap_or_default();
        for &o in old_order.iter().rev() {
            if !drop.contains(&o) {
                continue;
            }
            let ov = &old_views[o];
            let again = steps.pairs.iter().position(|p| *p == Some(o)).is_some();
            let kind = if ov.is_materialized() {
                "dropMaterializedView"
            } else {
                "dropView"
            };
            steps.before.push(
                Draft::new(
                    kind,
                    &ov.name,
                    ov.name.clone(),
                    format!(
                        "drop {}view {}{}",
                        if ov.is_materialized() {
                            "materialized "
                        } else {
                            ""
                        },
                        ov.name,
                        if again {
                            " (created again at the end of the plan)"
                        } else {
                            ""
                        }
                    ),
                    vec![d.drop_view(p.schema, &ov.name, ov.is_materialized())],
                )
                .locks(ACCESS_EXCLUSIVE),
            );
        }
    }

    // Renames and comments of kept views, then creates in dependency order.
    for (j, nv) in new_views.iter().enumerate() {
        let Some(o) = steps.pairs[j].filter(|o| !drop.contains(o)) else {
            continue;
        };
        let ov = &old_views[o];
        let m = nv.is_materialized();
        if renamed[j] {
            steps.after.push(
                Draft::new(
                    "renameView",
                    &nv.name,
                    nv.name.clone(),
                    format!("rename view {} to {}", ov.name, nv.name),
                    vec![d.rename_view(p.schema, &ov.name, &nv.name, m)],
                )
                .locks(ACCESS_EXCLUSIVE),
            );
        }
        if d.supports_comments() && nv.comment != ov.comment {
            steps.after.push(Draft::new(
                "commentView",
                &nv.name,
                nv.name.clone(),
                format!("set comment on view {}", nv.name),
                vec![d.comment_view(p.schema, &nv.name, m, nv.comment.as_deref())],
            ));
        }
    }
    let new_order = order(to, Some(d.engine()), folding).unwrap_or_default();
    // Whether a view reads a table this plan changes, directly or through views: a kept
    // materialized view over one is refreshed (where the engine refreshes by statement).
    let changed_tables: HashSet<String> = to
        .tables
        .iter()
        .enumerate()
        .filter(|(i, _)| table_pairs[*i].0.is_some() && changed(*i))
        .map(|(_, t)| key(&t.name))
        .collect();
    let mut reads_changed: Vec<bool> = new_a
        .iter()
        .map(|a| a.relations.iter().any(|r| changed_tables.contains(&key(r))))
        .collect();
    for &j in &new_order {
        if new_reads[j].iter().any(|&k| reads_changed[k]) {
            reads_changed[j] = true;
        }
    }
    for &j in &new_order {
        let nv = &new_views[j];
        let m = nv.is_materialized();
        if !steps.created.contains(&j) {
            if m && reads_changed[j] && d.refreshes_materialized_views() {
                steps.after.push(
                    Draft::new(
                        "refreshMaterializedView",
                        &nv.name,
                        nv.name.clone(),
                        format!(
                            "refresh materialized view {} (a table it reads changed)",
                            nv.name
                        ),
                        vec![d.refresh_materialized_view(p.schema, &nv.name)],
                    )
                    .may_fail(true)
                    .locks(REFRESH),
                );
            }
            continue;
        }
        let mut sql =
            vec![d.create_view(p.schema, &nv.name, nv.columns.as_deref(), &new_a[j].sql, m)];
        if let Some(c) = nv.comment.as_deref().filter(|_| d.supports_comments()) {
            sql.push(d.comment_view(p.schema, &nv.name, m, Some(c)));
        }
        let reads = new_a[j].relations.join(", ");
        steps.after.push(
            Draft::new(
                if m {
                    "createMaterializedView"
                } else {
                    "createView"
                },
                &nv.name,
                nv.name.clone(),
                format!(
                    "create {}view {} (reads {reads})",
                    if m { "materialized " } else { "" },
                    nv.name
                ),
                sql,
            )
            // A materialized view runs its query now: it fails where the query does.
            .may_fail(m)
            .locks(ACCESS_EXCLUSIVE),
        );
    }
    Ok(steps)
}
