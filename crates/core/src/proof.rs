//! C2SP tlog-proof: an offline-verifiable receipt that an entry is in a log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64: the entry itself, for Live Ledger receipts>
//! index <N>
//! <inclusion proof hashes, base64, one per line, leaf sibling first>
//!
//! <the signed checkpoint, verbatim>
//! ```
//! The `extra` data is not trusted by itself: a receipt verifies only if the entry's leaf
//! hash, the proof and the signed checkpoint's root agree.

use crate::b64;

use crate::checkpoint::{parse_decimal, CheckpointError, VerifiedCheckpoint};
use crate::hash::{cut, leaf_hash, Hash};
use crate::merkle::{self, ProofError};
use crate::note::VerifierKey;

/// The first line of a tlog-proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// The largest receipt accepted.
pub const MAX_RECEIPT: usize = 1_100_000;

/// A receipt is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// Not a tlog-proof.
    #[error("receipt is malformed: {0}")]
    Malformed(String),
    /// The receipt carries no entry and none was given.
    #[error("receipt has no entry (no extra line) and none was given")]
    NoEntry,
    /// The checkpoint does not verify.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof does not verify.
    #[error("inclusion proof does not verify: {0}")]
    Proof(#[from] ProofError),
}

/// A parsed receipt, **unverified**.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Opaque extra data (for Live Ledger: the entry).
    pub extra: Option<Vec<u8>>,
    /// The entry's index.
    pub index: u64,
    /// The inclusion proof.
    pub proof: Vec<Hash>,
    /// The signed checkpoint's bytes.
    pub checkpoint: Vec<u8>,
}

impl Receipt {
    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self, ReceiptError> {
        let bad = |why: &str| ReceiptError::Malformed(why.to_owned());
        if text.len() > MAX_RECEIPT {
            return Err(bad("larger than 1.1 MB"));
        }
        let blank = text
            .as_bytes()
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let (head, checkpoint) = (&text[..blank], &text[blank + 2..]);
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| bad("no index line"))?;
        let mut extra = None;
        if let Some(e) = line.strip_prefix("extra ") {
            extra = Some(b64::decode(e).map_err(|_| bad("extra is not base64"))?);
            line = lines.next().ok_or_else(|| bad("no index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or_else(|| {
                ReceiptError::Malformed(format!("expected `index N`, found {:?}", cut(line)))
            })?;
        let proof = lines
            .map(|l| {
                Hash::from_base64(l)
                    .map_err(|e| ReceiptError::Malformed(format!("proof line {:?}: {e}", cut(l))))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > 64 {
            return Err(bad("more than 64 proof hashes"));
        }
        Ok(Receipt {
            extra,
            index,
            proof,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(e) = &self.extra {
            s.push_str(&format!("extra {}\n", b64::encode(e)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&String::from_utf8_lossy(&self.checkpoint));
        s
    }

    /// Verifies offline: the checkpoint under `keys` and `origin`, then the inclusion of
    /// `entry` (or the `extra` data) at `index`. Returns the checkpoint and the entry.
    pub fn verify(
        &self,
        keys: &[VerifierKey],
        origin: &str,
        entry: Option<&[u8]>,
    ) -> Result<(VerifiedCheckpoint, Vec<u8>), ReceiptError> {
        let cp = VerifiedCheckpoint::open(&self.checkpoint, keys, origin)?;
        let entry = entry
            .or(self.extra.as_deref())
            .ok_or(ReceiptError::NoEntry)?;
        merkle::verify_inclusion(
            self.index,
            cp.size(),
            &leaf_hash(entry),
            &self.proof,
            &cp.root(),
        )?;
        Ok((cp, entry.to_vec()))
    }
}
