//! `liveledger witness` against C2SP tlog-witness: every status code, the monitoring read,
//! concurrent submissions, and `kill -9`.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use liveledger_core::hash::Hash;
use liveledger_core::note::{Note, VerifierKey};
use liveledger_core::tiles::{self, TileSet};

mod common;
use common::*;

struct Witness(Child, String);
impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(wdir: &Path, logs: &[&str], addr: &str) -> Witness {
    let mut args = vec![
        "witness",
        "serve",
        wdir.to_str().unwrap(),
        "--addr",
        addr,
        "--no-access-log",
    ];
    for l in logs {
        args.extend(["--log", l]);
    }
    let mut c = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(c.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("witness printed {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    Witness(c, addr)
}

/// POSTs `body` to /add-checkpoint: status, content type, body.
fn add(addr: &str, body: &[u8]) -> (u16, String, String) {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        &c,
        "POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let _ = (&c).write_all(body);
    let r = read_response(&mut BufReader::new(c), false).unwrap();
    (
        r.status,
        r.header("content-type").unwrap_or("").to_owned(),
        String::from_utf8_lossy(&r.body).into_owned(),
    )
}

fn body(old: u64, proof: &[Hash], cp: &[u8]) -> Vec<u8> {
    liveledger_core::witness::AddCheckpoint {
        old_size: old,
        proof: proof.to_vec(),
        checkpoint: cp.to_vec(),
    }
    .to_bytes()
}

/// The consistency proof from `a` to `b`, from the ledger's own tiles.
fn proof(dir: &Path, a: u64, b: u64) -> Vec<Hash> {
    if a == 0 || a == b {
        return vec![];
    }
    let tree = size(dir);
    let mut set = TileSet::new(tree);
    for t in tiles::consistency_tiles_in(tree, a, b).unwrap() {
        set.insert(t, &fs::read(dir.join(t.to_string())).unwrap())
            .unwrap();
    }
    tiles::consistency_proof_from_tiles(&set, a, b).unwrap()
}

fn size(dir: &Path) -> u64 {
    let cp = fs::read_to_string(dir.join("checkpoint")).unwrap();
    cp.lines().nth(1).unwrap().parse().unwrap()
}

fn digest(dir: &Path, size: u64) -> Vec<u8> {
    fs::read(dir.join(format!("digests/{size}"))).unwrap()
}

fn log_key(dir: &Path) -> String {
    verify_json(dir)["keys"][0].as_str().unwrap().to_owned()
}

fn ledger(origin: &str, log_key_file: Option<&Path>) -> (PathBuf, PathBuf) {
    let t = tmp();
    let dir = t.join("led");
    let mut args = vec![
        "init",
        dir.to_str().unwrap(),
        "--origin",
        origin,
        "--author",
        "alice@example.org",
    ];
    let k;
    if let Some(f) = log_key_file {
        k = f.to_str().unwrap().to_owned();
        args.extend(["--log-key", &k]);
    }
    ok(&ll(&args, None, &[]));
    (t, dir)
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn new_witness() -> (PathBuf, VerifierKey) {
    let wdir = tmp().join("w");
    let out = ok(&ll(
        &[
            "witness",
            "init",
            wdir.to_str().unwrap(),
            "--name",
            "witness.example/w1",
        ],
        None,
        &[],
    ));
    let vkey = VerifierKey::parse(out.lines().last().unwrap()).unwrap();
    (wdir, vkey)
}

/// The witness's ML-DSA-44 verifier key (`witness-mldsa.vkey`).
fn mldsa_key(wdir: &std::path::Path) -> VerifierKey {
    VerifierKey::parse(
        fs::read_to_string(wdir.join("witness-mldsa.vkey"))
            .unwrap()
            .trim(),
    )
    .unwrap()
}

#[test]
fn a_witness_answers_every_case_as_tlog_witness_says() {
    let (wdir, vkey) = new_witness();
    assert_eq!(vkey.key_type(), 0x04, "a cosignature/v1 key");
    #[cfg(unix)]
    assert_eq!(
        (
            mode(&wdir),
            mode(&wdir.join("witness.key")),
            mode(&wdir.join("witness-mldsa.key"))
        ),
        (0o700, 0o600, 0o600)
    );
    let pq = mldsa_key(&wdir);
    assert_eq!(
        (pq.key_type(), pq.name()),
        (0x06, "witness.example/w1"),
        "an ML-DSA-44 key beside it"
    );
    assert!(fs::read_to_string(wdir.join("witness.key"))
        .unwrap()
        .starts_with("PRIVATE+KEY+witness.example/w1+"));
    let again = ll(
        &["witness", "init", wdir.to_str().unwrap(), "--name", "x"],
        None,
        &[],
    );
    assert_eq!(code(&again), 2, "init never overwrites a witness");

    let origin = "ledger.example.org/witnessed";
    let (_t, dir) = ledger(origin, None);
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(10, "a")), &[]));
    ok(&ll(&["append", d], Some(&events(300, "b")), &[]));
    let key = log_key(&dir);
    let (_t2, fresh) = ledger("ledger.example.org/other", None);
    let fresh_key = log_key(&fresh);
    let w = start(&wdir, &[&key, &fresh_key], "127.0.0.1:0");
    let a = w.1.as_str();

    // First contact from size 0, then the 409 that tells a client the size held.
    let (st, ct, line) = add(a, &body(0, &[], &digest(&dir, 1)));
    assert_eq!(
        (st, ct.as_str()),
        (200, "text/plain; charset=utf-8"),
        "{line}"
    );
    // A line per key: Ed25519 cosignature/v1, then ML-DSA-44 subtree/v1.
    assert!(
        line.lines().all(|l| l.starts_with("— witness.example/w1 "))
            && line.ends_with('\n')
            && line.lines().count() == 2,
        "{line}"
    );
    let mut cosigned = digest(&dir, 1);
    cosigned.extend_from_slice(line.as_bytes());
    let n = Note::parse(&cosigned)
        .unwrap()
        .verify(std::slice::from_ref(&vkey))
        .unwrap();
    let by_pq = Note::parse(&cosigned)
        .unwrap()
        .verify(std::slice::from_ref(&pq))
        .unwrap();
    assert_eq!(by_pq.verified()[0].timestamp, n.verified()[0].timestamp);
    let t = n.verified()[0].timestamp.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        t <= now && now - t < 60,
        "the cosignature's time is now: {t}"
    );
    assert_eq!(
        add(a, &body(0, &[], &digest(&dir, 11))),
        (409, "text/x.tlog.size".into(), "1\n".into())
    );
    // Growth with a proof from the ledger's tiles.
    assert_eq!(
        add(a, &body(1, &proof(&dir, 1, 11), &digest(&dir, 11))).0,
        200
    );
    // The same size and root again: cosigned again.
    assert_eq!(add(a, &body(11, &[], &digest(&dir, 11))).0, 200);
    // Old size above the checkpoint's: 400. Malformed: 400.
    assert_eq!(add(a, &body(12, &[], &digest(&dir, 11))).0, 400);
    for bad in [
        &b"old 11\n"[..],
        b"hello\n\n",
        b"old 011\n\nx",
        b"old 11\n!!!\n\n",
    ] {
        assert_eq!(add(a, bad).0, 400, "{:?}", String::from_utf8_lossy(bad));
    }
    // 64 proof lines: 400; 63 wrong ones: 422.
    let p = proof(&dir, 11, 311);
    assert_eq!(
        add(a, &body(11, &vec![p[0]; 64], &digest(&dir, 311))).0,
        400
    );
    assert_eq!(
        add(a, &body(11, &vec![p[0]; 63], &digest(&dir, 311))).0,
        422
    );
    // A proof with one bit flipped: 422.
    let mut flipped = p.clone();
    flipped[0].0[3] ^= 0x10;
    assert_eq!(add(a, &body(11, &flipped, &digest(&dir, 311))).0, 422);
    // An unknown origin: 404. The right origin signed by another key: 403.
    let (_t3, stranger) = ledger("ledger.example.org/nobody", None);
    assert_eq!(add(a, &body(0, &[], &digest(&stranger, 1))).0, 404);
    let (_t4, impostor) = ledger(origin, None);
    assert_eq!(add(a, &body(11, &[], &digest(&impostor, 1))).0, 403);
    // A non-empty proof from size 0 (a log it never cosigned): 422.
    assert_eq!(add(a, &body(0, &[p[0]], &digest(&fresh, 1))).0, 422);
    // A fork signed by the log's own key: the same size with another root is a 409,
    // a larger size cannot be proved (422); both are kept as evidence.
    let (_t5, fork) = ledger(origin, Some(&dir.with_extension("keys").join("log.key")));
    let f = fork.to_str().unwrap();
    ok(&ll(&["append", f], Some(&events(10, "FORK")), &[]));
    ok(&ll(&["append", f], Some(&events(300, "FORK")), &[]));
    let (st, ct, why) = add(a, &body(11, &[], &digest(&fork, 11)));
    assert_eq!(
        (st, ct.as_str()),
        (409, "text/plain; charset=utf-8"),
        "{why}"
    );
    assert!(why.contains("root"), "{why}");
    assert_eq!(
        add(a, &body(11, &proof(&fork, 11, 311), &digest(&fork, 311))).0,
        422
    );
    let hex = liveledger_core::hash::sha256(origin.as_bytes()).to_hex();
    let kept = fs::read_dir(wdir.join("evidence").join(&hex))
        .unwrap()
        .count();
    assert!(
        kept >= 3,
        "refused signed checkpoints are kept as evidence ({kept})"
    );
    // Nothing refused moved the witness: it still holds 11, then takes the real 311.
    assert_eq!(add(a, &body(11, &p, &digest(&dir, 311))).0, 200);

    // The monitoring read: the latest cosigned checkpoint, with the log's signature and
    // the witness's, for browsers too (CORS).
    let r = get(a, &format!("{hex}/checkpoint"), "identity");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let note = Note::parse(&r.body).unwrap();
    let both = note
        .clone()
        .verify(&[VerifierKey::parse(&key).unwrap()])
        .unwrap();
    assert!(both.text().contains("\n311\n"));
    note.clone().verify(std::slice::from_ref(&vkey)).unwrap();
    note.verify(std::slice::from_ref(&pq)).unwrap();
    assert_eq!(
        get(a, &format!("{}/checkpoint", "0".repeat(64)), "identity").status,
        404
    );
    let meta = get(a, "witness.v0.json", "identity");
    let v: serde_json::Value = serde_json::from_slice(&meta.body).unwrap();
    assert_eq!(
        v["verifier_keys"],
        serde_json::json!([vkey.to_string(), pq.to_string()]),
        "Sunlight's shape: {v}"
    );
    assert_eq!(v["submission_url"], format!("http://{a}/"));
    assert_eq!(v["logs"][0]["origin"], origin);
    assert_eq!(v["logs"][0]["size"], 311);
    assert_eq!(v["logs"][1]["size"], serde_json::Value::Null);
    // Bodies are capped.
    let big = vec![b'a'; 200 << 10];
    assert_eq!(add(a, &big).0, 413);
}

#[test]
fn of_sixteen_concurrent_submissions_from_one_old_size_exactly_one_is_cosigned() {
    let (wdir, _) = new_witness();
    let (_t, dir) = ledger("ledger.example.org/race", None);
    let d = dir.to_str().unwrap();
    for i in 0..16 {
        ok(&ll(&["append", d], Some(&events(1, &format!("r{i}"))), &[]));
    }
    let w = start(&wdir, &[&log_key(&dir)], "127.0.0.1:0");
    assert_eq!(add(&w.1, &body(0, &[], &digest(&dir, 1))).0, 200);
    // Sixteen clients, each with a checkpoint of another size, all from old size 1.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
    let answers: Vec<(u64, u16, String)> = std::thread::scope(|s| {
        let hs: Vec<_> = (2..=17u64)
            .map(|n| {
                let b = body(1, &proof(&dir, 1, n), &digest(&dir, n));
                let (addr, barrier) = (w.1.clone(), barrier.clone());
                s.spawn(move || {
                    barrier.wait();
                    let (st, _, text) = add(&addr, &b);
                    (n, st, text)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<_> = answers.iter().filter(|a| a.1 == 200).collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    let winner = won[0].0;
    for (n, st, text) in &answers {
        if *n != winner {
            assert_eq!(
                (*st, text.as_str()),
                (409, format!("{winner}\n").as_str()),
                "size {n}"
            );
        }
    }
}

#[test]
fn kill_minus_nine_never_loses_an_acknowledged_cosignature() {
    let (wdir, _) = new_witness();
    let (_t, dir) = ledger("ledger.example.org/crash", None);
    let d = dir.to_str().unwrap();
    for i in 0..40 {
        ok(&ll(&["append", d], Some(&events(1, &format!("k{i}"))), &[]));
    }
    let key = log_key(&dir);
    let hex = liveledger_core::hash::sha256(b"ledger.example.org/crash").to_hex();
    let (mut acked, mut next) = (0u64, 1u64);
    let mut round = 0;
    while next <= 41 && round < 12 {
        round += 1;
        let w = start(&wdir, &[&key], "127.0.0.1:0");
        // What the witness holds after the restart: at least everything acknowledged.
        let held = match get(&w.1, &format!("{hex}/checkpoint"), "identity") {
            r if r.status == 200 => String::from_utf8(r.body)
                .unwrap()
                .lines()
                .nth(1)
                .unwrap()
                .parse()
                .unwrap(),
            r => {
                assert_eq!(r.status, 404);
                0
            }
        };
        assert!(
            held >= acked,
            "round {round}: holds {held}, but {acked} was acknowledged"
        );
        next = held + 1;
        // Submit in a thread; kill -9 after a few milliseconds, mid-stream.
        let addr = w.1.clone();
        let dir2 = dir.clone();
        let submitter = std::thread::spawn(move || {
            let mut last = 0;
            let mut old = held;
            for n in next..=41 {
                let r = std::panic::catch_unwind(|| {
                    add(&addr, &body(old, &proof(&dir2, old, n), &digest(&dir2, n)))
                });
                match r {
                    Ok((200, _, _)) => {
                        last = n;
                        old = n;
                    }
                    _ => break,
                }
            }
            last
        });
        std::thread::sleep(Duration::from_millis(15 + round * 7));
        let mut w = w;
        let _ = w.0.kill();
        let _ = w.0.wait();
        let last = submitter.join().unwrap();
        acked = acked.max(last);
        next = acked + 1;
    }
    let w = start(&wdir, &[&key], "127.0.0.1:0");
    let r = get(&w.1, &format!("{hex}/checkpoint"), "identity");
    let held: u64 = String::from_utf8(r.body)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        held >= acked && acked > 0,
        "holds {held}, acknowledged {acked}"
    );
}

/// A fake witness on 127.0.0.1: answers every request with `answer` (or never, if None).
fn fake_witness(answer: Option<&'static str>) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming().flatten() {
            match answer {
                None => held.push(c), // never answers
                Some(a) => {
                    let mut r = BufReader::new(c.try_clone().unwrap());
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut b = vec![0u8; len];
                    let _ = std::io::Read::read_exact(&mut r, &mut b);
                    let _ = (&c).write_all(a.as_bytes());
                }
            }
        }
    });
    addr
}

fn verify(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["verify", dir.to_str().unwrap(), "--json"];
    args.extend(extra);
    let o = ll(&args, None, &[]);
    (
        code(&o),
        serde_json::from_slice(&o.stdout).unwrap_or_default(),
    )
}

#[test]
fn the_publisher_publishes_only_what_its_quorum_cosigned() {
    let (_t, dir) = ledger("ledger.example.org/quorum", None);
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(20, "q")), &[]));
    let key = log_key(&dir);
    let mut ws = Vec::new();
    let mut lines = String::new();
    for i in 1..=3 {
        let wdir = tmp().join(format!("w{i}"));
        let out = ok(&ll(
            &[
                "witness",
                "init",
                wdir.to_str().unwrap(),
                "--name",
                &format!("w{i}.example"),
            ],
            None,
            &[],
        ));
        // W2 is named by its ML-DSA-44 key (init prints it before the Ed25519 one).
        let vkey = match i {
            2 => out.lines().rev().nth(1).unwrap().to_owned(),
            _ => out.lines().last().unwrap().to_owned(),
        };
        assert_eq!(
            VerifierKey::parse(&vkey).unwrap().key_type(),
            if i == 2 { 0x06 } else { 0x04 }
        );
        let w = start(&wdir, &[&key], "127.0.0.1:0");
        lines += &format!("witness W{i} {vkey} http://{}/\n", w.1);
        ws.push((wdir, w));
    }
    let policy = dir.with_extension("policy");
    fs::write(
        &policy,
        format!("log {key}\n{lines}group two 2 W1 W2 W3\nquorum two\n"),
    )
    .unwrap();
    let out = ok(&ll(&["policy", d, policy.to_str().unwrap()], None, &[]));
    assert!(
        out.contains("published a witnessed digest of size 21"),
        "{out}"
    );
    // Every verifier learns the policy from the metadata and enforces it.
    let (c, v) = verify(&dir, &[]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(
        (
            v["witnesses"]["met"].as_bool(),
            v["witnesses"]["cosigned"].as_u64()
        ),
        (Some(true), Some(3)),
        "{v}"
    );
    assert_eq!(v["witnesses"]["source"], "metadata");
    assert!(v["witnesses"]["list"][0]["time"].as_u64().is_some());
    // One witness down: 2 of 3 still publish.
    drop(ws.remove(2).1);
    let o = ll(&["append", d], Some(&events(5, "q2")), &[]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("witness W3: failed"));
    let (c, v) = verify(&dir, &[]);
    assert_eq!(
        (c, v["size"].as_u64(), v["witnesses"]["cosigned"].as_u64()),
        (0, Some(26), Some(2)),
        "{v}"
    );
    // The archive keeps the checkpoint as published, cosignatures and all. (Size 21 was
    // archived before the policy: archived digests never change.)
    // One line per witness: the policy's key's (W2 answers with two; its ML-DSA line is kept).
    let archived = fs::read_to_string(dir.join("digests/26")).unwrap();
    assert_eq!(archived.matches("— w").count(), 2, "{archived}");
    assert!(
        archived
            .lines()
            .any(|l| l.starts_with("— w2.example ") && l.len() > 3000),
        "{archived}"
    );
    // Two down: the events are durable, the published digest stays the last witnessed.
    let (w2dir, w2) = ws.remove(1);
    drop(w2);
    let o = ll(&["append", d], Some(&events(5, "q3")), &[]);
    assert_eq!(code(&o), 5, "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("quorum") && err.contains("stays at size 26"),
        "{err}"
    );
    let (c, v) = verify(&dir, &[]);
    assert_eq!((c, v["size"].as_u64()), (0, Some(26)), "{v}");
    // Appending again continues from the unwitnessed size: nothing is lost or redone.
    let o = ll(&["append", d], Some(&events(1, "q4")), &[]);
    assert_eq!(code(&o), 5);
    assert!(String::from_utf8_lossy(&o.stdout).contains("the ledger has 32 events"));
    // The witness comes back: `publish` catches up.
    let w2 = start(&w2dir, &[&key], &ws_addr(&lines, 2));
    let o = ll(&["publish", d], None, &[]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let (c, v) = verify(&dir, &[]);
    assert_eq!(
        (c, v["size"].as_u64(), v["witnesses"]["cosigned"].as_u64()),
        (0, Some(32), Some(2)),
        "{v}"
    );
    drop(w2);
    // A pinned policy that needs W3, which cosigned none of these: QUORUM.
    let strict = dir.with_extension("strict-policy");
    let w3 = lines
        .lines()
        .nth(2)
        .unwrap()
        .rsplit_once(' ')
        .unwrap()
        .0
        .to_owned();
    fs::write(&strict, format!("{w3}\nquorum W3\n")).unwrap();
    let (c, v) = verify(&dir, &["--policy", strict.to_str().unwrap()]);
    assert_eq!((c, v["code"].as_str()), (1, Some("QUORUM")), "{v}");
}

/// The address of witness `i` (1-based) in the policy lines.
fn ws_addr(lines: &str, i: usize) -> String {
    let url = lines
        .lines()
        .nth(i - 1)
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap();
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

#[test]
fn slow_and_lying_witnesses_are_reported_and_never_trusted() {
    let (_t, dir) = ledger("ledger.example.org/liars", None);
    let d = dir.to_str().unwrap();
    ok(&ll(&["append", d], Some(&events(3, "l")), &[]));
    let key = log_key(&dir);
    let wdir = tmp().join("honest");
    let out = ok(&ll(
        &[
            "witness",
            "init",
            wdir.to_str().unwrap(),
            "--name",
            "honest.example",
        ],
        None,
        &[],
    ));
    let honest_key = out.lines().last().unwrap().to_owned();
    let honest = start(&wdir, &[&key], "127.0.0.1:0");
    let key_of = |name: &str| {
        let w = tmp().join(name);
        ok(&ll(
            &["witness", "init", w.to_str().unwrap(), "--name", name],
            None,
            &[],
        ))
        .lines()
        .last()
        .unwrap()
        .to_owned()
    };
    let slow = fake_witness(None);
    let liar = fake_witness(Some("HTTP/1.1 409 Conflict\r\nContent-Type: text/x.tlog.size\r\nContent-Length: 7\r\nConnection: close\r\n\r\n999999\n"));
    let forger = fake_witness(Some("HTTP/1.1 200 OK\r\nContent-Length: 40\r\nConnection: close\r\n\r\n— forger.example AAAAAAAAAAAAAAAAAAAA=\n"));
    let policy = dir.with_extension("policy");
    fs::write(
        &policy,
        format!(
            "witness H {honest_key} http://{}/\nwitness S {} http://{slow}/\nwitness L {} http://{liar}/\nwitness F {} http://{forger}/\ngroup g 2 H S L F\nquorum g\n",
            honest.1,
            key_of("slow.example"),
            key_of("liar.example"),
            key_of("forger.example"),
        ),
    )
    .unwrap();
    // The slow witness never answers: its deadline ends its turn (it failed, it is not
    // waited for), whatever the machine's speed.
    let o = ll(
        &["policy", d, policy.to_str().unwrap()],
        None,
        &[("LIVELEDGER_WITNESS_TIMEOUT_MS", "700")],
    );
    assert_eq!(code(&o), 5, "only the honest witness cosigned: below 2");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("witness H: cosigned"), "{err}");
    assert!(err.contains("witness S: failed"), "{err}");
    assert!(
        err.contains("witness L: INCIDENT") && err.contains("999999"),
        "{err}"
    );
    assert!(
        err.contains("witness F: failed") && err.contains("does not verify"),
        "{err}"
    );
    // The published digest is still the one from before the policy, which the metadata's
    // new policy now refuses: verifiers say so rather than trust it.
    let (c, v) = verify(&dir, &["--no-witness-check"]);
    assert_eq!((c, v["code"].as_str()), (1, Some("QUORUM")), "{v}");
    // A quorum met without the slow witness does not wait for it.
    fs::write(
        &policy,
        format!("witness H {honest_key} http://{}/\nwitness S {} http://{slow}/\ngroup g any H S\nquorum g\n", honest.1, key_of("slow2.example")),
    )
    .unwrap();
    // Had it waited for the slow witness, its deadline would have ended that witness's
    // turn first, and the answer would read "failed", not "no answer yet".
    let o = ll(
        &["policy", d, policy.to_str().unwrap()],
        None,
        &[("LIVELEDGER_WITNESS_TIMEOUT_MS", "60000")],
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("witness S: no answer yet"), "{err}");
    assert!(!err.contains("witness S: failed"), "{err}");
}

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[test]
fn a_split_view_is_caught_by_asking_the_witnesses_what_they_hold() {
    // A ledger whose policy needs any one of two witnesses; W2 is not up yet.
    let (_t, a) = ledger("ledger.example.org/split", None);
    let ad = a.to_str().unwrap();
    ok(&ll(&["append", ad], Some(&events(20, "shared")), &[]));
    let key = log_key(&a);
    let (w1dir, w1key) = new_witness();
    let (w2dir, w2key) = new_witness();
    let (addr1, addr2) = (free_addr(), free_addr());
    let w1 = start(&w1dir, &[&key], &addr1);
    let policy = a.with_extension("policy");
    fs::write(
        &policy,
        format!("witness W1 {w1key} http://{addr1}/\nwitness W2 {w2key} http://{addr2}/\ngroup any-one any W1 W2\nquorum any-one\n"),
    )
    .unwrap();
    ok(&ll(
        &["policy", ad, policy.to_str().unwrap()],
        None,
        &[("LIVELEDGER_WITNESS_TIMEOUT_MS", "500")],
    ));
    // The operator keeps a second history from the same keys.
    let b = a.parent().unwrap().join("other");
    copy_dir(&a, &b);
    copy_dir(&a.with_extension("keys"), &b.with_extension("keys"));
    let _ = fs::remove_file(b.with_extension("keys").join("lock"));
    let bd = b.to_str().unwrap();
    // History A grows, witnessed by W1...
    ok(&ll(
        &["append", ad],
        Some(&events(10, "A")),
        &[("LIVELEDGER_WITNESS_TIMEOUT_MS", "500")],
    ));
    drop(w1);
    // ...history B, shown to other visitors, is witnessed by W2, which never saw A.
    let w2 = start(&w2dir, &[&key], &addr2);
    ok(&ll(
        &["append", bd],
        Some(&events(20, "B")),
        &[("LIVELEDGER_WITNESS_TIMEOUT_MS", "500")],
    ));
    let w1 = start(&w1dir, &[&key], &addr1);
    // B meets its quorum (W2 cosigned), so alone it verifies; but W1 holds A's checkpoint
    // of size 31, which B's (41) does not extend: FORK, with both checkpoints.
    let (c, v) = verify(&b, &["--no-witness-check"]);
    assert_eq!((c, v["size"].as_u64()), (0, Some(41)), "{v}");
    let (c, v) = verify(&b, &[]);
    assert_eq!((c, v["code"].as_str()), (1, Some("FORK")), "{v}");
    assert_eq!(v["consistency"]["witness"], "W1", "{v}");
    assert!(v["consistency"]["old_checkpoint"]
        .as_str()
        .unwrap()
        .contains("\n31\n"));
    assert!(v["consistency"]["new_checkpoint"]
        .as_str()
        .unwrap()
        .contains("\n41\n"));
    let o = ll(&["verify", bd], None, &[]);
    assert_eq!(code(&o), 1);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("split view"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A's visitors: W1's view is consistent; W2 holds a larger checkpoint of another
    // history whose tiles A does not serve: said, not provable from here.
    let (c, v) = verify(&a, &[]);
    assert_eq!(c, 0, "{v}");
    let views = v["witnesses"]["views"].as_array().unwrap();
    assert_eq!(views[0]["consistent"], true, "{v}");
    assert_eq!(views[1]["size"], 41, "{v}");
    assert!(
        views[1]["note"]
            .as_str()
            .unwrap()
            .contains("could not be checked"),
        "{v}"
    );
    drop((w1, w2));
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            fs::copy(&p, &dest).unwrap();
        }
    }
}
