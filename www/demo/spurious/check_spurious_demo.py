"""Check the bundled `spurious-digits` demo from its saved files.

Independent numpy / scikit-learn re-implementation of what convexlens reports
on this demo, to confirm the demo shows the effect it is meant to show:

  1. Group table with the demo's own head (head_W.npy / head_b.npy): minority
     training rows fitted, minority test rows clearly worse.
  2. Feldman & Zhang memorization by subset refits: 30 logistic heads
     (C = 1 on features standardised over each subset), each on a random 70%
     of the training rows; score = P(correct | row in) - P(correct | row out).
     Mean score per group.
  3. DFR: training rows split into two halves stratified by group; for each C
     in convexlens's default grid an L2 logistic head is fitted on a
     group-balanced subsample of the first half and judged by worst-group
     accuracy on the second; with the best C, 10 heads fitted on
     group-balanced subsamples of all training rows are averaged (in raw
     embedding coordinates). Worst-group test accuracy before (demo head) and
     after.

Read-only; deterministic (fixed seeds, single-threaded BLAS). Run from the
repository root:
    .venv/bin/python www/demo/spurious/check_spurious_demo.py
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
           "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import csv  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 0
MODELS = 30
FRACTION = 0.7
C_GRID = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
REFITS = 10
GROUPS = ["y0_a0", "y0_a1", "y1_a0", "y1_a1"]


def load():
    man = json.loads((HERE / "manifest.json").read_text())
    emb = np.load(HERE / man["embeddings"]).astype(np.float64)
    w = np.load(HERE / man["head"]["w"]).astype(np.float64)
    b = np.load(HERE / man["head"]["b"]).astype(np.float64)
    with open(HERE / man["metadata"], newline="") as f:
        meta = list(csv.DictReader(f, delimiter="\t"))
    y = np.array([int(r["label"]) for r in meta])
    group = np.array([GROUPS.index(r["group"]) for r in meta])
    train = np.array([r["split"] == "train" for r in meta])
    return emb, w, b, y, group, train


def fit(x, y, c):
    """L2 logistic head on standardised features -> (w, b) in raw coordinates."""
    sc = StandardScaler().fit(x)
    scale = np.where(sc.scale_ > 0, sc.scale_, 1.0)
    clf = LogisticRegression(C=c, max_iter=5000, tol=1e-6).fit((x - sc.mean_) / scale, y)
    w = clf.coef_[0] / scale
    return w, clf.intercept_[0] - float(w @ sc.mean_)


def per_group(pred, y, group, mask):
    return [float((pred[mask & (group == g)] == y[mask & (group == g)]).mean())
            for g in range(len(GROUPS))]


def balanced(rows, group, rng):
    k = min((group[rows] == g).sum() for g in range(len(GROUPS)))
    return np.sort(np.concatenate([
        rng.choice(rows[group[rows] == g], size=k, replace=False)
        for g in range(len(GROUPS))]))


def main():
    emb, head_w, head_b, y, group, train = load()
    test = ~train
    pred = (emb @ head_w.T + head_b).argmax(axis=1)
    tr_acc = per_group(pred, y, group, train)
    te_acc = per_group(pred, y, group, test)
    print("1. demo head, per group:")
    for g, name in enumerate(GROUPS):
        print(f"   {name}: n_train {int((train & (group == g)).sum()):4d} "
              f"n_test {int((test & (group == g)).sum()):4d} "
              f"train_acc {tr_acc[g]:.4f} test_acc {te_acc[g]:.4f}")
    before = min(te_acc)

    # 2. Feldman & Zhang subset estimator
    rng = np.random.default_rng(SEED)
    tr = np.flatnonzero(train)
    n = len(tr)
    size = int(round(FRACTION * n))
    x, yt, gt = emb[tr], y[tr], group[tr]
    tally = np.zeros((n, 4))
    for _ in range(MODELS):
        inside = np.zeros(n, dtype=bool)
        inside[rng.choice(n, size=size, replace=False)] = True
        w, b = fit(x[inside], yt[inside], 1.0)
        ok = ((x @ w + b > 0).astype(int) == yt)
        tally[:, 0] += ok & inside
        tally[:, 1] += inside
        tally[:, 2] += ok & ~inside
        tally[:, 3] += ~inside
    valid = (tally[:, 1] > 0) & (tally[:, 3] > 0)
    score = np.full(n, np.nan)
    score[valid] = tally[valid, 0] / tally[valid, 1] - tally[valid, 2] / tally[valid, 3]
    print(f"2. memorization ({MODELS} heads, C=1, {FRACTION:.0%} subsets), mean (sd) per group:")
    for g, name in enumerate(GROUPS):
        s = score[gt == g]
        s = s[~np.isnan(s)]
        print(f"   {name}: {s.mean():.3f} ({s.std():.3f}), n={len(s)}")

    # 3. DFR
    rng = np.random.default_rng(SEED + 1)
    first, second = [], []
    for g in range(len(GROUPS)):
        rows = rng.permutation(np.flatnonzero(train & (group == g)))
        first.append(rows[0::2])
        second.append(rows[1::2])
    first, second = np.concatenate(first), np.concatenate(second)
    best = (-1.0, None)
    val = []
    for c in C_GRID:
        sub = balanced(first, group, rng)
        w, b = fit(emb[sub], y[sub], c)
        p = (emb @ w + b > 0).astype(int)
        m = np.zeros(len(y), dtype=bool)
        m[second] = True
        worst = min(per_group(p, y, group, m))
        val.append(f"C={c}: {worst:.3f}")
        if worst > best[0]:
            best = (worst, c)
    c = best[1]
    ws, bs = [], []
    for _ in range(REFITS):
        sub = balanced(tr, group, rng)
        w, b = fit(emb[sub], y[sub], c)
        ws.append(w)
        bs.append(b)
    w, b = np.mean(ws, axis=0), float(np.mean(bs))
    p = (emb @ w + b > 0).astype(int)
    after = per_group(p, y, group, test)
    print(f"3. DFR: validation worst-group {', '.join(val)}; chosen C={c}")
    print("   test acc after:", ", ".join(f"{n_} {a:.4f}" for n_, a in zip(GROUPS, after)))
    print(f"   worst-group test accuracy: before {before:.4f} -> after {min(after):.4f}")


if __name__ == "__main__":
    main()
