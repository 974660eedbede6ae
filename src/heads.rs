//! Classifier heads that label points of the embedding space: a linear head (W, b) and an MLP
//! of dense layers. They supply "the rest of the network" for Euclidean convexity (SPEC §2.3).

use crate::data::Matrix;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    /// The exact (erf) GELU, PyTorch's default.
    Gelu,
    Tanh,
}

impl Activation {
    fn apply(self, v: f64) -> f64 {
        match self {
            Activation::Relu => v.max(0.0),
            Activation::Gelu => 0.5 * v * (1.0 + statrs::function::erf::erf(v / std::f64::consts::SQRT_2)),
            Activation::Tanh => v.tanh(),
        }
    }
}

impl std::str::FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "relu" => Ok(Activation::Relu),
            "gelu" => Ok(Activation::Gelu),
            "tanh" => Ok(Activation::Tanh),
            other => Err(Error::input(format!("unknown activation '{other}' (use relu, gelu or tanh)"))),
        }
    }
}

/// y = W x + b with W stored out × in, in f64 so labels do not depend on summation order.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub weights: Vec<f64>,
    pub bias: Vec<f64>,
    pub inputs: usize,
}

impl Dense {
    /// From W (out×in, as PyTorch stores it; in×out, as Keras does, is transposed when the
    /// input width tells them apart) and b (out).
    pub fn from_arrays(w: &Matrix, b: &[f32], inputs: usize, name: &str) -> Result<Dense> {
        let (outputs, weights) = if w.cols == inputs {
            (w.rows, w.data.iter().map(|&v| v as f64).collect())
        } else if w.rows == inputs {
            let mut t = vec![0.0; w.data.len()];
            for i in 0..w.rows {
                for j in 0..w.cols {
                    t[j * w.rows + i] = w.data[i * w.cols + j] as f64;
                }
            }
            (w.cols, t)
        } else {
            return Err(Error::input(format!(
                "{name}: weights are {}x{} but the layer's input has {inputs} dimensions",
                w.rows, w.cols
            )));
        };
        if b.len() != outputs {
            return Err(Error::input(format!("{name}: bias has {} values, expected {outputs}", b.len())));
        }
        Ok(Dense { weights, bias: b.iter().map(|&v| v as f64).collect(), inputs })
    }

    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    pub fn apply(&self, x: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.extend(self.bias.iter().enumerate().map(|(o, &b)| {
            let row = &self.weights[o * self.inputs..(o + 1) * self.inputs];
            b + crate::linalg::dot(row, x)
        }));
    }
}

/// A head maps a point of the embedding space to class logits.
#[derive(Debug, Clone, PartialEq)]
pub enum Head {
    Linear(Dense),
    /// Dense layers with `activation` between them (not after the last).
    Mlp { layers: Vec<Dense>, activation: Activation },
}

impl Head {
    pub fn outputs(&self) -> usize {
        match self {
            Head::Linear(d) => d.outputs(),
            Head::Mlp { layers, .. } => layers.last().map_or(0, Dense::outputs),
        }
    }

    pub fn inputs(&self) -> usize {
        match self {
            Head::Linear(d) => d.inputs,
            Head::Mlp { layers, .. } => layers.first().map_or(0, |l| l.inputs),
        }
    }

    pub fn mlp(layers: Vec<Dense>, activation: Activation) -> Result<Head> {
        if layers.is_empty() {
            return Err(Error::input("an MLP head needs at least one layer"));
        }
        for (i, pair) in layers.windows(2).enumerate() {
            if pair[0].outputs() != pair[1].inputs {
                return Err(Error::input(format!(
                    "MLP layer {} gives {} values but layer {} takes {}",
                    i + 1,
                    pair[0].outputs(),
                    i + 2,
                    pair[1].inputs
                )));
            }
        }
        Ok(Head::Mlp { layers, activation })
    }

    pub fn logits(&self, x: &[f64]) -> Vec<f64> {
        let mut out = Vec::new();
        match self {
            Head::Linear(d) => d.apply(x, &mut out),
            Head::Mlp { layers, activation } => {
                let mut current = x.to_vec();
                for (i, layer) in layers.iter().enumerate() {
                    layer.apply(&current, &mut out);
                    if i + 1 < layers.len() {
                        out.iter_mut().for_each(|v| *v = activation.apply(*v));
                    }
                    std::mem::swap(&mut current, &mut out);
                }
                out = current;
            }
        }
        out
    }
}

/// Index of the largest value; the first one on ties (as numpy's argmax).
pub fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate().skip(1) {
        if v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_layout_is_transposed_and_mlp_composes() {
        // Keras stores in×out: [[1, 2], [3, 4], [5, 6]] for 3 inputs, 2 outputs.
        let w = Matrix::new(3, 2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let d = Dense::from_arrays(&w, &[0.5, -0.5], 3, "w").unwrap();
        let mut out = Vec::new();
        d.apply(&[1.0, 0.0, -1.0], &mut out);
        assert_eq!(out, vec![1.0 - 5.0 + 0.5, 2.0 - 6.0 - 0.5]);
        let second = Dense { weights: vec![1.0, 1.0], bias: vec![0.0], inputs: 2 };
        let head = Head::mlp(vec![d, second], Activation::Relu).unwrap();
        // ReLU zeroes both negative hidden values.
        assert_eq!(head.logits(&[1.0, 0.0, -1.0]), vec![0.0]);
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
    }
}
