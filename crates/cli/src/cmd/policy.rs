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
    let policy = liveledger_core::policy::Policy::parse(&text)
        .map_err(|e| Error::Input(format!("{}: {e}", file.display())))?;
    let text = String::from_utf8(text)
        .map_err(|_| Error::Input(format!("{}: not UTF-8", file.display())))?;
    let mut w = Writer::open(&store)?;
    if !policy.logs.is_empty() && !policy.logs.iter().any(|(k, _)| w.meta.log_keys.contains(k)) {
        return Err(Error::Input(format!(
            "{}: its log lines do not name this ledger's key {}",
            file.display(),
            w.meta.log_keys[0]
        )));
    }
    for wit in policy.witnesses.iter().filter(|w| w.url.is_none()) {
        eprintln!(
            "liveledger: note: witness {} has no URL in the policy: it will not be asked",
            wit.name
        );
    }
    w.set_policy(&text)?;
    println!("policy set: quorum {}", policy.evaluate(&[]).rule);
    // The current size, witnessed under the new policy.
    w.republish()?;
    let code = witnessed(&w);
    if code == 0 {
        println!("published a witnessed digest of size {}", w.size());
    }
    Ok(code)
}
