"""The morphology × resource-size model (xstilts.interaction): recovery of a planted interaction in study-shaped
data, its size under the null, the power line, the accounting of languages that fell out, and outcome names."""

import math

import numpy as np
import pandas as pd
import pytest

from simulate import simulate_study
from xstilts import interaction as I
from xstilts import regression as G
from xstilts.inference import adjust, min_detectable_r

CTRL = ["log_gib", "shares_script", "fertility", "base_alignment"]
PLANTED = 0.004  # Δ per unit of morphology per unit of ln GiB
N_SIM = 250


def _fit(cells: pd.DataFrame) -> dict:
    return I.interaction_fit(I.language_means(cells, "composite", CTRL), "composite", CTRL, at_gib=1.0)


def _term(fit: dict, term: str) -> dict:
    return next(r for r in fit["rows"] if r["term"] == term)


@pytest.fixture(scope="module")
def planted():
    """N_SIM studies of 90 languages × 3 conditions with the interaction planted; the model's m is per SD of the
    sampled morphology, so the planted value in model units is PLANTED × that SD."""
    cover, cover_low, reject = [], [], []
    for s in range(N_SIM):
        f = _fit(simulate_study(s, PLANTED))
        r = _term(f, "morphology_x_log_gib")
        truth = PLANTED * f["morph_sd"]
        cover.append(r["ci_low"] <= truth <= r["ci_high"])
        reject.append(r["p"] < 0.05)
        low = _term(f, "morphology_at_low")
        truth_low = (0.01 + PLANTED * (math.log(1.0) - math.log(10.0))) * f["morph_sd"]  # simulate_study centres at 10 GiB
        cover_low.append(low["ci_low"] <= truth_low <= low["ci_high"])
    print(f"planted interaction over {N_SIM} studies: CI coverage {np.mean(cover):.3f}, slope-at-1-GiB coverage "
          f"{np.mean(cover_low):.3f}, power {np.mean(reject):.3f}")
    return {"cover": np.mean(cover), "cover_low": np.mean(cover_low), "power": np.mean(reject)}


def test_the_interaction_ci_covers_the_planted_value(planted):
    """Measured (seeds 0..249): coverage 0.956 of the 95% HC3 CI (t reference)."""
    assert planted["cover"] >= 0.90


def test_the_slope_at_the_stated_low_size_covers_its_planted_value(planted):
    assert planted["cover_low"] >= 0.90


def test_the_planted_interaction_is_detected_more_often_than_chance(planted):
    """The CI is not covering by being huge: the planted effect is found far more often than the 5% of the null."""
    assert planted["power"] >= 0.5


def test_the_interaction_test_rejects_at_about_the_nominal_rate_under_the_null():
    """No interaction planted (a morphology main effect and confounded controls remain). Measured (seeds
    10000..10249): rejection rate 0.040 at α = 0.05."""
    rate = float(np.mean([_term(_fit(simulate_study(10_000 + s, 0.0)), "morphology_x_log_gib")["p"] < 0.05 for s in range(N_SIM)]))
    print(f"null rejection rate of the interaction over {N_SIM} studies: {rate:.3f}")
    assert 0.02 <= rate <= 0.09


@pytest.mark.parametrize(("n", "r"), [(36, 0.45), (89, 0.29), (21, 0.58)])
def test_power_line_values(n, r):
    assert min_detectable_r(n) == pytest.approx(r, abs=0.01)


def test_holm_skips_a_missing_p_and_adjusts_the_others():
    assert adjust([0.01, float("nan"), 0.04], "holm") == pytest.approx([0.02, float("nan"), 0.04], nan_ok=True)


def _align(langs, measures=("retrieval_en2xx", "cka"), corpus="tatoeba"):
    rows = []
    for i, lang in enumerate(langs):
        for cond in ("base", "nli", "mc"):
            for layer in (0, 1):
                for m in measures:
                    v = 0.3 + 0.05 * i + (0.02 * i if cond != "base" else 0.0) + (0.01 if cond == "mc" else 0.0)
                    rows.append({"language": lang, "condition": cond, "layer": layer, "corpus": corpus, "measure": m, "value": v})
    return pd.DataFrame(rows)


LANGS = [f"l{i}" for i in range(8)]


def _meta():
    gib = [0.2, 0.5, 1.0, 3.0, 10.0, 30.0, 100.0, np.nan]  # l7: no size
    return pd.DataFrame({"cc100_gib": gib, "script": ["Latn", "Cyrl"] * 4, "family": ["F", "G"] * 4}, index=LANGS)


def _morph():
    return pd.DataFrame({"composite": [0.1, -0.4, 0.9, np.nan, 0.3, -1.2, 0.5, 0.2],  # l3: no morphology
                         "fertility": [1.2, 1.5, 1.1, 1.4, 1.3, 1.6, 1.2, 1.3]},
                        index=pd.Index(LANGS, name="language"))


def _sample(align, universe, outcome="retrieval_en2xx"):
    fell: dict[str, str] = {}
    with pytest.warns(UserWarning) if not np.isfinite(align["value"]).all() else _nothing():
        cells, _ = G.build_cells(align, _morph(), _meta(), outcome, 1, "en", 10.0, fell_out=fell)
    return I.sample_table(outcome, universe, cells, "composite", ["log_gib", "fertility", "base_alignment"], fell).set_index("language")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_fell_out_accounting_names_each_language_and_its_reason():
    align = _align(LANGS[:7] + ["l7"])
    align.loc[(align["language"] == "l5") & (align["condition"] == "nli") & (align["layer"] == 0), "value"] = np.nan
    s = _sample(align[align["language"] != "l6"], [*LANGS, "zz"])
    assert s.loc["l3", "reason"] == "no morphology value (composite)"
    assert s.loc["l7", "reason"] == "no resource size (CC-100 GiB)"
    assert s.loc["l5", "reason"].startswith("non-finite retrieval_en2xx (condition nli, layer 0")
    assert s.loc["l6", "reason"].startswith("no Δ retrieval_en2xx at the main layer")
    assert s.loc["zz", "reason"].startswith("no Δ retrieval_en2xx")
    assert sorted(s.index[s["analysed"]]) == ["l0", "l1", "l2", "l4"]


def test_a_missing_outcome_is_an_error_naming_the_config_key_and_the_name():
    with pytest.raises(ValueError, match=r"'regression.outcomes'.*'flores.retrieval_en2xx'"):
        G.outcome_rows(_align(LANGS), "flores.retrieval_en2xx", "regression.outcomes")  # the tables hold Tatoeba only


def test_a_corpus_qualified_outcome_names_its_rows():
    align = pd.concat([_align(LANGS, corpus="tatoeba"), _align(LANGS, corpus="flores")], ignore_index=True)
    rows = G.outcome_rows(align, "flores.cka", "regression.outcomes")
    assert set(rows["corpus"]) == {"flores"}


def test_a_bare_measure_names_the_tatoeba_rows():
    align = pd.concat([_align(LANGS, corpus="tatoeba"), _align(LANGS, corpus="flores")], ignore_index=True)
    assert set(G.outcome_rows(align, "cka", "regression.outcome")["corpus"]) == {"tatoeba"}


@pytest.fixture(scope="module")
def table():
    per, langs = {}, {}
    for i, o in enumerate(("a", "b", "c")):
        c = simulate_study(100 + i, PLANTED)
        per[o] = c
        langs[o] = sorted(c["language"].unique())
    return I.interaction_table(per, "composite", CTRL, 1.0, 10.0, langs)


def test_holm_is_applied_across_outcomes_within_each_term(table):
    t = table
    inter = t[(t["model"] == "interaction_hc3") & (t["term"] == "morphology_x_log_gib")]
    from statsmodels.stats.multitest import multipletests

    assert np.allclose(inter["p_holm"], multipletests(inter["p"], method="holm")[1])


def test_the_holm_family_is_stated_in_the_table(table):
    t = table
    fam = t.loc[(t["model"] == "interaction_hc3") & (t["term"] == "morphology_x_log_gib"), "holm_family"].iloc[0]
    assert fam == "morphology_x_log_gib, interaction_hc3 (all), across 3 outcomes: a, b, c"


def test_the_first_outcome_is_the_primary_one(table):
    assert table.groupby("outcome")["role"].first().to_dict() == {"a": "primary", "b": "secondary", "c": "secondary"}


def test_every_model_reports_its_rows(table):
    assert set(table["model"]) == {"interaction_hc3", "interaction_cluster", "subset_hc3"}


def test_too_few_languages_is_a_status_not_a_crash():
    c = simulate_study(5, 0.0, n_lang=5)
    t = I.interaction_table({"a": c}, "composite", CTRL, 1.0, 10.0, {"a": sorted(c["language"].unique())})
    assert t["status"].iloc[0] == "too few languages (5) for 7 parameters"


def _job_inputs(tmp_path, n_lang=12):
    rng = np.random.default_rng(0)
    langs = [f"l{i:02d}" for i in range(n_lang)]
    paths = []
    for cond in ("base", "nli", "mc"):
        for lang in langs:
            rows = [{"language": lang, "condition": cond, "layer": layer, "corpus": "tatoeba", "measure": m,
                     "value": float(rng.uniform(0.2, 0.8))} for layer in (0, 1) for m in ("retrieval_en2xx", "cka")]
            p = tmp_path / f"align/{cond}/{lang}.parquet"
            p.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_parquet(p)
            paths.append(str(p))
    morph = tmp_path / "morph.csv"
    pd.DataFrame({"language": langs, "composite": [np.nan, *rng.standard_normal(n_lang - 1)],
                  "fertility": rng.uniform(1, 2, n_lang)}).to_csv(morph, index=False)
    meta = tmp_path / "languages.csv"
    pd.DataFrame({"iso639_1": [*langs, "en"], "cc100_gib": [*np.exp(rng.uniform(-2, 5, n_lang)), 300.0],
                  "script": "Latn", "family": "F"}).to_csv(meta, index=False)
    settings = {"outcome": "retrieval_en2xx", "outcomes": ["retrieval_en2xx", "cka"], "primary": "composite", "secondary": [],
                "controls": ["log_gib", "fertility", "base_alignment"], "low_resource_gib": 10.0, "interaction_at_gib": 1.0,
                "n_boot": 20, "n_perm": 20, "mixed_all_predictors": False}
    out = {k: str(tmp_path / f"out/{k}.csv") for k in G.TABLES}
    return {"alignment": paths, "morphology": str(morph), "languages": str(meta), "settings": settings, "layer": 1,
            "pivot": "en", "seed": 0, "out": out, "study_languages": [*langs, "xx"]}


def test_the_job_writes_the_interaction_table_for_every_outcome(tmp_path):
    kw = _job_inputs(tmp_path)
    G.regression_job(**kw)
    t = pd.read_csv(kw["out"]["interaction"])
    assert list(dict.fromkeys(t["outcome"])) == ["retrieval_en2xx", "cka"]


def test_the_job_accounts_for_every_study_language(tmp_path):
    kw = _job_inputs(tmp_path)
    G.regression_job(**kw)
    s = pd.read_csv(kw["out"]["sample"], keep_default_na=False)
    s = s[s["outcome"] == "cka"].set_index("language")["reason"].to_dict()
    assert {k: v for k, v in s.items() if v} == {"l00": "no morphology value (composite)",
                                                  "xx": "no cka values in the alignment tables"}


def test_the_job_names_the_config_key_of_a_missing_outcome(tmp_path):
    kw = _job_inputs(tmp_path)
    kw["settings"]["outcomes"] = ["retrieval_en2xx", "flores.retrieval_en2xx"]
    with pytest.raises(ValueError, match=r"config key 'regression.outcomes': no alignment values for 'flores.retrieval_en2xx'"):
        G.regression_job(**kw)


def test_the_clustered_model_is_not_shown_with_few_languages(tmp_path):
    kw = _job_inputs(tmp_path)
    G.regression_job(**kw)
    t = pd.read_csv(kw["out"]["interaction"])
    status = t.loc[t["model"] == "interaction_cluster", "status"].iloc[0]
    assert status == "not fitted: 11 language clusters, fewer than 30 (clustered errors unreliable)"


def test_a_language_with_values_outside_the_study_is_named_as_such():
    s = _sample(_align(LANGS[:7] + ["l7"]), ["l0", "l1", "l2", "l4"])
    assert s.loc["l5", "reason"] == I.NOT_STUDIED
