"""The bot as its own process (`python -m bot run`) against the stand-in: killed with
kill -9 in the middle of a burst, it loses no question once started again; a database it
cannot use stops it at start with one clear line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from bot.store import SCHEMA_VERSION, Store
from bot_testing import BotAPIStub
from bot_testing.process import (
    BOT_COMMAND,
    REPO,
    bot_environment,
    bot_process,
    kill_during_burst,
)

pytestmark = pytest.mark.asyncio

QUESTIONS = ["comment porter plainte ?", "quelles données ont été volées ?",
             "ma recette secrète zorglub ?", "How do I file a complaint?"]
BURST = 60
FIRST_USER = 5000
KILLED_AFTER = 10  # replies: the bot is killed a few replies into the burst


def environment(stub: BotAPIStub, tmp_path: Path) -> dict[str, str]:
    return bot_environment(stub, corpus_dir=REPO / "corpus", index_dir=tmp_path / "index",
                           database_path=tmp_path / "data" / "bot.sqlite3",
                           telegram_messages_per_second=0, embeddings="off")


def replies_by_chat(stub: BotAPIStub) -> Counter[int]:
    return Counter(call.params["chat_id"] for call in stub.calls_of("sendMessage", ok=True))


def unhandled_chats(database: Path, copy: Path) -> set[int]:
    """The chats of the updates the inbox holds, read from a copy (reading the inbox counts
    as a start)."""
    copy.mkdir()
    for file in database.parent.glob(database.name + "*"):
        shutil.copy(file, copy / file.name)
    store = Store(copy / database.name)
    store.open()
    payloads = store.take_unhandled().retried
    store.close()
    return {json.loads(payload)["message"]["chat"]["id"] for payload in payloads}


async def test_a_bot_killed_mid_burst_loses_no_question_and_repeats_only_replies_in_flight(
    stub: BotAPIStub, tmp_path: Path
) -> None:
    env, log = environment(stub, tmp_path), tmp_path / "bot.log"
    users = range(FIRST_USER, FIRST_USER + BURST)
    async with bot_process(BOT_COMMAND, env, log) as process:
        await kill_during_burst(stub, process, QUESTIONS, users, KILLED_AFTER, timeout=30)
    before = replies_by_chat(stub)
    assert sum(before.values()) < BURST, "the burst was over before the kill"
    in_flight = unhandled_chats(Path(env["DATABASE_PATH"]), tmp_path / "copy")
    # Replied to, but not yet marked handled when the process died.
    replied_in_flight = in_flight & set(before)

    async with bot_process(BOT_COMMAND, env, log):
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                while set(replies_by_chat(stub)) != set(users):
                    await asyncio.sleep(0.05)
    after = replies_by_chat(stub)  # the bot stopped as a person stops it: all handled
    lost = set(users) - set(after)
    assert not lost, f"{len(lost)} of {BURST} questions lost"
    duplicated = {chat for chat, count in after.items() if count > 1}
    assert duplicated <= replied_in_flight, log.read_text()
    assert max(after.values()) <= 2
    assert "Traceback" not in log.read_text(), log.read_text()


async def test_a_database_of_a_newer_bot_stops_the_start_with_one_clear_line(
    stub: BotAPIStub, tmp_path: Path
) -> None:
    env, log = environment(stub, tmp_path), tmp_path / "bot.log"
    database = Path(env["DATABASE_PATH"])
    database.parent.mkdir()
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA user_version = 7")
    async with bot_process(BOT_COMMAND, env, log) as process:
        assert await asyncio.wait_for(process.wait(), timeout=60) == 2
    [line] = log.read_text().splitlines()
    assert line.endswith(f"ERROR bot.telegram.app: the database {database} (DATABASE_PATH) "
                         f"has schema version 7, newer than this bot's {SCHEMA_VERSION}: run a "
                         "newer bot, or set another DATABASE_PATH")
    assert stub.calls_of("getUpdates") == []
