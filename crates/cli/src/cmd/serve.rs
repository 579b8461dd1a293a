//! `liveledger serve`: serve a published ledger (and the browser verifier) over HTTP/1.1 and HTTP/2.

use std::path::PathBuf;

use liveledger_server as server;
use liveledger_store::{self as store, Store};

use super::*;
use crate::error::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    #[command(flatten)]
    http: HttpFlags,
    /// Serve the append API (POST /api/v1/events) on this address.
    #[arg(long)]
    api_addr: Option<String>,
    /// Serve the append API on the static port instead (--addr).
    #[arg(long, conflicts_with = "api_addr")]
    api_on_static_port: bool,
    /// Append requests per second per token.
    #[arg(long, default_value_t = 5)]
    api_rate: u32,
    /// Append requests a token may make at once above its rate.
    #[arg(long, default_value_t = 10)]
    api_burst: u32,
    /// The largest append request body, in bytes.
    #[arg(long, default_value_t = 8 << 20)]
    api_max_body: usize,
    /// The key directory (for the append API; default DIR.keys).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// At most this many connections at once.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// At most this many requests in flight; past it, 503 at once.
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,
    /// Seconds a client has to send a request head.
    #[arg(long, default_value_t = 10.0)]
    header_timeout: f64,
    /// Seconds a connection may stay idle (no byte either way).
    #[arg(long, default_value_t = 60.0)]
    idle_timeout: f64,
}

pub fn run(
    Args {
        dir,
        addr,
        http,
        api_addr,
        api_on_static_port,
        api_rate,
        api_burst,
        api_max_body,
        keys,
        max_connections,
        max_in_flight,
        header_timeout,
        idle_timeout,
    }: Args,
) -> Result<i32> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    // A ledger published to an object store is served from it.
    let bucket = match dir.join(store::STORE_FILE).exists() {
        true => Store::new(&dir, keys.as_deref())?.bucket(),
        false => None,
    };
    if bucket.is_none() && !dir.join(liveledger_core::layout::CHECKPOINT).exists() {
        eprintln!(
            "liveledger: note: {} has no checkpoint; serving it as plain static files",
            dir.display()
        );
    }
    let nonzero = |n: u32, flag: &str| {
        std::num::NonZeroU32::new(n)
            .ok_or_else(|| Error::Usage(format!("{flag} must be at least 1")))
    };
    let api = if api_addr.is_some() || api_on_static_port {
        Some(server::api::ApiOptions {
            addr: api_addr,
            store: Store::new(&dir, keys.as_deref())?,
            rate: nonzero(api_rate, "--api-rate")?,
            burst: nonzero(api_burst, "--api-burst")?,
            max_body: api_max_body,
        })
    } else {
        None
    };
    if max_connections == 0 || max_in_flight == 0 {
        return Err(Error::Usage(
            "--max-connections and --max-in-flight must be at least 1".into(),
        ));
    }
    let running = server::start(server::Options {
        root: bucket.is_none().then(|| dir.clone()),
        routes: bucket.map(server::objects::router),
        addr,
        tls: http.tls(),
        access_log: http.access_log(),
        metrics_addr: http.metrics_addr.clone(),
        api,
        limits: server::Limits {
            max_connections,
            max_in_flight,
            header_timeout: seconds(header_timeout, "--header-timeout")?,
            idle_timeout: seconds(idle_timeout, "--idle-timeout")?,
            ..server::Limits::default()
        },
        metrics_of: vec![],
    })?;
    print_listening(&format!("serving {}", dir.display()), &running);
    running.until_signalled();
    Ok(0)
}
