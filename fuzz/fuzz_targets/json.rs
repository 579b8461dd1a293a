//! The canonical-JSON reader against the definition it replaced (serde_json's parser,
//! then the canonical writer, then a byte comparison), in both of its modes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use liveledger_core::jcs::{self, JcsError};
use serde_json::Value;

#[path = "../../crates/core/tests/support/jcs_model.rs"]
mod jcs_model;
use jcs_model::{definition, same};

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
