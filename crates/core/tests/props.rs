//! Property tests: every parser round-trips, and parse(s) succeeding implies
//! format(parse(s)) == s (canonical parsing). Native only (proptest).
#![cfg(not(target_arch = "wasm32"))]

use liveledger_core::archive::{encode_digest_index, parse_digest_index};
use liveledger_core::bundle::{decode_bundle, encode_bundle, BundleDecoder};
use liveledger_core::checkpoint::Checkpoint;
use liveledger_core::hash::Hash;
use liveledger_core::jcs;
use liveledger_core::note::{Note, SignerKey, VerifierKey};
use liveledger_core::tiles::TilePath;
use liveledger_core::time::Timestamp;
use proptest::prelude::*;
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tile_paths_round_trip(level in 0u8..=63, index: u64, width in 1u64..=256, entries: bool) {
        let p = if entries { TilePath::entries(index, width) } else { TilePath::hashes(level, index, width) }.unwrap();
        let s = p.to_string();
        prop_assert_eq!(s.parse::<TilePath>().unwrap(), p);
    }

    #[test]
    fn tile_path_parsing_is_canonical(s in "tile/(entries|[0-9]{1,3})(/x[0-9]{3}){0,3}/[0-9]{3}(\\.p/[0-9]{1,3})?") {
        if let Ok(p) = s.parse::<TilePath>() {
            prop_assert_eq!(p.to_string(), s);
        }
    }

    #[test]
    fn checkpoints_round_trip(origin in "[^\n\u{0}-\u{1f}]{1,40}", size: u64, root: [u8; 32],
                              ext in prop::collection::vec("[^\n\u{0}-\u{1f}]{1,20}", 0..4)) {
        let c = Checkpoint { origin, size, root: Hash(root), extensions: ext };
        prop_assert_eq!(Checkpoint::parse(&c.to_text()).unwrap(), c);
    }

    #[test]
    fn checkpoint_parsing_is_canonical(s in "[a-z./]{1,10}\n(0|[1-9][0-9]{0,3}|0[0-9])\n[A-Za-z0-9+/]{43}=\n([a-z ]{0,5}\n){0,2}") {
        if let Ok(c) = Checkpoint::parse(&s) {
            prop_assert_eq!(c.to_text(), s);
        }
    }

    #[test]
    fn notes_round_trip_and_verify(text in "([^\n\u{0}-\u{1f}]{0,30}\n){1,5}", seed: [u8; 32], ts: u64, cosign: bool) {
        let k = SignerKey::from_seed("example.org/k", if cosign { 4 } else { 1 }, seed).unwrap();
        let note = Note::sign(&text, &[&k], ts).unwrap();
        let bytes = note.to_bytes();
        let parsed = Note::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed.to_bytes(), &bytes);
        let v = parsed.verify(&[k.verifier()]).unwrap();
        prop_assert_eq!(v.text(), text.as_str());
        prop_assert_eq!(v.verified()[0].timestamp, cosign.then_some(ts));
        // The keys round-trip too.
        prop_assert_eq!(VerifierKey::parse(&k.verifier().to_string()).unwrap(), k.verifier());
        prop_assert_eq!(SignerKey::parse(&k.to_secret_string()).unwrap().verifier(), k.verifier());
    }

    #[test]
    fn note_parsing_is_canonical(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(n) = Note::parse(&bytes) {
            prop_assert_eq!(n.to_bytes(), bytes);
        }
    }

    /// Random bytes almost never parse, so the property above is rarely tested: here the
    /// inputs are valid notes (one, two or three signatures) with a few edits each, which
    /// often still parse.
    #[test]
    fn edited_notes_that_parse_format_back_to_the_same_bytes(
        signers in 1usize..4,
        edits in prop::collection::vec((0u8..5, any::<prop::sample::Index>(), prop::sample::select(INTERESTING)), 1..4),
    ) {
        let mut bytes = signed_note(signers);
        for (kind, at, b) in edits {
            let at = at.index(bytes.len() + 1);
            edit(&mut bytes, kind, at, b);
        }
        if let Ok(n) = Note::parse(&bytes) {
            prop_assert_eq!(n.to_bytes(), bytes);
        }
    }

    #[test]
    fn digest_indexes_round_trip(sizes in prop::collection::vec(any::<u64>(), 0..50)) {
        let text = encode_digest_index(&sizes);
        let mut want = sizes.clone();
        want.sort_unstable();
        want.dedup();
        prop_assert_eq!(parse_digest_index(text.as_bytes()).unwrap(), want);
    }

    #[test]
    fn digest_index_parsing_is_canonical(s in "([0-9]{1,3}\n?){0,6}") {
        if let Ok(v) = parse_digest_index(s.as_bytes()) {
            prop_assert_eq!(encode_digest_index(&v), s);
        }
    }

    #[test]
    fn bundles_round_trip_in_any_chunking(entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..40),
                                          chunk in 1usize..500) {
        let b = encode_bundle(&entries).unwrap();
        let d = decode_bundle(&b, entries.len() as u64).unwrap();
        prop_assert_eq!(&d, &entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let mut dec = BundleDecoder::new(entries.len() as u64);
        let mut got: Vec<Vec<u8>> = Vec::new();
        for c in b.chunks(chunk) {
            dec.feed(c, |_, e| { got.push(e.to_vec()); Ok::<(), ()>(()) }).unwrap();
        }
        dec.finish().unwrap();
        prop_assert_eq!(got, entries);
    }

    #[test]
    fn bundle_decoding_agrees_with_the_incremental_decoder(bytes in prop::collection::vec(any::<u8>(), 0..200), width in 1u64..8, chunk in 1usize..50) {
        let whole = decode_bundle(&bytes, width).map(|v| v.into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
        let mut dec = BundleDecoder::new(width);
        let mut got = Vec::new();
        let mut ok = true;
        for c in bytes.chunks(chunk) {
            if dec.feed(c, |_, e| { got.push(e.to_vec()); Ok::<(), ()>(()) }).is_err() { ok = false; break; }
        }
        let inc = if ok && dec.finish().is_ok() { Ok(got) } else { Err(()) };
        prop_assert_eq!(whole.is_ok(), inc.is_ok());
        if let (Ok(a), Ok(b)) = (whole, inc) { prop_assert_eq!(a, b); }
    }

    #[test]
    fn timestamps_round_trip(secs in -62135596800i64..253402300800, nanos in 0u32..1_000_000_000) {
        let t = Timestamp::from_unix(secs, nanos).unwrap();
        prop_assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
    }

    #[test]
    fn canonical_json_is_a_fixed_point(v in json_value()) {
        let c = jcs::to_canonical(&v).unwrap();
        let back = jcs::parse_canonical(c.as_bytes()).unwrap();
        prop_assert_eq!(jcs::to_canonical(&back).unwrap(), c);
    }
}

/// The base64 codec against the `base64` crate's standard engine (padding required,
/// trailing bits zero), which it replaced.
mod base64_codec {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use liveledger_core::b64;
    use proptest::prelude::*;

    fn agree(text: &[u8]) {
        assert_eq!(
            b64::decode(text).ok(),
            STANDARD.decode(text).ok(),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }

    /// Every text of up to 4 characters, and every 8-character text of a quad and one
    /// of those, from characters that reach every case: each leftover-bit class, padding,
    /// and characters outside the alphabet.
    #[test]
    fn every_short_text_agrees() {
        let alphabet = b"AQgwBZ+/=-a \x80";
        let mut texts: Vec<Vec<u8>> = vec![vec![]];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = texts
                .iter()
                .filter(|t| t.len() == texts.last().unwrap().len())
                .flat_map(|t| alphabet.iter().map(move |&c| [t.as_slice(), &[c]].concat()))
                .collect();
            texts.extend(longer);
        }
        for t in &texts {
            agree(t);
            if t.len() == 4 {
                agree(&[b"Zm9v", t.as_slice()].concat());
                agree(&[t.as_slice(), b"Zm9v"].concat());
            }
        }
    }

    proptest! {
        #[test]
        fn encoding_agrees_and_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
            let text = b64::encode(&bytes);
            prop_assert_eq!(&text, &STANDARD.encode(&bytes));
            prop_assert_eq!(b64::decode(&text).unwrap(), bytes);
        }

        #[test]
        fn decoding_agrees(text in "[A-Za-z0-9+/=_ -]{0,16}") {
            agree(text.as_bytes());
        }
    }
}

/// Bytes an edit may insert or write: the note's separators and look-alikes.
const INTERESTING: &[u8] = &[
    b'\n', b' ', b'+', b'=', b'A', b'/', 0xe2, 0x80, 0x94, b'\r', b'\t', 0, 0xff,
];

/// A note with `signers` signatures (each a different key).
fn signed_note(signers: usize) -> Vec<u8> {
    let keys: Vec<SignerKey> = (0..signers)
        .map(|i| SignerKey::from_seed(&format!("signer{i}.example"), 1, [i as u8 + 1; 32]).unwrap())
        .collect();
    let refs: Vec<&SignerKey> = keys.iter().collect();
    Note::sign(
        "example.com/log\n15\nOo9rf0YSJRq/mLuxgqTzbEyidr6z7KUJD1b6Jf4yJ0k=\n",
        &refs,
        0,
    )
    .unwrap()
    .to_bytes()
}

/// One edit at `at`: 0 flip a bit, 1 write `b`, 2 insert `b`, 3 delete, 4 repeat the line.
fn edit(bytes: &mut Vec<u8>, kind: u8, at: usize, b: u8) {
    let at = at.min(bytes.len());
    match kind {
        0 if at < bytes.len() => bytes[at] ^= 1 << (b % 8),
        1 if at < bytes.len() => bytes[at] = b,
        2 => bytes.insert(at, b),
        3 if at < bytes.len() => {
            bytes.remove(at);
        }
        4 => {
            let start = bytes[..at]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |i| i + 1);
            let end = bytes[at..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(bytes.len(), |i| at + i + 1);
            let line = bytes[start..end].to_vec();
            bytes.splice(start..start, line);
        }
        _ => {}
    }
}

/// Every single edit of a two-signature note, at every position: those that still parse
/// format back to their own bytes, and both outcomes occur (the property is exercised).
#[test]
fn every_single_edit_of_a_note_parses_canonically_or_not_at_all() {
    let good = signed_note(2);
    let (mut parsed, mut refused) = (0, 0);
    for kind in 0..5u8 {
        for at in 0..=good.len() {
            for &b in INTERESTING {
                let mut bytes = good.clone();
                edit(&mut bytes, kind, at, b);
                match Note::parse(&bytes) {
                    Ok(n) => {
                        assert_eq!(n.to_bytes(), bytes, "edit {kind} at {at} with {b:#x}");
                        parsed += 1;
                    }
                    Err(_) => refused += 1,
                }
            }
        }
    }
    assert!(
        parsed > 1000 && refused > 1000,
        "{parsed} parsed, {refused} refused"
    );
}
