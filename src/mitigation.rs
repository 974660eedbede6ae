//! Mitigation on frozen embeddings (SPEC §4.4): (a) the paper's framework applied to the head —
//! cross-entropy × 0.2 plus a symmetric NT-Xent consistency loss between the outputs of the
//! full head and of the head with a mask; (b) DFR (Kirichenko et al. 2022): last-layer refits
//! on group-balanced subsets, regularisation chosen by worst-group accuracy on a held-out half.

use crate::error::{Error, Result};
use crate::groups::{accuracies, correct, logits, Accuracies, GroupedData};
use crate::heads::Dense;
use crate::linalg::dot;
use crate::logistic::{self, LogisticOptions};
use crate::progress::Progress;
use crate::rng::{Purpose, Rng};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mask {
    /// Zero the given percentage of the head's smallest-magnitude weights (the paper: 1%).
    SmallestWeights { percent: f64 },
    /// Zero every weight reading these neurons (e.g. the traced critical ones).
    Neurons { neurons: Vec<usize> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsistencyOptions {
    pub mask: Mask,
    pub ce_weight: f64,
    pub temperature: f64,
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

impl Default for ConsistencyOptions {
    fn default() -> Self {
        ConsistencyOptions {
            mask: Mask::SmallestWeights { percent: 1.0 },
            ce_weight: 0.2,
            temperature: 0.5,
            epochs: 30,
            batch: 256,
            learning_rate: 1e-3,
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MitigationResult {
    pub method: String,
    pub before: Accuracies,
    pub after: Accuracies,
    /// What was chosen or used (DFR's C, the mask's size).
    pub details: String,
}

fn evaluate(data: &GroupedData, head: &Dense) -> Accuracies {
    accuracies(data, &correct(&logits(head, &data.x), head.outputs(), &data.labels.codes))
}

fn mask_of(head: &Dense, mask: &Mask) -> Result<Vec<f64>> {
    let mut keep = vec![1.0; head.weights.len()];
    match mask {
        Mask::SmallestWeights { percent } => {
            let count = ((head.weights.len() as f64) * percent / 100.0).round() as usize;
            let mut order: Vec<usize> = (0..head.weights.len()).collect();
            order.sort_by(|&a, &b| head.weights[a].abs().total_cmp(&head.weights[b].abs()).then(a.cmp(&b)));
            order.iter().take(count.max(1)).for_each(|&i| keep[i] = 0.0);
        }
        Mask::Neurons { neurons } => {
            for &j in neurons {
                if j >= head.inputs {
                    return Err(Error::input(format!("neuron {j} does not exist (the head reads {})", head.inputs)));
                }
                (0..head.outputs()).for_each(|c| keep[c * head.inputs + j] = 0.0);
            }
        }
    }
    Ok(keep)
}

/// Trains the head with 0.2 × CE(full) + NT-Xent(full outputs, masked outputs) by Adam,
/// starting from `head`; the full head is the mitigated model.
pub fn consistency(data: &GroupedData, head: &Dense, options: &ConsistencyOptions, progress: &mut dyn Progress) -> Result<MitigationResult> {
    let keep = mask_of(head, &options.mask)?;
    let (d, classes) = (head.inputs, head.outputs());
    let mut params: Vec<f64> = head.weights.iter().chain(&head.bias).copied().collect();
    let mut adam = Adam::new(params.len(), options.learning_rate);
    let mut train = data.rows(true);
    let mut rng = Rng::new(options.seed, Purpose::Consistency, 0, 0);
    let batch = options.batch.max(2);
    let mut masked = vec![0.0; d * classes];
    for epoch in 0..options.epochs {
        progress.report("mitigation: consistency training", epoch as f64 / options.epochs as f64)?;
        rng.shuffle(&mut train);
        for chunk in train.chunks(batch).filter(|c| c.len() >= 2) {
            let b = chunk.len();
            let (w, bias) = params.split_at(d * classes);
            masked.iter_mut().zip(w).zip(&keep).for_each(|((m, wv), k)| *m = wv * k);
            // Outputs of the full head (first b) and of the masked head (next b).
            let mut v = vec![0.0; 2 * b * classes];
            for (i, &r) in chunk.iter().enumerate() {
                let x = data.x.row(r);
                for c in 0..classes {
                    v[i * classes + c] = bias[c] + dot(&w[c * d..(c + 1) * d], x);
                    v[(b + i) * classes + c] = bias[c] + dot(&masked[c * d..(c + 1) * d], x);
                }
            }
            let mut grad_v = nt_xent_gradient(&v, 2 * b, classes, options.temperature);
            for (i, &r) in chunk.iter().enumerate() {
                let z = &v[i * classes..(i + 1) * classes];
                let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = z.iter().map(|x| (x - max).exp()).sum();
                for c in 0..classes {
                    let target = (data.labels.codes[r] as usize == c) as u8 as f64;
                    grad_v[i * classes + c] += options.ce_weight * ((z[c] - max).exp() / sum - target) / b as f64;
                }
            }
            let mut grad = vec![0.0; params.len()];
            for (i, &r) in chunk.iter().enumerate() {
                let x = data.x.row(r);
                for c in 0..classes {
                    let (gf, gm) = (grad_v[i * classes + c], grad_v[(b + i) * classes + c]);
                    for j in 0..d {
                        grad[c * d + j] += (gf + gm * keep[c * d + j]) * x[j] as f64;
                    }
                    grad[d * classes + c] += gf + gm;
                }
            }
            adam.step(&mut params, &grad);
        }
    }
    let trained = Dense { weights: params[..d * classes].to_vec(), bias: params[d * classes..].to_vec(), inputs: d };
    let zeroed = keep.iter().filter(|&&k| k == 0.0).count();
    Ok(MitigationResult {
        method: "consistency (0.2 × cross-entropy + symmetric NT-Xent between full and masked head)".into(),
        before: evaluate(data, head),
        after: evaluate(data, &trained),
        details: format!("mask zeroes {zeroed} of {} head weights; temperature {}; {} epochs", keep.len(), options.temperature, options.epochs),
    })
}

/// Gradient of the symmetric NT-Xent loss (mean over all 2B anchors) with respect to the 2B
/// output vectors `v` (rows of `classes`): anchor i's positive is i ± B, the others negatives;
/// similarity is cosine / temperature.
fn nt_xent_gradient(v: &[f64], count: usize, classes: usize, temperature: f64) -> Vec<f64> {
    let half = count / 2;
    let norms: Vec<f64> = (0..count).map(|i| v[i * classes..(i + 1) * classes].iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12)).collect();
    let u: Vec<f64> = (0..count * classes).map(|k| v[k] / norms[k / classes]).collect();
    // Cosine similarities are at most 1, so shifting every logit by 1/temperature (instead of
    // each row's maximum) cannot overflow, and e[a][k] = e[k][a] is computed once per pair.
    let shift = 1.0 / temperature;
    let mut e = vec![0.0; count * count];
    for a in 0..count {
        let ua = &u[a * classes..(a + 1) * classes];
        for k in a + 1..count {
            let similarity = ua.iter().zip(&u[k * classes..(k + 1) * classes]).map(|(x, y)| x * y).sum::<f64>() / temperature;
            let value = (similarity - shift).exp();
            e[a * count + k] = value;
            e[k * count + a] = value;
        }
    }
    let inverse_sums: Vec<f64> = e.chunks_exact(count).map(|row| 1.0 / row.iter().sum::<f64>()).collect();
    // With g[a][k] = ∂L/∂s_ak = (softmax over k ≠ a − [k = positive]) / count, the similarity
    // s_ak appears in anchor a's and anchor k's terms: weight = (g[a][k] + g[k][a]) / temperature.
    let mut grad_u = vec![0.0; count * classes];
    for a in 0..count {
        let positive = if a < half { a + half } else { a - half };
        for k in (0..count).filter(|&k| k != a) {
            let both = e[a * count + k] * (inverse_sums[a] + inverse_sums[k]) - 2.0 * (k == positive) as u8 as f64;
            let weight = both / (count as f64 * temperature);
            for c in 0..classes {
                grad_u[a * classes + c] += weight * u[k * classes + c];
            }
        }
    }
    // Through the normalisation u = v/‖v‖: ∂L/∂v = (g − u(u·g))/‖v‖.
    let mut grad_v = vec![0.0; count * classes];
    for a in 0..count {
        let (ua, ga) = (&u[a * classes..(a + 1) * classes], &grad_u[a * classes..(a + 1) * classes]);
        let dot: f64 = ua.iter().zip(ga).map(|(x, y)| x * y).sum();
        for c in 0..classes {
            grad_v[a * classes + c] = (ga[c] - ua[c] * dot) / norms[a];
        }
    }
    grad_v
}

struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
    lr: f64,
}

impl Adam {
    fn new(n: usize, lr: f64) -> Adam {
        Adam { m: vec![0.0; n], v: vec![0.0; n], t: 0, lr }
    }

    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        self.t += 1;
        let (c1, c2) = (1.0 - B1.powi(self.t), 1.0 - B2.powi(self.t));
        for i in 0..params.len() {
            self.m[i] = B1 * self.m[i] + (1.0 - B1) * grad[i];
            self.v[i] = B2 * self.v[i] + (1.0 - B2) * grad[i] * grad[i];
            params[i] -= self.lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + 1e-8);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DfrOptions {
    /// Inverse regularisation strengths to choose from.
    pub c_grid: Vec<f64>,
    /// Group-balanced refits averaged for the final head.
    pub refits: usize,
    pub seed: u64,
}

impl Default for DfrOptions {
    fn default() -> Self {
        DfrOptions { c_grid: vec![0.01, 0.03, 0.1, 0.3, 1.0, 3.0], refits: 10, seed: 0 }
    }
}

/// DFR with an L2 logistic head (the original uses L1). Training rows are split in two
/// halves stratified by group (stream: Dfr, 0, group); each C is fitted on a group-balanced
/// subsample of the first half and judged by worst-group accuracy on the second; the final
/// head averages `refits` fits on group-balanced subsamples of all training rows.
pub fn dfr(data: &GroupedData, before_head: &Dense, options: &DfrOptions, progress: &mut dyn Progress) -> Result<MitigationResult> {
    if options.c_grid.is_empty() || options.refits == 0 {
        return Err(Error::input("DFR needs at least one C and one refit"));
    }
    let classes = data.labels.num_classes();
    let groups = data.groups.len();
    let mut first = Vec::new();
    let mut second = Vec::new();
    for g in 0..groups {
        let mut rows: Vec<usize> = data.rows(true).into_iter().filter(|&r| data.group[r] as usize == g).collect();
        Rng::new(options.seed, Purpose::Dfr, 0, g as u32).shuffle(&mut rows);
        for (i, r) in rows.into_iter().enumerate() {
            if i % 2 == 0 { first.push(r) } else { second.push(r) }
        }
    }
    let mut best = (f64::NEG_INFINITY, options.c_grid[0]);
    let mut validation = Vec::new();
    for (i, &c) in options.c_grid.iter().enumerate() {
        progress.report("mitigation: DFR choosing C", i as f64 / options.c_grid.len() as f64)?;
        let subset = balanced(data, &first, options.seed, 1000 + i as u32);
        let head = logistic::fit(&data.x, &subset, &data.labels.codes, classes, &LogisticOptions { c, ..LogisticOptions::default() }, None)?.to_dense();
        let worst = worst_group_on(data, &head, &second);
        validation.push(format!("C={c}: {:.3}", worst));
        if worst > best.0 {
            best = (worst, c);
        }
    }
    let c = best.1;
    let mut sum: Option<Dense> = None;
    for r in 0..options.refits {
        progress.report("mitigation: DFR refits", r as f64 / options.refits as f64)?;
        let subset = balanced(data, &data.rows(true), options.seed, r as u32);
        let head = logistic::fit(&data.x, &subset, &data.labels.codes, classes, &LogisticOptions { c, ..LogisticOptions::default() }, None)?.to_dense();
        sum = Some(match sum {
            None => head,
            Some(mut s) => {
                s.weights.iter_mut().zip(&head.weights).for_each(|(a, b)| *a += b);
                s.bias.iter_mut().zip(&head.bias).for_each(|(a, b)| *a += b);
                s
            }
        });
    }
    let mut averaged = sum.expect("at least one refit");
    let k = options.refits as f64;
    averaged.weights.iter_mut().for_each(|w| *w /= k);
    averaged.bias.iter_mut().for_each(|b| *b /= k);
    Ok(MitigationResult {
        method: "DFR (group-balanced last-layer refits, L2 logistic)".into(),
        before: evaluate(data, before_head),
        after: evaluate(data, &averaged),
        details: format!("C = {c} chosen by worst-group accuracy on a held-out half ({}); {} refits averaged", validation.join(", "), options.refits),
    })
}

/// Every group with rows in `rows` subsampled to the smallest such group's size.
fn balanced(data: &GroupedData, rows: &[usize], seed: u64, draw: u32) -> Vec<usize> {
    let mut by_group: Vec<Vec<usize>> = vec![Vec::new(); data.groups.len()];
    rows.iter().for_each(|&r| by_group[data.group[r] as usize].push(r));
    let smallest = by_group.iter().filter(|g| !g.is_empty()).map(Vec::len).min().unwrap_or(0);
    let mut out = Vec::new();
    for (g, members) in by_group.iter().enumerate().filter(|(_, m)| !m.is_empty()) {
        let mut rng = Rng::new(seed, Purpose::Dfr, draw + 1, g as u32);
        out.extend(rng.sample_distinct(members.len() as u64, smallest as u64).into_iter().map(|p| members[p as usize]));
    }
    out.sort_unstable();
    out
}

fn worst_group_on(data: &GroupedData, head: &Dense, rows: &[usize]) -> f64 {
    let x = data.x.select_rows(rows);
    let codes: Vec<u32> = rows.iter().map(|&r| data.labels.codes[r]).collect();
    let ok = correct(&logits(head, &x), head.outputs(), &codes);
    let mut hits = vec![(0usize, 0usize); data.groups.len()];
    for (i, &r) in rows.iter().enumerate() {
        let g = data.group[r] as usize;
        hits[g].0 += ok[i] as usize;
        hits[g].1 += 1;
    }
    hits.iter().filter(|h| h.1 > 0).map(|h| h.0 as f64 / h.1 as f64).fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nt_xent_gradient_matches_finite_differences() {
        let mut rng = Rng::new(1, Purpose::Consistency, 0, 0);
        let (count, classes, t) = (6, 3, 0.5);
        let v: Vec<f64> = (0..count * classes).map(|_| rng.normal()).collect();
        let loss = |v: &[f64]| -> f64 {
            let half = count / 2;
            let u: Vec<Vec<f64>> = v.chunks(classes).map(|z| {
                let n = z.iter().map(|x| x * x).sum::<f64>().sqrt();
                z.iter().map(|x| x / n).collect()
            }).collect();
            let s = |a: usize, b: usize| u[a].iter().zip(&u[b]).map(|(x, y)| x * y).sum::<f64>() / t;
            (0..count).map(|a| {
                let p = if a < half { a + half } else { a - half };
                let lse = (0..count).filter(|&k| k != a).map(|k| s(a, k).exp()).sum::<f64>().ln();
                lse - s(a, p)
            }).sum::<f64>() / count as f64
        };
        let analytic = nt_xent_gradient(&v, count, classes, t);
        for i in 0..v.len() {
            let (mut up, mut down) = (v.clone(), v.clone());
            up[i] += 1e-6;
            down[i] -= 1e-6;
            let numeric = (loss(&up) - loss(&down)) / 2e-6;
            assert!((numeric - analytic[i]).abs() < 1e-6, "entry {i}: {numeric} vs {}", analytic[i]);
        }
    }
}
