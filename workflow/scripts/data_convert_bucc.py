"""Adapter: one BUCC 2018 archive -> bucc/<lang>.<split>{,.gold}.parquet (xstilts.sources.convert_bucc_archive)."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # conversions read the downloaded files only
from pathlib import Path

from xstilts.logs import to_file
from xstilts.sources import convert_bucc_archive

to_file(snakemake.log[0])
lang, split = snakemake.wildcards.lang, snakemake.wildcards.split
archive = Path(snakemake.input.raw) / snakemake.params.source["url"].format(lang=lang, split=split).rsplit("/", 1)[-1]
convert_bucc_archive(archive, lang, split, snakemake.output.sentences, snakemake.output.gold, snakemake.params.pivot)
