"""Embedding extraction: ours (model loaded once per job, length-sorted token-budget batches, dynamic padding,
inference_mode) vs a naive loop (model reloaded per file, unsorted fixed-size batches padded to max length), on a
tiny randomly initialised XLM-R.  Prints tokens/s of both; last line `speedup <ratio>`.

    python bench/embed.py

``--large``: throughput of the extraction path (``xstilts.embed.Embedder``) at XLM-R Large shapes (24 × 1024, vocab
250,002, random weights, nothing downloaded; on a CPU-only machine a 2 × 128 stand-in so the mode is tested) on
BUCC-like sentences (log-normal lengths, median ≈ 30 tokens; UNVERIFIED), every hidden layer pooled. Prints real
tokens/s, model TFLOP/s and MFU (forward: 2·N·s + 4·L·s²·d per real sequence of length s, over the device's bf16
dense peak: H100 SXM / H200 989 TFLOP/s; on CPU over this machine's fp32 matmul rate measured in the same run);
last line ``mfu <fraction>``.

    python bench/embed.py --large [--sentences 100000] [--precision bfloat16]
"""
import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer, XLMRobertaConfig, XLMRobertaModel

ROOT = Path(__file__).resolve().parents[1]
from xstilts.embed import Embedder, embed_sets
from xstilts.pretrain import train_tokenizer

N_FILES, N_SENT, MAX_LEN, LAYERS = 8, 400, 128, [2, 4]


def corpus(seed=0):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(3000)]
    # Tatoeba-like skew: mostly short sentences, a long tail
    return [[" ".join(rng.choice(words) for _ in range(max(2, int(rng.lognormvariate(2.2, 0.6))))) for _ in range(N_SENT)] for _ in range(N_FILES)]


def naive(model_dir, files, device):
    tokens = 0
    for texts in files:
        tok = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModel.from_pretrained(model_dir).to(device).eval()
        for i in range(0, len(texts), 32):
            enc = tok(texts[i:i + 32], padding="max_length", truncation=True, max_length=MAX_LEN, return_tensors="pt")
            with torch.no_grad():
                hs = model(**enc, output_hidden_states=True).hidden_states
            m = enc["attention_mask"].unsqueeze(-1).float()
            _ = [((hs[l] * m).sum(1) / m.sum(1)).numpy() for l in LAYERS]
            tokens += int(enc["attention_mask"].sum())
    return tokens


def ours(model_dir, files, device, out):
    emb = Embedder(model_dir, device, MAX_LEN, batch_tokens=4096)
    sets = {str(i): {"src": t} for i, t in enumerate(files)}
    embed_sets(emb, sets, {k: str(Path(out) / f"{k}.npz") for k in sets}, LAYERS, "mean", {})
    return emb.tokens_seen


def large(n_sentences: int, precision: str | None, batch_tokens: int) -> float:
    """Extraction throughput and MFU at XLM-R Large shapes (GPU) or a small stand-in (CPU)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from finetune import SMALL, cpu_matmul_peak

    from xstilts import flops

    cuda = torch.cuda.is_available()
    arch = flops.XLMR_LARGE if cuda else SMALL
    precision = precision or ("bfloat16" if cuda else "float32")
    rng = random.Random(0)
    words = [f"w{i}" for i in range(3000)]
    texts = [" ".join(rng.choice(words) for _ in range(max(2, int(rng.lognormvariate(2.9, 0.5))))) for _ in range(n_sentences)]
    dev = torch.device("cuda" if cuda else "cpu")
    with tempfile.TemporaryDirectory() as d:
        tok = train_tokenizer(texts[:5000], 4000, Path(d) / "tok")
        cfg = XLMRobertaConfig(**arch, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
        torch.manual_seed(0)
        XLMRobertaModel(cfg, add_pooling_layer=False).save_pretrained(Path(d) / "model")
        tok.save_pretrained(Path(d) / "model")
        emb = Embedder(str(Path(d) / "model"), dev, 512, batch_tokens, precision)
        layers = emb.all_layers
        emb.embed(texts[:2000], layers)  # warm-up (kernels, allocator)
        emb.tokens_seen = 0
        lengths = [len(x) for x in emb.tokenizer(texts, truncation=True, max_length=512)["input_ids"]]
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        emb.embed(texts, layers)
        if cuda:
            torch.cuda.synchronize()
        wall = time.perf_counter() - t0
        n = flops.non_embedding_params(emb.model)
    assert emb.tokens_seen == sum(lengths), (emb.tokens_seen, sum(lengths))
    f = flops.forward_flops(n, cfg.num_hidden_layers, cfg.hidden_size, lengths)
    if cuda:
        name = torch.cuda.get_device_name()
        peak, src = flops.device_peak(name), "dense bf16 peak"
        if peak is None:
            sys.exit(f"unknown device {name!r}")
        mem = f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
    else:
        name, peak, src, mem = f"CPU ({torch.get_num_threads()} threads)", cpu_matmul_peak(), "this machine's fp32 matmul rate", "n/a"
    print(f"# device: {name}; torch {torch.__version__}; model {cfg.num_hidden_layers} x {cfg.hidden_size}, vocab {cfg.vocab_size}; "
          f"{n_sentences} sentences, {sum(lengths)} real tokens; precision {precision}; batch_tokens {batch_tokens}; all {len(layers)} layers pooled")
    print(f"# MFU = 2·N·s + 4·L·s²·d per real sequence / (time × {peak / 1e12:.4g} TFLOP/s, {src}); N = {n / 1e6:.1f}M")
    print(f"extract {sum(lengths) / wall:,.0f} real tokens/s  {f / wall / 1e12:.4g} TFLOP/s  MFU {f / wall / peak:.1%}  peak mem {mem}  ({wall:.2f} s)")
    print(f"mfu {f / wall / peak:.4f}")
    return f / wall / peak


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--large", action="store_true", help="XLM-R Large shapes (a small stand-in on CPU): tokens/s and MFU")
    ap.add_argument("--sentences", type=int, default=None, help="--large: sentences (default 100,000 GPU / 2,000 CPU)")
    ap.add_argument("--precision", default=None, help="--large: float32 | bfloat16 | float16 (default bfloat16 on GPU)")
    ap.add_argument("--batch-tokens", type=int, default=None, help="--large: token budget per batch (default 65,536 GPU / 4,096 CPU)")
    a = ap.parse_args()
    if a.large:
        cuda = torch.cuda.is_available()
        large(a.sentences or (100_000 if cuda else 2000), a.precision, a.batch_tokens or (65536 if cuda else 4096))
        sys.exit(0)
    torch.set_num_threads(os.cpu_count())
    files = corpus()
    with tempfile.TemporaryDirectory() as d:
        tok = train_tokenizer([s for f in files for s in f], 4000, Path(d) / "tok")
        cfg = XLMRobertaConfig(vocab_size=len(tok), hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024,
                               max_position_embeddings=MAX_LEN + 2, pad_token_id=tok.pad_token_id, type_vocab_size=1)
        torch.manual_seed(0)
        XLMRobertaModel(cfg).save_pretrained(Path(d) / "model")
        tok.save_pretrained(Path(d) / "model")
        dev = torch.device("cpu")
        t0 = time.perf_counter()
        n_naive = naive(str(Path(d) / "model"), files, dev)
        t_naive = time.perf_counter() - t0
        t0 = time.perf_counter()
        n_ours = ours(str(Path(d) / "model"), files, dev, d)
        t_ours = time.perf_counter() - t0
    assert n_naive == n_ours, (n_naive, n_ours)
    print(f"# {N_FILES} files x {N_SENT} sentences, {n_ours} real tokens, layers {LAYERS}, tiny XLM-R (4 x 256), cpus={os.cpu_count()}")
    print(f"naive: {t_naive:.2f} s, {n_naive / t_naive:.0f} tokens/s (reload per file, unsorted, padded to {MAX_LEN})")
    print(f"ours : {t_ours:.2f} s, {n_ours / t_ours:.0f} tokens/s (one load, length-sorted token-budget batches)")
    print(f"speedup {t_naive / t_ours:.2f}")
