//! The definition the canonical-JSON reader replaced, as a model to compare it with:
//! serde_json's parser, then the canonical writer, then a byte comparison. Shared by
//! tests/jcs_reader.rs and the `json` fuzz target.

use liveledger_core::jcs::{self, JcsError};
use serde_json::Value;

/// What `parse_canonical` means: serde_json reads it, and writing it canonically gives
/// the same bytes.
pub fn definition(bytes: &[u8]) -> Result<Value, JcsError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| JcsError::Syntax(e.to_string()))?;
    let canonical = jcs::to_canonical(&v)?;
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

/// Values equal, including how each number is held (u64, i64 or f64) and the sign of
/// a zero.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                && x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits)
                && x.is_u64() == y.is_u64()
                && x.is_i64() == y.is_i64()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((k, a), (l, b))| k == l && same(a, b))
        }
        _ => a == b,
    }
}

/// Panics unless both of the reader's modes agree with the model on `bytes`: `parse`
/// with serde_json, `parse_canonical` with [`definition`], error for error.
pub fn check(bytes: &[u8]) {
    let shown = String::from_utf8_lossy(bytes);
    match (jcs::parse(bytes), serde_json::from_slice::<Value>(bytes)) {
        (Ok(a), Ok(b)) => assert!(same(&a, &b), "parse {shown:?}: {a:?} vs serde_json {b:?}"),
        (Err(JcsError::Syntax(_)), Err(_)) => {}
        (a, b) => panic!("parse {shown:?}: {a:?} vs serde_json {b:?}"),
    }
    match (jcs::parse_canonical(bytes), definition(bytes)) {
        (Ok(a), Ok(b)) => assert!(same(&a, &b), "parse_canonical {shown:?}: {a:?} vs {b:?}"),
        (Err(JcsError::Syntax(_)), Err(JcsError::Syntax(_))) => {}
        (Err(a), Err(b)) if a == b => {}
        (a, b) => panic!("parse_canonical {shown:?}: {a:?} vs definition {b:?}"),
    }
}
