//! The planner: `plan(from, to, dataset) -> Plan`, pure and deterministic. Applying
//! `plan(A, B)` to a database at A leaves exactly the schema a fresh `plan(None, B)`
//! creates (docs/design.md, "Plan").
//!
//! Renames come only from `renamedFrom` hints: a hint applies when the old package has
//! the old name and not the new one; when it has only the new name (the rename was
//! deployed earlier) or neither, the hint is ignored; when it has both, the hint is
//! ambiguous and planning fails.

use crate::dialect::{for_engine, ColumnSpec, Dialect, IndexSpec};
use crate::error::{Code, Invalid, JsonPath, Problem};
use crate::hash::{sha256_hex, version_hash, VersionHash};
use crate::model::{Column, ColumnType, DatasetConfig, Index, IndexMethod, Package, Table};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The plan format version written in every plan.
pub const FORMAT_VERSION: u32 = 1;

/// A migration plan: ordered steps from one version to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The dataset this plan is for.
    pub dataset_id: String,
    /// The engine id (`postgres`, `aurora-postgresql`, `snowflake`, `sqlite`).
    pub engine: String,
    /// The version the plan starts from (`None`: an empty database).
    pub from_version: Option<VersionHash>,
    /// The version the plan leads to.
    pub to_version: VersionHash,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Whether any step is destructive.
    pub destructive: bool,
    /// What the engine will not do that the package asks for (e.g. Snowflake does not
    /// enforce primary keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// SHA-256 of the RFC 8785 canonical JSON of this plan without `planHash`.
    pub plan_hash: String,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// Position in the plan.
    pub index: usize,
    /// Stable key (`addColumn:dog.owner`), as `allowDestructive` lists it.
    pub key: String,
    /// Step kind (`addColumn`).
    pub kind: String,
    /// The table the step changes.
    pub table: String,
    /// One line for people.
    pub summary: String,
    /// The statements, in order.
    pub sql: Vec<String>,
    /// Whether the step can lose data.
    pub destructive: bool,
    /// Keys of the destructive changes this step carries out (its own key, or for a
    /// table rebuild the keys of the changes it folds in). Each must be allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destructive_changes: Vec<String>,
    /// Whether the step may fail on existing data (e.g. SET NOT NULL over NULLs).
    pub may_fail: bool,
    /// Whether the step can run inside a transaction.
    pub transactional: bool,
    /// The lock the step holds or the rewrite it causes, when it matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locks: Option<String>,
}

impl Plan {
    /// Destructive change keys that `allowDestructive` does not allow.
    pub fn disallowed(&self, dataset: &DatasetConfig) -> Vec<String> {
        let policy = dataset.destructive_policy();
        let mut out: Vec<String> = self
            .steps
            .iter()
            .flat_map(|s| s.destructive_changes.iter())
            .filter(|k| !policy.allows(k))
            .cloned()
            .collect();
        out.dedup();
        out
    }

    /// The SQL of every step, each statement ending in `;`.
    pub fn sql_script(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            out.push_str(&format!("-- {} ({})\n", s.summary, s.key));
            for q in &s.sql {
                out.push_str(q);
                out.push_str(";\n");
            }
        }
        out
    }
}

/// A change the planner found, before it becomes a step.
pub(crate) struct Draft {
    kind: &'static str,
    target: String,
    table: String,
    summary: String,
    sql: Vec<String>,
    destructive: bool,
    destructive_changes: Vec<String>,
    may_fail: bool,
    locks: Option<&'static str>,
    /// Runs outside the migration transaction (`CREATE INDEX CONCURRENTLY`), after it.
    outside_transaction: bool,
}

impl Draft {
    pub(crate) fn new(
        kind: &'static str,
        table: &str,
        target: String,
        summary: String,
        sql: Vec<String>,
    ) -> Draft {
        Draft {
            kind,
            target,
            table: table.to_string(),
            summary,
            sql,
            destructive: false,
            destructive_changes: Vec::new(),
            may_fail: false,
            locks: None,
            outside_transaction: false,
        }
    }
    fn key(&self) -> String {
        format!("{}:{}", self.kind, self.target)
    }
    pub(crate) fn destructive(mut self) -> Draft {
        self.destructive = true;
        self.destructive_changes = vec![self.key()];
        self
    }
    pub(crate) fn may_fail(mut self, yes: bool) -> Draft {
        self.may_fail = yes;
        self
    }
    pub(crate) fn locks(mut self, l: &'static str) -> Draft {
        self.locks = Some(l);
        self
    }
}

pub(crate) const ACCESS_EXCLUSIVE: &str = "ACCESS EXCLUSIVE lock (brief)";
pub(crate) const REWRITE: &str = "rewrites the table under an ACCESS EXCLUSIVE lock";
pub(crate) const SCAN: &str = "scans the table under an ACCESS EXCLUSIVE lock";
const SHARE: &str = "SHARE lock: blocks writes while the index builds";
const SHARE_UPDATE_EXCLUSIVE_BUILD: &str = "SHARE UPDATE EXCLUSIVE lock: reads and writes continue while the index builds (CONCURRENTLY, outside the migration transaction)";
const SHARE_UPDATE_EXCLUSIVE_DROP: &str = "SHARE UPDATE EXCLUSIVE lock: reads and writes continue while the index is dropped (CONCURRENTLY, outside the migration transaction)";
const INDEX_RENAME: &str = "SHARE UPDATE EXCLUSIVE lock on the index (brief)";
pub(crate) const SHARE_ROW_EXCLUSIVE: &str =
    "SHARE ROW EXCLUSIVE lock on both tables (brief): existing rows are checked by the next step";
pub(crate) const NOT_VALID_CHECK: &str =
    "ACCESS EXCLUSIVE lock (brief): existing rows are checked by the next step";
pub(crate) const VALIDATE: &str =
    "SHARE UPDATE EXCLUSIVE lock: reads and writes continue while existing rows are checked";
pub(crate) const UNIQUE_BUILD: &str = "ACCESS EXCLUSIVE lock while the unique index builds";

/// An index's keys and options for people: `lower(email) desc, id; where …`.
fn describe_index(ix: &Index) -> String {
    let mut s: Vec<String> = ix
        .columns
        .iter()
        .map(crate::indexes::describe_key)
        .collect();
    let mut out = s.join(", ");
    s.clear();
    if let Some(m) = ix.method.filter(|m| *m != IndexMethod::Btree) {
        out = format!("{out}; using {}", m.as_str());
    }
    if let Some(inc) = &ix.include {
        out = format!("{out}; include {}", inc.join(", "));
    }
    if let Some(w) = &ix.predicate {
        out = format!("{out}; where {w}");
    }
    out
}

/// Computes the plan from `from` (`None`: an empty database) to `to` for a dataset.
/// Both packages must be valid; a `renamedFrom` hint that is ambiguous against `from`
/// is an error.
///
/// ```
/// use depot_migrate_core::{load, plan::plan};
/// let ds = load::parse_dataset(br#"{"environmentId":"e","datasetId":"d","engine":"postgres","schema":"dogs"}"#).unwrap();
/// let v1 = load::parse_package(br#"{"namespace":"dogs","tables":[{"name":"dog","columns":[{"name":"id","type":"bigint"}],"primaryKey":["id"]}]}"#, None).unwrap();
/// let v2 = load::parse_package(br#"{"namespace":"dogs","tables":[{"name":"dog","columns":[{"name":"id","type":"bigint"},{"name":"owner","type":"string"}],"primaryKey":["id"]}]}"#, None).unwrap();
/// let p = plan(Some(&v1), &v2, &ds).unwrap();
/// assert_eq!(p.steps[0].key, "addColumn:dog.owner");
/// assert_eq!(p.steps[0].sql, vec![r#"ALTER TABLE "dogs"."dog" ADD COLUMN "owner" text"#]);
/// ```
pub fn plan(
    from: Option<&Package>,
    to: &Package,
    dataset: &DatasetConfig,
) -> Result<Plan, Invalid> {
    let nul = crate::validate::text_without_nul(to);
    if !nul.is_empty() {
        return Err(Invalid { problems: nul });
    }
    let d = for_engine(dataset.engine);
    let mut unsupported = crate::constraints::planner_unsupported(to, dataset.engine);
    if let Some(from) = from {
        unsupported.extend(crate::constraints::planner_unsupported(
            from,
            dataset.engine,
        ));
    }
    if !unsupported.is_empty() {
        return Err(Invalid {
            problems: unsupported,
        });
    }
    let enums =
        crate::plan_enums::Enums::new(d, from, to).map_err(|problems| Invalid { problems })?;
    // Enum renames carried into the old columns: a column whose enum is only renamed
    // is unchanged.
    let carried = from.and_then(|f| enums.carry_renames(f));
    let planner = Planner {
        d,
        schema: &dataset.schema,
        enums: &enums,
        dataset,
    };
    let mut drafts = planner.diff(carried.as_ref().or(from), to)?;
    // Steps that cannot run in a transaction (online index builds and drops) run after
    // the transactional part has committed, in their planned order (drops first).
    drafts.sort_by_key(|dr| dr.outside_transaction);
    let transactional = d.supports_transactional_ddl();
    let steps: Vec<Step> = drafts
        .into_iter()
        .enumerate()
        .map(|(index, dr)| Step {
            index,
            key: dr.key(),
            kind: dr.kind.to_string(),
            table: dr.table,
            summary: dr.summary,
            sql: dr.sql,
            destructive: dr.destructive,
            destructive_changes: dr.destructive_changes,
            may_fail: dr.may_fail,
            transactional: transactional && !dr.outside_transaction,
            locks: if d.supports_transactional_ddl() && d.supports_schemas() {
                dr.locks.map(str::to_string)
            } else {
                None
            },
        })
        .collect();
    let mut notes = Vec::new();
    if !d.enforces_constraints()
        && to.tables.iter().any(|t| {
            t.primary_key.is_some() || t.indexes.iter().flatten().any(|i| i.unique == Some(true))
        })
    {
        notes.push(format!(
            "{}: primary-key and unique constraints are declared but not enforced",
            d.engine().as_str()
        ));
    }
    if !d.enforces_constraints()
        && to
            .tables
            .iter()
            .any(|t| t.foreign_keys.is_some() || t.unique_constraints.is_some())
    {
        notes.push(format!(
            "{}: foreign keys and named unique constraints are declared but not enforced",
            d.engine().as_str()
        ));
    }
    if !d.supports_enum_types()
        && !d.enforces_constraints()
        && to
            .tables
            .iter()
            .any(|t| t.columns.iter().any(|c| c.column_type == ColumnType::Enum))
    {
        notes.push(format!(
            "{}: enum columns are VARCHAR; their values are not enforced",
            d.engine().as_str()
        ));
    }
    if !d.supports_secondary_indexes() {
        for t in &to.tables {
            for ix in t
                .indexes
                .iter()
                .flatten()
                .filter(|i| i.unique != Some(true))
            {
                notes.push(format!(
                    "{}: index {} on {} is not created (no secondary indexes)",
                    d.engine().as_str(),
                    ix.name,
                    t.name
                ));
            }
        }
    }
    if !d.supports_comments()
        && to
            .tables
            .iter()
            .any(|t| t.comment.is_some() || t.columns.iter().any(|c| c.comment.is_some()))
    {
        notes.push(format!("{}: comments are not stored", d.engine().as_str()));
    }
    if !d.enforces_max_length()
        && to
            .tables
            .iter()
            .any(|t| t.columns.iter().any(|c| c.max_length.is_some()))
    {
        notes.push(format!(
            "{}: maxLength is declared but not enforced",
            d.engine().as_str()
        ));
    }
    let destructive = steps.iter().any(|s| s.destructive);
    let mut plan = Plan {
        format_version: FORMAT_VERSION,
        dataset_id: dataset.dataset_id.clone(),
        engine: d.engine().as_str().to_string(),
        from_version: from.map(|f| version_hash(f, dataset)),
        to_version: version_hash(to, dataset),
        steps,
        destructive,
        notes,
        plan_hash: String::new(),
    };
    plan.plan_hash = plan_hash(&plan);
    Ok(plan)
}

/// The `planHash` of a plan: SHA-256 of its canonical JSON without `planHash`.
pub fn plan_hash(plan: &Plan) -> String {
    let mut v = serde_json::to_value(plan).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.remove("planHash");
    }
    sha256_hex(&crate::jcs::canonicalize(&v))
}

pub(crate) struct Planner<'a> {
    pub(crate) d: &'static dyn Dialect,
    pub(crate) schema: &'a str,
    pub(crate) enums: &'a crate::plan_enums::Enums<'a>,
    pub(crate) dataset: &'a DatasetConfig,
}

fn same(d: &dyn Dialect, a: &str, b: &str) -> bool {
    d.names_equal(a, b)
}

/// Old items by their folded name.
pub(crate) fn name_index<T>(
    d: &dyn Dialect,
    old: &[T],
    name_of: impl Fn(&T) -> &str,
) -> HashMap<String, usize> {
    let mut m = HashMap::with_capacity(old.len());
    for (i, o) in old.iter().enumerate() {
        m.entry(d.name_key(name_of(o))).or_insert(i);
    }
    m
}

/// Resolves the old counterpart of a new item by name, then by rename hint.
pub(crate) fn counterpart(
    d: &dyn Dialect,
    new_name: &str,
    hints: Vec<&str>,
    old: &HashMap<String, usize>,
    path: &JsonPath,
) -> Result<Option<(usize, bool)>, Problem> {
    let find = |n: &str| old.get(&d.name_key(n)).copied();
    let current = find(new_name);
    for hint in hints {
        if let Some(i) = find(hint) {
            if current.is_some() {
                return Err(Problem::new(
                    Code::InvalidRenameHint,
                    path,
                    format!(
                        "ambiguous rename: the deployed package has both {hint:?} and {new_name:?}; drop the old one in a separate release or remove the hint"
                    ),
                ));
            }
            return Ok(Some((i, true)));
        }
    }
    Ok(current.map(|i| (i, false)))
}

/// A table's primary-key column list with a hash set of its names (under the dialect's
/// [`Dialect::name_key`]), so "is this column in the key" is constant time and planning
/// stays linear in the number of key columns. Derefs to the list.
struct Key<'a> {
    names: &'a [String],
    keys: std::collections::HashSet<String>,
}

impl<'a> Key<'a> {
    fn new(d: &dyn Dialect, names: Option<&'a Vec<String>>) -> Key<'a> {
        let names: &[String] = names.map_or(&[], |v| v.as_slice());
        Key {
            names,
            keys: names.iter().map(|k| d.name_key(k)).collect(),
        }
    }
    fn has(&self, d: &dyn Dialect, name: &str) -> bool {
        !self.names.is_empty() && self.keys.contains(&d.name_key(name))
    }
}

impl std::ops::Deref for Key<'_> {
    type Target = [String];
    fn deref(&self) -> &[String] {
        self.names
    }
}

/// A column's effective nullability (primary-key columns are never nullable).
fn nullable(d: &dyn Dialect, c: &Column, pk: &Key<'_>) -> bool {
    c.is_nullable(pk.has(d, &c.name))
}

/// How a type change behaves: safe widening, or lossy (destructive and may fail).
fn type_change_is_widening(old: &Column, new: &Column) -> bool {
    use ColumnType::*;
    match (old.column_type, new.column_type) {
        (a, b) if a == b => match a {
            String => match (old.max_length, new.max_length) {
                (_, None) => true,
                (Some(a), Some(b)) => b >= a,
                (None, Some(_)) => false,
            },
            Char => match (old.max_length, new.max_length) {
                (Some(a), Some(b)) => b >= a,
                _ => false,
            },
            Decimal => {
                let (p0, s0) = (old.precision.unwrap_or(38), old.scale.unwrap_or(0));
                let (p1, s1) = (new.precision.unwrap_or(38), new.scale.unwrap_or(0));
                s1 >= s0 && p1 - s1.min(p1) >= p0 - s0.min(p0)
            }
            // Element by element.
            Array => {
                let elem = |c: &Column| Column {
                    column_type: c.items.unwrap_or(String),
                    items: None,
                    ..c.clone()
                };
                type_change_is_widening(&elem(old), &elem(new))
            }
            // Another enum may lack values of this one.
            Enum => old.enum_name == new.enum_name,
            // jsonb to json text keeps every value; json text to jsonb drops duplicate
            // keys and formatting and refuses \u0000.
            Json => old.json_storage.is_none() || new.json_storage.is_some(),
            _ => true,
        },
        (Int, Bigint)
        | (Int, Double)
        | (Date, Timestamp)
        | (Date, Timestamptz)
        | (Timestamp, Timestamptz) => true,
        (Smallint, Int | Bigint | Double | Real | Numeric)
        | (Int | Bigint | Decimal, Numeric)
        | (Real, Double) => true,
        (Smallint, Decimal) => new.precision.unwrap_or(38) - new.scale.unwrap_or(0) >= 5,
        (Int, Decimal) => new.precision.unwrap_or(38) - new.scale.unwrap_or(0) >= 10,
        (Bigint, Decimal) => new.precision.unwrap_or(38) - new.scale.unwrap_or(0) >= 19,
        (_, String) => new.max_length.is_none(),
        _ => false,
    }
}

/// Whether PostgreSQL rewrites the table (a new relfilenode) for `ALTER COLUMN … TYPE`
/// from `old` to `new`. It does not only where the new type is binary-coercible and
/// merely relaxes the old one's modifier: `varchar(n)` to a longer `varchar(m)` or to
/// `text`, and `numeric(p,s)` to `numeric(q,s)` with `q ≥ p` (the same scale: another
/// scale changes every stored value). Every other change rewrites, on every supported
/// server version (`timestamp` to `timestamptz` skips the rewrite only when the session
/// time zone is UTC, which the plan cannot know). `native/tests/regressions.rs` checks
/// each case against the relfilenode on a real server.
fn postgres_type_change_rewrites(old: &Column, new: &Column) -> bool {
    use ColumnType::*;
    if old.column_type != new.column_type {
        return true;
    }
    match old.column_type {
        // char(n) values are stored padded, so a new length rewrites them.
        Char => true,
        // Another element type, another enum, json text against jsonb: new values.
        Array | Enum | Json => true,
        String => match (old.max_length, new.max_length) {
            (_, None) => false,
            (Some(a), Some(b)) => b < a,
            (None, Some(_)) => true,
        },
        Decimal => {
            let (p0, s0) = (old.precision.unwrap_or(38), old.scale.unwrap_or(0));
            let (p1, s1) = (new.precision.unwrap_or(38), new.scale.unwrap_or(0));
            s1 != s0 || p1 < p0
        }
        _ => false,
    }
}

/// Whether SQL has a direct cast between the two types; otherwise the value goes
/// through its text form (which fails, visibly, for values that do not fit).
fn has_direct_cast(from: ColumnType, to: ColumnType) -> bool {
    use ColumnType::*;
    let numeric = |t| {
        matches!(
            t,
            Int | Bigint | Decimal | Double | Smallint | Real | Numeric
        )
    };
    let temporal = |t| matches!(t, Date | Timestamp | Timestamptz);
    // Two enums: through text.
    if (from, to) == (Enum, Enum) {
        return false;
    }
    from == to
        || matches!(from, String | Char)
        || matches!(to, String | Char)
        || (numeric(from) && numeric(to))
        || (temporal(from) && temporal(to))
        || matches!((from, to), (Boolean, Int) | (Int, Boolean))
        || matches!((from, to), (Json, Json))
}

/// Whether Postgres converts `from` to `to` by assignment (what `ALTER TYPE` without
/// `USING` applies), failing on values that do not fit rather than truncating them.
fn has_assignment_cast(from: ColumnType, to: ColumnType) -> bool {
    use ColumnType::*;
    let numeric = |t| {
        matches!(
            t,
            Int | Bigint | Decimal | Double | Smallint | Real | Numeric
        )
    };
    let temporal = |t| matches!(t, Date | Timestamp | Timestamptz);
    let text = |t| matches!(t, String | Char);
    // Two enums (or arrays of other elements) have no cast between them: through text.
    if matches!((from, to), (Enum, Enum) | (Array, Array)) {
        return false;
    }
    from == to
        || (text(from) && text(to))
        || to == String
        || (numeric(from) && numeric(to))
        || (temporal(from) && temporal(to))
}

impl Planner<'_> {
    pub(crate) fn t(&self, name: &str) -> String {
        self.d.table(self.schema, name)
    }
    pub(crate) fn q(&self, name: &str) -> String {
        self.d.quote(name)
    }
    /// A column of the new package as the dialect writes it.
    fn spec<'c>(&'c self, c: &'c Column, pk: &Key<'_>) -> ColumnSpec<'c> {
        ColumnSpec {
            column: c,
            nullable: nullable(self.d, c, pk),
            schema: self.schema,
            enum_values: c
                .enum_name
                .as_deref()
                .and_then(|n| self.enums.new_values(n)),
        }
    }

    fn diff(&self, from: Option<&Package>, to: &Package) -> Result<Vec<Draft>, Invalid> {
        let d = self.d;
        let empty: Vec<Table> = Vec::new();
        let old_tables: &[Table] = from.map_or(&empty, |p| &p.tables);
        let mut problems = Vec::new();
        // Pair new tables with old ones.
        let mut pairs: Vec<(Option<usize>, bool)> = Vec::new();
        let old_index = name_index(d, old_tables, |o: &Table| &o.name);
        for (i, t) in to.tables.iter().enumerate() {
            let path = JsonPath::root().key("tables").index(i).key("renamedFrom");
            let hints = t
                .renamed_from
                .as_ref()
                .map(|h| h.names())
                .unwrap_or_default();
            match counterpart(d, &t.name, hints, &old_index, &path) {
                Ok(Some((o, renamed))) => pairs.push((Some(o), renamed)),
                Ok(None) => pairs.push((None, false)),
                Err(p) => {
                    problems.push(p);
                    pairs.push((None, false));
                }
            }
        }
        // Column pairing within paired tables.
        let mut col_pairs: Vec<Vec<(Option<usize>, bool)>> = Vec::new();
        for (i, t) in to.tables.iter().enumerate() {
            let mut v = Vec::new();
            if let (Some(o), _) = pairs[i] {
                let old = &old_tables[o];
                let old_cols = name_index(d, &old.columns, |c: &Column| &c.name);
                for (j, c) in t.columns.iter().enumerate() {
                    let path = JsonPath::root()
                        .key("tables")
                        .index(i)
                        .key("columns")
                        .index(j)
                        .key("renamedFrom");
                    let hints = c
                        .renamed_from
                        .as_ref()
                        .map(|h| h.names())
                        .unwrap_or_default();
                    match counterpart(d, &c.name, hints, &old_cols, &path) {
                        Ok(x) => v.push(x.map_or((None, false), |(a, b)| (Some(a), b))),
                        Err(p) => {
                            problems.push(p);
                            v.push((None, false));
                        }
                    }
                }
            }
            col_pairs.push(v);
        }
        problems.extend(crate::plan_identity::refusals(
            self, old_tables, to, &pairs, &col_pairs,
        ));
        // Index pairing within paired tables: by name, then by rename hint.
        let mut index_pairs: Vec<Vec<Option<(usize, bool)>>> = Vec::new();
        for (i, t) in to.tables.iter().enumerate() {
            let mut v = Vec::new();
            if let (Some(o), _) = pairs[i] {
                let old_ix = name_index(
                    d,
                    old_tables[o].indexes.as_deref().unwrap_or_default(),
                    |x: &Index| &x.name,
                );
                for (k, ix) in t.indexes.iter().flatten().enumerate() {
                    let path = JsonPath::root()
                        .key("tables")
                        .index(i)
                        .key("indexes")
                        .index(k)
                        .key("renamedFrom");
                    let hints = ix
                        .renamed_from
                        .as_ref()
                        .map(|h| h.names())
                        .unwrap_or_default();
                    match counterpart(d, &ix.name, hints, &old_ix, &path) {
                        Ok(x) => v.push(x),
                        Err(p) => {
                            problems.push(p);
                            v.push(None);
                        }
                    }
                }
            }
            index_pairs.push(v);
        }
        if !problems.is_empty() {
            return Err(Invalid { problems });
        }

        let mut drafts = Vec::new();
        if from.is_none() && d.supports_schemas() {
            drafts.push(Draft::new(
                "createSchema",
                "",
                self.schema.to_string(),
                format!("create schema {}", self.schema),
                vec![format!(
                    "CREATE SCHEMA IF NOT EXISTS {}",
                    self.q(self.schema)
                )],
            ));
        }
        let kept: HashSet<usize> = pairs.iter().filter_map(|p| p.0).collect();
        // Views that read what changes are dropped first and created again at the end.
        let views = {
            let rebuilt = |i: usize| {
                pairs[i].0.is_some_and(|o| {
                    self.needs_rebuild(&old_tables[o], &to.tables[i], &col_pairs[i])
                })
            };
            let changed =
                |i: usize| !matches!(pairs[i], (Some(o), false) if old_tables[o] == to.tables[i]);
            crate::plan_views::plan(self, from, to, &pairs, &col_pairs, &rebuilt, &changed)?
        };
        drafts.extend(views.before);
        // Tables identical to their counterpart (the common case) need no work.
        let unchanged: Vec<bool> = to
            .tables
            .iter()
            .zip(&pairs)
            .map(|(t, p)| {
                matches!(p, (Some(o), false) if old_tables[*o] == *t
                    && (d.supports_enum_types()
                        || !t.columns.iter().any(|c| self.enum_check_differs(c, c))))
            })
            .collect();

        // 0. Drop foreign keys, checks and unique constraints that go away or change,
        //    before the keys, columns and tables they depend on.
        let keys = crate::plan_constraints::Keys::new(self, old_tables, to, &pairs, &col_pairs)?;
        keys.drops(&mut drafts);
        // 1. Drop indexes that go away or change, and primary keys that change, before
        //    the columns they use are dropped or altered.
        for (i, t) in to.tables.iter().enumerate() {
            let Some(o) = pairs[i].0.filter(|_| !unchanged[i]) else {
                continue;
            };
            let old = &old_tables[o];
            let rebuild = self.needs_rebuild(old, t, &col_pairs[i]);
            let ix_pairs = &index_pairs[i];
            for (k, ix) in old.indexes.iter().flatten().enumerate() {
                // The new index that takes this one's place, by name or rename hint.
                let new_ix = ix_pairs
                    .iter()
                    .position(|p| p.is_some_and(|(o, _)| o == k))
                    .map(|n| &t.indexes.as_deref().unwrap_or_default()[n]);
                let changed = match new_ix {
                    None => true,
                    Some(n) => !self.index_equal(old, ix, t, n, &col_pairs[i]),
                };
                // A rebuilt SQLite table loses its indexes anyway.
                if changed || rebuild {
                    let online = !rebuild && self.online(new_ix.unwrap_or(ix));
                    let sql =
                        d.drop_index(self.schema, &old.name, &ix.name, ix.is_unique(), online);
                    if !sql.is_empty() {
                        let mut dr = Draft::new(
                            "dropIndex",
                            &old.name,
                            format!("{}.{}", old.name, ix.name),
                            format!(
                                "drop index {} on {}{}",
                                ix.name,
                                old.name,
                                if online { " (concurrently)" } else { "" }
                            ),
                            sql,
                        )
                        .locks(if online {
                            SHARE_UPDATE_EXCLUSIVE_DROP
                        } else {
                            ACCESS_EXCLUSIVE
                        });
                        dr.outside_transaction = online;
                        drafts.push(dr);
                    }
                }
            }
            if !rebuild
                && d.supports_alter_column()
                && !self.pk_equal(old, t, &col_pairs[i])
                && old.primary_key.is_some()
            {
                let sql = if d.names_primary_key_after_table() {
                    vec![format!(
                        "ALTER TABLE {} DROP CONSTRAINT {}",
                        self.t(&old.name),
                        self.q(&d.primary_key_name(&old.name))
                    )]
                } else {
                    vec![format!(
                        "ALTER TABLE {} DROP PRIMARY KEY",
                        self.t(&old.name)
                    )]
                };
                drafts.push(
                    Draft::new(
                        "dropPrimaryKey",
                        &old.name,
                        old.name.clone(),
                        format!("drop primary key of {}", old.name),
                        sql,
                    )
                    .locks(ACCESS_EXCLUSIVE),
                );
            }
        }
        // 2. Drop tables that go away.
        for (o, old) in old_tables.iter().enumerate() {
            if !kept.contains(&o) {
                drafts.push(
                    Draft::new(
                        "dropTable",
                        &old.name,
                        old.name.clone(),
                        format!("drop table {}", old.name),
                        vec![format!("DROP TABLE {}", self.t(&old.name))],
                    )
                    .destructive()
                    .locks(ACCESS_EXCLUSIVE),
                );
            }
        }
        // Enum types: renamed, created, values added or the type rebuilt, before any
        // column or table uses them.
        self.enums
            .early(self, old_tables, to, &pairs, &col_pairs, &mut drafts);
        // 3. Per kept table: rename, column changes.
        for (i, t) in to.tables.iter().enumerate() {
            let Some(o) = pairs[i].0.filter(|_| !unchanged[i]) else {
                continue;
            };
            let old = &old_tables[o];
            if pairs[i].1 {
                let mut sql = vec![format!(
                    "ALTER TABLE {} RENAME TO {}",
                    self.t(&old.name),
                    self.q(&t.name)
                )];
                if old.primary_key.is_some()
                    && d.names_primary_key_after_table()
                    && self.pk_equal(old, t, &col_pairs[i])
                {
                    sql.push(format!(
                        "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                        self.t(&t.name),
                        self.q(&d.primary_key_name(&old.name)),
                        self.q(&d.primary_key_name(&t.name))
                    ));
                }
                drafts.push(
                    Draft::new(
                        "renameTable",
                        &t.name,
                        t.name.clone(),
                        format!("rename table {} to {}", old.name, t.name),
                        sql,
                    )
                    .locks(ACCESS_EXCLUSIVE),
                );
            }
            if self.needs_rebuild(old, t, &col_pairs[i]) {
                drafts.push(self.rebuild(old, t, &col_pairs[i]));
            } else {
                self.column_changes(old, t, &col_pairs[i], &mut drafts);
            }
        }
        // 4. New tables.
        for (i, t) in to.tables.iter().enumerate() {
            if pairs[i].0.is_none() {
                drafts.push(self.create_table(t));
            }
        }
        // 5. Primary keys, indexes, comments.
        for (i, t) in to.tables.iter().enumerate() {
            if unchanged[i] {
                continue;
            }
            let old = pairs[i].0.map(|o| &old_tables[o]);
            let rebuild = old.is_some_and(|old| self.needs_rebuild(old, t, &col_pairs[i]));
            if let Some(old) = old {
                if !rebuild && d.supports_alter_column() && !self.pk_equal(old, t, &col_pairs[i]) {
                    if let Some(pk) = &t.primary_key {
                        let sql = vec![format!(
                            "ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY {}",
                            self.t(&t.name),
                            self.q(&d.primary_key_name(&t.name)),
                            d.column_list(pk)
                        )];
                        drafts.push(
                            Draft::new(
                                "addPrimaryKey",
                                &t.name,
                                t.name.clone(),
                                format!("add primary key ({}) to {}", pk.join(", "), t.name),
                                sql,
                            )
                            .may_fail(d.enforces_constraints())
                            .locks(SCAN),
                        );
                    }
                }
            }
            for (k, ix) in t.indexes.iter().flatten().enumerate() {
                let counterpart = old.and_then(|old| {
                    index_pairs[i]
                        .get(k)
                        .copied()
                        .flatten()
                        .map(|(o, renamed)| {
                            (old, &old.indexes.as_deref().unwrap_or_default()[o], renamed)
                        })
                });
                let equal = !rebuild
                    && counterpart.is_some_and(|(old, oi, _)| {
                        self.index_equal(old, oi, t, ix, &col_pairs[i])
                    });
                if equal {
                    if let Some((old, oi, true)) = counterpart {
                        if let Some(dr) = self.rename_index(old, oi, t, ix) {
                            drafts.push(dr);
                        }
                    }
                    continue;
                }
                // An index on a table created (or rebuilt) by this plan is built in the
                // transaction: nobody writes to it yet.
                let online = old.is_some() && !rebuild && self.online(ix);
                let spec = self.index_spec(t, ix, online);
                let mut sql = d.create_index(self.schema, &t.name, &spec);
                if sql.is_empty() {
                    continue;
                }
                if online {
                    // A concurrent build that failed or was killed leaves the index
                    // behind, INVALID; nothing else can hold this name here (an old index
                    // of that name was kept, or dropped by an earlier step), so the
                    // retry drops the leftover and builds again.
                    let mut first =
                        d.drop_index(self.schema, &t.name, &ix.name, ix.is_unique(), true);
                    first.append(&mut sql);
                    sql = first;
                }
                let unique = ix.is_unique();
                let mut dr = Draft::new(
                    "createIndex",
                    &t.name,
                    format!("{}.{}", t.name, ix.name),
                    format!(
                        "create {}index {} on {} ({}){}",
                        if unique { "unique " } else { "" },
                        ix.name,
                        t.name,
                        describe_index(ix),
                        if online { " concurrently" } else { "" }
                    ),
                    sql,
                )
                .may_fail(unique && old.is_some() && d.enforces_constraints())
                .locks(if online {
                    SHARE_UPDATE_EXCLUSIVE_BUILD
                } else {
                    SHARE
                });
                dr.outside_transaction = online;
                drafts.push(dr);
            }
            if d.supports_comments() {
                let old_comment = old.and_then(|o| o.comment.as_deref());
                if t.comment.as_deref() != old_comment {
                    drafts.push(Draft::new(
                        "commentTable",
                        &t.name,
                        t.name.clone(),
                        format!("set comment on {}", t.name),
                        vec![d.comment_table(self.schema, &t.name, t.comment.as_deref())],
                    ));
                }
                for (j, c) in t.columns.iter().enumerate() {
                    let old_c = old
                        .and_then(|o| col_pairs[i].get(j).and_then(|p| p.0).map(|k| &o.columns[k]));
                    let old_comment = old_c.and_then(|c| c.comment.as_deref());
                    let fresh = old_c.is_none();
                    if c.comment.as_deref() != old_comment && !(fresh && c.comment.is_none()) {
                        drafts.push(Draft::new(
                            "commentColumn",
                            &t.name,
                            format!("{}.{}", t.name, c.name),
                            format!("set comment on {}.{}", t.name, c.name),
                            vec![d.comment_column(
                                self.schema,
                                &t.name,
                                &c.name,
                                c.comment.as_deref(),
                            )],
                        ));
                    }
                }
            }
        }
        // 6. Unique constraints and checks of existing tables, then every foreign key
        //    (tables first, then keys).
        keys.adds(&mut drafts);
        // 7. Enum types no column uses any more.
        self.enums.late(self, &mut drafts);
        // 8. Views: renamed, commented, created again or new, refreshed.
        drafts.extend(views.after);
        // 9. Where tables are rebuilt under their foreign keys (SQLite), check every key
        //    before the plan commits.
        if from.is_some() && drafts.iter().any(|dr| dr.kind == "rebuildTable") {
            crate::plan_constraints::foreign_key_check(self, to, &mut drafts);
        }
        // 10. Privileges: revoked and granted last; the role check runs first.
        let table_name = |old: &str| {
            let o = old_tables.iter().position(|t| t.name == old)?;
            let i = pairs.iter().position(|p| p.0 == Some(o))?;
            Some(to.tables[i].name.clone())
        };
        let view_name = |old: &str| {
            let old_views = from.and_then(|f| f.views.as_deref()).unwrap_or_default();
            let o = old_views.iter().position(|v| v.name == old)?;
            if views.dropped.contains(&o) {
                return None;
            }
            let j = views.pairs.iter().position(|p| *p == Some(o))?;
            to.views.as_deref().map(|v| v[j].name.clone())
        };
        let new_sequences = to.tables.iter().enumerate().any(|(i, t)| {
            t.columns.iter().enumerate().any(|(j, c)| {
                c.identity.is_some()
                    && !pairs[i].0.is_some_and(|o| {
                        col_pairs[i]
                            .get(j)
                            .and_then(|p| p.0)
                            .is_some_and(|k| old_tables[o].columns[k].identity.is_some())
                    })
            })
        });
        let grants = crate::grants::plan(self, from, to, &table_name, &view_name, new_sequences);
        drafts.extend(grants.changes);
        if let Some(check) = grants.check {
            drafts.insert(0, check);
        }
        Ok(drafts)
    }

    fn create_table(&self, t: &Table) -> Draft {
        let d = self.d;
        let pk = &Key::new(self.d, t.primary_key.as_ref());
        let mut defs: Vec<String> = t
            .columns
            .iter()
            .map(|c| d.column_definition(self.spec(c, pk)))
            .collect();
        if !pk.is_empty() {
            defs.push(format!(
                "CONSTRAINT {} PRIMARY KEY {}",
                self.q(&d.primary_key_name(&t.name)),
                d.column_list(pk)
            ));
        }
        defs.extend(crate::plan_constraints::inline_constraints(self, t));
        Draft::new(
            "createTable",
            &t.name,
            t.name.clone(),
            format!("create table {} ({} columns)", t.name, t.columns.len()),
            std::iter::once(format!(
                "CREATE TABLE {} ({})",
                self.t(&t.name),
                defs.join(", ")
            ))
            .chain(crate::plan_constraints::after_create(self, t))
            .collect(),
        )
    }

    fn old_col<'o>(
        &self,
        old: &'o Table,
        pairs: &[(Option<usize>, bool)],
        j: usize,
    ) -> Option<&'o Column> {
        pairs.get(j).and_then(|p| p.0).map(|k| &old.columns[k])
    }

    /// The old name of a new-package column, through renames.
    fn old_name_of(
        &self,
        old: &Table,
        new: &Table,
        pairs: &[(Option<usize>, bool)],
        name: &str,
    ) -> Option<String> {
        let j = new
            .columns
            .iter()
            .position(|c| same(self.d, &c.name, name))?;
        self.old_col(old, pairs, j).map(|c| c.name.clone())
    }

    pub(crate) fn pk_equal(
        &self,
        old: &Table,
        new: &Table,
        pairs: &[(Option<usize>, bool)],
    ) -> bool {
        match (&old.primary_key, &new.primary_key) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.len() == b.len()
                    && b.iter().zip(a).all(|(n, o)| {
                        self.old_name_of(old, new, pairs, n)
                            .is_some_and(|on| same(self.d, &on, o))
                    })
            }
            _ => false,
        }
    }

    fn index_equal(
        &self,
        old: &Table,
        oi: &Index,
        new: &Table,
        ni: &Index,
        pairs: &[(Option<usize>, bool)],
    ) -> bool {
        use crate::model::{NullsOrder, SortOrder};
        let d = self.d;
        // A renamed column keeps its index; a column dropped and re-added does not.
        let same_column = |n: &str, o: &str| {
            self.old_name_of(old, new, pairs, n)
                .is_some_and(|on| same(d, &on, o))
        };
        let engine = d.engine();
        let folding = engine.identifier_folding();
        let quote = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
        // Expressions and conditions compare as re-printed from their parse trees (so
        // spacing and case of keywords do not count); one over a renamed column is
        // re-created.
        let expr = |e: &str, t: &Table| {
            crate::constraints::expression_sql(e, t, Some(engine), folding, &quote).ok()
        };
        let cond = |e: &str, t: &Table| {
            crate::constraints::check_sql(e, t, Some(engine), folding, &quote).ok()
        };
        let order = |k: &crate::model::IndexKey| k.order().unwrap_or(SortOrder::Asc);
        let nulls = |k: &crate::model::IndexKey| {
            k.nulls().unwrap_or(if order(k) == SortOrder::Desc {
                NullsOrder::First
            } else {
                NullsOrder::Last
            })
        };
        let method = |ix: &Index| ix.method.unwrap_or(IndexMethod::Btree);
        let include: &[String] = ni.include.as_deref().unwrap_or_default();
        let old_include: &[String] = oi.include.as_deref().unwrap_or_default();
        oi.is_unique() == ni.is_unique()
            && method(oi) == method(ni)
            && oi.columns.len() == ni.columns.len()
            && ni.columns.iter().zip(&oi.columns).all(|(n, o)| {
                order(n) == order(o)
                    && nulls(n) == nulls(o)
                    && match (n.column(), o.column(), n.expression(), o.expression()) {
                        (Some(n), Some(o), _, _) => same_column(n, o),
                        (None, None, Some(n), Some(o)) => {
                            expr(n, new).is_some() && expr(n, new) == expr(o, old)
                        }
                        _ => false,
                    }
            })
            && include.len() == old_include.len()
            && include
                .iter()
                .zip(old_include)
                .all(|(n, o)| same_column(n, o))
            && match (&ni.predicate, &oi.predicate) {
                (None, None) => true,
                (Some(n), Some(o)) => cond(n, new).is_some() && cond(n, new) == cond(o, old),
                _ => false,
            }
    }

    /// Whether an index is built and dropped online on this dataset.
    fn online(&self, ix: &Index) -> bool {
        self.d.supports_concurrent_index_builds() && self.dataset.online_index(ix)
    }

    /// The dialect's view of an index: keys and condition as SQL from their parse trees.
    fn index_spec<'i>(&self, t: &Table, ix: &'i Index, online: bool) -> IndexSpec<'i> {
        let d = self.d;
        let quote = |n: &str| d.quote(n);
        IndexSpec {
            name: &ix.name,
            columns: ix.key_columns().map(str::to_string).collect(),
            keys: crate::indexes::key_sql(ix, t, d.engine(), &quote),
            unique: ix.is_unique(),
            predicate: crate::indexes::predicate_sql(ix, t, d.engine(), &quote),
            include: ix.include.clone().unwrap_or_default(),
            method: ix.method,
            concurrently: online,
        }
    }

    /// Renames an index whose definition is unchanged: in place where the engine can,
    /// else drop and create (the summary says so).
    fn rename_index(&self, old: &Table, oi: &Index, t: &Table, ix: &Index) -> Option<Draft> {
        let d = self.d;
        let target = format!("{}.{}", t.name, ix.name);
        if let Some(sql) = d.rename_index(self.schema, &t.name, &oi.name, &ix.name) {
            return Some(
                Draft::new(
                    "renameIndex",
                    &t.name,
                    target,
                    format!("rename index {} to {} on {}", oi.name, ix.name, t.name),
                    vec![sql],
                )
                .locks(INDEX_RENAME),
            );
        }
        let mut sql = d.drop_index(self.schema, &old.name, &oi.name, oi.is_unique(), false);
        sql.extend(d.create_index(self.schema, &t.name, &self.index_spec(t, ix, false)));
        if sql.is_empty() {
            return None;
        }
        Some(
            Draft::new(
                "renameIndex",
                &t.name,
                target,
                format!(
                    "rename index {} to {} on {} ({} cannot rename an index: drop and create)",
                    oi.name,
                    ix.name,
                    t.name,
                    d.engine().as_str()
                ),
                sql,
            )
            .may_fail(ix.is_unique() && d.enforces_constraints())
            .locks(SHARE),
        )
    }

    fn column_differs(&self, o: &Column, n: &Column, opk: &Key<'_>, npk: &Key<'_>) -> bool {
        let d = self.d;
        d.column_type(o) != d.column_type(n)
            || nullable(self.d, o, opk) != nullable(self.d, n, npk)
            || o.default != n.default
            || (!d.supports_enum_types() && self.enum_check_differs(o, n))
    }

    /// Where an enum is a CHECK of its values (SQLite): whether that check differs.
    fn enum_check_differs(&self, o: &Column, n: &Column) -> bool {
        let values = |c: &Column, new: bool| {
            let e = c
                .enum_name
                .as_deref()
                .filter(|_| c.column_type == ColumnType::Enum)?;
            if new {
                self.enums.new_values(e)
            } else {
                self.enums.old_values(e)
            }
        };
        values(o, false) != values(n, true)
    }

    /// SQLite cannot alter columns or primary keys in place: rebuild the table.
    fn needs_rebuild(&self, old: &Table, new: &Table, pairs: &[(Option<usize>, bool)]) -> bool {
        if self.d.supports_alter_column() {
            return false;
        }
        let opk = &Key::new(self.d, old.primary_key.as_ref());
        let npk = &Key::new(self.d, new.primary_key.as_ref());
        if !self.pk_equal(old, new, pairs) {
            return true;
        }
        // Constraints live in CREATE TABLE; a renamed column is renamed in them by a
        // rebuild rather than by SQLite's rewrite of the stored definition.
        let has_constraints = |t: &Table| {
            t.unique_constraints.is_some() || t.checks.is_some() || t.foreign_keys.is_some()
        };
        if crate::plan_constraints::constraints_differ(old, new)
            || (has_constraints(new) && pairs.iter().any(|p| p.1))
        {
            return true;
        }
        for (j, c) in new.columns.iter().enumerate() {
            match self.old_col(old, pairs, j) {
                Some(o) => {
                    if self.column_differs(o, c, opk, npk) {
                        return true;
                    }
                }
                // ADD COLUMN cannot add a NOT NULL column without a default.
                None => {
                    if !nullable(self.d, c, npk) && c.default.is_none() {
                        return true;
                    }
                    // Nor a column with a non-constant default (CURRENT_TIMESTAMP).
                    if matches!(c.default, Some(crate::model::Literal::Function(_))) {
                        return true;
                    }
                    if npk.has(self.d, &c.name) {
                        return true;
                    }
                }
            }
        }
        // Dropping a primary-key column needs a rebuild too (covered by pk_equal).
        false
    }

    fn rebuild(&self, old: &Table, t: &Table, pairs: &[(Option<usize>, bool)]) -> Draft {
        let d = self.d;
        let tmp = format!("_depot_new_{}", t.name);
        let opk = &Key::new(self.d, old.primary_key.as_ref());
        let npk = &Key::new(self.d, t.primary_key.as_ref());
        let mut defs: Vec<String> = t
            .columns
            .iter()
            .map(|c| d.column_definition(self.spec(c, npk)))
            .collect();
        if !npk.is_empty() {
            defs.push(format!(
                "CONSTRAINT {} PRIMARY KEY {}",
                self.q(&d.primary_key_name(&t.name)),
                d.column_list(npk)
            ));
        }
        defs.extend(crate::plan_constraints::inline_constraints(self, t));
        let mut targets = Vec::new();
        let mut sources = Vec::new();
        let mut changes = Vec::new();
        let mut may_fail = !self.pk_equal(old, t, pairs) && !npk.is_empty();
        // New or changed constraints, and enum values that go away, are checked as the
        // rows are copied.
        fn added<T: PartialEq>(o: &Option<Vec<T>>, n: &Option<Vec<T>>) -> bool {
            n.iter()
                .flatten()
                .any(|x| !o.iter().flatten().any(|y| y == x))
        }
        may_fail |= added(&old.unique_constraints, &t.unique_constraints)
            || added(&old.checks, &t.checks)
            || added(&old.foreign_keys, &t.foreign_keys);
        may_fail |= t.columns.iter().enumerate().any(|(j, c)| {
            let Some(o) = self.old_col(old, pairs, j) else {
                return false;
            };
            let values = |c: &Column, new: bool| {
                c.enum_name.as_deref().and_then(|e| {
                    if new {
                        self.enums.new_values(e)
                    } else {
                        self.enums.old_values(e)
                    }
                })
            };
            match (values(o, false), values(c, true)) {
                (Some(a), Some(b)) => a.iter().any(|v| !b.contains(v)),
                (None, Some(_)) => true,
                _ => false,
            }
        });
        for (j, c) in t.columns.iter().enumerate() {
            let Some(o) = self.old_col(old, pairs, j) else {
                if !nullable(self.d, c, npk) && c.default.is_none() {
                    may_fail = true;
                }
                continue;
            };
            targets.push(self.q(&c.name));
            let mut src = self.q(&o.name);
            // No CAST: SQLite's CAST keeps only the leading number of a text value for
            // numeric-affinity types (DATE, JSON, ...); the new column's affinity converts
            // what converts losslessly and keeps the rest as it is.
            if d.column_type(o) != d.column_type(c) && !type_change_is_widening(o, c) {
                changes.push(format!("alterColumnType:{}.{}", t.name, c.name));
                may_fail = true;
            }
            if nullable(self.d, o, opk) && !nullable(self.d, c, npk) {
                if let Some(def) = &c.default {
                    src = format!("COALESCE({}, {})", src, d.literal(def, c));
                } else {
                    may_fail = true;
                }
            }
            sources.push(src);
        }
        for (k, o) in old.columns.iter().enumerate() {
            if !pairs.iter().any(|p| p.0 == Some(k)) {
                changes.push(format!("dropColumn:{}.{}", t.name, o.name));
            }
        }
        let mut sql = vec![format!(
            "CREATE TABLE {} ({})",
            self.q(&tmp),
            defs.join(", ")
        )];
        if !targets.is_empty() {
            sql.push(format!(
                "INSERT INTO {} ({}) SELECT {} FROM {}",
                self.q(&tmp),
                targets.join(", "),
                sources.join(", "),
                self.t(&t.name)
            ));
        }
        sql.push(format!("DROP TABLE {}", self.t(&t.name)));
        sql.push(format!(
            "ALTER TABLE {} RENAME TO {}",
            self.q(&tmp),
            self.q(&t.name)
        ));
        let mut dr = Draft::new(
            "rebuildTable",
            &t.name,
            t.name.clone(),
            format!("rebuild table {} (create new, copy, drop, rename)", t.name),
            sql,
        )
        .may_fail(may_fail);
        if !changes.is_empty() {
            dr.destructive = true;
            dr.destructive_changes = changes;
        }
        dr
    }

    fn column_changes(
        &self,
        old: &Table,
        t: &Table,
        pairs: &[(Option<usize>, bool)],
        drafts: &mut Vec<Draft>,
    ) {
        let d = self.d;
        let tn = &t.name;
        let tt = self.t(tn);
        let opk = &Key::new(self.d, old.primary_key.as_ref());
        let npk = &Key::new(self.d, t.primary_key.as_ref());
        // Renames first, so later statements use the new names.
        for (j, c) in t.columns.iter().enumerate() {
            if let (Some(k), true) = pairs[j] {
                let o = &old.columns[k];
                drafts.push(
                    Draft::new(
                        "renameColumn",
                        tn,
                        format!("{tn}.{}", c.name),
                        format!("rename column {tn}.{} to {}", o.name, c.name),
                        vec![format!(
                            "ALTER TABLE {tt} RENAME COLUMN {} TO {}",
                            self.q(&o.name),
                            self.q(&c.name)
                        )],
                    )
                    .locks(ACCESS_EXCLUSIVE),
                );
            }
        }
        // Added columns.
        for (j, c) in t.columns.iter().enumerate() {
            if pairs[j].0.is_some() {
                continue;
            }
            let s = self.spec(c, npk);
            let may_fail = !s.nullable && c.default.is_none();
            let sql = vec![format!(
                "ALTER TABLE {tt} ADD COLUMN {}",
                d.column_definition(s)
            )];
            drafts.push(
                Draft::new(
                    "addColumn",
                    tn,
                    format!("{tn}.{}", c.name),
                    format!("add column {tn}.{}", c.name),
                    sql,
                )
                .may_fail(may_fail)
                .locks(ACCESS_EXCLUSIVE),
            );
        }
        // Identity removed or changed, before NOT NULL is dropped (Postgres refuses that
        // on an identity column).
        crate::plan_identity::before(self, old, t, pairs, drafts);
        // Altered columns.
        for (j, c) in t.columns.iter().enumerate() {
            let Some(k) = pairs[j].0 else { continue };
            let o = &old.columns[k];
            let cq = self.q(&c.name);
            let (os, ns) = (self.spec(o, opk), self.spec(c, npk));
            let type_changed = d.column_type(o) != d.column_type(c);
            let default_changed = o.default != c.default;
            // Snowflake can neither SET DEFAULT to a constant nor reliably DROP DEFAULT (not
            // for a default added by ALTER TABLE), so any default change rebuilds.
            let rebuild_column = (type_changed && !d.supports_in_place_type_change(o, c))
                || (default_changed && !d.supports_set_default());
            if rebuild_column {
                // Snowflake idiom: add a new column, copy, drop the old, rename.
                let tmp = format!("{}_depot_new", c.name);
                // IF NOT EXISTS: a retry after a failed copy finds the column there.
                let mut sql = vec![format!(
                    "ALTER TABLE {tt} ADD COLUMN IF NOT EXISTS {}",
                    d.column_definition(ColumnSpec {
                        nullable: true,
                        ..self.spec(
                            &Column {
                                name: tmp.clone(),
                                ..c.clone()
                            },
                            npk
                        )
                    })
                )];
                let src = if type_changed {
                    format!("CAST({} AS {})", cq, d.sql_type(self.schema, c))
                } else {
                    cq.clone()
                };
                let src = match (&c.default, ns.nullable) {
                    (Some(def), false) => format!("COALESCE({src}, {})", d.literal(def, c)),
                    _ => src,
                };
                sql.push(format!("UPDATE {tt} SET {} = {src}", self.q(&tmp)));
                if !ns.nullable {
                    sql.push(format!(
                        "ALTER TABLE {tt} ALTER COLUMN {} SET NOT NULL",
                        self.q(&tmp)
                    ));
                }
                sql.push(format!("ALTER TABLE {tt} DROP COLUMN {cq}"));
                sql.push(format!(
                    "ALTER TABLE {tt} RENAME COLUMN {} TO {cq}",
                    self.q(&tmp)
                ));
                if let Some(comment) = c.comment.as_deref().filter(|_| d.supports_comments()) {
                    sql.push(d.comment_column(self.schema, tn, &c.name, Some(comment)));
                }
                let lossy = type_changed && !type_change_is_widening(o, c);
                let null_fill = !ns.nullable && os.nullable && c.default.is_none();
                let mut dr = Draft::new(
                    "rebuildColumn",
                    tn,
                    format!("{tn}.{}", c.name),
                    format!("rebuild column {tn}.{} (add, copy, drop, rename)", c.name),
                    sql,
                )
                .may_fail(lossy || null_fill);
                if type_changed && !type_change_is_widening(o, c) {
                    dr.destructive = true;
                    dr.destructive_changes = vec![format!("alterColumnType:{tn}.{}", c.name)];
                }
                drafts.push(dr);
                continue;
            }
            if type_changed {
                let mut sql = Vec::new();
                if o.default.is_some() && d.supports_set_default() {
                    sql.push(format!("ALTER TABLE {tt} ALTER COLUMN {cq} DROP DEFAULT"));
                }
                if d.supports_transactional_ddl() {
                    // Without USING, Postgres applies the assignment cast, which fails on
                    // values that do not fit (an explicit cast would silently truncate a
                    // varchar); USING only where no assignment cast exists.
                    if has_assignment_cast(o.column_type, c.column_type) {
                        sql.push(format!(
                            "ALTER TABLE {tt} ALTER COLUMN {cq} TYPE {}",
                            d.sql_type(self.schema, c)
                        ));
                    } else {
                        let via = if has_direct_cast(o.column_type, c.column_type) {
                            String::new()
                        } else {
                            "::text".to_string()
                        };
                        let ty = d.sql_type(self.schema, c);
                        sql.push(format!(
                            "ALTER TABLE {tt} ALTER COLUMN {cq} TYPE {ty} USING {cq}{via}::{ty}"
                        ));
                    }
                } else {
                    sql.push(format!(
                        "ALTER TABLE {tt} ALTER COLUMN {cq} SET DATA TYPE {}",
                        d.sql_type(self.schema, c)
                    ));
                }
                if let Some(def) = c
                    .default
                    .as_ref()
                    .filter(|_| o.default.is_some() && d.supports_set_default())
                {
                    sql.push(format!(
                        "ALTER TABLE {tt} ALTER COLUMN {cq} SET DEFAULT {}",
                        d.literal(def, c)
                    ));
                }
                let widening = type_change_is_widening(o, c);
                let mut dr = Draft::new(
                    "alterColumnType",
                    tn,
                    format!("{tn}.{}", c.name),
                    format!(
                        "change type of {tn}.{} from {} to {}",
                        c.name,
                        d.column_type(o),
                        d.column_type(c)
                    ),
                    sql,
                )
                .may_fail(!widening)
                .locks(if postgres_type_change_rewrites(o, c) {
                    REWRITE
                } else {
                    ACCESS_EXCLUSIVE
                });
                if !widening {
                    dr = dr.destructive();
                    dr.may_fail = true;
                }
                drafts.push(dr);
            }
            let default_handled = type_changed && o.default.is_some() && d.supports_set_default();
            if default_changed && !(default_handled && c.default.is_some()) {
                let sql = match &c.default {
                    Some(def) => format!(
                        "ALTER TABLE {tt} ALTER COLUMN {cq} SET DEFAULT {}",
                        d.literal(def, c)
                    ),
                    None => format!("ALTER TABLE {tt} ALTER COLUMN {cq} DROP DEFAULT"),
                };
                let kind = if c.default.is_some() {
                    "setDefault"
                } else {
                    "dropDefault"
                };
                drafts.push(
                    Draft::new(
                        kind,
                        tn,
                        format!("{tn}.{}", c.name),
                        format!(
                            "{} default of {tn}.{}",
                            if c.default.is_some() { "set" } else { "drop" },
                            c.name
                        ),
                        vec![sql],
                    )
                    .locks(ACCESS_EXCLUSIVE),
                );
            }
            if os.nullable != ns.nullable {
                if ns.nullable {
                    // Primary-key columns lose NOT NULL with their constraint.
                    let implied = opk.has(d, &o.name) && !d.enforces_constraints();
                    if !implied {
                        drafts.push(
                            Draft::new(
                                "dropNotNull",
                                tn,
                                format!("{tn}.{}", c.name),
                                format!("allow NULL in {tn}.{}", c.name),
                                vec![format!("ALTER TABLE {tt} ALTER COLUMN {cq} DROP NOT NULL")],
                            )
                            .locks(ACCESS_EXCLUSIVE),
                        );
                    }
                } else {
                    let in_new_pk = npk.has(d, &c.name);
                    // ADD PRIMARY KEY sets NOT NULL itself on Postgres.
                    if in_new_pk && !self.pk_equal(old, t, pairs) && d.enforces_constraints() {
                        continue;
                    }
                    let mut sql = Vec::new();
                    if let Some(def) = &c.default {
                        sql.push(format!(
                            "UPDATE {tt} SET {cq} = {} WHERE {cq} IS NULL",
                            d.literal(def, c)
                        ));
                    }
                    sql.push(format!("ALTER TABLE {tt} ALTER COLUMN {cq} SET NOT NULL"));
                    drafts.push(
                        Draft::new(
                            "setNotNull",
                            tn,
                            format!("{tn}.{}", c.name),
                            format!(
                                "forbid NULL in {tn}.{}{}",
                                c.name,
                                if c.default.is_some() {
                                    " (backfilling the default)"
                                } else {
                                    ""
                                }
                            ),
                            sql,
                        )
                        .may_fail(c.default.is_none())
                        .locks(SCAN),
                    );
                }
            }
        }
        // Identity added, after the column's default is gone and NOT NULL is set.
        crate::plan_identity::after(self, old, t, pairs, drafts);
        // Dropped columns.
        for (k, o) in old.columns.iter().enumerate() {
            if pairs.iter().any(|p| p.0 == Some(k)) {
                continue;
            }
            drafts.push(
                Draft::new(
                    "dropColumn",
                    tn,
                    format!("{tn}.{}", o.name),
                    format!("drop column {tn}.{}", o.name),
                    vec![format!("ALTER TABLE {tt} DROP COLUMN {}", self.q(&o.name))],
                )
                .destructive()
                .locks(ACCESS_EXCLUSIVE),
            );
        }
    }
}
