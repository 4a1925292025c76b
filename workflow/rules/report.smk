# Stage 10: tables, figures and the Markdown summary.


rule collect_target_scores:
    # one table of every zero-shot score for the findings job (the alternatives against plain English training):
    # a plain file list here keeps the findings rule's input small
    input:
        all_target_scores(),
    output:
        LAYOUT.findings_target_scores,
    log:
        "logs/report/collect_target_scores.log",
    conda:
        conda_env("stats")
    message:
        "Collecting every zero-shot target score into one table"
    script:
        "../scripts/collect_target_scores.py"


rule findings:
    input:
        hits=all_tatoeba_hits(),
        base_alignment=PLAN.every_pair("alignment", corpora=["tatoeba"], conditions=["base"]),
        bucc=PLAN.every("bucc_score", langs=BUCC_LANGS, conditions=["base"]),
        languages=language_table(),
        morphology=LAYOUT.morphology_table,
        pooled=LAYOUT.regression_pooled,
        interaction=LAYOUT.regression_interaction,
        sample=LAYOUT.regression_sample,
        target_scores=LAYOUT.findings_target_scores,
        alternatives=LAYOUT.regression_alternatives,
    output:
        delta=report(LAYOUT.findings_delta, caption="../report/delta_ci.rst", category="Tables", subcategory="Retrieval"),
        alternatives=LAYOUT.findings_alternatives,
        direction=LAYOUT.findings_direction,
        opening=LAYOUT.findings_opening,
        delta_figure=report(LAYOUT.figure_delta_ci, caption="../report/alignment_delta_ci.rst", category="Figures"),
        layer_figure=report(LAYOUT.figure_base_by_layer, caption="../report/base_alignment_by_layer.rst", category="Figures"),
    log:
        "logs/report/findings.log",
    conda:
        conda_env("stats")
    params:
        layer=PLAN.layers.main,
        settings=PLAN.findings,
        seed=PLAN.seed,
    message:
        "Δ alignment with bootstrap CIs and the summary's opening paragraph (with the regression's controlled estimate)"
    script:
        "../scripts/findings.py"


rule report:
    input:
        **word_summary_input(),
        target_scores=all_target_scores(),
        tatoeba=all_tatoeba_scores(),
        bucc=all_bucc_scores(),
        cells=LAYOUT.regression_cells,
        layers=LAYOUT.regression_layers,
        pooled=LAYOUT.regression_pooled,
        diagnostics=LAYOUT.regression_diagnostics,
        interaction=LAYOUT.regression_interaction,
        morph_info=LAYOUT.morphology_composite,
        opening=LAYOUT.findings_opening,
        findings_delta=LAYOUT.findings_delta,
        delta_figure=LAYOUT.figure_delta_ci,
        layer_figure=LAYOUT.figure_base_by_layer,
    output:
        summary=report(LAYOUT.summary, caption="../report/summary_md.rst", category="Summary"),
        summary_html=report(LAYOUT.summary_html, caption="../report/summary.rst", category="Summary"),
        scores_html=report(LAYOUT.table_scores_html, caption="../report/scores_html.rst", category="Tables", subcategory="Scores"),
        retrieval_html=report(
            LAYOUT.table_retrieval_html, caption="../report/retrieval_html.rst", category="Tables", subcategory="Retrieval"
        ),
        regression_html=report(
            LAYOUT.table_regression_html,
            caption="../report/regression_html.rst",
            category="Tables",
            subcategory="Regression",
        ),
        target_scores=report(
            LAYOUT.table_target_scores, caption="../report/target_scores.rst", category="Tables", subcategory="Scores"
        ),
        target_summary=report(
            LAYOUT.table_target_summary, caption="../report/target_summary.rst", category="Tables", subcategory="Scores"
        ),
        tatoeba=report(LAYOUT.table_tatoeba, caption="../report/tatoeba.rst", category="Tables", subcategory="Retrieval"),
        bucc=report(LAYOUT.table_bucc, caption="../report/bucc.rst", category="Tables", subcategory="Retrieval"),
        scatter=report(LAYOUT.figure_morphology, caption="../report/morphology_vs_delta.rst", category="Figures"),
        forest=report(LAYOUT.figure_forest, caption="../report/coefficients_forest.rst", category="Figures"),
        heatmap=report(LAYOUT.figure_heatmap, caption="../report/layer_delta_heatmap.rst", category="Figures"),
    log:
        "logs/report/report.log",
    conda:
        conda_env("stats")
    params:
        settings=PLAN.report,
    message:
        "Writing tables, figures and the summary (Markdown and HTML)"
    script:
        "../scripts/report.py"
