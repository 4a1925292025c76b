"""Which study a results tree belongs to, so that a run never touches another study's results.

Every run stamps its results root with the identity of its config (``study`` and ``source``;
:class:`xstilts.plan.StudyIdentity`) before its first job (``results/study.json``, written by the Snakefile's
``onstart``). Every later run, dry runs and reports included, compares its own config with the stamp while the
workflow is parsed, i.e. before Snakemake schedules, deletes or writes anything: a forgotten ``--configfile`` (the
real config in a demo directory, or the demo's in a directory holding a downloaded XLM-R Large) stops with both
identities and the fix, instead of deleting the other study's models to rebuild them.

Why a stamp and not a results root per study: the README, the report and the users' own scripts name
``results/...`` paths, and one study per working directory is how Snakemake projects are run; the stamp keeps that
and makes the mistake impossible instead of making paths longer.

``python -m xstilts.study show`` prints the stamp; ``python -m xstilts.study claim --configfile F`` stamps a results
tree that has none (one made before stamps existed) for the study of config ``F``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

from xstilts.config import ConfigError
from xstilts.io import atomic_write_json
from xstilts.plan import LAYOUT, Layout, StudyIdentity


class StudyMismatch(ConfigError):
    """The results tree belongs to another study (the message names both and the fix)."""


def recorded(layout: Layout = LAYOUT) -> dict | None:
    """The stamp of the results tree, or None when there is none."""
    p = Path(layout.study)
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise StudyMismatch(f"{p}: unreadable study stamp ({e}); check it, or move {layout.root}/ away") from e


def _has_results(layout: Layout) -> bool:
    root = Path(layout.root)
    return root.is_dir() and any(p.is_file() for p in root.rglob("*"))


def _fix(identity: StudyIdentity, stamp: dict, layout: Layout) -> str:
    configs = stamp.get("configfiles") or []
    how = f"--configfile {configs[0]}" if configs else "the config that produced it"
    return (f"Nothing was run. To continue that study, run with {how}. To run study {identity.study!r}, use another "
            f"working directory (snakemake --directory DIR ...) or move {layout.root}/ away first.")


def check_results(identity: StudyIdentity, layout: Layout = LAYOUT) -> None:
    """Stop (:class:`StudyMismatch`) when the results tree belongs to another study or to no recorded study."""
    stamp = recorded(layout)
    if stamp is None:
        if _has_results(layout):
            raise StudyMismatch(
                f"{layout.root}/ holds results but no study stamp ({layout.study}), so it cannot be told whether they "
                f"belong to this run's study {identity.study!r} (source {identity.source}). Nothing was run. If they do, "
                f"stamp them: python -m xstilts.study claim --configfile <this run's config>; otherwise use another "
                f"working directory (snakemake --directory DIR ...) or move {layout.root}/ away.")
        return
    mine = identity.as_dict()
    theirs = {k: stamp.get(k) for k in mine}
    if theirs != mine:
        raise StudyMismatch(
            f"{layout.root}/ belongs to study {theirs['study']!r} (source {theirs['source']}; {layout.study}), but this "
            f"run's config is study {mine['study']!r} (source {mine['source']}) -- a forgotten or wrong --configfile? "
            + _fix(identity, stamp, layout))


def claim_results(identity: StudyIdentity, configfiles: Sequence[str | os.PathLike] = (), layout: Layout = LAYOUT, *,
                  adopt: bool = False) -> dict:
    """Stamp the results tree for ``identity`` (once; an existing stamp must match, see :func:`check_results`).
    ``adopt``: stamp results that have no stamp yet (the ``claim`` command: the user says whose they are)."""
    stamp = recorded(layout)
    if stamp is not None or not adopt:
        check_results(identity, layout)
    if stamp is not None:
        return stamp
    stamp = {**identity.as_dict(), "configfiles": [str(c) for c in configfiles]}
    atomic_write_json(stamp, layout.study)
    return stamp


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m xstilts.study", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("show", help="print the study stamp of results/")
    c = sub.add_parser("claim", help="stamp an unstamped results/ for the study of --configfile")
    c.add_argument("--configfile", required=True)
    a = ap.parse_args(argv)
    if a.cmd == "show":
        stamp = recorded()
        print(json.dumps(stamp, indent=1) if stamp else f"{LAYOUT.study}: no stamp")
        return 0
    import yaml

    from xstilts.plan import load_plan

    plan = load_plan(yaml.safe_load(Path(a.configfile).read_text()))
    stamp = recorded()
    if stamp is not None:
        check_results(plan.identity)
        print(f"{LAYOUT.study} already names study {stamp['study']!r}")
        return 0
    print(json.dumps(claim_results(plan.identity, [a.configfile], adopt=True), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
