"""Disk faults for tests and benchmarks: an SQLite page overwritten, as a failing disk would."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def damage_page_of(path: Path, table: str) -> None:
    """Overwrite the first page of a table of the SQLite database at `path` with garbage."""
    with sqlite3.connect(path) as db:
        page = db.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?",
                          (table,)).fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as file:
        file.seek((page - 1) * size)
        file.write(bytes(range(256)) * (size // 256))
