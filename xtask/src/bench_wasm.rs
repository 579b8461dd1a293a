//! `cargo xtask bench-wasm [N] [--16m]`: the verifier where people run it.
//!
//! In one run, on the same files served by `liveledger serve` on 127.0.0.1:
//! - the publisher: durable, signed appends per second and bytes written per event
//!   (`liveledger append`, batches of 10,000 events, each batch one fsynced publish);
//! - a full audit of an N-entry opaque log and of the signed ledger just published, by
//!   `liveledger verify` (native, over HTTP), by the JS module in Node, and by the JS
//!   module in headless Chromium (the page's own code path);
//! - what bounds the browser: fetching the same files with plain `fetch`, no verifying;
//! - one event by inclusion proof: requests, round trips and bytes, decoded and on the
//!   wire (at 16M entries too with `--16m`, which writes a 2 GB log once).
//!
//! Results go to docs/BENCHMARKS.md between `<!-- bench-wasm -->` markers.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};

use liveledger_core::tiles;
use serde_json::{json, Value};

use super::*;

/// A `liveledger serve` child, killed on drop.
pub(crate) struct Served(Child, pub(crate) String);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn serve(dir: &Path) -> Result<Served> {
    serve_with(dir, &[])
}

/// `liveledger serve` with extra flags (TLS); its URL is `http://` or `https://`.
fn serve_with(dir: &Path, extra: &[&str]) -> Result<Served> {
    let mut c = Command::new("target/release/liveledger")
        .args([
            "serve",
            &dir.to_string_lossy(),
            "--addr",
            "127.0.0.1:0",
            "--no-access-log",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("liveledger serve: {e}"))?;
    let mut line = String::new();
    BufReader::new(c.stdout.take().ok_or("no stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .ok_or_else(|| format!("serve printed {line:?}"))?
        .to_owned();
    Ok(Served(c, url))
}

/// A test certificate for 127.0.0.1 made by openssl (self-signed: its own CA), and the
/// base64 SHA-256 of its public key, which Chromium is told to trust
/// (`--ignore-certificate-errors-spki-list`, honoured with a profile of its own).
pub(crate) fn test_certificate(dir: &Path) -> Result<(PathBuf, PathBuf, String)> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    super::run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            &key.to_string_lossy(),
            "-out",
            &cert.to_string_lossy(),
        ],
        &[],
    )?;
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64",
            cert.display()
        ))
        .output()
        .map_err(|e| format!("openssl: {e}"))?;
    let spki = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || spki.len() != 44 {
        return Err(format!(
            "could not hash the test certificate's key: {spki:?}"
        ));
    }
    Ok((cert, key, spki))
}

/// Publishes `n` signed events with `liveledger append`, `batch` per call (each call one
/// fsynced publish); returns (events/s, bytes per event).
pub(crate) fn publish_signed(dir: &Path, n: u64, batch: u64) -> Result<(f64, f64)> {
    let keys = PathBuf::from(format!("{}.keys", dir.display()));
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(&keys);
    let d = dir.to_string_lossy().into_owned();
    super::run(
        "target/release/liveledger",
        &["init", &d, "--origin", "bench.liveledger.example/ledger"],
        &[],
    )?;
    let started = Instant::now();
    let mut done = 0u64;
    while done < n {
        let k = batch.min(n - done);
        let lines: String = (done..done + k)
            .map(|i| {
                format!(
                    "{{\"kind\":\"payment\",\"source\":\"erp-eu\",\"key\":\"invoice/{i}\",\"body\":{{\"amount\":\"{}.{:02}\",\"currency\":\"EUR\"}}}}\n",
                    i * 7 % 100000,
                    i % 100
                )
            })
            .collect();
        let mut c = Command::new("target/release/liveledger")
            .args(["append", &d])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        c.stdin
            .take()
            .ok_or("no stdin")?
            .write_all(lines.as_bytes())
            .map_err(|e| e.to_string())?;
        if !c.wait().map_err(|e| e.to_string())?.success() {
            return Err("liveledger append failed".into());
        }
        done += k;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok((n as f64 / secs, walk_size(dir) as f64 / n as f64))
}

/// Every file a full audit of a log of `size` fetches (bundles, then every hash tile).
fn audit_paths(size: u64) -> Vec<String> {
    bundle_paths(size)
        .into_iter()
        .chain(tiles::hash_tiles(size).map(|p| p.to_string()))
        .collect()
}

/// The entry bundles alone: what an audit fetches when it does not compare tiles.
fn bundle_paths(size: u64) -> Vec<String> {
    (0..tiles::bundle_count(size))
        .filter_map(|i| tiles::bundle_at(size, i).ok())
        .map(|p| p.to_string())
        .collect()
}

pub fn run(args: &[String]) -> Result {
    let sixteen = args.iter().any(|a| a == "--16m");
    let n: u64 = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(|a| {
            a.parse()
                .map_err(|_| format!("{a:?} is not a number of entries"))
        })
        .transpose()?
        .unwrap_or(1_000_000);
    let signed_n: u64 = 100_000;
    super::run(
        "cargo",
        &["build", "--release", "-p", "liveledger-cli"],
        &[],
    )?;
    let (embed_raw, embed_gz) = build_embed()?;
    std::fs::create_dir_all("target/bench").map_err(|e| e.to_string())?;

    eprintln!("publishing {signed_n} signed events");
    let ledger = PathBuf::from("target/bench/ledger-signed");
    let (pub_rate, per_event) = publish_signed(&ledger, signed_n, 10_000)?;
    let opaque = PathBuf::from(format!("target/bench/log-{n}"));
    eprintln!("generating a log of {n} entries in {}", opaque.display());
    let okey = generate_log(&opaque, n)?;
    let big = if sixteen {
        let p = PathBuf::from("target/bench/log-16000000");
        eprintln!("generating a log of 16000000 entries in {}", p.display());
        Some((generate_log(&p, 16_000_000)?, serve(&p)?))
    } else {
        None
    };
    let site = serve(Path::new("target/embed/site"))?;
    let (o, s) = (serve(&opaque)?, serve(&ledger)?);
    // The same two over HTTPS, where Chromium speaks HTTP/2 (ALPN).
    let (cert, key, spki) = test_certificate(Path::new("target/bench/tls"))?;
    let tls_flags = [
        "--tls-cert",
        &*cert.to_string_lossy(),
        "--tls-key",
        &*key.to_string_lossy(),
    ]
    .map(str::to_owned);
    let tls_flags: Vec<&str> = tls_flags.iter().map(String::as_str).collect();
    let (o2, s2) = (
        serve_with(&opaque, &tls_flags)?,
        serve_with(&ledger, &tls_flags)?,
    );

    // Native, over HTTP, in the same run.
    let (native_o, rss_o) = timed(
        "target/release/liveledger",
        &["verify", "--log-only", &o.1, "--key", &okey],
        &[],
    )?;
    let (native_s, rss_s) = timed(
        "target/release/liveledger",
        &["verify", &s.1, "--allow-stale"],
        &[],
    )?;
    let (native_s1, rss_s1) = timed(
        "target/release/liveledger",
        &["verify", &s.1, "--threads", "1", "--allow-stale"],
        &[],
    )?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let skey = std::fs::read_to_string(ledger.join("metadata"))
        .ok()
        .and_then(|m| m.lines().nth(1).map(str::to_owned))
        .and_then(|l| serde_json::from_str::<Value>(&l).ok())
        .and_then(|v| v["log_keys"][0].as_str().map(str::to_owned))
        .ok_or("the signed ledger has no metadata")?;

    let mut one = vec![
        json!({"name": format!("opaque, {n} entries"), "url": o.1, "keys": [okey], "level": "log", "index": n * 2 / 3}),
        json!({"name": format!("signed events, {} entries", signed_n + 1), "url": s.1, "keys": [skey], "level": "ledger", "index": signed_n / 2}),
    ];
    if let Some((k, srv)) = &big {
        one.push(json!({"name": "opaque, 16000000 entries", "url": srv.1, "keys": [k], "level": "log", "index": 11_111_111}));
    }
    let cfg = json!({
        "site": site.1.trim_end_matches('/'),
        "siteDir": std::fs::canonicalize("target/embed/site").map_err(|e| e.to_string())?,
        "audits": [
            {"name": "opaque", "url": o.1, "keys": [okey], "level": "log"},
            {"name": "opaque/bundles", "url": o.1, "keys": [okey], "level": "log", "checkTiles": false},
            {"name": "signed", "url": s.1, "keys": [skey], "level": "ledger"},
            {"name": "signed/webcrypto", "url": s.1, "keys": [skey], "level": "ledger", "signatures": "webcrypto"},
            {"name": "signed/wasm", "url": s.1, "keys": [skey], "level": "ledger", "signatures": "wasm"},
            {"name": "opaque/h2-tls", "url": o2.1, "keys": [okey], "level": "log"},
            {"name": "signed/h2-tls", "url": s2.1, "keys": [skey], "level": "ledger"},
        ],
        "chromiumArgs": [format!("--ignore-certificate-errors-spki-list={spki}")],
        "fetchOnly": [
            {"name": "opaque", "url": o.1, "paths": audit_paths(n)},
            {"name": "opaque/bundles", "url": o.1, "paths": bundle_paths(n)},
        ],
        "ed25519": {"url": s.1, "key": skey},
        "oneEvent": one,
    });
    let cfg_path = std::fs::canonicalize("target/bench")
        .map_err(|e| e.to_string())?
        .join("wasm-bench.json");
    std::fs::write(&cfg_path, cfg.to_string()).map_err(|e| e.to_string())?;
    let out = Command::new("node")
        .args(["tests/e2e/bench.mjs", &cfg_path.to_string_lossy()])
        // Node's fetch (HTTP/1.1 only) trusts the test certificate this way.
        .env(
            "NODE_EXTRA_CA_CERTS",
            std::fs::canonicalize(&cert).map_err(|e| e.to_string())?,
        )
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        return Err("the Node/Chromium benchmark failed".into());
    }
    let results: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for r in &results {
        eprintln!("{r}");
    }
    let secs = |kind: &str, runtime: &str, name: &str| {
        results
            .iter()
            .find(|r| r["kind"] == kind && r["runtime"] == runtime && r["name"] == name)
            .and_then(|r| r["seconds"].as_f64())
            .unwrap_or(f64::NAN)
    };
    let row = |what: &str, entries: u64, native: f64, rss: u64, name: &str| {
        let (node, chrome) = (secs("audit", "node", name), secs("audit", "chromium", name));
        let rate = |s: f64| entries as f64 / s;
        format!(
            "| {what} | {entries} | {:.0}/s ({native:.2} s, {:.1} MB RSS) | {:.0}/s ({node:.2} s) | {:.0}/s ({chrome:.2} s) | {:.2}× | {:.2}× |\n",
            rate(native), rss as f64 / 1024.0, rate(node), rate(chrome), native / node, native / chrome
        )
    };
    let engine_cell = |runtime: &str, name: &str| {
        let r = results
            .iter()
            .find(|r| r["kind"] == "audit" && r["runtime"] == runtime && r["name"] == name);
        match r.and_then(|r| Some((r["seconds"].as_f64()?, r["engine"].as_str()?))) {
            Some((s, engine)) => {
                format!("{:.0}/s (`{engine}`, {s:.2} s)", (signed_n + 1) as f64 / s)
            }
            None => "not run".into(),
        }
    };
    let fetch_only = secs("fetch-only", "chromium", "opaque");
    let mut body = format!(
        "Last run: an opaque log of {n} entries (≈ 92-byte entries) and a ledger of {} signed events \
         (one Ed25519 signature each, plus its genesis event), each served by `liveledger serve` on \
         127.0.0.1, audited in full (every signature, entry, tile and the root) by each verifier in turn.\n\n\
         | audit of | entries | native `liveledger verify` (HTTP) | JS module in Node | JS module in Chromium | Node ÷ native | Chromium ÷ native |\n\
         |---|---|---|---|---|---|---|\n",
        signed_n + 1
    );
    body += &row("opaque log", n, native_o, rss_o, "opaque");
    body += &row("signed events", signed_n + 1, native_s, rss_s, "signed");
    let rate = |entries: u64, s: f64| entries as f64 / s;
    let (bundles_node, bundles_chrome) = (
        secs("audit", "node", "opaque/bundles"),
        secs("audit", "chromium", "opaque/bundles"),
    );
    let devtools = secs("audit", "chromium-devtools", "opaque");
    body += "\nThe same Chromium audits over HTTP/1.1 in cleartext and over HTTPS, where Chromium \
             speaks HTTP/2 (ALPN; a test certificate the benchmark makes, trusted by its key's \
             hash), in the same run. Node's `fetch` speaks HTTP/1.1 only, over TLS here.\n\n\
             | audit of | Chromium, HTTP/1.1 | Chromium, HTTP/2 + TLS | HTTP/2 ÷ HTTP/1.1 | Node, HTTP/1.1 + TLS |\n|---|---|---|---|---|\n";
    for (what, entries, plain, tls) in [
        ("opaque log", n, "opaque", "opaque/h2-tls"),
        ("signed events", signed_n + 1, "signed", "signed/h2-tls"),
    ] {
        let (h1, h2) = (
            secs("audit", "chromium", plain),
            secs("audit", "chromium", tls),
        );
        let node_tls = secs("audit", "node", tls);
        body += &format!(
            "| {what} | {:.0}/s ({h1:.2} s) | {:.0}/s ({h2:.2} s) | {:.2}× the time | {:.0}/s ({node_tls:.2} s) |\n",
            rate(entries, h1),
            rate(entries, h2),
            h2 / h1,
            rate(entries, node_tls),
        );
    }
    body += &format!(
        "\nChromium figures are taken as a visitor's first audit: each in a Chromium of its own, \
         with a fresh profile (nothing cached) and no DevTools client attached; the page posts \
         its result to the bench driver. The same opaque audit \
         under Playwright (a DevTools client attached, as the runs before this one measured it): \
         {:.0}/s ({devtools:.2} s), {:.2}× the time.\n\n\
         The opaque log without comparing hash tiles (`checkTiles: false`: every entry is still \
         hashed and the root recomputed and checked against the signed checkpoint; the {} hash \
         tiles are not fetched): {:.0}/s in Node ({bundles_node:.2} s), {:.0}/s in Chromium \
         ({bundles_chrome:.2} s).\n",
        rate(n, devtools),
        devtools / secs("audit", "chromium", "opaque"),
        tiles::hash_tiles(n).count(),
        rate(n, bundles_node),
        rate(n, bundles_chrome),
    );
    body += &format!(
        "\nNative, signed events: {:.0}/s with signatures checked on {cores} threads (one per core, \
         the default), {:.0}/s on the auditing thread alone (`--threads 1`, {native_s1:.2} s, \
         {:.1} MB RSS): {:.2}× on {cores} cores.\n",
        (signed_n + 1) as f64 / native_s,
        (signed_n + 1) as f64 / native_s1,
        rss_s1 as f64 / 1024.0,
        native_s1 / native_s
    );
    body += "\nThe signed audit by signature engine (`signatures` option; see crates/wasm/src/engine.rs). \
             Every engine gives `verify_strict`'s verdicts: unusual encodings always go to it, and \
             WebCrypto is used only after passing a self test.\n\n\
             | `signatures` | Node | Chromium |\n|---|---|---|\n";
    for (mode, name) in [
        (
            "`\"auto\"` (default: WebCrypto in Web Workers where there are workers)",
            "signed",
        ),
        (
            "`\"webcrypto\"` (WebCrypto on the calling thread)",
            "signed/webcrypto",
        ),
        (
            "`\"wasm\"` (`verify_strict` in Wasm, on the calling thread)",
            "signed/wasm",
        ),
    ] {
        body += &format!(
            "| {mode} | {} | {} |\n",
            engine_cell("node", name),
            engine_cell("chromium", name)
        );
    }
    let fetch_bundles = secs("fetch-only", "chromium", "opaque/bundles");
    let (all_files, bundle_files) = (audit_paths(n).len(), bundle_paths(n).len());
    body += &format!(
        "\nWhat bounds the browser: fetching the same {all_files} files of the opaque log with plain \
         `fetch` (8 in flight and past the browser's cache, as the audit fetches; nothing verified) took {fetch_only:.2} s in the same Chromium: \
         {:.0} requests/s, {:.0} entries/s. The {bundle_files} entry bundles alone: {fetch_bundles:.2} s, \
         {:.0} requests/s, {:.0} entries/s.\n\n\
         | one event by inclusion proof | requests | round trips | bytes decoded | bytes on the wire |\n|---|---|---|---|---|\n",
        all_files as f64 / fetch_only,
        n as f64 / fetch_only,
        bundle_files as f64 / fetch_bundles,
        n as f64 / fetch_bundles,
    );
    for r in results.iter().filter(|r| r["kind"] == "one-event") {
        body += &format!(
            "| {} (event {}) | {} | {} | {} | {} |\n",
            r["name"].as_str().unwrap_or(""),
            r["index"],
            r["requests"],
            r["roundTrips"],
            r["decodedBytes"],
            r["transferBytes"]
        );
    }
    let ed = |runtime: &str, k: &str| {
        results
            .iter()
            .find(|r| r["kind"] == "ed25519" && r["runtime"] == runtime)
            .and_then(|r| r[k].as_f64())
            .map_or("not available".to_owned(), |v| format!("{v:.0}/s"))
    };
    body += &format!(
        "\n| Ed25519 verifications | Node | Chromium |\n|---|---|---|\n\
         | the module (`verifyCheckpoint`: one strict verification plus note parsing) | {} | {} |\n\
         | WebCrypto `Ed25519` (not `verify_strict`; for comparison) | {} | {} |\n",
        ed("node", "wasm"),
        ed("chromium", "wasm"),
        ed("node", "webcrypto"),
        ed("chromium", "webcrypto")
    );
    body += &format!(
        "\n| publisher | events | events/s (durable, signed) | bytes written per event |\n|---|---|---|---|\n\
         | `liveledger append`, batches of 10,000 | {signed_n} | {pub_rate:.0} | {per_event:.0} |\n\n\
         Embed module: {embed_raw} bytes of wasm, {embed_gz} gzip.\n"
    );
    eprintln!("\n{body}");
    drop((o, s, site, big));
    write_section("bench-wasm", &body)
}
