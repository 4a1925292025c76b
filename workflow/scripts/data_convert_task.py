"""Adapter: one task's sources -> canonical train/validation (and per-language tests) (xstilts.sources)."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # conversions read the downloaded files only
from xstilts.logs import to_file
from xstilts.sources import convert_task_outputs

to_file(snakemake.log[0])
convert_task_outputs(list(snakemake.params.sources), list(snakemake.input.raw), dict(snakemake.params.task),
                     dict(snakemake.output.items()), snakemake.params.get("language_table"))
