//! `liveledger serve`: a static file server for a published ledger.
//!
//! - content types, `application/wasm` included;
//! - `Cache-Control`: full tiles, bundles and archived digests `immutable`, partial tiles
//!   a day (a partial tile's path names its size, so its bytes never change either),
//!   `checkpoint` `no-store`, everything else `no-cache`;
//! - gzip when the client accepts it; CORS `*` so portals on other origins can verify;
//! - only files under DIR, never hidden ones, never `..`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use flate2::write::GzEncoder;
use flate2::Compression;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::error::{CliError, Result};

fn header(k: &str, v: &str) -> Header {
    Header::from_bytes(k.as_bytes(), v.as_bytes())
        .expect("static header names and values are valid")
}

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

fn respond(root: &Path, req: Request) {
    let cors = [
        header("Access-Control-Allow-Origin", "*"),
        header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
        header("Access-Control-Allow-Headers", "*"),
    ];
    let with = |mut r: Response<std::io::Cursor<Vec<u8>>>| {
        for h in &cors {
            r.add_header(h.clone());
        }
        r
    };
    match req.method() {
        Method::Options => {
            let _ = req.respond(with(Response::from_data(Vec::new()).with_status_code(204)));
            return;
        }
        Method::Get | Method::Head => {}
        _ => {
            let _ = req.respond(with(
                Response::from_string("method not allowed\n").with_status_code(405),
            ));
            return;
        }
    }
    let Some((file, rel)) = resolve(root, req.url()) else {
        let _ = req.respond(with(
            Response::from_string("not found\n")
                .with_status_code(404)
                .with_header(header("Cache-Control", "no-store")),
        ));
        return;
    };
    let Ok(body) = std::fs::read(&file) else {
        let _ = req.respond(with(
            Response::from_string("not found\n").with_status_code(404),
        ));
        return;
    };
    let gzip = req
        .headers()
        .iter()
        .any(|h| h.field.equiv("Accept-Encoding") && h.value.as_str().contains("gzip"))
        && !rel.ends_with(".png");
    let mut resp = if gzip && body.len() > 256 {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        let _ = enc.write_all(&body);
        let gz = enc.finish().unwrap_or_default();
        Response::from_data(gz).with_header(header("Content-Encoding", "gzip"))
    } else {
        Response::from_data(body)
    };
    resp.add_header(header("Content-Type", content_type(&rel)));
    resp.add_header(header("Cache-Control", cache_control(&rel)));
    resp.add_header(header("Vary", "Accept-Encoding"));
    resp.add_header(header("X-Content-Type-Options", "nosniff"));
    let _ = req.respond(with(resp));
}

/// Starts serving `root` on `addr` in background threads; returns the bound address.
pub fn start(root: &Path, addr: &str) -> Result<String> {
    let server =
        Server::http(addr).map_err(|e| CliError::Io(format!("cannot listen on {addr}: {e}")))?;
    let bound = server
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .unwrap_or_else(|| addr.to_owned());
    let server = Arc::new(server);
    for _ in 0..4 {
        let s = server.clone();
        let root = root.to_path_buf();
        thread::spawn(move || {
            for req in s.incoming_requests() {
                respond(&root, req);
            }
        });
    }
    Ok(bound)
}
