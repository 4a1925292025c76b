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
    # Real sources (xstilts.sources). Three steps: check_sources (pins, checksums, tokens, user paths; fails naming the
    # config key before anything else runs) -> one local download job per source, the base model's included, each
    # only after that check passed (`snakemake download` fetches all; each verifies what it fetched) -> offline
    # conversions to the canonical tables (they wait for the whole download stage, so a failed download stops the run
    # before any training job).

    localrules:
        check_sources,
        download_source,
        download,
        download_base_model,

    rule check_sources:
        input:
            **source_lock_input(),
        output:
            PREFLIGHT,
        log:
            "logs/data/check_sources.log",
        conda:
            conda_env("stats")
        params:
            jobs=dict(SOURCES),
        message:
            "Checking every real-data source (pins, checksums, tokens, user-supplied paths)"
        script:
            "../scripts/data_check_sources.py"

    rule download_source:
        input:
            # ancient: a re-run check (a new lock entry) reruns only the downloads whose own job changed
            preflight=ancient(rules.check_sources.output[0]),
        output:
            directory(SOURCES.path("{source}")),
        log:
            "logs/data/download/{source}.log",
        conda:
            conda_env("stats")
        params:
            job=source_job,
        message:
            "Downloading source {wildcards.source}"
        script:
            "../scripts/data_download.py"

    rule download:
        input:
            sources=downloaded_sources(),
            model=BASE_MODEL,
        output:
            DOWNLOAD_SUMMARY,
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
                raw=SOURCES.task_paths("intermediate_tasks", _task),
            output:
                **intermediate_convert_outputs(_task),
            log:
                f"logs/data/convert_intermediate/{_task}.log",
            conda:
                conda_env("stats")
            params:
                sources=SOURCES.task_specs("intermediate_tasks", _task),
                task=PLAN.task_spec("intermediate_tasks", _task),
                language_table=SOURCES.language_table,
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
                raw=SOURCES.task_paths("targets", _target),
            output:
                **target_download_outputs(_target),
            log:
                f"logs/data/convert_target/{_target}.log",
            conda:
                conda_env("stats")
            params:
                sources=SOURCES.task_specs("targets", _target),
                task=PLAN.task_spec("targets", _target),
                language_table=SOURCES.language_table,
            message:
                f"Converting target task {_target}"
            script:
                "../scripts/data_convert_task.py"

    rule convert_tatoeba:
        input:
            done=rules.download.output[0],
            raw=SOURCES.path("retrieval.tatoeba.hub"),
        output:
            LAYOUT.tatoeba,
        log:
            "logs/data/convert_tatoeba/{lang}.log",
        conda:
            conda_env("stats")
        params:
            source=SOURCES.spec("retrieval.tatoeba.hub"),
            language_table=SOURCES.language_table,
            pivot=PIVOT,
        message:
            "Converting Tatoeba {wildcards.lang}"
        script:
            "../scripts/data_convert_tatoeba.py"

    rule convert_bucc:
        input:
            done=rules.download.output[0],
            raw=SOURCES.path("retrieval.bucc.hub"),
        output:
            sentences=LAYOUT.bucc,
            gold=LAYOUT.bucc_gold,
        log:
            "logs/data/convert_bucc/{lang}.{split}.log",
        conda:
            conda_env("stats")
        params:
            source=SOURCES.spec("retrieval.bucc.hub"),
            pivot=PIVOT,
        message:
            "Converting BUCC 2018 {wildcards.lang} {wildcards.split}"
        script:
            "../scripts/data_convert_bucc.py"

    if "morphology.flores" in SOURCES:

        rule convert_parallel:
            input:
                done=rules.download.output[0],
                raw=SOURCES.path("morphology.flores"),
            output:
                LAYOUT.parallel,
            log:
                "logs/data/convert_parallel.log",
            conda:
                conda_env("stats")
            params:
                source=SOURCES.spec("morphology.flores"),
                languages=[*STUDY_LANGS, PIVOT],
                language_table=SOURCES.language_table,
            message:
                "Converting the multi-parallel corpus (FLORES+ devtest)"
            script:
                "../scripts/data_convert_parallel.py"

    if MLM_CONDITIONS:

        rule convert_mlm_text:
            input:
                done=rules.download.output[0],
                raw=SOURCES.path("mlm.hub"),
                language_table=SOURCES.language_table,
            output:
                LAYOUT.mlm_text,
            log:
                "logs/data/convert_mlm_text/{lang}.log",
            conda:
                conda_env("stats")
            params:
                source=SOURCES.spec("mlm.hub"),
                cap=PLAN.mlm_text_cap,
                seed=PLAN.seed,
            message:
                "Converting the MLM text of {wildcards.lang} (pure monolingual paragraphs, capped)"
            script:
                "../scripts/data_convert_mlm_text.py"

    for _condition in PLAN.translated:

        rule:
            name:
                f"convert_translated_{base_condition(_condition)}"
            input:
                done=rules.download.output[0],
                raw=SOURCES.path(translated_source(_condition)),
                english=PLAN.intermediate_split(base_condition(_condition), "train"),
                language_table=SOURCES.language_table,
            output:
                table=PLAN.intermediate_split(_condition, "train"),
                record=LAYOUT.path("translated_record", task=_condition),
            log:
                f"logs/data/convert_translated/{base_condition(_condition)}.log",
            conda:
                conda_env("stats")
            params:
                source=SOURCES.spec(translated_source(_condition)),
                key=translated_source(_condition),
                languages=list(PLAN.translated_languages(_condition)),
                task=PLAN.task_spec("intermediate_tasks", _condition),
            message:
                f"Building the English + machine-translated training table of {_condition}"
            script:
                "../scripts/data_convert_translated.py"

    rule convert_wals:
        input:
            done=rules.download.output[0],
            raw=SOURCES.path("morphology.wals"),
        output:
            **PLAN.wals_files(),
        log:
            "logs/data/convert_wals.log",
        conda:
            conda_env("stats")
        params:
            expected_values=SOURCES.expected_rows("morphology.wals", "values"),
        message:
            "Converting the WALS CLDF release"
        script:
            "../scripts/data_convert_wals.py"
