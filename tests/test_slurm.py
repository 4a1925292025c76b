"""The SLURM profile on a real single-node Slurm (tests/slurmlab.py: Debian slurm-wlm + munge, 16 CPUs, 4 fake GPUs,
partitions cpu and gpu, no accounting database).

The profile runs as shipped; the only changes are the documented site settings, given the documented way (a site
file named by $XSTILTS_SLURM_SITE, merged into the profile): the account, a per-job CPU cap of 2 for this 2-core
machine and a short first status poll. The config is smaller than tests/data/mini.yaml (one intermediate task, one
target, no multi-task model). Slurm itself (``scontrol show job``) is asked what every job got.

Skipped, with the reason, where Slurm cannot start (not root, packages missing); failed instead when
$XSTILTS_REQUIRE_SYSTEM_TESTS is set (.ci/run sets it once the packages are installed)."""
from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest
import yaml

import slurmlab
from scratch import check_results, job_counts, scratch_project, small_config

pytestmark = pytest.mark.slurm

GROUPED = ("retrieval_tatoeba", "retrieval_flores", "morphology_measures")  # profiles/slurm: group per_language, 50 per job
CAP = 2  # the site file's `cores`: the most CPUs one SLURM job may ask for


def _parse_profile(site: dict | None, tmp_path: Path, monkeypatch) -> dict:
    if site is not None:
        (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
        monkeypatch.setenv("XSTILTS_SLURM_SITE", str(tmp_path / "site.yaml"))
    else:
        monkeypatch.delenv("XSTILTS_SLURM_SITE", raising=False)
    from snakemake.profiles import ProfileConfigFileParser

    with open(slurmlab.ROOT / "profiles/slurm/config.yaml") as f:
        return ProfileConfigFileParser().parse(f)


def test_site_file_merges_into_the_profile_rather_than_replacing_it(tmp_path, monkeypatch):
    shipped = _parse_profile(None, tmp_path, monkeypatch)
    assert shipped["executor"] == "slurm"
    assert "slurm_account=CHANGE_ME" in shipped["default-resources"]
    assert shipped["slurm-status-command"] == "squeue"  # no accounting database needed
    assert shipped["slurm-partition-config"] == str(slurmlab.ROOT / "profiles/slurm/partitions.yaml")
    site = {"default-resources": {"slurm_account": "my_lab"}, "set-resources": {"finetune_multitask": {"runtime": 2880}},
            "set-threads": {"embed_tatoeba": 2}, "cores": 16, "jobs": 7}
    merged = _parse_profile(site, tmp_path, monkeypatch)
    assert "slurm_account=my_lab" in merged["default-resources"]
    assert "slurm_account=CHANGE_ME" not in merged["default-resources"]
    # everything else of the shipped blocks stays
    assert set(shipped["default-resources"]) - {"slurm_account=CHANGE_ME"} <= set(merged["default-resources"])
    assert "finetune_multitask:runtime=2880" in merged["set-resources"]
    assert "finetune_multitask:mem_mb=48000" in merged["set-resources"]
    assert set(shipped["set-resources"]) - {"finetune_multitask:runtime=1440"} <= set(merged["set-resources"])
    assert merged["set-threads"] == ["embed_tatoeba=2"]
    assert merged["cores"] == "16"
    assert merged["jobs"] == "7"
    for key in ("groups", "group-components", "slurm-logdir", "slurm-jobname-prefix"):
        assert merged[key] == shipped[key]


@pytest.mark.slow
@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/demo.yaml"])
def test_profile_sizes_every_gpu_rule_and_names_only_existing_rules(configfile):
    info = slurmlab.rule_info(slurmlab.ROOT, configfile)
    profile = slurmlab.shipped_profile()
    sized = {item.split(":", 1)[0] for item in profile["set-resources"]}
    for rule, i in info.items():
        if i["gpu"]:
            assert i["gpu"] == 1, (rule, i)  # one GPU per job: --gpus=1
            assert {"runtime", "mem_mb"} <= {k.split("=")[0].split(":")[1] for k in profile["set-resources"]
                                             if k.startswith(f"{rule}:")}, f"{rule}: no runtime/memory in profiles/slurm"
    others = info if configfile == "config/config.yaml" else {}
    if others:  # every rule the profile sizes exists in the study's or the demo's workflow
        demo = slurmlab.rule_info(slurmlab.ROOT, "config/demo.yaml")
        assert sized <= set(info) | set(demo), sized - set(info) - set(demo)


@pytest.fixture(scope="module")
def lab():
    with slurmlab.lab_or_skip() as lab:
        yield lab


@pytest.fixture(scope="module")
def small_run(lab, tmp_path_factory):
    """The small config through the shipped profile, once for the module."""
    project = scratch_project(tmp_path_factory.mktemp("slurm") / "project", {"config.yaml": small_config()})
    slurmlab.write_site(project, cap=CAP)
    t0 = time.monotonic()
    rc, out = slurmlab.run_profile(project, lab)
    wall = time.monotonic() - t0
    assert rc == 0, out[-6000:]
    print(f"small config through the SLURM profile: {wall:.0f} s")
    return project, out, slurmlab.run_jobs(lab, out)


@pytest.mark.slow
def test_run_completes_and_every_result_loads(small_run, lab):
    project, out, jobs = small_run
    assert (project / "results/summary.md").exists()
    assert check_results(project / "results") == []
    rc, again = slurmlab.run_profile(project, lab, "-n")
    assert rc == 0, again[-3000:]
    assert "Nothing to be done" in again, again[-3000:]


@pytest.mark.slow
def test_gpu_jobs_get_one_gpu_on_the_gpu_partition_and_cpu_jobs_none(small_run):
    project, out, jobs = small_run
    gpu_rules = {r: i["gpu"] for r, i in slurmlab.rule_info(project, "config/config.yaml").items()}
    assert {"finetune_intermediate", "evaluate_xnli", "embed_tatoeba"} <= {r for r, g in gpu_rules.items() if g}
    seen = set()
    for j in jobs:
        rule = j["rule"]
        seen.add(rule)
        assert j["JobState"] == "COMPLETED", j
        if gpu_rules.get(rule):
            assert j.get("TresPerJob") == "gres:gpu:1", (rule, j.get("TresPerJob"))
            assert j["Partition"] == "gpu", (rule, j["Partition"])
        else:
            assert "gpu" not in j.get("TresPerJob", ""), (rule, j)
            assert j.get("JOB_GRES", "(null)") == "(null)", (rule, j)
            assert j["Partition"] == "cpu", (rule, j["Partition"])
    assert any(gpu_rules.get(r) for r in seen)
    assert any(not gpu_rules.get(r) for r in seen)


@pytest.mark.slow
def test_each_gpu_job_has_its_own_device_and_threads_match_cpus(small_run):
    project, out, jobs = small_run
    info = slurmlab.rule_info(project, "config/config.yaml")
    gpu_rules = {r: i["gpu"] for r, i in info.items()}
    devices = slurmlab.device_lines(project / "logs")  # SLURM job id -> (CUDA_VISIBLE_DEVICES, source, threads)
    gpu_jobs = [j for j in jobs if gpu_rules.get(j["rule"])]
    assert gpu_jobs
    for j in gpu_jobs:
        assert j["JobId"] in devices, f"no device line for SLURM job {j['JobId']} ({j['rule']})"
        cvd, source, threads = devices[j["JobId"]]
        assert re.fullmatch(r"[0-3]", cvd), (j["rule"], cvd, source)
        assert source == "allocation", (j["rule"], cvd, source)
        assert threads == int(j["NumCPUs"]) == slurmlab.expected_cpus(j["rule"], info, CAP), (j["rule"], threads, j["NumCPUs"])
    overlapping = 0
    for i, a in enumerate(gpu_jobs):
        for b in gpu_jobs[i + 1:]:
            if a["start"] < b["end"] and b["start"] < a["end"]:
                overlapping += 1
                assert devices[a["JobId"]][0] != devices[b["JobId"]][0], (a["rule"], b["rule"], "share a device")
    assert overlapping, "no two GPU jobs ran at once: the distinct-device check proved nothing"
    for j in jobs:
        if not gpu_rules.get(j["rule"]) and not j["group"]:
            assert int(j["NumCPUs"]) == slurmlab.expected_cpus(j["rule"], info, CAP), (j["rule"], j["NumCPUs"])


@pytest.mark.slow
def test_per_language_jobs_are_batched_side_by_side_within_the_cap(small_run):
    project, out, jobs = small_run
    counts = job_counts(out)
    members = sum(counts.get(r, 0) for r in GROUPED)
    groups = [j for j in jobs if j["group"]]
    assert members >= 10, (members, len(groups))
    assert len(groups) == math.ceil(members / 50), (members, len(groups))
    g = groups[0]
    # side by side within the cap, not the sum of the members: CAP CPUs, the memory of CAP members, the runtime of
    # ceil(members / CAP) rounds of the members' 10 minutes
    mem = max(slurmlab.profile_resource(r, "mem_mb") for r in GROUPED if counts.get(r))
    assert int(g["NumCPUs"]) == CAP, g["NumCPUs"]
    assert g["MinMemoryNode"] == f"{CAP * mem}M", g["MinMemoryNode"]
    assert slurmlab.minutes(g["TimeLimit"]) == math.ceil(members / CAP) * 10, g["TimeLimit"]
    # every other job was submitted on its own: one SLURM job per non-grouped job
    singles = {r: n for r, n in counts.items() if r not in GROUPED and r != "all"}
    submitted = {}
    for j in jobs:
        if not j["group"]:
            submitted[j["rule"]] = submitted.get(j["rule"], 0) + 1
    assert submitted == singles
    for r in GROUPED:  # the members did run (their logs), inside the group job
        assert len(list((project / "logs").rglob("*.log")))
        assert counts.get(r, 0) == _member_logs(project, r)


def _member_logs(project: Path, rule: str) -> int:
    subs = {"retrieval_tatoeba": ["retrieval/tatoeba"], "retrieval_flores": ["retrieval/flores"],
            "morphology_measures": ["morphology"]}[rule]
    logs = [p for sub in subs for p in (project / "logs" / sub).rglob("*.log")]
    return len([p for p in logs if rule != "morphology_measures" or p.name != "table.log"])


@pytest.mark.slow
def test_slurm_logs_are_kept_in_the_documented_place(small_run):
    project, out, jobs = small_run
    for j in jobs:
        assert j["StdOut"].startswith(str(project / "logs/slurm") + "/"), j["StdOut"]
        assert Path(j["StdOut"]).exists(), j["StdOut"]


@pytest.mark.slow
def test_per_rule_runtime_and_memory(small_run):
    _, _, jobs = small_run
    sized = {item.split(":", 1)[0] for item in slurmlab.shipped_profile()["set-resources"]}
    assert sized & {j["rule"] for j in jobs}
    for j in jobs:
        if not j["group"] and j["rule"] in sized:  # the rest get the defaults or what their rule declares
            assert slurmlab.minutes(j["TimeLimit"]) == slurmlab.profile_resource(j["rule"], "runtime"), (j["rule"], j["TimeLimit"])
            assert j["MinMemoryNode"] == f"{slurmlab.profile_resource(j['rule'], 'mem_mb')}M", (j["rule"], j["MinMemoryNode"])


SIGNAL_SNAKEFILE = """
rule train:
    output: "done.txt"
    log: "logs/train.log"
    resources: gpu=1, runtime=2
    script: "train.py"
"""
# stands for a training job (xstilts.finetune): on SIGTERM it saves a checkpoint (2 s here) and exits 128 + 15
TRAIN_SCRIPT = """
import signal, sys, time
from pathlib import Path
log = open(snakemake.log[0], "w", buffering=1)
got = []
signal.signal(signal.SIGTERM, lambda s, f: got.append(time.monotonic()))
t0 = time.monotonic()
log.write("started\\n")
while not got and time.monotonic() - t0 < 170:
    time.sleep(0.2)
if got:
    log.write(f"SIGTERM after {got[0] - t0:.0f} s\\n")
    time.sleep(2)
    log.write("checkpoint written\\n")
    sys.exit(143)
Path(snakemake.output[0]).write_text("no signal")
"""


@pytest.mark.slow
def test_training_job_gets_sigterm_before_its_time_limit_and_time_to_checkpoint(lab, tmp_path):
    """The profile's warning signal (SIGTERM 300 s before the limit) reaches the job's script through the whole chain
    (batch script -> Snakemake -> srun -> Snakemake -> script), and the in-job Snakemake lets it finish saving."""
    project = scratch_project(tmp_path / "project", {})
    (project / "Snakefile").write_text(SIGNAL_SNAKEFILE)
    (project / "train.py").write_text(TRAIN_SCRIPT)
    slurmlab.write_site(project, cap=1)
    rc, out = slurmlab.run_profile(project, lab, timeout=600)
    log = (project / "logs/train.log").read_text()
    assert rc != 0, out[-3000:]
    assert not (project / "done.txt").exists(), out[-3000:]
    m = re.search(r"SIGTERM after (\d+) s", log)
    assert m, log
    assert int(m.group(1)) < 110, log  # the limit is 120 s
    assert "checkpoint written" in log, log
    jobs = slurmlab.run_jobs(lab, out, rules=["train"])
    assert len(jobs) == 1, jobs
    assert jobs[0]["JobState"] == "FAILED", jobs  # ended by the job itself, not by TIMEOUT
