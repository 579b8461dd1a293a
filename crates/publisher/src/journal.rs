//! The writer's two private files in `DIR.keys/`, typed: the journal of a batch being
//! written, and the restart state.
//!
//! **Journal** (`journal`), written atomically before any published file of a batch
//! changes and removed once the batch is published (see the write order in `ledger`):
//!
//! ```text
//! liveledger/journal/v1
//! <base: the size before the batch>
//! <n: the number of entries>
//! <each entry, standard base64, one per line>
//! end <SHA-256 hex of every line above, newlines included>
//! ```
//!
//! A journal that does not parse exactly (a torn write never is one: the write is atomic;
//! this is a damaged disk or a hand edit) is refused, never half applied.
//!
//! **State** (`state.json`): `{"size": N, "governance": [seq, …]}`, the governance events'
//! sequence numbers at size N, so a restart resumes the chain rules without reading every
//! event. Only a hint: a state for another size, or one that does not parse, is ignored
//! and the chain is re-verified from the files.

use liveledger_core::b64;
use serde_json::{json, Value};

const HEADER: &str = "liveledger/journal/v1";

/// A batch being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Journal {
    /// The ledger's size before the batch.
    pub base: u64,
    /// The batch's entries, in order.
    pub entries: Vec<Vec<u8>>,
}

impl Journal {
    pub(crate) fn encode(&self) -> String {
        let mut j = format!("{HEADER}\n{}\n{}\n", self.base, self.entries.len());
        for e in &self.entries {
            j.push_str(&b64::encode(e));
            j.push('\n');
        }
        let sum = liveledger_core::hash::sha256(j.as_bytes()).to_hex();
        j.push_str(&format!("end {sum}\n"));
        j
    }

    /// The journal `text` holds, if it is exactly one.
    pub(crate) fn parse(text: &str) -> Option<Journal> {
        let body = text.strip_suffix('\n')?;
        let (body, end) = body.rsplit_once('\n')?;
        let body = format!("{body}\n");
        let sum = end.strip_prefix("end ")?;
        if liveledger_core::hash::sha256(body.as_bytes()).to_hex() != sum {
            return None;
        }
        let mut lines = body.lines();
        if lines.next()? != HEADER {
            return None;
        }
        let base = liveledger_core::checkpoint::parse_decimal(lines.next()?)?;
        let n = usize::try_from(liveledger_core::checkpoint::parse_decimal(lines.next()?)?).ok()?;
        let entries: Vec<Vec<u8>> = lines.map(|l| b64::decode(l).ok()).collect::<Option<_>>()?;
        (entries.len() == n).then_some(Journal { base, entries })
    }
}

/// The restart state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct State {
    pub size: u64,
    /// The governance events' sequence numbers.
    pub governance: Vec<u64>,
}

impl State {
    pub(crate) fn encode(&self) -> String {
        json!({"size": self.size, "governance": self.governance}).to_string()
    }

    /// The state `text` holds, if it is one.
    pub(crate) fn parse(text: &str) -> Option<State> {
        let v: Value = serde_json::from_str(text).ok()?;
        let governance = v["governance"]
            .as_array()?
            .iter()
            .map(Value::as_u64)
            .collect::<Option<Vec<u64>>>()?;
        Some(State {
            size: v["size"].as_u64()?,
            governance,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_reads_back_as_written_and_any_damage_is_refused() {
        let j = Journal {
            base: 41,
            entries: vec![b"one".to_vec(), vec![], vec![0, 255, 10, 13]],
        };
        let text = j.encode();
        assert_eq!(Journal::parse(&text), Some(j.clone()));
        assert!(text.starts_with("liveledger/journal/v1\n41\n3\nb25l\n\nAP8KDQ==\nend "));
        // Every truncation and every changed byte is refused.
        for cut in 0..text.len() {
            assert_eq!(Journal::parse(&text[..cut]), None, "cut at {cut}");
        }
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            let mut b = bytes.to_vec();
            b[i] ^= 0x01;
            if let Ok(t) = String::from_utf8(b) {
                assert_eq!(Journal::parse(&t), None, "byte {i}");
            }
        }
        let empty = Journal {
            base: 0,
            entries: vec![],
        };
        assert_eq!(Journal::parse(&empty.encode()), Some(empty));
    }

    #[test]
    fn a_state_reads_back_and_a_malformed_one_is_none() {
        let s = State {
            size: 7,
            governance: vec![0, 3],
        };
        assert_eq!(State::parse(&s.encode()), Some(s));
        for bad in [
            "",
            "{}",
            r#"{"size":7}"#,
            r#"{"size":7,"governance":[-1]}"#,
            r#"{"size":"7","governance":[]}"#,
        ] {
            assert_eq!(State::parse(bad), None, "{bad}");
        }
    }
}
