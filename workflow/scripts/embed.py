"""Adapter: embed every sentence set of one condition (the Tatoeba or FLORES+ languages, or the BUCC splits) with its
encoder (xstilts.embed); the rule names the corpus, the pivot and the hidden_states layers to keep. FLORES+: also the
vectors of the words with a confident link (outputs words_<lang>, the English once in words_pivot; inputs pairs_<lang>
and, in the synthetic world, truth)."""
import json

from xstilts.device import setup_job
from xstilts.embed import SET_READERS, embed_job
from xstilts.logs import to_file

log = to_file(snakemake.log[0])
keys = [k for k in snakemake.output.keys() if not k.startswith("words_")]
words = {k: snakemake.output[f"words_{k}"] for k in keys if f"words_{k}" in snakemake.output.keys()}
shared = {"en": snakemake.output.words_pivot} if words else {}
pairs = {k: snakemake.input[f"pairs_{k}"] for k in words}
stats = embed_job(snakemake.input.model, setup_job(snakemake.threads), dict(snakemake.params.embedding),
                  SET_READERS[snakemake.params.corpus]({k: snakemake.input[k] for k in keys}, snakemake.params.pivot),
                  {k: snakemake.output[k] for k in keys}, layers=list(snakemake.params.layers),
                  model_layers=snakemake.params.model_layers, meta=dict(snakemake.params.meta), word_paths=words,
                  shared_word_paths=shared, word_pairs=pairs, truth=snakemake.input.get("truth"))
log.info("%s", json.dumps(stats))
