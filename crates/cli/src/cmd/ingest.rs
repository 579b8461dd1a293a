//! `liveledger ingest`: append events from a Kafka topic, in batches, exactly once, until stopped.

use std::path::PathBuf;
use std::time::Duration;

use liveledger_ingest as ingest;
use liveledger_server as server;
use liveledger_store::Store;

use super::*;
use crate::error::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    dir: PathBuf,
    /// Kafka bootstrap brokers, HOST:PORT (repeat, or separate with commas).
    #[arg(long, required = true, value_delimiter = ',')]
    brokers: Vec<String>,
    /// The topic to consume (every partition).
    #[arg(long)]
    topic: String,
    /// Commit each published batch's offsets to this consumer group (as a standalone
    /// consumer: no group membership). Reading always resumes from the ledger's own.
    #[arg(long)]
    group: Option<String>,
    /// Where a first run starts on each partition: its earliest message, or its end.
    #[arg(long, value_parser = ["earliest", "latest"], default_value = "earliest")]
    from: String,
    /// A batch ends at this many messages ...
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// ... or this many milliseconds after its first one.
    #[arg(long, default_value_t = 200)]
    linger_ms: u64,
    /// Sign as this author (default: an admin key in the key directory).
    #[arg(long)]
    author: Option<String>,
    /// The source of events that name none.
    #[arg(long)]
    source: Option<String>,
    /// Send invalid messages, with the reason, to this topic (partition 0) ...
    #[arg(long)]
    dead_letter_topic: Option<String>,
    /// ... or append them to this file as JSON lines (default: DIR.keys/dead-letters.jsonl).
    #[arg(long, conflicts_with = "dead_letter_topic")]
    dead_letter_file: Option<PathBuf>,
    /// Serve Prometheus metrics (events, dead letters, lag, event-to-digest time) here.
    #[arg(long)]
    metrics_addr: Option<String>,
    /// Stop after this many batches (default: run until SIGTERM or Ctrl-C).
    #[arg(long)]
    max_batches: Option<u64>,
    /// The private key directory (default: DIR.keys beside DIR).
    #[arg(long)]
    keys: Option<PathBuf>,
}

pub fn run(
    Args {
        dir,
        brokers,
        topic,
        group,
        from,
        batch,
        linger_ms,
        author,
        source,
        dead_letter_topic,
        dead_letter_file,
        metrics_addr,
        max_batches,
        keys,
    }: Args,
) -> Result<i32> {
    let store = Store::new(&dir, keys.as_deref())?;
    if batch == 0 {
        return Err(Error::Usage("--batch must be at least 1".into()));
    }
    let _metrics = match &metrics_addr {
        Some(a) => {
            let m = server::start_metrics(a, vec![ingest::describe_metrics])?;
            print_listening("ingest metrics", &m);
            Some(m)
        }
        None => None,
    };
    let dead_letters = match dead_letter_topic {
        Some(t) => ingest::DeadLetters::Topic(t),
        None => ingest::DeadLetters::File(
            dead_letter_file.unwrap_or_else(|| store.keys.join("dead-letters.jsonl")),
        ),
    };
    let n = ingest::run(
        &store,
        ingest::Options {
            brokers,
            topic,
            group,
            from_latest: from == "latest",
            batch,
            linger: Duration::from_millis(linger_ms),
            author,
            source,
            dead_letters,
            max_batches,
        },
    )?;
    eprintln!("liveledger: ingest stopped after {n} events");
    Ok(0)
}
