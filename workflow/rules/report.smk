# Stage 10: tables, figures and the Markdown summary.


rule findings:
    input:
        hits=all_tatoeba_hits(),
        base_alignment=PLAN.every("alignment", langs=TATOEBA_LANGS, conditions=["base"]),
        bucc=PLAN.every("bucc_score", langs=BUCC_LANGS, conditions=["base"]),
        languages=language_table(),
        morphology=rules.morphology_table.output.table,
    output:
        delta=report(
            "results/findings/delta_ci.csv", caption="../report/delta_ci.rst", category="Tables", subcategory="Retrieval"
        ),
        direction="results/findings/direction.csv",
        opening="results/findings/opening.md",
        delta_figure=report(
            "results/figures/alignment_delta_ci.png", caption="../report/alignment_delta_ci.rst", category="Figures"
        ),
        layer_figure=report(
            "results/figures/base_alignment_by_layer.png", caption="../report/base_alignment_by_layer.rst", category="Figures"
        ),
    log:
        "logs/report/findings.log",
    conda:
        conda_env("stats")
    params:
        layer=PLAN.layers.main,
        settings=PLAN.findings,
        seed=PLAN.seed,
    message:
        "Δ alignment with bootstrap CIs and the summary's opening paragraph"
    script:
        "../scripts/findings.py"


rule report:
    input:
        target_scores=all_target_scores(),
        tatoeba=all_tatoeba_scores(),
        bucc=all_bucc_scores(),
        cells=rules.regression.output.cells,
        layers=rules.regression.output.layers,
        pooled=rules.regression.output.pooled,
        diagnostics=rules.regression.output.diagnostics,
        morph_info=rules.morphology_table.output.info,
        opening=rules.findings.output.opening,
        findings_delta=rules.findings.output.delta,
        delta_figure=rules.findings.output.delta_figure,
        layer_figure=rules.findings.output.layer_figure,
    output:
        summary=report("results/summary.md", caption="../report/summary.rst", category="Summary"),
        target_scores=report(
            "results/tables/target_scores.csv", caption="../report/target_scores.rst", category="Tables", subcategory="Scores"
        ),
        target_summary=report(
            "results/tables/target_summary.csv", caption="../report/target_summary.rst", category="Tables", subcategory="Scores"
        ),
        tatoeba=report("results/tables/tatoeba.csv", caption="../report/tatoeba.rst", category="Tables", subcategory="Retrieval"),
        bucc=report("results/tables/bucc.csv", caption="../report/bucc.rst", category="Tables", subcategory="Retrieval"),
        scatter=report("results/figures/morphology_vs_delta.png", caption="../report/morphology_vs_delta.rst", category="Figures"),
        forest=report("results/figures/coefficients_forest.png", caption="../report/coefficients_forest.rst", category="Figures"),
        heatmap=report("results/figures/layer_delta_heatmap.png", caption="../report/layer_delta_heatmap.rst", category="Figures"),
    log:
        "logs/report/report.log",
    conda:
        conda_env("stats")
    params:
        settings=PLAN.report,
    message:
        "Writing tables, figures and results/summary.md"
    script:
        "../scripts/report.py"
