# Stage 5: sentence embeddings per condition (encoder loaded once per job; one file per language).
# Each job receives only the settings it reads: the embedding settings (xstilts.config.EMBEDDING_SETTINGS) and the
# layers it keeps, so a change to retrieval.bucc.* or to the Tatoeba/alignment settings reruns no embedding.


rule embed_tatoeba:
    input:
        unpack(get_tatoeba_data),
        model=get_condition_model,
    output:
        **tatoeba_embedding_paths("{condition}"),
    log:
        "logs/embed/tatoeba/{condition}.log",
    benchmark:
        "benchmarks/embed/tatoeba/{condition}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
    params:
        embedding=embedding_settings(config),
        layers=config["retrieval"]["analysis_layers"],
        meta=get_embedding_meta,
    message:
        "Embedding Tatoeba sentences with the {wildcards.condition} encoder"
    script:
        "../scripts/embed_tatoeba.py"


rule embed_bucc:
    input:
        unpack(get_bucc_data),
        model=get_condition_model,
    output:
        **{k: temp(v) for k, v in bucc_embedding_paths("{condition}").items()},
    log:
        "logs/embed/bucc/{condition}.log",
    benchmark:
        "benchmarks/embed/bucc/{condition}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
    params:
        embedding=embedding_settings(config),
        # only the main layer is kept, resolved against the analysis layers (xstilts.retrieval.resolve_main_layer)
        layers=config["retrieval"]["analysis_layers"],
        main_layer=config["retrieval"]["layer"],
        meta=get_embedding_meta,
    message:
        "Embedding BUCC sentences with the {wildcards.condition} encoder"
    script:
        "../scripts/embed_bucc.py"
