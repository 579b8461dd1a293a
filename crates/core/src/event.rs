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

/// What an author asks to append; the writer fills in `seq`, `time` and `prev`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventDraft {
    /// The kind.
    pub kind: String,
    /// The source system.
    pub source: String,
    /// The state key, if any.
    pub key: Option<String>,
    /// Body or commitment.
    pub body: Option<Value>,
    /// A commitment instead of a body.
    pub commitment: Option<Hash>,
    /// What it corrects.
    pub correction: Option<Correction>,
    /// Further fields, kept as they are.
    pub extra: Map<String, Value>,
}

/// Why a JSON object is not an event draft (see [`EventDraft::from_object`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DraftError {
    /// A field the writer fills in was given.
    #[error("field {0:?} is filled in by liveledger; leave it out")]
    FilledIn(&'static str),
    /// A field that must be a string is not.
    #[error("field {field:?} must be a string, found {found}")]
    NotString {
        /// The field.
        field: &'static str,
        /// What was found (cut to 100 characters).
        found: String,
    },
    /// No `kind`.
    #[error("no \"kind\" field")]
    NoKind,
    /// No `source`, and no default.
    #[error("no \"source\" field (or pass --source)")]
    NoSource,
    /// Both a body and a private payload.
    #[error("an event has a \"body\" or a \"private\" payload, not both")]
    BodyAndPrivate,
    /// `corrects` is not `{"seq": n, "mode": "amend" | "void"}`.
    #[error("\"corrects\" must be {{\"seq\": n, \"mode\": \"amend\" or \"void\"}}")]
    BadCorrection,
}

/// Fields of an event that the writer fills in, never the author.
pub const FILLED_IN: [&str; 6] = ["v", "seq", "time", "prev", "author", "sig"];

impl EventDraft {
    /// The draft an author's JSON object asks for: the rules every way into a ledger
    /// shares (`liveledger append`'s lines, `correct`, the demo, later ingestion). `kind`
    /// and `source` (else `default_source`) are strings, `key` is an optional string,
    /// `body` or `private` (not both), `corrects` is `{"seq", "mode"}`, the fields the
    /// writer fills in ([`FILLED_IN`]) are refused, and any other field is kept.
    ///
    /// A `private` payload is returned beside the draft: the caller commits to it with a
    /// salt of its own (the core takes no randomness) and sets
    /// [`EventDraft::commitment`].
    pub fn from_object(
        mut m: Map<String, Value>,
        default_source: Option<&str>,
    ) -> Result<(EventDraft, Option<Value>), DraftError> {
        if let Some(f) = FILLED_IN.into_iter().find(|f| m.contains_key(*f)) {
            return Err(DraftError::FilledIn(f));
        }
        let mut take_str = |field: &'static str| -> Result<Option<String>, DraftError> {
            match m.remove(field) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(other) => Err(DraftError::NotString {
                    field,
                    found: cut(&jcs::to_canonical(&other).unwrap_or_default()),
                }),
            }
        };
        let kind = take_str("kind")?.ok_or(DraftError::NoKind)?;
        let source = match take_str("source")? {
            Some(s) => s,
            None => default_source
                .map(str::to_owned)
                .ok_or(DraftError::NoSource)?,
        };
        let key = take_str("key")?;
        let body = m.remove("body");
        let private = m.remove("private");
        if body.is_some() && private.is_some() {
            return Err(DraftError::BodyAndPrivate);
        }
        let correction = match m.remove("corrects") {
            None => None,
            Some(c) => {
                let seq = c.get("seq").and_then(Value::as_u64);
                let mode = match c.get("mode").and_then(Value::as_str) {
                    Some("amend") => Some(CorrectionMode::Amend),
                    Some("void") => Some(CorrectionMode::Void),
                    _ => None,
                };
                match (seq, mode) {
                    (Some(seq), Some(mode)) => Some(Correction { seq, mode }),
                    _ => return Err(DraftError::BadCorrection),
                }
            }
        };
        let draft = EventDraft {
            kind,
            source,
            key,
            body,
            commitment: None,
            correction,
            extra: m,
        };
        Ok((draft, private))
    }

    /// The genesis event of a ledger for `origin`: its first admin and its log key, the
    /// governance the chain starts from (docs/FORMAT.md, "Governance").
    pub fn genesis(origin: &str, admin: &VerifierKey, log_key: &VerifierKey) -> EventDraft {
        let mut body = Map::new();
        body.insert("origin".into(), Value::String(origin.to_owned()));
        body.insert(
            "keys".into(),
            Value::Array(vec![Value::Object(author_entry(admin, Role::Admin))]),
        );
        body.insert(
            "log_keys".into(),
            Value::Array(vec![Value::String(log_key.to_string())]),
        );
        EventDraft::governance(KIND_GENESIS, body)
    }

    /// A `ledger.key.add` event: `key` may write from the next event on, as `role`.
    pub fn key_add(key: &VerifierKey, role: Role) -> EventDraft {
        EventDraft::governance(KIND_KEY_ADD, author_entry(key, role))
    }

    fn governance(kind: &str, body: Map<String, Value>) -> EventDraft {
        EventDraft {
            kind: kind.into(),
            source: SOURCE_LIVELEDGER.into(),
            body: Some(Value::Object(body)),
            ..Default::default()
        }
    }

    /// A correction of `target`: an amended payload (under the target's key), or a void;
    /// from the target's source, with `reason` kept in its `reason` member.
    pub fn correction(
        target: &UnverifiedEvent,
        change: Change,
        reason: Option<&str>,
    ) -> EventDraft {
        let (mode, key, body) = match change {
            Change::Amend(body) => (CorrectionMode::Amend, target.key.clone(), Some(body)),
            Change::Void => (CorrectionMode::Void, None, None),
        };
        let mut extra = Map::new();
        if let Some(r) = reason {
            extra.insert("reason".into(), Value::String(r.to_owned()));
        }
        EventDraft {
            kind: KIND_CORRECTION.into(),
            source: target.source.clone(),
            key,
            body,
            commitment: None,
            correction: Some(Correction {
                seq: target.seq,
                mode,
            }),
            extra,
        }
    }

    /// Signs the draft as event `seq` and returns its canonical bytes, parsing them back
    /// to be sure they are a valid event.
    pub fn sign(
        &self,
        seq: u64,
        time: Timestamp,
        prev: Hash,
        author: &SignerKey,
    ) -> Result<Vec<u8>, EventError> {
        let bytes = self.sign_unparsed(seq, time, prev, author)?;
        UnverifiedEvent::parse(&bytes)?;
        Ok(bytes)
    }

    /// [`sign`](Self::sign) without parsing the result back, for a writer that passes
    /// every event it signs through a [`ChainVerifier`] anyway (which parses it, and more)
    /// before writing it, as `liveledger append` does on a second core.
    pub fn sign_unparsed(
        &self,
        seq: u64,
        time: Timestamp,
        prev: Hash,
        author: &SignerKey,
    ) -> Result<Vec<u8>, EventError> {
        let mut m = self.extra.clone();
        let s = |x: &str| Value::String(x.to_owned());
        m.insert("v".into(), Value::from(FORMAT_VERSION));
        m.insert("seq".into(), Value::from(seq));
        m.insert("time".into(), s(&time.to_string()));
        m.insert("prev".into(), s(&prev.to_hex()));
        m.insert("kind".into(), s(&self.kind));
        m.insert("source".into(), s(&self.source));
        m.insert("author".into(), s(&author.verifier().short()));
        if let Some(k) = &self.key {
            m.insert("key".into(), s(k));
        }
        if let Some(b) = &self.body {
            m.insert("body".into(), b.clone());
        }
        if let Some(c) = &self.commitment {
            m.insert("commitment".into(), s(&c.to_hex()));
        }
        if let Some(c) = &self.correction {
            let mode = match c.mode {
                CorrectionMode::Amend => "amend",
                CorrectionMode::Void => "void",
            };
            m.insert(
                "corrects".into(),
                serde_json::json!({"seq": c.seq, "mode": mode}),
            );
        }
        m.remove("sig");
        let unsigned = jcs::to_canonical(&Value::Object(m.clone())).map_err(EventError::Json)?;
        let mut msg = SIGNATURE_CONTEXT.to_vec();
        msg.extend_from_slice(unsigned.as_bytes());
        let sig = author.sign_raw(&msg).map_err(|e| EventError::BadField {
            field: "author",
            expected: "an Ed25519 signing key",
            found: e.to_string(),
        })?;
        m.insert("sig".into(), s(&b64::encode(sig)));
        let bytes = jcs::to_canonical(&Value::Object(m))
            .map_err(EventError::Json)?
            .into_bytes();
        Ok(bytes)
    }
}

/// An author key and its standing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorKey {
    /// The key.
    pub key: VerifierKey,
    /// Its role.
    pub role: Role,
    /// The event that added it.
    pub added_at: u64,
    /// The event that revoked it, if any.
    pub revoked_at: Option<u64>,
}

/// A log signing key announced in the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogKey {
    /// The key.
    pub key: VerifierKey,
    /// The event that announced it.
    pub added_at: u64,
    /// The event that retired it, if any.
    pub retired_at: Option<u64>,
}

/// Who may write, as the governance events so far say.
///
/// - `ledger.genesis` (seq 0 only) — body `{"origin": o, "keys": [{"key": vkey, "role":
///   "admin"|"writer"}, …], "log_keys": [vkey, …]}`; signed by an admin key it lists.
/// - `ledger.key.add` — body `{"key": vkey, "role": r}`; signed by an active admin.
/// - `ledger.key.revoke` — body `{"key": "name+hash"}`; signed by an active admin; the
///   last active admin cannot be revoked. Earlier events by the key stay valid.
/// - `ledger.logkey` — body `{"add": [vkey, …], "retire": ["name+hash", …]}`; signed by
///   an active admin: announces log signing key rotation inside the log, so a verifier that
///   trusts the old key learns the new one from a checkpoint the old key signed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Governance {
    authors: Vec<AuthorKey>,
    log_keys: Vec<LogKey>,
    /// Sequence numbers of governance events (they cannot be corrected).
    governance_seqs: Vec<u64>,
}

fn gov_err(kind: &str, why: impl Into<String>) -> EventError {
    EventError::BadGovernance {
        kind: kind.to_owned(),
        why: why.into(),
    }
}

impl Governance {
    /// Every author key ever added.
    pub fn authors(&self) -> &[AuthorKey] {
        &self.authors
    }
    /// Every log key announced.
    pub fn log_keys(&self) -> &[LogKey] {
        &self.log_keys
    }
    /// The author key with this `name+hash`.
    pub fn author(&self, short: &str) -> Option<&AuthorKey> {
        self.authors.iter().find(|a| a.key.short() == short)
    }
    /// Whether `seq` is a governance event.
    pub fn is_governance_seq(&self, seq: u64) -> bool {
        self.governance_seqs.binary_search(&seq).is_ok()
    }

    fn parse_vkey(kind: &str, v: Option<&Value>) -> Result<VerifierKey, EventError> {
        let s = v
            .and_then(Value::as_str)
            .ok_or_else(|| gov_err(kind, "key is not a string"))?;
        let k = VerifierKey::parse(s).map_err(|e| gov_err(kind, e.to_string()))?;
        if k.key_type() != ALG_ED25519 {
            return Err(gov_err(kind, "key is not an Ed25519 (type 0x01) key"));
        }
        Ok(k)
    }

    fn add_author(
        &mut self,
        kind: &str,
        key: VerifierKey,
        role: Role,
        seq: u64,
    ) -> Result<(), EventError> {
        if self.author(&key.short()).is_some() {
            return Err(gov_err(
                kind,
                format!("key {} was already added", key.short()),
            ));
        }
        self.authors.push(AuthorKey {
            key,
            role,
            added_at: seq,
            revoked_at: None,
        });
        Ok(())
    }

    fn add_log_keys(&mut self, kind: &str, v: Option<&Value>, seq: u64) -> Result<(), EventError> {
        let Some(v) = v else { return Ok(()) };
        let a = v
            .as_array()
            .ok_or_else(|| gov_err(kind, "log keys are not a list"))?;
        for k in a {
            let key = Self::parse_vkey(kind, Some(k))?;
            if self.log_keys.iter().any(|l| l.key == key) {
                return Err(gov_err(
                    kind,
                    format!("log key {} was already announced", key.short()),
                ));
            }
            self.log_keys.push(LogKey {
                key,
                added_at: seq,
                retired_at: None,
            });
        }
        Ok(())
    }

    /// Applies a governance event whose signature is verified.
    fn apply(&mut self, ev: &UnverifiedEvent, origin: &str) -> Result<(), EventError> {
        let kind = ev.kind.as_str();
        let Payload::Body(Value::Object(b)) = &ev.payload else {
            return Err(gov_err(kind, "body must be a public JSON object"));
        };
        match kind {
            KIND_GENESIS => {
                let o = b.get("origin").and_then(Value::as_str).unwrap_or_default();
                if o != origin {
                    return Err(EventError::GenesisOrigin {
                        expected: cut(origin),
                        found: cut(o),
                    });
                }
                let keys = b
                    .get("keys")
                    .and_then(Value::as_array)
                    .ok_or_else(|| gov_err(kind, "keys is not a list"))?;
                for k in keys {
                    let key = Self::parse_vkey(kind, k.get("key"))?;
                    let role = k
                        .get("role")
                        .and_then(Value::as_str)
                        .and_then(Role::parse)
                        .ok_or_else(|| gov_err(kind, "role is not admin or writer"))?;
                    self.add_author(kind, key, role, ev.seq)?;
                }
                self.add_log_keys(kind, b.get("log_keys"), ev.seq)?;
            }
            KIND_KEY_ADD => {
                let key = Self::parse_vkey(kind, b.get("key"))?;
                let role = b
                    .get("role")
                    .and_then(Value::as_str)
                    .and_then(Role::parse)
                    .ok_or_else(|| gov_err(kind, "role is not admin or writer"))?;
                self.add_author(kind, key, role, ev.seq)?;
            }
            KIND_KEY_REVOKE => {
                let short = b
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| gov_err(kind, "key is not a string"))?;
                let admins = self
                    .authors
                    .iter()
                    .filter(|a| a.role == Role::Admin && a.revoked_at.is_none())
                    .count();
                let a = self
                    .authors
                    .iter_mut()
                    .find(|a| a.key.short() == short && a.revoked_at.is_none())
                    .ok_or_else(|| {
                        gov_err(kind, format!("{} is not an active author key", cut(short)))
                    })?;
                if a.role == Role::Admin && admins == 1 {
                    return Err(gov_err(kind, "the last active admin key cannot be revoked"));
                }
                a.revoked_at = Some(ev.seq);
            }
            KIND_LOG_KEY => {
                self.add_log_keys(kind, b.get("add"), ev.seq)?;
                if let Some(r) = b.get("retire") {
                    let r = r
                        .as_array()
                        .ok_or_else(|| gov_err(kind, "retire is not a list"))?;
                    for s in r {
                        let s = s.as_str().unwrap_or_default();
                        let l = self
                            .log_keys
                            .iter_mut()
                            .find(|l| l.key.short() == s && l.retired_at.is_none())
                            .ok_or_else(|| {
                                gov_err(kind, format!("{} is not an active log key", cut(s)))
                            })?;
                        l.retired_at = Some(ev.seq);
                    }
                }
            }
            other => {
                return Err(gov_err(
                    other,
                    "unknown governance kind (ledger.* is reserved)",
                ))
            }
        }
        self.governance_seqs.push(ev.seq);
        Ok(())
    }
}

/// An event whose chain position, author and signature were checked.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedEvent {
    event: UnverifiedEvent,
    leaf: Hash,
}

impl VerifiedEvent {
    /// The event's fields.
    pub fn event(&self) -> &UnverifiedEvent {
        &self.event
    }
    /// The RFC 6962 leaf hash of its entry (what the next event's `prev` names).
    pub fn leaf_hash(&self) -> Hash {
        self.leaf
    }
}

/// An event whose chain position and author were checked, waiting for the verdict on
/// its signature ([`ChainVerifier::check_deferred`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PendingEvent {
    event: UnverifiedEvent,
    leaf: Hash,
}

impl PendingEvent {
    /// The event's index.
    pub fn seq(&self) -> u64 {
        self.event.seq
    }
    /// The verified event when `signature_holds` (the verdict on the [`SignatureCheck`]
    /// handed out with it), else [`EventError::BadSignature`].
    pub fn confirm(self, signature_holds: bool) -> Result<VerifiedEvent, EventError> {
        if signature_holds {
            Ok(VerifiedEvent {
                event: self.event,
                leaf: self.leaf,
            })
        } else {
            Err(EventError::BadSignature {
                seq: self.event.seq,
                author: self.event.author,
            })
        }
    }
}

/// Checks events in log order: the chain, time order, authors and signatures, and
/// corrections. Memory: the governance state only (O(number of keys)), never the events.
#[derive(Clone, Debug)]
pub struct ChainVerifier {
    origin: String,
    next: u64,
    prev: Hash,
    last_time: Option<Timestamp>,
    governance: Governance,
    /// The governance events so far, as entries (a few): what [`ChainVerifier::resume`]
    /// takes to continue elsewhere.
    governance_events: Vec<Vec<u8>>,
    keys: StrictVerifier,
}

impl ChainVerifier {
    /// A verifier for the ledger with this checkpoint origin.
    pub fn new(origin: &str) -> Self {
        ChainVerifier {
            origin: origin.to_owned(),
            next: 0,
            prev: genesis_prev(origin),
            last_time: None,
            governance: Governance::default(),
            governance_events: Vec::new(),
            keys: StrictVerifier::new(),
        }
    }

    /// Resumes at the tip of a ledger whose entries were verified before: `next` entries
    /// so far, the last one hashing to `prev` and written at `last_time`, with the
    /// governance events among them given in order (their authority and signatures are
    /// checked again). A writer uses this to restart without re-reading the whole log.
    pub fn resume(
        origin: &str,
        governance_events: &[&[u8]],
        next: u64,
        prev: Hash,
        last_time: Option<Timestamp>,
    ) -> Result<Self, EventError> {
        let mut g = Governance::default();
        for (i, bytes) in governance_events.iter().enumerate() {
            let ev = UnverifiedEvent::parse(bytes)?;
            if (i == 0) != (ev.kind == KIND_GENESIS) || !ev.is_governance() || ev.seq >= next {
                return Err(EventError::Genesis {
                    seq: ev.seq,
                    kind: cut(&ev.kind),
                });
            }
            let mut after = g.clone();
            after.apply(&ev, origin)?;
            // Genesis is checked against the keys it lists; later events against before.
            let authority = if i == 0 { &after } else { &g };
            let a = authority
                .author(&ev.author)
                .ok_or_else(|| EventError::UnknownAuthor {
                    seq: ev.seq,
                    author: ev.author.clone(),
                })?;
            if a.role != Role::Admin || a.revoked_at.is_some_and(|r| r < ev.seq) {
                return Err(EventError::NotAuthorised {
                    seq: ev.seq,
                    kind: cut(&ev.kind),
                    author: ev.author.clone(),
                    role: a.role.as_str(),
                });
            }
            if !ev.verify_signature_in(bytes, &a.key) {
                return Err(EventError::BadSignature {
                    seq: ev.seq,
                    author: ev.author.clone(),
                });
            }
            g = after;
        }
        Ok(ChainVerifier {
            origin: origin.to_owned(),
            next,
            prev: if next == 0 {
                genesis_prev(origin)
            } else {
                prev
            },
            last_time,
            governance: g,
            governance_events: governance_events.iter().map(|e| e.to_vec()).collect(),
            keys: StrictVerifier::new(),
        })
    }

    /// The governance events so far, in order, as entries.
    pub fn governance_events(&self) -> &[Vec<u8>] {
        &self.governance_events
    }

    /// The governance state so far.
    pub fn governance(&self) -> &Governance {
        &self.governance
    }

    /// The next index expected.
    pub fn next_index(&self) -> u64 {
        self.next
    }

    /// The hash the next event's `prev` must name.
    pub fn prev_hash(&self) -> Hash {
        self.prev
    }

    /// The time of the last event.
    pub fn last_time(&self) -> Option<Timestamp> {
        self.last_time
    }

    /// Checks entry `self.next_index()` with its leaf hash; on success it becomes part of
    /// the verified chain. On failure the state is unchanged.
    pub fn check(&mut self, entry: &[u8], leaf: Hash) -> Result<VerifiedEvent, EventError> {
        let (event, check) = self.check_with(entry, leaf, false)?;
        debug_assert!(check.is_none());
        Ok(VerifiedEvent { event, leaf })
    }

    /// [`check`](Self::check) with the signature check handed out instead of made: every
    /// other rule is checked, the state advances, and the event waits, as a
    /// [`PendingEvent`], for the caller to make the [`SignatureCheck`] (see
    /// [`crate::sigcheck`]) and [`confirm`](PendingEvent::confirm) it. Later events are
    /// checked on the assumption that it holds: a caller that gets a false verdict must
    /// discard everything from that event on.
    ///
    /// Failures are the ones `check` returns, in the same order: when a rule that `check`
    /// tests after the signature fails, the signature is verified here first.
    pub fn check_deferred(
        &mut self,
        entry: &[u8],
        leaf: Hash,
    ) -> Result<(PendingEvent, SignatureCheck), EventError> {
        let (event, check) = self.check_with(entry, leaf, true)?;
        let check = check.ok_or(EventError::BadSignature {
            seq: event.seq,
            author: event.author.clone(),
        })?;
        Ok((PendingEvent { event, leaf }, check))
    }

    fn check_with(
        &mut self,
        entry: &[u8],
        leaf: Hash,
        defer: bool,
    ) -> Result<(UnverifiedEvent, Option<SignatureCheck>), EventError> {
        let ev = UnverifiedEvent::parse(entry)?;
        let seq = ev.seq;
        if seq != self.next {
            return Err(EventError::SeqMismatch {
                index: self.next,
                found: seq,
            });
        }
        if ev.prev != self.prev {
            return Err(EventError::BrokenChain {
                seq,
                expected: self.prev,
                found: ev.prev,
            });
        }
        if let Some(previous) = self.last_time {
            if ev.time < previous {
                return Err(EventError::TimeWentBack {
                    seq,
                    previous,
                    found: ev.time,
                });
            }
        }
        if (seq == 0) != (ev.kind == KIND_GENESIS) {
            return Err(EventError::Genesis {
                seq,
                kind: cut(&ev.kind),
            });
        }
        let mut governance = None;
        let author = if seq == 0 {
            // Genesis is self-signed: its author must be an admin it lists.
            let mut g = Governance::default();
            g.apply(&ev, &self.origin)?;
            let a = g
                .author(&ev.author)
                .cloned()
                .ok_or_else(|| EventError::UnknownAuthor {
                    seq,
                    author: ev.author.clone(),
                })?;
            governance = Some(g);
            a
        } else {
            let a = self.governance.author(&ev.author).cloned().ok_or_else(|| {
                EventError::UnknownAuthor {
                    seq,
                    author: ev.author.clone(),
                }
            })?;
            if let Some(revoked_at) = a.revoked_at {
                return Err(EventError::RevokedAuthor {
                    seq,
                    author: ev.author.clone(),
                    revoked_at,
                });
            }
            a
        };
        if ev.is_governance() && author.role != Role::Admin {
            return Err(EventError::NotAuthorised {
                seq,
                kind: cut(&ev.kind),
                author: ev.author.clone(),
                role: author.role.as_str(),
            });
        }
        let bad_signature = || EventError::BadSignature {
            seq,
            author: ev.author.clone(),
        };
        let ed25519 = author
            .key
            .ed25519()
            .filter(|_| author.key.key_type() == ALG_ED25519);
        let check = if let (true, Some(pk)) = (defer, ed25519) {
            Some(SignatureCheck::new(
                seq,
                *pk,
                ev.signature,
                ev.signed_message_in(entry),
            ))
        } else if ed25519.is_some_and(|pk| {
            self.keys
                .verify(pk, &ev.signature, &ev.signed_message_in(entry))
        }) {
            None
        } else {
            return Err(bad_signature());
        };
        // A rule below that fails reports a bad signature first, as `check` does.
        let fail = |e: EventError| match &check {
            Some(c) if !c.verify_strict() => bad_signature(),
            _ => e,
        };
        if let Some(c) = ev.correction {
            if c.seq >= seq {
                return Err(fail(EventError::CorrectsLater { seq, target: c.seq }));
            }
            if self.governance.is_governance_seq(c.seq) {
                return Err(fail(EventError::CorrectsGovernance { seq, target: c.seq }));
            }
            if ev.is_governance() {
                return Err(fail(gov_err(
                    &ev.kind,
                    "a governance event cannot be a correction",
                )));
            }
        }
        let new_governance = match governance {
            Some(g) => g,
            None if ev.is_governance() => {
                let mut g = self.governance.clone();
                g.apply(&ev, &self.origin).map_err(fail)?;
                g
            }
            None => {
                // Not governance: keep the state as is (no clone on the hot path).
                self.advance(&ev, leaf);
                return Ok((ev, check));
            }
        };
        self.governance = new_governance;
        self.governance_events.push(entry.to_vec());
        self.advance(&ev, leaf);
        Ok((ev, check))
    }

    fn advance(&mut self, ev: &UnverifiedEvent, leaf: Hash) {
        self.next += 1;
        self.prev = leaf;
        self.last_time = Some(ev.time);
    }
}

/// The state of a ledger: a replay of its events with corrections applied.
///
/// Each event with a `key` sets that key's value to its payload. An `amend` correction
/// replaces the corrected event's payload; a `void` correction removes the corrected
/// event. A key's value is the payload of its latest event that is not voided, as its
/// latest amendment left it.
///
/// It holds no payload, so that a million events cost little more than their keys:
/// - each key once, and by key the event its value comes from (8 bytes);
/// - every keyed event's number and key number (12 bytes an event), the events voided and
///   each amended event's latest amendment.
///
/// A row of the state says which event's payload is the value ([`StateRow::value_from`]);
/// every event the replay applied was verified, and the caller holds it (a page's window
/// and index, a file) to read that payload from: only for the rows it shows.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    /// Each key ever set, and its number.
    ids: BTreeMap<Box<str>, u32>,
    /// By key number: the event the key's value comes from ([`NO_VALUE`] after a void of
    /// every event that set it).
    standing: Vec<u64>,
    /// Every keyed event in log order, with its key's number.
    keyed: Vec<(u64, u32)>,
    voided: BTreeSet<u64>,
    /// Each amended event's latest amendment.
    amended: BTreeMap<u64, u64>,
    corrections: BTreeMap<u64, Vec<u64>>,
    /// Keys with a value.
    with_value: usize,
}

/// A key with no value: every event that set it was voided.
const NO_VALUE: u64 = u64::MAX;

/// A key of the state, the event its value comes from (`seq`), and the event whose
/// payload is the value (`value_from`: `seq`'s latest amendment, or `seq` itself).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StateRow {
    /// The key.
    pub key: String,
    /// The event the key's value comes from: its latest keyed event not voided.
    pub seq: u64,
    /// The event whose payload is the value: `seq`'s latest amendment, or `seq`.
    pub value_from: u64,
}

impl Replay {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies the next verified event.
    pub fn apply(&mut self, ev: &VerifiedEvent) {
        self.apply_event(ev.event());
    }

    /// The key number of keyed event `seq`.
    fn key_of(&self, seq: u64) -> Option<u32> {
        let i = self.keyed.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        Some(self.keyed[i].1)
    }

    /// Applies an event that the caller verified by other means (for example one handed
    /// over by an audit that already checked it). Events must come in log order.
    pub fn apply_event(&mut self, e: &UnverifiedEvent) {
        if let Some(c) = e.correction {
            self.corrections.entry(c.seq).or_default().push(e.seq);
            let Some(id) = self.key_of(c.seq) else {
                return;
            };
            match c.mode {
                CorrectionMode::Amend => {
                    self.amended.insert(c.seq, e.seq);
                }
                CorrectionMode::Void => {
                    if !self.voided.insert(c.seq) || self.standing[id as usize] != c.seq {
                        return;
                    }
                    // The key's value falls back to its latest event still standing (a
                    // walk back, only when the event voided was the one it came from).
                    let back = self.keyed[..self.keyed.partition_point(|(s, _)| *s < c.seq)]
                        .iter()
                        .rev()
                        .find(|(s, k)| *k == id && !self.voided.contains(s))
                        .map_or(NO_VALUE, |(s, _)| *s);
                    self.standing[id as usize] = back;
                    if back == NO_VALUE {
                        self.with_value -= 1;
                    }
                }
            }
            return;
        }
        if let Some(k) = &e.key {
            let id = match self.ids.get(k.as_str()) {
                Some(id) => *id,
                None => {
                    let id = self.standing.len() as u32;
                    self.ids.insert(k.as_str().into(), id);
                    self.standing.push(NO_VALUE);
                    id
                }
            };
            if std::mem::replace(&mut self.standing[id as usize], e.seq) == NO_VALUE {
                self.with_value += 1;
            }
            self.keyed.push((e.seq, id));
        }
    }

    /// The events that correct `seq`, in order.
    pub fn corrections_of(&self, seq: u64) -> &[u64] {
        self.corrections.get(&seq).map_or(&[], Vec::as_slice)
    }

    /// Whether keyed event `seq` was voided.
    pub fn is_voided(&self, seq: u64) -> bool {
        self.voided.contains(&seq)
    }

    /// Every key with a value, in key order.
    pub fn state(&self) -> Vec<StateRow> {
        self.state_page(usize::MAX).1
    }

    /// The number of keys with a value, and the first `limit` of them in key order: for a
    /// view that shows a page of the state. Costs the page (and a step over each key
    /// without a value), not the ledger.
    pub fn state_page(&self, limit: usize) -> (usize, Vec<StateRow>) {
        let page = self
            .ids
            .iter()
            .filter_map(|(k, id)| {
                let seq = self.standing[*id as usize];
                (seq != NO_VALUE).then(|| StateRow {
                    key: k.to_string(),
                    seq,
                    value_from: self.amended.get(&seq).copied().unwrap_or(seq),
                })
            })
            .take(limit)
            .collect();
        (self.with_value, page)
    }
}
