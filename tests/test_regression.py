import numpy as np
import pandas as pd
import pytest

from simulate import language_level, simulate
from xstilts import regression as G

BETA = 0.02


@pytest.mark.slow
def test_ci_coverage_of_planted_slope():
    """≥ 200 simulated studies: the HC3 95% CI and the cluster-bootstrap 95% CI cover the planted slope ≥ 90%."""
    n_sim = 200
    hc3, boot = [], []
    for s in range(n_sim):
        cells = simulate(s, BETA)
        r = G.ols_hc3(language_level(cells), "composite", "delta", ["log_gib"])
        hc3.append(r["ci_low"] <= BETA <= r["ci_high"])
        b = G.cluster_bootstrap(cells, "composite", "delta", ["log_gib"], n_boot=200, seed=s)
        boot.append(b["ci_low"] <= BETA <= b["ci_high"])
    cov_hc3, cov_boot = np.mean(hc3), np.mean(boot)
    print(f"coverage over {n_sim} simulations: HC3 {cov_hc3:.3f}, cluster bootstrap {cov_boot:.3f}")
    assert cov_hc3 >= 0.90
    assert cov_boot >= 0.90


@pytest.mark.slow
def test_permutation_test_size_under_null_with_confounder():
    """β = 0 but morphology correlates with a size effect: Freedman–Lane rejects at 5% ± 2%."""
    n_sim = 1000
    rej = [G.freedman_lane(language_level(simulate(10_000 + s, 0.0)), "composite", "delta", ["log_gib"], n_perm=499, seed=s)["p"] < 0.05
           for s in range(n_sim)]
    rate = float(np.mean(rej))
    print(f"Freedman-Lane rejection rate under the null: {rate:.3f} over {n_sim} simulations")
    assert 0.03 <= rate <= 0.07
    # without the control the confounder makes a naive test reject far too often: the control matters
    naive = np.mean([G.spearman(language_level(simulate(10_000 + s, 0.0)), "composite", "delta", 10, s)["p"] < 0.05 for s in range(200)])
    assert naive > 0.2


def test_permutation_detects_planted_effect():
    cells = simulate(7, 0.04)
    r = G.freedman_lane(language_level(cells), "composite", "delta", ["log_gib"], n_perm=999, seed=0)
    assert r["p"] < 0.01
    assert r["estimate"] == pytest.approx(0.04, abs=0.02)


def test_mixed_model_recovers_slope_and_components():
    cells = simulate(3, BETA)
    r = G.mixed_model(cells, "composite", "delta", ["log_gib"])
    assert r["status"] in ("ok", "not converged")
    assert r["ci_low"] <= BETA <= r["ci_high"]
    assert set(r["variance_components"]) == {"language", "family", "task"}


def test_min_detectable_effect_matches_reference():
    assert G.min_detectable_r(36) == pytest.approx(0.45, abs=0.01)
    assert G.min_detectable_r(21) == pytest.approx(0.58, abs=0.01)


def test_holm_bh_and_ladder_shapes():
    cells = simulate(11, BETA)
    cells["ttr"] = cells["composite"] + 0.1
    cells["noise"] = np.random.default_rng(0).standard_normal(len(cells))
    cells["low_resource"] = cells["log_gib"] < 2.0
    res = G.run_analysis(cells, ["composite", "ttr", "noise"], "composite", ["log_gib"], {"n_boot": 50, "n_perm": 99, "mixed_all_predictors": False}, 0,
                         set(cells.loc[cells.low_resource, "language"]))
    pooled = res["pooled"]
    fl = pooled[(pooled.model == "freedman_lane") & (pooled.predictor != "composite")]
    assert (fl["p_holm"] >= fl["p"] - 1e-12).all()
    assert (fl["p_bh"] >= fl["p"] - 1e-12).all()
    assert set(res["per_condition"]["condition"]) == set(cells["condition"])
    assert set(pooled["model"]) >= {"spearman_unadjusted", "partial_spearman", "ols_hc3", "freedman_lane", "cluster_boot", "mixed"}
    assert (pooled.loc[pooled.model == "spearman_unadjusted", "controls"] == "none").all()
    assert (pooled.loc[pooled.model == "partial_spearman", "controls"] == "log_gib").all()
    assert (res["low_resource"]["subset"] == "low_resource").all()
    diag = res["diagnostics"].set_index(["diagnostic", "variable"])["value"]
    assert diag[("n_languages", "composite")] == 36


def test_degenerate_inputs_are_reported_not_fatal():
    lang = pd.DataFrame({"composite": [1.0, 2.0, 3.0], "delta": [0.1, 0.2, 0.1], "log_gib": [1.0, 2.0, 1.5]})
    assert "too few" in G.ols_hc3(lang, "composite", "delta", ["log_gib"])["status"]
    assert np.isnan(G.spearman(lang, "composite", "delta", 10, 0)["estimate"])


def test_partial_spearman_equals_the_precision_matrix_formula():
    """Independent route: partial r of the ranks = −P_xy / √(P_xx P_yy), P = inverse rank-correlation matrix."""
    from scipy import stats

    rng = np.random.default_rng(5)
    d = pd.DataFrame({"m": rng.standard_normal(30), "g": rng.standard_normal(30), "s": rng.standard_normal(30)})
    d["delta"] = 0.5 * d["m"] + d["g"] + 0.3 * rng.standard_normal(30)
    r = G.partial_spearman(d, "m", "delta", ["g", "s"], n_boot=50, seed=0)
    ranks = np.column_stack([stats.rankdata(d[c]) for c in ("m", "delta", "g", "s")])
    P = np.linalg.inv(np.corrcoef(ranks, rowvar=False))
    want = -P[0, 1] / np.sqrt(P[0, 0] * P[1, 1])
    assert r["estimate"] == pytest.approx(want, abs=1e-10)
    t = want * np.sqrt((30 - 4) / (1 - want**2))
    assert r["p"] == pytest.approx(2 * stats.t.sf(abs(t), 26), rel=1e-8)
    assert r["ci_low"] <= r["estimate"] <= r["ci_high"]
    # without controls it is the plain Spearman
    assert G.partial_spearman(d, "m", "delta", [], 10, 0)["estimate"] == pytest.approx(G.spearman(d, "m", "delta", 10, 0)["estimate"])


def test_partial_spearman_holds_its_size_where_the_unadjusted_one_does_not():
    """β = 0 with a resource confounder: the unadjusted Spearman rejects far too often, the partial one does not."""
    sims = [language_level(simulate(20_000 + s, 0.0)) for s in range(300)]
    unadj = np.mean([G.spearman(d, "composite", "delta", 10, 0)["p"] < 0.05 for d in sims])
    part = np.mean([G.partial_spearman(d, "composite", "delta", ["log_gib"], 10, 0)["p"] < 0.05 for d in sims])
    print(f"rejection under the null: unadjusted {unadj:.3f}, partial {part:.3f}")
    assert unadj > 0.2
    assert part <= 0.09


def test_build_cells_leaves_out_non_finite_alignment_and_refuses_a_main_layer_that_is_not_stored():
    rows = []
    for lang in ("xa", "xb"):
        for cond in ("base", "nli"):
            for layer in (0, 1, 2):
                rows.append({"corpus": "tatoeba", "language": lang, "condition": cond, "layer": layer, "measure": "retrieval_en2xx",
                             "value": 0.5})
    align = pd.DataFrame(rows)
    meta = pd.DataFrame({"cc100_gib": [1.0, 2.0], "script": ["Latn", "Latn"], "family": ["F", "G"]}, index=["xa", "xb"])
    morph = pd.DataFrame({"composite": [0.1, 0.2]}, index=pd.Index(["xa", "xb"], name="language"))
    cells, _ = G.build_cells(align, morph, meta, "retrieval_en2xx", 2, "en", 1.5)
    assert len(cells) == 2
    with pytest.raises(ValueError, match=r"holds? hidden_states layers \[0, 1, 2\], not the main layer 5.*retrieval.layer"):
        G.build_cells(align, morph, meta, "retrieval_en2xx", 5, "en", 1.5)
    with pytest.raises(ValueError, match="regression.outcome"):
        G.build_cells(align, morph, meta, "cka", 0, "en", 1.5)
    align.loc[3, "value"] = np.nan
    fell: dict[str, str] = {}
    with pytest.warns(UserWarning, match="language xa: non-finite retrieval_en2xx"):
        cells, layers = G.build_cells(align, morph, meta, "retrieval_en2xx", 0, "en", 1.5, fell_out=fell)
    assert fell == {"xa": "non-finite retrieval_en2xx (condition nli, layer 0; 1 value)"}
    assert set(cells["language"]) == {"xb"}
    assert set(layers["language"]) == {"xb"}
    align["value"] = np.inf
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"'regression.outcome'.*every value"):
        G.build_cells(align, morph, meta, "retrieval_en2xx", 0, "en", 1.5)
