"""The study plan: one frozen, typed view of the validated configuration, built once before any job runs.

The rules never re-derive anything from the raw config dict. :class:`StudyPlan` resolves, in one place,

* the conditions and the language lists (study, Tatoeba, BUCC, per target, and their union);
* the hidden_states layers, against the model's layer count (a layer that is impossible or not stored is a
  :class:`~xstilts.config.ConfigError` naming ``retrieval.layer`` / ``retrieval.analysis_layers``);
* every task's spec, featurisation keys and hyperparameters;
* the file layout (:data:`LAYOUT`: every path template once);
* one settings mapping per stage holding exactly what that stage's jobs read, so a changed setting reruns only the
  jobs whose results depend on it (Snakemake's params trigger).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xstilts.config import ConfigError, bucc_mining_settings, conditions, embedding_settings, multitask_tasks

# ============================================================================================================
# file layout: every path template once (wildcards in braces)
# ============================================================================================================


@dataclass(frozen=True)
class Layout:
    """Where every artefact lives. Rules take their paths from here (or from ``rules.<name>.output``)."""

    data: str = "results/data"
    raw: str = "results/raw"
    # canonical data (xstilts.contracts), the same for the synthetic world and the real sources
    synthetic_languages: str = "results/data/languages.csv"
    mono: str = "results/data/mono/{lang}.parquet"
    parallel: str = "results/data/parallel.parquet"
    tatoeba: str = "results/data/tatoeba/{lang}.parquet"
    bucc: str = "results/data/bucc/{lang}.{split}.parquet"
    bucc_gold: str = "results/data/bucc/{lang}.{split}.gold.parquet"
    intermediate_split: str = "results/data/intermediate/{task}/{split}.parquet"
    target_split: str = "results/data/target/{target}/{split}.parquet"
    target_test: str = "results/data/target/{target}/test/{lang}.parquet"
    wals: str = "results/data/wals/{table}.csv"
    # models
    tokenizer: str = "results/pretrain/tokenizer"
    base_model: str = "results/models/base"
    features: str = "results/features/{group}/{name}/train.parquet"
    intermediate_model: str = "results/intermediate/{task}/model"
    intermediate_metrics: str = "results/intermediate/{task}/metrics.json"
    target_model: str = "results/target/{target}/{condition}/model"
    target_metrics: str = "results/target/{target}/{condition}/metrics.json"
    # scores and measures
    target_score: str = "results/scores/{target}/{condition}/{lang}.json"
    tatoeba_embeddings: str = "results/embeddings/tatoeba/{condition}/{lang}.npz"
    bucc_embeddings: str = "results/embeddings/bucc/{condition}/{lang}.{split}.npz"
    tatoeba_score: str = "results/retrieval/tatoeba/{condition}/{lang}.json"
    bucc_score: str = "results/retrieval/bucc/{condition}/{lang}.json"
    alignment: str = "results/alignment/{condition}/{lang}.parquet"
    morphology: str = "results/morphology/{lang}.json"
    regression_condition: str = "results/regression/{condition}.csv"

    def path(self, name: str, /, **wildcards: Any) -> str:
        """Template ``name`` with the given wildcards filled and the others left as ``{wildcard}``."""
        template = getattr(self, name)
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        unknown = set(wildcards) - fields
        if unknown:
            raise KeyError(f"path template {name} ({template}) has no wildcard(s) {sorted(unknown)}")
        return template.format(**{f: wildcards.get(f, "{" + f + "}") for f in fields})


LAYOUT = Layout()
WALS_TABLES = ("languages", "values", "parameters", "codes")
BUCC_SPLITS = ("sample", "training")  # BUCC 2018: sample = dev (threshold tuning), training = test
FEATURE_GROUPS = {"intermediate_tasks": "intermediate", "targets": "target"}
# the task keys featurisation reads (not languages, hub, hparams, notes: changing those re-tokenises nothing)
TASK_FEATURIZATION_KEYS = ("type", "labels", "labels_file", "max_seq_length", "doc_stride", "max_query_length", "max_answer_length",
                "qa_metric", "metric")
# task keys that are not part of a task's spec (where the data comes from, how it is trained)
NON_SPEC_KEYS = ("hparams", "hub", "sources")

# ============================================================================================================
# layers
# ============================================================================================================


@dataclass(frozen=True)
class Layers:
    """hidden_states indices: 0 = the embedding layer, ``n_model`` = the top transformer block."""

    n_model: int
    stored: tuple[int, ...]  # written by the Tatoeba embedding jobs, analysed per layer
    main: int  # Tatoeba, BUCC, the regression and the findings all use this one


def model_layer_count(config: Mapping) -> int:
    """Transformer blocks of the base model: the synthetic architecture's, or ``model.num_hidden_layers``."""
    if config["source"] == "synthetic":
        return int(config["synthetic"]["architecture"]["num_hidden_layers"])
    return int(config["model"]["num_hidden_layers"])


def _model_key(config: Mapping) -> str:
    return "synthetic.architecture.num_hidden_layers" if config["source"] == "synthetic" else "model.num_hidden_layers"


def resolve_layers(config: Mapping) -> Layers:
    """The one layer rule: every layer setting is a hidden_states index, negative values counting from the top of
    the model (``-1`` = the last block), exactly like ``hidden_states[i]`` in transformers."""
    n = model_layer_count(config)
    r = config["retrieval"]
    where = f"a model with {n} layers (hidden_states 0..{n}, {_model_key(config)})"

    def absolute(v: int, key: str) -> int:
        a = v if v >= 0 else n + 1 + v
        if not 0 <= a <= n:
            raise ConfigError(f"config key '{key}': layer {v} does not exist in {where}")
        return a

    if r["analysis_layers"] == "all":
        stored = tuple(range(n + 1))
    else:
        if not r["analysis_layers"]:
            raise ConfigError("config key 'retrieval.analysis_layers': list at least one layer (or 'all')")
        stored = tuple(sorted({absolute(v, "retrieval.analysis_layers") for v in r["analysis_layers"]}))
    main = absolute(r["layer"], "retrieval.layer")
    if main not in stored:
        raise ConfigError(f"config key 'retrieval.layer': layer {r['layer']} (hidden_states[{main}] of {where}) is not "
                          f"among the stored retrieval.analysis_layers {list(stored)}; add it there or choose a stored layer")
    return Layers(n, stored, main)


# ============================================================================================================
# the plan
# ============================================================================================================


def _settings(d: Mapping) -> dict:
    """A fresh plain dict (Snakemake pickles params into the job and compares them for its rerun trigger)."""
    return dict(d)


@dataclass(frozen=True)
class StudyPlan:
    """Everything the rules need, resolved once from the validated config (see the module docstring)."""

    config: Mapping = field(repr=False)
    synthetic: bool
    pivot: str
    conditions: tuple[str, ...]
    intermediate: tuple[str, ...]
    targets: tuple[str, ...]
    study_languages: tuple[str, ...]
    tatoeba_languages: tuple[str, ...]
    bucc_languages: tuple[str, ...]
    layers: Layers
    layout: Layout = LAYOUT

    @classmethod
    def from_config(cls, config: Mapping) -> StudyPlan:
        """``config`` must have passed :func:`xstilts.config.load_and_check` (schema defaults filled)."""
        return cls(
            config=config,
            synthetic=config["source"] == "synthetic",
            pivot=config["pivot"],
            conditions=tuple(conditions(config)),
            intermediate=tuple(config["intermediate_tasks"]),
            targets=tuple(config["targets"]),
            study_languages=tuple(config["languages"]),
            tatoeba_languages=tuple(config["retrieval"]["tatoeba"]["languages"]),
            bucc_languages=tuple(config["retrieval"]["bucc"]["languages"]),
            layers=resolve_layers(config),
        )

    # ---------------------------------------------------------------- languages
    def target_languages(self, target: str) -> tuple[str, ...]:
        return tuple(self.config["targets"][target]["languages"])

    @property
    def all_languages(self) -> tuple[str, ...]:
        langs = {*self.study_languages, *self.tatoeba_languages, *self.bucc_languages, self.pivot}
        for t in self.targets:
            langs.update(self.target_languages(t))
        return tuple(sorted(langs))

    @property
    def synthetic_languages(self) -> tuple[str, ...]:
        return tuple(l["code"] for l in self.config["synthetic"]["languages"]) if self.synthetic else ()

    @property
    def language_table(self) -> str:
        return self.layout.synthetic_languages if self.synthetic else self.config["language_table"]

    # ---------------------------------------------------------------- tasks
    def task_spec(self, group: str, name: str) -> dict:
        """The task's metadata (type, labels, lengths, languages...) without its source and hyperparameters."""
        return {k: v for k, v in self.config[group][name].items() if k not in NON_SPEC_KEYS}

    def hparams(self, group: str, name: str | None = None) -> dict:
        """finetune_defaults overridden by the task's (or, group 'multitask', the multi-task model's) non-null values."""
        own = self.config["multitask"]["hparams"] if group == "multitask" else self.config[group][name]["hparams"]
        return {**self.config["finetune_defaults"], **{k: v for k, v in own.items() if v is not None}}

    def train_on(self, target: str) -> str | None:
        """Targets may train on an intermediate task's English data (XNLI on MNLI, XQuAD on SQuAD)."""
        return self.config["targets"][target]["train_on"]

    def feature_spec(self, group: str, name: str) -> dict:
        return {k: self.config[group][name][k] for k in TASK_FEATURIZATION_KEYS if k in self.config[group][name]}

    def feature_sampling(self, group: str, name: str) -> dict:
        """The training subset the features hold (max_train_samples of the task's hparams, seeded)."""
        return {"max_rows": self.hparams(group, name)["max_train_samples"], "seed": self.config["seed"]}

    @property
    def multitask_tasks(self) -> tuple[str, ...]:
        return tuple(multitask_tasks(self.config))

    # ---------------------------------------------------------------- paths
    def intermediate_split(self, task: str, split: str) -> str:
        return self.layout.path("intermediate_split", task=task, split=split)

    def target_split(self, target: str, split: str) -> str:
        src = self.train_on(target)
        return self.intermediate_split(src, split) if src else self.layout.path("target_split", target=target, split=split)

    def target_test(self, target: str, lang: str) -> str:
        return self.layout.path("target_test", target=target, lang=lang)

    def features(self, group: str, name: str) -> str:
        return self.layout.path("features", group=FEATURE_GROUPS[group], name=name)

    def model_dir(self, condition: str) -> str:
        if condition == "base":
            return self.layout.base_model
        return self.layout.path("intermediate_model", task=condition)

    def per_language(self, name: str, langs, /, **wildcards) -> dict[str, str]:
        """``{lang: path}`` of one template over languages (other wildcards filled or left as templates)."""
        return {l: self.layout.path(name, lang=l, **wildcards) for l in langs}

    def bucc_files(self, name: str, /, **wildcards) -> dict[str, str]:
        """``{"<lang>.<split>": path}`` over the BUCC languages and both splits."""
        return {f"{l}.{s}": self.layout.path(name, lang=l, split=s, **wildcards)
                for l in self.bucc_languages for s in BUCC_SPLITS}

    def wals_files(self) -> dict[str, str]:
        return {t: self.layout.path("wals", table=t) for t in WALS_TABLES}

    def every(self, name: str, *, langs=None, targets=None, conditions=None) -> list[str]:
        """One template over conditions × languages (× targets): the aggregation inputs."""
        out = []
        for c in self.conditions if conditions is None else conditions:
            for t in ([None] if targets is None else targets):
                ls = self.target_languages(t) if t is not None else (langs if langs is not None else ())
                for l in ls:
                    out.append(self.layout.path(name, condition=c, lang=l, **({"target": t} if t else {})))
        return out

    # ---------------------------------------------------------------- per-stage settings (exactly what jobs read)
    @property
    def embedding(self) -> dict:
        """What an embedding job reads of ``retrieval`` (pooling, lengths, precision, storage)."""
        return _settings(embedding_settings(self.config))

    @property
    def tatoeba_layers(self) -> list[int]:
        """The layers a Tatoeba embedding file holds (all analysis layers)."""
        return list(self.layers.stored)

    @property
    def bucc_layers(self) -> list[int]:
        """BUCC embeddings keep the main layer only (a large corpus; the per-layer analysis is on Tatoeba)."""
        return [self.layers.main]

    @property
    def bucc_mining(self) -> dict:
        return _settings(bucc_mining_settings(self.config))

    @property
    def morphology_sample_size(self) -> dict:
        m = self.config["morphology"]
        return _settings({k: m[k] for k in ("corpus", "sample_tokens", "sample_fraction")})

    @property
    def morphology_measures(self) -> dict:
        m = self.config["morphology"]
        return _settings({k: m[k] for k in ("corpus", "sample_tokens", "repeats", "mattr_window", "unsegmented")})

    @property
    def morphology_table(self) -> dict:
        return _settings({"wals_features": list(self.config["morphology"]["wals_features"]),
                        "truth": self.config["regression"]["truth_column"]})

    @property
    def regression(self) -> dict:
        r = self.config["regression"]
        keys = ("outcome", "primary", "secondary", "controls", "low_resource_gib", "n_boot", "n_perm", "mixed_all_predictors")
        return _settings({k: r[k] for k in keys})

    @property
    def findings(self) -> dict:
        r = self.config["regression"]
        return _settings({"dial": r["truth_column"], "primary": r["primary"], "n_boot": r["n_boot"],
                        "study": self.config["study"], "synthetic": self.synthetic})

    @property
    def report(self) -> dict:
        r = self.config["regression"]
        return _settings({"primary": r["primary"], "outcome": r["outcome"], "controls": list(r["controls"]),
                        "target_types": {t: self.config["targets"][t]["type"] for t in self.targets},
                        "study": self.config["study"]})
