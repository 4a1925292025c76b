"""Adapter: embed every BUCC split of one condition (xstilts.embed); only the main layer is kept."""
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
    side = df["side"] == k.split(".")[0]
    sets[k] = {"src": df.loc[side, "text"].tolist(), "en": df.loc[~side, "text"].tolist()}
stats = embed_job(snakemake.input.model, setup_job(snakemake.threads), dict(snakemake.params.embedding), sets,
                  {k: snakemake.output[k] for k in keys}, snakemake.params.layers, dict(snakemake.params.meta),
                  main_layer=snakemake.params.main_layer)
print(json.dumps(stats))
