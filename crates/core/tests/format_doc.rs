//! docs/FORMAT.md's worked examples, regenerated from the code and compared byte for
//! byte. Run with LIVELEDGER_BLESS=1 (natively) to rewrite the blocks after a deliberate
//! format change; review the diff.

mod common;
use common::{file, text};

use liveledger_core::bundle;
use liveledger_core::event::{self, EventDraft};
use liveledger_core::hash::{leaf_hash, Hash};
use liveledger_core::note::{self, Note, SignerKey, VerifierKey};
use liveledger_core::tiles::TilePath;
use liveledger_core::time::Timestamp;
use liveledger_core::writer::LogWriter;
use serde_json::json;

const DOC: &str = include_str!("../../../docs/FORMAT.md");

/// The block after `<!-- example: name -->`.
fn block(doc: &str, name: &str) -> Option<(usize, usize)> {
    let marker = format!("<!-- example: {name} -->\n");
    let start = doc.find(&marker)? + marker.len();
    let fence_end = doc[start..].find('\n')? + start + 1;
    if !doc[start..].starts_with("```") {
        return None;
    }
    let end = if doc[fence_end..].starts_with("```") {
        fence_end
    } else {
        doc[fence_end..].find("\n```")? + fence_end + 1
    };
    Some((fence_end, end))
}

fn examples() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();

    // Verifier key and key ID.
    let log = SignerKey::parse(text("tessera-log/SIGNER_KEY")).unwrap();
    let v = log.verifier();
    out.push((
        "verifier-key",
        format!(
            "name        {}\nkey ID      {:08x} = first 4 bytes of SHA-256(name ‖ 0x0a ‖ 0x01 ‖ public key)\npublic key  {}\nverifier    {}\n",
            v.name(),
            v.id(),
            Hash(*v.ed25519().unwrap()).to_hex(),
            v
        ),
    ));

    // Checkpoint: tessera's log at size 3, reproduced by our writer.
    let entries = bundle::decode_bundle(file("tessera-log/tile/entries/000.p/15"), 15).unwrap();
    let mut w = LogWriter::new();
    for e in &entries[..3] {
        w.append(e).unwrap();
    }
    let cp = w.checkpoint("example.com/log/testdata", vec![]);
    let note = Note::sign(&cp.to_text(), &[&log], 0).unwrap();
    assert_eq!(note.to_bytes(), file("tessera-log/checkpoint.3"));
    out.push(("checkpoint", String::from_utf8(note.to_bytes()).unwrap()));

    // A receipt for entry 2 ("three") at size 3, from the tiles a client would fetch.
    let mut ts = liveledger_core::tiles::TileSet::new(3);
    ts.insert(
        TilePath::hashes(0, 0, 3).unwrap(),
        file("tessera-log/tile/0/000.p/3"),
    )
    .unwrap();
    let proof = liveledger_core::tiles::inclusion_proof_from_tiles(&ts, 2, 3).unwrap();
    let receipt = liveledger_core::proof::Receipt {
        extra: Some(entries[2].to_vec()),
        index: 2,
        proof,
        checkpoint: note.to_bytes(),
    };
    receipt
        .verify(&[log.verifier()], "example.com/log/testdata", None)
        .unwrap();
    out.push(("receipt", receipt.to_text()));

    // Cosignature by a witness key, at a fixed time.
    let witness =
        SignerKey::from_seed("witness.example.org", note::ALG_COSIGNATURE_V1, [4; 32]).unwrap();
    let mut cosigned = note.clone();
    cosigned.add_signature(&witness, 1_790_000_000).unwrap();
    out.push((
        "cosignature",
        format!(
            "{}\nwitness verifier key: {}\nsigned message:\n{}",
            String::from_utf8(cosigned.to_bytes()).unwrap(),
            witness.verifier(),
            note::cosignature_message(1_790_000_000, &cp.to_text())
        ),
    ));

    // The ML-DSA-44 cosignature (subtree/v1) of the same checkpoint, by a key from a
    // fixed seed: the message field by field, and what the signature line holds.
    let pq =
        SignerKey::from_seed("witness.example.org", note::ALG_MLDSA44_SUBTREE, [6; 32]).unwrap();
    let pv = pq.verifier();
    let msg = note::subtree_message(pv.name(), 1_790_000_000, &cp.to_text()).unwrap();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut pq_signed = note.clone();
    pq_signed.add_signature(&pq, 1_790_000_000).unwrap();
    let line = pq_signed.signatures().last().unwrap().clone();
    Note::parse(&pq_signed.to_bytes())
        .unwrap()
        .verify(std::slice::from_ref(&pv))
        .unwrap();
    let (o, n) = (12 + 1 + pv.name().len(), cp.origin.len());
    out.push((
        "mldsa-cosignature",
        format!(
            concat!(
                "seed         0606…06 (32 bytes), FIPS 204 ML-DSA-44 KeyGen_internal\n",
                "public key   1312 bytes, SHA-256 {}\n",
                "key ID       {:08x} = first 4 bytes of SHA-256(name ‖ 0x0a ‖ 0x06 ‖ public key)\n",
                "message      {} bytes:\n",
                "  label      {}  \"subtree/v1\\n\\0\"\n",
                "  name       {} {}\n",
                "  timestamp  {}  1790000000\n",
                "  origin     {} {}\n",
                "  start      {}\n",
                "  end        {}  3\n",
                "  root       {}\n",
                "payload      key ID ‖ {} ‖ 2420-byte signature, SHA-256 {}\n",
            ),
            liveledger_core::hash::sha256(pv.public_key()).to_hex(),
            pv.id(),
            msg.len(),
            hex(&msg[..12]),
            hex(&msg[12..13]),
            hex(&msg[13..o]),
            hex(&msg[o..o + 8]),
            hex(&msg[o + 8..o + 9]),
            hex(&msg[o + 9..o + 9 + n]),
            hex(&msg[o + 9 + n..o + 17 + n]),
            hex(&msg[o + 17 + n..o + 25 + n]),
            hex(&msg[o + 25 + n..]),
            hex(&line.payload[..8]),
            liveledger_core::hash::sha256(&line.payload[8..]).to_hex(),
        ),
    ));

    // Bundle bytes.
    let b = file("tessera-log/tile/entries/000.p/3");
    let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    out.push(("bundle", format!("{}\n", hex.join(" "))));

    // Tile paths.
    let mut paths = String::new();
    for (level, index, width) in [
        (0u8, 0u64, 256u64),
        (0, 1234067, 256),
        (1, 17, 3),
        (2, 0, 1),
    ] {
        paths.push_str(&format!(
            "level {level}, index {index}, width {width:>3}  →  {}\n",
            TilePath::hashes(level, index, width).unwrap()
        ));
    }
    paths.push_str(&format!(
        "bundle 1234067, width 7          →  {}\n",
        TilePath::entries(1234067, 7).unwrap()
    ));
    out.push(("tile-paths", paths));

    // Events: a genesis and a payment, with fixed keys and times.
    let origin = "ledger.example.org/demo";
    let admin = SignerKey::from_seed("alice@example.org", 1, [2; 32]).unwrap();
    let writer = SignerKey::from_seed("bob@example.org", 1, [3; 32]).unwrap();
    let genesis = EventDraft {
        kind: "ledger.genesis".into(),
        source: "liveledger".into(),
        body: Some(json!({
            "origin": origin,
            "keys": [
                {"key": admin.verifier().to_string(), "role": "admin"},
                {"key": writer.verifier().to_string(), "role": "writer"}
            ],
            "log_keys": [SignerKey::from_seed(origin, 1, [1; 32]).unwrap().verifier().to_string()]
        })),
        ..Default::default()
    };
    let t0 = Timestamp::parse("2026-11-26T09:00:00Z").unwrap();
    let g = genesis
        .sign(0, t0, event::genesis_prev(origin), &admin)
        .unwrap();
    let pay = EventDraft {
        kind: "payment".into(),
        source: "erp-eu".into(),
        key: Some("invoice/2026-0042".into()),
        body: Some(json!({"amount": "1250.00", "currency": "EUR", "payer": "ACME GmbH"})),
        ..Default::default()
    };
    let t1 = Timestamp::parse("2026-11-26T09:00:01.25Z").unwrap();
    let p = pay.sign(1, t1, leaf_hash(&g), &writer).unwrap();
    out.push((
        "genesis-prev",
        format!(
            "SHA-256(\"liveledger/genesis/v1\\n\" ‖ \"{origin}\") = {}\n",
            event::genesis_prev(origin).to_hex()
        ),
    ));
    out.push((
        "event-genesis",
        format!("{}\n", String::from_utf8(g.clone()).unwrap()),
    ));
    out.push((
        "event-payment",
        format!("{}\n", String::from_utf8(p.clone()).unwrap()),
    ));
    let ev = event::UnverifiedEvent::parse(&p).unwrap();
    out.push((
        "event-signed-message",
        format!(
            "{}\n",
            String::from_utf8(ev.signed_message())
                .unwrap()
                .replace('\n', "\\n\n")
        ),
    ));
    out.push((
        "event-leaf",
        format!(
            "leaf hash of event 0 = SHA-256(0x00 ‖ entry) = {}\n",
            leaf_hash(&g).to_hex()
        ),
    ));

    // Commitment.
    let salt = [0x5a; 32];
    let secret = json!({"iban": "DE89 3704 0044 0532 0130 00", "name": "Erika Mustermann"});
    let c = event::commitment(&salt, &secret).unwrap();
    out.push((
        "commitment",
        format!(
            "salt        {}\nbody        {}\ncommitment  {}\n",
            Hash(salt).to_hex(),
            liveledger_core::jcs::to_canonical(&secret).unwrap(),
            c.to_hex()
        ),
    ));
    let _ = VerifierKey::parse(&admin.verifier().to_string()).unwrap();

    // The digest archive's index.
    let index = liveledger_core::archive::encode_digest_index(&[36, 1, 31, 31]);
    assert_eq!(
        liveledger_core::archive::parse_digest_index(index.as_bytes()).unwrap(),
        vec![1, 31, 36]
    );
    out.push(("digest-index", index));

    // tlog-witness: growing tessera's log from 3 to 5 entries, and the witness's answer.
    let mut w5 = LogWriter::new();
    for e in &entries[..5] {
        w5.append(e).unwrap();
    }
    let leaves: Vec<Hash> = entries[..5].iter().map(|e| leaf_hash(e)).collect();
    let cp5 = w5.checkpoint("example.com/log/testdata", vec![]);
    let note5 = Note::sign(&cp5.to_text(), &[&log], 0).unwrap();
    let proof = liveledger_core::merkle::consistency_proof(&leaves[..], 3, 5)
        .unwrap()
        .unwrap();
    let mut req = "old 3\n".to_owned();
    for h in &proof {
        req += &format!("{}\n", h.to_base64());
    }
    req.push('\n');
    req += &String::from_utf8(note5.to_bytes()).unwrap();
    out.push(("add-checkpoint", req.clone()));
    let parsed = liveledger_core::witness::parse_add_checkpoint(req.as_bytes()).unwrap();
    let held = liveledger_core::witness::held_from_note(&cosigned.to_bytes()).unwrap();
    let ok = liveledger_core::witness::check(&[log.verifier()], Some(&held), &parsed).unwrap();
    let (line, _) = liveledger_core::witness::cosign(&[&witness], &ok, 1_790_000_060).unwrap();
    out.push(("add-checkpoint-answer", line));

    // tlog-policy: three witnesses, two of which must cosign.
    let ws: Vec<SignerKey> = (1..=3u8)
        .map(|i| {
            SignerKey::from_seed(
                &format!("w{i}.witness.example"),
                note::ALG_COSIGNATURE_V1,
                [10 + i; 32],
            )
            .unwrap()
        })
        .collect();
    let mut policy = format!("log {}\n", log.verifier());
    for (i, k) in ws.iter().enumerate() {
        policy += &format!(
            "witness W{} {} https://w{}.witness.example/\n",
            i + 1,
            k.verifier(),
            i + 1
        );
    }
    policy += "group two-of-three 2 W1 W2 W3\nquorum two-of-three\n";
    let p = liveledger_core::policy::Policy::parse(policy.as_bytes()).unwrap();
    assert!(p.evaluate(&[ws[0].verifier(), ws[2].verifier()]).met);
    assert!(!p.evaluate(&[ws[1].verifier()]).met);
    out.push(("policy", policy));
    out
}

#[cfg(not(target_arch = "wasm32"))]
fn bless(examples: &[(&str, String)]) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/FORMAT.md");
    let mut doc = std::fs::read_to_string(path).unwrap();
    for (name, want) in examples {
        let (s, e) = block(&doc, name)
            .unwrap_or_else(|| panic!("docs/FORMAT.md has no block for example {name}"));
        doc.replace_range(s..e, want);
    }
    std::fs::write(path, doc).unwrap();
}

both! {
fn format_doc_examples_are_what_the_code_produces() {
    let ex = examples();
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var_os("LIVELEDGER_BLESS").is_some() {
        bless(&ex);
        return;
    }
    for (name, want) in &ex {
        let (s, e) = block(DOC, name).unwrap_or_else(|| panic!("docs/FORMAT.md has no block for example {name}"));
        assert_eq!(&DOC[s..e], want.as_str(), "docs/FORMAT.md example {name} differs from the code's output (LIVELEDGER_BLESS=1 rewrites it)");
    }
}
}
