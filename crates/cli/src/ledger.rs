//! Writing a ledger: init, append (with the journal and recovery), correct, publish.
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

use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

use liveledger_core::b64;
use liveledger_core::bundle;
use liveledger_core::checkpoint::VerifiedCheckpoint;
use liveledger_core::event::{self, ChainVerifier, EventDraft, PendingEvent, UnverifiedEvent};
use liveledger_core::hash::{leaf_hash, Hash};
use liveledger_core::note::{self, Note, SignerKey, VerifierKey};
use liveledger_core::sigcheck::{SignatureCheck, StrictVerifier};
use liveledger_core::tiles::{self, TileKind, TilePath, TileSet};
use liveledger_core::time::Timestamp;
use liveledger_core::writer::LogWriter;
use serde_json::{json, Value};

use crate::error::{CliError, Result};
use crate::pages;
use crate::store::{self, read_capped, Store, WriteKind};

use liveledger_core::metadata::{Entries, Metadata, HEADER as METADATA_HEADER};
const JOURNAL_HEADER: &str = "liveledger/journal/v1";
const MAX_LINE: usize = 60_000;

pub fn random_seed() -> Result<[u8; 32]> {
    let mut s = [0u8; 32];
    getrandom::fill(&mut s)
        .map_err(|e| CliError::Io(format!("no randomness from the system: {e}")))?;
    Ok(s)
}

pub fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix(d.as_secs() as i64, d.subsec_millis() * 1_000_000)
        .unwrap_or_else(|| Timestamp::from_unix(0, 0).expect("the epoch is a valid time"))
}

fn read_key(path: &std::path::Path) -> Result<SignerKey> {
    let s = read_capped(path, 4096)?;
    let s = String::from_utf8(s)
        .map_err(|_| CliError::Input(format!("{} is not UTF-8", path.display())))?;
    SignerKey::parse(s.trim()).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
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
    pub witnessed: Option<crate::cosign::Gathered>,
    /// With an object store: this writer's lease on it (renewed before each checkpoint).
    lease: Option<LeaseGuard>,
    _lock: fs::File,
}

/// A held lease on the object store, let go when the writer closes.
struct LeaseGuard {
    bucket: std::sync::Arc<crate::bucket::Bucket>,
    lease: crate::bucket::Lease,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.bucket.release(&self.lease);
    }
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

pub fn init(store: &Store, o: InitOptions) -> Result<()> {
    if store.has("checkpoint")? || store.log_key().exists() {
        return Err(CliError::Usage(format!(
            "{} already holds a ledger (or {} a key); init never overwrites one",
            store.location(),
            store.keys.display()
        )));
    }
    if o.origin.is_empty() || o.origin.contains(char::is_whitespace) || o.origin.contains('+') {
        return Err(CliError::Usage(format!(
            "origin {:?} must be non-empty, without spaces or '+'",
            o.origin
        )));
    }
    store.create_key_dir()?;
    fs::create_dir_all(&store.dir).map_err(|e| CliError::io(&store.dir, e))?;
    let log_key = match o.log_key {
        Some(k) => k,
        None => SignerKey::from_seed(&o.origin, note::ALG_ED25519, random_seed()?)
            .map_err(|e| CliError::Usage(e.to_string()))?,
    };
    store.write_secret(&store.log_key(), log_key.to_secret_string().as_bytes())?;
    let mut meta = json!({
        "origin": o.origin,
        "log_keys": [log_key.verifier().to_string()],
        "cadence_seconds": o.cadence_seconds,
        "witnesses": {
            "keys": o.witnesses.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            "threshold": o.witness_threshold,
        },
        "verifier": "index.html",
    });
    let mut author = None;
    if o.raw {
        meta["entries"] = json!("opaque");
    } else {
        let time_key = SignerKey::from_seed(
            &format!("{}/time", o.origin),
            note::ALG_COSIGNATURE_V1,
            random_seed()?,
        )
        .map_err(|e| CliError::Usage(e.to_string()))?;
        store.write_secret(&store.time_key(), time_key.to_secret_string().as_bytes())?;
        meta["time_key"] = json!(time_key.verifier().to_string());
        meta["entries"] = json!("liveledger/event/v1");
        let a = SignerKey::from_seed(&o.author, note::ALG_ED25519, random_seed()?)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        store.write_secret(
            &store.author_key(&o.author),
            a.to_secret_string().as_bytes(),
        )?;
        meta["authors"] = json!([{"key": a.verifier().to_string(), "role": "admin"}]);
        author = Some(a);
    }
    let text = format!(
        "{METADATA_HEADER}\n{}\n",
        liveledger_core::jcs::to_canonical(&meta).map_err(|e| CliError::Input(e.to_string()))?
    );
    let note = Note::sign(&text, &[&log_key], 0).map_err(|e| CliError::Input(e.to_string()))?;
    store.put("metadata", &note.to_bytes(), WriteKind::Atomic)?;
    // The empty log's checkpoint, then (for a ledger) the genesis event.
    let mut w = Writer::open(store)?;
    w.publish_checkpoint(0)?;
    if let Some(a) = author {
        let genesis = EventDraft {
            kind: event::KIND_GENESIS.into(),
            source: "liveledger".into(),
            body: Some(json!({
                "origin": w.meta.origin,
                "keys": [{"key": a.verifier().to_string(), "role": "admin"}],
                "log_keys": [w.log_key.verifier().to_string()],
            })),
            ..Default::default()
        };
        w.append(
            vec![Pending {
                line: 1,
                draft: genesis,
                private: None,
            }],
            &a,
        )?;
    }
    Ok(())
}

impl Writer {
    /// Opens a ledger for writing: takes the lock, finishes an interrupted batch, and
    /// resumes from the files on disk (checking they agree with the checkpoint).
    pub fn open(store: &Store) -> Result<Writer> {
        if !store.has("metadata")? {
            return Err(CliError::Usage(format!(
                "{} is not a ledger (no metadata); create one with `liveledger init`",
                store.location()
            )));
        }
        let lock = store.lock()?;
        let lease = match store.bucket() {
            Some(b) => Some(LeaseGuard {
                bucket: b.clone(),
                lease: b.acquire(&store.keys)?,
            }),
            None => None,
        };
        let log_key = read_key(&store.log_key())?;
        let raw_meta = store.read("metadata", 1 << 20)?;
        let note = Note::parse(&raw_meta)
            .and_then(|n| n.verify(&[log_key.verifier()]))
            .map_err(|e| CliError::Corrupt(format!("{}: {e}", store.describe("metadata"))))?;
        let meta = Metadata::parse(note.text())
            .map_err(|e| CliError::Corrupt(format!("{}: {e}", store.describe("metadata"))))?;
        let time_key = if meta.entries == Entries::Opaque {
            None
        } else {
            Some(read_key(&store.time_key())?)
        };
        let mut w = Writer {
            store: store.clone(),
            meta,
            log_key,
            time_key,
            writer: LogWriter::new(),
            chain: None,
            governance_seqs: Vec::new(),
            witnessed: None,
            lease,
            _lock: lock,
        };
        w.load()?;
        if w.recover()? {
            // The batch is in: reload the right edge and the chain from the files.
            w.governance_seqs.clear();
            w.load()?;
        }
        Ok(w)
    }

    pub fn size(&self) -> u64 {
        self.writer.size()
    }

    /// Renews this writer's lease on its object store (none on disk): fails if another
    /// writer took it.
    fn renew_lease(&mut self) -> Result<()> {
        match self.lease.as_mut() {
            Some(g) => g.bucket.renew(&mut g.lease),
            None => Ok(()),
        }
    }

    /// The checkpoint to resume from: the latest the log signed (`latest`, when a
    /// witness policy held the published one back), else the published one.
    fn verified_checkpoint(&self) -> Result<Option<VerifiedCheckpoint>> {
        let open = |b: Option<Vec<u8>>, at: String| -> Result<Option<VerifiedCheckpoint>> {
            let Some(b) = b else { return Ok(None) };
            VerifiedCheckpoint::open(&b, &[self.log_key.verifier()], &self.meta.origin)
                .map(Some)
                .map_err(|e| CliError::Corrupt(format!("{at}: {e}")))
        };
        let published = open(
            self.store.get("checkpoint", 1 << 20)?,
            self.store.describe("checkpoint"),
        )?;
        let latest_path = self.store.latest();
        let latest = match latest_path.exists() {
            true => Some(read_capped(&latest_path, 1 << 20)?),
            false => None,
        };
        let latest = open(latest, latest_path.display().to_string())?;
        Ok(match (published, latest) {
            (Some(p), Some(l)) if l.size() > p.size() => Some(l),
            (p, l) => p.or(l),
        })
    }

    /// The published (witnessed) checkpoint's size.
    pub fn published_size(&self) -> u64 {
        self.store
            .get("checkpoint", 1 << 20)
            .ok()
            .flatten()
            .and_then(|b| {
                VerifiedCheckpoint::open(&b, &[self.log_key.verifier()], &self.meta.origin).ok()
            })
            .map_or(0, |c| c.size())
    }

    fn read_tile(&self, p: TilePath) -> Result<Vec<u8>> {
        self.store.read(&p.to_string(), 64 * 1024 * 256)
    }

    /// Loads the right edge of the log at the checkpoint's size.
    fn load(&mut self) -> Result<()> {
        let Some(cp) = self.verified_checkpoint()? else {
            return Ok(());
        };
        let size = cp.size();
        let mut hashes = Vec::new();
        let mut bundle = None;
        for p in tiles::partial_tiles(size) {
            let b = self.read_tile(p)?;
            if p.kind() == TileKind::Entries {
                bundle = Some(b);
            } else {
                let h =
                    tiles::decode_hash_tile(p, &b).map_err(|e| CliError::Corrupt(e.to_string()))?;
                hashes.push((p, h));
            }
        }
        let w = LogWriter::resume(size, &hashes, bundle.as_deref())
            .map_err(|e| CliError::Corrupt(e.to_string()))?;
        if w.root() != cp.root() {
            return Err(CliError::Corrupt(format!(
                "the tiles in {} give root {}, but the checkpoint says {}",
                self.store.location(),
                w.root(),
                cp.root()
            )));
        }
        self.writer = w;
        if self.meta.entries != Entries::Opaque {
            self.load_chain(size)?;
        }
        Ok(())
    }

    /// Reads entry `i` of a log of `size` from disk.
    fn entry(&self, size: u64, i: u64) -> Result<Vec<u8>> {
        let (p, pos) =
            tiles::bundle_for_entry(size, i).map_err(|e| CliError::Corrupt(e.to_string()))?;
        let b = self.read_tile(p)?;
        let entries = bundle::decode_bundle(&b, p.width())
            .map_err(|e| CliError::Corrupt(format!("{p}: {e}")))?;
        Ok(entries[pos].to_vec())
    }

    fn load_chain(&mut self, size: u64) -> Result<()> {
        if size == 0 {
            self.chain = Some(ChainVerifier::new(&self.meta.origin));
            return Ok(());
        }
        let state = fs::read_to_string(self.store.state())
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok());
        let seqs: Option<Vec<u64>> =
            state
                .filter(|s| s["size"].as_u64() == Some(size))
                .and_then(|s| {
                    s["governance"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_u64).collect())
                });
        if let Some(seqs) = seqs {
            let gov: Vec<Vec<u8>> = seqs
                .iter()
                .map(|&s| self.entry(size, s))
                .collect::<Result<_>>()?;
            let last = self.entry(size, size - 1)?;
            let last_ev =
                UnverifiedEvent::parse(&last).map_err(|e| CliError::Corrupt(e.to_string()))?;
            let refs: Vec<&[u8]> = gov.iter().map(Vec::as_slice).collect();
            if let Ok(c) = ChainVerifier::resume(
                &self.meta.origin,
                &refs,
                size,
                leaf_hash(&last),
                Some(last_ev.time),
            ) {
                self.chain = Some(c);
                self.governance_seqs = seqs;
                return Ok(());
            }
        }
        // No usable restart state: re-verify the whole chain from the files.
        let mut c = ChainVerifier::new(&self.meta.origin);
        self.governance_seqs.clear();
        for b in 0..tiles::bundle_count(size) {
            let p = tiles::bundle_at(size, b).map_err(|e| CliError::Corrupt(e.to_string()))?;
            let bytes = self.read_tile(p)?;
            for e in bundle::decode_bundle(&bytes, p.width())
                .map_err(|e| CliError::Corrupt(format!("{p}: {e}")))?
            {
                let ev = c
                    .check(e, leaf_hash(e))
                    .map_err(|e| CliError::Corrupt(format!("{p}: {e}")))?;
                if ev.event().is_governance() {
                    self.governance_seqs.push(ev.event().seq);
                }
            }
        }
        self.chain = Some(c);
        Ok(())
    }

    /// Finishes a batch that a crashed writer journaled. True if there was one.
    fn recover(&mut self) -> Result<bool> {
        let Ok(j) = fs::read_to_string(self.store.journal()) else {
            return Ok(false);
        };
        let (base, entries) = parse_journal(&j).ok_or_else(|| {
            CliError::Corrupt(format!(
                "journal {} is malformed",
                self.store.journal().display()
            ))
        })?;
        let size = self.size();
        if size == base {
            eprintln!(
                "liveledger: finishing an interrupted batch of {} entries",
                entries.len()
            );
            self.apply(&entries)?;
            self.finish(base)?;
        } else if size == base + entries.len() as u64 {
            self.finish(base)?;
        } else {
            return Err(CliError::Corrupt(format!(
                "journal is for size {base} + {}, but the log has {size} entries",
                entries.len()
            )));
        }
        let _ = fs::remove_file(self.store.state());
        let _ = fs::remove_file(self.store.journal());
        Ok(true)
    }

    /// Signs and checks a batch, then commits it durably. Returns each new event's
    /// sequence number and leaf hash.
    pub fn append(&mut self, batch: Vec<Pending>, author: &SignerKey) -> Result<Vec<Appended>> {
        if self.meta.entries == Entries::Opaque {
            return Err(CliError::Usage(
                "this log holds opaque entries; use `append --raw`".into(),
            ));
        }
        let mut chain = self
            .chain
            .clone()
            .unwrap_or_else(|| ChainVerifier::new(&self.meta.origin));
        if chain.next_index() != self.size() {
            return Err(CliError::Corrupt(format!(
                "the event chain ends at {} but the log has {} entries",
                chain.next_index(),
                self.size()
            )));
        }
        // Stages over every core: this thread signs each event (the chain makes signing
        // sequential: each signs the hash of the one before); a second one checks every
        // signed event with the chain verifier, as a reader will, and hands the signature
        // checks round robin to verifier threads (one per core). Nothing is written before
        // every check has passed. The first failure in line order is the one reported.
        let mut entries = Vec::with_capacity(batch.len());
        let mut privates = Vec::new();
        let (mut seq, mut prev, mut last) =
            (chain.next_index(), chain.prev_hash(), chain.last_time());
        let verifiers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
        // Events travel between the threads in chunks: a message per event would cost a
        // futex wake-up per event and hop (measured: about a fifth of the CPU time).
        const CHUNK: usize = 64;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(usize, Vec<u8>)>>(8);
        type Job = (usize, PendingEvent, SignatureCheck);
        let (signed, checked, verified) = std::thread::scope(|scope| {
            let mut queues = Vec::new();
            let mut verifier_threads = Vec::new();
            for _ in 0..verifiers {
                let (vtx, vrx) = std::sync::mpsc::sync_channel::<Vec<Job>>(8);
                queues.push(vtx);
                verifier_threads.push(scope.spawn(
                    move || -> std::result::Result<Vec<u64>, (usize, CliError)> {
                        let mut gov = Vec::new();
                        let mut keys = StrictVerifier::new();
                        for (line, pending, check) in vrx.into_iter().flatten() {
                            let ev = pending.confirm(keys.check(&check)).map_err(|e| {
                                (line, CliError::Input(format!("line {line}: {e}")))
                            })?;
                            if ev.event().is_governance() {
                                gov.push(ev.event().seq);
                            }
                        }
                        Ok(gov)
                    },
                ));
            }
            let checker = scope.spawn(
                move || -> std::result::Result<ChainVerifier, (usize, CliError)> {
                    let mut jobs: Vec<Vec<Job>> = queues.iter().map(|_| Vec::new()).collect();
                    let mut to = 0;
                    // Sends every job taken so far (also before reporting a failure, so that
                    // an earlier bad signature is still found).
                    let flush = |jobs: &mut Vec<Vec<Job>>| {
                        jobs.iter_mut()
                            .zip(&queues)
                            .all(|(j, q)| j.is_empty() || q.send(std::mem::take(j)).is_ok())
                    };
                    for (line, bytes) in rx.into_iter().flatten() {
                        let (pending, check) = match chain.check_deferred(&bytes, leaf_hash(&bytes))
                        {
                            Ok(p) => p,
                            Err(e) => {
                                flush(&mut jobs);
                                return Err((line, CliError::Input(format!("line {line}: {e}"))));
                            }
                        };
                        jobs[to].push((line, pending, check));
                        if jobs[to].len() == CHUNK {
                            let full = std::mem::take(&mut jobs[to]);
                            if queues[to].send(full).is_err() {
                                break; // a verifier stopped at a failure: it reports it
                            }
                            to = (to + 1) % queues.len();
                        }
                    }
                    flush(&mut jobs);
                    Ok(chain)
                },
            );
            let mut chunk = Vec::with_capacity(CHUNK);
            let signed = (|| -> Result<()> {
                for p in batch {
                    let line = p.line;
                    let t = last.map_or(now(), |l| l.max(now()));
                    let mut d = p.draft;
                    if let Some((body, salt)) = &p.private {
                        d.commitment = Some(
                            event::commitment(salt, body)
                                .map_err(|e| CliError::Input(format!("line {line}: {e}")))?,
                        );
                        privates.push((seq, body.clone(), *salt));
                    }
                    let bytes = d
                        .sign_unparsed(seq, t, prev, author)
                        .map_err(|e| CliError::Input(format!("line {line}: {e}")))?;
                    prev = leaf_hash(&bytes);
                    last = Some(t);
                    seq += 1;
                    chunk.push((line, bytes.clone()));
                    entries.push(bytes);
                    if chunk.len() == CHUNK && tx.send(std::mem::take(&mut chunk)).is_err() {
                        break; // the checker stopped at a failure: it reports it
                    }
                }
                Ok(())
            })();
            // What was signed before a failure is checked too: its errors come first.
            if !chunk.is_empty() {
                let _ = tx.send(chunk);
            }
            drop(tx);
            let panicked = || {
                (
                    usize::MAX,
                    CliError::Corrupt("an event checker panicked".into()),
                )
            };
            let checked = checker.join().unwrap_or_else(|_| Err(panicked()));
            let verified: Vec<_> = verifier_threads
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|_| Err(panicked())))
                .collect();
            (signed, checked, verified)
        });
        // The checkers only saw lines before a signing failure, so their errors come
        // first; among theirs, the earliest line.
        let mut gov = Vec::new();
        let mut first: Option<(usize, CliError)> = None;
        let mut note = |e: (usize, CliError)| {
            if first.as_ref().is_none_or(|f| e.0 < f.0) {
                first = Some(e);
            }
        };
        let chain = match checked {
            Ok(c) => Some(c),
            Err(e) => {
                note(e);
                None
            }
        };
        for v in verified {
            match v {
                Ok(g) => gov.extend(g),
                Err(e) => note(e),
            }
        }
        if let Some((_, e)) = first {
            return Err(e);
        }
        signed?;
        let chain = chain.ok_or_else(|| CliError::Corrupt("the event checker stopped".into()))?;
        gov.sort_unstable();
        for (seq, body, salt) in privates {
            let doc = json!({"seq": seq, "salt": Hash(salt).to_hex(), "body": body});
            self.store
                .write_secret(&self.store.private(seq), doc.to_string().as_bytes())?;
        }
        let base = self.size();
        self.commit(base, &entries)?;
        self.chain = Some(chain);
        self.governance_seqs.extend(gov);
        self.write_state()?;
        let _ = fs::remove_file(self.store.journal());
        Ok(entries
            .iter()
            .zip(base..)
            .map(|(e, seq)| Appended {
                seq,
                leaf: leaf_hash(e),
            })
            .collect())
    }

    /// Appends opaque entries (a plain C2SP log), publishing a checkpoint after each one
    /// when `each` is set (as tessera's test log does).
    pub fn append_raw(&mut self, entries: Vec<Vec<u8>>, each: bool) -> Result<()> {
        if self.meta.entries != Entries::Opaque {
            return Err(CliError::Usage(
                "this ledger holds events; `--raw` is only for logs made with `init --raw`".into(),
            ));
        }
        if each {
            for e in entries {
                let base = self.size();
                self.commit(base, &[e])?;
                let _ = fs::remove_file(self.store.journal());
            }
        } else {
            let base = self.size();
            self.commit(base, &entries)?;
            let _ = fs::remove_file(self.store.journal());
        }
        Ok(())
    }

    fn commit(&mut self, base: u64, entries: &[Vec<u8>]) -> Result<()> {
        for (i, e) in entries.iter().enumerate() {
            if e.len() > tiles::MAX_ENTRY_SIZE {
                return Err(CliError::Input(format!(
                    "entry {} is {} bytes, more than 65535",
                    i + 1,
                    e.len()
                )));
            }
        }
        let mut j = format!("{JOURNAL_HEADER}\n{base}\n{}\n", entries.len());
        for e in entries {
            j.push_str(&b64::encode(e));
            j.push('\n');
        }
        j.push_str(&format!(
            "end {}\n",
            liveledger_core::hash::sha256(j.as_bytes()).to_hex()
        ));
        store::write_atomic(&self.store.journal(), j.as_bytes())?;
        self.apply(entries)?;
        self.finish(base)
    }

    /// Writes the tiles and bundles of `entries` (steps 3 of the module docs).
    fn apply(&mut self, entries: &[Vec<u8>]) -> Result<()> {
        let mut w = self.writer.clone();
        let mut files = Vec::new();
        for e in entries {
            for (p, b) in w.append(e).map_err(|e| CliError::Input(e.to_string()))? {
                let kind = match p.kind() {
                    tiles::TileKind::Entries => WriteKind::ImmutableGzip,
                    tiles::TileKind::Hashes(_) => WriteKind::Immutable,
                };
                files.push((p.to_string(), b, kind));
            }
        }
        for (p, b) in w
            .partial_files()
            .map_err(|e| CliError::Corrupt(e.to_string()))?
        {
            files.push((p.to_string(), b, WriteKind::Atomic));
        }
        // In an object store, a writer that lost its lease writes nothing more: not even
        // tiles (a partial tile is replaced in place).
        self.renew_lease()?;
        self.store.put_many(&files)?;
        self.writer = w;
        Ok(())
    }

    /// Steps 4 and 5: archive and publish the checkpoint, then the pages.
    fn finish(&mut self, previous: u64) -> Result<()> {
        self.publish_checkpoint(previous)?;
        Ok(())
    }

    fn write_state(&self) -> Result<()> {
        let s = json!({"size": self.size(), "governance": self.governance_seqs});
        store::write_atomic(&self.store.state(), s.to_string().as_bytes())
    }

    /// Signs a checkpoint for the current size (with a fresh time cosignature), archives
    /// it, publishes it, and writes its digest page. `previous` is the size of the digest
    /// before it, for the page's consistency proof.
    pub fn publish_checkpoint(&mut self, previous: u64) -> Result<()> {
        let cp = self.writer.checkpoint(&self.meta.origin, vec![]);
        let text = cp.to_text();
        let mut note =
            Note::sign(&text, &[&self.log_key], 0).map_err(|e| CliError::Input(e.to_string()))?;
        if let Some(t) = &self.time_key {
            let secs = now().unix_seconds().max(0) as u64;
            note.add_signature(t, secs)
                .map_err(|e| CliError::Input(e.to_string()))?;
        }
        let mut bytes = note.to_bytes();
        let size = self.size();
        // With a witness policy: published only once the quorum cosigned.
        if let Some(policy) = self.meta.policy.as_ref().filter(|p| p.requires_witnesses()) {
            store::write_atomic(&self.store.latest(), &bytes)?;
            let st = self.store.clone();
            let proof = std::sync::Arc::new(move |old: u64| consistency_proof(&st, old, size));
            let g = crate::cosign::gather(&self.store, policy, &bytes, size, proof)?;
            let met = g.met;
            bytes.extend_from_slice(g.lines().as_bytes());
            self.witnessed = Some(g);
            if !met {
                return Ok(());
            }
        }
        let archived = format!("digests/{size}");
        if !self.store.has(&archived)? {
            self.store.put(&archived, &bytes, WriteKind::Immutable)?;
        }
        // The checkpoint last, and in an object store only while this writer holds the
        // lease (renewed now: a writer that lost it publishes nothing).
        self.renew_lease()?;
        self.store.put("checkpoint", &bytes, WriteKind::Atomic)?;
        self.write_pages(size, previous)
    }

    /// Sets the witness policy: rewrites the signed metadata with `policy` (the text of a
    /// tlog-policy file, already parsed) in place of any `witnesses` threshold.
    pub fn set_policy(&mut self, text: &str) -> Result<()> {
        let raw = self.store.read("metadata", 1 << 20)?;
        let note = Note::parse(&raw)
            .and_then(|n| n.verify(&[self.log_key.verifier()]))
            .map_err(|e| CliError::Corrupt(format!("{}: {e}", self.store.describe("metadata"))))?;
        let line = note.text().lines().nth(1).unwrap_or("");
        let mut v: Value =
            serde_json::from_str(line).map_err(|e| CliError::Corrupt(format!("metadata: {e}")))?;
        let m = v
            .as_object_mut()
            .ok_or_else(|| CliError::Corrupt("metadata is not a JSON object".into()))?;
        m.remove("witnesses");
        m.insert("policy".into(), Value::String(text.to_owned()));
        let text = format!(
            "{METADATA_HEADER}\n{}\n",
            liveledger_core::jcs::to_canonical(&v).map_err(|e| CliError::Input(e.to_string()))?
        );
        let meta = Metadata::parse(&text).map_err(|e| CliError::Input(e.to_string()))?;
        let signed =
            Note::sign(&text, &[&self.log_key], 0).map_err(|e| CliError::Input(e.to_string()))?;
        self.store
            .put("metadata", &signed.to_bytes(), WriteKind::Atomic)?;
        self.meta = meta;
        Ok(())
    }

    /// A heartbeat: re-signs the current size with a fresh time cosignature.
    pub fn republish(&mut self) -> Result<()> {
        let size = self.size();
        let prev = self.previous_digest(size);
        self.publish_checkpoint(prev)
    }

    fn previous_digest(&self, size: u64) -> u64 {
        self.digest_sizes()
            .into_iter()
            .filter(|&s| s < size)
            .max()
            .unwrap_or(0)
    }

    pub fn digest_sizes(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .store
            .list("digests")
            .unwrap_or_default()
            .iter()
            .filter_map(|n| liveledger_core::checkpoint::parse_decimal(n))
            .collect();
        v.sort_unstable();
        v
    }

    fn write_pages(&self, size: u64, previous: u64) -> Result<()> {
        let note_bytes = self.store.read(&format!("digests/{size}"), 1 << 20)?;
        let mut keys = vec![self.log_key.verifier()];
        if let Some(t) = &self.time_key {
            keys.push(t.verifier());
        }
        let verified = Note::parse(&note_bytes)
            .and_then(|n| n.verify(&keys))
            .map_err(|e| CliError::Corrupt(e.to_string()))?;
        let proof = if previous > 0 && previous < size {
            let mut ts = TileSet::new(size);
            for p in tiles::consistency_tiles(previous, size)
                .map_err(|e| CliError::Corrupt(e.to_string()))?
            {
                ts.insert(p, &self.read_tile(p)?)
                    .map_err(|e| CliError::Corrupt(e.to_string()))?;
            }
            Some(
                tiles::consistency_proof_from_tiles(&ts, previous, size)
                    .map_err(|e| CliError::Corrupt(e.to_string()))?,
            )
        } else {
            None
        };
        let page = pages::digest_page(
            &self.meta.origin,
            size,
            &verified,
            (previous > 0 && previous < size).then_some(previous),
            proof.as_deref(),
        );
        let sizes = self.digest_sizes();
        let mut files = vec![
            (
                format!("digests/{size}.html"),
                page.into_bytes(),
                WriteKind::Atomic,
            ),
            (
                "digests/index.html".to_owned(),
                pages::digest_index(&self.meta.origin, &sizes).into_bytes(),
                WriteKind::Atomic,
            ),
            (
                "digests/index.txt".to_owned(),
                liveledger_core::archive::encode_digest_index(&sizes).into_bytes(),
                WriteKind::Atomic,
            ),
        ];
        if !self.store.has("index.html")? {
            files.push((
                "index.html".to_owned(),
                pages::landing(&self.meta.origin).into_bytes(),
                WriteKind::Atomic,
            ));
        }
        self.store.put_many(&files)?;
        Ok(())
    }

    /// The author key to sign with: `name`, or the only/first admin key in the key dir.
    pub fn author(&self, name: Option<&str>) -> Result<SignerKey> {
        if let Some(n) = name {
            let p = self.store.author_key(n);
            if !p.exists() {
                return Err(CliError::Usage(format!(
                    "no author key {n:?} in {}",
                    self.store.authors_dir().display()
                )));
            }
            return read_key(&p);
        }
        let mut names: Vec<_> = fs::read_dir(self.store.authors_dir())
            .map_err(|e| CliError::io(&self.store.authors_dir(), e))?
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
        Err(CliError::Usage(
            "no admin author key found; pass --author NAME".into(),
        ))
    }

    /// Adds an author key (creating it) with a `ledger.key.add` event.
    pub fn add_author(&mut self, name: &str, role: &str, admin: &SignerKey) -> Result<VerifierKey> {
        let k = SignerKey::from_seed(name, note::ALG_ED25519, random_seed()?)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let p = self.store.author_key(name);
        if p.exists() {
            return Err(CliError::Usage(format!(
                "author key {} exists already",
                p.display()
            )));
        }
        let d = EventDraft {
            kind: event::KIND_KEY_ADD.into(),
            source: "liveledger".into(),
            body: Some(json!({"key": k.verifier().to_string(), "role": role})),
            ..Default::default()
        };
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
            return Err(CliError::Usage(format!(
                "event {seq} does not exist; the ledger has {} events",
                self.size()
            )));
        }
        let b = self.entry(self.size(), seq)?;
        UnverifiedEvent::parse(&b).map_err(|e| CliError::Corrupt(e.to_string()))
    }
}

fn parse_journal(j: &str) -> Option<(u64, Vec<Vec<u8>>)> {
    let (body, end) = j.trim_end_matches('\n').rsplit_once('\n')?;
    let body = format!("{body}\n");
    let sum = end.strip_prefix("end ")?;
    if liveledger_core::hash::sha256(body.as_bytes()).to_hex() != sum {
        return None;
    }
    let mut lines = body.lines();
    if lines.next()? != JOURNAL_HEADER {
        return None;
    }
    let base = lines.next()?.parse().ok()?;
    let n: usize = lines.next()?.parse().ok()?;
    let entries: Vec<Vec<u8>> = lines.map(|l| b64::decode(l).ok()).collect::<Option<_>>()?;
    (entries.len() == n).then_some((base, entries))
}

/// The consistency proof from `old` to `size`, from the ledger's own tiles at `size`.
pub fn consistency_proof(store: &Store, old: u64, size: u64) -> Result<Vec<Hash>> {
    if old == 0 || old == size {
        return Ok(Vec::new());
    }
    let bad = |e: String| CliError::Corrupt(format!("consistency proof from {old} to {size}: {e}"));
    let mut set = TileSet::new(size);
    for t in tiles::consistency_tiles_in(size, old, size).map_err(|e| bad(e.to_string()))? {
        let b = store.read(&t.to_string(), 64 * 1024 * 256)?;
        set.insert(t, &b).map_err(|e| bad(e.to_string()))?;
    }
    tiles::consistency_proof_from_tiles(&set, old, size).map_err(|e| bad(e.to_string()))
}

/// One event to append, from an author's JSON object (the core's rules:
/// [`EventDraft::from_object`]), `line` naming it in messages; a private payload gets its
/// salt here.
pub fn pending(line: usize, v: Value, default_source: Option<&str>) -> Result<Pending> {
    let Value::Object(m) = v else {
        return Err(CliError::Input(
            "expected a JSON object like {\"kind\": \"payment\", \"body\": {…}}".into(),
        ));
    };
    let (draft, private) =
        EventDraft::from_object(m, default_source).map_err(|e| CliError::Input(e.to_string()))?;
    let private = private.map(|b| random_seed().map(|s| (b, s))).transpose()?;
    Ok(Pending {
        line,
        draft,
        private,
    })
}

/// Parses JSON lines of events. Any bad line fails the whole batch, naming the line.
pub fn parse_lines(input: &str, default_source: Option<&str>) -> Result<Vec<Pending>> {
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| CliError::Input(format!("line {n}: {why}"));
        if line.len() > MAX_LINE {
            return Err(bad(format!(
                "{} bytes, more than the {MAX_LINE} an event line may have",
                line.len()
            )));
        }
        let v: Value = serde_json::from_str(line).map_err(|e| {
            let msg = e.to_string();
            let msg = msg
                .rsplit_once(" at line ")
                .map_or(msg.as_str(), |(m, _)| m)
                .to_owned();
            bad(format!("not JSON: {msg} at column {}", e.column()))
        })?;
        out.push(pending(n, v, default_source).map_err(|e| bad(e.to_string()))?);
    }
    if out.is_empty() {
        return Err(CliError::Input("no events in the input".into()));
    }
    Ok(out)
}
