//! Event signature checks handed out instead of made inline, and when another Ed25519
//! implementation may make them.
//!
//! # Why
//! Ed25519 verification is most of the cost of auditing signed events. A verifier that
//! makes its checks elsewhere (other threads, Web Workers, the browser's WebCrypto) gets
//! a [`SignatureCheck`] per event from [`ChainVerifier::check_deferred`] or the
//! [`Auditor`] in deferred mode, makes it, and reports the verdict back. Nothing counts
//! as verified before its verdict is in.
//!
//! # One verdict everywhere
//! Live Ledger's verdict is ed25519-dalek's `verify_strict`, in the CLI and the browser
//! alike. Ed25519 implementations disagree on edge cases: `S ≥ ℓ`, non-canonical
//! encodings of `A` or `R`, small-order `A` or `R`, and (cofactored or not) mixed-order
//! points. `verify_strict` is: `S` canonical; `A` and `R` decode and are not of small
//! order; and `encode([S]B − [k]A) == R` byte for byte, with `k = SHA-512(R ‖ A ‖ M)`.
//!
//! [`Unusual`] classifies, from the bytes alone, every input on which a *cofactorless*
//! RFC 8032 verifier (one that checks `encode([S]B − [k]A) == R`, as BoringSSL,
//! OpenSSL and the WebCrypto specification do) could disagree with it:
//! - `S ≥ ℓ`: rejected by `verify_strict`; some implementations reduce instead.
//! - `A` or `R` with `y ≥ p` (non-canonical): decoded differently by different libraries.
//! - `A` or `R` whose `y` is that of one of the eight small-order points (any sign bit):
//!   rejected by `verify_strict`, accepted by plain RFC 8032.
//!
//! For every other input both decode `A` the same way (canonical `y`, `x ≠ 0`, so the
//! sign bit picks one of two points consistently), hash the same bytes, and compare
//! `R` byte for byte against the canonical encoding of the same point, so they agree.
//! Unusual inputs go to `verify_strict` itself ([`SignatureCheck::verify_strict`]).
//!
//! What the bytes cannot show is whether an implementation is cofactorless: a
//! *cofactored* verifier (`[8][S]B = [8]R + [8][k]A`) accepts signatures with a
//! mixed-order `A` or `R` that `verify_strict` rejects, and those encodings look
//! ordinary. [`self_test`] holds vectors on which the two kinds differ; an engine must
//! give exactly their verdicts before it is used.
//!
//! [`ChainVerifier::check_deferred`]: crate::event::ChainVerifier::check_deferred
//! [`Auditor`]: crate::audit::Auditor

use ed25519_dalek::{Signature, VerifyingKey};

/// One Ed25519 signature to check: an event's author key, its signature, and the exact
/// message signed (see docs/FORMAT.md, "Event signature").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureCheck {
    seq: u64,
    public_key: [u8; 32],
    signature: [u8; 64],
    message: Vec<u8>,
}

/// Why an input must be checked by `verify_strict` itself (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusual {
    /// `S ≥ ℓ`.
    NonCanonicalS,
    /// The public key's `y ≥ p`.
    NonCanonicalKey,
    /// The public key has the `y` of a small-order point.
    SmallOrderKey,
    /// `R`'s `y ≥ p`.
    NonCanonicalR,
    /// `R` has the `y` of a small-order point.
    SmallOrderR,
}

/// ℓ, the order of the prime-order subgroup, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// p = 2^255 − 19, little-endian.
const P: [u8; 32] = [
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
];

/// The `y` coordinates (little-endian, canonical) of the eight points of small order:
/// 1 (the identity), p − 1 (order 2), 0 (order 4), and the two of the order-8 points.
/// A test derives them from curve25519-dalek's `EIGHT_TORSION`.
const SMALL_ORDER_Y: [[u8; 32]; 5] = [
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [0; 32],
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
];

/// `a < b` for little-endian 256-bit numbers.
fn less_than(a: &[u8; 32], b: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}

/// The `y` of a point encoding (the sign bit cleared).
fn y_of(encoding: &[u8; 32]) -> [u8; 32] {
    let mut y = *encoding;
    y[31] &= 0x7f;
    y
}

fn point_unusual(encoding: &[u8; 32], non_canonical: Unusual, small: Unusual) -> Option<Unusual> {
    let y = y_of(encoding);
    if !less_than(&y, &P) {
        return Some(non_canonical);
    }
    SMALL_ORDER_Y.contains(&y).then_some(small)
}

/// Whether `(public_key, signature)` is an input on which cofactorless Ed25519
/// implementations may disagree with `verify_strict`; `None` when they all agree.
pub fn unusual(public_key: &[u8; 32], signature: &[u8; 64]) -> Option<Unusual> {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&signature[..32]);
    s.copy_from_slice(&signature[32..]);
    if !less_than(&s, &L) {
        return Some(Unusual::NonCanonicalS);
    }
    point_unusual(public_key, Unusual::NonCanonicalKey, Unusual::SmallOrderKey)
        .or_else(|| point_unusual(&r, Unusual::NonCanonicalR, Unusual::SmallOrderR))
}

/// ed25519-dalek's `verify_strict`, the verdict of record.
pub fn verify_strict(public_key: &[u8; 32], signature: &[u8; 64], message: &[u8]) -> bool {
    VerifyingKey::from_bytes(public_key).is_ok_and(|k| strict_with(&k, signature, message))
}

fn strict_with(key: &VerifyingKey, signature: &[u8; 64], message: &[u8]) -> bool {
    key.verify_strict(message, &Signature::from_bytes(signature))
        .is_ok()
}

/// [`verify_strict`] that keeps the last few public keys decoded: decoding one is a square
/// root, about a sixth of a verification, and a ledger has few authors.
#[derive(Clone, Debug, Default)]
pub struct StrictVerifier {
    /// `(encoding, decoded)`, most recent last; `None` for an encoding that does not decode.
    keys: Vec<([u8; 32], Option<VerifyingKey>)>,
}

/// Keys kept by a [`StrictVerifier`].
const KEPT_KEYS: usize = 8;

impl StrictVerifier {
    /// A verifier with no keys decoded yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// [`verify_strict`] of `signature` by `public_key` over `message`.
    pub fn verify(&mut self, public_key: &[u8; 32], signature: &[u8; 64], message: &[u8]) -> bool {
        let key = match self.keys.iter().rposition(|(k, _)| k == public_key) {
            Some(i) => self.keys[i].1,
            None => {
                if self.keys.len() == KEPT_KEYS {
                    self.keys.remove(0);
                }
                let decoded = VerifyingKey::from_bytes(public_key).ok();
                self.keys.push((*public_key, decoded));
                decoded
            }
        };
        key.is_some_and(|k| strict_with(&k, signature, message))
    }

    /// [`SignatureCheck::verify_strict`].
    pub fn check(&mut self, c: &SignatureCheck) -> bool {
        self.verify(&c.public_key, &c.signature, &c.message)
    }
}

impl SignatureCheck {
    /// A check of `signature` by `public_key` over `message`, for event `seq`.
    pub fn new(seq: u64, public_key: [u8; 32], signature: [u8; 64], message: Vec<u8>) -> Self {
        SignatureCheck {
            seq,
            public_key,
            signature,
            message,
        }
    }
    /// The event (ledger index) signed.
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// The author's Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }
    /// The signature, `R ‖ S`.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }
    /// The exact bytes signed.
    pub fn message(&self) -> &[u8] {
        &self.message
    }
    /// See [`unusual`].
    pub fn unusual(&self) -> Option<Unusual> {
        unusual(&self.public_key, &self.signature)
    }
    /// The verdict of record.
    pub fn verify_strict(&self) -> bool {
        verify_strict(&self.public_key, &self.signature, &self.message)
    }
}

/// Vectors an outside Ed25519 engine must get exactly right before its verdicts stand in
/// for `verify_strict` on ordinary inputs: each check with its verdict.
///
/// 1. an ordinary valid signature (true);
/// 2. the same with one message byte changed (false);
/// 3. a mixed-order public key (`aB + T`, `T` of order 8) whose signature holds under the
///    cofactored equation only (false: a cofactored engine says true);
/// 4. a mixed-order public key whose signature holds under both equations (true);
/// 5. a mixed-order `R` (`rB + T`) with `S = r + k·a`: cofactored only (false).
///
/// All five are ordinary to [`unusual`]. A test in this module derives them and checks
/// each verdict against `verify_strict` and against models of both equations.
pub fn self_test() -> Vec<(SignatureCheck, bool)> {
    SELF_TEST
        .iter()
        .enumerate()
        .map(|(i, (k, s, m, v))| {
            let mut key = [0u8; 32];
            let mut sig = [0u8; 64];
            hex_into(k, &mut key);
            hex_into(s, &mut sig);
            (
                SignatureCheck::new(i as u64, key, sig, m.as_bytes().to_vec()),
                *v,
            )
        })
        .collect()
}

fn hex_into(hex: &str, out: &mut [u8]) {
    let digit = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    };
    for (o, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *o = digit(pair[0]) << 4 | digit(pair[1]);
    }
}

/// Generated by `tests::self_test_vectors_discriminate` (which prints them when they differ).
const SELF_TEST: [(&str, &str, &str, bool); 5] = [
    (
        "dda116f606b83efb4f6ca61d9e8f9ed4ba12dd3c2e445b4357327b12db5ba742",
        "aac20389d0c7b99f7d7b5e6eb2fb7de5093d511b31f3bc473dd3240d22df2ba39a4ba27bbf9f5389a323ccbc7b41c239954b49068e218b5411e296e76c222003",
        "self test",
        true,
    ),
    (
        "dda116f606b83efb4f6ca61d9e8f9ed4ba12dd3c2e445b4357327b12db5ba742",
        "aac20389d0c7b99f7d7b5e6eb2fb7de5093d511b31f3bc473dd3240d22df2ba39a4ba27bbf9f5389a323ccbc7b41c239954b49068e218b5411e296e76c222003",
        "relf test",
        false,
    ),
    (
        "f8ea13b170baf44cf1a667cfb0fd0c081755c23b423920b8245f7d77e9fc1786",
        "863a3a750e5f23ec5c3b33c5fd7272d5af2a3111e513b3de31897bbdc7a9000ce9c5e4ed31baf5d99fb20b5c357bb850a52f2eac5851f912aa4524873f6b5d0f",
        "mixed-order key 0",
        false,
    ),
    (
        "f8ea13b170baf44cf1a667cfb0fd0c081755c23b423920b8245f7d77e9fc1786",
        "ff3220d0853f0d7de39d58dcefe13fc61c0fe794b6626c5281d5a11f2e4a622f7066f0c99f307fb3f05efa973dce826e1774b5d5f8adf23cddf71593dfa26003",
        "mixed-order key 14",
        true,
    ),
    (
        "8212a72ede865ed79b1ebbbc6208ae4278f95bae7999b2ab5542cb83656ff6cd",
        "324efa3cd5e0d6402a40d0459402b90bfc650adffbd8d04905201616deaaf9e147aa699677c9e08b76454f4bb437bdc881edc2ea4b0cc8034f06bd09d58cfa01",
        "mixed-order R",
        false,
    ),
];

#[cfg(test)]
mod tests;
