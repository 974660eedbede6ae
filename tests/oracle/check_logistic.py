"""Compare the logistic-regression head of the convexlens CLI with scikit-learn.

    /work/main/.venv/bin/python tests/oracle/check_logistic.py target/release/convexlens

`convexlens memorization EMB ... --models 0` fits a logistic head (C = 1, standardised
training rows, unpenalised intercept) when no head is given, and prints it (`fitted_head`, on
the original features) with every group's train_acc and test_acc. We fit

    make_pipeline(StandardScaler(), LogisticRegression(C=1.0, tol=1e-10, max_iter=10000))

on the same training rows and compare
  * the predicted probabilities of every row, from the printed head, to 1e-4;
  * every (label, attribute) group's train and test accuracy, and the worst group's;
  * every single row's correctness, by running the CLI once more with one explicit group per
    row (`--group meta.tsv:row`), so a group's accuracy is that row's 0/1 correctness.

Two data sets, both with label noise so that accuracy < 1 and both with a constant column
and a column that is constant on the training rows only (StandardScaler then uses scale 1,
as convexlens does for sd 0):
  * three_class: multinomial, 300 training and 150 test rows in 10 dimensions;
  * two_class: 60 training rows in 20 dimensions, where the strength of the penalty matters
    (sklearn with C = 1 and with C = 2 disagree on some rows), so a wrong C shows.

Extra: the ridge leave-one-out memorization scores (`--ridge-alpha`) of every training row
against explicit refits in numpy.

Prints one line per check and finishes with "N passed, M failed"; exits 1 on any failure.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TIE = 1e-6  # rows whose sklearn decision margin is below this are not judged
RIDGE_ALPHA = 2.0

results = []


def check(name, ok, message=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  -- {message}" if message else ""))


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------

def with_constant_columns(X, train, rng):
    """Appends a column that is 0.7 everywhere and one that is 0 on training rows and
    random on test rows."""
    n = len(X)
    const = np.full((n, 1), 0.7)
    train_only = np.where(train[:, None], 0.0, rng.normal(size=(n, 1)))
    return np.hstack([X, const, train_only])


def make_three_class(seed=1):
    rng = np.random.default_rng(seed)
    n_train, n_test, d = 300, 150, 8
    n = n_train + n_test
    y = rng.integers(0, 3, size=n)
    centres = rng.normal(scale=0.9, size=(3, d))
    X = centres[y] + rng.normal(size=(n, d))
    noisy = rng.random(n) < 0.12
    y = np.where(noisy, rng.integers(0, 3, size=n), y)
    # attribute agrees with "label is 0" on 85% of rows
    attr = np.where(rng.random(n) < 0.85, (y == 0).astype(int), 1 - (y == 0).astype(int))
    train = np.arange(n) < n_train
    X = with_constant_columns(X, train, rng)
    return X.astype(np.float32), y, attr, train


def make_two_class(seed=5):
    rng = np.random.default_rng(seed)
    n_train, n_test, d = 60, 300, 18
    n = n_train + n_test
    y = rng.integers(0, 2, size=n)
    direction = rng.normal(size=d) * 0.35
    X = np.outer(2 * y - 1, direction) + rng.normal(size=(n, d))
    noisy = rng.random(n) < 0.15
    y = np.where(noisy, 1 - y, y)
    attr = np.where(rng.random(n) < 0.9, y, 1 - y)
    train = np.arange(n) < n_train
    X = with_constant_columns(X, train, rng)
    return X.astype(np.float32), y, attr, train


# --------------------------------------------------------------------------
# the two sides
# --------------------------------------------------------------------------

def run_cli(cli, directory, X, y, attr, train, extra=()):
    emb = os.path.join(directory, "emb.npy")
    meta = os.path.join(directory, "meta.tsv")
    np.save(emb, X)
    with open(meta, "w") as f:
        f.write("label\tattr\tsplit\trow\n")
        for i in range(len(y)):
            f.write(f"{y[i]}\t{attr[i]}\t{'train' if train[i] else 'test'}\tr{i}\n")
    args = [cli, "memorization", emb, "--labels", f"{meta}:label", "--split", f"{meta}:split",
            "--models", "0", *extra]
    if "--group" not in extra:
        args += ["--attr", f"{meta}:attr"]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"CLI exit {p.returncode}: {p.stderr.strip()}")
    return json.loads(p.stdout)


def sklearn_fit(X, y, train, C):
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, tol=1e-10, max_iter=10000))
    Xd = X.astype(np.float64)
    model.fit(Xd[train], y[train])
    predicted = model.predict(Xd)
    scores = model.decision_function(Xd)
    if scores.ndim == 1:
        margin = np.abs(scores)
    else:
        top = np.sort(scores, axis=1)
        margin = top[:, -1] - top[:, -2]
    return model, predicted == y, margin


def group_accuracies(correct, y, attr, train):
    out = {}
    for label in np.unique(y):
        for a in np.unique(attr):
            rows = (y == label) & (attr == a)
            name = f"y={label}, a={a}"
            tr, te = rows & train, rows & ~train
            out[name] = (correct[tr].mean() if tr.any() else None,
                         correct[te].mean() if te.any() else None)
    return out


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) < 1e-12


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------

def check_data_set(cli, name, X, y, attr, train):
    model, correct, margin = sklearn_fit(X, y, train, 1.0)
    scaler = model[0]
    check(f"{name}: sklearn scales the constant columns by 1 (as convexlens does for sd 0)",
          np.all(scaler.scale_[-2:] == 1.0), f"scale_ {scaler.scale_[-2:]}")
    check(f"{name}: label noise leaves accuracy below 1 on train and test",
          correct[train].mean() < 1 and correct[~train].mean() < 1,
          f"train {correct[train].mean():.3f}, test {correct[~train].mean():.3f}")
    ties = np.flatnonzero(margin < TIE)
    print(f"      {name}: smallest sklearn margin {margin.min():.2e}; {len(ties)} near-tie row(s) not judged")

    with tempfile.TemporaryDirectory() as directory:
        report = run_cli(cli, directory, X, y, attr, train)
        per_row = run_cli(cli, directory, X, y, attr, train, extra=("--group", os.path.join(directory, "meta.tsv") + ":row"))

    # Probabilities from the printed head: softmax(W x + b) (its two rows for two classes
    # differ only by sign, so the softmax is sklearn's sigmoid of the binary decision).
    W = np.array(report["fitted_head"]["weights"])
    b = np.array(report["fitted_head"]["bias"])
    logits = X.astype(np.float64) @ W.T + b
    ours_p = np.exp(logits - logits.max(axis=1, keepdims=True))
    ours_p /= ours_p.sum(axis=1, keepdims=True)
    gap = np.abs(ours_p - model.predict_proba(X.astype(np.float64))).max()
    check(f"{name}: predicted probabilities equal sklearn's to 1e-4", gap < 1e-4, f"largest difference {gap:.2e}")

    # Groups (label, attribute).
    expected = group_accuracies(correct, y, attr, train)
    got = {g["group"]: (g["train_acc"], g["test_acc"]) for g in report["groups"]}
    check(f"{name}: the same groups", set(got) == set(expected), f"{sorted(got)} vs {sorted(expected)}")
    bad = [f"{g}: ours {got[g]}, sklearn {expected[g]}" for g in expected
           if g in got and not (same(got[g][0], expected[g][0]) and same(got[g][1], expected[g][1]))]
    check(f"{name}: every group's train_acc and test_acc equal sklearn's", not bad, "; ".join(bad))
    worst = min(v[1] for v in expected.values() if v[1] is not None)
    check(f"{name}: worst_group_test_acc", same(report["worst_group_test_acc"], worst),
          f"ours {report['worst_group_test_acc']}, sklearn {worst}")

    # Row by row.
    ours = np.full(len(y), -1)
    for g in per_row["groups"]:
        i = int(g["group"][1:])
        value = g["train_acc"] if train[i] else g["test_acc"]
        ours[i] = -1 if value is None else int(value)
    judged = np.ones(len(y), bool)
    judged[ties] = False
    differ = np.flatnonzero(judged & (ours != correct.astype(int)))
    detail = ", ".join(f"row {i} ({'train' if train[i] else 'test'}, margin {margin[i]:.3g})" for i in differ[:8])
    message = f"{len(differ)} row(s) differ: {detail}" if len(differ) else f"{judged.sum()} rows"
    check(f"{name}: every row's correctness equals sklearn's", len(differ) == 0 and (ours >= 0).all(), message)
    return correct


def ridge_loo_scores(X, y, train, alpha):
    """Ridge memorization per training row: fixed standardisation over the training rows,
    one-hot targets, unpenalised intercept, explicit refits without each row."""
    Xt = X[train].astype(np.float64)
    mean = Xt.mean(axis=0)
    sd = Xt.std(axis=0)
    sd[sd == 0] = 1.0
    A = np.hstack([(Xt - mean) / sd, np.ones((len(Xt), 1))])
    classes = np.unique(y)
    Y = (y[train][:, None] == classes[None, :]).astype(float)
    penalty = np.diag([alpha] * X.shape[1] + [0.0])
    full = np.linalg.solve(A.T @ A + penalty, A.T @ Y)
    scores = []
    for i in range(len(A)):
        keep = np.arange(len(A)) != i
        w = np.linalg.solve(A[keep].T @ A[keep] + penalty, A[keep].T @ Y[keep])
        code = np.flatnonzero(classes == y[train][i])[0]
        scores.append(float(np.argmax(A[i] @ full) == code) - float(np.argmax(A[i] @ w) == code))
    return np.array(scores)


def check_ridge(cli, name, X, y, attr, train):
    with tempfile.TemporaryDirectory() as directory:
        report = run_cli(cli, directory, X, y, attr, train, extra=("--ridge-alpha", str(RIDGE_ALPHA)))
    ridge = report["ridge"]
    expected = ridge_loo_scores(X, y, train, RIDGE_ALPHA)
    rows_ok = ridge["training_rows"] == list(np.flatnonzero(train))
    got = np.array(ridge["per_row"], dtype=float)
    differ = np.flatnonzero(got != expected) if rows_ok and len(got) == len(expected) else []
    check(f"{name}: ridge leave-one-out scores (alpha {RIDGE_ALPHA}) equal explicit numpy refits",
          rows_ok and len(got) == len(expected) and len(differ) == 0,
          f"{len(differ)} differ, e.g. rows {list(differ[:8])}" if len(differ) else
          f"{len(got)} rows, {int((expected != 0).sum())} nonzero")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    cli = sys.argv[1]
    three = make_three_class()
    two = make_two_class()

    X, y, attr, train = two
    _, c1, _ = sklearn_fit(X, y, train, 1.0)
    _, c2, _ = sklearn_fit(X, y, train, 2.0)
    check("two_class: the data can tell C = 1 from C = 2 (sklearn's predictions differ)",
          (c1 != c2).any(), f"{int((c1 != c2).sum())} row(s) differ")

    for name, data in [("three_class", three), ("two_class", two)]:
        try:
            check_data_set(cli, name, *data)
            check_ridge(cli, name, *data)
        except Exception as e:  # the CLI failed or printed something unexpected
            check(f"{name}: CLI run", False, f"{type(e).__name__}: {e}")

    passed = sum(results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
