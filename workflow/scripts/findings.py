"""Adapter: Δ alignment with bootstrap CIs, direction by morphology, the summary's opening paragraph (xstilts.findings)."""
from xstilts.findings import findings_job
from xstilts.logs import to_file

log = to_file(snakemake.log[0])
inp, prm = snakemake.input, snakemake.params
log.info("%s", findings_job(hits=list(inp.hits), layer=prm.layer, base_alignment=list(inp.base_alignment), bucc_scores=list(inp.bucc),
                            languages=inp.languages, morphology=inp.morphology, **dict(prm.settings), seed=prm.seed,
                            pooled=inp.pooled, interaction=inp.interaction, sample=inp.sample, target_scores=inp.target_scores,
                            alternatives=inp.alternatives, out=dict(snakemake.output.items())))
