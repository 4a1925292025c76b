# Stage 6: retrieval scores per language × condition (Tatoeba accuracy@1 en→xx headline + xx→en; BUCC mining F1).
# Every Tatoeba search runs once, in the tatoeba job: its per-sentence hits (every stored layer, both directions,
# plain and mean-centred) are read by the alignment measures and the findings' bootstrap.


rule tatoeba:
    input:
        embeddings=LAYOUT.tatoeba_embeddings,
    output:
        score=LAYOUT.tatoeba_score,
        hits=LAYOUT.tatoeba_hits,
    log:
        "logs/retrieval/tatoeba/{condition}/{lang}.log",
    conda:
        conda_env("faiss")
    params:
        layer=PLAN.layers.main,
    message:
        "Tatoeba retrieval {wildcards.lang} ({wildcards.condition})"
    script:
        "../scripts/retrieval_tatoeba.py"


rule bucc:
    input:
        unpack(get_bucc_split_inputs),
    output:
        LAYOUT.bucc_score,
    log:
        "logs/retrieval/bucc/{condition}/{lang}.log",
    benchmark:
        "benchmarks/retrieval/bucc/{condition}/{lang}.tsv"
    conda:
        conda_env("faiss", gpu=True)
    threads: 2
    resources:
        gpu=1,
    params:
        mining=PLAN.bucc_mining,
    message:
        "BUCC mining {wildcards.lang} ({wildcards.condition})"
    script:
        "../scripts/retrieval_bucc.py"
