//! "Build only what is missing or out of date" for the steps cargo does not track itself:
//! the Trunk app (dist/) and the embed module (wasm-bindgen, wasm-opt).
//!
//! A step's inputs are named as files and folders; their fingerprint is SHA-256 over
//! every file's relative path and bytes, in path order. A fresh clone sets every mtime to
//! the clone's time, so contents, not mtimes, decide. The fingerprint of the last
//! successful build is kept in `target/xtask/<step>.inputs`; the step is fresh when that
//! equals the fingerprint now and its output exists.

use std::path::{Path, PathBuf};

use liveledger_core::hash::sha256;

/// Folders never read as inputs: build output, dependencies, version control.
const SKIP: &[&str] = &["target", "node_modules", ".git", "dist"];

/// The fingerprint of `inputs` (files or folders, relative to the working directory).
/// A missing input counts as empty, so creating it changes the fingerprint.
pub fn fingerprint(inputs: &[&str]) -> String {
    let mut files: Vec<PathBuf> = Vec::new();
    for i in inputs {
        collect(Path::new(i), &mut files);
    }
    files.sort();
    files.dedup();
    let mut all = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_default();
        let name = f.to_string_lossy();
        // Length-prefixed, so no two sets of (name, bytes) run together alike.
        for part in [name.as_bytes(), &bytes] {
            all.extend_from_slice(&(part.len() as u64).to_be_bytes());
            all.extend_from_slice(part);
        }
    }
    format!("{} files {}", files.len(), sha256(&all))
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let skip = p.file_name().is_some_and(|n| SKIP.iter().any(|s| n == *s));
        if skip {
            return;
        }
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            collect(&e.path(), out);
        }
    } else if p.is_file() {
        out.push(p.to_path_buf());
    }
}

fn stamp(step: &str) -> PathBuf {
    Path::new("target/xtask").join(format!("{step}.inputs"))
}

/// Whether `step` last built from exactly these inputs and its `output` is still there.
pub fn is_fresh(step: &str, fingerprint: &str, output: &Path) -> bool {
    output.exists() && std::fs::read_to_string(stamp(step)).is_ok_and(|s| s.trim() == fingerprint)
}

/// Records that `step` built from these inputs.
pub fn record(step: &str, fingerprint: &str) -> Result<(), String> {
    let s = stamp(step);
    if let Some(d) = s.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(&s, format!("{fingerprint}\n")).map_err(|e| format!("{}: {e}", s.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_follows_contents_names_and_new_files_not_mtimes() {
        let dir = std::env::temp_dir().join(format!("xtask-fresh-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src/target")).unwrap();
        let d = dir.to_string_lossy().into_owned();
        let input = format!("{d}/src");
        std::fs::write(dir.join("src/a.rs"), "fn a() {}").unwrap();
        let f0 = fingerprint(&[&input]);
        assert_eq!(
            f0,
            fingerprint(&[&input]),
            "the same tree, the same fingerprint"
        );
        // Rewriting the same bytes (a clone, a touch) changes nothing.
        std::fs::write(dir.join("src/a.rs"), "fn a() {}").unwrap();
        assert_eq!(f0, fingerprint(&[&input]));
        // Build output below an input is not an input.
        std::fs::write(dir.join("src/target/out"), "x").unwrap();
        assert_eq!(f0, fingerprint(&[&input]));
        // One byte, a new file, a rename: each is a change.
        std::fs::write(dir.join("src/a.rs"), "fn b() {}").unwrap();
        let f1 = fingerprint(&[&input]);
        assert_ne!(f0, f1);
        std::fs::write(dir.join("src/b.rs"), "").unwrap();
        let f2 = fingerprint(&[&input]);
        assert_ne!(f1, f2);
        std::fs::rename(dir.join("src/b.rs"), dir.join("src/c.rs")).unwrap();
        assert_ne!(f2, fingerprint(&[&input]));
        // Bytes moved from one file's end to the next file's start are a change too.
        std::fs::write(dir.join("src/a.rs"), "ab").unwrap();
        std::fs::write(dir.join("src/c.rs"), "c").unwrap();
        let split = fingerprint(&[&input]);
        std::fs::write(dir.join("src/a.rs"), "a").unwrap();
        std::fs::write(dir.join("src/c.rs"), "bc").unwrap();
        assert_ne!(split, fingerprint(&[&input]));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
