"""Adapter: combine per-language measures with WALS values and metadata; PC1 composite (xstilts.morphology)."""
from pathlib import Path

import pandas as pd

from xstilts.io import atomic_write_json, atomic_write_text, read_json
from xstilts.logs import to_file
from xstilts.morphology import build_table, read_cldf

to_file(snakemake.log[0])
s = snakemake.params.settings
meta = pd.read_csv(snakemake.input.languages, keep_default_na=False, na_values=[""]).set_index("iso639_1")
table, info = build_table([read_json(p) for p in snakemake.input.measures], meta,
                          read_cldf(Path(snakemake.input.wals_values).parent), s["wals_features"], snakemake.params.truth)
atomic_write_text(table.reset_index().to_csv(index=False), snakemake.output.table)
atomic_write_json(info, snakemake.output.info)
print(info)
