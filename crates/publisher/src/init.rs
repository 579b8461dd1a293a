//! `init`: a new ledger's keys, metadata, empty checkpoint and genesis event.

use liveledger_core::writer::metadata::MetadataDraft;

use super::*;

/// Creates a ledger in `dir` (its key directory `keys`, default `DIR.keys`), its published
/// tree in the object store at `bucket` if given (DIR then holds only `store.json`). A
/// failed creation leaves nothing that would refuse the next one: the key directory it
/// made and the `store.json` it wrote are removed.
pub fn create(
    dir: &std::path::Path,
    keys: Option<&std::path::Path>,
    bucket: Option<&str>,
    o: InitOptions,
) -> Result<Store> {
    let mut store = Store::new(dir, keys)?;
    if let Some(url) = bucket {
        if store.bucket().is_some() || dir.join(store::STORE_FILE).exists() {
            return Err(Error::Usage(format!(
                "{} already names an object store; init never overwrites a ledger",
                dir.display()
            )));
        }
        store = store.with_bucket(url)?;
        if store.has(layout::CHECKPOINT)? {
            return Err(Error::Usage(format!(
                "{url} already holds a ledger; init never overwrites one"
            )));
        }
        if store.has(layout::METADATA)? {
            return Err(Error::Usage(format!(
                "{url} holds a metadata file but no checkpoint: an init that failed \
                 part way; delete what is under {url} to start again"
            )));
        }
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        store::write_atomic(
            &dir.join(store::STORE_FILE),
            store::store_file(url).as_bytes(),
        )?;
    }
    let had_keys = store.keys.exists();
    let made = init(&store, o);
    if made.is_err() {
        if !had_keys {
            let _ = fs::remove_dir_all(&store.keys);
        }
        if bucket.is_some() {
            let _ = fs::remove_file(dir.join(store::STORE_FILE));
        }
    }
    made.map(|()| store)
}

/// Creates a ledger in `store`, which holds none (see [`create`]).
pub fn init(store: &Store, o: InitOptions) -> Result<()> {
    if store.has(layout::CHECKPOINT)? || store.log_key().exists() {
        return Err(Error::Usage(format!(
            "{} already holds a ledger (or {} a key); init never overwrites one",
            store.location(),
            store.keys.display()
        )));
    }
    if o.origin.is_empty() || o.origin.contains(char::is_whitespace) || o.origin.contains('+') {
        return Err(Error::Usage(format!(
            "origin {:?} must be non-empty, without spaces or '+'",
            o.origin
        )));
    }
    store.create_key_dir()?;
    fs::create_dir_all(&store.dir).map_err(|e| Error::io(&store.dir, e))?;
    let log_key = match o.log_key {
        Some(k) => k,
        None => SignerKey::from_seed(&o.origin, note::ALG_ED25519, random_seed()?)
            .map_err(|e| Error::Usage(e.to_string()))?,
    };
    store.write_secret(&store.log_key(), log_key.to_secret_string().as_bytes())?;
    let (time_key, admin) = match o.raw {
        true => (None, None),
        false => {
            let time_key = SignerKey::from_seed(
                &format!("{}/time", o.origin),
                note::ALG_COSIGNATURE_V1,
                random_seed()?,
            )
            .map_err(|e| Error::Usage(e.to_string()))?;
            store.write_secret(&store.time_key(), time_key.to_secret_string().as_bytes())?;
            let a = SignerKey::from_seed(&o.author, note::ALG_ED25519, random_seed()?)
                .map_err(|e| Error::Usage(e.to_string()))?;
            store.write_secret(
                &store.author_key(&o.author),
                a.to_secret_string().as_bytes(),
            )?;
            (Some(time_key), Some(a))
        }
    };
    let (vlog, vtime, vadmin) = (
        log_key.verifier(),
        time_key.as_ref().map(SignerKey::verifier),
        admin.as_ref().map(SignerKey::verifier),
    );
    let text = MetadataDraft {
        origin: &o.origin,
        log_key: &vlog,
        cadence_seconds: o.cadence_seconds,
        witnesses: &o.witnesses,
        witness_threshold: o.witness_threshold,
        ledger: vtime.as_ref().zip(vadmin.as_ref()),
    }
    .to_text()
    .map_err(|e| Error::Usage(e.to_string()))?;
    let note = Note::sign(&text, &[&log_key], 0).map_err(|e| Error::Input(e.to_string()))?;
    store.put(layout::METADATA, &note.to_bytes(), WriteKind::Atomic)?;
    // The empty log's checkpoint, then (for a ledger) the genesis event.
    let mut w = Writer::open(store)?;
    w.publish_checkpoint(0)?;
    if let Some(a) = admin {
        let genesis = EventDraft::genesis(&w.meta.origin, &a.verifier(), &w.log_key.verifier());
        w.append(
            vec![Pending {
                line: 1,
                draft: genesis,
                private: None,
            }],
            &a,
        )?;
    }
    Ok(())
}
