//! PostgreSQL and Aurora PostgreSQL (same SQL).

use super::Dialect;
use crate::model::{Column, ColumnType, Engine, Literal};

/// PostgreSQL; `aurora` only changes the engine name written in plans.
#[derive(Debug, Clone, Copy)]
pub struct Postgres {
    /// Aurora PostgreSQL rather than PostgreSQL.
    pub aurora: bool,
}

impl Dialect for Postgres {
    fn engine(&self) -> Engine {
        if self.aurora {
            Engine::AuroraPostgresql
        } else {
            Engine::Postgres
        }
    }

    fn column_type(&self, c: &Column) -> String {
        match c.column_type {
            ColumnType::String => match c.max_length {
                Some(n) => format!("varchar({n})"),
                None => "text".into(),
            },
            ColumnType::Int => "integer".into(),
            ColumnType::Bigint => "bigint".into(),
            ColumnType::Decimal => format!(
                "numeric({},{})",
                c.precision.unwrap_or(38),
                c.scale.unwrap_or(0)
            ),
            ColumnType::Double => "double precision".into(),
            ColumnType::Boolean => "boolean".into(),
            ColumnType::Date => "date".into(),
            ColumnType::Timestamp => "timestamp".into(),
            ColumnType::Timestamptz => "timestamptz".into(),
            ColumnType::Json => "jsonb".into(),
            ColumnType::Uuid => "uuid".into(),
            ColumnType::Binary => "bytea".into(),
        }
    }

    /// Every string literal goes through here. Without a backslash, `'…'` with quotes
    /// doubled means the same whatever `standard_conforming_strings` is; with one, the
    /// escape-string form `E'…'` (backslashes doubled too) does, so the SQL stays safe on
    /// a server or role with `standard_conforming_strings = off` (see docs/security.md).
    fn string_literal(&self, s: &str) -> String {
        if s.contains('\\') {
            format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
        } else {
            format!("'{}'", s.replace('\'', "''"))
        }
    }

    fn literal(&self, value: &Literal, column: &Column) -> String {
        match (value, column.column_type) {
            (Literal::String(s), ColumnType::Binary) => {
                let hex = format!("\\x{}", s.to_ascii_lowercase());
                format!("{}::bytea", self.string_literal(&hex))
            }
            (Literal::String(s), ColumnType::Bigint | ColumnType::Decimal) => s.clone(),
            (Literal::String(s), _) => {
                format!("{}::{}", self.string_literal(s), self.column_type(column))
            }
            (Literal::Number(n), _) => {
                format!("{}::{}", super::number_text(n), self.column_type(column))
            }
            (Literal::Bool(b), _) => if *b { "true" } else { "false" }.into(),
        }
    }
}
