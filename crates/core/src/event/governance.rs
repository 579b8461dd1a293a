//! Governance: which keys may write, kept in the log itself (genesis, key add and revoke,
//! log keys).

use super::*;

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

pub(super) fn gov_err(kind: &str, why: impl Into<String>) -> EventError {
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
    pub(super) fn apply(&mut self, ev: &UnverifiedEvent, origin: &str) -> Result<(), EventError> {
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
