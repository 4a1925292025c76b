"""Alignment measures on parallel sentence embeddings (rows of X and Y are translations), the same for every corpus
of translation pairs (Tatoeba; the multi-parallel FLORES+ devtest: ``xstilts.outcomes``):

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

from xstilts.outcomes import ALIGNMENT_CORPORA, MEASURES
from xstilts.retrieval import HIT_DIRECTIONS, check_translation_pairs, l2_normalize, read_hits, tatoeba_hits

__all__ = ["MEASURES", "alignment_job", "alignment_table", "cosine_gap", "geometry_measures", "linear_cka", "measures_for_layer",
           "pair_job", "retrieval_measures"]


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


def retrieval_measures(hits: dict) -> dict[str, float]:
    """The retrieval measures of one layer from its per-sentence hits (``xstilts.retrieval.tatoeba_hits``)."""
    m = {d: float(np.mean(hits[d])) for d in HIT_DIRECTIONS}
    return {"retrieval_en2xx": m["en2xx"], "retrieval_xx2en": m["xx2en"], "retrieval_mean": (m["en2xx"] + m["xx2en"]) / 2,
            "retrieval_centered_en2xx": m["centred_en2xx"],
            "retrieval_centered_mean": (m["centred_en2xx"] + m["centred_xx2en"]) / 2}


def geometry_measures(x: np.ndarray, y: np.ndarray, name: str) -> dict[str, float]:
    """The measures that need the vectors themselves: linear CKA and the cosine gap."""
    check_translation_pairs(x, y, name)
    return {"cka": linear_cka(x, y), "cosine_gap": cosine_gap(x, y)}


def measures_for_layer(x: np.ndarray, y: np.ndarray, use_gpu: bool | None = None, name: str = "alignment") -> dict[str, float]:
    """Every measure of one layer from its embeddings (the searches included; the workflow reads them from the
    retrieval job's hits instead of searching again: :func:`pair_job`)."""
    hits, _ = tatoeba_hits(x, y, use_gpu, name=name)
    return {**retrieval_measures(hits), **geometry_measures(x, y, name)}


def alignment_table(src: np.ndarray, en: np.ndarray, layers: list[int], language: str, condition: str,
                    hits: pd.DataFrame, source: str = "embeddings", *, corpus: str) -> pd.DataFrame:
    """Tidy table (corpus, language, condition, layer, measure, value) over every stored layer: retrieval measures
    from the per-sentence ``hits`` (every layer of the embeddings, the same sentences), CKA and cosine gap from the
    vectors (``source`` names the embeddings file in errors). ``corpus`` (xstilts.outcomes.ALIGNMENT_CORPORA) is
    in every row, so tables of both corpora can be concatenated and an outcome picked by name."""
    if corpus not in ALIGNMENT_CORPORA:
        raise ValueError(f"{source}: corpus {corpus!r} is not one of {list(ALIGNMENT_CORPORA)}")
    rows = []
    for li, layer in enumerate(layers):
        name = f"{source} (language {language}, condition {condition}, layer {layer})"
        h = hits[hits["layer"] == layer]
        if len(h) != len(src[li]):
            raise ValueError(f"{name}: the hits table has {len(h)} sentences at this layer, the embeddings {len(src[li])}; "
                             "they must come from the same retrieval job")
        measures = {**retrieval_measures({d: h[d].to_numpy() for d in HIT_DIRECTIONS}), **geometry_measures(src[li], en[li], name)}
        for measure, value in measures.items():
            rows.append({"corpus": corpus, "language": language, "condition": condition, "layer": int(layer), "measure": measure,
                         "value": value})
    return pd.DataFrame(rows)


def alignment_job(embeddings: str, hits: str, language: str, condition: str, out: str, *, corpus: str) -> pd.DataFrame:
    """Every measure at every stored layer of one corpus × language × condition (the searches' hits from its
    retrieval job, the geometry from the embeddings); written as parquet."""
    from xstilts.io import atomic_write_parquet, load_embeddings

    arrays, layers, _ = load_embeddings(embeddings)
    df = alignment_table(arrays["src"], arrays["en"], layers, language, condition, read_hits(hits), source=embeddings,
                         corpus=corpus)
    atomic_write_parquet(df, out)
    return df


def pair_job(embeddings: str, layer: int, lang: str, condition: str, out: dict[str, str], *, corpus: str) -> dict:
    """The workflow's retrieval job of one corpus × language × condition: the embeddings are read once, every search
    runs once (``out["hits"]``, per sentence, every stored layer; ``out["score"]``, accuracy@1 at hidden_states
    ``layer`` with the set size and chance level: :func:`xstilts.retrieval.tatoeba_job`), and the alignment measures
    of every stored layer are taken from those hits and the same vectors (``out["alignment"]``). Returns the scores."""
    from xstilts.io import atomic_write_parquet, load_embeddings
    from xstilts.retrieval import pair_retrieval

    arrays, layers, meta = load_embeddings(embeddings)
    hits, scores = pair_retrieval(arrays, layers, meta, embeddings, layer, lang, condition, out, corpus=corpus)
    df = alignment_table(arrays["src"], arrays["en"], layers, lang, condition, hits, source=embeddings, corpus=corpus)
    atomic_write_parquet(df, out["alignment"])
    return scores
