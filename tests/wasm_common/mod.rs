//! Shared body of the WebAssembly parity tests: the same analyses as the native CLI on the
//! bundled demo files, compared number by number with the CLI's output, which the test
//! command writes to target/parity/ before building these tests.

/// Declares every parity test below as a `#[wasm_bindgen_test]` of the including test crate,
/// whose `wasm_bindgen_test_configure!` picks the runner (Node, browser, dedicated worker).
macro_rules! parity_tests {
    () => {
        parity_tests!(
            graph_matches_native,
            euclidean_head_matches_native,
            euclidean_probe_matches_native,
            errors_are_values_not_panics,
            pooled_phases_match_single_run,
        );
    };
    ($($name:ident),+ $(,)?) => {
        $(
            #[wasm_bindgen_test::wasm_bindgen_test]
            fn $name() {
                wasm_common::$name();
            }
        )+
    };
}

use convexlens::analysis::{run_euclidean, run_graph, EuclideanRequest, FileSet, GraphRequest, HeadSpec, Source};
use convexlens::euclidean_convexity::EuclideanOptions;
use convexlens::graph_convexity::GraphOptions;
use convexlens::heads::Activation;
use convexlens::progress::silent;
use serde_json::Value;

const EMBEDDINGS: &[u8] = include_bytes!("../../www/demo/finetuned_layer4.npy");
const METADATA: &[u8] = include_bytes!("../../www/demo/metadata.tsv");
const HEAD_W: &[u8] = include_bytes!("../../www/demo/finetuned_head_W.npy");
const HEAD_B: &[u8] = include_bytes!("../../www/demo/finetuned_head_b.npy");
const NATIVE_GRAPH: &str = include_str!("../../target/parity/graph.json");
const NATIVE_HEAD: &str = include_str!("../../target/parity/euclidean_head.json");
const NATIVE_PROBE: &str = include_str!("../../target/parity/euclidean_probe.json");

fn source(file: &str, field: Option<&str>) -> Source {
    Source { file: file.into(), field: field.map(Into::into) }
}

fn files() -> FileSet {
    FileSet::new([
        ("emb.npy".to_string(), EMBEDDINGS.to_vec()),
        ("metadata.tsv".to_string(), METADATA.to_vec()),
        ("W.npy".to_string(), HEAD_W.to_vec()),
        ("b.npy".to_string(), HEAD_B.to_vec()),
    ])
}

/// Every score-bearing number must be bit-identical: compare the f64 bit patterns.
fn assert_same_scores(native: &str, wasm: Value) {
    let native: Value = serde_json::from_str(native).expect("native JSON");
    let pick = |v: &Value| -> Vec<(String, u64)> {
        let mut out = vec![("score".to_string(), v["score"].as_f64().expect("score").to_bits())];
        for c in v["classes"].as_array().expect("classes") {
            let label = c["label"].as_str().expect("label").to_string();
            for key in ["score", "sem"] {
                out.push((format!("{label}.{key}"), c[key].as_f64().map_or(0, f64::to_bits)));
            }
        }
        if let Some(scores) = v["baseline"]["scores"].as_array() {
            out.extend(scores.iter().enumerate().map(|(i, s)| (format!("baseline[{i}]"), s.as_f64().unwrap().to_bits())));
        }
        out
    };
    let (n, w) = (pick(&native), pick(&wasm));
    assert_eq!(n.len(), w.len(), "different number of scores");
    for ((name, a), (_, b)) in n.iter().zip(&w) {
        assert_eq!(a, b, "{name}: native {} vs wasm {}", f64::from_bits(*a), f64::from_bits(*b));
    }
}

pub fn graph_matches_native() {
    let request = GraphRequest {
        embeddings: source("emb.npy", None),
        labels: source("metadata.tsv", Some("label")),
        options: GraphOptions::default(),
        per_class: None,
        graph: Default::default(),
        memory_limit_mib: None,
    };
    let (result, _) = run_graph(&mut files(), &request, &mut silent()).expect("graph convexity");
    assert_same_scores(NATIVE_GRAPH, serde_json::to_value(&result).unwrap());
}

fn euclidean(head: Option<HeadSpec>) -> Value {
    let request = EuclideanRequest {
        embeddings: source("emb.npy", None),
        labels: source("metadata.tsv", Some("label")),
        head,
        split: None,
        options: EuclideanOptions::default(),
        per_class: None,
    };
    serde_json::to_value(run_euclidean(&mut files(), &request, &mut silent()).expect("euclidean convexity")).unwrap()
}

pub fn euclidean_head_matches_native() {
    let head = HeadSpec {
        layers: vec![(source("W.npy", None), source("b.npy", None))],
        activation: Activation::Relu,
        classes: None,
    };
    assert_same_scores(NATIVE_HEAD, euclidean(Some(head)));
}

pub fn euclidean_probe_matches_native() {
    assert_same_scores(NATIVE_PROBE, euclidean(None));
}

pub fn errors_are_values_not_panics() {
    let mut files = FileSet::new([("bad.npy".to_string(), b"\x93NUMPY\x01\x00garbage".to_vec())]);
    let request = GraphRequest {
        embeddings: source("bad.npy", None),
        labels: source("bad.npy", None),
        options: GraphOptions::default(),
        per_class: None,
        graph: Default::default(),
        memory_limit_mib: None,
    };
    let message = run_graph(&mut files, &request, &mut silent()).err().expect("an error").to_string();
    assert!(message.starts_with("bad.npy:"), "{message}");
}

/// The phases of a graph run spread as www/pool.js spreads them (three workers, block pairs
/// and sources dealt out of order, rows refined in ranges) give the very result of one
/// `Session::graph` call, apart from the timings.
pub fn pooled_phases_match_single_run() {
    use convexlens::wasm::{GraphPart, Session};
    use js_sys::{Array, Float32Array, Float64Array, Uint32Array};
    use wasm_bindgen::{JsCast, JsValue};

    // 700 rows (three row blocks, six block pairs) in 5 overlapping clusters; rows 1 and 2
    // repeat row 0, so zero distances are dropped as well.
    let (rows, cols) = (700, 24);
    let mut s = 3u64;
    let mut uniform = move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    let mut data: Vec<f32> = (0..rows * cols).map(|i| ((i / cols) % 5) as f32 * 0.3 + uniform()).collect();
    let first: Vec<f32> = data[..cols].to_vec();
    data[cols..2 * cols].copy_from_slice(&first);
    data[2 * cols..3 * cols].copy_from_slice(&first);
    let labels: String =
        std::iter::once("id\tlabel\n".to_string()).chain((0..rows).map(|i| format!("{i}\tc{}\n", i % 5))).collect();
    let session = || {
        let mut session = Session::new();
        session.add_file("x.npy".into(), convexlens::io::npy_f32(rows, cols, &data));
        session.add_file("y.tsv".into(), labels.clone().into_bytes());
        session
    };
    let request = serde_json::json!({
        "embeddings": { "file": "x.npy" },
        "labels": { "file": "y.tsv", "field": "label" },
        "options": { "k": 10, "n_paths": 400, "seed": 1, "baseline": 2 },
    });
    let js = |v: &Value| v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap();
    let rust = |v: JsValue| -> Value { serde_wasm_bindgen::from_value(v).unwrap() };
    let ignore_progress = js_sys::Function::new_no_args("");
    let without_timings = |mut v: Value| {
        v.as_object_mut().unwrap().remove("timings_ms");
        v
    };
    use serde::Serialize;

    let single = without_timings(rust(session().graph(js(&request), &ignore_progress).map_err(JsValue::from).unwrap()));

    let mut coordinator = session();
    let sizes = rust(coordinator.graph_begin(js(&request), 0, 3).map_err(JsValue::from).unwrap());
    let size = |key: &str| sizes[key].as_u64().unwrap() as usize;
    assert_eq!(size("block_pairs"), 6);
    let mut parts: Vec<GraphPart> = (0..3)
        .map(|_| GraphPart::new(coordinator.graph_matrix().map_err(JsValue::from).unwrap().to_vec(), rows, cols, size("k")).map_err(JsValue::from).unwrap())
        .collect();
    for (t, pair) in (0..size("block_pairs")).rev().enumerate() {
        parts[t % 3].scan(pair, pair + 1);
    }
    let candidates: Vec<Array> = parts.iter().map(GraphPart::candidates).collect();
    let cap = candidates[0].get(0).unchecked_into::<Float32Array>().length() as usize / rows;
    let (mut lens, mut neighbours, mut dists, mut exhaustive) = (Vec::new(), Vec::new(), Vec::new(), 0.0);
    for (t, first) in (0..rows).step_by(250).enumerate() {
        let end = (first + 250).min(rows);
        let cut: Array = candidates
            .iter()
            .map(|c| -> JsValue {
                let slice = |i: u32, per: usize| c.get(i).unchecked_into::<Float32Array>().subarray((first * per) as u32, (end * per) as u32);
                let rows_of = |i: u32, per: usize| c.get(i).unchecked_into::<Uint32Array>().subarray((first * per) as u32, (end * per) as u32);
                [JsValue::from(slice(0, cap)), rows_of(1, cap).into(), rows_of(2, 1).into()].iter().collect::<Array>().into()
            })
            .collect();
        let lists = parts[(t + 1) % 3].refine(first, cut).map_err(JsValue::from).unwrap();
        lens.extend(lists.get(0).unchecked_into::<Uint32Array>().to_vec());
        neighbours.extend(lists.get(1).unchecked_into::<Uint32Array>().to_vec());
        dists.extend(lists.get(2).unchecked_into::<Float64Array>().to_vec());
        exhaustive += lists.get(3).as_f64().unwrap();
    }
    let queries = coordinator.graph_plan().map_err(JsValue::from).unwrap();
    coordinator.graph_neighbours(&lens, &neighbours, &dists, exhaustive as usize).map_err(JsValue::from).unwrap();
    let codes = coordinator.graph_codes().map_err(JsValue::from).unwrap();
    for part in &mut parts {
        let planned = part
            .set_graph(&lens, &neighbours, &dists, js(&sizes["classes"]), codes.clone(), js(&request["options"]))
            .map_err(JsValue::from)
            .unwrap();
        assert_eq!(planned, queries, "every worker plans the same pairs");
    }
    let mut scores = vec![f64::INFINITY; queries];
    for (t, first) in (0..rows).step_by(97).enumerate().collect::<Vec<_>>().into_iter().rev() {
        let scored = parts[t % 3].paths(first, first + 97).map_err(JsValue::from).unwrap();
        let queries = scored.get(0).unchecked_into::<Uint32Array>().to_vec();
        for (q, s) in queries.into_iter().zip(scored.get(1).unchecked_into::<Float64Array>().to_vec()) {
            scores[q as usize] = s;
        }
    }
    assert!(scores.iter().all(|s| s.is_nan() || s.is_finite()), "every query scored once");
    let pooled = without_timings(rust(coordinator.graph_finish(&scores).map_err(JsValue::from).unwrap()));
    assert_eq!(single, pooled);
}
