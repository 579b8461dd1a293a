//! `liveledger verify`: the full streaming audit of a directory or a URL.
//!
//! Trust: the log keys come from `--key` (pinned). Without `--key`, they come from the
//! ledger's own metadata, which is trust on first use: the report says so.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use liveledger_core::audit::history::{History, HistoryError, HistoryReport};
use liveledger_core::audit::resume::{ResumeError, ResumePoint, MAX_RESUME_POINT};
use liveledger_core::audit::views::{self, Answer, SplitView, View, WitnessViews};
use liveledger_core::audit::{AuditReport, Auditor, Consistency, ConsistencyError, Level, Step};
use liveledger_core::checkpoint::VerifiedCheckpoint;
use liveledger_core::freshness::Freshness;
use liveledger_core::note::VerifierKey;
use liveledger_core::sigcheck::{SignatureCheck, StrictVerifier};
use liveledger_core::tiles::TilePath;
use liveledger_core::trust::{KeySource, Trust, TrustError, TrustRequest};
use liveledger_core::verdict::{self, Code};
use serde_json::{json, Value};

use liveledger_store::Bucket;

use crate::error::{self, Error, Result};

/// Where a log is read from.
pub enum Source {
    Dir(PathBuf),
    Url(String),
    /// `s3://`, `az://` or `gs://BUCKET/PREFIX`, read with that cloud's credentials (a
    /// private bucket too).
    Bucket(std::sync::Arc<Bucket>),
}

const MAX_SMALL: u64 = 1 << 20;

impl Source {
    pub fn parse(s: &str) -> Result<Source> {
        Ok(if s.starts_with("http://") || s.starts_with("https://") {
            Source::Url(s.trim_end_matches('/').to_owned())
        } else if ["s3://", "az://", "gs://"].iter().any(|p| s.starts_with(p)) {
            Source::Bucket(std::sync::Arc::new(Bucket::open(s)?))
        } else {
            let d = PathBuf::from(s);
            // A ledger directory whose tree is in an object store: read the bucket.
            match d.join(liveledger_store::STORE_FILE).exists() {
                true => match liveledger_store::Store::new(&d, None)?.bucket() {
                    Some(b) => Source::Bucket(b.clone()),
                    None => Source::Dir(d),
                },
                false => Source::Dir(d),
            }
        })
    }

    fn describe(&self, path: &str) -> String {
        match self {
            Source::Dir(d) => d.join(path).display().to_string(),
            Source::Url(u) => format!("{u}/{path}"),
            Source::Bucket(b) => b.describe(path),
        }
    }

    /// Whether reads are remote (worth prefetching ahead).
    fn remote(&self) -> bool {
        !matches!(self, Source::Dir(_))
    }

    /// Opens a file as a reader. `Ok(None)` when it does not exist.
    fn open(&self, path: &str) -> Result<Option<Box<dyn Read>>> {
        match self {
            Source::Dir(d) => match File::open(d.join(path)) {
                Ok(f) => Ok(Some(Box::new(f))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io(&d.join(path), e)),
            },
            Source::Bucket(b) => Ok(b.get(path, u64::MAX)?.map(|v| {
                let r: Box<dyn Read> = Box::new(std::io::Cursor::new(v));
                r
            })),
            Source::Url(u) => {
                let url = format!("{u}/{path}");
                let mut tries = 0;
                loop {
                    tries += 1;
                    match ureq::get(&url).timeout(Duration::from_secs(30)).call() {
                        Ok(r) => return Ok(Some(Box::new(r.into_reader()))),
                        Err(ureq::Error::Status(404, _)) => return Ok(None),
                        Err(ureq::Error::Status(code, _)) if code < 500 || tries >= 3 => {
                            return Err(Error::Io(format!("{url}: HTTP {code}")))
                        }
                        Err(e) if tries >= 3 => return Err(Error::Io(format!("{url}: {e}"))),
                        Err(_) => std::thread::sleep(Duration::from_millis(200 * tries)),
                    }
                }
            }
        }
    }

    /// Reads a small file whole (checkpoints, keys, metadata).
    pub fn read_small(&self, path: &str) -> Result<Option<Vec<u8>>> {
        self.read_capped(path, MAX_SMALL)
    }

    /// Reads a file whole, refusing more than `cap` bytes.
    fn read_capped(&self, path: &str, cap: u64) -> Result<Option<Vec<u8>>> {
        if let Source::Bucket(b) = self {
            return b.get(path, cap);
        }
        let Some(r) = self.open(path)? else {
            return Ok(None);
        };
        let mut buf = Vec::new();
        r.take(cap + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Io(format!("{}: {e}", self.describe(path))))?;
        if buf.len() as u64 > cap {
            return Err(Error::Input(format!(
                "{} is larger than {cap} bytes",
                self.describe(path)
            )));
        }
        Ok(Some(buf))
    }

    fn require(&self, path: &str) -> Result<Vec<u8>> {
        self.read_small(path)?.ok_or_else(|| {
            Error::Refused(
                Code::NotFound,
                format!("{} does not exist", self.describe(path)),
            )
        })
    }
}

pub struct VerifyOptions {
    pub keys: Vec<String>,
    pub origin: Option<String>,
    pub since: Option<PathBuf>,
    /// A tlog-policy file whose quorum the checkpoint must meet (else the metadata's).
    pub policy: Option<PathBuf>,
    /// Do not ask the policy's witnesses what they hold (the split-view check).
    pub no_witness_check: bool,
    pub max_age: Option<Duration>,
    /// A stale digest is a note, not a failure.
    pub allow_stale: bool,
    pub log_only: bool,
    /// Check the newest N archived digests too.
    pub history: Option<usize>,
    /// A resume point to continue from (if the file exists) and to keep after.
    pub keep: Option<PathBuf>,
    pub json: bool,
    pub progress: bool,
    /// Signature-checking threads (None: one per core).
    pub threads: Option<usize>,
}

/// Parses `90s`, `15m`, `2h`, `7d`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| Error::Usage(format!("duration {s:?} is not like 90s, 15m, 2h or 7d")))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => {
            return Err(Error::Usage(format!(
                "duration {s:?} has unit {unit:?}; use s, m, h or d"
            )))
        }
    };
    Ok(Duration::from_secs(n.saturating_mul(mult)))
}

/// Runs the verification; returns the process exit code after printing the result. With
/// `--json`, a verification that cannot even start (bad metadata, a wrong key, a missing
/// checkpoint) is a JSON report too: `{"verified": false, "code", "message"}`.
pub fn run(target: &str, o: VerifyOptions) -> Result<i32> {
    match verify(target, &o) {
        Err(e) if o.json => {
            println!(
                "{}",
                json!({"verified": false, "code": error::code(&e).as_str(), "message": e.to_string()})
            );
            Ok(error::exit_code(&e))
        }
        r => r,
    }
}

fn verify(target: &str, o: &VerifyOptions) -> Result<i32> {
    let src = Source::parse(target)?;
    let mut notes: Vec<String> = Vec::new();
    let mut pinned: Vec<VerifierKey> = Vec::new();
    for k in &o.keys {
        pinned.push(VerifierKey::parse(k.trim()).map_err(|e| Error::Usage(format!("--key: {e}")))?);
    }
    // Every trust rule is the core's: pinned keys or the metadata on first use, the time
    // key, the origin, the level, the witness quorum.
    let policy = match &o.policy {
        None => None,
        Some(p) => {
            let text =
                liveledger_store::read_capped(p, liveledger_core::policy::MAX_POLICY as u64 + 1)?;
            Some(
                liveledger_core::policy::Policy::parse(&text)
                    .map_err(|e| Error::Usage(format!("--policy {}: {e}", p.display())))?,
            )
        }
    };
    let req = TrustRequest {
        pinned,
        origin: o.origin.clone(),
        level: o.log_only.then_some(Level::Log),
        policy,
    };
    let metadata = src.read_small("metadata")?;
    let t = Trust::establish(&req, metadata.as_deref()).map_err(|e| match e {
        TrustError::NoKey => Error::Refused(
            Code::NoKey,
            format!(
                "{} has no ledger metadata; pass the log's verifier key with --key",
                src.describe("")
            ),
        ),
        TrustError::Metadata(e) => {
            Error::Refused(Code::BadInput, format!("ledger metadata is malformed: {e}"))
        }
        e => Error::Refused(verdict::trust_code(&e), e.to_string()),
    })?;
    let trust = match t.source {
        KeySource::Pinned => "pinned",
        KeySource::FirstUse => {
            notes.push(format!(
                "trusting log key {} from the ledger's own metadata (trust on first use); pass --key to pin it",
                t.log_keys.iter().map(VerifierKey::short).collect::<Vec<_>>().join(", ")
            ));
            "metadata (trust on first use)"
        }
    };
    let keys = t.log_keys.clone();
    let origin = t.origin.clone();
    let cp_bytes = src.require("checkpoint")?;
    let cp = t
        .open_checkpoint(&cp_bytes)
        .map_err(|e| Error::Refused(verdict::trust_code(&e), e.to_string()))?;
    let signed_time = liveledger_core::freshness::signed_time(&cp, t.time_key.as_ref());
    // Who witnessed it (the quorum itself was enforced by open_checkpoint).
    let witnesses = match &t.quorum {
        None => Value::Null,
        Some((p, source)) => {
            let verified = cp.note().verified();
            let keys: Vec<VerifierKey> = verified.iter().map(|v| v.key.clone()).collect();
            let r = p.evaluate(&keys);
            if *source == liveledger_core::trust::QuorumSource::Metadata {
                notes.push(format!(
                    "enforcing the witness quorum {} from the ledger's own metadata; pass --policy to pin one",
                    r.rule
                ));
            }
            json!({
                "source": match source { liveledger_core::trust::QuorumSource::Pinned => "pinned", _ => "metadata" },
                "rule": r.rule,
                "met": r.met,
                "cosigned": r.witnesses.iter().filter(|w| w.2).count(),
                "list": r.witnesses.iter().map(|(name, key, c)| json!({
                    "name": name,
                    "key": key.to_string(),
                    "cosigned": c,
                    "time": verified.iter().find(|v| &v.key == key).and_then(|v| v.timestamp),
                })).collect::<Vec<_>>(),
            })
        }
    };

    let mut consistency = Value::Null;
    if let Some(path) = &o.since {
        let old_bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let old = t.open_past_checkpoint(&old_bytes).map_err(|e| {
            Error::Refused(Code::BadSince, format!("--since {}: {e}", path.display()))
        })?;
        if let Err(e) = extends(&src, &old, &cp, "--since")? {
            return inconsistent(
                o,
                &origin,
                &e,
                None,
                ("checkpoint trusted before", "checkpoint now"),
            );
        }
        consistency = json!({"since": old.size(), "now": cp.size(), "consistent": true});
    }

    // Split views: what each witness of the policy holds must be consistent with what
    // the log served us, either way round (the rule is core's `audit::views`).
    let mut views = Vec::new();
    if !o.no_witness_check {
        match witness_views(&src, &t, &cp) {
            Ok(v) => views = v,
            Err(split) => {
                return inconsistent(
                    o,
                    &origin,
                    &split.inconsistency,
                    Some(&split.witness),
                    ("checkpoint older", "checkpoint newer"),
                );
            }
        }
    }
    let views: Vec<Value> = views.iter().map(|v| v.to_json()).collect();
    for v in &views {
        if let Some(n) = v["note"].as_str() {
            notes.push(format!(
                "witness {}: {n}",
                v["name"].as_str().unwrap_or("?")
            ));
        }
    }

    // Staleness: core's rule (twice the ledger's cadence, or --max-age if stricter).
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let fresh = Freshness::judge(
        signed_time,
        now,
        t.cadence_seconds,
        o.max_age.map(|d| d.as_secs()),
    );
    let mut stale = fresh.reason();
    if o.allow_stale {
        if let Some(why) = stale.take() {
            notes.push(format!("stale (allowed): {why}"));
        }
    }

    let level = t.level;
    let threads = o
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return Err(Error::Usage("--threads must be at least 1".into()));
    }
    // A resume point kept by an earlier run (`--keep FILE`): the core checks it, the log
    // must extend its checkpoint, and then only the new entries are read.
    let mut resumed = Value::Null;
    let mut start = None;
    if let Some(file) = o.keep.as_ref().filter(|f| f.exists()) {
        let text = liveledger_store::read_capped(file, MAX_RESUME_POINT as u64 + 1)?;
        let point = std::str::from_utf8(&text)
            .map_err(|_| ResumeError::Malformed("not UTF-8".into()))
            .and_then(ResumePoint::parse);
        let kept = point.and_then(|p| Auditor::resume(&p, &t, &cp, level, true));
        match kept {
            // A rollback (or another tree of the kept size): an alarm, not a point to drop.
            Err(ResumeError::Inconsistent(e)) => {
                return inconsistent(
                    o,
                    &origin,
                    &e,
                    None,
                    ("checkpoint kept before", "checkpoint now"),
                );
            }
            Ok((a, old)) => {
                if let Err(e) = extends(&src, &old, &cp, "--keep")? {
                    return inconsistent(
                        o,
                        &origin,
                        &e,
                        None,
                        ("checkpoint kept before", "checkpoint now"),
                    );
                }
                resumed = json!({"from": old.size(), "file": file.display().to_string()});
                start = Some(a);
            }
            Err(e) => {
                notes.push(format!(
                    "the resume point in {} was not used ({e}); every entry is audited",
                    file.display()
                ));
                resumed = json!({"discarded": e.to_string(), "file": file.display().to_string()});
            }
        }
    }
    let a = start.unwrap_or_else(|| Auditor::new(&cp, level, true));
    let (report, point) = audit(&src, &cp, a, o.progress, threads)?;
    if let (Some(file), Some(p)) = (&o.keep, point) {
        liveledger_store::write_atomic(file, p.encode().as_bytes())?;
    }
    let history = o
        .history
        .map(|limit| history(&src, &t, &cp, limit))
        .transpose()?;
    let ok = report.failure.is_none()
        && stale.is_none()
        && history.as_ref().is_none_or(HistoryReport::verified);
    if o.json {
        let mut j = report_json(
            &report,
            trust,
            &keys,
            signed_time,
            &consistency,
            stale.as_deref(),
        );
        j["cadence_seconds"] = json!(t.cadence_seconds);
        j["resumed"] = resumed.clone();
        if let Some(h) = &history {
            j["history"] = history_json(h);
            if let Some(e) = h.failure.as_ref().filter(|_| j["verified"] == true) {
                j["verified"] = json!(false);
                j["code"] = json!(verdict::history_code(e).as_str());
            }
        }
        j["witnesses"] = witnesses;
        if !j["witnesses"].is_null() {
            j["witnesses"]["views"] = json!(views);
        }
        println!("{j}");
    } else {
        for n in &notes {
            eprintln!("liveledger: note: {n}");
        }
        print_human(&report, signed_time, &consistency, stale.as_deref());
        if let Some(from) = resumed["from"].as_u64() {
            println!(
                "  continued from {from} entries verified before (the resume point in {}): {} new entries audited",
                resumed["file"].as_str().unwrap_or(""),
                report.size.saturating_sub(from)
            );
        }
        if let Some(h) = &history {
            print_history(h);
        }
        if !witnesses.is_null() {
            println!(
                "  witnessed by {} of {} (quorum {})",
                witnesses["cosigned"],
                witnesses["list"].as_array().map_or(0, Vec::len),
                witnesses["rule"].as_str().unwrap_or("")
            );
        }
    }
    Ok(if ok { 0 } else { 1 })
}

/// Proves with the log's tiles that `cp` extends `old` (the core's `Consistency`): `Ok(Err)`
/// is the inconsistency, with both checkpoints and the proof; `Err` a tile that could not
/// be read or is malformed (named for `flag`).
fn extends(
    src: &Source,
    old: &VerifiedCheckpoint,
    cp: &VerifiedCheckpoint,
    flag: &str,
) -> Result<std::result::Result<(), Box<liveledger_core::audit::Inconsistency>>> {
    let refused =
        |e: ConsistencyError| Error::Refused(verdict::consistency_code(&e), format!("{flag}: {e}"));
    let mut c = Consistency::new(cp.size());
    for p in c.needed(old.size(), cp.size()).map_err(refused)? {
        let b = src.require(&p.to_string())?;
        c.feed(p, &b).map_err(refused)?;
    }
    match c.check(old, cp) {
        Ok(_) => Ok(Ok(())),
        Err(ConsistencyError::Inconsistent(e)) => Ok(Err(e)),
        Err(e) => Err(refused(e)),
    }
}

/// Archived digests fetched at once by `--history`.
const HISTORY_PARALLEL: usize = 8;

/// The digest archive, checked by the core's `audit::history` machine: this only moves
/// bytes. The index is read after the checkpoint, so one naming a newer digest may be a
/// publisher between its two writes: the checkpoint is read again (briefly) before the
/// machine calls that a rollback.
fn history(
    src: &Source,
    t: &Trust,
    cp: &VerifiedCheckpoint,
    limit: usize,
) -> Result<HistoryReport> {
    let index = src
        .read_capped(
            "digests/index.txt",
            liveledger_core::archive::MAX_DIGEST_INDEX as u64 + 1,
        )?
        .ok_or_else(|| {
            Error::Refused(
                Code::NotFound,
                format!(
                    "{} does not exist: the log publishes no digest archive",
                    src.describe("digests/index.txt")
                ),
            )
        })?;
    // A malformed index is a verdict on the archive, as any other failure of it.
    let damaged = |current: &VerifiedCheckpoint, e| HistoryReport {
        current: current.clone(),
        total: 0,
        rows: Vec::new(),
        failure: Some(e),
    };
    let mut h = match History::new(cp, &index, limit) {
        Ok(h) => h,
        Err(e) => return Ok(damaged(cp, e)),
    };
    for attempt in 1..=3u32 {
        if h.ahead_of_checkpoint().is_none() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100 * u64::from(attempt)));
        let now = t
            .open_checkpoint(&src.require("checkpoint")?)
            .map_err(|e| Error::Refused(verdict::trust_code(&e), e.to_string()))?;
        h = match History::new(&now, &index, limit) {
            Ok(h) => h,
            Err(e) => return Ok(damaged(&now, e)),
        };
    }
    let sizes = h.digests().to_vec();
    'digests: for chunk in sizes.chunks(HISTORY_PARALLEL) {
        let fetched: Vec<Result<Vec<u8>>> = std::thread::scope(|s| {
            let jobs: Vec<_> = chunk
                .iter()
                .map(|size| s.spawn(move || src.require(&format!("digests/{size}"))))
                .collect();
            jobs.into_iter()
                .map(|j| {
                    j.join()
                        .unwrap_or_else(|_| Err(Error::Io("a fetch thread panicked".into())))
                })
                .collect()
        });
        for (&size, bytes) in chunk.iter().zip(fetched) {
            if h.feed_digest(t, size, &bytes?).is_err() {
                break 'digests;
            }
        }
    }
    for p in h.tiles() {
        let b = src.require(&p.to_string())?;
        h.feed_tile(p, &b);
    }
    Ok(h.finish())
}

fn history_json(h: &HistoryReport) -> Value {
    json!({
        "verified": h.verified(),
        "total": h.total,
        "checkpoint": h.current.size(),
        "digests": h.rows.iter().map(|r| json!({
            "size": r.checkpoint.size(),
            "root": r.checkpoint.root().to_base64(),
            "extends": r.extends,
        })).collect::<Vec<_>>(),
        "failure": h.failure.as_ref().map(|e| {
            let mut f = json!({
                "code": verdict::history_code(e).as_str(),
                "alarm": verdict::history_alarm(e).as_str(),
                "message": e.to_string(),
                "path": e.path(),
            });
            if let HistoryError::Consistency { source, .. } = e {
                if let ConsistencyError::Inconsistent(inc) = &**source {
                    f["evidence"] = json!({
                        "oldCheckpoint": String::from_utf8_lossy(&inc.old_checkpoint),
                        "newCheckpoint": String::from_utf8_lossy(&inc.new_checkpoint),
                        "proof": inc.proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
                    });
                }
            }
            f
        }),
    })
}

fn print_history(h: &HistoryReport) {
    let checked = h.rows.len();
    match &h.failure {
        None if h.total == 0 => println!("  digest history: the archive is empty"),
        None => println!(
            "  digest history: {checked} of {} archived digests checked, each extends the one before, the newest extends to the checkpoint",
            h.total
        ),
        Some(e) => println!(
            "FAILED: digest history ({}): {e}",
            verdict::history_code(e)
        ),
    }
}

/// Segments fetched ahead of the auditor from a URL, and the threads fetching them.
const WINDOW: usize = 8;
const WORKERS: usize = 4;
/// The largest bundle a log can serve: 256 entries of 65,535 bytes and their prefixes.
const MAX_BUNDLE: u64 = 256 * 65_537;

/// Bundles fetched ahead of the auditor: at most `WINDOW` held at once.
struct Prefetch {
    paths: Vec<TilePath>,
    state: Mutex<Ahead>,
    cv: Condvar,
}

#[derive(Default)]
struct Ahead {
    next: usize,
    consumed: usize,
    ready: HashMap<usize, Result<Option<Vec<u8>>>>,
    stop: bool,
}

impl Prefetch {
    fn worker(&self, src: &Source) {
        loop {
            let i = {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                while !s.stop && s.next < self.paths.len() && s.next >= s.consumed + WINDOW {
                    s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
                }
                if s.stop || s.next >= self.paths.len() {
                    return;
                }
                s.next += 1;
                s.next - 1
            };
            let r = src.read_capped(&self.paths[i].to_string(), MAX_BUNDLE);
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.ready.insert(i, r);
            self.cv.notify_all();
        }
    }

    /// The bytes of bundle `i`, waiting for a worker if need be.
    fn take(&self, i: usize) -> Result<Option<Vec<u8>>> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = s.ready.remove(&i) {
                s.consumed = i + 1;
                self.cv.notify_all();
                return r;
            }
            s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn stop(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.stop = true;
        self.cv.notify_all();
    }
}

/// A batch of handed-out signature checks and where its verdicts go.
type SignatureJob = (Vec<SignatureCheck>, SyncSender<Vec<bool>>);

/// Reports two checkpoints of the log that are not consistent (with `--since`, or a
/// witness's view: `witness`), with both and the proof as evidence: exit 1 with `--json`,
/// else the error.
fn inconsistent(
    o: &VerifyOptions,
    origin: &str,
    e: &liveledger_core::audit::Inconsistency,
    witness: Option<&str>,
    (older, newer): (&str, &str),
) -> Result<i32> {
    let code = verdict::inconsistency_code(e);
    let message = match witness {
        Some(w) => format!(
            "a split view: witness {w} holds a checkpoint the log's is not consistent with: {e}"
        ),
        None => e.to_string(),
    };
    if o.json {
        let mut evidence = json!({
            "error": e.to_string(),
            "old_checkpoint": String::from_utf8_lossy(&e.old_checkpoint),
            "new_checkpoint": String::from_utf8_lossy(&e.new_checkpoint),
            "proof": e.proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
        });
        if let Some(w) = witness {
            evidence["witness"] = json!(w);
        }
        println!(
            "{}",
            json!({"verified": false, "code": code.as_str(), "message": message, "origin": origin, "consistency": evidence})
        );
        return Ok(1);
    }
    Err(Error::Refused(
        code,
        format!(
            "{message}\nevidence:\n--- {older}\n{}--- {newer}\n{}--- consistency proof\n{}",
            String::from_utf8_lossy(&e.old_checkpoint),
            String::from_utf8_lossy(&e.new_checkpoint),
            e.proof
                .iter()
                .map(|h| format!("{}\n", h.to_base64()))
                .collect::<String>()
        ),
    ))
}

/// Proves `older` ⊑ `newer` with the log's tiles of `newer`'s tree.
fn prove(
    src: &Source,
    older: &VerifiedCheckpoint,
    newer: &VerifiedCheckpoint,
) -> std::result::Result<std::result::Result<(), ConsistencyError>, Error> {
    let mut c = Consistency::new(newer.size());
    let needed = match c.needed(older.size(), newer.size()) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    for p in needed {
        let b = src.require(&p.to_string())?;
        if let Err(e) = c.feed(p, &b) {
            return Ok(Err(e));
        }
    }
    Ok(c.check(older, newer).map(|_| ()))
}

/// Asks every witness of `t`'s policy (all at once) what it holds of this log, and
/// proves each answer against `cp` with the log's tiles: the views, or the split view.
fn witness_views(
    src: &Source,
    t: &Trust,
    cp: &VerifiedCheckpoint,
) -> std::result::Result<Vec<View>, SplitView> {
    let mut wv = WitnessViews::new(t, cp);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_millis(views::ASK_TIMEOUT_MS.into()))
        .redirects(0)
        .build();
    let ask = |url: String| -> std::result::Result<Option<Vec<u8>>, String> {
        match agent.get(&url).call() {
            Ok(r) => {
                let mut b = Vec::new();
                r.into_reader()
                    .take(views::MAX_ANSWER as u64 + 1)
                    .read_to_end(&mut b)
                    .map_err(|e| format!("the answer could not be read: {e}"))?;
                if b.len() > views::MAX_ANSWER {
                    return Err(format!("the answer is over {} bytes", views::MAX_ANSWER));
                }
                Ok(Some(b))
            }
            Err(ureq::Error::Status(404, _)) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    };
    let answers: Vec<_> = std::thread::scope(|s| {
        let asked: Vec<_> = wv
            .asks()
            .iter()
            .map(|a| {
                let url = a.full_url();
                s.spawn(|| ask(url))
            })
            .collect();
        asked
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("the request failed".into()))
            })
            .collect()
    });
    for (i, a) in answers.iter().enumerate() {
        let answer = match a {
            Ok(Some(b)) => Answer::Held(b),
            Ok(None) => Answer::Nothing,
            Err(e) => Answer::Failed(e),
        };
        if let Some(pair) = wv.answer(i, answer) {
            match prove(src, &pair.older, &pair.newer) {
                Ok(r) => wv.proved(i, r)?,
                Err(e) => wv.unproved(i, &e.to_string()),
            }
        }
    }
    Ok(wv.finish())
}

/// Runs `a` (fresh, or resumed) to the end: the report, and the point a later run can
/// continue from (when it verified).
fn audit(
    src: &Source,
    cp: &VerifiedCheckpoint,
    mut a: Auditor,
    progress: bool,
    threads: usize,
) -> Result<(AuditReport, Option<ResumePoint>)> {
    let level = a.report().level;
    let pf = src.remote().then(|| Prefetch {
        paths: a.upcoming_bundles().collect(),
        state: Mutex::new(Ahead::default()),
        cv: Condvar::new(),
    });
    std::thread::scope(|scope| {
        if let Some(pf) = &pf {
            for _ in 0..WORKERS {
                scope.spawn(|| pf.worker(src));
            }
        }
        // Event signatures are checked on `threads` threads, a segment at a time, while
        // this one reads on (the auditor hands the checks out; see sigcheck).
        let mut verifiers = Vec::new();
        if level == Level::Ledger && threads > 1 {
            a.defer_signatures();
            for _ in 0..threads {
                let (tx, rx) = sync_channel::<SignatureJob>(2);
                scope.spawn(move || {
                    let mut keys = StrictVerifier::new();
                    for (checks, reply) in rx {
                        let _ = reply.send(checks.iter().map(|c| keys.check(c)).collect());
                    }
                });
                verifiers.push(tx);
            }
        }
        let r = audit_with(src, cp, &mut a, progress, pf.as_ref(), &verifiers);
        if let Some(pf) = &pf {
            pf.stop();
        }
        r.map(|report| (report, a.resume_point(cp)))
    })
}

fn audit_with(
    src: &Source,
    cp: &VerifiedCheckpoint,
    a: &mut Auditor,
    progress: bool,
    ahead: Option<&Prefetch>,
    verifiers: &[SyncSender<SignatureJob>],
) -> Result<AuditReport> {
    let started = Instant::now();
    let mut verdicts: VecDeque<Receiver<Vec<bool>>> = VecDeque::new();
    let mut next = 0;
    let stopped = || Error::Corrupt("a signature-checking thread stopped".into());
    let show = progress && std::io::stderr().is_terminal();
    let mut last = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    while let Some(step) = a.next_step() {
        let path: TilePath = step.path();
        let name = path.to_string();
        match (step, ahead) {
            (Step::Bundle(p), Some(pf)) => {
                let i = pf
                    .paths
                    .iter()
                    .position(|q| *q == p)
                    .ok_or_else(|| Error::Io(format!("{name} was not planned")))?;
                match pf.take(i)? {
                    Some(bytes) => {
                        if a.feed(&bytes).is_ok() {
                            let _ = a.finish_step();
                        }
                    }
                    // The core's rule for a committed file the log does not serve.
                    None => drop(a.not_served()),
                }
            }
            _ => {
                // A partial tile may be gone once the full one exists; a later version may
                // fall back to it. Today a missing file is a failure of the log to serve it.
                let Some(mut r) = src.open(&name)? else {
                    drop(a.not_served());
                    continue;
                };
                loop {
                    let n = r
                        .read(&mut buf)
                        .map_err(|e| Error::Io(format!("{}: {e}", src.describe(&name))))?;
                    if n == 0 {
                        break;
                    }
                    if a.feed(&buf[..n]).is_err() {
                        break;
                    }
                }
                if a.failure().is_none() {
                    let _ = a.finish_step();
                }
            }
        }
        // Also after a failure: a bad signature before it is the first failure.
        let checks = a.take_signature_checks();
        if !checks.is_empty() {
            let (tx, rx) = sync_channel(1);
            verifiers[next].send((checks, tx)).map_err(|_| stopped())?;
            next = (next + 1) % verifiers.len();
            verdicts.push_back(rx);
        }
        while verdicts.len() > 2 * verifiers.len() {
            if let Some(rx) = verdicts.pop_front() {
                let v = rx.recv().map_err(|_| stopped())?;
                let _ = a.confirm_signatures(&v, &mut |_| {});
            }
        }
        if show && last.elapsed() > Duration::from_millis(100) {
            last = Instant::now();
            let s = a.stats();
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            eprint!(
                "\r  verified {}/{} entries, {:.1} MB, {:.0} entries/s   ",
                s.entries,
                cp.size(),
                s.bytes as f64 / 1e6,
                s.entries as f64 / secs
            );
        }
    }
    for rx in verdicts {
        let v = rx.recv().map_err(|_| stopped())?;
        let _ = a.confirm_signatures(&v, &mut |_| {});
    }
    if show {
        eprint!("\r{:70}\r", "");
    }
    Ok(a.report())
}

fn report_json(
    r: &AuditReport,
    trust: &str,
    keys: &[VerifierKey],
    signed_time: Option<u64>,
    consistency: &Value,
    stale: Option<&str>,
) -> Value {
    let s = &r.stats;
    let code = match (&r.failure, stale) {
        (Some(f), _) => Some(verdict::audit_code(f).as_str()),
        (None, Some(_)) => Some(Code::Stale.as_str()),
        (None, None) => None,
    };
    let failure = r.failure.as_ref().map(|f| {
        json!({
            "error": f.error.to_string(),
            "path": f.location.step.map(|s| s.path().to_string()),
            "segment": f.location.bundle,
            "entry": f.location.entry,
        })
    });
    json!({
        "verified": r.failure.is_none() && stale.is_none(),
        "code": code,
        "origin": r.origin,
        "size": r.size,
        "root": r.root.to_base64(),
        "level": match r.level { Level::Log => "log", Level::Ledger => "ledger" },
        "trust": trust,
        "keys": keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        "signed_time": signed_time,
        "stats": {
            "entries": s.entries, "segments": s.bundles, "tiles": s.tiles, "bytes": s.bytes,
            "signatures": s.signatures, "corrections": s.corrections, "commitments": s.commitments,
            "governance": s.governance, "roots": s.roots,
        },
        "consistency": consistency,
        "stale": stale,
        "failure": failure,
    })
}

fn print_human(
    r: &AuditReport,
    signed_time: Option<u64>,
    consistency: &Value,
    stale: Option<&str>,
) {
    let s = &r.stats;
    match &r.failure {
        None => {
            println!(
                "verified: {} — {} entries, root {}",
                r.origin, r.size, r.root
            );
            println!(
                "  {} segments, {} tiles, {} roots, {:.1} MB{}",
                s.bundles,
                s.tiles,
                s.roots,
                s.bytes as f64 / 1e6,
                if r.level == Level::Ledger {
                    format!(
                        "; {} event signatures, {} corrections, {} private payloads, {} governance events",
                        s.signatures, s.corrections, s.commitments, s.governance
                    )
                } else {
                    " (opaque entries: log level only)".into()
                }
            );
            if let Some(t) = signed_time {
                let secs = t as i64;
                if let Some(ts) = liveledger_core::time::Timestamp::from_unix(secs, 0) {
                    println!("  digest signed at {ts}");
                }
            }
            if !consistency.is_null() {
                println!(
                    "  consistent with the checkpoint of size {} you trusted before",
                    consistency["since"]
                );
            }
        }
        Some(f) => {
            println!("FAILED: {} at size {}", r.origin, r.size);
            println!("  {f}");
            println!(
                "  checked before the failure: {} entries in {} segments",
                s.entries, s.bundles
            );
        }
    }
    if let Some(st) = stale {
        println!("STALE: {st}");
    }
}
