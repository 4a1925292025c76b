"""The throughput bench runs on CPU and ends with `mfu <fraction>`; the FLOP model matches the performance reference;
the cost estimate reads the config and scales with the throughput it is given."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts import cost, flops

ROOT = Path(__file__).resolve().parents[1]


def test_flops_match_the_reference_for_xlmr_large():
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    with torch.device("meta"):
        model = XLMRobertaModel(XLMRobertaConfig(**flops.XLMR_LARGE))
    n = flops.non_embedding_params(model)
    assert n == pytest.approx(303.4e6, rel=1e-3)  # performance reference §0: 303.4M non-embedding
    assert flops.per_token(n, 24, 1024, 256) / 1e9 == pytest.approx(1.896, abs=2e-3)  # 1.90 GFLOP/token @256
    assert flops.per_token(n, 24, 1024, 128, train=False) / 1e9 == pytest.approx(0.62, abs=5e-3)
    assert flops.train_flops(n, 24, 1024, [256]) == pytest.approx(256 * flops.per_token(n, 24, 1024, 256))
    assert flops.device_peak("NVIDIA H100 80GB HBM3") == 989e12
    assert flops.device_peak("NVIDIA H100 PCIe") == 756e12
    assert flops.device_peak("NVIDIA H200") == 989e12
    assert flops.device_peak("Tesla T4") is None


@pytest.mark.slow
def test_finetune_bench_runs_on_cpu_and_prints_mfu_last():
    r = subprocess.run([sys.executable, str(ROOT / "bench/finetune.py"), "--steps", "4", "--warmup", "1"], capture_output=True,
                       text=True, timeout=900, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    assert re.search(r"real tokens/s .* TFLOP/s\s+MFU", r.stdout)
    m = re.fullmatch(r"mfu (\d+\.\d+)", lines[-1])
    assert m, lines[-1]
    assert 0 < float(m.group(1)) < 1, lines[-1]


def test_cost_estimate_of_the_study_config(capsys):
    total = cost.main([str(ROOT / "config/config.yaml")])
    out = capsys.readouterr().out
    assert "40% MFU" in out
    assert "not a measurement" in out
    for stage in ("intermediate", "multitask", "targets", "evaluation", "embedding"):
        assert re.search(rf"^{stage}\s+\d+\.\d+ GPU-h$", out, re.MULTILINE), stage
    assert 1 < total < 20  # the performance reference puts the paper at ≈ 5–13 H100-hours
    slower = cost.main([str(ROOT / "config/config.yaml"), "--tokens-per-s", "50000"])
    assert slower > total  # 50k real tokens/s is well below 40% MFU (≈ 209k)
    capsys.readouterr()
    half = cost.main([str(ROOT / "config/config.yaml"), "--mfu", "0.2"])
    assert half == pytest.approx(2 * total)


def test_cost_estimate_counts_a_pinned_training_size():
    task = {"type": "pair_classification", "max_seq_length": 256, "sources": [{"rows": {"train": 10}}, {"rows": {"train": 5}}]}
    assert cost._rows("x", task) == (15, "pinned")
    with pytest.raises(SystemExit, match="'unknown'"):
        cost._rows("unknown", {"type": "tagging", "hub": {}})
