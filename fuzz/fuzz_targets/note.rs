//! Notes and verifier keys: never panic; whatever parses formats back to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use liveledger_core::note::{Note, VerifierKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = Note::parse(data) {
        assert_eq!(n.to_bytes(), data);
        let key = VerifierKey::parse("example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx").unwrap();
        let _ = n.verify(&[key]);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(k) = VerifierKey::parse(s) {
            assert_eq!(k.to_string(), s);
        }
    }
});
