//! Checking a ledger's digest archive, as a step machine: the walk `verifyHistory` (the
//! page's "Digest history" card) and `liveledger verify --history` make, written once.
//!
//! The archive (docs/FORMAT.md, "Digest archive") is `digests/index.txt`, the sizes of
//! the archived digests in increasing order, and `digests/<size>`, each a signed
//! checkpoint. The history holds when:
//!
//! 1. every archived digest checked is signed by the log for its origin (the witness
//!    quorum is not asked of the past: [`Trust::open_past_checkpoint`]) and is of the
//!    size its name says;
//! 2. none is newer than the current checkpoint (that would be a rollback);
//! 3. each extends the one before it, and the newest extends to the current checkpoint,
//!    proved from the current tree's hash tiles.
//!
//! The machine, in the order a client drives it:
//!
//! - **Index half.** [`History::new`] parses the index against the current checkpoint
//!   and keeps the newest `limit` sizes; [`History::ahead_of_checkpoint`] says when the
//!   index names a digest newer than the checkpoint read (a publisher archives a digest
//!   just before it replaces the checkpoint, so a client should read the checkpoint again,
//!   briefly, before feeding: only then is that a rollback). [`History::digests`] names
//!   every digest file, known up front.
//! - **Compute half, digests.** [`History::feed_digest`] takes each digest's bytes, in
//!   that order, and checks rules 1 and 2 at once.
//! - **Index half, tiles.** [`History::tiles`] names every hash tile the proofs of rule 3
//!   read, each once, from the sizes alone.
//! - **Compute half, proofs.** [`History::feed_tile`] takes each tile, and
//!   [`History::finish`] proves every pair, oldest first, and answers with a
//!   [`HistoryReport`]: the digests checked, each with the size it was proved to extend,
//!   and the first failure, if any, with its evidence.

use super::{check_consistency, Consistency, ConsistencyError};
use crate::archive::{parse_digest_index, DigestIndexError};
use crate::checkpoint::VerifiedCheckpoint;
use crate::tiles::TilePath;
use crate::trust::{Trust, TrustError};

/// Why a digest history does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// `digests/index.txt` is malformed.
    #[error("digests/index.txt: {0}")]
    Index(#[from] DigestIndexError),
    /// An archived digest does not verify under the ledger's trust.
    #[error("digests/{size}: {source}")]
    Digest {
        /// The size its name gives.
        size: u64,
        /// Why it does not verify.
        source: TrustError,
    },
    /// An archived digest is not of the size its name gives.
    #[error("digests/{size} holds a digest of size {found}")]
    WrongSize {
        /// The size its name gives.
        size: u64,
        /// The size it holds.
        found: u64,
    },
    /// Two digests (or the newest and the current checkpoint) are not consistent, or a
    /// tile that was to prove it is malformed. `newer` is `None` for the current
    /// checkpoint.
    #[error("digest {older} to {}: {source}", newer.map_or("the checkpoint".to_owned(), |n| n.to_string()))]
    Consistency {
        /// The older digest's size.
        older: u64,
        /// The newer digest's size, or `None` for the current checkpoint.
        newer: Option<u64>,
        /// What failed, with both signed checkpoints and the proof.
        source: Box<ConsistencyError>,
    },
    /// API misuse: a digest fed out of order, or `finish` before every digest was fed.
    #[error("digest history: {0}")]
    Misuse(String),
}

impl HistoryError {
    /// The archive file the failure is about, for evidence: the digest that fails, or
    /// the first one not proved to extend the digest before it, or the bad tile.
    pub fn path(&self) -> Option<String> {
        match self {
            HistoryError::Index(_) => Some("digests/index.txt".to_owned()),
            HistoryError::Digest { size, .. } | HistoryError::WrongSize { size, .. } => {
                Some(format!("digests/{size}"))
            }
            // The first digest not proved to extend the one before it (the newest, if it
            // is the checkpoint it does not reach).
            HistoryError::Consistency {
                older,
                newer,
                source,
            } => match &**source {
                ConsistencyError::BadTile { path, .. } => Some(path.to_string()),
                _ => Some(format!("digests/{}", newer.unwrap_or(*older))),
            },
            HistoryError::Misuse(_) => None,
        }
    }
}

/// One archived digest that was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// The digest, verified under the ledger's trust.
    pub checkpoint: VerifiedCheckpoint,
    /// The size of the digest it was proved to extend (`None` for the oldest checked).
    pub extends: Option<u64>,
}

/// What a history check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryReport {
    /// The current checkpoint the history was checked up to.
    pub current: VerifiedCheckpoint,
    /// How many digests the archive holds.
    pub total: usize,
    /// The digests checked, oldest first; on a failed proof, those up to the older digest
    /// of the pair that failed.
    pub rows: Vec<HistoryRow>,
    /// The first failure, if any.
    pub failure: Option<HistoryError>,
}

impl HistoryReport {
    /// Whether the history holds.
    pub fn verified(&self) -> bool {
        self.failure.is_none()
    }
}

/// The check of a digest archive against the current checkpoint.
#[derive(Debug, Clone)]
pub struct History {
    current: VerifiedCheckpoint,
    total: usize,
    sizes: Vec<u64>,
    digests: Vec<VerifiedCheckpoint>,
    proofs: Consistency,
    failure: Option<HistoryError>,
    bad_tile: Option<ConsistencyError>,
}

impl History {
    /// The check of the newest `limit` digests the index names (at least one), up to the
    /// current checkpoint `current`.
    pub fn new(
        current: &VerifiedCheckpoint,
        index: &[u8],
        limit: usize,
    ) -> Result<History, HistoryError> {
        let all = parse_digest_index(index)?;
        let total = all.len();
        let sizes = all[total.saturating_sub(limit.max(1))..].to_vec();
        Ok(History {
            current: current.clone(),
            total,
            sizes,
            digests: Vec::new(),
            proofs: Consistency::new(current.size()),
            failure: None,
            bad_tile: None,
        })
    }

    /// The newest archived size, when it is past the current checkpoint: read the
    /// checkpoint again before calling that a rollback (see the module doc).
    pub fn ahead_of_checkpoint(&self) -> Option<u64> {
        self.sizes
            .last()
            .copied()
            .filter(|&s| s > self.current.size())
    }

    /// How many digests the archive holds.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The sizes of the digests checked, oldest first; their files are `digests/<size>`,
    /// to be fed in this order.
    pub fn digests(&self) -> &[u64] {
        &self.sizes
    }

    /// Takes the bytes of `digests/<size>`, the next in [`History::digests`]' order.
    /// After a failure, the history is over: [`History::finish`] reports it.
    pub fn feed_digest(
        &mut self,
        trust: &Trust,
        size: u64,
        bytes: &[u8],
    ) -> Result<(), &HistoryError> {
        if self.failure.is_none() {
            if let Err(e) = self.digest(trust, size, bytes) {
                self.failure = Some(e);
            }
        }
        self.failure.as_ref().map_or(Ok(()), Err)
    }

    fn digest(&mut self, trust: &Trust, size: u64, bytes: &[u8]) -> Result<(), HistoryError> {
        let next = self.sizes.get(self.digests.len()).copied();
        if next != Some(size) {
            return Err(HistoryError::Misuse(format!(
                "digest {size} fed, expected {}",
                next.map_or("none".to_owned(), |n| n.to_string())
            )));
        }
        let cp = trust
            .open_past_checkpoint(bytes)
            .map_err(|source| HistoryError::Digest { size, source })?;
        if cp.size() != size {
            return Err(HistoryError::WrongSize {
                size,
                found: cp.size(),
            });
        }
        if size > self.current.size() {
            // A rollback: the log once signed more than it signs now.
            let inc = check_consistency(&cp, &self.current, &[])
                .expect_err("a smaller newer checkpoint is a rollback");
            return Err(HistoryError::Consistency {
                older: size,
                newer: None,
                source: Box::new(ConsistencyError::Inconsistent(inc)),
            });
        }
        self.digests.push(cp);
        Ok(())
    }

    /// Each pair to prove, oldest first: the indices of the older and newer digest, the
    /// newer `None` for the current checkpoint.
    fn pairs(&self) -> Vec<(usize, Option<usize>)> {
        let n = self.digests.len();
        (1..n)
            .map(|i| (i - 1, Some(i)))
            .chain((n > 0).then(|| (n - 1, None)))
            .collect()
    }

    fn sizes_of(&self, (a, b): (usize, Option<usize>)) -> (u64, u64) {
        (
            self.digests[a].size(),
            b.map_or(self.current.size(), |b| self.digests[b].size()),
        )
    }

    /// Every hash tile the proofs read, each once, oldest pair first (once every digest
    /// was fed; none after a failure). Fetch them all at once.
    pub fn tiles(&self) -> Vec<TilePath> {
        if self.failure.is_some() || self.digests.len() < self.sizes.len() {
            return Vec::new();
        }
        let mut all: Vec<TilePath> = Vec::new();
        for pair in self.pairs() {
            let (s1, s2) = self.sizes_of(pair);
            // Sizes no larger than the tree: `needed` cannot refuse them.
            for p in self.proofs.needed(s1, s2).unwrap_or_default() {
                if !all.contains(&p) {
                    all.push(p);
                }
            }
        }
        all
    }

    /// Takes the bytes of a tile [`History::tiles`] named. A malformed tile fails the
    /// first pair whose proof reads it, at [`History::finish`].
    pub fn feed_tile(&mut self, path: TilePath, bytes: &[u8]) {
        if let Err(e) = self.proofs.feed(path, bytes) {
            if self.bad_tile.is_none() {
                self.bad_tile = Some(e);
            }
        }
    }

    /// Proves every pair, oldest first, and reports.
    pub fn finish(mut self) -> HistoryReport {
        let mut bad_tile = self.bad_tile.take();
        let mut report = HistoryReport {
            current: self.current.clone(),
            total: self.total,
            rows: Vec::new(),
            failure: None,
        };
        if let Some(f) = self.failure {
            // A digest failed: no proof was made.
            report.failure = Some(f);
            return report;
        }
        if self.digests.len() < self.sizes.len() {
            report.failure = Some(HistoryError::Misuse(format!(
                "finish after {} of {} digests",
                self.digests.len(),
                self.sizes.len()
            )));
            return report;
        }
        report.rows = self
            .digests
            .iter()
            .map(|cp| HistoryRow {
                checkpoint: cp.clone(),
                extends: None,
            })
            .collect();
        for pair @ (a, b) in self.pairs() {
            let (s1, s2) = self.sizes_of(pair);
            let old = &self.digests[a];
            let new = b.map_or(&self.current, |b| &self.digests[b]);
            // A pair whose proof reads the malformed tile finds it missing: that is the
            // tile's fault, not misuse.
            let checked = self.proofs.check(old, new).map_err(|e| match e {
                ConsistencyError::Misuse { .. } => bad_tile.take().unwrap_or(e),
                e => e,
            });
            if let Err(source) = checked {
                report.rows.truncate(a + 1);
                report.failure = Some(HistoryError::Consistency {
                    older: s1,
                    newer: b.map(|_| s2),
                    source: Box::new(source),
                });
                return report;
            }
            if let Some(b) = b {
                report.rows[b].extends = Some(s1);
            }
        }
        report
    }
}
