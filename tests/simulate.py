"""Simulated data shaped like the real study: 36 languages × 11 conditions (base + 10), language random effects,
task random effects, and a resource-size confounder correlated with morphology."""

import numpy as np
import pandas as pd


def simulate(seed: int, beta: float, n_lang: int = 36, n_cond: int = 10, gamma: float = 0.03, rho: float = 0.5,
             sd_lang: float = 0.03, sd_task: float = 0.02, sd_cell: float = 0.03) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    log_gib = rng.normal(2.5, 1.3, n_lang)
    zsize = (log_gib - log_gib.mean()) / log_gib.std()
    morph = rho * zsize + np.sqrt(1 - rho**2) * rng.standard_normal(n_lang)
    u = rng.normal(0, sd_lang, n_lang)
    v = rng.normal(0, sd_task, n_cond)
    rows = []
    for l in range(n_lang):
        for t in range(n_cond):
            delta = beta * morph[l] + gamma * zsize[l] + u[l] + v[t] + rng.normal(0, sd_cell)
            rows.append({"language": f"L{l}", "condition": f"T{t}", "family": f"F{l % 7}", "composite": morph[l],
                         "log_gib": log_gib[l], "delta": delta})
    return pd.DataFrame(rows)


def language_level(cells: pd.DataFrame) -> pd.DataFrame:
    return cells.groupby("language").agg(composite=("composite", "first"), log_gib=("log_gib", "first"), delta=("delta", "mean")).reset_index()


def simulate_study(seed: int, interaction: float, morph_slope: float = 0.01, n_lang: int = 90, n_cond: int = 3) -> pd.DataFrame:
    """Study-shaped cells for the morphology × size model: ``n_lang`` languages with CC-100 sizes log-uniform on
    0.1–300 GiB, morphology standard normal, script shared with English (half), tokenizer fertility that rises with
    morphology, base alignment that rises with size; Δ per language × condition with a planted ``interaction``
    (per unit of morphology per unit of ln GiB, size centred at ln 10 GiB), language and condition random effects and
    noisier low-resource languages (heteroskedastic, as real Δs are)."""
    rng = np.random.default_rng(seed)
    log_gib = rng.uniform(np.log(0.1), np.log(300.0), n_lang)
    morph = rng.standard_normal(n_lang)
    shares = (rng.random(n_lang) < 0.5).astype(float)
    fertility = 1.4 + 0.15 * morph + rng.normal(0, 0.1, n_lang)
    base = np.clip(0.3 + 0.06 * log_gib + rng.normal(0, 0.05, n_lang), 0.01, 0.99)
    s = log_gib - np.log(10.0)
    sd_lang = np.where(log_gib < np.log(10.0), 0.02, 0.01)
    lang_effect = (morph_slope * morph + 0.004 * s + interaction * morph * s + 0.01 * shares - 0.02 * (fertility - 1.4)
                   - 0.05 * (base - 0.4) + rng.normal(0, 1, n_lang) * sd_lang)
    cond_effect = rng.normal(0, 0.01, n_cond)
    rows = []
    for l in range(n_lang):
        for t in range(n_cond):
            rows.append({"language": f"L{l:02d}", "condition": f"T{t}", "composite": morph[l], "log_gib": log_gib[l],
                         "cc100_gib": float(np.exp(log_gib[l])), "shares_script": shares[l], "fertility": fertility[l],
                         "base_alignment": base[l], "delta": lang_effect[l] + cond_effect[t] + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)
