"""Adapter: assemble Δ alignment cells and run the regression ladder (xstilts.regression)."""
import pandas as pd

from xstilts.io import atomic_write_text
from xstilts.logs import to_file
from xstilts.regression import build_cells, per_layer, run_analysis

to_file(snakemake.log[0])
s = snakemake.params.settings
align = pd.concat([pd.read_parquet(p) for p in snakemake.input.alignment], ignore_index=True)
morph = pd.read_csv(snakemake.input.morphology).set_index("language")
meta = pd.read_csv(snakemake.input.languages, keep_default_na=False, na_values=[""]).set_index("iso639_1")
cells, layer_delta = build_cells(align, morph, meta, s["outcome"], snakemake.params.layer, snakemake.params.pivot, s["low_resource_gib"])
predictors = [s["primary"], *[p for p in s["secondary"] if p in cells and cells[p].notna().any()]]
res = run_analysis(cells, predictors, s["primary"], s["controls"], s, snakemake.params.seed,
                   set(cells.loc[cells["low_resource"], "language"]))
for cond in snakemake.output.keys():
    if cond in res["per_condition"]["condition"].unique():
        atomic_write_text(res["per_condition"][res["per_condition"]["condition"] == cond].to_csv(index=False), snakemake.output[cond])
atomic_write_text(cells.to_csv(index=False), snakemake.output.cells)
atomic_write_text(layer_delta.to_csv(index=False), snakemake.output.layers)
atomic_write_text(per_layer(layer_delta, cells, s["primary"], s["controls"], s, snakemake.params.seed).to_csv(index=False),
                  snakemake.output.per_layer)
for k in ("pooled", "low_resource", "diagnostics"):
    atomic_write_text(res[k].to_csv(index=False), snakemake.output[k])
print(res["pooled"].to_string())
