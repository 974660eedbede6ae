"""Self-tests of the Python oracle: hand-worked toys and a brute-force
cross-check.  Runs as a plain script (prints "N passed, M failed") and is also
collectable by pytest (the test_* functions use plain asserts).

    /work/main/.venv/bin/python tests/oracle/test_oracle.py
"""

import itertools
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convexity_oracle as co  # noqa: E402


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol


def sem_of(values, m):
    """Hand formula: 100 * sample std (ddof=1) / sqrt(m)."""
    n = len(values)
    mu = sum(values) / n
    var = sum((v - mu) ** 2 for v in values) / (n - 1)
    return 100.0 * math.sqrt(var) / math.sqrt(m)


# --------------------------------------------------------------------------
# Graph convexity, hand-worked toys
# --------------------------------------------------------------------------

def test_gc_toy_tiebreak_duplicates_singleton():
    """1-D, k=1.  positions 0,10,20,21,40,40,100.
    p1 is equidistant (10) from p0 and p2: lower index wins -> p1 lists p0
    only, and p2 lists p3, so there is no edge 1-2 and {0,1} / {2,3} are two
    components.  p4 and p5 are exact duplicates: each one's 2 candidates are
    both at distance 0, so both lists are empty.  p6 is 60 from both p4 and
    p5: lower index -> lists p4.  Edges: 0-1, 2-3, 4-6.
    class a = {0,1,2,3}: 12 ordered pairs, the 4 within-component ones are
    direct edges (1), the 8 cross ones unreachable (0) -> 100/3.
    class d = {4,5}: unreachable both ways -> 0.
    class z = {6}: skipped."""
    X = np.array([[0], [10], [20], [21], [40], [40], [100]], np.float32)
    y = ["a", "a", "a", "a", "d", "d", "z"]
    r = co.graph_convexity(X, y, k=1)
    a = r["classes"]["a"]
    assert a["n"] == 4 and a["pairs"] == 12
    assert close(a["score"], 100.0 / 3.0)
    assert close(a["sem"], 50.0 * math.sqrt(8.0 / 33.0))
    assert close(a["sem"], sem_of([1] * 4 + [0] * 8, 4))
    d = r["classes"]["d"]
    assert d["n"] == 2 and d["pairs"] == 2
    assert d["score"] == 0.0 and d["sem"] == 0.0
    assert "z" not in r["classes"] and r["skipped"] == {"z": 1}
    assert close(r["score"], (100.0 / 3.0 + 0.0) / 2.0)


def test_gc_toy_knn_lists():
    """The neighbour lists of the toy above, spelled out."""
    X = np.array([[0], [10], [20], [21], [40], [40], [100]], np.float32)
    lists, _ = co.knn_lists(X, k=1)
    assert [list(map(int, l)) for l in lists] == \
        [[1], [0], [3], [2], [], [], [4]]
    # k=2 (3 candidates incl. self): p0 -> p1,p2; p1 -> p0,p2 (tie at 10,
    # both fit); p2 -> p3 (1), p1 (10); p3 -> p2 (1), p1 (11); p4/p5 take
    # each other (distance 0, dropped) plus p3 (19 away); p6 -> p4,p5 (60).
    lists, _ = co.knn_lists(X, k=2)
    assert [sorted(map(int, l)) for l in lists] == \
        [[1, 2], [0, 2], [1, 3], [1, 2], [3], [3], [4, 5]]


def test_gc_toy_chain_fractions():
    """1-D, k=1, positions 0,1,3,6,10,15 (gaps 1,2,3,4,5): every row's nearest
    is its left neighbour (p1: p0 at 1 vs p2 at 2), p0's is p1, so the graph
    is the chain 0-1-2-3-4-5 (a tree: paths unique).  labels 1,2,1,2,2,1.
    class 1 = {0,2,5}: 0-2 interior {1}:0; 0-5 interior {1,2,3,4} labels
      2,1,2,2: 1/4; 2-5 interior {3,4}: 0.  mean 1/12.
    class 2 = {1,3,4}: 1-3 interior {2}: 0; 1-4 interior {2,3}: 1/2;
      3-4 direct: 1.  mean 1/2."""
    X = np.array([[0], [1], [3], [6], [10], [15]], np.float32)
    y = np.array([1, 2, 1, 2, 2, 1], np.int64)
    r = co.graph_convexity(X, y, k=1)
    c1, c2 = r["classes"][1], r["classes"][2]
    assert c1["pairs"] == 6 and c2["pairs"] == 6
    assert close(c1["score"], 100.0 / 12.0)
    assert close(c1["sem"], 100.0 / math.sqrt(180.0))
    assert close(c1["sem"], sem_of([0, 0, .25, .25, 0, 0], 3))
    assert close(c2["score"], 50.0)
    assert close(c2["sem"], 100.0 * math.sqrt(0.2) / math.sqrt(3.0))
    assert close(r["score"], (100.0 / 12.0 + 50.0) / 2.0)
    assert r["skipped"] == {}


def test_gc_toy_weighted_beats_hops():
    """2-D, k=2.  A 6-point toy where the shortest weighted path has more
    hops than the fewest-hop path.
        p0=(0,0) p1=(2,0) p2=(4,0)   bottom row, class A,B,A
        p3=(1,1.2) p4=(3,1.2)          upper pair, class A,A
        p5=(2,-3)                      far below, class B
    Distances: p0-p1 2, p1-p2 2, p0-p3 sqrt(2.44)=1.562, p3-p1 1.562,
    p3-p4 2, p4-p2 1.562, p4-p1 1.562, p0-p2 4, p5-p1 3, p5-p0 sqrt(13)=3.606,
    p5-p2 3.606.
    Lists (k=2): p0:[p3 1.562, p1 2]; p1:[p3, p4 (1.562 each)];
      p2:[p4 1.562, p1 2]; p3:[p0 1.562, p1 1.562]; p4:[p1, p2 (1.562)];
      p5:[p1 3, p0 3.606 (lower index than p2)].
    Edges: 0-3,0-1,1-3,1-4,2-4,2-1,3-0,5-1,5-0.  (no 3-4 edge: p3's third
    nearest would be p4 at 2 but only k=2 taken; p4 likewise.)
    class A = {0,2,3,4}:
      0->2: via 0-1-2 = 4 (interior p1=B) vs 0-3-1-4-2 longer; unique 4,
            interior {1}: 0.
      0->3 direct 1.  0->4: 0-1-4 = 3.562 vs 0-3-1-4 = 4.685: interior {1}: 0.
      2->3: 2-1-3 = 3.562: 0.   2->4 direct: 1.   3->4: 3-1-4 = 3.124: 0.
      ordered mean = 2/6 per direction -> 100/3.
    class B = {1,5}: direct edge 1-5 -> 1 both ways -> 100."""
    X = np.array([[0, 0], [2, 0], [4, 0], [1, 1.2], [3, 1.2], [2, -3]],
                 np.float32)
    y = ["A", "B", "A", "A", "A", "B"]
    lists, _ = co.knn_lists(X, k=2)
    assert [sorted(map(int, l)) for l in lists] == \
        [[1, 3], [3, 4], [1, 4], [0, 1], [1, 2], [0, 1]]
    r = co.graph_convexity(X, y, k=2)
    A = r["classes"]["A"]
    assert A["n"] == 4 and A["pairs"] == 12
    assert close(A["score"], 100.0 / 3.0)
    assert close(A["sem"], sem_of([0, 1, 0, 0, 1, 0] * 2, 4))
    B = r["classes"]["B"]
    assert B["score"] == 100.0 and B["sem"] == 0.0
    assert close(r["score"], (100.0 / 3.0 + 100.0) / 2.0)


# --------------------------------------------------------------------------
# Graph convexity, brute force cross-check (independent kNN + all simple
# paths), ties in path length accepted either way
# --------------------------------------------------------------------------

def _brute_gc_pairs(X, labels, k):
    n = len(labels)
    P = [tuple(float(v) for v in row) for row in np.asarray(X, np.float64)]

    def dist(i, j):
        return math.sqrt(sum((a - b) ** 2 for a, b in zip(P[i], P[j])))

    adj = {i: {} for i in range(n)}
    for i in range(n):
        cand = sorted(((dist(i, j), j) for j in range(n)))[: k + 1]
        for dd, j in cand:
            if dd > 0.0:
                adj[i][j] = dd
                adj[j][i] = dd

    def all_paths(a, b):
        out = []
        stack = [(a, [a], 0.0)]
        while stack:
            v, path, L = stack.pop()
            if v == b:
                out.append((L, path))
                continue
            for w, wt in adj[v].items():
                if w not in path:
                    stack.append((w, path + [w], L + wt))
        return out

    res = {}  # (a,b) -> set of acceptable path scores
    for c in set(labels):
        mem = [i for i in range(n) if labels[i] == c]
        for a in mem:
            for b in mem:
                if a == b:
                    continue
                paths = all_paths(a, b)
                if not paths:
                    res[(a, b)] = {0.0}
                    continue
                best = min(L for L, _ in paths)
                acc = set()
                for L, p in paths:
                    if L <= best * (1 + 1e-12):
                        if len(p) <= 2:
                            acc.add(1.0)
                        else:
                            inner = p[1:-1]
                            acc.add(sum(labels[v] == c for v in inner)
                                    / len(inner))
                res[(a, b)] = acc
    return res


def test_gc_brute_force_random():
    rng = np.random.default_rng(12345)
    for trial in range(40):
        n = int(rng.integers(5, 9))
        d = int(rng.integers(1, 4))
        X = rng.normal(size=(n, d)).astype(np.float32)
        if trial % 3 == 0:          # plant exact duplicates
            X[n - 1] = X[0]
        if trial % 5 == 0:          # integer grid -> many distance ties
            X = rng.integers(0, 3, size=(n, d)).astype(np.float32)
        labels = [int(v) for v in rng.integers(0, 3, size=n)]
        k = int(rng.integers(1, 4))
        brute = _brute_gc_pairs(X, labels, k)
        r = co.graph_convexity(X, labels, k=k, return_details=True)
        for c, det in r["details"].items():
            mem = det["members"]
            it = iter(det["path_scores"])
            for a in mem:
                for b in mem:
                    if a == b:
                        continue
                    s = next(it)
                    assert any(close(s, t) for t in brute[(a, b)]), \
                        (trial, c, a, b, s, brute[(a, b)])


def test_gc_tie_ranges_diagnostic():
    """a=(0,0), b=(2,0), u=(1,1), v=(1,-1), k=2: a and b each list u and v
    (sqrt 2) but not each other (2); u, v list a and b.  a->b has two equally
    short paths a-u-b (u in class A: 1) and a-v-b (v in class B: 0).
    class A = {a, b, u}: (a,u), (u,a), (b,u), (u,b) direct = 1; (a,b), (b,a)
    0 or 1 depending on tie-breaking -> class score in [400/6, 100]."""
    X = np.array([[0, 0], [2, 0], [1, 1], [1, -1]], np.float32)
    y = ["A", "A", "A", "B"]
    r = co.graph_convexity(X, y, k=2)
    assert any(close(r["classes"]["A"]["score"], v)
               for v in (400 / 6, 500 / 6, 100.0))
    t = co.gc_tie_ranges(X, y, k=2)["A"]
    assert t["tied"] == 2 and t["relevant"] == 2
    assert close(t["lo"], 400 / 6) and close(t["hi"], 100.0)


# --------------------------------------------------------------------------
# Euclidean convexity, hand-worked toys
# --------------------------------------------------------------------------

def test_ec_toy_1d():
    """d=1, head W=[[-1],[1]], b=0: class 1 iff x>0.  Points on a segment:
    x = lam*xa + (1-lam)*xb, lam = i/11.
    class 0 = {-3,-1,1}: (-3,-1): all <0 -> 1.  (-3,1): x = 1-4i/11 > 0 for
      i=1,2 -> 8/10.  (-1,1): x = 1-2i/11 > 0 for i<=5 -> 5/10.
    class 1 = {2,5.5,-1.1}: (2,5.5) -> 1.  (2,-1.1): 3.1 lam - 1.1 > 0 for
      i>=4 -> 7/10.  (5.5,-1.1): 6.6 lam - 1.1 > 0 for i>=2 -> 9/10."""
    X = np.array([[-3], [-1], [1], [2], [5.5], [-1.1]], np.float32)
    y = np.array([0, 0, 0, 1, 1, 1], np.int64)
    W = np.array([[-1], [1]], np.float32)
    b = np.zeros(2, np.float32)
    r = co.euclidean_convexity_linear(X, y, W, b)
    c0, c1 = r["classes"][0], r["classes"][1]
    assert c0["pairs"] == 3 and c1["pairs"] == 3 and c0["n"] == 3
    assert close(c0["score"], 100 * 2.3 / 3)
    assert close(c0["sem"], sem_of([1, .8, .5], 3))
    assert close(c1["score"], 100 * 2.6 / 3)
    assert close(c1["sem"], sem_of([1, .7, .9], 3))
    assert close(r["score"], (100 * 2.3 / 3 + 100 * 2.6 / 3) / 2)


def test_ec_ties_first_index_and_numeric_order():
    """Labels 10, 9, 100 -> head order [9, 10, 100] (numeric, not
    lexicographic).  W all zero, b = [0, 1, 1]: indices 1 and 2 tie at the
    max -> first -> index 1 -> label 10.  So class 10 scores 100, others 0."""
    X = np.array([[0.], [1.], [2.], [3.], [4.], [5.]], np.float32)
    y = np.array([10, 10, 9, 9, 100, 100], np.int64)
    W = np.zeros((3, 1), np.float32)
    b = np.array([0, 1, 1], np.float32)
    assert co.sorted_classes(y) == [9, 10, 100]
    r = co.euclidean_convexity_linear(X, y, W, b)
    assert r["classes"][10]["score"] == 100.0
    assert r["classes"][9]["score"] == 0.0
    assert r["classes"][100]["score"] == 0.0
    assert r["score"] == 100.0 / 3.0


def test_ec_string_labels_and_skip():
    """String labels sort lexicographically: ['cat','dog','fox'].  2-D head
    picking by sign of x0: W = [[-1,0],[1,0],[0,0]], b=0 -> x0<0 cat,
    x0>0 dog (x0 == 0: cat/dog/fox all 0 -> cat, first index).
    'fox' singleton skipped but still occupies a head row."""
    X = np.array([[-2, 0], [-1, 5], [-3, 1], [1, 0], [4, 4], [9, 9]],
                 np.float32)
    y = np.array(["cat", "cat", "cat", "dog", "dog", "fox"], dtype="<U3")
    W = np.array([[-1, 0], [1, 0], [0, 0]], np.float32)
    b = np.zeros(3, np.float32)
    r = co.euclidean_convexity_linear(X, y, W, b)
    assert set(r["classes"]) == {"cat", "dog"}
    assert r["skipped"] == {"fox": 1}
    assert r["classes"]["cat"]["score"] == 100.0
    assert r["classes"]["cat"]["pairs"] == 3
    assert r["classes"]["dog"]["score"] == 100.0
    assert r["classes"]["dog"]["pairs"] == 1
    assert math.isnan(r["classes"]["dog"]["sem"])  # one pair: undefined


def test_gc_string_labels_keep_type():
    X = np.array([[0], [1], [2], [10], [11]], np.float32)
    y = np.array(["x", "x", "x", "y", "y"], dtype="<U1")
    r = co.graph_convexity(X, y, k=2)
    assert set(r["classes"]) == {"x", "y"}
    assert r["classes"]["x"]["score"] == 100.0


# --------------------------------------------------------------------------
# properties on the oracle itself (the same ones check_cli.py asks of the CLI)
# --------------------------------------------------------------------------

def test_oracle_properties():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import check_cli as cc
    for name, (X, y, check) in cc.property_cases().items():
        if name.startswith(("iv", "v_")):
            continue
        r = co.graph_convexity(X, y, k=10)
        ok, msg = check({str(c): v for c, v in r["classes"].items()},
                        r["score"])
        assert ok, (name, msg)
    for name, (X0, y0, X1, y1, tol) in cc.invariance_cases().items():
        r0 = co.graph_convexity(X0, y0, k=10)
        r1 = co.graph_convexity(X1, y1, k=10)
        for c in r0["classes"]:
            assert abs(r0["classes"][c]["score"] -
                       r1["classes"][c]["score"]) <= tol, (name, c)


# --------------------------------------------------------------------------

def main():
    tests = [(n, f) for n, f in sorted(globals().items())
             if n.startswith("test_") and callable(f)]
    passed = failed = 0
    for name, f in tests:
        try:
            f()
            print(f"ok    {name}")
            passed += 1
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            print(f"FAIL  {name}: {e!r}")
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
