"""Adapter: Tatoeba accuracy@1 at the main layer; headline en→xx, xx→en stored (xstilts.retrieval)."""
from xstilts.io import atomic_write_json, load_embeddings
from xstilts.logs import to_file
from xstilts.retrieval import resolve_main_layer, tatoeba_scores

to_file(snakemake.log[0])
path = snakemake.input.embeddings
arrays, layers, meta = load_embeddings(path)
layer = resolve_main_layer(snakemake.params.layer, layers)
li = layers.index(layer)
lang = snakemake.wildcards.lang
# CPU faiss: at Tatoeba size (<= 1,000 x 1,000) the search takes milliseconds and GPU start-up would dominate;
# this many small jobs declare no GPU resource, so they must not take one
scores = tatoeba_scores(arrays["src"][li], arrays["en"][li], use_gpu=False, name=f"{path} (language {lang}, layer {layer})")
scores.update(language=lang, condition=snakemake.wildcards.condition, layer=layer, embedding_meta=meta)
atomic_write_json(scores, snakemake.output[0])
print(scores)
