//! Index options: keys (plain columns, columns with a sort order, expressions), partial
//! indexes (`where`), `include` columns, the index method, online builds and index
//! renames. See docs/indexes.md.
//!
//! Expressions and predicates are SQL text, parsed with the same dialect-aware parser
//! and allow-list as check expressions ([`crate::constraints::check_sql`],
//! [`crate::constraints::expression_sql`]) and emitted re-printed from the parsed tree.

use crate::constraints::{check_sql, expression_sql};
use crate::error::{show, Code, JsonPath, Problem};
use crate::load::closest;
use crate::model::{
    ColumnType, Engine, IdentifierFolding, Index, IndexKey, IndexMethod, JsonStorage, Package,
    Table,
};
use crate::validate::{check_identifier, rename_hint, Paths};
use std::borrow::Cow;
use std::collections::HashSet;

/// The quoting check and index expressions are checked with (the dialect re-quotes them
/// when it writes the plan).
fn plain_quote(n: &str) -> String {
    format!("\"{}\"", n.replace('"', "\"\""))
}

fn is_postgres(engine: Option<Engine>) -> bool {
    matches!(engine, Some(Engine::Postgres | Engine::AuroraPostgresql))
}

/// The checks of index definitions on a package (called by [`crate::validate::package`]).
pub fn validate(
    pkg: &Package,
    engine: Option<Engine>,
    folding: IdentifierFolding,
    table_path: &dyn Fn(usize) -> JsonPath,
    paths: Option<&Paths>,
    problems: &mut Vec<Problem>,
) {
    let broken = |i: usize, k: usize| {
        paths.is_some_and(|p| p.broken_indexes.get(i).is_some_and(|b| b.contains(&k)))
    };
    for (i, t) in pkg.tables.iter().enumerate() {
        for (k, ix) in t.indexes.iter().flatten().enumerate() {
            if broken(i, k) {
                continue;
            }
            let p = table_path(i).key("indexes").index(k);
            index(ix, t, &p, engine, folding, problems);
            if let Some(hint) = &ix.renamed_from {
                rename_hint(
                    hint,
                    &ix.name,
                    &p.key("renamedFrom"),
                    "index",
                    folding,
                    |n| {
                        pkg.tables
                            .iter()
                            .flat_map(|t| t.indexes.iter().flatten())
                            .any(|o| folding.same(&o.name, n))
                    },
                    problems,
                );
            }
        }
    }
}

fn index(
    ix: &Index,
    t: &Table,
    p: &JsonPath,
    engine: Option<Engine>,
    folding: IdentifierFolding,
    problems: &mut Vec<Problem>,
) {
    let what = format!("index {}", show(&ix.name));
    check_identifier(&ix.name, "index", &|| p.key("name"), problems);
    if ix.columns.is_empty() {
        problems.push(Problem::new(
            Code::EmptyList,
            p.key("columns"),
            format!("{what} has no columns; list at least one"),
        ));
    }
    let method = ix.method;
    let column_names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    let find = |name: &str| t.columns.iter().find(|c| folding.same(&c.name, name));
    let unknown = |name: &str, path: JsonPath, code: Code| {
        Problem::new(
            code,
            path,
            format!(
                "{what} names column {}, which table {} does not have; {}use one of its columns: {}",
                show(name),
                show(&t.name),
                closest(name, &column_names)
                    .map(|c| format!("did you mean \"{c}\"? "))
                    .unwrap_or_default(),
                column_names.join(", ")
            ),
        )
    };
    let engine_name = engine.map_or("", Engine::as_str);
    // Snowflake standard tables have no secondary indexes: only plain unique column lists
    // (declared as unique constraints) and plain indexes (noted, not created) are kept.
    if engine == Some(Engine::Snowflake) {
        let mut refuse = |member: &str, path: JsonPath| {
            problems.push(Problem::new(
                Code::IndexOptionUnsupported,
                path,
                format!(
                    "{what}: Snowflake has no secondary indexes (standard tables are micro-partitioned and pruned by clustering), so \"{member}\" cannot be declared; remove it, or use a plain column list"
                ),
            ))
        };
        if ix.predicate.is_some() {
            refuse("where", p.key("where"));
        }
        if ix.include.is_some() {
            refuse("include", p.key("include"));
        }
        if ix.method.is_some() {
            refuse("method", p.key("method"));
        }
        for (j, key) in ix.columns.iter().enumerate() {
            if let IndexKey::Key(_) = key {
                refuse(
                    if key.expression().is_some() {
                        "expression"
                    } else {
                        "order"
                    },
                    p.key("columns").index(j),
                );
            }
        }
    }
    let mut seen: HashSet<Cow<'_, str>> = HashSet::new();
    for (j, key) in ix.columns.iter().enumerate() {
        let kp = p.key("columns").index(j);
        let (column, column_path) = match key {
            IndexKey::Column(c) => (Some(c.as_str()), kp.clone()),
            IndexKey::Key(spec) => {
                match (&spec.column, &spec.expression) {
                    (Some(_), Some(_)) | (None, None) => {
                        problems.push(Problem::new(
                            Code::InvalidIndexKey,
                            kp.clone(),
                            format!(
                                "{what}: key {j} needs exactly one of \"column\" (a column name) and \"expression\" (SQL text like \"lower(email)\"); {}",
                                if spec.column.is_some() { "remove one of them" } else { "add one" }
                            ),
                        ));
                        continue;
                    }
                    (None, Some(expr)) => {
                        if engine != Some(Engine::Snowflake) {
                            if let Err(why) = expression_sql(expr, t, engine, folding, &plain_quote)
                            {
                                problems.push(Problem::new(
                                    Code::InvalidIndexExpression,
                                    kp.key("expression"),
                                    format!("{what}: {why}"),
                                ));
                            }
                        }
                    }
                    (Some(_), None) => {}
                }
                if spec.nulls.is_some() && engine == Some(Engine::Sqlite) {
                    problems.push(Problem::new(
                        Code::IndexOptionUnsupported,
                        kp.key("nulls"),
                        format!("{what}: SQLite index keys have no NULLS FIRST/LAST (NULLs always sort first ascending); remove \"nulls\""),
                    ));
                }
                if (spec.order.is_some() || spec.nulls.is_some())
                    && method.is_some_and(|m| m != IndexMethod::Btree)
                {
                    problems.push(Problem::new(
                        Code::IndexMethodConflict,
                        kp.clone(),
                        format!(
                            "{what}: {} indexes are not ordered, so a key cannot have \"order\" or \"nulls\"; remove them or use method btree",
                            method.map_or("", IndexMethod::as_str)
                        ),
                    ));
                }
                (spec.column.as_deref(), kp.key("column"))
            }
        };
        let Some(name) = column else { continue };
        match find(name) {
            None => problems.push(unknown(name, column_path.clone(), Code::UnknownIndexColumn)),
            Some(c) => {
                // json (jsonb) and array contents are what GIN indexes are for; other
                // methods have no operator class for them.
                let gin_ok = method == Some(IndexMethod::Gin)
                    && (c.column_type == ColumnType::Array
                        || (c.column_type == ColumnType::Json
                            && c.json_storage != Some(JsonStorage::Text)));
                if c.column_type == ColumnType::Json && !gin_ok {
                    problems.push(Problem::new(
                        Code::NotIndexable,
                        column_path.clone(),
                        format!(
                            "{what} uses json column {}, which has no equality operator; key on another column{}",
                            show(name),
                            if is_postgres(engine) || engine.is_none() {
                                ", or use method gin (jsonb)"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
            }
        }
        if !seen.insert(folding.fold(name)) {
            problems.push(Problem::new(
                Code::DuplicateKeyColumn,
                column_path,
                format!(
                    "{what} lists column {} twice; remove the repeat",
                    show(name)
                ),
            ));
        }
    }
    if let Some(pred) = &ix.predicate {
        if engine != Some(Engine::Snowflake) {
            if let Err(why) = check_sql(pred, t, engine, folding, &plain_quote) {
                problems.push(Problem::new(
                    Code::InvalidIndexExpression,
                    p.key("where"),
                    format!("{what}: the where condition: {why}"),
                ));
            }
        }
    }
    if let Some(include) = &ix.include {
        let ip = p.key("include");
        if engine == Some(Engine::Sqlite) {
            problems.push(Problem::new(
                Code::IndexOptionUnsupported,
                ip.clone(),
                format!("{what}: SQLite indexes cannot include non-key columns; remove \"include\" (or make the columns keys)"),
            ));
        }
        if include.is_empty() {
            problems.push(Problem::new(
                Code::EmptyList,
                ip.clone(),
                format!("{what}: \"include\" is empty; list at least one column or remove it"),
            ));
        }
        if let Some(m) = method.filter(|m| !matches!(m, IndexMethod::Btree | IndexMethod::Gist)) {
            problems.push(Problem::new(
                Code::IndexMethodConflict,
                ip.clone(),
                format!(
                    "{what}: {} indexes cannot include non-key columns (only btree and gist can); remove \"include\" or change the method",
                    m.as_str()
                ),
            ));
        }
        let mut included: HashSet<Cow<'_, str>> = HashSet::new();
        for (j, name) in include.iter().enumerate() {
            let cp = ip.index(j);
            if find(name).is_none() {
                problems.push(unknown(name, cp.clone(), Code::InvalidIncludeColumn));
            } else if seen.contains(&folding.fold(name)) {
                problems.push(Problem::new(
                    Code::InvalidIncludeColumn,
                    cp.clone(),
                    format!(
                        "{what} includes column {}, which is already a key of the index; remove it from \"include\"",
                        show(name)
                    ),
                ));
            }
            if !included.insert(folding.fold(name)) {
                problems.push(Problem::new(
                    Code::InvalidIncludeColumn,
                    cp,
                    format!(
                        "{what} includes column {} twice; remove the repeat",
                        show(name)
                    ),
                ));
            }
        }
    }
    if let Some(m) = method {
        let mp = p.key("method");
        if engine.is_some() && !is_postgres(engine) {
            problems.push(Problem::new(
                Code::IndexOptionUnsupported,
                mp.clone(),
                format!(
                    "{what}: {engine_name} has one kind of index; \"method\" applies to Postgres only, remove it"
                ),
            ));
        }
        if ix.is_unique() && m != IndexMethod::Btree {
            problems.push(Problem::new(
                Code::IndexMethodConflict,
                mp.clone(),
                format!(
                    "{what}: only btree indexes can be unique; remove \"unique\" or use method btree"
                ),
            ));
        }
        if m == IndexMethod::Hash && ix.columns.len() > 1 {
            problems.push(Problem::new(
                Code::IndexMethodConflict,
                mp,
                format!(
                    "{what}: hash indexes have exactly one key ({} listed); use one key or method btree",
                    ix.columns.len()
                ),
            ));
        }
    }
    if ix.online.is_some() && engine.is_some() && !is_postgres(engine) {
        problems.push(Problem::new(
            Code::OnlineIndexUnsupported,
            p.key("online"),
            format!(
                "{what}: {engine_name} has no online (concurrent) index builds; remove \"online\""
            ),
        ));
    }
}

/// The SQL of an index's keys for a dialect: each key a quoted column or a parenthesized
/// expression re-printed from its parse tree, with its order and NULLs position.
/// `quote` is the dialect's identifier quoting.
pub fn key_sql(
    ix: &Index,
    t: &Table,
    engine: Engine,
    quote: &dyn Fn(&str) -> String,
) -> Vec<String> {
    let folding = engine.identifier_folding();
    ix.columns
        .iter()
        .map(|k| {
            let mut s = match k.expression() {
                // Validated before planning; an expression that no longer parses
                // cannot reach here.
                Some(e) => format!(
                    "({})",
                    expression_sql(e, t, Some(engine), folding, quote).unwrap_or_default()
                ),
                None => quote(k.column().unwrap_or_default()),
            };
            if let Some(o) = k.order() {
                s.push_str(match o {
                    crate::model::SortOrder::Asc => " ASC",
                    crate::model::SortOrder::Desc => " DESC",
                });
            }
            if let Some(n) = k.nulls() {
                s.push_str(match n {
                    crate::model::NullsOrder::First => " NULLS FIRST",
                    crate::model::NullsOrder::Last => " NULLS LAST",
                });
            }
            s
        })
        .collect()
}

/// The `where` condition of a partial index, re-printed from its parse tree.
pub fn predicate_sql(
    ix: &Index,
    t: &Table,
    engine: Engine,
    quote: &dyn Fn(&str) -> String,
) -> Option<String> {
    let folding = engine.identifier_folding();
    ix.predicate
        .as_deref()
        .map(|w| check_sql(w, t, Some(engine), folding, quote).unwrap_or_default())
}

/// A key for people: `email`, `lower(email) desc`.
pub fn describe_key(k: &IndexKey) -> String {
    let mut s = match k.expression() {
        Some(e) => e.to_string(),
        None => k.column().unwrap_or_default().to_string(),
    };
    if let Some(o) = k.order() {
        s.push(' ');
        s.push_str(o.as_str());
    }
    if let Some(n) = k.nulls() {
        s.push_str(" nulls ");
        s.push_str(n.as_str());
    }
    s
}
