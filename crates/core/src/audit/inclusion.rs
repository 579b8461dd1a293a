//! Proving that one entry is in a log, as a step machine: the walk `verifyEntry` (the
//! page's "verify one event", the element's `entry` attribute) makes, written once.
//!
//! - **Index half.** [`Inclusion::needed`] names, from the checkpoint's size alone, every
//!   file the proof reads: the entry's bundle (whose leaf hashes are the level-0 tile, so
//!   that tile is never fetched) and the hash tiles above it. A client asks for all of
//!   them at once: one round trip.
//! - **Compute half.** [`Inclusion::feed`] takes each file's bytes (a malformed one is
//!   the log's fault, with its path); [`Inclusion::check`] builds the inclusion proof
//!   from the tiles and checks it against the signed root, answering with the entry and
//!   the proof (what a tlog-proof receipt holds) or why not.

use super::check_inclusion;
use crate::bundle::{self, BundleError};
use crate::checkpoint::VerifiedCheckpoint;
use crate::hash::{leaf_hash, Hash};
use crate::merkle::ProofError;
use crate::tiles::{self, TileError, TilePath, TileProofError, TileSet};

/// Why one entry's inclusion was not proved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InclusionError {
    /// The index is not in the log (the caller's mistake).
    #[error("entry {index} is not in a log of {size} entries")]
    OutOfRange {
        /// The entry asked for.
        index: u64,
        /// The log's size.
        size: u64,
    },
    /// The entry's bundle is malformed: the log's fault.
    #[error("{path}: {source}")]
    BadBundle {
        /// The bundle's path.
        path: TilePath,
        /// What is wrong with it.
        source: BundleError,
    },
    /// A hash tile is malformed, or not one `needed` named: the log's fault.
    #[error("{path}: {source}")]
    BadTile {
        /// The tile's path.
        path: TilePath,
        /// What is wrong with it.
        source: TileError,
    },
    /// The tiles do not make a proof (one was not fed), or the log's arithmetic failed.
    #[error("entry {index} of {size}: {source}")]
    Incomplete {
        /// The entry.
        index: u64,
        /// The log's size.
        size: u64,
        /// What the tile arithmetic said.
        source: TileProofError,
    },
    /// The proof from the log's own tiles does not reach the signed root: the entry (or
    /// a tile) is not what the checkpoint committed to.
    #[error("entry {index} is not included in the signed tree: {source}")]
    NotIncluded {
        /// The entry.
        index: u64,
        /// The bundle it was read from.
        segment: u64,
        /// The proof that was checked.
        proof: Vec<Hash>,
        /// How the proof failed.
        source: ProofError,
    },
}

/// An entry proved to be in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Included {
    /// The entry's bytes.
    pub entry: Vec<u8>,
    /// Its inclusion proof against the checkpoint.
    pub proof: Vec<Hash>,
    /// The bundle (segment) it was read from.
    pub segment: u64,
}

/// The proof that entry `index` is in the log at a checkpoint.
#[derive(Debug, Clone)]
pub struct Inclusion {
    cp: VerifiedCheckpoint,
    index: u64,
    bundle: TilePath,
    pos: usize,
    level0: TilePath,
    upper: Vec<TilePath>,
    tiles: TileSet,
    entry: Option<Vec<u8>>,
}

impl Inclusion {
    /// The proof of entry `index` under `cp`.
    pub fn new(cp: &VerifiedCheckpoint, index: u64) -> Result<Inclusion, InclusionError> {
        let size = cp.size();
        let out = || InclusionError::OutOfRange { index, size };
        if index >= size {
            return Err(out());
        }
        let (bundle, pos) = tiles::bundle_for_entry(size, index).map_err(|_| out())?;
        let level0 = tiles::tile_at(size, 0, bundle.index()).map_err(|_| out())?;
        let mut upper =
            tiles::inclusion_tiles(index, size).map_err(|source| InclusionError::Incomplete {
                index,
                size,
                source,
            })?;
        upper.retain(|p| *p != level0);
        Ok(Inclusion {
            cp: cp.clone(),
            index,
            bundle,
            pos,
            level0,
            upper,
            tiles: TileSet::new(size),
            entry: None,
        })
    }

    /// Every file to fetch: the entry's bundle first, then the hash tiles above it.
    pub fn needed(&self) -> Vec<TilePath> {
        std::iter::once(self.bundle)
            .chain(self.upper.iter().copied())
            .collect()
    }

    /// Takes the bytes of a file `needed` named.
    pub fn feed(&mut self, path: TilePath, bytes: &[u8]) -> Result<(), InclusionError> {
        if path == self.bundle {
            let entries = bundle::decode_bundle(bytes, path.width())
                .map_err(|source| InclusionError::BadBundle { path, source })?;
            let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
            // The bundle's leaf hashes are its level-0 tile: computed, never fetched.
            let level0 = self.level0;
            self.tiles
                .insert(level0, &tiles::encode_hash_tile(&leaves))
                .map_err(|source| InclusionError::BadTile {
                    path: level0,
                    source,
                })?;
            self.entry = entries.get(self.pos).map(|e| e.to_vec());
            return Ok(());
        }
        if !self.upper.contains(&path) {
            return Err(InclusionError::BadTile {
                path,
                source: TileError::NotInTree {
                    path,
                    size: self.cp.size(),
                },
            });
        }
        self.tiles
            .insert(path, bytes)
            .map_err(|source| InclusionError::BadTile { path, source })
    }

    /// Builds the proof from the tiles fed and checks it against the signed root.
    pub fn check(self) -> Result<Included, InclusionError> {
        let (index, size) = (self.index, self.cp.size());
        let incomplete = |source| InclusionError::Incomplete {
            index,
            size,
            source,
        };
        let entry = self.entry.ok_or(incomplete(TileProofError::Proof(
            ProofError::IndexOutOfRange { index, size },
        )))?;
        let proof =
            tiles::inclusion_proof_from_tiles(&self.tiles, index, size).map_err(incomplete)?;
        check_inclusion(&self.cp, index, &entry, &proof).map_err(|source| {
            InclusionError::NotIncluded {
                index,
                segment: self.bundle.index(),
                proof: proof.clone(),
                source,
            }
        })?;
        Ok(Included {
            entry,
            proof,
            segment: self.bundle.index(),
        })
    }
}
