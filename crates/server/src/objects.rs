//! `serve` for a ledger whose published tree is in an object store: each request for a
//! published path is answered from the bucket, with the same content types and
//! Cache-Control as files on disk (`core::layout`), the object's
//! ETag, and 304 for a matching `If-None-Match`. GET and HEAD only; no ranges (a verifier
//! never asks for one); hidden and `..` paths are 404, as on disk.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, Response, StatusCode};
use axum::Router;
use object_store::GetOptions;

use liveledger_core::layout::Published;
use liveledger_store::Bucket;

/// Serves `bucket`'s published tree.
pub fn router(bucket: Arc<Bucket>) -> Router {
    Router::new().fallback(move |req: Request<Body>| {
        let b = bucket.clone();
        async move { answer(&b, req).await }
    })
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The published path a request names, if it may name one.
fn published_path(uri_path: &str) -> Option<String> {
    let rel = uri_path.strip_prefix('/')?;
    let hidden = rel
        .split('/')
        .enumerate()
        .any(|(i, s)| s.starts_with('.') || (s.is_empty() && i + 1 < rel.split('/').count()));
    if hidden || rel.contains(['%', '\\']) {
        return None;
    }
    Some(match rel.is_empty() || rel.ends_with('/') {
        true => format!("{rel}index.html"),
        false => rel.to_owned(),
    })
}

async fn answer(b: &Bucket, req: Request<Body>) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    if !head && req.method() != Method::GET {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n".into(),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(rel) = published_path(req.uri().path()) else {
        return text(StatusCode::NOT_FOUND, "not found\n".into());
    };
    let opts = GetOptions {
        if_none_match: req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        head,
        ..Default::default()
    };
    let cache = liveledger_core::layout::Published::classify(&rel)
        .lifetime()
        .cache_control();
    let got = b.store().get_opts(&b.path(&rel), opts).await;
    let (status, etag, body, len) = match got {
        Ok(g) => {
            let etag = g.meta.e_tag.clone();
            let len = g.meta.size;
            let body = match head {
                true => Body::empty(),
                false => match g.bytes().await {
                    Ok(bytes) => Body::from(bytes),
                    Err(e) => {
                        return text(StatusCode::BAD_GATEWAY, format!("the object store: {e}\n"))
                    }
                },
            };
            (StatusCode::OK, etag, body, Some(len))
        }
        Err(object_store::Error::NotModified { .. }) => (
            StatusCode::NOT_MODIFIED,
            req.headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            Body::empty(),
            None,
        ),
        Err(object_store::Error::NotFound { .. }) => {
            return text(StatusCode::NOT_FOUND, "not found\n".into())
        }
        Err(e) => return text(StatusCode::BAD_GATEWAY, format!("the object store: {e}\n")),
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(Published::content_type(&rel)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Some(v) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        h.insert(header::ETAG, v);
    }
    if let (Some(n), true) = (len, head) {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::published_path;

    #[test]
    fn only_published_paths_are_asked_of_the_bucket() {
        assert_eq!(published_path("/").as_deref(), Some("index.html"));
        assert_eq!(published_path("/tile/0/000").as_deref(), Some("tile/0/000"));
        assert_eq!(
            published_path("/digests/").as_deref(),
            Some(liveledger_core::layout::DIGEST_PAGES)
        );
        for hidden in [
            "/.liveledger/lease",
            "/a/../b",
            "/a//b",
            "/%2e%2e/x",
            "/tile/.x",
        ] {
            assert_eq!(published_path(hidden), None, "{hidden}");
        }
    }
}
