"""The sources of a study as jobs: built once from the config (and the lock file) before any job runs.

:class:`SourcePlan` maps each config key to its *job*: a JSON-able dict holding exactly what its download needs
(the source's spec, the pinned revision, the config × split requests, the files and their sha256 pins, where it
lands). The Snakemake rules pass these as params, so a changed pin reruns only that source's download, and the
adapters never read the config. :func:`preflight` (the ``check_sources`` job) finds every problem that would stop a
download, naming its config key, before anything is fetched.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping

from xstilts.sources.fetchers import KINDS, check_user_dir, hub_token
from xstilts.sources.network import git_url
from xstilts.sources.pins import file_sha256, pinned_revision, read_lock
from xstilts.sources.readers import FORMATS
from xstilts.sources.registry import (
    LOCKED,
    SHA1,
    SHA256,
    SourceError,
    config_sources,
    context,
    expand,
    requests,
    source_path,
    task_sources,
)

TASK_GROUPS = ("intermediate_tasks", "targets")
SLOT_TABLES = {"retrieval.tatoeba.hub": "tatoeba", "retrieval.bucc.hub": "bucc_sentences", "morphology.flores": "parallel",
               "morphology.wals": "wals_values"}


def _expand_all(template: str, ctx: dict, key: str, extra: list[dict] | None = None) -> list[tuple[str, dict]]:
    """``template`` for every language of the source (× each ``extra`` variable set); a plain string once."""
    if "{" not in template:
        return [(template, {})]
    out = []
    for lang in ctx["languages"]:
        for more in extra or [{}]:
            v = {**ctx["vars"][lang], **more}
            out.append((expand(template, v, key), v))
    return out


def file_entries(key: str, spec: dict, ctx: dict, lock: dict, revision: str | None) -> list[dict]:
    """The files of a file-kind source: {name (path in the download), urls (original first, then mirrors), sha256}."""
    entries: dict[str, dict] = {}
    if spec["kind"] == "url":
        splits = [{"split": s} for s in (spec.get("splits") or {}).values()] or [{"split": ""}]
        for url, v in _expand_all(spec["url"], ctx, f"{key}.url", splits):
            mirrors = [expand(m, v, f"{key}.mirrors") if "{" in m else m for m in spec.get("mirrors") or []]
            name = url.rsplit("/", 1)[-1]
            entries[name] = {"name": name, "urls": [url, *mirrors], "sha256": file_sha256(key, spec, url, lock, required=False)}
    elif spec["kind"] == "git_files":
        for template in spec.get("files") or []:
            for path, _ in _expand_all(template, ctx, f"{key}.files"):
                url = git_url(spec["repo"], revision, path) if revision else None
                entries[path] = {"name": path, "urls": [url] if url else [],
                                 "sha256": file_sha256(key, spec, url, lock, required=False) if url else None}
    return [entries[n] for n in sorted(entries)]


def build_job(config: dict, key: str, spec: dict, lock: dict) -> dict:
    """One source's download job (see the module docstring); pin problems are recorded, not raised, so a dry run
    still shows the whole workflow and ``check_sources`` reports them."""
    problems, revision = [], None
    if KINDS[spec["kind"]].revisioned:
        try:
            revision = pinned_revision(key, spec, lock)
        except SourceError as e:
            problems.append(str(e))
    ctx = context(config, key)
    files = file_entries(key, spec, ctx, lock, revision)
    if spec["kind"] == "url":
        problems += [f"config key '{key}.sha256': no checksum for {f['urls'][0]}; run `python -m xstilts.sources lock`"
                     for f in files if not f["sha256"]]
    return {"key": key, "kind": spec["kind"], "spec": spec, "dest": source_path(key), "revision": revision,
            "problems": problems, "requests": [r.as_dict() for r in requests(config, key, spec, ctx)], "files": files}


def preflight(jobs: Mapping[str, dict]) -> dict:
    """Every problem that would stop a download, before any is started: unpinned sources, a missing checksum or
    token, a missing user directory. Raises SourceError listing each with its config key; returns the plan."""
    problems, plan = [], {}
    for key, job in jobs.items():
        problems += job["problems"]
        entry = {"kind": job["kind"], "revision": job["revision"], "requests": len(job["requests"]), "files": len(job["files"])}
        try:
            hub_token(key, job["spec"])
            if job["kind"] == "user_dir":
                entry["path"] = str(check_user_dir(key, job["spec"]))
        except SourceError as e:
            problems.append(str(e))
        plan[key] = entry
    if problems:
        raise SourceError("the real-data sources are not ready:\n  " + "\n  ".join(problems))
    return plan


def write_preflight(jobs: Mapping[str, dict], out) -> dict:
    """The ``check_sources`` job: :func:`preflight`, its plan written to ``out``."""
    from xstilts.io import atomic_write_json

    plan = preflight(jobs)
    atomic_write_json(plan, out)
    return plan


def slot_table(config: dict, key: str) -> str | None:
    """The contract table a source at ``key`` must produce (a task's: its type)."""
    if key in SLOT_TABLES:
        return SLOT_TABLES[key]
    parts = key.split(".")
    if parts[0] in TASK_GROUPS:
        return config[parts[0]][parts[1]]["type"]
    return None


def check_config_sources(config: dict) -> dict[str, dict]:
    """Config-time checks of every source (no network, no environment): known kind and format, templates that
    expand over the languages, well-formed pins, every hub task with a source. Raises ConfigError naming the key.
    Returns the sources by config key."""
    from xstilts.config import ConfigError

    problems = []
    srcs = config_sources(config)
    for group in TASK_GROUPS:
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
        want = slot_table(config, key)
        if fmt is not None and want and fmt.table != want:
            problems.append(f"config key '{key}.format': {spec['format']!r} writes '{fmt.table}' tables, this source must give '{want}'")
        rev = spec.get("revision") or ""
        if KINDS[spec["kind"]].revisioned and not (SHA1.match(rev) or rev in ("", LOCKED)):
            problems.append(f"config key '{key}.revision': {rev!r} is neither a 40-hex commit SHA nor '{LOCKED}'")
        for url, sha in (spec.get("sha256") or {}).items():
            if not SHA256.match(sha):
                problems.append(f"config key '{key}.sha256': {sha!r} for {url} is not a 64-hex sha256")
        if spec.get("mirrors") and spec["kind"] != "url":
            problems.append(f"config key '{key}.mirrors': only URL sources have mirrors")
        if spec.get("data_files") and spec["kind"] not in ("hub_dataset", "hub_parquet"):
            problems.append(f"config key '{key}.data_files': only hub datasets have a data_files layout")
        try:
            ctx = context(config, key)
            file_entries(key, spec, ctx, {"revisions": {}, "sha256": {}}, None)
            reqs = requests(config, key, spec, ctx)
            if spec.get("data_files"):
                for r in reqs:
                    spec["data_files"].format(config=r.config or "default", split=r.split)
        except SourceError as e:
            problems.append(str(e))
        except KeyError as e:
            problems.append(f"config key '{key}.data_files': may use only {{config}} and {{split}}, not {e}")
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return srcs


class SourcePlan(Mapping):
    """Config key -> download job, plus what the rules ask of the sources (paths, the sources of a task, the
    language table). Built once per workflow load (:meth:`from_config`)."""

    def __init__(self, jobs: dict[str, dict], tasks: dict[tuple[str, str], list[str]], language_table: str, lock_path: str):
        self.jobs, self.tasks, self.language_table, self.lock_path = jobs, tasks, language_table, lock_path

    @classmethod
    def from_config(cls, config: dict, warn: bool = True) -> SourcePlan:
        """Check the config's sources (ConfigError naming the key), read the lock, build every job; print (do not
        raise) what ``check_sources`` will stop on, so a dry run shows it."""
        srcs = check_config_sources(config)
        lock = read_lock(config["sources_lock"])
        jobs = {key: build_job(config, key, spec, lock) for key, spec in srcs.items()}
        tasks = {(g, n): task_sources(config, g, n) for g in TASK_GROUPS for n in config[g]}
        plan = cls(jobs, tasks, config["language_table"], config["sources_lock"])
        if warn:
            try:
                preflight(jobs)
            except SourceError as e:
                print(f"WARNING: the check_sources job will stop the run until this is fixed:\n{e}", file=sys.stderr)
        return plan

    def __getitem__(self, key: str) -> dict:
        return self.jobs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    def path(self, key: str) -> str:
        return source_path(key)

    def spec(self, key: str) -> dict:
        return self.jobs[key]["spec"]

    def task_keys(self, group: str, name: str) -> list[str]:
        return list(self.tasks[(group, name)])

    def task_specs(self, group: str, name: str) -> list[dict]:
        return [self.spec(k) for k in self.task_keys(group, name)]

    def task_paths(self, group: str, name: str) -> list[str]:
        return [self.path(k) for k in self.task_keys(group, name)]

    def expected_rows(self, key: str, name: str) -> int | None:
        v = (self.spec(key).get("rows") or {}).get(name)
        return int(v) if v is not None else None

