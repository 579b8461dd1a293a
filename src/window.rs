//! The explorer's window: the newest verified events, typed once as they arrive, with the
//! indexes the explorer reads kept as they change.
//!
//! Invariants:
//! - Rows are in log order (strictly increasing `seq`); at most `max` are held, the oldest
//!   leaving first. `dropped + len` is every event ever handed to the window.
//! - Each event is read from the verified event once, into a [`Row`]; nothing later walks
//!   JSON.
//! - The distinct kinds, sources and authors and the corrections map are kept by
//!   [`Window::extend`] (counted in, counted out), so no view recomputes them over every
//!   event held: a draw costs what arrived, plus one pass of plain comparisons to filter.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use liveledger_core::event::VerifiedEvent;
use serde_json::{Map, Value};

use crate::model;

/// One verified event, as the explorer shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub seq: u64,
    pub leaf_hash: String,
    pub time: String,
    /// `time` in seconds, when it parses.
    pub secs: Option<f64>,
    pub kind: String,
    pub source: String,
    pub author: String,
    pub key: String,
    pub prev: String,
    /// The event it corrects, and how (`amend`, `void`, …).
    pub corrects: Option<(u64, String)>,
    /// A private payload's commitment (hex).
    pub commitment: Option<String>,
    /// The payload, cut to 80 characters (or the commitment's start).
    pub summary: String,
    /// The event's canonical JSON: what search reads, the state replays and the detail
    /// view shows.
    pub text: String,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Row {
    /// From an event the verifier verified (the module's `on_event`).
    pub fn from_event(ev: &VerifiedEvent) -> Row {
        let e = ev.event();
        Row::with_text(
            e.seq,
            ev.leaf_hash().to_hex(),
            &e.object,
            e.entry().to_owned(),
        )
    }

    /// From an event's number, leaf hash (hex) and members.
    pub fn new(seq: u64, leaf_hash: String, ev: &Map<String, Value>) -> Row {
        let mut text = String::new();
        let _ = liveledger_core::jcs::write_canonical_object(ev, &mut text);
        Row::with_text(seq, leaf_hash, ev, text)
    }

    /// [`Row::new`] given the members' canonical JSON (the entry they were read from), so
    /// that it is not written again.
    pub fn with_text(seq: u64, leaf_hash: String, ev: &Map<String, Value>, text: String) -> Row {
        let f = |k: &str| ev.get(k).map(text_of).unwrap_or_default();
        let commitment = ev.get("commitment").map(text_of);
        let summary = match &commitment {
            Some(c) => format!(
                "private (commitment {}…)",
                c.chars().take(12).collect::<String>()
            ),
            None => {
                let b = ev.get("body").map(Value::to_string).unwrap_or_default();
                match b.char_indices().nth(80) {
                    Some((cut, _)) => format!("{}…", &b[..cut]),
                    None => b,
                }
            }
        };
        let time = f("time");
        Row {
            seq,
            leaf_hash,
            secs: model::event_seconds(&time),
            time,
            kind: f("kind"),
            source: f("source"),
            author: f("author"),
            key: f("key"),
            prev: f("prev"),
            corrects: ev
                .get("corrects")
                .and_then(|c| Some((c["seq"].as_u64()?, text_of(&c["mode"])))),
            commitment,
            summary,
            text,
        }
    }

    /// The row's value of a select filter's field.
    pub fn field(&self, f: Field) -> &str {
        match f {
            Field::Kind => &self.kind,
            Field::Source => &self.source,
            Field::Author => &self.author,
        }
    }
}

/// The fields the explorer offers as select filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Kind,
    Source,
    Author,
}

const FIELDS: [Field; 3] = [Field::Kind, Field::Source, Field::Author];

/// What the visitor filters on; empty strings filter nothing. `query` is searched for in
/// the event's JSON with ASCII letters in either case; other characters match as typed
/// (Unicode case folding would cost the page 9.5 kB gzip of tables: measured).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub query: String,
    pub kind: String,
    pub source: String,
    pub author: String,
    /// A state key, exactly as written: the events that carry it.
    pub key: String,
}

/// `needle` in `hay`, ASCII letters in either case (other characters as they are).
fn contains_folded(hay: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    n.is_empty()
        || hay
            .as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
}

impl Filter {
    /// Whether an event's canonical JSON holds the query (the one test that needs no row).
    pub fn matches_text(&self, text: &str) -> bool {
        contains_folded(text, &self.query)
    }

    pub fn matches(&self, r: &Row) -> bool {
        let is = |want: &str, have: &str| want.is_empty() || want == have;
        is(&self.kind, &r.kind)
            && is(&self.source, &r.source)
            && is(&self.author, &r.author)
            && is(&self.key, &r.key)
            && contains_folded(&r.text, &self.query)
    }
}

fn count_in(distinct: &mut [BTreeMap<String, usize>; 3], r: &Row) {
    for (m, f) in distinct.iter_mut().zip(FIELDS) {
        // A value already known costs no allocation.
        match m.get_mut(r.field(f)) {
            Some(n) => *n += 1,
            None => {
                m.insert(r.field(f).to_owned(), 1);
            }
        }
    }
}

/// The newest `max` verified events and their indexes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Window {
    max: usize,
    rows: VecDeque<Arc<Row>>,
    dropped: u64,
    /// Each select field's values and how many held rows have each. A count that reaches
    /// zero stays until the maps are rebuilt from the rows held (when they hold more than
    /// twice `max` values), so a value leaving costs no more than one arriving.
    distinct: [BTreeMap<String, usize>; 3],
    /// How many held rows correct each held row (same positions as `rows`). A correction
    /// is newer than what it corrects, so it is held as long as that is: counts grow as
    /// rows come, and fall only when a failed audit's rows are taken back (`truncate_from`).
    corrections: VecDeque<u32>,
}

impl Window {
    pub fn new(max: usize) -> Window {
        Window {
            max,
            ..Window::default()
        }
    }

    /// Adds a batch (in log order; a row not after the last one held is not added) and
    /// lets the oldest go past `max`; returns how many left.
    pub fn extend(&mut self, batch: impl IntoIterator<Item = Row>) -> u64 {
        for r in batch {
            if self.rows.back().is_some_and(|b| b.seq >= r.seq) {
                continue;
            }
            count_in(&mut self.distinct, &r);
            if let Some(i) = r.corrects.as_ref().and_then(|(t, _)| self.position(*t)) {
                self.corrections[i] += 1;
            }
            self.rows.push_back(Arc::new(r));
            self.corrections.push_back(0);
        }
        let over = self.rows.len().saturating_sub(self.max);
        self.corrections.drain(..over);
        for r in self.rows.drain(..over) {
            for (i, f) in FIELDS.into_iter().enumerate() {
                if let Some(n) = self.distinct[i].get_mut(r.field(f)) {
                    *n -= 1;
                }
            }
        }
        if self
            .distinct
            .iter()
            .any(|m| m.len() > self.max.saturating_mul(2))
        {
            self.distinct = Default::default();
            for r in &self.rows {
                count_in(&mut self.distinct, r);
            }
        }
        self.dropped += over as u64;
        over as u64
    }

    /// Lets every row from event `seq` on go: what an audit handed over before it failed
    /// is not shown as verified. The select values and corrections are as if those rows
    /// had never come.
    pub fn truncate_from(&mut self, seq: u64) {
        while self.rows.back().is_some_and(|r| r.seq >= seq) {
            let Some(r) = self.rows.pop_back() else {
                break;
            };
            self.corrections.pop_back();
            for (i, f) in FIELDS.into_iter().enumerate() {
                if let Some(n) = self.distinct[i].get_mut(r.field(f)) {
                    *n = n.saturating_sub(1);
                }
            }
            if let Some(i) = r.corrects.as_ref().and_then(|(t, _)| self.position(*t)) {
                self.corrections[i] = self.corrections[i].saturating_sub(1);
            }
        }
    }

    fn position(&self, seq: u64) -> Option<usize> {
        self.rows.binary_search_by_key(&seq, |r| r.seq).ok()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Events that left the window (all of them were verified).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Every event ever handed to the window.
    pub fn total(&self) -> u64 {
        self.dropped + self.rows.len() as u64
    }

    pub fn rows(&self) -> &VecDeque<Arc<Row>> {
        &self.rows
    }

    /// The row of event `seq`, if held.
    pub fn get(&self, seq: u64) -> Option<&Arc<Row>> {
        self.rows.get(self.position(seq)?)
    }

    /// The distinct values of `f` among the events held, sorted.
    pub fn distinct(&self, f: Field) -> Vec<String> {
        let i = FIELDS.iter().position(|x| *x == f).unwrap_or(0);
        self.distinct[i]
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(v, _)| v.clone())
            .collect()
    }

    /// Whether a held event corrects the row at position `i`.
    pub fn is_corrected(&self, i: usize) -> bool {
        self.corrections.get(i).is_some_and(|n| *n > 0)
    }

    /// The events held that correct event `seq`, oldest first (a scan after it, for the
    /// one event a visitor opens).
    pub fn corrected_by(&self, seq: u64) -> Vec<u64> {
        let Some(i) = self.position(seq).filter(|&i| self.is_corrected(i)) else {
            return Vec::new();
        };
        self.rows
            .range(i + 1..)
            .filter(|r| r.corrects.as_ref().is_some_and(|(t, _)| *t == seq))
            .map(|r| r.seq)
            .collect()
    }

    /// The positions of the rows that pass `f`, newest first.
    pub fn matching(&self, f: &Filter) -> Vec<usize> {
        if *f == Filter::default() {
            return (0..self.rows.len()).rev().collect();
        }
        (0..self.rows.len())
            .rev()
            .filter(|&i| f.matches(&self.rows[i]))
            .collect()
    }
}
