//! CLI errors, their exit codes and their hints.
//!
//! Exit codes (a stable contract, see README): 0 verified / done; 1 verification failed
//! (the ledger or log is not what it claims); 2 usage or bad input; 3 I/O or network
//! failure (could not read, write or fetch); 4 another writer holds the lock; 5 appended
//! and durable, but the witness quorum was not met, so the published digest did not move.

use std::fmt;
use std::path::Path;

use liveledger_core::verdict::Code;

pub type Result<T, E = CliError> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum CliError {
    /// Wrong flags or arguments.
    Usage(String),
    /// Bad input data (a key, a JSON line, a file).
    Input(String),
    /// Reading, writing or fetching failed.
    Io(String),
    /// Verification failed; the text says what and where.
    Verification(String),
    /// The ledger on disk is not in a state this writer can continue from.
    Corrupt(String),
    /// Another writer holds the lock.
    Busy(String),
    /// A verifier's verdict, with the core's code for it (the one `verify --json`, the
    /// JS module and the page report).
    Refused(Code, String),
}

impl CliError {
    pub fn io(path: &Path, e: std::io::Error) -> Self {
        CliError::Io(format!("{}: {e}", path.display()))
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            // What the log served is not what it claims (malformed included): 1.
            CliError::Refused(Code::NoKey, _) => 2,
            CliError::Refused(Code::FetchFailed | Code::NotFound, _) => 3,
            CliError::Refused(..) => 1,
            CliError::Verification(_) | CliError::Corrupt(_) => 1,
            CliError::Usage(_) | CliError::Input(_) => 2,
            CliError::Io(_) => 3,
            CliError::Busy(_) => 4,
        }
    }

    /// The verdict code this error is reported with in `verify --json`.
    pub fn code(&self) -> Code {
        match self {
            CliError::Refused(c, _) => *c,
            CliError::Usage(_) | CliError::Input(_) | CliError::Corrupt(_) | CliError::Busy(_) => {
                Code::BadInput
            }
            CliError::Io(_) => Code::FetchFailed,
            CliError::Verification(_) => Code::Tampered,
        }
    }

    pub fn hint(&self) -> Option<&'static str> {
        match self {
            CliError::Busy(_) => Some("wait for the other writer to finish; a crashed writer's lock is released by the system"),
            CliError::Corrupt(_) => Some("run `liveledger verify DIR` to see what is wrong; published files are never repaired silently"),
            _ => None,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(s)
            | CliError::Input(s)
            | CliError::Io(s)
            | CliError::Verification(s)
            | CliError::Corrupt(s)
            | CliError::Busy(s)
            | CliError::Refused(_, s) => f.write_str(s),
        }
    }
}
