//! SQLite, the embedded default. It has no schemas and no comments, and its `ALTER TABLE`
//! cannot change a column's type, nullability or default, the primary key or a
//! constraint: the planner rebuilds the table for those (create new, copy, drop, rename,
//! in one transaction, with foreign keys checked before commit). Constraints live in
//! `CREATE TABLE`; enums are TEXT with a `CHECK` of the values, arrays JSON text.

use super::Dialect;
use crate::model::{Column, ColumnType, Engine};

/// SQLite.
#[derive(Debug, Clone, Copy)]
pub struct Sqlite;

impl Dialect for Sqlite {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }
    fn names_equal(&self, a: &str, b: &str) -> bool {
        a.eq_ignore_ascii_case(b)
    }
    fn name_key(&self, name: &str) -> String {
        name.to_ascii_uppercase()
    }
    fn supports_schemas(&self) -> bool {
        false
    }
    fn supports_materialized_views(&self) -> bool {
        false
    }
    fn supports_view_rename(&self) -> bool {
        false
    }
    fn supports_grants(&self) -> bool {
        false
    }
    fn supports_comments(&self) -> bool {
        false
    }
    fn enforces_max_length(&self) -> bool {
        false
    }
    fn supports_alter_column(&self) -> bool {
        false
    }
    fn names_primary_key_after_table(&self) -> bool {
        false
    }

    /// Declared types keep the logical type visible in the catalog; SQLite's type
    /// affinity follows from them (VARCHAR → TEXT, NUMERIC, INTEGER, REAL, BLOB).
    fn column_type(&self, c: &Column) -> String {
        // An identity column is the table's only primary-key column (validation): as
        // INTEGER it is the rowid, numbered from the largest value plus one.
        if c.identity.is_some() {
            return "INTEGER".into();
        }
        match c.column_type {
            ColumnType::Smallint => "SMALLINT".into(),
            ColumnType::Real => "REAL".into(),
            ColumnType::Time => "TIME".into(),
            ColumnType::Char => format!("CHAR({})", c.max_length.unwrap_or(1)),
            ColumnType::Numeric => "NUMERIC".into(),
            // Refused by validation (SQLite has no interval type).
            ColumnType::Interval => "TEXT".into(),
            // Arrays are kept as JSON text; enums as TEXT with a CHECK of the values.
            ColumnType::Array => "JSON".into(),
            ColumnType::Enum => "TEXT".into(),
            ColumnType::String => match c.max_length {
                Some(n) => format!("VARCHAR({n})"),
                None => "TEXT".into(),
            },
            ColumnType::Int => "INT".into(),
            ColumnType::Bigint => "BIGINT".into(),
            ColumnType::Decimal => format!(
                "NUMERIC({},{})",
                c.precision.unwrap_or(38),
                c.scale.unwrap_or(0)
            ),
            ColumnType::Double => "DOUBLE".into(),
            ColumnType::Boolean => "BOOLEAN".into(),
            ColumnType::Date => "DATE".into(),
            ColumnType::Timestamp => "TIMESTAMP".into(),
            ColumnType::Timestamptz => "TIMESTAMPTZ".into(),
            ColumnType::Json => "JSON".into(),
            ColumnType::Uuid => "UUID".into(),
            ColumnType::Binary => "BLOB".into(),
        }
    }

    /// An enum column is TEXT with a `CHECK` of its values.
    fn column_definition(&self, spec: super::ColumnSpec<'_>) -> String {
        let c = spec.column;
        let mut def = format!("{} {}", self.quote(&c.name), self.column_type(c));
        if let Some(d) = &c.default {
            def.push_str(" DEFAULT ");
            def.push_str(&self.literal(d, c));
        }
        if !spec.nullable {
            def.push_str(" NOT NULL");
        }
        if let Some(values) = spec.enum_values {
            let quoted: Vec<String> = values.iter().map(|v| self.string_literal(v)).collect();
            def.push_str(&format!(
                " CHECK ({} IN ({}))",
                self.quote(&c.name),
                quoted.join(", ")
            ));
        }
        def
    }

    fn literal(&self, value: &crate::model::Literal, column: &Column) -> String {
        use crate::model::Literal;
        match (value, column.column_type) {
            (Literal::Function(f), _) => self
                .default_function(f.function, column)
                .unwrap_or("NULL")
                .into(),
            (Literal::Bool(b), _) => if *b { "1" } else { "0" }.into(),
            (Literal::String(s), ColumnType::Binary) => format!("X'{s}'"),
            (Literal::String(s), ColumnType::Bigint | ColumnType::Decimal) => s.clone(),
            (Literal::String(s), _) => self.string_literal(s),
            (Literal::Number(n), _) => super::number_text(n),
        }
    }

    fn drop_index(
        &self,
        _schema: &str,
        _table: &str,
        name: &str,
        _unique: bool,
        _concurrently: bool,
    ) -> Vec<String> {
        vec![format!("DROP INDEX {}", self.quote(name))]
    }
}
