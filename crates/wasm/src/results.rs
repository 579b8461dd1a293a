//! Results as JS: the core's verified values (checkpoints, entries, audit reports,
//! witnesses, freshness) as plain objects, made only here at the edge.

use super::*;

/// A plain JS object from JSON. Written by the core's RFC 8785 writer, the one JSON
/// serializer in the module (serde_json's own would add a second float formatter).
pub(crate) fn to_js(v: &Value) -> JsValue {
    liveledger_core::jcs::to_canonical(v)
        .ok()
        .and_then(|s| js_sys::JSON::parse(&s).ok())
        .unwrap_or(JsValue::NULL)
}

/// A checkpoint as results show it; `time_key`: the ledger's, whose cosignature gives the
/// signed time (core's `freshness::signed_time`).
pub(crate) fn checkpoint_json(cp: &VerifiedCheckpoint, time_key: Option<&VerifierKey>) -> Value {
    let sigs: Vec<Value> = cp
        .note()
        .verified()
        .iter()
        .map(|v| match v.timestamp {
            Some(t) => obj!("key": v.key.short(), "kind": "cosignature", "timestamp": t),
            None => obj!("key": v.key.short(), "kind": "log"),
        })
        .collect();
    obj!(
        "origin": cp.origin(),
        "size": cp.size(),
        "root": cp.root().to_base64(),
        "rootHex": cp.root().to_hex(),
        "signatures": sigs,
        "signedTime": liveledger_core::freshness::signed_time(cp, time_key),
        "note": String::from_utf8_lossy(&cp.to_bytes()),
    )
}

pub(crate) fn entry_json(
    index: u64,
    entry: &[u8],
    proof: &[liveledger_core::Hash],
    checkpoint: Value,
    receipt: &str,
    requests: u32,
    bytes: u64,
) -> Value {
    let event = UnverifiedEvent::parse(entry)
        .ok()
        .map(|e| Value::Object(e.object));
    obj!(
        "index": index,
        "entry": String::from_utf8_lossy(entry),
        "event": event,
        "leafHash": leaf_hash(entry).to_hex(),
        "proof": proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
        "checkpoint": checkpoint,
        "receipt": receipt,
        "requests": requests,
        "bytes": bytes,
    )
}

/// Who witnessed `cp` under `t`'s quorum (which `open_checkpoint` enforced), for display.
pub(crate) fn witnesses_json(t: &Trust, cp: &VerifiedCheckpoint) -> Value {
    let Some((p, source)) = &t.quorum else {
        return Value::Null;
    };
    let verified = cp.note().verified();
    let keys: Vec<VerifierKey> = verified.iter().map(|v| v.key.clone()).collect();
    let r = p.evaluate(&keys);
    let list: Vec<Value> = r
        .witnesses
        .iter()
        .map(|(name, key, c)| {
            let time = verified
                .iter()
                .find(|v| &v.key == key)
                .and_then(|v| v.timestamp);
            obj!("name": name.as_str(), "key": key.short(), "cosigned": *c, "time": time)
        })
        .collect();
    obj!(
        "rule": r.rule,
        "met": r.met,
        "source": match source { liveledger_core::trust::QuorumSource::Pinned => "pinned", _ => "metadata" },
        "list": list,
    )
}

pub(crate) fn audit_json(
    a: &Auditor,
    cp: &VerifiedCheckpoint,
    t: &Trust,
    engine: &Option<String>,
) -> Value {
    let s = a.stats();
    obj!(
        "signatureEngine": engine.clone(),
        "verified": true,
        "trust": match t.source { KeySource::Pinned => "pinned", KeySource::FirstUse => "metadata" },
        "keys": t.log_keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        "checkpoint": checkpoint_json(cp, t.time_key.as_ref()),
        "level": if t.level == Level::Ledger { "ledger" } else { "log" },
        "stats": obj!("entries": s.entries, "segments": s.bundles, "tiles": s.tiles, "bytes": s.bytes, "signatures": s.signatures,
                  "corrections": s.corrections, "commitments": s.commitments, "governance": s.governance),
        "lastTime": a.chain().and_then(|c| c.last_time()).map(|t| t.to_string()),
        "cadenceSeconds": t.cadence_seconds,
        "witnesses": witnesses_json(t, cp),
        "freshness": freshness_json(t, cp),
        // What a later audit can continue from (the `resume` option).
        "resumePoint": a.resume_point(cp).map(|p| p.encode()),
    )
}

/// Core's staleness rule at this moment: `{stale, ageSeconds, staleAfterSeconds}` (age and
/// limit null without a signed time). A stale digest is still verified data: the
/// module says so, and the page, the element and `liveledger verify` fail it as STALE.
pub(crate) fn freshness_json(t: &Trust, cp: &VerifiedCheckpoint) -> Value {
    use liveledger_core::freshness::{self, Freshness};
    let now = (js_sys::Date::now() / 1000.0) as u64;
    let signed = freshness::signed_time(cp, t.time_key.as_ref());
    match Freshness::judge(signed, now, t.cadence_seconds, None) {
        Freshness::Fresh { age, limit } => {
            obj!("stale": false, "ageSeconds": age, "staleAfterSeconds": limit)
        }
        Freshness::Stale { age, limit } => {
            obj!("stale": true, "ageSeconds": age, "staleAfterSeconds": limit)
        }
        Freshness::Untimed { .. } => {
            obj!("stale": false, "ageSeconds": Value::Null, "staleAfterSeconds": Value::Null)
        }
    }
}

pub(crate) fn with_views(mut v: Value, views: Vec<Value>) -> Value {
    if v["witnesses"].is_object() {
        v["witnesses"]["views"] = Value::Array(views);
    }
    v
}
