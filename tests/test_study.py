"""A run never touches another study's results: the results tree is stamped with its study, and a run whose config
names another study stops while the workflow is parsed, before any job (xstilts.study)."""
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from xstilts.plan import LAYOUT, StudyIdentity
from xstilts.study import StudyMismatch, check_results, claim_results, recorded

ROOT = Path(__file__).resolve().parents[1]
DEMO = StudyIdentity("demo (synthetic world)", "synthetic")
REAL = StudyIdentity("X-STILTs × morphology (XLM-R Large)", "hub")


def test_an_empty_tree_is_claimed_once_and_then_checked(tmp_path):
    layout = LAYOUT.rooted(tmp_path / "results")
    check_results(DEMO, layout)  # nothing there yet: any study may start
    stamp = claim_results(DEMO, ["config/demo.yaml"], layout)
    assert recorded(layout) == stamp == {**DEMO.as_dict(), "configfiles": ["config/demo.yaml"]}
    assert claim_results(DEMO, ["other.yaml"], layout) == stamp  # claimed once; the first config stays on record
    check_results(DEMO, layout)
    with pytest.raises(StudyMismatch) as e:
        check_results(REAL, layout)
    msg = str(e.value)
    assert "belongs to study 'demo (synthetic world)' (source synthetic" in msg
    assert "this run's config is study 'X-STILTs × morphology (XLM-R Large)' (source hub)" in msg
    assert "--configfile config/demo.yaml" in msg  # the fix names the config that made the results
    assert "Nothing was run" in msg


def test_same_study_name_from_another_source_is_another_study(tmp_path):
    layout = LAYOUT.rooted(tmp_path / "results")
    claim_results(DEMO, [], layout)
    with pytest.raises(StudyMismatch, match="source hub"):
        check_results(StudyIdentity(DEMO.study, "hub"), layout)


def test_unstamped_results_are_not_adopted_silently(tmp_path):
    layout = LAYOUT.rooted(tmp_path / "results")
    model = Path(layout.base_model) / "model.safetensors"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"weights")
    with pytest.raises(StudyMismatch, match=r"holds results but no study stamp .*python -m xstilts.study claim"):
        check_results(DEMO, layout)
    with pytest.raises(StudyMismatch):
        claim_results(DEMO, [], layout)
    assert not Path(layout.study).exists()


def test_an_unreadable_stamp_is_an_error_naming_it(tmp_path):
    layout = LAYOUT.rooted(tmp_path / "results")
    Path(layout.study).parent.mkdir(parents=True)
    Path(layout.study).write_text("{not json")
    with pytest.raises(StudyMismatch, match="unreadable study stamp"):
        check_results(DEMO, layout)


# ---------------------------------------------------------------- end to end: nothing under results/ changes


def _digest(results: Path) -> dict[str, str]:
    return {str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(results.rglob("*")) if p.is_file()}


def _with_real_config(project: Path) -> None:
    for f in ("config.yaml", "languages.csv", "sources.lock.yaml"):
        shutil.copy2(ROOT / "config" / f, project / "config" / f)


def _snakemake(project: Path, *args: str) -> tuple[int, str]:
    r = subprocess.run(["snakemake", "--cores", "1", *args], cwd=project, capture_output=True, text=True, timeout=600, check=False)
    return r.returncode, r.stdout + r.stderr


@pytest.mark.slow
def test_the_real_config_in_a_finished_demo_directory_stops_before_any_job(tmp_path, tmp_path_factory):
    """The mistake that deleted results/models/base: `snakemake --cores 1` (the real config) in a finished demo dir."""
    from minidemo import mini_demo

    project = tmp_path / "project"
    shutil.copytree(mini_demo(tmp_path_factory), project, symlinks=True)
    _with_real_config(project)
    before = _digest(project / "results")
    rc, out = _snakemake(project)
    assert rc != 0
    assert "belongs to study 'mini (test)'" in out, out[-3000:]
    assert "--configfile config/demo.yaml" in out  # the fix: the config that made these results
    assert "Job stats" not in out  # stopped while parsing: nothing scheduled
    assert _digest(project / "results") == before
    rc, out = _snakemake(project, "--config", "seed=7")  # --config without --configfile: the real config, same stop
    assert rc != 0
    assert "belongs to study 'mini (test)'" in out
    assert _digest(project / "results") == before


def test_the_demo_config_in_a_real_looking_directory_stops_before_any_job(tmp_path):
    """The reverse: a directory holding a downloaded XLM-R Large and the demo config."""
    from scratch import mini_with_demo_codes, scratch_project

    project = scratch_project(tmp_path / "project", {"demo.yaml": mini_with_demo_codes()})
    results = project / "results"
    claim_results(REAL, ["config/config.yaml"], LAYOUT.rooted(results))
    model = results / "models/base"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"2 GB of weights")
    before = _digest(results)
    rc, out = _snakemake(project, "--configfile", "config/demo.yaml")
    assert rc != 0
    assert "belongs to study 'X-STILTs × morphology (XLM-R Large)' (source hub" in out, out[-3000:]
    assert "this run's config is study 'mini (test)' (source synthetic)" in out
    assert "Job stats" not in out
    assert _digest(results) == before


def test_config_overrides_without_configfile_apply_to_the_study_config(tmp_path):
    """`--config seed=7` alone overrides one key of config/config.yaml (it used to replace the whole config)."""
    from scratch import scratch_project

    project = scratch_project(tmp_path / "project", {})
    _with_real_config(project)
    rc, out = _snakemake(project, "-n", "--config", "seed=7")
    assert rc == 0, out[-3000:]
    assert "check_sources" in out
    cfg = yaml.safe_load((project / "config/config.yaml").read_text())
    assert cfg["seed"] != 7  # the file is untouched; the override is this run's


def test_claim_command_adopts_an_unstamped_tree(tmp_path, monkeypatch):
    from xstilts.study import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "results/models/base").mkdir(parents=True)
    (tmp_path / "results/models/base/model.safetensors").write_bytes(b"weights")
    cfg = tmp_path / "demo.yaml"
    shutil.copy2(ROOT / "config/demo.yaml", cfg)
    assert main(["claim", "--configfile", str(cfg)]) == 0
    assert recorded()["study"] == "demo (synthetic world)"
    check_results(DEMO)
