"""Alignment measures on parallel sentence embeddings (rows of X and Y are translations).

* ``retrieval_en2xx`` / ``retrieval_xx2en`` / ``retrieval_mean``: Tatoeba accuracy@1 with English queries (the
  XTREME/jiant headline), with non-English queries, and the mean of both (cosine; ties: lower index);
* ``retrieval_centered_en2xx`` / ``retrieval_centered_mean``: the same after subtracting each language's mean
  vector (language neutrality, Libovický et al. 2020);
* ``cka``: linear CKA (Kornblith et al. 2019) between the two representation matrices;
* ``cosine_gap``: mean cosine of translation pairs minus mean cosine of non-translation pairs.

Non-finite or mismatched embeddings are an error naming the input (never a 0.0 that looks like a measurement).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xstilts.retrieval import (
    RetrievalInputError,
    check_pair,
    l2_normalize,
    tatoeba_scores,
)

MEASURES = ("retrieval_en2xx", "retrieval_xx2en", "retrieval_mean", "retrieval_centered_en2xx", "retrieval_centered_mean", "cka",
            "cosine_gap")


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F) with column-centred X, Y (float64)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x = x - x.mean(0)
    y = y - y.mean(0)
    num = np.linalg.norm(y.T @ x, "fro") ** 2
    den = np.linalg.norm(x.T @ x, "fro") * np.linalg.norm(y.T @ y, "fro")
    return float(num / den) if den > 0 else 0.0


def cosine_gap(x: np.ndarray, y: np.ndarray) -> float:
    """mean_i cos(x_i, y_i) - mean_{i != j} cos(x_i, y_j)."""
    xn, yn = l2_normalize(x).astype(np.float64), l2_normalize(y).astype(np.float64)
    n = len(xn)
    diag = float(np.einsum("ij,ij->i", xn, yn).mean())
    total = float(xn.sum(0) @ yn.sum(0))
    off = (total - diag * n) / (n * (n - 1)) if n > 1 else 0.0
    return diag - off


def check_parallel(x: np.ndarray, y: np.ndarray, name: str) -> None:
    """Finite, non-empty, same dimension and the same number of rows (translation pairs)."""
    check_pair(x, y, f"{name} (non-English side)", f"{name} (English side)")
    if len(x) != len(y):
        raise RetrievalInputError(f"{name}: the sides differ in length ({len(x)} vs {len(y)}); alignment needs translation pairs")


def measures_for_layer(x: np.ndarray, y: np.ndarray, use_gpu: bool | None = None, name: str = "alignment") -> dict[str, float]:
    check_parallel(x, y, name)
    plain = tatoeba_scores(x, y, use_gpu, name=name)
    centred = tatoeba_scores(x - x.mean(0), y - y.mean(0), use_gpu, name=f"{name} (mean-centred)")
    return {
        "retrieval_en2xx": plain["acc_en2xx"],
        "retrieval_xx2en": plain["acc_xx2en"],
        "retrieval_mean": plain["acc_mean"],
        "retrieval_centered_en2xx": centred["acc_en2xx"],
        "retrieval_centered_mean": centred["acc_mean"],
        "cka": linear_cka(x, y),
        "cosine_gap": cosine_gap(x, y),
    }


def alignment_table(src: np.ndarray, en: np.ndarray, layers: list[int], language: str, condition: str,
                    use_gpu: bool | None = None, source: str = "embeddings") -> pd.DataFrame:
    """Tidy table (language, condition, layer, measure, value) over every stored layer (``source`` names the
    embeddings file in errors)."""
    rows = []
    for li, layer in enumerate(layers):
        name = f"{source} (language {language}, condition {condition}, layer {layer})"
        for measure, value in measures_for_layer(src[li], en[li], use_gpu, name=name).items():
            rows.append({"language": language, "condition": condition, "layer": int(layer), "measure": measure, "value": value})
    return pd.DataFrame(rows)


def alignment_job(embeddings: str, language: str, condition: str, out: str) -> pd.DataFrame:
    """Every measure at every stored layer of one language × condition's Tatoeba embeddings, on the CPU (a small
    job that asks for no GPU); written as parquet."""
    from xstilts.io import atomic_write_parquet, load_embeddings

    arrays, layers, _ = load_embeddings(embeddings)
    df = alignment_table(arrays["src"], arrays["en"], layers, language, condition, use_gpu=False, source=embeddings)
    atomic_write_parquet(df, out)
    return df
