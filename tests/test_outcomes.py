"""Alignment on two corpora of translation pairs (Tatoeba; the multi-parallel FLORES+ devtest, played by the synthetic
world's parallel set in the demo): the outcome names, the plan's corpora and paths, the config check that every study
language has data of the outcome's corpus, the labels, and the real config's language lists."""
import copy
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from xstilts import labels, outcomes
from xstilts.config import ConfigError, load_and_check
from xstilts.languages import read_language_table, with_flores
from xstilts.plan import LAYOUT, StudyPlan

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
MINI = ROOT / "tests/data/mini.yaml"


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / "config" / name).read_text())


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the real config names its language table relative to the workflow root


def plan_of(cfg: dict) -> StudyPlan:
    return StudyPlan.from_config(load_and_check(copy.deepcopy(cfg), SCHEMA))


# ---------------------------------------------------------------- outcome names


@pytest.mark.parametrize("name, expected", [
    ("flores.retrieval_en2xx", ("flores", "retrieval_en2xx")),
    ("tatoeba.cka", ("tatoeba", "cka")),
    ("retrieval_en2xx", ("tatoeba", "retrieval_en2xx")),  # a bare measure is Tatoeba's (older configs)
])
def test_an_outcome_names_its_corpus_and_measure(name, expected):
    assert outcomes.split_outcome(name) == expected


@pytest.mark.parametrize("name", ["bucc.retrieval_en2xx", "flores.accuracy", "flores."])
def test_an_unknown_outcome_is_an_error_naming_the_key(name):
    with pytest.raises(ValueError, match="regression.outcome"):
        outcomes.split_outcome(name)


def _align() -> pd.DataFrame:
    rows = [{"corpus": c, "language": "xa", "condition": "base", "layer": 0, "measure": m, "value": v}
            for c, v in (("tatoeba", 0.25), ("flores", 0.75)) for m in ("retrieval_en2xx", "cka")]
    return pd.DataFrame(rows)


def test_outcome_rows_pick_the_named_corpus():
    assert outcomes.outcome_rows(_align(), "flores.retrieval_en2xx")["value"].tolist() == [0.75]


def test_a_bare_outcome_picks_the_tatoeba_rows():
    assert outcomes.outcome_rows(_align(), "retrieval_en2xx")["value"].tolist() == [0.25]


def test_an_outcome_without_values_names_the_outcomes_present():
    align = _align()
    with pytest.raises(ValueError, match=r"'flores.cosine_gap'.*flores.cka"):
        outcomes.outcome_rows(align, "flores.cosine_gap")


def test_alignment_tables_without_a_corpus_column_are_refused():
    with pytest.raises(ValueError, match="no 'corpus' column"):
        outcomes.outcome_rows(_align().drop(columns="corpus"), "retrieval_en2xx")


@pytest.mark.parametrize("name, label", [
    ("flores.retrieval_en2xx", "FLORES+ retrieval accuracy en→xx"),
    ("tatoeba.retrieval_xx2en", "Tatoeba retrieval accuracy xx→en"),
    ("retrieval_en2xx", "Tatoeba retrieval accuracy en→xx"),
    ("flores.cka", "linear CKA, FLORES+"),
])
def test_every_outcome_has_a_human_label(name, label):
    assert labels.measure(name) == label


RETRIEVAL = ("retrieval_", "word_retrieval_")


def test_retrieval_outcomes_of_both_corpora_are_shown_in_points():
    assert {labels.unit(n) for n in outcomes.OUTCOMES if outcomes.split_outcome(n)[1].startswith(RETRIEVAL)} == {"points"}


def test_geometry_outcomes_have_no_unit():
    assert {labels.unit(n) for n in outcomes.OUTCOMES if not outcomes.split_outcome(n)[1].startswith(RETRIEVAL)} == {""}


def test_word_measures_are_outcomes_of_the_multi_parallel_corpus_only():
    assert outcomes.split_outcome("flores.word_retrieval_sent_multi") == ("flores", "word_retrieval_sent_multi")
    with pytest.raises(ValueError, match="word measures on flores only"):
        outcomes.split_outcome("tatoeba.word_retrieval_sent")


# ---------------------------------------------------------------- the plan: corpora, languages, paths


def test_the_real_plan_aligns_every_study_language_on_flores(at_root):
    plan = plan_of(load("config.yaml"))
    assert plan.corpora["flores"] == plan.study_languages


def test_the_real_plan_has_89_flores_and_74_tatoeba_languages(at_root):
    plan = plan_of(load("config.yaml"))
    assert {c: len(l) for c, l in plan.corpora.items()} == {"tatoeba": 74, "flores": 89}


def test_flores_pairs_come_from_the_multi_parallel_corpus(at_root):
    plan = plan_of(load("config.yaml"))
    assert plan.pair_data("flores", "sw") == LAYOUT.parallel
    assert plan.pair_data("tatoeba", "sw") == "results/data/tatoeba/sw.parquet"


def test_per_corpus_paths_keep_the_tatoeba_tree_and_add_flores(at_root):
    plan = plan_of(load("config.yaml"))
    paths = plan.every_pair("alignment", conditions=["base"])
    assert "results/alignment/tatoeba/base/br.parquet" in paths
    assert "results/alignment/flores/base/my.parquet" in paths
    assert len(paths) == 74 + 89
    assert plan.every_pair("pair_score", corpora=["tatoeba"], conditions=["mnli"])[0] == "results/retrieval/tatoeba/mnli/af.json"


def test_without_flores_in_the_study_there_are_no_flores_jobs(at_root):
    cfg = load("config.yaml")
    cfg["morphology"]["corpus"] = "tatoeba"
    cfg["regression"]["outcome"] = "tatoeba.retrieval_en2xx"
    cfg["languages"] = cfg["retrieval"]["tatoeba"]["languages"][:36]
    assert list(plan_of(cfg).corpora) == ["tatoeba"]


def test_the_demo_plays_flores_with_its_synthetic_parallel_set():
    plan = plan_of(load("demo.yaml"))
    assert plan.corpora["flores"] == ("xa", "xb", "xc", "xd", "xe", "xf", "xg", "xh")
    assert plan.outcome_corpus == "flores"


# ---------------------------------------------------------------- the config check: data of the outcome's corpus


def test_a_study_language_without_flores_is_named(at_root):
    cfg = load("config.yaml")
    cfg["languages"] = [*cfg["languages"], "br"]  # Breton: XLM-R and LASER's Tatoeba, not FLORES+
    with pytest.raises(ConfigError, match=r"config key 'languages': \['br'\] have no FLORES\+ code.*flores.retrieval_en2xx"):
        load_and_check(cfg, SCHEMA)


def test_a_study_language_without_tatoeba_is_named_for_a_tatoeba_outcome(at_root):
    cfg = load("config.yaml")
    cfg["regression"]["outcome"] = "tatoeba.cka"
    with pytest.raises(ConfigError, match=r"config key 'languages': \['as', 'gu', .*\] have no Tatoeba data.*tatoeba.cka"):
        load_and_check(cfg, SCHEMA)


def test_a_flores_outcome_needs_a_flores_source(at_root):
    cfg = load("config.yaml")
    cfg["morphology"]["flores"] = {"id": "", "revision": ""}
    with pytest.raises(ConfigError, match=r"config key 'morphology.flores': regression.outcome 'flores.retrieval_en2xx'"):
        load_and_check(cfg, SCHEMA)


def test_a_bare_tatoeba_outcome_still_validates():
    cfg = load("demo.yaml")
    cfg["regression"]["outcome"] = "retrieval_en2xx"
    assert plan_of(cfg).outcome_corpus == "tatoeba"


# ---------------------------------------------------------------- the real config's lists come from the language table


@pytest.fixture(scope="module")
def table():
    return read_language_table(ROOT / "config/languages.csv")


def test_study_languages_are_the_xlmr_languages_with_flores(table):
    assert load("config.yaml")["languages"] == list(with_flores(table))


def test_tatoeba_languages_are_the_xlmr_languages_in_lasers_tatoeba(table):
    t = table[(table["in_xlmr"] == "yes") & (table["laser_code"] != "")]
    assert load("config.yaml")["retrieval"]["tatoeba"]["languages"] == t["iso639_1"].tolist()


def test_every_tatoeba_language_has_its_set_size(table):
    langs = load("config.yaml")["retrieval"]["tatoeba"]["languages"]
    sizes = table.set_index("iso639_1").loc[langs, "tatoeba_pairs"]
    assert sizes.notna().all()


def test_the_laser_files_are_named_by_laser_code():
    files = load("config.yaml")["retrieval"]["tatoeba"]["hub"]["files"]
    assert all("{laser_code}" in f and "laser_xtreme_code" not in f for f in files)


def test_every_study_language_gets_a_morphology_job_from_flores(at_root):
    plan = plan_of(load("config.yaml"))
    assert {plan.morphology_corpus_of(l) for l in plan.study_languages} == {LAYOUT.parallel}


def test_unsegmented_scripts_are_declared(at_root, table):
    cfg = load("config.yaml")
    scripts = table.set_index("iso639_1").loc[cfg["languages"], "script"]
    unspaced = {"Hans", "Jpan", "Thai", "Laoo", "Khmr", "Mymr"}
    assert set(cfg["morphology"]["unsegmented"]) == set(scripts[scripts.isin(unspaced)].index)


# ---------------------------------------------------------------- the DAG: one rule per stage serves both corpora


def test_the_mini_dag_runs_retrieval_and_alignment_on_both_corpora(tmp_path):
    """One rule per stage for both corpora: embedding (embed_<corpus>, its languages as outputs) and the per-language
    retrieval job that also writes the alignment measures."""
    cmd = ["snakemake", "-n", "--quiet", "rules", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(MINI), "--cores", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    counts = {}
    for line in (r.stdout + r.stderr).split("Job stats:")[-1].splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    conditions, langs = 4, 4  # base, nli, qa, multitask; ma..md
    assert (counts["embed_tatoeba"], counts["embed_flores"]) == (conditions, conditions)
    # retrieval and alignment measures (on FLORES+ also the word measures): one job per corpus × condition × language
    assert (counts["retrieval_tatoeba"], counts["retrieval_flores"]) == (conditions * langs, conditions * langs)
    assert "alignment" not in counts
