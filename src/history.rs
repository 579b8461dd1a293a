//! The digest history: every archived digest, checked for its signature and for
//! consistency with the one before it (`verifyHistory` of liveledger-wasm).

use js_sys::Reflect;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use crate::model;

/// Archived digests checked by default (the newest).
pub const LIMIT: u32 = 100;

/// Runs the history check once `keys` (the keys the page's audit verified with) are
/// known, and again on request. A failure is also raised as the page's alarm.
#[component]
pub fn History(
    url: String,
    keys: ReadSignal<Option<Vec<String>>>,
    on_alarm: Callback<Value>,
) -> impl IntoView {
    let (result, set_result) = signal(None::<Result<Value, String>>);
    let (running, set_running) = signal(false);
    let url = StoredValue::new(url);
    let run = move || {
        let Some(k) = keys.get_untracked() else {
            return;
        };
        set_running.set(true);
        spawn_local(async move {
            let opts = crate::verifier_options(&k);
            let _ = Reflect::set(&opts, &"limit".into(), &LIMIT.into());
            let r = liveledger_wasm::verify_history(url.get_value(), opts.into()).await;
            let r = r.map(|v| crate::json(&v)).map_err(|e| {
                let code = Reflect::get(&e, &"code".into())
                    .ok()
                    .and_then(|c| c.as_string())
                    .unwrap_or_default();
                if code == "NOT_FOUND" {
                    "This ledger publishes no digest archive (digests/index.txt).".to_owned()
                } else {
                    let m = Reflect::get(&e, &"message".into())
                        .ok()
                        .and_then(|c| c.as_string())
                        .unwrap_or_default();
                    format!("The archive could not be checked: {m}")
                }
            });
            if let Ok(v) = &r {
                if v["verified"] == Value::Bool(false) {
                    // The alarm is the core's (`verdict::history_alarm`): a fork, a
                    // rollback, or a damaged archive.
                    let mut f = v["failure"].clone();
                    f["code"] = f["alarm"].clone();
                    on_alarm.run(f);
                }
            }
            set_result.set(Some(r));
            set_running.set(false);
        });
    };
    // The first check starts as soon as the page has verified a digest.
    let started = StoredValue::new(false);
    Effect::new(move |_| {
        if keys.get().is_some() && !started.get_value() {
            started.set_value(true);
            run();
        }
    });
    view! {
        <section class="card" aria-labelledby="history-h">
            <h2 id="history-h">"Digest history"</h2>
            <p class="muted">"Every digest this ledger published is archived. Each is checked here: its signature, and that it extends the one before it (a consistency proof from the ledger's tiles)."</p>
            {move || match result.get() {
                None => view! { <p class="muted">{move || if running.get() { "Checking the archive…" } else { "Waiting for the first verified digest." }}</p> }.into_any(),
                Some(Err(m)) => view! { <p id="history-summary" class="muted">{m}</p> }.into_any(),
                Some(Ok(v)) => view! { <HistoryView result=v /> }.into_any(),
            }}
            <p>
                <button class="secondary" disabled=move || running.get() || keys.get().is_none() on:click=move |_| run()>"Check again"</button>
                " "<a href=format!("{}digests/index.html", url.get_value())>"The archive's own pages"</a>
            </p>
        </section>
    }
}

/// A `verifyHistory` result as a summary and a table, newest first.
#[component]
pub fn HistoryView(result: Value) -> impl IntoView {
    let ok = result["verified"] == Value::Bool(true);
    let rows = model::history_rows(&result);
    view! {
        <p id="history-summary" class=if ok { "result ok" } else { "result alarm" }>{model::history_summary(&result)}</p>
        <div class="table-wrap">
            <table id="history-table">
                <thead><tr><th>"Events"</th><th>"Signed (UTC)"</th><th>"Root"</th><th>"Check"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr class=if r.ok { "ok" } else { "failed" }>
                            <td>{r.size}</td>
                            <td>{r.signed}</td>
                            <td><code>{r.root.chars().take(16).collect::<String>()}</code></td>
                            <td>{r.check}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
