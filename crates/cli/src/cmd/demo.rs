//! `liveledger demo`: create a demo ledger, serve it, and keep appending events.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    #[arg(long, default_value = "target/demo/ledger")]
    dir: PathBuf,
    /// Seconds between appends.
    #[arg(long, default_value_t = 2.0)]
    interval: f64,
    /// A built browser verifier to serve with the ledger.
    #[arg(long)]
    app: Option<PathBuf>,
    /// Stop after this many appends (default: run until stopped).
    #[arg(long)]
    rounds: Option<u64>,
    /// A site (the embed example) to serve on a second origin.
    #[arg(long)]
    embed: Option<PathBuf>,
    #[arg(long, default_value = "127.0.0.1:8081")]
    embed_addr: String,
}

pub fn run(
    Args {
        addr,
        dir,
        interval,
        app,
        rounds,
        embed,
        embed_addr,
    }: Args,
) -> Result<i32> {
    if !(0.05..=3600.0).contains(&interval) {
        return Err(Error::Usage(
            "--interval must be between 0.05 and 3600 seconds".into(),
        ));
    }
    let embed = embed.as_deref().map(|e| (e, embed_addr.as_str()));
    crate::demo::run(
        &dir,
        &addr,
        Duration::from_secs_f64(interval),
        app.as_deref(),
        rounds,
        embed,
    )?;
    Ok(0)
}
