"""Adapter: a '<task>+mlm' intermediate model, the multi-task trainer with MLM as one more member (xstilts.multitask)."""
from xstilts.device import setup_job
from xstilts.logs import to_file
from xstilts.multitask import MLMSettings, run_multitask
from xstilts.training import HParams

to_file(snakemake.log[0])
setup_job(snakemake.threads, snakemake.params.seed)
job = snakemake.params.job
tasks = list(job["tasks"])
mlm = MLMSettings(texts={l: snakemake.input[f"mlm_{l}"] for l in job["languages"]}, **job["mlm"])
run_multitask(snakemake.input.base, {t: snakemake.input[f"features_{t}"] for t in tasks}, HParams.from_dict(job["hp"]),
              snakemake.output.model, snakemake.output.metrics, snakemake.params.seed, tasks=tasks,
              ckpt_dir=snakemake.params.checkpoints, cap=job["cap"], valid_paths=dict(job["valid"]),
              runtime=snakemake.params.runtime.with_threads(snakemake.threads), mlm=mlm)
