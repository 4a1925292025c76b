"""Real data sources: a registry of source *kinds* (how an upstream artefact is pinned and fetched) and of
*formats* (how a fetched artefact becomes the canonical tables of ``xstilts.contracts``).

A source is one pinned upstream artefact named by the config key that defines it (``targets.xnli.hub``,
``intermediate_tasks.anli_plus.sources.0``, ``retrieval.tatoeba.hub``, ``morphology.wals``, ``model``...). Its config
entry carries ``kind`` (a key of :data:`KINDS`), ``format`` (a key of :data:`FORMATS`) and the pin: a 40-hex commit
``revision`` (hub repositories, git files) and/or ``sha256`` per file (URL archives); a revision that reads
``locked`` is taken from the lock file (config key ``sources_lock``), which ``python -m xstilts.sources lock``
writes. Adding a source is adding config metadata; adding a kind or a format is one registry entry here.

The stage runs in three steps (``workflow/rules/data.smk``):

1. ``check_sources`` (local): every source is pinned, gated sources have their token, user-supplied directories
   exist -- each failure names its config key, before anything is downloaded or trained;
2. ``download_source`` (local, one job per source, target ``download``): fetch into ``results/raw/<key>/`` at the
   pinned revision, verifying every file's sha256; retries on transient errors; atomic (nothing is left behind);
3. ``convert_*`` (offline, ``HF_HUB_OFFLINE=1``): read the raw files through the same ``datasets.load_dataset``
   call as the hub would, map class ids to label names, check row counts, write the canonical tables.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import socket
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from xstilts import contracts
from xstilts.io import atomic_dir, atomic_path, atomic_write_json, atomic_write_parquet
from xstilts.plan import LAYOUT

log = logging.getLogger(__name__)

SHA1 = re.compile(r"^[0-9a-f]{40}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
LOCKED = "locked"
RAW = LAYOUT.raw  # where each source is fetched to (xstilts.plan.LAYOUT)


class SourceError(RuntimeError):
    """A source cannot be used as configured; the message names the config key."""


class ChecksumError(SourceError):
    pass


# ============================================================================================================
# which sources a config uses
# ============================================================================================================


def config_sources(config: dict) -> dict[str, dict]:
    """Every source the (hub) config uses, by config key, each with its kind filled in."""
    out: dict[str, dict] = {}

    def add(key: str, spec: dict, default_kind: str = "hub_dataset"):
        if spec.get("id") or spec.get("url") or spec.get("path") or spec.get("files") or spec.get("kind") == "user_dir":
            out[key] = {**spec, "kind": spec.get("kind") or default_kind}

    add("model", {"id": config["model"]["name"], "revision": config["model"]["revision"]}, "hub_model")
    for group in ("intermediate_tasks", "targets"):
        for name, task in config[group].items():
            if task.get("sources"):
                for i, s in enumerate(task["sources"]):
                    add(f"{group}.{name}.sources.{i}", s)
            else:
                add(f"{group}.{name}.hub", task.get("hub", {}))
    add("retrieval.tatoeba.hub", config["retrieval"]["tatoeba"].get("hub", {}))
    add("retrieval.bucc.hub", config["retrieval"]["bucc"].get("hub", {}))
    if config["morphology"]["corpus"] == "parallel":
        add("morphology.flores", config["morphology"].get("flores", {}))
    add("morphology.wals", config["morphology"].get("wals", {}))
    return out


def task_sources(config: dict, group: str, name: str) -> list[str]:
    """The source keys of one task (several for ANLI+)."""
    task = config[group][name]
    if task.get("sources"):
        return [f"{group}.{name}.sources.{i}" for i in range(len(task["sources"]))]
    return [f"{group}.{name}.hub"] if task.get("hub", {}).get("id") or task.get("hub", {}).get("kind") else []


def raw_dir(key: str) -> str:
    return f"{RAW}/{key}"


# ============================================================================================================
# language variables of templates
# ============================================================================================================


def language_vars(table_path: str | Path) -> dict[str, dict]:
    """iso639_1 -> template variables ({lang}, {iso639_3}, {laser_xtreme_code}, {language_name}, {flores_code},
    {udpos_name})."""
    t = pd.read_csv(table_path, keep_default_na=False, dtype=str)
    out = {}
    for r in t.to_dict("records"):
        out[r["iso639_1"]] = {"lang": r["iso639_1"], "iso639_3": r["iso639_3"], "laser_xtreme_code": r.get("laser_xtreme_code", ""),
                              "language_name": r["name"], "flores_code": r.get("flores_code", ""),
                            "udpos_name": r.get("udpos_name", "") or r["name"]}
    return out


def expand(template: str, variables: dict, key: str) -> str:
    try:
        return template.format(**variables)
    except KeyError as e:
        raise SourceError(f"config key '{key}': template {template!r} uses {e} which is not a language variable "
                          f"({sorted(variables)})") from None


# ============================================================================================================
# the lock file
# ============================================================================================================


def read_lock(path: str | Path) -> dict:
    p = Path(path)
    if not p.exists():
        return {"revisions": {}, "sha256": {}}
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    return {"revisions": dict(data.get("revisions") or {}), "sha256": dict(data.get("sha256") or {})}


def write_lock(lock: dict, path: str | Path) -> None:
    header = ("# Pins of every real-data source, written by `python -m xstilts.sources lock` (do not edit by hand).\n"
              "# revisions: <kind>:<repository> -> commit SHA; sha256: file URL -> checksum. The download rules enforce them.\n")
    body = yaml.safe_dump({"revisions": dict(sorted(lock["revisions"].items())), "sha256": dict(sorted(lock["sha256"].items()))},
                          sort_keys=False, allow_unicode=True)
    with atomic_path(path) as tmp:
        tmp.write_text(header + body, encoding="utf-8")


def repo_key(spec: dict) -> str:
    return f"{spec['kind']}:{spec.get('repo') or spec.get('id')}"


def pinned_revision(key: str, spec: dict, lock: dict) -> str:
    """The commit a source is fetched at: its config revision, or the lock's when the config says ``locked``."""
    rev = spec.get("revision") or ""
    locked = lock["revisions"].get(repo_key(spec))
    if SHA1.match(rev):
        if locked and locked != rev:
            raise SourceError(f"config key '{key}.revision': {rev} disagrees with the lock file's {repo_key(spec)} = {locked}; "
                              "rerun `python -m xstilts.sources lock` or fix the config")
        return rev
    if rev not in ("", LOCKED):
        raise SourceError(f"config key '{key}.revision': {rev!r} is neither a 40-hex commit SHA nor '{LOCKED}'")
    if not locked:
        raise SourceError(f"config key '{key}.revision': source {repo_key(spec)} is not pinned; run "
                          "`python -m xstilts.sources lock` (needs network) to write its current commit into the lock file")
    return locked


def file_sha256(key: str, spec: dict, url: str, lock: dict) -> str:
    sha = (spec.get("sha256") or {}).get(url) or lock["sha256"].get(url)
    if not sha:
        raise SourceError(f"config key '{key}.sha256': no checksum for {url}; run `python -m xstilts.sources lock`")
    if not SHA256.match(sha):
        raise SourceError(f"config key '{key}.sha256': {sha!r} for {url} is not a 64-hex sha256")
    return sha


# ============================================================================================================
# fetching: URLs (with retries and checksums) and the hub
# ============================================================================================================

TRANSIENT = (urllib.error.URLError, http.client.IncompleteRead, ConnectionError, socket.timeout, TimeoutError)


def fetch_url(url: str, dest: str | Path, sha256: str | None, *, key: str = "", retries: int = 3, backoff: float = 1.0,
              timeout: float = 60.0) -> str:
    """Download ``url`` to ``dest`` atomically; verify its length and sha256 (when given). Transient errors are
    retried; a checksum mismatch is not (it is an error naming the source). Returns the sha256."""
    last: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            with atomic_path(dest) as tmp:
                h = hashlib.sha256()
                with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f:
                    expected_len = r.headers.get("Content-Length")
                    n = 0
                    while chunk := r.read(1 << 20):
                        f.write(chunk)
                        h.update(chunk)
                        n += len(chunk)
                if expected_len is not None and n != int(expected_len):
                    raise http.client.IncompleteRead(b"", int(expected_len) - n)
                digest = h.hexdigest()
                if sha256 and digest != sha256:
                    raise ChecksumError(f"config key '{key}': {url} has sha256 {digest}, the pin says {sha256}; the upstream file "
                                        "changed (or the transfer is corrupt): nothing was written")
            return digest
        except urllib.error.HTTPError as e:
            if e.code < 500:
                raise SourceError(f"config key '{key}': {url}: HTTP {e.code} {e.reason}") from e
            last = e
        except TRANSIENT as e:
            last = e
        if attempt < retries:
            log.warning("%s: transient error (%s); retry %d/%d", url, last, attempt, retries - 1)
            time.sleep(backoff * attempt)
    raise SourceError(f"config key '{key}': {url}: failed after {retries} attempts: {last!r}")


def _retry(fn: Callable, what: str, retries: int = 3, backoff: float = 5.0):
    for attempt in range(1, retries + 1):
        try:
            return fn()
        except (OSError, ConnectionError) as e:  # requests' errors derive from OSError
            if attempt == retries:
                raise SourceError(f"{what}: failed after {retries} attempts: {e!r}") from e
            log.warning("%s: transient error (%s); retry %d/%d", what, e, attempt, retries - 1)
            time.sleep(backoff * attempt)


def _token(key: str, spec: dict) -> str | None:
    env = spec.get("token_env") or ""
    if not env:
        return None
    tok = os.environ.get(env)
    if not tok:
        raise SourceError(
            f"config key '{key}': {spec.get('id')} is gated and needs a Hugging Face token in the environment variable {env}. "
            f"Request access on https://huggingface.co/datasets/{spec.get('id')} , create a read token at "
            f"https://huggingface.co/settings/tokens and `export {env}=...`; or set `morphology.corpus: tatoeba` to measure "
            "morphology on the Tatoeba sentences instead")
    return tok


def _snapshot(key: str, spec: dict, revision: str, dest: Path, repo_type: str, patterns: list[str] | None) -> None:
    from huggingface_hub import snapshot_download

    _retry(lambda: snapshot_download(spec["id"], repo_type=repo_type, revision=revision, local_dir=str(dest),
                                     allow_patterns=patterns, token=_token(key, spec)),
           f"config key '{key}': {spec['id']}@{revision}")


# ------------------------------------------------------------------------------------------------ kinds


@dataclass(frozen=True)
class Kind:
    """How one kind of source is pinned (``resolve``: its current revision) and fetched (``fetch``)."""

    name: str
    fetch: Callable  # (key, spec, lock, dest: Path, ctx) -> manifest dict
    files: Callable | None = None  # (key, spec, ctx) -> list of URLs (file-based kinds)
    revisioned: bool = True


def _configs(key: str, spec: dict, ctx: dict) -> list[str]:
    cfg = spec.get("config") or ""
    if "{" not in cfg:
        return [cfg] if cfg else []
    return sorted({expand(cfg, ctx["vars"][l], key) for l in ctx["languages"]})


def _fetch_hub_dataset(key, spec, lock, dest, ctx):
    rev = pinned_revision(key, spec, lock)
    cfgs = _configs(key, spec, ctx)
    patterns = list(spec.get("files") or []) or ([p for c in cfgs for p in (f"{c}/*", f"{c}/**")] + ["README.md", "*.json"] if cfgs else None)
    _snapshot(key, spec, rev, dest, "dataset", patterns)
    return {"revision": rev, "configs": cfgs}


def _fetch_hub_parquet(key, spec, lock, dest, ctx):
    rev = pinned_revision(key, spec, lock)
    cfgs = _configs(key, spec, ctx) or ["default"]
    _snapshot(key, spec, rev, dest, "dataset", [f"{c}/*/*.parquet" for c in cfgs])
    return {"revision": rev, "configs": cfgs, "ref": "refs/convert/parquet"}


def _fetch_hub_model(key, spec, lock, dest, ctx):
    rev = pinned_revision(key, spec, lock)
    # safetensors only: no pickled weights are fetched or loaded
    _snapshot(key, spec, rev, dest, "model", ["*.json", "*.safetensors", "sentencepiece.bpe.model", "*.txt"])
    if not list(dest.glob("*.safetensors")):
        raise SourceError(f"config key '{key}': {spec['id']}@{rev} has no safetensors weights")
    return {"revision": rev}


def _url_files(key, spec, ctx) -> list[str]:
    tmpl = spec["url"]
    if "{" not in tmpl:
        return [tmpl]
    splits = list((spec.get("splits") or {}).values()) or [""]
    return sorted({expand(tmpl, {**ctx["vars"][l], "split": s}, key) for l in ctx["languages"] for s in splits})


def _git_files(key, spec, ctx) -> list[str]:
    paths = []
    for f in spec.get("files") or []:
        paths += [expand(f, ctx["vars"][l], key) for l in ctx["languages"]] if "{" in f else [f]
    return sorted(set(paths))


def git_url(spec: dict, revision: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{spec['repo']}/{revision}/{path}"


def _fetch_url(key, spec, lock, dest, ctx):
    files = {}
    for url in _url_files(key, spec, ctx):
        sha = file_sha256(key, spec, url, lock)
        files[url] = fetch_url(url, dest / url.rsplit("/", 1)[-1], sha, key=key)
    return {"files": files}


def _fetch_git(key, spec, lock, dest, ctx):
    rev = pinned_revision(key, spec, lock)
    files = {}
    for path in _git_files(key, spec, ctx):
        url = git_url(spec, rev, path)
        sha = (spec.get("sha256") or {}).get(url) or lock["sha256"].get(url)  # the commit pins the content; sha256 adds a check
        files[path] = fetch_url(url, dest / path, sha, key=key)
    return {"revision": rev, "files": files}


def _fetch_user_dir(key, spec, lock, dest, ctx):
    src = check_user_dir(key, spec)
    files = {}
    for name in sorted(set((spec.get("splits") or {}).values()) | set(spec.get("files") or [])):
        shutil.copyfile(src / name, dest / name)
        files[name] = hashlib.sha256((dest / name).read_bytes()).hexdigest()
    return {"path": str(src), "files": files}


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("hub_dataset", _fetch_hub_dataset),
        Kind("hub_parquet", _fetch_hub_parquet),
        Kind("hub_model", _fetch_hub_model),
        Kind("url", _fetch_url, files=_url_files, revisioned=False),
        Kind("git_files", _fetch_git, files=_git_files),
        Kind("user_dir", _fetch_user_dir, revisioned=False),
    )
}


def check_user_dir(key: str, spec: dict) -> Path:
    """A user-supplied directory (CCG: CCGbank is LDC-licensed) must exist and hold its files."""
    path = spec.get("path") or ""
    need = sorted(set((spec.get("splits") or {}).values()) | set(spec.get("files") or []))
    what = f"the files {need} ({spec.get('note') or 'see README, The real study'})"
    if not path:
        raise SourceError(f"config key '{key}.path' is empty: set it to a directory holding {what}")
    p = Path(path).expanduser()
    missing = [n for n in need if not (p / n).is_file()]
    if not p.is_dir() or missing:
        raise SourceError(f"config key '{key}.path': {p} {'does not exist' if not p.is_dir() else f'lacks {missing}'}; it must hold {what}")
    return p


def context(config: dict, key: str) -> dict:
    """Languages a source's templates expand over, and their variables."""
    vars_ = language_vars(config["language_table"]) if config["source"] != "synthetic" else {}
    if key.startswith("targets."):
        langs = config["targets"][key.split(".")[1]]["languages"]
    elif key.startswith("retrieval.tatoeba"):
        langs = config["retrieval"]["tatoeba"]["languages"]
    elif key.startswith("retrieval.bucc"):
        langs = config["retrieval"]["bucc"]["languages"]
    elif key.startswith("morphology.flores"):
        langs = [*config["languages"], config["pivot"]]
    else:
        langs = []
    missing = [l for l in langs if l not in vars_]
    if missing:
        raise SourceError(f"config key '{key}': languages {missing} are not in {config['language_table']}")
    return {"languages": list(langs), "vars": vars_}


def preflight(config: dict, lock: dict) -> dict:
    """Every problem that would stop a download, found before any job runs: unknown kinds/formats, unpinned sources,
    a missing token, a missing user directory. Raises SourceError listing each problem with its config key."""
    problems, plan = [], {}

    def attempt(fn, *args):
        try:
            return fn(*args)
        except SourceError as e:
            problems.append(str(e))

    for key, spec in config_sources(config).items():
        kind = KINDS.get(spec["kind"])
        if kind is None:
            problems.append(f"config key '{key}.kind': unknown source kind {spec['kind']!r} (known: {sorted(KINDS)})")
            continue
        if spec.get("format") and spec["format"] not in FORMATS:
            problems.append(f"config key '{key}.format': unknown format {spec['format']!r} (known: {sorted(FORMATS)})")
        entry = {"kind": spec["kind"]}
        attempt(_token, key, spec)
        if kind.revisioned:
            entry["revision"] = attempt(pinned_revision, key, spec, lock)
        if spec["kind"] == "url":
            ctx = context(config, key)
            entry["sha256"] = {u: attempt(file_sha256, key, spec, u, lock) for u in _url_files(key, spec, ctx)}
        if spec["kind"] == "user_dir":
            entry["path"] = str(attempt(check_user_dir, key, spec))
        plan[key] = entry
    if problems:
        raise SourceError("the real-data sources are not ready:\n  " + "\n  ".join(problems))
    return plan


SLOT_TABLES = {"retrieval.tatoeba.hub": "tatoeba", "retrieval.bucc.hub": "bucc_sentences", "morphology.flores": "parallel",
               "morphology.wals": "wals_values"}


def _slot_table(config: dict, key: str) -> str | None:
    """The contract table a source at ``key`` must produce (a task's: its type)."""
    if key in SLOT_TABLES:
        return SLOT_TABLES[key]
    parts = key.split(".")
    if parts[0] in ("intermediate_tasks", "targets"):
        return config[parts[0]][parts[1]]["type"]
    return None


def check_config_sources(config: dict) -> dict[str, dict]:
    """Config-time checks of every source (no network, no environment): known kind and format, templates that
    expand over the languages, well-formed pins, every hub task with a source. Raises ConfigError naming the key;
    prints (does not raise) what the ``check_sources`` job will stop on (a missing pin, token or user path), so a
    dry run shows it. Returns the sources by config key."""
    from xstilts.config import ConfigError

    problems = []
    srcs = config_sources(config)
    for group in ("intermediate_tasks", "targets"):
        for name in config[group]:
            if not task_sources(config, group, name) and not (group == "targets" and config[group][name].get("train_on")):
                problems.append(f"config key '{group}.{name}.hub': no real source (set hub or sources)")
    for key, spec in srcs.items():
        if spec["kind"] not in KINDS:
            problems.append(f"config key '{key}.kind': unknown source kind {spec['kind']!r} (known: {sorted(KINDS)})")
            continue
        if spec.get("format") and spec["format"] not in FORMATS:
            problems.append(f"config key '{key}.format': unknown format {spec['format']!r} (known: {sorted(FORMATS)})")
        if not spec.get("format") and spec["kind"] != "hub_model":
            problems.append(f"config key '{key}.format': empty; name the converter (known: {sorted(FORMATS)})")
        fmt = FORMATS.get(spec.get("format") or "")
        want = _slot_table(config, key)
        if fmt is not None and want and fmt.table != want:
            problems.append(f"config key '{key}.format': {spec['format']!r} writes '{fmt.table}' tables, this source must give '{want}'")
        rev = spec.get("revision") or ""
        if KINDS[spec["kind"]].revisioned and not (SHA1.match(rev) or rev in ("", LOCKED)):
            problems.append(f"config key '{key}.revision': {rev!r} is neither a 40-hex commit SHA nor '{LOCKED}'")
        for url, sha in (spec.get("sha256") or {}).items():
            if not SHA256.match(sha):
                problems.append(f"config key '{key}.sha256': {sha!r} for {url} is not a 64-hex sha256")
        try:
            ctx = context(config, key)
            if KINDS[spec["kind"]].files is not None and (spec.get("url") or spec.get("files")):
                KINDS[spec["kind"]].files(key, spec, ctx)
            if "{" in (spec.get("config") or ""):
                _configs(key, spec, ctx)
        except SourceError as e:
            problems.append(str(e))
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    try:
        preflight(config, read_lock(config["sources_lock"]))
    except SourceError as e:
        import sys

        print(f"WARNING: the check_sources job will stop the run until this is fixed:\n{e}", file=sys.stderr)
    return srcs


def download(key: str, config: dict, lock_path: str | Path, dest: str | Path) -> dict:
    """Fetch one source into ``dest`` (atomic: the directory appears only complete) and write its manifest."""
    spec = config_sources(config)[key]
    lock = read_lock(lock_path)
    ctx = context(config, key)
    dest = Path(dest)
    with atomic_dir(dest) as tmp:
        manifest = KINDS[spec["kind"]].fetch(key, spec, lock, tmp, ctx)
        manifest.update(key=key, kind=spec["kind"], id=spec.get("id") or spec.get("repo") or spec.get("url") or spec.get("path"))
        atomic_write_json(manifest, tmp / "manifest.json")
    return manifest


# ============================================================================================================
# lock: resolve the current revision of every source (needs network)
# ============================================================================================================


class HubResolver:
    """Looks up current revisions on the Hugging Face hub and GitHub, and checksums of URLs."""

    def revision(self, spec: dict) -> str:
        kind = spec["kind"]
        if kind in ("hub_dataset", "hub_model"):
            from huggingface_hub import HfApi

            api = HfApi(token=os.environ.get(spec.get("token_env") or "HF_TOKEN"))
            info = api.model_info(spec["id"]) if kind == "hub_model" else api.dataset_info(spec["id"])
            return info.sha
        if kind == "hub_parquet":
            from huggingface_hub import HfApi

            refs = HfApi().list_repo_refs(spec["id"], repo_type="dataset")
            conv = [r for r in refs.converts if r.ref == "refs/convert/parquet"]
            if not conv:
                raise SourceError(f"{spec['id']} has no refs/convert/parquet")
            return conv[0].target_commit
        if kind == "git_files":
            url = f"https://api.github.com/repos/{spec['repo']}/commits/{spec.get('ref') or 'HEAD'}"
            with urllib.request.urlopen(url, timeout=60) as r:
                return json.loads(r.read())["sha"]
        raise SourceError(f"kind {kind} has no revision")

    def sha256(self, url: str, scratch: Path) -> str:
        return fetch_url(url, scratch / "download", None)


def lock(config: dict, lock_path: str | Path, resolver=None, update: bool = False) -> dict:
    """Resolve every source's revision (config SHAs are kept) and checksum, and write the lock file.

    An existing lock entry is kept unless ``update``; with ``update`` a changed upstream replaces it and is reported.
    Returns {"added": [...], "changed": [...]} for the caller to print."""
    import tempfile

    resolver = resolver or HubResolver()
    old = read_lock(lock_path)
    new = {"revisions": dict(old["revisions"]), "sha256": dict(old["sha256"])}
    report = {"added": [], "changed": []}

    def put(table: str, k: str, v: str, key: str):
        prev = new[table].get(k)
        if prev is None:
            report["added"].append(f"{key}: {k} = {v}")
        elif prev != v:
            if not update:
                return
            report["changed"].append(f"{key}: {k} {prev} -> {v}")
        new[table][k] = v

    with tempfile.TemporaryDirectory() as scratch:
        for key, spec in config_sources(config).items():
            kind = KINDS[spec["kind"]]
            rev = None
            if kind.revisioned:
                rev = spec.get("revision") if SHA1.match(spec.get("revision") or "") else None
                if rev is None and (update or repo_key(spec) not in new["revisions"]):
                    rev = resolver.revision(spec)
                if rev:
                    put("revisions", repo_key(spec), rev, key)
                rev = new["revisions"].get(repo_key(spec))
            if kind.files is not None and spec["kind"] == "url":
                for url in kind.files(key, spec, context(config, key)):
                    if (spec.get("sha256") or {}).get(url):
                        continue
                    if update or url not in new["sha256"]:
                        put("sha256", url, resolver.sha256(url, Path(scratch)), key)
            elif spec["kind"] == "git_files" and rev:
                for path in _git_files(key, spec, context(config, key)):
                    url = git_url(spec, rev, path)
                    if url not in new["sha256"]:
                        put("sha256", url, resolver.sha256(url, Path(scratch)), key)
    write_lock(new, lock_path)
    return report


def check_lock(config: dict, lock_path: str | Path, resolver=None) -> list[str]:
    """Compare the lock with the upstream's current revisions: each changed upstream, naming its source."""
    resolver = resolver or HubResolver()
    current = read_lock(lock_path)
    changed = []
    for key, spec in config_sources(config).items():
        if KINDS[spec["kind"]].revisioned:
            pinned = current["revisions"].get(repo_key(spec))
            now = resolver.revision(spec)
            if pinned and now != pinned:
                changed.append(f"source '{key}' ({repo_key(spec)}): locked {pinned}, upstream now {now}")
    return changed


# ============================================================================================================
# formats: fetched artefact -> canonical tables
# ============================================================================================================


_CACHES: list = []


def _fresh_cache() -> str:
    """A new datasets cache directory, removed when the process exits."""
    import atexit
    import tempfile

    if not _CACHES:
        _CACHES.append(tempfile.mkdtemp(prefix="xstilts-datasets-"))
        atexit.register(shutil.rmtree, _CACHES[0], True)
    return tempfile.mkdtemp(dir=_CACHES[0])


def load_split(raw: str | Path, spec: dict, config_name: str | None, split: str):
    """The fetched files through ``datasets.load_dataset`` (hub layout: the repo's README ``configs``; parquet
    conversion: ``<config>/<split>/*.parquet``). ``a+b`` concatenates hub splits."""
    import datasets

    parts = []
    for s in split.split("+"):
        cache = _fresh_cache()  # never a stale cache entry of an earlier download at the same path
        if spec["kind"] == "hub_parquet":
            files = sorted(str(p) for p in Path(raw, config_name or "default", s).glob("*.parquet"))
            if not files:
                raise SourceError(f"{raw}: no parquet files for config {config_name!r} split {s!r}")
            parts.append(datasets.load_dataset("parquet", data_files={s: files}, split=s, cache_dir=cache))
        else:
            parts.append(datasets.load_dataset(str(raw), config_name or None, split=s, cache_dir=cache))
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


def label_names(ds, column: str, label_map: dict, where: str) -> tuple[list, int]:
    """Label names of ``column``: through ``label_map`` (upstream value -> name), else the ClassLabel's names.
    Rows without a label (ClassLabel id -1, SNLI's no-consensus pairs) become None; returns (names, n_dropped)."""
    from datasets import ClassLabel

    feat = ds.features.get(column)
    values = ds[column]
    out, dropped = [], 0
    for v in values:
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
    from datasets import ClassLabel, Sequence

    feat = ds.features[column]
    inner = feat.feature if isinstance(feat, Sequence) else getattr(feat, "feature", None)
    rows = ds[column]
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


def fmt_pair(ds, src, where):
    """Sentence pair (or single sentence) classification: GLUE, SNLI, ANLI, XNLI, PAWS-X."""
    s1, s2, lab = _col(src, "sentence1", "premise"), _col(src, "sentence2", "hypothesis"), _col(src, "label", "label")
    names, dropped = label_names(ds, lab, src.get("label_map") or {}, where)
    df = pd.DataFrame({"sentence1": ds[s1], "sentence2": ds[s2] if s2 else [None] * len(ds), "label": names})
    if dropped:
        log.info("%s: dropped %d rows without a label (id -1)", where, dropped)
    return df[df["label"].notna()]


def fmt_hellaswag(ds, src, where):
    return pd.DataFrame({"context": ds["ctx"], "endings": [list(e) for e in ds["endings"]], "label": [int(v) for v in ds["label"]]})


def fmt_cosmosqa(ds, src, where):
    ctx = [f"{c} {q}" for c, q in zip(ds["context"], ds["question"])]
    endings = [list(t) for t in zip(ds["answer0"], ds["answer1"], ds["answer2"], ds["answer3"])]
    return pd.DataFrame({"context": ctx, "endings": endings, "label": [int(v) for v in ds["label"]]})


def fmt_commonsenseqa(ds, src, where):
    labels = []
    for i, (choices, key) in enumerate(zip(ds["choices"], ds["answerKey"])):
        if key not in choices["label"]:
            raise contracts.ContractError(f"{where}: row {i}: answerKey {key!r} not among {choices['label']}")
        labels.append(choices["label"].index(key))
    return pd.DataFrame({"context": ds["question"], "endings": [list(c["text"]) for c in ds["choices"]], "label": labels})


def fmt_squad(ds, src, where):
    """SQuAD / XQuAD / MLQA / TyDiQA-GoldP: every gold answer is kept (the metric takes the max over them)."""
    ans = ds["answers"]
    return pd.DataFrame({"id": ds["id"], "context": ds["context"], "question": ds["question"],
                         "answer_text": [list(a["text"]) for a in ans], "answer_start": [[int(s) for s in a["answer_start"]] for a in ans]})


def fmt_tagging(ds, src, where):
    return pd.DataFrame({"tokens": [list(t) for t in ds["tokens"]], "tags": _seq_names(ds, _col(src, "tags", "tags"), src.get("label_map") or {}, where)})


@dataclass(frozen=True)
class Format:
    table: str  # contracts table it writes
    convert: Callable | None  # (datasets.Dataset, source spec, where) -> DataFrame; None: a file format
    # how one test language is selected: None = the config template has {lang}; "column:<name>" or "id_prefix"
    language: str | None = None
    read: Callable | None = None  # file formats of a task: (raw dir, source spec, split name) -> DataFrame


FORMATS: dict[str, Format] = {
    "pair": Format("pair_classification", fmt_pair),
    "xnli": Format("pair_classification", fmt_pair, language="column:language"),
    "hellaswag": Format("multiple_choice", fmt_hellaswag),
    "cosmosqa": Format("multiple_choice", fmt_cosmosqa),
    "commonsenseqa": Format("multiple_choice", fmt_commonsenseqa),
    "squad": Format("span_qa", fmt_squad),
    "tydiqa": Format("span_qa", fmt_squad, language="id_prefix"),
    "tagging": Format("tagging", fmt_tagging),
    # file formats (converted by the functions below, not through load_dataset)
    "laser_tatoeba": Format("tatoeba", None, read=lambda raw, src, v: read_tatoeba_laser(raw, src, v)),
    "xtreme_tatoeba": Format("tatoeba", None, read=lambda raw, src, v: read_tatoeba_xtreme(raw, src, v)),
    "bucc_archive": Format("bucc_sentences", None),
    "wals_cldf": Format("wals_values", None),
    "flores_plus": Format("parallel", None),
    "ccg_jiant": Format("tagging", None, read=lambda raw, src, split: read_ccg(Path(raw) / split)),
}

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


def convert_task(sources: list[tuple[dict, str]], task: dict, outputs: dict[str, str], english: dict | None = None) -> dict[str, int]:
    """English train/validation of one task from one or several sources (ANLI+ = SNLI + MNLI + ANLI R1-R3),
    concatenated in config order. ``sources``: (source spec, raw directory); ``outputs``: split -> path;
    ``english``: the pivot's template variables (per-language configs such as ``PAN-X.{lang}``)."""
    english = english or {"lang": "en", "language_name": "English", "udpos_name": "English", "iso639_3": "eng"}
    counts = {}
    for split, path in outputs.items():
        frames, expected = [], 0
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


def _tydiqa_lang(id_: str) -> str | None:
    return TYDIQA_PREFIX.get(str(id_).split("-", 1)[0])


def convert_target_tests(src: dict, raw: str, task: dict, outputs: dict[str, str], table_path: str) -> dict[str, int]:
    """Per-language test files of a target (``outputs``: language -> path)."""
    fmt = FORMATS[src["format"]]
    vars_ = language_vars(table_path)
    split = (src.get("splits") or {}).get("test", "test")
    cache: dict = {}
    counts = {}
    for lang, path in outputs.items():
        cfg = (src.get("config") or "").format(**vars_[lang]) or None
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


def _lines(path: Path) -> list[str]:
    """One sentence a line; CRLF or LF; the final newline does not make an extra empty sentence."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l.rstrip("\r") for l in lines]


def read_tatoeba_laser(raw: str | Path, src: dict, v: dict) -> tuple[list[str], list[str]]:
    """LASER's ``data/tatoeba/v1/tatoeba.<code>-eng.{<code>,eng}``: line i of one file translates line i of the other."""
    raw, code = Path(raw), v["laser_xtreme_code"]
    base = next(iter(raw.rglob(f"tatoeba.{code}-eng.{code}")), None)
    if base is None:
        raise SourceError(f"{raw}: no tatoeba.{code}-eng.{code}")
    xx, en = _lines(base), _lines(base.with_name(f"tatoeba.{code}-eng.eng"))
    if len(xx) != len(en):
        raise contracts.ContractError(f"{base}: {len(xx)} lines but the English side has {len(en)}")
    return xx, en


def read_tatoeba_xtreme(raw: str | Path, src: dict, v: dict) -> tuple[list[str], list[str]]:
    """google/xtreme ``tatoeba.<iso3>`` (validation split); its trailing newlines are stripped by the contract."""
    ds = load_split(raw, src, expand(src.get("config") or "tatoeba.{iso639_3}", v, "retrieval.tatoeba.hub.config"),
                    (src.get("splits") or {}).get("test", "validation"))
    return list(ds["source_sentence"]), list(ds["target_sentence"])


def convert_tatoeba(src: dict, raw: str | Path, lang: str, out: str | Path, table_path: str | Path, pivot: str = "en") -> int:
    """One language's pairs -> ``tatoeba/<lang>.parquet``; the row count must equal the language table's
    ``tatoeba_pairs`` exactly."""
    v = language_vars(table_path)[lang]
    xx, en = FORMATS[src["format"]].read(raw, src, v)
    df = pd.DataFrame({"source_sentence": xx, "target_sentence": en, "source_lang": lang, "target_lang": pivot})
    expected = pd.read_csv(table_path, keep_default_na=False, dtype=str).set_index("iso639_1").loc[lang].get("tatoeba_pairs", "")
    contracts.write("tatoeba", df, out, expected_rows=int(expected) if expected else None, tolerance=0.0)
    return len(df)


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


def convert_flores(raw: str | Path, src: dict, langs: dict[str, str], out: str | Path) -> int:
    """FLORES+ devtest: one config per language (``<iso3>_<Script>``), column ``text``, aligned by ``id``."""
    split = (src.get("splits") or {}).get("test", "devtest")
    cols = {}
    for lang, code in langs.items():
        if not code:
            raise SourceError(f"language {lang}: no flores_code in the language table")
        ds = load_split(raw, src, code, split)
        df = pd.DataFrame({"id": ds["id"], "text": ds["text"]}).sort_values("id")
        cols[lang] = df["text"].tolist()
    n = {len(v) for v in cols.values()}
    if len(n) != 1:
        raise contracts.ContractError(f"{raw}: FLORES+ languages have different sentence counts {sorted(n)}")
    df = pd.DataFrame(cols)
    contracts.parallel_columns(df, list(langs), str(out))
    atomic_write_parquet(df, out)
    return len(df)


def read_ccg(path: str | Path) -> pd.DataFrame:
    """jiant's converted CCG: lines ``tokens<TAB>supertags``, each side space-separated, one tag per token."""
    tokens, tags = [], []
    for i, line in enumerate(_lines(Path(path))):
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


# ============================================================================================================
# command line: python -m xstilts.sources lock|check [--config config/config.yaml]
# ============================================================================================================


def _load_config(path: str) -> dict:
    from xstilts.config import load_and_check

    schema = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
    return load_and_check(yaml.safe_load(Path(path).read_text()), schema)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m xstilts.sources", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["lock", "check", "preflight"],
                    help="lock: resolve and write pins; check: report upstreams that changed since the lock; preflight: offline checks")
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--update", action="store_true", help="lock: replace entries whose upstream changed")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = _load_config(a.config)
    path = cfg["sources_lock"]
    if a.command == "lock":
        rep = lock(cfg, path, update=a.update)
        for line in rep["added"]:
            print("pinned  ", line)
        for line in rep["changed"]:
            print("CHANGED ", line)
        print(f"wrote {path}")
    elif a.command == "check":
        changed = check_lock(cfg, path)
        for line in changed:
            print("CHANGED", line)
        return 1 if changed else 0
    else:
        plan = preflight(cfg, read_lock(path))
        print(yaml.safe_dump(plan, sort_keys=True))
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except SourceError as e:
        raise SystemExit(f"error: {e}") from None
