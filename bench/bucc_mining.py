"""BUCC-style margin mining: ours (xstilts.retrieval.mine) vs the XTREME/LASER reference algorithm, same run.

Synthetic unit vectors with planted translation pairs and distractors.  Each algorithm runs in its own process so
that its peak memory (max RSS above the loaded data) is its own.  Prints wall time, peak memory and F1 of each,
the achieved FLOP rate against this machine's matmul rate measured here, ours' search work (candidates rescored
exactly, rows recomputed over the whole database), whether ours mines the reference's pairs with its F1, and,
last, `speedup <reference time / ours bfloat16 time>`.

    python bench/bucc_mining.py                 # 50k x 50k x 1024 (about 3 minutes on 2 cores)
    python bench/bucc_mining.py --n 20000       # quicker
"""
import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def data(n, d, seed):
    import reference_bucc as ref

    n_gold = n // 5
    return ref.planted(n_gold=n_gold, n_x=n, n_y=n, d=d, noise=2.0, seed=seed)


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb():
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def run(which, n, d, seed, precision, q, data_dir):
    import torch

    torch.set_num_threads(os.cpu_count())
    x, y = np.load(Path(data_dir) / "x.npy"), np.load(Path(data_dir) / "y.npy")
    gold = {tuple(p) for p in np.load(Path(data_dir) / "gold.npy").tolist()}
    base = current_rss_mb()  # the data are loaded; the peak above this is the algorithm's own
    t0 = time.perf_counter()
    if which == "reference":
        import reference_bucc as ref

        pairs = ref.mine_bitext(x, y, 4)
        cands = {(s, t): sc for s, t, sc in pairs}
        backend = "faiss-cpu IndexFlatIP x2 + python-loop margin"
    else:
        from xstilts.retrieval import mine

        m = mine(x, y, k=4, engine="mutual", precision=precision)
        cands = {(int(s), int(t)): float(sc) for s, t, sc in zip(m.src, m.tgt, m.score)}
        backend = m.backend
        work = {"candidates_rescored": m.candidates_rescored, "rows_recomputed": m.fallback_rows}
    secs = time.perf_counter() - t0
    import reference_bucc as ref

    thr, f1 = ref.bucc_optimize(cands, gold)
    q.put({"which": which, "precision": precision, "seconds": secs, "peak_mb_above_data": rss_mb() - base, "f1": f1,
           "n_pairs": len(cands), "backend": backend, **(work if which == "ours" else {}), "pairs": sorted(cands)})


def matmul_rate(dtype_name, n=4096, reps=3):
    import torch

    torch.set_num_threads(os.cpu_count())
    dt = getattr(torch, dtype_name)
    a, b = torch.randn(n, n).to(dt), torch.randn(n, n).to(dt)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def in_child(*args, data_dir):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=run, args=(*args, q, data_dir))
    p.start()
    out = q.get()
    p.join()
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50000)
    ap.add_argument("--d", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-reference", action="store_true", help="ours only (e.g. GPU sizes the reference cannot reach)")
    a = ap.parse_args()
    flop = 2 * a.n * a.n * a.d  # one similarity pass; the reference computes it twice (two searches)
    print(f"# BUCC mining bench: {a.n} x {a.n} x {a.d}, k=4, planted pairs {a.n // 5} per side, cpus={os.cpu_count()}")
    rates = {dt: matmul_rate(dt) for dt in ("float32", "bfloat16")}
    for dt, r in rates.items():
        print(f"machine matmul rate {dt}: {r / 1e9:.0f} GFLOP/s (torch, 4096^2)")
    import tempfile

    tmp = tempfile.mkdtemp()
    x, y, gold = data(a.n, a.d, a.seed)
    np.save(Path(tmp) / "x.npy", x)
    np.save(Path(tmp) / "y.npy", y)
    np.save(Path(tmp) / "gold.npy", np.array(sorted(gold)))
    del x, y
    results = []
    if not a.skip_reference:
        results.append(in_child("reference", a.n, a.d, a.seed, "float32", data_dir=tmp))
    for prec in ("float32", "bfloat16"):
        results.append(in_child("ours", a.n, a.d, a.seed, prec, data_dir=tmp))
    for r in results:
        passes = 2 if r["which"] == "reference" else 1
        rate = passes * flop / r["seconds"]
        ref_rate = rates["bfloat16" if r["precision"] == "bfloat16" else "float32"]
        print(json.dumps({key: v for key, v in r.items() if key != "pairs"}))
        work = (f"  {r['candidates_rescored']:,} candidates rescored ({r['candidates_rescored'] / (2 * a.n):.1f}/row), "
                f"{r['rows_recomputed']:,} rows recomputed" if r["which"] == "ours" else "")
        print(f"{r['which']:9s} {r['precision']:8s}: {r['seconds']:7.2f} s  peak +{r['peak_mb_above_data']:7.0f} MB  F1 {r['f1']:.4f}  "
              f"{rate / 1e9:6.0f} GFLOP/s = {rate / ref_rate:.0%} of the {r['precision']} matmul rate{work}")
    if not a.skip_reference:
        ref_r = results[0]
        for r in results[1:]:
            print(f"ours {r['precision']}: pairs equal to the reference's: {r['pairs'] == ref_r['pairs']} "
                  f"({r['n_pairs']} vs {ref_r['n_pairs']}); F1 equal: {abs(r['f1'] - ref_r['f1']) < 1e-12}")
        ours16 = next(r for r in results if r["which"] == "ours" and r["precision"] == "bfloat16")
        print(f"speedup {ref_r['seconds'] / ours16['seconds']:.2f}")
