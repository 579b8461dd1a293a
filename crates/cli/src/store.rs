//! The layout of a published ledger and its private key directory, and every write to
//! them. Nothing else in the CLI touches a ledger's files.
//!
//! The published tree is a directory (below), or an object store (`init --store
//! s3://BUCKET/PREFIX`: then DIR holds only `store.json`, naming it, and everything
//! published goes to the bucket; see `crate::bucket`). [`Store::put`], [`Store::get`] and
//! the rest take published paths (`checkpoint`, `tile/0/000`, …) and work on either.
//!
//! ```text
//! DIR/                      published: serve it as it is
//!   checkpoint              the latest signed digest (C2SP checkpoint)
//!   metadata                signed ledger metadata (a signed note)
//!   tile/…                  C2SP tlog-tiles: hash tiles and entry bundles
//!   tile/entries/<N>.gz     a full bundle's gzip, for `serve` (derived, never trusted)
//!   digests/<size>          every digest ever published, as signed
//!   digests/<size>.html     its digest page; digests/index.html lists them all
//!   digests/index.txt       their sizes, for programs (liveledger_core::archive)
//! DIR.keys/                 private, mode 0700, never inside DIR
//!   log.key  time.key       the log's signing key and its time-cosigning key
//!   authors/<name>.key      author keys
//!   private/<seq>.json      payloads kept off the ledger (body and salt)
//!   journal                 the batch being appended, written before anything else
//!   state                   size and governance event numbers, to restart quickly
//!   tokens.json             append API tokens, hashed (crate::tokens)
//!   latest                  the latest log-signed checkpoint (with a witness policy: it
//!                           may be ahead of the published, witnessed one)
//!   witness-sizes.json      the size each witness last cosigned (crate::cosign)
//!   lock                    held by the one writer
//! ```
//!
//! Every write is atomic: a temporary file in the same directory, fsync, rename, fsync
//! of the directory. Full tiles and bundles are written once and never rewritten: writing
//! one that exists with other bytes is an error.
//!
//! Fault injection for tests: `LIVELEDGER_FAULT=N:before` makes the Nth atomic write of
//! the process fail without writing; `N:after` makes it fail after the file is in place;
//! `N:abort-before` and `N:abort-after` abort the process at that point instead.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use crate::bucket::Bucket;
use crate::error::{CliError, Result};

/// Where a ledger's published tree is.
#[derive(Clone, Debug)]
pub enum Tree {
    /// The directory DIR itself.
    Dir(PathBuf),
    /// An object store (DIR holds `store.json`).
    Bucket(Arc<Bucket>),
}

/// The published tree and the key directory of one ledger.
#[derive(Clone, Debug)]
pub struct Store {
    /// DIR: the published tree itself, or (with an object store) its local directory.
    pub dir: PathBuf,
    pub keys: PathBuf,
    pub tree: Tree,
}

/// The file in DIR naming the object store that holds the published tree.
pub const STORE_FILE: &str = "store.json";

/// `store.json`'s text for the object store at `url`.
pub fn store_file(url: &str) -> String {
    let v = serde_json::json!({ "store": url });
    format!(
        "{}\n",
        liveledger_core::jcs::to_canonical(&v).unwrap_or_default()
    )
}

static WRITES: AtomicU64 = AtomicU64::new(0);

fn fault(after: bool) -> io::Result<()> {
    let Ok(spec) = std::env::var("LIVELEDGER_FAULT") else {
        return Ok(());
    };
    let (n, when) = spec.split_once(':').unwrap_or((spec.as_str(), "before"));
    let n: u64 = n.parse().unwrap_or(0);
    let count = if after {
        WRITES.load(Ordering::SeqCst)
    } else {
        WRITES.fetch_add(1, Ordering::SeqCst) + 1
    };
    let at_after = when.ends_with("after");
    if count == n && at_after == after {
        if when.starts_with("abort") {
            // As abrupt as kill -9: no destructors, no buffered output.
            std::process::abort();
        }
        return Err(io::Error::other(format!(
            "injected fault at write {n} ({when})"
        )));
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `path` atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e: io::Error| CliError::io(path, e);
    fault(false).map_err(io)?;
    let dir = path
        .parent()
        .ok_or_else(|| CliError::io(path, io::Error::other("no parent directory")))?;
    fs::create_dir_all(dir).map_err(io)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    fs::rename(&tmp, path).map_err(io)?;
    sync_dir(dir).map_err(io)?;
    fault(true).map_err(io)?;
    Ok(())
}

/// Writes an immutable file: if it exists, it must already hold exactly these bytes.
pub fn write_immutable(path: &Path, bytes: &[u8]) -> Result<()> {
    match fs::read(path) {
        Ok(existing) if existing == bytes => Ok(()),
        Ok(_) => Err(CliError::Corrupt(format!(
            "{} already exists with other content; full tiles and bundles are never rewritten",
            path.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => write_atomic(path, bytes),
        Err(e) => Err(CliError::io(path, e)),
    }
}

/// How [`write_many`] writes a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// As [`write_immutable`]: full tiles and bundles.
    Immutable,
    /// As [`write_atomic`]: partial tiles.
    Atomic,
    /// As `Immutable`, and then its gzip beside it (`<path>.gz`, written atomically
    /// after the file, when it is smaller): full bundles, which `serve` sends
    /// precompressed. The `.gz` is derived: losing it in a crash costs only speed.
    ImmutableGzip,
}

/// Writes `<path>.gz`, the gzip (best compression: it is made once) of `bytes`, if that
/// is smaller.
fn write_gzip(path: &Path, bytes: &[u8]) -> Result<()> {
    use flate2::write::GzEncoder;
    let mut enc = GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::best(),
    );
    enc.write_all(bytes)
        .and_then(|_| enc.finish())
        .map_err(|e| CliError::io(path, e))
        .and_then(|gz| match gz.len() < bytes.len() {
            true => {
                let mut name = path.as_os_str().to_owned();
                name.push(".gz");
                write_atomic(Path::new(&name), &gz)
            }
            false => Ok(()),
        })
}

/// Writes one file as `kind` says.
fn write_one(path: &Path, bytes: &[u8], kind: WriteKind) -> Result<()> {
    match kind {
        WriteKind::Immutable => write_immutable(path, bytes),
        WriteKind::Atomic => write_atomic(path, bytes),
        WriteKind::ImmutableGzip => {
            write_immutable(path, bytes).and_then(|_| write_gzip(path, bytes))
        }
    }
}

/// Threads [`write_many`] writes on.
const WRITERS: usize = 8;

/// Writes many files, each as [`write_immutable`] or [`write_atomic`] would, on several
/// threads. Each write spends most of its time waiting for its two fsyncs, and concurrent
/// fsyncs share the file system's journal commits: the ~80 files of a 10,000-event batch
/// took 50–57 ms one at a time on the build machine and take 14–22 ms this way (of about
/// 0.5 s for the whole batch, where this part ran with every other thread idle).
///
/// Returns the error of the earliest file (in `files` order) that failed. Every file
/// before it has been written; of those after it, any may have been, as after a crash.
pub fn write_many(files: &[(PathBuf, Vec<u8>, WriteKind)]) -> Result<()> {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let failed: Mutex<Option<(usize, CliError)>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..WRITERS.min(files.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((path, bytes, kind)) = files.get(i) else {
                    break;
                };
                let r = write_one(path, bytes, *kind);
                if let Err(e) = r {
                    let mut f = failed.lock().unwrap_or_else(|p| p.into_inner());
                    if f.as_ref().is_none_or(|(j, _)| i < *j) {
                        *f = Some((i, e));
                    }
                    // The others stop taking files.
                    next.store(files.len(), Ordering::SeqCst);
                }
            });
        }
    });
    match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// Reads a file, with a size cap.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let f = File::open(path).map_err(|e| CliError::io(path, e))?;
    let mut buf = Vec::new();
    f.take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::io(path, e))?;
    if buf.len() as u64 > cap {
        return Err(CliError::Input(format!(
            "{} is larger than {cap} bytes",
            path.display()
        )));
    }
    Ok(buf)
}

impl Store {
    /// The store for DIR, with its key directory (default: `DIR.keys` beside it).
    pub fn new(dir: &Path, keys: Option<&Path>) -> Result<Store> {
        let dir = dir.to_path_buf();
        let keys = match keys {
            Some(k) => k.to_path_buf(),
            None => {
                let name = dir.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
                    CliError::Usage(format!("{} has no directory name", dir.display()))
                })?;
                dir.with_file_name(format!("{name}.keys"))
            }
        };
        let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        if abs(&keys).starts_with(abs(&dir)) {
            return Err(CliError::Usage(format!(
                "the key directory {} is inside the published directory {}; keys must never be published",
                keys.display(),
                dir.display()
            )));
        }
        let config = dir.join(STORE_FILE);
        let tree = match config.exists() {
            false => Tree::Dir(dir.clone()),
            true => {
                let text = read_capped(&config, 4096)?;
                let url = serde_json::from_slice::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["store"].as_str().map(str::to_owned))
                    .ok_or_else(|| {
                        CliError::Corrupt(format!(
                            "{}: expected {{\"store\": \"s3://BUCKET/PREFIX\"}} (or az://, gs://)",
                            config.display()
                        ))
                    })?;
                Tree::Bucket(Arc::new(Bucket::open(&url)?))
            }
        };
        Ok(Store { dir, keys, tree })
    }

    /// The same ledger, its published tree in the object store at `url` (for `init
    /// --store`, before `store.json` is written).
    pub fn with_bucket(mut self, url: &str) -> Result<Store> {
        self.tree = Tree::Bucket(Arc::new(Bucket::open(url)?));
        Ok(self)
    }

    /// The bucket, when the tree is in one.
    pub fn bucket(&self) -> Option<&Arc<Bucket>> {
        match &self.tree {
            Tree::Bucket(b) => Some(b),
            Tree::Dir(_) => None,
        }
    }

    /// Where published path `rel` is, for messages.
    pub fn describe(&self, rel: &str) -> String {
        match &self.tree {
            Tree::Dir(d) => d.join(rel).display().to_string(),
            Tree::Bucket(b) => b.describe(rel),
        }
    }

    /// Where the published tree is, for messages.
    pub fn location(&self) -> String {
        match &self.tree {
            Tree::Dir(d) => d.display().to_string(),
            Tree::Bucket(b) => b.url().to_owned(),
        }
    }

    /// Writes published path `rel` as `kind` says.
    pub fn put(&self, rel: &str, bytes: &[u8], kind: WriteKind) -> Result<()> {
        match &self.tree {
            Tree::Dir(d) => write_one(&d.join(rel), bytes, kind),
            Tree::Bucket(b) => b.put(rel, bytes, kind),
        }
    }

    /// Writes many published paths at once (see [`write_many`]).
    pub fn put_many(&self, files: &[(String, Vec<u8>, WriteKind)]) -> Result<()> {
        match &self.tree {
            Tree::Dir(d) => {
                let files: Vec<_> = files
                    .iter()
                    .map(|(rel, b, k)| (d.join(rel), b.clone(), *k))
                    .collect();
                write_many(&files)
            }
            Tree::Bucket(b) => b.put_many(files),
        }
    }

    /// Reads published path `rel` (at most `cap` bytes); `None` if it does not exist.
    pub fn get(&self, rel: &str, cap: u64) -> Result<Option<Vec<u8>>> {
        match &self.tree {
            Tree::Dir(d) => match read_capped(&d.join(rel), cap) {
                Ok(b) => Ok(Some(b)),
                Err(_) if !d.join(rel).exists() => Ok(None),
                Err(e) => Err(e),
            },
            Tree::Bucket(b) => b.get(rel, cap),
        }
    }

    /// Reads published path `rel`, which must exist.
    pub fn read(&self, rel: &str, cap: u64) -> Result<Vec<u8>> {
        self.get(rel, cap)?.ok_or_else(|| {
            CliError::Corrupt(format!("{} is missing from the ledger", self.describe(rel)))
        })
    }

    /// Whether published path `rel` exists.
    pub fn has(&self, rel: &str) -> Result<bool> {
        match &self.tree {
            Tree::Dir(d) => Ok(d.join(rel).exists()),
            Tree::Bucket(b) => b.has(rel),
        }
    }

    /// The names directly in published directory `rel_dir`.
    pub fn list(&self, rel_dir: &str) -> Result<Vec<String>> {
        match &self.tree {
            Tree::Dir(d) => Ok(fs::read_dir(d.join(rel_dir))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()),
            Tree::Bucket(b) => b.list(rel_dir),
        }
    }

    pub fn log_key(&self) -> PathBuf {
        self.keys.join("log.key")
    }
    pub fn time_key(&self) -> PathBuf {
        self.keys.join("time.key")
    }
    pub fn author_key(&self, name: &str) -> PathBuf {
        self.keys
            .join("authors")
            .join(format!("{}.key", file_safe(name)))
    }
    pub fn authors_dir(&self) -> PathBuf {
        self.keys.join("authors")
    }
    pub fn private(&self, seq: u64) -> PathBuf {
        self.keys.join("private").join(format!("{seq}.json"))
    }
    pub fn journal(&self) -> PathBuf {
        self.keys.join("journal")
    }
    pub fn state(&self) -> PathBuf {
        self.keys.join("state")
    }
    /// The latest checkpoint the log signed, witnessed or not (a ledger with a witness
    /// policy publishes `checkpoint` only once its quorum cosigned; the writer resumes
    /// from this one).
    pub fn latest(&self) -> PathBuf {
        self.keys.join("latest")
    }

    /// Creates the key directory with mode 0700.
    pub fn create_key_dir(&self) -> Result<()> {
        for d in [&self.keys, &self.authors_dir(), &self.keys.join("private")] {
            fs::create_dir_all(d).map_err(|e| CliError::io(d, e))?;
            set_mode(d, 0o700)?;
        }
        Ok(())
    }

    /// Writes a secret (mode 0600 from the start).
    pub fn write_secret(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        write_secret(path, bytes)
    }

    /// Takes the writer lock, or fails at once if another writer holds it.
    pub fn lock(&self) -> Result<File> {
        lock(&self.keys.join("lock"), &self.dir.display().to_string())
    }
}

/// Takes the lock file at `path` for `what`, or fails at once (exit 4) if another
/// process holds it.
pub fn lock(path: &Path, what: &str) -> Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| CliError::io(path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(fs::TryLockError::WouldBlock) => Err(CliError::Busy(format!(
            "another liveledger process is writing to {what} (lock {} is held)",
            path.display()
        ))),
        Err(fs::TryLockError::Error(e)) => Err(CliError::io(path, e)),
    }
}

/// Creates a private directory (mode 0700).
pub fn create_private_dir(d: &Path) -> Result<()> {
    fs::create_dir_all(d).map_err(|e| CliError::io(d, e))?;
    set_mode(d, 0o700)
}

/// Writes a secret file: mode 0600 from the start, atomically and durably.
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e: io::Error| CliError::io(path, e);
    let dir = path
        .parent()
        .ok_or_else(|| CliError::io(path, io::Error::other("no parent directory")))?;
    let tmp = dir.join(".secret.tmp");
    {
        let mut o = OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut f = o.open(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    fs::rename(&tmp, path).map_err(io)?;
    sync_dir(dir).map_err(io)
}

/// A name as a file name: anything but letters, digits, `.`, `-`, `_`, `@` becomes `_`.
pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).map_err(|e| CliError::io(p, e))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "liveledger-store-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn write_many_writes_every_file_in_its_place() {
        let d = scratch("all");
        let files: Vec<_> = (0..50)
            .map(|i| {
                let kind = if i % 7 == 0 {
                    WriteKind::Atomic
                } else {
                    WriteKind::Immutable
                };
                (d.join(format!("t/{}/{i}", i % 3)), vec![i as u8; i], kind)
            })
            .collect();
        write_many(&files).unwrap();
        for (p, b, _) in &files {
            assert_eq!(&fs::read(p).unwrap(), b, "{}", p.display());
        }
        // Again: immutable files holding the same bytes are fine, atomic ones rewritten.
        write_many(&files).unwrap();
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn write_many_reports_the_earliest_failure_and_wrote_everything_before_it() {
        for round in 0..20 {
            let d = scratch("fail");
            // Files 13, 14 and 31 exist with other bytes: writing them is an error (13 and
            // 14 are often written at the same time).
            for bad in [13, 14, 31] {
                fs::write(d.join(format!("f{bad}")), b"other").unwrap();
            }
            let files: Vec<_> = (0..40)
                .map(|i| {
                    (
                        d.join(format!("f{i}")),
                        vec![b'x'; 10],
                        WriteKind::Immutable,
                    )
                })
                .collect();
            let err = write_many(&files).unwrap_err().to_string();
            assert!(
                err.contains("f13") && err.contains("other content"),
                "round {round}: {err}"
            );
            for (p, b, _) in &files[..13] {
                assert_eq!(&fs::read(p).unwrap(), b, "round {round}: {}", p.display());
            }
            assert_eq!(fs::read(d.join("f31")).unwrap(), b"other");
            let _ = fs::remove_dir_all(&d);
        }
    }
}
