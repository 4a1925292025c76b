"""Adapter: alignment measures for every stored layer of one corpus × language × condition (xstilts.alignment)."""
from xstilts.alignment import alignment_job
from xstilts.logs import to_file

to_file(snakemake.log[0])
w = snakemake.wildcards
alignment_job(snakemake.input.embeddings, snakemake.input.hits, w.lang, w.condition, snakemake.output[0], corpus=w.corpus)
