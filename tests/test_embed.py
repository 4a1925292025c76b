"""Embedding jobs: float32 reference path vs autocast, the resolved layers kept and checked against the model,
non-finite vectors refused."""
import numpy as np
import pandas as pd
import pytest
import torch

from finetune_fixtures import save_tiny_xlmr
from xstilts import embed as E
from xstilts.io import load_embeddings
from xstilts.plan import EMBEDDING_SETTINGS
from xstilts.pretrain import train_tokenizer

TEXTS = [f"the {a} dog saw {n} {b} cats" for a in ("big", "small", "old") for b in ("red", "grey", "wild") for n in range(3)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    tok = train_tokenizer(TEXTS * 4, 200, d / "tok")
    return save_tiny_xlmr(tok, d / "model", layers=3, hidden=32, max_positions=66)


SETTINGS = {"pooling": "mean", "max_length": 64, "batch_tokens": 256, "store_dtype": "float32", "embed_precision": "float32"}


def test_settings_are_exactly_the_embedding_keys(tiny_model, tmp_path):
    assert set(SETTINGS) == set(EMBEDDING_SETTINGS)
    with pytest.raises(ValueError, match="reads exactly"):
        E.embed_job(tiny_model, torch.device("cpu"), {**SETTINGS, "bucc": {"k": 4}}, {}, {}, layers=[0], model_layers=3, meta={})
    with pytest.raises(ValueError, match="retrieval.embed_precision"):
        E.Embedder(tiny_model, torch.device("cpu"), precision="int8")


def test_bf16_autocast_is_an_option_close_to_float32(tiny_model, tmp_path):
    sets = {"xa": {"src": TEXTS, "en": TEXTS[::-1]}}
    out = {}
    for prec in ("float32", "bfloat16"):
        path = str(tmp_path / f"{prec}.npz")
        E.embed_job(tiny_model, torch.device("cpu"), {**SETTINGS, "embed_precision": prec}, sets, {"xa": path},
                    layers=[0, 1, 2, 3], model_layers=3, meta={})
        arrays, layers, meta = load_embeddings(path)
        assert layers == [0, 1, 2, 3]
        assert f"'precision': '{prec}'" in meta
        out[prec] = arrays["src"]
    diff = np.abs(out["bfloat16"] - out["float32"]).max()
    assert 0 < diff < 0.1 * np.abs(out["float32"]).max()  # autocast really ran, and stayed close


def test_a_job_keeps_the_plans_layers_and_checks_the_models_layer_count(tiny_model, tmp_path):
    path = str(tmp_path / "b.npz")
    sets = {"k": {"src": TEXTS[:5], "en": TEXTS[5:9]}}
    E.embed_job(tiny_model, torch.device("cpu"), SETTINGS, sets, {"k": path}, layers=[2], model_layers=3, meta={})
    _, layers, _ = load_embeddings(path)
    assert layers == [2]  # a BUCC job: the main layer only, as xstilts.plan resolved it
    with pytest.raises(ValueError, match=r"has 3 layers but the config says 24 \(model.num_hidden_layers"):
        E.embed_job(tiny_model, torch.device("cpu"), SETTINGS, sets, {"k": path}, layers=[2], model_layers=24, meta={})


def test_non_finite_vectors_and_empty_sides_are_refused(tiny_model, tmp_path):
    emb = E.Embedder(tiny_model, torch.device("cpu"), 64, 256)
    with torch.no_grad():
        emb.model.embeddings.word_embeddings.weight[5:] = float("nan")
    with pytest.raises(ValueError, match=r"de\.sample\.npz: set 'de\.sample' side 'src'.*non-finite"):
        E.embed_sets(emb, {"de.sample": {"src": TEXTS}}, {"de.sample": str(tmp_path / "de.sample.npz")}, emb.all_layers, "mean", {})
    with pytest.raises(ValueError, match="side 'en' has no sentences"):
        E.embed_sets(emb, {"xa": {"en": []}}, {"xa": str(tmp_path / "xa.npz")}, emb.all_layers, "mean", {})
    assert not (tmp_path / "de.sample.npz").exists()


def test_word_vectors_are_the_mean_of_their_pieces_from_the_same_pass(tiny_model):
    """Each word's vector (xstilts.wordalign.word_spans) equals the mean over its subword pieces of the hidden state of
    a one-sentence pass, at every layer; batching and sorting by length change nothing; the sentence vectors are the
    ones embed() returns without words."""
    from xstilts.wordalign import word_spans

    emb = E.Embedder(tiny_model, torch.device("cpu"), 64, 40)
    texts = ["the wildest dogs saw 12 cats.", "big", "the red cat, old dog"]
    spans = [word_spans(t) for t in texts]
    sent, words, pieces = emb.embed(texts, [0, 2, 3], "mean", spans)
    np.testing.assert_allclose(sent, emb.embed(texts, [0, 2, 3], "mean"), atol=1e-6)
    row = 0
    for t, sp in zip(texts, spans):
        enc = emb.tokenizer(t, return_offsets_mapping=True)
        with torch.inference_mode():
            hs = emb.model(input_ids=torch.tensor([enc["input_ids"]]), output_hidden_states=True).hidden_states
        for a, b in sp:
            pos = [p for p, (x, y) in enumerate(enc["offset_mapping"]) if y > x and x < b and y > a]
            assert pieces[row] == len(pos) >= 1
            for li, layer in enumerate([0, 2, 3]):
                np.testing.assert_allclose(words[li, row], hs[layer][0, pos].mean(0).numpy(), atol=1e-5)
            row += 1
    assert row == words.shape[1] and (pieces > 1).any()


def _pairs_files(tmp_path, sets, seed=0):
    """Random confident links (about half the words of each sentence) per set, as word-pairs files."""
    from xstilts import wordalign as W

    rng = np.random.default_rng(seed)
    files = {}
    for key, sides in sets.items():
        links = []
        for en, xx in zip(sides["en"], sides["src"]):
            ne, nx = len(W.words(en)), len(W.words(xx))
            k = max(1, min(ne, nx) // 2)
            links.append(set(zip(rng.choice(ne, k, replace=False).tolist(), rng.choice(nx, k, replace=False).tolist())))
        files[key] = str(tmp_path / f"{key}.pairs.parquet")
        W.write_pairs(W.pairs_frame(links), {"language": key}, files[key])
    return files


WORD_SETS = {"xa": {"src": TEXTS[:6], "en": TEXTS[6:12]}, "xb": {"src": TEXTS[12:18], "en": TEXTS[6:12]},
             "xc": {"src": TEXTS[18:20], "en": TEXTS[6:8]}}


def test_a_job_stores_only_the_linked_words_and_the_english_once(tiny_model, tmp_path):
    """Two sets sharing their English side (the multi-parallel corpus): each set's file holds the vectors (float16,
    every kept layer) of its linked non-English words only, with their (sentence, word) and pieces; the English
    linked words of both sets are stored once, in the shared file; a set not asked for gets none."""
    from xstilts import wordalign as W

    out = {k: str(tmp_path / f"{k}.npz") for k in WORD_SETS}
    word_paths = {k: str(tmp_path / f"{k}.words.npz") for k in ("xa", "xb")}
    pairs = _pairs_files(tmp_path, {k: WORD_SETS[k] for k in word_paths})
    stats = E.embed_job(tiny_model, torch.device("cpu"), SETTINGS, WORD_SETS, out, layers=[0, 3], model_layers=3, meta={},
                        word_paths=word_paths, shared_word_paths={"en": str(tmp_path / "pivot.words.npz")}, word_pairs=pairs)
    p = {k: W.read_pairs(f)[0] for k, f in pairs.items()}
    with np.load(word_paths["xb"]) as b, np.load(tmp_path / "pivot.words.npz") as en:
        linked_xx = sorted(set(zip(p["xb"]["sentence"], p["xb"]["xx_word"])))
        assert list(zip(b["src_sentence"].tolist(), b["src_word"].tolist())) == linked_xx
        assert b["src"].shape == (2, len(linked_xx), 32)
        assert b["src"].dtype == np.float16
        assert b["src_pieces"].shape == (len(linked_xx),)
        assert (b["src_pieces"] >= 1).all()
        assert "en" not in b.files
        linked_en = sorted({*zip(p["xa"]["sentence"], p["xa"]["en_word"]), *zip(p["xb"]["sentence"], p["xb"]["en_word"])})
        assert list(zip(en["en_sentence"].tolist(), en["en_word"].tolist())) == linked_en
        assert len(linked_en) < sum(len(W.words(t)) for t in WORD_SETS["xa"]["en"])  # fewer than every word
        assert en["layers"].tolist() == [0, 3]
    assert stats["shared_words_stored"] == {"en": len(linked_en)}
    assert not (tmp_path / "xc.words.npz").exists()


def test_a_job_refuses_word_pairs_of_other_text(tiny_model, tmp_path):
    from xstilts import wordalign as W

    bad = str(tmp_path / "xa.pairs.parquet")
    W.write_pairs(W.pairs_frame([{(0, 40)}]), {"language": "xa"}, bad)
    with pytest.raises(ValueError, match="not in the text"):
        E.embed_job(tiny_model, torch.device("cpu"), SETTINGS, {"xa": WORD_SETS["xa"]}, {"xa": str(tmp_path / "xa.npz")},
                    layers=[3], model_layers=3, meta={}, word_paths={"xa": str(tmp_path / "xa.words.npz")},
                    shared_word_paths={"en": str(tmp_path / "en.words.npz")}, word_pairs={"xa": bad})


def test_storing_only_linked_words_changes_no_word_measure(tiny_model, tmp_path):
    """The word measures (every stored layer) and the per-link hits from vectors of every word equal those from the
    linked words only: queries, candidates and the random partners are all linked words."""
    from xstilts import wordalign as W

    sets = {k: WORD_SETS[k] for k in ("xa", "xb")}
    pairs = _pairs_files(tmp_path, sets, seed=4)
    emb = E.Embedder(tiny_model, torch.device("cpu"), 64, 256)
    results = {}
    for mode in ("all", "linked"):
        d = tmp_path / mode
        d.mkdir()
        words = {k: str(d / f"{k}.words.npz") for k in sets}
        rows = None if mode == "all" else W.linked_words(pairs)
        E.embed_sets(emb, sets, {k: str(d / f"{k}.npz") for k in sets}, [1, 3], "mean", {}, word_paths=words,
                     shared_word_paths={"en": str(d / "en.words.npz")}, word_rows=rows)
        out = {"alignment": str(d / "table.parquet"), "hits": str(d / "hits.parquet")}
        W.word_measures_job(words=words["xb"], english=str(d / "en.words.npz"), pairs=pairs["xb"], language="xb",
                            condition="base", corpus="flores", out=out, seed=2)
        results[mode] = (pd.read_parquet(out["alignment"]), pd.read_parquet(out["hits"]))
    with np.load(tmp_path / "all" / "xb.words.npz") as a, np.load(tmp_path / "linked" / "xb.words.npz") as b:
        assert b["src"].shape[1] < a["src"].shape[1]  # the linked-only file is smaller
    assert results["all"][1]["hit_sent"].any()
    pd.testing.assert_frame_equal(results["all"][0], results["linked"][0])
    pd.testing.assert_frame_equal(results["all"][1], results["linked"][1])
