"""Sentence retrieval: Tatoeba accuracy@1 (both directions) and BUCC 2018 margin-based bitext mining.

Exact inner-product search on L2-normalised vectors (cosine):

* :func:`knn` -- FAISS ``IndexFlatIP``; a GPU index (optionally float16) automatically when faiss sees a GPU;
  chunked over the database so memory stays bounded at BUCC scale; merges per-chunk top-k.
* :func:`mutual_knn` -- both directions' top-k from **one** similarity pass (tiled GEMM, running top-k per side),
  in torch on the GPU when present.  Neighbour *selection* may use float16/bfloat16; the similarities of the
  selected candidates are recomputed in float32, so margins and scores are exact.

BUCC follows LASER/XTREME ``mine_bitext`` (k = 4, ratio margin, ``retrieval='max'`` greedy one-to-one pairing) and
``bucc_optimize`` (F1-optimal threshold at the midpoint between adjacent candidate scores).  The threshold is tuned
on the sample (dev) split and applied unchanged to the training (test) split; the oracle F1 (threshold tuned on the
test gold) is reported beside it, labelled as such.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------------------------------------------
# search backends
# --------------------------------------------------------------------------------------------------------------


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def faiss_gpu_count() -> int:
    import faiss

    return faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0


def _topk_merge(d1, i1, d2, i2, k):
    d = np.concatenate([d1, d2], axis=1)
    i = np.concatenate([i1, i2], axis=1)
    part = np.argsort(-d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, part, 1), np.take_along_axis(i, part, 1)


def knn(queries: np.ndarray, database: np.ndarray, k: int, use_gpu: bool | None = None, float16: bool = False,
        db_chunk: int = 262144) -> tuple[np.ndarray, np.ndarray, str]:
    """Exact top-k inner product of each query against the database (FAISS).  Returns (sims, ids, backend)."""
    import faiss

    k = min(k, len(database))
    if use_gpu is None:
        use_gpu = faiss_gpu_count() > 0
    backend = ("faiss-gpu-fp16" if float16 else "faiss-gpu") if use_gpu else "faiss-cpu"
    res = faiss.StandardGpuResources() if use_gpu else None
    best_d = best_i = None
    for start in range(0, len(database), db_chunk):
        chunk = np.ascontiguousarray(database[start : start + db_chunk], dtype=np.float32)
        index = faiss.IndexFlatIP(chunk.shape[1])
        if use_gpu:
            co = faiss.GpuClonerOptions()
            co.useFloat16 = float16
            index = faiss.index_cpu_to_gpu(res, 0, index, co)
        index.add(chunk)
        d, i = index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, len(chunk)))
        i = i + start
        best_d, best_i = (d, i) if best_d is None else _topk_merge(best_d, best_i, d, i, k)
    return best_d, best_i, backend


def _torch_device(device: str | None):
    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def _rescore(A, B, ind, block_bytes: int):
    """Exact float32 A[i] . B[ind[i, j]] in row chunks that keep the gathered B rows within ``block_bytes``."""
    import torch

    out = torch.empty(ind.shape, dtype=torch.float32, device=A.device)
    rows = max(1, block_bytes // (4 * A.shape[1] * max(1, ind.shape[1])))
    for s in range(0, len(A), rows):
        out[s : s + rows] = torch.einsum("nd,nkd->nk", A[s : s + rows], B[ind[s : s + rows]])
    return out


def mutual_knn(x: np.ndarray, y: np.ndarray, k: int, precision: str = "float32", device: str | None = None,
               block_bytes: int = 1 << 24) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """Top-k of x against y *and* of y against x from one pass over the similarity matrix.

    The matrix is computed in square tiles (``block_bytes`` bounds a tile); each tile yields its rows' top-k and,
    transposed in cache, its columns' top-k, merged into running top-k lists for both sides.  Selection may run in
    bfloat16/float16 with 2k over-sampling; the candidates' similarities are recomputed in float32.
    Returns (x2y_sim, x2y_ind, y2x_sim, y2x_ind, backend).
    """
    import torch

    dev = _torch_device(device)
    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[precision]
    if dev.type == "cpu" and dtype == torch.float16:
        dtype = torch.bfloat16  # CPU GEMMs have no fast fp16 path
    # low-precision selection over-samples candidates (2k), then keeps the exact float32 top-k among them
    over = k if dtype == torch.float32 else 2 * k
    kx, ky = min(over, len(y)), min(over, len(x))
    X = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(dev)
    Y = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)).to(dev)
    Xc, Yc = X.to(dtype), Y.to(dtype)
    # square tiles: each tile's rows and (after a cheap in-cache transpose) its columns are searched contiguously
    tile = int(min(8192, max(256, (block_bytes // 4) ** 0.5)))
    x2y_ind = torch.empty((len(x), kx), dtype=torch.long, device=dev)
    col_val = torch.full((len(y), ky), -float("inf"), device=dev)
    col_ind = torch.zeros((len(y), ky), dtype=torch.long, device=dev)
    for s in range(0, len(x), tile):
        Xs = Xc[s : s + tile]
        rv, ri = [], []
        for t in range(0, len(y), tile):
            blk = Xs @ Yc[t : t + tile].T  # selection precision; exact scores are recomputed below
            v, i = blk.topk(min(kx, blk.shape[1]), dim=1)
            rv.append(v.float())
            ri.append(i + t)
            v, i = blk.T.contiguous().topk(min(ky, blk.shape[0]), dim=1)
            cv = torch.cat([col_val[t : t + tile], v.float()], dim=1)
            ci = torch.cat([col_ind[t : t + tile], i + s], dim=1)
            top = cv.topk(ky, dim=1).indices
            col_val[t : t + tile], col_ind[t : t + tile] = cv.gather(1, top), ci.gather(1, top)
        rv, ri = torch.cat(rv, dim=1), torch.cat(ri, dim=1)
        x2y_ind[s : s + tile] = ri.gather(1, rv.topk(kx, dim=1).indices)
    y2x_ind = col_ind
    # exact float32 similarities of the selected candidates (chunked: the gathered rows are n x k x d)
    x2y_sim = _rescore(X, Y, x2y_ind, block_bytes)
    y2x_sim = _rescore(Y, X, y2x_ind, block_bytes)
    # keep each row's exact top-k, ordered by exact similarity
    o1 = x2y_sim.argsort(1, descending=True)[:, : min(k, len(y))]
    o2 = y2x_sim.argsort(1, descending=True)[:, : min(k, len(x))]
    x2y_sim, x2y_ind = x2y_sim.gather(1, o1), x2y_ind.gather(1, o1)
    y2x_sim, y2x_ind = y2x_sim.gather(1, o2), y2x_ind.gather(1, o2)
    backend = f"torch-{dev.type}-{str(dtype).split('.')[-1]}-mutual"
    return x2y_sim.cpu().numpy(), x2y_ind.cpu().numpy(), y2x_sim.cpu().numpy(), y2x_ind.cpu().numpy(), backend


# --------------------------------------------------------------------------------------------------------------
# Tatoeba
# --------------------------------------------------------------------------------------------------------------


def retrieval_accuracy(queries: np.ndarray, database: np.ndarray, use_gpu: bool | None = None) -> tuple[float, str]:
    """Share of queries whose nearest database vector (cosine) is the aligned row (gold = identity)."""
    _, idx, backend = knn(l2_normalize(queries), l2_normalize(database), 1, use_gpu=use_gpu)
    return float((idx[:, 0] == np.arange(len(queries))).mean()), backend


def tatoeba_scores(src: np.ndarray, en: np.ndarray, use_gpu: bool | None = None) -> dict:
    """Accuracy@1 en→xx (English queries, as the XTREME/jiant code computes) and xx→en, with chance = 1/N."""
    en2xx, backend = retrieval_accuracy(en, src, use_gpu)
    xx2en, _ = retrieval_accuracy(src, en, use_gpu)
    n = len(src)
    return {"acc_en2xx": en2xx, "acc_xx2en": xx2en, "acc_mean": (en2xx + xx2en) / 2, "n": n, "chance": 1.0 / n,
            "backend": backend}


# --------------------------------------------------------------------------------------------------------------
# BUCC mining
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Mined:
    src: np.ndarray  # row index into the (deduplicated) source side
    tgt: np.ndarray
    score: np.ndarray
    backend: str
    seconds: float


def margin_scores(sim: np.ndarray, ind: np.ndarray, fwd_mean: np.ndarray, bwd_mean: np.ndarray) -> np.ndarray:
    """Ratio margin cos(x,y) / ((mean_k(x) + mean_k(y)) / 2) for every (row, candidate), vectorised."""
    return sim / ((fwd_mean[:, None] + bwd_mean[ind]) / 2.0)


def greedy_max(cand_src: np.ndarray, cand_tgt: np.ndarray, scores: np.ndarray, threshold: float = 0.0):
    """``retrieval='max'``: best candidates first, accept a pair only if neither side is taken and score > threshold."""
    order = np.argsort(-scores, kind="stable")
    seen_s, seen_t = set(), set()
    keep = []
    for i in order:
        s, t = int(cand_src[i]), int(cand_tgt[i])
        if s in seen_s or t in seen_t:
            continue
        seen_s.add(s)
        seen_t.add(t)
        if scores[i] > threshold:
            keep.append(i)
    keep = np.array(keep, dtype=np.int64)
    return cand_src[keep], cand_tgt[keep], scores[keep]


def mine(x: np.ndarray, y: np.ndarray, k: int = 4, engine: str = "mutual", precision: str = "float32",
         use_gpu: bool | None = None, device: str | None = None) -> Mined:
    """Ratio-margin bitext mining of x (source) against y (English), LASER/XTREME ``mode='mine', retrieval='max'``."""
    t0 = time.perf_counter()
    x, y = l2_normalize(x), l2_normalize(y)
    if engine == "mutual":
        x2y_sim, x2y_ind, y2x_sim, y2x_ind, backend = mutual_knn(x, y, k, precision=precision, device=device)
    elif engine == "faiss":
        x2y_sim, x2y_ind, backend = knn(x, y, k, use_gpu=use_gpu, float16=precision == "float16")
        y2x_sim, y2x_ind, _ = knn(y, x, k, use_gpu=use_gpu, float16=precision == "float16")
    else:
        raise ValueError(f"unknown mining engine {engine!r} (mutual|faiss)")
    fwd_mean, bwd_mean = x2y_sim.mean(1), y2x_sim.mean(1)
    fwd = margin_scores(x2y_sim, x2y_ind, fwd_mean, bwd_mean)
    bwd = margin_scores(y2x_sim, y2x_ind, bwd_mean, fwd_mean)
    fa, ba = fwd.argmax(1), bwd.argmax(1)
    cand_src = np.concatenate([np.arange(len(x)), y2x_ind[np.arange(len(y)), ba]])
    cand_tgt = np.concatenate([x2y_ind[np.arange(len(x)), fa], np.arange(len(y))])
    scores = np.concatenate([fwd.max(1), bwd.max(1)])
    s, t, sc = greedy_max(cand_src, cand_tgt, scores)
    return Mined(s, t, sc, backend, time.perf_counter() - t0)


def dedup(texts: list[str], ids: list[str]) -> tuple[list[str], list[list[str]]]:
    """Unique sentences (first-seen order) and, for each, every id that carries it (jiant's text->ids mapping)."""
    pos: dict[str, int] = {}
    uniq: list[str] = []
    owners: list[list[str]] = []
    for t, i in zip(texts, ids):
        if t not in pos:
            pos[t] = len(uniq)
            uniq.append(t)
            owners.append([])
        owners[pos[t]].append(i)
    return uniq, owners


def candidates_to_ids(m: Mined, src_owners: list[list[str]], tgt_owners: list[list[str]]) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for s, t, sc in zip(m.src, m.tgt, m.score):
        for a in src_owners[s]:
            for b in tgt_owners[t]:
                out[(a, b)] = max(float(sc), out.get((a, b), -np.inf))
    return out


def prf(pred: set, gold: set) -> dict:
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold) if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "n_pred": len(pred), "n_gold": len(gold)}


def optimize_threshold(cands: dict[tuple[str, str], float], gold: set) -> tuple[float, float]:
    """``bucc_optimize``: sweep the cut over candidates sorted by score; threshold = midpoint at the best F1."""
    items = sorted(cands.items(), key=lambda kv: -kv[1])
    n_correct, best_f1, threshold = 0, 0.0, (items[0][1] + 1e-6 if items else 0.0)
    for i, (pair, score) in enumerate(items):
        n_correct += pair in gold
        if n_correct:
            p, r = n_correct / (i + 1), n_correct / len(gold)
            f1 = 2 * p * r / (p + r)
            if f1 > best_f1:
                best_f1 = f1
                threshold = (score + items[i + 1][1]) / 2 if i + 1 < len(items) else score
    return threshold, best_f1


def apply_threshold(cands: dict[tuple[str, str], float], threshold: float) -> set:
    return {p for p, s in cands.items() if s >= threshold}


def bucc_split(x: np.ndarray, y: np.ndarray, src_texts, src_ids, tgt_texts, tgt_ids, **mine_kw):
    """Mine one split: dedup both sides, mine over the unique sentences, return id-level candidate scores."""
    su, so = dedup(src_texts, src_ids)
    tu, to = dedup(tgt_texts, tgt_ids)
    first_s = _first_rows(src_texts, su)
    first_t = _first_rows(tgt_texts, tu)
    m = mine(x[first_s], y[first_t], **mine_kw)
    return candidates_to_ids(m, so, to), m


def _first_rows(texts: list[str], uniq: list[str]) -> np.ndarray:
    pos: dict[str, int] = {}
    for i, t in enumerate(texts):
        pos.setdefault(t, i)
    return np.array([pos[t] for t in uniq], dtype=np.int64)


def bucc_evaluate(dev_cands: dict, dev_gold: set, test_cands: dict, test_gold: set) -> dict:
    """Threshold tuned on dev gold, applied unchanged to test; oracle test F1 reported separately."""
    threshold, dev_f1 = optimize_threshold(dev_cands, dev_gold)
    test = prf(apply_threshold(test_cands, threshold), test_gold)
    oracle_threshold, oracle_f1 = optimize_threshold(test_cands, test_gold)
    return {"threshold_from_dev": threshold, "dev_f1": dev_f1, **{f"test_{k}": v for k, v in test.items()},
            "oracle_test_f1": oracle_f1, "oracle_threshold": oracle_threshold}
