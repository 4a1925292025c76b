"""Adapter: one BUCC 2018 archive -> bucc/<lang>.<split>{,.gold}.parquet (xstilts.sources.convert_bucc)."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # conversions read the downloaded files only
from xstilts.logs import to_file
from xstilts.sources import convert_bucc

to_file(snakemake.log[0])
convert_bucc(snakemake.input.raw, dict(snakemake.params.source), snakemake.wildcards.lang, snakemake.wildcards.split,
             snakemake.output.sentences, snakemake.output.gold, snakemake.params.pivot)
