"""Adapter: alignment measures for every stored layer (xstilts.alignment)."""
from xstilts.alignment import alignment_job
from xstilts.logs import to_file

to_file(snakemake.log[0])
alignment_job(snakemake.input.embeddings, snakemake.input.hits, snakemake.wildcards.lang, snakemake.wildcards.condition,
              snakemake.output[0])
