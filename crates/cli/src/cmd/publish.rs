//! `liveledger publish`: publish a fresh digest (a new signed time) and rewrite the digest pages.

use std::path::PathBuf;

use liveledger_publisher::Writer;
use liveledger_store::Store;

use super::*;
use crate::error::Result;

#[derive(clap::Args)]
pub struct Args {
    dir: PathBuf,
    #[arg(long)]
    keys: Option<PathBuf>,
}

pub fn run(Args { dir, keys }: Args) -> Result<i32> {
    let store = Store::new(&dir, keys.as_deref())?;
    let mut w = Writer::open(&store)?;
    w.republish()?;
    let code = witnessed(&w);
    if code == 0 {
        println!("published a fresh digest of size {}", w.size());
    }
    Ok(code)
}
