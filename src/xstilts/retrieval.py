"""Sentence retrieval: Tatoeba accuracy@1 (both directions) and BUCC 2018 margin-based bitext mining.

Every search is an exact cosine top-k (inner product of L2-normalised vectors) with one tie rule: **equal scores
are ordered by the lower database index**.  The canonical score of a pair is float32(float64 dot product); engines
only *select* candidates, in float32 or lower precision, and the result is decided on canonical scores, so every
engine and precision returns the same neighbours:

* the FAISS engine (:func:`knn`, ``IndexFlatIP``, GPU when faiss sees one) proposes a fixed list of m candidates
  per query (2k in float32, 8k in float16); :func:`canonical_topk` rescores them in float64, orders them by
  (score desc, index asc) and **verifies** each row: its k-th canonical score must beat its m-th by more than
  twice the engine's worst-case error (:func:`selection_tolerance`), else the row is recomputed over the whole
  database (float32, then float64 where still ambiguous);
* the mutual engine (:func:`mutual_knn`) computes both directions from one tiled pass over the similarity matrix
  in float32, bfloat16 or float16 and keeps, per row, a **window**: every candidate whose low-precision score
  lies within twice a proven error bound (:func:`score_error_bound`) of the row's k-th low-precision score.
  The window provably holds every candidate that can tie or beat the exact k-th score, so rescoring just the
  window in float64 gives the exact top-k.  Its width follows the row (narrow where scores are spread, wide where
  they bunch); embeddings that share a direction are centred first so that the bound scales with their spread.
  Only a row whose window exceeds a cap (:data:`WINDOW_CAP`) is recomputed over the whole database.

The numbers of rescored candidates and recomputed rows are returned (``candidates_rescored``, ``fallback_rows``).
So bfloat16/float16 selection is **exact**, not approximate; float32 stays the default.

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
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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


# --------------------------------------------------------------------------------------------------------------
# error bound of a low-precision cosine
# --------------------------------------------------------------------------------------------------------------

_U32, _U64 = 2.0**-24, 2.0**-53
_UNIT_ROUNDOFF = {"float32": _U32, "bfloat16": 2.0**-8, "float16": 2.0**-11}
# absolute floor of one rounding: half the smallest subnormal spacing (float16), or the flush-to-zero threshold of
# the GEMM's inputs, products and sums (bfloat16 and float32 kernels may treat subnormals as zero, e.g. AVX512-BF16)
_FLOOR = {"float32": 2.0**-126, "bfloat16": 2.0**-126, "float16": 2.0**-25}
_SLACK = 2.0**-20  # taken off every window floor: covers the float32 rounding of the floor itself (|floor| < 4)


def _gamma(n: int, u: float) -> float:
    return n * u / (1 - n * u)


def _gemm_terms(dim: int, rn, cn, row_err, col_err):
    """Terms 1 (input rounding) and 2 (accumulation) of :func:`score_error_bound` for the vectors fed to the GEMM
    (norms ``rn``, ``cn``, input errors ``row_err``, ``col_err``), and a bound on the accumulated |s|."""
    e_in = row_err * (cn + col_err) + rn * col_err
    xh, yh = rn + row_err, cn + col_err
    return e_in + _gamma(dim, _U32) * xh * yh + 2 * dim * 2.0**-126, (1 + _gamma(dim, _U32)) * xh * yh


def _canonical_term(dim: int, rn, cn):
    """Term 3 of :func:`score_error_bound`: |float32(float64 x . y) - x . y| for float32 vectors of norms rn, cn."""
    return _U32 * rn * cn * (1 + _gamma(dim, _U64)) + _gamma(dim, _U64) * rn * cn


def score_error_bound(precision: str, dim: int, score=1.0, row_norm=1.0, col_norm=1.0, row_err=None, col_err=None):
    """A proven bound on |L - C| for one cosine: L the engine's score of ``x . y`` (inputs rounded to ``precision``,
    a GEMM accumulating in float32, the result rounded to ``precision``), C the canonical score
    float32(float64 x . y) of the float32 vectors.  Vectorised over ``score``, ``row_norm``, ``row_err``.

    With u the unit roundoff of the selection precision (bf16 2^-8, fp16 2^-11; inputs are not rounded in float32),
    u32 = 2^-24, u64 = 2^-53, gamma_n(v) = n v / (1 - n v), d the dimension, ||x|| <= ``row_norm`` and
    ||y|| <= ``col_norm`` (1 for L2-normalised embeddings; the mining passes the measured norms):

    1. inputs: x^ = x + dx with |dx_i| <= u |x_i| + f (f: the subnormal floor, 2^-25 in fp16, 2^-126 flush-to-zero
       in bf16/float32 kernels), so ||dx|| <= u ||x|| + f sqrt(d) =: ``row_err`` (the mining passes the measured
       ||x^ - x||, exact in float32, plus f sqrt(d)); then x^.y^ - x.y = dx.y^ + x.dy and by Cauchy-Schwarz
       |x^.y^ - x.y| <= row_err (||y|| + col_err) + ||x|| col_err  -- about 2u for unit vectors;
    2. accumulation: any summation order of d float32 products (exact for bf16/fp16 inputs, rounded for float32),
       split-K included, errs by at most gamma_d(u32) sum |x^_i y^_i| <= gamma_d(u32) ||x^|| ||y^||, plus 2d flushes
       of at most 2^-126 -- this needs float32 accumulation, so the engine switches off TF32 and reduced-precision
       reductions while it runs (:func:`_strict_matmul`);
    3. the canonical score: |C - x.y| <= u32 |x.y| (1 + gamma_d(u64)) + gamma_d(u64) ||x|| ||y||  (products of
       float32 numbers are exact in float64);
    4. the output: rounding the accumulated s to the selection precision errs by |L - s| <= u |s| + f, and
       |s| <= |L| + |L - s| gives |L - s| <= u/(1-u) |L| + f: the only term that depends on the score itself
       (absent in float32, where the accumulator is the output).

    Sum: e(L) = e0 + u/(1-u) |L| + f, e0 the sum of 1-3.  For unit vectors in d = 1024 the a-priori e0 is 0.0079
    in bf16 (2u; e(1) = 0.0118), 0.0010 in fp16 (e(1) = 0.0015) and 6.1e-5 in float32 (gamma_d); the measured input
    errors of real vectors are about 0.4u per side, so the mining's e0 is about 2.5x smaller.
    ``tests/test_mining.py`` checks the bound over random and adversarial (equal-component, rounding-aligned)
    vectors of several dimensions.
    """
    u = _UNIT_ROUNDOFF[precision]
    f = _FLOOR[precision]
    low = precision != "float32"
    rn, cn = np.asarray(row_norm, dtype=np.float64), np.asarray(col_norm, dtype=np.float64)
    if row_err is None:
        row_err = (u * rn if low else 0.0) + f * np.sqrt(dim)
    if col_err is None:
        col_err = (u * cn if low else 0.0) + f * np.sqrt(dim)
    e0 = _gemm_terms(dim, rn, cn, row_err, col_err)[0] + _canonical_term(dim, rn, cn)
    if not low:
        return e0
    return e0 + u / (1 - u) * np.abs(np.asarray(score, dtype=np.float64)) + f


def _window_floor(kth, e0, g: float, f: float):
    """The lowest low-precision score a candidate can have if its exact score ties or beats the exact k-th of its
    row, for scores with error e(L) = e0 + g |L| + f (:func:`score_error_bound`; torch tensors, float64 inside).

    ``kth`` is the row's k-th largest low-precision score t.  The k candidates with L >= t have
    C >= L - e(L) >= t - g|t| - f - e0 (L - g|L| grows with L), so the exact k-th score is at least that; a
    candidate whose exact score reaches it has L + g|L| >= t - g|t| - 2f - 2e0, i.e. L >= h^-1(t - g|t| - 2f - 2e0)
    with h(L) = L + g|L|: to first order t - 2 e(t).  The float32 result is lowered by 2^-20, more than its own
    rounding, so it never cuts a candidate the real-valued floor keeps."""
    import torch

    t = kth.double()
    v = t - 2 * f - 2 * e0 - (g * t.abs() if g else 0)  # (an unset k-th, -inf, gives -inf)
    return (torch.where(v >= 0, v / (1 + g), v / (1 - g)) - _SLACK).float()


def selection_tolerance(precision: str, dim: int) -> float:
    """Twice the worst-case error of one cosine of unit vectors (:func:`score_error_bound` at |score| = 1): a
    fixed-width candidate list is verified when its k-th canonical score beats its last by more (FAISS engine)."""
    return float(2 * score_error_bound(precision, dim, score=1.0))


# --------------------------------------------------------------------------------------------------------------
# canonical (exact, tie-ordered) top-k
# --------------------------------------------------------------------------------------------------------------


def _rescore64(Q: np.ndarray, D: np.ndarray, cand: np.ndarray, block_bytes: int = 1 << 26) -> np.ndarray:
    """Canonical scores float32(float64 q . d) of each query's candidates (row chunks bound the gathered block)."""
    out = np.empty(cand.shape, dtype=np.float32)
    rows = max(1, block_bytes // (8 * Q.shape[1] * max(1, cand.shape[1])))
    for s in range(0, len(Q), rows):
        q = Q[s : s + rows].astype(np.float64)
        out[s : s + rows] = np.einsum("nd,nmd->nm", q, D[cand[s : s + rows]].astype(np.float64))
    return out


def _rescore_pairs(Q: np.ndarray, D: np.ndarray, qi: np.ndarray, di: np.ndarray, block_bytes: int = 1 << 20) -> np.ndarray:
    """Canonical scores float32(float64 Q[qi] . D[di]) of a flat list of pairs, in cache-sized chunks (fastest
    with the pairs sorted by query: each query row is then read once from memory)."""
    out = np.empty(len(qi), dtype=np.float32)
    step = max(1, block_bytes // (8 * Q.shape[1]))
    for s in range(0, len(qi), step):
        out[s : s + step] = np.einsum("nd,nd->n", np.take(Q, qi[s : s + step], axis=0),
                                      np.take(D, di[s : s + step], axis=0), dtype=np.float64)
    return out


def _rescore_pairs_torch(Q, D, qi, di, chunk: int = 1 << 15) -> np.ndarray:
    """:func:`_rescore_pairs` on the device holding the float32 tensors ``Q``, ``D`` (a GPU)."""
    import torch

    out = torch.empty(len(qi), dtype=torch.float64, device=Q.device)
    for s in range(0, len(qi), chunk):
        q, d = Q.index_select(0, qi[s : s + chunk]).double(), D.index_select(0, di[s : s + chunk]).double()
        out[s : s + chunk] = (q * d).sum(1)
    return out.float().cpu().numpy()


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
    """Exact top-k of unit-norm ``Q`` against ``D`` from a fixed-width candidate list ``cand`` (n x m, m >= k; the
    FAISS engine).

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
    """Candidates the FAISS engine proposes per query: 2k in float32, 8k in float16 (wider margins to verify)."""
    return (2 if precision == "float32" else 8) * k


# --------------------------------------------------------------------------------------------------------------
# the mutual engine: one tiled low-precision pass, per-row windows, exact rescoring
# --------------------------------------------------------------------------------------------------------------

WINDOW_CAP = 256  # candidates a row may keep for exact rescoring; beyond, the row is recomputed over the whole database


@contextmanager
def _strict_matmul():
    """float32 accumulation for the pass (the error bound assumes it): no TF32, no reduced-precision split-K
    reductions, no fp16 accumulation; the previous settings are restored afterwards."""
    import torch

    cm = torch.backends.cuda.matmul
    saved = {}
    for attr in ("allow_tf32", "allow_bf16_reduced_precision_reduction", "allow_fp16_reduced_precision_reduction",
                 "allow_fp16_accumulation"):
        try:
            saved[attr] = getattr(cm, attr)
            setattr(cm, attr, False)
        except (AttributeError, RuntimeError):
            pass
    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(precision)
        for attr, value in saved.items():
            setattr(cm, attr, value)


@contextmanager
def _few_threads(dev):
    """One CPU thread for the bookkeeping on small tensors: parallel regions cost more than they save there, and
    on a loaded machine each one waits for a descheduled thread."""
    import torch

    n = torch.get_num_threads()
    if dev.type != "cpu" or n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


class _Window:
    """Candidates of a block of query rows, flat: local row ``q``, database index ``c``, low-precision score ``v``.
    Tiles append their candidates as parts (no copy of what is already held); ``kept`` is the size after the last
    pruning."""

    def __init__(self, q, c, v, kept: int = 0):
        self.parts, self.size, self.kept = [(q, c, v)], len(q), kept

    @classmethod
    def empty(cls, dev):
        import torch

        return cls(torch.empty(0, dtype=torch.long, device=dev), torch.empty(0, dtype=torch.long, device=dev),
                   torch.empty(0, dtype=torch.float32, device=dev))

    def add(self, q, c, v) -> None:
        self.parts.append((q, c, v))
        self.size += len(q)

    def flat(self):
        import torch

        if len(self.parts) > 1:
            self.parts = [tuple(torch.cat(t) for t in zip(*self.parts))]
        return self.parts[0]

    @property
    def q(self):
        return self.flat()[0]

    @property
    def c(self):
        return self.flat()[1]


@dataclass
class _Side:
    """Per query row of one direction: running top-k low-precision scores, bound e0, rows given up (window over the
    cap), and the output-rounding slope g and floor f of e(L) = e0 + g|L| + f."""
    run: Any
    e0: Any
    over: Any
    g: float
    f: float

    def rows(self, sl: slice) -> _Side:
        return _Side(self.run[sl], self.e0[sl], self.over[sl], self.g, self.f)

    def floors(self):
        """Current window floor of each row (+inf for rows given up)."""
        import torch

        fl = _window_floor(self.run[:, -1], self.e0, self.g, self.f)
        return torch.where(self.over, torch.full_like(fl, float("inf")), fl)


def _prune(buf: _Window, side: _Side, cap: int) -> _Window:
    """Drop candidates under their row's floor; a row left with more than ``cap`` is given up (``side.over``, in
    place) and its candidates dropped."""
    import torch

    q, c, v = buf.flat()
    keep = v >= side.floors()[q]
    q, c, v = q[keep], c[keep], v[keep]
    big = torch.bincount(q, minlength=len(side.over)) > cap
    if bool(big.any()):
        side.over |= big
        keep = ~big[q]
        q, c, v = q[keep], c[keep], v[keep]
    return _Window(q, c, v, kept=len(q))


ROW_GROUP = 32  # columns per group along a tile row: the pass reads each group's maximum, opens those reaching the floor
COL_GROUP = 16  # rows per group down a tile column (strided reads: smaller groups)


def _group_max(S, group: int):
    """Maximum of each run of ``group`` consecutive columns of each row of ``S`` (any strides; the last group may
    be shorter), in float32."""
    import torch

    n = S.shape[1]
    full = n - n % group
    if S.stride(1) == 1:  # row-major: each group is contiguous
        parts = [S[:, :full].unflatten(1, (full // group, group)).transpose(1, 2).amax(1)] if full else []
        if full < n:
            parts.append(S[:, full:].amax(1, keepdim=True))
        out = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
    else:  # a transposed view: reduce over blocks of rows of the underlying matrix (reducing the view is slow)
        St = S.T
        parts = [St[:full].unflatten(0, (full // group, group)).amax(1)] if full else []
        if full < n:
            parts.append(St[full:].amax(0, keepdim=True))
        out = (torch.cat(parts, 0) if len(parts) > 1 else parts[0]).T
    return out.float().contiguous()


def _open_groups(S, r, g, group: int):
    """The entries of column group ``g`` of row ``r`` of ``S`` for each pair: values (pairs x group), their
    columns, and which of them lie inside the tile (None: all; the last group may be shorter)."""
    import torch

    R, n = S.shape
    cols = g[:, None] * group + torch.arange(group, device=S.device)
    if n % group == 0 and S.stride() == (n, 1):  # row-major: whole groups are contiguous runs
        return S.view(-1, group).index_select(0, r * (n // group) + g), cols, None
    if n % group == 0 and S.stride() == (1, R):  # transposed view of a row-major tile
        return S.T.view(n // group, group, R)[g, :, r], cols, None
    return S[r[:, None], cols.clamp(max=n - 1)], cols, cols < n


def _merge_run(run, q, v) -> None:
    """``run`` (rows x k, descending) := the top-k of each row's run and its new values ``v`` (rows ``q``, sorted)."""
    import torch

    k = run.shape[1]
    rows, cnt = torch.unique_consecutive(q, return_counts=True)
    slot = torch.arange(len(q), device=q.device) - torch.repeat_interleave(torch.cumsum(cnt, 0) - cnt, cnt)
    pad = torch.full((len(rows), k + int(cnt.max())), -float("inf"), device=run.device)
    pad[:, :k] = run[rows]
    pad[torch.repeat_interleave(torch.arange(len(rows), device=q.device), cnt), k + slot] = v
    run[rows] = pad.topk(k, dim=1).values


def _collect(S, side: _Side, offset: int, buf: _Window, hard_cap: int, group: int, fresh: bool) -> _Window:
    """One tile ``S`` (query rows x database columns ``offset``..., float32, any strides: the column direction
    passes a transposed view) of a pass: update the rows' running top-k (``side.run``, in place) and add every entry
    at or above its row's floor to ``buf``.

    The tile's columns are read in groups of ``group``: each group's maximum is taken, and only the groups whose
    maximum reaches the row's floor are opened.  The floor is that of a lower bound of the row's new k-th score:
    the running k-th, or on a row's first tile (``fresh``: no running k-th yet) the k-th largest group maximum
    (k distinct entries of the tile), so every entry that enters the running top-k is collected and the running
    top-k stays exact.  The floors only rise during the pass, so what is collected is a superset of the final
    window; pruning keeps memory bounded (rows over ``hard_cap`` are given up)."""
    import torch

    gm = _group_max(S, group)
    k = side.run.shape[1]
    with _few_threads(S.device):
        t = side.run[:, -1]
        if fresh and gm.shape[1] >= k:
            t = torch.maximum(t, gm.topk(k, dim=1).values[:, -1])
        fl = _window_floor(t, side.e0, side.g, side.f)
        fl = torch.where(side.over, torch.full_like(fl, float("inf")), fl)
        r, g = (gm >= fl[:, None]).nonzero(as_tuple=True)
        if len(r) == 0:
            return buf
        vals, cols, inside = _open_groups(S, r, g, group)
        hit = vals >= fl[r, None]
        a, j = (hit if inside is None else hit & inside).nonzero(as_tuple=True)
        q, v = r[a], vals[a, j]
        _merge_run(side.run, q, v)
        buf.add(q, cols[a, j] + offset, v)
        # pruning costs a pass over the buffer: done once it has grown by its pruned size (and a candidate per row)
        return _prune(buf, side, hard_cap) if buf.size > 2 * buf.kept + len(side.run) else buf


def _norms(X) -> np.ndarray:
    """Row norms, computed in float32 and raised by gamma_{d+2}(u32) relative (a sum of d squares and a square
    root): upper bounds of the exact norms."""
    import torch

    return torch.linalg.vector_norm(X, dim=1).cpu().numpy().astype(np.float64) * (1 + _gamma(X.shape[1] + 2, _U32))


def _rounding(X, dtype):
    """The low-precision copy of float32 rows ``X`` and an upper bound of each row's rounding-error norm
    ||X^ - X|| (the difference of a float32 number and its rounding is exact in float32; :func:`_norms`)."""
    Xl = X.to(dtype)
    return Xl, _norms(Xl.float() - X)


def _topk_from_windows(Q: np.ndarray, D: np.ndarray, qi: np.ndarray, di: np.ndarray, over: np.ndarray, k: int,
                       C: np.ndarray | None = None):
    """Exact canonical top-k of every query: its window rescored in float64 (``C``, when already done on a GPU) and
    ordered by (score desc, index asc); rows in ``over`` (window over the cap) exhaustively over the whole database
    in float64."""
    sims = np.empty((len(Q), k), dtype=np.float32)
    ids = np.empty((len(Q), k), dtype=np.int64)
    if C is None:
        o = np.argsort(qi, kind="stable")
        qi, di = qi[o], di[o]
        C = _rescore_pairs(Q, D, qi, di)
    o = np.lexsort((di, -C, qi))
    qi, di, C = qi[o], di[o], C[o]
    first = (np.arange(len(qi)) - np.searchsorted(qi, qi, side="left")) < k
    rows = qi[first][::k]
    sims[rows], ids[rows] = C[first].reshape(-1, k), di[first].reshape(-1, k)
    redo = np.flatnonzero(over)
    if len(redo):
        sims[redo], ids[redo] = _full_rows(Q[redo], D, k, np.float64)
    return sims, ids


@dataclass
class MutualTopK:
    """Exact canonical top-k in both directions from one pass (``y2x_*`` empty when only x->y was asked)."""
    x2y_sim: np.ndarray
    x2y_ind: np.ndarray
    y2x_sim: np.ndarray
    y2x_ind: np.ndarray
    backend: str
    precision: str  # effective selection precision
    candidates_rescored: int  # window candidates rescored in float64, both directions
    rows_recomputed: int  # rows whose window exceeded the cap: whole row in float64
    centred: bool  # the low-precision products were taken of mean-centred vectors


def _side_bounds(dim: int, eff: str, n_feed, err, n_feed_db: float, err_db: float, n_q, n_db: float,
                 centred: bool, shift_max: float, mean_norm: float) -> tuple[np.ndarray, float, float]:
    """Each query row's e0 and the (g, f) of its window floor (:func:`mutual_knn` explains the centred case)."""
    u, f = _UNIT_ROUNDOFF[eff], _FLOOR[eff]
    low = eff != "float32"
    gemm, smax = _gemm_terms(dim, n_feed, n_feed_db, err, err_db)
    e0 = gemm + _canonical_term(dim, n_q, n_db)
    if not centred:
        return e0, (u / (1 - u) if low else 0.0), (f if low else 0.0)
    out = u * smax + f if low else 0.0
    s_hat = smax + out
    shift = _U32 * (s_hat + 2 * shift_max) * (1 + _U32) + _gamma(dim, _U64) * mean_norm * n_db
    return e0 + out + shift, 0.0, 0.0


def mutual_knn(x: np.ndarray, y: np.ndarray, k: int, precision: str = "float32", device: str | None = None,
               block_bytes: int | None = None, window_cap: int = WINDOW_CAP, both: bool = True,
               centre: bool | None = None) -> MutualTopK:
    """Exact top-k of x against y *and* of y against x from one low-precision pass over the similarity matrix.

    Unit-norm float32 ``x``, ``y``.  The matrix is computed in square tiles (``block_bytes`` bounds a tile: 16 MiB
    on the CPU, 256 MiB on a GPU) in the selection precision.  Each row keeps a running top-k of its low-precision
    scores and a **window**: every candidate whose low-precision score is at or above the floor of its running k-th
    score (:func:`_window_floor`: about k-th - 2 x the proven bound of :func:`score_error_bound`, taken with the
    row's measured norm and input rounding error and the database's largest).  The floor only rises, so after the
    pass the window holds every candidate that can tie or beat the exact k-th score; those are rescored in float64
    and the exact top-k taken in the canonical order (score desc, index asc).  The window's width follows the row:
    narrow where scores are spread, wide where they bunch.  A row whose window exceeds ``window_cap`` is recomputed
    over the whole database in float64 (``rows_recomputed``).

    **Centring** (``centre``; by default in low precision when it at least halves max||x - mu|| max||y - nu||):
    embeddings that share a direction have cosines bunched near 1, where a relative error of u in every score is
    wider than their spread.  With mu, nu the float32 means of the sides,
    x.y = (x - mu).(y - nu) + mu.y + [x.nu - mu.nu], the bracket constant along a row of x (so it moves neither
    the order nor the window), and mu.y constant along a column.  The GEMM takes the centred vectors (rounded to
    float32, then to the selection precision: their error norms are measured, plus u32 ||x - mu||), row scores are
    float32(s + float32(mu.y)) and column scores float32(s + float32(x.nu)).  Terms 1, 2 and 4 of the bound then
    scale with the centred norms (term 4 uses |s| <= its bound, so g = 0), plus the float32 additions and the
    float64 shifts, u32 (|s| + 2 max|shift|)(1 + u32) + gamma_d(u64) ||mu|| max||y||; term 3 is unchanged.
    """
    import torch

    dev = _torch_device(device)
    dtype = _torch_dtype(precision, dev)
    eff = str(dtype).split(".")[-1]
    kx, ky = min(k, len(y)), min(k, len(x))
    d = x.shape[1]
    cap = max(window_cap, k)
    x, y = np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(y, dtype=np.float32)
    X, Y = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
    on_gpu = (X, Y) if dev.type != "cpu" else None  # rescoring runs there too
    nx_, ny_ = _norms(X), _norms(Y)
    mu, nu = X.mean(0), Y.mean(0)  # any float32 vectors serve: the identity below is exact
    if centre is None:  # estimated centred norms, ||x - mu||^2 = ||x||^2 - 2 x.mu + ||mu||^2 (a decision, not a bound)
        def est(X, n, m):
            return float((torch.from_numpy(n).to(dev) ** 2 - 2 * (X @ m) + m @ m).clamp(min=0).max()) ** 0.5

        centre = eff != "float32" and est(X, nx_, mu) * est(Y, ny_, nu) <= 0.5 * nx_.max() * ny_.max()
    alpha = beta = None
    if centre:
        beta = (Y.double() @ mu.double()).float()  # mu.y: constant down a column of the x->y rows
        alpha = (X.double() @ nu.double()).float()  # x.nu: constant along a row of the y->x rows
        X, Y = X - mu, Y - nu
        fx, fy = _norms(X) * (1 + 2 * _U32), _norms(Y) * (1 + 2 * _U32)  # bound ||x - mu|| from float32(x - mu)
        Xl, ex = _rounding(X, dtype)
        Yl, ey = _rounding(Y, dtype)
        ex, ey = ex + _U32 * fx, ey + _U32 * fy  # float32(x - mu) vs x - mu
    else:
        Xl, ex = _rounding(X, dtype)
        Yl, ey = _rounding(Y, dtype)
        fx, fy = nx_, ny_
    del X, Y
    flo = _FLOOR[eff] * d**0.5  # flush-to-zero / subnormal floor of the inputs inside the GEMM
    ex, ey = ex + flo, ey + flo
    e0x, gx, f_x = _side_bounds(d, eff, fx, ex, fy.max(), ey.max(), nx_, ny_.max(), centre,
                                float(beta.abs().max()) if centre else 0.0, float(torch.linalg.vector_norm(mu.double())))
    e0y, gy, f_y = _side_bounds(d, eff, fy, ey, fx.max(), ex.max(), ny_, nx_.max(), centre,
                                float(alpha.abs().max()) if centre else 0.0, float(torch.linalg.vector_norm(nu.double())))

    def side(n, kk, e0, g, f):
        return _Side(torch.full((n, kk), -float("inf"), device=dev), torch.from_numpy(e0).to(dev),
                     torch.zeros(n, dtype=torch.bool, device=dev), g, f)

    sx, sy = side(len(x), kx, e0x, gx, f_x), side(len(y), ky, e0y, gy, f_y)
    if block_bytes is None:
        block_bytes = 1 << (24 if dev.type == "cpu" else 28)
    tile = int(min(8192, max(256, (block_bytes // 4) ** 0.5)))
    col_tiles = list(range(0, len(y), tile))
    col_buf = [_Window.empty(dev) for _ in col_tiles]
    xw, yw = [], []
    with _strict_matmul():
        for s in range(0, len(x), tile):
            sl = slice(s, s + tile)
            rx = sx.rows(sl)
            rb = _Window.empty(dev)
            for ti, t in enumerate(col_tiles):
                tl = slice(t, t + tile)
                blk = Xl[sl] @ Yl[tl].T
                S = blk.float() if beta is None else torch.add(blk, beta[tl])
                rb = _collect(S, rx, t, rb, 4 * cap, ROW_GROUP, fresh=ti == 0)
                if both:  # the column direction reads the same tile through a transposed view (no copy)
                    St = S if alpha is None else torch.add(blk, alpha[sl, None])
                    col_buf[ti] = _collect(St.T, sy.rows(tl), s, col_buf[ti], 4 * cap, COL_GROUP, fresh=s == 0)
            with _few_threads(dev):
                rb = _prune(rb, rx, cap)  # the final floors: every column seen
            xw.append((rb.q + s, rb.c))
        for ti, t in enumerate(col_tiles if both else []):
            with _few_threads(dev):
                b = _prune(col_buf[ti], sy.rows(slice(t, t + tile)), cap)
            yw.append((b.q + t, b.c))

    def exact(windows, Q, D, sd, kk, swap):
        qi, di = torch.cat([w[0] for w in windows]), torch.cat([w[1] for w in windows])
        C = None
        if on_gpu is not None:
            Qt, Dt = on_gpu[::-1] if swap else on_gpu
            C = _rescore_pairs_torch(Qt, Dt, qi, di)
        qi, di, over = qi.cpu().numpy(), di.cpu().numpy(), sd.over.cpu().numpy()
        return (*_topk_from_windows(Q, D, qi, di, over, kk, C), len(qi), int(over.sum()))

    x2y_sim, x2y_ind, rescored, redo = exact(xw, x, y, sx, kx, False)
    y2x_sim, y2x_ind = np.empty((0, ky), np.float32), np.empty((0, ky), np.int64)
    if both:
        y2x_sim, y2x_ind, r2, o2 = exact(yw, y, x, sy, ky, True)
        rescored, redo = rescored + r2, redo + o2
    backend = f"torch-{dev.type}-{eff}-mutual" + ("-centred" if centre else "")
    return MutualTopK(x2y_sim, x2y_ind, y2x_sim, y2x_ind, backend, eff, rescored, redo, bool(centre))


def search(queries: np.ndarray, database: np.ndarray, k: int, engine: str = "faiss", precision: str = "float32",
           use_gpu: bool | None = None) -> tuple[np.ndarray, np.ndarray, str, int]:
    """Exact cosine top-k (inputs already unit-norm): FAISS proposes a fixed-width candidate list that
    :func:`canonical_topk` verifies, or the mutual engine's windows (:func:`mutual_knn`, x->y only) are rescored.
    Returns (sims, ids, backend, recomputed rows)."""
    if engine == "faiss":
        m = min(oversample(k, precision), len(database))
        _, cand, backend = knn(queries, database, m, use_gpu=use_gpu, float16=precision == "float16")
        prec = "float16" if precision == "float16" and backend.startswith("faiss-gpu") else "float32"
        s, i, fb = canonical_topk(queries, database, cand, k, selection_tolerance(prec, queries.shape[1]))
        return s, i, backend, fb
    if engine == "mutual":
        r = mutual_knn(queries, database, k, precision=precision, both=False)
        return r.x2y_sim, r.x2y_ind, r.backend, r.rows_recomputed
    raise ValueError(f"unknown search engine {engine!r} {ENGINES}")



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
        raise RetrievalInputError(f"{path}: not a hits table (lacks {missing}); rerun its retrieval job")
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
    fallback_rows: int = 0  # rows whose neighbours were recomputed over the whole database (window over the cap)
    candidates_rescored: int = 0  # candidates whose score was recomputed exactly (float64), both directions


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
    if engine == "mutual":
        r = mutual_knn(x, y, k, precision=precision, device=device)
        x2y_sim, x2y_ind, y2x_sim, y2x_ind = r.x2y_sim, r.x2y_ind, r.y2x_sim, r.y2x_ind
        backend, recomputed, rescored = r.backend, r.rows_recomputed, r.candidates_rescored
    elif engine == "faiss":
        m = oversample(k, precision)
        _, cx, backend = knn(x, y, min(m, len(y)), use_gpu=use_gpu, float16=precision == "float16")
        _, cy, _ = knn(y, x, min(m, len(x)), use_gpu=use_gpu, float16=precision == "float16")
        prec = "float16" if precision == "float16" and backend.startswith("faiss-gpu") else "float32"
        tol = selection_tolerance(prec, x.shape[1])
        x2y_sim, x2y_ind, fb1 = canonical_topk(x, y, cx, k, tol)
        y2x_sim, y2x_ind, fb2 = canonical_topk(y, x, cy, k, tol)
        recomputed, rescored = fb1 + fb2, cx.size + cy.size
    else:
        raise ValueError(f"unknown mining engine {engine!r} {ENGINES}")
    fwd_mean, bwd_mean = x2y_sim.mean(1), y2x_sim.mean(1)
    fwd = margin_scores(x2y_sim, x2y_ind, fwd_mean, bwd_mean)
    bwd = margin_scores(y2x_sim, y2x_ind, bwd_mean, fwd_mean)
    fa, ba = fwd.argmax(1), bwd.argmax(1)
    cand_src = np.concatenate([np.arange(len(x)), y2x_ind[np.arange(len(y)), ba]])
    cand_tgt = np.concatenate([x2y_ind[np.arange(len(x)), fa], np.arange(len(y))])
    scores = np.concatenate([fwd.max(1), bwd.max(1)])
    s, t, sc = greedy_max(cand_src, cand_tgt, scores)
    return Mined(s, t, sc, backend, time.perf_counter() - t0, recomputed, rescored)


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


def tatoeba_job(embeddings: str, layer: int, lang: str, condition: str, out: dict[str, str], *, corpus: str = "tatoeba") -> dict:
    """One corpus × language × condition (Tatoeba, or the multi-parallel FLORES+ devtest: the same searches): every
    search of its stored embeddings runs here, once -- the per-sentence hits of every stored layer and direction go
    to ``out["hits"]`` (read by the alignment measures and the findings' bootstrap), the accuracy at hidden_states
    ``layer`` (the main layer) to ``out["score"]`` (JSON, with the set size ``n`` and the chance level 1/n)."""
    arrays, layers, meta = load_embeddings(embeddings)
    _, scores = pair_retrieval(arrays, layers, meta, embeddings, layer, lang, condition, out, corpus=corpus)
    return scores


def pair_retrieval(arrays: dict, layers: list[int], meta, embeddings: str, layer: int, lang: str, condition: str,
                   out: dict[str, str], *, corpus: str) -> tuple[pd.DataFrame, dict]:
    """:func:`tatoeba_job` on embeddings already loaded (``embeddings`` names their file): writes and returns the
    hits table and the scores."""
    layer_position(layer, layers, embeddings)
    hits, backend = hits_table(arrays, layers, lang, condition, embeddings, use_gpu=False)
    main = hits[hits["layer"] == layer]
    scores = scores_from_hits({d: main[d].to_numpy() for d in HIT_DIRECTIONS}, backend)
    scores.update(corpus=corpus, language=lang, condition=condition, layer=layer, embedding_meta=meta)
    atomic_write_parquet(hits, out["hits"])
    atomic_write_json(scores, out["score"])
    return hits, scores


def bucc_job(inputs: dict[str, str], lang: str, condition: str, mining: dict, out: str) -> dict:
    """Mine one language × condition: ``inputs`` has ``emb_<split>``, ``data_<split>`` and ``gold_<split>`` for the
    splits sample (dev: tunes the threshold) and training (test); ``mining`` is exactly retrieval.bucc's k, engine,
    precision and duplicates. Writes the score JSON (timings go to the log, never into the score file), with the
    neighbour search's work over both splits: ``candidates_rescored`` (exact float64 rescorings) and
    ``fallback_rows`` (rows recomputed over the whole database)."""
    from xstilts import contracts

    cands, gold, backend, secs, fallback, rescored, dups, layer, meta = {}, {}, None, 0.0, 0, 0, {}, None, None
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
        rescored += mined.candidates_rescored
        dups[split] = {"source": duplicate_stats(src["text"]), "english": duplicate_stats(en["text"])}
    res = bucc_evaluate(cands["sample"], gold["sample"], cands["training"], gold["training"], name=f"BUCC {lang}")
    log.info("mining time %.2f s (%s)", secs, backend)
    for w in res["warnings"]:
        log.warning("%s", w)
    res.update(language=lang, condition=condition, layer=layer, backend=backend, k=mining["k"],
               precision=mining["precision"], fallback_rows=fallback, candidates_rescored=rescored, ties=TIE_RULE,
               duplicates=mining["duplicates"], repeated_sentences=dups, embedding_meta=meta,
               protocol="threshold tuned on sample (dev), applied to training (test); oracle_* = tuned on test gold")
    atomic_write_json(res, out)
    return res
