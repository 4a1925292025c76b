"""Adapter: corpus-based morphology measures for one language (xstilts.morphology)."""
import pandas as pd
from transformers import AutoTokenizer

from xstilts.io import atomic_write_json
from xstilts.logs import to_file
from xstilts.morphology import corpus_measures, hf_word_tokenizer

to_file(snakemake.log[0])
s = snakemake.params.settings
lang = snakemake.wildcards.lang
df = pd.read_parquet(snakemake.input.corpus)
if s["corpus"] == "parallel":
    sents, english, corpus = df[lang].tolist(), df[snakemake.params.pivot].tolist(), "multi-parallel"
else:
    sents, english, corpus = df["source_sentence"].tolist(), df["target_sentence"].tolist(), "tatoeba (non-English side)"
tok = hf_word_tokenizer(AutoTokenizer.from_pretrained(snakemake.input.tokenizer))
m = corpus_measures(sents, english, tok, s["sample_tokens"], s["repeats"], s["mattr_window"], snakemake.params.seed,
                    segmented=lang not in s["unsegmented"])
m.update(language=lang, corpus=corpus, n_sentences=len(sents))
atomic_write_json(m, snakemake.output[0])
