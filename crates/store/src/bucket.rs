//! A ledger's published tree in an object store: S3 and S3-compatible stores, Azure Blob
//! Storage and Google Cloud Storage, through the `object_store` crate.
//!
//! ```text
//! s3://BUCKET/PREFIX/       the published tree, as on disk (checkpoint, metadata, tile/…,
//!                           digests/…, index.html), each object with its content type
//!                           and the Cache-Control of `core::layout`
//!   .liveledger/lease       the writer's lease: {"holder", "host", "keys", "expires"}
//!                           (not secret; never served by `serve`)
//! ```
//!
//! Rules, the same as on disk (`store`), and what makes them hold here:
//! - A full tile, bundle or archived digest is written **create-only** (`PutMode::Create`,
//!   `If-None-Match: *`): it can never be overwritten, by us or by a second writer. One
//!   that exists is read back; the same bytes are fine (a journaled batch finished again),
//!   other bytes are an error that names it.
//! - The checkpoint is replaced last, and only by the holder of the **lease**: a
//!   conditional put (`If-Match` on the lease object's ETag) renews it before every
//!   checkpoint, so a writer that lost it (another took it after it expired) refuses to
//!   publish. A second writer is refused while the lease is unexpired (60 s,
//!   `LIVELEDGER_LEASE_SECONDS`), except the same key directory on the same host: its
//!   holder holds that directory's lock too, so if we got the lock, it died (a writer
//!   restarted after a crash does not wait out its own lease).
//! - Uploads of a batch run in parallel (16 at a time); a batch's files are all written
//!   before its checkpoint.
//!
//! Configuration is each cloud's usual variables, as `object_store` reads them. S3:
//! `AWS_ENDPOINT_URL` (plain `http://` is allowed when the endpoint says so),
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` (default `us-east-1`).
//! Azure (`az://`): `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY` (or the other
//! credentials it reads), `AZURE_STORAGE_USE_EMULATOR=true` for Azurite. GCS (`gs://`):
//! `GOOGLE_SERVICE_ACCOUNT` (a key file) or the other credentials it reads, and
//! `GOOGLE_BASE_URL` for an emulator (plain `http://` allowed there). Every one
//! makes the same create-only puts and conditional lease renewals (`If-None-Match`,
//! `If-Match`, or GCS's generation match).
//!
//! The calls are synchronous for the writer: each runs on this module's own small tokio
//! runtime, so they work from any thread, inside another runtime's blocking threads too.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::path::Path as ObjPath;
use object_store::{
    Attribute, Attributes, ClientOptions, GetOptions, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload, RetryConfig, UpdateVersion,
};

use liveledger_core::layout::Published;

use crate::error::{Error, Result};
use crate::process::{random_seed, unix_now};
use crate::{Hold, Tree, WriteKind};

/// How long a writer's lease lasts without renewal (`LIVELEDGER_LEASE_SECONDS` to change).
pub const LEASE_SECONDS: u64 = 60;

fn lease_seconds() -> u64 {
    std::env::var("LIVELEDGER_LEASE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(LEASE_SECONDS)
}
/// Uploads in flight at once.
const PARALLEL: usize = 16;
const LEASE: &str = ".liveledger/lease";

/// An object store holding one ledger's published tree under a prefix.
pub struct Bucket {
    url: String,
    store: Arc<dyn ObjectStore>,
    prefix: String,
    rt: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bucket({})", self.url)
    }
}

impl Drop for Bucket {
    fn drop(&mut self) {
        // Dropping a runtime blocks; inside an async context it must not.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A held lease: what a conditional renewal needs.
#[derive(Debug)]
pub struct Lease {
    holder: String,
    keys: String,
    version: UpdateVersion,
}

impl Bucket {
    /// Opens `s3://BUCKET[/PREFIX]`, `az://CONTAINER[/PREFIX]` or `gs://BUCKET[/PREFIX]`,
    /// configured from the environment (see the module doc).
    pub fn open(url: &str) -> Result<Bucket> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "--store {url:?}: {why}; expected s3://BUCKET[/PREFIX], az://CONTAINER[/PREFIX] or gs://BUCKET[/PREFIX]"
            ))
        };
        let (scheme, rest) = url
            .split_once("://")
            .filter(|(s, _)| matches!(*s, "s3" | "az" | "gs"))
            .ok_or_else(|| bad("not an s3://, az:// or gs:// store"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/').to_owned();
        if bucket.is_empty() {
            return Err(bad("no bucket name"));
        }
        if prefix
            .split('/')
            .any(|s| s == "." || s == ".." || (s.is_empty() && !prefix.is_empty()))
        {
            return Err(bad("the prefix has an empty, `.` or `..` segment"));
        }
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(20),
            ..Default::default()
        };
        let client = ClientOptions::new()
            .with_timeout(Duration::from_secs(60))
            .with_connect_timeout(Duration::from_secs(5));
        let built: std::result::Result<Arc<dyn ObjectStore>, object_store::Error> = match scheme {
            "az" => MicrosoftAzureBuilder::from_env()
                .with_container_name(bucket)
                .with_retry(retry)
                .with_client_options(client.with_allow_http(azure_is_http()))
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
            "gs" => GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(bucket)
                .with_retry(retry)
                .with_client_options(client.with_allow_http(gcs_is_http()))
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
            _ => {
                let mut b = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry)
                    .with_client_options(client.with_allow_http(endpoint_is_http()));
                if std::env::var_os("AWS_REGION").is_none()
                    && std::env::var_os("AWS_DEFAULT_REGION").is_none()
                {
                    b = b.with_region("us-east-1");
                }
                b.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
            }
        };
        let store = built.map_err(|e| Error::Usage(format!("--store {url}: {e}")))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("liveledger-bucket")
            .build()
            .map_err(|e| Error::Io(format!("the object store's runtime: {e}")))?;
        Ok(Bucket {
            url: format!(
                "{scheme}://{bucket}{}{prefix}",
                if prefix.is_empty() { "" } else { "/" }
            ),
            store,
            prefix,
            rt: Some(rt),
        })
    }

    /// `s3://BUCKET/PREFIX`, as opened.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store, for async callers (the server).
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// The object path of `rel` (a published path: `checkpoint`, `tile/0/000`, …).
    pub fn path(&self, rel: &str) -> ObjPath {
        match self.prefix.is_empty() {
            true => ObjPath::from(rel),
            false => ObjPath::from(format!("{}/{rel}", self.prefix)),
        }
    }

    /// `s3://BUCKET/PREFIX/rel`, for messages.
    pub fn describe(&self, rel: &str) -> String {
        format!("{}/{rel}", self.url)
    }

    /// Runs `f` on the bucket's runtime and waits for it.
    fn run<T: Send + 'static>(
        &self,
        f: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Result<T> {
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| Error::Io("the object store's runtime is shut down".into()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        rt.spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv()
            .map_err(|_| Error::Io(format!("{}: the request was dropped", self.url)))
    }

    fn io(&self, rel: &str, e: object_store::Error) -> Error {
        Error::Io(format!("{}: {e}", self.describe(rel)))
    }

    /// Reads `rel`, at most `cap` bytes; `None` if it does not exist.
    pub fn get(&self, rel: &str, cap: u64) -> Result<Option<Vec<u8>>> {
        let (store, path) = (self.store.clone(), self.path(rel));
        let r = self.run(async move {
            let got = store.get(&path).await?;
            if got.meta.size > cap {
                return Ok(Err(got.meta.size));
            }
            got.bytes().await.map(|b| Ok(b.to_vec()))
        })?;
        match r {
            Ok(Ok(b)) => Ok(Some(b)),
            Ok(Err(size)) => Err(Error::Input(format!(
                "{} is {size} bytes, larger than {cap}",
                self.describe(rel)
            ))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.io(rel, e)),
        }
    }

    /// Whether `rel` exists.
    pub fn has(&self, rel: &str) -> Result<bool> {
        let (store, path) = (self.store.clone(), self.path(rel));
        match self.run(async move { store.head(&path).await })? {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.io(rel, e)),
        }
    }

    /// The names of the objects directly under `rel_dir` (`digests`).
    pub fn list(&self, rel_dir: &str) -> Result<Vec<String>> {
        let (store, path) = (self.store.clone(), self.path(rel_dir));
        let r = self.run(async move { store.list_with_delimiter(Some(&path)).await })?;
        let r = r.map_err(|e| self.io(rel_dir, e))?;
        Ok(r.objects
            .into_iter()
            .filter_map(|o| o.location.filename().map(str::to_owned))
            .collect())
    }

    /// Writes `rel` as `kind` says (see the module doc).
    pub fn put(&self, rel: &str, bytes: &[u8], kind: WriteKind) -> Result<()> {
        self.put_many(&[(rel.to_owned(), bytes.to_vec(), kind)])
    }

    /// Writes many objects, [`PARALLEL`] at a time. Returns the error of the earliest (in
    /// `files` order) that failed; of the others, any may have been written.
    pub fn put_many(&self, files: &[(String, Vec<u8>, WriteKind)]) -> Result<()> {
        let jobs: Vec<_> = files
            .iter()
            .map(|(rel, bytes, kind)| {
                (
                    rel.clone(),
                    self.path(rel),
                    PutPayload::from(bytes.clone()),
                    !matches!(kind, WriteKind::Atomic),
                    attributes(rel),
                )
            })
            .collect();
        let store = self.store.clone();
        let results = self.run(async move {
            let limit = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
            let mut set = tokio::task::JoinSet::new();
            for (i, (_, path, payload, create, attrs)) in jobs.into_iter().enumerate() {
                let (store, limit) = (store.clone(), limit.clone());
                set.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    let mode = if create {
                        PutMode::Create
                    } else {
                        PutMode::Overwrite
                    };
                    let opts = PutOptions {
                        mode,
                        attributes: attrs,
                        ..Default::default()
                    };
                    let r = store.put_opts(&path, payload.clone(), opts).await;
                    let r = match r {
                        // Create-only, and it exists: the same bytes are fine.
                        Err(object_store::Error::AlreadyExists { .. }) => {
                            match store.get(&path).await {
                                Ok(g) => match g.bytes().await {
                                    Ok(b)
                                        if payload
                                            .iter()
                                            .flatten()
                                            .copied()
                                            .eq(b.iter().copied()) =>
                                    {
                                        Ok(Ok(()))
                                    }
                                    Ok(_) => Ok(Err(())),
                                    Err(e) => Err(e),
                                },
                                Err(e) => Err(e),
                            }
                        }
                        Err(e) => Err(e),
                        Ok(_) => Ok(Ok(())),
                    };
                    (i, r)
                });
            }
            let mut out = Vec::new();
            while let Some(r) = set.join_next().await {
                if let Ok(r) = r {
                    out.push(r);
                }
            }
            out
        })?;
        let mut failed: Option<(usize, Error)> = None;
        let mut done = 0;
        for (i, r) in results {
            done += 1;
            let e = match r {
                Ok(Ok(())) => continue,
                Ok(Err(())) => Error::Corrupt(format!(
                    "{} already exists with other content; full tiles, bundles and archived digests are never rewritten",
                    self.describe(&files[i].0)
                )),
                Err(e) => self.io(&files[i].0, e),
            };
            if failed.as_ref().is_none_or(|(j, _)| i < *j) {
                failed = Some((i, e));
            }
        }
        match failed {
            Some((_, e)) => Err(e),
            None if done < files.len() => Err(Error::Io(format!(
                "{}: {} of {} uploads did not finish",
                self.url,
                files.len() - done,
                files.len()
            ))),
            None => Ok(()),
        }
    }

    /// Takes the writer's lease for the writer whose key directory is `keys` (whose lock
    /// the caller holds), or fails (exit 4) while another holder's is unexpired.
    pub fn acquire(&self, keys: &std::path::Path) -> Result<Lease> {
        let keys = std::path::absolute(keys)
            .unwrap_or_else(|_| keys.to_path_buf())
            .display()
            .to_string();
        let holder = format!(
            "{}-{}-{}",
            hostname(),
            std::process::id(),
            liveledger_core::hash::sha256(&random_seed()?).to_hex()[..12].to_owned()
        );
        for _ in 0..3 {
            let current = self.get_lease()?;
            let mode = match &current {
                None => PutMode::Create,
                Some((held, version)) => {
                    let now = unix_now();
                    let ours = held["host"].as_str() == Some(hostname().as_str())
                        && held["keys"].as_str() == Some(keys.as_str());
                    if held["expires"].as_u64().unwrap_or(0) > now && !ours {
                        return Err(Error::Busy(format!(
                            "another writer holds the lease on {} ({}, for {} s more); a lease lasts {} s unless renewed",
                            self.url,
                            held["holder"].as_str().unwrap_or("?"),
                            held["expires"].as_u64().unwrap_or(0).saturating_sub(now),
                            lease_seconds()
                        )));
                    }
                    PutMode::Update(version.clone())
                }
            };
            match self.put_lease(&holder, &keys, mode)? {
                Some(version) => {
                    return Ok(Lease {
                        holder,
                        keys,
                        version,
                    })
                }
                None => continue, // someone else moved first: look again
            }
        }
        Err(Error::Busy(format!(
            "the lease on {} keeps changing hands; another writer is active",
            self.url
        )))
    }

    /// Renews `lease` (before publishing a checkpoint): fails if another writer took it.
    pub fn renew(&self, lease: &mut Lease) -> Result<()> {
        match self.put_lease(&lease.holder, &lease.keys, PutMode::Update(lease.version.clone()))? {
            Some(v) => {
                lease.version = v;
                Ok(())
            }
            None => Err(Error::Busy(format!(
                "this writer lost its lease on {} (another writer took it after it expired); nothing more is published by it",
                self.url
            ))),
        }
    }

    /// Lets the lease go (when a writer closes), if it is still ours.
    pub fn release(&self, lease: &Lease) {
        if let Ok(Some((held, _))) = self.get_lease() {
            if held["holder"].as_str() == Some(lease.holder.as_str()) {
                let (store, path) = (self.store.clone(), self.path(LEASE));
                let _ = self.run(async move { store.delete(&path).await });
            }
        }
    }

    fn get_lease(&self) -> Result<Option<(serde_json::Value, UpdateVersion)>> {
        let (store, path) = (self.store.clone(), self.path(LEASE));
        let r = self.run(async move {
            let g = store.get_opts(&path, GetOptions::default()).await?;
            let v = UpdateVersion {
                e_tag: g.meta.e_tag.clone(),
                version: g.meta.version.clone(),
            };
            g.bytes().await.map(|b| (b, v))
        })?;
        match r {
            Ok((b, v)) => Ok(Some((
                serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
                v,
            ))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.io(LEASE, e)),
        }
    }

    /// Writes the lease conditionally: `None` if the condition failed.
    fn put_lease(&self, holder: &str, keys: &str, mode: PutMode) -> Result<Option<UpdateVersion>> {
        let body = lease_body(holder, &hostname(), keys, unix_now() + lease_seconds());
        let (store, path) = (self.store.clone(), self.path(LEASE));
        let opts = PutOptions {
            mode,
            ..Default::default()
        };
        let r = self.run(async move { store.put_opts(&path, body.into(), opts).await })?;
        match r {
            Ok(p) => Ok(Some(UpdateVersion {
                e_tag: p.e_tag,
                version: p.version,
            })),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(None),
            Err(e) => Err(self.io(LEASE, e)),
        }
    }
}

impl Tree for Bucket {
    fn describe(&self, rel: &str) -> String {
        Bucket::describe(self, rel)
    }

    fn location(&self) -> String {
        self.url.clone()
    }

    fn put(&self, rel: &str, bytes: &[u8], kind: WriteKind) -> Result<()> {
        Bucket::put(self, rel, bytes, kind)
    }

    fn put_many(&self, files: &[(String, Vec<u8>, WriteKind)]) -> Result<()> {
        Bucket::put_many(self, files)
    }

    fn get(&self, rel: &str, cap: u64) -> Result<Option<Vec<u8>>> {
        Bucket::get(self, rel, cap)
    }

    fn has(&self, rel: &str) -> Result<bool> {
        Bucket::has(self, rel)
    }

    fn list(&self, rel_dir: &str) -> Result<Vec<String>> {
        Bucket::list(self, rel_dir)
    }

    fn hold(self: Arc<Self>, keys: &std::path::Path) -> Result<Box<dyn Hold>> {
        Ok(Box::new(LeaseHold {
            lease: self.acquire(keys)?,
            bucket: self,
        }))
    }

    fn bucket(self: Arc<Self>) -> Option<Arc<Bucket>> {
        Some(self)
    }
}

/// A writer's lease on a bucket, renewed before each checkpoint and let go on drop.
struct LeaseHold {
    bucket: Arc<Bucket>,
    lease: Lease,
}

impl Hold for LeaseHold {
    fn renew(&mut self) -> Result<()> {
        self.bucket.renew(&mut self.lease)
    }
}

impl Drop for LeaseHold {
    fn drop(&mut self) {
        self.bucket.release(&self.lease);
    }
}

/// The lease object's text (docs/FORMAT.md, "The published tree in an object store").
pub fn lease_body(holder: &str, host: &str, keys: &str, expires: u64) -> String {
    // Canonical JSON (members sorted by the writer itself, whatever serde_json's map).
    let v = serde_json::json!({"holder": holder, "host": host, "keys": keys, "expires": expires});
    format!(
        "{}\n",
        liveledger_core::jcs::to_canonical(&v).unwrap_or_default()
    )
}

/// An object's content type and Cache-Control, as `serve` would send them.
fn attributes(rel: &str) -> Attributes {
    let mut a = Attributes::new();
    a.insert(Attribute::ContentType, Published::content_type(rel).into());
    a.insert(
        Attribute::CacheControl,
        Published::classify(rel).lifetime().cache_control().into(),
    );
    a
}

fn endpoint_is_http() -> bool {
    ["AWS_ENDPOINT_URL", "AWS_ENDPOINT", "AWS_ENDPOINT_URL_S3"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .any(|u| u.starts_with("http://"))
}

/// Plain HTTP for Azure only to the emulator (Azurite) or an `http://` endpoint.
fn azure_is_http() -> bool {
    std::env::var("AZURE_STORAGE_USE_EMULATOR").is_ok_and(|v| v == "true")
        || ["AZURE_STORAGE_ENDPOINT", "AZURITE_BLOB_STORAGE_URL"]
            .iter()
            .filter_map(|k| std::env::var(k).ok())
            .any(|u| u.starts_with("http://"))
}

/// Plain HTTP for GCS only to an `http://` base URL (an emulator's).
fn gcs_is_http() -> bool {
    std::env::var("GOOGLE_BASE_URL").is_ok_and(|u| u.starts_with("http://"))
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_store_file_and_the_lease_are_what_format_md_shows() {
        assert_eq!(
            crate::store_file("s3://ledgers/payments"),
            crate::format_example("store-json")
        );
        assert_eq!(
            super::lease_body(
                "publisher-1.example-4242-3f9a0c2b71d4",
                "publisher-1.example",
                "/srv/ledger.keys",
                1796083200
            ),
            crate::format_example("lease")
        );
    }
}
