//! Errors: [`LedgerError`], the core's `code` (`liveledger_core::verdict`) with a message
//! and the evidence each core error carries (signed checkpoints, proofs, expected and
//! found). It becomes a JS `Error` only at the edge (`From<LedgerError> for JsValue`).

use super::*;

/// Why a call did not verify, or could not: the core's code, a message for people, and
/// the evidence where there is some (a JSON object: signed checkpoints, proofs, the path
/// of the file, expected and found values).
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerError {
    pub code: Code,
    pub message: String,
    pub evidence: Option<Value>,
}

impl LedgerError {
    /// Adds `name: value` to the evidence (an object, made if there is none).
    pub(crate) fn with_evidence(mut self, name: &str, value: Value) -> LedgerError {
        let ev = self
            .evidence
            .get_or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = ev {
            m.insert(name.to_owned(), value);
        }
        self
    }
}

impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// The JS form: an `Error` named `LedgerError` with `code` and, where there is some,
/// `evidence` (a plain object).
impl From<LedgerError> for JsValue {
    fn from(e: LedgerError) -> JsValue {
        let js = js_sys::Error::new(&e.message);
        let _ = Reflect::set(&js, &"code".into(), &e.code.as_str().into());
        let _ = Reflect::set(&js, &"name".into(), &"LedgerError".into());
        if let Some(ev) = &e.evidence {
            let _ = Reflect::set(&js, &"evidence".into(), &to_js(&JsonValue(ev)));
        }
        js.into()
    }
}

pub(crate) fn error(code: Code, message: &str, evidence: Option<Value>) -> LedgerError {
    LedgerError {
        code,
        message: message.to_owned(),
        evidence,
    }
}

pub(crate) fn checkpoint_error(e: CheckpointError) -> LedgerError {
    let evidence = match &e {
        CheckpointError::WrongOrigin { expected, found } => {
            Some(obj!("expected": expected.as_str(), "found": found.as_str()))
        }
        _ => None,
    };
    error(verdict::checkpoint_code(&e), &e.to_string(), evidence)
}

/// A [`TrustError`] as a `LedgerError`; `what` names the document in the message.
pub(crate) fn trust_error(e: &TrustError, what: &str) -> LedgerError {
    // The code is the core's; this adds only the message and the evidence.
    let code = verdict::trust_code(e);
    let message = match e {
        TrustError::NoKey => {
            "the log publishes no metadata; pass its verifier key in `keys`".to_owned()
        }
        _ => format!("{what}: {e}"),
    };
    let evidence = match e {
        TrustError::NoKey | TrustError::MetadataNote(_) | TrustError::Metadata(_) => None,
        TrustError::Checkpoint(CheckpointError::WrongOrigin { expected, found }) => {
            Some(obj!("expected": expected.as_str(), "found": found.as_str()))
        }
        TrustError::Quorum {
            rule,
            found,
            cosigned,
            missing,
        } => Some(
            obj!("path": what, "rule": rule.as_str(), "found": *found, "cosigned": cosigned.as_slice(), "missing": missing.as_slice()),
        ),
        _ => Some(obj!("path": what)),
    };
    error(code, &message, evidence)
}

pub(crate) fn inconsistency_error(inc: &liveledger_core::audit::Inconsistency) -> LedgerError {
    let code = verdict::inconsistency_code(inc);
    error(code, &inc.to_string(), Some(inconsistency_evidence(inc)))
}

/// Both signed checkpoints and the proof: what an inconsistency is shown with.
pub(crate) fn inconsistency_evidence(inc: &liveledger_core::audit::Inconsistency) -> Value {
    obj!(
        "oldCheckpoint": String::from_utf8_lossy(&inc.old_checkpoint),
        "newCheckpoint": String::from_utf8_lossy(&inc.new_checkpoint),
        "proof": inc.proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
    )
}

pub(crate) fn consistency_error(e: &ConsistencyError) -> LedgerError {
    match e {
        ConsistencyError::Inconsistent(inc) => inconsistency_error(inc),
        ConsistencyError::BadTile { path, .. } => error(
            Code::Tampered,
            &e.to_string(),
            Some(obj!("path": path.to_string())),
        ),
        _ => error(Code::BadInput, &e.to_string(), None),
    }
}

/// A failed inclusion proof as a `LedgerError`, with its evidence.
pub(crate) fn inclusion_error(e: &InclusionError) -> LedgerError {
    let evidence = match e {
        InclusionError::NotIncluded {
            index,
            segment,
            proof,
            ..
        } => Some(
            obj!("index": *index, "segment": *segment, "proof": proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>()),
        ),
        InclusionError::BadBundle { path, .. } => {
            Some(obj!("segment": path.index(), "path": path.to_string()))
        }
        InclusionError::BadTile { path, .. } => Some(obj!("path": path.to_string())),
        _ => None,
    };
    error(verdict::inclusion_code(e), &e.to_string(), evidence)
}

/// A session's failure (`liveledger_core::session::Failure`) as a `LedgerError`: the
/// core's code, a message naming the file at `base` where there is one, the evidence.
pub(crate) fn session_error(f: &Failure, base: &str) -> LedgerError {
    match f {
        Failure::Trust(e) => {
            let what = match e {
                TrustError::NoKey
                | TrustError::MetadataNote(_)
                | TrustError::Metadata(_)
                | TrustError::MetadataSignature(_) => "metadata",
                _ => "checkpoint",
            };
            trust_error(e, what)
        }
        Failure::NotServed { path } | Failure::TooLarge { path, .. } => {
            error(f.code(), &f.to_string(), Some(obj!("path": path.as_str())))
        }
        Failure::Unreachable { path, why } => error(
            Code::FetchFailed,
            why,
            Some(obj!("url": format!("{base}/{path}"))),
        ),
        Failure::Consistency { error: e, .. } => consistency_error(e),
        Failure::SplitView(split) => inconsistency_error(&split.inconsistency)
            .with_evidence("witness", split.witness.as_str().into()),
        _ => error(f.code(), &f.to_string(), None),
    }
}

pub(crate) fn failure_error(r: &AuditReport) -> LedgerError {
    let Some(f) = r.failure.as_ref() else {
        return error(Code::Tampered, "the audit failed", None);
    };
    error(
        verdict::audit_code(f),
        &f.to_string(),
        Some(obj!(
            "segment": f.location.bundle,
            "entry": f.location.entry,
            "path": f.location.step.map(|s| s.path().to_string()),
            "detail": f.error.to_string(),
            "size": r.size,
            "root": r.root.to_base64(),
        )),
    )
}

/// A digest history's failure: the core's codes, its message, the file it is about, and
/// for a fork or rollback both signed digests and the proof.
pub(crate) fn history_failure(e: &HistoryError) -> HistoryFailure {
    let mut evidence = match e {
        HistoryError::Consistency { source, .. } => match &**source {
            ConsistencyError::Inconsistent(inc) => inconsistency_evidence(inc),
            _ => Value::Object(Map::new()),
        },
        _ => Value::Object(Map::new()),
    };
    evidence["path"] = e.path().into();
    HistoryFailure {
        code: verdict::history_code(e),
        alarm: verdict::history_alarm(e),
        message: e.to_string(),
        evidence,
    }
}
