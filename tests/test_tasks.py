"""Task-type registry: featurisation, decoding and metrics on a tiny randomly initialised XLM-R."""
import pandas as pd
import pytest
import torch
from transformers import (
    PreTrainedTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
)

from xstilts import finetune as F
from xstilts import multitask as MT
from xstilts import tasks as T
from xstilts import training as TR
from xstilts.pretrain import train_tokenizer

TEXTS = ["the big dog sees the cat .", "Maria finds 3 red apples .", "the old man did not read the book ."] * 30


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    tok = train_tokenizer(TEXTS, 120, d / "tok")
    cfg = XLMRobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                           max_position_embeddings=130, pad_token_id=tok.pad_token_id, type_vocab_size=1)
    torch.manual_seed(0)
    model = XLMRobertaForMaskedLM(cfg)
    model.save_pretrained(d / "model")
    tok.save_pretrained(d / "model")
    return str(d / "model")


def test_registry_covers_the_formats():
    assert set(T.REGISTRY) == {"pair_classification", "multiple_choice", "span_qa", "tagging"}
    with pytest.raises(KeyError, match="unknown task type 'ranking'"):
        T.get_task_type("ranking")


def test_qa_features_point_at_the_answer(tiny_model):
    tok = PreTrainedTokenizerFast.from_pretrained(tiny_model)
    ctx = "the big dog sees the cat . Maria finds 3 red apples ."
    df = pd.DataFrame([{"id": "1", "context": ctx, "question": "who finds 3 red apples ?", "answer_text": "Maria", "answer_start": ctx.index("Maria")}])
    f = T.featurize_qa(df, tok, {"max_seq_length": 64, "doc_stride": 16})[0]
    span = tok.decode(f["input_ids"][f["start_positions"]: f["end_positions"] + 1]).strip()
    assert span == "Maria"
    # with a short window the answer falls outside some windows, which then point at CLS (0)
    feats = T.featurize_qa(df, tok, {"max_seq_length": 20, "doc_stride": 4})
    assert len(feats) > 1
    assert any(x["start_positions"] == 0 for x in feats)
    assert any(x["start_positions"] > 0 for x in feats)


def test_tagging_labels_first_subtoken_only(tiny_model):
    tok = PreTrainedTokenizerFast.from_pretrained(tiny_model)
    df = pd.DataFrame([{"tokens": ["Mariaxyz", "sees", "dogs"], "tags": ["PROPN", "VERB", "NOUN"]}])
    f = T.featurize_tagging(df, tok, {"labels": ["NOUN", "VERB", "PROPN"], "max_seq_length": 32})[0]
    labelled = [l for l in f["labels"] if l != T.IGNORE]
    assert labelled == [2, 1, 0]
    assert len(f["labels"]) > 5  # sub-tokens beyond the first are ignored, not dropped


def test_squad_metric():
    from xstilts import qa_metrics as Q

    assert Q.f1("the Big Dog", "big dog") == 1.0
    assert Q.f1("big cat", "big dog") == pytest.approx(0.5)
    assert Q.normalize_squad("The  cat!") == "cat"


@pytest.mark.parametrize("kind, spec, row", [
    ("pair_classification", {"labels": ["a", "b", "c"], "max_seq_length": 32}, {"sentence1": "the dog sees", "sentence2": "the cat", "label": 1}),
    ("multiple_choice", {"max_seq_length": 32}, {"context": "the dog sees", "endings": ["a cat", "a dog", "Maria", "3"], "label": 2}),
    ("span_qa", {"max_seq_length": 48, "doc_stride": 16}, {"id": "q", "context": "the dog sees Maria .", "question": "who ?", "answer_text": "Maria", "answer_start": 13}),
    ("tagging", {"labels": ["DET", "NOUN", "VERB", "PROPN", "PUNCT"], "max_seq_length": 32},
     {"tokens": ["the", "dog", "sees", "Maria", "."], "tags": ["DET", "NOUN", "VERB", "PROPN", "PUNCT"]}),
])
def test_every_type_trains_saves_and_evaluates(tmp_path, tiny_model, kind, spec, row):
    from xstilts.evaluate import evaluate_languages
    from xstilts.features import featurize_split

    spec = {"type": kind, **spec}
    df = pd.DataFrame([row] * 64)
    df.to_parquet(tmp_path / "train.parquet")
    df.head(8).to_parquet(tmp_path / "valid.parquet")
    featurize_split(tmp_path / "train.parquet", tiny_model, spec, tmp_path / "feats.parquet")
    hp = TR.HParams(learning_rate=5e-3, epochs=3, batch_size=16)
    metric = T.main_metric(spec)
    m = F.run_intermediate(tiny_model, str(tmp_path / "feats.parquet"), hp, str(tmp_path / "valid.parquet"), tmp_path / "enc",
                           tmp_path / "m.json", 0, ckpt_dir=tmp_path / "ck1")
    assert (tmp_path / "enc" / "config.json").exists()
    assert metric in m["validation"]
    # the saved encoder seeds a target model of any other type (encoder only, fresh head)
    featurize_split(tmp_path / "train.parquet", tmp_path / "enc", spec, tmp_path / "feats_t.parquet")
    out = F.run_target(str(tmp_path / "enc"), str(tmp_path / "feats_t.parquet"), hp, str(tmp_path / "valid.parquet"), tmp_path / "tgt",
                       tmp_path / "t.json", 0, ckpt_dir=tmp_path / "ck2")
    score = out["validation_en"][metric]
    assert score >= 0.99  # one repeated example: learnable to perfection
    res = evaluate_languages(str(tmp_path / "tgt"), spec, {"xx": str(tmp_path / "valid.parquet")}, {"xx": str(tmp_path / "s.json")}, 8,
                             torch.device("cpu"), {"target": "t"})
    assert res["xx"]["score"] == pytest.approx(score)


def test_multitask_sampler_is_proportional_and_homogeneous():
    plan = MT.proportional_batches([300, 100], 10, seed=0)
    assert sum(1 for t, _ in plan if t == 0) == 30
    assert sum(1 for t, _ in plan if t == 1) == 10
    assert all(max(idx) < (300 if t == 0 else 100) for t, idx in plan)
    capped = MT.proportional_batches([300, 100], 10, seed=0, cap=50)
    assert sum(1 for t, _ in capped if t == 0) == 5


def test_multitask_shares_one_encoder(tmp_path, tiny_model):
    specs = {"nli": {"type": "pair_classification", "labels": ["a", "b"], "max_seq_length": 32},
             "mc": {"type": "multiple_choice", "max_seq_length": 32}}
    pd.DataFrame([{"sentence1": "the dog", "sentence2": "a cat", "label": 1}] * 40).to_parquet(tmp_path / "nli.parquet")
    pd.DataFrame([{"context": "the dog", "endings": ["a", "b"], "label": 0}] * 20).to_parquet(tmp_path / "mc.parquet")
    from xstilts.features import featurize_split

    for n, spec in specs.items():
        featurize_split(tmp_path / f"{n}.parquet", tiny_model, spec, tmp_path / f"{n}_feats.parquet")
    m = MT.run_multitask(tiny_model, {n: str(tmp_path / f"{n}_feats.parquet") for n in specs}, TR.HParams(learning_rate=1e-3, epochs=1, batch_size=8),
                        tmp_path / "mt", tmp_path / "mt.json", 0, tasks=list(specs), ckpt_dir=tmp_path / "ck")
    assert m["train_sizes"] == {"nli": 40, "mc": 20}
    assert (tmp_path / "mt" / "config.json").exists()
