//! The event explorer and the state view, over the events the audit verified (the
//! [`Window`] the page keeps: typed rows and their indexes, kept as events arrive).

use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use liveledger_core::event::{self, Payload, Replay, UnverifiedEvent};
use liveledger_core::hash::Hash;
use liveledger_core::jcs;
use serde_json::Value;

use crate::database::Db;
use crate::index::{Plan, Segment, SEGMENT};
use crate::model;
use crate::window::{Field, Filter, Row, Window};

/// What a search of the browser's index found before the window's first event.
#[derive(Clone, Debug, Default, PartialEq)]
struct Older {
    /// The newest matches, at most a page.
    rows: Vec<Arc<Row>>,
    /// How many matched (so far, until `done`).
    count: u64,
    done: bool,
    /// The search read events before this one.
    below: u64,
}

/// Events kept for the explorer (the audit itself keeps none).
pub const MAX_EVENTS: usize = 20_000;
const PAGE: usize = 200;

/// The browser's index of the ledger, as the explorer reads it.
#[derive(Clone, Copy)]
pub struct IndexView {
    /// The index's database, once open.
    pub db: StoredValue<Option<Rc<Db>>, LocalStorage>,
    /// Events `0..covered` are in the index, verified (by this visit or, proved consistent
    /// with this visit's digest, by an earlier one).
    pub covered: ReadSignal<u64>,
    /// What the page has to say about the index (it could not be opened, was discarded…).
    pub note: ReadSignal<Option<String>>,
}

/// The explorer over the window of the newest events and, given an index, over every
/// event before them.
/// The state's replay, shared with the page so that the audit can apply each verified
/// event as it is handed over (no second parse of its text): `next` is the next event it
/// expects; an event out of that order is left to the state view, which applies it from
/// the window after what comes before it.
#[derive(Clone, Copy)]
pub struct StateFeed {
    pub replay: StoredValue<Replay, LocalStorage>,
    pub next: StoredValue<u64, LocalStorage>,
    /// Set when an audit failed after handing over events from this one on: the replay
    /// holds them, and the state view says it does (read when the window changes, as it
    /// does when those events are taken back from it).
    pub unconfirmed_from: StoredValue<Option<u64>, LocalStorage>,
}

impl StateFeed {
    pub fn new() -> StateFeed {
        StateFeed {
            replay: StoredValue::new_local(Replay::new()),
            next: StoredValue::new_local(0),
            unconfirmed_from: StoredValue::new_local(None),
        }
    }

    /// Applies a verified event if it is the next one expected; false if not.
    pub fn apply(&self, ev: &event::VerifiedEvent) -> bool {
        if ev.event().seq != self.next.get_value() {
            return false;
        }
        self.replay.update_value(|r| r.apply(ev));
        self.next.set_value(ev.event().seq + 1);
        true
    }

    /// What an audit that failed had applied from event `seq` on (`seq`: the last verified
    /// digest's size). Before any digest verified, the replay starts again, empty. After
    /// one, it cannot take events back (rebuilding it to `seq` would read the whole ledger
    /// again), so the state view says which of them a failed check did not confirm.
    pub fn forget_from(&self, seq: u64) {
        if self.next.get_value() <= seq {
            return;
        }
        if seq == 0 {
            self.replay.set_value(Replay::new());
            self.next.set_value(0);
            self.unconfirmed_from.set_value(None);
        } else {
            self.unconfirmed_from.set_value(Some(seq));
        }
    }
}

impl Default for StateFeed {
    fn default() -> Self {
        Self::new()
    }
}

#[component]
pub fn Explorer(
    window: ReadSignal<Window>,
    #[prop(optional)] index: Option<IndexView>,
    #[prop(optional)] feed: Option<StateFeed>,
) -> impl IntoView {
    let db = StoredValue::new_local(None::<Rc<Db>>);
    let (no_cover, _) = signal(0u64);
    let (no_note, _) = signal(None::<String>);
    let IndexView { db, covered, note } = index.unwrap_or(IndexView {
        db,
        covered: no_cover,
        note: no_note,
    });
    let (query, set_query) = signal(String::new());
    let (kind, set_kind) = signal(String::new());
    let (source, set_source) = signal(String::new());
    let (author, set_author) = signal(String::new());
    let (key, set_key) = signal(String::new());
    let (selected, set_selected) = signal(None::<u64>);
    let (from, set_from) = signal(String::new());
    let (until, set_until) = signal(String::new());

    // The options of a select: a memo, so they are drawn again only when they change.
    let distinct = move |f: Field| Memo::new(move |_| window.with(|w| w.distinct(f)));
    // The filters' matches, as positions in the window, newest first: the memos hold
    // indices, and only the rows shown are copied out of the window.
    let base = Memo::new(move |_| {
        let f = Filter {
            query: query.get(),
            kind: kind.get(),
            source: source.get(),
            author: author.get(),
            key: key.get(),
        };
        window.with(|w| w.matching(&f))
    });
    // The time filter (UTC bounds, inclusive), and what is wrong with a bound typed.
    let bounds = Memo::new(move |_| {
        (
            model::time_bound(&from.get()),
            model::time_bound(&until.get()),
        )
    });
    let matching = Memo::new(move |_| {
        let (lo, hi) = bounds.get();
        let (lo, hi) = (lo.ok().flatten(), hi.ok().flatten());
        if lo.is_none() && hi.is_none() {
            return base.get();
        }
        base.with(|ix| {
            window.with(|w| {
                ix.iter()
                    .copied()
                    .filter(|&i| match w.rows()[i].secs {
                        Some(t) => lo.is_none_or(|lo| t >= lo) && hi.is_none_or(|hi| t <= hi),
                        None => false,
                    })
                    .collect::<Vec<usize>>()
            })
        })
    });
    // The timeline: the other filters' matches over time; a bar sets the time filter.
    let bars = Memo::new(move |_| {
        let picked: Vec<f64> =
            base.with(|ix| window.with(|w| ix.iter().filter_map(|&i| w.rows()[i].secs).collect()));
        model::timeline(&picked, 48)
    });
    // The fields' placeholders: this ledger's own time range, not a fixed example.
    let placeholders = Memo::new(move |_| {
        let all: Vec<f64> = window.with(|w| w.rows().iter().filter_map(|r| r.secs).collect());
        model::time_placeholders(&all)
            .unwrap_or_else(|| ("YYYY-MM-DDTHH:MM".into(), "YYYY-MM-DDTHH:MM".into()))
    });
    let time_error = move || {
        let (lo, hi) = bounds.get();
        lo.err().or(hi.err())
    };
    // The events before the window's first: searched in the browser's index, one segment
    // at a time (each step a short task), again whenever the filters change or the index
    // grows (at each digest). A search that a newer one replaced stops.
    let (older, set_older) = signal(Older::default());
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let f = Filter {
            query: query.get(),
            kind: kind.get(),
            source: source.get(),
            author: author.get(),
            key: key.get(),
        };
        let (lo, hi) = bounds.get();
        let time = (lo.ok().flatten(), hi.ok().flatten());
        let front = window.with_untracked(|w| w.rows().front().map_or(u64::MAX, |r| r.seq));
        let below = covered.get().min(front);
        generation.update_value(|g| *g += 1);
        let g = generation.get_value();
        let everything = f == Filter::default() && time == (None, None);
        let Some(db) = db.get_value().filter(|_| below > 0) else {
            set_older.set(Older {
                done: true,
                ..Older::default()
            });
            return;
        };
        set_older.set(Older {
            below,
            ..Older::default()
        });
        spawn_local(async move {
            let mut out = Older {
                below,
                ..Older::default()
            };
            let chosen = db
                .choose(&Plan::new(&f, time), below)
                .await
                .unwrap_or_default();
            for (i, n) in chosen.into_iter().enumerate() {
                if generation.get_value() != g {
                    return;
                }
                let Ok(Some(seg)) = db.segment(n).await else {
                    continue;
                };
                let found = seg.matching(&f, time, below);
                out.count += found.len() as u64;
                let had = out.rows.len();
                out.rows
                    .extend(found.into_iter().take(PAGE - had).map(Arc::new));
                if everything && out.rows.len() >= PAGE {
                    // Every event matches: the count is known, a page is all there is to read.
                    out.count = below;
                    break;
                }
                if (had < PAGE && out.rows.len() == PAGE) || i % 64 == 63 {
                    set_older.set(out.clone());
                }
            }
            if generation.get_value() == g {
                out.done = true;
                set_older.set(out);
            }
        });
    });
    // The rows shown: at most a page, each drawn once and kept while it stays shown: the
    // window's matches, then the index's (before the window's first event). Of them, the
    // first `drawn` are in the table; more as its end is scrolled near (model::rows_to_draw).
    let (drawn, set_drawn) = signal(model::ROWS_AT_FIRST);
    let shown = move || {
        let mut rows = matching.with(|ix| {
            window.with(|w| {
                ix.iter()
                    .take(PAGE)
                    .map(|&i| (w.rows()[i].clone(), w.is_corrected(i)))
                    .collect::<Vec<_>>()
            })
        });
        let front = window.with(|w| w.rows().front().map_or(u64::MAX, |r| r.seq));
        older.with(|o| {
            let room = PAGE.saturating_sub(rows.len());
            rows.extend(
                o.rows
                    .iter()
                    .filter(|r| r.seq < front)
                    .take(room)
                    .map(|r| (r.clone(), false)),
            );
        });
        rows
    };
    let more = move || set_drawn.update(|d| *d = model::more_rows(*d, PAGE));
    // An event picked that neither the window nor the search holds (a correction's link):
    // read from the index.
    let (fetched, set_fetched) = signal(None::<Arc<Row>>);
    Effect::new(move |_| {
        let Some(seq) = selected.get() else { return };
        let held = window.with_untracked(|w| w.get(seq).is_some())
            || older.with_untracked(|o| o.rows.iter().any(|r| r.seq == seq));
        if held || fetched.with_untracked(|f| f.as_ref().is_some_and(|r| r.seq == seq)) {
            return;
        }
        let Some(db) = db.get_value() else { return };
        if seq >= covered.get_untracked() {
            return;
        }
        spawn_local(async move {
            if let Ok(Some(seg)) = db.segment(seq / SEGMENT).await {
                set_fetched.set(seg.row(seq).map(Arc::new));
            }
        });
    });
    // The event opened, wherever it is held, and the events in the window that correct it.
    // Memos: the window grows every second on a live ledger, and the detail is drawn
    // again only when what it shows changes.
    let chosen = Memo::new(move |_| {
        let seq = selected.get()?;
        window
            .with(|w| w.get(seq).cloned())
            .or_else(|| older.with(|o| o.rows.iter().find(|r| r.seq == seq).cloned()))
            .or_else(|| fetched.get().filter(|r| r.seq == seq))
    });
    let corrected_by = Memo::new(move |_| {
        selected
            .get()
            .map(|seq| window.with(|w| w.corrected_by(seq)))
            .unwrap_or_default()
    });
    let select = move |field: Field, label: &'static str, set: WriteSignal<String>| {
        let options = distinct(field);
        view! {
            <label>{label}" "
                <select on:change=move |e| set.set(event_target_value(&e))>
                    <option value="">"all"</option>
                    {move || options.get().into_iter().map(|v| view! { <option value=v.clone()>{v.clone()}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <section class="card" aria-labelledby="explorer-h">
            <h2 id="explorer-h">"Events"</h2>
            <div class="filters">
                <label>"Search "<input id="explorer-search" type="search" prop:value=query on:input=move |e| set_query.set(event_target_value(&e)) /></label>
                {select(Field::Kind, "Kind", set_kind)}
                {select(Field::Source, "Source", set_source)}
                {select(Field::Author, "Author", set_author)}
                <label>"Key "<input id="explorer-key" type="search" placeholder="exactly" prop:value=key on:input=move |e| set_key.set(event_target_value(&e)) /></label>
            </div>
            <div class="filters">
                <label>"From (UTC) "<input id="explorer-from" placeholder=move || placeholders.get().0 prop:value=from on:input=move |e| set_from.set(event_target_value(&e)) /></label>
                <label>"Until (UTC) "<input id="explorer-until" placeholder=move || placeholders.get().1 prop:value=until on:input=move |e| set_until.set(event_target_value(&e)) /></label>
                <button class="secondary" on:click=move |_| { set_from.set(String::new()); set_until.set(String::new()); }>"All times"</button>
            </div>
            {move || time_error().map(|m| view! { <p class="result alarm" id="explorer-time-error">{m}</p> })}
            <div class="timeline" id="explorer-timeline" role="group" aria-label="Events over time: choose a bar to show its events">
                {move || {
                    let bs = bars.get();
                    let max = bs.iter().map(|b| b.count).max().unwrap_or(1).max(1);
                    let (lo, hi) = bounds.get();
                    let (lo, hi) = (lo.ok().flatten(), hi.ok().flatten());
                    bs.into_iter().map(|b| {
                        let (start, end) = (model::utc(b.start), model::utc_ceil(b.end));
                        let label = format!("{} events from {start} to {end}", b.count);
                        let chosen = (lo.is_some() || hi.is_some())
                            && lo.is_none_or(|lo| b.end > lo) && hi.is_none_or(|hi| b.start <= hi);
                        let h = if b.count == 0 { 0 } else { 8 + 92 * b.count / max };
                        view! {
                            <button class="bar" class:chosen=chosen title=label.clone() aria-label=label
                                style=format!("--h:{h}%")
                                on:click=move |_| { set_from.set(start.clone()); set_until.set(end.clone()); }>
                                <span></span>
                            </button>
                        }
                    }).collect_view()
                }}
            </div>
            <p class="legend muted">{move || match (bars.with(|b| b.first().map(|x| x.start)), bars.with(|b| b.last().map(|x| x.end))) {
                (Some(a), Some(b)) => format!("{} — {}", model::utc(a), model::utc_ceil(b)),
                _ => String::new(),
            }}</p>
            <p class="muted" id="explorer-count" data-done=move || older.with(|o| o.done).to_string()>{move || {
                let (count, done, below) = older.with(|o| (o.count, o.done, o.below));
                let n = matching.with(Vec::len) as u64 + count;
                let extra = if !done {
                    " (searching this browser's index of the older events…)".to_owned()
                } else if below > 0 {
                    format!(" (events before {below} from this browser's index of the ledger)")
                } else if window.with(Window::dropped) > 0 {
                    format!(" (the explorer holds the latest {MAX_EVENTS}; all were verified)")
                } else {
                    String::new()
                };
                format!("{n} matching events, newest first{}{extra}", if n > PAGE as u64 { format!(", showing {PAGE}") } else { String::new() })
            }}</p>
            {move || note.get().map(|m| view! { <p class="muted" id="index-note">{m}</p> })}
            <div class="table-wrap" on:scroll=move |e| {
                let el = event_target::<web_sys::Element>(&e);
                let (top, view, content) = (el.scroll_top() as f64, el.client_height() as f64, el.scroll_height() as f64);
                let d = drawn.get_untracked();
                let next = model::rows_to_draw(d, PAGE, top, view, content);
                if next != d {
                    set_drawn.set(next);
                }
            }>
                <table id="explorer-table">
                    <thead><tr><th>"#"</th><th>"Time"</th><th>"Kind"</th><th>"Source"</th><th>"Author"</th><th>"Key"</th><th>"Payload"</th></tr></thead>
                    <tbody>
                        <For each=move || { let mut rs = shown(); rs.truncate(drawn.get()); rs } key=|(r, c)| (r.seq, *c) let((r, corrected))>
                            <tr class:corrected=corrected>
                                <td><button class="link" on:click={ let seq = r.seq; move |_| set_selected.set(Some(seq)) }>{r.seq}</button></td>
                                <td>{r.time.clone()}</td>
                                <td>{r.kind.clone()}</td>
                                <td>{r.source.clone()}</td>
                                <td>{r.author.clone()}</td>
                                <td>{r.key.clone()}</td>
                                <td>{r.summary.clone()}</td>
                            </tr>
                        </For>
                    </tbody>
                </table>
            </div>
            {move || {
                let (n, d) = (shown().len(), drawn.get());
                (n > d).then(|| view! {
                    <button class="secondary" id="explorer-more" on:click=move |_| more()>{format!("Show more ({d} of {n} drawn)")}</button>
                })
            }}
            {move || chosen.get().map(|r| view! { <Detail r=r by=corrected_by select=set_selected /> })}
        </section>
        <State window=window index=IndexView { db, covered, note } feed=feed.unwrap_or_default() history=set_key />
    }
}

/// One event, opened. `by` (the events that correct it) is a signal of its own: a
/// correction arriving adds its link without drawing the rest again, so that what a
/// visitor is typing into the reveal form stays.
#[component]
fn Detail(r: Arc<Row>, by: Memo<Vec<u64>>, select: WriteSignal<Option<u64>>) -> impl IntoView {
    let corrects = r.corrects.clone().map(|(t, mode)| {
        view! { <p>{format!("Corrects ({mode}) event ")}<button class="link" on:click=move |_| select.set(Some(t))>{t}</button></p> }
    });
    let by_view = move || {
        by.with(|by| (!by.is_empty()).then(|| view! {
            <p>"Corrected by event(s) "{by.iter().map(|&b| view! { <button class="link" on:click=move |_| select.set(Some(b))>{b}</button>" " }).collect_view()}</p>
        }))
    };
    // The event as it was signed, laid out to read.
    let pretty = jcs::parse(r.text.as_bytes())
        .ok()
        .and_then(|v: Value| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| r.text.clone());
    view! {
        <div class="detail-panel" id="event-detail">
            <h3>{format!("Event {}", r.seq)}</h3>
            <dl>
                <dt>"Signature"</dt><dd class="ok">{format!("✔ verified: signed by {}", r.author)}</dd>
                <dt>"Source"</dt><dd>{r.source.clone()}</dd>
                <dt>"Time"</dt><dd>{r.time.clone()}</dd>
                <dt>"Hash"</dt><dd><code>{r.leaf_hash.clone()}</code></dd>
                <dt>"Previous"</dt><dd><code>{r.prev.clone()}</code></dd>
            </dl>
            {corrects}
            {by_view}
            {r.commitment.clone().map(|c| view! { <Reveal commitment=c /> })}
            <pre>{pretty}</pre>
        </div>
    }
}

/// Checks a private payload revealed by someone against the event's commitment.
#[component]
fn Reveal(commitment: String) -> impl IntoView {
    let (body, set_body) = signal(String::new());
    let (salt, set_salt) = signal(String::new());
    let (verdict, set_verdict) = signal(None::<Result<(), String>>);
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let r = (|| {
            let c = Hash::from_hex(&commitment).map_err(|e| e.to_string())?;
            let b: Value = jcs::parse(body.get_untracked().as_bytes())
                .map_err(|e| format!("the payload: {e}"))?;
            let salt = Hash::from_hex(salt.get_untracked().trim())
                .map_err(|e| format!("the salt: {e}"))?;
            if event::opens(&c, &salt.0, &b) {
                Ok(())
            } else {
                Err("this payload and salt do not open the commitment".into())
            }
        })();
        set_verdict.set(Some(r));
    };
    view! {
        <form class="reveal" on:submit=check>
            <p>"This payload is private: the ledger holds only its commitment. Paste a revealed payload and salt to check them."</p>
            <label for="reveal-body">"Payload (JSON)"</label>
            <textarea id="reveal-body" rows="3" prop:value=body on:input=move |e| set_body.set(event_target_value(&e))></textarea>
            <label for="reveal-salt">"Salt (hex)"</label>
            <input id="reveal-salt" prop:value=salt on:input=move |e| set_salt.set(event_target_value(&e)) />
            <button type="submit">"Check"</button>
            {move || verdict.get().map(|r| match r {
                Ok(()) => view! { <p id="reveal-result" class="result ok">"✔ The payload and salt open the commitment."</p> }.into_any(),
                Err(m) => view! { <p id="reveal-result" class="result alarm">{format!("⚠ {m}")}</p> }.into_any(),
            })}
        </form>
    }
}

/// A state value as the table shows it: the payload of the event `text` (canonical JSON).
fn value_text(text: &str) -> String {
    match UnverifiedEvent::parse(text.as_bytes()).map(|e| e.payload) {
        Ok(Payload::Body(b)) => b.to_string(),
        Ok(Payload::Commitment(c)) => format!("private (commitment {}…)", &c.to_hex()[..12]),
        Ok(Payload::None) => "—".into(),
        Err(e) => format!("(event does not parse: {e})"),
    }
}

/// The state: a replay of every verified event, corrections applied (liveledger-core's
/// Replay), computed incrementally: each time the explorer's window grows, only the
/// events after the last one applied are (events arrive in log order and leave the window
/// from the front, long after they arrived). Events before the window's first (a return
/// visit's, which an earlier visit verified) are read from the browser's index, in order,
/// a segment a step, once this visit's digest proves the index. The replay holds no
/// payload: the values on the page are read from the events they come from (the window's
/// or the index's), so what the view holds beyond the keys is a page.
#[component]
fn State(
    window: ReadSignal<Window>,
    index: IndexView,
    feed: StateFeed,
    /// Shows a key's history in the explorer (its key filter).
    history: WriteSignal<String>,
) -> impl IntoView {
    let IndexView { db, covered, .. } = index;
    // The replay and the next event it expects (the audit may have applied the window's
    // events already); whether the index is being read for the events before the window,
    // and a tick when what was read from it is in.
    let StateFeed { replay, next, .. } = feed;
    let reading = StoredValue::new(false);
    let (read, set_read) = signal(0u32);
    let apply_text = move |text: &str| {
        if let Ok(ev) = UnverifiedEvent::parse(text.as_bytes()) {
            replay.update_value(|rp| rp.apply_event(&ev));
        }
    };
    let state = Memo::new(move |_| {
        read.get();
        let covered = covered.get();
        window.with(|w| {
            let front = w.rows().front().map_or(u64::MAX, |r| r.seq);
            if front > next.get_value() && !w.is_empty() {
                // Events before the window: from the index, once it holds them all.
                let Some(d) = db
                    .get_value()
                    .filter(|_| covered >= front && !reading.get_value())
                else {
                    return;
                };
                reading.set_value(true);
                let from = next.get_value();
                spawn_local(async move {
                    for n in from / SEGMENT..front.div_ceil(SEGMENT) {
                        let Ok(Some(seg)) = d.segment(n).await else {
                            break;
                        };
                        for line in seg.lines.split('\n').enumerate().filter_map(|(i, l)| {
                            let seq = seg.first + i as u64;
                            (seq == next.get_value() && seq < front).then_some(l)
                        }) {
                            apply_text(line);
                            next.update_value(|n| *n += 1);
                        }
                    }
                    reading.set_value(false);
                    set_read.update(|r| *r += 1);
                });
                return;
            }
            if reading.get_value() {
                return;
            }
            let start = w.rows().partition_point(|r| r.seq < next.get_value());
            for r in w.rows().range(start..) {
                if r.seq == next.get_value() {
                    apply_text(&r.text);
                    next.set_value(r.seq + 1);
                }
            }
        });
        replay.with_value(|r| (r.state_page(PAGE), next.get_value()))
    });
    // The values shown: the replay holds none, only the event each comes from. Each is
    // read from the window if it holds the event, else from the index (a segment a step),
    // and kept while its row is on the page: what is held is the page, not the state.
    let values = StoredValue::new(Vec::<(u64, String)>::new());
    let fetching = StoredValue::new(false);
    // Events the index did not give back (not asked for again).
    let unread = StoredValue::new(BTreeSet::<u64>::new());
    let rows = Memo::new(move |_| {
        read.get();
        let covered = covered.get();
        let page = state.with(|s| s.0 .1.clone());
        let mut kept = Vec::with_capacity(page.len());
        let mut from_index = BTreeSet::new();
        let rows = page
            .into_iter()
            .map(|row| {
                let from = row.value_from;
                let v = values
                    .with_value(|v| v.iter().find(|(s, _)| *s == from).map(|(_, t)| t.clone()))
                    .or_else(|| window.with(|w| w.get(from).map(|r| value_text(&r.text))));
                let shown = match &v {
                    Some(v) => v.clone(),
                    None if db.with_value(Option::is_none) => {
                        format!("(event {from} is not held: this browser has no index)")
                    }
                    None if unread.with_value(|u| u.contains(&from)) => {
                        format!("(event {from} could not be read from this browser's index)")
                    }
                    None => {
                        if from < covered {
                            from_index.insert(from);
                        }
                        format!("(reading event {from})")
                    }
                };
                if let Some(v) = v {
                    kept.push((from, v));
                }
                (row.key, row.seq, shown)
            })
            .collect::<Vec<_>>();
        values.set_value(kept);
        if let (false, false, Some(d)) =
            (from_index.is_empty(), fetching.get_value(), db.get_value())
        {
            fetching.set_value(true);
            spawn_local(async move {
                let mut seg = None;
                for s in from_index {
                    if seg.as_ref().map(|g: &Segment| g.first / SEGMENT) != Some(s / SEGMENT) {
                        seg = d.segment(s / SEGMENT).await.ok().flatten();
                    }
                    match seg.as_ref().and_then(|g| g.row(s)) {
                        Some(row) => values.update_value(|v| v.push((s, value_text(&row.text)))),
                        None => unread.update_value(|u| {
                            u.insert(s);
                        }),
                    }
                }
                fetching.set_value(false);
                set_read.update(|r| *r += 1);
            });
        }
        rows
    });
    view! {
        <section class="card" aria-labelledby="state-h">
            <h2 id="state-h">"State"</h2>
            <p class="muted">{move || {
                let ((n, _), upto) = state.get();
                let front = window.with(|w| w.rows().front().map_or(0, |r| r.seq));
                let behind = if upto < front && db.with_value(Option::is_none) {
                    format!(" Events before {front} are not held by this page and this browser has no index of them: the keys they set are not shown.")
                } else if upto < front {
                    format!(" Events before {front} are being read from this browser's index ({upto} so far).")
                } else {
                    String::new()
                };
                let unconfirmed = feed.unconfirmed_from.get_value().map(|from| format!(" These values include events from {from} on, which the check that failed did not confirm: only events before {from} are verified.")).unwrap_or_default();
                format!("{n} keys: the latest value of each, corrections applied.{behind}{unconfirmed}")
            }}</p>
            <div class="table-wrap">
                <table id="state-table">
                    <thead><tr><th>"Key"</th><th>"Value"</th><th>"From event"</th></tr></thead>
                    <tbody>
                        // Keyed by what a row shows: a draw changes only the rows that changed.
                        <For each=move || rows.get() key=|row| row.clone() let((k, seq, v))>
                            <tr><td><button class="link" title="This key's history in the events above" on:click=move |_| history.set(k.clone())>{k.clone()}</button></td><td><code>{v}</code></td><td>{seq}</td></tr>
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
    }
}
