# Stage 1: data. Both sources write the same canonical parquet layout under results/data/.

if SYNTHETIC:

    rule synthesize_world:
        output:
            **synthetic_outputs(),
        log:
            "logs/data/synthesize_world.log",
        params:
            world=synthetic_world_params(),
        message:
            "Generating the synthetic world (languages with known morphology, all task data)"
        conda:
            "../../envs/stats.yaml"
        script:
            "../scripts/data_synthesize.py"

else:

    rule download_intermediate:
        output:
            train=intermediate_split("{task}", "train"),
            validation=intermediate_split("{task}", "validation"),
        log:
            "logs/data/download_intermediate/{task}.log",
        params:
            hub=get_intermediate_hub,
            key=get_intermediate_hub_key,
        message:
            "Downloading intermediate task {wildcards.task}"
        conda:
            "../../envs/stats.yaml"
        script:
            "../scripts/data_download.py"

    for _target in TARGETS:

        rule:
            name:
                f"download_target_{_target}"
            output:
                **target_download_outputs(_target),
            log:
                f"logs/data/download_target/{_target}.log",
            params:
                hub=config["targets"][_target]["hub"],
                key=f"targets.{_target}.hub",
            message:
                f"Downloading target task {_target}"
            conda:
                "../../envs/stats.yaml"
            script:
                "../scripts/data_download.py"

    rule download_tatoeba:
        output:
            f"{DATA}/tatoeba/{{lang}}.parquet",
        log:
            "logs/data/download_tatoeba/{lang}.log",
        params:
            hub=config["retrieval"]["tatoeba"]["hub"],
            key="retrieval.tatoeba.hub",
        message:
            "Downloading Tatoeba {wildcards.lang}"
        conda:
            "../../envs/stats.yaml"
        script:
            "../scripts/data_download.py"

    rule download_bucc:
        output:
            sentences=f"{DATA}/bucc/{{lang}}.{{split}}.parquet",
            gold=f"{DATA}/bucc/{{lang}}.{{split}}.gold.parquet",
        log:
            "logs/data/download_bucc/{lang}.{split}.log",
        params:
            hub=config["retrieval"]["bucc"]["hub"],
            key="retrieval.bucc.hub",
        message:
            "Downloading BUCC 2018 {wildcards.lang} {wildcards.split}"
        conda:
            "../../envs/stats.yaml"
        script:
            "../scripts/data_download.py"

    rule download_parallel:
        output:
            f"{DATA}/parallel.parquet",
        log:
            "logs/data/download_parallel.log",
        params:
            hub=config["morphology"]["flores"],
            key="morphology.flores",
        message:
            "Downloading the multi-parallel corpus (FLORES+)"
        conda:
            "../../envs/stats.yaml"
        script:
            "../scripts/data_download.py"

    rule download_wals:
        output:
            **{n: f"{DATA}/wals/{n}.csv" for n in ("languages", "values", "parameters", "codes")},
        log:
            "logs/data/download_wals.log",
        params:
            hub=config["morphology"]["wals"],
            key="morphology.wals",
        message:
            "Downloading the WALS CLDF release"
        conda:
            "../../envs/stats.yaml"
        script:
            "../scripts/data_download.py"
