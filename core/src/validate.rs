//! Semantic checks on a structurally valid package or dataset config: identifiers,
//! name collisions after the engine's folding, keys and indexes, type attributes and
//! defaults. Every problem is reported, each with its JSONPath.

use crate::error::{Code, JsonPath, Problem};
use crate::load::unsafe_number_message;
use crate::model::{
    AllowDestructive, Column, ColumnType, DatasetConfig, Engine, IdentifierFolding, Literal,
    Package, RenamedFrom, Table,
};
use std::borrow::Cow;

/// The hash maps and sets of the checks: foldhash, seeded once per process, is several
/// times faster than the standard SipHash on short identifiers (core/benches/hash.rs
/// splits the cost of validation out of the version hash).
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// See [`HashMap`].
pub(crate) type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// What holds a name in the schema-wide namespace of relations.
enum Owner {
    Table(usize),
    PrimaryKey(usize),
    Index(usize, usize),
}

/// Largest `maxLength` accepted (Postgres' varchar limit).
pub const MAX_STRING_LENGTH: u32 = 10_485_760;
/// Largest decimal precision accepted (Snowflake's limit).
pub const MAX_DECIMAL_PRECISION: u32 = 38;

/// Where the tables of a partially parsed package came from, so problems carry the
/// paths of the original document.
#[derive(Debug, Default, Clone)]
pub struct Paths {
    /// Original index of each table.
    pub tables: Vec<usize>,
    /// The namespace was missing or broken (already reported).
    pub skip_namespace: bool,
    /// Per table, the columns that are placeholders for broken ones.
    pub broken_columns: Vec<Vec<usize>>,
    /// Per table, the indexes that are placeholders for broken ones.
    pub broken_indexes: Vec<Vec<usize>>,
    /// Some tables or the enums could not be read, so references to them are not
    /// checked.
    pub incomplete: bool,
}

impl Paths {
    fn column_broken(&self, table: usize, column: usize) -> bool {
        self.broken_columns
            .get(table)
            .is_some_and(|b| b.contains(&column))
    }
    fn index_broken(&self, table: usize, index: usize) -> bool {
        self.broken_indexes
            .get(table)
            .is_some_and(|b| b.contains(&index))
    }
}

/// The name of a table's primary-key constraint: `<table>_pkey`, or, when that would be
/// longer than 63 bytes (where Postgres would cut it, possibly to the table's own name),
/// the first 49 bytes of the table name, `_`, 8 hex digits of its SHA-256 and `_pkey`.
///
/// ```
/// use depot_migrate_core::validate::primary_key_name;
/// assert_eq!(primary_key_name("dog"), "dog_pkey");
/// assert_eq!(primary_key_name(&"x".repeat(63)).len(), 63);
/// ```
pub fn primary_key_name(table: &str) -> String {
    let name = format!("{table}_pkey");
    if name.len() <= 63 {
        return name;
    }
    let digest = crate::hash::sha256_hex(table.as_bytes());
    let prefix: String = table.chars().take(49).collect();
    format!("{prefix}_{}_pkey", &digest[..8])
}

/// Whether `name` is a valid identifier (`^[A-Za-z_][A-Za-z0-9_]{0,62}$`).
///
/// ```
/// use depot_migrate_core::validate::is_identifier;
/// assert!(is_identifier("dog_name"));
/// assert!(!is_identifier("dog; DROP TABLE x"));
/// ```
pub fn is_identifier(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

use crate::error::show;

/// Checks an identifier; the path is built only when there is a problem.
pub(crate) fn check_identifier(
    name: &str,
    what: &str,
    path: &dyn Fn() -> JsonPath,
    problems: &mut Vec<Problem>,
) -> bool {
    if is_identifier(name) {
        return true;
    }
    let why = if name.is_empty() {
        "is empty".to_string()
    } else if name.len() > 63 {
        format!("is {} bytes long (at most 63)", name.len())
    } else {
        "must start with a letter or underscore and contain only ASCII letters, digits and underscores".to_string()
    };
    problems.push(Problem::new(
        Code::InvalidIdentifier,
        path(),
        format!(
            "{what} name {} {why}; rename it to match ^[A-Za-z_][A-Za-z0-9_]{{0,62}}$",
            show(name)
        ),
    ));
    false
}

/// Semantic checks on a package. `paths` maps tables to their original positions when
/// only some tables could be read.
pub fn package(pkg: &Package, engine: Option<Engine>, paths: Option<&Paths>) -> Vec<Problem> {
    let folding = engine.map_or(
        IdentifierFolding::CaseInsensitive,
        Engine::identifier_folding,
    );
    let root = JsonPath::root();
    let mut problems = Vec::new();
    if !paths.is_some_and(|p| p.skip_namespace) {
        check_identifier(
            &pkg.namespace,
            "namespace",
            &|| root.key("namespace"),
            &mut problems,
        );
    }
    let table_path = |i: usize| {
        let original = paths.and_then(|p| p.tables.get(i).copied()).unwrap_or(i);
        root.key("tables").index(original)
    };

    let mut table_names: HashMap<Cow<'_, str>, usize> =
        HashMap::with_capacity_and_hasher(pkg.tables.len(), Default::default());
    // Index names and generated constraint names share one namespace per schema. The
    // owner is described only when a collision is reported.
    let mut relation_names: HashMap<Cow<'_, str>, Owner> =
        HashMap::with_capacity_and_hasher(pkg.tables.len() * 2, Default::default());
    let describe = |o: &Owner| match *o {
        Owner::Table(i) => format!("table {}", show(&pkg.tables[i].name)),
        Owner::PrimaryKey(i) => format!(
            "the primary key constraint of table {}",
            show(&pkg.tables[i].name)
        ),
        Owner::Index(i, j) => {
            let t = &pkg.tables[i];
            let ix = t
                .indexes
                .as_ref()
                .and_then(|v| v.get(j))
                .map_or("", |ix| ix.name.as_str());
            format!("index {} of table {}", show(ix), show(&t.name))
        }
    };
    for (i, t) in pkg.tables.iter().enumerate() {
        let folded = folding.fold(&t.name);
        if let Some(&first) = table_names.get(&folded) {
            problems.push(Problem::new(
                Code::DuplicateTable,
                table_path(i).key("name"),
                format!(
                    "table {} collides with table {} at {} ({}); give one of them another name",
                    show(&t.name),
                    show(&pkg.tables[first].name),
                    table_path(first),
                    engine.map_or("when names compare case-insensitively", Engine::as_str)
                ),
            ));
        } else {
            table_names.insert(folded.clone(), i);
            relation_names.insert(folded, Owner::Table(i));
        }
    }
    // Generated primary-key constraint names live in the same namespace as tables and
    // indexes (on Postgres).
    for (i, t) in pkg.tables.iter().enumerate() {
        if t.primary_key.is_none() || !is_identifier(&t.name) {
            continue;
        }
        let pk = primary_key_name(&t.name);
        let folded = Cow::Owned(folding.fold(&pk).into_owned());
        if let Some(owner) = relation_names.get(&folded).map(describe) {
            problems.push(Problem::new(
                Code::DuplicateTable,
                table_path(i).key("name"),
                format!(
                    "the primary key of table {} is named {}, which is already used by {owner}; rename one of the tables",
                    show(&t.name),
                    show(&pk)
                ),
            ));
        } else {
            relation_names.insert(folded, Owner::PrimaryKey(i));
        }
    }
    let none = Paths::default();
    for (i, t) in pkg.tables.iter().enumerate() {
        let broken = |j: usize| paths.unwrap_or(&none).column_broken(i, j);
        let broken_ix = |j: usize| paths.unwrap_or(&none).index_broken(i, j);
        table(
            t,
            &table_path(i),
            folding,
            &broken,
            &broken_ix,
            &mut problems,
        );
    }
    // Index names, unique per schema, never equal to a table or generated constraint.
    for (i, t) in pkg.tables.iter().enumerate() {
        for (j, ix) in t.indexes.iter().flatten().enumerate() {
            let p = || table_path(i).key("indexes").index(j).key("name");
            if !is_identifier(&ix.name) || paths.is_some_and(|p| p.index_broken(i, j)) {
                continue;
            }
            let folded = folding.fold(&ix.name);
            if let Some(owner) = relation_names.get(&folded).map(describe) {
                problems.push(Problem::new(
                    Code::DuplicateIndex,
                    p(),
                    format!(
                        "index name {} is already used by {owner}; index names are unique per schema, so rename the index",
                        show(&ix.name)
                    ),
                ));
            } else {
                relation_names.insert(folded, Owner::Index(i, j));
            }
        }
    }
    // Enums, identity, unique constraints, foreign keys and checks.
    crate::constraints::validate(pkg, engine, folding, &table_path, paths, &mut problems);
    // Views and grants.
    if !paths.is_some_and(|p| p.incomplete) {
        crate::views::validate(pkg, engine, folding, &mut problems);
        crate::grants::validate(pkg, engine, folding, &mut problems);
    }
    // Index keys, options and rename hints.
    crate::indexes::validate(pkg, engine, folding, &table_path, paths, &mut problems);
    // Table rename hints must not name another current table.
    for (i, t) in pkg.tables.iter().enumerate() {
        if let Some(hint) = &t.renamed_from {
            rename_hint(
                hint,
                &t.name,
                &table_path(i).key("renamedFrom"),
                "table",
                folding,
                |n| table_names.contains_key(&folding.fold(n)),
                &mut problems,
            );
        }
    }
    if let Some(engine) = engine {
        engine_reserved_names(pkg, engine, &table_path, &mut problems);
    }
    problems
}

/// Refuses NUL (`\u0000`) in comments and string defaults: no engine stores it in text
/// (Postgres refuses it in text and jsonb, SQLite and Snowflake cut or refuse it), so a
/// package holding one would fail at apply time. The planner calls this for every
/// engine before it emits any SQL; the version hash itself is defined for any JSON text
/// (the test vectors hash comments holding NUL), so [`package`] does not.
pub fn text_without_nul(pkg: &Package) -> Vec<Problem> {
    let mut problems = Vec::new();
    let table_path = |i: usize| JsonPath::root().key("tables").index(i);
    let nul = |path: JsonPath, what: &str| {
        Problem::new(
            Code::NulCharacter,
            path,
            format!("{what} contains a NUL character (\\u0000), which no database stores in text; remove it"),
        )
    };
    for (i, t) in pkg.tables.iter().enumerate() {
        if t.comment.as_deref().is_some_and(|c| c.contains('\0')) {
            problems.push(nul(table_path(i).key("comment"), "the table comment"));
        }
        for (j, c) in t.columns.iter().enumerate() {
            if c.comment.as_deref().is_some_and(|c| c.contains('\0')) {
                problems.push(nul(
                    table_path(i).key("columns").index(j).key("comment"),
                    "the column comment",
                ));
            }
            if matches!(&c.default, Some(Literal::String(s)) if s.contains('\0')) {
                problems.push(nul(
                    table_path(i).key("columns").index(j).key("default"),
                    "the default",
                ));
            }
        }
    }
    problems
}

/// Column names PostgreSQL keeps for its system columns; a table cannot have a user
/// column of that name.
pub const POSTGRES_SYSTEM_COLUMNS: [&str; 6] = ["xmin", "xmax", "cmin", "cmax", "ctid", "tableoid"];

/// Snowflake's reserved keywords (its "reserved and limited keywords" list). Quoted they
/// would be accepted, but depot-migrate upper-cases Snowflake names so that unquoted
/// queries find them, and an unquoted reserved word is a syntax error.
pub const SNOWFLAKE_RESERVED: [&str; 91] = [
    "ACCOUNT",
    "ALL",
    "ALTER",
    "AND",
    "ANY",
    "AS",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CHECK",
    "COLUMN",
    "CONNECT",
    "CONNECTION",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "DATABASE",
    "DELETE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "EXISTS",
    "FALSE",
    "FOLLOWING",
    "FOR",
    "FROM",
    "FULL",
    "GRANT",
    "GROUP",
    "GSCLUSTER",
    "HAVING",
    "ILIKE",
    "IN",
    "INCREMENT",
    "INNER",
    "INSERT",
    "INTERSECT",
    "INTO",
    "IS",
    "ISSUE",
    "JOIN",
    "LATERAL",
    "LEFT",
    "LIKE",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "MINUS",
    "NATURAL",
    "NOT",
    "NULL",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "ORGANIZATION",
    "QUALIFY",
    "REGEXP",
    "REVOKE",
    "RIGHT",
    "RLIKE",
    "ROW",
    "ROWS",
    "SAMPLE",
    "SCHEMA",
    "SELECT",
    "SET",
    "SOME",
    "START",
    "TABLE",
    "TABLESAMPLE",
    "THEN",
    "TO",
    "TRIGGER",
    "TRUE",
    "TRY_CAST",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VALUES",
    "VIEW",
    "WHEN",
    "WHENEVER",
    "WHERE",
    "WITH",
];

/// Why `engine` refuses `name` for a `what` (`table`, `column`, `index`), with the fix;
/// `None` when it accepts it.
pub fn engine_reserved_reason(engine: Engine, what: &str, name: &str) -> Option<String> {
    match engine {
        Engine::Postgres | Engine::AuroraPostgresql
            if what == "column" && POSTGRES_SYSTEM_COLUMNS.contains(&name) =>
        {
            Some(format!(
                "column name {} is a PostgreSQL system column ({}); every table already has it, so rename the column",
                show(name),
                POSTGRES_SYSTEM_COLUMNS.join(", ")
            ))
        }
        Engine::Sqlite
            if what != "column"
                && name.len() >= 7
                && name.as_bytes()[..7].eq_ignore_ascii_case(b"sqlite_") =>
        {
            Some(format!(
                "{what} name {} starts with sqlite_, which SQLite reserves for its internal objects; rename the {what}",
                show(name)
            ))
        }
        Engine::Snowflake
            if SNOWFLAKE_RESERVED
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name)) =>
        {
            Some(format!(
                "{what} name {} is a Snowflake reserved keyword, which unquoted queries cannot use as a name; rename the {what}",
                show(name)
            ))
        }
        _ => None,
    }
}

/// Refuses names the dataset's engine keeps for itself (see [`engine_reserved_reason`]).
fn engine_reserved_names(
    pkg: &Package,
    engine: Engine,
    table_path: &dyn Fn(usize) -> JsonPath,
    problems: &mut Vec<Problem>,
) {
    let mut check = |what: &str, name: &str, path: &dyn Fn() -> JsonPath| {
        if let Some(why) = engine_reserved_reason(engine, what, name) {
            problems.push(Problem::new(Code::EngineReservedName, path(), why));
        }
    };
    for (i, t) in pkg.tables.iter().enumerate() {
        check("table", &t.name, &|| table_path(i).key("name"));
        for (j, c) in t.columns.iter().enumerate() {
            check("column", &c.name, &|| {
                table_path(i).key("columns").index(j).key("name")
            });
        }
        for (j, ix) in t.indexes.iter().flatten().enumerate() {
            check("index", &ix.name, &|| {
                table_path(i).key("indexes").index(j).key("name")
            });
        }
    }
}

pub(crate) fn rename_hint(
    hint: &RenamedFrom,
    current: &str,
    path: &JsonPath,
    what: &str,
    folding: IdentifierFolding,
    exists: impl Fn(&str) -> bool,
    problems: &mut Vec<Problem>,
) {
    let (names, many) = match hint {
        RenamedFrom::One(n) => (vec![n.as_str()], false),
        RenamedFrom::Many(v) => (v.iter().map(String::as_str).collect(), true),
    };
    if many && names.is_empty() {
        problems.push(Problem::new(
            Code::EmptyList,
            path,
            "renamedFrom is an empty list; remove it or name the earlier names".to_string(),
        ));
    }
    // A hash set: the duplicate check stays linear in the number of entries.
    let mut seen: HashSet<Cow<'_, str>> =
        HashSet::with_capacity_and_hasher(names.len(), Default::default());
    for (k, n) in names.iter().enumerate() {
        let p = if many { path.index(k) } else { path.clone() };
        if !check_identifier(n, &format!("earlier {what}"), &|| p.clone(), problems) {
            continue;
        }
        let folded = folding.fold(n);
        if folding.same(n, current) {
            problems.push(Problem::new(
                Code::InvalidRenameHint,
                p,
                format!(
                    "{what} {} lists its own name in renamedFrom; remove that entry",
                    show(current)
                ),
            ));
        } else if seen.contains(&folded) {
            problems.push(Problem::new(
                Code::InvalidRenameHint,
                p,
                format!("renamedFrom lists {} twice; keep one", show(n)),
            ));
        } else if exists(n) {
            problems.push(Problem::new(
                Code::InvalidRenameHint,
                p,
                format!(
                    "renamedFrom names {}, which is another {what} of this package; a {what} cannot be renamed from a name still in use",
                    show(n)
                ),
            ));
        }
        seen.insert(folded);
    }
}

/// Whether a table name is one depot-migrate keeps for its own tables.
pub fn is_reserved_table_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("depot_migrate_") || lower.starts_with("_depot_new_")
}

fn table(
    t: &Table,
    path: &JsonPath,
    folding: IdentifierFolding,
    broken: &dyn Fn(usize) -> bool,
    broken_index: &dyn Fn(usize) -> bool,
    problems: &mut Vec<Problem>,
) {
    if check_identifier(&t.name, "table", &|| path.key("name"), problems)
        && is_reserved_table_name(&t.name)
    {
        problems.push(Problem::new(
            Code::ReservedName,
            path.key("name"),
            format!("table name {} is reserved: names starting with depot_migrate_ or _depot_new_ belong to depot-migrate's own tables; rename the table", show(&t.name)),
        ));
    }
    if t.columns.is_empty() {
        problems.push(Problem::new(
            Code::EmptyList,
            path.key("columns"),
            format!("table {} has no columns; add at least one", show(&t.name)),
        ));
    }
    let mut names: HashMap<Cow<'_, str>, usize> =
        HashMap::with_capacity_and_hasher(t.columns.len(), Default::default());
    for (j, c) in t.columns.iter().enumerate() {
        let p = || path.key("columns").index(j);
        if broken(j) && c.name.is_empty() {
            continue;
        }
        if check_identifier(&c.name, "column", &|| p().key("name"), problems) {
            let folded = folding.fold(&c.name);
            if let Some(&first) = names.get(&folded) {
                problems.push(Problem::new(
                    Code::DuplicateColumn,
                    p().key("name"),
                    format!(
                        "column {} collides with column {} at {}; give one of them another name",
                        show(&c.name),
                        show(&t.columns[first].name),
                        path.key("columns").index(first)
                    ),
                ));
            } else {
                names.insert(folded, j);
            }
        }
    }
    let find = |name: &str| names.get(&folding.fold(name)).map(|&j| &t.columns[j]);
    let column_names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();

    let pk: &[String] = t.primary_key.as_deref().unwrap_or(&[]);
    if t.primary_key.as_ref().is_some_and(Vec::is_empty) {
        problems.push(Problem::new(
            Code::EmptyList,
            path.key("primaryKey"),
            "primaryKey is empty; list at least one column or remove it".to_string(),
        ));
    }
    key_columns(
        pk,
        &path.key("primaryKey"),
        "primary key",
        Code::UnknownPrimaryKeyColumn,
        &t.name,
        &column_names,
        &find,
        folding,
        problems,
    );

    let pk_names: HashSet<Cow<'_, str>> = pk.iter().map(|k| folding.fold(k)).collect();
    for (j, c) in t.columns.iter().enumerate() {
        if broken(j) {
            continue;
        }
        let in_pk = pk_names.contains(&folding.fold(&c.name));
        column(c, &|| path.key("columns").index(j), in_pk, problems);
        if let Some(hint) = &c.renamed_from {
            rename_hint(
                hint,
                &c.name,
                &path.key("columns").index(j).key("renamedFrom"),
                "column",
                folding,
                |n| find(n).is_some(),
                problems,
            );
        }
    }
    // Index keys, options and rename hints: crate::indexes::validate.
    let _ = broken_index;
}

#[allow(clippy::too_many_arguments)]
fn key_columns<'a>(
    cols: &[String],
    path: &JsonPath,
    what: &str,
    missing_code: Code,
    table: &str,
    columns: &[&str],
    find: &impl Fn(&str) -> Option<&'a Column>,
    folding: IdentifierFolding,
    problems: &mut Vec<Problem>,
) {
    // A hash set: the duplicate check stays linear in the number of columns.
    let mut seen: HashSet<Cow<'_, str>> =
        HashSet::with_capacity_and_hasher(cols.len(), Default::default());
    for (k, name) in cols.iter().enumerate() {
        let p = || path.index(k);
        match find(name) {
            None => problems.push(Problem::new(
                missing_code,
                p(),
                format!(
                    "{what} names column {}, which table {} does not have; {}use one of its columns: {}",
                    show(name),
                    show(table),
                    crate::load::closest(name, columns)
                        .map(|c| format!("did you mean \"{c}\"? "))
                        .unwrap_or_default(),
                    columns.join(", ")
                ),
            )),
            Some(c) => {
                if c.column_type == ColumnType::Json {
                    problems.push(Problem::new(
                        Code::NotIndexable,
                        p(),
                        format!("{what} uses json column {}, which has no equality operator; key on another column", show(name)),
                    ));
                }
            }
        }
        if !seen.insert(folding.fold(name)) {
            problems.push(Problem::new(
                Code::DuplicateKeyColumn,
                p(),
                format!(
                    "{what} lists column {} twice; remove the repeat",
                    show(name)
                ),
            ));
        }
    }
}

fn column(c: &Column, path: &dyn Fn() -> JsonPath, in_pk: bool, problems: &mut Vec<Problem>) {
    // The type the attributes describe: an array's element type.
    let t = match (c.column_type, c.items) {
        (ColumnType::Array, Some(items)) => items,
        (t, _) => t,
    };
    if in_pk && c.nullable == Some(true) {
        problems.push(Problem::new(
            Code::NullablePrimaryKey,
            path().key("nullable"),
            format!("column {} is in the primary key, which never accepts NULL; remove \"nullable\": true", show(&c.name)),
        ));
    }
    if let Some(len) = c.max_length {
        if t != ColumnType::String && t != ColumnType::Char {
            problems.push(not_allowed(&path(), "maxLength", t));
        } else if len == 0 || len > MAX_STRING_LENGTH {
            problems.push(Problem::new(
                Code::InvalidMaxLength,
                path().key("maxLength"),
                format!("maxLength {len} is out of range; use 1 to {MAX_STRING_LENGTH}, or omit it for unbounded text"),
            ));
        }
    }
    for (attr, v) in [("precision", c.precision), ("scale", c.scale)] {
        if v.is_some() && t != ColumnType::Decimal {
            problems.push(not_allowed(&path(), attr, t));
        }
    }
    if t == ColumnType::Decimal {
        match c.precision {
            None => problems.push(Problem::new(
                Code::InvalidPrecision,
                path().key("precision"),
                format!("decimal column {} needs a precision; add \"precision\" (1 to {MAX_DECIMAL_PRECISION})", show(&c.name)),
            )),
            Some(p) if p == 0 || p > MAX_DECIMAL_PRECISION => problems.push(Problem::new(
                Code::InvalidPrecision,
                path().key("precision"),
                format!("precision {p} is out of range; use 1 to {MAX_DECIMAL_PRECISION}"),
            )),
            Some(p) => {
                if let Some(s) = c.scale.filter(|&s| s > p) {
                    problems.push(Problem::new(
                        Code::InvalidPrecision,
                        path().key("scale"),
                        format!("scale {s} is larger than precision {p}; use 0 to {p}"),
                    ));
                }
            }
        }
    }
    if let Some(d) = &c.default {
        if let Err(why) = default_fits(d, c) {
            let code = if why.starts_with("the number") {
                Code::UnsafeInteger
            } else {
                Code::InvalidDefault
            };
            problems.push(Problem::new(code, path().key("default"), why));
        }
    }
}

fn not_allowed(path: &JsonPath, attr: &str, t: ColumnType) -> Problem {
    let owner = if attr == "maxLength" {
        "string"
    } else {
        "decimal"
    };
    Problem::new(
        Code::AttributeNotAllowed,
        path.key(attr),
        format!(
            "\"{attr}\" applies only to {owner} columns, not {}; remove it or change the type",
            t.as_str()
        ),
    )
}

/// Checks that a default literal fits its column; the error says what would.
pub fn default_fits(d: &Literal, c: &Column) -> Result<(), String> {
    if let Literal::Function(f) = d {
        return crate::constraints::function_fits(f.function, c);
    }
    if let Literal::Number(n) = d {
        if let Some(m) = unsafe_number_message(n) {
            return Err(m);
        }
    }
    let t = c.column_type;
    let expected = |what: &str| -> Result<(), String> {
        Err(format!(
            "default {} does not fit a {} column; use {what}",
            show_literal(d),
            t.as_str()
        ))
    };
    match (t, d) {
        (ColumnType::String, Literal::String(s)) => match c.max_length {
            Some(max) if s.chars().count() > max as usize => Err(format!(
                "default is {} characters, longer than maxLength {max}; shorten it or raise maxLength",
                s.chars().count()
            )),
            _ => Ok(()),
        },
        (ColumnType::String, _) => expected("a JSON string"),
        (ColumnType::Int, Literal::Number(n)) => match integral(n) {
            Some(v) if (i32::MIN as f64..=i32::MAX as f64).contains(&v) => Ok(()),
            _ => expected("an integer from -2147483648 to 2147483647"),
        },
        (ColumnType::Int, _) => expected("a JSON integer"),
        (ColumnType::Bigint, Literal::Number(n)) => match integral(n) {
            Some(_) => Ok(()),
            None => expected("an integer (write values of 2^53 or more as a string)"),
        },
        (ColumnType::Bigint, Literal::String(s)) => match s.parse::<i64>() {
            Ok(_) if s.bytes().enumerate().all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-')) => Ok(()),
            _ => expected("a string holding an integer from -9223372036854775808 to 9223372036854775807, digits only"),
        },
        (ColumnType::Bigint, _) => expected("an integer"),
        (ColumnType::Decimal, Literal::Number(_) | Literal::String(_)) => {
            let text = match d {
                Literal::Number(n) => {
                    let mut out = Vec::new();
                    crate::jcs::write_number(n, &mut out);
                    String::from_utf8(out).unwrap_or_default()
                }
                Literal::String(s) => s.clone(),
                Literal::Bool(_) | Literal::Function(_) => String::new(),
            };
            let precision = c.precision.unwrap_or(MAX_DECIMAL_PRECISION) as usize;
            let scale = c.scale.unwrap_or(0) as usize;
            match decimal_digits(&text, matches!(d, Literal::String(_))) {
                Some((int_digits, frac_digits)) if frac_digits <= scale && int_digits <= precision - scale.min(precision) => Ok(()),
                Some(_) => Err(format!(
                    "default {} does not fit decimal({precision},{scale}): at most {} digits before and {scale} after the point; change the default or the precision",
                    show_literal(d),
                    precision - scale.min(precision)
                )),
                None => expected("a number or a string holding a plain decimal like \"12.50\""),
            }
        }
        (ColumnType::Decimal, _) => expected("a number or a decimal string"),
        (ColumnType::Double, Literal::Number(_)) => Ok(()),
        (ColumnType::Double, _) => expected("a JSON number"),
        (ColumnType::Boolean, Literal::Bool(_)) => Ok(()),
        (ColumnType::Boolean, _) => expected("true or false"),
        (ColumnType::Date, Literal::String(s)) if is_date(s) => Ok(()),
        (ColumnType::Date, _) => expected("a date string \"YYYY-MM-DD\""),
        (ColumnType::Timestamp, Literal::String(s)) if is_timestamp(s, false) => Ok(()),
        (ColumnType::Timestamp, _) => expected("a string \"YYYY-MM-DDTHH:MM:SS[.ffffff]\" without offset"),
        (ColumnType::Timestamptz, Literal::String(s)) if is_timestamp(s, true) => Ok(()),
        (ColumnType::Timestamptz, _) => expected("a string \"YYYY-MM-DDTHH:MM:SS[.ffffff]\" ending in Z or +HH:MM"),
        (ColumnType::Json, Literal::String(s)) if serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok() => Ok(()),
        (ColumnType::Json, _) => expected("a string holding JSON text, like \"{}\""),
        (ColumnType::Uuid, Literal::String(s)) if is_uuid(s) => Ok(()),
        (ColumnType::Uuid, _) => expected("a UUID string like \"123e4567-e89b-12d3-a456-426614174000\""),
        (ColumnType::Binary, Literal::String(s)) if s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(()),
        (ColumnType::Binary, _) => expected("a string of hex digits of even length, like \"deadbeef\""),
        (ColumnType::Smallint, Literal::Number(n)) => match integral(n) {
            Some(v) if (i16::MIN as f64..=i16::MAX as f64).contains(&v) => Ok(()),
            _ => expected("an integer from -32768 to 32767"),
        },
        (ColumnType::Smallint, _) => expected("a JSON integer"),
        (ColumnType::Real, Literal::Number(_)) => Ok(()),
        (ColumnType::Real, _) => expected("a JSON number"),
        (ColumnType::Time, Literal::String(s)) if is_time(s) => Ok(()),
        (ColumnType::Time, _) => expected("a string \"HH:MM:SS[.ffffff]\""),
        (ColumnType::Char, Literal::String(s)) => match c.max_length {
            Some(max) if s.chars().count() > max as usize => Err(format!(
                "default is {} characters, longer than the char length {max}; shorten it or raise maxLength",
                s.chars().count()
            )),
            _ => Ok(()),
        },
        (ColumnType::Char, _) => expected("a JSON string"),
        (ColumnType::Numeric, Literal::Number(_)) => Ok(()),
        (ColumnType::Numeric, Literal::String(s)) if decimal_digits(s, true).is_some() => Ok(()),
        (ColumnType::Numeric, _) => expected("a number or a string holding a plain decimal like \"12.50\""),
        (ColumnType::Enum, Literal::String(_)) => Ok(()),
        (ColumnType::Enum, _) => expected("a string naming one of the enum's values"),
        (ColumnType::Interval | ColumnType::Array, _) => Err(format!(
            "{} columns take no literal default; remove \"default\"",
            t.as_str()
        )),
    }
}

fn show_literal(d: &Literal) -> String {
    match d {
        Literal::String(s) => show(s),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn integral(n: &serde_json::Number) -> Option<f64> {
    if let Some(i) = n.as_i64() {
        return Some(i as f64);
    }
    if let Some(u) = n.as_u64() {
        return Some(u as f64);
    }
    n.as_f64().filter(|f| f.fract() == 0.0)
}

/// Digits before and after the point of a plain decimal (`-12.50`) or, for numbers,
/// ECMAScript notation with an exponent (`1e-7`). Leading zeros of the integer part do
/// not count.
fn decimal_digits(text: &str, plain_only: bool) -> Option<(usize, usize)> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exp) = match body.split_once(['e', 'E']) {
        Some(_) if plain_only => return None,
        Some((m, e)) => (m, e.trim_start_matches('+').parse::<i64>().ok()?),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if mantissa.contains('.') && frac_part.is_empty() {
        return None;
    }
    let digits: String = format!("{int_part}{frac_part}");
    let point = int_part.len() as i64 + exp;
    let (int_digits, frac_digits) = if point <= 0 {
        (0, digits.len() as i64 - point)
    } else if point as usize >= digits.len() {
        (point, 0)
    } else {
        (point, digits.len() as i64 - point)
    };
    let int_str_zeros = digits.bytes().take_while(|&b| b == b'0').count() as i64;
    let int_digits = (int_digits - int_str_zeros.min(int_digits)).max(0);
    // Trailing zeros after the point do not need scale.
    let trailing = digits.bytes().rev().take_while(|&b| b == b'0').count() as i64;
    let frac_digits = (frac_digits - trailing.min(frac_digits)).max(0);
    Some((int_digits as usize, frac_digits as usize))
}

fn digits(s: &str, range: std::ops::Range<usize>) -> Option<u32> {
    let part = s.get(range)?;
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

fn is_date(s: &str) -> bool {
    if s.len() != 10 || s.as_bytes()[4] != b'-' || s.as_bytes()[7] != b'-' {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (digits(s, 0..4), digits(s, 5..7), digits(s, 8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && (1..=days).contains(&d)
}

fn is_timestamp(s: &str, with_zone: bool) -> bool {
    if s.len() < 19 || !s.is_char_boundary(10) || !is_date(&s[..10]) {
        return false;
    }
    let b = s.as_bytes();
    if !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' || b[16] != b':' {
        return false;
    }
    let (Some(h), Some(mi), Some(sec)) = (digits(s, 11..13), digits(s, 14..16), digits(s, 17..19))
    else {
        return false;
    };
    if h > 23 || mi > 59 || sec > 59 {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 6 {
            return false;
        }
        rest = &frac[n..];
    }
    if !with_zone {
        return rest.is_empty();
    }
    if rest == "Z" {
        return true;
    }
    let rb = rest.as_bytes();
    rb.len() == 6
        && (rb[0] == b'+' || rb[0] == b'-')
        && rb[3] == b':'
        && digits(rest, 1..3).is_some_and(|h| h <= 14)
        && digits(rest, 4..6).is_some_and(|m| m <= 59)
}

/// `HH:MM:SS[.ffffff]`.
fn is_time(s: &str) -> bool {
    is_timestamp(&format!("2000-01-01T{s}"), false)
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The dataset members the semantic checks look at, each present only when it has
/// the right JSON type (structural problems are reported separately).
#[derive(Debug, Default)]
pub struct DatasetFields<'a> {
    /// `environmentId`.
    pub environment_id: Option<&'a str>,
    /// `datasetId`.
    pub dataset_id: Option<&'a str>,
    /// `datasetAlias`.
    pub dataset_alias: Option<&'a str>,
    /// `schema`.
    pub schema: Option<&'a str>,
    /// `eventBusName`.
    pub event_bus_name: Option<&'a str>,
    /// `allowDestructive` entries (index, key) that are strings.
    pub allow_destructive: Vec<(usize, &'a str)>,
    /// `scheduledLimitMinutes`, when it is an integer.
    pub scheduled_limit_minutes: Option<u64>,
    /// The engine, when it is a known one, and `onlineIndexes`, when it is `true`.
    pub online_indexes_on: Option<&'a str>,
}

impl<'a> DatasetFields<'a> {
    /// From a typed config.
    pub fn from_config(ds: &'a DatasetConfig) -> Self {
        DatasetFields {
            environment_id: Some(&ds.environment_id),
            dataset_id: Some(&ds.dataset_id),
            dataset_alias: ds.dataset_alias.as_deref(),
            schema: Some(&ds.schema),
            event_bus_name: ds.event_bus_name.as_deref(),
            allow_destructive: match &ds.allow_destructive {
                Some(AllowDestructive::Keys(keys)) => {
                    keys.iter().map(String::as_str).enumerate().collect()
                }
                _ => Vec::new(),
            },
            scheduled_limit_minutes: ds.scheduled_limit_minutes.map(u64::from),
            online_indexes_on: (ds.online_indexes == Some(true)).then(|| ds.engine.as_str()),
        }
    }

    /// From a JSON value that failed the typed parse.
    pub fn from_value(v: &'a serde_json::Value) -> Self {
        let s = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
        DatasetFields {
            environment_id: s("environmentId"),
            dataset_id: s("datasetId"),
            dataset_alias: s("datasetAlias"),
            schema: s("schema"),
            event_bus_name: s("eventBusName"),
            allow_destructive: v
                .get("allowDestructive")
                .and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .enumerate()
                        .filter_map(|(i, k)| k.as_str().map(|k| (i, k)))
                        .collect()
                })
                .unwrap_or_default(),
            scheduled_limit_minutes: v
                .get("scheduledLimitMinutes")
                .and_then(serde_json::Value::as_u64),
            online_indexes_on: v
                .get("onlineIndexes")
                .and_then(serde_json::Value::as_bool)
                .filter(|on| *on)
                .and_then(|_| s("engine"))
                .filter(|e| Engine::from_name(e).is_some()),
        }
    }
}

/// Semantic checks on a dataset config.
pub fn dataset(ds: &DatasetConfig) -> Vec<Problem> {
    dataset_fields(&DatasetFields::from_config(ds))
}

/// Semantic checks on the members of a dataset config that have the right JSON type.
pub fn dataset_fields(ds: &DatasetFields<'_>) -> Vec<Problem> {
    let root = JsonPath::root();
    let mut problems = Vec::new();
    let id_ok = |s: &str, extra: &[u8]| {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= 128
            && b[0].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-' || extra.contains(c))
    };
    for (field, value) in [
        ("environmentId", ds.environment_id),
        ("datasetId", ds.dataset_id),
    ] {
        if let Some(value) = value.filter(|v| !id_ok(v, b"")) {
            problems.push(Problem::new(
                Code::InvalidDatasetField,
                root.key(field),
                format!("{field} {} must be 1 to 128 ASCII letters, digits, '_' or '-', starting with a letter or digit", show(value)),
            ));
        }
    }
    if let Some(alias) = ds.dataset_alias.filter(|a| !id_ok(a, b".")) {
        problems.push(Problem::new(
            Code::InvalidDatasetField,
            root.key("datasetAlias"),
            format!("datasetAlias {} must be 1 to 128 ASCII letters, digits, '_', '-' or '.', starting with a letter or digit", show(alias)),
        ));
    }
    if let Some(schema) = ds.schema {
        if check_identifier(schema, "schema", &|| root.key("schema"), &mut problems)
            && schema.eq_ignore_ascii_case("depot_migrate")
        {
            problems.push(Problem::new(
                Code::ReservedName,
                root.key("schema"),
                "schema depot_migrate is reserved for depot-migrate's own state; choose another schema".to_string(),
            ));
        }
    }
    if let Some(bus) = ds.event_bus_name {
        let name = bus.rsplit_once(":event-bus/").map_or(bus, |(arn, name)| {
            if arn.starts_with("arn:") {
                name
            } else {
                bus
            }
        });
        let ok = !name.is_empty()
            && name.len() <= 256
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
        if !ok {
            problems.push(Problem::new(
                Code::InvalidDatasetField,
                root.key("eventBusName"),
                format!("eventBusName {} is not an EventBridge bus name or ARN; use letters, digits and /._- (e.g. \"default\")", show(bus)),
            ));
        }
    }
    if let Some(m) = ds
        .scheduled_limit_minutes
        .filter(|m| !(1..=1440).contains(m))
    {
        problems.push(Problem::new(
            Code::InvalidDatasetField,
            root.key("scheduledLimitMinutes"),
            format!("scheduledLimitMinutes {m} must be 1 to 1440 (minutes a submitted version may wait for a worker; default 15)"),
        ));
    }
    if let Some(engine) = ds
        .online_indexes_on
        .filter(|e| !matches!(*e, "postgres" | "aurora-postgresql"))
    {
        problems.push(Problem::new(
            Code::OnlineIndexUnsupported,
            root.key("onlineIndexes"),
            format!("onlineIndexes: {engine} has no online (concurrent) index builds; remove it (it applies to postgres and aurora-postgresql)"),
        ));
    }
    for (i, key) in &ds.allow_destructive {
        if !is_step_key(key) {
            problems.push(Problem::new(
                Code::InvalidStepKey,
                root.key("allowDestructive").index(*i),
                format!("{} is not a plan step key; use the key printed by `depot-migrate plan`, like \"dropColumn:dog.weight\"", show(key)),
            ));
        } else if let Some(why) = step_key_mismatch(key) {
            problems.push(Problem::new(
                Code::InvalidStepKey,
                root.key("allowDestructive").index(*i),
                format!("{} {why}", show(key)),
            ));
        }
    }
    problems
}

/// Step kinds whose target is `table.column` or `table.index`.
const TWO_PART_KINDS: &[&str] = &[
    "addColumn",
    "alterColumnType",
    "commentColumn",
    "createIndex",
    "dropColumn",
    "dropIndex",
    "dropNotNull",
    "rebuildColumn",
    "renameColumn",
    "renameIndex",
    "setNotNull",
];
/// Step kinds whose target is a table.
const ONE_PART_KINDS: &[&str] = &[
    "addPrimaryKey",
    "commentTable",
    "createSchema",
    "createTable",
    "dropPrimaryKey",
    "dropTable",
    "rebuildTable",
    "renameTable",
    "createView",
    "dropView",
    "renameView",
    "commentView",
    "createMaterializedView",
    "dropMaterializedView",
    "refreshMaterializedView",
    "checkRoles",
    "grant",
    "revoke",
];

/// Why a key of the step-key form names no step a plan can have: an unknown kind (with
/// the closest one) or a target of the wrong shape for its kind. `None`: fine.
fn step_key_mismatch(key: &str) -> Option<String> {
    let (kind, target) = key.split_once(':')?;
    let parts = target.split('.').count();
    let all: Vec<&str> = TWO_PART_KINDS
        .iter()
        .chain(ONE_PART_KINDS)
        .copied()
        .collect();
    if !all.contains(&kind) {
        let hint = match crate::load::closest(kind, &all) {
            Some(c) => {
                let suggestion = format!("{c}:{target}");
                format!("did you mean {}? ", show(&suggestion))
            }
            None => String::new(),
        };
        return Some(format!(
            "names no step kind ({}); {hint}use the key printed by `depot-migrate plan`",
            show(kind)
        ));
    }
    if TWO_PART_KINDS.contains(&kind) && parts != 2 {
        return Some(format!(
            "names no column or index: a {kind} key is \"{kind}:TABLE.NAME\", like \"{kind}:dog.weight\""
        ));
    }
    None
}

/// Whether `key` has the form of a plan step key: `kind:target`, e.g.
/// `dropColumn:dog.weight`.
pub fn is_step_key(key: &str) -> bool {
    let Some((kind, target)) = key.split_once(':') else {
        return false;
    };
    !kind.is_empty()
        && kind.bytes().all(|b| b.is_ascii_alphabetic())
        && !target.is_empty()
        && target.split('.').all(is_identifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_digit_counting() {
        assert_eq!(decimal_digits("12.50", true), Some((2, 1)));
        assert_eq!(decimal_digits("-0.001", true), Some((0, 3)));
        assert_eq!(decimal_digits("1e-7", false), Some((0, 7)));
        assert_eq!(decimal_digits("1e-7", true), None);
        assert_eq!(decimal_digits("1.5e+3", false), Some((4, 0)));
        assert_eq!(decimal_digits("007", true), Some((1, 0)));
        assert_eq!(decimal_digits("1.", true), None);
        assert_eq!(decimal_digits(".5", true), None);
        assert_eq!(decimal_digits("1_000", true), None);
    }

    #[test]
    fn dates_and_timestamps() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2023-13-01"));
        assert!(is_timestamp("2024-01-01T10:00:00.123456", false));
        assert!(!is_timestamp("2024-01-01T10:00:00Z", false));
        assert!(is_timestamp("2024-01-01 10:00:00+05:30", true));
        assert!(!is_timestamp("2024-01-01T25:00:00Z", true));
    }

    #[test]
    fn step_keys() {
        assert!(is_step_key("dropColumn:dog.weight"));
        assert!(is_step_key("dropTable:dog"));
        assert!(!is_step_key("dropColumn"));
        assert!(!is_step_key("drop column:dog.weight"));
        assert!(!is_step_key("dropColumn:dog.x;DROP"));
    }
}
