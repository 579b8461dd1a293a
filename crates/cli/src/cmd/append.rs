//! `liveledger append`: append events (JSON lines) from stdin or a file; a bad line appends nothing.

use std::path::PathBuf;

use liveledger_publisher::{self as ledger, Writer};
use liveledger_store::Store;

use super::*;
use crate::error::Result;

#[derive(clap::Args)]
pub struct Args {
    dir: PathBuf,
    /// Read from this file instead of stdin.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Sign as this author (default: an admin key in the key directory).
    #[arg(long)]
    author: Option<String>,
    /// The source for lines that name none.
    #[arg(long)]
    source: Option<String>,
    /// Opaque entries, one per line (for logs made with `init --raw`).
    #[arg(long)]
    raw: bool,
    /// With --raw: publish a checkpoint after each entry.
    #[arg(long)]
    each: bool,
    #[arg(long)]
    keys: Option<PathBuf>,
}

pub fn run(
    Args {
        dir,
        file,
        author,
        source,
        raw,
        each,
        keys,
    }: Args,
) -> Result<i32> {
    let store = Store::new(&dir, keys.as_deref())?;
    let input = read_input(file.as_ref())?;
    let mut w = Writer::open(&store)?;
    if raw {
        let entries: Vec<Vec<u8>> = input.lines().map(|l| l.as_bytes().to_vec()).collect();
        let n = entries.len();
        w.append_raw(entries, each)?;
        println!("appended {n} entries; the log has {}", w.size());
        return Ok(0);
    }
    let batch = ledger::parse_lines(&input, source.as_deref())?;
    let a = w.author(author.as_deref())?;
    let seqs = w.append(batch, &a)?;
    let code = witnessed(&w);
    println!(
        "appended events {}..={}; the ledger has {} events (durable, {})",
        seqs[0].seq,
        seqs[seqs.len() - 1].seq,
        w.size(),
        if code == 0 {
            "digest published"
        } else {
            "digest not yet witnessed"
        }
    );
    Ok(code)
}
