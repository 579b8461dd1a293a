//! The ledger writer, as a library: what `liveledger`'s commands, the append API,
//! `ingest`, the demo, tests and benchmarks all call. Writing a ledger: init, append (with the journal and recovery), correct, publish.
//!
//! Write order for a batch, which is what makes `kill -9` at any instant safe:
//! 1. check and sign every event of the batch in memory (a bad line appends nothing);
//! 2. write private payloads, then the journal (the batch's entries) atomically;
//! 3. write full tiles and bundles (immutable), then partial ones (one path per size, so
//!    the files the current checkpoint names are never touched);
//! 4. archive the new digest, then replace `checkpoint` atomically: the commit point;
//! 5. digest pages, the restart state, and finally remove the journal.
//!
//! A writer that finds a journal finishes that batch before anything else (steps 3–5 are
//! deterministic given the journal), so a batch is either fully in or, if the journal
//! never became durable, fully out.
//!
//! By lifecycle: `init` (a new ledger), `open` (the lock or lease, the journal's
//! recovery, the state checked against the checkpoint), `append` (steps 1–3, and the JSON
//! lines an author appends), `publish` (steps 4–5, the pages, the policy); this file holds
//! the writer's state and its authors. Every file is written through `store`.

use std::fs;

use liveledger_core::bundle;
use liveledger_core::checkpoint::VerifiedCheckpoint;
use liveledger_core::event::{self, ChainVerifier, EventDraft, PendingEvent, UnverifiedEvent};
use liveledger_core::hash::{leaf_hash, Hash};
use liveledger_core::layout;
use liveledger_core::note::{self, Note, SignerKey, VerifierKey, MAX_NOTE_SIZE};
use liveledger_core::sigcheck::{SignatureCheck, StrictVerifier};
use liveledger_core::tiles::{self, TileKind, TilePath, TileSet};
use liveledger_core::writer::LogWriter;
use serde_json::{json, Value};

use liveledger_store::process::{now, random_seed};
use liveledger_store::{self as store, read_capped, Error, Hold, Result, Store, WriteKind};

use liveledger_core::metadata::{Entries, Metadata};

mod append;
pub mod cosign;
mod init;
mod journal;
mod open;
pub mod pages;
use journal::{Journal, State};
mod publish;
pub use append::{parse_lines, pending};
pub use init::{create, init};
const MAX_LINE: usize = 60_000;

fn read_key(path: &std::path::Path) -> Result<SignerKey> {
    let s = read_capped(path, 4096)?;
    let s = String::from_utf8(s)
        .map_err(|_| Error::Input(format!("{} is not UTF-8", path.display())))?;
    SignerKey::parse(s.trim()).map_err(|e| Error::Input(format!("{}: {e}", path.display())))
}

/// What `init` is asked for.
pub struct InitOptions {
    pub origin: String,
    pub author: String,
    pub cadence_seconds: u64,
    /// Opaque entries (any C2SP log), no events, no time cosignature.
    pub raw: bool,
    /// Use this log signer key (Go `PRIVATE+KEY+…` form) instead of a new one.
    pub log_key: Option<SignerKey>,
    pub witnesses: Vec<VerifierKey>,
    pub witness_threshold: usize,
}

/// A ledger open for writing (holds the lock).
pub struct Writer {
    pub store: Store,
    pub meta: Metadata,
    log_key: SignerKey,
    time_key: Option<SignerKey>,
    writer: LogWriter,
    chain: Option<ChainVerifier>,
    governance_seqs: Vec<u64>,
    /// The witnesses' answers at the last publish (with a witness policy).
    pub witnessed: Option<cosign::Gathered>,
    /// The published tree's hold for this writer (an object store's lease), renewed
    /// before each checkpoint.
    hold: Box<dyn Hold>,
    _lock: fs::File,
}

/// An event appended: durable, and in the published checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    /// Its RFC 6962 leaf hash (what an inclusion proof proves).
    pub leaf: Hash,
}

/// One event to append, as read from a JSON line.
pub struct Pending {
    /// The input line it came from (1-based), for messages.
    pub line: usize,
    pub draft: EventDraft,
    /// A private payload: body kept off the ledger, with its salt.
    pub private: Option<(Value, [u8; 32])>,
}

impl Writer {
    /// The author key to sign with: `name`, or the only/first admin key in the key dir.
    pub fn author(&self, name: Option<&str>) -> Result<SignerKey> {
        if let Some(n) = name {
            let p = self.store.author_key(n);
            if !p.exists() {
                return Err(Error::Usage(format!(
                    "no author key {n:?} in {}",
                    self.store.authors_dir().display()
                )));
            }
            return read_key(&p);
        }
        let mut names: Vec<_> = fs::read_dir(self.store.authors_dir())
            .map_err(|e| Error::io(&self.store.authors_dir(), e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "key"))
            .collect();
        names.sort();
        let gov = self
            .chain
            .as_ref()
            .map(|c| c.governance().clone())
            .unwrap_or_default();
        for p in &names {
            let k = read_key(p)?;
            if gov
                .author(&k.verifier().short())
                .is_some_and(|a| a.role == event::Role::Admin && a.revoked_at.is_none())
            {
                return Ok(k);
            }
        }
        Err(Error::Usage(
            "no admin author key found; pass --author NAME".into(),
        ))
    }

    /// Adds an author key (creating it) with a `ledger.key.add` event.
    pub fn add_author(&mut self, name: &str, role: &str, admin: &SignerKey) -> Result<VerifierKey> {
        let k = SignerKey::from_seed(name, note::ALG_ED25519, random_seed()?)
            .map_err(|e| Error::Usage(e.to_string()))?;
        let p = self.store.author_key(name);
        if p.exists() {
            return Err(Error::Usage(format!(
                "author key {} exists already",
                p.display()
            )));
        }
        let role = event::Role::parse(role).ok_or_else(|| {
            Error::Usage(format!("role {role:?}: expected \"admin\" or \"writer\""))
        })?;
        let d = EventDraft::key_add(&k.verifier(), role);
        self.store
            .write_secret(&p, k.to_secret_string().as_bytes())?;
        self.append(
            vec![Pending {
                line: 1,
                draft: d,
                private: None,
            }],
            admin,
        )?;
        Ok(k.verifier())
    }

    /// Reads event `seq` of the current log.
    pub fn event(&self, seq: u64) -> Result<UnverifiedEvent> {
        if seq >= self.size() {
            return Err(Error::Usage(format!(
                "event {seq} does not exist; the ledger has {} events",
                self.size()
            )));
        }
        let b = self.entry(self.size(), seq)?;
        UnverifiedEvent::parse(&b).map_err(|e| Error::Corrupt(e.to_string()))
    }
}
