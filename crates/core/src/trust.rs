//! What a verifier trusts, and why, as data: the one place those rules live.
//!
//! A verifier starts from what its user gave it ([`TrustRequest`]: pinned log keys, an
//! expected origin, a level) and, where the log publishes one, the signed `metadata`
//! ([`crate::metadata`]). [`Trust::establish`] decides:
//!
//! - **The log keys.** Pinned keys if given ([`KeySource::Pinned`]); otherwise the keys
//!   the metadata names, trusted on first use ([`KeySource::FirstUse`]), which a verifier
//!   must say. Either way the metadata must be signed by those keys. Without pinned keys
//!   and without metadata there is nothing to trust ([`TrustError::NoKey`]).
//! - **The time key** (the publisher's cosignature key), from the metadata.
//! - **The origin.** Given, else the metadata's, else the first key's name.
//! - **The level.** Given, else the metadata's `entries` (events: the ledger level;
//!   opaque: the log level), else (no metadata: any C2SP log) the log level.
//! - **The witness requirement**, from the metadata: at least `threshold` of its keys
//!   must cosign every checkpoint.
//!
//! [`Trust::open_checkpoint`] then opens a signed checkpoint under that trust: every
//! signature by a key it knows (log, time, witnesses) must verify, at least one must be
//! the log key's, the origin must be the expected one, and the witness quorum must hold.
//! Verifiers (the CLI, the JS module, the page through it) call these two and nothing
//! else for trust.

use crate::checkpoint::{CheckpointError, VerifiedCheckpoint};
use crate::level::Level;
use crate::metadata::{Entries, Metadata, MetadataError};
use crate::note::{Note, NoteError, VerifierKey};
use crate::policy::Policy;

/// Where the log keys come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// Given by the user (a `--key`, a `keys` option, a key pinned on a first visit).
    Pinned,
    /// The ledger's own metadata, trusted on first use.
    FirstUse,
}

/// Why the level is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelRule {
    /// The user asked for it.
    Given,
    /// The metadata's `entries`.
    Metadata,
    /// No metadata: any C2SP log, opaque entries.
    NoMetadata,
}

/// What a verifier was told to trust.
#[derive(Clone, Debug, Default)]
pub struct TrustRequest {
    /// Pinned log keys (none: trust the metadata on first use).
    pub pinned: Vec<VerifierKey>,
    /// The expected origin.
    pub origin: Option<String>,
    /// The level to audit at.
    pub level: Option<Level>,
    /// A witness policy to enforce instead of the metadata's.
    pub policy: Option<Policy>,
}

/// Where the witness quorum comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuorumSource {
    /// Given by the user (`--policy`, a `policy` option).
    Pinned,
    /// The ledger's metadata (`policy`, or its `witnesses` threshold).
    Metadata,
}

/// What a verifier trusts, and why.
#[derive(Clone, Debug)]
pub struct Trust {
    /// Where the log keys come from.
    pub source: KeySource,
    /// The log keys: one of them must sign every checkpoint.
    pub log_keys: Vec<VerifierKey>,
    /// The publisher's time key, whose cosignature gives a checkpoint its signed time.
    pub time_key: Option<VerifierKey>,
    /// The expected origin.
    pub origin: String,
    /// The level to audit at.
    pub level: Level,
    /// Why that level.
    pub level_rule: LevelRule,
    /// The witness policy every checkpoint must meet, if any, and where it comes from.
    pub quorum: Option<(Policy, QuorumSource)>,
    /// How often the ledger says it publishes a digest.
    pub cadence_seconds: Option<u64>,
    /// The metadata, verified, if the log publishes one.
    pub metadata: Option<Metadata>,
}

/// Why trust could not be established, or a checkpoint does not verify under it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// No pinned key and no metadata to learn one from.
    #[error("the log publishes no metadata; pass its verifier key")]
    NoKey,
    /// The metadata is not a signed note.
    #[error("metadata: {0}")]
    MetadataNote(NoteError),
    /// The metadata's text is not valid.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The metadata is not signed by the log key.
    #[error("metadata is not signed by the log key: {0}")]
    MetadataSignature(NoteError),
    /// The checkpoint is malformed, a signature on it fails, or its origin is another.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint verified only with keys other than the log's.
    #[error("checkpoint is not signed by the log key")]
    NotSignedByLog,
    /// The witnesses that cosigned do not meet the quorum.
    #[error("checkpoint is cosigned by {found} of the policy's witnesses ({}); the quorum {rule} is not met", if cosigned.is_empty() { "none".to_owned() } else { cosigned.join(", ") })]
    Quorum {
        /// The quorum rule, e.g. `2 of (w1, w2, w3)`.
        rule: String,
        /// How many of the policy's witnesses cosigned.
        found: usize,
        /// Which did (their names in the policy).
        cosigned: Vec<String>,
        /// Which did not.
        missing: Vec<String>,
    },
}

impl Trust {
    /// Decides what to trust from `req` and the log's `metadata` note, if it has one.
    pub fn establish(req: &TrustRequest, metadata: Option<&[u8]>) -> Result<Trust, TrustError> {
        let Some(bytes) = metadata else {
            if req.pinned.is_empty() {
                return Err(TrustError::NoKey);
            }
            return Ok(Trust {
                source: KeySource::Pinned,
                log_keys: req.pinned.clone(),
                time_key: None,
                origin: req
                    .origin
                    .clone()
                    .unwrap_or_else(|| req.pinned[0].name().to_owned()),
                level: req.level.unwrap_or(Level::Log),
                level_rule: if req.level.is_some() {
                    LevelRule::Given
                } else {
                    LevelRule::NoMetadata
                },
                // No metadata: only a pinned policy applies (a plain C2SP log's witnesses).
                quorum: req.policy.clone().map(|p| (p, QuorumSource::Pinned)),
                cadence_seconds: None,
                metadata: None,
            });
        };
        let note = Note::parse(bytes).map_err(TrustError::MetadataNote)?;
        let (source, log_keys) = if req.pinned.is_empty() {
            // Trust on first use: the keys are the ones the metadata names, which must
            // then have signed it.
            let unverified = Metadata::parse(note.text_unverified())?;
            (KeySource::FirstUse, unverified.log_keys)
        } else {
            (KeySource::Pinned, req.pinned.clone())
        };
        let verified = note
            .verify(&log_keys)
            .map_err(TrustError::MetadataSignature)?;
        let meta = Metadata::parse(verified.text())?;
        let (level, level_rule) = match req.level {
            Some(l) => (l, LevelRule::Given),
            None => (
                match meta.entries {
                    Entries::Events => Level::Ledger,
                    Entries::Opaque => Level::Log,
                },
                LevelRule::Metadata,
            ),
        };
        Ok(Trust {
            source,
            log_keys,
            time_key: meta.time_key.clone(),
            origin: req.origin.clone().unwrap_or_else(|| meta.origin.clone()),
            level,
            level_rule,
            quorum: match (&req.policy, &meta.policy, &meta.witnesses) {
                (Some(p), _, _) => Some((p.clone(), QuorumSource::Pinned)),
                (None, Some(p), _) => Some((p.clone(), QuorumSource::Metadata)),
                (None, None, Some(w)) => Some((
                    Policy::threshold(&w.keys, w.threshold),
                    QuorumSource::Metadata,
                )),
                (None, None, None) => None,
            },
            cadence_seconds: meta.cadence_seconds,
            metadata: Some(meta),
        })
    }

    /// Every key whose signature on a checkpoint is checked: the log's, the time key,
    /// the witnesses'.
    pub fn checkpoint_keys(&self) -> Vec<VerifierKey> {
        let mut all = self.log_keys.clone();
        all.extend(self.time_key.iter().cloned());
        if let Some((p, _)) = &self.quorum {
            all.extend(p.witness_keys());
        }
        all
    }

    /// Opens a checkpoint of the log's past (an archived digest, one a verifier trusted
    /// before): every known signature on it must verify and one must be the log's, but the
    /// witness quorum is not asked of it. What the log signed is its commitment, witnessed
    /// or not: a fork between it and today's checkpoint is the log's fault either way, and
    /// a digest published before the ledger had witnesses has none. The quorum is asked of
    /// the checkpoint a verifier trusts now ([`Trust::open_checkpoint`]).
    pub fn open_past_checkpoint(&self, bytes: &[u8]) -> Result<VerifiedCheckpoint, TrustError> {
        let note = Note::parse(bytes)
            .and_then(|n| n.verify(&self.checkpoint_keys()))
            .map_err(|e| TrustError::Checkpoint(e.into()))?;
        if note.count_signed_by(&self.log_keys) == 0 {
            return Err(TrustError::NotSignedByLog);
        }
        Ok(VerifiedCheckpoint::from_note(note, &self.origin)?)
    }

    /// Opens a signed checkpoint under this trust (see the module doc), the witness quorum
    /// included.
    pub fn open_checkpoint(&self, bytes: &[u8]) -> Result<VerifiedCheckpoint, TrustError> {
        let cp = self.open_past_checkpoint(bytes)?;
        let note = cp.note();
        if let Some((p, _)) = &self.quorum {
            let keys: Vec<VerifierKey> = note.verified().iter().map(|v| v.key.clone()).collect();
            let r = p.evaluate(&keys);
            if !r.met {
                let names = |c: bool| -> Vec<String> {
                    r.witnesses
                        .iter()
                        .filter(|w| w.2 == c)
                        .map(|w| w.0.clone())
                        .collect()
                };
                let cosigned = names(true);
                return Err(TrustError::Quorum {
                    rule: r.rule.clone(),
                    found: cosigned.len(),
                    cosigned,
                    missing: names(false),
                });
            }
        }
        Ok(cp)
    }
}
