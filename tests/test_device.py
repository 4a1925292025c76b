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
