//! `liveledger correct`: append a correction of event SEQ: an amended payload, or a void.

use std::path::PathBuf;

use liveledger_publisher::Writer;
use liveledger_store::Store;

use liveledger_core::event::{Change, EventDraft};
use liveledger_publisher::Pending;

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
    let change = match (body, void) {
        (Some(b), false) => Change::Amend(
            serde_json::from_str(&b)
                .map_err(|e| Error::Usage(format!("--body is not JSON: {e}")))?,
        ),
        (None, true) => Change::Void,
        _ => return Err(Error::Usage("pass --body JSON to amend, or --void".into())),
    };
    let batch = vec![Pending {
        line: 1,
        draft: EventDraft::correction(&target, change, reason.as_deref()),
        private: None,
    }];
    let a = w.author(author.as_deref())?;
    let seqs = w.append(batch, &a)?;
    println!("appended correction {} of event {seq}", seqs[0].seq);
    Ok(witnessed(&w))
}
