"""Script-side logging: send stdout/stderr of a Snakemake job to its log file."""

from __future__ import annotations

import logging
import sys


def to_file(path: str) -> None:
    fh = open(path, "w", buffering=1, encoding="utf-8")
    sys.stdout = fh
    sys.stderr = fh
    logging.basicConfig(stream=fh, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
