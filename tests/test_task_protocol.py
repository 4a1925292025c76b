"""Reference behaviour of the task types on the published protocol: XTREME's SQuAD windows (a window every doc_stride
context tokens, question cut to 64 tokens), QA scoring over every gold answer with the task's qa_metric, CCG accuracy
over a fixed tag file (jiant), and the guards that stop a job on converted data that cannot give a meaningful score."""
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
import yaml

from finetune_fixtures import save_tiny_xlmr
from xstilts import tasks as T
from xstilts.config import ConfigError, load_and_check
from xstilts.pretrain import train_tokenizer

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"

WORDS = ["the", "big", "dog", "sees", "the", "cat", ".", "Maria", "finds", "3", "red", "apples", ".", "the", "old", "man", "did", "not", "read", "the", "book", ".", "who", "what", "where"]
TEXTS = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))] * 10


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    return train_tokenizer(TEXTS, 150, tmp_path_factory.mktemp("tok") / "tok")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tok):
    return save_tiny_xlmr(tok, tmp_path_factory.mktemp("tiny") / "model", layers=1, hidden=32, max_positions=130,
                          masked_lm=True)


def reference_window_starts(n_ctx: int, room: int, doc_stride: int) -> list[int]:
    """XTREME processors/squad.py: span k starts at k * doc_stride; spans are added until one reaches the end."""
    starts = [0]
    while starts[-1] + room < n_ctx:
        starts.append(starts[-1] + doc_stride)
    return starts


# ---------------------------------------------------------------- windows

@pytest.mark.parametrize("max_len, doc_stride", [(40, 7), (40, 13), (48, 20), (30, 1)])
def test_windows_start_every_doc_stride_tokens(tok, max_len, doc_stride):
    ctx = " ".join(WORDS * 3)
    question = "who finds 3 red apples ?"
    c_ids = tok(ctx, add_special_tokens=False)["input_ids"]
    room = max_len - len(tok(question, add_special_tokens=False)["input_ids"]) - 4  # <s> q </s></s> c </s>
    df = pd.DataFrame([{"context": ctx, "question": question, "answer_text": "Maria", "answer_start": ctx.index("Maria")}])
    ws = T.qa_windows(df, tok, {"max_seq_length": max_len, "doc_stride": doc_stride})
    expected = reference_window_starts(len(c_ids), room, doc_stride)
    assert [w["start"] for w in ws] == expected
    for w in ws:  # each window holds exactly the context tokens from its start
        got = [w["input_ids"][k] for k in w["context_positions"]]
        assert got == c_ids[w["start"] : w["start"] + room]
        assert len(w["input_ids"]) <= max_len
    # every context token starts a span in exactly one window: the one where it has most context (max-context rule)
    owners = {}
    for wi, w in enumerate(ws):
        for j, is_max in enumerate(w["max_context"]):
            if is_max:
                assert w["start"] + j not in owners
                owners[w["start"] + j] = wi
    assert sorted(owners) == list(range(len(c_ids)))


def test_question_is_capped_at_64_tokens_and_each_question_gets_its_own_room(tok):
    ctx = " ".join(WORDS * 2)
    long_q = " ".join(WORDS * 4) + " ?"
    assert len(tok(long_q, add_special_tokens=False)["input_ids"]) > 64
    df = pd.DataFrame([{"context": ctx, "question": q, "answer_text": "Maria", "answer_start": ctx.index("Maria")}
                       for q in (long_q, "who ?")])
    ws = T.qa_windows(df, tok, {"max_seq_length": 96, "doc_stride": 8})
    for ex, q_len in ((0, 64), (1, len(tok("who ?", add_special_tokens=False)["input_ids"]))):
        mine = [w for w in ws if w["example"] == ex]
        room = 96 - q_len - 4
        assert all(len(w["input_ids"]) - len(w["context_positions"]) - 4 == q_len for w in mine)
        n_ctx = len(tok(ctx, add_special_tokens=False)["input_ids"])
        assert [w["start"] for w in mine] == reference_window_starts(n_ctx, room, 8)
    capped = T.qa_windows(df.head(1), tok, {"max_seq_length": 96, "doc_stride": 8, "max_query_length": 10})
    assert len(capped[0]["input_ids"]) - len(capped[0]["context_positions"]) - 4 == 10


def test_training_features_use_the_first_gold_answer(tok):
    ctx = "the big dog sees the cat . Maria finds 3 red apples ."
    row = {"context": ctx, "question": "who finds 3 red apples ?", "answer_text": ["Maria", "Maria finds"],
           "answer_start": [ctx.index("Maria"), ctx.index("Maria")]}
    f = T.featurize_qa(pd.DataFrame([row]), tok, {"max_seq_length": 64, "doc_stride": 16})[0]
    assert tok.decode(f["input_ids"][f["start_positions"]: f["end_positions"] + 1]).strip() == "Maria"


class PointAt(torch.nn.Module):
    """A stand-in QA model whose start and end logits peak on one token id: it always answers that token."""

    def __init__(self, token_id: int):
        super().__init__()
        self.token_id = token_id

    def forward(self, input_ids, attention_mask=None):
        hit = (input_ids == self.token_id).float() * 10
        return SimpleNamespace(start_logits=hit, end_logits=hit)


def test_predictions_score_against_every_gold_answer_with_the_tasks_qa_metric(tok, tmp_path):
    ctx = "the big dog sees the cat . Maria finds 3 red apples ."
    maria = tok("Maria", add_special_tokens=False)["input_ids"]
    assert len(maria) == 1
    rows = [{"context": ctx, "question": "who ?", "answer_text": ["Mary", "Maria"], "answer_start": [0, ctx.index("Maria")]},
            {"context": ctx, "question": "who ?", "answer_text": ["the Maria"], "answer_start": [0]}]
    pd.DataFrame(rows).to_parquet(tmp_path / "de.parquet")
    df = T.read_frame(tmp_path / "de.parquet")
    model = PointAt(maria[0])
    spec = {"type": "span_qa", "max_seq_length": 48, "doc_stride": 16}
    m = T.predict_qa(model, df, tok, spec, 8, "cpu")
    assert m == {"f1": 1.0, "exact_match": 1.0, "n": 2}  # second gold of row 1; "the" is an English article
    # MLQA normalisation: the answer language decides which articles go; "the" is no German article
    m = T.predict_qa(model, df, tok, {**spec, "qa_metric": "mlqa", "language": "de"}, 8, "cpu")
    assert m["exact_match"] == 0.5
    assert m["f1"] == pytest.approx((1 + 2 / 3) / 2)
    with pytest.raises(T.DataError, match="de.parquet.*answer language"):
        T.predict_qa(model, df, tok, {**spec, "qa_metric": "mlqa"}, 8, "cpu")
    # an answer that only a later window holds is found across windows
    long_ctx = " ".join(["the big dog sees the cat ."] * 8) + " Maria finds 3 red apples ."
    far = pd.DataFrame([{"context": long_ctx, "question": "who ?", "answer_text": ["Maria"], "answer_start": [long_ctx.index("Maria")]}])
    assert len(T.qa_windows(far, tok, {**spec, "max_seq_length": 24, "doc_stride": 8})) > 3
    assert T.predict_qa(model, far, tok, {**spec, "max_seq_length": 24, "doc_stride": 8}, 8, "cpu")["exact_match"] == 1.0


# ---------------------------------------------------------------- CCG: accuracy over a fixed tag file

class ConstantTagger(torch.nn.Module):
    """A stand-in token classifier that predicts label id ``k`` for every token."""

    def __init__(self, n_labels: int, k: int):
        super().__init__()
        self.n_labels, self.k = n_labels, k

    def forward(self, input_ids, attention_mask=None):
        logits = torch.zeros(*input_ids.shape, self.n_labels)
        logits[..., self.k] = 1.0
        return SimpleNamespace(logits=logits)


@pytest.mark.parametrize("fmt", ["json", "txt"])
def test_ccg_is_scored_by_accuracy_over_the_fixed_tag_file(tmp_path, tok, tiny_model, fmt):
    tags = ["NP", "N", "(S\\NP)/NP", "N/N", "S[dcl]\\NP", "."]  # the file's order is the head's label order
    path = tmp_path / f"tags.{fmt}"
    if fmt == "json":  # jiant's tags_to_id.json: tag -> id
        path.write_text(json.dumps({t: i for i, t in reversed(list(enumerate(tags)))}))
    else:
        path.write_text("\n".join(tags) + "\n")
    train = _frame(tmp_path, [{"tokens": ["Maria", "sees", "dogs", "."], "tags": ["NP", "(S\\NP)/NP", "N", "."]}] * 8, "train.parquet")
    test = _frame(tmp_path, [{"tokens": ["big", "dogs", "sees", "big", "."], "tags": ["N/N", "N", "(S\\NP)/NP", "N/N", "."]}] * 3,
                  "test.parquet")
    spec = T.resolve_spec({"type": "tagging", "labels": [], "labels_file": str(path), "metric": "accuracy", "max_seq_length": 32}, train)
    # the label set is the file's, in id order, including tags the training split never shows (N/N, S[dcl]\NP)
    assert spec["labels"] == tags
    assert T.main_metric(spec) == "accuracy"
    model = T.get_task_type("tagging").auto_model.from_pretrained(tiny_model, **T.get_task_type("tagging").model_kwargs(spec))
    assert model.config.num_labels == len(tags)
    assert [model.config.id2label[i] for i in range(len(tags))] == tags
    # word accuracy, by hand: always "N/N" is right on 2 of the 5 words, always "N" on 1 of 5
    for k, expected in ((tags.index("N/N"), 2 / 5), (tags.index("N"), 1 / 5)):
        res = T.predict_tagging(ConstantTagger(len(tags), k), test, tok, spec, 4, "cpu")
        assert res == {"accuracy": pytest.approx(expected), "n": 3}  # no entity F1 over supertags
    # a tag outside the file stops scoring with the file named
    bad = _frame(tmp_path, [{"tokens": ["big", "dogs"], "tags": ["N/N", "S\\NP"]}], "bad.parquet")
    with pytest.raises(T.DataError, match=r"bad\.parquet: 1 tag\(s\) outside the task's label set of 6 \(e\.g\. 'S.+NP'\)"):
        T.predict_tagging(ConstantTagger(len(tags), 0), bad, tok, spec, 4, "cpu")


def test_tagging_without_a_fixed_label_set_is_refused(tmp_path):
    df = pd.DataFrame([{"tokens": ["a"], "tags": ["N"]}])
    df.to_parquet(tmp_path / "train.parquet")
    with pytest.raises(T.DataError, match=r"train\.parquet.*labels_file"):
        T.resolve_spec({"type": "tagging", "labels": [], "max_seq_length": 16}, T.read_frame(tmp_path / "train.parquet"))


def test_labels_file_errors_name_the_file(tmp_path):
    (tmp_path / "gap.json").write_text(json.dumps({"A": 0, "B": 2}))
    with pytest.raises(T.DataError, match="gap.json.*without gaps"):
        T.read_labels_file(str(tmp_path / "gap.json"))
    with pytest.raises(T.DataError, match="missing.txt.*not found"):
        T.read_labels_file(str(tmp_path / "missing.txt"))


# ---------------------------------------------------------------- guards on converted data

POS = {"type": "tagging", "labels": ["DET", "NOUN", "VERB"], "max_seq_length": 32}


def _frame(tmp_path, rows, name="split.parquet", columns=None):
    pd.DataFrame(rows, columns=columns).to_parquet(tmp_path / name)
    return T.read_frame(tmp_path / name)


def test_classlabel_ids_where_tag_names_belong_stop_the_job(tmp_path, tok):
    # the failure this guards: HF ClassLabel ids written as tags silently became 'ignore' everywhere, F1 0
    df = _frame(tmp_path, [{"tokens": ["the", "dog", "sees"], "tags": [0, 1, 2]}] * 3, "udpos_train.parquet")
    with pytest.raises(T.DataError, match=r"udpos_train\.parquet: 9 tag\(s\) outside the task's label set"):
        T.featurize_tagging(df, tok, POS)


def test_a_tag_outside_the_label_set_stops_the_job(tmp_path, tok):
    df = _frame(tmp_path, [{"tokens": ["the", "dog"], "tags": ["DET", "PROPN"]}], "test_de.parquet")
    with pytest.raises(T.DataError, match=r"test_de\.parquet.*'PROPN'"):
        T.featurize_tagging(df, tok, POS)


def test_a_tagging_set_whose_every_label_is_ignored_stops_the_job(tmp_path, tok):
    # every word falls beyond max_seq_length: no label survives
    df = _frame(tmp_path, [{"tokens": ["the", "dog"], "tags": ["DET", "NOUN"]}] * 2, "cut.parquet")
    with pytest.raises(T.DataError, match=r"cut\.parquet: every tag is ignored"):
        T.featurize_tagging(df, tok, {**POS, "max_seq_length": 2})
    df = _frame(tmp_path, [{"tokens": [], "tags": []}] * 2, "wordless.parquet")
    with pytest.raises(T.DataError, match=r"wordless\.parquet: every tag is ignored"):
        T.featurize_tagging(df, tok, POS)


def test_tokens_and_tags_of_different_lengths_stop_the_job(tmp_path, tok):
    df = _frame(tmp_path, [{"tokens": ["the", "dog"], "tags": ["DET"]}], "ragged.parquet")
    with pytest.raises(T.DataError, match=r"ragged\.parquet: row 0 has 2 tokens but 1 tags"):
        T.featurize_tagging(df, tok, POS)


NLI = {"type": "pair_classification", "labels": ["entailment", "neutral", "contradiction"], "max_seq_length": 32}


def test_classification_labels_by_name_or_id_and_outside_the_set(tmp_path, tok):
    named = _frame(tmp_path, [{"sentence1": "a", "sentence2": "b", "label": "neutral"}], "named.parquet")
    assert T.featurize_classification(named, tok, NLI)[0]["labels"] == 1
    bad_name = _frame(tmp_path, [{"sentence1": "a", "sentence2": "b", "label": "paraphrase"}], "names.parquet")
    with pytest.raises(T.DataError, match=r"names\.parquet.*'paraphrase'.*outside"):
        T.featurize_classification(bad_name, tok, NLI)
    snli = _frame(tmp_path, [{"sentence1": "a", "sentence2": "b", "label": -1}], "snli.parquet")  # SNLI's unlabelled rows
    with pytest.raises(T.DataError, match=r"snli\.parquet: label id\(s\) \[-1\] outside"):
        T.featurize_classification(snli, tok, NLI)
    mc = _frame(tmp_path, [{"context": "a", "endings": ["x", "y"], "label": 2}], "mc.parquet")
    with pytest.raises(T.DataError, match=r"mc\.parquet: row 0: label 2"):
        T.featurize_mc(mc, tok, {"type": "multiple_choice", "max_seq_length": 32})


SPECS = {
    "pair_classification": (NLI, T.featurize_classification, ["sentence1", "sentence2", "label"]),
    "multiple_choice": ({"type": "multiple_choice", "max_seq_length": 32}, T.featurize_mc, ["context", "endings", "label"]),
    "span_qa": ({"type": "span_qa", "max_seq_length": 48, "doc_stride": 16}, T.featurize_qa,
                ["context", "question", "answer_text", "answer_start"]),
    "tagging": (POS, T.featurize_tagging, ["tokens", "tags"]),
}


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_empty_split_or_missing_columns_name_the_file(tmp_path, tok, kind):
    spec, featurize, columns = SPECS[kind]
    empty = _frame(tmp_path, [], f"{kind}_empty.parquet", columns=columns)
    with pytest.raises(T.DataError, match=rf"{kind}_empty\.parquet: no rows"):
        featurize(empty, tok, spec)
    with pytest.raises(T.DataError, match=rf"{kind}_empty\.parquet: no rows"):
        T.resolve_spec(spec, empty)  # the training path (finetune.with_labels) checks before any model is loaded
    other = _frame(tmp_path, [{"text": "x"}], f"{kind}_cols.parquet")
    with pytest.raises(T.DataError, match=rf"{kind}_cols\.parquet: missing column\(s\) \['{columns[0]}'"):
        featurize(other, tok, spec)


def test_qa_answers_not_found_in_the_context_stop_the_job(tmp_path, tok):
    df = _frame(tmp_path, [{"context": "the dog", "question": "who ?", "answer_text": "cat", "answer_start": 0}], "squad_train.parquet")
    with pytest.raises(T.DataError, match=r"squad_train\.parquet: no answer_text is found"):
        T.featurize_qa(df, tok, SPECS["span_qa"][0])


# ---------------------------------------------------------------- task metadata in the config

def _demo_config() -> dict:
    return yaml.safe_load((ROOT / "config/demo.yaml").read_text())


@pytest.mark.parametrize("mutate, key, words", [
    (lambda c: c["targets"]["xquad"].update(qa_metric="mlqa"), "targets.xquad.languages", "no normalisation for 'xa'"),
    (lambda c: c["targets"]["xquad"].update(qa_metric="tydi"), "targets.xquad.qa_metric", "is not one of"),
    (lambda c: c["targets"]["udpos"].update(labels=[]), "targets.udpos.labels", "fixed label set"),
    (lambda c: c["targets"]["udpos"].update(metric="bleu"), "targets.udpos.metric", "is not one of"),
])
def test_task_metadata_errors_name_the_key(mutate, key, words):
    cfg = _demo_config()
    mutate(cfg)
    with pytest.raises(ConfigError, match=rf"config key '{key}'.*{words}"):
        load_and_check(cfg, SCHEMA)


def test_task_metadata_defaults_follow_xtreme():
    spec = load_and_check(_demo_config(), SCHEMA)["targets"]["xquad"]
    assert (spec["qa_metric"], spec["max_query_length"], spec["labels_file"], spec["metric"]) == ("squad", 64, "", None)
    cfg = _demo_config()
    cfg["targets"]["udpos"].update(labels=[], labels_file="tags.txt", metric="accuracy")  # a CCG-like tag-file task
    load_and_check(cfg, SCHEMA)


def test_metric_must_be_one_the_type_reports():
    assert T.main_metric({"type": "span_qa"}) == "f1"
    assert T.main_metric({"type": "tagging", "metric": "accuracy"}) == "accuracy"
    with pytest.raises(ValueError, match="config key 'metric'.*not 'exact_match'"):
        T.main_metric({"type": "tagging", "metric": "exact_match"})
