//! The writer reproduces tessera's log byte for byte, and its output is read back by the
//! reader.

mod common;
use common::{file, text};

use liveledger_core::bundle;
use liveledger_core::checkpoint::VerifiedCheckpoint;
use liveledger_core::note::{Note, SignerKey};
use liveledger_core::tiles::{self, TilePath};
use liveledger_core::writer::LogWriter;

both! {
fn writing_tesseras_entries_reproduces_its_log_byte_for_byte() {
    let key = SignerKey::parse(text("tessera-log/SIGNER_KEY")).unwrap();
    assert_eq!(key.verifier().to_string(), text("tessera-log/VERIFIER_KEY").trim());
    let entries = bundle::decode_bundle(file("tessera-log/tile/entries/000.p/15"), 15).unwrap();
    let origin = "example.com/log/testdata";
    let mut w = LogWriter::new();
    let check = |w: &LogWriter| {
        let n = w.size();
        let cp = w.checkpoint(origin, vec![]);
        let note = Note::sign(&cp.to_text(), &[&key], 0).unwrap();
        assert_eq!(note.to_bytes(), file(&format!("tessera-log/checkpoint.{n}")), "checkpoint.{n}");
        let files = w.partial_files().unwrap();
        assert_eq!(files.len(), if n == 0 { 0 } else { 2 });
        for (path, bytes) in files {
            assert_eq!(bytes, file(&format!("tessera-log/{path}")), "{path}");
        }
    };
    check(&w);
    for e in entries {
        assert!(w.append(e).unwrap().is_empty(), "no full tile before 256 entries");
        check(&w);
    }
}
}

both! {
fn full_tiles_appear_once_and_resume_continues_identically() {
    let mut w = LogWriter::new();
    let mut full = Vec::new();
    let n = 256 * 256 + 300;
    let mut leaves = Vec::new();
    for i in 0..n {
        let e = format!("entry {i}");
        leaves.push(liveledger_core::hash::leaf_hash(e.as_bytes()));
        full.extend(w.append(e.as_bytes()).unwrap());
        if i == 256 * 256 + 100 {
            // Resume from what a publisher would have on disk, and go on in both.
            let parts = w.partial_files().unwrap();
            let hashes: Vec<(TilePath, Vec<_>)> = parts
                .iter()
                .filter(|(p, _)| p.kind() != tiles::TileKind::Entries)
                .map(|(p, b)| (*p, tiles::decode_hash_tile(*p, b).unwrap()))
                .collect();
            let b = parts.iter().find(|(p, _)| p.kind() == tiles::TileKind::Entries).map(|(_, b)| b.as_slice());
            let r = LogWriter::resume(w.size(), &hashes, b).unwrap();
            assert_eq!(r.root(), w.root());
            assert_eq!(r.partial_files().unwrap(), parts);
        }
    }
    // 256 full bundles, 256 full level-0 tiles, 1 full level-1 tile.
    let bundles = full.iter().filter(|(p, _)| p.kind() == tiles::TileKind::Entries).count();
    let l0 = full.iter().filter(|(p, _)| p.kind() == tiles::TileKind::Hashes(0)).count();
    let l1 = full.iter().filter(|(p, _)| p.kind() == tiles::TileKind::Hashes(1)).count();
    assert_eq!((bundles, l0, l1), (257, 257, 1));
    assert_eq!(w.root(), liveledger_core::merkle::tree_hash(&leaves));
    // Every tile the tree size implies was written, full or partial.
    let mut written: Vec<TilePath> = full.iter().map(|(p, _)| *p).collect();
    written.extend(w.partial_files().unwrap().iter().map(|(p, _)| *p).filter(|p| p.kind() != tiles::TileKind::Entries));
    let implied: Vec<TilePath> = tiles::hash_tiles(n).collect();
    for t in &implied {
        assert!(written.contains(t), "{t} implied but not written");
    }
    // And the signed checkpoint opens.
    let key = SignerKey::from_seed("example.com/w", 1, [7; 32]).unwrap();
    let note = Note::sign(&w.checkpoint("example.com/w", vec!["ext".into()]).to_text(), &[&key], 0).unwrap();
    let cp = VerifiedCheckpoint::open(&note.to_bytes(), &[key.verifier()], "example.com/w").unwrap();
    assert_eq!((cp.size(), cp.root(), cp.extensions().len()), (n, w.root(), 1));
}
}

both! {
fn the_tiles_a_bundle_completes_are_the_ones_the_writer_emits_with_it() {
    // Past the first level-1 tile (256 x 256 entries) and into the next.
    let n = 256 * 256 + 2 * 256;
    let mut w = LogWriter::new();
    for i in 0..n {
        let files = w.append(&[(i % 251) as u8]).unwrap();
        let emitted: Vec<TilePath> = files
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| matches!(p.kind(), tiles::TileKind::Hashes(_)) && p.width() == 256)
            .collect();
        let size = i + 1;
        if size % 256 == 0 {
            let bundle = size / 256 - 1;
            assert_eq!(tiles::tiles_completed_by_bundle(size, bundle), emitted, "bundle {bundle}");
            // The same in any larger tree.
            assert_eq!(tiles::tiles_completed_by_bundle(n, bundle), emitted, "bundle {bundle}");
        } else {
            assert!(emitted.is_empty(), "{size}: {emitted:?}");
            // A bundle not yet full completes nothing.
            assert!(tiles::tiles_completed_by_bundle(size, size / 256).is_empty());
        }
    }
    assert_eq!(tiles::tiles_completed_by_bundle(n, 255).len(), 2, "tile 0/255 completes 1/000");
    assert!(tiles::tiles_completed_by_bundle(u64::MAX, u64::MAX).is_empty());
}
}
