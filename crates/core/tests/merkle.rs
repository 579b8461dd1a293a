//! Every tree of 0..=128 leaves, every inclusion and consistency proof, and every bit of
//! every proof hash flipped (as golang.org/x/mod/sumdb/tlog's tests do).

mod common;

use std::collections::HashMap;

use liveledger_core::hash::{leaf_hash, Hash};
use liveledger_core::merkle::{self, Frontier, ProofError};
use liveledger_core::tiles::{self, TilePath, TileSet, TiledTree};

/// Native runs every size to 128; Wasm (no SHA extensions, ~10x slower) to 48.
const MAX: u64 = if cfg!(target_arch = "wasm32") {
    48
} else {
    128
};

fn leaves(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
        .collect()
}

/// The RFC 6962 §2.1 definition, written as literally as possible, as the reference.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => liveledger_core::hash::empty_root(),
        1 => d[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            liveledger_core::hash::node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

fn flips(proof: &[Hash], mut check: impl FnMut(&[Hash]) -> bool) {
    let mut p = proof.to_vec();
    for i in 0..p.len() {
        for bit in 0..256 {
            p[i].0[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !check(&p),
                "flipping bit {bit} of proof hash {i} still verifies"
            );
            p[i].0[bit / 8] ^= 1 << (bit % 8);
        }
    }
}

both! {
fn roots_of_every_small_tree_agree() {
    let all = leaves(MAX);
    let mut f = Frontier::new();
    let mut t = TiledTree::new();
    for n in 0..=MAX {
        let d = &all[..n as usize];
        assert_eq!(f.root(), mth(d), "frontier root of {n}");
        assert_eq!(t.root(), mth(d), "tiled root of {n}");
        assert_eq!(merkle::tree_hash(d), mth(d));
        if n < MAX {
            f.push(all[n as usize]);
            t.push(all[n as usize], |_, _| {});
        }
    }
}
}

both! {
fn every_inclusion_proof_verifies_and_every_bit_flip_fails() {
    let all = leaves(MAX);
    for n in 1..=MAX {
        let d = &all[..n as usize];
        let root = mth(d);
        for i in 0..n {
            let proof = merkle::inclusion_proof(d, i, n).unwrap().unwrap();
            merkle::verify_inclusion(i, n, &d[i as usize], &proof, &root).unwrap();
            flips(&proof, |p| merkle::verify_inclusion(i, n, &d[i as usize], p, &root).is_ok());
            // Wrong index, wrong size, extra and missing hashes fail too.
            if n > 1 {
                let j = (i + 1) % n;
                assert!(merkle::verify_inclusion(j, n, &d[i as usize], &proof, &root).is_err());
            }
            // (A proof for size n can also fit size n+1 when the shape is the same, e.g.
            // index 0 in 6 and 7 leaves, so a wrong size is not asserted to fail here.)
            let mut longer = proof.clone();
            longer.push(root);
            assert!(matches!(
                merkle::verify_inclusion(i, n, &d[i as usize], &longer, &root),
                Err(ProofError::WrongLength { .. })
            ));
            if !proof.is_empty() {
                assert!(merkle::verify_inclusion(i, n, &d[i as usize], &proof[1..], &root).is_err());
            }
        }
        assert!(matches!(
            merkle::verify_inclusion(n, n, &d[0], &[], &root),
            Err(ProofError::IndexOutOfRange { .. })
        ));
    }
}
}

both! {
fn every_consistency_proof_verifies_and_every_bit_flip_fails() {
    let all = leaves(MAX);
    let roots: Vec<Hash> = (0..=MAX).map(|n| mth(&all[..n as usize])).collect();
    for n in 1..=MAX {
        let d = &all[..n as usize];
        for m in 1..=n {
            let proof = merkle::consistency_proof(d, m, n).unwrap().unwrap();
            let (r1, r2) = (roots[m as usize], roots[n as usize]);
            merkle::verify_consistency(m, n, &r1, &r2, &proof)
                .unwrap_or_else(|e| panic!("{m} -> {n}: {e}"));
            flips(&proof, |p| merkle::verify_consistency(m, n, &r1, &r2, p).is_ok());
            if m < n {
                // Another old tree, or swapped roots, fail.
                assert!(merkle::verify_consistency(m, n, &roots[m as usize - 1], &r2, &proof).is_err());
                assert!(merkle::verify_consistency(m, n, &r2, &r1, &proof).is_err());
                assert!(merkle::verify_consistency(n, m, &r2, &r1, &proof).is_err());
            }
        }
        assert!(matches!(
            merkle::verify_consistency(0, n, &roots[0], &roots[n as usize], &[]),
            Err(ProofError::EmptyOldTree { .. })
        ));
    }
}
}

both! {
/// Builds the tiles of a tree as a publisher would, and checks tile-based proofs against
/// the reference at sizes around tile boundaries.
fn tile_based_proofs_match_the_reference() {
    let n_max: u64 = if cfg!(target_arch = "wasm32") { 256 * 3 + 5 } else { 256 * 256 + 515 };
    let all = leaves(n_max);
    let mut full: HashMap<TilePath, Vec<u8>> = HashMap::new();
    let mut t = TiledTree::new();
    let checkpoints: Vec<u64> = [1u64, 2, 255, 256, 257, 511, 512, 513, 700, 256 * 3 + 5, 65535, 65536, 65537, 256 * 256 + 515]
        .into_iter()
        .filter(|&s| s <= n_max)
        .collect();
    for (i, leaf) in all.iter().enumerate() {
        t.push(*leaf, |p, h| {
            full.insert(p, tiles::encode_hash_tile(h));
        });
        let size = i as u64 + 1;
        if !checkpoints.contains(&size) {
            continue;
        }
        let mut ts = TileSet::new(size);
        for path in tiles::hash_tiles(size) {
            let bytes = if path.is_full() {
                full[&path].clone()
            } else {
                let (_, h) = t.partial().find(|(p, _)| *p == path).unwrap();
                tiles::encode_hash_tile(h)
            };
            ts.insert(path, &bytes).unwrap();
        }
        let d = &all[..size as usize];
        assert_eq!(t.root(), merkle::tree_hash(d));
        let picks = [0, size / 3, size / 2, size - 1];
        for &i in &picks {
            let needed = tiles::inclusion_tiles(i, size).unwrap();
            // At most the leaf's tile and the right-edge partial tile at each level.
            let levels = tiles::hash_tiles(size).map(|p| p.kind()).collect::<std::collections::HashSet<_>>().len();
            assert!(needed.len() <= 2 * levels, "{needed:?}");
            assert!(needed.iter().all(|p| tiles::hash_tiles(size).any(|q| q == *p)));
            // Only the tiles the index half names are needed.
            let mut only = TileSet::new(size);
            for p in &needed {
                let (bytes, _) = (ts_bytes(&full, &t, *p), ());
                only.insert(*p, &bytes).unwrap();
            }
            let p = tiles::inclusion_proof_from_tiles(&only, i, size).unwrap();
            assert_eq!(p, merkle::inclusion_proof(d, i, size).unwrap().unwrap());
        }
        for &m in &picks {
            if m == 0 { continue; }
            let p = tiles::consistency_proof_from_tiles(&ts, m, size).unwrap();
            assert_eq!(p, merkle::consistency_proof(d, m, size).unwrap().unwrap());
        }
        // Older pairs (a digest history) proved from today's tiles only.
        for w in checkpoints.windows(2).filter(|w| w[1] <= size) {
            let (m, n) = (w[0], w[1]);
            let needed = tiles::consistency_tiles_in(size, m, n).unwrap();
            let mut only = TileSet::new(size);
            for p in &needed {
                only.insert(*p, &ts_bytes(&full, &t, *p)).unwrap();
            }
            let p = tiles::consistency_proof_from_tiles(&only, m, n).unwrap();
            assert_eq!(p, merkle::consistency_proof(&all[..n as usize], m, n).unwrap().unwrap(), "{m}->{n} in {size}");
            assert!(merkle::verify_consistency(m, n, &merkle::tree_hash(&all[..m as usize]), &merkle::tree_hash(&all[..n as usize]), &p).is_ok());
        }
        assert!(tiles::consistency_tiles_in(size, 1, size + 1).is_err(), "beyond today's tree");
    }
}
}

fn ts_bytes(full: &HashMap<TilePath, Vec<u8>>, t: &TiledTree, p: TilePath) -> Vec<u8> {
    if p.is_full() {
        full[&p].clone()
    } else {
        let (_, h) = t.partial().find(|(q, _)| *q == p).unwrap();
        tiles::encode_hash_tile(h)
    }
}

both! {
fn missing_or_malformed_tiles_are_errors_not_panics() {
    let mut ts = TileSet::new(1000);
    let p = TilePath::hashes(0, 3, 232).unwrap();
    assert!(ts.insert(p, &[0u8; 31]).is_err());
    assert!(ts.insert(TilePath::hashes(0, 3, 231).unwrap(), &vec![0u8; 231 * 32]).is_err(), "wrong width for size");
    assert!(ts.insert(TilePath::hashes(0, 4, 1).unwrap(), &[0u8; 32]).is_err(), "beyond size");
    assert!(tiles::inclusion_proof_from_tiles(&ts, 5, 1000).is_err());
    assert!(tiles::inclusion_tiles(1000, 1000).is_err());
    assert!(tiles::consistency_tiles(5, 4).is_err());
    // The slice source refuses out-of-range subtrees instead of panicking.
    let l = leaves(4);
    assert!(merkle::inclusion_proof(&l[..], 2, 9).unwrap().is_err());
}
}
