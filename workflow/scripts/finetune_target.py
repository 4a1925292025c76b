"""Adapter: fine-tune a target task on English from one condition's encoder (xstilts.finetune)."""
from xstilts.config import training_runtime
from xstilts.device import setup_job
from xstilts.finetune import HParams, Runtime, run_target
from xstilts.logs import to_file

to_file(snakemake.log[0])
setup_job(snakemake.threads, snakemake.params.seed)
run_target(snakemake.input.encoder, snakemake.input.features, HParams.from_dict(snakemake.params.hp), snakemake.input.validation,
           snakemake.output.model, snakemake.output.metrics, snakemake.params.seed, ckpt_dir=snakemake.params.checkpoints,
           runtime=Runtime.from_dict(training_runtime(snakemake.config), snakemake.threads))
