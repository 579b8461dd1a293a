//! The Live Ledger event: one log entry, an immutable signed fact in a hash chain.
//!
//! An event is a JSON object in RFC 8785 canonical form (see [`crate::jcs`]); the entry
//! bytes *are* that form, so one event has exactly one byte encoding. Fields:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `v` | 1 | format version |
//! | `seq` | integer | sequence number, equal to the entry's leaf index |
//! | `time` | RFC 3339 UTC | when it was written; never decreases along the log |
//! | `prev` | 64 hex | leaf hash of entry `seq − 1`; for `seq` 0, [`genesis_prev`] |
//! | `kind` | string | what happened (`payment`, …); `ledger.*` is reserved |
//! | `source` | string | the system it came from |
//! | `author` | `name+hash` | the author key that signed it |
//! | `key` | string, optional | the state key it sets (for [`Replay`]) |
//! | `body` | any JSON, optional | the payload |
//! | `commitment` | 64 hex, optional | instead of `body`: a salted commitment to it |
//! | `corrects` | `{"seq":n,"mode":"amend"\|"void"}`, optional | an earlier event it corrects |
//! | `sig` | base64 | Ed25519 over `"liveledger/event/v1\n" ‖ JCS(event without sig)` |
//!
//! Unknown fields are accepted and stay covered by the hash and the signature.
//! Governance (which keys may write) lives in the log itself: see [`Governance`].
//!
//! Invariant: [`UnverifiedEvent`] is only syntax; an event is a fact only once a
//! [`ChainVerifier`] has checked its place in the chain, its author and its signature.

use std::collections::{BTreeMap, BTreeSet};

use crate::b64;
use serde_json::{Map, Value};

use crate::hash::{cut, sha256_parts, Hash};
use crate::jcs::{self, JcsError, MAX_SAFE_INTEGER};
use crate::note::{SignerKey, VerifierKey, ALG_ED25519};
use crate::sigcheck::{SignatureCheck, StrictVerifier};
use crate::tiles::MAX_ENTRY_SIZE;
use crate::time::{TimeError, Timestamp};

mod chain;
mod draft;
mod governance;
mod replay;
pub use chain::*;
pub use draft::*;
pub use governance::*;
pub use replay::*;

/// The event format version this code reads and writes.
pub const FORMAT_VERSION: u64 = 1;
/// Prefix of the message an author signs.
pub const SIGNATURE_CONTEXT: &[u8] = b"liveledger/event/v1\n";
/// Prefix of the genesis `prev` hash.
pub const GENESIS_CONTEXT: &[u8] = b"liveledger/genesis/v1\n";
/// Prefix of a payload commitment.
pub const COMMITMENT_CONTEXT: &[u8] = b"liveledger/commitment/v1\n";
/// Kinds under this prefix are governance events with checked bodies.
pub const RESERVED_PREFIX: &str = "ledger.";
/// The first event of every ledger.
pub const KIND_GENESIS: &str = "ledger.genesis";
/// Adds an author key.
pub const KIND_KEY_ADD: &str = "ledger.key.add";
/// Revokes an author key.
pub const KIND_KEY_REVOKE: &str = "ledger.key.revoke";
/// Announces log signing keys added or retired (log key rotation).
pub const KIND_LOG_KEY: &str = "ledger.logkey";
/// The kind the publisher gives a correction it writes (`liveledger correct`); any kind
/// may correct, by its `corrects` member.
pub const KIND_CORRECTION: &str = "correction";
/// The source of the governance events the publisher writes.
pub const SOURCE_LIVELEDGER: &str = "liveledger";

const MAX_KIND: usize = 64;
const MAX_SOURCE: usize = 128;
const MAX_KEY: usize = 256;

/// The `prev` of event 0: `SHA-256("liveledger/genesis/v1\n" ‖ origin)`, which ties a
/// ledger's chain to its origin.
pub fn genesis_prev(origin: &str) -> Hash {
    sha256_parts(&[GENESIS_CONTEXT, origin.as_bytes()])
}

/// A salted commitment to a payload kept off the ledger:
/// `SHA-256("liveledger/commitment/v1\n" ‖ salt ‖ JCS(body))`.
pub fn commitment(salt: &[u8; 32], body: &Value) -> Result<Hash, JcsError> {
    let c = jcs::to_canonical(body)?;
    Ok(sha256_parts(&[COMMITMENT_CONTEXT, salt, c.as_bytes()]))
}

/// Whether a revealed `body` and `salt` open `commitment`.
pub fn opens(commitment_hash: &Hash, salt: &[u8; 32], body: &Value) -> bool {
    commitment(salt, body).is_ok_and(|c| &c == commitment_hash)
}

/// What an event carries.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// Nothing.
    None,
    /// A public JSON value.
    Body(Value),
    /// A commitment to a private value.
    Commitment(Hash),
}

/// How a correction changes the event it points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorrectionMode {
    /// The correction's payload replaces the corrected event's.
    Amend,
    /// The corrected event no longer counts.
    Void,
}

/// A pointer from a correction to the event it corrects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Correction {
    /// The corrected event.
    pub seq: u64,
    /// Amend or void.
    pub mode: CorrectionMode,
}

/// What a correction does to the event it corrects ([`EventDraft::correction`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// The event's payload, amended.
    Amend(Value),
    /// The event no longer counts.
    Void,
}

/// `{"key": …, "role": …}`: an author as governance bodies name one.
fn author_entry(key: &VerifierKey, role: Role) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("key".into(), Value::String(key.to_string()));
    m.insert("role".into(), Value::String(role.as_str().into()));
    m
}

/// A role an author key has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// May write events and govern keys.
    Admin,
    /// May write events.
    Writer,
}

impl Role {
    /// `admin` or `writer`; anything else is no role.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "writer" => Some(Role::Writer),
            _ => None,
        }
    }
    /// `admin` or `writer`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Writer => "writer",
        }
    }
}

/// An event is malformed, or breaks the rules of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    // --- malformed input ---
    /// Larger than an entry can be.
    #[error("event is {0} bytes, more than the 65535 an entry holds")]
    TooLarge(usize),
    /// Not canonical JSON.
    #[error("event is not canonical JSON: {0}")]
    Json(JcsError),
    /// Not a JSON object.
    #[error("event is not a JSON object")]
    NotObject,
    /// A required field is absent.
    #[error("event has no {0:?} field")]
    MissingField(&'static str),
    /// A field of the wrong type or form.
    #[error("event field {field:?} is {found}, expected {expected}")]
    BadField {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it is (cut).
        found: String,
    },
    /// A version this reader does not know.
    #[error("event format version {0} is not supported (this reader knows version 1)")]
    UnsupportedVersion(u64),
    /// A bad `time`.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// Both `body` and `commitment`.
    #[error("event has both a body and a commitment; it may have one")]
    BodyAndCommitment,
    /// A governance event with a bad body.
    #[error("{kind} event body is invalid: {why}")]
    BadGovernance {
        /// The event kind.
        kind: String,
        /// What is wrong.
        why: String,
    },
    // --- ledger misbehaviour (carry the evidence) ---
    /// `seq` is not the entry's index.
    #[error("event at index {index} says seq {found}")]
    SeqMismatch {
        /// The leaf index.
        index: u64,
        /// The `seq` field.
        found: u64,
    },
    /// `prev` does not name the previous entry.
    #[error(
        "event {seq} names previous hash {found}, but the previous entry hashes to {expected}"
    )]
    BrokenChain {
        /// The event.
        seq: u64,
        /// The hash of the previous entry (or the genesis hash).
        expected: Hash,
        /// The `prev` field.
        found: Hash,
    },
    /// Time went backwards.
    #[error("event {seq} has time {found}, earlier than the previous event's {previous}")]
    TimeWentBack {
        /// The event.
        seq: u64,
        /// The previous event's time.
        previous: Timestamp,
        /// This event's time.
        found: Timestamp,
    },
    /// Event 0 is not a genesis event, or a later one is.
    #[error("event {seq} is of kind {kind:?}; a ledger starts with exactly one ledger.genesis event at seq 0")]
    Genesis {
        /// The event.
        seq: u64,
        /// Its kind.
        kind: String,
    },
    /// The genesis event names another origin.
    #[error("genesis event names origin {found:?}, expected {expected:?}")]
    GenesisOrigin {
        /// The log's origin.
        expected: String,
        /// The genesis body's origin.
        found: String,
    },
    /// The author is not a key of the ledger.
    #[error("event {seq} is by {author}, which is not an author key of this ledger")]
    UnknownAuthor {
        /// The event.
        seq: u64,
        /// The `author` field.
        author: String,
    },
    /// The author key was revoked before this event.
    #[error("event {seq} is by {author}, revoked by event {revoked_at}")]
    RevokedAuthor {
        /// The event.
        seq: u64,
        /// The author.
        author: String,
        /// The revocation event.
        revoked_at: u64,
    },
    /// The author's role does not allow this kind.
    #[error("event {seq} of kind {kind:?} needs an admin key, but {author} is a {role}")]
    NotAuthorised {
        /// The event.
        seq: u64,
        /// The kind.
        kind: String,
        /// The author.
        author: String,
        /// Its role.
        role: &'static str,
    },
    /// The author's signature does not verify.
    #[error("event {seq}: signature by {author} does not verify")]
    BadSignature {
        /// The event.
        seq: u64,
        /// The author.
        author: String,
    },
    /// A correction of an event that is not earlier.
    #[error("event {seq} corrects event {target}, which is not earlier")]
    CorrectsLater {
        /// The correction.
        seq: u64,
        /// The corrected seq.
        target: u64,
    },
    /// A correction of a governance event (revoke keys instead).
    #[error("event {seq} corrects governance event {target}; governance is changed by new governance events, not corrections")]
    CorrectsGovernance {
        /// The correction.
        seq: u64,
        /// The corrected seq.
        target: u64,
    },
}

fn bad(field: &'static str, expected: &'static str, found: &Value) -> EventError {
    // Written by the canonical writer, which the event was read with.
    let s = crate::jcs::to_canonical(found).unwrap_or_else(|e| e.to_string());
    EventError::BadField {
        field,
        expected,
        found: s.chars().take(100).collect(),
    }
}

fn get<'a>(m: &'a Map<String, Value>, field: &'static str) -> Result<&'a Value, EventError> {
    m.get(field).ok_or(EventError::MissingField(field))
}

fn get_u64(m: &Map<String, Value>, field: &'static str) -> Result<u64, EventError> {
    let v = get(m, field)?;
    v.as_u64()
        .filter(|&n| n <= MAX_SAFE_INTEGER)
        .ok_or_else(|| bad(field, "a non-negative integer", v))
}

fn get_str<'a>(
    m: &'a Map<String, Value>,
    field: &'static str,
    max: usize,
) -> Result<&'a str, EventError> {
    let v = get(m, field)?;
    let s = v.as_str().ok_or_else(|| bad(field, "a string", v))?;
    if s.is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(bad(
            field,
            "a non-empty string without control characters, within the length limit",
            v,
        ));
    }
    Ok(s)
}

fn get_hash(m: &Map<String, Value>, field: &'static str) -> Result<Hash, EventError> {
    let v = get(m, field)?;
    v.as_str()
        .and_then(|s| Hash::from_hex(s).ok())
        .ok_or_else(|| bad(field, "64 lowercase hex digits", v))
}

/// `name+hash` of an author key (8 lowercase hex digits).
fn check_author(s: &str) -> bool {
    match s.split_once('+') {
        Some((name, id)) => {
            !name.is_empty()
                && !name.chars().any(|c| c.is_whitespace() || c == '+')
                && id.len() == 8
                && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        }
        None => false,
    }
}

fn check_kind(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b':'))
}

/// A parsed event. **Unverified**: its signature, author and place in the chain have
/// not been checked.
#[derive(Clone, Debug, PartialEq)]
pub struct UnverifiedEvent {
    /// Sequence number.
    pub seq: u64,
    /// Time written.
    pub time: Timestamp,
    /// Leaf hash of the previous entry.
    pub prev: Hash,
    /// The kind.
    pub kind: String,
    /// The source system.
    pub source: String,
    /// `name+hash` of the author key.
    pub author: String,
    /// The state key, if any.
    pub key: Option<String>,
    /// Body, commitment or nothing.
    pub payload: Payload,
    /// What it corrects, if anything.
    pub correction: Option<Correction>,
    /// The Ed25519 signature.
    pub signature: [u8; 64],
    /// The whole object, unknown fields included.
    pub object: Map<String, Value>,
    /// The entry it was parsed from: the object's canonical JSON.
    entry: Box<str>,
}

impl UnverifiedEvent {
    /// Parses an entry: size, canonical JSON, field types.
    pub fn parse(bytes: &[u8]) -> Result<Self, EventError> {
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(EventError::TooLarge(bytes.len()));
        }
        let v = jcs::parse_canonical(bytes).map_err(EventError::Json)?;
        // Canonical JSON is UTF-8 text (the reader refuses anything else): kept as such.
        let text = std::str::from_utf8(bytes)
            .map_err(|e| EventError::Json(JcsError::Syntax(format!("not UTF-8: {e}"))))?;
        let Value::Object(object) = v else {
            return Err(EventError::NotObject);
        };
        Self::from_object(object, text.into())
    }

    /// The entry this event was parsed from, as logged: the event's canonical JSON (what
    /// its leaf hash covers), without writing it again.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    fn from_object(object: Map<String, Value>, entry: Box<str>) -> Result<Self, EventError> {
        let m = &object;
        let version = get_u64(m, "v")?;
        if version != FORMAT_VERSION {
            return Err(EventError::UnsupportedVersion(version));
        }
        let seq = get_u64(m, "seq")?;
        let time_v = get(m, "time")?;
        let time = Timestamp::parse(
            time_v
                .as_str()
                .ok_or_else(|| bad("time", "a string", time_v))?,
        )?;
        let prev = get_hash(m, "prev")?;
        let kind = get_str(m, "kind", MAX_KIND)?;
        if !check_kind(kind) {
            return Err(bad("kind", "letters, digits and . _ - / :", &m["kind"]));
        }
        let source = get_str(m, "source", MAX_SOURCE)?;
        let author = get_str(m, "author", 200)?;
        if !check_author(author) {
            return Err(bad("author", "name+hash of an author key", &m["author"]));
        }
        let key = match m.get("key") {
            None => None,
            Some(_) => Some(get_str(m, "key", MAX_KEY)?.to_owned()),
        };
        let payload = match (m.get("body"), m.get("commitment")) {
            (Some(_), Some(_)) => return Err(EventError::BodyAndCommitment),
            (Some(b), None) => Payload::Body(b.clone()),
            (None, Some(_)) => Payload::Commitment(get_hash(m, "commitment")?),
            (None, None) => Payload::None,
        };
        let correction = match m.get("corrects") {
            None => None,
            Some(c) => {
                let expected = "{\"seq\": n, \"mode\": \"amend\" or \"void\"} and nothing else";
                let o = c
                    .as_object()
                    .filter(|o| o.len() == 2)
                    .ok_or_else(|| bad("corrects", expected, c))?;
                let seq = o
                    .get("seq")
                    .and_then(Value::as_u64)
                    .filter(|&n| n <= MAX_SAFE_INTEGER)
                    .ok_or_else(|| bad("corrects", expected, c))?;
                let mode = match o.get("mode").and_then(Value::as_str) {
                    Some("amend") => CorrectionMode::Amend,
                    Some("void") => CorrectionMode::Void,
                    _ => return Err(bad("corrects", expected, c)),
                };
                Some(Correction { seq, mode })
            }
        };
        let sig_v = get(m, "sig")?;
        let signature: [u8; 64] = sig_v
            .as_str()
            .and_then(|s| b64::decode(s).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("sig", "base64 of a 64-byte Ed25519 signature", sig_v))?;
        Ok(UnverifiedEvent {
            seq,
            time,
            prev,
            kind: kind.to_owned(),
            source: source.to_owned(),
            author: author.to_owned(),
            key,
            payload,
            correction,
            signature,
            object,
            entry,
        })
    }

    /// The message the author signed: the context string and the canonical event
    /// without its `sig` field.
    pub fn signed_message(&self) -> Vec<u8> {
        let mut m = self.object.clone();
        m.remove("sig");
        let mut out = SIGNATURE_CONTEXT.to_vec();
        // Cannot fail: the object was parsed from canonical JSON.
        out.extend_from_slice(
            jcs::to_canonical(&Value::Object(m))
                .unwrap_or_default()
                .as_bytes(),
        );
        out
    }

    /// [`signed_message`](Self::signed_message), cut from `entry`, the canonical bytes
    /// this event was parsed from, instead of canonicalising a copy of the object.
    ///
    /// Canonical members are written independently of each other, so the object without
    /// `sig` is the entry with the member `"sig":"…"` and one adjacent comma removed. The
    /// top-level member is always there; when its bytes occur exactly once, that
    /// occurrence is it. Otherwise (a body that repeats them) this falls back to
    /// canonicalising.
    pub fn signed_message_in(&self, entry: &[u8]) -> Vec<u8> {
        let member = match self.object.get("sig") {
            Some(v @ Value::String(_)) => jcs::to_canonical(v).map(|s| format!("\"sig\":{s}")),
            _ => return self.signed_message(),
        };
        let Ok(member) = member else {
            return self.signed_message();
        };
        let m = member.as_bytes();
        let mut at = entry
            .windows(m.len())
            .enumerate()
            .filter(|(_, w)| *w == m)
            .map(|(i, _)| i);
        let (Some(start), None) = (at.next(), at.next()) else {
            return self.signed_message();
        };
        let end = start + m.len();
        let (cut_from, cut_to) = if start > 0 && entry[start - 1] == b',' {
            (start - 1, end)
        } else if entry.get(end) == Some(&b',') {
            (start, end + 1)
        } else {
            (start, end)
        };
        let mut out = SIGNATURE_CONTEXT.to_vec();
        out.extend_from_slice(&entry[..cut_from]);
        out.extend_from_slice(&entry[cut_to..]);
        out
    }

    /// Checks the author's signature with `key` (strict Ed25519).
    pub fn verify_signature(&self, key: &VerifierKey) -> bool {
        self.verify_message(key, &self.signed_message())
    }

    /// [`verify_signature`](Self::verify_signature) for an event parsed from `entry`,
    /// without re-canonicalising it (see [`signed_message_in`](Self::signed_message_in)).
    pub fn verify_signature_in(&self, entry: &[u8], key: &VerifierKey) -> bool {
        self.verify_message(key, &self.signed_message_in(entry))
    }

    fn verify_message(&self, key: &VerifierKey, message: &[u8]) -> bool {
        key.key_type() == ALG_ED25519
            && key
                .ed25519()
                .is_some_and(|k| crate::sigcheck::verify_strict(k, &self.signature, message))
    }

    /// True for `ledger.*` kinds.
    pub fn is_governance(&self) -> bool {
        self.kind.starts_with(RESERVED_PREFIX)
    }
}
