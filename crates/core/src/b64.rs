//! Base64, the standard alphabet with padding (RFC 4648 §4), as every format here uses
//! it: signatures, keys, hashes, proof lines.
//!
//! Decoding is strict, so that one byte string has one text: the length is a multiple
//! of four, `=` appears only as the last one or two characters of the text, and the bits
//! that padding leaves over are zero (`AB==` is refused; `AA==` is the one spelling).
//! Written here rather than taken from a crate: this is all the formats need, and the
//! general engine cost the browser builds 6 kB.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Not base64 in the one spelling decoding accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError;

/// The padded base64 of `bytes`.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    let bytes = bytes.as_ref();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Each byte's value in the alphabet, or 0xff.
const VALUES: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

fn value(c: u8) -> Option<u32> {
    match VALUES[usize::from(c)] {
        0xff => None,
        v => Some(u32::from(v)),
    }
}

/// The bytes of a padded base64 text, refusing every other spelling of them.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    let text = text.as_ref();
    if text.len() % 4 != 0 {
        return Err(DecodeError);
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let quads = text.len() / 4;
    for (q, quad) in text.chunks(4).enumerate() {
        // Padding only at the very end: `xx==` or `xxx=`.
        let pad = match (quad[2], quad[3]) {
            (b'=', b'=') => 2,
            (_, b'=') => 1,
            _ => 0,
        };
        if pad > 0 && q + 1 != quads {
            return Err(DecodeError);
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = n << 6 | value(c).ok_or(DecodeError)?;
        }
        n <<= 6 * pad;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // What padding leaves over must be zero: 4 bits after `xx==`, 2 after `xxx=`.
        if bytes[3 - pad..].iter().any(|&b| b != 0) {
            return Err(DecodeError);
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_test_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn other_spellings_are_refused() {
        for bad in [
            "Zg", "Zg=", "Zg===", "Zh==", "Zm9=", "Zm8=Zm8=", "Zg==Zm9v", "=Zm9", "Z===", "====",
            "Zm9v ", " Zm9v", "Zm9v\n", "Zm-v", "Zm_v", "Zm9vYg", "Zm9vYg=A",
        ] {
            assert_eq!(decode(bad), Err(DecodeError), "{bad:?}");
        }
    }
}
