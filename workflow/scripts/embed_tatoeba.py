"""Adapter: embed both sides of every language's Tatoeba pairs with one condition's encoder (xstilts.embed)."""
import json

import pandas as pd

from xstilts.device import setup_job
from xstilts.embed import Embedder, embed_sets
from xstilts.logs import to_file

to_file(snakemake.log[0])
r = snakemake.params.retrieval
device = setup_job(snakemake.threads)
emb = Embedder(snakemake.input.model, device, r["max_length"], r["batch_tokens"])
keys = list(snakemake.output.keys())
sets = {}
for k in keys:
    df = pd.read_parquet(snakemake.input[k])
    sets[k] = {"src": df["source_sentence"].str.strip().tolist(), "en": df["target_sentence"].str.strip().tolist()}
stats = embed_sets(emb, sets, {k: snakemake.output[k] for k in keys}, r["analysis_layers"], r["pooling"], dict(snakemake.params.meta),
                   r["store_dtype"])
print(json.dumps(stats))
