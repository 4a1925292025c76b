"""Adapter: a '<task>+translated' training table, English + machine-translated rows (xstilts.sources)."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # conversions read the downloaded files only
from xstilts.logs import to_file
from xstilts.sources import convert_translated

to_file(snakemake.log[0])
convert_translated(dict(snakemake.params.source), snakemake.input.raw, snakemake.input.english, list(snakemake.params.languages),
                   dict(snakemake.params.task), snakemake.output.table, snakemake.output.record,
                   snakemake.input.language_table, snakemake.params.key)
