//! Benchmark of graph convexity by stage (read, neighbours, paths and scores): wall time and
//! peak resident memory per stage, on synthetic clustered embeddings.
//!
//! `cargo run --release --bin convexlens-bench -- [ROWS_PER_CLASS ...]` (default 100 1000;
//! 10 classes, d = 768, k = 10, 5000 paths per class, baseline 5 and 0).
//! `cargo run --release --bin convexlens-bench -- memorization`: the full memorization report
//! (group table, 100-model memorization, tracing of every dimension, both mitigations) on
//! 10,000 training + 2,000 test rows, d = 512, 2 classes, 4 groups. With `--write DIR` it
//! also writes that data as `DIR/embeddings.npy` and `DIR/metadata.tsv` (label, attr, split),
//! for the browser's run of the same report (`node bench/page.mjs memorization DIR`).
//! `cargo run --release --bin convexlens-bench -- kernel [ROWS [COLS]]`: GFLOP/s of the f32
//! distance-product kernel of the exact k-NN search on one thread (default 4096 x 768), the
//! number to compare with the browser's (www/bench-kernel.html).
//! `cargo run --release --bin convexlens-bench -- approximate [--pool K] [--rho R] [--latent M] [N ...]`
//! (default 20000 100000; d = 256, 10 classes): NN-descent build time, recall@10, and up to
//! 40,000 rows the exact graph's time and both scores; above, the whole graph-convexity run
//! (read, approximate graph, recall estimate, paths with baseline 5) through `run_graph`.
//! `--write DIR` also saves each data set as DIR/approxN/{embeddings,labels}.npy for the page.
//! Classes lie on M-dimensional subspaces (default 16) plus isotropic noise, since real
//! embeddings have a low intrinsic dimension; `--latent 0` gives full-rank Gaussian classes.
//! Peak memory is VmHWM from /proc, reset before each stage through /proc/self/clear_refs.

use convexlens::data::{Labels, Matrix};
use convexlens::groups::GroupedData;
use convexlens::memorization::SubsetOptions;
use convexlens::memorization_report::{report, ReportOptions};
use convexlens::mitigation::{ConsistencyOptions, DfrOptions};
use convexlens::tracing::TracingOptions;
use convexlens::analysis::{run_graph, FileSet, GraphRequest, Source};
use convexlens::graph_convexity::{score_on_graph, GraphOptions, NeighbourGraph};
use convexlens::nndescent::{build_approximate, estimate_recall, GraphKind, NnDescentOptions};
use convexlens::io::{npy_f32, npy_v1, read_file};
use convexlens::progress::silent;
use convexlens::rng::{Purpose, Rng};
use std::time::Instant;

const CLASSES: usize = 10;
const DIM: usize = 768;

/// Class centres on a unit sphere plus Gaussian noise of norm about 3: classes overlap,
/// as real embeddings do, so paths are not trivial.
fn synthetic(per_class: usize) -> (Vec<u8>, Vec<String>) {
    let mut rng = Rng::new(42, Purpose::Subsample, 0, 0);
    let mut gaussian = move || {
        let (u1, u2) = (1.0 - rng.next_f64(), rng.next_f64());
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    };
    let centres: Vec<Vec<f32>> = (0..CLASSES).map(|_| (0..DIM).map(|_| gaussian() * 1.0 / (DIM as f32).sqrt()).collect()).collect();
    let mut data = Vec::with_capacity(CLASSES * per_class * DIM);
    let mut labels = Vec::new();
    for (c, centre) in centres.iter().enumerate() {
        for _ in 0..per_class {
            data.extend(centre.iter().map(|&m| m + gaussian() / (DIM as f32).sqrt() * 3.0));
            labels.push(c.to_string());
        }
    }
    (npy_f32(CLASSES * per_class, DIM, &data), labels)
}

/// Integer class names as an int64 .npy column.
fn npy_labels(names: &[String]) -> Vec<u8> {
    let values: Vec<u8> = names.iter().flat_map(|c| c.parse::<i64>().expect("integer class names").to_le_bytes()).collect();
    npy_v1(&format!("{{'descr': '<i8', 'fortran_order': False, 'shape': ({},), }}", names.len()), &values)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn stage<T>(name: &str, f: impl FnOnce() -> T) -> T {
    reset_peak();
    let start = Instant::now();
    let out = f();
    println!("  {name:<28} {:>9.3} s   peak RSS {:>7.1} MB", start.elapsed().as_secs_f64(), peak_mb());
    out
}

/// Label y, spurious attribute a (agreeing with y for 95% of training rows, independent on
/// test rows); dims 0–7 carry a, dims 8–15 carry y weakly, the rest is noise.
fn memorization_data(write: Option<&str>) -> GroupedData {
    let (train, test, d) = (10_000, 2_000, 512);
    let mut rng = Rng::new(7, Purpose::Subsample, 0, 0);
    let mut data = Vec::with_capacity((train + test) * d);
    let mut labels = Vec::new();
    let mut attrs = Vec::new();
    for i in 0..train + test {
        let y = rng.below(2) as f64;
        let agrees = if i < train { rng.next_f64() < 0.95 } else { rng.next_f64() < 0.5 };
        let a = if agrees { y } else { 1.0 - y };
        for j in 0..d {
            let signal = if j < 8 { 2.0 * (2.0 * a - 1.0) } else if j < 16 { 0.5 * (2.0 * y - 1.0) } else { 0.0 };
            data.push((signal + rng.normal()) as f32);
        }
        labels.push((y as u8).to_string());
        attrs.push((a as u8).to_string());
    }
    if let Some(dir) = write {
        std::fs::create_dir_all(dir).expect("create the data folder");
        std::fs::write(format!("{dir}/embeddings.npy"), npy_f32(train + test, d, &data)).expect("write embeddings.npy");
        let rows: String = (0..train + test)
            .map(|i| format!("{}\t{}\t{}\n", labels[i], attrs[i], if i < train { "train" } else { "test" }))
            .collect();
        std::fs::write(format!("{dir}/metadata.tsv"), format!("label\tattr\tsplit\n{rows}")).expect("write metadata.tsv");
        println!("  wrote {dir}/embeddings.npy and {dir}/metadata.tsv");
    }
    let x = Matrix::new(train + test, d, data).expect("sizes");
    let split = (0..train + test).map(|i| i < train).collect();
    GroupedData::new(x, Labels::from_strings(&labels), Some(&attrs), None, split, None).expect("groups")
}

fn memorization_bench(write: Option<&str>) {
    let data = stage("generate 12,000 x 512", || memorization_data(write));
    let options = ReportOptions {
        memorization: Some(SubsetOptions::default()),
        ridge_alpha: Some(1.0),
        tracing: Some(TracingOptions::default()),
        mlp: None,
        consistency: Some(ConsistencyOptions::default()),
        dfr: Some(DfrOptions::default()),
        probe: Default::default(),
    };
    let total = Instant::now();
    for (name, only) in [
        ("group table (head fit)", ReportOptions { probe: options.probe.clone(), ..Default::default() }),
        ("memorization, 100 models", ReportOptions { memorization: options.memorization.clone(), ..Default::default() }),
        ("ridge leave-one-out", ReportOptions { ridge_alpha: options.ridge_alpha, ..Default::default() }),
        ("tracing, all 512 dims", ReportOptions { tracing: options.tracing.clone(), ..Default::default() }),
        ("consistency mitigation", ReportOptions { consistency: options.consistency.clone(), ..Default::default() }),
        ("DFR mitigation", ReportOptions { dfr: options.dfr.clone(), ..Default::default() }),
    ] {
        stage(name, || report(&data, None, None, &only, &mut silent()).expect("report"));
    }
    println!("  sum of stages {:.3} s (each stage refits the head once)", total.elapsed().as_secs_f64());
    let full = Instant::now();
    let r = report(&data, None, None, &options, &mut silent()).expect("report");
    println!("  full report in one call {:.3} s; worst-group test accuracy {:.3}", full.elapsed().as_secs_f64(), r.worst_group_test_acc);
}

/// Best of five runs, as the browser page reports it.
fn kernel_bench(rows: usize, cols: usize) {
    let mut rng = Rng::new(1, Purpose::Subsample, 0, 0);
    let x = Matrix::new(rows, cols, (0..rows * cols).map(|_| rng.normal() as f32).collect()).expect("sizes");
    let best = (0..5)
        .map(|_| {
            let start = Instant::now();
            let flops = convexlens::knn::product_kernel(&x);
            flops / start.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max);
    println!("distance kernel, {rows} x {cols}, one thread: {best:.1} GFLOP/s");
}

/// `classes` overlapping clusters on one shared `latent`-dimensional subspace of R^d: row =
/// A·(μ_c + z) + noise, with A a random d×latent map (columns of norm about 1), class centres
/// μ_c ~ N(0, 0.8²·I) and z ~ N(0, I) in the latent space, and isotropic noise of norm 0.5.
/// `latent = 0`: full-rank classes, centres of norm about 1 plus isotropic noise of norm 3.
fn clustered(n: usize, d: usize, classes: usize, latent: usize) -> (Matrix, Vec<String>) {
    let mut rng = Rng::new(5, Purpose::Subsample, 0, 0);
    let scale = 1.0 / (d as f64).sqrt();
    let map: Vec<f64> = (0..d * latent).map(|_| rng.normal() * scale).collect();
    let centres: Vec<Vec<f64>> = if latent == 0 {
        (0..classes).map(|_| (0..d).map(|_| rng.normal() * scale).collect()).collect()
    } else {
        (0..classes).map(|_| (0..latent).map(|_| 0.8 * rng.normal()).collect()).collect()
    };
    let noise = if latent == 0 { 3.0 } else { 0.5 };
    let mut data = Vec::with_capacity(n * d);
    let mut labels = Vec::with_capacity(n);
    let mut z = vec![0.0; latent];
    for i in 0..n {
        let c = i % classes;
        z.iter_mut().zip(&centres[c]).for_each(|(v, m)| *v = m + rng.normal());
        for j in 0..d {
            let signal = if latent == 0 { centres[c][j] } else { (0..latent).map(|t| map[j * latent + t] * z[t]).sum() };
            data.push((signal + noise * rng.normal() * scale) as f32);
        }
        labels.push(c.to_string());
    }
    (Matrix::new(n, d, data).expect("sizes"), labels)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn approximate_bench(args: &[String]) {
    let mut options = NnDescentOptions::default();
    let mut latent = 16;
    let mut write = None;
    let mut sizes = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().expect("a value after the flag").clone();
        match a.as_str() {
            "--pool" => options.pool = value().parse().expect("--pool N"),
            "--rho" => options.rho = value().parse().expect("--rho R"),
            "--latent" => latent = value().parse().expect("--latent M"),
            "--write" => write = Some(value()),
            other => sizes.push(other.parse::<usize>().expect("row counts")),
        }
    }
    if sizes.is_empty() {
        sizes = vec![20_000, 100_000];
    }
    let (d, k) = (256, 10);
    println!("threads: {}; NN-descent {options:?}; latent dimension {latent}", rayon::current_num_threads());
    for n in sizes {
        println!("n = {n}, d = {d}, 10 classes, k = {k}; load average before: {}", load());
        let (x, names) = stage("generate", || clustered(n, d, 10, latent));
        if let Some(dir) = &write {
            let folder = format!("{dir}/approx{n}");
            std::fs::create_dir_all(&folder).expect("create the data folder");
            std::fs::write(format!("{folder}/embeddings.npy"), npy_f32(n, d, &x.data)).expect("write embeddings.npy");
            std::fs::write(format!("{folder}/labels.npy"), npy_labels(&names)).expect("write labels.npy");
            println!("  wrote {folder}/embeddings.npy and labels.npy (for node bench/page.mjs approximate {folder})");
        }
        let labels = Labels::from_strings(&names);
        let (approximate, stats) =
            stage("NN-descent + graph", || build_approximate(&x, k, &options, &mut silent()).expect("graph"));
        println!(
            "  {} iterations, updates {:?}, {} distances ({:.4} of all pairs)",
            stats.iterations,
            stats.updates,
            stats.distance_evaluations,
            stats.distance_evaluations as f64 / (n as f64 * (n as f64 - 1.0) / 2.0)
        );
        let recall = stage("recall estimate (200 rows)", || estimate_recall(&x, &approximate.knn, 200, 0));
        println!("  estimated recall@{k}: {:.4}", recall.recall.unwrap_or(f64::NAN));
        if n <= 40_000 {
            let exact = stage("exact neighbours + graph", || NeighbourGraph::build(&x, k, &mut silent()).expect("graph"));
            let (hits, total) = exact.knn.neighbors.iter().zip(&approximate.knn.neighbors).fold((0, 0), |(h, t), (e, a)| {
                (h + e.iter().filter(|p| a.iter().any(|q| q.0 == p.0)).count(), t + e.len())
            });
            println!("  recall@{k} over all rows: {:.4}", hits as f64 / total as f64);
            let options = GraphOptions::default();
            let on_exact = stage("paths + scores, exact graph", || score_on_graph(&exact, &labels, &options, &mut silent()).expect("scores"));
            let on_approximate =
                stage("paths + scores, approximate", || score_on_graph(&approximate, &labels, &options, &mut silent()).expect("scores"));
            println!(
                "  score: exact graph {:.3} ± {:.3}, approximate graph {:.3} ± {:.3}, difference {:+.3}",
                on_exact.score,
                on_exact.sem,
                on_approximate.score,
                on_approximate.sem,
                on_approximate.score - on_exact.score
            );
        } else {
            let bytes = npy_f32(n, d, &x.data);
            let labels_tsv = names.iter().map(|c| format!("class {c}\n")).collect::<String>().into_bytes();
            drop(x);
            let request = GraphRequest {
                embeddings: Source { file: "emb.npy".into(), field: None },
                labels: Source { file: "labels.tsv".into(), field: None },
                options: GraphOptions::default(),
                per_class: None,
                graph: GraphKind::Approximate,
                memory_limit_mib: None,
            };
            let mut files = FileSet::new([("emb.npy".to_string(), bytes), ("labels.tsv".to_string(), labels_tsv)]);
            let total = Instant::now();
            let (result, _) = stage("whole run_graph, approximate", || run_graph(&mut files, &request, &mut silent()).expect("run"));
            println!(
                "  total {:.3} s; score {:.3} ± {:.3}; stages (ms) {:?}; recall {:?}",
                total.elapsed().as_secs_f64(),
                result.result.convexity.score,
                result.result.convexity.sem,
                result.timings_ms,
                result.result.neighbour_graph.recall.as_ref().and_then(|r| r.recall)
            );
        }
        println!("  load average after: {}", load());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("approximate") {
        approximate_bench(&args[1..]);
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("kernel") {
        let args: Vec<usize> = std::env::args().skip(2).filter_map(|a| a.parse().ok()).collect();
        kernel_bench(args.first().copied().unwrap_or(4096), args.get(1).copied().unwrap_or(768));
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("memorization") {
        println!("threads: {}", rayon::current_num_threads());
        let write = args.iter().position(|a| a == "--write").map(|i| args.get(i + 1).expect("--write DIR").as_str());
        memorization_bench(write);
        return;
    }
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![100, 1000] } else { sizes };
    println!("threads: {}", rayon::current_num_threads());
    for per_class in sizes {
        let n = per_class * CLASSES;
        let (bytes, names) = synthetic(per_class);
        println!("n = {n} ({CLASSES} classes x {per_class}), d = {DIM}, k = 10, 5000 paths per class");
        let total = Instant::now();
        let x: Matrix = stage("read (.npy parse)", || read_file("bench.npy", &bytes).and_then(|f| f.matrix(None)).expect("valid npy"));
        let labels = Labels::from_strings(&names);
        let graph = stage("neighbours + graph", || NeighbourGraph::build(&x, 10, &mut silent()).expect("graph"));
        let options = GraphOptions::default();
        let result = stage("paths + scores (baseline 5)", || score_on_graph(&graph, &labels, &options, &mut silent()).expect("scores"));
        println!("  total {:.3} s; score {:.2} ± {:.2}, baseline {:.2}, exhaustive rows {}", total.elapsed().as_secs_f64(), result.score, result.sem, result.baseline.as_ref().map_or(f64::NAN, |b| b.mean), result.exhaustive_rows);
        let no_baseline = GraphOptions { baseline: 0, ..options };
        stage("paths + scores (baseline 0)", || score_on_graph(&graph, &labels, &no_baseline, &mut silent()).expect("scores"));
    }
}
