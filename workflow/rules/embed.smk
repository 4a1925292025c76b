# Stage 5: sentence embeddings per condition (encoder loaded once per job; one file per language).
# Each job receives only what it reads (xstilts.plan): the embedding settings and the resolved hidden_states layers
# it keeps, so a change to retrieval.bucc.* or to the retrieval/alignment settings reruns no embedding.
# One rule per translation-pair corpus (embed_tatoeba, embed_flores: CORPORA in common.smk), written once: its outputs
# are that corpus's languages, so the corpus is fixed per rule rather than a wildcard.


for corpus, corpus_langs in CORPORA.items():

    rule:
        name:
            f"embed_{corpus}"
        input:
            unpack(get_embed_inputs(corpus)),
            model=get_condition_model,
        output:
            **PLAN.per_language("pair_embeddings", corpus_langs, corpus=corpus),
            **(word_vector_outputs() if corpus == WORD_CORPUS else {}),
        log:
            f"logs/embed/{corpus}/{{condition}}.log",
        benchmark:
            f"benchmarks/embed/{corpus}/{{condition}}.tsv"
        conda:
            conda_env("torch")
        threads: 1
        resources:
            gpu=1,
        params:
            corpus=corpus,
            pivot=PIVOT,
            embedding=PLAN.embedding,
            layers=PLAN.pair_layers,
            model_layers=PLAN.layers.n_model,
            meta=get_embedding_meta,
        message:
            f"Embedding {CORPUS_NAMES[corpus]} sentences with the {{wildcards.condition}} encoder"
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
        pivot=PIVOT,
        embedding=PLAN.embedding,
        layers=PLAN.bucc_layers,  # the main layer only
        model_layers=PLAN.layers.n_model,
        meta=get_embedding_meta,
    message:
        "Embedding BUCC sentences with the {wildcards.condition} encoder"
    script:
        "../scripts/embed.py"
