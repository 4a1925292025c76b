"""Adapter: tables, figures and results/summary.md (xstilts.report)."""
from pathlib import Path

import pandas as pd

from xstilts.io import atomic_write_text, read_json
from xstilts.logs import to_file
from xstilts.report import collect_json, forest, layer_heatmap, scatter_by_condition, summary_markdown, xtreme_style_summary

to_file(snakemake.log[0])
out = snakemake.output
scores = collect_json(snakemake.input.target_scores)
atomic_write_text(scores.to_csv(index=False), out.target_scores)
summary = xtreme_style_summary(scores)
atomic_write_text(summary.to_csv(), out.target_summary)
tat = collect_json(snakemake.input.tatoeba)
atomic_write_text(tat.to_csv(index=False), out.tatoeba)
bucc = collect_json(snakemake.input.bucc) if snakemake.input.bucc else pd.DataFrame()
atomic_write_text(bucc.to_csv(index=False), out.bucc)
cells = pd.read_csv(snakemake.input.cells)
pooled = pd.read_csv(snakemake.input.pooled)
scatter_by_condition(cells, snakemake.params.primary, out.scatter)
forest(pooled, out.forest)
layer_heatmap(pd.read_csv(snakemake.input.layers), out.heatmap)
tat_view = tat.pivot_table(index="language", columns="condition", values="acc_mean")
tat_view.insert(0, "chance", tat.groupby("language")["chance"].first())
base = tat[tat["condition"] == "base"]
ratio = base["acc_mean"].mean() / base["chance"].mean()
print(f"base Tatoeba accuracy (mean over languages, both directions) = {base['acc_mean'].mean():.3f}; chance = {base['chance'].mean():.4f}; "
      f"ratio = {ratio:.1f}x")
bucc_view = bucc[[c for c in ["language", "condition", "test_f1", "dev_f1", "oracle_test_f1", "threshold_from_dev", "backend"] if c in bucc]] if len(bucc) else bucc
rel = lambda p: str(Path(p).relative_to(Path(out.summary).parent))
summary_markdown(out.summary, targets=summary, retrieval=tat_view.reset_index(), morph_info=read_json(snakemake.input.morph_info),
                 pooled=pooled, diagnostics=pd.read_csv(snakemake.input.diagnostics), bucc=bucc_view,
                 figures={"morphology vs Δ": rel(out.scatter), "coefficients": rel(out.forest), "per-layer Δ": rel(out.heatmap)},
                 config_name=snakemake.params.study)
