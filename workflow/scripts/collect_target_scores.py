"""Adapter: every per-language zero-shot score file as one table (xstilts.findings.collect_target_scores)."""
from xstilts.findings import collect_target_scores
from xstilts.logs import to_file

to_file(snakemake.log[0])
collect_target_scores(list(snakemake.input), snakemake.output[0])
