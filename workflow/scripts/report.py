"""Adapter: tables, figures, the summary (Markdown and HTML) and the HTML tables (xstilts.report)."""
from xstilts.logs import to_file
from xstilts.report import report_job

to_file(snakemake.log[0])
inputs = {k: (list(v) if k in ("target_scores", "tatoeba", "bucc") else v) for k, v in snakemake.input.items()}
report_job(**inputs, settings=dict(snakemake.params.settings), out=dict(snakemake.output.items()))
