//! Entry bundles: the whole-buffer and incremental decoders agree, and never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use liveledger_core::bundle::{decode_bundle, encode_bundle, BundleDecoder};

fuzz_target!(|data: &[u8]| {
    let Some((&w, rest)) = data.split_first() else { return };
    let width = u64::from(w % 16) + 1;
    let chunk = usize::from(w / 16) + 1;
    let whole = decode_bundle(rest, width);
    if let Ok(entries) = &whole {
        assert_eq!(encode_bundle(entries).unwrap(), rest);
    }
    let mut dec = BundleDecoder::new(width);
    let mut n = 0;
    let mut ok = true;
    for c in rest.chunks(chunk) {
        if dec.feed(c, |_, _| { n += 1; Ok::<(), ()>(()) }).is_err() { ok = false; break; }
    }
    let ok = ok && dec.finish().is_ok();
    assert_eq!(ok, whole.is_ok());
});
