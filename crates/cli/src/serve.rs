//! `liveledger serve`: a static file server for a published ledger.
//!
//! - content types, `application/wasm` included;
//! - `Cache-Control`: full tiles, bundles and archived digests `immutable`, partial tiles
//!   a day (a partial tile's path names its size, so its bytes never change either),
//!   `checkpoint` `no-store`, everything else `no-cache`;
//! - gzip when the client accepts it and it makes the body smaller. Files whose bytes
//!   never change (tiles, bundles, archived digests) are compressed once and kept, up to
//!   64 MiB: a visitor auditing the whole log would otherwise have the server compress
//!   all of it again (see `Gzipped`);
//! - CORS `*` so portals on other origins can verify (and `Timing-Allow-Origin: *`, so
//!   they can measure what verifying cost);
//! - only files under DIR, never hidden ones, never `..`;
//! - HTTP/1.1 with keep-alive, one thread per connection; request heads are capped at
//!   16 KiB, request bodies refused, idle connections closed after 30 s. (It replaced
//!   tiny_http 0.12, under which Chromium's fifth parallel request on a fresh
//!   connection intermittently never completed.)

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::error::{CliError, Result};

pub fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    if path == "checkpoint"
        || path.starts_with("digests/") && !name.contains('.')
        || path == "metadata"
    {
        return "text/plain; charset=utf-8";
    }
    if path.starts_with("tile/") {
        return "application/octet-stream";
    }
    match name.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ts") => "text/plain; charset=utf-8",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub fn cache_control(path: &str) -> &'static str {
    if path == "checkpoint" {
        "no-store"
    } else if path.starts_with("tile/") && !path.contains(".p/") {
        "public, max-age=31536000, immutable"
    } else if path.starts_with("tile/") {
        "public, max-age=86400"
    } else if path.starts_with("digests/") && !path.contains('.') {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// Maps a request path to a file under `root`, or None if it is not servable.
pub fn resolve(root: &Path, url: &str) -> Option<(PathBuf, String)> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let path = path.trim_start_matches('/');
    if path.contains('%') || path.contains('\\') {
        return None;
    }
    for seg in path.split('/') {
        if seg.starts_with('.') {
            return None;
        }
    }
    let mut rel = path.to_owned();
    let mut full = root.join(&rel);
    if rel.is_empty() || full.is_dir() {
        rel = if rel.is_empty() {
            "index.html".into()
        } else {
            format!("{}/index.html", rel.trim_end_matches('/'))
        };
        full = root.join(&rel);
    }
    full.is_file().then_some((full, rel))
}

/// A parsed request: method and target. Only what a static server needs.
struct Request {
    method: String,
    target: String,
    gzip: bool,
    close: bool,
}

/// Request head limits: a larger head is refused, an idle connection closed.
const MAX_HEAD: usize = 16 * 1024;
const IDLE: Duration = Duration::from_secs(30);
const MAX_CONNECTIONS: usize = 512;

/// Reads one request head (`None` when the client closed or went idle). Requests with
/// a body are refused (`Err`), as a static server has no use for one.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<Result<Request, &'static str>> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = r
            .by_ref()
            .take((MAX_HEAD - head.len().min(MAX_HEAD) + 1) as u64)
            .read_until(b'\n', &mut line)
            .ok()?;
        if n == 0 {
            return if head.is_empty() {
                None
            } else {
                Some(Err("truncated request"))
            };
        }
        if head.len() + line.len() > MAX_HEAD {
            return Some(Err("request head too large"));
        }
        if line == b"\r\n" || line == b"\n" {
            if head.is_empty() {
                continue; // tolerated blank lines between requests (RFC 9112 §2.2)
            }
            break;
        }
        head.extend_from_slice(&line);
    }
    let Ok(head) = std::str::from_utf8(&head) else {
        return Some(Err("request head is not UTF-8"));
    };
    let mut lines = head.lines();
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Some(Err("bad request line"));
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Some(Err("unsupported HTTP version"));
    }
    let mut req = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        gzip: false,
        close: version == "HTTP/1.0",
    };
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            return Some(Err("bad header line"));
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
        match k.as_str() {
            "accept-encoding" => req.gzip = v.split(',').any(|e| e.trim().starts_with("gzip")),
            "connection" if v.contains("close") => req.close = true,
            "connection" if v.contains("keep-alive") => req.close = false,
            "content-length" if v != "0" => return Some(Err("request bodies are not accepted")),
            "transfer-encoding" => return Some(Err("request bodies are not accepted")),
            _ => {}
        }
    }
    Some(Ok(req))
}

fn write_response(
    w: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
    head_only: bool,
    close: bool,
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: GET, HEAD, OPTIONS\r\nAccess-Control-Allow-Headers: *\r\nTiming-Allow-Origin: *\r\n");
    out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(body);
    }
    w.write_all(&bytes)?;
    w.flush()
}

/// Gzip bodies of files whose bytes never change, each compressed once, kept with the
/// bytes they were made from: a body is used only for a file that still holds exactly
/// those bytes, so a file rewritten in place (as a test tampering with a segment does)
/// is compressed afresh. `None` records that gzip did not make the file smaller (hash
/// tiles are random bytes), so it is sent as it is without trying again. Oldest first
/// out past `limit` bytes (`GZIP_CACHE_BYTES` when serving).
struct Gzipped {
    bodies: HashMap<String, Kept>,
    order: VecDeque<String>,
    bytes: usize,
    limit: usize,
}

const GZIP_CACHE_BYTES: usize = 64 << 20;

/// A file's bytes and their gzip (`None`: not smaller).
type Kept = (Vec<u8>, Option<Arc<Vec<u8>>>);

fn cost(rel: &str, (plain, gz): &Kept) -> usize {
    rel.len() + plain.len() + gz.as_ref().map_or(0, |g| g.len())
}

impl Gzipped {
    fn new(limit: usize) -> Gzipped {
        Gzipped {
            bodies: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    /// The kept result of compressing `plain`, if it is kept for `rel`.
    fn get(&self, rel: &str, plain: &[u8]) -> Option<Option<Arc<Vec<u8>>>> {
        match self.bodies.get(rel) {
            Some((kept, gz)) if kept == plain => Some(gz.clone()),
            _ => None,
        }
    }

    fn put(&mut self, rel: &str, plain: Vec<u8>, gz: Option<Arc<Vec<u8>>>) {
        if let Some(old) = self.bodies.remove(rel) {
            self.bytes -= cost(rel, &old);
            self.order.retain(|r| r != rel);
        }
        let entry = (plain, gz);
        let size = cost(rel, &entry);
        if size > self.limit {
            return;
        }
        while self.bytes + size > self.limit {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(old) = self.bodies.remove(&oldest) {
                self.bytes -= cost(&oldest, &old);
            }
        }
        self.bytes += size;
        self.order.push_back(rel.to_owned());
        self.bodies.insert(rel.to_owned(), entry);
    }
}

/// Whether a file's bytes are fixed by its path: full and partial tiles and bundles (a
/// partial tile's path names its width) and archived digests.
fn fixed(rel: &str) -> bool {
    rel.starts_with("tile/") || cache_control(rel).contains("immutable")
}

/// The body gzip-compressed, or `None` if that is not smaller.
fn gzip(body: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 2), Compression::fast());
    enc.write_all(body)?;
    let gz = enc.finish()?;
    Ok((gz.len() < body.len()).then_some(gz))
}

/// Reads the file at `file` and, when the client takes gzip, compresses it (or takes
/// the compressed body from `cache`). Returns the body and whether it is gzip.
fn body_for(
    file: &Path,
    rel: &str,
    accepts_gzip: bool,
    cache: &Mutex<Gzipped>,
) -> std::io::Result<(Arc<Vec<u8>>, bool)> {
    let body = std::fs::read(file)?;
    if !accepts_gzip || body.len() <= 256 || rel.ends_with(".png") {
        return Ok((Arc::new(body), false));
    }
    let keep = fixed(rel);
    let kept = match keep {
        true => cache.lock().ok().and_then(|c| c.get(rel, &body)),
        false => None,
    };
    let gz = match kept {
        Some(gz) => gz,
        None => {
            let gz = gzip(&body)?.map(Arc::new);
            if keep {
                if let Ok(mut c) = cache.lock() {
                    c.put(rel, body.clone(), gz.clone());
                }
            }
            gz
        }
    };
    Ok(match gz {
        Some(gz) => (gz, true),
        None => (Arc::new(body), false),
    })
}

/// Answers one request; `Err` ends the connection.
fn respond(
    root: &Path,
    w: &mut TcpStream,
    req: &Request,
    cache: &Mutex<Gzipped>,
) -> std::io::Result<()> {
    let text = |s: &str| {
        vec![
            ("Content-Type", s.to_owned()),
            ("Cache-Control", "no-store".to_owned()),
        ]
    };
    let head_only = req.method == "HEAD";
    match req.method.as_str() {
        "OPTIONS" => return write_response(w, "204 No Content", &[], b"", false, req.close),
        "GET" | "HEAD" => {}
        _ => {
            return write_response(
                w,
                "405 Method Not Allowed",
                &text("text/plain; charset=utf-8"),
                b"method not allowed\n",
                head_only,
                req.close,
            )
        }
    }
    let found = resolve(root, &req.target)
        .and_then(|(file, rel)| Some((body_for(&file, &rel, req.gzip, cache).ok()?, rel)));
    let Some(((body, gzipped), rel)) = found else {
        return write_response(
            w,
            "404 Not Found",
            &text("text/plain; charset=utf-8"),
            b"not found\n",
            head_only,
            req.close,
        );
    };
    let mut headers = vec![
        ("Content-Type", content_type(&rel).to_owned()),
        ("Cache-Control", cache_control(&rel).to_owned()),
        ("Vary", "Accept-Encoding".to_owned()),
        ("X-Content-Type-Options", "nosniff".to_owned()),
    ];
    if gzipped {
        headers.push(("Content-Encoding", "gzip".to_owned()));
    }
    write_response(w, "200 OK", &headers, &body, head_only, req.close)
}

/// Serves one connection: requests in order until the client closes, asks to close,
/// sends something malformed, or stays idle for 30 s.
fn connection(root: &Path, stream: TcpStream, cache: &Mutex<Gzipped>) {
    let _ = stream.set_read_timeout(Some(IDLE));
    let _ = stream.set_write_timeout(Some(IDLE));
    let _ = stream.set_nodelay(true);
    let Ok(mut w) = stream.try_clone() else {
        return;
    };
    let mut r = BufReader::new(stream);
    while let Some(req) = read_request(&mut r) {
        match req {
            Ok(req) => {
                if respond(root, &mut w, &req, cache).is_err() || req.close {
                    return;
                }
            }
            Err(why) => {
                let _ = write_response(
                    &mut w,
                    "400 Bad Request",
                    &[("Content-Type", "text/plain; charset=utf-8".to_owned())],
                    format!("{why}\n").as_bytes(),
                    false,
                    true,
                );
                return;
            }
        }
    }
}

/// Starts serving `root` on `addr` in background threads (one per connection, at most
/// 512 at once); returns the bound address.
pub fn start(root: &Path, addr: &str) -> Result<String> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| CliError::Io(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| addr.to_owned());
    let root = Arc::new(root.to_path_buf());
    let open = Arc::new(AtomicUsize::new(0));
    let cache = Arc::new(Mutex::new(Gzipped::new(GZIP_CACHE_BYTES)));
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                continue; // dropped: the client retries
            }
            open.fetch_add(1, Ordering::SeqCst);
            let (root, open, cache) = (root.clone(), open.clone(), cache.clone());
            thread::spawn(move || {
                connection(&root, stream, &cache);
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gzip_cache_keeps_exact_bytes_within_its_limit_oldest_out_first() {
        let gz = |n: usize| Some(Arc::new(vec![7u8; n]));
        let mut c = Gzipped::new(100);
        c.put("a", vec![1; 20], gz(10)); // 31 bytes with its name
        c.put("b", vec![2; 20], None); // 21
        assert_eq!(c.get("a", &[1; 20]), Some(gz(10)));
        assert_eq!(c.get("b", &[2; 20]), Some(None));
        // Other bytes under the same path are not the kept file.
        assert_eq!(c.get("a", &[1; 19]), None);
        assert_eq!(c.get("a", &[9; 20]), None);
        // Replacing an entry counts it once.
        c.put("a", vec![3; 20], gz(10));
        assert_eq!((c.bytes, c.get("a", &[1; 20])), (52, None));
        // Past the limit the oldest go first ("b" is now older than "a").
        c.put("c", vec![4; 40], gz(8)); // 49: 101 > 100, so "b" goes
        assert_eq!(c.get("b", &[2; 20]), None);
        assert_eq!(c.get("a", &[3; 20]), Some(gz(10)));
        assert_eq!(c.bytes, 80);
        // Something larger than the whole cache is not kept, and evicts nothing.
        c.put("huge", vec![5; 200], None);
        assert_eq!((c.get("huge", &[5; 200]), c.bytes), (None, 80));
        assert!(c.bytes <= c.limit && c.order.len() == c.bodies.len());
    }
}
