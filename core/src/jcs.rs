//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! Members are sorted by their names' UTF-16 code units, numbers are written as
//! ECMAScript's `Number.prototype.toString` writes them, strings use JSON's minimal
//! escaping (only `"`, `\` and U+0000..U+001F, with the short forms where JSON has them),
//! and there is no whitespace. Checked against RFC 8785's own examples in the tests and
//! against the Python `rfc8785` package through `tests/vectors/`.

use serde_json::{Number, Value};

/// Appends the canonical form of `value` to `out`.
///
/// ```
/// let v: serde_json::Value = serde_json::from_str(r#"{"b": [1.0, "é"], "a": 1e21}"#).unwrap();
/// let mut out = Vec::new();
/// depot_migrate_core::jcs::canonicalize_into(&v, &mut out);
/// assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":1e+21,"b":[1,"é"]}"#);
/// ```
pub fn canonicalize_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonicalize_into(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            // serde_json's map is ordered by UTF-8 bytes, i.e. by code point. That equals
            // UTF-16 order unless a name holds a character at or above U+E000 (where
            // surrogate pairs sort below U+E000..U+FFFF), so re-sort only then.
            let needs_resort = map.keys().any(|k| k.bytes().any(|b| b >= 0xEE));
            let mut first = true;
            let mut emit = |k: &String, v: &Value, out: &mut Vec<u8>| {
                if !first {
                    out.push(b',');
                }
                first = false;
                write_string(k, out);
                out.push(b':');
                canonicalize_into(v, out);
            };
            if needs_resort {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
                for (k, v) in entries {
                    emit(k, v, out);
                }
            } else {
                for (k, v) in map {
                    emit(k, v, out);
                }
            }
            out.push(b'}');
        }
    }
}

/// The canonical form of `value` as bytes.
pub fn canonicalize(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    canonicalize_into(value, &mut out);
    out
}

/// Writes a number as ECMAScript's `Number.prototype.toString` does (RFC 8785 §3.2.2.3).
pub fn write_number(n: &Number, out: &mut Vec<u8>) {
    const SAFE: u64 = 1 << 53;
    if let Some(u) = n.as_u64() {
        if u < SAFE {
            out.extend_from_slice(itoa_u64(u).as_bytes());
            return;
        }
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() < SAFE {
            if i == 0 {
                out.push(b'0');
            } else {
                out.push(b'-');
                out.extend_from_slice(itoa_u64(i.unsigned_abs()).as_bytes());
            }
            return;
        }
    }
    // Everything else goes through IEEE 754 double, as JCS defines.
    let f = n.as_f64().unwrap_or(f64::NAN);
    write_f64(f, out);
}

/// Writes a finite double as ECMAScript does (`-0` is written `0`). JSON cannot hold
/// NaN or infinities; they are written as `null`, which never happens for parsed input.
pub fn write_f64(f: f64, out: &mut Vec<u8>) {
    if !f.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    if f == 0.0 {
        out.push(b'0');
        return;
    }
    let mut buf = ryu_js::Buffer::new();
    out.extend_from_slice(buf.format_finite(f).as_bytes());
}

fn itoa_u64(u: u64) -> String {
    u.to_string()
}

/// Writes a JSON string with RFC 8785 escaping.
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    // Most strings need no escape: one branch-free scan, then a single copy.
    let plain = !bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        let v: Value = serde_json::from_str(text).expect("test input is JSON");
        String::from_utf8(canonicalize(&v)).expect("canonical output is UTF-8")
    }

    /// RFC 8785 §3.2.2 example.
    #[test]
    fn rfc8785_section_3_2_2_example() {
        let input = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
        assert_eq!(
            canon(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    /// RFC 8785 §3.2.3 sorting example (UTF-16 order, not code point order).
    #[test]
    fn rfc8785_section_3_2_3_sorting() {
        let input = r#"{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"#;
        let out = canon(input);
        let order: Vec<&str> = [
            "\r",
            "1",
            "\u{80}",
            "\u{f6}",
            "\u{20ac}",
            "\u{1f600}",
            "\u{fb33}",
        ]
        .to_vec();
        let mut positions = Vec::new();
        for k in &order {
            let needle = format!("\"{}\":", k.replace('\r', "\\r"));
            positions.push(out.find(&needle).expect("key present"));
        }
        let mut sorted = positions.clone();
        sorted.sort_unstable();
        assert_eq!(positions, sorted, "{out}");
    }

    /// RFC 8785 Appendix B number examples (IEEE 754 bit patterns → expected text).
    #[test]
    fn rfc8785_appendix_b_numbers() {
        let cases: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, expected) in cases {
            let mut out = Vec::new();
            write_f64(f64::from_bits(*bits), &mut out);
            assert_eq!(
                String::from_utf8(out).expect("utf8"),
                *expected,
                "bits {bits:#018x}"
            );
        }
    }

    #[test]
    fn control_characters_use_lowercase_hex_and_short_forms() {
        assert_eq!(
            canon(r#""\u0000\u0008\u0009\u000a\u000c\u000d\u001f\u007f\u2028""#),
            "\"\\u0000\\b\\t\\n\\f\\r\\u001f\u{7f}\u{2028}\""
        );
    }

    #[test]
    fn integers_and_negative_zero() {
        assert_eq!(
            canon("[-0, -0.0, 0, 9007199254740991, -9007199254740991, 1E2, 100.0]"),
            "[0,0,0,9007199254740991,-9007199254740991,100,100]"
        );
        // Beyond 2^53 JCS goes through a double, as JavaScript would.
        assert_eq!(
            canon("[9007199254740993, 18446744073709551615]"),
            "[9007199254740992,18446744073709552000]"
        );
    }
}
