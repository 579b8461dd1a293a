//! Drafts: an event before it is signed, and what signing fills in.

use super::*;

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
