"""Adapter: Tatoeba accuracy@1 in both directions at the main layer (xstilts.retrieval)."""
from xstilts.io import load_embeddings, atomic_write_json
from xstilts.logs import to_file
from xstilts.retrieval import tatoeba_scores

to_file(snakemake.log[0])
arrays, layers, meta = load_embeddings(snakemake.input.embeddings)
layer = snakemake.params.layer
li = layers.index(layer if layer >= 0 else layers[layer])
scores = tatoeba_scores(arrays["src"][li], arrays["en"][li])
scores.update(language=snakemake.wildcards.lang, condition=snakemake.wildcards.condition, layer=layers[li], embedding_meta=meta)
atomic_write_json(scores, snakemake.output[0])
print(scores)
