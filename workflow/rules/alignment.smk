# Stage 7: alignment measures per language × condition × layer on the Tatoeba translation pairs (retrieval from the
# tatoeba job's hits; CKA and the cosine gap from the embeddings).


rule alignment:
    input:
        embeddings=LAYOUT.tatoeba_embeddings,
        hits=LAYOUT.tatoeba_hits,
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
