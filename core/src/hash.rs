//! The version hash: lowercase hex SHA-256 of the RFC 8785 canonical JSON of
//! `{"dataset": {environmentId, datasetId, engine, schema}, "package": <package without
//! renamedFrom members>}` (docs/design.md, "Version hash").
//!
//! The canonical bytes are written straight from the typed model (every member is known,
//! so the sorted member order is fixed) and streamed into SHA-256. A test checks that
//! this equals the generic [`crate::jcs`] canonicalization of the same document, and
//! `tests/vectors/` checks both against an independent implementation.

use crate::jcs::{write_number, write_string};
use crate::model::{
    Check, Column, DatasetConfig, EnumType, ForeignKey, Grant, Index, IndexKey, Literal, Objects,
    Package, Table, UniqueConstraint, View,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// A version hash: 64 lowercase hex digits. Compared only for equality.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct VersionHash(String);

impl<'de> serde::Deserialize<'de> for VersionHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        VersionHash::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{s:?} is not a version hash (64 lowercase hex digits)"
            ))
        })
    }
}

impl VersionHash {
    /// The hash as 64 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses 64 lowercase hex digits.
    pub fn parse(s: &str) -> Option<VersionHash> {
        (s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| VersionHash(s.to_string()))
    }

    fn from_digest(d: &[u8]) -> VersionHash {
        VersionHash(hex(d))
    }
}

impl fmt::Display for VersionHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

/// Lowercase hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Computes the version hash of a validated package for a dataset.
///
/// ```
/// use depot_migrate_core::{load, version_hash};
/// let pkg = load::parse_package(br#"{"namespace":"dogs","tables":[]}"#, None).unwrap();
/// let ds = load::parse_dataset(br#"{"environmentId":"e","datasetId":"d","engine":"sqlite","schema":"dogs"}"#).unwrap();
/// assert_eq!(version_hash(&pkg, &ds).as_str().len(), 64);
/// ```
pub fn version_hash(package: &Package, dataset: &DatasetConfig) -> VersionHash {
    let mut sink = HashSink::new();
    write_hash_input(package, dataset, &mut sink);
    VersionHash::from_digest(&sink.finish())
}

/// The exact bytes the version hash is computed over (for debugging and for the
/// `hash --canonical` output).
pub fn canonical_hash_input(package: &Package, dataset: &DatasetConfig) -> Vec<u8> {
    let mut sink = HashSink::collecting();
    write_hash_input(package, dataset, &mut sink);
    sink.flush();
    sink.collected.unwrap_or_default()
}

/// Buffers canonical bytes and feeds them to SHA-256 in large chunks.
struct HashSink {
    buf: Vec<u8>,
    hasher: Sha256,
    collected: Option<Vec<u8>>,
}

const FLUSH_AT: usize = 1 << 16;

impl HashSink {
    fn new() -> Self {
        HashSink {
            buf: Vec::with_capacity(FLUSH_AT * 2),
            hasher: Sha256::new(),
            collected: None,
        }
    }

    fn collecting() -> Self {
        HashSink {
            collected: Some(Vec::new()),
            ..HashSink::new()
        }
    }

    fn maybe_flush(&mut self) {
        if self.buf.len() >= FLUSH_AT {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.hasher.update(&self.buf);
        if let Some(c) = &mut self.collected {
            c.extend_from_slice(&self.buf);
        }
        self.buf.clear();
    }

    fn finish(mut self) -> Vec<u8> {
        self.flush();
        self.hasher.finalize().to_vec()
    }
}

fn write_hash_input(package: &Package, dataset: &DatasetConfig, sink: &mut HashSink) {
    let out = &mut sink.buf;
    // Members in UTF-16 order (all names are ASCII, so byte order).
    out.extend_from_slice(b"{\"dataset\":{\"datasetId\":");
    write_string(&dataset.dataset_id, out);
    out.extend_from_slice(b",\"engine\":");
    write_string(dataset.engine.as_str(), out);
    out.extend_from_slice(b",\"environmentId\":");
    write_string(&dataset.environment_id, out);
    out.extend_from_slice(b",\"schema\":");
    write_string(&dataset.schema, out);
    out.extend_from_slice(b"},\"package\":{");
    // enums, grants, namespace, tables, views (an absent member leaves the bytes as they
    // always were).
    if let Some(enums) = &package.enums {
        out.extend_from_slice(b"\"enums\":");
        write_list(enums, out, write_enum);
        out.push(b',');
    }
    if let Some(grants) = &package.grants {
        out.extend_from_slice(b"\"grants\":");
        write_list(grants, out, write_grant);
        out.push(b',');
    }
    out.extend_from_slice(b"\"namespace\":");
    write_string(&package.namespace, out);
    out.extend_from_slice(b",\"tables\":[");
    for (i, t) in package.tables.iter().enumerate() {
        if i > 0 {
            sink.buf.push(b',');
        }
        write_table(t, &mut sink.buf);
        sink.maybe_flush();
    }
    sink.buf.push(b']');
    if let Some(views) = &package.views {
        sink.buf.extend_from_slice(b",\"views\":");
        write_list(views, &mut sink.buf, write_view);
    }
    sink.buf.extend_from_slice(b"}}");
}

fn write_view(v: &View, out: &mut Vec<u8>) {
    // columns, comment, materialized, name, query (renamedFrom is not hashed).
    out.push(b'{');
    if let Some(cols) = &v.columns {
        out.extend_from_slice(b"\"columns\":");
        write_strings(cols, out);
        out.push(b',');
    }
    if let Some(c) = &v.comment {
        out.extend_from_slice(b"\"comment\":");
        write_string(c, out);
        out.push(b',');
    }
    if let Some(m) = v.materialized {
        out.extend_from_slice(if m {
            b"\"materialized\":true,"
        } else {
            b"\"materialized\":false,"
        });
    }
    out.extend_from_slice(b"\"name\":");
    write_string(&v.name, out);
    out.extend_from_slice(b",\"query\":");
    write_string(&v.query, out);
    out.push(b'}');
}

fn write_objects(o: &Objects, out: &mut Vec<u8>) {
    match o {
        Objects::All(_) => out.extend_from_slice(b"\"all\""),
        Objects::Names(n) => write_strings(n, out),
    }
}

fn write_grant(g: &Grant, out: &mut Vec<u8>) {
    // future, on{sequences, tables, views}, privileges, role.
    out.push(b'{');
    if let Some(f) = g.future {
        out.extend_from_slice(if f {
            b"\"future\":true,"
        } else {
            b"\"future\":false,"
        });
    }
    out.extend_from_slice(b"\"on\":{");
    let first = &mut true;
    for (name, o) in [
        (&b"sequences"[..], &g.on.sequences),
        (b"tables", &g.on.tables),
        (b"views", &g.on.views),
    ] {
        if let Some(o) = o {
            member(out, first, name);
            write_objects(o, out);
        }
    }
    out.extend_from_slice(b"},\"privileges\":[");
    for (i, p) in g.privileges.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(p.as_str(), out);
    }
    out.extend_from_slice(b"],\"role\":");
    write_string(&g.role, out);
    out.push(b'}');
}

/// Writes `"name":` with a leading comma when needed.
fn member(out: &mut Vec<u8>, first: &mut bool, name: &[u8]) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.push(b'"');
    out.extend_from_slice(name);
    out.extend_from_slice(b"\":");
}

fn write_strings(items: &[String], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(s, out);
    }
    out.push(b']');
}

fn write_list<T>(items: &[T], out: &mut Vec<u8>, write: fn(&T, &mut Vec<u8>)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(item, out);
    }
    out.push(b']');
}

fn write_enum(e: &EnumType, out: &mut Vec<u8>) {
    // name, values (renamedFrom is not hashed).
    out.extend_from_slice(b"{\"name\":");
    write_string(&e.name, out);
    out.extend_from_slice(b",\"values\":");
    write_strings(&e.values, out);
    out.push(b'}');
}

fn write_check(c: &Check, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"expression\":");
    write_string(&c.expression, out);
    out.extend_from_slice(b",\"name\":");
    write_string(&c.name, out);
    out.push(b'}');
}

fn write_unique(u: &UniqueConstraint, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"columns\":");
    write_strings(&u.columns, out);
    out.extend_from_slice(b",\"name\":");
    write_string(&u.name, out);
    out.push(b'}');
}

fn write_foreign_key(fk: &ForeignKey, out: &mut Vec<u8>) {
    // columns, deferrable, name, onDelete, onUpdate, references{columns, table}.
    out.extend_from_slice(b"{\"columns\":");
    write_strings(&fk.columns, out);
    if let Some(d) = fk.deferrable {
        out.extend_from_slice(b",\"deferrable\":");
        write_string(d.as_str(), out);
    }
    out.extend_from_slice(b",\"name\":");
    write_string(&fk.name, out);
    if let Some(a) = fk.on_delete {
        out.extend_from_slice(b",\"onDelete\":");
        write_string(a.as_str(), out);
    }
    if let Some(a) = fk.on_update {
        out.extend_from_slice(b",\"onUpdate\":");
        write_string(a.as_str(), out);
    }
    out.extend_from_slice(b",\"references\":{\"columns\":");
    write_strings(&fk.references.columns, out);
    out.extend_from_slice(b",\"table\":");
    write_string(&fk.references.table, out);
    out.extend_from_slice(b"}}");
}

fn write_i64(v: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(v.to_string().as_bytes());
}

fn write_table(t: &Table, out: &mut Vec<u8>) {
    // checks, columns, comment, foreignKeys, indexes, name, primaryKey,
    // uniqueConstraints (renamedFrom is not hashed).
    let first = &mut true;
    out.push(b'{');
    if let Some(checks) = &t.checks {
        member(out, first, b"checks");
        write_list(checks, out, write_check);
    }
    member(out, first, b"columns");
    out.push(b'[');
    for (i, c) in t.columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_column(c, out);
    }
    out.push(b']');
    if let Some(comment) = &t.comment {
        member(out, first, b"comment");
        write_string(comment, out);
    }
    if let Some(fks) = &t.foreign_keys {
        member(out, first, b"foreignKeys");
        write_list(fks, out, write_foreign_key);
    }
    if let Some(indexes) = &t.indexes {
        member(out, first, b"indexes");
        out.push(b'[');
        for (i, ix) in indexes.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_index(ix, out);
        }
        out.push(b']');
    }
    member(out, first, b"name");
    write_string(&t.name, out);
    if let Some(pk) = &t.primary_key {
        member(out, first, b"primaryKey");
        write_strings(pk, out);
    }
    if let Some(uniques) = &t.unique_constraints {
        member(out, first, b"uniqueConstraints");
        write_list(uniques, out, write_unique);
    }
    out.push(b'}');
}

fn write_u32(mut v: u32, out: &mut Vec<u8>) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn write_column(c: &Column, out: &mut Vec<u8>) {
    // comment, default, enum, identity, increment, items, jsonStorage, maxLength, name,
    // nullable, precision, scale, start, type.
    let first = &mut true;
    out.push(b'{');
    if let Some(comment) = &c.comment {
        member(out, first, b"comment");
        write_string(comment, out);
    }
    if let Some(d) = &c.default {
        member(out, first, b"default");
        match d {
            Literal::Bool(true) => out.extend_from_slice(b"true"),
            Literal::Bool(false) => out.extend_from_slice(b"false"),
            Literal::Number(n) => write_number(n, out),
            Literal::String(s) => write_string(s, out),
            Literal::Function(f) => {
                out.extend_from_slice(b"{\"function\":");
                write_string(f.function.as_str(), out);
                out.push(b'}');
            }
        }
    }
    if let Some(e) = &c.enum_name {
        member(out, first, b"enum");
        write_string(e, out);
    }
    if let Some(i) = c.identity {
        member(out, first, b"identity");
        write_string(i.as_str(), out);
    }
    if let Some(v) = c.increment {
        member(out, first, b"increment");
        write_i64(v, out);
    }
    if let Some(t) = c.items {
        member(out, first, b"items");
        write_string(t.as_str(), out);
    }
    if let Some(j) = c.json_storage {
        member(out, first, b"jsonStorage");
        write_string(j.as_str(), out);
    }
    if let Some(v) = c.max_length {
        member(out, first, b"maxLength");
        write_u32(v, out);
    }
    member(out, first, b"name");
    write_string(&c.name, out);
    if let Some(n) = c.nullable {
        member(out, first, b"nullable");
        out.extend_from_slice(if n { b"true" } else { b"false" });
    }
    if let Some(v) = c.precision {
        member(out, first, b"precision");
        write_u32(v, out);
    }
    if let Some(v) = c.scale {
        member(out, first, b"scale");
        write_u32(v, out);
    }
    if let Some(v) = c.start {
        member(out, first, b"start");
        write_i64(v, out);
    }
    member(out, first, b"type");
    write_string(c.column_type.as_str(), out);
    out.push(b'}');
}

fn write_index(ix: &Index, out: &mut Vec<u8>) {
    // columns, include, method, name, unique, where (online and renamedFrom are not
    // hashed: how an index is built and what it was called are not schema).
    out.extend_from_slice(b"{\"columns\":[");
    for (i, k) in ix.columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_index_key(k, out);
    }
    out.push(b']');
    if let Some(include) = &ix.include {
        out.extend_from_slice(b",\"include\":");
        write_strings(include, out);
    }
    if let Some(m) = ix.method {
        out.extend_from_slice(b",\"method\":");
        write_string(m.as_str(), out);
    }
    out.extend_from_slice(b",\"name\":");
    write_string(&ix.name, out);
    if let Some(u) = ix.unique {
        out.extend_from_slice(if u {
            b",\"unique\":true"
        } else {
            b",\"unique\":false"
        });
    }
    if let Some(w) = &ix.predicate {
        out.extend_from_slice(b",\"where\":");
        write_string(w, out);
    }
    out.push(b'}');
}

fn write_index_key(k: &IndexKey, out: &mut Vec<u8>) {
    match k {
        IndexKey::Column(c) => write_string(c, out),
        IndexKey::Key(s) => {
            // column, expression, nulls, order.
            let first = &mut true;
            out.push(b'{');
            if let Some(c) = &s.column {
                member(out, first, b"column");
                write_string(c, out);
            }
            if let Some(e) = &s.expression {
                member(out, first, b"expression");
                write_string(e, out);
            }
            if let Some(n) = s.nulls {
                member(out, first, b"nulls");
                write_string(n.as_str(), out);
            }
            if let Some(o) = s.order {
                member(out, first, b"order");
                write_string(o.as_str(), out);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load;
    use serde_json::{json, Value};

    /// Views and grants: the direct writer equals the generic canonicalization (view
    /// `renamedFrom` removed), and a package without them hashes as before.
    #[test]
    fn views_and_grants_match_generic_jcs() {
        let text = br#"{"namespace":"shop","tables":[{"name":"orders","columns":[{"name":"id","type":"bigint"},{"name":"total","type":"double"}]}],
          "views":[{"name":"big","query":"SELECT id FROM orders WHERE total > 10","columns":["order_id"],"comment":"\u00e9","materialized":false,"renamedFrom":"large"},
                   {"name":"m","query":"SELECT order_id FROM big","materialized":true}],
          "grants":[{"role":"reporting","privileges":["select"],"on":{"tables":"all"},"future":true},
                    {"role":"app","privileges":["insert","select"],"on":{"tables":["orders"]}},
                    {"role":"app","privileges":["usage"],"on":{"sequences":"all"},"future":false},
                    {"role":"reporting","privileges":["select"],"on":{"views":["big","m"]}}]}"#;
        let pkg = load::parse_package(text, Some(crate::Engine::Postgres)).expect("valid");
        let ds = load::parse_dataset(
            br#"{"environmentId":"e","datasetId":"d","engine":"postgres","schema":"s"}"#,
        )
        .expect("valid");
        let mut pv = serde_json::to_value(&pkg).expect("serializable");
        for v in pv["views"].as_array_mut().expect("views") {
            v.as_object_mut().expect("obj").remove("renamedFrom");
        }
        let doc: Value = json!({"dataset": {"environmentId": "e", "datasetId": "d", "engine": "postgres", "schema": "s"}, "package": pv});
        assert_eq!(
            String::from_utf8(canonical_hash_input(&pkg, &ds)).expect("utf8"),
            String::from_utf8(crate::jcs::canonicalize(&doc)).expect("utf8")
        );
        let mut plain = pkg.clone();
        plain.views = None;
        plain.grants = None;
        let bytes = String::from_utf8(canonical_hash_input(&plain, &ds)).expect("utf8");
        assert!(
            !bytes.contains("views") && !bytes.contains("grants"),
            "{bytes}"
        );
        assert!(bytes.ends_with("]}}"), "{bytes}");
    }

    /// The direct writer equals the generic canonicalization of the serialized model
    /// with `renamedFrom` removed.
    #[test]
    fn direct_writer_matches_generic_jcs() {
        let pkg = load::parse_package(
            br#"{"namespace":"dogs","tables":[{"name":"dog","comment":"Z\u00fcrich \ud83d\udc36","renamedFrom":["hound"],
              "columns":[{"name":"id","type":"bigint","nullable":false,"default":"9223372036854775807"},
                         {"name":"w","type":"decimal","precision":10,"scale":2,"default":1e-2,"comment":"\u0001"},
                         {"name":"n","type":"string","maxLength":20,"default":"x","renamedFrom":"nm"},
                         {"name":"d","type":"double","default":-0}],
              "primaryKey":["id"],"indexes":[{"name":"dog_n","columns":["n","w"],"unique":true},{"name":"dog_w","columns":["w"]},
                {"name":"dog_lw","columns":[{"expression":"lower(n)","order":"desc","nulls":"first"},{"column":"w","order":"asc"}],"where":"w > 0","include":["d"],"method":"btree","online":true,"renamedFrom":"dog_old"}]}]}"#,
            Some(crate::Engine::Postgres),
        )
        .expect("valid");
        let ds = load::parse_dataset(br#"{"environmentId":"e","datasetId":"d","engine":"postgres","schema":"s","datasetAlias":"A"}"#)
            .expect("valid");
        let mut pv = serde_json::to_value(&pkg).expect("serializable");
        for t in pv["tables"].as_array_mut().expect("tables") {
            t.as_object_mut().expect("obj").remove("renamedFrom");
            for c in t["columns"].as_array_mut().expect("columns") {
                c.as_object_mut().expect("obj").remove("renamedFrom");
            }
            for ix in t["indexes"].as_array_mut().expect("indexes") {
                let ix = ix.as_object_mut().expect("obj");
                ix.remove("renamedFrom");
                ix.remove("online");
            }
        }
        let doc: Value = json!({"dataset": {"environmentId": "e", "datasetId": "d", "engine": "postgres", "schema": "s"}, "package": pv});
        assert_eq!(
            String::from_utf8(canonical_hash_input(&pkg, &ds)).expect("utf8"),
            String::from_utf8(crate::jcs::canonicalize(&doc)).expect("utf8")
        );
        assert_eq!(
            version_hash(&pkg, &ds).as_str(),
            sha256_hex(&crate::jcs::canonicalize(&doc))
        );
    }
}
