//! A one-hidden-layer ReLU head trained on frozen embeddings (cross-entropy, Adam, L2), so
//! that its hidden units can be traced like embedding dimensions (SPEC §4.3).

use crate::data::Matrix;
use crate::error::{Error, Result};
use crate::heads::Dense;
use crate::linalg::dot;
use crate::progress::Progress;
use crate::rng::{Purpose, Rng};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MlpOptions {
    pub hidden: usize,
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub seed: u64,
}

impl Default for MlpOptions {
    fn default() -> Self {
        MlpOptions { hidden: 64, epochs: 60, batch: 128, learning_rate: 1e-3, weight_decay: 1e-4, seed: 0 }
    }
}

/// The trained head: hidden = ReLU(first · x), logits = second · hidden.
pub struct MlpHead {
    pub first: Dense,
    pub second: Dense,
}

impl MlpHead {
    /// Hidden activations of every row (rows × hidden), the neurons to trace.
    pub fn hidden(&self, x: &Matrix) -> Matrix {
        let mut out = Vec::with_capacity(x.rows * self.first.outputs());
        let mut h = Vec::new();
        let mut row = vec![0.0; x.cols];
        for r in 0..x.rows {
            row.iter_mut().zip(x.row(r)).for_each(|(o, &v)| *o = v as f64);
            self.first.apply(&row, &mut h);
            out.extend(h.iter().map(|&v| v.max(0.0) as f32));
        }
        Matrix { rows: x.rows, cols: self.first.outputs(), data: out }
    }
}

/// Trains on `rows` of `x` with class codes `y[row]`. Features are standardised inside and
/// the standardisation is folded into the first layer, so the head reads raw embeddings.
pub fn train(x: &Matrix, rows: &[usize], y: &[u32], classes: usize, options: &MlpOptions, progress: &mut dyn Progress) -> Result<MlpHead> {
    if rows.is_empty() || options.hidden == 0 {
        return Err(Error::input("an MLP head needs training rows and at least one hidden unit"));
    }
    let (d, h) = (x.cols, options.hidden);
    let mut mean = vec![0.0; d];
    let mut sd = vec![0.0; d];
    for &r in rows {
        mean.iter_mut().zip(x.row(r)).for_each(|(m, &v)| *m += v as f64);
    }
    mean.iter_mut().for_each(|m| *m /= rows.len() as f64);
    for &r in rows {
        sd.iter_mut().zip(x.row(r)).zip(&mean).for_each(|((s, &v), m)| *s += (v as f64 - m).powi(2));
    }
    sd.iter_mut().for_each(|s| *s = if *s > 0.0 { (*s / rows.len() as f64).sqrt() } else { 1.0 });

    let mut rng = Rng::new(options.seed, Purpose::MlpInit, 0, 0);
    // He initialisation for the ReLU layer, Glorot-like for the output.
    let mut w1: Vec<f64> = (0..h * d).map(|_| rng.normal() * (2.0 / d as f64).sqrt()).collect();
    let mut b1 = vec![0.0; h];
    let mut w2: Vec<f64> = (0..classes * h).map(|_| rng.normal() * (1.0 / h as f64).sqrt()).collect();
    let mut b2 = vec![0.0; classes];
    let sizes = [w1.len(), b1.len(), w2.len(), b2.len()];
    let mut adam: Vec<(Vec<f64>, Vec<f64>)> = sizes.iter().map(|&n| (vec![0.0; n], vec![0.0; n])).collect();
    let mut step = 0;
    let mut order = rows.to_vec();
    let (mut xs, mut hidden, mut gh) = (vec![0.0; d], vec![0.0; h], vec![0.0; h]);
    for epoch in 0..options.epochs {
        progress.report("training the MLP head", epoch as f64 / options.epochs as f64)?;
        rng.shuffle(&mut order);
        for chunk in order.chunks(options.batch.max(1)) {
            let mut g = [vec![0.0; w1.len()], vec![0.0; h], vec![0.0; w2.len()], vec![0.0; classes]];
            for &r in chunk {
                xs.iter_mut().zip(x.row(r)).enumerate().for_each(|(j, (o, &v))| *o = (v as f64 - mean[j]) / sd[j]);
                for k in 0..h {
                    hidden[k] = (b1[k] + dot(&w1[k * d..(k + 1) * d], &xs)).max(0.0);
                }
                let z: Vec<f64> = (0..classes).map(|c| b2[c] + (0..h).map(|k| w2[c * h + k] * hidden[k]).sum::<f64>()).collect();
                let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
                gh.iter_mut().for_each(|v| *v = 0.0);
                for c in 0..classes {
                    let dz = ((z[c] - max).exp() / sum - (y[r] as usize == c) as u8 as f64) / chunk.len() as f64;
                    g[3][c] += dz;
                    for k in 0..h {
                        g[2][c * h + k] += dz * hidden[k];
                        gh[k] += dz * w2[c * h + k];
                    }
                }
                for k in (0..h).filter(|&k| hidden[k] > 0.0) {
                    g[1][k] += gh[k];
                    for j in 0..d {
                        g[0][k * d + j] += gh[k] * xs[j];
                    }
                }
            }
            step += 1;
            for (i, (p, grad)) in [&mut w1, &mut b1, &mut w2, &mut b2].into_iter().zip(g.iter()).enumerate() {
                let decay = if i % 2 == 0 { options.weight_decay } else { 0.0 };
                adam_update(p, grad, &mut adam[i], step, options.learning_rate, decay);
            }
        }
    }
    // Fold the standardisation into the first layer: w·(x − m)/s = (w/s)·x − Σ w m/s.
    let mut first_w = vec![0.0; h * d];
    let mut first_b = b1.clone();
    for k in 0..h {
        for j in 0..d {
            first_w[k * d + j] = w1[k * d + j] / sd[j];
            first_b[k] -= w1[k * d + j] * mean[j] / sd[j];
        }
    }
    Ok(MlpHead {
        first: Dense { weights: first_w, bias: first_b, inputs: d },
        second: Dense { weights: w2, bias: b2, inputs: h },
    })
}

fn adam_update(params: &mut [f64], grad: &[f64], state: &mut (Vec<f64>, Vec<f64>), t: i32, lr: f64, decay: f64) {
    let (c1, c2) = (1.0 - 0.9f64.powi(t), 1.0 - 0.999f64.powi(t));
    for i in 0..params.len() {
        let g = grad[i] + decay * params[i];
        state.0[i] = 0.9 * state.0[i] + 0.1 * g;
        state.1[i] = 0.999 * state.1[i] + 0.001 * g * g;
        params[i] -= lr * (state.0[i] / c1) / ((state.1[i] / c2).sqrt() + 1e-8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::{correct, logits};
    use crate::progress::silent;

    #[test]
    fn learns_xor_which_no_linear_head_can() {
        let points = [(0.0, 0.0, 0), (1.0, 1.0, 0), (0.0, 1.0, 1), (1.0, 0.0, 1)];
        let mut data = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let (a, b, c) = points[i % 4];
            let jitter = (i as f32 * 0.37).sin() * 0.05;
            data.extend([a + jitter, b - jitter]);
            y.push(c);
        }
        let x = Matrix::new(200, 2, data).unwrap();
        let rows: Vec<usize> = (0..200).collect();
        let options = MlpOptions { hidden: 16, epochs: 300, batch: 32, learning_rate: 1e-2, ..MlpOptions::default() };
        let head = train(&x, &rows, &y, 2, &options, &mut silent()).unwrap();
        let hidden = head.hidden(&x);
        let right = correct(&logits(&head.second, &hidden), 2, &y).iter().filter(|&&c| c).count();
        assert_eq!(right, 200);
    }
}
