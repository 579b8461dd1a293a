//! The options object: what JS callers pass (`keys`, `origin`, `level`, `policy`, `since`,
//! `signal`, …), read into the core's `TrustRequest` and friends. The trust rules
//! themselves are the core's (`liveledger_core::trust`).

use super::*;

pub(crate) fn opt_get(o: &JsValue, k: &str) -> Option<JsValue> {
    if o.is_undefined() || o.is_null() {
        return None;
    }
    Reflect::get(o, &k.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

pub(crate) fn aborted(opts: &JsValue) -> bool {
    opt_get(opts, "signal")
        .and_then(|s| Reflect::get(&s, &"aborted".into()).ok())
        .and_then(|a| a.as_bool())
        .unwrap_or(false)
}

/// What the options and the ledger's metadata say about trust: the core's rules
/// ([`liveledger_core::trust`]), fed with the options and the fetched metadata.
pub(crate) async fn trust(f: &Fetcher, opts: &JsValue) -> Result<Trust, JsValue> {
    trust_with(f, opts, true).await
}

/// The options as a [`TrustRequest`].
pub(crate) fn trust_request(opts: &JsValue) -> Result<TrustRequest, JsValue> {
    let keys: Vec<String> = match opt_get(opts, "keys") {
        None => Vec::new(),
        Some(k) if js_sys::Array::is_array(&k) => js_sys::Array::from(&k)
            .iter()
            .map(|x| {
                x.as_string()
                    .ok_or_else(|| error(Code::BadInput, "keys must be strings", None))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(error(
                Code::BadInput,
                "keys must be an array of verifier key strings",
                None,
            ))
        }
    };
    let level = match opt_get(opts, "level").map(|l| l.as_string()) {
        None => None,
        Some(Some(l)) if l == "ledger" => Some(Level::Ledger),
        Some(Some(l)) if l == "log" => Some(Level::Log),
        Some(other) => {
            return Err(error(
                Code::BadInput,
                &format!("level must be \"ledger\" or \"log\"; found {other:?}"),
                None,
            ))
        }
    };
    let policy = match opt_get(opts, "policy").map(|p| p.as_string()) {
        None => None,
        Some(Some(text)) => Some(
            liveledger_core::policy::Policy::parse(text.as_bytes())
                .map_err(|e| error(Code::BadInput, &format!("policy: {e}"), None))?,
        ),
        Some(None) => {
            return Err(error(
                Code::BadInput,
                "policy must be the text of a C2SP tlog-policy file",
                None,
            ))
        }
    };
    Ok(TrustRequest {
        pinned: parse_keys(&keys)?,
        origin: opt_get(opts, "origin").and_then(|o| o.as_string()),
        level,
        policy,
    })
}

/// [`trust`]; without `metadata`, pinned keys are used as they are and the metadata is
/// not fetched (one request less where nothing from it is needed).
pub(crate) async fn trust_with(
    f: &Fetcher,
    opts: &JsValue,
    metadata: bool,
) -> Result<Trust, JsValue> {
    let req = trust_request(opts)?;
    let fetched = if metadata || req.pinned.is_empty() {
        // Every caller fetches the checkpoint next; it does not wait for the metadata.
        f.keep_ahead(&["checkpoint".into()], true);
        f.get("metadata", true).await?
    } else {
        None
    };
    Trust::establish(&req, fetched.as_deref()).map_err(|e| trust_error(e, "metadata"))
}

/// The `since` option: the checkpoint this verifier trusted before, verified with the
/// same trust as the log's (`BAD_SINCE` if it does not verify: the caller's to handle).
pub(crate) fn since_checkpoint(
    t: &Trust,
    opts: &JsValue,
) -> Result<Option<VerifiedCheckpoint>, JsValue> {
    let Some(since) = opt_get(opts, "since").and_then(|s| s.as_string()) else {
        return Ok(None);
    };
    t.open_past_checkpoint(since.as_bytes())
        .map(Some)
        .map_err(|e| error(Code::BadSince, &format!("since: {e}"), None))
}

pub(crate) fn parse_keys(keys: &[String]) -> Result<Vec<VerifierKey>, JsValue> {
    keys.iter()
        .map(|k| {
            VerifierKey::parse(k.trim())
                .map_err(|e| error(Code::BadInput, &format!("key {k:?}: {e}"), None))
        })
        .collect()
}

/// Parses trusted keys; the origin defaults to the first key's name.
pub(crate) fn keys_and_origin(
    keys: &[String],
    origin: Option<String>,
) -> Result<(Vec<VerifierKey>, String), JsValue> {
    let keys = parse_keys(keys)?;
    let origin = origin.unwrap_or_else(|| {
        keys.first()
            .map(|k| k.name().to_owned())
            .unwrap_or_default()
    });
    Ok((keys, origin))
}

pub(crate) async fn fetch_checkpoint(
    f: &Fetcher,
    t: &Trust,
) -> Result<VerifiedCheckpoint, JsValue> {
    let b = f.require("checkpoint", true).await?;
    open_checkpoint(&b, t, "checkpoint")
}

/// Verifies a signed checkpoint under the trust (`what` names it in errors): see
/// [`Trust::open_checkpoint`].
pub(crate) fn open_checkpoint(
    b: &[u8],
    t: &Trust,
    what: &str,
) -> Result<VerifiedCheckpoint, JsValue> {
    t.open_checkpoint(b).map_err(|e| trust_error(e, what))
}
