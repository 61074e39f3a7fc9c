//! Identity columns on Postgres: `ADD GENERATED … AS IDENTITY` on an existing column
//! (with the sequence moved past the rows already there), `DROP IDENTITY`, and
//! `SET GENERATED` / `SET START WITH` / `SET INCREMENT BY` for changes. New columns and
//! tables get the identity clause in their definition
//! ([`crate::dialect::identity_clause`]).

use crate::dialect::identity_clause;
use crate::model::{Identity, Table};
use crate::plan::{Draft, Planner, ACCESS_EXCLUSIVE, SCAN};

type Pairs = [(Option<usize>, bool)];

fn kind_words(i: Identity) -> &'static str {
    match i {
        Identity::Always => "ALWAYS",
        Identity::ByDefault => "BY DEFAULT",
    }
}

/// Removals and changes of existing identities (before NOT NULL can be dropped).
pub(crate) fn before(
    p: &Planner<'_>,
    old: &Table,
    t: &Table,
    pairs: &Pairs,
    drafts: &mut Vec<Draft>,
) {
    if !p.d.supports_alter_column() || !p.d.enforces_constraints() {
        return;
    }
    let tt = p.t(&t.name);
    for (j, c) in t.columns.iter().enumerate() {
        let Some(k) = pairs[j].0 else { continue };
        let o = &old.columns[k];
        let cq = p.q(&c.name);
        let target = format!("{}.{}", t.name, c.name);
        match (o.identity, c.identity) {
            (Some(_), None) => drafts.push(
                Draft::new(
                    "dropIdentity",
                    &t.name,
                    target,
                    format!("stop generating values for {}.{}", t.name, c.name),
                    vec![format!("ALTER TABLE {tt} ALTER COLUMN {cq} DROP IDENTITY")],
                )
                .locks(ACCESS_EXCLUSIVE),
            ),
            (Some(a), Some(b)) if (a, o.start, o.increment) != (b, c.start, c.increment) => {
                let mut sql = Vec::new();
                if a != b {
                    sql.push(format!(
                        "ALTER TABLE {tt} ALTER COLUMN {cq} SET GENERATED {}",
                        kind_words(b)
                    ));
                }
                if o.start != c.start {
                    sql.push(format!(
                        "ALTER TABLE {tt} ALTER COLUMN {cq} SET START WITH {}",
                        c.start.unwrap_or(1)
                    ));
                }
                if o.increment != c.increment {
                    sql.push(format!(
                        "ALTER TABLE {tt} ALTER COLUMN {cq} SET INCREMENT BY {}",
                        c.increment.unwrap_or(1)
                    ));
                }
                drafts.push(
                    Draft::new(
                        "alterIdentity",
                        &t.name,
                        target,
                        format!("change the identity of {}.{}", t.name, c.name),
                        sql,
                    )
                    .locks(ACCESS_EXCLUSIVE),
                );
            }
            _ => {}
        }
    }
}

/// Identity added to an existing column: after its default is dropped and NOT NULL set;
/// the sequence then continues after the largest (or, counting down, smallest) value
/// already in the column.
pub(crate) fn after(
    p: &Planner<'_>,
    old: &Table,
    t: &Table,
    pairs: &Pairs,
    drafts: &mut Vec<Draft>,
) {
    if !p.d.supports_alter_column() || !p.d.enforces_constraints() {
        return;
    }
    let tt = p.t(&t.name);
    for (j, c) in t.columns.iter().enumerate() {
        let Some(k) = pairs[j].0 else { continue };
        let (Some(identity), None) = (c.identity, old.columns[k].identity) else {
            continue;
        };
        let cq = p.q(&c.name);
        let up = c.increment.unwrap_or(1) > 0;
        let start = c.start.unwrap_or(1);
        let (agg, cmp) = if up { ("max", ">=") } else { ("min", "<=") };
        drafts.push(
            Draft::new(
                "addIdentity",
                &t.name,
                format!("{}.{}", t.name, c.name),
                format!(
                    "generate values for {}.{} (continuing after existing rows)",
                    t.name, c.name
                ),
                vec![
                    // A no-op when the column is already NOT NULL (a new primary key
                    // sets it only later in the plan).
                    format!("ALTER TABLE {tt} ALTER COLUMN {cq} SET NOT NULL"),
                    format!(
                        "ALTER TABLE {tt} ALTER COLUMN {cq} ADD {}",
                        identity_clause(identity, c)
                    ),
                    format!(
                        "SELECT setval(pg_get_serial_sequence({}, {}), v) FROM (SELECT {agg}({cq}) AS v FROM {tt}) AS existing WHERE v {cmp} {start}",
                        p.d.string_literal(&tt),
                        p.d.string_literal(&c.name)
                    ),
                ],
            )
            .may_fail(true)
            .locks(SCAN),
        );
    }
}
