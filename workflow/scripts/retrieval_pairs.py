"""Adapter: one corpus (Tatoeba or FLORES+) × language × condition: its embeddings read once, every search once
(per-sentence hits of every stored layer; accuracy@1 at the main layer, headline en→xx, with set size and chance
level), and the alignment measures of every stored layer (xstilts.alignment.pair_job); on the multi-parallel corpus
also the word-level measures of every stored layer (xstilts.wordalign.word_measures_job)."""
from xstilts.alignment import pair_job
from xstilts.logs import to_file
from xstilts.wordalign import word_measures_job

log = to_file(snakemake.log[0])
w, i, o, p = snakemake.wildcards, snakemake.input, snakemake.output, snakemake.params
log.info("%s", pair_job(i.embeddings, p.layer, w.lang, w.condition, {k: o[k] for k in ("score", "hits", "alignment")},
                        corpus=p.corpus))
if "word_alignment" in o.keys():
    log.info("%s", word_measures_job(words=i.words, english=i.english, pairs=i.pairs, language=w.lang, condition=w.condition,
                                     corpus=p.corpus, out={"alignment": o.word_alignment, "hits": o.word_hits}, seed=p.seed,
                                     truth=i.get("truth")))
