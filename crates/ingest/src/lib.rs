//! `liveledger ingest`: events from a Kafka topic, appended in batches, exactly once.
//!
//! The client is `rskafka` (pure Rust). Every partition of the topic is read in turn; a
//! batch ends at `--batch` events or `--linger` after its first one. Each message's value
//! must be a JSON object with the `append` line rules (`EventDraft::from_object`); the
//! message key supplies `key` when the object has none, and the event records where it
//! came from in its signed provenance, `"ingested_from": {"topic", "partition",
//! "offset"}`.
//!
//! **Exactly once.** The ledger itself is the record of what was consumed: each event
//! names its offset. `DIR.keys/ingest.json` (`{"size", "topics": {T: {partition: next
//! offset}}}`) is written after each batch is durable and published; on start it is
//! brought up to date from the events after its `size` (a crash between the two loses
//! nothing and appends nothing twice), and reading resumes there, never from what the
//! broker remembers. The first run on a topic starts at each partition's earliest offset
//! (`--from latest`: its end).
//!
//! **Dead letters.** A message that is not a valid event is never appended and never
//! dropped: it is written, with the reason, to the dead-letter file (JSON lines, fsynced)
//! or topic before the batch's offsets move past it. (A crash in between can write one
//! twice: dead letters are at-least-once.)
//!
//! **Consumer groups.** With `--group G`, each batch's offsets are committed to G once the
//! batch is durable and published ([`group`]: standalone commits, no membership), so the
//! usual lag tools see the ledger's progress. The ledger's own offsets stay the truth (as
//! above): a failed commit is reported, counted and made good by the next one. The lag is
//! also in the progress lines and, with `--metrics-addr`, on `/metrics`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rskafka::client::partition::{Compression, OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::ClientBuilder;
use rskafka::record::{Record, RecordAndOffset};
use serde_json::{json, Value};

use liveledger_publisher::{self as ledger, Pending, Writer};
use liveledger_store::{self as store, Error, Result, Store};

mod group;
pub use group::Group;

/// Appended events, by topic and partition.
pub const EVENTS: &str = "liveledger_ingest_events_total";
/// Messages sent to the dead letters, by topic and partition.
pub const DEAD: &str = "liveledger_ingest_dead_letters_total";
/// Messages behind the partition's high watermark.
pub const LAG: &str = "liveledger_ingest_lag_messages";
/// Offset commits to the consumer group that failed (each retried with the next batch).
pub const COMMIT_ERRORS: &str = "liveledger_ingest_group_commit_errors_total";
/// From a message's timestamp to its event's published digest.
pub const DELAY: &str = "liveledger_ingest_event_to_digest_seconds";

/// Describes ingest's series to the process's recorder (`start_metrics`'s `metrics_of`).
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(EVENTS, "events appended by `ingest`, by topic");
    describe_counter!(
        DEAD,
        "messages `ingest` sent to the dead letters, by topic and partition"
    );
    describe_gauge!(
        LAG,
        "messages behind the partition's high watermark (newest offset minus appended), by topic and partition"
    );
    describe_counter!(
        COMMIT_ERRORS,
        "offset commits to the consumer group that failed (each retried with the next batch)"
    );
    describe_histogram!(
        DELAY,
        Unit::Seconds,
        "from a message's timestamp to its event's published digest, by topic"
    );
}

/// Where invalid messages go.
pub enum DeadLetters {
    File(PathBuf),
    Topic(String),
}

pub struct Options {
    pub brokers: Vec<String>,
    pub topic: String,
    /// A consumer group to commit each published batch's offsets to.
    pub group: Option<String>,
    pub from_latest: bool,
    pub batch: usize,
    pub linger: Duration,
    pub author: Option<String>,
    pub source: Option<String>,
    pub dead_letters: DeadLetters,
    /// Stop after this many batches (tests and one-shot runs); default: until signalled.
    pub max_batches: Option<u64>,
}

/// What `ingest.json` holds.
#[derive(Default)]
struct Offsets {
    size: u64,
    /// topic → partition → the next offset to read.
    next: BTreeMap<String, BTreeMap<i32, i64>>,
}

fn state_path(store: &Store) -> PathBuf {
    store.keys.join("ingest.json")
}

fn load_offsets(store: &Store) -> Result<Offsets> {
    let p = state_path(store);
    if !p.exists() {
        return Ok(Offsets::default());
    }
    let b = store::read_capped(&p, 1 << 20)?;
    let v: Value =
        serde_json::from_slice(&b).map_err(|e| Error::Corrupt(format!("{}: {e}", p.display())))?;
    let mut o = Offsets {
        size: v["size"].as_u64().unwrap_or(0),
        ..Default::default()
    };
    for (t, parts) in v["topics"].as_object().into_iter().flatten() {
        for (p, n) in parts.as_object().into_iter().flatten() {
            if let (Ok(p), Some(n)) = (p.parse::<i32>(), n.as_i64()) {
                o.next.entry(t.clone()).or_default().insert(p, n);
            }
        }
    }
    Ok(o)
}

fn save_offsets(store: &Store, o: &Offsets) -> Result<()> {
    let topics: serde_json::Map<String, Value> = o
        .next
        .iter()
        .map(|(t, parts)| {
            let m: serde_json::Map<String, Value> = parts
                .iter()
                .map(|(p, n)| (p.to_string(), json!(n)))
                .collect();
            (t.clone(), Value::Object(m))
        })
        .collect();
    let v = json!({"size": o.size, "topics": topics});
    store::write_atomic(
        &state_path(store),
        format!("{}\n", canonical(&v)).as_bytes(),
    )
}

/// Brings `o` up to date with the events after `o.size` (their provenance names their
/// offsets): what a crash between a batch and `ingest.json` left behind.
fn reconcile(w: &Writer, o: &mut Offsets) -> Result<()> {
    for seq in o.size.min(w.size())..w.size() {
        let ev = w.event(seq)?;
        let Some(from) = ev.object.get("ingested_from") else {
            continue;
        };
        if let (Some(t), Some(p), Some(n)) = (
            from["topic"].as_str(),
            from["partition"].as_i64(),
            from["offset"].as_i64(),
        ) {
            let next = o
                .next
                .entry(t.to_owned())
                .or_default()
                .entry(p as i32)
                .or_insert(0);
            *next = (*next).max(n + 1);
        }
    }
    o.size = w.size();
    Ok(())
}

/// One message, with where it came from.
struct Message {
    partition: i32,
    offset: i64,
    record: Record,
}

/// The event a message asks for, or why it is not one.
fn pending(
    topic: &str,
    m: &Message,
    default_source: Option<&str>,
) -> std::result::Result<Pending, String> {
    let value = m
        .record
        .value
        .as_deref()
        .ok_or("the message has no value")?;
    let mut v: Value =
        serde_json::from_slice(value).map_err(|e| format!("the value is not JSON: {e}"))?;
    let obj = v
        .as_object_mut()
        .ok_or("the value is not a JSON object like {\"kind\": \"payment\", …}")?;
    if obj.contains_key("ingested_from") {
        return Err("the value has an `ingested_from` member; ingest writes it".into());
    }
    if !obj.contains_key("key") {
        if let Some(k) = &m.record.key {
            let k = std::str::from_utf8(k).map_err(|_| "the message key is not UTF-8")?;
            obj.insert("key".into(), json!(k));
        }
    }
    obj.insert(
        "ingested_from".into(),
        json!({"topic": topic, "partition": m.partition, "offset": m.offset}),
    );
    ledger::pending(1, v, default_source).map_err(|e| e.to_string())
}

/// Canonical JSON (members sorted by the writer, whatever serde_json's map).
fn canonical(v: &Value) -> String {
    liveledger_core::jcs::to_canonical(v).unwrap_or_default()
}

/// A dead letter's JSON: where the message was, why it was refused, and its bytes.
fn dead_letter(topic: &str, m: &Message, reason: &str) -> Value {
    let text = |b: &Option<Vec<u8>>| match b {
        None => Value::Null,
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => json!(s),
            Err(_) => json!({"base64": liveledger_core::b64::encode(b)}),
        },
    };
    json!({
        "topic": topic, "partition": m.partition, "offset": m.offset,
        "key": text(&m.record.key), "value": text(&m.record.value),
        "reason": reason,
        "timestamp": m.record.timestamp.timestamp_millis(),
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("runtime: {e}")))
}

/// Runs the ingestion until SIGTERM or Ctrl-C (or `max_batches`); returns how many events
/// it appended.
pub fn run(store: &Store, o: Options) -> Result<u64> {
    let rt = runtime()?;
    rt.block_on(run_async(store, o))
}

async fn run_async(store: &Store, o: Options) -> Result<u64> {
    let kafka = |e: rskafka::client::error::Error| {
        Error::Io(format!("kafka ({}): {e}", o.brokers.join(",")))
    };
    let client = ClientBuilder::new(o.brokers.clone())
        .build()
        .await
        .map_err(kafka)?;
    let topics = client.list_topics().await.map_err(kafka)?;
    let partitions: Vec<i32> = topics
        .iter()
        .find(|t| t.name == o.topic)
        .map(|t| t.partitions.iter().copied().collect())
        .ok_or_else(|| {
            Error::Usage(format!(
                "topic {:?} does not exist on {}",
                o.topic,
                o.brokers.join(",")
            ))
        })?;
    let mut clients: Vec<(i32, Arc<PartitionClient>)> = Vec::new();
    for p in &partitions {
        let c = client
            .partition_client(o.topic.clone(), *p, UnknownTopicHandling::Retry)
            .await
            .map_err(kafka)?;
        clients.push((*p, Arc::new(c)));
    }
    let dlq_client = match &o.dead_letters {
        DeadLetters::Topic(t) => Some(
            client
                .partition_client(t.clone(), 0, UnknownTopicHandling::Error)
                .await
                .map_err(|e| Error::Usage(format!("dead-letter topic {t:?}: {e}")))?,
        ),
        DeadLetters::File(_) => None,
    };

    // Where to resume: the ledger's own record, then the broker for what it never saw.
    let mut offsets = load_offsets(store)?;
    {
        let w = tokio::task::block_in_place(|| Writer::open(store))?;
        tokio::task::block_in_place(|| reconcile(&w, &mut offsets))?;
    }
    for (p, c) in &clients {
        if offsets.next.get(&o.topic).and_then(|m| m.get(p)).is_none() {
            let mut n = c.get_offset(OffsetAt::Earliest).await.map_err(kafka)?;
            if o.from_latest {
                // The end is the high watermark a fetch reports; ListOffsets "latest" is
                // not always that (Tansu 0.6 answers with the last batch's first offset
                // plus one), so it is only the answer for a topic a fetch finds empty.
                n = match c.fetch_records(n, 1..1024, 100).await {
                    Ok((_, hw)) => hw,
                    Err(_) => c.get_offset(OffsetAt::Latest).await.map_err(kafka)?,
                };
            }
            offsets
                .next
                .entry(o.topic.clone())
                .or_default()
                .insert(*p, n);
        }
    }
    // The group, if any: what it has committed, beside where the ledger resumes (a
    // group that is unreachable or refuses is an error now, not at the first batch).
    let mut group = match &o.group {
        None => None,
        Some(g) => {
            let mut group = Group::new(&o.brokers, g)?;
            let committed = group.committed(&o.topic, &partitions).await?;
            let said: Vec<String> = committed
                .iter()
                .map(|(p, n)| format!("{p}@{}", n.map_or("none".to_owned(), |n| n.to_string())))
                .collect();
            eprintln!(
                "liveledger: consumer group {g} has committed {}; reading resumes from the ledger's own offsets",
                said.join(" ")
            );
            Some(group)
        }
    };
    let start: Vec<String> = clients
        .iter()
        .map(|(p, _)| format!("{p}@{}", offsets.next[&o.topic][p]))
        .collect();
    eprintln!(
        "liveledger: ingesting topic {} (partitions from offset: {}) into {}",
        o.topic,
        start.join(" "),
        store.location()
    );

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            liveledger_store::process::signalled().await;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let stopped = || stop.load(std::sync::atomic::Ordering::SeqCst);
    let mut appended = 0u64;
    let mut batches = 0u64;
    let mut high: BTreeMap<i32, i64> = BTreeMap::new();
    loop {
        // Gather a batch: round-robin over the partitions until it is full or lingered.
        let mut msgs: Vec<Message> = Vec::new();
        let mut first: Option<Instant> = None;
        let mut next = offsets.next[&o.topic].clone();
        'gather: loop {
            let mut got_any = false;
            for (p, c) in &clients {
                if stopped() {
                    break 'gather;
                }
                let at = next[p];
                let fetched = c.fetch_records(at, 1..4 << 20, 100).await;
                let (records, hw) = match fetched {
                    Ok(x) => x,
                    Err(e) => {
                        eprintln!("liveledger: kafka partition {p}: {e} (retrying)");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                high.insert(*p, hw);
                for RecordAndOffset { record, offset } in records {
                    // Offsets only go up: a record at or below one already taken (a broker
                    // that answers with a batch again, or numbers records wrongly) is
                    // never appended twice.
                    if offset < next[p] || msgs.len() >= o.batch {
                        continue;
                    }
                    next.insert(*p, offset + 1);
                    msgs.push(Message {
                        partition: *p,
                        offset,
                        record,
                    });
                    got_any = true;
                }
            }
            if !msgs.is_empty() && first.is_none() {
                first = Some(Instant::now());
            }
            if msgs.len() >= o.batch || first.is_some_and(|t| t.elapsed() >= o.linger) {
                break;
            }
            if !got_any {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let stopping = stopped();
        if !msgs.is_empty() {
            let n = commit_batch(
                store,
                &o,
                &mut offsets,
                &msgs,
                next.clone(),
                dlq_client.as_ref(),
            )
            .await?;
            appended += n;
            batches += 1;
            if let Some(g) = &mut group {
                if let Err(e) = g.commit(&o.topic, &offsets.next[&o.topic]).await {
                    metrics::counter!(COMMIT_ERRORS, "topic" => o.topic.clone()).increment(1);
                    eprintln!("liveledger: {e} (the ledger's offsets are saved; the next batch commits again)");
                }
            }
            for (p, hw) in &high {
                let lag = hw - offsets.next[&o.topic].get(p).copied().unwrap_or(0);
                metrics::gauge!(LAG, "topic" => o.topic.clone(), "partition" => p.to_string())
                    .set(lag.max(0) as f64);
            }
            let lag: i64 = high
                .iter()
                .map(|(p, hw)| (hw - offsets.next[&o.topic].get(p).copied().unwrap_or(0)).max(0))
                .sum();
            // From the oldest message of the batch to its published digest.
            let delay = msgs
                .iter()
                .map(|m| chrono_now_ms() - m.record.timestamp.timestamp_millis())
                .max()
                .unwrap_or(0)
                .max(0) as f64
                / 1000.0;
            println!(
                "ingested {n} events ({} dead letters) from {}; the ledger has {} events; lag {lag} messages; oldest message {delay:.1} s before its digest",
                msgs.len() as u64 - n,
                o.topic,
                offsets.size
            );
        }
        if stopping || o.max_batches.is_some_and(|m| batches >= m) {
            return Ok(appended);
        }
    }
}

/// Dead letters first (durable), then the events (durable and published), then the
/// offsets. Returns how many events were appended.
async fn commit_batch(
    store: &Store,
    o: &Options,
    offsets: &mut Offsets,
    msgs: &[Message],
    next: BTreeMap<i32, i64>,
    dlq: Option<&PartitionClient>,
) -> Result<u64> {
    let mut good: Vec<(usize, Pending)> = Vec::new();
    let mut dead: Vec<(usize, String)> = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        match pending(&o.topic, m, o.source.as_deref()) {
            Ok(p) => good.push((i, p)),
            Err(why) => dead.push((i, why)),
        }
    }
    // The ledger's rules (authority, corrections, …) are checked by the append: a batch
    // it refuses is appended one event at a time, and each refused event is a dead letter.
    let (n, refused) = tokio::task::block_in_place(|| append(store, o, msgs, good))?;
    dead.extend(refused);
    dead.sort_by_key(|(i, _)| *i);
    if !dead.is_empty() {
        write_dead_letters(o, msgs, &dead, dlq).await?;
        for (i, _) in &dead {
            metrics::counter!(DEAD, "topic" => o.topic.clone(), "partition" => msgs[*i].partition.to_string()).increment(1);
        }
    }
    offsets.next.insert(o.topic.clone(), next);
    let w = tokio::task::block_in_place(|| Writer::open(store))?;
    offsets.size = w.size();
    drop(w);
    tokio::task::block_in_place(|| save_offsets(store, offsets))?;
    let now = chrono_now_ms();
    for m in msgs {
        let delay = (now - m.record.timestamp.timestamp_millis()).max(0) as f64 / 1000.0;
        metrics::histogram!(DELAY, "topic" => o.topic.clone()).record(delay);
    }
    Ok(n)
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Appends `good` (message index, event): the whole batch, or, if the ledger refuses it,
/// each event alone (made again from its message). Returns how many were appended, and
/// the refused ones with why.
fn append(
    store: &Store,
    o: &Options,
    msgs: &[Message],
    good: Vec<(usize, Pending)>,
) -> Result<(u64, Vec<(usize, String)>)> {
    if good.is_empty() {
        return Ok((0, Vec::new()));
    }
    let mut w = Writer::open(store)?;
    let author = w.author(o.author.as_deref())?;
    let (idx, batch): (Vec<usize>, Vec<Pending>) = good.into_iter().unzip();
    let n = batch.len() as u64;
    match w.append(batch, &author) {
        Ok(_) => {
            metrics::counter!(EVENTS, "topic" => o.topic.clone()).increment(n);
            Ok((n, Vec::new()))
        }
        Err(Error::Input(_) | Error::Line { .. }) => {
            let mut ok = 0;
            let mut refused = Vec::new();
            for i in idx {
                let p = pending(&o.topic, &msgs[i], o.source.as_deref()).map_err(Error::Input);
                match p.and_then(|p| w.append(vec![p], &author)) {
                    Ok(_) => ok += 1,
                    Err(Error::Input(why) | Error::Line { reason: why, .. }) => {
                        refused.push((i, why))
                    }
                    Err(e) => return Err(e),
                }
            }
            metrics::counter!(EVENTS, "topic" => o.topic.clone()).increment(ok);
            Ok((ok, refused))
        }
        Err(e) => Err(e),
    }
}

async fn write_dead_letters(
    o: &Options,
    msgs: &[Message],
    dead: &[(usize, String)],
    dlq: Option<&PartitionClient>,
) -> Result<()> {
    let letters: Vec<Value> = dead
        .iter()
        .map(|(i, why)| dead_letter(&o.topic, &msgs[*i], why))
        .collect();
    match (&o.dead_letters, dlq) {
        (DeadLetters::Topic(t), Some(c)) => {
            let records = letters
                .iter()
                .zip(dead)
                .map(|(l, (i, why))| Record {
                    key: msgs[*i].record.key.clone(),
                    value: Some(canonical(l).into_bytes()),
                    headers: BTreeMap::from([("reason".to_owned(), why.clone().into_bytes())]),
                    timestamp: msgs[*i].record.timestamp,
                })
                .collect();
            c.produce(records, Compression::NoCompression)
                .await
                .map_err(|e| Error::Io(format!("dead-letter topic {t}: {e}")))?;
        }
        (DeadLetters::File(path), _) => {
            let path = path.clone();
            let text: String = letters
                .iter()
                .map(|l| format!("{}\n", canonical(l)))
                .collect();
            tokio::task::block_in_place(|| -> Result<()> {
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| Error::io(&path, e))?;
                f.write_all(text.as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|e| Error::io(&path, e))
            })?;
        }
        (DeadLetters::Topic(t), None) => {
            return Err(Error::Io(format!("dead-letter topic {t} is not open")))
        }
    }
    for l in &letters {
        eprintln!("liveledger: dead letter: {}", canonical(l));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(value: &[u8], key: Option<&[u8]>) -> Message {
        Message {
            partition: 2,
            offset: 4711,
            record: Record {
                key: key.map(<[u8]>::to_vec),
                value: Some(value.to_vec()),
                headers: BTreeMap::new(),
                timestamp: chrono::DateTime::from_timestamp_millis(1_790_000_000_000).unwrap(),
            },
        }
    }

    #[test]
    fn a_message_becomes_the_event_format_md_shows_or_a_dead_letter() {
        let m = message(
            br#"{"kind":"payment","source":"erp","body":{"amount":"12.50"}}"#,
            Some(b"invoice/2026-0042"),
        );
        let p = pending("payments", &m, None).unwrap();
        let mut obj = p.draft.extra.clone();
        obj.insert("key".into(), json!(p.draft.key));
        assert_eq!(
            format!(
                "{}\n",
                canonical(&json!({"key": obj["key"], "ingested_from": obj["ingested_from"]}))
            ),
            liveledger_store::format_example("ingested-from")
        );
        let bad = message(b"{\"kind\": ", None);
        let Err(why) = pending("payments", &bad, None) else {
            panic!("accepted")
        };
        assert_eq!(
            format!("{}\n", canonical(&dead_letter("payments", &bad, &why))),
            liveledger_store::format_example("dead-letter")
        );
        // Provenance is ingest's to write, never the message's.
        let forged = message(
            br#"{"kind":"payment","source":"erp","ingested_from":{}}"#,
            None,
        );
        let Err(why) = pending("payments", &forged, None) else {
            panic!("accepted")
        };
        assert!(why.contains("ingested_from"), "{why}");
    }
}
