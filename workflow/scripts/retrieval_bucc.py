"""Adapter: BUCC mining on dev (sample) and test (training), dev-tuned threshold (xstilts.retrieval)."""
import pandas as pd

from xstilts.device import setup_job
from xstilts.io import atomic_write_json, load_embeddings
from xstilts.logs import to_file
from xstilts.retrieval import TIE_RULE, bucc_evaluate, bucc_split, duplicate_stats

to_file(snakemake.log[0])
setup_job(snakemake.threads)  # claims a free GPU (lock file) or respects SLURM's CUDA_VISIBLE_DEVICES
b = snakemake.params.mining
lang = snakemake.wildcards.lang
cands, gold, backend, secs, fallback, dups, layer = {}, {}, None, 0.0, 0, {}, None
for split in ("sample", "training"):
    path = snakemake.input[f"emb_{split}"]
    arrays, layers, meta = load_embeddings(path)
    layer = layers[0]  # the embedding job keeps only the resolved main layer
    df = pd.read_parquet(snakemake.input[f"data_{split}"])
    src, en = df[df["side"] == lang], df[df["side"] != lang]
    c, mined = bucc_split(arrays["src"][0], arrays["en"][0], src["text"].tolist(), src["id"].tolist(), en["text"].tolist(),
                          en["id"].tolist(), duplicates=b["duplicates"], name=f"{path} (language {lang}, split {split})",
                          k=b["k"], engine=b["engine"], precision=b["precision"])
    g = pd.read_parquet(snakemake.input[f"gold_{split}"])
    cands[split], gold[split] = c, set(zip(g["src_id"], g["en_id"]))
    backend, secs, fallback = mined.backend, secs + mined.seconds, fallback + mined.fallback_rows
    dups[split] = {"source": duplicate_stats(src["text"]), "english": duplicate_stats(en["text"])}
res = bucc_evaluate(cands["sample"], gold["sample"], cands["training"], gold["training"], name=f"BUCC {lang}")
print(f"mining time {secs:.2f} s ({backend})")  # timings go to the log and benchmarks/, never into score files
for w in res["warnings"]:
    print(f"WARNING: {w}")
res.update(language=lang, condition=snakemake.wildcards.condition, layer=layer, backend=backend, k=b["k"],
           precision=b["precision"], fallback_rows=fallback, ties=TIE_RULE, duplicates=b["duplicates"],
           repeated_sentences=dups, embedding_meta=meta,
           protocol="threshold tuned on sample (dev), applied to training (test); oracle_* = tuned on test gold")
atomic_write_json(res, snakemake.output[0])
print(res)
