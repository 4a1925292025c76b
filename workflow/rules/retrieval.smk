# Stages 6-7: retrieval and alignment per corpus × language × condition (Tatoeba, the XTREME task; FLORES+ devtest,
# the same 1,012 sentences in every language), one job each: it reads the embeddings once, runs every search once
# (per-sentence hits of every stored layer, both directions, plain and mean-centred: read by the findings' bootstrap),
# writes the accuracy@1 at the main layer (en→xx headline, xx→en, set size and chance level) and the alignment
# measures of every stored layer (retrieval from those hits; linear CKA and the cosine gap from the vectors).
# Then BUCC mining F1.


rule retrieval:
    input:
        embeddings=LAYOUT.pair_embeddings,
    output:
        score=LAYOUT.pair_score,
        hits=LAYOUT.pair_hits,
        alignment=LAYOUT.alignment,
    log:
        "logs/retrieval/{corpus}/{condition}/{lang}.log",
    conda:
        conda_env("faiss")
    params:
        layer=PLAN.layers.main,
    message:
        "{wildcards.corpus} retrieval and alignment {wildcards.lang} ({wildcards.condition})"
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
