# Stage 9: Δ alignment = condition − base per language (× layer), regressed on morphology.


rule regression:
    input:
        alignment=all_alignment(),
        morphology=rules.morphology_table.output.table,
        languages=language_table(),
    output:
        **regression_outputs(),
        cells="results/regression/cells.csv",
        layers="results/regression/layer_delta.csv",
        per_layer=report(
            "results/regression/per_layer.csv",
            caption="../report/regression_per_layer.rst",
            category="Tables",
            subcategory="Regression",
        ),
        pooled=report(
            "results/regression/pooled.csv",
            caption="../report/regression_pooled.rst",
            category="Tables",
            subcategory="Regression",
        ),
        low_resource=report(
            "results/regression/low_resource.csv",
            caption="../report/regression_low_resource.rst",
            category="Tables",
            subcategory="Regression",
        ),
        diagnostics=report(
            "results/regression/diagnostics.csv",
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
        seed=config["seed"],
    message:
        "Regression of alignment change on morphology"
    script:
        "../scripts/regression.py"
