//! `liveledger witness`: run a C2SP tlog-witness: cosign the checkpoints of the logs it is given.

use liveledger_core::note::VerifierKey;
use liveledger_server as server;
use liveledger_witness as witness;

use super::*;
use crate::error::{Error, Result};

#[derive(clap::Subcommand)]
enum WitnessAction {
    /// Create a witness: its key (0600, in a 0700 directory) and state; prints its
    /// verifier key as the last line.
    Init {
        wdir: PathBuf,
        /// The witness's name (its key's name), e.g. witness.example.org/w1.
        #[arg(long)]
        name: String,
    },
    /// Serve POST /add-checkpoint (and the monitoring read) for the given logs.
    Serve {
        wdir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:7380")]
        addr: String,
        /// A log to witness: its verifier key (its name is the log's origin). Repeatable.
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
        #[command(flatten)]
        http: HttpFlags,
        /// The witness's public URL, for its witness.v0.json (default: the bound address).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: WitnessAction,
}

pub fn run(Args { action }: Args) -> Result<i32> {
    match action {
        WitnessAction::Init { wdir, name } => {
            let keys = witness::init(&wdir, &name)?;
            eprintln!(
                "witness {name:?} created in {}; its verifier keys (for logs' policies): \
             ML-DSA-44 (subtree/v1), then Ed25519 (cosignature/v1); it cosigns with both",
                wdir.display()
            );
            println!("{}", keys.mldsa);
            println!("{}", keys.ed25519);
            Ok(0)
        }
        WitnessAction::Serve {
            wdir,
            addr,
            logs,
            http,
            url,
        } => {
            let logs = logs
                .iter()
                .map(|k| {
                    VerifierKey::parse(k).map_err(|e| {
                        Error::Usage(format!("--log {k:?}: expected a log's verifier key: {e}"))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let w = std::sync::Arc::new(witness::Witness::open(&wdir, logs)?);
            let vkey = w.verifier();
            let running = server::start(server::Options {
                root: None,
                routes: Some(witness::router(w.clone())),
                addr,
                tls: http.tls(),
                access_log: http.access_log(),
                metrics_addr: http.metrics_addr.clone(),
                api: None,
                limits: server::Limits::default(),
                metrics_of: vec![witness::describe_metrics],
            })?;
            let _ = w.url.set(url.unwrap_or_else(|| running.urls[0].clone()));
            print_listening(&format!("witness {vkey}"), &running);
            running.until_signalled();
            Ok(0)
        }
    }
}
