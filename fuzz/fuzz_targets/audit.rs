//! The auditor fed hostile files: never panics, never runs away, always ends.
#![no_main]
use libfuzzer_sys::fuzz_target;
use liveledger_core::audit::{Auditor, Level};
use liveledger_core::checkpoint::VerifiedCheckpoint;
use liveledger_core::note::{Note, SignerKey};

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else { return };
    let size = u64::from(head) * 3 + 1;
    let key = SignerKey::from_seed("fuzz.example/log", 1, [9; 32]).unwrap();
    let text = format!("fuzz.example/log\n{size}\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
    let note = Note::sign(&text, &[&key], 0).unwrap().to_bytes();
    let cp = VerifiedCheckpoint::open(&note, &[key.verifier()], "fuzz.example/log").unwrap();
    let level = if head % 2 == 0 { Level::Log } else { Level::Ledger };
    let mut a = Auditor::new(&cp, level, head % 3 == 0);
    let mut input = rest.chunks(97);
    let mut steps = 0;
    while a.next_step().is_some() {
        steps += 1;
        assert!(steps < 10_000);
        match input.next() {
            Some(c) => { let _ = a.feed(c).and_then(|()| a.finish_step()); }
            None => { let _ = a.finish_step(); }
        }
    }
    assert!(!a.is_done(), "the empty root cannot match a non-empty log");
});
