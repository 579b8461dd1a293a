//! The chain: each event checked in its place (seq, time, prev, author, signature),
//! and the verified and pending events it yields.

use super::*;

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
