"""The multi-task intermediate model: one shared encoder, one head per task, proportional task sampling.

As jiant's ``ProportionalMultiTaskSampler``: each batch holds one task, and each task's share of the batches is
proportional to its (optionally capped, jiant's ``train_examples_cap``) training size. The member tasks are listed
explicitly in the config (``multitask.tasks``); a member without training data is an error naming it, never a
silently smaller mix. Training, checkpointing and resume are ``xstilts.training.fit``'s: the whole batch plan is
fixed by the seed before training, so a resumed run sees the same batches.
"""

from __future__ import annotations

import logging
import math
import os
import random
from pathlib import Path

import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer

from xstilts.features import read_features
from xstilts.finetune import load_model, validate
from xstilts.io import atomic_dir, atomic_write_json
from xstilts.tasks import DataError, get_task_type, main_metric
from xstilts.training import (
    HParams,
    Runtime,
    finish_checkpoints,
    fit,
    prepare_outputs,
    subset_record,
    training_plan,
    validation_subset,
)

log = logging.getLogger(__name__)


class MultiTaskModel(nn.Module):
    """Task models whose encoders are one shared module; ``task`` in the batch picks the head.

    The encoder is registered once (``shared``); each task model refers to it without owning it, so the state dict
    (and every checkpoint) holds it once. ``train()``/``eval()`` on this module reach the encoder too."""

    def __init__(self, models: list[nn.Module], shared: nn.Module):
        super().__init__()
        # the shared encoder keeps its pooler: multiple-choice heads read the pooled output, the others ignore it
        self.shared = shared
        for m in models:
            del m._modules[m.base_model_prefix]
            object.__setattr__(m, m.base_model_prefix, shared)
        self.heads = nn.ModuleList(models)
        self.config = models[0].config

    @property
    def encoder(self):
        return self.shared

    def forward(self, task: torch.Tensor, **batch):
        return self.heads[int(task[0])](**batch)


def proportional_batches(sizes: list[int], batch_size: int, seed: int, cap: int | None = None) -> list[tuple[int, list[int]]]:
    """Task-homogeneous batches, shuffled so that each task's share of batches is proportional to its (capped) size.

    Returns (task index, example indices) pairs for one epoch; tasks larger than ``cap`` contribute a random ``cap``
    subset per epoch.
    """
    rng = random.Random(seed)
    batches = []
    for t, n in enumerate(sizes):
        idx = list(range(n))
        rng.shuffle(idx)
        if cap is not None:
            idx = idx[:cap]
        batches += [(t, idx[i : i + batch_size]) for i in range(0, len(idx), batch_size)]
    rng.shuffle(batches)
    return batches


def batches_per_epoch(sizes: list[int], batch_size: int, cap: int | None) -> int:
    return sum(math.ceil(min(n, cap or n) / batch_size) for n in sizes)


def check_members(names: list[str], feature_paths: dict[str, str]) -> None:
    """Every listed task must have its training features; the error names the task and the file."""
    if not names:
        raise DataError("config key 'multitask.tasks': no member task listed; list the intermediate tasks explicitly")
    for n in names:
        p = feature_paths.get(n)
        if not p or not Path(p).is_file():
            raise DataError(f"config key 'multitask.tasks': member task '{n}' has no training data ({p or 'no path given'}); "
                            "supply its data or remove it from the list")


def run_multitask(init_dir, feature_paths: dict[str, str], hp: HParams, out_dir, metrics_path, seed: int, *,
                  tasks: list[str], ckpt_dir: str | os.PathLike, cap: int | None = None,
                  valid_paths: dict[str, str] | None = None, runtime: Runtime | None = None) -> dict:
    """Train the multi-task model on the listed ``tasks``; save the shared encoder (+ tokenizer) and the metrics."""
    rt = runtime or Runtime()
    names = list(tasks)
    check_members(names, feature_paths)
    prepare_outputs(out_dir, metrics_path)
    tokenizer = AutoTokenizer.from_pretrained(init_dir)
    feats, sizes, offsets, specs, types = [], [], [], {}, []
    rng = random.Random(seed)
    for t, n in enumerate(names):
        f, meta = read_features(feature_paths[n], tokenizer)
        if not f:
            raise DataError(f"config key 'multitask.tasks': member task '{n}' has no training features ({feature_paths[n]})")
        if hp.max_train_samples is not None and len(f) > hp.max_train_samples:
            f = [f[i] for i in sorted(rng.sample(range(len(f)), hp.max_train_samples))]
        specs[n] = meta["spec"]
        types.append(get_task_type(specs[n]["type"]))
        offsets.append(len(feats))
        sizes.append(len(f))
        feats += [dict(x, task=t) for x in f]
    models = [load_model(tt, init_dir, specs[n]) for n, tt in zip(names, types)]
    model = MultiTaskModel(models, AutoModel.from_pretrained(init_dir, add_pooling_layer=True))
    collates = [tt.collate(tokenizer) for tt in types]

    def collate(batch):
        t = batch[0]["task"]
        out = collates[t]([{k: v for k, v in b.items() if k != "task"} for b in batch])
        out["task"] = torch.full((len(batch),), t, dtype=torch.long)
        return out

    def epoch(e: int) -> list[list[int]]:
        return [[offsets[t] + i for i in idx] for t, idx in proportional_batches(sizes, hp.batch_size, seed + e, cap)]

    plan = training_plan(epoch, hp.epochs)
    selector, select_on, selection = None, None, None
    if hp.eval_every and valid_paths:
        subsets = {n: validation_subset(valid_paths[n], hp.eval_samples) for n in names}
        selection = {n: subset_record(valid_paths[n], df) for n, df in subsets.items()}

        def selector(m):  # jiant's multi-task selection: the mean of the tasks' main metrics
            dev = next(m.parameters()).device
            m.eval()  # the shared encoder too (predict() switches only the head it is given)
            scores = {n: tt.predict(h, subsets[n], tokenizer, specs[n], hp.batch_size, dev)[main_metric(specs[n])]
                      for n, tt, h in zip(names, types, m.heads)}
            return {"mean_main_metric": sum(scores.values()) / len(scores), **{f"{n}_main": v for n, v in scores.items()}}

        select_on = "mean_main_metric"
    model, train_metrics = fit(model, feats, collate, hp, rt, ckpt_dir, seed, plan=plan, selector=selector, select_on=select_on)
    metrics = {"train": train_metrics, "tasks": names, "train_sizes": dict(zip(names, sizes)), "cap": cap}
    if selection:
        metrics["selection_subset"] = selection
    if valid_paths:
        model.eval()
        metrics["validation"] = {n: validate(h, tokenizer, specs[n], valid_paths[n], hp.batch_size) for n, h in zip(names, model.heads)}
    with atomic_dir(out_dir) as tmp:
        model.encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    atomic_write_json(metrics, metrics_path)
    finish_checkpoints(ckpt_dir, rt)
    return metrics
