//! C2SP tlog-witness: the `add-checkpoint` request, and every rule a witness applies to it.
//!
//! A request body is an old size line, zero to 63 consistency proof lines, an empty
//! line, and a signed checkpoint:
//!
//! ```text
//! old 20852014
//! PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
//! …
//!
//! example.com/behind-the-sofa
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZ…
//! ```
//!
//! [`check`] decides, from the witness's trusted log keys and what it holds for the
//! origin, whether to cosign; each refusal is a [`Refusal`] with the HTTP status the spec
//! gives it and the evidence. The caller (`liveledger witness serve`) does the I/O: it
//! must run `check` and persist the accepted checkpoint atomically per origin (the spec's
//! rollback race), before it answers with [`cosign`]'s lines.
//!
//! Held state per origin is the latest cosigned checkpoint, with the log's signatures and
//! the witness's cosignature: [`Held`]. A witness that never cosigned holds size 0.

use crate::b64;
use crate::checkpoint::{parse_decimal, Checkpoint, CheckpointError, VerifiedCheckpoint};
use crate::hash::Hash;
use crate::merkle::{self, ProofError};
use crate::note::{
    Note, NoteError, SignerKey, VerifierKey, ALG_COSIGNATURE_V1, ALG_MLDSA44_SUBTREE, MAX_NOTE_SIZE,
};

/// The most consistency proof lines a request may carry (the spec's bound).
pub const MAX_PROOF_LINES: usize = 63;
/// The largest request body accepted: a checkpoint note of up to 64 KiB, the old size
/// line and 63 proof lines.
pub const MAX_REQUEST: usize = (64 << 10) + 32 + MAX_PROOF_LINES * 45;

/// A parsed `add-checkpoint` body. The checkpoint is not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the client believes the witness holds.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub checkpoint: Vec<u8>,
}

/// What a witness holds for one origin: the latest checkpoint it cosigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The checkpoint's body.
    pub checkpoint: Checkpoint,
    /// The note as the witness keeps and serves it: the log's signatures and its own.
    pub note: Vec<u8>,
}

/// Why a witness does not cosign, with the status tlog-witness gives each case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The body does not have the request's form (400).
    #[error("malformed add-checkpoint request: {0}")]
    Malformed(String),
    /// No trusted log has the checkpoint's origin (404).
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// No signature by a trusted key verified, or one by a trusted key failed (403).
    #[error("checkpoint is not signed by a trusted key of its log: {0}")]
    NotSigned(NoteError),
    /// The checkpoint's body is not a checkpoint (400).
    #[error("checkpoint: {0}")]
    BadCheckpoint(CheckpointError),
    /// The old size is above the checkpoint's size (400).
    #[error("old size {old_size} is larger than the checkpoint's size {size}")]
    OldSizeAboveSize {
        /// The old size sent.
        old_size: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The old size is not the size the witness holds (409, `text/x.tlog.size`).
    #[error("old size {old_size} is not the size this witness holds, {held}")]
    Conflict {
        /// The old size sent.
        old_size: u64,
        /// The size held.
        held: u64,
    },
    /// The checkpoint has the held size but another root: a fork (409). The evidence is
    /// both checkpoints.
    #[error("checkpoint of size {size} has root {found}, but this witness cosigned root {held} at that size")]
    SameSizeOtherRoot {
        /// The size.
        size: u64,
        /// The root cosigned before.
        held: Hash,
        /// The root sent now.
        found: Hash,
    },
    /// The consistency proof does not verify (422); also a non-empty proof from size 0.
    #[error("consistency proof from {old_size} to {size} does not verify: {why}")]
    BadProof {
        /// The old size.
        old_size: u64,
        /// The checkpoint's size.
        size: u64,
        /// What failed.
        why: String,
    },
}

impl Refusal {
    /// The HTTP status tlog-witness assigns.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_)
            | Refusal::BadCheckpoint(_)
            | Refusal::OldSizeAboveSize { .. } => 400,
            Refusal::UnknownOrigin(_) => 404,
            Refusal::NotSigned(_) => 403,
            Refusal::Conflict { .. } | Refusal::SameSizeOtherRoot { .. } => 409,
            Refusal::BadProof { .. } => 422,
        }
    }

    /// A short, bounded name of the outcome, for metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) | Refusal::BadCheckpoint(_) => "malformed",
            Refusal::UnknownOrigin(_) => "unknown_origin",
            Refusal::NotSigned(_) => "not_signed",
            Refusal::OldSizeAboveSize { .. } => "old_size_above_size",
            Refusal::Conflict { .. } => "conflict",
            Refusal::SameSizeOtherRoot { .. } => "fork",
            Refusal::BadProof { .. } => "bad_proof",
        }
    }

    /// Whether the refused checkpoint was validly signed by its log, and so is evidence
    /// worth keeping (a fork, a bad proof, a size conflict).
    pub fn is_evidence(&self) -> bool {
        matches!(
            self,
            Refusal::SameSizeOtherRoot { .. } | Refusal::BadProof { .. } | Refusal::Conflict { .. }
        )
    }
}

impl AddCheckpoint {
    /// The request body, as [`parse_add_checkpoint`] reads it (the writer is checked by
    /// the reader in the tests).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = format!("old {}\n", self.old_size);
        for h in &self.proof {
            b.push_str(&b64::encode(h.0));
            b.push('\n');
        }
        b.push('\n');
        let mut b = b.into_bytes();
        b.extend_from_slice(&self.checkpoint);
        b
    }
}

fn malformed(why: impl Into<String>) -> Refusal {
    Refusal::Malformed(why.into())
}

/// Parses an `add-checkpoint` body (strictly: canonical decimal, padded base64 hashes,
/// newline-terminated lines, at most 63 proof lines, at most [`MAX_REQUEST`] bytes).
pub fn parse_add_checkpoint(body: &[u8]) -> Result<AddCheckpoint, Refusal> {
    if body.len() > MAX_REQUEST {
        return Err(malformed(format!(
            "{} bytes, more than the {MAX_REQUEST} accepted",
            body.len()
        )));
    }
    let mut rest = body;
    let mut line = || -> Result<&[u8], Refusal> {
        let i = rest.iter().position(|&b| b == b'\n').ok_or_else(|| {
            malformed("expected a line ending in a newline before the checkpoint")
        })?;
        let (l, r) = rest.split_at(i);
        rest = &r[1..];
        Ok(l)
    };
    let first = line()?;
    let old = std::str::from_utf8(first)
        .ok()
        .and_then(|l| l.strip_prefix("old "))
        .ok_or_else(|| {
            malformed(format!(
                "expected \"old <size>\" as the first line, found {:?}",
                cut(first)
            ))
        })?;
    let old_size = parse_decimal(old)
        .ok_or_else(|| malformed(format!("old size {old:?} is not a canonical decimal")))?;
    let mut proof = Vec::new();
    loop {
        let l = line()?;
        if l.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(malformed(format!(
                "more than {MAX_PROOF_LINES} consistency proof lines"
            )));
        }
        let bytes = std::str::from_utf8(l)
            .ok()
            .and_then(|s| b64::decode(s).ok())
            .ok_or_else(|| {
                malformed(format!(
                    "proof line {}: expected a base64 hash, found {:?}",
                    proof.len() + 1,
                    cut(l)
                ))
            })?;
        let h: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            malformed(format!(
                "proof line {}: {} bytes, expected 32",
                proof.len() + 1,
                b.len()
            ))
        })?;
        proof.push(Hash(h));
    }
    if rest.is_empty() {
        return Err(malformed("no checkpoint after the empty line"));
    }
    if rest.len() > MAX_NOTE_SIZE {
        return Err(malformed("checkpoint note too large"));
    }
    Ok(AddCheckpoint {
        old_size,
        proof,
        checkpoint: rest.to_vec(),
    })
}

fn cut(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(60)]).into_owned()
}

/// The origin a checkpoint note names (its first line), without verifying anything.
pub fn origin_of(note: &[u8]) -> Option<&str> {
    let end = note.iter().position(|&b| b == b'\n')?;
    std::str::from_utf8(&note[..end])
        .ok()
        .filter(|o| !o.is_empty())
}

/// Decides whether to cosign `req`: `logs` are the log keys the witness trusts (a log's
/// origin is its key's name), `held` what it holds for the request's origin. On success,
/// the verified checkpoint to cosign and persist.
pub fn check(
    logs: &[VerifierKey],
    held: Option<&Held>,
    req: &AddCheckpoint,
) -> Result<VerifiedCheckpoint, Refusal> {
    let origin = origin_of(&req.checkpoint)
        .ok_or_else(|| malformed("the checkpoint has no origin line"))?
        .to_owned();
    let keys: Vec<VerifierKey> = logs
        .iter()
        .filter(|k| k.name() == origin)
        .cloned()
        .collect();
    if keys.is_empty() {
        return Err(Refusal::UnknownOrigin(origin));
    }
    let note =
        Note::parse(&req.checkpoint).map_err(|e| malformed(format!("checkpoint note: {e}")))?;
    let verified = note.verify(&keys).map_err(Refusal::NotSigned)?;
    let cp = VerifiedCheckpoint::from_note(verified, &origin).map_err(Refusal::BadCheckpoint)?;
    let size = cp.size();
    if req.old_size > size {
        return Err(Refusal::OldSizeAboveSize {
            old_size: req.old_size,
            size,
        });
    }
    let held_size = held.map_or(0, |h| h.checkpoint.size);
    if req.old_size != held_size {
        return Err(Refusal::Conflict {
            old_size: req.old_size,
            held: held_size,
        });
    }
    let bad = |why: String| Refusal::BadProof {
        old_size: req.old_size,
        size,
        why,
    };
    match held {
        None => {
            if !req.proof.is_empty() {
                return Err(bad(format!(
                    "a proof from size 0 must be empty; it has {} lines",
                    req.proof.len()
                )));
            }
        }
        Some(h) if h.checkpoint.size == size => {
            if h.checkpoint.root != cp.root() {
                return Err(Refusal::SameSizeOtherRoot {
                    size,
                    held: h.checkpoint.root,
                    found: cp.root(),
                });
            }
            if !req.proof.is_empty() {
                return Err(bad("the sizes are equal: the proof must be empty".into()));
            }
        }
        Some(h) if h.checkpoint.size == 0 => {
            if !req.proof.is_empty() {
                return Err(bad(format!(
                    "a proof from size 0 must be empty; it has {} lines",
                    req.proof.len()
                )));
            }
        }
        Some(h) => merkle::verify_consistency(
            h.checkpoint.size,
            size,
            &h.checkpoint.root,
            &cp.root(),
            &req.proof,
        )
        .map_err(|e: ProofError| bad(e.to_string()))?,
    }
    Ok(cp)
}

/// The witness's answer to an accepted checkpoint: a cosignature line by each of `keys`
/// (an Ed25519 `cosignature/v1` key, an ML-DSA-44 `subtree/v1` key, or both), each
/// ending in a newline, and what it holds from now on: the checkpoint with the log's
/// signatures that verified and these cosignatures (no other signature the client sent).
pub fn cosign(
    keys: &[&SignerKey],
    cp: &VerifiedCheckpoint,
    timestamp: u64,
) -> Result<(String, Held), NoteError> {
    let verified = cp.note().verified();
    let mut note = cp.note().note().clone();
    note.retain_signatures(|s| {
        verified
            .iter()
            .any(|v| v.key.name() == s.name && v.key.id() == s.key_id)
    });
    let mut lines = String::new();
    for key in keys {
        let kind = key.verifier().key_type();
        if kind != ALG_COSIGNATURE_V1 && kind != ALG_MLDSA44_SUBTREE {
            return Err(NoteError::UnsupportedKeyType(kind));
        }
        note.add_signature(key, timestamp)?;
        if let Some(s) = note.signatures().last() {
            lines.push_str(&s.to_line());
            lines.push('\n');
        }
    }
    Ok((
        lines,
        Held {
            checkpoint: cp.checkpoint().clone(),
            note: note.to_bytes(),
        },
    ))
}

/// Reads held state back (the note a witness persisted), trusting it as its own: the
/// body is parsed, the signatures are not checked again.
pub fn held_from_note(note: &[u8]) -> Result<Held, Refusal> {
    let n = Note::parse(note).map_err(|e| malformed(format!("held note: {e}")))?;
    let checkpoint = Checkpoint::parse(n.text_unverified()).map_err(Refusal::BadCheckpoint)?;
    Ok(Held {
        checkpoint,
        note: note.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::note::{NoteSignature, ALG_ED25519};

    const ORIGIN: &str = "example.com/witnessed";

    fn log_key() -> SignerKey {
        SignerKey::from_seed(ORIGIN, ALG_ED25519, [1; 32]).unwrap()
    }
    fn witness_key() -> SignerKey {
        SignerKey::from_seed("witness.example/w1", ALG_COSIGNATURE_V1, [2; 32]).unwrap()
    }

    fn leaves(n: u64, fork: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| {
                leaf_hash(format!("entry {i} {}", if i >= fork { "b" } else { "a" }).as_bytes())
            })
            .collect()
    }

    /// A signed checkpoint of the first `size` of `l`.
    fn signed(l: &[Hash], size: u64, key: &SignerKey) -> Vec<u8> {
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: merkle::tree_hash(&l[..size as usize]),
            extensions: vec![],
        };
        Note::sign(&cp.to_text(), &[key], 0).unwrap().to_bytes()
    }

    fn body(old: u64, proof: &[Hash], cp: &[u8]) -> Vec<u8> {
        let req = AddCheckpoint {
            old_size: old,
            proof: proof.to_vec(),
            checkpoint: cp.to_vec(),
        };
        let b = req.to_bytes();
        // The writer is checked by the reader (within the reader's caps).
        if proof.len() <= MAX_PROOF_LINES {
            assert_eq!(parse_add_checkpoint(&b).as_ref(), Ok(&req));
        }
        b
    }

    fn proof(l: &[Hash], a: u64, b: u64) -> Vec<Hash> {
        merkle::consistency_proof(l, a, b).unwrap().unwrap()
    }

    /// Runs a request against `held`; on success, cosigns and returns the new state.
    fn submit(held: Option<&Held>, b: &[u8]) -> Result<Held, Refusal> {
        let req = parse_add_checkpoint(b)?;
        let cp = check(&[log_key().verifier()], held, &req)?;
        Ok(cosign(&[&witness_key()], &cp, 1_700_000_000).unwrap().1)
    }

    #[test]
    fn every_growth_of_small_trees_is_cosigned_and_every_wrong_proof_refused() {
        let l = leaves(20, u64::MAX);
        let key = log_key();
        for a in 0..=20u64 {
            let held = match a {
                0 => None,
                _ => Some(submit(None, &body(0, &[], &signed(&l, a, &key))).unwrap()),
            };
            for b in a..=20u64 {
                let p = if a == 0 || a == b {
                    vec![]
                } else {
                    proof(&l, a, b)
                };
                let ok = submit(held.as_ref(), &body(a, &p, &signed(&l, b, &key)));
                let h = ok.unwrap_or_else(|e| panic!("{a} -> {b}: {e}"));
                assert_eq!(h.checkpoint.size, b);
                // Every hash of the proof flipped in one bit: refused with 422.
                for i in 0..p.len() {
                    let mut bad = p.clone();
                    bad[i].0[i % 32] ^= 1;
                    let r = submit(held.as_ref(), &body(a, &bad, &signed(&l, b, &key)));
                    assert_eq!(
                        r.map(|_| ()).unwrap_err().status(),
                        422,
                        "{a} -> {b}, hash {i}"
                    );
                }
                // One hash short or one too many.
                if !p.is_empty() {
                    let r = submit(held.as_ref(), &body(a, &p[1..], &signed(&l, b, &key)));
                    assert_eq!(r.unwrap_err().status(), 422);
                }
                let mut long = p.clone();
                long.push(l[0]);
                let r = submit(held.as_ref(), &body(a, &long, &signed(&l, b, &key)));
                assert_eq!(
                    r.unwrap_err().status(),
                    422,
                    "{a} -> {b} with an extra hash"
                );
            }
        }
    }

    #[test]
    fn each_refusal_has_the_status_the_spec_gives_it() {
        let l = leaves(10, u64::MAX);
        let forked = leaves(10, 5);
        let key = log_key();
        let held = submit(None, &body(0, &[], &signed(&l, 6, &key))).unwrap();
        let h = Some(&held);
        let status = |held: Option<&Held>, b: Vec<u8>| {
            submit(held, &b).map(|_| 200).unwrap_or_else(|e| e.status())
        };
        // Unknown origin: 404.
        let other = SignerKey::from_seed("other.example/log", ALG_ED25519, [3; 32]).unwrap();
        let mut cp = signed(&l, 8, &other);
        cp = String::from_utf8(cp)
            .unwrap()
            .replacen(ORIGIN, "other.example/log", 1)
            .into_bytes();
        assert_eq!(status(h, body(6, &proof(&l, 6, 8), &cp)), 404);
        // Signed by an unknown key of the right name: 403; a bad signature by the key: 403.
        let impostor = SignerKey::from_seed(ORIGIN, ALG_ED25519, [9; 32]).unwrap();
        assert_eq!(
            status(h, body(6, &proof(&l, 6, 8), &signed(&l, 8, &impostor))),
            403
        );
        let mut bad = signed(&l, 8, &key);
        let n = bad.len();
        bad[n - 5] ^= 1;
        let r = submit(h, &body(6, &proof(&l, 6, 8), &bad));
        assert!(
            matches!(r, Err(Refusal::NotSigned(_)) | Err(Refusal::Malformed(_))),
            "{r:?}"
        );
        // Old size above the checkpoint: 400.
        assert_eq!(status(h, body(9, &[], &signed(&l, 8, &key))), 400);
        // Old size not the one held: 409 with the held size.
        let r = submit(h, &body(4, &proof(&l, 4, 8), &signed(&l, 8, &key)));
        assert_eq!(
            r.unwrap_err(),
            Refusal::Conflict {
                old_size: 4,
                held: 6
            }
        );
        assert_eq!(
            status(None, body(3, &proof(&l, 3, 8), &signed(&l, 8, &key))),
            409
        );
        // Same size, other root: 409, and it is evidence.
        let r = submit(h, &body(6, &[], &signed(&forked, 6, &key))).unwrap_err();
        assert_eq!((r.status(), r.is_evidence()), (409, true));
        // Same size, same root: cosigned again (a client re-asking).
        assert_eq!(status(h, body(6, &[], &signed(&l, 6, &key))), 200);
        // A fork past the held size: the proof cannot verify (422, evidence).
        let r = submit(
            h,
            &body(6, &proof(&forked, 6, 9), &signed(&forked, 9, &key)),
        )
        .unwrap_err();
        assert_eq!((r.status(), r.is_evidence()), (422, true));
        // A non-empty proof from size 0: 422.
        assert_eq!(status(None, body(0, &[l[0]], &signed(&l, 8, &key))), 422);
        // Malformed bodies: 400.
        for b in [
            &b""[..],
            b"old 1",
            b"old 01\n\n",
            b"new 1\n\n",
            b"old 1\nnot base64!\n\nx\n",
            b"old 1\nAAAA\n\nx\n",
            b"old 1\n\n",
        ] {
            assert_eq!(
                submit(h, b).unwrap_err().status(),
                400,
                "{:?}",
                String::from_utf8_lossy(b)
            );
        }
        let many = body(6, &vec![l[0]; 64], &signed(&l, 8, &key));
        assert!(matches!(
            parse_add_checkpoint(&many),
            Err(Refusal::Malformed(_))
        ));
        let most = body(6, &vec![l[0]; 63], &signed(&l, 8, &key));
        assert_eq!(parse_add_checkpoint(&most).unwrap().proof.len(), 63);
    }

    #[test]
    fn the_cosignature_verifies_and_the_held_note_keeps_only_what_verified() {
        let l = leaves(4, u64::MAX);
        let key = log_key();
        let mut cp = Note::parse(&signed(&l, 4, &key)).unwrap();
        // The client adds a signature the witness does not know: not kept.
        let stranger = SignerKey::from_seed("stranger", ALG_ED25519, [5; 32]).unwrap();
        cp.add_signature(&stranger, 0).unwrap();
        let req = parse_add_checkpoint(&body(0, &[], &cp.to_bytes())).unwrap();
        let v = check(&[key.verifier()], None, &req).unwrap();
        // One witness, both cosignature types: a line each.
        let pq = SignerKey::from_seed("witness.example/w1", ALG_MLDSA44_SUBTREE, [3; 32]).unwrap();
        let (lines, held) = cosign(&[&witness_key(), &pq], &v, 1_700_000_123).unwrap();
        assert_eq!(lines.lines().count(), 2);
        assert!(
            lines
                .lines()
                .all(|l| l.starts_with("— witness.example/w1 "))
                && lines.ends_with('\n')
        );
        // The client appends the lines to its checkpoint and verifies them with either key.
        let mut with = signed(&l, 4, &key);
        with.extend_from_slice(lines.as_bytes());
        for k in [witness_key().verifier(), pq.verifier()] {
            let n = Note::parse(&with).unwrap().verify(&[k]).unwrap();
            assert_eq!(n.verified()[0].timestamp, Some(1_700_000_123));
        }
        let kept = Note::parse(&held.note).unwrap();
        let names: Vec<&str> = kept
            .signatures()
            .iter()
            .map(|s: &NoteSignature| s.name.as_str())
            .collect();
        assert_eq!(names, [ORIGIN, "witness.example/w1", "witness.example/w1"]);
        assert_eq!(held_from_note(&held.note).unwrap(), held);
        // Only a cosignature key may cosign.
        assert!(cosign(&[&key], &v, 0).is_err());
    }
}
