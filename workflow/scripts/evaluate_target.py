"""Adapter: zero-shot evaluation of one target model on every language (xstilts.evaluate)."""
from xstilts.device import setup_job
from xstilts.evaluate import evaluate_languages
from xstilts.logs import to_file

to_file(snakemake.log[0])
device = setup_job(snakemake.threads)
langs = list(snakemake.output.keys())
meta = {**snakemake.params.meta, "condition": snakemake.wildcards.condition}
evaluate_languages(snakemake.input.model, dict(snakemake.params.spec), {l: snakemake.input[l] for l in langs},
                   {l: snakemake.output[l] for l in langs}, snakemake.params.batch_size, device, meta)
