//! The append API: `POST /api/v1/events`, for services that append over the network.
//!
//! The request body is JSON lines, one event per line, by the rules of `append`
//! (`ledger::parse_lines`). The whole body is one batch: one bad line, or one event
//! outside the token's scope, appends nothing. The answer comes once the batch is durable
//! and its digest published. Requests that arrive together share that work (group
//! commit, `Writer::append_each`): one thread appends every batch waiting when it is
//! free in one journaled commit and one digest, and answers each; a bad line refuses only
//! its own request:
//!
//! ```text
//! POST /api/v1/events
//! Authorization: Bearer llt_…
//! Content-Type: application/x-ndjson
//!
//! {"kind":"payment","key":"inv-1","body":{"amount":"12.00"}}
//!
//! 200 {"size":42,"events":[{"seq":41,"leaf_hash":"5c1e…"}]}
//! ```
//!
//! Errors are `{"error":{"code":…,"message":…}}` (and `"line"` when a line is at fault):
//! 401 `unauthorized` (no, malformed, unknown or revoked token; with `WWW-Authenticate`),
//! 403 `out_of_scope` (a kind or source the token does not allow), 429 `rate_limited`
//! (with `Retry-After`), 413 `too_large`, 415 `unsupported_media_type`, 400 `bad_event`,
//! 503 `busy` (another writer holds the ledger), 500 `failed`. docs/FORMAT.md has the full
//! contract.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use governor::{Quota, RateLimiter};
use http_body_util::BodyExt;
use serde_json::json;

use liveledger_publisher::{self as ledger, Writer};
use liveledger_store::{Error, Result, Store};

use crate::observe::TokenName;
use crate::scrape::{API_REFUSED, APPENDED, PUBLISH_SECONDS};
use crate::tokens::{OutOfScope, Tokens};

/// How the API is served.
#[derive(Clone)]
pub struct ApiOptions {
    /// Its own address; `None` serves it on the static port (only when asked).
    pub addr: Option<String>,
    pub store: Store,
    /// Requests per second each token may make, and the burst above it.
    pub rate: NonZeroU32,
    pub burst: NonZeroU32,
    /// The largest request body.
    pub max_body: usize,
}

type Limiter = RateLimiter<
    String,
    governor::state::keyed::HashMapStateStore<String>,
    governor::clock::DefaultClock,
>;

#[derive(Clone)]
struct Api {
    o: ApiOptions,
    limiter: Arc<Limiter>,
    /// The committer: every batch goes to it, it answers each (another process gets
    /// `busy`).
    commits: std::sync::mpsc::Sender<Job>,
}

/// A caller's batch, its author, and where its answer goes.
struct Job {
    batch: Vec<ledger::Pending>,
    author: String,
    reply: tokio::sync::oneshot::Sender<Result<(Vec<ledger::Appended>, u64)>>,
}

/// The most events one group commit takes from waiting callers (a caller's own larger
/// batch goes alone).
const GROUP_EVENTS: usize = 20_000;

/// Starts the committer: a thread that takes the first batch waiting, and every other
/// one waiting with it (up to [`GROUP_EVENTS`] events), and appends them together. It ends
/// when the API is dropped.
fn committer(store: Store) -> Result<std::sync::mpsc::Sender<Job>> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("append-committer".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut events = first.batch.len();
                let mut jobs = vec![first];
                while events < GROUP_EVENTS {
                    match rx.try_recv() {
                        Ok(j) => {
                            events += j.batch.len();
                            jobs.push(j);
                        }
                        Err(_) => break,
                    }
                }
                commit(&store, jobs);
            }
        })
        .map_err(|e| Error::Io(format!("the append committer could not start: {e}")))?;
    Ok(tx)
}

/// One group commit: each job's author, then all batches at once; each job answered.
fn commit(store: &Store, jobs: Vec<Job>) {
    let mut w = match Writer::open(store) {
        Ok(w) => w,
        Err(e) => {
            for j in jobs {
                let _ = j.reply.send(Err(e.clone()));
            }
            return;
        }
    };
    let mut waiting = Vec::new();
    let mut batches = Vec::new();
    for j in jobs {
        match w.author(Some(&j.author)) {
            Ok(a) => {
                batches.push((j.batch, a));
                waiting.push(j.reply);
            }
            Err(e) => {
                let _ = j.reply.send(Err(e));
            }
        }
    }
    match w.append_each(batches) {
        Ok(answers) => {
            let size = w.size();
            for (reply, a) in waiting.into_iter().zip(answers) {
                let _ = reply.send(a.map(|a| (a, size)));
            }
        }
        Err(e) => {
            for reply in waiting {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

/// The API's routes.
pub fn router(o: &ApiOptions) -> Result<Router> {
    if !o.store.has(liveledger_core::layout::METADATA)? {
        return Err(Error::Usage(format!(
            "{} is not a ledger; the append API needs one (liveledger init)",
            o.store.location()
        )));
    }
    let api = Api {
        limiter: Arc::new(RateLimiter::hashmap(
            Quota::per_second(o.rate).allow_burst(o.burst),
        )),
        o: o.clone(),
        commits: committer(o.store.clone())?,
    };
    Ok(Router::new().route(
        "/api/v1/events",
        axum::routing::post(move |req: Request<Body>| {
            let api = api.clone();
            async move { api.append(req).await }
        }),
    ))
}

/// An error answer, with the token's name for the log.
fn error(status: StatusCode, code: &str, message: String, line: Option<usize>) -> Response<Body> {
    let mut e = json!({"code": code, "message": message});
    if let Some(l) = line {
        e["line"] = json!(l);
    }
    let mut r = Response::new(Body::from(canonical(&json!({ "error": e }))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// An answer's JSON text: canonical (RFC 8785: members sorted, whatever serde_json's
/// features in this build), and a newline.
fn canonical(v: &serde_json::Value) -> String {
    let mut s = liveledger_core::jcs::to_canonical(v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

/// The bearer token of a request, if it has the form.
fn bearer(h: &HeaderMap) -> Option<&str> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A batch refused by `append`'s rules (400 `bad_event`, naming the line at fault).
fn bad_event(e: &Error) -> Response<Body> {
    let msg = e.to_string();
    metrics::counter!(API_REFUSED, "reason" => "bad_event").increment(1);
    let line = match e {
        Error::Line { line, .. } => Some(*line),
        _ => None,
    };
    error(StatusCode::BAD_REQUEST, "bad_event", msg, line)
}

impl Api {
    async fn append(&self, req: Request<Body>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let refused = |status, code: &'static str, msg: String| {
            metrics::counter!(API_REFUSED, "reason" => code).increment(1);
            error(status, code, msg, None)
        };
        // Who: a live token, read from the key directory now.
        let tokens = {
            let store = self.o.store.clone();
            tokio::task::spawn_blocking(move || Tokens::load(&store)).await
        };
        let tokens = match tokens {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                return refused(StatusCode::INTERNAL_SERVER_ERROR, "failed", e.to_string())
            }
            Err(e) => return refused(StatusCode::INTERNAL_SERVER_ERROR, "failed", e.to_string()),
        };
        let Some(token) = bearer(&parts.headers).and_then(|t| tokens.find(t)).cloned() else {
            let mut r = refused(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "expected `Authorization: Bearer llt_…` with a live append token".into(),
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"liveledger\""),
            );
            return r;
        };
        let named = |mut r: Response<Body>| {
            r.extensions_mut().insert(TokenName(token.name.clone()));
            r
        };
        if let Err(not_until) = self.limiter.check_key(&token.name) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            let mut r = refused(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "token {:?} may make {} requests per second (burst {}); retry in {} ms",
                    token.name,
                    self.o.rate,
                    self.o.burst,
                    wait.as_millis()
                ),
            );
            let secs = wait.as_secs() + 1;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return named(r);
        }
        if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
            let ct = ct
                .to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim();
            let ok = [
                "application/x-ndjson",
                "application/jsonl",
                "application/json",
                "text/plain",
            ];
            if !ok.iter().any(|o| ct.eq_ignore_ascii_case(o)) {
                return named(refused(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("expected JSON lines (application/x-ndjson), found {ct:?}"),
                ));
            }
        }
        let max = self.o.max_body;
        // A declared length past the cap is refused before a byte of the body is read.
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max as u64) {
            return named(refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the request body is larger than the {max} bytes accepted"),
            ));
        }
        let bytes: Bytes = match http_body_util::Limited::new(body, max).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                return named(refused(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("the request body is larger than the {max} bytes accepted"),
                ))
            }
            Err(e) => {
                return named(refused(
                    StatusCode::BAD_REQUEST,
                    "bad_event",
                    format!("the request body could not be read: {e}"),
                ))
            }
        };
        let Ok(text) = String::from_utf8(bytes.to_vec()) else {
            return named(refused(
                StatusCode::BAD_REQUEST,
                "bad_event",
                "the body is not UTF-8 JSON lines".into(),
            ));
        };
        // What: every line parses, and every event is in the token's scope.
        let batch = match ledger::parse_lines(&text, token.default_source()) {
            Ok(b) => b,
            Err(e) => return named(bad_event(&e)),
        };
        for p in &batch {
            if let Err(why) = token.permits(&p.draft.kind, &p.draft.source) {
                let msg = match why {
                    OutOfScope::Kind(k) => format!(
                        "line {}: token {:?} may not append kind {k:?} (it may: {})",
                        p.line,
                        token.name,
                        token.kinds.join(", ")
                    ),
                    OutOfScope::Source(s) => format!(
                        "line {}: token {:?} may not append source {s:?} (it may: {})",
                        p.line,
                        token.name,
                        token.sources.join(", ")
                    ),
                };
                metrics::counter!(API_REFUSED, "reason" => "out_of_scope").increment(1);
                return named(error(
                    StatusCode::FORBIDDEN,
                    "out_of_scope",
                    msg,
                    Some(p.line),
                ));
            }
        }
        // Append with whatever else is waiting (group commit), off the async threads.
        let started = Instant::now();
        let (reply, done) = tokio::sync::oneshot::channel();
        let job = Job {
            batch,
            author: token.author.clone(),
            reply,
        };
        if self.commits.send(job).is_err() {
            return named(refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "failed",
                "the append committer stopped".into(),
            ));
        }
        let done = done.await;
        let (appended, size) = match done {
            Ok(Ok(x)) => x,
            Ok(Err(Error::Busy(m))) => {
                let mut r = refused(StatusCode::SERVICE_UNAVAILABLE, "busy", m);
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return named(r);
            }
            Ok(Err(e @ (Error::Input(_) | Error::Line { .. } | Error::Usage(_)))) => {
                return named(bad_event(&e))
            }
            Ok(Err(e)) => {
                return named(refused(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "failed",
                    e.to_string(),
                ))
            }
            Err(e) => {
                return named(refused(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "failed",
                    e.to_string(),
                ))
            }
        };
        metrics::gauge!(PUBLISH_SECONDS).set(started.elapsed().as_secs_f64());
        metrics::counter!(APPENDED, "token" => token.name.clone()).increment(appended.len() as u64);
        let events: Vec<_> = appended
            .iter()
            .map(|a| json!({"seq": a.seq, "leaf_hash": a.leaf.to_hex()}))
            .collect();
        let mut r = Response::new(Body::from(canonical(
            &json!({"size": size, "events": events}),
        )));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        named(r)
    }
}
