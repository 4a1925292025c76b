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


def tiny_encoder(root: Path, seed: int = 0) -> Path:
    """A randomly initialised 2-layer XLM-R encoder with its tokenizer, saved as a base model."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from xstilts.pretrain import train_tokenizer

    rng = random.Random(seed)
    tok = train_tokenizer([sentence(rng, 10) for _ in range(300)], 80, root / "tokenizer")
    cfg = XLMRobertaConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                           max_position_embeddings=66, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                           eos_token_id=tok.eos_token_id, type_vocab_size=1)
    torch.manual_seed(seed)
    out = root / "base"
    XLMRobertaModel(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


SPEC = {"type": "pair_classification", "labels": LABELS, "max_seq_length": 32}
