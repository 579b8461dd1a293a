//! The `liveledger` binary, as operators and CI scripts use it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

mod common;
use common::*;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/tests/vectors");

#[test]
fn append_verify_and_the_json_report() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    let out = ok(&ll(&["append", d], Some(&events(300, "a")), &[]));
    assert!(out.contains("appended events 1..=300"), "{out}");
    ok(&ll(
        &[
            "correct",
            d,
            "--seq",
            "5",
            "--void",
            "--reason",
            "duplicate",
        ],
        None,
        &[],
    ));
    let v = verify_json(&dir);
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["size"], 302);
    assert_eq!(v["stats"]["signatures"], 302);
    assert_eq!(v["stats"]["corrections"], 1);
    assert_eq!(v["stats"]["segments"], 2);
    assert_eq!(v["trust"], "metadata (trust on first use)");
    // Pinning the key from the metadata gives the same verdict; a wrong key fails.
    let key = v["keys"][0].as_str().unwrap();
    assert_eq!(code(&ll(&["verify", d, "--key", key], None, &[])), 0);
    let other = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
    let o = ll(&["verify", d, "--key", other], None, &[]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    // A fresh digest is not stale; with a zero max age, it is.
    assert_eq!(code(&ll(&["verify", d, "--max-age", "1h"], None, &[])), 0);
    std::thread::sleep(Duration::from_millis(1100));
    let o = ll(&["verify", d, "--max-age", "0s"], None, &[]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("STALE"));
    // Usage errors are exit 2, with the liveledger: prefix.
    let o = ll(&["verify", d, "--max-age", "soon"], None, &[]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("liveledger: "));
}

/// A correction of an event that does not exist yet.
const FIX_LATER: &str =
    "{\"kind\":\"fix\",\"source\":\"s\",\"corrects\":{\"seq\":99999,\"mode\":\"void\"}}\n";

#[test]
fn a_bad_line_appends_nothing_and_names_the_line() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(3, "a")), &[]));
    let before = fs::read(dir.join("checkpoint")).unwrap();
    for (input, line, what) in [
        (format!("{}not json\n", events(2, "b")), 3, "not JSON"),
        (
            format!("{}{{\"kind\":\"x\"}}\n", events(1, "b")),
            2,
            "source",
        ),
        (
            format!(
                "{}{{\"kind\":\"x\",\"source\":\"s\",\"seq\":4}}\n",
                events(1, "b")
            ),
            2,
            "filled in",
        ),
        (
            format!(
                "{}{{\"kind\":\"bad kind\",\"source\":\"s\"}}\n",
                events(4, "b")
            ),
            5,
            "kind",
        ),
        (
            format!(
                "{}{{\"kind\":\"x\",\"source\":\"s\",\"body\":{{\"n\":9007199254740993}}}}\n",
                events(1, "b")
            ),
            2,
            "double",
        ),
        (
            format!(
                "{}{{\"kind\":\"x\",\"source\":\"s\",\"body\":\"{}\"}}\n",
                events(1, "b"),
                "y".repeat(70_000)
            ),
            2,
            "bytes",
        ),
        // Rules the chain checker finds, deep in big batches: it and the signature
        // verifiers run on other threads, in chunks, and the earliest line must still be
        // the one reported.
        (
            format!("{}{FIX_LATER}", events(700, "b")),
            701,
            "not earlier",
        ),
        (
            format!(
                "{}{FIX_LATER}{}{FIX_LATER}{}",
                events(299, "b"),
                events(300, "c"),
                events(100, "d")
            ),
            300,
            "not earlier",
        ),
        (
            format!("{FIX_LATER}{}", events(1000, "b")),
            1,
            "not earlier",
        ),
    ] {
        let o = ll(&["append", d], Some(&input), &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(code(&o), 2, "{err}");
        assert!(
            err.contains(&format!("line {line}:")) && err.contains(what),
            "expected line {line} / {what}: {err}"
        );
        assert_eq!(
            fs::read(dir.join("checkpoint")).unwrap(),
            before,
            "nothing may change"
        );
    }
    assert_eq!(verify_json(&dir)["size"], 4);
}

#[test]
fn a_forged_signature_fails_verify_at_its_event_on_any_number_of_threads() {
    // Event 100's signed source is changed after signing (the entry stays canonical), so
    // event 101's `prev` no longer names it either. With signatures checked on other
    // threads, the audit finds the broken chain at 101 before event 100's verdict is in;
    // the failure must still be event 100's signature, as on one thread.
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(600, "a")), &[]));
    let path = dir.join("tile/entries/000");
    let mut bundle = fs::read(&path).unwrap();
    let at = bundle
        .windows(14)
        .enumerate()
        .filter(|(_, w)| w == b"\"source\":\"erp\"")
        .nth(99)
        .map(|(i, _)| i)
        .unwrap();
    bundle[at + 12] = b'q';
    fs::write(&path, &bundle).unwrap();
    let mut reports = Vec::new();
    for threads in ["1", "2", "5"] {
        let o = ll(&["verify", d, "--json", "--threads", threads], None, &[]);
        assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let f = &v["failure"];
        assert_eq!(f["entry"], 100, "{threads} threads: {v}");
        assert!(
            f.to_string().contains("signature"),
            "{threads} threads: {f}"
        );
        reports.push(f.clone());
    }
    assert!(reports.windows(2).all(|w| w[0] == w[1]), "{reports:?}");
    let o = ll(&["verify", d, "--threads", "0"], None, &[]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--threads must be at least 1"));
}

#[test]
fn a_second_writer_gets_a_clear_error() {
    let (_t, dir) = new_ledger();
    let lock = fs::OpenOptions::new()
        .write(true)
        .open(dir.with_file_name("led.keys").join("lock"))
        .unwrap();
    lock.lock().unwrap();
    let o = ll(
        &["append", dir.to_str().unwrap()],
        Some(&events(1, "a")),
        &[],
    );
    assert_eq!(code(&o), 4);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("another liveledger process"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    drop(lock);
    ok(&ll(
        &["append", dir.to_str().unwrap()],
        Some(&events(1, "a")),
        &[],
    ));
}

#[test]
fn keys_never_go_into_the_published_directory() {
    let t = tmp();
    let dir = t.join("led");
    let o = ll(
        &[
            "init",
            dir.to_str().unwrap(),
            "--origin",
            "o.example/x",
            "--keys",
            dir.join("k").to_str().unwrap(),
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 2);
    let (_t, dir) = new_ledger();
    for e in walk(&dir) {
        let s = fs::read(&e).unwrap();
        assert!(
            !String::from_utf8_lossy(&s).contains("PRIVATE+KEY"),
            "{} holds a secret",
            e.display()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let keys = dir.with_file_name("led.keys");
        assert_eq!(
            fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            fs::metadata(keys.join("log.key"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

/// Tessera's build_log.sh spells its entries this way.
const TESSERA_ENTRIES: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neit\nnain\nten\nileven\ntwelf\nthreeten\nfourten\nfivten\n";

#[test]
fn raw_mode_reproduces_tesseras_log_byte_for_byte() {
    let t = tmp();
    let dir = t.join("log");
    let d = dir.to_str().unwrap();
    let v = Path::new(VECTORS).join("tessera-log");
    // The entries are what tessera's bundle holds.
    let bundle = fs::read(v.join("tile/entries/000.p/15")).unwrap();
    let mut expected = Vec::new();
    for l in TESSERA_ENTRIES.lines() {
        expected.extend((l.len() as u16).to_be_bytes());
        expected.extend(l.as_bytes());
    }
    assert_eq!(bundle, expected, "entries differ from the vector's");
    ok(&ll(
        &[
            "init",
            d,
            "--origin",
            "example.com/log/testdata",
            "--raw",
            "--log-key",
            v.join("SIGNER_KEY").to_str().unwrap(),
        ],
        None,
        &[],
    ));
    ok(&ll(
        &["append", d, "--raw", "--each"],
        Some(TESSERA_ENTRIES),
        &[],
    ));
    assert_eq!(
        fs::read(dir.join("checkpoint")).unwrap(),
        fs::read(v.join("checkpoint")).unwrap()
    );
    for n in 0..=15 {
        assert_eq!(
            fs::read(dir.join(format!("digests/{n}"))).unwrap(),
            fs::read(v.join(format!("checkpoint.{n}"))).unwrap(),
            "checkpoint.{n}"
        );
        if n > 0 {
            for p in [
                format!("tile/0/000.p/{n}"),
                format!("tile/entries/000.p/{n}"),
            ] {
                assert_eq!(
                    fs::read(dir.join(&p)).unwrap(),
                    fs::read(v.join(&p)).unwrap(),
                    "{p}"
                );
            }
        }
    }
    // The archive's index names every digest, for programs.
    let want: String = (0..=15).map(|n| format!("{n}\n")).collect();
    assert_eq!(
        fs::read_to_string(dir.join("digests/index.txt")).unwrap(),
        want
    );
    // And what we wrote verifies as a log.
    let key = fs::read_to_string(v.join("VERIFIER_KEY")).unwrap();
    ok(&ll(
        &["verify", "--log-only", d, "--key", key.trim()],
        None,
        &[],
    ));
}

#[test]
fn verify_log_only_accepts_tessera_and_rejects_every_single_byte_change() {
    let v = Path::new(VECTORS).join("tessera-log");
    let key = fs::read_to_string(v.join("VERIFIER_KEY")).unwrap();
    let key = key.trim();
    let o = ll(
        &["verify", "--log-only", v.to_str().unwrap(), "--key", key],
        None,
        &[],
    );
    assert!(ok(&o).contains("verified: example.com/log/testdata — 15 entries"));
    let t = tmp();
    let copy = t.join("tessera");
    for f in ["checkpoint", "tile/0/000.p/15", "tile/entries/000.p/15"] {
        fs::create_dir_all(copy.join(f).parent().unwrap()).unwrap();
        fs::copy(v.join(f), copy.join(f)).unwrap();
    }
    let mut runs = 0;
    for f in ["checkpoint", "tile/0/000.p/15", "tile/entries/000.p/15"] {
        let good = fs::read(copy.join(f)).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            fs::write(copy.join(f), &bad).unwrap();
            let o = ll(
                &["verify", "--log-only", copy.to_str().unwrap(), "--key", key],
                None,
                &[],
            );
            assert_eq!(
                code(&o),
                1,
                "{f} byte {i} changed, yet: {}",
                String::from_utf8_lossy(&o.stdout)
            );
            runs += 1;
        }
        fs::write(copy.join(f), &good).unwrap();
    }
    assert!(runs > 500, "{runs}");
    ok(&ll(
        &["verify", "--log-only", copy.to_str().unwrap(), "--key", key],
        None,
        &[],
    ));
}

#[test]
fn since_detects_a_rollback_and_accepts_a_consistent_past() {
    let v = Path::new(VECTORS).join("tessera-log");
    let key = fs::read_to_string(v.join("VERIFIER_KEY")).unwrap();
    let d = v.to_str().unwrap();
    for n in [1, 5, 15] {
        let since = v.join(format!("checkpoint.{n}"));
        ok(&ll(
            &[
                "verify",
                "--log-only",
                d,
                "--key",
                key.trim(),
                "--since",
                since.to_str().unwrap(),
            ],
            None,
            &[],
        ));
    }
    // A copy of the log served at size 10 after size 15 was seen: rollback.
    let t = tmp();
    let copy = t.join("rolled");
    fs::create_dir_all(copy.join("tile/0/000.p")).unwrap();
    fs::create_dir_all(copy.join("tile/entries/000.p")).unwrap();
    fs::copy(v.join("checkpoint.10"), copy.join("checkpoint")).unwrap();
    fs::copy(v.join("tile/0/000.p/10"), copy.join("tile/0/000.p/10")).unwrap();
    fs::copy(
        v.join("tile/entries/000.p/10"),
        copy.join("tile/entries/000.p/10"),
    )
    .unwrap();
    let o = ll(
        &[
            "verify",
            "--log-only",
            copy.to_str().unwrap(),
            "--key",
            key.trim(),
            "--since",
            v.join("checkpoint.15").to_str().unwrap(),
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("rollback") && err.contains("checkpoint trusted before"),
        "{err}"
    );
}

/// The `key` of every event the ledger at `dir` holds, in order ("" for none: genesis).
fn ledger_keys(dir: &Path) -> Vec<String> {
    use liveledger_core::{bundle, tiles};
    let cp = fs::read_to_string(dir.join("checkpoint")).unwrap();
    let size: u64 = cp.lines().nth(1).unwrap().parse().unwrap();
    let mut keys = Vec::new();
    for i in 0..tiles::bundle_count(size) {
        let p = tiles::bundle_at(size, i).unwrap();
        let bytes = fs::read(dir.join(p.to_string())).unwrap();
        for e in bundle::decode_bundle(&bytes, p.width()).unwrap() {
            let v: serde_json::Value = serde_json::from_slice(e).unwrap();
            keys.push(v["key"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert_eq!(keys.len() as u64, size);
    keys
}

/// Kills the writer early (a seeded delay of up to 20 ms after it starts), mid-batch (once
/// its journal is on disk, then that delay), or lets it finish, in turn; after each round the
/// directory verifies and holds every event the CLI had reported as appended, at the
/// sequence numbers it reported, each once, and nothing that was not sent; the next
/// append recovers. That some rounds die and some finish does not depend on the machine's
/// speed: the mid-batch kill waits for the batch to be under way, and the rounds that
/// finish are not killed.
#[test]
fn kill_minus_nine_at_random_points_never_loses_or_corrupts() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    let mut reported_max: i64 = 0;
    let mut seed = 0x2545F4914F6CDD1Du64;
    let (mut completed, mut killed, mut recovered) = (0, 0, 0);
    // Every event acknowledged so far: its sequence number and its key.
    let mut acknowledged: Vec<(usize, String)> = Vec::new();
    let mut sent: std::collections::HashSet<String> = std::collections::HashSet::new();
    for round in 0..25 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % 20_000);
        let journal = dir.with_extension("keys").join("journal");
        let mut child: Child = Command::new(BIN)
            .args(["append", d])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let n = 40 + (seed % 300) as usize;
        let tag = format!("r{round}-");
        let input = events(n, &tag);
        sent.extend((0..n).map(|i| format!("inv/{tag}{i}")));
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input.as_bytes());
        drop(stdin);
        match round % 3 {
            // Early: most often before the journal, while the batch is read and signed (it
            // must then be wholly out); where exactly, no assertion depends on.
            0 => {
                std::thread::sleep(delay);
                let _ = child.kill(); // SIGKILL
            }
            // Mid-batch: the event is the batch's journal on disk (or the append over).
            1 => {
                while !journal.exists() && child.try_wait().unwrap().is_none() {
                    std::thread::sleep(Duration::from_micros(200));
                }
                std::thread::sleep(delay);
                let _ = child.kill();
            }
            _ => {}
        }
        let out = child.wait_with_output().unwrap();
        recovered += usize::from(
            String::from_utf8_lossy(&out.stderr).contains("finishing an interrupted batch"),
        );
        if out.status.success() {
            completed += 1
        } else {
            killed += 1
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(r) = line.strip_prefix("appended events ") {
                let range = r.split(";").next().unwrap();
                let (first, last) = range.split_once("..=").unwrap();
                let (first, last): (i64, i64) = (first.parse().unwrap(), last.parse().unwrap());
                reported_max = reported_max.max(last);
                // One append is one batch: the input's lines, in order, at these numbers.
                for (i, seq) in (first..=last).enumerate() {
                    acknowledged.push((seq as usize, format!("inv/{tag}{i}")));
                }
            }
        }
        let v = verify_json(&dir);
        assert_eq!(v["verified"], true, "round {round}: {v}");
        assert!(
            v["size"].as_i64().unwrap() > reported_max,
            "round {round}: event {reported_max} was reported appended but the ledger has {}",
            v["size"]
        );
        // The events themselves: each acknowledged one where it was reported, none twice,
        // none that was never sent.
        let keys = ledger_keys(&dir);
        for (seq, key) in &acknowledged {
            assert_eq!(
                &keys[*seq], key,
                "round {round}: event {seq} is not the one acknowledged"
            );
        }
        let (genesis, appended) = keys.split_first().unwrap();
        assert_eq!(
            genesis, "",
            "round {round}: entry 0 is the genesis event, keyless"
        );
        let mut seen = std::collections::HashSet::new();
        for (i, k) in appended.iter().enumerate() {
            assert!(
                sent.contains(k),
                "round {round}: event {} ({k}) was never sent",
                i + 1
            );
            assert!(seen.insert(k), "round {round}: {k} is in the ledger twice");
        }
    }
    assert!(!acknowledged.is_empty());
    // The next writer recovers whatever was interrupted, and goes on.
    let o = ll(&["append", d], Some(&events(3, "end")), &[]);
    recovered +=
        usize::from(String::from_utf8_lossy(&o.stderr).contains("finishing an interrupted batch"));
    ok(&o);
    eprintln!("{completed} appends completed, {killed} killed, {recovered} journals recovered");
    // The kill points must really vary: some appends die, some finish.
    assert!(
        completed > 0 && killed > 0,
        "{completed} completed, {killed} killed"
    );

    // Then a crash at every write of a batch, before and after it reaches the disk.
    let mut recovered = 0;
    for n in 1..=12 {
        for when in ["abort-before", "abort-after"] {
            let before = verify_json(&dir)["size"].as_i64().unwrap();
            let fault = format!("{n}:{when}");
            let o = ll(
                &["append", d],
                Some(&events(20, &format!("c{n}{when}"))),
                &[("LIVELEDGER_FAULT", &fault)],
            );
            let crashed = !o.status.success();
            let v = verify_json(&dir);
            assert_eq!(v["verified"], true, "after crash {fault}: {v}");
            let mid = v["size"].as_i64().unwrap();
            assert!(
                mid == before || mid == before + 20,
                "crash {fault}: {before} -> {mid}"
            );
            let o = ll(
                &["append", d],
                Some(&events(1, &format!("d{n}{when}"))),
                &[],
            );
            recovered += usize::from(
                String::from_utf8_lossy(&o.stderr).contains("finishing an interrupted batch"),
            );
            ok(&o);
            let after = verify_json(&dir)["size"].as_i64().unwrap();
            if crashed && mid == before {
                // Either the journal never became durable (nothing), or it did (all 20).
                assert!(
                    after == before + 1 || after == before + 21,
                    "crash {fault}: {before} -> {after}"
                );
            }
        }
    }
    assert!(
        recovered >= 4,
        "only {recovered} crashes left a journal to finish"
    );
    assert_eq!(verify_json(&dir)["verified"], true);
}

/// Every write of an append fails in turn, before or after it reaches the disk (as
/// Sunlight's tests do); each time the directory verifies, and a retry completes.
#[test]
fn injected_write_failures_leave_a_verifiable_ledger() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(250, "pre")), &[]));
    let mut failures = 0;
    for n in 1..=14 {
        for when in ["before", "after"] {
            let before = verify_json(&dir)["size"].as_i64().unwrap();
            let fault = format!("{n}:{when}");
            let o = ll(
                &["append", d],
                Some(&events(10, &format!("f{n}{when}"))),
                &[("LIVELEDGER_FAULT", &fault)],
            );
            if !o.status.success() {
                failures += 1;
                assert!(
                    String::from_utf8_lossy(&o.stderr).contains("injected fault"),
                    "{}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            let v = verify_json(&dir);
            assert_eq!(v["verified"], true, "after fault {fault}: {v}");
            let mid = v["size"].as_i64().unwrap();
            assert!(
                mid == before || mid == before + 10,
                "fault {fault}: size {before} -> {mid}"
            );
            // The next append finishes or discards the batch, and adds its own.
            ok(&ll(
                &["append", d],
                Some(&events(1, &format!("g{n}{when}"))),
                &[],
            ));
            let v = verify_json(&dir);
            assert_eq!(v["verified"], true, "after retry of {fault}: {v}");
            let after = v["size"].as_i64().unwrap();
            assert!(
                after == before + 1 || after == before + 11,
                "fault {fault}: {before} -> {after}"
            );
        }
    }
    assert!(
        failures >= 16,
        "only {failures} injected faults hit a write"
    );
}

#[test]
fn a_tampered_directory_fails_with_the_segment_named() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(600, "t")), &[]));
    let p = dir.join("tile/entries/001");
    let mut b = fs::read(&p).unwrap();
    let i = b.len() / 2;
    b[i] ^= 1;
    fs::write(&p, b).unwrap();
    let v = verify_json(&dir);
    assert_eq!(v["verified"], false);
    assert_eq!(v["failure"]["segment"], 1, "{v}");
    let o = ll(&["verify", d], None, &[]);
    assert_eq!(code(&o), 1);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("segment 1"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Verifying a URL fetches segments ahead of the auditor; its verdicts must be the same as
/// for a directory, and a failure in a later segment must still be located.
#[test]
fn verify_over_http_with_prefetch_locates_failures_in_later_segments() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(3000, "p")), &[]));
    let s = serve(&dir);
    let url = format!("http://{}", s.1);
    let v: serde_json::Value =
        serde_json::from_slice(&ll(&["verify", &url, "--json"], None, &[]).stdout).unwrap();
    assert_eq!(
        (
            v["verified"].as_bool(),
            v["size"].as_u64(),
            v["stats"]["segments"].as_u64()
        ),
        (Some(true), Some(3001), Some(12)),
        "{v}"
    );
    // Tamper with segment 9 (served from disk, so the server serves the change).
    let p = dir.join("tile/entries/009");
    let good = fs::read(&p).unwrap();
    let mut bad = good.clone();
    let i = bad.len() / 3;
    bad[i] ^= 1;
    fs::write(&p, &bad).unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&ll(&["verify", &url, "--json"], None, &[]).stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["failure"]["segment"], 9, "{v}");
    // A segment the log no longer serves: NOT_FOUND (the core's rule, docs/FORMAT.md),
    // over HTTP (a 404) and from the directory alike, located at its segment.
    fs::remove_file(&p).unwrap();
    for target in [url.as_str(), dir.to_str().unwrap()] {
        let o = ll(&["verify", target, "--json"], None, &[]);
        assert_eq!(code(&o), 1, "{target}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            (
                &v["verified"],
                &v["code"],
                &v["failure"]["segment"],
                &v["failure"]["path"]
            ),
            (
                &json!(false),
                &json!("NOT_FOUND"),
                &json!(9),
                &json!("tile/entries/009")
            ),
            "{target}: {v}"
        );
        let o = ll(&["verify", target], None, &[]);
        assert_eq!(code(&o), 1);
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("tile/entries/009 is not served"),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    fs::write(&p, &good).unwrap();
    assert_eq!(code(&ll(&["verify", &url], None, &[])), 0);
}

#[test]
fn verify_history_checks_the_archive_and_names_the_damaged_digest() {
    let (_t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    for tag in ["a", "b", "c"] {
        ok(&ll(&["append", d], Some(&events(40, tag)), &[]));
    }
    let history = |extra: &[&str]| {
        let mut args = vec!["verify", d, "--json", "--history"];
        args.extend_from_slice(extra);
        let o = ll(&args, None, &[]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (code(&o), v)
    };
    let (c, v) = history(&[]);
    assert_eq!(c, 0, "{v}");
    let sizes: Vec<u64> = v["history"]["digests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["size"].as_u64().unwrap())
        .collect();
    let index = fs::read_to_string(dir.join("digests/index.txt")).unwrap();
    let archived: Vec<u64> = index.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(
        sizes, archived,
        "every archived digest checked, oldest first"
    );
    assert_eq!(v["history"]["digests"][2]["extends"], archived[1]);
    let (_, v) = history(&["--history-limit", "2"]);
    assert_eq!(v["history"]["digests"].as_array().unwrap().len(), 2);
    assert_eq!(v["history"]["total"], archived.len());
    // Without --history no archive is read, and --history-limit alone is a usage error.
    assert!(verify_json(&dir).get("history").is_none());
    assert_eq!(
        code(&ll(&["verify", d, "--history-limit", "2"], None, &[])),
        2
    );
    // A digest moved to another size's name: exit 1, the digest named.
    let (a, b) = (archived[1], archived[2]);
    fs::copy(
        dir.join(format!("digests/{b}")),
        dir.join(format!("digests/{a}")),
    )
    .unwrap();
    let (c, v) = history(&[]);
    assert_eq!(c, 1, "{v}");
    assert_eq!(v["verified"], false);
    assert_eq!(v["code"], "TAMPERED");
    let f = &v["history"]["failure"];
    assert_eq!(f["path"], format!("digests/{a}"), "{f}");
    assert_eq!(f["alarm"], "BAD_ARCHIVE");
    // The human report says so too.
    let o = ll(&["verify", d, "--history"], None, &[]);
    assert_eq!(code(&o), 1);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!(
            "FAILED: digest history (TAMPERED): digests/{a} holds a digest of size {b}"
        )),
        "{out}"
    );
    // No archive at all: NOT_FOUND, exit 3.
    fs::remove_dir_all(dir.join("digests")).unwrap();
    let (c, v) = history(&[]);
    assert_eq!((c, v["code"].as_str()), (3, Some("NOT_FOUND")), "{v}");
}

#[test]
fn verify_keep_continues_from_its_resume_point_and_refuses_a_log_that_went_back() {
    let (t, dir) = new_ledger();
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(300, "a")), &[]));
    let keep = t.join("kept.json");
    let k = keep.to_str().unwrap();
    let run = |target: &str| {
        let o = ll(&["verify", target, "--json", "--keep", k], None, &[]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (code(&o), v, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    // The first run audits everything and keeps a point.
    let (c, v, _) = run(d);
    assert_eq!((c, v["stats"]["entries"].as_u64()), (0, Some(301)), "{v}");
    assert!(v["resumed"].is_null());
    assert!(fs::read_to_string(&keep)
        .unwrap()
        .starts_with("{\"checkpoint\""));
    let before = t.join("at-301");
    copy_dir(&dir, &before);
    // Twenty more: only they are audited.
    ok(&ll(&["append", d], Some(&events(20, "b")), &[]));
    let (c, v, _) = run(d);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["resumed"]["from"], 301);
    assert_eq!(v["stats"]["entries"], 20);
    assert_eq!(v["size"], 321);
    let human = ok(&ll(&["verify", d, "--keep", k], None, &[]));
    assert!(
        human.contains("continued from 321 entries verified before"),
        "{human}"
    );
    // The log serves its older state: ROLLBACK, with both checkpoints.
    let (c, v, _) = run(before.to_str().unwrap());
    assert_eq!((c, v["code"].as_str()), (1, Some("ROLLBACK")), "{v}");
    assert!(v["consistency"]["old_checkpoint"]
        .as_str()
        .unwrap()
        .contains("\n321\n"));
    // A damaged point: discarded with a note, everything audited, a new point kept.
    fs::write(&keep, "{\"not\": \"a point\"}").unwrap();
    let (c, v, _) = run(d);
    assert_eq!((c, v["stats"]["entries"].as_u64()), (0, Some(321)), "{v}");
    assert!(v["resumed"]["discarded"].is_string());
    fs::write(&keep, "not even JSON").unwrap();
    let o = ll(&["verify", d, "--keep", k], None, &[]);
    assert_eq!(code(&o), 0);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("was not used"), "{err}");
    assert!(fs::read_to_string(&keep)
        .unwrap()
        .contains("liveledger/resume/v1"));
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}
