"""The network commands: ``lock`` (resolve and write every pin), ``check`` (which upstreams moved since the lock)
and ``verify`` (at the pinned revisions, list the files each config × split will fetch, without downloading data).
Without network each stops at the first source it cannot reach, naming it in one line."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from xstilts.sources.fetchers import KINDS, describe
from xstilts.sources.jobs import SourcePlan, file_entries
from xstilts.sources.network import Remote
from xstilts.sources.pins import empty_lock, read_lock, repo_key, write_lock
from xstilts.sources.registry import SHA1, Missing, SourceError, Unreachable, config_sources, context

log = logging.getLogger(__name__)


def _optional_token(spec: dict) -> str | None:
    env = spec.get("token_env") or ""
    return os.environ.get(env) or None if env else None


def _named(key: str, spec: dict, e: SourceError) -> SourceError:
    """The same error, naming the source first."""
    return type(e)(f"source '{key}' ({repo_key(spec)}): {e}")


def current_revision(remote: Remote, key: str, spec: dict) -> str:
    """The upstream's current commit of a revisioned source."""
    kind = spec["kind"]
    try:
        if kind in ("hub_dataset", "hub_model"):
            return remote.hub_revision(spec["id"], "model" if kind == "hub_model" else "dataset", _optional_token(spec))
        if kind == "hub_parquet":
            return remote.parquet_revision(spec["id"], _optional_token(spec))
        if kind == "git_files":
            return remote.git_revision(spec["repo"], "HEAD")
    except SourceError as e:
        raise _named(key, spec, e) from e
    raise SourceError(f"source '{key}': kind {kind} has no revision")


def lock(config: dict, lock_path: str | Path, remote: Remote | None = None, update: bool = False) -> dict:
    """Resolve every source's revision (config SHAs are kept) and every file's checksum, and write the lock file.

    An existing lock entry is kept unless ``update``; with ``update`` a changed upstream replaces it and is reported.
    Returns {"added": [...], "changed": [...], "notes": [...]} for the caller to print."""
    remote = remote or Remote()
    old = read_lock(lock_path)
    new = {"revisions": dict(old["revisions"]), "sha256": dict(old["sha256"])}
    report: dict[str, list[str]] = {"added": [], "changed": [], "notes": []}

    def put(table: str, k: str, v: str, key: str):
        prev = new[table].get(k)
        if prev is None:
            report["added"].append(f"{key}: {k} = {v}")
        elif prev != v:
            if not update:
                return
            report["changed"].append(f"{key}: {k} {prev} -> {v}")
        new[table][k] = v

    def checksum(key: str, spec: dict, urls: list[str]) -> None:
        try:
            sha, used = remote.sha256(urls)
        except SourceError as e:
            raise _named(key, spec, e) from e
        put("sha256", urls[0], sha, key)
        if used != urls[0]:
            report["notes"].append(f"{key}: {urls[0]} checksum taken from the mirror {used} (the original did not serve it)")

    for key, spec in config_sources(config).items():
        rev = None
        if KINDS[spec["kind"]].revisioned:
            rev = spec.get("revision") if SHA1.match(spec.get("revision") or "") else None
            if rev is None and (update or repo_key(spec) not in new["revisions"]):
                rev = current_revision(remote, key, spec)
            if rev:
                put("revisions", repo_key(spec), rev, key)
            rev = new["revisions"].get(repo_key(spec))
        if spec["kind"] not in ("url", "git_files") or (spec["kind"] == "git_files" and not rev):
            continue
        for f in file_entries(key, spec, context(config, key), empty_lock(), rev):
            if (spec.get("sha256") or {}).get(f["urls"][0]):
                continue
            if f["urls"][0] not in new["sha256"] or (update and spec["kind"] == "url"):
                checksum(key, spec, f["urls"])
    write_lock(new, lock_path)
    return report


def check_lock(config: dict, lock_path: str | Path, remote: Remote | None = None) -> list[str]:
    """Compare the lock with the upstreams' current revisions: each changed upstream, naming its source."""
    remote = remote or Remote()
    current = read_lock(lock_path)
    changed = []
    for key, spec in config_sources(config).items():
        if KINDS[spec["kind"]].revisioned:
            pinned = current["revisions"].get(repo_key(spec))
            now = current_revision(remote, key, spec)
            if pinned and now != pinned:
                changed.append(f"source '{key}' ({repo_key(spec)}): locked {pinned}, upstream now {now}")
    return changed


def verify(config: dict, remote: Remote | None = None) -> tuple[list[dict], list[str]]:
    """For every source at its pinned revision: the files each config × split will fetch (hub tree listings, HEAD
    requests; no data download). Returns (rows, problems); a problem names its source and says what is missing,
    moved or empty. The first source that cannot be reached at all stops it (:class:`Unreachable`)."""
    remote = remote or Remote()
    plan = SourcePlan.from_config(config, warn=False)
    rows, problems, reached = [], [], False
    for key, job in plan.items():
        where = f"source '{key}' ({describe(job)})"
        if KINDS[job["kind"]].revisioned and not job["revision"]:
            problems.append(f"{where}: not pinned: " + "; ".join(job["problems"]))
            rows.append({"key": key, "at": describe(job), "config": "", "split": "", "files": [], "problem": "not pinned"})
            continue
        try:
            found = KINDS[job["kind"]].survey(job, remote)
            reached = reached or job["kind"] != "user_dir"
        except Unreachable as e:
            if not reached:
                raise Unreachable(f"{where}: {e}") from e
            found = [{"config": "", "split": "", "files": [], "problem": f"unreachable: {e}"}]
        except (Missing, SourceError) as e:
            reached = True
            found = [{"config": "", "split": "", "files": [], "problem": f"missing: {e}"}]
        for r in found:
            rows.append({"key": key, "at": describe(job), **r})
            if r["problem"]:
                parts = [where] + ([f"config {r['config']!r}"] if r["config"] else []) + ([r["split"]] if r["split"] else [])
                problems.append(f"{' '.join(parts)}: {r['problem']}")
    return rows, problems


def format_rows(rows: list[dict]) -> str:
    """The per-source table ``verify`` prints: source, repository@revision, config, split, files (count, first)."""
    head = ("source", "at", "config", "split", "files")
    lines = [(r["key"], r["at"], r["config"] or "-", r["split"] or "-",
              (f"{len(r['files'])}  {r['files'][0]}" if r["files"] else "0") if not r["problem"] else f"!! {r['problem']}")
             for r in rows]
    widths = [max(len(x[i]) for x in [head, *lines]) for i in range(4)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths) + "  {}"
    return "\n".join(fmt.format(*x) for x in [head, *lines])
