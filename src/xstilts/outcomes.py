"""The alignment outcomes: which corpus of translation pairs and which measure (no dependencies, so the config check,
the plan, the labels and the regression share one definition).

An outcome is named ``<corpus>.<measure>`` -- ``flores.retrieval_en2xx`` is the accuracy@1 with English queries on
the multi-parallel corpus (FLORES+ devtest; the synthetic world's parallel set in the demo), ``tatoeba.cka`` the
linear CKA on each language's Tatoeba pairs. A bare measure name (``retrieval_en2xx``) is the Tatoeba one, as
before the multi-parallel corpus had alignment measures. The alignment tables carry ``corpus`` and ``measure``
columns; :func:`outcome_rows` picks one outcome's rows.
"""

from __future__ import annotations

# the corpora of translation pairs with retrieval and alignment measures (the workflow's {corpus} wildcard): each
# language's Tatoeba test set (its own sentences and size), and the multi-parallel corpus (the same sentences in
# every language; its English side is the pivot column)
ALIGNMENT_CORPORA = ("tatoeba", "flores")
CORPUS_NAMES = {"tatoeba": "Tatoeba", "flores": "FLORES+"}
BARE_CORPUS = "tatoeba"  # the corpus of a bare measure name
# the measures of xstilts.alignment, per corpus x condition x language x stored layer
MEASURES = ("retrieval_en2xx", "retrieval_xx2en", "retrieval_mean", "retrieval_centered_en2xx", "retrieval_centered_mean",
            "cka", "cosine_gap")
# word-level measures (xstilts.wordalign): retrieval of each English word occurrence's aligned word among the
# candidate words of its sentence and of the whole set, aligned minus random-pair cosine, and each split by whether
# the non-English word is one subword piece or several; measured on the multi-parallel corpus only (WORD_CORPUS)
WORD_BASE_MEASURES = ("word_retrieval_sent", "word_retrieval_set", "word_cosine_gap")
WORD_SPLITS = ("single", "multi")
WORD_MEASURES = (*WORD_BASE_MEASURES, *(f"{m}_{s}" for m in WORD_BASE_MEASURES for s in WORD_SPLITS))
WORD_CORPUS = "flores"
# every name `regression.outcome` accepts (the schema's enum lists the same; tests/test_plan.py checks they agree)
OUTCOMES = (*MEASURES, *(f"{c}.{m}" for c in ALIGNMENT_CORPORA for m in MEASURES), *(f"{WORD_CORPUS}.{m}" for m in WORD_MEASURES))


def split_outcome(name: str) -> tuple[str, str]:
    """``"flores.cka"`` -> ``("flores", "cka")``; a bare measure is Tatoeba's; anything else is a ValueError naming
    the config key and the accepted names."""
    corpus, _, measure = name.rpartition(".")
    corpus = corpus or BARE_CORPUS
    if f"{corpus}.{measure}" not in OUTCOMES:
        raise ValueError(f"config key 'regression.outcome': {name!r} is not an alignment outcome "
                         f"(<corpus>.<measure>, corpus one of {list(ALIGNMENT_CORPORA)}, measure one of {list(MEASURES)}; "
                         f"word measures on {WORD_CORPUS} only: {list(WORD_MEASURES)})")
    return corpus, measure


def qualified(name: str) -> str:
    """The corpus-qualified form of an outcome name (``retrieval_en2xx`` -> ``tatoeba.retrieval_en2xx``)."""
    return ".".join(split_outcome(name))


def outcome_rows(align, name: str, key: str = "regression.outcome"):
    """The rows of alignment tables (columns corpus, measure, ...) that hold outcome ``name``; a ValueError naming
    the config ``key`` and the outcomes present when there are none."""
    corpus, measure = split_outcome(name)
    if "corpus" not in align:
        raise ValueError(f"the alignment tables have no 'corpus' column (columns {list(align.columns)}); rerun the retrieval jobs that write them")
    rows = align[(align["corpus"] == corpus) & (align["measure"] == measure)]
    if rows.empty:
        present = sorted({f"{c}.{m}" for c, m in zip(align["corpus"], align["measure"])})
        raise ValueError(f"config key {key!r}: no alignment values for {name!r} (outcomes present: {present})")
    return rows
