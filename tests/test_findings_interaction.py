"""The summary's morphology × resource-size paragraph (xstilts.findings.interaction_sentence) and its table in the
report (xstilts.report.interaction_view)."""

import numpy as np
import pandas as pd
import pytest

from xstilts import findings as F
from xstilts import report as R


def _row(outcome="retrieval_en2xx", role="primary", model="interaction_hc3", term="morphology_x_log_gib", est=0.004,
         lo=-0.002, hi=0.010, p=0.2, p_holm=0.4, n=36, df=29, languages="all", at=np.nan, status="ok"):
    return {"outcome": outcome, "role": role, "model": model, "languages": languages, "term": term, "at_gib": at,
            "estimate": est, "ci_low": lo, "ci_high": hi, "p": p, "p_holm": p_holm, "n": n, "df_resid": df,
            "min_detectable_r": np.nan, "centre_gib": 12.0, "predictor": "composite", "predictor_sd": 1.0,
            "controls": "log_gib + fertility", "status": status}


def _table(**kw):
    same = {k: kw[k] for k in ("n", "df") if k in kw}  # one model: one n for its three terms
    return pd.DataFrame([_row(term="morphology", at=12.0, **same), _row(**kw),
                         _row(term="morphology_at_low", at=1.0, est=-0.01, lo=-0.03, hi=-0.001, p=0.03, p_holm=0.06, **same)])


def _sample(n_in=36):
    rows = [{"outcome": "retrieval_en2xx", "language": f"a{i}", "analysed": True, "reason": np.nan} for i in range(n_in)]
    rows += [{"outcome": "retrieval_en2xx", "language": l, "analysed": False, "reason": r}
             for l, r in (("zh", "no morphology value (composite)"), ("ja", "no morphology value (composite)"),
                          ("br", "no resource size (CC-100 GiB)"))]
    return pd.DataFrame(rows)


def test_an_interaction_whose_ci_covers_zero_is_not_distinguishable_from_zero():
    text = F.interaction_sentence(_table(), _sample())
    assert "the interaction is +0.4 points of Δ per SD per e-fold (×2.7) of CC-100 text (95% CI -0.2 to +1.0, Holm-adjusted p = 0.40): not distinguishable from zero" in text


def test_an_interaction_whose_ci_excludes_zero_states_its_direction():
    text = F.interaction_sentence(_table(est=-0.004, lo=-0.007, hi=-0.001, p=0.01, p_holm=0.02), _sample())
    assert "the morphology slope falls with the amount of pretraining text" in text


def test_the_slope_at_the_stated_low_size_is_given():
    text = F.interaction_sentence(_table(), _sample())
    assert "At 1 GiB the morphology slope is -1.0 points per SD (95% CI -3.0 to -0.1, Holm-adjusted p = 0.06)." in text


@pytest.mark.parametrize(("n", "r"), [(36, "0.45"), (89, "0.29")])
def test_the_power_line_gives_the_detectable_r_for_the_n_analysed(n, r):
    text = F.interaction_sentence(_table(n=n), _sample(n))
    assert f"with the n = {n} languages analysed, the smallest correlation detectable at 80% power (two-sided α = 0.05, Fisher z) is |r| ≈ {r}" in text


def test_the_languages_that_fell_out_are_counted_and_named_by_reason():
    text = F.interaction_sentence(_table(), _sample())
    assert ("3 of 39 study languages fell out of the analysis of Tatoeba retrieval accuracy en→xx: no morphology value (composite): ja, zh; "
            "no resource size (CC-100 GiB): br.") in text


def test_a_tiny_sample_says_it_cannot_answer():
    text = F.interaction_sentence(_table(n=8, df=3), _sample(8))
    assert "With n = 8 languages and 3 residual degrees of freedom" in text


def test_a_study_sized_sample_does_not_get_the_tiny_sample_caveat():
    assert "residual degrees of freedom" not in F.interaction_sentence(_table(n=89, df=82), _sample(89))


def test_the_other_outcomes_are_reported_with_their_holm_p():
    t = pd.concat([_table(), pd.DataFrame([_row(outcome="flores.cka", role="secondary", est=0.002, lo=0.001, hi=0.003,
                                                p=0.001, p_holm=0.002)])], ignore_index=True)
    text = F.interaction_sentence(t, _sample())
    assert "linear CKA, FLORES+ (n = 36): +0.002 (95% CI +0.001 to +0.003, Holm-adjusted p = 0.002)" in text


def test_an_unestimable_model_says_why():
    t = pd.DataFrame([_row(est=np.nan, lo=np.nan, hi=np.nan, p=np.nan, p_holm=np.nan, n=5, status="too few languages (5) for 7 parameters")])
    assert "gave no estimate: too few languages (5) for 7 parameters" in F.interaction_sentence(t, None)


def test_an_unestimable_model_does_not_claim_that_it_ran():
    t = pd.DataFrame([_row(est=np.nan, lo=np.nan, hi=np.nan, p=np.nan, p_holm=np.nan, n=4, df=0, status="too few languages (4) for 4 parameters")])
    assert "runs end to end" not in F.interaction_sentence(t, None)


def test_the_report_table_shows_points_per_sd_and_the_size_of_each_slope():
    v = R.interaction_view(_table()).set_index("term")
    assert v.loc["morphology slope at 1 GiB", "95% CI"] == "-3.0 to -0.1"


def test_languages_outside_the_study_are_not_counted_as_fallen_out():
    from xstilts.interaction import NOT_STUDIED

    sample = pd.concat([_sample(), pd.DataFrame([{"outcome": "retrieval_en2xx", "language": "qq", "analysed": False,
                                                  "reason": NOT_STUDIED}])], ignore_index=True)
    text = F.interaction_sentence(_table(), sample)
    assert ("3 of 39 study languages fell out of the analysis of Tatoeba retrieval accuracy en→xx (besides 1 language with "
            "values of the outcome that is not a study language):") in text
