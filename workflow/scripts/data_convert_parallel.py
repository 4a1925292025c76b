"""Adapter: FLORES+ devtest -> parallel.parquet, one column per language (xstilts.sources.convert_flores)."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # conversions read the downloaded files only
from xstilts.logs import to_file
from xstilts.sources import convert_flores

to_file(snakemake.log[0])
convert_flores(snakemake.input.raw, dict(snakemake.params.source), list(snakemake.params.languages), snakemake.output[0],
               snakemake.params.language_table)
