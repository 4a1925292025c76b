"""Adapter: the word measures of one language × condition at every stored layer (xstilts.wordalign.word_measures_job)."""
from xstilts.logs import to_file
from xstilts.wordalign import word_measures_job

log = to_file(snakemake.log[0])
w = snakemake.wildcards
log.info("%s", word_measures_job(words=snakemake.input.words, english=snakemake.input.english, pairs=snakemake.input.pairs,
                                 language=w.lang, condition=w.condition, corpus=snakemake.params.corpus,
                                 out=dict(snakemake.output.items()), seed=snakemake.params.seed, truth=snakemake.input.get("truth")))
