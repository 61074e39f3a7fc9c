//! From a live catalog to a package: what `depot-migrate inspect` writes and what
//! `adopt` verifies (docs/adopt-and-drift.md).
//!
//! The stores read their engine's catalog into a [`LiveCatalog`] (plain rows: names,
//! the engine's own type and default text, constraint definitions); this module alone
//! turns those rows into the package model, so every engine's reading is mapped the same
//! way and a new member of the model is added here once. What the model cannot express
//! comes back as [`Unrepresented`] objects, one per object, with its kind and name.
//!
//! Some forms are the same object in the database and so cannot be told apart after it
//! was created (`now` and `currentTimestamp` on SQLite, `int` and `bigint` on Snowflake,
//! a check as written and as the engine re-prints it, …). [`normalize`] maps a package to
//! the form `inspect` reads back, so that for every package `P`,
//! `inspect(database built by plan(null, P))` equals `normalize(P)`.

use crate::constraints::check_sql;
use crate::dialect::{self, number_text};
use crate::model::{
    Check, Column, ColumnType, DefaultFunction, Deferrable, Engine, EnumType, ForeignKey,
    FunctionDefault, Identity, Index, IndexKey, JsonStorage, Literal, Package, References,
    ReferentialAction, Table, UniqueConstraint,
};
use serde::{Deserialize, Serialize};
use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};

/// Everything a store read from the catalog of one schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveCatalog {
    /// Tables, in creation order.
    pub tables: Vec<LiveTable>,
    /// Enum types of the schema (name, values in order).
    pub enums: Vec<EnumType>,
    /// Objects of the schema the model has no member for (triggers, views the model
    /// cannot hold, functions, sequences not owned by an identity column, …).
    pub unrepresented: Vec<Unrepresented>,
}

/// One table as the catalog describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveTable {
    /// Table name.
    pub name: String,
    /// Table comment.
    pub comment: Option<String>,
    /// Columns, in position order.
    pub columns: Vec<LiveColumn>,
    /// Primary-key columns in key order (empty: none).
    pub primary_key: Vec<String>,
    /// Named unique constraints.
    pub unique_constraints: Vec<UniqueConstraint>,
    /// Foreign keys.
    pub foreign_keys: Vec<LiveForeignKey>,
    /// Check constraints: name and the engine's text of the expression.
    pub checks: Vec<Check>,
    /// Indexes that back no constraint.
    pub indexes: Vec<LiveIndex>,
}

/// One column as the catalog describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveColumn {
    /// Column name.
    pub name: String,
    /// The engine's type text (`character varying(200)`, `VARCHAR(200)`, `NUMBER(38,0)`).
    pub type_name: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// The engine's text of its default expression.
    pub default: Option<String>,
    /// Identity generation, when it is an identity column.
    pub identity: Option<LiveIdentity>,
    /// Column comment.
    pub comment: Option<String>,
}

/// An identity column's generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveIdentity {
    /// `GENERATED ALWAYS` (else `BY DEFAULT`).
    pub always: bool,
    /// First value.
    pub start: i64,
    /// Step.
    pub increment: i64,
}

/// A foreign key as the catalog describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveForeignKey {
    /// Constraint name.
    pub name: String,
    /// Referring columns.
    pub columns: Vec<String>,
    /// Referenced table (of the same schema; another schema is unrepresented).
    pub ref_table: String,
    /// Referenced columns.
    pub ref_columns: Vec<String>,
    /// `NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL`, `SET DEFAULT`.
    pub on_delete: String,
    /// The same words, on update.
    pub on_update: String,
    /// `DEFERRABLE`.
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`.
    pub initially_deferred: bool,
}

/// An index as the catalog describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveIndex {
    /// Index name.
    pub name: String,
    /// Key columns in order (plain column references only).
    pub columns: Vec<String>,
    /// `UNIQUE`.
    pub unique: bool,
    /// Why the model cannot hold it as an index (an expression, a predicate, another
    /// access method, included columns, a sort order or operator class), if it cannot.
    pub unsupported: Option<String>,
}

/// An object the package model cannot express: one line of `inspect`'s stderr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unrepresented {
    /// What it is (`trigger`, `function`, `policy`, `sequence`, `column type`, …).
    pub kind: String,
    /// Its name (`table.object` where it belongs to a table).
    pub name: String,
    /// Why it is left out, or what was written instead.
    pub reason: String,
}

impl std::fmt::Display for Unrepresented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.kind, self.name, self.reason)
    }
}

/// What `inspect` found: the package and everything it leaves out.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspected {
    /// The package that describes the schema.
    pub package: Package,
    /// What the model cannot express, in catalog order.
    pub unrepresented: Vec<Unrepresented>,
}

/// Maps a live catalog to a package (`namespace` is the package namespace).
pub fn package_from_catalog(engine: Engine, namespace: &str, live: &LiveCatalog) -> Inspected {
    let mut out = live.unrepresented.clone();
    let mut note = |kind: &str, name: String, reason: String| {
        out.push(Unrepresented {
            kind: kind.into(),
            name,
            reason,
        })
    };
    let enums: Vec<EnumType> = live.enums.clone();
    let mut tables = Vec::new();
    for lt in &live.tables {
        let tn = name_of(engine, &lt.name);
        let mut columns = Vec::new();
        let pk: Vec<String> = lt.primary_key.iter().map(|c| name_of(engine, c)).collect();
        for lc in &lt.columns {
            let cn = name_of(engine, &lc.name);
            let Some(mut c) = column_type(engine, &lc.type_name, &enums) else {
                note(
                    "column",
                    format!("{tn}.{cn}"),
                    format!(
                        "type {} has no package type; the column is left out",
                        lc.type_name
                    ),
                );
                continue;
            };
            c.name = cn.clone();
            let in_pk = pk.contains(&cn);
            if let Some(id) = lc.identity {
                c.identity = Some(if id.always {
                    Identity::Always
                } else {
                    Identity::ByDefault
                });
                c.start = (id.start != 1).then_some(id.start);
                c.increment = (id.increment != 1).then_some(id.increment);
            }
            if !lc.nullable && !in_pk && c.identity.is_none() {
                c.nullable = Some(false);
            }
            if lc.nullable && in_pk {
                note(
                    "column",
                    format!("{tn}.{cn}"),
                    "a nullable primary-key column; the package makes it NOT NULL".into(),
                );
            }
            if let Some(text) = lc.default.as_deref().filter(|_| c.identity.is_none()) {
                match default_literal(engine, text, &c) {
                    Some(d) => c.default = Some(d),
                    None => note(
                        "default",
                        format!("{tn}.{cn}"),
                        format!("{text} is not a literal or a known function; left out"),
                    ),
                }
            }
            c.comment = lc.comment.clone().filter(|s| !s.is_empty());
            columns.push(c);
        }
        if columns.is_empty() {
            note(
                "table",
                tn.clone(),
                "no column has a package type; the table is left out".into(),
            );
            continue;
        }
        let mut t = Table {
            name: tn.clone(),
            columns,
            primary_key: (!pk.is_empty()).then_some(pk),
            indexes: None,
            unique_constraints: None,
            foreign_keys: None,
            checks: None,
            comment: lt.comment.clone().filter(|s| !s.is_empty()),
            renamed_from: None,
        };
        let mut uniques: Vec<UniqueConstraint> = lt
            .unique_constraints
            .iter()
            .map(|u| UniqueConstraint {
                name: name_of(engine, &u.name),
                columns: u.columns.iter().map(|c| name_of(engine, c)).collect(),
            })
            .collect();
        uniques.sort_by(|a, b| a.name.cmp(&b.name));
        let mut fks = Vec::new();
        for f in &lt.foreign_keys {
            let action = |w: &str| referential_action(w);
            let (Some(del), Some(upd)) = (action(&f.on_delete), action(&f.on_update)) else {
                note(
                    "foreign key",
                    format!("{tn}.{}", f.name),
                    format!(
                        "actions {} / {} are not package actions; left out",
                        f.on_delete, f.on_update
                    ),
                );
                continue;
            };
            fks.push(ForeignKey {
                name: name_of(engine, &f.name),
                columns: f.columns.iter().map(|c| name_of(engine, c)).collect(),
                references: References {
                    table: name_of(engine, &f.ref_table),
                    columns: f.ref_columns.iter().map(|c| name_of(engine, c)).collect(),
                },
                on_delete: (del != ReferentialAction::NoAction).then_some(del),
                on_update: (upd != ReferentialAction::NoAction).then_some(upd),
                deferrable: match (f.deferrable, f.initially_deferred) {
                    (false, _) => None,
                    (true, false) => Some(Deferrable::InitiallyImmediate),
                    (true, true) => Some(Deferrable::InitiallyDeferred),
                },
            });
        }
        fks.sort_by(|a, b| a.name.cmp(&b.name));
        let mut checks = Vec::new();
        for c in &lt.checks {
            match canonical_check(engine, &t, &c.expression) {
                Ok(expression) => checks.push(Check {
                    name: name_of(engine, &c.name),
                    expression,
                }),
                Err(why) => note(
                    "check",
                    format!("{tn}.{}", c.name),
                    format!("{}: {why}; left out", c.expression),
                ),
            }
        }
        checks.sort_by(|a, b| a.name.cmp(&b.name));
        let mut indexes = Vec::new();
        for i in &lt.indexes {
            if let Some(why) = &i.unsupported {
                note("index", i.name.clone(), format!("{why}; left out"));
                continue;
            }
            indexes.push(Index {
                name: name_of(engine, &i.name),
                columns: i
                    .columns
                    .iter()
                    .map(|c| IndexKey::Column(name_of(engine, c)))
                    .collect(),
                unique: i.unique.then_some(true),
                predicate: None,
                include: None,
                method: None,
                online: None,
                renamed_from: None,
            });
        }
        indexes.sort_by(|a, b| a.name.cmp(&b.name));
        t.unique_constraints = (!uniques.is_empty()).then_some(uniques);
        t.foreign_keys = (!fks.is_empty()).then_some(fks);
        t.checks = (!checks.is_empty()).then_some(checks);
        t.indexes = (!indexes.is_empty()).then_some(indexes);
        tables.push(t);
    }
    let mut enums = enums;
    enums.sort_by(|a, b| a.name.cmp(&b.name));
    Inspected {
        package: Package {
            namespace: namespace.to_string(),
            enums: (!enums.is_empty()).then_some(enums),
            tables,
            views: None,
            grants: None,
        },
        unrepresented: out,
    }
}

/// A name as the package writes it: Snowflake stores unquoted names upper-cased, and the
/// planner upper-cases every name it creates, so an all-upper-case name reads back in
/// lower case (the same object there).
fn name_of(engine: Engine, name: &str) -> String {
    if engine == Engine::Snowflake && !name.bytes().any(|b| b.is_ascii_lowercase()) {
        name.to_ascii_lowercase()
    } else {
        name.to_string()
    }
}

fn referential_action(words: &str) -> Option<ReferentialAction> {
    Some(match words.to_ascii_uppercase().as_str() {
        "" | "NO ACTION" => ReferentialAction::NoAction,
        "RESTRICT" => ReferentialAction::Restrict,
        "CASCADE" => ReferentialAction::Cascade,
        "SET NULL" => ReferentialAction::SetNull,
        "SET DEFAULT" => ReferentialAction::SetDefault,
        _ => return None,
    })
}

fn blank(t: ColumnType) -> Column {
    Column {
        name: String::new(),
        column_type: t,
        nullable: None,
        max_length: None,
        precision: None,
        scale: None,
        enum_name: None,
        items: None,
        json_storage: None,
        identity: None,
        start: None,
        increment: None,
        default: None,
        comment: None,
        renamed_from: None,
    }
}

/// `name(a,b)` → (`name`, [a, b]).
fn type_args(text: &str) -> (String, Vec<u32>) {
    let t = text.trim();
    match t.split_once('(') {
        Some((base, rest)) => {
            let args = rest
                .trim_end_matches(')')
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect();
            (base.trim().to_ascii_lowercase(), args)
        }
        None => (t.to_ascii_lowercase(), Vec::new()),
    }
}

/// The package column (type and its attributes) for an engine's type text, if the model
/// has one.
pub fn column_type(engine: Engine, text: &str, enums: &[EnumType]) -> Option<Column> {
    match engine {
        Engine::Postgres | Engine::AuroraPostgresql => postgres_type(text, enums),
        Engine::Sqlite => sqlite_type(text),
        Engine::Snowflake => snowflake_type(text),
    }
}

fn postgres_type(text: &str, enums: &[EnumType]) -> Option<Column> {
    use ColumnType as T;
    if let Some(elem) = text.strip_suffix("[]") {
        let inner = postgres_type(elem, enums)?;
        if matches!(inner.column_type, T::Array | T::Enum | T::Json) {
            return None;
        }
        let mut c = inner;
        c.items = Some(c.column_type);
        c.column_type = T::Array;
        return Some(c);
    }
    let (base, args) = type_args(text);
    let mut c = blank(T::String);
    c.column_type = match (base.as_str(), args.as_slice()) {
        ("text", []) | ("character varying", []) => T::String,
        ("character varying", [n]) => {
            c.max_length = Some(*n);
            T::String
        }
        ("character", [n]) => {
            c.max_length = Some(*n);
            T::Char
        }
        ("integer", []) => T::Int,
        ("bigint", []) => T::Bigint,
        ("smallint", []) => T::Smallint,
        ("numeric", []) => T::Numeric,
        ("numeric", [p, s]) if (1..=38).contains(p) => {
            c.precision = Some(*p);
            c.scale = (*s != 0).then_some(*s);
            T::Decimal
        }
        ("numeric", [p]) if (1..=38).contains(p) => {
            c.precision = Some(*p);
            T::Decimal
        }
        ("double precision", []) => T::Double,
        ("real", []) => T::Real,
        ("boolean", []) => T::Boolean,
        ("date", []) => T::Date,
        ("timestamp without time zone", []) => T::Timestamp,
        ("timestamp with time zone", []) => T::Timestamptz,
        ("time without time zone", []) => T::Time,
        ("interval", []) => T::Interval,
        ("jsonb", []) => T::Json,
        ("json", []) => {
            c.json_storage = Some(JsonStorage::Text);
            T::Json
        }
        ("uuid", []) => T::Uuid,
        ("bytea", []) => T::Binary,
        _ => {
            let unquoted = text.trim_matches('"').replace("\"\"", "\"");
            let e = enums.iter().find(|e| e.name == unquoted)?;
            c.enum_name = Some(e.name.clone());
            T::Enum
        }
    };
    Some(c)
}

fn sqlite_type(text: &str) -> Option<Column> {
    use ColumnType as T;
    let (base, args) = type_args(text);
    let mut c = blank(T::String);
    c.column_type = match (base.as_str(), args.as_slice()) {
        ("text", []) | ("varchar", []) => T::String,
        ("varchar", [n]) => {
            c.max_length = Some(*n);
            T::String
        }
        ("char", [n]) => {
            c.max_length = Some(*n);
            T::Char
        }
        ("int", []) => T::Int,
        ("bigint", []) | ("integer", []) => T::Bigint,
        ("smallint", []) => T::Smallint,
        ("numeric", []) => T::Numeric,
        ("numeric", [p, s]) if (1..=38).contains(p) => {
            c.precision = Some(*p);
            c.scale = (*s != 0).then_some(*s);
            T::Decimal
        }
        ("double", []) => T::Double,
        ("real", []) => T::Real,
        ("boolean", []) => T::Boolean,
        ("date", []) => T::Date,
        ("timestamp", []) => T::Timestamp,
        ("timestamptz", []) => T::Timestamptz,
        ("time", []) => T::Time,
        ("json", []) => T::Json,
        ("uuid", []) => T::Uuid,
        ("blob", []) => T::Binary,
        _ => return None,
    };
    Some(c)
}

fn snowflake_type(text: &str) -> Option<Column> {
    use ColumnType as T;
    let (base, args) = type_args(text);
    let mut c = blank(T::String);
    c.column_type = match (base.as_str(), args.as_slice()) {
        ("varchar", []) | ("text", []) => T::String,
        ("varchar", [n]) | ("text", [n]) if *n == 16_777_216 => T::String,
        ("varchar", [n]) | ("text", [n]) => {
            c.max_length = Some(*n);
            T::String
        }
        ("char", [n]) => {
            c.max_length = Some(*n);
            T::Char
        }
        ("number", [38, 0]) | ("number", []) => T::Bigint,
        ("number", [p, s]) if (1..=38).contains(p) => {
            c.precision = Some(*p);
            c.scale = (*s != 0).then_some(*s);
            T::Decimal
        }
        ("float", []) => T::Double,
        ("boolean", []) => T::Boolean,
        ("date", []) => T::Date,
        ("timestamp_ntz", _) => T::Timestamp,
        ("timestamp_tz", _) => T::Timestamptz,
        ("time", _) => T::Time,
        ("variant", []) => T::Json,
        ("binary", _) => T::Binary,
        _ => return None,
    };
    Some(c)
}

/// The package default for an engine's default text, if it is a literal or one of the
/// known functions.
pub fn default_literal(engine: Engine, text: &str, c: &Column) -> Option<Literal> {
    let t = text.trim();
    let function = |f: DefaultFunction| Some(Literal::Function(FunctionDefault { function: f }));
    let upper = t.to_ascii_uppercase();
    match upper.as_str() {
        "NOW()" => return function(DefaultFunction::Now),
        "CURRENT_TIMESTAMP" | "CURRENT_TIMESTAMP()" => {
            return function(DefaultFunction::CurrentTimestamp)
        }
        "CURRENT_DATE" | "CURRENT_DATE()" => return function(DefaultFunction::CurrentDate),
        "LOCALTIME" | "CURRENT_TIME" | "CURRENT_TIME()" => {
            return function(DefaultFunction::CurrentTime)
        }
        "GEN_RANDOM_UUID()" | "UUID_STRING()" => return function(DefaultFunction::GenRandomUuid),
        _ => {}
    }
    // Strip one `::type` cast (Postgres), then parentheses.
    let mut body = t;
    if engine != Engine::Sqlite {
        if let Some(i) = cast_start(body) {
            body = &body[..i];
        }
    }
    let body = body.trim();
    let body = body
        .strip_prefix('(')
        .and_then(|b| b.strip_suffix(')'))
        .unwrap_or(body);
    let bool_type = c.column_type == ColumnType::Boolean;
    match body.to_ascii_lowercase().as_str() {
        "true" => return Some(Literal::Bool(true)),
        "false" => return Some(Literal::Bool(false)),
        "1" if bool_type && engine == Engine::Sqlite => return Some(Literal::Bool(true)),
        "0" if bool_type && engine == Engine::Sqlite => return Some(Literal::Bool(false)),
        _ => {}
    }
    if let Some(s) = quoted(engine, body) {
        return Some(match c.column_type {
            ColumnType::Int
            | ColumnType::Bigint
            | ColumnType::Smallint
            | ColumnType::Decimal
            | ColumnType::Numeric
            | ColumnType::Double
            | ColumnType::Real
                if s.parse::<f64>().is_ok() =>
            {
                numeric_literal(&s)
            }
            ColumnType::Boolean => match s.as_str() {
                "t" | "true" => Literal::Bool(true),
                "f" | "false" => Literal::Bool(false),
                _ => return None,
            },
            ColumnType::Binary => Literal::String(s.strip_prefix("\\x")?.to_ascii_lowercase()),
            _ => Literal::String(s),
        });
    }
    if engine == Engine::Sqlite {
        if let Some(hex) = body
            .strip_prefix("X'")
            .or_else(|| body.strip_prefix("x'"))
            .and_then(|h| h.strip_suffix('\''))
        {
            return Some(Literal::String(hex.to_ascii_lowercase()));
        }
    }
    if let Some(hex) = body
        .strip_prefix("TO_BINARY(")
        .and_then(|b| b.strip_suffix(", 'HEX')"))
        .and_then(|b| quoted(engine, b))
    {
        return Some(Literal::String(hex.to_ascii_lowercase()));
    }
    if body.parse::<f64>().is_ok() && !body.contains(['e', 'E', 'x', 'X', 'n', 'N']) {
        return Some(numeric_literal(body));
    }
    None
}

/// Where a trailing `::type` starts (outside quotes).
fn cast_start(text: &str) -> Option<usize> {
    let mut in_quote = false;
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' => in_quote = !in_quote,
            b':' if !in_quote && b.get(i + 1) == Some(&b':') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The text of a single-quoted SQL string (`'it''s'`, Postgres `E'…'`).
fn quoted(engine: Engine, text: &str) -> Option<String> {
    let (escape, body) = match text.strip_prefix("E'") {
        Some(rest) => (true, rest),
        None => (engine == Engine::Snowflake, text.strip_prefix('\'')?),
    };
    let body = body.strip_suffix('\'')?;
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            '\'' => return None,
            '\\' if escape => out.push(chars.next()?),
            other => out.push(other),
        }
    }
    Some(out)
}

/// A number default as the package writes it when it reads one back: a JSON number
/// while it survives as one (at most 15 significant digits), else the exact text as a
/// string; trailing fractional zeros are not kept (the engine pads to the scale).
pub fn numeric_literal(text: &str) -> Literal {
    let mut t = text.trim().trim_start_matches('+').to_string();
    if t.contains('.') && !t.contains(['e', 'E']) {
        t = t.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if t.is_empty() || t == "-" {
        t = "0".into();
    }
    let digits = t.bytes().filter(u8::is_ascii_digit).count();
    if digits <= 15 {
        if let Ok(i) = t.parse::<i64>() {
            return Literal::Number(i.into());
        }
        if let Some(n) = t.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            return Literal::Number(n);
        }
    }
    Literal::String(t)
}

/// A check expression in the form `inspect` writes: parsed, the engine's additions
/// undone (the parentheses and casts Postgres adds, `= ANY (ARRAY[…])` for `IN`,
/// `BETWEEN` spelled out, `~~` for `LIKE`), parenthesized the same way whatever was
/// written, then re-printed by the core's check parser, which validates it.
pub fn canonical_check(engine: Engine, table: &Table, expression: &str) -> Result<String, String> {
    let mut expr = crate::constraints::parse_check(expression, Some(engine))?;
    simplify(&mut expr);
    let text = parenthesize(&expr, true);
    let d = dialect::for_engine(engine);
    check_sql(
        &text,
        table,
        Some(engine),
        engine.identifier_folding(),
        &|n| d.quote(n),
    )
}

fn simplify(e: &mut Expr) {
    loop {
        let replaced = match e {
            Expr::Nested(inner) => Some((**inner).clone()),
            Expr::Cast { expr, .. }
                if matches!(
                    **expr,
                    Expr::Value(_) | Expr::Identifier(_) | Expr::Nested(_) | Expr::UnaryOp { .. }
                ) =>
            {
                let mut inner = (**expr).clone();
                simplify(&mut inner);
                // `'-5'::integer`: a number written as a string for the cast.
                if let Expr::Value(v) = &inner {
                    if let Value::SingleQuotedString(s) = &v.value {
                        if s.parse::<f64>().is_ok() && is_numeric_cast(e) {
                            Some(number_expr(s))
                        } else {
                            Some(inner)
                        }
                    } else {
                        Some(inner)
                    }
                } else {
                    Some(inner)
                }
            }
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } => array_elems(right).map(|list| Expr::InList {
                expr: left.clone(),
                list,
                negated: false,
            }),
            Expr::AllOp {
                left,
                compare_op: BinaryOperator::NotEq,
                right,
            } => array_elems(right).map(|list| Expr::InList {
                expr: left.clone(),
                list,
                negated: true,
            }),
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let (a, b, join) = if *negated {
                    (BinaryOperator::Lt, BinaryOperator::Gt, BinaryOperator::Or)
                } else {
                    (
                        BinaryOperator::GtEq,
                        BinaryOperator::LtEq,
                        BinaryOperator::And,
                    )
                };
                Some(Expr::BinaryOp {
                    left: Box::new(Expr::BinaryOp {
                        left: expr.clone(),
                        op: a,
                        right: low.clone(),
                    }),
                    op: join,
                    right: Box::new(Expr::BinaryOp {
                        left: expr.clone(),
                        op: b,
                        right: high.clone(),
                    }),
                })
            }
            Expr::BinaryOp {
                left,
                op: op @ (BinaryOperator::PGLikeMatch | BinaryOperator::PGNotLikeMatch),
                right,
            } => Some(Expr::Like {
                negated: *op == BinaryOperator::PGNotLikeMatch,
                any: false,
                expr: left.clone(),
                pattern: right.clone(),
                escape_char: None,
            }),
            _ => None,
        };
        match replaced {
            Some(r) => *e = r,
            None => break,
        }
    }
    match e {
        Expr::BinaryOp { left, right, .. } => {
            simplify(left);
            simplify(right);
        }
        Expr::UnaryOp { expr, .. }
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsNotTrue(expr)
        | Expr::IsFalse(expr)
        | Expr::IsNotFalse(expr) => simplify(expr),
        Expr::InList { expr, list, .. } => {
            simplify(expr);
            list.iter_mut().for_each(simplify);
        }
        Expr::Like { expr, pattern, .. } => {
            simplify(expr);
            simplify(pattern);
        }
        Expr::Function(f) => {
            if let sqlparser::ast::FunctionArguments::List(l) = &mut f.args {
                for a in &mut l.args {
                    if let sqlparser::ast::FunctionArg::Unnamed(
                        sqlparser::ast::FunctionArgExpr::Expr(x),
                    ) = a
                    {
                        simplify(x);
                    }
                }
            }
        }
        _ => {}
    }
}

fn is_numeric_cast(e: &Expr) -> bool {
    let Expr::Cast { data_type, .. } = e else {
        return false;
    };
    let t = data_type.to_string().to_ascii_lowercase();
    [
        "int", "numeric", "decimal", "double", "real", "float", "bigint", "smallint",
    ]
    .iter()
    .any(|k| t.contains(k))
}

fn number_expr(text: &str) -> Expr {
    let t = text.trim();
    match t.strip_prefix('-') {
        Some(rest) => Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: Box::new(Expr::value(Value::Number(rest.to_string(), false))),
        },
        None => Expr::value(Value::Number(t.to_string(), false)),
    }
}

fn array_elems(e: &Expr) -> Option<Vec<Expr>> {
    let mut e = e;
    loop {
        match e {
            Expr::Nested(inner) => e = inner,
            Expr::Cast { expr, .. } => e = expr,
            _ => break,
        }
    }
    match e {
        Expr::Array(a) => Some(a.elem.clone()),
        _ => None,
    }
}

/// Prints an expression with every compound operand in parentheses, so two trees print
/// the same whatever parentheses were written around them.
fn parenthesize(e: &Expr, top: bool) -> String {
    let wrap = |s: String| if top { s } else { format!("({s})") };
    match e {
        Expr::BinaryOp { left, op, right } => wrap(format!(
            "{} {op} {}",
            parenthesize(left, false),
            parenthesize(right, false)
        )),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } if matches!(&**expr, Expr::Value(_)) => format!("-{expr}"),
        Expr::UnaryOp { op, expr } => {
            let sep = if *op == UnaryOperator::Not { " " } else { "" };
            wrap(format!("{op}{sep}{}", parenthesize(expr, false)))
        }
        Expr::IsNull(x) => wrap(format!("{} IS NULL", parenthesize(x, false))),
        Expr::IsNotNull(x) => wrap(format!("{} IS NOT NULL", parenthesize(x, false))),
        Expr::IsTrue(x) => wrap(format!("{} IS TRUE", parenthesize(x, false))),
        Expr::IsNotTrue(x) => wrap(format!("{} IS NOT TRUE", parenthesize(x, false))),
        Expr::IsFalse(x) => wrap(format!("{} IS FALSE", parenthesize(x, false))),
        Expr::IsNotFalse(x) => wrap(format!("{} IS NOT FALSE", parenthesize(x, false))),
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let items: Vec<String> = list.iter().map(|x| parenthesize(x, true)).collect();
            wrap(format!(
                "{} {}IN ({})",
                parenthesize(expr, false),
                if *negated { "NOT " } else { "" },
                items.join(", ")
            ))
        }
        Expr::Like {
            negated,
            expr,
            pattern,
            ..
        } => wrap(format!(
            "{} {}LIKE {}",
            parenthesize(expr, false),
            if *negated { "NOT " } else { "" },
            parenthesize(pattern, false)
        )),
        other => other.to_string(),
    }
}

/// The package in the form `inspect` reads back from a database that `plan(null, P)`
/// built (docs/adopt-and-drift.md, "What inspect cannot tell apart"): rename hints
/// dropped; members at their default left out (`nullable` where it is implied,
/// `unique: false`, `noAction`, `deferrable: no`, identity `start`/`increment` 1);
/// constraints, indexes and enums in name order; number defaults as they read back,
/// binary defaults in lower case; checks in [`canonical_check`] form; and per engine the
/// forms that are one object there (see [`engine_form`]).
pub fn normalize(engine: Engine, p: &Package) -> Package {
    let mut p = p.clone();
    let comments = dialect::for_engine(engine).supports_comments();
    if let Some(enums) = &mut p.enums {
        for e in enums.iter_mut() {
            e.renamed_from = None;
        }
        enums.sort_by(|a, b| a.name.cmp(&b.name));
    }
    for t in &mut p.tables {
        t.renamed_from = None;
        let pk = t.primary_key.clone().unwrap_or_default();
        for c in &mut t.columns {
            c.renamed_from = None;
            let in_pk = pk.iter().any(|k| k == &c.name);
            c.nullable = (!c.is_nullable(in_pk) && !in_pk && c.identity.is_none()).then_some(false);
            if c.start == Some(1) {
                c.start = None;
            }
            if c.increment == Some(1) {
                c.increment = None;
            }
            if c.scale == Some(0) {
                c.scale = None;
            }
            if c.json_storage == Some(JsonStorage::Jsonb) {
                c.json_storage = None;
            }
            if c.comment.as_deref() == Some("") || !comments {
                c.comment = None;
            }
            c.default = c.default.take().map(|d| match d {
                Literal::Number(n) if numeric(c.column_type) => numeric_literal(&number_text(&n)),
                Literal::String(s) if numeric(c.column_type) && s.parse::<f64>().is_ok() => {
                    numeric_literal(&s)
                }
                Literal::String(s) if c.column_type == ColumnType::Binary => {
                    Literal::String(s.to_ascii_lowercase())
                }
                other => other,
            });
            engine_form(engine, c);
        }
        if t.comment.as_deref() == Some("") || !comments {
            t.comment = None;
        }
        if let Some(ix) = &mut t.indexes {
            for i in ix.iter_mut() {
                if i.unique == Some(false) {
                    i.unique = None;
                }
                // A build option (CONCURRENTLY), not part of the catalog.
                i.online = None;
                i.renamed_from = None;
            }
            ix.sort_by(|a, b| a.name.cmp(&b.name));
        }
        if let Some(u) = &mut t.unique_constraints {
            u.sort_by(|a, b| a.name.cmp(&b.name));
        }
        if let Some(fks) = &mut t.foreign_keys {
            for f in fks.iter_mut() {
                if f.on_delete == Some(ReferentialAction::NoAction) {
                    f.on_delete = None;
                }
                if f.on_update == Some(ReferentialAction::NoAction) {
                    f.on_update = None;
                }
                if f.deferrable == Some(Deferrable::No) {
                    f.deferrable = None;
                }
            }
            fks.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let snapshot = t.clone();
        if let Some(checks) = &mut t.checks {
            for c in checks.iter_mut() {
                if let Ok(e) = canonical_check(engine, &snapshot, &c.expression) {
                    c.expression = e;
                }
            }
            checks.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }
    p
}

fn numeric(t: ColumnType) -> bool {
    matches!(
        t,
        ColumnType::Int
            | ColumnType::Bigint
            | ColumnType::Smallint
            | ColumnType::Decimal
            | ColumnType::Numeric
            | ColumnType::Double
            | ColumnType::Real
    )
}

/// The forms one engine stores as the same object, mapped to the one `inspect` reads:
/// on SQLite `now` is `CURRENT_TIMESTAMP` (`currentTimestamp`); on Snowflake `int`,
/// `smallint` and `bigint` are all `NUMBER(38,0)` (`bigint`), `uuid` is `VARCHAR(36)`
/// (a `string` of 36), `real` is `FLOAT` (`double`), `now` is `CURRENT_TIMESTAMP()`, and
/// names are stored upper case (read back in lower case).
pub fn engine_form(engine: Engine, c: &mut Column) {
    let now = Some(Literal::Function(FunctionDefault {
        function: DefaultFunction::Now,
    }));
    match engine {
        Engine::Sqlite => {
            if c.default == now {
                c.default = Some(Literal::Function(FunctionDefault {
                    function: DefaultFunction::CurrentTimestamp,
                }));
            }
        }
        Engine::Snowflake => {
            if c.default == now {
                c.default = Some(Literal::Function(FunctionDefault {
                    function: DefaultFunction::CurrentTimestamp,
                }));
            }
            match c.column_type {
                ColumnType::Int | ColumnType::Smallint => c.column_type = ColumnType::Bigint,
                ColumnType::Real => c.column_type = ColumnType::Double,
                ColumnType::Uuid => {
                    c.column_type = ColumnType::String;
                    c.max_length = Some(36);
                }
                _ => {}
            }
            c.name = name_of(engine, &c.name.to_ascii_uppercase());
        }
        Engine::Postgres | Engine::AuroraPostgresql => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(cols: &[(&str, ColumnType)]) -> Table {
        Table {
            name: "t".into(),
            columns: cols
                .iter()
                .map(|(n, t)| {
                    let mut c = blank(*t);
                    c.name = n.to_string();
                    c
                })
                .collect(),
            primary_key: None,
            indexes: None,
            unique_constraints: None,
            foreign_keys: None,
            checks: None,
            comment: None,
            renamed_from: None,
        }
    }

    #[test]
    fn postgres_check_forms_read_back_as_written() {
        let t = table(&[
            ("amount", ColumnType::Decimal),
            ("status", ColumnType::String),
            ("n", ColumnType::Int),
        ]);
        let pg = Engine::Postgres;
        let same = |written: &str, stored: &str| {
            assert_eq!(
                canonical_check(pg, &t, written).expect(written),
                canonical_check(pg, &t, stored).expect(stored),
                "{written} vs {stored}"
            );
        };
        same("amount >= 0", "((amount >= (0)::numeric))");
        same(
            "status IN ('a', 'b')",
            "((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))",
        );
        same("n BETWEEN 1 AND 5", "(((n >= 1) AND (n <= 5)))");
        same("n > -5", "((n > '-5'::integer))");
        same("status LIKE 'a%'", "((status)::text ~~ 'a%'::text)");
        same(
            "(n > 1 OR n < 0) AND amount > 0",
            "((((n > 1) OR (n < 0)) AND (amount > (0)::numeric)))",
        );
        // Parentheses that change the meaning are kept.
        assert_ne!(
            canonical_check(pg, &t, "(n > 1 OR n < 0) AND n > 2").expect("reads"),
            canonical_check(pg, &t, "n > 1 OR n < 0 AND n > 2").expect("reads")
        );
    }

    #[test]
    fn types_and_defaults_read_back() {
        let pg = Engine::Postgres;
        let c = column_type(pg, "character varying(200)", &[]).expect("reads");
        assert_eq!(
            (c.column_type, c.max_length),
            (ColumnType::String, Some(200))
        );
        let c = column_type(pg, "numeric(10,2)", &[]).expect("reads");
        assert_eq!((c.precision, c.scale), (Some(10), Some(2)));
        let c = column_type(pg, "integer[]", &[]).expect("reads");
        assert_eq!(
            (c.column_type, c.items),
            (ColumnType::Array, Some(ColumnType::Int))
        );
        assert!(column_type(pg, "point", &[]).is_none());
        let dec = column_type(pg, "numeric(10,2)", &[]).expect("reads");
        assert_eq!(
            default_literal(pg, "1.50", &dec),
            Some(numeric_literal("1.5"))
        );
        let text = column_type(pg, "text", &[]).expect("reads");
        assert_eq!(
            default_literal(pg, "'it''s'::text", &text),
            Some(Literal::String("it's".into()))
        );
        assert_eq!(
            default_literal(pg, "nextval('s'::regclass)", &text),
            None,
            "a sequence default is not a package default"
        );
        let int = column_type(pg, "integer", &[]).expect("reads");
        assert_eq!(
            default_literal(pg, "'-5'::integer", &int),
            Some(Literal::Number((-5).into()))
        );
    }
}
