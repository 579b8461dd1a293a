//! Shared helpers for the integration tests, native and Wasm.
#![allow(dead_code)]

pub mod ledger;

use include_dir::{include_dir, Dir};

/// The independent vectors (see vectors/README.md), embedded so Wasm tests see them too.
pub static VECTORS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/tests/vectors");

pub fn file(path: &str) -> &'static [u8] {
    VECTORS
        .get_file(path)
        .unwrap_or_else(|| panic!("vector {path} missing"))
        .contents()
}

pub fn text(path: &str) -> &'static str {
    core::str::from_utf8(file(path)).expect("vector is UTF-8")
}

/// Marks a test for both the native harness and wasm-bindgen-test.
#[macro_export]
macro_rules! both {
    ($(#[$m:meta])* fn $name:ident() $body:block) => {
        $(#[$m])*
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        fn $name() $body
    };
}
