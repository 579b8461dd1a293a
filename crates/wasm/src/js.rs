//! The JS module: the exports of `liveledger-wasm`, their TypeScript types, and the only
//! place JS values are read ([`Options::from_js`]) or made ([`to_js`], and a
//! [`LedgerError`] becomes a JS `Error`). Each export is the typed API of `lib.rs` with
//! JS at both ends; no rule lives here.

use super::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** A verifier key `name+hash+base64`, as the log publishes it. */
export type VerifierKey = string;
export interface Signature { key: string; kind: "log" | "cosignature"; timestamp?: number }
export interface CheckpointResult { origin: string; size: number; root: string; rootHex: string; signatures: Signature[]; signedTime?: number; note: string }
export interface LedgerOptions {
  /** Trusted log keys. Without them the ledger's own metadata is trusted on first use (`trust: "metadata"`). */
  keys?: VerifierKey[];
  origin?: string;
  /** "ledger" (default when the log publishes Live Ledger metadata) or "log" for opaque entries. */
  level?: "ledger" | "log";
  /** Compare every hash tile too (default true). */
  checkTiles?: boolean;
  signal?: AbortSignal;
  /** Deadline per request, body included, in ms (default 30000); each is tried 3 times. */
  timeoutMs?: number;
  onProgress?: (p: Progress) => void;
  /** Where to check event signatures: "auto" (default: WebCrypto, in Web Workers where possible, once it passes a self test; unusual encodings always by `verify_strict`) "webcrypto" (the same, without workers) or "wasm" (`verify_strict` for everything). */
  signatures?: "auto" | "webcrypto" | "wasm";
  /** Each event, once verified: `{seq, leafHash, event}`. */
  onEvent?: (e: { seq: number; leafHash: string; event: any }) => void;
  /** A signed checkpoint of this ledger verified before (an earlier visit's): the one served now must extend it, proved from the log's tiles before anything else is read (`FORK` or `ROLLBACK` with both checkpoints and the proof). One that does not verify with these keys and origin is `BAD_SINCE`. */
  since?: string;
  /** A C2SP tlog-policy (its text) whose witness quorum every checkpoint must meet, instead of the one in the ledger's metadata. */
  policy?: string;
  /** Ask the policy's witnesses what they hold and prove it consistent with the log's (default true): a split view is `FORK`, with the witness named in the evidence. */
  witnessCheck?: boolean;
  /** `audit` only: the `resumePoint` of an earlier audit of this ledger. If it holds (its checkpoint verifies with these keys, its tree edge recomputes that root, today's checkpoint extends it), only the entries after it are read; if not, it is discarded (`resumed.discarded` says why) and the audit starts from zero. */
  resume?: string;
}
/** `entries` read so far; `verified` of them fully checked (signature verdicts can lag a few segments behind). */
export interface Progress { entries: number; verified: number; size: number; bytes: number; segment: number }
export interface WitnessReport { rule: string; met: boolean; source: "pinned" | "metadata"; list: { name: string; key: string; cosigned: boolean; time: number | null }[]; /** What each witness holds (audit and follow's first digest): consistent with the log's, or a note. */ views?: { name: string; size: number | null; consistent: boolean | null; note: string | null }[] }
export interface AuditResult { verified: true; trust: "pinned" | "metadata"; keys: VerifierKey[]; checkpoint: CheckpointResult; stats: Record<string, number>; lastTime?: string; cadenceSeconds?: number; /** The witness quorum the checkpoint met (null: the ledger requires none). */ witnesses: WitnessReport | null; /** Where event signatures were checked (ledger level): "wasm", "webcrypto" or "webcrypto-workers:N". */ signatureEngine?: string; /** The core's staleness rule when the audit ended: stale past twice the ledger's cadence (an hour's if it names none). A stale digest is verified data the page, the element and `liveledger verify` fail as STALE. */ freshness: { stale: boolean; ageSeconds: number | null; staleAfterSeconds: number | null }; /** `audit` with `resume`: where it continued from, or why the point was discarded. */ resumed?: { from: number } | { discarded: string } | null; /** What a later `audit` can continue from (`resume`): keep it with the ledger's address. */ resumePoint?: string | null }
export interface FollowOptions extends LedgerOptions { intervalMs?: number; onDigest?: (d: AuditResult) => void; onAlarm?: (e: LedgerError) => void }
export interface EntryResult { index: number; entry: string; event?: any; leafHash: string; proof: string[]; checkpoint: CheckpointResult; receipt: string; requests: number; bytes: number }
export interface HistoryOptions extends LedgerOptions { /** Check only the newest `limit` archived digests (default 100). */ limit?: number }
export interface HistoryDigest { size: number; root: string; signedTime?: number; note: string; extends: number | null }
export interface HistoryResult { verified: boolean; checkpoint: CheckpointResult; total: number; digests: HistoryDigest[]; failure: { code: LedgerErrorCode; alarm: "FORK" | "ROLLBACK" | "BAD_ARCHIVE"; message: string; evidence?: any } | null }
export interface LedgerError extends Error { code: LedgerErrorCode; evidence?: any }
/** One Ed25519 check for `verifySignatures`, each field hex: the key (32 bytes), the signature (64) and the message. */
export interface SignatureCheckInput { key: string; signature: string; message: string }
"#;

/// `LedgerErrorCode`: generated from the core's list of codes, never written here.
#[wasm_bindgen(typescript_custom_section)]
const CODES: &str = liveledger_core::verdict::Code::TYPESCRIPT;

/// Verifies a signed checkpoint (digest) against trusted keys. `origin` defaults to the
/// first key's name. Throws a `LedgerError` if it does not verify.
#[wasm_bindgen(js_name = verifyCheckpoint, unchecked_return_type = "CheckpointResult")]
pub fn verify_checkpoint(
    note: &str,
    #[wasm_bindgen(unchecked_param_type = "VerifierKey[]")] keys: Vec<String>,
    origin: Option<String>,
) -> Result<JsValue, JsValue> {
    Ok(to_js(&crate::verify_checkpoint(note, &keys, origin)?))
}

/// Verifies a receipt (C2SP tlog-proof, the entry in its `extra` line) with no network.
#[wasm_bindgen(js_name = verifyReceipt, unchecked_return_type = "EntryResult")]
pub fn verify_receipt(
    receipt: &str,
    #[wasm_bindgen(unchecked_param_type = "VerifierKey[]")] keys: Vec<String>,
    origin: Option<String>,
) -> Result<JsValue, JsValue> {
    Ok(to_js(&crate::verify_receipt(receipt, &keys, origin)?))
}

/// Audits a whole ledger (or any C2SP log) at `url`: every signature, chain link, tile and
/// the root. Resolves with the result; rejects with a `LedgerError` (`TAMPERED` with the
/// segment and entry as evidence, `BAD_SIGNATURE`, …). See [`crate::audit`].
#[wasm_bindgen(unchecked_return_type = "AuditResult")]
pub async fn audit(
    url: String,
    #[wasm_bindgen(unchecked_param_type = "LedgerOptions | undefined")] opts: JsValue,
) -> Result<JsValue, JsValue> {
    let opts = Options::from_js(&opts)?;
    Ok(to_js(&crate::audit(&url, &opts).await?))
}

/// Audits, then follows the ledger (see [`crate::follow`]): `onDigest` with each verified
/// digest, `onAlarm` with the error that ends it. Resolves when `signal` aborts.
#[wasm_bindgen(unchecked_return_type = "undefined")]
pub async fn follow(
    url: String,
    #[wasm_bindgen(unchecked_param_type = "FollowOptions | undefined")] opts: JsValue,
) -> Result<JsValue, JsValue> {
    let opts = Options::from_js(&opts)?;
    crate::follow(&url, &opts).await?;
    Ok(JsValue::UNDEFINED)
}

/// Verifies the ledger's digest archive (see [`crate::verify_history`]). Resolves with
/// `{verified, checkpoint, total, digests, failure}`; rejects only when the archive
/// cannot be read (`NOT_FOUND` if the ledger has none).
#[wasm_bindgen(js_name = verifyHistory, unchecked_return_type = "HistoryResult")]
pub async fn verify_history(
    url: String,
    #[wasm_bindgen(unchecked_param_type = "HistoryOptions | undefined")] opts: JsValue,
) -> Result<JsValue, JsValue> {
    let opts = Options::from_js(&opts)?;
    Ok(to_js(&crate::verify_history(&url, &opts).await?))
}

/// Verifies one entry by inclusion proof (see [`crate::verify_entry`]). Resolves with the
/// entry, the proof and a receipt for offline checking.
#[wasm_bindgen(js_name = verifyEntry, unchecked_return_type = "EntryResult")]
pub async fn verify_entry(
    url: String,
    index: f64,
    #[wasm_bindgen(unchecked_param_type = "LedgerOptions | undefined")] opts: JsValue,
) -> Result<JsValue, JsValue> {
    if !(index >= 0.0 && index.fract() == 0.0 && index < 9007199254740992.0) {
        return Err(error(Code::BadInput, "index must be a non-negative integer", None).into());
    }
    let opts = Options::from_js(&opts)?;
    Ok(to_js(
        &crate::verify_entry(&url, index as u64, &opts).await?,
    ))
}

/// The signature engine the options select (see `LedgerOptions.signatures`), started and
/// self-tested on first use: `"wasm"`, `"webcrypto"` or `"webcrypto-workers:N"`.
#[wasm_bindgen(js_name = signatureEngine)]
pub async fn signature_engine(
    #[wasm_bindgen(unchecked_param_type = "LedgerOptions | undefined")] opts: JsValue,
) -> Result<String, JsValue> {
    Ok(crate::signature_engine(&Options::from_js(&opts)?).await)
}

/// Verifies Ed25519 signatures with `verify_strict`'s verdicts, on the engine the
/// options select: `checks` is an array of `{key, signature, message}`, each a hex
/// string (key 32 bytes, signature 64). Resolves with one boolean per check.
#[wasm_bindgen(js_name = verifySignatures, unchecked_return_type = "boolean[]")]
pub async fn verify_signatures(
    #[wasm_bindgen(unchecked_param_type = "SignatureCheckInput[]")] checks: JsValue,
    #[wasm_bindgen(unchecked_param_type = "LedgerOptions | undefined")] opts: JsValue,
) -> Result<JsValue, JsValue> {
    /// Field `name` of check `i`, hex, `len` bytes long (any length if 0).
    fn field(o: &JsValue, name: &str, i: u32, len: usize) -> Result<Vec<u8>, LedgerError> {
        let text = Reflect::get(o, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default();
        let bytes = hex_bytes(&text).filter(|b| len == 0 || b.len() == len);
        bytes.ok_or_else(|| {
            let want = if len == 0 {
                "hex".to_string()
            } else {
                format!("{len} bytes of hex")
            };
            error(
                Code::BadInput,
                &format!("check {i}: {name} must be {want}, found {text:?}"),
                None,
            )
        })
    }
    let opts = Options::from_js(&opts)?;
    let list = js_sys::Array::from(&checks);
    let mut batch = Vec::with_capacity(list.length() as usize);
    for (i, c) in list.iter().enumerate() {
        let i = i as u32;
        let mut key = [0u8; 32];
        let mut sig = [0u8; 64];
        key.copy_from_slice(&field(&c, "key", i, 32)?);
        sig.copy_from_slice(&field(&c, "signature", i, 64)?);
        let msg = field(&c, "message", i, 0)?;
        batch.push(liveledger_core::sigcheck::SignatureCheck::new(
            u64::from(i),
            key,
            sig,
            msg,
        ));
    }
    Ok(crate::verify_signatures(batch, &opts)
        .await
        .into_iter()
        .map(JsValue::from)
        .collect::<js_sys::Array>()
        .into())
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The crate version.
#[wasm_bindgen]
pub fn version() -> String {
    crate::version().to_owned()
}
