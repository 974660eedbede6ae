//! Property tests through the library API: graph convexity on synthetic data whose score
//! follows from the definition (SPEC §1), its invariances and determinism, duplicates,
//! cancellation, Euclidean convexity with a head and a probe (SPEC §2), and subsampling.
//!
//! Data come from a small deterministic generator (the crate's own ChaCha stream with
//! Box–Muller), so every test sees the same numbers on every machine.

use convexlens::data::{Labels, Matrix};
use convexlens::euclidean_convexity::{euclidean_convexity, EuclideanOptions, LabelSource};
use convexlens::graph_convexity::{graph_convexity, GraphConvexity, GraphOptions};
use convexlens::heads::{Dense, Head};
use convexlens::knn::knn_exact;
use convexlens::progress::silent;
use convexlens::rng::{Purpose, Rng};
use convexlens::Error;

// ---------------------------------------------------------------------------------------
// Data generator
// ---------------------------------------------------------------------------------------

/// Standard normal draws (Box–Muller) from the crate's seeded generator.
struct Gauss {
    rng: Rng,
    spare: Option<f64>,
}

impl Gauss {
    fn new(seed: u64) -> Gauss {
        // Any stream will do; tests own this seed space.
        Gauss { rng: Rng::new(seed, Purpose::Noise, 77, 77), spare: None }
    }

    fn next(&mut self) -> f64 {
        if let Some(v) = self.spare.take() {
            return v;
        }
        // 1 − u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.rng.next_f64();
        let u2 = self.rng.next_f64();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(r * t.sin());
        r * t.cos()
    }
}

/// Rows of `n` points around `centre` with standard deviation `sd` per coordinate.
fn blob(g: &mut Gauss, centre: &[f64], n: usize, sd: f64, out: &mut Vec<f32>) {
    for _ in 0..n {
        for &c in centre {
            out.push((c + sd * g.next()) as f32);
        }
    }
}

/// Builds a data set from (centre, rows, label) blobs, in that order.
fn blobs(seed: u64, spec: &[(Vec<f64>, usize, &str)], sd: f64) -> (Matrix, Labels) {
    let d = spec[0].0.len();
    let mut g = Gauss::new(seed);
    let mut data = Vec::new();
    let mut names = Vec::new();
    for (centre, n, label) in spec {
        blob(&mut g, centre, *n, sd, &mut data);
        names.extend(std::iter::repeat_n(label.to_string(), *n));
    }
    let rows = names.len();
    (Matrix::new(rows, d, data).unwrap(), Labels::from_strings(&names))
}

/// `value` along axis `axis` of a `d`-vector, zero elsewhere.
fn axis_point(d: usize, axis: usize, value: f64) -> Vec<f64> {
    let mut p = vec![0.0; d];
    p[axis] = value;
    p
}

fn options(k: usize, n_paths: usize, seed: u64, baseline: usize) -> GraphOptions {
    GraphOptions { k, n_paths, seed, baseline }
}

fn gc(x: &Matrix, labels: &Labels, o: &GraphOptions) -> GraphConvexity {
    graph_convexity(x, labels, o, &mut silent()).unwrap_or_else(|e| panic!("{e}"))
}

fn class<'a>(r: &'a GraphConvexity, label: &str) -> &'a convexlens::report::ClassScore {
    r.classes.iter().find(|c| c.label == label).unwrap_or_else(|| panic!("no class {label} in {:?}", r.classes))
}

fn map_rows(x: &Matrix, f: impl Fn(&[f32]) -> Vec<f32>) -> Matrix {
    let data = (0..x.rows).flat_map(|i| f(x.row(i))).collect();
    Matrix::new(x.rows, x.cols, data).unwrap()
}

/// A random orthogonal d×d matrix (Gram–Schmidt on Gaussian columns, in f64), row-major.
fn random_rotation(d: usize, seed: u64) -> Vec<f64> {
    let mut g = Gauss::new(seed);
    let mut basis: Vec<Vec<f64>> = Vec::new();
    while basis.len() < d {
        let mut v: Vec<f64> = (0..d).map(|_| g.next()).collect();
        for b in &basis {
            let dot: f64 = v.iter().zip(b).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(b).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 1e-6 {
            basis.push(v.into_iter().map(|a| a / norm).collect());
        }
    }
    // Check orthogonality, so a wrong rotation cannot pass as an invariance.
    for i in 0..d {
        for j in 0..d {
            let dot: f64 = basis[i].iter().zip(&basis[j]).map(|(a, b)| a * b).sum();
            assert!((dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
        }
    }
    basis.into_iter().flatten().collect()
}

// ---------------------------------------------------------------------------------------
// 1. Well-separated blobs
// ---------------------------------------------------------------------------------------

#[test]
fn well_separated_blobs_score_exactly_100() {
    let d = 8;
    // Centres 100 apart along the first axis; within-blob sd 1.
    let spec: Vec<(Vec<f64>, usize, &str)> =
        ["a", "b", "c", "d"].iter().enumerate().map(|(i, &l)| (axis_point(d, 0, 100.0 * i as f64), 30, l)).collect();
    let (x, labels) = blobs(1, &spec, 1.0);
    let r = gc(&x, &labels, &options(10, 5000, 0, 3));
    assert_eq!(r.classes.len(), 4);
    assert!(r.skipped.is_empty());
    for c in &r.classes {
        assert_eq!(c.n, 30);
        assert_eq!(c.pairs, 30 * 29, "all ordered pairs used");
        assert_eq!(c.score, 100.0, "class {}: {c:?}", c.label);
        assert_eq!(c.sem, 0.0, "class {}: {c:?}", c.label);
    }
    assert_eq!(r.score, 100.0);
    assert_eq!(r.sem, 0.0);
    assert_eq!(r.pooled_mean, 100.0);
    // 10 neighbours among 29 same-blob rows: each blob is its own component.
    assert_eq!(r.components, 4);
    assert_eq!(r.no_path, 0);
    // Label permutations destroy the structure, so the baseline is far below 100.
    let b = r.baseline.as_ref().unwrap();
    assert_eq!(b.permutations, 3);
    assert!(b.mean < 60.0 && b.expected < 60.0, "{b:?}");
    assert!((b.lift - (100.0 - b.mean)).abs() < 1e-12);
}

// ---------------------------------------------------------------------------------------
// 2. One class split into two far clusters
// ---------------------------------------------------------------------------------------

#[test]
fn class_split_in_two_far_clusters_scores_about_half() {
    // A: two clusters of 30 with centres 1000 apart; B: a cluster of 30 elsewhere (1000 from
    // both). Each row's 10 nearest neighbours lie in its own cluster (29 rows at distance
    // ~1 against ≥ ~1000 for any other), so the union graph has exactly 3 components, one
    // per cluster. Class A has 60·59 = 3540 ordered pairs (≤ 5000: all used):
    //   within-cluster pairs 2·30·29 = 1740: the path stays in the cluster, all interior
    //     nodes are A (or the pair is adjacent) → score 1;
    //   cross-cluster pairs 2·30·30 = 1800: different components → no path → score 0.
    // So A's score is exactly 100·1740/3540 ≈ 49.15, and B's is 100.
    let d = 4;
    let spec = vec![
        (axis_point(d, 0, 0.0), 30, "A"),
        (axis_point(d, 0, 1000.0), 30, "A"),
        (axis_point(d, 1, 1000.0), 30, "B"),
    ];
    let (x, labels) = blobs(2, &spec, 1.0);
    let r = gc(&x, &labels, &options(10, 5000, 0, 0));
    let a = class(&r, "A");
    let b = class(&r, "B");
    assert_eq!(a.pairs, 3540);
    assert_eq!(b.pairs, 870);
    assert!((45.0..=55.0).contains(&a.score), "{a:?}");
    assert!((a.score - 100.0 * 1740.0 / 3540.0).abs() < 1e-9, "{a:?}");
    assert_eq!(b.score, 100.0);
    assert_eq!(r.components, 3);
    assert_eq!(r.no_path, 1800, "only A's cross-cluster pairs (real labels) lack a path");
    // Pair scores are 1740 ones and 1800 zeros: sd (ddof 1) is known in closed form.
    let p: f64 = 1740.0 / 3540.0;
    let sd = (p * (1.0 - p) * 3540.0 / 3539.0).sqrt();
    assert!((a.sem - 100.0 * sd / 60f64.sqrt()).abs() < 1e-9, "{a:?}");
    // Pooled over all 4410 scored paths: 1740 + 870 ones.
    assert!((r.pooled_mean - 100.0 * 2610.0 / 4410.0).abs() < 1e-9);
    // Per-class chance level (ours), closed form from the graph: P(adjacent) + P(connected,
    // not adjacent)·(m−2)/(n−2), with n = 90 and three components of 30.
    let (n, e) = (90.0, r.edges as f64);
    let adjacent = 2.0 * e / (n * (n - 1.0));
    let connected = 3.0 * 30.0 * 29.0 / (n * (n - 1.0));
    for (c, m) in [(a, 60.0), (b, 30.0)] {
        let want = 100.0 * (adjacent + (connected - adjacent) * (m - 2.0) / (n - 2.0));
        let got = c.baseline.unwrap();
        assert!((got - want).abs() < 1e-9, "{}: baseline {got}, want {want}", c.label);
    }
    assert!(r.baseline.is_none(), "no permutations were asked for");
}

// ---------------------------------------------------------------------------------------
// 3. Random labels
// ---------------------------------------------------------------------------------------

#[test]
fn random_labels_score_near_the_class_prior_and_baseline_matches_expectation() {
    let (n, d) = (400, 10);
    let (x, _) = blobs(3, &[(vec![0.0; d], n, "x")], 1.0);
    // Balanced random labels: 100 of each, shuffled.
    let mut names: Vec<String> = (0..n).map(|i| format!("c{}", i % 4)).collect();
    Rng::new(3, Purpose::Noise, 1, 1).shuffle(&mut names);
    let labels = Labels::from_strings(&names);
    let r = gc(&x, &labels, &options(10, 5000, 0, 20));
    assert_eq!(r.classes.len(), 4);
    for c in &r.classes {
        assert_eq!(c.pairs, 5000, "100·99 pairs are sampled down to n_paths");
    }
    assert!((r.score - 25.0).abs() <= 8.0, "score {} should be near the prior 25", r.score);
    let b = r.baseline.as_ref().unwrap();
    assert_eq!(b.permutations, 20);
    assert_eq!(b.scores.len(), 20);
    assert!((b.mean - b.expected).abs() <= 3.0, "permutation mean {} vs closed form {}", b.mean, b.expected);
    // Random labels carry no structure: the real score is within the permutation spread.
    assert!(r.score > b.mean - 4.0 * b.sd - 1.0 && r.score < b.mean + 4.0 * b.sd + 1.0, "{} vs {b:?}", r.score);
}

// ---------------------------------------------------------------------------------------
// 4. Invariances
// ---------------------------------------------------------------------------------------

/// Three overlapping classes (71, 60 and 50 rows: all ordered pairs used, 71·70 = 4970 ≤
/// 5000), so the scores are neither 0 nor 100 and depend on the geometry.
fn overlapping_classes() -> (Matrix, Labels) {
    let d = 5;
    let spec = vec![
        (axis_point(d, 0, 0.0), 71, "p"),
        (axis_point(d, 0, 2.0), 60, "q"),
        (axis_point(d, 1, 2.0), 50, "r"),
    ];
    blobs(4, &spec, 1.0)
}

fn assert_same_scores(a: &GraphConvexity, b: &GraphConvexity, tol: f64, what: &str) {
    assert_eq!(a.classes.len(), b.classes.len());
    for (ca, cb) in a.classes.iter().zip(&b.classes) {
        assert_eq!(ca.label, cb.label);
        assert_eq!(ca.pairs, cb.pairs);
        assert!((ca.score - cb.score).abs() <= tol, "{what}: class {} {} vs {}", ca.label, ca.score, cb.score);
        assert!((ca.sem - cb.sem).abs() <= tol, "{what}: class {} sem {} vs {}", ca.label, ca.sem, cb.sem);
    }
    assert!((a.score - b.score).abs() <= tol, "{what}: {} vs {}", a.score, b.score);
}

#[test]
fn scores_are_invariant_to_scaling_translation_and_rotation() {
    let (x, labels) = overlapping_classes();
    let o = options(10, 5000, 0, 0);
    let base = gc(&x, &labels, &o);
    for c in &base.classes {
        assert_eq!(c.pairs, c.n * (c.n - 1), "all pairs used");
        assert!(c.score > 20.0 && c.score < 99.0, "scores should be non-trivial: {c:?}");
    }
    let scaled = map_rows(&x, |r| r.iter().map(|&v| v * 3.7).collect());
    assert_same_scores(&base, &gc(&scaled, &labels, &o), 1e-9, "scaled by 3.7");

    let shift = [5.0f32, -3.0, 12.5, 0.25, -7.0];
    let translated = map_rows(&x, |r| r.iter().zip(&shift).map(|(v, s)| v + s).collect());
    assert_same_scores(&base, &gc(&translated, &labels, &o), 1e-9, "translated");

    let d = x.cols;
    let q = random_rotation(d, 44);
    let rotated = map_rows(&x, |r| {
        (0..d).map(|i| (0..d).map(|j| q[i * d + j] * r[j] as f64).sum::<f64>() as f32).collect()
    });
    assert_same_scores(&base, &gc(&rotated, &labels, &o), 1e-9, "rotated");
}

/// The rows `order` of `x` with their labels.
fn permute_rows(x: &Matrix, labels: &Labels, order: &[usize]) -> (Matrix, Labels) {
    (x.select_rows(order), labels.select_rows(order))
}

fn shuffled_order(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed, Purpose::Noise, 2, 2).shuffle(&mut order);
    order
}

#[test]
fn row_order_does_not_change_scores_when_all_pairs_are_used() {
    let (x, labels) = overlapping_classes();
    let o = options(10, 5000, 0, 0);
    let base = gc(&x, &labels, &o);
    let (px, pl) = permute_rows(&x, &labels, &shuffled_order(x.rows, 5));
    let permuted = gc(&px, &pl, &o);
    // The same pairs give the same paths; only the order of summation differs.
    assert_same_scores(&base, &permuted, 1e-9, "rows permuted");
    assert_eq!(base.edges, permuted.edges);
    assert_eq!(base.components, permuted.components);
    assert_eq!(base.no_path, permuted.no_path);
}

/// Class "big" of 120 rows (14 280 ordered pairs, sampled down) around the origin, and class
/// "small" of 60 rows 3.5 sd away: most of big's paths stay inside big, so its pair scores
/// vary little and a 500-pair sample estimates the class score tightly.
fn sampled_regime() -> (Matrix, Labels) {
    let d = 4;
    blobs(6, &[(axis_point(d, 0, 0.0), 120, "big"), (axis_point(d, 0, 3.5), 60, "small")], 1.0)
}

/// Sampling error bound for the difference of two 500-pair estimates of class `label`,
/// from the spread of its pair scores over all pairs: 4 standard deviations, in points.
fn four_sigma_of_difference(x: &Matrix, labels: &Labels, label: &str, n_paths: usize) -> f64 {
    let full = gc(x, labels, &options(10, 1_000_000, 0, 0));
    let c = class(&full, label);
    assert_eq!(c.pairs, c.n * (c.n - 1));
    // sem = 100·sd/√n  →  sd of the pair scores, in points.
    let sd_points = c.sem * (c.n as f64).sqrt();
    4.0 * (2.0f64).sqrt() * sd_points / (n_paths as f64).sqrt()
}

#[test]
fn row_order_in_the_sampled_regime_changes_scores_only_by_sampling_error() {
    let (x, labels) = sampled_regime();
    let n_paths = 500;
    let bound = four_sigma_of_difference(&x, &labels, "big", n_paths);
    // The brief's 3-point tolerance is only meaningful if it exceeds the sampling noise.
    assert!(bound <= 3.0, "data too noisy for a 3-point tolerance: 4σ = {bound}");
    let o = options(10, n_paths, 0, 0);
    let base = gc(&x, &labels, &o);
    assert_eq!(class(&base, "big").pairs, 500);
    let (px, pl) = permute_rows(&x, &labels, &shuffled_order(x.rows, 7));
    let permuted = gc(&px, &pl, &o);
    let (s0, s1) = (class(&base, "big").score, class(&permuted, "big").score);
    assert!((s0 - s1).abs() <= 3.0, "big: {s0} vs {s1} after permuting rows");
    // The geometry is the same graph, relabelled.
    assert_eq!(base.edges, permuted.edges);
    assert_eq!(base.components, permuted.components);
}

// ---------------------------------------------------------------------------------------
// 5. Determinism
// ---------------------------------------------------------------------------------------

#[test]
fn same_seed_is_bitwise_identical_and_another_seed_samples_other_pairs() {
    let (x, labels) = sampled_regime();
    let o = options(10, 500, 42, 4);
    let first = serde_json::to_string(&gc(&x, &labels, &o)).unwrap();
    let second = serde_json::to_string(&gc(&x, &labels, &o)).unwrap();
    assert_eq!(first, second, "same seed, same inputs: identical results");
    // Also bitwise on a fresh thread pool size would be nice; at least run it again in parallel.
    let third = std::thread::spawn({
        let (x, labels, o) = (x.clone(), labels.clone(), o.clone());
        move || serde_json::to_string(&gc(&x, &labels, &o)).unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(first, third);

    let a = gc(&x, &labels, &o);
    let b = gc(&x, &labels, &GraphOptions { seed: 43, ..o.clone() });
    assert!(
        a.classes.iter().zip(&b.classes).any(|(p, q)| p.score != q.score),
        "another seed should sample other pairs: {:?} vs {:?}",
        a.classes,
        b.classes
    );
    let bound = four_sigma_of_difference(&x, &labels, "big", 500);
    assert!(bound <= 3.0, "4σ = {bound}");
    let (sa, sb) = (class(&a, "big").score, class(&b, "big").score);
    assert!((sa - sb).abs() <= bound.max(1e-9), "big: seed 42 {sa} vs seed 43 {sb} (4σ = {bound})");
    // The graph does not depend on the seed.
    assert_eq!((a.edges, a.components), (b.edges, b.components));
}

// ---------------------------------------------------------------------------------------
// 6. Duplicated rows
// ---------------------------------------------------------------------------------------

#[test]
fn duplicated_rows_work_and_twins_are_not_neighbours() {
    let (x, labels) = overlapping_classes();
    let n = x.rows;
    // Every row twice: row i and row i + n are twins.
    let mut data = x.data.clone();
    data.extend_from_slice(&x.data);
    let doubled = Matrix::new(2 * n, x.cols, data).unwrap();
    let mut codes = labels.codes.clone();
    codes.extend_from_slice(&labels.codes);
    let doubled_labels = Labels { classes: labels.classes.clone(), codes };

    let k = 10;
    let knn = knn_exact(&doubled, k, &mut silent()).unwrap();
    for i in 0..2 * n {
        let twin = (i + n) % (2 * n);
        let list = &knn.neighbors[i];
        assert!(!list.iter().any(|&(j, _)| j as usize == i), "row {i} lists itself");
        assert!(!list.iter().any(|&(j, _)| j as usize == twin), "row {i} lists its twin {twin}");
        assert!(list.iter().all(|&(_, dist)| dist > 0.0));
        // SPEC §1.1: the k+1 nearest (self and twin at distance 0 among them), zeros dropped.
        assert_eq!(list.len(), k - 1, "row {i}: {list:?}");
        // A row and its twin see the same neighbours at the same distances, modulo twins.
        let other = &knn.neighbors[twin];
        let canon = |l: &Vec<(u32, f64)>| {
            let mut v: Vec<(usize, u64)> = l.iter().map(|&(j, d)| (j as usize % n, d.to_bits())).collect();
            v.sort();
            v
        };
        assert_eq!(canon(list), canon(other), "row {i} vs twin {twin}");
    }

    let r = gc(&doubled, &doubled_labels, &options(k, 5000, 0, 2));
    assert!((0.0..=100.0).contains(&r.score), "{}", r.score);
    for c in &r.classes {
        assert!((0.0..=100.0).contains(&c.score) && c.sem.is_finite(), "{c:?}");
        assert_eq!(c.n % 2, 0);
    }
    assert!(r.baseline.as_ref().unwrap().scores.iter().all(|s| (0.0..=100.0).contains(s)));
}

// ---------------------------------------------------------------------------------------
// 7. Cancellation
// ---------------------------------------------------------------------------------------

#[test]
fn cancelling_on_the_third_report_stops_the_run() {
    let (x, labels) = overlapping_classes();
    let o = options(10, 5000, 0, 2);
    let mut calls = 0usize;
    let mut stages = Vec::new();
    let mut cancel = |stage: &str, f: f64| -> convexlens::Result<()> {
        calls += 1;
        stages.push((stage.to_string(), f));
        assert!((0.0..=1.0).contains(&f), "fraction {f} out of range at {stage}");
        if calls == 3 {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    };
    let r = graph_convexity(&x, &labels, &o, &mut cancel);
    assert_eq!(r, Err(Error::Cancelled), "stages seen: {stages:?}");
    assert_eq!(calls, 3, "no report after cancelling: {stages:?}");
    // Nothing is left in a broken state: a later run completes.
    let again = graph_convexity(&x, &labels, &o, &mut silent()).unwrap();
    assert_eq!(again, gc(&x, &labels, &o));
}

#[test]
fn cancelling_at_any_report_returns_cancelled() {
    // Count the reports of a full run, then cancel at each of them in turn.
    let (x, labels) = overlapping_classes();
    let o = options(5, 5000, 0, 1);
    let mut total = 0usize;
    graph_convexity(&x, &labels, &o, &mut |_: &str, _: f64| -> convexlens::Result<()> {
        total += 1;
        Ok(())
    })
    .unwrap();
    assert!(total >= 3, "only {total} progress reports");
    for stop in 1..=total {
        let mut calls = 0;
        let r = graph_convexity(&x, &labels, &o, &mut |_: &str, _: f64| -> convexlens::Result<()> {
            calls += 1;
            if calls == stop { Err(Error::Cancelled) } else { Ok(()) }
        });
        assert_eq!(r, Err(Error::Cancelled), "cancel at report {stop} of {total}");
    }
}

// ---------------------------------------------------------------------------------------
// 8. Euclidean convexity
// ---------------------------------------------------------------------------------------

/// Two classes on either side of the hyperplane x₀ = 0: "neg" has x₀ ∈ [−6, −1], "pos" has
/// x₀ ∈ [1, 6]; other coordinates Gaussian.
fn half_spaces() -> (Matrix, Labels) {
    let (n, d) = (40, 3);
    let mut g = Gauss::new(8);
    let mut rng = Rng::new(8, Purpose::Noise, 3, 3);
    let mut data = Vec::new();
    let mut names = Vec::new();
    for i in 0..n {
        let side = if i % 2 == 0 { -1.0 } else { 1.0 };
        data.push((side * (1.0 + 5.0 * rng.next_f64())) as f32);
        for _ in 1..d {
            data.push((3.0 * g.next()) as f32);
        }
        names.push(if side < 0.0 { "neg" } else { "pos" });
    }
    (Matrix::new(n, d, data).unwrap(), Labels::from_strings(&names))
}

#[test]
fn linear_head_on_separated_half_spaces() {
    let (x, labels) = half_spaces();
    assert_eq!(labels.classes, vec!["neg", "pos"]);
    // Output 0 = −x₀, output 1 = x₀: output 0 wins exactly where x₀ < 0.
    let head = Head::Linear(Dense { weights: vec![-1.0, 0.0, 0.0, 1.0, 0.0, 0.0], bias: vec![0.0, 0.0], inputs: 3 });
    let o = EuclideanOptions::default();
    let src = LabelSource::Head { head: &head, classes: None };
    let r = euclidean_convexity(&x, &labels, &src, &o, &mut silent()).unwrap();
    assert_eq!(r.label_source, "linear head");
    assert_eq!(r.head_classes, vec!["neg", "pos"]);
    for c in &r.classes {
        assert_eq!(c.score, 100.0, "a half-space is convex: {c:?}");
        assert_eq!(c.sem, 0.0);
        assert_eq!(c.pairs, 20 * 19 / 2, "unordered pairs, all used");
    }
    assert_eq!(r.score, 100.0);
    assert_eq!(r.accuracy, 1.0);
    assert_eq!(r.rows_scored, 40);

    // The same head read with its outputs named the other way round: every point of every
    // segment is assigned to the other class.
    let swapped = LabelSource::Head { head: &head, classes: Some(vec!["pos".into(), "neg".into()]) };
    let r = euclidean_convexity(&x, &labels, &swapped, &o, &mut silent()).unwrap();
    assert_eq!(r.head_classes, vec!["pos", "neg"]);
    for c in &r.classes {
        assert_eq!(c.score, 0.0, "{c:?}");
    }
    assert_eq!(r.score, 0.0);
    assert_eq!(r.accuracy, 0.0);
}

#[test]
fn probe_on_well_separated_blobs() {
    let d = 6;
    let spec: Vec<(Vec<f64>, usize, &str)> =
        ["a", "b", "c"].iter().enumerate().map(|(i, &l)| (axis_point(d, i, 10.0), 40, l)).collect();
    let (x, labels) = blobs(9, &spec, 1.0);
    let o = EuclideanOptions::default();

    let r = euclidean_convexity(&x, &labels, &LabelSource::Probe { train: None }, &o, &mut silent()).unwrap();
    assert_eq!(r.label_source, "linear probe");
    assert!(r.score >= 95.0, "{r:?}");
    let p = r.probe.as_ref().unwrap();
    assert!(p.held_out_accuracy >= 0.95, "{p:?}");
    assert_eq!(p.held_out_rows, 120);
    assert_eq!(r.rows_scored, 120);
    // 5 folds: one probe per unordered pair of folds, including a fold with itself.
    assert_eq!(p.probes_fitted, 15);

    // Train on even rows, score the odd ones.
    let train: Vec<bool> = (0..x.rows).map(|i| i % 2 == 0).collect();
    let test_rows = train.iter().filter(|&&t| !t).count();
    let r = euclidean_convexity(&x, &labels, &LabelSource::Probe { train: Some(&train) }, &o, &mut silent()).unwrap();
    assert_eq!(r.rows_scored, test_rows);
    assert_eq!(r.rows_scored, 60);
    let p = r.probe.as_ref().unwrap();
    assert_eq!(p.held_out_rows, test_rows);
    assert_eq!(p.probes_fitted, 1);
    assert!(p.held_out_accuracy >= 0.95, "{p:?}");
    assert!(r.score >= 95.0, "{r:?}");
    // Class sizes and pairs are those of the test rows only: 20 per class.
    for c in &r.classes {
        assert_eq!(c.n, 20, "{c:?}");
        assert_eq!(c.pairs, 20 * 19 / 2);
    }
}

// ---------------------------------------------------------------------------------------
// 9. Stratified subsampling
// ---------------------------------------------------------------------------------------

#[test]
fn stratified_subsample_caps_classes_and_is_deterministic() {
    // Sizes 50, 7, 20 interleaved.
    let mut names = Vec::new();
    names.extend(std::iter::repeat_n("a", 50));
    names.extend(std::iter::repeat_n("b", 7));
    names.extend(std::iter::repeat_n("c", 20));
    Rng::new(10, Purpose::Noise, 4, 4).shuffle(&mut names);
    let labels = Labels::from_strings(&names);

    let rows = labels.stratified_subsample(10, 3).expect("class a and c exceed 10");
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
    assert!(rows.iter().all(|&r| r < labels.len()));
    let mut per_class = [0usize; 3];
    for &r in &rows {
        per_class[labels.codes[r] as usize] += 1;
    }
    assert_eq!(per_class, [10, 7, 10], "at most 10 per class; small classes kept whole");
    assert_eq!(labels.stratified_subsample(10, 3), Some(rows.clone()), "deterministic for a seed");
    let other = labels.stratified_subsample(10, 4).unwrap();
    assert_ne!(other, rows, "another seed draws other rows");
    assert_eq!(other.len(), rows.len());

    assert_eq!(labels.stratified_subsample(50, 3), None, "no class exceeds 50");
    assert_eq!(labels.stratified_subsample(1000, 3), None);
    let just = labels.stratified_subsample(49, 3).unwrap();
    assert_eq!(just.len(), 49 + 7 + 20);

    // The subsample feeds the scores: the selected rows carry their own labels.
    let sub = labels.select_rows(&rows);
    assert_eq!(sub.classes, labels.classes);
    assert!(sub.members().iter().all(|m| m.len() <= 10));
}

#[test]
fn the_warm_up_run_scores_its_overlapping_classes() {
    // Classes differ by one unit in one coordinate against unit noise in 128: far from
    // separated, but above chance (1/8 plus direct edges).
    let (score, by_phases) = convexlens::graph_convexity::warm_up().unwrap();
    assert!(score > 15.0 && score < 95.0, "{score}");
    assert_eq!(score, by_phases, "the pool's phases give the whole run's score");
}

#[test]
fn each_pair_scores_as_the_search_from_its_drawn_source_would() {
    // The plan starts each search from whichever end of a pair is sparser; a path's score
    // depends only on its interior, so every class score must equal a plain search from the
    // first row of each ordered pair (all pairs are used, so none is sampled away).
    let (x, labels) = overlapping_classes();
    let o = options(5, usize::MAX, 0, 0);
    let result = gc(&x, &labels, &o);
    let graph = convexlens::graph_convexity::NeighbourGraph::build(&x, o.k, &mut silent()).unwrap().graph;
    let mut search = convexlens::graph::ShortestPaths::new(x.rows);
    let mut interior = Vec::new();
    for (c, members) in labels.members().iter().enumerate() {
        let mut total = 0.0;
        for &a in members {
            let others: Vec<u32> = members.iter().filter(|&&b| b != a).map(|&b| b as u32).collect();
            search.run(&graph, a, &others);
            for &b in &others {
                total += match search.interior(b as usize, &mut interior) {
                    None => 0.0,
                    Some(()) if interior.is_empty() => 1.0,
                    Some(()) => interior.iter().filter(|&&v| labels.codes[v as usize] == c as u32).count() as f64 / interior.len() as f64,
                };
            }
        }
        let expected = 100.0 * total / (members.len() * (members.len() - 1)) as f64;
        let got = class(&result, &labels.classes[c]).score;
        assert!((got - expected).abs() < 1e-9, "class {}: {got} vs {expected}", labels.classes[c]);
    }
}
