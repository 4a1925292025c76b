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
