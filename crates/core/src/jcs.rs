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
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    out.push('{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, out);
        out.push(':');
        write_canonical(&m[k.as_str()], out)?;
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
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
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
