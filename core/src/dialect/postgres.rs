//! PostgreSQL and Aurora PostgreSQL (same SQL).

use super::Dialect;
use crate::model::{Column, ColumnType, DefaultFunction, Engine, Identity, JsonStorage, Literal};

/// `GENERATED … AS IDENTITY [(START WITH s INCREMENT BY i)]` for an identity column.
pub fn identity_clause(identity: Identity, c: &Column) -> String {
    let kind = match identity {
        Identity::Always => "ALWAYS",
        Identity::ByDefault => "BY DEFAULT",
    };
    let mut options = Vec::new();
    if let Some(s) = c.start {
        options.push(format!("START WITH {s}"));
    }
    if let Some(i) = c.increment {
        options.push(format!("INCREMENT BY {i}"));
    }
    if options.is_empty() {
        format!("GENERATED {kind} AS IDENTITY")
    } else {
        format!("GENERATED {kind} AS IDENTITY ({})", options.join(" "))
    }
}

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

    fn supports_concurrent_index_builds(&self) -> bool {
        true
    }

    fn rename_index(&self, schema: &str, _table: &str, old: &str, new: &str) -> Option<String> {
        Some(format!(
            "ALTER INDEX {} RENAME TO {}",
            self.table(schema, old),
            self.quote(new)
        ))
    }

    fn default_function(&self, f: DefaultFunction, _column: &Column) -> Option<&'static str> {
        Some(match f {
            DefaultFunction::Now => "now()",
            DefaultFunction::CurrentTimestamp => "CURRENT_TIMESTAMP",
            DefaultFunction::CurrentDate => "CURRENT_DATE",
            // CURRENT_TIME is a timetz; a `time` column takes LOCALTIME.
            DefaultFunction::CurrentTime => "LOCALTIME",
            DefaultFunction::GenRandomUuid => "gen_random_uuid()",
        })
    }

    fn column_definition(&self, spec: super::ColumnSpec<'_>) -> String {
        let c = spec.column;
        let mut def = format!("{} {}", self.quote(&c.name), self.sql_type(spec.schema, c));
        if let Some(d) = &c.default {
            def.push_str(" DEFAULT ");
            def.push_str(&self.literal(d, c));
        }
        if let Some(identity) = c.identity {
            def.push(' ');
            def.push_str(&identity_clause(identity, c));
        }
        if !spec.nullable {
            def.push_str(" NOT NULL");
        }
        def
    }

    fn supports_enum_types(&self) -> bool {
        true
    }

    /// An enum is a type of the dataset's schema: qualified, since the executor does not
    /// set `search_path`.
    fn sql_type(&self, schema: &str, c: &Column) -> String {
        match (c.column_type, c.enum_name.as_deref()) {
            (ColumnType::Enum, Some(e)) => self.table(schema, e),
            _ => self.column_type(c),
        }
    }

    fn column_type(&self, c: &Column) -> String {
        let scalar = |t: ColumnType| Column {
            column_type: t,
            items: None,
            ..c.clone()
        };
        match c.column_type {
            ColumnType::Smallint => "smallint".into(),
            ColumnType::Real => "real".into(),
            ColumnType::Time => "time".into(),
            ColumnType::Char => format!("char({})", c.max_length.unwrap_or(1)),
            ColumnType::Numeric => "numeric".into(),
            ColumnType::Interval => "interval".into(),
            ColumnType::Array => format!(
                "{}[]",
                self.column_type(&scalar(c.items.unwrap_or(ColumnType::String)))
            ),
            ColumnType::Enum => self.quote(c.enum_name.as_deref().unwrap_or("")),
            ColumnType::Json if c.json_storage == Some(JsonStorage::Text) => "json".into(),
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
            (Literal::Function(f), _) => self
                .default_function(f.function, column)
                .unwrap_or("NULL")
                .into(),
            (Literal::String(s), ColumnType::Binary) => {
                let hex = format!("\\x{}", s.to_ascii_lowercase());
                format!("{}::bytea", self.string_literal(&hex))
            }
            (Literal::String(s), ColumnType::Bigint | ColumnType::Decimal) => s.clone(),
            // The column's type turns the literal into the enum value (the catalog shows
            // the same cast as for an explicit one); no unqualified type name in SQL.
            (Literal::String(s), ColumnType::Enum) => self.string_literal(s),
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
