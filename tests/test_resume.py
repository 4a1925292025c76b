"""Resume, never restart: a training job killed mid-way (SIGKILL after a checkpoint) or stopped by SIGTERM/SIGUSR1
resumes from its latest complete checkpoint and ends with the same weights and metrics as an uninterrupted run;
temporaries of killed attempts are cleaned; checkpoints are removed once the final model is in place."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from finetune_fixtures import SPEC, pair_data, tiny_encoder

ROOT = Path(__file__).resolve().parents[1]
HP = {"learning_rate": 5e-3, "epochs": 2, "batch_size": 8, "warmup_ratio": 0.1}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from xstilts.features import featurize_split

    root = tmp_path_factory.mktemp("resume")
    base = tiny_encoder(root)
    train = pair_data(root / "data/train.parquet", 96, 1)
    valid = pair_data(root / "data/valid.parquet", 40, 2)
    feats = root / "features/train.parquet"
    featurize_split(train, base, SPEC, feats)
    return {"root": root, "base": base, "valid": valid, "features": feats}


def run_job(world, job: Path, hp: dict | None = None, kill: str | None = None, at_step: int = 0, checkpoint_every: int = 4):
    """Run one target fine-tune in a fresh process; ``kill`` sends that signal to the process at the end of
    optimizer step ``at_step`` (after the checkpoint of an earlier step was written)."""
    code = f"""
        import os, signal, sys
        from xstilts import finetune as F, training as T
        from xstilts.device import setup_job
        kill, at = {kill!r}, {at_step}
        if kill:
            orig = T.StopOnSignal.on_step_end
            def on_step_end(self, args, state, control, **kw):
                if state.global_step == at and not os.environ.get("DONE_ONCE"):
                    os.environ["DONE_ONCE"] = "1"
                    os.kill(os.getpid(), getattr(signal, kill))
                return orig(self, args, state, control, **kw)
            T.StopOnSignal.on_step_end = on_step_end
        setup_job(1, 7, gpu=False)
        F.run_target({str(world['base'])!r}, {str(world['features'])!r}, T.HParams.from_dict({hp or HP!r}), {str(world['valid'])!r},
                     {str(job / 'model')!r}, {str(job / 'metrics.json')!r}, 7, ckpt_dir={str(job / 'checkpoints')!r},
                     runtime=T.Runtime(checkpoint_every={checkpoint_every}))
    """
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=600, check=False)


def weights(job: Path) -> dict:
    return load_file(job / "model" / "model.safetensors")


def metrics(job: Path) -> dict:
    m = json.loads((job / "metrics.json").read_text())
    return {"validation_en": m["validation_en"], "loss": m["train"]["train_loss"]}


def assert_same(a: Path, b: Path):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    assert metrics(a) == metrics(b)


@pytest.fixture(scope="module")
def uninterrupted(world):
    job = world["root"] / "jobs/full"
    r = run_job(world, job)
    assert r.returncode == 0, r.stderr[-3000:]
    return job


def test_sigkill_after_a_checkpoint_resumes_to_identical_weights_and_metrics(world, uninterrupted):
    job = world["root"] / "jobs/killed"
    r = run_job(world, job, kill="SIGKILL", at_step=6)  # checkpoint at step 4; steps 5-6 are lost
    assert r.returncode == -signal.SIGKILL
    assert not (job / "model").exists()
    assert not (job / "metrics.json").exists()
    ckpts = sorted(p.name for p in (job / "checkpoints").glob("checkpoint-*"))
    assert ckpts == ["checkpoint-4"]
    assert (job / "checkpoints/checkpoint-4/checkpoint_complete").exists()
    # what a kill during saving leaves: an incomplete checkpoint (no marker) and a temporary model directory
    (job / "checkpoints/checkpoint-8").mkdir()
    (job / "checkpoints/checkpoint-8/model.safetensors").write_bytes(b"partial")
    (job / ".model.abc123").mkdir()
    r = run_job(world, job)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((job / "metrics.json").read_text())
    assert m["train"]["resumed_from_step"] == 4
    assert_same(job, uninterrupted)
    assert not (job / ".model.abc123").exists(), "a killed attempt's temporary directory survived"
    assert not (job / "checkpoints").exists(), "checkpoints are removed once the final model is in place"


@pytest.mark.parametrize("sig", ["SIGTERM", pytest.param("SIGUSR1", marks=pytest.mark.slow)])
def test_signal_writes_a_checkpoint_before_exit(world, uninterrupted, sig):
    job = world["root"] / f"jobs/{sig}"
    r = run_job(world, job, kill=sig, at_step=3, checkpoint_every=100)  # no scheduled checkpoint before the signal
    assert r.returncode == 128 + getattr(signal, sig), r.stderr[-3000:]
    assert (job / "checkpoints/checkpoint-3/checkpoint_complete").exists()
    assert (job / "checkpoints/checkpoint-3/optimizer.pt").exists()
    assert (job / "checkpoints/checkpoint-3/rng_state.pth").exists()
    assert not (job / "model").exists()
    r = run_job(world, job, checkpoint_every=100)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((job / "metrics.json").read_text())["train"]["resumed_from_step"] == 3
    assert_same(job, uninterrupted)


@pytest.mark.slow
def test_selection_on_the_main_metric_resumes_identically(world):
    """Validation every 3 steps selects on accuracy (not the loss) over the first rows of the validation file;
    early-stopping state and the best checkpoint survive a kill."""
    hp = {**HP, "epochs": 3, "eval_every": 3, "eval_samples": 16, "early_stopping_patience": 3}
    full, killed = world["root"] / "jobs/sel_full", world["root"] / "jobs/sel_killed"
    r = run_job(world, full, hp=hp)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((full / "metrics.json").read_text())
    assert m["train"]["selected_on"] == "accuracy"
    assert m["train"]["best_step"] % 3 == 0
    assert m["train"]["selection_subset"]["n"] == 16
    assert "first 16 rows" in m["train"]["selection_subset"]["rows"]
    r = run_job(world, killed, hp=hp, kill="SIGKILL", at_step=8)
    assert r.returncode == -signal.SIGKILL
    r = run_job(world, killed, hp=hp)
    assert r.returncode == 0, r.stderr[-3000:]
    assert_same(killed, full)
