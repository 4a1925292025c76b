"""Real-data sources, offline: every configured source is taken from an exact copy of its upstream layout
(tests/upstream.py) through the download (a stubbed network that honours the allow-patterns as snapshot_download
does) -> conversion -> data contract; the failures of the partial-snapshot era are reproduced on those fixtures;
the download checks what it fetched; lock / check / verify run against a stub hub API; and the workflow starts no
download before check_sources has passed."""

from __future__ import annotations

import copy
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
import yaml

import upstream as U
from xstilts import contracts
from xstilts import sources as S
from xstilts.sources.convert import translated_rows

ROOT = U.ROOT
XTREME_PIN, LASER_PIN, WALS_PIN = U.XTREME_PIN, U.LASER_PIN, U.WALS_PIN
HAVE_REAL = U.HAVE_REAL
real_config = U.real_config


@pytest.fixture
def cfg():
    return real_config()


# ============================================================================================================
# the upstreams and the study, offline
# ============================================================================================================


@pytest.fixture(scope="module")
def upstream():
    up = U.study_upstream()
    yield up
    up.close()


@pytest.fixture(scope="module")
def study(upstream, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        yield U.Study(upstream, tmp_path_factory.mktemp("study"), mp)


SOURCE_KEYS = list(S.config_sources(real_config()))


def test_the_config_has_26_sources():
    """23 of the paper's reproduction + the +mlm text (Wikipedia) + the two +translated MT sources (issue 20)."""
    assert len(SOURCE_KEYS) == 26


# ------------------------------------------------------------------------------------------------ conversions per slot


def _convert_task(study, key, raw, out):
    group, name = key.split(".")[:2]
    task = copy.deepcopy(study.config[group][name])
    spec = study.plan.spec(key)
    outputs = {}
    if group == "intermediate_tasks" or not task.get("train_on"):
        outputs.update({s: str(out / f"{s}.parquet") for s in ("train", "validation") if s in (spec.get("splits") or {})})
    if group == "targets":
        outputs.update({f"test_{l}": str(out / "test" / f"{l}.parquet") for l in task["languages"]})
    if (task.get("labels_file") or "").startswith("results/data"):
        outputs["labels"] = str(out / Path(task["labels_file"]).name)
    S.convert_task_outputs([spec], [str(raw)], task, outputs, study.config["language_table"])
    table = task["type"]
    return [(table, p) for k, p in outputs.items() if k != "labels"]


def _convert_tatoeba(study, key, raw, out):
    langs = study.config["retrieval"]["tatoeba"]["languages"]
    for l in langs:
        S.convert_tatoeba(study.plan.spec(key), raw, l, out / f"{l}.parquet", study.config["language_table"])
    return [("tatoeba", out / f"{l}.parquet") for l in langs]


def _convert_bucc(study, key, raw, out):
    written = []
    for l in study.config["retrieval"]["bucc"]["languages"]:
        for split in ("sample", "training"):
            s, g = out / f"{l}.{split}.parquet", out / f"{l}.{split}.gold.parquet"
            S.convert_bucc(raw, study.plan.spec(key), l, split, s, g)
            written += [("bucc_sentences", s), ("bucc_gold", g)]
    return written


def _convert_flores(study, key, raw, out):
    langs = [*study.config["languages"], study.config["pivot"]]
    S.convert_flores(raw, study.plan.spec(key), langs, out / "parallel.parquet", study.config["language_table"])
    df = pd.read_parquet(out / "parallel.parquet")
    contracts.parallel_columns(df, langs, "parallel")
    return [(None, out / "parallel.parquet")]


def _convert_wals(study, key, raw, out):
    outputs = {n: str(out / f"{n}.csv") for n in ("values", "languages", "parameters", "codes")}
    S.convert_wals(raw, outputs, study.plan.expected_rows(key, "values"))
    return [(f"wals_{n}", p) for n, p in outputs.items()]


def _check_model(study, key, raw, out):
    from xstilts.sources import layouts

    files = sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file() and ".cache" not in p.parts)
    assert layouts.model_missing(files) == []
    assert not [f for f in files if f.startswith("onnx/") or f.endswith((".bin", ".h5", ".msgpack"))]  # safetensors only
    return []


MLM_LANGS = ["sw", "de", "en"]  # of the 90 MLM text languages the download fetched, the ones converted here


def _convert_mlm(study, key, raw, out):
    for l in MLM_LANGS:
        S.convert_mlm_text(study.plan.spec(key), raw, l, out / f"{l}.parquet", study.config["language_table"], cap=5, seed=1)
    return [("mono", out / f"{l}.parquet") for l in MLM_LANGS]


# the English canonical training rows a '+translated' table starts with (written by the task's own conversion)
ENGLISH = {"pair_classification": pd.DataFrame({"sentence1": ["en p."], "sentence2": ["en h?"], "label": ["neutral"]}),
           "span_qa": pd.DataFrame({"id": ["en-0"], "context": ["Paris is in France."], "question": ["Where?"],
                                    "answer_text": [["France"]], "answer_start": [[12]]})}


def _convert_translated(study, key, raw, out):
    task_name = key.split(".")[2]
    task = copy.deepcopy(study.config["intermediate_tasks"][task_name])
    english = contracts.write(task["type"], ENGLISH[task["type"]], out / "english.parquet")
    langs = study.config["translated"]["tasks"][task_name]["languages"]
    S.convert_translated(study.plan.spec(key), raw, english, langs, task, out / "train.parquet", out / "translated.json",
                         study.config["language_table"], key)
    return [(task["type"], out / "train.parquet")]


def converter(key: str):
    if key == "model":
        return _check_model
    if key == "mlm.hub":
        return _convert_mlm
    if key.startswith("translated.tasks."):
        return _convert_translated
    if key.startswith(("intermediate_tasks.", "targets.")):
        return _convert_task
    return {"retrieval.tatoeba.hub": _convert_tatoeba, "retrieval.bucc.hub": _convert_bucc, "morphology.flores": _convert_flores,
            "morphology.wals": _convert_wals}[key]


def _read(table, path):
    return pd.read_parquet(path) if table is None else contracts.read(table, path)


# what each source's converted tables hold (beyond their contract): the upstream types mapped right
EXPECT = {
    "intermediate_tasks.anli_plus.sources.0": lambda d: d["train"]["label"].tolist() == ["entailment", "contradiction", "neutral"],
    "intermediate_tasks.anli_plus.sources.1": lambda d: d["train"]["label"].tolist() == ["entailment", "neutral", "contradiction"],
    "intermediate_tasks.anli_plus.sources.2": lambda d: (len(d["train"]), d["validation"]["label"].tolist())
    == (6, ["neutral", "contradiction", "entailment"]),
    "intermediate_tasks.ccg.hub": lambda d: [list(t) for t in d["train"]["tags"]][0] == ["NP[nb]/N", "N", "S[dcl]\\NP"],
    "intermediate_tasks.commonsenseqa.hub": lambda d: d["train"]["label"].tolist() == [3, 0],
    "intermediate_tasks.cosmosqa.hub": lambda d: (d["train"]["context"][0], d["train"]["label"].tolist())
    == ("Context, with a comma 0. Why 0?", [1, 3]),
    "intermediate_tasks.hellaswag.hub": lambda d: d["train"]["label"].tolist() == [2, 0],
    "intermediate_tasks.mnli.hub": lambda d: d["validation"]["sentence1"].tolist() == ["mnli-vm 0.", "mnli-vm 1."],
    "intermediate_tasks.qqp.hub": lambda d: d["train"]["label"].tolist() == ["not_duplicate", "duplicate"],
    "intermediate_tasks.squad.hub": lambda d: [list(a) for a in d["train"]["answer_text"]][0] == ["Paris", "France"],
    "intermediate_tasks.sst2.hub": (lambda d: d["train"]["sentence2"].isna().all(), lambda d: d["train"]["label"].tolist() == ["positive", "negative"]),
    "targets.xnli.hub": (lambda d: d["test/de"]["label"].tolist() == ["entailment", "neutral"], lambda d: len(d) == 15),
    "targets.pawsx.hub": (lambda d: d["test/ko"]["label"].tolist() == ["paraphrase", "different"], lambda d: "train" in d),
    "targets.udpos.hub": (lambda d: [list(t) for t in d["test/th"]["tags"]][0] == ["NOUN", "VERB", "PUNCT"], lambda d: len(d) == 35),
    "targets.panx.hub": (lambda d: [list(t) for t in d["test/my"]["tags"]][0] == ["B-PER", "I-PER", "O"], lambda d: len(d) == 42),
    "targets.xquad.hub": (lambda d: d["test/th"]["id"].tolist() == ["xquad-th-0", "xquad-th-1"], lambda d: "train" not in d),
    "targets.mlqa.hub": lambda d: [list(a) for a in d["test/ar"]["answer_start"]][0] == [27, 51],
    "targets.tydiqa.hub": (lambda d: d["train"]["id"].tolist() == ["english-1", "english-10"], lambda d: d["test/sw"]["id"].tolist() == ["swahili-8"]),
    "retrieval.bucc.hub": (lambda d: len(d["de.sample"]) == 11, lambda d: len(d["de.sample.gold"]) == 2),
    "retrieval.tatoeba.hub": (lambda d: len(d["te"]) == 234, lambda d: len(d["jv"]) == 205),
    "morphology.flores": lambda d: d["parallel"]["et"].tolist() == [f"ekk_Latn devtest sentence {i}" for i in range(3)],
    "morphology.wals": lambda d: len(d["values"]) == 76475,
    # the first shard only: 4 articles x 2 paragraphs of >= 100 characters (headings and "See also" lines dropped),
    # capped at 5 (seeded)
    "mlm.hub": (lambda d: len(d["sw"]) == 5, lambda d: all(len(t) >= 100 and "paragraph" in t for t in d["sw"]["text"])),
    # XNLI-MT: 14 languages x 3 rows after the English row, ClassLabel ids mapped to names
    "translated.tasks.mnli.hub": (lambda d: d["train"]["language"].value_counts().to_dict() == {**{l: 3 for l in U.XNLI_LANGS if l != "en"}, "en": 1},
                                  lambda d: d["train"][d["train"]["language"] == "sw"]["label"].tolist() == ["entailment", "contradiction", "neutral"]),
    # XTREME translate-train: 10 languages x 8 questions, German's moved answer dropped with its question
    "translated.tasks.squad.hub": (lambda d: len(d["train"]) == 1 + 10 * 8 - 1, lambda d: (d["train"]["language"] == "de").sum() == 7),
}


@pytest.mark.parametrize("key", SOURCE_KEYS)
def test_each_source_from_its_upstream_layout(study, key, tmp_path):
    """Download (stubbed, honouring the allow-patterns) -> conversion -> data contract, for every configured source."""
    if key in ("retrieval.tatoeba.hub", "morphology.wals") and not HAVE_REAL:
        pytest.skip(f"real data folder {U.REAL} is absent")
    job = study.plan[key]
    raw = tmp_path / "raw" / key
    manifest = S.download(job, raw)
    assert json.loads((raw / "manifest.json").read_text())["key"] == key
    for r in manifest.get("requests") or []:
        assert r["files"], r
    written = converter(key)(study, key, raw, tmp_path / "out")
    tables = {}
    for table, path in written:
        df = _read(table, path)
        assert len(df) > 0, path
        tables[Path(path).relative_to(tmp_path / "out").with_suffix("").as_posix()] = df
    checks = EXPECT.get(key, ())
    for check in checks if isinstance(checks, tuple) else (checks,):
        assert check(tables), {k: v.head(3).to_dict("list") for k, v in list(tables.items())[:3]}


def test_downloads_keep_exactly_the_requested_configs(study, tmp_path):
    """google/xtreme for PAN-X: the README alone first (it names the files), then only the requested configs' splits
    (English train/validation/test, every other language's test) -- never MLQA.ar.ar, never another task."""
    before = len(study.up.snapshots)
    S.download(study.plan["targets.panx.hub"], tmp_path / "panx")
    calls = study.up.snapshots[before:]
    assert [c["allow_patterns"] for c in calls][0] == ["README.md"]
    kept = calls[1]["kept"]
    assert "PAN-X.en/train-00000-of-00001.parquet" in kept
    assert "PAN-X.de/test-00000-of-00001.parquet" in kept
    assert "PAN-X.de/train-00000-of-00001.parquet" not in kept
    assert not [k for k in kept if not k.startswith("PAN-X.") and k != "README.md"]
    assert all(c["revision"] == XTREME_PIN for c in calls)


def test_tatoeba_from_google_xtreme_is_the_alternative_source(study, tmp_path):
    """retrieval.tatoeba.hub may read google/xtreme's tatoeba.<iso3> configs instead of LASER's files (format
    xtreme_tatoeba): its validation split, trailing newlines stripped."""
    config = copy.deepcopy(study.config)
    config["retrieval"]["tatoeba"]["hub"] = {"id": "google/xtreme", "revision": XTREME_PIN, "format": "xtreme_tatoeba",
                                             "config": "tatoeba.{iso639_3}", "splits": {"test": "validation"}}
    config["retrieval"]["tatoeba"]["languages"] = ["ka", "sw"]
    table = pd.read_csv(config["language_table"], keep_default_na=False, dtype=str)
    table.loc[table["iso639_1"].isin(["ka", "sw"]), "tatoeba_pairs"] = "2"
    config["language_table"] = str(tmp_path / "languages.csv")
    table.to_csv(config["language_table"], index=False)
    job = S.SourcePlan.from_config(config, warn=False)["retrieval.tatoeba.hub"]
    assert [(r["config"], r["split"]) for r in job["requests"]] == [("tatoeba.kat", "validation"), ("tatoeba.swh", "validation")]
    S.download(job, tmp_path / "raw")
    S.convert_tatoeba(job["spec"], tmp_path / "raw", "ka", tmp_path / "ka.parquet", config["language_table"])
    assert pd.read_parquet(tmp_path / "ka.parquet").iloc[0].tolist() == ["kat one.", "One.", "ka", "en"]


# ------------------------------------------------------------------------------------------------ the old failures, reproduced


@pytest.mark.parametrize("key, config_name, split", [("targets.mlqa.hub", "MLQA.de.de", "test"),
                                                      ("intermediate_tasks.mnli.hub", "mnli", "train")])
def test_a_partial_snapshot_defeats_load_dataset_by_card_but_not_our_loader(study, tmp_path, key, config_name, split):
    """The fixture is faithful: datasets.load_dataset(<partial snapshot>, <config>) resolves the card's first config
    (MLQA.ar.ar, ax), absent from the snapshot, and fails; the loader reads the requested config's own files."""
    import datasets
    from datasets.exceptions import DataFilesNotFoundError

    config = copy.deepcopy(study.config)
    if key == "targets.mlqa.hub":
        config["targets"]["mlqa"]["languages"] = ["de", "es", "hi"]  # MLQA requested without ar
    job = S.SourcePlan.from_config(config, warn=False)[key]
    raw = tmp_path / "raw"
    S.download(job, raw)
    first = next(iter(S.card_configs((raw / "README.md").read_text(), "card")))
    assert first == {"targets.mlqa.hub": "MLQA.ar.ar", "intermediate_tasks.mnli.hub": "ax"}[key]
    assert not (raw / first).exists()
    with pytest.raises(DataFilesNotFoundError):
        datasets.load_dataset(str(raw), config_name, split=split, cache_dir=str(tmp_path / "cache"))
    ds = S.load_split(raw, job["spec"], config_name, split)
    assert len(ds) > 0
    if key == "intermediate_tasks.mnli.hub":
        assert ds.features["label"].names == ["entailment", "neutral", "contradiction"]  # ClassLabel kept
    else:
        out = {f"test_{l}": str(tmp_path / f"{l}.parquet") for l in ("de", "es", "hi")}
        assert S.convert_task_outputs([job["spec"]], [str(raw)], config["targets"]["mlqa"], out, config["language_table"])["test"] \
            == {"de": 2, "es": 2, "hi": 2}


def test_flores_plus_in_its_dev_devtest_layout(study, tmp_path):
    """FLORES+ files are dev/<code>.parquet and devtest/<code>.parquet; the converter takes any list of codes of the
    language table and any split, aligns languages by id, and names a code the snapshot lacks."""
    job = study.plan["morphology.flores"]
    assert {r["split"] for r in job["requests"]} == {"devtest"}
    raw = tmp_path / "flores"
    m = S.download(job, raw)
    assert {f for r in m["requests"] for f in r["files"]} == {f"devtest/{r['config']}.parquet" for r in m["requests"]}
    assert not (raw / "dev").exists()
    # generic: both splits, languages beyond the study's
    config = copy.deepcopy(study.config)
    config["morphology"]["flores"]["splits"] = {"validation": "dev", "test": "devtest"}
    config["languages"] = ["et", "tl", "zh", "fa", "ms", "yo", "my"]
    job2 = S.SourcePlan.from_config(config, warn=False)["morphology.flores"]
    raw2 = tmp_path / "flores2"
    S.download(job2, raw2)
    out = {s: str(tmp_path / f"{s}.parquet") for s in ("dev", "devtest")}
    langs = [*config["languages"], "en"]
    counts = S.convert_flores_splits(raw2, job2["spec"], langs, out, config["language_table"])
    assert counts == {"dev": 3, "devtest": 3}
    dev = pd.read_parquet(out["dev"])
    assert list(dev.columns) == langs
    assert dev["ms"].tolist() == [f"zsm_Latn dev sentence {i}" for i in range(3)]
    with pytest.raises(S.SourceError, match=r"no devtest file for ace_Arab \(language xx"):
        S.read_flores(raw2, job2["spec"], "xx", "ace_Arab", "devtest")
    with pytest.raises(S.SourceError, match=r"languages \['jv'\] have no flores_code|no devtest file for jav_Latn"):
        S.convert_flores(raw2, job2["spec"], ["et", "jv"], tmp_path / "p.parquet", config["language_table"])


def test_flores_plus_devtest_through_conversion_to_the_alignment_measures(study, tmp_path):
    """The FLORES+ alignment chain on the published layout (devtest/<code>.parquet with id, iso_639_3, iso_15924,
    glottocode, text, url, domain, topic, has_image, has_hyperlink, last_updated; rows in shuffled id order): download
    -> parallel.parquet -> per-language sets whose English side is the pivot column -> embeddings (a tiny encoder) ->
    the retrieval job (set size, chance; the alignment table of corpus flores) -> the outcome the regression reads."""
    import torch

    from finetune_fixtures import save_tiny_xlmr
    from xstilts import embed as E
    from xstilts.alignment import MEASURES, alignment_job, pair_job
    from xstilts.outcomes import outcome_rows
    from xstilts.pretrain import train_tokenizer
    from xstilts.retrieval import tatoeba_job

    config = copy.deepcopy(study.config)
    config["languages"] = ["et", "ms", "my"]  # FLORES+ renamed Estonian and Malay: ekk_Latn, zsm_Latn
    job = S.SourcePlan.from_config(config, warn=False)["morphology.flores"]
    raw = tmp_path / "flores"
    S.download(job, raw)
    langs = [*config["languages"], "en"]
    parallel = tmp_path / "parallel.parquet"
    assert S.convert_flores(raw, job["spec"], langs, parallel, config["language_table"]) == 3
    sets = E.parallel_sets({l: str(parallel) for l in config["languages"]}, "en")
    assert sets["ms"]["src"] == [f"zsm_Latn devtest sentence {i}" for i in range(3)]  # aligned by id
    assert sets["ms"]["en"] == [f"eng_Latn devtest sentence {i}" for i in range(3)]  # the pivot column
    texts = [t for s in sets.values() for side in s.values() for t in side]
    model = save_tiny_xlmr(train_tokenizer(texts * 4, 120, tmp_path / "tok"), tmp_path / "model", layers=2, hidden=16,
                           max_positions=40)
    settings = {"pooling": "mean", "max_length": 32, "batch_tokens": 256, "store_dtype": "float32", "embed_precision": "float32"}
    emb = {l: str(tmp_path / f"{l}.npz") for l in sets}
    E.embed_job(model, torch.device("cpu"), settings, sets, emb, layers=[0, 2], model_layers=2, meta={})
    tables = []
    for lang in sets:  # the workflow's retrieval job: scores, hits and the alignment table from one read
        out = {k: str(tmp_path / f"{lang}.{k}") for k in ("score", "hits", "alignment")}
        score = pair_job(emb[lang], 2, lang, "base", out, corpus="flores")
        assert (score["corpus"], score["n"], score["chance"]) == ("flores", 3, pytest.approx(1 / 3))
        tables.append(pd.read_parquet(out["alignment"]))
        # the same table as the separate library steps (search, then measures from the hits) give
        tatoeba_job(emb[lang], 2, lang, "base", {"score": str(tmp_path / "s.json"), "hits": str(tmp_path / "h.parquet")},
                    corpus="flores")
        again = alignment_job(emb[lang], str(tmp_path / "h.parquet"), lang, "base", str(tmp_path / "a.parquet"), corpus="flores")
        pd.testing.assert_frame_equal(tables[-1], again)
    align = pd.concat(tables, ignore_index=True)
    assert set(align["measure"]) == set(MEASURES)
    assert len(outcome_rows(align, "flores.retrieval_en2xx")) == 3 * 2  # languages x stored layers
    with pytest.raises(ValueError, match="no alignment values for 'tatoeba.retrieval_en2xx'"):
        outcome_rows(align, "tatoeba.retrieval_en2xx")


# ------------------------------------------------------------------------------------------------ the download checks itself


def test_a_download_whose_patterns_match_no_data_fails_naming_source_config_and_split(study, tmp_path):
    """FLORES+ read with the old <code>/<split> assumption: the snapshot keeps only the card, and the download job
    fails naming the source, the config and the split (nothing is left behind)."""
    config = copy.deepcopy(study.config)
    config["morphology"]["flores"]["data_files"] = "{config}/{split}-*.parquet"
    job = S.SourcePlan.from_config(config, warn=False)["morphology.flores"]
    dest = tmp_path / "raw" / "morphology.flores"
    with pytest.raises(S.SourceError) as e:
        S.download(job, dest)
    msg = str(e.value)
    assert "config key 'morphology.flores'" in msg
    assert "config 'afr_Latn' split 'devtest'" in msg
    assert "no data file matches ['afr_Latn/devtest-*.parquet']" in msg
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []
    # a config the dataset card does not list: the download names it and the card's configs
    config = copy.deepcopy(study.config)
    config["intermediate_tasks"]["mnli"]["hub"]["config"] = "multi_nli"
    job = S.SourcePlan.from_config(config, warn=False)["intermediate_tasks.mnli.hub"]
    with pytest.raises(S.SourceError, match=r"config key 'intermediate_tasks.mnli.hub'.*config 'multi_nli' is not in the dataset "
                                            r"card's configs \(12: ax, cola, mnli"):
        S.download(job, tmp_path / "raw" / "mnli")


def test_the_model_download_needs_weights_tokenizer_and_config(study, tmp_path):
    job = copy.deepcopy(study.plan["model"])
    repo = study.up.repos[("model", "FacebookAI/xlm-roberta-large")]
    saved = dict(repo.files)
    try:
        for f in ("model.safetensors", "sentencepiece.bpe.model", "tokenizer.json"):
            del repo.files[f]
        with pytest.raises(S.SourceError, match=r"config key 'model'.*lacks weights \(model\.safetensors.*tokenizer \(sentencepiece"):
            S.download(job, tmp_path / "base")
    finally:
        repo.files.clear()
        repo.files.update(saved)
    assert not (tmp_path / "base").exists()


def test_an_unpinned_source_fetches_nothing(study, tmp_path):
    config = copy.deepcopy(study.config)
    config["sources_lock"] = str(tmp_path / "empty.lock.yaml")
    plan = S.SourcePlan.from_config(config, warn=False)
    before = len(study.up.snapshots)
    with pytest.raises(S.SourceError, match=r"config key 'model': not pinned, nothing fetched.*model.revision"):
        S.download(plan["model"], tmp_path / "model")
    assert len(study.up.snapshots) == before


def test_bucc_mirror_serves_when_the_original_host_fails(study, tmp_path):
    config = copy.deepcopy(study.config)
    spec = config["retrieval"]["bucc"]["hub"]
    for lang in ("de", "fr", "ru", "zh"):
        for split in ("sample", "training"):
            name = f"bucc2018-{lang}-en.{split}-gold.tar.bz2"
            study.up.add_file(f"/mirror/{name}", study.up.http[f"/bucc2018/{name}"])
            study.up.fail[f"/bucc2018/{name}"] = 404
    spec["mirrors"] = [study.up.url + "/mirror/bucc2018-{lang}-en.{split}-gold.tar.bz2"]
    try:
        job = S.SourcePlan.from_config(config, warn=False)["retrieval.bucc.hub"]
        m = S.download(job, tmp_path / "bucc")
        assert all("/mirror/" in f["url"] for f in m["files"].values())
        # the original's pin applies to the mirror: a changed copy is refused
        study.up.http["/mirror/bucc2018-de-en.sample-gold.tar.bz2"] = U.bucc_archive("de", "sample", n_gold=3)
        with pytest.raises(S.ChecksumError, match="config key 'retrieval.bucc.hub'"):
            S.download(job, tmp_path / "bucc2")
        assert not (tmp_path / "bucc2").exists()
    finally:
        study.up.fail.clear()
        study.up.http["/mirror/bucc2018-de-en.sample-gold.tar.bz2"] = study.up.http["/bucc2018/bucc2018-de-en.sample-gold.tar.bz2"]


# ------------------------------------------------------------------------------------------------ lock, check, verify


def test_lock_pins_every_source_against_the_stub_hub(study):
    lock = S.read_lock(study.config["sources_lock"])
    assert lock["revisions"]["hub_dataset:nyu-mll/glue"] == study.up.repos[("dataset", "nyu-mll/glue")].revision
    assert lock["revisions"]["hub_parquet:Rowan/hellaswag"] == study.up.parquet_branches["Rowan/hellaswag"].revision
    assert lock["revisions"]["git_files:wilburOne/cosmosqa"] == study.up.git_heads["wilburOne/cosmosqa"]
    assert "hub_dataset:google/xtreme" not in lock["revisions"] or lock["revisions"]["hub_dataset:google/xtreme"] == XTREME_PIN
    assert len([u for u in lock["sha256"] if "bucc2018" in u]) == 8
    assert S.preflight(study.plan)["intermediate_tasks.mnli.hub"]["revision"] == lock["revisions"]["hub_dataset:nyu-mll/glue"]


def test_check_names_a_moved_upstream_and_lock_keeps_the_pin_unless_update(study, tmp_path):
    config = copy.deepcopy(study.config)
    config["sources_lock"] = str(tmp_path / "lock.yaml")
    Path(config["sources_lock"]).write_text(Path(study.config["sources_lock"]).read_text())
    glue = study.up.repos[("dataset", "nyu-mll/glue")]
    old = glue.revision
    glue.revision = "2" * 40
    try:
        changed = S.check_lock(config, config["sources_lock"], remote=study.remote)
        assert any(f"source 'intermediate_tasks.mnli.hub' (hub_dataset:nyu-mll/glue): locked {old}, upstream now {'2' * 40}" in c
                   for c in changed)
        S.lock(config, config["sources_lock"], remote=study.remote)
        assert S.read_lock(config["sources_lock"])["revisions"]["hub_dataset:nyu-mll/glue"] == old
        rep = S.lock(config, config["sources_lock"], remote=study.remote, update=True)
        assert any("nyu-mll/glue" in c for c in rep["changed"])
    finally:
        glue.revision = old
    spec = {**S.config_sources(config)["intermediate_tasks.mnli.hub"], "revision": "3" * 40}
    with pytest.raises(S.SourceError, match=r"config key 'intermediate_tasks.mnli.hub.revision': 3{40} disagrees"):
        S.pinned_revision("intermediate_tasks.mnli.hub", spec, S.read_lock(config["sources_lock"]))


def _write_config(config: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


def test_verify_lists_every_config_and_split_and_names_a_missing_one(study, tmp_path, capsys):
    from xstilts.sources.cli import main

    path = _write_config(study.config, tmp_path / "config.yaml")
    assert main(["verify", "--config", str(path)], remote=study.remote) == 0
    out = capsys.readouterr().out
    assert re.search(r"targets\.mlqa\.hub\s+google/xtreme@21f88c0\s+MLQA\.ar\.ar\s+test\s+1  MLQA\.ar\.ar/test-00000-of-00001\.parquet", out)
    assert re.search(r"morphology\.flores\s+openlanguagedata/flores_plus@\w+\s+swh_Latn\s+devtest\s+1  devtest/swh_Latn\.parquet", out)
    assert re.search(r"retrieval\.bucc\.hub\s+\S+\s+-\s+bucc2018-de-en\.sample-gold\.tar\.bz2\s+1", out)
    assert "verify: all 26 sources hold every requested config × split" in out
    assert not [c for c in study.remote.calls if c[0] == "hub_text" and c[2] != "README.md"]  # listings and cards only
    # upstream loses a config (PAN-X.ka) and an archive: verify exits non-zero naming both sources
    xtreme = study.up.repos[("dataset", "google/xtreme")]
    saved = dict(xtreme.files)
    try:
        del xtreme.files["PAN-X.ka/test-00000-of-00001.parquet"]
        study.up.fail["/bucc2018/bucc2018-zh-en.training-gold.tar.bz2"] = 404
        assert main(["verify", "--config", str(path)], remote=study.remote) == 1
        out = capsys.readouterr().out
        assert "verify: 2 of 26 sources are missing, moved, empty or unpinned: retrieval.bucc.hub, targets.panx.hub" in out
        assert "source 'targets.panx.hub' (google/xtreme@21f88c0) config 'PAN-X.ka' test: missing: no file matches ['PAN-X.ka/test-*']" in out
    finally:
        xtreme.files.clear()
        xtreme.files.update(saved)
        study.up.fail.clear()


def test_verify_names_a_revision_that_moved(study, tmp_path):
    config = copy.deepcopy(study.config)
    config["sources_lock"] = str(tmp_path / "lock.yaml")
    lock = S.read_lock(study.config["sources_lock"])
    lock["revisions"]["hub_dataset:rajpurkar/squad"] = "9" * 40
    S.write_lock(lock, config["sources_lock"])
    rows, problems = S.verify(config, remote=study.remote)
    assert problems == [f"source 'intermediate_tasks.squad.hub' (rajpurkar/squad@9999999): missing: dataset rajpurkar/squad@{'9' * 40}: "
                        "revision not found (moved or deleted)"]


@pytest.mark.parametrize("command", ["lock", "check", "verify"])
def test_without_network_each_command_says_so_in_one_line_naming_the_first_source(command, tmp_path):
    """Offline (HF_HUB_OFFLINE, as on this machine's compute nodes): one line naming the first source that needed the
    network, no traceback."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run([sys.executable, "-m", "xstilts.sources", command, "--config", str(ROOT / "config/config.yaml")],
                       cwd=_workdir(tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    first = "targets.xnli.hub" if command == "verify" else "model"  # verify: the first pinned source (the lock is empty)
    assert lines[0].startswith(f"error: source '{first}'"), lines[0]
    assert "offline mode is enabled" in lines[0]
    assert f"`{command}` needs network" in lines[0]


def test_an_unreachable_hub_is_retried_then_named_in_one_line(tmp_path):
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "PYTHONPATH": str(ROOT / "src")}
    env.pop("HF_HUB_OFFLINE", None)
    r = subprocess.run([sys.executable, "-m", "xstilts.sources", "lock", "--config", str(ROOT / "config/config.yaml")],
                       cwd=_workdir(tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert re.fullmatch(r"error: source 'model' \(hub_model:FacebookAI/xlm-roberta-large\): model FacebookAI/xlm-roberta-large: "
                        r"not reachable after 3 attempt\(s\): \w+: .*`lock` needs network.*\n", r.stderr), r.stderr


def test_preflight_names_each_missing_piece(cfg, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(S.SourceError) as e:
        S.preflight(S.SourcePlan.from_config(cfg, warn=False))
    msg = str(e.value)
    assert "config key 'morphology.flores'" in msg
    assert "HF_TOKEN" in msg
    assert "morphology.corpus: tatoeba" in msg
    assert "config key 'intermediate_tasks.ccg.hub.path' is empty" in msg
    assert "config key 'model.revision'" in msg
    assert "python -m xstilts.sources lock" in msg
    assert "config key 'retrieval.bucc.hub.sha256'" in msg
    cfg["morphology"]["corpus"] = "tatoeba"  # morphology on Tatoeba: FLORES+ is still needed for a flores.* outcome
    assert "morphology.flores" in S.config_sources(cfg)
    cfg["regression"]["outcome"] = "tatoeba.retrieval_en2xx"  # without FLORES+ at all, no token is needed
    assert "morphology.flores" not in S.config_sources(cfg)


def test_pins_given_in_the_issue_are_in_the_config(cfg):
    srcs = S.config_sources(cfg)
    assert srcs["targets.xnli.hub"]["revision"] == XTREME_PIN
    assert srcs["retrieval.tatoeba.hub"]["revision"] == LASER_PIN
    assert srcs["morphology.wals"]["revision"] == WALS_PIN


def test_config_check_rejects_unknown_format_and_a_format_of_the_wrong_table(cfg):
    from xstilts.config import ConfigError

    bad = copy.deepcopy(cfg)
    bad["targets"]["xnli"]["hub"]["format"] = "xnli_v2"
    with pytest.raises(ConfigError, match=r"config key 'targets.xnli.hub.format': unknown format 'xnli_v2'"):
        S.check_config_sources(bad)
    cfg["retrieval"]["bucc"]["hub"]["format"] = "laser_tatoeba"
    with pytest.raises(ConfigError, match=r"'retrieval.bucc.hub.format': 'laser_tatoeba' writes 'tatoeba' tables, this source must give 'bucc_sentences'"):
        S.check_config_sources(cfg)


def test_config_check_rejects_a_data_files_template_with_other_fields(cfg):
    from xstilts.config import ConfigError

    cfg["morphology"]["flores"]["data_files"] = "{split}/{flores_code}.parquet"
    with pytest.raises(ConfigError, match=r"'morphology.flores.data_files': may use only \{config\} and \{split\}"):
        S.check_config_sources(cfg)


# ============================================================================================================
# pieces
# ============================================================================================================


def test_card_configs_and_glob_matching():
    readme = U.card([("b", {"train": "b/train-*"}), ("a", {"test": ["a/x.parquet", "a/y.parquet"]})]).decode()
    assert list(S.card_configs(readme, "card")) == ["b", "a"]  # the card's order is kept
    assert S.card_configs(readme, "card")["a"] == {"test": ["a/x.parquet", "a/y.parquet"]}
    paths = ["MLQA.de.de/test-00000-of-00001.parquet", "MLQA.de.de/sub/test-0.parquet", "README.md"]
    assert S.match(paths, ["MLQA.de.de/test-*"]) == ["MLQA.de.de/test-00000-of-00001.parquet"]  # * stays in its segment
    assert S.match(paths, ["MLQA.de.de/**/test-*"]) == ["MLQA.de.de/sub/test-0.parquet", "MLQA.de.de/test-00000-of-00001.parquet"]


def test_requests_follow_the_slot(cfg):
    reqs = {k: S.requests(cfg, k, spec, S.context(cfg, k)) for k, spec in S.config_sources(cfg).items()}
    panx = reqs["targets.panx.hub"]
    assert S.Request("PAN-X.en", "train", "train") in panx
    assert S.Request("PAN-X.de", "test", "test de") in panx
    assert not [r for r in panx if r.config != "PAN-X.en" and r.split != "test"]
    assert reqs["targets.xnli.hub"] == [S.Request("XNLI", "test", "test ar")]  # one config for every language, no train (MNLI)
    assert {(r.config, r.split) for r in reqs["targets.tydiqa.hub"]} == {("tydiqa", "train"), ("tydiqa", "validation")}
    assert [r.split for r in reqs["intermediate_tasks.anli_plus.sources.2"]] == [
        "train_r1", "train_r2", "train_r3", "dev_r1", "dev_r2", "dev_r3"]
    assert len(reqs["morphology.flores"]) == 89 + 1  # every study language and the pivot
    assert reqs["morphology.wals"] == []
    assert reqs["model"] == []


def test_qa_answers_must_sit_at_their_offsets(tmp_path):
    """Contexts stripped after the offsets were taken shift every answer: the file is rejected, naming it; a single
    misaligned answer within the tolerance is moved to its nearest occurrence."""
    contexts = ["  Paris is in France."] * 10
    texts = [["Paris"]] * 10
    stripped = [c.strip() for c in contexts]
    starts = [[c.index("Paris")] for c in contexts]  # offsets of the unstripped contexts
    with pytest.raises(contracts.ContractError, match=r"test/de\.parquet: 10 of 10 answers \(100\.00%\) do not match.*tolerance 0\.5%"):
        S.align_answers(list(range(10)), stripped, texts, starts, "test/de.parquet")
    ids = list(range(400))
    ctx = ["Paris is in France."] * 400
    t = [["France"]] * 400
    s = [[12]] * 399 + [[11]]
    texts2, starts2, keep = S.align_answers(ids, ctx, t, s, "x")
    assert starts2[-1] == [12]
    assert all(keep)
    t[0] = ["Lyon"]
    texts3, _, keep = S.align_answers(ids, ctx, t, s, "x")
    assert keep[0] is False
    assert texts3[0] == []


# ------------------------------------------------------------------------------------------------ URLs


class Server:
    """A local HTTP server: /files/<name> serves bytes; /truncated/<name> promises more bytes than it sends;
    /flaky/<name> fails with 503 once, then serves."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.hits: dict[str, int] = {}
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                mode, _, name = self.path.strip("/").partition("/")
                owner.hits[self.path] = owner.hits.get(self.path, 0) + 1
                body = owner.files.get(name)
                if body is None or (mode == "flaky" and owner.hits[self.path] == 1):
                    self.send_response(404 if body is None else 503)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body) + (100 if mode == "truncated" else 0)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def test_fetch_url_success_mismatch_truncation_retry_and_missing(server, tmp_path):
    server.files["a.bin"] = b"x" * 5000
    dest = tmp_path / "d" / "a.bin"
    assert S.fetch_url(f"{server.url}/files/a.bin", dest, sha(b"x" * 5000), key="k") == sha(b"x" * 5000)
    assert dest.read_bytes() == b"x" * 5000
    dest.unlink()
    with pytest.raises(S.ChecksumError, match=r"config key 'retrieval.bucc.hub'.*a.bin has sha256 .* the pin says " + "0" * 64):
        S.fetch_url(f"{server.url}/files/a.bin", dest, "0" * 64, key="retrieval.bucc.hub", backoff=0)
    assert server.hits["/files/a.bin"] == 2  # a checksum mismatch is not retried
    with pytest.raises(S.Unreachable, match="not reachable after 2 attempt.*IncompleteRead"):
        S.fetch_url(f"{server.url}/truncated/a.bin", dest, None, key="k", retries=2, backoff=0, timeout=5)
    assert list((tmp_path / "d").iterdir()) == []  # nothing left behind
    assert S.fetch_url(f"{server.url}/flaky/a.bin", dest, None, key="k", backoff=0) == sha(b"x" * 5000)
    assert server.hits["/flaky/a.bin"] == 2
    with pytest.raises(S.Missing, match=r"config key 'k': .*/files/none.bin: HTTP 404"):
        S.fetch_url(f"{server.url}/files/none.bin", dest, None, key="k", backoff=0)
    assert server.hits["/files/none.bin"] == 1  # an answer, not a transient error


def test_ccg_user_directory_errors(cfg, tmp_path):
    key = "intermediate_tasks.ccg.hub"
    spec = cfg["intermediate_tasks"]["ccg"]["hub"]
    with pytest.raises(S.SourceError, match=re.escape(f"config key '{key}.path' is empty") + ".*ccg.train"):
        S.check_user_dir(key, spec)
    d = tmp_path / "ccg"
    d.mkdir()
    (d / "ccg.train").write_text("The cat sat\tNP[nb]/N N S[dcl]\\NP\n")
    with pytest.raises(S.SourceError, match=r"lacks \['ccg.dev', 'tags_to_id.json'\]"):
        S.check_user_dir(key, {**spec, "path": str(d)})
    (d / "ccg.dev").write_text("A dog\tNP[nb]/N N\nbad line without tab\n")
    (d / "tags_to_id.json").write_text("{}")
    cfg["intermediate_tasks"]["ccg"]["hub"]["path"] = str(d)
    job = S.SourcePlan.from_config(cfg, warn=False)[key]
    raw = tmp_path / "raw"
    S.download(job, raw)
    with pytest.raises(contracts.ContractError, match=r"ccg.dev: line 2 is not 'tokens<TAB>supertags'"):
        S.convert_task_outputs([job["spec"]], [str(raw)], {"type": "tagging", "labels": []}, {"validation": str(tmp_path / "v.parquet")})


def test_row_count_far_from_expected_stops_naming_the_file(study, tmp_path):
    job = study.plan["intermediate_tasks.mnli.hub"]
    raw = tmp_path / "raw"
    S.download(job, raw)
    task = study.config["intermediate_tasks"]["mnli"]
    out = tmp_path / "out" / "train.parquet"
    with pytest.raises(contracts.ContractError, match=re.escape(f"{out}: 3 rows, expected 392702")):
        S.convert_task([({**job["spec"], "rows": {"train": 392702}}, raw)], task, {"train": str(out)})
    assert not out.exists()


def test_label_outside_the_task_set_stops(study, tmp_path):
    job = study.plan["intermediate_tasks.qqp.hub"]
    raw = tmp_path / "raw"
    S.download(job, raw)
    task = {**study.config["intermediate_tasks"]["qqp"], "labels": ["yes", "no"]}
    with pytest.raises(contracts.ContractError, match=r"label\(s\) \['duplicate', 'not_duplicate'\] outside the task's label set"):
        S.convert_task([(job["spec"], raw)], task, {"train": str(tmp_path / "t.parquet")})


def test_contracts_check_columns_and_normalise(tmp_path):
    df = pd.DataFrame({"source_sentence": ["Hallo.\n"], "target_sentence": ["Hello.\r\n"], "source_lang": ["de"], "target_lang": ["en"]})
    contracts.write("tatoeba", df, tmp_path / "de.parquet")
    assert contracts.read("tatoeba", tmp_path / "de.parquet")["source_sentence"].tolist() == ["Hallo."]
    with pytest.raises(contracts.ContractError, match=r"x\.parquet: table 'tatoeba' lacks column\(s\) \['target_lang'\]"):
        contracts.write("tatoeba", df.drop(columns="target_lang"), tmp_path / "x.parquet")
    with pytest.raises(contracts.ContractError, match="empty or non-text"):
        contracts.write("tatoeba", df.assign(source_sentence=["  "]), tmp_path / "y.parquet")
    assert not (tmp_path / "x.parquet").exists()
    assert not (tmp_path / "y.parquet").exists()


# ============================================================================================================
# the workflow
# ============================================================================================================


def smk(workdir: Path, *args, env=None):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile",
           str(ROOT / "config/config.yaml"), "--cores", "1", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=workdir, check=False)
    return r.returncode, r.stdout + r.stderr


def _workdir(tmp_path):
    (tmp_path / "config").mkdir()
    for f in ("languages.csv", "sources.lock.yaml"):
        (tmp_path / "config" / f).write_bytes((ROOT / "config" / f).read_bytes())
    return tmp_path


@pytest.mark.slow
def test_full_study_dry_run_has_one_download_job_per_source_all_after_the_check(tmp_path):
    rc, out = smk(_workdir(tmp_path), "-n", "download")
    assert rc == 0, out[-3000:]
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", out.split("Job stats:")[-1], re.MULTILINE)}
    assert counts["download_source"] + counts["download_base_model"] == 26
    assert counts["check_sources"] == 1
    assert "finetune_intermediate" not in counts


@pytest.mark.slow
def test_the_language_table_is_an_input_of_the_mlm_text_and_translated_conversions(tmp_path):
    """convert_mlm_text and convert_translated_* read the language table: it is a named input of each job (editing
    the table reruns them), not a path parameter."""
    from xstilts.plan import LAYOUT

    targets = [LAYOUT.mlm_text.format(lang="sw")] + [LAYOUT.path("intermediate_split", task=f"{t}+translated", split="train")
                                                     for t in ("mnli", "squad")]
    rc, out = smk(_workdir(tmp_path), "--filegraph", *targets)  # per job: its rule, input files, output files
    assert rc == 0, out[-3000:]
    inputs = {}
    for node in out.split("shape=none")[1:]:
        rule = re.search(r'<font point-size="18">(\w+)</font>', node).group(1)
        files = node.split("&#8618; input")[-1].split("output")[0]
        inputs[rule] = re.findall(r'<font face="monospace">([^<]+)</font>', files)
    converters = sorted(r for r in inputs if r.startswith(("convert_mlm_text", "convert_translated_")))
    assert converters == ["convert_mlm_text", "convert_translated_mnli", "convert_translated_squad"]
    table = yaml.safe_load((ROOT / "config/config.yaml").read_text())["language_table"]  # as the job sees it (relative)
    assert [r for r in converters if table not in inputs[r]] == []


@pytest.mark.slow
def test_a_failing_check_starts_no_download_at_all(tmp_path):
    """The real config, offline, without pins, token or CCG directory: check_sources fails naming the config keys and
    no download job starts -- the model's included."""
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    env["PYTHONPATH"] = str(ROOT / "src")
    rc, out = smk(_workdir(tmp_path), "results/intermediate/mnli/model", env=env)
    assert rc != 0
    assert "config key 'morphology.flores'" in out
    assert "HF_TOKEN" in out
    assert "config key 'intermediate_tasks.ccg.hub.path' is empty" in out
    assert "Error in rule check_sources:" in out
    assert "Downloading source" not in out  # the download jobs' messages
    assert "Downloading the pinned base model" not in out
    log = (tmp_path / "logs/data/check_sources.log").read_text()
    assert "config key 'model.revision'" in log  # the check job itself stopped, naming the keys
    assert "config key 'intermediate_tasks.ccg.hub.path' is empty" in log
    assert not (tmp_path / "results" / "raw" / "preflight.json").exists()
    raw = tmp_path / "results" / "raw"
    assert not raw.exists() or not any(raw.iterdir())
    assert not (tmp_path / "results" / "models").exists()


# ------------------------------------------------------------------------------------------------ the paper's alternatives


def test_translated_squad_counts_the_answers_that_left_their_context(study, tmp_path):
    """XTREME translate-train: an answer no longer at answer_start is dropped (never moved) and counted in
    translated.json, per language and in total."""
    key = "translated.tasks.squad.hub"
    raw = tmp_path / "raw"
    S.download(study.plan[key], raw)
    _convert_translated(study, key, raw, tmp_path / "out")
    record = json.loads((tmp_path / "out" / "translated.json").read_text())
    assert (record["answers_dropped"], record["questions_dropped"]) == (1, 1)
    assert record["languages"]["de"]["answers_dropped"] == 1


def test_squad_json_keeps_every_answer_that_sits_at_its_offset(tmp_path):
    path = tmp_path / "squad.translate.train.en-th.json"
    path.write_bytes(U.squad_json("th"))
    df, record = S.read_squad_json(path, "th")
    assert (len(df), record["answers_dropped"]) == (8, 0)
    assert all(c[s[0]:s[0] + len(t[0])] == t[0] for c, s, t in zip(df["context"], df["answer_start"], df["answer_text"]))


def _break(data: dict, what: str) -> str:
    """Spoil article 1, paragraph 0, question 1 (or its answer 0) of a SQuAD JSON file; the place the error names."""
    para = data["data"][1]["paragraphs"][0]
    qa = para["qas"][1]
    if what == "context":
        del para["context"]
        return "article 1 paragraph 0 has no 'context'"
    if what in ("id", "question"):
        del qa[what]
        return f"article 1 paragraph 0 question 1 has no '{what}'"
    if what == "text":
        del qa["answers"][0]["text"]
        return "article 1 paragraph 0 question 1 answer 0 has no 'text'"
    qa["answers"][0]["answer_start"] = "twelve"
    return "article 1 paragraph 0 question 1 answer 0: 'answer_start' 'twelve' is not an integer"


@pytest.mark.parametrize("what", ["context", "id", "question", "text", "answer_start"])
def test_malformed_squad_json_names_the_file_the_language_and_the_place(tmp_path, what):
    path = tmp_path / "squad.translate.train.en-th.json"
    data = json.loads(U.squad_json("th"))
    place = _break(data, what)
    path.write_text(json.dumps(data))
    with pytest.raises(contracts.ContractError, match=re.escape(f"{path} (language th): {place}")):
        S.read_squad_json(path, "th")


@pytest.mark.parametrize("key", ["mlm.hub", "translated.tasks.squad.hub", "translated.tasks.mnli.hub"])
def test_an_unknown_language_names_the_language_table_and_the_code(study, tmp_path, key):
    table = study.config["language_table"]
    with pytest.raises(S.SourceError, match=re.escape(f"{table}: language 'zz' is not in the language table")):
        if key == "mlm.hub":
            S.convert_mlm_text(study.plan.spec(key), tmp_path, "zz", tmp_path / "zz.parquet", table, cap=5, seed=1)
        else:
            task = study.config["intermediate_tasks"][key.split(".")[2]]
            translated_rows(study.plan.spec(key), tmp_path, "zz", task, table, key)


def test_wikipedia_fixture_text_is_the_body_without_the_title(tmp_path):
    """wikimedia/wikipedia rows: the title is its own column, never a first line of ``text``."""
    U.wikipedia_repo(["sw"]).files["20231101.sw/train-00000-of-00002.parquet"](tmp_path / "shard.parquet")
    rows = pd.read_parquet(tmp_path / "shard.parquet")
    assert list(rows.columns) == ["id", "url", "title", "text"]
    assert not [t for t, x in zip(rows["title"], rows["text"]) if x.split("\n", 1)[0].strip() == t]


def test_xnli_fixture_lists_all_languages_first_with_translation_features(tmp_path):
    """facebook/xnli's card lists ``all_languages`` (sorted first); its parquet holds every language's premise (a struct
    language -> text) and hypothesis (the lists ``language`` and ``translation``) with an integer label."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    repo = U.xnli_repo()
    card = yaml.safe_load(repo.files["README.md"].decode().split("---\n")[1])
    assert [c["config_name"] for c in card["configs"]] == ["all_languages", *U.XNLI_LANGS]
    repo.files["all_languages/train-00000-of-00001.parquet"](tmp_path / "all.parquet")
    schema = pq.read_schema(tmp_path / "all.parquet")
    assert schema.field("premise").type == pa.struct([(l, pa.string()) for l in U.XNLI_LANGS])
    assert schema.field("hypothesis").type == pa.struct([("language", pa.list_(pa.string())), ("translation", pa.list_(pa.string()))])
    assert pq.read_table(tmp_path / "all.parquet").column("label").to_pylist() == [0, 2, 1]


def test_xnli_mt_download_leaves_all_languages_out(study, tmp_path):
    before = len(study.up.snapshots)
    S.download(study.plan["translated.tasks.mnli.hub"], tmp_path / "xnli")
    kept = [k for c in study.up.snapshots[before:] for k in c["kept"]]
    assert "sw/train-00000-of-00001.parquet" in kept
    assert not [k for k in kept if k.startswith("all_languages/")]


def test_mlm_text_download_fetches_only_the_first_shard_of_each_language(study, tmp_path):
    before = len(study.up.snapshots)
    S.download(study.plan["mlm.hub"], tmp_path / "wiki")
    kept = [k for c in study.up.snapshots[before:] for k in c["kept"]]
    assert "20231101.sw/train-00000-of-00002.parquet" in kept
    assert not [k for k in kept if "-00001-of-" in k]
