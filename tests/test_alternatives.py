"""The paper's two alternatives as conditions (issue 20): '<task>+mlm' and '<task>+translated' resolve in the study
plan (and so in every downstream stage), wildcard constraints match their names exactly, the demo world writes
pure monolingual MLM text and translated training tables with a language column."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from xstilts import contracts
from xstilts import synthetic as S
from xstilts.config import ConfigError
from xstilts.plan import LAYOUT, base_condition, condition_type, load_plan, wildcard_alternatives

ROOT = Path(__file__).resolve().parents[1]


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / "config" / name).read_text())


def plan_of(cfg: dict):
    return load_plan(copy.deepcopy(cfg))


@pytest.fixture(scope="module")
def demo():
    return plan_of(load("demo.yaml"))


def test_the_demo_has_one_mlm_and_one_translated_condition_after_the_english_ones(demo):
    assert demo.conditions == ("base", "nli", "mc", "qa", "multitask", "qa+mlm", "nli+translated")


def test_the_real_study_lists_the_paper_alternatives():
    plan = plan_of(load("config.yaml"))
    assert plan.mlm_conditions == ("multitask+mlm", "squad+mlm", "mnli+mlm", "hellaswag+mlm")


@pytest.mark.parametrize("condition, kind, base", [("qa", "English", "qa"), ("multitask", "English", "multitask"),
                                                    ("qa+mlm", "+MLM", "qa"), ("nli+translated", "+translated", "nli")])
def test_condition_type_and_base(condition, kind, base):
    assert (condition_type(condition), base_condition(condition)) == (kind, base)


def test_the_base_model_has_no_condition_type():
    assert condition_type("base") is None


def test_an_mlm_condition_trains_with_its_tasks_hyperparameters(demo):
    assert demo.hparams("intermediate_tasks", "qa+mlm") == demo.hparams("intermediate_tasks", "qa")


def test_multitask_mlm_trains_the_multitask_members_with_its_cap_and_hyperparameters():
    cfg = load("demo.yaml")
    cfg["mlm"]["conditions"] = ["multitask"]
    cfg["multitask"]["cap"] = 50
    plan = plan_of(cfg)
    assert (plan.mlm_members("multitask+mlm"), plan.mlm_cap("multitask+mlm")) == (("nli", "mc", "qa"), 50)
    assert plan.hparams("intermediate_tasks", "multitask+mlm") == plan.hparams("multitask")


def test_a_translated_condition_trains_on_its_own_table_and_validates_on_english(demo):
    assert demo.intermediate_split("nli+translated", "train") == "results/data/intermediate/nli+translated/train.parquet"
    assert demo.intermediate_split("nli+translated", "validation") == demo.intermediate_split("nli", "validation")
    assert demo.feature_spec("intermediate_tasks", "nli+translated") == demo.feature_spec("intermediate_tasks", "nli")


def test_low_resource_translation_languages_are_those_below_the_threshold(demo):
    # demo sizes: mono_sentences / 1000 GiB; low_resource_gib 1.2 -> xb (0.72), xe (0.6), xg (0.9)
    assert demo.translated_languages("nli+translated") == ("xb", "xe", "xg")


def test_mlm_text_languages_are_the_study_languages_and_the_pivot(demo):
    assert demo.mlm_languages == (*demo.study_languages, "en")
    assert demo.mlm_texts()["xc"] == LAYOUT.path("mlm_text", lang="xc")


def test_the_mlm_job_settings_are_the_mlm_schema_keys(demo):
    assert demo.mlm_settings == {"rule": "share", "share": 0.5, "cap_per_language": None, "probability": 0.4,
                                 "max_seq_length": 64}


@pytest.mark.parametrize("key, value, message", [
    ("conditions", ["nope"], "'mlm.conditions': 'nope' is not an intermediate task"),
    ("conditions", ["qa", "qa"], "'mlm.conditions': a task is listed twice"),
    ("languages", "everything", "'mlm.languages'"),
    ("languages", ["zz"], "'mlm.languages': unknown language 'zz'"),
])
def test_bad_mlm_settings_name_their_key(key, value, message):
    cfg = load("demo.yaml")
    cfg["mlm"][key] = value
    with pytest.raises(ConfigError, match=re.escape(message)):
        plan_of(cfg)


def test_a_translated_task_must_be_an_intermediate_task():
    cfg = load("demo.yaml")
    cfg["translated"]["tasks"]["nope"] = {}
    with pytest.raises(ConfigError, match=re.escape("'translated.tasks.nope': 'nope' is not an intermediate task")):
        plan_of(cfg)


# ---------------------------------------------------------------- wildcard constraints


def test_wildcard_alternatives_match_condition_names_with_plus_exactly():
    regex = wildcard_alternatives(["qa", "qa+mlm", "nli+translated"])
    assert re.fullmatch(regex, "qa+mlm")
    assert re.fullmatch(regex, "nli+translated")


def test_wildcard_alternatives_do_not_read_plus_as_a_quantifier():
    assert not re.fullmatch(wildcard_alternatives(["qa+mlm"]), "qaamlm")


def test_no_alternatives_match_nothing():
    assert not re.fullmatch(wildcard_alternatives([]), "")


# ---------------------------------------------------------------- the demo world's data


LANGS = [{"code": "p0", "name": "Iso", "bound": [], "mono_sentences": 200, "tlm_pairs": 20},
         {"code": "p3", "name": "Agg", "bound": ["number", "tense", "case"], "script": "Cyrl", "mono_sentences": 200,
          "tlm_pairs": 20}]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("alt")
    cfg = S.WorldConfig.from_dict(dict(
        seed=3, languages=LANGS, english_mono=100, parallel_sentences=50, tatoeba_pairs=10, target_test_size=5, dev_size=5,
        dictionary={"entries": 40, "per_row": 8},
        intermediate={"nli": {"type": "pair_classification", "train": 30}, "qa": {"type": "span_qa", "train": 20}},
        mlm={"languages": ["p0", "p3", "en"], "sentences": 50},
        translated={"nli+translated": {"type": "pair_classification", "languages": ["p0", "p3"], "train": 10},
                    "qa+translated": {"type": "span_qa", "languages": ["p3"], "train": 8}}))
    layout = LAYOUT.rooted(root)
    S.generate_world(cfg, layout)
    return layout


def test_mlm_text_has_the_configured_sentences_per_language(world):
    assert len(contracts.read("mono", world.path("mlm_text", lang="p3"))) == 50


def test_mlm_text_holds_no_translation_pairs_or_word_lists(world):
    """The pretraining text (data/mono) mixes TLM pairs and word lists ('xx </s> en'); the MLM text must not."""
    assert any("</s>" in t for t in contracts.read("mono", world.path("mono", lang="p3"))["text"])
    assert not any("</s>" in t for t in contracts.read("mono", world.path("mlm_text", lang="p3"))["text"])


def test_mlm_text_of_a_cyrillic_language_has_no_english_words(world):
    """Its only Latin-script words are the shared names (capitalised anchors), never English text."""
    text = " ".join(contracts.read("mono", world.path("mlm_text", lang="p3"))["text"])
    assert all(w[0].isupper() for w in re.findall(r"[A-Za-z]+", text))


def test_translated_table_holds_the_english_set_then_each_language(world):
    df = contracts.read("pair_classification", world.path("intermediate_split", task="nli+translated", split="train"))
    assert df["language"].value_counts().to_dict() == {"en": 30, "p0": 10, "p3": 10}


def test_translated_english_rows_are_the_english_training_set(world):
    df = contracts.read("pair_classification", world.path("intermediate_split", task="nli+translated", split="train"))
    english = contracts.read("pair_classification", world.path("intermediate_split", task="nli", split="train"))
    pd.testing.assert_frame_equal(df[df["language"] == "en"].drop(columns="language").reset_index(drop=True), english)


def test_translated_rows_share_the_english_labels(world):
    """The same frames rendered in another language: a translation keeps its label."""
    df = contracts.read("pair_classification", world.path("intermediate_split", task="nli+translated", split="train"))
    assert list(df[df["language"] == "p3"]["label"]) == list(df[df["language"] == "en"]["label"][:10])


def test_translated_qa_answers_match_their_context(world):
    df = contracts.read("span_qa", world.path("intermediate_split", task="qa+translated", split="train"))
    p3 = df[df["language"] == "p3"]
    assert all(c[s:s + len(a)] == a for c, s, a in zip(p3["context"], p3["answer_start"], p3["answer_text"]))


# ---------------------------------------------------------------- the regression's condition-type factor


def _cells(shift: float, slope_change: float) -> pd.DataFrame:
    """Δ per language: English qa = 0.02 * morph - 0.1 (+ a language's fixed noise); qa+mlm adds ``shift`` and
    ``slope_change`` * z (z = morph standardised)."""
    import numpy as np

    morph = np.array([-1.5, -1.0, -0.5, 0.0, 0.3, 0.8, 1.2, 1.7])
    noise = np.array([0.004, -0.003, 0.002, -0.001, 0.003, -0.004, 0.001, -0.002])
    z = (morph - morph.mean()) / morph.std(ddof=1)
    langs = [f"l{i}" for i in range(8)]
    eng = 0.02 * z - 0.1 + noise
    rows = [{"language": l, "condition": "qa", "delta": e, "composite": m} for l, e, m in zip(langs, eng, morph)]
    rows += [{"language": l, "condition": "qa+mlm", "delta": e + shift + slope_change * zz, "composite": m}
             for l, e, m, zz in zip(langs, eng, morph, z)]
    return pd.DataFrame(rows)


def test_alternatives_table_recovers_the_shift_and_a_changed_slope():
    from xstilts.regression import alternatives_table

    t = alternatives_table(_cells(0.05, 0.03), "composite", [], n_boot=200, seed=0).set_index("term")
    assert abs(t.loc["shift", "estimate"] - 0.05) < 1e-9
    assert abs(t.loc["slope_change", "estimate"] - 0.03) < 1e-9


def test_alternatives_table_ci_covers_zero_when_the_slope_is_unchanged():
    from xstilts.regression import alternatives_table

    t = alternatives_table(_cells(0.05, 0.0), "composite", [], n_boot=200, seed=0).set_index("term")
    assert t.loc["slope_change", "ci_low"] <= 0 <= t.loc["slope_change", "ci_high"]


def test_alternatives_section_states_the_mlm_delta_against_english():
    import numpy as np

    from xstilts.findings import alternatives_deltas, alternatives_markdown

    hits = {}
    for lang in ("xa", "xb"):
        hits[("base", lang)] = np.array([1, 1, 1, 1, 0, 0, 0, 0] * 5, bool)
        hits[("qa", lang)] = np.array([1, 0, 0, 0, 0, 0, 0, 0] * 5, bool)
        hits[("qa+mlm", lang)] = np.array([1, 1, 1, 0, 0, 0, 0, 0] * 5, bool)
    scores = pd.DataFrame([{"target": "xnli", "condition": c, "language": l, "score": s}
                           for l in ("xa", "xb") for c, s in (("qa", 0.5), ("qa+mlm", 0.6))])
    t = alternatives_deltas(hits, scores, n_boot=100, seed=0)
    row = t[t["measure"] == "tatoeba.retrieval_en2xx"].iloc[0]
    assert (row["delta"], row["english_vs_base"], row["alternative_vs_base"]) == pytest.approx((0.25, -0.375, -0.125))
    assert t[t["measure"] == "xnli"]["delta"].iloc[0] == pytest.approx(0.1)
    assert "the alignment loss shrinks" in alternatives_markdown(t, None, "composite")


def test_cost_counts_the_alternatives_training_and_their_extra_conditions():
    from xstilts.cost import estimate

    lines = estimate(plan_of(load("config.yaml")))
    items = {(line.stage, line.item) for line in lines}
    assert ("translated", "mnli+translated (14 MT langs)") in items
    assert ("mlm", "squad+mlm: MLM 90 langs") in items
    assert ("targets", "xnli × 17") in items
