//! The page's logic, in Node (and in Chromium via model_browser.rs).

use liveledger_web::model::{self, Cell, Freshness, Progress};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn the_heatmap_follows_the_audit_and_keeps_failures() {
    let mut c = Vec::new();
    model::advance(&mut c, 700, 0);
    assert_eq!(c, vec![Cell::Verified, Cell::Pending, Cell::Pending]);
    model::advance(&mut c, 700, 1);
    model::mark_failed(&mut c, 2);
    model::all_verified(&mut c, 900);
    assert_eq!(
        c,
        vec![Cell::Verified, Cell::Verified, Cell::Failed, Cell::Verified]
    );
    assert_eq!(
        model::heatmap_label(&c),
        "4 segments: 3 verified, 0 pending, 1 failed"
    );
}

#[wasm_bindgen_test]
fn freshness_is_judged_against_the_cadence() {
    assert_eq!(model::freshness(None, Some(10.0)), Freshness::Unknown);
    assert_eq!(
        model::freshness(Some(15.0), Some(10.0)),
        Freshness::Fresh(15)
    );
    assert_eq!(
        model::freshness(Some(25.0), Some(10.0)),
        Freshness::Stale(25)
    );
    assert_eq!(
        model::freshness(Some(-3.0), Some(10.0)),
        Freshness::Fresh(0),
        "clock skew is not staleness"
    );
}

#[wasm_bindgen_test]
fn a_smaller_or_different_digest_than_remembered_is_an_alarm() {
    let old = json!({"size": 40, "root": "a", "note": "old"});
    assert_eq!(
        model::compare_with_memory(&old, &json!({"size": 50, "root": "b"})),
        None
    );
    assert_eq!(
        model::compare_with_memory(&old, &json!({"size": 40, "root": "a"})),
        None
    );
    let r =
        model::compare_with_memory(&old, &json!({"size": 39, "root": "c", "note": "new"})).unwrap();
    assert_eq!(r["code"], "ROLLBACK");
    assert_eq!(r["evidence"]["oldCheckpoint"], "old");
    let f = model::compare_with_memory(&old, &json!({"size": 40, "root": "z"})).unwrap();
    assert_eq!(f["code"], "FORK");
    assert!(model::alarm_explanation("TAMPERED", Some(3)).contains("segment 3"));
}

#[wasm_bindgen_test]
fn progress_reads_the_verifier_callback() {
    let p = Progress::from_json(
        &json!({"entries": 512, "size": 1000, "bytes": 2_000_000, "segment": 1}),
        2.0,
    );
    assert_eq!(p.rate, 256.0);
    assert_eq!(
        p.describe(),
        "512 of 1000 events verified · 2.0 MB · 256 events/s"
    );
}
