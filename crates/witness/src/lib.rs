//! `liveledger witness`: a C2SP tlog-witness anyone can run, on the project's HTTP stack.
//!
//! ```text
//! WDIR/                   mode 0700, never served
//!   witness.key           the Ed25519 cosigning key (cosignature/v1, Go's PRIVATE+KEY
//!                         form), 0600
//!   witness.vkey          its verifier key, name+id+base64(0x04 ‖ key)
//!   witness-mldsa.key     the ML-DSA-44 cosigning key (subtree/v1, type 0x06: the seed in
//!                         the same form), 0600; a directory made before it existed
//!                         cosigns with Ed25519 only
//!   witness-mldsa.vkey    its verifier key, name+id+base64(0x06 ‖ 1312-byte key)
//!   logs/<hex>            per log (hex = lowercase SHA-256 of its origin): the latest
//!                         checkpoint cosigned, with the log's signatures and ours
//!   evidence/<hex>/…      refused but validly signed submissions (forks, bad proofs,
//!                         conflicts), at most 1,000 per log
//!   lock                  held by the one serving process
//! ```
//!
//! Every accepted checkpoint gets both cosignatures, one line each, so a log's policy may
//! name either key. Every rule is `liveledger_core::witness`'s; this module holds the
//! state. For each
//! origin, the check and the update run under one lock, and the new state is durable
//! (written atomically and fsynced) before the answer: concurrent submissions cannot roll
//! it back, and `kill -9` at any instant loses nothing answered with 200.
//!
//! Routes (submission and monitoring prefix both `/`), with CORS so browsers can ask:
//! - `POST /add-checkpoint` — tlog-witness;
//! - `GET /<hex>/checkpoint` — the latest cosigned checkpoint of a log (monitoring read);
//! - `GET /witness.v0.json` — the witness's name, URLs and verifier key (the shape
//!   Sunlight's witnesses publish), and its logs with their sizes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use liveledger_core::hash::sha256;
use liveledger_core::note::{
    SignerKey, VerifierKey, ALG_COSIGNATURE_V1, ALG_ED25519, ALG_MLDSA44_SUBTREE,
};
use liveledger_core::witness::{self, Held, Refusal};
use serde_json::json;

use liveledger_store::process::random_seed;
use liveledger_store::{self as store, Error, Result};

/// The outcome of each add-checkpoint request, by `outcome` (`cosigned` or a refusal).
pub const REQUESTS: &str = "liveledger_witness_requests_total";

/// Describes the witness's series to the process's recorder (`serve`'s `metrics_of`).
pub fn describe_metrics() {
    metrics::describe_counter!(
        REQUESTS,
        "witness add-checkpoint requests, by outcome (cosigned, or why refused)"
    );
}

const MAX_EVIDENCE: usize = 1000;

/// A witness's two verifier keys.
pub struct Keys {
    /// Ed25519 cosignature/v1 (0x04).
    pub ed25519: VerifierKey,
    /// ML-DSA-44 subtree/v1 (0x06).
    pub mldsa: VerifierKey,
}

/// Creates a witness directory; returns its verifier keys.
pub fn init(wdir: &Path, name: &str) -> Result<Keys> {
    if wdir.join("witness.key").exists() {
        return Err(Error::Usage(format!(
            "{} already holds a witness key; init never overwrites one",
            wdir.display()
        )));
    }
    let key = SignerKey::from_seed(name, ALG_COSIGNATURE_V1, random_seed()?)
        .map_err(|e| Error::Usage(format!("witness name {name:?}: {e}")))?;
    let pq = SignerKey::from_seed(name, ALG_MLDSA44_SUBTREE, random_seed()?)
        .map_err(|e| Error::Usage(format!("witness name {name:?}: {e}")))?;
    for d in [wdir.to_path_buf(), wdir.join("logs"), wdir.join("evidence")] {
        store::create_private_dir(&d)?;
    }
    // The ML-DSA key first: `witness.key` is what marks a witness directory.
    store::write_secret(
        &wdir.join("witness-mldsa.key"),
        pq.to_secret_string().as_bytes(),
    )?;
    store::write_atomic(
        &wdir.join("witness-mldsa.vkey"),
        format!("{}\n", pq.verifier()).as_bytes(),
    )?;
    store::write_secret(&wdir.join("witness.key"), key.to_secret_string().as_bytes())?;
    let vkey = key.verifier();
    store::write_atomic(&wdir.join("witness.vkey"), format!("{vkey}\n").as_bytes())?;
    Ok(Keys {
        ed25519: vkey,
        mldsa: pq.verifier(),
    })
}

/// Reads a witness secret key of type `want` from `path`.
fn read_key(path: &Path, want: u8) -> Result<SignerKey> {
    let text = store::read_capped(path, 4096)?;
    let key = SignerKey::parse(String::from_utf8_lossy(&text).trim())
        .map_err(|e| Error::Corrupt(format!("{}: {e}", path.display())))?;
    if key.verifier().key_type() != want {
        return Err(Error::Corrupt(format!(
            "{}: expected a key of type {want:#04x}, found {:#04x}",
            path.display(),
            key.verifier().key_type()
        )));
    }
    Ok(key)
}

/// The hex name of a log's files and monitoring path.
pub fn origin_hex(origin: &str) -> String {
    sha256(origin.as_bytes()).to_hex()
}

/// One log's slot: its lock, and what it holds once loaded from disk (`None`: not
/// loaded yet; `Some(None)`: never cosigned).
type Slot = Arc<tokio::sync::Mutex<Option<Option<Held>>>>;

/// A witness, serving.
pub struct Witness {
    dir: PathBuf,
    key: SignerKey,
    /// The ML-DSA-44 key, when the directory has one.
    pq: Option<SignerKey>,
    logs: Vec<VerifierKey>,
    /// Per origin: its lock and what it holds (loaded from disk on first use).
    held: Mutex<HashMap<String, Slot>>,
    /// Its public URL (the submission and monitoring prefix), once known.
    pub url: std::sync::OnceLock<String>,
    _lock: std::fs::File,
}

impl Witness {
    /// Opens a witness directory for serving `logs` (their names are the origins).
    pub fn open(wdir: &Path, logs: Vec<VerifierKey>) -> Result<Witness> {
        let key_path = wdir.join("witness.key");
        if !key_path.exists() {
            return Err(Error::Usage(format!(
                "{} is not a witness directory; create one with `liveledger witness init`",
                wdir.display()
            )));
        }
        if logs.is_empty() {
            return Err(Error::Usage(
                "a witness needs at least one --log VKEY to witness".into(),
            ));
        }
        for k in &logs {
            if k.key_type() != ALG_ED25519 {
                return Err(Error::Usage(format!(
                    "--log {k}: expected an Ed25519 log key (type 0x01), found type {:#04x}",
                    k.key_type()
                )));
            }
        }
        let lock = store::lock(&wdir.join("lock"), &wdir.display().to_string())?;
        let key = read_key(&key_path, ALG_COSIGNATURE_V1)?;
        let pq_path = wdir.join("witness-mldsa.key");
        let pq = match pq_path.exists() {
            true => Some(read_key(&pq_path, ALG_MLDSA44_SUBTREE)?),
            false => None,
        };
        if pq.as_ref().is_some_and(|p| p.name() != key.name()) {
            return Err(Error::Corrupt(format!(
                "{}: its name is not {:?}, the witness's",
                pq_path.display(),
                key.name()
            )));
        }
        Ok(Witness {
            dir: wdir.to_path_buf(),
            key,
            pq,
            logs,
            held: Mutex::new(HashMap::new()),
            url: std::sync::OnceLock::new(),
            _lock: lock,
        })
    }

    /// The Ed25519 cosignature/v1 verifier key.
    pub fn verifier(&self) -> VerifierKey {
        self.key.verifier()
    }

    /// Every verifier key: Ed25519, then ML-DSA-44 if the witness has one.
    pub fn verifiers(&self) -> Vec<VerifierKey> {
        std::iter::once(&self.key)
            .chain(self.pq.as_ref())
            .map(SignerKey::verifier)
            .collect()
    }

    fn slot(&self, origin: &str) -> Slot {
        let mut m = self.held.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(origin.to_owned()).or_default().clone()
    }

    fn state_path(&self, origin: &str) -> PathBuf {
        self.dir.join("logs").join(origin_hex(origin))
    }

    /// What is held for `origin`, from disk (`None`: never cosigned).
    fn load(&self, origin: &str) -> Result<Option<Held>> {
        let p = self.state_path(origin);
        if !p.exists() {
            return Ok(None);
        }
        let bytes = store::read_capped(&p, 1 << 20)?;
        witness::held_from_note(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt(format!("{}: {e}", p.display())))
    }

    /// Keeps a refused submission that its log validly signed.
    fn keep_evidence(&self, origin: &str, outcome: &str, body: &[u8]) {
        let dir = self.dir.join("evidence").join(origin_hex(origin));
        let count = std::fs::read_dir(&dir).map_or(0, |d| d.count());
        if count >= MAX_EVIDENCE {
            return;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let _ = store::write_atomic(&dir.join(format!("{nanos}-{outcome}")), body);
    }

    /// Handles one add-checkpoint body: the status, content type and body to answer.
    pub async fn add_checkpoint(
        self: &Arc<Self>,
        body: &[u8],
    ) -> (StatusCode, &'static str, String) {
        let text = "text/plain; charset=utf-8";
        let refused = |r: &Refusal| {
            metrics::counter!(REQUESTS, "outcome" => r.outcome()).increment(1);
            let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
            match r {
                Refusal::Conflict { held, .. } => (status, "text/x.tlog.size", format!("{held}\n")),
                _ => (status, text, format!("{r}\n")),
            }
        };
        let req = match witness::parse_add_checkpoint(body) {
            Ok(r) => r,
            Err(e) => return refused(&e),
        };
        let Some(origin) = witness::origin_of(&req.checkpoint).map(str::to_owned) else {
            return refused(&Refusal::Malformed(
                "the checkpoint has no origin line".into(),
            ));
        };
        // Unknown origins are refused before taking any lock or touching the disk.
        if !self.logs.iter().any(|k| k.name() == origin) {
            return refused(&Refusal::UnknownOrigin(origin));
        }
        let slot = self.slot(&origin);
        let mut held = slot.lock().await;
        if held.is_none() {
            let this = self.clone();
            let o = origin.clone();
            match tokio::task::spawn_blocking(move || this.load(&o)).await {
                Ok(Ok(h)) => *held = Some(h),
                Ok(Err(e)) => return (StatusCode::INTERNAL_SERVER_ERROR, text, format!("{e}\n")),
                Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, text, format!("{e}\n")),
            }
        }
        let current = held.as_ref().and_then(|h| h.as_ref());
        let cp = match witness::check(&self.logs, current, &req) {
            Ok(cp) => cp,
            Err(r) => {
                if r.is_evidence() {
                    let (this, o, b, what) =
                        (self.clone(), origin.clone(), body.to_vec(), r.outcome());
                    let _ =
                        tokio::task::spawn_blocking(move || this.keep_evidence(&o, what, &b)).await;
                }
                return refused(&r);
            }
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let keys: Vec<&SignerKey> = std::iter::once(&self.key).chain(self.pq.as_ref()).collect();
        let (line, new) = match witness::cosign(&keys, &cp, now) {
            Ok(x) => x,
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, text, format!("{e}\n")),
        };
        // Durable before the answer, still under the origin's lock.
        let (path, bytes) = (self.state_path(&origin), new.note.clone());
        match tokio::task::spawn_blocking(move || store::write_atomic(&path, &bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return (StatusCode::INTERNAL_SERVER_ERROR, text, format!("{e}\n")),
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, text, format!("{e}\n")),
        }
        *held = Some(Some(new));
        metrics::counter!(REQUESTS, "outcome" => "cosigned").increment(1);
        (StatusCode::OK, text, line)
    }

    /// The latest cosigned checkpoint of the log whose origin hashes to `hex`.
    async fn monitoring(self: &Arc<Self>, hex: &str) -> Option<Vec<u8>> {
        let origin = self
            .logs
            .iter()
            .map(|k| k.name().to_owned())
            .find(|o| origin_hex(o) == hex)?;
        let slot = self.slot(&origin);
        let mut held = slot.lock().await;
        if held.is_none() {
            let this = self.clone();
            let o = origin.clone();
            *held = Some(
                tokio::task::spawn_blocking(move || this.load(&o))
                    .await
                    .ok()?
                    .ok()?,
            );
        }
        held.as_ref()?.as_ref().map(|h| h.note.clone())
    }

    async fn metadata(self: &Arc<Self>) -> serde_json::Value {
        let mut logs = Vec::new();
        for k in &self.logs {
            let size = self
                .monitoring(&origin_hex(k.name()))
                .await
                .and_then(|n| witness::held_from_note(&n).ok())
                .map(|h| h.checkpoint.size);
            logs.push(json!({
                "origin": k.name(),
                "key": k.to_string(),
                "checkpoint": format!("/{}/checkpoint", origin_hex(k.name())),
                "size": size,
            }));
        }
        // The shape Sunlight's witnesses publish (name, submission and monitoring URLs,
        // verifier keys, software), and the logs witnessed.
        let url = self.url.get().cloned().unwrap_or_default();
        json!({
            "name": self.key.name(),
            "submission_url": url,
            "monitoring_url": url,
            "verifier_keys": self.verifiers().iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            "software": {"name": "liveledger", "version": env!("CARGO_PKG_VERSION")},
            "logs": logs,
        })
    }
}

fn answer(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response<Body> {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The witness's routes.
pub fn router(w: Arc<Witness>) -> Router {
    let (a, b, c) = (w.clone(), w.clone(), w);
    Router::new()
        .route(
            "/add-checkpoint",
            axum::routing::post(move |req: Request<Body>| {
                let w = a.clone();
                async move {
                    let declared = req
                        .headers()
                        .get(header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
                    let too_large = || {
                        metrics::counter!(REQUESTS, "outcome" => "too_large").increment(1);
                        answer(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "text/plain; charset=utf-8",
                            format!(
                                "an add-checkpoint body is at most {} bytes\n",
                                witness::MAX_REQUEST
                            ),
                        )
                    };
                    if declared.is_some_and(|n| n > witness::MAX_REQUEST) {
                        return too_large();
                    }
                    let body =
                        match http_body_util::Limited::new(req.into_body(), witness::MAX_REQUEST)
                            .collect()
                            .await
                        {
                            Ok(b) => b.to_bytes(),
                            Err(_) => return too_large(),
                        };
                    let (status, ct, text) = w.add_checkpoint(&body).await;
                    answer(status, ct, text)
                }
            }),
        )
        .route(
            "/{hex}/checkpoint",
            axum::routing::get(
                move |axum::extract::Path(hex): axum::extract::Path<String>| {
                    let w = b.clone();
                    async move {
                        match w.monitoring(&hex).await {
                            Some(note) => answer(StatusCode::OK, "text/plain; charset=utf-8", note),
                            None => answer(
                                StatusCode::NOT_FOUND,
                                "text/plain; charset=utf-8",
                                "no checkpoint cosigned for this log\n",
                            ),
                        }
                    }
                },
            ),
        )
        .route(
            "/witness.v0.json",
            axum::routing::get(move || {
                let w = c.clone();
                async move {
                    let v = w.metadata().await;
                    let text =
                        liveledger_core::jcs::to_canonical(&v).unwrap_or_else(|_| v.to_string());
                    answer(StatusCode::OK, "application/json", text + "\n")
                }
            }),
        )
}
