//! C2SP tlog-policy: which logs and witnesses, and the quorum a checkpoint must meet.
//!
//! ```text
//! log ledger.example.org/payments+1f2e3d4c+AT…                 [<url>]
//! witness w1 witness.example/w1+0a1b2c3d+BD… https://w1.example/
//! witness w2 witness.example/w2+…            https://w2.example/
//! witness w3 witness.example/w3+…            https://w3.example/
//! group two-of-three 2 w1 w2 w3
//! quorum two-of-three
//! ```
//!
//! Parsing is strict, as the spec says: lines end in a newline, items are separated by
//! spaces and tabs, `#` lines and blank lines are ignored; only tab, newline, 0x20–0x7E
//! and 0x80–0xFF may appear; a group or the quorum names only what earlier lines defined;
//! each name is defined once and is a group member at most once; `1 <= k <= n`; exactly
//! one `quorum` line; no two logs or witnesses with the same public key. Log keys are
//! Ed25519 (0x01), witness keys Ed25519 cosignature/v1 (0x04) or ML-DSA-44 subtree/v1 (0x06). Up to 64 logs, witnesses and
//! groups each (the spec asks for at least 32).
//!
//! [`Policy::evaluate`] says, for a set of witness keys that validly cosigned, whether the
//! quorum is met and who cosigned: the evidence a verifier reports.

use crate::note::{VerifierKey, ALG_COSIGNATURE_V1, ALG_ED25519, ALG_MLDSA44_SUBTREE};

/// At most this many logs, witnesses and groups (each).
pub const MAX_ITEMS: usize = 64;
/// The largest policy file accepted.
pub const MAX_POLICY: usize = 64 << 10;

/// A witness of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyWitness {
    /// Its name in the policy.
    pub name: String,
    /// Its cosignature verifier key.
    pub key: VerifierKey,
    /// Its submission prefix, if given.
    pub url: Option<String>,
}

/// A member of a group or the quorum: a witness or a group, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Witness(usize),
    Group(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    name: String,
    k: usize,
    members: Vec<Node>,
}

/// A parsed policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The logs, with their URLs.
    pub logs: Vec<(VerifierKey, Option<String>)>,
    /// The witnesses.
    pub witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    /// `None`: `quorum none`.
    quorum: Option<Node>,
}

/// Why a policy file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Larger than [`MAX_POLICY`].
    #[error("policy is {0} bytes, more than the {MAX_POLICY} accepted")]
    TooLarge(usize),
    /// A line is not valid; the message says what was expected.
    #[error("policy line {line}: {why}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// No `quorum` line.
    #[error("policy has no quorum line (use `quorum none` for no witnesses)")]
    NoQuorum,
}

/// The quorum's evaluation for one checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumReport {
    /// Whether the quorum is met.
    pub met: bool,
    /// Each witness of the policy, and whether it cosigned.
    pub witnesses: Vec<(String, VerifierKey, bool)>,
    /// A description of the rule, e.g. `2 of w1, w2, w3`.
    pub rule: String,
}

impl Policy {
    /// Parses a policy file.
    pub fn parse(text: &[u8]) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY {
            return Err(PolicyError::TooLarge(text.len()));
        }
        let mut p = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        };
        let mut quorum_seen = false;
        for (i, chunk) in text.split_inclusive(|&b| b == b'\n').enumerate() {
            let line = i + 1;
            let bad = |why: String| PolicyError::Line { line, why };
            let Some(raw) = chunk.strip_suffix(b"\n") else {
                return Err(bad("the last line does not end in a newline".into()));
            };
            if let Some(b) = raw.iter().find(|&&b| b != b'\t' && (b < 0x20 || b == 0x7f)) {
                return Err(bad(format!(
                    "control character {b:#04x}; only tab and newline are allowed"
                )));
            }
            let s = String::from_utf8_lossy(raw);
            let items: Vec<&str> = s.split([' ', '\t']).filter(|x| !x.is_empty()).collect();
            let Some(&first) = items.first() else {
                continue;
            };
            if first.starts_with('#') {
                continue;
            }
            match first {
                "log" => {
                    let (key, url) = match items.as_slice() {
                        [_, k] => (k, None),
                        [_, k, u] => (k, Some(u.to_string())),
                        _ => return Err(bad("expected `log <vkey> [<url>]`".into())),
                    };
                    let key = VerifierKey::parse(key).map_err(|e| bad(format!("log key: {e}")))?;
                    if key.key_type() != ALG_ED25519 {
                        return Err(bad(format!(
                            "log key {key}: expected an Ed25519 key (type 0x01), found type {:#04x}",
                            key.key_type()
                        )));
                    }
                    if p.logs
                        .iter()
                        .any(|(k, _)| k.public_key() == key.public_key())
                    {
                        return Err(bad(format!("log key {key} is listed twice")));
                    }
                    if p.logs.len() == MAX_ITEMS {
                        return Err(bad(format!("more than {MAX_ITEMS} logs")));
                    }
                    p.logs.push((key, url));
                }
                "witness" => {
                    let (name, key, url) = match items.as_slice() {
                        [_, n, k] => (n, k, None),
                        [_, n, k, u] => (n, k, Some(u.to_string())),
                        _ => return Err(bad("expected `witness <name> <vkey> [<url>]`".into())),
                    };
                    p.check_new_name(name).map_err(bad)?;
                    let key =
                        VerifierKey::parse(key).map_err(|e| bad(format!("witness key: {e}")))?;
                    if ![ALG_COSIGNATURE_V1, ALG_MLDSA44_SUBTREE].contains(&key.key_type()) {
                        return Err(bad(format!(
                            "witness {name}: expected a cosignature key (type 0x04, Ed25519 cosignature/v1, or 0x06, ML-DSA-44 subtree/v1), found type {:#04x}",
                            key.key_type()
                        )));
                    }
                    if p.witnesses
                        .iter()
                        .any(|w| w.key.public_key() == key.public_key())
                    {
                        return Err(bad(format!("witness {name}'s key is listed twice")));
                    }
                    if p.witnesses.len() == MAX_ITEMS {
                        return Err(bad(format!("more than {MAX_ITEMS} witnesses")));
                    }
                    p.witnesses.push(PolicyWitness {
                        name: name.to_string(),
                        key,
                        url,
                    });
                }
                "group" => {
                    let [_, name, k, members @ ..] = items.as_slice() else {
                        return Err(bad("expected `group <name> all|any|<k> <name>...`".into()));
                    };
                    p.check_new_name(name).map_err(bad)?;
                    if members.is_empty() {
                        return Err(bad(format!("group {name} has no members")));
                    }
                    let mut nodes = Vec::new();
                    for m in members {
                        let n = p.node(m).ok_or_else(|| {
                            bad(format!(
                                "group {name}: {m:?} is not defined on an earlier line"
                            ))
                        })?;
                        if nodes.contains(&n) {
                            return Err(bad(format!("group {name} lists {m} twice")));
                        }
                        nodes.push(n);
                    }
                    let n = nodes.len();
                    let k = match *k {
                        "all" => n,
                        "any" => 1,
                        k => match crate::checkpoint::parse_decimal(k) {
                            Some(k) if (1..=n as u64).contains(&k) => k as usize,
                            _ => {
                                return Err(bad(format!(
                                    "group {name}: threshold {k:?} must be all, any or 1 to {n}"
                                )))
                            }
                        },
                    };
                    if p.groups.len() == MAX_ITEMS {
                        return Err(bad(format!("more than {MAX_ITEMS} groups")));
                    }
                    p.groups.push(Group {
                        name: name.to_string(),
                        k,
                        members: nodes,
                    });
                }
                "quorum" => {
                    if quorum_seen {
                        return Err(bad("a second quorum line".into()));
                    }
                    let [_, name] = items.as_slice() else {
                        return Err(bad("expected `quorum <name>`".into()));
                    };
                    p.quorum = match *name {
                        "none" => None,
                        n => Some(p.node(n).ok_or_else(|| {
                            bad(format!("quorum {n:?} is not defined on an earlier line"))
                        })?),
                    };
                    quorum_seen = true;
                }
                other => {
                    return Err(bad(format!(
                        "unknown line type {other:?}; expected log, witness, group or quorum"
                    )))
                }
            }
        }
        if !quorum_seen {
            return Err(PolicyError::NoQuorum);
        }
        Ok(p)
    }

    fn check_new_name(&self, name: &str) -> Result<(), String> {
        if name == "none" {
            return Err("the name `none` is predefined".into());
        }
        if self.node(name).is_some() {
            return Err(format!("{name} is defined twice"));
        }
        Ok(())
    }

    fn node(&self, name: &str) -> Option<Node> {
        if let Some(i) = self.witnesses.iter().position(|w| w.name == name) {
            return Some(Node::Witness(i));
        }
        self.groups
            .iter()
            .position(|g| g.name == name)
            .map(Node::Group)
    }

    /// Whether the policy requires any cosignature at all.
    pub fn requires_witnesses(&self) -> bool {
        self.quorum.is_some()
    }

    /// The witnesses' keys.
    pub fn witness_keys(&self) -> Vec<VerifierKey> {
        self.witnesses.iter().map(|w| w.key.clone()).collect()
    }

    fn met(&self, n: Node, cosigned: &[bool]) -> bool {
        match n {
            Node::Witness(i) => cosigned[i],
            Node::Group(g) => {
                let g = &self.groups[g];
                g.members.iter().filter(|&&m| self.met(m, cosigned)).count() >= g.k
            }
        }
    }

    fn describe(&self, n: Node) -> String {
        match n {
            Node::Witness(i) => self.witnesses[i].name.clone(),
            Node::Group(g) => {
                let g = &self.groups[g];
                let m: Vec<String> = g.members.iter().map(|&m| self.describe(m)).collect();
                format!("{} of ({})", g.k, m.join(", "))
            }
        }
    }

    /// Evaluates the quorum for the witness keys that validly cosigned a checkpoint.
    pub fn evaluate(&self, cosigned: &[VerifierKey]) -> QuorumReport {
        let by: Vec<bool> = self
            .witnesses
            .iter()
            .map(|w| cosigned.contains(&w.key))
            .collect();
        QuorumReport {
            met: self.quorum.is_none_or(|q| self.met(q, &by)),
            witnesses: self
                .witnesses
                .iter()
                .zip(&by)
                .map(|(w, &c)| (w.name.clone(), w.key.clone(), c))
                .collect(),
            rule: self.quorum.map_or("none".into(), |q| self.describe(q)),
        }
    }

    /// A policy of `k` of `keys` (the metadata's older `witnesses` form), named by key.
    pub fn threshold(keys: &[VerifierKey], k: usize) -> Policy {
        let witnesses: Vec<PolicyWitness> = keys
            .iter()
            .map(|key| PolicyWitness {
                name: key.name().to_owned(),
                key: key.clone(),
                url: None,
            })
            .collect();
        let n = witnesses.len();
        let quorum = (k > 0 && n > 0).then_some(Node::Group(0));
        Policy {
            logs: Vec::new(),
            groups: vec![Group {
                name: "witnesses".into(),
                k: k.clamp(1, n.max(1)),
                members: (0..n).map(Node::Witness).collect(),
            }],
            witnesses,
            quorum,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::SignerKey;

    fn wkey(i: u8) -> VerifierKey {
        SignerKey::from_seed(&format!("w{i}.example"), ALG_COSIGNATURE_V1, [i; 32])
            .unwrap()
            .verifier()
    }
    fn lkey() -> VerifierKey {
        SignerKey::from_seed("log.example/l", ALG_ED25519, [99; 32])
            .unwrap()
            .verifier()
    }

    /// The spec's example: 2 of the X witnesses and 1 of the Y witnesses.
    fn example() -> String {
        let mut s = format!("# the spec's example\nlog {}\n\n", lkey());
        for i in 1..=3 {
            s += &format!("witness X{i} {}\n", wkey(i));
        }
        s += "group X-witnesses 2 X1 X2 X3\n\n";
        for i in 4..=6 {
            s += &format!("witness Y{} {}\thttps://y{i}.example/\n", i - 3, wkey(i));
        }
        s += "group Y-witnesses any Y1 Y2 Y3\n\n  group X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n";
        s
    }

    #[test]
    fn the_specs_example_quorum_is_evaluated_over_every_subset_of_witnesses() {
        let p = Policy::parse(example().as_bytes()).unwrap();
        assert_eq!(p.witnesses.len(), 6);
        assert_eq!(p.witnesses[3].url.as_deref(), Some("https://y4.example/"));
        for mask in 0u32..64 {
            let cosigned: Vec<VerifierKey> = (0..6)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| wkey(i as u8 + 1))
                .collect();
            let xs = (mask & 0b111).count_ones();
            let ys = (mask >> 3).count_ones();
            let r = p.evaluate(&cosigned);
            assert_eq!(r.met, xs >= 2 && ys >= 1, "mask {mask:06b}");
            assert_eq!(
                r.witnesses.iter().filter(|w| w.2).count() as u32,
                mask.count_ones()
            );
        }
        assert_eq!(
            p.evaluate(&[]).rule,
            "2 of (2 of (X1, X2, X3), 1 of (Y1, Y2, Y3))"
        );
        // Keys of other witnesses count for nothing.
        assert!(!p.evaluate(&[wkey(7), wkey(8), wkey(9)]).met);
    }

    #[test]
    fn quorum_none_and_the_threshold_form() {
        let p = Policy::parse(b"quorum none\n").unwrap();
        assert!(!p.requires_witnesses() && p.evaluate(&[]).met);
        let t = Policy::threshold(&[wkey(1), wkey(2), wkey(3)], 2);
        assert!(!t.evaluate(&[wkey(1)]).met);
        assert!(t.evaluate(&[wkey(3), wkey(1)]).met);
        assert_eq!(
            t.evaluate(&[]).rule,
            "2 of (w1.example, w2.example, w3.example)"
        );
    }

    #[test]
    fn malformed_policies_are_refused_naming_the_line() {
        let w = |i: u8| format!("witness W{i} {}\n", wkey(i));
        let cases: Vec<(String, usize)> = vec![
            (String::new(), 0),
            ("quorum W1\n".into(), 1),
            (format!("{}quorum W1", w(1)), 2),
            (format!("{}{}quorum W1\nquorum W1\n", w(1), w(2)), 4),
            (format!("{}witness W1 {}\nquorum W1\n", w(1), wkey(2)), 2),
            (format!("{}witness W2 {}\nquorum W1\n", w(1), wkey(1)), 2),
            (format!("{}group G 2 W1\nquorum G\n", w(1)), 2),
            (format!("{}group G 0 W1\nquorum G\n", w(1)), 2),
            (format!("{}group G any W1 W1\nquorum G\n", w(1)), 2),
            (format!("{}group G any\nquorum G\n", w(1)), 2),
            (format!("group G any W1\n{}quorum G\n", w(1)), 1),
            (format!("{}quorum W1\nfrobnicate\n", w(1)), 3),
            (format!("witness none {}\nquorum none\n", wkey(1)), 1),
            (format!("witness W1 {}\nquorum W1\n", lkey()), 1),
            (format!("log {}\nquorum none\n", wkey(1)), 1),
            (format!("log {}\nlog {}\nquorum none\n", lkey(), lkey()), 2),
            (format!("{}\u{1}quorum W1\n", w(1)), 2),
            ("quorum none extra\n".into(), 1),
        ];
        for (text, line) in cases {
            match Policy::parse(text.as_bytes()) {
                Err(PolicyError::Line { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                Err(PolicyError::NoQuorum) => assert_eq!(line, 0, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert!(matches!(
            Policy::parse(&vec![b'#'; MAX_POLICY + 1]),
            Err(PolicyError::TooLarge(_))
        ));
    }
}
