//! Euclidean convexity (SPEC §2; Tětková et al. 2025): for pairs of rows of one class, the
//! share of evenly spaced points on the segment between them that a classifier assigns to
//! that class. The classifier is the user's head (linear or MLP) or a linear probe fitted here.

use crate::data::{Labels, Matrix};
use crate::error::{Error, Result};
use crate::heads::{argmax, Dense, Head};
use crate::logistic::{self, LogisticModel, LogisticOptions};
use crate::progress::Progress;
use crate::report::{self, ClassScore, SkippedClass};
use crate::rng::{Purpose, Rng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EuclideanOptions {
    /// Interior points per segment.
    pub n_points: usize,
    /// Largest number of unordered pairs per class; more are sampled down to this.
    pub n_paths: usize,
    pub seed: u64,
    /// Folds for the cross-fitted probe when no train/test split is given.
    pub folds: usize,
    pub probe: LogisticOptions,
}

impl Default for EuclideanOptions {
    fn default() -> Self {
        EuclideanOptions { n_points: 10, n_paths: 5000, seed: 0, folds: 5, probe: LogisticOptions::default() }
    }
}

/// Where the labels of segment points come from.
pub enum LabelSource<'a> {
    /// The user's head; `classes[j]` names its j-th output (default: the sorted labels).
    Head { head: &'a Head, classes: Option<Vec<String>> },
    /// A linear probe fitted here: on the rows marked `true` when a split is given (and
    /// scored on the others), else cross-fitted over folds.
    Probe { train: Option<&'a [bool]> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    /// Accuracy on rows the probe was not fitted on: the test rows, or each fold's rows
    /// for the probe fitted without that fold.
    pub held_out_accuracy: f64,
    pub held_out_rows: usize,
    pub scheme: String,
    pub probes_fitted: usize,
    pub all_converged: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EuclideanConvexity {
    pub score: f64,
    pub sem: f64,
    pub classes: Vec<ClassScore>,
    pub skipped: Vec<SkippedClass>,
    /// "linear head", "mlp head" or "linear probe".
    pub label_source: String,
    /// The head's class order, as used to name its outputs.
    pub head_classes: Vec<String>,
    /// Accuracy of the head (or probe, held out) on the scored rows' own labels.
    pub accuracy: f64,
    pub probe: Option<ProbeReport>,
    /// Rows the score is computed on (all, or the test rows of a split).
    pub rows_scored: usize,
}

pub fn euclidean_convexity(
    x: &Matrix,
    labels: &Labels,
    source: &LabelSource,
    options: &EuclideanOptions,
    progress: &mut dyn Progress,
) -> Result<EuclideanConvexity> {
    labels.check_rows(x.rows, "the label list")?;
    if options.n_points == 0 || options.n_paths == 0 {
        return Err(Error::input("points per segment and pairs per class must be at least 1"));
    }
    report::require_a_scored_class(labels)?;
    match source {
        LabelSource::Head { head, classes } => {
            if head.inputs() != x.cols {
                return Err(Error::input(format!(
                    "the head takes {} dimensions but the embeddings have {}",
                    head.inputs(),
                    x.cols
                )));
            }
            let head_classes = match classes {
                Some(c) => c.clone(),
                None => labels.classes.clone(),
            };
            if head_classes.len() != head.outputs() {
                return Err(Error::input(format!(
                    "the head has {} outputs but {} class names are known ({}); give the head's class order",
                    head.outputs(),
                    head_classes.len(),
                    if classes.is_some() { "given" } else { "the distinct labels" }
                )));
            }
            let output_code = output_codes(&head_classes, labels);
            let pairs = sample_pairs(labels, options);
            let rows: Vec<usize> = (0..x.rows).collect();
            let (scores, correct) = match head {
                Head::Linear(dense) => score_affine(x, labels, dense, &pairs, &rows, &output_code, options, progress)?,
                Head::Mlp { .. } => score_general(x, labels, head, &pairs, &output_code, options, progress)?,
            };
            let accuracy = correct as f64 / x.rows as f64;
            let kind = if matches!(head, Head::Linear(_)) { "linear head" } else { "mlp head" };
            Ok(finish(labels, scores, kind, head_classes, accuracy, None, x.rows))
        }
        LabelSource::Probe { train: Some(train) } => {
            if train.len() != x.rows {
                return Err(Error::input(format!("the split has {} rows but the embeddings have {}", train.len(), x.rows)));
            }
            let train_rows: Vec<usize> = (0..x.rows).filter(|&r| train[r]).collect();
            let test_rows: Vec<usize> = (0..x.rows).filter(|&r| !train[r]).collect();
            if train_rows.is_empty() || test_rows.is_empty() {
                return Err(Error::input("the split must mark some rows as train and some as test"));
            }
            progress.report("fitting probe", 0.0)?;
            let model = logistic::fit(x, &train_rows, &labels.codes, labels.num_classes(), &options.probe, None)?;
            let test_x = x.select_rows(&test_rows);
            let test_labels = labels.select_rows(&test_rows);
            let pairs = sample_pairs(&test_labels, options);
            let identity: Vec<Option<u32>> = (0..labels.num_classes() as u32).map(Some).collect();
            let all: Vec<usize> = (0..test_rows.len()).collect();
            let (scores, correct) =
                score_affine(&test_x, &test_labels, &model.to_dense(), &pairs, &all, &identity, options, progress)?;
            let accuracy = correct as f64 / test_rows.len() as f64;
            let probe = ProbeReport {
                held_out_accuracy: accuracy,
                held_out_rows: test_rows.len(),
                scheme: format!("fitted on {} train rows, scored on {} test rows", train_rows.len(), test_rows.len()),
                probes_fitted: 1,
                all_converged: model.converged,
            };
            Ok(finish(&test_labels, scores, "linear probe", labels.classes.clone(), accuracy, Some(probe), test_rows.len()))
        }
        LabelSource::Probe { train: None } => cross_fitted(x, labels, options, progress),
    }
}

/// Head output j → the class code it names, or None for a class absent from the labels.
fn output_codes(head_classes: &[String], labels: &Labels) -> Vec<Option<u32>> {
    head_classes
        .iter()
        .map(|name| labels.classes.iter().position(|c| c == name).map(|p| p as u32))
        .collect()
}

/// (class, a, b) for every scored unordered pair, a < b as rows.
struct Pair {
    class: u32,
    a: u32,
    b: u32,
}

/// SPEC §2.1: all m(m−1)/2 unordered pairs when at most `n_paths`, else `n_paths` drawn
/// without replacement (stream: EuclideanPairs, 0, class). Pair number p is the p-th pair
/// (i, j), i < j, in lexicographic order of member positions.
fn sample_pairs(labels: &Labels, options: &EuclideanOptions) -> Vec<Pair> {
    let mut pairs = Vec::new();
    for (c, members) in labels.members().iter().enumerate() {
        let m = members.len() as u64;
        if m < 2 {
            continue;
        }
        let total = m * (m - 1) / 2;
        let chosen: Vec<u64> = if total <= options.n_paths as u64 {
            (0..total).collect()
        } else {
            Rng::new(options.seed, Purpose::EuclideanPairs, 0, c as u32).sample_distinct(total, options.n_paths as u64)
        };
        // Pairs before first position i: i(2m − i − 1)/2.
        let offset = |i: u64| i * (2 * m - i - 1) / 2;
        for p in chosen {
            let (mut lo, mut hi) = (0u64, m - 1);
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if offset(mid) <= p {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let i = lo;
            let j = i + 1 + (p - offset(i));
            pairs.push(Pair { class: c as u32, a: members[i as usize] as u32, b: members[j as usize] as u32 });
        }
    }
    pairs
}

fn lambdas(n_points: usize) -> impl Iterator<Item = f64> {
    (1..=n_points).map(move |i| i as f64 / (n_points + 1) as f64)
}

fn row_f64(x: &Matrix, r: usize) -> Vec<f64> {
    x.row(r).iter().map(|&v| v as f64).collect()
}

/// Logits are affine in x, so along a segment they are λ·z_a + (1−λ)·z_b: one head
/// evaluation per row, then O(classes) per point. `rows` are the rows whose own prediction
/// counts toward the returned number correct.
#[allow(clippy::too_many_arguments)]
fn score_affine(
    x: &Matrix,
    labels: &Labels,
    head: &Dense,
    pairs: &[Pair],
    rows: &[usize],
    output_code: &[Option<u32>],
    options: &EuclideanOptions,
    progress: &mut dyn Progress,
) -> Result<(Vec<Vec<f64>>, usize)> {
    progress.report("head outputs", 0.0)?;
    let mut z = vec![Vec::new(); x.rows];
    let mut needed = vec![false; x.rows];
    rows.iter().for_each(|&r| needed[r] = true);
    pairs.iter().for_each(|p| {
        needed[p.a as usize] = true;
        needed[p.b as usize] = true;
    });
    for r in (0..x.rows).filter(|&r| needed[r]) {
        head.apply(&row_f64(x, r), &mut z[r]);
    }
    let correct = rows.iter().filter(|&&r| output_code[argmax(&z[r])] == Some(labels.codes[r])).count();
    progress.report("segments", 0.0)?;
    let mut scores = vec![Vec::new(); labels.num_classes()];
    let mut logits = vec![0.0; head.outputs()];
    for p in pairs {
        let (za, zb) = (&z[p.a as usize], &z[p.b as usize]);
        let hits = lambdas(options.n_points)
            .filter(|&l| {
                for (o, (a, b)) in logits.iter_mut().zip(za.iter().zip(zb)) {
                    *o = l * a + (1.0 - l) * b;
                }
                output_code[argmax(&logits)] == Some(p.class)
            })
            .count();
        scores[p.class as usize].push(hits as f64 / options.n_points as f64);
    }
    Ok((scores, correct))
}

/// Any head: evaluate it at every interior point.
fn score_general(
    x: &Matrix,
    labels: &Labels,
    head: &Head,
    pairs: &[Pair],
    output_code: &[Option<u32>],
    options: &EuclideanOptions,
    progress: &mut dyn Progress,
) -> Result<(Vec<Vec<f64>>, usize)> {
    let correct = (0..x.rows).filter(|&r| output_code[argmax(&head.logits(&row_f64(x, r)))] == Some(labels.codes[r])).count();
    let mut scores = vec![Vec::new(); labels.num_classes()];
    let mut point = vec![0.0; x.cols];
    for (i, p) in pairs.iter().enumerate() {
        if i % 256 == 0 {
            progress.report("segments", i as f64 / pairs.len() as f64)?;
        }
        let (xa, xb) = (x.row(p.a as usize), x.row(p.b as usize));
        let hits = lambdas(options.n_points)
            .filter(|&l| {
                for (v, (&a, &b)) in point.iter_mut().zip(xa.iter().zip(xb)) {
                    *v = l * a as f64 + (1.0 - l) * b as f64;
                }
                output_code[argmax(&head.logits(&point))] == Some(p.class)
            })
            .count();
        scores[p.class as usize].push(hits as f64 / options.n_points as f64);
    }
    Ok((scores, correct))
}

/// No split given: rows fall into `folds` stratified folds. A pair whose rows lie in folds f and g is scored by a
/// probe fitted without f and g, so neither endpoint was seen in fitting. Held-out accuracy:
/// each fold's rows under the probe fitted without that fold.
fn cross_fitted(x: &Matrix, labels: &Labels, options: &EuclideanOptions, progress: &mut dyn Progress) -> Result<EuclideanConvexity> {
    let k = options.folds;
    if k < 3 {
        return Err(Error::input("cross-fitting needs at least 3 folds (a pair from two folds leaves k−2 to fit on)"));
    }
    let fold = logistic::stratified_folds(labels, k, options.seed);
    let pairs = sample_pairs(labels, options);
    // Group the pairs by the folds they leave out; BTreeMap keeps the fitting order fixed.
    let mut by_excluded: BTreeMap<(usize, usize), Vec<Pair>> = BTreeMap::new();
    for f in 0..k {
        by_excluded.entry((f, f)).or_default();
    }
    for p in pairs {
        let (fa, fb) = (fold[p.a as usize], fold[p.b as usize]);
        by_excluded.entry((fa.min(fb), fa.max(fb))).or_default().push(p);
    }
    let identity: Vec<Option<u32>> = (0..labels.num_classes() as u32).map(Some).collect();
    let mut scores = vec![Vec::new(); labels.num_classes()];
    let mut correct = 0;
    let mut single_fold_models: Vec<Option<LogisticModel>> = vec![None; k];
    let mut all_converged = true;
    let total = by_excluded.len();
    for (i, ((f, g), group)) in by_excluded.iter().enumerate() {
        progress.report("fitting probes", i as f64 / total as f64)?;
        let train: Vec<usize> = (0..x.rows).filter(|&r| fold[r] != *f && fold[r] != *g).collect();
        let warm = single_fold_models[*f].as_ref();
        let model = logistic::fit(x, &train, &labels.codes, labels.num_classes(), &options.probe, warm)?;
        all_converged &= model.converged;
        let held_out: Vec<usize> = if f == g { (0..x.rows).filter(|&r| fold[r] == *f).collect() } else { Vec::new() };
        let (group_scores, group_correct) =
            score_affine(x, labels, &model.to_dense(), group, &held_out, &identity, options, &mut crate::progress::silent())?;
        correct += group_correct;
        for (all, part) in scores.iter_mut().zip(group_scores) {
            all.extend(part);
        }
        if f == g {
            single_fold_models[*f] = Some(model);
        }
    }
    let accuracy = correct as f64 / x.rows as f64;
    let probe = ProbeReport {
        held_out_accuracy: accuracy,
        held_out_rows: x.rows,
        scheme: format!("cross-fitted over {k} stratified folds; a pair is scored by a probe fitted without its rows' folds"),
        probes_fitted: total,
        all_converged,
    };
    Ok(finish(labels, scores, "linear probe", labels.classes.clone(), accuracy, Some(probe), x.rows))
}

fn finish(
    labels: &Labels,
    scores: Vec<Vec<f64>>,
    kind: &str,
    head_classes: Vec<String>,
    accuracy: f64,
    probe: Option<ProbeReport>,
    rows_scored: usize,
) -> EuclideanConvexity {
    let sizes: Vec<usize> = labels.members().iter().map(Vec::len).collect();
    let (classes, skipped) = report::summarise_classes(labels, &sizes, &scores);
    let (score, sem) = report::overall(&classes);
    EuclideanConvexity { score, sem, classes, skipped, label_source: kind.into(), head_classes, accuracy, probe, rows_scored }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::silent;

    #[test]
    fn unordered_pairs_decode_every_pair_once() {
        let labels = Labels::from_strings(&vec!["a"; 7]);
        let opts = EuclideanOptions::default();
        let pairs = sample_pairs(&labels, &opts);
        let got: Vec<(u32, u32)> = pairs.iter().map(|p| (p.a, p.b)).collect();
        let want: Vec<(u32, u32)> = (0..7).flat_map(|a| (a + 1..7).map(move |b| (a, b))).collect();
        assert_eq!(got, want);
        let sampled = sample_pairs(&Labels::from_strings(&vec!["a"; 200]), &EuclideanOptions { n_paths: 50, ..opts });
        assert_eq!(sampled.len(), 50);
        assert!(sampled.iter().all(|p| p.a < p.b && p.b < 200));
    }

    #[test]
    fn linear_head_on_a_line_counts_points_past_the_boundary() {
        // Class "0" at x = 0 and x = 10; class "1" at x = 4. The head says class 0 below x = 5.
        let x = Matrix::new(3, 1, vec![0.0, 10.0, 4.0]).unwrap();
        let labels = Labels::from_strings(&["0", "0", "1"]);
        let head = Head::Linear(Dense { weights: vec![-1.0, 1.0], bias: vec![5.0, -5.0], inputs: 1 });
        let src = LabelSource::Head { head: &head, classes: None };
        let r = euclidean_convexity(&x, &labels, &src, &EuclideanOptions::default(), &mut silent()).unwrap();
        // Points at 10·i/11 for i = 1..10: below 5 for i = 1..5, so 5 of 10 are class 0.
        assert_eq!(r.classes[0].score, 50.0);
        assert_eq!(r.skipped.len(), 1);
        // Only row 0 is right: x = 10 is predicted class 1, x = 4 class 0.
        assert!((r.accuracy - 1.0 / 3.0).abs() < 1e-12);
    }
}
