"""Adapter: one English intermediate fine-tune; saves the encoder (xstilts.finetune)."""
from xstilts.device import setup_job
from xstilts.finetune import HParams, run_intermediate
from xstilts.logs import to_file

to_file(snakemake.log[0])
setup_job(snakemake.threads, snakemake.params.seed)
run_intermediate(snakemake.input.base, dict(snakemake.params.spec), HParams.from_dict(snakemake.params.hp), snakemake.input.train,
                 snakemake.input.validation, snakemake.output.model, snakemake.output.metrics, snakemake.params.seed)
