//! Produces payment events to a Kafka topic, for trying `liveledger ingest` (and for
//! `cargo xtask bench-stream`):
//!
//! ```sh
//! cargo run --release -p liveledger-ingest --example produce -- 127.0.0.1:9092 payments 50000
//! ```
//!
//! Partition 0, in batches of 1,000 (the topic must exist); each value is one `append`
//! line: `{"kind":"payment","source":"erp","key":"inv/N","body":{"amount":"…"}}`.

use std::collections::BTreeMap;

use rskafka::client::partition::{Compression, UnknownTopicHandling};
use rskafka::client::ClientBuilder;
use rskafka::record::Record;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, broker, topic, n] = args.as_slice() else {
        return Err("usage: produce BROKER TOPIC N".into());
    };
    let n: u64 = n.parse().map_err(|_| format!("N {n:?} is not a number"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let client = ClientBuilder::new(vec![broker.clone()])
            .build()
            .await
            .map_err(|e| format!("{broker}: {e}"))?;
        let p = client
            .partition_client(topic.clone(), 0, UnknownTopicHandling::Retry)
            .await
            .map_err(|e| format!("{topic}: {e}"))?;
        let mut sent = 0;
        while sent < n {
            let batch: Vec<Record> = (sent..n.min(sent + 1000))
                .map(|i| Record {
                    key: None,
                    value: Some(
                        format!(r#"{{"kind":"payment","source":"erp","key":"inv/{i}","body":{{"amount":"{}.00"}}}}"#, i % 1000)
                            .into_bytes(),
                    ),
                    headers: BTreeMap::new(),
                    timestamp: chrono::Utc::now(),
                })
                .collect();
            sent += batch.len() as u64;
            p.produce(batch, Compression::NoCompression)
                .await
                .map_err(|e| format!("producing: {e}"))?;
        }
        Ok(())
    })
}
