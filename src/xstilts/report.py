"""Tables, figures and the Markdown summary."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from xstilts.io import atomic_path, atomic_write_text, read_json  # noqa: E402


def collect_json(paths: list[str], keep: list[str] | None = None) -> pd.DataFrame:
    rows = []
    for p in paths:
        d = read_json(p)
        rows.append({k: d.get(k) for k in keep} if keep else {k: v for k, v in d.items() if not isinstance(v, (dict, list))})
    return pd.DataFrame(rows)


def xtreme_style_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per target × condition: the language-averaged score (QA: (EM + F1)/2, as XTREME aggregates)."""
    s = scores.copy()
    s["task_score"] = np.where(s["exact_match"].notna(), (s["exact_match"] + s["f1"]) / 2, s["score"]) if "exact_match" in s else s["score"]
    return s.groupby(["target", "condition"], as_index=False)["task_score"].mean().pivot(index="condition", columns="target", values="task_score")


def _savefig(fig, path: str) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)


def scatter_by_condition(cells: pd.DataFrame, predictor: str, path: str) -> None:
    conds = sorted(cells["condition"].unique())
    n = len(conds)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False, sharex=True, sharey=True)
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
    fig.supxlabel(f"morphology ({predictor})")
    fig.supylabel("Δ alignment (condition − base)")
    axes.flat[0].legend(fontsize=6)
    _savefig(fig, path)


def forest(pooled: pd.DataFrame, path: str) -> None:
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
    ax.set_xlabel("Δ alignment per SD of the predictor (95% CI)")
    _savefig(fig, path)


def layer_heatmap(layer_delta: pd.DataFrame, path: str) -> None:
    """Mean Δ (over languages) per condition × layer."""
    piv = layer_delta.groupby(["condition", "layer"])["delta"].mean().unstack("layer")
    fig, ax = plt.subplots(figsize=(0.5 * piv.shape[1] + 2, 0.4 * piv.shape[0] + 1.5))
    lim = np.nanmax(np.abs(piv.to_numpy())) or 1.0
    im = ax.imshow(piv.to_numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(piv.shape[1]), piv.columns)
    ax.set_yticks(range(piv.shape[0]), piv.index)
    ax.set_xlabel("layer (hidden_states index)")
    fig.colorbar(im, ax=ax, label="mean Δ retrieval accuracy")
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


def summary_markdown(path: str, *, targets: pd.DataFrame, retrieval: pd.DataFrame, morph_info: dict, pooled: pd.DataFrame,
                     diagnostics: pd.DataFrame, bucc: pd.DataFrame, figures: dict[str, str], config_name: str) -> None:
    pool = pooled[pooled["model"].isin(["spearman", "ols_hc3", "freedman_lane", "cluster_boot", "mixed"])]
    cols = [c for c in ["subset", "predictor", "model", "estimate", "ci_low", "ci_high", "p", "p_holm", "n", "status"] if c in pool]
    parts = [
        f"# X-STILTs × morphology: summary ({config_name})",
        "",
        "## Zero-shot target scores (language average; QA = (EM+F1)/2)",
        _md_table(targets.reset_index()),
        "",
        "## Tatoeba retrieval (main layer; accuracy@1, mean of en→xx and xx→en)",
        _md_table(retrieval),
        "",
        "## BUCC mining (threshold tuned on dev, applied to test; oracle labelled)",
        _md_table(bucc) if len(bucc) else "(no BUCC languages configured)",
        "",
        "## Morphology composite",
        f"PC1 of {', '.join(morph_info.get('measures', []))}; explained variance {morph_info.get('explained_variance', float('nan')):.3f} "
        f"on {morph_info.get('n_languages')} languages (corpus: {', '.join(morph_info.get('corpus', []))}). Spearman of the composite with "
        + "; ".join(f"{k.removeprefix('spearman_composite_')}: ρ = {v['rho']:.3f} (n = {v['n']}, p = {v['p']:.2g})"
                    for k, v in morph_info.items() if k.startswith("spearman_composite_")) + ".",
        f"WALS coverage: {morph_info.get('wals_coverage', {})}. Word measures excluded for: {morph_info.get('word_measures_excluded') or 'none'}.",
        "",
        "## Regression of Δ alignment on morphology (pooled over conditions)",
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
