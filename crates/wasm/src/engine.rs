//! Where event signatures are checked: the signature engine.
//!
//! The verdict of record is `verify_strict` (see `liveledger_core::sigcheck`). It runs in
//! Wasm on the page's thread at about 5.7 k verifications/s in Chromium. The runtime's
//! WebCrypto Ed25519 is about 3× faster, and in Web Workers it runs on every core. So:
//!
//! - inputs that `sigcheck::unusual` flags always go to `verify_strict` here;
//! - ordinary inputs go to WebCrypto, in Web Workers when the runtime has them (one per
//!   core, at most 4), else on this thread (Node runs WebCrypto on its thread pool);
//! - an engine is used only after it gave exactly the verdicts of
//!   `sigcheck::self_test()`, which a cofactored implementation fails; a worker that
//!   cannot start (a Content-Security-Policy without `worker-src blob:`, say) or does not
//!   answer within 5 s is not used;
//! - a check the engine could not make (it threw) is made by `verify_strict`.
//!
//! `signatures: "wasm"` in the options forces `verify_strict` for everything, and
//! `signatures: "webcrypto"` keeps WebCrypto on the page's thread (no workers).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use liveledger_core::sigcheck::{self, SignatureCheck, StrictVerifier};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    type Worker;
    #[wasm_bindgen(constructor, catch)]
    fn new(url: &str) -> Result<Worker, JsValue>;
    #[wasm_bindgen(method, js_name = postMessage, catch)]
    fn post_message(this: &Worker, msg: &JsValue, transfer: &Array) -> Result<(), JsValue>;
    #[wasm_bindgen(method, setter)]
    fn set_onmessage(this: &Worker, f: &Function);
    #[wasm_bindgen(method, setter)]
    fn set_onerror(this: &Worker, f: &Function);
    #[wasm_bindgen(method)]
    fn terminate(this: &Worker);

    type Blob;
    #[wasm_bindgen(constructor, catch)]
    fn new(parts: &Array, options: &JsValue) -> Result<Blob, JsValue>;

    #[wasm_bindgen(js_namespace = URL, js_name = createObjectURL, catch)]
    fn create_object_url(blob: &Blob) -> Result<String, JsValue>;
}

/// The worker: imports each key once, verifies a packed batch, answers per check 1 (holds),
/// 0 (does not) or 2 (the engine threw: the page checks it itself).
const WORKER_JS: &str = r#""use strict";
const subtle = crypto.subtle, keys = new Map();
// A key's CryptoKey once imported (a promise of it until then).
function key(raw) {
  let id = "";
  for (let i = 0; i < 32; i++) id += String.fromCharCode(raw[i]);
  let k = keys.get(id);
  if (!k) {
    if (keys.size >= 4096) keys.clear();
    k = subtle.importKey("raw", raw.slice(), { name: "Ed25519" }, false, ["verify"]);
    keys.set(id, k);
    k.then((imported) => keys.set(id, imported), () => {});
  }
  return k;
}
onmessage = async (e) => {
  const { id, buf } = e.data, b = new Uint8Array(buf), v = new DataView(buf);
  const n = v.getUint32(0, true), out = new Uint8Array(n), jobs = [];
  let at = 4;
  for (let i = 0; i < n; i++) {
    const k = key(b.subarray(at, at + 32)), sig = b.subarray(at + 32, at + 96);
    const len = v.getUint32(at + 96, true), msg = b.subarray(at + 100, at + 100 + len);
    at += 100 + len;
    const verify = (k) => subtle.verify("Ed25519", k, sig, msg);
    jobs.push((k instanceof Promise ? k.then(verify) : verify(k))
      .then((ok) => { out[i] = ok ? 1 : 0; }, () => { out[i] = 2; }));
  }
  await Promise.all(jobs);
  postMessage({ id, out }, [out.buffer]);
};
"#;

/// How long a new worker may take to pass the self test.
const WORKER_START_MS: f64 = 5000.0;

/// A verdict from an engine: holds, does not, or could not say.
const HOLDS: u8 = 1;
const FAILS: u8 = 0;

/// The resolve functions of a worker's outstanding requests, by request id. (Small maps
/// here are vectors: a hash map costs the module kilobytes.)
type Replies = Rc<RefCell<Vec<(u32, Function)>>>;

/// Imported WebCrypto keys (`null`: could not be imported).
type Keys = Rc<RefCell<Vec<([u8; 32], JsValue)>>>;

struct Pool {
    workers: Vec<(Worker, Replies)>,
    next: Cell<usize>,
    id: Cell<u32>,
}

enum Kind {
    Wasm,
    WebCrypto { subtle: JsValue, keys: Keys },
    Workers(Pool),
}

/// A signature engine, chosen once per page (see the module documentation).
pub(crate) struct Engine {
    kind: Kind,
}

thread_local! {
    /// The engines chosen, with workers allowed `[0]` and on this thread only `[1]`.
    static CHOSEN: RefCell<[Option<Rc<Engine>>; 2]> = const { RefCell::new([None, None]) };
    static STARTING: RefCell<[Option<Promise>; 2]> = const { RefCell::new([None, None]) };
}

pub(crate) type Verdicts = Pin<Box<dyn Future<Output = Vec<bool>>>>;

impl Engine {
    fn wasm() -> Rc<Engine> {
        Rc::new(Engine { kind: Kind::Wasm })
    }

    /// The engine the options ask for (`signatures`): `"wasm"`; `"webcrypto"` (on this
    /// thread only); or (`"auto"`, the default) the fastest one that passes the self test.
    pub(crate) async fn for_options(asked: crate::Signatures) -> Rc<Engine> {
        let slot = match asked {
            crate::Signatures::Auto => 0,
            crate::Signatures::WebCrypto => 1,
            crate::Signatures::Wasm => return Engine::wasm(),
        };
        if let Some(e) = CHOSEN.with(|c| c.borrow()[slot].clone()) {
            return e;
        }
        let starting = STARTING.with(|s| {
            s.borrow_mut()[slot]
                .get_or_insert_with(|| {
                    wasm_bindgen_futures::future_to_promise(async move {
                        let e = Rc::new(choose(slot == 0).await);
                        CHOSEN.with(|c| c.borrow_mut()[slot] = Some(e));
                        Ok(JsValue::UNDEFINED)
                    })
                })
                .clone()
        });
        let _ = JsFuture::from(starting).await;
        CHOSEN
            .with(|c| c.borrow()[slot].clone())
            .unwrap_or_else(Engine::wasm)
    }

    /// `"wasm"`, `"webcrypto"` or `"webcrypto-workers:N"`.
    pub(crate) fn name(&self) -> String {
        match &self.kind {
            Kind::Wasm => "wasm".into(),
            Kind::WebCrypto { .. } => "webcrypto".into(),
            Kind::Workers(p) => format!("webcrypto-workers:{}", p.workers.len()),
        }
    }

    /// True when checks are made elsewhere (the auditor should hand them out).
    pub(crate) fn offloads(&self) -> bool {
        !matches!(self.kind, Kind::Wasm)
    }

    /// Starts checking `checks` now; the verdicts, in order, when all are in.
    pub(crate) fn verify(&self, checks: Vec<SignatureCheck>) -> Verdicts {
        let mut verdicts: Vec<bool> = vec![false; checks.len()];
        let mut ordinary = Vec::new();
        let mut strict = StrictVerifier::new();
        for (i, c) in checks.iter().enumerate() {
            if matches!(self.kind, Kind::Wasm) || c.unusual().is_some() {
                verdicts[i] = strict.check(c);
            } else {
                ordinary.push(i);
            }
        }
        let answer = if ordinary.is_empty() {
            None
        } else {
            let batch: Vec<&SignatureCheck> = ordinary.iter().map(|&i| &checks[i]).collect();
            match &self.kind {
                Kind::Wasm => None,
                Kind::WebCrypto { subtle, keys } => Some(webcrypto_batch(
                    subtle,
                    keys,
                    batch.into_iter().cloned().collect(),
                )),
                Kind::Workers(pool) => pool.send(&batch),
            }
        };
        Box::pin(async move {
            let raw = match answer {
                Some(p) => JsFuture::from(p)
                    .await
                    .ok()
                    .map(|v| Uint8Array::new(&v).to_vec())
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            for (n, &i) in ordinary.iter().enumerate() {
                verdicts[i] = match raw.get(n) {
                    Some(&HOLDS) => true,
                    Some(&FAILS) => false,
                    // Not answered, or the engine threw: the verdict of record decides.
                    _ => strict.check(&checks[i]),
                };
            }
            verdicts
        })
    }
}

/// The self test's checks and their verdicts.
fn self_test() -> (Vec<SignatureCheck>, Vec<bool>) {
    sigcheck::self_test().into_iter().unzip()
}

async fn passes(answer: Option<Promise>) -> bool {
    let (_, want) = self_test();
    let Some(p) = answer else { return false };
    match JsFuture::from(p).await {
        Ok(v) => {
            let got = Uint8Array::new(&v).to_vec();
            got.len() == want.len()
                && got
                    .iter()
                    .zip(&want)
                    .all(|(g, w)| *g == if *w { HOLDS } else { FAILS })
        }
        Err(_) => false,
    }
}

async fn choose(workers: bool) -> Engine {
    let global = js_sys::global();
    let Some(subtle) = Reflect::get(&global, &"crypto".into())
        .ok()
        .and_then(|c| Reflect::get(&c, &"subtle".into()).ok())
        .filter(|s| s.is_object())
    else {
        return Engine { kind: Kind::Wasm };
    };
    let (checks, _) = self_test();
    let keys: Keys = Rc::default();
    if !passes(Some(webcrypto_batch(&subtle, &keys, checks))).await {
        return Engine { kind: Kind::Wasm };
    }
    let has_workers = Reflect::get(&global, &"Worker".into())
        .map(|w| w.is_function())
        .unwrap_or(false);
    if workers && has_workers {
        let cores = Reflect::get(&global, &"navigator".into())
            .ok()
            .and_then(|n| Reflect::get(&n, &"hardwareConcurrency".into()).ok())
            .and_then(|c| c.as_f64())
            .unwrap_or(1.0);
        if let Some(pool) = Pool::start((cores as usize).clamp(1, 4)).await {
            return Engine {
                kind: Kind::Workers(pool),
            };
        }
    }
    Engine {
        kind: Kind::WebCrypto { subtle, keys },
    }
}

/// Calls `subtle.<method>(args…)`.
fn subtle_call(subtle: &JsValue, method: &str, args: &Array) -> Result<Promise, JsValue> {
    let f: Function = Reflect::get(subtle, &method.into())?.dyn_into()?;
    f.apply(subtle, args)?.dyn_into()
}

fn ed25519_algorithm() -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &"name".into(), &"Ed25519".into());
    o.into()
}

/// Verifies on this thread; the verdicts (see [`WORKER_JS`]). Keys are imported once.
async fn webcrypto_verdicts(subtle: JsValue, keys: Keys, batch: Vec<SignatureCheck>) -> Vec<u8> {
    let alg = ed25519_algorithm();
    let mut new_keys: Vec<[u8; 32]> = Vec::new();
    for c in &batch {
        let k = c.public_key();
        if !new_keys.contains(k) && !keys.borrow().iter().any(|(have, _)| have == k) {
            new_keys.push(*k);
        }
    }
    if !new_keys.is_empty() {
        let imports = Array::new();
        for k in &new_keys {
            let args = Array::of5(
                &"raw".into(),
                &Uint8Array::from(&k[..]),
                &alg,
                &false.into(),
                &Array::of1(&"verify".into()),
            );
            imports.push(
                &subtle_call(&subtle, "importKey", &args).unwrap_or_else(|e| Promise::reject(&e)),
            );
        }
        let settled = settled(Promise::all_settled(&imports)).await;
        for (k, v) in new_keys.into_iter().zip(settled) {
            // A key WebCrypto cannot import is left to verify_strict (null).
            keys.borrow_mut().push((k, v.unwrap_or(JsValue::NULL)));
        }
    }
    let jobs = Array::new();
    for c in &batch {
        let key = keys
            .borrow()
            .iter()
            .find(|(k, _)| k == c.public_key())
            .map_or(JsValue::NULL, |(_, v)| v.clone());
        let job = if key.is_null() {
            Promise::reject(&JsValue::NULL)
        } else {
            let args = Array::of4(
                &alg,
                &key,
                &Uint8Array::from(&c.signature()[..]),
                &Uint8Array::from(c.message()),
            );
            subtle_call(&subtle, "verify", &args).unwrap_or_else(|e| Promise::reject(&e))
        };
        jobs.push(&job);
    }
    settled(Promise::all_settled(&jobs))
        .await
        .into_iter()
        .map(|v| match v.map(|b| b.as_bool()) {
            Some(Some(true)) => HOLDS,
            Some(Some(false)) => FAILS,
            _ => 2,
        })
        .collect()
}

/// The outcomes of `Promise.allSettled`: `Some(value)` for each fulfilled one.
async fn settled(p: Promise) -> Vec<Option<JsValue>> {
    let Ok(all) = JsFuture::from(p).await else {
        return Vec::new();
    };
    Array::from(&all)
        .iter()
        .map(|o| {
            let fulfilled = Reflect::get(&o, &"status".into())
                .ok()
                .and_then(|s| s.as_string())
                .is_some_and(|s| s == "fulfilled");
            fulfilled.then(|| Reflect::get(&o, &"value".into()).unwrap_or(JsValue::NULL))
        })
        .collect()
}

/// Starts [`webcrypto_verdicts`] now; resolves with a Uint8Array.
fn webcrypto_batch(subtle: &JsValue, keys: &Keys, batch: Vec<SignatureCheck>) -> Promise {
    let (subtle, keys) = (subtle.clone(), keys.clone());
    wasm_bindgen_futures::future_to_promise(async move {
        let v = webcrypto_verdicts(subtle, keys, batch).await;
        Ok(Uint8Array::from(&v[..]).into())
    })
}

/// `u32 count`, then per check: key (32), signature (64), `u32` message length, message.
fn pack(batch: &[&SignatureCheck]) -> Vec<u8> {
    let len: usize = batch.iter().map(|c| 100 + c.message().len()).sum();
    let mut out = Vec::with_capacity(4 + len);
    out.extend_from_slice(&(batch.len() as u32).to_le_bytes());
    for c in batch {
        out.extend_from_slice(c.public_key());
        out.extend_from_slice(c.signature());
        out.extend_from_slice(&(c.message().len() as u32).to_le_bytes());
        out.extend_from_slice(c.message());
    }
    out
}

impl Pool {
    async fn start(n: usize) -> Option<Pool> {
        let parts = Array::of1(&WORKER_JS.into());
        let options = Object::new();
        let _ = Reflect::set(&options, &"type".into(), &"text/javascript".into());
        let url = create_object_url(&Blob::new(&parts, &options).ok()?).ok()?;
        let mut workers = Vec::new();
        for _ in 0..n {
            let w = Worker::new(&url).ok()?;
            let replies: Replies = Rc::default();
            let r = replies.clone();
            let on_message = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
                let data = Reflect::get(&e, &"data".into()).unwrap_or(JsValue::NULL);
                let id = Reflect::get(&data, &"id".into())
                    .ok()
                    .and_then(|v| v.as_f64())
                    .unwrap_or(-1.0) as u32;
                let out = Reflect::get(&data, &"out".into()).unwrap_or(JsValue::NULL);
                let resolve = {
                    let mut r = r.borrow_mut();
                    let at = r.iter().position(|(i, _)| *i == id);
                    at.map(|at| r.swap_remove(at).1)
                };
                if let Some(resolve) = resolve {
                    let _ = resolve.call1(&JsValue::NULL, &out);
                }
            });
            w.set_onmessage(on_message.as_ref().unchecked_ref());
            on_message.forget();
            // A worker that fails (script blocked, crashed) answers every request with
            // nothing, so its checks fall back to verify_strict.
            let r = replies.clone();
            let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
                for (_, resolve) in std::mem::take(&mut *r.borrow_mut()) {
                    let _ = resolve.call1(&JsValue::NULL, &Uint8Array::new_with_length(0));
                }
            });
            w.set_onerror(on_error.as_ref().unchecked_ref());
            on_error.forget();
            workers.push((w, replies));
        }
        let pool = Pool {
            workers,
            next: Cell::new(0),
            id: Cell::new(0),
        };
        let (checks, _) = self_test();
        let refs: Vec<&SignatureCheck> = checks.iter().collect();
        for i in 0..pool.workers.len() {
            let answer = pool.send_to(i, &refs);
            let timeout = Promise::new(&mut |resolve, _| {
                crate::set_timeout(&resolve, WORKER_START_MS);
            });
            let first = answer.map(|a| Promise::race(&Array::of2(&a, &timeout)));
            if !passes(first).await {
                for (w, _) in &pool.workers {
                    w.terminate();
                }
                return None;
            }
        }
        Some(pool)
    }

    /// Sends a batch to the next worker, round robin.
    fn send(&self, batch: &[&SignatureCheck]) -> Option<Promise> {
        let i = self.next.get();
        self.next.set((i + 1) % self.workers.len());
        self.send_to(i, batch)
    }

    fn send_to(&self, i: usize, batch: &[&SignatureCheck]) -> Option<Promise> {
        let (w, replies) = &self.workers[i];
        let id = self.id.get();
        self.id.set(id.wrapping_add(1));
        let buf = Uint8Array::from(&pack(batch)[..]).buffer();
        let msg = Object::new();
        let _ = Reflect::set(&msg, &"id".into(), &id.into());
        let _ = Reflect::set(&msg, &"buf".into(), &buf);
        let replies = replies.clone();
        let p = Promise::new(&mut |resolve, _| {
            replies.borrow_mut().push((id, resolve));
        });
        w.post_message(&msg, &Array::of1(&buf)).ok()?;
        Some(p)
    }
}
