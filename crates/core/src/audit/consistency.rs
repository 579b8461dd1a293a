//! Proving that a checkpoint extends an older one, as a step machine.
//!
//! Every verifier does this walk: `follow` between polls, `--since` and the browser's
//! memory of a past visit against today's checkpoint, a digest history between each
//! archived digest and the next. It is written once, here:
//!
//! - **Index half.** [`Consistency::needed`] names the hash tiles a proof between two sizes
//!   needs, from the sizes alone, leaving out the tiles already fed. A client fetches them
//!   all at once.
//! - **Compute half.** [`Consistency::feed`] takes each tile's bytes (a malformed tile is
//!   the log's fault: [`ConsistencyError::BadTile`]); [`Consistency::check`] builds the
//!   proof from the tiles and checks it, answering with the proof or an
//!   [`Inconsistency`] that carries both signed checkpoints and the proof as evidence.
//!
//! One machine reads the tiles of one tree (normally the newest checkpoint's) and may
//! prove many pairs of sizes up to it: every subtree a proof between older sizes needs is
//! complete in the newer tree ([`tiles::consistency_tiles_in`]). Tiles fed once are kept,
//! so a digest history fetches each tile once.
//!
//! No proof is needed, and none is fetched, when the older tree is empty, the sizes are
//! equal (the roots must be), or the newer one is smaller (a rollback, whatever the
//! tiles say).

use super::{check_consistency, Inconsistency};
use crate::checkpoint::VerifiedCheckpoint;
use crate::hash::Hash;
use crate::tiles::{self, TileError, TilePath, TileProofError, TileSet};

/// Why a consistency check did not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsistencyError {
    /// The log is not append-only between the two checkpoints (rollback, fork, another
    /// origin), with both signed checkpoints and the proof.
    #[error(transparent)]
    Inconsistent(Box<Inconsistency>),
    /// A tile the log served is malformed (wrong length, or not a tile of this tree).
    #[error("tile {path}: {source}")]
    BadTile {
        /// The tile's path.
        path: TilePath,
        /// What is wrong with it.
        source: TileError,
    },
    /// API misuse: sizes beyond the tree whose tiles are read, or [`Consistency::check`]
    /// before every tile [`Consistency::needed`] named was fed.
    #[error("consistency proof between sizes {size1} and {size2} of a tree of {tree}: {source}")]
    Misuse {
        /// The older size.
        size1: u64,
        /// The newer size.
        size2: u64,
        /// The size of the tree whose tiles are read.
        tree: u64,
        /// What the tile arithmetic said.
        source: TileProofError,
    },
}

/// Proofs that checkpoints of one tree extend older ones, from that tree's hash tiles.
#[derive(Debug, Clone)]
pub struct Consistency {
    tree: u64,
    tiles: TileSet,
    held: Vec<TilePath>,
}

impl Consistency {
    /// Proofs between sizes of the tree of `tree` entries, read from its tiles.
    pub fn new(tree: u64) -> Self {
        Consistency {
            tree,
            tiles: TileSet::new(tree),
            held: Vec::new(),
        }
    }

    /// The size of the tree whose tiles are read.
    pub fn tree(&self) -> u64 {
        self.tree
    }

    /// Whether a proof between these sizes reads any tile at all (see the module doc).
    pub fn needs_proof(size1: u64, size2: u64) -> bool {
        size1 > 0 && size1 < size2
    }

    /// The hash tiles still to feed before `check` can prove that the tree of `size2`
    /// extends the tree of `size1`: none when no proof is needed, and none already fed.
    pub fn needed(&self, size1: u64, size2: u64) -> Result<Vec<TilePath>, ConsistencyError> {
        if !Self::needs_proof(size1, size2) {
            return Ok(Vec::new());
        }
        let all = tiles::consistency_tiles_in(self.tree, size1, size2)
            .map_err(|source| self.misuse(size1, size2, source))?;
        Ok(all.into_iter().filter(|p| !self.held.contains(p)).collect())
    }

    /// Takes the bytes of a tile `needed` named. Feeding a tile twice keeps the first.
    pub fn feed(&mut self, path: TilePath, bytes: &[u8]) -> Result<(), ConsistencyError> {
        if self.held.contains(&path) {
            return Ok(());
        }
        self.tiles
            .insert(path, bytes)
            .map_err(|source| ConsistencyError::BadTile { path, source })?;
        self.held.push(path);
        Ok(())
    }

    /// Checks that `new` extends `old`; answers with the proof checked (empty when none
    /// was needed).
    pub fn check(
        &self,
        old: &VerifiedCheckpoint,
        new: &VerifiedCheckpoint,
    ) -> Result<Vec<Hash>, ConsistencyError> {
        let (size1, size2) = (old.size(), new.size());
        let proof = if Self::needs_proof(size1, size2) {
            tiles::consistency_proof_from_tiles(&self.tiles, size1, size2)
                .map_err(|source| self.misuse(size1, size2, source))?
        } else {
            Vec::new()
        };
        check_consistency(old, new, &proof).map_err(ConsistencyError::Inconsistent)?;
        Ok(proof)
    }

    fn misuse(&self, size1: u64, size2: u64, source: TileProofError) -> ConsistencyError {
        ConsistencyError::Misuse {
            size1,
            size2,
            tree: self.tree,
            source,
        }
    }
}
