"""Format readers: a fetched source -> rows of a canonical table (``xstilts.contracts``).

Hub data are read with exactly the files the download recorded for the requested config × split (its
``manifest.json``), through the ``datasets`` packaged builder of their file type (``load_dataset("parquet",
data_files=...)``): nothing else in the dataset card is resolved, and the features (ClassLabel names included) come
from the files' own schema metadata. Class ids become label names here, so nothing downstream sees upstream ids.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from xstilts import contracts
from xstilts.sources.fetchers import DATA_BUILDERS
from xstilts.sources.registry import SourceError, expand

log = logging.getLogger(__name__)

# Span QA: the share of a file's answers allowed to disagree with their context at answer_start
# (context[start:start + len(text)] != text). Older google/xtreme loading scripts stripped contexts and answer texts
# after the offsets were taken; a file above this share stops its conversion, naming it.
QA_MISALIGNED_TOLERANCE = 0.005

_CACHES: list = []


def _fresh_cache() -> str:
    """A new datasets cache directory, removed when the process exits."""
    import atexit
    import tempfile

    if not _CACHES:
        _CACHES.append(tempfile.mkdtemp(prefix="xstilts-datasets-"))
        atexit.register(shutil.rmtree, _CACHES[0], True)
    return tempfile.mkdtemp(dir=_CACHES[0])


def manifest(raw: str | Path) -> dict:
    m = Path(raw) / "manifest.json"
    if not m.is_file():
        raise SourceError(f"{raw}: no manifest.json (not a completed download of xstilts.sources)")
    return json.loads(m.read_text(encoding="utf-8"))


def requested_files(raw: str | Path, config_name: str | None, split: str) -> list[Path]:
    """The files the download recorded for one config × split."""
    m = manifest(raw)
    for r in m.get("requests") or []:
        if (r["config"] or None) == (config_name or None) and r["split"] == split:
            return [Path(raw) / f for f in r["files"]]
    held = [f"{r['config']}/{r['split']}" for r in m.get("requests") or []]
    raise SourceError(f"{raw}: the download of '{m.get('key')}' holds no files for config {config_name!r} split {split!r} "
                      f"(it holds {len(held)}: {', '.join(held[:10])}{' ...' if len(held) > 10 else ''}); the conversion asks "
                      "for a config or split the source's `config`/`splits` do not request")


def load_split(raw: str | Path, spec: dict, config_name: str | None, split: str):
    """One config × split of a fetched hub source as a ``datasets.Dataset``; ``a+b`` concatenates upstream splits."""
    import datasets

    parts = []
    for s in split.split("+"):
        files = requested_files(raw, config_name, s)
        builders = {DATA_BUILDERS[f.suffix] for f in files}
        if len(builders) != 1:
            raise SourceError(f"{raw}: config {config_name!r} split {s!r} mixes file types {sorted(builders)}")
        name = "".join(c if c.isalnum() else "_" for c in s)
        ds = datasets.load_dataset(builders.pop(), data_files={name: [str(f) for f in files]}, split=name,
                                   cache_dir=_fresh_cache())  # a fresh cache: never a stale entry of an earlier download
        parts.append(ds)
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


# ============================================================================================================
# labels
# ============================================================================================================


def label_names(ds, column: str, label_map: dict, where: str) -> tuple[list, int]:
    """Label names of ``column``: through ``label_map`` (upstream value -> name), else the ClassLabel's names.
    Rows without a label (ClassLabel id -1, SNLI's no-consensus pairs) become None; returns (names, n_dropped)."""
    from datasets import ClassLabel

    feat = ds.features.get(column)
    out, dropped = [], 0
    for v in list(ds[column]):
        if isinstance(v, int) and v < 0:
            out.append(None)
            dropped += 1
        elif label_map:
            name = label_map.get(str(v))
            if name is None:
                raise contracts.ContractError(f"{where}: label {v!r} is not in the source's label_map {label_map}")
            out.append(name)
        elif isinstance(feat, ClassLabel):
            out.append(feat.names[v])
        elif isinstance(v, str):
            out.append(v)
        else:
            raise contracts.ContractError(f"{where}: column {column!r} holds class ids ({v!r}) without names; set the "
                                          "source's label_map")
    return out, dropped


def _seq_names(ds, column: str, label_map: dict, where: str) -> list[list[str]]:
    """Tag names per word: ClassLabel ids through their names (or the source's label_map); strings as they are."""
    from datasets import ClassLabel

    inner = getattr(ds.features[column], "feature", None)  # Sequence / List of ClassLabel or Value
    rows = [list(r) for r in ds[column]]
    if label_map:
        unknown = sorted({str(i) for row in rows for i in row} - set(label_map))
        if unknown:
            raise contracts.ContractError(f"{where}: tag value(s) {unknown[:10]} are not in the source's label_map")
        return [[label_map[str(i)] for i in row] for row in rows]
    if isinstance(inner, ClassLabel):
        return [[inner.names[i] for i in row] for row in rows]
    if any(not isinstance(t, str) for row in rows[:100] for t in row):
        raise contracts.ContractError(f"{where}: tag column {column!r} holds ids without a ClassLabel to name them; "
                                      "set the source's label_map")
    return rows


def _col(src: dict, name: str, default: str) -> str:
    return (src.get("columns") or {}).get(name, default)


# ============================================================================================================
# hub formats: datasets.Dataset -> canonical rows
# ============================================================================================================


def fmt_pair(ds, src, where):
    """Sentence pair (or single sentence) classification: GLUE, SNLI, ANLI, XNLI, PAWS-X."""
    s1, s2, lab = _col(src, "sentence1", "premise"), _col(src, "sentence2", "hypothesis"), _col(src, "label", "label")
    names, dropped = label_names(ds, lab, src.get("label_map") or {}, where)
    df = pd.DataFrame({"sentence1": list(ds[s1]), "sentence2": list(ds[s2]) if s2 else [None] * len(ds), "label": names})
    if dropped:
        log.info("%s: dropped %d rows without a label (id -1)", where, dropped)
    return df[df["label"].notna()]


def fmt_hellaswag(ds, src, where):
    return pd.DataFrame({"context": list(ds["ctx"]), "endings": [list(e) for e in ds["endings"]],
                         "label": [int(v) for v in ds["label"]]})


def fmt_cosmosqa(ds, src, where):
    """CosmosQA (the hub's rows or the original CSV's columns): jiant's prompt = context + " " + question."""
    ctx = [f"{c} {q}" for c, q in zip(ds["context"], ds["question"])]
    endings = [list(t) for t in zip(ds["answer0"], ds["answer1"], ds["answer2"], ds["answer3"])]
    return pd.DataFrame({"context": ctx, "endings": endings, "label": [int(v) for v in ds["label"]]})


def fmt_commonsenseqa(ds, src, where):
    labels = []
    for i, (choices, key) in enumerate(zip(ds["choices"], ds["answerKey"])):
        if key not in choices["label"]:
            raise contracts.ContractError(f"{where}: row {i}: answerKey {key!r} not among {choices['label']}")
        labels.append(list(choices["label"]).index(key))
    return pd.DataFrame({"context": list(ds["question"]), "endings": [list(c["text"]) for c in ds["choices"]], "label": labels})


def align_answers(ids: list, contexts: list[str], texts: list[list[str]], starts: list[list[int]], where: str,
                  tolerance: float = QA_MISALIGNED_TOLERANCE) -> tuple[list[list[str]], list[list[int]], list[bool]]:
    """Check ``context[start:start + len(text)] == text`` for every answer. Above ``tolerance`` (share of answers)
    the file is rejected, naming it and the first mismatch; below it, a mismatched answer moves to the nearest exact
    occurrence of its text, or is dropped when the text does not occur (a question left without answers is dropped).
    Returns (texts, starts, keep-row mask)."""
    total, bad, first = 0, 0, None
    out_t, out_s, keep = [], [], []
    for i, (ctx, ts, ss) in enumerate(zip(contexts, texts, starts)):
        row_t, row_s = [], []
        for t, s in zip(ts, ss):
            total += 1
            if ctx[s:s + len(t)] == t:
                row_t.append(t)
                row_s.append(s)
                continue
            bad += 1
            first = first or f"row {i} (id {ids[i]}): context[{s}:{s + len(t)}] = {ctx[s:s + len(t)]!r}, answer {t!r}"
            hits = [j for j in range(len(ctx)) if ctx.startswith(t, j)] if t else []
            if hits:
                row_t.append(t)
                row_s.append(min(hits, key=lambda j: abs(j - s)))
        out_t.append(row_t)
        out_s.append(row_s)
        keep.append(bool(row_t))
    if total and bad / total > tolerance:
        raise contracts.ContractError(
            f"{where}: {bad} of {total} answers ({bad / total:.2%}) do not match their context at answer_start "
            f"(tolerance {tolerance:.1%}); first: {first}. Contexts or answers were probably whitespace-stripped after "
            "the offsets were taken")
    if bad:
        log.warning("%s: %d of %d answers did not match their context at answer_start (within the %.1f%% tolerance): "
                    "moved to the nearest occurrence or dropped; %d question(s) left without an answer dropped; first: %s",
                    where, bad, total, 100 * tolerance, keep.count(False), first)
    return out_t, out_s, keep


def fmt_squad(ds, src, where):
    """SQuAD / XQuAD / MLQA / TyDiQA-GoldP: every gold answer is kept (the metric takes the max over them), each
    checked against its context."""
    ids, contexts = list(ds["id"]), list(ds["context"])
    ans = list(ds["answers"])
    texts, starts, keep = align_answers(ids, contexts, [list(a["text"]) for a in ans],
                                        [[int(s) for s in a["answer_start"]] for a in ans], where)
    df = pd.DataFrame({"id": ids, "context": contexts, "question": list(ds["question"]), "answer_text": texts,
                       "answer_start": starts})
    return df[keep]


def fmt_tagging(ds, src, where):
    return pd.DataFrame({"tokens": [list(t) for t in ds["tokens"]],
                         "tags": _seq_names(ds, _col(src, "tags", "tags"), src.get("label_map") or {}, where)})


# ============================================================================================================
# file formats
# ============================================================================================================


def _lines(path: Path) -> list[str]:
    """One sentence a line; CRLF or LF; the final newline does not make an extra empty sentence."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l.rstrip("\r") for l in lines]


def read_tatoeba_laser(raw: str | Path, src: dict, v: dict) -> tuple[list[str], list[str]]:
    """LASER's ``data/tatoeba/v1/tatoeba.<code>-eng.{<code>,eng}`` (code: the language table's ``laser_code``, for
    every XLM-R language LASER's Tatoeba has): line i of one file translates line i of the other."""
    raw, code = Path(raw), v["laser_code"]
    if not code:
        raise SourceError(f"{raw}: language {v.get('lang')!r} has no laser_code in the language table (no LASER Tatoeba set)")
    base = next(iter(raw.rglob(f"tatoeba.{code}-eng.{code}")), None)
    if base is None:
        raise SourceError(f"{raw}: no tatoeba.{code}-eng.{code}")
    xx, en = _lines(base), _lines(base.with_name(f"tatoeba.{code}-eng.eng"))
    if len(xx) != len(en):
        raise contracts.ContractError(f"{base}: {len(xx)} lines but the English side has {len(en)}")
    return xx, en


def read_tatoeba_xtreme(raw: str | Path, src: dict, v: dict) -> tuple[list[str], list[str]]:
    """google/xtreme ``tatoeba.<iso3>`` (its validation split); its trailing newlines are stripped by the contract."""
    if not src.get("config"):
        raise SourceError("config key 'retrieval.tatoeba.hub.config': empty; google/xtreme names it tatoeba.{iso639_3}")
    ds = load_split(raw, src, expand(src["config"], v, "retrieval.tatoeba.hub.config"),
                    (src.get("splits") or {}).get("test") or "validation")
    return list(ds["source_sentence"]), list(ds["target_sentence"])


def read_ccg(raw: str | Path, src: dict, split_file: str) -> pd.DataFrame:
    """jiant's converted CCG: lines ``tokens<TAB>supertags``, each side space-separated, one tag per token."""
    path = Path(raw) / split_file
    tokens, tags = [], []
    for i, line in enumerate(_lines(path)):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise contracts.ContractError(f"{path}: line {i + 1} is not 'tokens<TAB>supertags'")
        t, g = parts[0].split(), parts[1].split()
        if len(t) != len(g):
            raise contracts.ContractError(f"{path}: line {i + 1} has {len(t)} tokens but {len(g)} supertags")
        tokens.append(t)
        tags.append(g)
    return pd.DataFrame({"tokens": tokens, "tags": tags})


COSMOSQA_COLUMNS = ("id", "context", "question", "answer0", "answer1", "answer2", "answer3", "label")


def read_cosmosqa_csv(raw: str | Path, src: dict, split_file: str) -> pd.DataFrame:
    """CosmosQA's original files (``data/train.csv``, ``data/valid.csv`` of the authors' repository, read by jiant):
    columns id, context, question, answer0-3, label."""
    path = Path(raw) / split_file
    if not path.is_file():
        raise SourceError(f"{raw}: no {split_file} (CosmosQA's original files)")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COSMOSQA_COLUMNS if c not in df.columns]
    if missing:
        raise contracts.ContractError(f"{path}: lacks column(s) {missing} (has {list(df.columns)})")
    bad = [i for i, v in enumerate(df["label"]) if v not in ("0", "1", "2", "3")]
    if bad:
        raise contracts.ContractError(f"{path}: {len(bad)} row(s) without a label 0-3 (first rows {bad[:5]})")
    return fmt_cosmosqa(df, src, str(path))


# ============================================================================================================
# registry
# ============================================================================================================


@dataclass(frozen=True)
class Format:
    table: str  # contracts table it writes
    convert: Callable | None  # (datasets.Dataset, source spec, where) -> DataFrame; None: a file format
    # how one test language is selected: None = the config template has {lang}; "column:<name>" or "id_prefix"
    language: str | None = None
    read: Callable | None = None  # file formats of a task: (raw dir, source spec, split file) -> DataFrame


FORMATS: dict[str, Format] = {
    "pair": Format("pair_classification", fmt_pair),
    "xnli": Format("pair_classification", fmt_pair, language="column:language"),
    "hellaswag": Format("multiple_choice", fmt_hellaswag),
    "cosmosqa": Format("multiple_choice", fmt_cosmosqa),
    "commonsenseqa": Format("multiple_choice", fmt_commonsenseqa),
    "squad": Format("span_qa", fmt_squad),
    "tydiqa": Format("span_qa", fmt_squad, language="id_prefix"),
    "tagging": Format("tagging", fmt_tagging),
    # file formats (read by the functions above or converted in xstilts.sources.convert, not through load_dataset)
    "cosmosqa_csv": Format("multiple_choice", None, read=read_cosmosqa_csv),
    "ccg_jiant": Format("tagging", None, read=read_ccg),
    "laser_tatoeba": Format("tatoeba", None, read=read_tatoeba_laser),
    "xtreme_tatoeba": Format("tatoeba", None, read=read_tatoeba_xtreme),
    "bucc_archive": Format("bucc_sentences", None),
    "wals_cldf": Format("wals_values", None),
    "flores_plus": Format("parallel", None),
    "wikipedia": Format("mono", None),  # xstilts.sources.convert.convert_mlm_text: articles -> MLM paragraphs
    "squad_json": Format("span_qa", None),  # xstilts.sources.convert.read_squad_json: XTREME translate-train files
}
