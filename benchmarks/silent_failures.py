"""The reproductions of the "silent failures" probing, each against the real bot process and
the Bot API stand-in (or, for the export, the real functions): one row each in
benchmarks/reliability.py's table. A probe counts questions lost, answered twice, and silent
stalls (the process alive, no answer, nothing logged).

    .venv/bin/python -m benchmarks.reliability --only silent
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from benchmarks.telegram_load import BOT, TOKEN, environment
from bot.answer import Answer
from bot.store import unanswered_question
from bot.telegram.admins import unanswered_csv
from bot_testing import BotAPIStub, Sender
from bot_testing.disk import damage_page_of
from bot_testing.process import REPO, bot_process, polling_started

SSN = "1 85 05 78 006 084 36"
QUESTION = "comment porter plainte ?"
LIMIT = 20  # MESSAGES_PER_MINUTE's default, which these runs keep
WEBHOOK_SECRET = "benchmark-webhook-secret"


def replies(stub: BotAPIStub) -> Counter[int]:
    return Counter(call.params["chat_id"] for call in stub.calls_of("sendMessage", ok=True))


async def answered(stub: BotAPIStub, count: int, timeout: float = 60) -> bool:
    """Whether `count` replies came within `timeout` seconds."""
    try:
        await stub.wait_for("sendMessage", count, timeout=timeout)
    except AssertionError:
        return False
    return True


@contextlib.asynccontextmanager
async def running(stub: BotAPIStub, index_dir: Path, database: Path, log: Path,
                  **settings: str) -> AsyncIterator[asyncio.subprocess.Process]:
    env = environment(stub, index_dir, 0, database) | {"EMBEDDINGS": "off"} | {
        name.upper(): value for name, value in settings.items()}
    async with bot_process(BOT[1], env, log) as process:
        await polling_started(stub, starts_before=len(stub.calls_of("deleteWebhook")))
        yield process


def row(probe: str, inputs: int, result: str, lost: int = 0, duplicated: int = 0,
        stalled: int = 0) -> dict[str, object]:
    return {"probe": probe, "inputs": inputs, "result": result, "lost": lost,
            "duplicated": duplicated, "crashed": stalled}


def bypassed(log: Path) -> str:
    """What the log says of updates answered without the inbox."""
    text = log.read_text()
    return (f"{text.count('answered without the inbox')} lines on updates answered without "
            f"the inbox, {text.count('can be written again')} on the store back")


def tally(stub: BotAPIStub, users: list[int]) -> tuple[int, int]:
    """Questions lost and duplicated, one question a user."""
    got = replies(stub)
    return sum(1 for u in users if not got[u]), sum(max(0, got[u] - 1) for u in users)


async def write_lock_held(index_dir: Path, work: Path) -> dict[str, object]:
    """Another program holds the database's write lock 7 s while 10 questions come; 3 more
    after. It used to stop polling for good."""
    database, log = work / "lock" / "bot.sqlite3", work / "lock.log"
    async with BotAPIStub(TOKEN) as stub, running(stub, index_dir, database, log):
        stub.push_text(QUESTION, sender=Sender(1))
        await answered(stub, 1)
        holder = sqlite3.connect(database)
        holder.execute("BEGIN IMMEDIATE")
        users = list(range(100, 110))
        for user in users:
            stub.push_text(QUESTION, sender=Sender(user))
        await asyncio.sleep(7)
        holder.rollback()
        holder.close()
        users += [200, 201, 202]
        for user in users[-3:]:
            stub.push_text(QUESTION, sender=Sender(user))
        stalled = not await answered(stub, 14, timeout=60)
        await asyncio.sleep(1)
        lost, duplicated = tally(stub, users)
    return row("write lock held 7 s by another program (10 questions during it, 3 after)",
               13, f"{13 - lost} answered; {bypassed(log)}", lost, duplicated, int(stalled))


async def full_disk(index_dir: Path, work: Path) -> dict[str, object]:
    """The database on a 2 MB tmpfs, filled after one answer: 10 questions, space freed,
    3 more."""
    mount = work / "tmpfs"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                      capture_output=True, check=False).returncode:
        return row("database on a full 2 MB tmpfs", 0, "not run: mount refused")
    try:
        async with BotAPIStub(TOKEN) as stub, running(stub, index_dir, mount / "bot.sqlite3",
                                                      work / "disk.log"):
            stub.push_text(QUESTION, sender=Sender(1))
            await answered(stub, 1)
            filler = mount / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as file:
                while True:
                    file.write(b"\0" * 65536)
                    file.flush()
            users = list(range(100, 110))
            for user in users:
                stub.push_text(QUESTION, sender=Sender(user))
            during = await answered(stub, 11, timeout=60)
            filler.unlink()
            users += [200, 201, 202]
            for user in users[-3:]:
                stub.push_text(QUESTION, sender=Sender(user))
            stalled = not (during and await answered(stub, 14, timeout=60))
            await asyncio.sleep(1)
            lost, duplicated = tally(stub, users)
    finally:
        subprocess.run(["umount", str(mount)], check=False)
    return row("database on a 2 MB tmpfs filled after one answer (10 questions, space freed, "
               "3 more)", 13, f"{13 - lost} answered; {bypassed(work / 'disk.log')}", lost,
               duplicated, int(stalled))


async def damaged_pages(index_dir: Path, work: Path) -> dict[str, object]:
    """The counts, inbox or handled page overwritten between two runs."""
    outcomes, lost = [], 0
    for table in ("counts", "inbox", "handled"):
        database, log = work / f"damaged-{table}" / "bot.sqlite3", work / f"{table}.log"
        async with BotAPIStub(TOKEN) as stub:
            async with running(stub, index_dir, database, log):
                stub.push_text(QUESTION, sender=Sender(1))
                await answered(stub, 1)
            damage_page_of(database, table)
            async with running(stub, index_dir, database, log):
                for user in (2, 3, 4):
                    stub.push_text(QUESTION, sender=Sender(user))
                await answered(stub, 4, timeout=30)
                lost += tally(stub, [2, 3, 4])[0]
        moved = any(database.parent.glob("bot.sqlite3.corrupt-*"))
        outcomes.append(f"{table}: {'moved aside' if moved else 'kept'}")
    return row("counts, inbox or handled page damaged between runs (3 questions after each)",
               9, "; ".join(outcomes) + f"; {9 - lost} answered", lost)


async def reused_update_ids(index_dir: Path, work: Path) -> dict[str, object]:
    """A self-hosted Bot API server restarted (or a new token): 5 questions, then 5 more under
    the same update ids, on the same database."""
    database, users = work / "ids" / "bot.sqlite3", list(range(1, 11))
    lost = duplicated = 0
    for first in (1, 6):
        async with BotAPIStub(TOKEN) as stub, running(stub, index_dir, database,
                                                      work / "ids.log"):
            for user in range(first, first + 5):
                stub.push_text(QUESTION, sender=Sender(user))
            await answered(stub, 5, timeout=30)
            await asyncio.sleep(1)
            found = tally(stub, users[first - 1:first + 4])
            lost, duplicated = lost + found[0], duplicated + found[1]
    return row("5 questions, then 5 more under the same update ids (a Bot API server "
               "restarted)", 10, f"{10 - lost} answered", lost, duplicated)


async def second_process(index_dir: Path, work: Path) -> dict[str, object]:
    """A second start on the same database while the first runs, then 100 questions."""
    database, log = work / "two" / "bot.sqlite3", work / "two.log"
    async with BotAPIStub(TOKEN) as stub, running(stub, index_dir, database, log):
        env = environment(stub, index_dir, 0, database) | {"EMBEDDINGS": "off"}
        second = await asyncio.create_subprocess_exec(
            *BOT[1], cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        _, error = await asyncio.wait_for(second.communicate(), 120)
        users = list(range(1000, 1100))
        for user in users:
            stub.push_text(QUESTION, sender=Sender(user))
        await answered(stub, 100)
        await asyncio.sleep(1)
        lost, duplicated = tally(stub, users)
    refused = second.returncode == 2 and b"is in use by another process" in error
    return row("a second process started on the same database, then 100 questions", 100,
               f"second start {'refused with one line' if refused else 'NOT refused'} "
               f"(exit {second.returncode}); {100 - lost} answered", lost, duplicated)


async def handled_texts_on_disk(index_dir: Path, work: Path) -> dict[str, object]:
    """25 questions holding a social security number, answered, then kill -9."""
    database = work / "wal" / "bot.sqlite3"
    async with BotAPIStub(TOKEN) as stub, running(stub, index_dir, database,
                                                  work / "wal.log") as process:
        for user in range(1, 26):
            stub.push_text(f"{SSN} {QUESTION}", sender=Sender(user))
        await answered(stub, 25)
        await asyncio.sleep(1)
        process.kill()
        await process.wait()
    files = list(database.parent.glob(database.name + "*"))
    copies = sum(path.read_bytes().count(SSN.encode()) for path in files)
    return row("25 questions with a social security number, answered, kill -9", 25,
               f"{copies} copies of the number in {len(files)} database files")


async def limit_bypasses(index_dir: Path, work: Path) -> dict[str, object]:
    """40 stickers, 40 /start, 40 unknown commands, 40 channel posts, 40 anonymous admin
    messages in one group (another group's anonymous admin asks 3)."""
    async with BotAPIStub(TOKEN) as stub, running(stub, index_dir, work / "lim" / "b.sqlite3",
                                                  work / "limit.log"):
        for _ in range(40):
            stub.push_sticker(sender=Sender(1))
            stub.push_text("/start", sender=Sender(2))
            stub.push_text("/zorglub", sender=Sender(3))
            stub.push_anonymous_text("@stub_test_bot plainte ?", chat_id=-1001, channel=True)
            stub.push_anonymous_text("@stub_test_bot plainte ?", chat_id=-1002)
        for _ in range(3):
            stub.push_anonymous_text("@stub_test_bot plainte ?", chat_id=-1003)
        await answered(stub, 5 * (LIMIT + 1) + 3, timeout=60)
        await asyncio.sleep(2)
        got = replies(stub)
    most = max(got[chat] for chat in (1, 2, 3, -1001, -1002))
    return row("40 stickers, /start, unknown commands, channel posts, anonymous admin "
               "messages each (another group's admin asks 3)", 203,
               f"at most {most} replies a sender (limit {LIMIT} + one slow-down); the other "
               f"group answered {got[-1003]} of 3", lost=3 - got[-1003])


async def newcomer_in_a_flood(index_dir: Path, work: Path, users: int, each: int,
                              rate: float) -> dict[str, object]:
    """`users` users send `each` questions at `rate` a second; a newcomer asks two thirds of
    the way in: seconds until its answer."""
    async with BotAPIStub(TOKEN) as stub, running(stub, index_dir, work / "fl" / "b.sqlite3",
                                                  work / "flood.log",
                                                  telegram_messages_per_second="30"):
        total, newcomer, asked_at = users * each, 10**9, 0.0
        for n in range(total):
            stub.push_text(QUESTION, sender=Sender(1 + n % users))
            if n == 2 * total // 3:
                stub.push_text(QUESTION, sender=Sender(newcomer))
                asked_at = time.monotonic()
            await asyncio.sleep(1 / rate)
        [reply] = await stub.wait_for("sendMessage", 1, timeout=600,
                                      predicate=lambda call: call.params["chat_id"] == newcomer)
        waited = reply.at - asked_at
        got = replies(stub)
    limited = sum(1 for u in range(1, users + 1) if got[u] < each)
    return row(f"{users} users x {each} questions at {rate:g}/s, a newcomer two thirds in",
               total + 1, f"newcomer answered in {waited:.1f} s (150.7 s before); "
               f"{limited} users limited")


def big_document(size: int) -> bytes:
    """A Markdown document of about `size` bytes, of distinct paragraphs in the corpus's
    words: each one a passage to embed. Each run's paragraphs are new (a mark of the run in
    each), so that none is in the embedding cache of an earlier run."""
    words = " ".join(path.read_text() for path in sorted((REPO / "corpus").glob("*.md"))).split()
    paragraphs, total, n, run = ["# Rapport d'essai"], 0, 0, time.time_ns()
    while total < size:
        paragraph = (f"Paragraphe {n} de l'essai {run} : "
                     + " ".join(words[(n * 37) % len(words):][:60]) + ".")
        paragraphs.append(paragraph)
        total, n = total + len(paragraph.encode()) + 2, n + 1
    return "\n\n".join(paragraphs).encode()


def passages_of(done: str) -> str:
    """The passage count a rebuild's message gives ("… 6 documents, 2713 passages, …")."""
    found = re.search(r"(\d+) passages", done)
    return found.group(1) if found else "?"


async def latency(stub: BotAPIStub, user: int) -> float:
    """Seconds from a question to its answer."""
    asked = time.monotonic()
    stub.push_text(QUESTION, sender=Sender(user))
    [reply] = await stub.wait_for("sendMessage", 1, timeout=600,
                                  predicate=lambda call: call.params["chat_id"] == user)
    return reply.at - asked


async def questions_during_a_big_upload(work: Path) -> dict[str, object]:
    """With embeddings on, an admin uploads a document just under the limit; questions asked
    while it is embedded, against before; then one of 925 kB (issue 11's), refused. Questions
    used to wait for the whole rebuild (158 s)."""
    corpus, admin = work / "upload-corpus", 77
    shutil.copytree(REPO / "corpus", corpus)
    async with BotAPIStub(TOKEN) as stub, running(
            stub, work / "upload-index", work / "up" / "b.sqlite3", work / "upload.log",
            embeddings="on", corpus_dir=str(corpus), admin_user_ids=str(admin)):
        before = [await latency(stub, 500 + n) for n in range(5)]
        stub.push_document("rapport.md", "text/markdown", big_document(490_000),
                           sender=Sender(admin))
        started, during = time.monotonic(), []
        done = asyncio.create_task(stub.wait_for(
            "sendMessage", 1, timeout=900,
            predicate=lambda c: c.params["chat_id"] == admin and "passages, " in c.params["text"]))
        user = 600
        while not done.done():
            await asyncio.sleep(1)
            during.append(await latency(stub, user))
            user += 1
        [finished] = await done
        rebuild = time.monotonic() - started
        progress = len(stub.calls_of("editMessageText", ok=True))
        stub.push_document("gros.md", "text/markdown", big_document(925_000),
                           sender=Sender(admin))
        [refusal] = await stub.wait_for("sendMessage", 1, timeout=60, predicate=lambda c: (
            c.params["chat_id"] == admin and "ko" in c.params["text"]))
    during.sort()
    return row("with embeddings, a 490 kB upload (questions every second during its "
               "rebuild), then a 925 kB one", len(before) + len(during) + 2,
               f"rebuild {rebuild:.0f} s ({passages_of(finished.params['text'])} passages), "
               f"{progress} progress edits; {len(during)} questions during it: median "
               f"{during[len(during) // 2]:.2f} s, slowest {during[-1]:.2f} s (before: "
               f"{max(before):.2f} s); 925 kB refused: \"{refusal.params['text']}\"")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def on_webhook(stub: BotAPIStub, index_dir: Path, database: Path, log: Path,
                     command: list[str] | None = None) -> AsyncIterator[tuple[int, int]]:
    """The bot process on a webhook at a free port: (its pid, the port)."""
    port = free_port()
    env = environment(stub, index_dir, 0, database) | {
        "EMBEDDINGS": "off", "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "WEBHOOK_SECRET": WEBHOOK_SECRET, "WEBHOOK_PORT": str(port), "LOG_LEVEL": "INFO"}
    async with bot_process(command or BOT[1], env, log) as process:
        async with asyncio.timeout(120):
            while stub.webhook_url is None:
                await asyncio.sleep(0.05)
        yield process.pid, port


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def big_post(port: int, megabytes: int) -> str:
    """A post without the secret announcing `megabytes` MB: the status line answered to its
    headers alone, then its body sent until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: {megabytes * 10**6}"
                 "\r\n\r\n".encode())
    try:
        status = (await asyncio.wait_for(reader.readline(), 10)).decode(errors="replace")
    except (OSError, TimeoutError):
        status = "no answer before the body"
    chunk = b"x" * 1_000_000
    with contextlib.suppress(OSError):
        for _ in range(megabytes):
            writer.write(chunk)
            await writer.drain()
    writer.close()
    return status.strip()


async def webhook_hostile(index_dir: Path, work: Path) -> dict[str, object]:
    """16 posts of 99 MB without the secret at once, then an update the library cannot read
    (a social security number in it) with the secret, then 3 questions through Telegram."""
    log = work / "webhook.log"
    async with BotAPIStub(TOKEN) as stub, on_webhook(stub, index_dir, work / "wh" / "b.sqlite3",
                                                     log) as (pid, port):
        before = rss_mb(pid)
        statuses = await asyncio.gather(*(big_post(port, 99) for _ in range(16)))
        peak = rss_mb(pid)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = json.dumps({"update_id": 99, "message": {"text": SSN}}).encode()
        writer.write(f"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                     f"X-Telegram-Bot-Api-Secret-Token: {WEBHOOK_SECRET}\r\n\r\n".encode()
                     + body)
        unreadable = (await reader.readline()).decode().strip()
        writer.close()
        for user in (1, 2, 3):
            stub.push_text(QUESTION, sender=Sender(user))
        await answered(stub, 3)
        lost, duplicated = tally(stub, [1, 2, 3])
    refused = sum("403" in status for status in statuses)
    leaked = log.read_text().count("85 05 78")
    return row("webhook: 16 posts of 99 MB without the secret, an unreadable update with "
               "it, 3 questions", 20,
               f"{refused}/16 answered 403 before their body; RSS {before:.0f} -> {peak:.0f} MB;"
               f" unreadable update answered '{unreadable[9:]}', {leaked} numbers in the log; "
               f"{3 - lost} of 3 answered", lost, duplicated)


async def webhook_without_descriptors(index_dir: Path, work: Path) -> dict[str, object]:
    """Under `prlimit --nofile=1024`, 1,100 connections that never finish their headers, for
    15 s, while Telegram posts 3 questions."""
    log = work / "fds.log"
    command = ["prlimit", "--nofile=1024:1024", *BOT[1]]
    async with BotAPIStub(TOKEN) as stub, on_webhook(stub, index_dir, work / "fd" / "b.sqlite3",
                                                     log, command):
        lines_before = len(log.read_text().splitlines())
        slow = []
        for _ in range(1100):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port_of(stub))
                writer.write(b"POST /hook HTTP/1.1\r\nHost: x\r\n")
                slow.append(writer)
        for user in (1, 2, 3):
            stub.push_text(QUESTION, sender=Sender(user))
        await asyncio.sleep(15)
        await answered(stub, 3, timeout=30)
        lost, duplicated = tally(stub, [1, 2, 3])
        for writer in slow:
            writer.close()
    lines = len(log.read_text().splitlines()) - lines_before
    return row("webhook under a 1,024 descriptor limit: 1,100 connections stuck in their "
               "headers for 15 s, 3 questions", 3,
               f"{lines} log lines; {3 - lost} of 3 answered", lost, duplicated)


def port_of(stub: BotAPIStub) -> int:
    assert stub.webhook_url is not None
    return int(stub.webhook_url.rsplit(":", 1)[1].split("/")[0])


def export_injection() -> dict[str, object]:
    """Questions that are formulas, or hold names, through the store and the CSV export."""
    questions = ["zorglub ;=1+1", "=cmd|' /c calc'!a0", "@sum(1)", "x,+1", "a\t-2",
                 "mon voisin jean dupont a reçu un courrier", "Je suis Sophie Petit, et vous ?",
                 "ma mère, Mme Durand, est concernée", "cordialement, Paul Martin"]
    kept = [unanswered_question(Answer(q, "fr", "not_found")) for q in questions]
    text = unanswered_csv([(q, 1) for q in kept]).decode("utf-8-sig")
    formulas = sum(cell.lstrip().startswith(("=", "+", "-", "@"))
                   for delimiter in (",", ";")
                   for line in csv.reader(io.StringIO(text), delimiter=delimiter)
                   for cell in line[:1] + line[1:])
    names = sum(name in text.lower() for name in ("jean", "dupont", "sophie", "petit",
                                                  "durand", "paul", "martin"))
    return row("formula and name questions exported to CSV, read with ',' and ';'",
               len(questions), f"{formulas} formula cells, {names} names left")


async def run_silent(index_dir: Path, work: Path, flood: tuple[int, int, float]
                     ) -> list[dict[str, object]]:
    """Every probe, in turn, each printed as it ends."""
    probes: list[Callable[[], Awaitable[dict[str, object]]]] = [
        lambda: write_lock_held(index_dir, work), lambda: full_disk(index_dir, work),
        lambda: damaged_pages(index_dir, work), lambda: reused_update_ids(index_dir, work),
        lambda: second_process(index_dir, work), lambda: handled_texts_on_disk(index_dir, work),
        lambda: limit_bypasses(index_dir, work), lambda: webhook_hostile(index_dir, work),
        lambda: webhook_without_descriptors(index_dir, work),
        lambda: newcomer_in_a_flood(index_dir, work, *flood),
        lambda: questions_during_a_big_upload(work)]
    rows = []
    for probe in probes:
        started = time.monotonic()
        rows.append(await probe())
        print(f"{rows[-1]}  ({time.monotonic() - started:.0f} s)", flush=True)
    rows.append(export_injection())
    print(rows[-1], flush=True)
    return rows
