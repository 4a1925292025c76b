"""Word pairs from eflomal (xstilts.wordalign): the word tokeniser, the symmetrisation, the artifact, the aligner
against the synthetic world's true alignment, and real LASER Tatoeba pairs of three languages of different
morphology."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xstilts import synthetic as S
from xstilts import wordalign as W
from xstilts.plan import LAYOUT

pytest.importorskip("eflomal")
REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "tatoeba"


def test_word_spans_split_words_and_punctuation():
    assert W.words("L'homme, très-bien: 3 chats.") == ["L'homme", ",", "très-bien", ":", "3", "chats", "."]


def test_intersection_keeps_only_links_both_directions_agree():
    assert W.intersect(["0-0 1-1 2-1"], ["0-0 2-1 2-2"]) == [{(0, 0), (2, 1)}]


def test_true_links_join_particles_to_the_host_that_binds_their_category():
    en = S.Language(S.ENGLISH, 1)
    fus = S.Language(S.LanguageSpec.from_dict({"code": "p6", "name": "Fus", "bound": list(S.CATEGORIES), "fusion": "fusional",
                                               "order": "SVO"}), 1)
    f = S.Frame(S.NP("noun", "dog", "pl", "big"), "see", S.NP("name", "Maria"), tense="past", polarity="neg")
    e, x = en.render(f), fus.render(f)
    links = S.true_links(e, x)
    forms = [w.form for w in e]
    verb = next(j for j, w in enumerate(x) if w.tag == "VERB")
    assert {forms[i] for i, j in links if j == verb} == {"not", "seeed"}  # the bound negation and past on one word


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("world")
    langs = [{"code": "p0", "name": "Iso", "bound": [], "mono_sentences": 20, "tlm_pairs": 0},
             {"code": "p6", "name": "Fus", "bound": list(S.CATEGORIES), "fusion": "fusional", "order": "SOV", "script": "Cyrl",
              "mono_sentences": 20, "tlm_pairs": 0}]
    cfg = S.WorldConfig.from_dict(dict(seed=3, languages=langs, english_mono=20, parallel_sentences=400, tatoeba_pairs=200,
                                       bucc_languages=[], bucc_gold={"sample": 1, "training": 1}, intermediate={}, targets={},
                                       target_test_size=5, dev_size=5))
    layout = LAYOUT.rooted(tmp)
    S.generate_world(cfg, layout)
    return layout


def test_synthetic_truth_indexes_the_word_tokeniser(demo_world):
    par = pd.read_parquet(demo_world.parallel)
    truth = pd.read_parquet(demo_world.parallel_truth)
    for lang in ("p0", "p6"):
        t = truth[truth["language"] == lang]
        assert all(W.words(s) == s.split() for s in par[lang])
        n_en = par["en"].map(lambda s: len(s.split())).to_numpy()
        n_xx = par[lang].map(lambda s: len(s.split())).to_numpy()
        assert (t["en_word"].to_numpy() < n_en[t["sentence"]]).all() and (t["xx_word"].to_numpy() < n_xx[t["sentence"]]).all()


@pytest.mark.parametrize("lang", ["p0", "p6"])
def test_aligner_precision_on_the_synthetic_world(demo_world, tmp_path, lang):
    out = tmp_path / f"{lang}.parquet"
    info = W.wordpairs_job(parallel=demo_world.parallel, lang=lang, pivot="en", out=str(out),
                           extra=[demo_world.path("tatoeba", lang=lang)])
    pairs, meta = W.read_pairs(str(out))
    truth = pd.read_parquet(demo_world.parallel_truth)
    pr = W.precision_recall(pairs, truth[truth["language"] == lang])
    assert meta["links"] == len(pairs) == info["links"] > 0
    assert meta["training_sentences"] == 600
    assert pr["precision"] >= 0.8, pr


def test_unsegmented_language_is_skipped_with_its_reason(demo_world, tmp_path):
    out = tmp_path / "p0.parquet"
    W.wordpairs_job(parallel=demo_world.parallel, lang="p0", pivot="en", out=str(out), unsegmented=["p0"])
    pairs, meta = W.read_pairs(str(out))
    assert len(pairs) == 0 and "word spaces" in meta["skipped"]


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/realdata (LASER Tatoeba test sets) is absent")
def test_real_tatoeba_pairs_of_three_morphologies(tmp_path):
    """French (fusional), Turkish (agglutinative), Finnish (agglutinative, rich case): eflomal on 1,000 LASER pairs each;
    the links are word indices inside each sentence, unique, and fewer per sentence where words carry more morphology."""
    per_sentence = {}
    for code in ("fra", "tur", "fin"):
        xx = (REAL / f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        en = (REAL / f"tatoeba.{code}-eng.eng").read_text(encoding="utf-8").splitlines()
        par = tmp_path / f"{code}.parquet"
        pd.DataFrame({"en": en, code: xx}).to_parquet(par)
        out = tmp_path / f"{code}.pairs.parquet"
        W.wordpairs_job(parallel=str(par), lang=code, pivot="en", out=str(out))
        pairs, meta = W.read_pairs(str(out))
        assert list(pairs.columns) == list(W.PAIR_COLUMNS) and (pairs.dtypes == "int32").all()
        assert meta["aligner"] == "eflomal" and meta["settings"]["symmetrisation"] == "intersection"
        assert meta["sentences"] == 1000 and pairs["sentence"].between(0, 999).all()
        assert not pairs.duplicated().any()
        n_en = [len(W.words(s)) for s in en]
        n_xx = [len(W.words(s)) for s in xx]
        assert all(i < n_en[s] and j < n_xx[s] for s, i, j in pairs.itertuples(index=False))
        per_sentence[code] = meta["links_per_sentence"]
    assert per_sentence["fra"] > per_sentence["tur"]
    assert per_sentence["fra"] > per_sentence["fin"]


def _pairs(tmp_path, name, seed, parallel, lang, extra=()):
    out = tmp_path / f"{name}.parquet"
    W.wordpairs_job(parallel=str(parallel), lang=lang, pivot="en", out=str(out), extra=list(extra), seed=seed)
    return W.read_pairs(str(out))


@pytest.fixture(scope="module")
def seeded_library(tmp_path_factory):
    lib, why = W.seeded_urandom_library(tmp_path_factory.mktemp("cache"))
    if lib is None:
        pytest.skip(f"the seeded /dev/urandom cannot be built here: {why}")
    return lib


def test_seeded_library_is_built_once_under_the_sources_hash(seeded_library):
    again, _ = W.seeded_urandom_library(seeded_library.parent)
    assert again == seeded_library
    assert [p.name for p in seeded_library.parent.iterdir()] == [seeded_library.name]  # no temporary file left


# reads the first 64 bytes of /dev/urandom through libc's fopen (as eflomal does), twice, and prints them in hex
READ_TWICE = """
import ctypes
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.fread.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
for _ in range(2):
    f = libc.fopen(b"/dev/urandom", b"rb")
    buf = ctypes.create_string_buffer(64)
    assert libc.fread(buf, 1, 64, f) == 64
    libc.fclose(f)
    print(buf.raw.hex())
"""


def _urandom_opens(lib, seed: int) -> list[str]:
    import subprocess
    import sys

    env = {**os.environ, "LD_PRELOAD": str(lib), W.SEED_ENV: str(seed)}
    r = subprocess.run([sys.executable, "-c", READ_TWICE], env=env, capture_output=True, text=True, timeout=60, check=True)
    return r.stdout.split()


def test_seeded_urandom_streams_of_neighbouring_seeds_do_not_overlap(seeded_library):
    """The n-th open's stream depends on seed and n together: seed s's second open (eflomal's reverse direction) is
    not seed s+1's first (its forward direction), and a rerun reads the same bytes."""
    a, b = _urandom_opens(seeded_library, 7), _urandom_opens(seeded_library, 8)
    assert a == _urandom_opens(seeded_library, 7)
    assert a[0] != a[1]
    assert a[1] != b[0]
    assert len(set(a + b)) == 4


def test_without_a_compiler_eflomal_runs_unseeded_and_says_so(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("CC", "no-such-compiler-xstilts")
    env, seeding = W.seeded_environment(5)
    assert seeding["seeded"] is False
    assert "no C compiler" in seeding["reason"]
    assert W.SEED_ENV not in env
    assert "UNSEEDED" in caplog.text


def test_same_seed_same_links_on_the_synthetic_world(demo_world, tmp_path, seeded_library, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(seeded_library.parent))
    a, meta = _pairs(tmp_path, "a", 11, demo_world.parallel, "p6", [demo_world.path("tatoeba", lang="p6")])
    b, _ = _pairs(tmp_path, "b", 11, demo_world.parallel, "p6", [demo_world.path("tatoeba", lang="p6")])
    assert meta["seeded"] is True
    assert meta["seed"] == 11
    assert W.SEED_ENV not in os.environ  # the job's environment is restored after eflomal ran
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/realdata (LASER Tatoeba test sets) is absent")
def test_same_seed_same_links_on_real_tatoeba_text(tmp_path, seeded_library, monkeypatch):
    """1,000 LASER Turkish-English pairs: the same seed twice gives the same links; another seed gives others (unseeded
    runs share only 75-87% of their links, bench/NOTES.md)."""
    monkeypatch.setenv("XSTILTS_CACHE", str(seeded_library.parent))
    xx = (REAL / "tatoeba.tur-eng.tur").read_text(encoding="utf-8").splitlines()
    en = (REAL / "tatoeba.tur-eng.eng").read_text(encoding="utf-8").splitlines()
    par = tmp_path / "tur.parquet"
    pd.DataFrame({"en": en, "tur": xx}).to_parquet(par)
    a, _ = _pairs(tmp_path, "a", 3, par, "tur")
    b, _ = _pairs(tmp_path, "b", 3, par, "tur")
    c, _ = _pairs(tmp_path, "c", 4, par, "tur")
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)  # the seed reaches the sampler


# two sentences; English words e00 e01 | e10 e11, non-English x00 x01 | x10 x11 x12 (x10 unlinked; x01 two pieces)
EN = np.array([[1, 0, 0, 0, 1], [0, 1, 0, 0, 1], [0, 0, 1, 0, 1], [0, 0, 0, 1, 1]], dtype=float)
XX = np.array([[1, 0, 0, 0, 1], [0, 1, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, -1, 0, 1], [0, 0, 0, 1, 1]], dtype=float)
FIRST_EN, FIRST_XX, PIECES = np.array([0, 2, 4]), np.array([0, 2, 5]), np.array([1, 2, 1, 1, 1])
PAIRS = pd.DataFrame({"sentence": [0, 0, 1, 1], "en_word": [0, 1, 0, 1], "xx_word": [0, 1, 1, 2]})


def test_word_measures_equal_a_hand_computation():
    """Candidates are the linked words x00 x01 x11 x12. e00, e01, e11 meet their own word (cosine 1); e10 is
    orthogonal to its x11 (cosine 0), and its best candidates are at 0.5 (x00, x01, x12: ties go to the lowest index,
    x00 in the set, x12 in its sentence): a miss both ways. Every cross-sentence cosine is 0.5 (the shared last
    dimension: anisotropy), so the random-pair cosine is 0.5 whatever pair is drawn and is subtracted."""
    h = W.word_hits(EN, XX, W.full_index(FIRST_EN), W.full_index(FIRST_XX), PIECES, PAIRS, seed=1)
    assert h["hit_sent"].tolist() == [True, True, False, True]
    assert h["hit_set"].tolist() == [True, True, False, True]
    np.testing.assert_allclose(h["cos_pair"], [1, 1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(h["cos_random"], [0.5] * 4, atol=1e-6)
    m = W.word_measures(h)
    expected = {"word_retrieval_sent": 0.75, "word_retrieval_set": 0.75, "word_cosine_gap": 0.75 - 0.5,
                "word_retrieval_sent_multi": 1.0, "word_retrieval_set_multi": 1.0, "word_cosine_gap_multi": 1 - 0.5,
                "word_retrieval_sent_single": 2 / 3, "word_retrieval_set_single": 2 / 3, "word_cosine_gap_single": 2 / 3 - 0.5}
    assert m == pytest.approx(expected, abs=1e-6)


def test_set_retrieval_sees_the_candidates_of_other_sentences():
    """x00 turned slightly away from e00 and a word of the other sentence equal to e00: e00 still finds x00 in its
    sentence, not in the set."""
    xx = XX.copy()
    xx[0] = [1, 0.2, 0, 0, 1]
    xx[3] = [1, 0, 0, 0, 1]
    h = W.word_hits(EN, xx, W.full_index(FIRST_EN), W.full_index(FIRST_XX), PIECES, PAIRS, seed=1)
    assert h["hit_sent"].tolist()[0] and not h["hit_set"].tolist()[0]


def test_hits_from_the_linked_words_only_equal_those_from_every_word():
    """The same vectors stored for the linked words only (x10 unlinked: left out) give the same hits, random pairs
    included: they are drawn from the linked words."""
    keep = [0, 1, 3, 4]
    xs, xw = W.full_index(FIRST_XX)
    full = W.word_hits(EN, XX, W.full_index(FIRST_EN), (xs, xw), PIECES, PAIRS, seed=5)
    linked = W.word_hits(EN, XX[keep], W.full_index(FIRST_EN), (xs[keep], xw[keep]), PIECES[keep], PAIRS, seed=5)
    pd.testing.assert_frame_equal(full, linked)


def test_a_linked_word_without_a_stored_vector_is_an_error():
    xs, xw = W.full_index(FIRST_XX)
    with pytest.raises(ValueError, match="no stored vector"):
        W.word_hits(EN, XX[[0, 3, 4]], W.full_index(FIRST_EN), (xs[[0, 3, 4]], xw[[0, 3, 4]]), PIECES[[0, 3, 4]], PAIRS)


def test_word_tables_give_nan_rows_for_a_skipped_language():
    (es, ew), (xs, xw) = W.full_index(FIRST_EN), W.full_index(FIRST_XX)
    vec = {"en": EN[None], "src": XX[None], "en_sentence": es, "en_word": ew, "src_sentence": xs, "src_word": xw, "src_pieces": PIECES}
    table, hits = W.word_tables(vec, [3], PAIRS.iloc[:0], "zh", "base", corpus="flores", skipped="no spaces")
    assert set(table["measure"]) == set(W.WORD_MEASURES) and table["value"].isna().all() and hits.empty


def test_word_summary_gives_base_delta_with_ci_and_the_aligners_precision(tmp_path):
    """Two languages, base and one condition: the condition turns every second hit of the base into a miss in the
    sentence (Δ = −0.5 in each language, and the CI, over sentences, contains it); the aligner's pairs are the truth
    minus one link (precision 1, recall 3/4); the measure from aligner and true pairs agrees."""
    rows = []
    for lang in ("p0", "p6"):
        for cond in ("base", "nli"):
            for s in range(8):
                hit = cond == "base" or s % 2 == 0
                for pairs in ("aligner", "truth"):
                    rows.append({"layer": 2, "sentence": s, "en_word": 0, "xx_word": 0, "multi": False, "hit_sent": hit,
                                 "hit_set": True, "cos_pair": 0.9, "cos_random": 0.5, "pairs": pairs, "language": lang,
                                 "condition": cond})
    hits = tmp_path / "hits.parquet"
    pd.DataFrame(rows).to_parquet(hits)
    truth = pd.DataFrame({"language": ["p0"] * 4 + ["p6"] * 4, "sentence": [0, 1, 2, 3] * 2, "en_word": 0, "xx_word": 0})
    truth.to_parquet(tmp_path / "truth.parquet")
    pair_files = []
    for lang in ("p0", "p6"):
        f = tmp_path / f"{lang}.pairs.parquet"
        W.write_pairs(W.pairs_frame([{(0, 0)}, {(0, 0)}, {(0, 0)}, set()]), {"language": lang, "aligner": "eflomal", "links": 3,
                                                                           "links_per_sentence": 0.75}, str(f))
        pair_files.append(str(f))
    out = {k: str(tmp_path / "findings" / f"{k}.out") for k in ("table", "aligner", "markdown")}
    out["heatmap"] = str(tmp_path / "figures" / "heatmap.png")
    res = W.word_summary_job(hits=[str(hits)], pairs=pair_files, layer=2, n_boot=200, seed=0, out=out,
                             truth=str(tmp_path / "truth.parquet"))
    d = res["deltas"].set_index("condition").loc["nli"]
    assert d["hit_sent"] == pytest.approx(-0.5)
    assert d["hit_sent_lo"] <= -0.5 <= d["hit_sent_hi"]
    assert d["hit_set"] == 0.0
    assert res["aligner"]["precision"].tolist() == [1.0, 1.0]
    assert res["aligner"]["recall"].tolist() == [0.75, 0.75]
    assert res["correlation"]["pearson"] == pytest.approx(1.0)
    md = open(out["markdown"]).read()
    assert "![Δ word retrieval in the sentence per condition × layer](figures/heatmap.png)" in md
    assert open(out["heatmap"], "rb").read(4) == b"\x89PNG"
    assert "| nli | -50.0 (" in md and "| p0 | 100.0 | 100.0 | 100.0 / 33.33 | 3 | 0.75 | 1.000 | 0.750 |" in md


def test_word_summary_writes_every_output_when_every_language_is_skipped(tmp_path):
    """Every language unsegmented (no pairs, no hits): the summary still writes its table, aligner table, section and
    the declared heatmap (a placeholder figure saying why there is nothing to show); the section says so too."""
    (es, ew), (xs, xw) = W.full_index(FIRST_EN), W.full_index(FIRST_XX)
    vec = {"en": EN[None], "src": XX[None], "en_sentence": es, "en_word": ew, "src_sentence": xs, "src_word": xw, "src_pieces": PIECES}
    hit_files, pair_files = [], []
    for lang in ("zh", "th"):
        reason = f"{lang} is written without word spaces (morphology.unsegmented): no word segmentation is pinned"
        f = tmp_path / f"{lang}.pairs.parquet"
        W.write_pairs(W.pairs_frame([]), {"language": lang, "aligner": "eflomal", "links": 0, "links_per_sentence": 0.0,
                                          "training_sentences": 0, "cpu_seconds": 0.0, "skipped": reason}, str(f))
        pair_files.append(str(f))
        for cond in ("base", "nli"):
            _, hits = W.word_tables(vec, [2], PAIRS.iloc[:0], lang, cond, corpus="flores", skipped=reason)
            hf = tmp_path / f"{lang}.{cond}.hits.parquet"
            hits.assign(pairs="aligner", language=lang, condition=cond).to_parquet(hf)
            hit_files.append(str(hf))
    out = {k: str(tmp_path / "findings" / f"{k}.out") for k in ("table", "aligner", "markdown")}
    out["heatmap"] = str(tmp_path / "figures" / "heatmap.png")
    W.word_summary_job(hits=hit_files, pairs=pair_files, layer=2, n_boot=50, seed=0, out=out)
    assert open(out["heatmap"], "rb").read(4) == b"\x89PNG"
    assert not [p for p in (tmp_path / "figures").iterdir() if p.name != "heatmap.png"]  # no temporary left behind
    md = open(out["markdown"]).read()
    assert "| zh | skipped: zh is written without word spaces" in md
    assert "No per-layer heatmap: no language has word hits under the base model" in md


@pytest.mark.parametrize("seeded, expected", [(True, "eflomal ran seeded (seed 3)"), (False, "eflomal ran UNSEEDED for p0")])
def test_the_summary_says_whether_eflomal_ran_seeded(seeded, expected):
    aligner = pd.DataFrame([{"language": "p0", "aligner": "eflomal", "links": 3, "links_per_sentence": 0.75, "skipped": None,
                             "seeded": seeded, "seed": 3 if seeded else None, "chance_sent": 0.5, "chance_set": 0.1}])
    table = pd.DataFrame(columns=["language", "condition", "word_retrieval_sent", "word_retrieval_set"])
    assert expected in W.word_markdown(table, pd.DataFrame(), aligner, None, 2)
