"""Adapter: embed every sentence set of one condition (the Tatoeba or FLORES+ languages, or the BUCC splits) with its
encoder (xstilts.embed); the rule names the corpus, the pivot and the hidden_states layers to keep."""
import json

from xstilts.device import setup_job
from xstilts.embed import SET_READERS, embed_job
from xstilts.logs import to_file

log = to_file(snakemake.log[0])
keys = [k for k in snakemake.output.keys() if not k.startswith("words_")]
words = {k: snakemake.output[f"words_{k}"] for k in keys if f"words_{k}" in snakemake.output.keys()}  # FLORES+: word vectors
stats = embed_job(snakemake.input.model, setup_job(snakemake.threads), dict(snakemake.params.embedding),
                  SET_READERS[snakemake.params.corpus]({k: snakemake.input[k] for k in keys}, snakemake.params.pivot),
                  {k: snakemake.output[k] for k in keys}, layers=list(snakemake.params.layers),
                  model_layers=snakemake.params.model_layers, meta=dict(snakemake.params.meta), word_paths=words)
log.info("%s", json.dumps(stats))
