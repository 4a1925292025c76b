import numpy as np
import pytest

import reference_bucc as ref
from xstilts import retrieval as R


def test_knn_matches_bruteforce_and_chunking():
    rng = np.random.default_rng(0)
    q, db = rng.standard_normal((50, 16)).astype(np.float32), rng.standard_normal((300, 16)).astype(np.float32)
    sims = q @ db.T
    want = np.argsort(-sims, axis=1)[:, :5]
    for chunk in (300, 64, 7):
        d, i, backend = R.knn(q, db, 5, use_gpu=False, db_chunk=chunk)
        assert backend == "faiss-cpu"
        np.testing.assert_array_equal(i, want)
        np.testing.assert_allclose(d, np.take_along_axis(sims, want, 1), rtol=1e-5)


def brute_topk(q, db, k):
    """Reference: float64 cosine of unit vectors rounded to float32, ordered by (score desc, index asc)."""
    s = (q.astype(np.float64) @ db.astype(np.float64).T).astype(np.float32)
    o = np.lexsort((np.broadcast_to(np.arange(len(db)), s.shape), -s), axis=1)[:, :k]
    return np.take_along_axis(s, o, 1), o


@pytest.mark.parametrize("engine,precision", [("faiss", "float32"), ("mutual", "float32"), ("mutual", "bfloat16")])
def test_search_engines_equal_bruteforce(engine, precision):
    rng = np.random.default_rng(1)
    x, y = R.l2_normalize(rng.standard_normal((300, 32))), R.l2_normalize(rng.standard_normal((290, 32)))
    s, i, _backend, _ = R.search(x, y, 4, engine=engine, precision=precision)
    ws, wi = brute_topk(x, y, 4)
    np.testing.assert_array_equal(i, wi)
    np.testing.assert_array_equal(s, ws)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_mutual_knn_tiled_gives_the_exact_neighbours_both_ways(precision):
    rng = np.random.default_rng(3)
    x, y = R.l2_normalize(rng.standard_normal((700, 16))), R.l2_normalize(rng.standard_normal((600, 16)))
    r = R.mutual_knn(x, y, 4, precision=precision, block_bytes=4 * 256 * 256)  # 256 x 256 tiles, ragged edges
    for got_s, got_i, (want_s, want_i) in ((r.x2y_sim, r.x2y_ind, brute_topk(x, y, 4)),
                                           (r.y2x_sim, r.y2x_ind, brute_topk(y, x, 4))):
        np.testing.assert_array_equal(got_i, want_i)
        np.testing.assert_array_equal(got_s, want_s)


def test_tatoeba_directions_differ_on_a_hub():
    # en vector 0 is a "hub": every xx query finds it first; en->xx still finds the right rows
    x = np.eye(4, dtype=np.float32)
    en = np.eye(4, dtype=np.float32) * 0.5
    en[0] = np.array([1, 1, 1, 1], dtype=np.float32)
    x[1:] += 0.9 * np.array([1, 1, 1, 1], dtype=np.float32)
    s = R.tatoeba_scores(x, en, use_gpu=False)
    assert s["acc_en2xx"] != s["acc_xx2en"]
    assert s["chance"] == pytest.approx(0.25)


def test_tatoeba_perfect_and_chance_fields():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((30, 8)).astype(np.float32)
    s = R.tatoeba_scores(x, x * 2.0, use_gpu=False)
    assert s["acc_en2xx"] == s["acc_xx2en"] == 1.0
    assert s["n"] == 30
    assert s["backend"] == "faiss-cpu"


def test_margin_and_greedy_on_hand_built_vectors():
    # two clean pairs and one distractor on each side
    x = np.array([[1, 0, 0], [0, 1, 0], [0.6, 0.6, 0.5]], dtype=np.float32)
    y = np.array([[0, 1, 0.05], [1, 0.05, 0], [-0.5, 0.2, 0.8]], dtype=np.float32)
    m = R.mine(x, y, k=2)
    pairs = {(int(s), int(t)) for s, t in zip(m.src, m.tgt)}
    assert (0, 1) in pairs
    assert (1, 0) in pairs
    # ratio margin by hand for (0, 1)
    xn, yn = R.l2_normalize(x), R.l2_normalize(y)
    sim = xn @ yn.T
    fwd = np.sort(sim, 1)[:, ::-1][:, :2].mean(1)
    bwd = np.sort(sim.T, 1)[:, ::-1][:, :2].mean(1)
    expected = sim[0, 1] / ((fwd[0] + bwd[1]) / 2)
    got = m.score[next(i for i, (s, t) in enumerate(zip(m.src, m.tgt)) if (s, t) == (0, 1))]
    assert got == pytest.approx(expected, rel=1e-5)


def test_threshold_tuned_on_dev_is_applied_unchanged_to_test():
    dev = {("a", "1"): 3.0, ("b", "2"): 2.0, ("c", "9"): 1.0}
    dev_gold = {("a", "1"), ("b", "2")}
    thr, f1 = R.optimize_threshold(dev, dev_gold)
    assert thr == pytest.approx(1.5)
    assert f1 == pytest.approx(1.0)
    test = {("x", "1"): 1.6, ("y", "2"): 1.4, ("z", "3"): 0.5}
    test_gold = {("x", "1"), ("y", "2"), ("z", "3")}
    res = R.bucc_evaluate(dev, dev_gold, test, test_gold)
    assert res["threshold_from_dev"] == pytest.approx(1.5)
    assert res["test_n_pred"] == 1  # only 1.6 >= 1.5: the dev threshold, not a test-tuned one
    assert res["test_f1"] == pytest.approx(2 * 1 * (1 / 3) / (1 + 1 / 3))
    assert res["oracle_test_f1"] == pytest.approx(1.0)  # labelled oracle: tuned on test gold


def test_dedup_maps_text_to_all_ids():
    uniq, owners = R.dedup(["a", "b", "a"], ["1", "2", "3"])
    assert uniq == ["a", "b"]
    assert owners == [["1", "3"], ["2"]]
    m = R.Mined(np.array([0]), np.array([0]), np.array([1.2]), "x", 0.0)
    assert R.candidates_to_ids(m, owners, [["e"]]) == {("1", "e"): 1.2, ("3", "e"): 1.2}


@pytest.mark.parametrize("engine", ["mutual", "faiss"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equivalent_to_reference_on_planted_pairs(engine, seed):
    x, y, gold = ref.planted(n_gold=150, n_x=600, n_y=500, d=64, noise=0.9, seed=seed)
    ref_pairs = ref.mine_bitext(x, y, 4)
    ours = R.mine(x, y, k=4, engine=engine, use_gpu=False)
    assert {(s, t) for s, t, _ in ref_pairs} == {(int(s), int(t)) for s, t in zip(ours.src, ours.tgt)}
    ref_scores = {(s, t): sc for s, t, sc in ref_pairs}
    for s, t, sc in zip(ours.src, ours.tgt, ours.score):
        assert sc == pytest.approx(ref_scores[(int(s), int(t))], rel=1e-4)
    ref_c = {(s, t): sc for s, t, sc in ref_pairs}
    our_c = {(int(s), int(t)): float(sc) for s, t, sc in zip(ours.src, ours.tgt, ours.score)}
    r_thr, r_f1 = ref.bucc_optimize(ref_c, gold)
    o_thr, o_f1 = R.optimize_threshold(our_c, gold)
    assert o_f1 == pytest.approx(r_f1)
    assert o_thr == pytest.approx(r_thr, rel=1e-4)
    assert R.prf(R.apply_threshold(our_c, o_thr), gold)["f1"] == pytest.approx(ref.f1_at(ref_c, gold, r_thr))
    assert r_f1 > 0.5  # the planted pairs are findable: the test is not vacuous


def test_low_precision_selection_keeps_pairs():
    x, y, _gold = ref.planted(n_gold=200, n_x=700, n_y=700, d=64, noise=0.8, seed=5)
    full = R.mine(x, y, precision="float32")
    low = R.mine(x, y, precision="bfloat16")
    # low-precision selection is verified and recomputed where its margin is too narrow: exactly the same pairs
    assert [(a, b) for a, b in zip(full.src, full.tgt)] == [(a, b) for a, b in zip(low.src, low.tgt)]
    np.testing.assert_array_equal(full.score, low.score)



@pytest.mark.gpu
def test_gpu_paths_match_cpu():
    x, y, _gold = ref.planted(n_gold=300, n_x=3000, n_y=2500, d=128, noise=1.0, seed=9)
    cpu = R.mine(x, y, engine="mutual", device="cpu")
    cuda = R.mine(x, y, engine="mutual", precision="float16", device="cuda")
    assert cuda.backend.startswith("torch-cuda-float16")
    assert {(a, b) for a, b in zip(cpu.src, cpu.tgt)} == {(a, b) for a, b in zip(cuda.src, cuda.tgt)}
    if R.faiss_gpu_count() == 0:
        pytest.skip("faiss has no GPU support here (faiss-cpu installed)")
    _d32, i32, b32 = R.knn(x, y, 4, use_gpu=True)
    _d16, i16, b16 = R.knn(x, y, 4, use_gpu=True, float16=True)
    _, icpu, _ = R.knn(x, y, 4, use_gpu=False)
    assert b32 == "faiss-gpu"
    assert b16 == "faiss-gpu-fp16"
    assert (i32[:, 0] == icpu[:, 0]).mean() > 0.999
    assert (i16[:, 0] == icpu[:, 0]).mean() > 0.99


# ---------------------------------------------------------------------------------------------- robustness (issue 9)


def _bad(arr, row=3, value=np.nan):
    arr = arr.copy()
    arr[row, 1] = value
    return arr


@pytest.mark.parametrize("engine", ["mutual", "faiss"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_embeddings_are_an_error_naming_the_input(engine, value):
    x, y, _ = ref.planted(n_gold=20, n_x=60, n_y=50, d=16, noise=0.5, seed=0)
    with pytest.raises(R.RetrievalInputError, match=r"emb/de\.npz.*source side.*NaN or inf"):
        R.mine(_bad(x, value=value), y, engine=engine, name="emb/de.npz")
    with pytest.raises(R.RetrievalInputError, match=r"emb/de\.npz.*English side"):
        R.mine(x, _bad(y, value=value), engine=engine, name="emb/de.npz")
    with pytest.raises(R.RetrievalInputError, match=r"tat/xa\.npz"):
        R.tatoeba_scores(_bad(x[:50], value=value), y, use_gpu=False, name="tat/xa.npz")


def test_tatoeba_sides_of_different_lengths_are_an_error():
    rng = np.random.default_rng(0)
    with pytest.raises(R.RetrievalInputError, match=r"xa\.npz.*differ in length \(30 non-English vs 29 English"):
        R.tatoeba_scores(rng.standard_normal((30, 8)), rng.standard_normal((29, 8)), use_gpu=False, name="xa.npz")


def test_empty_sides_and_mismatched_dimensions_are_errors_naming_the_input():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 8)).astype(np.float32)
    with pytest.raises(R.RetrievalInputError, match=r"de\.sample.*English side.*no sentences"):
        R.mine(x, np.zeros((0, 8), np.float32), name="de.sample")
    with pytest.raises(R.RetrievalInputError, match=r"xa\.npz.*non-English side.*no sentences"):
        R.tatoeba_scores(np.zeros((0, 8)), x, use_gpu=False, name="xa.npz")
    with pytest.raises(R.RetrievalInputError, match=r"de\.sample \(source side\) has dimension 8 but de\.sample \(English side\) has 6"):
        R.mine(x, x[:, :6], engine="faiss", name="de.sample")
    with pytest.raises(R.RetrievalInputError, match=r"xa\.npz.*dimension 8.*6"):
        R.tatoeba_scores(x, x[:, :6], use_gpu=False, name="xa.npz")
    with pytest.raises(R.RetrievalInputError, match=r"de\.training: the English side has no sentences"):
        R.bucc_split(x, x[:0], ["a"] * 10, list("0123456789"), [], [], name="de.training")


def test_bucc_texts_must_match_embedding_rows():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((10, 8)), rng.standard_normal((12, 8))
    texts, ids = [f"s{i}" for i in range(10)], [str(i) for i in range(10)]
    with pytest.raises(R.RetrievalInputError, match=r"fr\.sample: the source side has 9 texts but 10 embedding rows"):
        R.bucc_split(x, y, texts[:9], ids[:9], [f"e{i}" for i in range(12)], [str(i) for i in range(12)], name="fr.sample")
    with pytest.raises(R.RetrievalInputError, match=r"fr\.sample: the English side has 11 texts but 12 embedding rows"):
        R.bucc_split(x, y, texts, ids, [f"e{i}" for i in range(11)], [str(i) for i in range(11)], name="fr.sample")


def tied_inputs(seed=0):
    """Few prototypes, many exact copies: every neighbour list and many margins tie exactly."""
    rng = np.random.default_rng(seed)
    protos = rng.standard_normal((12, 16)).astype(np.float32)
    x = protos[rng.integers(0, 12, 90)]
    y = protos[rng.integers(0, 12, 80)] * 2.0  # same directions, other norm
    return x, y


def test_ties_are_broken_by_lowest_index():
    y = np.array([[1, 0], [0, 1], [1, 0], [1, 0]], dtype=np.float32)
    q = np.array([[1, 0]], dtype=np.float32)
    for engine, precision in [("faiss", "float32"), ("mutual", "float32"), ("mutual", "bfloat16")]:
        _s, i, _, _ = R.search(q, y, 2, engine=engine, precision=precision)
        assert i.tolist() == [[0, 2]], (engine, precision)
    x = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    en = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    # query en0 and en1 both find xx0 first (lower index): en->xx accuracy 2/3, not 1 or 1/3 depending on the engine
    assert R.tatoeba_scores(x, en, use_gpu=False)["acc_en2xx"] == pytest.approx(2 / 3)


def test_every_engine_gives_identical_pairs_on_tied_inputs():
    x, y = tied_inputs()
    runs = {(e, p): R.mine(x, y, k=4, engine=e, precision=p) for e, p in [("faiss", "float32"), ("mutual", "float32"),
                                                                           ("mutual", "bfloat16")]}
    pairs = {key: list(zip(m.src.tolist(), m.tgt.tolist())) for key, m in runs.items()}
    first = next(iter(pairs.values()))
    assert len(first) > 5
    for key, p in pairs.items():
        assert p == first, key
        np.testing.assert_array_equal(runs[key].score, runs[("faiss", "float32")].score)
    # and the neighbours are the canonical ones
    xn, yn = R.l2_normalize(x), R.l2_normalize(y)
    for e in ("faiss", "mutual"):
        _s, i, _, fb = R.search(xn, yn, 4, engine=e)
        np.testing.assert_array_equal(i, brute_topk(xn, yn, 4)[1])
    # FAISS's fixed-width lists detect the tied boundary and recompute; the mutual engine's windows hold the ties
    assert R.search(xn, yn, 4, engine="faiss")[3] > 0
    assert R.search(xn, yn, 4, engine="mutual")[3] == 0


def test_bf16_selection_is_exact_when_cosines_bunch_near_one():
    rng = np.random.default_rng(4)
    common = rng.standard_normal(64)
    x = common + 0.3 * rng.standard_normal((400, 64))
    y = np.concatenate([x[:200] + 0.05 * rng.standard_normal((200, 64)), common + 0.3 * rng.standard_normal((300, 64))])
    xn, yn = R.l2_normalize(x), R.l2_normalize(y)
    assert (xn @ yn.T).mean() > 0.9  # the regime where bf16 selection used to change pairs
    full = R.mine(x, y, precision="float32")
    low = R.mine(x, y, precision="bfloat16")
    assert low.fallback_rows == 0  # centred, the bf16 windows stay under the cap
    assert list(zip(full.src, full.tgt)) == list(zip(low.src, low.tgt))
    np.testing.assert_array_equal(full.score, low.score)


def test_duplicate_convention_all_ids_vs_drop():
    m = R.Mined(np.array([0, 1]), np.array([0, 1]), np.array([1.2, 1.1]), "x", 0.0)
    src_owners, tgt_owners = [["1", "3"], ["2"]], [["e"], ["f"]]
    assert R.candidates_to_ids(m, src_owners, tgt_owners, "all_ids") == {("1", "e"): 1.2, ("3", "e"): 1.2, ("2", "f"): 1.1}
    assert R.candidates_to_ids(m, src_owners, tgt_owners, "drop") == {("2", "f"): 1.1}  # XTREME read_sent2id
    with pytest.raises(ValueError, match="retrieval.bucc.duplicates"):
        R.candidates_to_ids(m, src_owners, tgt_owners, "keep_first")
    assert R.duplicate_stats(["a", "b", "a", "c", "c"]) == 2


def test_dev_without_a_correct_candidate_is_recorded_and_warned():
    dev = {("a", "1"): 3.0, ("b", "2"): 2.0}
    test = {("x", "1"): 1.6}
    with pytest.warns(UserWarning, match=r"de: no mined dev candidate is a gold pair"):
        res = R.bucc_evaluate(dev, {("a", "9")}, test, {("x", "1")}, name="de")
    assert res["dev_no_correct_candidate"] is True
    assert res["warnings"]
    assert res["test_n_pred"] == 0
    assert res["test_f1"] == 0.0
    assert res["oracle_test_f1"] == pytest.approx(1.0)
    with pytest.raises(R.RetrievalInputError, match="de: the dev \\(sample\\) gold file has no pairs"):
        R.bucc_evaluate(dev, set(), test, {("x", "1")}, name="de")


def test_a_file_without_the_main_layer_is_an_error_naming_it():
    assert R.layer_position(6, [0, 6, 12], "x.npz") == 1
    with pytest.raises(ValueError, match=r"x\.npz: holds hidden_states layers \[0, 6, 12\], not the main layer 7.*retrieval\.layer"):
        R.layer_position(7, [0, 6, 12], "x.npz")


def test_config_rejects_a_main_layer_outside_the_analysis_layers():
    from pathlib import Path

    import yaml

    from xstilts.config import ConfigError
    from xstilts.plan import load_plan

    root = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((root / "config/demo.yaml").read_text())
    cfg["retrieval"].update(layer=1, analysis_layers=[0, 2])
    with pytest.raises(ConfigError, match=r"retrieval.layer': layer 1 .*not among the stored retrieval.analysis_layers \[0, 2\]"):
        load_plan(cfg, root / "workflow/schemas/config.schema.yaml")


def test_the_job_functions_score_files_without_snakemake(tmp_path):
    """What the tatoeba, bucc and alignment adapters call: files in, score files out, the main layer picked."""
    import json

    import pandas as pd

    from xstilts.alignment import alignment_job
    from xstilts.io import atomic_save_npz

    rng = np.random.default_rng(0)
    n, d = 30, 16
    en = rng.normal(size=(n, d))
    good, noise = en + 0.05 * rng.normal(size=(n, d)), rng.normal(size=(n, d))
    path = tmp_path / "xa.npz"
    atomic_save_npz(path, layers=np.array([0, 3]), meta=np.array("{}"), src=np.stack([noise, good]), en=np.stack([en, en]))
    out = {"score": str(tmp_path / "t.json"), "hits": str(tmp_path / "t.hits.parquet")}
    tat = R.tatoeba_job(str(path), 3, "xa", "base", out)
    assert tat["acc_en2xx"] == 1.0
    assert tat["layer"] == 3
    assert json.loads((tmp_path / "t.json").read_text())["language"] == "xa"
    hits = pd.read_parquet(out["hits"])
    assert list(hits.columns) == list(R.HITS_COLUMNS)
    assert len(hits) == 2 * n  # every stored layer, one row per sentence
    assert hits[hits["layer"] == 3]["en2xx"].all()
    assert hits[hits["layer"] == 0]["en2xx"].mean() < 0.5
    with pytest.raises(ValueError, match="not the main layer 6"):
        R.tatoeba_job(str(path), 6, "xa", "base", {"score": str(tmp_path / "t6.json"), "hits": str(tmp_path / "t6.parquet")})
    al = alignment_job(str(path), out["hits"], "xa", "base", str(tmp_path / "a.parquet"), corpus="tatoeba")
    assert set(al["layer"]) == {0, 3}
    assert pd.read_parquet(tmp_path / "a.parquet").shape == al.shape
    main = al[(al["layer"] == 3) & (al["measure"] == "retrieval_en2xx")]["value"].item()
    assert main == tat["acc_en2xx"]  # one search, read twice

    inputs = {}
    for split in ("sample", "training"):
        src = en + 0.05 * rng.normal(size=(n, d))
        atomic_save_npz(tmp_path / f"e.{split}.npz", layers=np.array([3]), meta=np.array("{}"), src=src[None], en=en[None])
        ids = [f"{split}-{i}" for i in range(n)]
        pd.DataFrame({"id": [f"xa-{i}" for i in ids] + [f"en-{i}" for i in ids],
                      "text": [f"x {split} {i}" for i in range(n)] + [f"e {split} {i}" for i in range(n)],
                      "side": ["xa"] * n + ["en"] * n}).to_parquet(tmp_path / f"d.{split}.parquet")
        pd.DataFrame({"src_id": [f"xa-{i}" for i in ids], "en_id": [f"en-{i}" for i in ids]}).to_parquet(tmp_path / f"g.{split}.parquet")
        inputs.update({f"emb_{split}": str(tmp_path / f"e.{split}.npz"), f"data_{split}": str(tmp_path / f"d.{split}.parquet"),
                       f"gold_{split}": str(tmp_path / f"g.{split}.parquet")})
    mining = {"k": 4, "engine": "mutual", "precision": "float32", "duplicates": "all_ids"}
    res = R.bucc_job(inputs, "xa", "nli", mining, str(tmp_path / "b.json"))
    assert res["test_f1"] == pytest.approx(1.0)
    assert res["layer"] == 3
    assert res["k"] == 4
    written = json.loads((tmp_path / "b.json").read_text())
    assert written["condition"] == "nli"
    # the search's work is recorded: both splits, both directions, at least k candidates per row rescored
    assert written["candidates_rescored"] >= 2 * 2 * 4 * n
    assert written["fallback_rows"] == 0
