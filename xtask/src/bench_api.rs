//! `cargo xtask bench-api [--seconds S] [--reference REV]`: the append API under
//! appenders that each post one event at a time, as a fleet of services does.
//!
//! A fresh ledger, one token, `liveledger serve --api-addr` on 127.0.0.1; then, in one
//! run, one client and 64 clients (threads here, one keep-alive HTTP/1.1 connection each),
//! each posting one event and waiting for its answer (durable, in a published digest)
//! before the next. Requests that arrive together share one commit and one digest (group
//! commit, `Writer::append_each`). With `--reference REV`, that commit's CLI (built from
//! `git archive` in a target directory of its own) runs the same rows after.
//!
//! Each row: events per second, latency percentiles, requests that failed (no answer or
//! a status other than 200). Results go to docs/BENCHMARKS.md between `<!-- bench-api -->`
//! markers.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::bench_serve::{connect, response};
use super::*;

/// A server, killed when dropped, and its API's address.
struct Api(Child, String);

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh ledger and a token for any kind and source; the token.
fn ledger(bin: &str, dir: &Path) -> Result<String> {
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(dir.with_extension("keys"));
    let d = dir.to_string_lossy();
    let quiet = |args: &[&str]| -> Result<String> {
        let o = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{bin}: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "{bin} {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    quiet(&["init", &d, "--origin", "bench.liveledger.example/api"])?;
    quiet(&[
        "token",
        "add",
        &d,
        "fleet",
        "--author",
        "admin",
        "--kinds",
        "*",
        "--sources",
        "*",
    ])
}

fn serve(bin: &str, dir: &Path) -> Result<Api> {
    let mut c = Command::new(bin)
        .args(["serve", &dir.to_string_lossy(), "--addr", "127.0.0.1:0"])
        .args(["--api-addr", "127.0.0.1:0", "--no-access-log"])
        // No rate limit in the way: the bench measures the commits.
        .args(["--api-rate", "1000000", "--api-burst", "1000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{bin} serve: {e}"))?;
    let mut out = BufReader::new(c.stdout.take().ok_or("no stdout")?);
    let mut addr = None;
    for _ in 0..4 {
        let mut line = String::new();
        if out.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            break;
        }
        if let Some(a) = line.trim().strip_prefix("also http://") {
            addr = Some(a.trim_end_matches('/').to_owned());
            break;
        }
    }
    let addr = addr.ok_or("serve did not print the API's address")?;
    // Keep reading what it prints, so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in out.lines() {});
    Ok(Api(c, addr))
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

    fn cell(&self) -> String {
        format!(
            "{:.0} events/s, p50 {:.1} ms, p99 {:.1} ms, {} failed",
            self.ok as f64 / self.seconds,
            self.pct(0.5),
            self.pct(0.99),
            self.failed
        )
    }
}

/// `clients` threads for `secs`, each posting one event at a time on its own keep-alive
/// connection.
fn load(addr: &str, token: &str, clients: usize, secs: f64) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (addr, token, stop) = (addr.to_owned(), token.to_owned(), stop.clone());
            std::thread::spawn(move || {
                let (mut ok, mut failed, mut lat) = (0usize, 0usize, Vec::new());
                let mut conn = connect(&addr);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let Some(r) = conn.as_mut() else {
                        failed += 1;
                        conn = connect(&addr);
                        continue;
                    };
                    n += 1;
                    let body = format!(
                        "{{\"kind\":\"payment\",\"source\":\"client-{c}\",\"key\":\"account/{c}\",\"body\":{{\"n\":{n}}}}}\n"
                    );
                    let head = format!(
                        "POST /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let t = Instant::now();
                    let sent = r.get_mut().write_all(head.as_bytes()).is_ok();
                    match sent.then(|| response(r)).flatten() {
                        Some(200) => {
                            ok += 1;
                            lat.push(t.elapsed().as_secs_f64());
                        }
                        Some(_) => failed += 1,
                        None => {
                            failed += 1;
                            conn = connect(&addr);
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

/// One client, then 64, against `bin` on a fresh ledger each.
fn rows(bin: &str, name: &str, secs: f64) -> Result<(Load, Load)> {
    let dir = std::fs::canonicalize("target/bench")
        .map_err(|e| e.to_string())?
        .join(format!("api-ledger-{name}"));
    let mut out = Vec::new();
    for clients in [1, 64] {
        let token = ledger(bin, &dir)?;
        let s = serve(bin, &dir)?;
        let _ = load(&s.1, &token, clients, 1.0); // warm up
        let l = load(&s.1, &token, clients, secs);
        eprintln!("{name}, {clients} clients: {}", l.cell());
        out.push(l);
    }
    let many = out.pop().ok_or("no run")?;
    let one = out.pop().ok_or("no run")?;
    Ok((one, many))
}

pub fn run(args: &[String]) -> Result {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let secs: f64 = value("--seconds")
        .map(|s| s.parse().map_err(|_| format!("--seconds {s:?}")))
        .transpose()?
        .unwrap_or(10.0);
    super::run(
        "cargo",
        &["build", "--release", "-p", "liveledger-cli"],
        &[],
    )?;
    std::fs::create_dir_all("target/bench").map_err(|e| e.to_string())?;
    let reference = match value("--reference") {
        Some(rev) => Some((super::bench_serve::build_reference(&rev)?, rev)),
        None => None,
    };
    let (one, many) = rows("target/release/liveledger", "this", secs)?;
    let ratio = |a: &Load, b: &Load| (a.ok as f64 / a.seconds) / (b.ok as f64 / b.seconds);
    let mut table = format!(
        "| appenders, one event per request | this commit | ÷ one client |\n|---|---|---|\n\
         | 1 client | {} | 1.00× |\n| 64 clients at once | {} | {:.1}× |\n",
        one.cell(),
        many.cell(),
        ratio(&many, &one)
    );
    if let Some((bin, rev)) = &reference {
        let (r1, r64) = rows(bin, "reference", secs)?;
        table += &format!(
            "\nReference `{rev}` (one commit per request), in the same run:\n\n\
             | appenders | reference | this commit ÷ reference |\n|---|---|---|\n\
             | 1 client | {} | {:.2}× |\n| 64 clients at once | {} | {:.1}× |\n",
            r1.cell(),
            ratio(&one, &r1),
            r64.cell(),
            ratio(&many, &r64)
        );
    }
    let body = format!(
        "Last run: `cargo xtask bench-api` — `liveledger serve --api-addr` on a fresh ledger, \
         one token; each client posts one event (a JSON line) on its own keep-alive \
         connection and waits for the answer (durable, in a published digest) before the \
         next; {secs} s per row after a 1 s warm-up; clients and server on the same 2 \
         cores.\n\n{table}"
    );
    print!("{body}");
    super::write_section("bench-api", &body)
}
