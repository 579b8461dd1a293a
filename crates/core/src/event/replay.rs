//! The state replay: the value of each key as the verified events leave it.

use super::*;

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
