"""Independent check of the digits demo: graph convexity per layer.

k=10 nearest neighbours (Euclidean, self / zero-distance dropped), union-
symmetrised graph with Euclidean edge weights, Dijkstra shortest paths; for
every ordered pair of same-class rows, path score = fraction of interior nodes
of that class (1 for a direct edge, 0 if unreachable); class score = 100 x
mean, overall = mean over classes.

    .venv/bin/python www/demo/check_demo.py
"""
import json
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial.distance import cdist

HERE = Path(__file__).resolve().parent
K = 10


def knn_graph(x):
    d = cdist(x, x)
    n = len(x)
    rows, cols, vals = [], [], []
    for i in range(n):
        order = np.argsort(d[i], kind="stable")
        order = order[(order != i) & (d[i, order] > 0)][:K]
        rows += [i] * len(order)
        cols += order.tolist()
        vals += d[i, order].tolist()
    g = csr_matrix((vals, (rows, cols)), shape=(n, n)).toarray()
    g = np.maximum(g, g.T)  # union symmetrisation (weights are symmetric)
    return csr_matrix(g)


def graph_convexity(x, y):
    g = knn_graph(x.astype(np.float64))
    scores = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        _, pred = dijkstra(g, directed=False, indices=members,
                           return_predecessors=True)
        s = []
        for a, src in enumerate(members):
            for dst in members:
                if dst == src:
                    continue
                if pred[a, dst] < 0:
                    s.append(0.0)
                    continue
                interior = []
                v = pred[a, dst]
                while v != src:
                    interior.append(v)
                    v = pred[a, v]
                s.append(1.0 if not interior else float(np.mean(y[interior] == c)))
        scores.append(100.0 * np.mean(s))
    return float(np.mean(scores))


def main():
    m = json.loads((HERE / "manifest.json").read_text())
    y = np.load(HERE / "labels.npy")
    print("chance (share of a class) ~ %.1f" % (100.0 / len(np.unique(y))))
    print("layer      pretrained  finetuned")
    for layer in m["layers"]:
        pre = graph_convexity(np.load(HERE / layer["pretrained"]), y)
        ft = graph_convexity(np.load(HERE / layer["finetuned"]), y)
        print(f"{layer['name']:<10} {pre:10.2f} {ft:10.2f}")
    print("accuracy", m["accuracy"])


if __name__ == "__main__":
    main()
