//! The streaming auditor, consistency between checkpoints, and single-entry checks.
//!
//! # Full audit
//! An [`Auditor`] is a state machine. It is created from a verified checkpoint, says
//! which file it needs next ([`Auditor::next_step`]), and is fed that file's bytes in
//! chunks as they arrive ([`Auditor::feed`], then [`Auditor::finish_step`]). It
//! recomputes every leaf hash, every tile (when asked to check tiles) and the root, and
//! at the ledger level checks every event. Memory stays O(log n + one entry): the right
//! edge of the tiled tree, the entry being decoded, and the chain state.
//!
//! The order of steps is fixed by the tree size: bundle 0, the tiles bundle 0 completes,
//! bundle 1, …, the last bundle, then the partial tiles. A client may prefetch ahead in
//! that order, but feeds in order.
//!
//! # Live following
//! [`Auditor::extend`] takes a newer checkpoint after a finished audit, and the audit goes
//! on with only the new entries: the partial bundle is fetched again and its already
//! verified prefix must hash as before. [`check_consistency`] checks a newer checkpoint
//! against an older one with a tile-based consistency proof, and returns an
//! [`Inconsistency`] carrying both signed checkpoints and the proof as evidence;
//! [`Consistency`] is that check as a step machine (the tiles to fetch, then the verdict),
//! the one walk every verifier uses.
//!
//! # A later visit
//! [`resume::ResumePoint`] is what a finished audit keeps; [`Auditor::resume`] checks it
//! against today's trust and the kept checkpoint's root, then reads only the new entries.
//!
//! # Digest history
//! [`history::History`] checks a ledger's digest archive: every archived digest signed by
//! the log, each extending the one before, the newest extending to today's checkpoint.
//!
//! # Split views
//! [`views::WitnessViews`] asks the quorum's witnesses what they hold and proves it
//! consistent with the log's checkpoint, either way round (a step machine too).

use std::collections::VecDeque;

mod consistency;
pub use consistency::{Consistency, ConsistencyError};
pub mod history;
mod inclusion;
pub mod resume;
pub mod views;
pub use inclusion::{Included, Inclusion, InclusionError};

use crate::bundle::{BundleDecoder, BundleError, FeedError};
use crate::checkpoint::VerifiedCheckpoint;
use crate::event::{ChainVerifier, EventError, Payload, PendingEvent, VerifiedEvent};
use crate::hash::{leaf_hash, Hash, HASH_SIZE};
use crate::merkle::{self, ProofError};
use crate::sigcheck::SignatureCheck;
use crate::tiles::{self, TilePath, TiledTree, TILE_WIDTH};

pub use crate::level::Level;

/// One file the auditor needs, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// An entry bundle.
    Bundle(TilePath),
    /// A hash tile, to compare with the recomputed one.
    Tile(TilePath),
}

impl Step {
    /// The tile or bundle path.
    pub fn path(&self) -> TilePath {
        match self {
            Step::Bundle(p) | Step::Tile(p) => *p,
        }
    }
}

/// Counts of what was checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Entries whose leaf hash was recomputed.
    pub entries: u64,
    /// Bundles fully read.
    pub bundles: u64,
    /// Hash tiles compared with the recomputed ones.
    pub tiles: u64,
    /// Bytes fed.
    pub bytes: u64,
    /// Event signatures verified (ledger level).
    pub signatures: u64,
    /// Events that are corrections.
    pub corrections: u64,
    /// Events whose payload is a commitment.
    pub commitments: u64,
    /// Governance events.
    pub governance: u64,
    /// Roots compared with a signed checkpoint.
    pub roots: u64,
}

/// Why an audit failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A bundle's framing is wrong.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// A served tile has the wrong length.
    #[error("tile {path} is {found} bytes, expected {expected}")]
    TileLength {
        /// The tile.
        path: TilePath,
        /// Its length for its width.
        expected: usize,
        /// The length served.
        found: usize,
    },
    /// A served tile differs from the one the entries give.
    #[error("tile {path} hash {position} is {found}, but the entries give {expected}")]
    TileMismatch {
        /// The tile.
        path: TilePath,
        /// The first differing hash in it.
        position: usize,
        /// The recomputed hash.
        expected: Hash,
        /// The served hash.
        found: Hash,
    },
    /// An event broke a ledger rule.
    #[error(transparent)]
    Event(#[from] EventError),
    /// The entries do not hash to the signed root.
    #[error(
        "the {size} entries hash to root {calculated}, but the signed checkpoint says {expected}"
    )]
    RootMismatch {
        /// The tree size.
        size: u64,
        /// The signed root.
        expected: Hash,
        /// The recomputed root.
        calculated: Hash,
    },
    /// An entry already verified in an earlier audit came back different.
    #[error("entry {index} changed since it was verified: it hashed to {expected}, now {found}")]
    EntryChanged {
        /// The entry.
        index: u64,
        /// Its leaf hash before.
        expected: Hash,
        /// Its leaf hash now.
        found: Hash,
    },
    /// A file the signed checkpoint commits to is not served (docs/FORMAT.md, "A file
    /// the log does not serve"): the audit cannot complete, and nothing past it holds.
    #[error("{path} is not served, but the signed checkpoint of size {size} commits to it")]
    NotServed {
        /// The file.
        path: TilePath,
        /// The checkpoint's size.
        size: u64,
    },
    /// The API was used out of order (a bug in the caller, not the log).
    #[error("auditor misuse: {0}")]
    Misuse(&'static str),
}

/// Where an audit failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file being read.
    pub step: Option<Step>,
    /// The bundle (segment) index, if in or about one.
    pub bundle: Option<u64>,
    /// The entry (= event seq) index, if about one.
    pub entry: Option<u64>,
}

/// The first failure of an audit, with its location and evidence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error} ({})", describe(.location))]
pub struct AuditFailure {
    /// Where.
    pub location: Location,
    /// What, with expected and found values.
    pub error: AuditError,
}

fn describe(l: &Location) -> String {
    let mut parts = Vec::new();
    if let Some(s) = l.step {
        parts.push(format!("reading {}", s.path()));
    }
    if let Some(b) = l.bundle {
        parts.push(format!("segment {b}"));
    }
    if let Some(e) = l.entry {
        parts.push(format!("entry {e}"));
    }
    if parts.is_empty() {
        "at the end of the audit".into()
    } else {
        parts.join(", ")
    }
}

/// The outcome of an audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    /// The log's origin.
    pub origin: String,
    /// The audited size.
    pub size: u64,
    /// The audited root.
    pub root: Hash,
    /// What was checked.
    pub level: Level,
    /// Counts.
    pub stats: AuditStats,
    /// `None` if everything verified.
    pub failure: Option<AuditFailure>,
}

/// The streaming auditor. See the module documentation.
#[derive(Debug)]
pub struct Auditor {
    origin: String,
    size: u64,
    root: Hash,
    level: Level,
    check_tiles: bool,
    tree: TiledTree,
    chain: Option<ChainVerifier>,
    /// Next bundle to read.
    next_bundle: u64,
    /// Entries at the start of the next bundle that were verified before (after extend).
    skip: u64,
    /// Tiles recomputed and waiting to be compared with the served ones.
    pending: VecDeque<(TilePath, Vec<Hash>)>,
    current: Option<Current>,
    stats: AuditStats,
    failure: Option<AuditFailure>,
    finished: bool,
    /// Deferred mode: signature checks are handed out, not made.
    defer: bool,
    /// Checks not yet taken by the caller.
    handed: Vec<SignatureCheck>,
    /// Events waiting for their verdicts, in order.
    unconfirmed: VecDeque<PendingEvent>,
}

#[derive(Debug)]
enum Current {
    Bundle {
        path: TilePath,
        decoder: BundleDecoder,
    },
    Tile {
        path: TilePath,
        expected: Vec<Hash>,
        buf: Vec<u8>,
    },
}

impl Auditor {
    /// An audit of the log up to `checkpoint`. `check_tiles` also fetches every hash tile
    /// and compares it with the recomputed one (so the proofs the log serves others are
    /// checked too).
    pub fn new(checkpoint: &VerifiedCheckpoint, level: Level, check_tiles: bool) -> Self {
        let mut a = Auditor {
            origin: checkpoint.origin().to_owned(),
            size: checkpoint.size(),
            root: checkpoint.root(),
            level,
            check_tiles,
            tree: TiledTree::new(),
            chain: (level == Level::Ledger).then(|| ChainVerifier::new(checkpoint.origin())),
            next_bundle: 0,
            skip: 0,
            pending: VecDeque::new(),
            current: None,
            stats: AuditStats::default(),
            failure: None,
            finished: false,
            defer: false,
            handed: Vec::new(),
            unconfirmed: VecDeque::new(),
        };
        a.settle();
        a
    }

    /// Hands event signature checks out instead of making them (ledger level): see
    /// [`take_signature_checks`](Self::take_signature_checks) and
    /// [`confirm_signatures`](Self::confirm_signatures). Call before feeding.
    pub fn defer_signatures(&mut self) {
        self.defer = true;
    }

    /// The signature checks handed out since the last call, in log order (deferred mode).
    /// Each event is verified only once its verdict is confirmed.
    pub fn take_signature_checks(&mut self) -> Vec<SignatureCheck> {
        std::mem::take(&mut self.handed)
    }

    /// Events whose signature verdict is still awaited (deferred mode).
    pub fn unconfirmed(&self) -> usize {
        self.unconfirmed.len()
    }

    /// Reports the verdicts on the oldest checks handed out, in the order they were handed
    /// out; `on_event` gets each event now verified. A false verdict fails the audit at
    /// that event ([`EventError::BadSignature`]); it also replaces a failure found later in
    /// the log, since everything after a bad signature was checked on a false premise.
    pub fn confirm_signatures(
        &mut self,
        verdicts: &[bool],
        on_event: &mut dyn FnMut(&VerifiedEvent),
    ) -> Result<(), Box<AuditFailure>> {
        for &holds in verdicts {
            let Some(pending) = self.unconfirmed.pop_front() else {
                return Err(self.fail(
                    AuditError::Misuse("more verdicts than signature checks"),
                    None,
                    None,
                ));
            };
            let seq = pending.seq();
            match pending.confirm(holds) {
                Ok(ev) => {
                    if self.failure.is_none() {
                        self.count_event(&ev);
                        on_event(&ev);
                    }
                }
                Err(e) => {
                    let earlier = match &self.failure {
                        None => true,
                        Some(f) => {
                            !matches!(f.error, AuditError::Misuse(_))
                                && f.location.entry.is_none_or(|at| at >= seq)
                        }
                    };
                    if earlier {
                        let bundle = seq / TILE_WIDTH;
                        let f = AuditFailure {
                            location: Location {
                                step: tiles::bundle_at(self.size, bundle).ok().map(Step::Bundle),
                                bundle: Some(bundle),
                                entry: Some(seq),
                            },
                            error: AuditError::Event(e),
                        };
                        self.failure = Some(f);
                        self.current = None;
                    }
                    self.unconfirmed.clear();
                    self.handed.clear();
                    break;
                }
            }
        }
        self.failure.clone().map_or(Ok(()), |f| Err(Box::new(f)))
    }

    fn count_event(&mut self, ev: &VerifiedEvent) {
        count_event(&mut self.stats, ev);
    }

    /// The checked size so far (entries verified; in deferred mode, without those whose
    /// signature verdict is awaited).
    pub fn verified_entries(&self) -> u64 {
        self.tree.size() - self.unconfirmed.len() as u64
    }

    /// The size being audited to.
    pub fn target_size(&self) -> u64 {
        self.size
    }

    /// Counts so far.
    pub fn stats(&self) -> &AuditStats {
        &self.stats
    }

    /// The chain verifier (ledger level): governance state, last time.
    pub fn chain(&self) -> Option<&ChainVerifier> {
        self.chain.as_ref()
    }

    /// The first failure, if any. After a failure every call fails the same way.
    pub fn failure(&self) -> Option<&AuditFailure> {
        self.failure.as_ref()
    }

    /// True when everything up to the target size verified (in deferred mode, every
    /// signature confirmed too).
    pub fn is_done(&self) -> bool {
        self.finished && self.failure.is_none() && self.unconfirmed.is_empty()
    }

    /// The file to feed next, or `None` when done or failed.
    pub fn next_step(&self) -> Option<Step> {
        if self.failure.is_some() {
            return None;
        }
        match &self.current {
            Some(Current::Bundle { path, .. }) => Some(Step::Bundle(*path)),
            Some(Current::Tile { path, .. }) => Some(Step::Tile(*path)),
            None => None,
        }
    }

    /// The steps after the current one, as far as known now (for prefetching): the
    /// remaining bundles, in order. Tiles are named by [`next_step`](Self::next_step) as
    /// they come due.
    pub fn upcoming_bundles(&self) -> impl Iterator<Item = TilePath> + '_ {
        let start = self.next_bundle;
        let size = self.size;
        (start..tiles::bundle_count(size)).filter_map(move |i| tiles::bundle_at(size, i).ok())
    }

    /// Every step from the current one on, in the order the audit will ask for them,
    /// tiles included (for prefetching: a verifier can keep the next few files in flight).
    /// Lazy; the first item is [`next_step`](Self::next_step)'s path.
    pub fn upcoming_steps(&self) -> impl Iterator<Item = TilePath> + '_ {
        let size = self.size;
        let check = self.check_tiles;
        let count = tiles::bundle_count(size);
        let current_tile = match &self.current {
            Some(Current::Tile { path, .. }) => Some(*path),
            _ => None,
        };
        let start = if self.failure.is_some() || self.finished {
            count
        } else {
            self.next_bundle
        };
        let later = (start..count).flat_map(move |i| {
            let mut v: Vec<TilePath> = Vec::new();
            if let Ok(b) = tiles::bundle_at(size, i) {
                v.push(b);
            }
            if check {
                v.extend(tiles::tiles_completed_by_bundle(size, i));
                if i + 1 == count {
                    v.extend(
                        tiles::partial_tiles(size)
                            .into_iter()
                            .filter(|p| matches!(p.kind(), tiles::TileKind::Hashes(_))),
                    );
                }
            }
            v
        });
        current_tile
            .into_iter()
            .chain(self.pending.iter().map(|(p, _)| *p))
            .chain(later)
    }

    fn fail(
        &mut self,
        error: AuditError,
        bundle: Option<u64>,
        entry: Option<u64>,
    ) -> Box<AuditFailure> {
        let f = AuditFailure {
            location: Location {
                step: self.next_step(),
                bundle,
                entry,
            },
            error,
        };
        self.failure = Some(f.clone());
        self.current = None;
        Box::new(f)
    }

    /// Sets up the next step, or finishes.
    fn settle(&mut self) {
        if self.current.is_some() || self.failure.is_some() || self.finished {
            return;
        }
        if let Some((path, expected)) = self.pending.pop_front() {
            self.current = Some(Current::Tile {
                path,
                expected,
                buf: Vec::with_capacity(path.hash_tile_len()),
            });
            return;
        }
        if self.next_bundle < tiles::bundle_count(self.size) {
            if let Ok(path) = tiles::bundle_at(self.size, self.next_bundle) {
                self.current = Some(Current::Bundle {
                    path,
                    decoder: BundleDecoder::new(path.width()),
                });
                return;
            }
        }
        // All bundles read: the root must match.
        let calculated = self.tree.root();
        if calculated != self.root {
            let e = AuditError::RootMismatch {
                size: self.size,
                expected: self.root,
                calculated,
            };
            self.fail(e, None, None);
            return;
        }
        self.stats.roots += 1;
        self.finished = true;
    }

    /// Feeds the next chunk of the current step's file.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Box<AuditFailure>> {
        self.feed_with(chunk, &mut |_| {})
    }

    /// Feeds a chunk; `on_event` is called with each event verified (ledger level).
    pub fn feed_with(
        &mut self,
        chunk: &[u8],
        on_event: &mut dyn FnMut(&VerifiedEvent),
    ) -> Result<(), Box<AuditFailure>> {
        if let Some(f) = &self.failure {
            return Err(Box::new(f.clone()));
        }
        self.stats.bytes += chunk.len() as u64;
        match self.current.take() {
            None => Err(self.fail(AuditError::Misuse("feed with no step pending"), None, None)),
            Some(Current::Tile {
                path,
                expected,
                mut buf,
            }) => {
                if buf.len() + chunk.len() > path.hash_tile_len() {
                    self.current = Some(Current::Tile {
                        path,
                        expected,
                        buf,
                    });
                    let e = AuditError::TileLength {
                        path,
                        expected: path.hash_tile_len(),
                        found: self.current_tile_len() + chunk.len(),
                    };
                    return Err(self.fail(e, Some(tile_bundle(path)), None));
                }
                buf.extend_from_slice(chunk);
                self.current = Some(Current::Tile {
                    path,
                    expected,
                    buf,
                });
                Ok(())
            }
            Some(Current::Bundle { path, mut decoder }) => {
                let base = path.index() * TILE_WIDTH;
                let skip = self.skip;
                let tree = &mut self.tree;
                let chain = &mut self.chain;
                let stats = &mut self.stats;
                let pending = &mut self.pending;
                let check_tiles = self.check_tiles;
                let defer = self.defer;
                let handed = &mut self.handed;
                let unconfirmed = &mut self.unconfirmed;
                let r = decoder.feed(chunk, |i, entry| {
                    let index = base + i;
                    let leaf = leaf_hash(entry);
                    if i < skip {
                        let expected = level0_hash(tree, i as usize);
                        if expected != Some(leaf) {
                            return Err(AuditError::EntryChanged {
                                index,
                                expected: expected.unwrap_or_default(),
                                found: leaf,
                            });
                        }
                        return Ok(());
                    }
                    if let Some(c) = chain.as_mut() {
                        if defer {
                            let (pending, check) = c.check_deferred(entry, leaf)?;
                            handed.push(check);
                            unconfirmed.push_back(pending);
                        } else {
                            let ev = c.check(entry, leaf)?;
                            count_event(stats, &ev);
                            on_event(&ev);
                        }
                    }
                    tree.push(leaf, |p, h| {
                        if check_tiles {
                            pending.push_back((p, h.to_vec()));
                        }
                    });
                    stats.entries += 1;
                    Ok(())
                });
                let done = decoder.entries_done();
                self.current = Some(Current::Bundle { path, decoder });
                match r {
                    Ok(()) => Ok(()),
                    Err(FeedError::Bundle(e)) => {
                        Err(self.fail(e.into(), Some(path.index()), Some(base + done)))
                    }
                    Err(FeedError::Entry(e)) => {
                        Err(self.fail(e, Some(path.index()), Some(base + done)))
                    }
                }
            }
        }
    }

    fn current_tile_len(&self) -> usize {
        match &self.current {
            Some(Current::Tile { buf, .. }) => buf.len(),
            _ => 0,
        }
    }

    /// Declares the current step's file complete, and checks it.
    pub fn finish_step(&mut self) -> Result<(), Box<AuditFailure>> {
        if let Some(f) = &self.failure {
            return Err(Box::new(f.clone()));
        }
        match self.current.take() {
            None => Err(self.fail(
                AuditError::Misuse("finish_step with no step pending"),
                None,
                None,
            )),
            Some(Current::Bundle { path, decoder }) => {
                if let Err(e) = decoder.finish() {
                    let entry = path.index() * TILE_WIDTH + decoder.entries_done();
                    self.current = Some(Current::Bundle { path, decoder });
                    return Err(self.fail(e.into(), Some(path.index()), Some(entry)));
                }
                self.stats.bundles += 1;
                self.skip = 0;
                self.next_bundle += 1;
                if self.next_bundle == tiles::bundle_count(self.size) && self.check_tiles {
                    // The partial tiles of the target size come last.
                    for (p, h) in self.tree.partial() {
                        self.pending.push_back((p, h.to_vec()));
                    }
                }
                self.settle();
                self.failure.clone().map_or(Ok(()), |f| Err(Box::new(f)))
            }
            Some(Current::Tile {
                path,
                expected,
                buf,
            }) => {
                if buf.len() != path.hash_tile_len() {
                    let e = AuditError::TileLength {
                        path,
                        expected: path.hash_tile_len(),
                        found: buf.len(),
                    };
                    self.current = Some(Current::Tile {
                        path,
                        expected,
                        buf,
                    });
                    return Err(self.fail(e, Some(tile_bundle(path)), None));
                }
                for (i, (want, got)) in expected.iter().zip(buf.chunks_exact(HASH_SIZE)).enumerate()
                {
                    if want.0 != got {
                        self.current = Some(Current::Tile {
                            path,
                            expected: Vec::new(),
                            buf: Vec::new(),
                        });
                        let e = AuditError::TileMismatch {
                            path,
                            position: i,
                            expected: *want,
                            found: Hash::from_slice(got).unwrap_or_default(),
                        };
                        let first_leaf = tile_first_leaf(path, i);
                        return Err(self.fail(e, first_leaf.map(|l| l / TILE_WIDTH), first_leaf));
                    }
                }
                self.stats.tiles += 1;
                self.settle();
                self.failure.clone().map_or(Ok(()), |f| Err(Box::new(f)))
            }
        }
    }

    /// Declares that the log does not serve the current step's file (a 404, or no such
    /// file or object): the audit fails there with [`AuditError::NotServed`], located at
    /// the file's segment. A fetch that failed for another reason (a 5xx, a timeout) is
    /// not this: the caller reports that as its own, and may try again.
    pub fn not_served(&mut self) -> Box<AuditFailure> {
        if let Some(f) = &self.failure {
            return Box::new(f.clone());
        }
        let (path, bundle) = match &self.current {
            Some(Current::Bundle { path, .. }) => (*path, path.index()),
            Some(Current::Tile { path, .. }) => (*path, tile_bundle(*path)),
            None => {
                return self.fail(
                    AuditError::Misuse("not_served with no step pending"),
                    None,
                    None,
                )
            }
        };
        let e = AuditError::NotServed {
            path,
            size: self.size,
        };
        self.fail(e, Some(bundle), None)
    }

    /// Feeds a whole file and finishes the step.
    pub fn feed_all(&mut self, bytes: &[u8]) -> Result<(), Box<AuditFailure>> {
        self.feed(bytes)?;
        self.finish_step()
    }

    /// Continues a finished audit to a newer checkpoint of the same log. The caller should
    /// have checked consistency first ([`check_consistency`]); the audit re-derives the
    /// new root from the entries anyway, so an inconsistent log fails here too.
    pub fn extend(&mut self, newer: &VerifiedCheckpoint) -> Result<(), Box<AuditFailure>> {
        if let Some(f) = &self.failure {
            return Err(Box::new(f.clone()));
        }
        if !self.finished {
            return Err(self.fail(
                AuditError::Misuse("extend before the audit finished"),
                None,
                None,
            ));
        }
        if newer.origin() != self.origin || newer.size() < self.size {
            return Err(self.fail(
                AuditError::Misuse("extend to another log or a smaller size"),
                None,
                None,
            ));
        }
        if newer.size() == self.size {
            if newer.root() != self.root {
                let e = AuditError::RootMismatch {
                    size: self.size,
                    expected: newer.root(),
                    calculated: self.root,
                };
                return Err(self.fail(e, None, None));
            }
            return Ok(());
        }
        self.next_bundle = self.size / TILE_WIDTH;
        self.skip = self.size % TILE_WIDTH;
        self.size = newer.size();
        self.root = newer.root();
        self.finished = false;
        self.settle();
        Ok(())
    }

    /// The report so far.
    pub fn report(&self) -> AuditReport {
        AuditReport {
            origin: self.origin.clone(),
            size: self.size,
            root: self.root,
            level: self.level,
            stats: self.stats,
            failure: self.failure.clone(),
        }
    }
}

fn count_event(stats: &mut AuditStats, ev: &VerifiedEvent) {
    stats.signatures += 1;
    let e = ev.event();
    stats.corrections += u64::from(e.correction.is_some());
    stats.commitments += u64::from(matches!(e.payload, Payload::Commitment(_)));
    stats.governance += u64::from(e.is_governance());
}

fn level0_hash(tree: &TiledTree, i: usize) -> Option<Hash> {
    tree.partial()
        .find(|(p, _)| p.kind() == tiles::TileKind::Hashes(0))
        .and_then(|(_, h)| h.get(i).copied())
}

fn tile_first_leaf(path: TilePath, position: usize) -> Option<u64> {
    let tiles::TileKind::Hashes(level) = path.kind() else {
        return None;
    };
    let per_hash_shift = level as u32 * 8;
    let first = path.first_leaf()?;
    (position as u64)
        .checked_shl(per_hash_shift)
        .and_then(|o| first.checked_add(o))
}

fn tile_bundle(path: TilePath) -> u64 {
    path.first_leaf().map_or(0, |l| l / TILE_WIDTH)
}

/// Why a newer checkpoint is not a valid successor of an older one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InconsistencyKind {
    /// The newer checkpoint is smaller: the log rolled back.
    #[error("rollback: the log shrank from {old_size} to {new_size} entries")]
    Rollback {
        /// The size trusted before.
        old_size: u64,
        /// The size now.
        new_size: u64,
    },
    /// Same size, different root, or a consistency proof that fails: a fork.
    #[error("fork: {0}")]
    Fork(ProofError),
    /// Another origin.
    #[error("origin changed from {old:?} to {new:?}")]
    OriginChanged {
        /// The old origin.
        old: String,
        /// The new origin.
        new: String,
    },
}

/// Evidence that a log is not append-only: both signed checkpoints and the proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct Inconsistency {
    /// What went wrong.
    pub kind: InconsistencyKind,
    /// The older signed checkpoint, as verified.
    pub old_checkpoint: Vec<u8>,
    /// The newer signed checkpoint, as verified.
    pub new_checkpoint: Vec<u8>,
    /// The consistency proof that was checked.
    pub proof: Vec<Hash>,
}

/// Checks that `new` extends `old` with `proof` (from
/// [`tiles::consistency_proof_from_tiles`] on the tiles of `new.size()`).
pub fn check_consistency(
    old: &VerifiedCheckpoint,
    new: &VerifiedCheckpoint,
    proof: &[Hash],
) -> Result<(), Box<Inconsistency>> {
    let evidence = |kind| {
        Box::new(Inconsistency {
            kind,
            old_checkpoint: old.to_bytes(),
            new_checkpoint: new.to_bytes(),
            proof: proof.to_vec(),
        })
    };
    if old.origin() != new.origin() {
        return Err(evidence(InconsistencyKind::OriginChanged {
            old: old.origin().into(),
            new: new.origin().into(),
        }));
    }
    if new.size() < old.size() {
        return Err(evidence(InconsistencyKind::Rollback {
            old_size: old.size(),
            new_size: new.size(),
        }));
    }
    if old.size() == 0 {
        if old.root() != crate::hash::empty_root() {
            return Err(evidence(InconsistencyKind::Fork(
                ProofError::RootMismatch {
                    expected: crate::hash::empty_root(),
                    calculated: old.root(),
                },
            )));
        }
        return Ok(());
    }
    merkle::verify_consistency(old.size(), new.size(), &old.root(), &new.root(), proof)
        .map_err(|e| evidence(InconsistencyKind::Fork(e)))
}

/// Checks that `entry` is entry `index` of the log at `checkpoint`, with an inclusion
/// proof (from [`tiles::inclusion_proof_from_tiles`]).
pub fn check_inclusion(
    checkpoint: &VerifiedCheckpoint,
    index: u64,
    entry: &[u8],
    proof: &[Hash],
) -> Result<(), ProofError> {
    merkle::verify_inclusion(
        index,
        checkpoint.size(),
        &leaf_hash(entry),
        proof,
        &checkpoint.root(),
    )
}
