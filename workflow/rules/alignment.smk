# Stage 7: alignment measures per corpus × language × condition × layer on translation pairs (Tatoeba; FLORES+ devtest,
# the same sentences in every language): retrieval from the retrieval job's hits, CKA and the cosine gap from the
# embeddings.


rule alignment:
    input:
        embeddings=LAYOUT.pair_embeddings,
        hits=LAYOUT.pair_hits,
    output:
        LAYOUT.alignment,
    log:
        "logs/alignment/{corpus}/{condition}/{lang}.log",
    conda:
        conda_env("faiss")
    message:
        "Alignment measures {wildcards.corpus} {wildcards.lang} ({wildcards.condition})"
    script:
        "../scripts/alignment.py"
