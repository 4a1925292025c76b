"""Adapter: combine per-language measures with WALS values and metadata; PC1 composite (xstilts.morphology)."""
from pathlib import Path

import pandas as pd
from scipy import stats

from xstilts.io import atomic_write_json, atomic_write_text, read_json
from xstilts.logs import to_file
from xstilts.morphology import coverage, pc1_composite, read_cldf, wals_features

to_file(snakemake.log[0])
s = snakemake.params.settings
table = pd.DataFrame([read_json(p) for p in snakemake.input.measures]).set_index("language")
meta = pd.read_csv(snakemake.input.languages, keep_default_na=False, na_values=[""]).set_index("iso639_1")
codes = meta.loc[table.index, "iso639_3"].tolist()
preferred = dict(zip(codes, meta.loc[table.index, "wals_code"]))
wals = wals_features(codes, read_cldf(Path(snakemake.input.wals_values).parent), s["wals_features"], preferred)
wals.index = table.index
table = table.join(wals)
table["composite"], info = pc1_composite(table)
info["wals_coverage"] = coverage(wals, s["wals_features"])
for f in ("22A", "49A"):
    col = f"wals_{f}"
    d = table[["composite", col]].dropna()
    if len(d) >= 4 and d[col].nunique() > 1:
        rho, p = stats.spearmanr(d["composite"], d[col])
        info[f"spearman_composite_wals_{f}"] = {"rho": float(rho), "p": float(p), "n": len(d)}
truth = snakemake.params.truth
if truth:
    d = table[["composite"]].join(meta[[truth]]).dropna()
    rho, p = stats.spearmanr(d["composite"], d[truth])
    info[f"spearman_composite_{truth}"] = {"rho": float(rho), "p": float(p), "n": len(d)}
    table[truth] = meta.loc[table.index, truth]
info["corpus"] = sorted(table["corpus"].unique().tolist())
info["word_measures_excluded"] = table.index[table["word_measures"] != "computed"].tolist()
atomic_write_text(table.reset_index().to_csv(index=False), snakemake.output.table)
atomic_write_json(info, snakemake.output.info)
print(info)
