//! `/metrics` (Prometheus text): the process's recorder, installed once when metrics are
//! first served. The HTTP stack describes its own series here; every other part (the
//! witness, ingest) describes its own, handed in as `Options::metrics_of`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, Response};
use axum::Router;

/// `/metrics`, rendered from the process's recorder (installed now, and `metrics_of`
/// describing their series to it), with the ledger gauges of `root`'s checkpoint read at
/// each scrape.
pub fn router(root: Option<PathBuf>, metrics_of: &[fn()]) -> Router {
    let handle = handle();
    for describe in metrics_of {
        describe();
    }
    let render = move || {
        let h = handle.clone();
        let root = root.clone();
        async move {
            if let Some(root) = &root {
                ledger_gauges(root);
            }
            let mut r = Response::new(Body::from(h.render()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
    };
    Router::new().route("/metrics", axum::routing::get(render))
}

/// The process's metrics recorder (installed once).
fn handle() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let b = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(crate::observe::DURATION.into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0,
                    ],
                )
                .unwrap_or_else(|_| metrics_exporter_prometheus::PrometheusBuilder::new());
            let recorder = b.build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            describe();
            // Histograms are drained into their buckets by upkeep.
            let h = handle.clone();
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                h.run_upkeep();
            });
            handle
        })
        .clone()
}

/// The ledger's own gauges, read from its files when `/metrics` is scraped.
pub const LEDGER_SIZE: &str = "liveledger_ledger_size";
pub const CHECKPOINT_AGE: &str = "liveledger_checkpoint_age_seconds";
pub const PUBLISH_SECONDS: &str = "liveledger_publish_duration_seconds";
pub const APPENDED: &str = "liveledger_api_events_appended_total";
pub const API_REFUSED: &str = "liveledger_api_requests_refused_total";

/// The HTTP stack's own series, and the append API's.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        crate::observe::REQUESTS,
        "HTTP requests answered, by route class and status"
    );
    describe_histogram!(
        crate::observe::DURATION,
        Unit::Seconds,
        "time from a request's arrival to the end of its response body, by route class"
    );
    describe_counter!(
        crate::observe::BYTES,
        Unit::Bytes,
        "response body bytes sent, by route class"
    );
    describe_counter!(crate::observe::CONNECTIONS, "connections accepted");
    describe_gauge!(crate::observe::OPEN, "connections open");
    describe_counter!(
        crate::observe::IDLE_CLOSED,
        "connections closed for idling or for sending no request head in time"
    );
    describe_counter!(
        crate::observe::SHED,
        "requests refused with 503 at the in-flight limit"
    );
    describe_gauge!(LEDGER_SIZE, "entries in the published checkpoint");
    describe_gauge!(
        CHECKPOINT_AGE,
        Unit::Seconds,
        "age of the published checkpoint's signed time"
    );
    describe_gauge!(
        PUBLISH_SECONDS,
        Unit::Seconds,
        "duration of the last append and publish made through the API"
    );
    describe_counter!(APPENDED, "events appended through the API, by token");
    describe_counter!(API_REFUSED, "append requests refused, by reason");
}

/// Sets the ledger gauges from the checkpoint on disk (signature checked with the
/// metadata's keys, as a verifier on first use would; a checkpoint that does not open
/// leaves them unset).
fn ledger_gauges(root: &Path) {
    use liveledger_core::trust::{Trust, TrustRequest};
    let meta = std::fs::read(root.join(liveledger_core::layout::METADATA)).ok();
    let Ok(trust) = Trust::establish(&TrustRequest::default(), meta.as_deref()) else {
        return;
    };
    let Ok(cp) = std::fs::read(root.join(liveledger_core::layout::CHECKPOINT)) else {
        return;
    };
    let Ok(cp) = trust.open_checkpoint(&cp) else {
        return;
    };
    metrics::gauge!(LEDGER_SIZE).set(cp.size() as f64);
    let signed = cp
        .note()
        .verified()
        .iter()
        .filter_map(|v| v.timestamp)
        .max();
    if let Some(t) = signed {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        metrics::gauge!(CHECKPOINT_AGE).set(now.saturating_sub(t) as f64);
    }
}
