"""Independent Python reference ("oracle") for convexlens.

Written from the project's SPEC definitions only (not from the Rust sources).

Graph convexity (GC) and Euclidean convexity with a linear head (EC), as in
Tetkova et al., Nature Communications 2025.  Clarity over speed: dense
float64 distance matrices, scipy Dijkstra, plain loops.

Both functions return

    {"score": overall,                      # unweighted mean of class scores
     "classes": {label: {"score", "sem", "n", "pairs"}},
     "skipped": {label: n}}                 # classes with fewer than 2 rows

Labels are kept as given (numpy scalars converted to Python int / str).
"""

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial.distance import cdist


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _labels_list(y):
    """Labels as a list of plain Python values (int or str)."""
    out = []
    for v in np.asarray(y).tolist():
        out.append(v)
    return out


def sorted_classes(y):
    """Unique labels in head order: numbers sorted numerically, strings
    lexicographically."""
    uniq = set(_labels_list(y))
    return sorted(uniq)


def _as_f64(X):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError("X must be 2-D")
    return X.astype(np.float64)


def _class_stats(path_scores, m):
    s = np.asarray(path_scores, dtype=np.float64)
    score = 100.0 * s.mean()
    if len(s) >= 2:
        sem = 100.0 * s.std(ddof=1) / np.sqrt(m)
    else:
        sem = float("nan")  # undefined for a single pair
    return float(score), float(sem)


# --------------------------------------------------------------------------
# graph
# --------------------------------------------------------------------------

def knn_lists(X, k=10):
    """Per row i: the k+1 nearest rows (i itself included as a candidate),
    ties in distance broken by lower row index, then every candidate at
    distance exactly 0 dropped.  Returns (list of index arrays, D)."""
    X64 = _as_f64(X)
    D = cdist(X64, X64, metric="euclidean")
    n = X64.shape[0]
    lists = []
    for i in range(n):
        # lexsort: last key is primary -> distance first, then row index
        order = np.lexsort((np.arange(n), D[i]))
        cand = order[: k + 1]
        keep = cand[D[i, cand] > 0.0]
        lists.append(keep)
    return lists, D


def knn_graph(X, k=10):
    """Symmetric (union rule) kNN graph, weight = Euclidean distance.
    Returns (csr adjacency, dense distance matrix)."""
    lists, D = knn_lists(X, k)
    n = D.shape[0]
    A = np.zeros((n, n), dtype=np.float64)
    for i, nb in enumerate(lists):
        for j in nb:
            A[i, j] = D[i, j]
            A[j, i] = D[i, j]
    # all kept weights are > 0, so zeros really mean "no edge"
    return csr_matrix(A), D


def _path(pred_row, a, b):
    """Node list a..b from a Dijkstra predecessor row (source a)."""
    nodes = [b]
    cur = b
    while cur != a:
        cur = pred_row[cur]
        if cur < 0:
            return None
        nodes.append(cur)
    nodes.reverse()
    return nodes


def path_score(nodes, labels, c):
    """Unreachable -> 0; <= 2 nodes -> 1; otherwise fraction of interior
    nodes (endpoints excluded) labelled c."""
    if nodes is None:
        return 0.0
    if len(nodes) <= 2:
        return 1.0
    interior = nodes[1:-1]
    return sum(1 for v in interior if labels[v] == c) / len(interior)


def graph_convexity(X, y, k=10, return_details=False):
    labels = _labels_list(y)
    n = len(labels)
    if _as_f64(X).shape[0] != n:
        raise ValueError("X and y lengths differ")
    G, _ = knn_graph(X, k)
    classes = {}
    skipped = {}
    details = {}
    for c in sorted_classes(labels):
        members = [i for i in range(n) if labels[i] == c]
        m = len(members)
        if m < 2:
            skipped[c] = m
            continue
        dist, pred = dijkstra(G, directed=False, indices=members,
                              return_predecessors=True)
        scores = []
        path_len = {}
        for ia, a in enumerate(members):
            for b in members:
                if a == b:
                    continue
                if not np.isfinite(dist[ia, b]):
                    nodes = None
                else:
                    nodes = _path(pred[ia], a, b)
                    path_len[(a, b)] = len(nodes)
                scores.append(path_score(nodes, labels, c))
        score, sem = _class_stats(scores, m)
        classes[c] = {"score": score, "sem": sem, "n": m,
                      "pairs": m * (m - 1)}
        if return_details:
            details[c] = {"members": members, "dist": dist,
                          "path_scores": scores, "path_len": path_len}
    overall = float(np.mean([v["score"] for v in classes.values()])) \
        if classes else float("nan")
    out = {"score": overall, "classes": classes, "skipped": skipped}
    if return_details:
        out["details"] = details
    return out


def knn_boundary_ties(X, k=10):
    """Diagnostic only: rows whose (k+1)-th candidate ties in distance with
    the next one, i.e. where the lower-row-index rule decides the list."""
    X64 = _as_f64(X)
    D = cdist(X64, X64)
    n = len(D)
    if n < k + 2:
        return 0
    cnt = 0
    for i in range(n):
        srt = np.sort(D[i])
        if srt[k] == srt[k + 1]:
            cnt += 1
    return cnt


def gc_tie_ranges(X, y, k=10, rtol=1e-12):
    """Diagnostic only (not part of the measure; the SPEC does not say which
    of several equally short paths must be taken).

    For every ordered pair, enumerates the path scores of ALL shortest paths
    (lengths equal up to rtol) via the shortest-path DAG, and returns per
    class a dict with
      tied      -- pairs with more than one shortest path,
      relevant  -- pairs whose shortest paths do not all give the same score,
      lo, hi    -- lowest / highest class score (x100) reachable by choosing
                   among equally short paths (oracle's own choice in between).
    """
    labels = _labels_list(y)
    G, _ = knn_graph(X, k)
    G = G.tocsr()
    res = graph_convexity(X, y, k, return_details=True)["details"]
    out = {}
    for c, det in res.items():
        members = det["members"]
        dist = det["dist"]
        m = len(members)
        lo_sum = hi_sum = 0.0
        tied = rel = 0
        for ia, a in enumerate(members):
            da = dist[ia]
            for ib, b in enumerate(members):
                if a == b:
                    continue
                dab = da[b]
                if not np.isfinite(dab):
                    continue  # unreachable: 0 whatever the tie-breaking
                tol = rtol * max(dab, 1.0)
                on = np.flatnonzero(np.abs(da + dist[ib] - dab) <= tol)
                on = sorted(on.tolist(), key=lambda v: da[v])
                # states[v] = set of (hops, interior nodes labelled c) over
                # shortest a->v paths; interior excludes a and v itself
                states = {a: {(0, 0)}}
                n_paths = {a: 1}
                for v in on:
                    if v == a:
                        continue
                    st = set()
                    cnt = 0
                    row = G.getrow(v)
                    for u, w in zip(row.indices, row.data):
                        if u in states and abs(da[u] + w - da[v]) <= tol:
                            add = 1 if (u != a and labels[u] == c) else 0
                            for h, q in states[u]:
                                st.add((h + 1, q + add))
                            cnt += n_paths[u]
                    if st:
                        states[v] = st
                        n_paths[v] = cnt
                scores = set()
                for h, q in states.get(b, set()):
                    scores.add(1.0 if h <= 1 else q / (h - 1))
                if n_paths.get(b, 0) > 1:
                    tied += 1
                if len(scores) > 1:
                    rel += 1
                lo_sum += min(scores) if scores else 0.0
                hi_sum += max(scores) if scores else 0.0
        npairs = m * (m - 1)
        out[c] = {"tied": tied, "relevant": rel,
                  "lo": 100.0 * lo_sum / npairs, "hi": 100.0 * hi_sum / npairs}
    return out


# --------------------------------------------------------------------------
# Euclidean convexity with a linear head
# --------------------------------------------------------------------------

def predict_linear(P, W, b, head_classes):
    """argmax(W x + b), first index on ties, mapped to class names."""
    logits = np.asarray(P, np.float64) @ np.asarray(W, np.float64).T \
        + np.asarray(b, np.float64)
    idx = np.argmax(logits, axis=1)  # numpy: first index among maxima
    return [head_classes[i] for i in idx], logits


def euclidean_convexity_linear(X, y, W, b, n_points=10, return_details=False):
    labels = _labels_list(y)
    X64 = _as_f64(X)
    n = len(labels)
    if X64.shape[0] != n:
        raise ValueError("X and y lengths differ")
    head_classes = sorted_classes(labels)
    W = np.asarray(W)
    b = np.asarray(b)
    if W.shape != (len(head_classes), X64.shape[1]) or \
            b.shape != (len(head_classes),):
        raise ValueError("head shape does not match classes / dimension")
    lambdas = np.arange(1, n_points + 1, dtype=np.float64) / (n_points + 1)
    classes = {}
    skipped = {}
    details = {}
    for c in head_classes:
        members = [i for i in range(n) if labels[i] == c]
        m = len(members)
        if m < 2:
            skipped[c] = m
            continue
        scores = []
        min_margin = np.inf
        for ia in range(m):
            for ib in range(ia + 1, m):
                xa = X64[members[ia]]
                xb = X64[members[ib]]
                P = lambdas[:, None] * xa[None, :] \
                    + (1.0 - lambdas)[:, None] * xb[None, :]
                pred, logits = predict_linear(P, W, b, head_classes)
                scores.append(sum(1 for p in pred if p == c) / n_points)
                srt = np.sort(logits, axis=1)
                min_margin = min(min_margin, float(np.min(srt[:, -1] -
                                                          srt[:, -2])))
        score, sem = _class_stats(scores, m)
        classes[c] = {"score": score, "sem": sem, "n": m,
                      "pairs": m * (m - 1) // 2}
        details[c] = {"min_margin": min_margin}
    overall = float(np.mean([v["score"] for v in classes.values()])) \
        if classes else float("nan")
    out = {"score": overall, "classes": classes, "skipped": skipped}
    if return_details:
        out["details"] = details
    return out
