//! Errors and validation problems. Every problem has a stable code (listed in
//! `docs/errors.md`; codes are never reused), a JSONPath and a message that says how to
//! fix it.

use serde::Serialize;
use std::fmt;

/// A stable error code. Codes are never reused; new ones are appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub enum Code {
    /// File larger than the 32 MiB limit.
    FileTooLarge,
    /// File is not valid UTF-8.
    NotUtf8,
    /// Malformed JSON.
    MalformedJson,
    /// JSON nested deeper than the parser accepts.
    TooDeep,
    /// A member has the wrong JSON type.
    WrongType,
    /// A required member is missing.
    MissingField,
    /// A member the format does not know (usually a typo).
    UnknownField,
    /// A number with an integer value of magnitude 2^53 or more.
    UnsafeInteger,
    /// A value outside its allowed set (column type, engine, mode).
    InvalidEnum,
    /// A member appears twice in one object.
    DuplicateMember,
    /// An identifier outside `^[A-Za-z_][A-Za-z0-9_]{0,62}$`.
    InvalidIdentifier,
    /// Two tables share a name after the engine's identifier folding.
    DuplicateTable,
    /// Two columns of a table share a name after folding.
    DuplicateColumn,
    /// Two indexes share a name, or an index name collides with a table or constraint.
    DuplicateIndex,
    /// A primary-key column that the table does not have.
    UnknownPrimaryKeyColumn,
    /// An index column that the table does not have.
    UnknownIndexColumn,
    /// `maxLength` not a positive integer within range.
    InvalidMaxLength,
    /// `precision`/`scale` out of range, or `precision` missing on a decimal.
    InvalidPrecision,
    /// A type attribute on a type that does not take it (`maxLength` on `int`).
    AttributeNotAllowed,
    /// A default that does not fit its column type.
    InvalidDefault,
    /// An empty list where at least one element is required.
    EmptyList,
    /// A column named twice in one key or index.
    DuplicateKeyColumn,
    /// A primary-key column declared `nullable: true`.
    NullablePrimaryKey,
    /// A `renamedFrom` hint that cannot be right.
    InvalidRenameHint,
    /// A column type that cannot be part of a key or index.
    NotIndexable,
    /// A dataset id, alias or event bus name in the wrong form.
    InvalidDatasetField,
    /// An `allowDestructive` entry that is not a plan step key.
    InvalidStepKey,
    /// An I/O error reading an input file.
    Io,
    /// A name reserved for depot-migrate's own objects.
    ReservedName,
    /// A column of type `enum` that names no enum of the package, or an enum definition that cannot be right (no values, a value twice).
    UnknownEnumType,
    /// An identity column that cannot be: not an integer type, nullable, with a default, a zero increment, or more than one per table.
    InvalidIdentity,
    /// A foreign key whose columns or target do not exist, do not match a primary key or unique constraint, or differ in count or type.
    InvalidForeignKey,
    /// A check expression that does not parse, is not a single boolean expression, or uses something outside the allow-list.
    InvalidCheck,
    /// A constraint or enum name already used in the schema.
    DuplicateConstraint,
    /// A member the dataset's engine cannot store or the planner cannot yet migrate on it; the message says why.
    UnsupportedOnEngine,
    /// A NUL character in a comment or string default.
    NulCharacter,
    /// A name the dataset's engine reserves (Postgres system columns, SQLite's
    /// `sqlite_` prefix, Snowflake reserved keywords).
    EngineReservedName,
    /// A view whose query does not parse, is not a single SELECT, reads something outside
    /// the package or uses something outside the allow-list.
    InvalidView,
    /// A view name already used by another view, a table, an index, a constraint or an
    /// enum.
    DuplicateView,
    /// Views that read each other in a cycle.
    ViewCycle,
    /// A change between two valid packages that the engine cannot make in place and the
    /// planner does not make another way (Snowflake: identity on an existing column, a
    /// function default on a column added to an existing table).
    UnsupportedChange,
    /// A grant that cannot be right: an unknown object, a privilege that does not apply,
    /// `future` without `"all"`, a reserved role, or any grant on SQLite.
    InvalidGrant,
    /// An index key object with both or neither of `column` and `expression`.
    InvalidIndexKey,
    /// An index key expression or `where` condition that does not parse or uses something outside the allow-list.
    InvalidIndexExpression,
    /// An index option the dataset's engine does not have (Snowflake: no secondary indexes; SQLite: no `include`, `method` or `nulls`).
    IndexOptionUnsupported,
    /// Index options that contradict each other or the method (a unique hash index, ordered gin keys, include on gin).
    IndexMethodConflict,
    /// An `include` column that the table does not have, that is already a key, or that is listed twice.
    InvalidIncludeColumn,
    /// An online (concurrent) index build asked for on an engine that has none.
    OnlineIndexUnsupported,
}

impl Code {
    /// Every code, in code order.
    pub const ALL: [Code; 48] = [
        Code::FileTooLarge,
        Code::NotUtf8,
        Code::MalformedJson,
        Code::TooDeep,
        Code::WrongType,
        Code::MissingField,
        Code::UnknownField,
        Code::UnsafeInteger,
        Code::InvalidEnum,
        Code::DuplicateMember,
        Code::Io,
        Code::InvalidIdentifier,
        Code::DuplicateTable,
        Code::DuplicateColumn,
        Code::DuplicateIndex,
        Code::UnknownPrimaryKeyColumn,
        Code::UnknownIndexColumn,
        Code::InvalidMaxLength,
        Code::InvalidPrecision,
        Code::AttributeNotAllowed,
        Code::InvalidDefault,
        Code::EmptyList,
        Code::DuplicateKeyColumn,
        Code::NullablePrimaryKey,
        Code::InvalidRenameHint,
        Code::NotIndexable,
        Code::ReservedName,
        Code::NulCharacter,
        Code::EngineReservedName,
        Code::InvalidDatasetField,
        Code::InvalidStepKey,
        Code::UnknownEnumType,
        Code::InvalidIdentity,
        Code::InvalidForeignKey,
        Code::InvalidCheck,
        Code::DuplicateConstraint,
        Code::UnsupportedOnEngine,
        Code::InvalidView,
        Code::DuplicateView,
        Code::ViewCycle,
        Code::UnsupportedChange,
        Code::InvalidGrant,
        Code::InvalidIndexKey,
        Code::InvalidIndexExpression,
        Code::IndexOptionUnsupported,
        Code::IndexMethodConflict,
        Code::InvalidIncludeColumn,
        Code::OnlineIndexUnsupported,
    ];

    /// The stable code string (`DM1003`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::FileTooLarge => "DM1001",
            Code::NotUtf8 => "DM1002",
            Code::MalformedJson => "DM1003",
            Code::TooDeep => "DM1004",
            Code::WrongType => "DM1005",
            Code::MissingField => "DM1006",
            Code::UnknownField => "DM1007",
            Code::UnsafeInteger => "DM1008",
            Code::InvalidEnum => "DM1009",
            Code::DuplicateMember => "DM1010",
            Code::Io => "DM1011",
            Code::InvalidIdentifier => "DM2001",
            Code::DuplicateTable => "DM2002",
            Code::DuplicateColumn => "DM2003",
            Code::DuplicateIndex => "DM2004",
            Code::UnknownPrimaryKeyColumn => "DM2005",
            Code::UnknownIndexColumn => "DM2006",
            Code::InvalidMaxLength => "DM2007",
            Code::InvalidPrecision => "DM2008",
            Code::AttributeNotAllowed => "DM2009",
            Code::InvalidDefault => "DM2010",
            Code::EmptyList => "DM2011",
            Code::DuplicateKeyColumn => "DM2012",
            Code::NullablePrimaryKey => "DM2013",
            Code::InvalidRenameHint => "DM2014",
            Code::NotIndexable => "DM2015",
            Code::ReservedName => "DM2016",
            Code::NulCharacter => "DM2017",
            Code::EngineReservedName => "DM2018",
            Code::InvalidDatasetField => "DM3001",
            Code::InvalidStepKey => "DM3002",
            Code::UnknownEnumType => "DM2019",
            Code::InvalidIdentity => "DM2020",
            Code::InvalidForeignKey => "DM2021",
            Code::InvalidCheck => "DM2022",
            Code::DuplicateConstraint => "DM2023",
            Code::UnsupportedOnEngine => "DM2024",
            Code::InvalidView => "DM2045",
            Code::DuplicateView => "DM2046",
            Code::ViewCycle => "DM2047",
            Code::UnsupportedChange => "DM2025",
            Code::InvalidGrant => "DM2048",
            Code::InvalidIndexKey => "DM2035",
            Code::InvalidIndexExpression => "DM2036",
            Code::IndexOptionUnsupported => "DM2037",
            Code::IndexMethodConflict => "DM2038",
            Code::InvalidIncludeColumn => "DM2039",
            Code::OnlineIndexUnsupported => "DM2040",
        }
    }

    /// Whether the code is about the shape of the JSON (what a JSON Schema can check)
    /// rather than about what the shape means.
    pub fn is_structural(self) -> bool {
        self.as_str().starts_with("DM1")
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in an input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable code.
    #[serde(serialize_with = "serialize_code")]
    pub code: Code,
    /// JSONPath of the offending value (`$.tables[0].columns[2].type`).
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn serialize_code<S: serde::Serializer>(code: &Code, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(code.as_str())
}

impl Problem {
    /// A new problem.
    pub fn new(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            code,
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.path, self.code, self.message)
    }
}

/// Input was rejected: every problem found, in document order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{} problem(s) in input; first: {}", problems.len(), problems.first().map(|p| p.to_string()).unwrap_or_default())]
pub struct Invalid {
    /// The problems, never empty.
    pub problems: Vec<Problem>,
}

impl Invalid {
    /// A rejection with one problem.
    pub fn one(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            problems: vec![Problem::new(code, path, message)],
        }
    }
}

/// Whether a character must not appear raw in a one-line message: control characters
/// (C0, DEL, C1 including U+0085), line and paragraph separators, and invisible format
/// characters (zero-width, bidi overrides, BOM) that would hide what a name really is.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{00ad}')
}

/// A user-supplied string quoted for a message: JSON string syntax, with every unsafe
/// character (see [`is_unsafe_char`]) written as `\uXXXX`, so a hostile name can neither
/// break the one-line error format nor hide itself. Long strings are shortened.
pub fn show(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for (i, c) in s.chars().enumerate() {
        if i == 80 {
            out.push_str("...");
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_unsafe_char(c) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", unit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Builds JSONPaths (`$.tables[0].columns[2].type`).
#[derive(Debug, Clone)]
pub struct JsonPath(String);

impl Default for JsonPath {
    fn default() -> Self {
        JsonPath::root()
    }
}

/// A path built only when a problem needs it: the checks visit every column of a package,
/// and formatting a path for each one was a large share of validation on big packages.
pub struct LazyPath<'a>(pub &'a dyn Fn() -> JsonPath);

impl LazyPath<'_> {
    /// The path itself.
    pub fn get(&self) -> JsonPath {
        (self.0)()
    }

    /// The path followed by a member name (see [`JsonPath::key`]).
    pub fn key(&self, name: &str) -> JsonPath {
        self.get().key(name)
    }

    /// The path followed by an array index.
    pub fn index(&self, i: usize) -> JsonPath {
        self.get().index(i)
    }
}

impl JsonPath {
    /// `$`.
    pub fn root() -> Self {
        JsonPath("$".to_string())
    }

    /// This path followed by a member name; names that are not plain identifiers use the
    /// bracket form (`$['we ird']`).
    pub fn key(&self, name: &str) -> Self {
        let plain = !name.is_empty()
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plain {
            JsonPath(format!("{}.{}", self.0, name))
        } else {
            // Spaces are escaped too, so the path never contains ": " and a line
            // `FILE:PATH: CODE: message` always splits at the real code.
            let mut escaped = String::new();
            for c in name.chars() {
                match c {
                    '\'' => escaped.push_str("\\'"),
                    '\\' => escaped.push_str("\\\\"),
                    c if c == ' ' || is_unsafe_char(c) => {
                        let mut buf = [0u16; 2];
                        for unit in c.encode_utf16(&mut buf) {
                            escaped.push_str(&format!("\\u{:04x}", unit));
                        }
                    }
                    c => escaped.push(c),
                }
            }
            JsonPath(format!("{}['{}']", self.0, escaped))
        }
    }

    /// This path followed by an array index.
    pub fn index(&self, i: usize) -> Self {
        JsonPath(format!("{}[{}]", self.0, i))
    }

    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&JsonPath> for String {
    fn from(p: &JsonPath) -> String {
        p.0.clone()
    }
}

impl From<JsonPath> for String {
    fn from(p: JsonPath) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let docs = include_str!("../../docs/errors.md");
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{} used twice", c.as_str());
            assert!(
                docs.contains(&format!("| {} |", c.as_str())),
                "{} missing from docs/errors.md",
                c.as_str()
            );
        }
    }
}
