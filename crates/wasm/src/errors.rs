//! Errors as JS: `Error`s with the core's `code` (`liveledger_core::verdict`) and the
//! evidence each core error carries (signed checkpoints, proofs, expected and found).

use super::*;

/// A JS Error with a code and optional evidence.
pub(crate) fn error(code: Code, message: &str, evidence: Option<Value>) -> JsValue {
    let e = js_sys::Error::new(message);
    let _ = Reflect::set(&e, &"code".into(), &code.as_str().into());
    let _ = Reflect::set(&e, &"name".into(), &"LedgerError".into());
    if let Some(ev) = evidence {
        let _ = Reflect::set(&e, &"evidence".into(), &to_js(&ev));
    }
    e.into()
}

pub(crate) fn checkpoint_error(e: CheckpointError) -> JsValue {
    let evidence = match &e {
        CheckpointError::WrongOrigin { expected, found } => {
            Some(obj!("expected": expected.as_str(), "found": found.as_str()))
        }
        _ => None,
    };
    error(verdict::checkpoint_code(&e), &e.to_string(), evidence)
}

/// A [`TrustError`] as a `LedgerError`; `what` names the document in the message.
pub(crate) fn trust_error(e: TrustError, what: &str) -> JsValue {
    // The code is the core's; this adds only the message and the evidence.
    let code = verdict::trust_code(&e);
    let message = match &e {
        TrustError::NoKey => {
            "the log publishes no metadata; pass its verifier key in `keys`".to_owned()
        }
        _ => format!("{what}: {e}"),
    };
    let evidence = match e {
        TrustError::NoKey | TrustError::MetadataNote(_) | TrustError::Metadata(_) => None,
        TrustError::Checkpoint(CheckpointError::WrongOrigin { expected, found }) => {
            Some(obj!("expected": expected, "found": found))
        }
        TrustError::Quorum {
            rule,
            found,
            cosigned,
            missing,
        } => Some(
            obj!("path": what, "rule": rule, "found": found, "cosigned": cosigned, "missing": missing),
        ),
        _ => Some(obj!("path": what)),
    };
    error(code, &message, evidence)
}

pub(crate) fn inconsistency_error(inc: &liveledger_core::audit::Inconsistency) -> JsValue {
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

pub(crate) fn consistency_error(e: ConsistencyError) -> JsValue {
    match e {
        ConsistencyError::Inconsistent(inc) => inconsistency_error(&inc),
        ConsistencyError::BadTile { path, .. } => error(
            Code::Tampered,
            &e.to_string(),
            Some(obj!("path": path.to_string())),
        ),
        _ => error(Code::BadInput, &e.to_string(), None),
    }
}

/// A failed inclusion proof as a `LedgerError`, with its evidence.
pub(crate) fn inclusion_error(e: &InclusionError) -> JsValue {
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

/// Why a consistency proof did not pass: a tile could not be fetched (the network, or a
/// publisher mid-upload: no verdict), or the log's own verdict (FORK, ROLLBACK, TAMPERED).
pub(crate) enum Unproved {
    Fetch(JsValue),
    Verdict(JsValue),
}

pub(crate) fn failure_error(r: &AuditReport) -> JsValue {
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

/// A digest history's failure as `{code, alarm, message, evidence}`: the core's codes,
/// its message, the file it is about, and for a fork or rollback both signed digests and
/// the proof.
pub(crate) fn history_failure(e: &HistoryError) -> Value {
    let mut evidence = match e {
        HistoryError::Consistency { source, .. } => match &**source {
            ConsistencyError::Inconsistent(inc) => inconsistency_evidence(inc),
            _ => Value::Object(Map::new()),
        },
        _ => Value::Object(Map::new()),
    };
    evidence["path"] = e.path().into();
    obj!(
        "code": verdict::history_code(e).as_str(),
        "alarm": verdict::history_alarm(e).as_str(),
        "message": e.to_string(),
        "evidence": evidence,
    )
}

/// A JS error's message.
pub(crate) fn js_message(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_default()
}

impl From<Unproved> for JsValue {
    fn from(u: Unproved) -> JsValue {
        match u {
            Unproved::Fetch(e) | Unproved::Verdict(e) => e,
        }
    }
}
