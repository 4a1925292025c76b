"""Conversions (offline): fetched sources -> the canonical tables of ``results/data`` (``xstilts.contracts``), each
checked against its contract and, where the config pins one, its expected row count."""

from __future__ import annotations

import json
import logging
import random
import shutil
import tarfile
from pathlib import Path

import pandas as pd

from xstilts import contracts
from xstilts.io import atomic_path, atomic_write_json, atomic_write_parquet
from xstilts.languages import read_language_table
from xstilts.sources.readers import FORMATS, load_split, manifest
from xstilts.sources.registry import SourceError, expand, language_vars

log = logging.getLogger(__name__)

TYDIQA_PREFIX = {"english": "en", "arabic": "ar", "bengali": "bn", "finnish": "fi", "indonesian": "id", "korean": "ko",
                 "russian": "ru", "swahili": "sw", "telugu": "te"}


def _expected(src: dict, name: str) -> int | None:
    v = (src.get("rows") or {}).get(name)
    return int(v) if v is not None else None


def _check_task_labels(df: pd.DataFrame, task: dict, where: str) -> None:
    labels = task.get("labels") or []
    if not labels:
        return
    if "label" in df and task["type"] == "pair_classification":
        bad = sorted(set(df["label"]) - set(labels))
        if bad:
            raise contracts.ContractError(f"{where}: label(s) {bad[:10]} outside the task's label set {labels}")
    if "tags" in df:
        bad = sorted({t for row in df["tags"] for t in row} - set(labels))
        if bad:
            raise contracts.ContractError(f"{where}: tag(s) {bad[:10]} outside the task's label set")


def _tydiqa_lang(id_: str) -> str | None:
    return TYDIQA_PREFIX.get(str(id_).split("-", 1)[0])


def convert_task(sources: list[tuple[dict, str]], task: dict, outputs: dict[str, str], english: dict | None = None) -> dict[str, int]:
    """English train/validation of one task from one or several sources (ANLI+ = SNLI + MNLI + ANLI R1-R3),
    concatenated in config order. ``sources``: (source spec, raw directory); ``outputs``: split -> path;
    ``english``: the pivot's template variables (per-language configs such as ``PAN-X.{lang}``)."""
    english = english or {"lang": "en", "language_name": "English", "udpos_name": "English", "iso639_3": "eng"}
    counts = {}
    for split, path in outputs.items():
        frames, expected, fmt, src = [], 0, None, None
        for src, raw in sources:
            fmt = FORMATS[src["format"]]
            hub_split = (src.get("splits") or {}).get(split)
            if hub_split is None:  # e.g. ANLI+ validates on ANLI dev only
                continue
            if fmt.read is not None:
                df = fmt.read(raw, src, hub_split)
            else:
                cfg = src.get("config")
                ds = load_split(raw, src, expand(cfg, english, path) if cfg else None, hub_split)
                df = fmt.convert(ds, src, f"{path} ({src.get('id')} {hub_split})")
            if fmt.language == "id_prefix":
                df = df[df["id"].map(_tydiqa_lang) == "en"]
            frames.append(df)
            e = _expected(src, split)
            expected = None if e is None or expected is None else expected + e
        if not frames:
            raise SourceError(f"{path}: none of the task's sources has a '{split}' split")
        df = pd.concat(frames, ignore_index=True)
        if fmt.table != task["type"]:
            raise SourceError(f"{path}: format {src['format']} writes {fmt.table}, the task is {task['type']}")
        _check_task_labels(df, task, path)
        contracts.write(fmt.table, df, path, expected_rows=expected or None)
        counts[split] = len(df)
    return counts


def convert_target_tests(src: dict, raw: str, task: dict, outputs: dict[str, str], table_path: str) -> dict[str, int]:
    """Per-language test files of a target (``outputs``: language -> path)."""
    fmt = FORMATS[src["format"]]
    vars_ = language_vars(table_path)
    split = (src.get("splits") or {}).get("test") or "test"
    cache: dict = {}
    counts = {}
    for lang, path in outputs.items():
        cfg = src.get("config") or None
        if cfg and "{" in cfg:
            cfg = expand(cfg, vars_[lang], f"{path}: config")
        if cfg not in cache:
            cache[cfg] = load_split(raw, src, cfg, split)
        ds = cache[cfg]
        if fmt.language and fmt.language.startswith("column:"):
            col = fmt.language.split(":", 1)[1]
            ds = ds.select([i for i, v in enumerate(ds[col]) if v == lang])
        df = fmt.convert(ds, src, f"{path} ({src.get('id')} {cfg} {split})")
        if fmt.language == "id_prefix":
            df = df[df["id"].map(_tydiqa_lang) == lang]
        _check_task_labels(df, task, path)
        contracts.write(fmt.table, df, path, expected_rows=_expected(src, f"test.{lang}"))
        counts[lang] = len(df)
    return counts


def convert_task_outputs(sources: list[dict], raws: list[str], task: dict, outputs: dict[str, str],
                         table_path: str | None = None) -> dict:
    """A rule's outputs: ``train``/``validation`` (English, from every source), ``test_<lang>`` (per language, from
    the single source of a target) and ``labels`` (a label file that comes with a user-supplied source)."""
    pairs = list(zip(sources, raws))
    counts: dict = {}
    splits = {k: v for k, v in outputs.items() if k in ("train", "validation")}
    english = language_vars(table_path).get("en") if table_path else None
    if splits:
        counts.update(convert_task(pairs, task, splits, english))
    tests = {k[len("test_"):]: v for k, v in outputs.items() if k.startswith("test_")}
    if tests:
        if len(pairs) != 1:
            raise SourceError(f"{next(iter(tests.values()))}: per-language tests need exactly one source")
        counts["test"] = convert_target_tests(pairs[0][0], pairs[0][1], task, tests, table_path)
    if "labels" in outputs:
        name = Path(outputs["labels"]).name
        found = [Path(r) / name for r in raws if (Path(r) / name).is_file()]
        if not found:
            raise SourceError(f"{outputs['labels']}: no source of the task supplies {name}")
        with atomic_path(outputs["labels"]) as tmp:
            shutil.copyfile(found[0], tmp)
    log.info("converted rows: %s", counts)
    return counts


# ============================================================================================================
# retrieval, morphology
# ============================================================================================================


def convert_tatoeba(src: dict, raw: str | Path, lang: str, out: str | Path, table_path: str | Path, pivot: str = "en") -> int:
    """One language's pairs -> ``tatoeba/<lang>.parquet``; the row count must equal the language table's
    ``tatoeba_pairs`` exactly."""
    v = _vars_of(table_path, lang)
    xx, en = FORMATS[src["format"]].read(raw, src, v)
    df = pd.DataFrame({"source_sentence": xx, "target_sentence": en, "source_lang": lang, "target_lang": pivot})
    expected = read_language_table(table_path).set_index("iso639_1").loc[lang, "tatoeba_pairs"]
    contracts.write("tatoeba", df, out, expected_rows=None if pd.isna(expected) else int(expected), tolerance=0.0)
    return len(df)


def bucc_archive_name(src: dict, lang: str, split: str) -> str:
    """The archive file of one language and BUCC split (``sample``/``training``) in a download."""
    return expand(src["url"], {"lang": lang, "split": split}, "retrieval.bucc.hub.url").rsplit("/", 1)[-1]


def convert_bucc(raw: str | Path, src: dict, lang: str, split: str, out_sentences: str | Path, out_gold: str | Path,
                 pivot: str = "en") -> tuple[int, int]:
    """One language and split of the downloaded BUCC 2018 archives -> the bucc tables."""
    return convert_bucc_archive(Path(raw) / bucc_archive_name(src, lang, split), lang, split, out_sentences, out_gold, pivot)


def convert_bucc_archive(archive: str | Path, lang: str, split: str, out_sentences: str | Path, out_gold: str | Path,
                         pivot: str = "en") -> tuple[int, int]:
    """The BUCC 2018 shared task archive ``bucc2018-<l>-en.<split>-gold.tar.bz2``: files ``<l>-en.<split>.<l>``,
    ``.en`` (lines ``id<TAB>sentence``) and ``.gold`` (``src_id<TAB>en_id``)."""
    stem = f"{lang}-en.{split}"
    with tarfile.open(archive, "r:bz2") as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}

        def rows(name):
            if name not in members:
                raise SourceError(f"{archive}: lacks {name} (has {sorted(members)})")
            text = tar.extractfile(members[name]).read().decode("utf-8")
            out = []
            for i, line in enumerate(text.splitlines()):
                if not line.strip():
                    continue
                parts = line.split("\t")
                if len(parts) != 2:
                    raise contracts.ContractError(f"{archive}:{name}: line {i + 1} is not 'id<TAB>text'")
                out.append((parts[0].strip(), parts[1]))
            return out

        xx, en, gold = rows(f"{stem}.{lang}"), rows(f"{stem}.en"), rows(f"{stem}.gold")
    sents = pd.DataFrame({"id": [i for i, _ in xx] + [i for i, _ in en], "text": [t for _, t in xx] + [t for _, t in en],
                          "side": [lang] * len(xx) + [pivot] * len(en)})
    g = pd.DataFrame({"src_id": [a for a, _ in gold], "en_id": [b.strip() for _, b in gold]})
    known_x, known_e = {i for i, _ in xx}, {i for i, _ in en}
    bad = [(a, b) for a, b in zip(g["src_id"], g["en_id"]) if a not in known_x or b not in known_e]
    if bad:
        raise contracts.ContractError(f"{archive}: {len(bad)} gold pairs name unknown sentence ids (first {bad[:3]})")
    contracts.write("bucc_sentences", sents, out_sentences)
    contracts.write("bucc_gold", g, out_gold)
    return len(sents), len(g)


def convert_wals(raw: str | Path, outputs: dict[str, str], expected_values: int | None = None) -> dict[str, int]:
    """CLDF tables (CRLF or LF) -> ``wals/{values,languages,parameters,codes}.csv`` with LF endings."""
    raw = Path(raw)
    counts = {}
    for name, path in outputs.items():
        found = next(iter(sorted(raw.rglob(f"{name}.csv"))), None)
        if found is None:
            raise SourceError(f"{raw}: no {name}.csv in the WALS CLDF files")
        df = contracts.read(f"wals_{name}", found)
        contracts.write(f"wals_{name}", df, path, expected_rows=expected_values if name == "values" else None, tolerance=0.0)
        counts[name] = len(df)
    return counts


def flores_codes(table_path: str | Path, languages: list[str]) -> dict[str, str]:
    """language -> FLORES+ code (language table column ``flores_code``); a language without one is an error."""
    vars_ = language_vars(table_path)
    unknown = [l for l in languages if l not in vars_]
    if unknown:
        raise SourceError(f"languages {unknown} are not in {table_path}")
    missing = [l for l in languages if not vars_[l]["flores_code"]]
    if missing:
        raise SourceError(f"{table_path}: languages {missing} have no flores_code")
    return {l: vars_[l]["flores_code"] for l in languages}


def read_flores(raw: str | Path, src: dict, lang: str, code: str, split: str) -> pd.DataFrame:
    """One language's FLORES+ split (``<split>/<code>.parquet``): id and text, checked against its code."""
    held = sorted({r["config"] for r in manifest(raw).get("requests") or [] if r["split"] == split})
    if code not in held:
        raise SourceError(f"{raw}: the FLORES+ snapshot has no {split} file for {code} (language {lang}, language table "
                          f"column flores_code); it holds {len(held)} code(s): {', '.join(held[:12])}{' ...' if len(held) > 12 else ''}")
    ds = load_split(raw, src, code, split)
    df = ds.to_pandas()
    where = f"{raw} ({split}/{code})"
    for col in ("id", "text"):
        if col not in df:
            raise contracts.ContractError(f"{where}: lacks column {col!r} (has {list(df.columns)})")
    if {"iso_639_3", "iso_15924"} <= set(df.columns):
        seen = sorted(set(df["iso_639_3"] + "_" + df["iso_15924"]))
        if seen != [code]:
            raise contracts.ContractError(f"{where}: rows are tagged {seen}, not {code}")
    if df["id"].duplicated().any():
        raise contracts.ContractError(f"{where}: duplicate sentence ids")
    return df[["id", "text"]].sort_values("id").reset_index(drop=True)


def flores_parallel(raw: str | Path, src: dict, codes: dict[str, str], split: str) -> pd.DataFrame:
    """Any list of FLORES+ languages as one multi-parallel table for ``split``: one text column per language,
    aligned by sentence id (every language must hold the same ids)."""
    frames = {lang: read_flores(raw, src, lang, code, split) for lang, code in codes.items()}
    ids = {lang: tuple(f["id"]) for lang, f in frames.items()}
    ref_lang, ref = next(iter(ids.items()))
    bad = [lang for lang, i in ids.items() if i != ref]
    if bad:
        raise contracts.ContractError(f"{raw}: FLORES+ {split}: languages {bad} hold other sentence ids than {ref_lang} "
                                      f"({len(ref)} sentences)")
    return pd.DataFrame({lang: f["text"].tolist() for lang, f in frames.items()})


def convert_flores(raw: str | Path, src: dict, languages: list[str], out: str | Path, table_path: str | Path,
                   split: str | None = None) -> int:
    """FLORES+ -> ``parallel.parquet`` (one column per language) for ``split`` (default: the source's test split)."""
    split = split or (src.get("splits") or {}).get("test") or "devtest"
    df = flores_parallel(raw, src, flores_codes(table_path, languages), split)
    contracts.parallel_columns(df, list(languages), str(out))
    if df.map(lambda v: not isinstance(v, str) or not v.strip()).to_numpy().any():
        raise contracts.ContractError(f"{out}: empty sentences in the FLORES+ {split} split")
    atomic_write_parquet(df, out)
    return len(df)


def convert_flores_splits(raw: str | Path, src: dict, languages: list[str], outputs: dict[str, str],
                          table_path: str | Path) -> dict[str, int]:
    """Several FLORES+ splits (``outputs``: upstream split -> parallel table path), e.g. dev and devtest."""
    return {split: convert_flores(raw, src, languages, path, table_path, split) for split, path in outputs.items()}


def summarise_downloads(dirs: list[str], out: str | Path) -> dict:
    """Collect every source's manifest (what was fetched at which pin) into one file."""
    summary = {}
    for d in dirs:
        m = Path(d) / "manifest.json"
        if not m.exists():
            raise SourceError(f"{d}: no manifest.json (incomplete download)")
        summary[d] = json.loads(m.read_text())
    atomic_write_json(summary, out)
    return summary


# ============================================================================================================
# the paper's alternatives: MLM text (+mlm) and machine-translated training data (+translated)
# ============================================================================================================

# a Wikipedia paragraph enters the MLM text when it has at least this many characters (headings, list items and
# one-line stubs fall below it)
MLM_MIN_CHARS = 100


def wikipedia_paragraphs(articles) -> list[str]:
    """The paragraphs (lines) of Wikipedia article texts, stripped, of at least :data:`MLM_MIN_CHARS` characters,
    in article order."""
    return [p.strip() for a in articles for p in str(a).split("\n") if len(p.strip()) >= MLM_MIN_CHARS]


def convert_mlm_text(src: dict, raw: str | Path, lang: str, out: str | Path, table_path: str | Path, cap: int | None,
                     seed: int) -> dict:
    """One language's MLM text (``mlm_text``, column text) from the pinned Wikipedia snapshot (format
    ``wikipedia``: wikimedia/wikipedia parquet rows id, url, title, text): its paragraphs (:func:`wikipedia_paragraphs`),
    a seeded sample of ``cap`` of them in file order (None: all). Returns what was read and kept."""
    v = _vars_of(table_path, lang)
    cfg = expand(src["config"], v, "mlm.hub.config") if src.get("config") else None
    split = (src.get("splits") or {}).get("train") or "train"
    ds = load_split(raw, src, cfg, split)
    if "text" not in ds.column_names:
        raise contracts.ContractError(f"{raw} ({cfg} {split}): no column 'text' (has {ds.column_names})")
    paragraphs = wikipedia_paragraphs(ds["text"])
    if not paragraphs:
        raise contracts.ContractError(f"{raw} ({cfg} {split}): no paragraph of at least {MLM_MIN_CHARS} characters for "
                                      f"language {lang}")
    kept = paragraphs
    if cap is not None and len(paragraphs) > cap:
        keep = sorted(random.Random(f"{seed}:mlm-text:{lang}").sample(range(len(paragraphs)), cap))
        kept = [paragraphs[i] for i in keep]
    contracts.write("mono", pd.DataFrame({"text": kept}), out)
    record = {"language": lang, "config": cfg, "articles": len(ds), "paragraphs": len(paragraphs), "kept": len(kept),
              "cap_per_language": cap, "min_chars": MLM_MIN_CHARS}
    log.info("MLM text %s: %s", lang, record)
    return record


def _squad_items(node, key: str, path: Path, language: str, where: str) -> list:
    """``node[key]`` of a SQuAD JSON file as a list (absent or null: none); a node that is not an object or a value
    that is not a list is a :class:`~xstilts.contracts.ContractError` naming the file, the language and the place."""
    if not isinstance(node, dict):
        raise contracts.ContractError(f"{path} (language {language}): {where} is not a JSON object")
    items = node.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise contracts.ContractError(f"{path} (language {language}): {where}: '{key}' is not a list")
    return items


def _squad_field(node, key: str, kind, path: Path, language: str, where: str):
    """``node[key]`` of a SQuAD JSON file, of type ``kind`` (``int``: an integer or a string of one, returned as
    int); missing or of another type: a :class:`~xstilts.contracts.ContractError` naming the file, the language and
    the place."""
    if not isinstance(node, dict):
        raise contracts.ContractError(f"{path} (language {language}): {where} is not a JSON object")
    if key not in node:
        raise contracts.ContractError(f"{path} (language {language}): {where} has no '{key}'")
    value = node[key]
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise contracts.ContractError(f"{path} (language {language}): {where}: '{key}' {value!r} is not an integer")
        try:
            return int(value)
        except ValueError:
            raise contracts.ContractError(f"{path} (language {language}): {where}: '{key}' {value!r} is not an "
                                          f"integer") from None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise contracts.ContractError(f"{path} (language {language}): {where}: '{key}' {value!r} is not a "
                                      f"{'string' if kind is str else 'string or integer'}")
    return value


def _vars_of(table_path: str | Path, lang: str) -> dict:
    """The template variables of language ``lang`` (:func:`~xstilts.sources.registry.language_vars`); a code the
    table does not list is a :class:`SourceError` naming the table and the code."""
    table = language_vars(table_path)
    if lang not in table:
        raise SourceError(f"{table_path}: language '{lang}' is not in the language table (iso639_1)")
    return table[lang]


def read_squad_json(path: str | Path, language: str) -> tuple[pd.DataFrame, dict]:
    """A SQuAD v1.1 JSON file (``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
    "answers": [{"text", "answer_start"}]}]}]}]}``, e.g. XTREME's ``squad.translate.train.en-<lang>.json``) as
    span_qa rows with a ``language`` column. An answer whose text is not at ``answer_start`` in its context (machine
    translation moves text) is dropped, never moved; a question left without an answer is dropped; both counted."""
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise contracts.ContractError(f"{path}: not a SQuAD JSON file (no top-level 'data' list)")
    rows, answers, dropped_answers, dropped_questions, questions = [], 0, 0, 0, 0
    for i, article in enumerate(data["data"]):
        for j, para in enumerate(_squad_items(article, "paragraphs", path, language, f"article {i}")):
            ctx = _squad_field(para, "context", str, path, language, f"article {i} paragraph {j}")
            for k, qa in enumerate(_squad_items(para, "qas", path, language, f"article {i} paragraph {j}")):
                where = f"article {i} paragraph {j} question {k}"
                qid = _squad_field(qa, "id", (str, int), path, language, where)
                question = _squad_field(qa, "question", str, path, language, where)
                questions += 1
                texts, starts = [], []
                for m, a in enumerate(_squad_items(qa, "answers", path, language, where)):
                    answers += 1
                    t = _squad_field(a, "text", str, path, language, f"{where} answer {m}")
                    s = _squad_field(a, "answer_start", int, path, language, f"{where} answer {m}")
                    if t and ctx[s:s + len(t)] == t:
                        texts.append(t)
                        starts.append(s)
                    else:
                        dropped_answers += 1
                if not texts:
                    dropped_questions += 1
                    continue
                rows.append({"id": f"{language}-{qid}", "context": ctx, "question": question,
                             "answer_text": texts, "answer_start": starts, "language": language})
    record = {"file": path.name, "questions": questions, "answers": answers, "answers_dropped": dropped_answers,
              "questions_dropped": dropped_questions, "rows": len(rows)}
    if dropped_answers:
        log.warning("%s: %d of %d answers do not match their context at answer_start (dropped); %d of %d questions "
                    "left without an answer (dropped)", path, dropped_answers, answers, dropped_questions, questions)
    return pd.DataFrame(rows, columns=["id", "context", "question", "answer_text", "answer_start", "language"]), record


def translated_rows(src: dict, raw: str | Path, lang: str, task: dict, table_path: str | Path, key: str) -> tuple[pd.DataFrame, dict]:
    """One language's machine-translated training rows of a task, canonical, with a ``language`` column: a hub
    dataset with one config per language (XNLI-MT: facebook/xnli ``<lang>``, format pair) or one SQuAD JSON file per
    language (XTREME translate-train, kind url, format squad_json)."""
    v = _vars_of(table_path, lang)
    if src["format"] == "squad_json":
        name = expand(src["url"], {**v, "split": (src.get("splits") or {}).get("train") or "train"}, f"{key}.url").rsplit("/", 1)[-1]
        return read_squad_json(Path(raw) / name, lang)
    fmt = FORMATS[src["format"]]
    cfg = expand(src["config"], v, f"{key}.config") if src.get("config") else None
    split = (src.get("splits") or {}).get("train") or "train"
    df = fmt.convert(load_split(raw, src, cfg, split), src, f"{raw} ({cfg} {split})")
    if fmt.table != task["type"]:
        raise SourceError(f"config key '{key}.format': {src['format']} writes {fmt.table}, the task is {task['type']}")
    return df.assign(language=lang), {"config": cfg, "rows": len(df)}


def convert_translated(src: dict, raw: str | Path, english: str | Path, languages: list[str], task: dict, out: str | Path,
                       record_path: str | Path, table_path: str | Path, key: str) -> dict:
    """A '<task>+translated' training table: the task's canonical English training rows (``language`` en) followed
    by each language's MT rows (:func:`translated_rows`); what was read, kept and dropped per language goes to
    ``record_path`` (JSON) and the log."""
    frames = [contracts.read(task["type"], english).assign(language="en")]
    record = {"source": key, "english_rows": len(frames[0]), "languages": {}}
    for lang in languages:
        df, rec = translated_rows(src, raw, lang, task, table_path, key)
        if df.empty:
            raise contracts.ContractError(f"{out}: no translated rows of language {lang} ({key})")
        frames.append(df)
        record["languages"][lang] = rec
    df = pd.concat(frames, ignore_index=True)
    _check_task_labels(df, task, str(out))
    contracts.write(task["type"], df, out)
    record["rows"] = len(df)
    if task["type"] == "span_qa":
        record["answers_dropped"] = sum(r["answers_dropped"] for r in record["languages"].values())
        record["questions_dropped"] = sum(r["questions_dropped"] for r in record["languages"].values())
    atomic_write_json(record, record_path)
    log.info("translated training table %s: %s", out, record)
    return record
