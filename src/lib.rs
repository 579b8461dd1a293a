//! The Live Ledger browser verifier (Leptos, client-side only).
//!
//! Everything is verified in the visitor's browser by `liveledger-core`, through the same
//! fetch-and-verify path as the `<live-ledger-verify>` element (`liveledger-wasm`):
//! signatures, every event, every tile and the root, then each new digest's consistency.
//! This module is the page; `model` holds its pure logic (tested in Node and Chromium).

pub mod database;
pub mod explorer;
pub mod history;
pub mod index;
pub mod model;
pub mod window;

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use liveledger_core::verdict::{self, Code};
use liveledger_wasm::{AuditResult, EntryResult, LedgerError, Options};
use model::{Cell, Freshness, Progress};
use serde_json::Value;
use wasm_bindgen::prelude::*;

fn now_secs() -> f64 {
    js_sys::Date::now() / 1000.0
}

/// What the page is verifying: `?log=URL&key=VKEY`, by default the ledger it is served with.
fn target() -> (String, Option<String>) {
    let loc = web_sys::window().map(|w| w.location());
    let href = loc.as_ref().and_then(|l| l.href().ok()).unwrap_or_default();
    let search = loc
        .as_ref()
        .and_then(|l| l.search().ok())
        .unwrap_or_default();
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
    let get = |k: &str| {
        params
            .as_ref()
            .and_then(|p| p.get(k))
            .filter(|s| !s.is_empty())
    };
    let here = href.split(['?', '#']).next().unwrap_or("").to_owned();
    let here = match here.rfind('/') {
        Some(i) => here[..=i].to_owned(),
        None => here,
    };
    (get("log").unwrap_or(here), get("key"))
}

/// A query parameter of the page's URL.
fn param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
        .filter(|s| !s.is_empty())
}

/// Options for the verifier: the trusted keys, if any (otherwise the ledger's metadata is
/// trusted on first use), and `?policy=` (a tlog-policy's text) when the link pins a
/// witness policy instead of the metadata's (`BAD_INPUT` if it does not parse).
pub(crate) fn verifier_options(keys: &[String]) -> Result<Options, LedgerError> {
    Ok(Options {
        keys: keys.to_vec(),
        policy: param("policy")
            .map(|p| liveledger_wasm::parse_policy(&p))
            .transpose()?,
        ..Options::default()
    })
}

/// An error as the evidence file holds it: `{code, message, evidence}`.
fn error_json(e: &LedgerError) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("code".into(), e.code.as_str().into());
    m.insert("message".into(), e.message.clone().into());
    m.insert("evidence".into(), e.evidence.clone().unwrap_or(Value::Null));
    Value::Object(m)
}

fn forget_memory(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

/// Forgets what this browser kept under `key`, and loads the page again.
fn forget_and_reload(key: &str) {
    forget_memory(key);
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// A download link for evidence.
fn evidence_url(v: &Value) -> Option<String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(&serde_json::to_string_pretty(v).ok()?));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// A digest's part of a write to the index: the first segment past the verified size (it
/// and those after it are dropped), and what the index then holds.
type AtDigest = Option<(u64, database::Info)>;

/// The page's side of the index: rows made into segments as they are verified, writes
/// waiting for the database to open, and what the database held when it opened.
#[derive(Default)]
struct Indexing {
    indexer: index::Indexer,
    pending: Vec<(Vec<index::Segment>, AtDigest)>,
    /// What the index said of itself when opened, if it was kept (a resumed visit).
    kept: Option<database::Info>,
    failed: bool,
}

impl Indexing {
    /// What the index holds once this digest's events are written: everything up to
    /// `size` if this visit indexed every event from the first, or from where the kept
    /// index of the same ledger and key ends; otherwise only the kept part before this
    /// visit's first event (or nothing, for an index of another ledger or key).
    /// Also says, once, when the kept index was of another ledger or key (and so is not
    /// searched until a full audit builds it again).
    fn digest(&mut self, origin: &str, key: &str, size: u64) -> (database::Info, Option<String>) {
        let other = self
            .kept
            .as_ref()
            .filter(|i| i.origin != origin || i.key != key)
            .map(|i| format!("The index this browser kept for this address belongs to another ledger or key ({}); it is not searched. Verify every event again to build it anew.", i.origin));
        let kept = self
            .kept
            .as_ref()
            .filter(|i| i.origin == origin && i.key == key)
            .map(|i| i.covered);
        let ix = &self.indexer;
        let complete = !ix.gap
            && match ix.first {
                Some(0) => true,
                Some(f) => kept.is_some_and(|c| c >= f),
                None => kept.is_some_and(|c| c >= size),
            };
        let covered = if complete {
            size
        } else {
            kept.unwrap_or(0)
                .min(ix.first.unwrap_or(u64::MAX))
                .min(size)
        };
        let info = database::Info {
            origin: origin.to_owned(),
            key: key.to_owned(),
            covered,
        };
        self.kept = Some(info.clone());
        (info, other)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Verdict {
    Pending,
    Verified,
    Alarm {
        code: String,
        message: String,
        evidence: Option<String>,
        segment: Option<u64>,
    },
}

#[component]
pub fn App() -> impl IntoView {
    let (url, key) = target();
    let (verdict, set_verdict) = signal(Verdict::Pending);
    let (digest, set_digest) = signal(None::<AuditResult>);
    let (progress, set_progress) = signal(Progress::default());
    let (cells, set_cells) = signal(Vec::<Cell>::new());
    let (trust, set_trust) = signal(String::new());
    let (first_size, set_first_size) = signal(None::<u64>);
    let (tick, set_tick) = signal(0u32);
    let (events, set_events) = signal(window::Window::new(explorer::MAX_EVENTS));
    // The keys the audit verified with, once it has: the history is checked with them.
    let (verified_keys, set_verified_keys) = signal(None::<Vec<String>>);
    let started = now_secs();

    // Re-render ages every few seconds.
    if let Ok(cb) = Closure::<dyn FnMut()>::new(move || set_tick.update(|t| *t += 1))
        .into_js_value()
        .dyn_into::<js_sys::Function>()
    {
        if let Some(w) = web_sys::window() {
            let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(&cb, 2000);
        }
    }

    // The visitor's own maximum digest age: `?maxAge=SECONDS`, else what they set here.
    let max_age_memory = StoredValue::new(format!("liveledger:maxage:{url}"));
    let (max_age, set_max_age) = signal(
        param("maxAge")
            .or_else(|| {
                storage().and_then(|s| s.get_item(&max_age_memory.get_value()).ok().flatten())
            })
            .and_then(|v| v.parse::<u64>().ok().map(|v| v as f64))
            .filter(|v| *v > 0.0),
    );
    let memory_key = format!("liveledger:last:{url}");
    // The log key this browser trusted for this ledger on its first verified visit.
    let key_memory = format!("liveledger:key:{url}");
    let remembered_key = storage().and_then(|s| s.get_item(&key_memory).ok().flatten());
    let pinned_here = key.is_none() && remembered_key.is_some();
    let key = key.or(remembered_key);
    let key_memory_store = StoredValue::new(key_memory.clone());
    let feed = explorer::StateFeed::new();
    // When the audit or the following ends in an alarm, what it handed over past the last
    // digest it verified did not hold: the explorer drops it, and the state says so (called
    // once every event handed over is in the window; see `on_alarm`).
    let take_back = move || {
        let verified = digest.with_untracked(|d| d.as_ref().map_or(0, |d| d.checkpoint.size));
        set_events.update(|w| w.truncate_from(verified));
        feed.forget_from(verified);
    };
    let alarm = move |e: &LedgerError| {
        // A key remembered from a first visit that no longer verifies the ledger: the
        // core's rule says what that is (`verdict::with_remembered_keys`).
        let e = LedgerError {
            code: verdict::with_remembered_keys(e.code, pinned_here),
            ..e.clone()
        };
        let segment = e.evidence.as_ref().and_then(|v| v["segment"].as_u64());
        if let Some(s) = segment {
            set_cells.update(|c| model::mark_failed(c, s));
        }
        set_verdict.set(Verdict::Alarm {
            code: e.code.as_str().to_owned(),
            message: e.message.clone(),
            evidence: evidence_url(&error_json(&e)),
            segment,
        });
    };

    // What this browser verified here before: handed to the module as `since`, which
    // proves the checkpoint served now extends it (else FORK or ROLLBACK, with both).
    let remembered = storage().and_then(|s| s.get_item(&memory_key).ok().flatten());
    let (memory_note, set_memory_note) = signal(None::<String>);
    let remembered = match remembered.as_deref().map(model::remembered) {
        Some(Ok(r)) => Some(r),
        Some(Err(why)) => {
            forget_memory(&memory_key);
            set_memory_note.set(Some(format!(
                "What this browser remembered of this ledger could not be read ({why}); it was discarded, and this visit is checked as a first one."
            )));
            None
        }
        None => None,
    };
    let since_used = StoredValue::new(remembered.clone());
    // What this browser kept to continue its audit here (the module's resume point): the
    // module checks it and reads only the new entries; one that does not hold is said so.
    let resume_key = format!("liveledger:resume:{url}");
    let kept_resume = storage().and_then(|s| s.get_item(&resume_key).ok().flatten());
    let (resumed_from, set_resumed_from) = signal(None::<u64>);
    let resume_store = StoredValue::new(resume_key.clone());

    // The explorer's index over the whole ledger, in this browser's database: written as
    // events are verified; searched for events only after this visit's digest proves what
    // it holds (see `index` and `database`).
    let db = StoredValue::new_local(None::<Rc<database::Db>>);
    let (covered, set_covered) = signal(0u64);
    let (index_note, set_index_note) = signal(None::<String>);
    let indexing = Rc::new(RefCell::new(Indexing::default()));
    let index_write: Rc<dyn Fn(Vec<index::Segment>, AtDigest)> = {
        let indexing = indexing.clone();
        Rc::new(move |segments, done| {
            let mut st = indexing.borrow_mut();
            if st.failed {
                return;
            }
            let Some(d) = db.get_value() else {
                st.pending.push((segments, done));
                return;
            };
            let indexing = indexing.clone();
            spawn_local(async move {
                let (drop_from, info) = done.map_or((None, None), |(f, i)| (Some(f), Some(i)));
                let covered = info.as_ref().map(|i| i.covered);
                match d.write(segments, drop_from, info).await {
                    Ok(()) => {
                        if let Some(c) = covered {
                            set_covered.set(c);
                        }
                    }
                    Err(e) => {
                        indexing.borrow_mut().failed = true;
                        db.set_value(None);
                        set_covered.set(0);
                        set_index_note.set(Some(format!("This browser's database did not keep the index ({e}): the explorer searches only the events this page holds.")));
                    }
                }
            });
        })
    };
    {
        let url = url.clone();
        let indexing = indexing.clone();
        let index_write = index_write.clone();
        let full_audit = kept_resume.is_none();
        spawn_local(async move {
            let d = match database::Db::open(&url).await {
                Ok(d) => d,
                Err(e) => {
                    indexing.borrow_mut().failed = true;
                    set_index_note.set(Some(format!(
                        "{e}: the explorer searches only the events this page holds."
                    )));
                    return;
                }
            };
            let mut kept = match d.info().await {
                Ok(i) => i,
                Err(why) => {
                    set_index_note.set(Some(format!("The index this browser kept of this ledger could not be read ({why}); it was discarded.")));
                    None
                }
            };
            // A full audit builds the index again from its first event.
            if full_audit || kept.is_none() {
                kept = None;
                if let Err(e) = d.clear().await {
                    set_index_note.set(Some(e));
                }
            }
            let pending = {
                let mut st = indexing.borrow_mut();
                st.kept = kept;
                std::mem::take(&mut st.pending)
            };
            db.set_value(Some(Rc::new(d)));
            for (segments, done) in pending {
                index_write(segments, done);
            }
        });
    }
    {
        let url = url.clone();
        let memory_key = memory_key.clone();
        spawn_local(async move {
            // The audit starts in a task of its own, not in the page's mount's.
            liveledger_wasm::yield_to_the_page().await;
            let mut opts = match verifier_options(key.as_slice()) {
                Ok(o) => o,
                Err(e) => return alarm(&e),
            };
            opts.interval_ms = 3000.0;
            opts.resume = kept_resume;
            // Events and progress are drawn in batches, a few times a second (see
            // model::Batch); a verdict draws what is waiting first.
            let batch = Rc::new(RefCell::new(model::Batch::<window::Row>::default()));
            // The events indexed and not yet in the explorer's window: handed to it in a
            // task after the one that indexed them (each about half of a handover's work,
            // which at 1M was one task of 60-90 ms), or at once by a forced draw. Whoever
            // hands over takes all, in order.
            let to_window = Rc::new(RefCell::new(Vec::<window::Row>::new()));
            let hand_over: Rc<dyn Fn()> = {
                let to_window = to_window.clone();
                Rc::new(move || {
                    let evs = std::mem::take(&mut *to_window.borrow_mut());
                    if !evs.is_empty() {
                        set_events.update(|w| {
                            w.extend(evs);
                        });
                    }
                })
            };
            let draw: Rc<dyn Fn(bool)> = {
                let batch = batch.clone();
                let (indexing, index_write) = (indexing.clone(), index_write.clone());
                Rc::new(move |force: bool| {
                    let now = now_secs();
                    let (evs, prog) = {
                        let mut b = batch.borrow_mut();
                        if !force && !b.due(now) {
                            return;
                        }
                        b.take(now, force)
                    };
                    if !evs.is_empty() {
                        let full = {
                            let mut st = indexing.borrow_mut();
                            for r in &evs {
                                st.indexer.push(r);
                            }
                            st.indexer.take_full()
                        };
                        if !full.is_empty() {
                            index_write(full, None);
                        }
                        let first = {
                            let mut q = to_window.borrow_mut();
                            let first = q.is_empty();
                            q.extend(evs);
                            first
                        };
                        if force {
                            hand_over();
                        } else if first {
                            let hand_over = hand_over.clone();
                            set_timeout(move || hand_over(), std::time::Duration::ZERO);
                        }
                    } else if force {
                        hand_over();
                    }
                    if let Some((pr, segment)) = prog {
                        set_cells.update(|c| model::advance(c, pr.size, segment));
                        // Once the full audit is done, live following moves the counts only.
                        set_progress.update(|p| {
                            if p.done {
                                (p.entries, p.size) = (pr.entries, pr.size);
                            } else {
                                *p = pr;
                            }
                        });
                    }
                })
            };
            // A draw that falls due runs in a task of its own (a timeout of 0), not in the
            // audit's: the audit's work on a bundle and the draw it made due were one
            // main-thread task (66-154 ms at 1M in a Chromium trace), now two. Whatever runs
            // first takes everything waiting, in order, from the one batch; a verdict draws
            // at once.
            let scheduled = Rc::new(std::cell::Cell::new(false));
            let flush: Rc<dyn Fn(bool)> = {
                let batch = batch.clone();
                Rc::new(move |force: bool| {
                    if force {
                        return draw(true);
                    }
                    if scheduled.get() || !batch.borrow().due(now_secs()) {
                        return;
                    }
                    scheduled.set(true);
                    let (draw, scheduled) = (draw.clone(), scheduled.clone());
                    set_timeout(
                        move || {
                            scheduled.set(false);
                            draw(false);
                        },
                        std::time::Duration::ZERO,
                    );
                })
            };
            opts.on_progress = Some({
                let (batch, flush) = (batch.clone(), flush.clone());
                Box::new(move |p: &liveledger_wasm::Progress| {
                    let pr = Progress::from_module(p, now_secs() - started);
                    batch.borrow_mut().set_progress(pr, p.segment);
                    flush(false);
                })
            });
            opts.on_event = Some({
                let (batch, flush) = (batch.clone(), flush.clone());
                Box::new(move |e| {
                    // The state applies the event as verified, if it is the next it expects.
                    feed.apply(e);
                    batch.borrow_mut().push_event(window::Row::from_event(e));
                    flush(false);
                })
            });
            let mk = memory_key.clone();
            let rk = resume_key.clone();
            let km = key_memory.clone();
            let flush_digest = flush.clone();
            let (indexing, index_write) = (indexing.clone(), index_write.clone());
            opts.on_digest = Some(Box::new(move |d: &AuditResult| {
                flush_digest(true);
                let size = d.checkpoint.size;
                // The index up to this digest: what the audit verified (and, resumed, the
                // events before it that an earlier visit indexed, now proved part of it).
                {
                    let mut st = indexing.borrow_mut();
                    let (info, other) = st.digest(
                        &d.checkpoint.origin,
                        d.keys.first().map_or("", |k| k.as_str()),
                        size,
                    );
                    if other.is_some() {
                        set_index_note.set(other);
                    }
                    let mut segments = st.indexer.take_full();
                    segments.extend(st.indexer.partial());
                    drop(st);
                    index_write(segments, Some((size.div_ceil(index::SEGMENT), info)));
                }
                // Across visits: the module proved this digest extends the one remembered
                // (`since`); say so once, then remember this one.
                // (An audit continued from a kept point says the same, and more; a notice
                // that something remembered was discarded stays in front of either.)
                let remembered = since_used.get_value();
                since_used.set_value(None);
                let signed = remembered.as_ref().and_then(|r| r.signed_time);
                if let Some(words) = model::resumed_words(d.resumed.as_ref(), size, signed) {
                    set_memory_note.update(|n| {
                        *n = Some(match n.take() {
                            Some(notice) => format!("{notice} {words}"),
                            None => words,
                        })
                    });
                    if let Some(liveledger_wasm::Resumed::From(from)) = d.resumed {
                        set_resumed_from.set(Some(from));
                    }
                } else if let Some(r) = remembered {
                    set_memory_note.set(Some(model::since_words(&r, size)));
                }
                if let Some(s) = storage() {
                    if let Ok(cp) = serde_json::to_string(&d.checkpoint) {
                        let _ = s.set_item(&mk, &cp);
                    }
                    if let Some(p) = &d.resume_point {
                        let _ = s.set_item(&rk, p);
                    }
                    if let Some(k) = d.keys.first() {
                        if s.get_item(&km).ok().flatten().is_none() {
                            let _ = s.set_item(&km, k);
                        }
                    }
                }
                set_first_size.update(|f| {
                    f.get_or_insert(size);
                });
                if verified_keys.get_untracked().is_none() {
                    set_verified_keys.set(Some(d.keys.clone()));
                }
                set_trust.set(d.trust.to_owned());
                set_cells.update(|c| model::all_verified(c, size));
                // New events from live following count as verified; the rate stays the
                // full audit's.
                set_progress.update(|p| p.finish(size, now_secs() - started));
                set_digest.set(Some(d.clone()));
                if !matches!(verdict.get_untracked(), Verdict::Alarm { .. }) {
                    set_verdict.set(Verdict::Verified);
                }
            }));
            let flush_alarm = flush.clone();
            opts.on_alarm = Some(Box::new(move |e: &LedgerError| {
                flush_alarm(true);
                take_back();
                alarm(e);
            }));
            opts.since = remembered.map(|r| r.note);
            let result = loop {
                match liveledger_wasm::follow(&url, &opts).await {
                    // A remembered checkpoint of another ledger or key: discarded, with a
                    // notice, never trusted; then the visit is checked as a first one.
                    Err(e) if opts.since.is_some() && e.code == Code::BadSince => {
                        forget_memory(&memory_key);
                        opts.since = None;
                        since_used.set_value(None);
                        set_memory_note.set(Some(format!(
                            "The checkpoint this browser remembered for this address does not belong to this ledger or its key ({}); it was discarded, and this visit is checked as a first one.",
                            e.message
                        )));
                    }
                    r => break r,
                }
            };
            flush(true);
            if let Err(e) = result {
                take_back();
                if !matches!(verdict.get_untracked(), Verdict::Alarm { .. }) {
                    alarm(&e);
                }
            }
        });
    }

    let forget_key = move || forget_and_reload(&key_memory_store.get_value());
    let size = move || digest.with(|d| d.as_ref().map(|d| d.checkpoint.size));
    // What the digest card shows before (or instead of) a verified digest.
    let none = move || {
        if matches!(verdict.get(), Verdict::Alarm { .. }) {
            "not verified"
        } else {
            "…"
        }
    };
    let stale_evidence = move || {
        let d = digest.get()?;
        let signed = d.checkpoint.signed_time? as f64;
        let cadence = d.cadence_seconds.map(|c| c as f64);
        let limit = model::stale_after(cadence, max_age.get());
        let age = now_secs() - signed;
        let stale = model::freshness(Some(age), cadence, max_age.get());
        matches!(stale, Freshness::Stale(_)).then(|| {
            serde_json::json!({
                "code": "STALE",
                "message": format!("the newest digest was signed {} s ago; stale after {} s", age as u64, limit as u64),
                "evidence": {"checkpoint": d.checkpoint.note, "signedTime": signed, "checkedAt": now_secs().floor(), "staleAfterSeconds": limit},
            })
        })
    };
    let banner = move || {
        tick.get();
        if let (Verdict::Verified, Some(v)) = (verdict.get(), stale_evidence()) {
            let href = evidence_url(&v);
            return view! {
                <section class="banner alarm" role="alert" data-code="STALE">
                    <span class="icon" aria-hidden="true">"⚠"</span>
                    <div>
                        <h1>{model::alarm_title("STALE")}</h1>
                        <p id="alarm-text">{model::alarm_explanation("STALE", None)}</p>
                        <p class="detail"><code>{v["message"].as_str().unwrap_or("").to_owned()}</code></p>
                        {href.map(|h| view! { <p><a class="button" href=h download="liveledger-evidence.json">"Download the evidence"</a></p> })}
                    </div>
                </section>
            }
            .into_any();
        }
        match verdict.get() {
        Verdict::Pending => view! {
            <section class="banner pending" role="status" aria-live="polite">
                <span class="icon" aria-hidden="true">"…"</span>
                <div><h1>"Verifying"</h1><p>"Checking every signature, event and hash in your browser."</p></div>
            </section>
        }
        .into_any(),
        Verdict::Verified => view! {
            <section class="banner ok" role="status" aria-live="polite"
                data-level=move || digest.with(|d| d.as_ref().map(|d| d.level).unwrap_or_default())>
                <span class="icon" aria-hidden="true">"✔"</span>
                <div>
                    <h1>"Verified"</h1>
                    <p id="verdict-text">{move || format!("All {} events are signed, chained and included in the signed digest.", size().unwrap_or(0))}</p>
                </div>
            </section>
        }
        .into_any(),
        Verdict::Alarm { code, message, evidence, segment } => view! {
            <section class="banner alarm" role="alert" data-code=code.clone() data-segment=segment.map(|s| s.to_string())>
                <span class="icon" aria-hidden="true">"⚠"</span>
                <div>
                    <h1>{model::alarm_title(&code)}</h1>
                    <p id="alarm-text">{model::alarm_explanation(&code, segment)}</p>
                    <p class="detail"><code>{message}</code></p>
                    {evidence.map(|href| view! { <p><a class="button" href=href download="liveledger-evidence.json">"Download the evidence"</a></p> })}
                    {(code == "KEY_CHANGED").then(|| view! {
                        <p><button class="secondary" on:click=move |_| forget_key()>"The operator announced a new key: forget the old one"</button></p>
                    })}
                </div>
            </section>
        }
        .into_any(),
    }
    };

    let fresh = move || {
        tick.get();
        let (signed, cadence) = digest.with(|d| {
            d.as_ref().map_or((None, None), |d| {
                (d.checkpoint.signed_time, d.cadence_seconds)
            })
        });
        model::freshness(
            signed.map(|t| now_secs() - t as f64),
            cadence.map(|c| c as f64),
            max_age.get(),
        )
    };

    view! {
        <header>
            <div class="brand">"Live Ledger"</div>
            <div class="where"><code>{url.clone()}</code></div>
        </header>
        <main>
            {banner}
            <section class="card" aria-labelledby="digest-h">
                <h2 id="digest-h">"Signed digest"</h2>
                <dl>
                    <dt>"Ledger"</dt><dd><code>{move || digest.with(|d| d.as_ref().map_or(none().to_owned(), |d| d.checkpoint.origin.clone()))}</code></dd>
                    <dt>"Events"</dt><dd id="size">{move || size().map_or(none().to_owned(), |s| s.to_string())}</dd>
                    <dt>"Root"</dt><dd><code>{move || digest.with(|d| d.as_ref().map_or(none().to_owned(), |d| d.checkpoint.root.clone()))}</code></dd>
                    <dt>"Signed by"</dt><dd>{move || digest.with(|d| model::signers(d.as_ref().map(|d| &d.checkpoint)))}</dd>
                    <dt>"Witnesses"</dt><dd id="witnesses">{move || {
                        digest.with(|d| d.as_ref().map_or("…".to_owned(), |d| model::witness_words(d.witnesses.as_ref())))
                    }}</dd>
                    <dt>"Age"</dt>
                    <dd>{move || match fresh() {
                        Freshness::Unknown => view! { <span>"no signed time"</span> }.into_any(),
                        Freshness::Fresh(s) => view! { <span class="tag ok">{format!("fresh · signed {s} s ago")}</span> }.into_any(),
                        Freshness::Stale(s) => view! { <span class="tag alarm">{format!("stale · signed {s} s ago, beyond the published cadence or your maximum")}</span> }.into_any(),
                    }}</dd>
                    <dt><label for="max-age">"Your maximum"</label></dt>
                    <dd>
                        <input id="max-age" class="short" type="number" min="1" step="1" placeholder="minutes"
                            prop:value=move || max_age.get().map(|m| format!("{:.2}", m / 60.0).trim_end_matches('0').trim_end_matches('.').to_owned()).unwrap_or_default()
                            on:change=move |e| {
                                let v = event_target_value(&e).trim().parse::<u64>().ok().filter(|m| *m > 0).map(|m| m as f64 * 60.0);
                                if let Some(st) = storage() {
                                    let k = max_age_memory.get_value();
                                    let _ = match v { Some(sec) => st.set_item(&k, &(sec.round() as u64).to_string()), None => st.remove_item(&k) };
                                }
                                set_max_age.set(v);
                            } />
                        " minutes: a digest older than this is an alarm, even within the ledger's own cadence"
                    </dd>
                    <dt>"Trust"</dt><dd>{move || match trust.get().as_str() {
                        "pinned" if pinned_here => "log key pinned in this browser on your first visit".to_owned(),
                        "pinned" => "log key pinned by the link you followed".to_owned(),
                        "metadata" => "log key from the ledger's own metadata (trust on first use)".to_owned(),
                        _ => "…".to_owned(),
                    }}</dd>
                </dl>
                {move || memory_note.get().map(|m| view! { <p class="muted" id="memory-note">{m}</p> })}
                {move || resumed_from.get().map(|_| view! {
                    <p><button id="full-audit" on:click=move |_| forget_and_reload(&resume_store.get_value())>"Verify every event again"</button></p>
                })}
            </section>
            <section class="card" aria-labelledby="audit-h">
                <h2 id="audit-h">"Full audit"</h2>
                <progress max=move || progress.get().size.max(1) value=move || progress.get().entries></progress>
                <p class="muted">{move || progress.get().describe()}</p>
                <p class="muted" id="engine">{move || digest.with(|d| d.as_ref().and_then(|d| d.signature_engine.as_deref()).map(model::engine_words).unwrap_or_default())}</p>
                <div class="heatmap" role="img" aria-label=move || model::heatmap_label(&cells.get())>
                    // Keyed by what its title says (model::DrawnCell): a draw changes only
                    // the cells that changed; at most model::MAX_CELLS of them.
                    <For
                        each=move || cells.with(|cs| model::heatmap_cells(cs))
                        key=|k| *k
                        let((i, c, per, span))
                    >
                        <span class=format!("cell {}", c.class()) title=model::cell_title(i, per, span, c)></span>
                    </For>
                </div>
                <p class="legend muted"><span class="cell verified"></span>" verified "<span class="cell pending"></span>" pending "<span class="cell failed"></span>{move || cells.with(|cs| model::heatmap_legend(model::segments_per_cell(cs.len())))}</p>
            </section>
            <explorer::Explorer window=events index=explorer::IndexView { db, covered, note: index_note } feed=feed />
            <OneEvent url=url.clone() keys=verified_keys />
            <Receipt />
            <section class="card" aria-labelledby="live-h">
                <h2 id="live-h">"Live"</h2>
                <p id="live-text">{move || match (first_size.get(), size()) {
                    (Some(a), Some(b)) if b > a => format!("Following: {} new events verified since you opened this page.", b - a),
                    (Some(_), Some(_)) => "Following: new digests are verified as they are published.".to_owned(),
                    _ => "Waiting for the first verified digest.".to_owned(),
                }}</p>
            </section>
            <history::History url=url.clone() keys=verified_keys on_alarm=Callback::new(move |e: LedgerError| alarm(&e)) />
        </main>
    }
}

/// Verify one event by inclusion proof: a few small fetches, no full audit.
#[component]
fn OneEvent(url: String, keys: ReadSignal<Option<Vec<String>>>) -> impl IntoView {
    let (seq, set_seq) = signal(String::new());
    let (result, set_result) = signal(None::<Result<EntryResult, String>>);
    let url = StoredValue::new(url);
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(n) = seq.get_untracked().trim().parse::<u64>() else {
            set_result.set(Some(Err("enter an event number".into())));
            return;
        };
        set_result.set(None);
        // The keys the page's audit verified with: the same trust, and no metadata fetch.
        let opts = verifier_options(&keys.get_untracked().unwrap_or_default());
        spawn_local(async move {
            let r = match opts {
                Ok(opts) => liveledger_wasm::verify_entry(&url.get_value(), n, &opts).await,
                Err(e) => Err(e),
            };
            set_result.set(Some(r.map_err(|e| e.message)));
        });
    };
    view! {
        <section class="card" aria-labelledby="one-h">
            <h2 id="one-h">"Verify one event"</h2>
            <form on:submit=check class="row">
                <label for="one-seq">"Event number"</label>
                <input id="one-seq" inputmode="numeric" prop:value=seq on:input=move |e| set_seq.set(event_target_value(&e)) />
                <button type="submit">"Verify"</button>
            </form>
            {move || result.get().map(|r| match r {
                Ok(v) => {
                    let receipt = v.receipt.clone();
                    let href = evidence_text_url(&receipt);
                    view! {
                        <div id="one-result" class="result ok">
                            <p>{format!("✔ Event {} is in the signed ledger of {} events ({} requests, {} bytes).",
                                v.index, v.checkpoint.size, v.requests, v.bytes)}</p>
                            <pre>{serde_json::to_string_pretty(&v.event).unwrap_or_default()}</pre>
                            {href.map(|h| view! { <a href=h download="event.tlog-proof">"Download the receipt"</a> })}
                            <textarea id="one-receipt" readonly aria-label="receipt" prop:value=receipt></textarea>
                        </div>
                    }.into_any()
                }
                Err(m) => view! { <p id="one-result" class="result alarm">{format!("⚠ {m}")}</p> }.into_any(),
            })}
        </section>
    }
}

/// Verify a receipt (C2SP tlog-proof with its entry) with no network at all.
#[component]
fn Receipt() -> impl IntoView {
    let (text, set_text) = signal(String::new());
    let (key, set_key) = signal(String::new());
    let (result, set_result) = signal(None::<Result<EntryResult, String>>);
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let keys = [key.get_untracked().trim().to_owned()];
        let r = liveledger_wasm::verify_receipt(&text.get_untracked(), &keys, None);
        set_result.set(Some(r.map_err(|e| e.to_string())));
    };
    view! {
        <section class="card" aria-labelledby="receipt-h">
            <h2 id="receipt-h">"Verify a receipt"</h2>
            <p class="muted">"Paste or drop a receipt (c2sp.org/tlog-proof), or choose its file, and give the ledger's log key. Nothing is fetched: the check runs on what you give it."</p>
            <form on:submit=check>
                <label for="receipt-text">"Receipt"</label>
                <textarea id="receipt-text" rows="6" prop:value=text on:input=move |e| set_text.set(event_target_value(&e))
                    on:dragover=move |e: leptos::ev::DragEvent| e.prevent_default()
                    on:drop=move |e: leptos::ev::DragEvent| {
                        e.prevent_default();
                        if let Some(f) = e.data_transfer().and_then(|d| d.files()).and_then(|l| l.get(0)) {
                            read_into(f, set_text);
                        }
                    }></textarea>
                <label for="receipt-file">"…or its file"</label>
                <input id="receipt-file" type="file" accept=".tlog-proof,.txt,text/plain"
                    on:change=move |e| {
                        let input: web_sys::HtmlInputElement = event_target(&e);
                        if let Some(f) = input.files().and_then(|l| l.get(0)) {
                            read_into(f, set_text);
                        }
                    } />
                <label for="receipt-key">"Log key"</label>
                <input id="receipt-key" prop:value=key on:input=move |e| set_key.set(event_target_value(&e)) />
                <button type="submit">"Verify offline"</button>
            </form>
            {move || result.get().map(|r| match r {
                Ok(v) => view! { <p id="receipt-result" class="result ok">{format!("✔ Entry {} is in the ledger {} at size {}, signed by its key.",
                    v.index, v.checkpoint.origin, v.checkpoint.size)}</p> }.into_any(),
                Err(m) => view! { <p id="receipt-result" class="result alarm">{format!("⚠ {m}")}</p> }.into_any(),
            })}
        </section>
    }
}

/// Reads a file the visitor chose or dropped into `set` (receipts are small text; a file
/// over 1 MiB is refused with a message instead of being read).
fn read_into(f: web_sys::File, set: WriteSignal<String>) {
    if f.size() > 1_048_576.0 {
        set.set(format!(
            "(not read: {} is {} bytes; a receipt is a few kB)",
            f.name(),
            f.size() as u64
        ));
        return;
    }
    spawn_local(async move {
        if let Ok(t) = wasm_bindgen_futures::JsFuture::from(f.text()).await {
            set.set(t.as_string().unwrap_or_default());
        }
    });
}

/// A download link for text.
fn evidence_text_url(text: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/plain");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}
