//! Results: what each call verified, as Rust structs (`Serialize`, camelCase members: the
//! shapes of the module's TypeScript types). The page uses them as they are; JS callers
//! get plain objects, made only at the edge by [`to_js`] (serde-wasm-bindgen).

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use super::*;

/// A plain JS object (or array, string, number…) from a result: `null` for missing values,
/// objects for maps, numbers for integers. Every integer a result holds is within JS's
/// safe range (sizes, counts, times); a ledger's own JSON goes through [`JsonValue`].
pub(crate) fn to_js<T: Serialize + ?Sized>(v: &T) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// JSON from a ledger (an event's members, evidence) as `JSON.parse` would make it: an
/// integer past 2^53 becomes the nearest number, where the strict serializer refuses it.
pub(crate) struct JsonValue<'a>(pub &'a Value);

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) if u <= MAX_SAFE => s.serialize_u64(u),
                (_, Some(i)) if i.unsigned_abs() <= MAX_SAFE => s.serialize_i64(i),
                _ => s.serialize_f64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&JsonValue(v))?;
                }
                seq.end()
            }
            Value::Object(o) => JsonObject(o).serialize(s),
            other => other.serialize(s),
        }
    }
}

/// A JSON object, as [`JsonValue`].
pub(crate) struct JsonObject<'a>(pub &'a Map<String, Value>);

impl Serialize for JsonObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, &JsonValue(v))?;
        }
        m.end()
    }
}

/// `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE: u64 = (1 << 53) - 1;

/// A code as the module's `LedgerErrorCode` names it.
fn code_str<S: Serializer>(c: &Code, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.as_str())
}

fn json_value<S: Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
    JsonValue(v).serialize(s)
}

fn json_object<S: Serializer>(v: &Option<Map<String, Value>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(o) => JsonObject(o).serialize(s),
        None => s.serialize_none(),
    }
}

/// A verified checkpoint (`CheckpointResult`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointResult {
    pub origin: String,
    pub size: u64,
    /// The root hash, base64 (as in the note) and hex.
    pub root: String,
    pub root_hex: String,
    /// The signatures that verified: the log's, and cosignatures with their time.
    pub signatures: Vec<Signature>,
    /// The time the ledger's time key cosigned it (core's `freshness::signed_time`).
    pub signed_time: Option<u64>,
    /// The signed note itself.
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Signature {
    /// The key's name and hash, `name+hash`.
    pub key: String,
    /// `"log"` or `"cosignature"`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
}

/// A checkpoint as results show it; `time_key`: the ledger's, whose cosignature gives the
/// signed time (core's `freshness::signed_time`).
pub(crate) fn checkpoint_result(
    cp: &VerifiedCheckpoint,
    time_key: Option<&VerifierKey>,
) -> CheckpointResult {
    let signatures = cp
        .note()
        .verified()
        .iter()
        .map(|v| Signature {
            key: v.key.short(),
            kind: if v.timestamp.is_some() {
                "cosignature"
            } else {
                "log"
            },
            timestamp: v.timestamp,
        })
        .collect();
    CheckpointResult {
        origin: cp.origin().to_owned(),
        size: cp.size(),
        root: cp.root().to_base64(),
        root_hex: cp.root().to_hex(),
        signatures,
        signed_time: liveledger_core::freshness::signed_time(cp, time_key),
        note: String::from_utf8_lossy(&cp.to_bytes()).into_owned(),
    }
}

/// One entry verified by inclusion (`verifyEntry`, `verifyReceipt`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryResult {
    pub index: u64,
    /// The entry's bytes as text (a ledger event's canonical JSON).
    pub entry: String,
    /// The event's members, when the entry is a ledger event.
    #[serde(serialize_with = "json_object")]
    pub event: Option<Map<String, Value>>,
    pub leaf_hash: String,
    /// The inclusion proof, base64 hashes.
    pub proof: Vec<String>,
    pub checkpoint: CheckpointResult,
    /// A C2SP tlog-proof for checking offline.
    pub receipt: String,
    /// What was fetched (0 for a receipt).
    pub requests: u32,
    pub bytes: u64,
}

pub(crate) fn entry_result(
    index: u64,
    entry: &[u8],
    proof: &[liveledger_core::Hash],
    checkpoint: CheckpointResult,
    receipt: &str,
    requests: u32,
    bytes: u64,
) -> EntryResult {
    EntryResult {
        index,
        entry: String::from_utf8_lossy(entry).into_owned(),
        event: UnverifiedEvent::parse(entry).ok().map(|e| e.object),
        leaf_hash: leaf_hash(entry).to_hex(),
        proof: proof.iter().map(|h| h.to_base64()).collect(),
        checkpoint,
        receipt: receipt.to_owned(),
        requests,
        bytes,
    }
}

/// Who witnessed a checkpoint under the quorum (`WitnessReport`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WitnessReport {
    /// The policy's rule, as text.
    pub rule: String,
    pub met: bool,
    /// `"pinned"` (the caller's `policy`) or `"metadata"`.
    pub source: &'static str,
    pub list: Vec<WitnessRow>,
    /// What each witness holds (`audit`, `follow`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub views: Option<Vec<ViewResult>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WitnessRow {
    pub name: String,
    pub key: String,
    pub cosigned: bool,
    pub time: Option<u64>,
}

/// What one witness holds: the core's `audit::views::View`.
pub use liveledger_core::audit::views::View as ViewResult;

/// Who witnessed `cp` under `t`'s quorum (which `open_checkpoint` enforced), for display.
pub(crate) fn witness_report(t: &Trust, cp: &VerifiedCheckpoint) -> Option<WitnessReport> {
    let (p, source) = t.quorum.as_ref()?;
    let verified = cp.note().verified();
    let keys: Vec<VerifierKey> = verified.iter().map(|v| v.key.clone()).collect();
    let r = p.evaluate(&keys);
    let list = r
        .witnesses
        .iter()
        .map(|(name, key, c)| WitnessRow {
            name: name.as_str().to_owned(),
            key: key.short(),
            cosigned: *c,
            time: verified
                .iter()
                .find(|v| &v.key == key)
                .and_then(|v| v.timestamp),
        })
        .collect();
    Some(WitnessReport {
        rule: r.rule.to_string(),
        met: r.met,
        source: match source {
            liveledger_core::trust::QuorumSource::Pinned => "pinned",
            _ => "metadata",
        },
        list,
        views: None,
    })
}

/// What an audit read and checked.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    pub entries: u64,
    pub segments: u64,
    pub tiles: u64,
    pub bytes: u64,
    pub signatures: u64,
    pub corrections: u64,
    pub commitments: u64,
    pub governance: u64,
}

/// The core's staleness rule when the audit ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FreshnessResult {
    pub stale: bool,
    /// Null without a signed time.
    pub age_seconds: Option<u64>,
    pub stale_after_seconds: Option<u64>,
}

/// Where an audit with `resume` continued from, or why the point was discarded: the
/// core's.
pub use liveledger_core::session::Resumed;

/// A verified ledger or log (`AuditResult`): `audit`, and each of `follow`'s digests.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditResult {
    /// Where event signatures were checked (ledger level): `"wasm"`, `"webcrypto"`, or
    /// `"webcrypto-workers:N"`.
    pub signature_engine: Option<String>,
    pub verified: bool,
    /// `"pinned"` or `"metadata"` (trusted on first use).
    pub trust: &'static str,
    /// The log keys it verified with, `name+hash+base64`.
    pub keys: Vec<String>,
    pub checkpoint: CheckpointResult,
    /// `"ledger"` or `"log"`.
    pub level: &'static str,
    pub stats: Stats,
    /// The time of the last event (ledger level).
    pub last_time: Option<String>,
    pub cadence_seconds: Option<u64>,
    /// The witness quorum the checkpoint met; `None`: the ledger requires none.
    pub witnesses: Option<WitnessReport>,
    pub freshness: FreshnessResult,
    /// What a later audit can continue from (the `resume` option).
    pub resume_point: Option<String>,
    /// `audit` with `resume`: where it continued from, or why the point was discarded.
    pub resumed: Option<Resumed>,
}

pub(crate) fn audit_result(
    a: &Auditor,
    cp: &VerifiedCheckpoint,
    t: &Trust,
    engine: &Option<String>,
    views: &[ViewResult],
) -> AuditResult {
    let s = a.stats();
    let mut witnesses = witness_report(t, cp);
    if let Some(w) = &mut witnesses {
        w.views = Some(views.to_vec());
    }
    AuditResult {
        signature_engine: engine.clone(),
        verified: true,
        trust: match t.source {
            KeySource::Pinned => "pinned",
            KeySource::FirstUse => "metadata",
        },
        keys: t.log_keys.iter().map(|k| k.to_string()).collect(),
        checkpoint: checkpoint_result(cp, t.time_key.as_ref()),
        level: if t.level == Level::Ledger {
            "ledger"
        } else {
            "log"
        },
        stats: Stats {
            entries: s.entries,
            segments: s.bundles,
            tiles: s.tiles,
            bytes: s.bytes,
            signatures: s.signatures,
            corrections: s.corrections,
            commitments: s.commitments,
            governance: s.governance,
        },
        last_time: a.chain().and_then(|c| c.last_time()).map(|t| t.to_string()),
        cadence_seconds: t.cadence_seconds,
        witnesses,
        freshness: freshness_result(t, cp),
        resume_point: a.resume_point(cp).map(|p| p.encode()),
        resumed: None,
    }
}

/// Core's staleness rule at this moment (age and limit null without a signed time). A
/// stale digest is still verified data: the module says so, and the page, the element
/// and `liveledger verify` fail it as STALE.
pub(crate) fn freshness_result(t: &Trust, cp: &VerifiedCheckpoint) -> FreshnessResult {
    use liveledger_core::freshness::{self, Freshness};
    let now = (js_sys::Date::now() / 1000.0) as u64;
    let signed = freshness::signed_time(cp, t.time_key.as_ref());
    let (stale, age, limit) = match Freshness::judge(signed, now, t.cadence_seconds, None) {
        Freshness::Fresh { age, limit } => (false, Some(age), Some(limit)),
        Freshness::Stale { age, limit } => (true, Some(age), Some(limit)),
        Freshness::Untimed { .. } => (false, None, None),
    };
    FreshnessResult {
        stale,
        age_seconds: age,
        stale_after_seconds: limit,
    }
}

/// How far an audit has read (`onProgress`): `entries` read so far, `verified` of them
/// fully checked (signature verdicts can lag a few segments behind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Progress {
    pub entries: u64,
    pub verified: u64,
    pub size: u64,
    pub bytes: u64,
    pub segment: u64,
}

/// An event as JS's `onEvent` gets it: `{seq, leafHash, event}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventRecord<'a> {
    pub seq: u64,
    pub leaf_hash: String,
    #[serde(serialize_with = "json_object_ref")]
    pub event: &'a Map<String, Value>,
}

fn json_object_ref<S: Serializer>(v: &&Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
    JsonObject(v).serialize(s)
}

/// One archived digest checked by `verifyHistory`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryDigest {
    pub size: u64,
    pub root: String,
    pub signed_time: Option<u64>,
    pub note: String,
    /// The size of the digest it was proved to extend.
    pub extends: Option<u64>,
}

/// The first problem of a digest history: the core's code and the alarm it raises.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryFailure {
    #[serde(serialize_with = "code_str")]
    pub code: Code,
    /// `"FORK"`, `"ROLLBACK"` or `"BAD_ARCHIVE"`.
    #[serde(serialize_with = "code_str")]
    pub alarm: Code,
    pub message: String,
    /// For a fork or rollback both signed digests and the proof; `path` names the file.
    #[serde(serialize_with = "json_value")]
    pub evidence: Value,
}

/// A digest history (`verifyHistory`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryResult {
    pub verified: bool,
    pub checkpoint: CheckpointResult,
    /// Digests the archive lists.
    pub total: u64,
    /// The ones checked, oldest first.
    pub digests: Vec<HistoryDigest>,
    pub failure: Option<HistoryFailure>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn number(v: &JsValue, k: &str) -> f64 {
        Reflect::get(v, &k.into()).unwrap().as_f64().unwrap()
    }

    /// A ledger's JSON becomes what `JSON.parse` makes of its text: integers past 2^53
    /// the nearest number (the strict serializer would refuse the whole value), the rest
    /// exactly; and a result's missing values are `null`.
    #[wasm_bindgen_test]
    fn a_ledgers_json_is_what_json_parse_makes_of_it() {
        let text = r#"{"a":[9007199254740993,-9007199254740993,9007199254740991,-1,0.5,1e300],"b":{"c":null,"d":true,"e":"x"}}"#;
        let v = liveledger_core::jcs::parse(text.as_bytes()).unwrap();
        let ours = js_sys::JSON::stringify(&to_js(&JsonValue(&v))).unwrap();
        let parsed = js_sys::JSON::stringify(&js_sys::JSON::parse(text).unwrap()).unwrap();
        assert_eq!(ours, parsed);
        assert!(to_js(&JsonValue(&v)).is_object());
        let f = FreshnessResult {
            stale: false,
            age_seconds: None,
            stale_after_seconds: Some(7200),
        };
        let js = to_js(&f);
        assert!(Reflect::get(&js, &"ageSeconds".into()).unwrap().is_null());
        assert_eq!(number(&js, "staleAfterSeconds"), 7200.0);
    }
}
