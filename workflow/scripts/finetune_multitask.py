"""Adapter: the multi-task intermediate model (xstilts.multitask)."""
from xstilts.device import setup_job
from xstilts.logs import to_file
from xstilts.multitask import run_multitask
from xstilts.training import HParams

to_file(snakemake.log[0])
setup_job(snakemake.threads, snakemake.params.seed)
tasks = list(snakemake.params.tasks)
run_multitask(snakemake.input.base, {t: snakemake.input[t] for t in tasks}, HParams.from_dict(snakemake.params.hp), snakemake.output.model,
              snakemake.output.metrics, snakemake.params.seed, tasks=tasks, ckpt_dir=snakemake.params.checkpoints,
              cap=snakemake.params.cap, valid_paths=dict(snakemake.params.valid),
              runtime=snakemake.params.runtime.with_threads(snakemake.threads))
