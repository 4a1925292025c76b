"""Morphology × resource size: the low-resource question as an effect, over every language, for several outcomes.

The subset model (languages under ``regression.low_resource_gib``) answers "does morphology matter among the
low-resource languages?" on a fraction of the sample.  Here every analysed language enters one model, so the
question becomes a coefficient:

    Δ_ℓ = b0 + b_m·m_ℓ + b_s·s_ℓ + b_ms·m_ℓ·s_ℓ + controls_ℓ + e_ℓ

* Δ_ℓ: the outcome's change (condition − base) at the main layer, **averaged over conditions per language** (one
  row per language: morphology, size, script and fertility vary only across languages, so the conditions are
  repeated measures, not replicates);
* m_ℓ: the primary morphology predictor standardised over the analysed languages (slopes are per SD);
* s_ℓ = ln(CC-100 GiB) − its mean over the analysed languages (the centre is stated as ``centre_gib``);
* controls: the configured ones except size (already in as s) and the predictor itself -- script shared with
  English, tokenizer fertility, base alignment of the same outcome.

Reported terms: ``morphology`` (the slope b_m at the centre size), ``morphology_x_log_gib`` (b_ms: how the slope
changes per unit of ln GiB, i.e. per e-fold ≈ 2.7× more text) and ``morphology_at_low`` (b_m + b_ms·(ln L − centre):
the slope at the stated low size L, ``regression.interaction_at_gib``).

Errors (``model`` column):

* ``interaction_hc3`` (primary): OLS on the language means with HC3 errors and t reference distribution.  One row
  per language means the rows are independent; HC3 is the small-sample heteroskedasticity-consistent choice, and
  heteroskedasticity is expected (a language's Δ noise depends on its test-set size and base accuracy).
* ``interaction_cluster`` (sensitivity, with more than one condition): OLS on the language × condition cells with
  condition fixed effects, errors clustered by language (t with G − 1 df).  Cluster-robust errors are
  anti-conservative with few clusters, which is why the language-mean HC3 model is the primary one and this one is
  fitted only with at least :data:`MIN_CLUSTERS` languages (with the demo's 8, its CIs would look far too sure).
* ``subset_hc3``: the additive model on the languages under ``low_resource_gib`` (beside, not instead of, the
  interaction), morphology in the same SD units.

Multiplicity: the p-values of each (model, languages, term) are Holm-adjusted across the outcomes (``holm_family``
states the family).  ``min_detectable_r``: the smallest |r| detectable with the n analysed (80% power, two-sided
α = 0.05, Fisher z).  :func:`sample_table` names every language that fell out of an outcome's analysis and why.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from xstilts.inference import adjust, min_detectable_r

TERMS = ("morphology", "morphology_x_log_gib", "morphology_at_low")
MODELS = ("interaction_hc3", "interaction_cluster", "subset_hc3")
SIZE = "log_gib"
NOT_STUDIED = "not a study language (config key 'languages')"
MIN_CLUSTERS = 30  # a common rule of thumb: with fewer clusters, clustered errors are too optimistic (Cameron & Miller 2015)


def _finite(d: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    num = d[cols].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    return d[np.isfinite(num).all(axis=1)]


def interaction_controls(primary: str, controls: list[str]) -> list[str]:
    """The controls beside m, s and m·s: the configured ones without size (it is s) and without the predictor."""
    return [c for c in dict.fromkeys(controls) if c not in (primary, SIZE)]


def language_means(cells: pd.DataFrame, primary: str, controls: list[str]) -> pd.DataFrame:
    """One row per language: Δ averaged over conditions, the language-level columns as they are."""
    cols = [c for c in dict.fromkeys([primary, SIZE, "cc100_gib", *controls]) if c in cells]
    return cells.groupby("language", sort=True).agg(
        **{c: (c, "first") for c in cols}, delta=("delta", "mean"), n_conditions=("condition", "nunique")).reset_index()


def sample_table(outcome: str, universe: list[str], cells: pd.DataFrame, primary: str, controls: list[str],
                 fell_out: dict[str, str] | None = None, with_values: set[str] | None = None) -> pd.DataFrame:
    """Per language of ``universe`` (the study languages and any other language with values of the outcome):
    analysed or not, and every reason it fell out -- its outcome values (none, non-finite, no Δ at the main
    layer), no morphology value, no resource size, a missing control.  ``with_values``: the languages the alignment
    tables hold values of the outcome for (when given, a language without any is told apart from one without Δ)."""
    fell_out = fell_out or {}
    lang = language_means(cells, primary, controls) if len(cells) else pd.DataFrame(columns=["language"])
    lang = lang.set_index("language")
    rows = []
    study = set(universe)
    for l in dict.fromkeys([*universe, *lang.index]):
        reasons = []
        if study and l not in study:
            reasons.append(NOT_STUDIED)
        elif l in fell_out:
            reasons.append(fell_out[l])
        elif l not in lang.index and with_values is not None and l not in with_values:
            reasons.append(f"no {outcome} values in the alignment tables")
        elif l not in lang.index:
            reasons.append(f"no Δ {outcome} at the main layer (no base-model value, or no condition value)")
        else:
            r = lang.loc[l]

            def missing(c: str, r=r) -> bool:
                v = pd.to_numeric(r.get(c, np.nan), errors="coerce")
                return v is None or not np.isfinite(float(v))

            if missing(primary):
                reasons.append(f"no morphology value ({primary})")
            if missing(SIZE):
                reasons.append("no resource size (CC-100 GiB)")
            for c in interaction_controls(primary, controls):
                if missing(c):
                    reasons.append(f"no {c} value")
        rows.append({"outcome": outcome, "language": l, "analysed": not reasons, "reason": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=["outcome", "language", "analysed", "reason"])


def _terms(fit, names: list[str], at: float, ci: float) -> list[dict]:
    """The three terms from a fitted model whose first four columns are 1, m, s, m·s (contrasts for the slope at
    ``at`` = ln(L) − centre)."""
    k = len(names)
    rows = []
    for term, vec in (("morphology", {1: 1.0}), ("morphology_x_log_gib", {3: 1.0}), ("morphology_at_low", {1: 1.0, 3: at})):
        r = np.zeros(k)
        for j, v in vec.items():
            r[j] = v
        tt = fit.t_test(r)
        lo, hi = np.asarray(tt.conf_int(alpha=1 - ci)).ravel()
        rows.append({"term": term, "estimate": float(np.ravel(tt.effect)[0]), "se": float(np.ravel(tt.sd)[0]),
                     "ci_low": float(lo), "ci_high": float(hi), "p": float(np.ravel(tt.pvalue)[0])})
    return rows


def interaction_fit(lang: pd.DataFrame, primary: str, controls: list[str], at_gib: float, ci: float = 0.95) -> dict:
    """The language-mean model with HC3 errors.  Returns ``{"rows": [...], "n", "df_resid", "centre_gib",
    "morph_sd", "status"}``; the rows hold the three :data:`TERMS`."""
    import statsmodels.api as sm

    ctrl = interaction_controls(primary, controls)
    d = _finite(lang, [primary, SIZE, "delta", *ctrl])
    n, k = len(d), 4 + len(ctrl)
    info = {"n": n, "k": k, "df_resid": n - k, "centre_gib": float("nan"), "morph_sd": float("nan"), "rows": []}
    if n <= k:
        return {**info, "status": f"too few languages ({n}) for {k} parameters"}
    x = d[primary].to_numpy(float)
    sd = float(np.std(x, ddof=1))
    if not sd > 0:
        return {**info, "status": f"{primary} does not vary over the {n} languages"}
    m = (x - x.mean()) / sd
    centre = float(d[SIZE].astype(float).mean())
    s = d[SIZE].to_numpy(float) - centre
    X = np.column_stack([np.ones(n), m, s, m * s, *[d[c].to_numpy(float) for c in ctrl]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # HC3 at a leverage-1 point divides by zero: the CI says so (inf/nan)
        fit = sm.OLS(d["delta"].to_numpy(float), X).fit(cov_type="HC3", use_t=True)
        rows = _terms(fit, ["const", "m", "s", "m:s", *ctrl], math.log(at_gib) - centre, ci)
    status = "ok" if np.linalg.matrix_rank(X) == k else "rank-deficient design"
    return {**info, "centre_gib": math.exp(centre), "morph_sd": sd, "morph_mean": float(x.mean()), "centre": centre,
            "rows": rows, "status": status}


def interaction_cluster_fit(cells: pd.DataFrame, lang_fit: dict, primary: str, controls: list[str], at_gib: float,
                            languages: list[str], ci: float = 0.95) -> dict:
    """The cell-level model: the same m (standardised over the languages, as in ``lang_fit``), s and m·s, condition
    fixed effects, errors clustered by language."""
    import statsmodels.api as sm

    ctrl = interaction_controls(primary, controls)
    d = _finite(cells[cells["language"].isin(languages)], [primary, SIZE, "delta", *ctrl])
    conds = sorted(d["condition"].unique())
    g = d["language"].nunique()
    info = {"n": g, "n_cells": len(d), "rows": []}
    if len(conds) < 2:
        return {**info, "status": "one condition: nothing to pool"}
    if g < MIN_CLUSTERS:
        return {**info, "status": f"not fitted: {g} language clusters, fewer than {MIN_CLUSTERS} (clustered errors unreliable)"}
    m = (d[primary].to_numpy(float) - lang_fit["morph_mean"]) / lang_fit["morph_sd"]
    s = d[SIZE].to_numpy(float) - lang_fit["centre"]
    fe = pd.get_dummies(pd.Categorical(d["condition"], categories=conds), drop_first=True, dtype=float).to_numpy()
    X = np.column_stack([np.ones(len(d)), m, s, m * s, *[d[c].to_numpy(float) for c in ctrl], fe])
    groups = pd.factorize(d["language"])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.OLS(d["delta"].to_numpy(float), X).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        names = ["const", "m", "s", "m:s", *ctrl, *[f"C{i}" for i in range(fe.shape[1])]]
        rows = _terms(fit, names, math.log(at_gib) - lang_fit["centre"], ci)
    return {**info, "rows": rows, "status": "ok"}


def subset_fit(lang: pd.DataFrame, lang_fit: dict, primary: str, controls: list[str], low_resource_gib: float,
               ci: float = 0.95) -> dict:
    """The additive model Δ ~ m + s + controls on the languages under ``low_resource_gib`` (HC3), m in the SD units
    of all analysed languages."""
    import statsmodels.api as sm

    ctrl = interaction_controls(primary, controls)
    d = _finite(lang, [primary, SIZE, "delta", *ctrl])
    d = d[d["cc100_gib"].astype(float) < low_resource_gib]
    n, k = len(d), 3 + len(ctrl)
    info = {"n": n, "df_resid": n - k, "rows": []}
    if n <= k:
        return {**info, "status": f"too few low-resource languages ({n}) for {k} parameters"}
    m = (d[primary].to_numpy(float) - lang_fit["morph_mean"]) / lang_fit["morph_sd"]
    X = np.column_stack([np.ones(n), m, d[SIZE].to_numpy(float), *[d[c].to_numpy(float) for c in ctrl]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.OLS(d["delta"].to_numpy(float), X).fit(cov_type="HC3", use_t=True)
        lo, hi = fit.conf_int(alpha=1 - ci)[1]
    row = {"term": "morphology", "estimate": float(fit.params[1]), "se": float(fit.bse[1]), "ci_low": float(lo),
           "ci_high": float(hi), "p": float(fit.pvalues[1])}
    return {**info, "rows": [row], "status": "ok"}


COLUMNS = ["outcome", "role", "model", "languages", "term", "at_gib", "estimate", "se", "ci_low", "ci_high", "p", "p_holm",
           "holm_family", "n", "n_cells", "df_resid", "min_detectable_r", "centre_gib", "predictor", "predictor_sd",
           "controls", "status"]


def rows_for_outcome(outcome: str, role: str, cells: pd.DataFrame, primary: str, controls: list[str], at_gib: float,
                 low_resource_gib: float, languages: list[str], ci: float = 0.95) -> list[dict]:
    """Every model's rows for one outcome (``cells``: one row per language × condition with ``delta``)."""
    lang = language_means(cells, primary, controls)
    lang = lang[lang["language"].isin(languages)]
    ctrl = interaction_controls(primary, controls)
    base = {"outcome": outcome, "role": role, "predictor": primary, "controls": " + ".join([SIZE, *ctrl])}
    main = interaction_fit(lang, primary, controls, at_gib, ci)
    fits = [("interaction_hc3", "all", main)]
    if main["rows"]:
        fits.append(("interaction_cluster", "all", interaction_cluster_fit(cells, main, primary, controls, at_gib, languages, ci)))
        fits.append(("subset_hc3", f"under {low_resource_gib:g} GiB",
                     subset_fit(lang, main, primary, controls, low_resource_gib, ci)))
    out = []
    for model, subset, f in fits:
        extra = {"model": model, "languages": subset, "n": f["n"], "n_cells": f.get("n_cells", np.nan),
                 "df_resid": f.get("df_resid", np.nan), "min_detectable_r": min_detectable_r(f["n"]),
                 "centre_gib": main["centre_gib"], "predictor_sd": main["morph_sd"], "status": f["status"]}
        if model == "subset_hc3":
            extra["controls"] = " + ".join([SIZE, *ctrl])
        if not f["rows"]:
            out.append({**base, **extra, "term": TERMS[1] if model != "subset_hc3" else "morphology"})
            continue
        for r in f["rows"]:
            at = {"morphology": main["centre_gib"], "morphology_at_low": at_gib}.get(r["term"], np.nan)
            if model == "subset_hc3":
                at = np.nan
            out.append({**base, **extra, **r, "at_gib": at})
    return out


def interaction_table(per_outcome: dict[str, pd.DataFrame], primary: str, controls: list[str], at_gib: float,
                      low_resource_gib: float, languages: dict[str, list[str]], ci: float = 0.95) -> pd.DataFrame:
    """All outcomes (the first is the primary one), Holm across outcomes within each (model, languages, term)."""
    rows = []
    for i, (outcome, cells) in enumerate(per_outcome.items()):
        rows += rows_for_outcome(outcome, "primary" if i == 0 else "secondary", cells, primary, controls, at_gib,
                             low_resource_gib, languages[outcome], ci)
    df = pd.DataFrame(rows).reindex(columns=COLUMNS)
    outcomes = list(per_outcome)
    df["holm_family"] = df["holm_family"].astype(object)
    for (model, subset, term), idx in df.groupby(["model", "languages", "term"], sort=False).groups.items():
        df.loc[idx, "p_holm"] = adjust(df.loc[idx, "p"].astype(float).tolist(), "holm")
        df.loc[idx, "holm_family"] = (f"{term}, {model} ({subset}), across {len(outcomes)} outcome"
                                      f"{'s' if len(outcomes) != 1 else ''}: {', '.join(outcomes)}")
    return df
