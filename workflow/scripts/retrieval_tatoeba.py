"""Adapter: every Tatoeba search of one language × condition, once: per-sentence hits of every stored layer, and the
accuracy@1 at the main layer (headline en→xx, xx→en stored) (xstilts.retrieval)."""
from xstilts.logs import to_file
from xstilts.retrieval import tatoeba_job

log = to_file(snakemake.log[0])
log.info("%s", tatoeba_job(snakemake.input.embeddings, snakemake.params.layer, snakemake.wildcards.lang, snakemake.wildcards.condition,
                           dict(snakemake.output.items())))
