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

import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from xstilts.config import SCHEMA, ConfigError, parallel_in_study, raise_problems, semantic_problems, validate_config
from xstilts.outcomes import ALIGNMENT_CORPORA, WORD_CORPUS, split_outcome

# ============================================================================================================
# file layout: every path template once (wildcards in braces), relative to the results root
# ============================================================================================================

RESULTS_ROOT = "results"

TEMPLATES: dict[str, str] = {
    # real sources as fetched (xstilts.sources) and the check that runs before any download
    "raw": "raw",
    "raw_source": "raw/{source}",
    "preflight": "raw/preflight.json",
    "downloads": "raw/download.json",
    # canonical data (xstilts.contracts), the same for the synthetic world and the real sources
    "data": "data",
    "synthetic_languages": "data/languages.csv",
    "mono": "data/mono/{lang}.parquet",
    "mlm_text": "data/mlm/{lang}.parquet",  # pure monolingual text of the +mlm conditions (column text)
    "parallel": "data/parallel.parquet",
    "parallel_truth": "data/parallel_truth.parquet",  # synthetic world only: the true word alignment with English
    "tatoeba": "data/tatoeba/{lang}.parquet",
    "bucc": "data/bucc/{lang}.{split}.parquet",
    "bucc_gold": "data/bucc/{lang}.{split}.gold.parquet",
    "intermediate_split": "data/intermediate/{task}/{split}.parquet",
    "translated_record": "data/intermediate/{task}/translated.json",  # a '+translated' table's rows read/kept/dropped
    "target_split": "data/target/{target}/{split}.parquet",
    "target_test": "data/target/{target}/test/{lang}.parquet",
    "wals": "data/wals/{table}.csv",
    # models and training
    "tokenizer": "pretrain/tokenizer",
    "pretrain_metrics": "pretrain/metrics.json",
    "pretrain_checkpoints": "pretrain/checkpoints",
    "base_model": "models/base",
    "features": "features/{group}/{name}/train.parquet",
    "intermediate_model": "intermediate/{task}/model",
    "intermediate_metrics": "intermediate/{task}/metrics.json",
    "target_model": "target/{target}/{condition}/model",
    "target_metrics": "target/{target}/{condition}/metrics.json",
    # scores and measures per language x condition
    "target_score": "scores/{target}/{condition}/{lang}.json",
    # translation-pair corpora (ALIGNMENT_CORPORA: Tatoeba, and the multi-parallel FLORES+ devtest): one path per
    # corpus x condition x language, so one rule per stage serves both
    "pair_embeddings": "embeddings/{corpus}/{condition}/{lang}.npz",
    "bucc_embeddings": "embeddings/bucc/{condition}/{lang}.{split}.npz",
    "pair_hits": "retrieval/{corpus}/{condition}/{lang}.hits.parquet",
    "pair_score": "retrieval/{corpus}/{condition}/{lang}.json",
    "bucc_score": "retrieval/bucc/{condition}/{lang}.json",
    "alignment": "alignment/{corpus}/{condition}/{lang}.parquet",
    # word-level alignment (xstilts.wordalign) on the multi-parallel corpus: word pairs from eflomal once per language
    # (independent of condition and layer); word vectors from the FLORES+ embedding pass (temporary; only the words
    # with a confident link, the English once for every language); the word measures
    # as alignment-table rows and the per-link hits; the summary's figures
    "word_pairs": "wordpairs/{lang}.parquet",
    "word_vectors": "embeddings/flores/{condition}/{lang}.words.npz",  # the language's linked words
    "word_vectors_pivot": "embeddings/flores/{condition}/pivot.words.npz",  # English linked words, shared
    "word_alignment": "alignment/words/{condition}/{lang}.parquet",
    "word_hits": "retrieval/words/{condition}/{lang}.hits.parquet",
    "word_summary": "findings/word_alignment.csv",
    "word_aligner": "findings/word_aligner.csv",
    "word_summary_md": "findings/word_alignment.md",
    "figure_word_heatmap": "figures/word_layer_delta_heatmap.png",
    # morphology
    "morphology": "morphology/{lang}.json",
    "morphology_sample_size": "morphology/sample_size.json",
    "morphology_table": "morphology/table.csv",
    "morphology_composite": "morphology/composite.json",
    # regression
    "regression_condition": "regression/{condition}.csv",
    "regression_cells": "regression/cells.csv",
    "regression_layers": "regression/layer_delta.csv",
    "regression_per_layer": "regression/per_layer.csv",
    "regression_pooled": "regression/pooled.csv",
    "regression_low_resource": "regression/low_resource.csv",
    "regression_diagnostics": "regression/diagnostics.csv",
    "regression_interaction": "regression/interaction.csv",
    "regression_sample": "regression/sample.csv",
    "regression_alternatives": "regression/alternatives.csv",
    # findings, tables, figures, summary
    "findings_delta": "findings/delta_ci.csv",
    "findings_direction": "findings/direction.csv",
    "findings_opening": "findings/opening.md",
    "findings_alternatives": "findings/alternatives.csv",
    "findings_target_scores": "findings/target_scores.csv",  # every zero-shot score, one table (the alternatives' input)
    "figure_delta_ci": "figures/alignment_delta_ci.png",
    "figure_base_by_layer": "figures/base_alignment_by_layer.png",
    "summary": "summary.md",
    "table_target_scores": "tables/target_scores.csv",
    "table_target_summary": "tables/target_summary.csv",
    "table_tatoeba": "tables/tatoeba.csv",
    "table_bucc": "tables/bucc.csv",
    "figure_morphology": "figures/morphology_vs_delta.png",
    "figure_forest": "figures/coefficients_forest.png",
    "figure_heatmap": "figures/layer_delta_heatmap.png",
    # the summary and the main tables as HTML: the Snakemake report shows these inline
    "summary_html": "summary.html",
    "table_scores_html": "tables/scores.html",
    "table_retrieval_html": "tables/retrieval.html",
    "table_regression_html": "tables/regression.html",
    # which study produced this results tree (xstilts.study)
    "study": "study.json",
}


@dataclass(frozen=True)
class Layout:
    """Where every artefact lives: ``LAYOUT.<name>`` is the template :data:`TEMPLATES` ``[name]`` under ``root``.
    Rules, adapters, the synthetic world and the data contracts take their paths from here (fixed files of a rule
    are also reachable as ``rules.<name>.output``)."""

    root: str = RESULTS_ROOT

    def __getattr__(self, name: str) -> str:  # called only for names that are not fields: the templates
        if name in TEMPLATES:
            return f"{self.root}/{TEMPLATES[name]}"
        raise AttributeError(f"the layout has no path {name!r} (known: {sorted(TEMPLATES)})")

    def path(self, name: str, /, **wildcards: Any) -> str:
        """Template ``name`` with the given wildcards filled and the others left as ``{wildcard}``."""
        template = getattr(self, name)
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        unknown = set(wildcards) - fields
        if unknown:
            raise KeyError(f"path template {name} ({template}) has no wildcard(s) {sorted(unknown)}")
        return template.format(**{f: wildcards.get(f, "{" + f + "}") for f in fields})

    def root_of(self, name: str, path: str | os.PathLike) -> str:
        """The results root under which ``path`` is the fixed (wildcard-free) template ``name`` (a job infers its
        layout from its outputs)."""
        rel = TEMPLATES[name]
        p = str(path)
        if not p.endswith("/" + rel):
            raise ValueError(f"{p} is not the layout's {name} ({rel}) under any root")
        return p[: -len(rel) - 1]

    def rooted(self, root: str | os.PathLike) -> Layout:
        """The same layout under another root (the synthetic world writes a test's tree this way)."""
        return Layout(str(root))


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


def layer_position(layer: int, stored: list[int], source: str) -> int:
    """Position of hidden_states ``layer`` (resolved by :class:`xstilts.plan.StudyPlan`) among the layers stored in
    ``source``; an embedding file without it is an error naming both."""
    stored = [int(s) for s in stored]
    if layer not in stored:
        raise ValueError(f"{source}: holds hidden_states layers {stored}, not the main layer {layer} (config key "
                         "'retrieval.layer'); rerun its embedding job")
    return stored.index(layer)


# ============================================================================================================
# typed settings of the stages (what each job reads, and nothing else)
# ============================================================================================================


MLM_SUFFIX = "+mlm"  # <task>+mlm: the task trained with multilingual MLM mixed in (config: mlm)
TRANSLATED_SUFFIX = "+translated"  # <task>+translated: English + machine-translated training data (config: translated)
# the regression's condition-type factor: plain English intermediate training, +MLM, +translated
CONDITION_TYPES = ("English", "+MLM", "+translated")


def conditions(config: Mapping) -> list[str]:
    """base, every intermediate task, multitask when enabled, then '<task>+mlm' for every ``mlm.conditions`` entry
    and '<task>+translated' for every ``translated.tasks`` entry (config order)."""
    out = ["base", *config["intermediate_tasks"]]
    if config["multitask"]["enabled"]:
        out.append("multitask")
    out += [f"{t}{MLM_SUFFIX}" for t in config["mlm"]["conditions"]]
    out += [f"{t}{TRANSLATED_SUFFIX}" for t in config["translated"]["tasks"]]
    return out


def wildcard_alternatives(values) -> str:
    """A Snakemake wildcard constraint matching exactly these names: each escaped (condition names hold '+', which
    unescaped would match 'qaamlm' and not 'qa+mlm'), longest first; no names: a regex that matches nothing."""
    values = list(values)
    return "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)) if values else "(?!)"


def base_condition(condition: str) -> str:
    """The plain English condition a '+mlm' / '+translated' condition varies (itself for the others)."""
    for suffix in (MLM_SUFFIX, TRANSLATED_SUFFIX):
        if condition.endswith(suffix):
            return condition[: -len(suffix)]
    return condition


def condition_type(condition: str) -> str | None:
    """'English', '+MLM' or '+translated' (:data:`CONDITION_TYPES`); None for the base model."""
    if condition == "base":
        return None
    if condition.endswith(MLM_SUFFIX):
        return "+MLM"
    if condition.endswith(TRANSLATED_SUFFIX):
        return "+translated"
    return "English"


# the keys of config["retrieval"] that an embedding job reads; it receives exactly these (xstilts.embed)
EMBEDDING_SETTINGS = ("pooling", "max_length", "batch_tokens", "store_dtype", "embed_precision")
# the keys of config["retrieval"]["bucc"] that a mining job reads (not the language list or the hub source)
BUCC_MINING_SETTINGS = ("k", "engine", "precision", "duplicates")


@dataclass(frozen=True)
class Runtime:
    """How a training job runs, not what it computes (config: ``training``): changing these changes no result.

    The rules hand it to the training jobs as an object, not as a plain dict, on purpose: Snakemake records only
    plain-valued params for its rerun trigger, so a changed checkpoint interval or thread count reruns nothing."""

    checkpoint_every: int = 500  # optimizer steps between checkpoints (0: only on a signal)
    keep_checkpoints: int = 1  # complete checkpoints kept while training (the best one is kept besides)
    keep_after_success: bool = False  # keep the checkpoint directory once the final model is in place
    torch_compile: bool = False  # torch.compile the model (GPU only)
    threads: int = 1  # CPU threads the job was given (torch threads, dataloader workers)

    @classmethod
    def from_dict(cls, d: Mapping | None, threads: int | None = None) -> Runtime:
        d = dict(d or {})
        if threads is not None:
            d["threads"] = int(threads)
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})

    def with_threads(self, threads: int) -> Runtime:
        """The settings of a job that was given ``threads`` CPU threads (Snakemake's ``threads``, capped by --cores)."""
        return replace(self, threads=int(threads))


@dataclass(frozen=True)
class StudyIdentity:
    """Which study a results tree belongs to (``study`` and ``source`` of its config); ``xstilts.study`` keeps a run
    of one study from touching another's results."""

    study: str
    source: str

    def as_dict(self) -> dict:
        return {"study": self.study, "source": self.source}


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
    seed: int
    conditions: tuple[str, ...]
    intermediate: tuple[str, ...]
    targets: tuple[str, ...]
    study_languages: tuple[str, ...]
    tatoeba_languages: tuple[str, ...]
    bucc_languages: tuple[str, ...]
    layers: Layers
    layout: Layout = LAYOUT
    mlm_conditions: tuple[str, ...] = ()  # the '<task>+mlm' conditions
    translated: tuple[str, ...] = ()  # the '<task>+translated' conditions (trained like intermediate tasks)

    @classmethod
    def from_config(cls, config: Mapping) -> StudyPlan:
        """``config`` must have passed :func:`xstilts.config.load_and_check` (schema defaults filled); the layers
        are resolved here (a :class:`ConfigError` naming the key when they cannot be)."""
        return cls(
            config=config,
            synthetic=config["source"] == "synthetic",
            pivot=config["pivot"],
            seed=int(config["seed"]),
            conditions=tuple(conditions(config)),
            intermediate=tuple(config["intermediate_tasks"]),
            targets=tuple(config["targets"]),
            study_languages=tuple(config["languages"]),
            tatoeba_languages=tuple(config["retrieval"]["tatoeba"]["languages"]),
            bucc_languages=tuple(config["retrieval"]["bucc"]["languages"]),
            layers=resolve_layers(config),
            mlm_conditions=tuple(f"{t}{MLM_SUFFIX}" for t in config["mlm"]["conditions"]),
            translated=tuple(f"{t}{TRANSLATED_SUFFIX}" for t in config["translated"]["tasks"]),
        )

    @property
    def identity(self) -> StudyIdentity:
        return StudyIdentity(str(self.config["study"]), str(self.config["source"]))

    # ---------------------------------------------------------------- languages
    def target_languages(self, target: str) -> tuple[str, ...]:
        return tuple(self.config["targets"][target]["languages"])

    @property
    def all_languages(self) -> tuple[str, ...]:
        langs = {*self.study_languages, *self.tatoeba_languages, *self.bucc_languages, self.pivot}
        for t in self.targets:
            langs.update(self.target_languages(t))
        return tuple(sorted(langs))

    # ---------------------------------------------------------------- translation-pair corpora ({corpus} wildcard)
    @property
    def corpora(self) -> dict[str, tuple[str, ...]]:
        """Each corpus with retrieval and alignment (one job per language) -> its languages: Tatoeba (``retrieval.tatoeba.languages``),
        and, when the study has the multi-parallel corpus (:func:`xstilts.config.parallel_in_study`), ``flores``
        for every study language (FLORES+ devtest; the synthetic world's parallel set in the demo)."""
        out = {"tatoeba": self.tatoeba_languages}
        if parallel_in_study(self.config):
            out["flores"] = self.study_languages
        return {c: out[c] for c in ALIGNMENT_CORPORA if c in out}

    def corpus_languages(self, corpus: str) -> tuple[str, ...]:
        return self.corpora.get(corpus, ())

    def pair_data(self, corpus: str, lang: str) -> str:
        """The canonical table a corpus's pairs of ``lang`` come from: its Tatoeba file, or the multi-parallel corpus
        (one column per language; the pivot column is the English side)."""
        if corpus == "tatoeba":
            return self.layout.path("tatoeba", lang=lang)
        if corpus == "flores":
            return self.layout.parallel
        raise KeyError(f"no translation-pair corpus {corpus!r} (known: {list(ALIGNMENT_CORPORA)})")

    # ---------------------------------------------------------------- word-level alignment (xstilts.wordalign)
    @property
    def word_languages(self) -> tuple[str, ...]:
        """The languages with word pairs and word measures: those of the multi-parallel corpus (FLORES+ devtest; the
        synthetic world's parallel set), one alignment job each; none when the study has no such corpus."""
        return self.corpus_languages(WORD_CORPUS)

    def word_extra_text(self, lang: str) -> list[str]:
        """Other pinned parallel text the aligner also reads for ``lang`` (its Tatoeba pairs, when it has them)."""
        return [self.layout.path("tatoeba", lang=lang)] if lang in self.tatoeba_languages else []

    @property
    def wordalign(self) -> dict:
        """What a word-alignment job reads: the unsegmented scripts it skips (its seed is the study seed, :attr:`seed`)."""
        return _settings({"unsegmented": list(self.config["morphology"]["unsegmented"])})

    @property
    def word_summary(self) -> dict:
        """What the word-level summary reads: the bootstrap size of the findings (regression.n_boot)."""
        return _settings({"n_boot": int(self.config["regression"]["n_boot"])})

    @property
    def outcome(self) -> str:
        """``regression.outcome`` as configured (xstilts.outcomes: ``<corpus>.<measure>``, bare = Tatoeba)."""
        return self.config["regression"]["outcome"]

    @property
    def outcome_corpus(self) -> str:
        return split_outcome(self.outcome)[0]

    @property
    def synthetic_languages(self) -> tuple[str, ...]:
        return tuple(l["code"] for l in self.config["synthetic"]["languages"]) if self.synthetic else ()

    @property
    def language_table(self) -> str:
        return self.layout.synthetic_languages if self.synthetic else self.config["language_table"]

    # ---------------------------------------------------------------- tasks
    @property
    def trained_tasks(self) -> tuple[str, ...]:
        """What the single-task intermediate rules train: every intermediate task and every '<task>+translated'."""
        return (*self.intermediate, *self.translated)

    def task_spec(self, group: str, name: str) -> dict:
        """The task's metadata (type, labels, lengths, languages...) without its source and hyperparameters
        ('<task>+translated': its task's)."""
        return {k: v for k, v in self.config[group][base_condition(name)].items() if k not in NON_SPEC_KEYS}

    def hparams(self, group: str, name: str | None = None) -> dict:
        """finetune_defaults overridden by the task's (or, group 'multitask', the multi-task model's) non-null values;
        a '+translated' or '+mlm' condition trains with its task's (multitask+mlm: the multi-task model's)."""
        if name is not None and base_condition(name) == "multitask":
            group, name = "multitask", None
        own = self.config["multitask"]["hparams"] if group == "multitask" else self.config[group][base_condition(name)]["hparams"]
        return {**self.config["finetune_defaults"], **{k: v for k, v in own.items() if v is not None}}

    def train_on(self, target: str) -> str | None:
        """Targets may train on an intermediate task's English data (XNLI on MNLI, XQuAD on SQuAD)."""
        return self.config["targets"][target]["train_on"]

    def feature_spec(self, group: str, name: str) -> dict:
        task = self.config[group][base_condition(name)]
        return {k: task[k] for k in TASK_FEATURIZATION_KEYS if k in task}

    def feature_sampling(self, group: str, name: str) -> dict:
        """The training subset the features hold (max_train_samples of the task's hparams, seeded)."""
        return {"max_rows": self.hparams(group, name)["max_train_samples"], "seed": self.seed}

    @property
    def multitask_tasks(self) -> tuple[str, ...]:
        """The multi-task model's member tasks, as listed in the config (never implied)."""
        return tuple(self.config["multitask"]["tasks"])

    @property
    def multitask_cap(self) -> int | None:
        return self.config["multitask"]["cap"]

    # ---------------------------------------------------------------- the paper's alternatives (+mlm, +translated)
    def mlm_members(self, condition: str) -> tuple[str, ...]:
        """The tasks a '<task>+mlm' condition trains beside MLM: the task, or the multi-task model's members."""
        task = base_condition(condition)
        return self.multitask_tasks if task == "multitask" else (task,)

    def mlm_cap(self, condition: str) -> int | None:
        """The per-task cap of the sampler: the multi-task model's for multitask+mlm, none for a single task."""
        return self.multitask_cap if base_condition(condition) == "multitask" else None

    @property
    def mlm_languages(self) -> tuple[str, ...]:
        """``mlm.languages``: 'study' = the study languages and the pivot, or the listed codes."""
        langs = self.config["mlm"]["languages"]
        return (*self.study_languages, self.pivot) if langs == "study" else tuple(langs)

    @property
    def mlm_settings(self) -> dict:
        """What a +mlm job reads of ``mlm`` (xstilts.multitask.MLMSettings without the text paths)."""
        m = self.config["mlm"]
        return _settings({k: m[k] for k in ("rule", "share", "cap_per_language", "probability", "max_seq_length")})

    @property
    def mlm_text_cap(self) -> int | None:
        """Rows of MLM text a conversion keeps per language (``mlm.cap_per_language``)."""
        return self.config["mlm"]["cap_per_language"]

    def mlm_texts(self) -> dict[str, str]:
        return self.per_language("mlm_text", self.mlm_languages)

    def translated_languages(self, condition: str) -> tuple[str, ...]:
        """The MT languages a '<task>+translated' condition trains on: ``translated.languages`` ('all', 'low_resource'
        or a list) within the languages its source has (synthetic world: every synthetic language)."""
        task = base_condition(condition)
        have = tuple(self.config["translated"]["tasks"][task]["languages"]) or self.synthetic_languages
        want = self.config["translated"]["languages"]
        if want == "all":
            return have
        if want == "low_resource":
            gib = self.config["regression"]["low_resource_gib"]
            if self.synthetic:  # the world's stand-in for CC-100 GiB: monolingual sentences / 1000
                sizes = {l["code"]: l["mono_sentences"] / 1000.0 for l in self.config["synthetic"]["languages"]}
                return tuple(l for l in have if sizes[l] < gib)
            from xstilts.languages import read_language_table, under_gib

            low = set(under_gib(read_language_table(self.config["language_table"]), gib, list(have)))
            return tuple(l for l in have if l in low)
        return tuple(l for l in have if l in want)

    # ---------------------------------------------------------------- models and how jobs run
    @property
    def model_meta(self) -> dict:
        """The base model's name and revision, recorded in every score and embedding file."""
        return {"model": self.config["model"]["name"], "revision": self.config["model"]["revision"]}

    @property
    def runtime(self) -> Runtime:
        """How training jobs run (an object on purpose: see :class:`Runtime`)."""
        return Runtime.from_dict(self.config["training"])

    @property
    def gpu_envs(self) -> bool:
        """Whether GPU rules use the GPU builds of their conda envs (workflow/rules/common.smk: conda_env)."""
        return bool(self.config["gpu_envs"])

    @property
    def train_threads(self) -> int:
        return int(self.config["training"]["threads"])

    @property
    def eval_threads(self) -> int:
        return int(self.config["training"]["eval_threads"])

    def checkpoints_of(self, model_dir: str) -> str:
        """A training job's checkpoint directory: beside its model directory, under the results root."""
        return str(Path(model_dir).parent / "checkpoints")

    # ---------------------------------------------------------------- the synthetic world and its base model
    @property
    def synthetic_world(self) -> dict:
        """What the world generator reads (``xstilts.synthetic.WorldConfig``): sizes, languages, tasks by type."""
        s = self.config["synthetic"]

        def tasks(group: str) -> dict:  # a target that trains on an intermediate task's data gets test sets only
            return {n: {"type": t["type"], "train": None if t.get("train_on") else t["synthetic_train"]}
                    for n, t in self.config[group].items()}

        keys = ("languages", "english_mono", "doc_sentences", "dictionary", "parallel_sentences", "tatoeba_pairs",
                "bucc_gold", "bucc_distractor_ratio", "target_test_size", "dev_size")
        inter = self.config["intermediate_tasks"]
        translated = {t: {"type": inter[base_condition(t)]["type"], "languages": list(self.translated_languages(t)),
                          "train": self.config["translated"]["tasks"][base_condition(t)]["synthetic_train"]
                          or inter[base_condition(t)]["synthetic_train"]} for t in self.translated}
        mlm = {"languages": list(self.mlm_languages), "sentences": s["mlm_sentences"]} if self.mlm_conditions else None
        return _settings({"seed": self.seed, **{k: s[k] for k in keys}, "bucc_languages": list(self.bucc_languages),
                          "intermediate": tasks("intermediate_tasks"), "targets": tasks("targets"),
                          "translated": translated, "mlm": mlm})

    @property
    def tokenizer_vocab(self) -> int:
        return int(self.config["synthetic"]["tokenizer_vocab"])

    @property
    def pretrain_architecture(self) -> dict:
        return _settings(self.config["synthetic"]["architecture"])

    @property
    def pretrain_hparams(self) -> dict:
        return _settings(self.config["synthetic"]["pretrain"])

    # ---------------------------------------------------------------- paths
    def intermediate_split(self, task: str, split: str) -> str:
        """A task's canonical split; '<task>+translated' has its own training table (English + MT rows) and
        validates on its task's English validation split."""
        if split != "train":
            task = base_condition(task)
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

    def every(self, name: str, *, langs=None, targets=None, conditions=None, **wildcards) -> list[str]:
        """One template over conditions × languages (× targets): the aggregation inputs (other wildcards, such as
        ``corpus``, filled from ``wildcards``)."""
        out = []
        for c in self.conditions if conditions is None else conditions:
            for t in ([None] if targets is None else targets):
                ls = self.target_languages(t) if t is not None else (langs if langs is not None else ())
                for l in ls:
                    out.append(self.layout.path(name, condition=c, lang=l, **({"target": t} if t else {}), **wildcards))
        return out

    def every_pair(self, name: str, *, corpora=None, conditions=None) -> list[str]:
        """One per-corpus template (pair_embeddings, pair_hits, pair_score, alignment) over corpus × condition ×
        that corpus's languages."""
        return [p for c in (self.corpora if corpora is None else corpora)
                for p in self.every(name, langs=self.corpus_languages(c), conditions=conditions, corpus=c)]

    # ---------------------------------------------------------------- per-stage settings (exactly what jobs read)
    @property
    def embedding(self) -> dict:
        """What an embedding job reads of ``retrieval`` (pooling, lengths, precision, storage): a change to
        retrieval.bucc.* or retrieval.layer reruns no embedding job."""
        return _settings({k: self.config["retrieval"][k] for k in EMBEDDING_SETTINGS})

    @property
    def pair_layers(self) -> list[int]:
        """The layers a translation-pair embedding file holds (Tatoeba and FLORES+: all analysis layers)."""
        return list(self.layers.stored)

    @property
    def bucc_layers(self) -> list[int]:
        """BUCC embeddings keep the main layer only (a large corpus; the per-layer analysis is on Tatoeba)."""
        return [self.layers.main]

    @property
    def bucc_mining(self) -> dict:
        return _settings({k: self.config["retrieval"]["bucc"][k] for k in BUCC_MINING_SETTINGS})

    # morphology: the corpus and the sample size are decided here, once
    @property
    def morphology_corpus(self) -> str:
        """``parallel`` (the multi-parallel corpus) or ``tatoeba`` (each language's Tatoeba pairs, the fallback)."""
        return self.config["morphology"]["corpus"]

    def morphology_corpus_of(self, lang: str) -> str:
        return self.layout.parallel if self.morphology_corpus == "parallel" else self.layout.path("tatoeba", lang=lang)

    @property
    def morphology_auto_sample(self) -> bool:
        """``sample_tokens: auto``: one job measures every segmented corpus and fixes the size all jobs use; else the
        configured size is passed to each job as it is."""
        return self.config["morphology"]["sample_tokens"] == "auto"

    @property
    def morphology_segmented(self) -> tuple[str, ...]:
        """The study languages written with word spaces (they get word measures and set the sample size)."""
        return tuple(l for l in self.study_languages if l not in self.config["morphology"]["unsegmented"])

    @property
    def morphology_sample_size(self) -> dict:
        m = self.config["morphology"]
        return _settings({"corpus": m["corpus"], "sample_fraction": m["sample_fraction"]})

    @property
    def morphology_measures(self) -> dict:
        m = self.config["morphology"]
        return _settings({k: m[k] for k in ("corpus", "repeats", "mattr_window", "unsegmented")})

    @property
    def morphology_fixed_sample(self) -> int | None:
        """The configured sample size when it is fixed (None with ``auto``: the size comes from its job's file)."""
        return None if self.morphology_auto_sample else int(self.config["morphology"]["sample_tokens"])

    @property
    def morphology_table(self) -> dict:
        return _settings({"wals_features": list(self.config["morphology"]["wals_features"]),
                        "truth": self.config["regression"]["truth_column"]})

    @property
    def regression(self) -> dict:
        r = self.config["regression"]
        keys = ("outcome", "primary", "secondary", "controls", "low_resource_gib", "interaction_at_gib", "n_boot", "n_perm",
                "mixed_all_predictors")
        return _settings({**{k: r[k] for k in keys}, "outcomes": list(dict.fromkeys([r["outcome"], *r["outcomes"]]))})

    @property
    def findings(self) -> dict:
        r = self.config["regression"]
        # the alternatives' section reads the pivot (left out of the target means), each '+translated' condition's
        # translated-training languages and the +mlm mixing rule (how many MLM batches come on top)
        m = self.config["mlm"]
        return _settings({"dial": r["truth_column"], "primary": r["primary"], "n_boot": r["n_boot"],
                        "study": self.config["study"], "synthetic": self.synthetic, "pivot": self.pivot,
                        "translated": {t: list(self.translated_languages(t)) for t in self.translated},
                        "mlm": {"rule": m["rule"], "share": m["share"]} if self.mlm_conditions else None})

    @property
    def report(self) -> dict:
        r = self.config["regression"]
        return _settings({"primary": r["primary"], "outcome": r["outcome"], "controls": list(r["controls"]),
                        "target_types": {t: self.config["targets"][t]["type"] for t in self.targets},
                        "study": self.config["study"]})


def layer_problems(config: Mapping) -> list[str]:
    try:
        resolve_layers(config)
    except ConfigError as e:
        return [str(e)]
    return []


def load_plan(config: dict, schema_path: str | os.PathLike = SCHEMA) -> StudyPlan:
    """The one entry: schema defaults and validation, every cross-key check (the layers included, all problems in
    one error naming their keys), then the plan."""
    validate_config(config, schema_path)
    raise_problems(semantic_problems(config) + layer_problems(config))
    return StudyPlan.from_config(config)
