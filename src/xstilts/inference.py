"""Small inference helpers shared by the regression ladder (xstilts.regression) and the morphology × size model
(xstilts.interaction): the power line and the multiplicity adjustment."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def min_detectable_r(n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest |r| detectable at two-sided alpha with the given power (Fisher z approximation)."""
    if n <= 3:
        return float("nan")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(math.tanh(z / math.sqrt(n - 3)))


def adjust(pvals: list[float], method: str) -> list[float]:
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvals, float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out.tolist()
