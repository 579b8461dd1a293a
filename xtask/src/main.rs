//! Project tasks: `cargo xtask test`, `cargo xtask bench`, `cargo xtask fuzz`.
//!
//! Each task installs what it needs when it is missing (the wasm32 target, the
//! wasm-bindgen test runner pinned to the crate's version), so a fresh machine and CI
//! work with the same command. Tools are only installed, never upgraded behind your back.

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
        Some("fuzz") => fuzz(&args[1..]),
        Some("install") => install_all(),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 test          everything: fmt, clippy, native tests, wasm32 build, Wasm tests in Node\n  \
                 bench         criterion benchmarks of liveledger-core\n  \
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
        run("rustup", &["target", "add", "wasm32-unknown-unknown"], &[])?;
    }
    Ok(())
}

fn ensure_wasm_bindgen() -> Result {
    let have = output("wasm-bindgen-test-runner", &["--version"]).unwrap_or_default();
    if !have.contains(WASM_BINDGEN_VERSION) {
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

fn install_all() -> Result {
    ensure_wasm_target()?;
    ensure_wasm_bindgen()
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
    eprintln!(
        "\nxtask test: every step passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    for (name, secs) in steps {
        eprintln!("  {secs:>7.1} s  {name}");
    }
    Ok(())
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
