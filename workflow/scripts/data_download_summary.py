"""Adapter: record the manifest of every downloaded source (xstilts.sources.summarise_downloads)."""
from xstilts.logs import to_file
from xstilts.sources import summarise_downloads

to_file(snakemake.log[0])
summarise_downloads([*snakemake.input.sources, snakemake.input.model], snakemake.output[0])
