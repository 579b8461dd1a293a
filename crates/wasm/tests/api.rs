//! The JS API, in Node and in headless Chromium (see browser.rs): results are plain
//! objects, errors carry stable codes.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const KEY: &str = include_str!("../../core/tests/vectors/tessera-log/VERIFIER_KEY");
const CP15: &str = include_str!("../../core/tests/vectors/tessera-log/checkpoint.15");
const SUMDB: &str = include_str!("../../core/tests/vectors/notes/sumdb-6476701.note");
const SUMDB_KEY: &str = include_str!("../../core/tests/vectors/notes/sumdb.vkey");

fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &k.into()).unwrap()
}

fn code(e: JsValue) -> String {
    get(&e, "code").as_string().unwrap()
}

#[wasm_bindgen_test]
fn verify_checkpoint_returns_a_plain_object() {
    let r = liveledger_wasm::js::verify_checkpoint(CP15, vec![KEY.trim().into()], None).unwrap();
    assert_eq!(get(&r, "size").as_f64(), Some(15.0));
    assert_eq!(
        get(&r, "origin").as_string().unwrap(),
        "example.com/log/testdata"
    );
    let sigs = js_sys::Array::from(&get(&r, "signatures"));
    assert_eq!(sigs.length(), 1);
    let r = liveledger_wasm::js::verify_checkpoint(
        SUMDB,
        vec![SUMDB_KEY.trim().into()],
        Some("go.sum database tree".into()),
    )
    .unwrap();
    assert_eq!(get(&r, "size").as_f64(), Some(6476701.0));
}

/// Options are read once, strictly: a value of the wrong type is BAD_INPUT naming the
/// option, what it must be and what was found, never silently a default.
#[wasm_bindgen_test]
fn options_of_the_wrong_type_are_refused_saying_what_was_found() {
    let cases: [(&str, JsValue, &str); 8] = [
        (
            "checkTiles",
            "yes".into(),
            r#"checkTiles must be true or false, found "yes""#,
        ),
        (
            "keys",
            "k".into(),
            r#"keys must be an array of verifier key strings, found "k""#,
        ),
        (
            "level",
            "tiles".into(),
            r#"level must be "ledger" or "log", found "tiles""#,
        ),
        (
            "timeoutMs",
            "30s".into(),
            r#"timeoutMs must be a number, found "30s""#,
        ),
        ("onEvent", 3.into(), "onEvent must be a function, found 3"),
        (
            "policy",
            1.into(),
            "policy must be the text of a C2SP tlog-policy file, found 1",
        ),
        ("policy", "quorum W\n".into(), "policy: "),
        (
            "since",
            js_sys::Object::new().into(),
            "since must be a string, found {}",
        ),
    ];
    for (name, value, want) in cases {
        let o = js_sys::Object::new();
        Reflect::set(&o, &name.into(), &value).unwrap();
        let e = match liveledger_wasm::Options::from_js(&o) {
            Ok(_) => panic!("{name}: accepted"),
            Err(e) => e,
        };
        assert_eq!(e.code.as_str(), "BAD_INPUT", "{name}");
        assert!(e.message.starts_with(want), "{name}: {}", e.message);
    }
    // Null and undefined members are absent ones; an absent object is the defaults.
    let o = js_sys::Object::new();
    Reflect::set(&o, &"keys".into(), &JsValue::NULL).unwrap();
    Reflect::set(&o, &"limit".into(), &JsValue::UNDEFINED).unwrap();
    let d = liveledger_wasm::Options::from_js(&o).unwrap();
    assert!(d.keys.is_empty() && d.check_tiles && d.witness_check && d.limit == 100);
    assert!(liveledger_wasm::Options::from_js(&JsValue::UNDEFINED).is_ok());
}

#[wasm_bindgen_test]
fn errors_have_stable_codes() {
    let bad_sig = CP15.replace("M9e0", "M9e1");
    assert_eq!(
        code(
            liveledger_wasm::js::verify_checkpoint(&bad_sig, vec![KEY.trim().into()], None)
                .unwrap_err()
        ),
        "BAD_SIGNATURE"
    );
    assert_eq!(
        code(
            liveledger_wasm::js::verify_checkpoint(
                CP15,
                vec![KEY.trim().into()],
                Some("other".into())
            )
            .unwrap_err()
        ),
        "WRONG_ORIGIN"
    );
    assert_eq!(
        code(
            liveledger_wasm::js::verify_checkpoint(CP15, vec!["not a key".into()], None)
                .unwrap_err()
        ),
        "BAD_INPUT"
    );
    let e = liveledger_wasm::js::verify_checkpoint(
        CP15,
        vec![SUMDB_KEY.trim().into()],
        Some("example.com/log/testdata".into()),
    )
    .unwrap_err();
    assert_eq!(code(e.clone()), "BAD_SIGNATURE");
    assert!(
        e.is_instance_of::<js_sys::Error>(),
        "errors are Error objects"
    );
}

#[wasm_bindgen_test]
fn receipts_verify_offline() {
    // Entry 0 ("one") of tessera's log at size 1: the proof is empty.
    let cp1 = include_str!("../../core/tests/vectors/tessera-log/checkpoint.1");
    let receipt = format!("c2sp.org/tlog-proof@v1\nextra b25l\nindex 0\n\n{cp1}");
    let r = liveledger_wasm::js::verify_receipt(&receipt, vec![KEY.trim().into()], None).unwrap();
    assert_eq!(get(&r, "entry").as_string().unwrap(), "one");
    let forged = receipt.replace("extra b25l", "extra dHdv");
    assert_eq!(
        code(
            liveledger_wasm::js::verify_receipt(&forged, vec![KEY.trim().into()], None)
                .unwrap_err()
        ),
        "INCLUSION_FAILED"
    );
    assert_eq!(
        code(
            liveledger_wasm::js::verify_receipt("nonsense", vec![KEY.trim().into()], None)
                .unwrap_err()
        ),
        "BAD_INPUT"
    );
}

/// Numbers in canonical JSON are written as ECMAScript writes them (RFC 8785 §3.2.2.3),
/// and read back to the same double. Here the runtime's own `Number.prototype.toString`
/// is the reference, on the code the browser builds run (ryu with its small tables, the
/// reader's own decimal-to-double): edge cases, then random doubles of every exponent.
#[wasm_bindgen_test]
fn numbers_are_written_as_ecmascript_writes_them_and_read_back_exactly() {
    use liveledger_core::jcs;
    use serde_json::Value;
    let check = |f: f64| {
        let ours = jcs::to_canonical(&Value::from(f)).unwrap();
        let js = js_sys::Number::from(f).to_string_with_radix(10).unwrap();
        assert_eq!(ours, String::from(js), "{f:e} ({:#x})", f.to_bits());
        let back = jcs::parse(ours.as_bytes()).unwrap();
        let back = back.as_f64().unwrap();
        assert!(back == f, "{ours} read back as {back:e}, not {f:e}");
    };
    for f in [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        0.2,
        0.3,
        1.5,
        1e21,
        1e20,
        999999999999999900000.0,
        1e-6,
        1e-7,
        123e-20,
        5e-324,
        -5e-324,
        2.2250738585072014e-308,
        2.225073858507201e-308,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        9007199254740991.0,
        9007199254740992.0,
        4.35,
        0.000001,
        1.7976931348623157e308,
        2.5e-323,
        1e23,
        8.41e21,
        5e-310,
    ] {
        check(f);
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut n = 0;
    while n < 20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let f = f64::from_bits(x);
        if f.is_finite() {
            check(f);
            n += 1;
        }
    }
}

// --- the fetch loops, against a ledger served from memory ------------------------------
//
// `audit`, `follow`, `verifyEntry` and `verifyHistory` fetch with the global `fetch`; here
// it serves a ledger the core's writer made (the core tests' builder), by URL, as a static
// host would (404 for anything else). The end-to-end tests do the same over real HTTP.

#[path = "../../core/tests/common/ledger.rs"]
mod ledger;

use ledger::Ledger;
use liveledger_core::archive::encode_digest_index;
use liveledger_core::tiles::{bundle_at, tile_at};
use wasm_bindgen_test::wasm_bindgen_test as test_async;

/// Serves `files` under `base` (added to what earlier tests serve).
fn serve(base: &str, files: &std::collections::BTreeMap<String, Vec<u8>>) {
    let map = js_sys::Map::new();
    for (path, bytes) in files {
        map.set(
            &format!("{base}/{path}").into(),
            &js_sys::Uint8Array::from(bytes.as_slice()),
        );
    }
    js_sys::Function::new_with_args(
        "files",
        "const all = globalThis.__llFiles ??= new Map();
         for (const [k, v] of files) all.set(k, v);
         globalThis.fetch = async (url) => {
           const b = all.get(String(url));
           return b === undefined ? new Response(null, { status: 404 }) : new Response(b.slice(), { status: 200 });
         };",
    )
    .call1(&JsValue::NULL, &map)
    .unwrap();
}

/// A ledger of `n` events after its genesis, published at every tenth size (each an
/// archived digest), served at `base`.
fn served(base: &str, n: u64) -> Ledger {
    let mut l = Ledger::new();
    l.publish();
    for i in 1..=n {
        l.payment(i);
        if i % 10 == 0 || i == n {
            l.publish();
        }
    }
    let mut files = l.files.clone();
    let sizes: Vec<u64> = l.checkpoints.keys().copied().collect();
    files.insert(
        "digests/index.txt".into(),
        encode_digest_index(&sizes).into_bytes(),
    );
    for (s, cp) in &l.checkpoints {
        files.insert(format!("digests/{s}"), cp.clone());
    }
    serve(base, &files);
    l
}

fn opts(l: &Ledger, extra: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    let keys = js_sys::Array::of1(&l.log_key.verifier().to_string().into());
    Reflect::set(&o, &"keys".into(), &keys).unwrap();
    Reflect::set(&o, &"signatures".into(), &"wasm".into()).unwrap();
    for (k, v) in extra {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

#[test_async]
async fn audit_verifies_a_served_log_and_names_a_tampered_segment() {
    let base = "http://audit.test/ledger";
    let l = served(base, 300);
    let r = liveledger_wasm::js::audit(base.into(), opts(&l, &[]))
        .await
        .unwrap();
    assert_eq!(get(&r, "verified"), JsValue::TRUE);
    assert_eq!(get(&get(&r, "checkpoint"), "size").as_f64(), Some(301.0));
    assert_eq!(get(&r, "trust").as_string().as_deref(), Some("pinned"));
    // Entry 280 changed in segment 1: TAMPERED, the segment named.
    let bad = "http://audit.test/tampered";
    let mut files = l.files.clone();
    let p = bundle_at(301, 1).unwrap().to_string();
    let b = files.get_mut(&p).unwrap();
    let at = b.len() - 7;
    b[at] ^= 1;
    serve(bad, &files);
    let e = liveledger_wasm::js::audit(bad.into(), opts(&l, &[]))
        .await
        .unwrap_err();
    assert_eq!(code(e.clone()), "TAMPERED");
    assert_eq!(get(&get(&e, "evidence"), "segment").as_f64(), Some(1.0));
    // A key the log does not sign with: BAD_SIGNATURE before anything else is read.
    let other = ledger::key("elsewhere.example/log", 9)
        .verifier()
        .to_string();
    let o = opts(&l, &[("keys", js_sys::Array::of1(&other.into()).into())]);
    let e = liveledger_wasm::js::audit(base.into(), o)
        .await
        .unwrap_err();
    assert_eq!(code(e), "BAD_SIGNATURE");
}

#[test_async]
async fn verify_entry_proves_entries_and_refuses_a_lying_tile() {
    let base = "http://entry.test/ledger";
    let l = served(base, 300);
    for i in [0u64, 1, 137, 255, 256, 300] {
        let r = liveledger_wasm::js::verify_entry(base.into(), i as f64, opts(&l, &[]))
            .await
            .unwrap_or_else(|e| panic!("entry {i}: {:?}", e));
        assert_eq!(get(&r, "index").as_f64(), Some(i as f64));
        let entry = get(&r, "entry").as_string().unwrap();
        assert_eq!(
            entry.as_bytes(),
            l.entries[i as usize].as_slice(),
            "entry {i}"
        );
        assert!(get(&r, "receipt")
            .as_string()
            .unwrap()
            .contains("c2sp.org/tlog-proof@v1"));
    }
    let e = liveledger_wasm::js::verify_entry(base.into(), 301.0, opts(&l, &[]))
        .await
        .unwrap_err();
    assert_eq!(code(e), "BAD_INPUT");
    // A level-1 tile that lies: the proof of entry 300 reads it.
    let bad = "http://entry.test/lying";
    let mut files = l.files.clone();
    let tile = tile_at(301, 1, 0).unwrap().to_string();
    files.get_mut(&tile).expect("the level-1 tile is published")[0] ^= 1;
    serve(bad, &files);
    let e = liveledger_wasm::js::verify_entry(bad.into(), 300.0, opts(&l, &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(code(e.clone()).as_str(), "INCLUSION_FAILED" | "TAMPERED"),
        "{e:?}"
    );
}

#[test_async]
async fn verify_history_checks_the_archive_and_names_a_planted_digest() {
    let base = "http://history.test/ledger";
    let l = served(base, 60);
    let r = liveledger_wasm::js::verify_history(base.into(), opts(&l, &[]))
        .await
        .unwrap();
    assert_eq!(
        get(&r, "verified"),
        JsValue::TRUE,
        "{:?}",
        get(&r, "failure")
    );
    let digests = js_sys::Array::from(&get(&r, "digests"));
    assert_eq!(digests.length() as usize, l.checkpoints.len());
    // Digests of 1 (the genesis), 11, 21, …, 61 events.
    assert_eq!(get(&digests.get(3), "size").as_f64(), Some(31.0));
    assert_eq!(get(&digests.get(3), "extends").as_f64(), Some(21.0));
    // A digest of another history the same key signed, planted at 35.
    let mut other = Ledger::new();
    other.publish();
    for i in 1..=35 {
        other.payment(i + 1000);
    }
    other.publish();
    let bad = "http://history.test/planted";
    let mut files = l.files.clone();
    let mut sizes: Vec<u64> = l.checkpoints.keys().copied().collect();
    sizes.push(35);
    files.insert(
        "digests/index.txt".into(),
        encode_digest_index(&sizes).into_bytes(),
    );
    for (s, cp) in &l.checkpoints {
        files.insert(format!("digests/{s}"), cp.clone());
    }
    files.insert("digests/35".into(), other.checkpoints[&36].clone());
    serve(bad, &files);
    let r = liveledger_wasm::js::verify_history(bad.into(), opts(&l, &[]))
        .await
        .unwrap();
    assert_eq!(get(&r, "verified"), JsValue::FALSE);
    let f = get(&r, "failure");
    // digests/35 holds the other history's 36: not where the index says.
    assert_eq!(get(&f, "code").as_string().as_deref(), Some("TAMPERED"));
    assert_eq!(get(&f, "alarm").as_string().as_deref(), Some("BAD_ARCHIVE"));
    assert_eq!(
        get(&get(&f, "evidence"), "path").as_string().as_deref(),
        Some("digests/35")
    );
    // Named as the size it is: a fork, with both signed digests.
    files.remove("digests/35");
    sizes.pop();
    sizes.push(36);
    files.insert(
        "digests/index.txt".into(),
        encode_digest_index(&sizes).into_bytes(),
    );
    files.insert("digests/36".into(), other.checkpoints[&36].clone());
    let bad = "http://history.test/forked";
    serve(bad, &files);
    let r = liveledger_wasm::js::verify_history(bad.into(), opts(&l, &[]))
        .await
        .unwrap();
    let f = get(&r, "failure");
    assert_eq!(
        get(&f, "code").as_string().as_deref(),
        Some("FORK"),
        "{f:?}"
    );
    assert_eq!(get(&f, "alarm").as_string().as_deref(), Some("FORK"));
    let ev = get(&f, "evidence");
    assert!(get(&ev, "newCheckpoint")
        .as_string()
        .unwrap()
        .contains("\n36\n"));
    assert!(get(&ev, "oldCheckpoint")
        .as_string()
        .unwrap()
        .contains("\n31\n"));
    // No archive: NOT_FOUND, a rejection.
    let e = liveledger_wasm::js::verify_history("http://history.test/none".into(), opts(&l, &[]))
        .await
        .unwrap_err();
    assert_eq!(code(e), "NOT_FOUND");
}

/// Resolves after `ms`.
async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set: js_sys::Function = Reflect::get(&global, &"setTimeout".into()).unwrap().into();
        set.call2(&global, &resolve, &ms.into()).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
}

#[test_async]
async fn follow_verifies_each_new_digest_and_ends_on_a_rollback() {
    let base = "http://follow.test/ledger";
    let mut l = served(base, 20);
    // onDigest and onAlarm record into JS arrays; an AbortController ends a clean run.
    let digests = js_sys::Array::new();
    let alarms = js_sys::Array::new();
    let push = |a: &js_sys::Array| {
        js_sys::Function::new_with_args("a", "return (x) => { a.push(x); }")
            .call1(&JsValue::NULL, a)
            .unwrap()
    };
    let o = opts(
        &l,
        &[
            ("intervalMs", 20.into()),
            ("onDigest", push(&digests)),
            ("onAlarm", push(&alarms)),
        ],
    );
    let running =
        wasm_bindgen_futures::future_to_promise(liveledger_wasm::js::follow(base.into(), o));
    let size_of = |d: JsValue| get(&get(&d, "checkpoint"), "size").as_f64();
    let wait = |n: u32| {
        let digests = digests.clone();
        async move {
            for _ in 0..500 {
                if digests.length() >= n {
                    return;
                }
                sleep(10).await;
            }
            panic!("no digest {n} within 5 s");
        }
    };
    wait(1).await;
    assert_eq!(size_of(digests.get(0)), Some(21.0));
    // The ledger grows: the new digest is proved to extend the last, and only the new
    // events are read.
    for i in 21..=40 {
        l.payment(i);
    }
    l.publish();
    serve(base, &l.files);
    wait(2).await;
    assert_eq!(size_of(digests.get(digests.length() - 1)), Some(41.0));
    // The log rolls back to an older checkpoint: an alarm, and the promise ends with it.
    let mut files = l.files.clone();
    files.insert("checkpoint".into(), l.checkpoints[&21].clone());
    serve(base, &files);
    let e = wasm_bindgen_futures::JsFuture::from(running)
        .await
        .unwrap_err();
    assert_eq!(code(e), "ROLLBACK");
    assert_eq!(alarms.length(), 1);
    assert_eq!(
        get(&alarms.get(0), "code").as_string().as_deref(),
        Some("ROLLBACK")
    );
}

#[test_async]
async fn audit_resumes_from_its_kept_point_and_discards_one_that_does_not_hold() {
    let base = "http://resume.test/ledger";
    let mut l = served(base, 300);
    let first = liveledger_wasm::js::audit(base.into(), opts(&l, &[]))
        .await
        .unwrap();
    let point = get(&first, "resumePoint")
        .as_string()
        .expect("a resume point");
    assert_eq!(get(&get(&first, "stats"), "entries").as_f64(), Some(301.0));
    // Twenty new events: only they are read.
    for i in 301..=320 {
        l.payment(i);
    }
    l.publish();
    serve(base, &l.files);
    let again =
        liveledger_wasm::js::audit(base.into(), opts(&l, &[("resume", point.clone().into())]))
            .await
            .unwrap();
    assert_eq!(get(&again, "verified"), JsValue::TRUE);
    assert_eq!(get(&get(&again, "resumed"), "from").as_f64(), Some(301.0));
    assert_eq!(get(&get(&again, "stats"), "entries").as_f64(), Some(20.0));
    assert_eq!(
        get(&get(&again, "checkpoint"), "size").as_f64(),
        Some(321.0)
    );
    // A point that is not one, or is another ledger's: discarded, said so, full audit.
    let at = point.find("\"edge\":[\"").expect("an edge") + 9;
    let mut edge = point.clone().into_bytes();
    edge[at] = if edge[at] == b'A' { b'B' } else { b'A' };
    for bad in ["{}".to_owned(), String::from_utf8(edge).unwrap()] {
        let r = liveledger_wasm::js::audit(base.into(), opts(&l, &[("resume", bad.into())]))
            .await
            .unwrap();
        assert!(get(&get(&r, "resumed"), "discarded").as_string().is_some());
        assert_eq!(get(&get(&r, "stats"), "entries").as_f64(), Some(321.0));
    }
    // The ledger now serves another history from 200 on, signed by the same key: FORK,
    // with the kept checkpoint and today's as evidence.
    let fork = Ledger::grown(330, Some(200));
    let forked = "http://resume.test/forked";
    serve(forked, &fork.files);
    let e = liveledger_wasm::js::audit(forked.into(), opts(&l, &[("resume", point.into())]))
        .await
        .unwrap_err();
    assert_eq!(code(e.clone()), "FORK");
    assert!(get(&get(&e, "evidence"), "oldCheckpoint")
        .as_string()
        .unwrap()
        .contains("\n301\n"));
}
