"""Sentence retrieval: Tatoeba accuracy@1 (both directions) and BUCC 2018 margin-based bitext mining.

Every search is an exact cosine top-k (inner product of L2-normalised vectors) with one tie rule: **equal scores
are ordered by the lower database index**.  Engines only *propose* candidates; the result is decided by one
canonical step shared by all of them (:func:`canonical_topk`), so every engine returns the same neighbours:

1. an engine proposes ``m`` candidates per query (2k in float32, 8k in low precision): :func:`knn` (FAISS ``IndexFlatIP``, GPU when faiss sees one,
   chunked over the database) or :func:`mutual_knn` (both directions from one tiled similarity pass in torch,
   float32 or low-precision selection);
2. the candidates are rescored in float64 (rounded to float32: the canonical score) and ordered by (score desc,
   index asc);
3. the selection is **verified**: a row is accepted only when its k-th canonical score exceeds its m-th by more
   than twice the engine's worst-case rounding error (``selection_tolerance``) -- then no vector outside the
   candidate list can belong in the top k, nor tie with it.  Rows that fail (exact ties at the boundary, or
   low-precision scores bunched together) are recomputed: first a float32 pass over the whole database, then, if
   still ambiguous, float64.  The number of recomputed rows is returned (``fallback_rows``).

So bfloat16/float16 selection is **exact**, not approximate: it is only faster where the margins are clear.
float32 stays the default.

BUCC follows LASER/XTREME ``mine_bitext`` (k = 4, ratio margin, ``retrieval='max'`` greedy one-to-one pairing) and
``bucc_optimize`` (F1-optimal threshold at the midpoint between adjacent candidate scores).  The threshold is tuned
on the sample (dev) split and applied unchanged to the training (test) split; the oracle F1 (threshold tuned on the
test gold) is reported beside it, labelled as such.  Repeated sentences are mined once; how their ids are credited
is a choice (``DUPLICATES``): ``all_ids`` (jiant: a mined text pair counts for every id carrying that text) or
``drop`` (XTREME ``read_sent2id``: a sentence that occurs more than once on a side maps to no id).

Bad inputs are errors that name the input (:class:`RetrievalInputError`): non-finite values, empty sides,
mismatched dimensions, Tatoeba sides of different lengths, BUCC texts that do not match the embedding rows.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xstilts.io import atomic_write_json, atomic_write_parquet, load_embeddings
from xstilts.plan import layer_position

log = logging.getLogger(__name__)
DUPLICATES = ("all_ids", "drop")
ENGINES = ("mutual", "faiss")  # retrieval.bucc.engine (the schema's enum; tests/test_plan.py checks they agree)
SEARCH_PRECISIONS = ("float32", "float16", "bfloat16")  # retrieval.bucc.precision
TIE_RULE = "equal scores: lower index first"


class RetrievalInputError(ValueError):
    """An embedding or text input that cannot give a meaningful retrieval score (the message names it)."""


# --------------------------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------------------------


def check_embeddings(x: np.ndarray, name: str) -> np.ndarray:
    """A non-empty 2-D matrix of finite numbers, else an error naming ``name`` (file / language / side / layer)."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise RetrievalInputError(f"{name}: expected a 2-D (sentences x dim) matrix, got shape {x.shape}")
    if x.shape[0] == 0:
        raise RetrievalInputError(f"{name}: no sentences (empty side)")
    if x.shape[1] == 0:
        raise RetrievalInputError(f"{name}: zero-dimensional embeddings")
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise RetrievalInputError(f"{name}: {len(bad)} of {len(x)} embedding rows contain NaN or inf "
                                  f"(first rows: {bad[:5].tolist()}); refusing to score them")
    return x


def check_pair(x: np.ndarray, y: np.ndarray, x_name: str, y_name: str) -> None:
    check_embeddings(x, x_name)
    check_embeddings(y, y_name)
    if x.shape[1] != y.shape[1]:
        raise RetrievalInputError(f"{x_name} has dimension {x.shape[1]} but {y_name} has {y.shape[1]}")


# --------------------------------------------------------------------------------------------------------------
# search engines (candidate proposal)
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
    """Raw FAISS top-k inner product (an engine: ties unordered).  Returns (sims, ids, backend)."""
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


def _torch_dtype(precision: str, dev):
    import torch

    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[precision]
    if dev.type == "cpu" and dtype == torch.float16:
        dtype = torch.bfloat16  # CPU GEMMs have no fast fp16 path
    return dtype


def mutual_knn(x: np.ndarray, y: np.ndarray, m: int, precision: str = "float32", device: str | None = None,
               block_bytes: int = 1 << 24) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Candidate top-m of x against y *and* of y against x from one pass over the similarity matrix (an engine).

    The matrix is computed in square tiles (``block_bytes`` bounds a tile); each tile yields its rows' top-m and,
    transposed in cache, its columns' top-m, merged into running lists for both sides.  Returns
    (x2y_ind, y2x_ind, backend, effective precision); the caller canonicalises the candidates.
    """
    import torch

    dev = _torch_device(device)
    dtype = _torch_dtype(precision, dev)
    kx, ky = min(m, len(y)), min(m, len(x))
    Xc = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(dev).to(dtype)
    Yc = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)).to(dev).to(dtype)
    tile = int(min(8192, max(256, (block_bytes // 4) ** 0.5)))
    x2y_ind = torch.empty((len(x), kx), dtype=torch.long, device=dev)
    col_val = torch.full((len(y), ky), -float("inf"), device=dev)
    col_ind = torch.zeros((len(y), ky), dtype=torch.long, device=dev)
    for s in range(0, len(x), tile):
        Xs = Xc[s : s + tile]
        rv, ri = [], []
        for t in range(0, len(y), tile):
            blk = Xs @ Yc[t : t + tile].T  # selection precision; canonical scores are recomputed by the caller
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
    eff = str(dtype).split(".")[-1]
    return x2y_ind.cpu().numpy(), col_ind.cpu().numpy(), f"torch-{dev.type}-{eff}-mutual", eff


# --------------------------------------------------------------------------------------------------------------
# canonical (exact, tie-ordered) top-k
# --------------------------------------------------------------------------------------------------------------

_UNIT_ROUNDOFF = {"float32": 2.0**-24, "bfloat16": 2.0**-8, "float16": 2.0**-11}


def selection_tolerance(precision: str, dim: int) -> float:
    """Twice a worst-case bound on an engine's error in a cosine of unit vectors: inputs and output rounded to the
    selection precision (3u) plus a float32 accumulation over ``dim`` terms (dim * 2^-24)."""
    u = _UNIT_ROUNDOFF[precision]
    low = 0.0 if precision == "float32" else 3 * u
    return 2 * (low + dim * 2.0**-24)


def _rescore64(Q: np.ndarray, D: np.ndarray, cand: np.ndarray, block_bytes: int = 1 << 26) -> np.ndarray:
    """Canonical scores float32(float64 q . d) of each query's candidates (row chunks bound the gathered block)."""
    out = np.empty(cand.shape, dtype=np.float32)
    rows = max(1, block_bytes // (8 * Q.shape[1] * max(1, cand.shape[1])))
    for s in range(0, len(Q), rows):
        q = Q[s : s + rows].astype(np.float64)
        out[s : s + rows] = np.einsum("nd,nmd->nm", q, D[cand[s : s + rows]].astype(np.float64))
    return out


def _order(sims: np.ndarray, ind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row by (score desc, index asc)."""
    o = np.lexsort((ind, -sims), axis=1)
    return np.take_along_axis(sims, o, 1), np.take_along_axis(ind, o, 1)


def _full_rows(Q: np.ndarray, D: np.ndarray, m: int, dtype, block_bytes: int = 1 << 26) -> tuple[np.ndarray, np.ndarray]:
    """Exhaustive top-m of each query over the whole database in ``dtype``; values tied with the m-th are resolved by
    the lower index."""
    n = len(D)
    out_s = np.empty((len(Q), m), dtype=np.float32)
    out_i = np.empty((len(Q), m), dtype=np.int64)
    Dd = D.astype(dtype)
    rows = max(1, block_bytes // (8 * n))
    for s in range(0, len(Q), rows):
        sims = (Q[s : s + rows].astype(dtype) @ Dd.T).astype(np.float32)
        idx = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m < n else np.broadcast_to(np.arange(n), sims.shape).copy()
        vals = np.take_along_axis(sims, idx, 1)
        if m < n:  # rows where more values than m tie with the m-th: take the tied ones by index
            kth = vals.min(1)
            for r in np.flatnonzero((sims >= kth[:, None]).sum(1) > m):
                cand = np.flatnonzero(sims[r] >= kth[r])
                o = np.lexsort((cand, -sims[r, cand]))[:m]
                idx[r], vals[r] = cand[o], sims[r, cand[o]]
        out_s[s : s + rows], out_i[s : s + rows] = _order(vals, idx)
    return out_s, out_i


def canonical_topk(Q: np.ndarray, D: np.ndarray, cand: np.ndarray, k: int, tolerance: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Exact top-k of unit-norm ``Q`` against ``D`` from an engine's candidate indices ``cand`` (n x m, m >= k).

    Canonical score = float32 of the float64 inner product; order = (score desc, index asc).  A row whose k-th
    score is not above its m-th by more than ``tolerance`` is recomputed over the whole database (float32, then
    float64 where still ambiguous).  Returns (sims (n x k), ids (n x k), number of recomputed rows).
    """
    n_db = len(D)
    k = min(k, n_db)
    sims, ind = _order(_rescore64(Q, D, cand), cand)
    m = cand.shape[1]
    fallback = 0
    if m < n_db:
        unsafe = np.flatnonzero(sims[:, k - 1] - sims[:, m - 1] <= tolerance)
        if len(unsafe):
            fallback = len(unsafe)
            # float32 pass over the whole database proposes m candidates for these rows; canonical rescoring; rows
            # whose margin is still within the float32 tolerance are settled in float64
            _, i32 = _full_rows(Q[unsafe], D, m, np.float32)
            s2, i2 = _order(_rescore64(Q[unsafe], D, i32), i32)
            tol32 = selection_tolerance("float32", Q.shape[1])
            still = np.flatnonzero(s2[:, k - 1] - s2[:, m - 1] <= tol32)
            if len(still):
                s2[still], i2[still] = _full_rows(Q[unsafe[still]], D, m, np.float64)
            sims[unsafe], ind[unsafe] = s2, i2
    return sims[:, :k], ind[:, :k], fallback


def oversample(k: int, precision: str) -> int:
    """Candidates an engine proposes per query: 2k in float32, 8k in low precision (wider margins to verify)."""
    return (2 if precision == "float32" else 8) * k


def search(queries: np.ndarray, database: np.ndarray, k: int, engine: str = "faiss", precision: str = "float32",
           use_gpu: bool | None = None) -> tuple[np.ndarray, np.ndarray, str, int]:
    """Exact cosine top-k (inputs already unit-norm): an engine proposes candidates, :func:`canonical_topk`
    decides.  Returns (sims, ids, backend, fallback_rows)."""
    m = min(oversample(k, precision), len(database))
    if engine == "faiss":
        _, cand, backend = knn(queries, database, m, use_gpu=use_gpu, float16=precision == "float16")
        prec = "float16" if precision == "float16" and backend.startswith("faiss-gpu") else "float32"
    elif engine == "mutual":
        cand, _, backend, prec = mutual_knn(queries, database, m, precision=precision)
    else:
        raise ValueError(f"unknown search engine {engine!r} {ENGINES}")
    s, i, fb = canonical_topk(queries, database, cand, k, selection_tolerance(prec, queries.shape[1]))
    return s, i, backend, fb


# --------------------------------------------------------------------------------------------------------------
# Tatoeba
# --------------------------------------------------------------------------------------------------------------


HIT_DIRECTIONS = ("en2xx", "xx2en", "centred_en2xx", "centred_xx2en")
# the per-sentence hits table: one row per layer x sentence, self-describing (language and condition in every row)
HITS_COLUMNS = ("language", "condition", "layer", "sentence", *HIT_DIRECTIONS)


def retrieval_hits(queries: np.ndarray, database: np.ndarray, use_gpu: bool | None = None) -> tuple[np.ndarray, str]:
    """Per query: is its nearest database vector (cosine; ties: lower index) the aligned row (gold = identity)?"""
    _, idx, backend, _ = search(l2_normalize(queries), l2_normalize(database), 1, use_gpu=use_gpu)
    return idx[:, 0] == np.arange(len(queries)), backend


def retrieval_accuracy(queries: np.ndarray, database: np.ndarray, use_gpu: bool | None = None) -> tuple[float, str]:
    """Share of queries whose nearest database vector is the aligned row (:func:`retrieval_hits`)."""
    hits, backend = retrieval_hits(queries, database, use_gpu)
    return float(hits.mean()), backend


def check_translation_pairs(src: np.ndarray, en: np.ndarray, name: str) -> None:
    """Finite, non-empty, same dimension and the same number of rows (aligned translation pairs)."""
    check_pair(src, en, f"{name} (non-English side)", f"{name} (English side)")
    if len(src) != len(en):
        raise RetrievalInputError(f"{name}: the sides differ in length ({len(src)} non-English vs {len(en)} English "
                                  "sentences); retrieval needs aligned translation pairs")


def tatoeba_hits(src: np.ndarray, en: np.ndarray, use_gpu: bool | None = None, name: str = "tatoeba") -> tuple[dict, str]:
    """Per-sentence hits of one layer, every direction: ``en2xx`` (English queries over the non-English side, the
    XTREME/jiant headline), ``xx2en``, and both after subtracting each side's mean vector (``centred_*``, language
    neutrality, Libovický et al. 2020). Every search runs once; accuracy is the mean of a column."""
    check_translation_pairs(src, en, name)
    out = {}
    out["en2xx"], backend = retrieval_hits(en, src, use_gpu)
    out["xx2en"], _ = retrieval_hits(src, en, use_gpu)
    sc, ec = src - src.mean(0), en - en.mean(0)
    out["centred_en2xx"], _ = retrieval_hits(ec, sc, use_gpu)
    out["centred_xx2en"], _ = retrieval_hits(sc, ec, use_gpu)
    return out, backend


def scores_from_hits(hits: dict, backend: str | None = None) -> dict:
    """Accuracy@1 both ways (en→xx the headline), their mean and the chance level 1/N, from one layer's hits."""
    n = len(hits["en2xx"])
    en2xx, xx2en = float(np.mean(hits["en2xx"])), float(np.mean(hits["xx2en"]))
    return {"acc_en2xx": en2xx, "acc_xx2en": xx2en, "acc_mean": (en2xx + xx2en) / 2, "headline": "acc_en2xx", "n": n,
            "chance": 1.0 / n, "backend": backend, "ties": TIE_RULE}


def tatoeba_scores(src: np.ndarray, en: np.ndarray, use_gpu: bool | None = None, name: str = "tatoeba") -> dict:
    """Accuracy@1 en→xx -- the headline, as XTREME and jiant compute it: index the non-English side, query with
    English -- and xx→en (stored), with chance = 1/N.  ``name`` (file / language / layer) is used in errors."""
    hits, backend = tatoeba_hits(src, en, use_gpu, name)
    return scores_from_hits(hits, backend)


def hits_table(arrays: dict, layers: list[int], language: str, condition: str, name: str,
               use_gpu: bool | None = None) -> tuple[pd.DataFrame, str]:
    """The per-sentence hits of every stored layer (``arrays``: src, en of shape layers x sentences x dim; ``name``,
    the embeddings file, is named in errors with the language, condition and layer)."""
    frames, backend = [], None
    for li, layer in enumerate(layers):
        where = f"{name} (language {language}, condition {condition}, layer {layer})"
        hits, backend = tatoeba_hits(arrays["src"][li], arrays["en"][li], use_gpu, name=where)
        n = len(hits["en2xx"])
        frames.append(pd.DataFrame({"language": language, "condition": condition, "layer": np.full(n, int(layer), dtype=np.int16), "sentence": np.arange(n, dtype=np.int32),
                                    **{d: np.asarray(hits[d], dtype=bool) for d in HIT_DIRECTIONS}}))
    return pd.concat(frames, ignore_index=True), backend


def read_hits(path: str, layer: int | None = None) -> pd.DataFrame:
    """A hits table (:data:`HITS_COLUMNS`), or its rows of one ``hidden_states`` layer (an error naming the file and
    ``retrieval.layer`` when it does not hold that layer)."""
    df = pd.read_parquet(path)
    missing = [c for c in HITS_COLUMNS if c not in df.columns]
    if missing:
        raise RetrievalInputError(f"{path}: not a hits table (lacks {missing}); rerun its Tatoeba job")
    if df.empty:
        raise RetrievalInputError(f"{path}: no hits (empty table)")
    if layer is None:
        return df
    layer_position(layer, sorted(df["layer"].unique().tolist()), path)
    return df[df["layer"] == layer].sort_values("sentence").reset_index(drop=True)


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
    fallback_rows: int = 0  # rows whose neighbours were recomputed over the whole database (ties / narrow margins)


def margin_scores(sim: np.ndarray, ind: np.ndarray, fwd_mean: np.ndarray, bwd_mean: np.ndarray) -> np.ndarray:
    """Ratio margin cos(x,y) / ((mean_k(x) + mean_k(y)) / 2) for every (row, candidate), vectorised."""
    return sim / ((fwd_mean[:, None] + bwd_mean[ind]) / 2.0)


def greedy_max(cand_src: np.ndarray, cand_tgt: np.ndarray, scores: np.ndarray, threshold: float = 0.0):
    """``retrieval='max'``: best candidates first, accept a pair only if neither side is taken and score > threshold.
    Equal scores keep the candidates' order (forward candidates by source row, then backward by target row), so
    the pairing is deterministic."""
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
         use_gpu: bool | None = None, device: str | None = None, name: str = "bucc") -> Mined:
    """Ratio-margin bitext mining of x (source) against y (English), LASER/XTREME ``mode='mine', retrieval='max'``.

    Neighbours are exact and tie-ordered whatever the engine and precision (see the module docstring)."""
    check_pair(x, y, f"{name} (source side)", f"{name} (English side)")
    t0 = time.perf_counter()
    x, y = l2_normalize(x), l2_normalize(y)
    m = oversample(k, precision)
    mx, my = min(m, len(y)), min(m, len(x))
    if engine == "mutual":
        cx, cy, backend, prec = mutual_knn(x, y, m, precision=precision, device=device)
    elif engine == "faiss":
        _, cx, backend = knn(x, y, mx, use_gpu=use_gpu, float16=precision == "float16")
        _, cy, _ = knn(y, x, my, use_gpu=use_gpu, float16=precision == "float16")
        prec = "float16" if precision == "float16" and backend.startswith("faiss-gpu") else "float32"
    else:
        raise ValueError(f"unknown mining engine {engine!r} {ENGINES}")
    tol = selection_tolerance(prec, x.shape[1])
    x2y_sim, x2y_ind, fb1 = canonical_topk(x, y, cx, k, tol)
    y2x_sim, y2x_ind, fb2 = canonical_topk(y, x, cy, k, tol)
    fwd_mean, bwd_mean = x2y_sim.mean(1), y2x_sim.mean(1)
    fwd = margin_scores(x2y_sim, x2y_ind, fwd_mean, bwd_mean)
    bwd = margin_scores(y2x_sim, y2x_ind, bwd_mean, fwd_mean)
    fa, ba = fwd.argmax(1), bwd.argmax(1)
    cand_src = np.concatenate([np.arange(len(x)), y2x_ind[np.arange(len(y)), ba]])
    cand_tgt = np.concatenate([x2y_ind[np.arange(len(x)), fa], np.arange(len(y))])
    scores = np.concatenate([fwd.max(1), bwd.max(1)])
    s, t, sc = greedy_max(cand_src, cand_tgt, scores)
    return Mined(s, t, sc, backend, time.perf_counter() - t0, fb1 + fb2)


def dedup(texts: list[str], ids: list[str]) -> tuple[list[str], list[list[str]]]:
    """Unique sentences (first-seen order) and, for each, every id that carries it."""
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


def candidates_to_ids(m: Mined, src_owners: list[list[str]], tgt_owners: list[list[str]],
                      duplicates: str = "all_ids") -> dict[tuple[str, str], float]:
    """Map mined sentence pairs to id pairs.  ``all_ids`` (jiant): credit every id carrying the text; ``drop``
    (XTREME ``read_sent2id``): a sentence carried by several ids maps to none, so its pairs are not predicted."""
    if duplicates not in DUPLICATES:
        raise ValueError(f"config key 'retrieval.bucc.duplicates': {duplicates!r} not in {DUPLICATES}")
    out: dict[tuple[str, str], float] = {}
    for s, t, sc in zip(m.src, m.tgt, m.score):
        a_ids, b_ids = src_owners[s], tgt_owners[t]
        if duplicates == "drop" and (len(a_ids) > 1 or len(b_ids) > 1):
            continue
        for a in a_ids:
            for b in b_ids:
                out[(a, b)] = max(float(sc), out.get((a, b), -np.inf))
    return out


def prf(pred: set, gold: set) -> dict:
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold) if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "n_pred": len(pred), "n_gold": len(gold)}


def optimize_threshold(cands: dict[tuple[str, str], float], gold: set) -> tuple[float, float]:
    """``bucc_optimize``: sweep the cut over candidates sorted by score; threshold = midpoint at the best F1.
    Without any correct candidate the threshold lies above every score (nothing is predicted) and F1 is 0."""
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


def bucc_split(x: np.ndarray, y: np.ndarray, src_texts, src_ids, tgt_texts, tgt_ids, duplicates: str = "all_ids",
               name: str = "bucc", **mine_kw):
    """Mine one split: dedup both sides, mine over the unique sentences, return id-level candidate scores.

    ``x``/``y`` hold one embedding row per text, in order; any mismatch is an error naming ``name``."""
    for side, emb, texts, ids in (("source", x, src_texts, src_ids), ("English", y, tgt_texts, tgt_ids)):
        if len(texts) == 0:
            raise RetrievalInputError(f"{name}: the {side} side has no sentences")
        if len(texts) != len(emb):
            raise RetrievalInputError(f"{name}: the {side} side has {len(texts)} texts but {len(emb)} embedding rows; "
                                      "they must correspond one to one (re-embed the split)")
        if len(ids) != len(texts):
            raise RetrievalInputError(f"{name}: the {side} side has {len(texts)} texts but {len(ids)} ids")
    su, so = dedup(list(src_texts), list(src_ids))
    tu, to = dedup(list(tgt_texts), list(tgt_ids))
    first_s = _first_rows(list(src_texts), su)
    first_t = _first_rows(list(tgt_texts), tu)
    m = mine(np.asarray(x)[first_s], np.asarray(y)[first_t], name=name, **mine_kw)
    return candidates_to_ids(m, so, to, duplicates), m


def duplicate_stats(texts) -> int:
    """Number of sentences that occur more than once on a side (their ids follow ``retrieval.bucc.duplicates``)."""
    _, owners = dedup(list(texts), list(range(len(texts))))
    return sum(len(o) > 1 for o in owners)


def _first_rows(texts: list[str], uniq: list[str]) -> np.ndarray:
    pos: dict[str, int] = {}
    for i, t in enumerate(texts):
        pos.setdefault(t, i)
    return np.array([pos[t] for t in uniq], dtype=np.int64)


def bucc_evaluate(dev_cands: dict, dev_gold: set, test_cands: dict, test_gold: set, name: str = "bucc") -> dict:
    """Threshold tuned on dev gold, applied unchanged to test; oracle test F1 reported separately.

    A dev split with no correct candidate cannot place a threshold: it is recorded (``dev_no_correct_candidate``,
    ``warnings``) and warned about, and test then predicts nothing."""
    for split, gold in (("dev (sample)", dev_gold), ("test (training)", test_gold)):
        if not gold:
            raise RetrievalInputError(f"{name}: the {split} gold file has no pairs")
    threshold, dev_f1 = optimize_threshold(dev_cands, dev_gold)
    notes = []
    no_correct = not any(p in dev_gold for p in dev_cands)
    if no_correct:
        notes.append(f"{name}: no mined dev candidate is a gold pair ({len(dev_cands)} candidates, {len(dev_gold)} gold); "
                     "the threshold lies above every score, so test predicts nothing and test F1 is 0")
        warnings.warn(notes[-1], stacklevel=2)
    test = prf(apply_threshold(test_cands, threshold), test_gold)
    oracle_threshold, oracle_f1 = optimize_threshold(test_cands, test_gold)
    return {"threshold_from_dev": threshold, "dev_f1": dev_f1, **{f"test_{k}": v for k, v in test.items()},
            "oracle_test_f1": oracle_f1, "oracle_threshold": oracle_threshold, "dev_no_correct_candidate": no_correct,
            "warnings": notes}


def tatoeba_job(embeddings: str, layer: int, lang: str, condition: str, out: dict[str, str]) -> dict:
    """One language × condition: every search of its stored Tatoeba embeddings runs here, once -- the per-sentence
    hits of every stored layer and direction go to ``out["hits"]`` (read by the alignment measures and the findings'
    bootstrap), the accuracy at hidden_states ``layer`` (the main layer) to ``out["score"]`` (JSON)."""
    arrays, layers, meta = load_embeddings(embeddings)
    layer_position(layer, layers, embeddings)
    hits, backend = hits_table(arrays, layers, lang, condition, embeddings, use_gpu=False)
    main = hits[hits["layer"] == layer]
    scores = scores_from_hits({d: main[d].to_numpy() for d in HIT_DIRECTIONS}, backend)
    scores.update(language=lang, condition=condition, layer=layer, embedding_meta=meta)
    atomic_write_parquet(hits, out["hits"])
    atomic_write_json(scores, out["score"])
    return scores


def bucc_job(inputs: dict[str, str], lang: str, condition: str, mining: dict, out: str) -> dict:
    """Mine one language × condition: ``inputs`` has ``emb_<split>``, ``data_<split>`` and ``gold_<split>`` for the
    splits sample (dev: tunes the threshold) and training (test); ``mining`` is exactly retrieval.bucc's k, engine,
    precision and duplicates. Writes the score JSON (timings go to the log, never into the score file)."""
    from xstilts import contracts

    cands, gold, backend, secs, fallback, dups, layer, meta = {}, {}, None, 0.0, 0, {}, None, None
    for split in ("sample", "training"):
        path = inputs[f"emb_{split}"]
        arrays, layers, meta = load_embeddings(path)
        layer = layers[0]  # the embedding job keeps only the resolved main layer
        df = contracts.read("bucc_sentences", inputs[f"data_{split}"])
        src, en = df[df["side"] == lang], df[df["side"] != lang]
        c, mined = bucc_split(arrays["src"][0], arrays["en"][0], src["text"].tolist(), src["id"].tolist(),
                              en["text"].tolist(), en["id"].tolist(), duplicates=mining["duplicates"],
                              name=f"{path} (language {lang}, split {split})", k=mining["k"], engine=mining["engine"],
                              precision=mining["precision"])
        g = contracts.read("bucc_gold", inputs[f"gold_{split}"])
        cands[split], gold[split] = c, set(zip(g["src_id"], g["en_id"]))
        backend, secs, fallback = mined.backend, secs + mined.seconds, fallback + mined.fallback_rows
        dups[split] = {"source": duplicate_stats(src["text"]), "english": duplicate_stats(en["text"])}
    res = bucc_evaluate(cands["sample"], gold["sample"], cands["training"], gold["training"], name=f"BUCC {lang}")
    log.info("mining time %.2f s (%s)", secs, backend)
    for w in res["warnings"]:
        log.warning("%s", w)
    res.update(language=lang, condition=condition, layer=layer, backend=backend, k=mining["k"],
               precision=mining["precision"], fallback_rows=fallback, ties=TIE_RULE, duplicates=mining["duplicates"],
               repeated_sentences=dups, embedding_meta=meta,
               protocol="threshold tuned on sample (dev), applied to training (test); oracle_* = tuned on test gold")
    atomic_write_json(res, out)
    return res
