//! Who requested what, and when: the access log and the request metrics.
//!
//! Every response's body is wrapped so that the log line and the metrics are written when
//! the body has been sent (or the client went away): `bytes` is what was sent, and
//! `duration_ms` runs from the request's arrival to the body's end.
//!
//! The access log is one JSON object per line (tracing's JSON formatter, target
//! `access`), for example:
//!
//! ```text
//! {"timestamp":"2026-12-01T12:00:00.123456Z","level":"INFO","fields":{"peer":"127.0.0.1:50412",
//!  "method":"GET","path":"/tile/entries/000","status":200,"bytes":48213,"duration_ms":0.41,
//!  "user_agent":"curl/8.5.0","class":"bundle","token":""},"target":"access"}
//! ```
//!
//! The metrics are documented in README.md ("Metrics"); their names are here.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{header, Request, Response};
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// Requests answered, by route class and status.
pub const REQUESTS: &str = "liveledger_http_requests_total";
/// Time from a request's arrival to the end of its response body, by route class.
pub const DURATION: &str = "liveledger_http_request_duration_seconds";
/// Response body bytes sent, by route class.
pub const BYTES: &str = "liveledger_http_response_bytes_total";
/// Connections accepted, and open now.
pub const CONNECTIONS: &str = "liveledger_http_connections_total";
/// Connections open now.
pub const OPEN: &str = "liveledger_http_connections_open";
/// Connections closed by the server for being idle or too slow to send a request head.
pub const IDLE_CLOSED: &str = "liveledger_http_connections_idle_closed_total";
/// Requests refused with 503 because the in-flight limit was reached.
pub const SHED: &str = "liveledger_http_requests_shed_total";

/// The connection's peer, put on every request by the accept loop.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// The name of the append token a request was made with, set by the API.
#[derive(Clone, Debug, Default)]
pub struct TokenName(pub String);

/// What the log line says about a request, taken when it arrived.
struct Seen {
    start: Instant,
    peer: String,
    method: String,
    path: String,
    user_agent: String,
    class: &'static str,
}

/// Wraps a response body: counts the bytes sent, and writes the log line and metrics
/// once, at the end of the body or when it is dropped.
pub struct Counted {
    inner: Body,
    seen: Option<Seen>,
    status: u16,
    token: String,
    bytes: u64,
}

impl Counted {
    fn finish(&mut self) {
        let Some(s) = self.seen.take() else {
            return;
        };
        let secs = s.start.elapsed().as_secs_f64();
        let status = self.status.to_string();
        metrics::counter!(REQUESTS, "class" => s.class, "status" => status).increment(1);
        metrics::histogram!(DURATION, "class" => s.class).record(secs);
        metrics::counter!(BYTES, "class" => s.class).increment(self.bytes);
        tracing::info!(
            target: "access",
            peer = %s.peer,
            method = %s.method,
            path = %s.path,
            status = self.status,
            bytes = self.bytes,
            duration_ms = (secs * 1e6).round() / 1e3,
            user_agent = %s.user_agent,
            class = s.class,
            token = %self.token,
        );
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.finish();
    }
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        match &r {
            Poll::Ready(Some(Ok(f))) => {
                if let Some(d) = f.data_ref() {
                    self.bytes += d.len() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.finish(),
            Poll::Pending => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Clips a logged string: a client chooses them.
fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The request's facts for its log line.
pub fn seen<B>(
    req: &Request<B>,
    class: &'static str,
) -> impl FnOnce(Response<Body>) -> Response<Body> {
    let s = Seen {
        start: Instant::now(),
        peer: req
            .extensions()
            .get::<Peer>()
            .map(|p| p.0.to_string())
            .unwrap_or_default(),
        method: req.method().to_string(),
        path: clip(req.uri().path(), 512),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| clip(v, 256))
            .unwrap_or_default(),
        class,
    };
    move |res: Response<Body>| {
        let status = res.status().as_u16();
        let token = res
            .extensions()
            .get::<TokenName>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let (parts, body) = res.into_parts();
        let counted = Counted {
            inner: body,
            seen: Some(s),
            status,
            token,
            bytes: 0,
        };
        Response::from_parts(parts, Body::new(counted))
    }
}
