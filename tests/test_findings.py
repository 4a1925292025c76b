from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xstilts.findings import (
    delta_table,
    direction_by_dial,
    main_layer_hits,
    opening_paragraph,
)
from xstilts.io import atomic_write_parquet
from xstilts.retrieval import hits_table, tatoeba_scores


def _pairs(n, d, noise, seed):
    rng = np.random.default_rng(seed)
    en = rng.normal(size=(n, d))
    return en + noise * rng.normal(size=(n, d)), en


def _hits_file(path, condition, lang, layers_noise, seed):
    pairs = [_pairs(40, 8, noise, seed + i) for i, noise in enumerate(layers_noise)]
    arrays = {"src": np.stack([p[0] for p in pairs]), "en": np.stack([p[1] for p in pairs])}
    df, _ = hits_table(arrays, list(range(len(pairs))), lang, condition, str(path), use_gpu=False)
    atomic_write_parquet(df, path)
    return arrays


def test_hits_mean_is_the_reported_accuracy(tmp_path):
    arrays = _hits_file(tmp_path / "h.parquet", "base", "xa", [1.2], 0)
    hits = main_layer_hits([str(tmp_path / "h.parquet")], 0)[("base", "xa")]
    assert hits.dtype == bool
    assert hits.shape == (40,)
    assert hits.mean() == pytest.approx(tatoeba_scores(arrays["src"][0], arrays["en"][0], use_gpu=False)["acc_en2xx"])
    assert 0 < hits.mean() < 1


def test_main_layer_hits_pick_the_layer_and_need_no_file_order(tmp_path):
    _hits_file(tmp_path / "a.parquet", "base", "xa", [5.0, 0.01], 1)  # layer 0: mostly misses; layer 1: all hits
    _hits_file(tmp_path / "b.parquet", "nli", "xa", [5.0, 5.0], 3)
    one = main_layer_hits([str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")], 1)
    other = main_layer_hits([str(tmp_path / "b.parquet"), str(tmp_path / "a.parquet")], 1)
    assert one.keys() == other.keys() == {("base", "xa"), ("nli", "xa")}
    assert one[("base", "xa")].all()
    assert main_layer_hits([str(tmp_path / "a.parquet")], 0)[("base", "xa")].mean() < 0.5
    with pytest.raises(ValueError, match="not the main layer 5"):
        main_layer_hits([str(tmp_path / "a.parquet")], 5)
    with pytest.raises(ValueError, match="two hits tables for condition 'base', language 'xa'"):
        main_layer_hits([str(tmp_path / "a.parquet"), str(tmp_path / "a.parquet")], 1)


def _hits(p_base, p_cond, n=400, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random(n) < p_base, rng.random(n) < p_cond


def test_delta_ci_detects_a_real_change_and_not_noise():
    hits = {}
    for i, lang in enumerate(["xa", "xb", "xc", "xd"]):
        b, c = _hits(0.4, 0.6, seed=i)
        hits[("base", lang)], hits[("up", lang)] = b, c
        hits[("same", lang)] = b.copy()
    t = delta_table(hits, n_boot=500, seed=0)
    up = t[(t.condition == "up") & (t.language == "mean")].iloc[0]
    assert up.delta == pytest.approx(np.mean([hits[("up", l)].mean() - hits[("base", l)].mean() for l in ["xa", "xb", "xc", "xd"]]))
    assert up.ci_low > 0
    assert up.excludes_zero
    same = t[(t.condition == "same") & (t.language == "mean")].iloc[0]
    assert same.delta == 0
    assert not same.excludes_zero
    assert set(t.language) == {"xa", "xb", "xc", "xd", "mean"}


def test_delta_rejects_mismatched_sentences():
    with pytest.raises(ValueError, match="same sentences"):
        delta_table({("base", "xa"): np.ones(5, bool), ("ft", "xa"): np.ones(4, bool)}, n_boot=10)
    with pytest.raises(ValueError, match="lacks"):
        delta_table({("base", "xa"): np.ones(5, bool), ("base", "xb"): np.ones(5, bool), ("ft", "xa"): np.ones(5, bool)})


def test_direction_follows_the_dial_when_the_world_says_so():
    dial = pd.Series({"xa": 0, "xb": 1, "xc": 4, "xd": 6})
    hits = {}
    for i, (lang, s) in enumerate(dial.items()):
        b, c = _hits(0.5, 0.5 - 0.06 * s, seed=10 + i)  # more synthesis -> larger loss
        hits[("base", lang)], hits[("ft", lang)] = b, c
    d = direction_by_dial(hits, dial, n_boot=500).iloc[0]
    assert d.difference < 0
    assert d.ci_high < 0
    assert d.spearman_rho < 0
    with pytest.raises(ValueError, match="no value"):
        direction_by_dial(hits, dial.drop("xd"))


def test_opening_paragraph_reports_what_was_measured():
    deltas = pd.DataFrame([
        {"condition": "nli", "language": "mean", "delta": 0.12, "ci_low": 0.08, "ci_high": 0.16, "excludes_zero": True},
        {"condition": "mc", "language": "mean", "delta": 0.01, "ci_low": -0.02, "ci_high": 0.03, "excludes_zero": False},
    ])
    direction = pd.DataFrame([{"condition": "nli", "delta_more_synthetic": 0.10, "delta_less_synthetic": 0.15, "difference": -0.05,
                               "ci_low": -0.09, "ci_high": -0.01, "excludes_zero": True},
                              {"condition": "mc", "delta_more_synthetic": -0.02, "delta_less_synthetic": -0.06, "difference": 0.04,
                               "ci_low": 0.01, "ci_high": 0.07, "excludes_zero": True},
                              {"condition": "qa", "delta_more_synthetic": 0.01, "delta_less_synthetic": -0.02, "difference": 0.03,
                               "ci_low": 0.01, "ci_high": 0.05, "excludes_zero": True}])
    text = opening_paragraph(study="demo", synthetic=True, layer=2, n_layers=4, base_acc=0.41, chance=0.005, deltas=deltas,
                             direction=direction, dial_name="true synthesis", bucc_f1=0.52, n_languages=8)
    assert "41.0%" in text
    assert "82× chance" in text
    assert "layer 2 of 4" in text
    assert "nli: +12.0 points (95% CI +8.0 to +16.0)" in text
    assert "mc +1.0 points" in text
    # the sign kept straight: a smaller gain, and a smaller loss (a positive difference of two negative changes)
    assert "under nli the more synthetic languages gained less than the less synthetic ones (+10.0 vs +15.0 points, difference -5.0" in text
    assert "under mc the more synthetic languages lost less than the less synthetic ones (-2.0 vs -6.0 points, difference +4.0" in text
    assert "under qa the more synthetic languages gained where the less synthetic ones lost (+1.0 vs -2.0 points" in text
    from xstilts.findings import _compared

    assert _compared(-0.02, -0.02) == "changed as much as the less synthetic ones"
    assert _compared(0.0, -0.02) == "did not change where the less synthetic ones lost"
    assert _compared(-0.03, -0.01) == "lost more than the less synthetic ones"
    assert "test F1 52.0 points" in text
    none = opening_paragraph(study="demo", synthetic=True, layer=2, n_layers=None, base_acc=0.41, chance=0.005,
                             deltas=deltas.assign(excludes_zero=False), direction=None, dial_name="x", bucc_f1=None, n_languages=8)
    assert "No condition changed" in none
    assert "BUCC" not in none


def _base_alignment(tmp_path, lang):
    """The base model's layer table of one language (retrieval en→xx at layers 0 and 1)."""
    a = tmp_path / f"align-{lang}.parquet"
    pd.DataFrame({"language": lang, "condition": "base", "layer": [0, 1], "measure": "retrieval_en2xx",
                  "value": [0.2, 0.3]}).to_parquet(a)
    return str(a)


def _languages_and_outputs(tmp_path, langs):
    """The language table (dial true_synthesis) and the findings job's output paths."""
    languages = tmp_path / "languages.csv"
    pd.DataFrame({"iso639_1": langs, "true_synthesis": [0, 2, 5]}).to_csv(languages, index=False)
    out = {k: str(tmp_path / "out" / f"{k}.{ext}") for k, ext in
           (("delta", "csv"), ("direction", "csv"), ("opening", "md"), ("delta_figure", "png"), ("layer_figure", "png"))}
    return languages, out


def test_findings_job_writes_tables_figures_and_paragraph(tmp_path):
    from xstilts.findings import findings_job

    rng = np.random.default_rng(3)
    langs = ["xa", "xb", "xc"]
    hits, base_alignment = [], []
    for lang in langs:
        en = rng.normal(size=(50, 8))
        for cond, noise in (("base", 1.5), ("nli", 0.3)):  # nli aligns better than base in every language
            p = tmp_path / f"{cond}-{lang}.hits.parquet"
            src = np.stack([en + noise * rng.normal(size=en.shape)] * 2)
            df, _ = hits_table({"src": src, "en": np.stack([en, en])}, [0, 1], lang, cond, str(p), use_gpu=False)
            atomic_write_parquet(df, p)
            hits.append(str(p))
        base_alignment.append(_base_alignment(tmp_path, lang))
    languages, out = _languages_and_outputs(tmp_path, langs)
    text = findings_job(hits=hits, layer=1, base_alignment=base_alignment, bucc_scores=[],
                        languages=str(languages), morphology=str(tmp_path / "unused.csv"), dial="true_synthesis",
                        primary="composite", study="demo", synthetic=True, n_boot=200, seed=0, out=out)
    d = pd.read_csv(out["delta"])
    mean = d[d.language == "mean"].iloc[0]
    assert mean.delta > 0
    assert mean.ci_low > 0
    assert "nli: +" in text
    assert "layer 1 of 1" in text
    opening = Path(out["opening"]).read_text()
    assert opening.startswith(text)
    assert "| nli |" in opening
    for f in ("delta_figure.png", "layer_figure.png"):
        assert (tmp_path / "out" / f).stat().st_size > 0, f
    with pytest.raises(ValueError, match=r"condition 'nli' lacks Tatoeba hits for \['xc'\]"):
        findings_job(hits=hits[:-1], layer=1, base_alignment=base_alignment, bucc_scores=[],
                     languages=str(languages), morphology="", dial="true_synthesis", primary="composite", study="demo",
                     synthetic=True, n_boot=10, seed=0, out=out)


def test_report_figures_put_zero_in_the_middle(monkeypatch, tmp_path):
    from xstilts import report

    figs = []
    monkeypatch.setattr(report, "_savefig", lambda fig, path: figs.append(fig))
    cells = pd.DataFrame({"condition": ["nli"] * 3 + ["qa"] * 3, "language": ["xa", "xb", "xc"] * 2,
                          "composite": [0.0, 1.0, 2.0] * 2, "delta": [0.01, 0.02, 0.05, -0.01, 0.0, 0.01]})
    report.scatter_by_condition(cells, "composite", str(tmp_path / "s.png"))
    lo, hi = figs[-1].axes[0].get_ylim()
    assert lo == pytest.approx(-hi)
    assert hi >= 5.0  # points: the largest |Δ| is 0.05 = 5 points
    layers = pd.DataFrame({"condition": ["nli", "nli", "qa", "qa"], "layer": [0, 1, 0, 1], "delta": [0.03, -0.01, 0.0, 0.01]})
    report.layer_heatmap(layers, str(tmp_path / "h.png"))
    clim = figs[-1].axes[0].images[0].get_clim()
    assert clim[0] == pytest.approx(-clim[1])
    assert clim[1] == pytest.approx(3.0)  # points


# ---------------------------------------------------------------- the morphology sentence says no more than the analysis

def _direction(rows):
    return pd.DataFrame([{"condition": c, "delta_more_synthetic": m, "delta_less_synthetic": l, "difference": m - l,
                          "ci_low": lo, "ci_high": hi, "excludes_zero": lo > 0 or hi < 0, "n_languages": 8, "n_more_synthetic": 4}
                         for c, m, l, lo, hi in rows])


def _pooled(estimate, ci_low, ci_high, p=0.4, sd=2.0, p_holm=np.nan, perm_p=0.5):
    common = {"outcome": "retrieval_en2xx", "subset": "all", "predictor": "composite", "controls": "log_gib + base_alignment",
              "predictor_sd": sd, "n": 8, "status": "ok"}
    return pd.DataFrame([
        {**common, "model": "spearman_unadjusted", "estimate": 0.9, "ci_low": 0.5, "ci_high": 1.0, "p": 0.001},
        {**common, "model": "ols_hc3", "estimate": estimate, "ci_low": ci_low, "ci_high": ci_high, "p": p, "p_holm": p_holm},
        {**common, "model": "freedman_lane", "estimate": estimate, "p": perm_p, "p_holm": perm_p},
        {**common, "predictor": "ttr", "model": "ols_hc3", "estimate": -1.0, "ci_low": -2.0, "ci_high": -0.5, "p": 0.01},
    ])


FOUR = [("mt", -0.02, -0.06, 0.01, 0.07), ("nli", 0.10, 0.15, -0.09, -0.01), ("qa", 0.01, -0.02, 0.01, 0.05),
        ("pos", 0.03, 0.025, -0.02, 0.03)]


def test_morphology_sentence_names_every_condition():
    from xstilts.findings import controlled_estimate, morphology_sentence

    text = morphology_sentence(_direction(FOUR), "the true dial", controlled_estimate(_pooled(0.01, -0.02, 0.03), "composite"))
    for cond in ("mt", "nli", "qa", "pos"):
        assert f"under {cond} " in text, cond


def test_a_condition_whose_split_covers_zero_is_said_to_be_indistinguishable():
    from xstilts.findings import morphology_sentence

    text = morphology_sentence(_direction(FOUR), "the true dial", None)
    assert "under pos the difference (more − less synthetic) is +0.5 points (95% CI -2.0 to +3.0), not distinguishable from zero" in text


def test_controlled_estimate_covering_zero_is_not_distinguishable_from_zero():
    from xstilts.findings import controlled_estimate, morphology_sentence

    c = controlled_estimate(_pooled(0.01, -0.02, 0.03, p=0.43), "composite")
    text = morphology_sentence(_direction(FOUR), "the true dial", c)
    # slope per unit × SD 2 × 100 points: +2.0 points per SD, CI -4.0 to +6.0
    assert ("estimates +2.0 points of Δ per SD, 95% CI -4.0 to +6.0, p = 0.43 (Freedman–Lane permutation p = 0.50): "
            "not distinguishable from zero") in text


def test_controlled_estimate_names_its_controls_model_and_sample_size():
    from xstilts.findings import controlled_estimate, morphology_sentence

    text = morphology_sentence(None, "x", controlled_estimate(_pooled(0.01, -0.02, 0.03), "composite"))
    assert ("The regression on the morphology composite (PC1), controlled for log pretraining data (GiB), base-model "
            "alignment (OLS, HC3 errors; Δ Tatoeba retrieval accuracy en→xx averaged over conditions per language; "
            "n = 8 languages), estimates") in text


def test_a_descriptive_split_is_flagged_as_description_when_the_controlled_estimate_covers_zero():
    from xstilts.findings import controlled_estimate, morphology_sentence

    text = morphology_sentence(_direction(FOUR), "the true dial", controlled_estimate(_pooled(0.01, -0.02, 0.03), "composite"))
    assert "so the split above is description, not evidence of a morphology effect" in text


def test_controlled_estimate_excluding_zero_states_its_sign():
    from xstilts.findings import controlled_estimate, morphology_sentence

    neg = morphology_sentence(None, "x", controlled_estimate(_pooled(-0.02, -0.03, -0.01, p=0.002), "composite"))
    assert "estimates -4.0 points of Δ per SD, 95% CI -6.0 to -2.0, p = 0.002" in neg
    assert "negative, a higher morphology composite (PC1) goes with a smaller Δ" in neg
    assert "not distinguishable" not in neg
    pos = morphology_sentence(None, "x", controlled_estimate(_pooled(0.02, 0.01, 0.03), "composite"))
    assert "positive, a higher morphology composite (PC1) goes with a larger Δ" in pos


def test_controlled_estimate_uses_the_holm_p_where_the_table_has_it():
    from xstilts.findings import controlled_estimate, morphology_sentence

    text = morphology_sentence(None, "x", controlled_estimate(_pooled(0.01, -0.02, 0.03, p=0.2, p_holm=0.6), "composite"))
    assert "Holm-adjusted p = 0.60" in text


def test_a_controlled_estimate_that_could_not_be_computed_says_so():
    from xstilts.findings import controlled_estimate, morphology_sentence

    pooled = _pooled(np.nan, np.nan, np.nan).assign(status="too few languages (3) for 4 parameters")
    text = morphology_sentence(None, "x", controlled_estimate(pooled, "composite"))
    assert "gave no estimate: too few languages (3) for 4 parameters." in text
    described = morphology_sentence(_direction(FOUR), "x", controlled_estimate(pooled, "composite"))
    assert "gave no estimate: too few languages (3) for 4 parameters; the split above is therefore description only." in described
    assert controlled_estimate(pooled, "mattr") is None


def test_opening_paragraph_states_the_controlled_estimate_and_every_condition():
    from xstilts.findings import controlled_estimate

    deltas = pd.DataFrame([{"condition": c, "language": "mean", "delta": 0.0, "ci_low": -0.01, "ci_high": 0.01, "excludes_zero": False}
                           for c in ("mt", "nli", "qa", "pos")])
    text = opening_paragraph(study="demo", synthetic=True, layer=2, n_layers=4, base_acc=0.4, chance=0.01, deltas=deltas,
                             direction=_direction(FOUR), dial_name="the true dial", bucc_f1=None, n_languages=8,
                             controlled=controlled_estimate(_pooled(0.01, -0.02, 0.03), "composite"))
    assert "No condition changed the mean alignment by more than its sentence-level noise: mt +0.0 points" in text
    assert all(f"{c} +0.0 points (95% CI -1.0 to +1.0)" in text for c in ("mt", "nli", "qa", "pos"))
    assert "not distinguishable from zero, so the split above is description" in text


def test_findings_figures_have_no_text_below_8_points(monkeypatch, tmp_path):
    from xstilts import findings, plots

    figs = []
    monkeypatch.setattr(findings, "_savefig", lambda fig, path: figs.append(fig))
    deltas = pd.DataFrame([{"condition": c, "language": l, "delta": 0.01 * i, "ci_low": -0.02, "ci_high": 0.03, "excludes_zero": False}
                           for i, (c, l) in enumerate([(c, l) for c in ("nli", "qa") for l in ("xa", "xb", "mean")])])
    findings.delta_figure(deltas, str(tmp_path / "d.png"))
    layers = pd.DataFrame({"language": ["xa", "xa", "xb", "xb"], "layer": [0, 1, 0, 1], "value": [0.1, 0.3, 0.2, 0.4]})
    findings.layer_figure(layers, 0.02, 1, str(tmp_path / "l.png"))
    for fig in figs:
        assert plots.small_texts(fig) == []


def _job_inputs(tmp_path, conditions):
    """Hits files (every condition × 3 languages, each from its own fixed seed) and the base model's layer table."""
    langs = ["xa", "xb", "xc"]
    hits, base_alignment = [], []
    noise = {"base": 1.5, "nli": 0.6, "qa": 1.0, "nli+mlm": 0.3, "qa+translated": 0.8}
    for i, lang in enumerate(langs):
        en = np.random.default_rng(100 + i).normal(size=(50, 8))
        for cond in conditions:
            rng = np.random.default_rng([i, sorted(noise).index(cond)])
            p = tmp_path / f"{cond}-{lang}.hits.parquet"
            src = np.stack([en + noise[cond] * rng.normal(size=en.shape)] * 2)
            df, _ = hits_table({"src": src, "en": np.stack([en, en])}, [0, 1], lang, cond, str(p), use_gpu=False)
            atomic_write_parquet(df, p)
            hits.append(str(p))
        base_alignment.append(_base_alignment(tmp_path, lang))
    languages, out = _languages_and_outputs(tmp_path, langs)
    return dict(hits=hits, layer=1, base_alignment=base_alignment, bucc_scores=[], languages=str(languages),
                morphology=str(tmp_path / "unused.csv"), dial="true_synthesis", primary="composite", study="demo",
                synthetic=True, n_boot=200, seed=0, out=out)


@pytest.fixture(scope="module")
def with_and_without_alternatives(tmp_path_factory):
    from xstilts.findings import findings_job

    runs = {}
    for name, conds in (("plain", ["base", "nli", "qa"]), ("alt", ["base", "nli", "nli+mlm", "qa", "qa+translated"])):
        kw = _job_inputs(tmp_path_factory.mktemp(name), conds)
        text = findings_job(**kw)
        runs[name] = (text, pd.read_csv(kw["out"]["delta"]), pd.read_csv(kw["out"]["direction"]))
    return runs


def test_the_alternatives_leave_the_english_delta_rows_unchanged(with_and_without_alternatives):
    plain, alt = with_and_without_alternatives["plain"], with_and_without_alternatives["alt"]
    pd.testing.assert_frame_equal(alt[1], plain[1])


def test_the_alternatives_leave_the_direction_by_morphology_unchanged(with_and_without_alternatives):
    plain, alt = with_and_without_alternatives["plain"], with_and_without_alternatives["alt"]
    pd.testing.assert_frame_equal(alt[2], plain[2])


def test_the_alternatives_leave_the_opening_paragraph_unchanged(with_and_without_alternatives):
    plain, alt = with_and_without_alternatives["plain"], with_and_without_alternatives["alt"]
    assert alt[0] == plain[0]


def test_findings_job_splits_a_translated_target_by_the_languages_it_receives(tmp_path):
    from xstilts.findings import findings_job

    kw = _job_inputs(tmp_path, ["base", "nli", "nli+mlm", "qa", "qa+translated"])
    scores = tmp_path / "scores.csv"
    pd.DataFrame([{"target": "xnli", "condition": c, "language": l, "metric": "accuracy", "score": 0.5}
                  for c in ("nli", "nli+mlm", "qa", "qa+translated") for l in ("en", "xa", "xb", "xc")]).to_csv(scores, index=False)
    kw["out"]["alternatives"] = str(tmp_path / "out" / "alternatives.csv")
    findings_job(**kw, target_scores=str(scores), translated={"qa+translated": ["xa"]}, pivot="en",
                 mlm={"rule": "share", "share": 0.5})
    t = pd.read_csv(kw["out"]["alternatives"], keep_default_na=False)
    got = t[(t["condition"] == "qa+translated") & (t["measure"] == "xnli")][["languages", "n_languages"]]
    assert got.values.tolist() == [["translate-train", 1], ["zero-shot", 2]]
