//! Appending: a batch checked and signed in memory, journaled, then its tiles and bundles
//! (steps 1–3 of the write order); the JSON lines an author appends.

use super::*;

impl Writer {
    /// Signs and checks a batch, then commits it durably. Returns each new event's
    /// sequence number and leaf hash.
    pub fn append(&mut self, batch: Vec<Pending>, author: &SignerKey) -> Result<Vec<Appended>> {
        let batch = batch.into_iter().map(|p| (p, 0)).collect();
        self.append_by(batch, std::slice::from_ref(author))
    }

    /// Group commit: appends several callers' batches, each signed by its own author, in
    /// one journaled commit and one published digest (one fsync and one signature for
    /// all of them, where one each would cost the same). A batch with a bad event is
    /// refused alone, with its own line: the others are appended without it (nothing is
    /// written before every event of a commit has passed). `Err` is what failed them all
    /// (the store, the lock); else one answer per batch, in order.
    pub fn append_each(
        &mut self,
        batches: Vec<(Vec<Pending>, SignerKey)>,
    ) -> Result<Vec<Result<Vec<Appended>>>> {
        let authors: Vec<SignerKey> = batches.iter().map(|(_, a)| a.clone()).collect();
        let mut answers: Vec<Option<Result<Vec<Appended>>>> =
            batches.iter().map(|_| None).collect();
        let mut live: Vec<usize> = (0..batches.len()).collect();
        while !live.is_empty() {
            // One batch of every live caller's events, numbered through; `from` maps a
            // number back to its caller and line.
            let mut from = Vec::new();
            let mut all = Vec::new();
            for &i in &live {
                for p in &batches[i].0 {
                    from.push((i, p.line));
                    all.push((
                        Pending {
                            line: from.len(),
                            draft: p.draft.clone(),
                            private: p.private.clone(),
                        },
                        i,
                    ));
                }
            }
            match self.append_by(all, &authors) {
                Ok(appended) => {
                    let mut each = appended.into_iter();
                    for &i in &live {
                        answers[i] = Some(Ok(each.by_ref().take(batches[i].0.len()).collect()));
                    }
                    live.clear();
                }
                Err(Error::Line { line, reason }) if (1..=from.len()).contains(&line) => {
                    let (i, own) = from[line - 1];
                    answers[i] = Some(Err(Error::Line { line: own, reason }));
                    live.retain(|&j| j != i);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Ok(Vec::new())))
            .collect())
    }

    /// [`Writer::append`] with each event's author: `batch` pairs it with an index into
    /// `authors`.
    fn append_by(
        &mut self,
        batch: Vec<(Pending, usize)>,
        authors: &[SignerKey],
    ) -> Result<Vec<Appended>> {
        if self.meta.entries == Entries::Opaque {
            return Err(Error::Usage(
                "this log holds opaque entries; use `append --raw`".into(),
            ));
        }
        let mut chain = self
            .chain
            .clone()
            .unwrap_or_else(|| ChainVerifier::new(&self.meta.origin));
        if chain.next_index() != self.size() {
            return Err(Error::Corrupt(format!(
                "the event chain ends at {} but the log has {} entries",
                chain.next_index(),
                self.size()
            )));
        }
        // Stages over every core: this thread signs each event (the chain makes signing
        // sequential: each signs the hash of the one before); a second one checks every
        // signed event with the chain verifier, as a reader will, and hands the signature
        // checks round robin to verifier threads (one per core). Nothing is written before
        // every check has passed. The first failure in line order is the one reported.
        let mut entries = Vec::with_capacity(batch.len());
        let mut privates = Vec::new();
        let (mut seq, mut prev, mut last) =
            (chain.next_index(), chain.prev_hash(), chain.last_time());
        let verifiers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
        // Events travel between the threads in chunks: a message per event would cost a
        // futex wake-up per event and hop (measured: about a fifth of the CPU time).
        const CHUNK: usize = 64;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(usize, Vec<u8>)>>(8);
        type Job = (usize, PendingEvent, SignatureCheck);
        let (signed, checked, verified) = std::thread::scope(|scope| {
            let mut queues = Vec::new();
            let mut verifier_threads = Vec::new();
            for _ in 0..verifiers {
                let (vtx, vrx) = std::sync::mpsc::sync_channel::<Vec<Job>>(8);
                queues.push(vtx);
                verifier_threads.push(scope.spawn(
                    move || -> std::result::Result<Vec<u64>, (usize, Error)> {
                        let mut gov = Vec::new();
                        let mut keys = StrictVerifier::new();
                        for (line, pending, check) in vrx.into_iter().flatten() {
                            let ev = pending.confirm(keys.check(&check)).map_err(|e| {
                                (
                                    line,
                                    Error::Line {
                                        line,
                                        reason: e.to_string(),
                                    },
                                )
                            })?;
                            if ev.event().is_governance() {
                                gov.push(ev.event().seq);
                            }
                        }
                        Ok(gov)
                    },
                ));
            }
            let checker = scope.spawn(
                move || -> std::result::Result<ChainVerifier, (usize, Error)> {
                    let mut jobs: Vec<Vec<Job>> = queues.iter().map(|_| Vec::new()).collect();
                    let mut to = 0;
                    // Sends every job taken so far (also before reporting a failure, so that
                    // an earlier bad signature is still found).
                    let flush = |jobs: &mut Vec<Vec<Job>>| {
                        jobs.iter_mut()
                            .zip(&queues)
                            .all(|(j, q)| j.is_empty() || q.send(std::mem::take(j)).is_ok())
                    };
                    for (line, bytes) in rx.into_iter().flatten() {
                        let (pending, check) = match chain.check_deferred(&bytes, leaf_hash(&bytes))
                        {
                            Ok(p) => p,
                            Err(e) => {
                                flush(&mut jobs);
                                return Err((
                                    line,
                                    Error::Line {
                                        line,
                                        reason: e.to_string(),
                                    },
                                ));
                            }
                        };
                        jobs[to].push((line, pending, check));
                        if jobs[to].len() == CHUNK {
                            let full = std::mem::take(&mut jobs[to]);
                            if queues[to].send(full).is_err() {
                                break; // a verifier stopped at a failure: it reports it
                            }
                            to = (to + 1) % queues.len();
                        }
                    }
                    flush(&mut jobs);
                    Ok(chain)
                },
            );
            let mut chunk = Vec::with_capacity(CHUNK);
            let signed = (|| -> Result<()> {
                for (p, who) in batch {
                    let line = p.line;
                    let author = authors.get(who).ok_or_else(|| Error::Line {
                        line,
                        reason: "no author to sign it".into(),
                    })?;
                    let t = last.map_or(now(), |l| l.max(now()));
                    let mut d = p.draft;
                    if let Some((body, salt)) = &p.private {
                        d.commitment =
                            Some(event::commitment(salt, body).map_err(|e| Error::Line {
                                line,
                                reason: e.to_string(),
                            })?);
                        privates.push((seq, body.clone(), *salt));
                    }
                    let bytes = d
                        .sign_unparsed(seq, t, prev, author)
                        .map_err(|e| Error::Line {
                            line,
                            reason: e.to_string(),
                        })?;
                    prev = leaf_hash(&bytes);
                    last = Some(t);
                    seq += 1;
                    chunk.push((line, bytes.clone()));
                    entries.push(bytes);
                    if chunk.len() == CHUNK && tx.send(std::mem::take(&mut chunk)).is_err() {
                        break; // the checker stopped at a failure: it reports it
                    }
                }
                Ok(())
            })();
            // What was signed before a failure is checked too: its errors come first.
            if !chunk.is_empty() {
                let _ = tx.send(chunk);
            }
            drop(tx);
            let panicked = || {
                (
                    usize::MAX,
                    Error::Corrupt("an event checker panicked".into()),
                )
            };
            let checked = checker.join().unwrap_or_else(|_| Err(panicked()));
            let verified: Vec<_> = verifier_threads
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|_| Err(panicked())))
                .collect();
            (signed, checked, verified)
        });
        // The checkers only saw lines before a signing failure, so their errors come
        // first; among theirs, the earliest line.
        let mut gov = Vec::new();
        let mut first: Option<(usize, Error)> = None;
        let mut note = |e: (usize, Error)| {
            if first.as_ref().is_none_or(|f| e.0 < f.0) {
                first = Some(e);
            }
        };
        let chain = match checked {
            Ok(c) => Some(c),
            Err(e) => {
                note(e);
                None
            }
        };
        for v in verified {
            match v {
                Ok(g) => gov.extend(g),
                Err(e) => note(e),
            }
        }
        if let Some((_, e)) = first {
            return Err(e);
        }
        signed?;
        let chain = chain.ok_or_else(|| Error::Corrupt("the event checker stopped".into()))?;
        gov.sort_unstable();
        for (seq, body, salt) in privates {
            let doc = json!({"seq": seq, "salt": Hash(salt).to_hex(), "body": body});
            self.store
                .write_secret(&self.store.private(seq), doc.to_string().as_bytes())?;
        }
        let base = self.size();
        self.commit(base, &entries)?;
        self.chain = Some(chain);
        self.governance_seqs.extend(gov);
        self.write_state()?;
        let _ = fs::remove_file(self.store.journal());
        Ok(entries
            .iter()
            .zip(base..)
            .map(|(e, seq)| Appended {
                seq,
                leaf: leaf_hash(e),
            })
            .collect())
    }

    /// Appends opaque entries (a plain C2SP log), publishing a checkpoint after each one
    /// when `each` is set (as tessera's test log does).
    pub fn append_raw(&mut self, entries: Vec<Vec<u8>>, each: bool) -> Result<()> {
        if self.meta.entries != Entries::Opaque {
            return Err(Error::Usage(
                "this ledger holds events; `--raw` is only for logs made with `init --raw`".into(),
            ));
        }
        if each {
            for e in entries {
                let base = self.size();
                self.commit(base, &[e])?;
                let _ = fs::remove_file(self.store.journal());
            }
        } else {
            let base = self.size();
            self.commit(base, &entries)?;
            let _ = fs::remove_file(self.store.journal());
        }
        Ok(())
    }

    pub(super) fn commit(&mut self, base: u64, entries: &[Vec<u8>]) -> Result<()> {
        for (i, e) in entries.iter().enumerate() {
            if e.len() > tiles::MAX_ENTRY_SIZE {
                return Err(Error::Input(format!(
                    "entry {} is {} bytes, more than 65535",
                    i + 1,
                    e.len()
                )));
            }
        }
        let j = Journal {
            base,
            entries: entries.to_vec(),
        };
        store::write_atomic(&self.store.journal(), j.encode().as_bytes())?;
        self.apply(entries)?;
        self.finish(base)
    }

    /// Writes the tiles and bundles of `entries` (steps 3 of the module docs).
    pub(super) fn apply(&mut self, entries: &[Vec<u8>]) -> Result<()> {
        let mut w = self.writer.clone();
        let mut files = Vec::new();
        for e in entries {
            for (p, b) in w.append(e).map_err(|e| Error::Input(e.to_string()))? {
                let kind = match p.kind() {
                    tiles::TileKind::Entries => WriteKind::ImmutableGzip,
                    tiles::TileKind::Hashes(_) => WriteKind::Immutable,
                };
                files.push((p.to_string(), b, kind));
            }
        }
        for (p, b) in w
            .partial_files()
            .map_err(|e| Error::Corrupt(e.to_string()))?
        {
            files.push((p.to_string(), b, WriteKind::Atomic));
        }
        // In an object store, a writer that lost its lease writes nothing more: not even
        // tiles (a partial tile is replaced in place).
        self.renew_lease()?;
        self.store.put_many(&files)?;
        self.writer = w;
        Ok(())
    }

    /// Steps 4 and 5: archive and publish the checkpoint, then the pages.
    pub(super) fn finish(&mut self, previous: u64) -> Result<()> {
        self.publish_checkpoint(previous)?;
        Ok(())
    }

    pub(super) fn write_state(&self) -> Result<()> {
        let s = State {
            size: self.size(),
            governance: self.governance_seqs.clone(),
        };
        store::write_atomic(&self.store.state(), s.encode().as_bytes())
    }
}

/// One event to append, from an author's JSON object (the core's rules:
/// [`EventDraft::from_object`]), `line` naming it in messages; a private payload gets its
/// salt here.
pub fn pending(line: usize, v: Value, default_source: Option<&str>) -> Result<Pending> {
    let Value::Object(m) = v else {
        return Err(Error::Input(
            "expected a JSON object like {\"kind\": \"payment\", \"body\": {…}}".into(),
        ));
    };
    let (draft, private) =
        EventDraft::from_object(m, default_source).map_err(|e| Error::Input(e.to_string()))?;
    let private = private.map(|b| random_seed().map(|s| (b, s))).transpose()?;
    Ok(Pending {
        line,
        draft,
        private,
    })
}

/// Parses JSON lines of events. Any bad line fails the whole batch, naming the line.
pub fn parse_lines(input: &str, default_source: Option<&str>) -> Result<Vec<Pending>> {
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| Error::Line { line: n, reason };
        if line.len() > MAX_LINE {
            return Err(bad(format!(
                "{} bytes, more than the {MAX_LINE} an event line may have",
                line.len()
            )));
        }
        let v: Value = serde_json::from_str(line).map_err(|e| {
            let msg = e.to_string();
            let msg = msg
                .rsplit_once(" at line ")
                .map_or(msg.as_str(), |(m, _)| m)
                .to_owned();
            bad(format!("not JSON: {msg} at column {}", e.column()))
        })?;
        out.push(pending(n, v, default_source).map_err(|e| match e {
            Error::Input(reason) => bad(reason),
            other => other,
        })?);
    }
    if out.is_empty() {
        return Err(Error::Input("no events in the input".into()));
    }
    Ok(out)
}
