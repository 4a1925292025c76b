"""The network: one retry loop, URL downloads with checksums and mirrors, and :class:`Remote`, the hub / GitHub /
archive-host API that ``lock``, ``check`` and ``verify`` use (tests substitute a stub with the same methods).

Errors are sorted once (:func:`classify`): a transient one (timeout, reset connection, HTTP 429/5xx, truncated
body, no route) is retried with backoff; offline mode (``HF_HUB_OFFLINE``) and anything else are not. After the last
attempt a network failure becomes :class:`~xstilts.sources.registry.Unreachable`; a repository, revision or file
that the upstream reports absent becomes :class:`~xstilts.sources.registry.Missing`.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from xstilts.io import atomic_path
from xstilts.sources.registry import ChecksumError, Missing, SourceError, Unreachable

log = logging.getLogger(__name__)
T = TypeVar("T")

GITHUB_API = "https://api.github.com"
GITHUB_RAW = "https://raw.githubusercontent.com"
ATTEMPTS = 3
BACKOFF = 1.0  # seconds, times the attempt number


def offline() -> bool:
    """Offline mode, as huggingface_hub reads it (the conversion jobs set it)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _status(e: BaseException) -> int | None:
    if isinstance(e, urllib.error.HTTPError):
        return e.code
    response = getattr(e, "response", None)
    code = getattr(response, "status_code", None)
    return int(code) if isinstance(code, int) else None


def classify(e: BaseException) -> str | None:
    """``"offline"``, ``"transient"`` (worth another attempt) or None (a real answer: not found, forbidden, a bug)."""
    names = {c.__name__ for c in type(e).__mro__}
    if "OfflineModeIsEnabled" in names:
        return "offline"
    if isinstance(e, SourceError):
        return None
    status = _status(e)
    if status is not None:
        return "transient" if status == 429 or status >= 500 else None
    if names & {"TransportError", "Timeout", "ConnectionError", "LocalEntryNotFoundError"}:  # httpx(2), requests, hub
        return "transient"
    if isinstance(e, (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, socket.timeout)):
        return "transient"
    return None


def retry(fn: Callable[[], T], what: str, *, attempts: int = ATTEMPTS, backoff: float = BACKOFF) -> T:
    """The one retry loop: call ``fn`` until it succeeds, retrying transient errors; a network failure that outlasts
    the attempts (or offline mode) raises :class:`Unreachable` naming ``what``; other errors pass through."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 -- sorted by classify()
            kind = classify(e)
            if kind == "offline":
                raise Unreachable(f"{what}: offline mode is enabled (HF_HUB_OFFLINE)") from e
            if kind is None:
                raise
            if attempt == attempts:
                raise Unreachable(f"{what}: not reachable after {attempts} attempt(s): {type(e).__name__}: {e}") from e
            log.warning("%s: transient error (%s: %s); retry %d/%d", what, type(e).__name__, e, attempt, attempts - 1)
            time.sleep(backoff * attempt)
    raise AssertionError("unreachable")


# ============================================================================================================
# URLs
# ============================================================================================================


def _download_once(url: str, dest: Path, sha256: str | None, key: str, timeout: float) -> str:
    if offline():
        raise Unreachable(f"config key '{key}': {url}: offline mode is enabled (HF_HUB_OFFLINE)")
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


def fetch_url(url: str, dest: str | Path, sha256: str | None, *, key: str = "", retries: int = ATTEMPTS,
              backoff: float = BACKOFF, timeout: float = 60.0) -> str:
    """Download ``url`` to ``dest`` atomically; verify its length and sha256 (when given). Transient errors are
    retried; a checksum mismatch is not (it is an error naming the source); HTTP 4xx is :class:`Missing`.
    Returns the sha256."""
    try:
        return retry(lambda: _download_once(url, Path(dest), sha256, key, timeout), f"config key '{key}': {url}",
                     attempts=retries, backoff=backoff)
    except urllib.error.HTTPError as e:
        raise Missing(f"config key '{key}': {url}: HTTP {e.code} {e.reason}") from e


def fetch_first(urls: list[str], dest: str | Path, sha256: str | None, *, key: str = "", **kw) -> tuple[str, str]:
    """The first of ``urls`` (the original, then its mirrors) that serves the file; the sha256 pin applies to every
    one, so a mirror cannot change the data. Returns (sha256, the URL used)."""
    errors = []
    for url in urls:
        try:
            return fetch_url(url, dest, sha256, key=key, **kw), url
        except ChecksumError:
            raise
        except (Missing, Unreachable) as e:
            errors.append(str(e))
            if len(urls) > 1:
                log.warning("%s; trying the next mirror", e)
    if len(errors) == 1:
        raise Unreachable(errors[0]) if "not reachable" in errors[0] else Missing(errors[0])
    raise Unreachable(f"config key '{key}': no mirror served the file:\n  " + "\n  ".join(errors))


def git_url(repo: str, revision: str, path: str) -> str:
    return f"{GITHUB_RAW}/{repo}/{revision}/{path}"


# ============================================================================================================
# the remote APIs (lock, check, verify)
# ============================================================================================================


def hub_call(fn: Callable[[], T], what: str) -> T:
    """A hub API call: retried when transient; an answer that the repository, revision or file is absent (or gated)
    becomes :class:`Missing`."""
    try:
        return retry(fn, what)
    except Exception as e:
        names = {c.__name__ for c in type(e).__mro__}
        if "GatedRepoError" in names:
            raise Missing(f"{what}: gated repository: request access on the hub and export the token") from e
        for name, say in (("RevisionNotFoundError", "revision not found (moved or deleted)"),
                          ("RepositoryNotFoundError", "repository not found (moved, deleted or private)"),
                          ("EntryNotFoundError", "file not found")):
            if name in names:
                raise Missing(f"{what}: {say}") from e
        if _status(e) in (401, 403, 404):
            raise Missing(f"{what}: HTTP {_status(e)}") from e
        raise


class Remote:
    """The upstreams as ``lock``, ``check`` and ``verify`` see them. Every method names what it asked in its errors
    (:class:`Unreachable` or :class:`Missing`)."""

    def _api(self, token: str | None):
        from huggingface_hub import HfApi

        return HfApi(token=token)

    def hub_revision(self, repo_id: str, repo_type: str, token: str | None = None) -> str:
        """The current commit of the repository's main branch."""
        info = hub_call(lambda: self._api(token).repo_info(repo_id, repo_type=repo_type), f"{repo_type} {repo_id}")
        return info.sha

    def parquet_revision(self, repo_id: str, token: str | None = None) -> str:
        """The current commit of the dataset's ``refs/convert/parquet`` branch."""
        refs = hub_call(lambda: self._api(token).list_repo_refs(repo_id, repo_type="dataset"), f"dataset {repo_id} refs")
        conv = [r for r in refs.converts if r.ref == "refs/convert/parquet"]
        if not conv:
            raise Missing(f"dataset {repo_id}: no refs/convert/parquet branch")
        return conv[0].target_commit

    def hub_files(self, repo_id: str, repo_type: str, revision: str, token: str | None = None) -> dict[str, int]:
        """Every file of the repository at ``revision``: path -> size in bytes (the tree listing; no data download)."""
        from huggingface_hub.hf_api import RepoFile

        def listing():
            tree = self._api(token).list_repo_tree(repo_id, recursive=True, revision=revision, repo_type=repo_type)
            return {f.path: int(f.size or 0) for f in tree if isinstance(f, RepoFile)}

        return hub_call(listing, f"{repo_type} {repo_id}@{revision}")

    def hub_text(self, repo_id: str, repo_type: str, revision: str, path: str, token: str | None = None) -> str:
        """One small file (a dataset card) at ``revision``."""
        from huggingface_hub import hf_hub_download

        local = hub_call(lambda: hf_hub_download(repo_id, path, repo_type=repo_type, revision=revision, token=token),
                          f"{repo_type} {repo_id}@{revision}: {path}")
        return Path(local).read_text(encoding="utf-8")

    def git_revision(self, repo: str, ref: str) -> str:
        """The commit ``ref`` (a branch, tag or HEAD) of a GitHub repository points to."""
        url = f"{GITHUB_API}/repos/{repo}/commits/{ref}"

        def get():
            if offline():
                raise Unreachable(f"{url}: offline mode is enabled (HF_HUB_OFFLINE)")
            with urllib.request.urlopen(url, timeout=60) as r:
                return json.loads(r.read())["sha"]

        try:
            return retry(get, f"GitHub {repo}@{ref}")
        except urllib.error.HTTPError as e:
            raise Missing(f"GitHub {repo}@{ref}: HTTP {e.code} {e.reason}") from e

    def url_size(self, url: str) -> int:
        """The size a URL announces (HEAD; no download); :class:`Missing` when the host answers 4xx."""

        def head():
            if offline():
                raise Unreachable(f"{url}: offline mode is enabled (HF_HUB_OFFLINE)")
            req = urllib.request.Request(url, method="HEAD")
            with urllib.request.urlopen(req, timeout=60) as r:
                return int(r.headers.get("Content-Length") or -1)

        try:
            return retry(head, url)
        except urllib.error.HTTPError as e:
            raise Missing(f"{url}: HTTP {e.code} {e.reason}") from e

    def sha256(self, urls: list[str]) -> tuple[str, str]:
        """The sha256 of the first of ``urls`` that serves the file (downloaded to a scratch file), and that URL."""
        with tempfile.TemporaryDirectory() as scratch:
            return fetch_first(urls, Path(scratch) / "file", None)
