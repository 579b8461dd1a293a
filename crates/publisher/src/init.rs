//! `init`: a new ledger's keys, metadata, empty checkpoint and genesis event.

use super::*;

pub fn init(store: &Store, o: InitOptions) -> Result<()> {
    if store.has("checkpoint")? || store.log_key().exists() {
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
    let mut meta = json!({
        "origin": o.origin,
        "log_keys": [log_key.verifier().to_string()],
        "cadence_seconds": o.cadence_seconds,
        "witnesses": {
            "keys": o.witnesses.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            "threshold": o.witness_threshold,
        },
        "verifier": "index.html",
    });
    let mut author = None;
    if o.raw {
        meta["entries"] = json!("opaque");
    } else {
        let time_key = SignerKey::from_seed(
            &format!("{}/time", o.origin),
            note::ALG_COSIGNATURE_V1,
            random_seed()?,
        )
        .map_err(|e| Error::Usage(e.to_string()))?;
        store.write_secret(&store.time_key(), time_key.to_secret_string().as_bytes())?;
        meta["time_key"] = json!(time_key.verifier().to_string());
        meta["entries"] = json!("liveledger/event/v1");
        let a = SignerKey::from_seed(&o.author, note::ALG_ED25519, random_seed()?)
            .map_err(|e| Error::Usage(e.to_string()))?;
        store.write_secret(
            &store.author_key(&o.author),
            a.to_secret_string().as_bytes(),
        )?;
        meta["authors"] = json!([{"key": a.verifier().to_string(), "role": "admin"}]);
        author = Some(a);
    }
    let text = format!(
        "{METADATA_HEADER}\n{}\n",
        liveledger_core::jcs::to_canonical(&meta).map_err(|e| Error::Input(e.to_string()))?
    );
    let note = Note::sign(&text, &[&log_key], 0).map_err(|e| Error::Input(e.to_string()))?;
    store.put("metadata", &note.to_bytes(), WriteKind::Atomic)?;
    // The empty log's checkpoint, then (for a ledger) the genesis event.
    let mut w = Writer::open(store)?;
    w.publish_checkpoint(0)?;
    if let Some(a) = author {
        let genesis = EventDraft {
            kind: event::KIND_GENESIS.into(),
            source: "liveledger".into(),
            body: Some(json!({
                "origin": w.meta.origin,
                "keys": [{"key": a.verifier().to_string(), "role": "admin"}],
                "log_keys": [w.log_key.verifier().to_string()],
            })),
            ..Default::default()
        };
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
