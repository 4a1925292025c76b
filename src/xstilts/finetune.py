"""Fine-tuning: English intermediate tasks, the multi-task model, and target tasks (transformers ``Trainer``).

* An intermediate run trains a task model from the base encoder and saves **only the encoder** (plus the
  tokenizer): the target phase then loads the encoder and a fresh head, as jiant's ``--model_load_mode partial``.
* The multi-task run shares one encoder across all intermediate heads and samples each batch's task in proportion
  to its (optionally capped) training size, as jiant's ``ProportionalMultiTaskSampler``.
* A target run trains the whole task model on English and saves it for zero-shot evaluation per language.

Checkpoints are written to a temporary directory and renamed into place when complete.
"""

from __future__ import annotations

import logging
import math
import os
import random
import tempfile
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader
from transformers import AutoModel, AutoTokenizer, Trainer, TrainingArguments

from xstilts.io import atomic_dir, atomic_write_json
from xstilts.tasks import get_task_type

log = logging.getLogger(__name__)


@dataclass
class HParams:
    """Optimisation settings of one fine-tuning run (config: ``finetune.defaults`` overridden per task)."""

    learning_rate: float = 1e-5
    epochs: float = 3.0
    batch_size: int = 32
    grad_accum: int = 1
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    max_train_samples: int | None = None
    eval_every: int = 0  # steps; 0 = no validation during training
    eval_samples: int = 500
    early_stopping_patience: int = 0
    bf16: bool = True  # used on GPUs that support it

    @classmethod
    def from_dict(cls, d: dict) -> "HParams":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def load_split(path: str | os.PathLike, max_rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    df = pd.read_parquet(path)
    if max_rows is not None and len(df) > max_rows:
        df = df.sample(n=max_rows, random_state=seed).reset_index(drop=True)
    return df


def _training_args(hp: HParams, out_dir: str, seed: int, has_eval: bool) -> TrainingArguments:
    use_cuda = torch.cuda.is_available()
    eval_kw = {}
    if has_eval:
        eval_kw = dict(eval_strategy="steps", eval_steps=hp.eval_every, save_strategy="steps", save_steps=hp.eval_every,
                       load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False,
                       save_total_limit=1)
    else:
        eval_kw = dict(eval_strategy="no", save_strategy="no")
    return TrainingArguments(
        output_dir=out_dir,
        learning_rate=hp.learning_rate,
        num_train_epochs=hp.epochs,
        per_device_train_batch_size=hp.batch_size,
        per_device_eval_batch_size=hp.batch_size,
        gradient_accumulation_steps=hp.grad_accum,
        warmup_steps=hp.warmup_ratio,
        weight_decay=hp.weight_decay,
        max_grad_norm=hp.max_grad_norm,
        lr_scheduler_type="linear",
        seed=seed,
        data_seed=seed,
        bf16=bool(hp.bf16 and use_cuda and torch.cuda.is_bf16_supported()),
        use_cpu=not use_cuda,
        logging_steps=50,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        **eval_kw,
    )


def _callbacks(hp: HParams) -> list:
    if hp.eval_every and hp.early_stopping_patience:
        from transformers import EarlyStoppingCallback

        return [EarlyStoppingCallback(early_stopping_patience=hp.early_stopping_patience)]
    return []


class FeatureDataset(torch.utils.data.Dataset):
    """A list of feature dicts as a map-style dataset for Trainer."""

    def __init__(self, feats: list[dict]):
        self.feats = feats

    def __len__(self):
        return len(self.feats)

    def __getitem__(self, i):
        return self.feats[i]


def _strip(feats: list[dict]) -> list[dict]:
    keep = ("input_ids", "labels", "start_positions", "end_positions")
    return [{k: v for k, v in f.items() if k in keep} for f in feats]


def with_labels(spec: dict, train: pd.DataFrame) -> dict:
    """A tagging task without a configured label list (CCG's 1,363 supertags) takes the training data's tag set."""
    if "tags" in train and not spec.get("labels"):
        return {**spec, "labels": sorted({t for tags in train["tags"] for t in tags})}
    return spec


def train_task(init_dir: str, spec: dict, hp: HParams, train_path: str, valid_path: str | None, seed: int):
    """Train one task model from ``init_dir`` (any checkpoint holding the encoder); return (model, tokenizer)."""
    tt = get_task_type(spec["type"])
    tokenizer = AutoTokenizer.from_pretrained(init_dir)
    train = load_split(train_path, hp.max_train_samples, seed)
    spec = with_labels(spec, train)
    model = tt.auto_model.from_pretrained(init_dir, **tt.model_kwargs(spec))
    feats = _strip(tt.featurize(train, tokenizer, spec))
    eval_ds = None
    if hp.eval_every and valid_path:
        valid = load_split(valid_path, hp.eval_samples, seed)
        eval_ds = FeatureDataset(_strip(tt.featurize(valid, tokenizer, spec)))
    with tempfile.TemporaryDirectory() as scratch:
        trainer = Trainer(model=model, args=_training_args(hp, scratch, seed, eval_ds is not None),
                          data_collator=tt.collate(tokenizer), train_dataset=FeatureDataset(feats), eval_dataset=eval_ds,
                          callbacks=_callbacks(hp))
        result = trainer.train()
    log.info("trained %s: %s", spec["type"], result.metrics)
    return trainer.model, tokenizer, result.metrics, spec


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
    tt = get_task_type(spec["type"])
    df = load_split(valid_path, max_rows)
    device = next(model.parameters()).device
    return tt.predict(model, df, tokenizer, spec, batch_size, device)


def _run(save, valid_key: str):
    def run(init_dir, spec, hp, train_path, valid_path, out_dir, metrics_path, seed) -> dict:
        model, tok, train_metrics, spec = train_task(init_dir, spec, hp, train_path, valid_path, seed)
        metrics = {"train": train_metrics, valid_key: validate(model, tok, spec, valid_path, hp.batch_size, hp.eval_samples)}
        save(model, tok, out_dir)
        atomic_write_json(metrics, metrics_path)
        return metrics

    return run


# intermediate: keep the encoder only (the target phase puts a fresh head on it)
run_intermediate = _run(save_encoder, "validation")
# target: keep the whole task model for zero-shot evaluation per language
run_target = _run(save_task_model, "validation_en")


# --------------------------------------------------------------------------------------------------------------
# multi-task: one shared encoder, one head per task, proportional task sampling
# --------------------------------------------------------------------------------------------------------------


class MultiTaskModel(nn.Module):
    """Task models whose encoders are one shared module; ``task`` in the batch picks the head."""

    def __init__(self, models: list[nn.Module], shared: nn.Module):
        super().__init__()
        # the shared encoder keeps its pooler: multiple-choice heads read the pooled output, the others ignore it
        for m in models:
            setattr(m, m.base_model_prefix, shared)
        self.heads = nn.ModuleList(models)
        self.config = models[0].config

    @property
    def encoder(self):
        return self.heads[0].base_model

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


class _MTBatchSampler(torch.utils.data.Sampler):
    def __init__(self, sizes, offsets, batch_size, seed, cap):
        self.sizes, self.offsets, self.batch_size, self.seed, self.cap = sizes, offsets, batch_size, seed, cap
        self.epoch = 0

    def __iter__(self):
        plan = proportional_batches(self.sizes, self.batch_size, self.seed + self.epoch, self.cap)
        self.epoch += 1
        for t, idx in plan:
            yield [self.offsets[t] + i for i in idx]

    def __len__(self):
        return sum(math.ceil(min(n, self.cap or n) / self.batch_size) for n in self.sizes)


class MultiTaskTrainer(Trainer):
    def __init__(self, *args, mt_sampler=None, mt_collate=None, **kw):
        super().__init__(*args, **kw)
        self.mt_sampler, self.mt_collate = mt_sampler, mt_collate

    def get_train_dataloader(self) -> DataLoader:
        dl = DataLoader(self.train_dataset, batch_sampler=self.mt_sampler, collate_fn=self.mt_collate, num_workers=0)
        return self.accelerator.prepare(dl)


def run_multitask(init_dir, specs: dict[str, dict], hp: HParams, train_paths: dict[str, str], out_dir, metrics_path,
                  seed: int, cap: int | None = None, valid_paths: dict[str, str] | None = None) -> dict:
    tokenizer = AutoTokenizer.from_pretrained(init_dir)
    names = list(specs)
    types = [get_task_type(specs[n]["type"]) for n in names]
    frames = {n: load_split(train_paths[n], hp.max_train_samples, seed) for n in names}
    specs = {n: with_labels(specs[n], frames[n]) for n in names}
    models = [tt.auto_model.from_pretrained(init_dir, **tt.model_kwargs(specs[n])) for n, tt in zip(names, types)]
    model = MultiTaskModel(models, AutoModel.from_pretrained(init_dir, add_pooling_layer=True))
    feats, sizes, offsets = [], [], []
    for t, (n, tt) in enumerate(zip(names, types)):
        f = _strip(tt.featurize(frames[n], tokenizer, specs[n]))
        offsets.append(len(feats))
        sizes.append(len(f))
        feats += [dict(x, task=t) for x in f]
    collates = [tt.collate(tokenizer) for tt in types]

    def collate(batch):
        t = batch[0]["task"]
        out = collates[t]([{k: v for k, v in b.items() if k != "task"} for b in batch])
        out["task"] = torch.full((len(batch),), t, dtype=torch.long)
        return out

    sampler = _MTBatchSampler(sizes, offsets, hp.batch_size, seed, cap)
    with tempfile.TemporaryDirectory() as scratch:
        trainer = MultiTaskTrainer(model=model, args=_training_args(hp, scratch, seed, False), train_dataset=FeatureDataset(feats),
                                   data_collator=collate, mt_sampler=sampler, mt_collate=collate)
        result = trainer.train()
    metrics = {"train": result.metrics, "tasks": names, "train_sizes": dict(zip(names, sizes)), "cap": cap}
    if valid_paths:
        metrics["validation"] = {n: validate(m, tokenizer, specs[n], valid_paths[n], hp.batch_size, hp.eval_samples)
                                 for n, m in zip(names, model.heads)}
    with atomic_dir(out_dir) as tmp:
        model.encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    atomic_write_json(metrics, metrics_path)
    return metrics


# --------------------------------------------------------------------------------------------------------------
# zero-shot evaluation per language
# --------------------------------------------------------------------------------------------------------------


def evaluate_languages(model_dir: str, spec: dict, test_paths: dict[str, str], out_paths: dict[str, str], batch_size: int,
                       device, meta: dict) -> dict[str, dict]:
    """Load the target model once and score every language's test file; one JSON per language."""
    tt = get_task_type(spec["type"])
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = tt.auto_model.from_pretrained(model_dir).to(device)
    if tt.head_width is None and not spec.get("labels"):  # label set learnt from the training data
        spec = {**spec, "labels": [model.config.id2label[i] for i in range(model.config.num_labels)]}
    results = {}
    for lang, path in test_paths.items():
        df = pd.read_parquet(path)
        m = tt.predict(model, df, tokenizer, spec, batch_size, device)
        m.update(meta, language=lang, metric=tt.main_metric, score=m[tt.main_metric])
        atomic_write_json(m, out_paths[lang])
        results[lang] = m
    return results
