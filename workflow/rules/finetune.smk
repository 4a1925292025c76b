# Stage 3: training features (tokenised once per task), English intermediate fine-tunes (+ the multi-task model) and
# target-task fine-tunes. Training jobs checkpoint into <job>/checkpoints under results/ and resume from there when
# rerun (xstilts.finetune); they read training.* (checkpoint interval, retention, torch.compile) from the config
# directly because those settings change no result.

TRAIN_THREADS = 8  # CPU threads of a training job (torch threads, dataloader workers); capped by --cores


rule featurize_intermediate:
    input:
        data=lambda w: intermediate_split(w.task, "train"),
        tokenizer=BASE_MODEL,
    output:
        features_path("intermediate_tasks", "{task}"),
    log:
        "logs/finetune/featurize/intermediate/{task}.log",
    benchmark:
        "benchmarks/finetune/featurize/intermediate/{task}.tsv"
    conda:
        "../../envs/torch.yaml"
    params:
        spec=lambda w: feature_spec("intermediate_tasks", w.task),
        sampling=lambda w: feature_sampling("intermediate_tasks", w.task),
    message:
        "Tokenising the training data of intermediate task {wildcards.task} (once, for every run that trains on it)"
    script:
        "../scripts/finetune_featurize.py"


rule featurize_target:
    input:
        data=lambda w: target_split(w.target, "train"),
        tokenizer=BASE_MODEL,
    output:
        features_path("targets", "{target}"),
    log:
        "logs/finetune/featurize/target/{target}.log",
    benchmark:
        "benchmarks/finetune/featurize/target/{target}.tsv"
    conda:
        "../../envs/torch.yaml"
    params:
        spec=lambda w: feature_spec("targets", w.target),
        sampling=lambda w: feature_sampling("targets", w.target),
    message:
        "Tokenising the English training data of target {wildcards.target} (once, shared by every condition)"
    script:
        "../scripts/finetune_featurize.py"


rule finetune_intermediate:
    input:
        features=get_intermediate_features,
        validation=lambda w: intermediate_split(w.task, "validation"),
        base=BASE_MODEL,
    output:
        model=directory("results/intermediate/{task}/model"),
        metrics="results/intermediate/{task}/metrics.json",
    log:
        "logs/finetune/intermediate/{task}.log",
    benchmark:
        "benchmarks/finetune/intermediate/{task}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=1,
    params:
        hp=get_intermediate_hparams,
        seed=config["seed"],
        checkpoints=lambda w, output: get_checkpoint_dir(output.model),
    message:
        "Intermediate fine-tuning on {wildcards.task}"
    script:
        "../scripts/finetune_intermediate.py"


rule finetune_multitask:
    input:
        unpack(get_multitask_inputs),
        base=BASE_MODEL,
    output:
        model=directory("results/intermediate/multitask/model"),
        metrics="results/intermediate/multitask/metrics.json",
    log:
        "logs/finetune/multitask.log",
    benchmark:
        "benchmarks/finetune/multitask.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=1,
    params:
        tasks=multitask_tasks(config),
        valid=get_multitask_valid,
        hp=hparams("multitask", None),
        cap=config["multitask"]["cap"],
        seed=config["seed"],
        checkpoints=lambda w, output: get_checkpoint_dir(output.model),
    message:
        "Multi-task intermediate fine-tuning on {params.tasks}"
    script:
        "../scripts/finetune_multitask.py"


rule finetune_target:
    input:
        features=get_target_features,
        validation=get_target_validation,
        encoder=get_condition_model,
    output:
        model=directory("results/target/{target}/{condition}/model"),
        metrics="results/target/{target}/{condition}/metrics.json",
    log:
        "logs/finetune/target/{target}/{condition}.log",
    benchmark:
        "benchmarks/finetune/target/{target}/{condition}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=1,
    params:
        hp=get_target_hparams,
        seed=config["seed"],
        checkpoints=lambda w, output: get_checkpoint_dir(output.model),
    message:
        "Target fine-tuning {wildcards.target} from the {wildcards.condition} encoder"
    script:
        "../scripts/finetune_target.py"
