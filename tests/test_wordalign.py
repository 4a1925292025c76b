"""Word pairs from eflomal (xstilts.wordalign): the word tokeniser, the symmetrisation, the artifact, the aligner
against the synthetic world's true alignment, and real LASER Tatoeba pairs of three languages of different
morphology."""

from pathlib import Path

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
