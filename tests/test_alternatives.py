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


def _alt_hits(base_row, qa_row, alt, alt_row, langs=("xa", "xb")):
    import numpy as np

    hits = {}
    for lang in langs:
        hits[("base", lang)] = np.array(base_row * 5, bool)
        hits[("qa", lang)] = np.array(qa_row * 5, bool)
        hits[(alt, lang)] = np.array(alt_row * 5, bool)
    return hits


LOSS = ([1, 1, 1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0])  # base 4/8, qa 1/8: English training loses alignment
NO_LOSS = ([1, 1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0])  # qa 5/8: no loss


@pytest.fixture(scope="module")
def mlm_table():
    from xstilts.findings import alternatives_deltas

    scores = pd.DataFrame([{"target": "xnli", "condition": c, "language": l, "metric": "accuracy", "score": s}
                           for l in ("xa", "xb") for c, s in (("qa", 0.5), ("qa+mlm", 0.6))]
                          + [{"target": "xnli", "condition": c, "language": "en", "metric": "accuracy", "score": s}
                             for c, s in (("qa", 0.5), ("qa+mlm", 0.9))])
    return alternatives_deltas(_alt_hits(*LOSS, "qa+mlm", [1, 1, 1, 0, 0, 0, 0, 0]), scores, n_boot=100, seed=0)


def test_alternatives_deltas_states_the_mlm_delta_against_english(mlm_table):
    row = mlm_table[mlm_table["measure"] == "tatoeba.retrieval_en2xx"].iloc[0]
    assert (row["delta"], row["english_vs_base"], row["alternative_vs_base"]) == pytest.approx((0.25, -0.375, -0.125))


def test_the_target_mean_leaves_out_the_pivot(mlm_table):
    """en's +0.4 would lift the mean of xa, xb (+0.1 each) to +0.2."""
    assert mlm_table[mlm_table["measure"] == "xnli"]["delta"].iloc[0] == pytest.approx(0.1)


def test_the_section_speaks_of_higher_alignment_and_a_smaller_loss_when_english_lost(mlm_table):
    from xstilts.findings import alternatives_markdown

    text = alternatives_markdown(mlm_table, None, "composite")
    assert "alignment higher than with qa" in text
    assert "an alignment loss (its CI lies below zero), which qa+mlm makes smaller" in text


def test_the_section_names_no_loss_when_english_training_lost_none():
    from xstilts.findings import alternatives_deltas, alternatives_markdown

    t = alternatives_deltas(_alt_hits(*NO_LOSS, "qa+mlm", [1, 1, 1, 1, 1, 1, 1, 0]), pd.DataFrame(
        columns=["target", "condition", "language", "metric", "score"]), n_boot=100, seed=0)
    text = alternatives_markdown(t, None, "composite")
    assert "no alignment loss of English training is established" in text


def test_the_section_prints_the_english_ci_against_the_base_model(mlm_table):
    from xstilts.findings import alternatives_markdown

    r = mlm_table.iloc[0]
    assert (f"qa against the base model: {100 * r.english_vs_base:+.1f} points (95% CI "
            f"{100 * r.english_vs_base_ci_low:+.1f} to {100 * r.english_vs_base_ci_high:+.1f})"
            in alternatives_markdown(mlm_table, None, "composite"))


def test_the_section_says_mlm_adds_optimizer_steps(mlm_table):
    from xstilts.findings import alternatives_markdown

    text = alternatives_markdown(mlm_table, None, "composite", mlm={"rule": "share", "share": 0.5})
    assert ("qa+mlm trains through the multi-task trainer (plain qa through the single-task one) with MLM as a second "
            "member: each epoch holds the T task batches of qa plus max(1, round(0.5/(1−0.5)·T)) MLM batches") in text


def test_the_section_names_the_target_metric(mlm_table):
    from xstilts.findings import alternatives_markdown

    assert "(xnli: accuracy)" in alternatives_markdown(mlm_table, None, "composite")


@pytest.fixture(scope="module")
def translated_table():
    from xstilts.findings import alternatives_deltas

    rows = [{"target": "xnli", "condition": "qa", "language": l, "metric": "accuracy", "score": 0.5}
            for l in ("en", "xa", "xb", "xc")]
    rows += [{"target": "xnli", "condition": "qa+translated", "language": l, "metric": "accuracy", "score": s}
             for l, s in (("en", 0.5), ("xa", 0.9), ("xb", 0.8), ("xc", 0.52))]
    return alternatives_deltas(_alt_hits(*LOSS, "qa+translated", [1, 1, 0, 0, 0, 0, 0, 0], langs=("xa", "xb", "xc")),
                               pd.DataFrame(rows), n_boot=100, seed=0, translated={"qa+translated": ["xa", "xb"]})


def test_translated_languages_are_reported_as_translate_train(translated_table):
    r = translated_table[(translated_table["measure"] == "xnli") & (translated_table["languages"] == "translate-train")]
    assert (r["delta"].iloc[0], r["n_languages"].iloc[0]) == (pytest.approx(0.35), 2)


def test_only_languages_without_translated_data_are_zero_shot(translated_table):
    r = translated_table[(translated_table["measure"] == "xnli") & (translated_table["languages"] == "zero-shot")]
    assert (r["delta"].iloc[0], r["n_languages"].iloc[0]) == (pytest.approx(0.02), 1)


def test_a_translated_condition_without_its_language_list_is_an_error():
    from xstilts.findings import alternatives_deltas

    with pytest.raises(ValueError, match="no list of translated-training languages for 'qa\\+translated'"):
        alternatives_deltas(_alt_hits(*LOSS, "qa+translated", [1, 1, 0, 0, 0, 0, 0, 0]), pd.DataFrame(
            columns=["target", "condition", "language", "metric", "score"]), n_boot=10, seed=0)


def test_the_findings_plan_gives_the_job_the_translated_languages_pivot_and_mlm_rule(demo):
    f = demo.findings
    assert (f["translated"], f["pivot"], f["mlm"]) == ({"nli+translated": ["xb", "xe", "xg"]}, "en",
                                                       {"rule": "share", "share": 0.5})


def _slopes(outcome: str) -> pd.DataFrame:
    return pd.DataFrame([{"outcome": outcome, "condition_type": "+MLM", "term": term, "predictor": "composite",
                          "estimate": est, "ci_low": est - 0.01, "ci_high": est + 0.01, "conditions": "qa qa+mlm",
                          "controls": "none"} for term, est in (("slope_english", 0.02), ("slope_change", 0.05))])


def test_the_slope_sentence_shows_a_cka_change_unscaled_and_without_points(mlm_table):
    from xstilts.findings import alternatives_markdown

    text = alternatives_markdown(mlm_table, _slopes("cka"), "composite")
    assert "Morphology slope of Δ linear CKA (per SD of the morphology composite (PC1);" in text
    assert "+MLM changes it by +0.050 (95% CI +0.040 to +0.060)" in text


def test_the_slope_sentence_shows_a_retrieval_change_in_points(mlm_table):
    from xstilts.findings import alternatives_markdown

    text = alternatives_markdown(mlm_table, _slopes("flores.retrieval_en2xx"), "composite")
    assert "Morphology slope of Δ FLORES+ retrieval accuracy en→xx (points per SD" in text
    assert "+MLM changes it by +5.0 points (95% CI +4.0 to +6.0)" in text


def test_the_translated_slope_is_said_to_be_confounded_with_who_got_translations():
    from xstilts.findings import alternatives_markdown

    t = pd.DataFrame([{"condition": "nli+translated", "type": "+translated", "versus": "nli", "measure": "x",
                       "metric": "accuracy", "languages": "zero-shot", "n_languages": 2, "delta": 0.0, "ci_low": -0.1,
                       "ci_high": 0.1, "ci_over": "languages"}])
    s = _slopes("retrieval_en2xx").assign(condition_type="+translated")
    text = alternatives_markdown(t, s, "composite", translated={"nli+translated": ["xb", "xe"]}, n_languages=8)
    assert ("which languages received it (xb, xe: 2 of the 8 study languages) is not independent of their traits -- with "
            "`translated.languages: low_resource` it is the low-resource set -- so the slope change is confounded") in text


# ---------------------------------------------------------------- the target-score table


def _score_file(path, **over):
    import json

    rec = {"target": "xnli", "condition": "qa", "language": "xa", "metric": "accuracy", "score": 0.5, **over}
    path.write_text(json.dumps(rec).replace('"__nan__"', "NaN"))
    return str(path)


def test_a_score_file_without_a_key_names_the_file_and_key(tmp_path):
    from xstilts.findings import collect_target_scores

    p = tmp_path / "s.json"
    p.write_text('{"target": "xnli", "condition": "qa", "language": "xa", "metric": "accuracy"}')
    with pytest.raises(KeyError, match=re.escape(f"{p}: a zero-shot score file must hold") + ".*lacks \\['score'\\]"):
        collect_target_scores([str(p)], str(tmp_path / "out.csv"))


def test_a_nan_score_file_is_an_error_naming_the_file_and_language(tmp_path):
    from xstilts.findings import collect_target_scores

    p = _score_file(tmp_path / "s.json", score="__nan__")
    with pytest.raises(ValueError, match=re.escape(f"{p}: target 'xnli', condition 'qa', language 'xa'")):
        collect_target_scores([p], str(tmp_path / "out.csv"))


def test_the_score_table_reads_back_scores_as_floats_and_codes_as_written(tmp_path):
    from xstilts.findings import collect_target_scores, read_target_scores

    out = str(tmp_path / "out.csv")
    collect_target_scores([_score_file(tmp_path / "s.json", language="NA", score=0.25)], out)
    df = read_target_scores(out)
    assert (df["language"].iloc[0], df["score"].dtype, df["score"].iloc[0]) == ("NA", float, 0.25)


def test_an_empty_score_cell_is_an_error_naming_target_and_language(tmp_path):
    from xstilts.findings import read_target_scores

    p = tmp_path / "t.csv"
    p.write_text("target,condition,language,metric,score\nxnli,qa,xa,accuracy,\n")
    with pytest.raises(ValueError, match=re.escape("1 score(s) are not finite numbers: xnli/qa/xa ('')")):
        read_target_scores(str(p))


def test_cost_counts_the_alternatives_training_and_their_extra_conditions():
    from xstilts.cost import estimate

    lines = estimate(plan_of(load("config.yaml")))
    items = {(line.stage, line.item) for line in lines}
    assert ("translated", "mnli+translated (14 MT langs)") in items
    assert ("mlm", "squad+mlm: MLM 90 langs") in items
    assert ("targets", "xnli × 17") in items
