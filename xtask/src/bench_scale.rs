//! `cargo xtask bench-scale [--10m]`: the native auditor at scale.
//!
//! Generates, once (kept in target/bench, reused by later runs), an opaque log of 1M
//! entries and a signed ledger of 1M events, and with `--10m` also 10M of each. The opaque
//! logs come from `liveledger-core`'s writer (as for `bench-ref`); the signed ledgers are
//! published by `liveledger append` itself, 100,000 events per batch, so they are what an
//! operator's ledger looks like (genesis, digests, metadata).
//!
//! Then, with every file read once so the page cache is warm, it audits each in full from
//! disk with `liveledger verify` under /usr/bin/time: the opaque logs at the log level, the
//! signed ledgers at the ledger level (every event signature) on one thread and on the
//! default one thread per core. What it shows:
//! throughput at each size, and that peak memory does not grow with the log (the auditor
//! streams; issue #6 bounds it at 32 MB).
//!
//! Results go to docs/BENCHMARKS.md between `<!-- bench-scale -->` markers.

use super::bench_wasm::publish_signed;
use super::*;

/// A signed ledger of `n` events in target/bench, published once.
fn signed_ledger(n: u64) -> Result<PathBuf> {
    let dir = PathBuf::from(format!("target/bench/ledger-signed-{n}"));
    let done = PathBuf::from(format!("target/bench/ledger-signed-{n}.done"));
    if std::fs::read_to_string(&done).ok().as_deref() == Some(&n.to_string()) {
        return Ok(dir);
    }
    eprintln!(
        "publishing a ledger of {n} signed events in {}",
        dir.display()
    );
    let _ = std::fs::remove_file(&done);
    let (rate, per_event) = publish_signed(&dir, n, 100_000)?;
    eprintln!("  {rate:.0} events/s, {per_event:.0} bytes per event");
    std::fs::write(&done, n.to_string()).map_err(|e| e.to_string())?;
    Ok(dir)
}

struct Row {
    log: &'static str,
    /// The size asked for (the signed ledgers hold one more entry: their genesis).
    size: u64,
    entries: u64,
    bytes: u64,
    /// Verifying threads; `default` when that is `liveledger verify`'s own choice.
    threads: usize,
    default: bool,
    secs: f64,
    rss_kib: u64,
}

impl Row {
    fn rate(&self) -> f64 {
        self.entries as f64 / self.secs
    }
}

/// Reads every file under `dir`, so that each audit starts with the page cache warm (a log
/// kept from an earlier run may not be in it).
fn warm(dir: &Path) {
    for p in files_under(dir) {
        if let Ok(mut f) = std::fs::File::open(&p) {
            let _ = std::io::copy(&mut f, &mut std::io::sink());
        }
    }
}

/// Audits `dir` with `liveledger verify DIR ARGS`, on `threads` verifying threads
/// (`default`: what `verify` chooses by itself, which `args` must then leave alone).
fn audit(
    log: &'static str,
    size: u64,
    dir: &Path,
    args: &[&str],
    threads: usize,
    default: bool,
) -> Result<Row> {
    let entries: u64 = std::fs::read_to_string(dir.join("checkpoint"))
        .ok()
        .and_then(|c| c.lines().nth(1).and_then(|l| l.parse().ok()))
        .ok_or_else(|| format!("{}: no checkpoint", dir.display()))?;
    warm(dir);
    let d = dir.to_string_lossy().into_owned();
    let mut all = vec!["verify", d.as_str(), "--allow-stale"];
    all.extend_from_slice(args);
    let (secs, rss_kib) = timed("target/release/liveledger", &all, &[])?;
    let row = Row {
        log,
        size,
        entries,
        bytes: walk_size(&dir.join("tile/entries")),
        threads,
        default,
        secs,
        rss_kib,
    };
    eprintln!(
        "{log}, {size}, {threads} thread(s): {secs:.2} s, {:.0} entries/s, {:.1} MB peak RSS",
        row.rate(),
        rss_kib as f64 / 1024.0
    );
    Ok(row)
}

pub fn run(args: &[String]) -> Result {
    let sizes: &[u64] = if args.iter().any(|a| a == "--10m") {
        &[1_000_000, 10_000_000]
    } else {
        &[1_000_000]
    };
    if let Some(a) = args.iter().find(|a| a.as_str() != "--10m") {
        return Err(format!("bench-scale takes only --10m, not {a:?}"));
    }
    super::run(
        "cargo",
        &["build", "--release", "-p", "liveledger-cli"],
        &[],
    )?;
    std::fs::create_dir_all("target/bench").map_err(|e| e.to_string())?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rows = Vec::new();
    for &n in sizes {
        let opaque = PathBuf::from(format!("target/bench/log-{n}"));
        eprintln!("generating a log of {n} entries in {}", opaque.display());
        let key = generate_log(&opaque, n)?;
        let args = ["--log-only", "--key", &key];
        rows.push(audit("opaque", n, &opaque, &args, 1, false)?);
    }
    for &n in sizes {
        let ledger = signed_ledger(n)?;
        let one = ["--threads", "1"];
        rows.push(audit("signed events", n, &ledger, &one, 1, false)?);
        rows.push(audit("signed events", n, &ledger, &[], cores, true)?);
    }
    let mut table = String::from(
        "| log | entries | MB of entries | verifying threads | time | entries/s | MB/s | peak RSS |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        table += &format!(
            "| {} | {} | {:.1} | {}{} | {:.2} s | {:.0} | {:.0} | {:.1} MB |\n",
            r.log,
            r.entries,
            r.bytes as f64 / 1e6,
            r.threads,
            if r.default { " (default)" } else { "" },
            r.secs,
            r.rate(),
            r.bytes as f64 / 1e6 / r.secs,
            r.rss_kib as f64 / 1024.0
        );
    }
    // Ten times the log: how throughput and peak memory change, row by row.
    let mut scaling = String::new();
    let (small, large) = (sizes[0], sizes[sizes.len() - 1]);
    for r in rows.iter().filter(|r| r.size == large && large > small) {
        let Some(s) = rows
            .iter()
            .find(|s| s.size == small && s.log == r.log && s.threads == r.threads)
        else {
            continue;
        };
        let threads = match r.threads {
            1 => "one verifying thread".to_owned(),
            n => format!("{n} verifying threads"),
        };
        scaling += &format!(
            "- {}, {threads}: at {}× the size, {:.2}× the throughput and {:.2}× the peak RSS.\n",
            r.log,
            large / small,
            r.rate() / s.rate(),
            r.rss_kib as f64 / s.rss_kib.max(1) as f64
        );
    }
    eprintln!("\n{table}\n{scaling}");
    write_section(
        "bench-scale",
        &format!(
            "Last run: each log audited once, in full, from disk (page cache warm: every file is \
             read once first), by `liveledger verify` on a {cores}-core machine. Opaque logs at the \
             log level (`--log-only`: checkpoint, every entry bundle, every tile, the root); signed \
             ledgers at the ledger level (also every event's signature and chain link).\n\n\
             {table}\n{scaling}"
        ),
    )
}
