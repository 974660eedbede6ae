//! The shapes of results (SPEC §6): per-class scores, skipped classes, chance baselines, and
//! the envelope that records inputs, parameters, timings and warnings. Shared by every score.

use crate::data::Labels;
use crate::stats::{mean, std_dev};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Version of the JSON result layout; bump on any incompatible change.
pub const SCHEMA: &str = "convexlens.result/1";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScore {
    /// The class as the user wrote it.
    pub label: String,
    /// Rows of this class (after any subsampling).
    pub n: usize,
    /// Pairs scored (ordered for graph convexity, unordered for Euclidean).
    pub pairs: usize,
    /// 100 × mean pair score.
    pub score: f64,
    /// 100 × sd(pair scores, ddof 1) / √n, as the authors report (÷ points, not pairs).
    pub sem: f64,
    /// Chance level of this class: its exact expected score under random label
    /// permutations, on the same graph (ours, not the paper's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedClass {
    pub label: String,
    pub n: usize,
    pub reason: String,
}

/// Chance level from label permutations on the same geometry (ours, not the paper's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    /// Exact expectation over all permutations (mean of the class expectations).
    pub expected: f64,
    pub permutations: usize,
    /// Mean and sd (ddof 1) over permutations of the overall score.
    pub mean: f64,
    pub sd: f64,
    /// Overall score of each permutation.
    pub scores: Vec<f64>,
    /// Real overall score minus `mean`.
    pub lift: f64,
}

/// Errors when no class has the two rows a pair needs, so no score can exist.
pub fn require_a_scored_class(labels: &Labels) -> crate::error::Result<()> {
    if labels.members().iter().all(|m| m.len() < 2) {
        return Err(crate::error::Error::input(format!(
            "no class has two or more rows ({} rows, {} classes): there are no pairs to score",
            labels.len(),
            labels.num_classes()
        )));
    }
    Ok(())
}

/// Per-class summaries of per-pair scores in [0, 1], with classes of fewer than two rows
/// skipped. `pair_scores[c]` is empty for a skipped class.
pub fn summarise_classes(labels: &Labels, sizes: &[usize], pair_scores: &[Vec<f64>]) -> (Vec<ClassScore>, Vec<SkippedClass>) {
    let mut classes = Vec::new();
    let mut skipped = Vec::new();
    for (c, scores) in pair_scores.iter().enumerate() {
        let label = labels.classes[c].clone();
        if sizes[c] < 2 {
            skipped.push(SkippedClass {
                label,
                n: sizes[c],
                reason: "fewer than two rows, so no pairs".into(),
            });
            continue;
        }
        let sd = std_dev(scores);
        classes.push(ClassScore {
            label,
            n: sizes[c],
            pairs: scores.len(),
            score: 100.0 * mean(scores),
            sem: if sd.is_nan() { 0.0 } else { 100.0 * sd / (sizes[c] as f64).sqrt() },
            baseline: None,
        });
    }
    (classes, skipped)
}

/// Unweighted mean of class scores and its standard error from the class SEMs, treating
/// classes as independent (the combined SEM is ours, not the paper's).
pub fn overall(classes: &[ClassScore]) -> (f64, f64) {
    if classes.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let c = classes.len() as f64;
    let score = classes.iter().map(|k| k.score).sum::<f64>() / c;
    let sem = classes.iter().map(|k| k.sem * k.sem).sum::<f64>().sqrt() / c;
    (score, sem)
}

pub fn baseline(real_score: f64, permuted_scores: Vec<f64>, expected: f64) -> Option<Baseline> {
    if permuted_scores.is_empty() {
        return None;
    }
    let m = mean(&permuted_scores);
    Some(Baseline {
        expected,
        permutations: permuted_scores.len(),
        mean: m,
        sd: if permuted_scores.len() > 1 { std_dev(&permuted_scores) } else { 0.0 },
        scores: permuted_scores,
        lift: real_score - m,
    })
}

/// One input file as recorded in a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputRecord {
    pub file: String,
    pub role: String,
    pub shape: Vec<usize>,
    pub sha256: String,
}

impl InputRecord {
    pub fn new(file: &str, role: &str, shape: Vec<usize>, sha256: String) -> InputRecord {
        InputRecord { file: file.to_string(), role: role.to_string(), shape, sha256 }
    }
}

/// Lower-case hex SHA-256 of a file's bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// CSV of the per-class table (label, n, pairs, score, sem, baseline), for export.
pub fn classes_csv(classes: &[ClassScore]) -> String {
    let mut out = String::from("label,n,pairs,score,sem,baseline\n");
    for c in classes {
        let label = if c.label.contains([',', '"', '\n']) {
            format!("\"{}\"", c.label.replace('"', "\"\""))
        } else {
            c.label.clone()
        };
        let baseline = c.baseline.map(|b| b.to_string()).unwrap_or_default();
        out.push_str(&format!("{label},{},{},{},{},{baseline}\n", c.n, c.pairs, c.score, c.sem));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_summary_divides_by_points_and_skips_singletons() {
        let labels = Labels::from_strings(&["a", "a", "a", "a", "b"]);
        let scores = vec![vec![1.0, 0.0, 1.0, 0.0], vec![]];
        let (classes, skipped) = summarise_classes(&labels, &[4, 1], &scores);
        assert_eq!(classes.len(), 1);
        assert_eq!(classes[0].score, 50.0);
        // sd(ddof 1) of [1,0,1,0] = 0.57735; / √4 points.
        assert!((classes[0].sem - 100.0 * 0.5773502691896258 / 2.0).abs() < 1e-12);
        assert_eq!(skipped[0].label, "b");
    }

    #[test]
    fn csv_quotes_awkward_labels() {
        let c = ClassScore { label: "a,\"b\"".into(), n: 2, pairs: 2, score: 1.0, sem: 0.0, baseline: None };
        assert_eq!(classes_csv(&[c]).lines().nth(1).unwrap(), "\"a,\"\"b\"\"\",2,2,1,0,");
    }
}
