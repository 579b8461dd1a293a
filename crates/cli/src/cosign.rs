//! Asking the policy's witnesses to cosign a checkpoint (C2SP tlog-witness, client side).
//!
//! Every witness with a submission URL is asked in parallel, each with a deadline (5 s by
//! default, `LIVELEDGER_WITNESS_TIMEOUT_MS` to change it). The old size sent is the size
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

use crate::error::{CliError, Result};
use crate::store::{self, Store};

/// What one witness answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Cosigned: the signature line(s), verified.
    Cosigned(String),
    /// Not asked: the policy gives it no URL.
    NoUrl,
    /// No usable answer (down, slow, an error status): why.
    Failed(String),
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
                Answer::Failed(why) => format!("witness {}: failed: {why}", w.name),
                Answer::Incident(why) => {
                    format!("witness {}: INCIDENT: {why}", w.name)
                }
            })
            .collect()
    }
}

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
                        let mine: String = text
                            .lines()
                            .filter(|l| l.starts_with(&format!("— {} ", w.key.name())))
                            .map(|l| format!("{l}\n"))
                            .collect();
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
/// in parallel; remembers the sizes they hold.
pub fn gather(
    store: &Store,
    policy: &Policy,
    note: &[u8],
    size: u64,
    proof: &(dyn Fn(u64) -> Result<Vec<Hash>> + Sync),
) -> Result<Gathered> {
    let mut sizes = load_sizes(store);
    let answers: Vec<(PolicyWitness, Answer, Option<u64>)> = std::thread::scope(|s| {
        let handles: Vec<_> = policy
            .witnesses
            .iter()
            .map(|w| {
                let old = sizes.get(&w.key.to_string()).copied().unwrap_or(0);
                s.spawn(move || match &w.url {
                    None => (w.clone(), Answer::NoUrl, None),
                    Some(url) => {
                        let (a, held) = ask(w, url, note, size, old, proof);
                        (w.clone(), a, held)
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(&policy.witnesses)
            .map(|(h, w)| {
                h.join().unwrap_or_else(|_| {
                    (
                        w.clone(),
                        Answer::Failed("the request thread panicked".into()),
                        None,
                    )
                })
            })
            .collect()
    });
    for (w, _, held) in &answers {
        if let Some(h) = held {
            sizes.insert(w.key.to_string(), *h);
        }
    }
    let text = serde_json::to_vec(&sizes).map_err(|e| CliError::Io(e.to_string()))?;
    store::write_atomic(&sizes_path(store), &text)?;
    let cosigned: Vec<_> = answers
        .iter()
        .filter(|(_, a, _)| matches!(a, Answer::Cosigned(_)))
        .map(|(w, _, _)| w.key.clone())
        .collect();
    let r = policy.evaluate(&cosigned);
    Ok(Gathered {
        answers: answers.into_iter().map(|(w, a, _)| (w, a)).collect(),
        met: r.met,
        rule: r.rule,
    })
}
