"""Adapter: one language's MLM text from the pinned Wikipedia snapshot -> mlm/<lang>.parquet (xstilts.sources)."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # conversions read the downloaded files only
from xstilts.logs import to_file
from xstilts.sources import convert_mlm_text

to_file(snakemake.log[0])
convert_mlm_text(dict(snakemake.params.source), snakemake.input.raw, snakemake.wildcards.lang, snakemake.output[0],
                 snakemake.input.language_table, snakemake.params.cap, snakemake.params.seed)
