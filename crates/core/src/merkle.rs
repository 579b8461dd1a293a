//! The RFC 6962 Merkle tree: tree hashes, inclusion and consistency proofs.
//!
//! Proof *creation* is split in two halves, as in golang.org/x/mod/sumdb/tlog:
//! - the **index half** ([`inclusion_ranges`], [`consistency_ranges`]) says which subtree
//!   hashes a proof is made of, as leaf ranges `[start, end)`, and from those which
//!   perfect subtrees ([`Subtree`]) must be read. It needs no data at all, so a client can
//!   fetch everything it needs in one batch;
//! - the **compute half** ([`range_hash`], [`inclusion_proof`], [`consistency_proof`])
//!   evaluates those ranges from any [`HashSource`]: a list of leaf hashes, or tiles.
//!
//! Proof *checking* follows RFC 9162 §2.1.3.2 and §2.1.4.2 and checks the proof length
//! exactly, so a proof with an extra or missing hash is rejected with the expected length.
//!
//! Invariant: nothing here panics on any input; sizes and indices are checked first.

use crate::hash::{empty_root, node_hash, Hash};

/// A perfect subtree of the log: the `2^level` leaves starting at `index << level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subtree {
    /// The height: 0 for a leaf.
    pub level: u8,
    /// The position among the subtrees of that height.
    pub index: u64,
}

/// A half-open range of leaf indices `[start, end)` whose Merkle tree hash is one proof
/// element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeafRange {
    /// First leaf.
    pub start: u64,
    /// One past the last leaf.
    pub end: u64,
}

/// A proof is the wrong shape, or does not lead to the expected root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The first tree is larger than the second.
    #[error("tree size {size1} is larger than tree size {size2}")]
    SizesReversed {
        /// The older tree size.
        size1: u64,
        /// The newer tree size.
        size2: u64,
    },
    /// The proof has the wrong number of hashes.
    #[error("proof has {found} hashes, expected {expected}")]
    WrongLength {
        /// The number a valid proof has.
        expected: usize,
        /// The number found.
        found: usize,
    },
    /// Recomputing the root from the proof gave another root.
    #[error("proof leads to root {calculated}, expected {expected}")]
    RootMismatch {
        /// The root that was claimed.
        expected: Hash,
        /// The root the proof leads to.
        calculated: Hash,
    },
    /// Two trees of the same size have different roots: a fork.
    #[error("trees of size {size} have different roots {root1} and {root2}")]
    SameSizeDifferentRoots {
        /// The common size.
        size: u64,
        /// The first root.
        root1: Hash,
        /// The second root.
        root2: Hash,
    },
    /// A consistency proof from the empty tree proves nothing; RFC 9162 and the reference
    /// implementation reject it. Callers compare the old root with the empty root instead.
    #[error("no consistency proof exists from the empty tree to size {size2}")]
    EmptyOldTree {
        /// The newer tree size.
        size2: u64,
    },
    /// A consistency proof's recomputed old root does not match.
    #[error("proof leads to old root {calculated}, expected {expected}")]
    OldRootMismatch {
        /// The old root that was claimed.
        expected: Hash,
        /// The old root the proof leads to.
        calculated: Hash,
    },
}

/// Where the compute half reads perfect subtree hashes from.
pub trait HashSource {
    /// The error reading a hash.
    type Error;
    /// The hash of the perfect subtree `st`.
    fn subtree_hash(&self, st: Subtree) -> Result<Hash, Self::Error>;
}

/// A subtree asked of a list of leaf hashes is not inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("subtree {subtree:?} is not inside a list of {len} leaves")]
pub struct SubtreeOutOfRange {
    /// The subtree asked for.
    pub subtree: Subtree,
    /// The number of leaves in the list.
    pub len: usize,
}

/// A slice of leaf hashes is a (slow, simple) hash source: it hashes what it is asked.
impl HashSource for [Hash] {
    type Error = SubtreeOutOfRange;
    fn subtree_hash(&self, st: Subtree) -> Result<Hash, Self::Error> {
        let err = SubtreeOutOfRange {
            subtree: st,
            len: self.len(),
        };
        if st.level >= 63 {
            return Err(err);
        }
        let start = st.index.checked_shl(st.level as u32).ok_or(err)?;
        let end = start.checked_add(1u64 << st.level).ok_or(err)?;
        if end > self.len() as u64 || (start >> st.level) != st.index {
            return Err(err);
        }
        Ok(tree_hash(&self[start as usize..end as usize]))
    }
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH over a list of leaf (or subtree) hashes, RFC 6962 §2.1. Recursion depth is
/// log2(len).
pub fn tree_hash(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&tree_hash(&leaves[..k]), &tree_hash(&leaves[k..]))
        }
    }
}

/// The perfect subtrees that make up `[start, end)`, left to right. The range must be a
/// node of some RFC 6962 tree (as every proof range is): its hash is then the right fold
/// of these subtrees' hashes.
pub fn range_subtrees(r: LeafRange) -> Vec<Subtree> {
    let mut out = Vec::new();
    let mut start = r.start;
    while start < r.end {
        // The biggest aligned power of two that fits.
        let size = r.end - start;
        let mut level = 63 - size.leading_zeros();
        if start != 0 {
            level = level.min(start.trailing_zeros());
        }
        out.push(Subtree {
            level: level as u8,
            index: start >> level,
        });
        start += 1u64 << level;
    }
    out
}

/// The hash of the range `[start, end)`, read from `src`.
pub fn range_hash<S: HashSource + ?Sized>(src: &S, r: LeafRange) -> Result<Hash, S::Error> {
    let subs = range_subtrees(r);
    let mut hashes = Vec::with_capacity(subs.len());
    for st in subs {
        hashes.push(src.subtree_hash(st)?);
    }
    Ok(fold_right(&hashes))
}

/// `H(a, H(b, H(c, d)))`: how RFC 6962 combines a tree's perfect subtrees, largest first.
pub fn fold_right(hashes: &[Hash]) -> Hash {
    match hashes.split_last() {
        None => empty_root(),
        Some((last, rest)) => rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)),
    }
}

/// Index half of an inclusion proof (RFC 6962 §2.1.1 PATH): the ranges whose hashes make
/// up the proof for leaf `index` in a tree of `size`, in proof order.
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<LeafRange>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    // Walk down from the root, then reverse: proof order is leaf to root.
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            out.push(LeafRange {
                start: lo + k,
                end: hi,
            });
            hi = lo + k;
        } else {
            out.push(LeafRange {
                start: lo,
                end: lo + k,
            });
            lo += k;
        }
    }
    out.reverse();
    Ok(out)
}

/// Index half of a consistency proof (RFC 6962 §2.1.2 PROOF/SUBPROOF) from `size1` to
/// `size2`, in proof order.
pub fn consistency_ranges(size1: u64, size2: u64) -> Result<Vec<LeafRange>, ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizesReversed { size1, size2 });
    }
    let mut out = Vec::new();
    if size1 == 0 || size1 == size2 {
        return Ok(out);
    }
    let (mut m, mut lo, mut hi, mut whole) = (size1, 0u64, size2, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !whole {
                out.push(LeafRange { start: lo, end: hi });
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            out.push(LeafRange {
                start: lo + k,
                end: hi,
            });
            hi = lo + k;
        } else {
            out.push(LeafRange {
                start: lo,
                end: lo + k,
            });
            m -= k;
            lo += k;
            whole = false;
        }
    }
    out.reverse();
    Ok(out)
}

/// Compute half: an inclusion proof for leaf `index` in a tree of `size`.
pub fn inclusion_proof<S: HashSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Result<Vec<Hash>, S::Error>, ProofError> {
    let ranges = inclusion_ranges(index, size)?;
    Ok(ranges.into_iter().map(|r| range_hash(src, r)).collect())
}

/// Compute half: a consistency proof from `size1` to `size2`.
pub fn consistency_proof<S: HashSource + ?Sized>(
    src: &S,
    size1: u64,
    size2: u64,
) -> Result<Result<Vec<Hash>, S::Error>, ProofError> {
    let ranges = consistency_ranges(size1, size2)?;
    Ok(ranges.into_iter().map(|r| range_hash(src, r)).collect())
}

/// The length of a valid inclusion proof.
fn inclusion_len(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    (inner, border)
}

/// Checks that `leaf` is at `index` in the tree of `size` with `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let calculated = root_from_inclusion(index, size, leaf, proof)?;
    if &calculated != root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            calculated,
        });
    }
    Ok(())
}

/// The root that an inclusion proof leads to.
pub fn root_from_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = inclusion_len(index, size);
    if proof.len() != inner + border {
        return Err(ProofError::WrongLength {
            expected: inner + border,
            found: proof.len(),
        });
    }
    let mut r = *leaf;
    for (i, p) in proof[..inner].iter().enumerate() {
        r = if (index >> i) & 1 == 0 {
            node_hash(&r, p)
        } else {
            node_hash(p, &r)
        };
    }
    for p in &proof[inner..] {
        r = node_hash(p, &r);
    }
    Ok(r)
}

/// Checks that the tree `(size2, root2)` extends `(size1, root1)` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizesReversed { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyOldTree { size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                expected: 0,
                found: proof.len(),
            });
        }
        if root1 != root2 {
            return Err(ProofError::SameSizeDifferentRoots {
                size: size1,
                root1: *root1,
                root2: *root2,
            });
        }
        return Ok(());
    }
    // The shape: `inner` hashes below the point where the two trees part, then `border`
    // hashes along the right edge of the larger tree.
    let inner = (64 - ((size1 - 1) ^ (size2 - 1)).leading_zeros()) as usize;
    let shift = (size1 - 1).trailing_ones() as usize; // levels shared as one subtree
    let shift = shift.min(inner);
    let border = ((size1 - 1) >> inner).count_ones() as usize;
    // If size1 is a power of two within the split, the old root itself is the seed.
    let seed_from_proof = size1 != 1u64 << shift;
    let expected = inner - shift + border + usize::from(seed_from_proof);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            found: proof.len(),
        });
    }
    let (seed, rest) = if seed_from_proof {
        (proof[0], &proof[1..])
    } else {
        (*root1, proof)
    };
    let mask = (size1 - 1) >> shift;
    let (inner_p, border_p) = rest.split_at(inner - shift);
    let mut fr = seed;
    let mut sr = seed;
    for (i, p) in inner_p.iter().enumerate() {
        if (mask >> i) & 1 == 1 {
            fr = node_hash(p, &fr);
            sr = node_hash(p, &sr);
        } else {
            sr = node_hash(&sr, p);
        }
    }
    for p in border_p {
        fr = node_hash(p, &fr);
        sr = node_hash(p, &sr);
    }
    if &fr != root1 {
        return Err(ProofError::OldRootMismatch {
            expected: *root1,
            calculated: fr,
        });
    }
    if &sr != root2 {
        return Err(ProofError::RootMismatch {
            expected: *root2,
            calculated: sr,
        });
    }
    Ok(())
}

/// A Merkle frontier (compact range `[0, size)`): the perfect subtree hashes along the
/// right edge. O(log n) memory; appending is amortised O(1) hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Hashes of the perfect subtrees of the binary decomposition of `size`, largest first.
    hashes: Vec<Hash>,
}

impl Frontier {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut h = leaf;
        // Each trailing one bit of the old size is a subtree that merges with the new one.
        for _ in 0..self.size.trailing_ones() {
            // Cannot fail: one stored hash per set bit.
            let left = self.hashes.pop().unwrap_or_default();
            h = node_hash(&left, &h);
        }
        self.hashes.push(h);
        self.size += 1;
    }

    /// Appends a perfect subtree of `2^level` leaves whose hash is known. The current size
    /// must be a multiple of `2^level`, or it returns false and changes nothing.
    pub fn push_subtree(&mut self, level: u8, hash: Hash) -> bool {
        if level >= 64 || self.size & ((1u64 << level) - 1) != 0 {
            return false;
        }
        let mut h = hash;
        let mut s = self.size >> level;
        while s & 1 == 1 {
            let left = self.hashes.pop().unwrap_or_default();
            h = node_hash(&left, &h);
            s >>= 1;
        }
        self.hashes.push(h);
        self.size += 1u64 << level;
        true
    }

    /// The RFC 6962 root of the leaves so far.
    pub fn root(&self) -> Hash {
        fold_right(&self.hashes)
    }
}
