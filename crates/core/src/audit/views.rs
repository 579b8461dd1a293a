//! Split views: what the quorum's witnesses hold, against what the log served.
//!
//! A log that shows one history to one visitor and another to the next (a split view)
//! can meet its quorum with each, if it found witnesses for each. A witness that cosigned
//! one history refuses to cosign the other, and serves what it holds (its monitoring read,
//! `GET <url>/<hex SHA-256(origin)>/checkpoint`). So a verifier asks every witness of the
//! policy that has a URL, and proves what each holds consistent with the log's checkpoint,
//! either way round. This module is that rule, written once, as a step machine:
//!
//! - **Index half.** [`WitnessViews::asks`] names every witness to ask and where, known from
//!   the trust and the checkpoint alone; a client asks them all at once.
//! - **Compute half.** [`WitnessViews::answer`] takes what each answered. A checkpoint signed
//!   by the log's key comes back as a [`Pair`] to prove with the log's tiles (the
//!   [`Consistency`](super::Consistency) machine, over the newer of the two trees);
//!   [`WitnessViews::proved`] takes that verdict. [`WitnessViews::finish`] gives one
//!   [`View`] per witness asked.
//!
//! What counts as what:
//!
//! | the witness…                                  | the view                       |
//! |-----------------------------------------------|--------------------------------|
//! | holds a checkpoint consistent with the log's  | `consistent: true`             |
//! | holds one the log's is not consistent with    | [`SplitView`]: the verdict FORK |
//! | did not answer, or answered 404 (holds none)  | a note, not a failure          |
//! | serves a checkpoint the log's key did not sign | a note: it proves nothing     |
//! | holds a newer tree whose tiles the log lacks  | a note: not provable from here |
//!
//! A witness that cannot be reached cannot hide a fork from the quorum check itself
//! (which needs its cosignature on the checkpoint served); this check only adds what the
//! reachable witnesses know.

use super::{ConsistencyError, Inconsistency};
use crate::checkpoint::VerifiedCheckpoint;
use crate::hash::sha256;
use crate::trust::Trust;
use serde_json::{Map, Value};

/// How long a verifier waits for each witness's answer, in milliseconds.
pub const ASK_TIMEOUT_MS: u32 = 4000;
/// The largest answer read from a witness (a checkpoint note is far smaller).
pub const MAX_ANSWER: usize = crate::checkpoint::MAX_CHECKPOINT_TEXT;

/// A witness to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    /// Its name in the policy.
    pub witness: String,
    /// Its URL prefix, from the policy.
    pub url: String,
    /// The path of its monitoring read under `url`: `<hex SHA-256(origin)>/checkpoint`.
    pub path: String,
}

impl Ask {
    /// `url` and `path` joined by one `/`.
    pub fn full_url(&self) -> String {
        format!("{}/{}", self.url.trim_end_matches('/'), self.path)
    }
}

/// What a witness answered.
#[derive(Clone, Copy, Debug)]
pub enum Answer<'a> {
    /// Its checkpoint note (the body of a 200).
    Held(&'a [u8]),
    /// A 404: it holds no checkpoint of this log.
    Nothing,
    /// No answer: unreachable, timed out, another status, an unreadable body.
    Failed(&'a str),
}

/// Two checkpoints to prove consistent: `older` ⊑ `newer`, with the tiles of `newer`'s
/// tree (one of them is the log's checkpoint, the other the witness's).
#[derive(Clone, Debug)]
pub struct Pair {
    /// The smaller (or equal) tree.
    pub older: VerifiedCheckpoint,
    /// The larger tree, whose tiles prove it.
    pub newer: VerifiedCheckpoint,
}

/// What one witness holds, as a verifier reports it (the JS module serializes it as it
/// is: `{"name", "size", "consistent", "note"}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct View {
    /// The witness's name in the policy.
    pub name: String,
    /// The size of the checkpoint it holds, if it served one signed by the log.
    pub size: Option<u64>,
    /// `Some(true)`: proved consistent with the log's checkpoint; `None`: not proved
    /// either way (the note says why). Never `Some(false)`: that is a [`SplitView`].
    pub consistent: Option<bool>,
    /// What a reader should know.
    pub note: Option<String>,
}

impl View {
    /// `{"name", "size", "consistent", "note"}`: the shape of `witnesses.views` in
    /// `verify --json` and in the JS module's results.
    /// Built member by member: `json!` would pull serde's value serializer into the
    /// browser build (4 kB gzip).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        m.insert("size".into(), self.size.map_or(Value::Null, Value::from));
        m.insert(
            "consistent".into(),
            self.consistent.map_or(Value::Null, Value::Bool),
        );
        m.insert(
            "note".into(),
            self.note.clone().map_or(Value::Null, Value::String),
        );
        Value::Object(m)
    }
}

/// A witness holds a checkpoint of another history: the evidence of a split view.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("witness {witness} holds another history: {inconsistency}")]
pub struct SplitView {
    /// The witness's name in the policy.
    pub witness: String,
    /// Both signed checkpoints (older first) and the proof.
    pub inconsistency: Box<Inconsistency>,
}

#[derive(Debug)]
enum State {
    Asked,
    Proving(u64),
    Done(View),
}

/// The split-view check of one checkpoint (see the module doc).
#[derive(Debug)]
pub struct WitnessViews {
    cp: VerifiedCheckpoint,
    asks: Vec<Ask>,
    states: Vec<State>,
}

impl WitnessViews {
    /// The check of `cp` under `t`: every witness of `t`'s quorum policy that has a URL.
    /// No quorum, or no URLs: nothing to ask.
    pub fn new(t: &Trust, cp: &VerifiedCheckpoint) -> Self {
        let path = format!("{}/checkpoint", sha256(cp.origin().as_bytes()).to_hex());
        let asks: Vec<Ask> = t
            .quorum
            .iter()
            .flat_map(|(p, _)| p.witnesses.iter())
            .filter_map(|w| {
                Some(Ask {
                    witness: w.name.clone(),
                    url: w.url.clone()?,
                    path: path.clone(),
                })
            })
            .collect();
        WitnessViews {
            cp: cp.clone(),
            states: asks.iter().map(|_| State::Asked).collect(),
            asks,
        }
    }

    /// The witnesses to ask, in the policy's order; `answer` and `proved` take an index
    /// into this list.
    pub fn asks(&self) -> &[Ask] {
        &self.asks
    }

    /// Takes witness `i`'s answer, under `t` (the trust the views were made with).
    /// `Some(pair)`: prove it with the log's tiles and hand
    /// the verdict to [`proved`](Self::proved) (or say why it could not be, with
    /// [`unproved`](Self::unproved)). `None`: witness `i`'s view is decided.
    ///
    /// # Panics
    /// If `i` is not an index into [`asks`](Self::asks).
    pub fn answer(&mut self, t: &Trust, i: usize, a: Answer<'_>) -> Option<Pair> {
        let note = |n: String| View {
            name: self.asks[i].witness.clone(),
            size: None,
            consistent: None,
            note: Some(n),
        };
        let bytes = match a {
            Answer::Held(b) => b,
            Answer::Nothing => {
                self.states[i] = State::Done(note("holds no checkpoint of this log".into()));
                return None;
            }
            Answer::Failed(why) => {
                // Said once where it was asked (HTTP clients' messages often name it).
                let at = self.asks[i].full_url();
                let said = match why.starts_with(&at) {
                    true => why.to_owned(),
                    false => format!("{at}: {why}"),
                };
                self.states[i] = State::Done(note(said));
                return None;
            }
        };
        // What the witness holds must be signed by the log: then it is the log's
        // commitment. Its cosignatures are not needed (it is the witness's own word).
        let held = match t.open_past_checkpoint(bytes) {
            Ok(h) => h,
            Err(e) => {
                self.states[i] = State::Done(note(format!(
                    "serves a checkpoint that does not verify: {e}"
                )));
                return None;
            }
        };
        self.states[i] = State::Proving(held.size());
        Some(if held.size() <= self.cp.size() {
            Pair {
                older: held,
                newer: self.cp.clone(),
            }
        } else {
            Pair {
                older: self.cp.clone(),
                newer: held,
            }
        })
    }

    /// Takes the verdict on witness `i`'s pair: a fork is the [`SplitView`]; a proof that
    /// could not be made (tiles the log does not serve, malformed) is a note.
    ///
    /// # Panics
    /// If witness `i` has no pair being proved.
    pub fn proved(&mut self, i: usize, r: Result<(), ConsistencyError>) -> Result<(), SplitView> {
        match r {
            Ok(()) => {
                let size = self.proving(i);
                let note = (size > self.cp.size()).then(|| {
                    format!(
                        "holds size {size}, newer than the {} the log served",
                        self.cp.size()
                    )
                });
                self.states[i] = State::Done(View {
                    name: self.asks[i].witness.clone(),
                    size: Some(size),
                    consistent: Some(true),
                    note,
                });
                Ok(())
            }
            Err(ConsistencyError::Inconsistent(inconsistency)) => Err(SplitView {
                witness: self.asks[i].witness.clone(),
                inconsistency,
            }),
            Err(e) => {
                self.unproved(i, &e.to_string());
                Ok(())
            }
        }
    }

    /// Witness `i`'s pair could not be proved: `why` (a tile could not be fetched).
    ///
    /// # Panics
    /// If witness `i` has no pair being proved.
    pub fn unproved(&mut self, i: usize, why: &str) {
        let size = self.proving(i);
        self.states[i] = State::Done(View {
            name: self.asks[i].witness.clone(),
            size: Some(size),
            consistent: None,
            note: Some(format!(
                "holds size {size}; its consistency with the log's {} could not be checked: {why}",
                self.cp.size()
            )),
        });
    }

    fn proving(&self, i: usize) -> u64 {
        match self.states[i] {
            State::Proving(size) => size,
            _ => panic!("witness view {i}: no pair is being proved"),
        }
    }

    /// One view per witness asked, in the policy's order. A witness whose answer was never
    /// given (or whose pair was never proved) is a note saying so.
    pub fn finish(self) -> Vec<View> {
        self.states
            .into_iter()
            .zip(self.asks)
            .map(|(s, a)| match s {
                State::Done(v) => v,
                State::Asked => View {
                    name: a.witness,
                    size: None,
                    consistent: None,
                    note: Some("not asked".into()),
                },
                State::Proving(size) => View {
                    name: a.witness,
                    size: Some(size),
                    consistent: None,
                    note: Some("its consistency with the log's was not checked".into()),
                },
            })
            .collect()
    }
}
