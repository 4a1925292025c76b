"""What the run found, in numbers a reader can check and one plain-language paragraph.

* **Δ alignment with a bootstrap CI over sentences.**  The per-sentence en→xx Tatoeba hits (accuracy@1, English
  queries over the non-English side) are the Tatoeba job's own (``xstilts.retrieval.tatoeba_job`` writes them once,
  every layer and direction), so their mean *is* the reported accuracy.  Δ for a condition and
  a language is the mean paired difference ``hit(condition) − hit(base)`` over the same sentences; its 95% CI is a
  percentile bootstrap that resamples sentences (pairs stay paired).  The condition mean over languages resamples
  sentences within every language (a stratified bootstrap), so its CI reflects sentence noise only -- the
  language-level question belongs to the regression.
* **Direction by morphology.**  Per condition, the mean Δ of the more synthetic languages minus that of the less
  synthetic ones (split at the median of the dial: the true synthesis in the demo, the morphology composite
  otherwise), with the same stratified bootstrap.
* **The opening paragraph** of ``results/summary.md``: what the world is, the question, the findings with their
  CIs, and what it would take to believe them on real languages -- generated from these tables, never hard-coded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xstilts import labels
from xstilts.retrieval import read_hits


def main_layer_hits(paths: list[str], layer: int, direction: str = "en2xx") -> dict[tuple[str, str], np.ndarray]:
    """``{(condition, language): per-sentence hits}`` at hidden_states ``layer`` from the Tatoeba jobs' hits tables
    (each file names its own condition and language: nothing depends on the order of ``paths``)."""
    out: dict[tuple[str, str], np.ndarray] = {}
    for p in paths:
        df = read_hits(p, layer)
        keys = set(zip(df["condition"], df["language"]))
        if len(keys) != 1:
            raise ValueError(f"{p}: a hits table must hold one condition and one language, found {sorted(keys)}")
        key = keys.pop()
        if key in out:
            raise ValueError(f"findings: two hits tables for condition {key[0]!r}, language {key[1]!r} (the second: {p})")
        out[key] = df[direction].to_numpy(dtype=bool)
    return out


def _ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    return float(np.quantile(samples, a)), float(np.quantile(samples, 1 - a))


def delta_table(hits: dict[tuple[str, str], np.ndarray], base: str = "base", n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Δ accuracy (condition − base) per language and condition, and the condition mean over languages, each with a
    95% percentile-bootstrap CI over sentences.  ``hits[(condition, language)]`` are aligned boolean vectors."""
    langs = sorted({lang for c, lang in hits if c == base})
    conds = sorted({c for c, _ in hits if c != base})
    if not langs or not conds:
        raise ValueError(f"delta_table needs hits for the {base!r} condition and at least one other condition")
    rng = np.random.default_rng(seed)
    rows = []
    for cond in conds:
        missing = [lang for lang in langs if (cond, lang) not in hits]
        if missing:
            raise ValueError(f"condition {cond!r} lacks Tatoeba hits for {missing}")
        boots = []
        for lang in langs:
            b, c = np.asarray(hits[(base, lang)], float), np.asarray(hits[(cond, lang)], float)
            if len(b) != len(c) or len(b) == 0:
                raise ValueError(f"{cond}/{lang}: {len(c)} hits vs {len(b)} for {base}; they must be the same sentences")
            d = c - b
            idx = rng.integers(0, len(d), size=(n_boot, len(d)))
            boot = d[idx].mean(1)
            boots.append(boot)
            lo, hi = _ci(boot)
            rows.append({"condition": cond, "language": lang, "base_acc": b.mean(), "acc": c.mean(), "delta": d.mean(),
                         "ci_low": lo, "ci_high": hi, "n": len(d)})
        mean_boot = np.mean(boots, axis=0)
        lo, hi = _ci(mean_boot)
        sub = [r for r in rows if r["condition"] == cond]
        rows.append({"condition": cond, "language": "mean", "base_acc": np.mean([r["base_acc"] for r in sub]),
                     "acc": np.mean([r["acc"] for r in sub]), "delta": np.mean([r["delta"] for r in sub]),
                     "ci_low": lo, "ci_high": hi, "n": int(sum(r["n"] for r in sub))})
    out = pd.DataFrame(rows)
    out["excludes_zero"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    return out


def direction_by_dial(hits: dict[tuple[str, str], np.ndarray], dial: pd.Series, base: str = "base", n_boot: int = 2000,
                      seed: int = 0) -> pd.DataFrame:
    """Per condition: mean Δ of the languages above the median of ``dial`` (more synthetic) minus that of the others,
    with a stratified bootstrap CI over sentences, and Spearman's ρ between the language Δs and the dial."""
    from scipy.stats import spearmanr

    langs = sorted(lang for c, lang in hits if c == base)
    d = dial.reindex(langs)
    if d.isna().any():
        raise ValueError(f"the morphology dial has no value for {list(d[d.isna()].index)}")
    high = d > d.median()
    if high.all() or not high.any():
        raise ValueError("the morphology dial does not split the languages into two groups")
    rng = np.random.default_rng(seed)
    rows = []
    for cond in sorted({c for c, _ in hits if c != base}):
        per_lang, boots = [], []
        for lang in langs:
            dd = np.asarray(hits[(cond, lang)], float) - np.asarray(hits[(base, lang)], float)
            per_lang.append(dd.mean())
            boots.append(dd[rng.integers(0, len(dd), size=(n_boot, len(dd)))].mean(1))
        boots, per_lang = np.array(boots), np.array(per_lang)
        diff_boot = boots[high.to_numpy()].mean(0) - boots[~high.to_numpy()].mean(0)
        lo, hi = _ci(diff_boot)
        rho = spearmanr(d.to_numpy(), per_lang).statistic if np.ptp(per_lang) > 0 else float("nan")
        rows.append({"condition": cond, "delta_more_synthetic": per_lang[high.to_numpy()].mean(),
                     "delta_less_synthetic": per_lang[~high.to_numpy()].mean(),
                     "difference": per_lang[high.to_numpy()].mean() - per_lang[~high.to_numpy()].mean(),
                     "ci_low": lo, "ci_high": hi, "spearman_rho": float(rho), "n_languages": len(langs),
                     "n_more_synthetic": int(high.sum())})
    out = pd.DataFrame(rows)
    out["excludes_zero"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    return out


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}"


def _compared(more: float, less: float) -> str:
    """How one group's signed change compares with another's, in words that keep the sign straight (a higher Δ of
    two losses is a smaller loss)."""
    def verb(x: float) -> str:
        return "gained" if x > 0 else "lost" if x < 0 else "did not change"

    if more == less:
        return "changed as much as the less synthetic ones"
    if more != 0 and less != 0 and (more > 0) == (less > 0):  # the same direction: compare magnitudes
        bigger = abs(more) > abs(less)
        return f"{verb(more)} {'more' if bigger else 'less'} than the less synthetic ones"
    return f"{verb(more)} where the less synthetic ones {verb(less).replace('did not change', 'did not')}"


def controlled_estimate(pooled: pd.DataFrame | None, primary: str, model: str = "ols_hc3", subset: str = "all") -> dict | None:
    """The regression's controlled estimate for ``primary`` from the pooled table (Δ averaged over conditions per
    language, xstilts.regression): ``model``'s slope per SD of the predictor in the outcome's display unit, its 95%
    CI and p (Holm-adjusted where the table has it), n, controls and status, plus the Freedman–Lane permutation p
    (the pre-registered test of the primary predictor).  None when the table has no such row."""
    if pooled is None or not len(pooled):
        return None
    rows = pooled[(pooled["model"] == model) & (pooled["predictor"] == primary)]
    if "subset" in pooled:
        rows = rows[rows["subset"] == subset]
    if not len(rows):
        return None
    r = rows.iloc[0]
    outcome = str(r["outcome"]) if "outcome" in r and isinstance(r["outcome"], str) else "retrieval_en2xx"
    sd = float(r["predictor_sd"]) if "predictor_sd" in r and np.isfinite(float(r["predictor_sd"])) else 1.0
    k = labels.scale(outcome) * sd

    def num(col: str) -> float:
        v = r.get(col, np.nan)
        return float(v) if v is not None and not pd.isna(v) else float("nan")

    holm = num("p_holm")
    fl = pooled[(pooled["model"] == "freedman_lane") & (pooled["predictor"] == primary)]
    if "subset" in pooled:
        fl = fl[fl["subset"] == subset]
    perm = float(fl.iloc[0]["p"]) if len(fl) and not pd.isna(fl.iloc[0].get("p", np.nan)) else float("nan")
    return {"model": model, "predictor": primary, "outcome": outcome, "estimate": k * num("estimate"),
            "ci_low": k * num("ci_low"), "ci_high": k * num("ci_high"),
            "p": holm if np.isfinite(holm) else num("p"), "p_adjusted": bool(np.isfinite(holm)),
            "n": int(num("n")) if np.isfinite(num("n")) else None, "controls": r["controls"] if "controls" in r else None,
            "status": str(r.get("status", "ok")), "permutation_p": perm}


def _fixed(x: float, digits: int = 1) -> str:
    return f"{x:+.{digits}f}"


def morphology_sentence(direction: pd.DataFrame | None, dial_name: str, controlled: dict | None) -> str:
    """What the run says about morphology, and no more: per condition (every one) the descriptive median split of
    the dial with its CI over sentences, then the regression's controlled estimate with its CI and p, saying "not
    distinguishable from zero" whenever a CI covers 0."""
    out = []
    if direction is not None and len(direction) and "difference" in direction:
        d0 = direction.iloc[0]
        n_more = int(d0["n_more_synthetic"]) if "n_more_synthetic" in direction else None
        n_all = int(d0["n_languages"]) if "n_languages" in direction else None
        split = (f"; {n_more} more vs {n_all - n_more} less synthetic languages" if n_more is not None and n_all is not None else "")
        clauses = []
        for r in direction.itertuples():
            ci = f"95% CI {_pct(r.ci_low)} to {_pct(r.ci_high)}"
            if r.excludes_zero:
                clauses.append(f"under {r.condition} the more synthetic languages "
                               f"{_compared(r.delta_more_synthetic, r.delta_less_synthetic)} ({_pct(r.delta_more_synthetic)} vs "
                               f"{_pct(r.delta_less_synthetic)} points, difference {_pct(r.difference)}, {ci})")
            else:
                clauses.append(f"under {r.condition} the difference (more − less synthetic) is {_pct(r.difference)} points "
                               f"({ci}), not distinguishable from zero")
        out.append(f"Morphology, descriptively (Δ Tatoeba accuracy@1 en→xx, the headline; median split on {dial_name}{split}; "
                   "CIs over sentences): "
                   + "; ".join(clauses) + ".")
    if controlled is not None:
        what = labels.measure(controlled["outcome"])
        u = labels.unit(controlled["outcome"])
        pred = labels.predictor(controlled["predictor"])
        setting = (f"The regression on the {pred}, controlled for {labels.controls(controlled['controls'])} "
                   f"({labels.model(controlled['model'])}; Δ {what} averaged over conditions per language"
                   + (f"; n = {controlled['n']} languages" if controlled["n"] is not None else "") + "),")
        described = direction is not None and "excludes_zero" in direction and bool(direction["excludes_zero"].any())
        est, lo, hi = controlled["estimate"], controlled["ci_low"], controlled["ci_high"]
        if not (np.isfinite(est) and np.isfinite(lo) and np.isfinite(hi)):
            out.append(f"{setting} gave no estimate: {controlled['status']}"
                       + ("; the split above is therefore description only" if described else "") + ".")
        else:
            p = f"{'Holm-adjusted ' if controlled['p_adjusted'] else ''}p = {labels.p_value(controlled['p'])}"
            perm = (f" (Freedman–Lane permutation p = {labels.p_value(controlled['permutation_p'])})"
                    if np.isfinite(controlled["permutation_p"]) else "")
            head = (f"{setting} estimates {_fixed(est)}{' points' if u else ''} of Δ per SD, "
                    f"95% CI {_fixed(lo)} to {_fixed(hi)}, {p}{perm}")
            if lo <= 0 <= hi:
                tail = ": not distinguishable from zero"
                if described:
                    tail += ", so the split above is description, not evidence of a morphology effect"
            else:
                sign = "positive" if est > 0 else "negative"
                tail = f": {sign}, a higher {pred} goes with a {'larger' if est > 0 else 'smaller'} Δ"
            out.append(head + tail + ".")
    return " ".join(out)


def power_sentence(n: int) -> str:
    """The power line for the n actually analysed (Fisher z; 80% power, two-sided α = 0.05)."""
    from xstilts.inference import min_detectable_r

    r = min_detectable_r(int(n))
    if not np.isfinite(r):
        return f"Power: with n = {n} languages no correlation can be tested."
    return (f"Power: with the n = {n} languages analysed, the smallest correlation detectable at 80% power "
            f"(two-sided α = 0.05, Fisher z) is |r| ≈ {r:.2f}.")


def fell_out_sentence(sample: pd.DataFrame | None, outcome: str) -> str:
    """How many languages fell out of the analysis of ``outcome`` and why, every language named under its reason."""
    if sample is None or not len(sample):
        return ""
    from xstilts.interaction import NOT_STUDIED

    s = sample[sample["outcome"] == outcome]
    other = int((s["reason"] == NOT_STUDIED).sum())
    s = s[s["reason"] != NOT_STUDIED]
    besides = (f" (besides {other} language{'s' if other != 1 else ''} with values of the outcome that "
               f"{'are' if other != 1 else 'is'} not a study language)") if other else ""
    out = s[~s["analysed"].astype(bool)]
    if not len(out):
        return f"No language fell out: all {len(s)} study languages were analysed{besides}."
    groups = out.groupby("reason", sort=True)["language"].apply(lambda x: ", ".join(sorted(map(str, x))))
    return (f"{len(out)} of {len(s)} study languages fell out of the analysis of {labels.measure(outcome)}{besides}: "
            + "; ".join(f"{reason}: {langs}" for reason, langs in groups.items()) + ".")


def _ci_clause(r, k: float, digits: int, unit: str = "") -> tuple[str, bool]:
    """``+1.2 points per SD (95% CI …, Holm-adjusted p = …)`` in display units, and whether the CI covers 0."""
    est, lo, hi = (k * float(r.get(c, np.nan)) for c in ("estimate", "ci_low", "ci_high"))
    if not all(np.isfinite(v) for v in (est, lo, hi)):
        return f"not estimable ({r['status']})", False
    p_holm = float(r.get("p_holm", np.nan))
    pv = labels.p_value(p_holm if np.isfinite(p_holm) else float(r["p"]))
    p = f"{'Holm-adjusted ' if np.isfinite(p_holm) else ''}p {pv if pv.startswith('<') else '= ' + pv}"
    text = f"{est:+.{digits}f}{unit} (95% CI {lo:+.{digits}f} to {hi:+.{digits}f}, {p})"
    return text, bool(lo <= 0 <= hi)


def interaction_sentence(table: pd.DataFrame | None, sample: pd.DataFrame | None) -> str:
    """The morphology × resource-size model (``xstilts.interaction``) for the primary outcome: the interaction with
    its 95% CI and Holm-adjusted p ("not distinguishable from zero" when the CI covers 0), the morphology slope at
    the stated low size, the low-resource subset, the other outcomes, then the power line for the n analysed and who
    fell out and why.  A model with few residual degrees of freedom says so."""
    if table is None or not len(table):
        return ""
    prim = table[table["role"] == "primary"]
    outcome = str(prim["outcome"].iloc[0])
    main = prim[prim["model"] == "interaction_hc3"].set_index("term")
    k = labels.scale(outcome)
    digits = 1 if k == 100.0 else 3
    u = " points" if labels.unit(outcome) else ""
    pred = labels.predictor(str(prim["predictor"].iloc[0]))
    first = main.iloc[0]
    n = int(first["n"])
    n_out = table["outcome"].nunique()
    setting = (f"Morphology × resource size, all {n} analysed languages in one model (Δ {labels.measure(outcome)} "
               f"averaged over conditions per language ~ {pred} per SD × ln CC-100 GiB"
               + (f" centred at {float(first['centre_gib']):.1f} GiB" if np.isfinite(float(first["centre_gib"])) else "")
               + f", controlled for {labels.controls(first['controls'])}; OLS with HC3 "
               f"errors; p Holm-adjusted across {n_out} outcome{'s' if n_out != 1 else ''})")
    parts = []
    estimated = "morphology_x_log_gib" in main.index and np.isfinite(float(main.loc["morphology_x_log_gib"].get("estimate", np.nan)))
    if not estimated:
        parts.append(f"{setting} gave no estimate: {first['status']}.")
    else:
        text, covers = _ci_clause(main.loc["morphology_x_log_gib"], k, digits, f"{u} of Δ per SD per e-fold (×2.7) of CC-100 text")
        verdict = "not distinguishable from zero" if covers else (
            "the morphology slope rises with the amount of pretraining text" if float(main.loc["morphology_x_log_gib", "estimate"]) > 0
            else "the morphology slope falls with the amount of pretraining text, i.e. it is higher for low-resource languages")
        parts.append(f"{setting}: the interaction is {text}: {verdict}.")
        if "morphology_at_low" in main.index:
            low = main.loc["morphology_at_low"]
            text, covers = _ci_clause(low, k, digits, f"{u} per SD")
            parts.append(f"At {float(low['at_gib']):g} GiB the morphology slope is {text}"
                         + (": not distinguishable from zero." if covers else "."))
    sub = prim[prim["model"] == "subset_hc3"]
    if len(sub):
        r = sub.iloc[0]
        text, covers = _ci_clause(r, k, digits, f"{u} per SD")
        parts.append(f"The languages {r['languages']} alone (n = {int(r['n'])}, additive model): morphology slope {text}"
                     + (", not distinguishable from zero." if covers else "."))
    others = table[(table["role"] != "primary") & (table["model"] == "interaction_hc3") & (table["term"] == "morphology_x_log_gib")]
    if len(others):
        clauses = []
        for _, r in others.iterrows():
            ko = labels.scale(str(r["outcome"]))
            text, covers = _ci_clause(r, ko, 1 if ko == 100.0 else 3, " points" if labels.unit(str(r["outcome"])) else "")
            clauses.append(f"{labels.measure(str(r['outcome']))} (n = {int(r['n'])}): {text}"
                           + (", not distinguishable from zero" if covers else ""))
        parts.append("The interaction for the other outcomes: " + "; ".join(clauses) + ".")
    parts.append(power_sentence(n))
    df = float(first["df_resid"]) if np.isfinite(float(first["df_resid"])) else float("nan")
    if estimated and (n < 20 or (np.isfinite(df) and df < 10)):
        parts.append(f"With n = {n} languages and {df:.0f} residual degrees of freedom this model shows that the analysis "
                     "runs end to end; it is far too small to say anything about an interaction.")
    parts.append(fell_out_sentence(sample, outcome))
    return " ".join(p for p in parts if p)


def opening_paragraph(*, study: str, synthetic: bool, layer: int, n_layers: int | None, base_acc: float, chance: float,
                      deltas: pd.DataFrame, direction: pd.DataFrame | None, dial_name: str, bucc_f1: float | None,
                      n_languages: int, controlled: dict | None = None, interaction: str = "") -> str:
    """The summary's opening, built from the results (accuracies in percentage points), in four short paragraphs
    (setting, change, morphology, trust).  Every condition is named with its Δ; the morphology part is
    :func:`morphology_sentence`."""
    means = deltas[deltas["language"] == "mean"].sort_values("delta")
    sig = means[means["excludes_zero"]]
    world = (f"This is the **{study}** run: {n_languages} synthetic languages rendered from one grammar, whose "
             "morphology (how many inflectional categories live inside the word) is a known dial, and a tiny XLM-R "
             "pretrained on them from scratch. " if synthetic else
             f"This is the **{study}** run over {n_languages} languages. ")
    question = ("The question: does English intermediate-task training change how well a sentence and its "
                "translation find each other in the encoder (cross-lingual alignment, Tatoeba accuracy@1 en→xx), and "
                "does that change depend on the language's morphology? ")
    where = f"layer {layer}" + (f" of {n_layers}" if n_layers else "")
    found = (f"Before intermediate training the base model retrieves the right translation for {100 * base_acc:.1f}% "
             f"of English queries at {where} (chance {100 * chance:.1f}%, so {base_acc / chance:.0f}× chance). ")

    def rng_(r) -> str:
        return f"{_pct(r.delta)} points (95% CI {_pct(r.ci_low)} to {_pct(r.ci_high)})"

    rest = means[~means["excludes_zero"]]
    if len(sig):
        found += ("After intermediate training the change exceeds its sentence-level noise for "
                  + "; ".join(f"{r.condition}: {rng_(r)}" for r in sig.itertuples()) + ". ")
        if len(rest):
            found += "Not distinguishable from zero: " + "; ".join(f"{r.condition} {rng_(r)}" for r in rest.itertuples()) + ". "
    else:
        found += ("No condition changed the mean alignment by more than its sentence-level noise: "
                  + "; ".join(f"{r.condition} {rng_(r)}" for r in rest.itertuples()) + ". ")
    morph = morphology_sentence(direction, dial_name, controlled)
    # the morphology × size model gets a paragraph of its own after the morphology one
    if bucc_f1 is not None and np.isfinite(bucc_f1):
        found += f"BUCC mining (threshold tuned on dev) reaches test F1 {100 * bucc_f1:.1f} points with the base model."
    believe = ("These CIs count sentence noise only, in a world built so that the answer can be seen: to believe "
               "a morphology effect on real languages takes the language-level regression below (dozens of "
               "languages, controls for resource size and base alignment, several seeds) on the pinned public "
               "model, not this demo." if synthetic else
               "These CIs count sentence noise only; the language-level evidence is the regression below, and it "
               "needs several seeds and enough languages to have power.")
    # four short paragraphs: the setting, what changed, what morphology has to do with it, how far to trust it
    return "\n\n".join(part.strip() for part in (world + question, found, morph, interaction, believe) if part.strip())


def means_markdown(deltas: pd.DataFrame, direction: pd.DataFrame) -> str:
    """The condition means behind the paragraph as a Markdown table (points; CIs over sentences)."""
    m = deltas[deltas["language"] == "mean"].set_index("condition")
    d = direction.set_index("condition") if "difference" in direction else pd.DataFrame(index=m.index)
    lines = ["| condition | base acc. | acc. | Δ (95% CI) | Δ more − less synthetic (95% CI) |", "|:---|---:|---:|---:|---:|"]
    for cond, r in m.iterrows():
        dd = d.loc[cond] if cond in d.index else None
        morph = f"{_pct(dd.difference)} ({_pct(dd.ci_low)}, {_pct(dd.ci_high)})" if dd is not None else "–"
        lines.append(f"| {cond} | {100 * r.base_acc:.1f} | {100 * r.acc:.1f} | {_pct(r.delta)} ({_pct(r.ci_low)}, {_pct(r.ci_high)}) "
                     f"| {morph} |")
    return ("Tatoeba accuracy@1 en→xx at the main layer, mean over languages, in points; per language: "
            "`findings/delta_ci.csv`, by morphology: `findings/direction.csv`.\n\n" + "\n".join(lines))


# --------------------------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------------------------


def _savefig(fig, path: str) -> None:
    import matplotlib.pyplot as plt

    from xstilts.io import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)


def delta_figure(deltas: pd.DataFrame, path: str) -> None:
    """Δ en→xx accuracy (points) per language, one panel per condition, with 95% bootstrap CIs; the condition mean is
    the last row of each panel.  One symmetric x range around 0 for all panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conds = sorted(deltas["condition"].unique())
    langs = [l for l in sorted(deltas["language"].unique()) if l != "mean"] + ["mean"]
    lim = 100 * float(np.nanmax(np.abs(deltas[["ci_low", "ci_high"]].to_numpy()))) * 1.1 or 1.0
    fig, axes = plt.subplots(1, len(conds), figsize=(2.0 * len(conds) + 1.0, 0.3 * len(langs) + 1.8), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, cond in zip(axes[0], conds):
        d = deltas[deltas["condition"] == cond].set_index("language").reindex(langs)
        y = np.arange(len(langs))
        est, lo, hi = 100 * d["delta"], 100 * d["ci_low"], 100 * d["ci_high"]
        colors = ["#b2182b" if e > 0 and z else "#2166ac" if z else "0.45" for e, z in zip(est, d["excludes_zero"].fillna(False))]
        for yi, a, b, col in zip(y, lo, hi, colors):
            ax.plot([a, b], [yi, yi], color=col, lw=1.2)
        ax.scatter(est, y, c=colors, s=[40 if l == "mean" else 14 for l in langs], zorder=3)
        ax.axvline(0, color="k", lw=0.6)
        ax.axhline(len(langs) - 1.5, color="0.8", lw=0.5)
        ax.set_xlim(-lim, lim)
        ax.set_title(cond, fontsize=10)
        ax.tick_params(labelsize=9)
    axes[0][0].set_yticks(np.arange(len(langs)), langs)
    axes[0][0].invert_yaxis()
    fig.supxlabel(f"Δ {labels.measure('retrieval_en2xx')}, condition − base (points; 95% bootstrap CI over sentences)\n"
                  "red / blue: the CI excludes 0; grey: it covers 0", fontsize=9)
    _savefig(fig, path)


def layer_figure(base_layers: pd.DataFrame, chance: float, main_layer: int, path: str) -> None:
    """Base-model en→xx accuracy (points) per layer and language, with the chance level and the configured main
    layer; the legend beside the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    piv = base_layers.pivot_table(index="layer", columns="language", values="value")
    fig, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    for lang in piv.columns:
        ax.plot(piv.index, 100 * piv[lang], marker="o", ms=3, lw=1, label=lang)
    ax.plot(piv.index, 100 * piv.mean(axis=1), color="k", lw=2.2, label="mean")
    ax.axhline(100 * chance, color="grey", ls="--", lw=1)
    ax.annotate(f"chance ({100 * chance:.1f} points)", (piv.index.min(), 100 * chance), xytext=(2, 3), textcoords="offset points",
                fontsize=8, color="0.35")
    ax.axvline(main_layer, color="0.6", ls=":", lw=1)
    ax.annotate("main layer", (main_layer, 100), xytext=(3, -12), textcoords="offset points", fontsize=8, color="0.35")
    ax.set_xticks(list(piv.index))
    ax.set_xlabel("layer (hidden_states index; 0 = embeddings)")
    ax.set_ylabel(f"base {labels.measure('retrieval_en2xx')}\n(points)")
    ax.set_ylim(0, 100)
    fig.legend(fontsize=8, ncols=1 if len(piv.columns) <= 12 else 2, frameon=False, loc="outside right upper")
    _savefig(fig, path)


# --------------------------------------------------------------------------------------------------------------
# the paper's alternatives (+MLM, +translated) against plain English intermediate training
# --------------------------------------------------------------------------------------------------------------


ALTERNATIVE_COLUMNS = ["condition", "type", "versus", "measure", "metric", "languages", "n_languages", "delta", "ci_low",
                       "ci_high", "ci_over", "english_vs_base", "english_vs_base_ci_low", "english_vs_base_ci_high",
                       "alternative_vs_base"]
TRANSLATE_TRAIN, ZERO_SHOT = "translate-train", "zero-shot"  # a +translated target's two language groups


def _mean_row(deltas: pd.DataFrame, condition: str) -> pd.Series:
    return deltas[(deltas["condition"] == condition) & (deltas["language"] == "mean")].iloc[0]


def alternatives_deltas(hits: dict[tuple[str, str], np.ndarray], scores: pd.DataFrame, n_boot: int, seed: int,
                        base: str = "base", *, translated: dict[str, list[str]] | None = None, pivot: str = "en",
                        headline: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each '+mlm' / '+translated' condition against the plain English condition of its task (``qa+mlm`` vs ``qa``):
    Tatoeba en→xx accuracy at the main layer (mean over languages, 95% CI resampling sentences, pairs kept) and every
    target's score (its main metric, ``scores["metric"]``; mean over its languages without the ``pivot`` of the
    per-language difference, 95% CI resampling languages).  A '+translated' condition's target Δ is split into the
    languages with machine-translated training data (``translated[condition]``: "translate-train") and those without
    ("zero-shot"); a '+mlm' condition's languages are all zero-shot.  ``english_vs_base``: the English condition's
    mean Δ against the base model with its CI, from ``headline`` (the headline's delta table) when given.
    ``scores``: one row per target × condition × language with ``score``.  Proportions, like the other tables.  The
    target CIs draw from their own stream (seeded by ``seed`` and this section), not the headline's."""
    from xstilts.plan import base_condition, condition_type

    conds = sorted({c for c, _ in hits if condition_type(c) in ("+MLM", "+translated")})
    rows = []
    rng = np.random.default_rng([seed, 20])  # issue 20's section: a stream of its own
    for cond in conds:
        english = base_condition(cond)
        pair = {k: v for k, v in hits.items() if k[0] in (english, cond)}
        m = _mean_row(delta_table(pair, base=english, n_boot=n_boot, seed=seed), cond)
        if headline is not None and len(headline[(headline["condition"] == english) & (headline["language"] == "mean")]):
            eng = _mean_row(headline, english)
        else:
            eng = _mean_row(delta_table({k: v for k, v in hits.items() if k[0] in (base, english)}, base=base,
                                        n_boot=n_boot, seed=seed), english)
        alt = _mean_row(delta_table({k: v for k, v in hits.items() if k[0] in (base, cond)}, base=base, n_boot=n_boot,
                                    seed=seed), cond)
        ctype = condition_type(cond)
        rows.append({"condition": cond, "type": ctype, "versus": english, "measure": "tatoeba.retrieval_en2xx",
                     "metric": "accuracy@1 en→xx", "languages": "all", "n_languages": len({l for c, l in pair if c == cond}),
                     "delta": float(m["delta"]), "ci_low": float(m["ci_low"]), "ci_high": float(m["ci_high"]),
                     "ci_over": "sentences", "english_vs_base": float(eng["delta"]),
                     "english_vs_base_ci_low": float(eng["ci_low"]), "english_vs_base_ci_high": float(eng["ci_high"]),
                     "alternative_vs_base": float(alt["delta"])})
        if ctype == "+translated":
            if translated is None or cond not in translated:
                raise ValueError(f"findings: no list of translated-training languages for {cond!r} (the plan's "
                                 "translated_languages); without it its zero-shot languages are unknown")
            mt = set(translated[cond])
        else:
            mt = set()
        for target, t in scores[scores["condition"].isin([english, cond])].groupby("target", sort=True):
            w = t.pivot_table(index="language", columns="condition", values="score")
            if cond not in w or english not in w:
                continue
            d = (w[cond] - w[english]).dropna().drop(index=pivot, errors="ignore")
            metric = "/".join(sorted(set(map(str, t["metric"])))) if "metric" in t else "score"
            groups = ((TRANSLATE_TRAIN, d[d.index.isin(mt)]), (ZERO_SHOT, d[~d.index.isin(mt)]))
            for group, g in groups:
                if not len(g):
                    continue
                v = g.to_numpy(float)
                boot = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(1)
                lo, hi = _ci(boot)
                rows.append({"condition": cond, "type": ctype, "versus": english, "measure": target, "metric": metric,
                             "languages": group, "n_languages": len(v), "delta": float(v.mean()), "ci_low": lo,
                             "ci_high": hi, "ci_over": "languages"})
    out = pd.DataFrame(rows, columns=ALTERNATIVE_COLUMNS)
    out["excludes_zero"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    return out


SCORE_COLUMNS = ["target", "condition", "language", "metric", "score"]


def collect_target_scores(paths: list[str], out: str) -> pd.DataFrame:
    """Every per-language zero-shot score file as one table (target, condition, language, metric, score).  A file
    without one of these keys, or whose score is not a finite number, is an error naming the file (a NaN score would
    otherwise travel on as an empty cell)."""
    import math

    from xstilts.io import atomic_write_text, read_json

    rows = []
    for p in paths:
        r = read_json(p)
        missing = [k for k in SCORE_COLUMNS if k not in r]
        if missing:
            raise KeyError(f"{p}: a zero-shot score file must hold {SCORE_COLUMNS}; it lacks {missing}")
        s = r["score"]
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s):
            raise ValueError(f"{p}: target {r['target']!r}, condition {r['condition']!r}, language {r['language']!r}: "
                             f"the score {s!r} is not a finite number")
        rows.append({k: r[k] for k in SCORE_COLUMNS})
    df = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    atomic_write_text(df.to_csv(index=False), out)
    return df


def read_target_scores(path: str) -> pd.DataFrame:
    """:func:`collect_target_scores`' table read back: language codes as written (``keep_default_na=False``: 'NA'
    stays a code), the score as a float; a score that is empty or not a number is an error naming the file, target,
    condition and language."""
    df = pd.read_csv(path, keep_default_na=False, dtype=str)
    missing = [c for c in SCORE_COLUMNS if c not in df]
    if missing:
        raise ValueError(f"{path}: the target-score table lacks the columns {missing}")
    score = pd.to_numeric(df["score"], errors="coerce")
    bad = df[score.isna() | ~np.isfinite(score.fillna(0.0))]
    if len(bad):
        where = "; ".join(f"{r.target}/{r.condition}/{r.language} ({r.score!r})" for r in bad.itertuples())
        raise ValueError(f"{path}: {len(bad)} score(s) are not finite numbers: {where}")
    return df.assign(score=score.astype(float))


def _mlm_clause(condition: str, english: str, mlm: dict | None) -> str:
    """How a '+mlm' condition trains (xstilts.multitask): the multi-task trainer, the task's batches as without MLM
    plus the MLM batches on top, so more optimizer steps than the plain condition."""
    if not mlm:  # settings not passed: the clause without the batch count
        extra = "its MLM batches"
    elif mlm["rule"] == "share":
        share = mlm["share"]
        sh = f"{share:g}"
        extra = (f"max(1, round({sh}/(1−{sh})·T)) MLM batches" + (" (as many as task batches)" if share == 0.5 else ""))
    else:
        extra = "ceil(min(N, cap)/batch size) MLM batches (N MLM sequences; jiant's proportional rule)"
    how = ("trains through the multi-task trainer (plain {e} through the single-task one) with MLM as a second member"
           if english != "multitask" else "adds MLM as one more member of the multi-task model")
    return (f"{condition} {how.format(e=english)}: each epoch holds the T task batches of {english} plus {extra}, so it "
            f"takes more optimizer steps than {english}; its Δ measures MLM together with those extra steps.")


def alternatives_markdown(table: pd.DataFrame, slopes: pd.DataFrame | None, primary: str, *, pivot: str = "en",
                          mlm: dict | None = None, translated: dict[str, list[str]] | None = None,
                          n_languages: int | None = None) -> str:
    """The summary's section "The paper's alternatives": Δ against plain English intermediate training per measure
    (targets: the main metric; a +translated alternative's languages with and without translated training data
    apart), the alignment against English and -- only where English training's own CI against the base model lies
    below zero -- whether the alternative makes that loss smaller, how +mlm trains (``mlm``: its rule and share), and
    whether +MLM / +translated change the morphology slope (the regression's alternatives table, in the outcome's
    unit)."""
    if table.empty:
        return ""
    targets = table[table["ci_over"] == "languages"].drop_duplicates("measure")
    metrics = "; ".join(f"{r.measure}: {r.metric}" for r in targets.itertuples())
    lines = ["## The paper's alternatives", "",
             "Each alternative against plain English intermediate training of the same task (points). Alignment: Tatoeba "
             "accuracy@1 en→xx at the main layer, mean over the study languages, 95% CI over sentences. Targets: each "
             "target's main metric, the one it is scored and selected on"
             + (f" ({metrics})" if metrics else "")
             + " -- for QA that is F1, not the (EM+F1)/2 of the XTREME table -- as the mean over the target's languages "
             f"without the pivot ({pivot}), 95% CI over languages; for a +translated alternative the languages with "
             f"machine-translated training data ({TRANSLATE_TRAIN}) and those without ({ZERO_SHOT}) apart.", "",
             "| alternative | versus | measure | metric | languages | Δ (95% CI) |", "|:---|:---|:---|:---|:---|---:|"]
    for r in table.itertuples():
        lines.append(f"| {r.condition} | {r.versus} | {r.measure} | {r.metric} | {r.languages} (n = {r.n_languages}) "
                     f"| {_pct(r.delta)} ({_pct(r.ci_low)} to {_pct(r.ci_high)}) |")
    lines.append("")
    for r in table[table["measure"] == "tatoeba.retrieval_en2xx"].itertuples():
        what = "MLM mixed in" if r.type == "+MLM" else "translated training data"
        verdict = (f"alignment higher than with {r.versus}" if r.ci_low > 0 else f"alignment lower than with {r.versus}"
                   if r.ci_high < 0 else f"alignment not distinguishable from that with {r.versus}")
        eng = (f"{r.versus} against the base model: {_pct(r.english_vs_base)} points (95% CI "
               f"{_pct(r.english_vs_base_ci_low)} to {_pct(r.english_vs_base_ci_high)})")
        if r.english_vs_base_ci_high < 0:
            loss = (f"{eng}, an alignment loss (its CI lies below zero), which {r.condition} makes "
                    + ("smaller" if r.ci_low > 0 else "larger" if r.ci_high < 0 else "neither distinguishably smaller nor larger"))
        else:
            loss = f"{eng}, whose CI does not lie below zero: no alignment loss of English training is established"
        lines.append(f"With {what} ({r.condition}): Δ against {r.versus} {_pct(r.delta)} points (95% CI {_pct(r.ci_low)} "
                     f"to {_pct(r.ci_high)}), {verdict}. Against the base model {r.condition} changes alignment by "
                     f"{_pct(r.alternative_vs_base)} points; {loss}.")
    for r in table[table["type"] == "+MLM"].drop_duplicates("condition").itertuples():
        lines.append(_mlm_clause(r.condition, r.versus, mlm))
    if slopes is not None and "term" in slopes:
        for r in slopes[slopes["term"] == "slope_change"].itertuples():
            outcome = str(getattr(r, "outcome", "retrieval_en2xx"))
            k = labels.scale(outcome)
            digits = 1 if k == 100.0 else 3
            u = " points" if labels.unit(outcome) else ""

            def f(x: float, k=k, digits=digits) -> str:
                return f"{k * float(x):+.{digits}f}"

            zero = " (not distinguishable from zero)" if r.ci_low <= 0 <= r.ci_high else ""
            base_slope = slopes[(slopes["condition_type"] == r.condition_type) & (slopes["term"] == "slope_english")]
            lines.append(f"Morphology slope of Δ {labels.measure(outcome)} ({u.strip() + ' ' if u else ''}per SD of the "
                         f"{labels.predictor(primary)}; cells of {r.conditions}, task fixed effects, controls {r.controls}, "
                         f"CI resampling languages): English {f(base_slope['estimate'].iloc[0])}{u} per SD; "
                         f"{r.condition_type} changes it by {f(r.estimate)}{u} (95% CI {f(r.ci_low)} to {f(r.ci_high)}){zero}.")
            if r.condition_type == "+translated" and translated:
                mt = sorted({l for langs in translated.values() for l in langs})
                of = f" of the {n_languages} study languages" if n_languages else ""
                lines.append(f"The +translated slope change is fit on all languages, with and without translated training "
                             f"data; which languages received it ({', '.join(mt)}: {len(mt)}{of}) is not independent of "
                             "their traits -- with `translated.languages: low_resource` it is the low-resource set -- so "
                             "the slope change is confounded with which languages received translated data.")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------
# the job
# --------------------------------------------------------------------------------------------------------------


def findings_job(*, hits: list[str], layer: int, base_alignment: list[str],
                 bucc_scores: list[str], languages: str, morphology: str, dial: str | None,
                 primary: str, study: str, synthetic: bool, n_boot: int, seed: int, out: dict[str, str], base: str = "base",
                 pooled: str | None = None, interaction: str | None = None, sample: str | None = None,
                 target_scores: str | None = None, alternatives: str | None = None, pivot: str = "en",
                 translated: dict[str, list[str]] | None = None, mlm: dict | None = None) -> str:
    """Compute the Δ table with CIs, the direction by morphology, the two figures and the opening paragraph; write
    them to ``out`` (keys delta, direction, opening, delta_figure, layer_figure).  ``pooled``: the regression's
    pooled table, whose controlled estimate for ``primary`` the paragraph states beside the descriptive split;
    ``interaction`` and ``sample``: the morphology × size table and the accounting of who was analysed
    (:func:`interaction_sentence`).  With ``out["alternatives"]``: the section on the paper's alternatives
    (:func:`alternatives_markdown`; ``pivot``, ``translated`` = the plan's translated-training languages per
    '+translated' condition, ``mlm`` = the +mlm mixing rule and share).  Returns the paragraph."""
    from xstilts.io import atomic_write_text, read_json
    from xstilts.plan import condition_type

    hits = main_layer_hits(hits, layer)
    # the headline (opening, direction, means, Δ figure) is about English intermediate training: base and the plain
    # English conditions only, one RNG stream over their sorted names -- exactly the numbers of a study without the
    # alternatives; the alternatives get their own section and their own seeded streams (alternatives_deltas)
    english_hits = {k: v for k, v in hits.items() if k[0] == base or condition_type(k[0]) == "English"}
    deltas = delta_table(english_hits, base=base, n_boot=n_boot, seed=seed)
    meta = pd.read_csv(languages, keep_default_na=False, na_values=[""]).set_index("iso639_1")
    if dial and dial in meta:
        dial_values, dial_name = meta[dial].astype(float), f"the true dial, {dial}"
    else:
        morph = pd.read_csv(morphology).set_index("language")
        if primary not in morph:
            raise ValueError(f"findings: regression.primary {primary!r} is not a column of {morphology}")
        dial_values, dial_name = morph[primary].astype(float), f"the {primary} measure"
    try:
        direction = direction_by_dial(english_hits, dial_values, base=base, n_boot=n_boot, seed=seed)
    except ValueError as e:  # e.g. all languages share one dial value: say so in the table, not a fake number
        direction = pd.DataFrame([{"condition": "all", "status": f"not computed: {e}"}])
    base_hits = [h for (c, _), h in hits.items() if c == base]
    base_acc, chance = float(np.mean([h.mean() for h in base_hits])), float(np.mean([1.0 / len(h) for h in base_hits]))
    bucc = [read_json(p) for p in bucc_scores]
    bucc_f1 = float(np.mean([r["test_f1"] for r in bucc if r.get("condition", base) == base])) if bucc else None
    layers = pd.concat([pd.read_parquet(p) for p in base_alignment])
    layers = layers[layers["measure"] == "retrieval_en2xx"]
    n_layers = int(layers["layer"].max()) if len(layers) else None
    text = opening_paragraph(study=study, synthetic=synthetic, layer=layer, n_layers=n_layers, base_acc=base_acc, chance=chance,
                             deltas=deltas, direction=direction if "difference" in direction else None, dial_name=dial_name,
                             bucc_f1=bucc_f1, n_languages=len({l for _, l in hits}),
                             controlled=controlled_estimate(pd.read_csv(pooled), primary) if pooled else None,
                             interaction=interaction_sentence(pd.read_csv(interaction), pd.read_csv(sample) if sample else None)
                             if interaction else "")
    atomic_write_text(deltas.to_csv(index=False), out["delta"])
    atomic_write_text(direction.to_csv(index=False), out["direction"])
    section = ""
    if "alternatives" in out:  # the paper's alternatives against plain English intermediate training
        scores = read_target_scores(target_scores) if target_scores else pd.DataFrame(columns=SCORE_COLUMNS)
        alt = alternatives_deltas(hits, scores, n_boot, seed, base=base, translated=translated, pivot=pivot, headline=deltas)
        atomic_write_text(alt.to_csv(index=False), out["alternatives"])
        section = alternatives_markdown(alt, pd.read_csv(alternatives) if alternatives else None, primary, pivot=pivot,
                                        mlm=mlm, translated=translated, n_languages=len({l for _, l in hits}))
    atomic_write_text(text + "\n\n" + means_markdown(deltas, direction) + "\n" + ("\n" + section if section else ""),
                      out["opening"])
    delta_figure(deltas, out["delta_figure"])
    layer_figure(layers, chance, layer, out["layer_figure"])
    return text
