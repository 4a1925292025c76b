# Stage 6: retrieval scores per language × condition (Tatoeba accuracy@1 en→xx headline + xx→en; BUCC mining F1).


rule tatoeba:
    input:
        embeddings="results/embeddings/tatoeba/{condition}/{lang}.npz",
    output:
        "results/retrieval/tatoeba/{condition}/{lang}.json",
    log:
        "logs/retrieval/tatoeba/{condition}/{lang}.log",
    conda:
        "../../envs/faiss.yaml"
    params:
        layer=config["retrieval"]["layer"],
    message:
        "Tatoeba retrieval {wildcards.lang} ({wildcards.condition})"
    script:
        "../scripts/retrieval_tatoeba.py"


rule bucc:
    input:
        unpack(get_bucc_split_inputs),
    output:
        "results/retrieval/bucc/{condition}/{lang}.json",
    log:
        "logs/retrieval/bucc/{condition}/{lang}.log",
    benchmark:
        "benchmarks/retrieval/bucc/{condition}/{lang}.tsv"
    conda:
        "../../envs/faiss.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        mining=bucc_mining_settings(config),
    message:
        "BUCC mining {wildcards.lang} ({wildcards.condition})"
    script:
        "../scripts/retrieval_bucc.py"
