# Stage 3: English intermediate fine-tunes (+ the multi-task model) and target-task fine-tunes.


rule finetune_intermediate:
    input:
        unpack(get_intermediate_data),
        base=BASE_MODEL,
    output:
        model=directory("results/intermediate/{task}/model"),
        metrics="results/intermediate/{task}/metrics.json",
    log:
        "logs/finetune/intermediate/{task}.log",
    benchmark:
        "benchmarks/finetune/intermediate/{task}.tsv"
    params:
        spec=get_intermediate_spec,
        hp=get_intermediate_hparams,
        seed=config["seed"],
    threads: 1
    resources:
        gpu=1,
    message:
        "Intermediate fine-tuning on {wildcards.task}"
    conda:
        "../../envs/torch.yaml"
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
    params:
        specs={t: task_spec("intermediate_tasks", t) for t in multitask_tasks(config)},
        valid=get_multitask_valid,
        hp=hparams("multitask", None),
        cap=config["multitask"]["cap"],
        seed=config["seed"],
    threads: 1
    resources:
        gpu=1,
    message:
        "Multi-task intermediate fine-tuning on {params.specs}"
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/finetune_multitask.py"


rule finetune_target:
    input:
        unpack(get_target_data),
        encoder=get_condition_model,
    output:
        model=directory("results/target/{target}/{condition}/model"),
        metrics="results/target/{target}/{condition}/metrics.json",
    log:
        "logs/finetune/target/{target}/{condition}.log",
    benchmark:
        "benchmarks/finetune/target/{target}/{condition}.tsv"
    params:
        spec=get_target_spec,
        hp=get_target_hparams,
        seed=config["seed"],
    threads: 1
    resources:
        gpu=1,
    message:
        "Target fine-tuning {wildcards.target} from the {wildcards.condition} encoder"
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/finetune_target.py"
