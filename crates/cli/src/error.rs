//! The binary's edge: each fault's exit code, verdict code and hint.
//!
//! Exit codes (a stable contract, see README): 0 verified / done; 1 verification failed
//! (the ledger or log is not what it claims); 2 usage or bad input; 3 I/O or network
//! failure (could not read, write or fetch); 4 another writer holds the lock; 5 appended
//! and durable, but the witness quorum was not met, so the published digest did not move.

use liveledger_core::verdict::Code;
pub use liveledger_store::{Error, Result};

/// The process's exit code for `e`.
pub fn exit_code(e: &Error) -> i32 {
    match e {
        // What the log served is not what it claims (malformed included): 1.
        Error::Refused(Code::NoKey, _) => 2,
        Error::Refused(Code::FetchFailed | Code::NotFound, _) => 3,
        Error::Refused(..) => 1,
        Error::Corrupt(_) => 1,
        Error::Usage(_) | Error::Input(_) | Error::Line { .. } => 2,
        Error::Io(_) => 3,
        Error::Busy(_) => 4,
    }
}

/// The verdict code `e` is reported with in `verify --json`.
pub fn code(e: &Error) -> Code {
    match e {
        Error::Refused(c, _) => *c,
        Error::Io(_) => Code::FetchFailed,
        Error::Usage(_)
        | Error::Input(_)
        | Error::Line { .. }
        | Error::Corrupt(_)
        | Error::Busy(_) => Code::BadInput,
    }
}

/// The next step to suggest after `e`, where one is obvious.
pub fn hint(e: &Error) -> Option<&'static str> {
    match e {
        Error::Busy(_) => Some("wait for the other writer to finish; a crashed writer's lock is released by the system"),
        Error::Corrupt(_) => Some("run `liveledger verify DIR` to see what is wrong; published files are never repaired silently"),
        _ => None,
    }
}
