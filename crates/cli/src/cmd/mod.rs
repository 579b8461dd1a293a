//! One file per command: its flags (clap) and a call into the library crates.
//! What several commands share is here.

pub mod add_author;
pub mod append;
pub mod correct;
pub mod demo;
pub mod ingest;
pub mod init;
pub mod policy;
pub mod publish;
pub mod reveal;
pub mod serve;
pub mod token;
pub mod verify;
pub mod witness;

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use liveledger_publisher::Writer;
use liveledger_server as server;
use liveledger_store as store;

use crate::error::{Error, Result};

/// What every server of the CLI (`serve`, `witness serve`) is told about its HTTP side.
#[derive(clap::Args)]
struct HttpFlags {
    /// PEM certificate chain: serve HTTPS (h2 or http/1.1 by ALPN). Needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Where the access log goes (JSON lines): a file, or `-` for stderr.
    #[arg(long, default_value = "-")]
    access_log: String,
    /// No access log.
    #[arg(long, conflicts_with = "access_log")]
    no_access_log: bool,
    /// Serve Prometheus metrics on this address, at /metrics.
    #[arg(long)]
    metrics_addr: Option<String>,
}

impl HttpFlags {
    fn tls(&self) -> Option<(PathBuf, PathBuf)> {
        self.tls_cert.clone().zip(self.tls_key.clone())
    }
    fn access_log(&self) -> server::AccessLog {
        match (self.no_access_log, self.access_log.as_str()) {
            (true, _) => server::AccessLog::Off,
            (false, "-") => server::AccessLog::Stderr,
            (false, f) => server::AccessLog::File(f.into()),
        }
    }
}

/// Prints a server's addresses (the first line names what it serves), surviving a closed
/// stdout (a server must not die because whoever started it stopped reading).
fn print_listening(first: &str, running: &server::Running) {
    use std::io::Write as _;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{first} on {}", running.urls[0]);
    for u in &running.urls[1..] {
        let _ = writeln!(out, "  also {u}");
    }
    let _ = out.flush();
}

/// Reports the witnesses' answers at the writer's last publish, if it has a witness
/// policy. The exit status: 0, or 5 when the quorum was not met (what was appended is
/// durable; the published digest stays the last witnessed one; `publish` tries again).
fn witnessed(w: &Writer) -> i32 {
    let Some(g) = &w.witnessed else {
        return 0;
    };
    for l in g.summary() {
        eprintln!("liveledger: {l}");
    }
    if g.met {
        return 0;
    }
    eprintln!(
        "liveledger: the witness quorum {} was not met: size {} is durable, but the published digest stays at size {}, the last one witnessed; `liveledger publish` asks again",
        g.rule,
        w.size(),
        w.published_size()
    );
    5
}

/// A duration flag: between 0.05 s and a day.
fn seconds(v: f64, flag: &str) -> Result<Duration> {
    if !(0.05..=86_400.0).contains(&v) {
        return Err(Error::Usage(format!(
            "{flag} must be between 0.05 and 86400 seconds, found {v}"
        )));
    }
    Ok(Duration::from_secs_f64(v))
}

fn read_input(file: Option<&PathBuf>) -> Result<String> {
    let mut s = String::new();
    match file {
        Some(f) => {
            let b = store::read_capped(f, 1 << 30)?;
            s = String::from_utf8(b)
                .map_err(|_| Error::Input(format!("{} is not UTF-8", f.display())))?;
        }
        None => {
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::Io(format!("stdin: {e}")))?;
        }
    }
    Ok(s)
}
