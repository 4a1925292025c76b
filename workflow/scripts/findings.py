"""Adapter: Δ alignment with bootstrap CIs, direction by morphology, the summary's opening paragraph (xstilts.findings)."""
from xstilts.findings import findings_job
from xstilts.logs import to_file

to_file(snakemake.log[0])
inp, prm, out = snakemake.input, snakemake.params, snakemake.output
print(findings_job(embeddings=list(inp.embeddings), cells=[tuple(c) for c in prm.cells], layer=prm.layer,
                   base_alignment=list(inp.base_alignment), bucc_scores=list(inp.bucc),
                   languages=inp.languages, morphology=inp.morphology, dial=prm.dial, primary=prm.primary, study=prm.study,
                   synthetic=prm.synthetic, n_boot=prm.n_boot, seed=prm.seed, out=dict(out.items())))
