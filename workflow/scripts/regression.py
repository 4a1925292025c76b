"""Adapter: assemble Δ alignment cells and run the regression ladder (xstilts.regression)."""
import pandas as pd

from xstilts.io import atomic_write_text
from xstilts.logs import to_file
from xstilts.regression import build_cells, per_layer, run_analysis

to_file(snakemake.log[0])
s = snakemake.params.settings
outcome = s["outcome"]
align = pd.concat([pd.read_parquet(p) for p in snakemake.input.alignment], ignore_index=True)
morph = pd.read_csv(snakemake.input.morphology).set_index("language")
meta = pd.read_csv(snakemake.input.languages, keep_default_na=False, na_values=[""]).set_index("iso639_1")
cells, layer_delta = build_cells(align, morph, meta, outcome, snakemake.params.layer, snakemake.params.pivot, s["low_resource_gib"])
predictors = [s["primary"], *[p for p in s["secondary"] if p in cells and cells[p].notna().any()]]
res = run_analysis(cells, predictors, s["primary"], s["controls"], s, snakemake.params.seed,
                   set(cells.loc[cells["low_resource"], "language"]))
res["per_layer"] = per_layer(layer_delta, cells, s["primary"], s["controls"], s, snakemake.params.seed)
res["cells"], res["layers"] = cells, layer_delta
for table in res.values():  # every table names the outcome whose change Δ it holds
    table.insert(0, "outcome", outcome)
per_cond = res["per_condition"]
for cond in snakemake.output.keys():  # noqa: SIM118 - snakemake's Namedlist: keys() are the output names
    if cond in set(per_cond["condition"]):
        atomic_write_text(per_cond[per_cond["condition"] == cond].to_csv(index=False), snakemake.output[cond])
for k in ("cells", "layers", "per_layer", "pooled", "low_resource", "diagnostics"):
    atomic_write_text(res[k].to_csv(index=False), snakemake.output[k])
print(res["pooled"].to_string())
