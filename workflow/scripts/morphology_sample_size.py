"""Adapter: one word-token sample size every segmented study language supports (xstilts.morphology)."""
from xstilts.logs import to_file
from xstilts.morphology import sample_size_job

log = to_file(snakemake.log[0])
log.info("%s", sample_size_job(dict(snakemake.input.items()), dict(snakemake.params.settings), snakemake.params.pivot,
                               snakemake.output[0]))
