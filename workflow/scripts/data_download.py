"""Adapter: fetch one pinned source and verify what was fetched (xstilts.sources.download); the base model lands in
results/models/base."""
from xstilts.logs import to_file
from xstilts.sources import download

to_file(snakemake.log[0])
download(dict(snakemake.params.job), snakemake.output[0])
