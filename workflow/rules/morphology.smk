# Stage 8: per-language morphological complexity, then the table with WALS values and the PC1 composite.


if MORPHOLOGY_AUTO_SAMPLE:

    rule morphology_sample_size:
        input:
            **morphology_segmented_corpora(),
        output:
            "results/morphology/sample_size.json",
        log:
            "logs/morphology/sample_size.log",
        conda:
            "../../envs/stats.yaml"
        params:
            settings=config["morphology"],
            pivot=PIVOT,
        message:
            "One word-token sample size that every segmented language supports"
        script:
            "../scripts/morphology_sample_size.py"


rule morphology_measures:
    input:
        unpack(get_morphology_measures_input),
    output:
        "results/morphology/{lang}.json",
    log:
        "logs/morphology/{lang}.log",
    conda:
        "../../envs/stats.yaml"
    params:
        settings=config["morphology"],
        pivot=PIVOT,
        seed=config["seed"],
    message:
        "Morphology measures for {wildcards.lang}"
    script:
        "../scripts/morphology_measures.py"


rule morphology_table:
    input:
        measures=expand("results/morphology/{lang}.json", lang=STUDY_LANGS),
        languages=language_table(),
        wals_values=f"{DATA}/wals/values.csv",
        wals_languages=f"{DATA}/wals/languages.csv",
    output:
        table="results/morphology/table.csv",
        info="results/morphology/composite.json",
    log:
        "logs/morphology/table.log",
    conda:
        "../../envs/stats.yaml"
    params:
        settings=config["morphology"],
        truth=config["regression"]["truth_column"],
    message:
        "Morphology table, WALS join and PC1 composite"
    script:
        "../scripts/morphology_table.py"
