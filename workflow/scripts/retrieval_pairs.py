"""Adapter: every search of one corpus (Tatoeba or FLORES+) × language × condition, once: per-sentence hits of every
stored layer, and the accuracy@1 at the main layer (headline en→xx, xx→en stored; set size and chance level)
(xstilts.retrieval)."""
from xstilts.logs import to_file
from xstilts.retrieval import tatoeba_job

log = to_file(snakemake.log[0])
w = snakemake.wildcards
log.info("%s", tatoeba_job(snakemake.input.embeddings, snakemake.params.layer, w.lang, w.condition, dict(snakemake.output.items()),
                           corpus=w.corpus))
