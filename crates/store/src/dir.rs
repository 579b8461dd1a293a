//! A published tree in a directory, and every write to local files: atomic writes
//! (temporary file, fsync, rename, directory fsync), immutable files, secrets (0600), the
//! writer's lock.
//!
//! Fault injection for tests: `LIVELEDGER_FAULT=N:before` makes the Nth atomic write of
//! the process fail without writing; `N:after` makes it fail after the file is in place;
//! `N:abort-before` and `N:abort-after` abort the process at that point instead.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::{Hold, Tree, WriteKind};

/// The published tree as the directory itself.
#[derive(Debug)]
pub struct DirTree {
    root: PathBuf,
}

impl DirTree {
    pub fn new(root: &Path) -> DirTree {
        DirTree {
            root: root.to_path_buf(),
        }
    }
}

/// A directory needs no hold beyond the key directory's lock.
struct NoHold;

impl Hold for NoHold {
    fn renew(&mut self) -> Result<()> {
        Ok(())
    }
}

impl Tree for DirTree {
    fn describe(&self, rel: &str) -> String {
        self.root.join(rel).display().to_string()
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn put_many(&self, files: &[(String, Vec<u8>, WriteKind)]) -> Result<()> {
        let files: Vec<_> = files
            .iter()
            .map(|(rel, b, k)| (self.root.join(rel), b.clone(), *k))
            .collect();
        write_many(&files)
    }

    fn put(&self, rel: &str, bytes: &[u8], kind: WriteKind) -> Result<()> {
        write_one(&self.root.join(rel), bytes, kind)
    }

    fn get(&self, rel: &str, cap: u64) -> Result<Option<Vec<u8>>> {
        let path = self.root.join(rel);
        match read_capped(&path, cap) {
            Ok(b) => Ok(Some(b)),
            Err(_) if !path.exists() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn has(&self, rel: &str) -> Result<bool> {
        Ok(self.root.join(rel).exists())
    }

    fn list(&self, rel_dir: &str) -> Result<Vec<String>> {
        Ok(fs::read_dir(self.root.join(rel_dir))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect())
    }

    fn hold(self: std::sync::Arc<Self>, _keys: &Path) -> Result<Box<dyn Hold>> {
        Ok(Box::new(NoHold))
    }
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
    let io = |e: io::Error| Error::io(path, e);
    fault(false).map_err(io)?;
    let dir = path
        .parent()
        .ok_or_else(|| Error::io(path, io::Error::other("no parent directory")))?;
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
        Ok(_) => Err(Error::Corrupt(format!(
            "{} already exists with other content; full tiles and bundles are never rewritten",
            path.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => write_atomic(path, bytes),
        Err(e) => Err(Error::io(path, e)),
    }
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
        .map_err(|e| Error::io(path, e))
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
    let failed: Mutex<Option<(usize, Error)>> = Mutex::new(None);
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
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = Vec::new();
    f.take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, e))?;
    if buf.len() as u64 > cap {
        return Err(Error::Input(format!(
            "{} is larger than {cap} bytes",
            path.display()
        )));
    }
    Ok(buf)
}

/// Takes the lock file at `path` for `what`, or fails at once (exit 4) if another
/// process holds it.
pub fn lock(path: &Path, what: &str) -> Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Busy(format!(
            "another liveledger process is writing to {what} (lock {} is held)",
            path.display()
        ))),
        Err(fs::TryLockError::Error(e)) => Err(Error::io(path, e)),
    }
}

/// Creates a private directory (mode 0700).
pub fn create_private_dir(d: &Path) -> Result<()> {
    fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    set_mode(d, 0o700)
}

/// Writes a secret file: mode 0600 from the start, atomically and durably.
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e: io::Error| Error::io(path, e);
    let dir = path
        .parent()
        .ok_or_else(|| Error::io(path, io::Error::other("no parent directory")))?;
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

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).map_err(|e| Error::io(p, e))
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
