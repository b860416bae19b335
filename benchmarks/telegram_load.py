"""End to end: the real bot process under a burst of questions, beside an echo bot.

    python -m benchmarks.telegram_load [--questions 1000] [--users 200] [--save] [--flood-only]

The bot runs as `python -m bot run`, in its own process, against the Bot API stand-in of the
tests (bot_testing/) on 127.0.0.1, which runs in this process. A burst of questions
from many users is queued at once; the stand-in timestamps every reply. For each setting the
same burst goes to benchmarks/echo_bot.py, built with the same python-telegram-bot settings:
what python-telegram-bot and the stand-in can do at best. Each pair runs with Telegram's
rate cap (30 messages a second, the default) and with the cap lifted (what the process itself
can do), then again with 5% of sendMessage calls answered 429 or 502.

Cold start: seconds from process start to the first answer, with a saved index and without.

A flood: one user sends 300 questions at once, then 20 other users ask one each; how long the
others wait, beside the same 20 questions with no flood (--flood-only measures just this).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.report import machine, markdown_table, percentile_ms
from bot.config import MESSAGES_PER_MINUTE
from bot.index_store import save_index
from bot.indexer import build_index
from bot_testing import BotAPIStub, Sender
from bot_testing.process import BOT_COMMAND, REPO, bot_environment, bot_process, polling_started

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
BOT = ("bot", BOT_COMMAND)
ECHO = ("echo", [sys.executable, "-m", "benchmarks.echo_bot"])
TELEGRAM_CAP = 30.0
FAULT_RATE = 0.05
FAULT_SEED = 11
FIRST_USER = 100_000
QUIET_SECONDS = 20.0  # no reply for this long: the rest are lost
COLD_STARTS = 3
FLOOD_MESSAGES = 300
FLOOD_OTHERS = 20
RESULTS = Path("docs/benchmarks/telegram_load.json")
# What citizens ask, answered or not, French and English, with and without accents.
QUESTIONS = [
    "comment porter plainte ?",
    "how do I file a complaint",
    "quelles données ont été volées ?",
    "mon numero de securite sociale a t il fuite",
    "que faire si je suis concerné par la fuite viamedis ?",
    "What did the government do about the Almerys breach?",
    "la CNIL a-t-elle été saisie ?",
    "combien de personnes sont touchées",
    "est-ce que mes coordonnées bancaires sont compromises ?",
    "tiers payant opticiens blockchain",
    "qui a posé la question au gouvernement ?",
    "risque de phishing après la cyberattaque",
    "Is my insurer affected?",
    "quelle est la recette de la tarte tatin ?",
    "pourquoi les mutuelles n'ont pas protégé nos données",
    "when was the answer published",
]


@dataclass
class Burst:
    """One burst of questions to one bot in one setting."""

    bot: str
    cap: str
    faults: str
    questions: int
    delivered: int
    lost: int
    duplicated: int
    failed_sends: int
    seconds: float
    replies_per_s: float
    p50_ms: float
    p99_ms: float


@dataclass
class Flood:
    """Other users' waits while one user floods the bot (or with no flood)."""

    flood_messages: int
    flood_replies: int
    others: int
    others_p50_ms: float
    others_max_ms: float


def environment(stub: BotAPIStub, index_dir: Path, messages_per_second: float,
                database: Path) -> dict[str, str]:
    return bot_environment(stub, corpus_dir=REPO / "corpus", index_dir=index_dir,
                           database_path=database,
                           telegram_messages_per_second=messages_per_second)


async def all_replies(stub: BotAPIStub, expected: int) -> None:
    """Wait for `expected` replies, or until none has come for QUIET_SECONDS; then a little
    longer, so that duplicates have a chance to show."""
    seen, last_change = 0, time.monotonic()
    while time.monotonic() - last_change < QUIET_SECONDS:
        delivered = len(stub.calls_of("sendMessage", ok=True))
        if delivered >= expected:
            await asyncio.sleep(2)
            return
        if delivered != seen:
            seen, last_change = delivered, time.monotonic()
        await asyncio.sleep(0.05)


async def burst(name: str, command: list[str], cap: float, fault_rate: float,
                questions: int, users: int, index_dir: Path, log: Path) -> Burst:
    async with BotAPIStub(TOKEN) as stub:
        env = environment(stub, index_dir, cap, fresh_database(log.parent))
        async with bot_process(command, env, log):
            await polling_started(stub)
            if fault_rate:
                stub.fail_randomly("sendMessage", fault_rate, (429, 502), seed=FAULT_SEED)
            started = time.monotonic()
            asked = push_burst(stub, questions, users, FIRST_USER)
            await all_replies(stub, questions)
        return tally(stub, name, cap, fault_rate, asked, started)


def push_burst(stub: BotAPIStub, questions: int, users: int,
               first_user: int) -> dict[int, list[float]]:
    """Queue `questions` citizen questions from `users` users in turn; when each was asked."""
    asked: dict[int, list[float]] = defaultdict(list)
    for n in range(questions):
        user = first_user + n % users
        stub.push_text(QUESTIONS[n % len(QUESTIONS)], sender=Sender(user))
        asked[user].append(time.monotonic())
    return asked


def tally(stub: BotAPIStub, name: str, cap: float, fault_rate: float,
          asked: dict[int, list[float]], started: float) -> Burst:
    """Replies matched to questions chat by chat, in order (a chat's updates are handled in
    order); a chat with fewer replies than questions lost some, with more got duplicates."""
    replied: dict[int, list[float]] = defaultdict(list)
    for call in stub.calls_of("sendMessage", ok=True):
        replied[call.params["chat_id"]].append(call.at)
    latencies, lost, duplicated = [], 0, 0
    for user, times in asked.items():
        answers = replied.get(user, [])
        latencies += [answer - question for question, answer in zip(times, answers, strict=False)]
        lost += max(0, len(times) - len(answers))
        duplicated += max(0, len(answers) - len(times))
    delivered = sum(map(len, replied.values()))
    last = max((t for times in replied.values() for t in times), default=started)
    seconds = last - started
    return Burst(
        bot=name, cap=f"{cap:g}/s" if cap else "none", faults=f"{fault_rate:.0%}",
        questions=sum(map(len, asked.values())), delivered=delivered, lost=lost,
        duplicated=duplicated, failed_sends=len(stub.calls_of("sendMessage", ok=False)),
        seconds=seconds, replies_per_s=delivered / seconds if seconds else 0.0,
        p50_ms=percentile_ms(latencies, 50) if latencies else 0.0,
        p99_ms=percentile_ms(latencies, 99) if latencies else 0.0,
    )


async def flood(messages: int, others: int, index_dir: Path, log: Path) -> Flood:
    """One user's `messages` questions queued at once, then one question from each of
    `others` users: how long the others wait for their answer, at Telegram's cap."""
    flooder, first_other = FIRST_USER, FIRST_USER + 1
    async with BotAPIStub(TOKEN) as stub:
        env = environment(stub, index_dir, TELEGRAM_CAP, fresh_database(log.parent))
        async with bot_process(BOT[1], env, log):
            await polling_started(stub)
            # The process's first question warms the embedding model up: asked beforehand.
            stub.push_text(QUESTIONS[0], sender=Sender(FIRST_USER - 1))
            await stub.wait_for("sendMessage", timeout=60)
            for n in range(messages):
                stub.push_text(QUESTIONS[n % len(QUESTIONS)], sender=Sender(flooder))
            asked = {}
            for n in range(others):
                stub.push_text(QUESTIONS[n % len(QUESTIONS)], sender=Sender(first_other + n))
                asked[first_other + n] = time.monotonic()
            answered = await stub.wait_for(
                "sendMessage", others, timeout=120,
                predicate=lambda call: call.params["chat_id"] in asked)
            await asyncio.sleep(2)  # the flood's last replies
        flood_replies = [call for call in stub.calls_of("sendMessage", ok=True)
                         if call.params["chat_id"] == flooder]
    waits = [call.at - asked[call.params["chat_id"]] for call in answered]
    return Flood(messages, len(flood_replies), others, percentile_ms(waits, 50),
                 max(waits) * 1000)


async def floods(index_dir: Path, log: Path) -> list[Flood]:
    results = []
    for messages in (0, FLOOD_MESSAGES):
        result = await flood(messages, FLOOD_OTHERS, index_dir, log)
        print(f"flood of {result.flood_messages:3d} ({result.flood_replies} replies): "
              f"{result.others} others wait p50 {result.others_p50_ms:7.1f} ms, "
              f"max {result.others_max_ms:7.1f} ms", flush=True)
        results.append(result)
    return results


def fresh_database(work: Path) -> Path:
    """A database of its own for each run: each stand-in numbers its updates from 1 again."""
    return Path(tempfile.mkdtemp(dir=work)) / "bot.sqlite3"


async def cold_start(command: list[str], index_dir: Path, log: Path) -> float:
    """Seconds from process start to the first answer, a question waiting already."""
    async with BotAPIStub(TOKEN) as stub:
        stub.push_text(QUESTIONS[0])
        started = time.monotonic()
        env = environment(stub, index_dir, TELEGRAM_CAP, fresh_database(log.parent))
        async with bot_process(command, env, log):
            [reply] = await stub.wait_for("sendMessage", timeout=120)
        return reply.at - started


async def cold_starts(work: Path, saved_index: Path, log: Path) -> dict[str, float]:
    """Median over a few starts: the bot with its saved index, with none, and the echo bot."""
    timings: dict[str, list[float]] = defaultdict(list)
    for attempt in range(COLD_STARTS):
        fresh = work / f"empty-index-{attempt}"
        timings["bot, saved index"].append(await cold_start(BOT[1], saved_index, log))
        timings["bot, no index"].append(await cold_start(BOT[1], fresh, log))
        timings["echo bot"].append(await cold_start(ECHO[1], fresh, log))
    return {name: statistics.median(times) for name, times in timings.items()}


async def run(questions: int, users: int, flood_only: bool
              ) -> tuple[list[Burst], dict[str, float], list[Flood]]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        saved_index = work / "index"
        save_index(build_index(REPO / "corpus"), saved_index)
        log = work / "bots.log"
        flooded = await floods(saved_index, log)
        if flood_only:
            return [], {}, flooded
        results = []
        for cap in (TELEGRAM_CAP, 0.0):
            for fault_rate in (0.0, FAULT_RATE):
                for name, command in (ECHO, BOT):
                    result = await burst(name, command, cap, fault_rate, questions, users,
                                         saved_index, log)
                    print(row(result), flush=True)
                    results.append(result)
        starts = await cold_starts(work, saved_index, log)
        # The bots' own errors; python-telegram-bot logs each unreadable 502 page as well.
        problems = [line for line in log.read_text().splitlines() if " ERROR bot" in line]
        if problems:
            print(f"{len(problems)} errors logged by the bot, the first: {problems[0]}")
    return results, starts, flooded


def row(b: Burst) -> str:
    return (f"{b.bot:5} cap {b.cap:5} faults {b.faults:3} | {b.delivered:5d}/{b.questions} "
            f"lost {b.lost} dup {b.duplicated} failed sends {b.failed_sends:3} | "
            f"{b.replies_per_s:7.1f} replies/s  p50 {b.p50_ms:8.1f} ms  p99 {b.p99_ms:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--save", action="store_true", help=f"write the figures to {RESULTS}")
    parser.add_argument("--flood-only", action="store_true",
                        help="only measure the other users' waits under a flood (not saved)")
    args = parser.parse_args()
    if args.questions > args.users * MESSAGES_PER_MINUTE:
        parser.error(f"the bot answers {MESSAGES_PER_MINUTE} messages a minute per user: "
                     f"give at least {-(-args.questions // MESSAGES_PER_MINUTE)} users")
    results, starts, flooded = asyncio.run(run(args.questions, args.users, args.flood_only))
    if args.flood_only:
        return
    for name, seconds in starts.items():
        print(f"cold start, {name}: {seconds:.2f} s (median of {COLD_STARTS})")
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(
            {"machine": machine(), "questions": args.questions, "users": args.users,
             "bursts": [asdict(b) for b in results], "cold_start_s": starts,
             "floods": [asdict(f) for f in flooded]}, indent=1) + "\n")
        print(markdown_table(
            ["bot", "rate cap", "faults", "delivered", "lost", "dup", "failed sends",
             "replies/s", "p50 ms", "p99 ms"],
            [[b.bot, b.cap, b.faults, f"{b.delivered}/{b.questions}", b.lost, b.duplicated,
              b.failed_sends, b.replies_per_s, b.p50_ms, b.p99_ms] for b in results]))


if __name__ == "__main__":
    main()
