//! Builds small ledgers for tests: the writer's output, served from memory.
#![allow(dead_code)]

use std::collections::BTreeMap;

use liveledger_core::checkpoint::VerifiedCheckpoint;
use liveledger_core::event::{genesis_prev, EventDraft};
use liveledger_core::hash::{leaf_hash, Hash};
use liveledger_core::note::{Note, SignerKey};
use liveledger_core::tiles::TilePath;
use liveledger_core::time::Timestamp;
use liveledger_core::writer::LogWriter;
use serde_json::json;

pub const ORIGIN: &str = "ledger.example.org/test";

pub fn key(name: &str, n: u8) -> SignerKey {
    SignerKey::from_seed(name, 1, [n; 32]).unwrap()
}

/// A ledger in memory: files by path, and the signed checkpoints by size.
pub struct Ledger {
    pub log_key: SignerKey,
    pub admin: SignerKey,
    pub writer: LogWriter,
    pub files: BTreeMap<String, Vec<u8>>,
    pub checkpoints: BTreeMap<u64, Vec<u8>>,
    pub entries: Vec<Vec<u8>>,
    pub prev: Hash,
    pub time: i64,
}

impl Ledger {
    /// A ledger with a genesis event: admin `alice`, writer `bob`.
    pub fn new() -> Self {
        let mut l = Ledger {
            log_key: key(ORIGIN, 1),
            admin: key("alice@example.org", 2),
            writer: LogWriter::new(),
            files: BTreeMap::new(),
            checkpoints: BTreeMap::new(),
            entries: Vec::new(),
            prev: genesis_prev(ORIGIN),
            time: 1_790_000_000,
        };
        let genesis = EventDraft {
            kind: "ledger.genesis".into(),
            source: "liveledger-test".into(),
            body: Some(json!({
                "origin": ORIGIN,
                "keys": [
                    {"key": key("alice@example.org", 2).verifier().to_string(), "role": "admin"},
                    {"key": key("bob@example.org", 3).verifier().to_string(), "role": "writer"},
                ],
                "log_keys": [key(ORIGIN, 1).verifier().to_string()],
            })),
            ..Default::default()
        };
        let admin = l.admin.clone();
        l.append_draft(&genesis, &admin);
        l
    }

    /// A ledger published at every size from 1 to `n`; from `fork_after` on, other events
    /// than the original's (the same keys signing another history).
    pub fn grown(n: u64, fork_after: Option<u64>) -> Self {
        let mut l = Ledger::new();
        l.publish();
        for i in 1..n {
            match fork_after {
                Some(s) if i >= s => l.payment(i + 1000),
                _ => l.payment(i),
            };
            l.publish();
        }
        l
    }

    pub fn bob() -> SignerKey {
        key("bob@example.org", 3)
    }

    pub fn next_time(&mut self) -> Timestamp {
        self.time += 1;
        Timestamp::from_unix(self.time, 0).unwrap()
    }

    /// Signs and appends a draft, returning the entry bytes.
    pub fn append_draft(&mut self, d: &EventDraft, author: &SignerKey) -> Vec<u8> {
        let seq = self.writer.size();
        let t = self.next_time();
        let bytes = d.sign(seq, t, self.prev, author).unwrap();
        self.append_raw(bytes.clone());
        bytes
    }

    /// Appends raw entry bytes, whatever they are.
    pub fn append_raw(&mut self, bytes: Vec<u8>) {
        self.prev = leaf_hash(&bytes);
        for (p, b) in self.writer.append(&bytes).unwrap() {
            self.files.insert(p.to_string(), b);
        }
        self.entries.push(bytes);
    }

    pub fn payment(&mut self, i: u64) -> Vec<u8> {
        let d = EventDraft {
            kind: "payment".into(),
            source: if i.is_multiple_of(2) {
                "erp-eu"
            } else {
                "erp-us"
            }
            .into(),
            key: Some(format!("account/{}", i % 7)),
            body: Some(json!({"amount": i * 100, "currency": "EUR"})),
            ..Default::default()
        };
        self.append_draft(&d, &Self::bob())
    }

    /// Publishes: partial files and a signed checkpoint for the current size.
    pub fn publish(&mut self) -> u64 {
        for (p, b) in self.writer.partial_files().unwrap() {
            self.files.insert(p.to_string(), b);
        }
        let cp = self.writer.checkpoint(ORIGIN, vec![]);
        let note = Note::sign(&cp.to_text(), &[&self.log_key], 0).unwrap();
        self.checkpoints.insert(self.writer.size(), note.to_bytes());
        self.files.insert("checkpoint".into(), note.to_bytes());
        self.writer.size()
    }

    pub fn checkpoint(&self, size: u64) -> VerifiedCheckpoint {
        VerifiedCheckpoint::open(&self.checkpoints[&size], &[self.log_key.verifier()], ORIGIN)
            .unwrap()
    }

    pub fn file(&self, p: TilePath) -> &[u8] {
        self.files
            .get(&p.to_string())
            .unwrap_or_else(|| panic!("no file {p}"))
    }
}
