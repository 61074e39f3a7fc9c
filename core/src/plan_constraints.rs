//! Planning of named unique constraints, check constraints and foreign keys (Postgres).
//!
//! Order: every constraint that goes away or changes is dropped first (foreign keys
//! before the checks and unique constraints, and all of them before the columns, keys
//! and tables they depend on); new ones are added last (unique constraints and checks,
//! then foreign keys, so a key can refer to a constraint added in the same plan). On a
//! table with rows a check or foreign key is added `NOT VALID` (a brief lock, existing
//! rows not checked) and validated by a separate step under a lock that lets reads and
//! writes continue; that step is `mayFail` (rows that break the constraint fail it, and
//! the transaction rolls back).
//!
//! A constraint is kept only when it is unchanged and neither its table nor (for a
//! foreign key) the referenced table renames or retypes a column, changes its primary
//! key or its unique constraints; otherwise it is dropped and added again. That costs a
//! validation now and then but never leaves a constraint that the package no longer
//! describes.

use crate::constraints::check_sql;
use crate::error::{Code, Invalid, JsonPath, Problem};
use crate::model::{Check, Deferrable, ForeignKey, Package, ReferentialAction, Table};
use crate::plan::{
    Draft, Planner, ACCESS_EXCLUSIVE, NOT_VALID_CHECK, SHARE_ROW_EXCLUSIVE, UNIQUE_BUILD, VALIDATE,
};

type Pairs = [(Option<usize>, bool)];

/// Whether this planner plans constraints (engines with `ALTER TABLE … ADD CONSTRAINT`:
/// Postgres, and Snowflake, which declares them without enforcing them).
fn plans_constraints(p: &Planner<'_>) -> bool {
    p.d.supports_alter_column()
}

/// Whether existing rows are checked (and so worth `NOT VALID` + `VALIDATE`).
fn validates(p: &Planner<'_>) -> bool {
    p.d.enforces_constraints()
}

/// The check expression as the dialect writes it (validated before planning).
fn check_expression(p: &Planner<'_>, t: &Table, c: &Check) -> Result<String, String> {
    let folding = p.d.engine().identifier_folding();
    check_sql(&c.expression, t, Some(p.d.engine()), folding, &|n| p.q(n))
}

fn unique_def(p: &Planner<'_>, name: &str, columns: &[String]) -> String {
    format!(
        "CONSTRAINT {} UNIQUE {}",
        p.q(name),
        p.d.column_list(columns)
    )
}

fn check_def(p: &Planner<'_>, t: &Table, c: &Check) -> String {
    format!(
        "CONSTRAINT {} CHECK ({})",
        p.q(&c.name),
        check_expression(p, t, c).unwrap_or_default()
    )
}

fn foreign_key_def(p: &Planner<'_>, fk: &ForeignKey) -> String {
    let mut def = format!(
        "CONSTRAINT {} FOREIGN KEY {} REFERENCES {} {}",
        p.q(&fk.name),
        p.d.column_list(&fk.columns),
        p.t(&fk.references.table),
        p.d.column_list(&fk.references.columns)
    );
    for (words, action) in [("ON DELETE", fk.on_delete), ("ON UPDATE", fk.on_update)] {
        if let Some(a) = action.filter(|a| *a != ReferentialAction::NoAction) {
            def.push_str(&format!(" {words} {}", a.sql()));
        }
    }
    match fk.deferrable {
        Some(Deferrable::InitiallyImmediate) => def.push_str(" DEFERRABLE INITIALLY IMMEDIATE"),
        Some(Deferrable::InitiallyDeferred) => def.push_str(" DEFERRABLE INITIALLY DEFERRED"),
        _ => {}
    }
    def
}

/// Constraints written inside `CREATE TABLE`: unique constraints and checks (the table
/// is empty; foreign keys follow once every table exists). Where constraints cannot be
/// added later (SQLite) every constraint is written here, foreign keys too: SQLite
/// accepts a reference to a table that does not exist yet, and a table rebuild writes
/// the table's whole definition.
pub(crate) fn inline_constraints(p: &Planner<'_>, t: &Table) -> Vec<String> {
    let mut defs: Vec<String> = t
        .unique_constraints
        .iter()
        .flatten()
        .filter(|u| !(plans_constraints(p) && same_as_primary_key(t, &u.columns)))
        .map(|u| unique_def(p, &u.name, &u.columns))
        .collect();
    defs.extend(t.checks.iter().flatten().map(|c| check_def(p, t, c)));
    if !plans_constraints(p) {
        defs.extend(
            t.foreign_keys
                .iter()
                .flatten()
                .map(|f| foreign_key_def(p, f)),
        );
    }
    defs
}

/// Whether a unique constraint has exactly the primary key's columns, in order.
fn same_as_primary_key(t: &Table, columns: &[String]) -> bool {
    t.primary_key.as_deref() == Some(columns)
}

/// Unique constraints on exactly the primary key's columns, added after `CREATE TABLE`:
/// inside it PostgreSQL silently leaves out a unique constraint that repeats the primary
/// key, which `ALTER TABLE … ADD` creates, so both ways of reaching the schema agree.
pub(crate) fn after_create(p: &Planner<'_>, t: &Table) -> Vec<String> {
    if !plans_constraints(p) {
        return Vec::new();
    }
    t.unique_constraints
        .iter()
        .flatten()
        .filter(|u| same_as_primary_key(t, &u.columns))
        .map(|u| {
            format!(
                "ALTER TABLE {} ADD {}",
                p.t(&t.name),
                unique_def(p, &u.name, &u.columns)
            )
        })
        .collect()
}

/// Whether a table's constraints differ between the packages (SQLite rebuilds then).
pub(crate) fn constraints_differ(old: &Table, t: &Table) -> bool {
    old.unique_constraints != t.unique_constraints
        || old.checks != t.checks
        || old.foreign_keys != t.foreign_keys
}

/// Which constraints a plan keeps, drops and adds.
pub(crate) struct Keys<'a, 'p> {
    p: &'a Planner<'p>,
    old_tables: &'a [Table],
    to: &'a Package,
    pairs: &'a Pairs,
    /// Per new table: paired, not renamed, no column renamed or retyped, same primary
    /// key and unique constraints.
    stable: Vec<bool>,
}

impl<'a, 'p> Keys<'a, 'p> {
    pub(crate) fn new(
        p: &'a Planner<'p>,
        old_tables: &'a [Table],
        to: &'a Package,
        pairs: &'a Pairs,
        col_pairs: &'a [Vec<(Option<usize>, bool)>],
    ) -> Result<Self, Invalid> {
        let d = p.d;
        let mut problems = Vec::new();
        for (i, t) in to.tables.iter().enumerate() {
            for (k, c) in t.checks.iter().flatten().enumerate() {
                if let Err(why) = check_expression(p, t, c) {
                    problems.push(Problem::new(
                        Code::InvalidCheck,
                        JsonPath::root()
                            .key("tables")
                            .index(i)
                            .key("checks")
                            .index(k)
                            .key("expression"),
                        why,
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Invalid { problems });
        }
        let stable = to
            .tables
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let (Some(o), false) = pairs[i] else {
                    return false;
                };
                let old = &old_tables[o];
                let cols_stable = t.columns.iter().enumerate().all(|(j, c)| {
                    match col_pairs[i].get(j).copied().unwrap_or((None, false)) {
                        (Some(k), false) => d.column_type(&old.columns[k]) == d.column_type(c),
                        (Some(_), true) => false,
                        (None, _) => true,
                    }
                });
                // A rebuilt enum type re-parses the table's checks against the new type.
                cols_stable
                    && !t.columns.iter().any(|c| p.enums.rebuilt(c))
                    && p.pk_equal(old, t, &col_pairs[i])
                    && old.unique_constraints.as_deref().unwrap_or_default()
                        == t.unique_constraints.as_deref().unwrap_or_default()
            })
            .collect();
        Ok(Keys {
            p,
            old_tables,
            to,
            pairs,
            stable,
        })
    }

    fn old_of(&self, i: usize) -> Option<&'a Table> {
        self.pairs[i].0.map(|o| &self.old_tables[o])
    }

    fn new_index(&self, name: &str) -> Option<usize> {
        self.to
            .tables
            .iter()
            .position(|t| self.p.d.names_equal(&t.name, name))
    }

    fn keeps_fk(&self, i: usize, fk: &ForeignKey) -> bool {
        let Some(old) = self.old_of(i).filter(|_| self.stable[i]) else {
            return false;
        };
        let target_stable = self
            .new_index(&fk.references.table)
            .is_some_and(|ti| self.stable[ti]);
        target_stable && old.foreign_keys.iter().flatten().any(|o| o == fk)
    }

    fn keeps_check(&self, i: usize, c: &Check) -> bool {
        self.stable[i]
            && self
                .old_of(i)
                .is_some_and(|old| old.checks.iter().flatten().any(|o| o == c))
    }

    /// Drop steps: foreign keys (of every old table), then checks and unique
    /// constraints of the tables that stay.
    pub(crate) fn drops(&self, drafts: &mut Vec<Draft>) {
        if !plans_constraints(self.p) {
            return;
        }
        let new_of_old = |o: usize| self.pairs.iter().position(|p| p.0 == Some(o));
        let mut fks = Vec::new();
        let mut others = Vec::new();
        for (o, old) in self.old_tables.iter().enumerate() {
            let new_i = new_of_old(o);
            for fk in old.foreign_keys.iter().flatten() {
                let kept = new_i.is_some_and(|i| {
                    self.to.tables[i]
                        .foreign_keys
                        .iter()
                        .flatten()
                        .any(|n| n == fk)
                        && self.keeps_fk(i, fk)
                });
                if !kept {
                    fks.push(self.drop(old, &fk.name, "dropForeignKey", "foreign key"));
                }
            }
            let Some(i) = new_i else { continue };
            let t = &self.to.tables[i];
            for c in old.checks.iter().flatten() {
                if !t.checks.iter().flatten().any(|n| n == c) || !self.stable[i] {
                    others.push(self.drop(old, &c.name, "dropCheck", "check"));
                }
            }
            if !self.stable[i] {
                for u in old.unique_constraints.iter().flatten() {
                    others.push(self.drop(
                        old,
                        &u.name,
                        "dropUniqueConstraint",
                        "unique constraint",
                    ));
                }
            }
        }
        drafts.extend(fks);
        drafts.extend(others);
    }

    fn drop(&self, old: &Table, name: &str, kind: &'static str, what: &str) -> Draft {
        Draft::new(
            kind,
            &old.name,
            format!("{}.{name}", old.name),
            format!("drop {what} {name} on {}", old.name),
            vec![format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                self.p.t(&old.name),
                self.p.q(name)
            )],
        )
        .locks(ACCESS_EXCLUSIVE)
    }

    /// Add steps: unique constraints and checks of tables that existed, then every
    /// foreign key that is not kept.
    pub(crate) fn adds(&self, drafts: &mut Vec<Draft>) {
        let p = self.p;
        if !plans_constraints(p) {
            return;
        }
        for (i, t) in self.to.tables.iter().enumerate() {
            if self.old_of(i).is_none() {
                continue; // created with its constraints inline
            }
            let tt = p.t(&t.name);
            if !self.stable[i] {
                for u in t.unique_constraints.iter().flatten() {
                    drafts.push(
                        Draft::new(
                            "addUniqueConstraint",
                            &t.name,
                            format!("{}.{}", t.name, u.name),
                            format!(
                                "add unique constraint {} on {} ({})",
                                u.name,
                                t.name,
                                u.columns.join(", ")
                            ),
                            vec![format!(
                                "ALTER TABLE {tt} ADD {}",
                                unique_def(p, &u.name, &u.columns)
                            )],
                        )
                        .may_fail(validates(p))
                        .locks(if validates(p) {
                            UNIQUE_BUILD
                        } else {
                            ACCESS_EXCLUSIVE
                        }),
                    );
                }
            }
            for c in t.checks.iter().flatten() {
                if self.keeps_check(i, c) {
                    continue;
                }
                drafts.push(
                    Draft::new(
                        "addCheck",
                        &t.name,
                        format!("{}.{}", t.name, c.name),
                        format!(
                            "add check {} on {} (existing rows checked next)",
                            c.name, t.name
                        ),
                        vec![format!(
                            "ALTER TABLE {tt} ADD {} NOT VALID",
                            check_def(p, t, c)
                        )],
                    )
                    .locks(NOT_VALID_CHECK),
                );
                drafts.push(self.validate(t, &c.name, "check"));
            }
        }
        for (i, t) in self.to.tables.iter().enumerate() {
            let fresh = self.old_of(i).is_none();
            let tt = p.t(&t.name);
            for fk in t.foreign_keys.iter().flatten() {
                if self.keeps_fk(i, fk) {
                    continue;
                }
                let summary = format!(
                    "add foreign key {} on {} ({}) references {} ({})",
                    fk.name,
                    t.name,
                    fk.columns.join(", "),
                    fk.references.table,
                    fk.references.columns.join(", ")
                );
                let def = foreign_key_def(p, fk);
                if fresh || !validates(p) {
                    // The table was created by this plan: it has no rows to check.
                    drafts.push(
                        Draft::new(
                            "addForeignKey",
                            &t.name,
                            format!("{}.{}", t.name, fk.name),
                            summary,
                            vec![format!("ALTER TABLE {tt} ADD {def}")],
                        )
                        .locks(if validates(p) {
                            SHARE_ROW_EXCLUSIVE
                        } else {
                            ACCESS_EXCLUSIVE
                        }),
                    );
                } else {
                    drafts.push(
                        Draft::new(
                            "addForeignKey",
                            &t.name,
                            format!("{}.{}", t.name, fk.name),
                            format!("{summary} (existing rows checked next)"),
                            vec![format!("ALTER TABLE {tt} ADD {def} NOT VALID")],
                        )
                        .locks(SHARE_ROW_EXCLUSIVE),
                    );
                    drafts.push(self.validate(t, &fk.name, "foreign key"));
                }
            }
        }
    }

    fn validate(&self, t: &Table, name: &str, what: &str) -> Draft {
        Draft::new(
            "validateConstraint",
            &t.name,
            format!("{}.{name}", t.name),
            format!(
                "validate {what} {name} on {} (fails if existing rows break it)",
                t.name
            ),
            vec![format!(
                "ALTER TABLE {} VALIDATE CONSTRAINT {}",
                self.p.t(&t.name),
                self.p.q(name)
            )],
        )
        .may_fail(true)
        .locks(VALIDATE)
    }
}

/// The name of the temporary table whose check fails when a foreign key is broken.
const FK_CHECK_TABLE: &str = "_depot_foreign_key_check";

/// SQLite: after tables were rebuilt (with `foreign_keys` off, as the store runs), one
/// step that fails when `PRAGMA foreign_key_check` reports a row, so the plan rolls back
/// rather than commit rows a key does not allow. Written as SQL so that it runs inside
/// the plan's transaction whatever runs the plan.
pub(crate) fn foreign_key_check(p: &Planner<'_>, to: &Package, drafts: &mut Vec<Draft>) {
    if plans_constraints(p) || !to.tables.iter().any(|t| t.foreign_keys.is_some()) {
        return;
    }
    let tmp = format!("temp.{}", p.q(FK_CHECK_TABLE));
    drafts.push(
        Draft::new(
            "checkForeignKeys",
            "",
            "foreignKeys".to_string(),
            "check every foreign key over the rebuilt tables (fails if rows break one)"
                .to_string(),
            vec![
                format!(
                    "CREATE TEMP TABLE {} (\"orphan_rows\" INTEGER CONSTRAINT \"rows_break_a_foreign_key\" CHECK (\"orphan_rows\" = 0))",
                    p.q(FK_CHECK_TABLE)
                ),
                format!("INSERT INTO {tmp} SELECT count(*) FROM pragma_foreign_key_check"),
                format!("DROP TABLE {tmp}"),
            ],
        )
        .may_fail(true),
    );
}
