//! The inclusion step machine (`audit::Inclusion`): every entry of a grown ledger, the
//! files it names, and what a log that lies about an entry or a tile gets.

mod common;
use common::ledger::Ledger;

use liveledger_core::audit::{Inclusion, InclusionError};
use liveledger_core::tiles::{TileKind, TilePath};

/// Native grows the ledger past two full tiles; Wasm past one.
const N: u64 = if cfg!(target_arch = "wasm32") {
    300
} else {
    530
};

fn grown(n: u64) -> Ledger {
    let mut l = Ledger::new();
    for i in 1..n {
        l.payment(i);
    }
    l.publish();
    l
}

/// Runs the machine as a client does, with the files of `tiles_of` (after `edit`).
fn prove(
    l: &Ledger,
    index: u64,
    edit: impl Fn(TilePath, &mut Vec<u8>),
) -> Result<liveledger_core::audit::Included, InclusionError> {
    let mut m = Inclusion::new(&l.checkpoint(N), index)?;
    for p in m.needed() {
        let mut b = l.file(p).to_vec();
        edit(p, &mut b);
        m.feed(p, &b)?;
    }
    m.check()
}

both! {
fn every_entry_is_proved_from_its_bundle_and_the_tiles_above_it() {
    let l = grown(N);
    let step = if cfg!(target_arch = "wasm32") { 7 } else { 1 };
    for i in (0..N).step_by(step) {
        let m = Inclusion::new(&l.checkpoint(N), i).unwrap();
        let needed = m.needed();
        // The bundle first; its own level-0 tile is computed from it, never fetched.
        assert_eq!(needed[0].kind(), TileKind::Entries, "{i}");
        let own = liveledger_core::tiles::tile_at(N, 0, needed[0].index()).unwrap();
        assert!(!needed.contains(&own), "{i}: {needed:?}");
        assert!(needed[1..].iter().all(|p| matches!(p.kind(), TileKind::Hashes(_))), "{i}: {needed:?}");
        let got = prove(&l, i, |_, _| {}).unwrap();
        assert_eq!(got.entry, l.entries[i as usize], "entry {i}");
        assert_eq!(got.segment, i / 256);
    }
}
}

both! {
fn a_log_that_lies_about_an_entry_or_a_tile_is_caught_with_the_evidence() {
    let l = grown(N);
    // A changed byte inside entry 3's bundle (not in a length prefix): not included.
    let e = prove(&l, 3, |p, b| {
        if p.kind() == TileKind::Entries {
            let n = b.len();
            b[n / 2] ^= 1;
        }
    });
    match e {
        Err(InclusionError::NotIncluded { index: 3, segment: 0, ref proof, .. }) => assert!(!proof.is_empty()),
        other => panic!("{other:?}"),
    }
    // A changed hash tile above the bundle: the last entry's proof reads the first
    // level-1 hash (the subtree of entries 0..256) whatever N is.
    let e = prove(&l, N - 1, |p, b| {
        if p.kind() == TileKind::Hashes(1) {
            b[0] ^= 1;
        }
    });
    assert!(matches!(e, Err(InclusionError::NotIncluded { .. })), "{e:?}");
    // A bundle cut short, a tile of the wrong length: malformed, with the path.
    let e = prove(&l, 3, |p, b| {
        if p.kind() == TileKind::Entries {
            b.truncate(b.len() - 1);
        }
    });
    assert!(matches!(e, Err(InclusionError::BadBundle { .. })), "{e:?}");
    // The caller's mistakes.
    assert!(matches!(Inclusion::new(&l.checkpoint(N), N), Err(InclusionError::OutOfRange { .. })));
    let m = Inclusion::new(&l.checkpoint(N), 5).unwrap();
    assert!(matches!(m.check(), Err(InclusionError::Incomplete { .. })), "nothing fed");
    let mut m = Inclusion::new(&l.checkpoint(N), 5).unwrap();
    let stranger = TilePath::hashes(3, 0, 1).unwrap();
    assert!(matches!(m.feed(stranger, &[0; 32]), Err(InclusionError::BadTile { .. })));
    assert_eq!(
        liveledger_core::verdict::inclusion_code(&prove(&l, 3, |p, b| if p.kind() == TileKind::Entries { let n = b.len(); b[n / 2] ^= 1; }).unwrap_err()).as_str(),
        "INCLUSION_FAILED"
    );
}
}
