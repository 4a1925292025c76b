"""End-to-end: the demo DAG (a smaller variant of config/demo.yaml) runs offline, reruns nothing when complete,
recomputes exactly what depends on a deleted per-language score, and the full study's DAG builds offline.

The finished run these tests read or change is a copy of the session's one mini run (tests/minidemo.py: the mini
config with the demo's language codes xa..xd), so the suite pays for that run once."""
import copy
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests/data/mini.yaml"


def smk(workdir: Path, *args, config=None, timeout=900):
    if config is None:  # a copy of the mini demo project carries its config; a fresh directory runs the mini config
        config = workdir / "config/demo.yaml" if (workdir / "config/demo.yaml").exists() else MINI
    cmd = ["snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile", str(config), "--cores", "2", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def job_counts(out: str) -> dict[str, int]:
    block = out.split("Job stats:")[-1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", block, re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """A copy of the session's finished mini demo run (these tests delete and recompute files in it)."""
    import minidemo

    wd = tmp_path_factory.mktemp("mini") / "project"
    shutil.copytree(minidemo.mini_demo(tmp_path_factory), wd, symlinks=True)  # copy2 keeps mtimes: nothing to rerun
    return wd


@pytest.mark.slow
def test_demo_dag_writes_everything(demo_run):
    r = demo_run / "results"
    for f in ["summary.md", "tables/target_scores.csv", "tables/tatoeba.csv", "tables/bucc.csv", "figures/morphology_vs_delta.png",
              "figures/coefficients_forest.png", "figures/layer_delta_heatmap.png", "regression/pooled.csv", "regression/per_layer.csv", "regression/nli.csv",
              "regression/qa.csv", "regression/multitask.csv", "morphology/table.csv", "models/base/config.json",
              "intermediate/multitask/model/config.json", "retrieval/tatoeba/base/xb.json", "retrieval/bucc/nli/xb.json",
              "alignment/tatoeba/qa/xc.parquet", "alignment/flores/qa/xc.parquet", "retrieval/flores/base/xb.json",
              "scores/udpos/multitask/xc.json"]:
        assert (r / f).exists(), f
    assert (r / "figures/morphology_vs_delta.png").read_bytes()[:4] == b"\x89PNG"
    scores = pd.read_csv(r / "tables/target_scores.csv")
    assert len(scores) == (5 + 3) * 4  # (xnli 5 + udpos 3 languages) × 4 conditions
    assert not list(r.rglob(".*.tmp*")), "a temporary file was left behind"


@pytest.mark.slow
def test_rerun_is_a_noop_and_deleting_a_score_recomputes_only_its_job_and_their_dependents(demo_run):
    rc, out = smk(demo_run, "-n")
    assert rc == 0, out[-2000:]
    assert "Nothing to be done" in out, out[-2000:]
    target = demo_run / "results/retrieval/tatoeba/qa/xc.json"
    hits = demo_run / "results/retrieval/tatoeba/qa/xc.hits.parquet"
    before, hits_before = target.read_text(), hits.read_bytes()
    target.unlink()
    try:
        rc, out = smk(demo_run, "-n")
        # the retrieval job writes the score, the per-sentence hits and the alignment table; their readers (regression,
        # findings) rerun because the job does, and nothing else does
        assert job_counts(out) == {"retrieval_tatoeba": 1, "regression": 1, "findings": 1, "report": 1, "all": 1}, out[-3000:]
    finally:  # later tests read a complete run
        rc, out = smk(demo_run)
    assert rc == 0, out[-3000:]
    assert target.read_text() == before
    assert hits.read_bytes() == hits_before


@pytest.mark.slow
def test_asking_for_one_language_file_builds_only_its_branch(tmp_path):
    rc, out = smk(tmp_path, "-n", "results/retrieval/tatoeba/nli/mb.json")
    assert rc == 0
    counts = job_counts(out)
    assert counts.get("retrieval_tatoeba") == 1
    assert "report" not in counts
    assert "regression" not in counts
    assert "finetune_target" not in counts


def test_full_study_dag_builds_offline(tmp_path):
    rc, out = smk(ROOT, "-n", config=ROOT / "config/config.yaml", timeout=300)
    assert rc == 0, out[-3000:]
    c = job_counts(out)
    # 17 conditions: base, the 9 English tasks, multitask, 4 × <task>+mlm, 2 × <task>+translated (issue 20)
    conditions = 1 + 9 + 1 + 4 + 2
    assert c["finetune_intermediate"] == 9 + 2  # the English tasks and the two +translated ones
    assert c["finetune_multitask"] == 1
    assert c["finetune_mlm"] == 4
    assert c["finetune_target"] == 7 * conditions
    # retrieval and alignment (one job) on Tatoeba (the 74 XLM-R languages in LASER's set) and FLORES+ (the 89 study
    # languages)
    assert c["embed_tatoeba"] == conditions
    assert c["embed_flores"] == conditions
    # the FLORES+ retrieval job also writes the word measures (from the word vectors of the same embedding job)
    assert c["retrieval_tatoeba"] == 74 * conditions
    assert c["retrieval_flores"] == 89 * conditions
    assert c["bucc"] == 4 * conditions
    assert c["morphology_measures"] == 89
    # word-level alignment: one eflomal job per FLORES+ language (independent of condition and layer), one summary
    assert c["wordalign"] == 89
    assert "word_measures" not in c
    assert c["word_summary"] == 1


@pytest.mark.slow
def test_two_fresh_runs_give_identical_score_tables(demo_run, tmp_path):
    # the same config, run here without the fake GPUs and device claims the shared run had
    rc, out = smk(tmp_path, config=demo_run / "config/demo.yaml")
    assert rc == 0, out[-3000:]
    for f in ["tables/target_scores.csv", "tables/tatoeba.csv", "tables/bucc.csv", "tables/target_summary.csv", "regression/cells.csv",
              "regression/pooled.csv", "morphology/table.csv", "findings/word_alignment.csv"]:
        assert (tmp_path / "results" / f).read_bytes() == (demo_run / "results" / f).read_bytes(), f
    # the word pairs (eflomal seeded with the study seed) and the word measures read from them; compared as tables (the
    # pairs' metadata holds CPU seconds)
    words = sorted(p.relative_to(demo_run) for d in ("results/wordpairs", "results/alignment/words")
                   for p in (demo_run / d).rglob("*.parquet"))
    assert words
    for f in words:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f), pd.read_parquet(demo_run / f), check_exact=True, obj=str(f))


@pytest.mark.slow
def test_readme_rerun_one_language_commands_schedule_exactly_the_promised_jobs(tmp_path_factory):
    """The README's 'Rerun one language' commands, run as written (bash, in a copy of the project whose
    config/demo.yaml is the mini config with the demo's language codes, after a complete run: tests/minidemo.py)."""
    import minidemo
    from scratch import readme_commands

    project = minidemo.mini_demo(tmp_path_factory)
    cmds = readme_commands("## Rerun one language")
    target = project / "results/retrieval/tatoeba/nli/xc.json"
    conditions = len(list(project.glob("results/retrieval/tatoeba/*/xc.json")))
    assert conditions >= 3
    # the last command brings the report up to date; Snakemake may find nothing to do when the recomputed
    # (deterministic) files are unchanged, but it must never schedule anything else
    promised = [[{"retrieval_tatoeba": 1}], [{"retrieval_tatoeba": 1}], [{"retrieval_tatoeba": conditions}], [{"report": 1, "all": 1}, {}]]
    assert len(cmds) == len(promised), cmds
    before = target.read_text()
    target.unlink()  # the first command is for a deleted or missing result
    for cmd, jobs in zip(cmds, promised):
        r = subprocess.run(["bash", "-c", cmd], cwd=project, env=minidemo.env(project), capture_output=True, text=True,
                           timeout=900)
        out = r.stdout + r.stderr
        assert r.returncode == 0, (cmd, out[-3000:])
        assert job_counts(out) in jobs, (cmd, job_counts(out), out[-2000:])
    assert target.read_text() == before
    r = subprocess.run(["snakemake", "-n", "--cores", "all", "--configfile", "config/demo.yaml"], cwd=project,
                       env=minidemo.env(project), capture_output=True, text=True, timeout=300)
    assert "Nothing to be done" in r.stdout + r.stderr


def _with(config: dict, key: str, value) -> dict:
    c = copy.deepcopy(config)  # key order kept: Snakemake compares params as written
    node = c
    *path, last = key.split(".")
    for k in path:
        node = node.setdefault(k, {})
    node[last] = value
    return c


# Each job receives exactly the settings it reads (xstilts.plan), so after a finished run a changed setting
# schedules the jobs that read it and what depends on their outputs, nothing else (4 conditions, BUCC language xb,
# 4 study languages in the mini config).
RERUNS = {
    # BUCC embeddings are temp() (large, regenerable): mining again re-creates them, and only them
    "retrieval.bucc.k": (8, {"embed_bucc": 4, "bucc": 4, "findings": 1, "report": 1, "all": 1}),
    "morphology.mattr_window": (40, {"morphology_measures": 4, "morphology_table": 1, "regression": 1, "findings": 1,
                                     "report": 1, "all": 1}),
    "morphology.wals_features": (["22A"], {"morphology_table": 1, "regression": 1, "findings": 1, "report": 1, "all": 1}),
    "regression.n_perm": (199, {"regression": 1, "findings": 1, "report": 1, "all": 1}),  # findings reads the pooled table
    "regression.interaction_at_gib": (1.5, {"regression": 1, "findings": 1, "report": 1, "all": 1}),  # the interaction table
}


@pytest.mark.slow
@pytest.mark.parametrize("key", list(RERUNS))
def test_a_changed_setting_reruns_only_the_jobs_that_depend_on_it(demo_run, tmp_path, key):
    value, expected = RERUNS[key]
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(_with(yaml.safe_load((demo_run / "config/demo.yaml").read_text()), key, value),
                                      sort_keys=False))
    rc, out = smk(demo_run, "-n", config=changed)
    assert rc == 0, out[-3000:]
    assert job_counts(out) == expected, (key, out[-3000:])
