//! The approximate (NN-descent) neighbour graph: recall against the exact lists, determinism
//! across thread counts, the score it gives against the exact graph's, how a result reports
//! it, and the memory check that refuses oversized inputs before building anything.

use convexlens::analysis::{run_graph, FileSet, GraphRequest, Source};
use convexlens::data::{Labels, Matrix};
use convexlens::graph_convexity::{score_on_graph, GraphOptions, NeighbourGraph};
use convexlens::knn::{knn_exact, KnnLists};
use convexlens::nndescent::{build_approximate, knn_approximate, GraphKind, NnDescentOptions};
use convexlens::progress::silent;
use convexlens::rng::{Purpose, Rng};

/// 10 overlapping Gaussian classes on a 12-dimensional subspace of R^d plus isotropic noise
/// of norm 0.5 (real embeddings have a low intrinsic dimension; NN-descent's recall falls on
/// full-rank data): latent centres of sd 0.6 against unit latent noise, so neighbours cross
/// classes and scores are well below 100.
fn clustered(n: usize, d: usize) -> (Matrix, Labels) {
    const LATENT: usize = 12;
    let mut rng = Rng::new(11, Purpose::Noise, 0, 0);
    let scale = 1.0 / (d as f64).sqrt();
    let map: Vec<f64> = (0..d * LATENT).map(|_| rng.normal() * scale).collect();
    let centres: Vec<Vec<f64>> = (0..10).map(|_| (0..LATENT).map(|_| 0.6 * rng.normal()).collect()).collect();
    let mut data = Vec::with_capacity(n * d);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 10;
        let z: Vec<f64> = centres[c].iter().map(|m| m + rng.normal()).collect();
        for j in 0..d {
            let signal: f64 = z.iter().enumerate().map(|(t, v)| map[j * LATENT + t] * v).sum();
            data.push((signal + 0.5 * rng.normal() * scale) as f32);
        }
        labels.push(format!("class {c}"));
    }
    (Matrix::new(n, d, data).unwrap(), Labels::from_strings(&labels))
}

fn recall(exact: &KnnLists, approximate: &KnnLists) -> f64 {
    let (mut hits, mut total) = (0, 0);
    for (e, a) in exact.neighbors.iter().zip(&approximate.neighbors) {
        hits += e.iter().filter(|p| a.iter().any(|q| q.0 == p.0)).count();
        total += e.len();
    }
    hits as f64 / total as f64
}

#[test]
fn recall_and_score_close_to_the_exact_graph() {
    let (x, labels) = clustered(5_000, 64);
    let exact = NeighbourGraph::build(&x, 10, &mut silent()).unwrap();
    let (approximate, stats) = build_approximate(&x, 10, &NnDescentOptions::default(), &mut silent()).unwrap();
    let r = recall(&exact.knn, &approximate.knn);
    assert!(r >= 0.95, "recall@10 {r}, search {stats:?}");
    // Every distance reported is the exact one, whatever the membership.
    for (i, list) in approximate.knn.neighbors.iter().enumerate() {
        for &(j, d) in list {
            assert_eq!(d, convexlens::knn::squared_distance(x.row(i), x.row(j as usize)).sqrt());
        }
    }
    let options = GraphOptions { baseline: 0, ..GraphOptions::default() };
    let on_exact = score_on_graph(&exact, &labels, &options, &mut silent()).unwrap();
    let on_approximate = score_on_graph(&approximate, &labels, &options, &mut silent()).unwrap();
    assert!(on_exact.score < 95.0, "the data should not be trivially separable: {}", on_exact.score);
    eprintln!("recall {r} exact {} approximate {}", on_exact.score, on_approximate.score);
    assert!(
        (on_exact.score - on_approximate.score).abs() <= 0.5,
        "exact {} vs approximate {}",
        on_exact.score,
        on_approximate.score
    );
}

#[test]
fn same_seed_same_lists_on_any_number_of_threads() {
    let (x, _) = clustered(3_000, 32);
    let options = NnDescentOptions { seed: 7, ..NnDescentOptions::default() };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| knn_approximate(&x, 10, &options, &mut silent()).unwrap())
    };
    let (one, stats_one) = run(1);
    let (three, stats_three) = run(3);
    assert_eq!(one, three);
    assert_eq!(stats_one, stats_three);
    // Another seed starts elsewhere, so the search takes another course.
    let other = knn_approximate(&x, 10, &NnDescentOptions { seed: 8, ..options.clone() }, &mut silent()).unwrap().1;
    assert_ne!(stats_one.updates, other.updates);
}

#[test]
fn small_inputs_match_the_exact_lists() {
    let (x, _) = clustered(200, 16);
    let (approximate, _) = knn_approximate(&x, 5, &NnDescentOptions::default(), &mut silent()).unwrap();
    assert!(recall(&knn_exact(&x, 5, &mut silent()).unwrap(), &approximate) > 0.99);
}

fn npy(x: &Matrix) -> Vec<u8> {
    convexlens::io::npy_f32(x.rows, x.cols, &x.data)
}

fn files_and_request(n: usize, d: usize, graph: GraphKind, memory_limit_mib: Option<u64>) -> (FileSet, GraphRequest) {
    let (x, labels) = clustered(n, d);
    let column: String = labels.codes.iter().map(|&c| format!("{}\n", labels.classes[c as usize])).collect();
    let files = FileSet::new([("emb.npy".to_string(), npy(&x)), ("labels.txt".to_string(), column.into_bytes())]);
    let request = GraphRequest {
        embeddings: Source { file: "emb.npy".into(), field: None },
        labels: Source { file: "labels.txt".into(), field: None },
        options: GraphOptions { baseline: 0, n_paths: 200, ..GraphOptions::default() },
        per_class: None,
        graph,
        memory_limit_mib,
    };
    (files, request)
}

#[test]
fn the_result_says_which_graph_was_used() {
    let (mut files, request) = files_and_request(1_000, 16, GraphKind::Approximate, None);
    let (result, graph) = run_graph(&mut files, &request, &mut silent()).unwrap();
    assert!(graph.is_some());
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["parameters"]["graph"], "approximate");
    assert_eq!(json["neighbour_graph"]["kind"], "approximate");
    assert_eq!(json["neighbour_graph"]["recall"]["sample_rows"], 200);
    let r = json["neighbour_graph"]["recall"]["recall"].as_f64().unwrap();
    assert!(r > 0.9 && r <= 1.0, "{r}");
    assert!(json["score"].as_f64().is_some());
    let warning = json["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).find(|w| w.contains("approximate"));
    assert!(warning.is_some_and(|w| w.contains("recall@10") && w.contains("cannot be estimated")), "{json}");

    // Auto keeps the exact graph for small inputs, and says so.
    let (mut files, request) = files_and_request(1_000, 16, GraphKind::Auto, None);
    let json = serde_json::to_value(run_graph(&mut files, &request, &mut silent()).unwrap().0).unwrap();
    assert_eq!(json["neighbour_graph"]["requested"], "auto");
    assert_eq!(json["neighbour_graph"]["kind"], "exact");
    assert!(json["neighbour_graph"].get("recall").is_none());
}

#[test]
fn oversized_inputs_are_refused_with_the_file_and_sizes() {
    let (mut files, request) = files_and_request(1_000, 16, GraphKind::Exact, Some(1));
    let message = run_graph(&mut files, &request, &mut silent()).err().expect("over the limit").to_string();
    assert!(message.starts_with("emb.npy: 1000 rows x 16 columns with k = 10 need an estimated"), "{message}");
    assert!(message.contains("more than the limit of 1 MiB"), "{message}");
    assert!(message.contains("exact neighbour graph"), "{message}");
    // The same data fits a realistic limit.
    let (mut files, request) = files_and_request(1_000, 16, GraphKind::Exact, Some(2048));
    assert!(run_graph(&mut files, &request, &mut silent()).is_ok());
}

#[test]
fn a_browser_sized_limit_refuses_a_million_wide_rows() {
    // 1,000,000 x 768 float32 rows (about 3 GiB as .npy) cannot fit in 2 GiB, whichever graph.
    let held = 3 * 768 * 4 * 1_000_000u64;
    for kind in [GraphKind::Exact, GraphKind::Approximate] {
        let message = convexlens::nndescent::check_memory("big.npy", held, 1_000_000, 768, 10, kind, 2 << 30)
            .err()
            .expect("over the limit")
            .to_string();
        assert!(message.starts_with("big.npy: 1000000 rows x 768 columns"), "{message}");
        assert!(message.contains("limit of 2048 MiB"), "{message}");
    }
    // 100,000 x 256 with the approximate graph fits.
    let held = 3 * 256 * 4 * 100_000u64;
    assert!(convexlens::nndescent::check_memory("ok.npy", held, 100_000, 256, 10, GraphKind::Approximate, 2 << 30).is_ok());
}

#[test]
fn a_layer_sweep_is_refused_when_its_layers_will_not_fit() {
    let (files, request) = files_and_request(1_000, 16, GraphKind::Exact, None);
    let layers = |limit| convexlens::analysis::LayersRequest {
        layers: vec![request.embeddings.clone(), request.embeddings.clone()],
        labels: request.labels.clone(),
        graph: request.options.clone(),
        euclidean: None,
        per_class: None,
        memory_limit_mib: limit,
    };
    let mut set = files;
    let message = convexlens::analysis::run_layers(&mut set, &layers(Some(1)), &mut silent()).err().expect("over the limit").to_string();
    assert!(message.starts_with("emb.npy: 1000 rows x 16 columns with k = 10 need an estimated"), "{message}");
    let result = convexlens::analysis::run_layers(&mut set, &layers(Some(2048)), &mut silent()).unwrap();
    assert_eq!(result.result.layers.len(), 2);
}

#[test]
fn paths_are_drawn_on_the_graph_auto_would_build() {
    let (mut files, request) = files_and_request(1_000, 16, GraphKind::Auto, None);
    let drawn = convexlens::analysis::graph_for_paths(&mut files, &request.embeddings, 10).unwrap();
    let (x, _) = clustered(1_000, 16);
    assert_eq!(drawn.knn, knn_exact(&x, 10, &mut silent()).unwrap(), "1,000 rows: the exact graph");
    let message = convexlens::analysis::graph_for_paths(&mut files, &request.embeddings, 0).err().unwrap().to_string();
    assert!(message.contains("k must be at least 1"), "{message}");
}
