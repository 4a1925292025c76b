"""The lock file and the pins it holds (offline): a 40-hex ``revision`` in the config pins a source there; a
revision that reads ``locked`` is taken from the lock file (config key ``sources_lock``), which
``python -m xstilts.sources lock`` writes; file URLs (archives, git files) are pinned by sha256."""

from __future__ import annotations

from pathlib import Path

import yaml

from xstilts.io import atomic_path
from xstilts.sources.registry import LOCKED, SHA1, SHA256, SourceError


def empty_lock() -> dict:
    return {"revisions": {}, "sha256": {}}


def read_lock(path: str | Path) -> dict:
    p = Path(path)
    if not p.exists():
        return empty_lock()
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


def file_sha256(key: str, spec: dict, url: str, lock: dict, required: bool = True) -> str | None:
    """A file's sha256 pin (config, else lock). URL archives need one; git files at a pinned commit may lack it."""
    sha = (spec.get("sha256") or {}).get(url) or lock["sha256"].get(url)
    if not sha:
        if not required:
            return None
        raise SourceError(f"config key '{key}.sha256': no checksum for {url}; run `python -m xstilts.sources lock`")
    if not SHA256.match(sha):
        raise SourceError(f"config key '{key}.sha256': {sha!r} for {url} is not a 64-hex sha256")
    return sha
