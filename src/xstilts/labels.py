"""What every quantity is called and in which unit it is shown: one place for the figures, the HTML tables and the
summary.

Accuracies, F1 scores and the retrieval measures (Tatoeba, FLORES+) are fractions in the result files (the data) and **points
(0–100)** wherever a reader sees them; a change Δ in such a quantity is in points too.  CKA and the cosine gap have
no such scale and are shown as they are.  A key without an entry is shown as it is written.
"""

from __future__ import annotations

import math

from xstilts.outcomes import CORPUS_NAMES, OUTCOMES, split_outcome

# the alignment measures (xstilts.alignment), without the corpus: what each one is
_MEASURE_WORDS: dict[str, str] = {
    "retrieval_en2xx": "retrieval accuracy en→xx",
    "retrieval_xx2en": "retrieval accuracy xx→en",
    "retrieval_mean": "retrieval accuracy, mean of en→xx and xx→en",
    "retrieval_centered_en2xx": "retrieval accuracy en→xx, mean-centred embeddings",
    "retrieval_centered_mean": "retrieval accuracy, mean-centred, mean of both directions",
    "cka": "linear CKA",
    "cosine_gap": "cosine gap (translations − other pairs)",
    "word_retrieval_sent": "word retrieval accuracy in the sentence",
    "word_retrieval_set": "word retrieval accuracy in the set",
    "word_cosine_gap": "word cosine gap (aligned − random pairs)",
}
_WORD_SPLIT_WORDS = {"single": "one-piece words", "multi": "multi-piece words"}
for _m in list(_MEASURE_WORDS):
    if _m.startswith("word_"):
        _MEASURE_WORDS.update({f"{_m}_{s}": f"{_MEASURE_WORDS[_m]}, {w}" for s, w in _WORD_SPLIT_WORDS.items()})


def _measure_label(corpus: str, measure: str, bare: bool) -> str:
    words = _MEASURE_WORDS[measure]
    if measure.startswith(("retrieval_", "word_retrieval_")):
        return f"{CORPUS_NAMES[corpus]} {words}"
    return words if bare else f"{words}, {CORPUS_NAMES[corpus]}"


# every name `regression.outcome` accepts (xstilts.outcomes: <corpus>.<measure>; a bare measure is Tatoeba's)
MEASURES: dict[str, str] = {name: _measure_label(*split_outcome(name), bare="." not in name) for name in OUTCOMES}
# measures that are proportions, shown in points
POINT_MEASURES = frozenset(k for k in MEASURES if split_outcome(k)[1].startswith(("retrieval_", "word_retrieval_")))

# language-level predictors and controls (xstilts.morphology, the language table)
PREDICTORS: dict[str, str] = {
    "composite": "morphology composite (PC1)",
    "true_synthesis": "true synthesis (bound categories)",
    "ttr": "type–token ratio",
    "mattr": "moving-average type–token ratio",
    "entropy": "word entropy (bits)",
    "entropy_plugin": "word entropy, plug-in (bits)",
    "ws_info": "word-structure information",
    "word_length": "mean word length",
    "fertility": "subword fertility (tokens per word)",
    "continued": "share of words split into subwords",
    "token_ratio_en": "tokens relative to English",
    "log_gib": "log pretraining data (GiB)",
    "shares_script": "shares the English script",
    "base_alignment": "base-model alignment",
    "wals_22A": "WALS 22A inflectional synthesis of the verb",
    "wals_49A": "WALS 49A number of cases",
}

# the regression ladder (xstilts.regression); SLOPE_MODELS estimate a slope, the others a rank correlation
MODELS: dict[str, str] = {
    "spearman_unadjusted": "Spearman ρ, unadjusted",
    "partial_spearman": "partial Spearman ρ",
    "ols_hc3": "OLS, HC3 errors",
    "freedman_lane": "Freedman–Lane permutation",
    "cluster_boot": "language-cluster bootstrap",
    "mixed": "mixed model",
    # the morphology × resource-size model (xstilts.interaction)
    "interaction_hc3": "morphology × ln GiB, language means, HC3 errors",
    "interaction_cluster": "morphology × ln GiB, cells with condition effects, errors clustered by language",
    "subset_hc3": "additive, low-resource subset, HC3 errors",
}
# the terms of the morphology × resource-size model
TERMS: dict[str, str] = {
    "morphology": "morphology slope",
    "morphology_x_log_gib": "morphology × ln GiB",
    "morphology_at_low": "morphology slope",
}
SLOPE_MODELS = frozenset({"ols_hc3", "freedman_lane", "cluster_boot", "mixed"})

# columns of the tables (result files and the regression tables)
COLUMNS: dict[str, str] = {
    "condition": "condition",
    "language": "language",
    "acc_en2xx": "accuracy en→xx",
    "acc_xx2en": "accuracy xx→en",
    "acc_mean": "accuracy, mean of both directions",
    "chance": "chance (1/N)",
    "test_f1": "test F1 (dev threshold)",
    "dev_f1": "dev F1",
    "oracle_test_f1": "oracle test F1",
    "threshold_from_dev": "threshold (from dev)",
    "duplicates": "duplicates",
    "fallback_rows": "fallback rows",
    "backend": "backend",
    "base_acc": "base accuracy",
    "acc": "accuracy",
    "delta": "Δ",
    "subset": "languages",
    "predictor": "predictor",
    "model": "model",
    "controls": "controls",
    "estimate": "estimate",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "p": "p",
    "p_holm": "p (Holm)",
    "p_bh": "p (BH)",
    "n": "n",
    "status": "status",
    "XTREME": "XTREME-style score",
}
# columns that hold proportions (shown in points)
POINT_COLUMNS = frozenset({"acc_en2xx", "acc_xx2en", "acc_mean", "chance", "test_f1", "dev_f1", "oracle_test_f1", "base_acc",
                           "acc", "delta", "accuracy", "f1", "exact_match", "score"})


def _split(key: str) -> tuple[str, str]:
    """``corpus.measure`` → (corpus, measure); a bare measure → ("", measure)."""
    corpus, _, base = str(key).rpartition(".")
    return corpus, base


def measure(key: str) -> str:
    """A measure in words; a corpus-qualified one (``flores.cka``) as the measure on that corpus."""
    if key in MEASURES:
        return MEASURES[key]
    corpus, base = _split(key)
    if corpus and base in MEASURES:
        return f"{MEASURES[base].removeprefix('Tatoeba ')} on {corpus}"
    return key


def predictor(key: str) -> str:
    if key in PREDICTORS:
        return PREDICTORS[key]
    if key.startswith("wals_"):
        return f"WALS {key.removeprefix('wals_')}"
    return key


def model(key: str) -> str:
    return MODELS.get(key, key)


def column(key: str) -> str:
    return COLUMNS.get(key, MEASURES.get(key, PREDICTORS.get(key, key)))


def controls(text: str) -> str:
    """A ``controls`` cell of a regression table (``a + b`` or ``none``) in words."""
    if not isinstance(text, str) or text in ("", "none"):
        return "none"
    return ", ".join(predictor(c.strip()) for c in text.split("+"))


def scale(key: str) -> float:
    """Factor from the stored value to the shown one: 100 for a proportion (points), else 1."""
    return 100.0 if key in POINT_MEASURES or key in POINT_COLUMNS or _split(key)[1] in POINT_MEASURES else 1.0


def unit(key: str) -> str:
    """The unit a measure or column is shown in ("points" or "")."""
    return "points" if scale(key) == 100.0 else ""


def with_unit(text: str, key: str) -> str:
    u = unit(key)
    return f"{text} ({u})" if u else text


def delta_axis(outcome: str) -> str:
    """The axis label of a change in ``outcome``: what it is, the contrast and the unit."""
    u = unit(outcome)
    return f"Δ {measure(outcome)}\n(condition − base{', ' + u if u else ''})"


def signed(x: float, key: str = "delta", digits: int = 1) -> str:
    """A change in the display unit of ``key``, with its sign (``+4.0``); a missing value is ``–``."""
    if x is None or not math.isfinite(float(x)):
        return "–"
    v = scale(key) * float(x)
    d = digits if scale(key) == 100.0 else max(digits, 3)
    return f"{v:+.{d}f}"


def p_value(p: float) -> str:
    if p is None or not math.isfinite(float(p)):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.2g}" if p < 0.01 else f"{p:.2f}"
