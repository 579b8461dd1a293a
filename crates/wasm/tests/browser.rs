//! The same API tests, in headless Chromium.
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[path = "api.rs"]
mod api;
