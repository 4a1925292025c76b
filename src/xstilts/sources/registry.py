"""Which sources a config uses, by config key; where each one lands; what each must supply (config × split).

A source is one pinned upstream artefact named by the config key that defines it (``targets.xnli.hub``,
``intermediate_tasks.anli_plus.sources.0``, ``retrieval.tatoeba.hub``, ``morphology.wals``, ``model``). Its
:class:`Request` list says which config × split of the upstream repository the study reads, so the download fetches
exactly those files and fails naming the one it could not find.
"""

from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from xstilts.config import parallel_in_study
from xstilts.languages import read_language_table
from xstilts.plan import LAYOUT

SHA1 = re.compile(r"^[0-9a-f]{40}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
LOCKED = "locked"
PREFLIGHT = LAYOUT.preflight  # written by check_sources; every download waits for it
DOWNLOAD_SUMMARY = LAYOUT.downloads
HUB_DATA_KINDS = ("hub_dataset", "hub_parquet")  # kinds whose files are chosen per config × split


class SourceError(RuntimeError):
    """A source cannot be used as configured; the message names the config key."""


class ChecksumError(SourceError):
    """A fetched file differs from its sha256 pin."""


class Unreachable(SourceError):
    """The network (hub, GitHub, an archive host) could not be reached."""


class Missing(SourceError):
    """The upstream answered, but the repository, revision or file is not there (moved, deleted, gated)."""


# ============================================================================================================
# config keys and paths
# ============================================================================================================


def source_path(key: str) -> str:
    """The one place a config key becomes a path: the base model lands where every model stage reads it, every
    other source under ``LAYOUT.raw``."""
    return LAYOUT.base_model if key == "model" else LAYOUT.path("raw_source", source=key)


def config_sources(config: dict) -> dict[str, dict]:
    """Every source the (hub) config uses, by config key, each with its kind filled in, in a fixed order (the
    model first)."""
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
                add(f"{group}.{name}.hub", task.get("hub") or {})
    add("retrieval.tatoeba.hub", config["retrieval"]["tatoeba"].get("hub") or {})
    add("retrieval.bucc.hub", config["retrieval"]["bucc"].get("hub") or {})
    if parallel_in_study(config):  # the morphology or the regression outcome (flores.*) is measured on FLORES+
        add("morphology.flores", config["morphology"].get("flores") or {})
    add("morphology.wals", config["morphology"].get("wals") or {})
    if config["mlm"]["conditions"]:  # the +mlm conditions' monolingual text
        add("mlm.hub", config["mlm"].get("hub") or {})
    for name, spec in config["translated"]["tasks"].items():  # the +translated conditions' MT training data
        add(f"translated.tasks.{name}.hub", spec.get("hub") or {})
    return out


def task_sources(config: dict, group: str, name: str) -> list[str]:
    """The source keys of one task (several for ANLI+)."""
    task = config[group][name]
    if task.get("sources"):
        return [f"{group}.{name}.sources.{i}" for i in range(len(task["sources"]))]
    hub = task.get("hub") or {}
    return [f"{group}.{name}.hub"] if hub.get("id") or hub.get("kind") else []


def repo_of(spec: dict) -> str:
    """The upstream identity in messages: hub id, GitHub repo, URL template or user path."""
    return spec.get("id") or spec.get("repo") or spec.get("url") or spec.get("path") or "?"


# ============================================================================================================
# language variables of templates
# ============================================================================================================


def language_vars(table_path: str | Path) -> dict[str, dict]:
    """iso639_1 -> template variables ({lang}, {iso639_3}, {laser_code}, {laser_xtreme_code}, {language_name},
    {flores_code}, {udpos_name}). ``laser_code`` names the LASER Tatoeba files of every XLM-R language that has one
    (74); ``laser_xtreme_code`` only XTREME's 36 (the same codes there)."""
    p = Path(table_path)
    return copy.deepcopy(_language_vars(str(p), p.stat().st_mtime_ns if p.exists() else 0))


@lru_cache(maxsize=8)
def _language_vars(table_path: str, mtime_ns: int) -> dict[str, dict]:
    t = read_language_table(table_path)  # checked against its contract (xstilts.languages)
    out = {}
    for r in t.to_dict("records"):
        out[r["iso639_1"]] = {"lang": r["iso639_1"], "iso639_3": r["iso639_3"], "laser_code": r.get("laser_code") or "",
                              "laser_xtreme_code": r.get("laser_xtreme_code") or "",
                              "language_name": r["name"], "flores_code": r.get("flores_code") or "",
                              "udpos_name": r.get("udpos_name") or r["name"]}
    return out


def expand(template: str, variables: dict, key: str) -> str:
    try:
        value = template.format(**variables)
    except KeyError as e:
        raise SourceError(f"config key '{key}': template {template!r} uses {e} which is not a language variable "
                          f"({sorted(variables)})") from None
    if "{" in template and not value.strip("._-/"):
        raise SourceError(f"config key '{key}': template {template!r} gives an empty name for language "
                          f"{variables.get('lang')!r} (fill its column in the language table)")
    return value


def languages_of(config: dict, key: str) -> list[str]:
    """The languages a source's templates expand over."""
    if key.startswith("targets."):
        return list(config["targets"][key.split(".")[1]]["languages"])
    if key.startswith("retrieval.tatoeba"):
        return list(config["retrieval"]["tatoeba"]["languages"])
    if key.startswith("retrieval.bucc"):
        return list(config["retrieval"]["bucc"]["languages"])
    if key.startswith("morphology.flores"):
        return [*config["languages"], config["pivot"]]
    if key.startswith("mlm."):
        return mlm_languages(config)
    if key.startswith("translated.tasks."):
        return translated_languages(config, key.split(".")[2])
    return []


def mlm_languages(config: dict) -> list[str]:
    """The MLM text languages (xstilts.plan.StudyPlan.mlm_languages)."""
    from xstilts.plan import StudyPlan

    return list(StudyPlan.from_config(config).mlm_languages)


def translated_languages(config: dict, task: str) -> list[str]:
    """The MT languages a '<task>+translated' condition reads (xstilts.plan.StudyPlan.translated_languages)."""
    from xstilts.plan import TRANSLATED_SUFFIX, StudyPlan

    return list(StudyPlan.from_config(config).translated_languages(task + TRANSLATED_SUFFIX))


def context(config: dict, key: str) -> dict:
    """Languages a source's templates expand over, and their variables."""
    vars_ = language_vars(config["language_table"]) if config["source"] != "synthetic" else {}
    langs = languages_of(config, key)
    missing = [l for l in langs if l not in vars_]
    if missing:
        raise SourceError(f"config key '{key}': languages {missing} are not in {config['language_table']}")
    return {"languages": langs, "vars": vars_, "pivot": config["pivot"]}


# ============================================================================================================
# what a source must supply: config × split requests
# ============================================================================================================


@dataclass(frozen=True)
class Request:
    """One config × split of an upstream dataset the study reads (``config`` None: the repository's only or
    default config); ``purpose`` says what for (``train``, ``test de``...)."""

    config: str | None
    split: str
    purpose: str

    def as_dict(self) -> dict:
        return asdict(self)


def _split_names(value: str) -> list[str]:
    """``a+b`` concatenates upstream splits."""
    return [s for s in value.split("+") if s]


def requests(config: dict, key: str, spec: dict, ctx: dict) -> list[Request]:
    """The config × split pairs a hub data source must supply for the slot it fills (an intermediate task: the
    English config's train/validation; a target: English train/validation when it trains on its own data, and each
    language's test; Tatoeba/FLORES+: each language's configured splits). File kinds return none (their files are
    listed in the config)."""
    if spec["kind"] not in HUB_DATA_KINDS:
        return []
    splits = spec.get("splits") or {}
    cfg = spec.get("config") or None
    vars_ = ctx["vars"]

    def name(lang: str | None) -> str | None:
        if cfg is None or "{" not in cfg:
            return cfg
        return expand(cfg, vars_[lang] if lang else vars_[ctx["pivot"]], f"{key}.config")

    out: list[Request] = []
    parts = key.split(".")
    if parts[0] in ("intermediate_tasks", "targets"):
        task = config[parts[0]][parts[1]]
        if parts[0] == "intermediate_tasks" or not task.get("train_on"):
            for canonical in ("train", "validation"):
                for s in _split_names(splits.get(canonical) or ""):
                    out.append(Request(name(None), s, canonical))
        if parts[0] == "targets":
            for lang in ctx["languages"]:
                for s in _split_names(splits.get("test") or "test"):
                    out.append(Request(name(lang), s, f"test {lang}"))
    else:  # per-language sources: Tatoeba (google/xtreme tatoeba.<iso3>), FLORES+
        for lang in ctx["languages"]:
            for canonical, value in (splits or {"test": "validation"}).items():
                for s in _split_names(value):
                    out.append(Request(name(lang), s, f"{canonical} {lang}"))
    seen, unique = set(), []
    for r in out:  # XNLI: one config serves every language
        if (r.config, r.split) not in seen:
            seen.add((r.config, r.split))
            unique.append(r)
    return unique
