//! `liveledger add-author`: add an author key (a ledger.key.add event signed by an admin).

use std::path::PathBuf;

use liveledger_publisher::Writer;
use liveledger_store::Store;

use crate::error::Result;

#[derive(clap::Args)]
pub struct Args {
    dir: PathBuf,
    name: String,
    #[arg(long, default_value = "writer")]
    role: String,
    /// The admin that signs the change.
    #[arg(long)]
    author: Option<String>,
    #[arg(long)]
    keys: Option<PathBuf>,
}

pub fn run(
    Args {
        dir,
        name,
        role,
        author,
        keys,
    }: Args,
) -> Result<i32> {
    let store = Store::new(&dir, keys.as_deref())?;
    let mut w = Writer::open(&store)?;
    let admin = w.author(author.as_deref())?;
    let k = w.add_author(&name, &role, &admin)?;
    println!("added author {k} ({role})");
    Ok(0)
}
