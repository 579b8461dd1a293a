//! `liveledger serve`: the project's HTTP stack (tokio, hyper, axum, tower-http).
//!
//! One accept loop serves every listener of the process (the ledger's files, the append
//! API on a port of its own if asked, `/metrics`); the demo and the witness use it too.
//!
//! Limits, each against one kind of abuse:
//! - **connections**: at most `max_connections` at once. At the cap the loop stops
//!   accepting (the kernel's backlog holds new ones) instead of dropping them;
//! - **slow request heads**: a connection must send its first request's first bytes,
//!   and each request head, within `header_timeout` (hyper's header-read deadline for
//!   HTTP/1; the version sniffing and TLS handshake have the same deadline);
//! - **idle connections**: closed after `idle_timeout` without a byte either way;
//! - **in flight**: at most `max_in_flight` responses being produced or sent at once;
//!   past that a request gets 503 with `Retry-After` at once, instead of queueing;
//! - **heads and bodies**: request heads up to 16 KiB (431 past it, 400 if malformed),
//!   bodies refused where none is expected, capped where one is (the API);
//! - **shutdown**: on SIGTERM or Ctrl-C the listeners close, in-flight requests finish
//!   (up to `grace`), then the process exits.
//!
//! HTTP/1.1 and HTTP/2: cleartext connections are sniffed (h2c with prior knowledge,
//! as proxies use it, or HTTP/1.x); TLS connections (rustls) pick h2 or http/1.1 by ALPN.

pub mod api;
pub mod files;
pub mod objects;
pub mod observe;
pub mod scrape;
pub mod tokens;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, Response, StatusCode};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use liveledger_core::layout::Published;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt as _;
use tower_http::compression::predicate::{DefaultPredicate, Predicate as _};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};

use liveledger_store::{Error, Result};

/// The limits of the module docs.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub max_in_flight: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 4096,
            max_in_flight: 512,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            grace: Duration::from_secs(10),
        }
    }
}

/// Where the access log goes.
#[derive(Clone, Debug)]
pub enum AccessLog {
    Stderr,
    File(PathBuf),
    Off,
}

/// Everything `serve` is asked for.
pub struct Options {
    /// The directory whose files are served (a published ledger), if any.
    pub root: Option<PathBuf>,
    /// Routes of the main listener besides the files (the witness's).
    pub routes: Option<Router>,
    pub addr: String,
    /// PEM certificate chain and key: serve HTTPS (h2 and http/1.1 by ALPN).
    pub tls: Option<(PathBuf, PathBuf)>,
    pub access_log: AccessLog,
    /// Serve `/metrics` (cleartext) on this address.
    pub metrics_addr: Option<String>,
    /// The append API, if enabled.
    pub api: Option<api::ApiOptions>,
    pub limits: Limits,
    /// Each part's description of its own metric series (`witness::describe_metrics`,
    /// …), given to the recorder when `/metrics` is served.
    pub metrics_of: Vec<fn()>,
}

/// A listener bound, with what it serves.
struct Bound {
    tcp: std::net::TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Binds `addr` now (so that a taken port is an error before anything runs).
fn bind(addr: &str) -> Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)
        .map_err(|e| Error::Io(format!("cannot listen on {addr}: {e}")))?;
    l.set_nonblocking(true)
        .map_err(|e| Error::Io(format!("{addr}: {e}")))?;
    Ok(l)
}

fn local(l: &std::net::TcpListener) -> String {
    l.local_addr().map(|a| a.to_string()).unwrap_or_default()
}

/// Loads a PEM certificate chain and private key into a rustls acceptor offering h2 and
/// http/1.1.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor> {
    use tokio_rustls::rustls;
    let read = |p: &Path| std::fs::read(p).map_err(|e| Error::io(p, e));
    let certs: Vec<_> = rustls_pemfile::certs(&mut &read(cert)?[..])
        .collect::<io::Result<_>>()
        .map_err(|e| Error::Input(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(Error::Input(format!(
            "{}: expected a PEM certificate chain, found no CERTIFICATE block",
            cert.display()
        )));
    }
    let k = rustls_pemfile::private_key(&mut &read(key)?[..])
        .map_err(|e| Error::Input(format!("{}: {e}", key.display())))?
        .ok_or_else(|| {
            Error::Input(format!(
                "{}: expected a PEM private key, found none",
                key.display()
            ))
        })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Input(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, k)
        .map_err(|e| Error::Input(format!("{} and {}: {e}", cert.display(), key.display())))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The route class of a request path, for metrics and the log.
pub fn class_of(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        "api"
    } else if path == "/add-checkpoint" {
        "add_checkpoint"
    } else if path == "/metrics" {
        "metrics"
    } else {
        Published::classify(path.trim_start_matches('/')).class()
    }
}

/// State shared by every request of a listener.
#[derive(Clone)]
struct Shared {
    in_flight: Arc<Semaphore>,
}

/// The layers every listener has: the access log and metrics (outermost, so that they
/// see every answer), CORS, `Timing-Allow-Origin`, and the in-flight limit.
fn layered(router: Router, shared: Shared) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS, Method::POST])
        .allow_headers(Any)
        .expose_headers(Any);
    router
        .layer(axum::middleware::from_fn_with_state(
            shared,
            limit_in_flight,
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("timing-allow-origin"),
            HeaderValue::from_static("*"),
        ))
        .layer(cors)
        .layer(axum::middleware::from_fn(log_and_count))
}

async fn log_and_count(req: Request<Body>, next: axum::middleware::Next) -> Response<Body> {
    let done = observe::seen(&req, class_of(req.uri().path()));
    done(next.run(req).await)
}

/// 503 at once past `max_in_flight`; the permit is held until the response body ends.
async fn limit_in_flight(
    axum::extract::State(s): axum::extract::State<Shared>,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> Response<Body> {
    let Ok(permit) = s.in_flight.clone().try_acquire_owned() else {
        metrics::counter!(observe::SHED).increment(1);
        let mut r = Response::new(Body::from("busy: too many requests in flight; retry\n"));
        *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    };
    let res = next.run(req).await;
    let (parts, body) = res.into_parts();
    Response::from_parts(parts, Body::new(Holding(body, permit)))
}

/// A body that holds a permit until it is dropped.
struct Holding(Body, #[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

impl hyper::body::Body for Holding {
    type Data = axum::body::Bytes;
    type Error = axum::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }
    fn size_hint(&self) -> hyper::body::SizeHint {
        self.0.size_hint()
    }
}

/// The ledger's files, for the static listener.
fn files_router(root: &Path) -> Router {
    let kept = files::Files::default();
    // Hash tiles have no .gz: not looked for.
    let plain = files::service(root, kept.clone(), false);
    let compressed = tower::ServiceBuilder::new()
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .no_br()
                .no_deflate()
                .no_zstd()
                .quality(tower_http::CompressionLevel::Fastest)
                .compress_when(
                    DefaultPredicate::new()
                        .and(tower_http::compression::predicate::SizeAbove::new(256)),
                ),
        )
        .service(files::service(root, kept, true));
    let svc = tower::service_fn(move |req: Request<Body>| {
        let (plain, compressed) = (plain.clone(), compressed.clone());
        async move {
            if let Some(r) = files::refuse(&req) {
                return Ok::<_, std::convert::Infallible>(r);
            }
            if req.method() == Method::OPTIONS {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::NO_CONTENT;
                return Ok(r);
            }
            let rel = req.uri().path().trim_start_matches('/').to_owned();
            // Hash tiles are random bytes: compressing them would only cost time.
            let random = matches!(
                Published::classify(&rel),
                Published::Tile(t) if t.kind() != liveledger_core::tiles::TileKind::Entries
            );
            let mut res = if random {
                plain.oneshot(req).await?.map(Body::new)
            } else {
                compressed.oneshot(req).await?.map(Body::new)
            };
            if res.status() == StatusCode::NOT_FOUND {
                // ServeDir's 404 has no body (browsers then show an error page of their
                // own); say what happened.
                let mut r = Response::new(Body::from("not found\n"));
                *r.status_mut() = StatusCode::NOT_FOUND;
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                res = r;
            }
            files::describe(&rel, &mut res);
            Ok(res)
        }
    });
    Router::new().fallback_service(svc)
}

/// An I/O stream that notes when bytes last moved, for the idle deadline.
struct Watched<S> {
    inner: S,
    last: Arc<AtomicU64>,
    epoch: Instant,
}

impl<S> Watched<S> {
    fn touch(&self) {
        self.last
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Resolves once `last` has not moved for `idle`.
async fn idle(last: Arc<AtomicU64>, epoch: Instant, idle: Duration) {
    loop {
        let now = epoch.elapsed().as_millis() as u64;
        let since = Duration::from_millis(now.saturating_sub(last.load(Ordering::Relaxed)));
        if since >= idle {
            return;
        }
        tokio::time::sleep(idle - since).await;
    }
}

/// Waits until a cleartext connection has sent enough to tell HTTP/2's preface from an
/// HTTP/1 request line (hyper's sniffing has no deadline of its own).
async fn sniffable(s: &TcpStream) -> io::Result<()> {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut buf = [0u8; 24];
    loop {
        let n = s.peek(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if n == PREFACE.len() || buf[..n] != PREFACE[..n] {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn builder(limits: &Limits, h1: bool, h2: bool) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(16 * 1024)
        .max_headers(100);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(128)
        .max_header_list_size(16 * 1024)
        // No keep-alive pings: a client's answers to them would count as activity and
        // keep an idle connection open for ever; the idle deadline closes it instead.
        .keep_alive_interval(None);
    match (h1, h2) {
        (true, false) => b.http1_only(),
        (false, true) => b.http2_only(),
        _ => b,
    }
}

/// Serves one connection to the end, the idle deadline, or the shutdown.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Arc<Limits>,
    graceful: Watcher,
) {
    let _ = stream.set_nodelay(true);
    let epoch = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let svc = hyper_util::service::TowerToHyperService::new(app.map_request(
        move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(observe::Peer(peer));
            req.map(Body::new)
        },
    ));
    let deadline = limits.header_timeout;
    let served = async {
        match tls {
            None => {
                if tokio::time::timeout(deadline, sniffable(&stream))
                    .await
                    .is_err()
                {
                    metrics::counter!(observe::IDLE_CLOSED).increment(1);
                    return;
                }
                let io = TokioIo::new(Watched {
                    inner: stream,
                    last: last.clone(),
                    epoch,
                });
                let b = builder(&limits, true, true);
                let conn = b.serve_connection(io, svc);
                let _ = graceful.watch(conn.into_owned()).await;
            }
            Some(acceptor) => {
                let Ok(Ok(tls)) = tokio::time::timeout(deadline, acceptor.accept(stream)).await
                else {
                    return;
                };
                let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                let io = TokioIo::new(Watched {
                    inner: tls,
                    last: last.clone(),
                    epoch,
                });
                let b = builder(&limits, !h2, h2);
                let conn = b.serve_connection(io, svc);
                let _ = graceful.watch(conn.into_owned()).await;
            }
        }
    };
    tokio::select! {
        _ = served => {}
        _ = idle(last.clone(), epoch, limits.idle_timeout) => {
            metrics::counter!(observe::IDLE_CLOSED).increment(1);
        }
    }
}

/// Accepts connections on `l` until `stop` turns true.
async fn accept_loop(
    b: Bound,
    limits: Arc<Limits>,
    slots: Arc<Semaphore>,
    graceful: Arc<GracefulShutdown>,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(listener) = TcpListener::from_std(b.tcp) else {
        return;
    };
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = stop.changed() => return,
        };
        let (stream, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(_) => {
                    // Out of descriptors, or a connection reset before accept: wait a
                    // little rather than spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        metrics::counter!(observe::CONNECTIONS).increment(1);
        metrics::gauge!(observe::OPEN).increment(1.0);
        // Each connection holds a watcher; the shutdown waits for every one.
        let (app, tls, limits, graceful) = (
            b.app.clone(),
            b.tls.clone(),
            limits.clone(),
            graceful.watcher(),
        );
        tokio::spawn(async move {
            connection(stream, peer, app, tls, limits, graceful).await;
            metrics::gauge!(observe::OPEN).decrement(1.0);
            drop(permit);
        });
    }
}

/// A running server: its addresses, and how to stop it.
pub struct Running {
    /// `http://ADDR/` or `https://ADDR/` of each listener, in the order bound: files,
    /// then the API (if on its own port), then metrics.
    pub urls: Vec<String>,
    stop: watch::Sender<bool>,
    done: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (up to the grace period), and
    /// returns when every connection is closed.
    pub fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(d) = self.done.take() {
            let _ = d.join();
        }
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully.
    pub fn until_signalled(self) {
        let stop = self.stop.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(rt) = rt {
            rt.block_on(liveledger_store::process::signalled());
        }
        let _ = stop.send(true);
        eprintln!("liveledger: shutting down: finishing requests in flight");
        self.shutdown();
    }
}

/// Starts the listeners of `o` on a runtime of their own (background threads); returns
/// once they are bound.
pub fn start(o: Options) -> Result<Running> {
    let limits = Arc::new(o.limits.clone());
    let shared = Shared {
        in_flight: Arc::new(Semaphore::new(limits.max_in_flight)),
    };
    let tls = match &o.tls {
        Some((c, k)) => Some(tls_acceptor(c, k)?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut bound = Vec::new();
    let mut urls = Vec::new();
    let mut files = match &o.root {
        Some(root) => files_router(root),
        None => Router::new(),
    };
    if let Some(r) = o.routes.clone() {
        files = r.merge(files);
    }
    if let Some(a) = &o.api {
        let router = api::router(a)?;
        match &a.addr {
            None => files = router.merge(files),
            Some(addr) => {
                let tcp = bind(addr)?;
                urls.push(format!("{scheme}://{}/", local(&tcp)));
                bound.push(Bound {
                    tcp,
                    app: layered(router, shared.clone()),
                    tls: tls.clone(),
                });
            }
        }
    }
    let tcp = bind(&o.addr)?;
    urls.insert(0, format!("{scheme}://{}/", local(&tcp)));
    bound.insert(
        0,
        Bound {
            tcp,
            app: layered(files, shared.clone()),
            tls: tls.clone(),
        },
    );
    // Metrics are recorded only when they are served (nobody scrapes them otherwise).
    if let Some(addr) = &o.metrics_addr {
        let tcp = bind(addr)?;
        urls.push(format!("http://{}/metrics", local(&tcp)));
        bound.push(Bound {
            tcp,
            app: layered(
                scrape::router(o.root.clone(), &o.metrics_of),
                shared.clone(),
            ),
            tls: None,
        });
    }
    set_access_log(&o.access_log)?;
    let (stop, rx) = watch::channel(false);
    let grace = limits.grace;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("serve")
        .build()
        .map_err(|e| Error::Io(format!("cannot start the server's runtime: {e}")))?;
    let done = std::thread::spawn(move || {
        rt.block_on(async move {
            let graceful = Arc::new(GracefulShutdown::new());
            let slots = Arc::new(Semaphore::new(limits.max_connections));
            let loops: Vec<_> = bound
                .into_iter()
                .map(|b| {
                    tokio::spawn(accept_loop(
                        b,
                        limits.clone(),
                        slots.clone(),
                        graceful.clone(),
                        rx.clone(),
                    ))
                })
                .collect();
            for l in loops {
                let _ = l.await;
            }
            // Every loop has stopped accepting (and dropped its handle): finish what is
            // in flight.
            if let Ok(g) = Arc::try_unwrap(graceful) {
                let _ = tokio::time::timeout(grace, g.shutdown()).await;
            }
        });
        rt.shutdown_timeout(Duration::from_secs(1));
    });
    Ok(Running {
        urls,
        stop,
        done: Some(done),
    })
}

/// Serves `root`'s files on `addr` in the background, without logs or metrics (the demo's
/// servers); returns the bound address.
pub fn start_files(root: &Path, addr: &str) -> Result<String> {
    let r = start(Options {
        root: Some(root.to_path_buf()),
        routes: None,
        addr: addr.to_owned(),
        tls: None,
        access_log: AccessLog::Off,
        metrics_addr: None,
        api: None,
        limits: Limits::default(),
        metrics_of: Vec::new(),
    })?;
    let url = r.urls[0].clone();
    std::mem::forget(r); // serves until the process exits
    Ok(url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned())
}

/// Serves only `/metrics` on `addr`, with the process's recorder installed and the series
/// `metrics_of` describes (for a command that serves nothing else: `ingest`).
pub fn start_metrics(addr: &str, metrics_of: Vec<fn()>) -> Result<Running> {
    start(Options {
        root: None,
        routes: Some(scrape::router(None, &metrics_of)),
        addr: addr.to_owned(),
        tls: None,
        access_log: AccessLog::Off,
        metrics_addr: None,
        api: None,
        limits: Limits::default(),
        metrics_of,
    })
}

/// Installs the access log (once per process).
fn set_access_log(to: &AccessLog) -> Result<()> {
    use tracing_subscriber::fmt;
    let builder = fmt().json().with_target(true).with_current_span(false);
    let r = match to {
        AccessLog::Off => return Ok(()),
        AccessLog::Stderr => builder.with_writer(std::io::stderr).try_init(),
        AccessLog::File(p) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| Error::io(p, e))?;
            builder.with_writer(std::sync::Mutex::new(f)).try_init()
        }
    };
    let _ = r; // already installed (a second server in one process): keep the first
    Ok(())
}
