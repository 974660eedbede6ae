//! WebAssembly parity tests in Node (see tests/wasm_common).
#![cfg(target_arch = "wasm32")]

mod wasm_common;

use wasm_bindgen_test::*;


#[wasm_bindgen_test]
fn graph_matches_native() {
    wasm_common::graph_matches_native();
}

#[wasm_bindgen_test]
fn euclidean_head_matches_native() {
    wasm_common::euclidean_head_matches_native();
}

#[wasm_bindgen_test]
fn euclidean_probe_matches_native() {
    wasm_common::euclidean_probe_matches_native();
}

#[wasm_bindgen_test]
fn errors_are_values_not_panics() {
    wasm_common::errors_are_values_not_panics();
}

#[wasm_bindgen_test]
fn pooled_phases_match_single_run() {
    wasm_common::pooled_phases_match_single_run();
}
