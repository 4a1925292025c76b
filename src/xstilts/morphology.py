"""Per-language morphological complexity: corpus measures, WALS typology and a PC1 composite.

Corpus measures are computed on a multi-parallel corpus on **equal-size token samples** (``sample_tokens``
tokens, ``repeats`` times; mean and SD), so that no measure depends on how much text a language has:

* ``ttr`` -- types / tokens;  ``mattr`` -- moving-average TTR, window ``mattr_window``;
* ``entropy`` -- unigram word entropy (bits), Chao-Shen coverage-adjusted estimator (bias-corrected);
  ``entropy_plugin`` is the plug-in value, kept for comparison;
* ``ws_info`` -- word-structure information: compression ratio (zlib) of the sample after every word type is
  replaced by a random string of the same length, minus the ratio of the original (Koplenig et al. 2017);
* ``word_length`` -- characters per word;
* ``fertility`` -- subword tokens per word; ``continued`` -- share of words split into >= 2 pieces (Rust et al.
  2021);  ``token_ratio_en`` -- subword tokens of the whole corpus relative to the English side.

Languages written without spaces (config ``morphology.unsegmented``) get no word-based measures; the output says so.

Sample size (config ``morphology.sample_tokens``): one size for every language, so that measures are comparable.
An integer must be supported by every segmented language -- a language with fewer word tokens stops the stage with
an error naming it, never a silent drop. ``auto`` (the real study) takes ``sample_fraction`` of the smallest
segmented corpus, floored to a multiple of 50 (:func:`choose_sample_size`); low-resource languages such as Telugu
(234 Tatoeba sentences, 980 word tokens) then set the size instead of dropping out. Each output states the size,
the policy and the language that bounds it.
"""

from __future__ import annotations

import random
import re
import unicodedata
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

WORD_MEASURES = ("ttr", "mattr", "entropy", "entropy_plugin", "ws_info", "word_length", "fertility", "continued")
COMPOSITE_MEASURES = ("ttr", "mattr", "entropy", "ws_info", "word_length", "fertility", "continued", "token_ratio_en")

_NUM = re.compile(r"^\d+([.,]\d+)*$")


def words_of(text: str) -> list[str]:
    """Lower-cased whitespace words without punctuation-only tokens and numerals (as the reference code)."""
    out = []
    for w in text.lower().split():
        w = "".join(ch for ch in w if not unicodedata.category(ch).startswith("P"))
        if w and not _NUM.match(w):
            out.append(w)
    return out


def sample_tokens(sentences: list[str], n_tokens: int, seed: int) -> list[str]:
    """Shuffle sentence order (seeded), concatenate their words, keep the first ``n_tokens`` (running text)."""
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    out: list[str] = []
    for i in order:
        out += words_of(sentences[i])
        if len(out) >= n_tokens:
            break
    if len(out) < n_tokens:
        raise ValueError(f"corpus has only {len(out)} word tokens, fewer than the sample size {n_tokens} "
                         "(config key 'morphology.sample_tokens'; 'auto' picks one size every language supports)")
    return out[:n_tokens]


def available_tokens(sentences: list[str]) -> int:
    """Word tokens a corpus offers (after the same filtering as the samples)."""
    return sum(len(words_of(s)) for s in sentences)


def choose_sample_size(available: dict[str, int], setting: int | str, fraction: float = 0.8,
                       key: str = "morphology.sample_tokens") -> dict:
    """One sample size for every segmented language (``available``: language -> word tokens).

    ``setting`` an integer: checked against every language (error naming those with fewer tokens);
    ``"auto"``: ``fraction`` x the smallest corpus, floored to a multiple of 50 (at least 50)."""
    if not available:
        raise ValueError(f"config key '{key}': no segmented language to size the samples on")
    bound = min(available, key=lambda l: (available[l], l))
    if setting == "auto":
        size = max(50, int(fraction * available[bound]) // 50 * 50)
        if size > available[bound]:
            raise ValueError(f"config key '{key}': language '{bound}' has only {available[bound]} word tokens, fewer than "
                             "the minimum sample of 50")
        policy = f"auto: {fraction:g} x the smallest segmented corpus ({bound}, {available[bound]} word tokens), floored to a multiple of 50"
    else:
        size = int(setting)
        short = {l: n for l, n in sorted(available.items()) if n < size}
        if short:
            raise ValueError(f"config key '{key}': {size} word tokens per sample, but {short} have fewer; lower it or set "
                             "'auto' (one size every language supports)")
        policy = "fixed (config)"
    return {"sample_size": size, "policy": policy, "bounded_by": bound, "available_tokens": dict(sorted(available.items()))}


def sample_size_from_corpora(corpora: dict[str, str], corpus: str, pivot: str, setting: int | str, fraction: float) -> dict:
    """:func:`choose_sample_size` over the corpus file of each segmented language (language -> parquet path)."""
    frames: dict[str, pd.DataFrame] = {}
    available = {}
    for lang, path in corpora.items():
        if path not in frames:
            frames[path] = read_corpus(path, corpus)
        sents, _, _ = corpus_sentences(frames[path], lang, corpus, pivot)
        available[lang] = available_tokens(sents)
    return choose_sample_size(available, setting, fraction)


def sample_size_job(corpora: dict[str, str], settings: dict, pivot: str, out: str) -> dict:
    """``sample_tokens: auto`` (the plan runs this job only then): one word-token sample size for every segmented
    study language (``settings``: corpus, sample_fraction); written as JSON and read by every measures job."""
    from xstilts.io import atomic_write_json

    info = sample_size_from_corpora(corpora, settings["corpus"], pivot, "auto", settings["sample_fraction"])
    atomic_write_json(info, out)
    return info


def ttr(tokens: list[str]) -> float:
    return len(set(tokens)) / len(tokens)


def mattr(tokens: list[str], window: int) -> float:
    """Moving-average TTR over every window of ``window`` tokens (Covington & McFall 2010), O(N)."""
    if len(tokens) <= window:
        return ttr(tokens)
    counts = Counter(tokens[:window])
    total = len(counts)
    for i in range(window, len(tokens)):
        out_w, in_w = tokens[i - window], tokens[i]
        counts[out_w] -= 1
        if counts[out_w] == 0:
            del counts[out_w]
        counts[in_w] += 1
        total += len(counts)
    return total / ((len(tokens) - window + 1) * window)


def entropy_plugin(tokens: list[str]) -> float:
    c = np.array(list(Counter(tokens).values()), dtype=float)
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def entropy_chao_shen(tokens: list[str]) -> float:
    """Chao & Shen (2003) coverage-adjusted Horvitz-Thompson entropy estimator, in bits."""
    c = np.array(list(Counter(tokens).values()), dtype=float)
    n = c.sum()
    f1 = float((c == 1).sum())
    if f1 == n:
        f1 = n - 1
    coverage = 1 - f1 / n
    pa = coverage * c / n
    return float(-(pa * np.log2(pa) / (1 - (1 - pa) ** n)).sum())


def ws_info(tokens: list[str], seed: int) -> float:
    """zlib ratio of the text with word-internal structure destroyed minus the ratio of the original text."""
    text = " ".join(tokens)
    alphabet = sorted(set("".join(tokens)))
    rng = random.Random(seed)
    mapping = {}
    for t in sorted(set(tokens)):
        mapping[t] = "".join(rng.choice(alphabet) for _ in t)
    masked = " ".join(mapping[t] for t in tokens)

    def ratio(s: str) -> float:
        b = s.encode("utf-8")
        return len(zlib.compress(b, 9)) / len(b)

    return ratio(masked) - ratio(text)


def subword_stats(words: list[str], n_pieces) -> tuple[float, float]:
    """(fertility, share of continued words) for a list of words and a word -> number-of-pieces function."""
    pieces = [n_pieces(w) for w in words]
    return float(np.mean(pieces)), float(np.mean([p >= 2 for p in pieces]))


def corpus_measures(sentences: list[str], english: list[str], tokenize, sample_size: int, repeats: int, window: int,
                    seed: int, segmented: bool = True) -> dict:
    """All corpus measures for one language (mean and SD over ``repeats`` equal-size samples)."""
    n_tok_lang = sum(len(tokenize(s)) for s in sentences)
    n_tok_en = sum(len(tokenize(s)) for s in english)
    out: dict = {"token_ratio_en": n_tok_lang / max(1, n_tok_en), "word_measures": "computed" if segmented else "excluded (no word spaces)",
                 "sample_size": sample_size, "repeats": repeats, "mattr_window": window}
    if not segmented:
        for m in WORD_MEASURES:
            out[m] = out[f"{m}_sd"] = float("nan")
        return out
    per: dict[str, list[float]] = {m: [] for m in WORD_MEASURES}
    cache: dict[str, int] = {}

    def n_pieces(w: str) -> int:  # each word type is tokenised once across samples
        if w not in cache:
            cache[w] = len(tokenize(w))
        return cache[w]

    for r in range(repeats):
        toks = sample_tokens(sentences, sample_size, seed + r)
        per["ttr"].append(ttr(toks))
        per["mattr"].append(mattr(toks, window))
        per["entropy"].append(entropy_chao_shen(toks))
        per["entropy_plugin"].append(entropy_plugin(toks))
        per["ws_info"].append(ws_info(toks, seed + r))
        per["word_length"].append(float(np.mean([len(t) for t in toks])))
        f, c = subword_stats(toks, n_pieces)
        per["fertility"].append(f)
        per["continued"].append(c)
    for m, vals in per.items():
        out[m] = float(np.mean(vals))
        out[f"{m}_sd"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
    return out


def corpus_sentences(df: pd.DataFrame, lang: str, corpus: str, pivot: str) -> tuple[list[str], list[str], str]:
    """(sentences of ``lang``, the English side, a label) from the multi-parallel corpus (one column per language)
    or from the language's Tatoeba pairs (non-English source side, English target side)."""
    if corpus == "parallel":
        if lang not in df or pivot not in df:
            raise ValueError(f"the multi-parallel corpus has no column for {[c for c in (lang, pivot) if c not in df]}")
        return df[lang].tolist(), df[pivot].tolist(), "multi-parallel"
    return df["source_sentence"].tolist(), df["target_sentence"].tolist(), "tatoeba (non-English side)"


def subword_tokenizer(tokenizer_dir: str | Path):
    """word/sentence -> subword ids without special tokens, from a model directory's ``tokenizer.json`` (the fast
    tokenizer's own backend: the same ids as ``AutoTokenizer(...)(text, add_special_tokens=False)``, without
    importing transformers and torch -- a morphology job then starts in well under a second)."""
    from tokenizers import Tokenizer

    path = Path(tokenizer_dir) / "tokenizer.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the base model directory has no fast-tokenizer file (tokenizer.json)")
    tok = Tokenizer.from_file(str(path))

    def tokenize(text: str) -> list:
        return tok.encode(text, add_special_tokens=False).ids

    return tokenize


def hf_word_tokenizer(tokenizer):
    """word/sentence -> subword pieces, without special tokens (any Hugging Face tokenizer object)."""

    def tokenize(text: str) -> list:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    return tokenize


# --------------------------------------------------------------------------------------------------------------
# composite
# --------------------------------------------------------------------------------------------------------------


def pc1_composite(table: pd.DataFrame, measures=COMPOSITE_MEASURES, orient: str = "ttr") -> tuple[pd.Series, dict]:
    """PC1 of the standardised measures over languages with all of them; oriented to correlate positively with
    ``orient``.  Returns (score per language, info with loadings and explained variance)."""
    cols = [m for m in measures if m in table and table[m].notna().any()]
    sub = table[cols].dropna()
    z = (sub - sub.mean()) / sub.std(ddof=1).replace(0, np.nan)
    z = z.dropna(axis=1)
    _u, s, vt = np.linalg.svd(z.to_numpy(), full_matrices=False)
    load = vt[0]
    score = z.to_numpy() @ load
    if orient in z and np.corrcoef(score, z[orient])[0, 1] < 0:
        load, score = -load, -score
    explained = float(s[0] ** 2 / (s**2).sum())
    pc1 = pd.Series(np.nan, index=table.index, name="composite")
    pc1.loc[sub.index] = score
    return pc1, {"measures": list(z.columns), "loadings": dict(zip(z.columns, load.tolist())), "explained_variance": explained,
                 "n_languages": len(sub)}


# --------------------------------------------------------------------------------------------------------------
# WALS (CLDF)
# --------------------------------------------------------------------------------------------------------------

# macrolanguage / individual-language codes: XTREME uses the macrolanguage code, WALS the individual language
MACRO_TO_INDIVIDUAL = {"ara": ["arb"], "est": ["ekk"], "zho": ["cmn"], "fas": ["pes"], "msa": ["zsm"], "swa": ["swh"]}


def read_cldf(cldf_dir: str | Path) -> dict[str, pd.DataFrame]:
    d = Path(cldf_dir)
    need = ("values.csv", "languages.csv")
    missing = [n for n in need if not (d / n).exists()]
    if missing:
        raise FileNotFoundError(f"WALS CLDF directory {d} lacks {missing}")
    from xstilts import contracts

    return {n: contracts.read(f"wals_{n}", d / f"{n}.csv") for n in ("values", "languages")}


def wals_crosswalk(iso3: list[str], cldf: dict[str, pd.DataFrame], preferred: dict[str, str] | None = None) -> dict[str, str | None]:
    """ISO 639-3 (XTREME) -> WALS language ID.

    * a preferred WALS code (the committed language table) wins when it exists in the release;
    * otherwise match ``ISO639P3code`` or any of the space-separated ``ISO_codes`` (ISO639P3code is empty when a
      WALS language has several ISO codes), also through macrolanguage -> individual codes (ara -> arb, est -> ekk);
    * several doculects sharing a code (deu: ger + dialects): take the one with the most datapoints.
    """
    langs, values = cldf["languages"], cldf["values"]
    counts = values.groupby("Language_ID").size()
    ids = set(langs["ID"])
    out: dict[str, str | None] = {}
    for code in iso3:
        pref = (preferred or {}).get(code)
        if pref and pref in ids:
            out[code] = pref
            continue
        wanted = {code, *MACRO_TO_INDIVIDUAL.get(code, [])}
        iso_sets = langs["ISO_codes"].fillna("").str.split() if "ISO_codes" in langs else [[]] * len(langs)
        mask = langs["ISO639P3code"].isin(wanted).to_numpy() | np.array([bool(wanted & set(s)) for s in iso_sets], dtype=bool)
        cands = langs.loc[mask, "ID"].tolist()
        out[code] = max(cands, key=lambda i: (counts.get(i, 0), i)) if cands else None
    return out


def wals_features(iso3: list[str], cldf: dict[str, pd.DataFrame], features: list[str], preferred: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per language: the WALS ID used and each feature's value code (NaN when not coded)."""
    xw = wals_crosswalk(iso3, cldf, preferred)
    v = cldf["values"]
    v = v[v["Parameter_ID"].isin(features)]
    lookup = {(r.Language_ID, r.Parameter_ID): r.Value for r in v.itertuples()}
    rows = []
    for code in iso3:
        wid = xw[code]
        row = {"iso639_3": code, "wals_id": wid}
        for f in features:
            val = lookup.get((wid, f)) if wid else None
            row[f"wals_{f}"] = float(val) if val not in (None, "") else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def coverage(df: pd.DataFrame, features: list[str]) -> dict[str, int]:
    return {f: int(df[f"wals_{f}"].notna().sum()) for f in features}


# --------------------------------------------------------------------------------------------------------------
# the morphology table
# --------------------------------------------------------------------------------------------------------------


def build_table(measures: list[dict], meta: pd.DataFrame, cldf: dict[str, pd.DataFrame], features: list[str],
                truth: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Per-language measures (one dict each, with ``language``) + language metadata (indexed by iso639_1, with
    iso639_3 and wals_code) + WALS values -> the table with the PC1 composite, and the composite's info (loadings,
    WALS coverage, Spearman with WALS 22A/49A, languages with word measures, the sample size policy)."""
    from scipy import stats

    table = pd.DataFrame(measures).set_index("language")
    missing = [l for l in table.index if l not in meta.index]
    if missing:
        raise ValueError(f"languages {missing} are not in the language table")
    codes = meta.loc[table.index, "iso639_3"].tolist()
    wals_col = meta.loc[table.index, "wals_code"] if "wals_code" in meta else pd.Series("", index=table.index)
    preferred = {c: w for c, w in zip(codes, wals_col) if isinstance(w, str) and w}
    wals = wals_features(codes, cldf, features, preferred)
    wals.index = table.index
    table = table.join(wals)
    table["composite"], info = pc1_composite(table)
    info["wals_coverage"] = coverage(wals, features)
    for f in ("22A", "49A"):
        col = f"wals_{f}"
        if col not in table:
            continue
        d = table[["composite", col]].dropna()
        if len(d) >= 4 and d[col].nunique() > 1:
            rho, p = stats.spearmanr(d["composite"], d[col])
            info[f"spearman_composite_wals_{f}"] = {"rho": float(rho), "p": float(p), "n": len(d)}
    if truth:
        d = table[["composite"]].join(meta[[truth]]).dropna()
        rho, p = stats.spearmanr(d["composite"], d[truth])
        info[f"spearman_composite_{truth}"] = {"rho": float(rho), "p": float(p), "n": len(d)}
        table[truth] = meta.loc[table.index, truth]
    info["corpus"] = sorted(table["corpus"].unique().tolist()) if "corpus" in table else []
    info["word_measures_excluded"] = table.index[table["word_measures"] != "computed"].tolist()
    info["word_measures_computed"] = int((table["word_measures"] == "computed").sum())
    sizes = sorted(table["sample_size"].dropna().unique().tolist()) if "sample_size" in table else []
    info["sample_size"] = sizes[0] if len(sizes) == 1 else sizes
    if "sample_policy" in table:
        info["sample_policy"] = sorted(table["sample_policy"].dropna().unique().tolist())
    return table, info


# --------------------------------------------------------------------------------------------------------------
# the jobs
# --------------------------------------------------------------------------------------------------------------


def read_corpus(path: str, corpus: str) -> pd.DataFrame:
    """The morphology corpus through its data contract (Tatoeba lines stripped exactly as for embedding)."""
    from xstilts import contracts

    return contracts.read("tatoeba", path) if corpus == "tatoeba" else pd.read_parquet(path)


def measures_job(*, corpus: str, tokenizer: str, lang: str, settings: dict, pivot: str, seed: int, out: str,
                 sample_size: str | int) -> dict:
    """Corpus measures of one language. ``settings``: corpus, repeats, mattr_window, unsegmented; ``sample_size``: the
    size the plan fixed (an int, ``sample_tokens`` in the config) or the JSON of :func:`sample_size_job` (``auto``)."""
    from xstilts.io import atomic_write_json, read_json

    sents, english, label = corpus_sentences(read_corpus(corpus, settings["corpus"]), lang, settings["corpus"], pivot)
    if isinstance(sample_size, int):
        size, policy = sample_size, "fixed (config)"
    else:
        sizing = read_json(sample_size)
        size, policy = sizing["sample_size"], sizing["policy"]
    tok = subword_tokenizer(tokenizer)
    m = corpus_measures(sents, english, tok, size, settings["repeats"], settings["mattr_window"], seed,
                        segmented=lang not in settings["unsegmented"])
    m.update(language=lang, corpus=label, n_sentences=len(sents), sample_policy=policy)
    atomic_write_json(m, out)
    return m


def table_job(*, measures: list[str], languages: str, wals_values: str, settings: dict, out: dict[str, str]) -> dict:
    """The language × measure table with WALS values and the PC1 composite. ``settings``: wals_features, truth
    (the language-table column holding the true dial, demo only). ``out`` keys: table, info."""
    from xstilts.io import atomic_write_json, atomic_write_text, read_json

    meta = pd.read_csv(languages, keep_default_na=False, na_values=[""]).set_index("iso639_1")
    table, info = build_table([read_json(p) for p in measures], meta, read_cldf(Path(wals_values).parent),
                              settings["wals_features"], settings["truth"])
    atomic_write_text(table.reset_index().to_csv(index=False), out["table"])
    atomic_write_json(info, out["info"])
    return info
