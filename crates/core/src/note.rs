//! C2SP signed-note v1: notes, verifier and signer keys, Ed25519 signatures, and the
//! two C2SP tlog-cosignature types: Ed25519 `cosignature/v1` (type 0x04) and ML-DSA-44
//! `subtree/v1` (type 0x06).
//!
//! ```text
//! If you think cryptography is the answer to your problem,
//! then you don't know what your problem is.
//!
//! — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=
//! ```
//! A note is UTF-8 text with no control characters but newline, ending in a newline,
//! then a blank line, then one or more signature lines `— <name> base64(keyID ‖ sig)`.
//! The key ID is the first 4 bytes of `SHA-256(name ‖ "\n" ‖ type ‖ public key)`.
//! A verifier key is written `<name>+<key ID as 8 hex digits>+base64(type ‖ public key)`.
//!
//! Cosignatures carry a timestamp: the payload is `u64 timestamp ‖ signature`. The 0x04
//! message is `cosignature/v1\ntime <ts>\n` then the note text; the 0x06 message is the
//! binary `subtree/v1` structure over the checkpoint's origin, size and root
//! ([`subtree_message`]): its note text must be a checkpoint, and its extension lines are
//! not signed. ML-DSA-44 is FIPS 204's pure variant with an empty context (the `fips204`
//! crate); a key is 1,312 bytes, a signature 2,420. Signing is deterministic (FIPS 204's
//! all-zero `rnd`), so a witness needs no randomness to cosign.
//!
//! Verification rules: signatures by keys the verifier does not know, or of types it does
//! not know, are ignored; a known key whose signature does not verify rejects the note;
//! at least one (or `threshold`) known keys must have signed.
//!
//! Invariant: a [`VerifiedNote`] exists only after those rules passed.

use core::fmt;

use crate::b64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use fips204::ml_dsa_44;
use fips204::traits::{KeyGen as _, SerDes as _, Signer as _, Verifier as _};

use crate::hash::{cut, sha256_parts};

/// The largest note accepted, in bytes.
pub const MAX_NOTE_SIZE: usize = 1_000_000;
/// The most signatures a note may carry.
pub const MAX_SIGNATURES: usize = 100;

/// Signature type of an Ed25519 note signature (signed-note).
pub const ALG_ED25519: u8 = 0x01;
/// Signature type of an Ed25519 cosignature (tlog-cosignature/v1).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Signature type of an ML-DSA-44 cosignature (tlog-cosignature `subtree/v1`).
pub const ALG_MLDSA44_SUBTREE: u8 = 0x06;
/// An ML-DSA-44 public key's length.
pub const MLDSA44_KEY_LEN: usize = ml_dsa_44::PK_LEN;
/// An ML-DSA-44 signature's length.
pub const MLDSA44_SIG_LEN: usize = ml_dsa_44::SIG_LEN;

const SIG_PREFIX: &str = "\u{2014} ";

/// A note, key or signature is malformed, or a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is larger than [`MAX_NOTE_SIZE`].
    #[error("note is {0} bytes, more than the 1000000 allowed")]
    TooLarge(usize),
    /// Not UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// A control character other than newline.
    #[error("note has control character {0:#04x}, only newline is allowed")]
    ControlCharacter(u32),
    /// No blank line separating text and signatures.
    #[error("note has no blank line before its signatures")]
    NoSignatureBlock,
    /// The signature block is empty or does not end in a newline.
    #[error("note has no signatures")]
    NoSignatures,
    /// More than [`MAX_SIGNATURES`] signatures.
    #[error("note has {0} signatures, more than the 100 allowed")]
    TooManySignatures(usize),
    /// A signature line is not `— <name> <base64>`.
    #[error("signature line {line:?} is malformed: {why}")]
    BadSignatureLine {
        /// The line (cut to 100 characters).
        line: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A key name is empty, has a space or a plus sign.
    #[error("key name {0:?} is not valid: it must be non-empty, without spaces or '+'")]
    BadKeyName(String),
    /// A verifier or signer key string is malformed.
    #[error("key {key:?} is malformed: {why}")]
    BadKey {
        /// The key (cut; secret keys are never echoed).
        key: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A key's written ID does not match the one computed from its name and public key.
    #[error("key {name} has ID {found:08x}, but its name and public key give {expected:08x}")]
    KeyIdMismatch {
        /// The key name.
        name: String,
        /// The computed ID.
        expected: u32,
        /// The written ID.
        found: u32,
    },
    /// A key type this implementation does not know.
    #[error("key type {0:#04x} is not supported (known: 0x01 Ed25519, 0x04 cosignature/v1)")]
    UnsupportedKeyType(u8),
    /// A signature by a known key did not verify: the note is rejected.
    #[error("signature by {name}+{key_id:08x} does not verify")]
    BadSignature {
        /// The signer.
        name: String,
        /// Its key ID.
        key_id: u32,
    },
    /// Two signatures by the same known key.
    #[error("note has two signatures by {name}+{key_id:08x}")]
    DuplicateSignature {
        /// The signer.
        name: String,
        /// Its key ID.
        key_id: u32,
    },
    /// Fewer trusted signatures than required.
    #[error(
        "note is signed by {found} trusted keys, {required} required; it is signed by: {signers}"
    )]
    NotEnoughSignatures {
        /// How many verified.
        found: usize,
        /// How many the policy requires.
        required: usize,
        /// `name+keyid` of every signature on the note, for the message.
        signers: String,
    },
    /// A cosignature's embedded timestamp line could not be built.
    #[error("text to sign must end in a newline")]
    TextNotTerminated,
    /// An ML-DSA-44 (`subtree/v1`) key signs checkpoints only, and this text is not one.
    #[error("an ML-DSA-44 cosignature signs a checkpoint; the text is not one: {0}")]
    NotACheckpoint(String),
    /// An author key must be Ed25519 (type 0x01).
    #[error("key {0} is not an Ed25519 signing key")]
    NotEd25519(String),
}

/// A key name: non-empty, no whitespace, no '+'.
fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::BadKeyName(cut(name)));
    }
    Ok(())
}

/// The key ID: first 4 bytes of `SHA-256(name ‖ "\n" ‖ type ‖ key)`, big-endian.
pub fn key_id(name: &str, key_type: u8, key: &[u8]) -> u32 {
    let h = sha256_parts(&[name.as_bytes(), b"\n", &[key_type], key]);
    u32::from_be_bytes([h.0[0], h.0[1], h.0[2], h.0[3]])
}

fn parse_hex8(s: &str) -> Option<u32> {
    if s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        u32::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

/// The parts of `name+hash+base64(type ‖ bytes)`, the form of both verifier keys and
/// (after `PRIVATE+KEY+`) signer keys. Split on the first two `+` only: base64 has `+` too.
/// `bad` builds the error, so a secret is never echoed.
fn split_key(
    s: &str,
    what: &'static str,
    bad: &dyn Fn(&'static str) -> NoteError,
) -> Result<(String, u32, u8, Vec<u8>), NoteError> {
    let (name, rest) = s
        .split_once('+')
        .ok_or_else(|| bad("no '+' after the name"))?;
    let (hash, coded) = rest
        .split_once('+')
        .ok_or_else(|| bad("no '+' after the key ID"))?;
    check_name(name)?;
    let id = parse_hex8(hash).ok_or_else(|| bad("key ID is not 8 lowercase hex digits"))?;
    let raw = b64::decode(coded).map_err(|_| bad(what))?;
    let (&key_type, bytes) = raw.split_first().ok_or_else(|| bad("key is empty"))?;
    if ![ALG_ED25519, ALG_COSIGNATURE_V1, ALG_MLDSA44_SUBTREE].contains(&key_type) {
        return Err(NoteError::UnsupportedKeyType(key_type));
    }
    Ok((name.to_owned(), id, key_type, bytes.to_vec()))
}

/// A public key's material: Ed25519 (types 0x01 and 0x04) or ML-DSA-44 (0x06).
#[derive(Clone)]
enum Public {
    Ed25519(VerifyingKey),
    MlDsa44(Box<MlDsaPublic>),
}

/// An ML-DSA-44 public key, decoded once (verifying from the decoded form), with its bytes.
#[derive(Clone)]
struct MlDsaPublic {
    bytes: [u8; MLDSA44_KEY_LEN],
    key: ml_dsa_44::PublicKey,
}

impl Public {
    fn decode(key_type: u8, bytes: &[u8]) -> Result<Self, &'static str> {
        if key_type == ALG_MLDSA44_SUBTREE {
            let bytes: [u8; MLDSA44_KEY_LEN] = bytes
                .try_into()
                .map_err(|_| "ML-DSA-44 key is not 1312 bytes")?;
            let key = ml_dsa_44::PublicKey::try_from_bytes(bytes)
                .map_err(|_| "not an ML-DSA-44 public key")?;
            return Ok(Public::MlDsa44(Box::new(MlDsaPublic { bytes, key })));
        }
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "Ed25519 key is not 32 bytes")?;
        VerifyingKey::from_bytes(&bytes)
            .map(Public::Ed25519)
            .map_err(|_| "not an Ed25519 point")
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Public::Ed25519(k) => k.as_bytes(),
            Public::MlDsa44(k) => &k.bytes,
        }
    }
}

/// A public key that verifies note signatures: `name+hash+base64(type ‖ key)`.
#[derive(Clone)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key_type: u8,
    key: Public,
}

impl PartialEq for VerifierKey {
    fn eq(&self, other: &Self) -> bool {
        (self.id, self.key_type, &self.name) == (other.id, other.key_type, &other.name)
            && self.key.bytes() == other.key.bytes()
    }
}
impl Eq for VerifierKey {}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({})", self.short())
    }
}

impl VerifierKey {
    /// Parses `name+hash+base64`. Split on the first two `+` only: base64 has `+` too.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let bad = |why| NoteError::BadKey { key: cut(s), why };
        let (name, id, key_type, bytes) = split_key(s, "public key is not valid base64", &bad)?;
        let key = Public::decode(key_type, &bytes).map_err(bad)?;
        let expected = key_id(&name, key_type, key.bytes());
        if expected != id {
            return Err(NoteError::KeyIdMismatch {
                name,
                expected,
                found: id,
            });
        }
        Ok(VerifierKey {
            name,
            id,
            key_type,
            key,
        })
    }

    /// An Ed25519 (type 0x01) or cosignature (0x04) key from its parts.
    pub fn new(name: &str, key_type: u8, key: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        if key_type != ALG_ED25519 && key_type != ALG_COSIGNATURE_V1 {
            return Err(NoteError::UnsupportedKeyType(key_type));
        }
        let key = Public::decode(key_type, &key).map_err(|why| NoteError::BadKey {
            key: name.to_owned(),
            why,
        })?;
        Ok(VerifierKey {
            name: name.to_owned(),
            id: key_id(name, key_type, key.bytes()),
            key_type,
            key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The 4-byte key ID.
    pub fn id(&self) -> u32 {
        self.id
    }
    /// 0x01 (Ed25519), 0x04 (cosignature/v1) or 0x06 (ML-DSA-44 subtree/v1).
    pub fn key_type(&self) -> u8 {
        self.key_type
    }
    /// The raw public key: 32 bytes of Ed25519, or 1,312 of ML-DSA-44.
    pub fn public_key(&self) -> &[u8] {
        self.key.bytes()
    }
    /// The raw Ed25519 public key, for the types that are Ed25519 (0x01, 0x04).
    pub fn ed25519(&self) -> Option<&[u8; 32]> {
        match &self.key {
            Public::Ed25519(k) => Some(k.as_bytes()),
            Public::MlDsa44(_) => None,
        }
    }
    /// `name+hash`, the short form shown to people.
    pub fn short(&self) -> String {
        format!("{}+{:08x}", self.name, self.id)
    }

    /// Checks one signature payload (after the 4-byte key ID) over `text`. Returns the
    /// cosignature timestamp for cosigning keys (none for an ML-DSA-44 timestamp of 0,
    /// which makes no statement of time).
    fn verify(&self, text: &str, payload: &[u8]) -> Option<Option<u64>> {
        match (&self.key, self.key_type) {
            (Public::Ed25519(k), ALG_ED25519) => {
                let sig = Signature::from_slice(payload).ok()?;
                k.verify_strict(text.as_bytes(), &sig).ok()?;
                Some(None)
            }
            (Public::Ed25519(k), ALG_COSIGNATURE_V1) => {
                if payload.len() != 8 + 64 {
                    return None;
                }
                let ts = u64::from_be_bytes(payload[..8].try_into().ok()?);
                let sig = Signature::from_slice(&payload[8..]).ok()?;
                let msg = cosignature_message(ts, text);
                k.verify_strict(msg.as_bytes(), &sig).ok()?;
                Some(Some(ts))
            }
            (Public::MlDsa44(k), ALG_MLDSA44_SUBTREE) => {
                if payload.len() != 8 + MLDSA44_SIG_LEN {
                    return None;
                }
                let ts = u64::from_be_bytes(payload[..8].try_into().ok()?);
                let sig: &[u8; MLDSA44_SIG_LEN] = payload[8..].try_into().ok()?;
                let msg = subtree_message(&self.name, ts, text).ok()?;
                k.key
                    .verify(&msg, sig, &[])
                    .then_some((ts != 0).then_some(ts))
            }
            _ => None,
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(1 + self.key.bytes().len());
        raw.push(self.key_type);
        raw.extend_from_slice(self.key.bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, b64::encode(raw))
    }
}

impl core::str::FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, NoteError> {
        Self::parse(s)
    }
}

/// The message a cosigner signs: `cosignature/v1\ntime <ts>\n` then the checkpoint text.
pub fn cosignature_message(timestamp: u64, text: &str) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// The message an ML-DSA-44 cosigner `name` signs for the checkpoint `text` at
/// `timestamp` (tlog-cosignature's `cosigned_message`):
///
/// ```text
/// "subtree/v1\n\0" ‖ u8 len ‖ name ‖ u64 timestamp ‖ u8 len ‖ origin
///                  ‖ u64 start (0) ‖ u64 end (the size) ‖ root hash (32 bytes)
/// ```
///
/// Integers are big-endian. The name and the origin must be 1 to 255 bytes.
pub fn subtree_message(name: &str, timestamp: u64, text: &str) -> Result<Vec<u8>, NoteError> {
    let cp = crate::checkpoint::Checkpoint::parse(text)
        .map_err(|e| NoteError::NotACheckpoint(e.to_string()))?;
    let short = |what: &str, s: &str| -> Result<u8, NoteError> {
        u8::try_from(s.len())
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                NoteError::NotACheckpoint(format!("the {what} is {} bytes, not 1 to 255", s.len()))
            })
    };
    let mut m = Vec::with_capacity(12 + 2 + name.len() + cp.origin.len() + 8 * 3 + 32);
    m.extend_from_slice(b"subtree/v1\n\0");
    m.push(short("cosigner name", name)?);
    m.extend_from_slice(name.as_bytes());
    m.extend_from_slice(&timestamp.to_be_bytes());
    m.push(short("origin", &cp.origin)?);
    m.extend_from_slice(cp.origin.as_bytes());
    m.extend_from_slice(&0u64.to_be_bytes());
    m.extend_from_slice(&cp.size.to_be_bytes());
    m.extend_from_slice(&cp.root.0);
    Ok(m)
}

/// A private key's material.
#[derive(Clone)]
enum Secret {
    Ed25519(Box<SigningKey>),
    MlDsa44(Box<MlDsaSecret>),
}

#[derive(Clone)]
struct MlDsaSecret {
    seed: [u8; 32],
    key: ml_dsa_44::PrivateKey,
    public: Public,
}

/// A private key that signs notes, in Go's `PRIVATE+KEY+name+hash+base64(type ‖ seed)`
/// form, so keys move freely between Live Ledger and the Go tools. An ML-DSA-44 key's
/// seed is FIPS 204's 32-byte `ξ`, from which the key pair is derived.
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    id: u32,
    key_type: u8,
    key: Secret,
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignerKey({}+{:08x}, secret hidden)", self.name, self.id)
    }
}

impl SignerKey {
    /// A key from a 32-byte seed (get it from a CSPRNG). `key_type` is 0x01 for a log or
    /// author key, 0x04 for an Ed25519 witness cosigning key, 0x06 for an ML-DSA-44 one.
    pub fn from_seed(name: &str, key_type: u8, seed: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key = match key_type {
            ALG_ED25519 | ALG_COSIGNATURE_V1 => {
                Secret::Ed25519(Box::new(SigningKey::from_bytes(&seed)))
            }
            ALG_MLDSA44_SUBTREE => {
                let (pk, sk) = ml_dsa_44::KG::keygen_from_seed(&seed);
                let bytes = pk.clone().into_bytes();
                Secret::MlDsa44(Box::new(MlDsaSecret {
                    seed,
                    key: sk,
                    public: Public::MlDsa44(Box::new(MlDsaPublic { bytes, key: pk })),
                }))
            }
            other => return Err(NoteError::UnsupportedKeyType(other)),
        };
        let mut k = SignerKey {
            name: name.to_owned(),
            id: 0,
            key_type,
            key,
        };
        k.id = key_id(name, key_type, k.public().bytes());
        Ok(k)
    }

    fn public(&self) -> Public {
        match &self.key {
            Secret::Ed25519(k) => Public::Ed25519(k.verifying_key()),
            Secret::MlDsa44(k) => k.public.clone(),
        }
    }

    /// Parses `PRIVATE+KEY+name+hash+base64(type ‖ seed)`. The error never contains the
    /// secret.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let bad = |why| NoteError::BadKey {
            key: "PRIVATE+KEY+…".into(),
            why,
        };
        let rest = s
            .trim_end_matches('\n')
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("does not start with PRIVATE+KEY+"))?;
        let (name, id, key_type, seed) = split_key(rest, "secret key is not valid base64", &bad)?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| bad("secret key seed is not 32 bytes"))?;
        let k = Self::from_seed(&name, key_type, seed)?;
        if k.id != id {
            return Err(NoteError::KeyIdMismatch {
                name,
                expected: k.id,
                found: id,
            });
        }
        Ok(k)
    }

    /// The Go `PRIVATE+KEY+…` form. Secret: never write it into a published tree.
    pub fn to_secret_string(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.key_type);
        match &self.key {
            Secret::Ed25519(k) => raw.extend_from_slice(k.as_bytes()),
            Secret::MlDsa44(k) => raw.extend_from_slice(&k.seed),
        }
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            b64::encode(raw)
        )
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            key_type: self.key_type,
            key: self.public(),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A raw Ed25519 signature over `msg` (used for ledger events, whose authors sign
    /// with Ed25519 keys only).
    pub fn sign_raw(&self, msg: &[u8]) -> Result<[u8; 64], NoteError> {
        match &self.key {
            Secret::Ed25519(k) => Ok(k.sign(msg).to_bytes()),
            Secret::MlDsa44(_) => Err(NoteError::NotEd25519(format!(
                "{}+{:08x}",
                self.name, self.id
            ))),
        }
    }

    /// A signature line's payload (after the key ID) over `text`: for cosigning keys a
    /// cosignature made at `timestamp` (seconds since the epoch), for 0x01 keys a plain
    /// signature.
    fn sign_payload(&self, text: &str, timestamp: u64) -> Result<Vec<u8>, NoteError> {
        match (&self.key, self.key_type) {
            (Secret::Ed25519(k), ALG_COSIGNATURE_V1) => {
                let msg = cosignature_message(timestamp, text);
                let mut out = timestamp.to_be_bytes().to_vec();
                out.extend_from_slice(&k.sign(msg.as_bytes()).to_bytes());
                Ok(out)
            }
            (Secret::Ed25519(k), _) => Ok(k.sign(text.as_bytes()).to_bytes().to_vec()),
            (Secret::MlDsa44(k), _) => {
                let msg = subtree_message(&self.name, timestamp, text)?;
                // FIPS 204's deterministic variant: `rnd` all zero.
                let sig = k
                    .key
                    .try_sign_with_seed(&[0; 32], &msg, &[])
                    .map_err(|e| NoteError::NotACheckpoint(e.to_string()))?;
                let mut out = timestamp.to_be_bytes().to_vec();
                out.extend_from_slice(&sig);
                Ok(out)
            }
        }
    }
}

/// One signature line of a note, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's key name.
    pub name: String,
    /// The 4-byte key ID.
    pub key_id: u32,
    /// What follows the key ID: the signature (and, for cosignatures, the timestamp).
    pub payload: Vec<u8>,
}

impl NoteSignature {
    /// The line, without its newline.
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.payload);
        format!("{SIG_PREFIX}{} {}", self.name, b64::encode(raw))
    }
}

/// A parsed note whose signatures have **not** been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a note: size cap, UTF-8, no control characters, text, blank line, 1..=100
    /// signature lines.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge(bytes.len()));
        }
        let s = core::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        if let Some(c) = s.chars().find(|&c| (c as u32) < 0x20 && c != '\n') {
            return Err(NoteError::ControlCharacter(c as u32));
        }
        // (Byte windows, not `str::rfind`: its substring searcher is 2 kB of Wasm.)
        let split = s
            .as_bytes()
            .windows(2)
            .rposition(|w| w == b"\n\n")
            .ok_or(NoteError::NoSignatureBlock)?;
        let text = &s[..split + 1];
        let block = &s[split + 2..];
        if block.is_empty() || !block.ends_with('\n') {
            return Err(NoteError::NoSignatures);
        }
        let lines: Vec<&str> = block[..block.len() - 1].split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures(lines.len()));
        }
        let mut signatures = Vec::with_capacity(lines.len());
        for line in lines {
            let bad = |why| NoteError::BadSignatureLine {
                line: cut(line),
                why,
            };
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| bad("does not start with an em dash and a space"))?;
            let (name, coded) = rest
                .split_once(' ')
                .ok_or_else(|| bad("no space between name and signature"))?;
            check_name(name).map_err(|_| bad("key name is empty or has a '+'"))?;
            let raw = b64::decode(coded).map_err(|_| bad("signature is not valid base64"))?;
            if raw.len() < 5 {
                return Err(bad("signature is shorter than a key ID and one byte"));
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
                payload: raw[4..].to_vec(),
            });
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Signs `text` (which must end in a newline) with each key; cosigning keys use
    /// `timestamp`.
    pub fn sign(text: &str, keys: &[&SignerKey], timestamp: u64) -> Result<Self, NoteError> {
        Self::check_text(text)?;
        let signatures = keys
            .iter()
            .map(|k| {
                Ok(NoteSignature {
                    name: k.name.clone(),
                    key_id: k.id,
                    payload: k.sign_payload(text, timestamp)?,
                })
            })
            .collect::<Result<_, NoteError>>()?;
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    fn check_text(text: &str) -> Result<(), NoteError> {
        if !text.ends_with('\n') {
            return Err(NoteError::TextNotTerminated);
        }
        if let Some(c) = text.chars().find(|&c| (c as u32) < 0x20 && c != '\n') {
            return Err(NoteError::ControlCharacter(c as u32));
        }
        Ok(())
    }

    /// Adds a signature (e.g. a witness cosignature) by `key` to this note.
    pub fn add_signature(&mut self, key: &SignerKey, timestamp: u64) -> Result<(), NoteError> {
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures(self.signatures.len() + 1));
        }
        self.signatures.push(NoteSignature {
            name: key.name.clone(),
            key_id: key.id,
            payload: key.sign_payload(&self.text, timestamp)?,
        });
        Ok(())
    }

    /// Keeps only the signatures `keep` says yes to (e.g. a witness dropping signatures
    /// it did not verify from what it stores).
    pub fn retain_signatures(&mut self, keep: impl FnMut(&NoteSignature) -> bool) {
        self.signatures.retain(keep);
    }

    /// The signed text, ending in a newline. Unverified.
    pub fn text_unverified(&self) -> &str {
        &self.text
    }

    /// The signature lines. Unverified.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The note's bytes: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.to_line());
            s.push('\n');
        }
        s.into_bytes()
    }

    fn signers(&self) -> String {
        let v: Vec<String> = self
            .signatures
            .iter()
            .map(|s| format!("{}+{:08x}", s.name, s.key_id))
            .collect();
        if v.is_empty() {
            "nobody".into()
        } else {
            v.join(", ")
        }
    }

    /// Verifies with the given keys, requiring at least one of them to have signed.
    pub fn verify(self, keys: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
        self.verify_threshold(keys, 1)
    }

    /// Verifies, requiring `threshold` distinct keys of `keys` to have signed (k of n).
    pub fn verify_threshold(
        self,
        keys: &[VerifierKey],
        threshold: usize,
    ) -> Result<VerifiedNote, NoteError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for sig in &self.signatures {
            let Some(key) = keys
                .iter()
                .find(|k| k.name == sig.name && k.id == sig.key_id)
            else {
                continue; // unknown signer or type: ignored, per signed-note
            };
            if verified.iter().any(|v| v.key == *key) {
                return Err(NoteError::DuplicateSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            match key.verify(&self.text, &sig.payload) {
                Some(timestamp) => verified.push(VerifiedSignature {
                    key: key.clone(),
                    timestamp,
                }),
                None => {
                    return Err(NoteError::BadSignature {
                        name: sig.name.clone(),
                        key_id: sig.key_id,
                    })
                }
            }
        }
        if verified.len() < threshold.max(1) {
            return Err(NoteError::NotEnoughSignatures {
                found: verified.len(),
                required: threshold.max(1),
                signers: self.signers(),
            });
        }
        Ok(VerifiedNote {
            note: self,
            verified,
        })
    }
}

/// A signature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key that made it.
    pub key: VerifierKey,
    /// For a cosignature, when the cosigner made it (seconds since the epoch).
    pub timestamp: Option<u64>,
}

/// A note whose signatures were checked under a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    note: Note,
    verified: Vec<VerifiedSignature>,
}

impl VerifiedNote {
    /// The signed text.
    pub fn text(&self) -> &str {
        &self.note.text
    }
    /// The signatures that verified.
    pub fn verified(&self) -> &[VerifiedSignature] {
        &self.verified
    }
    /// The whole note, as evidence.
    pub fn note(&self) -> &Note {
        &self.note
    }
    /// How many of `keys` signed (e.g. for a k-of-n witness policy checked separately).
    pub fn count_signed_by(&self, keys: &[VerifierKey]) -> usize {
        self.verified
            .iter()
            .filter(|v| keys.contains(&v.key))
            .count()
    }
}
