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
        opening="results/findings/opening.md",
        findings_delta="results/findings/delta_ci.csv",
        delta_figure="results/figures/alignment_delta_ci.png",
        layer_figure="results/figures/base_alignment_by_layer.png",
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
        "../../envs/stats.yaml"
    params:
        primary=config["regression"]["primary"],
        outcome=config["regression"]["outcome"],
        controls=config["regression"]["controls"],
        target_types={t: config["targets"][t]["type"] for t in TARGETS},
        study=config["study"],
    message:
        "Writing tables, figures and results/summary.md"
    script:
        "../scripts/report.py"


rule findings:
    input:
        embeddings=[f"results/embeddings/tatoeba/{c}/{l}.npz" for c in CONDITIONS for l in TATOEBA_LANGS],
        base_alignment=[f"results/alignment/base/{l}.parquet" for l in TATOEBA_LANGS],
        bucc=[f"results/retrieval/bucc/base/{l}.json" for l in BUCC_LANGS],
        languages=language_table(),
        morphology="results/morphology/table.csv",
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
        "../../envs/stats.yaml"
    params:
        cells=[[c, l] for c in CONDITIONS for l in TATOEBA_LANGS],
        layer=config["retrieval"]["layer"],
        dial=config["regression"].get("truth_column"),
        primary=config["regression"]["primary"],
        study=config["study"],
        synthetic=SYNTHETIC,
        n_boot=config["regression"]["n_boot"],
        seed=config["seed"],
    message:
        "Δ alignment with bootstrap CIs and the summary's opening paragraph"
    script:
        "../scripts/findings.py"
