"""Training features, tokenised once per task and shared by every condition's fine-tune.

The tokenizer is the same for the base model and every intermediate encoder (each saves the base tokenizer), so a
target task's English training set is featurised once (``featurize_split``) and read by its 11 fine-tunes
(``read_features``). The file records the tokenizer's fingerprint; a run whose model carries another tokenizer stops
with an error naming both, instead of training on ids from the wrong vocabulary.

Format: parquet (no pickle), one row per feature (``input_ids`` and the label columns of its task type), with the
resolved task spec, the fingerprint and the source file in the schema metadata.
"""

from __future__ import annotations

import hashlib
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq

from xstilts.io import atomic_path
from xstilts.tasks import DataError, get_task_type, resolve_spec
from xstilts.training import load_split

FEATURE_KEYS = ("input_ids", "labels", "start_positions", "end_positions")
META = b"xstilts"


def tokenizer_fingerprint(tokenizer) -> str:
    """SHA-256 of the tokenizer's full definition (vocabulary, merges, normalizer, pre-tokenizer, post-processor,
    special tokens), ignoring the per-call truncation/padding state."""
    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    backend.pop("truncation", None)
    backend.pop("padding", None)
    blob = json.dumps({"backend": backend, "special": sorted(map(str, tokenizer.all_special_tokens))}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def strip(feats: list[dict]) -> list[dict]:
    return [{k: v for k, v in f.items() if k in FEATURE_KEYS} for f in feats]


def featurize_split(data_path: str | os.PathLike, tokenizer_dir: str | os.PathLike, spec: dict, out_path: str | os.PathLike,
                    *, max_rows: int | None = None, seed: int = 0) -> dict:
    """Featurise one training split (optionally a seeded subset of ``max_rows`` rows) and write it; return the
    metadata (rows, features, tokens, fingerprint)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    df = load_split(data_path, max_rows, seed)
    spec = resolve_spec(spec, df)  # the task's fixed label set, the frame checked (xstilts.tasks)
    feats = strip(get_task_type(spec["type"]).featurize(df, tokenizer, spec))
    if not feats:
        raise DataError(f"{data_path}: no training features (every example was dropped)")
    meta = {"spec": spec, "tokenizer_sha256": tokenizer_fingerprint(tokenizer), "source": str(data_path), "rows": len(df),
            "features": len(feats), "max_rows": max_rows, "seed": seed}
    table = pa.Table.from_pylist(feats)
    table = table.replace_schema_metadata({META: json.dumps(meta, default=str).encode()})
    with atomic_path(out_path, suffix=".parquet") as tmp:
        pq.write_table(table, tmp)
    return meta


def read_meta(path: str | os.PathLike) -> dict:
    md = pq.read_schema(path).metadata or {}
    if META not in md:
        raise DataError(f"{path}: not a feature file written by xstilts.features (no metadata)")
    return json.loads(md[META])


def read_features(path: str | os.PathLike, tokenizer) -> tuple[list[dict], dict]:
    """The features and their metadata; the model's tokenizer must be the one they were made with."""
    meta = read_meta(path)
    fp = tokenizer_fingerprint(tokenizer)
    if fp != meta["tokenizer_sha256"]:
        raise DataError(f"{path}: features were tokenised with tokenizer {meta['tokenizer_sha256'][:12]}, but the model to "
                        f"train carries tokenizer {fp[:12]}; rebuild the features from this model's tokenizer")
    feats = pq.read_table(path).to_pylist()
    return [{k: v for k, v in f.items() if v is not None} for f in feats], meta
