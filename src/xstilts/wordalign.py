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
  them) to get better lexical statistics; only the measured corpus's links are written. eflomal has no seed option
  and seeds its sampler from /dev/urandom: it runs with a seeded /dev/urandom preloaded (``_seeded_urandom.c``, the
  study seed) on one OpenMP thread, so the links are reproducible (:func:`align`, :func:`seeded_environment`).
* The artifact (``LAYOUT.word_pairs``): one row per confident link (``sentence``: row of the corpus; ``en_word``,
  ``xx_word``: word indices in :func:`word_spans` order), with the aligner, its settings, the seeding (``seeded``,
  and ``seed`` or the reason it is unseeded), the training sentences, the number of links and the CPU seconds in the
  parquet's metadata (:func:`read_pairs`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from xstilts.outcomes import WORD_BASE_MEASURES, WORD_MEASURES

ALIGNER = "eflomal"
ALIGNER_SETTINGS = {"model": 3, "n_samplers": 3, "null_prior": 0.2, "symmetrisation": "intersection", "lowercase": True,
                    "threads": 1}
SEED_ENV = "XSTILTS_EFLOMAL_SEED"  # read by the seeded /dev/urandom (_seeded_urandom.c)
SEEDED_SOURCE = Path(__file__).with_name("_seeded_urandom.c")
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


def cache_dir() -> Path:
    """Where the compiled seeded /dev/urandom library is kept: ``$XSTILTS_CACHE``, else ``$XDG_CACHE_HOME/xstilts``,
    else ``~/.cache/xstilts``."""
    if os.environ.get("XSTILTS_CACHE"):
        return Path(os.environ["XSTILTS_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "xstilts"


def seeded_urandom_library(cache: Path | None = None) -> tuple[Path | None, str]:
    """The shared library that gives eflomal a seeded /dev/urandom (``_seeded_urandom.c``, preloaded), compiled once
    with the system C compiler (``$CC``, else ``cc``) into ``cache`` (default :func:`cache_dir`) under a name keyed by
    the source's sha256; compiled to a temporary file and renamed, so concurrent jobs never read a half-written one.
    Returns ``(path, "")``, or ``(None, why)`` where no compiler is found or it fails."""
    source = SEEDED_SOURCE.read_bytes()
    cache = Path(cache) if cache is not None else cache_dir()
    lib = cache / f"seeded_urandom-{hashlib.sha256(source).hexdigest()[:16]}.so"
    if lib.is_file():
        return lib, ""
    compiler = shutil.which(os.environ.get("CC") or "cc")
    if compiler is None:
        return None, f"no C compiler ({os.environ.get('CC') or 'cc'}) on PATH to build the seeded /dev/urandom"
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=lib.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        r = subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", tmp, str(SEEDED_SOURCE), "-ldl"], capture_output=True,
                           text=True)
        if r.returncode != 0:
            return None, f"{compiler} failed to build the seeded /dev/urandom: {r.stderr.strip()[-500:]}"
        os.replace(tmp, lib)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return lib, ""


@contextlib.contextmanager
def environment(**values: str):
    """Set environment variables for the block (eflomal's wrapper runs its binary with the inherited environment),
    restoring the previous values after it."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def seeded_environment(seed: int | None) -> tuple[dict[str, str], dict]:
    """The environment eflomal runs in, and what to record of it. With a ``seed`` and a C compiler: the seeded
    /dev/urandom preloaded (``LD_PRELOAD``, ``XSTILTS_EFLOMAL_SEED``) and one OpenMP thread (eflomal's samplers add
    into shared counts in critical sections: with several threads the float sums' order, so the samples, vary), and
    ``{"seeded": True, "seed": seed}``. Without a compiler, a warning and ``{"seeded": False, "reason": ...}``:
    eflomal then seeds itself from the real /dev/urandom, and its links vary from run to run."""
    env = {"OMP_NUM_THREADS": "1"}
    if seed is None:
        return env, {"seeded": False, "reason": "no seed given"}
    lib, why = seeded_urandom_library()
    if lib is None:
        logging.getLogger(__name__).warning("eflomal runs UNSEEDED (its links vary from run to run): %s", why)
        return env, {"seeded": False, "reason": why}
    preload = " ".join(p for p in (str(lib), os.environ.get("LD_PRELOAD", "")) if p)
    return {**env, "LD_PRELOAD": preload, SEED_ENV: str(int(seed))}, {"seeded": True, "seed": int(seed)}


def align(en: list[list[str]], xx: list[list[str]], seed: int | None = None) -> tuple[list[set[tuple[int, int]]], dict]:
    """eflomal on tokenised sentence pairs (English as the source side), symmetrised by intersection: per sentence a
    set of ``(en_word, xx_word)`` links, and the seeding recorded (:func:`seeded_environment`). Empty sentences get no
    links (eflomal is given a placeholder). eflomal 2.0.0 has no seed option and reads its sampler's seed from
    /dev/urandom; with ``seed`` it reads a seeded stream instead and runs on one thread, so the same input and seed
    give the same links (unseeded, two runs shared 75-87% of their links on 1,000 LASER Tatoeba pairs of tur, fin,
    fra)."""
    import eflomal

    if len(en) != len(xx):
        raise ValueError(f"{len(en)} English vs {len(xx)} non-English sentences: not parallel")
    s = {k: v for k, v in ALIGNER_SETTINGS.items() if k in ("model", "n_samplers", "null_prior")}
    aligner = eflomal.Aligner(**s)

    def lines(sents):
        return [(" ".join(w.lower().replace(" ", "_") for w in t) or "∅") + "\n" for t in sents]

    env, seeding = seeded_environment(seed)
    with tempfile.TemporaryDirectory() as tmp:
        fwd, rev = Path(tmp) / "fwd", Path(tmp) / "rev"
        with environment(**env):
            aligner.align(lines(en), lines(xx), links_filename_fwd=str(fwd), links_filename_rev=str(rev), quiet=True)
        links = intersect(fwd.read_text().splitlines(), rev.read_text().splitlines())
    return [set() if not (e and x) else {(i, j) for i, j in l if i < len(e) and j < len(x)}
            for l, e, x in zip(links, en, xx)], seeding


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
                  seed: int | None = None) -> dict:
    """One language's word pairs on the multi-parallel corpus (``parallel``: FLORES+ devtest, or the synthetic
    world's parallel set), the aligner also reading the Tatoeba tables in ``extra`` and seeded with ``seed`` (the
    study seed; :func:`align`). Returns the recorded info (``seeded``, and ``seed`` or the reason it is unseeded)."""
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
    links, seeding = align(en + more_en, xx + more_xx, seed)
    pairs = pairs_frame(links[: len(en)])
    info.update(**seeding, training_sentences=len(en) + len(more_en), extra=[Path(p).name for p in extra], links=len(pairs),
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


# ============================================================================================================
# word-level alignment measures (per language x condition x stored layer)
# ============================================================================================================

# the base measures and their split by whether the non-English word is one subword piece or several: xstilts.outcomes
HIT_COLUMNS = ("layer", "sentence", "en_word", "xx_word", "multi", "hit_sent", "hit_set", "cos_pair", "cos_random")


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def full_index(first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(sentence, word)`` of every row of word vectors stored for every word, from the sentence offsets."""
    first = np.asarray(first, dtype=np.int64)
    sentence = np.repeat(np.arange(len(first) - 1), np.diff(first))
    return sentence, np.arange(int(first[-1])) - first[sentence]


def _keys(sentence, word) -> np.ndarray:
    return (np.asarray(sentence, dtype=np.int64) << 32) | np.asarray(word, dtype=np.int64)


def rows_of(index: tuple[np.ndarray, np.ndarray], sentence: np.ndarray, word: np.ndarray, what: str = "words") -> np.ndarray:
    """The rows of stored word vectors holding the words ``(sentence[i], word[i])``; ``index``: the ``(sentence,
    word)`` of every stored row, sorted. A word not stored is an error (the vectors were stored for other pairs)."""
    stored = _keys(*index)
    q = _keys(sentence, word)
    if len(q) == 0:
        return np.zeros(0, np.int64)
    if len(stored) == 0:
        r, missing = np.zeros(len(q), np.int64), np.ones(len(q), bool)
    else:
        r = np.minimum(np.searchsorted(stored, q), len(stored) - 1)
        missing = stored[r] != q
    if np.any(missing):
        k = int(np.argmax(missing))
        raise ValueError(f"{int(np.sum(missing))} linked {what} have no stored vector (first: sentence {int(sentence[k])}, word "
                         f"{int(word[k])}): the word vectors were stored for other word pairs; rerun the embedding job")
    return r.astype(np.int64)


def word_hits(en: np.ndarray, xx: np.ndarray, en_index: tuple[np.ndarray, np.ndarray], xx_index: tuple[np.ndarray, np.ndarray],
              xx_pieces: np.ndarray, pairs: pd.DataFrame, seed: int = 0, block: int = 2048) -> pd.DataFrame:
    """Per confident link (one layer's word vectors ``en``, ``xx``; ``*_index``: the ``(sentence, word)`` of each
    stored row, sorted -- every word (:func:`full_index`) or only the linked ones, as the embedding job stores them):
    whether the English word's vector retrieves (cosine, ties: lowest (sentence, word)) one of its aligned words among
    the **candidates** -- the non-English words with a confident link -- of the same sentence (``hit_sent``) and of the
    whole set (``hit_set``); the cosine of the pair and of a random pair (the English word with a candidate of another
    sentence, seeded: the random partners are drawn from the linked words, so storing only those changes nothing);
    ``multi``: the non-English word has several subword pieces. Words cut off by ``max_length`` (no pieces) are left
    out. Only the words of ``pairs`` are read: the result is the same whichever other words are stored."""
    p = pairs[list(PAIR_COLUMNS)].to_numpy(dtype=np.int64)
    ge = rows_of(en_index, p[:, 0], p[:, 1], "English words")
    gx = rows_of(xx_index, p[:, 0], p[:, 2], "non-English words")
    en_sent, xx_sent = np.asarray(en_index[0], dtype=np.int64), np.asarray(xx_index[0], dtype=np.int64)
    keep = xx_pieces[gx] > 0
    ge, gx, p = ge[keep], gx[keep], p[keep]
    cols = {c: np.zeros(0) for c in HIT_COLUMNS if c != "layer"}
    if len(p) == 0:
        return pd.DataFrame({"sentence": np.zeros(0, np.int64), **{c: v for c, v in cols.items() if c != "sentence"}})
    cand = np.unique(gx)  # candidate words (stored rows, in (sentence, word) order): ties go to the lowest
    cand_sent = xx_sent[cand]
    aligned: dict[int, set[int]] = {}
    for e, x in zip(ge.tolist(), gx.tolist()):
        aligned.setdefault(e, set()).add(x)
    eu, xu = _unit(en), _unit(xx[cand])
    queries = np.unique(ge)
    best_set, best_sent = {}, {}
    for b in range(0, len(queries), block):
        q = queries[b : b + block]
        sims = eu[q] @ xu.T
        q_sent = en_sent[q]
        for k, (qq, s) in enumerate(zip(q.tolist(), q_sent.tolist())):
            best_set[qq] = int(cand[np.argmax(sims[k])])
            own = np.nonzero(cand_sent == s)[0]
            best_sent[qq] = int(cand[own[np.argmax(sims[k, own])]])
    rng = np.random.default_rng(seed)
    sent = p[:, 0]
    rand = cand[rng.integers(0, len(cand), len(p))]
    for _ in range(20):  # a random partner from another sentence (redraw the few from the same one)
        same = xx_sent[rand] == sent
        if not same.any() or len(np.unique(cand_sent)) < 2:
            break
        rand[same] = cand[rng.integers(0, len(cand), int(same.sum()))]
    xn = _unit(xx)
    return pd.DataFrame({
        "sentence": sent, "en_word": p[:, 1], "xx_word": p[:, 2], "multi": xx_pieces[gx] > 1,
        "hit_sent": np.array([best_sent[e] in aligned[e] for e in ge.tolist()]),
        "hit_set": np.array([best_set[e] in aligned[e] for e in ge.tolist()]),
        "cos_pair": np.einsum("ij,ij->i", eu[ge], xn[gx]).astype(np.float64),
        "cos_random": np.einsum("ij,ij->i", eu[ge], xn[rand]).astype(np.float64),
    })


def word_measures(hits: pd.DataFrame) -> dict[str, float]:
    """The word measures of one layer's hits: retrieval accuracy in the sentence and in the set, the cosine of aligned
    pairs minus that of random pairs; each also over the single-piece and the multi-piece non-English words (NaN
    where there are none)."""
    def of(h: pd.DataFrame) -> dict[str, float]:
        if h.empty:
            return dict.fromkeys(WORD_BASE_MEASURES, float("nan"))
        return {"word_retrieval_sent": float(h["hit_sent"].mean()), "word_retrieval_set": float(h["hit_set"].mean()),
                "word_cosine_gap": float(h["cos_pair"].mean() - h["cos_random"].mean())}

    out = of(hits)
    for split, part in (("single", hits[~hits["multi"].astype(bool)]), ("multi", hits[hits["multi"].astype(bool)])):
        out.update({f"{m}_{split}": v for m, v in of(part).items()})
    return out


def linked_words(pairs: dict[str, str], truth: str | None = None) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The words whose vectors the word measures read, per language (``pairs``: ``{lang: word-pairs file}``): the
    ``(sentence, word)`` of the English (``"en"``) and non-English (``"src"``) words of its confident links, and with
    ``truth`` (the synthetic world's true alignment) of its true links too; sorted, unique. :func:`word_hits` reads
    no other word (queries, candidates and random partners are all linked words), so storing these only changes no
    measure."""
    t = pd.read_parquet(truth) if truth else None
    out = {}
    for lang, path in pairs.items():
        p, _ = read_pairs(path)
        frames = [p] + ([t[t["language"] == lang]] if t is not None else [])
        both = pd.concat([f[list(PAIR_COLUMNS)] for f in frames], ignore_index=True)
        out[lang] = {}
        for side, col in (("en", "en_word"), ("src", "xx_word")):
            k = np.unique(_keys(both["sentence"].to_numpy(), both[col].to_numpy()))
            out[lang][side] = (k >> 32, k & 0xFFFFFFFF)
    return out


def word_tables(vectors: dict, layers: list[int], pairs: pd.DataFrame, language: str, condition: str, *, corpus: str,
                seed: int = 0, skipped: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every stored layer's word measures as alignment-table rows (corpus, language, condition, layer, measure, value;
    NaN for a language without pairs: ``skipped`` says why) and the per-link hits of every layer."""
    rows, hits = [], []
    for li, layer in enumerate(layers):
        if skipped or pairs.empty:
            m = dict.fromkeys(WORD_MEASURES, float("nan"))
        else:
            h = word_hits(vectors["en"][li], vectors["src"][li], (vectors["en_sentence"], vectors["en_word"]),
                          (vectors["src_sentence"], vectors["src_word"]), vectors["src_pieces"], pairs, seed)
            hits.append(h.assign(layer=int(layer)))
            m = word_measures(h)
        rows += [{"corpus": corpus, "language": language, "condition": condition, "layer": int(layer), "measure": k, "value": v}
                 for k, v in m.items()]
    h = pd.concat(hits, ignore_index=True) if hits else pd.DataFrame(columns=list(HIT_COLUMNS))
    return pd.DataFrame(rows), h[list(HIT_COLUMNS)]


def word_measures_job(*, words: str, english: str, pairs: str, language: str, condition: str, corpus: str, out: dict,
                      seed: int = 0, truth: str | None = None) -> dict:
    """One language x condition: the word vectors of its embedding job (``words``: the language's linked words;
    ``english``: the English linked words, shared by the languages) and its word pairs -> ``out["alignment"]`` (the
    word measures of every stored layer, rows like xstilts.alignment's) and ``out["hits"]`` (per link and layer; with
    ``truth``, the synthetic world's true alignment, the same hits from the true pairs too, ``pairs`` column
    ``aligner``/``truth``)."""
    from xstilts.io import atomic_write_parquet

    vectors, layers = {}, []
    for path in (words, english):
        with np.load(path, allow_pickle=False) as z:
            vectors.update({k: z[k] for k in z.files if k not in ("meta", "layers")})
            layers.append(z["layers"].tolist())
    if layers[0] != layers[1]:
        raise ValueError(f"{words} holds layers {layers[0]} but {english} holds {layers[1]}: not from one embedding job")
    layers = layers[0]
    p, info = read_pairs(pairs)
    table, hits = word_tables(vectors, layers, p, language, condition, corpus=corpus, seed=seed, skipped=info.get("skipped", ""))
    hits = hits.assign(pairs="aligner")
    if truth is not None:
        t = pd.read_parquet(truth)
        t = t[t["language"] == language]
        _, th = word_tables(vectors, layers, t, language, condition, corpus=corpus, seed=seed)
        hits = pd.concat([hits, th.assign(pairs="truth")], ignore_index=True)
    atomic_write_parquet(table, out["alignment"])
    atomic_write_parquet(hits.assign(language=language, condition=condition), out["hits"])
    return {"links": len(p), "skipped": info.get("skipped", ""), "layers": layers}


# ============================================================================================================
# the summary: base word retrieval per language, its change per condition with a CI, the aligner against the truth
# ============================================================================================================


def _delta_ci(base: pd.DataFrame, cond: pd.DataFrame, column: str, n_boot: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """Mean over languages of the paired change in ``column`` (the same links under both models), with a 95% bootstrap
    CI over sentences, resampled within each language."""
    keys = ["language", "sentence", "en_word", "xx_word"]
    m = base[keys + [column]].merge(cond[keys + [column]], on=keys, suffixes=("_b", "_c"))
    m["d"] = m[f"{column}_c"].astype(float) - m[f"{column}_b"].astype(float)
    point, boots = [], []
    for _, g in m.groupby("language", sort=True):
        s = g.groupby("sentence")["d"].agg(["sum", "count"])
        sums, counts = s["sum"].to_numpy(), s["count"].to_numpy()
        point.append(sums.sum() / counts.sum())
        pick = rng.integers(0, len(s), (n_boot, len(s)))
        boots.append(sums[pick].sum(1) / np.maximum(counts[pick].sum(1), 1))
    b = np.mean(boots, axis=0)
    return float(np.mean(point)), float(np.quantile(b, 0.025)), float(np.quantile(b, 0.975))


def chance(pairs: pd.DataFrame) -> tuple[float, float]:
    """Chance level of word retrieval with these pairs: the mean over links of 1 / the candidates (linked non-English
    words) of its sentence, and 1 / the candidates of the whole set (one aligned word per query assumed)."""
    if pairs.empty:
        return float("nan"), float("nan")
    per_sentence = pairs.groupby("sentence")["xx_word"].nunique()
    return float((1.0 / pairs["sentence"].map(per_sentence)).mean()), 1.0 / float(per_sentence.sum())


def word_summary_job(*, hits: list[str], pairs: list[str], layer: int, n_boot: int, seed: int, out: dict,
                     truth: str | None = None) -> dict:
    """``out["table"]``: per language x condition at hidden_states ``layer``, the word retrieval in the sentence and in
    the set (aligner pairs), and per condition its Δ (mean over languages) with a 95% CI; ``out["aligner"]``: per
    language, the aligner, links, links per sentence, CPU seconds and (with ``truth``) precision and recall; with
    ``truth`` also the correlation across languages x conditions of the measure from aligner and from true pairs;
    ``out["markdown"]``: the summary's section; ``out["heatmap"]``: mean Δ word retrieval in the sentence per condition
    × stored layer (xstilts.report.layer_heatmap)."""
    from xstilts.io import atomic_write_text
    from xstilts.report import layer_heatmap, placeholder_figure

    h = pd.concat([pd.read_parquet(p) for p in hits], ignore_index=True)
    cells = h[h["pairs"] == "aligner"].groupby(["language", "layer", "condition"])["hit_sent"].mean().unstack("condition")
    ld = cells.drop(columns="base").sub(cells["base"], axis=0).stack().rename("delta").reset_index() if "base" in cells else None
    no_figure = None  # why the heatmap has nothing to show
    if ld is None:
        no_figure = "no language has word hits under the base model (every language skipped or without word pairs)"
    elif not len(ld):
        no_figure = "no condition besides the base model has word hits in a language the base model has them in"
    if no_figure is None:
        layer_heatmap(ld, out["heatmap"], "flores.word_retrieval_sent")
    else:
        placeholder_figure(out["heatmap"], f"No per-layer heatmap of Δ word retrieval: {no_figure}.")
    h = h[h["layer"] == layer]
    al = h[h["pairs"] == "aligner"]
    rows = []
    for (lang, cond), g in al.groupby(["language", "condition"], sort=True):
        rows.append({"language": lang, "condition": cond, "layer": layer, "links": len(g),
                     "word_retrieval_sent": g["hit_sent"].mean(), "word_retrieval_set": g["hit_set"].mean(),
                     "word_cosine_gap": g["cos_pair"].mean() - g["cos_random"].mean()})
    table = pd.DataFrame(rows, columns=["language", "condition", "layer", "links", "word_retrieval_sent",
                                        "word_retrieval_set", "word_cosine_gap"])
    rng = np.random.default_rng(seed)
    deltas = []
    conditions = [c for c in dict.fromkeys(al["condition"]) if c != "base"]
    base = al[al["condition"] == "base"]
    for cond in conditions:
        d = {"condition": cond}
        for col in ("hit_sent", "hit_set"):
            d[col], d[f"{col}_lo"], d[f"{col}_hi"] = _delta_ci(base, al[al["condition"] == cond], col, n_boot, rng)
        deltas.append(d)
    deltas = pd.DataFrame(deltas, columns=["condition"] + [f"{c}{e}" for c in ("hit_sent", "hit_set") for e in ("", "_lo", "_hi")])
    aligner = []
    tr = pd.read_parquet(truth) if truth else None
    for p in pairs:
        df, info = read_pairs(p)
        row = {k: info.get(k) for k in ("language", "aligner", "links", "links_per_sentence", "training_sentences", "cpu_seconds",
                                         "skipped", "seeded", "seed")}
        row["chance_sent"], row["chance_set"] = chance(df)
        if tr is not None:
            row.update(precision_recall(df, tr[tr["language"] == info["language"]]))
        aligner.append(row)
    aligner = pd.DataFrame(aligner)
    corr = None
    if truth is not None and (h["pairs"] == "truth").any():
        per = h.groupby(["pairs", "language", "condition"])["hit_sent"].mean().unstack("pairs").dropna()
        corr = {"pearson": float(np.corrcoef(per["aligner"], per["truth"])[0, 1]),
                "spearman": float(per["aligner"].rank().corr(per["truth"].rank())), "cells": len(per)}
    both = pd.concat([table, deltas.rename(columns={"hit_sent": "delta_word_retrieval_sent", "hit_sent_lo": "delta_sent_lo",
                                                    "hit_sent_hi": "delta_sent_hi", "hit_set": "delta_word_retrieval_set",
                                                    "hit_set_lo": "delta_set_lo", "hit_set_hi": "delta_set_hi"}
                                           ).assign(language="mean", layer=layer)], ignore_index=True)
    atomic_write_text(both.to_csv(index=False), out["table"])
    atomic_write_text(aligner.to_csv(index=False), out["aligner"])
    figure = Path(out["heatmap"]).relative_to(Path(out["markdown"]).parents[1]) if no_figure is None else None
    atomic_write_text(word_markdown(table, deltas, aligner, corr, layer, figure, no_figure), out["markdown"])
    return {"deltas": deltas, "aligner": aligner, "correlation": corr}


def word_markdown(table: pd.DataFrame, deltas: pd.DataFrame, aligner: pd.DataFrame, corr: dict | None, layer: int,
                  figure: Path | None = None, no_figure: str | None = None) -> str:
    """The summary's word-level section (points, 0-100); ``figure``: the per-layer heatmap, relative to the results
    root (where the summary is); ``no_figure``: why there is none (said in the section)."""
    s = ALIGNER_SETTINGS
    lines = [f"## Word-level alignment (hidden_states[{layer}])", "",
             f"Word pairs: {ALIGNER} (model {s['model']}, {s['n_samplers']} samplers, null prior {s['null_prior']}), both "
             "directions, kept only where both agree (intersection), once per language on the multi-parallel corpus (plus "
             "the language's Tatoeba pairs as extra training text). Each English word occurrence's vector (mean of its "
             "subword pieces) retrieves its aligned word among the linked words of its sentence and of the whole set."]
    if "seeded" in aligner and aligner["seeded"].notna().any():
        unseeded = aligner.loc[aligner["seeded"].ne(True) & aligner["skipped"].fillna("").eq(""), "language"].tolist()
        seeds = sorted({int(x) for x in aligner["seed"].dropna()})
        lines[-1] += (f" eflomal ran seeded (seed {', '.join(map(str, seeds))}), so the pairs are reproducible." if not unseeded else
                      f" eflomal ran UNSEEDED for {', '.join(unseeded)} (the reason is in the pairs' metadata): those pairs "
                      "vary from run to run.")
    lines.append("")
    base = table[table["condition"] == "base"].set_index("language")
    al = aligner.set_index("language")
    head = ("| language | base word retrieval, sentence | base word retrieval, set | chance, sentence / set | links | links per "
            "sentence |")
    sep = "|---|---:|---:|---:|---:|---:|"
    has_pr = "precision" in al
    if has_pr:
        head += " aligner precision | aligner recall |"
        sep += "---:|---:|"
    lines += [head, sep]
    for lang in al.index:
        skipped = al.loc[lang, "skipped"] if "skipped" in al else None
        if isinstance(skipped, str) and skipped:
            lines.append(f"| {lang} | skipped: {skipped} | | | 0 | |" + (" | |" if has_pr else ""))
            continue
        b = base.loc[lang] if lang in base.index else None
        cells = [lang, f"{100 * b['word_retrieval_sent']:.1f}" if b is not None else "–",
                 f"{100 * b['word_retrieval_set']:.1f}" if b is not None else "–",
                 f"{100 * al.loc[lang, 'chance_sent']:.1f} / {100 * al.loc[lang, 'chance_set']:.2f}", f"{int(al.loc[lang, 'links'])}",
                 f"{al.loc[lang, 'links_per_sentence']:.2f}"]
        if has_pr:
            cells += [f"{al.loc[lang, 'precision']:.3f}", f"{al.loc[lang, 'recall']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    if not base.empty:
        lines += ["", f"Mean over languages: base word retrieval {100 * base['word_retrieval_sent'].mean():.1f} points in the "
                  f"sentence (chance {100 * al['chance_sent'].mean():.1f}), {100 * base['word_retrieval_set'].mean():.1f} in the set "
                  f"(chance {100 * al['chance_set'].mean():.2f})."]
    if len(deltas):
        lines += ["", "Δ word retrieval, condition − base (points, mean over languages; 95% CI, bootstrap over sentences "
                  "within each language):", "", "| condition | Δ in the sentence | Δ in the set |", "|---|---:|---:|"]
        for _, d in deltas.iterrows():
            lines.append(f"| {d['condition']} | {100 * d['hit_sent']:+.1f} ({100 * d['hit_sent_lo']:+.1f} to "
                         f"{100 * d['hit_sent_hi']:+.1f}) | {100 * d['hit_set']:+.1f} ({100 * d['hit_set_lo']:+.1f} to "
                         f"{100 * d['hit_set_hi']:+.1f}) |")
    if has_pr:
        ok = al["precision"].dropna()
        lines += ["", f"Aligner against the true word alignment: precision {ok.min():.3f}–{ok.max():.3f}, recall "
                  f"{al['recall'].min():.3f}–{al['recall'].max():.3f} over the languages (confident links only)."]
    if corr is not None:
        lines.append(f"Word retrieval in the sentence from aligner pairs vs from true pairs, across {corr['cells']} languages × "
                     f"conditions: Pearson r = {corr['pearson']:.3f}, Spearman ρ = {corr['spearman']:.3f}.")
    if figure is not None:
        lines += ["", f"![Δ word retrieval in the sentence per condition × layer]({figure})"]
    elif no_figure:
        lines += ["", f"No per-layer heatmap: {no_figure}."]
    return "\n".join(lines) + "\n"
