//! Shared body of the WebAssembly parity tests: the same analyses as the native CLI on the
//! bundled demo files, compared number by number with the CLI's output, which the test
//! command writes to target/parity/ before building these tests.

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
    };
    let message = run_graph(&mut files, &request, &mut silent()).err().expect("an error").to_string();
    assert!(message.starts_with("bad.npy:"), "{message}");
}
