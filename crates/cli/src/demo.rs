//! `liveledger demo`: a realistic ledger that keeps growing, served over HTTP.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

use liveledger_core::event::{Change, EventDraft};
use liveledger_core::layout;
use liveledger_core::note::MAX_NOTE_SIZE;
use liveledger_publisher::{self as ledger, InitOptions, Pending, Writer};
use liveledger_server as server;
use liveledger_store::Store;
use liveledger_witness as witness;

use crate::error::{Error, Result};

pub const ORIGIN: &str = "demo.liveledger.example/ledger";

/// A small deterministic generator (the demo needs variety, not secrecy).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn pending(line: usize, v: Value) -> Result<Pending> {
    ledger::pending(line, v, None)
}

fn event(r: &mut Lcg, n: u64) -> Value {
    match r.next() % 10 {
        0..=4 => json!({
            "kind": "payment", "source": r.pick(&["erp-eu", "erp-us"]),
            "key": format!("invoice/2026-{:04}", n),
            "body": {"amount": format!("{}.{:02}", 50 + r.next() % 20000, r.next() % 100),
                     "currency": r.pick(&["EUR", "USD", "CHF"]),
                     "payer": r.pick(&["ACME GmbH", "Globex Corp", "Initech SA", "Umbrella plc"])}
        }),
        5..=7 => json!({
            "kind": "custody.transfer", "source": "custody-vault",
            "key": format!("asset/{}", r.next() % 40),
            "body": {"from": r.pick(&["vault-a", "vault-b", "courier-7"]), "to": r.pick(&["vault-c", "branch-12", "auditor-desk"]),
                     "seal": format!("S-{:06}", r.next() % 1_000_000)}
        }),
        _ => json!({
            "kind": "audit.record", "source": "audit-trail",
            "body": {"check": r.pick(&["reconciliation", "access-review", "stock-count"]), "result": r.pick(&["pass", "pass", "pass", "finding"])}
        }),
    }
}

/// Creates the demo ledger in `dir` (replacing an earlier demo there).
pub fn create(dir: &Path) -> Result<Store> {
    let store = Store::new(dir, None)?;
    for d in [&store.dir, &store.keys] {
        if d.exists() {
            let marker = store.keys.join("demo");
            if !marker.exists() {
                return Err(Error::Usage(format!(
                    "{} exists and is not a demo ledger; pick another --dir",
                    d.display()
                )));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&store.dir);
    let _ = std::fs::remove_dir_all(&store.keys);
    ledger::init(
        &store,
        InitOptions {
            origin: ORIGIN.into(),
            author: "alice@treasury.example".into(),
            cadence_seconds: 10,
            raw: false,
            log_key: None,
            witnesses: vec![],
            witness_threshold: 0,
        },
    )?;
    liveledger_store::write_atomic(&store.keys.join("demo"), b"created by liveledger demo\n")?;
    let mut w = Writer::open(&store)?;
    let alice = w.author(Some("alice@treasury.example"))?;
    w.add_author("bob@payments.example", "writer", &alice)?;
    w.add_author("carol@custody.example", "writer", &alice)?;
    let bob = w.author(Some("bob@payments.example"))?;
    let carol = w.author(Some("carol@custody.example"))?;
    let mut r = Lcg(2026);
    for batch in 0..12u64 {
        let mut pay = Vec::new();
        let mut cust = Vec::new();
        for i in 0..30u64 {
            let n = batch * 30 + i;
            let v = event(&mut r, n);
            if v["source"] == "custody-vault" {
                cust.push(pending(cust.len() + 1, v)?)
            } else {
                pay.push(pending(pay.len() + 1, v)?)
            }
        }
        w.append(pay, &bob)?;
        w.append(cust, &carol)?;
    }
    // Corrections: an amended amount and a voided duplicate, and one private payload.
    let amend_target = first_of_kind(&w, "payment")?;
    let t = w.event(amend_target)?;
    let mut body = match &t.payload {
        liveledger_core::event::Payload::Body(b) => b.clone(),
        _ => json!({}),
    };
    body["amount"] = json!("1.00");
    let correct = |draft| Pending {
        line: 1,
        draft,
        private: None,
    };
    let amount = EventDraft::correction(
        &t,
        Change::Amend(body),
        Some("amount keyed in the wrong currency unit"),
    );
    w.append(vec![correct(amount)], &bob)?;
    let duplicate = w.event(amend_target + 3)?;
    let void = EventDraft::correction(&duplicate, Change::Void, Some("duplicate entry"));
    w.append(vec![correct(void)], &bob)?;
    w.append(
        vec![pending(
            1,
            json!({"kind": "kyc.record", "source": "compliance", "key": "customer/4711",
        "private": {"name": "Erika Mustermann", "iban": "DE89 3704 0044 0532 0130 00"}}),
        )?],
        &alice,
    )?;
    Ok(store)
}

fn first_of_kind(w: &Writer, kind: &str) -> Result<u64> {
    (0..w.size())
        .find(|&s| w.event(s).is_ok_and(|e| e.kind == kind))
        .ok_or_else(|| Error::Corrupt("demo ledger has no payment".into()))
}

/// Another history from the same log key, as whoever holds the key but not the
/// witnesses could make one: the ledger as it is now (before its witness policy) copied
/// to `DIR.fork` (and `DIR.fork.keys`), and three other events appended there.
fn fork_aside(store: &Store) -> Result<Store> {
    let fork = Store::new(&store.dir.with_extension("fork"), None)?;
    for (from, to) in [(&store.dir, &fork.dir), (&store.keys, &fork.keys)] {
        let _ = std::fs::remove_dir_all(to);
        for f in walk(from)? {
            let dest = to.join(f.strip_prefix(from).unwrap_or(&f));
            if let Some(p) = dest.parent() {
                std::fs::create_dir_all(p).map_err(|x| Error::io(p, x))?;
            }
            std::fs::copy(&f, &dest).map_err(|x| Error::io(&f, x))?;
        }
    }
    let _ = std::fs::remove_file(fork.keys.join("lock"));
    let mut w = Writer::open(&fork)?;
    let bob = w.author(Some("bob@payments.example"))?;
    let batch = (0..3)
        .map(|i| {
            pending(
                i + 1,
                json!({"kind": "payment", "source": "erp-eu", "key": format!("invoice/2026-other-{i}"),
                       "body": {"amount": "9999.00", "currency": "EUR", "payer": "Shell Company Ltd"}}),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    w.append(batch, &bob)?;
    Ok(fork)
}

/// Publishes the other history under `forked/`: its tree and checkpoint, and the
/// ledger's metadata, which names the witness policy. No witness that holds the real
/// history cosigns the other one, so its checkpoint is signed by the log key alone and
/// every verifier says it is not witnessed.
fn publish_fork(store: &Store, fork: &Store) -> Result<()> {
    let to = store.dir.join("forked");
    let _ = std::fs::remove_dir_all(&to);
    for f in walk(&fork.dir)? {
        let rel = f.strip_prefix(&fork.dir).unwrap_or(&f);
        if !(rel.starts_with("tile") || rel == Path::new(layout::CHECKPOINT)) {
            continue;
        }
        let dest = to.join(rel);
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p).map_err(|x| Error::io(p, x))?;
        }
        std::fs::copy(&f, &dest).map_err(|x| Error::io(&f, x))?;
    }
    let meta = store.read(layout::METADATA, MAX_NOTE_SIZE as u64)?;
    liveledger_store::write_atomic(&to.join(layout::METADATA), &meta)?;
    Ok(())
}

/// Publishes a copy of the ledger as it is now under `tampered/`, with one byte of an
/// event in segment 1 changed, so the demo can show what an alarm looks like.
fn tampered_copy(dir: &Path) -> Result<()> {
    let to = dir.join("tampered");
    let _ = std::fs::remove_dir_all(&to);
    for f in walk(dir)? {
        let rel = f.strip_prefix(dir).unwrap_or(&f);
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("");
        if ![layout::CHECKPOINT, layout::METADATA, "tile"].contains(&top) {
            continue;
        }
        let dest = to.join(rel);
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p).map_err(|x| Error::io(p, x))?;
        }
        std::fs::copy(&f, &dest).map_err(|x| Error::io(&f, x))?;
    }
    let cp = std::fs::read_to_string(to.join(layout::CHECKPOINT)).map_err(|x| Error::io(&to, x))?;
    let size = cp
        .lines()
        .nth(1)
        .and_then(liveledger_core::checkpoint::parse_decimal)
        .unwrap_or(0);
    let path = liveledger_core::tiles::bundle_at(size, 1)
        .map_err(|_| Error::Corrupt("the demo ledger has no segment 1".into()))?;
    let seg = to.join(path.to_string());
    let mut b = std::fs::read(&seg).map_err(|x| Error::io(&seg, x))?;
    // Change one digit of an amount in the middle of the segment.
    let mid = b.len() / 2;
    if let Some(i) = b[mid..].iter().position(u8::is_ascii_digit) {
        b[mid + i] = if b[mid + i] == b'9' {
            b'1'
        } else {
            b[mid + i] + 1
        };
    }
    liveledger_store::write_atomic(&seg, &b)
}

/// Copies the built browser verifier (if any) into the published directory.
pub fn install_app(app: &Path, dir: &Path) -> Result<()> {
    for e in walk(app)? {
        let rel = e.strip_prefix(app).unwrap_or(&e);
        let to = dir.join(rel);
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).map_err(|x| Error::io(p, x))?;
        }
        std::fs::copy(&e, &to).map_err(|x| Error::io(&e, x))?;
    }
    Ok(())
}

fn walk(d: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).map_err(|x| Error::io(d, x))?.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p)?)
        } else {
            out.push(p)
        }
    }
    Ok(out)
}

/// The demo's witnesses: three `liveledger witness` servers on 127.0.0.1 (fresh
/// directories beside the ledger, recreated with it), and a 2-of-3 policy naming them,
/// set on the ledger and published at once. Returns their URLs.
/// The demo's witnesses: each one's URL and its server.
fn start_witnesses(store: &Store) -> Result<Vec<(String, server::Running)>> {
    let mut w = Writer::open(store)?;
    let log = w.meta.log_keys[0].clone();
    let mut urls = Vec::new();
    let mut policy = format!("log {log}\n");
    for i in 1..=3 {
        let wdir = store.dir.with_extension(format!("witness{i}"));
        let _ = std::fs::remove_dir_all(&wdir);
        let keys = witness::init(&wdir, &format!("witness{i}.demo.liveledger.example"))?;
        // The third witness is named by its ML-DSA-44 key: the page verifies both types.
        let vkey = if i == 3 { keys.mldsa } else { keys.ed25519 };
        let witness = std::sync::Arc::new(witness::Witness::open(&wdir, vec![log.clone()])?);
        let running = server::start(server::Options {
            root: None,
            routes: Some(witness::router(witness.clone())),
            addr: "127.0.0.1:0".into(),
            tls: None,
            access_log: server::AccessLog::Off,
            metrics_addr: None,
            api: None,
            limits: server::Limits::default(),
            metrics_of: Vec::new(),
        })?;
        let url = running.urls[0].clone();
        let _ = witness.url.set(url.clone());
        policy += &format!("witness W{i} {vkey} {url}\n");
        urls.push((url, running));
    }
    policy += "group two-of-three 2 W1 W2 W3\nquorum two-of-three\n";
    w.set_policy(policy.as_bytes())?;
    w.republish()?;
    match &w.witnessed {
        Some(g) if g.met => Ok(urls),
        Some(g) => Err(Error::Io(format!(
            "the demo's witnesses did not cosign: {}",
            g.summary().join("; ")
        ))),
        None => Err(Error::Corrupt("the demo's policy asks no witness".into())),
    }
}

/// The demo stops its third witness after this many appends, to show a witness down.
const WITNESS_DOWN_AFTER: u64 = 3;

/// Runs the demo: create, serve, and append a few events every `interval`.
pub fn run(
    dir: &Path,
    addr: &str,
    interval: Duration,
    app: Option<&Path>,
    max_rounds: Option<u64>,
    embed: Option<(&Path, &str)>,
) -> Result<()> {
    let store = create(dir)?;
    let fork = fork_aside(&store)?;
    let mut witnesses = start_witnesses(&store)?;
    if let Some(app) = app {
        install_app(app, &store.dir)?;
    }
    tampered_copy(&store.dir)?;
    publish_fork(&store, &fork)?;
    let bound = server::start_files(&store.dir, addr)?;
    let size = Writer::open(&store)?.size();
    println!(
        "Live Ledger demo: {size} events, growing every {} s",
        interval.as_secs_f32()
    );
    println!("  ledger   http://{bound}/");
    println!("  tampered http://{bound}/tampered/  (a copy with one byte changed in segment 1)");
    println!("  forked   http://{bound}/forked/  (another history from the same key; no witness cosigned it)");
    println!("  verify   liveledger verify http://{bound}/");
    let urls: Vec<&str> = witnesses.iter().map(|(u, _)| u.as_str()).collect();
    println!(
        "  witnesses {} (every digest is published once 2 of the 3 cosigned; W3 goes down after {WITNESS_DOWN_AFTER} appends)",
        urls.join(" ")
    );
    if let Some((site, eaddr)) = embed {
        let e = server::start_files(site, eaddr)?;
        println!(
            "  portal   http://{e}/?ledger=http://{bound}/  (the embed example, on another origin)"
        );
    }
    let mut r = Lcg(7);
    let mut round = 0;
    loop {
        thread::sleep(interval);
        round += 1;
        let mut w = Writer::open(&store)?;
        let who = w.author(Some(if round % 2 == 0 {
            "carol@custody.example"
        } else {
            "bob@payments.example"
        }))?;
        let n = 1 + r.next() % 3;
        let mut batch = Vec::new();
        for i in 0..n {
            let mut v = event(&mut r, 10_000 + round * 10 + i);
            if round % 2 == 0 {
                v["source"] = json!("custody-vault");
                v["kind"] = json!("custody.transfer");
            }
            batch.push(pending(i as usize + 1, v)?);
        }
        if round == WITNESS_DOWN_AFTER + 1 {
            if let Some((url, w3)) = witnesses.pop() {
                w3.shutdown();
                println!("  witness W3 ({url}) went down: digests go on with W1 and W2, 2 of 3");
            }
        }
        let seqs = w.append(batch, &who)?;
        println!(
            "  appended events {}..={} — new digest of size {}",
            seqs[0].seq,
            seqs[seqs.len() - 1].seq,
            w.size()
        );
        if max_rounds.is_some_and(|m| round >= m) {
            return Ok(());
        }
    }
}
