# Stage 3: training features (tokenised once per task), English intermediate fine-tunes (+ the multi-task model) and
# target-task fine-tunes. Training jobs checkpoint into <job>/checkpoints under results/ and resume from there when
# rerun (xstilts.training); training.* (checkpoint interval, retention, torch.compile) reaches them as the plan's
# Runtime object, which Snakemake does not record: those settings change no result, so a change reruns nothing.


rule featurize_intermediate:
    input:
        data=get_intermediate_train,
        tokenizer=BASE_MODEL,
    output:
        PLAN.features("intermediate_tasks", "{task}"),
    log:
        "logs/finetune/featurize/intermediate/{task}.log",
    benchmark:
        "benchmarks/finetune/featurize/intermediate/{task}.tsv"
    conda:
        conda_env("torch")
    params:
        spec=get_feature_spec("intermediate_tasks"),
        sampling=get_feature_sampling("intermediate_tasks"),
    message:
        "Tokenising the training data of intermediate task {wildcards.task} (once, for every run that trains on it)"
    script:
        "../scripts/finetune_featurize.py"


rule featurize_target:
    input:
        data=get_target_train,
        tokenizer=BASE_MODEL,
    output:
        PLAN.features("targets", "{target}"),
    log:
        "logs/finetune/featurize/target/{target}.log",
    benchmark:
        "benchmarks/finetune/featurize/target/{target}.tsv"
    conda:
        conda_env("torch")
    params:
        spec=get_feature_spec("targets"),
        sampling=get_feature_sampling("targets"),
    message:
        "Tokenising the English training data of target {wildcards.target} (once, shared by every condition)"
    script:
        "../scripts/finetune_featurize.py"


rule finetune_intermediate:
    input:
        features=get_intermediate_features,
        validation=get_intermediate_validation,
        base=BASE_MODEL,
    output:
        model=directory(LAYOUT.intermediate_model),
        metrics=LAYOUT.intermediate_metrics,
    log:
        "logs/finetune/intermediate/{task}.log",
    benchmark:
        "benchmarks/finetune/intermediate/{task}.tsv"
    conda:
        conda_env("torch")
    threads: PLAN.train_threads
    resources:
        gpu=1,
    params:
        hp=get_intermediate_hparams,
        seed=PLAN.seed,
        checkpoints=lambda w, output: get_checkpoint_dir(output.model),
        runtime=PLAN.runtime,
    message:
        "Intermediate fine-tuning on {wildcards.task}"
    script:
        "../scripts/finetune_intermediate.py"


rule finetune_multitask:
    input:
        unpack(get_multitask_inputs),
        base=BASE_MODEL,
    output:
        model=directory(LAYOUT.path("intermediate_model", task="multitask")),
        metrics=LAYOUT.path("intermediate_metrics", task="multitask"),
    log:
        "logs/finetune/multitask.log",
    benchmark:
        "benchmarks/finetune/multitask.tsv"
    conda:
        conda_env("torch")
    threads: PLAN.train_threads
    resources:
        gpu=1,
    params:
        tasks=list(PLAN.multitask_tasks),
        valid=get_multitask_valid,
        hp=PLAN.hparams("multitask"),
        cap=PLAN.multitask_cap,
        seed=PLAN.seed,
        checkpoints=lambda w, output: get_checkpoint_dir(output.model),
        runtime=PLAN.runtime,
    message:
        "Multi-task intermediate fine-tuning on {params.tasks}"
    script:
        "../scripts/finetune_multitask.py"


rule finetune_mlm:
    # the paper's first alternative: '<task>+mlm' = the task (multitask: its members) with multilingual MLM as one
    # more member of the multi-task sampler (xstilts.multitask.MLMSettings), same hyperparameters as '<task>'
    input:
        unpack(get_mlm_inputs),
        base=BASE_MODEL,
    output:
        model=directory(LAYOUT.path("intermediate_model", task="{mlm_condition}")),
        metrics=LAYOUT.path("intermediate_metrics", task="{mlm_condition}"),
    log:
        "logs/finetune/mlm/{mlm_condition}.log",
    benchmark:
        "benchmarks/finetune/mlm/{mlm_condition}.tsv"
    conda:
        conda_env("torch")
    threads: PLAN.train_threads
    resources:
        gpu=1,
    params:
        job=get_mlm_params,
        seed=PLAN.seed,
        checkpoints=lambda w, output: get_checkpoint_dir(output.model),
        runtime=PLAN.runtime,
    message:
        "Intermediate fine-tuning {wildcards.mlm_condition}: the task(s) with multilingual MLM mixed in"
    script:
        "../scripts/finetune_mlm.py"


rule finetune_target:
    input:
        features=get_target_features,
        validation=get_target_validation,
        encoder=get_condition_model,
    output:
        model=directory(LAYOUT.target_model),
        metrics=LAYOUT.target_metrics,
    log:
        "logs/finetune/target/{target}/{condition}.log",
    benchmark:
        "benchmarks/finetune/target/{target}/{condition}.tsv"
    conda:
        conda_env("torch")
    threads: PLAN.train_threads
    resources:
        gpu=1,
    params:
        hp=get_target_hparams,
        seed=PLAN.seed,
        checkpoints=lambda w, output: get_checkpoint_dir(output.model),
        runtime=PLAN.runtime,
    message:
        "Target fine-tuning {wildcards.target} from the {wildcards.condition} encoder"
    script:
        "../scripts/finetune_target.py"
