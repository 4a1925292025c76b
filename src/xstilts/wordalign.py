"""Word pairs from an independent statistical aligner (eflomal), computed once per language on the study's parallel
text, independent of condition and layer (issue 19).

* Words: :func:`word_spans` cuts a sentence into words -- maximal runs of letters/digits (with inner apostrophes or
  hyphens), and every other non-space character on its own. The same spans define the words whose contextual
  vectors the embedding job pools (:mod:`xstilts.embed`, the mean of the subword pieces that overlap the span).
* Scripts written without word spaces (``morphology.unsegmented``: zh, ja, th, lo, km, my) are **skipped**, with the
  reason recorded in the artifact: whitespace runs are whole clauses there, and single characters are letters in
  th/lo/km/my (a word segmenter per language would be needed; none is pinned).
* Alignment: eflomal (Östling & Tiedemann 2016) both directions on the lowercased words; the pairs kept are the
  **intersection** of the forward and reverse links (a link is kept only where both directions agree). The aligner
  sees the measured sentences plus any other pinned parallel text of the language (its Tatoeba pairs when it has
  them) to get better lexical statistics; only the measured corpus's links are written.
* The artifact (``LAYOUT.word_pairs``): one row per confident link (``sentence``: row of the corpus; ``en_word``,
  ``xx_word``: word indices in :func:`word_spans` order), with the aligner, its settings, the training sentences,
  the number of links and the CPU seconds in the parquet's metadata (:func:`read_pairs`).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ALIGNER = "eflomal"
ALIGNER_SETTINGS = {"model": 3, "n_samplers": 3, "null_prior": 0.2, "symmetrisation": "intersection", "lowercase": True}
WORD_RE = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]")
PAIR_COLUMNS = ("sentence", "en_word", "xx_word")


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans ``[start, end)`` of the words of ``text`` (see the module docstring)."""
    return [m.span() for m in WORD_RE.finditer(text)]


def words(text: str) -> list[str]:
    return [text[a:b] for a, b in word_spans(text)]


def parse_pharaoh(line: str) -> set[tuple[int, int]]:
    """``"0-0 1-2"`` -> ``{(0, 0), (1, 2)}`` (source index first)."""
    return {tuple(map(int, tok.split("-"))) for tok in line.split()}


def intersect(fwd: list[str], rev: list[str]) -> list[set[tuple[int, int]]]:
    """Per sentence, the links both directions produced (the Pharaoh files of eflomal's forward and reverse models)."""
    if len(fwd) != len(rev):
        raise ValueError(f"forward and reverse alignments differ in length ({len(fwd)} vs {len(rev)} sentences)")
    return [parse_pharaoh(f) & parse_pharaoh(r) for f, r in zip(fwd, rev)]


def align(en: list[list[str]], xx: list[list[str]], seed: int = 0) -> list[set[tuple[int, int]]]:
    """eflomal on tokenised sentence pairs (English as the source side), symmetrised by intersection: per sentence a
    set of ``(en_word, xx_word)`` links. Empty sentences get no links (eflomal is given a placeholder)."""
    import eflomal

    if len(en) != len(xx):
        raise ValueError(f"{len(en)} English vs {len(xx)} non-English sentences: not parallel")
    np.random.seed(seed)  # eflomal's C sampler seeds itself; this fixes what numpy draws, where it draws
    s = {k: v for k, v in ALIGNER_SETTINGS.items() if k in ("model", "n_samplers", "null_prior")}
    aligner = eflomal.Aligner(**s)

    def lines(sents):
        return [(" ".join(w.lower().replace(" ", "_") for w in t) or "∅") + "\n" for t in sents]

    with tempfile.TemporaryDirectory() as tmp:
        fwd, rev = Path(tmp) / "fwd", Path(tmp) / "rev"
        aligner.align(lines(en), lines(xx), links_filename_fwd=str(fwd), links_filename_rev=str(rev), quiet=True)
        links = intersect(fwd.read_text().splitlines(), rev.read_text().splitlines())
    return [set() if not (e and x) else {(i, j) for i, j in l if i < len(e) and j < len(x)}
            for l, e, x in zip(links, en, xx)]


def pairs_frame(links: list[set[tuple[int, int]]]) -> pd.DataFrame:
    rows = sorted((s, i, j) for s, l in enumerate(links) for i, j in l)
    return pd.DataFrame(rows, columns=list(PAIR_COLUMNS), dtype="int32") if rows else \
        pd.DataFrame({c: pd.Series([], dtype="int32") for c in PAIR_COLUMNS})


def write_pairs(df: pd.DataFrame, info: dict, path: str) -> None:
    """The pairs with ``info`` (aligner, settings, counts, seconds) in the parquet's key-value metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from xstilts.io import atomic_path

    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"xstilts.wordpairs": json.dumps(info).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_pairs(path: str) -> tuple[pd.DataFrame, dict]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(b"xstilts.wordpairs", b"{}"))
    if not meta or any(c not in table.column_names for c in PAIR_COLUMNS):
        raise ValueError(f"{path}: not a word-pairs file (columns {PAIR_COLUMNS} and its aligner metadata); rerun its wordalign job")
    return table.to_pandas(), meta


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (eflomal's sampler runs as a child process)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def wordpairs_job(*, parallel: str, lang: str, pivot: str, out: str, extra: list[str] = (), unsegmented: list[str] = (),
                  seed: int = 0) -> dict:
    """One language's word pairs on the multi-parallel corpus (``parallel``: FLORES+ devtest, or the synthetic
    world's parallel set), the aligner also reading the Tatoeba tables in ``extra``. Returns the recorded info."""
    from xstilts import contracts

    t0 = cpu_seconds()
    df = pd.read_parquet(parallel)
    contracts.parallel_columns(df, [lang, pivot], parallel)
    info = {"language": lang, "aligner": ALIGNER, "settings": dict(ALIGNER_SETTINGS), "corpus": Path(parallel).name,
            "sentences": len(df)}
    if lang in unsegmented:
        info.update(skipped=f"{lang} is written without word spaces (morphology.unsegmented): no word segmentation is pinned",
                    links=0, training_sentences=0, cpu_seconds=0.0)
        write_pairs(pairs_frame([]), info, out)
        return info
    en = [words(t) for t in df[pivot]]
    xx = [words(t) for t in df[lang]]
    more_en, more_xx = [], []
    for path in extra:
        t = contracts.read("tatoeba", path)
        more_en += [words(s) for s in t["target_sentence"]]
        more_xx += [words(s) for s in t["source_sentence"]]
    links = align(en + more_en, xx + more_xx, seed)[: len(en)]
    pairs = pairs_frame(links)
    info.update(training_sentences=len(en) + len(more_en), extra=[Path(p).name for p in extra], links=len(pairs),
                links_per_sentence=len(pairs) / max(len(en), 1), en_words=sum(map(len, en)), xx_words=sum(map(len, xx)),
                cpu_seconds=round(cpu_seconds() - t0, 3))
    write_pairs(pairs, info, out)
    return info


def precision_recall(pred: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Precision and recall of predicted links against true links (both: sentence, en_word, xx_word)."""
    p = set(map(tuple, pred[list(PAIR_COLUMNS)].to_numpy().tolist()))
    t = set(map(tuple, truth[list(PAIR_COLUMNS)].to_numpy().tolist()))
    hit = len(p & t)
    return {"precision": hit / len(p) if p else float("nan"), "recall": hit / len(t) if t else float("nan"),
            "predicted": len(p), "true": len(t)}
