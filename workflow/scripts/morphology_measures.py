"""Adapter: corpus-based morphology measures for one language (xstilts.morphology)."""
import pandas as pd
from transformers import AutoTokenizer

from xstilts.io import atomic_write_json, read_json
from xstilts.logs import to_file
from xstilts.morphology import corpus_measures, corpus_sentences, hf_word_tokenizer

to_file(snakemake.log[0])
s = snakemake.params.settings
lang = snakemake.wildcards.lang
sents, english, corpus = corpus_sentences(pd.read_parquet(snakemake.input.corpus), lang, s["corpus"], snakemake.params.pivot)
if "sample_size" in snakemake.input.keys():  # noqa: SIM118 (a Namedlist: `in` alone tests the paths)
    sizing = read_json(snakemake.input.sample_size)
    size, policy = sizing["sample_size"], sizing["policy"]
else:
    size, policy = s["sample_tokens"], "fixed (config)"
tok = hf_word_tokenizer(AutoTokenizer.from_pretrained(snakemake.input.tokenizer))
m = corpus_measures(sents, english, tok, size, s["repeats"], s["mattr_window"], snakemake.params.seed,
                    segmented=lang not in s["unsegmented"])
m.update(language=lang, corpus=corpus, n_sentences=len(sents), sample_policy=policy)
atomic_write_json(m, snakemake.output[0])
