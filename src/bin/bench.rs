//! Benchmark of graph convexity by stage (read, neighbours, paths and scores): wall time and
//! peak resident memory per stage, on synthetic clustered embeddings.
//!
//! `cargo run --release --bin convexlens-bench -- [ROWS_PER_CLASS ...]` (default 100 1000;
//! 10 classes, d = 768, k = 10, 5000 paths per class, baseline 5 and 0).
//! `cargo run --release --bin convexlens-bench -- memorization`: the full memorization report
//! (group table, 100-model memorization, tracing of every dimension, both mitigations) on
//! 10,000 training + 2,000 test rows, d = 512, 2 classes, 4 groups.
//! Peak memory is VmHWM from /proc, reset before each stage through /proc/self/clear_refs.

use convexlens::data::{Labels, Matrix};
use convexlens::groups::GroupedData;
use convexlens::memorization::SubsetOptions;
use convexlens::memorization_report::{report, ReportOptions};
use convexlens::mitigation::{ConsistencyOptions, DfrOptions};
use convexlens::tracing::TracingOptions;
use convexlens::graph_convexity::{score_on_graph, GraphOptions, NeighbourGraph};
use convexlens::io::read_file;
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
    (npy_bytes(CLASSES * per_class, DIM, &data), labels)
}

fn npy_bytes(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    data.iter().for_each(|v| out.extend(v.to_le_bytes()));
    out
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
fn memorization_data() -> GroupedData {
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
    let x = Matrix::new(train + test, d, data).expect("sizes");
    let split = (0..train + test).map(|i| i < train).collect();
    GroupedData::new(x, Labels::from_strings(&labels), Some(&attrs), None, split, None).expect("groups")
}

fn memorization_bench() {
    let data = stage("generate 12,000 x 512", memorization_data);
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

fn main() {
    if std::env::args().nth(1).as_deref() == Some("memorization") {
        println!("threads: {}", rayon::current_num_threads());
        memorization_bench();
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
