//! Identity columns on Postgres: `ADD GENERATED … AS IDENTITY` on an existing column
//! (with the sequence moved past the rows already there), `DROP IDENTITY`, and
//! `SET GENERATED` / `SET START WITH` / `SET INCREMENT BY` for changes. New columns and
//! tables get the identity clause in their definition
//! ([`crate::dialect::identity_clause`]).

use crate::dialect::identity_clause;
use crate::error::{Code, JsonPath, Problem};
use crate::model::{Identity, Literal, Package, Table};
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

/// On engines that cannot alter an identity or add a column with a function default to
/// an existing table (Snowflake, [`crate::dialect::Dialect::alters_identity`]): one
/// DM2025 problem per change the plan would need and cannot make, naming the way out.
pub(crate) fn refusals(
    p: &Planner<'_>,
    old_tables: &[Table],
    to: &Package,
    pairs: &Pairs,
    col_pairs: &[Vec<(Option<usize>, bool)>],
) -> Vec<Problem> {
    let d = p.d;
    let mut out = Vec::new();
    let engine = d.engine().as_str();
    for (i, t) in to.tables.iter().enumerate() {
        let Some(o) = pairs[i].0 else { continue };
        let old = &old_tables[o];
        for (j, c) in t.columns.iter().enumerate() {
            let path = JsonPath::root()
                .key("tables")
                .index(i)
                .key("columns")
                .index(j);
            let oc = col_pairs[i]
                .get(j)
                .and_then(|x| x.0)
                .map(|k| &old.columns[k]);
            let identity_changed = match oc {
                None => c.identity.is_some(),
                Some(oc) => {
                    (oc.identity, oc.start, oc.increment) != (c.identity, c.start, c.increment)
                        || (c.identity.is_some() && d.column_type(oc) != d.column_type(c))
                }
            };
            if identity_changed && !d.alters_identity() {
                out.push(Problem::new(
                    Code::UnsupportedChange,
                    path.key("identity"),
                    format!(
                        "{engine} cannot add, remove or change the identity of a column of an existing table ({}.{}), nor retype an identity column; keep the column as deployed, or create a new table with the identity and copy the rows in a later release",
                        t.name, c.name
                    ),
                ));
            }
            // A column added (or rebuilt by add-copy-rename, which any default change
            // or a retype on these engines is) with a function default.
            let function_default = matches!(c.default, Some(Literal::Function(_)));
            let added_with_it = match oc {
                None => true,
                Some(oc) => oc.default != c.default || d.column_type(oc) != d.column_type(c),
            };
            if function_default && added_with_it && !d.adds_function_defaults() {
                out.push(Problem::new(
                    Code::UnsupportedChange,
                    path.key("default"),
                    format!(
                        "{engine} adds a column to an existing table only with a constant default, and changes a default by adding the column again; {}.{} cannot get a function default after the table exists: remove \"default\" here (the application sets the value), or give it to a column of a new table",
                        t.name, c.name
                    ),
                ));
            }
        }
    }
    out
}
