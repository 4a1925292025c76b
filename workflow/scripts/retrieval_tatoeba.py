"""Adapter: Tatoeba accuracy@1 in both directions at the main layer (xstilts.retrieval)."""
from xstilts.io import load_embeddings, atomic_write_json
from xstilts.logs import to_file
from xstilts.retrieval import tatoeba_scores

to_file(snakemake.log[0])
arrays, layers, meta = load_embeddings(snakemake.input.embeddings)
layer = snakemake.params.layer
li = layers.index(layer if layer >= 0 else layers[layer])
# CPU faiss: at Tatoeba size (<= 1,000 x 1,000) the search takes milliseconds and GPU start-up would dominate;
# this many small jobs declare no GPU resource, so they must not take one
scores = tatoeba_scores(arrays["src"][li], arrays["en"][li], use_gpu=False)
scores.update(language=snakemake.wildcards.lang, condition=snakemake.wildcards.condition, layer=layers[li], embedding_meta=meta)
atomic_write_json(scores, snakemake.output[0])
print(scores)
