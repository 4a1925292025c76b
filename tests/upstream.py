"""Exact copies of the upstream layouts of every real source, and a stub of the network that serves them.

Never written to fit the loaders: each fixture repeats its upstream's file names, dataset-card ``configs:`` block (in
the upstream order: the hub's conversion writes it sorted by config name, so google/xtreme starts with ``MLQA.ar.ar``
and nyu-mll/glue with ``ax``), feature types (ClassLabel vs string, -1 labels, nested answers/choices; written by
``datasets.Dataset.to_parquet``, so the ClassLabel names sit in the parquet schema metadata exactly as ``datasets``
writes them), and the partial snapshot a download leaves (:class:`Upstream.snapshot_download` keeps the files that
``huggingface_hub.utils.filter_repo_objects`` lets through ``allow_patterns``, as ``snapshot_download`` does).
Only the row contents are invented (a few rows each); LASER Tatoeba and WALS CLDF are the real files of
``../shared/realdata``.

Evidence, one row per fixture (hub commits as cited in ../shared/reference/upstream-layouts.md and re-read where the
search corpora hold them; "unverified" = nobody could confirm it offline):

==========================  ======================================================  =====================================================
fixture                      upstream layout and types                               evidence
==========================  ======================================================  =====================================================
google/xtreme               ``<config>/<split>-00000-of-00001.parquet``; card        hub tree 79ab896 / 7050bb4 (folders MLQA.ar.ar,
(:func:`xtreme_repo`)       ``configs:`` sorted, first ``MLQA.ar.ar``; XNLI           MLQA.ar.de, ...; MLQA.en.ar/test-00000-of-00001.parquet
                            language/sentence1/sentence2/gold_label (strings);       at b09e937); card commit 68bd9e0 (configs from
                            PAWS-X label string; udpos pos_tags ClassLabel(17       MLQA.ar.ar); commits 16076f1 (XNLI), aef2c41 (PAWS-X),
                            UPOS); PAN-X tokens/ner_tags ClassLabel(7)/langs;        823902d (udpos), b6419ab (PAN-X), 90a6339 (tydiqa);
                            XQuAD validation only, no title; MLQA test+validation    config names and languages: huggingface/datasets
                            with title; tydiqa train+validation, languages mixed     datasets/xtreme/xtreme.py (_NAMES, _UD_POS_LANG, ...)
nyu-mll/glue                ``<config>/<split>-00000-of-00001.parquet``; card first  hub commit 9236b36 (adds ax before cola); tree
(:func:`glue_repo`)         ``ax``; mnli validation_matched/_mismatched; label       0de2392 (folders ax, cola, mnli, mnli_matched, ...);
                            ClassLabel, test labels -1                               dataset viewer (12 subsets)
stanfordnlp/snli            ``plain_text/{train,validation,test}-00000-of-00001``;   hub commit 5e5f553
(:func:`snli_repo`)         label ClassLabel with -1 rows in train
facebook/anli               ``plain_text/{train,dev,test}_r{1,2,3}-00000-of-00001``; hub commit 8e4813d ("Convert dataset to Parquet")
(:func:`anli_repo`)         label ClassLabel
tau/commonsense_qa          config ``default``: ``data/{train,validation,test}-*``;  hub commit 34986e8
(:func:`csqa_repo`)         choices {label: [..], text: [..]}, test answerKey ""
rajpurkar/squad             ``plain_text/{train,validation}-00000-of-00001``;        hub dataset viewer
(:func:`squad_repo`)        answers {text: [..], answer_start: [..]}
Rowan/hellaswag (parquet    ``refs/convert/parquet``: ``default/{train,validation,   hub tree refs/convert/parquet/default/validation;
branch, :func:`hellaswag`)  test}/0000.parquet``; label string "0"-"3"               its main branch holds a loading script
CosmosQA originals          GitHub wilburOne/cosmosqa ``data/train.csv``,            jiant tasks/lib/cosmosqa.py (reads the CSVs);
(:func:`cosmosqa_files`)    ``data/valid.csv`` (id, context, question, answer0-3,    huggingface cosmos_qa loading script (csv.DictReader,
                            label), ``data/test.jsonl``                               same columns); TFDS cosmos_qa _SPLIT_DOWNLOAD_URL.
                                                                                     Whether allenai/cosmos_qa has refs/convert/parquet:
                                                                                     unverified (so the originals are the source)
openlanguagedata/           ``dev/<code>.parquet``, ``devtest/<code>.parquet``;      public loaders load_dataset(<dir>, data_files={"dev":
flores_plus (gated,         configs ``default`` + one per language; id, iso_639_3,   ["dev/<code>.parquet"], ...}) (search corpus: code);
:func:`flores_repo`)        iso_15924, glottocode, text, url, domain, topic, ...     dataset card (997 dev / 1012 devtest sentences);
                                                                                     per-language config data_files: unverified
FacebookAI/                 model.safetensors, config.json, sentencepiece.bpe.model, hub tree main
xlm-roberta-large           tokenizer.json, tokenizer_config.json, onnx/, and the
(:func:`xlmr_repo`)         pickled/TF/Flax weights (never fetched)
BUCC 2018 archives          ``bucc2018-<l>-en.{sample,training}-gold.tar.bz2`` ->     google-research/xtreme scripts/download_data.sh;
(:func:`bucc_archive`)      ``bucc2018/<l>-en/<l>-en.<split>.{<l>,en,gold}``,         xtreme.py bucc18 config; host reachability
                            lines ``id<TAB>sentence``, gold ``id<TAB>id``            (comparable.limsi.fr, LIMSI is now LISN): unverified
LASER Tatoeba (real files)  ``data/tatoeba/v1/tatoeba.<code>-eng.{<code>,eng}``      ../shared/realdata/tatoeba (LASER commit 74bc6ae)
WALS CLDF (real files)      ``cldf/{values,languages,parameters,codes}.csv``, CRLF   ../shared/realdata/wals-cldf (commit 3a9efd6, v2020.4)
                            in a checkout (its .gitattributes)
jiant CCG (user files)      ``ccg.{train,dev,test}``: ``tokens<TAB>tags``, space-     nyu-mll/jiant jiant/tasks/lib/ccg.py (line.strip().
(:func:`ccg_dir`)           separated; ``tags_to_id.json`` (1,363 labels upstream)   split("\\t"), tags_to_id.json), scripts/ccg/ccg_proc.py
wikimedia/wikipedia         one config per dump × language, ``20231101.<wiki>/       public code reading hf://datasets/wikimedia/wikipedia/
(:func:`wikipedia_repo`,    train-0000k-of-0000N.parquet`` (en: 41 shards); columns  20231101.en/train-00000-of-00041.parquet (search
the +mlm text)              id, url, title, text (articles, paragraphs separated     corpus: code, several repositories; one cites columns
                            by newlines, headings as short lines; ``text`` the       id/url/title/text and a pinned revision + sha256);
                            body: the title is its own column, not a first line      shard counts of the other languages: unverified;
                            of ``text``)                                             title not repeated in ``text``: reviewer's reading
                                                                                     of real rows, not re-read offline (unverified here)
facebook/xnli (XNLI-MT-1.0, ``<lang>/{train,validation,test}-00000-of-00001.parquet`` hub commit bc7e4fad ("Convert dataset to Parquet":
:func:`xnli_repo`)          per language + ``all_languages/``; premise, hypothesis   ar/{test,train,validation}-00000-of-00001.parquet);
                            (strings), label ClassLabel [entailment, neutral,        README at 137b2f1 (dataset_info: train 392,702 rows
                            contradiction]; train = 392,702 rows per language.       per language, label names); all_languages tree.
                            Card ``configs:`` sorted, so ``all_languages`` first.    all_languages features: huggingface/datasets
                            ``all_languages``: premise Translation (struct of the    datasets/xnli/xnli.py (premise Translation,
                            15 languages' strings), hypothesis                       hypothesis TranslationVariableLanguages, label
                            TranslationVariableLanguages (struct of the lists        ClassLabel) and its README at 2a2dd63 (config
                            ``language``, ``translation``), label ClassLabel          all_languages, 392,702 train rows; example premise
                                                                                     {"ar": ..}, hypothesis {"language": [ar .. zh],
                                                                                     "translation": [..]}, label 0). Unverified: that
                                                                                     the hub's parquet export of all_languages keeps
                                                                                     exactly this arrow schema (as datasets writes it)
                                                                                     and the card's position of all_languages (sorted,
                                                                                     as for every hub conversion here)
XTREME SQuAD translate-     ``https://storage.googleapis.com/xtreme_translations/    tensorflow/datasets question_answering/xquad.py
train (:func:`squad_json`)  SQuAD/translate-train/squad.translate.train.en-<l>.json`` (_XTREME_SQUAD_URL_FORMAT, languages ar de el es hi
                            (SQuAD v1.1 JSON: data/paragraphs/qas/answers)           ru th tr vi zh); google-research/xtreme README
                                                                                     (bucket xtreme_translations)
==========================  ======================================================  =====================================================
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "realdata"
HAVE_REAL = (REAL / "tatoeba").is_dir() and (REAL / "wals-cldf").is_dir()
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
XTREME_PIN = "21f88c0ff5bf413a83c854eb00050e75d245161f"  # the pins config/config.yaml gives
LASER_PIN = "74bc6ae7ffb7cba670fe0f428d0ede9f666fb821"
WALS_PIN = "3a9efd69074e1ced1da69e31b9aebfd55006eb70"

UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM",
        "VERB", "X"]
PANX_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
NLI = ["entailment", "neutral", "contradiction"]

# google/xtreme config names (huggingface/datasets datasets/xtreme/xtreme.py: _NAMES and its language lists)
XTREME_MLQA = ["ar", "de", "vi", "zh", "en", "es", "hi"]
XTREME_XQUAD = ["ar", "de", "vi", "zh", "en", "es", "hi", "el", "ru", "th", "tr"]
XTREME_PAWSX = ["de", "en", "es", "fr", "ja", "ko", "zh"]
XTREME_BUCC = ["de", "fr", "zh", "ru"]
XTREME_TATOEBA = ["afr", "ara", "ben", "bul", "deu", "cmn", "ell", "est", "eus", "fin", "fra", "heb", "hin", "hun", "ind", "ita",
                  "jav", "jpn", "kat", "kaz", "kor", "mal", "mar", "nld", "pes", "por", "rus", "spa", "swh", "tam", "tgl", "tha",
                  "tur", "urd", "vie"]
XTREME_UDPOS = ["Afrikaans", "Arabic", "Basque", "Bulgarian", "Dutch", "English", "Estonian", "Finnish", "French", "German",
                "Greek", "Hebrew", "Hindi", "Hungarian", "Indonesian", "Italian", "Japanese", "Kazakh", "Korean", "Chinese",
                "Marathi", "Persian", "Portuguese", "Russian", "Spanish", "Tagalog", "Tamil", "Telugu", "Thai", "Turkish", "Urdu",
                "Vietnamese", "Yoruba"]
XTREME_PANX = ["af", "ar", "bg", "bn", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id", "it", "ja", "jv",
               "ka", "kk", "ko", "ml", "mr", "ms", "my", "nl", "pt", "ru", "sw", "ta", "te", "th", "tl", "tr", "ur", "vi", "yo", "zh"]


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


# ============================================================================================================
# hub repositories
# ============================================================================================================

Producer = Callable[[Path], None]  # writes one file's bytes to the given path


@dataclass
class Repo:
    """One hub repository at one commit: path -> producer (files are materialised only when a download keeps them,
    so a fixture can list every upstream file without building them all)."""

    repo_id: str
    repo_type: str = "dataset"
    revision: str = ""
    files: dict[str, Producer | bytes] = field(default_factory=dict)
    gated: bool = False

    def __post_init__(self):
        self.revision = self.revision or sha1(f"{self.repo_type}:{self.repo_id}")

    def write(self, path: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        item = self.files[path]
        if isinstance(item, bytes):
            dest.write_bytes(item)
        else:
            item(dest)

    def size(self, path: str) -> int:
        item = self.files[path]
        return len(item) if isinstance(item, bytes) else 1000  # the tree listing's size of a lazily built file


def card(configs: list[tuple[str, dict[str, list[str] | str]]], extra: dict | None = None) -> bytes:
    """A dataset card whose ``configs:`` block lists ``configs`` in the given order, in the hub's YAML shape."""
    block = []
    for name, splits in configs:
        entry = {"config_name": name, "data_files": [{"split": s, "path": p} for s, p in splits.items()]}
        block.append(entry)
    meta = {**(extra or {}), "configs": block}
    return ("---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n# Dataset Card\n").encode()


def parquet(build: Callable[[], object]) -> Producer:
    """A producer writing ``build()`` (a datasets.Dataset) as the hub's parquet export does."""
    return lambda dest: build().to_parquet(str(dest))


def hub_dataset(repo_id: str, configs: dict[str, dict[str, Callable[[], object]]], *, order: str = "sorted",
                extra_files: dict | None = None, card_extra: dict | None = None, gated: bool = False) -> Repo:
    """A script-free hub dataset in the parquet export layout: ``<config>/<split>-00000-of-00001.parquet`` and a card
    naming them (``<config>/<split>-*``), configs sorted by name as the hub's conversion writes them."""
    names = sorted(configs) if order == "sorted" else list(configs)
    files: dict = {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"}
    entries = []
    for name in names:
        splits = {}
        for split, build in configs[name].items():
            files[f"{name}/{split}-00000-of-00001.parquet"] = parquet(build)
            splits[split] = f"{name}/{split}-*"
        entries.append((name, splits))
    files["README.md"] = card(entries, card_extra)
    files.update(extra_files or {})
    return Repo(repo_id, files=files, gated=gated)


# ------------------------------------------------------------------------------------------------ rows


def _ds(rows: dict, features: dict):
    from datasets import Dataset, Features

    return Dataset.from_dict(rows, features=Features(features))


def _v(t: str = "string"):
    from datasets import Value

    return Value(t)


def _cl(names):
    from datasets import ClassLabel

    return ClassLabel(names=list(names))


def _seq(feature):
    from datasets import Sequence

    return Sequence(feature)


def nli_rows(prefix: str, labels: list[int], names=NLI, cols=("premise", "hypothesis"), idx: bool = True, uid: bool = False):
    def build():
        rows = {cols[0]: [f"{prefix} {i}." for i in range(len(labels))], cols[1]: [f"{prefix} {i}?" for i in range(len(labels))],
                "label": labels}
        feats = {cols[0]: _v(), cols[1]: _v(), "label": _cl(names)}
        if idx:
            rows["idx"], feats["idx"] = list(range(len(labels))), _v("int32")
        if uid:
            rows = {"uid": [f"{prefix}-{i}" for i in range(len(labels))], **rows, "reason": [""] * len(labels)}
            feats = {"uid": _v(), **feats, "reason": _v()}
        return _ds(rows, feats)

    return build


def squad_rows(prefix: str, n: int = 2, title: bool = True, ids=None):
    """SQuAD-format rows whose answers sit exactly at answer_start (two gold answers on the first row)."""

    def build():
        ids_ = ids or [f"{prefix}-{i}" for i in range(n)]
        contexts = [f"{prefix} context {i}: Paris is the capital of France." for i in range(len(ids_))]
        answers = []
        for i, c in enumerate(contexts):
            texts = ["Paris", "France"] if i == 0 else ["France"]
            answers.append({"text": texts, "answer_start": [c.index(t) for t in texts]})
        feats = {"id": _v(), "title": _v(), "context": _v(), "question": _v(),
                 "answers": _seq({"text": _v(), "answer_start": _v("int32")})}
        rows = {"id": ids_, "title": [prefix] * len(ids_), "context": contexts, "question": ["What?"] * len(ids_), "answers": answers}
        if not title:
            del feats["title"], rows["title"]
        return _ds(rows, feats)

    return build


def tagging_rows(tag_col: str, names: list[str], tags: list[list[int]], langs: str | None = None):
    def build():
        tokens = [[f"w{j}" for j in range(len(t))] for t in tags]
        rows = {"tokens": tokens, tag_col: tags}
        feats = {"tokens": _seq(_v()), tag_col: _seq(_cl(names))}
        if langs is not None:
            rows["langs"], feats["langs"] = [[langs] * len(t) for t in tags], _seq(_v())
        return _ds(rows, feats)

    return build


# ------------------------------------------------------------------------------------------------ the repositories


def xtreme_repo() -> Repo:
    """google/xtreme, every config of its card (sorted: MLQA.ar.ar first)."""
    configs: dict[str, dict] = {}
    for a in XTREME_MLQA:
        for b in XTREME_MLQA:
            configs[f"MLQA.{a}.{b}"] = {"test": squad_rows(f"mlqa-{a}-{b}-test"), "validation": squad_rows(f"mlqa-{a}-{b}-dev")}
    for l in XTREME_PANX:
        tags = tagging_rows("ner_tags", PANX_TAGS, [[1, 2, 0], [0, 5]], langs=l)
        configs[f"PAN-X.{l}"] = {"train": tags, "validation": tags, "test": tags}
    for l in XTREME_PAWSX:
        def paws(l=l):
            return _ds({"sentence1": [f"{l} a", f"{l} b"], "sentence2": [f"{l} c", f"{l} d"], "label": ["1", "0"]},
                       {"sentence1": _v(), "sentence2": _v(), "label": _v()})
        configs[f"PAWS-X.{l}"] = {"train": paws, "validation": paws, "test": paws}
    configs["SQuAD"] = {"train": squad_rows("xsquad-train"), "validation": squad_rows("xsquad-dev")}
    langs = ["ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]

    def xnli(n=2):
        rows = {"language": [l for l in langs for _ in range(n)], "sentence1": [f"{l} p{i}" for l in langs for i in range(n)],
                "sentence2": [f"{l} h{i}" for l in langs for i in range(n)],
                "gold_label": [NLI[i % 3] for _ in langs for i in range(n)]}
        return _ds(rows, {"language": _v(), "sentence1": _v(), "sentence2": _v(), "gold_label": _v()})

    configs["XNLI"] = {"test": xnli, "validation": xnli}
    for l in XTREME_XQUAD:
        configs[f"XQuAD.{l}"] = {"validation": squad_rows(f"xquad-{l}", title=False)}
    for l in XTREME_BUCC:
        def bucc(l=l):
            return _ds({"source_sentence": ["s"], "target_sentence": ["t"], "source_lang": [f"{l}-1"], "target_lang": ["en-1"]},
                       {"source_sentence": _v(), "target_sentence": _v(), "source_lang": _v(), "target_lang": _v()})
        configs[f"bucc18.{l}"] = {"validation": bucc, "test": bucc}
    for l in XTREME_TATOEBA:
        def tato(l=l):
            return _ds({"source_sentence": [f"{l} one.\n", f"{l} two.\n"], "target_sentence": ["One.\n", "Two.\n"],
                        "source_lang": [l, l], "target_lang": ["eng", "eng"]},
                       {"source_sentence": _v(), "target_sentence": _v(), "source_lang": _v(), "target_lang": _v()})
        configs[f"tatoeba.{l}"] = {"validation": tato}
    tydi_ids = ["english-1", "arabic-2", "bengali-3", "finnish-4", "indonesian-5", "korean-6", "russian-7", "swahili-8",
                "telugu-9", "english-10"]
    configs["tydiqa"] = {"train": squad_rows("tydi-train", ids=tydi_ids), "validation": squad_rows("tydi-dev", ids=tydi_ids)}
    for name in XTREME_UDPOS:
        pos = tagging_rows("pos_tags", UPOS, [[7, 15, 12], [10, 15]])
        if name == "Kazakh":
            configs[f"udpos.{name}"] = {"train": pos, "test": pos}
        elif name in ("Tagalog", "Thai", "Yoruba"):
            configs[f"udpos.{name}"] = {"test": pos}
        else:
            configs[f"udpos.{name}"] = {"train": pos, "validation": pos, "test": pos}
    return hub_dataset("google/xtreme", configs, card_extra={"pretty_name": "XTREME"})


def glue_repo() -> Repo:
    """nyu-mll/glue: 12 configs, sorted (ax first)."""
    def sentence(names, prefix, labels=(1, 0)):
        def build():
            return _ds({"sentence": [f"{prefix} {i}" for i in range(len(labels))], "label": list(labels),
                        "idx": list(range(len(labels)))}, {"sentence": _v(), "label": _cl(names), "idx": _v("int32")})
        return build

    mnli = {"train": nli_rows("mnli-train", [0, 1, 2]), "validation_matched": nli_rows("mnli-vm", [2, 0]),
            "validation_mismatched": nli_rows("mnli-vmm", [1]), "test_matched": nli_rows("mnli-tm", [-1]),
            "test_mismatched": nli_rows("mnli-tmm", [-1])}
    pair = lambda names, c=("sentence1", "sentence2"): {s: nli_rows(f"x-{s}", [0, 1] if s != "test" else [-1, -1], names=names, cols=c)
                                                        for s in ("train", "validation", "test")}
    configs = {
        "ax": {"test": nli_rows("ax", [-1, -1])},
        "cola": {s: sentence(["unacceptable", "acceptable"], f"cola-{s}") for s in ("train", "validation", "test")},
        "mnli": mnli,
        "mnli_matched": {"validation": nli_rows("mm-v", [0]), "test": nli_rows("mm-t", [-1])},
        "mnli_mismatched": {"validation": nli_rows("mmm-v", [0]), "test": nli_rows("mmm-t", [-1])},
        "mrpc": pair(["not_equivalent", "equivalent"]),
        "qnli": pair(["entailment", "not_entailment"], ("question", "sentence")),
        "qqp": {"train": nli_rows("qqp-train", [0, 1], names=["not_duplicate", "duplicate"], cols=("question1", "question2")),
                "validation": nli_rows("qqp-dev", [1], names=["not_duplicate", "duplicate"], cols=("question1", "question2")),
                "test": nli_rows("qqp-test", [-1], names=["not_duplicate", "duplicate"], cols=("question1", "question2"))},
        "rte": pair(["entailment", "not_entailment"]),
        "sst2": {s: sentence(["negative", "positive"], f"sst2-{s}", (1, 0) if s != "test" else (-1,)) for s in ("train", "validation", "test")},
        "stsb": {s: (lambda s=s: _ds({"sentence1": ["a"], "sentence2": ["b"], "label": [3.2], "idx": [0]},
                                    {"sentence1": _v(), "sentence2": _v(), "label": _v("float32"), "idx": _v("int32")}))
                 for s in ("train", "validation", "test")},
        "wnli": pair(["not_entailment", "entailment"]),
    }
    return hub_dataset("nyu-mll/glue", configs)


def snli_repo() -> Repo:
    """stanfordnlp/snli: one config, plain_text; SNLI's no-consensus pairs carry label -1."""
    return hub_dataset("stanfordnlp/snli", {"plain_text": {"test": nli_rows("snli-test", [0]), "validation": nli_rows("snli-dev", [1]),
                                                           "train": nli_rows("snli-train", [0, -1, 2, 1], idx=False)}}, order="given")


def anli_repo() -> Repo:
    splits = {}
    for r in (1, 2, 3):
        splits[f"train_r{r}"] = nli_rows(f"anli-train-r{r}", [0, 1, 2][:r], idx=False, uid=True)
        splits[f"dev_r{r}"] = nli_rows(f"anli-dev-r{r}", [r % 3], idx=False, uid=True)
        splits[f"test_r{r}"] = nli_rows(f"anli-test-r{r}", [0], idx=False, uid=True)
    return hub_dataset("facebook/anli", {"plain_text": splits})


def csqa_repo() -> Repo:
    """tau/commonsense_qa: config default with files under data/ (not under the config's name)."""

    def rows(prefix, keys):
        def build():
            choices = [{"label": list("ABCDE"), "text": [f"{prefix} {c}" for c in "abcde"]} for _ in keys]
            return _ds({"id": [f"{prefix}{i}" for i in range(len(keys))], "question": [f"{prefix} q{i}?" for i in range(len(keys))],
                        "question_concept": ["c"] * len(keys), "choices": choices, "answerKey": list(keys)},
                       {"id": _v(), "question": _v(), "question_concept": _v(),
                        "choices": _seq({"label": _v(), "text": _v()}), "answerKey": _v()})
        return build

    files = {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"}
    splits = {}
    for split, keys in (("train", "DA"), ("validation", "C"), ("test", "  ")):
        files[f"data/{split}-00000-of-00001.parquet"] = parquet(rows(split, [k.strip() for k in keys]))
        splits[split] = f"data/{split}-*"
    files["README.md"] = card([("default", splits)])
    return Repo("tau/commonsense_qa", files=files)


def squad_repo() -> Repo:
    return hub_dataset("rajpurkar/squad", {"plain_text": {"train": squad_rows("squad-train", 3), "validation": squad_rows("squad-dev")}})


WIKI_DUMP = "20231101"


def wikipedia_repo(langs: list[str], articles: int = 4) -> Repo:
    """wikimedia/wikipedia: ``<dump>.<lang>/train-0000k-of-00002.parquet`` (two shards each), columns id, url, title,
    text; ``text`` the article body without its title (the title is its own column): two long paragraphs and a short
    line, separated by newlines."""

    def shard(lang, k):
        def build():
            ids = [f"{k}{i}" for i in range(articles)]
            text = [f"{lang} paragraph one of article {k}.{i}, long enough to be kept as MLM text "
                    f"for the language {lang}, since it runs past one hundred characters.\nSecond paragraph {k}.{i} of "
                    f"{lang}, also well above one hundred characters, so that the conversion keeps it too.\nSee also"
                    for i in range(articles)]
            return _ds({"id": ids, "url": [f"https://{lang}.wikipedia.org/wiki?curid={i}" for i in ids],
                        "title": [f"Title {lang} {i}" for i in range(articles)], "text": text},
                       {"id": _v(), "url": _v(), "title": _v(), "text": _v()})
        return build

    files: dict = {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"}
    entries = []
    for lang in sorted(langs):
        name = f"{WIKI_DUMP}.{lang}"
        for k in range(2):
            files[f"{name}/train-{k:05d}-of-00002.parquet"] = parquet(shard(lang, k))
        entries.append((name, {"train": f"{name}/train-*"}))
    files["README.md"] = card(entries)
    return Repo("wikimedia/wikipedia", files=files)


XNLI_LANGS = ["ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]


def xnli_all_languages_rows(prefix: str, labels: list[int]):
    """facebook/xnli ``all_languages``: one row per example with every language's text: premise a Translation
    (struct language -> string), hypothesis a TranslationVariableLanguages (struct of the lists ``language`` and
    ``translation``), label ClassLabel [entailment, neutral, contradiction]."""
    from datasets import Translation, TranslationVariableLanguages

    def build():
        n = len(labels)
        return _ds({"premise": [{l: f"{prefix} {l} {i}." for l in XNLI_LANGS} for i in range(n)],
                    "hypothesis": [{l: f"{prefix} {l} {i}?" for l in XNLI_LANGS} for i in range(n)], "label": labels},
                   {"premise": Translation(languages=XNLI_LANGS), "hypothesis": TranslationVariableLanguages(languages=XNLI_LANGS),
                    "label": _cl(NLI)})

    return build


def xnli_repo() -> Repo:
    """facebook/xnli (XNLI-MT-1.0 in the train splits): one config per language, ``<lang>/<split>-00000-of-00001.parquet``,
    premise/hypothesis strings and a ClassLabel label; and ``all_languages`` (translation features,
    :func:`xnli_all_languages_rows`), first in the card (configs sorted by name), never read."""
    configs = {l: {"train": nli_rows(f"xnli-mt-{l}", [0, 2, 1], idx=False), "validation": nli_rows(f"xnli-dev-{l}", [1], idx=False),
                   "test": nli_rows(f"xnli-test-{l}", [2], idx=False)} for l in XNLI_LANGS}
    configs["all_languages"] = {"train": xnli_all_languages_rows("xnli-mt", [0, 2, 1]),
                                "validation": xnli_all_languages_rows("xnli-dev", [1]),
                                "test": xnli_all_languages_rows("xnli-test", [2])}
    return hub_dataset("facebook/xnli", configs)


SQUAD_TRANSLATE_LANGS = ["ar", "de", "el", "es", "hi", "ru", "th", "tr", "vi", "zh"]


def squad_json(lang: str, misaligned: int = 0) -> bytes:
    """XTREME's ``squad.translate.train.en-<lang>.json``: SQuAD v1.1 JSON; the last ``misaligned`` questions' answers
    sit at an answer_start where the translated context no longer holds them (as machine translation leaves some)."""
    qas_per_para, paras = 2, 2
    data, n = [], 0
    for a in range(2):
        paragraphs = []
        for p in range(paras):
            ctx = f"{lang} context {a}.{p}: Paris is the capital of France."
            qas = []
            for q in range(qas_per_para):
                t = "Paris" if q == 0 else "France"
                qas.append({"id": f"{a}{p}{q}", "question": f"{lang} question {a}.{p}.{q}?",
                            "answers": [{"text": t, "answer_start": ctx.index(t)}]})
                n += 1
            paragraphs.append({"context": ctx, "qas": qas})
        data.append({"title": f"Article_{a}", "paragraphs": paragraphs})
    flat = [qa for art in data for para in art["paragraphs"] for qa in para["qas"]]
    for qa in flat[len(flat) - misaligned:]:
        qa["answers"][0]["answer_start"] += 3
    return json.dumps({"version": "v1.1", "data": data}, ensure_ascii=False).encode()


def hellaswag_branch() -> Repo:
    """Rowan/hellaswag's refs/convert/parquet branch: ``default/<split>/0000.parquet`` (main holds a loading script)."""

    def rows(split, labels):
        def build():
            n = len(labels)
            return _ds({"ind": list(range(n)), "activity_label": ["a"] * n, "ctx_a": ["A man"] * n, "ctx_b": ["is"] * n,
                        "ctx": [f"{split} A man is {i}" for i in range(n)], "endings": [["w", "x", "y", "z"]] * n,
                        "source_id": ["s"] * n, "split": [split] * n, "split_type": ["indomain"] * n, "label": labels},
                       {"ind": _v("int32"), "activity_label": _v(), "ctx_a": _v(), "ctx_b": _v(), "ctx": _v(),
                        "endings": _seq(_v()), "source_id": _v(), "split": _v(), "split_type": _v(), "label": _v()})
        return build

    files = {f"default/{s}/0000.parquet": parquet(rows(s, labels))
             for s, labels in (("train", ["2", "0"]), ("validation", ["3"]), ("test", [""]))}
    files[".gitattributes"] = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
    return Repo("Rowan/hellaswag", files=files, revision=sha1("hellaswag refs/convert/parquet"))


FLORES_EXTRA = ["ace_Arab", "zul_Latn", "ekk_Latn", "fil_Latn", "zsm_Latn", "yor_Latn", "mya_Mymr"]


def flores_repo(codes: list[str], n: int = 3) -> Repo:
    """openlanguagedata/flores_plus (gated): ``dev/<code>.parquet``, ``devtest/<code>.parquet``; configs default + one
    per language. Rows in shuffled id order (the converter aligns by id)."""

    def rows(code, split):
        def build():
            ids = list(range(n))[::-1]
            iso3, script = code.split("_")
            return _ds({"id": ids, "iso_639_3": [iso3] * n, "iso_15924": [script] * n, "glottocode": ["abcd1234"] * n,
                        "text": [f"{code} {split} sentence {i}" for i in ids], "url": ["https://en.wikinews.org"] * n,
                        "domain": ["wikinews"] * n, "topic": ["t"] * n, "has_image": [0] * n, "has_hyperlink": [0] * n,
                        "last_updated": ["2.0"] * n},
                       {"id": _v("int32"), "iso_639_3": _v(), "iso_15924": _v(), "glottocode": _v(), "text": _v(), "url": _v(),
                        "domain": _v(), "topic": _v(), "has_image": _v("int32"), "has_hyperlink": _v("int32"),
                        "last_updated": _v()})
        return build

    files = {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"}
    entries = [("default", {"dev": "dev/*.parquet", "devtest": "devtest/*.parquet"})]
    for code in sorted(set(codes) | set(FLORES_EXTRA)):
        for split in ("dev", "devtest"):
            files[f"{split}/{code}.parquet"] = parquet(rows(code, split))
        entries.append((code, {"dev": f"dev/{code}.parquet", "devtest": f"devtest/{code}.parquet"}))
    files["README.md"] = card(entries, {"license": "cc-by-sa-4.0", "extra_gated_prompt": "..."})
    return Repo("openlanguagedata/flores_plus", files=files, gated=True)


def xlmr_repo() -> Repo:
    files = {name: f"{name} bytes".encode() for name in (
        ".gitattributes", "README.md", "config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack",
        "sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json", "onnx/config.json", "onnx/model.onnx",
        "onnx/model.onnx_data", "onnx/sentencepiece.bpe.model", "onnx/special_tokens_map.json", "onnx/tokenizer.json",
        "onnx/tokenizer_config.json")}
    files["config.json"] = json.dumps({"model_type": "xlm-roberta", "num_hidden_layers": 24}).encode()
    return Repo("FacebookAI/xlm-roberta-large", repo_type="model", files=files)


# ============================================================================================================
# files outside the hub
# ============================================================================================================


def cosmosqa_files() -> dict[str, bytes]:
    """wilburOne/cosmosqa data/: the original CSVs (header id,context,question,answer0-3,label) and test.jsonl."""
    import csv

    def table(prefix, labels):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["id", "context", "question", "answer0", "answer1", "answer2", "answer3", "label"])
        for i, lab in enumerate(labels):
            w.writerow([f"{prefix}{i}", f"Context, with a comma {i}.", f"Why {i}?", "a0", "a1", "a2", "None of the above choices .", lab])
        return buf.getvalue().encode()

    return {"data/train.csv": table("tr", [1, 3]), "data/valid.csv": table("va", [0]),
            "data/test.jsonl": b'{"id": "te0", "context": "c", "question": "q", "answer0": "a", "answer1": "b", "answer2": "c", "answer3": "d"}\n'}


def bucc_archive(lang: str, split: str, n_gold: int = 2, n_distractors: int = 3) -> bytes:
    """The shared task's archive: bucc2018/<l>-en/<l>-en.<split>.{<l>,en,gold}, lines id<TAB>sentence."""
    xx = [(f"{lang}-{i:09d}", f"satz {i}") for i in range(n_gold + n_distractors)]
    en = [(f"en-{i:09d}", f"sentence {i}") for i in range(n_gold + n_distractors + 1)]
    gold = [(xx[i][0], en[i][0]) for i in range(n_gold)]
    files = {f"{lang}-en.{split}.{lang}": xx, f"{lang}-en.{split}.en": en, f"{lang}-en.{split}.gold": gold}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:bz2") as tar:
        for name, rows in files.items():
            data = "".join(f"{a}\t{b}\n" for a, b in rows).encode()
            info = tarfile.TarInfo(f"bucc2018/{lang}-en/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def laser_files() -> dict[str, bytes]:
    """LASER's data/tatoeba/v1 (the real files of ../shared/realdata/tatoeba)."""
    return {f"data/tatoeba/v1/{p.name}": p.read_bytes() for p in sorted((REAL / "tatoeba").iterdir()) if p.is_file()}


def wals_files(newline: str = "\r\n") -> dict[str, bytes]:
    """WALS CLDF cldf/*.csv (the real v2020.4 files), with the CRLF a checkout of the release gives."""
    return {f"cldf/{p.name}": p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", newline.encode())
            for p in sorted((REAL / "wals-cldf").glob("*.csv"))}


def ccg_dir(path: Path) -> Path:
    """jiant's converted CCGbank as a user supplies it."""
    path.mkdir(parents=True, exist_ok=True)
    tags = {"NP[nb]/N": 0, "N": 1, "S[dcl]\\NP": 2, "(S[dcl]\\NP)/NP": 3, ".": 4}
    (path / "ccg.train").write_text("The cat sat\tNP[nb]/N N S[dcl]\\NP\nA dog saw cats .\tNP[nb]/N N (S[dcl]\\NP)/NP N .\n")
    (path / "ccg.dev").write_text("A dog\tNP[nb]/N N\n")
    (path / "ccg.test").write_text("The cat\tNP[nb]/N N\n")
    (path / "tags_to_id.json").write_text(json.dumps(tags))
    return path


# ============================================================================================================
# the stub network
# ============================================================================================================


def hub_error(name: str, message: str, status: int) -> Exception:
    """An error of huggingface_hub's own classes, as the hub API raises it (with an HTTP response)."""
    import importlib

    from huggingface_hub import errors

    httpx = importlib.import_module(errors.HfHubHTTPError.__mro__[1].__module__)
    response = httpx.Response(status, request=httpx.Request("GET", "https://huggingface.co/api/stub"))
    return getattr(errors, name)(message, response=response)


class Upstream:
    """Every upstream of the study, offline: hub repositories (served through :meth:`snapshot_download` and the
    :class:`StubRemote` API) and files over HTTP on a local server (GitHub raw files under ``/github/<repo>/<commit>/``,
    archive hosts under their own paths). ``hits`` counts HTTP requests per path; ``fail`` makes paths answer an
    HTTP status instead."""

    def __init__(self):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.parquet_branches: dict[str, Repo] = {}
        self.http: dict[str, bytes] = {}
        self.fail: dict[str, int] = {}
        self.hits: dict[str, int] = {}
        self.snapshots: list[dict] = []
        self.git_heads: dict[str, str] = {}
        up = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _serve(self, body_too: bool):
                up.hits[self.path] = up.hits.get(self.path, 0) + 1
                if self.path in up.fail:
                    self.send_response(up.fail[self.path])
                    self.end_headers()
                    return
                body = up.http.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body_too:
                    self.wfile.write(body)

            def do_GET(self):
                self._serve(True)

            def do_HEAD(self):
                self._serve(False)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()

    # -------------------------------------------------------------------------------------------- publishing
    def add_repo(self, repo: Repo) -> Repo:
        self.repos[(repo.repo_type, repo.repo_id)] = repo
        return repo

    def add_parquet_branch(self, repo: Repo) -> Repo:
        self.parquet_branches[repo.repo_id] = repo
        return repo

    def add_git(self, repo: str, files: dict[str, bytes], revision: str | None = None) -> str:
        revision = revision or sha1(f"git:{repo}")
        self.git_heads[repo] = revision
        for path, body in files.items():
            self.http[f"/github/{repo}/{revision}/{path}"] = body
        return revision

    def add_file(self, path: str, body: bytes) -> str:
        self.http[path] = body
        return self.url + path

    def repo_at(self, repo_id: str, repo_type: str, revision: str) -> Repo:
        for r in [self.repos.get((repo_type, repo_id)), self.parquet_branches.get(repo_id)]:
            if r is not None and r.revision == revision:
                return r
        raise hub_error("RevisionNotFoundError", f"{repo_type} {repo_id}: no revision {revision}", 404)

    # -------------------------------------------------------------------------------------------- snapshot_download
    def snapshot_download(self, repo_id, repo_type=None, revision=None, local_dir=None, allow_patterns=None, token=None, **kw):
        """``huggingface_hub.snapshot_download`` offline: the files of ``repo_id`` at ``revision`` that
        ``filter_repo_objects`` keeps for ``allow_patterns`` (the same call snapshot_download makes)."""
        from huggingface_hub.utils import filter_repo_objects

        repo = self.repo_at(repo_id, repo_type or "model", revision)
        if repo.gated and not token:
            raise hub_error("GatedRepoError", f"{repo_id} is gated: no token", 401)
        kept = list(filter_repo_objects(list(repo.files), allow_patterns=allow_patterns))
        self.snapshots.append({"repo_id": repo_id, "revision": revision, "allow_patterns": allow_patterns, "kept": kept})
        for p in kept:
            repo.write(p, Path(local_dir) / p)
        (Path(local_dir) / ".cache" / "huggingface").mkdir(parents=True, exist_ok=True)  # as snapshot_download leaves it
        return str(local_dir)


def stub_remote(up: Upstream):
    """The Remote API over :class:`Upstream`: hub calls answered from its repositories (a moved revision or missing
    repository answers like the hub: Missing); GitHub heads from its git files; URLs over real HTTP to its server."""
    from xstilts.sources import Missing, Remote

    class StubRemote(Remote):
        def __init__(self):
            self.calls: list[tuple] = []

        def _repo(self, repo_id, repo_type):
            r = up.repos.get((repo_type, repo_id))
            if r is None:
                raise Missing(f"{repo_type} {repo_id}: repository not found (moved, deleted or private)")
            return r

        def hub_revision(self, repo_id, repo_type, token=None):
            self.calls.append(("hub_revision", repo_id))
            return self._repo(repo_id, repo_type).revision

        def parquet_revision(self, repo_id, token=None):
            self.calls.append(("parquet_revision", repo_id))
            if repo_id not in up.parquet_branches:
                raise Missing(f"dataset {repo_id}: no refs/convert/parquet branch")
            return up.parquet_branches[repo_id].revision

        def hub_files(self, repo_id, repo_type, revision, token=None):
            self.calls.append(("hub_files", repo_id, revision))
            try:
                repo = up.repo_at(repo_id, repo_type, revision)
            except Exception as e:  # noqa: BLE001
                raise Missing(f"{repo_type} {repo_id}@{revision}: revision not found (moved or deleted)") from e
            if repo.gated and not token:
                raise Missing(f"{repo_type} {repo_id}: gated repository: request access on the hub and export the token")
            return {p: repo.size(p) for p in repo.files}

        def hub_text(self, repo_id, repo_type, revision, path, token=None):
            self.calls.append(("hub_text", repo_id, path))
            repo = up.repo_at(repo_id, repo_type, revision)
            item = repo.files[path]
            return item.decode() if isinstance(item, bytes) else ""

        def git_revision(self, repo, ref):
            self.calls.append(("git_revision", repo))
            if repo not in up.git_heads:
                raise Missing(f"GitHub {repo}@{ref}: HTTP 404 Not Found")
            return up.git_heads[repo]

    return StubRemote()


# ============================================================================================================
# the study against its stub upstreams
# ============================================================================================================


def real_config() -> dict:
    from xstilts.config import load_and_check

    c = load_and_check(yaml.safe_load((ROOT / "config/config.yaml").read_text()), SCHEMA)
    c["language_table"] = str(ROOT / "config/languages.csv")
    return c


def study_upstream() -> Upstream:
    """Every upstream of config/config.yaml, in its published layout (LASER and WALS: the real files; placeholders
    when ../shared/realdata is absent, so that `lock` can still checksum them)."""
    import pandas as pd

    up = Upstream()
    xtreme = xtreme_repo()
    xtreme.revision = XTREME_PIN  # the config pins google/xtreme at this commit
    for repo in (xlmr_repo(), xtreme, glue_repo(), snli_repo(), anli_repo(), csqa_repo(), squad_repo()):
        up.add_repo(repo)
    table = pd.read_csv(ROOT / "config/languages.csv", keep_default_na=False, dtype=str)
    up.add_repo(flores_repo([c for c in table["flores_code"] if c]))
    up.add_repo(Repo("Rowan/hellaswag", files={"hellaswag.py": b"# a loading script\n", "README.md": b"---\n---\n"}))
    up.add_repo(wikipedia_repo(list(table["iso639_1"])))
    up.add_repo(xnli_repo())
    for lang in SQUAD_TRANSLATE_LANGS:  # German: one answer moved by the translation
        up.add_file(f"/xtreme_translations/SQuAD/translate-train/squad.translate.train.en-{lang}.json",
                    squad_json(lang, misaligned=1 if lang == "de" else 0))
    up.add_parquet_branch(hellaswag_branch())
    up.add_git("wilburOne/cosmosqa", cosmosqa_files())
    if HAVE_REAL:
        up.add_git("facebookresearch/LASER", laser_files(), revision=LASER_PIN)
        up.add_git("cldf-datasets/wals", wals_files(), revision=WALS_PIN)
    else:
        cfg = real_config()
        files = cfg["retrieval"]["tatoeba"]["hub"]["files"]
        up.add_git("facebookresearch/LASER", {f.format(laser_code=c): b"x\n" for f in files
                                              for c in table["laser_code"] if c}, revision=LASER_PIN)
        up.add_git("cldf-datasets/wals", {f: b"x\n" for f in cfg["morphology"]["wals"]["files"]}, revision=WALS_PIN)
    for lang in ("de", "fr", "ru", "zh"):
        for split in ("sample", "training"):
            up.add_file(f"/bucc2018/bucc2018-{lang}-en.{split}-gold.tar.bz2", bucc_archive(lang, split))
    return up


class Study:
    """config/config.yaml pointed at the stub upstreams (``mp``: a pytest MonkeyPatch that routes
    ``huggingface_hub.snapshot_download`` and GitHub raw files to them), locked against them, and its download jobs.
    Row-count pins are dropped (the fixtures hold a few rows), except WALS' (its real files)."""

    def __init__(self, up: Upstream, root: Path, mp):
        import huggingface_hub

        from xstilts import sources as S
        from xstilts.sources import network

        mp.setattr(huggingface_hub, "snapshot_download", up.snapshot_download)
        mp.setattr(network, "GITHUB_RAW", up.url + "/github")
        mp.setenv("HF_TOKEN", "hf_test")
        mp.delenv("HF_HUB_OFFLINE", raising=False)
        self.up, self.root = up, root
        self.remote = stub_remote(up)
        c = real_config()
        c["sources_lock"] = str(root / "sources.lock.yaml")
        c["intermediate_tasks"]["ccg"]["hub"]["path"] = str(ccg_dir(root / "ccgbank"))
        c["retrieval"]["bucc"]["hub"]["url"] = up.url + "/bucc2018/bucc2018-{lang}-en.{split}-gold.tar.bz2"
        c["translated"]["tasks"]["squad"]["hub"]["url"] = (
            up.url + "/xtreme_translations/SQuAD/translate-{split}/squad.translate.{split}.en-{lang}.json")
        for key, spec in S.config_sources(c).items():
            if key != "morphology.wals" and "rows" in spec:
                self.spec_of(c, key)["rows"] = {}
        self.config = c
        self.report = S.lock(c, c["sources_lock"], remote=self.remote)
        self.plan = S.SourcePlan.from_config(c)

    @staticmethod
    def spec_of(config: dict, key: str) -> dict:
        node = config
        for part in key.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node


def main(argv: list[str] | None = None) -> int:
    """``python tests/upstream.py verify [--drop REPO_PATH ...]``: the real config's ``python -m xstilts.sources verify``
    against the stub upstreams (``--drop`` removes files from google/xtreme first, e.g. PAN-X.ka/test-00000-of-00001.parquet)."""
    import argparse
    import tempfile

    import pytest

    from xstilts.sources.cli import main as sources_main

    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["verify"])
    ap.add_argument("--drop", action="append", default=[])
    a = ap.parse_args(argv)
    up = study_upstream()
    try:
        with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
            study = Study(up, Path(tmp), mp)
            for path in a.drop:
                del up.repos[("dataset", "google/xtreme")].files[path]
            cfg = Path(tmp) / "config.yaml"
            cfg.write_text(yaml.safe_dump(study.config, sort_keys=False, allow_unicode=True))
            return sources_main(["verify", "--config", str(cfg)], remote=study.remote)
    finally:
        up.close()


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT / "src"))
    raise SystemExit(main())
