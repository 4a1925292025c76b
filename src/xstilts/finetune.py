"""Fine-tuning: English intermediate tasks and target tasks, on the resumable harness of ``xstilts.training``.

* An intermediate run trains a task model from the base encoder and saves **only the encoder** (plus the
  tokenizer): the target phase then loads the encoder and a fresh head, as jiant's ``--model_load_mode partial``.
* A target run trains the whole task model on English and saves it for zero-shot evaluation
  (``xstilts.evaluate``). The multi-task model is in ``xstilts.multitask``; it uses the same harness.

Training reads pre-tokenised features (``xstilts.features``: one featurisation per task, shared by every
condition). **Model selection** (``eval_every`` > 0) is on the task's main metric (accuracy, F1, …), computed by
the task type's own scorer on the first ``eval_samples`` rows of the validation file; the subset is recorded in the
metrics file. The best state is reloaded at the end. Checkpointing, resume and signals: ``xstilts.training``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import pandas as pd
from transformers import AutoTokenizer

from xstilts.features import read_features
from xstilts.io import atomic_dir, atomic_write_json
from xstilts.tasks import get_task_type, main_metric
from xstilts.training import HParams, Runtime, finish_checkpoints, fit, prepare_outputs, subset_record, validation_subset

log = logging.getLogger(__name__)


def load_model(tt, init_dir: str, spec: dict):
    """The task model from ``init_dir`` (any checkpoint holding the encoder) with SDPA attention."""
    try:
        return tt.auto_model.from_pretrained(init_dir, attn_implementation="sdpa", **tt.model_kwargs(spec))
    except (ValueError, ImportError):  # an architecture without SDPA support
        return tt.auto_model.from_pretrained(init_dir, **tt.model_kwargs(spec))


def task_selector(spec: dict, valid: pd.DataFrame, tokenizer, batch_size: int) -> Callable:
    """model -> the task type's metrics on the selection subset (the same scorer as the final evaluation)."""
    tt = get_task_type(spec["type"])

    def score(model):
        device = next(model.parameters()).device
        return tt.predict(model, valid, tokenizer, spec, batch_size, device)

    return score


def train_task(init_dir: str, features_path: str, hp: HParams, valid_path: str | None, seed: int, *,
               ckpt_dir: str | os.PathLike, runtime: Runtime | None = None):
    """Train one task model from ``init_dir`` on pre-tokenised features; return (model, tokenizer, metrics, spec)."""
    rt = runtime or Runtime()
    tokenizer = AutoTokenizer.from_pretrained(init_dir)
    feats, meta = read_features(features_path, tokenizer)
    spec = meta["spec"]
    tt = get_task_type(spec["type"])
    model = load_model(tt, init_dir, spec)
    selector, select_on, selection = None, None, None
    if hp.eval_every and valid_path:
        valid = validation_subset(valid_path, hp.eval_samples)
        selector = task_selector(spec, valid, tokenizer, hp.batch_size)
        select_on = main_metric(spec)
        selection = subset_record(valid_path, valid)
    model, metrics = fit(model, feats, tt.collate(tokenizer), hp, rt, ckpt_dir, seed, selector=selector, select_on=select_on)
    metrics["features"] = {k: meta[k] for k in ("source", "rows", "features", "tokenizer_sha256")}
    if selection:
        metrics["selection_subset"] = selection
    log.info("trained %s: %s", spec["type"], metrics)
    return model, tokenizer, metrics, spec


def save_encoder(model, tokenizer, out_dir: str | os.PathLike) -> None:
    """Save the encoder alone (no task head) with the tokenizer, atomically."""
    with atomic_dir(out_dir) as tmp:
        model.base_model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)


def save_task_model(model, tokenizer, out_dir: str | os.PathLike) -> None:
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)


def validate(model, tokenizer, spec: dict, valid_path: str, batch_size: int, max_rows: int | None = None) -> dict:
    """The task's metrics on the validation file (its first ``max_rows`` rows when given)."""
    tt = get_task_type(spec["type"])
    df = validation_subset(valid_path, max_rows)
    device = next(model.parameters()).device
    return tt.predict(model, df, tokenizer, spec, batch_size, device)


def _run(save, valid_key: str):
    def run(init_dir, features_path, hp: HParams, valid_path, out_dir, metrics_path, seed, *, ckpt_dir,
            runtime: Runtime | None = None) -> dict:
        rt = runtime or Runtime()
        prepare_outputs(out_dir, metrics_path)
        model, tok, train_metrics, spec = train_task(init_dir, features_path, hp, valid_path, seed, ckpt_dir=ckpt_dir, runtime=rt)
        metrics = {"train": train_metrics, valid_key: validate(model, tok, spec, valid_path, hp.batch_size)}
        save(model, tok, out_dir)
        atomic_write_json(metrics, metrics_path)
        finish_checkpoints(ckpt_dir, rt)
        return metrics

    return run


# intermediate: keep the encoder only (the target phase puts a fresh head on it)
run_intermediate = _run(save_encoder, "validation")
# target: keep the whole task model for zero-shot evaluation per language
run_target = _run(save_task_model, "validation_en")

