//! Events: never panic; what parses is canonical; the chain verifier never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use liveledger_core::event::{ChainVerifier, UnverifiedEvent};
use liveledger_core::hash::leaf_hash;
use liveledger_core::jcs;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = jcs::parse_canonical(data) {
        assert_eq!(jcs::to_canonical(&v).unwrap().as_bytes(), data);
    }
    if let Ok(e) = UnverifiedEvent::parse(data) {
        let _ = e.signed_message();
    }
    let mut c = ChainVerifier::new("ledger.example.org/fuzz");
    let _ = c.check(data, leaf_hash(data));
});
