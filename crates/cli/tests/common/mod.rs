//! Helpers shared by the CLI's integration tests: running the binary, making ledgers,
//! serving them, and reading HTTP/1.1 responses byte for byte.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_liveledger");

pub fn tmp() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "liveledger-test-{}-{}",
        std::process::id(),
        rand_u64()
    ));
    fs::create_dir_all(&d).unwrap();
    d
}

pub fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(Instant::now().elapsed().as_nanos() as u64);
    h.finish()
}

pub fn ll(args: &[&str], stdin: Option<&str>, envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed ({:?}):\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn verify_json(dir: &Path) -> serde_json::Value {
    let o = ll(&["verify", dir.to_str().unwrap(), "--json"], None, &[]);
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("no JSON: {}", String::from_utf8_lossy(&o.stderr)))
}

pub fn new_ledger() -> (PathBuf, PathBuf) {
    let t = tmp();
    let dir = t.join("led");
    ok(&ll(
        &[
            "init",
            dir.to_str().unwrap(),
            "--origin",
            "ledger.example.org/test",
            "--author",
            "alice@example.org",
        ],
        None,
        &[],
    ));
    (t, dir)
}

pub fn events(n: usize, tag: &str) -> String {
    (0..n).map(|i| format!("{{\"kind\":\"payment\",\"source\":\"erp\",\"key\":\"inv/{tag}{i}\",\"body\":{{\"amount\":\"{i}.00\"}}}}\n")).collect()
}

/// A `liveledger serve` child, killed on drop. `.1` is the address of its first
/// listener, `.2` every URL it printed (files first), `.3` where its stderr went.
pub struct Server(pub Child, pub String, pub Vec<String>, pub PathBuf);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// What the server wrote to stderr so far (its access log, by default).
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.3).unwrap_or_default()
    }
}

/// Serves `dir` on a free port with `extra` flags; returns once it listens.
pub fn serve_with(dir: &Path, extra: &[&str]) -> Server {
    let log = dir.with_extension(format!("serve-{}.log", rand_u64()));
    let mut c = Command::new(BIN)
        .args(["serve", dir.to_str().unwrap(), "--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let first = line.trim().rsplit(' ').next().unwrap().to_owned();
    let mut urls = vec![first.clone()];
    // Further listeners are printed as "  also URL" lines, right after.
    let extra_listeners = extra
        .iter()
        .filter(|a| matches!(**a, "--metrics-addr" | "--api-addr"))
        .count();
    for _ in 0..extra_listeners {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        urls.push(l.trim().trim_start_matches("also ").to_owned());
    }
    let addr = first
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    Server(c, addr, urls, log)
}

pub fn serve(dir: &Path) -> Server {
    serve_with(dir, &[])
}

/// An HTTP/1.1 response as read from the wire.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    /// Header names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body as sent (still gzip if it was), de-chunked.
    pub body: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }

    /// The body a client reads: gunzipped if it says it is gzip.
    pub fn decoded(&self) -> Vec<u8> {
        if self.header("content-encoding") != Some("gzip") {
            return self.body.clone();
        }
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&self.body[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }
}

/// Reads one response from `r` (`head_only` for a HEAD or a 304: no body follows).
pub fn read_response(r: &mut impl BufRead, head_only: bool) -> Option<Raw> {
    let mut status = String::new();
    if r.read_line(&mut status).ok()? == 0 {
        return None;
    }
    let code: u16 = status.split(' ').nth(1)?.parse().ok()?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let mut raw = Raw {
        status: code,
        headers,
        body: Vec::new(),
    };
    if head_only || code == 304 || code == 204 {
        return Some(raw);
    }
    if raw.header("transfer-encoding") == Some("chunked") {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0u8; n + 2];
            r.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            raw.body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = raw.header("content-length").and_then(|v| v.parse().ok()) {
        let mut b = vec![0u8; n];
        r.read_exact(&mut b).ok()?;
        raw.body = b;
    } else {
        r.read_to_end(&mut raw.body).ok()?;
    }
    Some(raw)
}

/// One request on a fresh connection, with extra header lines; the response.
pub fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Raw {
    let c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!("{method} /{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    (&c).write_all(head.as_bytes()).unwrap();
    read_response(&mut BufReader::new(c), method == "HEAD").unwrap()
}

/// A GET on a fresh connection with this `Accept-Encoding`.
pub fn get(addr: &str, path: &str, encoding: &str) -> Raw {
    request(addr, "GET", path, &[("Accept-Encoding", encoding)])
}

/// Sends raw bytes on one connection and reads until the server closes it (or 10 s).
pub fn raw_exchange(addr: &str, send: &[u8]) -> String {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(send).unwrap();
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}
