"""Adapter: corpus-based morphology measures for one language (xstilts.morphology)."""
from xstilts.logs import to_file
from xstilts.morphology import measures_job

log = to_file(snakemake.log[0])
inp = dict(snakemake.input.items())
log.info("%s", measures_job(corpus=inp["corpus"], tokenizer=inp["tokenizer"], lang=snakemake.wildcards.lang,
                            settings=dict(snakemake.params.settings), pivot=snakemake.params.pivot, seed=snakemake.params.seed,
                            out=snakemake.output[0], sample_size=snakemake.params.sample_size))
