//! `liveledger policy`: set the ledger's witness policy (a C2SP tlog-policy file whose witness lines carry

use std::path::PathBuf;

use liveledger_publisher::Writer;
use liveledger_store::{self as store, Store};

use super::*;
use crate::error::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    dir: PathBuf,
    file: PathBuf,
    #[arg(long)]
    keys: Option<PathBuf>,
}

pub fn run(Args { dir, file, keys }: Args) -> Result<i32> {
    let store = Store::new(&dir, keys.as_deref())?;
    let text = store::read_capped(&file, liveledger_core::policy::MAX_POLICY as u64 + 1)?;
    let mut w = Writer::open(&store)?;
    let policy = w.set_policy(&text).map_err(|e| match e {
        Error::Input(m) => Error::Input(format!("{}: {m}", file.display())),
        other => other,
    })?;
    for wit in policy.witnesses.iter().filter(|w| w.url.is_none()) {
        eprintln!(
            "liveledger: note: witness {} has no URL in the policy: it will not be asked",
            wit.name
        );
    }
    println!("policy set: quorum {}", policy.evaluate(&[]).rule);
    // The current size, witnessed under the new policy.
    w.republish()?;
    let code = witnessed(&w);
    if code == 0 {
        println!("published a witnessed digest of size {}", w.size());
    }
    Ok(code)
}
