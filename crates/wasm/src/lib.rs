//! The Live Ledger verifier for JavaScript: `liveledger-wasm`.
//!
//! Everything verifies client-side with `liveledger-core`; this crate only fetches (with
//! the global `fetch`, so it runs in pages, workers and Node) and converts. By concern:
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
use liveledger_core::audit::history::{History, HistoryError};
use liveledger_core::audit::resume::{ResumeError, ResumePoint};
use liveledger_core::audit::views::{self, Answer, WitnessViews};
use liveledger_core::audit::{AuditReport, Auditor, Consistency, ConsistencyError, Level};
use liveledger_core::audit::{Included, Inclusion, InclusionError};
use liveledger_core::checkpoint::{CheckpointError, VerifiedCheckpoint};
use liveledger_core::event::{UnverifiedEvent, VerifiedEvent};
use liveledger_core::hash::leaf_hash;
use liveledger_core::note::VerifierKey;
use liveledger_core::proof::{Receipt, ReceiptError};
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

/// Proves that `new` extends `old` with `c` (the tiles of `c.tree()`), fetching every
/// tile it names at once.
async fn prove_consistency(
    f: &Fetcher,
    c: &mut Consistency,
    old: &VerifiedCheckpoint,
    new: &VerifiedCheckpoint,
) -> Result<(), Unproved> {
    prove_tiles(f, c, old, new, false)
        .await
        .map_err(Unproved::Fetch)?
        .map_err(|e| Unproved::Verdict(consistency_error(e)))
}

/// The same walk, the core's verdict kept as it is: `Err` only when a tile could not be
/// fetched. `no_store`: past the HTTP cache, as an audit reads (the split-view check is
/// part of one).
async fn prove_tiles(
    f: &Fetcher,
    c: &mut Consistency,
    old: &VerifiedCheckpoint,
    new: &VerifiedCheckpoint,
    no_store: bool,
) -> Result<Result<(), ConsistencyError>, LedgerError> {
    let need = match c.needed(old.size(), new.size()) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    let paths: Vec<String> = need.iter().map(|p| p.to_string()).collect();
    f.keep_ahead(&paths, no_store);
    for (p, path) in need.into_iter().zip(&paths) {
        let b = f.require(path, no_store).await?;
        if let Err(e) = c.feed(p, &b) {
            return Ok(Err(e));
        }
    }
    Ok(c.check(old, new).map(|_| ()))
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
    result?;
    if a.failure().is_some() {
        return Err(failure_error(&a.report()));
    }
    Ok(engine_name)
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
    let t = trust(&f, opts).await?;
    let cp = fetch_checkpoint(&f, &t).await?;
    if let Some(old) = since_checkpoint(&t, opts)? {
        prove_consistency(&f, &mut Consistency::new(cp.size()), &old, &cp).await?;
    }
    let (mut a, resumed) = start_audit(&f, &t, &cp, opts).await?;
    let views = witness_views(&f, &t, &cp, opts).await?;
    let engine = drive(&f, &mut a, opts).await?;
    let mut r = audit_result(&a, &cp, &t, &engine, &views);
    r.resumed = resumed;
    Ok(r)
}

/// The auditor an audit of `cp` starts with: a fresh one, or, with the `resume` option, one
/// that continues from that kept point. The point is checked by the core
/// (`Auditor::resume`) and its checkpoint proved consistent with `cp` (FORK or ROLLBACK
/// with the evidence, as `since`); then only the new entries are read. A point that does
/// not hold is discarded and said so (`Discarded`); one that does, `From`. A rollback
/// (or another tree of the kept size) is the `ROLLBACK` or `FORK` error.
async fn start_audit(
    f: &Fetcher,
    t: &Trust,
    cp: &VerifiedCheckpoint,
    opts: &Options,
) -> Result<(Auditor, Option<Resumed>), LedgerError> {
    let Some(text) = &opts.resume else {
        return Ok((Auditor::new(cp, t.level, opts.check_tiles), None));
    };
    let r = ResumePoint::parse(text)
        .and_then(|p| Auditor::resume(&p, t, cp, t.level, opts.check_tiles));
    match r {
        // A rollback (or another tree of the kept size) is an alarm, not a point to drop.
        Err(ResumeError::Inconsistent(inc)) => Err(inconsistency_error(&inc)),
        Ok((a, kept)) => {
            prove_consistency(f, &mut Consistency::new(cp.size()), &kept, cp).await?;
            Ok((a, Some(Resumed::From(kept.size()))))
        }
        Err(e) => Ok((
            Auditor::new(cp, t.level, opts.check_tiles),
            Some(Resumed::Discarded(e.to_string())),
        )),
    }
}

/// Split views (the rule is core's `audit::views`): asks each witness of the quorum's
/// policy that has a URL for the checkpoint it holds of this log, all at once
/// (`ASK_TIMEOUT_MS` each), and proves each answer consistent with `cp`, either way round,
/// with the log's tiles. Two histories: the `FORK` error, with both checkpoints and the
/// witness's name as evidence; anything that proves nothing is a view with a `note`.
/// `witness_check: false` skips it.
async fn witness_views(
    f: &Fetcher,
    t: &Trust,
    cp: &VerifiedCheckpoint,
    opts: &Options,
) -> Result<Vec<ViewResult>, LedgerError> {
    if !opts.witness_check {
        return Ok(Vec::new());
    }
    let mut wv = WitnessViews::new(t, cp);
    let asked: Vec<(Fetcher, String)> = wv
        .asks()
        .iter()
        .map(|a| {
            (
                Fetcher::new(&a.url, views::ASK_TIMEOUT_MS as f64),
                a.path.clone(),
            )
        })
        .collect();
    for (wf, path) in &asked {
        wf.keep_ahead(std::slice::from_ref(path), true);
    }
    for (i, (wf, path)) in asked.iter().enumerate() {
        let got = wf.get(path, true).await;
        let why;
        let answer = match &got {
            Ok(Some(b)) if b.len() <= views::MAX_ANSWER => Answer::Held(b),
            Ok(Some(_)) => {
                why = format!("the answer is over {} bytes", views::MAX_ANSWER);
                Answer::Failed(&why)
            }
            Ok(None) => Answer::Nothing,
            Err(e) => Answer::Failed(&e.message),
        };
        if let Some(pair) = wv.answer(i, answer) {
            let mut c = Consistency::new(pair.newer.size());
            match prove_tiles(f, &mut c, &pair.older, &pair.newer, true).await {
                Ok(r) => wv.proved(i, r).map_err(|split| {
                    inconsistency_error(&split.inconsistency)
                        .with_evidence("witness", split.witness.as_str().into())
                })?,
                Err(e) => wv.unproved(i, &e.message),
            }
        }
    }
    Ok(wv.finish().iter().map(ViewResult::from).collect())
}

/// Audits, then follows the ledger: polls its checkpoint every `interval_ms`, checks each
/// new one's signature and consistency, verifies only the new events, and calls
/// `on_digest` (also when the same tree is re-signed with a newer time). The policy's
/// witnesses are asked what they hold (the split-view check) at the start and then about
/// a new tree at most once a minute. A fork (a split view too), rollback or tampering
/// calls `on_alarm` and ends with that error. Ends (`Ok`) when the caller aborts.
pub async fn follow(url: &str, opts: &Options) -> Result<(), LedgerError> {
    let f = Fetcher::new(url, opts.timeout_ms);
    let t = trust(&f, opts).await?;
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
    let mut cp = fetch_checkpoint(&f, &t).await.map_err(alarm)?;
    // A `since` that does not verify is the caller's to handle, not an alarm.
    if let Some(old) = since_checkpoint(&t, opts)? {
        prove_consistency(&f, &mut Consistency::new(cp.size()), &old, &cp)
            .await
            .map_err(|u| alarm(u.into()))?;
    }
    let mut views = witness_views(&f, &t, &cp, opts).await.map_err(alarm)?;
    let mut views_at = js_sys::Date::now();
    let (mut a, resumed) = start_audit(&f, &t, &cp, opts).await.map_err(alarm)?;
    let engine = drive(&f, &mut a, opts).await.map_err(alarm)?;
    let mut first = audit_result(&a, &cp, &t, &engine, &views);
    first.resumed = resumed;
    digest(&first);
    let mut unavailable = 0u32;
    'poll: loop {
        sleep(opts.interval_ms).await;
        if opts.is_aborted() {
            return Ok(());
        }
        let next = match fetch_checkpoint(&f, &t).await {
            Ok(n) => n,
            // The network, not the ledger: try again next time.
            Err(e) if is_network_error(&e) => continue,
            Err(e) => return Err(alarm(e)),
        };
        if next.size() == cp.size() && next.root() == cp.root() {
            // The same tree, perhaps re-signed with a fresher time (a heartbeat): pass it
            // on, so freshness is judged on the newest signature.
            if next.to_bytes() != cp.to_bytes() {
                cp = next;
                digest(&audit_result(&a, &cp, &t, &engine, &views));
            }
            continue;
        }
        match prove_consistency(&f, &mut Consistency::new(next.size()), &cp, &next).await {
            Ok(()) => unavailable = 0,
            // A publisher mid-upload can serve the new checkpoint before its tiles: look
            // again at the next polls, then call it what it is.
            Err(Unproved::Fetch(_)) if unavailable < MAX_UNAVAILABLE_POLLS => {
                unavailable += 1;
                continue 'poll;
            }
            Err(u) => return Err(alarm(u.into())),
        }
        if a.extend(&next).is_err() {
            return Err(alarm(failure_error(&a.report())));
        }
        drive(&f, &mut a, opts).await.map_err(alarm)?;
        cp = next;
        // The witnesses are asked again about a new tree, at most once a minute (a split
        // view shown after the visit began is caught too); between, the last answers.
        if js_sys::Date::now() - views_at >= VIEWS_EVERY_MS {
            views = witness_views(&f, &t, &cp, opts).await.map_err(alarm)?;
            views_at = js_sys::Date::now();
        }
        digest(&audit_result(&a, &cp, &t, &engine, &views));
    }
}

/// How often `follow` asks the witnesses again, at most (milliseconds).
const VIEWS_EVERY_MS: f64 = 60_000.0;

/// Digests fetched at once by `verify_history`.
const HISTORY_PARALLEL: usize = 8;

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
/// `audit::history`. Fails only when the archive cannot be read (`NOT_FOUND` if the
/// ledger has none).
pub async fn verify_history(url: &str, opts: &Options) -> Result<HistoryResult, LedgerError> {
    let f = Fetcher::new(url, opts.timeout_ms);
    let t = trust(&f, opts).await?;
    let index = f.require("digests/index.txt", true).await?;
    let mut current = fetch_checkpoint(&f, &t).await?;
    let time_key = t.time_key.as_ref();
    // A malformed index is a verdict on the archive, not a failure to read it.
    let damaged = |current: &VerifiedCheckpoint, e: HistoryError| {
        Ok(HistoryResult {
            verified: false,
            checkpoint: checkpoint_result(current, time_key),
            total: 0,
            digests: Vec::new(),
            failure: Some(history_failure(&e)),
        })
    };
    let mut h = match History::new(&current, &index, opts.limit) {
        Ok(h) => h,
        Err(e) => return damaged(&current, e),
    };
    // An index naming a digest newer than the checkpoint read may be a publisher between
    // its two writes: read the checkpoint again, briefly, before that is a rollback.
    for attempt in 1..=3 {
        if h.ahead_of_checkpoint().is_none() {
            break;
        }
        sleep(100.0 * f64::from(attempt)).await;
        current = fetch_checkpoint(&f, &t).await?;
        h = match History::new(&current, &index, opts.limit) {
            Ok(h) => h,
            Err(e) => return damaged(&current, e),
        };
    }
    // The archived digests, a few in flight at a time; then every tile the proofs read.
    'digests: for chunk in h.digests().to_vec().chunks(HISTORY_PARALLEL) {
        let paths: Vec<String> = chunk.iter().map(|s| format!("digests/{s}")).collect();
        f.keep_ahead(&paths, false);
        for (&size, path) in chunk.iter().zip(&paths) {
            let bytes = f.require(path, false).await?;
            if h.feed_digest(&t, size, &bytes).is_err() {
                break 'digests;
            }
        }
    }
    let tiles = h.tiles();
    let paths: Vec<String> = tiles.iter().map(|p| p.to_string()).collect();
    f.keep_ahead(&paths, false);
    for (p, path) in tiles.into_iter().zip(&paths) {
        h.feed_tile(p, &f.require(path, false).await?);
    }
    let r = h.finish();
    let digests = r
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
        verified: r.verified(),
        checkpoint: checkpoint_result(&r.current, time_key),
        total: r.total as u64,
        digests,
        failure: r.failure.as_ref().map(history_failure),
    })
}

/// Polls in a row that may find a new checkpoint's tiles missing before that is an alarm.
const MAX_UNAVAILABLE_POLLS: u32 = 5;

/// Verifies one entry by inclusion proof, with a few small fetches: the checkpoint, the
/// entry's bundle (whose hashes stand in for its level 0 tile), and the upper tiles the
/// proof needs. The result holds the entry, the proof and a receipt for offline checking.
pub async fn verify_entry(
    url: &str,
    index: u64,
    opts: &Options,
) -> Result<EntryResult, LedgerError> {
    let f = Fetcher::new(url, opts.timeout_ms);
    // With pinned keys, the metadata adds nothing to an inclusion proof.
    let t = trust_with(&f, opts, false).await?;
    let cp = fetch_checkpoint(&f, &t).await?;
    // The walk is core's (`audit::Inclusion`); this only fetches what it names, at once.
    let mut m = Inclusion::new(&cp, index).map_err(|e| inclusion_error(&e))?;
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
        checkpoint_result(&cp, t.time_key.as_ref()),
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
