//! The page's components, mounted into a real DOM in headless Chromium: what a visitor
//! sees and what their clicks and typing do.
#![cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use leptos::prelude::*;
use liveledger_core::verdict::Code;
use liveledger_web::explorer::Explorer;
use liveledger_web::history::HistoryView;
use liveledger_web::window::{Row, Window};
use serde_json::{json, Value};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{HtmlElement, HtmlInputElement};

/// Lets Leptos's effects and the browser's rendering run.
async fn tick() {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    JsFuture::from(p).await.unwrap();
}

/// A fresh element in the page to mount into.
fn host() -> HtmlElement {
    let doc = web_sys::window().unwrap().document().unwrap();
    let el: HtmlElement = doc.create_element("div").unwrap().unchecked_into();
    doc.body().unwrap().append_child(&el).unwrap();
    el
}

fn text(root: &HtmlElement, sel: &str) -> String {
    root.query_selector(sel)
        .unwrap()
        .unwrap_or_else(|| panic!("no {sel}"))
        .text_content()
        .unwrap_or_default()
}

fn all(root: &HtmlElement, sel: &str) -> Vec<HtmlElement> {
    let list = root.query_selector_all(sel).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

/// Types into an input as a visitor does (value, then a bubbling `input` event).
async fn type_into(root: &HtmlElement, sel: &str, value: &str) {
    let input: HtmlInputElement = root.query_selector(sel).unwrap().unwrap().unchecked_into();
    input.set_value(value);
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let ev = web_sys::Event::new_with_event_init_dict("input", &init).unwrap();
    input.dispatch_event(&ev).unwrap();
    tick().await;
}

/// Ten verified events a minute apart from 2026-01-01T00:00:00Z; event 3 amends event 1.
fn events() -> Window {
    let mut w = Window::new(100);
    w.extend((0..10u64).map(|i| {
        let mut ev = json!({
            "kind": if i % 2 == 0 { "payment" } else { "custody.transfer" },
            "source": "erp", "author": "alice+0000", "key": format!("k{i}"),
            "time": format!("2026-01-01T00:{:02}:00Z", i), "body": {"n": i},
        });
        if i == 3 {
            ev["corrects"] = json!({"seq": 1, "mode": "amend"});
        }
        Row::new(i, format!("{i:064x}"), ev.as_object().unwrap())
    }));
    w
}

fn count(root: &HtmlElement) -> u64 {
    text(root, "#explorer-count")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[wasm_bindgen_test]
async fn the_explorer_filters_by_time_and_the_timeline_sets_the_filter() {
    let el = host();
    let (evs, _set) = signal(events());
    let _mounted = leptos::mount::mount_to(el.clone(), move || view! { <Explorer window=evs /> });
    tick().await;
    assert_eq!(count(&el), 10);
    // Newest first; the amended event is marked.
    let rows = all(&el, "#explorer-table tbody tr");
    assert_eq!(
        rows[0].text_content().unwrap().split("2026").next(),
        Some("9")
    );
    assert!(
        rows[8].class_name().contains("corrected"),
        "event 1 was amended"
    );
    // The timeline holds every event once.
    let bars = all(&el, "#explorer-timeline .bar");
    let per_bar: Vec<u64> = bars
        .iter()
        .map(|b| {
            b.get_attribute("aria-label")
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(per_bar.iter().sum::<u64>(), 10);
    // The time fields suggest this ledger's own range, not a fixed day.
    let placeholder = |sel: &str| {
        el.query_selector(sel)
            .unwrap()
            .unwrap()
            .get_attribute("placeholder")
            .unwrap()
    };
    assert_eq!(placeholder("#explorer-from"), "2026-01-01T00:00");
    assert_eq!(placeholder("#explorer-until"), "2026-01-01T00:09");
    // Typing a bound narrows the list; a bad one says what it expected.
    type_into(&el, "#explorer-from", "2026-01-01T00:05").await;
    assert_eq!(count(&el), 5);
    type_into(&el, "#explorer-until", "2026-01-01T00:06:00").await;
    assert_eq!(count(&el), 2, "bounds are inclusive");
    type_into(&el, "#explorer-until", "soon").await;
    assert!(text(&el, "#explorer-time-error").contains("found \"soon\""));
    // The last bar holds the last event: choosing it shows just that one.
    bars.last().unwrap().click();
    tick().await;
    assert_eq!(count(&el), 1);
    assert!(!all(&el, "#explorer-timeline .bar.chosen").is_empty());
    let from: HtmlInputElement = el
        .query_selector("#explorer-from")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert!(
        from.value().starts_with("2026-01-01T00:0"),
        "{}",
        from.value()
    );
    // Detail: choosing an event shows its provenance and corrections both ways.
    all(&el, "#explorer-table tbody tr td button")[0].click();
    tick().await;
    assert!(text(&el, "#event-detail").contains("Event 9"));
    el.remove();
}

#[wasm_bindgen_test]
async fn the_explorer_shows_corrections_both_ways() {
    let el = host();
    let (evs, _) = signal(events());
    let _mounted = leptos::mount::mount_to(el.clone(), move || view! { <Explorer window=evs /> });
    tick().await;
    type_into(&el, "#explorer-search", "amend").await;
    assert_eq!(count(&el), 1);
    all(&el, "#explorer-table tbody tr td button")[0].click();
    tick().await;
    let detail = text(&el, "#event-detail");
    assert!(detail.contains("Corrects (amend) event 1"), "{detail}");
    // Follow the link to the amended event: it names its correction.
    let link = all(&el, "#event-detail button")
        .into_iter()
        .find(|b| b.text_content().as_deref() == Some("1"))
        .unwrap();
    link.click();
    tick().await;
    assert!(text(&el, "#event-detail").contains("Corrected by event(s) 3"));
    el.remove();
}

#[wasm_bindgen_test]
async fn an_opened_event_keeps_what_the_visitor_types_while_the_ledger_grows() {
    let el = host();
    let mut w = events();
    let private = json!({"kind": "kyc.record", "source": "crm", "author": "alice+0000", "key": "kyc",
        "time": "2026-01-01T00:10:00Z", "commitment": "ab".repeat(32)});
    w.extend([Row::new(
        10,
        format!("{:064x}", 10),
        private.as_object().unwrap(),
    )]);
    let (evs, set_evs) = signal(w);
    let _mounted = leptos::mount::mount_to(el.clone(), move || view! { <Explorer window=evs /> });
    tick().await;
    type_into(&el, "#explorer-search", "kyc.record").await;
    all(&el, "#explorer-table tbody tr td button")[0].click();
    tick().await;
    type_into(&el, "#reveal-body", r#"{"name":"A. Person"}"#).await;
    type_into(&el, "#reveal-salt", "00").await;
    // The ledger grows: an unrelated event, then one that voids the opened event.
    let next = |seq: u64, corrects: Option<u64>| {
        let mut ev = json!({"kind": "payment", "source": "erp", "author": "alice+0000", "key": format!("k{seq}"),
            "time": format!("2026-01-01T00:{seq:02}:00Z"), "body": {"n": seq}});
        if let Some(t) = corrects {
            ev["corrects"] = json!({"seq": t, "mode": "void"});
        }
        Row::new(seq, format!("{seq:064x}"), ev.as_object().unwrap())
    };
    set_evs.update(|w| {
        w.extend([next(11, None)]);
    });
    tick().await;
    set_evs.update(|w| {
        w.extend([next(12, Some(10))]);
    });
    tick().await;
    let value = |sel: &str| -> String {
        let input: HtmlInputElement = el.query_selector(sel).unwrap().unwrap().unchecked_into();
        input.value()
    };
    assert_eq!(value("#reveal-body"), r#"{"name":"A. Person"}"#);
    assert_eq!(value("#reveal-salt"), "00");
    // The correction's link appears in the detail that stayed.
    assert!(
        text(&el, "#event-detail").contains("Corrected by event(s) 12"),
        "{}",
        text(&el, "#event-detail")
    );
    // Checking reads what was typed: a salt of one byte is not a hash.
    all(&el, ".reveal button")[0].click();
    tick().await;
    assert!(
        text(&el, "#reveal-result").contains("the salt"),
        "{}",
        text(&el, "#reveal-result")
    );
    el.remove();
}

#[wasm_bindgen_test]
async fn the_history_view_lists_digests_newest_first_and_marks_the_failure() {
    let el = host();
    use liveledger_wasm::{CheckpointResult, HistoryDigest, HistoryFailure, HistoryResult};
    let digest = |size: u64, root: &str, signed: u64, extends: Option<u64>| HistoryDigest {
        size,
        root: root.into(),
        signed_time: Some(signed),
        note: String::new(),
        extends,
    };
    let r = HistoryResult {
        verified: false,
        checkpoint: CheckpointResult::default(),
        total: 3,
        digests: vec![
            digest(1, "AAAA", 1767225600, None),
            digest(31, "BBBB", 1767225660, Some(1)),
        ],
        failure: Some(HistoryFailure {
            code: Code::Fork,
            alarm: Code::Fork,
            message: "proof leads to another root".into(),
            evidence: json!({"oldCheckpoint": "o\n31\nx\n", "newCheckpoint": "o\n33\ny\n"}),
        }),
    };
    let _mounted = leptos::mount::mount_to(
        el.clone(),
        move || view! { <HistoryView result=r.clone() /> },
    );
    tick().await;
    assert!(text(&el, "#history-summary")
        .contains("not one consistent history: proof leads to another root"));
    assert!(
        el.query_selector("#history-summary.alarm")
            .unwrap()
            .is_some(),
        "the failure is styled as one"
    );
    let rows = all(&el, "#history-table tbody tr");
    let sizes: Vec<String> = rows
        .iter()
        .map(|r| {
            r.query_selector("td")
                .unwrap()
                .unwrap()
                .text_content()
                .unwrap()
        })
        .collect();
    assert_eq!(sizes, ["33", "31", "1"]);
    assert_eq!(rows[0].class_name(), "failed");
    assert!(rows[0].text_content().unwrap().contains("⚠ FORK"));
    assert!(rows[1]
        .text_content()
        .unwrap()
        .contains("2026-01-01T00:01:00Z"));
    el.remove();
}

/// Signed events `seqs`, each with key `k<seq % 5>` (so later ones replace earlier values),
/// as the audit hands them to the page.
fn signed_events(seqs: std::ops::Range<u64>) -> Vec<Row> {
    use liveledger_core::event::{genesis_prev, EventDraft};
    use liveledger_core::note::SignerKey;
    use liveledger_core::time::Timestamp;
    let key = SignerKey::from_seed("bob@example.org", 1, [3; 32]).unwrap();
    seqs.map(|seq| {
        let d = EventDraft {
            kind: "payment".into(),
            source: "erp".into(),
            key: Some(format!("k{}", seq % 5)),
            body: Some(json!({"n": seq})),
            ..Default::default()
        };
        let t = Timestamp::from_unix(1_790_000_000 + seq as i64, 0).unwrap();
        let bytes = d.sign(seq, t, genesis_prev("o"), &key).unwrap();
        let ev = serde_json::from_slice::<Value>(&bytes).unwrap();
        Row::new(seq, "00".into(), ev.as_object().unwrap())
    })
    .collect()
}

#[wasm_bindgen_test]
async fn the_state_view_grows_by_the_new_events_and_keeps_those_that_left_the_window() {
    let el = host();
    // A window of 8: the next events push the first ones out.
    let mut w = Window::new(8);
    w.extend(signed_events(0..8));
    let (evs, set_evs) = signal(w);
    let _mounted = leptos::mount::mount_to(el.clone(), move || view! { <Explorer window=evs /> });
    tick().await;
    assert!(
        text(&el, "#state-h ~ p").starts_with("5 keys"),
        "{}",
        text(&el, "#state-h ~ p")
    );
    assert!(text(&el, "#state-table").contains("{\"n\":7}"));
    // The window moves on: events 0 and 1 left it, 8 and 9 are new. The state still holds
    // the keys only the old events set (k0..k4 from 0..8), and the new values of k3 and k4.
    set_evs.update(|w| assert_eq!(w.extend(signed_events(8..10)), 2));
    tick().await;
    let table = text(&el, "#state-table");
    assert!(text(&el, "#state-h ~ p").starts_with("5 keys"), "{table}");
    for n in [5, 6, 7, 8, 9] {
        assert!(
            table.contains(&format!("{{\"n\":{n}}}")),
            "value {n} missing: {table}"
        );
    }
    // A key's history: choosing it in the state shows its events in the explorer (the
    // window's 2..10: k3 was set by events 3 and 8), and the key filter says which.
    let k3 = all(&el, "#state-table button")
        .into_iter()
        .find(|b| b.text_content().as_deref() == Some("k3"))
        .expect("k3 in the state");
    k3.unchecked_ref::<HtmlElement>().click();
    tick().await;
    let key: HtmlInputElement = el
        .query_selector("#explorer-key")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert_eq!(key.value(), "k3");
    let shown: Vec<String> = all(&el, "#explorer-table tbody tr")
        .iter()
        .map(|r| r.text_content().unwrap())
        .collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(
        shown[0].starts_with('8') && shown[1].starts_with('3'),
        "{shown:?}"
    );
    el.remove();
}

#[wasm_bindgen_test]
async fn what_a_failed_audit_handed_over_is_taken_back_or_said_unconfirmed() {
    use liveledger_web::explorer::StateFeed;
    let el = host();
    let mut w = Window::new(100);
    w.extend(signed_events(0..10));
    let (evs, set_evs) = signal(w);
    let feed = StateFeed::new();
    let _mounted = leptos::mount::mount_to(
        el.clone(),
        move || view! { <Explorer window=evs feed=feed /> },
    );
    tick().await;
    assert!(text(&el, "#state-table").contains("{\"n\":9}"));
    assert!(!text(&el, "#state-h ~ p").contains("did not confirm"));
    // Verified up to 6, then the audit failed: the explorer keeps 0..6, the state says
    // which of its values a failed check did not confirm.
    set_evs.update(|w| w.truncate_from(6));
    feed.forget_from(6);
    tick().await;
    assert_eq!(all(&el, "#explorer-table tbody tr").len(), 6);
    let notice = text(&el, "#state-h ~ p");
    assert!(
        notice.contains("events from 6 on, which the check that failed did not confirm"),
        "{notice}"
    );
    // Nothing verified yet when it failed: nothing is shown, and nothing is said to be.
    set_evs.update(|w| w.truncate_from(0));
    feed.forget_from(0);
    tick().await;
    assert_eq!(all(&el, "#explorer-table tbody tr").len(), 0);
    assert!(!text(&el, "#state-h ~ p").contains("did not confirm"));
    assert!(
        text(&el, "#state-h ~ p").starts_with("0 keys"),
        "{}",
        text(&el, "#state-h ~ p")
    );
    el.remove();
}

#[wasm_bindgen_test]
async fn the_state_view_reads_each_value_from_its_event_and_says_when_no_one_holds_it() {
    use liveledger_core::event::{genesis_prev, Correction, CorrectionMode, EventDraft};
    use liveledger_core::note::SignerKey;
    use liveledger_core::time::Timestamp;
    // The replay holds no payload: a value is read from the event it comes from, while
    // the window holds it, and kept while its row is on the page. Event 0 sets key b;
    // 1..=200 set a000..a199, a page of 200 keys before b; 201 voids 1, so b comes onto
    // the page when event 0 has long left a window of 3 and there is no index.
    let key = SignerKey::from_seed("bob@example.org", 1, [3; 32]).unwrap();
    let row = |seq: u64| {
        let d = match seq {
            0 => EventDraft {
                key: Some("b".into()),
                body: Some(json!({"n": 0})),
                ..EventDraft::default()
            },
            201 => EventDraft {
                correction: Some(Correction {
                    seq: 1,
                    mode: CorrectionMode::Void,
                }),
                ..EventDraft::default()
            },
            _ => EventDraft {
                key: Some(format!("a{:03}", seq - 1)),
                body: Some(json!({"n": seq})),
                ..EventDraft::default()
            },
        };
        let d = EventDraft {
            kind: "set".into(),
            source: "erp".into(),
            ..d
        };
        let t = Timestamp::from_unix(1_790_000_000 + seq as i64, 0).unwrap();
        let bytes = d.sign(seq, t, genesis_prev("o"), &key).unwrap();
        let ev = serde_json::from_slice::<Value>(&bytes).unwrap();
        Row::new(seq, "00".into(), ev.as_object().unwrap())
    };
    let el = host();
    let (evs, set_evs) = signal(Window::new(3));
    let _mounted = leptos::mount::mount_to(el.clone(), move || view! { <Explorer window=evs /> });
    for s in 0..=201 {
        set_evs.update(|w| assert_eq!(w.extend([row(s)]), u64::from(s >= 3), "event {s}"));
        tick().await;
        if s == 200 {
            let table = text(&el, "#state-table");
            assert!(text(&el, "#state-h ~ p").starts_with("201 keys"), "{table}");
            assert!(
                table.contains("a199{\"n\":200}") && !table.contains("b{"),
                "{table}"
            );
        }
    }
    let table = text(&el, "#state-table");
    assert!(text(&el, "#state-h ~ p").starts_with("200 keys"), "{table}");
    // a001's value was read while event 2 was in the window, and kept on the page.
    assert!(
        table.contains("a001{\"n\":2}") && !table.contains("a000"),
        "{table}"
    );
    assert!(
        table.contains("b(event 0 is not held: this browser has no index)0"),
        "{table}"
    );
    el.remove();
}

/// `n` verified events, three kinds, one a minute.
fn ledger_rows(seqs: std::ops::Range<u64>) -> Vec<Row> {
    seqs.map(|seq| {
        let kind = ["payment", "custody.transfer", "note"][seq as usize % 3];
        let ev = json!({
            "kind": kind, "source": "erp", "author": "alice", "key": format!("k{}", seq % 11),
            "time": format!("2026-01-01T{:02}:{:02}:00Z", seq / 60 % 24, seq % 60), "body": {"n": seq},
        });
        Row::new(seq, format!("{seq:064x}"), ev.as_object().unwrap())
    })
    .collect()
}

/// A database of its own for each test (the name is the ledger's address).
fn unique_url(what: &str) -> String {
    format!("https://test.invalid/{what}/{}/", js_sys::Math::random())
}

#[wasm_bindgen_test]
async fn the_browsers_index_is_rebuilt_identically_from_the_same_ledger() {
    use liveledger_web::database::{Db, Info};
    use liveledger_web::index::{Indexer, Plan};
    let rows = ledger_rows(0..700);
    // The same events, in other batches and with a digest halfway: the same records.
    let mut dumps = Vec::new();
    for (i, batch) in [1usize, 300].into_iter().enumerate() {
        let db = Db::open(&unique_url(&format!("rebuild{i}"))).await.unwrap();
        assert_eq!(db.info().await.unwrap(), None);
        let mut ix = Indexer::default();
        for chunk in rows.chunks(batch) {
            for r in chunk {
                ix.push(r);
            }
            db.write(ix.take_full(), None, None).await.unwrap();
            if chunk.last().unwrap().seq == 399 {
                db.write(ix.partial().into_iter().collect(), None, None)
                    .await
                    .unwrap();
            }
        }
        let info = Info {
            origin: "o".into(),
            key: "k".into(),
            covered: 700,
        };
        db.write(
            ix.partial().into_iter().collect(),
            Some(3),
            Some(info.clone()),
        )
        .await
        .unwrap();
        assert_eq!(db.info().await.unwrap(), Some(info));
        dumps.push(db.dump().await.unwrap());
    }
    assert_eq!(dumps[0], dumps[1]);
    assert_eq!(dumps[0].len(), 3);
    let back: Vec<Row> = dumps[0]
        .iter()
        .flat_map(|s| s.rows())
        .map(Result::unwrap)
        .collect();
    assert_eq!(back, rows);

    // A resumed visit's part of segment 2 (from 700 on) continues the stored one; segments
    // past the verified size go.
    let db = Db::open(&unique_url("resume")).await.unwrap();
    let more = ledger_rows(0..1000);
    let mut ix = Indexer::default();
    more[..700].iter().for_each(|r| ix.push(r));
    let mut first = ix.take_full();
    first.extend(ix.partial());
    db.write(first, None, None).await.unwrap();
    let mut ix = Indexer::default();
    more[700..].iter().for_each(|r| ix.push(r));
    let mut later = ix.take_full();
    later.extend(ix.partial());
    db.write(later, Some(4), None).await.unwrap();
    let back: Vec<Row> = db
        .dump()
        .await
        .unwrap()
        .iter()
        .flat_map(|s| s.rows())
        .map(Result::unwrap)
        .collect();
    assert_eq!(back, more);
    db.write(Vec::new(), Some(2), None).await.unwrap();
    assert_eq!(
        db.dump().await.unwrap().len(),
        2,
        "segments from 2 on dropped"
    );

    // The lookups choose the segments that can match, newest first, before the bound.
    let f = liveledger_web::window::Filter {
        kind: "note".into(),
        ..Default::default()
    };
    assert_eq!(
        db.choose(&Plan::new(&f, (None, None)), 512).await.unwrap(),
        [1, 0]
    );
    assert_eq!(
        db.choose(&Plan::new(&f, (None, None)), 300).await.unwrap(),
        [1, 0]
    );
    assert_eq!(
        db.choose(&Plan::new(&f, (None, None)), 256).await.unwrap(),
        [0]
    );
    let t = rows[300].secs;
    assert_eq!(
        db.choose(&Plan::new(&Default::default(), (t, t)), 512)
            .await
            .unwrap(),
        [1]
    );
    // A key is a lookup of its own (every segment holds k0..k10 here; none holds k11).
    let k = |key: &str| liveledger_web::window::Filter {
        key: key.into(),
        ..Default::default()
    };
    assert_eq!(
        db.choose(&Plan::new(&k("k3"), (None, None)), 512)
            .await
            .unwrap(),
        [1, 0]
    );
    assert!(db
        .choose(&Plan::new(&k("k11"), (None, None)), 512)
        .await
        .unwrap()
        .is_empty());
    let none = liveledger_web::window::Filter {
        kind: "nothing".into(),
        ..Default::default()
    };
    assert!(db
        .choose(&Plan::new(&none, (None, None)), 512)
        .await
        .unwrap()
        .is_empty());
    db.clear().await.unwrap();
    assert!(db.dump().await.unwrap().is_empty() && db.info().await.unwrap().is_none());
}

/// The explorer's view of the browser's index `db`, not yet proved by a digest (nothing
/// covered), and the setter a digest would use.
fn unproved_index(
    db: liveledger_web::database::Db,
) -> (liveledger_web::explorer::IndexView, WriteSignal<u64>) {
    let (covered, set_covered) = signal(0u64);
    let (note, _) = signal(None::<String>);
    let db = StoredValue::new_local(Some(std::rc::Rc::new(db)));
    (
        liveledger_web::explorer::IndexView { db, covered, note },
        set_covered,
    )
}

/// Waits for the explorer's search of the index to finish.
async fn settled(el: &HtmlElement) {
    for _ in 0..200 {
        tick().await;
        if el
            .query_selector("#explorer-count[data-done=true]")
            .unwrap()
            .is_some()
        {
            return;
        }
    }
    panic!("the search did not finish: {}", text(el, "#explorer-count"));
}

#[wasm_bindgen_test]
async fn the_explorer_searches_the_whole_ledger_through_the_browsers_index() {
    use liveledger_web::database::Db;
    use liveledger_web::index::Indexer;
    let rows = ledger_rows(0..700);
    let db = Db::open(&unique_url("explorer")).await.unwrap();
    let mut ix = Indexer::default();
    rows.iter().for_each(|r| ix.push(r));
    let mut segs = ix.take_full();
    segs.extend(ix.partial());
    db.write(segs, None, None).await.unwrap();
    // The page holds only the newest 30 events; the index has all 700.
    let mut w = Window::new(30);
    w.extend(rows.clone());
    let (evs, _) = signal(w);
    let (index, set_covered) = unproved_index(db);
    let el = host();
    let _mounted = leptos::mount::mount_to(
        el.clone(),
        move || view! { <Explorer window=evs index=index /> },
    );
    tick().await;
    // Until a digest proves what the index holds, only the window is searched.
    assert_eq!(count(&el), 30);
    set_covered.set(700);
    settled(&el).await;
    assert_eq!(count(&el), 700, "{}", text(&el, "#explorer-count"));
    assert!(text(&el, "#explorer-count").contains("events before 670"));
    // The page's 200 rows drawn 40 at a time: each "Show more" draws 40 more.
    for drawn in [40, 80, 120, 160] {
        assert_eq!(all(&el, "#explorer-table tbody tr").len(), drawn);
        let more: HtmlElement = el
            .query_selector("#explorer-more")
            .unwrap()
            .expect("a Show more button while rows are left to draw")
            .unchecked_into();
        more.click();
        tick().await;
    }
    assert_eq!(all(&el, "#explorer-table tbody tr").len(), 200);
    assert!(el.query_selector("#explorer-more").unwrap().is_none());
    // A kind: the window's 10 notes, then the index's 223 before them (newest first).
    let select: web_sys::HtmlSelectElement = el
        .query_selector("select")
        .unwrap()
        .unwrap()
        .unchecked_into();
    select.set_value("note");
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    select
        .dispatch_event(&web_sys::Event::new_with_event_init_dict("change", &init).unwrap())
        .unwrap();
    settled(&el).await;
    let want = rows.iter().filter(|r| r.kind == "note").count() as u64;
    assert_eq!(count(&el), want);
    let shown = all(&el, "#explorer-table tbody tr");
    let first_old = shown[10].text_content().unwrap();
    assert!(first_old.starts_with("668"), "{first_old}");
    // A key, exactly: its events in the window and, through the index's keys, before it
    // (k3: the notes among 3, 14, 25, … under 700; "k" alone matches no key).
    type_into(&el, "#explorer-key", "k3").await;
    settled(&el).await;
    let want = rows
        .iter()
        .filter(|r| r.kind == "note" && r.key == "k3")
        .count() as u64;
    assert!(want > 10, "{want}");
    assert_eq!(count(&el), want, "{}", text(&el, "#explorer-count"));
    type_into(&el, "#explorer-key", "k").await;
    settled(&el).await;
    assert_eq!(count(&el), 0, "{}", text(&el, "#explorer-count"));
    type_into(&el, "#explorer-key", "").await;
    // A search: one event, found in the index; opening it shows it.
    type_into(&el, "#explorer-search", "\"n\":101}").await;
    settled(&el).await;
    assert_eq!(count(&el), 1);
    let b: HtmlElement = el
        .query_selector("#explorer-table tbody button")
        .unwrap()
        .unwrap()
        .unchecked_into();
    b.click();
    tick().await;
    assert!(text(&el, "#event-detail").contains("Event 101"));
    el.remove();
}

/// Signed events: `0..n` set keys `k<seq % 11>`; then one void each of `voids`.
fn signed_ledger(n: u64, voids: &[u64]) -> Vec<Row> {
    use liveledger_core::event::{genesis_prev, Correction, CorrectionMode, EventDraft};
    use liveledger_core::note::SignerKey;
    use liveledger_core::time::Timestamp;
    let key = SignerKey::from_seed("bob@example.org", 1, [3; 32]).unwrap();
    let drafts = (0..n)
        .map(|seq| EventDraft {
            kind: "payment".into(),
            source: "erp".into(),
            key: Some(format!("k{}", seq % 11)),
            body: Some(json!({"n": seq})),
            ..Default::default()
        })
        .chain(voids.iter().map(|&t| EventDraft {
            kind: "correction".into(),
            source: "erp".into(),
            correction: Some(Correction {
                seq: t,
                mode: CorrectionMode::Void,
            }),
            ..Default::default()
        }));
    drafts
        .enumerate()
        .map(|(seq, d)| {
            let seq = seq as u64;
            let t = Timestamp::from_unix(1_790_000_000 + seq as i64, 0).unwrap();
            let bytes = d.sign(seq, t, genesis_prev("o"), &key).unwrap();
            let ev = serde_json::from_slice::<Value>(&bytes).unwrap();
            Row::new(seq, format!("{seq:064x}"), ev.as_object().unwrap())
        })
        .collect()
}

#[wasm_bindgen_test]
async fn the_state_reads_the_events_before_the_window_and_a_voids_fallback_from_the_index() {
    use liveledger_web::database::Db;
    use liveledger_web::index::Indexer;
    // 700 events in the index; the page holds 670..700 (a return visit's, say). Then three
    // voids take k0 back from 693 to 682, 671 and 660, which only the index holds.
    let rows = signed_ledger(700, &[693, 682, 671]);
    let db = Db::open(&unique_url("state")).await.unwrap();
    let mut ix = Indexer::default();
    rows[..700].iter().for_each(|r| ix.push(r));
    let mut segs = ix.take_full();
    segs.extend(ix.partial());
    db.write(segs, None, None).await.unwrap();
    let mut w = Window::new(30);
    w.extend(rows[670..700].iter().cloned());
    let (evs, set_evs) = signal(w);
    let (index, set_covered) = unproved_index(db);
    let el = host();
    let _mounted = leptos::mount::mount_to(
        el.clone(),
        move || view! { <Explorer window=evs index=index /> },
    );
    tick().await;
    // Until the index is proved, the events before the window are not read.
    assert!(
        text(&el, "#state-h ~ p").starts_with("0 keys"),
        "{}",
        text(&el, "#state-h ~ p")
    );
    set_covered.set(700);
    let until = |want: &'static str| {
        let el = el.clone();
        async move {
            for _ in 0..200 {
                tick().await;
                if text(&el, "#state-table").contains(want)
                    && !text(&el, "#state-h ~ p").contains("being read")
                {
                    return;
                }
            }
            panic!(
                "no {want}: {} {}",
                text(&el, "#state-h ~ p"),
                text(&el, "#state-table")
            );
        }
    };
    until("{\"n\":693}").await;
    assert!(
        text(&el, "#state-h ~ p").starts_with("11 keys"),
        "{}",
        text(&el, "#state-h ~ p")
    );
    let table = text(&el, "#state-table");
    for n in 689..700 {
        assert!(
            table.contains(&format!("{{\"n\":{n}}}")),
            "value {n} missing: {table}"
        );
    }
    set_evs.update(|w| {
        w.extend(rows[700..].iter().cloned());
    });
    until("{\"n\":660}").await;
    let table = text(&el, "#state-table");
    assert!(
        !table.contains("{\"n\":693}") && !table.contains("reading event"),
        "{table}"
    );
    assert!(text(&el, "#state-h ~ p").starts_with("11 keys"));
    el.remove();
}
