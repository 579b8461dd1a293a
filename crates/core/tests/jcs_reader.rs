//! The canonical-JSON reader against the definition it replaces: serde_json's parser,
//! then the canonical writer, then a byte comparison. Both of the reader's modes are
//! compared on every input: [`jcs::parse`] with serde_json's `from_slice`, and
//! [`jcs::parse_canonical`] with the definition, error for error.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/jcs_model.rs"]
mod jcs_model;

use jcs_model::check;
use liveledger_core::jcs;
use proptest::prelude::*;
use serde_json::Value;

#[test]
fn edge_cases_agree_with_the_definition() {
    let cases: &[&[u8]] = &[
        b"",
        b" ",
        b"0",
        b"-0",
        b"-0.0",
        b"0.0",
        b"1.0",
        b"1e0",
        b"1E2",
        b"1e+2",
        b"1e-2",
        b"1e21",
        b"1e+21",
        b"1e20",
        b"100000000000000000000",
        b"1000000000000000000000",
        b"123456789012345",
        b"1234567890123456",
        b"9007199254740991",
        b"9007199254740992",
        b"9007199254740993",
        b"-9007199254740993",
        b"18446744073709551615",
        b"18446744073709551616",
        b"-9223372036854775808",
        b"-9223372036854775809",
        b"1e400",
        b"-1e400",
        b"1e-400",
        b"4.9e-324",
        b"5e-324",
        b"0.1",
        b"0.10",
        b".1",
        b"01",
        b"-",
        b"-a",
        b"1.",
        b"1e",
        b"1e+",
        b"+1",
        b"0x1",
        b"1.5e300",
        b"1.7976931348623157e308",
        b"1.7976931348623159e308",
        b"2.2250738585072014e-308",
        b"123.456",
        b"\"\"",
        b"\"a\"",
        b"\"\\/\"",
        b"\"/\"",
        b"\"\\u0041\"",
        b"\"\\u001f\"",
        b"\"\\u001F\"",
        b"\"\\u0008\"",
        b"\"\\b\"",
        b"\"\\u000a\"",
        b"\"\\u0000\"",
        b"\"\\u007f\"",
        b"\"\x7f\"",
        b"\"\\ud83d\\ude00\"",
        "\"\u{1f600}\"".as_bytes(),
        b"\"\\ud83d\"",
        b"\"\\ude00\"",
        b"\"\\ud83dx\"",
        b"\"\\ud83d\\u0041\"",
        b"\"\\ud83d\\ud83d\"",
        b"\"\\uZZZZ\"",
        b"\"\\u12\"",
        b"\"\\x\"",
        b"\"\\",
        b"\"abc",
        b"\"\x01\"",
        b"\"\t\"",
        b"\"\xff\"",
        b"\"\xc3\"",
        b"\"\xc3\xa9\"",
        b"\"\xed\xa0\x80\"",
        b"\"\xf4\x90\x80\x80\"",
        b"\"\xe2\x82\"",
        b"true",
        b"false",
        b"null",
        b"tru",
        b"nul",
        b"True",
        b"truex",
        b"[]",
        b"{}",
        b"[ ]",
        b"{ }",
        b"[1,2]",
        b"[1, 2]",
        b"[1,]",
        b"[,1]",
        b"[1 2]",
        b"[",
        b"]",
        b"{\"a\":1}",
        b"{\"a\" : 1}",
        b"{\"a\":1,}",
        b"{\"a\":1,\"a\":2}",
        b"{\"b\":1,\"a\":2}",
        b"{\"a\":1,\"b\":2}",
        b"{\"a\":1,\"aa\":2}",
        b"{\"aa\":1,\"a\":2}",
        b"{a:1}",
        b"{\"a\"1}",
        b"{\"a\":}",
        b"{1:2}",
        b"{\"\":0}",
        b"{\"\":0,\"\":1}",
        "{\"\u{fb33}\":1,\"\u{1f600}\":2}".as_bytes(),
        "{\"\u{1f600}\":2,\"\u{fb33}\":1}".as_bytes(),
        "{\"\u{e000}\":1,\"\u{10000}\":2}".as_bytes(),
        "{\"\u{10000}\":2,\"\u{e000}\":1}".as_bytes(),
        // UTF-16 order differs from the map's byte order: the member before is not the
        // map's last.
        "{\"\u{1f600}\":1,\"\u{fb33}\":2,\"\u{e000}\":3}".as_bytes(),
        "{\"\u{1f600}\":1,\"\u{e000}\":3,\"\u{fb33}\":2}".as_bytes(),
        "{\"a\":0,\"\u{1f600}\":1,\"\u{fb33}\":2,\"\u{fb33}\":2}".as_bytes(),
        b"{\"a\\u0041\":1}",
        b"{\"\\u0001\":1,\"\\u0002\":2}",
        b"{\"\\u0002\":1,\"\\u0001\":2}",
        b"1 ",
        b" 1",
        b"1\n",
        b"\xef\xbb\xbf1",
        b"[1]x",
        b"{}{}",
        b"nullnull",
        b"[true,false,null]",
    ];
    for c in cases {
        check(c);
    }
}

#[test]
fn nesting_stops_where_serde_json_stops() {
    for depth in [1, 126, 127, 128, 129, 130, 1000] {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let s = format!("{}0{}", open.repeat(depth), close.repeat(depth));
            check(s.as_bytes());
        }
    }
}

/// Every document of up to five characters from an alphabet that reaches every branch
/// of the reader's grammar.
#[test]
fn every_short_document_agrees() {
    let alphabet: &[u8] = b"{}[]\",:0-1.e\\u ";
    let mut doc = Vec::new();
    fn walk(doc: &mut Vec<u8>, alphabet: &[u8], left: usize) {
        check(doc);
        if left == 0 {
            return;
        }
        for &c in alphabet {
            doc.push(c);
            walk(doc, alphabet, left - 1);
            doc.pop();
        }
    }
    walk(&mut doc, alphabet, 5);
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[\\x00-\\x20\"\\\\a\u{e000}\u{10000}]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-c\u{e000}\u{10000}]{0,3}|.*", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Members in any order, with names where UTF-16 order and byte order disagree.
    #[test]
    fn members_in_any_order_agree(names in prop::collection::vec("[a\u{e000}\u{fb33}\u{10000}\u{1f600}]{0,2}", 0..8)) {
        let members: Vec<String> = names.iter().enumerate().map(|(i, n)| format!("\"{n}\":{i}")).collect();
        check(format!("{{{}}}", members.join(",")).as_bytes());
    }

    /// Written canonically, compactly or pretty by serde_json, then perhaps one byte
    /// deleted, replaced or inserted.
    #[test]
    fn written_and_mutated_documents_agree(
        v in json_value(),
        form in 0u8..3,
        edit in prop::option::of((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(b"{}[]\",:0-19.eE+\\u \nabf\xc3\xa9\xf0".to_vec()))),
    ) {
        let mut bytes = match form {
            0 => match jcs::to_canonical(&v) { Ok(s) => s.into_bytes(), Err(_) => return Ok(()) },
            1 => serde_json::to_vec(&v).unwrap(),
            _ => serde_json::to_vec_pretty(&v).unwrap(),
        };
        if let Some((at, op, b)) = edit {
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => { bytes.remove(i); }
                1 if i < bytes.len() => bytes[i] = b,
                _ => bytes.insert(i, b),
            }
        }
        check(&bytes);
        if form == 0 && edit.is_none() {
            prop_assert!(jcs::parse_canonical(&bytes).is_ok());
        }
    }
}
