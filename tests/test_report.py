"""The XTREME-style aggregate is computed by the task type's metric rule (XTREME evaluate.py), not by task names."""
import numpy as np
import pandas as pd
import pytest

from xstilts import report as P

# XLM-R Large per-task test results (Hu et al. 2020, XTREME; as collected in shared/reference/protocol.md §5):
# (task, type, metrics averaged over the task's languages)
XLMR_LARGE = [
    ("xnli", "pair_classification", {"accuracy": 79.2}),
    ("pawsx", "pair_classification", {"accuracy": 86.4}),
    ("udpos", "tagging", {"f1": 72.6}),
    ("panx", "tagging", {"f1": 65.4}),
    ("xquad", "span_qa", {"f1": 76.6, "exact_match": 60.8}),
    ("mlqa", "span_qa", {"f1": 71.6, "exact_match": 53.2}),
    ("tydiqa", "span_qa", {"f1": 65.1, "exact_match": 45.0}),
    ("bucc", "bitext_mining", {"f1": 66.0}),
    ("tatoeba", "sentence_retrieval", {"accuracy": 57.3}),
]


def rows(table, condition="xlmr"):
    return pd.DataFrame([{"condition": condition, "task": t, "type": ty, "language": "avg", **m} for t, ty, m in table])


def test_published_xlmr_large_numbers_give_the_published_aggregate():
    wide, info = P.xtreme_scores(rows(XLMR_LARGE))
    assert round(wide.loc["xlmr", "XTREME"], 1) == 68.1  # XTREME paper: XLM-R Large 68.1
    assert wide.loc["xlmr", "xquad"] == pytest.approx((76.6 + 60.8) / 2)
    assert len(info) == 9 and info.set_index("task").loc["mlqa", "score"] == "(f1 + exact_match)/2"
    # F1 alone for QA (the rule a name-blind "main metric" would give) does not reproduce it
    f1_only = np.mean([m.get("f1", m.get("accuracy")) for _, _, m in XLMR_LARGE])
    assert round(f1_only, 1) == 71.1


def test_the_rule_follows_the_type_not_the_name():
    renamed = [(f"task{i}", ty, m) for i, (_, ty, m) in enumerate(XLMR_LARGE)]
    assert P.xtreme_scores(rows(renamed))[0]["XTREME"].iloc[0] == pytest.approx(P.xtreme_scores(rows(XLMR_LARGE))[0]["XTREME"].iloc[0])
    # a QA task whose EM is missing cannot be scored
    broken = rows(XLMR_LARGE)
    broken.loc[broken.task == "xquad", "exact_match"] = np.nan
    with pytest.raises(ValueError, match="exact_match"):
        P.xtreme_scores(broken)
    with pytest.raises(KeyError, match="no XTREME metric rule"):
        P.task_score(pd.DataFrame({"f1": [1.0]}), "regression")


def test_language_average_then_metric_mean_per_condition():
    r = pd.DataFrame([
        {"condition": "base", "task": "xq", "type": "span_qa", "language": "en", "f1": 0.8, "exact_match": 0.6},
        {"condition": "base", "task": "xq", "type": "span_qa", "language": "xa", "f1": 0.4, "exact_match": 0.2},
        {"condition": "base", "task": "pos", "type": "tagging", "language": "en", "f1": 0.9, "accuracy": 0.95},
        {"condition": "nli", "task": "xq", "type": "span_qa", "language": "en", "f1": 0.9, "exact_match": 0.7},
        {"condition": "nli", "task": "xq", "type": "span_qa", "language": "xa", "f1": 0.5, "exact_match": 0.3},
        {"condition": "nli", "task": "pos", "type": "tagging", "language": "en", "f1": 0.8, "accuracy": 0.9},
    ])
    wide, _ = P.xtreme_scores(r, scale=100)
    assert wide.loc["base", "xq"] == pytest.approx(50.0) and wide.loc["base", "pos"] == pytest.approx(90.0)
    assert wide.loc["base", "XTREME"] == pytest.approx(70.0)
    assert wide.loc["nli", "XTREME"] == pytest.approx((60.0 + 80.0) / 2)


def test_rows_from_score_files_use_tatoeba_en2xx_and_bucc_test_f1():
    targets = pd.DataFrame([{"target": "xnli", "condition": "base", "language": "xa", "accuracy": 0.5, "score": 0.5}])
    tat = pd.DataFrame([{"condition": "base", "language": "xa", "acc_en2xx": 0.3, "acc_xx2en": 0.9, "acc_mean": 0.6}])
    bucc = pd.DataFrame([{"condition": "base", "language": "xa", "test_f1": 0.2, "oracle_test_f1": 0.9}])
    wide, info = P.xtreme_scores(P.xtreme_rows(targets, {"xnli": "pair_classification"}, tat, bucc))
    assert wide.loc["base", "tatoeba"] == pytest.approx(0.3)  # en→xx, not the mean of both directions
    assert wide.loc["base", "bucc"] == pytest.approx(0.2)  # dev-tuned test F1, not the oracle
    assert wide.loc["base", "XTREME"] == pytest.approx((0.5 + 0.3 + 0.2) / 3)
    assert list(info["task"]) == ["xnli", "tatoeba", "bucc"]
    with pytest.raises(ValueError, match="without a type"):
        P.xtreme_rows(targets, {}, tat, bucc)
