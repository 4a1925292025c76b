"""Adapter: pretrain the tiny XLM-R masked LM (xstilts.pretrain)."""
from xstilts.device import setup_job
from xstilts.logs import to_file
from xstilts.pretrain import pretrain_mlm, read_corpus

to_file(snakemake.log[0])
setup_job(snakemake.threads, snakemake.params.seed)
pretrain_mlm(read_corpus(list(snakemake.input.corpus)), snakemake.input.tokenizer, dict(snakemake.params.arch),
             dict(snakemake.params.hp), snakemake.output.model, snakemake.output.metrics, snakemake.params.seed,
             ckpt_dir=snakemake.params.checkpoints, runtime=snakemake.params.runtime.with_threads(snakemake.threads))
