"""Adapter: train the demo tokenizer (xstilts.pretrain)."""
from xstilts.logs import to_file
from xstilts.pretrain import read_corpus, train_tokenizer

to_file(snakemake.log[0])
train_tokenizer(read_corpus(list(snakemake.input.corpus)), snakemake.params.vocab, snakemake.output[0])
