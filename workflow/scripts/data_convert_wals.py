"""Adapter: WALS CLDF files -> wals/*.csv with LF endings and a row-count check (xstilts.sources.convert_wals)."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # conversions read the downloaded files only
from xstilts.logs import to_file
from xstilts.sources import convert_wals

to_file(snakemake.log[0])
convert_wals(snakemake.input.raw, dict(snakemake.output.items()), snakemake.params.expected_values)
