"""Real-data sources, offline: every loader on fixtures written in its upstream layout (a local directory laid out like
the hub repository, read through the same ``load_dataset`` call; a parquet conversion branch; the BUCC shared task
archive; jiant's CCG files), URL downloads against a local HTTP server, the lock file, and the checks that stop a
run before any training job, each naming its config key."""

import copy
import hashlib
import http.server
import io
import os
import re
import subprocess
import tarfile
import threading
from pathlib import Path

import pandas as pd
import pytest
import yaml

from xstilts import contracts
from xstilts import sources as S
from xstilts.config import load_and_check

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


@pytest.fixture
def cfg():
    c = load_and_check(yaml.safe_load((ROOT / "config/config.yaml").read_text()), SCHEMA)
    c["language_table"] = str(ROOT / "config/languages.csv")
    return c


def nolimits(spec: dict) -> dict:
    """A config source with its expected row counts removed (fixtures are small)."""
    return {**copy.deepcopy(spec), "rows": {}}


# ------------------------------------------------------------------------------------------------ hub fixtures


def hub_repo(root: Path, configs: dict) -> Path:
    """A script-free hub dataset repo: README ``configs`` + ``<config>/<split>-00000-of-00001.parquet``."""
    meta = []
    for name, splits in configs.items():
        files = []
        for split, ds in splits.items():
            path = f"{name}/{split}-00000-of-00001.parquet"
            (root / name).mkdir(parents=True, exist_ok=True)
            ds.to_parquet(str(root / path))
            files.append({"split": split, "path": path})
        meta.append({"config_name": name, "data_files": files})
    (root / "README.md").write_text("---\n" + yaml.safe_dump({"configs": meta}) + "---\n# fixture\n")
    return root


def parquet_branch(root: Path, configs: dict) -> Path:
    """A refs/convert/parquet snapshot: ``<config>/<split>/0000.parquet``."""
    for name, splits in configs.items():
        for split, ds in splits.items():
            (root / name / split).mkdir(parents=True, exist_ok=True)
            ds.to_parquet(str(root / name / split / "0000.parquet"))
    return root


def nli(premises, labels, names=("entailment", "neutral", "contradiction"), cols=("premise", "hypothesis")):
    from datasets import ClassLabel, Dataset, Features, Value

    feats = Features({cols[0]: Value("string"), cols[1]: Value("string"), "label": ClassLabel(names=list(names))})
    return Dataset.from_dict({cols[0]: premises, cols[1]: [p + "?" for p in premises], "label": labels}, features=feats)


def test_anli_plus_is_built_from_three_sources(cfg, tmp_path):
    """SNLI (label -1 dropped) + MNLI + ANLI R1-R3 -> one 3-way task with label names; validation = ANLI dev."""
    snli = hub_repo(tmp_path / "snli", {"plain_text": {"train": nli(["s1", "s2", "s3"], [0, -1, 2])}})
    mnli = hub_repo(tmp_path / "glue", {"mnli": {"train": nli(["m1", "m2"], [1, 2])}})
    anli = hub_repo(tmp_path / "anli", {"plain_text": {
        "train_r1": nli(["a1"], [0]), "train_r2": nli(["a2"], [1]), "train_r3": nli(["a3", "a4"], [2, 0]),
        "dev_r1": nli(["d1"], [1]), "dev_r2": nli(["d2"], [2]), "dev_r3": nli(["d3"], [0])}})
    task = cfg["intermediate_tasks"]["anli_plus"]
    assert len(task["sources"]) == 3
    srcs = [nolimits(s) for s in task["sources"]]
    out = {s: str(tmp_path / "out" / f"{s}.parquet") for s in ("train", "validation")}
    counts = S.convert_task(list(zip(srcs, [snli, mnli, anli])), task, out)
    assert counts == {"train": 2 + 2 + 4, "validation": 3}
    train = contracts.read("pair_classification", out["train"])
    assert train["sentence1"].tolist() == ["s1", "s3", "m1", "m2", "a1", "a2", "a3", "a4"]
    assert train["label"].tolist() == ["entailment", "contradiction", "neutral", "contradiction", "entailment", "neutral",
                                       "contradiction", "entailment"]
    assert pd.read_parquet(out["validation"])["label"].tolist() == ["neutral", "contradiction", "entailment"]


def test_row_count_far_from_expected_stops_naming_the_file(cfg, tmp_path):
    repo = hub_repo(tmp_path / "glue", {"mnli": {"train": nli(["m1", "m2"], [1, 2]), "validation_matched": nli(["v"], [0])}})
    task = cfg["intermediate_tasks"]["mnli"]  # config expects 392,702 train rows
    out = tmp_path / "out" / "train.parquet"
    with pytest.raises(contracts.ContractError, match=re.escape(f"{out}: 2 rows, expected 392702")):
        S.convert_task([(task["hub"], repo)], task, {"train": str(out)})
    assert not out.exists()


def test_label_outside_the_task_set_stops(cfg, tmp_path):
    repo = hub_repo(tmp_path / "glue", {"mnli": {"train": nli(["m1"], [0], names=("yes", "no", "maybe"))}})
    task = cfg["intermediate_tasks"]["mnli"]
    with pytest.raises(contracts.ContractError, match=r"label\(s\) \['yes'\] outside the task's label set"):
        S.convert_task([(nolimits(task["hub"]), repo)], task, {"train": str(tmp_path / "t.parquet")})


def test_glue_single_sentence_and_renamed_columns(cfg, tmp_path):
    from datasets import ClassLabel, Dataset, Features, Value

    sst = Dataset.from_dict({"sentence": ["good", "bad"], "label": [1, 0], "idx": [0, 1]},
                            features=Features({"sentence": Value("string"), "label": ClassLabel(names=["negative", "positive"]), "idx": Value("int32")}))
    qqp = nli(["q1", "q2"], [0, 1], names=("not_duplicate", "duplicate"), cols=("question1", "question2"))
    repo = hub_repo(tmp_path / "glue", {"sst2": {"train": sst}, "qqp": {"train": qqp}})
    out = tmp_path / "sst.parquet"
    S.convert_task([(nolimits(cfg["intermediate_tasks"]["sst2"]["hub"]), repo)], cfg["intermediate_tasks"]["sst2"], {"train": str(out)})
    df = pd.read_parquet(out)
    assert df["label"].tolist() == ["positive", "negative"] and df["sentence2"].isna().all()
    out = tmp_path / "qqp.parquet"
    S.convert_task([(nolimits(cfg["intermediate_tasks"]["qqp"]["hub"]), repo)], cfg["intermediate_tasks"]["qqp"], {"train": str(out)})
    assert pd.read_parquet(out)["sentence2"].tolist() == ["q1?", "q2?"]


def test_multiple_choice_formats(cfg, tmp_path):
    from datasets import Dataset

    hs = Dataset.from_dict({"ctx": ["A man", "A dog"], "endings": [["a", "b", "c", "d"]] * 2, "label": ["2", "0"]})
    branch = parquet_branch(tmp_path / "hs", {"default": {"train": hs, "validation": hs}})
    out = {"train": str(tmp_path / "hs_train.parquet")}
    task = cfg["intermediate_tasks"]["hellaswag"]
    S.convert_task([(nolimits(task["hub"]), branch)], task, out)
    assert pd.read_parquet(out["train"])["label"].tolist() == [2, 0]
    cs = Dataset.from_dict({"id": ["x"], "question": ["Where?"], "question_concept": ["c"],
                            "choices": [{"label": ["A", "B", "C", "D", "E"], "text": ["a", "b", "c", "d", "e"]}], "answerKey": ["D"]})
    repo = hub_repo(tmp_path / "csqa", {"default": {"train": cs}})
    task = cfg["intermediate_tasks"]["commonsenseqa"]
    S.convert_task([(nolimits({**task["hub"], "config": "default"}), repo)], task, {"train": str(tmp_path / "cs.parquet")})
    df = pd.read_parquet(tmp_path / "cs.parquet")
    assert df["label"].tolist() == [3] and list(df["endings"][0]) == ["a", "b", "c", "d", "e"]
    cq = Dataset.from_dict({"id": ["y"], "context": ["Ctx."], "question": ["Q?"], "answer0": ["0"], "answer1": ["1"],
                            "answer2": ["2"], "answer3": ["3"], "label": [1]})
    branch = parquet_branch(tmp_path / "cq", {"default": {"train": cq}})
    task = cfg["intermediate_tasks"]["cosmosqa"]
    S.convert_task([(nolimits(task["hub"]), branch)], task, {"train": str(tmp_path / "cq.parquet")})
    assert pd.read_parquet(tmp_path / "cq.parquet")["context"].tolist() == ["Ctx. Q?"]


def _squad(ids, answers):
    from datasets import Dataset

    return Dataset.from_dict({"id": ids, "title": ["t"] * len(ids), "context": ["Paris is in France."] * len(ids),
                              "question": ["Where?"] * len(ids), "answers": answers})


def test_xtreme_targets_per_language(cfg, tmp_path):
    """XNLI (one config, column language, string labels), PAN-X (per-language configs, ClassLabel ids -> names),
    TyDiQA (languages mixed, language from the id prefix; every gold answer kept)."""
    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    xnli = Dataset.from_dict({"language": ["de", "en", "de"], "sentence1": ["a", "b", "c"], "sentence2": ["x", "y", "z"],
                              "gold_label": ["neutral", "entailment", "contradiction"]})
    tags = ClassLabel(names=["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"])
    feats = Features({"tokens": Sequence(Value("string")), "ner_tags": Sequence(tags), "langs": Sequence(Value("string"))})
    panx = {lang: Dataset.from_dict({"tokens": [["Anna", "lebt"]], "ner_tags": [[1, 0]], "langs": [[lang, lang]]}, features=feats)
            for lang in ("en", "de")}
    both = {"text": ["France", "France"], "answer_start": [12, 12]}
    tydi = _squad(["english-1", "swahili-2", "english-3"], [both, {"text": ["Paris"], "answer_start": [0]}, both])
    repo = hub_repo(tmp_path / "xtreme", {"XNLI": {"test": xnli},
                                          "PAN-X.en": {"train": panx["en"], "validation": panx["en"], "test": panx["en"]},
                                          "PAN-X.de": {"test": panx["de"]}, "tydiqa": {"train": tydi, "validation": tydi}})
    table = cfg["language_table"]
    out = {"test_de": str(tmp_path / "xnli_de.parquet"), "test_en": str(tmp_path / "xnli_en.parquet")}
    counts = S.convert_task_outputs([cfg["targets"]["xnli"]["hub"]], [str(repo)], cfg["targets"]["xnli"], out, table)
    assert counts["test"] == {"de": 2, "en": 1}
    assert pd.read_parquet(out["test_de"])["label"].tolist() == ["neutral", "contradiction"]
    out = {"train": str(tmp_path / "panx_train.parquet"), "validation": str(tmp_path / "panx_val.parquet"),
           "test_de": str(tmp_path / "panx_de.parquet")}
    S.convert_task_outputs([cfg["targets"]["panx"]["hub"]], [str(repo)], cfg["targets"]["panx"], out, table)
    assert [list(t) for t in pd.read_parquet(out["test_de"])["tags"]] == [["B-PER", "O"]]
    assert [list(t) for t in pd.read_parquet(out["train"])["tags"]] == [["B-PER", "O"]]
    out = {"train": str(tmp_path / "ty_train.parquet"), "validation": str(tmp_path / "ty_val.parquet"),
           "test_sw": str(tmp_path / "ty_sw.parquet"), "test_en": str(tmp_path / "ty_en.parquet")}
    S.convert_task_outputs([cfg["targets"]["tydiqa"]["hub"]], [str(repo)], cfg["targets"]["tydiqa"], out, table)
    train = pd.read_parquet(out["train"])
    assert train["id"].tolist() == ["english-1", "english-3"]  # English GoldP only (pitfall P1)
    assert list(train["answer_text"][0]) == ["France", "France"] and list(train["answer_start"][0]) == [12, 12]
    assert pd.read_parquet(out["test_sw"])["id"].tolist() == ["swahili-2"]


def test_tag_ids_without_names_stop(tmp_path):
    from datasets import Dataset

    ds = Dataset.from_dict({"tokens": [["a"]], "pos_tags": [[3]]})
    repo = hub_repo(tmp_path / "x", {"udpos.English": {"train": ds}})
    src = {"kind": "hub_dataset", "format": "tagging", "config": "udpos.{udpos_name}", "columns": {"tags": "pos_tags"},
           "splits": {"train": "train"}}
    with pytest.raises(contracts.ContractError, match="holds ids without a ClassLabel"):
        S.convert_task([(src, repo)], {"type": "tagging", "labels": ["NOUN"]}, {"train": str(tmp_path / "t.parquet")})


# ------------------------------------------------------------------------------------------------ BUCC, CCG


def bucc_archive(path: Path, lang: str, split: str, n_gold: int = 2, n_distractors: int = 3) -> Path:
    """The shared task's archive layout: bucc2018/<l>-en/<l>-en.<split>.{<l>,en,gold}, lines id<TAB>sentence."""
    xx = [(f"{lang}-{i:09d}", f"satz {i}") for i in range(n_gold + n_distractors)]
    en = [(f"en-{i:09d}", f"sentence {i}") for i in range(n_gold + n_distractors + 1)]
    gold = [(xx[i][0], en[i][0]) for i in range(n_gold)]
    files = {f"{lang}-en.{split}.{lang}": xx, f"{lang}-en.{split}.en": en, f"{lang}-en.{split}.gold": gold}
    with tarfile.open(path, "w:bz2") as tar:
        for name, rows in files.items():
            data = "".join(f"{a}\t{b}\n" for a, b in rows).encode()
            info = tarfile.TarInfo(f"bucc2018/{lang}-en/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_bucc_archive(tmp_path):
    arc = bucc_archive(tmp_path / "bucc2018-de-en.sample-gold.tar.bz2", "de", "sample")
    n, g = S.convert_bucc_archive(arc, "de", "sample", tmp_path / "de.sample.parquet", tmp_path / "de.sample.gold.parquet")
    assert (n, g) == (5 + 6, 2)
    sents = contracts.read("bucc_sentences", tmp_path / "de.sample.parquet")
    assert sents["side"].value_counts().to_dict() == {"en": 6, "de": 5}
    assert pd.read_parquet(tmp_path / "de.sample.gold.parquet").values.tolist() == [["de-000000000", "en-000000000"],
                                                                                   ["de-000000001", "en-000000001"]]


def test_ccg_user_directory(cfg, tmp_path):
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
    (d / "tags_to_id.json").write_text('{"NP[nb]/N": 0, "N": 1, "S[dcl]\\\\NP": 2}')
    spec = {**spec, "path": str(d)}
    raw = tmp_path / "raw"
    raw.mkdir()
    S.KINDS["user_dir"].fetch(key, spec, {"revisions": {}, "sha256": {}}, raw, {})
    task = {"type": "tagging", "labels": []}
    out = {"train": str(tmp_path / "train.parquet"), "labels": str(tmp_path / "tags_to_id.json")}
    S.convert_task_outputs([spec], [str(raw)], task, out)
    assert [list(t) for t in pd.read_parquet(out["train"])["tags"]] == [["NP[nb]/N", "N", "S[dcl]\\NP"]]
    assert Path(out["labels"]).read_text() == (d / "tags_to_id.json").read_text()
    with pytest.raises(contracts.ContractError, match=r"ccg.dev: line 2 is not 'tokens<TAB>supertags'"):
        S.convert_task_outputs([spec], [str(raw)], task, {"validation": str(tmp_path / "v.parquet")})


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


def test_fetch_url_success_mismatch_truncation_and_retry(server, tmp_path):
    server.files["a.bin"] = b"x" * 5000
    dest = tmp_path / "d" / "a.bin"
    assert S.fetch_url(f"{server.url}/files/a.bin", dest, sha(b"x" * 5000), key="k") == sha(b"x" * 5000)
    assert dest.read_bytes() == b"x" * 5000
    dest.unlink()
    with pytest.raises(S.ChecksumError, match=r"config key 'retrieval.bucc.hub'.*a.bin has sha256 .* the pin says " + "0" * 64):
        S.fetch_url(f"{server.url}/files/a.bin", dest, "0" * 64, key="retrieval.bucc.hub", backoff=0)
    assert server.hits["/files/a.bin"] == 2  # a checksum mismatch is not retried
    with pytest.raises(S.SourceError, match="failed after 2 attempts.*IncompleteRead"):
        S.fetch_url(f"{server.url}/truncated/a.bin", dest, None, key="k", retries=2, backoff=0, timeout=5)
    assert list((tmp_path / "d").iterdir()) == []  # nothing left behind
    assert S.fetch_url(f"{server.url}/flaky/a.bin", dest, None, key="k", backoff=0) == sha(b"x" * 5000)
    assert server.hits["/flaky/a.bin"] == 2


def _bucc_config(cfg, server, tmp_path):
    cfg["retrieval"]["bucc"]["languages"] = ["de"]
    cfg["retrieval"]["bucc"]["hub"]["url"] = server.url + "/files/bucc2018-{lang}-en.{split}-gold.tar.bz2"
    for split in ("sample", "training"):
        name = f"bucc2018-de-en.{split}-gold.tar.bz2"
        server.files[name] = bucc_archive(tmp_path / name, "de", split).read_bytes()
    return cfg


class FakeResolver:
    """Stands in for the hub/GitHub APIs; checksums come from the local HTTP server."""

    def __init__(self, glue="1" * 40):
        self.glue = glue

    def revision(self, spec):
        return self.glue if spec["id"] == "nyu-mll/glue" else hashlib.sha1(S.repo_key(spec).encode()).hexdigest()

    def sha256(self, url, scratch):
        return S.fetch_url(url, scratch / "f", None)


def test_lock_download_and_changed_upstream(cfg, server, tmp_path, monkeypatch):
    cfg = _bucc_config(cfg, server, tmp_path)
    lock_path = tmp_path / "sources.lock.yaml"
    cfg["sources_lock"] = str(lock_path)
    # git files of pinned commits get a checksum at lock time too: serve them locally
    monkeypatch.setattr(S, "git_url", lambda spec, rev, path: f"{server.url}/files/{Path(path).name}")
    for key in ("retrieval.tatoeba.hub", "morphology.wals"):
        for p in S._git_files(key, S.config_sources(cfg)[key], S.context(cfg, key)):
            server.files[Path(p).name] = b"line\n"
    report = S.lock(cfg, lock_path, resolver=FakeResolver())
    lock = S.read_lock(lock_path)
    assert lock["revisions"]["hub_dataset:nyu-mll/glue"] == "1" * 40
    assert "hub_dataset:google/xtreme" not in lock["revisions"] or lock["revisions"]["hub_dataset:google/xtreme"] == cfg["targets"]["xnli"]["hub"]["revision"]
    assert any("retrieval.bucc.hub" in line for line in report["added"])
    # pins, token and user path all present: the preflight passes
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    ccg = tmp_path / "ccg"
    ccg.mkdir()
    for n in ("ccg.train", "ccg.dev", "tags_to_id.json"):
        (ccg / n).write_text("x")
    cfg["intermediate_tasks"]["ccg"]["hub"]["path"] = str(ccg)
    plan = S.preflight(cfg, lock)
    assert plan["intermediate_tasks.mnli.hub"]["revision"] == "1" * 40
    # the URL source downloads atomically with its manifest
    dest = tmp_path / "raw" / "retrieval.bucc.hub"
    manifest = S.download("retrieval.bucc.hub", cfg, lock_path, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["bucc2018-de-en.sample-gold.tar.bz2", "bucc2018-de-en.training-gold.tar.bz2",
                                                       "manifest.json"]
    assert set(manifest["files"]) == set(lock["sha256"]) & set(manifest["files"]) and len(manifest["files"]) == 2
    # git files at the pinned commit, checked against the lock's sha256
    m = S.download("morphology.wals", cfg, lock_path, tmp_path / "raw" / "morphology.wals")
    assert m["revision"] == "3a9efd69074e1ced1da69e31b9aebfd55006eb70" and (tmp_path / "raw/morphology.wals/cldf/values.csv").exists()
    server.files["values.csv"] = b"changed\n"
    with pytest.raises(S.ChecksumError, match="config key 'morphology.wals'"):
        S.download("morphology.wals", cfg, lock_path, tmp_path / "raw3" / "morphology.wals")
    # the upstream archive changes: the download stops naming the source, and leaves nothing behind
    server.files["bucc2018-de-en.training-gold.tar.bz2"] = bucc_archive(tmp_path / "new.tar.bz2", "de", "training", n_gold=3).read_bytes()
    dest2 = tmp_path / "raw2" / "retrieval.bucc.hub"
    with pytest.raises(S.ChecksumError, match="config key 'retrieval.bucc.hub'"):
        S.download("retrieval.bucc.hub", cfg, lock_path, dest2)
    assert not dest2.exists() and list((tmp_path / "raw2").iterdir()) == []
    # an upstream hub repo moves on: `check` names the source; `lock` keeps the pin unless --update
    changed = S.check_lock(cfg, lock_path, resolver=FakeResolver(glue="2" * 40))
    assert any("source 'intermediate_tasks.mnli.hub' (hub_dataset:nyu-mll/glue): locked " + "1" * 40 + ", upstream now " + "2" * 40 in c
               for c in changed)
    S.lock(cfg, lock_path, resolver=FakeResolver(glue="2" * 40))
    assert S.read_lock(lock_path)["revisions"]["hub_dataset:nyu-mll/glue"] == "1" * 40
    rep = S.lock(cfg, lock_path, resolver=FakeResolver(glue="2" * 40), update=True)
    assert any("nyu-mll/glue" in c for c in rep["changed"])
    # a config SHA that disagrees with the lock is an error naming the key
    spec = {**S.config_sources(cfg)["intermediate_tasks.mnli.hub"], "revision": "3" * 40}
    with pytest.raises(S.SourceError, match=r"config key 'intermediate_tasks.mnli.hub.revision': 3{40} disagrees"):
        S.pinned_revision("intermediate_tasks.mnli.hub", spec, S.read_lock(lock_path))


def test_preflight_names_each_missing_piece(cfg, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(S.SourceError) as e:
        S.preflight(cfg, {"revisions": {}, "sha256": {}})
    msg = str(e.value)
    assert "config key 'morphology.flores'" in msg and "HF_TOKEN" in msg and "morphology.corpus: tatoeba" in msg
    assert "config key 'intermediate_tasks.ccg.hub.path' is empty" in msg
    assert "config key 'model.revision'" in msg and "python -m xstilts.sources lock" in msg
    assert "config key 'retrieval.bucc.hub.sha256'" in msg
    # without FLORES (morphology on Tatoeba), no token is needed
    cfg["morphology"]["corpus"] = "tatoeba"
    assert "morphology.flores" not in S.config_sources(cfg)


def test_pins_given_in_the_issue_are_in_the_config(cfg):
    srcs = S.config_sources(cfg)
    assert srcs["targets.xnli.hub"]["revision"] == "21f88c0ff5bf413a83c854eb00050e75d245161f"
    assert srcs["retrieval.tatoeba.hub"]["revision"] == "74bc6ae7ffb7cba670fe0f428d0ede9f666fb821"
    assert srcs["morphology.wals"]["revision"] == "3a9efd69074e1ced1da69e31b9aebfd55006eb70"
    assert not any("unpinned" in str(s.get("revision")) for s in srcs.values())
    assert len(srcs) == 23


def test_config_check_rejects_unknown_format(cfg):
    from xstilts.config import ConfigError

    cfg["targets"]["xnli"]["hub"]["format"] = "xnli_v2"
    with pytest.raises(ConfigError, match=r"config key 'targets.xnli.hub.format': unknown format 'xnli_v2'"):
        S.check_config_sources(cfg)


# ------------------------------------------------------------------------------------------------ the workflow


def smk(workdir: Path, *args, env=None):
    cmd = ["snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile",
           str(ROOT / "config/config.yaml"), "--cores", "1", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=workdir, check=False)
    return r.returncode, r.stdout + r.stderr


def _workdir(tmp_path):
    (tmp_path / "config").mkdir()
    for f in ("languages.csv", "sources.lock.yaml"):
        (tmp_path / "config" / f).write_bytes((ROOT / "config" / f).read_bytes())
    return tmp_path


@pytest.mark.slow
def test_full_study_dry_run_has_one_download_job_per_source(tmp_path):
    rc, out = smk(_workdir(tmp_path), "-n", "download")
    assert rc == 0, out[-3000:]
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", out.split("Job stats:")[-1], re.MULTILINE)}
    assert counts["download_source"] + counts["download_base_model"] == 23
    assert counts["check_sources"] == 1 and "finetune_intermediate" not in counts


@pytest.mark.slow
def test_missing_token_and_ccg_path_stop_the_run_before_any_training_job(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    rc, out = smk(_workdir(tmp_path), "results/intermediate/mnli/model", env=env)
    assert rc != 0
    assert "config key 'morphology.flores'" in out and "HF_TOKEN" in out
    assert "config key 'intermediate_tasks.ccg.hub.path' is empty" in out
    assert "check_sources" in out and "rule finetune_intermediate:" not in out and "download_source:" not in out
    assert not (tmp_path / "results" / "raw" / "preflight.json").exists()


def test_contracts_check_columns_and_normalise(tmp_path):
    df = pd.DataFrame({"source_sentence": ["Hallo.\n"], "target_sentence": ["Hello.\r\n"], "source_lang": ["de"], "target_lang": ["en"]})
    contracts.write("tatoeba", df, tmp_path / "de.parquet")
    assert contracts.read("tatoeba", tmp_path / "de.parquet")["source_sentence"].tolist() == ["Hallo."]
    with pytest.raises(contracts.ContractError, match=r"x\.parquet: table 'tatoeba' lacks column\(s\) \['target_lang'\]"):
        contracts.write("tatoeba", df.drop(columns="target_lang"), tmp_path / "x.parquet")
    with pytest.raises(contracts.ContractError, match="empty or non-text"):
        contracts.write("tatoeba", df.assign(source_sentence=["  "]), tmp_path / "y.parquet")
    assert not (tmp_path / "x.parquet").exists() and not (tmp_path / "y.parquet").exists()


def test_pawsx_label_map_mlqa_configs_and_xtreme_tatoeba(cfg, tmp_path):
    from datasets import Dataset

    paws = Dataset.from_dict({"id": ["1", "2"], "sentence1": ["a", "b"], "sentence2": ["c", "d"], "label": ["1", "0"]})
    both = {"text": ["Paris", "Paris,"], "answer_start": [0, 0]}
    repo = hub_repo(tmp_path / "xtreme", {"PAWS-X.en": {"train": paws, "validation": paws}, "PAWS-X.de": {"test": paws},
                                          "MLQA.de.de": {"test": _squad(["q1"], [both])},
                                          "tatoeba.tel": {"validation": Dataset.from_dict({
                                              "source_sentence": ["ఇది.\n"], "target_sentence": ["This.\n"],
                                              "source_lang": ["tel"], "target_lang": ["eng"]})}})
    out = {"train": str(tmp_path / "p_train.parquet"), "validation": str(tmp_path / "p_val.parquet"), "test_de": str(tmp_path / "p_de.parquet")}
    S.convert_task_outputs([cfg["targets"]["pawsx"]["hub"]], [str(repo)], cfg["targets"]["pawsx"], out, cfg["language_table"])
    assert pd.read_parquet(out["test_de"])["label"].tolist() == ["paraphrase", "different"]
    out = {"test_de": str(tmp_path / "m_de.parquet")}
    S.convert_task_outputs([cfg["targets"]["mlqa"]["hub"]], [str(repo)], cfg["targets"]["mlqa"], out, cfg["language_table"])
    assert list(pd.read_parquet(out["test_de"])["answer_text"][0]) == ["Paris", "Paris,"]
    src = {"kind": "hub_dataset", "format": "xtreme_tatoeba", "config": "tatoeba.{iso639_3}", "splits": {"test": "validation"}}
    table = tmp_path / "languages.csv"
    t = pd.read_csv(cfg["language_table"], keep_default_na=False, dtype=str)
    t.loc[t["iso639_1"] == "te", "tatoeba_pairs"] = "1"
    t.to_csv(table, index=False)
    S.convert_tatoeba(src, repo, "te", tmp_path / "te.parquet", table)
    assert pd.read_parquet(tmp_path / "te.parquet").iloc[0].tolist() == ["ఇది.", "This.", "te", "en"]  # newline stripped


def test_flores_plus_devtest_to_parallel(tmp_path):
    from datasets import Dataset

    def lang(texts):
        return Dataset.from_dict({"id": [2, 1], "text": texts})

    repo = hub_repo(tmp_path / "flores", {"swh_Latn": {"devtest": lang(["pili", "moja"])}, "eng_Latn": {"devtest": lang(["two", "one"])}})
    src = {"kind": "hub_dataset", "format": "flores_plus", "splits": {"test": "devtest"}}
    S.convert_flores(repo, src, {"sw": "swh_Latn", "en": "eng_Latn"}, tmp_path / "parallel.parquet")
    assert pd.read_parquet(tmp_path / "parallel.parquet").to_dict("list") == {"sw": ["moja", "pili"], "en": ["one", "two"]}


def test_hub_download_is_pinned_and_filtered(cfg, tmp_path, monkeypatch):
    """snapshot_download gets the pinned SHA and the config's files only; the manifest records them."""
    import huggingface_hub

    calls = []

    def fake_snapshot(repo_id, repo_type, revision, local_dir, allow_patterns, token):
        calls.append((repo_id, repo_type, revision, allow_patterns, token))
        Path(local_dir, "XNLI").mkdir(parents=True, exist_ok=True)
        Path(local_dir, "XNLI", "test.parquet").write_bytes(b"x")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    lock = tmp_path / "lock.yaml"
    S.write_lock({"revisions": {}, "sha256": {}}, lock)
    dest = tmp_path / "raw" / "targets.xnli.hub"
    m = S.download("targets.xnli.hub", cfg, lock, dest)
    assert calls == [("google/xtreme", "dataset", "21f88c0ff5bf413a83c854eb00050e75d245161f", ["XNLI/*", "XNLI/**", "README.md", "*.json"], None)]
    assert m["revision"] == "21f88c0ff5bf413a83c854eb00050e75d245161f" and (dest / "manifest.json").exists()
    with pytest.raises(S.SourceError, match="config key 'model.revision'"):  # unpinned: nothing is fetched
        S.download("model", cfg, lock, tmp_path / "raw" / "model")
    assert len(calls) == 1 and not (tmp_path / "raw" / "model").exists()


def test_config_check_rejects_a_format_of_the_wrong_table(cfg):
    from xstilts.config import ConfigError

    cfg["retrieval"]["bucc"]["hub"]["format"] = "laser_tatoeba"
    with pytest.raises(ConfigError, match=r"'retrieval.bucc.hub.format': 'laser_tatoeba' writes 'tatoeba' tables, this source must give 'bucc_sentences'"):
        S.check_config_sources(cfg)
