"""Adapter: assemble Δ alignment cells and run the regression ladder (xstilts.regression)."""
from xstilts.logs import to_file
from xstilts.regression import regression_job

log = to_file(snakemake.log[0])
res = regression_job(alignment=list(snakemake.input.alignment), morphology=snakemake.input.morphology,
                     languages=snakemake.input.languages, settings=dict(snakemake.params.settings),
                     layer=snakemake.params.layer, pivot=snakemake.params.pivot, seed=snakemake.params.seed,
                     study_languages=list(snakemake.params.study_languages),
                     out=dict(snakemake.output.items()))
log.info("%s", res["pooled"].to_string())
