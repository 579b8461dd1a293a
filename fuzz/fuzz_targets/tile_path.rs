//! Tile paths: never panic; canonical round trip; tile arithmetic stays in range.
#![no_main]
use libfuzzer_sys::fuzz_target;
use liveledger_core::tiles::{self, TilePath};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(p) = s.parse::<TilePath>() {
            assert_eq!(p.to_string(), s);
            let _ = p.first_leaf();
        }
    }
    if data.len() >= 16 {
        let a = u64::from_le_bytes(data[..8].try_into().unwrap());
        let b = u64::from_le_bytes(data[8..16].try_into().unwrap());
        let (i, n) = (a.min(b), a.max(b));
        if let Ok(t) = tiles::inclusion_tiles(i, n) {
            assert!(t.len() <= 2 * 8);
        }
        let _ = tiles::consistency_tiles(i, n);
        let _ = tiles::partial_tiles(n);
    }
});
