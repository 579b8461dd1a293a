//! The consistency step machine (`audit::Consistency`): every old size against a grown
//! ledger, pairs across tile boundaries, forks from every point, rollbacks, bad tiles and
//! misuse.

mod common;
use common::ledger::Ledger;

use liveledger_core::audit::{Consistency, ConsistencyError, InconsistencyKind};
use liveledger_core::checkpoint::VerifiedCheckpoint;
use liveledger_core::hash::Hash;

/// Native grows the ledgers past two full tiles; Wasm (slower SHA-256 and Ed25519) past one.
const N: u64 = if cfg!(target_arch = "wasm32") {
    300
} else {
    530
};

/// Runs the machine as a client does: fetch what it names from `tiles_of`, then check.
fn prove(
    c: &mut Consistency,
    tiles_of: &Ledger,
    old: &VerifiedCheckpoint,
    new: &VerifiedCheckpoint,
) -> Result<Vec<Hash>, ConsistencyError> {
    for p in c.needed(old.size(), new.size())? {
        c.feed(p, tiles_of.file(p))?;
    }
    c.check(old, new)
}

both! {
fn every_old_size_is_proved_against_the_grown_ledger_and_tiles_are_fetched_once() {
    let l = Ledger::grown(N, None);
    let new = l.checkpoint(N);
    let mut shared = Consistency::new(N);
    let mut fed = 0;
    for s in 1..=N {
        let old = l.checkpoint(s);
        // A machine of its own: the proof, and it is empty only where none is needed.
        let mut c = Consistency::new(N);
        let proof = prove(&mut c, &l, &old, &new).unwrap();
        assert_eq!(proof.is_empty(), s == N, "size {s}");
        // One machine for every pair: each tile is named once.
        let need = shared.needed(s, N).unwrap();
        fed += need.len();
        for p in need {
            shared.feed(p, l.file(p)).unwrap();
        }
        assert_eq!(shared.check(&old, &new).unwrap(), proof, "size {s}");
        assert!(shared.needed(s, N).unwrap().is_empty());
    }
    // The tiles of a tree of N: one partial (or full) tile per level, and the full ones.
    assert!(fed <= (N as usize).div_ceil(256) + 2, "{fed} tiles fed for {N} sizes");
}
}

both! {
fn pairs_of_older_sizes_are_proved_from_the_newest_tree() {
    let l = Ledger::grown(N, None);
    let sizes: Vec<u64> = [1, 2, 3, 7, 8, 9, 255, 256, 257, 299, 300, 511, 512, 513, 529, 530]
        .into_iter()
        .filter(|&s| s <= N)
        .collect();
    let mut c = Consistency::new(N);
    for &a in &sizes {
        for &b in sizes.iter().filter(|&&b| b >= a) {
            prove(&mut c, &l, &l.checkpoint(a), &l.checkpoint(b))
                .unwrap_or_else(|e| panic!("{a} -> {b}: {e}"));
        }
    }
}
}

both! {
fn a_fork_is_caught_from_every_size_past_the_shared_prefix_and_only_there() {
    let l = Ledger::grown(N, None);
    // Another history from the same key: the first `k` entries, then others.
    let k = N / 2 + 3;
    let mut other = Ledger::new();
    other.entries.clear();
    other.writer = liveledger_core::writer::LogWriter::new();
    for e in &l.entries[..k as usize] {
        other.append_raw(e.clone());
    }
    for i in k..N + 20 {
        other.payment(i + 100_000);
    }
    other.publish();
    let forked = other.checkpoint(N + 20);
    for s in 1..=N {
        let old = l.checkpoint(s);
        let r = prove(&mut Consistency::new(N + 20), &other, &old, &forked);
        if s <= k {
            r.unwrap_or_else(|e| panic!("size {s} is in the shared prefix: {e}"));
        } else {
            let Err(ConsistencyError::Inconsistent(inc)) = r else {
                panic!("size {s}: a fork not caught: {r:?}");
            };
            assert!(matches!(inc.kind, InconsistencyKind::Fork(_)), "{inc}");
            // The evidence: both signed checkpoints, as verified, and the proof checked.
            assert_eq!(inc.old_checkpoint, old.to_bytes());
            assert_eq!(inc.new_checkpoint, forked.to_bytes());
            assert!(!inc.proof.is_empty());
        }
    }
    // The same size with another root needs no tile to be a fork.
    let same = {
        let mut o = Ledger::new();
        o.entries.clear();
        o.writer = liveledger_core::writer::LogWriter::new();
        for e in &l.entries[..k as usize] {
            o.append_raw(e.clone());
        }
        for i in k..N {
            o.payment(i + 200_000);
        }
        o.publish();
        o.checkpoint(N)
    };
    let c = Consistency::new(N);
    assert!(c.needed(N, N).unwrap().is_empty());
    let Err(ConsistencyError::Inconsistent(inc)) = c.check(&l.checkpoint(N), &same) else {
        panic!("same size, other root: not caught");
    };
    assert!(matches!(inc.kind, InconsistencyKind::Fork(_)));
}
}

both! {
fn a_rollback_needs_no_tile_and_says_both_sizes() {
    let l = Ledger::grown(40, None);
    let c = Consistency::new(40);
    assert!(c.needed(40, 12).unwrap().is_empty());
    let Err(ConsistencyError::Inconsistent(inc)) = c.check(&l.checkpoint(40), &l.checkpoint(12))
    else {
        panic!("a rollback not caught");
    };
    assert!(matches!(inc.kind, InconsistencyKind::Rollback { old_size: 40, new_size: 12 }));
}
}

both! {
fn bad_tiles_and_misuse_are_errors_of_their_own() {
    let l = Ledger::grown(300, None);
    let mut c = Consistency::new(300);
    let need = c.needed(100, 300).unwrap();
    assert!(!need.is_empty());
    // Checking before the tiles are in is misuse, not a fork.
    let r = c.check(&l.checkpoint(100), &l.checkpoint(300));
    assert!(matches!(r, Err(ConsistencyError::Misuse { size1: 100, size2: 300, tree: 300, .. })), "{r:?}");
    // A tile cut short is the log's fault, named by its path.
    let p = need[0];
    let bytes = l.file(p);
    let r = c.feed(p, &bytes[..bytes.len() - 1]);
    assert!(matches!(r, Err(ConsistencyError::BadTile { path, .. }) if path == p), "{r:?}");
    // A size beyond the tree whose tiles are read is misuse.
    let r = Consistency::new(200).needed(100, 300);
    assert!(matches!(r, Err(ConsistencyError::Misuse { tree: 200, .. })), "{r:?}");
    // Tiles that hash to another tree: the proof fails as a fork.
    let mut flipped = bytes.to_vec();
    flipped[0] ^= 1;
    let mut c = Consistency::new(300);
    for q in c.needed(100, 300).unwrap() {
        c.feed(q, if q == p { &flipped } else { l.file(q) }).unwrap();
    }
    let r = c.check(&l.checkpoint(100), &l.checkpoint(300));
    assert!(matches!(r, Err(ConsistencyError::Inconsistent(_))), "{r:?}");
}
}
