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
        self.word_seconds = 0.0  # time spent on word vectors (offsets, pooling pieces, copies) inside the passes

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

    def word_pieces(self, enc, spans: list[list[tuple[int, int]]]) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Per text, the (word index, piece position) pairs of every subword piece whose character span overlaps a word
        span (the tokenizer's offset mapping; special tokens have empty spans), and the pieces per word (0: the word
        was cut off by ``max_length``)."""
        words_of, pos_of, counts = [], [], []
        for r, sp in enumerate(spans):
            offs = np.asarray(enc["offset_mapping"][r], dtype=np.int64).reshape(-1, 2)
            if len(sp) == 0:
                words_of.append(np.zeros(0, np.int64))
                pos_of.append(np.zeros(0, np.int64))
                continue
            w = np.asarray(sp, dtype=np.int64)
            hit = (offs[None, :, 0] < w[:, None, 1]) & (offs[None, :, 1] > w[:, None, 0]) & (offs[None, :, 1] > offs[None, :, 0])
            wi, pi = np.nonzero(hit)
            words_of.append(wi)
            pos_of.append(pi)
            counts.append(hit.sum(1))
        return words_of, pos_of, np.concatenate(counts) if counts else np.zeros(0, np.int64)

    @torch.inference_mode()
    def embed(self, texts: list[str], layers: list[int], pooling: str = "mean",
              word_spans: list[list[tuple[int, int]]] | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return float32 array (len(layers), len(texts), hidden) of pooled sentence vectors. With ``word_spans`` (per
        text, the character spans of its words: :func:`xstilts.wordalign.word_spans`) the same forward pass also
        returns each word's vector at every layer -- the mean of its subword pieces -- as float32 (len(layers),
        words of all texts in order, hidden), and the pieces per word."""
        if pooling not in POOLINGS:
            raise ValueError(f"pooling {pooling!r} not in {POOLINGS}")
        enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_length, add_special_tokens=True,
                             return_offsets_mapping=word_spans is not None)
        ids = enc["input_ids"]
        if word_spans is not None:
            if len(word_spans) != len(texts):
                raise ValueError(f"{len(word_spans)} word-span lists for {len(texts)} texts")
            tw = time.perf_counter()
            w_of, p_of, pieces = self.word_pieces(enc, word_spans)
            first = np.concatenate([[0], np.cumsum([len(s) for s in word_spans])])
            words_out = np.zeros((len(layers), int(first[-1]), self.model.config.hidden_size), dtype=np.float32)
            self.word_seconds += time.perf_counter() - tw
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
            tw = time.perf_counter()
            if word_spans is not None:  # every piece of the batch -> its word's row in words_out, weight 1/pieces
                rows = np.concatenate([first[i] + w_of[i] for i in idx])
                flat = np.concatenate([r * width + p_of[i] for r, i in enumerate(idx)])
                uniq, local = np.unique(rows, return_inverse=True)
                target = torch.as_tensor(local, device=self.device)
                source = torch.as_tensor(flat, device=self.device)
                weight = 1.0 / torch.as_tensor(pieces[rows], dtype=torch.float32, device=self.device)
                self.word_seconds += time.perf_counter() - tw
            for li, layer in enumerate(layers):
                h = hs[layer].float()
                if pooling == "cls":
                    v = h[:, 0]
                else:
                    m = pool_mask.unsqueeze(-1).float()
                    v = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
                out[li, idx] = v.cpu().numpy()
                tw = time.perf_counter()
                if word_spans is not None and len(target):
                    acc = torch.zeros((len(uniq), h.shape[-1]), dtype=torch.float32, device=self.device)
                    acc.index_add_(0, target, h.reshape(-1, h.shape[-1])[source] * weight[:, None])
                    words_out[li, uniq] = acc.cpu().numpy()
                    self.word_seconds += time.perf_counter() - tw
            self.tokens_seen += int(mask.sum())
            start = end
        if word_spans is not None:
            return out, words_out, pieces
        return out


WORD_DTYPE = "float16"  # word vectors (xstilts.wordmeasures reads them in float32)


def _word_selection(texts: list[str], rows: tuple[np.ndarray, np.ndarray] | None, what: str):
    """Per text, the spans of the words to store (all of them where ``rows`` is None, else those whose ``(sentence,
    word)`` is in ``rows``, sorted), and the ``(sentence, word)`` of each stored row."""
    from xstilts.wordalign import full_index, word_spans

    spans = [word_spans(t) for t in texts]
    if rows is None:
        sentence, word = full_index(np.concatenate([[0], np.cumsum([len(x) for x in spans])]))
        return spans, sentence, word
    sentence, word = (np.asarray(r, dtype=np.int64) for r in rows)
    chosen: list[list[tuple[int, int]]] = [[] for _ in texts]
    for s_, w_ in zip(sentence.tolist(), word.tolist()):
        if s_ >= len(spans) or w_ >= len(spans[s_]):
            raise ValueError(f"{what}: a linked word (sentence {s_}, word {w_}) is not in the text (its sentence has "
                             f"{len(spans[s_]) if s_ < len(spans) else 0} words): the word pairs come from other text")
        chosen[s_].append(spans[s_][w_])
    return chosen, sentence, word


def embed_sets(embedder: Embedder, sets: dict[str, dict[str, list[str]]], out_paths: dict[str, str], layers, pooling: str,
               meta: dict, store_dtype: str = "float32", word_paths: dict[str, str] | None = None,
               shared_word_paths: dict[str, str] | None = None, word_rows: dict | None = None) -> dict:
    """Embed each named set (e.g. a language) of named sides (e.g. src/tgt) and save one .npz per set. For the sets
    in ``word_paths`` the same pass also saves word vectors per layer (:data:`WORD_DTYPE`; words as
    :func:`xstilts.wordalign.word_spans` cuts them) with the ``(sentence, word)`` of each row and its pieces:

    * which words: ``word_rows[key][side]`` (``(sentence, word)`` arrays, :func:`xstilts.wordalign.linked_words`: the
      words with a confident link, all the word measures read), or every word where ``word_rows`` is None;
    * where: a side named in ``shared_word_paths`` (the multi-parallel corpus's English, the same text in every set)
      once, to that path, with the union of the sets' words; the other sides to ``word_paths[key]``."""
    word_paths = dict(word_paths or {})
    shared = dict(shared_word_paths or {})
    layer_idx = embedder.check_layers(layers)
    rows_of: dict[tuple[str, str], tuple[np.ndarray, np.ndarray] | None] = {}
    for key in word_paths:
        for side in sets[key]:
            if word_rows is None:
                rows_of[key, side] = None
            elif side in shared:  # the union of every set's words on the shared side
                k = np.unique(np.concatenate([(np.asarray(word_rows[k2][side][0], np.int64) << 32)
                                              | np.asarray(word_rows[k2][side][1], np.int64) for k2 in word_paths]))
                rows_of[key, side] = (k >> 32, k & 0xFFFFFFFF)
            else:
                rows_of[key, side] = word_rows[key][side]
    t0 = time.perf_counter()
    last: dict[str, tuple] = {}  # per side, the previous set's texts, word selection and vectors: a side that repeats
    # from set to set (the multi-parallel corpus's English) is embedded once
    shared_words: dict[str, tuple[tuple[str, ...], dict]] = {}
    for key, sides in sets.items():
        arrays, words = {}, {}
        for side, texts in sides.items():
            if len(texts) == 0:
                raise ValueError(f"{out_paths[key]}: set {key!r} side {side!r} has no sentences")
            texts_key = tuple(texts)
            rows = rows_of.get((key, side))
            sig = None if rows is None else _keys_bytes(rows)
            if side in last and last[side][0] == texts_key and (key not in word_paths or (last[side][3] and last[side][1] == sig)):
                v, w = last[side][2], last[side][3]
            elif key in word_paths:
                spans, sentence, word = _word_selection(texts, rows, f"{out_paths[key]} side {side!r}")
                v, wv, pieces = embedder.embed(texts, layer_idx, pooling, spans)
                v = v.astype(store_dtype)
                w = {side: wv.astype(WORD_DTYPE), f"{side}_pieces": pieces.astype(np.int16),
                     f"{side}_sentence": sentence.astype(np.int32), f"{side}_word": word.astype(np.int32)}
                last[side] = (texts_key, sig, v, w)
            else:
                v, w = embedder.embed(texts, layer_idx, pooling).astype(store_dtype), {}
                last[side] = (texts_key, None, v, w)
            if key in word_paths and side in shared:
                if side in shared_words and shared_words[side][0] != texts_key:
                    raise ValueError(f"side {side!r} is stored once for every set ({shared[side]}) but set {key!r} has other text")
                shared_words[side] = (texts_key, w)
            elif key in word_paths:
                words.update(w)
            bad = ~np.isfinite(v).all(axis=2)
            if bad.any():
                li, row = map(int, np.argwhere(bad)[0])
                raise ValueError(f"{out_paths[key]}: set {key!r} side {side!r}: {int(bad.sum())} non-finite sentence vectors "
                                 f"(first: layer {layer_idx[li]}, sentence {row}) at precision {embedder.precision}, "
                                 f"stored as {store_dtype}")
            arrays[side] = v
        info = {**meta, "pooling": pooling, "precision": embedder.precision, "store_dtype": store_dtype}
        atomic_save_npz(out_paths[key], layers=np.array(layer_idx), meta=np.array(repr(info)), **arrays)
        if key in word_paths:
            atomic_save_npz(word_paths[key], layers=np.array(layer_idx), meta=np.array(repr({**info, "store_dtype": WORD_DTYPE})),
                            **words)
    for side, path in shared.items():
        if side in shared_words:
            info = {**meta, "pooling": pooling, "precision": embedder.precision, "store_dtype": WORD_DTYPE}
            atomic_save_npz(path, layers=np.array(layer_idx), meta=np.array(repr(info)),
                            **shared_words[side][1])
    dt = time.perf_counter() - t0
    stored = {side: int(len(w[f"{side}_word"])) for side, (_, w) in shared_words.items()}
    return {"seconds": dt, "tokens": embedder.tokens_seen, "tokens_per_s": embedder.tokens_seen / max(dt, 1e-9), "layers": layer_idx,
            "word_seconds": embedder.word_seconds, "shared_words_stored": stored}


def _keys_bytes(rows) -> bytes:
    return np.asarray(rows[0], np.int64).tobytes() + b"|" + np.asarray(rows[1], np.int64).tobytes()


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
              meta: dict, word_paths: dict | None = None, shared_word_paths: dict | None = None, word_pairs: dict | None = None,
              truth: str | None = None) -> dict:
    """One embedding job: load the encoder once, embed every set, save one .npz per set; for the sets in
    ``word_paths`` also the vectors of the words linked in ``word_pairs`` (``{set: word-pairs file}``, with the true
    links of ``truth``: :func:`xstilts.wordalign.linked_words`), the English once to ``shared_word_paths["en"]``
    (:func:`embed_sets`).

    ``settings`` holds exactly :data:`EMBEDDING_SETTINGS`; ``layers`` are the hidden_states indices to keep, resolved
    by :class:`xstilts.plan.StudyPlan` against ``model_layers`` -- checked here against the encoder itself."""
    if set(settings) != set(EMBEDDING_SETTINGS):
        raise ValueError(f"an embedding job reads exactly {list(EMBEDDING_SETTINGS)} of config key 'retrieval', got {sorted(settings)}")
    emb = Embedder(model_dir, device, settings["max_length"], settings["batch_tokens"], settings["embed_precision"])
    if emb.n_layers != model_layers:
        raise ValueError(f"{model_dir} has {emb.n_layers} layers but the config says {model_layers} "
                         "(model.num_hidden_layers, or synthetic.architecture.num_hidden_layers): the layers would be wrong")
    rows = None
    if word_paths:
        from xstilts.wordalign import linked_words

        if not word_pairs or set(word_paths) - set(word_pairs):
            raise ValueError(f"word vectors of {sorted(word_paths)} asked for, but word pairs given only for "
                             f"{sorted(word_pairs or {})}: the job stores the linked words only")

        rows = linked_words({k: word_pairs[k] for k in word_paths}, truth)
    return embed_sets(emb, sets, out_paths, layers, settings["pooling"], meta, settings["store_dtype"], word_paths,
                      shared_word_paths, rows)
