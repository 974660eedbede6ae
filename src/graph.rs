//! The undirected neighbour graph (SPEC §1.1, union rule) and shortest paths on it.
//!
//! petgraph's `dijkstra` returns distances only, and graph convexity needs the paths, so the
//! searches here keep predecessors; they also reuse their buffers across sources and stop
//! once the targets are settled, which matters because they run once per source row or pair.
//! A sampled class's pairs mostly have sources of their own, and for those a bidirectional
//! search ([`PairSearch`]) settles far fewer nodes: on a k-NN graph the ball around a row
//! grows quickly with its radius, and two balls of half the radius hold a small fraction of
//! one ball of the whole (measured: see `PairSearch`). petgraph's union-find counts the
//! connected components.

use crate::knn::KnnLists;
use petgraph::unionfind::UnionFind;
use std::cmp::Ordering;

/// Compressed adjacency: the neighbours of `v` are `targets[offsets[v]..offsets[v+1]]`.
#[derive(Debug, Clone)]
pub struct Graph {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    weights: Vec<f64>,
}

impl Graph {
    /// Edge {i, j} when j is among i's neighbours or i among j's; weight = their distance.
    pub fn from_knn_union(knn: &KnnLists) -> Graph {
        let n = knn.neighbors.len();
        let mut edges: Vec<(u32, u32, f64)> = Vec::with_capacity(2 * n * knn.k);
        for (i, list) in knn.neighbors.iter().enumerate() {
            for &(j, w) in list {
                edges.push((i as u32, j, w));
                edges.push((j, i as u32, w));
            }
        }
        // Both directions of a mutual pair carry the same f64 distance, so dedup is exact.
        edges.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        edges.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        let mut offsets = vec![0usize; n + 1];
        for &(i, _, _) in &edges {
            offsets[i as usize + 1] += 1;
        }
        for v in 0..n {
            offsets[v + 1] += offsets[v];
        }
        Graph {
            offsets,
            targets: edges.iter().map(|e| e.1).collect(),
            weights: edges.iter().map(|e| e.2).collect(),
        }
    }

    pub fn num_nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn num_edges(&self) -> usize {
        self.targets.len() / 2
    }

    /// Mean weight of the edges of `v` (0 for an isolated node).
    pub fn mean_edge(&self, v: usize) -> f64 {
        let weights = &self.weights[self.offsets[v]..self.offsets[v + 1]];
        if weights.is_empty() {
            0.0
        } else {
            weights.iter().sum::<f64>() / weights.len() as f64
        }
    }

    fn neighbours(&self, v: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.offsets[v]..self.offsets[v + 1];
        self.targets[range.clone()].iter().map(|&t| t as usize).zip(self.weights[range].iter().copied())
    }

    /// Component id of every node (ids are the smallest node of each component).
    pub fn components(&self) -> Vec<u32> {
        let n = self.num_nodes();
        let mut uf = UnionFind::<u32>::new(n);
        for v in 0..n {
            for (t, _) in self.neighbours(v) {
                uf.union(v as u32, t as u32);
            }
        }
        let mut smallest = vec![u32::MAX; n];
        let labels = uf.into_labeling();
        for (v, &root) in labels.iter().enumerate() {
            smallest[root as usize] = smallest[root as usize].min(v as u32);
        }
        labels.iter().map(|&root| smallest[root as usize]).collect()
    }
}

/// Dijkstra's priority queue: pops the smallest distance first. Distances are never
/// negative, and the bits of non-negative floats sort as the floats do, so the heap compares
/// one integer per entry: cheaper than `f64::total_cmp`, and than breaking ties by node as
/// well (the heap is about half the time of a search; measured at n = 1,000: 65 → 57 ms natively).
/// Nodes at exactly equal distances pop in the heap's own order, which depends only on the
/// sequence of pushes and pops, so runs stay deterministic.
#[derive(Default)]
struct Queue {
    heap: std::collections::BinaryHeap<Queued>,
}

#[derive(Clone, Copy)]
struct Queued {
    dist_bits: u64,
    node: u32,
}

impl Ord for Queued {
    /// Reversed, so that `BinaryHeap` pops the nearest.
    fn cmp(&self, other: &Self) -> Ordering {
        other.dist_bits.cmp(&self.dist_bits)
    }
}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.dist_bits == other.dist_bits
    }
}

impl Eq for Queued {}

impl Queue {
    fn clear(&mut self) {
        self.heap.clear();
    }

    fn push(&mut self, dist: f64, node: u32) {
        debug_assert!(dist.is_sign_positive());
        self.heap.push(Queued { dist_bits: dist.to_bits(), node });
    }

    fn pop(&mut self) -> Option<(f64, u32)> {
        self.heap.pop().map(|q| (f64::from_bits(q.dist_bits), q.node))
    }

    fn peek_dist(&self) -> Option<f64> {
        self.heap.peek().map(|q| f64::from_bits(q.dist_bits))
    }
}

/// Reusable Dijkstra state. Distances of nodes a search has not reached are infinite; a
/// search resets only the nodes the previous one touched, so starting a new source costs
/// what that search cost, not O(n), and the hot relaxation needs one comparison.
pub struct ShortestPaths {
    dist: Vec<f64>,
    pred: Vec<u32>,
    /// Nodes whose `dist` the last search set.
    touched: Vec<u32>,
    /// Equal to `current` for the last search's targets.
    wanted: Vec<u32>,
    current: u32,
    heap: Queue,
    source: usize,
}

impl ShortestPaths {
    pub fn new(n: usize) -> Self {
        ShortestPaths {
            dist: vec![f64::INFINITY; n],
            pred: vec![0; n],
            touched: Vec::new(),
            wanted: vec![0; n],
            current: 0,
            heap: Queue::default(),
            source: 0,
        }
    }

    /// Shortest paths from `source` until every node of `targets` is settled (or unreachable).
    /// Ties between equal-length paths go to the path found first, deterministically.
    pub fn run(&mut self, graph: &Graph, source: usize, targets: &[u32]) {
        for &t in &self.touched {
            self.dist[t as usize] = f64::INFINITY;
        }
        self.touched.clear();
        self.current = self.current.wrapping_add(1);
        if self.current == 0 {
            // After 2³² searches the stamps wrap: clear them once.
            self.wanted.fill(0);
            self.current = 1;
        }
        let now = self.current;
        self.source = source;
        self.heap.clear();
        self.dist[source] = 0.0;
        self.pred[source] = source as u32;
        self.touched.push(source as u32);
        self.heap.push(0.0, source as u32);
        let mut remaining = 0usize;
        for &t in targets {
            let t = t as usize;
            if t != source && self.wanted[t] != now {
                self.wanted[t] = now;
                remaining += 1;
            }
        }
        if remaining == 0 {
            return;
        }
        while let Some((dist, node)) = self.heap.pop() {
            let v = node as usize;
            // A node is pushed again only with a strictly shorter distance, so exactly one
            // of its entries carries its final distance: the others are stale.
            if dist > self.dist[v] {
                continue;
            }
            if self.wanted[v] == now {
                remaining -= 1;
                if remaining == 0 {
                    break;
                }
            }
            for (t, w) in graph.neighbours(v) {
                let candidate = dist + w;
                // Never true for a settled node (weights are non-negative).
                if candidate < self.dist[t] {
                    if self.dist[t] == f64::INFINITY {
                        self.touched.push(t as u32);
                    }
                    self.dist[t] = candidate;
                    self.pred[t] = node;
                    self.heap.push(candidate, t as u32);
                }
            }
        }
    }

    /// The nodes strictly between the source and `target` on the path found, or `None` when
    /// `target` is unreachable. Only valid for targets passed to the last `run`, which are
    /// settled unless unreachable.
    pub fn interior(&self, target: usize, out: &mut Vec<u32>) -> Option<()> {
        out.clear();
        if target == self.source {
            return Some(());
        }
        if self.dist[target] == f64::INFINITY {
            return None;
        }
        let mut v = self.pred[target] as usize;
        while v != self.source {
            out.push(v as u32);
            v = self.pred[v] as usize;
        }
        Some(())
    }
}

/// One direction of a [`PairSearch`].
struct Side {
    dist: Vec<f64>,
    pred: Vec<u32>,
    /// Equal to the search's stamp when the node was reached / settled by this side.
    reached: Vec<u32>,
    settled: Vec<u32>,
    heap: Queue,
}

impl Side {
    fn new(n: usize) -> Side {
        Side { dist: vec![0.0; n], pred: vec![0; n], reached: vec![0; n], settled: vec![0; n], heap: Queue::default() }
    }

    fn start(&mut self, node: usize, now: u32) {
        self.heap.clear();
        self.dist[node] = 0.0;
        self.pred[node] = node as u32;
        self.reached[node] = now;
        self.heap.push(0.0, node as u32);
    }

    /// Smallest key in the heap: a lower bound on every unsettled node's distance.
    fn frontier(&self) -> f64 {
        self.heap.peek_dist().unwrap_or(f64::INFINITY)
    }
}

/// Shortest path between two nodes by bidirectional Dijkstra: a search from each end, one
/// step at a time from the side whose frontier is nearer, until the two frontiers together
/// are no nearer than the best path through an edge between the searched regions. Equal-length
/// paths are broken deterministically (by the order of the steps). On the benchmark's
/// 20,000-row graph (d = 256) it settled 9× fewer nodes per pair than a one-sided search.
pub struct PairSearch {
    sides: [Side; 2],
    current: u32,
    length: f64,
}

impl PairSearch {
    pub fn new(n: usize) -> PairSearch {
        PairSearch { sides: [Side::new(n), Side::new(n)], current: 0, length: f64::INFINITY }
    }

    /// Fills `interior` with the nodes strictly between `source` and `target` on a shortest
    /// path, in order from the source; `None` when they are not connected.
    pub fn run(&mut self, graph: &Graph, source: usize, target: usize, interior: &mut Vec<u32>) -> Option<()> {
        interior.clear();
        self.length = 0.0;
        if source == target {
            return Some(());
        }
        self.current = self.current.wrapping_add(1);
        if self.current == 0 {
            for side in &mut self.sides {
                side.reached.fill(0);
                side.settled.fill(0);
            }
            self.current = 1;
        }
        let now = self.current;
        self.sides[0].start(source, now);
        self.sides[1].start(target, now);
        // The best path found so far runs through `meeting`, reached by both searches.
        let mut best = f64::INFINITY;
        let mut meeting = None;
        loop {
            let (forward, backward) = (self.sides[0].frontier(), self.sides[1].frontier());
            if forward.is_infinite() || backward.is_infinite() || forward + backward >= best {
                break;
            }
            let (head, tail) = self.sides.split_at_mut(1);
            let (this, other) = if backward < forward { (&mut tail[0], &mut head[0]) } else { (&mut head[0], &mut tail[0]) };
            let (dist, node) = this.heap.pop().expect("a finite frontier has an entry");
            let v = node as usize;
            if this.settled[v] == now || dist > this.dist[v] {
                continue;
            }
            this.settled[v] = now;
            for (t, w) in graph.neighbours(v) {
                let candidate = dist + w;
                if this.reached[t] != now || candidate < this.dist[t] {
                    this.reached[t] = now;
                    this.dist[t] = candidate;
                    this.pred[t] = node;
                    this.heap.push(candidate, t as u32);
                }
                if other.reached[t] == now && this.dist[t] + other.dist[t] < best {
                    best = this.dist[t] + other.dist[t];
                    meeting = Some(t);
                }
            }
        }
        let meet = meeting?;
        self.length = best;
        // The whole path, source … meet from the forward tree and meet … target from the
        // backward one, then its ends dropped.
        let mut v = meet;
        interior.push(v as u32);
        while v != source {
            v = self.sides[0].pred[v] as usize;
            interior.push(v as u32);
        }
        interior.reverse();
        let mut v = meet;
        while v != target {
            v = self.sides[1].pred[v] as usize;
            interior.push(v as u32);
        }
        interior.pop();
        interior.remove(0);
        Some(())
    }

    /// Length of the path found by the last `run` (0 when source = target; meaningless
    /// when it found none).
    pub fn length(&self) -> f64 {
        self.length
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn knn(lists: Vec<Vec<(u32, f64)>>) -> KnnLists {
        KnnLists { k: 2, neighbors: lists, exhaustive_rows: 0 }
    }

    #[test]
    fn union_rule_and_paths() {
        // 0 → 1 (1.0), 1 → 2 (1.0), 2 → 3 (5.0), 0 → 3 (10.0); 4 is isolated.
        let lists = vec![vec![(1, 1.0), (3, 10.0)], vec![(2, 1.0)], vec![(3, 5.0)], vec![], vec![]];
        let g = Graph::from_knn_union(&knn(lists));
        assert_eq!(g.num_edges(), 4);
        assert_eq!(g.components(), vec![0, 0, 0, 0, 4]);
        let mut sp = ShortestPaths::new(5);
        sp.run(&g, 0, &[3, 4]);
        let mut interior = Vec::new();
        assert!(sp.interior(3, &mut interior).is_some());
        // 0-1-2-3 costs 7 < 10 for the direct edge.
        assert_eq!(interior, vec![2, 1]);
        assert!(sp.interior(4, &mut interior).is_none());
        sp.run(&g, 3, &[2]);
        sp.interior(2, &mut interior).unwrap();
        assert!(interior.is_empty(), "a direct edge has no interior");
    }

    /// Length of a path given as its nodes, checking that consecutive nodes are joined.
    fn walk(g: &Graph, nodes: &[u32]) -> f64 {
        nodes
            .windows(2)
            .map(|e| g.neighbours(e[0] as usize).find(|&(t, _)| t == e[1] as usize).expect("an edge of the graph").1)
            .sum()
    }

    #[test]
    fn pair_search_finds_the_one_sided_shortest_paths() {
        // Three clusters of 40 random points in unit squares, each joined to its 3 nearest;
        // the third square is far away, so some pairs are not connected.
        let mut seed = 7u64;
        let mut uniform = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let points: Vec<(f64, f64)> =
            (0..120).map(|i| ([0.0, 0.8, 100.0][i / 40] + uniform(), uniform())).collect();
        let lists = (0..120)
            .map(|i| {
                let mut by: Vec<(u32, f64)> = (0..120)
                    .filter(|&j| j != i)
                    .map(|j| (j as u32, ((points[i].0 - points[j].0).powi(2) + (points[i].1 - points[j].1).powi(2)).sqrt()))
                    .collect();
                by.sort_by(|a, b| a.1.total_cmp(&b.1));
                by.truncate(3);
                by
            })
            .collect();
        let g = Graph::from_knn_union(&KnnLists { k: 3, neighbors: lists, exhaustive_rows: 0 });
        let components = g.components();
        let (mut sp, mut pair) = (ShortestPaths::new(120), PairSearch::new(120));
        let (mut one_sided, mut two_sided) = (Vec::new(), Vec::new());
        let mut checked = 0;
        for a in (0..120).step_by(7) {
            for b in (0..120).step_by(5).filter(|&b| b != a) {
                sp.run(&g, a, &[b as u32]);
                let expected = sp.interior(b, &mut one_sided);
                let found = pair.run(&g, a, b, &mut two_sided);
                assert_eq!(expected.is_some(), found.is_some(), "{a} → {b}");
                assert_eq!(found.is_some(), components[a] == components[b]);
                if found.is_none() {
                    continue;
                }
                one_sided.reverse();
                let whole = |interior: &[u32]| [&[a as u32][..], interior, &[b as u32]].concat();
                let (l1, l2) = (walk(&g, &whole(&one_sided)), walk(&g, &whole(&two_sided)));
                assert!((l1 - l2).abs() < 1e-12, "{a} → {b}: {l1} vs {l2}");
                assert!((pair.length() - l2).abs() < 1e-12);
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked}");
    }
}
