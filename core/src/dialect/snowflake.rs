//! Snowflake. DDL is not transactional; identifiers are upper-cased so unquoted queries
//! find them; standard tables have no secondary indexes and do not enforce primary-key or
//! unique constraints (they are declared, not enforced); few type changes are possible in
//! place; `SET DEFAULT` to a constant is not possible. Enums are VARCHAR (values not
//! enforced), arrays `ARRAY`, identity `IDENTITY(start, increment) ORDER` in new tables
//! only.

use super::Dialect;
use crate::model::{Column, ColumnType, DefaultFunction, Engine, Literal};

/// Snowflake.
#[derive(Debug, Clone, Copy)]
pub struct Snowflake;

impl Dialect for Snowflake {
    fn engine(&self) -> Engine {
        Engine::Snowflake
    }
    fn names_equal(&self, a: &str, b: &str) -> bool {
        a.eq_ignore_ascii_case(b)
    }
    fn name_key(&self, name: &str) -> String {
        name.to_ascii_uppercase()
    }
    fn supports_transactional_ddl(&self) -> bool {
        false
    }
    fn supports_secondary_indexes(&self) -> bool {
        false
    }
    fn enforces_constraints(&self) -> bool {
        false
    }
    fn supports_set_default(&self) -> bool {
        false
    }
    /// Snowflake cannot add an identity (a sequence default) to an existing column, drop
    /// it or change its start and increment, and adds columns only with constant
    /// defaults.
    fn alters_identity(&self) -> bool {
        false
    }
    fn adds_function_defaults(&self) -> bool {
        false
    }

    /// `IDENTITY(start, increment) ORDER`: values in insertion order, as Postgres and
    /// SQLite give them.
    fn column_definition(&self, spec: super::ColumnSpec<'_>) -> String {
        let c = spec.column;
        let mut def = format!("{} {}", self.quote(&c.name), self.column_type(c));
        if let Some(d) = &c.default {
            def.push_str(" DEFAULT ");
            def.push_str(&self.literal(d, c));
        }
        if c.identity.is_some() {
            def.push_str(&format!(
                " IDENTITY({}, {}) ORDER",
                c.start.unwrap_or(1),
                c.increment.unwrap_or(1)
            ));
        }
        if !spec.nullable {
            def.push_str(" NOT NULL");
        }
        def
    }
    fn supports_in_place_type_change(&self, old: &Column, new: &Column) -> bool {
        // Snowflake alters a column's type only to widen VARCHAR or NUMBER precision at
        // the same scale.
        match (self.column_type(old), self.column_type(new)) {
            (a, b) if a == b => true,
            _ => match (old.column_type, new.column_type) {
                (ColumnType::String, ColumnType::String) => {
                    match (old.max_length, new.max_length) {
                        (Some(a), Some(b)) => b >= a,
                        (Some(_), None) => true,
                        _ => false,
                    }
                }
                (ColumnType::Decimal, ColumnType::Decimal) => {
                    old.scale.unwrap_or(0) == new.scale.unwrap_or(0)
                        && new.precision.unwrap_or(38) >= old.precision.unwrap_or(38)
                }
                (ColumnType::Int, ColumnType::Bigint) | (ColumnType::Bigint, ColumnType::Int) => {
                    true
                }
                _ => false,
            },
        }
    }
    fn fold(&self, name: &str) -> String {
        name.to_ascii_uppercase()
    }
    fn primary_key_name(&self, table: &str) -> String {
        crate::validate::primary_key_name(table).to_ascii_uppercase()
    }

    fn default_function(&self, f: DefaultFunction, _column: &Column) -> Option<&'static str> {
        Some(match f {
            DefaultFunction::Now | DefaultFunction::CurrentTimestamp => "CURRENT_TIMESTAMP()",
            DefaultFunction::CurrentDate => "CURRENT_DATE()",
            DefaultFunction::CurrentTime => "CURRENT_TIME()",
            DefaultFunction::GenRandomUuid => "UUID_STRING()",
        })
    }

    fn column_type(&self, c: &Column) -> String {
        match c.column_type {
            ColumnType::Smallint => "NUMBER(38,0)".into(),
            ColumnType::Real => "FLOAT".into(),
            ColumnType::Time => "TIME".into(),
            ColumnType::Char => format!("CHAR({})", c.max_length.unwrap_or(1)),
            // Refused by validation: Snowflake has no arbitrary-precision NUMBER and no
            // interval column type.
            ColumnType::Numeric => "NUMBER(38,0)".into(),
            ColumnType::Interval => "VARCHAR".into(),
            ColumnType::Array => "ARRAY".into(),
            // Values are not enforced (a plan note says so).
            ColumnType::Enum => "VARCHAR".into(),
            ColumnType::String => match c.max_length {
                Some(n) => format!("VARCHAR({n})"),
                None => "VARCHAR".into(),
            },
            ColumnType::Int | ColumnType::Bigint => "NUMBER(38,0)".into(),
            ColumnType::Decimal => format!(
                "NUMBER({},{})",
                c.precision.unwrap_or(38),
                c.scale.unwrap_or(0)
            ),
            ColumnType::Double => "FLOAT".into(),
            ColumnType::Boolean => "BOOLEAN".into(),
            ColumnType::Date => "DATE".into(),
            ColumnType::Timestamp => "TIMESTAMP_NTZ".into(),
            ColumnType::Timestamptz => "TIMESTAMP_TZ".into(),
            ColumnType::Json => "VARIANT".into(),
            ColumnType::Uuid => "VARCHAR(36)".into(),
            ColumnType::Binary => "BINARY".into(),
        }
    }

    fn string_literal(&self, s: &str) -> String {
        // Snowflake also treats backslash as an escape inside '…'.
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
    }

    fn literal(&self, value: &Literal, column: &Column) -> String {
        match (value, column.column_type) {
            (Literal::Function(f), _) => self
                .default_function(f.function, column)
                .unwrap_or("NULL")
                .into(),
            (Literal::String(s), ColumnType::Binary) => {
                format!("TO_BINARY({}, 'HEX')", self.string_literal(s))
            }
            (Literal::String(s), ColumnType::Bigint | ColumnType::Decimal) => s.clone(),
            (Literal::String(s), _) => self.string_literal(s),
            (Literal::Number(n), _) => super::number_text(n),
            (Literal::Bool(b), _) => if *b { "TRUE" } else { "FALSE" }.into(),
        }
    }

    fn comment_table(&self, schema: &str, table: &str, comment: Option<&str>) -> String {
        match comment {
            Some(c) => format!(
                "COMMENT ON TABLE {} IS {}",
                self.table(schema, table),
                self.string_literal(c)
            ),
            None => format!("ALTER TABLE {} UNSET COMMENT", self.table(schema, table)),
        }
    }

    fn refreshes_materialized_views(&self) -> bool {
        false
    }
    fn future_class(&self, kind: crate::model::GrantKind) -> &'static str {
        match kind {
            crate::model::GrantKind::Tables => "TABLES",
            crate::model::GrantKind::Views => "VIEWS",
            crate::model::GrantKind::Sequences => "SEQUENCES",
        }
    }
    fn grant_on_object(
        &self,
        schema: &str,
        name: &str,
        view: bool,
        privileges: &str,
        role: &str,
        give: bool,
    ) -> String {
        let (verb, to) = if give {
            ("GRANT", "TO")
        } else {
            ("REVOKE", "FROM")
        };
        format!(
            "{verb} {privileges} ON {} {} {to} ROLE {}",
            if view { "VIEW" } else { "TABLE" },
            self.table(schema, name),
            self.quote(role)
        )
    }
    fn grant_on_schema(&self, schema: &str, privileges: &str, role: &str, give: bool) -> String {
        let (verb, to) = if give {
            ("GRANT", "TO")
        } else {
            ("REVOKE", "FROM")
        };
        format!(
            "{verb} {privileges} ON SCHEMA {} {to} ROLE {}",
            self.quote(schema),
            self.quote(role)
        )
    }
    fn grant_on_all_sequences(
        &self,
        schema: &str,
        privileges: &str,
        role: &str,
        give: bool,
    ) -> String {
        let (verb, to) = if give {
            ("GRANT", "TO")
        } else {
            ("REVOKE", "FROM")
        };
        format!(
            "{verb} {privileges} ON ALL SEQUENCES IN SCHEMA {} {to} ROLE {}",
            self.quote(schema),
            self.quote(role)
        )
    }
    fn grant_future(
        &self,
        schema: &str,
        class: &str,
        privileges: &str,
        role: &str,
        give: bool,
    ) -> String {
        let (verb, to) = if give {
            ("GRANT", "TO")
        } else {
            ("REVOKE", "FROM")
        };
        format!(
            "{verb} {privileges} ON FUTURE {class} IN SCHEMA {} {to} ROLE {}",
            self.quote(schema),
            self.quote(role)
        )
    }
    /// `SHOW GRANTS TO ROLE` fails when the role does not exist (Snowflake DDL does not
    /// roll back, so this runs before any other step).
    fn check_roles(&self, roles: &[String]) -> Vec<String> {
        roles
            .iter()
            .map(|r| format!("SHOW GRANTS TO ROLE {}", self.quote(r)))
            .collect()
    }
    fn comment_view(
        &self,
        schema: &str,
        name: &str,
        materialized: bool,
        comment: Option<&str>,
    ) -> String {
        let word = self.view_word(materialized);
        let view = self.table(schema, name);
        match comment {
            Some(c) => format!("COMMENT ON {word} {view} IS {}", self.string_literal(c)),
            None => format!("ALTER {word} {view} UNSET COMMENT"),
        }
    }
    fn comment_column(
        &self,
        schema: &str,
        table: &str,
        column: &str,
        comment: Option<&str>,
    ) -> String {
        match comment {
            Some(c) => format!(
                "ALTER TABLE {} MODIFY COLUMN {} COMMENT {}",
                self.table(schema, table),
                self.quote(column),
                self.string_literal(c)
            ),
            None => format!(
                "ALTER TABLE {} MODIFY COLUMN {} UNSET COMMENT",
                self.table(schema, table),
                self.quote(column)
            ),
        }
    }

    fn create_index(&self, schema: &str, table: &str, ix: &super::IndexSpec<'_>) -> Vec<String> {
        if ix.unique {
            vec![format!(
                "ALTER TABLE {} ADD CONSTRAINT {} UNIQUE {}",
                self.table(schema, table),
                self.quote(ix.name),
                self.column_list(&ix.columns)
            )]
        } else {
            Vec::new()
        }
    }

    fn drop_index(
        &self,
        schema: &str,
        table: &str,
        name: &str,
        unique: bool,
        _concurrently: bool,
    ) -> Vec<String> {
        if unique {
            vec![format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                self.table(schema, table),
                self.quote(name)
            )]
        } else {
            Vec::new()
        }
    }
}
