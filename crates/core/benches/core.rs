//! Benchmarks of liveledger-core: leaf hashing, frontier building, and a full streaming
//! audit of a generated 1,000,000-entry log (opaque entries of JSON-like size, as in the
//! reference measurement of golang.org/x/mod on a 92 MB log).
//!
//! The audit benchmark also reports the auditor's peak heap: a counting allocator tracks
//! bytes allocated while the audit runs, so the generated log held in memory as input is
//! not counted. The same allocator reports what the state replay holds at a million keys.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use liveledger_core::audit::{Auditor, Level};
use liveledger_core::checkpoint::VerifiedCheckpoint;
use liveledger_core::event::{genesis_prev, ChainVerifier, EventDraft, Replay, UnverifiedEvent};
use liveledger_core::hash::leaf_hash;
use liveledger_core::merkle::Frontier;
use liveledger_core::note::{Note, SignerKey};
use liveledger_core::tiles::TilePath;
use liveledger_core::time::Timestamp;
use liveledger_core::writer::LogWriter;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const N: u64 = 1_000_000;
const ORIGIN: &str = "bench.example.org/log";

/// About 92 bytes per entry, like the reference's JSON log.
fn entry(i: u64) -> Vec<u8> {
    format!("{{\"seq\":{i},\"kind\":\"payment\",\"source\":\"erp-eu\",\"amount\":\"{}.{:02}\",\"currency\":\"EUR\"}}", i * 7 % 100000, i % 100)
        .into_bytes()
}

struct Log {
    files: std::collections::HashMap<TilePath, Vec<u8>>,
    checkpoint: Vec<u8>,
    key: SignerKey,
    bytes: u64,
}

fn generate() -> Log {
    let key = SignerKey::from_seed(ORIGIN, 1, [1; 32]).unwrap();
    let mut w = LogWriter::new();
    let mut files = std::collections::HashMap::new();
    let mut bytes = 0;
    for i in 0..N {
        let e = entry(i);
        bytes += e.len() as u64;
        for (p, b) in w.append(&e).unwrap() {
            files.insert(p, b);
        }
    }
    for (p, b) in w.partial_files().unwrap() {
        files.insert(p, b);
    }
    let note = Note::sign(&w.checkpoint(ORIGIN, vec![]).to_text(), &[&key], 0).unwrap();
    Log {
        files,
        checkpoint: note.to_bytes(),
        key,
        bytes,
    }
}

fn audit(log: &Log, check_tiles: bool) -> u64 {
    let cp = VerifiedCheckpoint::open(&log.checkpoint, &[log.key.verifier()], ORIGIN).unwrap();
    let mut a = Auditor::new(&cp, Level::Log, check_tiles);
    while let Some(step) = a.next_step() {
        a.feed_all(&log.files[&step.path()]).unwrap();
    }
    assert!(a.is_done());
    a.stats().entries
}

fn benches(c: &mut Criterion) {
    let entries: Vec<Vec<u8>> = (0..100_000).map(entry).collect();
    let mut g = c.benchmark_group("hashing");
    g.throughput(Throughput::Elements(entries.len() as u64));
    g.bench_function("leaf_hash 100k entries of ~92 B", |b| {
        b.iter(|| {
            entries
                .iter()
                .map(|e| leaf_hash(e).0[0] as u64)
                .sum::<u64>()
        })
    });
    let leaves: Vec<_> = entries.iter().map(|e| leaf_hash(e)).collect();
    g.bench_function("frontier of 100k leaves", |b| {
        b.iter(|| {
            let mut f = Frontier::new();
            for l in &leaves {
                f.push(*l);
            }
            f.root()
        })
    });
    g.finish();

    let log = generate();
    let mut g = c.benchmark_group("full audit, 1M entries");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(2));
    g.throughput(Throughput::Elements(N));
    for check_tiles in [false, true] {
        let name = if check_tiles {
            "log level, every tile compared"
        } else {
            "log level, root only"
        };
        // Peak heap of one audit, measured outside the timed loop.
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        audit(&log, check_tiles);
        let peak = PEAK.load(Ordering::Relaxed) - base;
        eprintln!(
            "{name}: auditor peak heap {:.1} KiB for {} entries ({:.1} MB of entries)",
            peak as f64 / 1024.0,
            N,
            log.bytes as f64 / 1e6
        );
        g.bench_function(name, |b| {
            b.iter_batched(
                || (),
                |()| audit(&log, check_tiles),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// A signed ledger of `n` events: genesis, then payments by one writer, about 420 bytes
/// each like the CLI's.
fn signed_events(n: u64) -> Vec<Vec<u8>> {
    let admin = SignerKey::from_seed("admin@bench.example.org", 1, [2; 32]).unwrap();
    let writer = SignerKey::from_seed("erp@bench.example.org", 1, [3; 32]).unwrap();
    let genesis = EventDraft {
        kind: "ledger.genesis".into(),
        source: "bench".into(),
        body: Some(serde_json::json!({
            "origin": ORIGIN,
            "keys": [
                {"key": admin.verifier().to_string(), "role": "admin"},
                {"key": writer.verifier().to_string(), "role": "writer"},
            ],
            "log_keys": [admin.verifier().to_string()],
        })),
        ..Default::default()
    };
    let mut prev = genesis_prev(ORIGIN);
    let mut out = Vec::new();
    for i in 0..n {
        let t = Timestamp::from_unix(1_790_000_000 + i as i64, 0).unwrap();
        let bytes = if i == 0 {
            genesis.sign(0, t, prev, &admin).unwrap()
        } else {
            let d = EventDraft {
                kind: "payment".into(),
                source: "erp-eu".into(),
                key: Some(format!("invoice/{i}")),
                body: Some(
                    serde_json::json!({"amount": format!("{}.{:02}", i * 7 % 100000, i % 100), "currency": "EUR", "customer": "c-1234567", "memo": "monthly subscription, plan B"}),
                ),
                ..Default::default()
            };
            d.sign(i, t, prev, &writer).unwrap()
        };
        prev = leaf_hash(&bytes);
        out.push(bytes);
    }
    out
}

/// What one signed event costs a verifier, split: parsing it, checking the chain rules
/// with the signature check handed out (what the page's thread does when workers verify
/// signatures), and the whole inline check with `verify_strict`.
fn event_benches(c: &mut Criterion) {
    let events = signed_events(10_000);
    let bytes: usize = events.iter().map(Vec::len).sum();
    eprintln!(
        "signed events: {} events, {:.0} bytes each on average",
        events.len(),
        bytes as f64 / events.len() as f64
    );
    let mut g = c.benchmark_group("signed events, 10k");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| UnverifiedEvent::parse(e).unwrap().seq)
                .sum::<u64>()
        })
    });
    g.bench_function("chain rules, signature handed out", |b| {
        b.iter(|| {
            let mut c = ChainVerifier::new(ORIGIN);
            events
                .iter()
                .map(|e| c.check_deferred(e, leaf_hash(e)).unwrap().1.message().len())
                .sum::<usize>()
        })
    });
    g.bench_function("chain rules and verify_strict", |b| {
        b.iter(|| {
            let mut c = ChainVerifier::new(ORIGIN);
            events
                .iter()
                .map(|e| c.check(e, leaf_hash(e)).unwrap().event().seq)
                .sum::<u64>()
        })
    });
    g.finish();
}

/// The state replay's heap at a million keyed events, each setting a key of its own (the
/// worst case: the state has as many keys as the ledger has events), as the page's state
/// view holds it. Reported, not timed.
fn replay_memory(_: &mut Criterion) {
    let one = UnverifiedEvent::parse(&signed_events(2)[1]).unwrap();
    let events = (1..=N).map(|i| {
        let mut e = one.clone();
        e.seq = i;
        e.key = Some(format!("invoice/{i}"));
        e
    });
    let mut r = Replay::new();
    let base = LIVE.load(Ordering::Relaxed);
    for e in events {
        r.apply_event(&e);
    }
    let held = LIVE.load(Ordering::Relaxed) - base;
    eprintln!(
        "state replay: {:.1} MB held for {N} keyed events of distinct keys, {:.0} bytes a key",
        held as f64 / 1e6,
        held as f64 / N as f64
    );
    assert_eq!(r.state_page(0).0 as u64, N);
}

criterion_group!(core, benches, event_benches, replay_memory);
criterion_main!(core);
