//! Checkpoint bodies: never panic; canonical round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use liveledger_core::checkpoint::Checkpoint;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = Checkpoint::parse(s) {
            assert_eq!(c.to_text(), s);
        }
    }
});
