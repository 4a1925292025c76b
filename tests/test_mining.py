"""The mutual engine's low-precision windows (issue 21 item 8): the error bound holds, the windows give the exact
(float64, tie-ordered) neighbours and pairs, and rows over the window cap are recomputed, still exactly."""
import numpy as np
import pytest
import torch

import reference_bucc as ref
from xstilts import retrieval as R

LOW = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def brute_topk(q, db, k):
    """float64 cosine of unit vectors rounded to float32, ordered by (score desc, index asc)."""
    s = (q.astype(np.float64) @ db.astype(np.float64).T).astype(np.float32)
    o = np.lexsort((np.broadcast_to(np.arange(len(db)), s.shape), -s), axis=1)[:, :k]
    return np.take_along_axis(s, o, 1), o


def mine_float64(x, y, k=4):
    """The reference algorithm (tests/reference_bucc.py: ratio margin, ``retrieval='max'``) on exact neighbours:
    float64 brute force, equal scores by the lower index, equal margins in candidate order."""
    x, y = R.l2_normalize(x), R.l2_normalize(y)
    xs, xi = brute_topk(x, y, k)
    ys, yi = brute_topk(y, x, k)
    fwd_mean, bwd_mean = xs.mean(1), ys.mean(1)
    fwd = xs / ((fwd_mean[:, None] + bwd_mean[xi]) / 2.0)
    bwd = ys / ((bwd_mean[:, None] + fwd_mean[yi]) / 2.0)
    src = np.concatenate([np.arange(len(x)), yi[np.arange(len(y)), bwd.argmax(1)]])
    tgt = np.concatenate([xi[np.arange(len(x)), fwd.argmax(1)], np.arange(len(y))])
    scores = np.concatenate([fwd.max(1), bwd.max(1)])
    seen_s, seen_t, out = set(), set(), []
    for i in np.argsort(-scores, kind="stable"):
        s, t = int(src[i]), int(tgt[i])
        if s not in seen_s and t not in seen_t:
            seen_s.add(s)
            seen_t.add(t)
            if scores[i] > 0:
                out.append((s, t, float(scores[i])))
    return out


def bunched(seed=0, n_x=300, n_y=260, d=64, noise=0.02):
    """One common direction plus tiny noise, a third of the rows translation-like pairs: cosines all above 0.99,
    bunched far closer than a bf16 rounding of a cosine near 1 (2^-8)."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(d)
    x = common + noise * rng.standard_normal((n_x, d))
    y = common + noise * rng.standard_normal((n_y, d))
    y[: n_y // 3] = x[: n_y // 3] + 0.3 * noise * rng.standard_normal((n_y // 3, d))
    return x.astype(np.float32), y.astype(np.float32)


def low_scores(x, y, precision):
    """The engine's low-precision scores (its rounding and its strict float32-accumulating GEMM) and the canonical
    ones."""
    with R._strict_matmul():
        L = (torch.from_numpy(x).to(LOW[precision]) @ torch.from_numpy(y).to(LOW[precision]).T).double().numpy()
    return L, (x.astype(np.float64) @ y.astype(np.float64).T).astype(np.float32)


@pytest.fixture
def cpu_float16(monkeypatch):
    """Let float16 run as float16 on the CPU (the engine otherwise takes bfloat16 there, for speed)."""
    monkeypatch.setattr(R, "_torch_dtype", lambda precision, dev: LOW.get(precision, torch.float32))


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_bunched_embeddings_mine_the_float64_reference_pairs(precision, cpu_float16):
    x, y = bunched()
    xn, yn = R.l2_normalize(x), R.l2_normalize(y)
    assert (xn @ yn.T).min() > 0.99  # the regime where whole-row recomputation used to take every row
    want = mine_float64(x, y)
    got = R.mine(x, y, k=4, engine="mutual", precision=precision, device="cpu")
    assert precision in got.backend
    assert [(s, t) for s, t, _ in want] == list(zip(got.src.tolist(), got.tgt.tolist()))
    np.testing.assert_array_equal(np.array([sc for _, _, sc in want], dtype=np.float32), got.score)
    assert got.fallback_rows == 0  # centred, every window stays under the cap


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_bunched_windows_are_narrow_once_centred(precision, cpu_float16):
    x, y = bunched(seed=1)
    xn, yn = R.l2_normalize(x), R.l2_normalize(y)
    r = R.mutual_knn(xn, yn, 4, precision=precision, device="cpu")
    assert r.centred
    assert r.candidates_rescored < 3 * 4 * (len(x) + len(y))  # a few candidates per row, not the whole row
    np.testing.assert_array_equal(r.x2y_ind, brute_topk(xn, yn, 4)[1])
    np.testing.assert_array_equal(r.y2x_ind, brute_topk(yn, xn, 4)[1])


def _vectors(kind, n, d, rng):
    if kind == "gaussian":
        v = rng.standard_normal((n, d))
    elif kind == "bunched":
        v = 1.0 + 0.01 * rng.standard_normal((n, d))
    else:  # "tiny": half the components near 1e-6 (float16 subnormals)
        v = rng.standard_normal((n, d)) * np.where(rng.random((n, d)) < 0.5, 1e-6, 1.0)
    return R.l2_normalize(v)


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
@pytest.mark.parametrize("dim", [8, 64, 300, 1024, 4096])
@pytest.mark.parametrize("kind", ["gaussian", "bunched", "tiny"])
def test_score_error_bound_holds(precision, dim, kind):
    rng = np.random.default_rng(dim)
    x, y = _vectors(kind, 40, dim, rng), _vectors(kind, 30, dim, rng)
    L, C = low_scores(x, y, precision)
    rn = np.linalg.norm(x.astype(np.float64), axis=1)[:, None]
    cn = np.linalg.norm(y.astype(np.float64), axis=1).max()
    err = np.abs(L - C)
    assert (err <= R.score_error_bound(precision, dim, score=L, row_norm=rn, col_norm=cn)).all()
    # the mining's form: measured input rounding errors (plus the subnormal / flush-to-zero floor)
    f = R._FLOOR[precision] * np.sqrt(dim)
    ex, ey = R._rounding(torch.from_numpy(x), LOW[precision])[1], R._rounding(torch.from_numpy(y), LOW[precision])[1]
    measured = R.score_error_bound(precision, dim, score=L, row_norm=rn, col_norm=cn, row_err=ex[:, None] + f,
                                   col_err=ey.max() + f)
    assert (err <= measured).all()


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_score_error_bound_is_nearly_attained_on_rounding_aligned_vectors(precision):
    # all components equal to the float32 value whose rounding errs most: every input error has the same sign
    dims = np.arange(16, 2048)
    v = (1 / np.sqrt(dims)).astype(np.float32)
    rel = np.abs(torch.from_numpy(v).to(LOW[precision]).double().numpy() - v) / v
    d = int(dims[rel.argmax()])
    x = np.full((1, d), v[rel.argmax()], dtype=np.float32)
    L, C = low_scores(x, x, precision)
    bound = R.score_error_bound(precision, d, score=L, row_norm=np.linalg.norm(x.astype(np.float64)),
                                col_norm=np.linalg.norm(x.astype(np.float64)))
    ratio = float((np.abs(L - C) / bound).max())
    assert ratio <= 1.0
    assert ratio > 0.5  # within a factor 2 of the worst case: the bound is not loose where it matters


def test_selection_tolerance_is_twice_the_bound_at_one():
    assert R.selection_tolerance("bfloat16", 1024) == pytest.approx(2 * R.score_error_bound("bfloat16", 1024, score=1.0))
    assert R.selection_tolerance("float32", 1024) < R.selection_tolerance("float16", 1024)


@pytest.mark.parametrize("precision,cap", [("float32", 4), ("bfloat16", 6)])
def test_window_cap_fallback_recomputes_rows_exactly(precision, cap):
    # planted pairs, a cap just above k: some windows overflow and those rows are recomputed over the whole
    # database, the others are rescored; several tiles, so the floors rise during the pass
    x, y, _ = ref.planted(n_gold=150, n_x=600, n_y=550, d=64, noise=0.9, seed=2)
    xn, yn = R.l2_normalize(x), R.l2_normalize(y)
    r = R.mutual_knn(xn, yn, 4, precision=precision, window_cap=cap, block_bytes=4 * 256 * 256)
    assert r.rows_recomputed > 0
    assert r.rows_recomputed < len(x) + len(y)  # windowed rows and recomputed rows in the same search
    assert_exact(r, xn, yn)


def test_windows_given_up_during_the_pass_are_recomputed_exactly():
    # uncentred bunched rows: every low-precision score is within the bound of the k-th, so each row's window
    # passes 4 x the cap in its first tile and is given up there
    x, y = bunched(seed=2, n_x=600, n_y=550, noise=0.05)
    xn, yn = R.l2_normalize(x), R.l2_normalize(y)
    r = R.mutual_knn(xn, yn, 4, precision="bfloat16", window_cap=4, centre=False, block_bytes=4 * 256 * 256)
    assert r.rows_recomputed == len(x) + len(y)
    assert_exact(r, xn, yn)


def assert_exact(r, xn, yn):
    for got_s, got_i, (want_s, want_i) in ((r.x2y_sim, r.x2y_ind, brute_topk(xn, yn, 4)),
                                           (r.y2x_sim, r.y2x_ind, brute_topk(yn, xn, 4))):
        np.testing.assert_array_equal(got_i, want_i)
        np.testing.assert_array_equal(got_s, want_s)


def test_windows_hold_exact_ties_and_both_sides_of_unequal_size():
    # exact duplicates tie at the k-th place: the lower index must win, from the window alone
    rng = np.random.default_rng(5)
    protos = R.l2_normalize(rng.standard_normal((7, 16)))
    x, y = protos[rng.integers(0, 7, 50)], protos[rng.integers(0, 7, 3)]  # y shorter than k on purpose
    r = R.mutual_knn(x, y, 4, precision="bfloat16")
    assert r.rows_recomputed == 0
    assert r.x2y_ind.shape == (50, 3)
    np.testing.assert_array_equal(r.x2y_ind, brute_topk(x, y, 3)[1])
    np.testing.assert_array_equal(r.y2x_ind, brute_topk(y, x, 4)[1])


def test_device_rescoring_equals_numpy_rescoring():
    # the GPU path's float64 rescoring, run on CPU tensors: the same canonical scores as the numpy path
    rng = np.random.default_rng(7)
    Q, D = rng.standard_normal((300, 96)).astype(np.float32), rng.standard_normal((200, 96)).astype(np.float32)
    qi, di = rng.integers(0, 300, 5000), rng.integers(0, 200, 5000)
    on_device = R._rescore_pairs_torch(torch.from_numpy(Q), torch.from_numpy(D), torch.from_numpy(qi),
                                       torch.from_numpy(di), chunk=1000)
    np.testing.assert_array_equal(on_device, R._rescore_pairs(Q, D, qi, di))


@pytest.mark.parametrize("groups", [(1, 1), (7, 5), (64, 16), (300, 300)])
def test_group_sizes_give_the_exact_neighbours(groups, monkeypatch):
    # tiles of 256 and a ragged last tile (600 = 2 x 256 + 88): groups that divide the tile (fast gathers), that
    # do not (ragged last group), and groups wider than the tile (one group per row: fewer than k on a first tile)
    monkeypatch.setattr(R, "ROW_GROUP", groups[0])
    monkeypatch.setattr(R, "COL_GROUP", groups[1])
    x, y, _ = ref.planted(n_gold=150, n_x=600, n_y=550, d=64, noise=0.9, seed=3)
    xn, yn = R.l2_normalize(x), R.l2_normalize(y)
    r = R.mutual_knn(xn, yn, 4, precision="bfloat16", block_bytes=4 * 256 * 256)
    assert r.rows_recomputed == 0
    assert_exact(r, xn, yn)


@pytest.mark.parametrize("layout", ["row-major", "transposed", "ragged"])
def test_open_groups_reads_the_groups_entries(layout):
    rng = np.random.default_rng(4)
    base = torch.from_numpy(rng.standard_normal((48, 40)).astype(np.float32))
    S = {"row-major": base, "transposed": base.T, "ragged": base[:, :37]}[layout]
    r = torch.tensor([0, 3, 3, S.shape[0] - 1])
    g = torch.tensor([1, 0, 4, (S.shape[1] - 1) // 8])
    vals, cols, inside = R._open_groups(S, r, g, 8)
    ok = torch.ones_like(cols, dtype=torch.bool) if inside is None else inside
    assert bool((cols[ok] < S.shape[1]).all())
    np.testing.assert_array_equal(vals[ok].numpy(), S[r[:, None].expand_as(cols)[ok], cols[ok]].numpy())
    assert int(ok.sum()) == sum(min(8, S.shape[1] - 8 * int(gi)) for gi in g)
