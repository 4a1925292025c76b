"""Adapter: check every real-data source before anything is downloaded (xstilts.sources.write_preflight)."""
from xstilts.logs import to_file
from xstilts.sources import write_preflight

to_file(snakemake.log[0])
write_preflight(dict(snakemake.params.jobs), snakemake.output[0])
