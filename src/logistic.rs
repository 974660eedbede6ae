//! Multinomial logistic regression with an L2 penalty, fitted by L-BFGS: the linear probe of
//! SPEC §2.3c (and the frozen-embedding head of §4).
//!
//! Objective, as scikit-learn's `LogisticRegression(C)` on standardised features:
//! Σᵢ −log softmax(W x̃ᵢ + b)[yᵢ] + ‖W‖²/(2C), with x̃ = (x − mean)/sd over the training rows
//! and the intercept not penalised; two classes as sklearn's binary model, one vector w₁ − w₀.
//! We minimise it divided by n so tolerances do not depend on the number of rows.

use crate::data::Matrix;
use crate::error::{Error, Result};
use crate::heads::Dense;
use ndarray::Array1;
use crate::linalg::dot;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogisticOptions {
    /// Inverse regularisation strength, as scikit-learn's `C`.
    pub c: f64,
    pub max_iter: usize,
    /// Stop when the largest gradient entry of the per-row objective is below this.
    pub tol: f64,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions { c: 1.0, max_iter: 1000, tol: 1e-8 }
    }
}

/// A fitted model, kept in standardised coordinates so it can warm-start another fit.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticModel {
    mean: Vec<f64>,
    scale: Vec<f64>,
    /// Classes × dimensions, then one intercept per class.
    params: Array1<f64>,
    classes: usize,
    /// The solver's last curvature pairs: a warm start on a similar problem (a subset of the
    /// same rows) begins with a quasi-Newton step instead of a gradient step.
    curvature: Curvature,
    pub iterations: usize,
    pub converged: bool,
}

/// L-BFGS pairs (s, y, 1/sᵀy), oldest first, in the solver's coordinates.
type Curvature = VecDeque<(Array1<f64>, Array1<f64>, f64)>;

impl LogisticModel {
    /// The same classifier in the coordinates of another standardisation, so that a warm
    /// start on a different subset of rows begins at exactly the function fitted here.
    fn restandardised(&self, mean: &[f64], scale: &[f64]) -> Array1<f64> {
        let d = self.mean.len();
        let mut params = self.params.clone();
        for c in 0..self.classes {
            let mut shift = 0.0;
            for j in 0..d {
                let w = self.params[c * d + j] / self.scale[j];
                params[c * d + j] = w * scale[j];
                shift += w * (mean[j] - self.mean[j]);
            }
            params[self.classes * d + c] += shift;
        }
        params
    }

    /// The same classifier as a dense layer on the original (unstandardised) features.
    pub fn to_dense(&self) -> Dense {
        let d = self.mean.len();
        let mut weights = vec![0.0; self.classes * d];
        let mut bias = vec![0.0; self.classes];
        for c in 0..self.classes {
            let mut b = self.params[self.classes * d + c];
            for j in 0..d {
                let w = self.params[c * d + j] / self.scale[j];
                weights[c * d + j] = w;
                b -= w * self.mean[j];
            }
            bias[c] = b;
        }
        Dense { weights, bias, inputs: d }
    }
}

/// Fits on the rows `rows` of `x` with class codes `y[row]` in `0..classes`.
pub fn fit(
    x: &Matrix,
    rows: &[usize],
    y: &[u32],
    classes: usize,
    options: &LogisticOptions,
    warm_start: Option<&LogisticModel>,
) -> Result<LogisticModel> {
    if rows.is_empty() {
        return Err(Error::input("cannot fit a probe on zero rows"));
    }
    if classes < 2 {
        return Err(Error::input("a probe needs at least two classes"));
    }
    let d = x.cols;
    let n = rows.len();
    let mut mean = vec![0.0; d];
    for &r in rows {
        for (m, &v) in mean.iter_mut().zip(x.row(r)) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut scale = vec![0.0; d];
    for &r in rows {
        for ((s, &v), m) in scale.iter_mut().zip(x.row(r)).zip(&mean) {
            *s += (v as f64 - m).powi(2);
        }
    }
    scale.iter_mut().for_each(|s| *s = if *s > 0.0 { (*s / n as f64).sqrt() } else { 1.0 });
    let mut features = Vec::with_capacity(n * d);
    for &r in rows {
        features.extend(x.row(r).iter().zip(&mean).zip(&scale).map(|((&v, m), s)| ((v as f64 - m) / s) as f32));
    }
    let targets: Vec<u32> = rows.iter().map(|&r| y[r]).collect();
    // Two classes are fitted as sklearn does, as one decision vector v = w₁ − w₀ with penalty
    // ‖v‖²/(2C): half the arithmetic of a two-way softmax, and the same optimum.
    let outputs = if classes == 2 { 1 } else { classes };
    let problem = Problem { features, dims: d, targets, outputs, penalty: 1.0 / (options.c * n as f64) };
    let (start, curvature) = match warm_start {
        Some(m) if m.params.len() == classes * (d + 1) => (collapse(&m.restandardised(&mean, &scale), classes, d), m.curvature.clone()),
        _ => (Array1::zeros(outputs * (d + 1)), Curvature::new()),
    };
    let (solution, curvature, iterations, converged) = lbfgs(&problem, start, curvature, options);
    let params = expand(solution, classes, d);
    Ok(LogisticModel { mean, scale, params, classes, curvature, iterations, converged })
}

/// Two-class parameters [w₀, w₁, b₀, b₁] as the binary [v, c] = [w₁ − w₀, b₁ − b₀]; more
/// classes unchanged.
fn collapse(params: &Array1<f64>, classes: usize, d: usize) -> Array1<f64> {
    if classes != 2 {
        return params.clone();
    }
    let mut binary = Array1::zeros(d + 1);
    for j in 0..d {
        binary[j] = params[d + j] - params[j];
    }
    binary[d] = params[2 * d + 1] - params[2 * d];
    binary
}

/// The inverse of `collapse`, splitting v evenly: w₀ = −v/2, w₁ = v/2.
fn expand(solution: Array1<f64>, classes: usize, d: usize) -> Array1<f64> {
    if classes != 2 {
        return solution;
    }
    let mut params = Array1::zeros(2 * (d + 1));
    for j in 0..d {
        params[j] = -0.5 * solution[j];
        params[d + j] = 0.5 * solution[j];
    }
    params[2 * d] = -0.5 * solution[d];
    params[2 * d + 1] = 0.5 * solution[d];
    params
}

/// The class each row is predicted as by a probe fitted without that row's fold (stratified
/// folds: members of each class shuffled with stream Folds, then dealt round-robin).
pub fn cross_validated_predictions(
    x: &Matrix,
    labels: &crate::data::Labels,
    folds: usize,
    seed: u64,
    options: &LogisticOptions,
) -> Result<Vec<u32>> {
    let fold = stratified_folds(labels, folds, seed);
    let mut predicted = vec![0u32; x.rows];
    let mut out = Vec::new();
    for f in 0..folds {
        let train: Vec<usize> = (0..x.rows).filter(|&r| fold[r] != f).collect();
        let head = fit(x, &train, &labels.codes, labels.num_classes(), options, None)?.to_dense();
        for r in (0..x.rows).filter(|&r| fold[r] == f) {
            let row: Vec<f64> = x.row(r).iter().map(|&v| v as f64).collect();
            head.apply(&row, &mut out);
            predicted[r] = crate::heads::argmax(&out) as u32;
        }
    }
    Ok(predicted)
}

/// Fold of every row: each class's members shuffled (stream: Folds, 0, class), dealt round-robin.
pub fn stratified_folds(labels: &crate::data::Labels, folds: usize, seed: u64) -> Vec<usize> {
    let mut fold = vec![0usize; labels.len()];
    for (c, members) in labels.members().iter().enumerate() {
        let mut shuffled = members.clone();
        crate::rng::Rng::new(seed, crate::rng::Purpose::Folds, 0, c as u32).shuffle(&mut shuffled);
        for (p, &r) in shuffled.iter().enumerate() {
            fold[r] = p % folds;
        }
    }
    fold
}

struct Problem {
    /// Standardised rows, row-major (f32 halves the memory traffic of every evaluation;
    /// sums are taken in f64).
    features: Vec<f32>,
    dims: usize,
    targets: Vec<u32>,
    /// One logit for two classes (the binary model), else one per class.
    outputs: usize,
    penalty: f64,
}

/// Rows per block of an evaluation: blocks are summed in order, so the result does not
/// depend on how many threads share them.
const ROWS_PER_BLOCK: usize = 512;

impl Problem {
    /// Objective per row and its gradient, in one pass over the rows: each row's logits,
    /// softmax and residual P − Y are used at once, so the features are read once.
    fn evaluate(&self, params: &Array1<f64>) -> (f64, Array1<f64>) {
        let (d, k) = (self.dims, self.outputs);
        let n = self.targets.len();
        let params = params.as_slice().expect("contiguous");
        let (w, b) = params.split_at(k * d);
        let partials: Vec<(f64, Vec<f64>)> = self
            .features
            .par_chunks(ROWS_PER_BLOCK * d)
            .zip(self.targets.par_chunks(ROWS_PER_BLOCK))
            .map(|(rows, targets)| {
                let mut loss = 0.0;
                let mut grad = vec![0.0; k * (d + 1)];
                let mut z = vec![0.0; k];
                let mut residual = vec![0.0; k];
                for (x, &t) in rows.chunks_exact(d).zip(targets) {
                    for c in 0..k {
                        z[c] = b[c] + dot(&w[c * d..(c + 1) * d], x);
                    }
                    loss += row_loss(&z, t as usize, &mut residual);
                    for c in 0..k {
                        let r = residual[c];
                        grad[c * d..(c + 1) * d].iter_mut().zip(x).for_each(|(g, &xv)| *g += r * xv as f64);
                        grad[k * d + c] += r;
                    }
                }
                (loss, grad)
            })
            .collect();
        let mut loss = 0.0;
        let mut grad = vec![0.0; k * (d + 1)];
        for (l, g) in partials {
            loss += l;
            grad.iter_mut().zip(g).for_each(|(a, b)| *a += b);
        }
        grad.iter_mut().for_each(|g| *g /= n as f64);
        grad[..k * d].iter_mut().zip(w).for_each(|(g, wv)| *g += self.penalty * wv);
        let value = loss / n as f64 + 0.5 * self.penalty * w.iter().map(|v| v * v).sum::<f64>();
        (value, Array1::from(grad))
    }
}

/// One row's cross-entropy from its logits, writing ∂loss/∂z into `residual`. A single logit
/// is the binary model: P(class 1) = σ(z).
fn row_loss(z: &[f64], target: usize, residual: &mut [f64]) -> f64 {
    if let [z] = z {
        // log(1 + eᶻ) − t·z, computed without overflow for large |z|.
        let softplus = z.max(0.0) + (-z.abs()).exp().ln_1p();
        residual[0] = 1.0 / (1.0 + (-z).exp()) - target as f64;
        return softplus - target as f64 * z;
    }
    let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
    for (c, r) in residual.iter_mut().enumerate() {
        *r = (z[c] - max).exp() / sum - (c == target) as u8 as f64;
    }
    sum.ln() + max - z[target]
}

const STALLED_BUT_CONVERGED: f64 = 1e-6;

/// Limited-memory BFGS (10 pairs) with a backtracking Armijo line search.
fn lbfgs(problem: &Problem, mut x: Array1<f64>, mut history: Curvature, options: &LogisticOptions) -> (Array1<f64>, Curvature, usize, bool) {
    const MEMORY: usize = 10;
    let (mut f, mut g) = problem.evaluate(&x);
    for iteration in 0..options.max_iter {
        if g.iter().fold(0.0f64, |m, v| m.max(v.abs())) < options.tol {
            return (x, history, iteration, true);
        }
        // Two-loop recursion for the direction −H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let a = rho * s.dot(&q);
            q.scaled_add(-a, y);
            alphas.push(a);
        }
        if let Some((s, y, _)) = history.back() {
            q *= s.dot(y) / y.dot(y);
        } else {
            q /= g.dot(&g).sqrt().max(1.0);
        }
        for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
            let beta = rho * y.dot(&q);
            q.scaled_add(a - beta, s);
        }
        let direction = -q;
        let slope = g.dot(&direction);
        if slope >= 0.0 {
            history.clear();
            continue;
        }
        let mut step = 1.0;
        let (next, f_next, g_next) = loop {
            let candidate = &x + &(&direction * step);
            let (fc, gc) = problem.evaluate(&candidate);
            if fc <= f + 1e-4 * step * slope || step < 1e-12 {
                break (candidate, fc, gc);
            }
            step *= 0.5;
        };
        let s = &next - &x;
        let y = &g_next - &g;
        let sy = s.dot(&y);
        let improvement = f - f_next;
        x = next;
        g = g_next;
        f = f_next;
        if sy > 1e-12 {
            if history.len() == MEMORY {
                history.pop_front();
            }
            history.push_back((s, y, 1.0 / sy));
        }
        // A decrease below double precision means the line search cannot see further progress;
        // that happens near |g| ≈ √ε·|f| ≈ 3e-8, so a gradient that small still counts as converged.
        if improvement.abs() <= 1e-15 * f.abs().max(1.0) {
            let gradient = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            return (x, history, iteration + 1, gradient < STALLED_BUT_CONVERGED);
        }
    }
    (x, history, options.max_iter, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heads::argmax;

    #[test]
    fn separable_classes_are_learned_and_gradient_vanishes() {
        // Three classes on three axes with noise-free offsets.
        let mut data = Vec::new();
        let mut y = Vec::new();
        for i in 0..60 {
            let c = i % 3;
            let mut row = vec![0.1 * (i as f32 % 7.0), -0.05 * (i as f32 % 5.0), 0.0];
            row[c] += 3.0;
            data.extend(row);
            y.push(c as u32);
        }
        let x = Matrix::new(60, 3, data).unwrap();
        let rows: Vec<usize> = (0..60).collect();
        let model = fit(&x, &rows, &y, 3, &LogisticOptions::default(), None).unwrap();
        assert!(model.converged, "did not converge in {} iterations", model.iterations);
        let head = model.to_dense();
        let mut out = Vec::new();
        for i in 0..60 {
            let xi: Vec<f64> = x.row(i).iter().map(|&v| v as f64).collect();
            head.apply(&xi, &mut out);
            assert_eq!(argmax(&out), y[i] as usize);
        }
    }
}
