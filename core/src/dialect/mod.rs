//! SQL dialects: one unit struct per engine behind one trait. The planner asks a dialect
//! about capabilities (`supports_transactional_ddl()`) and for statements; it never
//! matches on an engine's name. Methods with a default are the common (Postgres-like)
//! SQL; each dialect overrides only what differs.

mod postgres;
mod snowflake;
mod sqlite;

pub use postgres::{identity_clause, Postgres};
pub use snowflake::Snowflake;
pub use sqlite::Sqlite;

use crate::model::{Column, ColumnType, DefaultFunction, Engine, IndexMethod, Literal};

/// An index as the planner hands it to a dialect: keys already written as SQL (quoted
/// columns, parenthesized expressions re-printed from their parse tree, with order and
/// NULLs position), the `where` condition likewise.
#[derive(Debug, Clone)]
pub struct IndexSpec<'a> {
    /// Index name.
    pub name: &'a str,
    /// The plain key columns (what a dialect that declares a unique constraint instead
    /// of an index uses).
    pub columns: Vec<String>,
    /// The keys as SQL.
    pub keys: Vec<String>,
    /// Whether the index is unique.
    pub unique: bool,
    /// The `WHERE` condition of a partial index, as SQL.
    pub predicate: Option<String>,
    /// `INCLUDE` columns.
    pub include: Vec<String>,
    /// The index method (`USING …`), when not the default.
    pub method: Option<IndexMethod>,
    /// Build without blocking writes (`CONCURRENTLY`), outside any transaction.
    pub concurrently: bool,
}

/// A column as the planner hands it to a dialect: the model column plus its effective
/// nullability (primary-key columns are never nullable).
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec<'a> {
    /// The column.
    pub column: &'a Column,
    /// Effective nullability.
    pub nullable: bool,
    /// The schema the column's table lives in (enum types are qualified with it).
    pub schema: &'a str,
    /// For an `enum` column: the enum's values (SQLite writes them as a `CHECK`).
    pub enum_values: Option<&'a [String]>,
}

/// What a dialect knows about its engine's SQL.
pub trait Dialect: Sync {
    /// The engine this dialect speaks for (as written in the plan).
    fn engine(&self) -> Engine;

    /// Whether DDL can run inside a transaction and roll back.
    fn supports_transactional_ddl(&self) -> bool {
        true
    }
    /// Whether tables live in a named schema (`"schema"."table"`).
    fn supports_schemas(&self) -> bool {
        true
    }
    /// Whether tables and columns carry comments.
    fn supports_comments(&self) -> bool {
        true
    }
    /// Whether secondary (non-unique) indexes exist.
    fn supports_secondary_indexes(&self) -> bool {
        true
    }
    /// Whether primary-key and unique constraints are enforced.
    fn enforces_constraints(&self) -> bool {
        true
    }
    /// Whether `ALTER TABLE` can change a column's type, nullability and default and the
    /// primary key in place; when not, the planner rebuilds the table.
    fn supports_alter_column(&self) -> bool {
        true
    }
    /// Whether a type change from `old` to `new` can be done in place (otherwise the
    /// column is rebuilt: add, copy, drop, rename).
    fn supports_in_place_type_change(&self, _old: &Column, _new: &Column) -> bool {
        true
    }
    /// Whether `SET DEFAULT` to a constant is possible (otherwise the column is rebuilt).
    fn supports_set_default(&self) -> bool {
        true
    }
    /// Whether the engine enforces a string column's `maxLength` (otherwise the plan
    /// notes that it is only declared).
    fn enforces_max_length(&self) -> bool {
        true
    }
    /// Whether a primary-key constraint is named after its table (and so is renamed
    /// with it).
    fn names_primary_key_after_table(&self) -> bool {
        true
    }

    /// Folds an identifier the way this engine stores it.
    fn fold(&self, name: &str) -> String {
        name.to_string()
    }
    /// Whether two identifiers name the same object on this engine.
    fn names_equal(&self, a: &str, b: &str) -> bool {
        a == b
    }
    /// A key under which identifiers that name the same object collide.
    fn name_key(&self, name: &str) -> String {
        name.to_string()
    }
    /// A quoted identifier. Identifiers are validated before they get here; quotes are
    /// doubled all the same.
    fn quote(&self, name: &str) -> String {
        format!("\"{}\"", self.fold(name).replace('"', "\"\""))
    }
    /// A table name, schema-qualified where the engine has schemas.
    fn table(&self, schema: &str, table: &str) -> String {
        if self.supports_schemas() {
            format!("{}.{}", self.quote(schema), self.quote(table))
        } else {
            self.quote(table)
        }
    }
    /// The column type in this engine's SQL, as the planner compares it.
    fn column_type(&self, column: &Column) -> String;
    /// The column type as written in statements: [`Dialect::column_type`] with named
    /// types (enums) qualified by the schema.
    fn sql_type(&self, _schema: &str, column: &Column) -> String {
        self.column_type(column)
    }
    /// Whether an existing column's identity can be added, removed or changed (in place
    /// or by a table rebuild); otherwise the planner refuses such a change (DM2025).
    fn alters_identity(&self) -> bool {
        true
    }
    /// Whether a column with a function default (`CURRENT_TIMESTAMP`) can be added to an
    /// existing table (in place or by a rebuild); otherwise the planner refuses (DM2025).
    fn adds_function_defaults(&self) -> bool {
        true
    }
    /// Whether enums are types of their own (`CREATE TYPE … AS ENUM`); otherwise an
    /// enum column is text.
    fn supports_enum_types(&self) -> bool {
        false
    }
    /// A SQL string literal.
    fn string_literal(&self, s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }
    /// The SQL for a default function (`None`: this engine has no equivalent, which
    /// validation reports before planning).
    fn default_function(&self, f: DefaultFunction, _column: &Column) -> Option<&'static str> {
        Some(match f {
            DefaultFunction::Now | DefaultFunction::CurrentTimestamp => "CURRENT_TIMESTAMP",
            DefaultFunction::CurrentDate => "CURRENT_DATE",
            DefaultFunction::CurrentTime => "CURRENT_TIME",
            DefaultFunction::GenRandomUuid => return None,
        })
    }
    /// The SQL for a default literal on a column.
    fn literal(&self, value: &Literal, column: &Column) -> String {
        match value {
            Literal::Function(f) => self
                .default_function(f.function, column)
                .unwrap_or("NULL")
                .to_string(),
            Literal::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Literal::Number(n) => number_text(n),
            Literal::String(s) => match column.column_type {
                ColumnType::Bigint | ColumnType::Decimal => s.clone(),
                _ => self.string_literal(s),
            },
        }
    }
    /// A column definition for `CREATE TABLE` / `ADD COLUMN`.
    fn column_definition(&self, spec: ColumnSpec<'_>) -> String {
        let c = spec.column;
        let mut def = format!("{} {}", self.quote(&c.name), self.column_type(c));
        if let Some(d) = &c.default {
            def.push_str(" DEFAULT ");
            def.push_str(&self.literal(d, c));
        }
        if !spec.nullable {
            def.push_str(" NOT NULL");
        }
        def
    }
    /// The name of a table's primary-key constraint
    /// ([`crate::validate::primary_key_name`]).
    fn primary_key_name(&self, table: &str) -> String {
        crate::validate::primary_key_name(table)
    }
    /// A column list `("a", "b")`.
    fn column_list(&self, cols: &[String]) -> String {
        let quoted: Vec<String> = cols.iter().map(|c| self.quote(c)).collect();
        format!("({})", quoted.join(", "))
    }
    /// An index definition (`CREATE [UNIQUE] INDEX`). Dialects without secondary indexes
    /// return a unique constraint for unique ones and nothing for others.
    fn create_index(&self, schema: &str, table: &str, ix: &IndexSpec<'_>) -> Vec<String> {
        let mut sql = format!(
            "CREATE {}INDEX {}{} ON {}",
            if ix.unique { "UNIQUE " } else { "" },
            if ix.concurrently { "CONCURRENTLY " } else { "" },
            self.quote(ix.name),
            self.table(schema, table),
        );
        if let Some(m) = ix.method {
            sql.push_str(" USING ");
            sql.push_str(m.as_str());
        }
        sql.push_str(&format!(" ({})", ix.keys.join(", ")));
        if !ix.include.is_empty() {
            sql.push_str(" INCLUDE ");
            sql.push_str(&self.column_list(&ix.include));
        }
        if let Some(w) = &ix.predicate {
            sql.push_str(" WHERE ");
            sql.push_str(w);
        }
        vec![sql]
    }
    /// Whether indexes can be built and dropped without blocking writes
    /// (`CONCURRENTLY`, outside a transaction).
    fn supports_concurrent_index_builds(&self) -> bool {
        false
    }
    /// Renames an index in place; `None` when the engine cannot (the planner then drops
    /// and re-creates it, and says so).
    fn rename_index(&self, _schema: &str, _table: &str, _old: &str, _new: &str) -> Option<String> {
        None
    }
    /// Sets or removes (`None`) a table comment.
    fn comment_table(&self, schema: &str, table: &str, comment: Option<&str>) -> String {
        let value = comment.map_or("NULL".to_string(), |c| self.string_literal(c));
        format!("COMMENT ON TABLE {} IS {value}", self.table(schema, table))
    }
    /// Sets or removes (`None`) a column comment.
    fn comment_column(
        &self,
        schema: &str,
        table: &str,
        column: &str,
        comment: Option<&str>,
    ) -> String {
        let value = comment.map_or("NULL".to_string(), |c| self.string_literal(c));
        format!(
            "COMMENT ON COLUMN {}.{} IS {value}",
            self.table(schema, table),
            self.quote(column)
        )
    }
    /// Whether materialized views exist.
    fn supports_materialized_views(&self) -> bool {
        true
    }
    /// Whether a materialized view is refreshed by a statement (otherwise the engine
    /// keeps it current itself).
    fn refreshes_materialized_views(&self) -> bool {
        true
    }
    /// Whether a view can be renamed in place (otherwise it is dropped and created).
    fn supports_view_rename(&self) -> bool {
        true
    }
    /// `VIEW` or `MATERIALIZED VIEW`.
    fn view_word(&self, materialized: bool) -> &'static str {
        if materialized {
            "MATERIALIZED VIEW"
        } else {
            "VIEW"
        }
    }
    /// Creates a view from its re-printed query.
    fn create_view(
        &self,
        schema: &str,
        name: &str,
        columns: Option<&[String]>,
        query: &str,
        materialized: bool,
    ) -> String {
        let cols = columns.map_or(String::new(), |c| format!(" {}", self.column_list(c)));
        format!(
            "CREATE {} {}{cols} AS {query}",
            self.view_word(materialized),
            self.table(schema, name)
        )
    }
    /// Drops a view.
    fn drop_view(&self, schema: &str, name: &str, materialized: bool) -> String {
        format!(
            "DROP {} {}",
            self.view_word(materialized),
            self.table(schema, name)
        )
    }
    /// Renames a view.
    fn rename_view(&self, schema: &str, old: &str, new: &str, materialized: bool) -> String {
        format!(
            "ALTER {} {} RENAME TO {}",
            self.view_word(materialized),
            self.table(schema, old),
            self.quote(new)
        )
    }
    /// Sets or removes (`None`) a view comment.
    fn comment_view(
        &self,
        schema: &str,
        name: &str,
        materialized: bool,
        comment: Option<&str>,
    ) -> String {
        let value = comment.map_or("NULL".to_string(), |c| self.string_literal(c));
        format!(
            "COMMENT ON {} {} IS {value}",
            self.view_word(materialized),
            self.table(schema, name)
        )
    }
    /// Recomputes a materialized view's rows.
    fn refresh_materialized_view(&self, schema: &str, name: &str) -> String {
        format!("REFRESH MATERIALIZED VIEW {}", self.table(schema, name))
    }
    /// Whether the engine has roles and privileges.
    fn supports_grants(&self) -> bool {
        true
    }
    /// The class word of objects created later for a grant kind (Postgres default
    /// privileges cover views with tables).
    fn future_class(&self, kind: crate::model::GrantKind) -> &'static str {
        match kind {
            crate::model::GrantKind::Sequences => "SEQUENCES",
            _ => "TABLES",
        }
    }
    /// `GRANT privileges ON object TO role` (`give`) or `REVOKE … FROM role`.
    fn grant_on_object(
        &self,
        schema: &str,
        name: &str,
        _view: bool,
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
            "{verb} {privileges} ON {} {to} {}",
            self.table(schema, name),
            self.quote(role)
        )
    }
    /// A grant (or revoke) on the schema itself.
    fn grant_on_schema(&self, schema: &str, privileges: &str, role: &str, give: bool) -> String {
        let (verb, to) = if give {
            ("GRANT", "TO")
        } else {
            ("REVOKE", "FROM")
        };
        format!(
            "{verb} {privileges} ON SCHEMA {} {to} {}",
            self.quote(schema),
            self.quote(role)
        )
    }
    /// A grant (or revoke) on every sequence of the schema.
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
            "{verb} {privileges} ON ALL SEQUENCES IN SCHEMA {} {to} {}",
            self.quote(schema),
            self.quote(role)
        )
    }
    /// A grant (or revoke) on objects of a class created later in the schema.
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
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {} {verb} {privileges} ON {class} {to} {}",
            self.quote(schema),
            self.quote(role)
        )
    }
    /// Statements that fail, naming them, when any of the roles does not exist.
    fn check_roles(&self, roles: &[String]) -> Vec<String> {
        let list: Vec<String> = roles.iter().map(|r| self.string_literal(r)).collect();
        vec![format!(
            "DO $depot$ DECLARE missing text; BEGIN SELECT string_agg(r, ', ') INTO missing FROM unnest(ARRAY[{}]::text[]) AS r WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r); IF missing IS NOT NULL THEN RAISE EXCEPTION 'role(s) % do not exist: create them or remove their grants from the package; nothing was changed', missing; END IF; END $depot$",
            list.join(", ")
        )]
    }
    /// Drops an index (`concurrently`: without blocking writes, outside a transaction;
    /// `IF EXISTS` then, as a change in the transaction before may have dropped it with
    /// its column).
    fn drop_index(
        &self,
        schema: &str,
        _table: &str,
        name: &str,
        _unique: bool,
        concurrently: bool,
    ) -> Vec<String> {
        vec![if concurrently {
            format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}",
                self.table(schema, name)
            )
        } else {
            format!("DROP INDEX {}", self.table(schema, name))
        }]
    }
}

/// The dialect for an engine. This is the only place an engine becomes a dialect.
pub fn for_engine(engine: Engine) -> &'static dyn Dialect {
    match engine {
        Engine::Postgres => &Postgres { aurora: false },
        Engine::AuroraPostgresql => &Postgres { aurora: true },
        Engine::Snowflake => &Snowflake,
        Engine::Sqlite => &Sqlite,
    }
}

/// A JSON number as SQL numeric text (ECMAScript notation, which SQL accepts).
pub fn number_text(n: &serde_json::Number) -> String {
    let mut out = Vec::new();
    crate::jcs::write_number(n, &mut out);
    String::from_utf8(out).unwrap_or_default()
}
