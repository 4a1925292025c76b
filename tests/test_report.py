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
    assert len(info) == 9
    assert info.set_index("task").loc["mlqa", "score"] == "(f1 + exact_match)/2"
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
    assert wide.loc["base", "xq"] == pytest.approx(50.0)
    assert wide.loc["base", "pos"] == pytest.approx(90.0)
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


# ---------------------------------------------------------------- figures legible at report size, one unit, human labels

def _capture(monkeypatch):
    figs = []
    monkeypatch.setattr(P, "_savefig", lambda fig, path: figs.append(fig))
    return figs


def _cells():
    langs = ["xa", "xb", "xc", "xd", "xe", "xf"]
    comp = [0.0, 0.05, 0.1, 1.0, 1.02, 2.0]  # three languages bunched together: their labels must not collide
    return pd.DataFrame([{"condition": c, "language": l, "composite": x, "delta": 0.01 * (i - 2) + 0.002 * j,
                          "low_resource": i % 2 == 0} for j, c in enumerate(("mt", "nli", "qa", "pos"))
                         for i, (l, x) in enumerate(zip(langs, comp))])


def test_report_figures_have_no_text_below_8_points(monkeypatch, tmp_path):
    from xstilts.plots import small_texts

    figs = _capture(monkeypatch)
    P.scatter_by_condition(_cells(), "composite", str(tmp_path / "s.png"))
    P.forest(_pooled_with_a_wide_interval(), str(tmp_path / "f.png"))
    P.layer_heatmap(pd.DataFrame({"condition": ["nli", "nli"], "layer": [0, 1], "delta": [0.01, -0.02]}), str(tmp_path / "h.png"))
    assert len(figs) == 3
    for fig in figs:
        assert small_texts(fig) == []


def _boxes(texts):
    return [t.get_window_extent() for t in texts]


def test_scatter_labels_every_marker_without_covering_markers_or_each_other(monkeypatch, tmp_path):
    figs = _capture(monkeypatch)
    P.scatter_by_condition(_cells(), "composite", str(tmp_path / "s.png"))
    fig = figs[-1]
    fig.canvas.draw()
    for ax in fig.axes[:4]:
        labels_ = [t for t in ax.texts if t.get_text() in {"xa", "xb", "xc", "xd", "xe", "xf"}]
        assert sorted(t.get_text() for t in labels_) == ["xa", "xb", "xc", "xd", "xe", "xf"]
        assert all(t.get_fontsize() >= 8 for t in labels_)
        boxes = _boxes(labels_)
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
        markers = np.concatenate([c.get_offsets() for c in ax.collections])
        px = ax.transData.transform(markers)
        assert not any(b.contains(x, y) for b in boxes for x, y in px)


def test_scatter_legend_is_outside_the_panels(monkeypatch, tmp_path):
    figs = _capture(monkeypatch)
    P.scatter_by_condition(_cells(), "composite", str(tmp_path / "s.png"))
    fig = figs[-1]
    fig.canvas.draw()
    (legend,) = fig.legends
    lb = legend.get_window_extent()
    assert all(not lb.overlaps(ax.get_window_extent()) for ax in fig.axes if ax.get_visible() and ax.axison)
    assert not lb.overlaps(fig._supxlabel.get_window_extent())
    assert not lb.overlaps(fig._supylabel.get_window_extent())
    assert all(t.get_fontsize() >= 8 for t in legend.get_texts())


def test_scatter_axes_are_in_points_with_human_labels(monkeypatch, tmp_path):
    figs = _capture(monkeypatch)
    P.scatter_by_condition(_cells(), "composite", str(tmp_path / "s.png"), outcome="retrieval_en2xx")
    fig = figs[-1]
    assert "Tatoeba retrieval accuracy en→xx" in fig.get_supylabel()
    assert "points" in fig.get_supylabel()
    assert fig.get_supxlabel() == "morphology composite (PC1)"
    assert fig.axes[0].get_ylim()[1] >= 100 * _cells()["delta"].abs().max()


def _pooled_with_a_wide_interval():
    rows = [("composite", "ols_hc3", 0.010, 0.000, 0.020), ("composite", "cluster_boot", 0.012, 0.002, 0.022),
            ("ttr", "ols_hc3", -0.005, -0.015, 0.005), ("ttr", "mixed", 0.000, -0.40, 0.40)]  # one interval 40× wider
    return pd.DataFrame([{"subset": "all", "predictor": p, "model": m, "estimate": e, "ci_low": lo, "ci_high": hi, "predictor_sd": 1.0}
                         for p, m, e, lo, hi in rows])


def test_forest_axis_is_robust_to_one_very_wide_interval_and_marks_it(monkeypatch, tmp_path):
    figs = _capture(monkeypatch)
    P.forest(_pooled_with_a_wide_interval(), str(tmp_path / "f.png"), outcome="retrieval_en2xx")
    ax = figs[-1].axes[0]
    lo, hi = ax.get_xlim()
    assert -5 < lo < -1.5
    assert 2.2 < hi < 5  # points: the inner intervals span -1.5 .. +2.2
    ends = sorted(t.get_text() for t in ax.texts if t.get_text())
    assert ends == ["+40.0", "-40.0"]  # the clipped interval's true ends, written at the edges
    arrows = [t for t in ax.texts if t.arrow_patch is not None]
    assert len(arrows) == 2
    assert "per SD" in ax.get_xlabel()
    assert "points" in ax.get_xlabel()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert "morphology composite (PC1) · OLS, HC3 errors" in ticks


def test_robust_limits_keep_every_estimate_and_zero():
    from xstilts.plots import robust_limits

    lo, hi = robust_limits([1.0, 2.0, 30.0], [0.0, 1.0, -500.0], [2.0, 3.0, 500.0])
    assert lo < 0
    assert hi > 30.0
    assert hi < 40
    lo, hi = robust_limits([], [], [])
    assert lo < 0 < hi


# ---------------------------------------------------------------- the tables and the summary as HTML

def test_regression_view_puts_slopes_in_points_per_sd_and_keeps_rho():
    pooled = pd.DataFrame([
        {"subset": "all", "predictor": "composite", "model": "ols_hc3", "controls": "log_gib + base_alignment", "estimate": 0.01,
         "ci_low": -0.02, "ci_high": 0.03, "p": 0.43, "p_holm": np.nan, "n": 8, "status": "ok", "predictor_sd": 2.0},
        {"subset": "all", "predictor": "ttr", "model": "spearman_unadjusted", "controls": "none", "estimate": 0.5,
         "ci_low": 0.1, "ci_high": 0.8, "p": 0.2, "p_holm": np.nan, "n": 8, "status": "ok", "predictor_sd": 0.1},
    ])
    v = P.regression_view(pooled, "retrieval_en2xx").set_index("model")
    ols = v.loc["OLS, HC3 errors"]
    assert (ols["estimate"], ols["95% CI"], ols["unit"]) == ("+2.0", "-4.0 to +6.0", "points per SD")
    assert ols["controls"] == "log pretraining data (GiB), base-model alignment"
    rho = v.loc["Spearman ρ, unadjusted"]
    assert (rho["estimate"], rho["unit"], rho["predictor"]) == ("+0.500", "ρ", "type–token ratio")


def test_regression_tables_split_by_unit_and_name_each_predictor_once():
    rows = [("composite", "spearman_unadjusted", 0.5), ("composite", "ols_hc3", 0.01), ("composite", "mixed", 0.02),
            ("ttr", "ols_hc3", -0.01)]
    pooled = pd.DataFrame([{"subset": "all", "predictor": p, "model": m, "controls": "log_gib", "estimate": e, "ci_low": np.nan,
                            "ci_high": np.nan, "p": 0.5, "p_holm": np.nan, "n": 8, "status": "ok", "predictor_sd": 1.0}
                           for p, m, e in rows])
    (rank_title, rank), (slope_title, slope) = P.regression_tables(pooled, "retrieval_en2xx")
    assert "ρ" in rank_title
    assert list(rank["ρ"]) == ["+0.500"]
    assert "points" in slope_title
    assert list(slope["slope (points)"]) == ["+1.0", "+2.0", "-1.0"]
    assert list(slope["predictor"]) == ["morphology composite (PC1)", "", "type–token ratio"]
    assert "| morphology composite (PC1) |" in P._md_table(slope)
    assert "|  | mixed model |" in P._md_table(slope)
    assert "95% CI" not in slope
    assert "unit" not in slope  # no interval anywhere: no column for it


def test_markdown_html_renders_tables_and_embeds_images(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    page = P.markdown_html("# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![fig](figures/a.png)\n", tmp_path, "T")
    assert "<table>" in page
    assert "<td>1</td>" in page
    assert 'src="data:image/png;base64,' in page
    assert "figures/a.png" not in page


def _write_json(path, d):
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(d))
    return str(path)


def test_report_job_writes_html_summary_and_tables_in_points(tmp_path):
    from xstilts.io import atomic_write_text

    langs, conds = ["xa", "xb", "xc", "xd"], ["base", "nli"]
    scores = [_write_json(tmp_path / f"s/{c}/{l}.json", {"target": "xnli", "condition": c, "language": l, "accuracy": 0.5 + 0.01 * i,
                                                          "score": 0.5 + 0.01 * i})
              for c in conds for i, l in enumerate(langs)]
    tat = [_write_json(tmp_path / f"t/{c}/{l}.json", {"condition": c, "language": l, "acc_en2xx": 0.4 + (0.1 if c == "nli" else 0),
                                                      "acc_xx2en": 0.3, "acc_mean": 0.35, "chance": 0.025, "n": 40})
           for c in conds for l in langs]
    cells = tmp_path / "cells.csv"
    pd.DataFrame({"condition": "nli", "language": langs, "composite": [0.0, 1.0, 2.0, 3.0], "delta": [0.1, 0.12, 0.08, 0.1],
                  "low_resource": [True, False, False, False]}).to_csv(cells, index=False)
    layers = tmp_path / "layers.csv"
    pd.DataFrame({"condition": "nli", "layer": [0, 1], "delta": [0.05, 0.1]}).to_csv(layers, index=False)
    pooled = tmp_path / "pooled.csv"
    pd.DataFrame([{"outcome": "retrieval_en2xx", "subset": "all", "predictor": "composite", "model": "ols_hc3", "controls": "log_gib",
                   "estimate": 0.01, "ci_low": -0.02, "ci_high": 0.03, "p": 0.43, "n": 4, "status": "ok", "predictor_sd": 1.0}]
                 ).to_csv(pooled, index=False)
    diag = tmp_path / "diag.csv"
    pd.DataFrame([{"diagnostic": "n_languages", "variable": "composite", "value": 4}]).to_csv(diag, index=False)
    inter = tmp_path / "interaction.csv"
    pd.DataFrame([{"outcome": "retrieval_en2xx", "role": "primary", "model": "interaction_hc3", "languages": "all",
                   "term": "morphology_x_log_gib", "estimate": 0.004, "ci_low": -0.002, "ci_high": 0.01, "p": 0.2, "p_holm": 0.2,
                   "n": 4, "min_detectable_r": 0.99, "predictor": "composite", "controls": "log_gib", "status": "ok"}]
                 ).to_csv(inter, index=False)
    morph = _write_json(tmp_path / "composite.json", {"measures": ["ttr"], "explained_variance": 0.8, "n_languages": 4})
    opening = tmp_path / "opening.md"
    atomic_write_text("This is the **unit** run.", opening)
    delta = tmp_path / "delta.csv"
    pd.DataFrame([{"condition": "nli", "language": l, "delta": 0.1, "ci_low": 0.05, "ci_high": 0.15} for l in [*langs, "mean"]]
                 ).to_csv(delta, index=False)
    figs = {k: tmp_path / "results" / "figures" / f"{k}.png" for k in ("delta", "layer")}
    for f in figs.values():
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    res = tmp_path / "results"
    out = {"summary": res / "summary.md", "summary_html": res / "summary.html", "target_scores": res / "tables/target_scores.csv",
           "target_summary": res / "tables/target_summary.csv", "tatoeba": res / "tables/tatoeba.csv", "bucc": res / "tables/bucc.csv",
           "scores_html": res / "tables/scores.html", "retrieval_html": res / "tables/retrieval.html",
           "regression_html": res / "tables/regression.html", "scatter": res / "figures/morphology_vs_delta.png",
           "forest": res / "figures/coefficients_forest.png", "heatmap": res / "figures/layer_delta_heatmap.png"}
    P.report_job(target_scores=scores, tatoeba=tat, bucc=[], cells=str(cells), layers=str(layers), pooled=str(pooled),
                 diagnostics=str(diag), morph_info=morph, opening=str(opening), findings_delta=str(delta),
                 delta_figure=str(figs["delta"]), layer_figure=str(figs["layer"]),
                 settings={"primary": "composite", "outcome": "retrieval_en2xx", "controls": ["log_gib"],
                           "target_types": {"xnli": "pair_classification"}, "study": "unit"},
                 out={k: str(v) for k, v in out.items()}, interaction=str(inter))
    summary = out["summary_html"].read_text()
    assert "This is the <strong>unit</strong> run." in summary
    assert summary.count("<table>") >= 4
    assert 'src="data:image/png;base64,' in summary
    retrieval = out["retrieval_html"].read_text()
    assert '<td style="text-align:right">+10.0 (+5.0, +15.0)</td>' in retrieval  # Δ in points with its CI, right-aligned
    assert ">50.0</td>" in retrieval
    assert ">2.5</td>" in retrieval  # nli accuracy and chance, in points
    regression = out["regression_html"].read_text()
    assert ">+1.0</td>" in regression
    assert "slope (points)" in regression
    assert "<td style=\"text-align:left\">OLS, HC3 errors</td>" in regression
    assert "<h2>Morphology × resource size (all languages, one model per outcome)</h2>" in regression
    assert ">-0.2 to +1.0</td>" in regression  # the interaction's CI, in points per SD
    assert "## Morphology × resource size" in out["summary"].read_text()
    assert ">51.5</td>" in out["scores_html"].read_text()  # xnli: the language average of 0.50 .. 0.53, in points
    assert pd.read_csv(out["tatoeba"])["acc_en2xx"].max() == pytest.approx(0.5)  # the CSV keeps proportions (the data)


def test_every_alignment_measure_has_a_human_label_and_one_unit():
    """Each measure the alignment stage writes is named in words; proportions are shown in points, the others as
    they are (xstilts.labels)."""
    from xstilts import alignment, labels

    assert set(alignment.MEASURES) <= set(labels.MEASURES)
    for m in alignment.MEASURES:
        assert labels.measure(m) != m, m
        assert labels.unit(m) == ("points" if m.startswith("retrieval_") else ""), m
    assert labels.signed(0.04, "retrieval_en2xx") == "+4.0"
    assert labels.signed(float("nan")) == "–"
    assert labels.p_value(0.0004) == "< 0.001"
    assert labels.controls("cc100_log + script_shared") != "cc100_log + script_shared"
