# Stage 2: the base encoder. Synthetic: train a tokenizer and pretrain a tiny XLM-R; hub: the pinned public model.

if SYNTHETIC:

    rule train_tokenizer:
        input:
            corpus=mono_corpus(),
        output:
            directory(LAYOUT.tokenizer),
        log:
            "logs/pretrain/train_tokenizer.log",
        conda:
            conda_env("torch")
        params:
            vocab=PLAN.tokenizer_vocab,
        message:
            "Training the demo tokenizer"
        script:
            "../scripts/pretrain_tokenizer.py"

    rule pretrain_mlm:
        input:
            corpus=mono_corpus(),
            tokenizer=rules.train_tokenizer.output[0],
        output:
            model=directory(BASE_MODEL),
            metrics=LAYOUT.pretrain_metrics,
        log:
            "logs/pretrain/pretrain_mlm.log",
        benchmark:
            "benchmarks/pretrain/pretrain_mlm.tsv"
        conda:
            conda_env("torch")
        threads: PLAN.train_threads
        resources:
            gpu=1,
        params:
            arch=PLAN.pretrain_architecture,
            hp=PLAN.pretrain_hparams,
            seed=PLAN.seed,
            checkpoints=LAYOUT.pretrain_checkpoints,
            runtime=PLAN.runtime,
        message:
            "Pretraining the tiny XLM-R masked LM"
        script:
            "../scripts/pretrain_mlm.py"

else:

    rule download_base_model:
        input:
            # like every download, only after check_sources passed (ancient: see download_source)
            preflight=ancient(PREFLIGHT),
        output:
            model=directory(BASE_MODEL),
        log:
            "logs/pretrain/download_base_model.log",
        conda:
            conda_env("stats")
        params:
            job=SOURCES["model"],
        message:
            "Downloading the pinned base model"
        script:
            "../scripts/data_download.py"
