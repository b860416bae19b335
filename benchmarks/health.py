"""How soon /readyz turns red, with the bot's own thresholds (no test shortcuts), and green
again: the real bot process polling the Bot API stand-in, HEALTH_PORT set.

    .venv/bin/python -m benchmarks.health

- a stalled poller: the stand-in holds every getUpdates 60 s;
- a store that cannot be written: another program holds the database's write lock.

Goal (docs/operations.md): red within 30 s of either.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.report import markdown_table
from benchmarks.silent_failures import QUESTION, answered, free_port, running
from benchmarks.telegram_load import TOKEN
from bot.index_store import save_index
from bot.indexer import build_index
from bot_testing import BotAPIStub, Sender
from bot_testing.process import REPO

STALL_SECONDS = 60.0


async def readiness(port: int) -> tuple[bool, dict[str, str]]:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
    return answer.status_code == 200, answer.json()["checks"]


async def seconds_until(port: int, ready: bool, limit: float = 120) -> tuple[float, str]:
    """Seconds until /readyz says `ready`, and what it said then."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        now_ready, checks = await readiness(port)
        if now_ready == ready:
            failing = "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
            return time.monotonic() - started, failing or "all ok"
        await asyncio.sleep(0.25)
    return float("inf"), "never"


async def stalled_poller(index_dir: Path, work: Path) -> list[object]:
    port = free_port()
    async with BotAPIStub(TOKEN) as stub, running(
            stub, index_dir, work / "poll" / "b.sqlite3", work / "poll.log",
            health_port=str(port)):
        stub.push_text(QUESTION, sender=Sender(1))
        await answered(stub, 1)
        await seconds_until(port, True)
        stub.delay_next("getUpdates", STALL_SECONDS, times=3)
        red, said = await seconds_until(port, False)
        green, _ = await seconds_until(port, True, limit=STALL_SECONDS + 30)
    return ["poller stalled (getUpdates held 60 s)", f"{red:.1f}", said,
            f"{green + red:.1f} (the held poll answered)"]


async def unwritable_store(index_dir: Path, work: Path) -> list[object]:
    port, database = free_port(), work / "lock" / "b.sqlite3"
    async with BotAPIStub(TOKEN) as stub, running(
            stub, index_dir, database, work / "lock.log", health_port=str(port)):
        await seconds_until(port, True)
        holder = sqlite3.connect(database)
        holder.execute("BEGIN IMMEDIATE")
        red, said = await seconds_until(port, False)
        holder.rollback()
        holder.close()
        green, _ = await seconds_until(port, True)
    return ["store write lock held by another program", f"{red:.1f}", said,
            f"{green:.1f} after the lock was let go"]


async def run() -> list[list[object]]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        index_dir = work / "index"
        save_index(build_index(REPO / "corpus", embeddings=False), index_dir)
        return [await stalled_poller(index_dir, work), await unwritable_store(index_dir, work)]


def main() -> int:
    rows = asyncio.run(run())
    print(markdown_table(["fault", "seconds until /readyz red", "what it said",
                          "seconds until green again"], rows))
    return 0 if all(float(str(row[1])) <= 30 for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
