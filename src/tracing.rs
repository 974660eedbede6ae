//! Critical-neuron tracing (SPEC §4.3; You et al. 2025): the embedding dimensions are the
//! neurons of that layer. Ablate one, or the top-ranked few, and watch every group's accuracy
//! on the training and the test rows. For an MLP head the same is done on its hidden units.
//!
//! A head is linear in the neurons it reads, so ablating neuron j moves every row's logits by
//! W[:, j]·(new value − old value): one pass over the rows per neuron, no re-evaluation.

use crate::data::Matrix;
use crate::error::{Error, Result};
use crate::groups::{accuracies, correct, logits, Accuracies, GroupedData};
use crate::heads::Dense;
use crate::progress::Progress;
use crate::rng::{Purpose, Rng};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ablation {
    Zero,
    /// The neuron's mean over the training rows.
    Mean,
    /// Adds Gaussian noise with the neuron's training sd; accuracies averaged over repeats.
    Noise,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TracingOptions {
    pub ablation: Ablation,
    /// Repeats for noise ablation.
    pub repeats: usize,
    /// Group whose hardest training rows define the gradient ranking; default: the minority
    /// group with the lowest test accuracy (or the lowest test accuracy overall).
    pub target_group: Option<String>,
    /// Share of the target group's training rows, by loss, that count as its hardest (ours).
    pub hardest_share: f64,
    /// Shares (in %) of the largest-magnitude head weights to zero, for the unstructured variant.
    pub weight_percents: Vec<f64>,
    pub seed: u64,
}

impl Default for TracingOptions {
    fn default() -> Self {
        TracingOptions {
            ablation: Ablation::Zero,
            repeats: 5,
            target_group: None,
            hardest_share: 0.25,
            weight_percents: vec![0.1, 0.5, 1.0, 2.0, 5.0, 10.0],
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NeuronEffect {
    pub neuron: usize,
    /// Per group: accuracy after ablating this neuron alone minus before.
    pub train_change: Vec<f64>,
    pub test_change: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    pub ranking: String,
    /// Neurons in ranked order (most important first).
    pub order: Vec<usize>,
    /// Number of top-ranked neurons ablated at each point of the curve.
    pub ablated: Vec<usize>,
    /// Accuracies after ablating that many; `points[0]` is the unablated head.
    pub points: Vec<Accuracies>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightPruning {
    pub percent: f64,
    pub weights_zeroed: usize,
    pub accuracies: Accuracies,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tracing {
    /// "embedding dimensions" or "hidden units of the MLP head".
    pub neurons: String,
    pub ablation: Ablation,
    pub target_group: String,
    pub before: Accuracies,
    pub single: Vec<NeuronEffect>,
    pub curves: Vec<Curve>,
    pub pruning: Vec<WeightPruning>,
}

/// Traces the neurons `features` (rows × neurons) read by `head` (outputs in class order).
pub fn trace(
    data: &GroupedData,
    features: &Matrix,
    head: &Dense,
    neurons: &str,
    options: &TracingOptions,
    progress: &mut dyn Progress,
) -> Result<Tracing> {
    if head.inputs != features.cols {
        return Err(Error::input("the head does not read these neurons"));
    }
    let classes = head.outputs();
    let base = logits(head, features);
    let before = accuracies(data, &correct(&base, classes, &data.labels.codes));
    let train_rows = data.rows(true);
    let (mean, sd) = column_moments(features, &train_rows);
    let target = target_group(data, &before, options.target_group.as_deref())?;

    let ablate = |set: &[usize], repeat: u64| -> Vec<bool> {
        let mut z = base.clone();
        for &j in set {
            let mut noise = (options.ablation == Ablation::Noise)
                .then(|| Rng::new(options.seed, Purpose::Noise, repeat as u32, j as u32));
            for r in 0..features.rows {
                let x = features.row(r)[j] as f64;
                let shift = match options.ablation {
                    Ablation::Zero => -x,
                    Ablation::Mean => mean[j] - x,
                    Ablation::Noise => sd[j] * noise.as_mut().expect("noise rng").normal(),
                };
                for c in 0..classes {
                    z[r * classes + c] += head.weights[c * head.inputs + j] * shift;
                }
            }
        }
        correct(&z, classes, &data.labels.codes)
    };
    let repeats = if options.ablation == Ablation::Noise { options.repeats.max(1) } else { 1 };
    let averaged = |set: &[usize]| -> Accuracies {
        let runs: Vec<Accuracies> = (0..repeats).map(|r| accuracies(data, &ablate(set, r as u64))).collect();
        average_accuracies(&runs)
    };

    let d = features.cols;
    let mut single = Vec::with_capacity(d);
    for j in 0..d {
        if j % 32 == 0 {
            progress.report("tracing: single neurons", j as f64 / d as f64)?;
        }
        let after = averaged(&[j]);
        let diff = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect();
        single.push(NeuronEffect { neuron: j, train_change: diff(&after.train, &before.train), test_change: diff(&after.test, &before.test) });
    }

    let weight_norm: Vec<f64> = (0..d).map(|j| (0..classes).map(|c| head.weights[c * d + j].powi(2)).sum::<f64>().sqrt()).collect();
    let gradient = gradient_norms(data, features, head, &base, target, options.hardest_share);
    let mut curves = Vec::new();
    for (name, scores) in [
        ("head weight norm".to_string(), weight_norm),
        (format!("gradient norm on the hardest rows of {}", data.groups[target].group), gradient),
    ] {
        progress.report("tracing: ranked ablation", curves.len() as f64 / 2.0)?;
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let ablated = checkpoints(d);
        let points = ablated.iter().map(|&m| if m == 0 { before.clone() } else { averaged(&order[..m]) }).collect();
        curves.push(Curve { ranking: name, order, ablated, points });
    }

    let pruning = options
        .weight_percents
        .iter()
        .map(|&percent| {
            let (pruned, count) = prune_largest(head, percent);
            WeightPruning { percent, weights_zeroed: count, accuracies: accuracies(data, &correct(&logits(&pruned, features), classes, &data.labels.codes)) }
        })
        .collect();
    progress.report("tracing", 1.0)?;
    Ok(Tracing {
        neurons: neurons.to_string(),
        ablation: options.ablation,
        target_group: data.groups[target].group.clone(),
        before,
        single,
        curves,
        pruning,
    })
}

/// 0, 1, 2, 3, 4, 6, 8, 12, 16, … up to all neurons.
fn checkpoints(d: usize) -> Vec<usize> {
    let mut points = vec![0];
    let mut m = 1usize;
    while m < d {
        points.push(m);
        let next = if m < 4 { m + 1 } else if m.is_power_of_two() { m + m / 2 } else { m / 3 * 4 };
        m = next.max(m + 1);
    }
    points.push(d);
    points
}

fn column_moments(x: &Matrix, rows: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let d = x.cols;
    let n = rows.len().max(1) as f64;
    let mut mean = vec![0.0; d];
    for &r in rows {
        mean.iter_mut().zip(x.row(r)).for_each(|(m, &v)| *m += v as f64);
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; d];
    for &r in rows {
        var.iter_mut().zip(x.row(r)).zip(&mean).for_each(|((s, &v), m)| *s += (v as f64 - m).powi(2));
    }
    (mean, var.iter().map(|v| (v / n).sqrt()).collect())
}

fn target_group(data: &GroupedData, before: &Accuracies, name: Option<&str>) -> Result<usize> {
    if let Some(name) = name {
        return data.groups.iter().position(|g| g.group == name).ok_or_else(|| {
            let known: Vec<&str> = data.groups.iter().map(|g| g.group.as_str()).collect();
            Error::input(format!("no group named '{name}'; groups are: {}", known.join("; ")))
        });
    }
    let candidates: Vec<usize> = {
        let minority: Vec<usize> = (0..data.groups.len()).filter(|&g| data.groups[g].minority && data.groups[g].n_train > 0).collect();
        if minority.is_empty() { (0..data.groups.len()).filter(|&g| data.groups[g].n_train > 0).collect() } else { minority }
    };
    let key = |g: usize| if before.test[g].is_nan() { f64::INFINITY } else { before.test[g] };
    candidates.into_iter().min_by(|&a, &b| key(a).total_cmp(&key(b))).ok_or_else(|| Error::input("no group has training rows"))
}

/// ‖∂L/∂W[:, j]‖ for the mean cross-entropy L over the target group's hardest training rows
/// (the `share` of them with the highest loss, at least one).
fn gradient_norms(data: &GroupedData, features: &Matrix, head: &Dense, z: &[f64], target: usize, share: f64) -> Vec<f64> {
    let classes = head.outputs();
    let mut rows: Vec<(f64, usize)> = (0..features.rows)
        .filter(|&r| data.train[r] && data.group[r] as usize == target)
        .map(|r| {
            let zr = &z[r * classes..(r + 1) * classes];
            let max = zr.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + zr.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            (lse - zr[data.labels.codes[r] as usize], r)
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let keep = ((rows.len() as f64 * share).ceil() as usize).clamp(1, rows.len().max(1));
    let mut grad = vec![0.0; classes * features.cols];
    for &(_, r) in rows.iter().take(keep) {
        let zr = &z[r * classes..(r + 1) * classes];
        let max = zr.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = zr.iter().map(|v| (v - max).exp()).sum();
        for c in 0..classes {
            let residual = (zr[c] - max).exp() / sum - (data.labels.codes[r] as usize == c) as u8 as f64;
            for (j, &x) in features.row(r).iter().enumerate() {
                grad[c * features.cols + j] += residual * x as f64 / keep as f64;
            }
        }
    }
    (0..features.cols).map(|j| (0..classes).map(|c| grad[c * features.cols + j].powi(2)).sum::<f64>().sqrt()).collect()
}

/// The head with its `percent`% largest-magnitude weights set to zero (ties: lower index).
fn prune_largest(head: &Dense, percent: f64) -> (Dense, usize) {
    let count = ((head.weights.len() as f64) * percent / 100.0).round() as usize;
    let mut order: Vec<usize> = (0..head.weights.len()).collect();
    order.sort_by(|&a, &b| head.weights[b].abs().total_cmp(&head.weights[a].abs()).then(a.cmp(&b)));
    let mut pruned = head.clone();
    order.iter().take(count).for_each(|&i| pruned.weights[i] = 0.0);
    (pruned, count)
}

fn average_accuracies(runs: &[Accuracies]) -> Accuracies {
    if runs.len() == 1 {
        return runs[0].clone();
    }
    let n = runs.len() as f64;
    let avg = |f: &dyn Fn(&Accuracies) -> f64| runs.iter().map(f).sum::<f64>() / n;
    let groups = runs[0].train.len();
    Accuracies {
        train: (0..groups).map(|g| avg(&|a| a.train[g])).collect(),
        test: (0..groups).map(|g| avg(&|a| a.test[g])).collect(),
        worst_group_train: avg(&|a| a.worst_group_train),
        worst_group_test: avg(&|a| a.worst_group_test),
        average_train: avg(&|a| a.average_train),
        average_test: avg(&|a| a.average_test),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_grow_and_end_at_all() {
        assert_eq!(checkpoints(10), vec![0, 1, 2, 3, 4, 6, 8, 10]);
        let c = checkpoints(512);
        assert!(c.windows(2).all(|w| w[0] < w[1]) && *c.last().unwrap() == 512 && c.len() < 25, "{c:?}");
    }

    #[test]
    fn pruning_zeroes_the_largest_weights() {
        let head = Dense { weights: vec![0.1, -5.0, 2.0, 0.3], bias: vec![0.0, 0.0], inputs: 2 };
        let (pruned, count) = prune_largest(&head, 50.0);
        assert_eq!(count, 2);
        assert_eq!(pruned.weights, vec![0.1, 0.0, 0.0, 0.3]);
    }
}
