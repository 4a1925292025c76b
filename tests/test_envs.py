"""The conda environments: every rule's env is a shipped file, every env is pinned, `gpu_envs` selects the GPU
builds, and each rule's env provides what its script imports, checked without conda.

The rules and their envs are read from the workflow as Snakemake loads it (its API, in a child process, once per
config: the mini config, the same with ``--config gpu_envs=True`` and the real-data config, whose data rules differ).
For every rule that runs a script, the env named by its ``conda:`` directive is modelled as the distributions it
declares (its conda packages and its pip lines, ``-e ../[extras]`` expanded through pyproject.toml) plus everything
those require (installed metadata).  The script's module-level imports are then run in a fresh interpreter where the
top-level packages of every *other* optional distribution (the extras' packages and the conda packages of other
envs) are blocked, so a rule whose env lacks torch, faiss, scipy, ... fails here.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11 (the envs' Python)

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "workflow" / "rules"
ENVS = ROOT / "envs"
ENV_FILES = sorted(ENVS.glob("*.yaml"))
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
NAME = canonicalize_name(PROJECT["name"])

# conda package -> the pip distribution that installs the same importable package
CONDA_TO_PIP = {"pytorch": "torch", "faiss-gpu": "faiss-cpu", "faiss": "faiss-cpu"}
# conda packages that install no Python distribution: the interpreter, the installer, the CUDA version pin, the C
# compiler (eflomal's build and xstilts.wordalign's seeding shim)
CONDA_IGNORED = {"python", "pip", "cuda-version", "c-compiler"}
# provided to every script by Snakemake itself (its script preamble puts Snakemake's own path on sys.path)
ALWAYS = {"snakemake"}

# the configs the workflow is loaded with: (config file, --config entries)
MINI, GPU, REAL = ("tests/data/mini.yaml", ()), ("tests/data/mini.yaml", ("gpu_envs=True",)), ("config/config.yaml", ())
SETTINGS = (MINI, GPU, REAL)

LOAD_RULES = """
import json, sys, tempfile
from pathlib import Path

root, workdir, configfile, *entries = sys.argv[1:]
sys.path.insert(0, str(Path(root) / "src"))
from snakemake.api import SnakemakeApi
from snakemake.cli import parse_config
from snakemake.settings.types import (ConfigSettings, DeploymentMethod, DeploymentSettings, OutputSettings,
                                      ResourceSettings, StorageSettings)

with SnakemakeApi(OutputSettings()) as api:
    wf = api.workflow(resource_settings=ResourceSettings(), storage_settings=StorageSettings(),
                      config_settings=ConfigSettings(configfiles=[Path(root, configfile)], config=parse_config(entries)),
                      deployment_settings=DeploymentSettings(deployment_method={DeploymentMethod.CONDA}),
                      snakefile=Path(root, "Snakefile"), workdir=Path(workdir))
    rules = {}
    for r in wf._workflow.rules:  # the rules as Snakemake holds them after loading the Snakefile
        gpu = r.resources.get("gpu")
        rules[r.name] = {"conda": r.conda_env and str(Path(str(r.basedir), str(r.conda_env)).resolve()),
                         "script": r.script and str(Path(str(r.basedir), r.script).resolve()),
                         "file": str(r.snakefile), "gpu": getattr(gpu, "value", gpu)}
print(json.dumps(rules))
"""


def _load(setting: tuple[str, tuple[str, ...]]) -> dict[str, dict]:
    configfile, entries = setting
    with tempfile.TemporaryDirectory() as workdir:  # relative paths of the config (language table, lock) resolve here
        shutil.copytree(ROOT / "config", Path(workdir, "config"))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, "-c", LOAD_RULES, str(ROOT), workdir, configfile, *entries], cwd=workdir,
                              capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, f"loading the workflow with {setting} failed:\n{proc.stderr[-3000:]}"
    rules = json.loads(proc.stdout.strip().splitlines()[-1])
    for r in rules.values():
        for key in ("conda", "script", "file"):
            r[key] = Path(r[key]) if r[key] else None
    return rules


@cache
def workflow_rules() -> dict[tuple, dict[str, dict]]:
    """setting -> rule name -> {conda, script, file, gpu}, the workflow loaded once per setting (in parallel)."""
    with ThreadPoolExecutor(len(SETTINGS)) as pool:
        return dict(zip(SETTINGS, pool.map(_load, SETTINGS), strict=True))


def rule_scripts() -> list[dict]:
    """Every rule that runs a script, once per env it runs in under some setting: its name, rule file, conda env
    path and script path."""
    seen, out = set(), []
    for rules in workflow_rules().values():
        for name, r in rules.items():
            if r["script"] is not None and (name, r["conda"]) not in seen:
                seen.add((name, r["conda"]))
                out.append({"rule": name, **r})
    return out


def _extra_reqs(extra: str, seen: set[str] | None = None) -> list[Requirement]:
    """The requirements of one of the project's extras, self-references (``xstilts[a,b]``) expanded."""
    seen = set() if seen is None else seen
    if extra in seen:
        return []
    seen.add(extra)
    extras = PROJECT["optional-dependencies"]
    assert extra in extras, f"pyproject.toml has no extra {extra!r} (extras: {sorted(extras)})"
    out = []
    for spec in extras[extra]:
        req = Requirement(spec)
        if canonicalize_name(req.name) == NAME:
            for sub in sorted(req.extras):
                out += _extra_reqs(sub, seen)
        else:
            out.append(req)
    return out


def env_declared(env: Path) -> set[str]:
    """Distributions an env file declares: conda packages, pip requirements, and the project's core + named extras."""
    spec = yaml.safe_load(env.read_text())
    names: set[str] = set()
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            for line in dep.get("pip", []):
                m = re.match(r"^-e\s+(\S+?)(?:\[([^\]]*)\])?$", line.strip())
                if m:
                    assert (env.parent / m.group(1)).resolve() == ROOT, f"{env}: '{line}' must install this project"
                    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
                    for extra in filter(None, (m.group(2) or "").split(",")):
                        reqs += _extra_reqs(extra.strip())
                    names |= {canonicalize_name(r.name) for r in reqs}
                else:
                    names.add(canonicalize_name(Requirement(line).name))
        else:
            conda = re.split(r"[=<>!\s]", str(dep).strip(), maxsplit=1)[0]
            if conda not in CONDA_IGNORED:
                names.add(canonicalize_name(CONDA_TO_PIP.get(conda, conda)))
    return names


@cache
def _requires(dist: str) -> tuple[str, ...]:
    try:
        reqs = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        pytest.fail(f"distribution {dist!r} (declared by an env) is not installed here; install '.[test]'")
    marker_env = {**default_environment(), "extra": ""}
    out = []
    for spec in reqs:
        req = Requirement(spec)
        if req.marker is None or req.marker.evaluate(marker_env):
            out.append(canonicalize_name(req.name))
    return tuple(out)


def closure(dists: set[str]) -> set[str]:
    todo, seen = list(dists), set()
    while todo:
        d = todo.pop()
        if d in seen:
            continue
        seen.add(d)
        todo += [r for r in _requires(d) if r not in seen]
    return seen


@cache
def _modules_of() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        for d in dists:
            out.setdefault(canonicalize_name(d), set()).add(module)
    return out


def modules(dists: set[str]) -> set[str]:
    return set().union(*(_modules_of().get(d, set()) for d in dists)) if dists else set()


def optional_dists(envs: list[Path]) -> set[str]:
    """Every distribution outside the core that some env may or may not have."""
    names = {canonicalize_name(r.name) for extra in PROJECT["optional-dependencies"] for r in _extra_reqs(extra)}
    for env in envs:
        names |= env_declared(env)
    return names - {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}


def blocked_modules(env: Path, envs: list[Path]) -> set[str]:
    provided = modules(closure(env_declared(env)))
    return modules(optional_dists(envs)) - provided - ALWAYS


def script_imports(script: Path) -> list[str]:
    """The script's module-level import statements (as source), except Snakemake's own."""
    tree = ast.parse(script.read_text())
    out = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            top = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name) or ""
            if top.split(".")[0] not in ALWAYS:
                out.append(ast.unparse(node))
    return out


CHILD = """
import json, sys
job = json.loads(sys.argv[1])
sys.path.insert(0, job["src"])
early = sorted(m for m in job["blocked"] if m in sys.modules)
assert not early, f"already imported before blocking: {early}"
blocked = set(job["blocked"])


class Hide:
    # wraps a meta-path finder so that blocked packages are not found: import fails, find_spec gives None, and
    # `"torch" in sys.modules` stays False (libraries such as scipy probe that)
    def __init__(self, inner):
        self.inner = inner

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            return None
        return self.inner.find_spec(name, path, target)

    def __getattr__(self, attr):
        return getattr(self.inner, attr)


sys.meta_path[:] = [Hide(f) for f in sys.meta_path]
failures = {}
for rule, statements in job["rules"].items():
    for stmt in statements:
        try:
            exec(stmt, {})
        except Exception as e:  # noqa: BLE001
            failures.setdefault(rule, []).append(f"{stmt}: {type(e).__name__}: {e}")
print(json.dumps(failures))
"""


def run_in_env(env: Path, statements_by_rule: dict[str, list[str]], envs: list[Path]) -> dict[str, list[str]]:
    job = {"src": str(ROOT / "src"), "blocked": sorted(blocked_modules(env, envs)), "rules": statements_by_rule}
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(job)], capture_output=True, text=True, timeout=600,
                          cwd=ROOT, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def env_rules() -> dict[Path, list[dict]]:
    by_env: dict[Path, list[dict]] = {}
    for r in rule_scripts():
        by_env.setdefault(r["conda"], []).append(r)
    return by_env


def test_every_scripted_rule_declares_a_shipped_env():
    rules = rule_scripts()
    assert len(rules) >= 20, f"found only {len(rules)} rules with a script: did the workflow load?"
    missing = sorted({f"{r['rule']} ({r['file'].name})" for r in rules if r["conda"] not in ENV_FILES})
    assert not missing, f"rules whose conda env is not a file in envs/: {missing}"
    scripts = sorted({f"{r['rule']}: {r['script']}" for r in rules if not r["script"].is_file()})
    assert not scripts, f"rules whose script is missing: {scripts}"


def test_every_shipped_env_is_used_by_a_rule():
    unused = sorted(e.name for e in ENV_FILES if e not in env_rules())
    assert not unused, f"envs no rule uses under any setting {SETTINGS}: {unused}"


def test_gpu_envs_switches_only_bucc_to_the_faiss_gpu_env():
    """`--config gpu_envs=True` (parsed as Snakemake parses the command line) gives BUCC mining envs/faiss-gpu.yaml
    and leaves every other rule's env as it is; without it no rule uses a GPU build."""
    plain, gpu = workflow_rules()[MINI], workflow_rules()[GPU]
    assert set(plain) == set(gpu)
    changed = {name: (plain[name]["conda"], gpu[name]["conda"]) for name in plain
               if plain[name]["conda"] != gpu[name]["conda"]}
    assert set(changed) == {"bucc"}, changed
    assert changed["bucc"] == (ENVS / "faiss.yaml", ENVS / "faiss-gpu.yaml")
    assert gpu["bucc"]["gpu"] == 1  # a GPU build only for a rule that claims a GPU
    assert not [n for s in (MINI, REAL) for n, r in workflow_rules()[s].items() if r["conda"] == ENVS / "faiss-gpu.yaml"]


def readme_table() -> dict[Path, list[str]]:
    """envs/README.md's table: env file -> the rule names and patterns (``convert_*``) of its rules column."""
    rows = {}
    for line in (ENVS / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        m = re.fullmatch(r"`(envs/[\w.-]+\.yaml)`", cells[0]) if len(cells) >= 4 else None
        if m:
            rows[ROOT / m.group(1)] = re.findall(r"`([\w*]+)`", cells[1])
    return rows


def test_envs_readme_lists_the_rules_of_every_env():
    from fnmatch import fnmatchcase

    table = readme_table()
    assert set(table) == set(ENV_FILES), sorted(p.name for p in set(table) ^ set(ENV_FILES))
    for env, patterns in table.items():
        rules = {r["rule"] for r in env_rules().get(env, [])}
        unlisted = sorted(r for r in rules if not any(fnmatchcase(r, p) for p in patterns))
        assert not unlisted, f"envs/README.md does not list these rules of {env.name}: {unlisted}"
        stale = [p for p in patterns if not any(fnmatchcase(r, p) for r in rules)]
        assert not stale, f"envs/README.md lists for {env.name} rules that do not use it: {stale}"


# --------------------------------------------------------------------------------------------------------------
# pins: every env installs exact versions
# --------------------------------------------------------------------------------------------------------------

_CONDA_PIN = re.compile(r"^([A-Za-z0-9_.-]+)=(\d+(?:\.\d+)*)$")  # name=1.2.3 (no wildcard, no range)


def env_pins(env: Path) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(conda pins, pip pins, problems): name -> exact version, and every dependency line that is not an exact pin
    (the project's own ``-e ../[extras]`` line excepted)."""
    conda, pip, problems = {}, {}, []
    for dep in yaml.safe_load(env.read_text())["dependencies"]:
        if isinstance(dep, dict):
            for line in dep.get("pip", []):
                if re.match(r"^-e\s+\.\./(\[[^\]]*\])?$", line.strip()):
                    continue
                req = Requirement(line)
                spec = list(req.specifier)
                if len(spec) == 1 and spec[0].operator == "==" and "*" not in spec[0].version and not req.marker:
                    pip[canonicalize_name(req.name)] = spec[0].version
                else:
                    problems.append(f"pip: {line}")
        else:
            m = _CONDA_PIN.match(str(dep).strip())
            if m:
                conda[m.group(1)] = m.group(2)
            else:
                problems.append(f"conda: {dep}")
    return conda, pip, problems


def _requirements_of_project_line(env: Path) -> list[Requirement]:
    """The core requirements and those of the extras the env's ``-e ../[extras]`` line installs."""
    reqs = []
    for dep in yaml.safe_load(env.read_text())["dependencies"]:
        for line in dep.get("pip", []) if isinstance(dep, dict) else []:
            m = re.match(r"^-e\s+\.\./(?:\[([^\]]*)\])?$", line.strip())
            if m:
                reqs += [Requirement(r) for r in PROJECT["dependencies"]]
                for extra in filter(None, (m.group(1) or "").split(",")):
                    reqs += _extra_reqs(extra.strip())
    return reqs


@pytest.mark.parametrize("env", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_exact_versions(env):
    conda, pip, problems = env_pins(env)
    assert not problems, f"{env.name}: dependencies without an exact version: {problems}"
    assert "python" in conda, f"{env.name} does not pin python"
    pinned = set(pip) | {canonicalize_name(CONDA_TO_PIP.get(n, n)) for n in conda}
    unpinned = sorted({canonicalize_name(r.name) for r in _requirements_of_project_line(env)} - pinned)
    assert not unpinned, f"{env.name} installs the project's requirements {unpinned} without pinning them"


def test_pins_satisfy_pyproject_and_agree_across_envs():
    """A pin inside the range pyproject.toml allows (else pip fails to install the env), and one version of a package
    in every env that pins it."""
    allowed: dict[str, SpecifierSet] = {}
    for r in [*map(Requirement, PROJECT["dependencies"]), *(q for e in PROJECT["optional-dependencies"]
                                                            for q in _extra_reqs(e))]:
        allowed[canonicalize_name(r.name)] = allowed.get(canonicalize_name(r.name), SpecifierSet()) & r.specifier
    versions: dict[str, set[str]] = {}
    outside = []
    for env in ENV_FILES:
        conda, pip, _ = env_pins(env)
        for name, version in [*pip.items(), *((canonicalize_name(n), v) for n, v in conda.items())]:
            versions.setdefault(name, set()).add(version)
            if name in allowed and not allowed[name].contains(version, prereleases=True):
                outside.append(f"{env.name}: {name}=={version} (pyproject.toml: {allowed[name]})")
    assert not outside, outside
    differ = {n: sorted(v) for n, v in versions.items() if len(v) > 1}
    assert not differ, f"packages pinned to different versions in different envs: {differ}"


def test_test_extra_installs_every_extra():
    """`pip install -e ".[test]"` (README, CI) must still install every dependency of every extra."""
    extras = PROJECT["optional-dependencies"]
    in_test = {canonicalize_name(r.name) for r in _extra_reqs("test")}
    for extra in extras:
        missing = {canonicalize_name(r.name) for r in _extra_reqs(extra)} - in_test
        assert not missing, f"extra {extra!r} needs {sorted(missing)}, which '.[test]' does not install"


@pytest.mark.slow
@pytest.mark.parametrize("env", ENV_FILES, ids=lambda p: p.name)
def test_env_provides_every_import_of_its_rules(env):
    envs = sorted(env_rules())
    statements = {r["rule"]: script_imports(r["script"]) for r in env_rules().get(env, [])}
    assert statements, f"no rule uses {env.name}"
    failures = run_in_env(env, statements, envs)
    assert not failures, f"{env.name} lacks modules its rules import:\n" + "\n".join(
        f"  {rule}: {msg}" for rule, msgs in failures.items() for msg in msgs)


@pytest.mark.slow
def test_blocking_catches_a_missing_dependency():
    """The check can fail: an env without the torch extra cannot import the embedding code."""
    envs = sorted(env_rules())
    lean = [e for e in envs if "torch" not in modules(closure(env_declared(e)))]
    assert lean, "every env provides torch: the envs are not lean"
    failures = run_in_env(lean[0], {"probe": ["import xstilts.embed"]}, envs)
    assert failures, failures
    assert "torch" in failures["probe"][0], failures


# --------------------------------------------------------------------------------------------------------------
# imports inside functions: what a rule's code can reach from the names its script imports
# --------------------------------------------------------------------------------------------------------------

LIB = ROOT / "src" / "xstilts"
# (rule, package) pairs a static call graph over-reports, each with the reason the rule never imports the package
NOT_REACHED = {
    ("findings", "torch"): "findings_job searches with the default faiss engine on CPU; search's torch 'mutual' "
                           "engine is only reachable through the engine argument",
}


@cache
def _lib_module(name: str) -> dict:
    """Top-level definitions, assignments and xstilts imports of one library module, and its third-party imports."""
    tree = ast.parse((LIB / f"{name}.py").read_text())
    mod = {"defs": {}, "names": {}, "aliases": {}, "third": set(), "lib": set()}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            mod["defs"][node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(t, ast.Name) and node.value is not None:
                    mod["defs"][t.id] = node.value
        elif isinstance(node, ast.Import | ast.ImportFrom):
            _note_import(node, mod)
    return mod


def _note_import(node, mod: dict) -> None:
    if isinstance(node, ast.ImportFrom):
        if node.module == "xstilts":
            for a in node.names:
                mod["aliases"][a.asname or a.name] = a.name
                mod["lib"].add(a.name)
        elif node.module and node.module.startswith("xstilts."):
            sub = node.module.split(".")[1]
            mod["lib"].add(sub)
            for a in node.names:
                mod["names"][a.asname or a.name] = (sub, a.name)
        elif node.level == 0 and node.module:
            mod["third"].add(node.module.split(".")[0])
    else:
        for a in node.names:
            if a.name.startswith("xstilts."):
                mod["lib"].add(a.name.split(".")[1])
            else:
                mod["third"].add(a.name.split(".")[0])


def _module_imports(name: str, seen: set[str] | None = None) -> set[str]:
    """Third-party packages importing a library module imports (through its module-level library imports)."""
    seen = set() if seen is None else seen
    if name in seen or not (LIB / f"{name}.py").is_file():
        return set()
    seen.add(name)
    mod = _lib_module(name)
    out = set(mod["third"])
    for sub in mod["lib"]:
        out |= _module_imports(sub, seen)
    return out


def reachable_imports(script: Path) -> set[str]:
    """Third-party packages the library code a script imports can import, inside functions included: a call graph
    over names (functions, classes with all their methods, registries' entries) starting at the script's imports."""
    script_mod = {"defs": {}, "names": {}, "aliases": {}, "third": set(), "lib": set()}
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            _note_import(node, script_mod)
    todo = list(script_mod["names"].values())
    out: set[str] = set(script_mod["third"]) - ALWAYS
    out |= set().union(*(_module_imports(m) for m in script_mod["lib"]))
    seen: set[tuple[str, str]] = set()
    while todo:
        where, name = todo.pop()
        if (where, name) in seen or not (LIB / f"{where}.py").is_file():
            continue
        seen.add((where, name))
        mod = _lib_module(where)
        node = mod["defs"].get(name)
        if node is None:
            if name in mod["names"]:
                todo.append(mod["names"][name])
            continue
        local = {"defs": {}, "names": {}, "aliases": {}, "third": set(), "lib": set()}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import | ast.ImportFrom) and sub is not node:
                _note_import(sub, local)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                if sub.id in mod["defs"]:
                    todo.append((where, sub.id))
                elif sub.id in mod["names"]:
                    todo.append(mod["names"][sub.id])
            elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                alias = mod["aliases"].get(sub.value.id)
                if alias:
                    todo.append((alias, sub.attr))
        out |= local["third"]
        for sub in local["lib"]:
            out |= _module_imports(sub)
        todo += list(local["names"].values())
        # lazily imported library modules used as `module.attr` inside the function
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in local["aliases"]:
                todo.append((local["aliases"][sub.value.id], sub.attr))
    return out


def test_env_provides_what_its_rules_import_inside_functions():
    envs = sorted(env_rules())
    optional = modules(optional_dists(envs)) - ALWAYS
    problems = []
    for env, rules in env_rules().items():
        provided = modules(closure(env_declared(env)))
        for r in rules:
            missing = (reachable_imports(r["script"]) & optional) - provided
            missing -= {pkg for (rule, pkg) in NOT_REACHED if rule == r["rule"]}
            problems += [f"{r['rule']} ({env.name}) can import {pkg}" for pkg in sorted(missing)]
    assert not problems, "envs lacking packages their rules' code imports:\n  " + "\n  ".join(problems)


def test_call_graph_sees_lazy_imports():
    """The reachability check can fail: BUCC mining reaches torch and faiss only through imports inside functions."""
    bucc = next(r for r in rule_scripts() if r["rule"] == "bucc")
    assert {"torch", "faiss"} <= reachable_imports(bucc["script"])
    assert "torch" not in _module_imports("retrieval")
