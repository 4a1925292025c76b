# Stage 7b: word-level alignment (xstilts.wordalign). Word pairs from eflomal once per language of the multi-parallel
# corpus (FLORES+ devtest; the synthetic world's parallel set), both directions intersected, independent of condition
# and layer (the aligner also reads the language's Tatoeba pairs; seeded with the study seed: xstilts.wordalign.align); the word vectors come from the FLORES+ embedding
# pass (embed.smk: no second forward pass); per condition × language the word measures of every stored layer (rows
# like the alignment tables', read by the regression) and the per-link hits; then the summary's section.


rule wordalign:
    input:
        unpack(get_wordalign_inputs),
    output:
        LAYOUT.word_pairs,
    log:
        "logs/wordalign/{lang}.log",
    benchmark:
        "benchmarks/wordalign/{lang}.tsv"
    conda:
        conda_env("align")
    params:
        pivot=PIVOT,
        settings=PLAN.wordalign,
        seed=PLAN.seed,
    message:
        "Word pairs of {wildcards.lang} (eflomal, both directions intersected)"
    script:
        "../scripts/wordalign.py"


rule word_summary:
    input:
        unpack(get_word_summary_inputs),
    output:
        table=LAYOUT.word_summary,
        aligner=LAYOUT.word_aligner,
        markdown=LAYOUT.word_summary_md,
        heatmap=report(LAYOUT.figure_word_heatmap, caption="../report/word_layer_delta_heatmap.rst", category="Figures"),
    log:
        "logs/wordalign/summary.log",
    conda:
        conda_env("stats")
    params:
        layer=PLAN.layers.main,
        settings=PLAN.word_summary,
        seed=PLAN.seed,
    message:
        "Word-level alignment: base per language, Δ per condition with CIs, the aligner's precision and recall"
    script:
        "../scripts/word_summary.py"
