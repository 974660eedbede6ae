//! WebAssembly parity tests in a dedicated worker in headless Chromium (see tests/wasm_common).
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod wasm_common;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

parity_tests!();
