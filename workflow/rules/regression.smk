# Stage 9: Δ alignment = condition − base per language (× layer), regressed on morphology.


rule regression:
    input:
        alignment=all_alignment(),
        morphology="results/morphology/table.csv",
        languages=language_table(),
    output:
        **regression_outputs(),
        cells="results/regression/cells.csv",
        layers="results/regression/layer_delta.csv",
        per_layer="results/regression/per_layer.csv",
        pooled="results/regression/pooled.csv",
        low_resource="results/regression/low_resource.csv",
        diagnostics="results/regression/diagnostics.csv",
    log:
        "logs/regression/regression.log",
    benchmark:
        "benchmarks/regression/regression.tsv"
    params:
        settings=config["regression"],
        layer=config["retrieval"]["layer"],
        pivot=PIVOT,
        seed=config["seed"],
    message:
        "Regression of alignment change on morphology"
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/regression.py"
