# Snakemake workflow: X-STILTs (Phang et al. 2020) reproduction + morphology vs. cross-lingual alignment change.
#
# results/data          canonical datasets (synthetic world or hub downloads)
# results/models/base   the base encoder          results/intermediate/<task>   intermediate encoders
# results/target        target-task models        results/scores                zero-shot scores per language
# results/embeddings    sentence embeddings       results/retrieval, alignment  per language × condition
# results/morphology    complexity measures       results/regression, tables, figures, summary.md

from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


if not config:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/retrieval.smk"
include: "workflow/rules/alignment.smk"
include: "workflow/rules/morphology.smk"
include: "workflow/rules/regression.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
