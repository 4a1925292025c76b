"""Adapter: one corpus (Tatoeba or FLORES+) × language × condition: its embeddings read once, every search once
(per-sentence hits of every stored layer; accuracy@1 at the main layer, headline en→xx, with set size and chance
level), and the alignment measures of every stored layer (xstilts.alignment.pair_job)."""
from xstilts.alignment import pair_job
from xstilts.logs import to_file

log = to_file(snakemake.log[0])
w = snakemake.wildcards
log.info("%s", pair_job(snakemake.input.embeddings, snakemake.params.layer, w.lang, w.condition, dict(snakemake.output.items()),
                        corpus=w.corpus))
