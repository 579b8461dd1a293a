//! C2SP tlog-checkpoint: the signed note body naming a log's size and root.
//!
//! ```text
//! example.com/log/testdata            origin
//! 15                                  tree size, canonical decimal
//! rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=   root hash, base64
//! [extension lines…]                  optional, preserved, never interpreted
//! ```
//!
//! The origin is checked against what the caller expects, which may differ from the key
//! name (the Go checksum database: origin `go.sum database tree`, key `sum.golang.org`).
//!
//! Invariant: a [`VerifiedCheckpoint`] was parsed from a [`VerifiedNote`] with the expected
//! origin; its fields are private.

use core::fmt;

use crate::hash::{cut, Hash, HashDecodeError};
use crate::note::{Note, NoteError, VerifiedNote, VerifierKey};

/// The largest checkpoint text accepted (the note cap applies too).
pub const MAX_CHECKPOINT_TEXT: usize = 64 * 1024;
/// The most extension lines accepted.
pub const MAX_EXTENSIONS: usize = 32;

/// A checkpoint is malformed or not the one expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note is bad.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// Too long.
    #[error("checkpoint text is {0} bytes, more than the 65536 allowed")]
    TooLarge(usize),
    /// Fewer than three lines.
    #[error("checkpoint has {0} lines, expected at least origin, size and root")]
    TooFewLines(usize),
    /// An empty origin line.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// The size line is not canonical decimal.
    #[error("checkpoint size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    /// The root line is not a base64 32-byte hash.
    #[error("checkpoint root is invalid: {0}")]
    BadRoot(HashDecodeError),
    /// An empty extension line, or too many.
    #[error("checkpoint extension line {0} is empty or beyond the 32 allowed")]
    BadExtension(usize),
    /// The text does not end in a newline.
    #[error("checkpoint text does not end in a newline")]
    NotTerminated,
    /// The origin is not the one the caller expects.
    #[error("checkpoint origin {found:?} does not match expected origin {expected:?}")]
    WrongOrigin {
        /// What the caller expects.
        expected: String,
        /// What the checkpoint says.
        found: String,
    },
}

/// The fields of a checkpoint body. Plain data: trust comes from [`VerifiedCheckpoint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// The number of entries.
    pub size: u64,
    /// The RFC 6962 root of those entries.
    pub root: Hash,
    /// Extension lines, in order, without newlines.
    pub extensions: Vec<String>,
}

/// Parses a canonical decimal u64: no sign, no leading zeros, no overflow.
pub fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

impl Checkpoint {
    /// Parses a checkpoint body (the note text).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        if text.len() > MAX_CHECKPOINT_TEXT {
            return Err(CheckpointError::TooLarge(text.len()));
        }
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::NotTerminated)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::TooFewLines(lines.len()));
        }
        if lines[0].is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size =
            parse_decimal(lines[1]).ok_or_else(|| CheckpointError::BadSize(cut(lines[1])))?;
        let root = Hash::from_base64(lines[2]).map_err(CheckpointError::BadRoot)?;
        let ext = &lines[3..];
        if ext.len() > MAX_EXTENSIONS {
            return Err(CheckpointError::BadExtension(MAX_EXTENSIONS + 1));
        }
        if let Some(i) = ext.iter().position(|l| l.is_empty()) {
            return Err(CheckpointError::BadExtension(i + 1));
        }
        Ok(Checkpoint {
            origin: lines[0].to_owned(),
            size,
            root,
            extensions: ext.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// The body text, as signed.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A checkpoint whose note verified under a key policy and whose origin is the expected
/// one. The note is kept as evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: VerifiedNote,
}

impl VerifiedCheckpoint {
    /// Parses and verifies a signed checkpoint: note, signatures by at least one of
    /// `keys`, body, origin.
    pub fn open(
        bytes: &[u8],
        keys: &[VerifierKey],
        expected_origin: &str,
    ) -> Result<Self, CheckpointError> {
        let note = Note::parse(bytes)?.verify(keys)?;
        Self::from_note(note, expected_origin)
    }

    /// The checkpoint in an already verified note.
    pub fn from_note(note: VerifiedNote, expected_origin: &str) -> Result<Self, CheckpointError> {
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin != expected_origin {
            return Err(CheckpointError::WrongOrigin {
                expected: cut(expected_origin),
                found: cut(&checkpoint.origin),
            });
        }
        Ok(VerifiedCheckpoint { checkpoint, note })
    }

    /// The origin.
    pub fn origin(&self) -> &str {
        &self.checkpoint.origin
    }
    /// The tree size.
    pub fn size(&self) -> u64 {
        self.checkpoint.size
    }
    /// The root hash.
    pub fn root(&self) -> Hash {
        self.checkpoint.root
    }
    /// Extension lines.
    pub fn extensions(&self) -> &[String] {
        &self.checkpoint.extensions
    }
    /// The parsed body.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
    /// The verified note (signatures, cosignature timestamps).
    pub fn note(&self) -> &VerifiedNote {
        &self.note
    }
    /// The signed note's bytes, exactly as verified: evidence to keep or download.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.note().to_bytes()
    }
}
