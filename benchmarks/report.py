"""What every benchmark report shares: the machine it ran on and percentiles."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

import numpy as np


def machine() -> dict[str, object]:
    """The machine, the Python and the date, as the report states them."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def percentile_ms(seconds: np.ndarray | list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds), q) * 1000)


def markdown_table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table, numbers right-aligned, for docs/benchmarks.md."""
    align = ["---:" if isinstance(cell, int | float) else "---" for cell in rows[0]]
    lines = [headers, align, *[[_cell(c) for c in row] for row in rows]]
    return "\n".join("| " + " | ".join(map(str, line)) + " |" for line in lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    return str(value)
