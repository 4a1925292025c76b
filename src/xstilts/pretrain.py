"""The demo's stand-in for the public pretrained model: a SentencePiece-style tokenizer (BPE + Metaspace)
trained on the synthetic corpus and a tiny XLM-R-architecture masked LM pretrained on it (transformers ``Trainer``).

The corpus mixes monolingual text per language with a TLM-style fraction of concatenated translation pairs
(``xx </s> en``) plus the shared anchors of the generator (digits, names); the fraction is set per language in the
demo config.  The corruption is configurable (``synthetic.pretrain``): the share of tokens selected for prediction,
their split into ``<mask>``/random/kept (BERT: 80/10/10), TLM position reset at the inner ``</s>`` (XLM) and random
position offsets.  The defaults reproduce BERT's masks exactly.
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import (
    DataCollatorForLanguageModeling,
    PreTrainedTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
)
from transformers.modeling_outputs import MaskedLMOutput

from xstilts.io import atomic_dir, atomic_write_json
from xstilts.training import HParams, Runtime, finish_checkpoints, fit, prepare_outputs

log = logging.getLogger(__name__)

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..3, then <mask>


def read_corpus(paths: list[str]) -> list[str]:
    return [t for p in paths for t in pd.read_parquet(p)["text"].tolist()]


def train_tokenizer(texts: list[str], vocab_size: int, out_dir: str | Path) -> PreTrainedTokenizerFast:
    """Subword tokenizer with SentencePiece's ▁ word-boundary marker (Metaspace), as XLM-R's.

    BPE rather than Unigram: on the small synthetic corpus Unigram's EM pruning leaves odd segmentations of the
    most frequent words; BPE's merges are stable at this size."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, min_frequency=2, show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
                                                      trim_offsets=False, add_prefix_space=False)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
                                   unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512)
    with atomic_dir(out_dir) as tmp:
        fast.save_pretrained(tmp)
    return fast


def reset_positions(input_ids: torch.Tensor, pad_id: int, sep_id: int) -> torch.Tensor:
    """RoBERTa position ids (first real token at ``pad_id + 1``, padding at ``pad_id``) that restart at a separator
    ``</s>`` inside a row: a translation pair ``<s> xx </s> en </s>`` gets the positions of ``<s> xx`` again for
    ``</s> en``, as XLM's TLM does, so a word and its translation can line up by position as well as by content.
    Rows without an inner separator (monolingual text) get the standard positions."""
    real = input_ids.ne(pad_id)
    pos = torch.cumsum(real.long(), dim=1)  # 1-based index among real tokens
    last = real.long().sum(1, keepdim=True)
    inner = input_ids.eq(sep_id) & (pos < last) & (pos > 1)
    # index of the first inner separator per row (0 = none)
    first = torch.where(inner, pos, torch.full_like(pos, 10**9)).min(1, keepdim=True).values
    first = torch.where(first >= 10**9, torch.zeros_like(first), first)
    shift = torch.where((first > 0) & (pos >= first), first - 1, torch.zeros_like(pos))
    return torch.where(real, pos - shift + pad_id, torch.full_like(pos, pad_id))


def mlm_collate(tokenizer, probability: float, seed: int, position_reset: bool = False, position_offset: int = 0,
                mask_replace_prob: float = 0.8, random_replace_prob: float = 0.1):
    """Masked-LM collation whose masks depend only on the batch's content and the seed, so that a resumed run masks
    every batch as the uninterrupted run did (the global RNG is not yet restored when the first resumed batch is
    collated).  ``position_reset``: TLM pairs get positions that restart at the inner separator
    (:func:`reset_positions`).  ``position_offset``: every row's positions start at a random offset in
    ``[0, position_offset]`` (drawn with the masks), so absolute positions -- and through them sentence length -- carry
    less of the representation.  ``mask_replace_prob``/``random_replace_prob``: BERT's 80/10/10 split of the selected
    tokens (the rest keep their token and are still predicted)."""
    base = DataCollatorForLanguageModeling(tokenizer, mlm_probability=probability, mask_replace_prob=mask_replace_prob,
                                           random_replace_prob=random_replace_prob)

    def collate(batch: list[dict]) -> dict:
        ids = np.fromiter((t for f in batch for t in f["input_ids"]), dtype=np.int64)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed((seed * 1_000_003 + zlib.crc32(ids.tobytes())) % 2**63)
            out = base(batch)
            shift = torch.randint(0, position_offset + 1, (len(batch), 1)) if position_offset else None
        if position_reset or position_offset:
            # from the unmasked ids: masking never replaces </s> (special tokens are excluded from masking), but the
            # random-token replacement could draw it, so use the original rows
            orig = torch.full_like(out["input_ids"], tokenizer.pad_token_id)
            for r, f in enumerate(batch):
                orig[r, : len(f["input_ids"])] = torch.as_tensor(f["input_ids"])
            pad = tokenizer.pad_token_id
            pos = (reset_positions(orig, pad, tokenizer.sep_token_id) if position_reset
                   else torch.where(orig.ne(pad), torch.cumsum(orig.ne(pad).long(), 1) + pad, torch.full_like(orig, pad)))
            if shift is not None:
                pos = torch.where(orig.ne(pad), pos + shift, pos)
            out["position_ids"] = pos
        return out

    return collate


class MaskedOnlyMLM(XLMRobertaForMaskedLM):
    """XLM-R masked LM whose training forward applies the LM head to the masked positions only.  The loss is the
    same; the vocabulary projection -- most of a tiny model's compute -- is skipped for the tokens not selected for
    prediction (85% at BERT's rate), so a step costs about half.  Without labels it is the plain model; it is saved as a
    plain ``XLMRobertaForMaskedLM``."""

    def forward(self, input_ids=None, attention_mask=None, labels=None, position_ids=None, **kwargs):
        if labels is None:
            return super().forward(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, **kwargs)
        hidden = self.roberta(input_ids, attention_mask=attention_mask, position_ids=position_ids, return_dict=True).last_hidden_state
        sel = labels != -100
        logits = self.lm_head(hidden[sel])
        loss = torch.nn.functional.cross_entropy(logits, labels[sel]) if sel.any() else hidden.sum() * 0.0
        return MaskedLMOutput(loss=loss, logits=logits)


def pretrain_mlm(texts: list[str], tokenizer_dir: str, arch: dict, hp: dict, out_dir: str, metrics_path: str, seed: int, *,
                 ckpt_dir: str | Path | None = None, runtime: Runtime | None = None) -> dict:
    """Pretrain a tiny XLM-R masked LM from scratch; save it (model + tokenizer) to ``out_dir``. Checkpointed and
    resumable like every training run (``xstilts.training.fit``; checkpoints beside ``out_dir`` by default)."""
    from xstilts.config import schema_defaults

    arch = {**schema_defaults("synthetic.architecture"), **arch}  # the schema's defaults, never restated here
    hp = {**schema_defaults("synthetic.pretrain"), **hp}
    prepare_outputs(out_dir, metrics_path)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(tokenizer_dir)
    max_len = int(arch["max_position_embeddings"]) - 2
    cfg = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=arch["hidden_size"],
        num_hidden_layers=arch["num_hidden_layers"],
        num_attention_heads=arch["num_attention_heads"],
        intermediate_size=arch["intermediate_size"],
        max_position_embeddings=max_len + 2,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
    )
    torch.manual_seed(seed)
    model = MaskedOnlyMLM(cfg)
    offset = int(hp["position_offset"])
    if not 0 <= offset <= max_len // 2:
        raise ValueError(f"synthetic.pretrain.position_offset: {offset} must lie in 0..{max_len // 2} (half the positions)")
    enc = tokenizer(texts, truncation=True, max_length=max_len - offset)  # offset rows still fit the position table
    feats = [{"input_ids": ids} for ids in enc["input_ids"]]
    collate = mlm_collate(tokenizer, hp["mlm_probability"], seed, bool(hp["tlm_position_reset"]), offset,
                          hp["mask_replace_prob"], hp["random_replace_prob"])
    fhp = HParams(learning_rate=hp["learning_rate"], epochs=hp["epochs"], batch_size=hp["batch_size"],
                  warmup_ratio=hp["warmup_ratio"], weight_decay=0.01)
    ckpt_dir = Path(ckpt_dir) if ckpt_dir else Path(out_dir).parent / "checkpoints"
    rt = runtime or Runtime()
    model, train_metrics = fit(model, feats, collate, fhp, rt, ckpt_dir, seed)
    plain = XLMRobertaForMaskedLM(cfg)  # the same weights under the standard class (AutoModel* load it as XLM-R)
    plain.load_state_dict(model.state_dict())
    with atomic_dir(out_dir) as tmp:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    metrics = {"train": train_metrics, "n_sequences": len(feats), "n_parameters": sum(p.numel() for p in model.parameters()),
               "config": cfg.to_dict()}
    atomic_write_json(metrics, metrics_path)
    finish_checkpoints(ckpt_dir, rt)
    return metrics
