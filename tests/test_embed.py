"""Embedding jobs: float32 reference path vs autocast, the resolved layers kept and checked against the model,
non-finite vectors refused."""
import numpy as np
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


def test_a_job_writes_word_vectors_beside_the_sentence_file_of_the_sets_asked(tiny_model, tmp_path):
    """Two sets sharing their English side (the multi-parallel corpus): both word files hold every word of both sides
    at every kept layer in float16, the sentence offsets and the pieces per word; a set not asked for gets none."""
    from xstilts.wordalign import words

    sets = {"xa": {"src": TEXTS[:4], "en": TEXTS[4:8]}, "xb": {"src": TEXTS[8:12], "en": TEXTS[4:8]},
            "xc": {"src": TEXTS[12:14], "en": TEXTS[4:6]}}
    out = {k: str(tmp_path / f"{k}.npz") for k in sets}
    word_paths = {k: str(tmp_path / f"{k}.words.npz") for k in ("xa", "xb")}
    E.embed_job(tiny_model, torch.device("cpu"), SETTINGS, sets, out, layers=[0, 3], model_layers=3, meta={}, word_paths=word_paths)
    with np.load(word_paths["xa"]) as a, np.load(word_paths["xb"]) as b:
        n_en = sum(len(words(t)) for t in TEXTS[4:8])
        assert a["en"].shape == (2, n_en, 32) and a["en"].dtype == np.float16
        np.testing.assert_array_equal(a["en"], b["en"])
        assert b["src"].shape[1] == b["src_first"][-1] == sum(len(words(t)) for t in TEXTS[8:12])
        assert len(b["src_pieces"]) == b["src"].shape[1] and (b["src_pieces"] >= 1).all()
        assert a["layers"].tolist() == [0, 3]
    assert not (tmp_path / "xc.words.npz").exists()
