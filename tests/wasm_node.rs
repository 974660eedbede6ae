//! WebAssembly parity tests in Node (see tests/wasm_common).
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod wasm_common;

parity_tests!();
