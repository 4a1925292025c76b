"""Does morphological complexity predict the change in alignment after English intermediate training?

Outcome: Δ = alignment(condition) − alignment(base) per language × condition (× layer), where "alignment" is the
measure chosen by ``regression.outcome`` (``<corpus>.<measure>``, xstilts.outcomes; the studies' configs choose
``flores.retrieval_en2xx``: accuracy@1 with English queries on FLORES+ devtest); every table carries it in an
``outcome`` column.  Language-level predictors
(morphology, resource size, script, fertility) vary only across languages, so the conditions are repeated measures:
the confirmatory analyses are language-level, and the cell-level model has a language random intercept.

Ladder (each returns tidy rows with estimate, CI, p):

* ``spearman_unadjusted``  Spearman ρ(morph, Δ) with a percentile bootstrap CI over languages -- **no controls**: a
  confounder such as resource size makes it reject under the null, so it is labelled unadjusted wherever shown;
* ``partial_spearman``  Spearman ρ(morph, Δ | controls): ranks of morph and Δ residualised on the ranks of the same
  controls as the OLS model (as ``pingouin.partial_corr(method="spearman")``), t-test p, bootstrap CI;
* ``ols_hc3``        Δ ~ morph + controls, HC3 standard errors;
* ``freedman_lane``  permutation p for the morph slope with covariates (permute reduced-model residuals);
* ``cluster_boot``   cell-level OLS with condition fixed effects, CI from resampling whole languages;
* ``mixed``          cell-level mixed model: language, family and task variance components;
* Holm and BH across secondary measures; the low-resource subset; VIFs; minimum detectable effect.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from xstilts.inference import adjust, min_detectable_r
from xstilts.outcomes import outcome_rows
from xstilts.plan import base_condition, condition_type, layer_position

# --------------------------------------------------------------------------------------------------------------
# design helpers
# --------------------------------------------------------------------------------------------------------------


def design(df: pd.DataFrame, x: str, controls: list[str]) -> np.ndarray:
    cols = [np.ones(len(df)), df[x].to_numpy(float)] + [df[c].to_numpy(float) for c in controls]
    return np.column_stack(cols)


def _usable(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df.dropna(subset=cols)


def vifs(df: pd.DataFrame, cols: list[str]) -> dict[str, float]:
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    d = _usable(df, cols)
    if len(d) <= len(cols) + 1:
        return {c: float("nan") for c in cols}
    X = np.column_stack([np.ones(len(d))] + [d[c].to_numpy(float) for c in cols])
    return {c: float(variance_inflation_factor(X, i + 1)) for i, c in enumerate(cols)}


# --------------------------------------------------------------------------------------------------------------
# the ladder
# --------------------------------------------------------------------------------------------------------------


def _boot_ci(stat, arrays: list[np.ndarray], n_boot: int, seed: int, ci: float) -> tuple[float, float]:
    """Percentile bootstrap CI of ``stat(*arrays)`` resampling rows (languages); degenerate resamples skipped."""
    rng = np.random.default_rng(seed)
    n = len(arrays[0])
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, n, n)
        if any(np.ptp(a[i], axis=0).min() == 0 for a in arrays):
            continue
        boots.append(stat(*(a[i] for a in arrays)))
    boots = [b for b in boots if np.isfinite(b)]
    if not boots:
        return np.nan, np.nan
    lo, hi = np.percentile(boots, [(1 - ci) / 2 * 100, (1 + ci) / 2 * 100])
    return float(lo), float(hi)


def spearman(df: pd.DataFrame, x: str, y: str, n_boot: int, seed: int, ci: float = 0.95) -> dict:
    """Unadjusted Spearman ρ (no controls), percentile bootstrap CI over languages."""
    d = _usable(df, [x, y])
    n = len(d)
    out = {"model": "spearman_unadjusted", "controls": "none"}
    if n < 4:
        return {**out, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "n": n}
    xs, ys = d[x].to_numpy(float), d[y].to_numpy(float)
    rho, p = stats.spearmanr(xs, ys)
    lo, hi = _boot_ci(lambda a, b: stats.spearmanr(a, b)[0], [xs, ys], n_boot, seed, ci)
    return {**out, "estimate": float(rho), "ci_low": lo, "ci_high": hi, "p": float(p), "n": n}


def _partial_rank_r(xs: np.ndarray, ys: np.ndarray, zs: np.ndarray) -> float:
    rx, ry = stats.rankdata(xs), stats.rankdata(ys)
    Z = np.column_stack([np.ones(len(xs))] + [stats.rankdata(c) for c in zs.T])
    ex = rx - Z @ np.linalg.lstsq(Z, rx, rcond=None)[0]
    ey = ry - Z @ np.linalg.lstsq(Z, ry, rcond=None)[0]
    den = np.sqrt((ex @ ex) * (ey @ ey))
    return float(ex @ ey / den) if den > 0 else np.nan


def partial_spearman(df: pd.DataFrame, x: str, y: str, controls: list[str], n_boot: int, seed: int, ci: float = 0.95) -> dict:
    """Partial Spearman ρ(x, y | controls): Pearson r of the rank residuals after regressing the ranks of x and y on
    the ranks of the controls; p from t = r √((n − 2 − k)/(1 − r²)) with n − 2 − k degrees of freedom."""
    d = _usable(df, [x, y, *controls])
    n, k = len(d), len(controls)
    out = {"model": "partial_spearman", "controls": " + ".join(controls) or "none"}
    if n - 2 - k < 2:
        return {**out, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "n": n,
                "status": f"too few languages ({n}) for {k} controls"}
    xs, ys = d[x].to_numpy(float), d[y].to_numpy(float)
    zs = d[controls].to_numpy(float).reshape(n, k)
    r = _partial_rank_r(xs, ys, zs)
    dof = n - 2 - k
    p = float(2 * stats.t.sf(abs(r) * np.sqrt(dof / max(1 - r * r, 1e-300)), dof)) if np.isfinite(r) else np.nan
    lo, hi = _boot_ci(lambda a, b, c: _partial_rank_r(a, b, c), [xs, ys, zs], n_boot, seed, ci) if k else \
        _boot_ci(lambda a, b: stats.spearmanr(a, b)[0], [xs, ys], n_boot, seed, ci)
    return {**out, "estimate": r, "ci_low": lo, "ci_high": hi, "p": p, "n": n, "status": "ok"}


def ols_hc3(df: pd.DataFrame, x: str, y: str, controls: list[str], ci: float = 0.95) -> dict:
    import statsmodels.api as sm

    d = _usable(df, [x, y, *controls])
    n, k = len(d), 2 + len(controls)
    if n <= k + 1:
        return {"model": "ols_hc3", "estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "n": n,
                "status": f"too few languages ({n}) for {k} parameters"}
    fit = sm.OLS(d[y].to_numpy(float), design(d, x, controls)).fit(cov_type="HC3")
    lo, hi = fit.conf_int(alpha=1 - ci)[1]
    return {"model": "ols_hc3", "estimate": float(fit.params[1]), "se": float(fit.bse[1]), "ci_low": float(lo), "ci_high": float(hi),
            "p": float(fit.pvalues[1]), "n": n, "r2": float(fit.rsquared), "status": "ok"}


def _t_stats(X: np.ndarray, Y: np.ndarray, j: int) -> np.ndarray:
    """OLS t statistic of column j for every column of Y at once (classical SE)."""
    xtx_inv = np.linalg.pinv(X.T @ X)
    B = xtx_inv @ X.T @ Y
    E = Y - X @ B
    dof = X.shape[0] - X.shape[1]
    s2 = (E**2).sum(0) / dof
    return B[j] / np.sqrt(s2 * xtx_inv[j, j])


def freedman_lane(df: pd.DataFrame, x: str, y: str, controls: list[str], n_perm: int, seed: int) -> dict:
    """Permutation p-value of the morph slope with covariates (Freedman & Lane 1983), languages as the unit."""
    d = _usable(df, [x, y, *controls])
    n = len(d)
    X = design(d, x, controls)
    if n <= X.shape[1] + 1:
        return {"model": "freedman_lane", "estimate": np.nan, "p": np.nan, "n": n, "status": "too few languages"}
    yv = d[y].to_numpy(float)
    Z = np.delete(X, 1, axis=1)
    gamma = np.linalg.lstsq(Z, yv, rcond=None)[0]
    fitted, resid = Z @ gamma, yv - Z @ gamma
    rng = np.random.default_rng(seed)
    perms = np.stack([rng.permutation(n) for _ in range(n_perm)], axis=1)
    Ystar = fitted[:, None] + resid[perms]
    t_obs = _t_stats(X, yv[:, None], 1)[0]
    t_perm = _t_stats(X, Ystar, 1)
    p = (1 + np.sum(np.abs(t_perm) >= abs(t_obs) - 1e-12)) / (1 + n_perm)
    beta = np.linalg.lstsq(X, yv, rcond=None)[0][1]
    return {"model": "freedman_lane", "estimate": float(beta), "t": float(t_obs), "p": float(p), "n": n, "n_perm": n_perm, "status": "ok"}


def cluster_bootstrap(cells: pd.DataFrame, x: str, y: str, controls: list[str], n_boot: int, seed: int,
                      cluster: str = "language", fe: str = "condition", ci: float = 0.95) -> dict:
    """Cell-level OLS Δ ~ morph + controls + condition FE; percentile CI from resampling whole languages."""
    d = _usable(cells, [x, y, *controls])
    langs = d[cluster].unique()
    if len(langs) <= 2 + len(controls) + 1:
        return {"model": "cluster_boot", "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": len(langs), "status": "too few languages"}
    fe_d = pd.get_dummies(d[fe], drop_first=True, dtype=float).to_numpy()

    def fit(rows: np.ndarray) -> float:
        X = np.column_stack([design(d.iloc[rows], x, controls), fe_d[rows]])
        return float(np.linalg.lstsq(X, d[y].to_numpy(float)[rows], rcond=None)[0][1])

    groups = {g: np.flatnonzero(d[cluster].to_numpy() == g) for g in langs}
    est = fit(np.arange(len(d)))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        pick = rng.choice(langs, len(langs), replace=True)
        rows = np.concatenate([groups[g] for g in pick])
        if np.ptp(d[x].to_numpy(float)[rows]) == 0:
            continue
        boots.append(fit(rows))
    lo, hi = np.percentile(boots, [(1 - ci) / 2 * 100, (1 + ci) / 2 * 100])
    return {"model": "cluster_boot", "estimate": est, "ci_low": float(lo), "ci_high": float(hi), "n": len(langs),
            "n_boot": len(boots), "status": "ok"}


def mixed_model(cells: pd.DataFrame, x: str, y: str, controls: list[str]) -> dict:
    """Δ ~ morph + controls with variance components for language, family and task (one group: crossed effects)."""
    import statsmodels.formula.api as smf

    d = _usable(cells, [x, y, *controls]).copy()
    d["_one"] = 1
    formula = f"{y} ~ {' + '.join([x, *controls])}"
    vc = {"language": "0 + C(language)"}
    if d["family"].nunique() > 1:
        vc["family"] = "0 + C(family)"
    if d["condition"].nunique() > 1:
        vc["task"] = "0 + C(condition)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = smf.mixedlm(formula, d, groups="_one", re_formula="0", vc_formula=vc).fit(reml=True, method="lbfgs")
        lo, hi = fit.conf_int().loc[x]
        vcs = dict(zip(fit.model.exog_vc.names, np.atleast_1d(fit.vcomp).tolist()))
        return {"model": "mixed", "estimate": float(fit.params[x]), "se": float(fit.bse[x]), "ci_low": float(lo), "ci_high": float(hi),
                "p": float(fit.pvalues[x]), "n": int(d["language"].nunique()), "n_cells": len(d), "status": "ok" if fit.converged else "not converged",
                "variance_components": vcs}
    except Exception as e:  # noqa: BLE001 - a failed fit is reported, never fatal
        return {"model": "mixed", "estimate": np.nan, "p": np.nan, "n": int(d["language"].nunique()), "status": f"failed: {e}"}


# --------------------------------------------------------------------------------------------------------------
# the whole analysis
# --------------------------------------------------------------------------------------------------------------


def language_ladder(lang: pd.DataFrame, x: str, y: str, controls: list[str], settings: dict, seed: int) -> list[dict]:
    n_boot, n_perm = settings["n_boot"], settings["n_perm"]
    adjusted = " + ".join(controls) or "none"
    return [
        spearman(lang, x, y, n_boot, seed),
        partial_spearman(lang, x, y, controls, n_boot, seed),
        {"controls": adjusted, **ols_hc3(lang, x, y, controls)},
        {"controls": adjusted, **freedman_lane(lang, x, y, controls, n_perm, seed)},
    ]


def run_analysis(cells: pd.DataFrame, predictors: list[str], primary: str, controls: list[str], settings: dict, seed: int,
                 low_resource: set[str]) -> dict[str, pd.DataFrame]:
    """``cells``: one row per language × condition with ``delta`` and language-level columns.

    Returns tables: ``per_condition`` (ladder per condition, primary predictor and outcome), ``pooled`` (mean Δ over
    conditions, every predictor, language-level ladder + cell-level models, with Holm/BH over the secondary
    predictors), ``low_resource`` (the same on the low-resource subset) and ``diagnostics`` (VIFs, n, MDE).
    """
    rows = []
    for cond, sub in cells.groupby("condition", sort=True):
        for r in language_ladder(sub, primary, "delta", controls, settings, seed):
            rows.append({"condition": cond, "predictor": primary, **r})
    per_condition = pd.DataFrame(rows)

    def pooled_for(c: pd.DataFrame, subset: str) -> pd.DataFrame:
        out = []
        lang = c.groupby("language").agg({**{p: "first" for p in predictors + controls}, "family": "first", "delta": "mean"}).reset_index()
        for p in predictors:
            ctrl = [k for k in controls if k != p]
            for r in language_ladder(lang, p, "delta", ctrl, settings, seed):
                out.append({"subset": subset, "predictor": p, **r})
            adjusted = " + ".join(ctrl) or "none"
            out.append({"subset": subset, "predictor": p, "controls": adjusted,
                        **cluster_bootstrap(c, p, "delta", ctrl, settings["n_boot"], seed)})
            if p == primary or settings["mixed_all_predictors"]:
                out.append({"subset": subset, "predictor": p, "controls": adjusted, **mixed_model(c, p, "delta", ctrl)})
        df = pd.DataFrame(out)
        # slopes per SD of the predictor (over languages), comparable across predictors in the forest plot
        df["predictor_sd"] = df["predictor"].map({p: float(lang[p].std(ddof=1)) for p in predictors})
        fl = df["model"] == "freedman_lane"
        secondary = fl & (df["predictor"] != primary)
        df["p_holm"] = np.nan
        df["p_bh"] = np.nan
        df.loc[secondary, "p_holm"] = adjust(df.loc[secondary, "p"].tolist(), "holm")
        df.loc[secondary, "p_bh"] = adjust(df.loc[secondary, "p"].tolist(), "fdr_bh")
        prim = fl & (df["predictor"] == primary)
        for col in ("p_holm", "p_bh"):  # the pre-registered primary test is not adjusted
            df.loc[prim, col] = df.loc[prim, "p"]
        return df

    pooled = pooled_for(cells, "all")
    low = cells[cells["language"].isin(low_resource)]
    low_df = pooled_for(low, "low_resource") if low["language"].nunique() >= 4 else pd.DataFrame(
        [{"subset": "low_resource", "predictor": primary, "model": "none", "status": f"only {low['language'].nunique()} low-resource languages"}])
    lang = cells.groupby("language").first().reset_index()
    n = int(lang[primary].notna().sum())
    diag = [{"diagnostic": "vif", "variable": k, "value": v} for k, v in vifs(lang, [primary, *controls]).items()]
    diag += [{"diagnostic": "n_languages", "variable": primary, "value": n},
             {"diagnostic": "min_detectable_r", "variable": primary, "value": min_detectable_r(n)},
             {"diagnostic": "n_low_resource", "variable": primary, "value": int(low["language"].nunique())}]
    return {"per_condition": per_condition, "pooled": pooled, "low_resource": low_df, "diagnostics": pd.DataFrame(diag)}


def build_cells(align: pd.DataFrame, morph: pd.DataFrame, meta: pd.DataFrame, outcome: str, layer: int, pivot: str,
                low_resource_gib: float, *, key: str = "regression.outcome",
                fell_out: dict[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Δ = outcome(condition) − outcome(base) per language × condition at the main layer (and per layer).

    Adds language-level columns: morphology measures, log CC-100 GiB, script shared with the pivot, family, base
    alignment and the low-resource flag.  A language with a non-finite value of the outcome (any condition, any
    layer) is left out of both tables; ``fell_out`` (when given) receives its reason, naming the first such value.
    An outcome without values is an error naming ``key``.
    """
    a = outcome_rows(align, outcome, key)
    finite = np.isfinite(a["value"].astype(float).to_numpy())
    if not finite.all():
        bad = a[~finite]
        for lang, rows in bad.groupby("language", sort=True):
            r = rows.iloc[0]
            reason = (f"non-finite {outcome} (condition {r['condition']}, layer {r['layer']}; {len(rows)} value"
                      f"{'s' if len(rows) != 1 else ''})")
            warnings.warn(f"language {lang}: {reason}: left out of the regression on {outcome}", stacklevel=2)
            if fell_out is not None:
                fell_out[str(lang)] = reason
        a = a[~a["language"].isin(set(bad["language"]))]
        if a.empty:
            raise ValueError(f"config key {key!r}: every value of outcome {outcome!r} is non-finite")
    layer_position(layer, sorted(int(v) for v in a["layer"].unique()), "the alignment tables")
    main = layer
    wide = a.pivot_table(index=["language", "layer"], columns="condition", values="value")
    if "base" not in wide:
        raise ValueError("no base-condition alignment: the regression needs the base model's scores")
    layer_delta = wide.drop(columns="base").sub(wide["base"], axis=0).stack().rename("delta").reset_index()
    layer_delta["base_alignment"] = [wide.loc[(l, y), "base"] for l, y in zip(layer_delta["language"], layer_delta["layer"])]
    main_rows = wide.xs(main, level="layer")
    cells = main_rows.drop(columns="base").sub(main_rows["base"], axis=0).stack().rename("delta").reset_index()
    cells["base_alignment"] = cells["language"].map(main_rows["base"])
    pivot_script = meta.loc[pivot, "script"] if pivot in meta.index else "Latn"
    m = meta.reindex(cells["language"])
    cells["log_gib"] = np.log(m["cc100_gib"].astype(float).to_numpy())
    cells["cc100_gib"] = m["cc100_gib"].astype(float).to_numpy()
    cells["shares_script"] = (m["script"] == pivot_script).astype(float).to_numpy()
    cells["family"] = m["family"].fillna("unknown").to_numpy()
    cells["low_resource"] = cells["cc100_gib"] < low_resource_gib
    num = morph.select_dtypes("number")
    cells = cells.join(num, on="language")
    return cells, layer_delta


def per_layer(layer_delta: pd.DataFrame, cells: pd.DataFrame, primary: str, controls: list[str], settings: dict, seed: int) -> pd.DataFrame:
    """The language-level ladder at every stored layer: mean Δ over conditions ~ morphology (+ controls, with the base
    alignment of that layer)."""
    lang_cols = [c for c in dict.fromkeys([primary, *controls]) if c != "base_alignment" and c in cells]
    lang = cells.groupby("language")[lang_cols].first()
    rows = []
    for layer, d in layer_delta.groupby("layer"):
        t = d.groupby("language").agg(delta=("delta", "mean"), base_alignment=("base_alignment", "first")).join(lang).reset_index()
        for r in language_ladder(t, primary, "delta", [c for c in controls if c in t], settings, seed):
            rows.append({"layer": int(layer), "predictor": primary, **r})
    return pd.DataFrame(rows)


def alternatives_table(cells: pd.DataFrame, primary: str, controls: list[str], n_boot: int, seed: int,
                       ci: float = 0.95) -> pd.DataFrame:
    """Does an alternative (+MLM, +translated) change the morphology slope of the alignment change? Per condition
    type: the cells of the alternative conditions and of the plain English conditions they vary (``qa+mlm`` and
    ``qa``), one OLS ``Δ ~ z + alt + z:alt + task FE + controls`` (z = ``primary`` standardised over the languages,
    alt = 1 for the alternative), CIs from resampling whole languages (``n_boot``; the two cells of a language stay
    together). Rows: ``slope_english`` (points of Δ per SD under English training), ``shift`` (the alternative's Δ
    minus English's at the mean morphology) and ``slope_change`` (its slope minus English's: the interaction)."""
    types = cells["condition"].map(condition_type)
    rows = []
    for ctype in ("+MLM", "+translated"):
        alt = cells[types == ctype]
        if alt.empty:
            continue
        pairs = {base_condition(c) for c in alt["condition"]}
        d = pd.concat([cells[cells["condition"].isin(pairs)], alt], ignore_index=True)
        ctrl = [c for c in controls if c in d and d[c].notna().all() and c != primary]
        d = d.dropna(subset=[primary, "delta"])
        langs = sorted(d["language"].unique())
        lang_x = d.groupby("language")[primary].first()
        z = (d[primary] - lang_x.mean()) / lang_x.std(ddof=1)
        a = (d["condition"].map(condition_type) == ctype).astype(float).to_numpy()
        task = pd.get_dummies(d["condition"].map(base_condition), drop_first=True, dtype=float)
        X = np.column_stack([np.ones(len(d)), z, a, z * a, task.to_numpy(), d[ctrl].to_numpy(float)])
        y = d["delta"].to_numpy(float)

        def fit(idx: np.ndarray, X=X, y=y) -> np.ndarray:
            return np.linalg.lstsq(X[idx], y[idx], rcond=None)[0][1:4]

        est = fit(np.arange(len(d)))
        by_lang = {l: np.flatnonzero(d["language"].to_numpy() == l) for l in langs}
        rng = np.random.default_rng(seed)
        boots = np.array([fit(np.concatenate([by_lang[l] for l in rng.choice(langs, len(langs))])) for _ in range(n_boot)])
        lo, hi = np.nanpercentile(boots, [50 * (1 - ci), 50 * (1 + ci)], axis=0)
        for j, term in enumerate(("slope_english", "shift", "slope_change")):
            rows.append({"condition_type": ctype, "term": term, "predictor": primary, "estimate": float(est[j]),
                         "ci_low": float(lo[j]), "ci_high": float(hi[j]), "n_languages": len(langs), "n_cells": len(d),
                         "conditions": " ".join(sorted(set(d["condition"]))), "controls": " + ".join(ctrl) or "none",
                         "model": "ols_language_bootstrap"})
    if not rows:
        return pd.DataFrame([{"condition_type": "none", "term": "none", "predictor": primary, "model": "none",
                              "status": "no +MLM or +translated condition in this study"}])
    return pd.DataFrame(rows).assign(status="ok")


TABLES = ("cells", "layers", "per_layer", "pooled", "low_resource", "diagnostics", "interaction", "sample", "alternatives")


def regression_job(*, alignment: list[str], morphology: str, languages: str, settings: dict, layer: int, pivot: str,
                   seed: int, out: dict[str, str], study_languages: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Assemble the Δ cells at hidden_states ``layer`` and run the ladder on the primary outcome, then the
    morphology × size model (:mod:`xstilts.interaction`) on every outcome.  ``settings`` is the regression section
    (outcome; outcomes, resolved by the plan with the primary first; primary, secondary, controls, low_resource_gib, interaction_at_gib, n_boot, n_perm,
    mixed_all_predictors).  ``study_languages``: the languages the accounting of who fell out starts from.  ``out``
    holds one path per :data:`TABLES` entry and one per condition (its ladder).  Every table names its outcome."""
    from xstilts import interaction as I
    from xstilts.io import atomic_write_text

    outcome = settings["outcome"]
    outcomes = settings["outcomes"]  # xstilts.plan: the primary first, no repeats
    align = pd.concat([pd.read_parquet(p) for p in alignment], ignore_index=True)
    for o in outcomes:  # every name is checked before anything is computed
        outcome_rows(align, o, "regression.outcome" if o == outcome else "regression.outcomes")
    morph = pd.read_csv(morphology).set_index("language")
    meta = pd.read_csv(languages, keep_default_na=False, na_values=[""]).set_index("iso639_1")
    per_outcome, samples, fell = {}, [], {}
    for o in outcomes:
        fell[o] = {}
        per_outcome[o] = build_cells(align, morph, meta, o, layer, pivot, settings["low_resource_gib"],
                                     key="regression.outcome" if o == outcome else "regression.outcomes", fell_out=fell[o])
    all_cells, all_layer_delta = per_outcome[outcome]
    all_cells.insert(1, "condition_type", all_cells["condition"].map(condition_type))
    # the pooled models, the per-layer ladder and the interaction model average over the plain English conditions, as
    # before the alternatives existed; each alternative gets its own ladder and the alternatives table
    english = {c for c in all_cells["condition"] if condition_type(c) == "English"}
    cells = all_cells[all_cells["condition"].isin(english)]
    layer_delta = all_layer_delta[all_layer_delta["condition"].isin(english)]
    predictors = [settings["primary"], *[p for p in settings["secondary"] if p in cells and cells[p].notna().any()]]
    res = run_analysis(cells, predictors, settings["primary"], settings["controls"], settings, seed,
                       set(cells.loc[cells["low_resource"], "language"]))
    extra = all_cells[~all_cells["condition"].isin(english)]
    if not extra.empty:
        res["per_condition"] = pd.concat([res["per_condition"], pd.DataFrame(
            [{"condition": cond, "predictor": settings["primary"], **r} for cond, sub in extra.groupby("condition", sort=True)
             for r in language_ladder(sub, settings["primary"], "delta", settings["controls"], settings, seed)])], ignore_index=True)
    res["alternatives"] = alternatives_table(all_cells, settings["primary"], settings["controls"], settings["n_boot"], seed)
    res["per_layer"] = per_layer(layer_delta, cells, settings["primary"], settings["controls"], settings, seed)
    res["cells"], res["layers"] = all_cells, all_layer_delta
    for table in res.values():  # every table names the outcome whose change Δ it holds
        table.insert(0, "outcome", outcome)
    universe = [l for l in (study_languages or []) if l != pivot]
    for o in outcomes:
        samples.append(I.sample_table(o, universe, per_outcome[o][0], settings["primary"], settings["controls"], fell[o],
                                      with_values=set(outcome_rows(align, o)["language"].astype(str))))
    res["sample"] = pd.concat(samples, ignore_index=True)
    analysed = {o: res["sample"].loc[(res["sample"]["outcome"] == o) & res["sample"]["analysed"], "language"].tolist()
                for o in outcomes}
    res["interaction"] = I.interaction_table({o: per_outcome[o][0][per_outcome[o][0]["condition"].isin(english)] for o in outcomes},
                                             settings["primary"], settings["controls"],
                                             settings["interaction_at_gib"], settings["low_resource_gib"], analysed)
    per_cond = res["per_condition"]
    for cond, path in out.items():
        if cond not in TABLES and cond in set(per_cond["condition"]):
            atomic_write_text(per_cond[per_cond["condition"] == cond].to_csv(index=False), path)
    for k in TABLES:
        atomic_write_text(res[k].to_csv(index=False), out[k])
    return res
