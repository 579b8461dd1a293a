//! Other people's vectors: transparency-dev/merkle proofs, tessera's log, the sumdb,
//! C2SP and golang/mod notes, a Sunlight witness cosignature, and torchwood's ML-DSA-44
//! (`subtree/v1`) signed checkpoint.

mod common;
use common::{file, text, VECTORS};

use liveledger_core::checkpoint::VerifiedCheckpoint;
use liveledger_core::hash::{leaf_hash, Hash};
use liveledger_core::merkle::{self, tree_hash};
use liveledger_core::note::{Note, NoteError, VerifierKey};
use liveledger_core::tiles::{self, TilePath, TileSet};
use liveledger_core::{bundle, Hash as _H};

fn b64(v: &serde_json::Value) -> Option<Hash> {
    v.as_str().and_then(|s| Hash::from_base64(s).ok())
}

/// A root as the vectors give it. transparency-dev types roots as byte strings, and its
/// "additional" vectors use arbitrary ones ("don't care"); ours are 32-byte hashes, so a
/// root of another length stands in as the SHA-256 of its bytes, which keeps equal roots
/// equal and different roots different.
fn root(v: &serde_json::Value) -> Option<Hash> {
    use base64::Engine as _;
    let s = v.as_str()?;
    let raw = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    Some(Hash::from_slice(&raw).unwrap_or_else(|_| liveledger_core::hash::sha256(&raw)))
}

fn proof(v: &serde_json::Value) -> Option<Vec<Hash>> {
    match v {
        serde_json::Value::Null => Some(vec![]),
        serde_json::Value::Array(a) => a.iter().map(b64).collect(),
        _ => None,
    }
}

fn json_files(
    dir: &'static include_dir::Dir<'static>,
    out: &mut Vec<&'static include_dir::File<'static>>,
) {
    for f in dir.files() {
        if f.path().extension().is_some_and(|e| e == "json") {
            out.push(f);
        }
    }
    for d in dir.dirs() {
        json_files(d, out);
    }
}

both! {
fn merkle_inclusion_vectors_give_their_want_err() {
    let mut files = Vec::new();
    json_files(VECTORS.get_dir("merkle/inclusion").unwrap(), &mut files);
    assert!(files.len() > 50, "found {} inclusion vectors", files.len());
    for f in files {
        let v: serde_json::Value = serde_json::from_slice(f.contents()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let result = (|| {
            let root = b64(&v["root"])?;
            let leaf = b64(&v["leafHash"])?;
            let p = proof(&v["proof"])?;
            let idx = v["leafIdx"].as_i64()?;
            let size = v["treeSize"].as_i64()?;
            if idx < 0 || size < 0 { return None; }
            merkle::verify_inclusion(idx as u64, size as u64, &leaf, &p, &root).ok()
        })();
        assert_eq!(result.is_none(), want_err, "{}: {}", f.path().display(), v["desc"]);
    }
}
}

both! {
fn merkle_consistency_vectors_give_their_want_err() {
    let mut files = Vec::new();
    json_files(VECTORS.get_dir("merkle/consistency").unwrap(), &mut files);
    assert!(files.len() > 50, "found {} consistency vectors", files.len());
    for f in files {
        let v: serde_json::Value = serde_json::from_slice(f.contents()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let result = (|| {
            let r1 = root(&v["root1"])?;
            let r2 = root(&v["root2"])?;
            let p = proof(&v["proof"])?;
            let s1 = v["size1"].as_i64()?;
            let s2 = v["size2"].as_i64()?;
            if s1 < 0 || s2 < 0 { return None; }
            merkle::verify_consistency(s1 as u64, s2 as u64, &r1, &r2, &p).ok()
        })();
        assert_eq!(result.is_none(), want_err, "{}: {}", f.path().display(), v["desc"]);
    }
}
}

const TESSERA_ORIGIN: &str = "example.com/log/testdata";
const TESSERA_ENTRIES: [&str; 15] = [
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen",
];

fn tessera_key() -> VerifierKey {
    VerifierKey::parse(text("tessera-log/VERIFIER_KEY").trim()).unwrap()
}

fn tessera_checkpoint(n: u64) -> VerifiedCheckpoint {
    VerifiedCheckpoint::open(
        file(&format!("tessera-log/checkpoint.{n}")),
        &[tessera_key()],
        TESSERA_ORIGIN,
    )
    .unwrap_or_else(|e| panic!("checkpoint.{n}: {e}"))
}

both! {
fn tessera_entries_are_what_the_readme_says() {
    // The bundle at size 15 holds the 15 entries: the README's description is right.
    let b = bundle::decode_bundle(file("tessera-log/tile/entries/000.p/15"), 15).unwrap();
    let got: Vec<&str> = b.iter().map(|e| core::str::from_utf8(e).unwrap()).collect();
    assert_eq!(got.len(), 15);
    assert_eq!(&got[..3], &["one", "two", "three"]);
}
}

fn tessera_entries() -> Vec<Vec<u8>> {
    bundle::decode_bundle(file("tessera-log/tile/entries/000.p/15"), 15)
        .unwrap()
        .into_iter()
        .map(|e| e.to_vec())
        .collect()
}

both! {
fn every_tessera_checkpoint_verifies_and_matches_the_entries() {
    let entries = tessera_entries();
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    for n in 0..=15u64 {
        let cp = tessera_checkpoint(n);
        assert_eq!(cp.size(), n);
        assert_eq!(cp.root(), tree_hash(&leaves[..n as usize]), "root of size {n}");
        if n > 0 {
            // Every partial tile and bundle at size n holds exactly the first n.
            let t = tiles::decode_hash_tile(TilePath::hashes(0, 0, n).unwrap(),
                file(&format!("tessera-log/tile/0/000.p/{n}"))).unwrap();
            assert_eq!(t, leaves[..n as usize]);
            let b = bundle::decode_bundle(file(&format!("tessera-log/tile/entries/000.p/{n}")), n).unwrap();
            assert_eq!(b.len() as u64, n);
        }
    }
    let _ = TESSERA_ENTRIES;
}
}

both! {
fn every_pair_of_tessera_checkpoints_is_consistent_by_tiles() {
    for n2 in 1..=15u64 {
        let cp2 = tessera_checkpoint(n2);
        let mut ts = TileSet::new(n2);
        let p = TilePath::hashes(0, 0, n2).unwrap();
        ts.insert(p, file(&format!("tessera-log/tile/0/000.p/{n2}"))).unwrap();
        for n1 in 0..=n2 {
            let cp1 = tessera_checkpoint(n1);
            let needed = tiles::consistency_tiles(n1, n2).unwrap();
            assert!(needed.iter().all(|t| *t == p), "{n1}->{n2} needs {needed:?}");
            let proof = tiles::consistency_proof_from_tiles(&ts, n1, n2).unwrap();
            if n1 == 0 {
                // The empty tree: no proof exists; its root must be the empty root.
                assert_eq!(cp1.root(), liveledger_core::hash::empty_root());
                assert!(proof.is_empty());
                continue;
            }
            merkle::verify_consistency(n1, n2, &cp1.root(), &cp2.root(), &proof)
                .unwrap_or_else(|e| panic!("{n1} -> {n2}: {e}"));
            if n1 < n2 {
                let mut bad = cp1.root();
                bad.0[0] ^= 1;
                if n1 > 0 {
                    assert!(merkle::verify_consistency(n1, n2, &bad, &cp2.root(), &proof).is_err());
                }
            }
        }
        for i in 0..n2 {
            let proof = tiles::inclusion_proof_from_tiles(&ts, i, n2).unwrap();
            let leaf = leaf_hash(&tessera_entries()[i as usize]);
            merkle::verify_inclusion(i, n2, &leaf, &proof, &cp2.root()).unwrap();
        }
    }
}
}

fn notes_verify(note: &str, vkey: &str, origin: Option<&str>) {
    let key = VerifierKey::parse(text(vkey).trim()).unwrap();
    let bytes = file(note);
    let v = Note::parse(bytes)
        .unwrap()
        .verify(std::slice::from_ref(&key))
        .unwrap();
    assert_eq!(v.verified().len(), 1);
    if let Some(o) = origin {
        VerifiedCheckpoint::open(bytes, std::slice::from_ref(&key), o).unwrap();
    }
    // Round trip.
    assert_eq!(Note::parse(bytes).unwrap().to_bytes(), bytes);
    // Every single-bit change fails: to parse, or to verify.
    let mut m = bytes.to_vec();
    for i in 0..m.len() {
        for bit in 0..8 {
            m[i] ^= 1 << bit;
            let ok = Note::parse(&m)
                .ok()
                .and_then(|n| n.verify(std::slice::from_ref(&key)).ok());
            assert!(
                ok.is_none(),
                "{note}: flipping bit {bit} of byte {i} still verifies"
            );
            m[i] ^= 1 << bit;
        }
    }
}

both! {
fn sumdb_note_verifies_with_origin_different_from_key_name() {
    notes_verify("notes/sumdb-6476701.note", "notes/sumdb.vkey", Some("go.sum database tree"));
    let key = VerifierKey::parse(text("notes/sumdb.vkey").trim()).unwrap();
    assert_eq!(key.name(), "sum.golang.org");
    let cp = VerifiedCheckpoint::open(file("notes/sumdb-6476701.note"), &[key], "go.sum database tree").unwrap();
    assert_eq!(cp.size(), 6476701);
}
}

both! {
fn c2sp_example_note_verifies() {
    notes_verify("notes/c2sp-example.note", "notes/c2sp-example.vkey", None);
}
}

both! {
fn peterneumann_note_verifies() {
    notes_verify("notes/peterneumann.note", "notes/peterneumann.vkey", None);
}
}

both! {
fn sunlight_witness_cosignature_verifies_and_unknown_type_is_ignored() {
    let cfg: serde_json::Value = serde_json::from_slice(file("sunlight-witness/witness.v0.json")).unwrap();
    let key = VerifierKey::parse(cfg["verifier_keys"][0].as_str().unwrap()).unwrap();
    assert_eq!(key.key_type(), 0x04);
    let bytes = file("sunlight-witness/checkpoint");
    let note = Note::parse(bytes).unwrap();
    assert_eq!(note.signatures().len(), 2);
    let v = note.verify(std::slice::from_ref(&key)).unwrap();
    assert_eq!(v.verified().len(), 1);
    let ts = v.verified()[0].timestamp.expect("cosignature carries a timestamp");
    assert!(ts > 1_600_000_000, "timestamp {ts}");
    let cp = VerifiedCheckpoint::from_note(v, "rome2026h1.example.org").unwrap();
    assert_eq!(cp.size(), 300);
    // Tampering with the body breaks the cosignature.
    let mut m = bytes.to_vec();
    m[0] ^= 1;
    assert!(matches!(
        Note::parse(&m).unwrap().verify(&[key]),
        Err(NoteError::BadSignature { .. })
    ));
}
}

both! {
fn torchwood_mldsa44_checkpoint_verifies_and_any_changed_bit_fails() {
    let vkey = text("mldsa-checkpoint/VERIFIER_KEY").trim();
    let key = VerifierKey::parse(vkey).unwrap();
    assert_eq!((key.key_type(), key.public_key().len(), key.name()), (0x06, 1312, "example.com/mldsa-log"));
    assert_eq!(key.to_string(), vkey, "the key writes back as it was read");
    let bytes = file("mldsa-checkpoint/checkpoint");
    let cp = VerifiedCheckpoint::open(bytes, std::slice::from_ref(&key), "example.com/mldsa-log").unwrap();
    assert_eq!(cp.size(), 1);
    // Timestamp 0: no statement of time.
    assert_eq!(cp.note().verified()[0].timestamp, None);
    assert_eq!(Note::parse(bytes).unwrap().to_bytes(), bytes);
    // Every changed bit of the text, the key ID, the timestamp or the signature fails
    // (Wasm, slower, takes every 53rd bit of the signature).
    let note = Note::parse(bytes).unwrap();
    let text_len = note.text_unverified().len();
    let step = if cfg!(target_arch = "wasm32") { 53 } else { 1 };
    for i in 0..text_len * 8 {
        let mut m = bytes.to_vec();
        m[i / 8] ^= 1 << (i % 8);
        let ok = Note::parse(&m).ok().and_then(|n| n.verify(std::slice::from_ref(&key)).ok());
        assert!(ok.is_none(), "flipping bit {i} of the text still verifies");
    }
    let sig = &note.signatures()[0];
    assert_eq!(sig.payload.len(), 8 + 2420);
    for i in (0..(4 + sig.payload.len()) * 8).step_by(step) {
        let mut s = sig.clone();
        let (byte, bit) = (i / 8, i % 8);
        if byte < 4 {
            s.key_id ^= 1 << (8 * (3 - byte) + bit);
        } else {
            s.payload[byte - 4] ^= 1 << bit;
        }
        let m = format!("{}\n{}\n", note.text_unverified(), s.to_line());
        let r = Note::parse(m.as_bytes()).unwrap().verify(std::slice::from_ref(&key));
        assert!(r.is_err(), "flipping bit {bit} of signature byte {byte} still verifies");
    }
}
}

both! {
fn unknown_signer_alone_is_not_enough() {
    let key = VerifierKey::parse(text("notes/c2sp-example.vkey").trim()).unwrap();
    let err = Note::parse(file("notes/peterneumann.note")).unwrap().verify(&[key]).unwrap_err();
    assert!(matches!(err, NoteError::NotEnoughSignatures { found: 0, .. }), "{err}");
    assert!(err.to_string().contains("PeterNeumann+"), "{err}");
}
}

#[allow(dead_code)]
fn _unused(_: _H) {}

both! {
fn receipts_for_every_tessera_entry_verify_offline_and_fail_when_changed() {
    use liveledger_core::proof::Receipt;
    let entries = tessera_entries();
    let cp = file("tessera-log/checkpoint.15");
    let mut ts = TileSet::new(15);
    ts.insert(TilePath::hashes(0, 0, 15).unwrap(), file("tessera-log/tile/0/000.p/15")).unwrap();
    for i in 0..15u64 {
        let proof = tiles::inclusion_proof_from_tiles(&ts, i, 15).unwrap();
        let r = Receipt { extra: Some(entries[i as usize].clone()), index: i, proof, checkpoint: cp.to_vec() };
        let text = r.to_text();
        let parsed = Receipt::parse(&text).unwrap();
        assert_eq!(parsed, r);
        let (c, e) = parsed.verify(&[tessera_key()], TESSERA_ORIGIN, None).unwrap();
        assert_eq!((c.size(), e), (15, entries[i as usize].clone()));
        // Another entry, another index, or any changed proof hash fails.
        assert!(parsed.verify(&[tessera_key()], TESSERA_ORIGIN, Some(b"sixteen")).is_err());
        let mut moved = parsed.clone();
        moved.index = (i + 1) % 15;
        assert!(moved.verify(&[tessera_key()], TESSERA_ORIGIN, None).is_err());
        for j in 0..parsed.proof.len() {
            let mut m = parsed.clone();
            m.proof[j].0[7] ^= 4;
            assert!(m.verify(&[tessera_key()], TESSERA_ORIGIN, None).is_err());
        }
    }
    assert!(Receipt::parse("c2sp.org/tlog-proof@v1\nindex 01\n\nx").is_err());
    assert!(Receipt::parse("c2sp.org/tlog-proof@v2\nindex 1\n\nx").is_err());
}
}
