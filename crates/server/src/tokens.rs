//! Append tokens: who may append over the network, as which author, with which kinds and
//! sources.
//!
//! A token is `llt_` followed by 64 hex digits (32 random bytes). It is shown once, by
//! `liveledger token add`; the key directory keeps only its SHA-256, in `tokens.json`
//! (mode 0600):
//!
//! ```text
//! {"tokens":[{"name":"billing","sha256":"9f2c…","author":"billing@payments.example",
//!   "kinds":["payment"],"sources":["billing-api"],"created":"2026-12-01T12:00:00Z",
//!   "revoked":null}]}
//! ```
//!
//! `kinds` and `sources` list what the token's events may carry; `["*"]` allows any.
//! A revoked token stays listed (with the time of its revocation) so that its name is
//! never reused for another client. The server reads the file on every API request, so
//! adding and revoking take effect at once, without a restart.

use std::path::PathBuf;

use liveledger_core::hash::{sha256, Hash};
use serde_json::{json, Value};

use liveledger_store::process::{now, random_seed};
use liveledger_store::{read_capped, Error, Result, Store};

/// One token's record (without the secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub name: String,
    pub sha256: Hash,
    /// The author key (in the key directory) its events are signed with.
    pub author: String,
    pub kinds: Vec<String>,
    pub sources: Vec<String>,
    pub created: String,
    pub revoked: Option<String>,
}

/// Why an event is outside a token's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutOfScope {
    Kind(String),
    Source(String),
}

impl Token {
    fn allows(list: &[String], v: &str) -> bool {
        list.iter().any(|k| k == "*" || k == v)
    }

    /// Whether an event of this kind and source may be appended with the token.
    pub fn permits(&self, kind: &str, source: &str) -> std::result::Result<(), OutOfScope> {
        if !Self::allows(&self.kinds, kind) {
            return Err(OutOfScope::Kind(kind.to_owned()));
        }
        if !Self::allows(&self.sources, source) {
            return Err(OutOfScope::Source(source.to_owned()));
        }
        Ok(())
    }

    /// The source used for events that name none: the token's only source, if it has
    /// exactly one (and it is not `*`).
    pub fn default_source(&self) -> Option<&str> {
        match self.sources.as_slice() {
            [one] if one != "*" => Some(one),
            _ => None,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "sha256": self.sha256.to_hex(),
            "author": self.author,
            "kinds": self.kinds,
            "sources": self.sources,
            "created": self.created,
            "revoked": self.revoked,
        })
    }

    fn from_json(v: &Value) -> Option<Token> {
        let s = |k: &str| v.get(k)?.as_str().map(str::to_owned);
        let list = |k: &str| -> Option<Vec<String>> {
            v.get(k)?
                .as_array()?
                .iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect()
        };
        Some(Token {
            name: s("name")?,
            sha256: Hash::from_hex(&s("sha256")?).ok()?,
            author: s("author")?,
            kinds: list("kinds")?,
            sources: list("sources")?,
            created: s("created")?,
            revoked: match v.get("revoked")? {
                Value::Null => None,
                r => Some(r.as_str()?.to_owned()),
            },
        })
    }
}

/// The token file of a key directory.
pub struct Tokens {
    path: PathBuf,
    pub all: Vec<Token>,
}

/// The SHA-256 a presented token is looked up by.
pub fn digest(token: &str) -> Hash {
    sha256(token.as_bytes())
}

/// Whether a presented string has a token's form (`llt_` and 64 lowercase hex digits).
pub fn well_formed(token: &str) -> bool {
    token
        .strip_prefix("llt_")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
}

impl Tokens {
    /// Reads the token file (none yet: no tokens).
    pub fn load(store: &Store) -> Result<Tokens> {
        let path = store.keys.join("tokens.json");
        let all = match read_capped(&path, 4 << 20) {
            Err(Error::Io(_)) if !path.exists() => Vec::new(),
            Err(e) => return Err(e),
            Ok(bytes) => {
                let bad = |why: &str| {
                    Error::Corrupt(format!(
                        "{}: {why}; expected {{\"tokens\": [{{\"name\", \"sha256\", \"author\", \"kinds\", \"sources\", \"created\", \"revoked\"}}…]}}",
                        path.display()
                    ))
                };
                let v: Value =
                    serde_json::from_slice(&bytes).map_err(|e| bad(&format!("not JSON: {e}")))?;
                let list = v
                    .get("tokens")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("no \"tokens\" array"))?;
                list.iter()
                    .enumerate()
                    .map(|(i, t)| {
                        Token::from_json(t)
                            .ok_or_else(|| bad(&format!("token {} is malformed", i + 1)))
                    })
                    .collect::<Result<_>>()?
            }
        };
        Ok(Tokens { path, all })
    }

    fn save(&self, store: &Store) -> Result<()> {
        let v = json!({"tokens": self.all.iter().map(Token::to_json).collect::<Vec<_>>()});
        store.write_secret(&self.path, format!("{v}\n").as_bytes())
    }

    /// The live (not revoked) token with this secret.
    pub fn find(&self, presented: &str) -> Option<&Token> {
        if !well_formed(presented) {
            return None;
        }
        let d = digest(presented);
        self.all
            .iter()
            .find(|t| t.sha256 == d && t.revoked.is_none())
    }

    /// Adds a token; returns the secret (shown once).
    pub fn add(
        store: &Store,
        name: &str,
        author: &str,
        kinds: Vec<String>,
        sources: Vec<String>,
    ) -> Result<String> {
        if !valid_name(name) {
            return Err(Error::Usage(format!(
                "token name {name:?}: expected 1 to 64 letters, digits, '-', '_', '.' or '@'"
            )));
        }
        if kinds.is_empty() || sources.is_empty() {
            return Err(Error::Usage(
                "a token needs --kinds and --sources (a comma-separated list, or '*' for any)"
                    .into(),
            ));
        }
        if !store.author_key(author).exists() {
            return Err(Error::Usage(format!(
                "no author key {author:?} in {} (add one with `liveledger add-author`)",
                store.keys.display()
            )));
        }
        let _lock = store.lock()?;
        let mut t = Tokens::load(store)?;
        if t.all.iter().any(|x| x.name == name) {
            return Err(Error::Usage(format!(
                "a token named {name:?} exists (names are never reused, even after revocation)"
            )));
        }
        let secret = format!("llt_{}", Hash(random_seed()?).to_hex());
        t.all.push(Token {
            name: name.to_owned(),
            sha256: digest(&secret),
            author: author.to_owned(),
            kinds,
            sources,
            created: now().to_string(),
            revoked: None,
        });
        t.save(store)?;
        Ok(secret)
    }

    /// Revokes a token by name (at once: the server reads the file per request).
    pub fn revoke(store: &Store, name: &str) -> Result<()> {
        let _lock = store.lock()?;
        let mut t = Tokens::load(store)?;
        let Some(tok) = t.all.iter_mut().find(|x| x.name == name) else {
            return Err(Error::Usage(format!("no token named {name:?}")));
        };
        if tok.revoked.is_none() {
            tok.revoked = Some(now().to_string());
        }
        t.save(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(kinds: &[&str], sources: &[&str]) -> Token {
        Token {
            name: "t".into(),
            sha256: digest("x"),
            author: "a".into(),
            kinds: kinds.iter().map(|s| s.to_string()).collect(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
            created: "2026-12-01T00:00:00Z".into(),
            revoked: None,
        }
    }

    #[test]
    fn a_token_permits_its_kinds_and_sources_only() {
        let t = token(&["payment", "refund"], &["billing"]);
        assert_eq!(t.permits("payment", "billing"), Ok(()));
        assert_eq!(
            t.permits("custody", "billing"),
            Err(OutOfScope::Kind("custody".into()))
        );
        assert_eq!(
            t.permits("refund", "vault"),
            Err(OutOfScope::Source("vault".into()))
        );
        assert_eq!(t.default_source(), Some("billing"));
        let any = token(&["*"], &["*"]);
        assert_eq!(any.permits("anything", "anywhere"), Ok(()));
        assert_eq!(any.default_source(), None);
        // The record round-trips through its JSON form.
        assert_eq!(Token::from_json(&t.to_json()), Some(t));
    }

    #[test]
    fn only_the_token_form_is_looked_up() {
        let good = format!("llt_{}", "ab".repeat(32));
        assert!(well_formed(&good));
        for bad in [
            "",
            "llt_",
            &good[..67],
            &format!("{good}0"),
            &good.to_uppercase(),
            &format!("xyz_{}", "ab".repeat(32)),
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
