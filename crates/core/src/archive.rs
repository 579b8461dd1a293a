//! The digest archive's index, `digests/index.txt`: which archived digests exist.
//!
//! Format: the size of every archived digest (`digests/<size>`), in decimal without
//! leading zeros, strictly ascending, one per line, every line ending in `\n`. An empty
//! archive is the empty file. The index is not signed: it only says where to look. Each
//! digest it names is verified on its own, and consecutive ones for consistency, so a
//! wrong index can hide digests but never make an inconsistent history pass.

use crate::checkpoint::parse_decimal;

/// The largest index accepted: 4 MiB, about 200,000 digests.
pub const MAX_DIGEST_INDEX: usize = 4 << 20;

/// Why a digest index was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestIndexError {
    /// Larger than [`MAX_DIGEST_INDEX`].
    #[error("digest index is {0} bytes, more than the {MAX_DIGEST_INDEX} accepted")]
    TooLarge(usize),
    /// A line is not a canonical decimal size.
    #[error("digest index line {line}: expected a decimal size, found {found:?}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// The line (at most 40 characters of it).
        found: String,
    },
    /// Sizes must be strictly ascending.
    #[error("digest index line {line}: size {found} does not follow {previous} (sizes ascend)")]
    NotAscending {
        /// 1-based line number.
        line: usize,
        /// The size on the line before.
        previous: u64,
        /// The size found.
        found: u64,
    },
    /// The last line has no `\n`.
    #[error("digest index does not end with a newline")]
    NoFinalNewline,
}

/// Writes the index for `sizes` (sorted and deduplicated here).
pub fn encode_digest_index(sizes: &[u64]) -> String {
    let mut v = sizes.to_vec();
    v.sort_unstable();
    v.dedup();
    v.iter().map(|s| format!("{s}\n")).collect()
}

/// Parses an index strictly (see the module documentation).
pub fn parse_digest_index(bytes: &[u8]) -> Result<Vec<u64>, DigestIndexError> {
    if bytes.len() > MAX_DIGEST_INDEX {
        return Err(DigestIndexError::TooLarge(bytes.len()));
    }
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let Some(body) = bytes.strip_suffix(b"\n") else {
        return Err(DigestIndexError::NoFinalNewline);
    };
    let mut out: Vec<u64> = Vec::new();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let size = core::str::from_utf8(line)
            .ok()
            .and_then(parse_decimal)
            .ok_or_else(|| DigestIndexError::BadLine {
                line: i + 1,
                found: String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned(),
            })?;
        if let Some(&previous) = out.last() {
            if size <= previous {
                return Err(DigestIndexError::NotAscending {
                    line: i + 1,
                    previous,
                    found: size,
                });
            }
        }
        out.push(size);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_indexes_say_where_and_what() {
        assert_eq!(parse_digest_index(b""), Ok(vec![]));
        assert_eq!(parse_digest_index(b"1\n5\n"), Ok(vec![1, 5]));
        assert_eq!(
            parse_digest_index(b"1\n5"),
            Err(DigestIndexError::NoFinalNewline)
        );
        assert_eq!(
            parse_digest_index(b"1\n05\n"),
            Err(DigestIndexError::BadLine {
                line: 2,
                found: "05".into()
            })
        );
        assert_eq!(
            parse_digest_index(b"1\n\n"),
            Err(DigestIndexError::BadLine {
                line: 2,
                found: "".into()
            })
        );
        assert_eq!(
            parse_digest_index(b"7\n7\n"),
            Err(DigestIndexError::NotAscending {
                line: 2,
                previous: 7,
                found: 7
            })
        );
        assert!(matches!(
            parse_digest_index(&vec![b'1'; MAX_DIGEST_INDEX + 1]),
            Err(DigestIndexError::TooLarge(_))
        ));
    }
}
