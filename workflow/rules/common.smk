# Python helpers only (no rules): config validation, path helpers, wildcard constraints and input functions.
import json
import re
from pathlib import Path

from xstilts.config import bucc_mining_settings, conditions, embedding_settings, load_and_check, multitask_tasks

load_and_check(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")

SYNTHETIC = config["source"] == "synthetic"
CONDITIONS = conditions(config)
INTERMEDIATE = list(config["intermediate_tasks"])
TARGETS = list(config["targets"])
TATOEBA_LANGS = config["retrieval"]["tatoeba"]["languages"]
BUCC_LANGS = config["retrieval"]["bucc"]["languages"]
STUDY_LANGS = config["languages"]
PIVOT = config["pivot"]
ALL_LANGS = sorted(
    set(STUDY_LANGS)
    | set(TATOEBA_LANGS)
    | set(BUCC_LANGS)
    | {PIVOT}
    | {l for t in config["targets"].values() for l in t["languages"]}
)
DATA = "results/data"
RAW = "results/raw"  # real sources as fetched (xstilts.sources); SOURCES: config key -> source spec
if SYNTHETIC:
    SOURCES = {}
else:
    from xstilts.sources import check_config_sources, raw_dir, task_sources

    SOURCES = check_config_sources(config)


def _alternatives(values):
    return "|".join(sorted(values, key=len, reverse=True))


wildcard_constraints:
    condition=_alternatives(CONDITIONS),
    task=_alternatives(INTERMEDIATE),
    target=_alternatives(TARGETS),
    lang=_alternatives(ALL_LANGS),
    split="sample|training",
    source=_alternatives([re.escape(k) for k in SOURCES]) if SOURCES else "(?!)",


# ---------------------------------------------------------------- data paths (same layout for both sources)
def intermediate_split(task, split):
    return f"{DATA}/intermediate/{task}/{split}.parquet"


def target_train_task(target):
    """Targets may train on an intermediate task's English data (XNLI on MNLI, XQuAD on SQuAD)."""
    return config["targets"][target]["train_on"]


def target_split(target, split):
    src = target_train_task(target)
    return intermediate_split(src, split) if src else f"{DATA}/target/{target}/{split}.parquet"


def target_test(target, lang):
    return f"{DATA}/target/{target}/test/{lang}.parquet"


def synthetic_outputs():
    """Every file the synthetic world writes (its rule's outputs)."""
    out = {
        "languages": f"{DATA}/languages.csv",
        "parallel": f"{DATA}/parallel.parquet",
    }
    langs = [l["code"] for l in config["synthetic"]["languages"]] + [PIVOT]
    out.update({f"mono_{l}": f"{DATA}/mono/{l}.parquet" for l in langs})
    out.update({f"tatoeba_{l}": f"{DATA}/tatoeba/{l}.parquet" for l in TATOEBA_LANGS})
    for l in BUCC_LANGS:
        for s in ("sample", "training"):
            out[f"bucc_{l}_{s}"] = f"{DATA}/bucc/{l}.{s}.parquet"
            out[f"bucc_{l}_{s}_gold"] = f"{DATA}/bucc/{l}.{s}.gold.parquet"
    for t in INTERMEDIATE:
        for s in ("train", "validation"):
            out[f"inter_{t}_{s}"] = intermediate_split(t, s)
    for t in TARGETS:
        if not target_train_task(t):
            for s in ("train", "validation"):
                out[f"target_{t}_{s}"] = target_split(t, s)
        for l in config["targets"][t]["languages"]:
            out[f"target_{t}_test_{l}"] = target_test(t, l)
    for n in ("languages", "values", "parameters", "codes"):
        out[f"wals_{n}"] = f"{DATA}/wals/{n}.csv"
    return out


def target_download_outputs(target):
    """A target's own English train/validation (unless it trains on an intermediate task) and per-language tests."""
    out = {} if target_train_task(target) else {s: target_split(target, s) for s in ("train", "validation")}
    out.update({f"test_{l}": target_test(target, l) for l in config["targets"][target]["languages"]})
    return out


def intermediate_convert_outputs(task):
    """An intermediate task's train/validation, plus its fixed label file when that comes with a user-supplied
    source (CCG's tags_to_id.json)."""
    out = {s: intermediate_split(task, s) for s in ("train", "validation")}
    labels_file = config["intermediate_tasks"][task].get("labels_file") or ""
    if labels_file.startswith(DATA):
        out["labels"] = labels_file
    return out


def source_lock_input():
    """The lock file, when there is one (a change to it reruns the source check)."""
    return {"lock": config["sources_lock"]} if Path(config["sources_lock"]).exists() else {}


def synthetic_world_params():
    s = config["synthetic"]
    # a target that trains on an intermediate task's data gets test sets only (train: None)
    tasks = lambda group: {
        n: {"type": t["type"], "train": None if t.get("train_on") else t["synthetic_train"]} for n, t in config[group].items()
    }
    return {
        "seed": config["seed"],
        "languages": s["languages"],
        "english_mono": s["english_mono"],
        "parallel_sentences": s["parallel_sentences"],
        "tatoeba_pairs": s["tatoeba_pairs"],
        "bucc_languages": BUCC_LANGS,
        "bucc_gold": s["bucc_gold"],
        "bucc_distractor_ratio": s["bucc_distractor_ratio"],
        "intermediate": tasks("intermediate_tasks"),
        "targets": tasks("targets"),
        "target_test_size": s["target_test_size"],
        "dev_size": s["dev_size"],
    }


def language_table():
    return f"{DATA}/languages.csv" if SYNTHETIC else config["language_table"]


def mono_corpus():
    return [f"{DATA}/mono/{l['code']}.parquet" for l in config["synthetic"]["languages"]] + [f"{DATA}/mono/{PIVOT}.parquet"]


# ---------------------------------------------------------------- models
BASE_MODEL = "results/models/base"


def model_dir(condition):
    if condition == "base":
        return BASE_MODEL
    return f"results/intermediate/{condition}/model"


def get_condition_model(wildcards):
    return model_dir(wildcards.condition)


def task_spec(group, name):
    """The task's metadata plus defaults needed by the library (type, labels, lengths)."""
    spec = dict(config[group][name])
    spec.pop("hparams", None)
    spec.pop("hub", None)
    spec.pop("sources", None)
    return spec


def hparams(group, name):
    """finetune_defaults, overridden by the task's (or the multi-task model's) non-null hparams."""
    own = config["multitask"]["hparams"] if group == "multitask" else config[group][name]["hparams"]
    return {**config["finetune_defaults"], **{k: v for k, v in own.items() if v is not None}}


def get_intermediate_data(wildcards):
    return {s: intermediate_split(wildcards.task, s) for s in ("train", "validation")}


def get_target_data(wildcards):
    return {s: target_split(wildcards.target, s) for s in ("train", "validation")}


def get_intermediate_spec(wildcards):
    return task_spec("intermediate_tasks", wildcards.task)


def get_intermediate_hparams(wildcards):
    return hparams("intermediate_tasks", wildcards.task)


def get_target_spec(wildcards):
    return task_spec("targets", wildcards.target)


def get_target_hparams(wildcards):
    return hparams("targets", wildcards.target)


def get_multitask_inputs(wildcards):
    """Each member task's training features (shared with its own intermediate fine-tune)."""
    return {t: features_path("intermediate_tasks", t) for t in multitask_tasks(config)}


# ---------------------------------------------------------------- training features (tokenised once per task)
FEATURE_GROUPS = {"intermediate_tasks": "intermediate", "targets": "target"}
# the task keys featurisation reads (not languages, hub, hparams, notes: changing those re-tokenises nothing)
FEATURE_KEYS = (
    "type",
    "labels",
    "labels_file",
    "max_seq_length",
    "doc_stride",
    "max_query_length",
    "max_answer_length",
    "qa_metric",
    "metric",
)


def features_path(group, name):
    return f"results/features/{FEATURE_GROUPS[group]}/{name}/train.parquet"


def feature_spec(group, name):
    return {k: config[group][name][k] for k in FEATURE_KEYS if k in config[group][name]}


def feature_sampling(group, name):
    """The training subset the features hold (max_train_samples of the task's hparams, seeded)."""
    return {"max_rows": hparams(group, name)["max_train_samples"], "seed": config["seed"]}


def get_intermediate_features(wildcards):
    return features_path("intermediate_tasks", wildcards.task)


def get_target_features(wildcards):
    return features_path("targets", wildcards.target)


def get_target_validation(wildcards):
    return target_split(wildcards.target, "validation")


def get_checkpoint_dir(output_dir):
    """A training job's checkpoint directory: beside its model directory, under results/."""
    return str(Path(output_dir).parent / "checkpoints")


def get_multitask_valid(wildcards):
    return {t: intermediate_split(t, "validation") for t in multitask_tasks(config)}


def get_target_tests_for(target):
    """Input function factory: the per-language test files of one target (named by language)."""

    def get_target_tests(wildcards):
        return {l: target_test(target, l) for l in config["targets"][target]["languages"]}

    return get_target_tests


def get_evaluation_meta(target):
    return {"target": target, "model": config["model"]["name"], "revision": config["model"]["revision"]}


def target_score_paths(target, condition):
    return {l: f"results/scores/{target}/{condition}/{l}.json" for l in config["targets"][target]["languages"]}


def tatoeba_embedding_paths(condition):
    return {l: f"results/embeddings/tatoeba/{condition}/{l}.npz" for l in TATOEBA_LANGS}


def bucc_embedding_paths(condition):
    return {f"{l}.{s}": f"results/embeddings/bucc/{condition}/{l}.{s}.npz" for l in BUCC_LANGS for s in ("sample", "training")}


def get_tatoeba_data(wildcards):
    return {l: f"{DATA}/tatoeba/{l}.parquet" for l in TATOEBA_LANGS}


def get_bucc_data(wildcards):
    return {f"{l}.{s}": f"{DATA}/bucc/{l}.{s}.parquet" for l in BUCC_LANGS for s in ("sample", "training")}


def morphology_corpus_of(lang):
    """The multi-parallel corpus, or (fallback) the language's Tatoeba pairs."""
    if config["morphology"]["corpus"] == "parallel":
        return f"{DATA}/parallel.parquet"
    return f"{DATA}/tatoeba/{lang}.parquet"


def get_morphology_corpus(wildcards):
    return morphology_corpus_of(wildcards.lang)


MORPHOLOGY_AUTO_SAMPLE = config["morphology"]["sample_tokens"] == "auto"


def get_morphology_measures_input(wildcards):
    """The language's corpus and the tokenizer; with sample_tokens 'auto' also the size every language supports."""
    out = {"corpus": morphology_corpus_of(wildcards.lang), "tokenizer": BASE_MODEL}
    if MORPHOLOGY_AUTO_SAMPLE:
        out["sample_size"] = "results/morphology/sample_size.json"
    return out


def morphology_segmented_corpora():
    """Each segmented study language's corpus (the languages that get word measures and set the sample size)."""
    return {l: morphology_corpus_of(l) for l in STUDY_LANGS if l not in config["morphology"]["unsegmented"]}


def get_bucc_split_inputs(wildcards):
    c, l = wildcards.condition, wildcards.lang
    out = {}
    for s in ("sample", "training"):
        out[f"emb_{s}"] = f"results/embeddings/bucc/{c}/{l}.{s}.npz"
        out[f"data_{s}"] = f"{DATA}/bucc/{l}.{s}.parquet"
        out[f"gold_{s}"] = f"{DATA}/bucc/{l}.{s}.gold.parquet"
    return out


def get_embedding_meta(wildcards):
    return {"condition": wildcards.condition, "model": config["model"]["name"], "revision": config["model"]["revision"]}


# ---------------------------------------------------------------- aggregation inputs
def all_target_scores():
    return [p for t in TARGETS for c in CONDITIONS for p in target_score_paths(t, c).values()]


def all_tatoeba_scores():
    return [f"results/retrieval/tatoeba/{c}/{l}.json" for c in CONDITIONS for l in TATOEBA_LANGS]


def all_bucc_scores():
    return [f"results/retrieval/bucc/{c}/{l}.json" for c in CONDITIONS for l in BUCC_LANGS]


def all_alignment():
    return [f"results/alignment/{c}/{l}.parquet" for c in CONDITIONS for l in TATOEBA_LANGS]


def regression_outputs():
    return {c: f"results/regression/{c}.csv" for c in CONDITIONS if c != "base"}


def get_final_output():
    """The report plus every per-language score file: a deleted score is then a missing target, rebuilt on the
    next run together with what depends on it."""
    return [
        "results/summary.md",
        "results/tables/target_scores.csv",
        "results/figures/morphology_vs_delta.png",
        *regression_outputs().values(),
        *all_target_scores(),
        *all_tatoeba_scores(),
        *all_bucc_scores(),
        *all_alignment(),
        *[f"results/morphology/{l}.json" for l in STUDY_LANGS],
    ]
