//! Fetching: one `Fetcher` per call over the global `fetch` (pages, workers, Node), with a
//! deadline on every request, prefetching ahead of the core's machines, and the count of
//! what was fetched. No verification rule lives here.

use super::*;

/// A fetcher that counts what it fetched. Every request has a deadline (`timeoutMs`,
/// default 30 s, for the response and its body), so a server that stops answering is a
/// `FETCH_FAILED` after the retries, never a verification that hangs.
pub(crate) struct Fetcher {
    pub(crate) base: String,
    pub(crate) timeout_ms: f64,
    pub(crate) requests: Cell<u32>,
    pub(crate) bytes: Cell<u64>,
    /// Requests started by [`Fetcher::keep_ahead`], by path, for `get` to take up.
    pub(crate) ahead: RefCell<Vec<(String, (Promise, Deadline))>>,
}

impl Fetcher {
    pub(crate) fn new(url: &str, timeout_ms: f64) -> Fetcher {
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
    pub(crate) fn fetch(&self, url: &str, no_store: bool) -> (Promise, Deadline) {
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

    pub(crate) async fn get(
        &self,
        path: &str,
        no_store: bool,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
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
            let body = Reflect::get(&resp, &"arrayBuffer".into())
                .and_then(|f| f.dyn_into::<Function>())
                .and_then(|f| f.call0(&resp));
            let ab = match body {
                Ok(ab) => ab,
                Err(e) => {
                    last = e; // not a fetch Response: nothing to retry
                    break;
                }
            };
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
    pub(crate) fn keep_ahead(&self, paths: &[String], no_store: bool) {
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

    pub(crate) async fn require(&self, path: &str, no_store: bool) -> Result<Vec<u8>, LedgerError> {
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
pub(crate) struct Deadline(JsValue);

impl Drop for Deadline {
    fn drop(&mut self) {
        if !self.0.is_null() {
            clear_timeout(&self.0);
        }
    }
}

pub(crate) async fn sleep(ms: f64) {
    let p = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    let _ = JsFuture::from(p).await;
}

/// How long one request may take, body included, before it is abandoned (and retried).
pub(crate) const FETCH_TIMEOUT_MS: f64 = 30_000.0;
