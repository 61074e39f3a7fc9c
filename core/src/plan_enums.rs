//! Enum types on engines that have them (Postgres): `CREATE TYPE … AS ENUM` before the
//! tables, `ALTER TYPE … RENAME TO` for a `renamedFrom` hint, `ALTER TYPE … ADD VALUE`
//! for values added without removing or reordering any, a rebuild of the type for
//! everything else, and `DROP TYPE` after the columns that used the type are gone.
//!
//! `ADD VALUE` runs inside the plan's transaction, which PostgreSQL allows from version
//! 12 (on 11 the statement fails and the plan rolls back, nothing changed). A value added
//! that way cannot be used before the transaction commits, so when the same plan uses an
//! added value (as a column default, or in a check of a table with a column of the enum)
//! the type is rebuilt instead: values of a type created in the running transaction can
//! be used at once.
//!
//! A rebuild renames the old type out of the way, creates the type with the new values
//! and converts every column that keeps the enum through its text (`USING c::text::e`):
//! a row holding a removed value fails that cast, so the step is `mayFail` (and
//! destructive when values go away). Columns that leave the enum in the same plan keep
//! the old type until their own step converts or drops them; the old type is dropped at
//! the end of the plan.

use crate::dialect::Dialect;
use crate::error::{JsonPath, Problem};
use crate::model::{Column, ColumnType, EnumType, Literal, Package, Table};
use crate::plan::{counterpart, name_index, Draft, Planner, ACCESS_EXCLUSIVE, REWRITE};
use std::collections::{HashMap, HashSet};

type Pairs = [(Option<usize>, bool)];

/// A lock string for `ALTER TYPE … ADD VALUE`.
pub(crate) const TYPE_LOCK: &str = "brief lock on the type: no table is read or rewritten";

/// The suffix of a rebuilt type's old copy (dropped at the end of the plan).
const OLD_SUFFIX: &str = "_depot_old";

/// How the plan changes one enum of the new package.
struct Change<'a> {
    new: &'a EnumType,
    old: Option<&'a EnumType>,
    renamed: bool,
    rebuild: bool,
}

/// The enums of both packages and what happens to each.
pub(crate) struct Enums<'a> {
    d: &'static dyn Dialect,
    old: &'a [EnumType],
    changes: Vec<Change<'a>>,
    old_values: HashMap<String, &'a [String]>,
    new_values: HashMap<String, &'a [String]>,
}

fn added<'v>(old: &[String], new: &'v [String]) -> Vec<&'v String> {
    new.iter().filter(|v| !old.contains(v)).collect()
}

/// Whether `new` keeps every value of `old` in the same order (values only added).
fn only_added(old: &[String], new: &[String]) -> bool {
    let kept: Vec<&String> = new.iter().filter(|v| old.contains(v)).collect();
    kept.len() == old.len() && kept.iter().zip(old).all(|(a, b)| *a == b)
}

/// The columns of the package whose type is the enum `name`, with their tables.
fn columns_of<'p>(
    d: &'static dyn Dialect,
    pkg: &'p Package,
    name: &str,
) -> impl Iterator<Item = (&'p Table, &'p Column)> + 'p {
    let key = d.name_key(name);
    pkg.tables.iter().flat_map(move |t| {
        let key = key.clone();
        t.columns.iter().filter_map(move |c| {
            (c.column_type == ColumnType::Enum
                && c.enum_name.as_deref().map(|n| d.name_key(n)) == Some(key.clone()))
            .then_some((t, c))
        })
    })
}

impl<'a> Enums<'a> {
    /// Pairs the enums (by name, then by `renamedFrom`) and decides for each whether
    /// values are added in place or the type is rebuilt.
    pub(crate) fn new(
        d: &'static dyn Dialect,
        from: Option<&'a Package>,
        to: &'a Package,
    ) -> Result<Enums<'a>, Vec<Problem>> {
        let old: &[EnumType] = from.and_then(|p| p.enums.as_deref()).unwrap_or_default();
        let new: &[EnumType] = to.enums.as_deref().unwrap_or_default();
        let index = name_index(d, old, |e: &EnumType| &e.name);
        let mut problems = Vec::new();
        let mut changes = Vec::new();
        for (i, e) in new.iter().enumerate() {
            let path = JsonPath::root().key("enums").index(i).key("renamedFrom");
            let hints = e
                .renamed_from
                .as_ref()
                .map(|h| h.names())
                .unwrap_or_default();
            let (old_e, renamed) = match counterpart(d, &e.name, hints, &index, &path) {
                Ok(Some((o, renamed))) => (Some(&old[o]), renamed),
                Ok(None) => (None, false),
                Err(p) => {
                    problems.push(p);
                    (None, false)
                }
            };
            let rebuild = old_e.is_some_and(|o| {
                if !only_added(&o.values, &e.values) {
                    return true;
                }
                let fresh = added(&o.values, &e.values);
                if fresh.is_empty() {
                    return false;
                }
                // A value added by ADD VALUE cannot be used before commit.
                columns_of(d, to, &e.name).any(|(t, c)| {
                    matches!(&c.default, Some(Literal::String(s)) if fresh.contains(&s))
                        || t.checks.iter().flatten().any(|k| {
                            fresh
                                .iter()
                                .any(|v| k.expression.contains(&format!("'{v}'")))
                        })
                })
            });
            changes.push(Change {
                new: e,
                old: old_e,
                renamed,
                rebuild,
            });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let by_key = |list: &'a [EnumType]| -> HashMap<String, &'a [String]> {
            list.iter()
                .map(|e| (d.name_key(&e.name), e.values.as_slice()))
                .collect()
        };
        Ok(Enums {
            d,
            old,
            changes,
            old_values: by_key(old),
            new_values: by_key(new),
        })
    }

    /// The old package with enum renames carried into its columns, so that a column
    /// whose enum is only renamed compares equal to its new version. `None` when no enum
    /// is renamed.
    pub(crate) fn carry_renames(&self, from: &Package) -> Option<Package> {
        let renames: HashMap<String, &str> = self
            .changes
            .iter()
            .filter(|c| c.renamed)
            .filter_map(|c| Some((self.d.name_key(&c.old?.name), c.new.name.as_str())))
            .collect();
        if renames.is_empty() {
            return None;
        }
        let mut out = from.clone();
        for t in &mut out.tables {
            for c in &mut t.columns {
                if let Some(n) = c.enum_name.as_deref() {
                    if let Some(to) = renames.get(&self.d.name_key(n)) {
                        c.enum_name = Some((*to).to_string());
                    }
                }
            }
        }
        Some(out)
    }

    /// The values of an enum of the new package.
    pub(crate) fn new_values(&self, name: &str) -> Option<&'a [String]> {
        self.new_values.get(&self.d.name_key(name)).copied()
    }

    /// The values of an enum of the old package, under its new name when renamed.
    pub(crate) fn old_values(&self, name: &str) -> Option<&'a [String]> {
        let key = self.d.name_key(name);
        self.changes
            .iter()
            .find(|c| self.d.name_key(&c.new.name) == key)
            .and_then(|c| c.old)
            .map(|o| o.values.as_slice())
            .or_else(|| self.old_values.get(&key).copied())
    }

    /// Whether the type of a (new-package) enum column is rebuilt by this plan.
    pub(crate) fn rebuilt(&self, c: &Column) -> bool {
        self.d.supports_enum_types()
            && c.column_type == ColumnType::Enum
            && c.enum_name.as_deref().is_some_and(|n| {
                self.changes
                    .iter()
                    .any(|ch| ch.rebuild && self.d.names_equal(&ch.new.name, n))
            })
    }

    fn values_sql(&self, values: &[String]) -> String {
        let quoted: Vec<String> = values.iter().map(|v| self.d.string_literal(v)).collect();
        quoted.join(", ")
    }

    /// Renames, creations, added values and rebuilds: after the tables that go away are
    /// dropped, before any column or table uses the types.
    pub(crate) fn early(
        &self,
        p: &Planner<'_>,
        old_tables: &[Table],
        to: &Package,
        pairs: &Pairs,
        col_pairs: &[Vec<(Option<usize>, bool)>],
        drafts: &mut Vec<Draft>,
    ) {
        let d = self.d;
        if !d.supports_enum_types() {
            return;
        }
        for ch in self.changes.iter().filter(|c| c.renamed) {
            let Some(old) = ch.old else { continue };
            drafts.push(
                Draft::new(
                    "renameEnum",
                    "",
                    ch.new.name.clone(),
                    format!("rename enum {} to {}", old.name, ch.new.name),
                    vec![format!(
                        "ALTER TYPE {} RENAME TO {}",
                        p.t(&old.name),
                        p.q(&ch.new.name)
                    )],
                )
                .locks(TYPE_LOCK),
            );
        }
        for ch in self.changes.iter().filter(|c| c.old.is_none()) {
            drafts.push(Draft::new(
                "createEnum",
                "",
                ch.new.name.clone(),
                format!("create enum {} ({})", ch.new.name, ch.new.values.join(", ")),
                vec![format!(
                    "CREATE TYPE {} AS ENUM ({})",
                    p.t(&ch.new.name),
                    self.values_sql(&ch.new.values)
                )],
            ));
        }
        for ch in self.changes.iter().filter(|c| !c.rebuild) {
            let Some(old) = ch.old else { continue };
            let fresh = added(&old.values, &ch.new.values);
            if fresh.is_empty() {
                continue;
            }
            let tt = p.t(&ch.new.name);
            let sql = ch
                .new
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| fresh.contains(v))
                .map(|(k, v)| {
                    let at = match k {
                        0 => format!(" BEFORE {}", d.string_literal(&old.values[0])),
                        _ => format!(" AFTER {}", d.string_literal(&ch.new.values[k - 1])),
                    };
                    format!("ALTER TYPE {tt} ADD VALUE {}{at}", d.string_literal(v))
                })
                .collect();
            let shown: Vec<&str> = fresh.iter().map(|v| v.as_str()).collect();
            drafts.push(
                Draft::new(
                    "addEnumValue",
                    "",
                    ch.new.name.clone(),
                    format!(
                        "add value(s) {} to enum {} (usable once the plan commits)",
                        shown.join(", "),
                        ch.new.name
                    ),
                    sql,
                )
                .locks(TYPE_LOCK),
            );
        }
        for ch in self.changes.iter().filter(|c| c.rebuild) {
            let Some(old) = ch.old else { continue };
            drafts.push(self.rebuild(p, ch, old, old_tables, to, pairs, col_pairs));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn rebuild(
        &self,
        p: &Planner<'_>,
        ch: &Change<'_>,
        old: &EnumType,
        old_tables: &[Table],
        to: &Package,
        pairs: &Pairs,
        col_pairs: &[Vec<(Option<usize>, bool)>],
    ) -> Draft {
        let d = self.d;
        let name = &ch.new.name;
        let ty = p.t(name);
        let mut sql = vec![
            format!(
                "ALTER TYPE {ty} RENAME TO {}",
                p.q(&format!("{name}{OLD_SUFFIX}"))
            ),
            format!(
                "CREATE TYPE {ty} AS ENUM ({})",
                self.values_sql(&ch.new.values)
            ),
        ];
        let mut used = false;
        for (i, t) in to.tables.iter().enumerate() {
            let Some(o) = pairs[i].0 else { continue };
            let ot = &old_tables[o];
            for (j, c) in t.columns.iter().enumerate() {
                let Some(k) = col_pairs[i].get(j).and_then(|x| x.0) else {
                    continue;
                };
                let oc = &ot.columns[k];
                let of_this = |c: &Column| {
                    c.column_type == ColumnType::Enum
                        && c.enum_name
                            .as_deref()
                            .is_some_and(|n| d.names_equal(n, name))
                };
                if !(of_this(c) && of_this(oc)) {
                    continue;
                }
                used = true;
                // Old names: renames of tables and columns come later in the plan.
                let tt = p.t(&ot.name);
                let cq = p.q(&oc.name);
                if oc.default.is_some() {
                    sql.push(format!("ALTER TABLE {tt} ALTER COLUMN {cq} DROP DEFAULT"));
                }
                sql.push(format!(
                    "ALTER TABLE {tt} ALTER COLUMN {cq} TYPE {ty} USING {cq}::text::{ty}"
                ));
                if let Some(def) = c.default.as_ref().filter(|_| oc.default == c.default) {
                    sql.push(format!(
                        "ALTER TABLE {tt} ALTER COLUMN {cq} SET DEFAULT {}",
                        d.literal(def, c)
                    ));
                }
            }
        }
        let removed: Vec<&str> = old
            .values
            .iter()
            .filter(|v| !ch.new.values.contains(v))
            .map(String::as_str)
            .collect();
        let summary = if removed.is_empty() {
            format!(
                "rebuild enum {name} with values {} (columns converted)",
                ch.new.values.join(", ")
            )
        } else {
            format!(
                "rebuild enum {name} without value(s) {} (columns converted; fails on rows holding them)",
                removed.join(", ")
            )
        };
        let mut dr = Draft::new("rebuildEnum", "", name.clone(), summary, sql)
            .may_fail(used && !removed.is_empty())
            .locks(if used { REWRITE } else { ACCESS_EXCLUSIVE });
        if !removed.is_empty() {
            dr = dr.destructive();
        }
        dr
    }

    /// Types dropped at the end: enums the new package no longer has, and the old
    /// copies of rebuilt ones.
    pub(crate) fn late(&self, p: &Planner<'_>, drafts: &mut Vec<Draft>) {
        if !self.d.supports_enum_types() {
            return;
        }
        let kept: HashSet<String> = self
            .changes
            .iter()
            .filter_map(|c| c.old.map(|o| self.d.name_key(&o.name)))
            .collect();
        for ch in self.changes.iter().filter(|c| c.rebuild) {
            let old_copy = format!("{}{OLD_SUFFIX}", ch.new.name);
            drafts.push(Draft::new(
                "dropEnum",
                "",
                old_copy.clone(),
                format!("drop the old copy of enum {}", ch.new.name),
                vec![format!("DROP TYPE {}", p.t(&old_copy))],
            ));
        }
        for e in self.old {
            if kept.contains(&self.d.name_key(&e.name)) {
                continue;
            }
            drafts.push(Draft::new(
                "dropEnum",
                "",
                e.name.clone(),
                format!("drop enum {}", e.name),
                vec![format!("DROP TYPE {}", p.t(&e.name))],
            ));
        }
    }
}
