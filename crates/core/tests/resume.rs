//! Continuing an audit from a kept resume point (`audit::resume`): from every kind of
//! size (tile boundaries, one entry, the genesis), with governance events on the way, to
//! a grown ledger, reading only the new entries; and every way a kept point can be wrong
//! (another ledger, another level, a changed edge, a changed chain, damage, a fork since)
//! refused or failed, never passed.

mod common;
use common::ledger::{key, Ledger, ORIGIN};

use liveledger_core::audit::resume::{ResumeError, ResumePoint, MAX_RESUME_POINT};
use liveledger_core::audit::{Auditor, Level};
use liveledger_core::event::EventDraft;
use liveledger_core::trust::{Trust, TrustRequest};
use serde_json::json;

const N: u64 = if cfg!(target_arch = "wasm32") {
    270
} else {
    530
};

fn trust(l: &Ledger) -> Trust {
    Trust::establish(
        &TrustRequest {
            pinned: vec![l.log_key.verifier()],
            ..Default::default()
        },
        None,
    )
    .unwrap()
}

/// Runs `a` over `l`'s files; answers with how many entries it read.
fn run(l: &Ledger, a: &mut Auditor) -> Result<u64, String> {
    while let Some(step) = a.next_step() {
        a.feed(l.file(step.path())).map_err(|e| e.to_string())?;
        a.finish_step().map_err(|e| e.to_string())?;
    }
    let r = a.report();
    match r.failure {
        Some(f) => Err(f.to_string()),
        None => Ok(r.stats.entries),
    }
}

/// A ledger published at every size: a writer added by the admin at 40, who signs the
/// events 120 to 124; another writer added at 300.
fn governed(n: u64) -> Ledger {
    let mut l = Ledger::new();
    l.publish();
    let w40 = key("w40@example.org", 50);
    for i in 1..n {
        let add = |who: &liveledger_core::note::SignerKey| EventDraft {
            kind: "ledger.key.add".into(),
            source: "test".into(),
            body: Some(json!({"key": who.verifier().to_string(), "role": "writer"})),
            ..Default::default()
        };
        let admin = l.admin.clone();
        match i {
            40 => drop(l.append_draft(&add(&w40), &admin)),
            300 => drop(l.append_draft(&add(&key("w300@example.org", 51)), &admin)),
            120..=124 => {
                let d = EventDraft {
                    kind: "payment".into(),
                    source: "erp".into(),
                    body: Some(json!({"amount": i})),
                    ..Default::default()
                };
                l.append_draft(&d, &w40);
            }
            _ => drop(l.payment(i)),
        }
        l.publish();
    }
    l
}

/// The point a full audit of `l` at `size` keeps.
fn point_at(l: &Ledger, size: u64, level: Level) -> ResumePoint {
    let cp = l.checkpoint(size);
    let mut a = Auditor::new(&cp, level, true);
    run(l, &mut a).unwrap();
    a.resume_point(&cp).expect("a finished audit keeps a point")
}

both! {
fn an_audit_resumed_from_any_size_reads_only_the_new_entries_and_verifies() {
    let l = governed(N);
    let t = trust(&l);
    let newest = l.checkpoint(N);
    for level in [Level::Ledger, Level::Log] {
        for s in [1, 2, 39, 40, 41, 255, 256, 257, 299, 300, 301, N - 1, N].into_iter().filter(|&s| s <= N) {
            let p = point_at(&l, s, level);
            // Kept as text and read back.
            let text = p.encode();
            let back = ResumePoint::parse(&text).unwrap();
            assert_eq!(back, p, "size {s}");
            let (mut a, kept) = Auditor::resume(&back, &t, &newest, level, true).unwrap_or_else(|e| panic!("size {s}: {e}"));
            assert_eq!(kept.size(), s);
            let read = run(&l, &mut a).unwrap_or_else(|e| panic!("{level:?} from {s}: {e}"));
            // Only the new entries count as read (the start of the bundle they share is
            // re-hashed against the kept edge, not audited again).
            assert_eq!(read, N - s, "{level:?} from {s}");
            // And it keeps a point of its own, for the next visit.
            assert!(a.resume_point(&newest).is_some());
        }
    }
}
}

both! {
fn a_point_from_another_ledger_or_level_or_with_a_changed_edge_is_refused() {
    let l = governed(300);
    let t = trust(&l);
    let newest = l.checkpoint(300);
    let p = point_at(&l, 100, Level::Ledger);
    // Another level.
    assert!(matches!(Auditor::resume(&p, &t, &newest, Level::Log, true), Err(ResumeError::Level { .. })));
    // Another ledger's key.
    let other = Trust::establish(&TrustRequest { pinned: vec![key(ORIGIN, 77).verifier()], ..Default::default() }, None).unwrap();
    assert!(matches!(Auditor::resume(&p, &other, &newest, Level::Ledger, true), Err(ResumeError::Checkpoint(_))));
    // An older checkpoint than the kept one.
    assert!(matches!(Auditor::resume(&p, &t, &l.checkpoint(50), Level::Ledger, true),
        Err(ResumeError::Inconsistent(i)) if matches!(i.kind, liveledger_core::audit::InconsistencyKind::Rollback { .. }) && i.old_checkpoint == l.checkpoints[&100]));
    // Every byte of the text changed, one at a time: refused, or (where JSON and base64
    // still read) refused by a check, or an audit that still verifies (the change was in
    // a signature's padding or whitespace): never a wrong pass.
    let text = p.encode();
    let (mut refused, mut tried) = (0, 0);
    for i in (0..text.len()).step_by(if cfg!(target_arch = "wasm32") { 7 } else { 1 }) {
        let mut b = text.clone().into_bytes();
        b[i] ^= 0x01;
        let Ok(s) = String::from_utf8(b) else { continue };
        tried += 1;
        match ResumePoint::parse(&s).and_then(|q| Auditor::resume(&q, &t, &newest, Level::Ledger, true)) {
            Err(_) => refused += 1,
            Ok((mut a, kept)) => {
                if run(&l, &mut a).is_ok() {
                    assert_eq!(kept.size(), 100, "byte {i}");
                } else {
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > tried / 2, "{refused} of {tried} changes refused");
    // Not a point at all, or too large.
    for bad in ["", "{}", "[]", &"x".repeat(MAX_RESUME_POINT + 1)] {
        assert!(matches!(ResumePoint::parse(bad), Err(ResumeError::Malformed(_))));
    }
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["extra"] = json!(1);
    assert!(matches!(ResumePoint::parse(&v.to_string()), Err(ResumeError::Malformed(_))));
}
}

both! {
fn a_changed_chain_state_is_refused_or_fails_the_audit() {
    let l = governed(300);
    let t = trust(&l);
    let newest = l.checkpoint(300);
    let p = point_at(&l, 100, Level::Ledger);
    let mut v: serde_json::Value = serde_json::from_str(&p.encode()).unwrap();
    // Without the genesis among the governance events.
    let mut no_genesis = v.clone();
    no_genesis["governance"].as_array_mut().unwrap().remove(0);
    let q = ResumePoint::parse(&no_genesis.to_string()).unwrap();
    assert!(matches!(Auditor::resume(&q, &t, &newest, Level::Ledger, true), Err(ResumeError::Chain(_))));
    // Without the writer added at 40: its events at 120 fail as by an unknown author.
    let mut dropped = v.clone();
    dropped["governance"].as_array_mut().unwrap().truncate(1);
    let q = ResumePoint::parse(&dropped.to_string()).unwrap();
    let (mut a, _) = Auditor::resume(&q, &t, &newest, Level::Ledger, true).unwrap();
    let e = run(&l, &mut a).unwrap_err();
    assert!(e.contains("120"), "{e}");
    // Another last leaf hash than the edge's.
    v["prev"] = json!(liveledger_core::hash::Hash([7; 32]).to_base64());
    let q = ResumePoint::parse(&v.to_string()).unwrap();
    assert!(matches!(Auditor::resume(&q, &t, &newest, Level::Ledger, true), Err(ResumeError::Chain(_))));
}
}

both! {
fn a_newer_checkpoint_that_does_not_extend_the_kept_one_fails_the_audit() {
    // The same key signed another history after 150: a point kept at 200 of the first, a
    // newer checkpoint of the second. No consistency proof is asked here: the root the
    // resumed audit recomputes from the kept edge does not match.
    let l = Ledger::grown(300, None);
    let fork = Ledger::grown(300, Some(150));
    let t = trust(&l);
    let p = point_at(&l, 200, Level::Ledger);
    let (mut a, _) = Auditor::resume(&p, &t, &fork.checkpoint(300), Level::Ledger, true).unwrap();
    let e = run(&fork, &mut a).unwrap_err();
    assert!(e.contains("changed since it was verified") || e.contains("root"), "{e}");
}
}
