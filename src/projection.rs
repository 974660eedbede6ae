//! A 2-D principal-component projection for drawing the rows (not a score).

use crate::data::Matrix;

/// Coordinates of every row on the first two principal components, as [x0, y0, x1, y1, ...].
/// Power iteration on the covariance, with a fixed start, so the picture is reproducible.
pub fn pca_2d(x: &Matrix) -> Vec<f32> {
    let (n, d) = (x.rows, x.cols);
    let mut mean = vec![0.0f64; d];
    for i in 0..n {
        for (m, &v) in mean.iter_mut().zip(x.row(i)) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    // Covariance-vector product without forming the d×d matrix: C v = Xcᵀ (Xc v) / n.
    let multiply = |v: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; d];
        for i in 0..n {
            let row = x.row(i);
            let t: f64 = row.iter().zip(&mean).zip(v).map(|((&a, m), b)| (a as f64 - m) * b).sum();
            for ((o, &a), m) in out.iter_mut().zip(row).zip(&mean) {
                *o += t * (a as f64 - m);
            }
        }
        out
    };
    let mut components: Vec<Vec<f64>> = Vec::new();
    for c in 0..2.min(d) {
        let mut v: Vec<f64> = (0..d).map(|j| 1.0 + ((j * 7 + c * 13) % 11) as f64 / 11.0).collect();
        for _ in 0..100 {
            let mut w = multiply(&v);
            for p in &components {
                let dot: f64 = w.iter().zip(p).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(p).for_each(|(a, b)| *a -= dot * b);
            }
            let norm = w.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm == 0.0 {
                break;
            }
            w.iter_mut().for_each(|a| *a /= norm);
            let change: f64 = w.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
            v = w;
            if change < 1e-9 {
                break;
            }
        }
        components.push(v);
    }
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        for c in 0..2 {
            let value = components.get(c).map_or(0.0, |p| {
                x.row(i).iter().zip(&mean).zip(p).map(|((&a, m), b)| (a as f64 - m) * b).sum::<f64>()
            });
            out.push(value as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_direction_of_largest_spread() {
        // (±t, ±t, ±0.1) for t = 1..10: spread along (1, 1, 0), a little along z, uncorrelated.
        let data: Vec<f32> = (1..=10)
            .flat_map(|t| {
                let t = t as f32;
                [[t, t, 0.1], [t, t, -0.1], [-t, -t, 0.1], [-t, -t, -0.1]]
            })
            .flatten()
            .collect();
        let x = Matrix::new(40, 3, data).unwrap();
        let p = pca_2d(&x);
        let first: Vec<f32> = p.iter().step_by(2).copied().collect();
        let second: Vec<f32> = p.iter().skip(1).step_by(2).copied().collect();
        let spread = first.iter().cloned().fold(f32::MIN, f32::max) - first.iter().cloned().fold(f32::MAX, f32::min);
        assert!((spread - 20.0 * 2f32.sqrt()).abs() < 1e-3, "{spread}");
        assert!(second.iter().all(|v| (v.abs() - 0.1).abs() < 1e-5), "{second:?}");
    }
}
