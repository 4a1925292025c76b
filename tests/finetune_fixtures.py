"""Tiny fine-tuning fixtures: a tokenizer trained on a toy corpus, a 2-layer XLM-R encoder, toy task data."""
from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

WORDS = ["the", "a", "big", "small", "dog", "cat", "saw", "ran", "not", "did", "three", "two", "red", "blue", "house", "tree", "and", "or"]
LABELS = ["entailment", "neutral", "contradiction"]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def pair_data(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        s1 = sentence(rng, rng.randint(3, 12))
        s2 = sentence(rng, rng.randint(2, 8))
        label = LABELS[0] if "not" not in s2 and "dog" in s1 else LABELS[2] if "not" in s2 else LABELS[1]
        rows.append({"sentence1": s1, "sentence2": s2, "label": label})
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path


def save_tiny_xlmr(tok, out: Path, *, layers: int, hidden: int, max_positions: int, masked_lm: bool = False,
                   seed: int = 0) -> str:
    """A randomly initialised tiny XLM-R (encoder, or with its MLM head) saved with ``tok`` at ``out``."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaModel

    cfg = XLMRobertaConfig(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                           intermediate_size=2 * hidden, max_position_embeddings=max_positions, pad_token_id=tok.pad_token_id,
                           bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, type_vocab_size=1)
    torch.manual_seed(seed)
    (XLMRobertaForMaskedLM if masked_lm else XLMRobertaModel)(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


def tiny_encoder(root: Path, seed: int = 0) -> Path:
    """A randomly initialised 2-layer XLM-R encoder with its tokenizer, saved as a base model."""
    from xstilts.pretrain import train_tokenizer

    rng = random.Random(seed)
    tok = train_tokenizer([sentence(rng, 10) for _ in range(300)], 80, root / "tokenizer")
    return Path(save_tiny_xlmr(tok, root / "base", layers=2, hidden=16, max_positions=66, seed=seed))


SPEC = {"type": "pair_classification", "labels": LABELS, "max_seq_length": 32}
