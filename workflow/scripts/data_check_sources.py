"""Adapter: check every real-data source before anything is downloaded (xstilts.sources.preflight)."""
from xstilts.io import atomic_write_json
from xstilts.logs import to_file
from xstilts.sources import preflight, read_lock

to_file(snakemake.log[0])
plan = preflight(snakemake.config, read_lock(snakemake.config["sources_lock"]))
atomic_write_json(plan, snakemake.output[0])
