"""Scratch copies of the project for tests that run README commands as written, and an integrity check of results.

``scratch_project`` copies what a run needs (Snakefile, workflow/, envs/, profiles/) into a scratch directory and
writes the given configs under config/, so ``snakemake --configfile config/demo.yaml ...`` or ``snakemake
--workflow-profile profiles/slurm`` run there exactly as the README writes them, on small configs.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests/data/mini.yaml"
# tests/data/mini.yaml's languages renamed to the demo's codes, so that the README's demo commands (xc, ...) apply
DEMO_CODES = {"ma": "xa", "mb": "xb", "mc": "xc", "md": "xd"}


def mini() -> dict:
    return yaml.safe_load(MINI.read_text())


def _rename(obj, names: dict):
    if isinstance(obj, dict):
        return {names.get(k, k) if isinstance(k, str) else k: _rename(v, names) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rename(v, names) for v in obj]
    if isinstance(obj, str):
        return names.get(obj, obj)
    return obj


def mini_with_demo_codes() -> dict:
    """The mini config with the demo's language codes (xa..xd) and its conditions (base, nli, qa, multitask)."""
    return _rename(mini(), DEMO_CODES)


def small_config() -> dict:
    """Smaller than the mini config: one intermediate task (nli), one target (xnli), no multi-task model: conditions
    base and nli. Same four languages, so the regression and report run as in the mini config."""
    c = copy.deepcopy(mini())
    c["study"] = "small (Slurm test)"
    c["intermediate_tasks"] = {"nli": c["intermediate_tasks"]["nli"]}
    c["targets"] = {"xnli": c["targets"]["xnli"]}
    c["multitask"] = {"enabled": False}
    return c


def scratch_project(dest: Path, configs: dict[str, dict]) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "Snakefile", dest / "Snakefile")
    for d in ("workflow", "envs", "profiles"):
        if (ROOT / d).exists():
            shutil.copytree(ROOT / d, dest / d, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "config").mkdir(exist_ok=True)
    for name, cfg in configs.items():
        (dest / "config" / name).write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


def job_counts(out: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake run (the last one printed)."""
    block = out.split("Job stats:")[-1] if "Job stats:" in out else ""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", block, re.M) if m.group(1) != "total"}


def readme_block(after: str) -> str:
    """The first ```bash block of README.md after the line containing ``after``."""
    text = (ROOT / "README.md").read_text()
    i = text.index(after)
    m = re.compile(r"```bash\n(.*?)```", re.S).search(text, i)
    assert m, f"no bash block after {after!r} in README.md"
    return m.group(1)


def readme_commands(after: str) -> list[str]:
    """The commands of that block (one per line; comments and blank lines dropped, trailing comments kept out)."""
    cmds = []
    for line in readme_block(after).splitlines():
        line = re.sub(r"\s+#\s.*$", "", line).strip()
        if line and not line.startswith("#"):
            cmds.append(line)
    return cmds


# ---------------------------------------------------------------------------------------------- integrity
def check_results(results: Path) -> list[str]:
    """Open every result file the way its readers do; return the problems (empty when every file loads).

    A temporary left beside an output (``.<name>.XXXX`` from xstilts.io) or a model directory without config and
    weights counts as a problem: nothing partial may sit where a complete result is expected."""
    import numpy as np
    import pandas as pd

    problems = []
    for p in sorted(results.rglob("*")):
        rel = p.relative_to(results)
        if any(part.startswith(".") for part in rel.parts):
            if p.name.endswith("-writer.lock") or p.name == ".snakemake_timestamp":
                continue  # xstilts.io.claim_output's lock files; Snakemake's marker in directory outputs
            problems.append(f"{rel}: a temporary left behind")
            continue
        if p.is_dir():
            if (p / "config.json").exists():
                problems += [f"{rel}: {e}" for e in _model_dir_problems(p)]
            continue
        try:
            if p.suffix == ".parquet":
                pd.read_parquet(p)
            elif p.suffix == ".json":
                json.loads(p.read_text())
            elif p.suffix == ".csv":
                pd.read_csv(p)
            elif p.suffix == ".npz":
                with np.load(p, allow_pickle=False) as z:
                    for k in z.files:
                        z[k]
            elif p.suffix == ".png":
                data = p.read_bytes()
                if not (data.startswith(b"\x89PNG\r\n\x1a\n") and data[-12:-8] == b"\x00\x00\x00\x00" and data[-8:-4] == b"IEND"):
                    raise ValueError("truncated PNG")
            elif p.suffix in (".md", ".txt", ".tsv", ".yaml"):
                p.read_text(encoding="utf-8")
        except Exception as e:  # noqa: BLE001 (any failure to load is the finding)
            problems.append(f"{rel}: {type(e).__name__}: {e}")
    return problems


def _model_dir_problems(d: Path) -> list[str]:
    out = []
    try:
        json.loads((d / "config.json").read_text())
    except Exception as e:  # noqa: BLE001
        out.append(f"config.json: {e}")
    weights = list(d.glob("*.safetensors")) + list(d.glob("pytorch_model*.bin"))
    if not weights:
        out.append("no weights")
    for w in weights:
        try:
            if w.suffix == ".safetensors":
                from safetensors import safe_open

                with safe_open(str(w), framework="np") as f:
                    for k in f.keys():
                        f.get_tensor(k)
            else:
                import torch

                torch.load(w, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001
            out.append(f"{w.name}: {e}")
    return out
