//! The full memorization report of SPEC §4 on one layer: group table, per-example
//! memorization (subset refits and ridge leave-one-out), critical-neuron tracing (embedding
//! dimensions, and optionally an MLP head's hidden units), and mitigation before/after.

use crate::error::Result;
use crate::groups::{accuracies, correct, logits, GroupInfo, GroupedData};
use crate::heads::Dense;
use crate::logistic::{self, LogisticOptions};
use crate::memorization::{ridge_scores, subset_scores, SubsetOptions};
use crate::mitigation::{self, ConsistencyOptions, DfrOptions, MitigationResult};
use crate::mlp::{self, MlpOptions};
use crate::progress::Progress;
use crate::stats::{mean, std_dev};
use crate::tracing::{trace, Tracing, TracingOptions};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ReportOptions {
    /// Subset-refit memorization (None: skipped).
    pub memorization: Option<SubsetOptions>,
    /// Ridge leave-one-out memorization with this alpha (None: skipped).
    pub ridge_alpha: Option<f64>,
    pub tracing: Option<TracingOptions>,
    /// Also train a one-hidden-layer MLP head and trace its hidden units.
    pub mlp: Option<MlpOptions>,
    pub consistency: Option<ConsistencyOptions>,
    pub dfr: Option<DfrOptions>,
    /// The fitted head when the user gives none.
    pub probe: LogisticOptions,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    pub n: usize,
    pub mean: f64,
    pub sem: f64,
    /// Counts in 20 bins of width 0.1 from −1 to 1 (the last bin includes 1).
    pub histogram: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    #[serde(flatten)]
    pub info: GroupInfo,
    pub train_acc: f64,
    pub test_acc: f64,
    /// train_acc − test_acc: the paper's signature of memorization when large.
    pub gap: f64,
    pub memorization: Option<Distribution>,
    pub ridge_memorization: Option<Distribution>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemorizedRow {
    /// Row index in the input, and the user's id for it when an id column was given.
    pub row: usize,
    pub id: Option<String>,
    pub group: String,
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub method: String,
    /// Score of every training row (null where undefined), in input row order of the
    /// training rows.
    pub training_rows: Vec<usize>,
    pub per_row: Vec<f64>,
    /// The most memorized training rows, highest first.
    pub top: Vec<MemorizedRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemorizationReport {
    pub head: String,
    /// The fitted logistic head on the original features (absent when the user gave one), so
    /// it can be reused or checked against another solver.
    pub fitted_head: Option<FittedHead>,
    pub groups: Vec<GroupRow>,
    pub worst_group_train_acc: f64,
    pub worst_group_test_acc: f64,
    pub average_train_acc: f64,
    pub average_test_acc: f64,
    pub memorization: Option<Scores>,
    pub ridge: Option<Scores>,
    pub tracing: Option<Tracing>,
    pub mlp_tracing: Option<Tracing>,
    pub mitigation: Vec<MitigationResult>,
}

/// A dense head as PyTorch stores it: `weights[class][dimension]`, `bias[class]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FittedHead {
    pub weights: Vec<Vec<f64>>,
    pub bias: Vec<f64>,
}

impl From<&Dense> for FittedHead {
    fn from(head: &Dense) -> FittedHead {
        FittedHead { weights: head.weights.chunks(head.inputs).map(|w| w.to_vec()).collect(), bias: head.bias.clone() }
    }
}

const TOP_ROWS: usize = 20;

pub fn report(
    data: &GroupedData,
    user_head: Option<Dense>,
    ids: Option<&[String]>,
    options: &ReportOptions,
    progress: &mut dyn Progress,
) -> Result<MemorizationReport> {
    let classes = data.labels.num_classes();
    let (head, head_name, fitted_head) = match user_head {
        Some(h) => (h, "the model's own head".to_string(), None),
        None => {
            progress.report("fitting the head", 0.0)?;
            let head = logistic::fit(&data.x, &data.rows(true), &data.labels.codes, classes, &options.probe, None)?.to_dense();
            let fitted = FittedHead::from(&head);
            (head, format!("logistic regression (C = {}) fitted on the training rows", options.probe.c), Some(fitted))
        }
    };
    let acc = accuracies(data, &correct(&logits(&head, &data.x), classes, &data.labels.codes));
    let training_rows = data.rows(true);

    let memorization = match &options.memorization {
        Some(o) => Some(scores(data, &training_rows, ids, subset_scores(data, o, progress)?, format!("subset refits: {} logistic heads on {:.0}% subsets", o.models, 100.0 * o.fraction))),
        None => None,
    };
    let ridge = match options.ridge_alpha {
        Some(alpha) => {
            progress.report("ridge leave-one-out", 0.0)?;
            Some(scores(data, &training_rows, ids, ridge_scores(data, alpha)?, format!("exact leave-one-out of a ridge head (alpha = {alpha})")))
        }
        None => None,
    };
    let groups = data
        .groups
        .iter()
        .enumerate()
        .map(|(g, info)| GroupRow {
            info: info.clone(),
            train_acc: acc.train[g],
            test_acc: acc.test[g],
            gap: acc.train[g] - acc.test[g],
            memorization: memorization.as_ref().map(|s| distribution(data, s, g)),
            ridge_memorization: ridge.as_ref().map(|s| distribution(data, s, g)),
        })
        .collect();
    let tracing = match &options.tracing {
        Some(o) => Some(trace(data, &data.x, &head, "embedding dimensions", o, progress)?),
        None => None,
    };
    let mlp_tracing = match &options.mlp {
        Some(o) => {
            let mlp_head = mlp::train(&data.x, &training_rows, &data.labels.codes, classes, o, progress)?;
            let hidden = mlp_head.hidden(&data.x);
            let trace_options = options.tracing.clone().unwrap_or_default();
            Some(trace(data, &hidden, &mlp_head.second, "hidden units of an MLP head trained here", &trace_options, progress)?)
        }
        None => None,
    };
    let mut mitigation = Vec::new();
    if let Some(o) = &options.consistency {
        mitigation.push(mitigation::consistency(data, &head, o, progress)?);
    }
    if let Some(o) = &options.dfr {
        mitigation.push(mitigation::dfr(data, &head, o, progress)?);
    }
    Ok(MemorizationReport {
        head: head_name,
        fitted_head,
        groups,
        worst_group_train_acc: acc.worst_group_train,
        worst_group_test_acc: acc.worst_group_test,
        average_train_acc: acc.average_train,
        average_test_acc: acc.average_test,
        memorization,
        ridge,
        tracing,
        mlp_tracing,
        mitigation,
    })
}

fn scores(data: &GroupedData, training_rows: &[usize], ids: Option<&[String]>, per_row: Vec<f64>, method: String) -> Scores {
    let mut ranked: Vec<usize> = (0..per_row.len()).filter(|&i| !per_row[i].is_nan()).collect();
    ranked.sort_by(|&a, &b| per_row[b].total_cmp(&per_row[a]).then(a.cmp(&b)));
    let top = ranked
        .iter()
        .take(TOP_ROWS)
        .map(|&i| {
            let row = training_rows[i];
            MemorizedRow {
                row,
                id: ids.map(|ids| ids[row].clone()),
                group: data.groups[data.group[row] as usize].group.clone(),
                score: per_row[i],
            }
        })
        .collect();
    Scores { method, training_rows: training_rows.to_vec(), per_row, top }
}

fn distribution(data: &GroupedData, scores: &Scores, group: usize) -> Distribution {
    let values: Vec<f64> = scores
        .training_rows
        .iter()
        .zip(&scores.per_row)
        .filter(|(&r, v)| data.group[r] as usize == group && !v.is_nan())
        .map(|(_, &v)| v)
        .collect();
    let mut histogram = vec![0usize; 20];
    for &v in &values {
        // The small nudge keeps scores on a bin edge (0.3 computed as 0.29999…) in the upper bin.
        histogram[(((v + 1.0) * 10.0 + 1e-9).floor().max(0.0) as usize).min(19)] += 1;
    }
    let sd = std_dev(&values);
    Distribution {
        n: values.len(),
        mean: if values.is_empty() { f64::NAN } else { mean(&values) },
        sem: sd / (values.len() as f64).sqrt(),
        histogram,
    }
}
