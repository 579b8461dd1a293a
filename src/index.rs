//! The explorer's index over the whole ledger, as the browser's database (IndexedDB) holds
//! it: one record per segment of 256 events (the heat map's segments), written as the
//! audit verifies them. This module is its pure part: what a record holds, how rows go in
//! and come back out, and which records a search must read; `database` does the I/O.
//!
//! Invariants:
//! - A [`Segment`] holds consecutive verified events, all of one segment of the log
//!   (`seq / 256 == n`), in log order; `lines` is each event's canonical JSON (which has no
//!   raw line break), one per line, and `hashes` their leaf hashes, 64 hex digits each.
//! - The select fields' and keys' distinct values and the time range are kept as rows go
//!   in; they are what the database indexes, so a filter reads only the segments that can
//!   hold a match.
//! - A row read back is the row that went in (`Row::new` over the same members): the
//!   writer is checked by the reader.
//! - The same events make the same records, byte for byte, whatever batches they came in.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::window::{Filter, Row};

/// Events per segment (and per heat-map cell).
pub const SEGMENT: u64 = 256;

/// One segment's verified events, as one database record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Segment {
    /// The segment's number: its events' `seq / 256`.
    pub n: u64,
    /// The first event held.
    pub first: u64,
    /// How many events are held (`first..first + count`).
    pub count: u32,
    /// Each event's canonical JSON, one per line.
    pub lines: String,
    /// Each event's leaf hash, 64 hex digits each.
    pub hashes: String,
    pub kinds: BTreeSet<String>,
    pub sources: BTreeSet<String>,
    pub authors: BTreeSet<String>,
    pub keys: BTreeSet<String>,
    /// The earliest and latest event time (seconds) held, if any parsed.
    pub tmin: Option<f64>,
    pub tmax: Option<f64>,
}

impl Segment {
    /// An empty segment that starts at event `first`.
    pub fn starting(first: u64) -> Segment {
        Segment {
            n: first / SEGMENT,
            first,
            ..Segment::default()
        }
    }

    /// The event after the last one held.
    pub fn end(&self) -> u64 {
        self.first + u64::from(self.count)
    }

    /// Whether it holds its segment's last event (no event can follow in it).
    pub fn is_full(&self) -> bool {
        self.count > 0 && self.end().is_multiple_of(SEGMENT)
    }

    /// Appends the next event; refused (false) unless it is this segment's next one.
    pub fn push(&mut self, r: &Row) -> bool {
        if r.seq != self.end() || r.seq / SEGMENT != self.n || r.leaf_hash.len() != 64 {
            return false;
        }
        if self.count > 0 {
            self.lines.push('\n');
        }
        self.lines.push_str(&r.text);
        self.hashes.push_str(&r.leaf_hash);
        for (set, v) in [
            (&mut self.kinds, &r.kind),
            (&mut self.sources, &r.source),
            (&mut self.authors, &r.author),
            (&mut self.keys, &r.key),
        ] {
            if !set.contains(v.as_str()) {
                set.insert(v.clone());
            }
        }
        if let Some(t) = r.secs {
            self.tmin = Some(self.tmin.map_or(t, |m| m.min(t)));
            self.tmax = Some(self.tmax.map_or(t, |m| m.max(t)));
        }
        self.count += 1;
        true
    }

    /// Appends what `later` holds past this segment's end (the rest of a segment a later
    /// visit verified); false, and nothing changed, if `later` does not continue it.
    pub fn extend_with(&mut self, later: &Segment) -> bool {
        if later.n != self.n || later.first > self.end() {
            return false;
        }
        if later.end() <= self.end() {
            // Already held (the same verified events: the log only grows).
            return later.first >= self.first;
        }
        let mut out = self.clone();
        for r in later.rows() {
            match r {
                Ok(r) if r.seq < out.end() => {}
                Ok(r) if out.push(&r) => {}
                _ => return false,
            }
        }
        *self = out;
        true
    }

    /// The lines held, one per event, in log order.
    fn lines(&self) -> impl Iterator<Item = &str> + '_ {
        self.lines.split('\n').filter(|_| self.count > 0)
    }

    /// The row of the `i`th event held, read from its line; an error names what does not
    /// read back.
    fn read(&self, i: usize, line: &str) -> Result<Row, String> {
        let seq = self.first + i as u64;
        let hash = self
            .hashes
            .get(i * 64..i * 64 + 64)
            .ok_or_else(|| format!("event {seq}: no leaf hash stored"))?;
        // Read as the audit read it: a line that is not canonical JSON does not read back.
        match liveledger_core::jcs::parse_canonical(line.as_bytes()) {
            // The line is the members' canonical JSON: it is the row's text.
            Ok(Value::Object(m)) => Ok(Row::with_text(seq, hash.to_owned(), &m, line.to_owned())),
            Ok(_) => Err(format!(
                "event {seq}: stored as something other than an object"
            )),
            Err(e) => Err(format!("event {seq}: {e}")),
        }
    }

    /// The rows held, in log order (each line read once).
    pub fn rows(&self) -> impl Iterator<Item = Result<Row, String>> + '_ {
        self.lines().enumerate().map(|(i, l)| self.read(i, l))
    }

    /// The row of event `seq`, if held (only its line is read).
    pub fn row(&self, seq: u64) -> Option<Row> {
        let i = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        let line = self.lines().nth(i)?;
        self.read(i, line).ok()
    }

    /// The rows held before event `below` that pass `f` and the time bounds, newest first.
    /// The query is tried on each line as stored before the line is read (it searches the
    /// same canonical JSON), so a search reads back only what it may show.
    pub fn matching(&self, f: &Filter, time: (Option<f64>, Option<f64>), below: u64) -> Vec<Row> {
        let mut out: Vec<Row> = self
            .lines()
            .enumerate()
            .filter(|(i, line)| self.first + (*i as u64) < below && f.matches_text(line))
            .filter_map(|(i, line)| self.read(i, line).ok())
            .filter(|r| f.matches(r) && in_time(r, time))
            .collect();
        out.reverse();
        out
    }
}

/// Whether a row is within inclusive time bounds (a row without a time is not, once a
/// bound is set).
pub fn in_time(r: &Row, (lo, hi): (Option<f64>, Option<f64>)) -> bool {
    if lo.is_none() && hi.is_none() {
        return true;
    }
    r.secs
        .is_some_and(|t| lo.is_none_or(|lo| t >= lo) && hi.is_none_or(|hi| t <= hi))
}

/// Which of the database's indexes a search reads to choose its segments: each select
/// filter set, and the key, is one lookup (the segments holding that value); the time
/// bounds are two range lookups. No lookup at all means every segment (a text search
/// alone).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// `(index, value)`: segments whose `index` holds `value`.
    pub equal: Vec<(&'static str, String)>,
    /// Segments whose latest event is at or after this time.
    pub tmax_from: Option<f64>,
    /// Segments whose earliest event is at or before this time.
    pub tmin_until: Option<f64>,
}

impl Plan {
    pub fn new(f: &Filter, (lo, hi): (Option<f64>, Option<f64>)) -> Plan {
        let equal = [
            ("kinds", &f.kind),
            ("sources", &f.source),
            ("authors", &f.author),
            ("keys", &f.key),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(i, v)| (i, v.clone()))
        .collect();
        Plan {
            equal,
            tmax_from: lo,
            tmin_until: hi,
        }
    }

    /// The segments every lookup chose, newest first (`lookups` in the order of
    /// [`Plan::lookups`]; `all` is every segment, for a plan with none).
    pub fn choose(lookups: &[Vec<u64>], all: &[u64]) -> Vec<u64> {
        // (Sets built by insertion and filtered, not collected and retained: the page
        // carries no sort or tree removal for this.)
        let (first, rest) = match lookups.split_first() {
            Some((first, rest)) => (first.as_slice(), rest),
            None => (all, &[][..]),
        };
        let mut others = Vec::new();
        for l in rest {
            let mut set = BTreeSet::new();
            for n in l {
                set.insert(*n);
            }
            others.push(set);
        }
        let mut chosen = BTreeSet::new();
        for n in first {
            if others.iter().all(|o| o.contains(n)) {
                chosen.insert(*n);
            }
        }
        chosen.into_iter().rev().collect()
    }
}

/// Turns verified rows into segments as they arrive: each segment is handed over once it
/// is full, and the one being filled can be taken at a digest.
#[derive(Debug, Default)]
pub struct Indexer {
    current: Option<Segment>,
    full: Vec<Segment>,
    /// The first event seen, and whether every event since came in order.
    pub first: Option<u64>,
    pub gap: bool,
}

impl Indexer {
    pub fn push(&mut self, r: &Row) {
        self.first.get_or_insert(r.seq);
        let cur = self.current.get_or_insert_with(|| Segment::starting(r.seq));
        if !cur.push(r) {
            if r.seq != cur.end() {
                self.gap = true;
            }
            let done = std::mem::replace(cur, Segment::starting(r.seq));
            if done.count > 0 {
                self.full.push(done);
            }
            cur.push(r);
        }
        if cur.is_full() {
            self.full.extend(self.current.take());
        }
    }

    /// The segments filled since the last call.
    pub fn take_full(&mut self) -> Vec<Segment> {
        std::mem::take(&mut self.full)
    }

    /// The segment being filled, as it stands.
    pub fn partial(&self) -> Option<Segment> {
        self.current.clone().filter(|s| s.count > 0)
    }
}
