//! `liveledger verify`: the full streaming audit of a directory, a URL or a bucket. The
//! sequence (trust, since, resume, witness views, audit, history) is the core's `session`;
//! this fetches what it asks for, drives its auditor on threads, and prints the report.
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

use liveledger_core::audit::history::{HistoryError, HistoryReport};
use liveledger_core::audit::resume::MAX_RESUME_POINT;
use liveledger_core::audit::views::{self, Ask};
use liveledger_core::audit::{AuditReport, Auditor, ConsistencyError, Level, Step};
use liveledger_core::note::VerifierKey;
use liveledger_core::session::{
    Against, Failure, Got, Need, Report, Request, Resumed, Session, Want,
};
use liveledger_core::sigcheck::{SignatureCheck, StrictVerifier};
use liveledger_core::tiles::TilePath;
use liveledger_core::trust::{KeySource, TrustError, TrustRequest};
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
    let mut pinned: Vec<VerifierKey> = Vec::new();
    for k in &o.keys {
        pinned.push(VerifierKey::parse(k.trim()).map_err(|e| Error::Usage(format!("--key: {e}")))?);
    }
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
    let threads = o
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return Err(Error::Usage("--threads must be at least 1".into()));
    }
    let since = match &o.since {
        None => None,
        Some(path) => Some(liveledger_store::read_capped(
            path,
            liveledger_core::note::MAX_NOTE_SIZE as u64 + 1,
        )?),
    };
    // A resume point kept by an earlier run (`--keep FILE`), if there is one.
    let resume = match o.keep.as_ref().filter(|f| f.exists()) {
        None => None,
        Some(file) => Some(liveledger_store::read_capped(
            file,
            MAX_RESUME_POINT as u64 + 1,
        )?),
    };
    // The sequence is the core's (`session`): this only fetches what it asks for.
    let mut s = Session::new(Request {
        trust: TrustRequest {
            pinned,
            origin: o.origin.clone(),
            level: o.log_only.then_some(Level::Log),
            policy,
        },
        metadata: true,
        since,
        resume,
        witness_check: !o.no_witness_check,
        check_tiles: true,
        audit: true,
        history: o.history,
    });
    loop {
        match s.need() {
            Need::Files(wants) => {
                for (w, got) in fetch_all(&src, &wants) {
                    s.file(&w.path, got.as_got());
                }
            }
            Need::Ask(asks) => {
                for (i, got) in ask_all(&asks).into_iter().enumerate() {
                    s.answer(i, got.as_got());
                }
            }
            Need::Audit(a) => audit(&src, a, o.progress, threads)?,
            Need::Wait(ms) => std::thread::sleep(Duration::from_millis(ms.into())),
            Need::Done => break,
        }
    }
    let (r, _) = s.finish();
    report(&src, o, &r)
}

/// Prints what the session found; the exit code.
fn report(src: &Source, o: &VerifyOptions, r: &Report) -> Result<i32> {
    // Failures before the audit (or that stop it from running) are errors or, for two
    // checkpoints that are not consistent, the evidence.
    if let Some(f) = &r.failure {
        return failed(src, o, r, f);
    }
    let (Some(t), Some(cp), Some(audit)) = (&r.trust, &r.checkpoint, &r.audit) else {
        return Err(Error::Corrupt("the session ended before the audit".into()));
    };
    let mut notes: Vec<String> = Vec::new();
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
    let signed_time = r.signed_time();
    // Who witnessed it (the quorum itself was enforced when the checkpoint was opened).
    let witnesses = match &t.quorum {
        None => Value::Null,
        Some((p, source)) => {
            let verified = cp.note().verified();
            let keys: Vec<VerifierKey> = verified.iter().map(|v| v.key.clone()).collect();
            let q = p.evaluate(&keys);
            if *source == liveledger_core::trust::QuorumSource::Metadata {
                notes.push(format!(
                    "enforcing the witness quorum {} from the ledger's own metadata; pass --policy to pin one",
                    q.rule
                ));
            }
            json!({
                "source": match source { liveledger_core::trust::QuorumSource::Pinned => "pinned", _ => "metadata" },
                "rule": q.rule,
                "met": q.met,
                "cosigned": q.witnesses.iter().filter(|w| w.2).count(),
                "list": q.witnesses.iter().map(|(name, key, c)| json!({
                    "name": name,
                    "key": key.to_string(),
                    "cosigned": c,
                    "time": verified.iter().find(|v| &v.key == key).and_then(|v| v.timestamp),
                })).collect::<Vec<_>>(),
            })
        }
    };
    let consistency = match r.since {
        Some(old) => json!({"since": old, "now": cp.size(), "consistent": true}),
        None => Value::Null,
    };
    let views: Vec<Value> = r.views.iter().map(|v| v.to_json()).collect();
    for v in &r.views {
        if let Some(n) = &v.note {
            notes.push(format!("witness {}: {n}", v.name));
        }
    }
    // Staleness: core's rule (twice the ledger's cadence, or --max-age if stricter).
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut stale = r
        .freshness(now, o.max_age.map(|d| d.as_secs()))
        .and_then(|f| f.reason());
    if o.allow_stale {
        if let Some(why) = stale.take() {
            notes.push(format!("stale (allowed): {why}"));
        }
    }
    let file = o.keep.as_ref().map(|f| f.display().to_string());
    let resumed = match (&r.resumed, &file) {
        (Some(Resumed::From(size)), Some(file)) => json!({"from": size, "file": file}),
        (Some(Resumed::Discarded(why)), Some(file)) => {
            notes.push(format!(
                "the resume point in {file} was not used ({why}); every entry is audited"
            ));
            json!({"discarded": why, "file": file})
        }
        _ => Value::Null,
    };
    if let (Some(file), Some(p)) = (&o.keep, &r.resume_point) {
        liveledger_store::write_atomic(file, p.encode().as_bytes())?;
    }
    let history = r.history.as_ref();
    let ok = r.code().is_none() && stale.is_none();
    if o.json {
        let mut j = report_json(
            audit,
            trust,
            &t.log_keys,
            signed_time,
            &consistency,
            stale.as_deref(),
        );
        j["cadence_seconds"] = json!(t.cadence_seconds);
        j["resumed"] = resumed.clone();
        if let Some(h) = history {
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
        print_human(audit, signed_time, &consistency, stale.as_deref());
        if let Some(from) = resumed["from"].as_u64() {
            println!(
                "  continued from {from} entries verified before (the resume point in {}): {} new entries audited",
                resumed["file"].as_str().unwrap_or(""),
                audit.size.saturating_sub(from)
            );
        }
        if let Some(h) = history {
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

/// A session that ended before its audit: two checkpoints that are not consistent are
/// reported with the evidence (exit 1); anything else is the error it is.
fn failed(src: &Source, o: &VerifyOptions, r: &Report, f: &Failure) -> Result<i32> {
    let origin = r.trust.as_ref().map_or("", |t| t.origin.as_str());
    let flag = |a: Against| match a {
        Against::Since => "--since",
        Against::Kept => "--keep",
        Against::Previous => "the checkpoint verified before",
    };
    Err(match f {
        Failure::Consistency {
            against,
            error: ConsistencyError::Inconsistent(e),
        } => {
            let names = match against {
                Against::Since => ("checkpoint trusted before", "checkpoint now"),
                Against::Kept => ("checkpoint kept before", "checkpoint now"),
                Against::Previous => ("checkpoint verified before", "checkpoint now"),
            };
            return inconsistent(o, origin, e, None, names);
        }
        Failure::SplitView(split) => {
            return inconsistent(
                o,
                origin,
                &split.inconsistency,
                Some(&split.witness),
                ("checkpoint older", "checkpoint newer"),
            )
        }
        Failure::Consistency { against, error } => Error::Refused(
            verdict::consistency_code(error),
            format!("{}: {error}", flag(*against)),
        ),
        Failure::Trust(TrustError::NoKey) => Error::Refused(
            Code::NoKey,
            format!(
                "{} has no ledger metadata; pass the log's verifier key with --key",
                src.describe("")
            ),
        ),
        Failure::Trust(TrustError::Metadata(e)) => {
            Error::Refused(Code::BadInput, format!("ledger metadata is malformed: {e}"))
        }
        Failure::Since(e) => Error::Refused(
            Code::BadSince,
            format!(
                "--since {}: {e}",
                o.since
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
        ),
        Failure::NotServed { path } => Error::Refused(
            Code::NotFound,
            match path.as_str() {
                liveledger_core::layout::DIGEST_INDEX => format!(
                    "{} does not exist: the log publishes no digest archive",
                    src.describe(path)
                ),
                _ => format!("{} does not exist", src.describe(path)),
            },
        ),
        Failure::Unreachable { why, .. } => Error::Io(why.clone()),
        Failure::TooLarge { .. } => Error::Input(f.to_string()),
        f => Error::Refused(f.code(), f.to_string()),
    })
}

/// What a fetch got, owned until it is fed.
enum Fetched {
    Bytes(Vec<u8>),
    NotServed,
    Failed(String),
    TooLarge,
}

impl Fetched {
    fn as_got(&self) -> Got<'_> {
        match self {
            Fetched::Bytes(b) => Got::Bytes(b),
            Fetched::NotServed => Got::NotServed,
            Fetched::Failed(why) => Got::Failed(why),
            Fetched::TooLarge => Got::TooLarge,
        }
    }
}

/// Files fetched at once from a remote source.
const FETCH_PARALLEL: usize = 8;

/// Fetches what the session wants (none over its cap): a few at a time from
/// a remote source, in turn from a directory.
fn fetch_all<'w>(src: &Source, wants: &'w [Want]) -> Vec<(&'w Want, Fetched)> {
    let one = |w: &Want| match src.read_capped(&w.path, w.cap as u64) {
        Ok(Some(b)) => Fetched::Bytes(b),
        Ok(None) => Fetched::NotServed,
        Err(Error::Input(_)) => Fetched::TooLarge,
        Err(e) => Fetched::Failed(e.to_string()),
    };
    if !src.remote() || wants.len() < 2 {
        return wants.iter().map(|w| (w, one(w))).collect();
    }
    let mut out = Vec::new();
    for chunk in wants.chunks(FETCH_PARALLEL) {
        let got: Vec<Fetched> = std::thread::scope(|s| {
            let jobs: Vec<_> = chunk.iter().map(|w| s.spawn(move || one(w))).collect();
            jobs.into_iter()
                .map(|j| {
                    j.join()
                        .unwrap_or_else(|_| Fetched::Failed("a fetch thread panicked".into()))
                })
                .collect()
        });
        out.extend(chunk.iter().zip(got));
    }
    out
}

/// Asks every witness at once (the core's timeout, no redirects; one byte over the cap
/// read, so the core can say the answer is too large).
fn ask_all(asks: &[Ask]) -> Vec<Fetched> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_millis(views::ASK_TIMEOUT_MS.into()))
        .redirects(0)
        .build();
    let ask = |url: String| -> Fetched {
        match agent.get(&url).call() {
            Ok(r) => {
                let mut b = Vec::new();
                match r
                    .into_reader()
                    .take(views::MAX_ANSWER as u64 + 1)
                    .read_to_end(&mut b)
                {
                    Ok(_) => Fetched::Bytes(b),
                    Err(e) => Fetched::Failed(format!("the answer could not be read: {e}")),
                }
            }
            Err(ureq::Error::Status(404, _)) => Fetched::NotServed,
            Err(e) => Fetched::Failed(e.to_string()),
        }
    };
    std::thread::scope(|s| {
        let asked: Vec<_> = asks
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
                    .unwrap_or_else(|_| Fetched::Failed("the request failed".into()))
            })
            .collect()
    })
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

/// Drives the session's auditor to its end: bundles fetched ahead from a remote source,
/// event signatures checked on `threads` threads.
fn audit(src: &Source, a: &mut Auditor, progress: bool, threads: usize) -> Result<()> {
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
        let r = audit_with(src, a, progress, pf.as_ref(), &verifiers);
        if let Some(pf) = &pf {
            pf.stop();
        }
        r
    })
}

fn audit_with(
    src: &Source,
    a: &mut Auditor,
    progress: bool,
    ahead: Option<&Prefetch>,
    verifiers: &[SyncSender<SignatureJob>],
) -> Result<()> {
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
                a.target_size(),
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
    Ok(())
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
