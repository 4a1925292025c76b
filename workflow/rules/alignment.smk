# Stage 7: alignment measures per language × condition × layer on the Tatoeba translation pairs.


rule alignment:
    input:
        embeddings=LAYOUT.tatoeba_embeddings,
    output:
        LAYOUT.alignment,
    log:
        "logs/alignment/{condition}/{lang}.log",
    conda:
        conda_env("faiss")
    message:
        "Alignment measures {wildcards.lang} ({wildcards.condition})"
    script:
        "../scripts/alignment.py"
