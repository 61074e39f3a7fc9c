//! Checks for the members that describe a service schema beyond columns and indexes:
//! package enums, identity columns, named unique constraints, foreign keys, check
//! constraints, function defaults and the types that need an attribute (`char`,
//! `array`, `enum`), plus what each engine cannot store.
//!
//! A check expression is SQL text. It is parsed with `sqlparser` for the engine's
//! dialect, accepted only when it is one boolean expression over the table's own columns
//! built from literals, operators, `IN`, `BETWEEN`, `IS [NOT] NULL`, `LIKE` and an
//! allow-list of pure functions, and emitted re-printed from the parsed tree
//! ([`check_sql`]), never as written: it cannot carry a second statement.

use crate::error::{show, Code, JsonPath, LazyPath, Problem};
use crate::load::closest;
use crate::model::{
    Column, ColumnType, DefaultFunction, Engine, IdentifierFolding, Identity, Literal, Package,
    ReferentialAction, Table,
};
use crate::validate::HashMap;
use crate::validate::{check_identifier, is_identifier, primary_key_name, rename_hint, Paths};
use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectNamePart,
    UnaryOperator, Value,
};
use std::borrow::Cow;

/// Pure functions a check expression may call (lower case).
pub const CHECK_FUNCTIONS: &[&str] = &[
    "lower",
    "upper",
    "length",
    "char_length",
    "abs",
    "trim",
    "ltrim",
    "rtrim",
    "coalesce",
    "round",
    "floor",
    "ceil",
];

/// Longest check expression accepted, in bytes.
pub const MAX_CHECK_LENGTH: usize = 4096;

/// Whether a default function fits a column's type; the error says what would.
pub fn function_fits(f: DefaultFunction, c: &Column) -> Result<(), String> {
    use ColumnType::*;
    let ok = match f {
        DefaultFunction::Now | DefaultFunction::CurrentTimestamp => {
            matches!(c.column_type, Timestamp | Timestamptz)
        }
        DefaultFunction::CurrentDate => c.column_type == Date,
        DefaultFunction::CurrentTime => c.column_type == Time,
        DefaultFunction::GenRandomUuid => c.column_type == Uuid,
    };
    if ok {
        return Ok(());
    }
    let fits = match f {
        DefaultFunction::Now | DefaultFunction::CurrentTimestamp => "timestamp or timestamptz",
        DefaultFunction::CurrentDate => "date",
        DefaultFunction::CurrentTime => "time",
        DefaultFunction::GenRandomUuid => "uuid",
    };
    Err(format!(
        "default function {} gives a {fits} value and does not fit a {} column; change the function or the type",
        show(f.as_str()),
        c.column_type.as_str()
    ))
}

fn engine_name(engine: Engine) -> &'static str {
    engine.as_str()
}

/// Parses a check expression for an engine and returns it re-printed from the parse
/// tree, with every column reference quoted as the engine's dialect writes it
/// (`quote`). The error says what is not allowed.
pub fn check_sql(
    expression: &str,
    table: &Table,
    engine: Option<Engine>,
    folding: IdentifierFolding,
    quote: &dyn Fn(&str) -> String,
) -> Result<String, String> {
    let expr = checked_expr(expression, table, engine, folding, quote)?;
    let ctx = Walk {
        table,
        folding,
        quote,
    };
    if !ctx.is_boolean(&expr) {
        return Err("the expression is not a condition (a comparison, IN, BETWEEN, IS [NOT] NULL, LIKE, NOT, AND or OR); write one, like \"amount >= 0\"".to_string());
    }
    Ok(expr.to_string())
}

/// Parses an expression (an index key like `lower(email)`) with the same parser and
/// allow-list as [`check_sql`], without requiring a condition, and returns it re-printed
/// from the parse tree with every column reference quoted by `quote`.
pub fn expression_sql(
    expression: &str,
    table: &Table,
    engine: Option<Engine>,
    folding: IdentifierFolding,
    quote: &dyn Fn(&str) -> String,
) -> Result<String, String> {
    let expr = checked_expr(expression, table, engine, folding, quote)?;
    if matches!(expr, Expr::Value(_)) {
        return Err("the expression is a constant, which indexes nothing; use a column or an expression over columns".to_string());
    }
    Ok(expr.to_string())
}

fn checked_expr(
    expression: &str,
    table: &Table,
    engine: Option<Engine>,
    folding: IdentifierFolding,
    quote: &dyn Fn(&str) -> String,
) -> Result<Expr, String> {
    if expression.len() > MAX_CHECK_LENGTH {
        return Err(format!(
            "the expression is {} bytes long (at most {MAX_CHECK_LENGTH}); shorten it",
            expression.len()
        ));
    }
    if expression.contains('\0') {
        return Err("the expression contains a NUL character; remove it".to_string());
    }
    let mut expr = parse_check(expression, engine)?;
    let mut ctx = Walk {
        table,
        folding,
        quote,
    };
    ctx.expr(&mut expr, 0)?;
    Ok(expr)
}

pub(crate) fn parse_check(expression: &str, engine: Option<Engine>) -> Result<Expr, String> {
    use sqlparser::dialect::{Dialect, GenericDialect, PostgreSqlDialect, SQLiteDialect};
    use sqlparser::parser::Parser;
    use sqlparser::tokenizer::Token;
    let dialect: &dyn Dialect = match engine {
        Some(Engine::Postgres | Engine::AuroraPostgresql) => &PostgreSqlDialect {},
        Some(Engine::Sqlite) => &SQLiteDialect {},
        _ => &GenericDialect {},
    };
    let mut parser = Parser::new(dialect)
        .with_recursion_limit(32)
        .try_with_sql(expression)
        .map_err(|e| format!("the expression does not parse ({e}); fix the SQL"))?;
    let expr = parser
        .parse_expr()
        .map_err(|e| format!("the expression does not parse ({e}); fix the SQL"))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(format!(
            "the expression continues after a complete expression, at {}; a check is one expression, never a statement list",
            show(&next.token.to_string())
        ));
    }
    Ok(expr)
}

struct Walk<'a> {
    table: &'a Table,
    folding: IdentifierFolding,
    quote: &'a dyn Fn(&str) -> String,
}

impl Walk<'_> {
    /// Checks every node against the allow-list and rewrites column references to the
    /// declared, quoted column name.
    fn expr(&mut self, e: &mut Expr, depth: usize) -> Result<(), String> {
        if depth > 32 {
            return Err("the expression is nested too deeply; simplify it".to_string());
        }
        let d = depth + 1;
        match e {
            Expr::Identifier(ident) => {
                let name = ident.value.clone();
                let found = self
                    .table
                    .columns
                    .iter()
                    .find(|c| self.folding.same(&c.name, &name));
                match found {
                    Some(c) => {
                        // Re-printed as the dialect quotes it: the quoted form carries
                        // the exact declared name.
                        let quoted = (self.quote)(&c.name);
                        ident.value = quoted[1..quoted.len() - 1].replace("\"\"", "\"");
                        ident.quote_style = Some('"');
                        Ok(())
                    }
                    None => {
                        let names: Vec<&str> =
                            self.table.columns.iter().map(|c| c.name.as_str()).collect();
                        let hint = closest(&name, &names)
                            .map(|n| format!("did you mean \"{n}\"? "))
                            .unwrap_or_default();
                        Err(format!(
                            "the expression names {}, which is not a column of table {}; {hint}a check may use only the table's own columns",
                            show(&name),
                            show(&self.table.name)
                        ))
                    }
                }
            }
            Expr::Value(v) => match &v.value {
                Value::Number(..)
                | Value::SingleQuotedString(_)
                | Value::Boolean(_)
                | Value::Null => Ok(()),
                other => Err(format!(
                    "literal {} is not allowed; use plain numbers, 'single-quoted' strings, TRUE, FALSE or NULL",
                    show(&other.to_string())
                )),
            },
            Expr::Nested(inner) => self.expr(inner, d),
            Expr::UnaryOp { op, expr } => match op {
                UnaryOperator::Plus | UnaryOperator::Minus | UnaryOperator::Not => {
                    self.expr(expr, d)
                }
                other => Err(format!("operator {other} is not allowed in a check")),
            },
            Expr::BinaryOp { left, op, right } => {
                use BinaryOperator::*;
                match op {
                    Plus | Minus | Multiply | Divide | Modulo | StringConcat | Gt | Lt | GtEq
                    | LtEq | Eq | NotEq | And | Or => {}
                    other => return Err(format!("operator {other} is not allowed in a check")),
                }
                self.expr(left, d)?;
                self.expr(right, d)
            }
            Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsTrue(x)
            | Expr::IsNotTrue(x)
            | Expr::IsFalse(x)
            | Expr::IsNotFalse(x) => self.expr(x, d),
            Expr::InList { expr, list, .. } => {
                self.expr(expr, d)?;
                if list.is_empty() {
                    return Err("IN () needs at least one value".to_string());
                }
                for x in list {
                    self.expr(x, d)?;
                }
                Ok(())
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                self.expr(expr, d)?;
                self.expr(low, d)?;
                self.expr(high, d)
            }
            Expr::Like {
                expr,
                pattern,
                any: false,
                escape_char: None,
                ..
            } => {
                self.expr(expr, d)?;
                self.expr(pattern, d)
            }
            Expr::Function(f) => {
                let name = match f.name.0.as_slice() {
                    [ObjectNamePart::Identifier(i)] if i.quote_style.is_none() => {
                        i.value.to_ascii_lowercase()
                    }
                    _ => String::new(),
                };
                if !CHECK_FUNCTIONS.contains(&name.as_str()) {
                    return Err(format!(
                        "function {} is not allowed in a check; use one of {}",
                        show(&f.name.to_string()),
                        CHECK_FUNCTIONS.join(", ")
                    ));
                }
                if f.filter.is_some()
                    || f.over.is_some()
                    || f.null_treatment.is_some()
                    || !f.within_group.is_empty()
                    || f.uses_odbc_syntax
                    || !matches!(f.parameters, FunctionArguments::None)
                {
                    return Err(format!(
                        "function {name} may only be called with plain arguments"
                    ));
                }
                let FunctionArguments::List(list) = &mut f.args else {
                    return Err(format!("function {name} needs an argument list"));
                };
                if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                    return Err(format!(
                        "function {name} may only be called with plain arguments"
                    ));
                }
                for arg in &mut list.args {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => self.expr(x, d)?,
                        _ => {
                            return Err(format!(
                                "function {name} may only be called with plain arguments"
                            ))
                        }
                    }
                }
                Ok(())
            }
            other => Err(format!(
                "{} is not allowed in a check; use columns, literals, operators, IN, BETWEEN, IS [NOT] NULL, LIKE and {}",
                show(&other.to_string()),
                CHECK_FUNCTIONS.join(", ")
            )),
        }
    }

    /// Whether the (already checked) expression yields a boolean.
    fn is_boolean(&self, e: &Expr) -> bool {
        use BinaryOperator::*;
        match e {
            Expr::Nested(x) => self.is_boolean(x),
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                ..
            } => true,
            Expr::BinaryOp { op, .. } => {
                matches!(op, Gt | Lt | GtEq | LtEq | Eq | NotEq | And | Or)
            }
            Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsNotTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotFalse(_)
            | Expr::InList { .. }
            | Expr::Between { .. }
            | Expr::Like { .. } => true,
            Expr::Value(v) => matches!(v.value, Value::Boolean(_)),
            Expr::Identifier(i) => self.table.columns.iter().any(|c| {
                self.folding.same(&c.name, &i.value) && c.column_type == ColumnType::Boolean
            }),
            _ => false,
        }
    }
}

/// What holds a name in the schema-wide namespace of constraints, described (formatted)
/// only when a collision is reported.
enum Holder<'p> {
    Table(&'p str),
    PrimaryKey(&'p str),
    Index(&'p str, &'p str),
    Described(String),
}

impl std::fmt::Display for Holder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::Table(t) => write!(f, "table {}", show(t)),
            Holder::PrimaryKey(t) => write!(f, "the primary key of table {}", show(t)),
            Holder::Index(ix, t) => write!(f, "index {} of table {}", show(ix), show(t)),
            Holder::Described(d) => f.write_str(d),
        }
    }
}

/// What holds a name in the schema-wide namespace of constraints.
fn relation_names<'p>(
    pkg: &'p Package,
    folding: IdentifierFolding,
) -> HashMap<Cow<'p, str>, Holder<'p>> {
    let mut names: HashMap<Cow<'p, str>, Holder<'p>> =
        HashMap::with_capacity_and_hasher(pkg.tables.len() * 2, Default::default());
    for t in &pkg.tables {
        names
            .entry(folding.fold(&t.name))
            .or_insert(Holder::Table(&t.name));
        if t.primary_key.is_some() && is_identifier(&t.name) {
            names
                .entry(Cow::Owned(
                    folding.fold(&primary_key_name(&t.name)).into_owned(),
                ))
                .or_insert(Holder::PrimaryKey(&t.name));
        }
        for ix in t.indexes.iter().flatten() {
            names
                .entry(folding.fold(&ix.name))
                .or_insert(Holder::Index(&ix.name, &t.name));
        }
    }
    names
}

/// The checks of this module on a package (called by [`crate::validate::package`]).
pub fn validate(
    pkg: &Package,
    engine: Option<Engine>,
    folding: IdentifierFolding,
    table_path: &dyn Fn(usize) -> JsonPath,
    paths: Option<&Paths>,
    problems: &mut Vec<Problem>,
) {
    let incomplete = paths.is_some_and(|p| p.incomplete);
    let root = JsonPath::root();
    let mut names = relation_names(pkg, folding);
    // Enums: names unique among enums and tables (a Postgres table is also a type).
    let mut enum_index: HashMap<Cow<'_, str>, usize> = HashMap::default();
    for (i, e) in pkg.enums.iter().flatten().enumerate() {
        let p = root.key("enums").index(i);
        if check_identifier(&e.name, "enum", &|| p.key("name"), problems) {
            let folded = folding.fold(&e.name);
            if let Some(owner) = names.get(&folded) {
                problems.push(Problem::new(
                    Code::DuplicateConstraint,
                    p.key("name"),
                    format!(
                        "enum name {} is already used by {owner}; types, tables and constraints share the schema's names, so rename the enum",
                        show(&e.name)
                    ),
                ));
            } else {
                names.insert(
                    folded.clone(),
                    Holder::Described(format!("enum {}", show(&e.name))),
                );
                enum_index.insert(folded, i);
            }
        }
        if e.values.is_empty() {
            problems.push(Problem::new(
                Code::EmptyList,
                p.key("values"),
                format!("enum {} has no values; list at least one", show(&e.name)),
            ));
        }
        for (k, v) in e.values.iter().enumerate() {
            let bad = if v.is_empty() {
                Some("is empty".to_string())
            } else if v.len() > 63 {
                Some(format!("is {} bytes long (at most 63)", v.len()))
            } else if v.chars().any(char::is_control) {
                Some("contains a control character".to_string())
            } else {
                None
            };
            if let Some(why) = bad {
                problems.push(Problem::new(
                    Code::UnknownEnumType,
                    p.key("values").index(k),
                    format!(
                        "enum value {} {why}; use 1 to 63 bytes of printable text",
                        show(v)
                    ),
                ));
            } else if e.values[..k].contains(v) {
                problems.push(Problem::new(
                    Code::UnknownEnumType,
                    p.key("values").index(k),
                    format!(
                        "enum {} lists value {} twice; keep one",
                        show(&e.name),
                        show(v)
                    ),
                ));
            }
        }
        if let Some(hint) = &e.renamed_from {
            rename_hint(
                hint,
                &e.name,
                &p.key("renamedFrom"),
                "enum",
                folding,
                |n| pkg.enums.iter().flatten().any(|o| folding.same(&o.name, n)),
                problems,
            );
        }
    }
    let find_table = |name: &str| pkg.tables.iter().position(|t| folding.same(&t.name, name));
    for (i, t) in pkg.tables.iter().enumerate() {
        let tp_of = || table_path(i);
        let tp = LazyPath(&tp_of);
        let broken = |j: usize| {
            paths.is_some_and(|p| p.broken_columns.get(i).is_some_and(|b| b.contains(&j)))
        };
        let find = |name: &str| t.columns.iter().find(|c| folding.same(&c.name, name));
        let pk: &[String] = t.primary_key.as_deref().unwrap_or(&[]);
        let mut identities = 0;
        for (j, c) in t.columns.iter().enumerate() {
            if broken(j) {
                continue;
            }
            let cp_of = || tp.key("columns").index(j);
            let cp = LazyPath(&cp_of);
            column(
                c,
                &cp,
                t,
                pk,
                pkg,
                engine,
                folding,
                &enum_index,
                incomplete,
                problems,
            );
            if c.identity.is_some() {
                identities += 1;
                if identities > 1 {
                    problems.push(Problem::new(
                        Code::InvalidIdentity,
                        cp.key("identity"),
                        format!(
                            "table {} already has an identity column; keep one",
                            show(&t.name)
                        ),
                    ));
                }
            }
        }
        // Named unique constraints.
        for (k, u) in t.unique_constraints.iter().flatten().enumerate() {
            let p = tp.key("uniqueConstraints").index(k);
            constraint_name(
                &u.name,
                "unique constraint",
                &t.name,
                &p,
                folding,
                &mut names,
                problems,
            );
            key_list(
                &u.columns,
                &p.key("columns"),
                &format!("unique constraint {}", show(&u.name)),
                t,
                folding,
                problems,
            );
        }
        // Foreign keys.
        for (k, fk) in t.foreign_keys.iter().flatten().enumerate() {
            let p = tp.key("foreignKeys").index(k);
            let what = format!("foreign key {}", show(&fk.name));
            constraint_name(
                &fk.name,
                "foreign key",
                &t.name,
                &p,
                folding,
                &mut names,
                problems,
            );
            key_list(&fk.columns, &p.key("columns"), &what, t, folding, problems);
            let rp = p.key("references");
            let Some(ti) = find_table(&fk.references.table) else {
                if !incomplete {
                    let tables: Vec<&str> = pkg.tables.iter().map(|t| t.name.as_str()).collect();
                    let hint = closest(&fk.references.table, &tables)
                        .map(|n| format!("did you mean \"{n}\"? "))
                        .unwrap_or_default();
                    problems.push(Problem::new(
                        Code::InvalidForeignKey,
                        rp.key("table"),
                        format!(
                            "{what} references table {}, which this package does not have; {hint}reference one of its tables",
                            show(&fk.references.table)
                        ),
                    ));
                }
                continue;
            };
            let target = &pkg.tables[ti];
            key_list(
                &fk.references.columns,
                &rp.key("columns"),
                &what,
                target,
                folding,
                problems,
            );
            if fk.references.columns.len() != fk.columns.len() {
                problems.push(Problem::new(
                    Code::InvalidForeignKey,
                    rp.key("columns"),
                    format!(
                        "{what} has {} column(s) but references {}; list as many referenced columns as referring ones",
                        fk.columns.len(),
                        fk.references.columns.len()
                    ),
                ));
                continue;
            }
            // The target must be the primary key or a unique constraint, as a set.
            let same_set = |a: &[String], b: &[String]| {
                a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| folding.same(x, y)))
            };
            let is_key = target
                .primary_key
                .as_deref()
                .is_some_and(|k| same_set(k, &fk.references.columns))
                || target
                    .unique_constraints
                    .iter()
                    .flatten()
                    .any(|u| same_set(&u.columns, &fk.references.columns));
            if !is_key {
                problems.push(Problem::new(
                    Code::InvalidForeignKey,
                    rp.key("columns"),
                    format!(
                        "{what} references ({}) of table {}, which are not its primary key or one of its unique constraints; reference those, or add a unique constraint on them",
                        fk.references.columns.join(", "),
                        show(&target.name)
                    ),
                ));
            }
            for (m, (a, b)) in fk.columns.iter().zip(&fk.references.columns).enumerate() {
                let (Some(ca), Some(cb)) = (
                    find(a),
                    target.columns.iter().find(|c| folding.same(&c.name, b)),
                ) else {
                    continue;
                };
                if !same_key_type(ca, cb) {
                    problems.push(Problem::new(
                        Code::InvalidForeignKey,
                        p.key("columns").index(m),
                        format!(
                            "{what}: column {} is {} but the referenced {}.{} is {}; make the types the same",
                            show(a),
                            describe_type(ca),
                            target.name,
                            cb.name,
                            describe_type(cb)
                        ),
                    ));
                }
                if fk.on_delete == Some(ReferentialAction::SetNull)
                    || fk.on_update == Some(ReferentialAction::SetNull)
                {
                    let in_pk = pk.iter().any(|k| folding.same(k, &ca.name));
                    if !ca.is_nullable(in_pk) {
                        problems.push(Problem::new(
                            Code::InvalidForeignKey,
                            p.key("columns").index(m),
                            format!(
                                "{what} sets column {} to NULL, which it does not accept; make it nullable or choose another action",
                                show(a)
                            ),
                        ));
                    }
                }
            }
        }
        // Checks.
        for (k, ck) in t.checks.iter().flatten().enumerate() {
            let p = tp.key("checks").index(k);
            constraint_name(
                &ck.name, "check", &t.name, &p, folding, &mut names, problems,
            );
            if engine == Some(Engine::Snowflake) {
                problems.push(Problem::new(
                    Code::UnsupportedOnEngine,
                    p.clone(),
                    format!(
                        "check {}: Snowflake has no check constraints; remove the check, or enforce it where the data is written",
                        show(&ck.name)
                    ),
                ));
                continue;
            }
            let quote = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
            if let Err(why) = check_sql(&ck.expression, t, engine, folding, &quote) {
                problems.push(Problem::new(
                    Code::InvalidCheck,
                    p.key("expression"),
                    format!("check {}: {why}", show(&ck.name)),
                ));
            }
        }
    }
}

fn same_key_type(a: &Column, b: &Column) -> bool {
    use ColumnType::*;
    let norm = |t: ColumnType| match t {
        Char => String,
        t => t,
    };
    norm(a.column_type) == norm(b.column_type)
        && match a.column_type {
            Decimal => a.precision == b.precision && a.scale.unwrap_or(0) == b.scale.unwrap_or(0),
            Enum => a.enum_name == b.enum_name,
            Array => a.items == b.items,
            _ => true,
        }
}

fn describe_type(c: &Column) -> String {
    match c.column_type {
        ColumnType::Decimal => format!(
            "decimal({},{})",
            c.precision.unwrap_or(0),
            c.scale.unwrap_or(0)
        ),
        ColumnType::Enum => format!("enum {}", c.enum_name.as_deref().unwrap_or("")),
        ColumnType::Array => format!("array of {}", c.items.map_or("?", ColumnType::as_str)),
        t => t.as_str().to_string(),
    }
}

fn constraint_name<'p>(
    name: &'p str,
    what: &str,
    table: &str,
    path: &JsonPath,
    folding: IdentifierFolding,
    names: &mut HashMap<Cow<'p, str>, Holder<'p>>,
    problems: &mut Vec<Problem>,
) {
    if !check_identifier(name, what, &|| path.key("name"), problems) {
        return;
    }
    let folded = folding.fold(name);
    if let Some(owner) = names.get(&folded) {
        problems.push(Problem::new(
            Code::DuplicateConstraint,
            path.key("name"),
            format!(
                "{what} name {} is already used by {owner}; constraint names are unique per schema, so rename it",
                show(name)
            ),
        ));
    } else {
        names.insert(
            folded,
            Holder::Described(format!("{what} {} of table {}", show(name), show(table))),
        );
    }
}

/// A list of key columns: not empty, each a column of the table, none twice, none json.
fn key_list(
    cols: &[String],
    path: &JsonPath,
    what: &str,
    t: &Table,
    folding: IdentifierFolding,
    problems: &mut Vec<Problem>,
) {
    if cols.is_empty() {
        problems.push(Problem::new(
            Code::EmptyList,
            path,
            format!("{what} has no columns; list at least one"),
        ));
    }
    for (k, name) in cols.iter().enumerate() {
        match t.columns.iter().find(|c| folding.same(&c.name, name)) {
            None => {
                let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
                let hint = closest(name, &names)
                    .map(|n| format!("did you mean \"{n}\"? "))
                    .unwrap_or_default();
                problems.push(Problem::new(
                    Code::InvalidForeignKey,
                    path.index(k),
                    format!(
                        "{what} names column {}, which table {} does not have; {hint}use one of its columns",
                        show(name),
                        show(&t.name)
                    ),
                ))
            }
            Some(c) if matches!(c.column_type, ColumnType::Json | ColumnType::Array) => problems
                .push(Problem::new(
                    Code::NotIndexable,
                    path.index(k),
                    format!(
                        "{what} uses {} column {}, which cannot be a key; use another column",
                        c.column_type.as_str(),
                        show(name)
                    ),
                )),
            Some(_) => {}
        }
        if cols[..k].iter().any(|o| folding.same(o, name)) {
            problems.push(Problem::new(
                Code::DuplicateKeyColumn,
                path.index(k),
                format!(
                    "{what} lists column {} twice; remove the repeat",
                    show(name)
                ),
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn column(
    c: &Column,
    path: &LazyPath<'_>,
    t: &Table,
    pk: &[String],
    pkg: &Package,
    engine: Option<Engine>,
    folding: IdentifierFolding,
    enums: &HashMap<Cow<'_, str>, usize>,
    incomplete: bool,
    problems: &mut Vec<Problem>,
) {
    let ty = c.column_type;
    let not_allowed = |attr: &str, owner: &str| {
        Problem::new(
            Code::AttributeNotAllowed,
            path.key(attr),
            format!(
                "\"{attr}\" applies only to {owner} columns, not {}; remove it or change the type",
                ty.as_str()
            ),
        )
    };
    // enum
    match (ty, &c.enum_name) {
        (ColumnType::Enum, None) => problems.push(Problem::new(
            Code::MissingField,
            path.key("enum"),
            format!(
                "enum column {} needs \"enum\": the name of one of the package's enums",
                show(&c.name)
            ),
        )),
        (ColumnType::Enum, Some(name)) => match enums.get(&folding.fold(name)) {
            None if !incomplete => {
                let known: Vec<&str> = pkg
                    .enums
                    .iter()
                    .flatten()
                    .map(|e| e.name.as_str())
                    .collect();
                let hint = closest(name, &known)
                    .map(|n| format!("did you mean \"{n}\"? "))
                    .unwrap_or_default();
                problems.push(Problem::new(
                    Code::UnknownEnumType,
                    path.key("enum"),
                    format!(
                        "column {} uses enum {}, which the package does not define; {hint}add it to \"enums\" or use one of {}",
                        show(&c.name),
                        show(name),
                        if known.is_empty() { "(none defined)".to_string() } else { known.join(", ") }
                    ),
                ));
            }
            None => {}
            Some(&i) => {
                let e = &pkg.enums.as_deref().unwrap_or_default()[i];
                if let Some(Literal::String(v)) = &c.default {
                    if !e.values.contains(v) {
                        problems.push(Problem::new(
                            Code::InvalidDefault,
                            path.key("default"),
                            format!(
                                "default {} is not a value of enum {}; use one of {}",
                                show(v),
                                show(&e.name),
                                e.values.join(", ")
                            ),
                        ));
                    }
                }
            }
        },
        (_, Some(_)) => problems.push(not_allowed("enum", "enum")),
        _ => {}
    }
    // array
    match (ty, c.items) {
        (ColumnType::Array, None) => problems.push(Problem::new(
            Code::MissingField,
            path.key("items"),
            format!("array column {} needs \"items\": the element type, like \"int\"", show(&c.name)),
        )),
        (ColumnType::Array, Some(items))
            if matches!(items, ColumnType::Array | ColumnType::Enum | ColumnType::Interval) =>
        {
            problems.push(Problem::new(
                Code::InvalidEnum,
                path.key("items"),
                format!(
                    "arrays of {} are not supported; use a scalar element type like int, string or uuid",
                    items.as_str()
                ),
            ))
        }
        (_, Some(_)) if ty != ColumnType::Array => problems.push(not_allowed("items", "array")),
        _ => {}
    }
    let elem = match (ty, c.items) {
        (ColumnType::Array, Some(i)) => i,
        (t, _) => t,
    };
    if elem == ColumnType::Char && c.max_length.is_none() {
        problems.push(Problem::new(
            Code::InvalidMaxLength,
            path.key("maxLength"),
            format!(
                "char column {} needs its length; add \"maxLength\" (1 to {})",
                show(&c.name),
                crate::validate::MAX_STRING_LENGTH
            ),
        ));
    }
    if c.json_storage.is_some() && ty != ColumnType::Json {
        problems.push(not_allowed("jsonStorage", "json"));
    }
    // identity
    let in_pk = pk.iter().any(|k| folding.same(k, &c.name));
    match c.identity {
        None => {
            for (attr, v) in [("start", c.start), ("increment", c.increment)] {
                if v.is_some() {
                    problems.push(Problem::new(
                        Code::AttributeNotAllowed,
                        path.key(attr),
                        format!("\"{attr}\" applies only to identity columns; add \"identity\" or remove it"),
                    ));
                }
            }
        }
        Some(identity) => {
            let bad = |why: String| Problem::new(Code::InvalidIdentity, path.key("identity"), why);
            if !matches!(
                ty,
                ColumnType::Int | ColumnType::Bigint | ColumnType::Smallint
            ) {
                problems.push(bad(format!(
                    "identity column {} is {}; identity needs smallint, int or bigint",
                    show(&c.name),
                    ty.as_str()
                )));
            }
            if c.nullable == Some(true) {
                problems.push(Problem::new(
                    Code::InvalidIdentity,
                    path.key("nullable"),
                    format!(
                        "identity column {} never holds NULL; remove \"nullable\": true",
                        show(&c.name)
                    ),
                ));
            }
            if c.default.is_some() {
                problems.push(Problem::new(
                    Code::InvalidIdentity,
                    path.key("default"),
                    format!(
                        "identity column {} takes its values from its sequence; remove \"default\"",
                        show(&c.name)
                    ),
                ));
            }
            if c.increment == Some(0) {
                problems.push(Problem::new(
                    Code::InvalidIdentity,
                    path.key("increment"),
                    "increment 0 would repeat one value; use a non-zero step".to_string(),
                ));
            }
            let (lo, hi) = match ty {
                ColumnType::Smallint => (i16::MIN as i64, i16::MAX as i64),
                ColumnType::Int => (i32::MIN as i64, i32::MAX as i64),
                _ => (i64::MIN, i64::MAX),
            };
            for (attr, v) in [("start", c.start), ("increment", c.increment)] {
                if let Some(v) = v.filter(|v| *v < lo || *v > hi) {
                    problems.push(Problem::new(
                        Code::InvalidIdentity,
                        path.key(attr),
                        format!(
                            "{attr} {v} does not fit a {} column; use {lo} to {hi}",
                            ty.as_str()
                        ),
                    ));
                }
            }
            match engine {
                Some(Engine::Sqlite) => {
                    let single_pk = pk.len() == 1 && in_pk;
                    if !single_pk || !matches!(ty, ColumnType::Int | ColumnType::Bigint) {
                        problems.push(bad(format!(
                            "sqlite: an identity column must be the table's only primary-key column, of type int or bigint (SQLite's INTEGER PRIMARY KEY); make {} the primary key or remove \"identity\"",
                            show(&c.name)
                        )));
                    }
                    if identity == Identity::Always {
                        problems.push(bad(format!(
                            "sqlite accepts explicit values in an INTEGER PRIMARY KEY, so it cannot refuse them as \"always\" asks; use \"byDefault\" for column {}",
                            show(&c.name)
                        )));
                    }
                    if c.start.is_some() || c.increment.is_some() {
                        problems.push(bad(format!(
                            "sqlite numbers an INTEGER PRIMARY KEY from the largest existing value plus one; remove \"start\" and \"increment\" from column {}",
                            show(&c.name)
                        )));
                    }
                }
                Some(Engine::Snowflake) if identity == Identity::Always => {
                    problems.push(bad(format!(
                        "snowflake accepts explicit values in an IDENTITY column, so it cannot refuse them as \"always\" asks; use \"byDefault\" for column {}",
                        show(&c.name)
                    )));
                }
                _ => {}
            }
        }
    }
    // What an engine cannot store.
    if let Some(e) = engine {
        let unsupported =
            |what: String| Problem::new(Code::UnsupportedOnEngine, path.key("type"), what);
        match (e, elem) {
            (Engine::Snowflake, ColumnType::Numeric) => problems.push(unsupported(format!(
                "snowflake has no arbitrary-precision NUMBER; give column {} the type decimal with a precision (at most 38)",
                show(&c.name)
            ))),
            (Engine::Snowflake | Engine::Sqlite, ColumnType::Interval) => problems.push(unsupported(format!(
                "{} has no interval column type; store column {} as a number of seconds (bigint) or as text",
                engine_name(e),
                show(&c.name)
            ))),
            _ => {}
        }
        if let (Engine::Sqlite, Some(Literal::Function(f))) = (e, &c.default) {
            if f.function == DefaultFunction::GenRandomUuid {
                problems.push(Problem::new(
                    Code::UnsupportedOnEngine,
                    path.key("default"),
                    format!(
                        "sqlite has no UUID generator; remove the default of column {} and let the application set it",
                        show(&c.name)
                    ),
                ));
            }
        }
    }
    let _ = t;
}

/// Members the planner cannot migrate yet on this engine, one problem each: a plan
/// that silently skipped them would not reach the schema the package describes.
pub fn planner_unsupported(pkg: &Package, engine: Engine) -> Vec<Problem> {
    let root = JsonPath::root();
    let mut out = Vec::new();
    let refuse = |path: JsonPath, what: &str, out: &mut Vec<Problem>| {
        out.push(Problem::new(
            Code::UnsupportedOnEngine,
            path,
            format!(
                "{}: the planner does not migrate {what} yet; remove it from the package for now",
                engine.as_str()
            ),
        ));
    };
    for (i, t) in pkg.tables.iter().enumerate() {
        let tp = root.key("tables").index(i);
        // Postgres and SQLite plan all three; Snowflake declares unique constraints and
        // foreign keys (checks are refused by validation there).
        if t.checks.is_some() && engine == Engine::Snowflake {
            refuse(tp.key("checks"), "checks", &mut out);
        }
        for (j, c) in t.columns.iter().enumerate() {
            let cp = tp.key("columns").index(j);
            if planned_type(c.column_type, engine).is_none() {
                refuse(
                    cp.key("type"),
                    &format!("{} columns", c.column_type.as_str()),
                    &mut out,
                );
            }
        }
    }
    out
}

/// Whether the planner migrates columns of this type on this engine.
fn planned_type(t: ColumnType, engine: Engine) -> Option<()> {
    use ColumnType::*;
    let postgres = matches!(engine, Engine::Postgres | Engine::AuroraPostgresql);
    match t {
        // Refused by validation already (SQLite and Snowflake have no interval type).
        Interval if !postgres => None,
        _ => Some(()),
    }
}
