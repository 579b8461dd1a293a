//! C2SP tlog-tiles: the only module that knows tile paths and tile arithmetic.
//!
//! ```text
//! tile/<L>/<N>[.p/<W>]        hash tile: level L (0..=63), index N, width W (1..=255)
//! tile/entries/<N>[.p/<W>]    entry bundle
//! N = 1234067  →  x001/x234/067
//! ```
//!
//! A tile at level `L` holds up to 256 hashes of level `8·L` of the Merkle tree; the
//! partial tile at level `L` of a tree of size `s` has `(s >> 8L) mod 256` hashes.
//! Parsing is canonical: a path parses only if formatting the result gives it back.
//!
//! Invariant: no other module formats or parses a tile path or computes a tile width.

use core::fmt;
use core::str::FromStr;

use crate::hash::{Hash, HASH_SIZE};
use crate::merkle::{self, HashSource, LeafRange, ProofError, Subtree};

/// Hashes per full tile, and entries per full bundle.
pub const TILE_WIDTH: u64 = 256;
/// log2 of [`TILE_WIDTH`]: the tree levels a tile spans.
pub const TILE_HEIGHT: u8 = 8;
/// The highest tile level the specification allows.
pub const MAX_LEVEL: u8 = 63;
/// The byte size of a full hash tile.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * HASH_SIZE;
/// The largest entry an entry bundle can hold (u16 length prefix).
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// What a tile path names: a hash tile at some level, or an entry bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// A hash tile of this level.
    Hashes(u8),
    /// An entry bundle.
    Entries,
}

/// A tile or bundle: kind, index and width. Constructed only valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TilePath {
    kind: TileKind,
    index: u64,
    width: u16,
}

/// A tile path, width or tile content is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// The path does not have the tlog-tiles form.
    #[error("tile path {found:?} is not canonical: {why}")]
    BadPath {
        /// The path found (cut to 100 characters).
        found: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A tile level above 63.
    #[error("tile level {0} is above the maximum 63")]
    BadLevel(u8),
    /// A width of 0 or above 256.
    #[error("tile width {0} is not between 1 and 256")]
    BadWidth(u64),
    /// A hash tile whose length is not its width times 32.
    #[error("tile {path} is {found} bytes long, expected {expected}")]
    BadTileLength {
        /// The tile.
        path: TilePath,
        /// Its length for its width.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// A tile that the tree size does not imply was asked for or given.
    #[error("tile {path} does not exist in a tree of size {size}")]
    NotInTree {
        /// The tile.
        path: TilePath,
        /// The tree size.
        size: u64,
    },
    /// A hash needed for a proof is in a tile that was not supplied.
    #[error("tile {0} is needed but was not supplied")]
    Missing(TilePath),
}

impl TilePath {
    /// A hash tile. `width` is 1..=256; 256 is a full tile.
    pub fn hashes(level: u8, index: u64, width: u64) -> Result<Self, TileError> {
        if level > MAX_LEVEL {
            return Err(TileError::BadLevel(level));
        }
        Self::new(TileKind::Hashes(level), index, width)
    }

    /// An entry bundle. `width` is 1..=256; 256 is a full bundle.
    pub fn entries(index: u64, width: u64) -> Result<Self, TileError> {
        Self::new(TileKind::Entries, index, width)
    }

    fn new(kind: TileKind, index: u64, width: u64) -> Result<Self, TileError> {
        if width == 0 || width > TILE_WIDTH {
            return Err(TileError::BadWidth(width));
        }
        Ok(TilePath {
            kind,
            index,
            width: width as u16,
        })
    }

    /// Hash tile or bundle.
    pub fn kind(&self) -> TileKind {
        self.kind
    }
    /// The tile's index within its level.
    pub fn index(&self) -> u64 {
        self.index
    }
    /// Hashes (or entries) it holds: 256 when full.
    pub fn width(&self) -> u64 {
        self.width as u64
    }
    /// True for a full (immutable) tile.
    pub fn is_full(&self) -> bool {
        self.width() == TILE_WIDTH
    }
    /// The same tile, full width: what a partial tile becomes as the log grows.
    pub fn full(&self) -> TilePath {
        TilePath {
            width: TILE_WIDTH as u16,
            ..*self
        }
    }
    /// The byte length of a hash tile of this width (bundles have no fixed length).
    pub fn hash_tile_len(&self) -> usize {
        self.width as usize * HASH_SIZE
    }
    /// The first leaf (entry) index this tile or bundle covers.
    pub fn first_leaf(&self) -> Option<u64> {
        let level = match self.kind {
            TileKind::Entries => 0,
            TileKind::Hashes(l) => l as u32,
        };
        let shift = (level + 1) * TILE_HEIGHT as u32;
        if shift >= 64 {
            return if self.index == 0 { Some(0) } else { None };
        }
        self.index.checked_mul(1u64 << shift)
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes(l) => write!(f, "tile/{l}/")?,
            TileKind::Entries => f.write_str("tile/entries/")?,
        }
        let mut groups = [0u16; 7];
        let mut n = self.index;
        let mut count = 0;
        loop {
            groups[count] = (n % 1000) as u16;
            count += 1;
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        for i in (1..count).rev() {
            write!(f, "x{:03}/", groups[i])?;
        }
        write!(f, "{:03}", groups[0])?;
        if self.width() < TILE_WIDTH {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

fn bad(found: &str, why: &'static str) -> TileError {
    TileError::BadPath {
        found: crate::hash::cut(found),
        why,
    }
}

fn three_digits(s: &str) -> Option<u64> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

impl FromStr for TilePath {
    type Err = TileError;

    /// Parses a path relative to the log prefix, e.g. `tile/1/x001/234.p/7`.
    fn from_str(s: &str) -> Result<Self, TileError> {
        if s.len() > 64 {
            return Err(bad(s, "too long"));
        }
        let rest = s
            .strip_prefix("tile/")
            .ok_or_else(|| bad(s, "does not start with tile/"))?;
        let (level, rest) = rest
            .split_once('/')
            .ok_or_else(|| bad(s, "no tile index"))?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            if level.is_empty()
                || level.len() > 2
                || !level.bytes().all(|b| b.is_ascii_digit())
                || (level.len() > 1 && level.starts_with('0'))
            {
                return Err(bad(
                    s,
                    "level is not a decimal number without leading zeros",
                ));
            }
            let l: u8 = level.parse().map_err(|_| bad(s, "bad level"))?;
            if l > MAX_LEVEL {
                return Err(TileError::BadLevel(l));
            }
            TileKind::Hashes(l)
        };
        let partial = rest.as_bytes().windows(3).position(|w| w == b".p/");
        let (index_part, width) = match partial.map(|at| (&rest[..at], &rest[at + 3..])) {
            Some((i, w)) => {
                if w.is_empty()
                    || w.len() > 3
                    || !w.bytes().all(|b| b.is_ascii_digit())
                    || w.starts_with('0')
                {
                    return Err(bad(
                        s,
                        "width is not a decimal number without leading zeros",
                    ));
                }
                let w: u64 = w.parse().map_err(|_| bad(s, "bad width"))?;
                if w == 0 || w >= TILE_WIDTH {
                    return Err(bad(s, "partial width is not between 1 and 255"));
                }
                (i, w)
            }
            None => (rest, TILE_WIDTH),
        };
        let elems: Vec<&str> = index_part.split('/').collect();
        if elems.len() > 7 {
            return Err(bad(s, "index has too many elements"));
        }
        let mut index: u64 = 0;
        for (i, e) in elems.iter().enumerate() {
            let last = i + 1 == elems.len();
            let digits = if last {
                *e
            } else {
                e.strip_prefix('x')
                    .ok_or_else(|| bad(s, "index element before the last does not start with x"))?
            };
            let v =
                three_digits(digits).ok_or_else(|| bad(s, "index element is not three digits"))?;
            index = index
                .checked_mul(1000)
                .and_then(|x| x.checked_add(v))
                .ok_or_else(|| bad(s, "index overflows 64 bits"))?;
        }
        let path = TilePath::new(kind, index, width)?;
        // Canonical: no superfluous x000 groups, and nothing else that formats differently.
        if path.to_string() != s {
            return Err(bad(s, "does not format back to itself"));
        }
        Ok(path)
    }
}

/// The number of hashes stored at tile level `level` for a tree of `size`.
fn hashes_at_level(size: u64, level: u8) -> u64 {
    let shift = level as u32 * TILE_HEIGHT as u32;
    if shift >= 64 {
        0
    } else {
        size >> shift
    }
}

/// The width of tile `index` at `level` in a tree of `size`, if that tile exists.
pub fn tile_width(size: u64, level: u8, index: u64) -> Option<u64> {
    let n = hashes_at_level(size, level);
    let start = index.checked_mul(TILE_WIDTH)?;
    if start >= n {
        return None;
    }
    Some((n - start).min(TILE_WIDTH))
}

/// The hash tile at `level` and `index` as it exists in a tree of `size`.
pub fn tile_at(size: u64, level: u8, index: u64) -> Result<TilePath, TileError> {
    let width = tile_width(size, level, index).ok_or(TileError::NotInTree {
        path: TilePath::hashes(level, index, TILE_WIDTH)?,
        size,
    })?;
    TilePath::hashes(level, index, width)
}

/// The entry bundle `index` as it exists in a tree of `size`.
pub fn bundle_at(size: u64, index: u64) -> Result<TilePath, TileError> {
    let width = tile_width(size, 0, index).ok_or(TileError::NotInTree {
        path: TilePath::entries(index, TILE_WIDTH)?,
        size,
    })?;
    TilePath::entries(index, width)
}

/// The full hash tiles that bundle `index` completes in a tree of `size`, bottom up, as
/// the tree emits them: the level-0 tile of its hashes once the bundle is full, then the
/// level-1 tile if it is the 256th level-0 tile, and so on. None for a partial bundle.
pub fn tiles_completed_by_bundle(size: u64, index: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    if index
        .checked_add(1)
        .and_then(|n| n.checked_mul(TILE_WIDTH))
        .is_none_or(|end| end > size)
    {
        return out;
    }
    let (mut level, mut i) = (0u8, index);
    while let Ok(t) = TilePath::hashes(level, i, TILE_WIDTH) {
        out.push(t);
        if (i + 1) % TILE_WIDTH != 0 {
            break;
        }
        i = (i + 1) / TILE_WIDTH - 1;
        level += 1;
    }
    out
}

/// The number of entry bundles of a tree of `size`.
pub fn bundle_count(size: u64) -> u64 {
    size.div_ceil(TILE_WIDTH)
}

/// The bundle holding entry `index`, and the entry's position in it.
pub fn bundle_for_entry(size: u64, index: u64) -> Result<(TilePath, usize), TileError> {
    let b = bundle_at(size, index / TILE_WIDTH)?;
    Ok((b, (index % TILE_WIDTH) as usize))
}

/// Every hash tile of a tree of `size`, level by level, left to right.
pub fn hash_tiles(size: u64) -> impl Iterator<Item = TilePath> {
    (0..=MAX_LEVEL)
        .take_while(move |&l| hashes_at_level(size, l) > 0)
        .flat_map(move |l| {
            let n = hashes_at_level(size, l);
            (0..n.div_ceil(TILE_WIDTH)).filter_map(move |i| tile_at(size, l, i).ok())
        })
}

/// The partial tiles and bundle of a tree of `size`: what changes as the log grows.
pub fn partial_tiles(size: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    for l in 0..=MAX_LEVEL {
        let n = hashes_at_level(size, l);
        if n == 0 {
            break;
        }
        if !n.is_multiple_of(TILE_WIDTH) {
            if let Ok(t) = TilePath::hashes(l, n / TILE_WIDTH, n % TILE_WIDTH) {
                if l == 0 {
                    if let Ok(b) = TilePath::entries(n / TILE_WIDTH, n % TILE_WIDTH) {
                        out.push(b);
                    }
                }
                out.push(t);
            }
        }
    }
    out
}

/// The tile holding the hash of perfect subtree `st` in a tree of `size`: the tile, and
/// the range of its hashes whose tree hash is `st`'s hash.
pub fn tile_for_subtree(
    size: u64,
    st: Subtree,
) -> Result<(TilePath, core::ops::Range<usize>), TileError> {
    let level = st.level / TILE_HEIGHT;
    let within = (st.level % TILE_HEIGHT) as u32;
    let first = st.index.checked_shl(within).unwrap_or(u64::MAX);
    let tile_index = first / TILE_WIDTH;
    let path = tile_at(size, level, tile_index)?;
    let start = (first % TILE_WIDTH) as usize;
    let end = start + (1usize << within);
    if end as u64 > path.width() {
        return Err(TileError::NotInTree { path, size });
    }
    Ok((path, start..end))
}

/// Index half of a tile-based proof: the hash tiles holding every subtree of `ranges`.
fn tiles_for_ranges(size: u64, ranges: &[LeafRange]) -> Result<Vec<TilePath>, TileError> {
    let mut out: Vec<TilePath> = Vec::new();
    for r in ranges {
        for st in merkle::range_subtrees(*r) {
            let (t, _) = tile_for_subtree(size, st)?;
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    Ok(out)
}

/// A tile-based proof could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileProofError {
    /// The sizes or index do not make a proof.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A tile was missing or malformed.
    #[error(transparent)]
    Tile(#[from] TileError),
}

/// The hash tiles needed to prove that entry `index` is in the tree of `size`.
pub fn inclusion_tiles(index: u64, size: u64) -> Result<Vec<TilePath>, TileProofError> {
    let ranges = merkle::inclusion_ranges(index, size)?;
    Ok(tiles_for_ranges(size, &ranges)?)
}

/// The hash tiles needed to prove that the tree of `size2` extends the one of `size1`.
pub fn consistency_tiles(size1: u64, size2: u64) -> Result<Vec<TilePath>, TileProofError> {
    let ranges = merkle::consistency_ranges(size1, size2)?;
    Ok(tiles_for_ranges(size2, &ranges)?)
}

/// The hash tiles of the tree of `tree` that prove the tree of `size2` extends the one
/// of `size1` (`size1 <= size2 <= tree`).
///
/// For digest histories: the partial tiles of an older tree may be gone (a full tile
/// replaced them), but every subtree a proof between older sizes needs is complete in
/// today's tree, so one set of today's tiles proves every consecutive pair. With
/// `tree == size2` this is [`consistency_tiles`].
pub fn consistency_tiles_in(
    tree: u64,
    size1: u64,
    size2: u64,
) -> Result<Vec<TilePath>, TileProofError> {
    if size2 > tree {
        return Err(ProofError::SizesReversed {
            size1: size2,
            size2: tree,
        }
        .into());
    }
    let ranges = merkle::consistency_ranges(size1, size2)?;
    Ok(tiles_for_ranges(tree, &ranges)?)
}

/// Hash tiles of one tree size, checked for length: a [`HashSource`] for proofs.
#[derive(Debug, Clone, Default)]
pub struct TileSet {
    size: u64,
    tiles: Vec<(TilePath, Vec<Hash>)>,
}

impl TileSet {
    /// An empty set for a tree of `size`.
    pub fn new(size: u64) -> Self {
        TileSet {
            size,
            tiles: Vec::new(),
        }
    }

    /// Adds a fetched hash tile. It must be a tile of this tree size, of the right length.
    pub fn insert(&mut self, path: TilePath, bytes: &[u8]) -> Result<(), TileError> {
        let hashes = decode_hash_tile(path, bytes)?;
        let TileKind::Hashes(level) = path.kind else {
            return Err(TileError::NotInTree {
                path,
                size: self.size,
            });
        };
        if tile_width(self.size, level, path.index) != Some(path.width()) {
            return Err(TileError::NotInTree {
                path,
                size: self.size,
            });
        }
        self.tiles.retain(|(p, _)| *p != path);
        self.tiles.push((path, hashes));
        Ok(())
    }

    fn get(&self, path: &TilePath) -> Option<&[Hash]> {
        self.tiles
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, h)| h.as_slice())
    }
}

impl HashSource for TileSet {
    type Error = TileError;
    fn subtree_hash(&self, st: Subtree) -> Result<Hash, TileError> {
        let (path, range) = tile_for_subtree(self.size, st)?;
        let hashes = self.get(&path).ok_or(TileError::Missing(path))?;
        Ok(merkle::tree_hash(&hashes[range]))
    }
}

/// Splits a hash tile into hashes, checking its length against its width.
pub fn decode_hash_tile(path: TilePath, bytes: &[u8]) -> Result<Vec<Hash>, TileError> {
    if bytes.len() != path.hash_tile_len() {
        return Err(TileError::BadTileLength {
            path,
            expected: path.hash_tile_len(),
            found: bytes.len(),
        });
    }
    Ok(bytes
        .chunks_exact(HASH_SIZE)
        .map(|c| Hash(c.try_into().unwrap_or([0; 32])))
        .collect())
}

/// Concatenates hashes into tile bytes.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// Compute half of a tile-based inclusion proof.
pub fn inclusion_proof_from_tiles(
    tiles: &TileSet,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, TileProofError> {
    Ok(merkle::inclusion_proof(tiles, index, size)??)
}

/// Compute half of a tile-based consistency proof from `size1` to `size2`; `tiles` may
/// be of a larger tree (see [`consistency_tiles_in`]).
pub fn consistency_proof_from_tiles(
    tiles: &TileSet,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, TileProofError> {
    Ok(merkle::consistency_proof(tiles, size1, size2)??)
}

/// The right edge of a tiled tree: the last (partial) tile at every level.
///
/// This is all the state needed to append to a tlog-tiles log (full tiles never change)
/// and to compute its root. The writer uses it to produce tiles; the auditor uses it to
/// recompute every tile it is served and compare. Memory: at most 8 KiB per level.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TiledTree {
    size: u64,
    /// `levels[L]`: the hashes of the last, incomplete tile at level L (0..=255 of them).
    levels: Vec<Vec<Hash>>,
}

impl TiledTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes from the partial tiles of a tree of `size`, as listed by
    /// [`partial_tiles`] (hash tiles only, any order). Used by a writer restarting.
    pub fn from_partial_tiles(
        size: u64,
        tiles: &[(TilePath, Vec<Hash>)],
    ) -> Result<Self, TileError> {
        let mut levels = Vec::new();
        for l in 0..=MAX_LEVEL {
            let n = hashes_at_level(size, l);
            if n == 0 {
                break;
            }
            let w = n % TILE_WIDTH;
            if w == 0 {
                levels.push(Vec::new());
                continue;
            }
            let want = TilePath::hashes(l, n / TILE_WIDTH, w)?;
            let (_, h) = tiles
                .iter()
                .find(|(p, _)| *p == want)
                .ok_or(TileError::Missing(want))?;
            if h.len() as u64 != w {
                return Err(TileError::BadTileLength {
                    path: want,
                    expected: want.hash_tile_len(),
                    found: h.len() * HASH_SIZE,
                });
            }
            levels.push(h.clone());
        }
        Ok(TiledTree { size, levels })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; `on_full` is called with each tile this completes, lowest
    /// level first.
    pub fn push(&mut self, leaf: Hash, mut on_full: impl FnMut(TilePath, &[Hash])) {
        self.size += 1;
        let mut h = leaf;
        let mut level = 0usize;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::with_capacity(TILE_WIDTH as usize));
            }
            let tile = &mut self.levels[level];
            tile.push(h);
            if tile.len() as u64 != TILE_WIDTH {
                break;
            }
            let index = (hashes_at_level(self.size, level as u8) / TILE_WIDTH) - 1;
            if let Ok(path) = TilePath::hashes(level as u8, index, TILE_WIDTH) {
                on_full(path, tile);
            }
            h = merkle::tree_hash(tile);
            tile.clear();
            level += 1;
        }
    }

    /// The partial tiles as they stand, lowest level first.
    pub fn partial(&self) -> impl Iterator<Item = (TilePath, &[Hash])> {
        self.levels.iter().enumerate().filter_map(move |(l, t)| {
            if t.is_empty() {
                return None;
            }
            let n = hashes_at_level(self.size, l as u8);
            TilePath::hashes(l as u8, n / TILE_WIDTH, t.len() as u64)
                .ok()
                .map(|p| (p, t.as_slice()))
        })
    }

    /// The RFC 6962 root of the tree.
    pub fn root(&self) -> Hash {
        // The perfect subtrees of the tree, largest first, come from the top level's
        // partial tile down to level 0's, each split by the binary decomposition of its
        // width.
        let mut subtrees = Vec::new();
        for tile in self.levels.iter().rev() {
            let mut start = 0usize;
            let w = tile.len();
            for bit in (0..8).rev() {
                if w & (1 << bit) != 0 {
                    subtrees.push(merkle::tree_hash(&tile[start..start + (1 << bit)]));
                    start += 1 << bit;
                }
            }
        }
        merkle::fold_right(&subtrees)
    }
}
