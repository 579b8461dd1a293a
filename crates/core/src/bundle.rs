//! Entry bundles (C2SP tlog-tiles): entries as big-endian u16 length ‖ bytes.
//!
//! ```text
//! 00 03 6f 6e 65  00 03 74 77 6f     "one", "two"
//! ```
//! A bundle must hold exactly the number of entries its width says; a truncated length
//! or entry, or bytes after the last entry, are rejected.

use crate::tiles::MAX_ENTRY_SIZE;

/// A bundle is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// An entry too large for the u16 length prefix.
    #[error("entry {index} is {len} bytes, more than the 65535 a bundle can hold")]
    EntryTooLarge {
        /// Its position.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// The bundle ended inside an entry or a length prefix.
    #[error("bundle ends inside entry {index}: {missing} more bytes expected")]
    Truncated {
        /// The entry cut short.
        index: u64,
        /// Bytes still expected.
        missing: usize,
    },
    /// The bundle holds fewer entries than its width.
    #[error("bundle holds {found} entries, expected {expected}")]
    TooFewEntries {
        /// The width.
        expected: u64,
        /// Entries found.
        found: u64,
    },
    /// Bytes after the last entry the width allows.
    #[error("bundle has {extra} bytes after its {expected} entries")]
    TrailingBytes {
        /// The width.
        expected: u64,
        /// Extra bytes seen.
        extra: usize,
    },
}

/// Writes entries as a bundle.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, BundleError> {
    let total: usize = entries.iter().map(|e| e.as_ref().len() + 2).sum();
    let mut out = Vec::with_capacity(total);
    for (index, e) in entries.iter().enumerate() {
        let e = e.as_ref();
        if e.len() > MAX_ENTRY_SIZE {
            return Err(BundleError::EntryTooLarge {
                index,
                len: e.len(),
            });
        }
        out.extend_from_slice(&(e.len() as u16).to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Splits a bundle that must hold exactly `width` entries.
pub fn decode_bundle(bytes: &[u8], width: u64) -> Result<Vec<&[u8]>, BundleError> {
    let mut out = Vec::with_capacity(width.min(256) as usize);
    let mut rest = bytes;
    for index in 0..width {
        if rest.is_empty() {
            return Err(BundleError::TooFewEntries {
                expected: width,
                found: index,
            });
        }
        if rest.len() < 2 {
            return Err(BundleError::Truncated {
                index,
                missing: 2 - rest.len(),
            });
        }
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        if rest.len() - 2 < len {
            return Err(BundleError::Truncated {
                index,
                missing: len - (rest.len() - 2),
            });
        }
        out.push(&rest[2..2 + len]);
        rest = &rest[2 + len..];
    }
    if !rest.is_empty() {
        return Err(BundleError::TrailingBytes {
            expected: width,
            extra: rest.len(),
        });
    }
    Ok(out)
}

/// Decodes a bundle fed in chunks as they arrive from the network, holding at most one
/// entry (≤ 64 KiB) in memory.
#[derive(Debug, Clone)]
pub struct BundleDecoder {
    width: u64,
    done: u64,
    /// Bytes of the current length prefix or entry.
    buf: Vec<u8>,
    /// Length of the current entry once its prefix is complete.
    want: Option<usize>,
    extra: usize,
}

impl BundleDecoder {
    /// A decoder for a bundle of `width` entries.
    pub fn new(width: u64) -> Self {
        BundleDecoder {
            width,
            done: 0,
            buf: Vec::new(),
            want: None,
            extra: 0,
        }
    }

    /// Entries decoded so far.
    pub fn entries_done(&self) -> u64 {
        self.done
    }

    /// Feeds the next chunk; `on_entry` gets each complete entry in order. An error from
    /// `on_entry` stops decoding and is returned.
    pub fn feed<E>(
        &mut self,
        mut chunk: &[u8],
        mut on_entry: impl FnMut(u64, &[u8]) -> Result<(), E>,
    ) -> Result<(), FeedError<E>> {
        while !chunk.is_empty() {
            if self.done == self.width {
                self.extra += chunk.len();
                return Err(FeedError::Bundle(BundleError::TrailingBytes {
                    expected: self.width,
                    extra: self.extra,
                }));
            }
            match self.want {
                None => {
                    let take = (2 - self.buf.len()).min(chunk.len());
                    self.buf.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if self.buf.len() == 2 {
                        self.want = Some(u16::from_be_bytes([self.buf[0], self.buf[1]]) as usize);
                        self.buf.clear();
                    }
                }
                Some(len) => {
                    // Fast path: a whole entry in the chunk, no copy.
                    if self.buf.is_empty() && chunk.len() >= len {
                        on_entry(self.done, &chunk[..len]).map_err(FeedError::Entry)?;
                        chunk = &chunk[len..];
                    } else {
                        let take = (len - self.buf.len()).min(chunk.len());
                        self.buf.extend_from_slice(&chunk[..take]);
                        chunk = &chunk[take..];
                        if self.buf.len() < len {
                            continue;
                        }
                        on_entry(self.done, &self.buf).map_err(FeedError::Entry)?;
                        self.buf.clear();
                    }
                    self.want = None;
                    self.done += 1;
                }
            }
        }
        // A zero-length last entry completes as soon as its prefix does.
        if let Some(0) = self.want {
            on_entry(self.done, &[]).map_err(FeedError::Entry)?;
            self.want = None;
            self.done += 1;
        }
        Ok(())
    }

    /// Declares the end of the bundle: every entry must be complete.
    pub fn finish(&self) -> Result<(), BundleError> {
        match self.want {
            Some(len) => Err(BundleError::Truncated {
                index: self.done,
                missing: len - self.buf.len(),
            }),
            None if !self.buf.is_empty() => Err(BundleError::Truncated {
                index: self.done,
                missing: 2 - self.buf.len(),
            }),
            None if self.done < self.width => Err(BundleError::TooFewEntries {
                expected: self.width,
                found: self.done,
            }),
            None => Ok(()),
        }
    }
}

/// Feeding a chunk failed: the bundle is malformed, or the entry callback refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedError<E> {
    /// The bundle framing is wrong.
    Bundle(BundleError),
    /// The callback returned this error.
    Entry(E),
}
