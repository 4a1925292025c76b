"""The code stays lint-clean: ruff (rule set in pyproject.toml), snakefmt and Snakemake's own linter."""
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


def run(*cmd, timeout=300):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed (pip install -e '.[test]')")
def test_ruff_is_clean():
    r = run("ruff", "check", ".")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


@pytest.mark.skipif(shutil.which("snakefmt") is None, reason="snakefmt not installed (pip install -e '.[test]')")
def test_snakefmt_is_clean():
    r = run("snakefmt", "--check", "Snakefile", "workflow/rules")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


@pytest.mark.parametrize("config", ["config/demo.yaml", "config/config.yaml"])
def test_snakemake_lint_is_clean(config):
    r = run(sys.executable, "-m", "snakemake", "--lint", "--configfile", config)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "Congratulations" in r.stdout + r.stderr, (r.stdout + r.stderr)[-4000:]
