//! `liveledger`: create, append, correct, publish, verify, serve and demo Live Ledgers.

mod demo;
mod error;
mod verify;

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use liveledger_core::note::{SignerKey, VerifierKey};
use serde_json::json;

use liveledger_ingest as ingest;
use liveledger_publisher::{self as ledger, InitOptions, Writer};
use liveledger_server::{self as server, tokens};
use liveledger_store::{self as store, Store};
use liveledger_witness as witness;

use crate::error::{Error, Result};

#[derive(Parser)]
#[command(
    name = "liveledger",
    version,
    about = "Publish and verify Live Ledgers: signed, append-only event logs served as C2SP tlog-tiles"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new ledger in DIR, with its keys in a private key directory beside it.
    #[command(
        after_help = "Examples:\n  liveledger init ledger --origin ledger.example.org/payments --author alice@example.org\n  liveledger init log --origin example.com/log/testdata --raw --log-key SIGNER_KEY"
    )]
    Init {
        dir: PathBuf,
        /// The checkpoint origin: usually the URL prefix without scheme.
        #[arg(long)]
        origin: String,
        /// The first (admin) author key's name.
        #[arg(long, default_value = "admin")]
        author: String,
        /// How often digests are published, in seconds (verifiers call older ones stale).
        #[arg(long, default_value_t = 60)]
        cadence: u64,
        /// A plain C2SP log of opaque entries: no events, no authors.
        #[arg(long)]
        raw: bool,
        /// Import the log signing key from this file (Go PRIVATE+KEY+… form).
        #[arg(long)]
        log_key: Option<PathBuf>,
        /// A witness verifier key (repeatable).
        #[arg(long = "witness")]
        witnesses: Vec<String>,
        /// How many witnesses must cosign.
        #[arg(long, default_value_t = 0)]
        witness_threshold: usize,
        /// The private key directory (default: DIR.keys beside DIR).
        #[arg(long)]
        keys: Option<PathBuf>,
        /// Publish the tree to an object store, s3://BUCKET[/PREFIX], instead of DIR
        /// (endpoint, region and credentials from the AWS_* variables); DIR then holds
        /// only store.json, and every later command on DIR uses the bucket.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
    },
    /// Append events (JSON lines) from stdin or a file; a bad line appends nothing.
    #[command(
        after_help = "Each line is a JSON object: kind and source are required; key, body, private\n(a payload kept off the ledger as a salted commitment) and corrects are optional;\nother fields are kept. seq, time, prev, author and sig are filled in.\n\nExamples:\n  echo '{\"kind\":\"payment\",\"source\":\"erp\",\"key\":\"inv/1\",\"body\":{\"amount\":\"10.00\"}}' | liveledger append ledger\n  liveledger append ledger --file events.jsonl --author bob@example.org\n  printf 'one\\ntwo\\n' | liveledger append log --raw --each"
    )]
    Append {
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
    },
    /// Append a correction of event SEQ: an amended payload, or a void.
    #[command(
        after_help = "Examples:\n  liveledger correct ledger --seq 42 --body '{\"amount\":\"12.00\"}' --reason 'typo'\n  liveledger correct ledger --seq 43 --void --reason 'duplicate'"
    )]
    Correct {
        dir: PathBuf,
        #[arg(long)]
        seq: u64,
        /// The corrected payload (JSON).
        #[arg(long, conflicts_with = "void")]
        body: Option<String>,
        /// Withdraw the event.
        #[arg(long)]
        void: bool,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        author: Option<String>,
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Add an author key (a ledger.key.add event signed by an admin).
    AddAuthor {
        dir: PathBuf,
        name: String,
        #[arg(long, default_value = "writer")]
        role: String,
        /// The admin that signs the change.
        #[arg(long)]
        author: Option<String>,
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Publish a fresh digest (a new signed time) and rewrite the digest pages.
    Publish {
        dir: PathBuf,
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Set the ledger's witness policy (a C2SP tlog-policy file whose witness lines carry
    /// submission URLs): published in the signed metadata, and from now on every digest
    /// is published only once its quorum cosigned.
    Policy {
        dir: PathBuf,
        file: PathBuf,
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Print a private payload and its salt, so its commitment can be checked.
    Reveal {
        dir: PathBuf,
        #[arg(long)]
        seq: u64,
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Verify a ledger or any C2SP tlog-tiles log, in a directory or at a URL.
    #[command(
        after_help = "Exit status: 0 verified; 1 verification failed (tampered, forked, rolled back,\nstale or badly signed); 2 usage or bad input; 3 could not read or fetch.\n\nExamples:\n  liveledger verify ledger\n  liveledger verify https://ledger.example.org/payments --key \"$(cat log.vkey)\" --since old-checkpoint\n  liveledger verify --log-only tessera-log --key \"$(cat VERIFIER_KEY)\"\n  liveledger verify http://127.0.0.1:8080 --json --max-age 2m\n  liveledger verify https://ledger.example.org/payments --history"
    )]
    Verify {
        /// A directory or an http(s) URL prefix.
        target: String,
        /// A trusted log verifier key (repeatable). Without it, the ledger's metadata is
        /// trusted on first use.
        #[arg(long = "key")]
        keys: Vec<String>,
        /// The expected checkpoint origin (default: from the metadata, else the key name).
        #[arg(long)]
        origin: Option<String>,
        /// A checkpoint you trusted before: the log must be consistent with it.
        #[arg(long)]
        since: Option<PathBuf>,
        /// A C2SP tlog-policy file: the checkpoint must meet its witness quorum (default:
        /// the policy in the ledger's metadata, if any).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Do not ask the policy's witnesses for the checkpoints they hold (by default each
        /// one's must be consistent with the log's: a split view fails with FORK).
        #[arg(long)]
        no_witness_check: bool,
        /// Fail if the digest's signed time is older than this (90s, 15m, 2h, 7d); without
        /// it, a digest older than twice the ledger's cadence (an hour's, if it names none)
        /// fails as STALE.
        #[arg(long)]
        max_age: Option<String>,
        /// Report a stale digest as a note, not a failure (an archive checked later).
        #[arg(long, conflicts_with = "max_age")]
        allow_stale: bool,
        /// Opaque entries: check the log, not events.
        #[arg(long)]
        log_only: bool,
        /// Check the digest archive too (digests/): every archived digest signed by the
        /// log, each extending the one before, the newest extending to the checkpoint.
        #[arg(long)]
        history: bool,
        /// With --history: check only the newest N archived digests.
        #[arg(long, value_name = "N", default_value_t = 100, requires = "history")]
        history_limit: usize,
        /// Keep a resume point in FILE: a later run continues from it, auditing only the
        /// new entries (the log must extend its checkpoint: FORK or ROLLBACK otherwise).
        /// One that does not hold is discarded with a note.
        #[arg(long, value_name = "FILE")]
        keep: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Threads checking event signatures (default: one per core; 1 checks them on
        /// the auditing thread).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Serve a published ledger (and the browser verifier) over HTTP/1.1 and HTTP/2.
    Serve {
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
    },
    /// Run a C2SP tlog-witness: cosign the checkpoints of the logs it is given.
    Witness {
        #[command(subcommand)]
        action: WitnessAction,
    },
    /// Manage the bearer tokens of the append API.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Append events from a Kafka topic, in batches, exactly once, until stopped.
    #[command(
        after_help = "Each message's value is a JSON object with the `append` line rules; the message key\nsupplies `key` when the object has none; each event records where it came from\n(\"ingested_from\": topic, partition, offset). Offsets are kept by the ledger itself\n(DIR.keys/ingest.json, checked against the events on start), never by the broker; with\n--group, each batch's offsets are also committed to that consumer group once the batch\nis published, for the usual lag tools.\n\nExample:\n  liveledger ingest ledger --brokers 127.0.0.1:9092 --topic payments --group ledger --metrics-addr 127.0.0.1:9464"
    )]
    Ingest {
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
    },
    /// Create a demo ledger, serve it, and keep appending events.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        #[arg(long, default_value = "target/demo/ledger")]
        dir: PathBuf,
        /// Seconds between appends.
        #[arg(long, default_value_t = 2.0)]
        interval: f64,
        /// A built browser verifier to serve with the ledger.
        #[arg(long)]
        app: Option<PathBuf>,
        /// Stop after this many appends (default: run until stopped).
        #[arg(long)]
        rounds: Option<u64>,
        /// A site (the embed example) to serve on a second origin.
        #[arg(long)]
        embed: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:8081")]
        embed_addr: String,
    },
}

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

#[derive(Subcommand)]
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

#[derive(Subcommand)]
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

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Init {
            dir,
            origin,
            author,
            cadence,
            raw,
            log_key,
            witnesses,
            witness_threshold,
            keys,
            store: bucket,
        } => {
            let mut store = Store::new(&dir, keys.as_deref())?;
            if let Some(url) = &bucket {
                if store.bucket().is_some() || dir.join(store::STORE_FILE).exists() {
                    return Err(Error::Usage(format!(
                        "{} already names an object store; init never overwrites a ledger",
                        dir.display()
                    )));
                }
                store = store.with_bucket(url)?;
                if store.has("checkpoint")? {
                    return Err(Error::Usage(format!(
                        "{url} already holds a ledger; init never overwrites one"
                    )));
                }
                if store.has("metadata")? {
                    return Err(Error::Usage(format!(
                        "{url} holds a metadata file but no checkpoint: an init that failed \
                         part way; delete what is under {url} to start again"
                    )));
                }
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                store::write_atomic(
                    &dir.join(store::STORE_FILE),
                    store::store_file(url).as_bytes(),
                )?;
            }
            let log_key = log_key
                .map(|p| {
                    let s = store::read_capped(&p, 4096)?;
                    SignerKey::parse(String::from_utf8_lossy(&s).trim())
                        .map_err(|e| Error::Input(format!("{}: {e}", p.display())))
                })
                .transpose()?;
            let witnesses = witnesses
                .iter()
                .map(|w| VerifierKey::parse(w).map_err(|e| Error::Usage(format!("--witness: {e}"))))
                .collect::<Result<Vec<_>>>()?;
            let had_keys = store.keys.exists();
            let made = ledger::init(
                &store,
                InitOptions {
                    origin: origin.clone(),
                    author,
                    cadence_seconds: cadence,
                    raw,
                    log_key,
                    witnesses,
                    witness_threshold,
                },
            );
            if made.is_err() {
                // A failed init leaves nothing here that would refuse the next one: the
                // key directory it made and the store.json it wrote.
                if !had_keys {
                    let _ = std::fs::remove_dir_all(&store.keys);
                }
                if bucket.is_some() {
                    let _ = std::fs::remove_file(dir.join(store::STORE_FILE));
                }
            }
            made?;
            let w = Writer::open(&store)?;
            println!(
                "created {} ({}) with {} entries",
                dir.display(),
                origin,
                w.size()
            );
            println!("  log key   {}", w.meta.log_keys[0]);
            println!(
                "  keys in   {} (private; never publish it)",
                store.keys.display()
            );
            Ok(0)
        }
        Command::Append {
            dir,
            file,
            author,
            source,
            raw,
            each,
            keys,
        } => {
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
        Command::Correct {
            dir,
            seq,
            body,
            void,
            reason,
            author,
            keys,
        } => {
            let store = Store::new(&dir, keys.as_deref())?;
            let mut w = Writer::open(&store)?;
            let target = w.event(seq)?;
            let mut v = json!({"kind": "correction", "source": target.source, "corrects": {"seq": seq, "mode": if void { "void" } else { "amend" }}});
            match (body, void) {
                (Some(b), false) => {
                    v["body"] = serde_json::from_str(&b)
                        .map_err(|e| Error::Usage(format!("--body is not JSON: {e}")))?;
                    if let Some(k) = &target.key {
                        v["key"] = json!(k);
                    }
                }
                (None, true) => {}
                _ => return Err(Error::Usage("pass --body JSON to amend, or --void".into())),
            }
            if let Some(r) = reason {
                v["reason"] = json!(r);
            }
            let batch = vec![ledger::pending(1, v, None)?];
            let a = w.author(author.as_deref())?;
            let seqs = w.append(batch, &a)?;
            println!("appended correction {} of event {seq}", seqs[0].seq);
            Ok(witnessed(&w))
        }
        Command::AddAuthor {
            dir,
            name,
            role,
            author,
            keys,
        } => {
            let store = Store::new(&dir, keys.as_deref())?;
            let mut w = Writer::open(&store)?;
            let admin = w.author(author.as_deref())?;
            let k = w.add_author(&name, &role, &admin)?;
            println!("added author {k} ({role})");
            Ok(0)
        }
        Command::Publish { dir, keys } => {
            let store = Store::new(&dir, keys.as_deref())?;
            let mut w = Writer::open(&store)?;
            w.republish()?;
            let code = witnessed(&w);
            if code == 0 {
                println!("published a fresh digest of size {}", w.size());
            }
            Ok(code)
        }
        Command::Policy { dir, file, keys } => {
            let store = Store::new(&dir, keys.as_deref())?;
            let text = store::read_capped(&file, liveledger_core::policy::MAX_POLICY as u64 + 1)?;
            let policy = liveledger_core::policy::Policy::parse(&text)
                .map_err(|e| Error::Input(format!("{}: {e}", file.display())))?;
            let text = String::from_utf8(text)
                .map_err(|_| Error::Input(format!("{}: not UTF-8", file.display())))?;
            let mut w = Writer::open(&store)?;
            if !policy.logs.is_empty()
                && !policy.logs.iter().any(|(k, _)| w.meta.log_keys.contains(k))
            {
                return Err(Error::Input(format!(
                    "{}: its log lines do not name this ledger's key {}",
                    file.display(),
                    w.meta.log_keys[0]
                )));
            }
            for wit in policy.witnesses.iter().filter(|w| w.url.is_none()) {
                eprintln!(
                    "liveledger: note: witness {} has no URL in the policy: it will not be asked",
                    wit.name
                );
            }
            w.set_policy(&text)?;
            println!("policy set: quorum {}", policy.evaluate(&[]).rule);
            // The current size, witnessed under the new policy.
            w.republish()?;
            let code = witnessed(&w);
            if code == 0 {
                println!("published a witnessed digest of size {}", w.size());
            }
            Ok(code)
        }
        Command::Reveal { dir, seq, keys } => {
            let store = Store::new(&dir, keys.as_deref())?;
            let p = store.private(seq);
            let b = store::read_capped(&p, 1 << 20).map_err(|_| {
                Error::Usage(format!(
                    "event {seq} has no private payload in {}",
                    store.keys.display()
                ))
            })?;
            println!("{}", String::from_utf8_lossy(&b));
            Ok(0)
        }
        Command::Verify {
            target,
            keys,
            origin,
            since,
            policy,
            no_witness_check,
            max_age,
            allow_stale,
            log_only,
            history,
            history_limit,
            keep,
            json,
            threads,
        } => {
            let max_age = max_age.as_deref().map(verify::parse_duration).transpose()?;
            verify::run(
                &target,
                verify::VerifyOptions {
                    keys,
                    origin,
                    since,
                    policy,
                    no_witness_check,
                    max_age,
                    allow_stale,
                    log_only,
                    history: history.then_some(history_limit),
                    keep,
                    json,
                    progress: true,
                    threads,
                },
            )
        }
        Command::Serve {
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
        } => {
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
            if bucket.is_none() && !dir.join("checkpoint").exists() {
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
        Command::Witness { action } => match action {
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
        },
        Command::Token { action } => match action {
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
        },
        Command::Ingest {
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
        } => {
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
        Command::Demo {
            addr,
            dir,
            interval,
            app,
            rounds,
            embed,
            embed_addr,
        } => {
            if !(0.05..=3600.0).contains(&interval) {
                return Err(Error::Usage(
                    "--interval must be between 0.05 and 3600 seconds".into(),
                ));
            }
            let embed = embed.as_deref().map(|e| (e, embed_addr.as_str()));
            demo::run(
                &dir,
                &addr,
                Duration::from_secs_f64(interval),
                app.as_deref(),
                rounds,
                embed,
            )?;
            Ok(0)
        }
    }
}

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("liveledger: {e}");
            if let Some(h) = error::hint(&e) {
                eprintln!("hint: {h}");
            }
            std::process::exit(error::exit_code(&e));
        }
    }
}
