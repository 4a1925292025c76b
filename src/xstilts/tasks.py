"""Task-type registry: a task's *type* chooses its head, featurisation, collation, decoding and metric.

Adding a task means adding config metadata (its type, labels, data paths); adding a task *type* means registering
one ``TaskType`` here.  Nothing downstream branches on task names; what differs between tasks of one type is
metadata in the task's config entry:

* ``labels`` / ``labels_file`` — the fixed label set (CCG: jiant's 1,363 supertags from ``tags_to_id.json``), never
  the tags a training split happens to contain;
* ``metric`` — the main metric for scoring and model selection (CCG: accuracy; default: the type's);
* ``qa_metric`` — span QA answer normalisation, ``squad`` (XQuAD, TyDiQA) or ``mlqa`` (``xstilts.qa_metrics``);
* ``doc_stride`` / ``max_query_length`` — span QA windows as XTREME's SQuAD features (``qa_windows``).

Converted data that cannot give a meaningful score — an empty split, missing columns, a label outside the task's
set, a tagging split whose every label would be ignored — raises ``DataError`` naming the file (``read_frame``
records the path in ``DataFrame.attrs["source"]``).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import (
    AutoModelForMultipleChoice,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
)

from xstilts import qa_metrics
from xstilts.config import with_task_defaults

log = logging.getLogger(__name__)

IGNORE = -100


class DataError(ValueError):
    """A converted data file that cannot give a meaningful score; the message names the file."""


@dataclass(frozen=True)
class TaskType:
    name: str
    auto_model: type
    featurize: Callable  # (df, tokenizer, spec) -> list[dict]
    collate: Callable  # (tokenizer) -> collate_fn(list[dict]) -> dict[str, Tensor]
    predict: Callable  # (model, df, tokenizer, spec, batch_size, device) -> dict metrics
    main_metric: str
    head_width: int | None = None  # fixed head width (QA: start/end = 2; MC: 1 score); None: the label count
    metrics: tuple[str, ...] = ()  # what predict() reports; a task's ``metric`` key may pick another main one
    columns: tuple[str, ...] = ()  # columns of the canonical schema this type reads

    def model_kwargs(self, spec: dict) -> dict:
        """Head size for from_pretrained; an encoder saved from another task's model carries that task's
        num_labels in its config, so it is always set explicitly."""
        if self.head_width is not None:
            return {"num_labels": self.head_width}
        labels = task_labels(spec)
        if not labels:
            raise DataError(f"a {self.name} task needs its label set: config key 'labels' or 'labels_file'")
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


def main_metric(spec: dict, kind: str | None = None) -> str:
    """The metric a task is scored and selected on: the task's ``metric`` key (CCG: accuracy) or its type's default."""
    tt = get_task_type(kind or spec["type"])
    metric = spec.get("metric") or tt.main_metric
    if metric not in tt.metrics:
        raise ValueError(f"config key 'metric': a {tt.name} task reports {list(tt.metrics)}, not {metric!r}")
    return metric


# --------------------------------------------------------------------------------------------------------------
# label sets and input checks
# --------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def read_labels_file(path: str) -> tuple[str, ...]:
    """A fixed label set: jiant's ``tags_to_id.json`` (tag -> id, ordered by id) or a text file with one label a line."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"labels_file {path}: not found")
    if p.suffix == ".json":
        mapping = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(mapping, dict):
            raise DataError(f"labels_file {path}: expected a JSON object tag -> id")
        ids = sorted(int(v) for v in mapping.values())
        if ids != list(range(len(ids))):
            raise DataError(f"labels_file {path}: ids must be 0..{len(ids) - 1} without gaps or repeats")
        labels = tuple(sorted(mapping, key=lambda k: int(mapping[k])))
    else:
        labels = tuple(line.strip() for line in p.read_text(encoding="utf-8").splitlines() if line.strip())
    if not labels:
        raise DataError(f"labels_file {path}: no labels")
    if len(set(labels)) != len(labels):
        raise DataError(f"labels_file {path}: repeated labels")
    return labels


def task_labels(spec: dict) -> list[str]:
    """The task's fixed label set: ``labels_file`` when set (CCG's 1,363 supertags), else ``labels``."""
    if spec.get("labels_file"):
        return list(read_labels_file(str(spec["labels_file"])))
    return list(spec.get("labels") or [])


def source_of(df: pd.DataFrame) -> str:
    return str(df.attrs.get("source", "<unnamed frame>"))


def read_frame(path) -> pd.DataFrame:
    """Read a canonical parquet split, remembering its path so that every data error names the file."""
    df = pd.read_parquet(path)
    df.attrs["source"] = str(path)
    return df


def check_frame(df: pd.DataFrame, spec: dict, kind: str | None = None) -> None:
    """An empty frame, or one without the columns its task type reads, is an error naming the file."""
    tt = get_task_type(kind or spec["type"])
    src = source_of(df)
    missing = [c for c in tt.columns if c not in df.columns]
    if missing:
        raise DataError(f"{src}: missing column(s) {missing} that a {tt.name} task reads (columns: {list(df.columns)})")
    if len(df) == 0:
        raise DataError(f"{src}: no rows")


def resolve_spec(spec: dict, train: pd.DataFrame) -> dict:
    """The spec one training run uses: its fixed label set resolved and the training frame checked.

    Label sets come from the config (``labels``, or ``labels_file`` for CCG), never from the tags a training split
    happens to contain. Span QA records the training data's language (English unless the frame says otherwise),
    which the ``mlqa`` normalisation needs when the English validation set is scored."""
    tt = get_task_type(spec["type"])
    check_frame(train, spec)
    out = dict(spec)
    if tt.head_width is None:
        labels = task_labels(spec)
        if not labels:
            raise DataError(f"{source_of(train)}: a {tt.name} task needs its fixed label set (config key 'labels' or "
                            f"'labels_file'); it is not taken from the training data")
        out["labels"] = labels
    if tt.name == "span_qa" and not out.get("language"):
        out["language"] = _frame_language(train) or "en"
    main_metric(out)
    return out


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


def _class_ids(df: pd.DataFrame, spec: dict) -> list[int]:
    """Gold class ids: the canonical schema's label names mapped through the task's label set, or ids in range.

    A label outside the task's set (a name it does not list, an id out of range, SNLI's -1 left in) is an error
    naming the file: it would otherwise train or score against a class that does not exist."""
    labels = task_labels(spec)
    col = df["label"]
    src = source_of(df)
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        index = {l: i for i, l in enumerate(labels)}
        bad = sorted({str(v) for v in col if v not in index})
        if bad:
            raise DataError(f"{src}: label(s) {bad[:10]} outside the task's label set {labels}")
        return [index[v] for v in col]
    if not pd.api.types.is_integer_dtype(col):
        raise DataError(f"{src}: column 'label' must hold label names or integer ids, not {col.dtype}")
    ids = col.astype(int).tolist()
    bad = sorted({i for i in ids if not 0 <= i < len(labels)})
    if bad:
        raise DataError(f"{src}: label id(s) {bad[:10]} outside the task's {len(labels)} labels {labels}")
    return ids


def featurize_classification(df: pd.DataFrame, tokenizer, spec: dict) -> list[dict]:
    check_frame(df, spec, "pair_classification")
    labels = _class_ids(df, spec)
    s2 = df["sentence2"].tolist() if "sentence2" in df and df["sentence2"].notna().any() else None
    enc = tokenizer(df["sentence1"].tolist(), s2, truncation=True, max_length=spec["max_seq_length"])
    return [{"input_ids": ids, "labels": y} for ids, y in zip(enc["input_ids"], labels)]


def _argmax_accuracy(featurize, collate):
    """predict() for tasks scored by the argmax of one logit vector per example (classification, MC)."""

    def predict(model, df, tokenizer, spec, batch_size, device) -> dict:
        feats = featurize(df, tokenizer, spec)
        logits = _logits(model, feats, collate(tokenizer), batch_size, device)
        pred = np.array([int(np.argmax(l)) for l in logits])
        gold = np.array([f["labels"] for f in feats])
        return {"accuracy": float((pred == gold).mean()), "n": len(gold)}

    return predict


predict_classification = _argmax_accuracy(featurize_classification, _collate_flat)


register(TaskType("pair_classification", AutoModelForSequenceClassification, featurize_classification, _collate_flat,
                  predict_classification, "accuracy", metrics=("accuracy",), columns=("sentence1", "label")))


# --------------------------------------------------------------------------------------------------------------
# multiple choice (HellaSwag, CosmosQA, CommonsenseQA)
# --------------------------------------------------------------------------------------------------------------


def featurize_mc(df: pd.DataFrame, tokenizer, spec: dict) -> list[dict]:
    check_frame(df, spec, "multiple_choice")
    feats = []
    for row, (ctx, endings, label) in enumerate(zip(df["context"], df["endings"], df["label"])):
        endings = list(endings)
        if not (isinstance(label, (int, np.integer)) and 0 <= int(label) < len(endings)):
            raise DataError(f"{source_of(df)}: row {row}: label {label!r} is not the index of one of its {len(endings)} endings")
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


register(TaskType("multiple_choice", AutoModelForMultipleChoice, featurize_mc, collate_mc, predict_mc, "accuracy", 1,
                  metrics=("accuracy",), columns=("context", "endings", "label")))


# --------------------------------------------------------------------------------------------------------------
# token tagging (UD-POS, PAN-X, CCG): label on the first sub-token of each word
# --------------------------------------------------------------------------------------------------------------


def _check_tags(df: pd.DataFrame, labels: list[str]) -> None:
    """Every tag must be a name in the task's label set and every row must tag each of its words once.

    ClassLabel ids written where names belong (or a tag set from another treebank) would otherwise all become
    'ignore': training would see no signal and F1 would be 0."""
    src = source_of(df)
    if not labels:
        raise DataError(f"{src}: a tagging task needs its fixed label set (config key 'labels' or 'labels_file')")
    known = set(labels)
    unknown: dict[str, int] = defaultdict(int)
    for row, (tokens, tags) in enumerate(zip(df["tokens"], df["tags"])):
        if len(tokens) != len(tags):
            raise DataError(f"{src}: row {row} has {len(tokens)} tokens but {len(tags)} tags")
        for t in tags:
            if not isinstance(t, str) or t not in known:
                unknown[repr(t.item() if isinstance(t, np.generic) else t)] += 1
    if unknown:
        n = sum(unknown.values())
        examples = sorted(unknown, key=unknown.get, reverse=True)[:10]
        raise DataError(f"{src}: {n} tag(s) outside the task's label set of {len(labels)} (e.g. {', '.join(examples)}); "
                        f"tags must be label names from config 'labels'/'labels_file'")


def featurize_tagging(df: pd.DataFrame, tokenizer, spec: dict) -> list[dict]:
    check_frame(df, spec, "tagging")
    labels = task_labels(spec)
    _check_tags(df, labels)
    label_id = {l: i for i, l in enumerate(labels)}
    enc = tokenizer([list(t) for t in df["tokens"]], is_split_into_words=True, truncation=True, max_length=spec["max_seq_length"])
    feats = []
    for b, tags in enumerate(df["tags"]):
        word_ids = enc.word_ids(b)
        row, prev = [], None
        for w in word_ids:
            row.append(IGNORE if w is None or w == prev else label_id[tags[w]])
            prev = w
        feats.append({"input_ids": enc["input_ids"][b], "labels": row, "word_ids": word_ids})
    if not any(l != IGNORE for f in feats for l in f["labels"]):
        raise DataError(f"{source_of(df)}: every tag is ignored (no words, or every word cut off at max_seq_length "
                        f"{spec['max_seq_length']}): nothing to learn or score")
    return feats


def predict_tagging(model, df, tokenizer, spec, batch_size, device) -> dict:
    from seqeval.metrics import accuracy_score, f1_score

    feats = featurize_tagging(df, tokenizer, spec)
    logits = _logits(model, feats, _collate_flat(tokenizer), batch_size, device)
    labels = task_labels(spec)
    y_true, y_pred = [], []
    for f, lg, tags in zip(feats, logits, df["tags"]):
        first = {}
        for pos, w in enumerate(f["word_ids"]):
            if w is not None and w not in first:
                first[w] = pos
        # words cut off by truncation get no prediction: they count as wrong
        y_true.append(list(tags))
        y_pred.append([labels[int(np.argmax(lg[first[w]]))] if w in first else "O" for w in range(len(tags))])
    out = {"accuracy": float(accuracy_score(y_true, y_pred)), "n": len(y_true)}
    if main_metric(spec, "tagging") == "f1":  # entity F1 (seqeval) is meaningless over CCG supertags, which are scored by accuracy
        out["f1"] = float(f1_score(y_true, y_pred))
    return out


register(TaskType("tagging", AutoModelForTokenClassification, featurize_tagging, _collate_flat, predict_tagging, "f1",
                  metrics=("f1", "accuracy"), columns=("tokens", "tags")))


# --------------------------------------------------------------------------------------------------------------
# extractive span QA (SQuAD, XQuAD, MLQA, TyDiQA-GoldP): question first, context second, doc stride windows
# --------------------------------------------------------------------------------------------------------------


def _first(value):
    """The first of possibly several gold values (training uses the first answer, as XTREME's run_squad.py)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) == 0:
            return None
        return value[0]
    return value


def _cap_question(question: str, ids: list[int], offsets, tokenizer, cap: int) -> tuple[str, int]:
    """The question cut to at most ``cap`` tokens (at a token boundary), and its token count."""
    if len(ids) <= cap:
        return question, len(ids)
    for k in range(cap, 0, -1):
        cut = question[: offsets[k - 1][1]]
        n = len(tokenizer(cut, add_special_tokens=False)["input_ids"])
        if n <= cap:
            return cut, n
    return "", 0


def qa_windows(df: pd.DataFrame, tokenizer, spec: dict, max_context: bool = True) -> list[dict]:
    """Question + context windows as XTREME's SQuAD features: the question cut to ``max_query_length`` (64) tokens,
    context windows of the room left in ``max_seq_length``, starting every ``doc_stride`` context tokens until one
    reaches the end.  (Hugging Face's ``stride`` argument is the *overlap* between windows, room - doc_stride, set
    here per question length.)  Each window records the context-token positions, their character offsets, its
    start in the context's tokens and which of its tokens have their maximal context in it (the reference's
    ``token_is_max_context``: a span may only start on such a token)."""
    spec = with_task_defaults(spec)
    max_len, step, cap = spec["max_seq_length"], spec["doc_stride"], spec["max_query_length"]
    n_special = tokenizer.num_special_tokens_to_add(pair=True)
    questions, contexts = df["question"].tolist(), df["context"].tolist()
    qenc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    capped = [_cap_question(q, ids, offs, tokenizer, cap) for q, ids, offs in zip(questions, qenc["input_ids"], qenc["offset_mapping"])]
    by_room: dict[int, list[int]] = defaultdict(list)
    for i, (_, n) in enumerate(capped):
        by_room[max_len - n - n_special].append(i)
    windows: dict[int, list[dict]] = defaultdict(list)
    for room, idx in sorted(by_room.items()):
        if room < 1:
            raise ValueError(f"config key 'max_seq_length': {max_len} leaves no room for the context after a "
                             f"{max_len - room - n_special}-token question (max_query_length {cap})")
        if step > room:
            log.warning("doc_stride %d exceeds the %d context tokens a window holds: windows start every %d tokens", step, room, room)
        overlap = max(room - step, 0)
        enc = tokenizer([capped[i][0] for i in idx], [contexts[i] for i in idx], truncation="only_second", max_length=max_len,
                        stride=overlap, return_overflowing_tokens=True, return_offsets_mapping=True)
        for f in range(len(enc["input_ids"])):
            ex = idx[enc["overflow_to_sample_mapping"][f]]
            seq = enc.sequence_ids(f)
            ctx = [k for k, s in enumerate(seq) if s == 1]
            windows[ex].append({"example": ex, "input_ids": enc["input_ids"][f], "offsets": [tuple(o) for o in enc["offset_mapping"][f]],
                                "context_positions": ctx, "start": len(windows[ex]) * (room - overlap)})
    out = []
    for ex in range(len(df)):
        if max_context:
            _mark_max_context(windows[ex])
        out += windows[ex]
    return out


def _mark_max_context(ws: list[dict]) -> None:
    """XTREME's ``_new_check_is_max_context``: a context token belongs to the window where min(left, right context)
    + 0.01 * window length is largest (the first such window on ties)."""
    if not ws:
        return
    starts = np.array([w["start"] for w in ws])
    lens = np.array([len(w["context_positions"]) for w in ws])
    p = np.arange(int((starts + lens).max()))
    inside = (p[None, :] >= starts[:, None]) & (p[None, :] < (starts + lens)[:, None])
    score = np.minimum(p[None, :] - starts[:, None], (starts + lens - 1)[:, None] - p[None, :]) + 0.01 * lens[:, None]
    owner = np.argmax(np.where(inside, score, -np.inf), axis=0)
    for wi, w in enumerate(ws):
        w["max_context"] = (owner[starts[wi] : starts[wi] + lens[wi]] == wi).tolist()


def featurize_qa(df: pd.DataFrame, tokenizer, spec: dict) -> list[dict]:
    """Training features: start/end tokens of the first gold answer, or CLS (0) in windows that do not hold it."""
    check_frame(df, spec, "span_qa")
    contexts = df["context"].tolist()
    answers = []
    skipped = 0
    for ctx, text, start in zip(contexts, df["answer_text"], df["answer_start"]):
        text, start = _first(text), _first(start)
        if text is None or start is None or not (0 <= int(start) and ctx[int(start) : int(start) + len(text)] == text):
            skipped += 1  # XTREME's run_squad.py drops a training answer it cannot find at its offset
            answers.append(None)
        else:
            answers.append((int(start), int(start) + len(text)))
    if skipped:
        if skipped == len(df):
            raise DataError(f"{source_of(df)}: no answer_text is found in its context at answer_start")
        log.warning("%s: %d of %d answers not found at answer_start; those examples are skipped", source_of(df), skipped, len(df))
    feats = []
    for w in qa_windows(df, tokenizer, spec, max_context=False):
        if answers[w["example"]] is None:
            continue
        a0, a1 = answers[w["example"]]
        ctx, offsets = w["context_positions"], w["offsets"]
        s_tok = e_tok = 0  # CLS when the answer is outside this window
        if ctx and offsets[ctx[0]][0] <= a0 and offsets[ctx[-1]][1] >= a1:
            s_tok = next(k for k in ctx if offsets[k][1] > a0)
            e_tok = next(k for k in reversed(ctx) if offsets[k][0] < a1)
        feats.append({"input_ids": w["input_ids"], "start_positions": s_tok, "end_positions": e_tok})
    return feats


def _frame_language(df: pd.DataFrame) -> str | None:
    if "language" in df.columns:
        langs = set(df["language"].dropna().astype(str))
        if len(langs) > 1:
            raise DataError(f"{source_of(df)}: several languages {sorted(langs)} in one QA split; score them one by one")
        if langs:
            return langs.pop()
    return None


def qa_language(df: pd.DataFrame, spec: dict) -> str | None:
    """The answer language the ``mlqa`` normalisation needs: the spec's ``language`` (set per test language by the
    evaluation), else the frame's single ``language`` value."""
    lang = spec.get("language") or _frame_language(df)
    if with_task_defaults(spec)["qa_metric"] == "mlqa" and lang is None:
        raise DataError(f"{source_of(df)}: qa_metric 'mlqa' normalises by answer language, and none is given "
                        f"(spec 'language' or a 'language' column)")
    return lang


def predict_qa(model, df, tokenizer, spec, batch_size, device) -> dict:
    """Best span over all windows (start on a max-context token, end >= start, at most max_answer_length tokens;
    score start + end logit), scored against every gold answer with the task's ``qa_metric`` normalisation."""
    check_frame(df, spec, "span_qa")
    spec = with_task_defaults(spec)
    qa_metric, lang = spec["qa_metric"], qa_language(df, spec)
    windows = qa_windows(df, tokenizer, spec)
    logits = _logits(model, [{"input_ids": w["input_ids"]} for w in windows], _collate_flat(tokenizer), batch_size, device)
    max_len = spec["max_answer_length"]
    best: dict[int, tuple[float, str]] = {}
    contexts = df["context"].tolist()
    for w, lg in zip(windows, logits):
        ctx = np.array(w["context_positions"])
        if len(ctx) == 0:
            continue
        start, end = lg[ctx, 0], lg[ctx, 1]
        score = start[:, None] + end[None, :]
        ones = np.ones_like(score, dtype=bool)
        valid = np.triu(ones) & ~np.triu(ones, k=max_len) & np.asarray(w["max_context"])[:, None]
        if not valid.any():
            continue
        score = np.where(valid, score, -np.inf)
        s, e = np.unravel_index(int(np.argmax(score)), score.shape)
        ex = w["example"]
        if ex not in best or score[s, e] > best[ex][0]:
            best[ex] = (float(score[s, e]), contexts[ex][w["offsets"][ctx[s]][0] : w["offsets"][ctx[e]][1]])
    preds = [best.get(i, (0.0, ""))[1] for i in range(len(df))]
    try:
        return qa_metrics.score(preds, df["answer_text"].tolist(), qa_metric, lang)
    except (ValueError, TypeError) as err:
        raise DataError(f"{source_of(df)}: {err}") from err


register(TaskType("span_qa", AutoModelForQuestionAnswering, featurize_qa, _collate_flat, predict_qa, "f1", 2,
                  metrics=("f1", "exact_match"), columns=("context", "question", "answer_text", "answer_start")))
