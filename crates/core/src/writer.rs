//! The pure half of a tlog-tiles publisher: what to write after each append, and the
//! ledger metadata it signs ([`metadata`]).
//!
//! A [`LogWriter`] holds the right edge of the log (the partial tile at each level and the
//! entries of the partial bundle) and turns appends into files. It does no I/O: the CLI
//! writes what it returns, full tiles first and the checkpoint last, so a reader never
//! sees a checkpoint whose tiles are missing.
//!
//! Invariant: a full tile or bundle is returned exactly once, when it completes; partial
//! ones are returned by [`LogWriter::partial_files`] for the current size.

pub mod metadata;

use crate::bundle::{encode_bundle, BundleError};
use crate::checkpoint::Checkpoint;
use crate::hash::{leaf_hash, Hash};
use crate::tiles::{self, TileError, TilePath, TiledTree, MAX_ENTRY_SIZE, TILE_WIDTH};

/// An append or resume was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// An entry above 65535 bytes.
    #[error("entry is {0} bytes, more than the 65535 a tlog-tiles entry can hold")]
    EntryTooLarge(usize),
    /// The stored state to resume from is inconsistent.
    #[error("cannot resume: {0}")]
    Tile(#[from] TileError),
    /// The stored partial bundle is malformed.
    #[error("cannot resume: {0}")]
    Bundle(#[from] BundleError),
    /// The stored partial bundle does not hash to the stored level-0 tile.
    #[error("cannot resume: partial bundle entry {index} does not match the level 0 tile")]
    BundleTileMismatch {
        /// The first entry that differs.
        index: usize,
    },
}

/// A file to publish: a tile or bundle path and its bytes.
pub type TileFile = (TilePath, Vec<u8>);

/// The append state of a log.
#[derive(Clone, Debug, Default)]
pub struct LogWriter {
    tree: TiledTree,
    bundle: Vec<Vec<u8>>,
}

impl LogWriter {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes a log of `size` from its partial hash tiles and partial bundle (as stored
    /// by an earlier run), checking that they agree.
    pub fn resume(
        size: u64,
        partial_tiles: &[(TilePath, Vec<Hash>)],
        partial_bundle: Option<&[u8]>,
    ) -> Result<Self, WriteError> {
        let tree = TiledTree::from_partial_tiles(size, partial_tiles)?;
        let width = size % TILE_WIDTH;
        let bundle: Vec<Vec<u8>> = match (width, partial_bundle) {
            (0, _) => Vec::new(),
            (w, Some(b)) => crate::bundle::decode_bundle(b, w)?
                .into_iter()
                .map(|e| e.to_vec())
                .collect(),
            (w, None) => {
                return Err(TileError::Missing(TilePath::entries(size / TILE_WIDTH, w)?).into())
            }
        };
        if let Some((_, level0)) = tree
            .partial()
            .next()
            .filter(|(p, _)| p.kind() == tiles::TileKind::Hashes(0))
        {
            for (i, e) in bundle.iter().enumerate() {
                if level0.get(i) != Some(&leaf_hash(e)) {
                    return Err(WriteError::BundleTileMismatch { index: i });
                }
            }
        }
        Ok(LogWriter { tree, bundle })
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The root of the log.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// Appends an entry; returns the full tiles and bundle it completes (immutable files).
    pub fn append(&mut self, entry: &[u8]) -> Result<Vec<TileFile>, WriteError> {
        if entry.len() > MAX_ENTRY_SIZE {
            return Err(WriteError::EntryTooLarge(entry.len()));
        }
        let mut out = Vec::new();
        self.tree.push(leaf_hash(entry), |path, hashes| {
            out.push((path, tiles::encode_hash_tile(hashes)));
        });
        self.bundle.push(entry.to_vec());
        if self.bundle.len() as u64 == TILE_WIDTH {
            let index = self.size() / TILE_WIDTH - 1;
            let bytes = encode_bundle(&self.bundle)?;
            out.insert(0, (TilePath::entries(index, TILE_WIDTH)?, bytes));
            self.bundle.clear();
        }
        Ok(out)
    }

    /// The partial bundle and partial tiles of the current size.
    pub fn partial_files(&self) -> Result<Vec<TileFile>, WriteError> {
        let mut out = Vec::new();
        if !self.bundle.is_empty() {
            let path = TilePath::entries(self.size() / TILE_WIDTH, self.bundle.len() as u64)?;
            out.push((path, encode_bundle(&self.bundle)?));
        }
        for (path, hashes) in self.tree.partial() {
            out.push((path, tiles::encode_hash_tile(hashes)));
        }
        Ok(out)
    }

    /// The checkpoint body for the current size.
    pub fn checkpoint(&self, origin: &str, extensions: Vec<String>) -> Checkpoint {
        Checkpoint {
            origin: origin.to_owned(),
            size: self.size(),
            root: self.root(),
            extensions,
        }
    }
}
