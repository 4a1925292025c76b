# Snakemake workflow: X-STILTs (Phang et al. 2020) reproduction + morphology vs. cross-lingual alignment change.
# Every setting comes from the study plan (xstilts.plan, built in workflow/rules/common.smk), every path from its
# layout (xstilts.plan.TEMPLATES, under results/); one .smk per stage below, in the order the data flows.

from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


# No --configfile: the study's own config; --config KEY=VALUE then overrides single keys of it. With --configfile,
# that file is the whole config (merging the study's config under a demo config would mix two studies).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/retrieval.smk"
include: "workflow/rules/wordalign.smk"
include: "workflow/rules/morphology.smk"
include: "workflow/rules/regression.smk"
include: "workflow/rules/report.smk"


onstart:
    claim_study_results()


rule all:
    default_target: True
    input:
        get_final_output(),
