//! Graph convexity (SPEC §1; Tětková et al. 2025): for pairs of rows of one class, the share
//! of the interior nodes of their shortest path in the k-NN graph that belong to that class.

use crate::data::{Labels, Matrix};
use crate::error::{Error, Result};
use crate::graph::{Graph, PairSearch, ShortestPaths};
use crate::knn::{self, knn_exact, KnnLists};
use crate::progress::Progress;
use crate::report::{self, Baseline, ClassScore, SkippedClass};
use crate::rng::{Purpose, Rng};
use crate::stats::mean;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GraphOptions {
    /// Neighbours per row.
    pub k: usize,
    /// Largest number of ordered pairs per class; more are sampled down to this.
    pub n_paths: usize,
    pub seed: u64,
    /// Label permutations for the chance baseline (0 = none).
    pub baseline: usize,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions { k: 10, n_paths: 5000, seed: 0, baseline: 5 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphConvexity {
    /// Unweighted mean of the class scores (0–100).
    pub score: f64,
    /// Standard error of `score` from the class SEMs (ours).
    pub sem: f64,
    pub classes: Vec<ClassScore>,
    pub skipped: Vec<SkippedClass>,
    /// 100 × mean over all scored paths of all classes.
    pub pooled_mean: f64,
    /// Pairs whose endpoints lie in different connected components (scored 0).
    pub no_path: usize,
    pub components: usize,
    pub edges: usize,
    /// Rows whose neighbour search fell back to an exhaustive scan (diagnostic).
    pub exhaustive_rows: usize,
    pub baseline: Option<Baseline>,
}

/// A shortest path between two rows, for drawing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathTrace {
    /// Rows from source to target; empty when they are not connected.
    pub rows: Vec<u32>,
    pub length: f64,
}

/// The k-NN graph of a data set, kept to answer several questions about it.
pub struct NeighbourGraph {
    pub knn: KnnLists,
    pub graph: Graph,
}

impl NeighbourGraph {
    pub fn build(x: &Matrix, k: usize, progress: &mut dyn Progress) -> Result<NeighbourGraph> {
        Self::check(x.rows, k)?;
        Ok(Self::from_lists(knn_exact(x, k, progress)?))
    }

    /// What [`NeighbourGraph::build`] refuses, for callers that search neighbours elsewhere.
    pub fn check(rows: usize, k: usize) -> Result<()> {
        if k == 0 {
            return Err(Error::input("k must be at least 1"));
        }
        if rows < 2 {
            return Err(Error::input(format!("need at least two rows, got {rows}")));
        }
        Ok(())
    }

    pub fn from_lists(knn: KnnLists) -> NeighbourGraph {
        let graph = Graph::from_knn_union(&knn);
        NeighbourGraph { knn, graph }
    }

    /// The path the score uses between rows `a` and `b`.
    pub fn path(&self, a: usize, b: usize) -> Result<PathTrace> {
        let n = self.graph.num_nodes();
        if a >= n || b >= n {
            return Err(Error::input(format!("row index out of range (the data has {n} rows)")));
        }
        let mut search = PairSearch::new(n);
        let mut interior = Vec::new();
        Ok(match search.run(&self.graph, a, b, &mut interior) {
            None => PathTrace { rows: Vec::new(), length: f64::INFINITY },
            Some(()) => {
                let mut rows = vec![a as u32];
                rows.extend(&interior);
                if a != b {
                    rows.push(b as u32);
                }
                PathTrace { rows, length: search.length() }
            }
        })
    }
}

/// One (source, target) path to score for one class under one labelling.
#[derive(Clone, Copy)]
struct Query {
    source: u32,
    target: u32,
    labelling: u32,
    class: u32,
}

pub fn graph_convexity(
    x: &Matrix,
    labels: &Labels,
    options: &GraphOptions,
    progress: &mut dyn Progress,
) -> Result<GraphConvexity> {
    labels.check_rows(x.rows, "the label list")?;
    let graph = NeighbourGraph::build(x, options.k, progress)?;
    score_on_graph(&graph, labels, options, progress)
}

/// The warm-up's data: 512 rows of 128 dimensions in 8 overlapping classes (row i is of
/// class i mod 8, one unit along its class's axis plus unit noise).
pub fn warm_up_data() -> (Matrix, Labels) {
    let (n, d) = (512, 128);
    let mut rng = Rng::new(0, Purpose::Noise, 0, 0);
    let data = (0..n * d).map(|t| ((t / d) % 8 == t % 8) as u8 as f32 + rng.normal() as f32).collect();
    let names: Vec<String> = (0..n).map(|i| (i % 8).to_string()).collect();
    (Matrix::new(n, d, data).expect("n·d values"), Labels::from_strings(&names))
}

/// A small graph-convexity run on generated data (512 rows of 128 dimensions, 8 classes,
/// sampled pairs and one chance permutation, so every search routine runs), once whole and
/// once through the phases a pool worker runs (www/pool.js). The page's workers call it
/// after loading: V8 first runs WebAssembly from quickly compiled baseline code and
/// optimises each function only once it has been used, so without it a person's first
/// analysis runs noticeably slower than the next ones. Returns the two scores, which agree.
pub fn warm_up() -> Result<(f64, f64)> {
    let (x, labels) = warm_up_data();
    let n = x.rows;
    let options = GraphOptions { n_paths: 200, baseline: 1, ..GraphOptions::default() };
    let whole = graph_convexity(&x, &labels, &options, &mut crate::progress::silent())?.score;

    let prep = knn::prepare(&x);
    let mut candidates = knn::Candidates::new(n, knn::candidate_cap(n, options.k));
    knn::scan(&prep, 0..knn::block_pair_count(n), &mut candidates);
    let (neighbors, exhaustive_rows) = knn::refine(&x, &prep, options.k, 0, &candidates);
    let graph = NeighbourGraph::from_lists(KnnLists { k: options.k, neighbors, exhaustive_rows });
    let plan = PathPlan::new(&labels, &options, &graph.graph)?;
    let mut scores = vec![None; plan.num_queries()];
    for (q, score) in score_rows(&graph.graph, &plan, 0..n) {
        scores[q as usize] = score;
    }
    Ok((whole, summarise(&graph, &labels, &plan, &scores).score))
}

/// The scores on a graph already built (so a layer sweep or a page can reuse it).
pub fn score_on_graph(
    g: &NeighbourGraph,
    labels: &Labels,
    options: &GraphOptions,
    progress: &mut dyn Progress,
) -> Result<GraphConvexity> {
    let plan = PathPlan::new(labels, options, &g.graph)?;
    let scores = score_queries(&g.graph, &plan, progress)?;
    Ok(summarise(g, labels, &plan, &scores))
}

/// Every path to score, grouped by the row its search starts from: a pure function of the
/// labels, options and graph, so workers that each rebuild it agree on the numbering of
/// queries.
pub struct PathPlan {
    labellings: Vec<Vec<u32>>,
    queries: Vec<Query>,
    /// Query numbers grouped by the row their search starts from, in order within a row:
    /// row v's are `order[starts[v]..starts[v + 1]]` (both empty until `search_from`).
    order: Vec<u32>,
    starts: Vec<usize>,
}

impl PathPlan {
    /// What [`PathPlan::draw`] refuses in the options and labels.
    pub fn check(labels: &Labels, options: &GraphOptions) -> Result<()> {
        if options.n_paths == 0 {
            return Err(Error::input("the number of paths per class must be at least 1"));
        }
        report::require_a_scored_class(labels)
    }

    /// The pairs of every labelling (SPEC §1.2): all a summary needs. Where each pair's
    /// search starts is chosen by [`PathPlan::search_from`].
    pub fn draw(labels: &Labels, options: &GraphOptions) -> Result<PathPlan> {
        Self::check(labels, options)?;
        let labellings = labellings(labels, options.seed, options.baseline);
        let num_classes = labels.num_classes();
        let mut queries = Vec::new();
        for (l, codes) in labellings.iter().enumerate() {
            for (c, members) in members_of(codes, num_classes).iter().enumerate() {
                if l == 0 {
                    pairs_for_class(members, options.n_paths, options.seed, c as u32, &mut queries);
                } else {
                    pairs_for_permuted_class(members, options.n_paths, options.seed, l as u32, c as u32, &mut queries);
                }
            }
        }
        Ok(PathPlan { labellings, queries, order: Vec::new(), starts: Vec::new() })
    }

    /// Draws the pairs and chooses where each one's search starts on `graph`.
    pub fn new(labels: &Labels, options: &GraphOptions, graph: &Graph) -> Result<PathPlan> {
        labels.check_rows(graph.num_nodes(), "the label list")?;
        let mut plan = Self::draw(labels, options)?;
        plan.search_from(graph);
        Ok(plan)
    }

    /// Turns the pairs to search from their sparser end on `graph` (whose rows the labels
    /// describe) and groups them by that row, in a counting sort.
    fn search_from(&mut self, graph: &Graph) {
        search_from_the_sparser_end(graph, &self.labellings[0], &mut self.queries);
        let n = graph.num_nodes();
        let mut starts = vec![0usize; n + 1];
        for q in &self.queries {
            starts[q.source as usize + 1] += 1;
        }
        for v in 0..n {
            starts[v + 1] += starts[v];
        }
        let mut order = vec![0u32; self.queries.len()];
        let mut next = starts.clone();
        for (number, q) in self.queries.iter().enumerate() {
            let at = &mut next[q.source as usize];
            order[*at] = number as u32;
            *at += 1;
        }
        (self.order, self.starts) = (order, starts);
    }

    pub fn num_queries(&self) -> usize {
        self.queries.len()
    }

    /// The queries whose search starts at `row`.
    fn group(&self, row: usize) -> &[u32] {
        &self.order[self.starts[row]..self.starts[row + 1]]
    }

    /// Rows that start at least one search.
    fn searched_rows(&self) -> Vec<usize> {
        (0..self.starts.len().saturating_sub(1)).filter(|&v| self.starts[v + 1] > self.starts[v]).collect()
    }
}

/// (query number, path score) of the queries whose search starts at one of `rows`, on one
/// thread: a worker's share of [`score_on_graph`].
pub fn score_rows(graph: &Graph, plan: &PathPlan, rows: std::ops::Range<usize>) -> Vec<(u32, Option<f64>)> {
    let mut state = (Searches::new(graph.num_nodes()), Vec::new(), Vec::new());
    let rows = rows.start.min(graph.num_nodes())..rows.end.min(graph.num_nodes());
    rows.filter(|&v| !plan.group(v).is_empty()).flat_map(|v| score_group(graph, plan, plan.group(v), &mut state)).collect()
}

/// The result from every query's score (`scores[q]` for query q of the plan).
pub fn summarise(g: &NeighbourGraph, labels: &Labels, plan: &PathPlan, scores: &[Option<f64>]) -> GraphConvexity {
    let num_classes = labels.num_classes();
    // Collect per labelling and class, in query order, so sums do not depend on threads.
    let mut per_class = vec![vec![Vec::new(); num_classes]; plan.labellings.len()];
    let mut no_path = 0;
    for (q, s) in plan.queries.iter().zip(scores) {
        per_class[q.labelling as usize][q.class as usize].push(s.unwrap_or(0.0));
        if q.labelling == 0 && s.is_none() {
            no_path += 1;
        }
    }
    let sizes: Vec<usize> = labels.members().iter().map(Vec::len).collect();
    let (mut classes, skipped) = report::summarise_classes(labels, &sizes, &per_class[0]);
    let (score, sem) = report::overall(&classes);
    let permuted: Vec<f64> = per_class[1..]
        .iter()
        .map(|p| report::overall(&report::summarise_classes(labels, &sizes, p).0).0)
        .collect();
    let components = g.graph.components();
    let expected = expected_chance(&g.graph, &components, &sizes);
    let kept = (0..num_classes).filter(|&c| sizes[c] >= 2);
    for (class, c) in classes.iter_mut().zip(kept) {
        class.baseline = Some(expected[c]);
    }
    let real: Vec<f64> = per_class[0].iter().flatten().copied().collect();
    let class_expectations: Vec<f64> = classes.iter().filter_map(|c| c.baseline).collect();
    let expected_overall = if class_expectations.is_empty() { f64::NAN } else { mean(&class_expectations) };
    GraphConvexity {
        score,
        sem,
        classes,
        skipped,
        pooled_mean: if real.is_empty() { f64::NAN } else { 100.0 * mean(&real) },
        no_path,
        components: component_sizes(&components).len(),
        edges: g.graph.num_edges(),
        exhaustive_rows: g.knn.exhaustive_rows,
        baseline: report::baseline(score, permuted, expected_overall),
    }
}

/// The real labels, then `permutations` shuffles of them (stream: LabelPermutation, r).
/// A permutation keeps every class's size, so the same classes are scored.
fn labellings(labels: &Labels, seed: u64, permutations: usize) -> Vec<Vec<u32>> {
    let mut all = vec![labels.codes.clone()];
    for r in 1..=permutations {
        let mut codes = labels.codes.clone();
        Rng::new(seed, Purpose::LabelPermutation, r as u32, 0).shuffle(&mut codes);
        all.push(codes);
    }
    all
}

fn members_of(codes: &[u32], num_classes: usize) -> Vec<Vec<u32>> {
    let mut members = vec![Vec::new(); num_classes];
    for (row, &c) in codes.iter().enumerate() {
        members[c as usize].push(row as u32);
    }
    members
}

/// SPEC §1.2: all m(m−1) ordered pairs when that is at most `n_paths`, else `n_paths` of them
/// drawn without replacement (stream: GraphPairs, 0, class). Pair number p stands for
/// (members[p / (m−1)], the (p mod (m−1))-th other member).
fn pairs_for_class(members: &[u32], n_paths: usize, seed: u64, class: u32, out: &mut Vec<Query>) {
    let m = members.len() as u64;
    if m < 2 {
        return;
    }
    let total = m * (m - 1);
    let chosen: Vec<u64> = if total <= n_paths as u64 {
        (0..total).collect()
    } else {
        Rng::new(seed, Purpose::GraphPairs, 0, class).sample_distinct(total, n_paths as u64)
    };
    out.extend(chosen.into_iter().map(|p| {
        let a = p / (m - 1);
        let r = p % (m - 1);
        let b = if r >= a { r + 1 } else { r };
        Query { source: members[a as usize], target: members[b as usize], labelling: 0, class }
    }));
}

/// Pairs for a chance permutation (ours): when sampling is needed, ⌈n_paths/(m−1)⌉ sources
/// drawn without replacement (stream: GraphPairs, labelling, class), each paired with every
/// other member. Every ordered pair is equally likely to be scored, as with the real labels,
/// but one shortest-path search serves m−1 pairs: permuted targets lie anywhere in the graph,
/// so each search runs almost to the end and this is what keeps the baseline affordable.
fn pairs_for_permuted_class(members: &[u32], n_paths: usize, seed: u64, labelling: u32, class: u32, out: &mut Vec<Query>) {
    let m = members.len() as u64;
    if m < 2 {
        return;
    }
    let sources: Vec<u64> = if m * (m - 1) <= n_paths as u64 {
        (0..m).collect()
    } else {
        let count = (n_paths as u64).div_ceil(m - 1);
        Rng::new(seed, Purpose::GraphPairs, labelling, class).sample_distinct(m, count)
    };
    for a in sources {
        for b in (0..m).filter(|&b| b != a) {
            out.push(Query { source: members[a as usize], target: members[b as usize], labelling, class });
        }
    }
}

/// Turns each real-label pair to start its search from the end whose edges are longer on
/// average (ours; it does not change what is scored). On an undirected graph a search from
/// either end finds a shortest path between them, and a path's score depends only on its
/// interior. A row in a sparse part of its class has class-mates far away, so its search
/// runs far whatever it is asked; a central row's search stops early when it is asked only
/// for rows at least as central. Measured on bench/compare.sh's n = 1,000 data: the paths
/// stage went from 80.4 to 64.5 ms natively. Only classes with more pairs per row than
/// `PAIR_SEARCH_MAX_QUERIES` are turned: where pairs are sparser they are answered one by
/// one by bidirectional searches, whose cost does not depend on the direction, and turning
/// them only merged groups past that limit (n = 10,000: paths 0.68 → 0.83 s natively).
/// Equal-length paths (ties) may come out differently than from the other end; SPEC §1
/// leaves those open. Chance permutations keep their sources, each of which serves all of
/// its class.
fn search_from_the_sparser_end(graph: &Graph, codes: &[u32], queries: &mut [Query]) {
    let num_classes = codes.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let (mut rows, mut pairs) = (vec![0usize; num_classes], vec![0usize; num_classes]);
    codes.iter().for_each(|&c| rows[c as usize] += 1);
    queries.iter().filter(|q| q.labelling == 0).for_each(|q| pairs[q.class as usize] += 1);
    let dense: Vec<bool> = (0..num_classes).map(|c| pairs[c] > PAIR_SEARCH_MAX_QUERIES * rows[c]).collect();
    let spread: Vec<f64> = (0..graph.num_nodes()).map(|v| graph.mean_edge(v)).collect();
    for q in queries.iter_mut().filter(|q| q.labelling == 0 && dense[q.class as usize]) {
        if spread[q.target as usize] > spread[q.source as usize] {
            std::mem::swap(&mut q.source, &mut q.target);
        }
    }
}

fn component_sizes(components: &[u32]) -> Vec<usize> {
    let mut sizes = std::collections::BTreeMap::new();
    for &c in components {
        *sizes.entry(c).or_insert(0usize) += 1;
    }
    sizes.into_values().collect()
}

/// Exact expected class score (0–100) over all label permutations (ours). Under a random
/// permutation a pair of class c is a uniformly random pair of distinct rows, and every other
/// row is of class c with probability (m−2)/(n−2), independently of the path. So the
/// expectation is P(adjacent) · 1 + P(connected, not adjacent) · (m−2)/(n−2).
fn expected_chance(graph: &Graph, components: &[u32], sizes: &[usize]) -> Vec<f64> {
    let n = graph.num_nodes() as f64;
    let ordered_pairs = n * (n - 1.0);
    let adjacent = 2.0 * graph.num_edges() as f64 / ordered_pairs;
    let connected = component_sizes(components).iter().map(|&s| (s * s.saturating_sub(1)) as f64).sum::<f64>() / ordered_pairs;
    sizes
        .iter()
        .map(|&m| {
            let share = if n > 2.0 { (m as f64 - 2.0).max(0.0) / (n - 2.0) } else { 0.0 };
            100.0 * (adjacent + (connected - adjacent) * share)
        })
        .collect()
}

/// Path score of every query (SPEC §1.4), `None` when there is no path. One Dijkstra per
/// distinct source serves every labelling and class.
fn score_queries(graph: &Graph, plan: &PathPlan, progress: &mut dyn Progress) -> Result<Vec<Option<f64>>> {
    let n = graph.num_nodes();
    let rows = plan.searched_rows();
    let mut scores = vec![None; plan.num_queries()];
    let chunk = rows.len().div_ceil(50).max(64);
    for (done, part) in rows.chunks(chunk).enumerate() {
        progress.report("shortest paths", (done * chunk) as f64 / rows.len() as f64)?;
        let results: Vec<Vec<(u32, Option<f64>)>> = part
            .par_iter()
            .map_init(|| (Searches::new(n), Vec::new(), Vec::new()), |state, &v| score_group(graph, plan, plan.group(v), state))
            .collect();
        for (q, s) in results.into_iter().flatten() {
            scores[q as usize] = s;
        }
    }
    progress.report("shortest paths", 1.0)?;
    Ok(scores)
}

/// One thread's search state, reused across sources.
struct Searches {
    from_source: ShortestPaths,
    pair: PairSearch,
}

impl Searches {
    fn new(n: usize) -> Searches {
        Searches { from_source: ShortestPaths::new(n), pair: PairSearch::new(n) }
    }
}

/// Up to this many queries from one source are answered by one bidirectional search each;
/// more by one Dijkstra search that runs until all their targets are settled. (A sampled
/// class's sources mostly have a few targets; a small class's, or a permutation's, m − 1.)
/// One-sided searches settle most of the graph, pair searches a small ball around each end.
/// Measured on bench/compare.sh's data (`convexlens graph … --baseline 0`, 2 cores), paths
/// stage: n = 10,000 (about 5 queries per source): 2.68 s with 4 here, 0.90 s with 8, 0.68 s
/// with 16, 0.66 s with 32; n = 1,000 (about 50): 99 ms with 4, 83 ms with 16, 230 ms when
/// every query is a pair search.
const PAIR_SEARCH_MAX_QUERIES: usize = 16;

/// The scores of the queries `group`, which share one source.
fn score_group(
    graph: &Graph,
    plan: &PathPlan,
    group: &[u32],
    (search, targets, interior): &mut (Searches, Vec<u32>, Vec<u32>),
) -> Vec<(u32, Option<f64>)> {
    let queries = &plan.queries;
    let source = queries[group[0] as usize].source as usize;
    let one_by_one = group.len() <= PAIR_SEARCH_MAX_QUERIES;
    if !one_by_one {
        targets.clear();
        targets.extend(group.iter().map(|&q| queries[q as usize].target));
        search.from_source.run(graph, source, targets);
    }
    group
        .iter()
        .map(|&q| {
            let query = queries[q as usize];
            let found = if one_by_one {
                search.pair.run(graph, source, query.target as usize, interior)
            } else {
                search.from_source.interior(query.target as usize, interior)
            };
            let score = found.map(|()| {
                if interior.is_empty() {
                    1.0
                } else {
                    let codes = &plan.labellings[query.labelling as usize];
                    let same = interior.iter().filter(|&&v| codes[v as usize] == query.class).count();
                    same as f64 / interior.len() as f64
                }
            });
            (q, score)
        })
        .collect()
}
