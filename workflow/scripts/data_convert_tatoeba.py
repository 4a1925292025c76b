"""Adapter: one language's Tatoeba pairs -> tatoeba/<lang>.parquet (xstilts.sources.convert_tatoeba)."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # conversions read the downloaded files only
from xstilts.logs import to_file
from xstilts.sources import convert_tatoeba

to_file(snakemake.log[0])
convert_tatoeba(dict(snakemake.params.source), snakemake.input.raw, snakemake.wildcards.lang, snakemake.output[0],
                snakemake.params.language_table, snakemake.params.pivot)
