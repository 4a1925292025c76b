"""Adapter: embed both sides of every language's Tatoeba pairs with one condition's encoder (xstilts.embed)."""
import json

import pandas as pd

from xstilts.device import setup_job
from xstilts.embed import embed_job
from xstilts.logs import to_file

to_file(snakemake.log[0])
keys = list(snakemake.output.keys())
sets = {}
for k in keys:
    df = pd.read_parquet(snakemake.input[k])
    sets[k] = {"src": df["source_sentence"].str.strip().tolist(), "en": df["target_sentence"].str.strip().tolist()}
stats = embed_job(snakemake.input.model, setup_job(snakemake.threads), dict(snakemake.params.embedding), sets,
                  {k: snakemake.output[k] for k in keys}, snakemake.params.layers, dict(snakemake.params.meta))
print(json.dumps(stats))
