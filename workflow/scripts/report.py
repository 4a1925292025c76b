"""Adapter: tables, figures and results/summary.md (xstilts.report)."""
from pathlib import Path

import pandas as pd

from xstilts.io import atomic_write_text, read_json
from xstilts.logs import to_file
from xstilts.report import (
    collect_json,
    forest,
    layer_heatmap,
    scatter_by_condition,
    summary_markdown,
    xtreme_rows,
    xtreme_scores,
    xtreme_style_summary,
)

to_file(snakemake.log[0])
out, prm = snakemake.output, snakemake.params
types = dict(prm.target_types)
scores = collect_json(snakemake.input.target_scores)
atomic_write_text(scores.to_csv(index=False), out.target_scores)
summary = xtreme_style_summary(scores, types)
atomic_write_text(summary.to_csv(), out.target_summary)
tat = collect_json(snakemake.input.tatoeba)
atomic_write_text(tat.to_csv(index=False), out.tatoeba)
bucc = collect_json(snakemake.input.bucc) if snakemake.input.bucc else pd.DataFrame()
atomic_write_text(bucc.to_csv(index=False), out.bucc)
xtreme, xtreme_tasks = xtreme_scores(xtreme_rows(scores, types, tat, bucc), scale=100.0)
cells = pd.read_csv(snakemake.input.cells)
pooled = pd.read_csv(snakemake.input.pooled)
scatter_by_condition(cells, prm.primary, out.scatter, prm.outcome)
forest(pooled, out.forest, prm.outcome)
layer_heatmap(pd.read_csv(snakemake.input.layers), out.heatmap, prm.outcome)
tat_view = tat.pivot_table(index="language", columns="condition", values="acc_en2xx")
tat_view.insert(0, "chance", tat.groupby("language")["chance"].first())
base = tat[tat["condition"] == "base"]
ratio = base["acc_en2xx"].mean() / base["chance"].mean()
print(f"base Tatoeba accuracy en→xx (mean over languages) = {base['acc_en2xx'].mean():.3f}; chance = {base['chance'].mean():.4f}; "
      f"ratio = {ratio:.1f}x")
print(xtreme.to_string())
bucc_cols = ["language", "condition", "test_f1", "dev_f1", "oracle_test_f1", "threshold_from_dev", "duplicates", "fallback_rows", "backend"]
bucc_view = bucc[[c for c in bucc_cols if c in bucc]] if len(bucc) else bucc
notes = [w for p in snakemake.input.bucc for w in read_json(p).get("warnings", [])]


def rel(p):
    return str(Path(p).relative_to(Path(out.summary).parent))


summary_markdown(out.summary, targets=summary, xtreme=xtreme, xtreme_tasks=xtreme_tasks, retrieval=tat_view.reset_index(),
                 morph_info=read_json(snakemake.input.morph_info), pooled=pooled, diagnostics=pd.read_csv(snakemake.input.diagnostics),
                 bucc=bucc_view, figures={"Δ alignment with CIs": rel(snakemake.input.delta_figure),
                                          "base alignment by layer": rel(snakemake.input.layer_figure),
                                          "morphology vs Δ": rel(out.scatter), "coefficients": rel(out.forest), "per-layer Δ": rel(out.heatmap)},
                 config_name=prm.study, outcome=prm.outcome, controls=list(prm.controls), bucc_notes=notes,
                 opening=Path(snakemake.input.opening).read_text())
