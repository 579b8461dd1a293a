//! ML-DSA-44 (`subtree/v1`, type 0x06) keys and cosignatures: the writer checked by the
//! reader, key forms round trip, what such a key refuses to sign, a note carrying both
//! cosignature types, and a policy naming an ML-DSA-44 witness. (torchwood's signed
//! checkpoint, other people's bytes, is in vectors.rs.)

mod common;

use liveledger_core::checkpoint::VerifiedCheckpoint;
use liveledger_core::note::{
    subtree_message, Note, NoteError, SignerKey, VerifierKey, ALG_COSIGNATURE_V1, ALG_ED25519,
    ALG_MLDSA44_SUBTREE,
};
use liveledger_core::policy::Policy;

const CP: &str =
    "example.com/pq\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nextension line\n";

fn log() -> SignerKey {
    SignerKey::from_seed("example.com/pq", ALG_ED25519, [1; 32]).unwrap()
}
fn pq(seed: u8) -> SignerKey {
    SignerKey::from_seed("w.example", ALG_MLDSA44_SUBTREE, [seed; 32]).unwrap()
}

both! {
fn keys_round_trip_in_both_forms_and_the_secret_is_the_seed() {
    let k = pq(9);
    let secret = k.to_secret_string();
    assert!(secret.starts_with("PRIVATE+KEY+w.example+"));
    let again = SignerKey::parse(&secret).unwrap();
    assert_eq!(again.verifier(), k.verifier());
    let v = k.verifier();
    assert_eq!((v.key_type(), v.public_key().len(), v.ed25519()), (0x06, 1312, None));
    assert_eq!(VerifierKey::parse(&v.to_string()).unwrap(), v);
    // Another seed, another key; a wrong length or a changed key ID is refused.
    assert_ne!(pq(8).verifier(), v);
    let text = v.to_string();
    let (head, b64) = text.rsplit_once('+').unwrap();
    let short = format!("{head}+{}", &b64[..b64.len() - 8]);
    assert!(matches!(VerifierKey::parse(&short), Err(NoteError::BadKey { .. })), "a cut key");
    let wrong_id = text.replacen(&format!("{:08x}", v.id()), "00000000", 1);
    assert!(matches!(VerifierKey::parse(&wrong_id), Err(NoteError::KeyIdMismatch { .. })));
}
}

both! {
fn a_cosignature_verifies_with_its_time_and_fails_on_any_other_checkpoint() {
    let mut n = Note::sign(CP, &[&log()], 0).unwrap();
    n.add_signature(&pq(2), 1_790_000_000).unwrap();
    // Deterministic: the same key, time and text give the same line.
    let mut m = Note::sign(CP, &[&log()], 0).unwrap();
    m.add_signature(&pq(2), 1_790_000_000).unwrap();
    assert_eq!(n.to_bytes(), m.to_bytes());
    let bytes = n.to_bytes();
    let v = Note::parse(&bytes).unwrap().verify(&[pq(2).verifier()]).unwrap();
    assert_eq!(v.verified()[0].timestamp, Some(1_790_000_000));
    // The signature commits to the name, the time, origin, size and root, not extensions.
    let sig = n.signatures()[1].clone();
    for other in [
        CP.replace("\n7\n", "\n8\n"),
        CP.replace("example.com/pq", "example.com/pr"),
        CP.replace("AAAA=", "AAAE="),
    ] {
        let forged = format!("{other}\n{}\n", sig.to_line());
        let r = Note::parse(forged.as_bytes()).unwrap().verify(&[pq(2).verifier()]);
        assert!(matches!(r, Err(NoteError::BadSignature { .. })), "{other:?}");
    }
    let ext = format!("{}\n{}\n", CP.replace("extension line", "another extension"), sig.to_line());
    assert!(Note::parse(ext.as_bytes()).unwrap().verify(&[pq(2).verifier()]).is_ok(), "extensions are not signed");
    // Another time in the payload fails.
    let mut late = sig.clone();
    late.payload[7] ^= 1;
    let r = Note::parse(format!("{CP}\n{}\n", late.to_line()).as_bytes()).unwrap().verify(&[pq(2).verifier()]);
    assert!(matches!(r, Err(NoteError::BadSignature { .. })));
    // The message is the spec's layout.
    let msg = subtree_message("w.example", 1_790_000_000, CP).unwrap();
    assert_eq!(&msg[..12], b"subtree/v1\n\0");
    assert_eq!(msg.len(), 12 + 1 + 9 + 8 + 1 + 14 + 8 + 8 + 32);
}
}

both! {
fn an_mldsa_key_signs_checkpoints_only_and_never_events() {
    let r = Note::sign("not a checkpoint\n", &[&pq(2)], 0);
    assert!(matches!(r, Err(NoteError::NotACheckpoint(_))), "{r:?}");
    assert!(matches!(pq(2).sign_raw(b"event"), Err(NoteError::NotEd25519(_))));
    assert!(subtree_message("", 0, CP).is_err(), "an empty name");
    assert!(subtree_message(&"n".repeat(256), 0, CP).is_err(), "a name over 255 bytes");
}
}

both! {
fn one_note_carries_both_cosignature_types_and_a_policy_counts_either() {
    let ed = SignerKey::from_seed("w.example", ALG_COSIGNATURE_V1, [3; 32]).unwrap();
    let other = SignerKey::from_seed("v.example", ALG_MLDSA44_SUBTREE, [4; 32]).unwrap();
    let mut n = Note::sign(CP, &[&log()], 0).unwrap();
    n.add_signature(&ed, 5).unwrap();
    n.add_signature(&pq(2), 5).unwrap();
    let bytes = n.to_bytes();
    let keys = [log().verifier(), ed.verifier(), pq(2).verifier(), other.verifier()];
    let cp = VerifiedCheckpoint::open(&bytes, &keys, "example.com/pq").unwrap();
    assert_eq!(cp.note().verified().len(), 3);
    let policy = Policy::parse(
        format!("witness A {}\nwitness B {}\ngroup g 2 A B\nquorum g\n", pq(2).verifier(), other.verifier()).as_bytes(),
    )
    .unwrap();
    let signed: Vec<VerifierKey> = cp.note().verified().iter().map(|v| v.key.clone()).collect();
    let r = policy.evaluate(&signed);
    assert!(!r.met, "only A of A and B cosigned");
    let with_b = [signed, vec![other.verifier()]].concat();
    assert!(policy.evaluate(&with_b).met);
}
}
