//! The typed model of the two input files: the package (`*.package.json`) and the
//! dataset config (`*.dataset.json`). See docs/design.md, "Inputs".
//!
//! Every struct denies unknown fields, and every optional member treats `null` like an
//! absent member, so a package that came through JavaScript or Python means the same as
//! the file it was read from.

use serde::{Deserialize, Serialize};

#[cfg(feature = "schema")]
use schemars::JsonSchema;

/// The pattern every identifier (namespace, schema, table, column, index) must match.
pub const IDENTIFIER_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]{0,62}$";

/// The schema a dataset should have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[cfg_attr(feature = "schema", schemars(title = "depot-migrate package"))]
pub struct Package {
    /// The package namespace (informational; the database schema comes from the dataset).
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub namespace: String,
    /// Enum types that columns of type `enum` refer to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_objects"
    )]
    pub enums: Option<Vec<EnumType>>,
    /// Privileges granted to database roles on the dataset's tables, views and
    /// sequences (docs/views-and-grants.md). Not on SQLite.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_objects"
    )]
    pub grants: Option<Vec<Grant>>,
    /// The tables of the dataset, in the order they should be created.
    #[serde(deserialize_with = "objects")]
    pub tables: Vec<Table>,
    /// Views over the package's tables and other views (docs/views-and-grants.md).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_objects"
    )]
    pub views: Option<Vec<View>>,
}

/// A view: a named `SELECT` over the package's tables and views. The query is SQL text,
/// parsed for the dataset's engine, restricted to an allow-list and emitted re-printed
/// from the parse tree (docs/views-and-grants.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct View {
    /// View name (an identifier), unique among the schema's tables, views, indexes and
    /// constraints.
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub name: String,
    /// One `SELECT` (or a `UNION`/`INTERSECT`/`EXCEPT` of them) reading only the
    /// package's tables and views, named without a schema.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 16384)))]
    pub query: String,
    /// The view's column names, in order (default: the names the query gives them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub columns: Option<Vec<String>>,
    /// A materialized view (Postgres and Snowflake): its rows are stored and refreshed
    /// by the plan. Defaults to `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub materialized: Option<bool>,
    /// View comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Earlier name(s) of this view, most recent first. Not part of the version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<RenamedFrom>,
}

impl View {
    /// Whether the view is materialized.
    pub fn is_materialized(&self) -> bool {
        self.materialized == Some(true)
    }
}

/// Privileges granted to one role on some of the dataset's objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Grant {
    /// The database role (an identifier; it must exist before the plan runs).
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub role: String,
    /// The privileges: on tables `select`, `insert`, `update`, `delete`, `truncate`,
    /// `references`; on views `select`; on sequences `usage`, `select`, `update`.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub privileges: Vec<Privilege>,
    /// The objects.
    pub on: GrantOn,
    /// Also grant the privileges on objects of this kind created later (Postgres
    /// `ALTER DEFAULT PRIVILEGES`, Snowflake `FUTURE` grants); only with `"all"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub future: Option<bool>,
}

/// The objects a grant applies to: exactly one member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrantOn {
    /// `"all"` (every table of the package) or a list of table names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<Objects>,
    /// `"all"` (every view of the package) or a list of view names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub views: Option<Objects>,
    /// `"all"`: every sequence of the schema (the identity columns' sequences).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequences: Option<Objects>,
}

/// `"all"` or a list of names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(untagged)]
pub enum Objects {
    /// `"all"`.
    All(AllObjects),
    /// The named objects.
    Names(Vec<String>),
}

/// The word `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum AllObjects {
    /// Every object of the kind.
    All,
}

/// What kind of object a grant is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantKind {
    /// Tables.
    Tables,
    /// Views (and materialized views).
    Views,
    /// Sequences.
    Sequences,
}

impl GrantKind {
    /// The member name in package files.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::Tables => "tables",
            GrantKind::Views => "views",
            GrantKind::Sequences => "sequences",
        }
    }
}

impl GrantOn {
    /// The members given, in file order (exactly one in a valid grant).
    pub fn given(&self) -> Vec<(GrantKind, &Objects)> {
        let mut out = Vec::new();
        if let Some(o) = &self.tables {
            out.push((GrantKind::Tables, o));
        }
        if let Some(o) = &self.views {
            out.push((GrantKind::Views, o));
        }
        if let Some(o) = &self.sequences {
            out.push((GrantKind::Sequences, o));
        }
        out
    }
}

/// A privilege a grant gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Privilege {
    /// Read rows.
    Select,
    /// Insert rows.
    Insert,
    /// Update rows.
    Update,
    /// Delete rows.
    Delete,
    /// Empty the table.
    Truncate,
    /// Refer to the table from a foreign key.
    References,
    /// Use a sequence (`nextval`).
    Usage,
}

impl Privilege {
    /// Every privilege, in documentation order.
    pub const ALL: [Privilege; 7] = [
        Privilege::Select,
        Privilege::Insert,
        Privilege::Update,
        Privilege::Delete,
        Privilege::Truncate,
        Privilege::References,
        Privilege::Usage,
    ];
    /// The name used in package files.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::Select => "select",
            Privilege::Insert => "insert",
            Privilege::Update => "update",
            Privilege::Delete => "delete",
            Privilege::Truncate => "truncate",
            Privilege::References => "references",
            Privilege::Usage => "usage",
        }
    }
    /// The SQL keyword.
    pub fn sql(self) -> &'static str {
        match self {
            Privilege::Select => "SELECT",
            Privilege::Insert => "INSERT",
            Privilege::Update => "UPDATE",
            Privilege::Delete => "DELETE",
            Privilege::Truncate => "TRUNCATE",
            Privilege::References => "REFERENCES",
            Privilege::Usage => "USAGE",
        }
    }
    /// Whether the privilege applies to objects of this kind.
    pub fn applies_to(self, kind: GrantKind) -> bool {
        use Privilege::*;
        match kind {
            GrantKind::Tables => matches!(
                self,
                Select | Insert | Update | Delete | Truncate | References
            ),
            GrantKind::Views => self == Select,
            GrantKind::Sequences => matches!(self, Usage | Select | Update),
        }
    }
}

/// A package-level enum type: a closed, ordered set of text values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnumType {
    /// Enum name (an identifier), unique per schema.
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub name: String,
    /// The values, in order. At least one; each 1 to 63 bytes, no NUL.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub values: Vec<String>,
    /// Earlier name(s) of this enum, most recent first. Not part of the version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<RenamedFrom>,
}

/// One table of a package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Table {
    /// Table name (an identifier).
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub name: String,
    /// Columns, in order. At least one.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    #[serde(deserialize_with = "objects")]
    pub columns: Vec<Column>,
    /// Names of the primary-key columns, in key order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub primary_key: Option<Vec<String>>,
    /// Secondary indexes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_objects"
    )]
    pub indexes: Option<Vec<Index>>,
    /// Named unique constraints (a valid foreign-key target; distinct from unique
    /// indexes).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_objects"
    )]
    pub unique_constraints: Option<Vec<UniqueConstraint>>,
    /// Foreign keys from this table's columns to a primary key or unique constraint.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_objects"
    )]
    pub foreign_keys: Option<Vec<ForeignKey>>,
    /// Check constraints.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_objects"
    )]
    pub checks: Option<Vec<Check>>,
    /// Table comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Earlier name(s) of this table, most recent first. A rename hint, not schema: it
    /// does not change the version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<RenamedFrom>,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Column {
    /// Column name (an identifier).
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub name: String,
    /// Logical column type.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// Whether the column accepts NULL. Defaults to `true`, except for primary-key
    /// columns, which are never nullable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
    /// Maximum length in characters (`string` only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 10485760)))]
    pub max_length: Option<u32>,
    /// Total number of digits (`decimal` only, required there, 1 to 38).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 38)))]
    pub precision: Option<u32>,
    /// Digits after the decimal point (`decimal` only, 0 to `precision`, default 0).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 38)))]
    pub scale: Option<u32>,
    /// The enum a column of type `enum` takes its values from (a name in `enums`).
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub enum_name: Option<String>,
    /// The element type of an `array` column (a scalar type; `maxLength`, `precision`
    /// and `scale` then apply to the elements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<ColumnType>,
    /// How a `json` column is stored on Postgres: `jsonb` (the default) or `text` (the
    /// `json` type, which keeps the text as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_storage: Option<JsonStorage>,
    /// Makes an `int`, `bigint` or `smallint` column an identity column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// First value of an identity column (default 1).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "safe_integer"
    )]
    #[cfg_attr(feature = "schema", schemars(range(min = -9007199254740991i64, max = 9007199254740991i64)))]
    pub start: Option<i64>,
    /// Step of an identity column (default 1, never 0).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "safe_integer"
    )]
    #[cfg_attr(feature = "schema", schemars(range(min = -9007199254740991i64, max = 9007199254740991i64)))]
    pub increment: Option<i64>,
    /// Default value: a JSON literal or a function from a closed set
    /// (`{"function": "now"}`), never raw SQL. `bigint` and `decimal` defaults may be
    /// strings holding the exact number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Literal>,
    /// Column comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Earlier name(s) of this column, most recent first. Not part of the version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<RenamedFrom>,
}

/// Deserializes `T` only from a JSON object. Derived struct impls would also accept an
/// array of the members in declaration order, which neither the JSON Schema nor any other
/// JCS tool would read the same way.
#[derive(Debug)]
pub struct MapOnly<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for MapOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData)).map(MapOnly)
    }
}

fn objects<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    let v: Vec<MapOnly<T>> = Vec::deserialize(d)?;
    Ok(v.into_iter().map(|m| m.0).collect())
}

fn optional_objects<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    let v: Option<Vec<MapOnly<T>>> = Option::deserialize(d)?;
    Ok(v.map(|v| v.into_iter().map(|m| m.0).collect()))
}

/// Deserializes an optional whole number, whatever its notation (`200`, `200.0`, `2e2`),
/// as JSON Schema's `integer` and RFC 8785 treat them alike.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let n: Option<serde_json::Number> = Option::deserialize(d)?;
    n.map(|n| {
        whole_u32(&n).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected a whole number from 0 to 4294967295, found {n}"
            ))
        })
    })
    .transpose()
}

/// Deserializes an optional whole number of magnitude below 2^53, whatever its notation.
fn safe_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let n: Option<serde_json::Number> = Option::deserialize(d)?;
    n.map(|n| {
        whole_i64(&n).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected a whole number of magnitude below 2^53, found {n}"
            ))
        })
    })
    .transpose()
}

/// A JSON number as an `i64`, if it is a whole number of magnitude below 2^53.
pub fn whole_i64(n: &serde_json::Number) -> Option<i64> {
    const MAX: i64 = (1 << 53) - 1;
    let v = if let Some(i) = n.as_i64() {
        i
    } else if n.as_u64().is_some() {
        return None;
    } else {
        let f = n.as_f64()?;
        if f.fract() != 0.0 || f.abs() > MAX as f64 {
            return None;
        }
        f as i64
    };
    (-MAX..=MAX).contains(&v).then_some(v)
}

/// A JSON number as a `u32`, if it is a whole number in range.
pub fn whole_u32(n: &serde_json::Number) -> Option<u32> {
    if let Some(u) = n.as_u64() {
        return u32::try_from(u).ok();
    }
    if n.as_i64().is_some() {
        return None;
    }
    n.as_f64()
        .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u32::MAX as f64)
        .map(|f| f as u32)
}

impl Column {
    /// The effective nullability: `nullable` if given, else `true` unless the column is
    /// part of the primary key or an identity column (never NULL).
    pub fn is_nullable(&self, in_primary_key: bool) -> bool {
        !in_primary_key && self.identity.is_none() && self.nullable.unwrap_or(true)
    }
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Index {
    /// Index name, unique within the dataset's schema.
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub name: String,
    /// The index keys, in order: a column name, or an object with a `column` or an
    /// `expression` and optional `order` and `nulls`.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub columns: Vec<IndexKey>,
    /// Whether the index enforces uniqueness. Defaults to `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique: Option<bool>,
    /// A partial index: only rows for which this condition (SQL text over the table's
    /// columns, with the same allow-list as check expressions) is true are indexed.
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// Columns stored in the index but not part of its key (Postgres `INCLUDE`, btree
    /// and gist only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub include: Option<Vec<String>>,
    /// The index method (Postgres only). Defaults to `btree`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<IndexMethod>,
    /// Build and drop this index without blocking writes (Postgres `CONCURRENTLY`,
    /// outside the migration transaction). Overrides the dataset's `onlineIndexes`.
    /// How the index is built, not what it is: not part of the version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
    /// Earlier name(s) of this index, most recent first. Not part of the version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<RenamedFrom>,
}

impl Index {
    /// Whether the index is unique.
    pub fn is_unique(&self) -> bool {
        self.unique == Some(true)
    }
    /// Whether the index uses anything beyond plain column keys and `unique` (options
    /// that engines without secondary indexes cannot declare).
    pub fn has_options(&self) -> bool {
        self.predicate.is_some()
            || self.include.is_some()
            || self.method.is_some()
            || self
                .columns
                .iter()
                .any(|k| !matches!(k, IndexKey::Column(_)))
    }
    /// The plain column names of the key (expressions left out).
    pub fn key_columns(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().filter_map(IndexKey::column)
    }
}

/// One key of an index: a column name, or an object with options.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(untagged)]
pub enum IndexKey {
    /// A column, ascending (written as its name).
    Column(
        #[cfg_attr(
            feature = "schema",
            schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
        )]
        String,
    ),
    /// A column or an expression with its sort order.
    Key(IndexKeySpec),
}

impl IndexKey {
    /// The column this key is, if it is a column (plain or with options).
    pub fn column(&self) -> Option<&str> {
        match self {
            IndexKey::Column(c) => Some(c),
            IndexKey::Key(k) => k.column.as_deref(),
        }
    }
    /// The expression of an expression key.
    pub fn expression(&self) -> Option<&str> {
        match self {
            IndexKey::Column(_) => None,
            IndexKey::Key(k) => k.expression.as_deref(),
        }
    }
    /// The sort order, if given.
    pub fn order(&self) -> Option<SortOrder> {
        match self {
            IndexKey::Column(_) => None,
            IndexKey::Key(k) => k.order,
        }
    }
    /// The NULLs position, if given.
    pub fn nulls(&self) -> Option<NullsOrder> {
        match self {
            IndexKey::Column(_) => None,
            IndexKey::Key(k) => k.nulls,
        }
    }
}

/// Reads a string as a column key and an object as a key with options, directly rather
/// than through `#[serde(untagged)]`, so an error names the member that is wrong.
impl<'de> Deserialize<'de> for IndexKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = IndexKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a column name or {\"column\"|\"expression\": ..., \"order\", \"nulls\"}",
                )
            }
            fn visit_str<E>(self, v: &str) -> Result<IndexKey, E> {
                Ok(IndexKey::Column(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<IndexKey, E> {
                Ok(IndexKey::Column(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<IndexKey, A::Error> {
                IndexKeySpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(IndexKey::Key)
            }
        }
        d.deserialize_any(V)
    }
}

/// An index key with options: exactly one of `column` and `expression`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IndexKeySpec {
    /// The column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub column: Option<String>,
    /// An expression over the table's columns (SQL text, like `lower(email)`, with the
    /// same allow-list as check expressions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// `asc` (the default) or `desc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<SortOrder>,
    /// Where NULLs sort: `first` or `last` (Postgres only; the default is `last` for
    /// `asc`, `first` for `desc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nulls: Option<NullsOrder>,
}

/// The sort order of an index key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

impl SortOrder {
    /// The name used in package files.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }
}

/// Where NULLs sort in an index key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum NullsOrder {
    /// NULLs before every value.
    First,
    /// NULLs after every value.
    Last,
}

impl NullsOrder {
    /// The name used in package files.
    pub fn as_str(self) -> &'static str {
        match self {
            NullsOrder::First => "first",
            NullsOrder::Last => "last",
        }
    }
}

/// A Postgres index method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum IndexMethod {
    /// B-tree (the default): equality, ranges, sorting, unique.
    Btree,
    /// Hash: equality on one column.
    Hash,
    /// GIN: arrays and json (jsonb) contents.
    Gin,
    /// GiST: geometric and range types, nearest neighbour.
    Gist,
    /// BRIN: block ranges of large, naturally ordered tables.
    Brin,
}

impl IndexMethod {
    /// Every method, in documentation order.
    pub const ALL: [IndexMethod; 5] = [
        IndexMethod::Btree,
        IndexMethod::Hash,
        IndexMethod::Gin,
        IndexMethod::Gist,
        IndexMethod::Brin,
    ];
    /// The name used in package files and SQL (`USING btree`).
    pub fn as_str(self) -> &'static str {
        match self {
            IndexMethod::Btree => "btree",
            IndexMethod::Hash => "hash",
            IndexMethod::Gin => "gin",
            IndexMethod::Gist => "gist",
            IndexMethod::Brin => "brin",
        }
    }
}

/// A named unique constraint over one or more columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UniqueConstraint {
    /// Constraint name, unique within the dataset's schema.
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub name: String,
    /// The columns, in order.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub columns: Vec<String>,
}

/// What a foreign key does when the referenced row is deleted or its key updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum ReferentialAction {
    /// Refuse the change if rows refer to it (checked at the end of the statement).
    NoAction,
    /// Refuse the change at once.
    Restrict,
    /// Delete or update the referring rows too.
    Cascade,
    /// Set the referring columns to NULL.
    SetNull,
    /// Set the referring columns to their defaults.
    SetDefault,
}

impl ReferentialAction {
    /// The SQL words.
    pub fn sql(self) -> &'static str {
        match self {
            ReferentialAction::NoAction => "NO ACTION",
            ReferentialAction::Restrict => "RESTRICT",
            ReferentialAction::Cascade => "CASCADE",
            ReferentialAction::SetNull => "SET NULL",
            ReferentialAction::SetDefault => "SET DEFAULT",
        }
    }
    /// The name used in package files.
    pub fn as_str(self) -> &'static str {
        match self {
            ReferentialAction::NoAction => "noAction",
            ReferentialAction::Restrict => "restrict",
            ReferentialAction::Cascade => "cascade",
            ReferentialAction::SetNull => "setNull",
            ReferentialAction::SetDefault => "setDefault",
        }
    }
}

/// Whether a foreign key is checked at the end of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Deferrable {
    /// Not deferrable (the default).
    No,
    /// `DEFERRABLE INITIALLY IMMEDIATE`.
    InitiallyImmediate,
    /// `DEFERRABLE INITIALLY DEFERRED`.
    InitiallyDeferred,
}

impl Deferrable {
    /// The name used in package files.
    pub fn as_str(self) -> &'static str {
        match self {
            Deferrable::No => "no",
            Deferrable::InitiallyImmediate => "initiallyImmediate",
            Deferrable::InitiallyDeferred => "initiallyDeferred",
        }
    }
}

/// The referenced side of a foreign key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct References {
    /// The referenced table (of this package).
    pub table: String,
    /// Its columns, matching a primary key or unique constraint, in the same order as
    /// the foreign key's columns.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub columns: Vec<String>,
}

/// A table-level foreign key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ForeignKey {
    /// Constraint name, unique within the dataset's schema.
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub name: String,
    /// The referring columns of this table, in order.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub columns: Vec<String>,
    /// What they refer to.
    pub references: References,
    /// Action on delete of the referenced row (default `noAction`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<ReferentialAction>,
    /// Action on update of the referenced key (default `noAction`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<ReferentialAction>,
    /// Deferrability (default `no`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferrable: Option<Deferrable>,
}

/// A check constraint. The expression is SQL text, parsed and restricted to one boolean
/// expression over the table's own columns; plans carry it re-printed from the parse
/// tree, never as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Check {
    /// Constraint name, unique within the dataset's schema.
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub name: String,
    /// A boolean SQL expression over the table's columns, like `amount >= 0`.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 4096)))]
    pub expression: String,
}

/// How an identity column generates values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Identity {
    /// Values always come from the sequence (`GENERATED ALWAYS`).
    Always,
    /// Values come from the sequence unless given (`GENERATED BY DEFAULT`).
    ByDefault,
}

impl Identity {
    /// The name used in package files.
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::Always => "always",
            Identity::ByDefault => "byDefault",
        }
    }
}

/// How a Postgres `json` column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum JsonStorage {
    /// `jsonb`: parsed, indexable (the default).
    Jsonb,
    /// `json`: the text as written.
    Text,
}

impl JsonStorage {
    /// The name used in package files.
    pub fn as_str(self) -> &'static str {
        match self {
            JsonStorage::Jsonb => "jsonb",
            JsonStorage::Text => "text",
        }
    }
}

/// The functions a default may call: a closed set, mapped per dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum DefaultFunction {
    /// The current timestamp (`now()`), on `timestamp` and `timestamptz` columns.
    Now,
    /// The current timestamp (`CURRENT_TIMESTAMP`), on `timestamp` and `timestamptz`.
    CurrentTimestamp,
    /// The current date (`CURRENT_DATE`), on `date` columns.
    CurrentDate,
    /// The current time of day (`CURRENT_TIME`/`LOCALTIME`), on `time` columns.
    CurrentTime,
    /// A random (version 4) UUID, on `uuid` columns.
    GenRandomUuid,
}

impl DefaultFunction {
    /// Every function, in documentation order.
    pub const ALL: [DefaultFunction; 5] = [
        DefaultFunction::Now,
        DefaultFunction::CurrentTimestamp,
        DefaultFunction::CurrentDate,
        DefaultFunction::CurrentTime,
        DefaultFunction::GenRandomUuid,
    ];
    /// The name used in package files.
    pub fn as_str(self) -> &'static str {
        match self {
            DefaultFunction::Now => "now",
            DefaultFunction::CurrentTimestamp => "currentTimestamp",
            DefaultFunction::CurrentDate => "currentDate",
            DefaultFunction::CurrentTime => "currentTime",
            DefaultFunction::GenRandomUuid => "genRandomUuid",
        }
    }
}

/// `{"function": "now"}`: a default computed by a function from a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FunctionDefault {
    /// The function.
    pub function: DefaultFunction,
}

/// The logical column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Text, optionally bounded by `maxLength`.
    String,
    /// 32-bit signed integer.
    Int,
    /// 64-bit signed integer.
    Bigint,
    /// Exact decimal with `precision` and `scale`.
    Decimal,
    /// 64-bit IEEE 754 floating point.
    Double,
    /// true / false.
    Boolean,
    /// Calendar date.
    Date,
    /// Timestamp without time zone.
    Timestamp,
    /// Timestamp with time zone.
    Timestamptz,
    /// JSON document.
    Json,
    /// UUID.
    Uuid,
    /// Byte string.
    Binary,
    /// 16-bit signed integer.
    Smallint,
    /// 32-bit IEEE 754 floating point.
    Real,
    /// Time of day without time zone.
    Time,
    /// Fixed-length text of `maxLength` characters (required).
    Char,
    /// Exact decimal of arbitrary precision (Postgres and SQLite; not Snowflake).
    Numeric,
    /// A span of time (Postgres only).
    Interval,
    /// An array of the scalar type named by `items`.
    Array,
    /// One value of the package enum named by `enum`.
    Enum,
}

impl ColumnType {
    /// Every column type, in documentation order.
    pub const ALL: [ColumnType; 20] = [
        ColumnType::String,
        ColumnType::Int,
        ColumnType::Bigint,
        ColumnType::Decimal,
        ColumnType::Double,
        ColumnType::Boolean,
        ColumnType::Date,
        ColumnType::Timestamp,
        ColumnType::Timestamptz,
        ColumnType::Json,
        ColumnType::Uuid,
        ColumnType::Binary,
        ColumnType::Smallint,
        ColumnType::Real,
        ColumnType::Time,
        ColumnType::Char,
        ColumnType::Numeric,
        ColumnType::Interval,
        ColumnType::Array,
        ColumnType::Enum,
    ];

    /// The name used in package files.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Int => "int",
            ColumnType::Bigint => "bigint",
            ColumnType::Decimal => "decimal",
            ColumnType::Double => "double",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Timestamptz => "timestamptz",
            ColumnType::Json => "json",
            ColumnType::Uuid => "uuid",
            ColumnType::Binary => "binary",
            ColumnType::Smallint => "smallint",
            ColumnType::Real => "real",
            ColumnType::Time => "time",
            ColumnType::Char => "char",
            ColumnType::Numeric => "numeric",
            ColumnType::Interval => "interval",
            ColumnType::Array => "array",
            ColumnType::Enum => "enum",
        }
    }

    /// Parses a package-file type name.
    pub fn from_name(name: &str) -> Option<ColumnType> {
        ColumnType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// `renamedFrom`: one earlier name or a list of earlier names, most recent first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(untagged)]
pub enum RenamedFrom {
    /// A single earlier name.
    One(
        #[cfg_attr(
            feature = "schema",
            schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
        )]
        String,
    ),
    /// Earlier names, most recent first.
    Many(Vec<String>),
}

impl RenamedFrom {
    /// The earlier names, most recent first.
    pub fn names(&self) -> Vec<&str> {
        match self {
            RenamedFrom::One(n) => vec![n.as_str()],
            RenamedFrom::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// A default value: a JSON literal (never raw SQL).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(untagged)]
pub enum Literal {
    /// `true` / `false`.
    Bool(bool),
    /// A JSON number, kept as written until it is checked against the column type.
    /// Its magnitude must stay below 2^53 (write larger values as strings).
    Number(
        #[cfg_attr(feature = "schema", schemars(range(min = -9007199254740991i64, max = 9007199254740991i64)))]
         serde_json::Number,
    ),
    /// A JSON string.
    String(String),
    /// A function from a closed set: `{"function": "now"}`.
    Function(FunctionDefault),
}

/// Reads the value directly instead of through `#[serde(untagged)]`, which buffers it
/// and builds (and formats) an error for every variant that does not match.
impl<'de> Deserialize<'de> for Literal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Literal;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON literal (string, number or boolean) or {\"function\": NAME}")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Literal, E> {
                Ok(Literal::Bool(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Literal, E> {
                Ok(Literal::Number(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Literal, E> {
                Ok(Literal::Number(v.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Literal, E> {
                serde_json::Number::from_f64(v)
                    .map(Literal::Number)
                    .ok_or_else(|| E::custom("a number must be finite"))
            }
            fn visit_str<E>(self, v: &str) -> Result<Literal, E> {
                Ok(Literal::String(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Literal, E> {
                Ok(Literal::String(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Literal, A::Error> {
                FunctionDefault::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Literal::Function)
            }
        }
        d.deserialize_any(V)
    }
}

/// The database engine a dataset lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
pub enum Engine {
    /// PostgreSQL.
    #[serde(rename = "postgres")]
    Postgres,
    /// Amazon Aurora PostgreSQL (same SQL as `postgres`).
    #[serde(rename = "aurora-postgresql")]
    AuroraPostgresql,
    /// Snowflake.
    #[serde(rename = "snowflake")]
    Snowflake,
    /// SQLite (the embedded default).
    #[serde(rename = "sqlite")]
    Sqlite,
}

/// How an engine treats the case of (quoted) identifiers, which decides when two names
/// collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierFolding {
    /// Names are kept as written (Postgres with quoted identifiers).
    AsWritten,
    /// Names are upper-cased (Snowflake, so unquoted queries find them).
    Upper,
    /// Names compare case-insensitively (SQLite).
    CaseInsensitive,
}

impl Engine {
    /// Every engine.
    pub const ALL: [Engine; 4] = [
        Engine::Postgres,
        Engine::AuroraPostgresql,
        Engine::Snowflake,
        Engine::Sqlite,
    ];

    /// The engine id used in dataset files and plans.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::AuroraPostgresql => "aurora-postgresql",
            Engine::Snowflake => "snowflake",
            Engine::Sqlite => "sqlite",
        }
    }

    /// Parses an engine id. This is the only place a name becomes an engine.
    pub fn from_name(name: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// How this engine folds identifiers.
    pub fn identifier_folding(self) -> IdentifierFolding {
        match self {
            Engine::Postgres | Engine::AuroraPostgresql => IdentifierFolding::AsWritten,
            Engine::Snowflake => IdentifierFolding::Upper,
            Engine::Sqlite => IdentifierFolding::CaseInsensitive,
        }
    }
}

impl IdentifierFolding {
    /// The key under which two identifiers collide on this engine (borrowed when the
    /// name needs no change).
    pub fn fold(self, name: &str) -> std::borrow::Cow<'_, str> {
        match self {
            IdentifierFolding::AsWritten => std::borrow::Cow::Borrowed(name),
            IdentifierFolding::Upper | IdentifierFolding::CaseInsensitive => {
                if name.bytes().any(|b| b.is_ascii_lowercase()) {
                    std::borrow::Cow::Owned(name.to_ascii_uppercase())
                } else {
                    std::borrow::Cow::Borrowed(name)
                }
            }
        }
    }

    /// Whether two identifiers collide on this engine.
    pub fn same(self, a: &str, b: &str) -> bool {
        match self {
            IdentifierFolding::AsWritten => a == b,
            _ => a.eq_ignore_ascii_case(b),
        }
    }
}

/// Whether a dataset runs migrations inline or through a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum MigrationMode {
    /// `apply` sets desired = attempted and executes at once.
    #[default]
    Synchronous,
    /// `submit` sets desired; a worker executes later.
    Asynchronous,
}

/// Which destructive plan steps a dataset accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(untagged)]
pub enum AllowDestructive {
    /// `false`: none (the default); `true`: all.
    All(bool),
    /// Only the steps with these keys (`dropColumn:dog.weight`).
    Keys(Vec<String>),
}

impl Default for AllowDestructive {
    fn default() -> Self {
        AllowDestructive::All(false)
    }
}

impl AllowDestructive {
    /// Whether the destructive step with this key is allowed.
    pub fn allows(&self, step_key: &str) -> bool {
        match self {
            AllowDestructive::All(all) => *all,
            AllowDestructive::Keys(keys) => keys.iter().any(|k| k == step_key),
        }
    }
}

/// The default of `scheduledLimitMinutes`.
pub const DEFAULT_SCHEDULED_LIMIT_MINUTES: u32 = 15;

/// A dataset config (`*.dataset.json`). Connection strings and credentials never go here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[cfg_attr(feature = "schema", schemars(title = "depot-migrate dataset config"))]
pub struct DatasetConfig {
    /// Environment id (the `environmentId` of the Depot migrations observability page).
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"))
    )]
    pub environment_id: String,
    /// Dataset id.
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"))
    )]
    pub dataset_id: String,
    /// Human-readable alias, carried in events. Not part of the version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"))
    )]
    pub dataset_alias: Option<String>,
    /// Database engine.
    pub engine: Engine,
    /// Database schema that holds the dataset's tables (an identifier).
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"))
    )]
    pub schema: String,
    /// `synchronous` (default) or `asynchronous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_mode: Option<MigrationMode>,
    /// EventBridge bus for lifecycle events: a name or an ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(regex(
            pattern = "^(arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/)?[A-Za-z0-9/._-]{1,256}$"
        ))
    )]
    pub event_bus_name: Option<String>,
    /// `false` (default), `true`, or the keys of the destructive steps allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_destructive: Option<AllowDestructive>,
    /// Asynchronous mode: how many minutes a submitted version may stay `scheduled` (no
    /// worker started it) before `watchdog` publishes its `desired` event again; after as
    /// long again it is recorded as failed with class `notStarted`. Default 15. Not part
    /// of the version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 1440)))]
    pub scheduled_limit_minutes: Option<u32>,
    /// Postgres: build and drop indexes `CONCURRENTLY` (writes continue while an index
    /// builds), as journaled steps after the migration transaction commits. An index's
    /// own `online` overrides it. Default `false`. How indexes are built, not what the
    /// schema is: not part of the version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_indexes: Option<bool>,
}

impl DatasetConfig {
    /// The migration mode, defaulting to synchronous.
    pub fn mode(&self) -> MigrationMode {
        self.migration_mode.unwrap_or_default()
    }

    /// `scheduledLimitMinutes`, defaulting to 15.
    pub fn scheduled_limit_minutes(&self) -> u32 {
        self.scheduled_limit_minutes
            .unwrap_or(DEFAULT_SCHEDULED_LIMIT_MINUTES)
    }

    /// Whether an index is built and dropped online (`CONCURRENTLY`): its own `online`,
    /// else the dataset's `onlineIndexes`, else not.
    pub fn online_index(&self, index: &Index) -> bool {
        index.online.or(self.online_indexes).unwrap_or(false)
    }

    /// The destructive-change policy, defaulting to none allowed.
    pub fn destructive_policy(&self) -> AllowDestructive {
        self.allow_destructive.clone().unwrap_or_default()
    }
}
