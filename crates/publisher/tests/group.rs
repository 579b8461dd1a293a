//! Group commit (`Writer::append_each`): batches that arrive together share one journaled
//! commit and one published digest; a bad event refuses only its own batch.

use std::path::PathBuf;

use liveledger_publisher::{init, parse_lines, InitOptions, Writer};
use liveledger_store::{Error, Store};

/// A fresh ledger in the temp dir, its admin `alice@example.org`.
fn ledger(name: &str) -> (Store, PathBuf) {
    let dir = std::env::temp_dir().join(format!("liveledger-group-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::new(&dir.join("ledger"), Some(&dir.join("keys"))).unwrap();
    init(
        &store,
        InitOptions {
            origin: "example.org/group".into(),
            author: "alice@example.org".into(),
            cadence_seconds: 3600,
            raw: false,
            log_key: None,
            witnesses: Vec::new(),
            witness_threshold: 0,
        },
    )
    .unwrap();
    (store, dir)
}

#[test]
fn batches_that_arrive_together_share_one_digest_and_a_bad_event_refuses_only_its_own() {
    let (store, dir) = ledger("share");
    let mut w = Writer::open(&store).unwrap();
    let alice = w.author(Some("alice@example.org")).unwrap();
    w.add_author("bob@example.org", "writer", &alice).unwrap();
    let bob = w.author(Some("bob@example.org")).unwrap();
    let (size, digests) = (w.size(), w.digest_sizes().len());

    let first = parse_lines(
        "{\"kind\":\"payment\",\"key\":\"a\",\"body\":{\"n\":1}}\n{\"kind\":\"payment\",\"key\":\"b\",\"body\":{\"n\":2}}\n",
        Some("erp"),
    )
    .unwrap();
    // Line 2 corrects an event the ledger does not have: the chain refuses it.
    let bad = parse_lines(
        "{\"kind\":\"payment\",\"body\":{\"n\":3}}\n{\"kind\":\"correction\",\"corrects\":{\"seq\":999999,\"mode\":\"void\"},\"body\":{\"reason\":\"x\"}}\n",
        Some("erp"),
    )
    .unwrap();
    let last = parse_lines("{\"kind\":\"payment\",\"body\":{\"n\":4}}\n", Some("crm")).unwrap();

    let answers = w
        .append_each(vec![(first, alice.clone()), (bad, alice), (last, bob)])
        .unwrap();
    assert_eq!(answers.len(), 3);
    let seqs = |a: &Result<Vec<liveledger_publisher::Appended>, Error>| -> Vec<u64> {
        a.as_ref().unwrap().iter().map(|e| e.seq).collect()
    };
    assert_eq!(seqs(&answers[0]), [size, size + 1]);
    match &answers[1] {
        Err(Error::Line { line: 2, reason }) => assert!(reason.contains("999999"), "{reason}"),
        other => panic!("the bad batch: {other:?}"),
    }
    assert_eq!(seqs(&answers[2]), [size + 2]);
    // One commit: three events, one new digest.
    assert_eq!(w.size(), size + 3);
    assert_eq!(w.digest_sizes().len(), digests + 1);
    // Each event signed by its own author, and the ledger reads back whole.
    assert!(w
        .event(size)
        .unwrap()
        .author
        .starts_with("alice@example.org+"));
    assert!(w
        .event(size + 2)
        .unwrap()
        .author
        .starts_with("bob@example.org+"));
    drop(w);
    let again = Writer::open(&store).unwrap();
    assert_eq!(again.size(), size + 3);
    drop(again);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn when_every_batch_is_bad_nothing_is_written() {
    let (store, dir) = ledger("bad");
    let mut w = Writer::open(&store).unwrap();
    let alice = w.author(Some("alice@example.org")).unwrap();
    let (size, digests) = (w.size(), w.digest_sizes().len());
    let bad = |seq: u64| {
        parse_lines(
            &format!("{{\"kind\":\"correction\",\"corrects\":{{\"seq\":{seq},\"mode\":\"void\"}},\"body\":{{\"reason\":\"x\"}}}}\n"),
            Some("erp"),
        )
        .unwrap()
    };
    let answers = w
        .append_each(vec![(bad(500), alice.clone()), (bad(600), alice)])
        .unwrap();
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, Err(Error::Line { line: 1, .. }))),
        "{answers:?}"
    );
    assert_eq!((w.size(), w.digest_sizes().len()), (size, digests));
    drop(w);
    let _ = std::fs::remove_dir_all(dir);
}
