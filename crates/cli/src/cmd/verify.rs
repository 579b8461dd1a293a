//! `liveledger verify`: verify a ledger or any C2SP tlog-tiles log, in a directory or at a URL.

use std::path::PathBuf;

use crate::error::Result;

#[derive(clap::Args)]
pub struct Args {
    /// A directory or an http(s) URL prefix.
    target: String,
    /// A trusted log verifier key (repeatable). Without it, the ledger's metadata is
    /// trusted on first use.
    #[arg(long = "key")]
    keys: Vec<String>,
    /// The expected checkpoint origin (default: from the metadata, else the key name).
    #[arg(long)]
    origin: Option<String>,
    /// A checkpoint you trusted before: the log must be consistent with it.
    #[arg(long)]
    since: Option<PathBuf>,
    /// A C2SP tlog-policy file: the checkpoint must meet its witness quorum (default:
    /// the policy in the ledger's metadata, if any).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Do not ask the policy's witnesses for the checkpoints they hold (by default each
    /// one's must be consistent with the log's: a split view fails with FORK).
    #[arg(long)]
    no_witness_check: bool,
    /// Fail if the digest's signed time is older than this (90s, 15m, 2h, 7d); without
    /// it, a digest older than twice the ledger's cadence (an hour's, if it names none)
    /// fails as STALE.
    #[arg(long)]
    max_age: Option<String>,
    /// Report a stale digest as a note, not a failure (an archive checked later).
    #[arg(long, conflicts_with = "max_age")]
    allow_stale: bool,
    /// Opaque entries: check the log, not events.
    #[arg(long)]
    log_only: bool,
    /// Check the digest archive too (digests/): every archived digest signed by the
    /// log, each extending the one before, the newest extending to the checkpoint.
    #[arg(long)]
    history: bool,
    /// With --history: check only the newest N archived digests.
    #[arg(long, value_name = "N", default_value_t = 100, requires = "history")]
    history_limit: usize,
    /// Keep a resume point in FILE: a later run continues from it, auditing only the
    /// new entries (the log must extend its checkpoint: FORK or ROLLBACK otherwise).
    /// One that does not hold is discarded with a note.
    #[arg(long, value_name = "FILE")]
    keep: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Threads checking event signatures (default: one per core; 1 checks them on
    /// the auditing thread).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(
    Args {
        target,
        keys,
        origin,
        since,
        policy,
        no_witness_check,
        max_age,
        allow_stale,
        log_only,
        history,
        history_limit,
        keep,
        json,
        threads,
    }: Args,
) -> Result<i32> {
    let max_age = max_age
        .as_deref()
        .map(crate::verify::parse_duration)
        .transpose()?;
    crate::verify::run(
        &target,
        crate::verify::VerifyOptions {
            keys,
            origin,
            since,
            policy,
            no_witness_check,
            max_age,
            allow_stale,
            log_only,
            history: history.then_some(history_limit),
            keep,
            json,
            progress: true,
            threads,
        },
    )
}
