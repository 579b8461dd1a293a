//! `cargo xtask bench-witness`: what a 2-of-3 witness quorum costs the publisher and
//! the page.
//!
//! In one run, on 127.0.0.1: the same appends (`liveledger append`, each call one durable,
//! published digest) to a ledger without witnesses and to one whose policy asks three
//! `liveledger witness` servers for a 2-of-3 quorum before each digest is published:
//! - one event per call (what a service appending as events happen sees: latency);
//! - batches of 10,000 events (throughput; one witness round per batch).
//!
//! Then the JS module's full audit of both ledgers (100,200 signed events each) in
//! headless Chromium, the witnessed one with the split-view check (each witness asked
//! what it holds, and that proved consistent) and without it (`witnessCheck: false`),
//! five rounds, medians (`tests/e2e/bench-witness.mjs`).
//!
//! Results go to docs/BENCHMARKS.md between `<!-- bench-witness -->` markers.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};

use super::*;

pub(crate) const BIN: &str = "target/release/liveledger";

pub(crate) struct Killed(pub(crate) Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn lines(from: u64, n: u64) -> String {
    (from..from + n)
        .map(|i| format!("{{\"kind\":\"payment\",\"source\":\"erp\",\"key\":\"inv/{i}\",\"body\":{{\"amount\":\"{}.00\"}}}}\n", i % 1000))
        .collect()
}

pub(crate) fn append(dir: &Path, input: &str, envs: &[(&str, &str)]) -> Result {
    let mut c = Command::new(BIN)
        .args(["append", &dir.to_string_lossy()])
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    c.stdin
        .take()
        .ok_or("no stdin")?
        .write_all(input.as_bytes())
        .map_err(|e| e.to_string())?;
    let st = c.wait().map_err(|e| e.to_string())?;
    if !st.success() {
        return Err(format!("liveledger append exited {st}"));
    }
    Ok(())
}

fn init(dir: &Path) -> Result<String> {
    let keys = PathBuf::from(format!("{}.keys", dir.display()));
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(&keys);
    super::run(
        BIN,
        &[
            "init",
            &dir.to_string_lossy(),
            "--origin",
            "bench.liveledger.example/witnessed",
        ],
        &[],
    )?;
    let meta = std::fs::read_to_string(dir.join("metadata")).map_err(|e| e.to_string())?;
    let v: serde_json::Value = meta
        .lines()
        .nth(1)
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or("no metadata")?;
    v["log_keys"][0]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no log key".into())
}

/// (one-event appends per second, events per second in batches of 10,000).
fn measure(dir: &Path) -> Result<(f64, f64)> {
    measure_appends(dir, 200, &[])
}

/// `singles` one-event appends, then 10 batches of 10,000 events: (calls per second,
/// events per second in the batches).
pub(crate) fn measure_appends(
    dir: &Path,
    singles: u64,
    envs: &[(&str, &str)],
) -> Result<(f64, f64)> {
    let t = Instant::now();
    for i in 0..singles {
        append(dir, &lines(i, 1), envs)?;
    }
    let single_rate = singles as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let batches = 10u64;
    for b in 0..batches {
        append(dir, &lines(1_000 + b * 10_000, 10_000), envs)?;
    }
    Ok((
        single_rate,
        (batches * 10_000) as f64 / t.elapsed().as_secs_f64(),
    ))
}

pub fn run(_args: &[String]) -> Result {
    super::run(
        "cargo",
        &["build", "--release", "-p", "liveledger-cli"],
        &[],
    )?;
    std::fs::create_dir_all("target/bench").map_err(|e| e.to_string())?;
    let plain = PathBuf::from("target/bench/witness-plain");
    init(&plain)?;
    eprintln!("without witnesses");
    let (p1, pn) = measure(&plain)?;

    let witnessed = PathBuf::from("target/bench/witness-quorum");
    let key = init(&witnessed)?;
    let mut servers = Vec::new();
    let mut policy = String::new();
    for i in 1..=3 {
        let wdir = PathBuf::from(format!("target/bench/witness-w{i}"));
        let _ = std::fs::remove_dir_all(&wdir);
        let out = Command::new(BIN)
            .args([
                "witness",
                "init",
                &wdir.to_string_lossy(),
                "--name",
                &format!("w{i}.bench.example"),
            ])
            .output()
            .map_err(|e| e.to_string())?;
        // Its last line: the Ed25519 key (the ML-DSA-44 one is the line before).
        let vkey = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned();
        let mut c = Command::new(BIN)
            .args([
                "witness",
                "serve",
                &wdir.to_string_lossy(),
                "--addr",
                "127.0.0.1:0",
                "--no-access-log",
                "--log",
                &key,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        BufReader::new(c.stdout.take().ok_or("no stdout")?)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .ok_or_else(|| format!("witness printed {line:?}"))?
            .to_owned();
        servers.push(Killed(c));
        policy += &format!("witness W{i} {vkey} {url}\n");
    }
    policy += "group q 2 W1 W2 W3\nquorum q\n";
    let file = PathBuf::from("target/bench/witness-policy.txt");
    std::fs::write(&file, &policy).map_err(|e| e.to_string())?;
    super::run(
        BIN,
        &[
            "policy",
            &witnessed.to_string_lossy(),
            &file.to_string_lossy(),
        ],
        &[],
    )?;
    eprintln!("with a 2-of-3 quorum");
    let (w1, wn) = measure(&witnessed)?;
    eprintln!("the page: the module's audit in Chromium");
    let page = page_cost(&plain, &witnessed)?;
    drop(servers);
    let body = format!(
        "Last run: `cargo xtask bench-witness` — `liveledger append` on 127.0.0.1 (each call a \
         durable append and a published digest), without witnesses and with a policy asking \
         three `liveledger witness` servers (each fsyncing its state before it answers) for \
         2 of 3 cosignatures before every digest is published, in one run.\n\n\
         | appends | without witnesses | 2-of-3 quorum | quorum ÷ none |\n|---|---|---|---|\n\
         | one event per call (200 calls) | {p1:.1} calls/s | {w1:.1} calls/s | {:.2}× |\n\
         | 10 batches of 10,000 events | {pn:.0} events/s | {wn:.0} events/s | {:.2}× |\n\n\
         The page: the JS module's full audit (signatures by WebCrypto in workers) of each \
         ledger in headless Chromium (under Playwright), {PAGE_ROUNDS} rounds in turn, medians:\n\n\
         | audit | seconds | ÷ no witnesses |\n|---|---|---|\n{page}",
        w1 / p1,
        wn / pn
    );
    print!("{body}");
    super::write_section("bench-witness", &body)
}

const PAGE_ROUNDS: usize = 5;

/// The module's audit of `plain` and of `witnessed` (its witnesses running), in Chromium:
/// table rows, medians of [`PAGE_ROUNDS`].
fn page_cost(plain: &Path, witnessed: &Path) -> Result<String> {
    super::build_embed()?;
    let site = super::bench_wasm::serve(Path::new("target/embed/site"))?;
    let (p, w) = (
        super::bench_wasm::serve(plain)?,
        super::bench_wasm::serve(witnessed)?,
    );
    let audits = [
        ("no witnesses", &p.1, serde_json::json!({})),
        (
            "2-of-3 quorum, witnesses asked (split-view check)",
            &w.1,
            serde_json::json!({}),
        ),
        (
            "2-of-3 quorum, not asked (witnessCheck: false)",
            &w.1,
            serde_json::json!({"witnessCheck": false}),
        ),
    ];
    let cfg = serde_json::json!({
        "site": site.1.trim_end_matches('/'),
        "rounds": PAGE_ROUNDS,
        "audits": audits.iter().map(|(n, u, o)| serde_json::json!({"name": n, "url": u, "opts": o})).collect::<Vec<_>>(),
    });
    let cfg_path = std::fs::canonicalize("target/bench")
        .map_err(|e| e.to_string())?
        .join("witness-page.json");
    std::fs::write(&cfg_path, cfg.to_string()).map_err(|e| e.to_string())?;
    let out = Command::new("node")
        .args(["tests/e2e/bench-witness.mjs", &cfg_path.to_string_lossy()])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        return Err("the Chromium part of bench-witness failed".into());
    }
    let mut times: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        eprintln!("  {line}");
        if let (Some(n), Some(t)) = (v["name"].as_str(), v["seconds"].as_f64()) {
            times.entry(n.to_owned()).or_default().push(t);
        }
    }
    let median = |n: &str| -> Result<f64> {
        let mut v = times.get(n).cloned().ok_or(format!("no audit {n:?} ran"))?;
        v.sort_by(f64::total_cmp);
        Ok(v[v.len() / 2])
    };
    let base = median(audits[0].0)?;
    let mut rows = String::new();
    for (n, _, _) in &audits {
        let m = median(n)?;
        rows += &format!("| {n} | {m:.2} | {:.2}× |\n", m / base);
    }
    Ok(rows)
}
