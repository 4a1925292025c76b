"""The language table (``config/languages.csv``) as a data contract.

One row per XLM-R pretraining language (romanised and second-script variants counted with their language) plus
English, and the few target-only languages of the tasks (``in_xlmr`` = no). :data:`COLUMNS` names every column, its
type and the shape of its values; :func:`read_language_table` is the one reader: it checks the header, the codes
(shape and uniqueness), the sizes (positive and finite) and the yes/no flags, and fails naming the file, the line,
the language and the column. The helpers answer what the study asks of the table: which languages have FLORES+,
which LASER Tatoeba test set belongs to which XLM-R language, which are low-resource.

Where each column comes from is written in ``config/languages.md``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["COLUMNS", "Column", "LanguageTableError", "read_language_table", "check_language_table", "with_flores",
           "xlmr_languages", "laser_to_language", "read_laser_outside", "under_gib", "cc100_total_gib"]


class LanguageTableError(ValueError):
    """The language table breaks its contract (the message names the file, line, language and column)."""


@dataclass(frozen=True)
class Column:
    """One column: ``dtype`` is what the reader returns (``str``: '' when empty; ``float``: NaN when empty; ``Int64``:
    pandas' nullable integer); ``pattern`` the shape every non-empty value matches; ``required`` whether every row
    must fill it; ``unique`` whether non-empty values may not repeat; ``positive`` whether a number must be > 0."""

    name: str
    dtype: str
    pattern: str | None = None
    required: bool = False
    unique: bool = False
    positive: bool = False
    meaning: str = ""


YES_NO = r"yes|no"
_WALS_FEATURES = ("20A", "21A", "22A", "26A", "49A")

COLUMNS: tuple[Column, ...] = (
    Column("iso639_1", "str", r"[a-z]{2}", required=True, unique=True,
           meaning="ISO 639-1 code; the key every stage indexes the table by"),
    Column("iso639_3", "str", r"[a-z]{3}", required=True, unique=True,
           meaning="ISO 639-3 code (LASER's where LASER has the language)"),
    Column("laser_xtreme_code", "str", r"[a-z]{3}", unique=True,
           meaning="code of XTREME's Tatoeba task (LASER file name, google/xtreme config); the 36 XTREME languages and eng"),
    Column("name", "str", r".*\S.*", required=True, meaning="English name"),
    Column("family", "str", r".*\S.*", required=True, meaning="top-level family (Glottolog via lang2vec/URIEL)"),
    Column("script", "str", r"[A-Z][a-z]{3}", required=True, meaning="ISO 15924 script of the FLORES+ code"),
    Column("cc100_gib", "float", positive=True, meaning="XLM-R pretraining text (CC-100), GiB, main script"),
    Column("cc100_tokens_m", "Int64", positive=True, meaning="XLM-R pretraining text (CC-100), million tokens"),
    Column("tatoeba_pairs", "Int64", positive=True, meaning="sentence pairs of the language's LASER Tatoeba test set"),
    Column("in_bucc", "str", r"yes|no|pivot", required=True, meaning="BUCC 2018 language"),
    Column("wals_code", "str", r"[a-z]{2,4}", meaning="WALS language ID of the doculect used"),
    *(Column(f"wals_{f}", "Int64", positive=True, meaning=f"WALS {f} value code") for f in _WALS_FEATURES),
    Column("flores_code", "str", r"[a-z]{3}_[A-Z][a-z]{3}", unique=True,
           meaning="FLORES+ language code <iso639-3>_<Script>; empty where FLORES+ lacks the language"),
    Column("udpos_name", "str", meaning="name in google/xtreme udpos.<Name> configs"),
    Column("laser_code", "str", r"[a-z]{3}", unique=True,
           meaning="code of the language's LASER Tatoeba test set (tatoeba.<code>-eng.<code>)"),
    Column("laser_script", "str", r"[A-Z][a-z]{3}", meaning="dominant script of the LASER test set's letters"),
    Column("xtreme_tatoeba", "str", YES_NO, required=True, meaning="one of XTREME's 36 Tatoeba languages"),
    Column("in_xlmr", "str", YES_NO, required=True, meaning="an XLM-R pretraining language"),
    Column("genus", "str", meaning="WALS genus of wals_code"),
    Column("cc100_variant", "str", meaning="second row of the language in XLM-R Table 6 (romanised or other script)"),
    Column("cc100_variant_gib", "float", positive=True, meaning="that row's GiB"),
    Column("cc100_variant_tokens_m", "Int64", positive=True, meaning="that row's million tokens"),
    Column("sources_note", "str", meaning="caveats and source disagreements of the row"),
)
BY_NAME = {c.name: c for c in COLUMNS}


def _where(path, line: int, lang: str, column: str) -> str:
    return f"{path}: line {line} (language {lang or '?'}), column {column}"


def _number(raw: str, col: Column) -> tuple[float | int | None, str | None]:
    """The value of a numeric cell, or the problem with it."""
    if raw == "":
        return None, None
    try:
        v = float(raw)
    except ValueError:
        return None, f"{raw!r} is not a number"
    if not math.isfinite(v):
        return None, f"{raw!r} is not finite"
    if col.positive and v <= 0:
        return None, f"{raw!r} is not positive"
    if col.dtype == "Int64":
        if v != int(v):
            return None, f"{raw!r} is not a whole number"
        return int(v), None
    return v, None


def check_language_table(raw: pd.DataFrame, path: str | Path = "<table>") -> pd.DataFrame:
    """Check a table read as strings (``dtype=str, keep_default_na=False``) against :data:`COLUMNS` and return it
    typed. Raises :class:`LanguageTableError` listing every problem (at most 20), each naming line, language and
    column. Columns outside the contract are kept as strings."""
    missing = [c.name for c in COLUMNS if c.name not in raw.columns]
    if missing:
        raise LanguageTableError(f"{path}: lacks column(s) {missing} (the contract is xstilts.languages.COLUMNS)")
    problems: list[str] = []
    langs = raw["iso639_1"].tolist()
    typed = {}
    for col in COLUMNS:
        values = raw[col.name].tolist()
        seen: dict[str, int] = {}
        out = []
        for i, v in enumerate(values):
            where = _where(path, i + 2, langs[i], col.name)
            if v != v.strip():
                problems.append(f"{where}: {v!r} has surrounding spaces")
            if v == "":
                if col.required:
                    problems.append(f"{where}: empty (required)")
                out.append(None)
                continue
            if col.dtype == "str":
                if col.pattern and not re.fullmatch(col.pattern, v):
                    problems.append(f"{where}: {v!r} does not match {col.pattern}")
                out.append(v)
            else:
                num, problem = _number(v, col)
                if problem:
                    problems.append(f"{where}: {problem}")
                out.append(num)
            if col.unique:
                if v in seen:
                    problems.append(f"{where}: {v!r} repeats line {seen[v]}")
                seen.setdefault(v, i + 2)
        typed[col.name] = out
    problems += _row_rules(raw, path)
    if problems:
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise LanguageTableError(f"{path}: {len(problems)} problem(s) with the language table:\n" + "\n".join(problems[:20]) + more)
    df = raw.copy()
    for col in COLUMNS:
        if col.dtype == "str":
            df[col.name] = ["" if v is None else v for v in typed[col.name]]
        elif col.dtype == "float":
            df[col.name] = pd.Series([math.nan if v is None else v for v in typed[col.name]], index=df.index, dtype="float64")
        else:
            df[col.name] = pd.Series(typed[col.name], index=df.index, dtype="Int64")
    return df


def _row_rules(raw: pd.DataFrame, path) -> list[str]:
    """Rules across columns of one row."""
    out = []
    for i, r in enumerate(raw.to_dict("records")):
        lang = r["iso639_1"]

        def where(column, _i=i, _lang=lang):
            return _where(path, _i + 2, _lang, column)

        if r["in_xlmr"] == "yes":
            for c in ("cc100_gib", "cc100_tokens_m"):
                if r[c] == "":
                    out.append(f"{where(c)}: empty for an XLM-R language")
        variant = [r[c] != "" for c in ("cc100_variant", "cc100_variant_gib", "cc100_variant_tokens_m")]
        if any(variant) and not all(variant):
            out.append(f"{where('cc100_variant')}: name, GiB and tokens of the variant go together")
        if r["laser_code"] and r["tatoeba_pairs"] == "":
            out.append(f"{where('tatoeba_pairs')}: empty while laser_code is {r['laser_code']!r}")
        if r["xtreme_tatoeba"] == "yes" and r["laser_xtreme_code"] == "":
            out.append(f"{where('laser_xtreme_code')}: empty for an XTREME Tatoeba language")
        if re.fullmatch(BY_NAME["flores_code"].pattern, r["flores_code"]) and r["flores_code"][4:] != r["script"]:
            out.append(f"{where('script')}: {r['script']!r} is not the script of flores_code {r['flores_code']!r}")
    return out


def read_language_table(path: str | Path) -> pd.DataFrame:
    """The language table at ``path``, checked against the contract and typed (see :func:`check_language_table`)."""
    p = Path(path)
    if not p.is_file():
        raise LanguageTableError(f"{p}: no language table there")
    raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    return check_language_table(raw, p)


# ------------------------------------------------------------------------------------------------ what the study asks


def xlmr_languages(table: pd.DataFrame, pivot: str = "en") -> list[str]:
    """iso639_1 of the XLM-R pretraining languages other than the pivot, in table order."""
    t = table[(table["in_xlmr"] == "yes") & (table["iso639_1"] != pivot)]
    return t["iso639_1"].tolist()


def with_flores(table: pd.DataFrame, pivot: str = "en") -> dict[str, str]:
    """iso639_1 -> FLORES+ code, for the XLM-R languages (not the pivot) that FLORES+ has."""
    t = table[(table["in_xlmr"] == "yes") & (table["iso639_1"] != pivot) & (table["flores_code"] != "")]
    return dict(zip(t["iso639_1"], t["flores_code"]))


def cc100_total_gib(table: pd.DataFrame) -> pd.Series:
    """CC-100 GiB per language (indexed by iso639_1) with the romanised or second-script row of Table 6 added."""
    t = table.set_index("iso639_1")
    return t["cc100_gib"] + t["cc100_variant_gib"].fillna(0.0)


def under_gib(table: pd.DataFrame, gib: float, languages: list[str] | None = None) -> list[str]:
    """Languages (default: the XLM-R languages other than English) whose main-script CC-100 size is below ``gib``
    (the size ``regression.low_resource_gib`` thresholds)."""
    t = table.set_index("iso639_1")
    langs = xlmr_languages(table) if languages is None else languages
    return [l for l in langs if t.loc[l, "cc100_gib"] < gib]


def read_laser_outside(path: str | Path) -> pd.DataFrame:
    """``config/laser_tatoeba_outside.csv``: LASER Tatoeba test sets that are no row's ``laser_code`` (columns
    laser_code, name, xlmr_iso639_1 — empty when outside XLM-R, else the XLM-R language it is a second code of —,
    tatoeba_pairs, reason)."""
    p = Path(path)
    raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    need = ["laser_code", "name", "xlmr_iso639_1", "tatoeba_pairs", "reason"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise LanguageTableError(f"{p}: lacks column(s) {missing}")
    problems = []
    for i, r in enumerate(raw.to_dict("records")):
        if not re.fullmatch(r"[a-z]{3}", r["laser_code"]):
            problems.append(f"{_where(p, i + 2, r['laser_code'], 'laser_code')}: {r['laser_code']!r} is not three letters")
        for c in ("name", "reason"):
            if not r[c].strip():
                problems.append(f"{_where(p, i + 2, r['laser_code'], c)}: empty (required)")
    dup = raw["laser_code"][raw["laser_code"].duplicated()].tolist()
    if dup:
        problems.append(f"{p}: laser_code {dup} repeat")
    if problems:
        raise LanguageTableError("\n".join(problems))
    return raw


def laser_to_language(table: pd.DataFrame, outside: pd.DataFrame | None = None) -> dict[str, str | None]:
    """LASER Tatoeba code -> the table's iso639_1 (the row whose laser_code it is, or, for a second code such as
    ``nno``, the XLM-R language ``outside`` names), or None for a test set outside XLM-R. Raises when a code is both
    a row's laser_code and listed in ``outside``, or ``outside`` names a language the table lacks."""
    out: dict[str, str | None] = {c: l for c, l in zip(table["laser_code"], table["iso639_1"]) if c}
    if outside is None:
        return out
    known = set(table["iso639_1"])
    for r in outside.to_dict("records"):
        code, lang = r["laser_code"], r["xlmr_iso639_1"] or None
        if code in out:
            raise LanguageTableError(f"LASER code {code!r} is both language {out[code]!r}'s laser_code and listed as outside")
        if lang is not None and lang not in known:
            raise LanguageTableError(f"LASER code {code!r} is mapped to {lang!r}, which is not in the language table")
        out[code] = lang
    return out
