"""Compare the convexlens CLI with the Python oracle on fixed data sets
(blobs, digits, digits with planted exact duplicates, string labels, the
hand-worked toys of test_oracle.py), and check a few properties of the CLI's
graph convexity (separated blobs, split class, random labels, scale+rotation
and row-permutation invariance).

    /work/main/.venv/bin/python tests/oracle/check_cli.py target/release/convexlens
    /work/main/.venv/bin/python tests/oracle/check_cli.py --oracle-only   # no CLI

Prints one line per check and finishes with "N passed, M failed"; exits 1 if
anything failed or the CLI errored.
"""

import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convexity_oracle as co  # noqa: E402

TOL = 1e-6
K = 10
PATHS = 5000
POINTS = 10


# --------------------------------------------------------------------------
# data sets (fixed seeds, float32, every class <= 71 rows)
# --------------------------------------------------------------------------

def make_blobs(n_classes=4, per_class=50, d=16, spread=0.55, seed=0):
    """Gaussian blobs, unit noise, centres N(0, spread^2) per coordinate:
    moderately overlapping."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=spread, size=(n_classes, d))
    X = np.concatenate([centres[c] + rng.normal(size=(per_class, d))
                        for c in range(n_classes)])
    y = np.repeat(np.arange(n_classes, dtype=np.int64), per_class)
    perm = rng.permutation(len(y))       # interleave classes in row order
    return X[perm].astype(np.float32), y[perm]


def make_digits(per_class=60):
    """sklearn's bundled digits, first `per_class` rows of each class (in the
    original row order), pixel values / 16 as float32, no jitter: digits has
    exact duplicate rows."""
    from sklearn.datasets import load_digits
    dg = load_digits()
    idx = []
    for c in range(10):
        idx.extend(np.flatnonzero(dg.target == c)[:per_class].tolist())
    idx = np.sort(np.array(idx))
    X = (dg.data[idx] / 16.0).astype(np.float32)
    y = dg.target[idx].astype(np.int64)
    return X, y


def make_digits_dups():
    """Tiny copy of digits, as is (no jitter), with extra exact duplicates:
    first 12 rows of classes 3, 5, 7, 8, 9, then exact copies of 8 of them
    appended (so several rows have 1-2 exact twins)."""
    from sklearn.datasets import load_digits
    dg = load_digits()
    idx = []
    for c in (3, 5, 7, 8, 9):
        idx.extend(np.flatnonzero(dg.target == c)[:12].tolist())
    idx = np.array(idx)
    rng = np.random.default_rng(7)
    extra = rng.choice(len(idx), size=8, replace=False)
    extra = np.concatenate([extra, extra[:2]])  # two rows get two twins
    rows = np.concatenate([idx, idx[extra]])
    X = (dg.data[rows] / 16.0).astype(np.float32)
    y = dg.target[rows].astype(np.int64)
    return X, y


def make_strings(seed=3):
    """String labels, unbalanced (cat 70, dog 25, eel 5) + singleton fox."""
    rng = np.random.default_rng(seed)
    d = 8
    sizes = {"cat": 70, "dog": 25, "eel": 5, "fox": 1}
    centres = {lab: rng.normal(scale=0.8, size=d) for lab in sizes}
    Xs, ys = [], []
    for lab, m in sizes.items():
        Xs.append(centres[lab] + rng.normal(size=(m, d)))
        ys += [lab] * m
    X = np.concatenate(Xs)
    y = np.array(ys, dtype="<U3")
    perm = rng.permutation(len(y))
    return X[perm].astype(np.float32), y[perm]


def make_head(X, y, noise=0.05, seed=11):
    """Least-squares one-hot fit (head rows in sorted label order) plus a
    little noise.  W: C x d float32, b: C float32."""
    rng = np.random.default_rng(seed)
    classes = co.sorted_classes(y)
    Y = np.zeros((len(y), len(classes)))
    pos = {c: i for i, c in enumerate(classes)}
    for r, lab in enumerate(co._labels_list(y)):
        Y[r, pos[lab]] = 1.0
    A = np.hstack([X.astype(np.float64), np.ones((len(y), 1))])
    coef, *_ = np.linalg.lstsq(A, Y, rcond=None)
    coef = coef + noise * np.std(coef) * rng.normal(size=coef.shape)
    W = coef[:-1].T.astype(np.float32)
    b = coef[-1].astype(np.float32)
    return W, b


def datasets():
    out = {}
    X, y = make_blobs()
    W, b = make_head(X, y)
    out["blobs"] = dict(X=X, y=y, W=W, b=b)
    X, y = make_digits()
    W, b = make_head(X, y)
    out["digits"] = dict(X=X, y=y, W=W, b=b)
    X, y = make_digits_dups()
    out["digits_dups"] = dict(X=X, y=y)
    X, y = make_strings()
    out["strings"] = dict(X=X, y=y)
    return out


# --------------------------------------------------------------------------
# property cases (GC, against the CLI)
# --------------------------------------------------------------------------

def property_cases():
    """name -> (X, y, check(classes_by_label_str, overall) -> (ok, msg))."""
    cases = {}

    # (i) three well-separated blobs: every class exactly 100
    rng = np.random.default_rng(100)
    d = 5
    X = np.concatenate([rng.normal(size=(30, d)) + 100.0 * c * np.eye(d)[c]
                        for c in range(3)]).astype(np.float32)
    y = np.repeat(np.arange(3, dtype=np.int64), 30)

    def chk_i(classes, overall):
        bad = {c: v["score"] for c, v in classes.items() if v["score"] != 100}
        return (not bad and len(classes) == 3), f"classes not 100: {bad}"
    cases["i_separated"] = (X, y, chk_i)

    # (ii) class 0 = two far-apart clusters, class 1 separate elsewhere
    rng = np.random.default_rng(101)
    A1 = rng.normal(size=(20, d))
    A2 = rng.normal(size=(20, d)) + 60.0 * np.eye(d)[0]
    B = rng.normal(size=(20, d)) + 60.0 * np.eye(d)[1]
    X = np.concatenate([A1, A2, B]).astype(np.float32)
    y = np.array([0] * 40 + [1] * 20, np.int64)

    def chk_ii(classes, overall):
        s = classes["0"]["score"]
        return 40.0 <= s <= 60.0, f"class 0 score {s} not in [40, 60]"
    cases["ii_split_class"] = (X, y, chk_ii)

    # (iii) random labels, 4 balanced classes, n=240, d=10: overall ~25
    rng = np.random.default_rng(102)
    X = rng.normal(size=(240, 10)).astype(np.float32)
    y = rng.permutation(np.repeat(np.arange(4, dtype=np.int64), 60))

    def chk_iii(classes, overall):
        return abs(overall - 25.0) <= 12.0, f"overall {overall} not 25+-12"
    cases["iii_random_labels"] = (X, y, chk_iii)
    return cases


def invariance_cases():
    """name -> (X0, y0, X1, y1, tol): GC class scores must agree."""
    X, y = make_blobs()
    rng = np.random.default_rng(200)
    Q, R = np.linalg.qr(rng.normal(size=(X.shape[1], X.shape[1])))
    Q = Q * np.sign(np.diag(R))
    Xr = ((3.7 * X.astype(np.float64)) @ Q).astype(np.float32)
    perm = rng.permutation(len(y))
    return {
        "iv_scale_rotate": (X, y, Xr, y.copy(), 1e-6),
        "v_permute_rows": (X, y, np.ascontiguousarray(X[perm]), y[perm],
                           1e-9),
    }


# --------------------------------------------------------------------------
# running the CLI
# --------------------------------------------------------------------------

class CliError(Exception):
    pass


def toy_cases():
    """The hand-worked GC toys of test_oracle.py, with their own small k:
    name -> (X, y, k).  These exercise the lower-index tie rule, the drop of
    exact duplicates, unreachable pairs and weighted (not fewest-hop) paths."""
    return {
        "toy_tiebreak_dups_k1": (
            np.array([[0], [10], [20], [21], [40], [40], [100]], np.float32),
            np.array(["a", "a", "a", "a", "d", "d", "z"], dtype="<U1"), 1),
        "toy_tiebreak_dups_k2": (
            np.array([[0], [10], [20], [21], [40], [40], [100]], np.float32),
            np.array(["a", "a", "a", "a", "d", "d", "z"], dtype="<U1"), 2),
        "toy_chain_k1": (
            np.array([[0], [1], [3], [6], [10], [15]], np.float32),
            np.array([1, 2, 1, 2, 2, 1], np.int64), 1),
        "toy_weighted_k2": (
            np.array([[0, 0], [2, 0], [4, 0], [1, 1.2], [3, 1.2], [2, -3]],
                     np.float32),
            np.array(["A", "B", "A", "A", "A", "B"], dtype="<U1"), 2),
    }


def run_cli(cli, tmp, tag, measure, X, y, W=None, b=None, k=K):
    emb = os.path.join(tmp, f"{tag}_emb.npy")
    lab = os.path.join(tmp, f"{tag}_labels.npy")
    np.save(emb, np.ascontiguousarray(X, dtype=np.float32))
    np.save(lab, y)
    if measure == "graph":
        cmd = [cli, "graph", emb, "--labels", lab, "--k", str(k),
               "--paths", str(PATHS), "--seed", "0", "--baseline", "0"]
    else:
        wp = os.path.join(tmp, f"{tag}_W.npy")
        bp = os.path.join(tmp, f"{tag}_b.npy")
        np.save(wp, np.ascontiguousarray(W, dtype=np.float32))
        np.save(bp, np.ascontiguousarray(b, dtype=np.float32))
        cmd = [cli, "euclidean", emb, "--labels", lab, "--head-w", wp,
               "--head-b", bp, "--points", str(POINTS), "--paths",
               str(PATHS), "--seed", "0"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CliError(f"{' '.join(cmd)}\n{e!r}")
    if p.returncode != 0:
        raise CliError(f"{' '.join(cmd)}\nexit {p.returncode}\n"
                       f"stderr:\n{p.stderr}")
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise CliError(f"{' '.join(cmd)}\nstdout is not JSON ({e}):\n"
                       f"{p.stdout[:2000]}\nstderr:\n{p.stderr}")


def cli_classes(js):
    return {str(c["label"]): c for c in js.get("classes", [])}


def _num(v):
    return float("nan") if v is None else float(v)


def _eq(exp, got, tol):
    if isinstance(exp, float) and math.isnan(exp):
        return math.isnan(got)
    return abs(exp - got) <= tol


# --------------------------------------------------------------------------

class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name):
        self.passed += 1
        print(f"ok  {name}")

    def fail(self, name, msg):
        self.failed += 1
        print(f"FAIL {name}: {msg}")


def compare(t, tag, measure, oracle, js, diag=None):
    base = f"{tag}/{measure}"
    got = cli_classes(js)
    exp = {str(c): v for c, v in oracle["classes"].items()}
    # class set
    if set(got) != set(exp):
        t.fail(f"{base}/class-set", f"expected {sorted(exp)} got {sorted(got)}")
    # skipped
    exp_sk = {str(c): n for c, n in oracle["skipped"].items()}
    got_sk = {str(s["label"]): int(s["n"]) for s in js.get("skipped", [])}
    if got_sk != exp_sk:
        t.fail(f"{base}/skipped", f"expected {exp_sk} got {got_sk}")
    else:
        t.ok(f"{base}/skipped")
    # overall
    gs = _num(js.get("score"))
    if _eq(oracle["score"], gs, TOL):
        t.ok(f"{base}/overall")
    else:
        t.fail(f"{base}/overall", f"expected {oracle['score']!r} got {gs!r}")
    # per class
    for c in sorted(exp, key=lambda s: (len(s), s)):
        e = exp[c]
        name = f"{base}/{c}"
        if c not in got:
            t.fail(name, "class missing from CLI output")
            continue
        g = got[c]
        msgs = []
        for f in ("score", "sem"):
            gv = _num(g.get(f))
            if not _eq(e[f], gv, TOL):
                msgs.append(f"{f} expected {e[f]!r} got {gv!r} "
                            f"(diff {gv - e[f]:+.3g})")
        for f in ("n", "pairs"):
            if g.get(f) != e[f]:
                msgs.append(f"{f} expected {e[f]} got {g.get(f)}")
        if msgs:
            if diag is not None:
                msgs.append(diag(c))
            t.fail(name, "; ".join(msgs))
        else:
            t.ok(name)


def gc_diag(X, y):
    cache = {}

    def f(c):
        if not cache:
            amb = co.gc_tie_ranges(X, y, K)
            cache.update({str(k): v for k, v in amb.items()})
            cache["_knn"] = co.knn_boundary_ties(X, K)
        t = cache[c]
        return (f"[oracle diag: {cache['_knn']} rows whose k-NN list is "
                f"decided by the lower-index tie rule; {t['tied']} ordered "
                f"pairs of this class with several equally short paths, "
                f"{t['relevant']} of them with differing path scores; class score possible under other tie-breaks: "
                f"[{t['lo']:.6f}, {t['hi']:.6f}]]")
    return f


def ec_diag(res):
    det = {str(c): v for c, v in res["details"].items()}

    def f(c):
        return (f"[oracle diag: smallest top-2 logit margin over the class's "
                f"points {det[c]['min_margin']:.3g}]")
    return f


def oracle_results(ds):
    res = {}
    for tag, d in ds.items():
        res[(tag, "graph")] = co.graph_convexity(d["X"], d["y"], k=K)
        if "W" in d:
            res[(tag, "euclidean")] = co.euclidean_convexity_linear(
                d["X"], d["y"], d["W"], d["b"], n_points=POINTS,
                return_details=True)
    return res


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    ds = datasets()
    ores = oracle_results(ds)

    if argv[1] == "--oracle-only":
        for (tag, measure), r in ores.items():
            cl = ", ".join(f"{c}:{v['score']:.3f}±{v['sem']:.3f}"
                           for c, v in r["classes"].items())
            print(f"{tag}/{measure}: overall {r['score']:.4f}  [{cl}]"
                  f"  skipped {r['skipped']}")
        dg = ds["digits"]["X"]
        print("digits exact-duplicate rows:",
              len(dg) - len(np.unique(dg, axis=0)))
        for tag in ("digits", "digits_dups"):
            print(f"{tag} rows whose k-NN list is decided by the index rule:",
                  co.knn_boundary_ties(ds[tag]["X"], K))
            print(f"{tag} GC tie diagnostics:",
                  co.gc_tie_ranges(ds[tag]["X"], ds[tag]["y"], K))
        return 0

    cli = os.path.abspath(argv[1])
    t = Tally()
    cli_errors = 0
    with tempfile.TemporaryDirectory(prefix="convexlens_oracle_") as tmp:
        # oracle comparisons
        for (tag, measure), r in ores.items():
            d = ds[tag]
            try:
                js = run_cli(cli, tmp, tag, measure, d["X"], d["y"],
                             d.get("W"), d.get("b"))
            except CliError as e:
                cli_errors += 1
                t.fail(f"{tag}/{measure}", f"CLI error:\n{e}")
                continue
            diag = gc_diag(d["X"], d["y"]) if measure == "graph" \
                else ec_diag(r)
            compare(t, tag, measure, r, js, diag)

        # hand-worked toys (own k)
        for name, (X, y, k) in toy_cases().items():
            try:
                js = run_cli(cli, tmp, name, "graph", X, y, k=k)
            except CliError as e:
                cli_errors += 1
                t.fail(f"{name}/graph", f"CLI error:\n{e}")
                continue
            compare(t, name, "graph", co.graph_convexity(X, y, k=k), js)

        # properties
        for name, (X, y, check) in property_cases().items():
            try:
                js = run_cli(cli, tmp, name, "graph", X, y)
            except CliError as e:
                cli_errors += 1
                t.fail(f"property/{name}", f"CLI error:\n{e}")
                continue
            classes = cli_classes(js)
            ok, msg = check(classes, _num(js.get("score")))
            if ok:
                t.ok(f"property/{name}")
            else:
                t.fail(f"property/{name}", msg)
        for name, (X0, y0, X1, y1, tol) in invariance_cases().items():
            try:
                j0 = run_cli(cli, tmp, name + "_a", "graph", X0, y0)
                j1 = run_cli(cli, tmp, name + "_b", "graph", X1, y1)
            except CliError as e:
                cli_errors += 1
                t.fail(f"property/{name}", f"CLI error:\n{e}")
                continue
            c0, c1 = cli_classes(j0), cli_classes(j1)
            if set(c0) != set(c1):
                t.fail(f"property/{name}",
                       f"class sets differ {sorted(c0)} vs {sorted(c1)}")
                continue
            for c in sorted(c0):
                s0, s1 = _num(c0[c]["score"]), _num(c1[c]["score"])
                if abs(s0 - s1) <= tol:
                    t.ok(f"property/{name}/{c}")
                else:
                    t.fail(f"property/{name}/{c}",
                           f"expected {s0!r} got {s1!r} (tol {tol})")

    print(f"{t.passed} passed, {t.failed} failed")
    return 1 if (t.failed or cli_errors) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
