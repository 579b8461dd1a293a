//! Continuing an audit on a later visit: what a verifier keeps of a finished audit (a
//! [`ResumePoint`]) and how it continues from it, reading only the new entries.
//!
//! A resume point is plain JSON (`liveledger/resume/v1`, below), kept by the verifier
//! itself (the page keeps it in the browser's storage). It is never trusted as it is:
//! [`Auditor::resume`] checks, before it reads anything new, that
//!
//! 1. it parses exactly, within [`MAX_RESUME_POINT`] bytes;
//! 2. its checkpoint verifies under today's trust (the log's keys and origin;
//!    [`Trust::open_past_checkpoint`]) and is for the level being audited;
//! 3. its right edge of the tree (the partial hash tiles, lowest level first, the ones
//!    its checkpoint's size has) recomputes that checkpoint's signed root: the edge is
//!    the tree's, hash for hash;
//! 4. at the ledger level, its governance events re-verify as a chain (their authority
//!    and signatures), and the last leaf hash is the edge's where the edge holds it.
//!
//! The audit then goes on as [`Auditor::extend`] does: the new root is recomputed from
//! the kept edge and the new entries, so a newer checkpoint that does not extend the kept
//! one fails (`RootMismatch`) even if no consistency proof was asked for first. A point
//! that fails a check is an error of its own ([`ResumeError`]): the verifier discards it,
//! says so, and audits from the start.
//!
//! The format, one JSON object:
//!
//! ```text
//! {"format": "liveledger/resume/v1",
//!  "level": "ledger" | "log",
//!  "checkpoint": "<the signed checkpoint, as served>",
//!  "edge": ["<base64 of the partial hash tile of level 0>", "<of level 1>", …],
//!  "prev": "<base64 leaf hash of the last entry>",          (ledger level)
//!  "last_time": "<RFC 3339 time of the last event>",          (ledger level)
//!  "governance": ["<base64 entry>", …]}                       (ledger level)
//! ```

use super::{Auditor, Level};
use crate::b64;
use crate::checkpoint::VerifiedCheckpoint;
use crate::event::{ChainVerifier, EventError};
use crate::hash::Hash;
use crate::tiles::{self, TilePath, TiledTree, TILE_WIDTH};
use crate::time::Timestamp;
use crate::trust::{Trust, TrustError};
use serde_json::{Map, Value};

/// The format's name, its first member.
pub const FORMAT: &str = "liveledger/resume/v1";

/// The largest resume point read (the edge is at most 255 hashes a level; governance
/// events are few).
pub const MAX_RESUME_POINT: usize = 1 << 20;

/// Why a resume point was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// It is not a resume point of this format (with what is wrong).
    #[error("not a {FORMAT} resume point: {0}")]
    Malformed(String),
    /// Its checkpoint does not verify under today's trust (another ledger or key).
    #[error("its checkpoint does not verify: {0}")]
    Checkpoint(TrustError),
    /// It was made for the other level.
    #[error("it was made for a {kept:?} audit, not {asked:?}")]
    Level {
        /// The level it was made for.
        kept: Level,
        /// The level asked for now.
        asked: Level,
    },
    /// Its edge does not recompute its checkpoint's root.
    #[error("its tree edge does not recompute the root of its checkpoint of size {size}")]
    Edge {
        /// The kept checkpoint's size.
        size: u64,
    },
    /// Its chain state does not verify (governance events, last hash).
    #[error("its chain state does not verify: {0}")]
    Chain(String),
    /// Today's checkpoint is not consistent with the kept one at a size no larger than
    /// it (a rollback, or another tree of the same size), with both checkpoints as
    /// evidence: an alarm, never a point to discard. (A larger newer checkpoint is proved
    /// with the log's tiles by the caller; a fork then also fails the resumed audit.)
    #[error(transparent)]
    Inconsistent(Box<super::Inconsistency>),
}

/// What a finished audit keeps for a later one (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumePoint {
    level: Level,
    checkpoint: Vec<u8>,
    /// The partial hash tiles, lowest level first.
    edge: Vec<Vec<u8>>,
    chain: Option<(Hash, Option<Timestamp>, Vec<Vec<u8>>)>,
}

impl ResumePoint {
    /// The size of the checkpoint it keeps.
    pub fn checkpoint(&self) -> &[u8] {
        &self.checkpoint
    }

    /// As JSON text.
    pub fn encode(&self) -> String {
        let mut m = Map::new();
        m.insert("format".into(), FORMAT.into());
        m.insert(
            "level".into(),
            match self.level {
                Level::Ledger => "ledger",
                Level::Log => "log",
            }
            .into(),
        );
        m.insert(
            "checkpoint".into(),
            String::from_utf8_lossy(&self.checkpoint)
                .into_owned()
                .into(),
        );
        m.insert(
            "edge".into(),
            self.edge
                .iter()
                .map(|t| Value::from(b64::encode(t)))
                .collect(),
        );
        if let Some((prev, time, gov)) = &self.chain {
            m.insert("prev".into(), prev.to_base64().into());
            m.insert(
                "last_time".into(),
                time.map_or(Value::Null, |t| t.to_string().into()),
            );
            m.insert(
                "governance".into(),
                gov.iter().map(|e| Value::from(b64::encode(e))).collect(),
            );
        }
        // Canonical JSON (the core's writer): nothing in it is out of its range.
        crate::jcs::to_canonical(&Value::Object(m)).unwrap_or_default()
    }

    /// Parses `text` strictly (no unknown member, every value typed).
    pub fn parse(text: &str) -> Result<ResumePoint, ResumeError> {
        let bad = |why: &str| ResumeError::Malformed(why.to_owned());
        if text.len() > MAX_RESUME_POINT {
            return Err(bad("larger than 1 MiB"));
        }
        let v: Value = crate::jcs::parse(text.as_bytes()).map_err(|e| bad(&e.to_string()))?;
        let m = v.as_object().ok_or_else(|| bad("not a JSON object"))?;
        let known = [
            "format",
            "level",
            "checkpoint",
            "edge",
            "prev",
            "last_time",
            "governance",
        ];
        if let Some(k) = m.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(bad(&format!("unknown member {k:?}")));
        }
        let text_of = |k: &str| m.get(k).and_then(Value::as_str);
        let base64s = |k: &str| -> Result<Vec<Vec<u8>>, ResumeError> {
            m.get(k)
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .map(|e| e.as_str().and_then(|e| b64::decode(e).ok()))
                        .collect()
                })
                .ok_or_else(|| bad(&format!("{k} is not a list of base64 strings")))
        };
        if text_of("format") != Some(FORMAT) {
            return Err(bad("no format member"));
        }
        let level = match text_of("level") {
            Some("ledger") => Level::Ledger,
            Some("log") => Level::Log,
            _ => return Err(bad("level is neither \"ledger\" nor \"log\"")),
        };
        let checkpoint = text_of("checkpoint")
            .ok_or_else(|| bad("no checkpoint"))?
            .as_bytes()
            .to_vec();
        let edge = base64s("edge")?;
        let chain = match level {
            Level::Log => None,
            Level::Ledger => {
                let prev = text_of("prev")
                    .and_then(|h| Hash::from_base64(h).ok())
                    .ok_or_else(|| bad("no prev hash"))?;
                let time = match m.get("last_time") {
                    None | Some(Value::Null) => None,
                    Some(t) => Some(
                        t.as_str()
                            .and_then(|t| Timestamp::parse(t).ok())
                            .ok_or_else(|| bad("last_time is not an RFC 3339 time"))?,
                    ),
                };
                Some((prev, time, base64s("governance")?))
            }
        };
        Ok(ResumePoint {
            level,
            checkpoint,
            edge,
            chain,
        })
    }
}

impl Auditor {
    /// What a later audit needs to continue from this one: only once it finished with no
    /// failure (and every deferred signature confirmed), for `checkpoint`, the one it
    /// audited.
    pub fn resume_point(&self, checkpoint: &VerifiedCheckpoint) -> Option<ResumePoint> {
        if !self.finished
            || self.failure.is_some()
            || !self.unconfirmed.is_empty()
            || checkpoint.size() != self.size
            || checkpoint.root() != self.root
        {
            return None;
        }
        let edge = self
            .tree
            .partial()
            .map(|(_, h)| tiles::encode_hash_tile(h))
            .collect();
        let chain = match (&self.chain, self.level) {
            (Some(c), Level::Ledger) => {
                Some((c.prev_hash(), c.last_time(), c.governance_events().to_vec()))
            }
            (_, Level::Log) => None,
            (None, Level::Ledger) => return None,
        };
        Some(ResumePoint {
            level: self.level,
            checkpoint: checkpoint.to_bytes(),
            edge,
            chain,
        })
    }

    /// An audit of `newer` that continues from `point` (see the module doc for what is
    /// checked first), reading only the entries after the kept checkpoint. Answers with
    /// the auditor and the kept checkpoint.
    pub fn resume(
        point: &ResumePoint,
        trust: &Trust,
        newer: &VerifiedCheckpoint,
        level: Level,
        check_tiles: bool,
    ) -> Result<(Auditor, VerifiedCheckpoint), ResumeError> {
        if point.level != level {
            return Err(ResumeError::Level {
                kept: point.level,
                asked: level,
            });
        }
        let kept = trust
            .open_past_checkpoint(&point.checkpoint)
            .map_err(ResumeError::Checkpoint)?;
        let size = kept.size();
        if newer.size() <= size {
            super::check_consistency(&kept, newer, &[]).map_err(ResumeError::Inconsistent)?;
        }
        // The partial hash tiles a tree of this size has, lowest level first.
        let paths: Vec<TilePath> = tiles::partial_tiles(size)
            .into_iter()
            .filter(|p| p.kind() != tiles::TileKind::Entries)
            .collect();
        if paths.len() != point.edge.len() {
            return Err(ResumeError::Edge { size });
        }
        let mut hashes = Vec::new();
        for (p, b) in paths.into_iter().zip(&point.edge) {
            let h = tiles::decode_hash_tile(p, b).map_err(|_| ResumeError::Edge { size })?;
            hashes.push((p, h));
        }
        let tree =
            TiledTree::from_partial_tiles(size, &hashes).map_err(|_| ResumeError::Edge { size })?;
        if tree.root() != kept.root() {
            return Err(ResumeError::Edge { size });
        }
        let chain = match (&point.chain, level) {
            (Some((prev, time, gov)), Level::Ledger) => {
                // Where the edge holds the last leaf hash, the kept one must be it.
                let edge_last = hashes
                    .iter()
                    .find(|(p, _)| p.kind() == tiles::TileKind::Hashes(0))
                    .and_then(|(_, h)| h.last().copied());
                if size % TILE_WIDTH != 0 && edge_last != Some(*prev) {
                    return Err(ResumeError::Chain(
                        "the last leaf hash is not the edge's".into(),
                    ));
                }
                let refs: Vec<&[u8]> = gov.iter().map(Vec::as_slice).collect();
                let c = ChainVerifier::resume(kept.origin(), &refs, size, *prev, *time)
                    .map_err(|e: EventError| ResumeError::Chain(e.to_string()))?;
                Some(c)
            }
            (None, Level::Log) => None,
            _ => return Err(ResumeError::Chain("no chain state".into())),
        };
        let mut a = Auditor::new(&kept, level, check_tiles);
        a.tree = tree;
        a.chain = chain;
        a.current = None;
        a.pending.clear();
        a.next_bundle = tiles::bundle_count(size);
        a.finished = true;
        a.stats = Default::default();
        a.extend(newer)
            .map_err(|f| ResumeError::Chain(f.to_string()))?;
        Ok((a, kept))
    }
}
