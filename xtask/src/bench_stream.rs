//! `cargo xtask bench-stream`: the publisher beyond one machine (issue #19), in one run on
//! 127.0.0.1:
//! - `liveledger append` to a ledger on disk and to one whose tree is in an object store
//!   (SeaweedFS's S3, `weed mini`, telemetry off): one event per call (each a durable
//!   append and a published digest), and batches of 10,000 events;
//! - `liveledger ingest` from a Kafka topic (Tansu, in memory; produced by the cli crate's
//!   `produce` example) of 50,000 messages into a
//!   ledger on disk and into one in the bucket, from its start until its last batch is in
//!   a published, signed checkpoint.
//!
//! Results go to docs/BENCHMARKS.md between `<!-- bench-stream -->` markers.

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use super::bench_witness::{measure_appends, Killed, BIN};
use super::*;

const MESSAGES: u64 = 50_000;
const KEY: &str = "ll-bench";
const SECRET: &str = "ll-bench-secret";

fn free_port() -> Result<u16> {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let p = l.local_addr().map_err(|e| e.to_string())?.port();
        // SeaweedFS puts each service's gRPC port at +10000.
        if p < 55000 && TcpListener::bind(("127.0.0.1", p + 10000)).is_ok() {
            return Ok(p);
        }
    }
}

fn s3_env(s3: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", s3.to_owned()),
        ("AWS_ACCESS_KEY_ID", KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ]
}

/// `weed mini` on 127.0.0.1 (telemetry off), and its S3 endpoint once it takes a ledger.
fn start_weed(work: &Path) -> Result<(Killed, String)> {
    let data = work.join("weed");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let config = work.join("s3.json");
    std::fs::write(
        &config,
        format!(r#"{{"identities": [{{"name": "bench", "credentials": [{{"accessKey": "{KEY}", "secretKey": "{SECRET}"}}], "actions": ["Admin", "Read", "List", "Tagging", "Write"]}}]}}"#),
    )
    .map_err(|e| e.to_string())?;
    let s3 = free_port()?;
    let mut args = vec![
        "mini".to_owned(),
        format!("-dir={}", data.display()),
        "-ip=127.0.0.1".into(),
        "-ip.bind=127.0.0.1".into(),
        "-master.telemetry=false".into(),
        "-admin.ui=false".into(),
        "-webdav=false".into(),
        format!("-s3.config={}", config.display()),
        format!("-s3.port={s3}"),
    ];
    for flag in [
        "master.port",
        "volume.port",
        "filer.port",
        "admin.port",
        "s3.port.iceberg",
        "s3.port.lance",
        "debug.port",
    ] {
        args.push(format!("-{flag}={}", free_port()?));
    }
    let child = Command::new(format!("{WEED_VENV}/bin/weed"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("weed: {e}"))?;
    let weed = Killed(child);
    let url = format!("http://127.0.0.1:{s3}");
    // Ready when a (throwaway) ledger can be made in it.
    let env = s3_env(&url);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let t = Instant::now();
    for i in 0.. {
        let probe = work.join(format!("probe-{i}"));
        let ok = Command::new(BIN)
            .args([
                "init",
                &probe.to_string_lossy(),
                "--origin",
                "probe.bench.example/l",
                "--store",
                &format!("s3://bench/probe-{i}"),
            ])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            break;
        }
        if t.elapsed() > Duration::from_secs(60) {
            return Err("SeaweedFS did not take a ledger within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok((weed, url))
}

/// Tansu on 127.0.0.1 (in memory), and its address.
fn start_tansu() -> Result<(Killed, String)> {
    let port = free_port()?;
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new("target/tools/tansu/tansu")
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
        .map_err(|e| format!("tansu: {e}"))?;
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if t.elapsed() > Duration::from_secs(30) {
            return Err("Tansu did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((Killed(child), format!("127.0.0.1:{port}")))
}

/// A fresh ledger at `dir` (its tree in `store`, if given).
fn init(dir: &Path, store: Option<&str>, env: &[(&str, &str)]) -> Result {
    let keys = PathBuf::from(format!("{}.keys", dir.display()));
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(&keys);
    let mut args = vec![
        "init".to_owned(),
        dir.to_string_lossy().into_owned(),
        "--origin".into(),
        "bench.liveledger.example/stream".into(),
    ];
    if let Some(s) = store {
        args.extend(["--store".to_owned(), s.to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    super::run(BIN, &args, env)
}

/// `liveledger ingest` of the whole topic: seconds from its start to its last published
/// batch.
fn ingest(dir: &Path, brokers: &str, topic: &str, env: &[(&str, &str)]) -> Result<f64> {
    let t = Instant::now();
    let batches = MESSAGES.div_ceil(1000).to_string();
    super::run(
        BIN,
        &[
            "ingest",
            &dir.to_string_lossy(),
            "--brokers",
            brokers,
            "--topic",
            topic,
            "--batch",
            "1000",
            "--max-batches",
            &batches,
        ],
        env,
    )?;
    let secs = t.elapsed().as_secs_f64();
    let out = Command::new(BIN)
        .args(["verify", &dir.to_string_lossy(), "--json"])
        .envs(env.iter().copied())
        .output()
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("verify: {e}"))?;
    if v["verified"] != true || v["size"].as_u64() != Some(MESSAGES + 1) {
        return Err(format!(
            "the ingested ledger did not verify with {} events: {v}",
            MESSAGES + 1
        ));
    }
    Ok(secs)
}

pub fn run(_args: &[String]) -> Result {
    ensure_seaweedfs()?;
    ensure_tansu()?;
    super::run(
        "cargo",
        &["build", "--release", "-p", "liveledger-cli"],
        &[],
    )?;
    let work = std::fs::canonicalize("target")
        .map_err(|e| e.to_string())?
        .join("bench/stream");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let (_weed, s3) = start_weed(&work)?;
    let env = s3_env(&s3);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    eprintln!("appends to disk");
    let disk = work.join("disk");
    init(&disk, None, &[])?;
    let (d1, dn) = measure_appends(&disk, 100, &[])?;
    eprintln!("appends to the bucket");
    let bucket = work.join("bucket");
    init(&bucket, Some("s3://bench/appends"), &env)?;
    let (b1, bn) = measure_appends(&bucket, 100, &env)?;

    eprintln!("ingest from Kafka: producing {MESSAGES} messages");
    let (_tansu, brokers) = start_tansu()?;
    let broker_url = format!("tcp://{brokers}");
    super::run(
        "target/tools/tansu/tansu",
        &[
            "topic",
            "create",
            "payments",
            "--partitions",
            "1",
            "--broker",
            &broker_url,
        ],
        &[],
    )?;
    // rskafka, in batches of 1,000 (`tansu cat produce` numbers a batch's records wrongly).
    super::run(
        "target/release/examples/produce",
        &[&brokers, "payments", &MESSAGES.to_string()],
        &[],
    )?;
    eprintln!("ingest into a ledger on disk");
    let into_disk = work.join("ingest-disk");
    init(&into_disk, None, &[])?;
    let id = ingest(&into_disk, &brokers, "payments", &[])?;
    eprintln!("ingest into a ledger in the bucket");
    let into_bucket = work.join("ingest-bucket");
    init(&into_bucket, Some("s3://bench/ingest"), &env)?;
    let ib = ingest(&into_bucket, &brokers, "payments", &env)?;
    let m = MESSAGES as f64;
    let body = format!(
        "Last run: `cargo xtask bench-stream` — on 127.0.0.1, in one run: `liveledger append` \
         (each call a durable append and a published digest) to a ledger on disk and to one \
         whose tree is in SeaweedFS's S3 (`weed mini`, one machine, its volume on the same \
         disk); then `liveledger ingest` of a Kafka topic (Tansu, in memory, one partition) \
         of {MESSAGES} messages in batches of 1,000, from the command's start until its last \
         batch is in a published, signed checkpoint (and `verify` agrees).\n\n\
         | | disk | bucket (S3) | bucket ÷ disk |\n|---|---|---|---|\n\
         | append, one event per call (100 calls) | {d1:.1} calls/s | {b1:.1} calls/s | {:.2}× |\n\
         | append, 10 batches of 10,000 events | {dn:.0} events/s | {bn:.0} events/s | {:.2}× |\n\
         | ingest {MESSAGES} messages from Kafka | {:.0} events/s | {:.0} events/s | {:.2}× |\n",
        b1 / d1,
        bn / dn,
        m / id,
        m / ib,
        id / ib,
    );
    print!("{body}");
    super::write_section("bench-stream", &body)
}
