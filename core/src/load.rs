//! Reading input files: size and encoding checks, a fast typed parse, and, when that
//! fails, a walk over the JSON that lists every structural problem with its path.

use crate::error::{Code, Invalid, JsonPath, Problem};
use crate::model::{DatasetConfig, Engine, Package};
use crate::validate;
use serde_json::{Map, Value};

/// Files larger than this are refused before parsing (32 MiB).
pub const MAX_FILE_SIZE: usize = 32 * 1024 * 1024;

/// Largest magnitude a JSON number may have: JCS represents numbers as IEEE 754
/// doubles, which hold integers exactly only below 2^53.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Parses and validates a package. `engine` decides identifier folding for duplicate
/// checks; without one the strictest folding (case-insensitive) is used.
///
/// ```
/// let pkg = depot_migrate_core::load::parse_package(
///     br#"{"namespace":"dogs","tables":[{"name":"dog","columns":[{"name":"id","type":"bigint"}]}]}"#,
///     None,
/// ).unwrap();
/// assert_eq!(pkg.tables[0].columns[0].name, "id");
/// ```
pub fn parse_package(bytes: &[u8], engine: Option<Engine>) -> Result<Package, Invalid> {
    let text = check_bytes(bytes)?;
    let typed = typed_parse::<Package>(text);
    match typed {
        Ok(package) => {
            let problems = validate::package(&package, engine, None);
            if problems.is_empty() {
                Ok(package)
            } else {
                Err(Invalid { problems })
            }
        }
        Err(serde_message) => {
            let value = parse_value(text)?;
            let mut problems = duplicate_members(text);
            walk_package(&value, &mut problems);
            // Semantic checks on the tables that are structurally sound, so one run
            // reports every problem.
            let (partial, paths) = partial_package(&value);
            problems.extend(validate::package(&partial, engine, Some(&paths)));
            if problems.is_empty() {
                problems.push(fallback_problem(&serde_message));
            }
            dedup(&mut problems);
            Err(Invalid { problems })
        }
    }
}

/// Parses and validates a dataset config.
///
/// ```
/// let ds = depot_migrate_core::load::parse_dataset(
///     br#"{"environmentId":"e1","datasetId":"d1","engine":"sqlite","schema":"dogs"}"#,
/// ).unwrap();
/// assert_eq!(ds.engine, depot_migrate_core::Engine::Sqlite);
/// ```
pub fn parse_dataset(bytes: &[u8]) -> Result<DatasetConfig, Invalid> {
    let text = check_bytes(bytes)?;
    let typed = typed_parse::<DatasetConfig>(text);
    match typed {
        Ok(dataset) => {
            let problems = validate::dataset(&dataset);
            if problems.is_empty() {
                Ok(dataset)
            } else {
                Err(Invalid { problems })
            }
        }
        Err(serde_message) => {
            let value = parse_value(text)?;
            let mut problems = duplicate_members(text);
            walk_dataset(&value, &mut problems);
            problems.extend(validate::dataset_fields(
                &validate::DatasetFields::from_value(&value),
            ));
            if problems.is_empty() {
                problems.push(fallback_problem(&serde_message));
            }
            dedup(&mut problems);
            Err(Invalid { problems })
        }
    }
}

/// The fast path: a plain typed parse. Only when it fails is the text parsed again with
/// path tracking, for the fallback message (the walk over the value says more).
fn typed_parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    match serde_json::from_str::<crate::model::MapOnly<T>>(text) {
        Ok(v) => Ok(v.0),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(text);
            let typed: Result<crate::model::MapOnly<T>, _> =
                serde_path_to_error::deserialize(&mut de);
            match typed {
                Ok(_) => Err(de
                    .end()
                    .map_err(|e| e.to_string())
                    .err()
                    .unwrap_or_else(|| "invalid input".to_string())),
                Err(e) => Err(e.to_string()),
            }
        }
    }
}

/// Removes repeated reports of the same problem at the same path (a structural and a
/// semantic check may both see one bad number).
fn dedup(problems: &mut Vec<Problem>) {
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| seen.insert((p.code, p.path.clone())));
}

/// Every member that appears twice in one object, with its path. A parse into a map
/// keeps only the last one silently, so this walks the text with its own visitor.
pub fn duplicate_members(text: &str) -> Vec<Problem> {
    use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
    struct Seed<'a> {
        path: JsonPath,
        out: &'a mut Vec<Problem>,
    }
    impl<'de> DeserializeSeed<'de> for Seed<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Seed<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0;
            while seq
                .next_element_seed(Seed {
                    path: self.path.index(i),
                    out: self.out,
                })?
                .is_some()
            {
                i += 1;
            }
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut keys = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                let path = self.path.key(&key);
                if !keys.insert(key.clone()) {
                    self.out.push(Problem::new(
                        Code::DuplicateMember,
                        path.clone(),
                        format!(
                            "member {} appears more than once in this object; keep one of them",
                            crate::error::show(&key)
                        ),
                    ));
                }
                map.next_value_seed(Seed {
                    path,
                    out: self.out,
                })?;
            }
            Ok(())
        }
    }
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let _ = Seed {
        path: JsonPath::root(),
        out: &mut out,
    }
    .deserialize(&mut de);
    out
}

fn fallback_problem(serde_message: &str) -> Problem {
    // serde_path_to_error prints "path: message"; its path uses dots and [i].
    let (path, message) = match serde_message.split_once(": ") {
        Some((p, m)) if !p.contains(' ') => (p, m),
        _ => (".", serde_message),
    };
    let path = if path == "." {
        "$".to_string()
    } else {
        format!("$.{}", path.trim_start_matches('.')).replace(".[", "[")
    };
    let code = if message.starts_with("duplicate field") {
        Code::DuplicateMember
    } else {
        Code::WrongType
    };
    let fix = if code == Code::DuplicateMember {
        "; keep one of them"
    } else {
        ""
    };
    Problem::new(code, path, format!("{message}{fix}"))
}

/// Size and encoding checks shared by every input file.
pub fn check_bytes(bytes: &[u8]) -> Result<&str, Invalid> {
    if bytes.len() > MAX_FILE_SIZE {
        return Err(Invalid::one(
            Code::FileTooLarge,
            "$",
            format!(
                "file is {} bytes, over the {} byte (32 MiB) limit; split the package or remove what does not belong in it",
                bytes.len(),
                MAX_FILE_SIZE
            ),
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
        Invalid::one(
            Code::NotUtf8,
            "$",
            format!("invalid UTF-8 at byte {offset} (line {line}); save the file as UTF-8"),
        )
    })
}

/// Parses JSON text into a value, with `null` members removed at every depth.
pub fn parse_value(text: &str) -> Result<Value, Invalid> {
    let mut value: Value = serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("recursion limit") {
            Invalid::one(
                Code::TooDeep,
                "$",
                format!("JSON nested too deeply ({msg}); a package is never nested more than a few levels"),
            )
        } else if msg.contains("number out of range") {
            Invalid::one(
                Code::UnsafeInteger,
                "$",
                format!("a number is too large for a double ({msg}); numbers must stay below 2^53 in magnitude, write exact large values as strings"),
            )
        } else if text.starts_with('\u{feff}') {
            Invalid::one(
                Code::MalformedJson,
                "$",
                "the file starts with a UTF-8 byte-order mark (BOM), which JSON does not allow; save it as UTF-8 without BOM",
            )
        } else {
            Invalid::one(Code::MalformedJson, "$", format!("malformed JSON: {msg}; fix the syntax there"))
        }
    })?;
    strip_nulls(&mut value);
    Ok(value)
}

/// Removes every object member whose value is `null`, at any depth.
pub fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            for v in map.values_mut() {
                strip_nulls(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------
// Structural walk: what a JSON Schema could check, with every problem listed.

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bool,
    UInt,
    Literal,
    StrOrStrList,
    BoolOrStrList,
    StrList,
    ColumnType,
    Engine,
    Mode,
    Tables,
    Columns,
    Indexes,
    IndexKeys,
    IndexMethod,
    SortOrder,
    NullsOrder,
    Enums,
    UniqueConstraints,
    ForeignKeys,
    References,
    Checks,
    Identity,
    JsonStorage,
    Action,
    Deferrable,
    DefaultFunction,
    SafeInt,
    Views,
    Grants,
    GrantOn,
    Objects,
    Privileges,
}

struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}
const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

const PACKAGE_FIELDS: &[Field] = &[
    req("namespace", Kind::Str),
    opt("enums", Kind::Enums),
    req("tables", Kind::Tables),
    opt("views", Kind::Views),
    opt("grants", Kind::Grants),
];
const VIEW_FIELDS: &[Field] = &[
    req("name", Kind::Str),
    req("query", Kind::Str),
    opt("columns", Kind::StrList),
    opt("materialized", Kind::Bool),
    opt("comment", Kind::Str),
    opt("renamedFrom", Kind::StrOrStrList),
];
const GRANT_FIELDS: &[Field] = &[
    req("role", Kind::Str),
    req("privileges", Kind::Privileges),
    req("on", Kind::GrantOn),
    opt("future", Kind::Bool),
];
const GRANT_ON_FIELDS: &[Field] = &[
    opt("tables", Kind::Objects),
    opt("views", Kind::Objects),
    opt("sequences", Kind::Objects),
];
const ENUM_FIELDS: &[Field] = &[
    req("name", Kind::Str),
    req("values", Kind::StrList),
    opt("renamedFrom", Kind::StrOrStrList),
];
const UNIQUE_FIELDS: &[Field] = &[req("name", Kind::Str), req("columns", Kind::StrList)];
const FOREIGN_KEY_FIELDS: &[Field] = &[
    req("name", Kind::Str),
    req("columns", Kind::StrList),
    req("references", Kind::References),
    opt("onDelete", Kind::Action),
    opt("onUpdate", Kind::Action),
    opt("deferrable", Kind::Deferrable),
];
const REFERENCES_FIELDS: &[Field] = &[req("table", Kind::Str), req("columns", Kind::StrList)];
const CHECK_FIELDS: &[Field] = &[req("name", Kind::Str), req("expression", Kind::Str)];
const FUNCTION_DEFAULT_FIELDS: &[Field] = &[req("function", Kind::DefaultFunction)];
const TABLE_FIELDS: &[Field] = &[
    req("name", Kind::Str),
    req("columns", Kind::Columns),
    opt("primaryKey", Kind::StrList),
    opt("indexes", Kind::Indexes),
    opt("uniqueConstraints", Kind::UniqueConstraints),
    opt("foreignKeys", Kind::ForeignKeys),
    opt("checks", Kind::Checks),
    opt("comment", Kind::Str),
    opt("renamedFrom", Kind::StrOrStrList),
];
const COLUMN_FIELDS: &[Field] = &[
    req("name", Kind::Str),
    req("type", Kind::ColumnType),
    opt("nullable", Kind::Bool),
    opt("maxLength", Kind::UInt),
    opt("precision", Kind::UInt),
    opt("scale", Kind::UInt),
    opt("enum", Kind::Str),
    opt("items", Kind::ColumnType),
    opt("jsonStorage", Kind::JsonStorage),
    opt("identity", Kind::Identity),
    opt("start", Kind::SafeInt),
    opt("increment", Kind::SafeInt),
    opt("default", Kind::Literal),
    opt("comment", Kind::Str),
    opt("renamedFrom", Kind::StrOrStrList),
];
const INDEX_FIELDS: &[Field] = &[
    req("name", Kind::Str),
    req("columns", Kind::IndexKeys),
    opt("unique", Kind::Bool),
    opt("where", Kind::Str),
    opt("include", Kind::StrList),
    opt("method", Kind::IndexMethod),
    opt("online", Kind::Bool),
    opt("renamedFrom", Kind::StrOrStrList),
];
const INDEX_KEY_FIELDS: &[Field] = &[
    opt("column", Kind::Str),
    opt("expression", Kind::Str),
    opt("order", Kind::SortOrder),
    opt("nulls", Kind::NullsOrder),
];
const DATASET_FIELDS: &[Field] = &[
    req("environmentId", Kind::Str),
    req("datasetId", Kind::Str),
    opt("datasetAlias", Kind::Str),
    req("engine", Kind::Engine),
    req("schema", Kind::Str),
    opt("migrationMode", Kind::Mode),
    opt("eventBusName", Kind::Str),
    opt("allowDestructive", Kind::BoolOrStrList),
    opt("onlineIndexes", Kind::Bool),
];

fn walk_package(value: &Value, problems: &mut Vec<Problem>) {
    walk_object(
        value,
        &JsonPath::root(),
        "package",
        PACKAGE_FIELDS,
        problems,
    );
}

fn walk_dataset(value: &Value, problems: &mut Vec<Problem>) {
    walk_object(
        value,
        &JsonPath::root(),
        "dataset config",
        DATASET_FIELDS,
        problems,
    );
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(path: &JsonPath, expected: &str, got: &Value) -> Problem {
    Problem::new(
        Code::WrongType,
        path,
        format!("expected {expected}, found {}", type_name(got)),
    )
}

fn walk_object(
    value: &Value,
    path: &JsonPath,
    what: &str,
    fields: &[Field],
    problems: &mut Vec<Problem>,
) {
    let Some(map) = value.as_object() else {
        problems.push(wrong_type(path, &format!("{what} object"), value));
        return;
    };
    check_members(map, path, what, fields, problems);
}

fn check_members(
    map: &Map<String, Value>,
    path: &JsonPath,
    what: &str,
    fields: &[Field],
    problems: &mut Vec<Problem>,
) {
    for (key, v) in map {
        let p = path.key(key);
        match fields.iter().find(|f| f.name == key) {
            Some(f) => walk_kind(v, &p, f.kind, problems),
            None => {
                let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
                let hint = match closest(key, &known) {
                    Some(s) => format!("did you mean \"{s}\"? "),
                    None => String::new(),
                };
                problems.push(Problem::new(
                    Code::UnknownField,
                    p,
                    format!(
                        "unknown member {} in {what}; {hint}allowed: {}",
                        crate::error::show(key),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    for f in fields.iter().filter(|f| f.required) {
        if !map.contains_key(f.name) {
            problems.push(Problem::new(
                Code::MissingField,
                path.key(f.name),
                format!("{what} is missing required member \"{}\"; add it", f.name),
            ));
        }
    }
}

fn check_number(n: &serde_json::Number, path: &JsonPath, problems: &mut Vec<Problem>) -> bool {
    if let Some(message) = unsafe_number_message(n) {
        problems.push(Problem::new(Code::UnsafeInteger, path, message));
        false
    } else {
        true
    }
}

/// Why a number cannot be hashed exactly, if it cannot.
pub fn unsafe_number_message(n: &serde_json::Number) -> Option<String> {
    let too_big = if let Some(u) = n.as_u64() {
        u > MAX_SAFE_INTEGER
    } else if let Some(i) = n.as_i64() {
        i.unsigned_abs() > MAX_SAFE_INTEGER
    } else {
        n.as_f64()
            .is_none_or(|f| !f.is_finite() || f.abs() > MAX_SAFE_INTEGER as f64)
    };
    too_big.then(|| {
        format!(
            "the number {n} has an integer value of magnitude 2^53 or more, which canonical JSON cannot represent exactly; use a smaller number, or on a bigint or decimal column write the exact value as a string of digits"
        )
    })
}

fn walk_kind(v: &Value, path: &JsonPath, kind: Kind, problems: &mut Vec<Problem>) {
    match kind {
        Kind::Str => {
            if !v.is_string() {
                problems.push(wrong_type(path, "a string", v));
            }
        }
        Kind::Bool => {
            if !v.is_boolean() {
                problems.push(wrong_type(path, "true or false", v));
            }
        }
        Kind::UInt => match v {
            Value::Number(n) => {
                if check_number(n, path, problems) && crate::model::whole_u32(n).is_none() {
                    problems.push(Problem::new(
                        Code::WrongType,
                        path,
                        format!("expected a whole number from 0 to 4294967295, found {n}"),
                    ));
                }
            }
            _ => problems.push(wrong_type(path, "a non-negative integer", v)),
        },
        Kind::Literal => match v {
            Value::Number(n) => {
                check_number(n, path, problems);
            }
            Value::String(_) | Value::Bool(_) => {}
            Value::Object(map) if map.contains_key("function") => check_members(
                map,
                path,
                "function default",
                FUNCTION_DEFAULT_FIELDS,
                problems,
            ),
            _ => problems.push(wrong_type(
                path,
                "a JSON literal (string, number or boolean; never raw SQL) or {\"function\": NAME}",
                v,
            )),
        },
        Kind::SafeInt => match v {
            Value::Number(n) => {
                if check_number(n, path, problems) && crate::model::whole_i64(n).is_none() {
                    problems.push(Problem::new(
                        Code::WrongType,
                        path,
                        format!("expected a whole number, found {n}"),
                    ));
                }
            }
            _ => problems.push(wrong_type(path, "a whole number", v)),
        },
        Kind::Identity => enum_value(v, path, "identity", &["always", "byDefault"], problems),
        Kind::JsonStorage => enum_value(v, path, "json storage", &["jsonb", "text"], problems),
        Kind::Action => enum_value(
            v,
            path,
            "referential action",
            &["noAction", "restrict", "cascade", "setNull", "setDefault"],
            problems,
        ),
        Kind::Deferrable => enum_value(
            v,
            path,
            "deferrable",
            &["no", "initiallyImmediate", "initiallyDeferred"],
            problems,
        ),
        Kind::DefaultFunction => enum_value(
            v,
            path,
            "default function",
            &crate::model::DefaultFunction::ALL.map(|f| f.as_str()),
            problems,
        ),
        Kind::Enums => walk_array(v, path, "enum", ENUM_FIELDS, problems),
        Kind::UniqueConstraints => {
            walk_array(v, path, "unique constraint", UNIQUE_FIELDS, problems)
        }
        Kind::ForeignKeys => walk_array(v, path, "foreign key", FOREIGN_KEY_FIELDS, problems),
        Kind::References => walk_object(v, path, "references", REFERENCES_FIELDS, problems),
        Kind::Checks => walk_array(v, path, "check", CHECK_FIELDS, problems),
        Kind::Views => walk_array(v, path, "view", VIEW_FIELDS, problems),
        Kind::Grants => walk_array(v, path, "grant", GRANT_FIELDS, problems),
        Kind::GrantOn => {
            walk_object(v, path, "grant target", GRANT_ON_FIELDS, problems);
            if let Some(map) = v.as_object() {
                if map.is_empty() {
                    problems.push(Problem::new(
                        Code::MissingField,
                        path,
                        "a grant target needs one of \"tables\", \"views\" or \"sequences\"; add it",
                    ));
                }
            }
        }
        Kind::Objects => match v {
            Value::String(s) if s == "all" => {}
            Value::Array(items) => walk_str_items(items, path, problems),
            _ => problems.push(wrong_type(path, "\"all\" or a list of names", v)),
        },
        Kind::Privileges => match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    enum_value(
                        item,
                        &path.index(i),
                        "privilege",
                        &crate::model::Privilege::ALL.map(|p| p.as_str()),
                        problems,
                    );
                }
            }
            _ => problems.push(wrong_type(
                path,
                "a list of privileges like [\"select\"]",
                v,
            )),
        },
        Kind::StrOrStrList => match v {
            Value::String(_) => {}
            Value::Array(items) => walk_str_items(items, path, problems),
            _ => problems.push(wrong_type(path, "a name or a list of names", v)),
        },
        Kind::BoolOrStrList => match v {
            Value::Bool(_) => {}
            Value::Array(items) => walk_str_items(items, path, problems),
            _ => problems.push(wrong_type(
                path,
                "false, true or a list of plan step keys like \"dropColumn:dog.weight\"",
                v,
            )),
        },
        Kind::StrList => match v {
            Value::Array(items) => walk_str_items(items, path, problems),
            _ => problems.push(wrong_type(path, "a list of names", v)),
        },
        Kind::ColumnType => enum_value(
            v,
            path,
            "column type",
            &crate::model::ColumnType::ALL.map(|t| t.as_str()),
            problems,
        ),
        Kind::Engine => enum_value(
            v,
            path,
            "engine",
            &Engine::ALL.map(|e| e.as_str()),
            problems,
        ),
        Kind::Mode => enum_value(
            v,
            path,
            "migration mode",
            &["synchronous", "asynchronous"],
            problems,
        ),
        Kind::Tables => walk_array(v, path, "table", TABLE_FIELDS, problems),
        Kind::Columns => walk_array(v, path, "column", COLUMN_FIELDS, problems),
        Kind::Indexes => walk_array(v, path, "index", INDEX_FIELDS, problems),
        Kind::IndexKeys => match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(_) => {}
                        Value::Object(_) => walk_object(
                            item,
                            &path.index(i),
                            "index key",
                            INDEX_KEY_FIELDS,
                            problems,
                        ),
                        _ => problems.push(wrong_type(
                            &path.index(i),
                            "a column name or an index key object ({\"column\"|\"expression\", \"order\", \"nulls\"})",
                            item,
                        )),
                    }
                }
            }
            _ => problems.push(wrong_type(path, "a list of index keys", v)),
        },
        Kind::IndexMethod => enum_value(
            v,
            path,
            "index method",
            &crate::model::IndexMethod::ALL.map(|m| m.as_str()),
            problems,
        ),
        Kind::SortOrder => enum_value(v, path, "sort order", &["asc", "desc"], problems),
        Kind::NullsOrder => enum_value(v, path, "nulls order", &["first", "last"], problems),
    }
}

fn walk_str_items(items: &[Value], path: &JsonPath, problems: &mut Vec<Problem>) {
    for (i, item) in items.iter().enumerate() {
        if !item.is_string() {
            problems.push(wrong_type(&path.index(i), "a string", item));
        }
    }
}

fn walk_array(
    v: &Value,
    path: &JsonPath,
    what: &str,
    fields: &[Field],
    problems: &mut Vec<Problem>,
) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_object(item, &path.index(i), what, fields, problems);
            }
        }
        _ => problems.push(wrong_type(path, &format!("an array of {what} objects"), v)),
    }
}

fn enum_value(
    v: &Value,
    path: &JsonPath,
    what: &str,
    allowed: &[&str],
    problems: &mut Vec<Problem>,
) {
    match v {
        Value::String(s) if allowed.contains(&s.as_str()) => {}
        Value::String(s) => {
            // Names other systems use for a type we call otherwise.
            let alias = match s.to_ascii_lowercase().as_str() {
                "datetime" | "timestamptz" | "timestamp_ntz" | "timestamp_tz" => Some("timestamp"),
                "integer" | "int4" => Some("int"),
                "int8" | "long" => Some("bigint"),
                "varchar" | "text" => Some("string"),
                "bool" => Some("boolean"),
                "numeric" => Some("decimal"),
                "float" | "float8" => Some("double"),
                _ => None,
            }
            .filter(|a| allowed.contains(a));
            let hint = match alias.or_else(|| closest(s, allowed)) {
                Some(c) => format!(" (did you mean \"{c}\"?)"),
                None => String::new(),
            };
            problems.push(Problem::new(
                Code::InvalidEnum,
                path,
                format!(
                    "unknown {what} {}{hint}; use one of {}",
                    crate::error::show(s),
                    allowed.join(", ")
                ),
            ));
        }
        _ => problems.push(wrong_type(path, &format!("a {what} name"), v)),
    }
}

/// The closest known name within a small edit distance, for "did you mean" hints.
pub fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The package as far as it can be read, for semantic checks when some parts are
/// structurally broken (those problems are already reported): unknown members are
/// dropped, wrongly typed optional members removed, and broken columns and indexes
/// replaced by placeholders that the semantic checks skip, so paths keep their indices.
fn partial_package(value: &Value) -> (Package, validate::Paths) {
    let mut package = Package {
        enums: None,
        grants: None,
        views: None,
        namespace: value
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("_")
            .to_string(),
        tables: Vec::new(),
    };
    let mut paths = validate::Paths::default();
    if !value.get("namespace").is_some_and(Value::is_string) {
        paths.skip_namespace = true;
    }
    if let Some(enums) = value.get("enums") {
        match serde_json::from_value::<Vec<crate::model::EnumType>>(enums.clone()) {
            Ok(e) => package.enums = Some(e),
            Err(_) => paths.incomplete = true,
        }
    }
    if let Some(views) = value.get("views") {
        match serde_json::from_value::<Vec<crate::model::View>>(views.clone()) {
            Ok(v) => package.views = Some(v),
            Err(_) => paths.incomplete = true,
        }
    }
    if let Some(grants) = value.get("grants") {
        match serde_json::from_value::<Vec<crate::model::Grant>>(grants.clone()) {
            Ok(g) => package.grants = Some(g),
            Err(_) => paths.incomplete = true,
        }
    }
    let known = |fields: &[Field], k: &str| fields.iter().any(|f| f.name == k);
    let Some(tables) = value.get("tables").and_then(Value::as_array) else {
        return (package, paths);
    };
    for (i, t) in tables.iter().enumerate() {
        let Some(obj) = t.as_object() else { continue };
        let mut obj = obj.clone();
        obj.retain(|k, _| known(TABLE_FIELDS, k));
        let is_str_list = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
        if obj.get("primaryKey").is_some_and(|v| !is_str_list(v)) {
            obj.remove("primaryKey");
        }
        if obj.get("comment").is_some_and(|v| !v.is_string()) {
            obj.remove("comment");
        }
        if obj
            .get("renamedFrom")
            .is_some_and(|v| !v.is_string() && !is_str_list(v))
        {
            obj.remove("renamedFrom");
        }
        let mut broken_columns = Vec::new();
        if let Some(Value::Array(cols)) = obj.get_mut("columns") {
            for (j, c) in cols.iter_mut().enumerate() {
                if let Value::Object(co) = c {
                    co.retain(|k, _| known(COLUMN_FIELDS, k));
                }
                if serde_json::from_value::<crate::model::Column>(c.clone()).is_err() {
                    let name = c
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    *c = serde_json::json!({"name": name, "type": "string"});
                    broken_columns.push(j);
                }
            }
        }
        let mut broken_indexes = Vec::new();
        match obj.get_mut("indexes") {
            Some(Value::Array(ixs)) => {
                for (j, ix) in ixs.iter_mut().enumerate() {
                    if let Value::Object(io) = ix {
                        io.retain(|k, _| known(INDEX_FIELDS, k));
                    }
                    if serde_json::from_value::<crate::model::Index>(ix.clone()).is_err() {
                        *ix = serde_json::json!({"name": "", "columns": []});
                        broken_indexes.push(j);
                    }
                }
            }
            Some(_) => {
                obj.remove("indexes");
            }
            None => {}
        }
        // Constraint lists that do not read are left out (already reported).
        for member in ["uniqueConstraints", "foreignKeys", "checks"] {
            let ok = match (member, obj.get(member)) {
                (_, None) => true,
                ("uniqueConstraints", Some(v)) => {
                    serde_json::from_value::<Vec<crate::model::UniqueConstraint>>(v.clone()).is_ok()
                }
                ("foreignKeys", Some(v)) => {
                    serde_json::from_value::<Vec<crate::model::ForeignKey>>(v.clone()).is_ok()
                }
                (_, Some(v)) => {
                    serde_json::from_value::<Vec<crate::model::Check>>(v.clone()).is_ok()
                }
            };
            if !ok {
                obj.remove(member);
                paths.incomplete = true;
            }
        }
        if let Ok(table) = serde_json::from_value(Value::Object(obj)) {
            package.tables.push(table);
            paths.tables.push(i);
            paths.broken_columns.push(broken_columns);
            paths.broken_indexes.push(broken_indexes);
        } else {
            paths.incomplete = true;
        }
    }
    (package, paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos() {
        assert_eq!(
            closest("nulable", &["name", "nullable", "type"]),
            Some("nullable")
        );
        assert_eq!(closest("strng", &["string", "int"]), Some("string"));
        assert_eq!(closest("zzzzzz", &["string", "int"]), None);
    }

    #[test]
    fn unsafe_numbers_whatever_notation() {
        for text in [
            "9007199254740992",
            "-9007199254740992",
            "9.007199254740992e15",
            "1e16",
            "1e21",
            "18446744073709551616",
        ] {
            let n: serde_json::Number = serde_json::from_str(text).expect("number");
            assert!(unsafe_number_message(&n).is_some(), "{text}");
        }
        for text in [
            "9007199254740991",
            "-9007199254740991",
            "1e-7",
            "0.1",
            "-0",
            "9.007199254740991e15",
        ] {
            let n: serde_json::Number = serde_json::from_str(text).expect("number");
            assert!(unsafe_number_message(&n).is_none(), "{text}");
        }
    }
}
