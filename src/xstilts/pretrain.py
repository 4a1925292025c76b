"""The demo's stand-in for the public pretrained model: a SentencePiece-style tokenizer (BPE + Metaspace)
trained on the synthetic corpus and a tiny XLM-R-architecture masked LM pretrained on it (transformers ``Trainer``).

The corpus mixes monolingual text per language with a TLM-style fraction of concatenated translation pairs
(``xx </s> en``) plus the shared anchors of the generator (digits, names); the fraction is set per language in the
demo config.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    DataCollatorForLanguageModeling,
    PreTrainedTokenizerFast,
    Trainer,
    TrainingArguments,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
)

from xstilts.finetune import FeatureDataset
from xstilts.io import atomic_dir, atomic_write_json

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


def pretrain_mlm(texts: list[str], tokenizer_dir: str, arch: dict, hp: dict, out_dir: str, metrics_path: str, seed: int) -> dict:
    """Pretrain a tiny XLM-R masked LM from scratch; save it (model + tokenizer) to ``out_dir``."""
    tokenizer = PreTrainedTokenizerFast.from_pretrained(tokenizer_dir)
    max_len = int(arch.get("max_position_embeddings", 130)) - 2
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
    model = XLMRobertaForMaskedLM(cfg)
    enc = tokenizer(texts, truncation=True, max_length=max_len)
    feats = [{"input_ids": ids} for ids in enc["input_ids"]]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=hp.get("mlm_probability", 0.15), seed=seed)
    with tempfile.TemporaryDirectory() as scratch:
        args = TrainingArguments(
            output_dir=scratch, learning_rate=hp["learning_rate"], num_train_epochs=hp["epochs"],
            per_device_train_batch_size=hp["batch_size"], warmup_steps=hp.get("warmup_ratio", 0.05), weight_decay=0.01,
            lr_scheduler_type="linear", seed=seed, data_seed=seed, use_cpu=not torch.cuda.is_available(),
            save_strategy="no", eval_strategy="no", logging_steps=100, report_to="none", disable_tqdm=True,
            remove_unused_columns=False, dataloader_num_workers=0,
        )
        trainer = Trainer(model=model, args=args, data_collator=collator, train_dataset=FeatureDataset(feats))
        result = trainer.train()
    with atomic_dir(out_dir) as tmp:
        trainer.model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    metrics = {"train": result.metrics, "n_sequences": len(feats), "n_parameters": sum(p.numel() for p in model.parameters()),
               "config": cfg.to_dict()}
    atomic_write_json(metrics, metrics_path)
    return metrics
