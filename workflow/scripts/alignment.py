"""Adapter: alignment measures for every stored layer (xstilts.alignment)."""
from xstilts.alignment import alignment_table
from xstilts.io import atomic_write_parquet, load_embeddings
from xstilts.logs import to_file

to_file(snakemake.log[0])
arrays, layers, _ = load_embeddings(snakemake.input.embeddings)
df = alignment_table(arrays["src"], arrays["en"], layers, snakemake.wildcards.lang, snakemake.wildcards.condition,
                     use_gpu=False, source=snakemake.input.embeddings)  # CPU: small, GPU-less job
atomic_write_parquet(df, snakemake.output[0])
