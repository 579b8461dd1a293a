//! `liveledger serve` as operators run it and as clients (and attackers) use it: files
//! and their headers, revalidation and ranges, HTTP/2, limits under abuse, the access
//! log, metrics, the append API and shutdown.

use std::fs;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::*;

#[test]
fn files_get_their_types_cache_policy_cors_and_precompressed_gzip() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(300, "s")), &[]));
    let s = serve(&dir);
    let a = s.1.as_str();
    let cp = get(a, "checkpoint", "identity");
    assert_eq!(cp.status, 200);
    assert_eq!(cp.header("cache-control"), Some("no-store"));
    assert_eq!(cp.header("access-control-allow-origin"), Some("*"));
    assert_eq!(cp.header("timing-allow-origin"), Some("*"));
    assert_eq!(cp.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(cp.header("x-content-type-options"), Some("nosniff"));
    let full = get(a, "tile/0/000", "gzip");
    assert_eq!(
        full.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        full.header("content-type"),
        Some("application/octet-stream")
    );
    // Hash tiles are random bytes: never compressed.
    assert_eq!(full.header("content-encoding"), None);
    assert_eq!(full.body, fs::read(dir.join("tile/0/000")).unwrap());
    let partial = get(a, "tile/entries/001.p/45", "identity");
    assert_eq!(
        partial.header("cache-control"),
        Some("public, max-age=86400")
    );
    assert_eq!(
        get(a, "metadata", "identity").header("cache-control"),
        Some("no-cache")
    );
    assert_eq!(
        get(a, "digests/301", "identity").header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    // A full bundle was compressed when it was published, and is sent as that file.
    let bundle = dir.join("tile/entries/000");
    let plain = fs::read(&bundle).unwrap();
    let gz = fs::read(dir.join("tile/entries/000.gz")).unwrap();
    let r = get(a, "tile/entries/000", "gzip, br");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.body, gz, "the precompressed file itself");
    assert_eq!(r.decoded(), plain);
    assert!(r
        .header("vary")
        .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")));
    assert_eq!(get(a, "tile/entries/000", "identity").body, plain);
    // Other compressible files are compressed per response (the partial bundle here).
    let r = get(a, "tile/entries/001.p/45", "gzip");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(
        r.decoded(),
        fs::read(dir.join("tile/entries/001.p/45")).unwrap()
    );
    // A bundle rewritten in place (same length) after its compression is served as it
    // now is, compressed or not: the stale .gz is never used.
    let mut after = plain.clone();
    let at = after.iter().position(|&b| b == b'a').unwrap();
    after[at] = b'b';
    std::thread::sleep(Duration::from_millis(20));
    fs::write(&bundle, &after).unwrap();
    assert_eq!(get(a, "tile/entries/000", "gzip").decoded(), after);
    assert_eq!(get(a, "tile/entries/000", "identity").body, after);
    fs::write(&bundle, &plain).unwrap();
    let r = get(a, "tile/entries/000", "gzip");
    assert_eq!((r.decoded(), r.body), (plain.clone(), gz.clone()));
    for bad in [
        "../led.keys/log.key",
        "tile/../../led.keys/log.key",
        ".hidden",
        "tile/.x",
        "%2e%2e/led.keys/log.key",
        "nothing",
    ] {
        assert_eq!(get(a, bad, "identity").status, 404, "{bad}");
    }
    fs::write(dir.join(".hidden"), "secret").unwrap();
    assert_eq!(get(a, ".hidden", "identity").status, 404);
    let missing = get(a, "no/such/file", "identity");
    assert_eq!(
        (missing.status, missing.body.as_slice()),
        (404, &b"not found\n"[..]),
        "a 404 says so"
    );
    let url = format!("http://{a}");
    let v: serde_json::Value =
        serde_json::from_slice(&ll(&["verify", &url, "--json"], None, &[]).stdout).unwrap();
    assert_eq!(
        (v["verified"].as_bool(), v["size"].as_u64()),
        (Some(true), Some(301)),
        "{v}"
    );
    // A URL with nothing there is an I/O failure, exit 3.
    drop(s);
    assert_eq!(code(&ll(&["verify", &url], None, &[])), 3);
}

#[test]
fn ranges_etags_and_304s_let_clients_revalidate_and_resume() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(40, "r")), &[]));
    let s = serve(&dir);
    let a = s.1.as_str();
    let meta = fs::read(dir.join("metadata")).unwrap();
    let r = request(a, "GET", "metadata", &[("Range", "bytes=0-31")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &meta[..32]);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-31/{}", meta.len()).as_str())
    );
    let r = request(a, "GET", "metadata", &[("Range", "bytes=10-")]);
    assert_eq!((r.status, r.body.as_slice()), (206, &meta[10..]));
    let r = request(a, "GET", "metadata", &[("Range", "bytes=999999-")]);
    assert_eq!(r.status, 416);
    // Validators, and revalidation by either.
    let r = request(a, "GET", "checkpoint", &[]);
    let tag = r.header("etag").unwrap().to_owned();
    let modified = r.header("last-modified").unwrap().to_owned();
    assert!(
        tag.starts_with('"'),
        "a strong ETag for the file as it is: {tag}"
    );
    let r = request(a, "GET", "checkpoint", &[("If-None-Match", &tag)]);
    assert_eq!((r.status, r.body.len()), (304, 0));
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    let r = request(a, "GET", "checkpoint", &[("If-Modified-Since", &modified)]);
    assert_eq!(r.status, 304);
    let r = request(a, "HEAD", "checkpoint", &[("If-None-Match", &tag)]);
    assert_eq!(r.status, 304);
    // A new digest is a new representation: the old tag no longer matches.
    std::thread::sleep(Duration::from_millis(20));
    ok(&ll(&["append", d], Some(&events(1, "r2")), &[]));
    let r = request(a, "GET", "checkpoint", &[("If-None-Match", &tag)]);
    assert_eq!(r.status, 200);
    assert_ne!(r.header("etag"), Some(tag.as_str()));
    // A compressed response carries a weak tag, which still revalidates.
    let r = request(a, "GET", "metadata", &[("Accept-Encoding", "gzip")]);
    if r.header("content-encoding") == Some("gzip") {
        let weak = r.header("etag").unwrap().to_owned();
        assert!(weak.starts_with("W/"), "{weak}");
        let again = request(
            a,
            "GET",
            "metadata",
            &[("Accept-Encoding", "gzip"), ("If-None-Match", &weak)],
        );
        assert_eq!(again.status, 304);
    }
    // HEAD gives the headers of GET and no body.
    let r = request(a, "HEAD", "tile/entries/000.p/41", &[]);
    assert_eq!(r.status, 200);
    assert!(r.header("content-length").is_some());
}

#[test]
fn keep_alive_pipelining_and_malformed_requests() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(40, "k")), &[]));
    let s = serve(&dir);
    // Three requests on one connection, answered in order; the last asks to close.
    let c = TcpStream::connect(&s.1).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    (&c).write_all(b"GET /checkpoint HTTP/1.1\r\nHost: x\r\n\r\nHEAD /metadata HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut r = BufReader::new(c);
    let cp = fs::read(dir.join("checkpoint")).unwrap();
    let first = read_response(&mut r, false).unwrap();
    assert_eq!((first.status, first.body), (200, cp.clone()));
    assert_eq!(read_response(&mut r, true).unwrap().status, 200);
    assert_eq!(read_response(&mut r, false).unwrap().status, 404);
    // Malformed requests get a 400 and the connection ends; bodies are refused.
    for send in [
        &b"GET /checkpoint\r\n\r\n"[..],
        b"GET /checkpoint HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GARBAGE\r\n\r\n",
    ] {
        let r = raw_exchange(&s.1, send);
        assert!(
            r.starts_with("HTTP/1.1 400"),
            "{:?}: {r}",
            String::from_utf8_lossy(send)
        );
    }
    let r = raw_exchange(
        &s.1,
        b"POST /checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert!(
        r.starts_with("HTTP/1.1 400") && r.contains("request bodies are not accepted"),
        "{r}"
    );
    let r = raw_exchange(
        &s.1,
        b"DELETE /checkpoint HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 405"), "{r}");
    let mut huge = b"GET /checkpoint HTTP/1.1\r\n".to_vec();
    for i in 0..2000 {
        huge.extend_from_slice(format!("X-Filler-{i}: aaaaaaaaaa\r\n").as_bytes());
    }
    huge.extend_from_slice(b"\r\n");
    let r = raw_exchange(&s.1, &huge);
    assert!(r.starts_with("HTTP/1.1 431"), "a head past 16 KiB: {r}");
    // Many connections kept open at once, each asking several times (what a browser
    // prefetching segments does): every request is answered.
    let mut held = Vec::new();
    for _ in 0..24 {
        let c = TcpStream::connect(&s.1).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        held.push(BufReader::new(c));
    }
    for (round, path) in ["checkpoint", "digests/41", "checkpoint"]
        .iter()
        .enumerate()
    {
        for c in held.iter_mut() {
            write!(c.get_mut(), "GET /{path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        }
        for c in held.iter_mut() {
            let r = read_response(c, false).unwrap();
            assert_eq!(r.status, 200, "round {round}");
            if *path == "checkpoint" {
                assert_eq!(r.body, cp);
            } else {
                assert!(r.body.ends_with(b"\n") && r.body.len() > 100);
            }
        }
    }
}

/// Whether the server closed `c` (EOF or reset) within `within`.
fn closed_within(c: &mut TcpStream, within: Duration) -> bool {
    c.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408 before closing is fine
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// 700 clients that send half a request head and stall, 100 that send nothing at all,
/// 50 that start an HTTP/2 preface and stall in it.
fn stall(addr: &str) -> Vec<TcpStream> {
    let mut stalled = Vec::new();
    for i in 0..850 {
        let mut c = TcpStream::connect(addr).unwrap();
        match i {
            0..700 => c
                .write_all(b"GET /checkpoint HTTP/1.1\r\nHost: x\r\nX-Slow:")
                .unwrap(),
            700..800 => {}
            _ => c.write_all(b"PRI * HTTP/2.0\r\n").unwrap(),
        }
        stalled.push(c);
    }
    stalled
}

#[test]
fn hundreds_of_stalled_clients_do_not_keep_a_normal_client_waiting() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(10, "f")), &[]));
    // Normal clients are served while 850 clients stall: the header deadline is 10
    // minutes here, so none of those is cut off while the normal requests are answered,
    // and an answer proves it did not wait behind them (no clock read).
    let patient = serve_with(&dir, &["--header-timeout", "600", "--idle-timeout", "600"]);
    let held = stall(&patient.1);
    let cp = fs::read(dir.join("checkpoint")).unwrap();
    for _ in 0..20 {
        let r = get(&patient.1, "checkpoint", "identity");
        assert_eq!((r.status, &r.body), (200, &cp));
    }
    drop(held);
    let s = serve_with(&dir, &["--header-timeout", "2", "--idle-timeout", "4"]);
    let mut stalled = stall(&s.1);
    // And the stalled ones are cut off at the 2 s deadline, not held forever (waited
    // for, each for up to 30 s).
    let mut open = 0;
    for c in stalled.iter_mut() {
        if !closed_within(c, Duration::from_secs(30)) {
            open += 1;
        }
    }
    assert_eq!(open, 0, "{open} stalled connections were never closed");
    // A keep-alive connection that goes quiet is closed at the idle deadline.
    let mut c = TcpStream::connect(&s.1).unwrap();
    c.write_all(b"GET /checkpoint HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    assert_eq!(read_response(&mut r, false).unwrap().status, 200);
    assert!(closed_within(&mut c, Duration::from_secs(8)));
}

fn curl(args: &[&str]) -> (String, Vec<u8>) {
    let o = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl is needed for the HTTP/2 tests (cargo xtask install puts it in)");
    assert!(
        o.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = o.stdout;
    // The last line is -w's "%{http_version}".
    let cut = out.iter().rposition(|&b| b == b'\n').unwrap();
    (
        String::from_utf8_lossy(&out[cut + 1..]).into_owned(),
        out[..cut].to_vec(),
    )
}

/// A self-signed certificate for 127.0.0.1 (key and certificate, PEM), made by openssl.
pub fn test_certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl makes the test certificate");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (key, cert)
}

#[test]
fn http2_in_cleartext_for_proxies_and_by_alpn_over_tls() {
    let (t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(300, "h")), &[]));
    let cp = fs::read(dir.join("checkpoint")).unwrap();
    let s = serve(&dir);
    let url = format!("http://{}/checkpoint", s.1);
    let (v, body) = curl(&["--http2-prior-knowledge", "-w", "\n%{http_version}", &url]);
    assert_eq!((v.as_str(), body), ("2", cp.clone()));
    let (v, _) = curl(&["--http1.1", "-w", "\n%{http_version}", &url]);
    assert_eq!(v, "1.1");
    drop(s);
    let (key, cert) = test_certificate(&t);
    let s = serve_with(
        &dir,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(s.2[0].starts_with("https://"), "{:?}", s.2);
    let url = format!("https://{}/checkpoint", s.1);
    let ca = cert.to_str().unwrap();
    let (v, body) = curl(&["--cacert", ca, "-w", "\n%{http_version}", &url]);
    assert_eq!((v.as_str(), body), ("2", cp.clone()), "h2 by ALPN");
    let (v, body) = curl(&["--cacert", ca, "--http1.1", "-w", "\n%{http_version}", &url]);
    assert_eq!((v.as_str(), body), ("1.1", cp.clone()));
    // Over h2 the same headers and compression hold.
    let (_, head) = curl(&[
        "--cacert",
        ca,
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-H",
        "Accept-Encoding: gzip",
        "-w",
        "\n%{http_version}",
        &format!("https://{}/tile/entries/000", s.1),
    ]);
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(
        head.contains("cache-control: public, max-age=31536000, immutable"),
        "{head}"
    );
    // The whole ledger verifies over it... with a client that trusts the test CA; a
    // plain-text client gets nothing from the TLS port.
    let r = std::panic::catch_unwind(|| {
        raw_exchange(&s.1, b"GET /checkpoint HTTP/1.1\r\nHost: x\r\n\r\n")
    });
    assert!(r.map_or(true, |r| !r.contains("200 OK")));
    // Bad key material is refused at start, saying what was expected.
    fs::write(t.join("empty.pem"), "").unwrap();
    let o = ll(
        &[
            "serve",
            d,
            "--addr",
            "127.0.0.1:0",
            "--tls-cert",
            t.join("empty.pem").to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected a PEM certificate chain"));
}

#[test]
fn the_access_log_says_who_requested_what_and_when() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(300, "l")), &[]));
    let s = serve(&dir);
    let r = request(
        &s.1,
        "GET",
        "tile/entries/000",
        &[("User-Agent", "audit-bot/1.0"), ("Accept-Encoding", "gzip")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(get(&s.1, "nothing", "identity").status, 404);
    // Lines are written when a body ends; give the server a moment to flush.
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines: Vec<serde_json::Value> = loop {
        let l: Vec<serde_json::Value> = s
            .stderr()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|v: &serde_json::Value| v["target"] == "access")
            .collect();
        if l.len() >= 2 || Instant::now() > deadline {
            break l;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(lines.len(), 2, "{}", s.stderr());
    // (Each line is written when its body ends: the two may come in either order.)
    let (bundle, missing) = match lines[0]["fields"]["path"] == "/nothing" {
        true => (&lines[1], &lines[0]),
        false => (&lines[0], &lines[1]),
    };
    let f = &bundle["fields"];
    assert_eq!(f["method"], "GET");
    assert_eq!(f["path"], "/tile/entries/000");
    assert_eq!(f["status"], 200);
    assert_eq!(f["bytes"], r.body.len() as u64, "the bytes sent");
    assert_eq!(f["user_agent"], "audit-bot/1.0");
    assert_eq!(f["class"], "bundle");
    assert!(f["peer"].as_str().unwrap().starts_with("127.0.0.1:"), "{f}");
    assert!(f["duration_ms"].as_f64().unwrap() >= 0.0);
    assert!(bundle["timestamp"].as_str().unwrap().starts_with("20"));
    assert_eq!(missing["fields"]["status"], 404);
    // To a file instead, or not at all.
    let file = dir.with_extension("access.log");
    let s2 = serve_with(&dir, &["--access-log", file.to_str().unwrap()]);
    assert_eq!(get(&s2.1, "checkpoint", "identity").status, 200);
    drop(s2);
    let logged = fs::read_to_string(&file).unwrap();
    assert!(logged.contains("\"path\":\"/checkpoint\""), "{logged}");
    let s3 = serve_with(&dir, &["--no-access-log"]);
    assert_eq!(get(&s3.1, "checkpoint", "identity").status, 200);
    std::thread::sleep(Duration::from_millis(200));
    assert!(!s3.stderr().contains("\"access\""), "{}", s3.stderr());
}

/// The value of a Prometheus sample whose line starts with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn metrics_count_requests_bytes_connections_and_the_ledgers_state() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(300, "m")), &[]));
    let s = serve_with(&dir, &["--metrics-addr", "127.0.0.1:0", "--no-access-log"]);
    let metrics = s.2[1]
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned();
    for _ in 0..3 {
        assert_eq!(get(&s.1, "checkpoint", "identity").status, 200);
    }
    let bundle = get(&s.1, "tile/entries/000", "identity");
    assert_eq!(get(&s.1, "nothing", "identity").status, 404);
    // Metrics are not on the public port.
    assert_eq!(get(&s.1, "metrics", "identity").status, 404);
    std::thread::sleep(Duration::from_millis(200));
    let m = get(&metrics, "metrics", "identity");
    assert_eq!(m.status, 200);
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(m.body).unwrap();
    let q = |s: &str| sample(&text, s);
    assert_eq!(
        q("liveledger_http_requests_total{class=\"checkpoint\",status=\"200\"}"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        q("liveledger_http_requests_total{class=\"other\",status=\"404\"}"),
        Some(1.0)
    );
    assert_eq!(
        q("liveledger_http_response_bytes_total{class=\"bundle\"}"),
        Some(bundle.body.len() as f64)
    );
    assert_eq!(
        q("liveledger_http_request_duration_seconds_count{class=\"checkpoint\"}"),
        Some(3.0)
    );
    assert!(q("liveledger_http_connections_total").unwrap() >= 5.0);
    assert!(q("liveledger_http_connections_open").is_some());
    assert_eq!(q("liveledger_ledger_size"), Some(301.0));
    let age = q("liveledger_checkpoint_age_seconds").unwrap();
    assert!((0.0..3600.0).contains(&age), "{age}");
    assert!(
        text.contains("# HELP liveledger_http_requests_total"),
        "{text}"
    );
    assert!(text.contains("# TYPE liveledger_http_request_duration_seconds histogram"));
}

fn post(addr: &str, path: &str, token: Option<&str>, body: &str) -> (u16, serde_json::Value, Raw) {
    let mut h = vec![("Content-Type", "application/x-ndjson".to_owned())];
    if let Some(t) = token {
        h.push(("Authorization", format!("Bearer {t}")));
    }
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in &h {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    (&c).write_all(head.as_bytes()).unwrap();
    (&c).write_all(body.as_bytes()).unwrap();
    let r = read_response(&mut BufReader::new(c), false).unwrap();
    let v = serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
    (r.status, v, r)
}

fn size_of(dir: &Path) -> u64 {
    verify_json(dir)["size"].as_u64().unwrap()
}

#[test]
fn the_append_api_admits_only_live_tokens_within_their_scope_and_rate() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(5, "a")), &[]));
    ok(&ll(
        &["add-author", d, "billing@payments.example"],
        None,
        &[],
    ));
    let token = |name: &str, kinds: &str, sources: &str| {
        ok(&ll(
            &[
                "token",
                "add",
                d,
                name,
                "--author",
                "billing@payments.example",
                "--kinds",
                kinds,
                "--sources",
                sources,
            ],
            None,
            &[],
        ))
        .trim()
        .to_owned()
    };
    let billing = token("billing", "payment,refund", "billing-api");
    let other = token("other", "*", "*");
    assert!(
        billing.starts_with("llt_") && billing.len() == 68,
        "{billing}"
    );
    // Only the hash is kept.
    let stored = fs::read_to_string(dir.with_extension("keys").join("tokens.json")).unwrap();
    assert!(!stored.contains(&billing[4..]) && stored.contains("\"billing\""));
    // Names are never reused; the author must exist.
    let o = ll(
        &[
            "token",
            "add",
            d,
            "billing",
            "--author",
            "billing@payments.example",
            "--kinds",
            "x",
            "--sources",
            "y",
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 2);
    let o = ll(
        &[
            "token",
            "add",
            d,
            "n",
            "--author",
            "nobody",
            "--kinds",
            "x",
            "--sources",
            "y",
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 2);

    let s = serve_with(
        &dir,
        &[
            "--api-addr",
            "127.0.0.1:0",
            "--api-rate",
            "1",
            "--api-burst",
            "3",
        ],
    );
    let api = s.2[1]
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let path = "api/v1/events";
    let one = "{\"kind\":\"payment\",\"key\":\"inv-1\",\"body\":{\"amount\":\"12.00\"}}\n";
    // The `*` token has no default source: its events name theirs.
    let sourced = one.replace("{\"kind\"", "{\"source\":\"erp\",\"kind\"");
    let before = size_of(&dir);
    // No token, a malformed one, an unknown one: 401 with a challenge.
    for t in [
        None,
        Some("nonsense"),
        Some(&*format!("llt_{}", "0".repeat(64))),
    ] {
        let (st, v, r) = post(&api, path, t, one);
        assert_eq!(st, 401, "{t:?}: {v}");
        assert_eq!(v["error"]["code"], "unauthorized");
        assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    }
    // Out of scope: a kind or a source the token does not allow; nothing appended.
    let (st, v, _) = post(
        &api,
        path,
        Some(&billing),
        &format!("{one}{{\"kind\":\"custody.transfer\",\"body\":{{}}}}\n"),
    );
    assert_eq!(
        (st, &v["error"]["code"], &v["error"]["line"]),
        (403, &"out_of_scope".into(), &2.into()),
        "{v}"
    );
    let (st, v, _) = post(
        &api,
        path,
        Some(&billing),
        "{\"kind\":\"payment\",\"source\":\"vault\",\"body\":{}}\n",
    );
    assert_eq!(st, 403, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("\"vault\""));
    // A bad line: 400 naming it; nothing appended.
    let (st, v, _) = post(&api, path, Some(&other), &format!("{sourced}{{\"kind\":\n"));
    assert_eq!((st, &v["error"]["line"]), (400, &2.into()), "{v}");
    assert_eq!(size_of(&dir), before);
    // A good batch: an answer per event, durable and published.
    let two = format!("{one}{}", one.replace("inv-1", "inv-2"));
    let (st, v, _) = post(&api, path, Some(&billing), &two);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["size"], before + 2);
    let evs = v["events"].as_array().unwrap();
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0]["seq"], before);
    assert_eq!(evs[1]["seq"], before + 1);
    assert_eq!(evs[0]["leaf_hash"].as_str().unwrap().len(), 64);
    let v = verify_json(&dir);
    assert_eq!(
        (v["verified"].as_bool(), v["size"].as_u64()),
        (Some(true), Some(before + 2)),
        "{v}"
    );
    // The token's default source was used, and its author signed.
    let seg = fs::read(dir.join(format!("tile/entries/000.p/{}", before + 2))).unwrap();
    let text = String::from_utf8_lossy(&seg);
    assert!(text.contains("\"source\":\"billing-api\""), "{text}");
    // Rate: a burst of 3 per token, then 429 with Retry-After (the other token is not
    // affected).
    let mut limited = None;
    for _ in 0..5 {
        let (st, _, r) = post(&api, path, Some(&billing), "{\"kind\":\n");
        if st == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the burst was never limited");
    assert!(r.header("retry-after").is_some());
    let (st, v, _) = post(&api, path, Some(&other), &sourced);
    assert_eq!(st, 200, "{v}");
    // Revoked: refused from the next request on, without a restart.
    ok(&ll(&["token", "revoke", d, "other"], None, &[]));
    let (st, _, _) = post(&api, path, Some(&other), &sourced);
    assert_eq!(st, 401);
    let listed = ok(&ll(&["token", "list", d], None, &[]));
    assert!(
        listed.contains("other\t") && listed.contains("revoked"),
        "{listed}"
    );
    assert!(!listed.contains("llt_"));
    // Too large, or not JSON lines.
    // (The head says how large; the server answers before reading the body.)
    let c = TcpStream::connect(&api).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(&c, "POST /{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {other}\r\nContent-Length: {}\r\n\r\n", 9 << 20).unwrap();
    let r = read_response(&mut BufReader::new(c), false).unwrap();
    assert_eq!(r.status, 401, "revoked first");
    let c = TcpStream::connect(&api).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    std::thread::sleep(Duration::from_millis(1100)); // a token of rate for billing
    write!(&c, "POST /{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {billing}\r\nContent-Length: {}\r\n\r\n", 9 << 20).unwrap();
    let r = read_response(&mut BufReader::new(c), false).unwrap();
    assert_eq!(r.status, 413, "{}", String::from_utf8_lossy(&r.body));
    std::thread::sleep(Duration::from_millis(1100));
    let (st, v, _) = {
        let c = TcpStream::connect(&api).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(&c, "POST /{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {billing}\r\nContent-Type: multipart/form-data\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").unwrap();
        let r = read_response(&mut BufReader::new(c), false).unwrap();
        (
            r.status,
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(),
            (),
        )
    };
    assert_eq!(
        (st, &v["error"]["code"]),
        (415, &"unsupported_media_type".into())
    );
    // The API is not on the static port unless asked; the access log names the token.
    let (st, _, _) = post(&s.1, path, Some(&billing), one);
    assert_eq!(st, 400, "the static port refuses bodies");
    std::thread::sleep(Duration::from_millis(1100));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        s.stderr().contains("\"token\":\"billing\""),
        "{}",
        s.stderr()
    );
    drop(s);
    let s = serve_with(&dir, &["--api-on-static-port", "--no-access-log"]);
    let (st, v, _) = post(&s.1, path, Some(&billing), &one.replace("inv-1", "inv-3"));
    assert_eq!(st, 200, "{v}");
}

#[test]
fn appenders_at_once_each_get_their_own_answer_and_a_bad_batch_is_refused_alone() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    let token = ok(&ll(
        &[
            "token",
            "add",
            d,
            "fleet",
            "--author",
            "alice@example.org",
            "--kinds",
            "*",
            "--sources",
            "*",
        ],
        None,
        &[],
    ))
    .trim()
    .to_owned();
    let s = serve_with(
        &dir,
        &[
            "--api-addr",
            "127.0.0.1:0",
            "--api-rate",
            "1000",
            "--api-burst",
            "1000",
        ],
    );
    let api = s.2[1]
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let before = size_of(&dir);
    // 16 appenders at once, three batches of two events each; one more whose second line
    // corrects an event the ledger does not have (refused when appended, not parsed).
    let good: Vec<_> = (0..16)
        .map(|c| {
            let (api, token) = (api.clone(), token.clone());
            std::thread::spawn(move || {
                (0..3)
                    .map(|b| {
                        let line = |n: u32| {
                            format!("{{\"kind\":\"payment\",\"source\":\"client-{c}\",\"body\":{{\"batch\":{b},\"n\":{n}}}}}\n")
                        };
                        let (st, v, _) =
                            post(&api, "api/v1/events", Some(&token), &format!("{}{}", line(0), line(1)));
                        assert_eq!(st, 200, "{v}");
                        v
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let bad = {
        let (api, token) = (api.clone(), token.clone());
        std::thread::spawn(move || {
            post(
                &api,
                "api/v1/events",
                Some(&token),
                "{\"kind\":\"payment\",\"source\":\"x\",\"body\":{}}\n{\"kind\":\"correction\",\"source\":\"x\",\"corrects\":{\"seq\":999999,\"mode\":\"void\"},\"body\":{\"reason\":\"x\"}}\n",
            )
        })
    };
    let (st, v, _) = bad.join().unwrap();
    assert_eq!((st, &v["error"]["line"]), (400, &2.into()), "{v}");
    // Every good batch answered with its own two events, in order; together they are
    // every new event once.
    let mut seqs = Vec::new();
    for t in good {
        for v in t.join().unwrap() {
            let evs = v["events"].as_array().unwrap();
            assert_eq!(evs.len(), 2, "{v}");
            let (a, b) = (
                evs[0]["seq"].as_u64().unwrap(),
                evs[1]["seq"].as_u64().unwrap(),
            );
            assert_eq!(b, a + 1, "a batch's events are contiguous: {v}");
            assert!(v["size"].as_u64().unwrap() > b, "{v}");
            seqs.extend([a, b]);
        }
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (before..before + 96).collect::<Vec<_>>());
    let v = verify_json(&dir);
    assert_eq!(
        (v["verified"].as_bool(), v["size"].as_u64()),
        (Some(true), Some(before + 96)),
        "{v}"
    );
}

#[test]
fn sigterm_lets_requests_in_flight_finish_then_exits() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(2, "g")), &[]));
    // A large file, read slowly, is in flight when the server is told to stop.
    let big: Vec<u8> = (0..32u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    fs::write(dir.join("big.bin"), &big).unwrap();
    let mut s = serve_with(&dir, &["--no-access-log"]);
    let c = TcpStream::connect(&s.1).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    (&c).write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(c);
    let mut first = [0u8; 4096];
    r.read_exact(&mut first).unwrap();
    let pid = s.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    // New connections are no longer accepted...
    assert!(TcpStream::connect(&s.1)
        .map_or(true, |mut c| closed_within(&mut c, Duration::from_secs(5))));
    // ...but the response in flight completes, byte for byte.
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    let mut all = first.to_vec();
    all.extend_from_slice(&rest);
    let body_at = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(all.len() - body_at, big.len());
    assert!(all[body_at..] == big[..]);
    let status = s.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a graceful exit");
}

/// The block after `<!-- api: name -->` in docs/FORMAT.md.
fn api_doc(name: &str) -> String {
    let doc = include_str!("../../../docs/FORMAT.md");
    let marker = format!("<!-- api: {name} -->\n");
    let at = doc
        .find(&marker)
        .unwrap_or_else(|| panic!("FORMAT.md has no {marker}"))
        + marker.len();
    let block = &doc[at..];
    let start = block.find('\n').unwrap() + 1;
    let end = block.find("\n```").unwrap();
    block[start..end].to_owned()
}

#[test]
fn the_append_apis_documented_request_gets_the_documented_answers() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(4, "doc")), &[]));
    ok(&ll(
        &["add-author", d, "billing@payments.example"],
        None,
        &[],
    ));
    let token = ok(&ll(
        &[
            "token",
            "add",
            d,
            "billing",
            "--author",
            "billing@payments.example",
            "--kinds",
            "payment,refund",
            "--sources",
            "billing-api",
        ],
        None,
        &[],
    ));
    let s = serve_with(&dir, &["--api-on-static-port", "--no-access-log"]);
    let send = |request: &str| {
        let request = request.replace("llt_…", token.trim());
        let (head, body) = request.split_once("\n\n").unwrap();
        let body = format!("{body}\n");
        let head = head.replace('\n', "\r\n");
        let c = TcpStream::connect(&s.1).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            &c,
            "{head}\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        read_response(&mut BufReader::new(c), false).unwrap()
    };
    let r = send(&api_doc("request"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // Byte for byte, but for the hashes (the events' times differ from run to run).
    let mut text = String::from_utf8(r.body.clone()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for e in v["events"].as_array().unwrap() {
        let h = e["leaf_hash"].as_str().unwrap();
        assert!(
            h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()),
            "{h}"
        );
        text = text.replace(h, "<64 hex digits>");
    }
    assert_eq!(text, format!("{}\n", api_doc("answer")));
    // The documented refusal: the same request with a kind the token may not use.
    let req = api_doc("request").replace("\"kind\":\"refund\"", "\"kind\":\"custody.transfer\"");
    let r = send(&req);
    assert_eq!(r.status, 403);
    assert_eq!(
        String::from_utf8(r.body).unwrap(),
        format!("{}\n", api_doc("out-of-scope"))
    );
}

/// A free port on 127.0.0.1 (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed (by PID) on drop.
struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn debians_prometheus_scrapes_the_metrics_as_an_operators_would() {
    let (t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(300, "p")), &[]));
    let s = serve_with(&dir, &["--metrics-addr", "127.0.0.1:0", "--no-access-log"]);
    let target = s.2[1]
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned();
    for _ in 0..2 {
        assert_eq!(get(&s.1, "checkpoint", "identity").status, 200);
    }
    let port = free_port();
    let config = t.join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: liveledger\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let prom = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", t.join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(t.join("prometheus.log")).unwrap())
        .spawn()
        .expect("Debian's prometheus (cargo xtask install puts it in)");
    let _prom = Killed(prom);
    let query = |q: &str| -> Option<f64> {
        let q: String = q
            .bytes()
            .map(|b| match b.is_ascii_alphanumeric() || b == b'_' {
                true => (b as char).to_string(),
                false => format!("%{b:02X}"),
            })
            .collect();
        let r = std::panic::catch_unwind(|| {
            get(
                &format!("127.0.0.1:{port}"),
                &format!("api/v1/query?query={q}"),
                "identity",
            )
        })
        .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut up, mut size) = (None, None);
    while Instant::now() < deadline && (up != Some(1.0) || size.is_none()) {
        std::thread::sleep(Duration::from_millis(500));
        up = query("up{job=\"liveledger\"}");
        size = query("liveledger_ledger_size");
    }
    assert_eq!(
        (up, size),
        (Some(1.0), Some(301.0)),
        "Prometheus did not scrape the metrics: {}",
        fs::read_to_string(t.join("prometheus.log")).unwrap_or_default()
    );
    assert_eq!(
        query("liveledger_http_requests_total{class=\"checkpoint\",status=\"200\"}"),
        Some(2.0)
    );
    assert!(query(
        "liveledger_http_request_duration_seconds_bucket{class=\"checkpoint\",le=\"+Inf\"}"
    )
    .is_some());
}

#[test]
fn past_the_in_flight_limit_requests_get_503_at_once_until_a_slot_frees() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(2, "i")), &[]));
    fs::write(dir.join("big.bin"), vec![7u8; 32 << 20]).unwrap();
    let s = serve_with(&dir, &["--max-in-flight", "1", "--no-access-log"]);
    // A client reads the start of a large body and stops: its response holds the slot.
    let c = TcpStream::connect(&s.1).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    (&c).write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut slow = BufReader::new(c);
    let mut some = [0u8; 4096];
    slow.read_exact(&mut some).unwrap();
    // Refused at once, not queued: a queued request could only be answered once the slow
    // body is done, which this test reads only after the answer (so it would be a 200 after
    // the client's own timeout, never a 503).
    let r = get(&s.1, "checkpoint", "identity");
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("retry-after"), Some("1"));
    // Once that body is done, the slot is free again.
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(get(&s.1, "checkpoint", "identity").status, 200);
}

#[test]
fn an_idle_http2_connection_is_closed_at_the_idle_deadline() {
    let (_t, dir) = new_ledger();
    let s = serve_with(&dir, &["--idle-timeout", "2", "--no-access-log"]);
    let mut c = TcpStream::connect(&s.1).unwrap();
    // The h2c preface and an empty SETTINGS frame (length 0, type 4, no flags, stream 0).
    c.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    c.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).unwrap();
    // The server answers with its own SETTINGS (frame type 4)...
    let mut head = [0u8; 9];
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.read_exact(&mut head).unwrap();
    assert_eq!(head[3], 4, "a SETTINGS frame first: {head:?}");
    // ...and, with nothing more said either way, closes the connection at the deadline.
    assert!(closed_within(&mut c, Duration::from_secs(8)));
}
