"""Data contracts: one definition per canonical table of the data stage (columns, dtypes, normalisation).

Every writer of canonical data (the synthetic world, the real-source converters in ``xstilts.sources``) and every
reader that needs a normalisation goes through :func:`write` and :func:`read`, so the format is defined once. Each
table names the layout keys it is stored under (``xstilts.plan.TEMPLATES``: the one place that knows paths):

=====================  ==========================================  =============================================
table                  layout keys                                 columns (kind)
=====================  ==========================================  =============================================
pair_classification    ``intermediate_split``, ``target_split``,   sentence1 (text), sentence2 (text or null for
                       ``target_test``                             single-sentence tasks), label (label *name*)
multiple_choice        same                                        context (text), endings (list of text),
                                                                   label (index of the right ending)
span_qa                same                                        id, context, question, answer_text (text, or
                                                                   the list of *every* gold answer), answer_start
                                                                   (int or list, aligned with answer_text)
tagging                same                                        tokens (list of text), tags (list of tag names)
tatoeba                ``tatoeba``                                 source_sentence, target_sentence (text, no
                                                                   trailing newline), source_lang, target_lang
bucc_sentences         ``bucc``                                    id, text, side (language code or the pivot)
bucc_gold              ``bucc_gold``                               src_id, en_id
parallel               ``parallel``                                one text column per language code
mono                   ``mono``, ``mlm_text``                      text
wals_values …          ``wals`` (table = values, languages,        CLDF columns (strings), LF line endings
                       parameters, codes)
=====================  ==========================================  =============================================

Task tables may carry a ``language`` column (the ``<task>+translated`` training tables: English and MT rows).

Labels of classification and tagging tables are stored as label *names*; class ids of an upstream dataset are
mapped to names when it is converted, so nothing downstream ever sees upstream ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from xstilts.io import atomic_path, atomic_write_parquet


class ContractError(ValueError):
    """A table that does not follow its contract; the message names the file."""


def _strip_text(s: pd.Series) -> pd.Series:
    """Strip surrounding whitespace and line breaks (google/xtreme's Tatoeba kept a trailing newline; LASER files
    may end with CRLF)."""
    return s.map(lambda v: v.strip() if isinstance(v, str) else v)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    description: str
    optional: tuple[str, ...] = ()
    normalise: dict[str, Callable[[pd.Series], pd.Series]] = field(default_factory=dict)
    nonempty_text: tuple[str, ...] = ()  # columns whose values must be non-empty strings
    fmt: str = "parquet"
    layout: tuple[str, ...] = ()  # the layout keys (xstilts.plan.TEMPLATES) this table is stored under

    def check(self, df: pd.DataFrame, where: str) -> pd.DataFrame:
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise ContractError(f"{where}: table '{self.name}' lacks column(s) {missing} (has {list(df.columns)}); "
                                f"contract: {', '.join(self.columns)}")
        extra = [c for c in df.columns if c not in self.columns and c not in self.optional]
        if extra and self.fmt == "parquet":
            raise ContractError(f"{where}: table '{self.name}' has unexpected column(s) {extra}")
        df = df.copy()
        for col, fn in self.normalise.items():
            if col in df:
                df[col] = fn(df[col])
        for col in self.nonempty_text:
            bad = [i for i, v in enumerate(df[col]) if not isinstance(v, str) or not v]
            if bad:
                raise ContractError(f"{where}: table '{self.name}' column '{col}' has {len(bad)} empty or non-text "
                                    f"value(s) (first rows {bad[:5]})")
        return df


TASKS = ("intermediate_split", "target_split", "target_test")  # every task table lives under these layout keys
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("pair_classification", ("sentence1", "sentence2", "label"), "sentence pair (or single sentence) + label name",
              optional=("language",), layout=TASKS),
        Table("multiple_choice", ("context", "endings", "label"), "context, candidate endings, index of the right one",
              optional=("language",), layout=TASKS),
        Table("span_qa", ("id", "context", "question", "answer_text", "answer_start"), "extractive QA, every gold answer",
              optional=("language",), layout=TASKS),
        Table("tagging", ("tokens", "tags"), "words and one tag name per word", layout=TASKS),
        Table("tatoeba", ("source_sentence", "target_sentence", "source_lang", "target_lang"),
              "aligned sentence pairs (non-English source, English target)",
              normalise={"source_sentence": _strip_text, "target_sentence": _strip_text},
              nonempty_text=("source_sentence", "target_sentence"), layout=("tatoeba",)),
        Table("bucc_sentences", ("id", "text", "side"), "comparable corpus sentences of both sides, with distractors",
              normalise={"text": _strip_text}, layout=("bucc",)),
        Table("bucc_gold", ("src_id", "en_id"), "gold translation pairs by sentence id", layout=("bucc_gold",)),
        Table("mono", ("text",), "monolingual text", layout=("mono", "mlm_text")),
        Table("wals_values", ("ID", "Language_ID", "Parameter_ID", "Value"), "CLDF ValueTable", fmt="csv", layout=("wals",),
              optional=("Code_ID", "Comment", "Source", "Example_ID")),
        Table("wals_languages", ("ID", "Name", "ISO639P3code"), "CLDF LanguageTable", fmt="csv", layout=("wals",)),
        Table("wals_parameters", ("ID", "Name"), "CLDF ParameterTable", fmt="csv", layout=("wals",)),
        Table("wals_codes", ("ID", "Parameter_ID", "Name"), "CLDF CodeTable", fmt="csv", layout=("wals",)),
    )
}


def table(name: str) -> Table:
    if name not in TABLES:
        raise KeyError(f"no data contract named {name!r} (known: {sorted(TABLES)})")
    return TABLES[name]


def check_rows(n: int, expected: int | None, where: str, tolerance: float = 0.02) -> None:
    """A converted table's row count must be within ``tolerance`` (relative) of the expected count."""
    if n == 0:
        raise ContractError(f"{where}: no rows")
    if expected is not None and abs(n - expected) > tolerance * expected:
        raise ContractError(f"{where}: {n} rows, expected {expected} (±{tolerance:.0%}); the upstream file changed or "
                            "was converted wrongly")


def write(name: str, df: pd.DataFrame, path: str | Path, expected_rows: int | None = None, tolerance: float = 0.02) -> Path:
    """Check ``df`` against the contract ``name``, normalise it and write it atomically (parquet or LF CSV)."""
    t = table(name)
    df = t.check(df, str(path))
    check_rows(len(df), expected_rows, str(path), tolerance)
    if t.fmt == "csv":
        with atomic_path(path) as tmp:
            df.to_csv(tmp, index=False, lineterminator="\n")
    else:
        atomic_write_parquet(df.reset_index(drop=True), path)
    return Path(path)


def read(name: str, path: str | Path) -> pd.DataFrame:
    """Read a table and apply its contract (CSV: every column as text, CRLF or LF accepted)."""
    t = table(name)
    p = Path(path)
    if not p.exists():
        raise ContractError(f"{p}: not found (table '{name}')")
    if t.fmt == "csv":
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    else:
        df = pd.read_parquet(p)
    return t.check(df, str(p))


def parallel_columns(df: pd.DataFrame, langs: list[str], where: str) -> None:
    """The multi-parallel corpus needs one text column per language."""
    missing = [l for l in langs if l not in df.columns]
    if missing:
        raise ContractError(f"{where}: multi-parallel corpus lacks language column(s) {missing}")
