//! The digest history: every archived digest, checked for its signature and for
//! consistency with the one before it (`verify_history` of liveledger-wasm).

use leptos::prelude::*;
use leptos::task::spawn_local;
use liveledger_core::verdict::Code;
use liveledger_wasm::{HistoryResult, LedgerError, Options};

use crate::model;

/// Archived digests checked by default (the newest).
pub const LIMIT: usize = 100;

/// Runs the history check once `keys` (the keys the page's audit verified with) are
/// known, and again on request. A failure is also raised as the page's alarm.
#[component]
pub fn History(
    url: String,
    keys: ReadSignal<Option<Vec<String>>>,
    on_alarm: Callback<LedgerError>,
) -> impl IntoView {
    let (result, set_result) = signal(None::<Result<HistoryResult, String>>);
    let (running, set_running) = signal(false);
    let url = StoredValue::new(url);
    let run = move || {
        let Some(k) = keys.get_untracked() else {
            return;
        };
        set_running.set(true);
        spawn_local(async move {
            let r = match crate::verifier_options(&k) {
                Ok(opts) => {
                    let opts = Options {
                        limit: LIMIT,
                        ..opts
                    };
                    liveledger_wasm::verify_history(&url.get_value(), &opts).await
                }
                Err(e) => Err(e),
            };
            let r = r.map_err(|e| {
                if e.code == Code::NotFound {
                    "This ledger publishes no digest archive (digests/index.txt).".to_owned()
                } else {
                    format!("The archive could not be checked: {}", e.message)
                }
            });
            if let Ok(HistoryResult {
                failure: Some(f), ..
            }) = &r
            {
                // The alarm is the core's (`verdict::history_alarm`): a fork, a
                // rollback, or a damaged archive.
                on_alarm.run(LedgerError {
                    code: f.alarm,
                    message: f.message.clone(),
                    evidence: Some(f.evidence.clone()),
                });
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
pub fn HistoryView(result: HistoryResult) -> impl IntoView {
    let ok = result.verified;
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
