"""Sentence embeddings for every configured layer from one forward pass per sentence set.

* The model is loaded once per job; a job embeds many sentence sets (all languages of one condition).
* Sentences are sorted by length and cut into token-budget batches with dynamic padding (no padding to the
  maximum length), run under ``torch.inference_mode``.
* Precision (``retrieval.embed_precision``): ``float32`` is the reference path (what XTREME/jiant compute);
  ``bfloat16``/``float16`` run the encoder under autocast (faster on GPUs; bf16 also on CPU).  Pooling is always
  accumulated in float32.  Its effect on Tatoeba accuracy is measured in bench/NOTES.md.
* Every pooled vector is checked: a NaN/inf is an error naming the set (language/split) and side.
* Pooling: ``mean`` over the attention mask including ``<s>``/``</s>`` (XTREME/jiant), ``mean_skip_special``,
  or ``cls``.  Layer indices follow ``hidden_states``: 0 is the embedding layer, *i* the output of block *i*.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from transformers import AutoModel, AutoTokenizer

from xstilts import contracts
from xstilts.io import atomic_save_npz
from xstilts.plan import EMBEDDING_SETTINGS

POOLINGS = ("mean", "mean_skip_special", "cls")
PRECISIONS = ("float32", "bfloat16", "float16")


@dataclass
class Embedder:
    model_dir: str
    device: torch.device
    max_length: int = 512
    batch_tokens: int = 16384
    precision: str = "float32"  # float32: reference path; bfloat16/float16: autocast

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"config key 'retrieval.embed_precision': {self.precision!r} not in {PRECISIONS}")
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        self.model = AutoModel.from_pretrained(self.model_dir, add_pooling_layer=False).to(self.device).eval()
        self.n_layers = self.model.config.num_hidden_layers
        self.tokens_seen = 0

    @property
    def all_layers(self) -> list[int]:
        """Every hidden_states index of this encoder (0 = embeddings .. n_layers)."""
        return list(range(self.n_layers + 1))

    def check_layers(self, layers) -> list[int]:
        """The hidden_states indices to keep, resolved already (``xstilts.plan.resolve_layers``: the one layer rule);
        checked against this encoder, never re-resolved."""
        layers = [int(l) for l in layers]
        bad = [l for l in layers if not 0 <= l <= self.n_layers]
        if bad or layers != sorted(set(layers)):
            raise ValueError(f"retrieval layers {layers}: expected sorted, distinct hidden_states indices 0..{self.n_layers} "
                             "of this encoder (resolved by the study plan)")
        return layers

    @torch.inference_mode()
    def embed(self, texts: list[str], layers: list[int], pooling: str = "mean") -> np.ndarray:
        """Return float32 array (len(layers), len(texts), hidden) of pooled sentence vectors."""
        if pooling not in POOLINGS:
            raise ValueError(f"pooling {pooling!r} not in {POOLINGS}")
        enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_length, add_special_tokens=True)
        ids = enc["input_ids"]
        special = set(self.tokenizer.all_special_ids)
        d = self.model.config.hidden_size
        out = np.zeros((len(layers), len(texts), d), dtype=np.float32)
        order = np.argsort([len(x) for x in ids], kind="stable")
        use_amp = self.precision != "float32"
        dtype = getattr(torch, self.precision)
        pad = self.tokenizer.pad_token_id
        start = 0
        while start < len(order):
            # grow the batch while (rows x longest row) stays within the token budget; lengths are sorted
            end = start + 1
            while end < len(order) and (end + 1 - start) * len(ids[order[end]]) <= self.batch_tokens:
                end += 1
            idx = order[start:end]
            width = len(ids[idx[-1]])
            batch = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                batch[r, : len(ids[i])] = torch.tensor(ids[i])
                mask[r, : len(ids[i])] = 1
            pool_mask = mask.clone()
            if pooling == "mean_skip_special":
                pool_mask &= ~torch.isin(batch, torch.tensor(sorted(special)))
            batch, mask, pool_mask = batch.to(self.device), mask.to(self.device), pool_mask.to(self.device)
            with torch.autocast(self.device.type, dtype=dtype, enabled=use_amp):
                hs = self.model(input_ids=batch, attention_mask=mask, output_hidden_states=True).hidden_states
            for li, layer in enumerate(layers):
                h = hs[layer].float()
                if pooling == "cls":
                    v = h[:, 0]
                else:
                    m = pool_mask.unsqueeze(-1).float()
                    v = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
                out[li, idx] = v.cpu().numpy()
            self.tokens_seen += int(mask.sum())
            start = end
        return out


def embed_sets(embedder: Embedder, sets: dict[str, dict[str, list[str]]], out_paths: dict[str, str], layers, pooling: str,
               meta: dict, store_dtype: str = "float32") -> dict:
    """Embed each named set (e.g. a language) of named sides (e.g. src/tgt) and save one .npz per set."""
    layer_idx = embedder.check_layers(layers)
    t0 = time.perf_counter()
    last: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}  # per side, the previous set's texts and vectors: a
    # side that repeats from set to set (the multi-parallel corpus's English) is embedded once
    for key, sides in sets.items():
        arrays = {}
        for side, texts in sides.items():
            if len(texts) == 0:
                raise ValueError(f"{out_paths[key]}: set {key!r} side {side!r} has no sentences")
            texts_key = tuple(texts)
            if side in last and last[side][0] == texts_key:
                v = last[side][1]
            else:
                v = embedder.embed(texts, layer_idx, pooling).astype(store_dtype)
                last[side] = (texts_key, v)
            bad = ~np.isfinite(v).all(axis=2)
            if bad.any():
                li, row = map(int, np.argwhere(bad)[0])
                raise ValueError(f"{out_paths[key]}: set {key!r} side {side!r}: {int(bad.sum())} non-finite sentence vectors "
                                 f"(first: layer {layer_idx[li]}, sentence {row}) at precision {embedder.precision}, "
                                 f"stored as {store_dtype}")
            arrays[side] = v
        info = {**meta, "pooling": pooling, "precision": embedder.precision, "store_dtype": store_dtype}
        atomic_save_npz(out_paths[key], layers=np.array(layer_idx), meta=np.array(repr(info)), **arrays)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "tokens": embedder.tokens_seen, "tokens_per_s": embedder.tokens_seen / max(dt, 1e-9), "layers": layer_idx}


def tatoeba_sets(paths: dict[str, str], pivot: str = "en") -> dict[str, dict[str, list[str]]]:
    """``{lang: path}`` of canonical Tatoeba tables -> ``{lang: {"src": [...], "en": [...]}}`` (contract-normalised)."""
    out = {}
    for key, path in paths.items():
        df = contracts.read("tatoeba", path)
        out[key] = {"src": df["source_sentence"].tolist(), "en": df["target_sentence"].tolist()}
    return out


def parallel_sets(paths: dict[str, str], pivot: str = "en") -> dict[str, dict[str, list[str]]]:
    """``{lang: path}`` of the multi-parallel corpus (FLORES+ devtest, or the synthetic world's parallel set: one
    text column per language) -> ``{lang: {"src": its column, "en": the pivot column}}``, row i translating row i."""
    tables: dict[str, pd.DataFrame] = {}
    out = {}
    for key, path in paths.items():
        if path not in tables:
            tables[path] = pd.read_parquet(path)
        df = tables[path]
        contracts.parallel_columns(df, [key, pivot], path)
        out[key] = {"src": df[key].tolist(), "en": df[pivot].tolist()}
    return out


def bucc_sets(paths: dict[str, str], pivot: str = "en") -> dict[str, dict[str, list[str]]]:
    """``{"<lang>.<split>": path}`` of canonical BUCC sentence tables -> the non-English and English sides."""
    out = {}
    for key, path in paths.items():
        df = contracts.read("bucc_sentences", path)
        side = df["side"] == key.split(".")[0]
        out[key] = {"src": df.loc[side, "text"].tolist(), "en": df.loc[~side, "text"].tolist()}
    return out


# the corpora an embedding job reads: name -> reader of its canonical files ({set key: path} -> sentence sets)
SET_READERS = {"tatoeba": tatoeba_sets, "flores": parallel_sets, "bucc": bucc_sets}


def embed_job(model_dir: str, device, settings: dict, sets: dict, out_paths: dict, *, layers: list[int], model_layers: int,
              meta: dict) -> dict:
    """One embedding job: load the encoder once, embed every set, save one .npz per set.

    ``settings`` holds exactly :data:`EMBEDDING_SETTINGS`; ``layers`` are the hidden_states indices to keep, resolved
    by :class:`xstilts.plan.StudyPlan` against ``model_layers`` -- checked here against the encoder itself."""
    if set(settings) != set(EMBEDDING_SETTINGS):
        raise ValueError(f"an embedding job reads exactly {list(EMBEDDING_SETTINGS)} of config key 'retrieval', got {sorted(settings)}")
    emb = Embedder(model_dir, device, settings["max_length"], settings["batch_tokens"], settings["embed_precision"])
    if emb.n_layers != model_layers:
        raise ValueError(f"{model_dir} has {emb.n_layers} layers but the config says {model_layers} "
                         "(model.num_hidden_layers, or synthetic.architecture.num_hidden_layers): the layers would be wrong")
    return embed_sets(emb, sets, out_paths, layers, settings["pooling"], meta, settings["store_dtype"])
