"""The documentation names only files that exist: every repository path in README.md and envs/README.md (in
backticks, or in a fenced command or layout block) is a file or directory tracked in this repository.

A path here is a word whose first component is a top-level entry of the repository (`config/demo.yaml`,
`envs/faiss-gpu.yaml`, `bench/NOTES.md`, `src/xstilts/`); outputs of a run (`results/...`, `logs/...`) are not
tracked and so not checked, and templates (`workflow/rules/<stage>.smk`, `envs/<extra>.yaml`) are left out.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "envs/README.md")
TEMPLATE = re.compile(r"[<>{}*|$]|\.\.\.")


@cache
def tracked() -> tuple[frozenset[str], frozenset[str]]:
    """(tracked files, their parent directories), relative to the repository root."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    files = frozenset(f for f in out.split("\0") if f)
    dirs = frozenset(str(p) for f in files for p in Path(f).parents if str(p) != ".")
    return files, dirs


def mentioned_paths(text: str) -> list[str]:
    """Words in backticks and in fenced blocks that start with a top-level entry of the repository."""
    files, dirs = tracked()
    top = {f.split("/")[0] for f in files}
    words = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", " ", text, flags=re.S))
    words = [w for span in words for w in span.split()]
    words += [w for block in re.findall(r"```.*?```", text, flags=re.S) for w in block.split()]
    out = []
    for w in words:
        w = w.strip("\"'(),;:").removeprefix("./")
        if "/" in w and w.split("/")[0] in top and not TEMPLATE.search(w) and "://" not in w:
            out.append(w)
    return sorted(set(out))


def test_doc_paths_are_found():
    """The extraction sees the paths it is meant to check (a README without them would pass vacuously)."""
    paths = mentioned_paths((ROOT / "README.md").read_text())
    assert {"config/demo.yaml", "envs/README.md", "workflow/schemas/config.schema.yaml"} <= set(paths), paths


def test_a_missing_path_is_reported():
    assert mentioned_paths("see `config/no-such-file.yaml` and `results/x.csv`") == ["config/no-such-file.yaml"]


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_in_the_docs_is_in_the_repository(doc):
    files, dirs = tracked()
    missing = [p for p in mentioned_paths((ROOT / doc).read_text()) if p.rstrip("/") not in files | dirs]
    assert not missing, f"{doc} names paths that are not in the repository: {missing}"
