//! The browser's database (IndexedDB) behind the explorer's index: one database per ledger
//! address, holding the segments `index` makes (store `segments`, keyed by segment number,
//! with indexes over each segment's kinds, sources, authors, keys and time range) and what
//! the index says of itself (store `info`: the ledger, its log key, and up to which event
//! the segments are complete).
//!
//! Invariants:
//! - Only events the audit verified are written, and only by the page's audit.
//! - A record read back is checked member by member; one that does not read is an error
//!   naming what was expected and what was found, never a guess.
//! - Writes run in the order they were asked for (IndexedDB runs read-write transactions
//!   over the same stores in the order they were created).

use idb::{
    CursorDirection, Database, Factory, IndexParams, KeyPath, KeyRange, ObjectStoreParams, Query,
    TransactionMode,
};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::index::{Plan, Segment, SEGMENT};

const VERSION: u32 = 1;
const SEGMENTS: &str = "segments";
const INFO: &str = "info";
const INFO_KEY: &str = "ledger";
const SETS: [&str; 4] = ["kinds", "sources", "authors", "keys"];

/// What the index says of itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Info {
    /// The ledger's origin (its checkpoint's first line) and log key, as verified.
    pub origin: String,
    pub key: String,
    /// Events `0..covered` are all in the segments, verified.
    pub covered: u64,
}

/// The index's database for one ledger address.
pub struct Db {
    db: Database,
}

fn err(what: &str) -> impl Fn(idb::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

fn found(v: &JsValue) -> String {
    js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}

/// A member that must be a whole number.
fn whole(o: &JsValue, k: &str, what: &str) -> Result<u64, String> {
    let v = get(o, k);
    match v.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 9_007_199_254_740_992.0 => Ok(f as u64),
        _ => Err(format!(
            "{what}: {k} must be a whole number, found {}",
            found(&v)
        )),
    }
}

fn text(o: &JsValue, k: &str, what: &str) -> Result<String, String> {
    let v = get(o, k);
    v.as_string()
        .ok_or_else(|| format!("{what}: {k} must be text, found {}", found(&v)))
}

fn to_js(s: &Segment) -> JsValue {
    let o = Object::new();
    set(&o, "n", &(s.n as f64).into());
    set(&o, "first", &(s.first as f64).into());
    set(&o, "count", &s.count.into());
    set(&o, "lines", &s.lines.as_str().into());
    set(&o, "hashes", &s.hashes.as_str().into());
    for (k, vs) in SETS
        .into_iter()
        .zip([&s.kinds, &s.sources, &s.authors, &s.keys])
    {
        set(
            &o,
            k,
            &vs.iter().map(|v| JsValue::from_str(v)).collect::<Array>(),
        );
    }
    // Absent, not null, when unknown: IndexedDB leaves such a record out of that index.
    if let (Some(a), Some(b)) = (s.tmin, s.tmax) {
        set(&o, "tmin", &a.into());
        set(&o, "tmax", &b.into());
    }
    o.into()
}

fn from_js(v: &JsValue) -> Result<Segment, String> {
    let what = "a stored segment";
    let n = whole(v, "n", what)?;
    let what = &format!("stored segment {n}");
    let mut s = Segment {
        n,
        first: whole(v, "first", what)?,
        count: u32::try_from(whole(v, "count", what)?)
            .map_err(|_| format!("{what}: count out of range"))?,
        lines: text(v, "lines", what)?,
        hashes: text(v, "hashes", what)?,
        tmin: get(v, "tmin").as_f64(),
        tmax: get(v, "tmax").as_f64(),
        ..Segment::default()
    };
    for (k, out) in
        SETS.into_iter()
            .zip([&mut s.kinds, &mut s.sources, &mut s.authors, &mut s.keys])
    {
        let a = get(v, k);
        let a: &Array = a
            .dyn_ref()
            .ok_or_else(|| format!("{what}: {k} must be a list, found {}", found(&a)))?;
        for x in a.iter() {
            let x = x
                .as_string()
                .ok_or_else(|| format!("{what}: {k} must hold text, found {}", found(&x)))?;
            out.insert(x);
        }
    }
    let lines = if s.count == 0 {
        0
    } else {
        s.lines.split('\n').count()
    };
    if s.first / SEGMENT != n
        || lines != s.count as usize
        || s.hashes.len() != 64 * s.count as usize
        || (s.first + u64::from(s.count)).div_ceil(SEGMENT) > n + 1
    {
        return Err(format!(
            "{what}: {} events from {} with {lines} lines and {} hash digits do not fit segment {n}",
            s.count,
            s.first,
            s.hashes.len()
        ));
    }
    Ok(s)
}

impl Db {
    /// Opens (or creates) the database of the ledger at `url`.
    pub async fn open(url: &str) -> Result<Db, String> {
        let factory = Factory::new().map_err(err("this browser has no IndexedDB"))?;
        let mut req = factory
            .open(&format!("liveledger:{url}"), Some(VERSION))
            .map_err(err("could not open the index"))?;
        req.on_upgrade_needed(|event| {
            use idb::DatabaseEvent;
            let Ok(db) = event.database() else { return };
            let names = db.store_names();
            if !names.iter().any(|n| n == SEGMENTS) {
                let mut p = ObjectStoreParams::new();
                p.key_path(Some(KeyPath::new_single("n")));
                if let Ok(store) = db.create_object_store(SEGMENTS, p) {
                    for k in SETS {
                        let mut ip = IndexParams::new();
                        ip.multi_entry(true);
                        let _ = store.create_index(k, KeyPath::new_single(k), Some(ip));
                    }
                    for k in ["tmin", "tmax"] {
                        let _ = store.create_index(k, KeyPath::new_single(k), None);
                    }
                }
            }
            if !names.iter().any(|n| n == INFO) {
                let _ = db.create_object_store(INFO, ObjectStoreParams::new());
            }
        });
        let db = req.await.map_err(err("could not open the index"))?;
        Ok(Db { db })
    }

    /// What the index says of itself: none if it has never been written; an error if what
    /// it holds does not read.
    pub async fn info(&self) -> Result<Option<Info>, String> {
        let tx = self
            .db
            .transaction(&[INFO], TransactionMode::ReadOnly)
            .map_err(err("could not read the index"))?;
        let store = tx
            .object_store(INFO)
            .map_err(err("could not read the index"))?;
        let v = store
            .get(JsValue::from_str(INFO_KEY))
            .map_err(err("could not read the index"))?
            .await
            .map_err(err("could not read the index"))?;
        let Some(v) = v else { return Ok(None) };
        let what = "the index's own record";
        Ok(Some(Info {
            origin: text(&v, "origin", what)?,
            key: text(&v, "key", what)?,
            covered: whole(&v, "covered", what)?,
        }))
    }

    /// Empties the index.
    pub async fn clear(&self) -> Result<(), String> {
        let tx = self
            .db
            .transaction(&[SEGMENTS, INFO], TransactionMode::ReadWrite)
            .map_err(err("could not clear the index"))?;
        for s in [SEGMENTS, INFO] {
            let store = tx
                .object_store(s)
                .map_err(err("could not clear the index"))?;
            store
                .clear()
                .map_err(err("could not clear the index"))?
                .await
                .map_err(err("could not clear the index"))?;
        }
        commit(tx).await
    }

    /// Stores segments (one that starts inside its segment continues the one stored, if
    /// it does); then, if given, drops every segment from `drop_from` on (past the
    /// verified size) and records `info`. One transaction: all of it or none.
    pub async fn write(
        &self,
        segments: Vec<Segment>,
        drop_from: Option<u64>,
        info: Option<Info>,
    ) -> Result<(), String> {
        let what = "could not store the index";
        let tx = self
            .db
            .transaction(&[SEGMENTS, INFO], TransactionMode::ReadWrite)
            .map_err(err(what))?;
        let store = tx.object_store(SEGMENTS).map_err(err(what))?;
        for s in segments {
            let mut s = s;
            if !s.first.is_multiple_of(SEGMENT) {
                let stored = store
                    .get(JsValue::from(s.n as f64))
                    .map_err(err(what))?
                    .await
                    .map_err(err(what))?;
                if let Some(Ok(mut before)) = stored.as_ref().map(from_js) {
                    if before.extend_with(&s) {
                        s = before;
                    }
                }
            }
            store
                .put(&to_js(&s), None)
                .map_err(err(what))?
                .await
                .map_err(err(what))?;
        }
        if let Some(from) = drop_from {
            let range = KeyRange::lower_bound(&JsValue::from(from as f64), Some(false))
                .map_err(err(what))?;
            store
                .delete(range)
                .map_err(err(what))?
                .await
                .map_err(err(what))?;
        }
        if let Some(i) = info {
            let o = Object::new();
            set(&o, "origin", &i.origin.as_str().into());
            set(&o, "key", &i.key.as_str().into());
            set(&o, "covered", &(i.covered as f64).into());
            let store = tx.object_store(INFO).map_err(err(what))?;
            store
                .put(&o.into(), Some(&JsValue::from_str(INFO_KEY)))
                .map_err(err(what))?
                .await
                .map_err(err(what))?;
        }
        commit(tx).await
    }

    /// The segments' store, in a read-only transaction of its own.
    fn read_segments(&self, what: &str) -> Result<idb::ObjectStore, String> {
        let tx = self
            .db
            .transaction(&[SEGMENTS], TransactionMode::ReadOnly)
            .map_err(err(what))?;
        tx.object_store(SEGMENTS).map_err(err(what))
    }

    /// Segment `n`, if stored.
    pub async fn segment(&self, n: u64) -> Result<Option<Segment>, String> {
        let what = "could not read the index";
        let store = self.read_segments(what)?;
        let v = store
            .get(JsValue::from(n as f64))
            .map_err(err(what))?
            .await
            .map_err(err(what))?;
        v.as_ref().map(from_js).transpose()
    }

    /// The segments a search must read (see [`Plan`]), newest first, all before event
    /// `below`.
    pub async fn choose(&self, plan: &Plan, below: u64) -> Result<Vec<u64>, String> {
        let what = "could not search the index";
        let store = self.read_segments(what)?;
        let keys = |v: Vec<JsValue>| -> Vec<u64> {
            v.iter()
                .filter_map(JsValue::as_f64)
                .map(|f| f as u64)
                .collect()
        };
        let mut lookups = Vec::new();
        for (index, value) in &plan.equal {
            let ix = store.index(index).map_err(err(what))?;
            let q = Query::Key(JsValue::from_str(value));
            lookups.push(keys(
                ix.get_all_keys(Some(q), None)
                    .map_err(err(what))?
                    .await
                    .map_err(err(what))?,
            ));
        }
        for (index, range) in [
            (
                "tmax",
                plan.tmax_from
                    .map(|t| KeyRange::lower_bound(&t.into(), Some(false))),
            ),
            (
                "tmin",
                plan.tmin_until
                    .map(|t| KeyRange::upper_bound(&t.into(), Some(false))),
            ),
        ] {
            let Some(range) = range else { continue };
            let range = range.map_err(err(what))?;
            let ix = store.index(index).map_err(err(what))?;
            lookups.push(keys(
                ix.get_all_keys(Some(Query::KeyRange(range)), None)
                    .map_err(err(what))?
                    .await
                    .map_err(err(what))?,
            ));
        }
        let all = if lookups.is_empty() {
            keys(
                store
                    .get_all_keys(None, None)
                    .map_err(err(what))?
                    .await
                    .map_err(err(what))?,
            )
        } else {
            Vec::new()
        };
        let mut chosen = Plan::choose(&lookups, &all);
        chosen.retain(|n| n * SEGMENT < below);
        Ok(chosen)
    }

    /// Every stored segment, in order (what a test compares between two builds).
    pub async fn dump(&self) -> Result<Vec<Segment>, String> {
        let what = "could not read the index";
        let store = self.read_segments(what)?;
        let mut out = Vec::new();
        let cursor = store
            .open_cursor(None, Some(CursorDirection::Next))
            .map_err(err(what))?
            .await
            .map_err(err(what))?;
        if let Some(c) = cursor {
            let mut c = c.into_managed();
            while let Some(v) = c.value().map_err(err(what))? {
                out.push(from_js(&v)?);
                c.next(None).await.map_err(err(what))?;
            }
        }
        Ok(out)
    }
}

async fn commit(tx: idb::Transaction) -> Result<(), String> {
    let what = "could not store the index";
    match tx.commit().map_err(err(what))?.await.map_err(err(what))? {
        idb::TransactionResult::Committed => Ok(()),
        idb::TransactionResult::Aborted => Err(format!("{what}: the browser aborted the write")),
    }
}
