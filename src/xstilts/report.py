"""Tables, figures and the Markdown summary."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from xstilts.io import atomic_path, atomic_write_text, read_json

log = logging.getLogger(__name__)


def collect_json(paths: list[str], keep: list[str] | None = None) -> pd.DataFrame:
    rows = []
    for p in paths:
        d = read_json(p)
        rows.append({k: d.get(k) for k in keep} if keep else {k: v for k, v in d.items() if not isinstance(v, (dict, list))})
    return pd.DataFrame(rows)


# XTREME's per-task score (evaluate.py): each metric averaged over the task's languages, then the metrics below
# averaged -- chosen by the task's *type*, never its name.  QA = (F1 + EM)/2; tagging and BUCC = F1; classification
# and Tatoeba = accuracy.  The XTREME score is the unweighted mean of the task scores.
XTREME_TASK_METRICS: dict[str, tuple[str, ...]] = {
    "pair_classification": ("accuracy",),
    "multiple_choice": ("accuracy",),
    "tagging": ("f1",),
    "span_qa": ("f1", "exact_match"),
    "bitext_mining": ("f1",),  # BUCC: test F1 with the dev-tuned threshold
    "sentence_retrieval": ("accuracy",),  # Tatoeba: accuracy@1 en→xx
}
# the retrieval tasks are scored on the encoders directly; their result files map onto the metric names above
RETRIEVAL_TASKS = {"bucc": ("bitext_mining", {"test_f1": "f1"}), "tatoeba": ("sentence_retrieval", {"acc_en2xx": "accuracy"})}


def task_metric_rule(task_type: str) -> str:
    m = XTREME_TASK_METRICS[task_type]
    return m[0] if len(m) == 1 else f"({' + '.join(m)})/{len(m)}"


def task_score(per_language: pd.DataFrame, task_type: str) -> float:
    """One task's XTREME score from its per-language rows: mean over languages of each of the type's metrics, then
    the mean of those metrics.  A missing or non-finite metric is an error."""
    try:
        metrics = XTREME_TASK_METRICS[task_type]
    except KeyError:
        raise KeyError(f"no XTREME metric rule for task type {task_type!r}; known: {sorted(XTREME_TASK_METRICS)}") from None
    vals = []
    for m in metrics:
        if m not in per_language or per_language[m].isna().any():
            raise ValueError(f"task type {task_type!r} is scored on {metrics}, but metric {m!r} is missing for some language")
        vals.append(per_language[m].astype(float).mean())
    out = float(np.mean(vals))
    if not np.isfinite(out):
        raise ValueError(f"non-finite XTREME task score for type {task_type!r}")
    return out


def xtreme_scores(rows: pd.DataFrame, scale: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``rows``: one row per condition × task × language with columns ``condition, task, type`` and the metric
    columns.  Returns (per condition: one column per task + ``XTREME`` = mean of the task scores; and a description
    of each task: type, rule, languages).  ``scale`` = 100 gives XTREME's points."""
    scores, info = [], {}
    for (cond, task), d in rows.groupby(["condition", "task"], sort=False):
        types = d["type"].unique()
        if len(types) != 1:
            raise ValueError(f"task {task!r} has several types {list(types)}")
        scores.append({"condition": cond, "task": task, "score": scale * task_score(d, types[0])})
        info[task] = {"task": task, "type": types[0], "score": task_metric_rule(types[0]), "languages": int(d["language"].nunique())}
    wide = pd.DataFrame(scores).pivot(index="condition", columns="task", values="score")
    wide = wide[list(info)]
    wide["XTREME"] = wide.mean(axis=1, skipna=False)
    return wide, pd.DataFrame(info.values())


def xtreme_rows(targets: pd.DataFrame, target_types: dict[str, str], tatoeba: pd.DataFrame, bucc: pd.DataFrame) -> pd.DataFrame:
    """Assemble the per-language rows of every task: trained targets (their type from the config) and the two
    retrieval tasks (:data:`RETRIEVAL_TASKS`)."""
    t = targets.rename(columns={"target": "task"}).copy()
    t["type"] = t["task"].map(target_types)
    if t["type"].isna().any():
        raise ValueError(f"targets without a type: {sorted(t.loc[t['type'].isna(), 'task'].unique())}")
    parts = [t]
    for task, frame in (("tatoeba", tatoeba), ("bucc", bucc)):
        if len(frame):
            ttype, mapping = RETRIEVAL_TASKS[task]
            r = frame[["condition", "language", *mapping]].rename(columns=mapping)
            r["task"], r["type"] = task, ttype
            parts.append(r)
    return pd.concat(parts, ignore_index=True)


def xtreme_style_summary(scores: pd.DataFrame, target_types: dict[str, str]) -> pd.DataFrame:
    """Per target × condition: the language-averaged task score by the type's XTREME rule (QA: (EM + F1)/2)."""
    wide, _ = xtreme_scores(scores.rename(columns={"target": "task"}).assign(type=lambda d: d["task"].map(target_types)))
    return wide.drop(columns="XTREME")


def _savefig(fig, path: str) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)


def scatter_by_condition(cells: pd.DataFrame, predictor: str, path: str, outcome: str = "alignment") -> None:
    conds = sorted(cells["condition"].unique())
    n = len(conds)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False, sharex=True, sharey=True,
                             layout="constrained")  # constrained: the super-labels never overlap the tick labels
    for ax, cond in zip(axes.flat, conds):
        d = cells[cells["condition"] == cond].dropna(subset=[predictor, "delta"])
        low = d["low_resource"].astype(bool) if "low_resource" in d else np.zeros(len(d), bool)
        ax.scatter(d.loc[~low, predictor], d.loc[~low, "delta"], s=18, label="other")
        ax.scatter(d.loc[low, predictor], d.loc[low, "delta"], s=18, marker="^", label="low-resource")
        if len(d) >= 3 and np.ptp(d[predictor]) > 0:
            b, a = np.polyfit(d[predictor], d["delta"], 1)
            xs = np.linspace(d[predictor].min(), d[predictor].max(), 10)
            ax.plot(xs, a + b * xs, "k-", lw=1)
        for _, r in d.iterrows():
            ax.annotate(r["language"], (r[predictor], r["delta"]), fontsize=6, alpha=0.7)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(cond, fontsize=9)
    for ax in axes.flat[n:]:
        ax.axis("off")
    lim = float(np.nanmax(np.abs(cells["delta"]))) * 1.15 if cells["delta"].notna().any() else 0.0
    axes.flat[0].set_ylim(-(lim or 1.0), lim or 1.0)  # symmetric around 0 (shared y): the sign of Δ reads at a glance
    fig.supxlabel(f"morphology ({predictor}); line: unadjusted least-squares fit (no controls)")
    fig.supylabel(f"Δ {outcome} (condition − base)")
    axes.flat[0].legend(fontsize=6)
    _savefig(fig, path)


def forest(pooled: pd.DataFrame, path: str, outcome: str = "alignment") -> None:
    d = pooled[pooled["model"].isin(["ols_hc3", "cluster_boot", "mixed"])].dropna(subset=["estimate"]).reset_index(drop=True)
    sd = d["predictor_sd"].fillna(1.0) if "predictor_sd" in d else 1.0
    est, low, high = d["estimate"] * sd, d["ci_low"] * sd, d["ci_high"] * sd
    fig, ax = plt.subplots(figsize=(6, 0.3 * max(len(d), 3) + 1))
    y = np.arange(len(d))
    lo = (est - low).clip(lower=0).fillna(0)
    hi = (high - est).clip(lower=0).fillna(0)
    ax.errorbar(est, y, xerr=[lo, hi], fmt="o", ms=4, capsize=2)
    ax.set_yticks(y, [f"{r.predictor} · {r.model} · {r.subset}" for r in d.itertuples()], fontsize=7)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel(f"Δ {outcome} per SD of the predictor, adjusted for the controls (95% CI)")
    _savefig(fig, path)


def layer_heatmap(layer_delta: pd.DataFrame, path: str, outcome: str = "alignment") -> None:
    """Mean Δ (over languages) per condition × layer."""
    piv = layer_delta.groupby(["condition", "layer"])["delta"].mean().unstack("layer")
    fig, ax = plt.subplots(figsize=(max(0.5 * piv.shape[1] + 2.5, 4.5), 0.4 * piv.shape[0] + 1.5), layout="constrained")
    lim = np.nanmax(np.abs(piv.to_numpy())) or 1.0  # symmetric colour scale around 0
    im = ax.imshow(piv.to_numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(piv.shape[1]), piv.columns)
    ax.set_yticks(range(piv.shape[0]), piv.index)
    ax.set_xlabel("layer (hidden_states index)")
    fig.colorbar(im, ax=ax, label=f"mean Δ {outcome}\nover languages (unadjusted)")
    _savefig(fig, path)


def _md_table(df: pd.DataFrame, floatfmt: str = ".3g") -> str:
    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else format(v, floatfmt)
        return str(v)

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def summary_markdown(path: str, *, targets: pd.DataFrame, xtreme: pd.DataFrame, xtreme_tasks: pd.DataFrame, retrieval: pd.DataFrame,
                     morph_info: dict, pooled: pd.DataFrame, diagnostics: pd.DataFrame, bucc: pd.DataFrame, figures: dict[str, str],
                     config_name: str, outcome: str, controls: list[str], bucc_notes: list[str] | None = None,
                     opening: str = "") -> None:
    pool = pooled[pooled["model"].isin(["spearman_unadjusted", "partial_spearman", "ols_hc3", "freedman_lane", "cluster_boot", "mixed"])]
    cols = [c for c in ["subset", "predictor", "model", "controls", "estimate", "ci_low", "ci_high", "p", "p_holm", "n", "status"] if c in pool]
    n_tasks = len(xtreme_tasks)
    entered = "; ".join(f"{r.task} ({r.type}: {r.score}, {r.languages} language{'s' if r.languages != 1 else ''})" for r in xtreme_tasks.itertuples())
    parts = [
        f"# X-STILTs × morphology: summary ({config_name})",
        "",
        *([opening.strip(), ""] if opening.strip() else []),
        "## XTREME-style score per condition (points, 0–100)",
        (f"Mean of the {n_tasks} task scores this configuration has, each the language average of its type's metric "
        "(XTREME `evaluate.py`: QA = (F1 + EM)/2, tagging and BUCC = F1, classification and Tatoeba = accuracy). "
        f"Tasks that entered the score: {entered}. XTREME's own score averages 9 tasks (7 trained targets + BUCC + "
        f"Tatoeba){'' if n_tasks == 9 else f'; with {n_tasks} here, the value is not comparable to published XTREME scores'}. "
        "BUCC = test F1 with the dev-tuned threshold; Tatoeba = accuracy@1 en→xx."),
        "",
        _md_table(xtreme.reset_index()),
        "",
        "## Zero-shot target scores (language average; QA = (EM+F1)/2)",
        _md_table(targets.reset_index()),
        "",
        "## Tatoeba retrieval, headline en→xx (main layer; accuracy@1, English queries over the non-English side)",
        "xx→en is stored beside it in `tables/tatoeba.csv` (`acc_xx2en`).",
        "",
        _md_table(retrieval),
        "",
        "## BUCC mining (threshold tuned on dev, applied to test; oracle labelled)",
        _md_table(bucc) if len(bucc) else "(no BUCC languages configured)",
        *(["", "Warnings:", *[f"* {w}" for w in bucc_notes]] if bucc_notes else []),
        "",
        "## Morphology composite",
        f"PC1 of {', '.join(morph_info.get('measures', []))}; explained variance {morph_info.get('explained_variance', float('nan')):.3f} "
        f"on {morph_info.get('n_languages')} languages (corpus: {', '.join(morph_info.get('corpus', []))}). Spearman of the composite with "
        + "; ".join(f"{k.removeprefix('spearman_composite_')}: ρ = {v['rho']:.3f} (n = {v['n']}, p = {v['p']:.2g})"
                    for k, v in morph_info.items() if k.startswith("spearman_composite_")) + ".",
        f"WALS coverage: {morph_info.get('wals_coverage', {})}. Word measures excluded for: {morph_info.get('word_measures_excluded') or 'none'}.",
        f"Corpus measures on {morph_info.get('sample_size', '?')} word tokens per sample (policy: {', '.join(map(str, morph_info.get('sample_policy') or ['fixed']))}); "
        f"word measures for {morph_info.get('word_measures_computed', '?')} languages.",
        "",
        f"## Regression of Δ {outcome} on morphology (pooled over conditions)",
        (f"Outcome: Δ {outcome} = {outcome}(condition) − {outcome}(base) at the main layer (`regression.outcome`). "
        f"`spearman_unadjusted` takes no controls (a confounder such as resource size can make it reject under the null); "
        f"`partial_spearman`, `ols_hc3`, `freedman_lane`, `cluster_boot` and `mixed` adjust for: {', '.join(controls) or 'none'}."),
        "",
        _md_table(pool[cols]),
        "",
        "## Diagnostics",
        _md_table(diagnostics),
        "",
        "## Figures",
        *[f"![{k}]({v})" for k, v in figures.items()],
        "",
    ]
    atomic_write_text("\n".join(parts), path)


def report_job(*, target_scores: list[str], tatoeba: list[str], bucc: list[str], cells: str, layers: str, pooled: str,
               diagnostics: str, morph_info: str, opening: str, findings_delta: str, delta_figure: str, layer_figure: str,
               settings: dict, out: dict[str, str]) -> pd.DataFrame:
    """The tables, figures and ``summary.md`` from every score file and the regression/findings outputs
    (``findings_delta`` is the table the opening paragraph was written from: an input so the summary follows it).
    ``settings``: primary, outcome, controls, target_types, study. ``out`` keys: summary, target_scores,
    target_summary, tatoeba, bucc, scatter, forest, heatmap. Returns the XTREME-style score table."""
    types = dict(settings["target_types"])
    outcome = settings["outcome"]
    scores = collect_json(list(target_scores))
    atomic_write_text(scores.to_csv(index=False), out["target_scores"])
    summary = xtreme_style_summary(scores, types)
    atomic_write_text(summary.to_csv(), out["target_summary"])
    tat = collect_json(list(tatoeba))
    atomic_write_text(tat.to_csv(index=False), out["tatoeba"])
    bucc_df = collect_json(list(bucc)) if bucc else pd.DataFrame()
    atomic_write_text(bucc_df.to_csv(index=False), out["bucc"])
    xtreme, xtreme_tasks = xtreme_scores(xtreme_rows(scores, types, tat, bucc_df), scale=100.0)
    cells_df = pd.read_csv(cells)
    pooled_df = pd.read_csv(pooled)
    scatter_by_condition(cells_df, settings["primary"], out["scatter"], outcome)
    forest(pooled_df, out["forest"], outcome)
    layer_heatmap(pd.read_csv(layers), out["heatmap"], outcome)
    tat_view = tat.pivot_table(index="language", columns="condition", values="acc_en2xx")
    tat_view.insert(0, "chance", tat.groupby("language")["chance"].first())
    base = tat[tat["condition"] == "base"]
    ratio = base["acc_en2xx"].mean() / base["chance"].mean()
    log.info("base Tatoeba accuracy en→xx (mean over languages) = %.3f; chance = %.4f; ratio = %.1fx",
             base["acc_en2xx"].mean(), base["chance"].mean(), ratio)
    log.info("XTREME-style scores:\n%s", xtreme.to_string())
    bucc_cols = ["language", "condition", "test_f1", "dev_f1", "oracle_test_f1", "threshold_from_dev", "duplicates",
                 "fallback_rows", "backend"]
    bucc_view = bucc_df[[c for c in bucc_cols if c in bucc_df]] if len(bucc_df) else bucc_df
    notes = [w for p in bucc for w in read_json(p).get("warnings", [])]

    def rel(p):
        return str(Path(p).relative_to(Path(out["summary"]).parent))

    summary_markdown(out["summary"], targets=summary, xtreme=xtreme, xtreme_tasks=xtreme_tasks,
                     retrieval=tat_view.reset_index(), morph_info=read_json(morph_info), pooled=pooled_df,
                     diagnostics=pd.read_csv(diagnostics), bucc=bucc_view,
                     figures={"Δ alignment with CIs": rel(delta_figure), "base alignment by layer": rel(layer_figure),
                              "morphology vs Δ": rel(out["scatter"]), "coefficients": rel(out["forest"]),
                              "per-layer Δ": rel(out["heatmap"])},
                     config_name=settings["study"], outcome=outcome, controls=list(settings["controls"]), bucc_notes=notes,
                     opening=Path(opening).read_text())
    return xtreme
