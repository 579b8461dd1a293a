//! `liveledger`: create, append, correct, publish, verify, serve and demo Live Ledgers.

mod cmd;
mod demo;
mod error;
mod verify;

use clap::{Parser, Subcommand};

use crate::error::Result;

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
    Init(cmd::init::Args),
    /// Append events (JSON lines) from stdin or a file; a bad line appends nothing.
    #[command(
        after_help = "Each line is a JSON object: kind and source are required; key, body, private\n(a payload kept off the ledger as a salted commitment) and corrects are optional;\nother fields are kept. seq, time, prev, author and sig are filled in.\n\nExamples:\n  echo '{\"kind\":\"payment\",\"source\":\"erp\",\"key\":\"inv/1\",\"body\":{\"amount\":\"10.00\"}}' | liveledger append ledger\n  liveledger append ledger --file events.jsonl --author bob@example.org\n  printf 'one\\ntwo\\n' | liveledger append log --raw --each"
    )]
    Append(cmd::append::Args),
    /// Append a correction of event SEQ: an amended payload, or a void.
    #[command(
        after_help = "Examples:\n  liveledger correct ledger --seq 42 --body '{\"amount\":\"12.00\"}' --reason 'typo'\n  liveledger correct ledger --seq 43 --void --reason 'duplicate'"
    )]
    Correct(cmd::correct::Args),
    /// Add an author key (a ledger.key.add event signed by an admin).
    AddAuthor(cmd::add_author::Args),
    /// Publish a fresh digest (a new signed time) and rewrite the digest pages.
    Publish(cmd::publish::Args),
    /// Set the ledger's witness policy (a C2SP tlog-policy file whose witness lines carry
    /// submission URLs): published in the signed metadata, and from now on every digest
    /// is published only once its quorum cosigned.
    Policy(cmd::policy::Args),
    /// Print a private payload and its salt, so its commitment can be checked.
    Reveal(cmd::reveal::Args),
    /// Verify a ledger or any C2SP tlog-tiles log, in a directory or at a URL.
    #[command(
        after_help = "Exit status: 0 verified; 1 verification failed (tampered, forked, rolled back,\nstale, badly signed, or an audited file not served); 2 usage or bad input; 3 could\nnot read or fetch (no checkpoint, a network or server error).\n\nExamples:\n  liveledger verify ledger\n  liveledger verify https://ledger.example.org/payments --key \"$(cat log.vkey)\" --since old-checkpoint\n  liveledger verify --log-only tessera-log --key \"$(cat VERIFIER_KEY)\"\n  liveledger verify http://127.0.0.1:8080 --json --max-age 2m\n  liveledger verify https://ledger.example.org/payments --history"
    )]
    Verify(cmd::verify::Args),
    /// Serve a published ledger (and the browser verifier) over HTTP/1.1 and HTTP/2.
    Serve(cmd::serve::Args),
    /// Run a C2SP tlog-witness: cosign the checkpoints of the logs it is given.
    Witness(cmd::witness::Args),
    /// Manage the bearer tokens of the append API.
    Token(cmd::token::Args),
    /// Append events from a Kafka topic, in batches, exactly once, until stopped.
    #[command(
        after_help = "Each message's value is a JSON object with the `append` line rules; the message key\nsupplies `key` when the object has none; each event records where it came from\n(\"ingested_from\": topic, partition, offset). Offsets are kept by the ledger itself\n(DIR.keys/ingest.json, checked against the events on start), never by the broker; with\n--group, each batch's offsets are also committed to that consumer group once the batch\nis published, for the usual lag tools.\n\nExample:\n  liveledger ingest ledger --brokers 127.0.0.1:9092 --topic payments --group ledger --metrics-addr 127.0.0.1:9464"
    )]
    Ingest(cmd::ingest::Args),
    /// Create a demo ledger, serve it, and keep appending events.
    Demo(cmd::demo::Args),
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Init(a) => cmd::init::run(a),
        Command::Append(a) => cmd::append::run(a),
        Command::Correct(a) => cmd::correct::run(a),
        Command::AddAuthor(a) => cmd::add_author::run(a),
        Command::Publish(a) => cmd::publish::run(a),
        Command::Policy(a) => cmd::policy::run(a),
        Command::Reveal(a) => cmd::reveal::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Witness(a) => cmd::witness::run(a),
        Command::Token(a) => cmd::token::run(a),
        Command::Ingest(a) => cmd::ingest::run(a),
        Command::Demo(a) => cmd::demo::run(a),
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
