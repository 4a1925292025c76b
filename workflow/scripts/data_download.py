"""Adapter: fetch one pinned source (xstilts.sources.download); the base model lands in results/models/base."""
from xstilts.logs import to_file
from xstilts.sources import download

to_file(snakemake.log[0])
download(snakemake.params.key, snakemake.config, snakemake.config["sources_lock"], snakemake.output[0])
