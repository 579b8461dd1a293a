//! The page's logic, in Node (and in Chromium via model_browser.rs).

use liveledger_core::verdict::Code;
use liveledger_wasm::{
    CheckpointResult, HistoryDigest, HistoryFailure, HistoryResult, Resumed, ViewResult,
    WitnessReport, WitnessRow,
};
use liveledger_web::index::{Indexer, Plan, Segment};
use liveledger_web::model::{self, Cell, Freshness, Progress};
use liveledger_web::window::{Field, Filter, Row, Window};
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

/// The drawn map: at most MAX_CELLS cells, as few segments a cell as fit, each cell's state
/// read from the segments it stands for (any failed: failed; else any pending: pending),
/// checked against each segment's own state for ledgers around the bound and at 1M/10M.
#[wasm_bindgen_test]
fn the_drawn_heatmap_is_bounded_and_each_cell_says_what_its_segments_say() {
    use model::{drawn_cells, segments_per_cell, MAX_CELLS};
    let sizes = [0, 1, 2, 511, 512, 513, 1023, 1024, 1025, 1537, 3907, 39063];
    for n in sizes {
        let per = segments_per_cell(n);
        assert!(per >= 1);
        assert!(
            per == 1 || n.div_ceil(per - 1) > MAX_CELLS,
            "{n} segments: {per} a cell is not the fewest"
        );
        for verified in [0, 1, n / 3, n.saturating_sub(1), n] {
            for failed in [None, Some(0), Some(n / 2), Some(n.saturating_sub(1))] {
                let mut segs = vec![Cell::Pending; n];
                segs[..verified.min(n)].fill(Cell::Verified);
                if let Some(f) = failed.filter(|f| *f < n) {
                    segs[f] = Cell::Failed;
                }
                let drawn = drawn_cells(&segs, per);
                assert!(
                    drawn.len() <= MAX_CELLS,
                    "{n} segments drew {} cells",
                    drawn.len()
                );
                assert_eq!(drawn.len(), n.div_ceil(per));
                let mut want = vec![Cell::Verified; drawn.len()];
                for (j, s) in segs.iter().enumerate() {
                    let w = &mut want[j / per];
                    *w = match (*w, *s) {
                        (Cell::Failed, _) | (_, Cell::Failed) => Cell::Failed,
                        (Cell::Pending, _) | (_, Cell::Pending) => Cell::Pending,
                        _ => Cell::Verified,
                    };
                }
                assert_eq!(
                    drawn, want,
                    "{n} segments, {verified} verified, failed {failed:?}"
                );
            }
        }
    }
    // Up to the bound, a cell a segment, as before.
    assert_eq!(segments_per_cell(512), 1);
    assert_eq!(
        model::cell_title(3, 1, 1, Cell::Pending),
        "segment 3: pending"
    );
    assert_eq!(
        model::heatmap_legend(1),
        " failed — one cell per segment of 256 events"
    );
    // A million events: 3,907 segments, 8 a cell, 489 cells; the last stands for 3.
    let per = segments_per_cell(3907);
    assert_eq!(per, 8);
    assert_eq!(
        model::cell_title(0, per, 8, Cell::Verified),
        "segments 0-7: verified"
    );
    assert_eq!(
        model::cell_title(488, per, 3, Cell::Failed),
        "segments 3904-3906: failed"
    );
    assert_eq!(
        model::heatmap_legend(per),
        " failed — one cell per 8 segments of 256 events (2048 events)"
    );
    // Keyed as drawn: the last of 489 cells holds 3 segments; a 3,908th segment (live
    // following) changes its key alone, so a keyed draw redraws one cell, not 489.
    let mut segs = vec![Cell::Verified; 3907];
    let before = model::heatmap_cells(&segs);
    assert_eq!(before.len(), 489);
    assert_eq!(before[0], (0, Cell::Verified, 8, 8));
    assert_eq!(before[488], (488, Cell::Verified, 8, 3));
    segs.push(Cell::Pending);
    let after = model::heatmap_cells(&segs);
    assert_eq!(after[..488], before[..488]);
    assert_eq!(after[488], (488, Cell::Pending, 8, 4));
    assert_eq!(
        model::cell_title(488, 8, 4, Cell::Pending),
        "segments 3904-3907: pending"
    );
    // Crossing a bound regroups every cell: 4,097 segments, 9 a cell.
    segs.resize(4097, Cell::Verified);
    assert_eq!(model::heatmap_cells(&segs)[0], (0, Cell::Verified, 9, 9));
    assert!(model::heatmap_cells(&[]).is_empty());
}

/// The event list draws 40 rows at first and 40 more each time its scroller's end comes
/// within a view's height, or "Show more" is chosen; never past the page, never fewer.
#[wasm_bindgen_test]
fn the_event_list_draws_more_rows_only_as_its_end_is_scrolled_near() {
    use model::{more_rows, rows_to_draw, ROWS_AT_FIRST};
    assert_eq!(ROWS_AT_FIRST, 40);
    // 40 rows of 30 px in a 448 px view: 1,200 px of content.
    assert_eq!(rows_to_draw(40, 200, 0.0, 448.0, 1200.0), 40);
    assert_eq!(rows_to_draw(40, 200, 303.0, 448.0, 1200.0), 40);
    assert_eq!(rows_to_draw(40, 200, 304.0, 448.0, 1200.0), 80);
    assert_eq!(rows_to_draw(40, 200, 752.0, 448.0, 1200.0), 80);
    // Content shorter than two views (wrapped payloads aside, a short list): the next step.
    assert_eq!(rows_to_draw(40, 200, 0.0, 448.0, 600.0), 80);
    // Never past the page, never fewer than drawn.
    assert_eq!(rows_to_draw(180, 200, 1e9, 448.0, 1200.0), 200);
    assert_eq!(rows_to_draw(200, 200, 1e9, 448.0, 1200.0), 200);
    assert_eq!(rows_to_draw(250, 200, 1e9, 448.0, 1200.0), 250);
    assert_eq!(more_rows(40, 200), 80);
    assert_eq!(more_rows(190, 200), 200);
    assert_eq!(more_rows(usize::MAX, usize::MAX), usize::MAX);
}

#[wasm_bindgen_test]
fn freshness_is_judged_against_the_cadence() {
    assert_eq!(model::freshness(None, Some(10.0), None), Freshness::Unknown);
    assert_eq!(
        model::freshness(Some(15.0), Some(10.0), None),
        Freshness::Fresh(15)
    );
    assert_eq!(
        model::freshness(Some(25.0), Some(10.0), None),
        Freshness::Stale(25)
    );
    assert_eq!(
        model::freshness(Some(-3.0), Some(10.0), None),
        Freshness::Fresh(0),
        "clock skew is not staleness"
    );
    // The visitor's maximum applies when it is stricter, never when it is laxer.
    assert_eq!(
        model::freshness(Some(15.0), Some(10.0), Some(12.0)),
        Freshness::Stale(15)
    );
    assert_eq!(
        model::freshness(Some(25.0), Some(10.0), Some(600.0)),
        Freshness::Stale(25)
    );
    assert_eq!(model::stale_after(None, None), 7200.0);
    assert_eq!(model::alarm_title("STALE"), "Stale");
}

#[wasm_bindgen_test]
fn what_a_browser_remembers_is_read_strictly_and_said_in_words() {
    let r = model::remembered(
        r#"{"size": 40, "root": "a", "note": "o\n40\nr\n", "signedTime": 86400}"#,
    )
    .unwrap();
    assert_eq!((r.size, r.note.as_str()), (40, "o\n40\nr\n"));
    assert_eq!(
        model::since_words(&r, 52),
        "This browser verified this ledger up to 40 events before (signed 1970-01-02T00:00:00Z); today's digest is proved to extend it, with 12 new events since."
    );
    // Damaged or foreign memories say what is wrong, to be discarded with a notice.
    assert!(model::remembered("{")
        .unwrap_err()
        .starts_with("it is not JSON"));
    assert_eq!(
        model::remembered(r#"{"size": 40}"#).unwrap_err(),
        "it holds no signed checkpoint"
    );
    assert_eq!(
        model::remembered(r#"{"note": "x", "size": "40"}"#).unwrap_err(),
        "it holds no size"
    );
    assert!(model::alarm_explanation("TAMPERED", Some(3)).contains("segment 3"));
    // A file the digest commits to and the log does not serve is not "unreachable".
    assert_eq!(model::alarm_title("NOT_FOUND"), "Not served");
    assert_eq!(model::alarm_title("FETCH_FAILED"), "Unreachable");
    assert!(model::alarm_explanation("NOT_FOUND", Some(1)).contains("segment 1"));
    assert!(!model::alarm_explanation("NOT_FOUND", Some(1)).contains("fetched"));
}

#[wasm_bindgen_test]
fn progress_reads_the_verifier_callback() {
    let p = Progress::from_module(&progress(512, 512, 1000, 2_000_000), 2.0);
    assert_eq!(p.rate(), Some(256.0));
    assert_eq!(
        p.describe(),
        "512 of 1000 events verified · 2.0 MB · 256 events/s"
    );
}

#[wasm_bindgen_test]
fn progress_shows_a_rate_only_when_it_means_something() {
    // The first callback, before anything is verified: no "0 events/s".
    let p = Progress::from_module(&progress(0, 0, 369, 0), 0.01);
    assert_eq!(
        (p.rate(), p.describe().as_str()),
        (None, "0 of 369 events verified · 0.0 MB")
    );
    // A small ledger audited in a fifth of a second: how long it took, not a rate.
    let mut p = Progress::from_module(&progress(0, 0, 369, 200_000), 0.0);
    p.finish(369, 0.2);
    assert_eq!(p.rate(), None);
    assert_eq!(
        p.describe(),
        "369 of 369 events verified · 0.2 MB · audited in 0.2 s"
    );
    // Live following adds events; the audit's time stays what it was.
    p.finish(372, 9.0);
    assert_eq!(
        p.describe(),
        "372 of 372 events verified · 0.2 MB · audited in 0.2 s"
    );
    // Half way after half a second: neither.
    let p = Progress::from_module(&progress(100, 100, 369, 1), 0.5);
    assert_eq!(p.describe(), "100 of 369 events verified · 0.0 MB");
    // From a second on, the rate.
    let mut p = Progress::from_module(&progress(300, 300, 369, 1), 1.5);
    assert_eq!(p.rate(), Some(200.0));
    p.finish(369, 1.845);
    assert_eq!(
        p.describe(),
        "369 of 369 events verified · 0.0 MB · 200 events/s"
    );
    // ... and it is the full audit's, not diluted or inflated by live following.
    p.finish(400, 60.0);
    assert_eq!(p.rate(), Some(200.0));
}

#[wasm_bindgen_test]
fn events_and_progress_are_drawn_in_batches_a_few_times_a_second() {
    let mut b = model::Batch::default();
    let mut window = Window::new(20_000);
    let (mut draws, mut event_draws) = (0, 0);
    let mut drawn = 0u64;
    // 10,000 events over 2.5 s, a progress callback every 256: at most 11 draws, two of
    // them handing events to the explorer (once a second), not 10,000, and every event
    // drawn once, in order.
    for i in 0..10_000u64 {
        let now = i as f64 * 0.00025;
        b.push_event(row(i, "payment", "erp", "alice", None));
        if i % 256 == 255 {
            let p = Progress::from_module(&progress(i + 1, i + 1, 10_000, 0), now);
            b.set_progress(p, i / 256);
        }
        if b.due(now) {
            let (evs, prog) = b.take(now, false);
            draws += 1;
            if !evs.is_empty() {
                event_draws += 1;
            }
            drawn += evs.len() as u64;
            window.extend(evs);
            if let Some((p, segment)) = prog {
                // The newest progress only: its segment covers every one before it.
                assert_eq!(segment, (p.entries - 1) / 256);
            }
        }
    }
    // The verdict draws everything waiting.
    let (rest, _) = b.take(2.6, true);
    drawn += rest.len() as u64;
    window.extend(rest);
    assert!(draws <= 11, "{draws} draws");
    assert!(
        (2..=3).contains(&event_draws),
        "{event_draws} handovers of events"
    );
    assert_eq!(drawn, 10_000);
    assert!(window
        .rows()
        .iter()
        .enumerate()
        .all(|(i, r)| r.seq == i as u64));
    // Nothing waiting: the next take is empty, and not due right after a draw.
    assert!(b.take(3.0, true).0.is_empty());
    assert!(!b.due(3.1));
    assert!(b.due(3.25));
}

/// The verifier's progress callback.
fn progress(entries: u64, verified: u64, size: u64, bytes: u64) -> liveledger_wasm::Progress {
    liveledger_wasm::Progress {
        entries,
        verified,
        size,
        bytes,
        segment: 0,
    }
}

/// A row from an event's members.
fn event_row(seq: u64, ev: serde_json::Value) -> Row {
    Row::new(seq, format!("{seq:064x}"), ev.as_object().unwrap())
}

/// A verified event as the verifier hands it to the page.
fn row(seq: u64, kind: &str, source: &str, author: &str, corrects: Option<u64>) -> Row {
    let mut ev = json!({
        "kind": kind, "source": source, "author": author, "key": format!("k{}", seq % 7),
        "time": format!("2026-01-01T00:00:{:02}Z", seq % 60), "body": {"n": seq, "note": "Zoë's"},
    });
    if let Some(t) = corrects {
        ev["corrects"] = json!({"seq": t, "mode": "amend"});
    }
    event_row(seq, ev)
}

#[wasm_bindgen_test]
fn an_event_is_typed_once_from_the_verifiers_value() {
    let r = row(3, "payment", "erp", "alice", Some(1));
    assert_eq!(
        (r.seq, r.kind.as_str(), r.key.as_str(), r.corrects.clone()),
        (3, "payment", "k3", Some((1, "amend".to_owned())))
    );
    assert_eq!(r.secs, model::event_seconds("2026-01-01T00:00:03Z"));
    assert_eq!(r.summary, r#"{"n":3,"note":"Zoë's"}"#);
    // The text is the event's canonical JSON (what was signed).
    assert!(
        r.text.starts_with(r#"{"author":"alice","body":"#),
        "{}",
        r.text
    );
    // A private payload shows its commitment; a long one is cut at 80 characters.
    let private = event_row(1, json!({"commitment": "ab".repeat(32)}));
    assert_eq!(private.summary, "private (commitment abababababab…)");
    let long = event_row(1, json!({"body": "é".repeat(100)}));
    assert_eq!(long.summary.chars().count(), 81);
}

/// The window's indexes from scratch: what `extend` must keep as events come and go.
fn rebuilt(w: &Window) -> Window {
    let mut fresh = Window::new(usize::MAX);
    fresh.extend(w.rows().iter().map(|r| (**r).clone()));
    fresh
}

#[wasm_bindgen_test]
fn the_window_keeps_the_newest_events_and_its_indexes_as_they_come_and_go() {
    let kinds = ["payment", "custody.transfer", "refund"];
    let mut w = Window::new(50);
    let mut next = 0u64;
    // Batches of every size from 0 to 30; some events correct one a few back (held or
    // already gone), so corrections leave the window from both ends.
    for n in 0..31u64 {
        let batch: Vec<Row> = (next..next + n)
            .map(|s| {
                let c = (s % 5 == 4).then(|| s.saturating_sub(3 + s % 40));
                row(
                    s,
                    kinds[(s % 3) as usize],
                    ["erp", "pos"][(s % 2) as usize],
                    &format!("a{}", s % 11),
                    c,
                )
            })
            .collect();
        next += n;
        let before = w.total();
        let gone = w.extend(batch);
        assert_eq!(w.total(), before + n);
        assert_eq!(w.len() as u64, next.min(50));
        assert_eq!(
            gone,
            (before + n).saturating_sub(50) - before.saturating_sub(50)
        );
        let fresh = rebuilt(&w);
        for f in [Field::Kind, Field::Source, Field::Author] {
            assert_eq!(w.distinct(f), fresh.distinct(f), "{f:?} after {next}");
        }
        for s in next.saturating_sub(60)..next {
            assert_eq!(
                w.corrected_by(s),
                fresh.corrected_by(s),
                "event {s} after {next}"
            );
        }
    }
    // Every event by an author of its own: the values that left are let go (the index is
    // rebuilt from the rows held), and the authors offered are those held.
    let mut u = Window::new(10);
    for s in 0..100u64 {
        u.extend([row(s, "payment", "erp", &format!("only-{s:03}"), None)]);
        assert_eq!(
            u.distinct(Field::Author),
            rebuilt(&u).distinct(Field::Author)
        );
    }
    assert_eq!(
        u.distinct(Field::Author).first().map(String::as_str),
        Some("only-090")
    );
    // The oldest held is the 50th newest; an event out of order is not added.
    assert_eq!(w.rows().front().map(|r| r.seq), Some(next - 50));
    assert_eq!(w.extend([row(3, "payment", "erp", "a", None)]), 0);
    assert_eq!(w.total(), next);
    assert_eq!(w.get(next - 1).map(|r| r.seq), Some(next - 1));
    assert_eq!(w.get(next - 51), None);
}

#[wasm_bindgen_test]
fn a_failed_audits_rows_leave_the_window_and_its_indexes_as_if_never_there() {
    // Events 0..120 (the window holds 50); every fifth corrects one 3 to 12 back.
    let mk = |s: u64| {
        let c = (s % 5 == 4).then(|| s.saturating_sub(3 + s % 10));
        row(
            s,
            ["payment", "refund"][(s % 2) as usize],
            "erp",
            &format!("a{}", s % 7),
            c,
        )
    };
    for cut in [0u64, 1, 69, 70, 71, 100, 118, 119, 120, 500] {
        let mut w = Window::new(50);
        w.extend((0..120).map(mk));
        w.truncate_from(cut);
        let held: Vec<u64> = w.rows().iter().map(|r| r.seq).collect();
        let want: Vec<u64> = (70..120).filter(|s| *s < cut).collect();
        assert_eq!(held, want, "cut at {cut}");
        let fresh = rebuilt(&w);
        for f in [Field::Kind, Field::Source, Field::Author] {
            assert_eq!(w.distinct(f), fresh.distinct(f), "{f:?}, cut at {cut}");
        }
        for s in 60..120 {
            assert_eq!(
                w.corrected_by(s),
                fresh.corrected_by(s),
                "event {s}, cut at {cut}"
            );
        }
        // What comes after a cut is added as if the cut rows had never come.
        w.extend((cut.min(120)..cut.min(120) + 3).map(mk));
        assert_eq!(w.rows().back().map(|r| r.seq), Some(cut.min(120) + 2));
    }
}

#[wasm_bindgen_test]
fn the_filters_match_typed_fields_and_search_ignores_case() {
    let mut w = Window::new(100);
    w.extend((0..10).map(|s| {
        row(
            s,
            ["payment", "refund"][(s % 2) as usize],
            "erp",
            "alice",
            None,
        )
    }));
    let m = |f: Filter| w.matching(&f);
    assert_eq!(m(Filter::default()), (0..10).rev().collect::<Vec<usize>>());
    let refunds = Filter {
        kind: "refund".into(),
        ..Filter::default()
    };
    assert_eq!(m(refunds), vec![9, 7, 5, 3, 1]);
    // A key is matched exactly (k1 is not k10, nor a prefix of anything).
    let key = |k: &str| Filter {
        key: k.into(),
        ..Filter::default()
    };
    assert_eq!(m(key("k1")), vec![8, 1]);
    assert!(m(key("k")).is_empty());
    // Search is over the event's JSON, ASCII letters in either case, other characters
    // as typed.
    let q = |s: &str| Filter {
        query: s.into(),
        ..Filter::default()
    };
    assert_eq!(m(q("REFUND")).len(), 5);
    assert_eq!(m(q("\"n\":7")), vec![7]);
    assert_eq!(m(q("zOë'S")).len(), 10);
    assert!(m(q("ZOË")).is_empty());
    assert!(m(q("bob")).is_empty());
    // Each ASCII letter folds both ways; the characters beside them in ASCII do not.
    for (upper, lower) in ('A'..='Z').zip('a'..='z') {
        let r = event_row(0, json!({"k": lower.to_string()}));
        assert!(q(&upper.to_string()).matches(&r), "{upper}");
        let r = event_row(0, json!({"k": upper.to_string()}));
        assert!(q(&lower.to_string()).matches(&r), "{lower}");
    }
    let r = event_row(0, json!({"k": "@^"}));
    assert!(!q("`").matches(&r) && !q("~").matches(&r));
}

#[wasm_bindgen_test]
fn the_time_placeholders_come_from_the_ledgers_own_times() {
    assert_eq!(model::time_placeholders(&[]), None);
    let t = |s: &str| model::event_seconds(s).unwrap();
    assert_eq!(
        model::time_placeholders(&[t("2026-12-01T09:14:05.25Z"), t("2026-12-01T08:59:59Z")]),
        Some(("2026-12-01T08:59".into(), "2026-12-01T09:15".into()))
    );
    // On a minute exactly, both stay on it.
    assert_eq!(
        model::time_placeholders(&[t("2026-12-01T10:00:00Z")]),
        Some(("2026-12-01T10:00".into(), "2026-12-01T10:00".into()))
    );
}

#[wasm_bindgen_test]
fn progress_counts_only_what_is_verified() {
    // Entries read run ahead of their signatures' verdicts: the page says verified.
    let p = Progress::from_module(&progress(2048, 1024, 4096, 1), 4.0);
    assert_eq!((p.entries, p.rate()), (1024, Some(256.0)));
}

#[wasm_bindgen_test]
fn the_signature_engine_in_words() {
    assert!(model::engine_words("webcrypto-workers:2").contains("in 2 background workers"));
    assert!(model::engine_words("webcrypto-workers:1").contains("in a background worker"));
    assert!(model::engine_words("webcrypto").contains("WebCrypto, with strict"));
    assert!(model::engine_words("wasm").contains("WebAssembly"));
    assert_eq!(model::engine_words("something new"), "");
}

#[wasm_bindgen_test]
fn time_bounds_accept_prefixes_and_say_what_they_expected() {
    assert_eq!(model::time_bound(""), Ok(None));
    assert_eq!(model::time_bound("1970-01-02"), Ok(Some(86400.0)));
    assert_eq!(model::time_bound("1970-01-01T00:01"), Ok(Some(60.0)));
    assert_eq!(model::time_bound("1970-01-01T00:00:05"), Ok(Some(5.0)));
    assert_eq!(model::time_bound("1970-01-01T00:00:05.5Z"), Ok(Some(5.5)));
    let e = model::time_bound("yesterday").unwrap_err();
    assert!(
        e.contains("expected a UTC time") && e.contains("yesterday"),
        "{e}"
    );
    assert_eq!(model::utc(86400.0), "1970-01-02T00:00:00Z");
    assert_eq!(model::utc(1.2345), "1970-01-01T00:00:01.234Z");
    assert_eq!(model::utc_ceil(1.2345), "1970-01-01T00:00:01.235Z");
    let up = model::time_bound(&model::utc_ceil(1.2345))
        .unwrap()
        .unwrap();
    assert!((1.2345..1.236).contains(&up), "{up}");
}

#[wasm_bindgen_test]
fn the_timeline_counts_every_event_once() {
    assert!(model::timeline(&[], 10).is_empty());
    let one = model::timeline(&[5.0, 5.0, 5.0], 10);
    assert_eq!(one.len(), 1, "events of one instant are one bar");
    assert_eq!(one[0].count, 3);
    let burst = model::timeline(&[5.0, 5.0, 5.2], 10);
    assert_eq!(burst.len(), 10, "a burst is spread over the bars");
    assert_eq!((burst[0].count, burst[9].count), (2, 1));
    let times: Vec<f64> = (0..100).map(|i| (i * i) as f64).collect();
    let b = model::timeline(&times, 10);
    assert_eq!(b.len(), 10);
    assert_eq!(b.iter().map(|b| b.count).sum::<usize>(), 100);
    assert_eq!(b[0].start, 0.0);
    assert!(b[9].end >= 9801.0);
    assert!(b[0].count > b[9].count, "squares thin out: {b:?}");
    for w in b.windows(2) {
        assert_eq!(w[0].end, w[1].start);
    }
}

#[wasm_bindgen_test]
fn history_rows_are_newest_first_and_end_at_the_failure() {
    let digest = |size: u64, signed: u64, extends: Option<u64>| HistoryDigest {
        size,
        root: format!("r{size}"),
        signed_time: Some(signed),
        note: String::new(),
        extends,
    };
    let r = HistoryResult {
        verified: false,
        checkpoint: CheckpointResult::default(),
        total: 5,
        digests: vec![digest(1, 60, None), digest(31, 120, Some(1))],
        failure: Some(HistoryFailure {
            code: Code::Fork,
            alarm: Code::Fork,
            message: "not consistent".into(),
            evidence: json!({"oldCheckpoint": "o\n31\nx\n", "newCheckpoint": "o\n33\ny\n"}),
        }),
    };
    let rows = model::history_rows(&r);
    assert_eq!(
        rows.iter().map(|r| r.size).collect::<Vec<_>>(),
        vec![33, 31, 1]
    );
    assert!(!rows[0].ok && rows[0].check.starts_with("⚠ FORK"));
    assert!(rows[1].ok && rows[1].check.contains("extends the digest of 1 events"));
    assert_eq!(rows[1].signed, "1970-01-01T00:02:00Z");
    assert!(model::history_summary(&r).contains("not consistent"));
    let ok = HistoryResult {
        verified: true,
        total: 9,
        digests: vec![digest(3, 0, None)],
        failure: None,
        checkpoint: CheckpointResult::default(),
    };
    assert_eq!(
        model::history_summary(&ok),
        "Checked the newest 1 of 9 archived digests: each is signed by the log key, each extends the one before it, and the newest extends the current digest."
    );
}

#[wasm_bindgen_test]
fn the_digest_card_says_who_witnessed_and_the_quorum() {
    assert_eq!(model::witness_words(None), "none required by this ledger");
    let witness = |name: &str, cosigned: bool, time: Option<u64>| WitnessRow {
        name: name.into(),
        key: format!("{}+1", name.to_lowercase()),
        cosigned,
        time,
    };
    let w = WitnessReport {
        rule: "2 of (W1, W2, W3)".into(),
        met: true,
        source: "metadata",
        list: vec![
            witness("W1", true, Some(86400)),
            witness("W2", false, None),
            witness("W3", true, Some(86401)),
        ],
        views: None,
    };
    assert_eq!(
        model::witness_words(Some(&w)),
        "witnessed by 2 of 3 (quorum 2 of (W1, W2, W3), from the ledger's metadata): W1 ✓ 1970-01-02T00:00:00Z, W2 —, W3 ✓ 1970-01-02T00:00:01Z"
    );
    // With what each witness holds now (the module's split-view check).
    let view =
        |name: &str, size: Option<u64>, consistent: Option<bool>, note: Option<&str>| ViewResult {
            name: name.into(),
            size,
            consistent,
            note: note.map(str::to_owned),
        };
    let mut w = w;
    w.views = Some(vec![
        view("W1", Some(26), Some(true), None),
        view(
            "W2",
            None,
            None,
            Some("http://w2/…/checkpoint: connection refused"),
        ),
        view(
            "W3",
            Some(30),
            Some(true),
            Some("holds size 30, newer than the 26 the log served"),
        ),
    ]);
    assert!(
        model::witness_words(Some(&w)).ends_with(
            "; asked now: W1 holds 26, consistent; W2 http://w2/…/checkpoint: connection refused; W3 holds size 30, newer than the 26 the log served, consistent"
        ),
        "{}",
        model::witness_words(Some(&w))
    );
}

#[wasm_bindgen_test]
fn an_audit_continued_from_a_kept_point_is_said_in_words() {
    assert_eq!(
        model::resumed_words(Some(&Resumed::From(301)), 321, Some(86400.0)).as_deref(),
        Some("Verified up to 301 events on an earlier visit (its digest signed 1970-01-02T00:00:00Z); today's digest is proved to extend it, and the 20 new events were verified now.")
    );
    assert_eq!(
        model::resumed_words(Some(&Resumed::Discarded("its tree edge does not recompute the root".into())), 321, None).as_deref(),
        Some("What this browser kept to continue its audit of this ledger could not be used (its tree edge does not recompute the root); it was discarded, and every event was verified again.")
    );
    assert_eq!(model::resumed_words(None, 321, None), None);
}

/// The index's rows: `n` events with 3 kinds, 2 sources and one time per minute.
fn indexed_rows(seqs: std::ops::Range<u64>) -> Vec<Row> {
    seqs.map(|seq| {
        let kind = ["payment", "custody.transfer", "note"][seq as usize % 3];
        event_row(
            seq,
            json!({
                "kind": kind,
                "source": if seq % 2 == 0 { "erp" } else { "vault" },
                "author": "alice", "key": format!("k{}", seq % 11),
                "time": format!("2026-01-01T{:02}:{:02}:00Z", seq / 60 % 24, seq % 60),
                "body": {"n": seq, "note": "Zoë's \"line\"\nbreak"},
            }),
        )
    })
    .collect()
}

fn segments_of(rows: &[Row], batch: usize) -> Vec<Segment> {
    let mut ix = Indexer::default();
    let mut out = Vec::new();
    for chunk in rows.chunks(batch) {
        for r in chunk {
            ix.push(r);
        }
        out.extend(ix.take_full());
    }
    out.extend(ix.partial());
    out
}

#[wasm_bindgen_test]
fn the_index_reads_back_every_row_it_was_given_whatever_the_batches() {
    let rows = indexed_rows(0..700);
    let one = segments_of(&rows, 1);
    // 700 events: segments 0 and 1 full, segment 2 holds 512..700.
    assert_eq!(
        one.iter()
            .map(|s| (s.n, s.first, s.count))
            .collect::<Vec<_>>(),
        [(0, 0, 256), (1, 256, 256), (2, 512, 188)]
    );
    for batch in [7, 256, 300, 700] {
        assert_eq!(segments_of(&rows, batch), one, "batches of {batch}");
    }
    // The writer checked by the reader: the rows come back as they went in.
    let back: Vec<Row> = one
        .iter()
        .flat_map(|s| s.rows())
        .map(Result::unwrap)
        .collect();
    assert_eq!(back, rows);
    assert_eq!(one[1].row(300), Some(rows[300].clone()));
    assert_eq!(one[1].row(600), None);
    assert_eq!(
        one[0].kinds.iter().map(String::as_str).collect::<Vec<_>>(),
        ["custody.transfer", "note", "payment"]
    );
    assert_eq!(one[0].keys.len(), 11);
    assert_eq!(one[0].tmin, rows[0].secs);
    assert_eq!(one[0].tmax, rows[255].secs);
}

#[wasm_bindgen_test]
fn a_segment_refuses_what_is_not_its_next_event_and_continues_only_itself() {
    let rows = indexed_rows(0..300);
    let mut s = Segment::starting(10);
    assert!(!s.push(&rows[9]), "not the first event it starts at");
    assert!(s.push(&rows[10]) && s.push(&rows[11]));
    assert!(!s.push(&rows[13]), "a gap");
    assert!(!s.push(&rows[11]), "again");
    let mut bad = rows[12].clone();
    bad.leaf_hash = "00".into();
    assert!(!s.push(&bad), "a leaf hash that is not 32 bytes of hex");
    // Another segment's event is refused even when it is next.
    let mut last = Segment::starting(250);
    for r in &rows[250..256] {
        assert!(last.push(r));
    }
    assert!(last.is_full() && !last.push(&rows[256]));

    // A later visit's part of segment 0 (from event 12 on) continues what was kept.
    let mut kept = Segment::starting(0);
    for r in &rows[..12] {
        kept.push(r);
    }
    let mut later = Segment::starting(12);
    for r in &rows[12..40] {
        later.push(r);
    }
    let mut whole = Segment::starting(0);
    for r in &rows[..40] {
        whole.push(r);
    }
    let mut k = kept.clone();
    assert!(k.extend_with(&later));
    assert_eq!(k, whole);
    // What it already holds changes nothing; a part after a gap is refused, unchanged.
    assert!(k.extend_with(&later) && k == whole);
    let mut after_gap = Segment::starting(20);
    for r in &rows[20..30] {
        after_gap.push(r);
    }
    let mut k = kept.clone();
    assert!(!k.extend_with(&after_gap));
    assert_eq!(k, kept);
}

#[wasm_bindgen_test]
fn a_segment_finds_its_matches_newest_first_before_the_bound() {
    let rows = indexed_rows(0..256);
    let seg = segments_of(&rows, 256).remove(0);
    let f = Filter {
        kind: "payment".into(),
        ..Filter::default()
    };
    let found: Vec<u64> = seg
        .matching(&f, (None, None), 30)
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(found, [27, 24, 21, 18, 15, 12, 9, 6, 3, 0]);
    // The query is searched in the canonical JSON, ASCII letters in either case.
    let q = Filter {
        query: "\"N\":42,".into(),
        ..Filter::default()
    };
    assert_eq!(seg.matching(&q, (None, None), 256).len(), 1);
    // Time bounds are inclusive; an event without a time is outside any bound.
    let (lo, hi) = (rows[100].secs, rows[102].secs);
    let found: Vec<u64> = seg
        .matching(&Filter::default(), (lo, hi), 256)
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(found, [102, 101, 100]);
    // Each filter's rows are exactly the window's over the same events.
    let mut w = Window::new(1000);
    w.extend(rows.clone());
    for f in [
        f,
        q,
        Filter {
            source: "vault".into(),
            query: "zoË".into(),
            ..Filter::default()
        },
        Filter {
            key: "k4".into(),
            ..Filter::default()
        },
    ] {
        let want: Vec<u64> = w
            .matching(&f)
            .into_iter()
            .map(|i| w.rows()[i].seq)
            .collect();
        let got: Vec<u64> = seg
            .matching(&f, (None, None), 256)
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(got, want, "{f:?}");
    }
}

#[wasm_bindgen_test]
fn a_search_reads_only_the_segments_every_lookup_chose() {
    let f = Filter {
        kind: "payment".into(),
        source: "erp".into(),
        key: "inv/7".into(),
        ..Filter::default()
    };
    let plan = Plan::new(&f, (Some(5.0), None));
    assert_eq!(
        plan.equal,
        [
            ("kinds", "payment".to_owned()),
            ("sources", "erp".to_owned()),
            ("keys", "inv/7".to_owned())
        ]
    );
    assert_eq!((plan.tmax_from, plan.tmin_until), (Some(5.0), None));
    assert_eq!(
        Plan::choose(&[vec![1, 2, 3, 7], vec![3, 7, 9], vec![0, 3, 7]], &[]),
        [7, 3]
    );
    // No lookup (a text search alone): every segment, newest first.
    assert_eq!(Plan::choose(&[], &[0, 1, 2]), [2, 1, 0]);
    assert_eq!(Plan::new(&Filter::default(), (None, None)), Plan::default());
}
