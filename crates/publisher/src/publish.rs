//! Publishing: the checkpoint signed and cosigned with the time key, archived, replaced
//! (steps 4–5); the digest pages; the policy; consistency proofs from the ledger's tiles.

use liveledger_core::policy::Policy;

use super::*;

impl Writer {
    /// Signs a checkpoint for the current size (with a fresh time cosignature), archives
    /// it, publishes it, and writes its digest page. `previous` is the size of the digest
    /// before it, for the page's consistency proof.
    pub fn publish_checkpoint(&mut self, previous: u64) -> Result<()> {
        let cp = self.writer.checkpoint(&self.meta.origin, vec![]);
        let text = cp.to_text();
        let mut note =
            Note::sign(&text, &[&self.log_key], 0).map_err(|e| Error::Input(e.to_string()))?;
        if let Some(t) = &self.time_key {
            let secs = now().unix_seconds().max(0) as u64;
            note.add_signature(t, secs)
                .map_err(|e| Error::Input(e.to_string()))?;
        }
        let mut bytes = note.to_bytes();
        let size = self.size();
        // With a witness policy: published only once the quorum cosigned.
        if let Some(policy) = self.meta.policy.as_ref().filter(|p| p.requires_witnesses()) {
            store::write_atomic(&self.store.latest(), &bytes)?;
            let st = self.store.clone();
            let proof = std::sync::Arc::new(move |old: u64| consistency_proof(&st, old, size));
            let g = cosign::gather(&self.store, policy, &bytes, size, proof)?;
            let met = g.met;
            bytes.extend_from_slice(g.lines().as_bytes());
            self.witnessed = Some(g);
            if !met {
                return Ok(());
            }
        }
        let archived = layout::digest(size);
        if !self.store.has(&archived)? {
            self.store.put(&archived, &bytes, WriteKind::Immutable)?;
        }
        // The checkpoint last, and in an object store only while this writer holds the
        // lease (renewed now: a writer that lost it publishes nothing).
        self.renew_lease()?;
        self.store
            .put(layout::CHECKPOINT, &bytes, WriteKind::Atomic)?;
        self.write_pages(size, previous)
    }

    /// Sets the witness policy: rewrites the signed metadata with `text` (a tlog-policy
    /// file) in place of any `witnesses` threshold. A policy whose log lines name logs
    /// must name this one's key. Returns the policy, parsed.
    pub fn set_policy(&mut self, text: &[u8]) -> Result<Policy> {
        let policy = Policy::parse(text).map_err(|e| Error::Input(e.to_string()))?;
        let text = std::str::from_utf8(text)
            .map_err(|_| Error::Input("the policy is not UTF-8".into()))?;
        if !policy.logs.is_empty()
            && !policy
                .logs
                .iter()
                .any(|(k, _)| self.meta.log_keys.contains(k))
        {
            return Err(Error::Input(format!(
                "its log lines do not name this ledger's key {}",
                self.meta.log_keys[0]
            )));
        }
        let raw = self.store.read(layout::METADATA, MAX_NOTE_SIZE as u64)?;
        let note = Note::parse(&raw)
            .and_then(|n| n.verify(&[self.log_key.verifier()]))
            .map_err(|e| {
                Error::Corrupt(format!("{}: {e}", self.store.describe(layout::METADATA)))
            })?;
        let text = liveledger_core::writer::metadata::with_policy(note.text(), text)
            .map_err(|e| Error::Input(e.to_string()))?;
        let meta = Metadata::parse(&text).map_err(|e| Error::Input(e.to_string()))?;
        let signed =
            Note::sign(&text, &[&self.log_key], 0).map_err(|e| Error::Input(e.to_string()))?;
        self.store
            .put(layout::METADATA, &signed.to_bytes(), WriteKind::Atomic)?;
        self.meta = meta;
        Ok(policy)
    }

    /// A heartbeat: re-signs the current size with a fresh time cosignature.
    pub fn republish(&mut self) -> Result<()> {
        let size = self.size();
        let prev = self.previous_digest(size);
        self.publish_checkpoint(prev)
    }

    pub(super) fn previous_digest(&self, size: u64) -> u64 {
        self.digest_sizes()
            .into_iter()
            .filter(|&s| s < size)
            .max()
            .unwrap_or(0)
    }

    pub fn digest_sizes(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .store
            .list(layout::DIGESTS)
            .unwrap_or_default()
            .iter()
            .filter_map(|n| liveledger_core::checkpoint::parse_decimal(n))
            .collect();
        v.sort_unstable();
        v
    }

    pub(super) fn write_pages(&self, size: u64, previous: u64) -> Result<()> {
        let note_bytes = self
            .store
            .read(&layout::digest(size), MAX_NOTE_SIZE as u64)?;
        let mut keys = vec![self.log_key.verifier()];
        if let Some(t) = &self.time_key {
            keys.push(t.verifier());
        }
        let verified = Note::parse(&note_bytes)
            .and_then(|n| n.verify(&keys))
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        let proof = if previous > 0 && previous < size {
            let mut ts = TileSet::new(size);
            for p in tiles::consistency_tiles(previous, size)
                .map_err(|e| Error::Corrupt(e.to_string()))?
            {
                ts.insert(p, &self.read_tile(p)?)
                    .map_err(|e| Error::Corrupt(e.to_string()))?;
            }
            Some(
                tiles::consistency_proof_from_tiles(&ts, previous, size)
                    .map_err(|e| Error::Corrupt(e.to_string()))?,
            )
        } else {
            None
        };
        let page = pages::digest_page(
            &self.meta.origin,
            size,
            &verified,
            (previous > 0 && previous < size).then_some(previous),
            proof.as_deref(),
        );
        let sizes = self.digest_sizes();
        let mut files = vec![
            (
                layout::digest_page(size),
                page.into_bytes(),
                WriteKind::Atomic,
            ),
            (
                layout::DIGEST_PAGES.to_owned(),
                pages::digest_index(&self.meta.origin, &sizes).into_bytes(),
                WriteKind::Atomic,
            ),
            (
                layout::DIGEST_INDEX.to_owned(),
                liveledger_core::archive::encode_digest_index(&sizes).into_bytes(),
                WriteKind::Atomic,
            ),
        ];
        if !self.store.has("index.html")? {
            files.push((
                "index.html".to_owned(),
                pages::landing(&self.meta.origin).into_bytes(),
                WriteKind::Atomic,
            ));
        }
        self.store.put_many(&files)?;
        Ok(())
    }
}

/// The consistency proof from `old` to `size`, from the ledger's own tiles at `size`.
pub(super) fn consistency_proof(store: &Store, old: u64, size: u64) -> Result<Vec<Hash>> {
    if old == 0 || old == size {
        return Ok(Vec::new());
    }
    let bad = |e: String| Error::Corrupt(format!("consistency proof from {old} to {size}: {e}"));
    let mut set = TileSet::new(size);
    for t in tiles::consistency_tiles_in(size, old, size).map_err(|e| bad(e.to_string()))? {
        let b = store.read(&t.to_string(), 64 * 1024 * 256)?;
        set.insert(t, &b).map_err(|e| bad(e.to_string()))?;
    }
    tiles::consistency_proof_from_tiles(&set, old, size).map_err(|e| bad(e.to_string()))
}
