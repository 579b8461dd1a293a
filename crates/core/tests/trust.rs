//! The ledger metadata's one parser and the trust rules every verifier uses: pinned keys
//! or trust on first use, origin and level and why, and the witness quorum.

mod common;

use liveledger_core::audit::Level;
use liveledger_core::metadata::{Entries, Metadata, MetadataError};
use liveledger_core::note::{Note, SignerKey, ALG_COSIGNATURE_V1, ALG_ED25519};
use liveledger_core::trust::{KeySource, LevelRule, Trust, TrustError, TrustRequest};
use serde_json::{json, Value};

const ORIGIN: &str = "trust.example/ledger";

fn log_key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, ALG_ED25519, [1; 32]).unwrap()
}
fn time_key() -> SignerKey {
    SignerKey::from_seed(&format!("{ORIGIN}/time"), ALG_COSIGNATURE_V1, [2; 32]).unwrap()
}
fn witness(n: u8) -> SignerKey {
    SignerKey::from_seed(&format!("w{n}.example"), ALG_COSIGNATURE_V1, [10 + n; 32]).unwrap()
}

/// The metadata `liveledger init` writes for a ledger, with `threshold` of three
/// witnesses required.
fn meta(threshold: usize) -> Value {
    json!({
        "origin": ORIGIN,
        "log_keys": [log_key().verifier().to_string()],
        "time_key": time_key().verifier().to_string(),
        "entries": "liveledger/event/v1",
        "cadence_seconds": 60,
        "witnesses": {"keys": (1..=3).map(|n| witness(n).verifier().to_string()).collect::<Vec<_>>(), "threshold": threshold},
        "authors": [{"key": "alice+00000000+AAAA", "role": "admin"}],
        "verifier": "index.html",
    })
}

fn text(v: &Value) -> String {
    format!(
        "liveledger/metadata/v1\n{}\n",
        liveledger_core::jcs::to_canonical(v).unwrap()
    )
}

fn signed(v: &Value, by: &SignerKey) -> Vec<u8> {
    Note::sign(&text(v), &[by], 0).unwrap().to_bytes()
}

fn parse(v: &Value) -> Result<Metadata, MetadataError> {
    Metadata::parse(&text(v))
}

/// `v` without member `field`, or with it set to `to`.
fn with(field: &str, to: Option<Value>) -> Value {
    let mut v = meta(0);
    match to {
        Some(x) => v[field] = x,
        None => {
            v.as_object_mut().unwrap().remove(field);
        }
    }
    v
}

both! {
fn the_metadata_init_writes_parses_with_every_field_typed() {
    let m = parse(&meta(2)).unwrap();
    assert_eq!(m.origin, ORIGIN);
    assert_eq!(m.log_keys, vec![log_key().verifier()]);
    assert_eq!(m.entries, Entries::Events);
    assert_eq!(m.time_key, Some(time_key().verifier()));
    let w = m.witnesses.unwrap();
    assert_eq!((w.keys.len(), w.threshold), (3, 2));
    assert_eq!(m.cadence_seconds, Some(60));
    assert_eq!(m.verifier.as_deref(), Some("index.html"));
    assert!(m.other.is_empty());
    // A threshold of 0 requires nothing.
    assert_eq!(parse(&meta(0)).unwrap().witnesses, None);
    // A plain log.
    assert_eq!(parse(&with("entries", Some(json!("opaque")))).unwrap().entries, Entries::Opaque);
}
}

both! {
fn what_the_verifiers_once_disagreed_on_is_refused_the_same_way() {
    // No `entries`: the level is not guessed.
    assert_eq!(parse(&with("entries", None)), Err(MetadataError::Missing("entries")));
    // No origin: not "".
    assert_eq!(parse(&with("origin", None)), Err(MetadataError::Missing("origin")));
    // A malformed log key: refused, never dropped.
    let bad = json!([log_key().verifier().to_string(), "not-a-key"]);
    assert!(matches!(
        parse(&with("log_keys", Some(bad))),
        Err(MetadataError::BadKey { field: "log_keys", index: 1, .. })
    ));
}
}

both! {
fn every_member_is_checked_and_says_what_it_expected() {
    let cases: Vec<(Value, &str)> = vec![
        (with("origin", Some(json!(""))), "origin"),
        (with("origin", Some(json!("two words"))), "origin"),
        (with("log_keys", Some(json!([]))), "log_keys"),
        (with("log_keys", Some(json!("k"))), "log_keys"),
        (with("entries", Some(json!("liveledger/event/v2"))), "entries"),
        (with("time_key", Some(json!(log_key().verifier().to_string()))), "time_key"),
        (with("cadence_seconds", Some(json!(0))), "cadence_seconds"),
        (with("cadence_seconds", Some(json!("60"))), "cadence_seconds"),
        (with("witnesses", Some(json!({"keys": [], "threshold": 1}))), "witnesses"),
        (with("witnesses", Some(json!({"keys": [], "threshold": -1}))), "witnesses"),
        (with("witnesses", Some(json!({"keys": [], "threshold": 0, "quorum": 2}))), "witnesses"),
        (with("witnesses", Some(json!([]))), "witnesses"),
        (with("verifier", Some(json!(1))), "verifier"),
    ];
    for (v, field) in cases {
        match parse(&v) {
            Err(MetadataError::Invalid { field: f, .. }) => assert_eq!(f, field, "{v}"),
            other => panic!("{field}: {other:?} for {v}"),
        }
    }
    let e = parse(&with("cadence_seconds", Some(json!("60")))).unwrap_err().to_string();
    assert_eq!(e, "metadata \"cadence_seconds\": expected a positive integer, found \"60\"");
}
}

both! {
fn the_text_is_strict_and_unknown_members_are_kept() {
    let mut v = meta(0);
    v["retention"] = json!({"years": 10});
    assert_eq!(parse(&v).unwrap().other["retention"], json!({"years": 10}));
    let t = text(&meta(0));
    assert!(matches!(Metadata::parse(&t.replacen("v1", "v2", 1)), Err(MetadataError::Header { .. })));
    assert!(matches!(Metadata::parse(t.trim_end()), Err(MetadataError::Layout(_))));
    assert!(matches!(Metadata::parse(&format!("{t}more\n")), Err(MetadataError::Layout(_))));
    // Not canonical (a space after a colon): refused, with where it differs.
    let spaced = t.replacen("\":", "\": ", 1);
    assert!(matches!(Metadata::parse(&spaced), Err(MetadataError::Json(_))));
    assert!(matches!(Metadata::parse("liveledger/metadata/v1\n[]\n"), Err(MetadataError::NotObject)));
}
}

both! {
fn trust_on_first_use_and_pinned_keys_say_which() {
    let m = signed(&meta(0), &log_key());
    let t = Trust::establish(&TrustRequest::default(), Some(&m)).unwrap();
    assert_eq!(t.source, KeySource::FirstUse);
    assert_eq!(t.log_keys, vec![log_key().verifier()]);
    assert_eq!((t.level, t.level_rule), (Level::Ledger, LevelRule::Metadata));
    assert_eq!(t.origin, ORIGIN);
    assert_eq!(t.time_key, Some(time_key().verifier()));
    let pinned = TrustRequest { pinned: vec![log_key().verifier()], ..Default::default() };
    assert_eq!(Trust::establish(&pinned, Some(&m)).unwrap().source, KeySource::Pinned);
    // Metadata signed by another key than the one pinned (or the one it names).
    let other = SignerKey::from_seed(ORIGIN, ALG_ED25519, [9; 32]).unwrap();
    let forged = signed(&meta(0), &other);
    assert!(matches!(Trust::establish(&pinned, Some(&forged)), Err(TrustError::MetadataSignature(_))));
    assert!(matches!(Trust::establish(&TrustRequest::default(), Some(&forged)), Err(TrustError::MetadataSignature(_))));
    // The user's origin and level win, and say so.
    let given = TrustRequest { origin: Some("o".into()), level: Some(Level::Log), ..Default::default() };
    let t = Trust::establish(&given, Some(&m)).unwrap();
    assert_eq!((t.origin.as_str(), t.level, t.level_rule), ("o", Level::Log, LevelRule::Given));
    // No metadata: a pinned key is needed, the level is the log's, the origin the key's name.
    assert_eq!(Trust::establish(&TrustRequest::default(), None).unwrap_err(), TrustError::NoKey);
    let t = Trust::establish(&pinned, None).unwrap();
    assert_eq!((t.level, t.level_rule, t.origin.as_str()), (Level::Log, LevelRule::NoMetadata, ORIGIN));
    // Malformed metadata is an error, whichever way the keys come.
    let broken = signed(&with("entries", None), &log_key());
    assert!(matches!(Trust::establish(&pinned, Some(&broken)), Err(TrustError::Metadata(_))));
    assert!(matches!(Trust::establish(&TrustRequest::default(), Some(&broken)), Err(TrustError::Metadata(_))));
}
}

/// A checkpoint signed by the log key and cosigned by the time key and `witnesses`.
fn checkpoint(by_log: bool, witnesses: &[u8]) -> Vec<u8> {
    let body = format!("{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
    let mut keys: Vec<SignerKey> = Vec::new();
    if by_log {
        keys.push(log_key());
    }
    keys.push(time_key());
    keys.extend(witnesses.iter().map(|&n| witness(n)));
    let refs: Vec<&SignerKey> = keys.iter().collect();
    Note::sign(&body, &refs, 1_790_000_000).unwrap().to_bytes()
}

both! {
fn the_witness_quorum_of_the_metadata_is_enforced() {
    let t = Trust::establish(&TrustRequest::default(), Some(&signed(&meta(2), &log_key()))).unwrap();
    for (ws, ok) in [(&[][..], false), (&[1][..], false), (&[1, 3][..], true), (&[1, 2, 3][..], true)] {
        let r = t.open_checkpoint(&checkpoint(true, ws));
        match (ok, r) {
            (true, Ok(cp)) => assert_eq!(cp.size(), 0),
            (false, Err(TrustError::Quorum { rule, found, cosigned, missing })) => {
                assert_eq!(rule, "2 of (w1.example, w2.example, w3.example)");
                assert_eq!(found, ws.len());
                assert_eq!(cosigned, ws.iter().map(|n| format!("w{n}.example")).collect::<Vec<_>>());
                assert_eq!(cosigned.len() + missing.len(), 3);
            }
            (ok, r) => panic!("witnesses {ws:?}: expected ok={ok}, got {r:?}"),
        }
    }
    // Without a requirement, witnesses are not needed.
    let none = Trust::establish(&TrustRequest::default(), Some(&signed(&meta(0), &log_key()))).unwrap();
    none.open_checkpoint(&checkpoint(true, &[])).unwrap();
    // Signed by the time key and witnesses only: not by the log.
    assert_eq!(t.open_checkpoint(&checkpoint(false, &[1, 2])).unwrap_err(), TrustError::NotSignedByLog);
    // A cosignature by a required witness that does not verify is an error, not a
    // missing vote.
    let good = String::from_utf8(checkpoint(true, &[1, 2])).unwrap();
    let line = good.lines().find(|l| l.starts_with("— w2.example ")).unwrap();
    let mut sig = line.rsplit(' ').next().unwrap().to_owned().into_bytes();
    sig[20] = if sig[20] == b'A' { b'B' } else { b'A' };
    let bad = good.replace(line, &format!("— w2.example {}", String::from_utf8(sig).unwrap()));
    assert!(matches!(t.open_checkpoint(bad.as_bytes()), Err(TrustError::Checkpoint(_))));
    // Another origin.
    let elsewhere = Trust::establish(
        &TrustRequest { origin: Some("elsewhere".into()), ..Default::default() },
        Some(&signed(&meta(0), &log_key())),
    ).unwrap();
    assert!(matches!(elsewhere.open_checkpoint(&checkpoint(true, &[])), Err(TrustError::Checkpoint(_))));
}
}

/// A tlog-policy: w1 and one of w2, w3.
fn policy_text() -> String {
    format!(
        "log {}\nwitness A {} https://w1.example/\nwitness B {}\nwitness C {}\ngroup BC any B C\ngroup all-of-it all A BC\nquorum all-of-it\n",
        log_key().verifier(),
        witness(1).verifier(),
        witness(2).verifier(),
        witness(3).verifier()
    )
}

both! {
fn a_policy_in_the_metadata_or_pinned_is_the_quorum_enforced() {
    let mut m = meta(0);
    m.as_object_mut().unwrap().remove("witnesses");
    m["policy"] = json!(policy_text());
    let parsed = parse(&m).unwrap();
    assert_eq!(parsed.policy.as_ref().unwrap().witnesses.len(), 3);
    let t = Trust::establish(&TrustRequest::default(), Some(&signed(&m, &log_key()))).unwrap();
    for (ws, ok) in [(&[][..], false), (&[1][..], false), (&[2, 3][..], false), (&[1, 3][..], true), (&[1, 2][..], true)] {
        let r = t.open_checkpoint(&checkpoint(true, ws));
        match (ok, r) {
            (true, Ok(_)) => {}
            (false, Err(TrustError::Quorum { rule, cosigned, .. })) => {
                assert_eq!(rule, "2 of (A, 1 of (B, C))");
                assert_eq!(cosigned.len(), ws.len());
            }
            (ok, r) => panic!("witnesses {ws:?}: expected ok={ok}, got {r:?}"),
        }
    }
    // The log's past (archived digests, a checkpoint trusted before) is opened without the
    // quorum: signed by the log is its commitment, witnessed or not. A bad signature by a
    // known key, or none by the log, still fails.
    let past = t.open_past_checkpoint(&checkpoint(true, &[])).unwrap();
    assert_eq!(past.size(), 0);
    assert!(matches!(t.open_checkpoint(&checkpoint(true, &[])), Err(TrustError::Quorum { .. })));
    assert_eq!(t.open_past_checkpoint(&checkpoint(false, &[1, 2])).unwrap_err(), TrustError::NotSignedByLog);
    // A policy the verifier pins wins over the metadata's: here one needing only w3.
    let pinned = liveledger_core::policy::Policy::parse(
        format!("witness W3 {}\nquorum W3\n", witness(3).verifier()).as_bytes(),
    )
    .unwrap();
    let req = TrustRequest { policy: Some(pinned), ..Default::default() };
    let t = Trust::establish(&req, Some(&signed(&m, &log_key()))).unwrap();
    t.open_checkpoint(&checkpoint(true, &[3])).unwrap();
    assert!(matches!(t.open_checkpoint(&checkpoint(true, &[1, 2])), Err(TrustError::Quorum { .. })));
    // Both forms at once, or a malformed policy, is malformed metadata.
    let mut both_forms = meta(2);
    both_forms["policy"] = json!(policy_text());
    assert!(matches!(parse(&both_forms), Err(MetadataError::Invalid { field: "policy", .. })));
    let mut bad = m.clone();
    bad["policy"] = json!("quorum nobody\n");
    assert!(matches!(parse(&bad), Err(MetadataError::Invalid { field: "policy", .. })));
    bad["policy"] = json!(3);
    assert!(matches!(parse(&bad), Err(MetadataError::Invalid { field: "policy", .. })));
}
}
