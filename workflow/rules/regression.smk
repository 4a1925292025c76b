# Stage 9: Δ alignment = condition − base per language (× layer), regressed on morphology.


rule regression:
    input:
        alignment=all_alignment(),
        morphology=rules.morphology_table.output.table,
        languages=language_table(),
    output:
        **regression_outputs(),
        cells=LAYOUT.regression_cells,
        layers=LAYOUT.regression_layers,
        per_layer=report(
            LAYOUT.regression_per_layer,
            caption="../report/regression_per_layer.rst",
            category="Tables",
            subcategory="Regression",
        ),
        pooled=report(
            LAYOUT.regression_pooled,
            caption="../report/regression_pooled.rst",
            category="Tables",
            subcategory="Regression",
        ),
        low_resource=report(
            LAYOUT.regression_low_resource,
            caption="../report/regression_low_resource.rst",
            category="Tables",
            subcategory="Regression",
        ),
        diagnostics=report(
            LAYOUT.regression_diagnostics,
            caption="../report/regression_diagnostics.rst",
            category="Tables",
            subcategory="Regression",
        ),
    log:
        "logs/regression/regression.log",
    benchmark:
        "benchmarks/regression/regression.tsv"
    conda:
        conda_env("stats")
    params:
        settings=PLAN.regression,
        layer=PLAN.layers.main,
        pivot=PIVOT,
        seed=PLAN.seed,
    message:
        "Regression of alignment change on morphology"
    script:
        "../scripts/regression.py"
