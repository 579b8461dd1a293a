//! `liveledger token`: manage the bearer tokens of the append API.

use liveledger_server::tokens;
use liveledger_store::Store;

use super::*;
use crate::error::Result;

#[derive(clap::Subcommand)]
enum TokenAction {
    /// Create a token bound to an author key, kinds and sources; prints it once.
    Add {
        dir: PathBuf,
        name: String,
        /// The author key (in the key directory) its events are signed with.
        #[arg(long)]
        author: String,
        /// Kinds its events may have (comma-separated; `*` for any).
        #[arg(long, value_delimiter = ',', required = true)]
        kinds: Vec<String>,
        /// Sources its events may have (comma-separated; `*` for any).
        #[arg(long, value_delimiter = ',', required = true)]
        sources: Vec<String>,
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// List the tokens (never their secrets).
    List {
        dir: PathBuf,
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Revoke a token: the server refuses it from its next request.
    Revoke {
        dir: PathBuf,
        name: String,
        #[arg(long)]
        keys: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: TokenAction,
}

pub fn run(Args { action }: Args) -> Result<i32> {
    match action {
        TokenAction::Add {
            dir,
            name,
            author,
            kinds,
            sources,
            keys,
        } => {
            let store = Store::new(&dir, keys.as_deref())?;
            let secret = tokens::Tokens::add(&store, &name, &author, kinds, sources)?;
            eprintln!("token {name:?} created; it is shown once, keep it secret:");
            println!("{secret}");
            Ok(0)
        }
        TokenAction::List { dir, keys } => {
            let store = Store::new(&dir, keys.as_deref())?;
            let t = tokens::Tokens::load(&store)?;
            for t in &t.all {
                let state = match &t.revoked {
                    Some(r) => format!("revoked {r}"),
                    None => "live".to_owned(),
                };
                println!(
                    "{}\tauthor={}\tkinds={}\tsources={}\tcreated {}\t{state}",
                    t.name,
                    t.author,
                    t.kinds.join(","),
                    t.sources.join(","),
                    t.created
                );
            }
            Ok(0)
        }
        TokenAction::Revoke { dir, name, keys } => {
            let store = Store::new(&dir, keys.as_deref())?;
            tokens::Tokens::revoke(&store, &name)?;
            println!("token {name:?} revoked");
            Ok(0)
        }
    }
}
