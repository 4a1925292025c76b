"""One local run of the mini config dressed as the demo, shared by the tests that need a finished demo run (the
README's rerun-one-language commands, `snakemake --report`, the local GPU claims).

The scratch project (tests/scratch.py) holds config/demo.yaml = tests/data/mini.yaml with the demo's language codes,
so the README's demo commands run there as written. The run is the README's quick-start command with two fake GPUs
(a fake ``nvidia-smi`` on PATH) and ``--resources gpu=2``, as on a two-GPU box; GPU jobs then claim devices with
xstilts.device's lock files, kept in the project (``$XSTILTS_GPU_LOCK_DIR``)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from scratch import mini_with_demo_codes, scratch_project

_CACHE: dict[str, Path] = {}
N_GPUS = 2


def fake_nvidia_smi(bin_dir: Path, n: int) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "nvidia-smi"
    lines = "\\n".join(f"GPU {i}: Fake GPU (UUID: GPU-fake-{i})" for i in range(n))
    exe.write_text(f'#!/bin/sh\n[ "$1" = "-L" ] && printf "{lines}\\n"\nexit 0\n')
    exe.chmod(0o755)
    return bin_dir


def env(project: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    e["PATH"] = f"{project / 'fakebin'}{os.pathsep}{e.get('PATH', '')}"
    e["XSTILTS_GPU_LOCK_DIR"] = str(project / "gpu-locks")
    return e


def run(project: Path, *args: str, timeout: int = 1800) -> tuple[int, str]:
    r = subprocess.run(["snakemake", *args], cwd=project, env=env(project), check=False, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def mini_demo(tmp_path_factory) -> Path:
    """The finished project (built once per test session)."""
    if "project" not in _CACHE:
        project = scratch_project(tmp_path_factory.mktemp("minidemo") / "project", {"demo.yaml": mini_with_demo_codes()})
        fake_nvidia_smi(project / "fakebin", N_GPUS)
        rc, out = run(project, "--cores", "all", "--configfile", "config/demo.yaml", "--resources", f"gpu={N_GPUS}")
        (project / "first-run.log").write_text(out)
        assert rc == 0, out[-5000:]
        _CACHE["project"] = project
    return _CACHE["project"]
