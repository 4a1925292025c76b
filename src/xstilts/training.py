"""The resumable training harness shared by pretraining, fine-tuning and the multi-task model (transformers
``Trainer`` over a fixed plan of batches).

**Resume, never restart.** Every run checkpoints (model, optimizer, scheduler, RNG states, trainer state) into its
own directory under ``results/`` every ``training.checkpoint_every`` optimizer steps and when the job receives
SIGTERM or SIGUSR1 (SLURM sends one before the time limit); it then exits with status 128 + signal. A checkpoint
counts only once its ``checkpoint_complete`` marker is written (after Trainer finished saving it), so a kill during
saving leaves an incomplete directory that the next run deletes. The next run of the same job resumes from the
latest complete checkpoint. The training order is a **plan** of batches fixed by the seed before training starts
(length-grouped, ``training_plan``), read sequentially, so a resumed run sees the same batches in the same order
and ends with the same weights and metrics as an uninterrupted one. The checkpoints are removed once the final
model is in place (``training.keep_after_success`` keeps them).

**Model selection** (``eval_every`` > 0) is on a caller-given metric (``selector``), computed on a deterministic
validation subset: the first ``eval_samples`` rows of the validation file, as jiant's ``eval_subset_num``.

**Throughput.** Batches of similar length padded per batch (not to ``max_seq_length``), bf16 autocast and fused
AdamW on GPUs; ``torch.compile`` is an option (``training.torch_compile``).
"""

from __future__ import annotations

import logging
import math
import os
import random
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import ExportableState

from xstilts.io import remove_stale_temps
from xstilts.plan import Runtime  # the training.* settings: typed in the plan, torch-free
from xstilts.tasks import read_frame

log = logging.getLogger(__name__)

COMPLETE = "checkpoint_complete"  # written into a checkpoint directory once Trainer has finished saving it
SIGNALS = (signal.SIGTERM, signal.SIGUSR1)

@dataclass
class HParams:
    """Optimisation settings of one fine-tuning run (config: ``finetune_defaults`` overridden per task)."""

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
    group_by_length: bool = True  # batches of similar length (dynamic padding); False: plain shuffled batches

    @classmethod
    def from_dict(cls, d: dict) -> HParams:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class Interrupted(SystemExit):
    """Raised after a checkpoint was written on SIGTERM/SIGUSR1; the job exits with status 128 + signal."""


def load_split(path: str | os.PathLike, max_rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    """A training split, optionally a seeded random subset of ``max_rows`` rows."""
    df = read_frame(path)
    if max_rows is not None and len(df) > max_rows:
        src = df.attrs.get("source")
        df = df.sample(n=max_rows, random_state=seed).reset_index(drop=True)
        df.attrs["source"] = src
    return df


def validation_subset(path: str | os.PathLike, n: int | None) -> pd.DataFrame:
    """The model-selection subset: the first ``n`` rows of the validation file, in file order (jiant's
    ``eval_subset_num``), so that it is the same for every run and condition."""
    df = read_frame(path)
    if n is not None and len(df) > n:
        src = df.attrs.get("source")
        df = df.iloc[:n].reset_index(drop=True)
        df.attrs["source"] = src
    return df


def subset_record(path, df: pd.DataFrame) -> dict:
    """What the metrics file records about the selection subset."""
    return {"path": str(path), "rows": f"first {len(df)} rows (file order)", "n": len(df)}


# --------------------------------------------------------------------------------------------------------------
# the training plan: a fixed sequence of batches, so that a resumed run sees exactly the same data order
# --------------------------------------------------------------------------------------------------------------


def feature_length(f: dict) -> int:
    ids = f["input_ids"]
    return sum(len(x) for x in ids) if ids and isinstance(ids[0], list) else len(ids)


def length_grouped_batches(lengths: list[int], batch_size: int, seed: int, group_by_length: bool = True,
                           mega: int = 50) -> list[list[int]]:
    """One epoch of batches: shuffle, then (``group_by_length``) sort by length inside mega-batches of ``mega``
    batches (transformers' ``LengthGroupedSampler``), so that each batch pads to a similar length; batch order is
    shuffled again so lengths do not trend through the epoch."""
    rng = random.Random(seed)
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    if group_by_length:
        step = mega * batch_size
        idx = [i for s in range(0, len(idx), step) for i in sorted(idx[s : s + step], key=lambda i: -lengths[i])]
    batches = [idx[i : i + batch_size] for i in range(0, len(idx), batch_size)]
    if group_by_length:
        rng.shuffle(batches)
    return batches


def training_plan(epoch_batches: Callable[[int], list], epochs: float) -> list:
    """Batches of ``ceil(epochs)`` epochs (epoch e drawn with ``epoch_batches(e)``), cut to ``epochs`` worth."""
    plan, per_epoch = [], None
    for e in range(max(1, math.ceil(epochs))):
        b = epoch_batches(e)
        per_epoch = per_epoch or len(b)
        plan += b
    return plan[: max(1, round(epochs * per_epoch))]


class PlanDataset(torch.utils.data.Dataset):
    """Item i is the i-th batch of the plan (a list of feature dicts); read in order with batch size 1."""

    def __init__(self, feats: list[dict], plan: list):
        self.feats, self.plan = feats, plan

    def __len__(self):
        return len(self.plan)

    def __getitem__(self, i):
        return [self.feats[j] for j in self.plan[i]]


def plan_collate(collate):
    """The task collator applied to the single planned batch the DataLoader hands over."""

    def fn(items):
        (batch,) = items
        return collate(batch)

    return fn


def non_pad_tokens(batch) -> int:
    return sum(feature_length(f) for f in batch)


# --------------------------------------------------------------------------------------------------------------
# checkpoints: complete ones only, resume, signals
# --------------------------------------------------------------------------------------------------------------


def _step(p: Path) -> int:
    try:
        return int(p.name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return -1


def complete_checkpoints(ckpt_dir: str | os.PathLike, clean: bool = True) -> list[Path]:
    """Complete checkpoints (marker present), oldest first; incomplete ones (a kill during saving) are deleted."""
    d = Path(ckpt_dir)
    if not d.is_dir():
        return []
    done = []
    for p in sorted(d.glob("checkpoint-*"), key=_step):
        if (p / COMPLETE).exists():
            done.append(p)
        elif clean and p.is_dir():
            log.warning("removing incomplete checkpoint %s (the job was killed while saving it)", p)
            shutil.rmtree(p, ignore_errors=True)
    return done


def latest_checkpoint(ckpt_dir: str | os.PathLike) -> str | None:
    done = complete_checkpoints(ckpt_dir)
    return str(done[-1]) if done else None


class CompleteMarker(TrainerCallback):
    """Marks a checkpoint complete after Trainer has written all of it (weights, optimizer, scheduler, RNG, state)."""

    def on_save(self, args, state, control, **kw):
        p = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if p.is_dir():
            (p / COMPLETE).write_text(f"{state.global_step}\n")
        return control


class StopOnSignal(TrainerCallback):
    """SIGTERM/SIGUSR1: finish the current optimizer step, save a checkpoint, stop; the caller then exits."""

    def __init__(self, save_at_end: bool = True):
        self.received: int | None = None
        self.save_at_end = save_at_end
        self._previous: dict = {}

    def _handler(self, signum, frame):
        log.warning("received signal %d: checkpointing at the end of this step, then exiting", signum)
        self.received = signum

    def on_train_begin(self, args, state, control, **kw):
        for s in SIGNALS:
            self._previous[s] = signal.signal(s, self._handler)
        return control

    def on_step_end(self, args, state, control, **kw):
        if self.received is not None:
            control.should_save = True
            control.should_training_stop = True
        elif not self.save_at_end and state.global_step >= state.max_steps and state.global_step % max(1, args.save_steps):
            control.should_save = False  # Trainer's end-of-training checkpoint: the final model is saved next anyway
        return control

    def restore(self):
        for s, h in self._previous.items():
            signal.signal(s, h)
        self._previous.clear()


class LossTracker(TrainerCallback, ExportableState):
    """The running sum of training losses, saved in every checkpoint, so that the reported mean training loss of a
    resumed run covers all of its steps (Trainer's own ``train_loss`` only covers the last process's steps). The sum
    stays on the device between checkpoints (no synchronisation per step)."""

    def __init__(self, total: float = 0.0):
        self.total = torch.tensor(total, dtype=torch.float64)

    def add(self, loss: torch.Tensor) -> None:
        self.total = self.total.to(loss.device) + loss.detach().to(torch.float64)

    def state(self) -> dict:
        return {"args": {"total": float(self.total)}, "attributes": {}}


class PlanTrainer(Trainer):
    """Trainer over a fixed plan of batches; ``evaluate`` scores with the task's own metric (``selector``).

    ``loss_is_scaled_for_ga = False``: every head here (transformers' XLM-R task heads, the multi-task model, the
    MLM head) returns the *mean* loss of its micro-batch and ignores ``num_items_in_batch``, but their ``forward``
    takes ``**kwargs``, from which Trainer infers that the loss is already normalised for gradient accumulation and
    skips the division by ``gradient_accumulation_steps``: with ``grad_accum`` = g the gradient would be g times the
    mean's (clipping at ``max_grad_norm`` g times too early). Trainer divides again with this set."""

    loss_is_scaled_for_ga = False

    def __init__(self, *args, selector: Callable | None = None, **kw):
        super().__init__(*args, **kw)
        self.selector = selector

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        for cb in self.callback_handler.callbacks:
            if isinstance(cb, LossTracker):
                cb.add(loss)
        return loss

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        if self.selector is None:
            return super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
        was_training = self.model.training
        scores = self.selector(self.model)
        self.model.train(was_training)
        metrics = {f"{metric_key_prefix}_{k}": float(v) for k, v in scores.items() if isinstance(v, (int, float))}
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics=metrics)
        return metrics


def _training_args(hp: HParams, rt: Runtime, out_dir: str, seed: int, select_on: str | None) -> TrainingArguments:
    cuda = torch.cuda.is_available()
    if select_on:
        # Trainer can only reload the best state if one was saved at that evaluation: save at every validation
        kw = {"eval_strategy": "steps", "eval_steps": hp.eval_every, "save_strategy": "steps", "save_steps": hp.eval_every,
              "load_best_model_at_end": True, "metric_for_best_model": select_on, "greater_is_better": True}
    else:
        every = rt.checkpoint_every or 10**12  # 0: never on a schedule, only on a signal
        kw = {"eval_strategy": "no", "save_strategy": "steps", "save_steps": every}
    return TrainingArguments(
        output_dir=out_dir,
        learning_rate=hp.learning_rate,
        num_train_epochs=1,  # the plan already holds every epoch
        per_device_train_batch_size=1,  # one planned batch per DataLoader item
        per_device_eval_batch_size=hp.batch_size,
        gradient_accumulation_steps=hp.grad_accum,
        warmup_steps=hp.warmup_ratio,
        weight_decay=hp.weight_decay,
        max_grad_norm=hp.max_grad_norm,
        lr_scheduler_type="linear",
        optim="adamw_torch_fused" if cuda else "adamw_torch",
        seed=seed,
        data_seed=seed,
        bf16=bool(hp.bf16 and cuda and torch.cuda.is_bf16_supported()),
        use_cpu=not cuda,
        torch_compile=bool(rt.torch_compile and cuda),
        train_sampling_strategy="sequential",
        dataloader_num_workers=min(4, max(0, rt.threads // 2)) if cuda else 0,
        dataloader_pin_memory=cuda,
        save_total_limit=max(1, rt.keep_checkpoints),
        restore_callback_states_from_checkpoint=True,  # early-stopping patience survives a resume
        logging_steps=50,
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        **kw,
    )


def fit(model, feats: list[dict], collate, hp: HParams, rt: Runtime, ckpt_dir: str | os.PathLike, seed: int, *,
        plan: list | None = None, selector: Callable | None = None, select_on: str | None = None,
        eval_placeholder=None, callbacks: list | None = None):
    """Train ``model`` on ``feats`` with Trainer, resuming from the latest complete checkpoint in ``ckpt_dir``.

    ``plan`` (default: length-grouped batches of ``hp.batch_size``, ``hp.epochs`` epochs, seeded) fixes the data
    order. With ``selector`` (model -> metrics) and ``select_on`` (a key of its metrics) the run validates every
    ``hp.eval_every`` steps and ends on the best state. Returns the Trainer's metrics (plus tokens and the step it
    resumed from); raises ``Interrupted`` after checkpointing on SIGTERM/SIGUSR1."""
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    if plan is None:
        lengths = [feature_length(f) for f in feats]
        plan = training_plan(lambda e: length_grouped_batches(lengths, hp.batch_size, seed + e, hp.group_by_length), hp.epochs)
    select = bool(selector and select_on and hp.eval_every)
    args = _training_args(hp, rt, str(ckpt_dir), seed, select_on if select else None)
    stop = StopOnSignal(save_at_end=select)
    callbacks = [CompleteMarker(), stop, LossTracker(), *(callbacks or [])]
    if select and hp.early_stopping_patience:
        from transformers import EarlyStoppingCallback

        callbacks.append(EarlyStoppingCallback(early_stopping_patience=hp.early_stopping_patience))
    dataset = PlanDataset(feats, plan)
    trainer = PlanTrainer(model=model, args=args, data_collator=plan_collate(collate), train_dataset=dataset,
                          eval_dataset=(eval_placeholder or dataset) if select else None, callbacks=callbacks,
                          selector=selector if select else None)
    resume = latest_checkpoint(ckpt_dir)
    if resume:
        log.info("resuming from %s", resume)
    try:
        result = trainer.train(resume_from_checkpoint=resume)
    finally:
        stop.restore()
    if stop.received is not None:
        raise Interrupted(128 + int(stop.received))
    metrics = dict(result.metrics)
    tracker = next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, LossTracker))
    metrics["train_loss"] = float(tracker.total) / max(1, trainer.state.global_step)
    metrics.update(resumed_from_step=_step(Path(resume)) if resume else 0, optimizer_steps=trainer.state.global_step,
                   planned_batches=len(plan), train_tokens=sum(non_pad_tokens([feats[j] for j in b]) for b in plan))
    if select:
        metrics.update(best_step=trainer.state.best_global_step, best_metric=trainer.state.best_metric, selected_on=select_on)
    return trainer.model, metrics


def finish_checkpoints(ckpt_dir: str | os.PathLike, rt: Runtime) -> None:
    """Once the final model is in place: remove the job's checkpoints unless asked to keep them."""
    if not rt.keep_after_success:
        shutil.rmtree(ckpt_dir, ignore_errors=True)


def prepare_outputs(*paths) -> None:
    """Remove temporaries that a killed earlier attempt of this job left beside its outputs."""
    for p in paths:
        remove_stale_temps(p)
