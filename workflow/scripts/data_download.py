"""Adapter: real hub downloads (xstilts.data)."""
from xstilts.data import download
from xstilts.logs import to_file

to_file(snakemake.log[0])
download(snakemake.rule, dict(snakemake.params.hub), snakemake.params.key, dict(snakemake.output.items()))
