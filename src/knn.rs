//! Exact k-nearest-neighbour lists (SPEC §1.1), in blocks, with memory O(n·k).
//!
//! Two passes. (1) A fast f32 pass: squared distances of centred rows from a matrix product
//! (‖a‖² + ‖b‖² − 2a·b), block pair by block pair, each row keeping a bounded set of
//! candidates. (2) An exact pass: the candidates' distances again in f64 from the original
//! values, then the k+1 nearest by (distance, row index). A rigorous bound on the f32 error
//! tells whether a row's candidates surely contain its true k+1 nearest; when not (rare), that
//! row is scanned exactly against all rows. So the result equals a brute-force f64 search.
//!
//! The passes are also public as phases ([`prepare`], [`scan`], [`Candidates::merge`],
//! [`refine`]) so a caller without threads (the page's pool of Web Workers) can spread them
//! over workers: each candidate set keeps the `cap` smallest (d², row) pairs pushed into it,
//! whatever their order, so any split of the block pairs merges to the same candidates.

use crate::data::Matrix;
use crate::error::Result;
use crate::progress::Progress;
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

/// Candidate lists of a run of rows: for each row up to `cap` (approximate d², row) pairs
/// kept as a max-heap on (d², row), so the worst candidate is at the front. Row r's entries
/// are `dist[r·cap..][..len[r]]` and `row[r·cap..][..len[r]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    pub cap: usize,
    pub dist: Vec<f32>,
    pub row: Vec<u32>,
    pub len: Vec<u32>,
}

impl Candidates {
    pub fn new(rows: usize, cap: usize) -> Self {
        Candidates { cap, dist: vec![0.0; rows * cap], row: vec![0; rows * cap], len: vec![0; rows] }
    }

    #[inline]
    fn push(&mut self, i: usize, d: f32, j: u32) {
        let base = i * self.cap;
        let len = self.len[i] as usize;
        if len == self.cap && d > self.dist[base] {
            // Worse than the worst kept, the common case once the heap is full.
            return;
        }
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

    /// The candidates of both, for the same rows and cap.
    pub fn merge(mut self, other: Candidates) -> Candidates {
        for i in 0..self.len.len() {
            let base = i * other.cap;
            for t in 0..other.len[i] as usize {
                self.push(i, other.dist[base + t], other.row[base + t]);
            }
        }
        self
    }
}

/// Candidates kept per row: slack beyond k+1 so that the certificate almost always holds.
pub fn candidate_cap(rows: usize, k: usize) -> usize {
    (2 * (k + 1)).min(rows)
}

/// What every phase starts from: the rows centred (in f64, stored as f32) and their squared
/// norms. Centring keeps norms small, which makes the f32 expansion accurate and its error
/// bound tight.
pub struct Prepared {
    rows: usize,
    cols: usize,
    centred: Vec<f32>,
    norms: Vec<f32>,
}

pub fn prepare(x: &Matrix) -> Prepared {
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
    Prepared { rows: n, cols: d, centred, norms }
}

/// Block pairs (a, b ≥ a) of a scan over `rows` rows, numbered a-major: the units of work.
pub fn block_pair_count(rows: usize) -> usize {
    let blocks = rows.div_ceil(BLOCK);
    blocks * (blocks + 1) / 2
}

fn block_pairs(rows: usize) -> Vec<(usize, usize)> {
    let blocks = rows.div_ceil(BLOCK);
    (0..blocks).flat_map(|a| (a..blocks).map(move |b| (a, b))).collect()
}

/// Feeds the f32 squared distances of the block pairs numbered `pairs` to `out`, which holds
/// candidates for every row.
pub fn scan(prep: &Prepared, pairs: impl IntoIterator<Item = usize>, out: &mut Candidates) {
    let all = block_pairs(prep.rows);
    let mut buffers = products::Buffers::default();
    for p in pairs {
        let (a, b) = all[p];
        scan_block_pair(prep, a, b, &mut buffers, out);
    }
}

/// The k nearest neighbours of every row under SPEC §1.1's rules.
pub fn knn_exact(x: &Matrix, k: usize, progress: &mut dyn Progress) -> Result<KnnLists> {
    let n = x.rows;
    let prep = prepare(x);
    let pairs = block_pair_count(n);
    let workers = rayon::current_num_threads().max(1);
    let mut shards: Vec<Candidates> = (0..workers).map(|_| Candidates::new(n, candidate_cap(n, k))).collect();
    // Rounds between progress reports; within a round, block pairs are dealt to the workers.
    let rounds = pairs.div_ceil(workers * 4).max(1);
    let per_round = pairs.div_ceil(rounds).max(1);
    for (r, start) in (0..pairs).step_by(per_round).enumerate() {
        progress.report("nearest neighbours", r as f64 / rounds as f64)?;
        let round = start..(start + per_round).min(pairs);
        shards.par_iter_mut().enumerate().for_each(|(w, shard)| {
            scan(&prep, round.clone().skip(w).step_by(workers), shard);
        });
    }
    let merged = shards.into_iter().reduce(Candidates::merge).expect("at least one worker");
    progress.report("nearest neighbours", 1.0)?;
    let (neighbors, exhaustive_rows) = refine(x, &prep, k, 0, &merged);
    Ok(KnnLists { k, neighbors, exhaustive_rows })
}

/// The exact lists of rows `first..` (as many as `candidates` holds) from their merged
/// candidates over all rows, and how many of them needed an exhaustive scan.
pub fn refine(x: &Matrix, prep: &Prepared, k: usize, first: usize, candidates: &Candidates) -> (Vec<Vec<(u32, f64)>>, usize) {
    let n = x.rows;
    let want = (k + 1).min(n);
    let cap = candidates.cap;
    let bound_scale = f32_error_scale(x.cols);
    let max_norm = prep.norms.iter().fold(0.0f64, |m, &v| m.max(v as f64)).sqrt();
    let rows: Vec<(Vec<(u32, f64)>, bool)> = (0..candidates.len.len())
        .into_par_iter()
        .map(|r| {
            let i = first + r;
            let base = r * cap;
            let len = candidates.len[r] as usize;
            let (estimates, rows) = (&candidates.dist[base..base + len], &candidates.row[base..base + len]);
            // Every f32 estimate of this row is within `error` of the exact distance.
            let radius = (prep.norms[i] as f64).sqrt() + max_norm;
            let error = bound_scale * radius * radius;
            // So a candidate whose estimate exceeds the want-th smallest by more than twice
            // that is farther than `want` others, and is not measured: at k = 10, about half
            // of the candidates.
            let mut sorted_estimates = estimates.to_vec();
            let (_, wanted, _) = sorted_estimates.select_nth_unstable_by(want - 1, f32::total_cmp);
            let horizon = *wanted as f64 + 2.0 * error;
            let mut exact: Vec<(f64, u32)> = estimates
                .iter()
                .zip(rows)
                .filter(|&(&e, _)| e as f64 <= horizon)
                .map(|(_, &j)| (squared_distance(x.row(i), x.row(j as usize)), j))
                .collect();
            exact.sort_by(|a, b| a.partial_cmp(b).expect("finite distances"));
            let worst_kept = estimates.iter().fold(f32::MIN, |m, &v| m.max(v));
            let certified = len >= n || (worst_kept as f64) - error > exact[want - 1].0;
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
    let exhaustive = rows.iter().filter(|r| r.1).count();
    (rows.into_iter().map(|r| r.0).collect(), exhaustive)
}

/// Squared distances of block `a` against block `b` (b ≥ a), fed to both rows' candidates.
fn scan_block_pair(prep: &Prepared, a: usize, b: usize, buffers: &mut products::Buffers, out: &mut Candidates) {
    let n = prep.rows;
    let (a0, a1) = (a * BLOCK, ((a + 1) * BLOCK).min(n));
    let (b0, b1) = (b * BLOCK, ((b + 1) * BLOCK).min(n));
    let g = products::block(&prep.centred, prep.cols, a0..a1, b0..b1, buffers);
    let norms = &prep.norms;
    for i in a0..a1 {
        let gi = &g[(i - a0) * BLOCK..];
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

/// Runs only the f32 product kernel over every block pair of `x` (no candidates, one
/// thread), to measure its throughput; returns the useful floating-point operations,
/// 2·d per unordered pair of rows (the diagonal included).
pub fn product_kernel(x: &Matrix) -> f64 {
    let prep = prepare(x);
    let mut buffers = products::Buffers::default();
    let n = prep.rows;
    for (a, b) in block_pairs(n) {
        let g = products::block(&prep.centred, prep.cols, a * BLOCK..((a + 1) * BLOCK).min(n), b * BLOCK..((b + 1) * BLOCK).min(n), &mut buffers);
        std::hint::black_box(g);
    }
    // In f64: n·(n+1) overflows wasm32's usize from n = 65,536.
    n as f64 * (n as f64 + 1.0) * x.cols as f64
}

/// The f32 products c_i·c_j of one block pair, as `g[(i − a0)·BLOCK + (j − b0)]`. When the
/// blocks are the same, only j ≥ i is needed and may be all that is filled in.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod products {
    use super::BLOCK;
    use ndarray::linalg::general_mat_mul;
    use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};
    use std::ops::Range;

    /// matrixmultiply picks AVX2+FMA (or what the CPU has) at run time, which no fixed
    /// kernel here would beat natively.
    #[derive(Default)]
    pub struct Buffers {
        g: Vec<f32>,
    }

    pub fn block<'a>(c: &[f32], d: usize, a: Range<usize>, b: Range<usize>, buffers: &'a mut Buffers) -> &'a [f32] {
        buffers.g.resize(BLOCK * BLOCK, 0.0);
        let rows = |r: &Range<usize>| ArrayView2::from_shape((r.len(), d), &c[r.start * d..r.end * d]).expect("in bounds");
        let mut g = ArrayViewMut2::from_shape((a.len(), b.len()).strides((BLOCK, 1)), &mut buffers.g).expect("fits a block");
        general_mat_mul(1.0, &rows(&a), &rows(&b).t(), 0.0, &mut g);
        &buffers.g
    }
}

/// The wasm simd128 kernel: B's rows packed into panels of NR columns (d × NR, one panel in
/// L1), multiplied by MR rows of A at a time into MR×NR accumulators held in registers.
/// Without fused multiply-add in wasm, each product is rounded, then added in order over d.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod products {
    use super::BLOCK;
    use core::arch::wasm32::*;
    use std::ops::Range;

    /// 4×8 accumulators are 8 vectors; with the operands they fit the 16 vector registers
    /// V8 uses on x86-64 (a 4×12 tile spills).
    const MR: usize = 4;
    const NR: usize = 8;

    #[derive(Default)]
    pub struct Buffers {
        g: Vec<f32>,
        packed: Vec<f32>,
    }

    pub fn block<'a>(c: &[f32], d: usize, a: Range<usize>, b: Range<usize>, buffers: &'a mut Buffers) -> &'a [f32] {
        let Buffers { g, packed } = buffers;
        g.resize(BLOCK * BLOCK, 0.0);
        let (rows, cols) = (a.len(), b.len());
        let panels = cols.div_ceil(NR);
        // Columns past the block's end stay zero; their products are never stored.
        packed.clear();
        packed.resize(panels * NR * d, 0.0);
        for j in 0..cols {
            let (panel, lane) = (j / NR, j % NR);
            let src = &c[(b.start + j) * d..(b.start + j + 1) * d];
            let dst = &mut packed[panel * NR * d..(panel + 1) * NR * d];
            for (p, &v) in src.iter().enumerate() {
                dst[p * NR + lane] = v;
            }
        }
        let same = a == b;
        for panel in 0..panels {
            let j0 = panel * NR;
            let bp = &packed[panel * NR * d..(panel + 1) * NR * d];
            for i0 in (0..rows).step_by(MR) {
                if same && j0 + NR <= i0 {
                    // Entirely below the diagonal: not needed.
                    continue;
                }
                // Past the last row, repeat it: the same work, results not stored.
                let r: [usize; MR] = std::array::from_fn(|t| (a.start + (i0 + t).min(rows - 1)) * d);
                let acc = tile(c, r, bp, d);
                for t in 0..MR.min(rows - i0) {
                    let out = &mut g[(i0 + t) * BLOCK + j0..];
                    // SAFETY: two v128 are eight f32 lanes, lane 0 first (little-endian).
                    let lanes: [f32; NR] = unsafe { std::mem::transmute([acc[2 * t], acc[2 * t + 1]]) };
                    let width = NR.min(cols - j0);
                    out[..width].copy_from_slice(&lanes[..width]);
                }
            }
        }
        g
    }

    /// Products of the rows starting at `r` (offsets into `c`) with the panel `bp` (d × NR).
    #[inline(always)]
    fn tile(c: &[f32], r: [usize; MR], bp: &[f32], d: usize) -> [v128; 2 * MR] {
        assert!(r.iter().all(|&o| o + d <= c.len()) && bp.len() >= d * NR);
        let z = f32x4_splat(0.0);
        let mut acc = [z; 2 * MR];
        // SAFETY: every read is within `c` or `bp` by the assertion above; v128_load and
        // v128_load32_splat need no alignment.
        unsafe {
            let a = r.map(|o| c.as_ptr().add(o));
            let mut b = bp.as_ptr();
            for p in 0..d {
                let b0 = v128_load(b as *const v128);
                let b1 = v128_load(b.add(4) as *const v128);
                for t in 0..MR {
                    let x = v128_load32_splat(a[t].add(p) as *const u32);
                    acc[2 * t] = f32x4_add(acc[2 * t], f32x4_mul(x, b0));
                    acc[2 * t + 1] = f32x4_add(acc[2 * t + 1], f32x4_mul(x, b1));
                }
                b = b.add(NR);
            }
        }
        acc
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

/// ‖a−b‖² in f64 from f32 inputs, the reference every neighbour list is exact against:
/// eight partial sums in a fixed order, so the same on every platform, and several times
/// faster than one serial sum (whose chain of dependent additions made the refinement of
/// candidates at n = 1,000, d = 768 take 10 ms of a 120 ms page run). Partial sums are also
/// slightly more accurate than a serial sum.
pub fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            let t = x[i] as f64 - y[i] as f64;
            lanes[i] += t * t;
        }
    }
    let mut tail = 0.0;
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += (x as f64 - y as f64) * (x as f64 - y as f64);
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])) + tail
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
