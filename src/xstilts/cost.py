"""GPU-hour estimate of a study from its config, before anything runs.

    python -m xstilts.cost config/config.yaml                       # at the default 40% MFU of an H100 SXM
    python -m xstilts.cost config/config.yaml --tokens-per-s 150000 # at a measured training rate (bench/finetune.py)

Per stage: training examples (the ``rows`` pins of each task's sources, capped by ``max_train_samples`` and the
multi-task ``cap``) × epochs × real tokens per example, plus validation passes, zero-shot evaluation and embedding
extraction; FLOPs per token from xstilts.flops at each task's typical length. Throughput: ``--tokens-per-s`` (real
training tokens/s, e.g. measured by bench/finetune.py; forward-only work is credited 3× that rate) or, by default,
``--mfu`` 0.40 of the device peak (989 TFLOP/s for H100 SXM/H200): the anchor of the performance reference §5,
a derived target, not a measurement. Early stopping is ignored (an upper bound on training).

Real tokens per example are assumptions (UNVERIFIED, typical of the public datasets; override with
``--tokens-per-example type=N``); examples whose size the config does not pin fall back to ``DEFAULT_ROWS``
(performance reference §5, UNVERIFIED where marked there).

Alignment corpora (issue 18): the plan's corpora — Tatoeba for ``retrieval.tatoeba.languages`` at the language
table's ``tatoeba_pairs`` (both sides embedded), FLORES+ devtest for every study language with a FLORES+ code (1,012
sentences each, English embedded once per condition) — are separate lines of the ``embedding`` stage. Sentence
tokens = characters per sentence / ``CHARS_PER_TOKEN`` + <s> and </s>: Tatoeba's characters are measured on LASER's
files, FLORES+'s and the characters per XLM-R token are assumptions (``SENTENCE_CHARS``; ``--chars-per-token``).
Storage of the per-layer embeddings (uncompressed .npz, as xstilts.embed writes them) = sentences × conditions ×
stored layers × hidden size × bytes of ``retrieval.store_dtype``.

Word-level alignment (issue 19, xstilts.wordalign): the word vectors come out of the FLORES+ embedding pass (no
second forward pass); the added GPU work is pooling the subword pieces into words at every stored layer (a line of
the ``embedding`` stage, FLOPs only, no tokens). Printed besides: eflomal's CPU time per language (``EFLOMAL_CPU_S_PER_KWORD``,
measured), the word measures' CPU FLOPs (in the FLORES+ retrieval jobs) (the set-level retrieval dominates) and the temporary fp16 word vectors
(only the words with a confident link, ``LINKED_SHARE`` of a language's words; the English once for every language).
Words per FLORES+ sentence are an assumption (``WORDS_PER_SENTENCE``).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from xstilts import flops
from xstilts.config import with_task_defaults
from xstilts.languages import read_language_table
from xstilts.plan import StudyPlan, load_plan

# real tokens per training example (per choice × choices for multiple choice), dynamic padding
TOKENS_PER_EXAMPLE = {"pair_classification": 50, "multiple_choice": 90, "span_qa": 190, "tagging": 40}
CHOICES = {"commonsenseqa": 5, "cosmosqa": 4, "hellaswag": 4}  # multiple choice: sequences per example
DEFAULT_CHOICES = 4
QA_WINDOWS = 1.1  # span QA: windows per example at max_seq_length 384 / doc_stride 128 (SQuAD: 88.6k features / 87.6k)
# training-set sizes when the config pins none (performance reference §5; CCG: CCGbank sections 02-21)
DEFAULT_ROWS = {"mnli": 392702, "qqp": 363846, "squad": 87599, "hellaswag": 39905, "cosmosqa": 25262, "commonsenseqa": 9741,
                "anli_plus": 1104934, "sst2": 67349, "ccg": 38015, "pawsx": 49401, "udpos": 21253, "panx": 20000, "tydiqa": 3696}
# zero-shot test examples per language (XTREME test sets; UNVERIFIED averages where sizes vary by language)
TEST_ROWS = {"xnli": 5010, "pawsx": 2000, "udpos": 1000, "panx": 5000, "xquad": 1190, "mlqa": 5000, "tydiqa": 500}
TATOEBA_PAIRS, TATOEBA_TOKENS = 1000, 15  # sentences per side and tokens per sentence when no language table is read
FLORES_DEVTEST = 1012  # sentences per language of FLORES+ devtest (the same 1,012 in every language; FLORES+ README)
# characters per sentence: Tatoeba measured on LASER's test sets (../shared/realdata/tatoeba, the 74 XLM-R languages:
# 63,346 pairs, 31.5 characters per non-English and 31.9 per English sentence, 6.3 English words); FLORES+ devtest
# assumed (UNVERIFIED, the text is gated): ≈ 21 English words of Wikipedia prose × ≈ 6.2 characters with the space
SENTENCE_CHARS = {"tatoeba": 31.7, "flores": 130.0}
# characters per XLM-R SentencePiece token averaged over the study's languages: UNVERIFIED assumption (the tokenizer
# is not available offline; subword-tokenised English runs at ≈ 4 characters per token, and one parallel text
# tokenises up to 15× longer in some languages than others, Petrov et al. 2023, morphology reference S-28)
CHARS_PER_TOKEN = 3.0
SPECIAL_TOKENS = 2  # <s> ... </s> around every sentence
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
# word-level alignment: words per sentence (UNVERIFIED: ~130 characters at ~6 per word with its space), eflomal CPU
# seconds per 1,000 words of parallel text (both sides; measured: LASER Tatoeba tur-eng, 1,000 pairs = 13.7k words in
# 2.1 CPU-s on a loaded 2-core machine), the share of English words with a confident link (intersection; measured on
# LASER Tatoeba fra 0.75, fin 0.66, tur 0.49: 0.6 assumed)
WORDS_PER_SENTENCE = {"tatoeba": 8.0, "flores": 21.0}
EFLOMAL_CPU_S_PER_KWORD = 0.15
LINKED_SHARE = 0.6
BUCC_SENTENCES, BUCC_TOKENS = 2_900_000, 35  # all 4 pairs incl. the sample split (performance reference §2.4)
# the paper's alternatives (issue 20). '+translated': MT training rows per language (XNLI-MT-1.0: one translation of
# every MNLI pair, the facebook/xnli card's 392,702; XTREME SQuAD translate-train: SQuAD's 87,599 questions, a few
# dropped whose answer left its context -- UNVERIFIED how many); a task without an entry: its English row count.
# '+mlm': real tokens per MLM sequence (Wikipedia paragraphs of >= 100 characters, truncated at mlm.max_seq_length;
# UNVERIFIED typical length).
TRANSLATED_ROWS = {"mnli": 392702, "squad": 87599}
MLM_TOKENS = 120


def tokens_per_sentence(corpus: str, chars_per_token: float = CHARS_PER_TOKEN) -> float:
    """Real XLM-R tokens of an average ``corpus`` sentence, special tokens included."""
    return SENTENCE_CHARS[corpus] / chars_per_token + SPECIAL_TOKENS


def embedding_bytes(sentences: int, conditions: int, layers: int, hidden: int, dtype: str) -> int:
    """Bytes of stored sentence embeddings: one ``hidden``-dim vector of ``dtype`` per sentence, stored layer and
    condition (uncompressed .npz, as xstilts.embed writes them; the few bytes of metadata ignored)."""
    return sentences * conditions * layers * hidden * DTYPE_BYTES[dtype]


@dataclass(frozen=True)
class Corpora:
    """What the language table says about the translation-pair corpora: each Tatoeba language's pair count."""

    tatoeba_pairs: dict[str, int]  # every XLM-R language (not the pivot) in LASER's Tatoeba -> its pairs

    @classmethod
    def from_table(cls, table: pd.DataFrame, pivot: str) -> Corpora:
        t = table[(table["iso639_1"] != pivot) & table["tatoeba_pairs"].notna()]
        return cls({l: int(n) for l, n in zip(t["iso639_1"], t["tatoeba_pairs"])})

    def pairs(self, langs) -> int:
        """Tatoeba pairs of ``langs`` (the table's count; ``TATOEBA_PAIRS`` for a language it lacks)."""
        return sum(self.tatoeba_pairs.get(l, TATOEBA_PAIRS) for l in langs)


def corpus_sentences(plan: StudyPlan, corpora: Corpora | None) -> dict[str, tuple[str, int, int]]:
    """Per translation-pair corpus of the plan: (its label, sentences embedded per condition, sentence vectors
    stored per condition). FLORES+'s English is the same 1,012 sentences for every language: the embedding job
    embeds it once, but each language's file holds its own copy (the retrieval job reads one file)."""
    tat = plan.tatoeba_languages
    n_tat = 2 * (corpora.pairs(tat) if corpora else len(tat) * TATOEBA_PAIRS)
    out = {"tatoeba": (f"tatoeba {len(tat)} langs", n_tat, n_tat)}
    flores = plan.corpus_languages("flores")
    if flores:
        out["flores"] = (f"flores+ devtest {len(flores)}+en", (len(flores) + 1) * FLORES_DEVTEST, 2 * len(flores) * FLORES_DEVTEST)
    return out


@dataclass
class Line:
    stage: str
    item: str
    tokens: float  # real tokens processed (forward+backward for training, forward for inference)
    flops: float
    train: bool


def _rows(name: str, task: dict) -> tuple[int, str]:
    """Training rows: the sum of the sources' pinned train rows, else the default table."""
    sources = list(task.get("sources") or []) or [task.get("hub") or {}]
    pinned = [int((s.get("rows") or {}).get("train", 0)) for s in sources]
    if pinned and all(pinned):
        return sum(pinned), "pinned"
    if name in DEFAULT_ROWS:
        return DEFAULT_ROWS[name], "default"
    raise SystemExit(f"cost: no training size for task '{name}': pin its sources' rows.train in the config")


def _per_example(name: str, task: dict, tpe: dict) -> tuple[float, list[int]]:
    """Real tokens per training example and the sequence lengths that make it up (for the attention FLOPs)."""
    kind = task["type"]
    base = min(tpe[kind], with_task_defaults(task)["max_seq_length"])
    if kind == "multiple_choice":
        n = CHOICES.get(name, DEFAULT_CHOICES)
        return base * n, [base] * n
    if kind == "span_qa":
        return base * QA_WINDOWS, [base]
    return base, [base]


def model_shape(config: dict) -> tuple[int, int, int]:
    """(non-embedding parameters, transformer blocks, hidden size) of the study's encoder."""
    if "large" in config["model"]["name"].lower():
        return 303_361_024, 24, 1024
    a = config["synthetic"]["architecture"]
    n = a["num_hidden_layers"] * (4 * a["hidden_size"] ** 2 + 2 * a["hidden_size"] * a["intermediate_size"])
    return n, a["num_hidden_layers"], a["hidden_size"]


def estimate(plan: StudyPlan, tpe: dict | None = None, corpora: Corpora | None = None,
             chars_per_token: float = CHARS_PER_TOKEN) -> list[Line]:
    """Every stage's work for the study ``plan`` (conditions, languages and hyperparameters as the workflow resolves
    them); with ``corpora`` (the language table's), Tatoeba at the table's pair counts.
    """
    tpe = {**TOKENS_PER_EXAMPLE, **(tpe or {})}
    config = plan.config
    n, layers, d = model_shape(config)
    out: list[Line] = []

    def add(stage, item, examples, per_ex, lengths, passes, train):
        tokens = examples * per_ex * passes
        f_per_token = flops.per_token(n, layers, d, max(lengths), train=train)
        out.append(Line(stage, item, tokens, tokens * f_per_token, train))

    inter = config["intermediate_tasks"]
    for name, task in inter.items():
        hp = plan.hparams("intermediate_tasks", name)
        rows, _ = _rows(name, task)
        rows = min(rows, hp.get("max_train_samples") or rows)
        per_ex, lengths = _per_example(name, task, tpe)
        add("intermediate", name, rows, per_ex, lengths, hp["epochs"], True)
        if hp.get("eval_every"):
            steps = rows * hp["epochs"] / (hp["batch_size"] * hp["grad_accum"])
            add("intermediate", f"{name} (validation)", hp["eval_samples"] * (steps // hp["eval_every"]), per_ex, lengths, 1, False)
    conditions = len(plan.conditions)
    for cond in plan.translated:  # English + MT rows, the task's hyperparameters
        name = cond.split("+", 1)[0]
        hp = plan.hparams("intermediate_tasks", name)
        rows, _ = _rows(name, inter[name])
        rows += len(plan.translated_languages(cond)) * TRANSLATED_ROWS.get(name, rows)
        rows = min(rows, hp.get("max_train_samples") or rows)
        per_ex, lengths = _per_example(name, inter[name], tpe)
        add("translated", f"{cond} ({len(plan.translated_languages(cond))} MT langs)", rows, per_ex, lengths, hp["epochs"], True)
    mlm = plan.mlm_settings
    for cond in plan.mlm_conditions:  # the task(s) as without MLM, plus the rule's MLM batches
        hp = plan.hparams("intermediate_tasks", cond)
        cap = plan.mlm_cap(cond)
        task_batches = 0
        for name in plan.mlm_members(cond):
            rows, _ = _rows(name, inter[name])
            rows = min(rows, cap or rows, hp.get("max_train_samples") or rows)
            per_ex, lengths = _per_example(name, inter[name], tpe)
            add("mlm", f"{cond}: {name}", rows, per_ex, lengths, hp["epochs"], True)
            task_batches += math.ceil(rows / hp["batch_size"])
        sequences = (mlm["cap_per_language"] or 0) * len(plan.mlm_languages)
        if mlm["rule"] == "share":
            mlm_batches = max(1, round(mlm["share"] / (1 - mlm["share"]) * task_batches))
        else:
            mlm_batches = math.ceil(min(sequences, cap or sequences) / hp["batch_size"])
        tok = min(MLM_TOKENS, mlm["max_seq_length"])
        add("mlm", f"{cond}: MLM {len(plan.mlm_languages)} langs", mlm_batches * hp["batch_size"], tok, [tok], hp["epochs"], True)
    if "multitask" in plan.conditions:
        hp = plan.hparams("multitask")
        cap = plan.multitask_cap
        for name in plan.multitask_tasks:
            rows, _ = _rows(name, inter[name])
            rows = min(rows, cap or rows, hp.get("max_train_samples") or rows)
            per_ex, lengths = _per_example(name, inter[name], tpe)
            add("multitask", name, rows, per_ex, lengths, hp["epochs"], True)
    for name, task in config["targets"].items():
        hp = plan.hparams("targets", name)
        src = plan.train_on(name)
        rows, _ = _rows(src, inter[src]) if src else _rows(name, task)
        rows = min(rows, hp.get("max_train_samples") or rows)
        per_ex, lengths = _per_example(src or name, task, tpe)
        add("targets", f"{name} × {conditions}", rows * conditions, per_ex, lengths, hp["epochs"], True)
        if hp.get("eval_every"):
            steps = rows * hp["epochs"] / (hp["batch_size"] * hp["grad_accum"])
            add("targets", f"{name} × {conditions} (validation)", conditions * hp["eval_samples"] * (steps // hp["eval_every"]),
                per_ex, lengths, 1, False)
        test = TEST_ROWS.get(name, 1000) * len(plan.target_languages(name))
        add("evaluation", f"{name} × {conditions}", test * conditions, per_ex, lengths, 1, False)
    for corpus, (label, sentences, _) in corpus_sentences(plan, corpora).items():
        tok = tokens_per_sentence(corpus, chars_per_token) if corpora or corpus != "tatoeba" else TATOEBA_TOKENS
        add("embedding", f"{label} × {conditions}", sentences * conditions, tok, [round(tok)], 1, False)
    words = word_lines(plan, chars_per_token)
    out += words
    bucc = BUCC_SENTENCES * len(plan.bucc_languages) / 4
    add("embedding", f"bucc × {conditions}", bucc * conditions, BUCC_TOKENS, [BUCC_TOKENS], 1, False)
    return out


def word_lines(plan: StudyPlan, chars_per_token: float = CHARS_PER_TOKEN) -> list[Line]:
    """The GPU work the word vectors add to the FLORES+ embedding jobs: every piece of every sentence (both sides, the
    English once per condition) added into its word's vector at every stored layer (2 FLOPs a dimension), no tokens;
    an upper bound, since only the pieces of linked words are pooled."""
    langs = plan.word_languages
    if not langs:
        return []
    _, _, d = model_shape(plan.config)
    c, layers = len(plan.conditions), len(plan.layers.stored)
    pieces = c * (len(langs) + 1) * FLORES_DEVTEST * tokens_per_sentence("flores", chars_per_token)
    return [Line("embedding", f"word vectors, flores+ {len(langs)}+en × {c}", 0.0, pieces * layers * d * 2.0, False)]


def word_text(plan: StudyPlan, corpora: Corpora | None) -> str:
    """CPU time of the word aligner and the word measures (FLORES+ retrieval jobs), and the temporary word vectors' size."""
    langs = plan.word_languages
    if not langs:
        return "# word-level alignment: none (the study has no multi-parallel corpus)"
    _, _, d = model_shape(plan.config)
    c, layers = len(plan.conditions), len(plan.layers.stored)
    w = WORDS_PER_SENTENCE["flores"] * FLORES_DEVTEST  # words per side of one language
    extra = sum((corpora.tatoeba_pairs.get(l, TATOEBA_PAIRS) if corpora else TATOEBA_PAIRS) for l in langs
                 if l in plan.tatoeba_languages) * 2 * WORDS_PER_SENTENCE["tatoeba"]
    align_s = (len(langs) * 2 * w + extra) * EFLOMAL_CPU_S_PER_KWORD / 1000
    links = LINKED_SHARE * w
    measure_flops = c * len(langs) * layers * 2.0 * d * links * links  # set-level retrieval: queries x candidates
    per_word = layers * d * 2  # fp16 at every stored layer
    lang_bytes = links * per_word  # a language's linked non-English words (intersected links are one-to-one)
    english_bytes = w * per_word  # the English linked words of every language, stored once: at most every English word
    word_bytes = lang_bytes * len(langs) + english_bytes  # per condition
    return "\n".join([
        f"# word-level alignment ({len(langs)} languages, {c} conditions, {layers} stored layers)",
        f"  cpu          eflomal, {len(langs)} jobs (once per language)   {align_s / 60:8.1f} CPU-min  "
        f"({align_s / len(langs):.1f} CPU-s a language at {EFLOMAL_CPU_S_PER_KWORD} CPU-s per 1,000 words)",
        f"  cpu          word measures, {c * len(langs)} FLORES+ jobs      {measure_flops / 1e12:8.1f} TFLOP  "
        f"({measure_flops / c / len(langs) / 1e12:.2f} TFLOP in each retrieval_flores job, ~{links:,.0f} linked words a side)",
        f"  storage      word vectors (temporary), fp16       {word_bytes / 2**30:8.1f} GiB per condition until its FLORES+ "
        f"retrieval jobs ran (linked words only: {lang_bytes / 2**30:.2f} GiB a language, {english_bytes / 2**30:.2f} GiB of English once)",
    ])


def storage(plan: StudyPlan, corpora: Corpora) -> str:
    """Disk for the per-layer sentence embeddings of the plan's corpora (Tatoeba, FLORES+) at
    ``retrieval.store_dtype`` and the stored ``analysis_layers``."""
    _, _, d = model_shape(plan.config)
    dtype = plan.config["retrieval"]["store_dtype"]
    c, layers = len(plan.conditions), len(plan.layers.stored)
    rows = [f"# storage: per-layer embeddings, {dtype} ({DTYPE_BYTES[dtype]} B) × {d} dims × {layers} stored layers "
            f"(retrieval.analysis_layers) × {c} conditions, uncompressed .npz"]
    for label, _, sentences in corpus_sentences(plan, corpora).values():
        full = embedding_bytes(sentences, c, layers, d, dtype) / 2**30
        main = embedding_bytes(sentences, c, 1, d, dtype) / 2**30
        rows.append(f"  storage      {label:34s} {sentences:>10,} vectors  {full:8.1f} GiB  (main layer only {main:.1f} GiB)")
    return "\n".join(rows)


def report(lines: list[Line], tokens_per_s: float | None, mfu: float, peak: float) -> tuple[str, float]:
    """A table of GPU-hours per item and stage; returns (text, total hours)."""
    def hours(line: Line) -> float:
        if tokens_per_s:
            return line.tokens / (tokens_per_s * (1 if line.train else 3)) / 3600
        return line.flops / (mfu * peak) / 3600

    rows, stages = [], {}
    for line in lines:
        h = hours(line)
        stages[line.stage] = stages.get(line.stage, 0.0) + h
        rows.append(f"  {line.stage:12s} {line.item:34s} {line.tokens / 1e6:10.1f} M tok  {line.flops / 1e15:10.1f} PFLOP  {h:8.3f} GPU-h")
    total = sum(stages.values())
    rate = (f"{tokens_per_s:,.0f} real training tokens/s (given; inference at 3×)" if tokens_per_s else
            f"{mfu:.0%} MFU of {peak / 1e12:.0f} TFLOP/s (H100 SXM bf16 dense peak) — the performance reference §5 anchor, "
            "a derived target, not a measurement")
    text = "\n".join([f"# throughput: {rate}", *rows, "", *[f"{s:12s} {h:8.2f} GPU-h" for s, h in stages.items()],
                      f"{'total':12s} {total:8.2f} GPU-h"])
    return text, total


def main(argv=None) -> float:
    ap = argparse.ArgumentParser(prog="python -m xstilts.cost", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="config file (e.g. config/config.yaml)")
    ap.add_argument("--tokens-per-s", type=float, default=None, help="measured real training tokens/s (bench/finetune.py)")
    ap.add_argument("--mfu", type=float, default=0.40, help="model FLOPs utilisation when no rate is given (default 0.40)")
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="device bf16 dense peak (H100 SXM / H200: 989)")
    ap.add_argument("--tokens-per-example", action="append", default=[], metavar="TYPE=N", help="override real tokens per example")
    ap.add_argument("--chars-per-token", type=float, default=CHARS_PER_TOKEN,
                    help=f"characters per XLM-R token for the alignment corpora (default {CHARS_PER_TOKEN}, an assumption)")
    a = ap.parse_args(argv)
    plan = load_plan(yaml.safe_load(Path(a.config).read_text()))
    tpe = {k: int(v) for k, v in (x.split("=", 1) for x in a.tokens_per_example)}
    table = Path(plan.language_table)
    corpora = Corpora.from_table(read_language_table(table), plan.pivot) if table.is_file() else None
    text, total = report(estimate(plan, tpe, corpora, a.chars_per_token), a.tokens_per_s, a.mfu, a.peak_tflops * 1e12)
    print(text)
    if corpora:
        print(f"\n# translation-pair corpora (language table {table}): tokens per sentence = characters / "
              f"{a.chars_per_token:g} + {SPECIAL_TOKENS} (Tatoeba {tokens_per_sentence('tatoeba', a.chars_per_token):.1f}, "
              f"FLORES+ {tokens_per_sentence('flores', a.chars_per_token):.1f}; see xstilts.cost)")
        print(storage(plan, corpora))
        print(word_text(plan, corpora))
    else:
        print(f"\n# no language table at {table}: Tatoeba at {TATOEBA_PAIRS} pairs per language, no storage lines")
    return total if math.isfinite(total) else float("nan")


if __name__ == "__main__":
    main()
