# Stage 8: per-language morphological complexity, then the table with WALS values and the PC1 composite.


if PLAN.morphology_auto_sample:

    rule morphology_sample_size:
        input:
            **morphology_segmented_corpora(),
        output:
            LAYOUT.morphology_sample_size,
        log:
            "logs/morphology/sample_size.log",
        conda:
            conda_env("stats")
        params:
            settings=PLAN.morphology_sample_size,
            pivot=PIVOT,
        message:
            "One word-token sample size that every segmented language supports"
        script:
            "../scripts/morphology_sample_size.py"


rule morphology_measures:
    input:
        unpack(get_morphology_measures_input),
    output:
        LAYOUT.morphology,
    log:
        "logs/morphology/{lang}.log",
    conda:
        conda_env("stats")
    params:
        settings=PLAN.morphology_measures,
        sample_size=get_morphology_sample_size,
        pivot=PIVOT,
        seed=PLAN.seed,
    message:
        "Morphology measures for {wildcards.lang}"
    script:
        "../scripts/morphology_measures.py"


rule morphology_table:
    input:
        measures=list(PLAN.per_language("morphology", STUDY_LANGS).values()),
        languages=language_table(),
        wals_values=PLAN.wals_files()["values"],
        wals_languages=PLAN.wals_files()["languages"],
    output:
        table=LAYOUT.morphology_table,
        info=LAYOUT.morphology_composite,
    log:
        "logs/morphology/table.log",
    conda:
        conda_env("stats")
    params:
        settings=PLAN.morphology_table,
    message:
        "Morphology table, WALS join and PC1 composite"
    script:
        "../scripts/morphology_table.py"
