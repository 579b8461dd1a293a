//! The codes a verdict is reported with: one list, the same in `liveledger verify --json`,
//! the JS module's `LedgerError.code` (its TypeScript union is [`Code::TYPESCRIPT`], made
//! from the same list) and the page's alarms.
//!
//! Each error of the core maps to its code here, so no verifier decides on its own that a
//! failure is a fork or a tampering.

use crate::audit::ConsistencyError;
use crate::audit::{AuditError, AuditFailure, Inconsistency, InconsistencyKind};
use crate::checkpoint::CheckpointError;
use crate::note::NoteError;
use crate::trust::TrustError;

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $text:literal,)*) => {
        /// A verdict's code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $($(#[$doc])* $name,)*
        }

        impl Code {
            /// Every code, in this order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The codes as a TypeScript declaration, made from this same list: the JS
            /// module's `LedgerErrorCode` (`never` is the empty union's start).
            pub const TYPESCRIPT: &'static str = concat!(
                "/** A verdict's code: liveledger-core's `verdict::Code`, one list for every verifier. */\n",
                "export type LedgerErrorCode = never"
                $(, " | \"", $text, "\"")*,
                ";"
            );

            /// The code as written on the wire (`"TAMPERED"`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $text,)*
                }
            }

            /// The code written as `s`, if it is one.
            pub fn parse(s: &str) -> Option<Code> {
                match s {
                    $($text => Some(Code::$name),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    /// Malformed input: a key, an option, the metadata, a checkpoint's text.
    BadInput = "BAD_INPUT",
    /// A signature does not verify, or the log key did not sign.
    BadSignature = "BAD_SIGNATURE",
    /// The checkpoint is for another origin.
    WrongOrigin = "WRONG_ORIGIN",
    /// No key to verify with: none given and no metadata.
    NoKey = "NO_KEY",
    /// A file could not be fetched or read.
    FetchFailed = "FETCH_FAILED",
    /// A file the log must serve is not there.
    NotFound = "NOT_FOUND",
    /// The log's data does not match what was signed.
    Tampered = "TAMPERED",
    /// Two histories: a checkpoint that does not extend one verified before.
    Fork = "FORK",
    /// A smaller checkpoint than one verified before.
    Rollback = "ROLLBACK",
    /// An inclusion proof that does not verify.
    InclusionFailed = "INCLUSION_FAILED",
    /// The caller aborted.
    Aborted = "ABORTED",
    /// The checkpoint verified before (`since`) does not verify under the ledger's trust.
    BadSince = "BAD_SINCE",
    /// Fewer witnesses cosigned than the ledger's metadata requires.
    Quorum = "QUORUM",
    /// The newest digest is older than allowed.
    Stale = "STALE",
    /// A key pinned on a first visit no longer verifies the ledger (the page).
    KeyChanged = "KEY_CHANGED",
    /// The digest archive is damaged (the page's history).
    BadArchive = "BAD_ARCHIVE",
}

impl core::fmt::Display for Code {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The code of a note error: a signature that fails, or malformed input.
pub fn note_code(e: &NoteError) -> Code {
    match e {
        NoteError::BadSignature { .. }
        | NoteError::NotEnoughSignatures { .. }
        | NoteError::DuplicateSignature { .. } => Code::BadSignature,
        _ => Code::BadInput,
    }
}

/// The code of a checkpoint error.
pub fn checkpoint_code(e: &CheckpointError) -> Code {
    match e {
        CheckpointError::Note(n) => note_code(n),
        CheckpointError::WrongOrigin { .. } => Code::WrongOrigin,
        _ => Code::BadInput,
    }
}

/// The code of a trust error.
pub fn trust_code(e: &TrustError) -> Code {
    match e {
        TrustError::NoKey => Code::NoKey,
        TrustError::MetadataNote(_) | TrustError::Metadata(_) => Code::BadInput,
        TrustError::MetadataSignature(_) | TrustError::NotSignedByLog => Code::BadSignature,
        TrustError::Checkpoint(c) => checkpoint_code(c),
        TrustError::Quorum { .. } => Code::Quorum,
    }
}

/// The code of an inconsistency: a rollback, or a fork (another origin included).
pub fn inconsistency_code(e: &Inconsistency) -> Code {
    match e.kind {
        InconsistencyKind::Rollback { .. } => Code::Rollback,
        _ => Code::Fork,
    }
}

/// The code of a failed consistency check.
pub fn consistency_code(e: &ConsistencyError) -> Code {
    match e {
        ConsistencyError::Inconsistent(i) => inconsistency_code(i),
        ConsistencyError::BadTile { .. } => Code::Tampered,
        _ => Code::BadInput,
    }
}

/// The code of a failed inclusion proof of one entry.
pub fn inclusion_code(e: &crate::audit::InclusionError) -> Code {
    use crate::audit::InclusionError as E;
    match e {
        E::NotIncluded { .. } => Code::InclusionFailed,
        E::BadBundle { .. } | E::BadTile { .. } => Code::Tampered,
        _ => Code::BadInput,
    }
}

/// The code a verifier shows for `code` when the log keys it checked with were remembered
/// from an earlier visit (the page pins the key it trusted on a first visit): a signature
/// that no longer verifies under them is a changed key (`KEY_CHANGED`), which the
/// operator must announce, not a mere bad signature. Keys the caller passed keep the code.
pub fn with_remembered_keys(code: Code, remembered: bool) -> Code {
    match code {
        Code::BadSignature if remembered => Code::KeyChanged,
        c => c,
    }
}

/// The code of a failed digest history.
pub fn history_code(e: &crate::audit::history::HistoryError) -> Code {
    use crate::audit::history::HistoryError as E;
    match e {
        E::Digest { source, .. } => trust_code(source),
        E::WrongSize { .. } => Code::Tampered,
        E::Consistency { source, .. } => consistency_code(source),
        E::Index(_) => Code::BadArchive,
        E::Misuse(_) => Code::BadInput,
    }
}

/// The alarm a failed digest history raises: a fork or a rollback is an alarm of its own;
/// anything else (a digest the log did not sign, one not where the index says, a bad
/// tile, a malformed index) is a damaged archive, and says nothing of the live ledger.
pub fn history_alarm(e: &crate::audit::history::HistoryError) -> Code {
    match history_code(e) {
        c @ (Code::Fork | Code::Rollback) => c,
        _ => Code::BadArchive,
    }
}

/// The code of an audit failure: the log's data does not match what was signed (an
/// event's signature included), unless the auditor was misused.
pub fn audit_code(f: &AuditFailure) -> Code {
    match f.error {
        AuditError::Misuse(_) => Code::BadInput,
        // Not served is not proof of tampering: anything on the way (a CDN, a proxy) can
        // answer 404. The audit fails, for the log's duty to serve it (docs/FORMAT.md).
        AuditError::NotServed { .. } => Code::NotFound,
        _ => Code::Tampered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bad_signature_under_remembered_keys_is_a_changed_key() {
        for &c in Code::ALL {
            let want = if c == Code::BadSignature {
                Code::KeyChanged
            } else {
                c
            };
            assert_eq!(with_remembered_keys(c, true), want, "{c}");
            assert_eq!(with_remembered_keys(c, false), c, "{c}");
        }
    }
}
