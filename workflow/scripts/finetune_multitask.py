"""Adapter: the multi-task intermediate model (xstilts.finetune)."""
from xstilts.device import setup_job
from xstilts.finetune import HParams, run_multitask
from xstilts.logs import to_file

to_file(snakemake.log[0])
setup_job(snakemake.threads, snakemake.params.seed)
specs = {k: dict(v) for k, v in snakemake.params.specs.items()}
run_multitask(snakemake.input.base, specs, HParams.from_dict(snakemake.params.hp), {t: snakemake.input[t] for t in specs},
              snakemake.output.model, snakemake.output.metrics, snakemake.params.seed, snakemake.params.cap,
              dict(snakemake.params.valid))
