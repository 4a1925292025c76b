"""Real data sources: pinned upstream artefacts, fetched exactly as the study reads them, converted to the canonical
tables of ``xstilts.contracts``.

A source is one upstream artefact named by the config key that defines it (``targets.xnli.hub``,
``intermediate_tasks.anli_plus.sources.0``, ``retrieval.tatoeba.hub``, ``morphology.wals``, ``model``...). Its config
entry carries ``kind`` (how it is pinned and fetched: :data:`KINDS`), ``format`` (how it becomes canonical tables:
:data:`FORMATS`) and its pin: a 40-hex ``revision`` or ``locked`` (taken from the lock file, which
``python -m xstilts.sources lock`` writes) and, for files, sha256 checksums. Adding a source is config metadata;
adding a kind or a format is one registry entry.

The parts:

* :mod:`~xstilts.sources.registry` -- which sources a config uses (config keys), where each lands (:func:`source_path`,
  the one place a key becomes a path), what each must supply (config × split :class:`Request`);
* :mod:`~xstilts.sources.layouts` -- how upstream repositories lay out a config × split (dataset cards, the parquet
  branch, FLORES+ ``dev|devtest/<code>.parquet``, the model's files);
* :mod:`~xstilts.sources.network` -- the one retry loop, URL downloads with checksums and mirrors, the remote APIs;
* :mod:`~xstilts.sources.fetchers` -- one fetcher per kind (hub, URL, git, user directory) that checks what it
  fetched, and :func:`download`;
* :mod:`~xstilts.sources.pins` / :mod:`~xstilts.sources.lock` -- the lock file; ``lock``, ``check``, ``verify``;
* :mod:`~xstilts.sources.jobs` -- the sources of a study as download jobs (:class:`SourcePlan`) and :func:`preflight`;
* :mod:`~xstilts.sources.readers` / :mod:`~xstilts.sources.convert` -- format readers and the conversions.

The stage runs in three steps (``workflow/rules/data.smk``): ``check_sources`` (every source pinned, gated sources
have their token, user-supplied directories exist; each failure names its config key) -> one download job per source,
the model's included, only after that check passed (fetch the pinned files, verify them, write a manifest; atomic)
-> offline conversions that read exactly the files the manifest lists. Before any GPU hour,
``python -m xstilts.sources verify`` checks with the hubs that every pinned source still holds every requested
config × split.
"""

from xstilts.sources.convert import (
    bucc_archive_name,
    convert_bucc,
    convert_bucc_archive,
    convert_flores,
    convert_flores_splits,
    convert_mlm_text,
    convert_target_tests,
    convert_task,
    convert_task_outputs,
    convert_tatoeba,
    convert_translated,
    convert_wals,
    flores_codes,
    flores_parallel,
    read_flores,
    read_squad_json,
    summarise_downloads,
)
from xstilts.sources.fetchers import KINDS, Kind, check_user_dir, download, hub_token
from xstilts.sources.jobs import SourcePlan, build_job, check_config_sources, preflight, write_preflight
from xstilts.sources.layouts import card_configs, match, patterns
from xstilts.sources.lock import check_lock, current_revision, format_rows, lock, verify
from xstilts.sources.network import Remote, fetch_first, fetch_url, git_url, retry
from xstilts.sources.pins import file_sha256, pinned_revision, read_lock, repo_key, write_lock
from xstilts.sources.readers import FORMATS, QA_MISALIGNED_TOLERANCE, Format, align_answers, label_names, load_split
from xstilts.sources.registry import (
    DOWNLOAD_SUMMARY,
    LOCKED,
    PREFLIGHT,
    ChecksumError,
    Missing,
    Request,
    SourceError,
    Unreachable,
    config_sources,
    context,
    expand,
    language_vars,
    requests,
    source_path,
    task_sources,
)

__all__ = [
    "DOWNLOAD_SUMMARY", "FORMATS", "KINDS", "LOCKED", "PREFLIGHT", "QA_MISALIGNED_TOLERANCE", "ChecksumError", "Format",
    "Kind", "Missing", "Remote", "Request", "SourceError", "SourcePlan", "Unreachable", "align_answers",
    "bucc_archive_name", "build_job", "card_configs", "check_config_sources", "check_lock", "check_user_dir",
    "config_sources", "context", "convert_bucc", "convert_bucc_archive", "convert_flores", "convert_flores_splits",
    "convert_mlm_text", "convert_target_tests", "convert_task", "convert_task_outputs", "convert_tatoeba", "convert_translated", "convert_wals",
    "current_revision", "download", "expand", "fetch_first", "fetch_url", "file_sha256", "flores_codes",
    "flores_parallel", "format_rows", "git_url", "hub_token", "label_names", "language_vars", "load_split", "lock",
    "match", "patterns", "pinned_revision", "preflight", "read_flores", "read_lock", "read_squad_json", "repo_key", "requests", "retry",
    "source_path", "summarise_downloads", "task_sources", "verify", "write_lock", "write_preflight",
]
