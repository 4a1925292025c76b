"""Adapter: tokenise one task's training split once (xstilts.features)."""
from xstilts.features import featurize_split
from xstilts.logs import to_file

to_file(snakemake.log[0])
featurize_split(snakemake.input.data, snakemake.input.tokenizer, dict(snakemake.params.spec), snakemake.output[0],
                **dict(snakemake.params.sampling))
