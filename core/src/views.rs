//! Views: checking a view's query and knowing what it reads.
//!
//! A view's `query` is SQL text. It is parsed with `sqlparser` for the engine's dialect
//! and accepted only when it is one `SELECT` (or a `UNION`/`INTERSECT`/`EXCEPT` of
//! `SELECT`s) that reads only the package's own tables and views, named without a
//! schema, and is built from the allow-list below. It is emitted re-printed from the
//! parse tree ([`analyze`]) with every table, view, alias and column name quoted as the
//! engine's dialect writes it and every table and view qualified with the dataset's
//! schema, never as written: it cannot carry a second statement or reach another schema.
//!
//! The allow-list (docs/views-and-grants.md):
//! - `SELECT [DISTINCT] expr [AS name], …` (no `*`: a view's columns are fixed when it is
//!   created, so the package lists them), `FROM` tables and views of the package with
//!   optional aliases, `[INNER | LEFT | RIGHT | FULL] JOIN … ON …` and `CROSS JOIN`,
//!   `WHERE`, `GROUP BY`, `HAVING`, `ORDER BY … [ASC | DESC] [NULLS FIRST | LAST]`,
//!   `LIMIT`/`OFFSET` with a number;
//! - expressions as in check constraints (`crate::constraints`): columns (`col` or
//!   `alias.col`), plain literals, arithmetic, comparison, `AND`/`OR`/`NOT`, `||`, `IN
//!   (list)`, `BETWEEN`, `IS [NOT] NULL`, `LIKE`, the check functions
//!   ([`crate::constraints::CHECK_FUNCTIONS`]) and `nullif`, plus `CASE … END` and the
//!   aggregates `count` (also `count(*)` and `count(DISTINCT x)`), `sum`, `avg`, `min`,
//!   `max` (not in `WHERE`, `ON` or `GROUP BY`);
//! - nothing else: no subqueries, `WITH`, window functions, casts, other schemas, other
//!   functions, locking clauses or statements of any other kind.

use crate::constraints::CHECK_FUNCTIONS;
use crate::error::{show, Code, JsonPath, Problem};
use crate::load::closest;
use crate::model::{Engine, IdentifierFolding, Package, View};
use crate::validate::{check_identifier, is_identifier};
use sqlparser::ast::{
    BinaryOperator, Distinct, DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr,
    FunctionArguments, GroupByExpr, Ident, JoinConstraint, JoinOperator, ObjectName,
    ObjectNamePart, OrderByKind, Query, Select, SelectFlavor, SelectItem, SetExpr, SetOperator,
    Statement, TableFactor, UnaryOperator, Value,
};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Scalar functions a view may call besides the check functions (lower case).
pub const VIEW_SCALAR_FUNCTIONS: &[&str] = &["nullif"];
/// Aggregate functions a view may call (lower case).
pub const VIEW_AGGREGATES: &[&str] = &["count", "sum", "avg", "min", "max"];
/// Longest view query accepted, in bytes.
pub const MAX_QUERY_LENGTH: usize = 16384;

/// What a view's query is, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The query re-printed from the parse tree, names quoted and schema-qualified.
    pub sql: String,
    /// The tables and views it reads (declared names, each once, in order of appearance).
    pub relations: Vec<String>,
    /// The columns it reads: (relation, column), declared names, each once.
    pub columns: Vec<(String, String)>,
    /// The view's column names (the `columns` member, or the names the query gives).
    pub output: Vec<String>,
}

/// How names are written for the engine.
pub struct Names<'a> {
    /// The engine (`None`: validation without one, generic SQL).
    pub engine: Option<Engine>,
    /// How the engine folds identifiers.
    pub folding: IdentifierFolding,
    /// A quoted identifier.
    pub quote: &'a dyn Fn(&str) -> String,
    /// The name parts of a relation of the dataset (`[schema, name]` or `[name]`).
    pub qualify: &'a dyn Fn(&str) -> Vec<String>,
}

/// A relation a view may read: a table or another view, with its columns.
#[derive(Debug, Clone)]
pub struct Relation {
    /// Declared name.
    pub name: String,
    /// Declared column names.
    pub columns: Vec<String>,
}

/// The relations of a package a view can read: every table, and every view whose
/// output is known (`outputs`, by view index).
fn relation_of(
    pkg: &Package,
    outputs: &[Option<Vec<String>>],
    folding: IdentifierFolding,
    name: &str,
) -> Option<Relation> {
    if let Some(t) = pkg.tables.iter().find(|t| folding.same(&t.name, name)) {
        return Some(Relation {
            name: t.name.clone(),
            columns: t.columns.iter().map(|c| c.name.clone()).collect(),
        });
    }
    let views = pkg.views.as_deref().unwrap_or_default();
    let i = views.iter().position(|v| folding.same(&v.name, name))?;
    outputs.get(i).cloned().flatten().map(|columns| Relation {
        name: views[i].name.clone(),
        columns,
    })
}

/// Parses a view query: exactly one statement, and that a query.
pub fn parse(query: &str, engine: Option<Engine>) -> Result<Box<Query>, String> {
    use sqlparser::dialect::{
        Dialect, GenericDialect, PostgreSqlDialect, SQLiteDialect, SnowflakeDialect,
    };
    use sqlparser::parser::Parser;
    if query.len() > MAX_QUERY_LENGTH {
        return Err(format!(
            "the query is {} bytes long (at most {MAX_QUERY_LENGTH}); shorten it",
            query.len()
        ));
    }
    if query.contains('\0') {
        return Err("the query contains a NUL character; remove it".to_string());
    }
    let dialect: &dyn Dialect = match engine {
        Some(Engine::Postgres | Engine::AuroraPostgresql) => &PostgreSqlDialect {},
        Some(Engine::Sqlite) => &SQLiteDialect {},
        Some(Engine::Snowflake) => &SnowflakeDialect {},
        None => &GenericDialect {},
    };
    let mut statements = Parser::new(dialect)
        .with_recursion_limit(48)
        .try_with_sql(query)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| format!("the query does not parse ({e}); fix the SQL"))?;
    if statements.len() != 1 {
        return Err(format!(
            "the query holds {} statements; a view is exactly one SELECT",
            statements.len()
        ));
    }
    match statements.pop() {
        Some(Statement::Query(q)) => Ok(q),
        Some(other) => {
            let text = other.to_string();
            let word = text.split_whitespace().next().unwrap_or("");
            Err(format!(
                "the query is a {} statement; a view is exactly one SELECT",
                show(word)
            ))
        }
        None => Err("the query is empty; write one SELECT".to_string()),
    }
}

/// The relation names a query reads (as written), for ordering views before they are
/// checked in full. A query that does not parse reads nothing.
pub fn relations_named(query: &str, engine: Option<Engine>) -> Vec<String> {
    fn set(s: &SetExpr, out: &mut Vec<String>) {
        match s {
            SetExpr::Select(sel) => {
                for twj in &sel.from {
                    for f in
                        std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation))
                    {
                        if let TableFactor::Table { name, .. } = f {
                            if let Some(ObjectNamePart::Identifier(i)) = name.0.last() {
                                out.push(i.value.clone());
                            }
                        }
                    }
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                set(left, out);
                set(right, out);
            }
            SetExpr::Query(q) => set(&q.body, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(q) = parse(query, engine) {
        set(&q.body, &mut out);
    }
    out
}

/// Checks a view's query against the package and returns it re-printed, with what it
/// reads. `outputs` holds the columns of the package's views checked so far (by view
/// index; a view may read only views whose columns are known).
pub fn analyze(
    view: &View,
    pkg: &Package,
    outputs: &[Option<Vec<String>>],
    names: &Names<'_>,
) -> Result<Analysis, String> {
    let mut q = parse(&view.query, names.engine)?;
    let mut w = Walker {
        pkg,
        outputs,
        names,
        relations: Vec::new(),
        columns: Vec::new(),
        view,
    };
    let out = w.query(&mut q, 0)?;
    let output = match &view.columns {
        Some(cols) => {
            if cols.len() != out.len() {
                return Err(format!(
                    "\"columns\" lists {} name(s) but the query gives {} column(s); list one name per selected expression",
                    cols.len(),
                    out.len()
                ));
            }
            cols.clone()
        }
        None => {
            let mut names_out = Vec::new();
            for (k, o) in out.into_iter().enumerate() {
                match o {
                    Some(n) => names_out.push(n),
                    None => {
                        return Err(format!(
                            "selected expression {} has no name; give it one with AS, or list the view's \"columns\"",
                            k + 1
                        ))
                    }
                }
            }
            names_out
        }
    };
    for (k, n) in output.iter().enumerate() {
        if !is_identifier(n) {
            return Err(format!(
                "view column name {} is not an identifier; rename it to match ^[A-Za-z_][A-Za-z0-9_]{{0,62}}$",
                show(n)
            ));
        }
        if output[..k].iter().any(|o| names.folding.same(o, n)) {
            return Err(format!(
                "the view has two columns named {}; rename one with AS or in \"columns\"",
                show(n)
            ));
        }
    }
    Ok(Analysis {
        sql: q.to_string(),
        relations: w.relations,
        columns: w.columns,
        output,
    })
}

/// One relation in a `FROM` clause: the name it is referred to by and what it is.
struct Entry {
    /// The alias, or the relation's declared name.
    refname: String,
    rel: Relation,
}

/// The output names of a set expression and, for a plain SELECT, its scope.
type SetOutput = (Vec<Option<String>>, Option<Vec<Entry>>);

struct Walker<'a> {
    pkg: &'a Package,
    outputs: &'a [Option<Vec<String>>],
    names: &'a Names<'a>,
    relations: Vec<String>,
    columns: Vec<(String, String)>,
    view: &'a View,
}

/// Where an expression stands, which decides whether aggregates are allowed and
/// whether output names can be referred to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// `WHERE`, `ON`, `GROUP BY`: no aggregates.
    Row,
    /// The select list and `HAVING`.
    Group,
}

fn quoted_ident(quote: &dyn Fn(&str) -> String, name: &str) -> Ident {
    let q = quote(name);
    let inner = q
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(&q)
        .replace("\"\"", "\"");
    Ident::with_quote('"', inner)
}

fn not_allowed(what: &str) -> String {
    format!("{what} is not allowed in a view; see docs/views-and-grants.md for what a view may use")
}

impl Walker<'_> {
    fn query(&mut self, q: &mut Query, depth: usize) -> Result<Vec<Option<String>>, String> {
        if q.with.is_some() {
            return Err(not_allowed("WITH"));
        }
        if q.fetch.is_some()
            || !q.locks.is_empty()
            || q.for_clause.is_some()
            || q.settings.is_some()
            || q.format_clause.is_some()
            || !q.limit_by.is_empty()
        {
            return Err(not_allowed("FETCH, FOR UPDATE/SHARE and similar clauses"));
        }
        let (out, scope) = self.set(&mut q.body, depth)?;
        if let Some(ob) = &mut q.order_by {
            if ob.interpolate.is_some() {
                return Err(not_allowed("INTERPOLATE"));
            }
            let OrderByKind::Expressions(list) = &mut ob.kind else {
                return Err(not_allowed("ORDER BY ALL"));
            };
            for o in list {
                if o.with_fill.is_some() {
                    return Err(not_allowed("WITH FILL"));
                }
                // An output name first (as SQL resolves ORDER BY), then a column.
                if let Expr::Identifier(i) = &mut o.expr {
                    if let Some(n) = out
                        .iter()
                        .flatten()
                        .find(|n| self.names.folding.same(n, &i.value))
                    {
                        *i = quoted_ident(self.names.quote, n);
                        continue;
                    }
                }
                match &scope {
                    Some(scope) => self.expr(&mut o.expr, scope, Place::Group, depth + 1)?,
                    None => return Err(
                        "ORDER BY after UNION, INTERSECT or EXCEPT may name only output columns"
                            .to_string(),
                    ),
                }
            }
        }
        for e in [&q.limit, &q.offset.as_ref().map(|o| o.value.clone())]
            .into_iter()
            .flatten()
        {
            if !matches!(e, Expr::Value(v) if matches!(v.value, Value::Number(..))) {
                return Err("LIMIT and OFFSET take a plain number".to_string());
            }
        }
        Ok(out)
    }

    /// The output names of a set expression and, for a plain SELECT, its scope.
    fn set(&mut self, s: &mut SetExpr, depth: usize) -> Result<SetOutput, String> {
        if depth > 16 {
            return Err("the query is nested too deeply; simplify it".to_string());
        }
        match s {
            SetExpr::Select(sel) => {
                let (out, scope) = self.select(sel, depth)?;
                Ok((out, Some(scope)))
            }
            SetExpr::SetOperation {
                op, left, right, ..
            } => {
                if *op == SetOperator::Minus {
                    return Err(not_allowed("MINUS (write EXCEPT)"));
                }
                let (l, _) = self.set(left, depth + 1)?;
                let (r, _) = self.set(right, depth + 1)?;
                if l.len() != r.len() {
                    return Err(format!(
                        "the two sides of {op} select {} and {} columns; select as many on each side",
                        l.len(),
                        r.len()
                    ));
                }
                Ok((l, None))
            }
            SetExpr::Query(q) => {
                let out = self.query(q, depth + 1)?;
                Ok((out, None))
            }
            SetExpr::Values(_) => Err(not_allowed("VALUES")),
            SetExpr::Table(_) => Err(not_allowed("TABLE name")),
            _ => Err("a view is exactly one SELECT".to_string()),
        }
    }

    fn relation(&mut self, f: &mut TableFactor, scope: &mut Vec<Entry>) -> Result<(), String> {
        let TableFactor::Table {
            name,
            alias,
            args,
            with_hints,
            version,
            with_ordinality,
            partitions,
            json_path,
            sample,
            index_hints,
        } = f
        else {
            return Err(not_allowed("a subquery or table function in FROM"));
        };
        if args.is_some()
            || !with_hints.is_empty()
            || version.is_some()
            || *with_ordinality
            || !partitions.is_empty()
            || json_path.is_some()
            || sample.is_some()
            || !index_hints.is_empty()
        {
            return Err(not_allowed("a table function, hint or sample in FROM"));
        }
        let written = match name.0.as_slice() {
            [ObjectNamePart::Identifier(i)] => i.value.clone(),
            _ => {
                return Err(format!(
                    "FROM {name} names a schema; write the table or view name alone: a view reads only the dataset's own schema"
                ))
            }
        };
        let folding = self.names.folding;
        if folding.same(&written, &self.view.name) {
            return Err(format!("the view reads itself ({})", show(&written)));
        }
        let Some(rel) = relation_of(self.pkg, self.outputs, folding, &written) else {
            let mut known: Vec<&str> = self.pkg.tables.iter().map(|t| t.name.as_str()).collect();
            known.extend(self.pkg.views.iter().flatten().map(|v| v.name.as_str()));
            let hint = closest(&written, &known)
                .map(|n| format!("did you mean \"{n}\"? "))
                .unwrap_or_default();
            return Err(format!(
                "the query reads {}, which is not a table or view of this package; {hint}a view reads only the package's tables and views",
                show(&written)
            ));
        };
        *name = ObjectName(
            (self.names.qualify)(&rel.name)
                .iter()
                .map(|p| ObjectNamePart::Identifier(quoted_ident(self.names.quote, p)))
                .collect(),
        );
        let refname = match alias {
            Some(a) => {
                if !a.columns.is_empty() {
                    return Err(not_allowed("a column list after an alias"));
                }
                if !is_identifier(&a.name.value) {
                    return Err(format!(
                        "alias {} is not an identifier; use letters, digits and underscores",
                        show(&a.name.value)
                    ));
                }
                let n = a.name.value.clone();
                a.name = quoted_ident(self.names.quote, &n);
                n
            }
            None => rel.name.clone(),
        };
        if scope.iter().any(|e| folding.same(&e.refname, &refname)) {
            return Err(format!(
                "FROM names {} twice; give one of them an alias",
                show(&refname)
            ));
        }
        if !self.relations.iter().any(|r| r == &rel.name) {
            self.relations.push(rel.name.clone());
        }
        scope.push(Entry { refname, rel });
        Ok(())
    }

    fn select(
        &mut self,
        s: &mut Select,
        depth: usize,
    ) -> Result<(Vec<Option<String>>, Vec<Entry>), String> {
        if s.top.is_some()
            || s.into.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || !s.named_window.is_empty()
            || s.qualify.is_some()
            || s.connect_by.is_some()
            || s.value_table_mode.is_some()
            || s.flavor != SelectFlavor::Standard
        {
            return Err(not_allowed("this SELECT clause"));
        }
        if matches!(s.distinct, Some(Distinct::On(_))) {
            return Err(not_allowed("DISTINCT ON"));
        }
        let mut scope: Vec<Entry> = Vec::new();
        if s.from.is_empty() {
            return Err("the query reads no table; add FROM".to_string());
        }
        for twj in &mut s.from {
            self.relation(&mut twj.relation, &mut scope)?;
            for j in &mut twj.joins {
                if j.global {
                    return Err(not_allowed("GLOBAL JOIN"));
                }
                self.relation(&mut j.relation, &mut scope)?;
                match &mut j.join_operator {
                    JoinOperator::Join(c)
                    | JoinOperator::Inner(c)
                    | JoinOperator::Left(c)
                    | JoinOperator::LeftOuter(c)
                    | JoinOperator::Right(c)
                    | JoinOperator::RightOuter(c)
                    | JoinOperator::FullOuter(c) => match c {
                        JoinConstraint::On(e) => self.expr(e, &scope, Place::Row, depth + 1)?,
                        _ => {
                            return Err(
                                "a join needs ON (USING and NATURAL are not allowed)".to_string()
                            )
                        }
                    },
                    JoinOperator::CrossJoin => {}
                    _ => return Err(not_allowed("this kind of join")),
                }
            }
        }
        let mut out = Vec::new();
        for item in &mut s.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let name = self.expr_name(e, &scope);
                    self.expr(e, &scope, Place::Group, depth + 1)?;
                    out.push(name);
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    self.expr(expr, &scope, Place::Group, depth + 1)?;
                    if !is_identifier(&alias.value) {
                        return Err(format!(
                            "column alias {} is not an identifier; use letters, digits and underscores",
                            show(&alias.value)
                        ));
                    }
                    let n = alias.value.clone();
                    *alias = quoted_ident(self.names.quote, &n);
                    out.push(Some(n));
                }
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    return Err("SELECT * is not allowed in a view: its columns would be fixed when the view is created; list them".to_string())
                }
            }
        }
        if let Some(e) = &mut s.selection {
            self.expr(e, &scope, Place::Row, depth + 1)?;
        }
        match &mut s.group_by {
            GroupByExpr::All(_) => return Err(not_allowed("GROUP BY ALL")),
            GroupByExpr::Expressions(list, modifiers) => {
                if !modifiers.is_empty() {
                    return Err(not_allowed("GROUP BY modifiers"));
                }
                for e in list {
                    self.expr(e, &scope, Place::Row, depth + 1)?;
                }
            }
        }
        if let Some(e) = &mut s.having {
            self.expr(e, &scope, Place::Group, depth + 1)?;
        }
        Ok((out, scope))
    }

    /// The name SQL gives an unaliased select item: a column reference's column.
    fn expr_name(&self, e: &Expr, scope: &[Entry]) -> Option<String> {
        match e {
            Expr::Identifier(i) => self.resolve(None, &i.value, scope).ok().map(|(_, c)| c),
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => self
                .resolve(Some(&parts[0].value), &parts[1].value, scope)
                .ok()
                .map(|(_, c)| c),
            _ => None,
        }
    }

    /// Finds a column: (index in scope, declared column name).
    fn resolve(
        &self,
        qualifier: Option<&str>,
        column: &str,
        scope: &[Entry],
    ) -> Result<(usize, String), String> {
        let folding = self.names.folding;
        let find = |e: &Entry| {
            e.rel
                .columns
                .iter()
                .find(|c| folding.same(c, column))
                .cloned()
        };
        match qualifier {
            Some(q) => {
                let Some(k) = scope.iter().position(|e| folding.same(&e.refname, q)) else {
                    let known: Vec<&str> = scope.iter().map(|e| e.refname.as_str()).collect();
                    return Err(format!(
                        "{}.{} names {}, which is not in FROM; use one of {}",
                        q,
                        column,
                        show(q),
                        known.join(", ")
                    ));
                };
                match find(&scope[k]) {
                    Some(c) => Ok((k, c)),
                    None => {
                        let cols: Vec<&str> =
                            scope[k].rel.columns.iter().map(String::as_str).collect();
                        let hint = closest(column, &cols)
                            .map(|n| format!("did you mean \"{n}\"? "))
                            .unwrap_or_default();
                        Err(format!(
                            "{} has no column {}; {hint}use one of {}",
                            show(&scope[k].rel.name),
                            show(column),
                            cols.join(", ")
                        ))
                    }
                }
            }
            None => {
                let hits: Vec<(usize, String)> = scope
                    .iter()
                    .enumerate()
                    .filter_map(|(k, e)| find(e).map(|c| (k, c)))
                    .collect();
                match hits.len() {
                    1 => Ok(hits.into_iter().next().unwrap_or_default()),
                    0 => {
                        let cols: Vec<&str> = scope
                            .iter()
                            .flat_map(|e| e.rel.columns.iter().map(String::as_str))
                            .collect();
                        let hint = closest(column, &cols)
                            .map(|n| format!("did you mean \"{n}\"? "))
                            .unwrap_or_default();
                        let from: Vec<&str> = scope.iter().map(|e| e.rel.name.as_str()).collect();
                        Err(format!(
                            "the query names {}, which is not a column of {}; {hint}use a column of the tables and views in FROM",
                            show(column),
                            from.join(", ")
                        ))
                    }
                    _ => Err(format!(
                        "column {} is in more than one table of FROM; qualify it, like {}.{}",
                        show(column),
                        scope[hits[0].0].refname,
                        column
                    )),
                }
            }
        }
    }

    fn column_ref(
        &mut self,
        qualifier: Option<&str>,
        column: &str,
        scope: &[Entry],
    ) -> Result<Vec<Ident>, String> {
        let (k, c) = self.resolve(qualifier, column, scope)?;
        let e = &scope[k];
        let pair = (e.rel.name.clone(), c.clone());
        if !self.columns.contains(&pair) {
            self.columns.push(pair);
        }
        let col = quoted_ident(self.names.quote, &c);
        Ok(match qualifier {
            Some(_) => vec![quoted_ident(self.names.quote, &e.refname), col],
            None => vec![col],
        })
    }

    fn expr(
        &mut self,
        e: &mut Expr,
        scope: &[Entry],
        place: Place,
        depth: usize,
    ) -> Result<(), String> {
        if depth > 48 {
            return Err("the query is nested too deeply; simplify it".to_string());
        }
        let d = depth + 1;
        match e {
            Expr::Identifier(i) => {
                let name = i.value.clone();
                let mut parts = self.column_ref(None, &name, scope)?;
                *i = parts.remove(0);
                Ok(())
            }
            Expr::CompoundIdentifier(parts) => {
                if parts.len() != 2 {
                    return Err(format!(
                        "{} names a schema or a nested field; write column or alias.column",
                        show(&e.to_string())
                    ));
                }
                let (q, c) = (parts[0].value.clone(), parts[1].value.clone());
                *parts = self.column_ref(Some(&q), &c, scope)?;
                Ok(())
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
            Expr::Nested(inner) => self.expr(inner, scope, place, d),
            Expr::UnaryOp { op, expr } => match op {
                UnaryOperator::Plus | UnaryOperator::Minus | UnaryOperator::Not => {
                    self.expr(expr, scope, place, d)
                }
                other => Err(format!("operator {other} is not allowed in a view")),
            },
            Expr::BinaryOp { left, op, right } => {
                use BinaryOperator::*;
                match op {
                    Plus | Minus | Multiply | Divide | Modulo | StringConcat | Gt | Lt | GtEq
                    | LtEq | Eq | NotEq | And | Or => {}
                    other => return Err(format!("operator {other} is not allowed in a view")),
                }
                self.expr(left, scope, place, d)?;
                self.expr(right, scope, place, d)
            }
            Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsTrue(x)
            | Expr::IsNotTrue(x)
            | Expr::IsFalse(x)
            | Expr::IsNotFalse(x) => self.expr(x, scope, place, d),
            Expr::InList { expr, list, .. } => {
                self.expr(expr, scope, place, d)?;
                if list.is_empty() {
                    return Err("IN () needs at least one value".to_string());
                }
                for x in list {
                    self.expr(x, scope, place, d)?;
                }
                Ok(())
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                self.expr(expr, scope, place, d)?;
                self.expr(low, scope, place, d)?;
                self.expr(high, scope, place, d)
            }
            Expr::Like {
                expr,
                pattern,
                any: false,
                escape_char: None,
                ..
            } => {
                self.expr(expr, scope, place, d)?;
                self.expr(pattern, scope, place, d)
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
            } => {
                if let Some(o) = operand {
                    self.expr(o, scope, place, d)?;
                }
                for w in conditions {
                    self.expr(&mut w.condition, scope, place, d)?;
                    self.expr(&mut w.result, scope, place, d)?;
                }
                if let Some(x) = else_result {
                    self.expr(x, scope, place, d)?;
                }
                Ok(())
            }
            Expr::Function(f) => {
                let name = match f.name.0.as_slice() {
                    [ObjectNamePart::Identifier(i)] if i.quote_style.is_none() => {
                        i.value.to_ascii_lowercase()
                    }
                    _ => String::new(),
                };
                let aggregate = VIEW_AGGREGATES.contains(&name.as_str());
                let scalar = CHECK_FUNCTIONS.contains(&name.as_str())
                    || VIEW_SCALAR_FUNCTIONS.contains(&name.as_str());
                if !aggregate && !scalar {
                    let mut all: Vec<&str> = CHECK_FUNCTIONS.to_vec();
                    all.extend(VIEW_SCALAR_FUNCTIONS);
                    all.extend(VIEW_AGGREGATES);
                    return Err(format!(
                        "function {} is not allowed in a view; use one of {}",
                        show(&f.name.to_string()),
                        all.join(", ")
                    ));
                }
                if aggregate && place == Place::Row {
                    return Err(format!(
                        "aggregate {name}() is not allowed in WHERE, ON or GROUP BY; use HAVING or the select list"
                    ));
                }
                // Printed as a lower-case name (one spelling for every way it was written).
                f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name.clone()))]);
                let plain = |why: &str| format!("function {name} may only be called with plain arguments ({why})");
                if f.filter.is_some() || f.over.is_some() {
                    return Err(plain("no FILTER or OVER"));
                }
                if f.null_treatment.is_some()
                    || !f.within_group.is_empty()
                    || f.uses_odbc_syntax
                    || !matches!(f.parameters, FunctionArguments::None)
                {
                    return Err(plain("no modifiers"));
                }
                let FunctionArguments::List(list) = &mut f.args else {
                    return Err(format!("function {name} needs an argument list"));
                };
                match list.duplicate_treatment {
                    None => {}
                    Some(DuplicateTreatment::Distinct) if aggregate => {}
                    Some(_) => return Err(plain("DISTINCT only in an aggregate")),
                }
                if !list.clauses.is_empty() {
                    return Err(plain("no ORDER BY or other clauses"));
                }
                if name == "count"
                    && list.duplicate_treatment.is_none()
                    && matches!(
                        list.args.as_slice(),
                        [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]
                    )
                {
                    return Ok(());
                }
                if aggregate && list.args.len() != 1 {
                    return Err(format!("{name}() takes one argument"));
                }
                // No aggregate inside an aggregate.
                let inner = if aggregate { Place::Row } else { place };
                for arg in &mut list.args {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => {
                            self.expr(x, scope, inner, d)?
                        }
                        _ => return Err(plain("no named or * arguments")),
                    }
                }
                Ok(())
            }
            other => Err(format!(
                "{} is not allowed in a view; use columns, literals, operators, CASE, IN, BETWEEN, IS [NOT] NULL, LIKE and the functions listed in docs/views-and-grants.md",
                show(&other.to_string())
            )),
        }
    }
}

/// The package's views in an order where every view comes after the views it reads, or
/// the views on a cycle (by index).
pub fn order(
    pkg: &Package,
    engine: Option<Engine>,
    folding: IdentifierFolding,
) -> Result<Vec<usize>, Vec<usize>> {
    let views = pkg.views.as_deref().unwrap_or_default();
    let index: HashMap<Cow<'_, str>, usize> = views
        .iter()
        .enumerate()
        .map(|(i, v)| (folding.fold(&v.name), i))
        .collect();
    let deps: Vec<Vec<usize>> = views
        .iter()
        .map(|v| {
            let mut d: Vec<usize> = relations_named(&v.query, engine)
                .iter()
                .filter(|n| !pkg.tables.iter().any(|t| folding.same(&t.name, n)))
                .filter_map(|n| index.get(&folding.fold(n)).copied())
                .collect();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    // Depth-first, in package order, so the order is deterministic.
    let mut state = vec![0u8; views.len()]; // 0 new, 1 on the path, 2 done
    let mut out = Vec::with_capacity(views.len());
    fn visit(
        i: usize,
        deps: &[Vec<usize>],
        state: &mut [u8],
        out: &mut Vec<usize>,
        path: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let start = path.iter().position(|&p| p == i).unwrap_or(0);
                return Err(path[start..].to_vec());
            }
            _ => {}
        }
        state[i] = 1;
        path.push(i);
        for &d in &deps[i] {
            if d != i {
                visit(d, deps, state, out, path)?;
            }
        }
        path.pop();
        state[i] = 2;
        out.push(i);
        Ok(())
    }
    for i in 0..views.len() {
        visit(i, &deps, &mut state, &mut out, &mut Vec::new())?;
    }
    Ok(out)
}

/// Every view analyzed for an engine, in package order (`Err`: the reason, for views
/// that do not check; validation reports them before planning).
pub fn analyze_all(pkg: &Package, names: &Names<'_>) -> Vec<Result<Analysis, String>> {
    let views = pkg.views.as_deref().unwrap_or_default();
    let mut results: Vec<Option<Result<Analysis, String>>> = vec![None; views.len()];
    let mut outputs: Vec<Option<Vec<String>>> = vec![None; views.len()];
    let order = match order(pkg, names.engine, names.folding) {
        Ok(o) => o,
        Err(cycle) => {
            let names_on: Vec<&str> = cycle.iter().map(|&i| views[i].name.as_str()).collect();
            return views
                .iter()
                .map(|_| {
                    Err(format!(
                        "views read each other in a cycle ({})",
                        names_on.join(" -> ")
                    ))
                })
                .collect();
        }
    };
    for i in order {
        let r = analyze(&views[i], pkg, &outputs, names);
        if let Ok(a) = &r {
            outputs[i] = Some(a.output.clone());
        }
        results[i] = Some(r);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not checked".to_string())))
        .collect()
}

/// The checks of views on a package (called by [`crate::validate::package`]).
pub fn validate(
    pkg: &Package,
    engine: Option<Engine>,
    folding: IdentifierFolding,
    problems: &mut Vec<Problem>,
) {
    let Some(views) = pkg.views.as_deref() else {
        return;
    };
    let taken = |name: &str| schema_owner(pkg, folding, name);
    let root = JsonPath::root();
    let mut seen: HashMap<Cow<'_, str>, usize> = HashMap::new();
    let mut named_ok = vec![true; views.len()];
    for (i, v) in views.iter().enumerate() {
        let p = root.key("views").index(i);
        if !check_identifier(&v.name, "view", &|| p.key("name"), problems) {
            named_ok[i] = false;
            continue;
        }
        let folded = folding.fold(&v.name);
        if let Some(&first) = seen.get(&folded) {
            problems.push(Problem::new(
                Code::DuplicateView,
                p.key("name"),
                format!(
                    "view {} collides with view {} at $.views[{first}]; give one of them another name",
                    show(&v.name),
                    show(&views[first].name)
                ),
            ));
            named_ok[i] = false;
        } else if let Some(owner) = taken(&v.name) {
            problems.push(Problem::new(
                Code::DuplicateView,
                p.key("name"),
                format!(
                    "view name {} is already used by {owner}; tables, views, indexes and constraints share the schema's names, so rename the view",
                    show(&v.name)
                ),
            ));
            named_ok[i] = false;
        } else {
            seen.insert(folded, i);
        }
        if let Some(cols) = &v.columns {
            if cols.is_empty() {
                problems.push(Problem::new(
                    Code::EmptyList,
                    p.key("columns"),
                    format!(
                        "view {} lists no columns; list them or remove \"columns\"",
                        show(&v.name)
                    ),
                ));
            }
            for (k, c) in cols.iter().enumerate() {
                check_identifier(c, "view column", &|| p.key("columns").index(k), problems);
            }
        }
        if v.comment.as_deref().is_some_and(|c| c.contains('\0')) {
            problems.push(Problem::new(
                Code::NulCharacter,
                p.key("comment"),
                "the view comment contains a NUL character (\\u0000), which no database stores in text; remove it",
            ));
        }
        if let Some(hint) = &v.renamed_from {
            crate::validate::rename_hint(
                hint,
                &v.name,
                &p.key("renamedFrom"),
                "view",
                folding,
                |n| views.iter().any(|o| folding.same(&o.name, n)),
                problems,
            );
        }
        if v.is_materialized() {
            match engine {
                Some(Engine::Sqlite) => problems.push(Problem::new(
                    Code::UnsupportedOnEngine,
                    p.key("materialized"),
                    format!(
                        "sqlite has no materialized views; make {} a plain view (remove \"materialized\") or keep the rows in a table",
                        show(&v.name)
                    ),
                )),
                Some(Engine::Snowflake) => {
                    if let Some(why) = snowflake_materialized_limit(v, pkg, folding) {
                        problems.push(Problem::new(
                            Code::UnsupportedOnEngine,
                            p.key("query"),
                            format!("materialized view {}: {why}", show(&v.name)),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    if !named_ok.iter().all(|ok| *ok) {
        return;
    }
    let quote = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
    let qualify = |n: &str| vec![n.to_string()];
    let names = Names {
        engine,
        folding,
        quote: &quote,
        qualify: &qualify,
    };
    if let Err(cycle) = order(pkg, engine, folding) {
        let on: Vec<&str> = cycle.iter().map(|&i| views[i].name.as_str()).collect();
        problems.push(Problem::new(
            Code::ViewCycle,
            root.key("views").index(cycle[0]).key("query"),
            format!(
                "views read each other in a cycle ({} -> {}); a view can read only views that do not read it",
                on.join(" -> "),
                on[0]
            ),
        ));
        return;
    }
    for (i, r) in analyze_all(pkg, &names).into_iter().enumerate() {
        if let Err(why) = r {
            problems.push(Problem::new(
                Code::InvalidView,
                root.key("views").index(i).key("query"),
                format!("view {}: {why}", show(&views[i].name)),
            ));
        }
    }
}

/// What else in the package holds a name in the schema's namespace (tables, their
/// primary keys, indexes and constraints, enums), described for an error message.
fn schema_owner(pkg: &Package, folding: IdentifierFolding, name: &str) -> Option<String> {
    let same = |n: &str| folding.same(n, name);
    for t in &pkg.tables {
        if same(&t.name) {
            return Some(format!("table {}", show(&t.name)));
        }
        if t.primary_key.is_some() && same(&crate::validate::primary_key_name(&t.name)) {
            return Some(format!("the primary key of table {}", show(&t.name)));
        }
        let named = t
            .indexes
            .iter()
            .flatten()
            .map(|i| ("index", &i.name))
            .chain(
                t.unique_constraints
                    .iter()
                    .flatten()
                    .map(|u| ("unique constraint", &u.name)),
            )
            .chain(
                t.foreign_keys
                    .iter()
                    .flatten()
                    .map(|f| ("foreign key", &f.name)),
            )
            .chain(t.checks.iter().flatten().map(|c| ("check", &c.name)));
        for (what, n) in named {
            if same(n) {
                return Some(format!("{what} {} of table {}", show(n), show(&t.name)));
            }
        }
    }
    pkg.enums
        .iter()
        .flatten()
        .find(|e| same(&e.name))
        .map(|e| format!("enum {}", show(&e.name)))
}

/// Why Snowflake cannot materialize this view, if it cannot: a Snowflake materialized
/// view reads one table, without joins, set operations, ORDER BY or LIMIT.
fn snowflake_materialized_limit(
    v: &View,
    pkg: &Package,
    folding: IdentifierFolding,
) -> Option<String> {
    let q = parse(&v.query, Some(Engine::Snowflake)).ok()?;
    let why = "Snowflake materializes only a query over one table (no joins, views, UNION, ORDER BY or LIMIT); make it a plain view or simplify the query";
    if q.order_by.is_some() || q.limit.is_some() || q.offset.is_some() {
        return Some(why.to_string());
    }
    let SetExpr::Select(s) = &*q.body else {
        return Some(why.to_string());
    };
    if s.from.len() != 1 || !s.from[0].joins.is_empty() {
        return Some(why.to_string());
    }
    let reads_table = relations_named(&v.query, Some(Engine::Snowflake))
        .iter()
        .all(|n| pkg.tables.iter().any(|t| folding.same(&t.name, n)));
    (!reads_table).then(|| why.to_string())
}

/// The views that read, directly or through other views, any of `hit` (by index), with
/// the views in `hit` themselves.
pub fn dependents(reads: &[Vec<usize>], hit: &HashSet<usize>) -> HashSet<usize> {
    let mut out = hit.clone();
    loop {
        let before = out.len();
        for (i, r) in reads.iter().enumerate() {
            if !out.contains(&i) && r.iter().any(|d| out.contains(d)) {
                out.insert(i);
            }
        }
        if out.len() == before {
            return out;
        }
    }
}
