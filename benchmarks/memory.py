"""Memory against the number of users: the real bot process (`python -m bot run`) against
the Bot API stand-in, distinct users each asking one question and voting on the answer, and
the bot's resident memory (RSS, Linux's /proc) after each step.

    python -m benchmarks.memory [--steps 1000 5000 10000 20000] [--embeddings on] [--save]

Three questions in four are answered with more excerpts than shown (the chat keeps the
answer for its "more" button) and voted on; the fourth is declined, each one different (the
unanswered questions kept for /stats). The goal: RSS flat within 20% from 1,000 to 20,000
users. Sentence embeddings are off unless asked for: the bot is then smallest, so a growth
shows most. `--checkout DIR` runs the bot of another checkout, to compare with an older one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.report import machine, markdown_table
from bot_testing import BotAPIStub, Sender
from bot_testing.process import BOT_COMMAND, REPO, bot_environment, bot_process, polling_started

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
STEPS = (1000, 5000, 10000, 20000)
CHUNK = 500  # users asking at once
FIRST_USER = 100_000
ANSWERED = ("données de santé piratage tiers payant optique",
            "comment porter plainte ?",
            "quelles données ont été volées ?")
RESULTS = Path("docs/benchmarks/memory.json")


def question(n: int) -> str:
    """The n-th user's question: an answered one, or every fourth a declined one of its own
    (numbers would be redacted into one question: letters are not)."""
    if n % 4:
        return ANSWERED[n % len(ANSWERED)]
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters += chr(ord("a") + digit)
        if not n:
            return f"ma recette secrète zorglub {letters} ?"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS: this benchmark reads Linux's /proc")


async def until(done: Callable[[], bool], timeout: float = 120.0) -> None:
    async with asyncio.timeout(timeout):
        while not done():
            await asyncio.sleep(0.02)


def replies_since(stub: BotAPIStub, seen: int) -> dict[int, dict]:
    """The messages the bot sent since the stand-in's `seen`-th call, by chat."""
    return {call.params["chat_id"]: call.result for call in stub.calls[seen:]
            if call.method == "sendMessage" and call.ok}


def has_vote_buttons(reply: dict) -> bool:
    rows = reply.get("reply_markup", {}).get("inline_keyboard", [])
    return any(button.get("callback_data") == "vote:up" for row in rows for button in row)


async def serve_users(stub: BotAPIStub, first: int, last: int) -> None:
    """Users first..last-1 each ask their question, then vote on the answer if it has 👍."""
    for start in range(first, last, CHUNK):
        users = range(start, min(start + CHUNK, last))
        seen = len(stub.calls)
        for n in users:
            stub.push_text(question(n), sender=Sender(FIRST_USER + n))
        await until(lambda: len(replies_since(stub, seen)) == len(users))  # noqa: B023
        voted = len(stub.calls_of("answerCallbackQuery", ok=True))
        for reply in replies_since(stub, seen).values():
            if has_vote_buttons(reply):
                stub.push_callback_query(reply, "vote:up")
                voted += 1
        await until(lambda: len(stub.calls_of("answerCallbackQuery", ok=True)) == voted)  # noqa: B023


async def run(steps: list[int], embeddings: str, checkout: Path) -> list[dict[str, float]]:
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        async with BotAPIStub(TOKEN) as stub:
            env = bot_environment(stub, corpus_dir=REPO / "corpus", index_dir=work / "index",
                                  database_path=work / "bot.sqlite3", embeddings=embeddings,
                                  telegram_messages_per_second=0)
            async with bot_process(BOT_COMMAND, env, work / "bot.log", checkout) as process:
                await polling_started(stub)
                started, served = time.monotonic(), 0
                for step in steps:
                    await serve_users(stub, served, step)
                    served = step
                    await asyncio.sleep(1)
                    figures.append({"users": step, "rss_mb": rss_mb(process.pid),
                                    "seconds": time.monotonic() - started})
                    print(row(figures), flush=True)
            problems = [line for line in (work / "bot.log").read_text().splitlines()
                        if " ERROR " in line]
            if problems:
                print(f"{len(problems)} errors logged by the bot, the first: {problems[0]}")
    return figures


def row(figures: list[dict[str, float]]) -> str:
    last, first = figures[-1], figures[0]
    growth = last["rss_mb"] / first["rss_mb"] - 1
    return (f"{last['users']:6,.0f} users  RSS {last['rss_mb']:7.1f} MB  "
            f"{growth:+6.1%} from {first['users']:,.0f} users  ({last['seconds']:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=list(STEPS))
    parser.add_argument("--embeddings", choices=("on", "off"), default="off")
    parser.add_argument("--checkout", type=Path, default=REPO,
                        help="run the bot of this checkout (default: this one)")
    parser.add_argument("--save", action="store_true", help=f"write the figures to {RESULTS}")
    args = parser.parse_args()
    figures = asyncio.run(run(sorted(args.steps), args.embeddings, args.checkout.resolve()))
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"machine": machine(), "embeddings": args.embeddings,
                                       "steps": figures}, indent=1) + "\n")
        print(markdown_table(["users", "RSS MB", "seconds"],
                             [[f["users"], f["rss_mb"], f["seconds"]] for f in figures]))


if __name__ == "__main__":
    main()
