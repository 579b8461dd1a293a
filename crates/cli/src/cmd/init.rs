//! `liveledger init`: create a new ledger in DIR, with its keys in a private key directory beside it.

use std::path::PathBuf;

use liveledger_core::note::{SignerKey, VerifierKey};
use liveledger_publisher::{self as ledger, InitOptions, Writer};
use liveledger_store::{self as store};

use crate::error::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    dir: PathBuf,
    /// The checkpoint origin: usually the URL prefix without scheme.
    #[arg(long)]
    origin: String,
    /// The first (admin) author key's name.
    #[arg(long, default_value = "admin")]
    author: String,
    /// How often digests are published, in seconds (verifiers call older ones stale).
    #[arg(long, default_value_t = 60)]
    cadence: u64,
    /// A plain C2SP log of opaque entries: no events, no authors.
    #[arg(long)]
    raw: bool,
    /// Import the log signing key from this file (Go PRIVATE+KEY+… form).
    #[arg(long)]
    log_key: Option<PathBuf>,
    /// A witness verifier key (repeatable).
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// How many witnesses must cosign.
    #[arg(long, default_value_t = 0)]
    witness_threshold: usize,
    /// The private key directory (default: DIR.keys beside DIR).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Publish the tree to an object store, s3://BUCKET[/PREFIX], instead of DIR
    /// (endpoint, region and credentials from the AWS_* variables); DIR then holds
    /// only store.json, and every later command on DIR uses the bucket.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
}

pub fn run(
    Args {
        dir,
        origin,
        author,
        cadence,
        raw,
        log_key,
        witnesses,
        witness_threshold,
        keys,
        store: bucket,
    }: Args,
) -> Result<i32> {
    let log_key = log_key
        .map(|p| {
            let s = store::read_capped(&p, 4096)?;
            SignerKey::parse(String::from_utf8_lossy(&s).trim())
                .map_err(|e| Error::Input(format!("{}: {e}", p.display())))
        })
        .transpose()?;
    let witnesses = witnesses
        .iter()
        .map(|w| VerifierKey::parse(w).map_err(|e| Error::Usage(format!("--witness: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let store = ledger::create(
        &dir,
        keys.as_deref(),
        bucket.as_deref(),
        InitOptions {
            origin: origin.clone(),
            author,
            cadence_seconds: cadence,
            raw,
            log_key,
            witnesses,
            witness_threshold,
        },
    )?;
    let w = Writer::open(&store)?;
    println!(
        "created {} ({}) with {} entries",
        dir.display(),
        origin,
        w.size()
    );
    println!("  log key   {}", w.meta.log_keys[0]);
    println!(
        "  keys in   {} (private; never publish it)",
        store.keys.display()
    );
    Ok(0)
}
