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

/// The `LedgerError.code` union of the module's TypeScript is the core's list of codes,
/// every one and nothing else.
#[wasm_bindgen_test]
fn the_typescript_error_codes_are_the_cores() {
    let src = include_str!("../src/lib.rs");
    let line = src
        .lines()
        .find(|l| l.starts_with("export interface LedgerError"))
        .expect("the LedgerError interface");
    let union = line
        .split("code: ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let ts: Vec<&str> = union.split(" | ").map(|c| c.trim_matches('"')).collect();
    let core: Vec<&str> = liveledger_core::verdict::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(ts, core);
}

#[wasm_bindgen_test]
fn verify_checkpoint_returns_a_plain_object() {
    let r = liveledger_wasm::verify_checkpoint(CP15, vec![KEY.trim().into()], None).unwrap();
    assert_eq!(get(&r, "size").as_f64(), Some(15.0));
    assert_eq!(
        get(&r, "origin").as_string().unwrap(),
        "example.com/log/testdata"
    );
    let sigs = js_sys::Array::from(&get(&r, "signatures"));
    assert_eq!(sigs.length(), 1);
    let r = liveledger_wasm::verify_checkpoint(
        SUMDB,
        vec![SUMDB_KEY.trim().into()],
        Some("go.sum database tree".into()),
    )
    .unwrap();
    assert_eq!(get(&r, "size").as_f64(), Some(6476701.0));
}

#[wasm_bindgen_test]
fn errors_have_stable_codes() {
    let bad_sig = CP15.replace("M9e0", "M9e1");
    assert_eq!(
        code(
            liveledger_wasm::verify_checkpoint(&bad_sig, vec![KEY.trim().into()], None)
                .unwrap_err()
        ),
        "BAD_SIGNATURE"
    );
    assert_eq!(
        code(
            liveledger_wasm::verify_checkpoint(CP15, vec![KEY.trim().into()], Some("other".into()))
                .unwrap_err()
        ),
        "WRONG_ORIGIN"
    );
    assert_eq!(
        code(liveledger_wasm::verify_checkpoint(CP15, vec!["not a key".into()], None).unwrap_err()),
        "BAD_INPUT"
    );
    let e = liveledger_wasm::verify_checkpoint(
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
    let r = liveledger_wasm::verify_receipt(&receipt, vec![KEY.trim().into()], None).unwrap();
    assert_eq!(get(&r, "entry").as_string().unwrap(), "one");
    let forged = receipt.replace("extra b25l", "extra dHdv");
    assert_eq!(
        code(liveledger_wasm::verify_receipt(&forged, vec![KEY.trim().into()], None).unwrap_err()),
        "INCLUSION_FAILED"
    );
    assert_eq!(
        code(
            liveledger_wasm::verify_receipt("nonsense", vec![KEY.trim().into()], None).unwrap_err()
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
