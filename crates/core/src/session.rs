//! The verification sequence: what every verifier of a log does, in one order, as a step
//! machine without I/O. It asks for files and witness answers, the caller fetches them
//! and feeds them back; it hands the caller the core's [`Auditor`] to drive over the
//! entries; it ends with one [`Report`]. `liveledger verify`, the JS module and the page
//! run this machine and only fetch and print.
//!
//! The order:
//! 1. **trust**: the metadata and the checkpoint, asked for together; trust is
//!    established from the request and the metadata ([`crate::trust`]) and the checkpoint
//!    opened under it (signatures, origin, quorum);
//! 2. **since**: a checkpoint the caller trusted before must be extended by this one;
//! 3. **resume**: a kept resume point is checked ([`Auditor::resume`]) and its checkpoint
//!    proved extended; a point that does not hold is discarded, and said so
//!    ([`Resumed::Discarded`]), but a rollback from it is an alarm;
//! 4. **witness views**: each witness of the quorum's policy is asked what it holds, and
//!    each answer proved consistent with the checkpoint ([`crate::audit::views`]);
//! 5. **audit**: [`Need::Audit`] hands over the auditor (fresh, or resumed);
//! 6. **history**: with [`Request::history`], after an audit that held, the digest
//!    archive ([`crate::audit::history`]); an index naming a digest newer than the
//!    checkpoint may be a publisher between its two writes: the checkpoint is read again,
//!    after [`Need::Wait`]s of 100, 200 and 300 ms, before that is a rollback;
//! 7. **report**: freshness is judged on it at the caller's clock
//!    ([`Report::freshness`]).
//!
//! **Following.** After a session that held, [`Session::poll`] looks again: the
//! checkpoint is read; the same tree re-signed is a heartbeat ([`Polled::Heartbeat`]); a
//! new one must extend the last verified (FORK, ROLLBACK), then its new entries are
//! audited, and the witnesses asked again at most once a minute ([`VIEWS_EVERY_MS`]). A
//! checkpoint that cannot be read is no verdict ([`Polled::Unavailable`]: the network, or
//! a publisher between writes), nor are the tiles of its proof the first
//! [`MAX_UNAVAILABLE_POLLS`] times in a row; after that, they are what they are.
//!
//! The first failure ends the session; its code is the verdict ([`Report::code`]), its
//! evidence in [`Report::failure`], or in the audit's or the history's report. What a fetched file means at each step:
//!
//! | file                                   | not served          | not fetched          |
//! |----------------------------------------|---------------------|----------------------|
//! | `metadata`                             | no metadata (pinned keys needed: `NO_KEY`) | `FETCH_FAILED` |
//! | `checkpoint`, tiles of a proof, the digest index and digests | `NOT_FOUND` | `FETCH_FAILED` |
//! | tiles proving a witness's view         | a note on that view | a note on that view  |
//! | the audit's bundles and tiles          | [`Auditor::not_served`]: `NOT_FOUND` | the caller's `FETCH_FAILED` |
//!
//! Every file is asked for with a cap ([`Want::cap`]): the caller reads at most one byte
//! more (or says [`Got::TooLarge`]), and a file over its cap fails the step (`BAD_INPUT`). A witness's answer is
//! capped at [`views::MAX_ANSWER`]; over it, the view says so.
//!
//! ```
//! use liveledger_core::session::{Got, Need, Request, Session};
//! use liveledger_core::trust::TrustRequest;
//! use liveledger_core::verdict::Code;
//!
//! // A log that serves nothing: the session asks for its metadata and checkpoint.
//! let mut s = Session::new(Request::audit(TrustRequest::default()));
//! let Need::Files(wants) = s.need() else { panic!() };
//! for w in &wants {
//!     s.file(&w.path, Got::NotServed);
//! }
//! assert!(matches!(s.need(), Need::Done));
//! // No pinned key and no metadata to learn one from.
//! assert_eq!(s.report().code(), Some(Code::NoKey));
//! ```

use crate::archive::MAX_DIGEST_INDEX;
use crate::audit::history::{History, HistoryError, HistoryReport};
use crate::audit::resume::{ResumeError, ResumePoint, MAX_RESUME_POINT};
use crate::audit::views::{self, Answer, Ask, SplitView, View, WitnessViews};
use crate::audit::{AuditReport, Auditor, Consistency, ConsistencyError};
use crate::checkpoint::VerifiedCheckpoint;
use crate::freshness::{self, Freshness};
use crate::layout;
use crate::note::MAX_NOTE_SIZE;
use crate::tiles::{TilePath, FULL_TILE_BYTES};
use crate::trust::{Trust, TrustError, TrustRequest};
use crate::verdict::{self, Code};

/// What the caller asks to have verified.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The keys, origin, level and policy the caller trusts.
    pub trust: TrustRequest,
    /// Read the ledger's metadata also when keys are pinned (it names the time key, the
    /// cadence, the level and the quorum). Without pinned keys it is always read.
    pub metadata: bool,
    /// A signed checkpoint the caller trusted before: this one must extend it.
    pub since: Option<Vec<u8>>,
    /// A resume point kept by an earlier audit ([`ResumePoint::encode`]'s text).
    pub resume: Option<Vec<u8>>,
    /// Ask the policy's witnesses what they hold (the split-view check).
    pub witness_check: bool,
    /// Check each hash tile the log serves against the entries (see [`Auditor::new`]).
    pub check_tiles: bool,
    /// Audit the entries (not only the checkpoint and what is asked besides).
    pub audit: bool,
    /// Check the newest this many archived digests (at least one) after the audit.
    pub history: Option<usize>,
}

impl Request {
    /// A full audit under `trust`: the metadata read, witness views, tiles checked, no
    /// history.
    pub fn audit(trust: TrustRequest) -> Request {
        Request {
            trust,
            metadata: true,
            witness_check: true,
            check_tiles: true,
            audit: true,
            ..Request::default()
        }
    }
}

/// A file the session wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    /// Its path under the log's root.
    pub path: String,
    /// The most bytes it may have: read at most one more.
    pub cap: usize,
    /// Read it past any cache (the log's current state, or an audit's one read).
    pub no_store: bool,
}

/// What the caller got for a [`Want`] (or a witness's [`Ask`]).
#[derive(Clone, Copy, Debug)]
pub enum Got<'a> {
    /// Its bytes (at most `cap + 1` of them).
    Bytes(&'a [u8]),
    /// The server said it has no such file (HTTP 404, no such object or file).
    NotServed,
    /// It could not be fetched (the network, a 5xx after retries, a timeout): why.
    Failed(&'a str),
    /// It is larger than its cap (known before reading it all: a length or a size).
    TooLarge,
}

/// What the session needs next.
#[derive(Debug)]
pub enum Need<'s> {
    /// Fetch these files (at once, if the caller can) and feed each with
    /// [`Session::file`], then call [`Session::need`] again.
    Files(Vec<Want>),
    /// Ask these witnesses (at once, each within [`views::ASK_TIMEOUT_MS`], no
    /// redirects) and feed each answer with [`Session::answer`], by its index here.
    Ask(Vec<Ask>),
    /// Drive this auditor to its end ([`Auditor::next_step`], feeding each step's file,
    /// [`Auditor::not_served`] for one the log does not serve, its signature checks
    /// confirmed), then call [`Session::need`] again.
    Audit(&'s mut Auditor),
    /// Wait this many milliseconds, then call [`Session::need`] again.
    Wait(u32),
    /// The session is over: [`Session::report`].
    Done,
}

/// What a consistency proof was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Against {
    /// The checkpoint the caller trusted before ([`Request::since`]).
    Since,
    /// The checkpoint of the resume point ([`Request::resume`]).
    Kept,
    /// The checkpoint this session verified last ([`Session::poll`]).
    Previous,
}

/// What the last [`Session::poll`] found (when it did not fail).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Polled {
    /// The same checkpoint.
    Same,
    /// The same tree, signed again (a newer signed time).
    Heartbeat,
    /// A larger tree, extending the last, its new entries audited: from this size.
    Grew(u64),
    /// Nothing could be checked this time (what could not be read): look again at the
    /// next poll.
    Unavailable(Failure),
}

/// How often a following session asks the witnesses again, at most (milliseconds).
pub const VIEWS_EVERY_MS: u64 = 60_000;

/// Polls in a row that may find a new checkpoint's tiles missing (a publisher
/// mid-upload) before that is the verdict it would be at once in an audit.
pub const MAX_UNAVAILABLE_POLLS: u32 = 5;

impl core::fmt::Display for Against {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Against::Since => "since",
            Against::Kept => "the resume point",
            Against::Previous => "the checkpoint verified before",
        })
    }
}

/// Why a session failed: the first failure, with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// Trust could not be established, or the checkpoint does not verify under it.
    #[error("{0}")]
    Trust(TrustError),
    /// The checkpoint the caller trusted before does not verify.
    #[error("since: {0}")]
    Since(TrustError),
    /// A file the step needs is not served by the log.
    #[error("{path} is not served by the log")]
    NotServed {
        /// Its path.
        path: String,
    },
    /// A file the step needs could not be fetched.
    #[error("{path} could not be fetched: {why}")]
    Unreachable {
        /// Its path.
        path: String,
        /// What the caller said.
        why: String,
    },
    /// A file is larger than any the log may serve there.
    #[error("{path} is larger than {cap} bytes")]
    TooLarge {
        /// Its path.
        path: String,
        /// The cap.
        cap: usize,
    },
    /// This checkpoint does not extend one trusted before (both signed checkpoints and
    /// the proof, for an inconsistency), or the proof could not be checked.
    #[error("{against}: {error}")]
    Consistency {
        /// Which checkpoint it was proved against.
        against: Against,
        /// The core's verdict.
        error: ConsistencyError,
    },
    /// A witness holds a checkpoint of another history.
    #[error("a split view: {0}")]
    SplitView(SplitView),
}

impl Failure {
    /// The verdict's code.
    pub fn code(&self) -> Code {
        match self {
            Failure::Trust(e) => verdict::trust_code(e),
            Failure::Since(_) => Code::BadSince,
            Failure::NotServed { .. } => Code::NotFound,
            Failure::Unreachable { .. } => Code::FetchFailed,
            Failure::TooLarge { .. } => Code::BadInput,
            Failure::Consistency { error, .. } => verdict::consistency_code(error),
            Failure::SplitView(s) => verdict::inconsistency_code(&s.inconsistency),
        }
    }
}

/// Where an audit started. In JSON (the JS module's `resumed`): `{"from": 40}` or
/// `{"discarded": "why"}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Resumed {
    /// From the kept point of this size: only the entries after it were read.
    From(u64),
    /// The kept point was not used (why): every entry was audited.
    Discarded(String),
}

/// What a session found. Fields are filled as far as the session went.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// What was trusted, and why.
    pub trust: Option<Trust>,
    /// The log's checkpoint, verified under that trust.
    pub checkpoint: Option<VerifiedCheckpoint>,
    /// The size of the checkpoint trusted before, proved extended.
    pub since: Option<u64>,
    /// With a resume point: where the audit started.
    pub resumed: Option<Resumed>,
    /// What each witness asked holds, in the policy's order.
    pub views: Vec<View>,
    /// The audit's report, once it ran (its failure, if any, is the verdict).
    pub audit: Option<AuditReport>,
    /// What a later audit can continue from (after an audit that held).
    pub resume_point: Option<ResumePoint>,
    /// The digest history, when asked and reached (its failure, if any, is the verdict).
    pub history: Option<HistoryReport>,
    /// What ended the session before or around the audit (the audit's and the history's
    /// own failures are in their reports).
    pub failure: Option<Failure>,
}

impl Report {
    /// The verdict's code, from the first failure (the session's, the audit's, the
    /// history's: only one can be, as the first ends the session); `None`: everything
    /// asked held.
    pub fn code(&self) -> Option<Code> {
        if let Some(f) = &self.failure {
            return Some(f.code());
        }
        if let Some(f) = self.audit.as_ref().and_then(|a| a.failure.as_ref()) {
            return Some(verdict::audit_code(f));
        }
        let h = self.history.as_ref()?;
        h.failure.as_ref().map(verdict::history_code)
    }

    /// The checkpoint's signed time (unix seconds), from the trusted time key.
    pub fn signed_time(&self) -> Option<u64> {
        let cp = self.checkpoint.as_ref()?;
        freshness::signed_time(cp, self.trust.as_ref()?.time_key.as_ref())
    }

    /// How fresh the checkpoint is at `now` (unix seconds): the core's rule, twice the
    /// ledger's cadence or `max_age` if stricter. `None` before a checkpoint verified.
    pub fn freshness(&self, now: u64, max_age: Option<u64>) -> Option<Freshness> {
        let t = self.trust.as_ref()?;
        self.checkpoint.as_ref()?;
        Some(Freshness::judge(
            self.signed_time(),
            now,
            t.cadence_seconds,
            max_age,
        ))
    }
}

/// A fetched file, as the session keeps it until its step runs.
#[derive(Debug)]
enum Fetched {
    Bytes(Vec<u8>),
    NotServed,
    Failed(String),
    TooLarge(usize),
}

/// A consistency proof in progress: `older` ⊑ `newer` with `newer`'s tiles.
#[derive(Debug)]
struct Walk {
    c: Consistency,
    older: VerifiedCheckpoint,
    newer: VerifiedCheckpoint,
    paths: Vec<TilePath>,
    for_: For,
}

/// What a proof decides.
#[derive(Debug)]
enum For {
    Since,
    Kept(Box<Auditor>),
    View(usize),
    Poll,
}

#[derive(Debug)]
enum Stage {
    Start,
    Opened,
    Since,
    Resume,
    Proving(Box<Walk>),
    Views,
    Answered,
    NextView(usize),
    Audit,
    Audited,
    History,
    Index(u32, Vec<u8>),
    Recheck(u32, Vec<u8>),
    Digests(Box<History>, usize, usize),
    Tiles(Box<History>),
    Polled,
    Done,
}

/// One verification of one log (see the module doc).
#[derive(Debug)]
pub struct Session {
    req: Request,
    stage: Stage,
    files: Vec<(Want, Option<Fetched>)>,
    answers: Vec<(Ask, Option<Fetched>)>,
    views: Option<WitnessViews>,
    auditor: Option<Auditor>,
    report: Report,
    /// Following: the last poll's finding, the polls in a row whose proof's tiles could not
    /// be read, when the witnesses were last asked.
    polled: Option<Polled>,
    pending: Option<VerifiedCheckpoint>,
    unavailable: u32,
    views_at: Option<u64>,
    now_ms: u64,
}

/// The largest hash tile.
const MAX_TILE: usize = FULL_TILE_BYTES;
/// Archived digests asked for at once.
const HISTORY_AT_ONCE: usize = 8;
/// Times the checkpoint is read again before an index ahead of it is a rollback.
const RECHECKS: u32 = 3;

impl Session {
    /// A session for `req`; [`Session::need`] says what it needs first.
    pub fn new(req: Request) -> Session {
        Session {
            req,
            stage: Stage::Start,
            files: Vec::new(),
            answers: Vec::new(),
            views: None,
            auditor: None,
            report: Report::default(),
            polled: None,
            pending: None,
            unavailable: 0,
            views_at: None,
            now_ms: 0,
        }
    }

    /// Looks at the log again (see the module doc), at the caller's clock `now_ms`:
    /// [`Session::need`] then says what to fetch, and [`Session::polled`] what was found.
    /// Only after a session that ended without a failure; otherwise nothing happens.
    pub fn poll(&mut self, now_ms: u64) {
        if self.report.code().is_some() || !matches!(self.stage, Stage::Done) {
            return;
        }
        // The first round asked the witnesses: the minute runs from the first poll.
        self.views_at.get_or_insert(now_ms);
        self.now_ms = now_ms;
        self.polled = None;
        self.want(vec![Want {
            path: layout::CHECKPOINT.into(),
            cap: MAX_NOTE_SIZE,
            no_store: true,
        }]);
        self.stage = Stage::Polled;
    }

    /// What the last poll found (look at [`Report::failure`] first: a poll can fail).
    pub fn polled(&self) -> Option<&Polled> {
        self.polled.as_ref()
    }

    /// What the session found so far (all of it once [`Need::Done`]).
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The auditor, once the audit started (to continue it over a newer checkpoint).
    pub fn auditor(&self) -> Option<&Auditor> {
        self.auditor.as_ref()
    }

    /// The report and the auditor, ending the session.
    pub fn finish(self) -> (Report, Option<Auditor>) {
        (self.report, self.auditor)
    }

    /// Feeds what the caller got for the wanted file `path`. A path not wanted, or
    /// already fed, is ignored.
    pub fn file(&mut self, path: &str, got: Got<'_>) {
        if let Some((w, slot)) = self
            .files
            .iter_mut()
            .find(|(w, slot)| w.path == path && slot.is_none())
        {
            *slot = Some(match got {
                Got::Bytes(b) if b.len() > w.cap => Fetched::TooLarge(w.cap),
                Got::Bytes(b) => Fetched::Bytes(b.to_vec()),
                Got::NotServed => Fetched::NotServed,
                Got::Failed(why) => Fetched::Failed(why.to_owned()),
                Got::TooLarge => Fetched::TooLarge(w.cap),
            });
        }
    }

    /// Feeds witness `i`'s answer ([`Need::Ask`]'s order): its note, a 404 (`NotServed`),
    /// or why there was none. Over [`views::MAX_ANSWER`] bytes, the view says so.
    pub fn answer(&mut self, i: usize, got: Got<'_>) {
        if let Some((_, slot @ None)) = self.answers.get_mut(i) {
            *slot = Some(match got {
                Got::Bytes(b) if b.len() > views::MAX_ANSWER => {
                    Fetched::TooLarge(views::MAX_ANSWER)
                }
                Got::Bytes(b) => Fetched::Bytes(b.to_vec()),
                Got::NotServed => Fetched::NotServed,
                Got::Failed(why) => Fetched::Failed(why.to_owned()),
                Got::TooLarge => Fetched::TooLarge(views::MAX_ANSWER),
            });
        }
    }

    fn fail(&mut self, f: Failure) {
        if self.report.failure.is_none() {
            self.report.failure = Some(f);
        }
        self.files.clear();
        self.answers.clear();
        self.stage = Stage::Done;
    }

    fn want(&mut self, wants: Vec<Want>) {
        self.files = wants.into_iter().map(|w| (w, None)).collect();
    }

    /// The files fed for the last [`Need::Files`], in its order.
    fn take_files(&mut self) -> Vec<(String, Fetched)> {
        std::mem::take(&mut self.files)
            .into_iter()
            .map(|(w, f)| (w.path, f.unwrap_or(Fetched::NotServed)))
            .collect()
    }

    /// A file every step needs: its bytes, or the failure (not served, not fetched).
    fn required(&mut self, (path, f): (String, Fetched)) -> Option<Vec<u8>> {
        match f {
            Fetched::Bytes(b) => Some(b),
            f => {
                self.fail(f.failure(path));
                None
            }
        }
    }

    /// Trust and the checkpoint: every step after the first has both (without them, the
    /// session has ended).
    fn opened(&self) -> Option<(&Trust, &VerifiedCheckpoint)> {
        Some((
            self.report.trust.as_ref()?,
            self.report.checkpoint.as_ref()?,
        ))
    }

    /// Ends a session that lost its way (no step leads here).
    fn end(&mut self) {
        self.stage = Stage::Done;
    }

    /// Starts proving `older` ⊑ `newer` with `newer`'s tiles.
    fn prove(&mut self, older: VerifiedCheckpoint, newer: VerifiedCheckpoint, for_: For) {
        let c = Consistency::new(newer.size());
        let paths = match c.needed(older.size(), newer.size()) {
            Ok(p) => p,
            Err(error) => return self.proved(for_, Err(Proof::Verdict(error))),
        };
        let no_store = matches!(for_, For::View(_));
        self.want(
            paths
                .iter()
                .map(|p| Want {
                    path: p.to_string(),
                    cap: MAX_TILE,
                    no_store,
                })
                .collect(),
        );
        self.stage = Stage::Proving(Box::new(Walk {
            c,
            older,
            newer,
            paths,
            for_,
        }));
    }

    /// Feeds the walk its tiles and decides what its verdict means.
    fn walked(&mut self, mut w: Walk) {
        let files = self.take_files();
        let mut r = Ok(());
        for (p, (path, f)) in w.paths.iter().zip(files) {
            let Fetched::Bytes(bytes) = f else {
                r = Err(Proof::Unread(path, f));
                break;
            };
            if let Err(e) = w.c.feed(*p, &bytes) {
                r = Err(Proof::Verdict(e));
                break;
            }
        }
        let r = r.and_then(|()| {
            w.c.check(&w.older, &w.newer)
                .map(|_| ())
                .map_err(Proof::Verdict)
        });
        self.proved(w.for_, r)
    }

    fn proved(&mut self, for_: For, r: Result<(), Proof>) {
        let error = match r {
            Err(Proof::Unread(path, f)) => {
                // Not a verdict while following (a few polls) or proving a witness's view.
                let why = f.failure(path);
                match for_ {
                    For::View(i) if self.views.is_some() => {
                        if let Some(wv) = self.views.as_mut() {
                            wv.unproved(i, &why.to_string());
                        }
                        self.stage = Stage::NextView(i + 1);
                    }
                    For::Poll if self.unavailable < MAX_UNAVAILABLE_POLLS => {
                        self.unavailable += 1;
                        self.polled = Some(Polled::Unavailable(why));
                        self.stage = Stage::Done;
                    }
                    _ => self.fail(why),
                }
                return;
            }
            Err(Proof::Verdict(e)) => e,
            Ok(()) => {
                match for_ {
                    For::Since => self.stage = Stage::Resume,
                    For::Kept(a) => {
                        self.auditor = Some(*a);
                        self.stage = Stage::Views;
                    }
                    For::View(i) => {
                        if let Some(wv) = self.views.as_mut() {
                            // Consistent: never a split view.
                            let _ = wv.proved(i, Ok(()));
                        }
                        self.stage = Stage::NextView(i + 1);
                    }
                    For::Poll => self.grew(),
                }
                return;
            }
        };
        let against = match for_ {
            For::Since => Against::Since,
            For::Kept(_) => Against::Kept,
            For::Poll => Against::Previous,
            For::View(i) => {
                let r = self.views.as_mut().map(|wv| wv.proved(i, Err(error)));
                match r {
                    Some(Err(split)) => self.fail(Failure::SplitView(split)),
                    _ => self.stage = Stage::NextView(i + 1),
                }
                return;
            }
        };
        self.fail(Failure::Consistency { against, error })
    }

    /// A poll's checkpoint read: the same, a heartbeat, or a new tree to prove.
    fn repolled(&mut self) {
        let mut files = self.take_files().into_iter();
        let next = match files.next() {
            Some((_, Fetched::Bytes(b))) => b,
            Some((path, f @ Fetched::TooLarge(_))) => return self.fail(f.failure(path)),
            // The network, or a publisher between writes: no verdict.
            Some((path, f)) => return self.unavailable_now(f.failure(path)),
            None => {
                return self.unavailable_now(Failure::NotServed {
                    path: layout::CHECKPOINT.into(),
                })
            }
        };
        let Some((t, cp)) = self.opened() else {
            return self.end();
        };
        let (next, cp) = match t.open_checkpoint(&next) {
            Ok(next) => (next, cp.clone()),
            Err(e) => return self.fail(Failure::Trust(e)),
        };
        if next.size() == cp.size() && next.root() == cp.root() {
            self.polled = Some(match next.to_bytes() == cp.to_bytes() {
                true => Polled::Same,
                false => Polled::Heartbeat,
            });
            // Freshness is judged on the newest signature.
            self.report.checkpoint = Some(next);
            self.stage = Stage::Done;
            return;
        }
        self.pending = Some(next.clone());
        self.prove(cp, next, For::Poll);
    }

    fn unavailable_now(&mut self, why: Failure) {
        self.polled = Some(Polled::Unavailable(why));
        self.stage = Stage::Done;
    }

    /// A poll's new tree extends the last: its new entries next (after the witnesses,
    /// when they are due).
    fn grew(&mut self) {
        self.unavailable = 0;
        let Some(next) = self.pending.take() else {
            return self.stage = Stage::Done;
        };
        let Some((_, cp)) = self.opened() else {
            return self.end();
        };
        let from = cp.size();
        if let Some(a) = self.auditor.as_mut() {
            if a.extend(&next).is_err() {
                self.report.audit = Some(a.report());
                self.stage = Stage::Done;
                return;
            }
        }
        self.report.checkpoint = Some(next);
        self.polled = Some(Polled::Grew(from));
        let due = self
            .views_at
            .is_none_or(|at| self.now_ms.saturating_sub(at) >= VIEWS_EVERY_MS);
        self.stage = match due {
            true => {
                self.views_at = Some(self.now_ms);
                Stage::Views
            }
            false => Stage::Audit,
        };
    }

    /// What the session needs next (see [`Need`]). Call it again after doing it.
    pub fn need(&mut self) -> Need<'_> {
        loop {
            let missing: Vec<Want> = self
                .files
                .iter()
                .filter(|(_, f)| f.is_none())
                .map(|(w, _)| w.clone())
                .collect();
            if !missing.is_empty() {
                return Need::Files(missing);
            }
            if self.answers.iter().any(|(_, a)| a.is_none()) {
                return Need::Ask(self.answers.iter().map(|(a, _)| a.clone()).collect());
            }
            match std::mem::replace(&mut self.stage, Stage::Done) {
                Stage::Start => {
                    let small = |path: &str| Want {
                        path: path.into(),
                        cap: MAX_NOTE_SIZE,
                        no_store: true,
                    };
                    let mut wants = vec![small(layout::CHECKPOINT)];
                    if self.req.metadata || self.req.trust.pinned.is_empty() {
                        wants.insert(0, small(layout::METADATA));
                    }
                    self.want(wants);
                    self.stage = Stage::Opened;
                }
                Stage::Opened => self.open(),
                Stage::Since => {
                    let (Some((t, cp)), Some(bytes)) = (self.opened(), &self.req.since) else {
                        self.stage = Stage::Resume;
                        continue;
                    };
                    match t.open_past_checkpoint(bytes) {
                        Err(e) => self.fail(Failure::Since(e)),
                        Ok(old) => {
                            let cp = cp.clone();
                            self.report.since = Some(old.size());
                            self.prove(old, cp, For::Since);
                        }
                    }
                }
                Stage::Proving(w) => self.walked(*w),
                Stage::Resume => self.resume(),
                Stage::Views => {
                    if let Some((t, cp)) = self.opened().filter(|_| self.req.witness_check) {
                        let wv = WitnessViews::new(t, cp);
                        self.answers = wv.asks().iter().map(|a| (a.clone(), None)).collect();
                        self.views = Some(wv);
                    }
                    self.stage = Stage::Answered;
                }
                Stage::Answered => self.stage = Stage::NextView(0),
                Stage::NextView(i) => self.next_view(i),
                Stage::Audit => {
                    if !self.req.audit {
                        self.stage = Stage::History;
                        continue;
                    }
                    if self.auditor.is_none() {
                        let Some((t, cp)) = self.opened() else {
                            self.end();
                            continue;
                        };
                        self.auditor = Some(Auditor::new(cp, t.level, self.req.check_tiles));
                    }
                    self.stage = Stage::Audited;
                    if self.auditor.is_some() {
                        return self.auditor.as_mut().map_or(Need::Done, Need::Audit);
                    }
                }
                Stage::Audited => {
                    let (Some(a), Some((_, cp))) = (self.auditor.as_ref(), self.opened()) else {
                        self.end();
                        continue;
                    };
                    let r = a.report();
                    self.report.resume_point = a.resume_point(cp);
                    let failed = r.failure.is_some();
                    self.report.audit = Some(r);
                    // History is a first round's: a poll ends with its audit.
                    self.stage = match failed || self.polled.is_some() {
                        true => Stage::Done,
                        false => Stage::History,
                    };
                }
                Stage::History => match self.req.history {
                    None => self.stage = Stage::Done,
                    Some(_) => {
                        self.want(vec![Want {
                            path: layout::DIGEST_INDEX.into(),
                            cap: MAX_DIGEST_INDEX,
                            no_store: true,
                        }]);
                        self.stage = Stage::Index(0, Vec::new());
                    }
                },
                Stage::Index(attempt, index) => self.index(attempt, index),
                Stage::Recheck(attempt, index) => {
                    self.want(vec![Want {
                        path: layout::CHECKPOINT.into(),
                        cap: MAX_NOTE_SIZE,
                        no_store: true,
                    }]);
                    self.stage = Stage::Index(attempt, index);
                }
                Stage::Digests(h, start, count) => self.digests(*h, start, count),
                Stage::Tiles(h) => self.tiles(*h),
                Stage::Polled => self.repolled(),
                Stage::Done => {
                    self.stage = Stage::Done;
                    return Need::Done;
                }
            }
            if let Stage::Recheck(attempt, _) = &self.stage {
                return Need::Wait(100 * attempt);
            }
        }
    }

    /// Step 1: trust from the metadata, the checkpoint opened under it.
    fn open(&mut self) {
        let mut files = self.take_files();
        let Some(checkpoint) = files.pop() else {
            return self.fail(Failure::NotServed {
                path: layout::CHECKPOINT.into(),
            });
        };
        let metadata = match files.pop() {
            None | Some((_, Fetched::NotServed)) => None,
            Some(file) => match self.required(file) {
                Some(b) => Some(b),
                None => return,
            },
        };
        let t = match Trust::establish(&self.req.trust, metadata.as_deref()) {
            Ok(t) => t,
            Err(e) => return self.fail(Failure::Trust(e)),
        };
        let Some(bytes) = self.required(checkpoint) else {
            self.report.trust = Some(t);
            return;
        };
        let opened = t.open_checkpoint(&bytes);
        self.report.trust = Some(t);
        match opened {
            Ok(cp) => {
                self.report.checkpoint = Some(cp);
                self.stage = Stage::Since;
            }
            Err(e) => self.fail(Failure::Trust(e)),
        }
    }

    /// Step 3: a kept point continued from, discarded, or a rollback.
    fn resume(&mut self) {
        self.stage = Stage::Views;
        let Some(text) = self.req.resume.clone() else {
            return;
        };
        let Some((t, cp)) = self.opened() else {
            return self.end();
        };
        let r = match text.len() > MAX_RESUME_POINT {
            true => Err(ResumeError::Malformed(format!(
                "larger than {MAX_RESUME_POINT} bytes"
            ))),
            false => std::str::from_utf8(&text)
                .map_err(|_| ResumeError::Malformed("not UTF-8".into()))
                .and_then(ResumePoint::parse),
        };
        let r = r.and_then(|p| Auditor::resume(&p, t, cp, t.level, self.req.check_tiles));
        match r {
            // A rollback (or another tree of the kept size): an alarm, not a point to drop.
            Err(ResumeError::Inconsistent(e)) => self.fail(Failure::Consistency {
                against: Against::Kept,
                error: ConsistencyError::Inconsistent(e),
            }),
            Ok((a, kept)) => {
                let cp = cp.clone();
                self.report.resumed = Some(Resumed::From(kept.size()));
                self.prove(kept, cp, For::Kept(Box::new(a)));
            }
            Err(e) => self.report.resumed = Some(Resumed::Discarded(e.to_string())),
        }
    }

    /// Step 4: the answer of witness `i` onwards, each proved in turn.
    fn next_view(&mut self, mut i: usize) {
        loop {
            let Some((_, got)) = self.answers.get(i) else {
                self.answers.clear();
                if let Some(wv) = self.views.take() {
                    self.report.views = wv.finish();
                }
                self.stage = Stage::Audit;
                return;
            };
            let (Some(t), Some(wv)) = (self.report.trust.as_ref(), self.views.as_mut()) else {
                return self.stage = Stage::Audit;
            };
            let too_large;
            let pair = match got {
                Some(Fetched::Bytes(b)) => wv.answer(t, i, Answer::Held(b)),
                Some(Fetched::NotServed) => wv.answer(t, i, Answer::Nothing),
                Some(Fetched::Failed(why)) => wv.answer(t, i, Answer::Failed(why)),
                Some(Fetched::TooLarge(cap)) => {
                    too_large = format!("the answer is over {cap} bytes");
                    wv.answer(t, i, Answer::Failed(&too_large))
                }
                None => wv.answer(t, i, Answer::Failed("no answer")),
            };
            if let Some(pair) = pair {
                // Answers are kept until every pair is proved; the proof's files come first.
                return self.prove(pair.older, pair.newer, For::View(i));
            }
            i += 1;
        }
    }

    /// Step 6: the index read (`attempt` times the checkpoint read again).
    fn index(&mut self, attempt: u32, index: Vec<u8>) {
        let limit = self.req.history.unwrap_or(1);
        let mut files = self.take_files().into_iter();
        let Some(file) = files.next() else {
            return self.fail(Failure::NotServed {
                path: layout::DIGEST_INDEX.into(),
            });
        };
        let Some(bytes) = self.required(file) else {
            return;
        };
        let Some((t, cp)) = self.opened() else {
            return self.end();
        };
        // The first read is the index; later ones, the checkpoint read again (the audit's
        // stays the report's: the history is checked up to the newer).
        let (index, cp) = match attempt {
            0 => (bytes, cp.clone()),
            _ => match t.open_checkpoint(&bytes) {
                Ok(now) => (index, now),
                Err(e) => return self.fail(Failure::Trust(e)),
            },
        };
        match History::new(&cp, &index, limit) {
            Err(e) => self.damaged(cp, e),
            Ok(h) if h.ahead_of_checkpoint().is_some() && attempt < RECHECKS => {
                self.stage = Stage::Recheck(attempt + 1, index);
            }
            Ok(h) => self.digests(h, 0, 0),
        }
    }

    /// A malformed index: a verdict on the archive, as any other failure of it.
    fn damaged(&mut self, current: VerifiedCheckpoint, e: HistoryError) {
        self.report.history = Some(HistoryReport {
            current,
            total: 0,
            rows: Vec::new(),
            failure: Some(e),
        });
        self.stage = Stage::Done;
    }

    /// Feeds the archived digests asked for (`count` from `start`), and asks for the
    /// next few; after the last (or a failure), the tiles of the proofs.
    fn digests(&mut self, mut h: History, start: usize, count: usize) {
        let files = self.take_files();
        let sizes: Vec<u64> = h
            .digests()
            .iter()
            .skip(start)
            .take(count)
            .copied()
            .collect();
        for (size, file) in sizes.into_iter().zip(files) {
            let Some(bytes) = self.required(file) else {
                return;
            };
            let Some((t, _)) = self.opened() else {
                return self.end();
            };
            if h.feed_digest(t, size, &bytes).is_err() {
                return self.want_tiles(h);
            }
        }
        let from = start + count;
        let next: Vec<u64> = h
            .digests()
            .iter()
            .skip(from)
            .take(HISTORY_AT_ONCE)
            .copied()
            .collect();
        if next.is_empty() {
            return self.want_tiles(h);
        }
        self.want(
            next.iter()
                .map(|&s| Want {
                    path: layout::digest(s),
                    cap: MAX_NOTE_SIZE,
                    no_store: false,
                })
                .collect(),
        );
        self.stage = Stage::Digests(Box::new(h), from, next.len());
    }

    fn want_tiles(&mut self, h: History) {
        let wants = h
            .tiles()
            .iter()
            .map(|p| Want {
                path: p.to_string(),
                cap: MAX_TILE,
                no_store: false,
            })
            .collect();
        self.want(wants);
        self.stage = Stage::Tiles(Box::new(h));
    }

    /// The tiles the history's proofs read; then its report.
    fn tiles(&mut self, mut h: History) {
        let paths = h.tiles();
        for (p, file) in paths.into_iter().zip(self.take_files()) {
            let Some(bytes) = self.required(file) else {
                return;
            };
            h.feed_tile(p, &bytes);
        }
        self.report.history = Some(h.finish());
        self.stage = Stage::Done;
    }
}

/// Why a consistency walk did not hold: a tile not read (its path, and why), or the
/// core's verdict.
enum Proof {
    Unread(String, Fetched),
    Verdict(ConsistencyError),
}

impl Fetched {
    /// What a file that was not read means where it is required.
    fn failure(self, path: String) -> Failure {
        match self {
            Fetched::Failed(why) => Failure::Unreachable { path, why },
            Fetched::TooLarge(cap) => Failure::TooLarge { path, cap },
            Fetched::NotServed | Fetched::Bytes(_) => Failure::NotServed { path },
        }
    }
}
