//! The Live Ledger verifier for JavaScript: `liveledger-wasm`.
//!
//! Everything verifies client-side with `liveledger-core`; this crate only fetches (with
//! the global `fetch`, so it runs in pages, workers and Node) and converts. Results are
//! plain JS objects; errors are JS `Error`s with a stable `code` and, where there is one,
//! the `evidence` (signed checkpoints, proofs, expected and found values).
//!
//! Error codes: `liveledger_core::verdict::Code`, the one list every verifier reports
//! (`BAD_INPUT`, `BAD_SIGNATURE`, `WRONG_ORIGIN`, `NO_KEY`, `FETCH_FAILED`, `NOT_FOUND`,
//! `TAMPERED`, `FORK`, `ROLLBACK`, `INCLUSION_FAILED`, `ABORTED`, `BAD_SINCE`, `QUORUM`,
//! and the page's `STALE`, `KEY_CHANGED`, `BAD_ARCHIVE`); the TypeScript union below is
//! checked against it by tests/api.rs.

// SAFETY: the module runs on one thread: its Web Workers run JavaScript, not this Wasm.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };

use std::cell::{Cell, RefCell};

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use liveledger_core::audit::history::{History, HistoryError};
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
}
/** `entries` read so far; `verified` of them fully checked (signature verdicts can lag a few segments behind). */
export interface Progress { entries: number; verified: number; size: number; bytes: number; segment: number }
export interface WitnessReport { rule: string; met: boolean; source: "pinned" | "metadata"; list: { name: string; key: string; cosigned: boolean; time: number | null }[]; /** What each witness holds (audit and follow's first digest): consistent with the log's, or a note. */ views?: { name: string; size: number | null; consistent: boolean | null; note: string | null }[] }
export interface AuditResult { verified: true; trust: "pinned" | "metadata"; keys: VerifierKey[]; checkpoint: CheckpointResult; stats: Record<string, number>; lastTime?: string; cadenceSeconds?: number; /** The witness quorum the checkpoint met (null: the ledger requires none). */ witnesses: WitnessReport | null; /** Where event signatures were checked (ledger level): "wasm", "webcrypto" or "webcrypto-workers:N". */ signatureEngine?: string; /** The core's staleness rule when the audit ended: stale past twice the ledger's cadence (an hour's if it names none). A stale digest is verified data the page, the element and `liveledger verify` fail as STALE. */ freshness: { stale: boolean; ageSeconds: number | null; staleAfterSeconds: number | null } }
export interface FollowOptions extends LedgerOptions { intervalMs?: number; onDigest?: (d: AuditResult) => void; onAlarm?: (e: LedgerError) => void }
export interface EntryResult { index: number; entry: string; event?: any; leafHash: string; proof: string[]; checkpoint: CheckpointResult; receipt: string; requests: number; bytes: number }
export interface HistoryOptions extends LedgerOptions { /** Check only the newest `limit` archived digests (default 100). */ limit?: number }
export interface HistoryDigest { size: number; root: string; signedTime?: number; note: string; extends: number | null }
export interface HistoryResult { verified: boolean; checkpoint: CheckpointResult; total: number; digests: HistoryDigest[]; failure: { code: LedgerError["code"]; alarm: "FORK" | "ROLLBACK" | "BAD_ARCHIVE"; message: string; evidence?: any } | null }
export interface LedgerError extends Error { code: "BAD_INPUT" | "BAD_SIGNATURE" | "WRONG_ORIGIN" | "NO_KEY" | "FETCH_FAILED" | "NOT_FOUND" | "TAMPERED" | "FORK" | "ROLLBACK" | "INCLUSION_FAILED" | "ABORTED" | "BAD_SINCE" | "QUORUM" | "STALE" | "KEY_CHANGED" | "BAD_ARCHIVE"; evidence?: any }
"#;

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

/// How long one request may take, body included, before it is abandoned (and retried).
const FETCH_TIMEOUT_MS: f64 = 30_000.0;

/// A JS Error with a code and optional evidence.
fn error(code: Code, message: &str, evidence: Option<Value>) -> JsValue {
    let e = js_sys::Error::new(message);
    let _ = Reflect::set(&e, &"code".into(), &code.as_str().into());
    let _ = Reflect::set(&e, &"name".into(), &"LedgerError".into());
    if let Some(ev) = evidence {
        let _ = Reflect::set(&e, &"evidence".into(), &to_js(&ev));
    }
    e.into()
}

/// A plain JS object from JSON. Written by the core's RFC 8785 writer, the one JSON
/// serializer in the module (serde_json's own would add a second float formatter).
fn to_js(v: &Value) -> JsValue {
    liveledger_core::jcs::to_canonical(v)
        .ok()
        .and_then(|s| js_sys::JSON::parse(&s).ok())
        .unwrap_or(JsValue::NULL)
}

fn checkpoint_error(e: CheckpointError) -> JsValue {
    let evidence = match &e {
        CheckpointError::WrongOrigin { expected, found } => {
            Some(obj!("expected": expected.as_str(), "found": found.as_str()))
        }
        _ => None,
    };
    error(verdict::checkpoint_code(&e), &e.to_string(), evidence)
}

fn parse_keys(keys: &[String]) -> Result<Vec<VerifierKey>, JsValue> {
    keys.iter()
        .map(|k| {
            VerifierKey::parse(k.trim())
                .map_err(|e| error(Code::BadInput, &format!("key {k:?}: {e}"), None))
        })
        .collect()
}

/// A checkpoint as results show it; `time_key`: the ledger's, whose cosignature gives the
/// signed time (core's `freshness::signed_time`).
fn checkpoint_json(cp: &VerifiedCheckpoint, time_key: Option<&VerifierKey>) -> Value {
    let sigs: Vec<Value> = cp
        .note()
        .verified()
        .iter()
        .map(|v| match v.timestamp {
            Some(t) => obj!("key": v.key.short(), "kind": "cosignature", "timestamp": t),
            None => obj!("key": v.key.short(), "kind": "log"),
        })
        .collect();
    obj!(
        "origin": cp.origin(),
        "size": cp.size(),
        "root": cp.root().to_base64(),
        "rootHex": cp.root().to_hex(),
        "signatures": sigs,
        "signedTime": liveledger_core::freshness::signed_time(cp, time_key),
        "note": String::from_utf8_lossy(&cp.to_bytes()),
    )
}

/// Parses trusted keys; the origin defaults to the first key's name.
fn keys_and_origin(
    keys: &[String],
    origin: Option<String>,
) -> Result<(Vec<VerifierKey>, String), JsValue> {
    let keys = parse_keys(keys)?;
    let origin = origin.unwrap_or_else(|| {
        keys.first()
            .map(|k| k.name().to_owned())
            .unwrap_or_default()
    });
    Ok((keys, origin))
}

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

fn entry_json(
    index: u64,
    entry: &[u8],
    proof: &[liveledger_core::Hash],
    checkpoint: Value,
    receipt: &str,
    requests: u32,
    bytes: u64,
) -> Value {
    let event = UnverifiedEvent::parse(entry)
        .ok()
        .map(|e| Value::Object(e.object));
    obj!(
        "index": index,
        "entry": String::from_utf8_lossy(entry),
        "event": event,
        "leafHash": leaf_hash(entry).to_hex(),
        "proof": proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
        "checkpoint": checkpoint,
        "receipt": receipt,
        "requests": requests,
        "bytes": bytes,
    )
}

/// A fetcher that counts what it fetched. Every request has a deadline (`timeoutMs`,
/// default 30 s, for the response and its body), so a server that stops answering is a
/// `FETCH_FAILED` after the retries, never a verification that hangs.
struct Fetcher {
    base: String,
    timeout_ms: f64,
    requests: Cell<u32>,
    bytes: Cell<u64>,
    /// Requests started by [`Fetcher::keep_ahead`], by path, for `get` to take up.
    ahead: RefCell<Vec<(String, (Promise, Deadline))>>,
}

impl Fetcher {
    fn new(url: &str, opts: &JsValue) -> Fetcher {
        let timeout_ms = opt_get(opts, "timeoutMs")
            .and_then(|v| v.as_f64())
            .filter(|t| *t > 0.0)
            .unwrap_or(FETCH_TIMEOUT_MS);
        Fetcher {
            base: url.trim_end_matches('/').to_owned(),
            timeout_ms,
            requests: Cell::new(0),
            bytes: Cell::new(0),
            ahead: RefCell::new(Vec::new()),
        }
    }

    /// Starts a fetch that aborts itself at the deadline, unless the [`Deadline`] is
    /// dropped first (once the body is read).
    fn fetch(&self, url: &str, no_store: bool) -> (Promise, Deadline) {
        let init = Object::new();
        if no_store {
            let _ = Reflect::set(&init, &"cache".into(), &"no-store".into());
        }
        let ctl = AbortController::new();
        let _ = Reflect::set(&init, &"signal".into(), &ctl.signal());
        // `ctl.abort` bound in JS: nothing of Rust's is kept alive by a pending timer.
        let timer = Reflect::get(&ctl, &"abort".into())
            .and_then(|abort| {
                let bind: Function = Reflect::get(&abort, &"bind".into())?.dyn_into()?;
                bind.call2(&abort, &ctl, &"timed out".into())?
                    .dyn_into::<Function>()
            })
            .map(|abort| set_timeout(&abort, self.timeout_ms))
            .unwrap_or(JsValue::NULL);
        let request = global_fetch(url, &init);
        // Marked handled at once: a request started ahead (`keep_ahead`) may fail before
        // anyone awaits it, and the browser would report an unhandled rejection; whoever
        // awaits it later still gets the error.
        IGNORE.with(|f| {
            let _ = request.catch(f);
        });
        (request, Deadline(timer))
    }

    async fn get(&self, path: &str, no_store: bool) -> Result<Option<Vec<u8>>, JsValue> {
        let url = format!("{}/{path}", self.base);
        let mut last = JsValue::NULL;
        let mut early = {
            let mut ahead = self.ahead.borrow_mut();
            let i = ahead.iter().position(|(p, _)| p == path);
            i.map(|i| ahead.swap_remove(i).1)
        };
        for attempt in 0..3 {
            if attempt > 0 {
                sleep(250.0 * attempt as f64).await;
            }
            let (request, _deadline) = match early.take() {
                Some(started) => started,
                None => {
                    self.requests.set(self.requests.get() + 1);
                    self.fetch(&url, no_store)
                }
            };
            let resp = match JsFuture::from(request).await {
                Ok(r) => r,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let status = Reflect::get(&resp, &"status".into())
                .ok()
                .and_then(|s| s.as_f64())
                .unwrap_or(0.0) as u32;
            if status == 404 {
                return Ok(None);
            }
            if !(200..300).contains(&status) {
                last = format!("HTTP {status}").into();
                if status < 500 {
                    break;
                }
                continue;
            }
            let ab = Reflect::get(&resp, &"arrayBuffer".into())?
                .dyn_into::<Function>()?
                .call0(&resp)?;
            let buf = match JsFuture::from(Promise::from(ab)).await {
                Ok(b) => b,
                Err(e) => {
                    last = e; // the body stalled or was cut: try again
                    continue;
                }
            };
            let v = Uint8Array::new(&buf).to_vec();
            self.bytes.set(self.bytes.get() + v.len() as u64);
            return Ok(Some(v));
        }
        let why = last
            .as_string()
            .or_else(|| js_sys::Error::from(last.clone()).message().as_string())
            .unwrap_or_default();
        Err(error(
            Code::FetchFailed,
            &format!("could not fetch {url}: {why}"),
            Some(obj!("url": url)),
        ))
    }

    /// Keeps requests for exactly `paths` in flight: starts those not yet started, and
    /// drops those no longer wanted. The next [`Fetcher::get`] of a path takes up its
    /// request (and makes the retries, if it fails) instead of starting its own. Files
    /// needed together are requested at once: one round trip instead of one each.
    fn keep_ahead(&self, paths: &[String], no_store: bool) {
        let mut ahead = self.ahead.borrow_mut();
        ahead.retain(|(p, _)| paths.contains(p));
        for p in paths {
            if !ahead.iter().any(|(q, _)| q == p) {
                self.requests.set(self.requests.get() + 1);
                let started = self.fetch(&format!("{}/{p}", self.base), no_store);
                ahead.push((p.clone(), started));
            }
        }
    }

    async fn require(&self, path: &str, no_store: bool) -> Result<Vec<u8>, JsValue> {
        self.get(path, no_store).await?.ok_or_else(|| {
            error(
                Code::NotFound,
                &format!("{}/{path} does not exist", self.base),
                Some(obj!("path": path)),
            )
        })
    }
}

thread_local! {
    /// A handler that ignores a rejection (made once; see `Fetcher::fetch`).
    static IGNORE: Closure<dyn FnMut(JsValue)> = Closure::new(|_: JsValue| {});
}

/// A request's deadline timer, cleared when dropped.
struct Deadline(JsValue);

impl Drop for Deadline {
    fn drop(&mut self) {
        if !self.0.is_null() {
            clear_timeout(&self.0);
        }
    }
}

async fn sleep(ms: f64) {
    let p = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    let _ = JsFuture::from(p).await;
}

fn opt_get(o: &JsValue, k: &str) -> Option<JsValue> {
    if o.is_undefined() || o.is_null() {
        return None;
    }
    Reflect::get(o, &k.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn aborted(opts: &JsValue) -> bool {
    opt_get(opts, "signal")
        .and_then(|s| Reflect::get(&s, &"aborted".into()).ok())
        .and_then(|a| a.as_bool())
        .unwrap_or(false)
}

/// What the options and the ledger's metadata say about trust: the core's rules
/// ([`liveledger_core::trust`]), fed with the options and the fetched metadata.
async fn trust(f: &Fetcher, opts: &JsValue) -> Result<Trust, JsValue> {
    trust_with(f, opts, true).await
}

/// The options as a [`TrustRequest`].
fn trust_request(opts: &JsValue) -> Result<TrustRequest, JsValue> {
    let keys: Vec<String> = match opt_get(opts, "keys") {
        None => Vec::new(),
        Some(k) if js_sys::Array::is_array(&k) => js_sys::Array::from(&k)
            .iter()
            .map(|x| {
                x.as_string()
                    .ok_or_else(|| error(Code::BadInput, "keys must be strings", None))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(error(
                Code::BadInput,
                "keys must be an array of verifier key strings",
                None,
            ))
        }
    };
    let level = match opt_get(opts, "level").map(|l| l.as_string()) {
        None => None,
        Some(Some(l)) if l == "ledger" => Some(Level::Ledger),
        Some(Some(l)) if l == "log" => Some(Level::Log),
        Some(other) => {
            return Err(error(
                Code::BadInput,
                &format!("level must be \"ledger\" or \"log\"; found {other:?}"),
                None,
            ))
        }
    };
    let policy = match opt_get(opts, "policy").map(|p| p.as_string()) {
        None => None,
        Some(Some(text)) => Some(
            liveledger_core::policy::Policy::parse(text.as_bytes())
                .map_err(|e| error(Code::BadInput, &format!("policy: {e}"), None))?,
        ),
        Some(None) => {
            return Err(error(
                Code::BadInput,
                "policy must be the text of a C2SP tlog-policy file",
                None,
            ))
        }
    };
    Ok(TrustRequest {
        pinned: parse_keys(&keys)?,
        origin: opt_get(opts, "origin").and_then(|o| o.as_string()),
        level,
        policy,
    })
}

/// [`trust`]; without `metadata`, pinned keys are used as they are and the metadata is
/// not fetched (one request less where nothing from it is needed).
async fn trust_with(f: &Fetcher, opts: &JsValue, metadata: bool) -> Result<Trust, JsValue> {
    let req = trust_request(opts)?;
    let fetched = if metadata || req.pinned.is_empty() {
        // Every caller fetches the checkpoint next; it does not wait for the metadata.
        f.keep_ahead(&["checkpoint".into()], true);
        f.get("metadata", true).await?
    } else {
        None
    };
    Trust::establish(&req, fetched.as_deref()).map_err(|e| trust_error(e, "metadata"))
}

/// A [`TrustError`] as a `LedgerError`; `what` names the document in the message.
fn trust_error(e: TrustError, what: &str) -> JsValue {
    // The code is the core's; this adds only the message and the evidence.
    let code = verdict::trust_code(&e);
    let message = match &e {
        TrustError::NoKey => {
            "the log publishes no metadata; pass its verifier key in `keys`".to_owned()
        }
        _ => format!("{what}: {e}"),
    };
    let evidence = match e {
        TrustError::NoKey | TrustError::MetadataNote(_) | TrustError::Metadata(_) => None,
        TrustError::Checkpoint(CheckpointError::WrongOrigin { expected, found }) => {
            Some(obj!("expected": expected, "found": found))
        }
        TrustError::Quorum {
            rule,
            found,
            cosigned,
            missing,
        } => Some(
            obj!("path": what, "rule": rule, "found": found, "cosigned": cosigned, "missing": missing),
        ),
        _ => Some(obj!("path": what)),
    };
    error(code, &message, evidence)
}

async fn fetch_checkpoint(f: &Fetcher, t: &Trust) -> Result<VerifiedCheckpoint, JsValue> {
    let b = f.require("checkpoint", true).await?;
    open_checkpoint(&b, t, "checkpoint")
}

/// Verifies a signed checkpoint under the trust (`what` names it in errors): see
/// [`Trust::open_checkpoint`].
fn open_checkpoint(b: &[u8], t: &Trust, what: &str) -> Result<VerifiedCheckpoint, JsValue> {
    t.open_checkpoint(b).map_err(|e| trust_error(e, what))
}

fn inconsistency_error(inc: &liveledger_core::audit::Inconsistency) -> JsValue {
    let code = verdict::inconsistency_code(inc);
    error(code, &inc.to_string(), Some(inconsistency_evidence(inc)))
}

/// Both signed checkpoints and the proof: what an inconsistency is shown with.
fn inconsistency_evidence(inc: &liveledger_core::audit::Inconsistency) -> Value {
    obj!(
        "oldCheckpoint": String::from_utf8_lossy(&inc.old_checkpoint),
        "newCheckpoint": String::from_utf8_lossy(&inc.new_checkpoint),
        "proof": inc.proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
    )
}

fn consistency_error(e: ConsistencyError) -> JsValue {
    match e {
        ConsistencyError::Inconsistent(inc) => inconsistency_error(&inc),
        ConsistencyError::BadTile { path, .. } => error(
            Code::Tampered,
            &e.to_string(),
            Some(obj!("path": path.to_string())),
        ),
        _ => error(Code::BadInput, &e.to_string(), None),
    }
}

/// A failed inclusion proof as a `LedgerError`, with its evidence.
fn inclusion_error(e: &InclusionError) -> JsValue {
    let evidence = match e {
        InclusionError::NotIncluded {
            index,
            segment,
            proof,
            ..
        } => Some(
            obj!("index": *index, "segment": *segment, "proof": proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>()),
        ),
        InclusionError::BadBundle { path, .. } => {
            Some(obj!("segment": path.index(), "path": path.to_string()))
        }
        InclusionError::BadTile { path, .. } => Some(obj!("path": path.to_string())),
        _ => None,
    };
    error(verdict::inclusion_code(e), &e.to_string(), evidence)
}

/// Why a consistency proof did not pass: a tile could not be fetched (the network, or a
/// publisher mid-upload: no verdict), or the log's own verdict (FORK, ROLLBACK, TAMPERED).
enum Unproved {
    Fetch(JsValue),
    Verdict(JsValue),
}

impl From<Unproved> for JsValue {
    fn from(u: Unproved) -> JsValue {
        match u {
            Unproved::Fetch(e) | Unproved::Verdict(e) => e,
        }
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

/// The `since` option: the checkpoint this verifier trusted before, verified with the
/// same trust as the log's (`BAD_SINCE` if it does not verify: the caller's to handle).
fn since_checkpoint(t: &Trust, opts: &JsValue) -> Result<Option<VerifiedCheckpoint>, JsValue> {
    let Some(since) = opt_get(opts, "since").and_then(|s| s.as_string()) else {
        return Ok(None);
    };
    t.open_past_checkpoint(since.as_bytes())
        .map(Some)
        .map_err(|e| error(Code::BadSince, &format!("since: {e}"), None))
}

fn failure_error(r: &AuditReport) -> JsValue {
    let Some(f) = r.failure.as_ref() else {
        return error(Code::Tampered, "the audit failed", None);
    };
    error(
        verdict::audit_code(f),
        &f.to_string(),
        Some(obj!(
            "segment": f.location.bundle,
            "entry": f.location.entry,
            "path": f.location.step.map(|s| s.path().to_string()),
            "detail": f.error.to_string(),
            "size": r.size,
            "root": r.root.to_base64(),
        )),
    )
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

/// Who witnessed `cp` under `t`'s quorum (which `open_checkpoint` enforced), for display.
fn witnesses_json(t: &Trust, cp: &VerifiedCheckpoint) -> Value {
    let Some((p, source)) = &t.quorum else {
        return Value::Null;
    };
    let verified = cp.note().verified();
    let keys: Vec<VerifierKey> = verified.iter().map(|v| v.key.clone()).collect();
    let r = p.evaluate(&keys);
    let list: Vec<Value> = r
        .witnesses
        .iter()
        .map(|(name, key, c)| {
            let time = verified
                .iter()
                .find(|v| &v.key == key)
                .and_then(|v| v.timestamp);
            obj!("name": name.as_str(), "key": key.short(), "cosigned": *c, "time": time)
        })
        .collect();
    obj!(
        "rule": r.rule,
        "met": r.met,
        "source": match source { liveledger_core::trust::QuorumSource::Pinned => "pinned", _ => "metadata" },
        "list": list,
    )
}

fn audit_json(a: &Auditor, cp: &VerifiedCheckpoint, t: &Trust, engine: &Option<String>) -> Value {
    let s = a.stats();
    obj!(
        "signatureEngine": engine.clone(),
        "verified": true,
        "trust": match t.source { KeySource::Pinned => "pinned", KeySource::FirstUse => "metadata" },
        "keys": t.log_keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        "checkpoint": checkpoint_json(cp, t.time_key.as_ref()),
        "level": if t.level == Level::Ledger { "ledger" } else { "log" },
        "stats": obj!("entries": s.entries, "segments": s.bundles, "tiles": s.tiles, "bytes": s.bytes, "signatures": s.signatures,
                  "corrections": s.corrections, "commitments": s.commitments, "governance": s.governance),
        "lastTime": a.chain().and_then(|c| c.last_time()).map(|t| t.to_string()),
        "cadenceSeconds": t.cadence_seconds,
        "witnesses": witnesses_json(t, cp),
        "freshness": freshness_json(t, cp),
    )
}

/// Core's staleness rule at this moment: `{stale, ageSeconds, staleAfterSeconds}` (age and
/// limit null without a signed time). A stale digest is still verified data: the
/// module says so, and the page, the element and `liveledger verify` fail it as STALE.
fn freshness_json(t: &Trust, cp: &VerifiedCheckpoint) -> Value {
    use liveledger_core::freshness::{self, Freshness};
    let now = (js_sys::Date::now() / 1000.0) as u64;
    let signed = freshness::signed_time(cp, t.time_key.as_ref());
    match Freshness::judge(signed, now, t.cadence_seconds, None) {
        Freshness::Fresh { age, limit } => {
            obj!("stale": false, "ageSeconds": age, "staleAfterSeconds": limit)
        }
        Freshness::Stale { age, limit } => {
            obj!("stale": true, "ageSeconds": age, "staleAfterSeconds": limit)
        }
        Freshness::Untimed { .. } => {
            obj!("stale": false, "ageSeconds": Value::Null, "staleAfterSeconds": Value::Null)
        }
    }
}

/// An auditor for `cp` at the level trust says, comparing tiles unless `checkTiles` is false.
fn auditor(cp: &VerifiedCheckpoint, t: &Trust, opts: &JsValue) -> Auditor {
    let check_tiles = opt_get(opts, "checkTiles")
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    Auditor::new(cp, t.level, check_tiles)
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
    let views = witness_views(&f, &t, &cp, &opts).await?;
    let mut a = auditor(&cp, &t, &opts);
    let engine = drive(&f, &mut a, &opts).await?;
    Ok(to_js(&with_views(audit_json(&a, &cp, &t, &engine), views)))
}

fn with_views(mut v: Value, views: Vec<Value>) -> Value {
    if v["witnesses"].is_object() {
        v["witnesses"]["views"] = Value::Array(views);
    }
    v
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

/// A JS error's message.
fn js_message(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_default()
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
    let mut a = auditor(&cp, &t, &opts);
    let engine = drive(&f, &mut a, &opts).await.map_err(alarm)?;
    if let Some(cb) = &on_digest {
        let _ = cb.call1(
            &JsValue::NULL,
            &to_js(&with_views(audit_json(&a, &cp, &t, &engine), views.clone())),
        );
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

/// A digest history's failure as `{code, alarm, message, evidence}`: the core's codes,
/// its message, the file it is about, and for a fork or rollback both signed digests and
/// the proof.
fn history_failure(e: &HistoryError) -> Value {
    let mut evidence = match e {
        HistoryError::Consistency { source, .. } => match &**source {
            ConsistencyError::Inconsistent(inc) => inconsistency_evidence(inc),
            _ => Value::Object(Map::new()),
        },
        _ => Value::Object(Map::new()),
    };
    evidence["path"] = e.path().into();
    obj!(
        "code": verdict::history_code(e).as_str(),
        "alarm": verdict::history_alarm(e).as_str(),
        "message": e.to_string(),
        "evidence": evidence,
    )
}

/// Polls in a row that may find a new checkpoint's tiles missing before that is an alarm.
const MAX_UNAVAILABLE_POLLS: u32 = 5;

/// A failure to fetch (the network, or a file not there yet), not a verdict on the ledger.
fn is_network_error(e: &JsValue) -> bool {
    matches!(
        Reflect::get(e, &"code".into())
            .ok()
            .and_then(|c| c.as_string())
            .as_deref(),
        Some("FETCH_FAILED" | "NOT_FOUND")
    )
}

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
