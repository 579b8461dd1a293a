//! Options: what callers ask for (`keys`, `origin`, `level`, `policy`, `since`, the
//! callbacks, …) as [`Options`], read from a JS object at the edge, and into the core's
//! `TrustRequest` and friends. The trust rules
//! themselves are the core's (`liveledger_core::trust`).

use super::*;

/// A caller's function, called with each `T` as it comes.
pub type Callback<T> = Box<dyn Fn(&T)>;

/// What a call is asked to do: every option of the module's `LedgerOptions`,
/// `FollowOptions` and `HistoryOptions`, typed. JS callers' objects are read into it
/// once, at the edge ([`Options::from_js`]); the page builds it in Rust, with Rust
/// callbacks.
pub struct Options {
    /// Trusted log keys (`name+hash+base64`); none: the metadata is trusted on first use.
    pub keys: Vec<String>,
    pub origin: Option<String>,
    pub level: Option<Level>,
    /// A C2SP tlog-policy whose quorum every checkpoint must meet, instead of the
    /// metadata's.
    pub policy: Option<liveledger_core::policy::Policy>,
    /// Compare every hash tile too (default true).
    pub check_tiles: bool,
    /// Deadline per request, body included (ms).
    pub timeout_ms: f64,
    pub signatures: Signatures,
    /// A signed checkpoint verified before, which the one served now must extend.
    pub since: Option<String>,
    /// Ask the policy's witnesses what they hold (default true).
    pub witness_check: bool,
    /// An earlier audit's resume point.
    pub resume: Option<String>,
    /// `verifyHistory`: the newest digests to check (default 100).
    pub limit: usize,
    /// `follow`: how often to poll the checkpoint (ms, default 5000, at least 100).
    pub interval_ms: f64,
    /// Whether the caller has given up (an `AbortSignal`'s `aborted`).
    pub aborted: Option<Box<dyn Fn() -> bool>>,
    pub on_progress: Option<Callback<Progress>>,
    /// Each event once verified (chain, author, signature).
    pub on_event: Option<Callback<VerifiedEvent>>,
    pub on_digest: Option<Callback<AuditResult>>,
    pub on_alarm: Option<Callback<LedgerError>>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            keys: Vec::new(),
            origin: None,
            level: None,
            policy: None,
            check_tiles: true,
            timeout_ms: FETCH_TIMEOUT_MS,
            signatures: Signatures::Auto,
            since: None,
            witness_check: true,
            resume: None,
            limit: 100,
            interval_ms: 5000.0,
            aborted: None,
            on_progress: None,
            on_event: None,
            on_digest: None,
            on_alarm: None,
        }
    }
}

/// Where event signatures are checked (`signatures`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Signatures {
    /// WebCrypto, in Web Workers where possible, once it passes a self test.
    #[default]
    Auto,
    /// WebCrypto on this thread.
    WebCrypto,
    /// `verify_strict` for everything.
    Wasm,
}

impl Options {
    /// The options of a JS call (`undefined` or `null`: the defaults). A value of the
    /// wrong type is `BAD_INPUT`, naming the option, what it must be and what was found.
    pub fn from_js(o: &JsValue) -> Result<Options, LedgerError> {
        let mut opts = Options::default();
        if o.is_undefined() || o.is_null() {
            return Ok(opts);
        }
        let get = |k: &str| {
            Reflect::get(o, &k.into())
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_null())
        };
        let bad = |k: &str, want: &str, found: &JsValue| {
            // Written by JS (`JSON.stringify`), or its type: no Rust float formatter here.
            let found = js_sys::JSON::stringify(found)
                .ok()
                .and_then(|s| s.as_string())
                .filter(|s| s.len() <= 200)
                .unwrap_or_else(|| {
                    format!("a {}", found.js_typeof().as_string().unwrap_or_default())
                });
            error(
                Code::BadInput,
                &format!("{k} must be {want}, found {found}"),
                None,
            )
        };
        let string = |k: &str| -> Result<Option<String>, LedgerError> {
            get(k)
                .map(|v| v.as_string().ok_or_else(|| bad(k, "a string", &v)))
                .transpose()
        };
        let number = |k: &str| -> Result<Option<f64>, LedgerError> {
            get(k)
                .map(|v| v.as_f64().ok_or_else(|| bad(k, "a number", &v)))
                .transpose()
        };
        let boolean = |k: &str| -> Result<Option<bool>, LedgerError> {
            get(k)
                .map(|v| v.as_bool().ok_or_else(|| bad(k, "true or false", &v)))
                .transpose()
        };
        let function = |k: &str| -> Result<Option<Function>, LedgerError> {
            get(k)
                .map(|v| {
                    v.dyn_into::<Function>()
                        .map_err(|v| bad(k, "a function", &v))
                })
                .transpose()
        };
        if let Some(k) = get("keys") {
            if !js_sys::Array::is_array(&k) {
                return Err(bad("keys", "an array of verifier key strings", &k));
            }
            opts.keys = js_sys::Array::from(&k)
                .iter()
                .map(|x| x.as_string().ok_or_else(|| bad("keys", "strings", &x)))
                .collect::<Result<_, _>>()?;
        }
        opts.origin = string("origin")?;
        opts.level = match string("level")?.as_deref() {
            None => None,
            Some("ledger") => Some(Level::Ledger),
            Some("log") => Some(Level::Log),
            Some(other) => {
                return Err(bad("level", "\"ledger\" or \"log\"", &other.into()));
            }
        };
        if let Some(text) = get("policy") {
            let Some(text) = text.as_string() else {
                return Err(bad("policy", "the text of a C2SP tlog-policy file", &text));
            };
            opts.policy = Some(parse_policy(&text)?);
        }
        opts.check_tiles = boolean("checkTiles")?.unwrap_or(true);
        if let Some(t) = number("timeoutMs")?.filter(|t| *t > 0.0) {
            opts.timeout_ms = t;
        }
        opts.signatures = match string("signatures")?.as_deref() {
            None | Some("auto") => Signatures::Auto,
            Some("webcrypto") => Signatures::WebCrypto,
            Some("wasm") => Signatures::Wasm,
            Some(other) => {
                return Err(bad(
                    "signatures",
                    "\"auto\", \"webcrypto\" or \"wasm\"",
                    &other.into(),
                ));
            }
        };
        opts.since = string("since")?;
        opts.witness_check = boolean("witnessCheck")?.unwrap_or(true);
        opts.resume = string("resume")?;
        if let Some(l) = number("limit")?.filter(|v| *v >= 1.0) {
            opts.limit = l.min(1e6) as usize;
        }
        if let Some(i) = number("intervalMs")? {
            opts.interval_ms = i.max(100.0);
        }
        if let Some(signal) = get("signal") {
            opts.aborted = Some(Box::new(move || {
                Reflect::get(&signal, &"aborted".into())
                    .ok()
                    .and_then(|a| a.as_bool())
                    .unwrap_or(false)
            }));
        }
        // Callbacks get plain objects, made here (`to_js`), and errors as JS `Error`s.
        if let Some(f) = function("onProgress")? {
            opts.on_progress = Some(Box::new(move |p| {
                let _ = f.call1(&JsValue::NULL, &to_js(p));
            }));
        }
        if let Some(f) = function("onEvent")? {
            opts.on_event = Some(Box::new(move |ev| {
                let e = ev.event();
                let record = EventRecord {
                    seq: e.seq,
                    leaf_hash: ev.leaf_hash().to_hex(),
                    event: &e.object,
                };
                let _ = f.call1(&JsValue::NULL, &to_js(&record));
            }));
        }
        if let Some(f) = function("onDigest")? {
            opts.on_digest = Some(Box::new(move |d| {
                let _ = f.call1(&JsValue::NULL, &to_js(d));
            }));
        }
        if let Some(f) = function("onAlarm")? {
            opts.on_alarm = Some(Box::new(move |e| {
                let _ = f.call1(&JsValue::NULL, &JsValue::from(e.clone()));
            }));
        }
        Ok(opts)
    }

    /// Whether the caller has given up.
    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.as_ref().is_some_and(|a| a())
    }

    /// The options as a [`TrustRequest`].
    pub(crate) fn trust_request(&self) -> Result<TrustRequest, LedgerError> {
        Ok(TrustRequest {
            pinned: parse_keys(&self.keys)?,
            origin: self.origin.clone(),
            level: self.level,
            policy: self.policy.clone(),
        })
    }
}

/// A C2SP tlog-policy's text, for [`Options::policy`] (`BAD_INPUT` saying what is wrong).
pub fn parse_policy(text: &str) -> Result<liveledger_core::policy::Policy, LedgerError> {
    liveledger_core::policy::Policy::parse(text.as_bytes())
        .map_err(|e| error(Code::BadInput, &format!("policy: {e}"), None))
}

pub(crate) fn parse_keys(keys: &[String]) -> Result<Vec<VerifierKey>, LedgerError> {
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
) -> Result<(Vec<VerifierKey>, String), LedgerError> {
    let keys = parse_keys(keys)?;
    let origin = origin.unwrap_or_else(|| {
        keys.first()
            .map(|k| k.name().to_owned())
            .unwrap_or_default()
    });
    Ok((keys, origin))
}
