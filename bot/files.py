"""Files written whole or not at all: a reader sees the old file or the new one, never half."""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write_atomically(folder: Path, name: str, write: Callable[[IO[Any]], object],
                     binary: bool = False) -> Path:
    """Write `folder/name` through `write` into a temporary file beside it, then rename it
    over the old one; on any error the temporary file goes and the old one stays."""
    target = folder / name
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as h:
            write(h)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def replace_file(folder: Path, name: str, data: bytes | None) -> Callable[[], None]:
    """Write `folder/name` atomically, or remove it when `data` is None; return what puts
    the file back as it was, for a change that a failed rebuild must undo."""
    target = folder / name
    before = target.read_bytes() if target.is_file() else None
    _put(folder, name, data)
    return functools.partial(_put, folder, name, before)


def _put(folder: Path, name: str, data: bytes | None) -> None:
    if data is None:
        (folder / name).unlink(missing_ok=True)
    else:
        write_atomically(folder, name, lambda handle: handle.write(data), binary=True)
