"""The shape of the code: the library's imports form no cycle, and the study plan is the only door to the config."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "xstilts"


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the xstilts modules it imports, at module level or inside functions (a cycle through a function-level
    import is still a cycle of the design)."""
    files = {_module(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                # `from pkg import mod` depends on the module pkg.mod; `from pkg import name` on pkg itself
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for t in targets:
                while t and t not in files:
                    t = t.rpartition(".")[0]
                if t and t != mod and t.startswith("xstilts"):
                    graph[mod].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_library_imports_form_no_cycle():
    graph = import_graph()
    assert "xstilts.plan" in graph["xstilts.training"]  # the walker sees the imports it should
    assert cycles(graph) == []


def test_the_plan_imports_no_heavy_library():
    """The plan is built while Snakemake parses the workflow (and in every job's conda env): torch, transformers or
    faiss there would slow every invocation and break the envs without them."""
    graph = import_graph()
    seen, todo = set(), ["xstilts.plan"]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += graph[m]
    for m in seen:
        text = (PKG / (m.split(".", 1)[1].replace(".", "/") + ".py")).read_text()
        heavy = re.findall(r"^\s*(?:import|from) (torch|transformers|faiss)\b", text, re.M)
        assert not heavy, f"{m} (imported by the plan) imports {heavy}"


def test_the_plan_is_the_only_door_to_the_config():
    """No rule reads config[...] and no adapter reads snakemake.config: every setting comes from the study plan, so a
    job receives exactly the settings it reads (and a change reruns only what depends on it)."""
    rules = {p.name: [n for n, line in enumerate(p.read_text().splitlines(), 1) if "config[" in line]
             for p in (ROOT / "workflow/rules").glob("*.smk")}
    scripts = {p.name: [n for n, line in enumerate(p.read_text().splitlines(), 1) if "snakemake.config" in line]
               for p in (ROOT / "workflow/scripts").glob("*.py")}
    assert {k: v for k, v in rules.items() if v} == {}
    assert {k: v for k, v in scripts.items() if v} == {}


def test_no_literal_results_paths_in_rules():
    """Every path of a rule comes from the layout (xstilts.plan.TEMPLATES); comments may mention results/."""
    found = {}
    for p in (ROOT / "workflow/rules").glob("*.smk"):
        for n, line in enumerate(p.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"""["']results/""", code):
                found.setdefault(p.name, []).append(n)
    assert found == {}


def _is_slow(decorators) -> bool:
    return any("slow" in ast.unparse(d) for d in decorators)


def fast_test_files() -> dict[Path, str]:
    """Test files with at least one test that `pytest -m "not slow"` runs -> their source."""
    out = {}
    for p in sorted((ROOT / "tests").glob("test_*.py")):
        tree = ast.parse(p.read_text(), str(p))
        module_slow = any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)
                          and "slow" in ast.unparse(n.value) for n in tree.body)
        tests = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        if not module_slow and any(not _is_slow(t.decorator_list) for t in tests):
            out[p] = p.read_text()
    return out


def test_the_fast_tier_reaches_every_module():
    """`pytest -m "not slow"` (the everyday tier) has a test file that imports or runs each module of the library."""
    files = fast_test_files()
    graph = import_graph()
    missing = []
    for mod in sorted(graph):
        name = mod.removesuffix(".__main__")
        leaf = name.rpartition(".")[2]
        parent = name.rpartition(".")[0]
        patterns = [rf"\b{re.escape(name)}\b", rf"from {re.escape(parent)} import [^\n]*\b{re.escape(leaf)}\b"]
        # a package's part counts when a fast test imports the package and the package imports that part
        package = parent if name in graph.get(parent, set()) else None
        if package:
            pkg_parent, _, pkg_leaf = package.rpartition(".")
            patterns += [rf"\b{re.escape(package)}\b", rf"from {re.escape(pkg_parent)} import [^\n]*\b{re.escape(pkg_leaf)}\b"]
        if not any(re.search(pat, src) for src in files.values() for pat in patterns):
            missing.append(mod)
    assert missing == [], f"no fast test imports {missing}"


def test_each_rule_file_has_its_library_module():
    """A stage is found in one hop: workflow/rules/<stage>.smk and xstilts.<stage> share a name (common.smk holds
    Snakemake helpers only)."""
    import importlib

    stages = sorted(p.stem for p in (ROOT / "workflow/rules").glob("*.smk") if p.stem != "common")
    for stage in stages:
        module = importlib.import_module(f"xstilts.{stage}")
        assert module.__doc__, f"xstilts.{stage} has no docstring saying what the stage does"
    from xstilts import contracts, data

    assert data.read is contracts.read  # the data stage's module is the door to the contracts' readers
