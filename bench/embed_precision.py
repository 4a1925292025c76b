"""Effect of the embedding precision on Tatoeba accuracy@1 (en→xx headline, xx→en): float32 (the reference path)
vs bfloat16 autocast, same model, same sentences, every layer.

    python bench/embed_precision.py --model results/models/base --data results/data/tatoeba [--device cpu]

Prints one line per language × layer and, last, the mean absolute change and the largest change in accuracy.
"""
import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from xstilts.embed import Embedder
from xstilts.retrieval import tatoeba_scores

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="folder of Tatoeba parquet files (source_sentence, target_sentence)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--pooling", default="mean_skip_special")
    ap.add_argument("--precisions", default="float32,bfloat16")
    a = ap.parse_args()
    precs = a.precisions.split(",")
    rows = []
    for prec in precs:
        emb = Embedder(a.model, torch.device(a.device), 128, 8192, prec)
        layers = emb.all_layers
        t0 = time.perf_counter()
        for f in sorted(Path(a.data).glob("*.parquet")):
            df = pd.read_parquet(f)
            src = emb.embed(df["source_sentence"].str.strip().tolist(), layers, a.pooling)
            en = emb.embed(df["target_sentence"].str.strip().tolist(), layers, a.pooling)
            for li, layer in enumerate(layers):
                s = tatoeba_scores(src[li], en[li], use_gpu=False, name=f"{f} layer {layer}")
                rows.append({"precision": prec, "language": f.stem, "layer": layer, "en2xx": s["acc_en2xx"], "xx2en": s["acc_xx2en"], "n": s["n"]})
        print(f"{prec}: {time.perf_counter() - t0:.1f} s on {a.device}")
    df = pd.DataFrame(rows).pivot_table(index=["language", "layer", "n"], columns="precision", values=["en2xx", "xx2en"])
    print(df.to_string())
    ref, alt = precs[0], precs[1]
    for d in ("en2xx", "xx2en"):
        diff = df[(d, alt)] - df[(d, ref)]
        changed = (diff != 0).sum()
        print(f"{d}: mean {ref} {df[(d, ref)].mean():.4f}, mean {alt} {df[(d, alt)].mean():.4f}; mean |Δ| {diff.abs().mean():.4f}, "
              f"max |Δ| {diff.abs().max():.4f}; {changed} of {len(diff)} language×layer cells changed")
    print(f"last: mean |Δ en2xx| {np.abs(df[('en2xx', alt)] - df[('en2xx', ref)]).mean():.4f}")
