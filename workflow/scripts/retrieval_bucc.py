"""Adapter: BUCC mining on dev (sample) and test (training), dev-tuned threshold (xstilts.retrieval)."""
from xstilts.device import setup_job
from xstilts.logs import to_file
from xstilts.retrieval import bucc_job

log = to_file(snakemake.log[0])
setup_job(snakemake.threads)  # claims a free GPU (lock file) or respects SLURM's CUDA_VISIBLE_DEVICES
log.info("%s", bucc_job(dict(snakemake.input.items()), snakemake.wildcards.lang, snakemake.wildcards.condition,
                        dict(snakemake.params.mining), snakemake.output[0]))
