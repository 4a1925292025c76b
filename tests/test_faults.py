"""Faults: a SLURM job cancelled mid-run, Snakemake killed with SIGKILL mid-run (then the README's recovery, run as
written), two writers of one output, and results' permissions.

After each fault a rerun completes and every result file loads (tests/scratch.py: check_results); a rerun after a
Snakemake crash never runs a job of the crashed run beside its own copy (scontrol: no two jobs of one rule and
wildcards overlap in time). The Slurm tests skip with the reason where Slurm cannot start (tests/slurmlab.py)."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import slurmlab
from scratch import check_results, readme_block, scratch_project, small_config
from xstilts import io

TRAINING = "rule_finetune_intermediate"


# ---------------------------------------------------------------------------------------------- no Slurm needed
def _claimer(path: Path, hold_s: float = 30) -> subprocess.Popen:
    code = ("import sys, time; from xstilts.io import claim_output; claim_output(sys.argv[1]); "
            "print('claimed', flush=True); time.sleep(float(sys.argv[2]))")
    p = subprocess.Popen([sys.executable, "-c", code, str(path), str(hold_s)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "claimed"
    return p


def test_a_second_writer_of_one_output_stops_and_a_killed_writer_frees_it(tmp_path):
    out = tmp_path / "results/intermediate/nli/model"
    holder = _claimer(out)
    try:
        code = "import sys; from xstilts.io import remove_stale_temps; remove_stale_temps(sys.argv[1])"
        tmp = out.parent / ".model.abc123"  # the live writer's temporary directory
        tmp.mkdir()
        r = subprocess.run([sys.executable, "-c", code, str(out)], check=False, capture_output=True, text=True)
        assert r.returncode != 0, r.stderr
        assert "OutputBusy" in r.stderr, r.stderr
        assert f"pid {holder.pid}" in r.stderr, r.stderr
        assert tmp.exists(), "a live writer's temporary was deleted"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the kernel released the lock with the process: the next attempt claims it and cleans up
    r = subprocess.run([sys.executable, "-c", code, str(out)], check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not tmp.exists()


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_results_get_the_permissions_the_umask_allows(tmp_path, mask):
    old = os.umask(mask)
    try:
        io.atomic_write_json({"a": 1}, tmp_path / "x/score.json")
        io.atomic_write_text("t", tmp_path / "x/table.csv")
        with io.atomic_dir(tmp_path / "x/model") as d:
            (d / "config.json").write_text("{}")
        assert io.umask() == mask
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "x/score.json") == 0o666 & ~mask
    assert mode(tmp_path / "x/table.csv") == 0o666 & ~mask
    assert mode(tmp_path / "x/model") == 0o777 & ~mask
    assert mode(tmp_path / "x/model/config.json") == 0o666 & ~mask


# ---------------------------------------------------------------------------------------------- on a real Slurm
@pytest.fixture(scope="module")
def lab():
    with slurmlab.lab_or_skip() as lab:
        yield lab


def _project(tmp_path: Path) -> Path:
    project = scratch_project(tmp_path / "project", {"config.yaml": small_config()})
    slurmlab.write_site(project)
    return project


def _start(project: Path, lab, *args: str) -> tuple[subprocess.Popen, Path]:
    log = project / f"snakemake-{time.monotonic_ns()}.out"
    with open(log, "w") as fh:
        proc = subprocess.Popen(["snakemake", "--workflow-profile", "profiles/slurm", *args], cwd=project,
                                env=slurmlab.profile_env(project, lab), stdout=fh, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
    return proc, log


def _wait_for_training(project: Path, lab, proc: subprocess.Popen, log: Path, timeout_s: float = 1200) -> dict:
    """The first training job, once its script runs (its rule log shows the device line)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "Snakemake ended before a training job ran:\n" + log.read_text()[-4000:]
        for j in lab.jobs():
            if j.get("Comment", "").startswith(TRAINING) and j["JobState"] == "RUNNING":
                if j["JobId"] in slurmlab.device_lines(project / "logs"):
                    return j
        time.sleep(1)
    raise AssertionError("no training job started:\n" + log.read_text()[-4000:])


def _no_twins(jobs: list[dict]) -> None:
    """No two SLURM jobs of one rule and wildcards (the plugin's comment) ran at the same time."""
    by_comment: dict[str, list[dict]] = {}
    for j in jobs:
        by_comment.setdefault(j["Comment"], []).append(j)
    for comment, js in by_comment.items():
        js = sorted((j for j in js if j["start"] is not None), key=lambda j: j["start"])  # started ones
        for a, b in zip(js, js[1:]):
            assert a["end"] is not None, (comment, a["JobId"], a["end"], b["JobId"], b["start"])
            assert a["end"] <= b["start"], (comment, a["JobId"], a["end"], b["JobId"], b["start"])


@pytest.mark.slow
@pytest.mark.slurm
def test_scancel_of_a_training_job_then_rerun_completes(lab, tmp_path):
    project = _project(tmp_path)
    targets = ["results/target/xnli/nli/metrics.json"]
    proc, log = _start(project, lab, *targets)
    job = _wait_for_training(project, lab, proc, log)
    lab.run("scancel", job["JobId"])
    proc.wait(timeout=1200)
    out1 = log.read_text()
    assert proc.returncode != 0, out1[-4000:]
    assert f"SLURM-job '{job['JobId']}' failed" in out1, out1[-4000:]
    rc, out2 = slurmlab.run_profile(project, lab, *targets)
    assert rc == 0, out2[-5000:]
    assert check_results(project / "results") == []
    jobs = {j["JobId"]: j for j in lab.jobs()}
    assert jobs[job["JobId"]]["JobState"] == "CANCELLED"
    redone = [j for j in slurmlab.run_jobs(lab, out2) if j["Comment"] == job["Comment"]]
    assert len(redone) == 1, redone
    assert redone[0]["JobState"] == "COMPLETED", redone
    _no_twins(slurmlab.run_jobs(lab, out1 + out2))


@pytest.mark.slow
@pytest.mark.slurm
def test_sigkill_of_snakemake_then_the_readme_recovery_never_runs_a_job_twice_at_once(lab, tmp_path):
    project = _project(tmp_path)
    proc, log = _start(project, lab)
    job = _wait_for_training(project, lab, proc, log)
    os.kill(proc.pid, signal.SIGKILL)  # Snakemake alone: its SLURM jobs are orphans now
    proc.wait(timeout=60)
    out1 = log.read_text()
    state = {j["JobId"]: j["JobState"] for j in lab.jobs()}
    assert state[job["JobId"]] in ("RUNNING", "COMPLETING", "COMPLETED"), state  # the kill did not reach the job
    recovery = readme_block("Recover after a crash")
    r = subprocess.run(["bash", "-e", "-c", recovery], cwd=project, env=slurmlab.profile_env(project, lab), check=False,
                       capture_output=True, text=True, timeout=2400)
    out2 = r.stdout + r.stderr
    assert r.returncode == 0, out2[-6000:]
    assert check_results(project / "results") == []
    assert (project / "results/summary.md").exists()
    runs = slurmlab.run_ids(out1 + out2)
    assert len(runs) == 2, runs
    jobs = slurmlab.run_jobs(lab, out1 + out2)
    orphan = next(j for j in jobs if j["JobId"] == job["JobId"])
    assert orphan["JobState"] in ("CANCELLED", "COMPLETED"), orphan["JobState"]
    _no_twins(jobs)
