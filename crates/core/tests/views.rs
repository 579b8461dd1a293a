//! The split-view step machine (`audit::views`): what each witness of the quorum holds,
//! older, newer, forked, absent, unreachable, forged or unprovable, against the log's
//! checkpoint.

mod common;
use common::ledger::{Ledger, ORIGIN};

use liveledger_core::audit::views::{Answer, Pair, WitnessViews};
use liveledger_core::audit::{Consistency, ConsistencyError, InconsistencyKind};
use liveledger_core::hash::sha256;
use liveledger_core::note::{Note, SignerKey, ALG_COSIGNATURE_V1};
use liveledger_core::policy::Policy;
use liveledger_core::trust::{Trust, TrustRequest};

fn witness(n: u8) -> SignerKey {
    SignerKey::from_seed(&format!("w{n}.example"), ALG_COSIGNATURE_V1, [40 + n; 32]).unwrap()
}

/// Pinned log key, and a policy of four witnesses, three with URLs.
fn trust(l: &Ledger) -> Trust {
    let policy = Policy::parse(
        format!(
            "witness A {} https://a.example/w/\nwitness B {} https://b.example\nwitness N {}\nwitness C {} http://127.0.0.1:1/\ngroup g any A B N C\nquorum g\n",
            witness(1).verifier(),
            witness(2).verifier(),
            witness(3).verifier(),
            witness(4).verifier()
        )
        .as_bytes(),
    )
    .unwrap();
    let req = TrustRequest {
        pinned: vec![l.log_key.verifier()],
        policy: Some(policy),
        ..Default::default()
    };
    Trust::establish(&req, None).unwrap()
}

/// Proves a pair as a client does, with the tiles of `tiles_of`.
fn prove(tiles_of: &Ledger, p: &Pair) -> Result<(), ConsistencyError> {
    let mut c = Consistency::new(p.newer.size());
    for t in c.needed(p.older.size(), p.newer.size())? {
        c.feed(t, tiles_of.file(t))?;
    }
    c.check(&p.older, &p.newer).map(|_| ())
}

both! {
fn every_witness_with_a_url_is_asked_at_its_monitoring_path() {
    let l = Ledger::grown(3, None);
    let (t, cp) = (trust(&l), l.checkpoint(3));
    let v = WitnessViews::new(&t, &cp);
    let hex = sha256(ORIGIN.as_bytes()).to_hex();
    let asked: Vec<(String, String)> = v.asks().iter().map(|a| (a.witness.clone(), a.full_url())).collect();
    assert_eq!(asked, vec![
        ("A".to_string(), format!("https://a.example/w/{hex}/checkpoint")),
        ("B".to_string(), format!("https://b.example/{hex}/checkpoint")),
        ("C".to_string(), format!("http://127.0.0.1:1/{hex}/checkpoint")),
    ]);
    // No quorum, nothing to ask.
    let plain = Trust::establish(&TrustRequest { pinned: vec![l.log_key.verifier()], ..Default::default() }, None).unwrap();
    assert!(WitnessViews::new(&plain, &cp).asks().is_empty());
}
}

both! {
fn older_and_newer_views_are_proved_either_way_round() {
    // The ledger at 300 entries (past a full tile); the log served 200.
    let l = Ledger::grown(300, None);
    let t = trust(&l);
    let served = l.checkpoint(200);
    for held in [1u64, 7, 199, 200, 201, 256, 300] {
        let mut v = WitnessViews::new(&t, &served);
        let pair = v.answer(&t, 0, Answer::Held(&l.checkpoints[&held])).expect("a pair to prove");
        let (older, newer) = (held.min(200), held.max(200));
        assert_eq!((pair.older.size(), pair.newer.size()), (older, newer));
        v.proved(0, prove(&l, &pair)).unwrap();
        let view = &v.finish()[0];
        assert_eq!((view.size, view.consistent), (Some(held), Some(true)), "held {held}");
        assert_eq!(view.note.is_some(), held > 200, "held {held}: {:?}", view.note);
    }
}
}

both! {
fn a_witness_holding_another_history_is_a_split_view_with_both_checkpoints() {
    let l = Ledger::grown(300, None);
    let other = Ledger::grown(300, Some(150));
    let t = trust(&l);
    // The witness holds the fork, smaller, equal or larger than what the log served.
    for (served, held) in [(250u64, 160u64), (250, 250), (200, 290), (149, 290)] {
        let cp = l.checkpoint(served);
        let mut v = WitnessViews::new(&t, &cp);
        let pair = v.answer(&t, 2, Answer::Held(&other.checkpoints[&held])).unwrap();
        // The tiles are the newer tree's: the fork's when the witness's is newer.
        let tiles = if held > served { &other } else { &l };
        let r = v.proved(2, prove(tiles, &pair));
        if served < 150 {
            // Both histories agree up to 150: no fork is visible from a tree of 149.
            r.unwrap();
            continue;
        }
        let split = r.unwrap_err();
        assert_eq!(split.witness, "C");
        let e = &split.inconsistency;
        assert!(matches!(e.kind, InconsistencyKind::Fork(_)), "{:?}", e.kind);
        let (old, new) = if held <= served { (&other.checkpoints[&held], &l.checkpoints[&served]) } else { (&l.checkpoints[&served], &other.checkpoints[&held]) };
        assert_eq!((&e.old_checkpoint, &e.new_checkpoint), (old, new));
        assert!(split.to_string().contains("witness C holds another history"));
    }
}
}

both! {
fn what_proves_nothing_is_a_note_never_a_failure() {
    let l = Ledger::grown(20, None);
    let t = trust(&l);
    let served = l.checkpoint(10);
    let mut v = WitnessViews::new(&t, &served);
    assert!(v.answer(&t, 0, Answer::Nothing).is_none());
    assert!(v.answer(&t, 1, Answer::Failed("connection refused")).is_none());
    // A checkpoint signed by another key proves nothing about this log.
    let forger = SignerKey::from_seed(ORIGIN, 1, [77; 32]).unwrap();
    let body = Note::parse(&l.checkpoints[&15]).unwrap().text_unverified().to_string();
    let forged = Note::sign(&body, &[&forger], 0).unwrap().to_bytes();
    assert!(v.answer(&t, 2, Answer::Held(&forged)).is_none());
    let views = v.finish();
    let notes: Vec<&str> = views.iter().map(|w| w.note.as_deref().unwrap()).collect();
    assert_eq!(notes[0], "holds no checkpoint of this log");
    assert!(notes[1].starts_with("https://b.example/") && notes[1].ends_with(": connection refused"), "{}", notes[1]);
    // A message that already names the URL is not prefixed with it again.
    let mut again = WitnessViews::new(&t, &served);
    let said = format!("{}: refused", again.asks()[1].full_url());
    again.answer(&t, 1, Answer::Failed(&said));
    assert_eq!(again.finish()[1].note.as_deref(), Some(said.as_str()));
    assert!(notes[2].starts_with("serves a checkpoint that does not verify"), "{}", notes[2]);
    assert!(views.iter().all(|w| w.consistent.is_none() && w.size.is_none()));

    // A newer tree whose tiles are not served, or are malformed: said, with the size.
    let mut v = WitnessViews::new(&t, &served);
    let pair = v.answer(&t, 0, Answer::Held(&l.checkpoints[&15])).unwrap();
    v.unproved(0, "tile/0/000.p/15: 404");
    let pair_b = v.answer(&t, 1, Answer::Held(&l.checkpoints[&16])).unwrap();
    let mut c = Consistency::new(pair_b.newer.size());
    let tile = c.needed(pair_b.older.size(), pair_b.newer.size()).unwrap()[0];
    let bad = c.feed(tile, b"short").unwrap_err();
    v.proved(1, Err(bad)).unwrap();
    let _ = pair;
    let views = v.finish();
    assert_eq!((views[0].size, views[0].consistent), (Some(15), None));
    assert!(views[0].note.as_deref().unwrap().contains("could not be checked: tile/0/000.p/15: 404"));
    assert_eq!((views[1].size, views[1].consistent), (Some(16), None));
    assert_eq!(views[2].note.as_deref(), Some("not asked"));
    assert_eq!(views[0].to_json()["size"], 15);
}
}
