//! The layout of a published ledger and its private key directory, and every write to
//! them. Nothing else touches a ledger's files.
//!
//! The published tree is a directory (below), or an object store (`init --store
//! s3://BUCKET/PREFIX`: then DIR holds only `store.json`, naming it, and everything
//! published goes to the bucket; see [`bucket`]). Each backend is a [`Tree`] in a file of its own
//! ([`dir`], [`bucket`]); [`Store::put`], [`Store::get`] and the rest take published paths
//! (`checkpoint`, `tile/0/000`, …, named by `liveledger_core::layout`) and work on any.
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
//!   tokens.json             append API tokens, hashed (liveledger-server's tokens)
//!   latest                  the latest log-signed checkpoint (with a witness policy: it
//!                           may be ahead of the published, witnessed one)
//!   witness-sizes.json      the size each witness last cosigned (liveledger-publisher's cosign)
//!   lock                    held by the one writer
//! ```
//!
//! Every write is atomic: a temporary file in the same directory, fsync, rename, fsync
//! of the directory. Full tiles and bundles are written once and never rewritten: writing
//! one that exists with other bytes is an error.
pub mod bucket;
pub mod dir;
mod error;
pub mod process;

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use bucket::Bucket;
pub use dir::{create_private_dir, lock, read_capped, write_atomic, write_secret, DirTree};
pub use error::{Error, Result};

/// A published tree: where a ledger's public files live. A backend is a file of its own
/// ([`dir`], [`bucket`]) implementing this; the publisher, `serve` and `verify` use it
/// without knowing which.
///
/// Paths are published paths relative to the tree's root (`checkpoint`, `tile/0/000`).
/// Rules every backend keeps: a full tile, bundle or archived digest is written once and
/// never with other bytes ([`WriteKind::Immutable`]); every write is whole or absent after
/// a crash; [`Tree::put_many`] reports the earliest failure in `files` order.
pub trait Tree: Debug + Send + Sync {
    /// Where published path `rel` is, for messages.
    fn describe(&self, rel: &str) -> String;
    /// Where the tree is, for messages.
    fn location(&self) -> String;
    /// Writes `rel` as `kind` says.
    fn put(&self, rel: &str, bytes: &[u8], kind: WriteKind) -> Result<()>;
    /// Writes many paths at once. Returns the error of the earliest (in `files` order)
    /// that failed; of the others, any may have been written, as after a crash.
    fn put_many(&self, files: &[(String, Vec<u8>, WriteKind)]) -> Result<()>;
    /// Reads `rel` (at most `cap` bytes); `None` if it does not exist.
    fn get(&self, rel: &str, cap: u64) -> Result<Option<Vec<u8>>>;
    /// Whether `rel` exists.
    fn has(&self, rel: &str) -> Result<bool>;
    /// The names directly in directory `rel_dir`.
    fn list(&self, rel_dir: &str) -> Result<Vec<String>>;
    /// What a writer must hold on the tree itself, beyond the key directory's lock (an
    /// object store's lease), for the writer whose key directory is `keys`.
    fn hold(self: Arc<Self>, keys: &Path) -> Result<Box<dyn Hold>>;
    /// The tree as an object store, for `serve` and `verify` to read objects directly.
    fn bucket(self: Arc<Self>) -> Option<Arc<Bucket>> {
        None
    }
}

/// A writer's hold on a published tree, let go when dropped.
pub trait Hold: Send {
    /// Renews the hold before a checkpoint is published: fails if another writer took it.
    fn renew(&mut self) -> Result<()>;
}

/// The published tree and the key directory of one ledger.
#[derive(Clone, Debug)]
pub struct Store {
    /// DIR: the published tree itself, or (with an object store) its local directory.
    pub dir: PathBuf,
    pub keys: PathBuf,
    pub tree: Arc<dyn Tree>,
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

/// How [`Tree::put_many`] writes a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// As [`dir::write_immutable`]: full tiles and bundles.
    Immutable,
    /// As [`dir::write_atomic`]: partial tiles.
    Atomic,
    /// As `Immutable`, and then its gzip beside it (`<path>.gz`, written atomically
    /// after the file, when it is smaller): full bundles, which `serve` sends
    /// precompressed. The `.gz` is derived: losing it in a crash costs only speed.
    ImmutableGzip,
}

impl Store {
    /// The store for DIR, with its key directory (default: `DIR.keys` beside it).
    pub fn new(dir: &Path, keys: Option<&Path>) -> Result<Store> {
        let dir = dir.to_path_buf();
        let keys = match keys {
            Some(k) => k.to_path_buf(),
            None => {
                let name = dir.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
                    Error::Usage(format!("{} has no directory name", dir.display()))
                })?;
                dir.with_file_name(format!("{name}.keys"))
            }
        };
        let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        if abs(&keys).starts_with(abs(&dir)) {
            return Err(Error::Usage(format!(
                "the key directory {} is inside the published directory {}; keys must never be published",
                keys.display(),
                dir.display()
            )));
        }
        let config = dir.join(STORE_FILE);
        let tree: Arc<dyn Tree> = match config.exists() {
            false => Arc::new(DirTree::new(&dir)),
            true => {
                let text = read_capped(&config, 4096)?;
                let url = serde_json::from_slice::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["store"].as_str().map(str::to_owned))
                    .ok_or_else(|| {
                        Error::Corrupt(format!(
                            "{}: expected {{\"store\": \"s3://BUCKET/PREFIX\"}} (or az://, gs://)",
                            config.display()
                        ))
                    })?;
                Arc::new(Bucket::open(&url)?)
            }
        };
        Ok(Store { dir, keys, tree })
    }

    /// The same ledger, its published tree in the object store at `url` (for `init
    /// --store`, before `store.json` is written).
    pub fn with_bucket(mut self, url: &str) -> Result<Store> {
        self.tree = Arc::new(Bucket::open(url)?);
        Ok(self)
    }

    /// The bucket, when the tree is in one (`serve` reads it as objects).
    pub fn bucket(&self) -> Option<Arc<Bucket>> {
        self.tree.clone().bucket()
    }

    /// Where published path `rel` is, for messages.
    pub fn describe(&self, rel: &str) -> String {
        self.tree.describe(rel)
    }

    /// Where the published tree is, for messages.
    pub fn location(&self) -> String {
        self.tree.location()
    }

    /// Writes published path `rel` as `kind` says.
    pub fn put(&self, rel: &str, bytes: &[u8], kind: WriteKind) -> Result<()> {
        self.tree.put(rel, bytes, kind)
    }

    /// Writes many published paths at once (see [`Tree::put_many`]).
    pub fn put_many(&self, files: &[(String, Vec<u8>, WriteKind)]) -> Result<()> {
        self.tree.put_many(files)
    }

    /// Reads published path `rel` (at most `cap` bytes); `None` if it does not exist.
    pub fn get(&self, rel: &str, cap: u64) -> Result<Option<Vec<u8>>> {
        self.tree.get(rel, cap)
    }

    /// Reads published path `rel`, which must exist.
    pub fn read(&self, rel: &str, cap: u64) -> Result<Vec<u8>> {
        self.get(rel, cap)?.ok_or_else(|| {
            Error::Corrupt(format!("{} is missing from the ledger", self.describe(rel)))
        })
    }

    /// Whether published path `rel` exists.
    pub fn has(&self, rel: &str) -> Result<bool> {
        self.tree.has(rel)
    }

    /// The names directly in published directory `rel_dir`.
    pub fn list(&self, rel_dir: &str) -> Result<Vec<String>> {
        self.tree.list(rel_dir)
    }

    /// The published tree's own hold for one writer (see [`Tree::hold`]); the caller holds
    /// [`Store::lock`].
    pub fn hold(&self) -> Result<Box<dyn Hold>> {
        self.tree.clone().hold(&self.keys)
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
            create_private_dir(d)?;
        }
        Ok(())
    }

    /// Writes a secret (mode 0600 from the start).
    pub fn write_secret(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        write_secret(path, bytes)
    }

    /// Takes the writer lock, or fails at once if another writer holds it.
    pub fn lock(&self) -> Result<std::fs::File> {
        lock(&self.keys.join("lock"), &self.dir.display().to_string())
    }
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

/// The text of docs/FORMAT.md's worked example `name`, for the tests that check a writer
/// of this shell against it (feature `testing`).
#[cfg(any(test, feature = "testing"))]
pub fn format_example(name: &str) -> String {
    let doc = include_str!("../../../docs/FORMAT.md");
    let start = doc
        .find(&format!("<!-- example: {name} -->\n```text\n"))
        .unwrap_or_else(|| panic!("docs/FORMAT.md has no example {name}"));
    let body = &doc[start..];
    let body = &body[body.find("```text\n").unwrap_or(0) + 8..];
    body[..body.find("```").unwrap_or(body.len())].to_owned()
}
