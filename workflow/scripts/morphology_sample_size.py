"""Adapter: one word-token sample size every segmented study language supports (xstilts.morphology)."""
from xstilts.io import atomic_write_json
from xstilts.logs import to_file
from xstilts.morphology import sample_size_from_corpora

to_file(snakemake.log[0])
s = snakemake.params.settings
info = sample_size_from_corpora(dict(snakemake.input.items()), s["corpus"], snakemake.params.pivot, s["sample_tokens"],
                                s["sample_fraction"])
print(info)
atomic_write_json(info, snakemake.output[0])
