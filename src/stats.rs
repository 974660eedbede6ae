//! Small statistics shared by the scores: means, standard errors, correlations with p-values.

use statrs::distribution::{ContinuousCDF, StudentsT};

pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample standard deviation (ddof = 1); NaN for fewer than two values.
pub fn std_dev(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    let m = mean(values);
    (values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Correlation {
    pub r: f64,
    /// Two-sided p-value of r = 0 from Student's t with n − 2 degrees of freedom (as scipy).
    pub p: f64,
    pub n: usize,
}

/// Pearson's r; `None` when fewer than three pairs or a side is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<Correlation> {
    let n = x.len();
    if n != y.len() || n < 3 {
        return None;
    }
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    let r = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
    let df = (n - 2) as f64;
    let p = if r.abs() == 1.0 {
        0.0
    } else {
        let t = r * (df / (1.0 - r * r)).sqrt();
        let dist = StudentsT::new(0.0, 1.0, df).expect("df > 0");
        2.0 * dist.cdf(-t.abs())
    };
    Some(Correlation { r, p, n })
}

/// Spearman's rho: Pearson's r of the ranks (ties get their average rank), p as scipy.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<Correlation> {
    pearson(&ranks(x), &ranks(y))
}

fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let average = (start + end + 1) as f64 / 2.0; // ranks start at 1
        for &i in &order[start..end] {
            ranks[i] = average;
        }
        start = end;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations_match_scipy() {
        // scipy.stats.pearsonr / spearmanr on these values (scipy 1.17).
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [2.0, 1.0, 4.0, 3.0, 7.0, 5.0];
        let p = pearson(&x, &y).unwrap();
        assert!((p.r - 0.7917946548886295).abs() < 1e-12, "{p:?}");
        assert!((p.p - 0.06051140336275671).abs() < 1e-9, "{p:?}");
        let s = spearman(&x, &[1.0, 1.0, 2.0, 3.0, 3.0, 3.0]).unwrap();
        assert!((s.r - 0.9258200997725515).abs() < 1e-12, "{s:?}");
        assert!((s.p - 0.008049893100837697).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn std_dev_uses_ddof_one() {
        assert!((std_dev(&[1.0, 2.0, 3.0, 4.0]) - 1.2909944487358056).abs() < 1e-15);
        assert!(std_dev(&[1.0]).is_nan());
    }
}
