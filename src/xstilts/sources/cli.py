"""Command line: ``python -m xstilts.sources preflight|lock|check|verify [--config config/config.yaml]``.

``preflight`` is offline (pins, tokens, user directories); ``lock``, ``check`` and ``verify`` need network (the hub,
GitHub, the archive hosts). Run ``verify`` before any GPU hour: it lists, for every source at its pinned revision,
the files each config × split will fetch, and exits non-zero naming every source that is missing, moved or empty.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import yaml

from xstilts.sources.jobs import SourcePlan, preflight
from xstilts.sources.lock import check_lock, format_rows, lock, verify
from xstilts.sources.network import Remote
from xstilts.sources.registry import SourceError, Unreachable


def load_config(path: str | Path) -> dict:
    """The config as the workflow sees it (schema defaults, every check: ``xstilts.plan.load_plan``)."""
    from xstilts.plan import load_plan

    return dict(load_plan(yaml.safe_load(Path(path).read_text())).config)


def main(argv: list[str] | None = None, remote: Remote | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m xstilts.sources", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["preflight", "lock", "check", "verify"],
                    help="preflight: offline checks; lock: resolve and write pins; check: upstreams that changed since the "
                         "lock; verify: the files every config × split will fetch, at the pinned revisions")
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--update", action="store_true", help="lock: replace entries whose upstream changed")
    ap.add_argument("-v", "--verbose", action="store_true", help="log retries and progress")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.ERROR, format="%(message)s")
    cfg = load_config(a.config)
    path = cfg["sources_lock"]
    try:
        if a.command == "lock":
            rep = lock(cfg, path, remote=remote, update=a.update)
            for tag, lines in (("pinned  ", rep["added"]), ("CHANGED ", rep["changed"]), ("note    ", rep["notes"])):
                for line in lines:
                    print(tag, line)
            print(f"wrote {path}")
        elif a.command == "check":
            changed = check_lock(cfg, path, remote=remote)
            for line in changed:
                print("CHANGED", line)
            return 1 if changed else 0
        elif a.command == "verify":
            rows, problems = verify(cfg, remote=remote)
            print(format_rows(rows))
            if problems:
                keys = sorted({r["key"] for r in rows if r["problem"]})
                print(f"\nverify: {len(keys)} of {len({r['key'] for r in rows})} sources are missing, moved, empty or unpinned: "
                      f"{', '.join(keys)}")
                for p in problems:
                    print("  " + p)
                return 1
            print(f"\nverify: all {len({r['key'] for r in rows})} sources hold every requested config × split")
        else:
            plan = preflight(SourcePlan.from_config(cfg, warn=False))
            print(yaml.safe_dump(plan, sort_keys=True))
    except Unreachable as e:
        print(f"error: {e} -- `{a.command}` needs network (the hub, GitHub, the archive hosts)", file=sys.stderr)
        return 2
    except SourceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
