//! Asking the policy's witnesses to cosign a checkpoint (C2SP tlog-witness, client side).
//!
//! Every witness with a submission URL is asked in parallel, each with a deadline (5 s by
//! default, `LIVELEDGER_WITNESS_TIMEOUT_MS` to change it); once the quorum is met the
//! others get 300 ms more, so a slow witness does not hold a publish back. The old size sent is the size
//! that witness last cosigned, remembered in the key directory (`witness-sizes.json`); a
//! 409 with `text/x.tlog.size` is retried once from the size the witness reports, with a
//! proof from the ledger's own tiles. A witness that claims a size larger than the
//! ledger's, or refuses the checkpoint's root at a size it holds, is an **incident**, not
//! a retry: its answer is kept as evidence in the report.
//!
//! A cosignature is kept only if it verifies, by that witness's key, on this checkpoint.

use std::collections::BTreeMap;
use std::time::Duration;

use liveledger_core::hash::Hash;
use liveledger_core::note::Note;
use liveledger_core::policy::{Policy, PolicyWitness};

use liveledger_store::{self as store, Error, Result, Store};

/// What one witness answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Cosigned: the signature line(s), verified.
    Cosigned(String),
    /// Not asked: the policy gives it no URL.
    NoUrl,
    /// No usable answer (down, slow, an error status): why.
    Failed(String),
    /// Not answered yet when the quorum was met without it.
    Pending,
    /// It claims a history the ledger does not have: its answer, as evidence.
    Incident(String),
}

/// Every witness's answer, and whether the quorum is met with the ones that cosigned.
#[derive(Clone, Debug)]
pub struct Gathered {
    pub answers: Vec<(PolicyWitness, Answer)>,
    pub met: bool,
    pub rule: String,
}

impl Gathered {
    /// The cosignature lines to add to the checkpoint.
    pub fn lines(&self) -> String {
        self.answers
            .iter()
            .filter_map(|(_, a)| match a {
                Answer::Cosigned(l) => Some(l.as_str()),
                _ => None,
            })
            .collect()
    }

    /// One line per witness, for the command's output.
    pub fn summary(&self) -> Vec<String> {
        self.answers
            .iter()
            .map(|(w, a)| match a {
                Answer::Cosigned(_) => format!("witness {}: cosigned", w.name),
                Answer::NoUrl => format!("witness {}: not asked (no URL in the policy)", w.name),
                Answer::Pending => format!(
                    "witness {}: no answer yet; the quorum was met without it",
                    w.name
                ),
                Answer::Failed(why) => format!("witness {}: failed: {why}", w.name),
                Answer::Incident(why) => {
                    format!("witness {}: INCIDENT: {why}", w.name)
                }
            })
            .collect()
    }
}

/// How long the other witnesses may still answer once the quorum is met.
const QUORUM_GRACE: Duration = Duration::from_millis(300);

fn sizes_path(store: &Store) -> std::path::PathBuf {
    store.keys.join("witness-sizes.json")
}

fn load_sizes(store: &Store) -> BTreeMap<String, u64> {
    std::fs::read(sizes_path(store))
        .ok()
        .and_then(|b| serde_json::from_slice::<BTreeMap<String, u64>>(&b).ok())
        .unwrap_or_default()
}

fn timeout() -> Duration {
    std::env::var("LIVELEDGER_WITNESS_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(5), Duration::from_millis)
}

fn request_body(old: u64, proof: &[Hash], note: &[u8]) -> Vec<u8> {
    liveledger_core::witness::AddCheckpoint {
        old_size: old,
        proof: proof.to_vec(),
        checkpoint: note.to_vec(),
    }
    .to_bytes()
}

/// One POST; `Ok((status, content type, body))`, `Err` for no answer.
fn post(
    agent: &ureq::Agent,
    url: &str,
    body: &[u8],
) -> std::result::Result<(u16, String, String), String> {
    let url = format!("{}/add-checkpoint", url.trim_end_matches('/'));
    let r = match agent.post(&url).send_bytes(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let (status, ct) = (r.status(), r.content_type().to_owned());
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(r.into_reader(), 64 << 10),
        &mut text,
    )
    .map_err(|e| e.to_string())?;
    Ok((status, ct, text))
}

/// Asks one witness; returns its answer and the size it now holds (if known).
fn ask(
    w: &PolicyWitness,
    url: &str,
    note: &[u8],
    size: u64,
    mut old: u64,
    proof: &dyn Fn(u64) -> Result<Vec<Hash>>,
) -> (Answer, Option<u64>) {
    let agent = ureq::AgentBuilder::new()
        .timeout(timeout())
        .redirects(0)
        .build();
    for attempt in 0..2 {
        if old > size {
            return (
                Answer::Incident(format!(
                    "it holds size {old}, larger than the ledger's {size}"
                )),
                None,
            );
        }
        let p = match proof(old) {
            Ok(p) => p,
            Err(e) => {
                return (
                    Answer::Failed(format!("no consistency proof from {old}: {e}")),
                    None,
                )
            }
        };
        let (status, ct, text) = match post(&agent, url, &request_body(old, &p, note)) {
            Ok(r) => r,
            Err(e) => return (Answer::Failed(e), None),
        };
        match status {
            200 => {
                // Keep only lines that verify, by this witness, on this checkpoint.
                let mut with = note.to_vec();
                with.extend_from_slice(text.as_bytes());
                let ok = Note::parse(&with).and_then(|n| n.verify(std::slice::from_ref(&w.key)));
                return match ok {
                    Ok(_) => {
                        // Its line by the policy's key (a witness may answer
                        // with a line per key type it has).
                        let mine: String = Note::parse(&with)
                            .map(|n| {
                                n.signatures()
                                    .iter()
                                    .filter(|s| s.name == w.key.name() && s.key_id == w.key.id())
                                    .map(|s| format!("{}\n", s.to_line()))
                                    .collect()
                            })
                            .unwrap_or_default();
                        (Answer::Cosigned(mine), Some(size))
                    }
                    Err(e) => (
                        Answer::Failed(format!(
                            "its answer does not verify as its cosignature: {e}"
                        )),
                        None,
                    ),
                };
            }
            409 if ct == "text/x.tlog.size" && attempt == 0 => {
                match liveledger_core::checkpoint::parse_decimal(text.trim_end_matches('\n')) {
                    Some(held) if held > size => {
                        return (
                            Answer::Incident(format!(
                                "it holds size {held}, larger than the ledger's {size}: {text:?}"
                            )),
                            Some(held),
                        )
                    }
                    Some(held) => old = held,
                    None => {
                        return (
                            Answer::Failed(format!("409 with a malformed size {text:?}")),
                            None,
                        )
                    }
                }
            }
            409 => {
                return (
                    Answer::Incident(format!(
                        "it refused the checkpoint at size {size} from {old} (409): {}",
                        text.trim()
                    )),
                    None,
                )
            }
            422 => {
                return (
                    Answer::Incident(format!(
                        "it refused the consistency proof from {old} to {size} (422): {}",
                        text.trim()
                    )),
                    None,
                )
            }
            s => return (Answer::Failed(format!("HTTP {s}: {}", text.trim())), None),
        }
    }
    (Answer::Failed("it kept answering 409".into()), None)
}

/// Asks every witness of `policy` to cosign `note` (the log-signed checkpoint of `size`),
/// in parallel, and returns [`QUORUM_GRACE`] after the quorum is met (a slow witness does
/// not hold the publish back; it is reported as not having answered yet), or when every
/// witness has answered or timed out. Remembers the sizes they hold.
pub fn gather(
    store: &Store,
    policy: &Policy,
    note: &[u8],
    size: u64,
    proof: std::sync::Arc<dyn Fn(u64) -> Result<Vec<Hash>> + Send + Sync>,
) -> Result<Gathered> {
    let mut sizes = load_sizes(store);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Answer, Option<u64>)>();
    let mut answers: Vec<Option<Answer>> = vec![None; policy.witnesses.len()];
    for (i, w) in policy.witnesses.iter().enumerate() {
        let Some(url) = w.url.clone() else {
            answers[i] = Some(Answer::NoUrl);
            continue;
        };
        let old = sizes.get(&w.key.to_string()).copied().unwrap_or(0);
        let (w, note, proof, tx) = (w.clone(), note.to_vec(), proof.clone(), tx.clone());
        std::thread::spawn(move || {
            let (a, held) = ask(&w, &url, &note, size, old, &*proof);
            let _ = tx.send((i, a, held));
        });
    }
    drop(tx);
    let cosigned = |answers: &[Option<Answer>]| -> Vec<_> {
        answers
            .iter()
            .zip(&policy.witnesses)
            .filter(|(a, _)| matches!(a, Some(Answer::Cosigned(_))))
            .map(|(_, w)| w.key.clone())
            .collect()
    };
    // Each asker has its own deadline; this one only guards against a stuck thread. Once
    // the quorum is met, the others get a short grace (their cosignatures help verifiers
    // with other policies), not the full deadline.
    let mut until = std::time::Instant::now() + timeout() * 3 + Duration::from_secs(1);
    let mut met = false;
    while answers.iter().any(Option::is_none) {
        let left = until.saturating_duration_since(std::time::Instant::now());
        let Ok((i, a, held)) = rx.recv_timeout(left) else {
            break;
        };
        if let Some(h) = held {
            sizes.insert(policy.witnesses[i].key.to_string(), h);
        }
        answers[i] = Some(a);
        if !met && policy.evaluate(&cosigned(&answers)).met {
            met = true;
            until = until.min(std::time::Instant::now() + QUORUM_GRACE);
        }
    }
    let text = serde_json::to_vec(&sizes).map_err(|e| Error::Io(e.to_string()))?;
    store::write_atomic(&sizes_path(store), &text)?;
    let r = policy.evaluate(&cosigned(&answers));
    Ok(Gathered {
        answers: policy
            .witnesses
            .iter()
            .cloned()
            .zip(answers.into_iter().map(|a| a.unwrap_or(Answer::Pending)))
            .collect(),
        met: r.met,
        rule: r.rule,
    })
}
