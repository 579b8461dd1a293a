//! The faults of the shell around the core (storage, the publisher, the servers, ingest),
//! by whose fault they are. Each crate returns these; the binary maps them to exit codes
//! and the servers to HTTP statuses, once, at their edge.

use std::path::Path;

use liveledger_core::verdict::Code;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// Wrong flags, arguments or options: the caller's mistake.
    #[error("{0}")]
    Usage(String),
    /// Bad input data (a key, a JSON line, a file).
    #[error("{0}")]
    Input(String),
    /// One line (event) of an append's input is bad; nothing of the batch was appended.
    #[error("line {line}: {reason}")]
    Line {
        /// The line (1-based) of the input, or the event of the batch.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading, writing or fetching failed.
    #[error("{0}")]
    Io(String),
    /// The ledger on disk is not in a state this writer can continue from.
    #[error("{0}")]
    Corrupt(String),
    /// Another writer holds the lock or the lease.
    #[error("{0}")]
    Busy(String),
    /// A verifier's verdict, with the core's code for it (the one `verify --json`, the
    /// JS module and the page report).
    #[error("{1}")]
    Refused(Code, String),
}

impl Error {
    /// An I/O failure on `path`.
    pub fn io(path: &Path, e: std::io::Error) -> Self {
        Error::Io(format!("{}: {e}", path.display()))
    }
}
