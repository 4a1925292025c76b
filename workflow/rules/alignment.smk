# Stage 7: alignment measures per language × condition × layer on the Tatoeba translation pairs.


rule alignment:
    input:
        embeddings="results/embeddings/tatoeba/{condition}/{lang}.npz",
    output:
        "results/alignment/{condition}/{lang}.parquet",
    log:
        "logs/alignment/{condition}/{lang}.log",
    conda:
        "../../envs/faiss.yaml"
    message:
        "Alignment measures {wildcards.lang} ({wildcards.condition})"
    script:
        "../scripts/alignment.py"
