"""Adapter: BUCC mining on dev (sample) and test (training), dev-tuned threshold (xstilts.retrieval)."""
import pandas as pd

from xstilts.device import setup_job
from xstilts.io import load_embeddings, atomic_write_json
from xstilts.logs import to_file
from xstilts.retrieval import bucc_evaluate, bucc_split

to_file(snakemake.log[0])
setup_job(snakemake.threads)  # claims a free GPU (lock file) or respects SLURM's CUDA_VISIBLE_DEVICES
b = snakemake.params.bucc
lang = snakemake.wildcards.lang
cands, gold, backend, secs = {}, {}, None, 0.0
for split in ("sample", "training"):
    arrays, _, meta = load_embeddings(snakemake.input[f"emb_{split}"])
    df = pd.read_parquet(snakemake.input[f"data_{split}"])
    src, en = df[df["side"] == lang], df[df["side"] != lang]
    c, mined = bucc_split(arrays["src"][0], arrays["en"][0], src["text"].tolist(), src["id"].tolist(), en["text"].tolist(), en["id"].tolist(),
                          k=b["k"], engine=b["engine"], precision=b["precision"])
    g = pd.read_parquet(snakemake.input[f"gold_{split}"])
    cands[split], gold[split] = c, set(zip(g["src_id"], g["en_id"]))
    backend, secs = mined.backend, secs + mined.seconds
res = bucc_evaluate(cands["sample"], gold["sample"], cands["training"], gold["training"])
print(f"mining time {secs:.2f} s ({backend})")  # timings go to the log and benchmarks/, never into score files
res.update(language=lang, condition=snakemake.wildcards.condition, layer=snakemake.params.layer, backend=backend,
           k=b["k"], protocol="threshold tuned on sample (dev), applied to training (test); oracle_* = tuned on test gold")
atomic_write_json(res, snakemake.output[0])
print(res)
