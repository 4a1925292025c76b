# Stages 6-7: retrieval and alignment per corpus × language × condition (Tatoeba, the XTREME task; FLORES+ devtest,
# the same 1,012 sentences in every language), one job each: it reads the embeddings once, runs every search once
# (per-sentence hits of every stored layer, both directions, plain and mean-centred: read by the findings' bootstrap),
# writes the accuracy@1 at the main layer (en→xx headline, xx→en, set size and chance level) and the alignment
# measures of every stored layer (retrieval from those hits; linear CKA and the cosine gap from the vectors); on
# FLORES+ also the word-level measures (xstilts.wordalign).
# Then BUCC mining F1.


# One rule per translation-pair corpus (retrieval_tatoeba, retrieval_flores), like the embedding rules: the FLORES+
# job (the multi-parallel corpus, WORD_CORPUS) also writes the word-level measures from the word vectors of the same
# embedding job and the language's word pairs (xstilts.wordalign): one job per corpus × condition × language.
for corpus in CORPORA:

    rule:
        name:
            f"retrieval_{corpus}"
        input:
            unpack(get_retrieval_inputs(corpus)),
        output:
            **word_measure_outputs(corpus),
            score=LAYOUT.path("pair_score", corpus=corpus),
            hits=LAYOUT.path("pair_hits", corpus=corpus),
            alignment=LAYOUT.path("alignment", corpus=corpus),
        log:
            f"logs/retrieval/{corpus}/{{condition}}/{{lang}}.log",
        conda:
            conda_env("faiss")
        params:
            **word_measure_params(corpus),
            layer=PLAN.layers.main,
            corpus=corpus,
        message:
            f"{CORPUS_NAMES[corpus]} retrieval and alignment {{wildcards.lang}} ({{wildcards.condition}})"
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
