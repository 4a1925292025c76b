# Stage 6: retrieval scores per language × condition (Tatoeba accuracy@1 en→xx headline + xx→en; BUCC mining F1).


rule tatoeba:
    input:
        embeddings="results/embeddings/tatoeba/{condition}/{lang}.npz",
    output:
        "results/retrieval/tatoeba/{condition}/{lang}.json",
    log:
        "logs/retrieval/tatoeba/{condition}/{lang}.log",
    params:
        layer=config["retrieval"]["layer"],
    message:
        "Tatoeba retrieval {wildcards.lang} ({wildcards.condition})"
    conda:
        "../../envs/faiss.yaml"
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
    params:
        mining=bucc_mining_settings(config),
    threads: 2
    resources:
        gpu=1,
    message:
        "BUCC mining {wildcards.lang} ({wildcards.condition})"
    conda:
        "../../envs/faiss.yaml"
    script:
        "../scripts/retrieval_bucc.py"
