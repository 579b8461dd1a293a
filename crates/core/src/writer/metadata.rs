//! The ledger metadata as a publisher writes it: the writer of [`Metadata::parse`]'s
//! format (docs/FORMAT.md, "Ledger metadata and digests"). Whatever these write parses
//! back, or they say why not.

use serde_json::{Map, Value};

use crate::event::Role;
use crate::jcs;
use crate::metadata::{Metadata, MetadataError, ENTRIES_EVENTS, ENTRIES_OPAQUE, HEADER};
use crate::note::VerifierKey;

/// A new ledger's metadata.
#[derive(Clone, Debug)]
pub struct MetadataDraft<'a> {
    /// The checkpoint origin.
    pub origin: &'a str,
    /// The log's verifier key.
    pub log_key: &'a VerifierKey,
    /// How often a digest is published.
    pub cadence_seconds: u64,
    /// The witnesses' cosignature keys, and how many must cosign.
    pub witnesses: &'a [VerifierKey],
    /// How many of `witnesses` must cosign each checkpoint (0: none).
    pub witness_threshold: usize,
    /// A ledger's time key and its first admin; `None` for a log of opaque entries.
    pub ledger: Option<(&'a VerifierKey, &'a VerifierKey)>,
}

impl MetadataDraft<'_> {
    /// The metadata note's text: the header, one line of canonical JSON, a newline.
    pub fn to_text(&self) -> Result<String, MetadataError> {
        let s = |x: &str| Value::String(x.to_owned());
        let mut m = Map::new();
        m.insert("origin".into(), s(self.origin));
        m.insert(
            "log_keys".into(),
            Value::Array(vec![s(&self.log_key.to_string())]),
        );
        m.insert("cadence_seconds".into(), Value::from(self.cadence_seconds));
        let mut w = Map::new();
        w.insert(
            "keys".into(),
            Value::Array(self.witnesses.iter().map(|k| s(&k.to_string())).collect()),
        );
        w.insert("threshold".into(), Value::from(self.witness_threshold));
        m.insert("witnesses".into(), Value::Object(w));
        m.insert("verifier".into(), s("index.html"));
        match self.ledger {
            None => {
                m.insert("entries".into(), s(ENTRIES_OPAQUE));
            }
            Some((time_key, admin)) => {
                m.insert("entries".into(), s(ENTRIES_EVENTS));
                m.insert("time_key".into(), s(&time_key.to_string()));
                let mut a = Map::new();
                a.insert("key".into(), s(&admin.to_string()));
                a.insert("role".into(), s(Role::Admin.as_str()));
                m.insert("authors".into(), Value::Array(vec![Value::Object(a)]));
            }
        }
        written(&Value::Object(m))
    }
}

/// The metadata `text` with `policy` (a tlog-policy file's text) as its witness policy,
/// in place of any `witnesses` threshold; every other member as it was.
pub fn with_policy(text: &str, policy: &str) -> Result<String, MetadataError> {
    Metadata::parse(text)?;
    let json = text
        .strip_prefix(HEADER)
        .and_then(|t| t.strip_prefix('\n'))
        .unwrap_or_default();
    let mut v = jcs::parse_canonical(json.trim_end_matches('\n').as_bytes())?;
    if let Value::Object(m) = &mut v {
        m.remove("witnesses");
        m.insert("policy".into(), Value::String(policy.to_owned()));
    }
    written(&v)
}

/// The note text of metadata `v`, checked by the parser.
fn written(v: &Value) -> Result<String, MetadataError> {
    let text = format!("{HEADER}\n{}\n", jcs::to_canonical(v)?);
    Metadata::parse(&text)?;
    Ok(text)
}
