//! `cargo xtask bench-serve [--reference REV] [--seconds S]`: `liveledger serve` under load,
//! against the server it replaced, in one run.
//!
//! The reference is the CLI of another commit (default `c2457b7`, the last with the
//! hand-written HTTP/1.1 server), built from `git archive` into a target directory of its
//! own. Both serve the same published ledger on 127.0.0.1, one after the other, and the
//! same load generator (threads here, raw HTTP/1.1, `Accept-Encoding: gzip`) asks them for
//! what an audit asks for (the checkpoint, every bundle and hash tile, round robin):
//! - 64 keep-alive connections, each one request after another;
//! - 16 clients opening a new connection per request;
//! - one client on a fresh connection per request while 700 other connections have sent
//!   half a request head and stalled.
//!
//! Each row: requests per second, latency percentiles, and requests that failed (no
//! answer, a refused or reset connection, or a status other than 200).
//!
//! Results go to docs/BENCHMARKS.md between `<!-- bench-serve -->` markers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use liveledger_core::tiles;

use super::*;

struct Served(Child, String);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(bin: &str, dir: &Path, extra: &[&str]) -> Result<Served> {
    let mut c = Command::new(bin)
        .args(["serve", &dir.to_string_lossy(), "--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{bin} serve: {e}"))?;
    let mut line = String::new();
    BufReader::new(c.stdout.take().ok_or("no stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .ok_or_else(|| format!("serve printed {line:?}"))?
        .trim_end_matches('/')
        .to_owned();
    Ok(Served(c, addr))
}

/// Reads one response; `Some(status)` once its body is read.
pub(super) fn response(r: &mut BufReader<TcpStream>) -> Option<u16> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let status = line.split(' ').nth(1)?.parse().ok()?;
    let (mut len, mut chunked) = (None, false);
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end().to_ascii_lowercase();
        if h.is_empty() {
            break;
        }
        if let Some(v) = h.strip_prefix("content-length:") {
            len = v.trim().parse::<usize>().ok();
        }
        if h.starts_with("transfer-encoding:") && h.contains("chunked") {
            chunked = true;
        }
    }
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut skip = vec![0u8; n + 2];
            r.read_exact(&mut skip).ok()?;
            if n == 0 {
                break;
            }
        }
    } else {
        let mut skip = vec![0u8; len?];
        r.read_exact(&mut skip).ok()?;
    }
    Some(status)
}

pub(super) fn connect(addr: &str) -> Option<BufReader<TcpStream>> {
    let c = TcpStream::connect(addr).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    c.set_nodelay(true).ok()?;
    Some(BufReader::new(c))
}

/// What one load run measured.
struct Load {
    ok: usize,
    failed: usize,
    seconds: f64,
    /// Latencies of the answered requests, sorted, in seconds.
    latencies: Vec<f64>,
}

impl Load {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i] * 1000.0
    }
}

/// `clients` threads for `secs`, each asking for `paths` round robin (from its own
/// offset), on one keep-alive connection (`keep_alive`) or a new one per request.
fn load(addr: &str, paths: &[String], clients: usize, keep_alive: bool, secs: f64) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|t| {
            let (addr, paths, stop) = (addr.to_owned(), paths.to_vec(), stop.clone());
            std::thread::spawn(move || {
                let (mut ok, mut failed, mut lat) = (0usize, 0usize, Vec::new());
                let mut conn = None;
                let mut i = t * 7919;
                while !stop.load(Ordering::Relaxed) {
                    let path = &paths[i % paths.len()];
                    i += 1;
                    let t0 = Instant::now();
                    if conn.is_none() || !keep_alive {
                        conn = connect(&addr);
                    }
                    let close = if keep_alive { "" } else { "Connection: close\r\n" };
                    let answered = conn.as_mut().and_then(|c| {
                        write!(
                            c.get_mut(),
                            "GET /{path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: gzip\r\n{close}\r\n"
                        )
                        .ok()?;
                        response(c)
                    });
                    match answered {
                        Some(200) => {
                            ok += 1;
                            lat.push(t0.elapsed().as_secs_f64());
                        }
                        _ => {
                            failed += 1;
                            conn = None;
                        }
                    }
                }
                (ok, failed, lat)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let mut l = Load {
        ok: 0,
        failed: 0,
        seconds: 0.0,
        latencies: Vec::new(),
    };
    for t in threads {
        if let Ok((ok, failed, lat)) = t.join() {
            l.ok += ok;
            l.failed += failed;
            l.latencies.extend(lat);
        }
    }
    l.seconds = started.elapsed().as_secs_f64();
    l.latencies.sort_by(f64::total_cmp);
    l
}

/// Opens `n` connections that each send half a request head and stall.
fn stall(addr: &str, n: usize) -> Vec<TcpStream> {
    (0..n)
        .filter_map(|_| {
            let mut c = TcpStream::connect(addr).ok()?;
            c.write_all(b"GET /checkpoint HTTP/1.1\r\nHost: x\r\nX-Slow:")
                .ok()?;
            Some(c)
        })
        .collect()
}

/// Builds the reference revision's CLI in a target directory of its own.
pub(super) fn build_reference(rev: &str) -> Result<String> {
    let base = PathBuf::from("target/bench-serve");
    let src = base.join(format!("ref-{rev}"));
    if !src.join("Cargo.toml").exists() {
        std::fs::create_dir_all(&src).map_err(|e| e.to_string())?;
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "git archive --format=tar '{rev}' | tar -x -C '{}'",
                src.display()
            ))
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            let _ = std::fs::remove_dir_all(&src);
            return Err(format!("git archive {rev} failed"));
        }
    }
    let target = std::fs::canonicalize(&base)
        .map_err(|e| e.to_string())?
        .join(format!("target-{rev}"));
    super::run(
        "cargo",
        &[
            "build",
            "--release",
            "-p",
            "liveledger-cli",
            "--manifest-path",
            &src.join("Cargo.toml").to_string_lossy(),
        ],
        &[("CARGO_TARGET_DIR", &target.to_string_lossy())],
    )?;
    Ok(target
        .join("release/liveledger")
        .to_string_lossy()
        .into_owned())
}

pub fn run(args: &[String]) -> Result {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let rev = value("--reference").unwrap_or_else(|| "c2457b7".into());
    let secs: f64 = value("--seconds")
        .map(|s| s.parse().map_err(|_| format!("--seconds {s:?}")))
        .transpose()?
        .unwrap_or(8.0);
    super::run(
        "cargo",
        &["build", "--release", "-p", "liveledger-cli"],
        &[],
    )?;
    eprintln!("building the reference server ({rev})");
    let reference = build_reference(&rev)?;
    let n = 20_000u64;
    let ledger = PathBuf::from("target/bench/serve-ledger");
    eprintln!("publishing {n} signed events");
    super::bench_wasm::publish_signed(&ledger, n, 10_000)?;
    let size = n + 1;
    let mut paths = vec!["checkpoint".to_owned()];
    paths.extend(
        (0..tiles::bundle_count(size))
            .filter_map(|i| tiles::bundle_at(size, i).ok().map(|p| p.to_string())),
    );
    paths.extend(tiles::hash_tiles(size).map(|p| p.to_string()));
    paths.extend(
        tiles::partial_tiles(size)
            .into_iter()
            .map(|p| p.to_string()),
    );

    let log = std::fs::canonicalize("target/bench")
        .map_err(|e| e.to_string())?
        .join("serve-access.jsonl");
    let log = log.to_string_lossy().into_owned();
    let servers = [
        (
            "this commit",
            "target/release/liveledger".to_owned(),
            vec!["--no-access-log"],
        ),
        ("reference", reference, vec![]),
        (
            "this commit, access log to a file and metrics on",
            "target/release/liveledger".to_owned(),
            vec![
                "--access-log",
                log.as_str(),
                "--metrics-addr",
                "127.0.0.1:0",
            ],
        ),
    ];
    let mut rows = String::new();
    for (what, keep, clients) in [
        ("64 keep-alive connections", true, 64),
        ("16 clients, a new connection per request", false, 16),
    ] {
        let mut cells = Vec::new();
        for (name, bin, extra) in &servers {
            let s = serve(bin, &ledger, extra)?;
            let _ = load(&s.1, &paths, clients, keep, 1.0); // warm the page cache
            let l = load(&s.1, &paths, clients, keep, secs);
            eprintln!(
                "{what}, {name}: {} ok, {} failed, {:.0}/s",
                l.ok,
                l.failed,
                l.ok as f64 / l.seconds
            );
            cells.push(l);
        }
        let (new, old, observed) = (&cells[0], &cells[1], &cells[2]);
        let rps = |l: &Load| l.ok as f64 / l.seconds;
        let cell = |l: &Load| {
            format!(
                "{:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {} failed",
                rps(l),
                l.pct(0.5),
                l.pct(0.99),
                l.failed
            )
        };
        rows += &format!(
            "| {what} | {} | {} | {:.2}× | {} ({:.2}×) |\n",
            cell(new),
            cell(old),
            rps(new) / rps(old),
            cell(observed),
            rps(observed) / rps(old),
        );
    }
    // A normal client while 700 connections stall with half a request head.
    let mut cells = Vec::new();
    for (name, bin, extra) in &servers[..2] {
        let s = serve(bin, &ledger, extra)?;
        let held = stall(&s.1, 700);
        std::thread::sleep(Duration::from_millis(500));
        let l = load(&s.1, &paths, 1, false, secs.min(5.0));
        eprintln!(
            "stalled clients, {name}: {} held, {} ok, {} failed",
            held.len(),
            l.ok,
            l.failed
        );
        drop(held);
        cells.push(l);
    }
    let (new, old) = (&cells[0], &cells[1]);
    rows += &format!(
        "| one client, a new connection per request, while 700 connections stall in their request head | {} answered ({:.0}/s), p50 {:.2} ms, p99 {:.2} ms, {} failed | {} answered ({:.0}/s), {} failed | | |\n",
        new.ok, new.ok as f64 / new.seconds, new.pct(0.5), new.pct(0.99), new.failed,
        old.ok, old.ok as f64 / old.seconds, old.failed,
    );
    let body = format!(
        "Last run: `cargo xtask bench-serve` — a ledger of {size} signed events, {} files asked for \
         round robin (the checkpoint, every bundle, every hash tile; `Accept-Encoding: gzip`), \
         {secs} s per row after a 1 s warm-up, load generator and server on the same 2 cores. \
         Reference: `{rev}`'s `liveledger serve` (the hand-written HTTP/1.1 server, a thread per \
         connection), built in the same run.\n\n\
         | load | this commit (hyper, tower-http), no access log | reference | this ÷ reference | this commit, access log to a file, metrics on |\n|---|---|---|---|---|\n{rows}",
        paths.len()
    );
    print!("{body}");
    super::write_section("bench-serve", &body)
}
