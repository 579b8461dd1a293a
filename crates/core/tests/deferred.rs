//! Signature checks handed out (deferred mode) give the verdicts, failures and events of
//! the inline audit, whatever the order in which the caller confirms them.

mod common;
use common::ledger::{Ledger, ORIGIN};

use liveledger_core::audit::{AuditError, AuditFailure, Auditor, Level};
use liveledger_core::event::{ChainVerifier, Correction, CorrectionMode, EventDraft, EventError};
use liveledger_core::hash::{leaf_hash, Hash};
use liveledger_core::sigcheck::SignatureCheck;
use liveledger_core::time::Timestamp;

/// The inline audit: `(events seen, result)`.
fn inline(l: &Ledger, size: u64) -> (Vec<u64>, Result<(), Box<AuditFailure>>, Auditor) {
    let mut a = Auditor::new(&l.checkpoint(size), Level::Ledger, true);
    let mut seen = Vec::new();
    let r = (|| {
        while let Some(step) = a.next_step() {
            a.feed_with(l.file(step.path()), &mut |e| seen.push(e.event().seq))?;
            a.finish_step()?;
        }
        Ok(())
    })();
    (seen, r, a)
}

/// The deferred audit: verdicts by `verify_strict`, confirmed `lag` steps late, and all
/// outstanding ones after a failure (as a caller must, to find an earlier bad signature).
fn deferred(
    l: &Ledger,
    size: u64,
    lag: usize,
) -> (Vec<u64>, Result<(), Box<AuditFailure>>, Auditor) {
    let mut a = Auditor::new(&l.checkpoint(size), Level::Ledger, true);
    a.defer_signatures();
    let mut seen = Vec::new();
    let mut waiting: std::collections::VecDeque<Vec<SignatureCheck>> = Default::default();
    let confirm = |a: &mut Auditor, checks: Vec<SignatureCheck>, seen: &mut Vec<u64>| {
        let verdicts: Vec<bool> = checks.iter().map(|c| c.verify_strict()).collect();
        a.confirm_signatures(&verdicts, &mut |e| seen.push(e.event().seq))
    };
    let r = (|| {
        while let Some(step) = a.next_step() {
            let fed = a.feed(l.file(step.path())).and_then(|()| a.finish_step());
            waiting.push_back(a.take_signature_checks());
            if let Err(e) = fed {
                for checks in waiting.drain(..) {
                    let _ = confirm(&mut a, checks, &mut seen);
                }
                return Err(a.failure().cloned().map(Box::new).unwrap_or(e));
            }
            while waiting.len() > lag {
                let checks = waiting.pop_front().unwrap();
                confirm(&mut a, checks, &mut seen)?;
            }
        }
        if waiting.iter().any(|w| !w.is_empty()) {
            assert!(!a.is_done(), "done with verdicts outstanding");
            assert!(a.verified_entries() < size);
        }
        for checks in waiting.drain(..) {
            confirm(&mut a, checks, &mut seen)?;
        }
        Ok(())
    })();
    (seen, r, a)
}

fn sample(n: u64) -> Ledger {
    let mut l = Ledger::new();
    for i in 1..n {
        l.payment(i);
    }
    l.publish();
    l
}

/// A ledger whose event `bad` carries a signature that does not verify (a signed field
/// changed afterwards, canonical form kept) and, if `broken` is set, whose event `broken`
/// names the wrong `prev`.
fn with_faults(n: u64, bad: u64, broken: Option<u64>) -> Ledger {
    let mut l = Ledger::new();
    for i in 1..n {
        if i == bad {
            let good = EventDraft {
                kind: "payment".into(),
                source: "erp-eu".into(),
                ..Default::default()
            }
            .sign(i, l.next_time(), l.prev, &Ledger::bob())
            .unwrap();
            let s = String::from_utf8(good).unwrap().replace("erp-eu", "erp-EU");
            l.append_raw(s.into_bytes());
        } else if Some(i) == broken {
            let e = EventDraft {
                kind: "payment".into(),
                source: "erp-eu".into(),
                ..Default::default()
            }
            .sign(i, l.next_time(), Hash([7; 32]), &Ledger::bob())
            .unwrap();
            l.append_raw(e);
        } else {
            l.payment(i);
        }
    }
    l.publish();
    l
}

both! {
fn a_deferred_audit_gives_the_inline_audits_events_and_counts() {
    let l = sample(700);
    let (want_seen, want, a0) = inline(&l, 700);
    want.unwrap();
    for lag in [0, 1, 3, 100] {
        let (seen, r, a) = deferred(&l, 700, lag);
        r.unwrap();
        assert!(a.is_done());
        assert_eq!(a.verified_entries(), 700);
        assert_eq!(a.unconfirmed(), 0);
        assert_eq!(seen, want_seen, "lag {lag}");
        assert_eq!(a.stats(), a0.stats(), "lag {lag}");
    }
}
}

both! {
fn a_bad_signature_fails_where_the_inline_audit_fails() {
    let l = with_faults(600, 300, None);
    let (_, want, _) = inline(&l, 600);
    let want = want.unwrap_err();
    assert!(matches!(want.error, AuditError::Event(EventError::BadSignature { seq: 300, .. })), "{want}");
    for lag in [0, 1, 5] {
        let (seen, r, a) = deferred(&l, 600, lag);
        let f = r.unwrap_err();
        assert_eq!(f.error, want.error, "lag {lag}");
        assert_eq!(f.location.entry, Some(300));
        assert_eq!(f.location.bundle, Some(1));
        assert!(!a.is_done());
        assert!(seen.iter().all(|&s| s < 300), "an event at or after the bad one was reported");
    }
}
}

both! {
fn an_earlier_bad_signature_wins_over_a_later_broken_chain() {
    // Event 300's signature is bad and event 400 breaks the chain. Inline, 300 is found
    // first; deferred, the chain break is found while 300's verdict is outstanding, and
    // the verdict must take its place.
    let l = with_faults(600, 300, Some(400));
    let (_, want, _) = inline(&l, 600);
    let want = want.unwrap_err();
    assert!(matches!(want.error, AuditError::Event(EventError::BadSignature { seq: 300, .. })), "{want}");
    for lag in [0, 2] {
        let (_, r, a) = deferred(&l, 600, lag);
        let f = r.unwrap_err();
        assert_eq!(f.error, want.error, "lag {lag}: {f}");
        assert_eq!(a.failure().map(|f| f.location.entry), Some(Some(300)));
    }
    // And with only the chain break, the chain break is the failure.
    let l = with_faults(600, 10_000, Some(400));
    let (_, r, _) = deferred(&l, 600, 1);
    assert!(matches!(r.unwrap_err().error, AuditError::Event(EventError::BrokenChain { seq: 400, .. })));
}
}

both! {
fn more_verdicts_than_checks_is_misuse() {
    let l = sample(10);
    let mut a = Auditor::new(&l.checkpoint(10), Level::Ledger, false);
    a.defer_signatures();
    let step = a.next_step().unwrap();
    a.feed_all(l.file(step.path())).unwrap();
    let n = a.take_signature_checks().len();
    assert_eq!(n, 10);
    let f = a.confirm_signatures(&vec![true; n + 1], &mut |_| {}).unwrap_err();
    assert!(matches!(f.error, AuditError::Misuse(_)), "{f}");
}
}

both! {
fn check_deferred_hands_out_the_signed_message_and_fails_like_check() {
    let l = Ledger::new();
    let mut c = ChainVerifier::new(ORIGIN);
    let g = &l.entries[0];
    let (pending, check) = c.check_deferred(g, leaf_hash(g)).unwrap();
    assert_eq!(pending.seq(), 0);
    let ev = liveledger_core::event::UnverifiedEvent::parse(g).unwrap();
    assert_eq!(check.message(), ev.signed_message().as_slice());
    assert_eq!(check.signature(), &ev.signature);
    assert_eq!(check.public_key(), l.admin.verifier().public_key());
    assert!(check.verify_strict());
    assert!(pending.clone().confirm(true).is_ok());
    assert!(matches!(pending.confirm(false), Err(EventError::BadSignature { seq: 0, .. })));

    // An event that breaks a later rule and has a bad signature: both ways report the
    // signature, as `check` always has.
    let t = Timestamp::from_unix(1_790_000_100, 0).unwrap();
    let later = EventDraft {
        kind: "fix".into(),
        source: "test".into(),
        correction: Some(Correction { seq: 5, mode: CorrectionMode::Void }),
        ..Default::default()
    };
    let bytes = later.sign(1, t, leaf_hash(g), &Ledger::bob()).unwrap();
    let tampered = String::from_utf8(bytes.clone()).unwrap().replace("\"source\":\"test\"", "\"source\":\"tesT\"").into_bytes();
    for (b, bad_sig) in [(bytes, false), (tampered, true)] {
        let inline = c.clone().check(&b, leaf_hash(&b)).unwrap_err();
        let deferred = c.clone().check_deferred(&b, leaf_hash(&b)).unwrap_err();
        assert_eq!(inline, deferred);
        assert_eq!(matches!(inline, EventError::BadSignature { .. }), bad_sig, "{inline}");
    }
}
}
