//! SQLite, the embedded default. It has no schemas and no comments, and its `ALTER TABLE`
//! cannot change a column's type, nullability or default or the primary key: the planner
//! rebuilds the table for those (create new, copy, drop, rename, in one transaction).

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

    fn drop_index(&self, _schema: &str, _table: &str, name: &str, _unique: bool) -> Vec<String> {
        vec![format!("DROP INDEX {}", self.quote(name))]
    }
}
