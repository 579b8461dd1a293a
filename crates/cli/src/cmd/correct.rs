//! `liveledger correct`: append a correction of event SEQ: an amended payload, or a void.

use std::path::PathBuf;

use liveledger_publisher::{self as ledger, Writer};
use liveledger_store::Store;
use serde_json::json;

use super::*;
use crate::error::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    dir: PathBuf,
    #[arg(long)]
    seq: u64,
    /// The corrected payload (JSON).
    #[arg(long, conflicts_with = "void")]
    body: Option<String>,
    /// Withdraw the event.
    #[arg(long)]
    void: bool,
    #[arg(long)]
    reason: Option<String>,
    #[arg(long)]
    author: Option<String>,
    #[arg(long)]
    keys: Option<PathBuf>,
}

pub fn run(
    Args {
        dir,
        seq,
        body,
        void,
        reason,
        author,
        keys,
    }: Args,
) -> Result<i32> {
    let store = Store::new(&dir, keys.as_deref())?;
    let mut w = Writer::open(&store)?;
    let target = w.event(seq)?;
    let mut v = json!({"kind": "correction", "source": target.source, "corrects": {"seq": seq, "mode": if void { "void" } else { "amend" }}});
    match (body, void) {
        (Some(b), false) => {
            v["body"] = serde_json::from_str(&b)
                .map_err(|e| Error::Usage(format!("--body is not JSON: {e}")))?;
            if let Some(k) = &target.key {
                v["key"] = json!(k);
            }
        }
        (None, true) => {}
        _ => return Err(Error::Usage("pass --body JSON to amend, or --void".into())),
    }
    if let Some(r) = reason {
        v["reason"] = json!(r);
    }
    let batch = vec![ledger::pending(1, v, None)?];
    let a = w.author(author.as_deref())?;
    let seqs = w.append(batch, &a)?;
    println!("appended correction {} of event {seq}", seqs[0].seq);
    Ok(witnessed(&w))
}
