"""How upstream repositories lay out their files, and which files hold one config × split.

* A script-free hub dataset (``hub_dataset``) names each config's files in its dataset card: the README's YAML
  ``configs:`` block (``config_name``, ``data_files: [{split, path}]``). The hub's conversion tooling writes that block
  sorted by config name (``datasets.utils.metadata.MetadataConfigs.to_dataset_card_data``), and
  ``datasets.load_dataset(<dir>, <config>)`` resolves the *first* listed config's files before the requested one
  (``datasets.load.LocalDatasetModuleFactory.get_module``), so a partial snapshot cannot be loaded that way. Here the
  card is read for the requested config only, and its files are matched against the snapshot.
* A source may state its layout instead (``data_files``: a template over ``{config}`` and ``{split}``), e.g.
  FLORES+ ``{split}/{config}.parquet`` (``dev/<code>.parquet``, ``devtest/<code>.parquet``).
* The hub's parquet conversion branch (``hub_parquet``, ``refs/convert/parquet``): ``<config>/<split>/NNNN.parquet``.
* The base model: its weights (safetensors), its tokenizer and ``config.json``.

Patterns follow the ``datasets`` data-files semantics (``*`` stays within one path segment, ``**`` crosses them);
``snapshot_download(allow_patterns=...)`` matches more loosely (``fnmatch``: ``*`` crosses ``/``), so what it fetches
is a superset of what a pattern selects here.
"""

from __future__ import annotations

import re
from functools import cache

import yaml

from xstilts.sources.registry import Request, SourceError

README = "README.md"
PARQUET_BRANCH = "refs/convert/parquet"

# the base model: each group needs one matching file; the optional ones are fetched when present
MODEL_REQUIRED = {
    "config": ("config.json",),
    "weights": ("model.safetensors", "model-*-of-*.safetensors"),  # safetensors only: no pickled weights are fetched
    "tokenizer": ("sentencepiece.bpe.model", "tokenizer.json"),
}
MODEL_OPTIONAL = ("tokenizer_config.json", "special_tokens_map.json", "model.safetensors.index.json")


def model_patterns() -> list[str]:
    return [p for group in MODEL_REQUIRED.values() for p in group] + list(MODEL_OPTIONAL)


def model_missing(paths: list[str]) -> list[str]:
    """The required model file groups without a match among ``paths`` (e.g. ``['weights (model.safetensors, ...)']``)."""
    return [f"{group} ({', '.join(pats)})" for group, pats in MODEL_REQUIRED.items() if not match(paths, list(pats))]


# ============================================================================================================
# glob matching (datasets' data-files semantics)
# ============================================================================================================


@cache
def _regex(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def match(paths, patterns: list[str]) -> list[str]:
    """The repository paths (``a/b.parquet``) matching any of ``patterns``, sorted."""
    regs = [_regex(p.lstrip("/")) for p in patterns]
    return sorted(p for p in paths if any(r.match(p) for r in regs))


# ============================================================================================================
# dataset cards
# ============================================================================================================


def card_configs(readme: str, where: str) -> dict[str, dict[str, list[str]]]:
    """The README's ``configs:`` block as {config name: {split: [path patterns]}}, in the card's order."""
    m = re.match(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", readme, re.S)
    meta = (yaml.safe_load(m.group(1)) if m else None) or {}
    out: dict[str, dict[str, list[str]]] = {}
    for entry in meta.get("configs") or []:
        if not isinstance(entry, dict) or "config_name" not in entry:
            continue
        name = str(entry["config_name"])
        files = entry.get("data_files")
        prefix = (entry.get("data_dir") or "").strip("/")
        if files is None:
            raise SourceError(f"{where}: config {name!r} of the dataset card names no data_files; set the source's "
                              "`data_files` (a template over {config} and {split})")
        if isinstance(files, (str, list)) and not (isinstance(files, list) and files and isinstance(files[0], dict)):
            files = [{"split": "train", "path": files}]  # datasets: a bare pattern (list) is the train split
        splits: dict[str, list[str]] = {}
        for f in files:
            paths = f["path"] if isinstance(f["path"], list) else [f["path"]]
            splits.setdefault(str(f["split"]), []).extend(f"{prefix}/{p}" if prefix else p for p in paths)
        out[name] = splits
    return out


def _card_config(configs: dict, config: str | None, where: str) -> tuple[str, dict[str, list[str]]]:
    if config is None:
        if len(configs) == 1:
            return next(iter(configs.items()))
        if "default" in configs:
            return "default", configs["default"]
        raise SourceError(f"{where}: the dataset card lists {len(configs)} configs and the source names none; set its `config`")
    if config not in configs:
        names = list(configs)
        raise SourceError(f"{where}: config {config!r} is not in the dataset card's configs ({len(names)}: "
                          f"{', '.join(names[:8])}{' ...' if len(names) > 8 else ''})")
    return config, configs[config]


def needs_card(spec: dict) -> bool:
    """Does the layout of this source come from its dataset card (rather than from the source or the kind)?"""
    return spec["kind"] == "hub_dataset" and not spec.get("data_files")


def patterns(spec: dict, request: Request, configs: dict | None, where: str) -> list[str]:
    """The path patterns of one config × split of a hub data source (``configs``: the card's, when it sets the
    layout)."""
    if spec.get("data_files"):
        template = spec["data_files"]
        try:
            return [template.format(config=request.config or "default", split=request.split)]
        except KeyError as e:
            raise SourceError(f"{where}: data_files {template!r} may use only {{config}} and {{split}}, not {e}") from None
    if spec["kind"] == "hub_parquet":
        return [f"{request.config or 'default'}/{request.split}/*.parquet"]
    if configs is None:
        raise SourceError(f"{where}: the snapshot has no {README} with a configs block to find the files of "
                          f"config {request.config!r}; set the source's `data_files`")
    name, splits = _card_config(configs, request.config, where)
    if request.split not in splits:
        raise SourceError(f"{where}: config {name!r} has no split {request.split!r} in the dataset card (splits: "
                          f"{sorted(splits)})")
    return splits[request.split]
