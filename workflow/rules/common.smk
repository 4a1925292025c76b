# Python helpers only (no rules): config validation, the study plan, wildcard constraints and input functions.
# Everything derived from the config is resolved once in xstilts.plan.StudyPlan (layers, languages, task specs,
# per-stage settings, the path templates in LAYOUT); this file only adapts it to Snakemake.
import os
from pathlib import Path

from xstilts.outcomes import CORPUS_NAMES, WORD_CORPUS
from xstilts.plan import LAYOUT, base_condition, load_plan, wildcard_alternatives
from xstilts.study import check_results, claim_results

PLAN = load_plan(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
# results/ of another study (a forgotten --configfile) stops the run here, before Snakemake schedules or deletes anything
check_results(PLAN.identity)


def claim_study_results():
    """Stamp results/ with this run's study before its first job (the Snakefile's onstart)."""
    rel = lambda p: os.path.relpath(p) if not os.path.relpath(p).startswith("..") else str(p)
    configfiles = [rel(p) for p in workflow.overwrite_configfiles] or ["config/config.yaml"]
    claim_results(PLAN.identity, configfiles)


SYNTHETIC = PLAN.synthetic
CONDITIONS = list(PLAN.conditions)
INTERMEDIATE = list(PLAN.intermediate)
TRAINED = list(PLAN.trained_tasks)  # single-task intermediate fine-tunes: the tasks and every '<task>+translated'
MLM_CONDITIONS = list(PLAN.mlm_conditions)  # '<task>+mlm': the multi-task trainer with MLM as one more member
TARGETS = list(PLAN.targets)
TATOEBA_LANGS = list(PLAN.tatoeba_languages)
CORPORA = dict(PLAN.corpora)  # translation-pair corpus -> its languages (Tatoeba; FLORES+ when the study has it)
BUCC_LANGS = list(PLAN.bucc_languages)
STUDY_LANGS = list(PLAN.study_languages)
PIVOT = PLAN.pivot
WORD_LANGS = list(PLAN.word_languages)  # languages with word pairs and word measures (xstilts.wordalign)
DATA = LAYOUT.data
BASE_MODEL = LAYOUT.base_model
ENVS = Path(workflow.basedir) / "envs"  # one conda environment per library extra (envs/README.md)
# real sources (xstilts.sources): config key -> download job, built once from the config and the lock file
if SYNTHETIC:
    SOURCES = {}
else:
    from xstilts.sources import PREFLIGHT, DOWNLOAD_SUMMARY, SourcePlan

    SOURCES = SourcePlan.from_config(PLAN.config)


# env -> its GPU build, for rules that claim a GPU when the config sets gpu_envs (torch.yaml serves GPU nodes as it is:
# PyPI's torch wheel is the CUDA build)
GPU_ENVS = {"faiss": "faiss-gpu"}


def conda_env(name, gpu=False):
    """The conda environment file of a stage (envs/<name>.yaml at the workflow root); for a rule that claims a GPU
    (gpu=True), the GPU build of that env (GPU_ENVS) when the config sets gpu_envs (envs/README.md)."""
    if gpu and PLAN.gpu_envs:
        name = GPU_ENVS.get(name, name)
    return str(ENVS / f"{name}.yaml")


_alternatives = wildcard_alternatives  # escaped: condition names hold '+' (qa+mlm, nli+translated)


wildcard_constraints:
    condition=_alternatives(CONDITIONS),
    task=_alternatives(TRAINED),
    mlm_condition=_alternatives(MLM_CONDITIONS),
    target=_alternatives(TARGETS),
    lang=_alternatives(PLAN.all_languages),
    split="sample|training",
    corpus=_alternatives(CORPORA),
    source=_alternatives(SOURCES),


# ---------------------------------------------------------------- data
def synthetic_outputs():
    """Every file the synthetic world writes (its rule's outputs)."""
    out = {"languages": LAYOUT.synthetic_languages, "parallel": LAYOUT.parallel, "parallel_truth": LAYOUT.parallel_truth}
    out.update({f"mono_{l}": f for l, f in PLAN.per_language("mono", [*PLAN.synthetic_languages, PIVOT]).items()})
    out.update({f"tatoeba_{l}": f for l, f in PLAN.per_language("tatoeba", TATOEBA_LANGS).items()})
    for key, f in PLAN.bucc_files("bucc").items():
        out[f"bucc_{key.replace('.', '_')}"] = f
    for key, f in PLAN.bucc_files("bucc_gold").items():
        out[f"bucc_{key.replace('.', '_')}_gold"] = f
    for t in INTERMEDIATE:
        for s in ("train", "validation"):
            out[f"inter_{t}_{s}"] = PLAN.intermediate_split(t, s)
    for t in PLAN.translated:
        out[f"translated_{base_condition(t)}_train"] = PLAN.intermediate_split(t, "train")
    if MLM_CONDITIONS:
        out.update({f"mlm_{l}": f for l, f in PLAN.mlm_texts().items()})
    for t in TARGETS:
        out.update({f"target_{t}_{k}": f for k, f in target_download_outputs(t).items()})
    out.update({f"wals_{n}": f for n, f in PLAN.wals_files().items()})
    return out


def target_download_outputs(target):
    """A target's own English train/validation (unless it trains on an intermediate task) and per-language tests."""
    out = {} if PLAN.train_on(target) else {s: PLAN.target_split(target, s) for s in ("train", "validation")}
    out.update({f"test_{l}": PLAN.target_test(target, l) for l in PLAN.target_languages(target)})
    return out


def intermediate_convert_outputs(task):
    """An intermediate task's train/validation, plus its fixed label file when that comes with a user-supplied
    source (CCG's tags_to_id.json)."""
    out = {s: PLAN.intermediate_split(task, s) for s in ("train", "validation")}
    labels_file = PLAN.task_spec("intermediate_tasks", task).get("labels_file") or ""
    if labels_file.startswith(DATA):
        out["labels"] = labels_file
    return out


def source_lock_input():
    """The lock file, when there is one (a change to it reruns the source check)."""
    return {"lock": SOURCES.lock_path} if Path(SOURCES.lock_path).exists() else {}


def source_job(wildcards):
    """One source's download job (its spec, pinned revision, config × split requests, files and pins)."""
    return SOURCES[wildcards.source]


def source_dirs(keys):
    return [SOURCES.path(k) for k in keys]


def downloaded_sources():
    """Every source's download directory except the model's (results/models/base)."""
    return source_dirs(k for k in SOURCES if k != "model")


def translated_source(condition):
    """The config key of a '<task>+translated' condition's MT source."""
    return f"translated.tasks.{base_condition(condition)}.hub"


def synthetic_world_params():
    return PLAN.synthetic_world


def language_table():
    return PLAN.language_table


def mono_corpus():
    return list(PLAN.per_language("mono", [*PLAN.synthetic_languages, PIVOT]).values())


# ---------------------------------------------------------------- models and training
def get_condition_model(wildcards):
    return PLAN.model_dir(wildcards.condition)


def get_intermediate_train(wildcards):
    return PLAN.intermediate_split(wildcards.task, "train")


def get_intermediate_validation(wildcards):
    return PLAN.intermediate_split(wildcards.task, "validation")


def get_target_train(wildcards):
    return PLAN.target_split(wildcards.target, "train")


def get_target_validation(wildcards):
    return PLAN.target_split(wildcards.target, "validation")


def get_intermediate_hparams(wildcards):
    return PLAN.hparams("intermediate_tasks", wildcards.task)


def get_target_hparams(wildcards):
    return PLAN.hparams("targets", wildcards.target)


def get_multitask_inputs(wildcards):
    """Each member task's training features (shared with its own intermediate fine-tune)."""
    return {t: PLAN.features("intermediate_tasks", t) for t in PLAN.multitask_tasks}


def get_multitask_valid(wildcards):
    return {t: PLAN.intermediate_split(t, "validation") for t in PLAN.multitask_tasks}


def get_mlm_inputs(wildcards):
    """A '<task>+mlm' job's inputs: its member tasks' training features and every language's MLM text."""
    c = wildcards.mlm_condition
    out = {f"features_{t}": PLAN.features("intermediate_tasks", t) for t in PLAN.mlm_members(c)}
    out.update({f"mlm_{l}": p for l, p in PLAN.mlm_texts().items()})
    return out


def get_mlm_params(wildcards):
    """Exactly what a '<task>+mlm' job reads: members, their validation splits, hyperparameters, the sampler's cap
    and the MLM settings (mixing rule, share, cap per language, masking probability, length)."""
    c = wildcards.mlm_condition
    members = list(PLAN.mlm_members(c))
    return {
        "tasks": members,
        "valid": {t: PLAN.intermediate_split(t, "validation") for t in members},
        "hp": PLAN.hparams("intermediate_tasks", c),
        "cap": PLAN.mlm_cap(c),
        "mlm": PLAN.mlm_settings,
        "languages": list(PLAN.mlm_languages),
    }


def get_intermediate_features(wildcards):
    return PLAN.features("intermediate_tasks", wildcards.task)


def get_target_features(wildcards):
    return PLAN.features("targets", wildcards.target)


def get_feature_spec(group):
    return lambda wildcards: PLAN.feature_spec(group, wildcards.get("task") or wildcards.get("target"))


def get_feature_sampling(group):
    return lambda wildcards: PLAN.feature_sampling(group, wildcards.get("task") or wildcards.get("target"))


def get_checkpoint_dir(output_dir):
    """A training job's checkpoint directory: beside its model directory, under the results root."""
    return PLAN.checkpoints_of(output_dir)


# ---------------------------------------------------------------- evaluation, embeddings, retrieval
def get_target_tests_for(target):
    """Input function factory: the per-language test files of one target (named by language)."""

    def get_target_tests(wildcards):
        return {l: PLAN.target_test(target, l) for l in PLAN.target_languages(target)}

    return get_target_tests


def get_evaluation_meta(target):
    return {"target": target, **PLAN.model_meta}


def get_embedding_meta(wildcards):
    return {"condition": wildcards.condition, **PLAN.model_meta}


def get_pair_data(corpus):
    """Input function factory: the canonical table of each language of a translation-pair corpus (Tatoeba files,
    or the one multi-parallel corpus for every FLORES+ language)."""

    def pair_data(wildcards):
        return {l: PLAN.pair_data(corpus, l) for l in CORPORA[corpus]}

    return pair_data


def get_bucc_data(wildcards):
    return PLAN.bucc_files("bucc")


def get_bucc_split_inputs(wildcards):
    c, l = wildcards.condition, wildcards.lang
    out = {}
    for s in ("sample", "training"):
        out[f"emb_{s}"] = LAYOUT.path("bucc_embeddings", condition=c, lang=l, split=s)
        out[f"data_{s}"] = LAYOUT.path("bucc", lang=l, split=s)
        out[f"gold_{s}"] = LAYOUT.path("bucc_gold", lang=l, split=s)
    return out


# ---------------------------------------------------------------- morphology
def get_morphology_measures_input(wildcards):
    """The language's corpus and the tokenizer; with sample_tokens 'auto' also the size every language supports."""
    out = {"corpus": PLAN.morphology_corpus_of(wildcards.lang), "tokenizer": BASE_MODEL}
    if PLAN.morphology_auto_sample:
        out["sample_size"] = LAYOUT.morphology_sample_size
    return out


def get_morphology_sample_size(wildcards, input):
    """The size the plan fixed (sample_tokens: an integer), or with 'auto' the file of the job that sized it."""
    return input.sample_size if PLAN.morphology_auto_sample else PLAN.morphology_fixed_sample


def morphology_segmented_corpora():
    """Each segmented study language's corpus (the languages that get word measures and set the sample size)."""
    return {l: PLAN.morphology_corpus_of(l) for l in PLAN.morphology_segmented}


# ---------------------------------------------------------------- aggregation inputs
def all_target_scores():
    return [p for t in TARGETS for p in PLAN.every("target_score", targets=[t])]


def all_tatoeba_scores():
    """The XTREME-style Tatoeba scores (the headline retrieval table)."""
    return PLAN.every_pair("pair_score", corpora=["tatoeba"])


def all_pair_scores():
    """Every corpus's retrieval scores (Tatoeba and FLORES+): set size and chance level in each."""
    return PLAN.every_pair("pair_score")


def all_bucc_scores():
    return PLAN.every("bucc_score", langs=BUCC_LANGS)


def all_alignment():
    """The alignment tables of every corpus and the word-level tables (the regression picks its outcome's rows:
    xstilts.outcomes)."""
    return PLAN.every_pair("alignment") + PLAN.every("word_alignment", langs=WORD_LANGS)


# ---------------------------------------------------------------- word-level alignment
def word_vector_outputs():
    """The FLORES+ embedding job's word vectors (temporary): the linked words of each language, keyed words_<lang>,
    and the English linked words of every language once, keyed words_pivot."""
    out = {f"words_{l}": temp(p) for l, p in PLAN.per_language("word_vectors", WORD_LANGS).items()}
    return {**out, "words_pivot": temp(LAYOUT.word_vectors_pivot)} if WORD_LANGS else out


def get_embed_inputs(corpus):
    """Input function factory: the corpus's canonical tables; for the word corpus also each language's word pairs
    (the job stores the vectors of linked words only) and, in the synthetic world, the true word alignment."""
    pair_data = get_pair_data(corpus)

    def inputs(wildcards):
        out = pair_data(wildcards)
        if corpus == WORD_CORPUS and WORD_LANGS:
            out.update({f"pairs_{l}": p for l, p in PLAN.per_language("word_pairs", WORD_LANGS).items()})
            if SYNTHETIC:
                out["truth"] = LAYOUT.parallel_truth
        return out

    return inputs


def get_wordalign_inputs(wildcards):
    """The multi-parallel corpus and the language's other pinned parallel text (its Tatoeba pairs, if any)."""
    return {"parallel": PLAN.pair_data(WORD_CORPUS, wildcards.lang), "extra": PLAN.word_extra_text(wildcards.lang)}


def get_retrieval_inputs(corpus):
    """Input function factory of a corpus's retrieval job: its embeddings, and on the multi-parallel corpus the word
    vectors of the same embedding job (the language's and the shared English ones), the language's word pairs and,
    in the synthetic world, the true word alignment."""

    def retrieval_inputs(wildcards):
        c, l = wildcards.condition, wildcards.lang
        out = {"embeddings": LAYOUT.path("pair_embeddings", corpus=corpus, condition=c, lang=l)}
        if corpus == WORD_CORPUS:
            out["words"] = LAYOUT.path("word_vectors", condition=c, lang=l)
            out["english"] = LAYOUT.path("word_vectors_pivot", condition=c)
            out["pairs"] = LAYOUT.path("word_pairs", lang=l)
            if SYNTHETIC:
                out["truth"] = LAYOUT.parallel_truth
        return out

    return retrieval_inputs


def word_measure_outputs(corpus):
    """The word-level outputs of the multi-parallel corpus's retrieval job (none for another corpus)."""
    return {"word_alignment": LAYOUT.word_alignment, "word_hits": LAYOUT.word_hits} if corpus == WORD_CORPUS else {}


def word_measure_params(corpus):
    """What the word measures read besides their inputs (the random-pair baseline's seed), only where they run."""
    return {"seed": PLAN.seed} if corpus == WORD_CORPUS else {}


def get_word_summary_inputs(wildcards):
    out = {"hits": PLAN.every("word_hits", langs=WORD_LANGS), "pairs": list(PLAN.per_language("word_pairs", WORD_LANGS).values())}
    if SYNTHETIC:
        out["truth"] = LAYOUT.parallel_truth
    return out


def word_summary_input():
    """The report's word-level section, when the study has word measures."""
    return {"word_summary": LAYOUT.word_summary_md} if WORD_LANGS else {}


def all_tatoeba_hits():
    return PLAN.every_pair("pair_hits", corpora=["tatoeba"])


def regression_outputs():
    return {c: LAYOUT.path("regression_condition", condition=c) for c in CONDITIONS if c != "base"}


def get_final_output():
    """The report plus every per-language score file: a deleted score is then a missing target, rebuilt on the
    next run together with what depends on it (Snakemake does not rerun a job for a missing input of an up-to-date
    consumer, so these must be targets themselves)."""
    return [
        LAYOUT.summary,
        LAYOUT.table_target_scores,
        LAYOUT.figure_morphology,
        *regression_outputs().values(),
        *all_target_scores(),
        *all_pair_scores(),
        *all_bucc_scores(),
        *all_alignment(),
        *PLAN.per_language("morphology", STUDY_LANGS).values(),
    ]
