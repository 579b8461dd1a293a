//! What the process takes from its surroundings, in one small home: randomness, the
//! clock, the shutdown signal. Everything else receives these as values.

use std::time::{SystemTime, UNIX_EPOCH};

use liveledger_core::time::Timestamp;

use crate::error::{Error, Result};

/// 32 bytes from the system's random source (key seeds, commitment salts, tokens).
pub fn random_seed() -> Result<[u8; 32]> {
    let mut s = [0u8; 32];
    getrandom::fill(&mut s)
        .map_err(|e| Error::Io(format!("no randomness from the system: {e}")))?;
    Ok(s)
}

/// The wall clock now, to the millisecond.
pub fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix(d.as_secs() as i64, d.subsec_millis() * 1_000_000)
        .unwrap_or_else(|| Timestamp::from_unix(0, 0).expect("the epoch is a valid time"))
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn signalled() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
