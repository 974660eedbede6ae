//! Per-example memorization (SPEC §4.2): how much more often a training row is classified
//! correctly by heads that saw it than by heads that did not (Feldman & Zhang 2020), on
//! frozen embeddings. Two estimators: refitting logistic heads on random subsets, and the
//! exact leave-one-out of a ridge-regression head in closed form.

use crate::data::Matrix;
use crate::error::{Error, Result};
use crate::groups::{correct, logits, GroupedData};
use crate::heads::argmax;
use crate::logistic::{self, LogisticOptions};
use crate::progress::Progress;
use crate::rng::{Purpose, Rng};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubsetOptions {
    /// Heads to fit.
    pub models: usize,
    /// Share of the training rows each head is fitted on.
    pub fraction: f64,
    pub seed: u64,
    pub probe: LogisticOptions,
}

impl Default for SubsetOptions {
    fn default() -> Self {
        SubsetOptions {
            models: 100,
            fraction: 0.7,
            seed: 0,
            // Looser than a single probe's tolerance: 100 fits must stay affordable, and
            // correctness (an argmax) is all that is read from each.
            probe: LogisticOptions { tol: 1e-5, max_iter: 300, ..LogisticOptions::default() },
        }
    }
}

/// Memorization score of each training row (NaN where a row was never in, or never out of,
/// a subset), in the order of `GroupedData::rows(true)`.
pub fn subset_scores(data: &GroupedData, options: &SubsetOptions, progress: &mut dyn Progress) -> Result<Vec<f64>> {
    if options.models == 0 || !(options.fraction > 0.0 && options.fraction < 1.0) {
        return Err(Error::input("memorization needs at least one model and a subset fraction strictly between 0 and 1"));
    }
    let train = data.rows(true);
    let n = train.len();
    let size = ((n as f64) * options.fraction).round().clamp(1.0, (n - 1).max(1) as f64) as u64;
    let classes = data.labels.num_classes();
    let full = logistic::fit(&data.x, &train, &data.labels.codes, classes, &options.probe, None)?;
    let train_x = data.x.select_rows(&train);
    let train_codes: Vec<u32> = train.iter().map(|&r| data.labels.codes[r]).collect();
    // [correct while in, times in, correct while out, times out] per training row.
    let mut tally = vec![[0u32; 4]; n];
    for m in 0..options.models {
        progress.report("memorization: refitting heads", m as f64 / options.models as f64)?;
        let chosen = Rng::new(options.seed, Purpose::MemorizationSubsets, 0, m as u32).sample_distinct(n as u64, size);
        let mut inside = vec![false; n];
        chosen.iter().for_each(|&p| inside[p as usize] = true);
        let subset: Vec<usize> = chosen.iter().map(|&p| train[p as usize]).collect();
        let head = logistic::fit(&data.x, &subset, &data.labels.codes, classes, &options.probe, Some(&full))?.to_dense();
        let ok = correct(&logits(&head, &train_x), classes, &train_codes);
        for i in 0..n {
            let base = if inside[i] { 0 } else { 2 };
            tally[i][base] += ok[i] as u32;
            tally[i][base + 1] += 1;
        }
    }
    progress.report("memorization: refitting heads", 1.0)?;
    Ok(tally
        .iter()
        .map(|t| {
            if t[1] == 0 || t[3] == 0 {
                f64::NAN
            } else {
                t[0] as f64 / t[1] as f64 - t[2] as f64 / t[3] as f64
            }
        })
        .collect())
}

/// A ridge-regression head on standardised features with an unpenalised intercept, fitted
/// to one-hot targets, and its exact leave-one-out predictions.
pub struct RidgeLoo {
    /// Predictions (rows × classes) of the head fitted on all rows.
    pub fitted: Array2<f64>,
    /// Predictions of the head fitted without the row itself.
    pub left_out: Array2<f64>,
}

/// Closed form: with hat matrix H = X(XᵀX + Λ)⁻¹Xᵀ, the prediction for row i without row i
/// is (ŷᵢ − hᵢᵢ yᵢ)/(1 − hᵢᵢ). Λ is `alpha` on the weights and 0 on the intercept.
pub fn ridge_loo(x: &Matrix, rows: &[usize], codes: &[u32], classes: usize, alpha: f64) -> Result<RidgeLoo> {
    let design = standardised_design(x, rows);
    let (n, p) = design.dim();
    let mut targets = Array2::<f64>::zeros((n, classes));
    for (i, &r) in rows.iter().enumerate() {
        targets[[i, codes[r] as usize]] = 1.0;
    }
    let mut gram = design.t().dot(&design);
    for j in 0..p - 1 {
        gram[[j, j]] += alpha;
    }
    let inverse = invert_spd(gram)?;
    let projector = design.dot(&inverse); // n × p
    let fitted = projector.dot(&design.t().dot(&targets));
    let mut left_out = fitted.clone();
    for i in 0..n {
        let h: f64 = projector.row(i).dot(&design.row(i));
        if (1.0 - h).abs() < 1e-12 {
            return Err(Error::input("ridge leave-one-out is undefined: a row has leverage 1 (raise alpha)"));
        }
        for c in 0..classes {
            left_out[[i, c]] = (fitted[[i, c]] - h * targets[[i, c]]) / (1.0 - h);
        }
    }
    Ok(RidgeLoo { fitted, left_out })
}

/// Rows of x standardised by their own mean and sd, with a final column of ones.
fn standardised_design(x: &Matrix, rows: &[usize]) -> Array2<f64> {
    let d = x.cols;
    let n = rows.len() as f64;
    let mut mean = vec![0.0; d];
    let mut sq = vec![0.0; d];
    for &r in rows {
        for (j, &v) in x.row(r).iter().enumerate() {
            mean[j] += v as f64;
            sq[j] += v as f64 * v as f64;
        }
    }
    let scale: Vec<f64> = (0..d)
        .map(|j| {
            let m = mean[j] / n;
            let var = (sq[j] / n - m * m).max(0.0);
            if var > 0.0 { var.sqrt() } else { 1.0 }
        })
        .collect();
    Array2::from_shape_fn((rows.len(), d + 1), |(i, j)| {
        if j == d {
            1.0
        } else {
            (x.row(rows[i])[j] as f64 - mean[j] / n) / scale[j]
        }
    })
}

/// Inverse of a symmetric positive-definite matrix by Cholesky factorisation.
fn invert_spd(a: Array2<f64>) -> Result<Array2<f64>> {
    let p = a.nrows();
    let mut l = Array2::<f64>::zeros((p, p));
    for j in 0..p {
        let mut diag = a[[j, j]];
        for k in 0..j {
            diag -= l[[j, k]] * l[[j, k]];
        }
        if diag <= 0.0 {
            return Err(Error::input("ridge system is not positive definite (constant features with alpha 0?)"));
        }
        l[[j, j]] = diag.sqrt();
        for i in j + 1..p {
            let mut v = a[[i, j]];
            for k in 0..j {
                v -= l[[i, k]] * l[[j, k]];
            }
            l[[i, j]] = v / l[[j, j]];
        }
    }
    // Solve L Lᵀ X = I column by column.
    let mut inverse = Array2::<f64>::zeros((p, p));
    let mut column = Array1::<f64>::zeros(p);
    for c in 0..p {
        for i in 0..p {
            let mut v = if i == c { 1.0 } else { 0.0 };
            for k in 0..i {
                v -= l[[i, k]] * column[k];
            }
            column[i] = v / l[[i, i]];
        }
        for i in (0..p).rev() {
            let mut v = column[i];
            for k in i + 1..p {
                v -= l[[k, i]] * inverse[[k, c]];
            }
            inverse[[i, c]] = v / l[[i, i]];
        }
    }
    Ok(inverse)
}

/// Ridge memorization of each training row: 1 if the full head classifies it correctly and
/// its leave-one-out head does not, −1 for the reverse, else 0.
pub fn ridge_scores(data: &GroupedData, alpha: f64) -> Result<Vec<f64>> {
    let train = data.rows(true);
    let loo = ridge_loo(&data.x, &train, &data.labels.codes, data.labels.num_classes(), alpha)?;
    Ok(train
        .iter()
        .enumerate()
        .map(|(i, &r)| {
            let c = data.labels.codes[r] as usize;
            let inside = argmax(loo.fitted.row(i).as_slice().expect("row-major")) == c;
            let outside = argmax(loo.left_out.row(i).as_slice().expect("row-major")) == c;
            inside as i32 as f64 - outside as i32 as f64
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_leave_one_out_equals_refitting() {
        let mut rng = Rng::new(5, Purpose::Subsample, 0, 0);
        let (n, d, classes) = (30, 4, 3);
        let data: Vec<f32> = (0..n * d).map(|_| rng.next_f64() as f32 * 4.0 - 2.0).collect();
        let x = Matrix::new(n, d, data).unwrap();
        let codes: Vec<u32> = (0..n as u32).map(|i| i % classes as u32).collect();
        let rows: Vec<usize> = (0..n).collect();
        let alpha = 0.7;
        let loo = ridge_loo(&x, &rows, &codes, classes, alpha).unwrap();
        for left in [0usize, 7, 29] {
            // Refit without `left`, standardising with the same statistics as the full fit, as
            // the closed form assumes a fixed design.
            let design = standardised_design(&x, &rows);
            let keep: Vec<usize> = rows.iter().copied().filter(|&r| r != left).collect();
            let sub = design.select(ndarray::Axis(0), &keep);
            let mut targets = Array2::<f64>::zeros((keep.len(), classes));
            for (i, &r) in keep.iter().enumerate() {
                targets[[i, codes[r] as usize]] = 1.0;
            }
            let mut gram = sub.t().dot(&sub);
            for j in 0..d {
                gram[[j, j]] += alpha;
            }
            let weights = invert_spd(gram).unwrap().dot(&sub.t().dot(&targets));
            let prediction = design.row(left).dot(&weights);
            for c in 0..classes {
                assert!((prediction[c] - loo.left_out[[left, c]]).abs() < 1e-8, "row {left} class {c}");
            }
        }
    }
}
