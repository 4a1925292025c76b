import subprocess
from pathlib import Path

import pytest
import yaml

from xstilts.config import ConfigError, load_and_check, require_pinned

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def demo():
    return yaml.safe_load((ROOT / "config/demo.yaml").read_text())


def test_demo_and_full_configs_validate(monkeypatch):
    cfg = load_and_check(demo(), SCHEMA)
    assert cfg["regression"]["n_boot"] == 500
    assert cfg["multitask"]["cap"] is None  # defaults filled
    monkeypatch.chdir(ROOT)
    full = load_and_check(yaml.safe_load((ROOT / "config/config.yaml").read_text()), SCHEMA)
    assert len(full["intermediate_tasks"]) == 9


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c["retrieval"]["bucc"].update(k="four"), "retrieval.bucc.k"),
        (lambda c: c["retrieval"].update(layerz=3), "retrieval"),
        (lambda c: c.update(languages=c["languages"] + ["qq"]), "languages"),
        (lambda c: c["targets"]["xnli"].update(languages=["en", "zz"]), "targets.xnli.languages"),
        (lambda c: c["intermediate_tasks"]["nli"].update(hparams={"learning_rate": "fast"}), "intermediate_tasks.nli.hparams.learning_rate"),
        (lambda c: c["intermediate_tasks"].update(base=c["intermediate_tasks"]["nli"]), "intermediate_tasks.base"),
    ],
)
def test_bad_config_names_the_key(mutate, key):
    cfg = demo()
    mutate(cfg)
    with pytest.raises(ConfigError, match=f"config key '{key}'"):
        load_and_check(cfg, SCHEMA)


def test_unknown_key_is_named():
    cfg = demo()
    cfg["morphology"]["sampel_tokens"] = 5
    with pytest.raises(ConfigError, match="unknown key.*sampel_tokens"):
        load_and_check(cfg, SCHEMA)


def test_pin_check():
    with pytest.raises(ConfigError, match="model.revision"):
        require_pinned("main", "model.revision")
    assert require_pinned("a" * 40, "x") == "a" * 40


def test_snakemake_fails_before_any_job(tmp_path):
    cfg = demo()
    cfg["retrieval"]["tatoeba"]["languages"].append("klingon")
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(cfg))
    r = subprocess.run(["snakemake", "-n", "--cores", "1", "--configfile", str(p)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "retrieval.tatoeba.languages" in r.stdout + r.stderr
    assert "klingon" in r.stdout + r.stderr
