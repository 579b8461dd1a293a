//! The canonical-JSON reader against the definition it replaced (serde_json's parser,
//! then the canonical writer, then a byte comparison), in both of its modes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use liveledger_core::jcs::{self, JcsError};
use serde_json::Value;

fn definition(bytes: &[u8]) -> Result<Value, JcsError> {
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

/// Equal, and numbers held alike (u64, i64 or f64, the sign of a zero).
fn same(a: &Value, b: &Value) -> bool {
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

fuzz_target!(|data: &[u8]| {
    match (jcs::parse(data), serde_json::from_slice::<Value>(data)) {
        (Ok(a), Ok(b)) => assert!(same(&a, &b), "{a:?} vs {b:?}"),
        (Err(JcsError::Syntax(_)), Err(_)) => {}
        (a, b) => panic!("parse: {a:?} vs serde_json {b:?}"),
    }
    match (jcs::parse_canonical(data), definition(data)) {
        (Ok(a), Ok(b)) => assert!(same(&a, &b), "{a:?} vs {b:?}"),
        (Err(JcsError::Syntax(_)), Err(JcsError::Syntax(_))) => {}
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("parse_canonical: {a:?} vs definition {b:?}"),
    }
});
