import os

import pytest

from xstilts import device


@pytest.fixture
def no_cvd(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_respects_existing_allocation(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert device.claim_gpu(n_gpus=8) == "3"


def test_cpu_node_claims_nothing(no_cvd):
    assert device.claim_gpu(n_gpus=0) is None
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_concurrent_jobs_get_distinct_devices(tmp_path, no_cvd):
    import subprocess
    import sys

    code = ("import os, time; from xstilts.device import claim_gpu; "
            f"print(claim_gpu(lock_dir={str(tmp_path)!r}, n_gpus=2, timeout_s=30, poll_s=0.1), flush=True); time.sleep(1.5)")
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(outs[:3]) in (["0", "0", "1"], ["0", "1", "1"])  # the third waits for a device to free up
    assert len(set(outs)) == 2


def test_claim_is_released_when_the_job_is_killed(tmp_path, no_cvd):
    import signal
    import subprocess
    import sys

    code = ("import time; from xstilts.device import claim_gpu; "
            f"print(claim_gpu(lock_dir={str(tmp_path)!r}, n_gpus=1, timeout_s=60, poll_s=0.1), flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "0"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert device.claim_gpu(lock_dir=tmp_path, n_gpus=1, timeout_s=5, poll_s=0.1) == "0"


# GPU jobs as the workflow's: each claims a device (xstilts.device) and records when it held which.  The order that
# makes every assertion below hold whatever the scheduler does is set by dependencies and barriers, not by timing:
# - k0 claims a device and is killed (SIGKILL) holding it; every other job needs `gate`, which ends only once k0 has
#   recorded its device, so all of them start after k0 claimed (k0 is the only GPU job that can run first);
# - k1..kN do not end before all N of them hold a device at once (a barrier over files), so N jobs run at once on
#   distinct devices, after the kill: one of them holds k0's device (N devices, held exclusively), which it can only
#   have claimed once the kill released it.  A device that stayed locked makes the barrier (and the run) fail.
GPU_SNAKEFILE = """
rule all:
    input: expand("out/k{i}.txt", i=range(config["jobs"]))

rule gate:
    output: "gate.txt"
    script: "gate.py"

rule gpu_job:
    input: lambda w: [] if w.k == "k0" else ["gate.txt"]
    output: "out/{k}.txt"
    params: gpus=config["gpus"]
    resources: gpu=1
    script: "gpu_job.py"
"""
GATE = """
import time
from pathlib import Path

deadline = time.monotonic() + 120
while not Path("killed.txt").exists():
    if time.monotonic() > deadline:
        raise SystemExit("k0 never recorded its device")
    time.sleep(0.05)
Path(snakemake.output[0]).touch()
"""
GPU_JOB = """
import os, signal, time
from pathlib import Path
from xstilts.device import claim_gpu

dev = claim_gpu(timeout_s=120, poll_s=0.1)
t0 = time.time()
k, n = int(snakemake.wildcards.k[1:]), snakemake.params.gpus
if k == 0:  # killed while it holds its device
    Path("killed.tmp").write_text(f"{dev} {t0}\\n")
    os.replace("killed.tmp", "killed.txt")
    os.kill(os.getpid(), signal.SIGKILL)
if k <= n:  # the barrier: k1..kN hold their devices until all N hold one
    Path("claimed").mkdir(exist_ok=True)
    Path("claimed", str(k)).touch()
    deadline = time.monotonic() + 120
    while len(os.listdir("claimed")) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(os.listdir('claimed'))} of {n} barrier jobs ever held a device at once")
        time.sleep(0.05)
Path(snakemake.output[0]).write_text(f"{dev} {t0} {time.time()}\\n")
"""


@pytest.mark.parametrize("n", [2, 3])
def test_resources_gpu_n_runs_n_jobs_at_once_on_n_distinct_devices(tmp_path, n, no_cvd):
    """`--resources gpu=N` with a fake nvidia-smi reporting N GPUs: N jobs at once, on N distinct devices, each device
    free again when its job ends, also when the job is killed (then while the workflow still runs)."""
    import subprocess

    from minidemo import fake_nvidia_smi

    (tmp_path / "Snakefile").write_text(GPU_SNAKEFILE)
    (tmp_path / "gate.py").write_text(GATE)
    (tmp_path / "gpu_job.py").write_text(GPU_JOB)
    fake_nvidia_smi(tmp_path / "bin", n)
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(PATH=f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}", XSTILTS_GPU_LOCK_DIR=str(tmp_path / "locks"))
    jobs = 3 * n + 1
    r = subprocess.run(["snakemake", "--cores", str(2 * n), "--resources", f"gpu={n}", "--keep-going", "--config",
                        f"jobs={jobs}", f"gpus={n}"], cwd=tmp_path, env=env, check=False, capture_output=True,
                       text=True, timeout=300)
    log = (r.stdout + r.stderr)[-3000:]
    assert r.returncode != 0, log  # the killed job fails; --keep-going runs the others
    assert "k0" in r.stdout + r.stderr, log
    spans = []
    for p in sorted((tmp_path / "out").glob("*.txt")):
        dev, start, end = p.read_text().split()
        spans.append((dev, float(start), float(end)))
    assert len(spans) == jobs - 1, log
    devices = {d for d, _, _ in spans}
    assert devices == {str(i) for i in range(n)}, devices
    # a span lies inside its job's hold on the device, so closed spans on one device never touch: at most N at any t
    peak = max(sum(1 for _, s, e in spans if s <= t <= e) for _, t, _ in spans)
    assert peak == n, f"at most {peak} GPU jobs ran at once"
    for i, (da, sa, ea) in enumerate(spans):
        for db, sb, eb in spans[i + 1:]:
            if sa < eb and sb < ea:
                assert da != db, "two jobs held one device at once"
    killed_dev, killed_t = (tmp_path / "killed.txt").read_text().split()
    assert any(d == killed_dev and s > float(killed_t) for d, s, _ in spans), "the killed job's device was never reused"
    held = len(device._HELD)
    try:
        for i in range(n):  # every claim is released: each device can be claimed now
            assert device.claim_gpu(lock_dir=tmp_path / "locks", n_gpus=i + 1, timeout_s=1, poll_s=0.1) == str(i)
            os.environ.pop("CUDA_VISIBLE_DEVICES")
    finally:
        for fh in device._HELD[held:]:
            fh.close()
        del device._HELD[held:]


@pytest.mark.slow
def test_workflow_gpu_jobs_claim_devices_locally(tmp_path_factory):
    """The mini demo run (tests/minidemo.py: two fake GPUs, --resources gpu=2): every GPU rule's job logged a claimed
    device among the two, and no claim outlived its job."""
    import re

    from minidemo import N_GPUS, mini_demo

    project = mini_demo(tmp_path_factory)
    lines = [m for p in (project / "logs").rglob("*.log")
             for m in re.finditer(r"xstilts\.device: CUDA_VISIBLE_DEVICES=(\S+) \(([^)]*)\)", p.read_text(errors="replace"))]
    assert lines, [m.group(0) for m in lines][:5]
    assert all(m.group(2) == "claimed lock" and m.group(1) in {str(i) for i in range(N_GPUS)} for m in lines), [m.group(0) for m in lines][:5]
    assert {m.group(1) for m in lines} == {str(i) for i in range(N_GPUS)}
    import fcntl

    for lock in (project / "gpu-locks").glob("*.lock"):
        with open(lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if a claim outlived its job
