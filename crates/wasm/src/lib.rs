//! The Live Ledger verifier for JavaScript: `liveledger-wasm`.
//!
//! Everything verifies client-side with `liveledger-core`; this crate only fetches (with
//! the global `fetch`, so it runs in pages, workers and Node) and converts. By concern:
//! this file is the typed API (each export a fetch loop over a core machine), `fetch` the
//! requests, `options` what callers pass, `errors` and `results` the JS values made at
//! the edge, `engine` the signature engine. Results are
//! plain JS objects; errors are JS `Error`s with a stable `code` and, where there is one,
//! the `evidence` (signed checkpoints, proofs, expected and found values).
//!
//! Error codes: `liveledger_core::verdict::Code`, the one list every verifier reports
//! (`BAD_INPUT`, `BAD_SIGNATURE`, `WRONG_ORIGIN`, `NO_KEY`, `FETCH_FAILED`, `NOT_FOUND`,
//! `TAMPERED`, `FORK`, `ROLLBACK`, `INCLUSION_FAILED`, `ABORTED`, `BAD_SINCE`, `QUORUM`,
//! `STALE` (core's `freshness`), `KEY_CHANGED` (`verdict::with_remembered_keys`, for keys a
//! page remembered) and `BAD_ARCHIVE` (`verdict::history_alarm`)); the TypeScript union
//! `LedgerErrorCode` is generated from it (`Code::TYPESCRIPT`).

// SAFETY: the module runs on one thread: its Web Workers run JavaScript, not this Wasm.
#[cfg(target_arch = "wasm32")]
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

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** A verifier key `name+hash+base64`, as the log publishes it. */
export type VerifierKey = string;
export interface Signature { key: string; kind: "log" | "cosignature"; timestamp?: number }
export interface CheckpointResult { origin: string; size: number; root: string; rootHex: string; signatures: Signature[]; signedTime?: number; note: string }
export interface LedgerOptions {
  /** Trusted log keys. Without them the ledger's own metadata is trusted on first use (`trust: "metadata"`). */
  keys?: VerifierKey[];
  origin?: string;
  /** "ledger" (default when the log publishes Live Ledger metadata) or "log" for opaque entries. */
  level?: "ledger" | "log";
  /** Compare every hash tile too (default true). */
  checkTiles?: boolean;
  signal?: AbortSignal;
  /** Deadline per request, body included, in ms (default 30000); each is tried 3 times. */
  timeoutMs?: number;
  onProgress?: (p: Progress) => void;
  /** Where to check event signatures: "auto" (default: WebCrypto, in Web Workers where possible, once it passes a self test; unusual encodings always by `verify_strict`) "webcrypto" (the same, without workers) or "wasm" (`verify_strict` for everything). */
  signatures?: "auto" | "webcrypto" | "wasm";
  /** Each event, once verified: `{seq, leafHash, event}`. */
  onEvent?: (e: { seq: number; leafHash: string; event: any }) => void;
  /** A signed checkpoint of this ledger verified before (an earlier visit's): the one served now must extend it, proved from the log's tiles before anything else is read (`FORK` or `ROLLBACK` with both checkpoints and the proof). One that does not verify with these keys and origin is `BAD_SINCE`. */
  since?: string;
  /** A C2SP tlog-policy (its text) whose witness quorum every checkpoint must meet, instead of the one in the ledger's metadata. */
  policy?: string;
  /** Ask the policy's witnesses what they hold and prove it consistent with the log's (default true): a split view is `FORK`, with the witness named in the evidence. */
  witnessCheck?: boolean;
  /** `audit` only: the `resumePoint` of an earlier audit of this ledger. If it holds (its checkpoint verifies with these keys, its tree edge recomputes that root, today's checkpoint extends it), only the entries after it are read; if not, it is discarded (`resumed.discarded` says why) and the audit starts from zero. */
  resume?: string;
}
/** `entries` read so far; `verified` of them fully checked (signature verdicts can lag a few segments behind). */
export interface Progress { entries: number; verified: number; size: number; bytes: number; segment: number }
export interface WitnessReport { rule: string; met: boolean; source: "pinned" | "metadata"; list: { name: string; key: string; cosigned: boolean; time: number | null }[]; /** What each witness holds (audit and follow's first digest): consistent with the log's, or a note. */ views?: { name: string; size: number | null; consistent: boolean | null; note: string | null }[] }
export interface AuditResult { verified: true; trust: "pinned" | "metadata"; keys: VerifierKey[]; checkpoint: CheckpointResult; stats: Record<string, number>; lastTime?: string; cadenceSeconds?: number; /** The witness quorum the checkpoint met (null: the ledger requires none). */ witnesses: WitnessReport | null; /** Where event signatures were checked (ledger level): "wasm", "webcrypto" or "webcrypto-workers:N". */ signatureEngine?: string; /** The core's staleness rule when the audit ended: stale past twice the ledger's cadence (an hour's if it names none). A stale digest is verified data the page, the element and `liveledger verify` fail as STALE. */ freshness: { stale: boolean; ageSeconds: number | null; staleAfterSeconds: number | null }; /** `audit` with `resume`: where it continued from, or why the point was discarded. */ resumed?: { from: number } | { discarded: string } | null; /** What a later `audit` can continue from (`resume`): keep it with the ledger's address. */ resumePoint?: string | null }
export interface FollowOptions extends LedgerOptions { intervalMs?: number; onDigest?: (d: AuditResult) => void; onAlarm?: (e: LedgerError) => void }
export interface EntryResult { index: number; entry: string; event?: any; leafHash: string; proof: string[]; checkpoint: CheckpointResult; receipt: string; requests: number; bytes: number }
export interface HistoryOptions extends LedgerOptions { /** Check only the newest `limit` archived digests (default 100). */ limit?: number }
export interface HistoryDigest { size: number; root: string; signedTime?: number; note: string; extends: number | null }
export interface HistoryResult { verified: boolean; checkpoint: CheckpointResult; total: number; digests: HistoryDigest[]; failure: { code: LedgerErrorCode; alarm: "FORK" | "ROLLBACK" | "BAD_ARCHIVE"; message: string; evidence?: any } | null }
export interface LedgerError extends Error { code: LedgerErrorCode; evidence?: any }
"#;

/// `LedgerErrorCode`: generated from the core's list of codes, never written here.
#[wasm_bindgen(typescript_custom_section)]
const CODES: &str = liveledger_core::verdict::Code::TYPESCRIPT;

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
}

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
use errors::*;
mod fetch;
use fetch::*;
mod options;
use options::*;
mod results;
use results::*;

/// Verifies a signed checkpoint (digest) against trusted keys. `origin` defaults to the
/// first key's name. Throws a `LedgerError` if it does not verify.
#[wasm_bindgen(js_name = verifyCheckpoint)]
pub fn verify_checkpoint(
    note: &str,
    keys: Vec<String>,
    origin: Option<String>,
) -> Result<JsValue, JsValue> {
    let (keys, origin) = keys_and_origin(&keys, origin)?;
    let cp = VerifiedCheckpoint::open(note.as_bytes(), &keys, &origin).map_err(checkpoint_error)?;
    Ok(to_js(&checkpoint_json(&cp, None)))
}

/// Verifies a receipt (C2SP tlog-proof, the entry in its `extra` line) with no network.
#[wasm_bindgen(js_name = verifyReceipt)]
pub fn verify_receipt(
    receipt: &str,
    keys: Vec<String>,
    origin: Option<String>,
) -> Result<JsValue, JsValue> {
    let (keys, origin) = keys_and_origin(&keys, origin)?;
    let r = Receipt::parse(receipt).map_err(|e| error(Code::BadInput, &e.to_string(), None))?;
    match r.verify(&keys, &origin, None) {
        Ok((cp, entry)) => Ok(to_js(&entry_json(
            r.index,
            &entry,
            &r.proof,
            checkpoint_json(&cp, None),
            receipt,
            0,
            0,
        ))),
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
) -> Result<Result<(), ConsistencyError>, JsValue> {
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

/// Passes a verified event to the page's `onEvent`.
fn emit_event(cb: &Option<Function>, ev: &VerifiedEvent) {
    if let Some(cb) = cb {
        let e = ev.event();
        let v = obj!(
            "seq": e.seq,
            "leafHash": ev.leaf_hash().to_hex(),
            "event": Value::Object(e.object.clone()),
        );
        let _ = cb.call1(&JsValue::NULL, &to_js(&v));
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
    opts: &'a JsValue,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<String>, JsValue>> + 'a>> {
    Box::pin(drive_inner(f, a, opts))
}

async fn drive_inner(
    f: &Fetcher,
    a: &mut Auditor,
    opts: &JsValue,
) -> Result<Option<String>, JsValue> {
    let progress = opt_get(opts, "onProgress").and_then(|p| p.dyn_into::<Function>().ok());
    let on_event = opt_get(opts, "onEvent").and_then(|p| p.dyn_into::<Function>().ok());
    let engine = match a.chain() {
        Some(_) => Some(Engine::for_options(opts).await?),
        None => None,
    };
    let engine_name = engine.as_ref().map(|e| e.name());
    let engine = engine.filter(|e| e.offloads());
    if engine.is_some() {
        a.defer_signatures();
    }
    let mut verdicts: std::collections::VecDeque<engine::Verdicts> = Default::default();
    let result = loop {
        let Some(step) = a.next_step() else {
            break Ok(());
        };
        if aborted(opts) {
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
        let bytes = match f.require(&path.to_string(), true).await {
            Ok(b) => b,
            Err(e) => break Err(e),
        };
        // Events reach the page only once verified (chain, author, signature).
        let fed = a
            .feed_with(&bytes, &mut |ev| emit_event(&on_event, ev))
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
                    let _ = a.confirm_signatures(&v, &mut |ev| emit_event(&on_event, ev));
                }
            }
        }
        if let Some(p) = &progress {
            let s = a.stats();
            let v = obj!("entries": s.entries, "verified": a.verified_entries(), "size": a.target_size(), "bytes": s.bytes, "segment": path.index());
            let _ = p.call1(&JsValue::NULL, &to_js(&v));
        }
    };
    // Every verdict handed out is awaited, also after a failure: a bad signature before
    // the failure found is the first failure.
    for v in verdicts {
        let v = v.await;
        let _ = a.confirm_signatures(&v, &mut |ev| emit_event(&on_event, ev));
    }
    result?;
    if a.failure().is_some() {
        return Err(failure_error(&a.report()));
    }
    Ok(engine_name)
}

/// Audits a whole ledger (or any C2SP log) at `url`: every signature, chain link, tile and
/// the root. Resolves with the result; rejects with a `LedgerError` (`TAMPERED` with the
/// segment and entry as evidence, `BAD_SIGNATURE`, …).
///
/// Segments and tiles are fetched past the browser's HTTP cache (`cache: "no-store"`): an
/// audit reads each file once, and a log's worth of files in the cache would push out
/// everything else the visitor has cached. It is also faster: in Chromium the cache writes
/// cost about a third of each request's time (docs/BENCHMARKS.md).
#[wasm_bindgen]
pub async fn audit(url: String, opts: JsValue) -> Result<JsValue, JsValue> {
    let f = Fetcher::new(&url, &opts);
    let t = trust(&f, &opts).await?;
    let cp = fetch_checkpoint(&f, &t).await?;
    if let Some(old) = since_checkpoint(&t, &opts)? {
        prove_consistency(&f, &mut Consistency::new(cp.size()), &old, &cp).await?;
    }
    let (mut a, resumed) = start_audit(&f, &t, &cp, &opts).await?;
    let views = witness_views(&f, &t, &cp, &opts).await?;
    let engine = drive(&f, &mut a, &opts).await?;
    let mut v = with_views(audit_json(&a, &cp, &t, &engine), views);
    v["resumed"] = resumed;
    Ok(to_js(&v))
}

/// The auditor an audit of `cp` starts with: a fresh one, or, with the `resume` option, one
/// that continues from that kept point. The point is checked by the core
/// (`Auditor::resume`) and its checkpoint proved consistent with `cp` (FORK or ROLLBACK
/// with the evidence, as `since`); then only the new entries are read. A point that does
/// not hold is discarded and said so (`{discarded}`); one that does, `{from}`. A rollback
/// (or another tree of the kept size) is the `ROLLBACK` or `FORK` error.
async fn start_audit(
    f: &Fetcher,
    t: &Trust,
    cp: &VerifiedCheckpoint,
    opts: &JsValue,
) -> Result<(Auditor, Value), JsValue> {
    let check_tiles = opt_get(opts, "checkTiles")
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    let Some(text) = opt_get(opts, "resume").and_then(|v| v.as_string()) else {
        return Ok((Auditor::new(cp, t.level, check_tiles), Value::Null));
    };
    let r =
        ResumePoint::parse(&text).and_then(|p| Auditor::resume(&p, t, cp, t.level, check_tiles));
    match r {
        // A rollback (or another tree of the kept size) is an alarm, not a point to drop.
        Err(ResumeError::Inconsistent(inc)) => Err(inconsistency_error(&inc)),
        Ok((a, kept)) => {
            prove_consistency(f, &mut Consistency::new(cp.size()), &kept, cp).await?;
            let resumed = obj!("from": kept.size());
            Ok((a, resumed))
        }
        Err(e) => Ok((
            Auditor::new(cp, t.level, check_tiles),
            obj!("discarded": e.to_string()),
        )),
    }
}

/// Split views (the rule is core's `audit::views`): asks each witness of the quorum's
/// policy that has a URL for the checkpoint it holds of this log, all at once
/// (`ASK_TIMEOUT_MS` each), and proves each answer consistent with `cp`, either way round,
/// with the log's tiles. Two histories: the `FORK` error, with both checkpoints and the
/// witness's name as evidence; anything that proves nothing is a view with a `note`.
/// `witnessCheck: false` skips it.
async fn witness_views(
    f: &Fetcher,
    t: &Trust,
    cp: &VerifiedCheckpoint,
    opts: &JsValue,
) -> Result<Vec<Value>, JsValue> {
    if opt_get(opts, "witnessCheck").and_then(|v| v.as_bool()) == Some(false) {
        return Ok(Vec::new());
    }
    let mut wv = WitnessViews::new(t, cp);
    let short = Object::new();
    let _ = Reflect::set(&short, &"timeoutMs".into(), &views::ASK_TIMEOUT_MS.into());
    let asked: Vec<(Fetcher, String)> = wv
        .asks()
        .iter()
        .map(|a| (Fetcher::new(&a.url, &short), a.path.clone()))
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
            Err(e) => {
                why = js_message(e);
                Answer::Failed(&why)
            }
        };
        if let Some(pair) = wv.answer(i, answer) {
            let mut c = Consistency::new(pair.newer.size());
            match prove_tiles(f, &mut c, &pair.older, &pair.newer, true).await {
                Ok(r) => wv.proved(i, r).map_err(|split| {
                    let e = inconsistency_error(&split.inconsistency);
                    if let Ok(ev) = Reflect::get(&e, &"evidence".into()) {
                        if ev.is_object() {
                            let _ = Reflect::set(
                                &ev,
                                &"witness".into(),
                                &split.witness.as_str().into(),
                            );
                        }
                    }
                    e
                })?,
                Err(e) => wv.unproved(i, &js_message(&e)),
            }
        }
    }
    Ok(wv.finish().iter().map(|v| v.to_json()).collect())
}

/// Audits, then follows the ledger: polls its checkpoint every `intervalMs` (default
/// 5000), checks each new one's signature and consistency, verifies only the new events,
/// and calls `onDigest` (also when the same tree is re-signed with a newer time). The
/// policy's witnesses are asked what they hold (the split-view check) at the start and
/// then about a new tree at most once a minute. A fork (a split view too), rollback or
/// tampering calls `onAlarm` and ends the promise with that error. Stops (resolving) when
/// `signal` aborts.
#[wasm_bindgen]
pub async fn follow(url: String, opts: JsValue) -> Result<JsValue, JsValue> {
    let f = Fetcher::new(&url, &opts);
    let t = trust(&f, &opts).await?;
    let on_digest = opt_get(&opts, "onDigest").and_then(|p| p.dyn_into::<Function>().ok());
    let on_alarm = opt_get(&opts, "onAlarm").and_then(|p| p.dyn_into::<Function>().ok());
    let interval = opt_get(&opts, "intervalMs")
        .and_then(|v| v.as_f64())
        .unwrap_or(5000.0)
        .max(100.0);
    let alarm = |e: JsValue| {
        if let Some(cb) = &on_alarm {
            let _ = cb.call1(&JsValue::NULL, &e);
        }
        e
    };
    let mut cp = fetch_checkpoint(&f, &t).await.map_err(alarm)?;
    // A `since` that does not verify is the caller's to handle, not an alarm.
    if let Some(old) = since_checkpoint(&t, &opts)? {
        prove_consistency(&f, &mut Consistency::new(cp.size()), &old, &cp)
            .await
            .map_err(|u| alarm(u.into()))?;
    }
    let mut views = witness_views(&f, &t, &cp, &opts).await.map_err(alarm)?;
    let mut views_at = js_sys::Date::now();
    let (mut a, resumed) = start_audit(&f, &t, &cp, &opts).await.map_err(alarm)?;
    let engine = drive(&f, &mut a, &opts).await.map_err(alarm)?;
    if let Some(cb) = &on_digest {
        let mut v = with_views(audit_json(&a, &cp, &t, &engine), views.clone());
        v["resumed"] = resumed;
        let _ = cb.call1(&JsValue::NULL, &to_js(&v));
    }
    let mut unavailable = 0u32;
    'poll: loop {
        sleep(interval).await;
        if aborted(&opts) {
            return Ok(JsValue::UNDEFINED);
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
                if let Some(cb) = &on_digest {
                    let j = with_views(audit_json(&a, &cp, &t, &engine), views.clone());
                    let _ = cb.call1(&JsValue::NULL, &to_js(&j));
                }
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
        drive(&f, &mut a, &opts).await.map_err(alarm)?;
        cp = next;
        // The witnesses are asked again about a new tree, at most once a minute (a split
        // view shown after the visit began is caught too); between, the last answers.
        if js_sys::Date::now() - views_at >= VIEWS_EVERY_MS {
            views = witness_views(&f, &t, &cp, &opts).await.map_err(alarm)?;
            views_at = js_sys::Date::now();
        }
        if let Some(cb) = &on_digest {
            let j = with_views(audit_json(&a, &cp, &t, &engine), views.clone());
            let _ = cb.call1(&JsValue::NULL, &to_js(&j));
        }
    }
}

/// How often `follow` asks the witnesses again, at most (milliseconds).
const VIEWS_EVERY_MS: f64 = 60_000.0;

/// Digests fetched at once by `verifyHistory`.
const HISTORY_PARALLEL: usize = 8;

/// Verifies the ledger's digest archive (`digests/index.txt`, see docs/FORMAT.md): each
/// archived digest is signed by the log key for the origin, each extends the one before
/// it, and the newest extends to the current checkpoint. The consistency proofs come from
/// the current tree's tiles. `limit` (default 100) checks only the newest digests.
///
/// Resolves with `{verified, checkpoint, total, digests, failure}`: `digests` are the
/// ones checked, oldest first, each `{size, root, signedTime, note, extends}`, where
/// `extends` is the size of the digest it was proved to extend; `failure`, when
/// `verified` is false, is the first problem as `{code, alarm, message, evidence}`
/// (`FORK` or `ROLLBACK` with both signed digests and the proof, `BAD_SIGNATURE`,
/// `TAMPERED`, `BAD_ARCHIVE` for a malformed index; `evidence.path` names the file), and
/// `alarm` the alarm it raises: `FORK`, `ROLLBACK`, else `BAD_ARCHIVE`. The rules are the
/// core's `audit::history`. Rejects only when the archive cannot be read (`NOT_FOUND` if
/// the ledger has none).
#[wasm_bindgen(js_name = verifyHistory)]
pub async fn verify_history(url: String, opts: JsValue) -> Result<JsValue, JsValue> {
    let f = Fetcher::new(&url, &opts);
    let t = trust(&f, &opts).await?;
    let limit = opt_get(&opts, "limit")
        .and_then(|v| v.as_f64())
        .filter(|v| *v >= 1.0)
        .map_or(100, |v| v.min(1e6) as usize);
    let index = f.require("digests/index.txt", true).await?;
    let mut current = fetch_checkpoint(&f, &t).await?;
    let time_key = t.time_key.as_ref();
    // A malformed index is a verdict on the archive, not a failure to read it.
    let damaged = |current: &VerifiedCheckpoint, e: HistoryError| {
        Ok(to_js(&obj!(
            "verified": false,
            "checkpoint": checkpoint_json(current, time_key),
            "total": 0,
            "digests": Vec::<Value>::new(),
            "failure": history_failure(&e),
        )))
    };
    let mut h = match History::new(&current, &index, limit) {
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
        h = match History::new(&current, &index, limit) {
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
    let rows: Vec<Value> = r
        .rows
        .iter()
        .map(|row| {
            let c = checkpoint_json(&row.checkpoint, time_key);
            obj!("size": c["size"].clone(), "root": c["root"].clone(), "signedTime": c["signedTime"].clone(), "note": c["note"].clone(), "extends": row.extends)
        })
        .collect();
    let failure = r.failure.as_ref().map(history_failure);
    Ok(to_js(&obj!(
        "verified": r.verified(),
        "checkpoint": checkpoint_json(&r.current, time_key),
        "total": r.total,
        "digests": rows,
        "failure": failure,
    )))
}

/// Polls in a row that may find a new checkpoint's tiles missing before that is an alarm.
const MAX_UNAVAILABLE_POLLS: u32 = 5;

/// Verifies one entry by inclusion proof, with a few small fetches: the checkpoint, the
/// entry's bundle (whose hashes stand in for its level 0 tile), and the upper tiles the
/// proof needs. Resolves with the entry, the proof and a receipt for offline checking.
#[wasm_bindgen(js_name = verifyEntry)]
pub async fn verify_entry(url: String, index: f64, opts: JsValue) -> Result<JsValue, JsValue> {
    if !(index >= 0.0 && index.fract() == 0.0 && index < 9007199254740992.0) {
        return Err(error(
            Code::BadInput,
            "index must be a non-negative integer",
            None,
        ));
    }
    let index = index as u64;
    let f = Fetcher::new(&url, &opts);
    // With pinned keys, the metadata adds nothing to an inclusion proof.
    let t = trust_with(&f, &opts, false).await?;
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
    Ok(to_js(&entry_json(
        index,
        entry,
        &proof,
        checkpoint_json(&cp, t.time_key.as_ref()),
        &receipt,
        f.requests.get(),
        f.bytes.get(),
    )))
}

/// The signature engine the options select (see `LedgerOptions.signatures`), started and
/// self-tested on first use: `"wasm"`, `"webcrypto"` or `"webcrypto-workers:N"`.
#[wasm_bindgen(js_name = signatureEngine)]
pub async fn signature_engine(opts: JsValue) -> Result<String, JsValue> {
    Ok(Engine::for_options(&opts).await?.name())
}

/// Verifies Ed25519 signatures with `verify_strict`'s verdicts, on the engine the
/// options select: `checks` is an array of `{key, signature, message}`, each a hex
/// string (key 32 bytes, signature 64). Resolves with one boolean per check.
#[wasm_bindgen(js_name = verifySignatures)]
pub async fn verify_signatures(checks: JsValue, opts: JsValue) -> Result<JsValue, JsValue> {
    /// Field `name` of check `i`, hex, `len` bytes long (any length if 0).
    fn field(o: &JsValue, name: &str, i: u32, len: usize) -> Result<Vec<u8>, JsValue> {
        let text = Reflect::get(o, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default();
        let bytes = hex_bytes(&text).filter(|b| len == 0 || b.len() == len);
        bytes.ok_or_else(|| {
            let want = if len == 0 {
                "hex".to_string()
            } else {
                format!("{len} bytes of hex")
            };
            error(
                Code::BadInput,
                &format!("check {i}: {name} must be {want}, found {text:?}"),
                None,
            )
        })
    }
    let list = js_sys::Array::from(&checks);
    let mut batch = Vec::with_capacity(list.length() as usize);
    for (i, c) in list.iter().enumerate() {
        let i = i as u32;
        let mut key = [0u8; 32];
        let mut sig = [0u8; 64];
        key.copy_from_slice(&field(&c, "key", i, 32)?);
        sig.copy_from_slice(&field(&c, "signature", i, 64)?);
        let msg = field(&c, "message", i, 0)?;
        batch.push(liveledger_core::sigcheck::SignatureCheck::new(
            u64::from(i),
            key,
            sig,
            msg,
        ));
    }
    let verdicts = Engine::for_options(&opts).await?.verify(batch).await;
    Ok(verdicts
        .into_iter()
        .map(JsValue::from)
        .collect::<js_sys::Array>()
        .into())
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The crate version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
