//! SPEC §3: does a pretrained model's convexity of a class predict how well the fine-tuned
//! model recognises it? Per class: pretrained graph convexity against fine-tuned recall.

use crate::data::Labels;
use crate::error::{Error, Result};
use crate::graph_convexity::GraphConvexity;
use crate::stats::{pearson, spearman, Correlation};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassPoint {
    pub label: String,
    /// Pretrained graph convexity of the class (0–100).
    pub convexity: f64,
    /// Fine-tuned recall of the class (0–1): rows of the class predicted as it.
    pub recall: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecallCorrelation {
    pub classes: Vec<ClassPoint>,
    pub pearson: Option<Correlation>,
    pub spearman: Option<Correlation>,
    pub recall_source: String,
    /// The pretrained graph convexity result the points come from.
    pub convexity: GraphConvexity,
}

/// Recall of every class (in `labels.classes` order) from one predicted label per row.
pub fn per_class_recall(labels: &Labels, predicted: &[String]) -> Result<Vec<f64>> {
    labels.check_rows(predicted.len(), "the predictions")?;
    let mut hits = vec![0usize; labels.num_classes()];
    let mut totals = vec![0usize; labels.num_classes()];
    for (&c, p) in labels.codes.iter().zip(predicted) {
        totals[c as usize] += 1;
        if labels.classes[c as usize] == *p {
            hits[c as usize] += 1;
        }
    }
    if hits.iter().sum::<usize>() == 0 && !predicted.is_empty() {
        return Err(Error::input(
            "no prediction equals its row's label: are the predictions written with the same class names as the labels?",
        ));
    }
    Ok(hits.iter().zip(&totals).map(|(&h, &t)| h as f64 / t.max(1) as f64).collect())
}

/// Pairs each scored class's convexity with its recall; skipped classes drop out.
pub fn convexity_vs_recall(convexity: &GraphConvexity, labels: &Labels, recall: &[f64], source: &str) -> RecallCorrelation {
    let classes: Vec<ClassPoint> = convexity
        .classes
        .iter()
        .filter_map(|c| {
            let position = labels.classes.iter().position(|l| *l == c.label)?;
            Some(ClassPoint { label: c.label.clone(), convexity: c.score, recall: recall[position] })
        })
        .collect();
    let x: Vec<f64> = classes.iter().map(|c| c.convexity).collect();
    let y: Vec<f64> = classes.iter().map(|c| c.recall).collect();
    RecallCorrelation {
        pearson: pearson(&x, &y),
        spearman: spearman(&x, &y),
        classes,
        recall_source: source.to_string(),
        convexity: convexity.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ClassScore;

    fn graph_with(scores: &[(&str, f64)]) -> GraphConvexity {
        GraphConvexity {
            score: 0.0,
            sem: 0.0,
            classes: scores
                .iter()
                .map(|&(label, score)| ClassScore { label: label.into(), n: 2, pairs: 2, score, sem: 0.0, baseline: None })
                .collect(),
            skipped: Vec::new(),
            pooled_mean: 0.0,
            no_path: 0,
            components: 1,
            edges: 0,
            exhaustive_rows: 0,
            baseline: None,
        }
    }

    #[test]
    fn recall_counts_rows_predicted_as_their_class() {
        let labels = Labels::from_strings(&["a", "a", "b", "b", "b", "c"]);
        let predicted: Vec<String> = ["a", "b", "b", "b", "a", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(per_class_recall(&labels, &predicted).unwrap(), vec![0.5, 2.0 / 3.0, 1.0]);
        let wrong_names: Vec<String> = ["x"; 6].iter().map(|s| s.to_string()).collect();
        assert!(per_class_recall(&labels, &wrong_names).is_err());
    }

    #[test]
    fn correlation_pairs_each_class_with_its_own_recall() {
        // Labels sort numerically (2 < 10), while the convexity list is in the same order.
        let labels = Labels::from_strings(&["10", "2", "3", "10", "2", "3"]);
        let g = graph_with(&[("2", 50.0), ("3", 70.0), ("10", 90.0)]);
        let r = convexity_vs_recall(&g, &labels, &[0.2, 0.4, 0.9], "test");
        let pairs: Vec<(&str, f64)> = r.classes.iter().map(|c| (c.label.as_str(), c.recall)).collect();
        assert_eq!(pairs, vec![("2", 0.2), ("3", 0.4), ("10", 0.9)]);
        assert!((r.spearman.unwrap().r - 1.0).abs() < 1e-12);
        assert!(r.pearson.unwrap().r > 0.9);
    }
}
