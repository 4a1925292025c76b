"""Adapter: combine per-language measures with WALS values and metadata; PC1 composite (xstilts.morphology)."""
from xstilts.logs import to_file
from xstilts.morphology import table_job

log = to_file(snakemake.log[0])
log.info("%s", table_job(measures=list(snakemake.input.measures), languages=snakemake.input.languages,
                         wals_values=snakemake.input.wals_values, settings=dict(snakemake.params.settings),
                         out=dict(snakemake.output.items())))
