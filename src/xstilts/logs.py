"""Script-side logging: a Snakemake job's log file receives its logging records, stdout and stderr."""

from __future__ import annotations

import logging
import sys


def to_file(path: str) -> logging.Logger:
    """Send everything the job writes to ``path``; returns the adapter's logger. Warnings are logged, not silenced
    (``logging.captureWarnings``): a deprecation in the log is a thing to fix, not to hide."""
    fh = open(path, "w", buffering=1, encoding="utf-8")
    sys.stdout = fh
    sys.stderr = fh
    logging.basicConfig(stream=fh, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.captureWarnings(True)
    return logging.getLogger("xstilts.job")
