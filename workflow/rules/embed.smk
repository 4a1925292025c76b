# Stage 5: sentence embeddings per condition (encoder loaded once per job; one file per language).
# Each job receives only what it reads (xstilts.plan): the embedding settings and the resolved hidden_states layers
# it keeps, so a change to retrieval.bucc.* or to the Tatoeba/alignment settings reruns no embedding.


rule embed_tatoeba:
    input:
        unpack(get_tatoeba_data),
        model=get_condition_model,
    output:
        **PLAN.per_language("tatoeba_embeddings", TATOEBA_LANGS),
    log:
        "logs/embed/tatoeba/{condition}.log",
    benchmark:
        "benchmarks/embed/tatoeba/{condition}.tsv"
    conda:
        conda_env("torch")
    threads: 1
    resources:
        gpu=1,
    params:
        corpus="tatoeba",
        embedding=PLAN.embedding,
        layers=PLAN.tatoeba_layers,
        model_layers=PLAN.layers.n_model,
        meta=get_embedding_meta,
    message:
        "Embedding Tatoeba sentences with the {wildcards.condition} encoder"
    script:
        "../scripts/embed.py"


rule embed_bucc:
    input:
        unpack(get_bucc_data),
        model=get_condition_model,
    output:
        **{k: temp(v) for k, v in PLAN.bucc_files("bucc_embeddings").items()},
    log:
        "logs/embed/bucc/{condition}.log",
    benchmark:
        "benchmarks/embed/bucc/{condition}.tsv"
    conda:
        conda_env("torch")
    threads: 1
    resources:
        gpu=1,
    params:
        corpus="bucc",
        embedding=PLAN.embedding,
        layers=PLAN.bucc_layers,  # the main layer only
        model_layers=PLAN.layers.n_model,
        meta=get_embedding_meta,
    message:
        "Embedding BUCC sentences with the {wildcards.condition} encoder"
    script:
        "../scripts/embed.py"
