//! The verification sequence (`session`): driven over ledgers in memory as a verifier
//! drives it, with files taken away, witnesses answering anything, kept points good and
//! bad, and archives ahead of the checkpoint. Each verdict is the one FORMAT.md and the
//! parity table give.

mod common;
use common::ledger::{Ledger, ORIGIN};

use std::collections::BTreeMap;

use liveledger_core::archive::encode_digest_index;
use liveledger_core::audit::{Auditor, Consistency, ConsistencyError, InconsistencyKind};
use liveledger_core::note::{Note, SignerKey, ALG_COSIGNATURE_V1};
use liveledger_core::policy::Policy;
use liveledger_core::session::{
    Against, Failure, Got, Need, Polled, Report, Request, Resumed, Session, MAX_UNAVAILABLE_POLLS,
};
use liveledger_core::trust::TrustRequest;
use liveledger_core::verdict::Code;

const N: u64 = if cfg!(target_arch = "wasm32") {
    90
} else {
    300
};

fn pinned(l: &Ledger) -> TrustRequest {
    TrustRequest {
        pinned: vec![l.log_key.verifier()],
        ..Default::default()
    }
}

/// A published tree: files by path.
type Files = BTreeMap<String, Vec<u8>>;

/// A witness's answer to a session's ask.
type Witness<'a> = &'a dyn Fn(&str) -> Option<Vec<u8>>;

/// What a run did besides its report: the waits asked for, and every file asked for.
#[derive(Default)]
struct Trace {
    waits: Vec<u32>,
    asked: Vec<String>,
    audits: usize,
    /// Every file read, by the session or its audit.
    read: Vec<String>,
}

/// Drives `req` over `files` (absent: not served) as a verifier does. `witness` answers
/// by witness name (`None`: a 404). `between` runs at each wait (a publisher's write).
fn run_with(
    req: Request,
    files: &mut BTreeMap<String, Vec<u8>>,
    witness: Witness<'_>,
    between: &mut dyn FnMut(&mut Files),
) -> (Report, Trace) {
    let mut s = Session::new(req);
    let t = step(&mut s, files, witness, between);
    (s.finish().0, t)
}

/// Drives `s` until it is done (a first round, or a poll).
fn step(
    s: &mut Session,
    files: &mut BTreeMap<String, Vec<u8>>,
    witness: Witness<'_>,
    between: &mut dyn FnMut(&mut Files),
) -> Trace {
    let mut t = Trace::default();
    for _ in 0..10_000 {
        match s.need() {
            Need::Files(wants) => {
                for w in wants {
                    t.asked.push(w.path.clone());
                    t.read.push(w.path.clone());
                    match files.get(&w.path) {
                        Some(b) => s.file(&w.path, Got::Bytes(b)),
                        None => s.file(&w.path, Got::NotServed),
                    }
                }
            }
            Need::Ask(asks) => {
                for (i, a) in asks.iter().enumerate() {
                    match witness(&a.witness) {
                        Some(b) => s.answer(i, Got::Bytes(&b)),
                        None => s.answer(i, Got::NotServed),
                    }
                }
            }
            Need::Audit(a) => {
                t.audits += 1;
                t.read.extend(drive(a, files));
            }
            Need::Wait(ms) => {
                t.waits.push(ms);
                between(files);
            }
            Need::Done => return t,
        }
    }
    panic!("the session did not end");
}

fn run(req: Request, files: &BTreeMap<String, Vec<u8>>) -> (Report, Trace) {
    run_with(req, &mut files.clone(), &|_| None, &mut |_| {})
}

/// Drives an auditor over `files`, as the CLI and the module do: the paths it read.
fn drive(a: &mut Auditor, files: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut read = Vec::new();
    while let Some(step) = a.next_step() {
        read.push(step.path().to_string());
        match files.get(&step.path().to_string()) {
            None => {
                let _ = a.not_served();
            }
            Some(b) => {
                if a.feed(b).is_ok() {
                    let _ = a.finish_step();
                }
            }
        }
    }
    read
}

both! {
fn a_ledger_that_holds_is_audited_in_one_order_and_reported_whole() {
    let l = Ledger::grown(N, None);
    let (r, t) = run(Request::audit(pinned(&l)), &l.files);
    assert_eq!(r.failure, None);
    assert_eq!(r.code(), None);
    let a = r.audit.as_ref().expect("the audit ran");
    assert_eq!((a.size, a.stats.entries), (N, N));
    assert!(r.resume_point.is_some());
    assert_eq!(t.audits, 1);
    // Trust and the checkpoint first, fetched together; nothing else before the audit.
    assert_eq!(t.asked, ["metadata", "checkpoint"]);
    assert!(r.views.is_empty(), "no policy: no witness to ask");
    assert_eq!(r.checkpoint.as_ref().map(|c| c.size()), Some(N));
}
}

both! {
fn every_file_the_log_commits_to_and_does_not_serve_is_not_found() {
    let l = Ledger::grown(N, None);
    let mut req = Request::audit(pinned(&l));
    req.since = Some(l.checkpoints[&(N / 3)].clone());
    let (r, t) = run(req.clone(), &l.files);
    assert_eq!(r.failure, None);
    // The metadata is optional (pinned keys); everything else read is committed to.
    let read: Vec<&String> = t.read.iter().filter(|p| *p != "metadata").collect();
    assert!(read.len() >= 4, "{read:?}");
    for path in read {
        let mut files = l.files.clone();
        files.remove(path);
        let (r, _) = run(req.clone(), &files);
        assert_eq!(r.code(), Some(Code::NotFound), "{path} not served: {:?}", r.failure);
    }
}
}

both! {
fn a_checkpoint_trusted_before_must_be_extended() {
    let l = Ledger::grown(N, None);
    let mut req = Request::audit(pinned(&l));
    req.since = Some(l.checkpoints[&7].clone());
    let (r, _) = run(req.clone(), &l.files);
    assert_eq!((r.failure.clone(), r.since), (None, Some(7)));

    // Another history of the same keys: a fork, with both checkpoints and the proof.
    let forked = Ledger::grown(N, Some(5));
    req.since = Some(forked.checkpoints[&7].clone());
    let (r, t) = run(req.clone(), &l.files);
    let Some(Failure::Consistency { against: Against::Since, error: ConsistencyError::Inconsistent(inc) }) = &r.failure else {
        panic!("{:?}", r.failure)
    };
    assert!(matches!(inc.kind, InconsistencyKind::Fork(_)), "{:?}", inc.kind);
    assert_eq!(inc.old_checkpoint, forked.checkpoints[&7]);
    assert_eq!(r.code(), Some(Code::Fork));
    assert_eq!(t.audits, 0, "no audit after an alarm");

    // A bigger one than the log serves now: a rollback.
    let short = { let mut f = l.files.clone(); f.insert("checkpoint".into(), l.checkpoints[&20].clone()); f };
    req.since = Some(l.checkpoints[&30].clone());
    assert_eq!(run(req.clone(), &short).0.code(), Some(Code::Rollback));

    // One that does not verify is the caller's fault.
    req.since = Some(b"not a checkpoint".to_vec());
    let (r, _) = run(req, &l.files);
    assert!(matches!(r.failure, Some(Failure::Since(_))));
    assert_eq!(r.code(), Some(Code::BadSince));
}
}

both! {
fn a_kept_point_is_continued_from_discarded_or_an_alarm() {
    let l = Ledger::grown(N, None);
    let cp = l.checkpoint(40);
    // Pinned keys and no metadata: the log level.
    let mut a = Auditor::new(&cp, liveledger_core::level::Level::Log, true);
    drive(&mut a, &l.files);
    let point = a.resume_point(&cp).unwrap().encode();

    let mut req = Request::audit(pinned(&l));
    req.resume = Some(point.clone().into_bytes());
    let (r, _) = run(req.clone(), &l.files);
    assert_eq!(r.failure, None);
    assert_eq!(r.resumed, Some(Resumed::From(40)));
    assert_eq!(r.audit.unwrap().stats.entries, N - 40, "only the new entries are read");

    // Not a point: discarded, said so, and every entry audited.
    req.resume = Some(b"liveledger/resume/v1\ngarbage".to_vec());
    let (r, _) = run(req.clone(), &l.files);
    assert!(matches!(r.resumed, Some(Resumed::Discarded(_))), "{:?}", r.resumed);
    assert_eq!((r.failure, r.audit.unwrap().stats.entries), (None, N));

    // The log now serves less than was kept: a rollback, not a point to drop.
    let short = { let mut f = l.files.clone(); f.insert("checkpoint".into(), l.checkpoints[&20].clone()); f };
    req.resume = Some(point.into_bytes());
    let (r, t) = run(req, &short);
    assert!(matches!(r.failure, Some(Failure::Consistency { against: Against::Kept, .. })), "{:?}", r.failure);
    assert_eq!((r.code(), t.audits), (Some(Code::Rollback), 0));
}
}

fn witness(n: u8) -> SignerKey {
    SignerKey::from_seed(&format!("w{n}.example"), ALG_COSIGNATURE_V1, [40 + n; 32]).unwrap()
}

/// The ledger's checkpoint of `size` cosigned by witness 1, as the log serves it.
fn cosigned(l: &Ledger, size: u64) -> Vec<u8> {
    let mut n = Note::parse(&l.checkpoints[&size]).unwrap();
    n.add_signature(&witness(1), 1_790_000_000).unwrap();
    n.to_bytes()
}

both! {
fn the_witnesses_are_asked_and_each_answer_proved_or_noted() {
    let l = Ledger::grown(N, None);
    let forked = Ledger::grown(N, Some(5));
    let policy = Policy::parse(
        format!(
            "witness A {} https://a.example\nwitness B {} https://b.example\nquorum A\n",
            witness(1).verifier(),
            witness(2).verifier()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut files = l.files.clone();
    files.insert("checkpoint".into(), cosigned(&l, N));
    let req = Request::audit(TrustRequest { policy: Some(policy), ..pinned(&l) });

    // A holds an older checkpoint, B a newer one than served: both proved (B's with the
    // tiles of the tree it names, which the log serves too).
    let served = { let mut f = files.clone(); f.insert("checkpoint".into(), {
        let mut n = Note::parse(&l.checkpoints[&(N - 10)]).unwrap();
        n.add_signature(&witness(1), 1_790_000_000).unwrap();
        n.to_bytes()
    }); f };
    let answers = |w: &str| Some(match w { "A" => l.checkpoints[&3].clone(), _ => l.checkpoints[&N].clone() });
    let (r, _) = run_with(req.clone(), &mut served.clone(), &answers, &mut |_| {});
    assert_eq!(r.failure, None);
    let v: Vec<_> = r.views.iter().map(|v| (v.name.as_str(), v.size, v.consistent)).collect();
    assert_eq!(v, [("A", Some(3), Some(true)), ("B", Some(N), Some(true))]);

    // B holds another history: a split view, FORK, before any audit.
    let answers = |w: &str| match w { "A" => None, _ => Some(forked.checkpoints[&20].clone()) };
    let (r, t) = run_with(req.clone(), &mut files.clone(), &answers, &mut |_| {});
    let Some(Failure::SplitView(s)) = &r.failure else { panic!("{:?}", r.failure) };
    assert_eq!(s.witness, "B");
    assert_eq!((r.code(), t.audits), (Some(Code::Fork), 0));

    // Garbage, an answer over the cap, a 404, a tile the log does not serve: notes.
    let huge = vec![b'x'; liveledger_core::audit::views::MAX_ANSWER + 1];
    let answers = |w: &str| match w { "A" => Some(b"garbage".to_vec()), _ => Some(huge.clone()) };
    let (r, _) = run_with(req.clone(), &mut files.clone(), &answers, &mut |_| {});
    assert_eq!(r.failure, None);
    assert!(r.views[0].note.as_deref().unwrap().contains("does not verify"), "{:?}", r.views[0]);
    assert!(r.views[1].note.as_deref().unwrap().contains("over"), "{:?}", r.views[1]);
    let mut no_tiles = files.clone();
    no_tiles.retain(|p, _| !p.starts_with("tile/0/") && !p.starts_with("tile/1/"));
    let answers = |_: &str| Some(l.checkpoints[&3].clone());
    let (r, _) = run_with(Request { audit: false, ..req.clone() }, &mut no_tiles, &answers, &mut |_| {});
    assert_eq!(r.failure, None, "a view that cannot be proved is a note");
    assert!(r.views.iter().all(|v| v.consistent.is_none() && v.note.as_deref().unwrap().contains("not served")), "{:?}", r.views);

    // Not asked at all without the check.
    let (r, _) = run_with(Request { witness_check: false, ..req }, &mut files, &answers, &mut |_| {});
    assert!(r.views.is_empty());
}
}

both! {
fn the_history_reads_the_checkpoint_again_before_calling_a_rollback() {
    let l = Ledger::grown(30, None);
    let mut files = l.files.clone();
    files.insert("checkpoint".into(), l.checkpoints[&12].clone());
    files.insert("digests/index.txt".into(), encode_digest_index(&[3, 12, 15]).into_bytes());
    for s in [3, 12, 15] {
        files.insert(format!("digests/{s}"), l.checkpoints[&s].clone());
    }
    let req = Request { history: Some(100), ..Request::audit(pinned(&l)) };

    // The publisher's second write lands during the first wait: no rollback.
    let (r, t) = run_with(req.clone(), &mut files.clone(), &|_| None, &mut |f| {
        f.insert("checkpoint".into(), l.checkpoints[&15].clone());
    });
    assert_eq!(r.failure, None);
    assert_eq!(t.waits, [100]);
    let h = r.history.unwrap();
    assert_eq!((h.total, h.rows.len(), h.current.size()), (3, 3, 15));

    // It never lands: three reads later, a rollback.
    let (r, t) = run_with(req.clone(), &mut files.clone(), &|_| None, &mut |_| {});
    assert_eq!(t.waits, [100, 200, 300]);
    assert_eq!(r.code(), Some(Code::Rollback));
    assert!(r.history.as_ref().is_some_and(|h| h.failure.is_some()));

    // A malformed index is a verdict on the archive; none at all is NOT_FOUND.
    files.insert("checkpoint".into(), l.checkpoints[&30].clone());
    files.insert("digests/index.txt".into(), b"not an index".to_vec());
    let (r, _) = run(req.clone(), &files);
    assert_eq!(r.code(), Some(Code::BadArchive), "{:?}", r.failure);
    assert!(r.history.is_some_and(|h| h.failure.is_some()));
    files.remove("digests/index.txt");
    let (r, _) = run(req, &files);
    assert_eq!(r.code(), Some(Code::NotFound));
}
}

both! {
fn trust_comes_first_and_files_over_their_cap_fail() {
    let l = Ledger::grown(3, None);
    // No key and no metadata.
    let (r, t) = run(Request::audit(TrustRequest::default()), &l.files);
    assert_eq!((r.code(), t.audits), (Some(Code::NoKey), 0));
    // Another origin pinned.
    let req = Request::audit(TrustRequest { origin: Some("other.example".into()), ..pinned(&l) });
    assert_eq!(run(req, &l.files).0.code(), Some(Code::WrongOrigin));
    // A checkpoint of a megabyte.
    let mut files = l.files.clone();
    files.insert("checkpoint".into(), vec![b'a'; 2 << 20]);
    let (r, _) = run(Request::audit(pinned(&l)), &files);
    assert!(matches!(r.failure, Some(Failure::TooLarge { .. })), "{:?}", r.failure);
    assert_eq!(r.code(), Some(Code::BadInput));
    // Unreachable: the network's, not the ledger's.
    let mut s = Session::new(Request::audit(pinned(&l)));
    let Need::Files(w) = s.need() else { panic!() };
    s.file(&w[0].path, Got::NotServed);
    s.file(&w[1].path, Got::Failed("HTTP 503"));
    assert!(matches!(s.need(), Need::Done));
    assert_eq!(s.report().code(), Some(Code::FetchFailed));
    assert_eq!(ORIGIN, l.checkpoint(3).origin());
}
}

both! {
fn a_followed_log_is_polled_grown_heartbeats_and_forks() {
    let (a, b) = (N / 3, N / 2);
    let l = Ledger::grown(N, None);
    let forked = Ledger::grown(N, Some(N / 4));
    let mut files = l.files.clone();
    files.insert("checkpoint".into(), l.checkpoints[&a].clone());
    let mut s = Session::new(Request::audit(pinned(&l)));
    step(&mut s, &mut files, &|_| None, &mut |_| {});
    assert_eq!(s.report().failure, None);

    // Nothing new.
    s.poll(1_000);
    step(&mut s, &mut files, &|_| None, &mut |_| {});
    assert_eq!(s.polled(), Some(&Polled::Same));

    // The same tree signed again (here, cosigned): a heartbeat, the newest kept.
    let mut again = Note::parse(&l.checkpoints[&a]).unwrap();
    again.add_signature(&witness(1), 1_790_000_100).unwrap();
    files.insert("checkpoint".into(), again.to_bytes());
    s.poll(2_000);
    step(&mut s, &mut files, &|_| None, &mut |_| {});
    assert_eq!(s.polled(), Some(&Polled::Heartbeat));
    assert_eq!(s.report().checkpoint.as_ref().unwrap().to_bytes(), again.to_bytes());

    // It grew: only the new entries are read.
    files.insert("checkpoint".into(), l.checkpoints[&b].clone());
    s.poll(3_000);
    let t = step(&mut s, &mut files, &|_| None, &mut |_| {});
    assert_eq!(s.polled(), Some(&Polled::Grew(a)));
    assert_eq!(s.report().code(), None);
    assert_eq!(s.auditor().unwrap().report().size, b);
    assert_eq!(t.audits, 1);

    // Its checkpoint gone for a while (the network, a publisher between writes): no verdict.
    files.remove("checkpoint");
    s.poll(4_000);
    step(&mut s, &mut files, &|_| None, &mut |_| {});
    assert!(matches!(s.polled(), Some(Polled::Unavailable(_))), "{:?}", s.polled());
    assert_eq!(s.report().failure, None);

    // Another history: a fork against the checkpoint verified last, and the session ends.
    files.insert("checkpoint".into(), forked.checkpoints[&(2 * N / 3)].clone());
    s.poll(5_000);
    step(&mut s, &mut files, &|_| None, &mut |_| {});
    let f = s.report().failure.clone();
    assert!(matches!(f, Some(Failure::Consistency { against: Against::Previous, .. })), "{f:?}");
    assert_eq!(s.report().code(), Some(Code::Fork));
    s.poll(6_000);
    assert!(matches!(s.need(), Need::Done), "a failed session does not poll");
}
}

both! {
fn a_new_trees_missing_tiles_are_waited_for_a_few_polls_then_not_found() {
    let a = N / 3;
    let more = Ledger::grown(N + 40, None);
    let mut files = more.files.clone();
    files.insert("checkpoint".into(), more.checkpoints[&a].clone());
    let mut s = Session::new(Request::audit(pinned(&more)));
    step(&mut s, &mut files, &|_| None, &mut |_| {});
    // The checkpoint of N is up; one tile its proof needs is not (yet).
    let needed = |old: u64, new: u64| Consistency::new(new).needed(old, new).unwrap()[0].to_string();
    files.insert("checkpoint".into(), more.checkpoints[&N].clone());
    let missing = needed(a, N);
    let mut gone = files.clone();
    gone.remove(&missing);
    for i in 0..MAX_UNAVAILABLE_POLLS {
        s.poll(u64::from(i) * 1_000);
        step(&mut s, &mut gone, &|_| None, &mut |_| {});
        assert!(matches!(s.polled(), Some(Polled::Unavailable(Failure::NotServed { path })) if *path == missing), "{:?}", s.polled());
    }
    // It arrives: the count starts again.
    s.poll(10_000);
    step(&mut s, &mut files, &|_| None, &mut |_| {});
    assert_eq!(s.polled(), Some(&Polled::Grew(a)));
    // A tile that stays away is, in the end, what it is.
    files.insert("checkpoint".into(), more.checkpoints[&(N + 40)].clone());
    files.remove(&needed(N, N + 40));
    for i in 0..=MAX_UNAVAILABLE_POLLS {
        assert_eq!(s.report().failure, None, "poll {i}");
        s.poll(20_000 + u64::from(i));
        step(&mut s, &mut files, &|_| None, &mut |_| {});
    }
    assert_eq!(s.report().code(), Some(Code::NotFound), "{:?}", s.report().failure);
}
}

both! {
fn a_follower_asks_the_witnesses_again_at_most_once_a_minute() {
    let l = Ledger::grown(N, None);
    let policy = Policy::parse(format!("witness A {} https://a.example\nquorum none\n", witness(1).verifier()).as_bytes());
    let Ok(policy) = policy else { panic!("{policy:?}") };
    let mut files = l.files.clone();
    let asked = std::cell::Cell::new(0);
    let answer = |_: &str| {
        asked.set(asked.get() + 1);
        None
    };
    files.insert("checkpoint".into(), l.checkpoints[&10].clone());
    let mut s = Session::new(Request::audit(TrustRequest { policy: Some(policy), ..pinned(&l) }));
    step(&mut s, &mut files, &answer, &mut |_| {});
    assert_eq!((s.report().failure.clone(), asked.get()), (None, 1));
    let mut grow = |size: u64, now: u64| {
        files.insert("checkpoint".into(), l.checkpoints[&size].clone());
        s.poll(now);
        step(&mut s, &mut files, &answer, &mut |_| {});
        assert_eq!(s.report().failure, None);
        asked.get()
    };
    assert_eq!(grow(20, 1_000), 1, "the first round asked");
    assert_eq!(grow(30, 30_000), 1);
    assert_eq!(grow(40, 61_000), 2, "a minute after the first poll");
    assert_eq!(grow(50, 62_000), 2);
    assert_eq!(grow(60, 121_000), 3);
}
}
