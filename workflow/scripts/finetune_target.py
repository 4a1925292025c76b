"""Adapter: fine-tune a target task on English from one condition's encoder (xstilts.finetune)."""
from xstilts.device import setup_job
from xstilts.finetune import run_target
from xstilts.logs import to_file
from xstilts.training import HParams

to_file(snakemake.log[0])
setup_job(snakemake.threads, snakemake.params.seed)
run_target(snakemake.input.encoder, snakemake.input.features, HParams.from_dict(snakemake.params.hp), snakemake.input.validation,
           snakemake.output.model, snakemake.output.metrics, snakemake.params.seed, ckpt_dir=snakemake.params.checkpoints,
           runtime=snakemake.params.runtime.with_threads(snakemake.threads))
