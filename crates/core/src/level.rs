//! What a verifier checks of a log: its tree only, or every entry as a Live Ledger
//! event too. Below both `audit`, which checks at a level, and `trust`, which decides the
//! level from what is trusted (the metadata's `entries`, or the caller's word).

/// What is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Any C2SP tlog-tiles log: entries are opaque.
    Log,
    /// A Live Ledger: every entry is also an event, checked in order.
    Ledger,
}
