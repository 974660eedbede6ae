"""Build the bundled `spurious-digits` demo for convexlens.

Memorization under a spurious correlation, after You et al., "Uncovering
memorization effect in the presence of spurious correlations", Nature
Communications 16, 5424 (2025), shown at the level of a linear head on
FROZEN features: the body never sees the labels, so whatever a head does with
the few minority training rows it does by itself.

Data: scikit-learn's bundled handwritten digits (1797 images, 8x8 pixels,
pixels / 16 -> [0, 1]); nothing is downloaded.
  * Label y = 1 for digits 5-9, y = 0 for digits 0-4.
  * Spurious attribute a in {0, 1}: when a = 1 a bright 2x2 patch is drawn in
    the top-left corner (those four pixels set to 1.0).
  * Split: 1200 training rows, 597 test rows, stratified by digit (seeded).
  * Training rows: within each label, 5% of rows (rounded) get a != y
    (minority groups y0_a1, y1_a0, 30 rows each); the rest get a = y
    (majority groups y0_a0, y1_a1). Which rows are minority is a seeded
    choice, stratified by digit so every digit is represented.
  * Test rows: within each digit, a = 1 for half of the rows (seeded), so a
    is independent of y.

Body (frozen, label-free): a fixed random ReLU layer on the patched pixels,
    e = relu((x - 0.5) @ R + c),  R ~ N(0, 1/64) (64 x 256),  c ~ U(-0.5, 0.5),
drawn from the seeded generator. A unit that is zero on every training image
is redrawn (this looks at pixels only, never at labels or attributes). Pixel
features keep the corner patch, and with 256 dimensions against 60 minority
training rows a linear head has room to fit each of them individually.

Head: the model's own linear head, an L2 logistic regression with weak
regularisation (C = 100 on standardised features, lbfgs), trained on all 1200
patched training rows and folded back to the raw embedding coordinates as a
two-output layer (logits -z/2, +z/2). It fits every training row, minority
ones included, while the minority test groups stay clearly worse: memorised,
not learned.

Outputs (all in this directory):
  embeddings.npy   float16 (1797, 256), the random-feature embeddings;
                   training rows first, then test rows, each block in sklearn
                   row order
  metadata.tsv     label, attr, group (e.g. y1_a0), split (train/test), index
                   (row in sklearn's digits), one line per embedding row
  head_W.npy       float32 (2, 256), the head (out x in)
  head_b.npy       float32 (2,)
  manifest.json    includes the per-group table computed with that head from
                   the saved arrays

The head is fitted on the float16-rounded embeddings, i.e. on exactly the
values a reader loads. Deterministic: fixed seed, single-threaded BLAS;
re-running rewrites byte-identical files (a few seconds).

`check_spurious_demo.py` (same directory) re-reads the saved files and
reports the memorization scores (Feldman & Zhang subset estimator) and a
DFR-style group-balanced refit.

Run from the repository root:
    .venv/bin/python www/demo/spurious/make_spurious_demo.py
"""

import os

# Single-threaded BLAS so floating-point reductions happen in a fixed order.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
           "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

OUT = Path(__file__).resolve().parent
SEED = int(os.environ.get("SPURIOUS_SEED", 20250102))
N_TRAIN = 1200
MINORITY_FRAC = 0.05
PATCH = (0, 1, 8, 9)  # flat indices of the top-left 2x2 pixels of an 8x8 image
WIDTH = 256       # random features
HEAD_C = 100.0    # weak L2 regularisation of the head (standardised features)
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


# --------------------------------------------------------------- body ----
def random_relu_body(x_train, rng):
    """Fixed random ReLU layer; units dead on every training image are redrawn."""
    d_in = x_train.shape[1]
    proj = rng.standard_normal((d_in, WIDTH)) / np.sqrt(d_in)
    bias = rng.uniform(-0.5, 0.5, size=WIDTH)
    for _ in range(100):
        dead = ~((x_train - 0.5) @ proj + bias > 0).any(axis=0)
        if not dead.any():
            break
        k = int(dead.sum())
        proj[:, dead] = rng.standard_normal((d_in, k)) / np.sqrt(d_in)
        bias[dead] = rng.uniform(-0.5, 0.5, size=k)
    else:
        raise RuntimeError("could not draw live random units")
    return proj, bias


def embed(x, proj, bias):
    return np.maximum((x - 0.5) @ proj + bias, 0.0)


# --------------------------------------------------------------- head ----
def fit_head(emb, y):
    """Weakly regularised logistic head, returned as (2 x d) weights + bias."""
    mean = emb.mean(axis=0)
    scale = emb.std(axis=0)
    scale[scale == 0] = 1.0
    clf = LogisticRegression(C=HEAD_C, max_iter=20000, tol=1e-8)
    clf.fit((emb - mean) / scale, y)
    if clf.n_iter_[0] >= clf.max_iter:
        raise RuntimeError("head did not converge")
    w = clf.coef_[0] / scale                      # raw coordinates
    b = clf.intercept_[0] - float(w @ mean)
    head_w = np.stack([-w / 2, w / 2])            # logits (-z/2, +z/2)
    head_b = np.array([-b / 2, b / 2])
    return head_w, head_b


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

    proj, bias = random_relu_body(x_all[train], rng)

    rows = np.concatenate([train, test])  # embedding row -> sklearn index
    split = np.array(["train"] * len(train) + ["test"] * len(test))
    y = y_all[rows]
    attr = attr_all[rows]
    emb = embed(x_all[rows], proj, bias).astype(np.float16)
    is_train = split == "train"
    head_w, head_b = fit_head(emb[is_train].astype(np.float64), y[is_train])
    head_w = head_w.astype(np.float32)
    head_b = head_b.astype(np.float32)
    # accuracies from the saved arrays (float16 embeddings, float32 head),
    # exactly what a reader sees
    logits = emb.astype(np.float64) @ head_w.T.astype(np.float64) + head_b.astype(np.float64)
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
        "title": "Handwritten digits with a spurious corner patch, random features + linear head",
        "description": (
            "Small 8x8 images of handwritten digits, labelled 1 for digits 5-9 "
            "and 0 for digits 0-4, some with a bright 2x2 patch added in the "
            "top-left corner. In 95% of the training images the patch agrees "
            "with the label (patch present exactly when the label is 1), but in "
            "the test images it is on half of each label's images, so there it "
            "says nothing about the label. The embeddings are 256 random "
            "ReLU features of the pixels (a fixed random layer that never saw "
            "the labels, so it keeps the patch), and the head is a barely "
            "regularised logistic regression trained on the training images: "
            "it gets even the few training images whose patch disagrees with "
            "the label right, but does much worse on such images in the test "
            "set."
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
    print("worst-group test accuracy", min(r["test_acc"] for r in table))


if __name__ == "__main__":
    main()
