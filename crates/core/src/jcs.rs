//! RFC 8785 JSON Canonicalization Scheme (JCS), for one byte form per event.
//!
//! - objects: members sorted by their names' UTF-16 code units, no whitespace;
//! - strings: `"` `\` and control characters escaped (`\b \t \n \f \r`, else `\u00xx`),
//!   everything else as UTF-8;
//! - numbers: ECMAScript `Number.prototype.toString` of the IEEE 754 double; an integer
//!   that no double holds exactly is refused rather than silently rounded.
//!
//! [`parse_canonical`] accepts bytes only if they are already in this form, which also
//! rejects duplicate member names, whitespace and alternative number spellings.

use serde_json::{Map, Number, Value};

/// The largest integer a double holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// JSON that is not, or cannot be made, canonical.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JcsError {
    /// Not JSON (or nested deeper than 128).
    #[error("not valid JSON: {0}")]
    Syntax(String),
    /// A number outside what a double holds exactly, or not finite.
    #[error("number {0} cannot be represented exactly as an IEEE 754 double")]
    Number(String),
    /// Valid JSON, but not in canonical form.
    #[error("JSON is not in RFC 8785 canonical form (first difference at byte {offset}); canonical is {canonical:?}")]
    NotCanonical {
        /// The first byte that differs.
        offset: usize,
        /// The canonical form (cut to 200 characters).
        canonical: String,
    },
}

/// Appends the canonical form of `v`.
pub fn write_canonical(v: &Value, out: &mut String) -> Result<(), JcsError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out)?;
            }
            out.push(']');
        }
        Value::Object(m) => write_object(m, out)?,
    }
    Ok(())
}

/// The canonical form of `v`.
pub fn to_canonical(v: &Value) -> Result<String, JcsError> {
    let mut s = String::new();
    write_canonical(v, &mut s)?;
    Ok(s)
}

fn write_object(m: &Map<String, Value>, out: &mut String) -> Result<(), JcsError> {
    let mut members: Vec<(&String, &Value)> = m.iter().collect();
    // The map is in UTF-8 byte order, which is code point order. UTF-16 code unit order
    // differs from it only between a character from U+E000 to U+FFFF and one above
    // U+FFFF (a surrogate pair, which sorts first): if no name holds a character above
    // U+FFFF (UTF-8 lead byte 0xF0 to 0xF4), the map is already in order.
    if m.keys().any(|k| k.bytes().any(|b| b >= 0xf0)) {
        // Names are unique: an unstable sort gives the one order.
        members.sort_unstable_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    }
    out.push('{');
    for (i, (k, v)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, out);
        out.push(':');
        write_canonical(v, out)?;
    }
    out.push('}');
    Ok(())
}

fn write_number(n: &Number, out: &mut String) -> Result<(), JcsError> {
    // RFC 8785 numbers are IEEE 754 doubles, written as ECMAScript writes them. An
    // integer is read as its nearest double; if that double is not written with the
    // integer's own digits, the integer would be changed by a round trip, so it is
    // refused, never rounded.
    let mut buf = ryu_js::Buffer::new();
    let (f, digits) = if let Some(u) = n.as_u64() {
        (u as f64, Some(u.to_string()))
    } else if let Some(i) = n.as_i64() {
        (i as f64, Some(i.to_string()))
    } else {
        (n.as_f64().unwrap_or(f64::NAN), None)
    };
    if !f.is_finite() {
        return Err(JcsError::Number(n.to_string()));
    }
    let written = if f == 0.0 { "0" } else { buf.format_finite(f) }; // -0 too
    if digits.is_some_and(|d| d != written) {
        return Err(JcsError::Number(n.to_string()));
    }
    out.push_str(written);
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    // Runs of characters written as they are are copied whole. Every escaped character
    // is ASCII, so `i` is always on a character boundary.
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escaped.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        } else {
            out.push_str(escaped);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Parses JSON that must already be canonical.
pub fn parse_canonical(bytes: &[u8]) -> Result<Value, JcsError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| JcsError::Syntax(e.to_string()))?;
    let canonical = to_canonical(&v)?;
    if canonical.as_bytes() != bytes {
        let offset = canonical
            .bytes()
            .zip(bytes.iter())
            .position(|(a, b)| a != *b)
            .unwrap_or(canonical.len().min(bytes.len()));
        return Err(JcsError::NotCanonical {
            offset,
            canonical: canonical.chars().take(200).collect(),
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The escaping rule, one character at a time, as RFC 8785 states it.
    fn model(s: &str) -> String {
        let mut out = String::from('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\u{c}' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn written(s: &str) -> String {
        let mut out = String::new();
        write_string(s, &mut out);
        out
    }

    #[test]
    fn every_character_is_written_as_the_rule_says() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            for s in [c.to_string(), format!("a{c}é{c}{c}\u{1f600}")] {
                assert_eq!(written(&s), model(&s), "{:?}", c as u32);
            }
        }
        assert_eq!(
            written("\u{1}x\u{1f}\"\\\u{7f}"),
            "\"\\u0001x\\u001f\\\"\\\\\u{7f}\""
        );
    }

    #[test]
    fn members_are_sorted_by_utf16_code_units() {
        // U+FB33 (one UTF-16 unit, 0xFB33) sorts after U+1F600 (surrogates 0xD83D 0xDE00),
        // though its UTF-8 bytes sort before; U+E000 likewise. ASCII names keep byte order.
        for (names, order) in [
            (
                vec!["\u{fb33}", "\u{1f600}", "a"],
                vec!["a", "\u{1f600}", "\u{fb33}"],
            ),
            (vec!["\u{e000}", "\u{10000}"], vec!["\u{10000}", "\u{e000}"]),
            (vec!["b", "a", "B", "aa"], vec!["B", "a", "aa", "b"]),
        ] {
            let m: Map<String, Value> =
                names.iter().map(|n| (n.to_string(), Value::Null)).collect();
            let got = to_canonical(&Value::Object(m)).unwrap();
            let want = format!(
                "{{{}}}",
                order
                    .iter()
                    .map(|n| format!("\"{n}\":null"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            assert_eq!(got, want);
        }
    }
}
