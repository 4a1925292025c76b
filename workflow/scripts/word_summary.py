"""Adapter: the word-level summary (xstilts.wordalign.word_summary_job)."""
from xstilts.logs import to_file
from xstilts.wordalign import word_summary_job

log = to_file(snakemake.log[0])
res = word_summary_job(hits=list(snakemake.input.hits), pairs=list(snakemake.input.pairs), layer=snakemake.params.layer,
                       n_boot=snakemake.params.settings["n_boot"], seed=snakemake.params.seed, out=dict(snakemake.output.items()),
                       truth=snakemake.input.get("truth"))
log.info("%s", res)
