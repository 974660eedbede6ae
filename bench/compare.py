#!/usr/bin/env python3
"""Graph convexity: the authors' nnconvexity against convexlens (native CLI, wasm in Node,
the page in headless Chromium) on the same synthetic data. Run through bench/compare.sh,
which prepares the venv, the binaries and playwright-core; see bench/README.md."""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
OUT = BENCH / "out"
CLI = ROOT / "target" / "release" / "convexlens"
PY = sys.executable

K, PATHS, SEED = 10, 5000, 0
DIM, SPREAD = 768, 0.22
# n -> (classes, rows per class). 10 × 50 has m(m-1) = 2450 ≤ 5000 ordered pairs per class, so
# both tools score every pair and must agree exactly; the larger two sample 5000 pairs.
SIZES = {500: (10, 50), 1000: (10, 100), 10000: (10, 1000)}


def make_data(n):
    """Gaussian class clusters: centres ~ N(0, SPREAD² I), rows = centre + N(0, I). Centres are
    ~8.6 apart against ~39 within a class, so classes overlap and scores are well below 100."""
    classes, per = SIZES[n]
    folder = DATA / f"n{n}"
    meta = {"classes": classes, "per_class": per, "dim": DIM, "spread": SPREAD, "seed": SEED}
    if (folder / "meta.json").exists() and json.loads((folder / "meta.json").read_text()) == meta:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    centres = rng.normal(size=(classes, DIM)) * SPREAD
    x = (np.repeat(centres, per, axis=0) + rng.normal(size=(classes * per, DIM))).astype(np.float32)
    np.save(folder / "embeddings.npy", x)
    # Integers 0..C-1: nnconvexity only works with those (see nnc_run.py).
    np.save(folder / "labels.npy", np.repeat(np.arange(classes, dtype=np.int64), per))
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


def timed(cmd, timeout=None):
    """Runs cmd under /usr/bin/time -v: (wall seconds, stdout, peak RSS in kB)."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *map(str, cmd)], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return wall, p.stdout, int(rss.group(1)) if rss else None


# ------------------------------------------------------------------ the implementations

def run_nnc(folder):
    wall, out, rss = timed([PY, BENCH / "nnc_run.py", folder / "embeddings.npy", folder / "labels.npy", "--seed", SEED])
    r = json.loads(out)
    return {"seconds": r["seconds"], "rss_kb": rss, "raw": r, "note": f"process {wall:.1f} s with imports"}


def run_native(folder):
    wall, out, rss = timed([CLI, "graph", folder / "embeddings.npy", "--labels", folder / "labels.npy",
                            "--k", K, "--paths", PATHS, "--seed", SEED, "--baseline", 0])
    r = json.loads(out)
    core = sum(r.get("timings_ms", {}).values()) / 1000
    return {"seconds": wall, "rss_kb": rss, "result": r, "note": f"whole command; core {core:.3f} s"}


def run_node(folder):
    _, out, rss = timed(["node", BENCH / "wasm_node.mjs", folder / "embeddings.npy", folder / "labels.npy", PATHS, K])
    r = json.loads(out)
    return {"seconds": (r["add_ms"] + r["graph_ms"]) / 1000, "rss_kb": rss, "result": r["result"],
            "note": f"add_file {r['add_ms']:.0f} ms + graph; wasm init {r['init_ms']:.0f} ms; wasm memory {r['wasm_memory_bytes'] / 2**20:.0f} MiB"}


def run_page(mode):
    def run(folder):
        # bench.html waits 2 s before its run, as a person choosing files and settings would:
        # meanwhile the browser finishes optimising the warmed-up module (see www/worker.js).
        extra = ["&pause=2000"] if mode == "bench" else []
        _, out, _ = timed(["node", BENCH / "page.mjs", mode, folder, PATHS, K, *extra], timeout=3600)
        r = json.loads(out)
        errors = f"; console errors: {r['console_errors']}" if r["console_errors"] else ""
        if mode == "bench":
            return {"seconds": r["run_ms"] / 1000, "rss_kb": r["renderer_peak_kb"], "result": r["result"],
                    "note": f"graph request; reading files {r['add_ms']:.0f} ms{errors}"}
        split = f" (graph step {r['graph_step_ms'] / 1000:.2f} s)" if r.get("graph_step_ms") else ""
        return {"seconds": r["run_ms"] / 1000, "rss_kb": r["renderer_peak_kb"], "result": r["result"],
                "note": f"Run click to done: graph + PCA scatter + drawing{split}; upload {r['add_ms']} ms; page said: {r['status']}{errors}"}
    return run


OURS = [
    ("native CLI", run_native),
    ("wasm in Node", run_node),
    ("page www/bench.html", run_page("bench")),
    ("page index.html", run_page("index")),
]


# ------------------------------------------------------------------ checks

CLASS_KEYS = ("label", "n", "pairs", "score", "sem", "baseline")
TOP_KEYS = ("score", "sem", "pooled_mean", "no_path", "components", "edges")


def differences(ref, other):
    """Every field of the graph result that is not bit-identical (== on the JSON numbers)."""
    out = [f"{k}: {ref.get(k)!r} vs {other.get(k)!r}" for k in TOP_KEYS if ref.get(k) != other.get(k)]
    if len(ref["classes"]) != len(other["classes"]):
        return out + ["class count differs"]
    for a, b in zip(ref["classes"], other["classes"]):
        out += [f"class {a['label']} {k}: {a.get(k)!r} vs {b.get(k)!r}" for k in CLASS_KEYS if a.get(k) != b.get(k)]
    return out


def against_nnc(ours, nnc):
    """Per class: exact when both score every ordered pair; otherwise a sampling tolerance.
    Both draw pairs uniformly without replacement from the same N = m(m-1) ordered pairs,
    with different RNGs, so the two means are independent simple random samples of one fixed
    population: Var(mean) = S²/p · (1 − p/N) exactly, whatever the dependence between pairs
    that share rows. S (the population sd of path scores) is taken from our SEM (= 100·S/√m).
    Pass when |difference| ≤ 4 standard errors of the difference."""
    theirs = {c["label"]: c for c in nnc["classes"]}
    rows, ok = [], True
    weight, weight_theirs, sum_ours, sum_theirs, var = 0, 0, 0.0, 0.0, 0.0
    for c in ours["classes"]:
        t = theirs[c["label"]]
        m, p, q = c["n"], c["pairs"], t["pairs"]
        total = m * (m - 1)
        diff = c["score"] - t["mean_unrounded"]
        s = c["sem"] * math.sqrt(m)
        se = s * math.sqrt((1 - p / total) / p + (1 - q / total) / q)
        if p == total and q == total:
            good = abs(diff) <= 1e-9 and abs(c["score"] - t["score"]) <= 0.005 + 1e-9
            rule = "exact (all pairs)"
        else:
            good = abs(diff) <= 4 * se
            rule = f"tol 4×SE = {4 * se:.2f}"
        ok &= good
        rows.append(f"  class {c['label']}: ours {c['score']:.4f}, nnconvexity {t['mean_unrounded']:.4f} (it reports {t['score']:.2f}), "
                    f"pairs {p}/{q} of {total}, diff {diff:+.2e}, {rule}: {'ok' if good else 'DIFFERENT'}")
        weight += p
        weight_theirs += q
        sum_ours += p * c["score"]
        sum_theirs += q * t["mean_unrounded"]
        var += (p * se) ** 2
    # Pooled over all paths (nnconvexity's overall score is this, not the mean of classes).
    diff = sum_ours / weight - sum_theirs / weight_theirs
    se = math.sqrt(var) / weight
    good = abs(diff) <= max(4 * se, 1e-9)
    ok &= good
    rows.append(f"  pooled: ours {ours['pooled_mean']:.4f}, nnconvexity {nnc['score']:.2f} (unrounded {sum_theirs / weight_theirs:.4f}), "
                f"diff {diff:+.2e}, tol {max(4 * se, 1e-9):.2g}: {'ok' if good else 'DIFFERENT'}")
    if all(c["pairs"] == c["n"] * (c["n"] - 1) for c in ours["classes"]):
        same = ours["no_path"] == nnc["unreachable_warnings"]
        ok &= same
        rows.append(f"  pairs with no path: ours {ours['no_path']}, nnconvexity {nnc['unreachable_warnings']}: {'ok' if same else 'DIFFERENT'}")
    return ok, rows


def total_paths(n):
    classes, per = SIZES[n]
    return classes * min(per * (per - 1), PATHS)


def estimate_nnc(n, done):
    """Seconds nnconvexity would take at n, from its stage times at the largest smaller n run:
    the dense distance matrix, neighbour search and graph build grow as n²; the paths stage as
    (number of paths) × n (each is a Dijkstra run on an n-vertex graph)."""
    smaller = [s for s in done if s < n]
    if not smaller:
        return None, "no smaller run to estimate from"
    s = max(smaller)
    r = done[s]["raw"]
    quad = r["stages"]["get_nearest_neighbors"] + r["other_seconds"]
    paths = r["stages"]["compute_paths"]
    est = quad * (n / s) ** 2 + paths * (total_paths(n) / total_paths(s)) * (n / s)
    return est, (f"from n = {s:,}: ({quad:.1f} s distances/neighbours/graph) × {(n / s) ** 2:.0f} + "
                 f"({paths:.1f} s paths) × {total_paths(n) / total_paths(s) * n / s:.0f} = {est:.0f} s")


# ------------------------------------------------------------------ the run

def fmt_mb(kb):
    return f"{kb / 1024:.0f} MB" if kb else "–"


def load():
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip().splitlines()[0]
    except Exception as e:  # a missing tool is reported, not fatal here
        return f"unknown ({e})"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="500,1000,10000", help="comma-separated n among 500, 1000, 10000")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each of ours (median time, max memory)")
    ap.add_argument("--nnc-budget", type=float, default=600, help="skip nnconvexity at an n estimated to take longer (s)")
    ap.add_argument("--force-nnc", action="store_true", help="run nnconvexity at every size whatever the estimate")
    ap.add_argument("--no-nnc", action="store_true", help="only ours")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    for n in sizes:
        if n not in SIZES:
            ap.error(f"unknown size {n}; choose among {', '.join(map(str, SIZES))}")

    import importlib.metadata as md
    env = {
        "commit": version(["git", "describe", "--always", "--dirty"]),
        "nnconvexity": md.version("nnconvexity"), "numpy": md.version("numpy"), "pandas": md.version("pandas"),
        "igraph": md.version("igraph"), "scipy": md.version("scipy"),
        "node": version(["node", "--version"]), "chromium": version(["/usr/bin/chromium", "--version"]),
        "cpus": os.cpu_count(), "load at start": load(),
    }
    print("# convexlens vs nnconvexity: graph convexity", flush=True)
    print(f"k = {K}, {PATHS} pairs per class, seed {SEED}, no chance permutations; data: {DIM}-d Gaussian class clusters "
          f"(centres ~ N(0, {SPREAD}²·I), rows = centre + N(0, I)), float32")
    print("; ".join(f"{k} {v}" for k, v in env.items()), flush=True)

    report = {"env": env, "sizes": {}}
    table = []
    checks = []
    nnc_done = {}
    for n in sizes:
        classes, per = SIZES[n]
        folder = make_data(n)
        entry = {"load before": load()}
        print(f"\n## n = {n:,} ({classes} × {per}); load {entry['load before']}", flush=True)

        nnc = None
        if args.no_nnc:
            nnc_note = "not run (--no-nnc)"
        else:
            est, how = estimate_nnc(n, nnc_done)
            if est is not None and est > args.nnc_budget and not args.force_nnc:
                nnc_note = f"skipped: estimated {est / 60:.0f} min > {args.nnc_budget / 60:.0f} min ({how})"
            else:
                print(f"nnconvexity… {('(estimated ' + how + ')') if est is not None else ''}", flush=True)
                nnc = run_nnc(folder)
                nnc_done[n] = nnc
                st = nnc["raw"]["stages"]
                nnc_note = (f"compute_graph_convexity call; neighbours {st['get_nearest_neighbors']:.1f} s, paths {st['compute_paths']:.1f} s, "
                            f"other {nnc['raw']['other_seconds']:.1f} s; {nnc['note']}")
                if est is not None:
                    nnc_note += f"; estimate was {est:.0f} s"
            print(f"nnconvexity: {nnc_note}", flush=True)
        table.append((n, "nnconvexity 0.1.1 (Python)", nnc["seconds"] if nnc else None, None, nnc["rss_kb"] if nnc else None, nnc_note))

        ref = None
        identical = []
        for name, fn in OURS:
            runs = []
            for i in range(args.repeat):
                try:
                    runs.append(fn(folder))
                except Exception as e:  # one failing implementation is reported; the others still run
                    print(f"{name}: FAILED: {e}", flush=True)
                    break
            if not runs:
                table.append((n, name, None, None, None, "failed (see above)"))
                identical.append(f"  {name}: failed")
                continue
            secs = statistics.median(r["seconds"] for r in runs)
            rss = max(r["rss_kb"] or 0 for r in runs)
            speedup = nnc["seconds"] / secs if nnc else None
            each = ", ".join(f"{r['seconds']:.3f}" for r in runs)
            spread = f"runs {each} s; " if len(runs) > 1 else ""
            table.append((n, name, secs, speedup, rss, spread + runs[-1]["note"]))
            print(f"{name}: {secs:.3f} s (median of {len(runs)}), peak {fmt_mb(rss)}", flush=True)
            if ref is None:
                ref = runs[0]["result"]
            diffs = [d for r in runs for d in differences(ref, r["result"])]
            identical.append(f"  {name} ({len(runs)} runs) vs native: " + ("bit-identical" if not diffs else "DIFFERENT: " + "; ".join(diffs[:6])))
            entry[name] = {"seconds": [r["seconds"] for r in runs], "rss_kb": rss, "score": runs[0]["result"]["score"], "differences": diffs}
        entry["load after"] = load()
        checks.append(f"n = {n:,}, ours among themselves:")
        checks += identical
        if nnc and ref:
            ok, rows = against_nnc(ref, nnc["raw"])
            checks.append(f"n = {n:,}, ours (native) vs nnconvexity: {'SAME' if ok else 'DIFFERENT'}")
            checks += rows
            entry["nnconvexity"] = nnc["raw"]
            entry["agrees with nnconvexity"] = ok
        report["sizes"][n] = entry

    print("\n## Times (load average at start " + env["load at start"] + ", at end " + load() + "; 2 cores shared with other builds)\n")
    print("| n | implementation | time | nnconvexity ÷ this | peak memory | what is timed |")
    print("|---|---|---|---|---|---|")
    for n, name, secs, speedup, rss, note in table:
        t = f"{secs:.3f} s" if secs is not None else "–"
        s = f"{speedup:.0f}×" if speedup else "–"
        print(f"| {n:,} | {name} | {t} | {s} | {fmt_mb(rss)} | {note} |")
    print("\nLoad average (1/5/15 min) before each size: " + "; ".join(f"n = {n:,}: {e['load before']}" for n, e in report["sizes"].items()))
    print("\nPeak memory: /usr/bin/time -v maximum RSS of the process (Python, the CLI, Node); for the page, the "
          "VmHWM of Chromium's renderer process, which holds the page and its worker's wasm memory.")
    print("\n## Same scores?\n")
    print("\n".join(checks))

    print("\n## Goals (reported, not asserted)\n")
    rows = {(n, name): (secs, speedup) for n, name, secs, speedup, _, _ in table}
    for page in ("page www/bench.html", "page index.html"):
        secs, speedup = rows.get((1000, page), (None, None))
        if secs is not None and speedup:
            same = report["sizes"][1000].get("agrees with nnconvexity")
            print(f"- n = 1,000, {page}: {speedup:.0f}× faster than nnconvexity (goal ≥ 200×: {'met' if speedup >= 200 else 'not met'}); "
                  f"per-class scores {'agree' if same else 'DIFFER'} within the sampling tolerance")
        secs, _ = rows.get((10000, page), (None, None))
        if secs is not None:
            print(f"- n = 10,000, {page}: {secs:.2f} s (goal < 3 s: {'met' if secs < 3 else 'not met'})")

    OUT.mkdir(exist_ok=True)
    path = OUT / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    print(f"\nAll numbers: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
