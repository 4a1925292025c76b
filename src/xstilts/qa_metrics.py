"""Span-QA scoring as XTREME computes it: F1 and exact match, each the maximum over *all* gold answers.

Two answer normalisations, chosen per task by the config key ``qa_metric`` (task metadata, never the task name):

* ``squad`` — the SQuAD v1.1 script (``evaluate_squad.py``; XQuAD and TyDiQA-GoldP in XTREME): lower-case, drop
  ASCII punctuation, drop English articles, split on whitespace.
* ``mlqa`` — the MLQA script (``evaluate_mlqa.py``; MLQA in XTREME), which depends on the answer language: drop every
  Unicode punctuation character (category P*) and ASCII punctuation, drop that language's articles, and split Chinese
  into single CJK characters (mixed segmentation) where the other languages split on whitespace.

Scores are fractions in [0, 1] (XTREME prints percentages).  This module has no heavy imports.
"""

from __future__ import annotations

import collections
import re
import string
import unicodedata
from collections.abc import Callable, Iterable

import numpy as np

# per-language article patterns of evaluate_mlqa.py; None: the language has no articles to remove.  Arabic's pattern
# is the reference's as written: its first alternative cannot match, so every occurrence of "ال" becomes a space.
MLQA_ARTICLES: dict[str, str | None] = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "hi": None,
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    "ar": r"\sال^|ال",
    "zh": None,
}
# languages tokenised by mixed segmentation (each CJK ideograph a token); the rest split on whitespace
MLQA_MIXED_SEGMENTATION = frozenset({"zh"})
_CJK = re.compile(r"[\u4e00-\u9fa5]")  # the reference's range (CJK Unified Ideographs, to U+9FA5)
_ASCII_PUNCT = frozenset(string.punctuation)
_EN_ARTICLES = re.compile(r"\b(a|an|the)\b")


def _is_unicode_punct(ch: str) -> bool:
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def normalize_squad(s: str, lang: str | None = None) -> str:
    """SQuAD v1.1: lower-case, strip ASCII punctuation, English articles and extra whitespace (any language)."""
    s = "".join(ch for ch in s.lower() if ch not in _ASCII_PUNCT)
    return " ".join(_EN_ARTICLES.sub(" ", s).split())


def _mixed_segmentation(text: str) -> list[str]:
    out, run = [], []
    for ch in text:
        if _CJK.match(ch) or _is_unicode_punct(ch):
            out += "".join(run).split()
            run = []
            out.append(ch)
        else:
            run.append(ch)
    return out + "".join(run).split()


def normalize_mlqa(s: str, lang: str | None) -> str:
    """MLQA: lower-case, strip Unicode punctuation, the language's articles, then segment (zh) or split on spaces."""
    if lang not in MLQA_ARTICLES:
        raise ValueError(f"qa_metric 'mlqa' has no normalisation for answer language {lang!r}; known: {sorted(MLQA_ARTICLES)}")
    s = "".join(ch for ch in s.lower() if not _is_unicode_punct(ch))
    if MLQA_ARTICLES[lang] is not None:
        s = re.sub(MLQA_ARTICLES[lang], " ", s)
    tokens = _mixed_segmentation(s) if lang in MLQA_MIXED_SEGMENTATION else s.split()
    return " ".join(t for t in tokens if t.strip())


NORMALIZERS: dict[str, Callable[[str, str | None], str]] = {"squad": normalize_squad, "mlqa": normalize_mlqa}


def get_normalizer(name: str) -> Callable[[str, str | None], str]:
    try:
        return NORMALIZERS[name]
    except KeyError:
        raise KeyError(f"unknown qa_metric {name!r}; known: {sorted(NORMALIZERS)}") from None


def f1(pred: str, gold: str, normalize: Callable = normalize_squad, lang: str | None = None) -> float:
    p, g = normalize(pred, lang).split(), normalize(gold, lang).split()
    same = sum((collections.Counter(p) & collections.Counter(g)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def exact_match(pred: str, gold: str, normalize: Callable = normalize_squad, lang: str | None = None) -> float:
    return float(normalize(pred, lang) == normalize(gold, lang))


def gold_answers(value) -> list[str]:
    """Every gold answer text of one example: a string (the synthetic world) or a list/array of strings (the canonical
    schema of real data, which keeps all of SQuAD dev's and MLQA's answers)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    raise TypeError(f"answer_text must be a string or a list of strings, got {type(value).__name__}")


def score(preds: Iterable[str], golds: Iterable, qa_metric: str = "squad", lang: str | None = None) -> dict:
    """Mean over examples of the best F1 and the best exact match over each example's gold answers."""
    normalize = get_normalizer(qa_metric)
    f1s, ems = [], []
    for i, (p, g) in enumerate(zip(preds, golds, strict=True)):
        answers = gold_answers(g)
        if not answers:
            raise ValueError(f"example {i} has no gold answer")
        f1s.append(max(f1(p, a, normalize, lang) for a in answers))
        ems.append(max(exact_match(p, a, normalize, lang) for a in answers))
    if not f1s:
        raise ValueError("no examples to score")
    return {"f1": float(np.mean(f1s)), "exact_match": float(np.mean(ems)), "n": len(f1s)}
