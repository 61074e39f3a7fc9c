//! Deterministic generator of large, valid, realistic package files for benchmarks.
//!
//! The output looks like a package a team would write by hand: two-space indentation,
//! one short column per line (`{ "name": "id", "type": "bigint", "nullable": false }`),
//! longer columns with a comment spread over several lines, table comments, defaults of
//! every type, secondary indexes and primary keys (some composite), and a few
//! `renamedFrom` hints (which the hash ignores). Everything is valid under docs/design.md's
//! rules with any engine's identifier folding: identifiers match
//! `^[A-Za-z_][A-Za-z0-9_]{0,62}$` and are lower case (so unique case-insensitively),
//! index names are unique in the package and never equal a table name or
//! `<table>_pkey`, decimals have a precision of 1 to 38, `maxLength` is only on strings,
//! and every default fits its column.
//!
//! Randomness is a 64-bit LCG with a fixed seed, so the same size gives the same bytes
//! on every machine and every run.

use std::collections::HashSet;
use std::fmt::Write as _;

/// Knuth's MMIX LCG; the high bits are good enough to pick words and sizes.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.next_u32() % (hi - lo + 1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.next_u32() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next_u32() as usize % items.len()]
    }
}

/// A tiny JSON tree, printed the way people format package files.
enum J {
    /// An object; `inline` prints it on one line (`{ "a": 1, "b": 2 }`).
    Obj {
        members: Vec<(&'static str, J)>,
        inline: bool,
    },
    /// An array; arrays of scalars are printed on one line.
    Arr(Vec<J>),
    /// A string, escaped on output.
    Str(String),
    /// A number or boolean, printed as is.
    Raw(String),
}

fn s(text: impl Into<String>) -> J {
    J::Str(text.into())
}

fn raw(text: impl Into<String>) -> J {
    J::Raw(text.into())
}

fn write_json_string(text: &str, out: &mut String) {
    // serde_json escapes only what JSON requires and keeps non-ASCII as UTF-8, as an
    // editor would save it.
    out.push_str(&serde_json::to_string(text).expect("a string always serializes"));
}

fn print(j: &J, indent: usize, out: &mut String) {
    match j {
        J::Str(text) => write_json_string(text, out),
        J::Raw(text) => out.push_str(text),
        J::Arr(items) if items.is_empty() => out.push_str("[]"),
        J::Arr(items) if items.iter().all(|i| matches!(i, J::Str(_) | J::Raw(_))) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                print(item, indent, out);
            }
            out.push(']');
        }
        J::Arr(items) => {
            out.push_str("[\n");
            for (k, item) in items.iter().enumerate() {
                pad(indent + 2, out);
                print(item, indent + 2, out);
                out.push_str(if k + 1 < items.len() { ",\n" } else { "\n" });
            }
            pad(indent, out);
            out.push(']');
        }
        J::Obj {
            members,
            inline: true,
        } => {
            out.push_str("{ ");
            for (k, (name, value)) in members.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                write_json_string(name, out);
                out.push_str(": ");
                print(value, indent, out);
            }
            out.push_str(" }");
        }
        J::Obj {
            members,
            inline: false,
        } => {
            out.push_str("{\n");
            for (k, (name, value)) in members.iter().enumerate() {
                pad(indent + 2, out);
                write_json_string(name, out);
                out.push_str(": ");
                print(value, indent + 2, out);
                out.push_str(if k + 1 < members.len() { ",\n" } else { "\n" });
            }
            pad(indent, out);
            out.push('}');
        }
    }
}

fn pad(n: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', n));
}

#[rustfmt::skip]
const TABLE_WORDS: &[&str] = &[
    "customer", "order", "order_line", "invoice", "payment", "shipment", "product",
    "warehouse", "supplier", "account", "ledger_entry", "employee", "department",
    "session", "event", "audit_log", "subscription", "coupon", "review", "address",
    "inventory", "price_list", "tax_rule", "refund", "carrier", "store", "campaign",
];

#[rustfmt::skip]
const COLUMN_WORDS: &[&str] = &[
    "amount", "status", "created_at", "updated_at", "deleted_at", "description", "title",
    "quantity", "unit_price", "email", "phone", "country_code", "region", "notes",
    "is_active", "rating", "payload", "external_ref", "owner_id", "sku", "currency",
    "discount", "tax_rate", "weight", "height", "width", "color", "category", "priority",
    "version", "label", "source", "channel", "balance", "due_date", "valid_from",
    "valid_to", "checksum", "attributes", "locale", "timezone", "score", "parent_id",
];

#[rustfmt::skip]
const NOUNS: &[&str] = &[
    "customer", "order", "invoice", "payment", "row", "record", "batch", "import",
    "warehouse", "supplier", "account", "tenant", "region", "store", "campaign",
];

#[rustfmt::skip]
const VERBS: &[&str] = &[
    "Set by", "Updated by", "Written by", "Read by", "Filled in by", "Checked by",
];

#[rustfmt::skip]
const SYSTEMS: &[&str] = &[
    "the billing service", "the nightly import", "the checkout flow", "the ERP sync",
    "support staff", "the mobile app", "the pricing job", "the partner API",
];

/// A comment of 30 to 150 characters; now and then with quotes, non-ASCII text or a
/// line break, as real comments have.
fn comment(rng: &mut Lcg, subject: &str) -> String {
    let mut c = format!(
        "{} of the {} {}. {} {}",
        rng.pick(&[
            "Identifier",
            "Current state",
            "Amount",
            "Reference",
            "Timestamp",
            "Flag",
            "Free text"
        ]),
        rng.pick(NOUNS),
        subject.replace('_', " "),
        rng.pick(VERBS),
        rng.pick(SYSTEMS),
    );
    match rng.next_u32() % 20 {
        0 => c.push_str("; see \"docs/data-model.md\" before changing it"),
        1 => c.push_str(" — amounts in € (Zürich office, café sales)"),
        2 => c.push_str(".\nKept for the 2019 audit"),
        3 => c.push_str(", in the customer's own locale (e.g. 東京)"),
        4 => c.push_str(" (nullable until the backfill is done)"),
        _ => c.push('.'),
    }
    c
}

#[derive(Clone, Copy, PartialEq)]
enum T {
    String,
    Int,
    Bigint,
    Decimal,
    Double,
    Boolean,
    Date,
    Timestamp,
    Timestamptz,
    Json,
    Uuid,
    Binary,
}

impl T {
    fn name(self) -> &'static str {
        match self {
            T::String => "string",
            T::Int => "int",
            T::Bigint => "bigint",
            T::Decimal => "decimal",
            T::Double => "double",
            T::Boolean => "boolean",
            T::Date => "date",
            T::Timestamp => "timestamp",
            T::Timestamptz => "timestamptz",
            T::Json => "json",
            T::Uuid => "uuid",
            T::Binary => "binary",
        }
    }
}

/// Column types weighted roughly as in real schemas (many strings and numbers).
#[rustfmt::skip]
const TYPE_MIX: &[T] = &[
    T::String, T::String, T::String, T::String, T::String, T::Int, T::Int, T::Bigint,
    T::Bigint, T::Decimal, T::Decimal, T::Double, T::Boolean, T::Boolean, T::Date,
    T::Timestamp, T::Timestamptz, T::Timestamptz, T::Json, T::Uuid, T::Binary,
];

/// One column (`not_null` for primary-key columns). Counts rename hints in `hinted`.
fn column(rng: &mut Lcg, name: &str, t: T, not_null: bool, hinted: &mut u32) -> J {
    let mut m: Vec<(&'static str, J)> = vec![("name", s(name)), ("type", s(t.name()))];
    if not_null {
        m.push(("nullable", raw("false")));
    } else if rng.chance(15) {
        m.push((
            "nullable",
            raw(if rng.chance(50) { "false" } else { "true" }),
        ));
    }
    let with_default = !not_null && rng.chance(30);
    match t {
        T::String => {
            let max = if rng.chance(70) {
                Some(*rng.pick(&[16u32, 32, 64, 128, 200, 255, 1024, 4000]))
            } else {
                None
            };
            if let Some(max) = max {
                m.push(("maxLength", raw(max.to_string())));
            }
            if with_default {
                m.push((
                    "default",
                    s(*rng.pick(&["", "pending", "unknown", "n/a", "EUR", "draft"])),
                ));
            }
        }
        T::Decimal => {
            let p = rng.range(4, 38);
            // At least two digits before the point, so every default below fits.
            let scale = rng.range(0, (p - 2).min(8));
            m.push(("precision", raw(p.to_string())));
            if scale > 0 || rng.chance(30) {
                m.push(("scale", raw(scale.to_string())));
            }
            if with_default {
                let d = match (scale, rng.next_u32() % 3) {
                    (0, _) => raw("0"),
                    (_, 0) => raw("1.5"),
                    (_, 1) => s(format!("0.{}", "0".repeat(scale as usize))),
                    _ => s(format!("12.{}", "5".repeat(scale as usize))),
                };
                m.push(("default", d));
            }
        }
        _ if with_default => {
            let d = match t {
                T::Int => raw(*rng.pick(&["0", "1", "-1", "100", "2147483647"])),
                T::Bigint => match rng.next_u32() % 3 {
                    0 => raw("0"),
                    1 => raw("9007199254740991"),
                    _ => s("9223372036854775807"),
                },
                T::Double => raw(*rng.pick(&[
                    "0.5",
                    "1e-3",
                    "2.50",
                    "3.141592653589793",
                    "-0",
                    "1E6",
                    "0.1",
                ])),
                T::Boolean => raw(if rng.chance(50) { "true" } else { "false" }),
                T::Date => s(format!(
                    "20{:02}-{:02}-{:02}",
                    rng.range(0, 30),
                    rng.range(1, 12),
                    rng.range(1, 28)
                )),
                T::Timestamp => s("2024-01-01T00:00:00"),
                T::Timestamptz => {
                    s(*rng.pick(&["2024-01-01T00:00:00Z", "2024-06-30T23:59:59.999+02:00"]))
                }
                T::Json => s(*rng.pick(&["{}", "[]", "{\"tags\": []}"])),
                T::Uuid => s("00000000-0000-0000-0000-000000000000"),
                T::Binary => s("deadbeef"),
                T::String | T::Decimal => unreachable!("handled above"),
            };
            m.push(("default", d));
        }
        _ => {}
    }
    let with_comment = rng.chance(45);
    if with_comment {
        m.push(("comment", s(comment(rng, name))));
    }
    if rng.chance(2) {
        *hinted += 1;
        m.push(("renamedFrom", s(format!("{name}_old"))));
    }
    J::Obj {
        members: m,
        inline: !with_comment,
    }
}

/// One table: 10 to 30 columns, usually a primary key, 0 to 3 indexes.
fn table(rng: &mut Lcg, i: usize, hinted: &mut u32) -> J {
    let name = format!("{}_{i}", rng.pick(TABLE_WORDS));
    let composite = rng.chance(20);
    let with_pk = rng.chance(92);
    let mut used: HashSet<String> = HashSet::new();
    let mut columns = Vec::new();
    // (name, type) of each column, for keys and indexes.
    let mut cols: Vec<(String, T)> = Vec::new();
    let id_type = if rng.chance(80) { T::Bigint } else { T::Uuid };
    columns.push(column(rng, "id", id_type, with_pk, hinted));
    cols.push(("id".into(), id_type));
    used.insert("id".into());
    if composite {
        columns.push(column(rng, "tenant_id", T::Int, with_pk, hinted));
        cols.push(("tenant_id".into(), T::Int));
        used.insert("tenant_id".into());
    }
    let n = rng.range(10, 30) as usize;
    while cols.len() < n {
        let word = *rng.pick(COLUMN_WORDS);
        let col = if used.contains(word) {
            format!("{word}_{}", cols.len())
        } else {
            word.to_string()
        };
        if !used.insert(col.clone()) {
            continue;
        }
        let t = *rng.pick(TYPE_MIX);
        columns.push(column(rng, &col, t, false, hinted));
        cols.push((col, t));
    }
    let mut m: Vec<(&'static str, J)> = vec![("name", s(name.clone()))];
    if rng.chance(85) {
        m.push(("comment", s(comment(rng, &name))));
    }
    m.push(("columns", J::Arr(columns)));
    if with_pk {
        let pk: Vec<J> = if composite {
            vec![s("tenant_id"), s("id")]
        } else {
            vec![s("id")]
        };
        m.push(("primaryKey", J::Arr(pk)));
    }
    let n_ix = rng.range(0, 3) as usize;
    if n_ix > 0 {
        let indexable: Vec<&str> = cols
            .iter()
            .filter(|(_, t)| *t != T::Json)
            .map(|(c, _)| c.as_str())
            .collect();
        let mut ixs = Vec::new();
        for k in 0..n_ix {
            let first = *rng.pick(&indexable);
            let mut on = vec![s(first)];
            if rng.chance(40) {
                let second = *rng.pick(&indexable);
                if second != first {
                    on.push(s(second));
                }
            }
            let mut im: Vec<(&'static str, J)> = vec![
                ("name", s(format!("{name}_{k}_idx"))),
                ("columns", J::Arr(on)),
            ];
            if rng.chance(30) {
                im.push(("unique", raw(if rng.chance(80) { "true" } else { "false" })));
            }
            ixs.push(J::Obj {
                members: im,
                inline: true,
            });
        }
        m.push(("indexes", J::Arr(ixs)));
    }
    if rng.chance(3) {
        *hinted += 1;
        m.push(("renamedFrom", s(format!("legacy_{name}"))));
    }
    J::Obj {
        members: m,
        inline: false,
    }
}

/// A package of about `target_bytes` bytes (it stops after the table that reaches it).
pub fn package_json(target_bytes: usize, seed: u64) -> Vec<u8> {
    let mut rng = Lcg::new(seed);
    let mut out = String::with_capacity(target_bytes + (1 << 16));
    out.push_str("{\n  \"namespace\": \"commerce\",\n  \"tables\": [\n");
    let mut hinted = 0;
    let mut i = 0;
    loop {
        pad(4, &mut out);
        print(&table(&mut rng, i, &mut hinted), 4, &mut out);
        i += 1;
        if out.len() >= target_bytes {
            out.push('\n');
            break;
        }
        out.push_str(",\n");
    }
    let _ = write!(out, "  ]\n}}\n");
    out.into_bytes()
}

/// The dataset config the benchmarks use, with members the hash ignores as well.
pub fn dataset_json() -> Vec<u8> {
    br#"{
  "environmentId": "e2e404529091ed2",
  "datasetId": "bdc659741d5a",
  "datasetAlias": "BenchCommerce",
  "engine": "postgres",
  "schema": "commerce",
  "migrationMode": "synchronous",
  "eventBusName": "default"
}
"#
    .to_vec()
}
