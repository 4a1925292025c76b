"""Embedding jobs: float32 reference path vs autocast, the one main-layer rule, non-finite vectors refused."""
import numpy as np
import pytest
import torch
from transformers import XLMRobertaConfig, XLMRobertaModel

from xstilts import embed as E
from xstilts.config import EMBEDDING_SETTINGS
from xstilts.io import load_embeddings
from xstilts.pretrain import train_tokenizer
from xstilts.retrieval import resolve_main_layer

TEXTS = [f"the {a} dog saw {n} {b} cats" for a in ("big", "small", "old") for b in ("red", "grey", "wild") for n in range(3)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    tok = train_tokenizer(TEXTS * 4, 200, d / "tok")
    cfg = XLMRobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
                           max_position_embeddings=66, pad_token_id=tok.pad_token_id, type_vocab_size=1)
    torch.manual_seed(0)
    XLMRobertaModel(cfg).save_pretrained(d / "model")
    tok.save_pretrained(d / "model")
    return str(d / "model")


SETTINGS = {"pooling": "mean", "max_length": 64, "batch_tokens": 256, "store_dtype": "float32", "embed_precision": "float32"}


def test_settings_are_exactly_the_embedding_keys(tiny_model, tmp_path):
    assert set(SETTINGS) == set(EMBEDDING_SETTINGS)
    with pytest.raises(ValueError, match="reads exactly"):
        E.embed_job(tiny_model, torch.device("cpu"), {**SETTINGS, "bucc": {"k": 4}}, {}, {}, "all", {})
    with pytest.raises(ValueError, match="retrieval.embed_precision"):
        E.Embedder(tiny_model, torch.device("cpu"), precision="int8")


def test_bf16_autocast_is_an_option_close_to_float32(tiny_model, tmp_path):
    sets = {"xa": {"src": TEXTS, "en": TEXTS[::-1]}}
    out = {}
    for prec in ("float32", "bfloat16"):
        path = str(tmp_path / f"{prec}.npz")
        E.embed_job(tiny_model, torch.device("cpu"), {**SETTINGS, "embed_precision": prec}, sets, {"xa": path}, "all", {})
        arrays, layers, meta = load_embeddings(path)
        assert layers == [0, 1, 2, 3] and f"'precision': '{prec}'" in meta
        out[prec] = arrays["src"]
    diff = np.abs(out["bfloat16"] - out["float32"]).max()
    assert 0 < diff < 0.1 * np.abs(out["float32"]).max()  # autocast really ran, and stayed close


def test_bucc_job_keeps_the_main_layer_resolved_like_tatoeba_and_regression(tiny_model, tmp_path):
    path = str(tmp_path / "b.npz")
    E.embed_job(tiny_model, torch.device("cpu"), SETTINGS, {"k": {"src": TEXTS[:5], "en": TEXTS[5:9]}}, {"k": path}, [0, 2, 3], {},
                main_layer=-2)
    _, layers, _ = load_embeddings(path)
    assert layers == [resolve_main_layer(-2, [0, 2, 3])] == [2]  # second-to-last *stored* layer
    with pytest.raises(ValueError, match="retrieval.layer.*not among the stored analysis layers"):
        E.embed_job(tiny_model, torch.device("cpu"), SETTINGS, {"k": {"src": TEXTS[:5], "en": TEXTS[5:9]}}, {"k": path}, [0, 2], {},
                    main_layer=1)


def test_non_finite_vectors_and_empty_sides_are_refused(tiny_model, tmp_path):
    emb = E.Embedder(tiny_model, torch.device("cpu"), 64, 256)
    with torch.no_grad():
        emb.model.embeddings.word_embeddings.weight[5:] = float("nan")
    with pytest.raises(ValueError, match=r"de\.sample\.npz: set 'de\.sample' side 'src'.*non-finite"):
        E.embed_sets(emb, {"de.sample": {"src": TEXTS}}, {"de.sample": str(tmp_path / "de.sample.npz")}, "all", "mean", {})
    with pytest.raises(ValueError, match="side 'en' has no sentences"):
        E.embed_sets(emb, {"xa": {"en": []}}, {"xa": str(tmp_path / "xa.npz")}, "all", "mean", {})
    assert not (tmp_path / "de.sample.npz").exists()
