"""Configuration: schema validation with defaults, and the semantic checks a schema cannot express.

Errors name the offending key (``retrieval.bucc.k``) or language and are raised before any job starts.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, validators

from xstilts.languages import LanguageTableError, read_language_table
from xstilts.outcomes import split_outcome
from xstilts.qa_metrics import MLQA_ARTICLES

RESERVED_CONDITIONS = ("base", "multitask")
SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
SHA = re.compile(r"^[0-9a-f]{40}$")


class ConfigError(ValueError):
    pass


def _with_defaults(cls):
    validate_props = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "default" in sub and prop not in instance:
                    instance[prop] = _copy(sub["default"])
        yield from validate_props(validator, properties, instance, schema)

    return validators.extend(cls, {"properties": set_defaults})


def _copy(v):
    import copy

    return copy.deepcopy(v)


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Fill defaults and validate in place; raise ConfigError listing every problem with its key."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = _with_defaults(Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for e in errors:
            msg = e.message
            if e.validator == "additionalProperties":
                msg = f"unknown key(s): {msg.split('(')[-1].rstrip(')')}"
            lines.append(f"config key '{_key(e.absolute_path)}': {msg}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))
    return config


@functools.cache
def _schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


def schema_defaults(section: str) -> dict:
    """The defaults of one object of the schema: a ``$defs`` entry (``task``, ``hparams``) or a dotted config key
    (``synthetic.pretrain``). The single source of default values, for library calls made outside the workflow
    (tests, benches) with partial settings."""
    schema = _schema()
    if section in schema["$defs"]:
        node = schema["$defs"][section]
    else:
        node = schema
        for key in section.split("."):
            node = node["properties"][key]
    return {k: _copy(v["default"]) for k, v in node["properties"].items() if "default" in v}


def with_task_defaults(spec: dict) -> dict:
    """A task spec completed with the schema's task defaults (a validated config's specs are complete already)."""
    return {**schema_defaults("task"), **spec}


def _language_table(config: dict):
    table = Path(config["language_table"])
    if not table.exists():
        raise ConfigError(f"config key 'language_table': file {table} not found")
    try:
        return read_language_table(table)
    except LanguageTableError as e:
        raise ConfigError(f"config key 'language_table': {e}") from None


def known_languages(config: dict) -> set[str]:
    """Codes the run knows: the synthetic languages (+ pivot), or the rows of the language table."""
    if config["source"] == "synthetic":
        return {l["code"] for l in config["synthetic"]["languages"]} | {config["pivot"]}
    return set(_language_table(config)["iso639_1"])


def outcome_corpus(config: dict) -> str:
    """The corpus whose alignment measure the regression analyses (``regression.outcome``, xstilts.outcomes)."""
    return split_outcome(config["regression"]["outcome"])[0]


def parallel_in_study(config: dict) -> bool:
    """Whether the study has the multi-parallel corpus (``parallel.parquet``) and so FLORES+ retrieval and alignment: the
    synthetic world always writes it (it plays FLORES+); a real study converts FLORES+ devtest when the morphology is
    measured on it or the regression outcome is a ``flores.*`` measure."""
    if config["source"] == "synthetic":
        return True
    return config["morphology"]["corpus"] == "parallel" or outcome_corpus(config) == "flores"


def outcome_problems(config: dict) -> list[str]:
    """Every study language must have data of the regression outcome's corpus (else it has no outcome): Tatoeba
    pairs (``retrieval.tatoeba.languages``), or, for a ``flores.*`` outcome, a FLORES+ code in the language table
    (the synthetic world's multi-parallel set holds every synthetic language) and a FLORES+ source."""
    outcome = config["regression"]["outcome"]
    corpus = outcome_corpus(config)
    langs = list(config["languages"])
    if corpus == "tatoeba":
        missing = sorted(set(langs) - set(config["retrieval"]["tatoeba"]["languages"]))
        return [f"config key 'languages': {missing} have no Tatoeba data (retrieval.tatoeba.languages), so no value of "
                f"regression.outcome '{outcome}'"] if missing else []
    if config["source"] == "synthetic":
        return []
    problems = []
    flores = config["morphology"].get("flores") or {}
    if not (flores.get("id") or flores.get("path") or flores.get("files") or flores.get("kind") == "user_dir"):
        problems.append(f"config key 'morphology.flores': regression.outcome '{outcome}' is measured on FLORES+ devtest, "
                        "but no FLORES+ source is set (or choose a tatoeba.* outcome)")
    table = _language_table(config).set_index("iso639_1")
    missing = sorted(l for l in langs if l in table.index and not str(table.loc[l, "flores_code"] or "").strip())
    if missing:
        problems.append(f"config key 'languages': {missing} have no FLORES+ code (flores_code in {config['language_table']}), "
                        f"so no value of regression.outcome '{outcome}'")
    return problems


def semantic_problems(config: dict) -> list[str]:
    """Checks across keys (language codes, task references, reserved names, sizes): one line per problem, naming
    the key. The layer settings are checked where they are resolved (``xstilts.plan.resolve_layers``)."""
    problems = []
    known = known_languages(config)

    def check_langs(key: str, langs):
        for l in langs:
            if l not in known:
                problems.append(f"config key '{key}': unknown language '{l}' (not in {'synthetic.languages' if config['source'] == 'synthetic' else config['language_table']})")

    check_langs("languages", config["languages"])
    check_langs("retrieval.tatoeba.languages", config["retrieval"]["tatoeba"]["languages"])
    check_langs("retrieval.bucc.languages", config["retrieval"]["bucc"]["languages"])
    for t, spec in config["targets"].items():
        check_langs(f"targets.{t}.languages", spec["languages"])
        if spec["train_on"] is not None and spec["train_on"] not in config["intermediate_tasks"]:
            problems.append(f"config key 'targets.{t}.train_on': '{spec['train_on']}' is not an intermediate task")
    for name in config["intermediate_tasks"]:
        if name in RESERVED_CONDITIONS:
            problems.append(f"config key 'intermediate_tasks.{name}': '{name}' is a reserved condition name")
    for t in config["multitask"]["tasks"]:
        if t not in config["intermediate_tasks"]:
            problems.append(f"config key 'multitask.tasks': '{t}' is not an intermediate task")
    if config["multitask"]["enabled"] and not config["multitask"]["tasks"]:
        problems.append("config key 'multitask.tasks': list the multi-task model's member tasks explicitly "
                        f"(e.g. {list(config['intermediate_tasks'])}), or set multitask.enabled: false")
    if len(set(config["multitask"]["tasks"])) != len(config["multitask"]["tasks"]):
        problems.append("config key 'multitask.tasks': a task is listed twice")
    for group in ("intermediate_tasks", "targets"):
        for t, spec in config[group].items():
            if spec["type"] == "span_qa" and 2 * spec["doc_stride"] >= spec["max_seq_length"]:
                problems.append(f"config key '{group}.{t}.doc_stride': {spec['doc_stride']} must be below half of max_seq_length ({spec['max_seq_length']})")
            if spec["type"] == "pair_classification" and not spec["labels"]:
                problems.append(f"config key '{group}.{t}.labels': a {spec['type']} task needs its label list")
            if spec["type"] == "tagging" and not (spec["labels"] or spec["labels_file"]):
                problems.append(f"config key '{group}.{t}.labels': a tagging task needs its fixed label set (labels or labels_file), "
                                "it is never taken from the training data")
            if spec["type"] == "span_qa" and spec["qa_metric"] == "mlqa":
                for lang in spec["languages"]:
                    if lang not in MLQA_ARTICLES:
                        problems.append(f"config key '{group}.{t}.languages': qa_metric mlqa has no normalisation for '{lang}' "
                                        f"(MLQA languages: {sorted(MLQA_ARTICLES)})")
    problems += alternatives_problems(config, check_langs)
    problems += outcome_problems(config)
    reg = config["regression"]
    if len(set(reg["outcomes"])) != len(reg["outcomes"]):
        problems.append("config key 'regression.outcomes': an outcome is listed twice")
    if config["source"] == "synthetic":
        codes = [l["code"] for l in config["synthetic"]["languages"]]
        if len(codes) != len(set(codes)):
            problems.append("config key 'synthetic.languages': duplicate language codes")
        if len(codes) < 2:
            problems.append("config key 'synthetic.languages': at least two synthetic languages are needed")
    return problems


def alternatives_problems(config: dict, check_langs) -> list[str]:
    """The paper's alternatives (``mlm``, ``translated``): every condition names a task that exists, MLM has text
    languages and a mixing share where its rule needs one. Unknown language codes go to ``check_langs``."""
    problems = []
    inter, mlm, tr = config["intermediate_tasks"], config["mlm"], config["translated"]
    for t in mlm["conditions"]:
        if t == "multitask":
            if not config["multitask"]["enabled"]:
                problems.append("config key 'mlm.conditions': 'multitask' is listed but multitask.enabled is false")
        elif t not in inter:
            problems.append(f"config key 'mlm.conditions': '{t}' is not an intermediate task (or multitask)")
    if len(set(mlm["conditions"])) != len(mlm["conditions"]):
        problems.append("config key 'mlm.conditions': a task is listed twice")
    if isinstance(mlm["languages"], str) and mlm["languages"] != "study":
        problems.append(f"config key 'mlm.languages': {mlm['languages']!r} is neither 'study' nor a list of codes")
    elif isinstance(mlm["languages"], list):
        if mlm["conditions"] and not mlm["languages"]:
            problems.append("config key 'mlm.languages': empty; list the MLM text languages or use 'study'")
        check_langs("mlm.languages", mlm["languages"])
    if mlm["conditions"] and config["source"] != "synthetic" and not (mlm["hub"].get("id") or mlm["hub"].get("url")):
        problems.append("config key 'mlm.hub': the +mlm conditions need a pinned source of monolingual text")
    for t, spec in tr["tasks"].items():
        if t not in inter:
            problems.append(f"config key 'translated.tasks.{t}': '{t}' is not an intermediate task")
        check_langs(f"translated.tasks.{t}.languages", spec["languages"])
        if config["source"] != "synthetic":
            if not spec["languages"]:
                problems.append(f"config key 'translated.tasks.{t}.languages': list the languages its MT source has")
            if not (spec["hub"].get("id") or spec["hub"].get("url")):
                problems.append(f"config key 'translated.tasks.{t}.hub': a +translated condition needs a pinned MT source")
    if isinstance(tr["languages"], str) and tr["languages"] not in ("all", "low_resource"):
        problems.append(f"config key 'translated.languages': {tr['languages']!r} is not 'all', 'low_resource' or a list")
    elif isinstance(tr["languages"], list):
        check_langs("translated.languages", tr["languages"])
    return problems


def raise_problems(problems: list[str]) -> None:
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))


def require_pinned(revision: str, key: str) -> str:
    """A hub artefact must be pinned to a commit SHA before anything is downloaded."""
    if not SHA.match(revision or ""):
        raise ConfigError(f"config key '{key}': revision {revision!r} is not a 40-hex commit SHA; pin the hub artefact before downloading")
    return revision


def load_and_check(config: dict, schema_path: str | Path = SCHEMA) -> dict:
    """Schema defaults and validation, then the cross-key checks; the layers are checked by
    :func:`xstilts.plan.load_plan`, the one entry the workflow uses."""
    validate_config(config, schema_path)
    raise_problems(semantic_problems(config))
    return config
