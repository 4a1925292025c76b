# Stage 1: data. Both sources write the same canonical tables under results/data/ (xstilts.contracts).

if SYNTHETIC:

    rule synthesize_world:
        output:
            **synthetic_outputs(),
        log:
            "logs/data/synthesize_world.log",
        conda:
            conda_env("stats")
        params:
            world=synthetic_world_params(),
            root=lambda w, output: LAYOUT.root_of("synthetic_languages", output.languages),
        message:
            "Generating the synthetic world (languages with known morphology, all task data)"
        script:
            "../scripts/data_synthesize.py"

else:
    # Real sources (xstilts.sources). Three steps: check_sources (pins, tokens, user paths; fails naming the config
    # key before anything else runs) -> download_source, one local job per source (`snakemake download` fetches all)
    # -> offline conversions to the canonical tables (they wait for the whole download stage, so a failed download
    # stops the run before any training job).

    localrules:
        check_sources,
        download_source,
        download,
        download_base_model,

    rule check_sources:
        input:
            **source_lock_input(),
        output:
            f"{RAW}/preflight.json",
        log:
            "logs/data/check_sources.log",
        conda:
            conda_env("stats")
        params:
            sources=SOURCES,
        message:
            "Checking every real-data source (pins, tokens, user-supplied paths)"
        script:
            "../scripts/data_check_sources.py"

    rule download_source:
        input:
            preflight=rules.check_sources.output[0],
        output:
            directory(f"{RAW}/{{source}}"),
        log:
            "logs/data/download/{source}.log",
        retries: 2
        conda:
            conda_env("stats")
        params:
            spec=lambda w: SOURCES[w.source],
            key=lambda w: w.source,
        message:
            "Downloading source {wildcards.source}"
        script:
            "../scripts/data_download.py"

    rule download:
        input:
            sources=[raw_dir(k) for k in SOURCES if k != "model"],
            model=BASE_MODEL,
        output:
            f"{RAW}/download.json",
        log:
            "logs/data/download.log",
        conda:
            conda_env("stats")
        message:
            "Every source downloaded"
        script:
            "../scripts/data_download_summary.py"

    for _task in INTERMEDIATE:

        rule:
            name:
                f"convert_intermediate_{_task}"
            input:
                done=rules.download.output[0],
                raw=[raw_dir(k) for k in task_sources(config, "intermediate_tasks", _task)],
            output:
                **intermediate_convert_outputs(_task),
            log:
                f"logs/data/convert_intermediate/{_task}.log",
            conda:
                conda_env("stats")
            params:
                sources=[SOURCES[k] for k in task_sources(config, "intermediate_tasks", _task)],
                task=PLAN.task_spec("intermediate_tasks", _task),
            message:
                f"Converting intermediate task {_task}"
            script:
                "../scripts/data_convert_task.py"

    for _target in TARGETS:

        rule:
            name:
                f"convert_target_{_target}"
            input:
                done=rules.download.output[0],
                raw=[raw_dir(k) for k in task_sources(config, "targets", _target)],
            output:
                **target_download_outputs(_target),
            log:
                f"logs/data/convert_target/{_target}.log",
            conda:
                conda_env("stats")
            params:
                sources=[SOURCES[k] for k in task_sources(config, "targets", _target)],
                task=PLAN.task_spec("targets", _target),
                language_table=config["language_table"],
            message:
                f"Converting target task {_target}"
            script:
                "../scripts/data_convert_task.py"

    rule convert_tatoeba:
        input:
            done=rules.download.output[0],
            raw=raw_dir("retrieval.tatoeba.hub"),
        output:
            LAYOUT.tatoeba,
        log:
            "logs/data/convert_tatoeba/{lang}.log",
        conda:
            conda_env("stats")
        params:
            source=SOURCES["retrieval.tatoeba.hub"],
            language_table=config["language_table"],
            pivot=PIVOT,
        message:
            "Converting Tatoeba {wildcards.lang}"
        script:
            "../scripts/data_convert_tatoeba.py"

    rule convert_bucc:
        input:
            done=rules.download.output[0],
            raw=raw_dir("retrieval.bucc.hub"),
        output:
            sentences=LAYOUT.bucc,
            gold=LAYOUT.bucc_gold,
        log:
            "logs/data/convert_bucc/{lang}.{split}.log",
        conda:
            conda_env("stats")
        params:
            source=SOURCES["retrieval.bucc.hub"],
            pivot=PIVOT,
        message:
            "Converting BUCC 2018 {wildcards.lang} {wildcards.split}"
        script:
            "../scripts/data_convert_bucc.py"

    if "morphology.flores" in SOURCES:

        rule convert_parallel:
            input:
                done=rules.download.output[0],
                raw=raw_dir("morphology.flores"),
            output:
                LAYOUT.parallel,
            log:
                "logs/data/convert_parallel.log",
            conda:
                conda_env("stats")
            params:
                source=SOURCES["morphology.flores"],
                languages=[*STUDY_LANGS, PIVOT],
                language_table=config["language_table"],
            message:
                "Converting the multi-parallel corpus (FLORES+ devtest)"
            script:
                "../scripts/data_convert_parallel.py"

    rule convert_wals:
        input:
            done=rules.download.output[0],
            raw=raw_dir("morphology.wals"),
        output:
            **PLAN.wals_files(),
        log:
            "logs/data/convert_wals.log",
        conda:
            conda_env("stats")
        params:
            expected_values=SOURCES["morphology.wals"].get("rows", {}).get("values"),
        message:
            "Converting the WALS CLDF release"
        script:
            "../scripts/data_convert_wals.py"
