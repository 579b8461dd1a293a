//! SHA-256 hashes and the RFC 6962 §2.1 hash functions.
//!
//! Every hash in a tlog-tiles log is one of:
//! - the leaf hash `SHA-256(0x00 ‖ entry)` (RFC 6962 §2.1, `MTH({d(0)})`),
//! - the node hash `SHA-256(0x01 ‖ left ‖ right)` (RFC 6962 §2.1, interior nodes),
//! - the empty tree hash `SHA-256("")` (RFC 6962 §2.1, `MTH({})`).

use core::fmt;

use crate::b64;
use sha2::{Digest, Sha256};

/// A SHA-256 value: a leaf hash, an interior node, a root or a commitment.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

/// The size of a [`Hash`] in bytes.
pub const HASH_SIZE: usize = 32;

/// A hash could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashDecodeError {
    /// The text is not valid base64 (or hex).
    #[error("hash {found:?} is not valid {encoding}")]
    Encoding {
        /// The encoding that was expected.
        encoding: &'static str,
        /// The text found (cut to 100 characters).
        found: String,
    },
    /// The decoded value is not 32 bytes long.
    #[error("hash is {found} bytes long, expected 32")]
    Length {
        /// The decoded length.
        found: usize,
    },
}

pub(crate) fn cut(s: &str) -> String {
    s.chars().take(100).collect()
}

impl Hash {
    /// Parses canonical standard base64 (with padding), as in checkpoints.
    pub fn from_base64(s: &str) -> Result<Self, HashDecodeError> {
        let bytes = b64::decode(s).map_err(|_| HashDecodeError::Encoding {
            encoding: "base64",
            found: cut(s),
        })?;
        Self::from_slice(&bytes)
    }

    /// Parses 64 lowercase hex digits, as in ledger events.
    pub fn from_hex(s: &str) -> Result<Self, HashDecodeError> {
        let b = s.as_bytes();
        if b.len() != 64 {
            if b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) && b.len().is_multiple_of(2)
            {
                return Err(HashDecodeError::Length { found: b.len() / 2 });
            }
            return Err(HashDecodeError::Encoding {
                encoding: "lowercase hex",
                found: cut(s),
            });
        }
        let mut out = [0u8; 32];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            let hi = hex_val(pair[0]);
            let lo = hex_val(pair[1]);
            match (hi, lo) {
                (Some(h), Some(l)) => out[i] = h << 4 | l,
                _ => {
                    return Err(HashDecodeError::Encoding {
                        encoding: "lowercase hex",
                        found: cut(s),
                    })
                }
            }
        }
        Ok(Hash(out))
    }

    /// Takes exactly 32 bytes.
    pub fn from_slice(b: &[u8]) -> Result<Self, HashDecodeError> {
        <[u8; 32]>::try_from(b)
            .map(Hash)
            .map_err(|_| HashDecodeError::Length { found: b.len() })
    }

    /// Standard base64 with padding.
    pub fn to_base64(&self) -> String {
        b64::encode(self.0)
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 15) as usize] as char);
        }
        s
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    /// Base64, the form checkpoints use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// `SHA-256(0x00 ‖ entry)`: the RFC 6962 §2.1 hash of a leaf.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the RFC 6962 §2.1 hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 1;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// `SHA-256("")`: the RFC 6962 §2.1 hash of the empty tree.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// Plain SHA-256.
pub fn sha256(data: &[u8]) -> Hash {
    Hash(Sha256::digest(data).into())
}

/// SHA-256 over several parts, without concatenating them first.
pub fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    Hash(h.finalize().into())
}
