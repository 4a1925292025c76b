"""Adapter: one language's word pairs from eflomal, seeded with the study seed, on the multi-parallel corpus
(xstilts.wordalign.wordpairs_job)."""
from xstilts.logs import to_file
from xstilts.wordalign import wordpairs_job

log = to_file(snakemake.log[0])
s = dict(snakemake.params.settings)
log.info("%s", wordpairs_job(parallel=snakemake.input.parallel, lang=snakemake.wildcards.lang, pivot=snakemake.params.pivot,
                             out=snakemake.output[0], extra=list(snakemake.input.get("extra", [])),
                             unsegmented=s["unsegmented"], seed=snakemake.params.seed))
