"""The bot (or another bot program) in its own process against the stand-in, as the
benchmarks and the process tests run it: ``python -m bot run`` with settings in its
environment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from bot_testing.server import BotAPIStub
from bot_testing.world import Sender

REPO = Path(__file__).resolve().parent.parent
BOT_COMMAND = [sys.executable, "-m", "bot", "run"]


def bot_environment(stub: BotAPIStub, **settings: object) -> dict[str, str]:
    """This environment, with the bot pointed at the stub and the given settings (named as in
    .env.example, lower case here: ``index_dir=...``); no webhook, no admins, warnings only."""
    return os.environ | {
        "TELEGRAM_BOT_TOKEN": stub.token,
        "TELEGRAM_API_URL": stub.base_url,
        "WEBHOOK_URL": "",
        "ADMIN_USER_IDS": "",
        "LOG_LEVEL": "WARNING",
        "PTB_TIMEDELTA": "true",
    } | {name.upper(): str(value) for name, value in settings.items()}


@contextlib.asynccontextmanager
async def bot_process(command: list[str], env: dict[str, str], log: Path,
                      cwd: Path = REPO) -> AsyncIterator[asyncio.subprocess.Process]:
    """The bot running in its own process (in ``cwd``: this checkout unless another is
    given), its output appended to ``log``; stopped at the end with Ctrl-C as a person
    would, unless it has stopped already."""
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=output, stderr=output)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), timeout=15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def polling_started(stub: BotAPIStub, starts_before: int = 0,
                          timeout: float = 60.0) -> None:
    """Return once the bot has started polling (it calls deleteWebhook first), after
    ``starts_before`` earlier starts against the same stub."""
    async with asyncio.timeout(timeout):
        while len(stub.calls_of("deleteWebhook")) <= starts_before:
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)


async def kill_during_burst(stub: BotAPIStub, process: asyncio.subprocess.Process,
                            questions: Sequence[str], users: range, replies_before_kill: int,
                            timeout: float) -> None:
    """Once the bot polls, one question from each of ``users`` (in turn through
    ``questions``); after ``replies_before_kill`` replies, kill -9 and wait for the end."""
    await polling_started(stub)
    for user in users:
        stub.push_text(questions[user % len(questions)], sender=Sender(user))
    await stub.wait_for("sendMessage", replies_before_kill, timeout=timeout)
    process.kill()
    await process.wait()
