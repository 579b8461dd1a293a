//! `liveledger reveal`: print a private payload and its salt, so its commitment can be checked.

use std::path::PathBuf;

use liveledger_store::{self as store, Store};

use crate::error::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    dir: PathBuf,
    #[arg(long)]
    seq: u64,
    #[arg(long)]
    keys: Option<PathBuf>,
}

pub fn run(Args { dir, seq, keys }: Args) -> Result<i32> {
    let store = Store::new(&dir, keys.as_deref())?;
    let p = store.private(seq);
    let b = store::read_capped(&p, 1 << 20).map_err(|_| {
        Error::Usage(format!(
            "event {seq} has no private payload in {}",
            store.keys.display()
        ))
    })?;
    println!("{}", String::from_utf8_lossy(&b));
    Ok(0)
}
