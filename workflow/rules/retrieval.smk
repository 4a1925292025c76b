# Stage 6: retrieval scores per corpus × language × condition (accuracy@1 en→xx headline + xx→en, set size and chance
# level; Tatoeba is the XTREME task, FLORES+ devtest the same 1,012 sentences in every language) and BUCC mining F1.
# Every search runs once, in the retrieval job: its per-sentence hits (every stored layer, both directions, plain and
# mean-centred) are read by the alignment measures and (Tatoeba) the findings' bootstrap.


rule retrieval:
    input:
        embeddings=LAYOUT.pair_embeddings,
    output:
        score=LAYOUT.pair_score,
        hits=LAYOUT.pair_hits,
    log:
        "logs/retrieval/{corpus}/{condition}/{lang}.log",
    conda:
        conda_env("faiss")
    params:
        layer=PLAN.layers.main,
    message:
        "{wildcards.corpus} retrieval {wildcards.lang} ({wildcards.condition})"
    script:
        "../scripts/retrieval_pairs.py"


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
