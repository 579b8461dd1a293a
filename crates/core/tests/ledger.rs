//! Events, the chain rules, the streaming audit, live extension and consistency evidence.

mod common;
use common::ledger::{key, Ledger, ORIGIN};

use liveledger_core::audit::{
    check_consistency, AuditError, Auditor, InconsistencyKind, Level, Step,
};
use liveledger_core::event::{
    self, ChainVerifier, Correction, CorrectionMode, EventDraft, EventError, Payload, Replay,
    StateRow, UnverifiedEvent,
};
use liveledger_core::hash::{leaf_hash, Hash};
use liveledger_core::jcs;
use liveledger_core::tiles;
use liveledger_core::time::Timestamp;
use serde_json::json;

/// Runs an audit to completion over the ledger's files, chunking every file.
fn run(
    l: &Ledger,
    a: &mut Auditor,
    chunk: usize,
) -> Result<(), Box<liveledger_core::audit::AuditFailure>> {
    let mut guard = 0;
    while let Some(step) = a.next_step() {
        guard += 1;
        assert!(guard < 100_000, "audit does not end");
        let bytes = l.file(step.path());
        for c in bytes.chunks(chunk.max(1)) {
            a.feed(c)?;
        }
        a.finish_step()?;
    }
    Ok(())
}

fn sample(n: u64) -> Ledger {
    let mut l = Ledger::new();
    for i in 1..n {
        l.payment(i);
    }
    l.publish();
    l
}

both! {
fn a_ledger_audits_at_both_levels_in_any_chunking() {
    let l = sample(700);
    let cp = l.checkpoint(700);
    for (level, tiles) in [(Level::Ledger, true), (Level::Log, true), (Level::Ledger, false)] {
        for chunk in [1, 7, 1000, 1 << 20] {
            if chunk == 1 && level == Level::Log { continue; }
            let mut a = Auditor::new(&cp, level, tiles);
            run(&l, &mut a, chunk).unwrap();
            assert!(a.is_done());
            let s = *a.stats();
            assert_eq!(s.entries, 700);
            assert_eq!(s.bundles, 3);
            assert_eq!(s.tiles, if tiles { 2 + 1 + 1 } else { 0 }, "2 full + partial level 0 + partial level 1");
            assert_eq!(s.signatures, if level == Level::Ledger { 700 } else { 0 });
            assert_eq!(s.governance, u64::from(level == Level::Ledger));
            assert_eq!(s.roots, 1);
        }
    }
}
}

/// Runs an audit, checking at every step that `upcoming_steps` starts with the step asked
/// for; returns the steps in the order they were asked for.
fn steps_taken(l: &Ledger, a: &mut Auditor) -> Vec<tiles::TilePath> {
    let mut taken = Vec::new();
    while let Some(step) = a.next_step() {
        assert_eq!(
            a.upcoming_steps().next(),
            Some(step.path()),
            "after {} steps",
            taken.len()
        );
        taken.push(step.path());
        a.feed(l.file(step.path())).unwrap();
        a.finish_step().unwrap();
    }
    assert_eq!(a.upcoming_steps().next(), None, "nothing after the end");
    taken
}

both! {
/// Prefetching is only as good as the prediction: the steps predicted at the start are
/// exactly the steps the audit then asks for, at sizes around every tile boundary, with
/// and without tile checks, and after a live extension.
fn upcoming_steps_predict_the_audit_exactly() {
    let max = if cfg!(target_arch = "wasm32") { 256 * 3 + 1 } else { 256 * 256 + 300 };
    let mut l = Ledger::new();
    let sizes = [1u64, 2, 255, 256, 257, 511, 512, 513, 256 * 3 + 1, 65535, 65536, 65537, 256 * 256 + 300];
    let mut previous: Option<u64> = None;
    for &n in sizes.iter().filter(|&&n| n <= max) {
        while l.publish() < n {
            let i = l.entries.len();
            l.append_raw(format!("entry {i}").into_bytes());
        }
        let cp = l.checkpoint(n);
        for check in [true, false] {
            let mut a = Auditor::new(&cp, Level::Log, check);
            let predicted: Vec<_> = a.upcoming_steps().collect();
            assert_eq!(steps_taken(&l, &mut a), predicted, "size {n}, tiles {check}");
            assert!(a.is_done());
        }
        // Live: extend an audit of the previous size to this one.
        if let Some(p) = previous {
            let mut a = Auditor::new(&l.checkpoint(p), Level::Log, true);
            steps_taken(&l, &mut a);
            a.extend(&cp).unwrap();
            let predicted: Vec<_> = a.upcoming_steps().collect();
            assert_eq!(steps_taken(&l, &mut a), predicted, "extending {p} to {n}");
        }
        previous = Some(n);
    }
}
}

both! {
fn tampering_with_any_segment_is_found_in_that_segment() {
    let l = sample(600);
    let cp = l.checkpoint(600);
    for bundle in 0..3u64 {
        let path = tiles::bundle_at(600, bundle).unwrap();
        let mut bad = l.files.clone();
        let b = bad.get_mut(&path.to_string()).unwrap();
        // A byte inside the body of an entry in the middle of the bundle.
        let at = b.len() / 2;
        b[at] ^= 0x01;
        let tampered = Ledger { files: bad, ..sample(1) };
        for level in [Level::Ledger, Level::Log] {
            let mut a = Auditor::new(&cp, level, true);
            let f = run(&tampered, &mut a, 4096).unwrap_err();
            assert_eq!(f.location.bundle, Some(bundle), "{level:?}: {f}");
            assert!(!a.is_done());
            assert!(a.next_step().is_none());
        }
    }
}
}

both! {
fn tampering_that_also_rewrites_tiles_fails_at_the_root_or_chain() {
    // An attacker rewrites entry 300 and recomputes the level 0 tile to match.
    let l = sample(600);
    let cp = l.checkpoint(600);
    let mut forged = Ledger::new();
    for i in 1..600u64 {
        if i == 300 {
            forged.payment(9999);
        } else {
            forged.payment(i);
        }
    }
    forged.publish();
    let mut files = forged.files.clone();
    files.insert("checkpoint".into(), l.files["checkpoint"].clone());
    let f2 = Ledger { files, ..sample(1) };
    // Log level: the entries hash to another root.
    let mut a = Auditor::new(&cp, Level::Log, false);
    let f = run(&f2, &mut a, 4096).unwrap_err();
    assert!(matches!(f.error, AuditError::RootMismatch { size: 600, .. }), "{f}");
    // With tiles: the level 1 tile... is also recomputed by the forger, so still the root.
    let mut a = Auditor::new(&cp, Level::Ledger, true);
    let f = run(&f2, &mut a, 4096).unwrap_err();
    assert!(matches!(f.error, AuditError::RootMismatch { .. }), "{f}");
}
}

both! {
fn wrong_tile_bytes_are_located() {
    let l = sample(300);
    let cp = l.checkpoint(300);
    let mut bad = l.files.clone();
    bad.get_mut("tile/0/000").unwrap()[32 * 5] ^= 1;
    let t = Ledger { files: bad, ..sample(1) };
    let mut a = Auditor::new(&cp, Level::Log, true);
    let f = run(&t, &mut a, 100).unwrap_err();
    match &f.error {
        AuditError::TileMismatch { position, .. } => assert_eq!(*position, 5),
        e => panic!("{e}"),
    }
    assert_eq!((f.location.bundle, f.location.entry), (Some(0), Some(5)));
    // A truncated tile, and one too long.
    for (cut, extra) in [(1usize, 0usize), (0, 1)] {
        let mut bad = l.files.clone();
        let tile = bad.get_mut("tile/0/000").unwrap();
        tile.truncate(tile.len() - cut);
        tile.extend(std::iter::repeat_n(0, extra));
        let t = Ledger { files: bad, ..sample(1) };
        let mut a = Auditor::new(&cp, Level::Log, true);
        let f = run(&t, &mut a, 100).unwrap_err();
        assert!(matches!(f.error, AuditError::TileLength { .. }), "{f}");
    }
}
}

both! {
fn a_truncated_or_padded_bundle_is_a_framing_error() {
    let l = sample(10);
    let cp = l.checkpoint(10);
    let path = "tile/entries/000.p/10";
    for (cut, extra) in [(1usize, 0usize), (0, 3)] {
        let mut bad = l.files.clone();
        let b = bad.get_mut(path).unwrap();
        b.truncate(b.len() - cut);
        b.extend(std::iter::repeat_n(0, extra));
        let t = Ledger { files: bad, ..sample(1) };
        let mut a = Auditor::new(&cp, Level::Log, false);
        let f = run(&t, &mut a, 3).unwrap_err();
        assert!(matches!(f.error, AuditError::Bundle(_)), "{f}");
        assert_eq!(f.location.step, Some(Step::Bundle(tiles::bundle_at(10, 0).unwrap())));
    }
}
}

both! {
fn live_extension_verifies_only_new_entries_and_catches_a_rewritten_tail() {
    let mut l = sample(300);
    let mut a = Auditor::new(&l.checkpoint(300), Level::Ledger, true);
    run(&l, &mut a, 999).unwrap();
    for i in 300..520 {
        l.payment(i);
    }
    l.publish();
    let new = l.checkpoint(520);
    // Consistency by tiles first, as a follower does.
    let mut ts = tiles::TileSet::new(520);
    for p in tiles::consistency_tiles(300, 520).unwrap() {
        ts.insert(p, l.file(p)).unwrap();
    }
    let proof = tiles::consistency_proof_from_tiles(&ts, 300, 520).unwrap();
    check_consistency(&l.checkpoint(300), &new, &proof).unwrap();
    a.extend(&new).unwrap();
    let before = a.stats().entries;
    run(&l, &mut a, 999).unwrap();
    assert!(a.is_done());
    assert_eq!(a.stats().entries - before, 220);
    assert_eq!(a.verified_entries(), 520);

    // A log that rewrote entry 260 (already verified) before growing is caught.
    let mut a = Auditor::new(&l.checkpoint(300), Level::Log, false);
    let mut l2 = sample(300);
    run(&l2, &mut a, 999).unwrap();
    let mut forged = Ledger::new();
    for i in 1..260 { forged.payment(i); }
    forged.payment(12345);
    for i in 261..400 { forged.payment(i); }
    forged.publish();
    l2.files = forged.files.clone();
    l2.checkpoints.insert(400, forged.checkpoints[&400].clone());
    a.extend(&l2.checkpoint(400)).unwrap();
    let f = run(&l2, &mut a, 999).unwrap_err();
    assert!(matches!(f.error, AuditError::EntryChanged { index: 260, .. }), "{f}");
}
}

both! {
fn rollback_and_fork_carry_both_checkpoints_and_the_proof() {
    let mut l = sample(50);
    let old = l.checkpoint(50);
    l.payment(50);
    l.publish();
    let new = l.checkpoint(51);
    let e = check_consistency(&new, &old, &[]).unwrap_err();
    assert!(matches!(e.kind, InconsistencyKind::Rollback { old_size: 51, new_size: 50 }));
    assert_eq!(e.old_checkpoint, new.to_bytes());
    assert_eq!(e.new_checkpoint, old.to_bytes());

    // A fork: another ledger of the same size signed by the same key.
    let mut other = Ledger::new();
    for i in 1..51 { other.payment(i + 1000); }
    other.publish();
    let forked = other.checkpoint(51);
    let e = check_consistency(&new, &forked, &[]).unwrap_err();
    assert!(matches!(e.kind, InconsistencyKind::Fork(_)), "{e}");
    let mut ts = tiles::TileSet::new(51);
    for p in tiles::consistency_tiles(50, 51).unwrap() {
        ts.insert(p, other.file(p)).unwrap();
    }
    let proof = tiles::consistency_proof_from_tiles(&ts, 50, 51).unwrap();
    let e = check_consistency(&old, &forked, &proof).unwrap_err();
    assert!(matches!(e.kind, InconsistencyKind::Fork(_)), "{e}");
    assert_eq!(e.proof, proof);
}
}

/// A chain verifier that has seen genesis, and the ledger it came from.
fn chain_after_genesis() -> (ChainVerifier, Ledger) {
    let l = Ledger::new();
    let mut c = ChainVerifier::new(ORIGIN);
    c.check(&l.entries[0], leaf_hash(&l.entries[0])).unwrap();
    (c, l)
}

fn draft(kind: &str) -> EventDraft {
    EventDraft {
        kind: kind.into(),
        source: "test".into(),
        ..Default::default()
    }
}

fn t(s: i64) -> Timestamp {
    Timestamp::from_unix(1_790_000_000 + s, 0).unwrap()
}

both! {
fn every_chain_rule_is_enforced_with_evidence() {
    let (c0, l) = chain_after_genesis();
    let prev = leaf_hash(&l.entries[0]);
    let bob = Ledger::bob();
    let check = |bytes: Vec<u8>| c0.clone().check(&bytes, leaf_hash(&bytes));

    assert!(check(draft("x").sign(1, t(5), prev, &bob).unwrap()).is_ok());
    assert!(matches!(check(draft("x").sign(2, t(5), prev, &bob).unwrap()), Err(EventError::SeqMismatch { index: 1, found: 2 })));
    let wrong = Hash([9; 32]);
    assert!(matches!(check(draft("x").sign(1, t(5), wrong, &bob).unwrap()),
        Err(EventError::BrokenChain { seq: 1, expected, found }) if expected == prev && found == wrong));
    assert!(matches!(check(draft("x").sign(1, t(0), prev, &bob).unwrap()), Err(EventError::TimeWentBack { .. })));
    let mallory = key("mallory@example.org", 66);
    assert!(matches!(check(draft("x").sign(1, t(5), prev, &mallory).unwrap()), Err(EventError::UnknownAuthor { .. })));
    let add = EventDraft { body: Some(json!({"key": mallory.verifier().to_string(), "role": "writer"})), ..draft("ledger.key.add") };
    assert!(matches!(check(add.sign(1, t(5), prev, &bob).unwrap()), Err(EventError::NotAuthorised { .. })));
    assert!(check(add.sign(1, t(5), prev, &l.admin).unwrap()).is_ok());
    assert!(matches!(check(draft("ledger.genesis").sign(1, t(5), prev, &l.admin).unwrap()), Err(EventError::Genesis { .. })));
    assert!(matches!(check(draft("ledger.unknown").sign(1, t(5), prev, &l.admin).unwrap()), Err(EventError::BadGovernance { .. })));
    let later = EventDraft { correction: Some(Correction { seq: 1, mode: CorrectionMode::Void }), ..draft("fix") };
    assert!(matches!(check(later.sign(1, t(5), prev, &bob).unwrap()), Err(EventError::CorrectsLater { .. })));
    let gov = EventDraft { correction: Some(Correction { seq: 0, mode: CorrectionMode::Void }), ..draft("fix") };
    assert!(matches!(check(gov.sign(1, t(5), prev, &bob).unwrap()), Err(EventError::CorrectsGovernance { .. })));

    // A signature that does not verify: change a field after signing, keep canonical form.
    let good = draft("x").sign(1, t(5), prev, &bob).unwrap();
    let s = String::from_utf8(good).unwrap().replace("\"source\":\"test\"", "\"source\":\"tesT\"");
    assert!(matches!(check(s.into_bytes()), Err(EventError::BadSignature { .. })));
}
}

both! {
fn revocation_stops_a_key_from_then_on_and_the_last_admin_stays() {
    let (mut c, l) = chain_after_genesis();
    let bob = Ledger::bob();
    // Signs `d` as the next event of `c` and checks it.
    let push = |c: &mut ChainVerifier, d: &EventDraft, seq: u64, k: &liveledger_core::note::SignerKey| -> Result<(), EventError> {
        let bytes = d.sign(seq, t(seq as i64), c.prev_hash(), k).unwrap();
        c.check(&bytes, leaf_hash(&bytes)).map(|_| ())
    };
    push(&mut c, &draft("x"), 1, &bob).unwrap();
    let revoke = EventDraft { body: Some(json!({"key": bob.verifier().short()})), ..draft("ledger.key.revoke") };
    push(&mut c, &revoke, 2, &l.admin).unwrap();
    let e = push(&mut c, &draft("x"), 3, &bob).unwrap_err();
    assert!(matches!(e, EventError::RevokedAuthor { revoked_at: 2, .. }), "{e}");
    let last = EventDraft { body: Some(json!({"key": l.admin.verifier().short()})), ..draft("ledger.key.revoke") };
    let e = push(&mut c, &last, 3, &l.admin).unwrap_err();
    assert!(e.to_string().contains("last active admin"), "{e}");
    // Log key rotation is recorded.
    let newlog = key("ledger.example.org/test", 77);
    let rot = EventDraft { body: Some(json!({"add": [newlog.verifier().to_string()], "retire": [l.log_key.verifier().short()]})), ..draft("ledger.logkey") };
    push(&mut c, &rot, 3, &l.admin).unwrap();
    let g = c.governance();
    assert_eq!(g.log_keys().len(), 2);
    assert_eq!(g.log_keys()[0].retired_at, Some(3));
}
}

both! {
fn replay_applies_amendments_and_voids_and_links_corrections() {
    let mut l = Ledger::new();
    let bob = Ledger::bob();
    let set = |v: i64| EventDraft { key: Some("acct/1".into()), body: Some(json!({"balance": v})), ..draft("balance") };
    l.append_draft(&set(10), &bob); // 1
    l.append_draft(&set(20), &bob); // 2
    let amend = EventDraft { body: Some(json!({"balance": 25})), correction: Some(Correction { seq: 2, mode: CorrectionMode::Amend }), ..draft("correction") };
    l.append_draft(&amend, &bob); // 3
    let salt = [5u8; 32];
    let secret = json!({"iban": "DE00 1234"});
    let c = event::commitment(&salt, &secret).unwrap();
    let private = EventDraft { key: Some("acct/2".into()), commitment: Some(c), ..draft("kyc") };
    l.append_draft(&private, &bob); // 4
    let mut chain = ChainVerifier::new(ORIGIN);
    let mut r = Replay::new();
    for e in &l.entries {
        let ev = chain.check(e, leaf_hash(e)).unwrap();
        r.apply(&ev);
    }
    let s = state_of(&r, &l.entries);
    assert_eq!(s["acct/1"], (2, Payload::Body(json!({"balance": 25}))));
    assert_eq!(s["acct/2"], (4, Payload::Commitment(c)));
    // The amended value is read from the amendment: the replay names it.
    assert_eq!(r.state()[0], StateRow { key: "acct/1".into(), seq: 2, value_from: 3 });
    assert!(event::opens(&c, &salt, &secret));
    assert!(!event::opens(&c, &[6; 32], &secret));
    assert!(!event::opens(&c, &salt, &json!({"iban": "DE00 1235"})));
    assert_eq!(r.corrections_of(2), &[3]);
    // Voiding the latest brings back the one before, as it was set (its own payload).
    let void = EventDraft { correction: Some(Correction { seq: 2, mode: CorrectionMode::Void }), ..draft("correction") };
    let b = l.append_draft(&void, &bob);
    r.apply(&chain.check(&b, leaf_hash(&b)).unwrap());
    assert_eq!(r.state()[0], StateRow { key: "acct/1".into(), seq: 1, value_from: 1 });
    assert_eq!(state_of(&r, &l.entries)["acct/1"], (1, Payload::Body(json!({"balance": 10}))));
    assert!(r.is_voided(2) && !r.is_voided(1));
    assert_eq!(r.corrections_of(2), &[3, 5]);
    // Voiding the only event of a key takes the key out of the state.
    let void = EventDraft { correction: Some(Correction { seq: 4, mode: CorrectionMode::Void }), ..draft("correction") };
    let b = l.append_draft(&void, &bob);
    r.apply(&chain.check(&b, leaf_hash(&b)).unwrap());
    assert_eq!(r.state_page(10), (1, vec![StateRow { key: "acct/1".into(), seq: 1, value_from: 1 }]));
    // A page of the state is the state's first keys, and the count is all of them.
    let all = r.state();
    for limit in 0..=3 {
        let (n, page) = r.state_page(limit);
        assert_eq!(n, all.len());
        assert_eq!(page, all[..limit.min(all.len())].to_vec(), "limit {limit}");
    }
}
}

/// A replay's state with each value read from the event it names, as a caller holding the
/// events does.
fn state_of(r: &Replay, entries: &[Vec<u8>]) -> std::collections::BTreeMap<String, (u64, Payload)> {
    r.state()
        .into_iter()
        .map(|row| {
            let from = UnverifiedEvent::parse(&entries[row.value_from as usize]).unwrap();
            (row.key, (row.seq, from.payload))
        })
        .collect()
}

both! {
fn the_replays_state_is_kept_as_events_apply_and_matches_a_walk_over_every_event() {
    // Keys a, b, c set, amended and voided in a shuffled order (voids of a key's latest
    // event, of older ones, twice, of every event of a key); after each event, the kept
    // state, each value read from the event it names, equals the state walked from every
    // event (this test's own plain replay, which keeps everything).
    let mut l = Ledger::new();
    let bob = Ledger::bob();
    let mut r = Replay::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let genesis = UnverifiedEvent::parse(&l.entries[0]).unwrap();
    r.apply_event(&genesis);
    // seq -> (key, payload after amendments, voided)
    let mut plain: std::collections::BTreeMap<u64, (String, Payload, bool)> = Default::default();
    let mut fell_back = 0;
    // Whether a key's value comes from an event that a later event of the same key had
    // replaced (a void's walk back).
    let walked_back = |s: u64, plain: &std::collections::BTreeMap<u64, (String, Payload, bool)>| {
        plain.range(s + 1..).any(|(_, (k, _, _))| *k == plain[&s].0)
    };
    for _ in 0..400 {
        let seq = l.entries.len() as u64;
        // Half the corrections aim at one of the last few events (a key's latest, often).
        let target = match seq {
            ..=1 => 0,
            _ if rnd(2) == 0 => seq - 1 - rnd(6).min(seq - 2),
            _ => 1 + rnd(seq - 1).min(seq - 2),
        };
        let d = match if target == 0 { 0 } else { rnd(4) } {
            0 | 1 => EventDraft { key: Some(["a", "b", "c"][rnd(3) as usize].into()), body: Some(json!({"v": seq})), ..draft("set") },
            m => EventDraft {
                body: Some(json!({"amended": seq})),
                correction: Some(Correction { seq: target, mode: if m == 2 { CorrectionMode::Amend } else { CorrectionMode::Void } }),
                ..draft("correction")
            },
        };
        let b = l.append_draft(&d, &bob);
        let e = UnverifiedEvent::parse(&b).unwrap();
        // The entry kept is the bytes parsed, and the object's canonical JSON.
        assert_eq!(e.entry().as_bytes(), &b[..]);
        assert_eq!(jcs::to_canonical(&serde_json::Value::Object(e.object.clone())).unwrap(), e.entry());
        match (&e.correction, &e.key) {
            (Some(c), _) => {
                if let Some(t) = plain.get_mut(&c.seq) {
                    match c.mode {
                        CorrectionMode::Amend => t.1 = e.payload.clone(),
                        CorrectionMode::Void => t.2 = true,
                    }
                }
            }
            (None, Some(k)) => {
                plain.insert(seq, (k.clone(), e.payload.clone(), false));
            }
            _ => {}
        }
        r.apply_event(&e);
        let mut walked = std::collections::BTreeMap::new();
        for (s, (k, p, voided)) in &plain {
            if !voided {
                walked.insert(k.clone(), (*s, p.clone()));
            }
        }
        assert_eq!(state_of(&r, &l.entries), walked, "after event {seq}");
        fell_back += r.state().iter().filter(|row| walked_back(row.seq, &plain)).count();
        let (n, page) = r.state_page(2);
        assert_eq!(n, walked.len());
        assert_eq!(page, r.state().into_iter().take(2).collect::<Vec<_>>());
    }
    assert!(fell_back > 10, "a void took a key back to an earlier event {fell_back} times");
}
}

both! {
fn events_must_be_canonical_and_well_typed() {
    let (c0, l) = chain_after_genesis();
    let good = String::from_utf8(draft("x").sign(1, t(5), leaf_hash(&l.entries[0]), &Ledger::bob()).unwrap()).unwrap();
    let parse = |s: &str| UnverifiedEvent::parse(s.as_bytes());
    assert!(parse(&good).is_ok());
    assert!(matches!(parse(&format!(" {good}")), Err(EventError::Json(_))));
    assert!(matches!(parse(&good.replace("\"v\":1", "\"v\":1.0")), Err(EventError::Json(_))));
    assert!(matches!(parse(&good.replace("\"v\":1", "\"v\":2")), Err(EventError::UnsupportedVersion(2))));
    assert!(matches!(parse(&good.replacen("{", "{\"author\":\"x+00000000\",", 1)), Err(EventError::Json(_))), "duplicate key");
    assert!(matches!(parse("[]"), Err(EventError::NotObject)));
    assert!(matches!(parse(&good.replace("\"kind\":\"x\",", "")), Err(EventError::MissingField("kind"))));
    // A field of the wrong type is shown as found, in canonical JSON.
    let e = parse(&good.replace("\"kind\":\"x\"", "\"kind\":[\"x\",{\"a\":\"\\n\"}]")).unwrap_err();
    assert!(matches!(&e, EventError::BadField { field: "kind", found, .. } if found == "[\"x\",{\"a\":\"\\n\"}]"), "{e}");
    let at = good.find("\"time\":\"").unwrap() + 8 + 11;
    let bad_time = format!("{}25{}", &good[..at], &good[at + 2..]);
    assert!(matches!(parse(&bad_time), Err(EventError::Time(_))), "{bad_time}");
    // Unknown fields are accepted and covered by the signature.
    let extra = EventDraft { extra: json!({"zz_future": [1, 2]}).as_object().unwrap().clone(), ..draft("x") };
    let b = extra.sign(1, t(5), leaf_hash(&l.entries[0]), &Ledger::bob()).unwrap();
    assert!(c0.clone().check(&b, leaf_hash(&b)).is_ok());
    let changed = String::from_utf8(b).unwrap().replace("[1,2]", "[1,3]");
    assert!(matches!(c0.clone().check(changed.as_bytes(), leaf_hash(changed.as_bytes())), Err(EventError::BadSignature { .. })));
    // Numbers beyond exact doubles are refused when signing, not rounded.
    let big = EventDraft { body: Some(json!({"n": 9007199254740993u64})), ..draft("x") };
    assert!(matches!(big.sign(1, t(5), Hash::default(), &Ledger::bob()), Err(EventError::Json(_))));
}
}

both! {
fn rfc8785_examples() {
    // RFC 8785 §3.2.2 (the example object), and §3.2.3 (sorting by UTF-16 code units).
    let input = r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}"#;
    let v: serde_json::Value = serde_json::from_str(input).unwrap();
    assert_eq!(
        jcs::to_canonical(&v).unwrap(),
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    );
    let sort = r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#;
    let v: serde_json::Value = serde_json::from_str(sort).unwrap();
    let c = jcs::to_canonical(&v).unwrap();
    let order: Vec<&str> = ["Carriage Return", "One", "Control", "Latin Small", "Euro Sign", "Emoji", "Hebrew"].to_vec();
    let pos: Vec<usize> = order.iter().map(|s| c.find(s).unwrap()).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{c}");
    assert!(jcs::parse_canonical(c.as_bytes()).is_ok());
    // Found by the property tests: integers beyond 2^53 that a double holds exactly, or
    // whose double is written with the same digits, are canonical; others are refused.
    for ok in ["-9794406689389522", "281703708967862800", "9007199254740992"] {
        assert_eq!(jcs::parse_canonical(ok.as_bytes()).unwrap().to_string(), ok);
    }
    for refused in ["9007199254740993", "18446744073709551615"] {
        let v: serde_json::Value = serde_json::from_str(refused).unwrap();
        assert!(matches!(jcs::to_canonical(&v), Err(jcs::JcsError::Number(_))), "{refused}");
    }
}
}

both! {
fn timestamps_have_one_spelling() {
    for s in ["2026-11-26T12:00:00Z", "2024-02-29T23:59:59.5Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"] {
        assert_eq!(Timestamp::parse(s).unwrap().to_string(), s);
    }
    for s in ["2026-11-26T12:00:00+00:00", "2026-11-26t12:00:00Z", "2026-11-26T12:00:00.50Z", "2023-02-29T00:00:00Z",
              "2026-11-26T24:00:00Z", "2026-11-26T12:00:60Z", "2026-11-26 12:00:00Z", "2026-11-26T12:00:00.Z", "0000-01-01T00:00:00Z"] {
        assert!(Timestamp::parse(s).is_err(), "{s}");
    }
}
}

both! {
fn a_chain_verifier_resumes_from_governance_events_alone() {
    let mut l = Ledger::new();
    for i in 1..20 { l.payment(i); }
    let revoke = EventDraft { body: Some(json!({"key": Ledger::bob().verifier().short()})), ..draft("ledger.key.revoke") };
    let admin = l.admin.clone();
    l.append_draft(&revoke, &admin);
    let mut full = ChainVerifier::new(ORIGIN);
    for e in &l.entries { full.check(e, leaf_hash(e)).unwrap(); }
    let gov: Vec<&[u8]> = vec![&l.entries[0], &l.entries[20]];
    let last = UnverifiedEvent::parse(&l.entries[20]).unwrap();
    let r = ChainVerifier::resume(ORIGIN, &gov, 21, leaf_hash(&l.entries[20]), Some(last.time)).unwrap();
    assert_eq!(r.governance(), full.governance());
    assert_eq!((r.next_index(), r.prev_hash()), (full.next_index(), full.prev_hash()));
    // Bob is revoked in the resumed state too.
    let mut r2 = r.clone();
    let b = draft("x").sign(21, t(100), r.prev_hash(), &Ledger::bob()).unwrap();
    assert!(matches!(r2.check(&b, leaf_hash(&b)), Err(EventError::RevokedAuthor { .. })));
    // A governance event list that is not governance, or forged, is refused.
    assert!(ChainVerifier::resume(ORIGIN, &[&l.entries[1]], 21, Hash::default(), None).is_err());
    let mut forged = l.entries[20].clone();
    let n = forged.len();
    forged[n - 20] ^= 1;
    assert!(ChainVerifier::resume(ORIGIN, &[&l.entries[0], &forged], 21, Hash::default(), None).is_err());
}
}

both! {
/// The fast signed message (cut from the entry's bytes) equals the canonicalised one, for
/// every event of a ledger and for bodies built to confuse it.
fn the_signed_message_cut_from_the_entry_is_the_canonical_one() {
    let l = sample(300);
    for e in &l.entries {
        let ev = UnverifiedEvent::parse(e).unwrap();
        assert_eq!(ev.signed_message_in(e), ev.signed_message());
    }
    let mut l = Ledger::new();
    let e = l.payment(1);
    let sig = UnverifiedEvent::parse(&e).unwrap().object["sig"].as_str().unwrap().to_owned();
    // Bodies that hold a "sig" member, one of them another event's whole signature
    // member, nested or at the body's top.
    for body in [json!({"sig": "x"}), json!({"sig": sig}), json!({"a": {"sig": sig}, "sig": sig})] {
        let d = EventDraft { kind: "note".into(), source: "s".into(), body: Some(body), ..Default::default() };
        let e = l.append_draft(&d, &Ledger::bob());
        let ev = UnverifiedEvent::parse(&e).unwrap();
        assert_eq!(ev.signed_message_in(&e), ev.signed_message());
        assert!(ev.verify_signature_in(&e, &Ledger::bob().verifier()));
    }
    // A signature over the message with the member left in does not verify.
    let ev = UnverifiedEvent::parse(&e).unwrap();
    let mut wrong = b"liveledger/event/v1\n".to_vec();
    wrong.extend_from_slice(&e);
    assert_ne!(ev.signed_message_in(&e), wrong);
}
}

both! {
fn an_authors_json_object_becomes_a_draft_by_one_set_of_rules() {
    use liveledger_core::event::DraftError;
    let obj = |v: serde_json::Value| v.as_object().unwrap().clone();
    let (d, private) = EventDraft::from_object(
        obj(json!({"kind": "payment", "source": "erp", "key": "inv/1", "body": {"amount": "10.00"},
                   "corrects": {"seq": 4, "mode": "amend"}, "reason": "typo"})),
        None,
    )
    .unwrap();
    assert_eq!((d.kind.as_str(), d.source.as_str(), d.key.as_deref()), ("payment", "erp", Some("inv/1")));
    assert_eq!(d.body, Some(json!({"amount": "10.00"})));
    assert_eq!(d.correction, Some(Correction { seq: 4, mode: CorrectionMode::Amend }));
    assert_eq!(d.extra.get("reason"), Some(&json!("typo")), "other fields are kept");
    assert_eq!(private, None);
    // The default source, and a private payload handed back for the caller to commit to.
    let (d, private) =
        EventDraft::from_object(obj(json!({"kind": "kyc", "private": {"name": "E"}})), Some("crm")).unwrap();
    assert_eq!((d.source.as_str(), d.body.clone(), private), ("crm", None, Some(json!({"name": "E"}))));
    // Each rule, refused with its own error.
    let refused: Vec<(serde_json::Value, DraftError)> = vec![
        (json!({"kind": "k", "source": "s", "seq": 1}), DraftError::FilledIn("seq")),
        (json!({"kind": "k", "source": "s", "sig": "x"}), DraftError::FilledIn("sig")),
        (json!({"source": "s"}), DraftError::NoKind),
        (json!({"kind": "k"}), DraftError::NoSource),
        (json!({"kind": 7, "source": "s"}), DraftError::NotString { field: "kind", found: "7".into() }),
        (json!({"kind": "k", "source": "s", "key": ["a"]}), DraftError::NotString { field: "key", found: "[\"a\"]".into() }),
        (json!({"kind": "k", "source": "s", "body": 1, "private": 2}), DraftError::BodyAndPrivate),
        (json!({"kind": "k", "source": "s", "corrects": {"seq": 1, "mode": "undo"}}), DraftError::BadCorrection),
        (json!({"kind": "k", "source": "s", "corrects": {"mode": "void"}}), DraftError::BadCorrection),
    ];
    for (v, want) in refused {
        assert_eq!(EventDraft::from_object(obj(v.clone()), None).unwrap_err(), want, "{v}");
    }
}
}

/// A file the signed checkpoint commits to and the log does not serve: the audit fails
/// there, at that file's segment, with NOT_FOUND (not TAMPERED), whichever file it is.
#[test]
fn a_committed_file_not_served_fails_the_audit_at_its_segment_as_not_found() {
    use liveledger_core::verdict::{audit_code, Code};
    let mut l = Ledger::new();
    for i in 1..600 {
        l.payment(i);
    }
    l.publish();
    let size = 600;
    // Each step of a full audit, in turn, is the one not served.
    let steps = {
        let mut a = Auditor::new(&l.checkpoint(size), Level::Ledger, true);
        let mut v = Vec::new();
        while let Some(s) = a.next_step() {
            v.push(s);
            a.feed_all(l.file(s.path())).unwrap();
        }
        v
    };
    assert!(
        steps.iter().any(|s| matches!(s, Step::Tile(_))),
        "{steps:?}"
    );
    for missing in &steps {
        let mut a = Auditor::new(&l.checkpoint(size), Level::Ledger, true);
        let mut bundles_read = 0;
        while let Some(s) = a.next_step() {
            if s == *missing {
                let f = a.not_served();
                assert_eq!(audit_code(&f), Code::NotFound, "{missing:?}");
                assert_eq!(
                    f.error,
                    AuditError::NotServed {
                        path: s.path(),
                        size
                    }
                );
                assert_eq!(f.location.step, Some(s));
                let segment = match s {
                    Step::Bundle(p) => p.index(),
                    Step::Tile(p) => p.first_leaf().unwrap() / 256,
                };
                assert_eq!(f.location.bundle, Some(segment), "{missing:?}");
                assert!(
                    f.to_string().contains(
                        "is not served, but the signed checkpoint of size 600 commits to it"
                    ),
                    "{f}"
                );
                break;
            }
            if matches!(s, Step::Bundle(_)) {
                bundles_read += 1;
            }
            a.feed_all(l.file(s.path())).unwrap();
        }
        // Nothing more is asked for, and the report carries the failure.
        assert_eq!(a.next_step(), None);
        assert!(!a.is_done());
        assert_eq!(
            a.report().failure.map(|f| f.location.step),
            Some(Some(*missing))
        );
        assert_eq!(a.stats().bundles, bundles_read);
    }
    // With no step pending it is the caller's mistake, not the log's.
    let mut done = Auditor::new(&l.checkpoint(size), Level::Ledger, true);
    while let Some(s) = done.next_step() {
        done.feed_all(l.file(s.path())).unwrap();
    }
    assert!(matches!(done.not_served().error, AuditError::Misuse(_)));
}

/// The publisher's drafts of governance events and corrections are the core's, and the
/// chain accepts what they write: a genesis, a key added, an amend and a void, replayed.
#[test]
fn the_core_writes_genesis_key_and_correction_events_the_chain_accepts() {
    use liveledger_core::event::{genesis_prev, Change, Role, KIND_CORRECTION};
    let (log, admin, carol) = (
        key(ORIGIN, 1),
        key("alice@example.org", 2),
        key("carol@example.org", 4),
    );
    let genesis = EventDraft::genesis(ORIGIN, &admin.verifier(), &log.verifier());
    assert_eq!(
        genesis.body,
        Some(json!({
            "origin": ORIGIN,
            "keys": [{"key": admin.verifier().to_string(), "role": "admin"}],
            "log_keys": [log.verifier().to_string()],
        }))
    );
    let mut chain = ChainVerifier::new(ORIGIN);
    let mut prev = genesis_prev(ORIGIN);
    let mut t = 1_790_000_000;
    let mut entries = Vec::new();
    let mut push =
        |d: &EventDraft, by: &liveledger_core::note::SignerKey, chain: &mut ChainVerifier| {
            t += 1;
            let seq = entries.len() as u64;
            let bytes = d
                .sign(seq, Timestamp::from_unix(t, 0).unwrap(), prev, by)
                .unwrap();
            chain
                .check(&bytes, leaf_hash(&bytes))
                .unwrap_or_else(|e| panic!("event {seq}: {e}"));
            prev = leaf_hash(&bytes);
            entries.push(bytes);
            UnverifiedEvent::parse(entries.last().unwrap()).unwrap()
        };
    push(&genesis, &admin, &mut chain);
    let added = push(
        &EventDraft::key_add(&carol.verifier(), Role::Writer),
        &admin,
        &mut chain,
    );
    assert_eq!(added.kind, event::KIND_KEY_ADD);
    let pay = EventDraft {
        kind: "payment".into(),
        source: "erp-eu".into(),
        key: Some("invoice/7".into()),
        body: Some(json!({"amount": "10.00"})),
        ..Default::default()
    };
    let paid = push(&pay, &carol, &mut chain);
    let again = push(&pay, &carol, &mut chain);
    let amend = EventDraft::correction(
        &paid,
        Change::Amend(json!({"amount": "12.00"})),
        Some("typo"),
    );
    let amended = push(&amend, &carol, &mut chain);
    assert_eq!(
        (
            amended.kind.as_str(),
            amended.source.as_str(),
            amended.key.as_deref()
        ),
        (KIND_CORRECTION, "erp-eu", Some("invoice/7"))
    );
    assert_eq!(amended.object["reason"], json!("typo"));
    assert_eq!(
        amended.correction,
        Some(Correction {
            seq: 2,
            mode: CorrectionMode::Amend
        })
    );
    let void = push(
        &EventDraft::correction(&again, Change::Void, None),
        &carol,
        &mut chain,
    );
    assert_eq!(
        (void.key.as_deref(), void.object.get("reason")),
        (None, None)
    );
    assert_eq!(
        void.correction,
        Some(Correction {
            seq: 3,
            mode: CorrectionMode::Void
        })
    );
    // The replay: the amend is the key's value.
    let mut r = Replay::new();
    for e in &entries {
        r.apply_event(&UnverifiedEvent::parse(e).unwrap());
    }
    let rows = r.state();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].value_from, 4, "the amend's value: {rows:?}");
}

/// The metadata writer writes what the parser reads, and a policy replaces the witness
/// threshold and keeps every other member.
#[test]
fn the_metadata_writer_is_checked_by_the_metadata_reader() {
    use liveledger_core::metadata::{Entries, Metadata};
    use liveledger_core::writer::metadata::{with_policy, MetadataDraft};
    let (log, admin) = (key(ORIGIN, 1), key("alice@example.org", 2));
    let time = liveledger_core::note::SignerKey::from_seed(
        "t",
        liveledger_core::note::ALG_COSIGNATURE_V1,
        [5; 32],
    )
    .unwrap();
    let w = key("w.example", 6).verifier();
    let (vlog, vtime, vadmin) = (log.verifier(), time.verifier(), admin.verifier());
    let draft = MetadataDraft {
        origin: ORIGIN,
        log_key: &vlog,
        cadence_seconds: 60,
        witnesses: std::slice::from_ref(&w),
        witness_threshold: 0,
        ledger: Some((&vtime, &vadmin)),
    };
    let text = draft.to_text().unwrap();
    let m = Metadata::parse(&text).unwrap();
    assert_eq!(
        (m.origin.as_str(), m.entries, m.cadence_seconds),
        (ORIGIN, Entries::Events, Some(60))
    );
    assert_eq!(
        (m.log_keys, m.time_key),
        (vec![vlog.clone()], Some(vtime.clone()))
    );
    assert_eq!(
        m.authors,
        Some(json!([{"key": vadmin.to_string(), "role": "admin"}]))
    );
    let opaque = MetadataDraft {
        ledger: None,
        ..draft.clone()
    }
    .to_text()
    .unwrap();
    assert_eq!(Metadata::parse(&opaque).unwrap().entries, Entries::Opaque);
    assert!(MetadataDraft {
        origin: "a b",
        ..draft.clone()
    }
    .to_text()
    .is_err());
    assert!(MetadataDraft {
        witness_threshold: 2,
        ..draft.clone()
    }
    .to_text()
    .is_err());
    // A member a newer publisher added stays; the threshold gives way to the policy.
    let newer = text.replace("}\n", ",\"zz_newer_member\":true}\n");
    assert!(Metadata::parse(&newer).is_ok(), "{newer}");
    let policy = format!(
        "witness W {} https://w.example/\nquorum W\n",
        time.verifier()
    );
    let with = with_policy(&newer, &policy).unwrap();
    let m = Metadata::parse(&with).unwrap();
    assert!(m.policy.is_some() && m.witnesses.is_none());
    assert_eq!(m.other["zz_newer_member"], json!(true));
    assert!(with_policy(&newer, "not a policy").is_err());
    assert!(with_policy("not metadata", &policy).is_err());
}
