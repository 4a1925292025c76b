"""The study plan (xstilts.plan): one layer rule, per-stage settings, schema and code agreeing on allowed values and
defaults, and every path written once."""
import copy
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from xstilts import embed, outcomes, qa_metrics, retrieval, sources, synthetic, tasks
from xstilts.config import SCHEMA, ConfigError, load_and_check
from xstilts.plan import LAYOUT, Layers, StudyPlan

ROOT = Path(__file__).resolve().parents[1]


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / "config" / name).read_text())


def plan_of(cfg: dict) -> StudyPlan:
    return StudyPlan.from_config(load_and_check(copy.deepcopy(cfg), SCHEMA))


def real_with_layers(layer, analysis_layers) -> dict:
    cfg = load("config.yaml")
    cfg["retrieval"].update(layer=layer, analysis_layers=analysis_layers)
    return cfg


# ---------------------------------------------------------------- layers


def test_one_layer_rule_resolved_against_the_model_for_every_stage():
    plan = plan_of(real_with_layers(12, [0, 6, 12]))
    assert plan.layers == Layers(n_model=24, stored=(0, 6, 12), main=12)
    assert plan.pair_layers == [0, 6, 12]
    assert plan.bucc_layers == [12]
    assert plan_of(real_with_layers(-13, [0, 6, -13])).layers == Layers(24, (0, 6, 12), 12)  # negative: from the top
    assert plan_of(real_with_layers(-1, "all")).layers.main == 24
    demo = plan_of(load("demo.yaml"))
    assert demo.layers.n_model == 2
    assert demo.layers.stored == (0, 1, 2)


@pytest.mark.parametrize(("layer", "analysis", "message"), [
    (-1, [0, 6, 12], r"'retrieval\.layer': layer -1 \(hidden_states\[24\] of a model with 24 layers.*not among the stored "
                     r"retrieval\.analysis_layers \[0, 6, 12\]"),
    (14, [0, 6, 12], r"'retrieval\.layer': layer 14 .*not among the stored retrieval\.analysis_layers \[0, 6, 12\]"),
    (25, "all", r"'retrieval\.layer': layer 25 does not exist in a model with 24 layers \(hidden_states 0\.\.24, model\.num_hidden_layers\)"),
    (6, [0, 6, 30], r"'retrieval\.analysis_layers': layer 30 does not exist"),
])
def test_an_impossible_or_unstored_layer_is_a_config_error(layer, analysis, message):
    with pytest.raises(ConfigError, match=message):
        plan_of(real_with_layers(layer, analysis))


def test_an_unstored_layer_stops_the_workflow_before_any_job(tmp_path):
    """The full study's DAG (offline): with analysis_layers [0, 6, 12] on XLM-R Large (24 layers), layer -1
    (hidden_states[24]) is not stored; Snakemake stops while parsing, naming the key, with no job scheduled."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    cfg = real_with_layers(-1, [0, 6, 12])
    (tmp_path / "config" / "layers.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    r = subprocess.run(["snakemake", "-n", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                        "--configfile", str(tmp_path / "config" / "layers.yaml")], capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "config key 'retrieval.layer': layer -1 (hidden_states[24]" in out, out[-3000:]
    assert "Job stats" not in out
    assert not (tmp_path / "results").exists()


# ---------------------------------------------------------------- per-stage settings


def test_each_stage_gets_exactly_the_settings_it_reads():
    base = load("demo.yaml")
    changed = copy.deepcopy(base)
    changed["retrieval"]["bucc"]["k"] = 8
    changed["morphology"]["wals_features"] = ["22A"]
    changed["regression"]["n_perm"] = 99
    a, b = plan_of(base), plan_of(changed)
    for stage in ("embedding", "pair_layers", "bucc_layers", "morphology_sample_size", "morphology_measures",
                  "findings", "report"):
        assert getattr(a, stage) == getattr(b, stage), stage
    assert a.bucc_mining != b.bucc_mining
    assert a.morphology_table != b.morphology_table
    assert a.regression != b.regression
    assert set(a.embedding) == set(embed.EMBEDDING_SETTINGS)
    assert set(a.bucc_mining) == {"k", "engine", "precision", "duplicates"}


def test_stage_settings_are_schema_keys():
    schema = yaml.safe_load(SCHEMA.read_text())["properties"]
    plan = plan_of(load("demo.yaml"))
    assert set(plan.embedding) <= set(schema["retrieval"]["properties"])
    assert set(plan.bucc_mining) <= set(schema["retrieval"]["properties"]["bucc"]["properties"])
    for stage in ("morphology_sample_size", "morphology_measures"):
        assert set(getattr(plan, stage)) <= set(schema["morphology"]["properties"])
    assert set(plan.regression) <= set(schema["regression"]["properties"])


# ---------------------------------------------------------------- one source of truth


def _enum(*path):
    node = yaml.safe_load(SCHEMA.read_text())
    for p in path:
        node = node[p]
    return set(node["enum"])


def test_schema_enums_and_code_registries_agree():
    d, p = ("$defs",), ("properties",)
    assert _enum(*d, "task", "properties", "type") == set(tasks.REGISTRY)
    assert _enum(*d, "task", "properties", "qa_metric") == set(qa_metrics.NORMALIZERS)
    metrics = {m for tt in tasks.REGISTRY.values() for m in tt.metrics}
    assert _enum(*d, "task", "properties", "metric") - {None} <= metrics
    assert _enum(*d, "hub", "properties", "kind") - {""} == set(sources.KINDS)
    assert _enum(*d, "hub", "properties", "format") - {""} == set(sources.FORMATS)
    r = (*p, "retrieval", "properties")
    assert _enum(*r, "pooling") == set(embed.POOLINGS)
    assert _enum(*r, "embed_precision") == set(embed.PRECISIONS)
    assert _enum(*r, "bucc", "properties", "engine") == set(retrieval.ENGINES)
    assert _enum(*r, "bucc", "properties", "precision") == set(retrieval.SEARCH_PRECISIONS)
    assert _enum(*r, "bucc", "properties", "duplicates") == set(retrieval.DUPLICATES)
    assert _enum(*p, "regression", "properties", "outcome") == set(outcomes.OUTCOMES)
    lang = (*p, "synthetic", "properties", "languages", "items", "properties")
    assert _enum(*lang, "bound", "items") == set(synthetic.CATEGORIES)
    assert _enum(*lang, "script") == set(synthetic.SCRIPTS)


def _schema_keys_with_defaults() -> set[str]:
    keys = set()

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.get("properties", {}).items():
                if isinstance(v, dict) and "default" in v:
                    keys.add(k)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(yaml.safe_load(SCHEMA.read_text()))
    return keys


def test_no_library_code_restates_a_schema_default():
    """``spec.get("doc_stride", 128)`` would be a second default beside the schema's: the library reads validated
    settings, or completes partial specs from the schema (xstilts.config.with_task_defaults)."""
    keys = _schema_keys_with_defaults()
    value_default = re.compile(r"""(?<!attrs)\.get\(\s*["'](\w+)["']\s*,(?!\s*(?:\{\}|\[\]|\(\)|None\b|""\)|''\)))""")
    found = [f"{f.name}:{i}: {line.strip()}" for f in sorted((ROOT / "src/xstilts").rglob("*.py"))
             for i, line in enumerate(f.read_text().splitlines(), 1)
             for m in value_default.finditer(line) if m.group(1) in keys]
    assert not found, "\n".join(found)


def test_every_setting_in_the_schema_can_be_set_and_is_read():
    """A key the code reads must be settable (in the schema); checked for the regression section, where
    mixed_all_predictors once could never be set."""
    cfg = load("demo.yaml")
    cfg["regression"]["mixed_all_predictors"] = True
    assert plan_of(cfg).regression["mixed_all_predictors"] is True


def test_the_interaction_outcomes_take_the_outcome_names():
    """regression.outcomes accepts exactly the names regression.outcome accepts (xstilts.outcomes.OUTCOMES)."""
    node = yaml.safe_load(SCHEMA.read_text())["properties"]["regression"]["properties"]
    assert set(node["outcomes"]["items"]["enum"]) == set(node["outcome"]["enum"])


def test_the_interaction_outcomes_default_to_the_primary_outcome():
    cfg = load("demo.yaml")
    del cfg["regression"]["outcomes"]
    assert plan_of(cfg).regression["outcomes"] == [cfg["regression"]["outcome"]]


def test_the_primary_outcome_comes_first_among_the_outcomes():
    cfg = load("demo.yaml")
    cfg["regression"]["outcomes"] = ["flores.cka", cfg["regression"]["outcome"]]
    assert plan_of(cfg).regression["outcomes"] == [cfg["regression"]["outcome"], "flores.cka"]


def test_an_outcome_listed_twice_is_refused():
    cfg = load("demo.yaml")
    cfg["regression"]["outcomes"] = [cfg["regression"]["outcome"], "cka", "cka"]
    with pytest.raises(ConfigError, match=r"'regression.outcomes': an outcome is listed twice"):
        plan_of(cfg)


def test_the_real_study_keeps_the_ten_gib_low_resource_threshold():
    assert plan_of(load("config.yaml")).regression["low_resource_gib"] == 10.0


# ---------------------------------------------------------------- paths once


def test_every_result_path_is_written_once_in_the_rules():
    """Path templates live in xstilts.plan.LAYOUT (or come from rules.<name>.output); a literal results/ path
    appears at most once across the rule files."""
    literals = []
    for f in sorted((ROOT / "workflow/rules").glob("*.smk")):
        literals += re.findall(r"""["'](results/[^"'{]*(?:\{[^"']*)?)["']""", f.read_text())
    repeated = {p for p in literals if literals.count(p) > 1}
    assert not repeated, repeated
    assert not re.search(r"\.\./\.\./envs", "".join(f.read_text() for f in (ROOT / "workflow/rules").glob("*.smk")))


def test_layout_templates_fill_only_their_wildcards():
    assert LAYOUT.path("target_model", target="xnli") == "results/target/xnli/{condition}/model"
    assert LAYOUT.path("features", group="target", name="udpos") == "results/features/target/udpos/train.parquet"
    with pytest.raises(KeyError, match="has no wildcard"):
        LAYOUT.path("tatoeba", condition="base")


def test_library_dataclass_defaults_equal_the_schema_defaults():
    """HParams, Runtime and WorldConfig keep defaults for library use outside the workflow; they must be the
    schema's."""
    from dataclasses import MISSING, fields

    from xstilts.config import schema_defaults
    from xstilts.training import HParams, Runtime

    schema = yaml.safe_load(SCHEMA.read_text())
    training = {k: v["default"] for k, v in schema["properties"]["training"]["properties"].items()
                if k != "threads"}  # Runtime.threads is the job's granted threads (Snakemake's), set at run time
    from xstilts.synthetic import WorldConfig

    for cls, defaults in ((HParams, schema_defaults("hparams")), (Runtime, training),
                          (WorldConfig, schema_defaults("synthetic"))):
        for f in fields(cls):
            if f.name in defaults and f.default is not MISSING:
                assert f.default == defaults[f.name], (cls.__name__, f.name, f.default, defaults[f.name])
            elif f.name in defaults and f.default_factory is not MISSING:  # {} in the schema: its keys' defaults
                expected = defaults[f.name] or schema_defaults(f"synthetic.{f.name}")
                assert f.default_factory() == expected, (cls.__name__, f.name, f.default_factory(), expected)
