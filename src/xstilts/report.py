"""Tables, figures and the Markdown summary."""

from __future__ import annotations

import base64
import html
import logging
import mimetypes
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from xstilts import labels, plots
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


def placeholder_figure(path: str, message: str) -> None:
    """A figure that is a declared output but has nothing to show: ``message`` (why) centred on an empty canvas."""
    fig, ax = plt.subplots(figsize=(6.0, 1.6), layout="constrained")
    ax.axis("off")
    ax.text(0.5, 0.5, textwrap.fill(message, 70), ha="center", va="center", fontsize=10, transform=ax.transAxes)
    _savefig(fig, path)


def scatter_by_condition(cells: pd.DataFrame, predictor: str, path: str, outcome: str = "retrieval_en2xx") -> None:
    """Δ ``outcome`` (display unit, :mod:`xstilts.labels`) against ``predictor`` per language, one panel per condition,
    language codes beside their markers (never on one), the legend outside the panels."""
    conds = sorted(cells["condition"].unique())
    n = len(conds)
    cols = min(n, 2 if n <= 4 else 3)
    rows = int(np.ceil(n / cols))
    k = labels.scale(outcome)
    # at most ~7 in wide (840 px at 120 dpi): the report shows it at its own size, not scaled down
    fig, axes = plt.subplots(rows, cols, figsize=(2.9 * cols + 1.2, 2.6 * rows + 1.3), squeeze=False, sharex=True, sharey=True,
                             layout="constrained")  # constrained: the super-labels never overlap the tick labels
    panels = []
    for ax, cond in zip(axes.flat, conds):
        d = cells[cells["condition"] == cond].dropna(subset=[predictor, "delta"])
        low = d["low_resource"].astype(bool).to_numpy() if "low_resource" in d else np.zeros(len(d), bool)
        x, y = d[predictor].to_numpy(float), k * d["delta"].to_numpy(float)
        if (~low).any():
            ax.scatter(x[~low], y[~low], s=22, color="C0", label="other languages")
        if low.any():
            ax.scatter(x[low], y[low], s=26, marker="^", color="C1", label="low-resource languages")
        if len(d) >= 3 and np.ptp(x) > 0:
            b, a = np.polyfit(x, y, 1)
            xs = np.linspace(x.min(), x.max(), 10)
            ax.plot(xs, a + b * xs, "k-", lw=1, label="least-squares fit (no controls)")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(cond, fontsize=10)
        panels.append((ax, x, y, d["language"].tolist()))
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
        elif i + cols >= n:  # nothing below this panel: it carries the x tick labels
            ax.xaxis.set_tick_params(labelbottom=True)
    lim = k * float(np.nanmax(np.abs(cells["delta"]))) * 1.25 if cells["delta"].notna().any() else 0.0
    axes.flat[0].set_ylim(-(lim or 1.0), lim or 1.0)  # symmetric around 0 (shared y): the sign of Δ reads at a glance
    xv = cells[predictor].dropna().to_numpy(float)
    if len(xv) and np.ptp(xv) > 0:  # room for the labels at both ends
        axes.flat[0].set_xlim(xv.min() - 0.15 * np.ptp(xv), xv.max() + 0.15 * np.ptp(xv))
    fig.supxlabel(f"{labels.predictor(predictor)}")
    fig.supylabel(labels.delta_axis(outcome))
    legend = {}
    for ax in axes.flat[:n]:  # one entry per kind of mark, from whichever panel has it
        for h, name in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(name, h)
    fig.legend(list(legend.values()), list(legend), loc="outside upper center", ncols=min(len(legend), 3), fontsize=9,
               frameon=False)
    fig.canvas.draw()  # settle the layout, then freeze it: the labels are placed on the final canvas
    fig.set_layout_engine("none")
    for ax, x, y, langs in panels:
        plots.label_points(ax, x, y, langs, fontsize=8)
    _savefig(fig, path)


def forest(pooled: pd.DataFrame, path: str, outcome: str = "retrieval_en2xx") -> None:
    """The slope models' estimates per SD of each predictor (display unit of ``outcome``) with 95% CIs.  The x range
    is robust (:func:`xstilts.plots.robust_limits`): an interval that runs past it is drawn to the edge with an arrow
    and its true end written beside it."""
    d = pooled[pooled["model"].isin(["ols_hc3", "cluster_boot", "mixed"])].dropna(subset=["estimate"]).reset_index(drop=True)
    sd = d["predictor_sd"].fillna(1.0) if "predictor_sd" in d else 1.0
    k = labels.scale(outcome)
    est, low, high = (k * d["estimate"] * sd).to_numpy(float), (k * d["ci_low"] * sd).to_numpy(float), (k * d["ci_high"] * sd).to_numpy(float)
    fig, ax = plt.subplots(figsize=(7.0, 0.34 * max(len(d), 3) + 1.5), layout="constrained")
    y = np.arange(len(d))[::-1]
    x0, x1 = plots.robust_limits(est, low, high)
    span = x1 - x0
    for yi, e, a, b in zip(y, est, low, high):
        if not (np.isfinite(a) and np.isfinite(b)):
            ax.annotate("no CI", (e, yi), xytext=(0, 6), textcoords="offset points", ha="center", fontsize=8, color="0.35")
            continue
        ax.plot([max(a, x0), min(b, x1)], [yi, yi], color="C0", lw=1.4)
        for end, edge, side in ((a, x0, "left"), (b, x1, "right")):
            if (end < edge) if side == "left" else (end > edge):
                ax.annotate("", xy=(edge, yi), xytext=(edge + (0.06 if side == "left" else -0.06) * span, yi),
                            arrowprops={"arrowstyle": "->", "color": "C0", "lw": 1.4})
                ax.annotate(f"{end:+.1f}", (edge, yi), xytext=(3 if side == "left" else -3, 4), textcoords="offset points",
                            ha=side, va="bottom", fontsize=8, color="C0")
    ax.scatter(est, y, color="C0", s=20, zorder=3)
    ax.set_yticks(y, [f"{labels.predictor(r.predictor)} · {labels.model(r.model)}{'' if r.subset == 'all' else ' · ' + str(r.subset)}"
                      for r in d.itertuples()], fontsize=9)
    ax.set_xlim(x0, x1)
    ax.axvline(0, color="grey", lw=0.6)
    u = labels.unit(outcome)
    ax.set_xlabel(f"Δ {labels.measure(outcome)}{' (' + u + ')' if u else ''}\nper SD of the predictor, adjusted for the "
                  "controls, 95% CI\n(arrow: the interval runs past the axis; its end is written)")
    _savefig(fig, path)


def layer_heatmap(layer_delta: pd.DataFrame, path: str, outcome: str = "retrieval_en2xx") -> None:
    """Mean Δ (over languages, display unit) per condition × layer, each cell's value written in it."""
    k = labels.scale(outcome)
    piv = k * layer_delta.groupby(["condition", "layer"])["delta"].mean().unstack("layer")
    fig, ax = plt.subplots(figsize=(max(0.7 * piv.shape[1] + 3.0, 5.0), 0.45 * piv.shape[0] + 1.8), layout="constrained")
    vals = piv.to_numpy()
    lim = np.nanmax(np.abs(vals)) or 1.0  # symmetric colour scale around 0
    im = ax.imshow(vals, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    for (i, j), v in np.ndenumerate(vals):
        if np.isfinite(v):
            ax.text(j, i, f"{v:+.1f}" if k == 100.0 else f"{v:+.3f}", ha="center", va="center", fontsize=8,
                    color="white" if abs(v) > 0.6 * lim else "black")
    ax.set_xticks(range(piv.shape[1]), piv.columns)
    ax.set_yticks(range(piv.shape[0]), piv.index)
    ax.set_xlabel("layer (hidden_states index; 0 = embeddings)")
    fig.colorbar(im, ax=ax, label=f"mean {labels.delta_axis(outcome)}\nover languages, unadjusted")
    _savefig(fig, path)


# --------------------------------------------------------------------------------------------------------------
# the tables as a reader sees them (points, human names: xstilts.labels), in Markdown and in HTML
# --------------------------------------------------------------------------------------------------------------


def _fmt(v, floatfmt: str = ".1f") -> str:
    if isinstance(v, (float, np.floating)):
        return "–" if np.isnan(v) else format(v, floatfmt)
    if v is None or v is pd.NA:
        return "–"
    return str(v)


def _numeric_column(values: list[str]) -> bool:
    shown = [v for v in values if v != "–"]
    return bool(shown) and all(v[:1] in "+-−<.0123456789" for v in shown)


def _md_table(df: pd.DataFrame, floatfmt: str = ".1f") -> str:
    """A Markdown table; number columns right-aligned (and kept on one line in the HTML), text columns left."""
    cells = [[_fmt(v, floatfmt).replace("|", "\\|") for v in row] for row in df.itertuples(index=False)]
    right = [_numeric_column([r[i] for r in cells]) for i in range(len(df.columns))]
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "".join("---:|" if r else ":---|" for r in right)
    body = ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join([head, sep, *body])


def tatoeba_view(tat: pd.DataFrame, column: str = "acc_en2xx") -> pd.DataFrame:
    """Accuracy per language (rows) × condition (columns) in points, the chance level first and the mean last."""
    view = 100.0 * tat.pivot_table(index="language", columns="condition", values=column)
    view.columns = [str(c) for c in view.columns]
    view.insert(0, labels.column("chance"), 100.0 * tat.groupby("language")["chance"].first())
    view.loc["mean"] = view.mean()
    return view.reset_index().rename(columns={"language": labels.column("language")})


def bucc_view(bucc: pd.DataFrame) -> pd.DataFrame:
    cols = ["language", "condition", "test_f1", "dev_f1", "oracle_test_f1", "threshold_from_dev", "duplicates", "fallback_rows",
            "backend"]
    if not len(bucc):
        return bucc
    v = bucc[[c for c in cols if c in bucc]].copy()
    for c in ("test_f1", "dev_f1", "oracle_test_f1"):
        if c in v:
            v[c] = 100.0 * v[c]
    return v.rename(columns={c: labels.column(c) for c in v.columns})


def delta_view(deltas: pd.DataFrame) -> pd.DataFrame:
    """Δ en→xx per language × condition, ``+4.0 (+1.0, +7.0)`` in points, the condition mean last."""
    d = deltas.assign(cell=[f"{labels.signed(r.delta)} ({labels.signed(r.ci_low)}, {labels.signed(r.ci_high)})"
                            for r in deltas.itertuples()])
    view = d.pivot(index="language", columns="condition", values="cell")
    view = view.reindex([x for x in view.index if x != "mean"] + (["mean"] if "mean" in view.index else []))
    view.columns = [str(c) for c in view.columns]
    return view.reset_index().rename(columns={"language": labels.column("language")})


def regression_view(pooled: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The regression ladder in display units: a slope model's estimate and CI per SD of the predictor in the
    outcome's unit (points for accuracies), a rank model's as Spearman's ρ; the unit in its own column.  The
    ``languages`` column (the subset) only when the table holds more than one."""
    k = labels.scale(outcome)
    rows = []
    for r in pooled.itertuples():
        model = str(r.model)
        slope = model in labels.SLOPE_MODELS
        f = k * (getattr(r, "predictor_sd", 1.0) if np.isfinite(getattr(r, "predictor_sd", np.nan)) else 1.0) if slope else 1.0
        digits = 1 if slope and k == 100.0 else 3

        def num(v, f=f, digits=digits):
            v = float(v) if v is not None and not pd.isna(v) else np.nan
            return "–" if not np.isfinite(v) else f"{f * v:+.{digits}f}"

        u = labels.unit(outcome)
        rows.append({
            "languages": r.subset, "predictor": labels.predictor(r.predictor), "model": labels.model(model),
            "controls": labels.controls(getattr(r, "controls", None)),
            "estimate": num(getattr(r, "estimate", np.nan)),
            "95% CI": (f"{num(r.ci_low)} to {num(r.ci_high)}" if "ci_low" in pooled and not pd.isna(r.ci_low) else "–"),
            "unit": (f"{u} per SD" if u else "per SD") if slope else "ρ",
            "p": labels.p_value(getattr(r, "p", np.nan)), "p (Holm)": labels.p_value(getattr(r, "p_holm", np.nan)),
            "n": _fmt(getattr(r, "n", np.nan), ".0f"), "status": _fmt(getattr(r, "status", "")),
        })
    out = pd.DataFrame(rows)
    return out.drop(columns="languages") if len(out) and out["languages"].nunique() == 1 else out


def regression_tables(pooled: pd.DataFrame, outcome: str) -> list[tuple[str, pd.DataFrame]]:
    """:func:`regression_view` as two narrower tables, one unit each: the rank correlations (ρ) and the slopes (per
    SD of the predictor, points for accuracies).  A predictor is named on its first row only; a column with no value
    in the table is left out."""
    v = regression_view(pooled, outcome)
    if not len(v):
        return []
    u = labels.unit(outcome)
    out = []
    for unit, title in (("ρ", "Rank correlations (Spearman ρ)"),
                        (f"{u} per SD" if u else "per SD", f"Slopes ({u + ' ' if u else ''}of Δ per SD of the predictor)")):
        t = v[v["unit"] == unit].drop(columns="unit").reset_index(drop=True)
        if not len(t):
            continue
        t = t.rename(columns={"estimate": "ρ"} if unit == "ρ" else {"estimate": f"slope ({u})" if u else "slope"})
        keep = [c for c in t.columns if c in ("predictor", "model") or (t[c] != "–").any()]
        t = t[keep]
        t.loc[t["predictor"].eq(t["predictor"].shift()), "predictor"] = ""
        if unit == "ρ" and "p (Holm)" in t and (t["p (Holm)"] == "–").all():
            t = t.drop(columns="p (Holm)")
        out.append((title, t))
    return out


def interaction_view(table: pd.DataFrame) -> pd.DataFrame:
    """The morphology × resource-size table (``xstilts.interaction``) in display units: every estimate per SD of
    morphology (the interaction per SD per e-fold of CC-100 text), in points for accuracy outcomes."""
    rows = []
    for _, r in table.iterrows():
        outcome = str(r["outcome"])
        k = labels.scale(outcome)
        digits = 1 if k == 100.0 else 3

        def num(v, k=k, digits=digits):
            v = float(v) if v is not None and not pd.isna(v) else np.nan
            return "–" if not np.isfinite(v) else f"{k * v:+.{digits}f}"

        at = float(r["at_gib"]) if not pd.isna(r.get("at_gib", np.nan)) else np.nan
        rows.append({
            "outcome": labels.measure(outcome) + (" (primary)" if r.get("role") == "primary" else ""),
            "model": labels.model(str(r["model"])), "languages": str(r["languages"]),
            "term": labels.TERMS.get(str(r["term"]), str(r["term"])) + (f" at {at:.3g} GiB" if np.isfinite(at) else ""),
            "estimate": num(r.get("estimate")), "95% CI": (f"{num(r.get('ci_low'))} to {num(r.get('ci_high'))}"
                                                            if not pd.isna(r.get("ci_low", np.nan)) else "–"),
            "unit": (f"{labels.unit(outcome)} per SD" if labels.unit(outcome) else "per SD"),
            "p": labels.p_value(r.get("p", np.nan)), "p (Holm)": labels.p_value(r.get("p_holm", np.nan)),
            "n": _fmt(r.get("n", np.nan), ".0f"), "min. detectable r": _fmt(r.get("min_detectable_r", np.nan), ".2f"),
            "status": _fmt(r.get("status", "")),
        })
    out = pd.DataFrame(rows)
    if len(out):
        out.loc[out["outcome"].eq(out["outcome"].shift()), "outcome"] = ""
    return out


def interaction_note(table: pd.DataFrame) -> str:
    """The sentence above the interaction table: the model, the centre, and the Holm families."""
    if not len(table):
        return "(no interaction model)"
    outcomes = list(dict.fromkeys(table["outcome"].astype(str)))
    controls = table["controls"].dropna()
    return ("All analysed languages in one model per outcome: Δ averaged over conditions per language ~ morphology "
            f"({labels.predictor(str(table['predictor'].iloc[0]))}, per SD) × ln CC-100 GiB (centred at the mean over the "
            "analysed languages) + controls "
            f"({labels.controls(controls.iloc[0]) if len(controls) else 'none'}), OLS with HC3 errors (one row per "
            "language, so languages are the independent units); the clustered model on the language × condition cells "
            "and the additive model on the low-resource subset are sensitivity checks. The interaction is the change of "
            f"the morphology slope per e-fold (×2.7) of pretraining text. p (Holm): Holm across the {len(outcomes)} "
            f"outcome{'s' if len(outcomes) != 1 else ''} ({', '.join(outcomes)}) within each model and term "
            "(`holm_family` in `regression/interaction.csv`). Min. detectable r: the smallest correlation (absolute value) detectable with "
            "that n at 80% power (two-sided α = 0.05, Fisher z). Who fell out and why: `regression/sample.csv`.")


TABLE_CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:15px;line-height:1.45;
color:#1a1a1a;max-width:64rem;margin:1.2rem auto;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:1.8rem}p{max-width:60rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:14px}
th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
td[style*="right"],th[style*="right"]{white-space:nowrap;font-variant-numeric:tabular-nums}
th{background:#f3f4f6;border-bottom:2px solid #bbb}
tr:last-child td{border-bottom:2px solid #bbb}img{max-width:100%;height:auto;margin:.5rem 0}
code{background:#f3f4f6;padding:0 .2rem;border-radius:3px}"""


def html_page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{TABLE_CSS}</style></head><body>\n{body}\n</body></html>\n")


def html_tables(title: str, sections: list[tuple[str, str, pd.DataFrame]]) -> str:
    """A standalone page: per section a heading, a sentence and the table, formatted exactly as in the summary
    (the same Markdown, rendered by :func:`markdown_html`)."""
    parts = [f"# {title}"]
    for head, text, df in sections:
        parts += ["", f"## {head}", "", text, "", _md_table(df) if len(df) else "(none)"]
    return markdown_html("\n".join(parts) + "\n", Path("."), title)


def markdown_html(text: str, base: Path, title: str) -> str:
    """Markdown (CommonMark + tables, via markdown-it-py) to a standalone page; images relative to ``base`` are
    embedded as data URIs, so the page shows them wherever it is opened (the Snakemake report shows it in a frame)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(text)
    for tok in tokens:
        for child in tok.children or []:
            src = child.attrGet("src") if child.type == "image" else None
            if src and not src.startswith(("data:", "http:", "https:")) and (base / src).is_file():
                mime = mimetypes.guess_type(src)[0] or "application/octet-stream"
                child.attrSet("src", f"data:{mime};base64,{base64.b64encode((base / src).read_bytes()).decode()}")
    return html_page(title, md.renderer.render(tokens, md.options, {}))


# --------------------------------------------------------------------------------------------------------------
# the summary
# --------------------------------------------------------------------------------------------------------------


def summary_markdown(*, targets: pd.DataFrame, xtreme: pd.DataFrame, xtreme_tasks: pd.DataFrame, retrieval: pd.DataFrame,
                     morph_info: dict, regression: list[tuple[str, pd.DataFrame]], diagnostics: pd.DataFrame, bucc: pd.DataFrame,
                     figures: dict[str, str], config_name: str, outcome: str, controls: list[str],
                     bucc_notes: list[str] | None = None, opening: str = "",
                     interaction: pd.DataFrame | None = None, interaction_text: str = "") -> str:
    """The summary's Markdown.  Every table is already in display units (points; :mod:`xstilts.labels`)."""
    n_tasks = len(xtreme_tasks)
    entered = "; ".join(f"{r.task} ({r.type}: {r.score}, {r.languages} language{'s' if r.languages != 1 else ''})" for r in xtreme_tasks.itertuples())
    what = labels.measure(outcome)
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
        _md_table(xtreme),
        "",
        "## Zero-shot target scores (points; language average; QA = (EM + F1)/2)",
        _md_table(targets),
        "",
        "## Tatoeba retrieval accuracy en→xx (points; main layer, accuracy@1, English queries over the non-English side)",
        "xx→en is in the HTML table *Retrieval* and in `tables/tatoeba.csv` (`acc_xx2en`, proportions like every CSV).",
        "",
        _md_table(retrieval),
        "",
        "## BUCC mining (points; threshold tuned on dev, applied to test; oracle labelled)",
        _md_table(bucc, ".3g") if len(bucc) else "(no BUCC languages configured)",
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
        f"## Regression of Δ {what} on morphology (pooled over conditions)",
        (f"Outcome: Δ {what} = condition − base at the main layer (`regression.outcome` = `{outcome}`), averaged over "
        "conditions per language. Slope models (OLS, Freedman–Lane, cluster bootstrap, mixed model) are given per SD "
        f"of the predictor{' in points' if labels.unit(outcome) else ''}; the Spearman rows are rank correlations ρ. "
        f"The unadjusted Spearman takes no controls (a confounder such as resource size can make it reject under the null); "
        f"the others adjust for: {', '.join(labels.predictor(c) for c in controls) or 'none'}."),
        "",
        *[line for title, table in regression for line in (f"### {title}", "", _md_table(table), "")],
        *(["## Morphology × resource size (all languages, one model per outcome)", interaction_text, "",
           _md_table(interaction), ""] if interaction is not None and len(interaction) else []),
        "## Diagnostics",
        _md_table(diagnostics, ".3g"),
        "",
        "## Figures",
        *[line for k, v in figures.items() for line in (f"### {k}", "", f"![{k}]({v})", "")],
        "",
    ]
    return "\n".join(parts)


def report_job(*, target_scores: list[str], tatoeba: list[str], bucc: list[str], cells: str, layers: str, pooled: str,
               diagnostics: str, morph_info: str, opening: str, findings_delta: str, delta_figure: str, layer_figure: str,
               settings: dict, out: dict[str, str], interaction: str | None = None, word_summary: str | None = None) -> pd.DataFrame:
    """The tables, figures, ``summary.md`` and the HTML the Snakemake report shows inline, from every score file and
    the regression/findings outputs (``findings_delta`` is the table the opening paragraph was written from: an input
    so the summary follows it; ``interaction``: the morphology × size table).  ``settings``: primary, outcome,
    controls, target_types, study.  ``out`` keys:
    summary, summary_html, target_scores, target_summary, tatoeba, bucc, scores_html, retrieval_html,
    regression_html, scatter, forest, heatmap.  The CSVs keep proportions (the data); everything shown is in points.
    Returns the XTREME-style score table."""
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
    base = tat[tat["condition"] == "base"]
    ratio = base["acc_en2xx"].mean() / base["chance"].mean()
    log.info("base Tatoeba accuracy en→xx (mean over languages) = %.3f; chance = %.4f; ratio = %.1fx",
             base["acc_en2xx"].mean(), base["chance"].mean(), ratio)
    log.info("XTREME-style scores:\n%s", xtreme.to_string())
    notes = [w for p in bucc for w in read_json(p).get("warnings", [])]
    pool = pooled_df[pooled_df["model"].isin(list(labels.MODELS))]
    shown = {
        "xtreme": xtreme.reset_index().rename(columns={"XTREME": labels.column("XTREME")}),
        "targets": (100.0 * summary).reset_index(),
        "tatoeba": tatoeba_view(tat),
        "tatoeba_xx2en": tatoeba_view(tat, "acc_xx2en") if "acc_xx2en" in tat else pd.DataFrame(),
        "bucc": bucc_view(bucc_df),
        "regression": regression_tables(pool, outcome),
        "diagnostics": pd.read_csv(diagnostics),
        "delta": delta_view(pd.read_csv(findings_delta)),
    }
    inter = pd.read_csv(interaction) if interaction else pd.DataFrame()
    shown["interaction"] = interaction_view(inter)

    def rel(p):
        return str(Path(p).relative_to(Path(out["summary"]).parent))

    figures = {"Δ alignment with CIs": rel(delta_figure), "base alignment by layer": rel(layer_figure),
               "morphology vs Δ": rel(out["scatter"]), "coefficients": rel(out["forest"]), "per-layer Δ": rel(out["heatmap"])}
    text = summary_markdown(targets=shown["targets"], xtreme=shown["xtreme"], xtreme_tasks=xtreme_tasks, retrieval=shown["tatoeba"],
                            morph_info=read_json(morph_info), regression=shown["regression"], diagnostics=shown["diagnostics"],
                            bucc=shown["bucc"], figures=figures, config_name=settings["study"], outcome=outcome,
                            controls=list(settings["controls"]), bucc_notes=notes, opening=Path(opening).read_text(),
                            interaction=shown["interaction"], interaction_text=interaction_note(inter))
    if word_summary:  # the word-level section (xstilts.wordalign), as its job wrote it
        text = text.rstrip("\n") + "\n\n" + Path(word_summary).read_text(encoding="utf-8")
    atomic_write_text(text, out["summary"])
    title = f"X-STILTs × morphology: summary ({settings['study']})"
    atomic_write_text(markdown_html(text, Path(out["summary"]).parent, title), out["summary_html"])
    what = labels.measure(outcome)
    atomic_write_text(html_tables(f"Scores ({settings['study']})", [
        ("XTREME-style score per condition (points, 0–100)",
         "Mean of the task scores this configuration has; each task the language average of its type's XTREME metric.", shown["xtreme"]),
        ("Zero-shot target scores (points)", "Language average per target and condition; QA = (EM + F1)/2.", shown["targets"]),
    ]), out["scores_html"])
    atomic_write_text(html_tables(f"Retrieval ({settings['study']})", [
        ("Δ Tatoeba retrieval accuracy en→xx, condition − base (points, 95% CI)",
         "Paired per-sentence differences at the main layer; the CI is a bootstrap over sentences (the mean: stratified "
         "by language).", shown["delta"]),
        ("Tatoeba retrieval accuracy en→xx (points)", "Accuracy@1, English queries over the non-English side, main layer.",
         shown["tatoeba"]),
        ("Tatoeba retrieval accuracy xx→en (points)", "The other direction, for comparison.", shown["tatoeba_xx2en"]),
        ("BUCC mining (points)", "Test F1 with the threshold tuned on dev; the oracle tunes on test gold.", shown["bucc"]),
    ]), out["retrieval_html"])
    atomic_write_text(html_tables(f"Regression ({settings['study']})", [
        *[(f"Δ {what} on morphology, pooled over conditions: {title[0].lower() + title[1:]}",
           "Δ averaged over conditions per language; the controls of each model in its row; n = languages."
           + (" A slope is per SD of the predictor, in points." if "Slopes" in title and labels.unit(outcome) else ""), table)
          for title, table in shown["regression"]],
        *([("Morphology × resource size (all languages, one model per outcome)", interaction_note(inter),
             shown["interaction"])] if len(inter) else []),
        ("Diagnostics", "Variance inflation factors, the number of languages and the minimum detectable effect.",
         shown["diagnostics"]),
    ]), out["regression_html"])
    return xtreme
