//! The digest history step machine (`audit::history::History`): archives of every size
//! of a grown ledger, the newest `limit`, each tile read once; forked, foreign, misnamed
//! and future digests; bad tiles; a malformed index; misuse. Each failure is checked for
//! where it is reported and what it carries.

mod common;
use common::ledger::{key, Ledger, ORIGIN};

use std::collections::BTreeMap;

use liveledger_core::archive::encode_digest_index;
use liveledger_core::audit::history::{History, HistoryError, HistoryReport};
use liveledger_core::audit::{ConsistencyError, InconsistencyKind};
use liveledger_core::note::Note;
use liveledger_core::tiles::TilePath;
use liveledger_core::trust::{Trust, TrustError, TrustRequest};
use liveledger_core::verdict::{history_alarm, history_code, Code};

/// Native grows the ledger past one full tile; Wasm (slower SHA-256 and Ed25519) less.
const N: u64 = if cfg!(target_arch = "wasm32") {
    90
} else {
    300
};

fn trust(l: &Ledger) -> Trust {
    let req = TrustRequest {
        pinned: vec![l.log_key.verifier()],
        ..Default::default()
    };
    Trust::establish(&req, None).unwrap()
}

/// An archive: the index, and each digest's bytes.
struct Archive {
    index: String,
    digests: BTreeMap<u64, Vec<u8>>,
}

fn archive_of(l: &Ledger, sizes: &[u64]) -> Archive {
    Archive {
        index: encode_digest_index(sizes),
        digests: sizes
            .iter()
            .map(|&s| (s, l.checkpoints[&s].clone()))
            .collect(),
    }
}

/// Drives the machine as a client does: the digests it names, then the tiles it names
/// (from `tiles_of`, the current tree), then the report. Also answers which tiles were
/// asked for.
fn run(
    l: &Ledger,
    current: u64,
    a: &Archive,
    limit: usize,
    tiles_of: &dyn Fn(TilePath) -> Vec<u8>,
) -> (HistoryReport, Vec<TilePath>) {
    let t = trust(l);
    let mut h = History::new(&l.checkpoint(current), a.index.as_bytes(), limit).unwrap();
    for s in h.digests().to_vec() {
        if h.feed_digest(&t, s, &a.digests[&s]).is_err() {
            break;
        }
    }
    let tiles = h.tiles();
    for &p in &tiles {
        h.feed_tile(p, &tiles_of(p));
    }
    (h.finish(), tiles)
}

fn sizes(r: &HistoryReport) -> Vec<(u64, Option<u64>)> {
    r.rows
        .iter()
        .map(|row| (row.checkpoint.size(), row.extends))
        .collect()
}

both! {
fn an_archive_of_every_size_holds_and_each_tile_is_read_once() {
    let l = Ledger::grown(N, None);
    let all: Vec<u64> = (1..=N).collect();
    let a = archive_of(&l, &all);
    let (r, tiles) = run(&l, N, &a, usize::MAX, &|p| l.file(p).to_vec());
    assert!(r.verified(), "{:?}", r.failure);
    assert_eq!(r.total, N as usize);
    let want: Vec<(u64, Option<u64>)> = all.iter().map(|&s| (s, (s > 1).then(|| s - 1))).collect();
    assert_eq!(sizes(&r), want);
    let mut unique = tiles.clone();
    unique.sort_by_key(|p| p.to_string());
    unique.dedup();
    assert_eq!(unique.len(), tiles.len(), "a tile named twice");
    // The tiles of one tree: at most the full ones and one partial per level.
    assert!(tiles.len() <= (N as usize).div_ceil(256) + 2, "{} tiles", tiles.len());
}
}

both! {
fn the_newest_limit_digests_are_checked_and_the_newest_extends_to_the_checkpoint() {
    let l = Ledger::grown(N, None);
    let a = archive_of(&l, &[1, 5, 17, 30, N / 2, N - 1]);
    let (r, _) = run(&l, N, &a, 3, &|p| l.file(p).to_vec());
    assert!(r.verified(), "{:?}", r.failure);
    assert_eq!(r.total, 6);
    assert_eq!(sizes(&r), [(30, None), (N / 2, Some(30)), (N - 1, Some(N / 2))]);
    // A limit of 0 still checks the newest; the checkpoint itself may be archived.
    let a = archive_of(&l, &[3, N]);
    let (r, _) = run(&l, N, &a, 0, &|p| l.file(p).to_vec());
    assert!(r.verified(), "{:?}", r.failure);
    assert_eq!(sizes(&r), [(N, None)]);
    // No archive yet: nothing to check, nothing fails.
    let a = archive_of(&l, &[]);
    let (r, tiles) = run(&l, N, &a, 100, &|p| l.file(p).to_vec());
    assert!(r.verified() && r.rows.is_empty() && tiles.is_empty());
}
}

both! {
fn a_forked_digest_fails_the_pair_that_reaches_it_with_both_signed_digests() {
    let l = Ledger::grown(N, None);
    for fork_at in [2, 9, N / 2, N - 3] {
        // The same log key signed another history from `fork_at` on.
        let other = Ledger::grown(N, Some(fork_at));
        let mut a = archive_of(&l, &[1, fork_at + 1, N - 1]);
        a.digests.insert(fork_at + 1, other.checkpoints[&(fork_at + 1)].clone());
        let (r, _) = run(&l, N, &a, 100, &|p| l.file(p).to_vec());
        let Some(HistoryError::Consistency { older, newer, source }) = &r.failure else {
            panic!("fork at {fork_at}: {:?}", r.failure);
        };
        // 1 → the forked digest is the first pair the log's tiles cannot prove.
        assert_eq!((*older, *newer), (1, Some(fork_at + 1)), "fork at {fork_at}");
        let ConsistencyError::Inconsistent(inc) = &**source else { panic!("{source:?}") };
        assert!(matches!(inc.kind, InconsistencyKind::Fork { .. }), "{:?}", inc.kind);
        assert_eq!(inc.new_checkpoint, other.checkpoints[&(fork_at + 1)]);
        assert_eq!(inc.old_checkpoint, l.checkpoints[&1]);
        assert_eq!(history_code(r.failure.as_ref().unwrap()), Code::Fork);
        assert_eq!(history_alarm(r.failure.as_ref().unwrap()), Code::Fork);
        assert_eq!(sizes(&r), [(1, None)], "rows end at the pair's older digest");
        assert_eq!(r.failure.as_ref().unwrap().path(), Some(format!("digests/{}", fork_at + 1)));
    }
    // The oldest digest forked: its pair with the next one fails.
    let other = Ledger::grown(N, Some(2));
    let mut a = archive_of(&l, &[5, 10]);
    a.digests.insert(5, other.checkpoints[&5].clone());
    let (r, _) = run(&l, N, &a, 100, &|p| l.file(p).to_vec());
    assert!(matches!(r.failure, Some(HistoryError::Consistency { older: 5, newer: Some(10), .. })), "{:?}", r.failure);
    // The newest forked: its pair with the checkpoint fails.
    let mut a = archive_of(&l, &[5, 10]);
    a.digests.insert(10, other.checkpoints[&10].clone());
    let (r, _) = run(&l, N, &a, 100, &|p| l.file(p).to_vec());
    assert!(matches!(r.failure, Some(HistoryError::Consistency { older: 5, newer: Some(10), .. })), "{:?}", r.failure);
    let a = archive_of(&other, &[N - 1]);
    let (r, _) = run(&l, N, &a, 100, &|p| l.file(p).to_vec());
    assert!(matches!(r.failure, Some(HistoryError::Consistency { older, newer: None, .. }) if older == N - 1), "{:?}", r.failure);
    assert_eq!(sizes(&r), [(N - 1, None)]);
}
}

both! {
fn a_digest_the_log_did_not_sign_or_of_another_size_fails_where_it_is() {
    let l = Ledger::grown(20, None);
    // Signed by another key only.
    let mut a = archive_of(&l, &[3, 7, 12]);
    let text = Note::parse(&l.checkpoints[&7]).unwrap().text_unverified().to_owned();
    let foreign = Note::sign(&text, &[&key(ORIGIN, 9)], 0).unwrap().to_bytes();
    a.digests.insert(7, foreign);
    let (r, tiles) = run(&l, 20, &a, 100, &|p| l.file(p).to_vec());
    let f = r.failure.as_ref().unwrap();
    assert!(matches!(f, HistoryError::Digest { size: 7, source: TrustError::Checkpoint(_) | TrustError::NotSignedByLog }), "{f:?}");
    assert_eq!(history_code(f), Code::BadSignature);
    assert_eq!(history_alarm(f), Code::BadArchive, "a damaged archive, not a changed key");
    assert_eq!(f.path().as_deref(), Some("digests/7"));
    assert!(tiles.is_empty() && r.rows.is_empty(), "no proof after a bad digest");
    // Every flipped byte of a digest fails it, never panics.
    let good = l.checkpoints[&12].clone();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        let mut a = archive_of(&l, &[3, 12]);
        a.digests.insert(12, bad);
        let (r, _) = run(&l, 20, &a, 100, &|p| l.file(p).to_vec());
        assert!(matches!(r.failure, Some(HistoryError::Digest { size: 12, .. }) | Some(HistoryError::WrongSize { .. }) | Some(HistoryError::Consistency { .. })), "byte {i}: {:?}", r.failure);
    }
    // digests/12 holding the digest of 13.
    let mut a = archive_of(&l, &[3, 12]);
    a.digests.insert(12, l.checkpoints[&13].clone());
    let (r, _) = run(&l, 20, &a, 100, &|p| l.file(p).to_vec());
    assert_eq!(r.failure, Some(HistoryError::WrongSize { size: 12, found: 13 }));
    assert_eq!(history_code(r.failure.as_ref().unwrap()), Code::Tampered);
}
}

both! {
fn a_digest_newer_than_the_checkpoint_is_a_rollback_once_the_checkpoint_was_read_again() {
    let l = Ledger::grown(20, None);
    let a = archive_of(&l, &[3, 12, 15]);
    let h = History::new(&l.checkpoint(12), a.index.as_bytes(), 100).unwrap();
    assert_eq!(h.ahead_of_checkpoint(), Some(15), "read the checkpoint again first");
    // Read again, it has grown: no rollback.
    let (r, _) = run(&l, 15, &a, 100, &|p| l.file(p).to_vec());
    assert!(r.verified(), "{:?}", r.failure);
    // It has not: the log signed 15 and now signs 12.
    let (r, _) = run(&l, 12, &a, 100, &|p| l.file(p).to_vec());
    let f = r.failure.as_ref().unwrap();
    let HistoryError::Consistency { older: 15, newer: None, source } = f else { panic!("{f:?}") };
    assert!(matches!(&**source, ConsistencyError::Inconsistent(i) if matches!(i.kind, InconsistencyKind::Rollback { .. })));
    assert_eq!(history_code(f), Code::Rollback);
    assert_eq!(history_alarm(f), Code::Rollback);
}
}

both! {
fn a_bad_tile_fails_the_first_pair_that_reads_it() {
    let l = Ledger::grown(N, None);
    let a = archive_of(&l, &[1, 2, 40, N - 1]);
    let (good, tiles) = run(&l, N, &a, 100, &|p| l.file(p).to_vec());
    assert!(good.verified());
    assert!(!tiles.is_empty());
    for bad in &tiles {
        let (r, _) = run(&l, N, &a, 100, &|p| {
            let mut b = l.file(p).to_vec();
            if p == *bad {
                b.truncate(b.len() - 1);
            }
            b
        });
        let f = r.failure.as_ref().unwrap_or_else(|| panic!("{bad}: verified"));
        let HistoryError::Consistency { source, older, .. } = f else { panic!("{bad}: {f:?}") };
        assert!(matches!(&**source, ConsistencyError::BadTile { path, .. } if path == bad), "{bad}: {source:?}");
        assert_eq!(f.path(), Some(bad.to_string()));
        assert_eq!(history_code(f), Code::Tampered);
        // The pairs before it were proved.
        assert_eq!(r.rows.last().map(|row| row.checkpoint.size()), Some(*older));
    }
    // A tile that is well formed but not the log's: the proof fails as a fork.
    let (r, _) = run(&l, N, &a, 100, &|p| {
        let mut b = l.file(p).to_vec();
        if p == tiles[0] {
            b[0] ^= 1;
        }
        b
    });
    assert_eq!(history_code(r.failure.as_ref().unwrap()), Code::Fork, "{:?}", r.failure);
}
}

both! {
fn a_malformed_index_and_misuse_are_errors_not_panics() {
    let l = Ledger::grown(5, None);
    let cp = l.checkpoint(5);
    for bad in ["3\n2\n", "x\n", "3", "03\n", "3\n3\n"] {
        let e = History::new(&cp, bad.as_bytes(), 100).unwrap_err();
        assert!(matches!(e, HistoryError::Index(_)), "{bad:?}");
        assert_eq!((history_code(&e), e.path().as_deref()), (Code::BadArchive, Some("digests/index.txt")));
    }
    let t = trust(&l);
    let mut h = History::new(&cp, b"2\n4\n", 100).unwrap();
    let e = h.feed_digest(&t, 4, &l.checkpoints[&4]).unwrap_err();
    assert!(matches!(e, HistoryError::Misuse(_)), "{e:?}");
    let mut h = History::new(&cp, b"2\n4\n", 100).unwrap();
    h.feed_digest(&t, 2, &l.checkpoints[&2]).unwrap();
    assert!(h.tiles().is_empty(), "no tiles before every digest is in");
    assert!(matches!(h.finish().failure, Some(HistoryError::Misuse(_))));
}
}
