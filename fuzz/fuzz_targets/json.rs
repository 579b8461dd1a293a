//! The canonical-JSON reader against the definition it replaced (serde_json's parser,
//! then the canonical writer, then a byte comparison), in both of its modes.
#![no_main]
use libfuzzer_sys::fuzz_target;
#[path = "../../crates/core/tests/support/jcs_model.rs"]
mod jcs_model;

fuzz_target!(|data: &[u8]| jcs_model::check(data));
