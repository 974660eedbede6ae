//! Exact k-nearest-neighbour lists (SPEC §1.1), in blocks, with memory O(n·k).
//!
//! Two passes. (1) A fast f32 pass: squared distances of centred rows from a matrix product
//! (‖a‖² + ‖b‖² − 2a·b), block pair by block pair, each row keeping a bounded set of
//! candidates. (2) An exact pass: the candidates' distances again in f64 from the original
//! values, then the k+1 nearest by (distance, row index). A rigorous bound on the f32 error
//! tells whether a row's candidates surely contain its true k+1 nearest; when not (rare), that
//! row is scanned exactly against all rows. So the result equals a brute-force f64 search.

use crate::data::Matrix;
use crate::error::Result;
use crate::progress::Progress;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2};
use rayon::prelude::*;

/// Rows per block: a 256×256 f32 product block fits in L2 and keeps the heaps hot.
const BLOCK: usize = 256;

/// Each row's neighbours, nearest first, self and exact duplicates removed.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnLists {
    pub k: usize,
    /// `neighbors[i]` = (row, Euclidean distance), sorted by (distance, row).
    pub neighbors: Vec<Vec<(u32, f64)>>,
    /// Rows whose candidates could not be certified and were searched exhaustively.
    pub exhaustive_rows: usize,
}

/// Candidate lists of one worker: for each row up to `cap` (approximate d², row) pairs kept
/// as a max-heap on (d², row), so the worst candidate is at the front.
struct Candidates {
    cap: usize,
    dist: Vec<f32>,
    row: Vec<u32>,
    len: Vec<u32>,
}

impl Candidates {
    fn new(n: usize, cap: usize) -> Self {
        Candidates { cap, dist: vec![0.0; n * cap], row: vec![0; n * cap], len: vec![0; n] }
    }

    #[inline]
    fn push(&mut self, i: usize, d: f32, j: u32) {
        let base = i * self.cap;
        let len = self.len[i] as usize;
        let (dist, row) = (&mut self.dist[base..base + self.cap], &mut self.row[base..base + self.cap]);
        let worse = |a: usize, b: usize, dist: &[f32], row: &[u32]| (dist[a], row[a]) > (dist[b], row[b]);
        if len < self.cap {
            // Sift up.
            let mut c = len;
            dist[c] = d;
            row[c] = j;
            while c > 0 {
                let p = (c - 1) / 2;
                if !worse(c, p, dist, row) {
                    break;
                }
                dist.swap(c, p);
                row.swap(c, p);
                c = p;
            }
            self.len[i] += 1;
        } else if (d, j) < (dist[0], row[0]) {
            // Replace the worst and sift down.
            dist[0] = d;
            row[0] = j;
            let mut p = 0;
            loop {
                let (l, r) = (2 * p + 1, 2 * p + 2);
                let mut big = p;
                if l < len && worse(l, big, dist, row) {
                    big = l;
                }
                if r < len && worse(r, big, dist, row) {
                    big = r;
                }
                if big == p {
                    break;
                }
                dist.swap(p, big);
                row.swap(p, big);
                p = big;
            }
        }
    }

    fn merge(mut self, other: Candidates) -> Candidates {
        for i in 0..self.len.len() {
            let base = i * other.cap;
            for t in 0..other.len[i] as usize {
                self.push(i, other.dist[base + t], other.row[base + t]);
            }
        }
        self
    }
}

/// The k nearest neighbours of every row under SPEC §1.1's rules.
pub fn knn_exact(x: &Matrix, k: usize, progress: &mut dyn Progress) -> Result<KnnLists> {
    let n = x.rows;
    let d = x.cols;
    let want = (k + 1).min(n);
    // Slack beyond k+1 so that the certificate below almost always holds.
    let cap = (2 * (k + 1)).min(n);

    let (centred, norms) = centre(x);
    let view = ArrayView2::from_shape((n, d), &centred).expect("shape checked by Matrix");
    let blocks = n.div_ceil(BLOCK);
    let block_pairs: Vec<(usize, usize)> =
        (0..blocks).flat_map(|a| (a..blocks).map(move |b| (a, b))).collect();

    let workers = rayon::current_num_threads().max(1);
    let mut shards: Vec<Candidates> = (0..workers).map(|_| Candidates::new(n, cap)).collect();
    // Rounds between progress reports; within a round, block pairs are dealt to the workers.
    let rounds = block_pairs.len().div_ceil(workers * 4).max(1);
    let per_round = block_pairs.len().div_ceil(rounds);
    for (r, round) in block_pairs.chunks(per_round).enumerate() {
        progress.report("nearest neighbours", r as f64 / rounds as f64)?;
        shards.par_iter_mut().enumerate().for_each(|(w, shard)| {
            let mut product = Array2::<f32>::zeros((BLOCK, BLOCK));
            for &(a, b) in round.iter().skip(w).step_by(workers) {
                scan_block_pair(&view, &norms, a, b, &mut product, shard);
            }
        });
    }
    let merged = shards.into_iter().reduce(Candidates::merge).expect("at least one worker");
    progress.report("nearest neighbours", 1.0)?;

    let bound_scale = f32_error_scale(d);
    let max_norm = norms.iter().fold(0.0f64, |m, &v| m.max(v as f64)).sqrt();
    let rows: Vec<(Vec<(u32, f64)>, bool)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let base = i * cap;
            let len = merged.len[i] as usize;
            let mut exact: Vec<(f64, u32)> = merged.row[base..base + len]
                .iter()
                .map(|&j| (squared_distance(x.row(i), x.row(j as usize)), j))
                .collect();
            exact.sort_by(|a, b| a.partial_cmp(b).expect("finite distances"));
            let worst_kept = merged.dist[base..base + len].iter().fold(f32::MIN, |m, &v| m.max(v));
            let certified = len >= n || {
                let r = (norms[i] as f64).sqrt() + max_norm;
                let error = bound_scale * r * r;
                (worst_kept as f64) - error > exact[want - 1].0
            };
            if !certified {
                exact = (0..n as u32).map(|j| (squared_distance(x.row(i), x.row(j as usize)), j)).collect();
                exact.sort_by(|a, b| a.partial_cmp(b).expect("finite distances"));
            }
            let list = exact
                .into_iter()
                .take(want)
                .filter(|&(d2, _)| d2 > 0.0)
                .map(|(d2, j)| (j, d2.sqrt()))
                .collect();
            (list, !certified)
        })
        .collect();
    let exhaustive_rows = rows.iter().filter(|r| r.1).count();
    Ok(KnnLists { k, neighbors: rows.into_iter().map(|r| r.0).collect(), exhaustive_rows })
}

/// Rows minus the column means (in f64, stored as f32) and their squared norms. Centring
/// keeps norms small, which makes the f32 expansion accurate and its error bound tight.
fn centre(x: &Matrix) -> (Vec<f32>, Vec<f32>) {
    let (n, d) = (x.rows, x.cols);
    let mut mean = vec![0.0f64; d];
    for i in 0..n {
        for (m, &v) in mean.iter_mut().zip(x.row(i)) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    let mut centred = Vec::with_capacity(n * d);
    let mut norms = Vec::with_capacity(n);
    for i in 0..n {
        let mut norm = 0.0f64;
        for (&v, &m) in x.row(i).iter().zip(&mean) {
            let c = (v as f64 - m) as f32;
            norm += c as f64 * c as f64;
            centred.push(c);
        }
        norms.push(norm as f32);
    }
    (centred, norms)
}

/// Squared distances of block `a` against block `b` (b ≥ a), fed to both rows' candidates.
fn scan_block_pair(
    x: &ArrayView2<f32>,
    norms: &[f32],
    a: usize,
    b: usize,
    product: &mut Array2<f32>,
    out: &mut Candidates,
) {
    let n = x.nrows();
    let (a0, a1) = (a * BLOCK, ((a + 1) * BLOCK).min(n));
    let (b0, b1) = (b * BLOCK, ((b + 1) * BLOCK).min(n));
    let mut g = product.slice_mut(s![..a1 - a0, ..b1 - b0]);
    general_mat_mul(1.0, &x.slice(s![a0..a1, ..]), &x.slice(s![b0..b1, ..]).t(), 0.0, &mut g);
    for i in a0..a1 {
        let gi = g.row(i - a0);
        let start = if a == b { i } else { b0 };
        for j in start..b1 {
            let d2 = (norms[i] + norms[j] - 2.0 * gi[j - b0]).max(0.0);
            out.push(i, d2, j as u32);
            if j != i {
                out.push(j, d2, i as u32);
            }
        }
    }
}

/// Multiplier c such that the f32 value of ‖a−b‖² is within c·(‖a‖+max‖·‖)² of the f64 one:
/// a dot product of length d errs by at most γ_d‖a‖‖b‖ (γ_d = du/(1−du), u = 2⁻²⁴); the
/// rounding of the centred inputs and the final sum add a few u more. Deliberately loose.
fn f32_error_scale(d: usize) -> f64 {
    let u = f32::EPSILON as f64 / 2.0;
    let du = (d as f64 + 2.0) * u;
    du / (1.0 - du).max(1e-3) + 8.0 * u
}

/// ‖a−b‖² in f64 from f32 inputs, the reference every neighbour list is exact against.
pub fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&p, &q)| {
            let t = p as f64 - q as f64;
            t * t
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::silent;

    fn brute_force(x: &Matrix, k: usize) -> Vec<Vec<(u32, f64)>> {
        (0..x.rows)
            .map(|i| {
                let mut all: Vec<(f64, u32)> =
                    (0..x.rows as u32).map(|j| (squared_distance(x.row(i), x.row(j as usize)), j)).collect();
                all.sort_by(|a, b| a.partial_cmp(b).unwrap());
                all.into_iter().take(k + 1).filter(|p| p.0 > 0.0).map(|(d, j)| (j, d.sqrt())).collect()
            })
            .collect()
    }

    fn lcg_matrix(rows: usize, cols: usize, seed: u64, offset: f32) -> Matrix {
        let mut s = seed;
        let data = (0..rows * cols)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (s >> 40) as f32 / (1u64 << 24) as f32 + offset
            })
            .collect();
        Matrix::new(rows, cols, data).unwrap()
    }

    #[test]
    fn equals_brute_force_across_block_boundaries() {
        // 600 rows span three blocks; a large offset stresses the f32 expansion.
        let x = lcg_matrix(600, 40, 11, 1000.0);
        let got = knn_exact(&x, 10, &mut silent()).unwrap();
        assert_eq!(got.neighbors, brute_force(&x, 10));
    }

    #[test]
    fn duplicates_and_ties_follow_the_spec() {
        // Rows 0, 1, 2 are identical; row 3 is at distance 1 from them, row 4 at distance 1 too.
        let x = Matrix::new(5, 1, vec![0.0, 0.0, 0.0, 1.0, -1.0]).unwrap();
        let got = knn_exact(&x, 3, &mut silent()).unwrap();
        // Row 0: k+1 = 4 nearest are 0,1,2 (distance 0) and 3 (tie with 4, lower index): drop zeros.
        assert_eq!(got.neighbors[0], vec![(3, 1.0)]);
        assert_eq!(got.neighbors[3], vec![(0, 1.0), (1, 1.0), (2, 1.0)]);
        assert_eq!(got.neighbors[4], vec![(0, 1.0), (1, 1.0), (2, 1.0)]);
    }

    #[test]
    fn fewer_rows_than_k() {
        let x = Matrix::new(3, 1, vec![0.0, 1.0, 3.0]).unwrap();
        let got = knn_exact(&x, 10, &mut silent()).unwrap();
        assert_eq!(got.neighbors[0], vec![(1, 1.0), (2, 3.0)]);
    }
}
