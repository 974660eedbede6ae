//! The undirected neighbour graph (SPEC §1.1, union rule) and shortest paths on it.
//!
//! petgraph's `dijkstra` returns distances only, and graph convexity needs the paths, so the
//! search here keeps predecessors; it also reuses its buffers across sources and stops once a
//! source's targets are settled, which matters because it runs once per source row.
//! petgraph's union-find counts the connected components.

use crate::knn::KnnLists;
use petgraph::unionfind::UnionFind;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

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

/// Heap entry ordered so that `BinaryHeap` pops the smallest distance, then the smallest node.
#[derive(Clone, Copy, PartialEq)]
struct Entry {
    dist: f64,
    node: u32,
}

impl Eq for Entry {}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.dist.total_cmp(&self.dist).then_with(|| other.node.cmp(&self.node))
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Reusable Dijkstra state. `stamp` marks which entries belong to the current search, so
/// starting a new source costs O(1) instead of clearing n-sized arrays.
pub struct ShortestPaths {
    dist: Vec<f64>,
    pred: Vec<u32>,
    stamp: Vec<u32>,
    settled: Vec<u32>,
    wanted: Vec<u32>,
    current: u32,
    heap: BinaryHeap<Entry>,
    source: usize,
}

impl ShortestPaths {
    pub fn new(n: usize) -> Self {
        ShortestPaths {
            dist: vec![0.0; n],
            pred: vec![0; n],
            stamp: vec![0; n],
            settled: vec![0; n],
            wanted: vec![0; n],
            current: 0,
            heap: BinaryHeap::new(),
            source: 0,
        }
    }

    /// Shortest paths from `source` until every node of `targets` is settled (or unreachable).
    /// Ties between equal-length paths go to the path found first, deterministically.
    pub fn run(&mut self, graph: &Graph, source: usize, targets: &[u32]) {
        self.current = self.current.wrapping_add(1);
        if self.current == 0 {
            // After 2³² searches the stamps wrap: clear them once.
            self.stamp.fill(0);
            self.settled.fill(0);
            self.wanted.fill(0);
            self.current = 1;
        }
        let now = self.current;
        self.source = source;
        self.heap.clear();
        self.dist[source] = 0.0;
        self.pred[source] = source as u32;
        self.stamp[source] = now;
        self.heap.push(Entry { dist: 0.0, node: source as u32 });
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
        while let Some(Entry { dist, node }) = self.heap.pop() {
            let v = node as usize;
            if self.settled[v] == now || dist > self.dist[v] {
                continue;
            }
            self.settled[v] = now;
            if self.wanted[v] == now {
                remaining -= 1;
                if remaining == 0 {
                    break;
                }
            }
            for (t, w) in graph.neighbours(v) {
                let candidate = dist + w;
                if self.stamp[t] != now || candidate < self.dist[t] {
                    self.stamp[t] = now;
                    self.dist[t] = candidate;
                    self.pred[t] = node;
                    self.heap.push(Entry { dist: candidate, node: t as u32 });
                }
            }
        }
    }

    /// Length of the path found to `target` (valid when `interior` gives a path).
    pub fn distance(&self, target: usize) -> f64 {
        if target == self.source {
            0.0
        } else {
            self.dist[target]
        }
    }

    /// The nodes strictly between the source and `target` on the path found, or `None` when
    /// `target` is unreachable. Only valid for targets passed to the last `run`.
    pub fn interior(&self, target: usize, out: &mut Vec<u32>) -> Option<()> {
        out.clear();
        if target == self.source {
            return Some(());
        }
        if self.settled[target] != self.current {
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
}
