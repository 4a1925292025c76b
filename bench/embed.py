"""Embedding extraction: ours (model loaded once per job, length-sorted token-budget batches, dynamic padding,
inference_mode) vs a naive loop (model reloaded per file, unsorted fixed-size batches padded to max length), on a
tiny randomly initialised XLM-R.  Prints tokens/s of both; last line `speedup <ratio>`.

    python bench/embed.py
"""
import os
import random
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer, XLMRobertaConfig, XLMRobertaModel

ROOT = Path(__file__).resolve().parents[1]
from xstilts.embed import Embedder, embed_sets  # noqa: E402
from xstilts.pretrain import train_tokenizer  # noqa: E402

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


if __name__ == "__main__":
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
