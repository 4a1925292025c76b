"""Fetchers, one per source kind: the hub (datasets, their parquet branch, the model), URL archives, files of a
GitHub repository at a commit, a user-supplied directory. Each fetches a job's files into a directory, then checks
what it fetched (every requested config × split has a data file; the model has weights, tokenizer and config; every
file matches its pin) and returns the manifest the conversions read. Each also *surveys* its upstream without
downloading data (``python -m xstilts.sources verify``)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xstilts.io import atomic_dir, atomic_write_json
from xstilts.sources import layouts
from xstilts.sources.network import Remote, fetch_first, hub_call
from xstilts.sources.registry import Missing, Request, SourceError, repo_of

log = logging.getLogger(__name__)

DATA_BUILDERS = {".parquet": "parquet", ".arrow": "arrow", ".csv": "csv", ".json": "json", ".jsonl": "json"}


def _revision(job: dict) -> str:
    if not job.get("revision"):
        problems = "; ".join(job.get("problems") or []) or "no pinned revision"
        raise SourceError(f"config key '{job['key']}': not pinned, nothing fetched: {problems}")
    return job["revision"]


def hub_token(key: str, spec: dict) -> str | None:
    """The access token of a gated source (from the environment variable its ``token_env`` names)."""
    env = spec.get("token_env") or ""
    if not env:
        return None
    tok = os.environ.get(env)
    if not tok:
        raise SourceError(
            f"config key '{key}': {spec.get('id')} is gated and needs a Hugging Face token in the environment variable {env}. "
            f"Request access on https://huggingface.co/datasets/{spec.get('id')} , create a read token at "
            f"https://huggingface.co/settings/tokens and `export {env}=...`; or set `morphology.corpus: tatoeba` and a "
            "tatoeba.* `regression.outcome` to measure morphology and alignment on the Tatoeba sentences instead")
    return tok


def local_files(root: Path) -> list[str]:
    """Repository-relative paths of a snapshot (without huggingface_hub's ``.cache`` bookkeeping)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and ".cache" not in p.relative_to(root).parts and p.name != "manifest.json")


def data_files(paths: list[str]) -> list[str]:
    return [p for p in paths if Path(p).suffix in DATA_BUILDERS]


def _snapshot(job: dict, revision: str, dest: Path, patterns: list[str], token: str | None) -> None:
    import huggingface_hub

    spec = job["spec"]
    repo_type = "model" if spec["kind"] == "hub_model" else "dataset"
    hub_call(lambda: huggingface_hub.snapshot_download(spec["id"], repo_type=repo_type, revision=revision, local_dir=str(dest),
                                                       allow_patterns=patterns, token=token),
             f"config key '{job['key']}': {spec['id']}@{revision}")


def _listing_sample(paths: list[str], n: int = 8) -> str:
    return f"{len(paths)} file(s): {', '.join(paths[:n])}{' ...' if len(paths) > n else ''}"


# ------------------------------------------------------------------------------------------------ hub datasets


def _card(job: dict, revision: str, dest: Path, token: str | None, where: str) -> dict | None:
    """The dataset card's configs, when the card sets the layout (fetched alone first: it names the files)."""
    if not layouts.needs_card(job["spec"]):
        return None
    _snapshot(job, revision, dest, [layouts.README], token)
    readme = dest / layouts.README
    if not readme.is_file():
        raise SourceError(f"{where}: the repository has no {layouts.README} (dataset card) to name its configs' files; set "
                          "the source's `data_files`")
    return layouts.card_configs(readme.read_text(encoding="utf-8"), where)


def request_patterns(job: dict, configs: dict | None, where: str) -> list[tuple[Request, list[str]]]:
    return [(r, layouts.patterns(job["spec"], r, configs, where)) for r in (Request(**d) for d in job["requests"])]


def _fetch_hub_data(job: dict, dest: Path) -> dict:
    spec, key = job["spec"], job["key"]
    rev = _revision(job)
    token = hub_token(key, spec)
    where = f"config key '{key}': {spec['id']}@{rev}"
    if not job["requests"]:
        raise SourceError(f"{where}: the source supplies no config × split (check its `splits`)")
    configs = _card(job, rev, dest, token, where)
    wanted = request_patterns(job, configs, where)
    allow = sorted({p for _, ps in wanted for p in ps} | ({layouts.README} if spec["kind"] == "hub_dataset" else set()))
    _snapshot(job, rev, dest, allow, token)
    local = local_files(dest)
    requests, missing = [], []
    for r, ps in wanted:
        files = data_files(layouts.match(local, ps))
        if not files:
            missing.append(f"config {r.config!r} split {r.split!r} ({r.purpose}): no data file matches {ps}")
        requests.append({**r.as_dict(), "patterns": ps, "files": files})
    if missing:
        raise SourceError(f"{where}: the download holds no data for\n  " + "\n  ".join(missing)
                          + f"\n(allow_patterns {allow}; the snapshot holds {_listing_sample(local)})")
    return {"revision": rev, "allow_patterns": allow, "requests": requests}


def _survey_hub_data(job: dict, remote: Remote) -> list[dict]:
    spec, key = job["spec"], job["key"]
    rev = _revision(job)
    token = hub_token(key, spec)
    where = f"{spec['id']}@{rev}"
    listing = remote.hub_files(spec["id"], "dataset", rev, token)
    configs = None
    if layouts.needs_card(spec):
        if layouts.README not in listing:
            raise Missing(f"{where}: no {layouts.README} (dataset card)")
        configs = layouts.card_configs(remote.hub_text(spec["id"], "dataset", rev, layouts.README, token), where)
    rows = []
    for r, ps in request_patterns(job, configs, where):
        files = data_files(layouts.match(listing, ps))
        problem = None if files else f"missing: no file matches {ps}"
        if files and any(listing[f] == 0 for f in files):
            problem = f"empty: {[f for f in files if listing[f] == 0]}"
        rows.append({"config": r.config or "", "split": r.split, "files": files, "problem": problem})
    return rows


# ------------------------------------------------------------------------------------------------ the model


def _fetch_hub_model(job: dict, dest: Path) -> dict:
    spec = job["spec"]
    rev = _revision(job)
    allow = layouts.model_patterns()
    _snapshot(job, rev, dest, allow, hub_token(job["key"], spec))
    local = local_files(dest)
    missing = layouts.model_missing(local)
    if missing:
        raise SourceError(f"config key '{job['key']}': {spec['id']}@{rev}: the download lacks {', '.join(missing)} "
                          f"(allow_patterns {allow}; fetched {_listing_sample(local)})")
    return {"revision": rev, "allow_patterns": allow, "files": local}


def _survey_hub_model(job: dict, remote: Remote) -> list[dict]:
    spec = job["spec"]
    rev = _revision(job)
    listing = remote.hub_files(spec["id"], "model", rev, hub_token(job["key"], spec))
    files = layouts.match(listing, layouts.model_patterns())
    missing = layouts.model_missing(list(listing))
    empty = [f for f in files if listing[f] == 0]
    problem = f"missing: {', '.join(missing)}" if missing else (f"empty: {empty}" if empty else None)
    return [{"config": "", "split": "weights+tokenizer", "files": files, "problem": problem}]


# ------------------------------------------------------------------------------------------------ files


def _fetch_files(job: dict, dest: Path) -> dict:
    """URL archives and git files: each to ``dest/<name>``, from its URL or (URL archives) a mirror, against its pin."""
    files = {}
    for f in job["files"]:
        if job["kind"] == "url" and not f.get("sha256"):
            raise SourceError(f"config key '{job['key']}.sha256': no checksum for {f['urls'][0]}; run "
                              "`python -m xstilts.sources lock`")
        digest, used = fetch_first(f["urls"], dest / f["name"], f.get("sha256"), key=job["key"])
        files[f["name"]] = {"sha256": digest, "url": used}
    return {"revision": job.get("revision"), "files": files}


def _survey_files(job: dict, remote: Remote) -> list[dict]:
    rows = []
    for f in job["files"]:
        problem, size, used = None, None, None
        errors = []
        for url in f["urls"]:
            try:
                size, used = remote.url_size(url), url
                break
            except Missing as e:
                errors.append(str(e))
        if used is None:
            problem = "missing: " + "; ".join(errors)
        elif size == 0:
            problem = f"empty: {used}"
        rows.append({"config": "", "split": f["name"], "files": [used] if used else [], "problem": problem})
    return rows


def check_user_dir(key: str, spec: dict) -> Path:
    """A user-supplied directory (CCG: CCGbank is LDC-licensed) must exist and hold its files."""
    path = spec.get("path") or ""
    need = user_files(spec)
    what = f"the files {need} ({spec.get('note') or 'see README, The real study'})"
    if not path:
        raise SourceError(f"config key '{key}.path' is empty: set it to a directory holding {what}")
    p = Path(path).expanduser()
    missing = [n for n in need if not (p / n).is_file()]
    if not p.is_dir() or missing:
        raise SourceError(f"config key '{key}.path': {p} {'does not exist' if not p.is_dir() else f'lacks {missing}'}; it must hold {what}")
    return p


def user_files(spec: dict) -> list[str]:
    return sorted(set((spec.get("splits") or {}).values()) | set(spec.get("files") or []))


def _fetch_user_dir(job: dict, dest: Path) -> dict:
    src = check_user_dir(job["key"], job["spec"])
    files = {}
    for name in user_files(job["spec"]):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / name, dest / name)
        files[name] = hashlib.sha256((dest / name).read_bytes()).hexdigest()
    return {"path": str(src), "files": files}


def _survey_user_dir(job: dict, remote: Remote) -> list[dict]:
    try:
        p = check_user_dir(job["key"], job["spec"])
        return [{"config": "", "split": "local", "files": [str(p / n) for n in user_files(job["spec"])], "problem": None}]
    except SourceError as e:
        return [{"config": "", "split": "local", "files": [], "problem": f"missing: {e}"}]


# ------------------------------------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Kind:
    """How one kind of source is pinned (``revisioned``: by a commit), fetched and surveyed."""

    name: str
    fetch: Callable[[dict, Path], dict]  # (job, directory) -> manifest
    survey: Callable[[dict, Remote], list[dict]]  # (job, remote) -> rows {config, split, files, problem}
    revisioned: bool = True


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("hub_dataset", _fetch_hub_data, _survey_hub_data),
        Kind("hub_parquet", _fetch_hub_data, _survey_hub_data),
        Kind("hub_model", _fetch_hub_model, _survey_hub_model),
        Kind("url", _fetch_files, _survey_files, revisioned=False),
        Kind("git_files", _fetch_files, _survey_files),
        Kind("user_dir", _fetch_user_dir, _survey_user_dir, revisioned=False),
    )
}


def describe(job: dict) -> str:
    rev = job.get("revision")
    return f"{repo_of(job['spec'])}@{rev[:7]}" if rev else repo_of(job["spec"])


def download(job: dict, dest: str | Path) -> dict:
    """Fetch one source into ``dest`` (atomic: the directory appears only complete and checked) and write its
    manifest (what was fetched, at which pin, and which files hold each requested config × split)."""
    kind = KINDS[job["kind"]]
    with atomic_dir(dest) as tmp:
        manifest = kind.fetch(job, tmp)
        manifest.update(key=job["key"], kind=job["kind"], id=repo_of(job["spec"]))
        atomic_write_json(manifest, tmp / "manifest.json")
    log.info("%s: fetched %s into %s", job["key"], describe(job), dest)
    return manifest
