"""Canonical data of ``results/data``: where each table is defined and who writes it.

* the tables (columns, dtypes, normalisation, reader and writer): :mod:`xstilts.contracts`;
* the demo writes them from a seeded synthetic world: :mod:`xstilts.synthetic`;
* the real study writes them from pinned public sources (registry of kinds and formats, lock file, downloads,
  conversions): :mod:`xstilts.sources`.
"""

from xstilts.contracts import TABLES, read, write

__all__ = ["TABLES", "read", "write"]
