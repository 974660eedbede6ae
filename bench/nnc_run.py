#!/usr/bin/env python3
"""Runs the authors' package nnconvexity (installed in bench/.venv, not copied here) on one
data set and prints JSON: the time of its graph-convexity call, the time of its two main
stages, its per-class scores as it returns them (rounded to 2 decimals) and unrounded.

Usage: nnc_run.py X.npy labels.npy [--seed 0]
"""
import argparse
import json
import time
import warnings

import numpy as np

import nnconvexity.graph as nncg

parser = argparse.ArgumentParser()
parser.add_argument("embeddings")
parser.add_argument("labels")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

stages = {"get_nearest_neighbors": 0.0, "compute_paths": 0.0}
per_class = []  # (pair count, unrounded mean) in the order compute_paths is called


# The package returns scores rounded to 2 decimals; wrapping its own functions (looked up as
# module globals at call time) gives stage times and the unrounded means without changing
# what it computes.
def timed(name, fn, keep=False):
    def wrapper(*a, **k):
        t = time.perf_counter()
        out = fn(*a, **k)
        stages[name] += time.perf_counter() - t
        if keep:
            per_class.append((len(out), float(np.mean(out)) if len(out) else float("nan")))
        return out
    return wrapper


nncg.get_nearest_neighbors = timed("get_nearest_neighbors", nncg.get_nearest_neighbors)
nncg.compute_paths = timed("compute_paths", nncg.compute_paths, keep=True)

x = np.load(args.embeddings)
y = np.load(args.labels)
# It picks class members with `labels == i` for i = 0, 1, ... over the label set (not the
# label itself), so labels must be the integers 0..C-1.
assert set(np.unique(y).tolist()) == set(range(len(np.unique(y)))), "labels must be 0..C-1"
# Its pair sampling uses NumPy's global RNG and takes no seed; seed it for a repeatable run.
np.random.seed(args.seed)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    t0 = time.perf_counter()
    overall, classes = nncg.compute_graph_convexity(x, y, n_neighbors=10, max_n_paths=5000, n_parallel=1)
    seconds = time.perf_counter() - t0

labels = [int(label) for label in classes]
out = {
    "seconds": seconds,
    "stages": stages,
    "other_seconds": seconds - sum(stages.values()),
    "score": float(overall),
    "classes": [
        {"label": str(label), "score": float(classes[label]), "pairs": per_class[i][0], "mean_unrounded": 100 * per_class[i][1]}
        for i, label in enumerate(labels)
    ],
    "unreachable_warnings": sum("Couldn't reach" in str(w.message) for w in caught),
}
print(json.dumps(out))
