//! Approximate k-nearest-neighbour lists by NN-descent (Dong, Charikar & Li 2011), for inputs
//! where the exact O(n²·d) search of [`crate::knn`] takes too long, and the choice between the
//! two (exact, approximate, or auto by the number of rows), the recall estimate that goes with
//! an approximate graph, and the memory estimate checked before any graph is built.
//!
//! Written here, not taken from a crate: the Rust NN-descent implementations on crates.io sit
//! inside larger libraries (UMAP, vector search) and draw from unseeded or thread-local RNGs or
//! update neighbour lists from several threads at once, so none gives the same lists natively
//! and in wasm32 for a given seed.
//!
//! Each iteration: (1) sequentially, with one seeded stream, sample ρ·K of each row's *new*
//! pool entries (marking them old) and ρ·K of its reverse new and old neighbours; (2) the local
//! join: for every row, distances between its new candidates and between new and old ones,
//! proposing each pair to both rows; (3) the proposals are applied to the pools. Steps 2–3 run
//! in rounds of a fixed number of rows: the proposals of a round are computed in parallel
//! against the pools as they stood before the round, then applied per target row in the order
//! they were proposed. So the lists depend on the seed only, never on threads or scheduling.
//! Stop when fewer than δ·n·K pool entries changed in an iteration.
//!
//! The search keeps K ≥ k candidates per row (`pool`); at the end each row's pool is re-ranked
//! by exact f64 distance under SPEC §1.1's rules (ties to the lower row, zero distances dropped)
//! and cut to k, so every distance reported is exact and only the membership is approximate.

use crate::data::Matrix;
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::graph_convexity::NeighbourGraph;
use crate::knn::{squared_distance, KnnLists};
use crate::progress::Progress;
use crate::rng::{Purpose, Rng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Rows whose proposals are computed against one snapshot of the pools. Fixed (not derived
/// from the thread count) so the result is the same everywhere; small enough that a round's
/// proposals stay a few tens of MB even in the first iteration, when most pairs improve.
const ROUND: usize = 2048;

/// Rows per parallel task within a round.
const TASK: usize = 64;

/// Which neighbour graph to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GraphKind {
    /// The exact k-NN lists ([`crate::knn::knn_exact`]).
    Exact,
    /// NN-descent.
    Approximate,
    /// Exact up to [`AUTO_APPROXIMATE_ABOVE`] rows, approximate beyond.
    #[default]
    Auto,
}

/// Rows above which `auto` chooses the approximate graph. Measured (convexlens-bench
/// approximate, d = 256, 2 cores): at 20,000 rows the exact search takes about as long as
/// scoring the paths and stays within seconds natively and tens of seconds in a tab, while its
/// cost grows as n²; NN-descent grows about as n, so beyond this the exact search dominates.
pub const AUTO_APPROXIMATE_ABOVE: usize = 20_000;

impl GraphKind {
    /// `Exact` or `Approximate` for data of `rows` rows.
    pub fn resolve(self, rows: usize) -> GraphKind {
        match self {
            GraphKind::Auto if rows > AUTO_APPROXIMATE_ABOVE => GraphKind::Approximate,
            GraphKind::Auto => GraphKind::Exact,
            chosen => chosen,
        }
    }
}

impl std::str::FromStr for GraphKind {
    type Err = Error;
    fn from_str(text: &str) -> Result<GraphKind> {
        match text {
            "exact" => Ok(GraphKind::Exact),
            "approximate" => Ok(GraphKind::Approximate),
            "auto" => Ok(GraphKind::Auto),
            other => Err(Error::input(format!("unknown graph '{other}' (use exact, approximate or auto)"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NnDescentOptions {
    /// Candidates kept per row during the search (K ≥ k); more raise recall at a cost ∝ K².
    pub pool: usize,
    /// Sampling rate ρ: share of a row's new candidates (and of its reverse ones) joined per
    /// iteration.
    pub rho: f64,
    /// Early termination δ: stop when fewer than δ·n·K pool entries changed in an iteration.
    pub delta: f64,
    pub max_iterations: usize,
    /// Seed of the random initial lists and of the sampling (stream NnDescent).
    pub seed: u64,
}

impl Default for NnDescentOptions {
    fn default() -> Self {
        NnDescentOptions { pool: 24, rho: 0.5, delta: 0.001, max_iterations: 30, seed: 0 }
    }
}

/// What a search did (reported with the result).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NnDescentStats {
    pub iterations: usize,
    /// Pool entries changed in each iteration.
    pub updates: Vec<u64>,
    pub distance_evaluations: u64,
    /// Stopped by the δ rule rather than by `max_iterations`.
    pub converged: bool,
}

/// Per-row max-heaps of (f32 squared distance, row), worst at the front, with the paper's
/// new/old flag per entry. Every row holds exactly `cap` entries.
struct Pools {
    cap: usize,
    dist: Vec<f32>,
    row: Vec<u32>,
    fresh: Vec<bool>,
}

impl Pools {
    fn worst(&self, v: usize) -> (f32, u32) {
        (self.dist[v * self.cap], self.row[v * self.cap])
    }
}

/// Replaces the worst entry of one pool by (d, j) when that is better and j is not there yet.
fn offer(dist: &mut [f32], row: &mut [u32], fresh: &mut [bool], d: f32, j: u32) -> bool {
    if (d, j) >= (dist[0], row[0]) || row.contains(&j) {
        return false;
    }
    dist[0] = d;
    row[0] = j;
    fresh[0] = true;
    sift_down(dist, row, fresh, 0);
    true
}

fn sift_down(dist: &mut [f32], row: &mut [u32], fresh: &mut [bool], mut p: usize) {
    let len = dist.len();
    loop {
        let (l, r) = (2 * p + 1, 2 * p + 2);
        let mut big = p;
        if l < len && (dist[l], row[l]) > (dist[big], row[big]) {
            big = l;
        }
        if r < len && (dist[r], row[r]) > (dist[big], row[big]) {
            big = r;
        }
        if big == p {
            return;
        }
        dist.swap(p, big);
        row.swap(p, big);
        fresh.swap(p, big);
        p = big;
    }
}

/// Fixed-capacity lists, one per row, in one allocation.
struct Lists {
    cap: usize,
    items: Vec<u32>,
    len: Vec<u32>,
}

impl Lists {
    fn new(n: usize, cap: usize) -> Lists {
        Lists { cap, items: vec![0; n * cap], len: vec![0; n] }
    }
    fn clear(&mut self) {
        self.len.fill(0);
    }
    fn push(&mut self, v: usize, item: u32) {
        let l = self.len[v] as usize;
        self.items[v * self.cap + l] = item;
        self.len[v] += 1;
    }
    fn row(&self, v: usize) -> &[u32] {
        &self.items[v * self.cap..v * self.cap + self.len[v] as usize]
    }
}

/// A uniform sample of at most `cap` items per row: each offered item gets a random priority
/// and the `cap` smallest are kept (a max-heap on (priority, item)).
struct Reservoir {
    lists: Lists,
    priority: Vec<u64>,
}

impl Reservoir {
    fn new(n: usize, cap: usize) -> Reservoir {
        Reservoir { lists: Lists::new(n, cap), priority: vec![0; n * cap] }
    }
    fn offer(&mut self, v: usize, item: u32, p: u64) {
        let cap = self.lists.cap;
        let base = v * cap;
        let len = self.lists.len[v] as usize;
        let (items, prio) = (&mut self.lists.items[base..base + cap], &mut self.priority[base..base + cap]);
        if len < cap {
            let mut c = len;
            items[c] = item;
            prio[c] = p;
            while c > 0 {
                let parent = (c - 1) / 2;
                if (prio[c], items[c]) <= (prio[parent], items[parent]) {
                    break;
                }
                items.swap(c, parent);
                prio.swap(c, parent);
                c = parent;
            }
            self.lists.len[v] += 1;
        } else if (p, item) < (prio[0], items[0]) {
            items[0] = item;
            prio[0] = p;
            let mut q = 0;
            loop {
                let (l, r) = (2 * q + 1, 2 * q + 2);
                let mut big = q;
                if l < cap && (prio[l], items[l]) > (prio[big], items[big]) {
                    big = l;
                }
                if r < cap && (prio[r], items[r]) > (prio[big], items[big]) {
                    big = r;
                }
                if big == q {
                    break;
                }
                items.swap(q, big);
                prio.swap(q, big);
                q = big;
            }
        }
    }
}

/// A proposal: `candidate` at squared distance `d` for the pool of `target`.
#[derive(Clone, Copy)]
struct Proposal {
    target: u32,
    candidate: u32,
    d: f32,
}

/// ‖a−b‖² in f32 with eight partial sums in a fixed order, so wasm and native agree and the
/// compiler can use SIMD. The difference form (not ‖a‖²+‖b‖²−2a·b) needs no centred copy of
/// the input and does not lose the distance to cancellation when rows lie far from the origin.
#[inline]
pub fn squared_distance_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            let t = x[i] - y[i];
            lanes[i] += t * t;
        }
    }
    let mut tail = 0.0f32;
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += (x - y) * (x - y);
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])) + tail
}

/// Approximate k-NN lists by NN-descent; same rules and type as [`crate::knn::knn_exact`].
pub fn knn_approximate(
    x: &Matrix,
    k: usize,
    options: &NnDescentOptions,
    progress: &mut dyn Progress,
) -> Result<(KnnLists, NnDescentStats)> {
    let n = x.rows;
    if n > u32::MAX as usize {
        return Err(Error::input(format!("{n} rows are more than the neighbour search can index")));
    }
    let cap = options.pool.max(k).min(n.saturating_sub(1));
    let mut stats = NnDescentStats { iterations: 0, updates: Vec::new(), distance_evaluations: 0, converged: false };
    if cap == 0 {
        return Ok((KnnLists { k, neighbors: vec![Vec::new(); n], exhaustive_rows: 0 }, stats));
    }
    progress.report("nearest neighbours", 0.0)?;
    let mut pools = initial_pools(x, cap, options.seed);
    stats.distance_evaluations += (n * cap) as u64;

    let sample = ((options.rho * cap as f64).ceil() as usize).clamp(1, cap);
    let mut new_fwd = Lists::new(n, sample);
    let mut old_fwd = Lists::new(n, cap);
    let mut new_rev = Reservoir::new(n, sample);
    let mut old_rev = Reservoir::new(n, sample);
    let mut proposals: Vec<Proposal> = Vec::new();
    let mut order: Vec<Proposal> = Vec::new();
    let mut offsets = vec![0u32; n + 1];
    let stop_below = options.delta * (n * cap) as f64;
    let rounds = n.div_ceil(ROUND);
    for iteration in 1..=options.max_iterations {
        let mut rng = Rng::new(options.seed, Purpose::NnDescent, iteration as u32, 0);
        sample_candidates(&mut pools, &mut rng, &mut new_fwd, &mut old_fwd, &mut new_rev, &mut old_rev);
        let mut changed = 0u64;
        for r in 0..rounds {
            let fraction = (iteration - 1) as f64 + r as f64 / rounds as f64;
            progress.report("nearest neighbours", (fraction / options.max_iterations as f64).min(0.99))?;
            let rows = r * ROUND..((r + 1) * ROUND).min(n);
            let evaluations =
                local_join(x, &pools, rows, &new_fwd, &old_fwd, &new_rev.lists, &old_rev.lists, &mut proposals);
            stats.distance_evaluations += evaluations;
            changed += apply(&mut pools, &proposals, &mut order, &mut offsets);
        }
        stats.iterations = iteration;
        stats.updates.push(changed);
        if (changed as f64) < stop_below {
            stats.converged = true;
            break;
        }
    }
    progress.report("nearest neighbours", 1.0)?;
    Ok((KnnLists { k, neighbors: exact_lists(x, &pools, k), exhaustive_rows: 0 }, stats))
}

/// The approximate counterpart of [`NeighbourGraph::build`], with what the search did.
pub fn build_approximate(
    x: &Matrix,
    k: usize,
    options: &NnDescentOptions,
    progress: &mut dyn Progress,
) -> Result<(NeighbourGraph, NnDescentStats)> {
    if k == 0 {
        return Err(Error::input("k must be at least 1"));
    }
    if x.rows < 2 {
        return Err(Error::input(format!("need at least two rows, got {}", x.rows)));
    }
    let (knn, stats) = knn_approximate(x, k, options, progress)?;
    let graph = Graph::from_knn_union(&knn);
    Ok((NeighbourGraph { knn, graph }, stats))
}

/// `cap` distinct random other rows per row (stream NnDescent, 0).
fn initial_pools(x: &Matrix, cap: usize, seed: u64) -> Pools {
    let n = x.rows;
    let mut rng = Rng::new(seed, Purpose::NnDescent, 0, 0);
    let mut row = Vec::with_capacity(n * cap);
    for v in 0..n as u64 {
        row.extend(rng.sample_distinct(n as u64 - 1, cap as u64).into_iter().map(|j| (j + u64::from(j >= v)) as u32));
    }
    let mut dist = vec![0.0f32; n * cap];
    let mut fresh = vec![true; n * cap];
    dist.par_chunks_mut(cap)
        .zip(row.par_chunks_mut(cap))
        .zip(fresh.par_chunks_mut(cap))
        .enumerate()
        .for_each(|(v, ((dist, row), fresh))| {
            for (d, &j) in dist.iter_mut().zip(row.iter()) {
                *d = squared_distance_f32(x.row(v), x.row(j as usize));
            }
            for p in (0..cap / 2).rev() {
                sift_down(dist, row, fresh, p);
            }
        });
    Pools { cap, dist, row, fresh }
}

/// Step 1 of an iteration, sequential so one stream serves it: for each row, up to `sample`
/// of its new entries chosen at random (partial Fisher–Yates) and marked old, all of its old
/// entries, and reverse samples of both.
fn sample_candidates(
    pools: &mut Pools,
    rng: &mut Rng,
    new_fwd: &mut Lists,
    old_fwd: &mut Lists,
    new_rev: &mut Reservoir,
    old_rev: &mut Reservoir,
) {
    let (n, cap, sample) = (pools.row.len() / pools.cap, pools.cap, new_fwd.cap);
    new_fwd.clear();
    old_fwd.clear();
    new_rev.lists.clear();
    old_rev.lists.clear();
    let mut fresh = Vec::with_capacity(cap);
    for v in 0..n {
        let base = v * cap;
        fresh.clear();
        for t in 0..cap {
            if pools.fresh[base + t] {
                fresh.push(t);
            } else {
                old_fwd.push(v, pools.row[base + t]);
            }
        }
        let take = fresh.len().min(sample);
        for t in 0..take {
            let pick = t + rng.below((fresh.len() - t) as u64) as usize;
            fresh.swap(t, pick);
            pools.fresh[base + fresh[t]] = false;
            new_fwd.push(v, pools.row[base + fresh[t]]);
        }
    }
    for v in 0..n {
        for &u in new_fwd.row(v) {
            new_rev.offer(u as usize, v as u32, rng.next_u64());
        }
        for &u in old_fwd.row(v) {
            old_rev.offer(u as usize, v as u32, rng.next_u64());
        }
    }
}

/// Step 2 for the rows of one round: every new–new and new–old pair among each row's
/// candidates, proposed to each end whose pool it would improve (judged against the pools as
/// they are now; `apply` re-checks). Proposals come out in row order. Returns the distances
/// computed.
#[allow(clippy::too_many_arguments)]
fn local_join(
    x: &Matrix,
    pools: &Pools,
    rows: std::ops::Range<usize>,
    new_fwd: &Lists,
    old_fwd: &Lists,
    new_rev: &Lists,
    old_rev: &Lists,
    out: &mut Vec<Proposal>,
) -> u64 {
    let end = rows.end;
    let tasks: Vec<(Vec<Proposal>, u64)> = rows
        .step_by(TASK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(new, old): &mut (Vec<u32>, Vec<u32>), start| {
                let mut found = Vec::new();
                let mut evaluations = 0u64;
                for v in start..(start + TASK).min(end) {
                    new.clear();
                    old.clear();
                    for &u in new_fwd.row(v).iter().chain(new_rev.row(v)) {
                        if !new.contains(&u) {
                            new.push(u);
                        }
                    }
                    for &u in old_fwd.row(v).iter().chain(old_rev.row(v)) {
                        if !new.contains(&u) && !old.contains(&u) {
                            old.push(u);
                        }
                    }
                    for (i, &a) in new.iter().enumerate() {
                        let xa = x.row(a as usize);
                        for &b in new[i + 1..].iter().chain(old.iter()) {
                            let d = squared_distance_f32(xa, x.row(b as usize));
                            evaluations += 1;
                            if (d, b) < pools.worst(a as usize) {
                                found.push(Proposal { target: a, candidate: b, d });
                            }
                            if (d, a) < pools.worst(b as usize) {
                                found.push(Proposal { target: b, candidate: a, d });
                            }
                        }
                    }
                }
                (found, evaluations)
            },
        )
        .collect();
    out.clear();
    let mut evaluations = 0;
    for (found, e) in tasks {
        out.extend(found);
        evaluations += e;
    }
    evaluations
}

/// Step 3: proposals grouped by target with a stable counting sort, then each pool takes its
/// own in the order they were made (pools are disjoint, so this runs in parallel). Returns the
/// number of pool entries replaced.
fn apply(pools: &mut Pools, proposals: &[Proposal], order: &mut Vec<Proposal>, offsets: &mut [u32]) -> u64 {
    offsets.fill(0);
    for p in proposals {
        offsets[p.target as usize + 1] += 1;
    }
    for v in 1..offsets.len() {
        offsets[v] += offsets[v - 1];
    }
    order.clear();
    order.resize(proposals.len(), Proposal { target: 0, candidate: 0, d: 0.0 });
    let mut next: Vec<u32> = offsets[..offsets.len() - 1].to_vec();
    for &p in proposals {
        order[next[p.target as usize] as usize] = p;
        next[p.target as usize] += 1;
    }
    let cap = pools.cap;
    let offsets = &*offsets;
    let order = &*order;
    pools
        .dist
        .par_chunks_mut(cap)
        .zip(pools.row.par_chunks_mut(cap))
        .zip(pools.fresh.par_chunks_mut(cap))
        .enumerate()
        .map(|(v, ((dist, row), fresh))| {
            order[offsets[v] as usize..offsets[v + 1] as usize]
                .iter()
                .filter(|p| offer(dist, row, fresh, p.d, p.candidate))
                .count() as u64
        })
        .sum()
}

/// Each pool re-ranked by exact f64 distance, ties to the lower row, cut to k, zero distances
/// (exact duplicates) dropped: SPEC §1.1 applied to the candidates found. Only entries that
/// can be among the k nearest are re-measured: a sum of d positive f32 terms in eight lanes
/// errs by a relative γ ≈ (d/8 + 4)·2⁻²⁴, so an entry whose f32 value exceeds the k-th
/// smallest by more than a factor (1 + γ)² (here bounded generously) is surely farther.
fn exact_lists(x: &Matrix, pools: &Pools, k: usize) -> Vec<Vec<(u32, f64)>> {
    let slack = 1.0 + (x.cols as f32 + 16.0) * f32::EPSILON;
    pools
        .row
        .par_chunks(pools.cap)
        .zip(pools.dist.par_chunks(pools.cap))
        .enumerate()
        .map(|(v, (rows, dist))| {
            let mut approximate: Vec<(f32, u32)> = dist.iter().copied().zip(rows.iter().copied()).collect();
            approximate.sort_by(|a, b| a.partial_cmp(b).expect("finite distances"));
            let limit = approximate[k.min(approximate.len()) - 1].0 * slack;
            let mut exact: Vec<(f64, u32)> = approximate
                .iter()
                .take_while(|&&(d, _)| d <= limit)
                .map(|&(_, j)| (squared_distance(x.row(v), x.row(j as usize)), j))
                .collect();
            exact.sort_by(|a, b| a.partial_cmp(b).expect("finite distances"));
            exact.into_iter().take(k).filter(|&(d2, _)| d2 > 0.0).map(|(d2, j)| (j, d2.sqrt())).collect()
        })
        .collect()
}

/// Recall@k of neighbour lists, estimated on a seeded sample of rows against their exact
/// neighbours found by brute force (O(sample·n·d)).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecallEstimate {
    /// Share of the sampled rows' exact neighbours that the lists contain; `None` when the
    /// sampled rows have no neighbours at all (every one a duplicate).
    pub recall: Option<f64>,
    pub sample_rows: usize,
    pub seed: u64,
}

/// Rows are drawn without replacement (stream RecallSample); exact lists follow SPEC §1.1.
pub fn estimate_recall(x: &Matrix, knn: &KnnLists, sample: usize, seed: u64) -> RecallEstimate {
    let n = x.rows;
    let count = sample.min(n);
    let rows = Rng::new(seed, Purpose::RecallSample, 0, 0).sample_distinct(n as u64, count as u64);
    let want = (knn.k + 1).min(n);
    let (hits, total) = rows
        .par_iter()
        .map(|&i| {
            let i = i as usize;
            let mut all: Vec<(f64, u32)> = (0..n).map(|j| (squared_distance(x.row(i), x.row(j)), j as u32)).collect();
            let by_distance = |a: &(f64, u32), b: &(f64, u32)| a.partial_cmp(b).expect("finite distances");
            if want < n {
                all.select_nth_unstable_by(want - 1, by_distance);
                all.truncate(want);
            }
            let exact: Vec<u32> = all.into_iter().filter(|&(d2, _)| d2 > 0.0).map(|(_, j)| j).collect();
            let found = exact.iter().filter(|&&j| knn.neighbors[i].iter().any(|&(m, _)| m == j)).count();
            (found, exact.len())
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    RecallEstimate { recall: (total > 0).then(|| hits as f64 / total as f64), sample_rows: count, seed }
}

/// The neighbour graph a result was computed on, as reported in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphInfo {
    /// What was asked for (`auto` by default).
    pub requested: GraphKind,
    /// What was built: `exact` or `approximate`.
    pub kind: GraphKind,
    /// Rows above which `auto` builds the approximate graph.
    pub auto_approximate_above: usize,
    /// For an approximate graph: the search and its estimated recall@k.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nn_descent: Option<NnDescentStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recall: Option<RecallEstimate>,
}

impl GraphInfo {
    pub fn exact(requested: GraphKind) -> GraphInfo {
        GraphInfo { requested, kind: GraphKind::Exact, auto_approximate_above: AUTO_APPROXIMATE_ABOVE, nn_descent: None, recall: None }
    }

    pub fn approximate(requested: GraphKind, stats: NnDescentStats, recall: RecallEstimate) -> GraphInfo {
        GraphInfo {
            requested,
            kind: GraphKind::Approximate,
            auto_approximate_above: AUTO_APPROXIMATE_ABOVE,
            nn_descent: Some(stats),
            recall: Some(recall),
        }
    }
}

/// Estimated peak bytes of building a neighbour graph of `kind` (resolved) for n rows of d
/// columns and scoring paths on it, beyond the input matrix. Deliberately generous: every
/// vector counted at its full capacity and 8-byte indices assumed.
pub fn graph_memory_bytes(n: usize, d: usize, k: usize, kind: GraphKind, threads: usize) -> u64 {
    let (n, d, k, threads) = (n as u64, d as u64, k as u64, threads.max(1) as u64);
    // Final lists (Vec<(u32, f64)> per row) and the union graph while it is built: an edge
    // list of 2nk (u32, u32, f64), then offsets, targets and weights.
    let lists = n * (24 + 16 * k);
    let graph = 2 * n * k * (16 + 12) + 8 * n;
    // Dijkstra state per thread, labellings for the baseline, components.
    let paths = threads * (n * 24 + 32 * n) + 8 * n * 4;
    let search = match kind {
        GraphKind::Approximate => {
            let defaults = NnDescentOptions::default();
            let cap = defaults.pool.max(k as usize) as u64;
            let sample = (defaults.rho * cap as f64).ceil() as u64;
            // Pools, forward lists, reverse reservoirs, offsets, and one round's proposals
            // (at most 2 per pair of a row's ≤ 2·sample new and ≤ cap + sample old candidates),
            // held up to three times at the peak: per task, gathered, and sorted by target.
            let pairs_per_row = 2 * sample * (2 * sample + cap + sample);
            n * cap * 9 + n * (sample + cap) * 4 + 2 * n * sample * 12 + n * 12 + 3 * 2 * ROUND as u64 * pairs_per_row * 12
        }
        // Centred copy and norms, and one candidate shard of 2(k+1) entries per thread.
        _ => n * (4 * d + 4) + threads * n * (2 * (k + 1) * 8 + 4),
    };
    lists + graph + paths + search
}

/// Errors, naming the file and the sizes, when the estimate for the whole analysis (the bytes
/// already held, `held`, plus [`graph_memory_bytes`]) exceeds `limit` bytes.
pub fn check_memory(file: &str, held: u64, n: usize, d: usize, k: usize, kind: GraphKind, limit: u64) -> Result<()> {
    let graph = graph_memory_bytes(n, d, k, kind, rayon::current_num_threads());
    let total = held.saturating_add(graph);
    if total <= limit {
        return Ok(());
    }
    let mib = |b: u64| b.div_ceil(1 << 20);
    let what = if kind == GraphKind::Approximate { "approximate" } else { "exact" };
    Err(Error::input(format!(
        "{file}: {n} rows x {d} columns with k = {k} need an estimated {} MiB ({} MiB for the files and \
         embeddings held, {} MiB for the {what} neighbour graph and the paths), more than the limit of {} MiB \
         that a browser tab can hold; use fewer rows (per-class subsampling) or the native command line",
        mib(total),
        mib(held),
        mib(graph),
        mib(limit)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knn::knn_exact;
    use crate::progress::silent;

    fn noise(rows: usize, cols: usize, seed: u64) -> Matrix {
        let mut rng = Rng::new(seed, Purpose::Noise, 0, 0);
        Matrix::new(rows, cols, (0..rows * cols).map(|_| rng.normal() as f32).collect()).unwrap()
    }

    #[test]
    fn small_inputs_are_exact() {
        // Pool ≥ n − 1: every row sees every other, so the lists equal the exact ones.
        let x = noise(15, 3, 1);
        let options = NnDescentOptions { pool: 20, ..Default::default() };
        let (got, _) = knn_approximate(&x, 4, &options, &mut silent()).unwrap();
        assert_eq!(got, knn_exact(&x, 4, &mut silent()).unwrap());
    }

    #[test]
    fn duplicates_are_dropped_as_in_the_exact_lists() {
        let x = Matrix::new(5, 1, vec![0.0, 0.0, 0.0, 1.0, -1.0]).unwrap();
        let (got, _) = knn_approximate(&x, 3, &NnDescentOptions::default(), &mut silent()).unwrap();
        assert_eq!(got.neighbors[0], vec![(3, 1.0)]);
        assert_eq!(got.neighbors[3], vec![(0, 1.0), (1, 1.0), (2, 1.0)]);
    }

    #[test]
    fn recall_of_exact_lists_is_one() {
        let x = noise(300, 8, 2);
        let exact = knn_exact(&x, 5, &mut silent()).unwrap();
        let r = estimate_recall(&x, &exact, 50, 0);
        assert_eq!((r.recall, r.sample_rows), (Some(1.0), 50));
    }

    #[test]
    fn f32_kernel_matches_f64() {
        let x = noise(2, 37, 3);
        let (a, b) = (squared_distance_f32(x.row(0), x.row(1)) as f64, squared_distance(x.row(0), x.row(1)));
        assert!((a - b).abs() < 1e-5 * b, "{a} vs {b}");
    }

    #[test]
    fn auto_switches_above_the_threshold() {
        assert_eq!(GraphKind::Auto.resolve(AUTO_APPROXIMATE_ABOVE), GraphKind::Exact);
        assert_eq!(GraphKind::Auto.resolve(AUTO_APPROXIMATE_ABOVE + 1), GraphKind::Approximate);
        assert_eq!(GraphKind::Exact.resolve(10_000_000), GraphKind::Exact);
        assert_eq!("approximate".parse::<GraphKind>().unwrap(), GraphKind::Approximate);
        assert!("fast".parse::<GraphKind>().is_err());
    }
}
