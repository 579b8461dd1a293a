//! Opening a ledger for writing: the lock (or the bucket's lease), the journal's
//! recovery (an interrupted batch finished first), and the state read back and checked
//! against the checkpoint.

use super::*;

impl Writer {
    /// Opens a ledger for writing: takes the lock, finishes an interrupted batch, and
    /// resumes from the files on disk (checking they agree with the checkpoint).
    pub fn open(store: &Store) -> Result<Writer> {
        if !store.has(layout::METADATA)? {
            return Err(Error::Usage(format!(
                "{} is not a ledger (no metadata); create one with `liveledger init`",
                store.location()
            )));
        }
        let lock = store.lock()?;
        let hold = store.hold()?;
        let log_key = read_key(&store.log_key())?;
        let raw_meta = store.read(layout::METADATA, MAX_NOTE_SIZE as u64)?;
        let note = Note::parse(&raw_meta)
            .and_then(|n| n.verify(&[log_key.verifier()]))
            .map_err(|e| Error::Corrupt(format!("{}: {e}", store.describe(layout::METADATA))))?;
        let meta = Metadata::parse(note.text())
            .map_err(|e| Error::Corrupt(format!("{}: {e}", store.describe(layout::METADATA))))?;
        let time_key = if meta.entries == Entries::Opaque {
            None
        } else {
            Some(read_key(&store.time_key())?)
        };
        let mut w = Writer {
            store: store.clone(),
            meta,
            log_key,
            time_key,
            writer: LogWriter::new(),
            chain: None,
            governance_seqs: Vec::new(),
            witnessed: None,
            hold,
            _lock: lock,
        };
        w.load()?;
        if w.recover()? {
            // The batch is in: reload the right edge and the chain from the files.
            w.governance_seqs.clear();
            w.load()?;
        }
        Ok(w)
    }

    pub fn size(&self) -> u64 {
        self.writer.size()
    }

    /// Renews this writer's hold on its published tree (an object store's lease):
    /// fails if another writer took it.
    pub(super) fn renew_lease(&mut self) -> Result<()> {
        self.hold.renew()
    }

    /// The checkpoint to resume from: the latest the log signed (`latest`, when a
    /// witness policy held the published one back), else the published one.
    pub(super) fn verified_checkpoint(&self) -> Result<Option<VerifiedCheckpoint>> {
        let open = |b: Option<Vec<u8>>, at: String| -> Result<Option<VerifiedCheckpoint>> {
            let Some(b) = b else { return Ok(None) };
            VerifiedCheckpoint::open(&b, &[self.log_key.verifier()], &self.meta.origin)
                .map(Some)
                .map_err(|e| Error::Corrupt(format!("{at}: {e}")))
        };
        let published = open(
            self.store.get(layout::CHECKPOINT, MAX_NOTE_SIZE as u64)?,
            self.store.describe(layout::CHECKPOINT),
        )?;
        let latest_path = self.store.latest();
        let latest = match latest_path.exists() {
            true => Some(read_capped(&latest_path, 1 << 20)?),
            false => None,
        };
        let latest = open(latest, latest_path.display().to_string())?;
        Ok(match (published, latest) {
            (Some(p), Some(l)) if l.size() > p.size() => Some(l),
            (p, l) => p.or(l),
        })
    }

    /// The published (witnessed) checkpoint's size.
    pub fn published_size(&self) -> u64 {
        self.store
            .get(layout::CHECKPOINT, MAX_NOTE_SIZE as u64)
            .ok()
            .flatten()
            .and_then(|b| {
                VerifiedCheckpoint::open(&b, &[self.log_key.verifier()], &self.meta.origin).ok()
            })
            .map_or(0, |c| c.size())
    }

    pub(super) fn read_tile(&self, p: TilePath) -> Result<Vec<u8>> {
        self.store.read(&p.to_string(), 64 * 1024 * 256)
    }

    /// Loads the right edge of the log at the checkpoint's size.
    pub(super) fn load(&mut self) -> Result<()> {
        let Some(cp) = self.verified_checkpoint()? else {
            return Ok(());
        };
        let size = cp.size();
        let mut hashes = Vec::new();
        let mut bundle = None;
        for p in tiles::partial_tiles(size) {
            let b = self.read_tile(p)?;
            if p.kind() == TileKind::Entries {
                bundle = Some(b);
            } else {
                let h =
                    tiles::decode_hash_tile(p, &b).map_err(|e| Error::Corrupt(e.to_string()))?;
                hashes.push((p, h));
            }
        }
        let w = LogWriter::resume(size, &hashes, bundle.as_deref())
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        if w.root() != cp.root() {
            return Err(Error::Corrupt(format!(
                "the tiles in {} give root {}, but the checkpoint says {}",
                self.store.location(),
                w.root(),
                cp.root()
            )));
        }
        self.writer = w;
        if self.meta.entries != Entries::Opaque {
            self.load_chain(size)?;
        }
        Ok(())
    }

    /// Reads entry `i` of a log of `size` from disk.
    pub(super) fn entry(&self, size: u64, i: u64) -> Result<Vec<u8>> {
        let (p, pos) =
            tiles::bundle_for_entry(size, i).map_err(|e| Error::Corrupt(e.to_string()))?;
        let b = self.read_tile(p)?;
        let entries = bundle::decode_bundle(&b, p.width())
            .map_err(|e| Error::Corrupt(format!("{p}: {e}")))?;
        Ok(entries[pos].to_vec())
    }

    pub(super) fn load_chain(&mut self, size: u64) -> Result<()> {
        if size == 0 {
            self.chain = Some(ChainVerifier::new(&self.meta.origin));
            return Ok(());
        }
        let seqs: Option<Vec<u64>> = fs::read_to_string(self.store.state())
            .ok()
            .and_then(|s| State::parse(&s))
            .filter(|s| s.size == size)
            .map(|s| s.governance);
        if let Some(seqs) = seqs {
            let gov: Vec<Vec<u8>> = seqs
                .iter()
                .map(|&s| self.entry(size, s))
                .collect::<Result<_>>()?;
            let last = self.entry(size, size - 1)?;
            let last_ev =
                UnverifiedEvent::parse(&last).map_err(|e| Error::Corrupt(e.to_string()))?;
            let refs: Vec<&[u8]> = gov.iter().map(Vec::as_slice).collect();
            if let Ok(c) = ChainVerifier::resume(
                &self.meta.origin,
                &refs,
                size,
                leaf_hash(&last),
                Some(last_ev.time),
            ) {
                self.chain = Some(c);
                self.governance_seqs = seqs;
                return Ok(());
            }
        }
        // No usable restart state: re-verify the whole chain from the files.
        let mut c = ChainVerifier::new(&self.meta.origin);
        self.governance_seqs.clear();
        for b in 0..tiles::bundle_count(size) {
            let p = tiles::bundle_at(size, b).map_err(|e| Error::Corrupt(e.to_string()))?;
            let bytes = self.read_tile(p)?;
            for e in bundle::decode_bundle(&bytes, p.width())
                .map_err(|e| Error::Corrupt(format!("{p}: {e}")))?
            {
                let ev = c
                    .check(e, leaf_hash(e))
                    .map_err(|e| Error::Corrupt(format!("{p}: {e}")))?;
                if ev.event().is_governance() {
                    self.governance_seqs.push(ev.event().seq);
                }
            }
        }
        self.chain = Some(c);
        Ok(())
    }

    /// Finishes a batch that a crashed writer journaled. True if there was one.
    pub(super) fn recover(&mut self) -> Result<bool> {
        let Ok(j) = fs::read_to_string(self.store.journal()) else {
            return Ok(false);
        };
        let Journal { base, entries } = Journal::parse(&j).ok_or_else(|| {
            Error::Corrupt(format!(
                "journal {} is malformed",
                self.store.journal().display()
            ))
        })?;
        let size = self.size();
        if size == base {
            eprintln!(
                "liveledger: finishing an interrupted batch of {} entries",
                entries.len()
            );
            self.apply(&entries)?;
            self.finish(base)?;
        } else if size == base + entries.len() as u64 {
            self.finish(base)?;
        } else {
            return Err(Error::Corrupt(format!(
                "journal is for size {base} + {}, but the log has {size} entries",
                entries.len()
            )));
        }
        let _ = fs::remove_file(self.store.state());
        let _ = fs::remove_file(self.store.journal());
        Ok(true)
    }
}
