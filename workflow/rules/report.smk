# Stage 10: tables, figures and the Markdown summary.


rule report:
    input:
        target_scores=all_target_scores(),
        tatoeba=all_tatoeba_scores(),
        bucc=all_bucc_scores(),
        cells="results/regression/cells.csv",
        layers="results/regression/layer_delta.csv",
        pooled="results/regression/pooled.csv",
        diagnostics="results/regression/diagnostics.csv",
        morph_info="results/morphology/composite.json",
    output:
        summary="results/summary.md",
        target_scores="results/tables/target_scores.csv",
        target_summary="results/tables/target_summary.csv",
        tatoeba="results/tables/tatoeba.csv",
        bucc="results/tables/bucc.csv",
        scatter="results/figures/morphology_vs_delta.png",
        forest="results/figures/coefficients_forest.png",
        heatmap="results/figures/layer_delta_heatmap.png",
    log:
        "logs/report/report.log",
    params:
        primary=config["regression"]["primary"],
        study=config["study"],
    message:
        "Writing tables, figures and results/summary.md"
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/report.py"
