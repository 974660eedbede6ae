//! A 2-D principal-component projection for drawing the rows (not a score).

use crate::data::Matrix;
use crate::linalg::dot;

/// Rows the axes are estimated from: evenly spaced, so the picture is reproducible. The top
/// two directions of a few thousand rows are those of all rows to within what a scatter plot
/// can show, and the estimate then costs the same for 10,000 rows as for 1,000,000.
const AXIS_ROWS: usize = 2000;

/// Directions iterated together: two more than drawn, so the pair converges at the rate
/// λ₅/λ₂ rather than λ₃/λ₂, which matters for classes of similar spread.
const BLOCK: usize = 4;

/// Coordinates of every row on the first two principal components, as [x0, y0, x1, y1, ...].
/// Subspace iteration with Rayleigh–Ritz on the covariance of (at most) `AXIS_ROWS` rows,
/// from a fixed start.
pub fn pca_2d(x: &Matrix) -> Vec<f32> {
    let (n, d) = (x.rows, x.cols);
    let stride = n.div_ceil(AXIS_ROWS).max(1);
    let sample: Vec<usize> = (0..n).step_by(stride).collect();
    let mut mean = vec![0.0f64; d];
    for &i in &sample {
        mean.iter_mut().zip(x.row(i)).for_each(|(m, &v)| *m += v as f64);
    }
    mean.iter_mut().for_each(|m| *m /= sample.len().max(1) as f64);
    let centred: Vec<Vec<f64>> = sample.iter().map(|&i| x.row(i).iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect()).collect();
    // C V without forming the d×d covariance: Xcᵀ (Xc V) / rows.
    let multiply = |v: &[Vec<f64>]| -> Vec<Vec<f64>> {
        let mut out = vec![vec![0.0; d]; v.len()];
        for row in &centred {
            for (o, vj) in out.iter_mut().zip(v) {
                let t = dot(row, vj);
                o.iter_mut().zip(row).for_each(|(a, &r)| *a += t * r);
            }
        }
        let scale = 1.0 / sample.len().max(1) as f64;
        out.iter_mut().flatten().for_each(|a| *a *= scale);
        out
    };
    let width = BLOCK.min(d);
    let mut v: Vec<Vec<f64>> =
        (0..width).map(|c| (0..d).map(|j| 1.0 + ((j * 7 + c * 13) % 11) as f64 / 11.0).collect()).collect();
    orthonormalise(&mut v);
    for _ in 0..100 {
        let w = multiply(&v);
        // Rayleigh–Ritz: the best directions within span(V), largest first.
        let h: Vec<Vec<f64>> = v.iter().map(|vi| w.iter().map(|wj| dot(vi, wj)).collect()).collect();
        let rotation = symmetric_eigenvectors(h);
        let mut next: Vec<Vec<f64>> =
            rotation.iter().map(|q| (0..d).map(|p| q.iter().zip(&w).map(|(qj, wj)| qj * wj[p]).sum()).collect()).collect();
        orthonormalise(&mut next);
        let settled = next.iter().zip(&v).take(2).all(|(a, b)| 1.0 - dot(a, b).abs() < 1e-10);
        v = next;
        if settled {
            break;
        }
    }
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        for c in 0..2 {
            let value = v.get(c).map_or(0.0, |p| x.row(i).iter().zip(&mean).zip(p).map(|((&a, m), b)| (a as f64 - m) * b).sum::<f64>());
            out.push(value as f32);
        }
    }
    out
}

/// Modified Gram–Schmidt; a direction with nothing left (rank deficiency) becomes zero.
fn orthonormalise(v: &mut [Vec<f64>]) {
    for i in 0..v.len() {
        for j in 0..i {
            let (done, rest) = v.split_at_mut(i);
            let proj = dot(&rest[0], &done[j]);
            rest[0].iter_mut().zip(&done[j]).for_each(|(a, b)| *a -= proj * b);
        }
        let norm = dot(&v[i], &v[i]).sqrt();
        let scale = if norm > 1e-300 { 1.0 / norm } else { 0.0 };
        v[i].iter_mut().for_each(|a| *a *= scale);
    }
}

/// Eigenvectors of a small symmetric matrix by cyclic Jacobi rotations, as rows, by
/// decreasing eigenvalue.
fn symmetric_eigenvectors(mut a: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let m = a.len();
    let mut q: Vec<Vec<f64>> = (0..m).map(|i| (0..m).map(|j| (i == j) as u8 as f64).collect()).collect();
    for _ in 0..50 {
        let off: f64 = (0..m).flat_map(|i| (0..m).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i][j] * a[i][j]).sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..m {
            for r in p + 1..m {
                if a[p][r].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[r][r] - a[p][p]) / (2.0 * a[p][r]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..m {
                    let (akp, akr) = (a[k][p], a[k][r]);
                    a[k][p] = c * akp - s * akr;
                    a[k][r] = s * akp + c * akr;
                }
                for k in 0..m {
                    let (apk, ark) = (a[p][k], a[r][k]);
                    a[p][k] = c * apk - s * ark;
                    a[r][k] = s * apk + c * ark;
                }
                for row in q.iter_mut() {
                    let (qp, qr) = (row[p], row[r]);
                    row[p] = c * qp - s * qr;
                    row[r] = s * qp + c * qr;
                }
            }
        }
    }
    // Column j of q is the eigenvector of eigenvalue a[j][j].
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| a[j][j].total_cmp(&a[i][i]));
    order.iter().map(|&j| (0..m).map(|i| q[i][j]).collect()).collect()
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

    #[test]
    fn matches_the_eigenvectors_of_the_covariance() {
        // 3,000 rows (so the axes come from every other row) in 12 dimensions with spreads
        // 5, 4, 3.9, 3.8, ... along a random rotation: λ₂ and λ₃ are close.
        let (n, d) = (3000, 12);
        let mut rng = crate::rng::Rng::new(3, crate::rng::Purpose::Noise, 0, 0);
        let basis = {
            let mut b: Vec<Vec<f64>> = (0..d).map(|_| (0..d).map(|_| rng.normal()).collect()).collect();
            orthonormalise(&mut b);
            b
        };
        let spreads: Vec<f64> = (0..d).map(|j| if j == 0 { 5.0 } else { 4.0 - 0.1 * (j - 1) as f64 }).collect();
        let data: Vec<f32> = (0..n)
            .flat_map(|_| {
                let z: Vec<f64> = spreads.iter().map(|s| s * rng.normal()).collect();
                (0..d).map(|p| (0..d).map(|j| z[j] * basis[j][p]).sum::<f64>() as f32).collect::<Vec<_>>()
            })
            .collect();
        let x = Matrix::new(n, d, data).unwrap();
        let p = pca_2d(&x);
        // Reference: the covariance of the same every-other rows, by Jacobi on all 12 directions.
        let rows: Vec<usize> = (0..n).step_by(2).collect();
        let mean: Vec<f64> = (0..d).map(|c| rows.iter().map(|&i| x.row(i)[c] as f64).sum::<f64>() / rows.len() as f64).collect();
        let cov: Vec<Vec<f64>> = (0..d)
            .map(|a| (0..d).map(|b| rows.iter().map(|&i| (x.row(i)[a] as f64 - mean[a]) * (x.row(i)[b] as f64 - mean[b])).sum::<f64>() / rows.len() as f64).collect())
            .collect();
        let reference = symmetric_eigenvectors(cov);
        for c in 0..2 {
            let expected: Vec<f64> = (0..n).map(|i| x.row(i).iter().zip(&mean).zip(&reference[c]).map(|((&v, m), e)| (v as f64 - m) * e).sum()).collect();
            let got: Vec<f64> = p.iter().skip(c).step_by(2).map(|&v| v as f64).collect();
            let agreement = dot(&expected, &got).abs() / (dot(&expected, &expected).sqrt() * dot(&got, &got).sqrt());
            assert!(agreement > 1.0 - 1e-6, "component {c}: cosine {agreement}");
        }
    }
}
