//! The Live Ledger verifier for JavaScript: `liveledger-wasm`.
//!
//! Everything verifies client-side with `liveledger-core`; this crate only fetches (with
//! the global `fetch`, so it runs in pages, workers and Node) and converts: the sequence
//! of an audit, a follow, a history check (order, retries, caps, what a missing file
//! means) is the core's `session`, which `run` drives. By concern:
//! this file is the typed API (each call a fetch loop over a core machine: Rust in,
//! [`Options`]; Rust out, the structs of `results` or a [`LedgerError`]), which the page
//! uses as it is; `js` the JS module over it (the exports, their TypeScript types, and
//! the only place JS values are read or made, with `Options::from_js` and `to_js`);
//! `fetch` the requests, `options` what callers pass, `errors` and `results` the
//! verdicts, `engine` the signature engine. JS callers get plain objects, and errors as
//! JS `Error`s with a stable `code` and, where there is one, the `evidence` (signed
//! checkpoints, proofs, expected and found values).
//!
//! Error codes: `liveledger_core::verdict::Code`, the one list every verifier reports
//! (`BAD_INPUT`, `BAD_SIGNATURE`, `WRONG_ORIGIN`, `NO_KEY`, `FETCH_FAILED`, `NOT_FOUND`,
//! `TAMPERED`, `FORK`, `ROLLBACK`, `INCLUSION_FAILED`, `ABORTED`, `BAD_SINCE`, `QUORUM`,
//! `STALE` (core's `freshness`), `KEY_CHANGED` (`verdict::with_remembered_keys`, for keys a
//! page remembered) and `BAD_ARCHIVE` (`verdict::history_alarm`)); the TypeScript union
//! `LedgerErrorCode` is generated from it (`Code::TYPESCRIPT`).

// The JS module's allocator: talc is 2 kB gzip smaller than Rust's default (dlmalloc) and
// as fast on the module's small heap (8 MB after a signed audit). Not the page's: on its
// heap of 100+ MB of small, long-lived allocations (the explorer's rows, the state's
// keys) talc's malloc searched its bins for 22 s of a 46 s audit of 300k events, against
// 1 s for dlmalloc (a CPU profile; docs/BENCHMARKS.md), so it comes with `js` only.
// SAFETY: the module runs on one thread: its Web Workers run JavaScript, not this Wasm.
#[cfg(all(target_arch = "wasm32", feature = "js"))]
#[global_allocator]
static ALLOCATOR: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };

use std::cell::{Cell, RefCell};

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use liveledger_core::audit::history::HistoryError;
use liveledger_core::audit::views;
use liveledger_core::audit::{AuditReport, Auditor, ConsistencyError, Level};
use liveledger_core::audit::{Included, Inclusion, InclusionError};
use liveledger_core::checkpoint::{CheckpointError, VerifiedCheckpoint};
use liveledger_core::event::{UnverifiedEvent, VerifiedEvent};
use liveledger_core::hash::leaf_hash;
use liveledger_core::note::VerifierKey;
use liveledger_core::proof::{Receipt, ReceiptError};
use liveledger_core::session::{Failure, Got, Need, Polled, Request, Session};
use liveledger_core::tiles::TilePath;
use liveledger_core::trust::{KeySource, Trust, TrustError, TrustRequest};
use liveledger_core::verdict::{self, Code};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

mod engine;
use engine::Engine;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(input: &str, init: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);

    type AbortController;
    #[wasm_bindgen(constructor)]
    fn new() -> AbortController;
    #[wasm_bindgen(method, getter)]
    fn signal(this: &AbortController) -> JsValue;

    type MessageChannel;
    #[wasm_bindgen(constructor)]
    fn new() -> MessageChannel;
    #[wasm_bindgen(method, getter)]
    fn port1(this: &MessageChannel) -> MessagePort;
    #[wasm_bindgen(method, getter)]
    fn port2(this: &MessageChannel) -> MessagePort;
    type MessagePort;
    #[wasm_bindgen(method, setter)]
    fn set_onmessage(this: &MessagePort, f: &Function);
    #[wasm_bindgen(method, js_name = postMessage)]
    fn post_message(this: &MessagePort, v: &JsValue);
    #[wasm_bindgen(method)]
    fn close(this: &MessagePort);
}

/// Lets the page run (its input, timers and drawing): resumes in a task of its own, from
/// a message posted to itself. Not a timeout: a timeout set from a timeout's task is
/// clamped to 4 ms once five deep, and an audit's yields would all be. (The page also
/// starts its audit with one, so that the audit's first work is not its mount's task.)
pub async fn yield_to_the_page() {
    let ch = MessageChannel::new();
    let (rx, tx) = (ch.port1(), ch.port2());
    let p = Promise::new(&mut |resolve, _| {
        rx.set_onmessage(&resolve);
        tx.post_message(&JsValue::UNDEFINED);
    });
    let _ = JsFuture::from(p).await;
    rx.close();
}

/// An audit hands the main thread back at least this often: verified bundles that were
/// fetched ahead are ready at once, and without a yield the loop would verify them all in
/// one task (at the page's start, 146 ms of one in a Chromium trace at 100k).
const YIELD_EVERY_MS: f64 = 25.0;

/// A JSON object from `"name": value` pairs, each value anything `Into<Value>`.
/// (`serde_json::json!` passes every value through serde's serializer, which would
/// link it and a second float formatter into the module.)
macro_rules! obj {
    ($($k:literal : $v:expr),* $(,)?) => {{
        let mut m = Map::new();
        $( m.insert($k.to_owned(), Value::from($v)); )*
        Value::Object(m)
    }};
}

// The concerns, each in its module (the macro above is theirs too).
mod errors;
pub use errors::LedgerError;
use errors::*;
mod fetch;
use fetch::*;
mod options;
use options::*;
pub use options::{parse_policy, Callback, Options, Signatures};
mod results;
use results::*;
pub use results::{
    AuditResult, CheckpointResult, EntryResult, FreshnessResult, HistoryDigest, HistoryFailure,
    HistoryResult, Progress, Resumed, Signature, Stats, ViewResult, WitnessReport, WitnessRow,
};
#[cfg(feature = "js")]
pub mod js;

/// Verifies a signed checkpoint (digest) against trusted keys. `origin` defaults to the
/// first key's name.
pub fn verify_checkpoint(
    note: &str,
    keys: &[String],
    origin: Option<String>,
) -> Result<CheckpointResult, LedgerError> {
    let (keys, origin) = keys_and_origin(keys, origin)?;
    let cp = VerifiedCheckpoint::open(note.as_bytes(), &keys, &origin).map_err(checkpoint_error)?;
    Ok(checkpoint_result(&cp, None))
}

/// Verifies a receipt (C2SP tlog-proof, the entry in its `extra` line) with no network.
pub fn verify_receipt(
    receipt: &str,
    keys: &[String],
    origin: Option<String>,
) -> Result<EntryResult, LedgerError> {
    let (keys, origin) = keys_and_origin(keys, origin)?;
    let r = Receipt::parse(receipt).map_err(|e| error(Code::BadInput, &e.to_string(), None))?;
    match r.verify(&keys, &origin, None) {
        Ok((cp, entry)) => Ok(entry_result(
            r.index,
            &entry,
            &r.proof,
            checkpoint_result(&cp, None),
            receipt,
            0,
            0,
        )),
        Err(ReceiptError::Checkpoint(e)) => Err(checkpoint_error(e)),
        Err(e @ ReceiptError::Proof(_)) => Err(error(
            Code::InclusionFailed,
            &e.to_string(),
            Some(
                obj!("index": r.index, "proof": r.proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>()),
            ),
        )),
        Err(e) => Err(error(Code::BadInput, &e.to_string(), None)),
    }
}

/// Files (segments and tiles) in flight ahead of the one being verified.
const PREFETCH: usize = 8;

/// Signature batches (one per segment) being checked at once by the engine.
const SIGNATURE_BATCHES: usize = 8;

/// Passes a verified event to the caller's `on_event`.
fn emit_event(opts: &Options, ev: &VerifiedEvent) {
    if let Some(cb) = &opts.on_event {
        cb(ev);
    }
}

/// Feeds the auditor every step it asks for, keeping the next few segments in flight so
/// verification overlaps the network. At the ledger level, event signatures go to the
/// signature engine (see `engine`) a segment at a time while the next segments are read.
///
/// Returns the signature engine's name (`"wasm"`, `"webcrypto"`, `"webcrypto-workers:N"`)
/// at the ledger level.
///
/// Boxed, so that its one state machine is shared by every caller instead of inlined
/// into each (it is the module's largest). Measured: the web app, which links this crate,
/// is 3.9 kB smaller (1.9 kB gzip) than with a plain `async fn`; the embed module
/// is 0.1 kB gzip larger.
fn drive<'a>(
    f: &'a Fetcher,
    a: &'a mut Auditor,
    opts: &'a Options,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<String>, LedgerError>> + 'a>>
{
    Box::pin(drive_inner(f, a, opts))
}

async fn drive_inner(
    f: &Fetcher,
    a: &mut Auditor,
    opts: &Options,
) -> Result<Option<String>, LedgerError> {
    let engine = match a.chain() {
        Some(_) => Some(Engine::for_options(opts.signatures).await),
        None => None,
    };
    let engine_name = engine.as_ref().map(|e| e.name());
    let engine = engine.filter(|e| e.offloads());
    if engine.is_some() {
        a.defer_signatures();
    }
    let mut verdicts: std::collections::VecDeque<engine::Verdicts> = Default::default();
    let mut yielded_at = js_sys::Date::now();
    let result = loop {
        if js_sys::Date::now() - yielded_at >= YIELD_EVERY_MS {
            yield_to_the_page().await;
            yielded_at = js_sys::Date::now();
        }
        let Some(step) = a.next_step() else {
            break Ok(());
        };
        if opts.is_aborted() {
            break Err(error(Code::Aborted, "aborted", None));
        }
        let path: TilePath = step.path();
        // Past the HTTP cache (`no-store`): see `audit`.
        let upcoming: Vec<String> = a
            .upcoming_steps()
            .take(PREFETCH)
            .map(|p| p.to_string())
            .collect();
        f.keep_ahead(&upcoming, true);
        let bytes = match f.get(&path.to_string(), true).await {
            Ok(Some(b)) => b,
            // The core's rule for a committed file the log does not serve.
            Ok(None) => {
                drop(a.not_served());
                break Ok(());
            }
            Err(e) => break Err(e),
        };
        // Events reach the caller only once verified (chain, author, signature).
        let fed = a
            .feed_with(&bytes, &mut |ev| emit_event(opts, ev))
            .and_then(|()| a.finish_step());
        if let Some(e) = &engine {
            // Also after a failure: a bad signature before it is the first failure.
            let checks = a.take_signature_checks();
            if !checks.is_empty() {
                verdicts.push_back(e.verify(checks));
            }
        }
        if fed.is_err() {
            break Ok(());
        }
        if engine.is_some() {
            while verdicts.len() > SIGNATURE_BATCHES {
                if let Some(v) = verdicts.pop_front() {
                    let v = v.await;
                    let _ = a.confirm_signatures(&v, &mut |ev| emit_event(opts, ev));
                }
            }
        }
        if let Some(p) = &opts.on_progress {
            let s = a.stats();
            p(&Progress {
                entries: s.entries,
                verified: a.verified_entries(),
                size: a.target_size(),
                bytes: s.bytes,
                segment: path.index(),
            });
        }
    };
    // Every verdict handed out is awaited, also after a failure: a bad signature before
    // the failure found is the first failure.
    for v in verdicts {
        let v = v.await;
        let _ = a.confirm_signatures(&v, &mut |ev| emit_event(opts, ev));
    }
    // A failure found is the session's to report.
    result?;
    Ok(engine_name)
}

/// The session's request from the options: an audit, with what the options add.
fn request(opts: &Options) -> Result<Request, LedgerError> {
    Ok(Request {
        trust: opts.trust_request()?,
        metadata: true,
        since: opts.since.as_ref().map(|s| s.as_bytes().to_vec()),
        resume: opts.resume.as_ref().map(|s| s.as_bytes().to_vec()),
        witness_check: opts.witness_check,
        check_tiles: opts.check_tiles,
        audit: true,
        history: None,
    })
}

/// Runs the core's session (the sequence is its: `liveledger_core::session`) until it
/// needs nothing more: fetches the files it asks for (at once), asks the witnesses (at
/// once, each within `ASK_TIMEOUT_MS`), and drives its audit. The signature engine's name,
/// if an audit ran; `Err` only when the audit's own fetches failed or the caller aborted.
async fn run(f: &Fetcher, s: &mut Session, opts: &Options) -> Result<Option<String>, LedgerError> {
    let mut engine = None;
    loop {
        match s.need() {
            Need::Files(wants) => {
                let paths: Vec<String> = wants.iter().map(|w| w.path.clone()).collect();
                f.keep_ahead(&paths, wants.iter().any(|w| w.no_store));
                for w in &wants {
                    match f.get(&w.path, w.no_store).await {
                        Ok(Some(b)) => s.file(&w.path, Got::Bytes(&b)),
                        Ok(None) => s.file(&w.path, Got::NotServed),
                        Err(e) => s.file(&w.path, Got::Failed(&e.message)),
                    }
                }
            }
            Need::Ask(asks) => {
                let asked: Vec<Fetcher> = asks
                    .iter()
                    .map(|a| Fetcher::new(&a.url, views::ASK_TIMEOUT_MS as f64))
                    .collect();
                for (wf, a) in asked.iter().zip(&asks) {
                    wf.keep_ahead(std::slice::from_ref(&a.path), true);
                }
                for (i, (wf, a)) in asked.iter().zip(&asks).enumerate() {
                    match wf.get(&a.path, true).await {
                        Ok(Some(b)) => s.answer(i, Got::Bytes(&b)),
                        Ok(None) => s.answer(i, Got::NotServed),
                        Err(e) => s.answer(i, Got::Failed(&e.message)),
                    }
                }
            }
            Need::Audit(a) => engine = drive(f, a, opts).await?,
            Need::Wait(ms) => sleep(ms.into()).await,
            Need::Done => return Ok(engine),
        }
    }
}

/// What a session that held verified, as an `AuditResult`; its failure as the error.
fn verified(f: &Fetcher, s: &Session, engine: &Option<String>) -> Result<AuditResult, LedgerError> {
    let r = s.report();
    if let Some(fail) = &r.failure {
        return Err(session_error(fail, &f.base));
    }
    if let Some(audit) = r.audit.as_ref().filter(|a| a.failure.is_some()) {
        return Err(failure_error(audit));
    }
    let (Some(t), Some(cp), Some(a)) = (&r.trust, &r.checkpoint, s.auditor()) else {
        return Err(error(
            Code::BadInput,
            "the session ended before its audit",
            None,
        ));
    };
    let mut out = audit_result(a, cp, t, engine, &r.views);
    out.resumed = r.resumed.clone();
    Ok(out)
}

/// Audits a whole ledger (or any C2SP log) at `url`: every signature, chain link, tile and
/// the root. Fails with `TAMPERED` (the segment and entry as evidence), `BAD_SIGNATURE`, …
///
/// Segments and tiles are fetched past the browser's HTTP cache (`cache: "no-store"`): an
/// audit reads each file once, and a log's worth of files in the cache would push out
/// everything else the visitor has cached. It is also faster: in Chromium the cache writes
/// cost about a third of each request's time (docs/BENCHMARKS.md).
pub async fn audit(url: &str, opts: &Options) -> Result<AuditResult, LedgerError> {
    let f = Fetcher::new(url, opts.timeout_ms);
    let mut s = Session::new(request(opts)?);
    let engine = run(&f, &mut s, opts).await?;
    verified(&f, &s, &engine)
}

/// Audits, then follows the ledger: polls its checkpoint every `interval_ms`, checks each
/// new one's signature and consistency, verifies only the new events, and calls
/// `on_digest` (also when the same tree is re-signed with a newer time). The policy's
/// witnesses are asked what they hold (the split-view check) at the start and then about
/// a new tree at most once a minute. A fork (a split view too), rollback or tampering
/// calls `on_alarm` and ends with that error. Ends (`Ok`) when the caller aborts. The
/// rules are the core's (`session`, `Session::poll`).
pub async fn follow(url: &str, opts: &Options) -> Result<(), LedgerError> {
    let f = Fetcher::new(url, opts.timeout_ms);
    let alarm = |e: LedgerError| {
        if let Some(cb) = &opts.on_alarm {
            cb(&e);
        }
        e
    };
    let digest = |d: &AuditResult| {
        if let Some(cb) = &opts.on_digest {
            cb(d);
        }
    };
    let mut s = Session::new(request(opts)?);
    let mut engine = run(&f, &mut s, opts).await.map_err(alarm)?;
    match verified(&f, &s, &engine) {
        Ok(first) => digest(&first),
        // Before a checkpoint was read (the metadata, the caller's keys) or a `since` that
        // does not verify: the caller's to handle, not an alarm.
        Err(e) if s.report().checkpoint.is_none() || e.code == Code::BadSince => return Err(e),
        Err(e) => return Err(alarm(e)),
    }
    loop {
        sleep(opts.interval_ms).await;
        if opts.is_aborted() {
            return Ok(());
        }
        s.poll(js_sys::Date::now() as u64);
        if let Some(e) = run(&f, &mut s, opts).await.map_err(alarm)? {
            engine = Some(e);
        }
        let mut d = verified(&f, &s, &engine).map_err(alarm)?;
        if matches!(s.polled(), Some(Polled::Heartbeat | Polled::Grew(_))) {
            d.resumed = None;
            digest(&d);
        }
    }
}

/// Verifies the ledger's digest archive (`digests/index.txt`, see docs/FORMAT.md): each
/// archived digest is signed by the log key for the origin, each extends the one before
/// it, and the newest extends to the current checkpoint. The consistency proofs come from
/// the current tree's tiles. `limit` checks only the newest digests.
///
/// The result's `digests` are the ones checked, oldest first, each with the size of the
/// digest it was proved to extend; `failure`, when `verified` is false, is the first
/// problem (`FORK` or `ROLLBACK` with both signed digests and the proof, `BAD_SIGNATURE`,
/// `TAMPERED`, `BAD_ARCHIVE` for a malformed index; `evidence.path` names the file), and
/// the alarm it raises: `FORK`, `ROLLBACK`, else `BAD_ARCHIVE`. The rules are the core's
/// `audit::history`, run by its `session`. Fails only when the archive cannot be read
/// (`NOT_FOUND` if the ledger has none).
pub async fn verify_history(url: &str, opts: &Options) -> Result<HistoryResult, LedgerError> {
    let f = Fetcher::new(url, opts.timeout_ms);
    let mut s = Session::new(Request {
        trust: opts.trust_request()?,
        metadata: true,
        history: Some(opts.limit),
        ..Request::default()
    });
    run(&f, &mut s, opts).await?;
    let r = s.report();
    let h = match (&r.failure, &r.history) {
        (None, Some(h)) => h,
        (Some(fail), _) => return Err(session_error(fail, &f.base)),
        (None, None) => return Err(error(Code::BadInput, "no history was checked", None)),
    };
    let time_key = r.trust.as_ref().and_then(|t| t.time_key.as_ref());
    let digests = h
        .rows
        .iter()
        .map(|row| {
            let c = checkpoint_result(&row.checkpoint, time_key);
            HistoryDigest {
                size: c.size,
                root: c.root,
                signed_time: c.signed_time,
                note: c.note,
                extends: row.extends,
            }
        })
        .collect();
    Ok(HistoryResult {
        verified: h.verified(),
        checkpoint: checkpoint_result(&h.current, time_key),
        total: h.total as u64,
        digests,
        failure: h.failure.as_ref().map(history_failure),
    })
}

/// Verifies one entry by inclusion proof, with a few small fetches: the checkpoint, the
/// entry's bundle (whose hashes stand in for its level 0 tile), and the upper tiles the
/// proof needs. The result holds the entry, the proof and a receipt for offline checking.
pub async fn verify_entry(
    url: &str,
    index: u64,
    opts: &Options,
) -> Result<EntryResult, LedgerError> {
    let f = Fetcher::new(url, opts.timeout_ms);
    // Trust and the checkpoint (the session's first step); with pinned keys, the metadata
    // adds nothing to an inclusion proof.
    let mut s = Session::new(Request {
        trust: opts.trust_request()?,
        ..Request::default()
    });
    run(&f, &mut s, opts).await?;
    let r = s.report();
    if let Some(fail) = &r.failure {
        return Err(session_error(fail, &f.base));
    }
    let (Some(t), Some(cp)) = (&r.trust, &r.checkpoint) else {
        return Err(error(Code::BadInput, "no checkpoint was read", None));
    };
    // The walk is core's (`audit::Inclusion`); this only fetches what it names, at once.
    let mut m = Inclusion::new(cp, index).map_err(|e| inclusion_error(&e))?;
    let needed = m.needed();
    let paths: Vec<String> = needed.iter().map(|p| p.to_string()).collect();
    f.keep_ahead(&paths, false);
    for (p, path) in needed.into_iter().zip(&paths) {
        let b = f.require(path, false).await?;
        m.feed(p, &b).map_err(|e| inclusion_error(&e))?;
    }
    let Included { entry, proof, .. } = m.check().map_err(|e| inclusion_error(&e))?;
    let entry = entry.as_slice();
    let receipt = Receipt {
        extra: Some(entry.to_vec()),
        index,
        proof: proof.clone(),
        checkpoint: cp.to_bytes(),
    }
    .to_text();
    Ok(entry_result(
        index,
        entry,
        &proof,
        checkpoint_result(cp, t.time_key.as_ref()),
        &receipt,
        f.requests.get(),
        f.bytes.get(),
    ))
}

/// The signature engine the options select, started and self-tested on first use:
/// `"wasm"`, `"webcrypto"` or `"webcrypto-workers:N"`.
pub async fn signature_engine(opts: &Options) -> String {
    Engine::for_options(opts.signatures).await.name()
}

/// Verifies Ed25519 signatures with `verify_strict`'s verdicts, on the engine the
/// options select: one verdict per check, in order.
pub async fn verify_signatures(
    checks: Vec<liveledger_core::sigcheck::SignatureCheck>,
    opts: &Options,
) -> Vec<bool> {
    Engine::for_options(opts.signatures)
        .await
        .verify(checks)
        .await
}

/// The crate version.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
