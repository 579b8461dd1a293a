//! The ledger metadata of docs/FORMAT.md ("Ledger metadata and digests"): one strict
//! parser, used by every verifier and by the publisher reading its own.
//!
//! The metadata is a signed note whose text is the line `liveledger/metadata/v1`, then one
//! line of RFC 8785 canonical JSON, then nothing. [`Metadata::parse`] reads that text:
//!
//! - `origin` (required): a non-empty string without whitespace.
//! - `log_keys` (required): a non-empty array of verifier keys. A malformed key is an
//!   error, never dropped: a verifier must not trust a different set of keys than the
//!   one signed.
//! - `entries` (required): `liveledger/event/v1` (a ledger: every entry is an event) or
//!   `opaque` (a plain C2SP log). Anything else, or none, is an error: the level of the
//!   audit is not guessed.
//! - `time_key` (optional): the publisher's cosignature/v1 key (type `0x04`).
//! - `witnesses` (optional): `{"keys": [...], "threshold": k}`, `k` at most the number of
//!   keys; enforced by [`crate::trust`]: a checkpoint with fewer than `k` valid
//!   cosignatures by those keys does not verify.
//! - `policy` (optional): a C2SP tlog-policy file, as a string ([`crate::policy`]): the
//!   witnesses (with their submission URLs) and the quorum every checkpoint must meet.
//!   At most one of `policy` and a `witnesses` threshold above 0.
//! - `cadence_seconds` (optional): a positive integer.
//! - `authors` (optional, informational), `verifier` (optional string).
//! - Any other member is kept as it was, in [`Metadata::other`]: it is covered by the
//!   signature like the rest, and a newer publisher may add fields older verifiers keep.
//!
//! The metadata is parsed twice by a verifier without a pinned key: once unverified, to
//! learn the log keys (trust on first use), and again once the note verified with them.

use serde_json::{Map, Value};

use crate::jcs::{self, JcsError};
use crate::note::{NoteError, VerifierKey, ALG_COSIGNATURE_V1};
use crate::policy::Policy;

/// The metadata text's first line.
pub const HEADER: &str = "liveledger/metadata/v1";
/// The `entries` value of a Live Ledger.
pub const ENTRIES_EVENTS: &str = "liveledger/event/v1";
/// The `entries` value of a plain C2SP log.
pub const ENTRIES_OPAQUE: &str = "opaque";
/// At most this many keys in `log_keys` and in `witnesses.keys`.
pub const MAX_KEYS: usize = 64;

/// What the log's entries are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entries {
    /// Live Ledger events (`liveledger/event/v1`).
    Events,
    /// Opaque entries (a plain C2SP log).
    Opaque,
}

/// The ledger's witness requirement: at least `threshold` of `keys` must cosign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessRequirement {
    /// The witnesses' cosignature verifier keys.
    pub keys: Vec<VerifierKey>,
    /// How many of them must cosign each checkpoint.
    pub threshold: usize,
}

/// The metadata, as parsed. Whether it is trusted is [`crate::trust`]'s question.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    /// The checkpoint origin.
    pub origin: String,
    /// The log's verifier keys (at least one).
    pub log_keys: Vec<VerifierKey>,
    /// What the entries are.
    pub entries: Entries,
    /// The publisher's time (cosignature/v1) key.
    pub time_key: Option<VerifierKey>,
    /// The witness requirement, if any (a threshold of 0 is none).
    pub witnesses: Option<WitnessRequirement>,
    /// The witness policy (tlog-policy), if any.
    pub policy: Option<Policy>,
    /// How often a digest is published.
    pub cadence_seconds: Option<u64>,
    /// The author keys at creation (informational), as written.
    pub authors: Option<Value>,
    /// The browser verifier's page.
    pub verifier: Option<String>,
    /// Every other member, kept as it was.
    pub other: Map<String, Value>,
}

/// Why the metadata text is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The first line is not `liveledger/metadata/v1`.
    #[error("metadata does not start with the line {HEADER:?}; found {found:?}")]
    Header {
        /// The first line found (cut to 100 characters).
        found: String,
    },
    /// Not one line of JSON after the header.
    #[error("metadata must be the header, one line of JSON and a newline; {0}")]
    Layout(&'static str),
    /// The JSON line is not canonical JSON.
    #[error("metadata JSON: {0}")]
    Json(#[from] JcsError),
    /// The JSON is not an object.
    #[error("metadata JSON is not an object")]
    NotObject,
    /// A required member is missing.
    #[error("metadata has no {0:?}")]
    Missing(&'static str),
    /// A member has the wrong type or an invalid value.
    #[error("metadata {field:?}: expected {expected}, found {found}")]
    Invalid {
        /// The member.
        field: &'static str,
        /// What was expected.
        expected: &'static str,
        /// What was found (cut to 100 characters).
        found: String,
    },
    /// A key that does not parse.
    #[error("metadata {field:?} key {index}: {source}")]
    BadKey {
        /// `log_keys`, `time_key` or `witnesses.keys`.
        field: &'static str,
        /// Its position (0 for `time_key`).
        index: usize,
        /// Why it does not parse.
        source: NoteError,
    },
}

fn cut(s: &str) -> String {
    s.chars().take(100).collect()
}

/// A short description of a JSON value, for "found …".
fn found(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{:?}", cut(s)),
        Value::Array(a) => format!("an array of {}", a.len()),
        Value::Object(_) => "an object".into(),
        // The core's own writer: serde_json's Display would link a second float formatter
        // into the browser builds.
        other => cut(&jcs::to_canonical(other).unwrap_or_default()),
    }
}

fn invalid(field: &'static str, expected: &'static str, v: &Value) -> MetadataError {
    MetadataError::Invalid {
        field,
        expected,
        found: found(v),
    }
}

fn key_list(field: &'static str, v: &Value) -> Result<Vec<VerifierKey>, MetadataError> {
    let a = v
        .as_array()
        .ok_or_else(|| invalid(field, "an array of verifier keys", v))?;
    if a.len() > MAX_KEYS {
        return Err(invalid(field, "at most 64 keys", v));
    }
    a.iter()
        .enumerate()
        .map(|(index, k)| {
            let s = k
                .as_str()
                .ok_or_else(|| invalid(field, "verifier key strings", k))?;
            VerifierKey::parse(s).map_err(|source| MetadataError::BadKey {
                field,
                index,
                source,
            })
        })
        .collect()
}

impl Metadata {
    /// Parses the metadata note's text (see the module doc for every rule).
    pub fn parse(text: &str) -> Result<Metadata, MetadataError> {
        let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
        if first != HEADER {
            return Err(MetadataError::Header { found: cut(first) });
        }
        let json = rest.strip_suffix('\n').ok_or(MetadataError::Layout(
            "the JSON line does not end in a newline",
        ))?;
        if json.contains('\n') {
            return Err(MetadataError::Layout(
                "found more than one line after the header",
            ));
        }
        let Value::Object(mut m) = jcs::parse_canonical(json.as_bytes())? else {
            return Err(MetadataError::NotObject);
        };
        let origin = match m.remove("origin") {
            None => return Err(MetadataError::Missing("origin")),
            Some(Value::String(o))
                if !o.is_empty() && !o.contains(char::is_whitespace) && !o.contains('+') =>
            {
                o
            }
            Some(v) => {
                return Err(invalid(
                    "origin",
                    "a non-empty string without whitespace or '+'",
                    &v,
                ))
            }
        };
        let log_keys = key_list(
            "log_keys",
            &m.remove("log_keys")
                .ok_or(MetadataError::Missing("log_keys"))?,
        )?;
        if log_keys.is_empty() {
            return Err(MetadataError::Invalid {
                field: "log_keys",
                expected: "at least one verifier key",
                found: "none".into(),
            });
        }
        let entries = match m.remove("entries") {
            None => return Err(MetadataError::Missing("entries")),
            Some(Value::String(s)) if s == ENTRIES_EVENTS => Entries::Events,
            Some(Value::String(s)) if s == ENTRIES_OPAQUE => Entries::Opaque,
            Some(v) => {
                return Err(invalid(
                    "entries",
                    "\"liveledger/event/v1\" or \"opaque\"",
                    &v,
                ))
            }
        };
        let time_key = match m.remove("time_key") {
            None => None,
            Some(Value::String(s)) => {
                let k = VerifierKey::parse(&s).map_err(|source| MetadataError::BadKey {
                    field: "time_key",
                    index: 0,
                    source,
                })?;
                if k.key_type() != ALG_COSIGNATURE_V1 {
                    return Err(MetadataError::Invalid {
                        field: "time_key",
                        expected: "a cosignature/v1 key (type 0x04)",
                        found: format!("a key of type 0x{:02x}", k.key_type()),
                    });
                }
                Some(k)
            }
            Some(v) => return Err(invalid("time_key", "a verifier key string", &v)),
        };
        let witnesses = match m.remove("witnesses") {
            None => None,
            Some(Value::Object(mut w)) => {
                let keys = key_list(
                    "witnesses",
                    &w.remove("keys").unwrap_or(Value::Array(Vec::new())),
                )?;
                let t = w.remove("threshold").unwrap_or(Value::from(0u64));
                let threshold = t
                    .as_u64()
                    .and_then(|t| usize::try_from(t).ok())
                    .ok_or_else(|| invalid("witnesses", "a threshold that is an integer", &t))?;
                if threshold > keys.len() {
                    return Err(MetadataError::Invalid {
                        field: "witnesses",
                        expected: "a threshold of at most the number of keys",
                        found: format!("threshold {threshold} of {} keys", keys.len()),
                    });
                }
                if let Some((k, _)) = w.iter().next() {
                    return Err(MetadataError::Invalid {
                        field: "witnesses",
                        expected: "only \"keys\" and \"threshold\"",
                        found: format!("{:?}", cut(k)),
                    });
                }
                (threshold > 0).then_some(WitnessRequirement { keys, threshold })
            }
            Some(v) => {
                return Err(invalid(
                    "witnesses",
                    "an object {\"keys\": [...], \"threshold\": k}",
                    &v,
                ))
            }
        };
        let policy = match m.remove("policy") {
            None => None,
            Some(Value::String(text)) => {
                Some(
                    Policy::parse(text.as_bytes()).map_err(|e| MetadataError::Invalid {
                        field: "policy",
                        expected: "a C2SP tlog-policy file",
                        found: e.to_string(),
                    })?,
                )
            }
            Some(v) => return Err(invalid("policy", "a tlog-policy file as a string", &v)),
        };
        if policy.is_some() && witnesses.is_some() {
            return Err(MetadataError::Invalid {
                field: "policy",
                expected: "either a policy or a witnesses threshold, not both",
                found: "both".into(),
            });
        }
        let cadence_seconds = match m.remove("cadence_seconds") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|c| *c > 0)
                    .ok_or_else(|| invalid("cadence_seconds", "a positive integer", &v))?,
            ),
        };
        let verifier = match m.remove("verifier") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(v) => return Err(invalid("verifier", "a string", &v)),
        };
        let authors = m.remove("authors");
        Ok(Metadata {
            origin,
            log_keys,
            entries,
            time_key,
            witnesses,
            policy,
            cadence_seconds,
            authors,
            verifier,
            other: m,
        })
    }
}
