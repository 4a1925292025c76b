"""The multi-task intermediate model: one shared encoder, one head per task, proportional task sampling.

As jiant's ``ProportionalMultiTaskSampler``: each batch holds one task, and each task's share of the batches is
proportional to its (optionally capped, jiant's ``train_examples_cap``) training size. The member tasks are listed
explicitly in the config (``multitask.tasks``); a member without training data is an error naming it, never a
silently smaller mix. Training, checkpointing and resume are ``xstilts.training.fit``'s: the whole batch plan is
fixed by the seed before training, so a resumed run sees the same batches.

**Multilingual masked-language modelling as one more member** (off by default; ``run_multitask(mlm=MLMSettings(...))``),
as jiant trains MLM as one more task of its multi-task sampler. MLM has its own head -- the encoder's masked-LM head
(``AutoModelForMaskedLM``; for XLM-R the masked-positions-only variant of ``xstilts.pretrain``), pretrained when the
initial checkpoint holds one, its output projection tied to the *shared* encoder's input embeddings as in XLM-R --
and its own batches, which hold MLM text only. Its data are ``mono`` tables (``xstilts.contracts``, column ``text``),
one per language, each capped at ``cap_per_language`` rows (a seeded sample, file order kept), tokenised with the
model's tokenizer and truncated to ``max_seq_length``; a language whose file is missing or holds no text is an error
naming the language and the file. Masking is transformers' ``DataCollatorForLanguageModeling`` (BERT's rule:
``probability`` of the non-special tokens -- never ``<s>``, ``</s>``, ``<pad>`` or any other special token -- are
predicted, 80% replaced by ``<mask>``, 10% by a random token, 10% kept), seeded per batch by its content
(``xstilts.pretrain.mlm_collate``) so that a resumed run masks every batch as the uninterrupted run did.

The mixing rule (recorded in the metrics under ``mlm``):

* ``share`` (default): a fraction ``share`` of each epoch's batches are MLM batches. An epoch holds the task
  batches exactly as without MLM (proportional, capped, above) plus ``max(1, round(share / (1 - share) * T))`` MLM
  batches, T being the epoch's task batches; the two kinds are interleaved at seeded random positions. The tasks
  keep their share of the task batches, so among the tasks nothing changes.
* ``proportional``: jiant's rule, MLM as one more member sampled in proportion to its size -- the epoch holds
  ``ceil(min(N, cap) / batch_size)`` MLM batches, N being the number of MLM sequences (all languages) and ``cap``
  the per-task cap of the multi-task model.

``epochs`` counts task epochs: the tasks see exactly as many examples as without MLM, and the MLM batches come on
top (more optimizer steps; the warm-up ratio applies to all of them). MLM batches walk through the MLM sequences as
an endless stream of seeded permutations, so no sequence repeats before all were seen, independently of the task
epochs. The MLM batches use the run's ``batch_size``. Model selection (``eval_every``) stays the mean of the member
tasks' main metrics: MLM is trained, never scored for selection. Only the shared encoder is saved, as without MLM.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoTokenizer

from xstilts import contracts
from xstilts.features import read_features
from xstilts.finetune import load_model, validate
from xstilts.io import atomic_dir, atomic_write_json
from xstilts.pretrain import MaskedOnlyMLM, mlm_collate
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

MASK_SPLIT = (0.8, 0.1)  # of the tokens selected for MLM: replaced by <mask>, by a random token (the rest kept; BERT)


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

    def aliases(self) -> dict[str, str]:
        """State-dict keys that name a tensor already named by an earlier key (alias -> that key): the output
        projection of a head tied to the shared input embeddings (the MLM head). Empty without tied weights."""
        out, first = {}, {}
        for k, t in super().state_dict(keep_vars=True).items():
            if not isinstance(t, torch.Tensor) or t.numel() == 0:
                continue
            key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)
            if key in first:
                out[k] = first[key]
            else:
                first[key] = k
        return out

    def state_dict(self, *args, **kwargs):
        """Each tensor once (safetensors refuses a checkpoint that holds one twice); without tied weights, the plain
        state dict."""
        sd = super().state_dict(*args, **kwargs)
        for alias in self.aliases():
            sd.pop(kwargs.get("prefix", "") + alias, None)
        return sd

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """A state dict without the aliases (as ``state_dict`` writes it) loads completely: each alias is filled from
        the key it shares its tensor with."""
        fill = {a: k for a, k in self.aliases().items() if a not in state_dict and k in state_dict}
        if fill:
            meta = getattr(state_dict, "_metadata", None)
            state_dict = OrderedDict(state_dict)
            if meta is not None:
                state_dict._metadata = meta
            for alias, key in fill.items():
                state_dict[alias] = state_dict[key]
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


def tie_to_shared(head: nn.Module, shared: nn.Module) -> None:
    """The head's output projection uses the shared encoder's input embeddings (as ``tie_weights`` does for a
    model that owns its encoder), when the model ties them."""
    out = head.get_output_embeddings()
    if out is not None and getattr(head.config, "tie_word_embeddings", True):
        out.weight = shared.get_input_embeddings().weight


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


@dataclass(frozen=True)
class MLMSettings:
    """Multilingual MLM as a member of the multi-task model (module docstring: the mixing rule).

    ``texts``: language -> path of its ``mono`` table. ``rule``: ``share`` (a fixed fraction ``share`` of the
    batches) or ``proportional`` (jiant: by size). ``cap_per_language``: rows of MLM text per language (None: all).
    ``probability``: the share of non-special tokens predicted. ``max_seq_length``: tokens per MLM sequence (at most
    the model's position table)."""

    texts: Mapping[str, str]
    rule: str = "share"
    share: float | None = None
    cap_per_language: int | None = None
    probability: float = 0.15
    max_seq_length: int = 128

    RULES = ("share", "proportional")

    def __post_init__(self):
        if not self.texts:
            raise DataError("mlm.languages: no language listed; MLM needs monolingual text of at least one language")
        if self.rule not in self.RULES:
            raise ValueError(f"mlm.rule: {self.rule!r} is not a mixing rule (known: {', '.join(self.RULES)})")
        if self.rule == "share" and (self.share is None or not 0 < self.share < 1):
            raise ValueError(f"mlm.share: {self.share!r} must lie strictly between 0 and 1 (the fraction of MLM batches)")
        if self.cap_per_language is not None and self.cap_per_language < 1:
            raise ValueError(f"mlm.cap_per_language: {self.cap_per_language} must be at least 1 (or null: no cap)")
        if not 0 < self.probability < 1:
            raise ValueError(f"mlm.probability: {self.probability} must lie strictly between 0 and 1")
        if self.max_seq_length < 3:
            raise ValueError(f"mlm.max_seq_length: {self.max_seq_length} leaves no room for a token between <s> and </s>")


def mlm_batch_count(task_batches: int, mlm_sequences: int, batch_size: int, s: MLMSettings, cap: int | None) -> int:
    """MLM batches per epoch under the settings' mixing rule (module docstring)."""
    if s.rule == "share":
        return max(1, round(s.share / (1 - s.share) * task_batches))
    return math.ceil(min(mlm_sequences, cap or mlm_sequences) / batch_size)


def mlm_stream(n: int, seed: int, start: int, count: int) -> list[int]:
    """Items ``start`` .. ``start + count - 1`` of the endless MLM stream over ``n`` sequences: seeded permutations of
    ``range(n)``, one after another, so every sequence is seen once before any is seen again."""
    out = []
    for k in range(start // n, (start + count - 1) // n + 1):
        perm = list(range(n))
        random.Random(f"{seed}:mlm-stream:{k}").shuffle(perm)
        lo, hi = max(start - k * n, 0), min(start + count - k * n, n)
        out += perm[lo:hi]
    return out


def mixed_batches(sizes: list[int], mlm_sequences: int, batch_size: int, seed: int, epoch: int, s: MLMSettings,
                  cap: int | None = None) -> list[tuple[int, list[int]]]:
    """One epoch of the multi-task plan with MLM: the task batches exactly as ``proportional_batches`` draws them
    without MLM, plus the rule's number of MLM batches (task index ``len(sizes)``, indices into the MLM sequences)
    at seeded random positions."""
    tasks = proportional_batches(sizes, batch_size, seed + epoch, cap)
    n = mlm_batch_count(len(tasks), mlm_sequences, batch_size, s, cap)
    stream = mlm_stream(mlm_sequences, seed, epoch * n * batch_size, n * batch_size)
    mlm = [(len(sizes), stream[i : i + batch_size]) for i in range(0, len(stream), batch_size)]
    slots = [False] * len(tasks) + [True] * len(mlm)
    random.Random(f"{seed}:mlm-slots:{epoch}").shuffle(slots)
    t, m = iter(tasks), iter(mlm)
    return [next(m) if is_mlm else next(t) for is_mlm in slots]


def mlm_features(s: MLMSettings, tokenizer, max_length: int, seed: int) -> tuple[list[dict], dict]:
    """Tokenised MLM sequences of every language (in the settings' order) and what the metrics record about them."""
    feats, record = [], {}
    for lang, path in s.texts.items():
        p = Path(path)
        if not p.is_file():
            raise DataError(f"mlm.languages: the MLM text of language '{lang}' is missing ({p}); supply it or remove "
                            "the language")
        rows = [t for t in contracts.read("mono", p)["text"] if isinstance(t, str) and t.strip()]
        if not rows:
            raise DataError(f"mlm.languages: the MLM text of language '{lang}' ({p}) holds no non-empty text")
        in_file = len(rows)
        if s.cap_per_language is not None and len(rows) > s.cap_per_language:
            keep = sorted(random.Random(f"{seed}:mlm-cap:{lang}").sample(range(len(rows)), s.cap_per_language))
            rows = [rows[i] for i in keep]
        ids = tokenizer(rows, truncation=True, max_length=max_length)["input_ids"]
        feats += [{"input_ids": list(x)} for x in ids]
        record[lang] = {"path": str(p), "rows_in_file": in_file, "sequences": len(rows)}
    return feats, record


def mlm_max_length(s: MLMSettings, tokenizer, init_dir) -> int:
    """The settings' sequence length, at most what the tokenizer and the position table (less RoBERTa's offset of
    two, harmless elsewhere) allow."""
    return min(s.max_seq_length, tokenizer.model_max_length, AutoConfig.from_pretrained(init_dir).max_position_embeddings - 2)


def mlm_collator(tokenizer, s: MLMSettings, seed: int):
    """The MLM batches' collation: transformers' ``DataCollatorForLanguageModeling`` (special tokens and padding
    never selected, ``MASK_SPLIT``), masks seeded by the batch's content (``xstilts.pretrain.mlm_collate``)."""
    return mlm_collate(tokenizer, s.probability, seed, mask_replace_prob=MASK_SPLIT[0], random_replace_prob=MASK_SPLIT[1])


def mlm_head(init_dir, seed: int) -> tuple[nn.Module, bool]:
    """The encoder's masked-LM model from ``init_dir`` and whether its head was in the checkpoint (True) or is newly
    initialised (False: an encoder-only checkpoint; initialised from ``seed``, the global RNG untouched). XLM-R gets
    the masked-positions-only variant (same loss, the vocabulary projection only where a token is predicted)."""
    cls = MaskedOnlyMLM if AutoConfig.from_pretrained(init_dir).model_type == "xlm-roberta" else AutoModelForMaskedLM
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model, info = cls.from_pretrained(init_dir, output_loading_info=True)
    new = sorted(k for k in info["missing_keys"] if not k.startswith(model.base_model_prefix + "."))
    if new:
        log.warning("the MLM head is newly initialised (%s not in %s)", ", ".join(new), init_dir)
    return model, not new


def plan_fingerprint(plan: list) -> str:
    return hashlib.sha256(json.dumps(plan, separators=(",", ":")).encode()).hexdigest()


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
                  valid_paths: dict[str, str] | None = None, runtime: Runtime | None = None,
                  mlm: MLMSettings | None = None) -> dict:
    """Train the multi-task model on the listed ``tasks`` (and, with ``mlm``, multilingual MLM as one more member);
    save the shared encoder (+ tokenizer) and the metrics."""
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
    if mlm is not None:  # every language's text read before any model is loaded: a missing file stops the run early
        max_len = mlm_max_length(mlm, tokenizer, init_dir)
        mlm_feats, mlm_record = mlm_features(mlm, tokenizer, max_len, seed)
        mlm_offset = len(feats)
        feats += [dict(x, task=len(names)) for x in mlm_feats]
    models = [load_model(tt, init_dir, specs[n]) for n, tt in zip(names, types)]
    collates = [tt.collate(tokenizer) for tt in types]
    if mlm is not None:
        head, head_pretrained = mlm_head(init_dir, seed)
        models.append(head)
        collates.append(mlm_collator(tokenizer, mlm, seed))
    model = MultiTaskModel(models, AutoModel.from_pretrained(init_dir, add_pooling_layer=True))
    if mlm is not None:
        tie_to_shared(model.heads[len(names)], model.shared)

    def collate(batch):
        t = batch[0]["task"]
        out = collates[t]([{k: v for k, v in b.items() if k != "task"} for b in batch])
        out["task"] = torch.full((len(batch),), t, dtype=torch.long)
        return out

    def epoch(e: int) -> list[list[int]]:
        return [[offsets[t] + i for i in idx] for t, idx in proportional_batches(sizes, hp.batch_size, seed + e, cap)]

    def mixed_epoch(e: int) -> list[list[int]]:
        return [[(offsets[t] if t < len(names) else mlm_offset) + i for i in idx]
                for t, idx in mixed_batches(sizes, len(mlm_feats), hp.batch_size, seed, e, mlm, cap)]

    plan = training_plan(epoch if mlm is None else mixed_epoch, hp.epochs)
    selector, select_on, selection = None, None, None
    if hp.eval_every and valid_paths:
        subsets = {n: validation_subset(valid_paths[n], hp.eval_samples) for n in names}
        selection = {n: subset_record(valid_paths[n], df) for n, df in subsets.items()}

        def selector(m):  # jiant's multi-task selection: the mean of the tasks' main metrics
            dev = next(m.parameters()).device
            m.eval()  # the shared encoder too (predict() switches only the head it is given)
            scores = {n: tt.predict(h, subsets[n], tokenizer, specs[n], hp.batch_size, dev)[main_metric(specs[n])]
                      for n, tt, h in zip(names, types, m.heads)}  # the member tasks' heads: MLM is never scored
            return {"mean_main_metric": sum(scores.values()) / len(scores), **{f"{n}_main": v for n, v in scores.items()}}

        select_on = "mean_main_metric"
    model, train_metrics = fit(model, feats, collate, hp, rt, ckpt_dir, seed, plan=plan, selector=selector, select_on=select_on)
    metrics = {"train": train_metrics, "tasks": names, "train_sizes": dict(zip(names, sizes)), "cap": cap}
    if selection:
        metrics["selection_subset"] = selection
    if mlm is not None:
        task_batches = batches_per_epoch(sizes, hp.batch_size, cap)
        per_epoch = mlm_batch_count(task_batches, len(mlm_feats), hp.batch_size, mlm, cap)
        planned = sum(feats[b[0]]["task"] == len(names) for b in plan)
        metrics["mlm"] = {
            "rule": mlm.rule, "share": mlm.share, "mlm_batches_per_epoch": per_epoch, "task_batches_per_epoch": task_batches,
            "effective_share": per_epoch / (per_epoch + task_batches), "planned_mlm_batches": planned,
            "planned_task_batches": len(plan) - planned, "languages": mlm_record, "sequences": len(mlm_feats),
            "cap_per_language": mlm.cap_per_language, "probability": mlm.probability, "mask_replace_prob": MASK_SPLIT[0],
            "random_replace_prob": MASK_SPLIT[1], "max_seq_length": max_len, "head_pretrained": head_pretrained,
            "selection": "mean of the member tasks' main metrics; MLM is not scored", "plan_sha256": plan_fingerprint(plan)}
    if valid_paths:
        model.eval()
        metrics["validation"] = {n: validate(h, tokenizer, specs[n], valid_paths[n], hp.batch_size) for n, h in zip(names, model.heads)}
    with atomic_dir(out_dir) as tmp:
        model.encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    atomic_write_json(metrics, metrics_path)
    finish_checkpoints(ckpt_dir, rt)
    return metrics
