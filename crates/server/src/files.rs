//! The static half of `serve`: a published ledger (and the browser verifier beside it)
//! as files, on tower-http's `ServeDir`.
//!
//! - GET and HEAD, `Range` (206/416), `ETag` and `Last-Modified` with 304s (ServeDir);
//! - the cache policy of `liveledger_core::layout` (checkpoint `no-store`, full tiles,
//!   bundles and archived digests `immutable`, partial tiles a day, the rest `no-cache`),
//!   and the content types of the ledger's files; nothing here tests paths of its own;
//! - gzip: full bundles are compressed once, when they are published (`<bundle>.gz`,
//!   see `store::write_many`), and used only while they are the compression of the file
//!   as it is now ([`Precompressed`]); other compressible files are compressed per
//!   response, where a revalidated `ETag` avoids sending them again;
//! - CORS `*` (portals verify from other origins) and `Timing-Allow-Origin: *`;
//! - never `..`, never a hidden file, never a percent-encoded or backslashed path;
//! - no request bodies: a static request with one is refused with 400.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Body;
use axum::body::Bytes;
use axum::http::{header, HeaderValue, Method, Request, Response, StatusCode};
use liveledger_core::layout::Published;
use std::collections::VecDeque;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use tower_http::services::fs::{Backend, TokioBackend, TokioFile};
use tower_http::services::ServeDir;

/// The path a request names, relative to the root, or `None` if it is not one this
/// server serves: hidden segments, `..`, percent-encoding and backslashes are refused
/// (a published ledger never needs them). A directory's `index.html` is ServeDir's.
pub fn servable(uri_path: &str) -> Option<&str> {
    let rel = uri_path.strip_prefix('/').unwrap_or(uri_path);
    if rel.contains(['%', '\\', '\0']) {
        return None;
    }
    if rel.split('/').any(|seg| seg.starts_with('.')) {
        return None;
    }
    Some(rel)
}

/// The largest file whose precompressed body is checked against it (a full bundle is at
/// most 256 entries of 64 KiB).
const MAX_CHECKED: u64 = 17 << 20;
/// Files up to this size are read whole and kept in memory (tiles, bundles, notes, the
/// app's assets); larger ones are streamed from disk.
const MAX_KEPT_FILE: u64 = 4 << 20;
/// The bytes of kept files, at most (oldest out first).
const KEPT_BYTES: usize = 64 << 20;

/// A file's identity as the file system reports it: a change of bytes changes it,
/// except for a rewrite of the same length within the clock's granularity.
type Stamp = (u64, Option<SystemTime>);

fn stamp(m: &std::fs::Metadata) -> Stamp {
    (m.len(), m.modified().ok())
}

/// What the backend remembers: `.gz` verdicts (a file's stamp and its `.gz`'s when
/// checked, and the result) and small files' bytes (by stamp).
#[derive(Default)]
struct Kept {
    gz: HashMap<PathBuf, (Stamp, Stamp, bool)>,
    files: HashMap<PathBuf, (Stamp, Bytes)>,
    order: VecDeque<PathBuf>,
    bytes: usize,
}

/// ServeDir's file access, with two things added.
///
/// - `<file>.gz` exists for a client only while it is the gzip of `<file>` as it is now:
///   its trailer's CRC-32 and length must be those of the file (checked once per version
///   of either, by size and modification time). A file rewritten after its compression (an
///   operator's mistake, a restore, a test that tampers with a segment) is served as it now
///   is, never a stale body.
/// - Small files' bytes are kept in memory while their stamp is unchanged (at most 64 MiB,
///   oldest out first): a kept file is served after a stat, on the async thread (a stat
///   of a file in the page cache takes about a microsecond); anything else is one trip
///   to the blocking pool (the stat, the `.gz` check, the read). Tokio's own file access
///   takes a trip per call (open, stat, each read): see `cargo xtask bench-serve`.
#[derive(Clone, Default)]
pub struct Files {
    kept: Arc<Mutex<Kept>>,
}

impl Files {
    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `gz` is the gzip of `plain` now.
    fn matches(&self, plain: &Path, gz: &Path) -> io::Result<bool> {
        let (pm, gm) = (std::fs::metadata(plain)?, std::fs::metadata(gz)?);
        let (ps, gs) = (stamp(&pm), stamp(&gm));
        if let Some((p, g, ok)) = self.lock().gz.get(plain) {
            if *p == ps && *g == gs {
                return Ok(*ok);
            }
        }
        let ok = pm.is_file() && pm.len() <= MAX_CHECKED && gm.len() >= 18 && {
            let mut trailer = [0u8; 8];
            let mut f = std::fs::File::open(gz)?;
            f.seek(SeekFrom::End(-8))?;
            f.read_exact(&mut trailer)?;
            let crc = u32::from_le_bytes(trailer[..4].try_into().unwrap_or_default());
            let len = u32::from_le_bytes(trailer[4..].try_into().unwrap_or_default());
            let body = std::fs::read(plain)?;
            let mut c = flate2::Crc::new();
            c.update(&body);
            c.sum() == crc && body.len() as u32 == len
        };
        let mut kept = self.lock();
        if kept.gz.len() >= 100_000 {
            kept.gz.clear();
        }
        kept.gz.insert(plain.to_path_buf(), (ps, gs, ok));
        Ok(ok)
    }

    /// `Ok` if `path` may be opened: any file but a `.gz` that does not match its file
    /// (NotFound then, so that ServeDir falls back to the file itself).
    fn admit(&self, path: &Path) -> io::Result<()> {
        let Some(plain) = path.to_str().and_then(|p| p.strip_suffix(".gz")) else {
            return Ok(());
        };
        match self.matches(Path::new(plain), path) {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(io::ErrorKind::NotFound.into()),
        }
    }

    /// A kept file still as kept, found with stats only (no read): for the async path, as
    /// a stat of a file in the page cache takes about a microsecond.
    fn try_kept(&self, path: &Path) -> Option<(Bytes, std::fs::Metadata)> {
        let meta = std::fs::metadata(path).ok()?;
        if let Some(plain) = path.to_str().and_then(|p| p.strip_suffix(".gz")) {
            let pm = std::fs::metadata(plain).ok()?;
            let k = self.lock();
            let (p, g, ok) = k.gz.get(Path::new(plain))?;
            if !(*ok && *p == stamp(&pm) && *g == stamp(&meta)) {
                return None;
            }
        }
        let k = self.lock();
        let (s, b) = k.files.get(path)?;
        (*s == stamp(&meta)).then(|| (b.clone(), meta))
    }

    /// Opens `path` (blocking): its bytes if small (kept or read now), else the file.
    fn open_blocking(&self, path: &Path) -> io::Result<Opened> {
        self.admit(path)?;
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() || meta.len() > MAX_KEPT_FILE {
            return Ok(None);
        }
        let st = stamp(&meta);
        if let Some((s, b)) = self.lock().files.get(path) {
            if *s == st {
                return Ok(Some((b.clone(), meta)));
            }
        }
        let bytes = Bytes::from(std::fs::read(path)?);
        if bytes.len() as u64 != meta.len() {
            // Changed while read: serve what was read, keep nothing.
            let meta = std::fs::metadata(path)?;
            return Ok(Some((bytes, meta)));
        }
        let mut k = self.lock();
        if let Some((_, old)) = k.files.insert(path.to_path_buf(), (st, bytes.clone())) {
            k.bytes -= old.len();
            k.order.retain(|p| p != path);
        }
        k.bytes += bytes.len();
        k.order.push_back(path.to_path_buf());
        while k.bytes > KEPT_BYTES {
            let Some(oldest) = k.order.pop_front() else {
                break;
            };
            if let Some((_, b)) = k.files.remove(&oldest) {
                k.bytes -= b.len();
            }
        }
        Ok(Some((bytes, meta)))
    }
}

/// A small file's bytes and metadata, or `None`: too large to keep, streamed from disk.
type Opened = Option<(Bytes, std::fs::Metadata)>;

/// A file as the backend hands it to ServeDir: bytes in memory, or a file on disk.
pub enum LedgerFile {
    Mem(std::io::Cursor<Bytes>, std::fs::Metadata),
    Disk(TokioFile),
}

impl AsyncRead for LedgerFile {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            LedgerFile::Mem(c, _) => Pin::new(c).poll_read(cx, buf),
            LedgerFile::Disk(f) => Pin::new(f).poll_read(cx, buf),
        }
    }
}

impl AsyncSeek for LedgerFile {
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        match self.get_mut() {
            LedgerFile::Mem(c, _) => Pin::new(c).start_seek(pos),
            LedgerFile::Disk(f) => Pin::new(f).start_seek(pos),
        }
    }
    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        match self.get_mut() {
            LedgerFile::Mem(c, _) => Pin::new(c).poll_complete(cx),
            LedgerFile::Disk(f) => Pin::new(f).poll_complete(cx),
        }
    }
}

impl tower_http::services::fs::File for LedgerFile {
    type Metadata = std::fs::Metadata;
    type MetadataFuture<'a> =
        Pin<Box<dyn Future<Output = io::Result<std::fs::Metadata>> + Send + 'a>>;

    fn metadata(&self) -> Self::MetadataFuture<'_> {
        match self {
            LedgerFile::Mem(_, m) => {
                let m = m.clone();
                Box::pin(async move { Ok(m) })
            }
            LedgerFile::Disk(f) => {
                let f = tower_http::services::fs::File::metadata(f);
                Box::pin(f)
            }
        }
    }
}

type Fut<T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send>>;

impl Backend for Files {
    type File = LedgerFile;
    type Metadata = std::fs::Metadata;
    type OpenFuture = Fut<LedgerFile>;
    type MetadataFuture = Fut<std::fs::Metadata>;

    fn open(&self, path: PathBuf) -> Self::OpenFuture {
        let this = self.clone();
        Box::pin(async move {
            if let Some((b, m)) = this.try_kept(&path) {
                return Ok(LedgerFile::Mem(std::io::Cursor::new(b), m));
            }
            let p = path.clone();
            let opened = tokio::task::spawn_blocking(move || this.open_blocking(&p))
                .await
                .map_err(io::Error::other)??;
            Ok(match opened {
                Some((b, m)) => LedgerFile::Mem(std::io::Cursor::new(b), m),
                None => LedgerFile::Disk(TokioBackend.open(path).await?),
            })
        })
    }

    fn metadata(&self, path: PathBuf) -> Self::MetadataFuture {
        let this = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                this.admit(&path)?;
                std::fs::metadata(&path)
            })
            .await
            .map_err(io::Error::other)?
        })
    }
}

/// The file service for `root`.
pub fn service(
    root: &Path,
    files: Files,
    precompressed: bool,
) -> ServeDir<tower_http::services::fs::DefaultServeDirFallback, Files> {
    let s = ServeDir::with_backend(root, files).append_index_html_on_directories(true);
    match precompressed {
        true => s.precompressed_gzip(),
        false => s,
    }
}

/// Refuses what the file service must never see: hidden or encoded paths (404) and
/// requests with a body (400). `None` lets the request through.
pub fn refuse<B>(req: &Request<B>) -> Option<Response<Body>> {
    let text = |status: StatusCode, msg: &'static str| {
        let mut r = Response::new(Body::from(msg));
        *r.status_mut() = status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    };
    let h = req.headers();
    let has_body = h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if has_body {
        return Some(text(
            StatusCode::BAD_REQUEST,
            "request bodies are not accepted here\n",
        ));
    }
    if servable(req.uri().path()).is_none() {
        return Some(text(StatusCode::NOT_FOUND, "not found\n"));
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Some(text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: this is a static file server\n",
        ));
    }
    None
}

/// Sets the headers that depend on what the file is, on a response for `rel`.
pub fn describe(rel: &str, res: &mut Response<Body>) {
    let status = res.status();
    let h = res.headers_mut();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let kind = Published::classify(rel.trim_end_matches('/'));
        let name = if rel.is_empty() || rel.ends_with('/') {
            "index.html"
        } else {
            rel
        };
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(kind.lifetime().cache_control()),
        );
        if status != StatusCode::NOT_MODIFIED {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(Published::content_type(name)),
            );
        }
    } else {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Two encodings of one file are two representations: a compressed body's
    // validator is weak (it still revalidates: If-None-Match compares weakly).
    if h.contains_key(header::CONTENT_ENCODING) {
        if let Some(tag) = h.get(header::ETAG).and_then(|t| t.to_str().ok()) {
            if !tag.starts_with("W/") {
                if let Ok(weak) = HeaderValue::from_str(&format!("W/{tag}")) {
                    h.insert(header::ETAG, weak);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_under_the_root_are_servable() {
        for ok in [
            "/",
            "/checkpoint",
            "/tile/entries/x001/002.p/7",
            "/app/index.html",
        ] {
            assert!(servable(ok).is_some(), "{ok}");
        }
        for bad in [
            "/.hidden",
            "/tile/.git/x",
            "/../led.keys/log.key",
            "/tile/../../x",
            "/%2e%2e/x",
            "/a%20b",
            "/a\\b",
        ] {
            assert_eq!(servable(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_precompressed_body_is_used_only_while_it_is_the_files_compression() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("ll-gz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (plain, gz) = (dir.join("000"), dir.join("000.gz"));
        let body = b"an entry bundle ".repeat(100);
        std::fs::write(&plain, &body).unwrap();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&body).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        let p = Files::default();
        assert!(p.matches(&plain, &gz).unwrap());
        // One byte changed in place, same length: refused (the check sees the new
        // modification time, and then the CRC).
        let mut other = body.clone();
        other[7] ^= 1;
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&plain, &other).unwrap();
        assert!(!p.matches(&plain, &gz).unwrap());
        // A fresh checker (no kept verdict) refuses it too.
        assert!(!Files::default().matches(&plain, &gz).unwrap());
        std::fs::write(&plain, &body).unwrap();
        assert!(p.matches(&plain, &gz).unwrap());
        // Truncated or missing bodies are refused, never an error served.
        std::fs::write(&gz, b"short").unwrap();
        assert!(!p.matches(&plain, &gz).unwrap());
        std::fs::remove_file(&plain).unwrap();
        assert!(p.matches(&plain, &gz).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
