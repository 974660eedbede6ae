"""Build the bundled `spurious-digits` demo for convexlens.

Memorization under a spurious correlation, after You et al., "Uncovering
memorization effect in the presence of spurious correlations", Nature
Communications 16, 5424 (2025).

Data: scikit-learn's bundled handwritten digits (1797 images, 8x8 pixels,
pixels / 16 -> [0, 1]); nothing is downloaded.
  * Label y = 1 for digits 5-9, y = 0 for digits 0-4.
  * Spurious attribute a in {0, 1}: when a = 1 a bright 2x2 patch is drawn in
    the top-left corner (those four pixels set to 1.0).
  * Split: 1200 training rows, 597 test rows, stratified by digit (seeded).
  * Training rows: within each label, 5% of rows (rounded) get a != y
    (minority groups y0_a1, y1_a0); the rest get a = y (majority groups
    y0_a0, y1_a1). Which rows are minority is a seeded choice, stratified by
    digit so every digit is represented in the minority groups.
  * Test rows: within each digit, a = 1 for half of the rows (seeded), so a
    is independent of y.

Model: a ReLU MLP 64 -> 64 -> 32 -> 2 (linear head), trained with Adam and
softmax cross-entropy on the patched training rows only, no weight decay,
long enough that the training set is fitted perfectly, so the few minority
training images are memorised while the minority test groups stay clearly
worse than the majority ones.

Outputs (all in this directory):
  embeddings.npy   float32 (1797, 32), the 32-d penultimate (second hidden,
                   post-ReLU) activations; training rows first, then test rows,
                   each block in sklearn row order
  metadata.tsv     label, attr, group (e.g. y1_a0), split (train/test), index
                   (row in sklearn's digits), one line per embedding row
  head_W.npy       float32 (2, 32), the network's own output layer (out x in)
  head_b.npy       float32 (2,)
  manifest.json    includes the per-group table computed with that head

Deterministic: fixed seed, single-threaded BLAS, float64 training; re-running
rewrites byte-identical files.

Run from the repository root:
    .venv/bin/python www/demo/spurious/make_spurious_demo.py
"""

import os

# Single-threaded BLAS so floating-point reductions happen in a fixed order.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
           "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

OUT = Path(__file__).resolve().parent
SEED = int(os.environ.get("SPURIOUS_SEED", 20250102))
N_TRAIN = 1200
MINORITY_FRAC = 0.05
PATCH = (0, 1, 8, 9)  # flat indices of the top-left 2x2 pixels of an 8x8 image
WIDTHS = [64, 64, 32, 2]
EPOCHS = int(os.environ.get("SPURIOUS_EPOCHS", 300))
LR = 1e-3
BATCH = 32
WEIGHT_DECAY = 0.0
GROUPS = [(0, 0), (0, 1), (1, 0), (1, 1)]


def group_name(y, a):
    return f"y{int(y)}_a{int(a)}"


# ---------------------------------------------------------------- data ----
def split_rows(digit, rng):
    """Stratified-by-digit train/test split with exactly N_TRAIN train rows."""
    n = len(digit)
    classes = np.unique(digit)
    counts = np.array([(digit == c).sum() for c in classes])
    quota = counts * N_TRAIN / n
    take = np.floor(quota).astype(int)
    # hand out the remaining rows to the largest fractional parts (stable)
    rest = N_TRAIN - take.sum()
    order = np.argsort(-(quota - take), kind="stable")
    take[order[:rest]] += 1
    train = []
    for c, k in zip(classes, take):
        idx = np.flatnonzero(digit == c)
        train.append(rng.choice(idx, size=k, replace=False))
    train = np.sort(np.concatenate(train))
    test = np.setdiff1d(np.arange(n), train)
    return train, test


def assign_attr(train, test, digit, y, rng):
    """Attribute per row of sklearn's digits (train: 95% a = y; test: 50/50)."""
    attr = np.full(len(digit), -1, dtype=np.int64)
    # training rows: per label, round(5%) minority rows spread over digits
    for lab in (0, 1):
        rows = train[y[train] == lab]
        n_minor = int(round(MINORITY_FRAC * len(rows)))
        # stratify the minority rows by digit (largest-remainder quotas)
        ds = np.unique(digit[rows])
        cnt = np.array([(digit[rows] == d).sum() for d in ds])
        quota = cnt * n_minor / len(rows)
        take = np.floor(quota).astype(int)
        rest = n_minor - take.sum()
        order = np.argsort(-(quota - take), kind="stable")
        take[order[:rest]] += 1
        minor = np.concatenate([
            rng.choice(rows[digit[rows] == d], size=k, replace=False)
            for d, k in zip(ds, take)])
        attr[rows] = lab
        attr[minor] = 1 - lab
    # test rows: within each digit, half (alternating the odd one) get a = 1
    extra = 0
    for d in np.unique(digit[test]):
        rows = rng.permutation(test[digit[test] == d])
        k = len(rows) // 2
        if len(rows) % 2:
            k += extra
            extra = 1 - extra
        attr[rows] = 0
        attr[rows[:k]] = 1
    assert (attr >= 0).all()
    return attr


def apply_patch(x, attr):
    x = x.copy()
    for p in PATCH:
        x[attr == 1, p] = 1.0
    return x


# ------------------------------------------------------------ network ----
def init_layers(sizes, rng):
    """Glorot-uniform weights (in x out) and zero biases."""
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        lim = np.sqrt(6.0 / (a + b))
        params.append([rng.uniform(-lim, lim, size=(a, b)), np.zeros(b)])
    return params


def forward(params, x):
    """ReLU hidden layers, linear last layer; returns every layer's output."""
    hs = [x]
    h = x
    for i, (w, b) in enumerate(params):
        z = h @ w + b
        h = z if i == len(params) - 1 else np.maximum(z, 0.0)
        hs.append(h)
    return hs


def backward(params, hs, dz_out):
    grads = [None] * len(params)
    dz = dz_out
    for i in range(len(params) - 1, -1, -1):
        w, _ = params[i]
        grads[i] = [hs[i].T @ dz, dz.sum(axis=0)]
        if i > 0:
            dz = (dz @ w.T) * (hs[i] > 0)
    return grads


class Adam:
    def __init__(self, params, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
        self.lr, self.b1, self.b2, self.eps, self.wd, self.t = lr, b1, b2, eps, wd, 0
        self.m = [[np.zeros_like(p) for p in layer] for layer in params]
        self.v = [[np.zeros_like(p) for p in layer] for layer in params]

    def step(self, params, grads):
        self.t += 1
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        for layer, glayer, mlayer, vlayer in zip(params, grads, self.m, self.v):
            for j in range(len(layer)):
                g = glayer[j]
                mlayer[j] = self.b1 * mlayer[j] + (1.0 - self.b1) * g
                vlayer[j] = self.b2 * vlayer[j] + (1.0 - self.b2) * g * g
                if self.wd and j == 0:  # decoupled decay on weights only
                    layer[j] -= self.lr * self.wd * layer[j]
                layer[j] -= self.lr * (mlayer[j] / c1) / (np.sqrt(vlayer[j] / c2) + self.eps)


def train_mlp(x, y, rng):
    params = init_layers(WIDTHS, rng)
    opt = Adam(params, LR, wd=WEIGHT_DECAY)
    onehot = np.eye(WIDTHS[-1])[y]
    n = len(x)
    for _ in range(EPOCHS):
        order = rng.permutation(n)
        for s in range(0, n, BATCH):
            bi = order[s:s + BATCH]
            hs = forward(params, x[bi])
            z = hs[-1] - hs[-1].max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            dz = (p - onehot[bi]) / len(bi)
            opt.step(params, backward(params, hs, dz))
    return params


# --------------------------------------------------------------- main ----
def group_table(y, attr, split, pred):
    table = []
    for gy, ga in GROUPS:
        row = {"group": group_name(gy, ga)}
        for s in ("train", "test"):
            m = (y == gy) & (attr == ga) & (split == s)
            row[f"n_{s}"] = int(m.sum())
        for s in ("train", "test"):
            m = (y == gy) & (attr == ga) & (split == s)
            row[f"{s}_acc"] = round(float((pred[m] == y[m]).mean()), 4)
        table.append(row)
    return table


def main():
    rng = np.random.default_rng(SEED)
    digits = load_digits()
    x_all = digits.data.astype(np.float64) / 16.0  # pixels 0..16 -> [0, 1]
    digit = digits.target.astype(np.int64)
    y_all = (digit >= 5).astype(np.int64)

    train, test = split_rows(digit, rng)
    attr_all = assign_attr(train, test, digit, y_all, rng)
    x_all = apply_patch(x_all, attr_all)

    params = train_mlp(x_all[train], y_all[train], rng)

    rows = np.concatenate([train, test])  # embedding row -> sklearn index
    split = np.array(["train"] * len(train) + ["test"] * len(test))
    y = y_all[rows]
    attr = attr_all[rows]
    hs = forward(params, x_all[rows])
    emb = hs[-2].astype(np.float32)
    head_w = np.ascontiguousarray(params[-1][0].T).astype(np.float32)  # out x in
    head_b = params[-1][1].astype(np.float32)
    # accuracies from the saved float32 arrays, exactly what a reader would see
    logits = emb.astype(np.float64) @ head_w.T.astype(np.float64) + head_b
    pred = logits.argmax(axis=1)
    table = group_table(y, attr, split, pred)

    np.save(OUT / "embeddings.npy", emb)
    np.save(OUT / "head_W.npy", head_w)
    np.save(OUT / "head_b.npy", head_b)
    with open(OUT / "metadata.tsv", "w", encoding="utf-8", newline="\n") as f:
        f.write("label\tattr\tgroup\tsplit\tindex\n")
        for i in range(len(rows)):
            f.write(f"{y[i]}\t{attr[i]}\t{group_name(y[i], attr[i])}\t"
                    f"{split[i]}\t{rows[i]}\n")

    manifest = {
        "id": "spurious-digits",
        "title": "Handwritten digits with a spurious corner patch, small MLP",
        "description": (
            "Small 8x8 images of handwritten digits, labelled 1 for digits 5-9 "
            "and 0 for digits 0-4, some with a bright 2x2 patch added in the "
            "top-left corner. In 95% of the training images the patch agrees "
            "with the label (patch present exactly when the label is 1), but in "
            "the test images it is on half of each label's images, so there it "
            "says nothing about the label."
        ),
        "embeddings": "embeddings.npy",
        "metadata": "metadata.tsv",
        "label_column": "label",
        "attr_column": "attr",
        "split_column": "split",
        "head": {"w": "head_W.npy", "b": "head_b.npy"},
        "rows": {"train": int(len(train)), "test": int(len(test))},
        "group_table": table,
        "made_by": "www/demo/spurious/make_spurious_demo.py",
    }
    with open(OUT / "manifest.json", "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")

    for r in table:
        print(f"{r['group']}: n_train {r['n_train']:4d} n_test {r['n_test']:4d} "
              f"train_acc {r['train_acc']:.4f} test_acc {r['test_acc']:.4f}")
    print("worst-group test accuracy", min(r["test_acc"] for r in table),
          file=sys.stdout)


if __name__ == "__main__":
    main()
