"""Task-type registry: a task's *type* chooses its head, featurisation, collation, decoding and metric.

Adding a task means adding config metadata (its type, labels, data paths); adding a task *type* means registering
one ``TaskType`` here.  Nothing downstream branches on task names.
"""

from __future__ import annotations

import collections
import re
import string
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch
from transformers import (
    AutoModelForMultipleChoice,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
)

IGNORE = -100


@dataclass(frozen=True)
class TaskType:
    name: str
    auto_model: type
    featurize: Callable  # (df, tokenizer, spec) -> list[dict]
    collate: Callable  # (tokenizer) -> collate_fn(list[dict]) -> dict[str, Tensor]
    predict: Callable  # (model, df, tokenizer, spec, batch_size, device) -> dict metrics
    main_metric: str
    head_width: int | None = None  # fixed head width (QA: start/end = 2; MC: 1 score); None: the label count

    def model_kwargs(self, spec: dict) -> dict:
        """Head size for from_pretrained; an encoder saved from another task's model carries that task's
        num_labels in its config, so it is always set explicitly."""
        if self.head_width is not None:
            return {"num_labels": self.head_width}
        labels = list(spec["labels"])
        return {"num_labels": len(labels), "id2label": dict(enumerate(labels)), "label2id": {l: i for i, l in enumerate(labels)}}


REGISTRY: dict[str, TaskType] = {}


def register(tt: TaskType) -> TaskType:
    if tt.name in REGISTRY:
        raise ValueError(f"task type {tt.name!r} registered twice")
    REGISTRY[tt.name] = tt
    return tt


def get_task_type(name: str) -> TaskType:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown task type {name!r}; known: {sorted(REGISTRY)}") from None


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------


def _pad(seqs: list[list[int]], value: int) -> torch.Tensor:
    n = max(len(s) for s in seqs)
    return torch.tensor([s + [value] * (n - len(s)) for s in seqs], dtype=torch.long)


def _batches(n: int, batch_size: int, lengths: list[int] | None = None):
    """Index batches; length-sorted when lengths are given (less padding), order restored by the caller."""
    order = np.argsort(lengths, kind="stable") if lengths is not None else np.arange(n)
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]


def _collate_flat(tokenizer):
    pad_id = tokenizer.pad_token_id

    def collate(feats: list[dict]) -> dict:
        out = {"input_ids": _pad([f["input_ids"] for f in feats], pad_id)}
        out["attention_mask"] = _pad([[1] * len(f["input_ids"]) for f in feats], 0)
        for key, fill in (("labels", IGNORE), ("start_positions", None), ("end_positions", None)):
            if key in feats[0]:
                v = [f[key] for f in feats]
                out[key] = _pad(v, fill) if isinstance(v[0], list) else torch.tensor(v, dtype=torch.long)
        return out

    return collate


@torch.inference_mode()
def _logits(model, feats: list[dict], collate, batch_size: int, device) -> list[np.ndarray]:
    model.eval()
    out: list[np.ndarray | None] = [None] * len(feats)
    lengths = [len(f["input_ids"]) if "input_ids" in f and isinstance(f["input_ids"][0], int) else len(f["input_ids"][0]) for f in feats]
    for idx in _batches(len(feats), batch_size, lengths):
        batch = collate([{k: v for k, v in feats[i].items() if k in ("input_ids",)} for i in idx])
        batch = {k: v.to(device) for k, v in batch.items()}
        res = model(**batch)
        arr = torch.stack([res.start_logits, res.end_logits], -1) if hasattr(res, "start_logits") and res.start_logits is not None else res.logits
        arr = arr.float().cpu().numpy()
        for j, i in enumerate(idx):
            out[i] = arr[j]
    return out


# --------------------------------------------------------------------------------------------------------------
# pair / single-sentence classification (MNLI, QQP, SST-2, XNLI, PAWS-X)
# --------------------------------------------------------------------------------------------------------------


def featurize_classification(df: pd.DataFrame, tokenizer, spec: dict) -> list[dict]:
    s2 = df["sentence2"].tolist() if "sentence2" in df and df["sentence2"].notna().any() else None
    enc = tokenizer(df["sentence1"].tolist(), s2, truncation=True, max_length=spec["max_seq_length"])
    labels = df["label"].astype(int).tolist() if "label" in df else [IGNORE] * len(df)
    return [{"input_ids": ids, "labels": y} for ids, y in zip(enc["input_ids"], labels)]


def _argmax_accuracy(featurize, collate):
    """predict() for tasks scored by the argmax of one logit vector per example (classification, MC)."""

    def predict(model, df, tokenizer, spec, batch_size, device) -> dict:
        logits = _logits(model, featurize(df, tokenizer, spec), collate(tokenizer), batch_size, device)
        pred = np.array([int(np.argmax(l)) for l in logits])
        gold = df["label"].astype(int).to_numpy()
        return {"accuracy": float((pred == gold).mean()), "n": int(len(gold))}

    return predict


predict_classification = _argmax_accuracy(featurize_classification, _collate_flat)


register(TaskType("pair_classification", AutoModelForSequenceClassification, featurize_classification, _collate_flat,
                  predict_classification, "accuracy"))


# --------------------------------------------------------------------------------------------------------------
# multiple choice (HellaSwag, CosmosQA, CommonsenseQA)
# --------------------------------------------------------------------------------------------------------------


def featurize_mc(df: pd.DataFrame, tokenizer, spec: dict) -> list[dict]:
    feats = []
    for ctx, endings, label in zip(df["context"], df["endings"], df["label"]):
        endings = list(endings)
        enc = tokenizer([ctx] * len(endings), endings, truncation=True, max_length=spec["max_seq_length"])
        feats.append({"input_ids": enc["input_ids"], "labels": int(label)})
    return feats


def collate_mc(tokenizer):
    pad_id = tokenizer.pad_token_id

    def collate(feats: list[dict]) -> dict:
        n_choice = len(feats[0]["input_ids"])
        flat = [ids for f in feats for ids in f["input_ids"]]
        ids = _pad(flat, pad_id)
        mask = _pad([[1] * len(x) for x in flat], 0)
        out = {"input_ids": ids.view(len(feats), n_choice, -1), "attention_mask": mask.view(len(feats), n_choice, -1)}
        if "labels" in feats[0]:
            out["labels"] = torch.tensor([f["labels"] for f in feats], dtype=torch.long)
        return out

    return collate


predict_mc = _argmax_accuracy(featurize_mc, collate_mc)


register(TaskType("multiple_choice", AutoModelForMultipleChoice, featurize_mc, collate_mc, predict_mc, "accuracy", 1))


# --------------------------------------------------------------------------------------------------------------
# token tagging (UD-POS, PAN-X, CCG): label on the first sub-token of each word
# --------------------------------------------------------------------------------------------------------------


def featurize_tagging(df: pd.DataFrame, tokenizer, spec: dict) -> list[dict]:
    label_id = {l: i for i, l in enumerate(spec["labels"])}
    enc = tokenizer([list(t) for t in df["tokens"]], is_split_into_words=True, truncation=True, max_length=spec["max_seq_length"])
    feats = []
    for b, tags in enumerate(df["tags"]):
        word_ids = enc.word_ids(b)
        labels, prev = [], None
        for w in word_ids:
            labels.append(IGNORE if w is None or w == prev else label_id.get(tags[w], IGNORE))
            prev = w
        feats.append({"input_ids": enc["input_ids"][b], "labels": labels, "word_ids": word_ids})
    return feats


def predict_tagging(model, df, tokenizer, spec, batch_size, device) -> dict:
    from seqeval.metrics import accuracy_score, f1_score

    feats = featurize_tagging(df, tokenizer, spec)
    logits = _logits(model, feats, _collate_flat(tokenizer), batch_size, device)
    labels = spec["labels"]
    y_true, y_pred = [], []
    for f, lg, tags in zip(feats, logits, df["tags"]):
        first = {}
        for pos, w in enumerate(f["word_ids"]):
            if w is not None and w not in first:
                first[w] = pos
        # words cut off by truncation are predicted as the most frequent training tag would be: count them wrong
        y_true.append(list(tags))
        y_pred.append([labels[int(np.argmax(lg[first[w]]))] if w in first else "O" for w in range(len(tags))])
    return {"f1": float(f1_score(y_true, y_pred)), "accuracy": float(accuracy_score(y_true, y_pred)), "n": len(y_true)}


register(TaskType("tagging", AutoModelForTokenClassification, featurize_tagging, _collate_flat, predict_tagging, "f1"))


# --------------------------------------------------------------------------------------------------------------
# extractive span QA (SQuAD, XQuAD, MLQA, TyDiQA-GoldP): question first, context second, doc stride windows
# --------------------------------------------------------------------------------------------------------------


def _qa_encode(df: pd.DataFrame, tokenizer, spec: dict):
    return tokenizer(
        df["question"].tolist(),
        df["context"].tolist(),
        truncation="only_second",
        max_length=spec["max_seq_length"],
        stride=spec.get("doc_stride", 128),
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )


def featurize_qa(df: pd.DataFrame, tokenizer, spec: dict) -> list[dict]:
    enc = _qa_encode(df, tokenizer, spec)
    feats = []
    starts, texts = df["answer_start"].tolist(), df["answer_text"].tolist()
    for i, ids in enumerate(enc["input_ids"]):
        ex = enc["overflow_to_sample_mapping"][i]
        seq = enc.sequence_ids(i)
        offsets = enc["offset_mapping"][i]
        a0 = int(starts[ex])
        a1 = a0 + len(texts[ex])
        ctx = [k for k, s in enumerate(seq) if s == 1]
        s_tok = e_tok = 0  # CLS when the answer is outside this window
        if ctx and offsets[ctx[0]][0] <= a0 and offsets[ctx[-1]][1] >= a1:
            s_tok = next(k for k in ctx if offsets[k][1] > a0)
            e_tok = next(k for k in reversed(ctx) if offsets[k][0] < a1)
        feats.append({"input_ids": ids, "start_positions": s_tok, "end_positions": e_tok})
    return feats


_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(s: str) -> str:
    """SQuAD v1.1 answer normalisation (lower-case, strip punctuation, articles and extra whitespace)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def squad_f1(pred: str, gold: str) -> float:
    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    common = collections.Counter(p) & collections.Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    prec, rec = same / len(p), same / len(g)
    return 2 * prec * rec / (prec + rec)


def predict_qa(model, df, tokenizer, spec, batch_size, device) -> dict:
    enc = _qa_encode(df, tokenizer, spec)
    feats = [{"input_ids": ids} for ids in enc["input_ids"]]
    logits = _logits(model, feats, _collate_flat(tokenizer), batch_size, device)
    max_len = spec.get("max_answer_length", 30)
    best: dict[int, tuple[float, str]] = {}
    contexts = df["context"].tolist()
    for i, lg in enumerate(logits):
        ex = enc["overflow_to_sample_mapping"][i]
        seq = enc.sequence_ids(i)
        offsets = enc["offset_mapping"][i]
        ctx = np.array([k for k, s in enumerate(seq) if s == 1])
        if len(ctx) == 0:
            continue
        start, end = lg[ctx, 0], lg[ctx, 1]
        # best span with start <= end < start + max_len, vectorised over the window
        score = start[:, None] + end[None, :]
        tri = np.triu(np.ones_like(score, dtype=bool)) & ~np.triu(np.ones_like(score, dtype=bool), k=max_len)
        score = np.where(tri, score, -np.inf)
        s, e = np.unravel_index(int(np.argmax(score)), score.shape)
        text = contexts[ex][offsets[ctx[s]][0] : offsets[ctx[e]][1]]
        if ex not in best or score[s, e] > best[ex][0]:
            best[ex] = (float(score[s, e]), text)
    golds = df["answer_text"].tolist()
    preds = [best.get(i, (0.0, ""))[1] for i in range(len(df))]
    f1 = np.mean([squad_f1(p, g) for p, g in zip(preds, golds)])
    em = np.mean([normalize_answer(p) == normalize_answer(g) for p, g in zip(preds, golds)])
    return {"f1": float(f1), "exact_match": float(em), "n": len(df)}


register(TaskType("span_qa", AutoModelForQuestionAnswering, featurize_qa, _collate_flat, predict_qa, "f1", 2))
