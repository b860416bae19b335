"""Faults and bad input, probed the way an operator and an attacker would: one table of what
was thrown at the bot and what came out (lost, duplicated, crashed), for docs/reliability.md.

    .venv/bin/python -m benchmarks.reliability [--lines 10000] [--messages 2000] [--save]

- fuzzed command-line questions: random text, emoji, control characters, invalid UTF-8,
  markup, huge lines, through one `python -m bot ask --json -` (BM25 alone, for speed);
- hostile corpus files, added as an admin's uploads are;
- fuzzed Telegram messages from many users to the real bot process, over the Bot API
  stand-in (bot_testing): texts, commands, stickers;
- a 1,000-question burst at Telegram's cap with 10% of sends failing (429 or 502) and some
  answered only after 6 s (a slow success must not be sent twice);
- kill -9 a few replies into a 500-question burst, then a restart (the durable inbox);
- the "silent failures" reproductions (benchmarks/silent_failures.py): a write lock held, a
  full disk, damaged pages, reused update ids, two processes, texts left on disk, ways round
  the per-sender limit, hostile webhook traffic, a flood and a newcomer, export injection.

The memory curve from 1,000 to 20,000 users is benchmarks/memory.py's.

Every input is drawn from a fixed seed, so two runs throw the same things.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.report import machine, markdown_table
from benchmarks.silent_failures import run_silent
from benchmarks.telegram_load import (
    BOT,
    QUESTIONS,
    REPO,
    TELEGRAM_CAP,
    TOKEN,
    all_replies,
    environment,
    fresh_database,
    push_burst,
    tally,
)
from bot.corpus import FileRefused, add_file, load_corpus
from bot.index_store import save_index
from bot.indexer import build_index
from bot_testing import BotAPIStub, Sender
from bot_testing.process import bot_process, kill_during_burst, polling_started

SEED = 2024
RESULTS = Path("docs/reliability/results.json")
FIRST_USER = 500_000
BURST_QUESTIONS, BURST_USERS = 1_000, 200
FAULT_RATE = 0.10
SLOW_SENDS, SLOW_SEND_SECONDS = 20, 6.0
KILLED_BURST, KILLED_AFTER = 500, 30
WORDS = ["plainte", "données", "viamedis", "almerys", "mutuelle", "CNIL", "fuite", "tiers",
         "payant", "how", "complaint", "stolen", "quand", "qui", "1 85 05 78 006 084 36",
         "<b>", "</i>", "*gras*", "_it_", "[lien](javascript:x)", "&amp;", "😀", "🔥🔥",
         "\u200b", "\u2028", "\u202e", "\x00", "\x1b[31m", "'; DROP TABLE x;--", "%s%n",
         "{0}", "${x}", "\\", "\"", "…", "ﬁ", "ǅ", "Ⅻ", "١٢٣", "日本語", "🏳️‍🌈"]


@dataclass
class Probe:
    """One kind of fault or bad input and what came of it."""

    probe: str
    inputs: int
    result: str
    lost: int
    duplicated: int
    crashed: int


def fuzzed_text(rng: random.Random) -> str:
    """A line a fuzzer would send: words, symbols, emoji, sometimes very long or empty."""
    shape = rng.random()
    if shape < 0.05:
        return ""
    if shape < 0.08:
        return rng.choice(WORDS) * rng.randint(500, 3000)
    if shape < 0.2:
        return "".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 80)))
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 15)))


def fuzzed_line(rng: random.Random) -> bytes:
    """A fuzzed line as bytes, one in twenty not valid UTF-8; never a line break inside."""
    data = fuzzed_text(rng).replace("\n", " ").replace("\r", " ").encode("utf-8", "replace")
    if rng.random() < 0.05:
        data += bytes(rng.choice([0xFF, 0xFE, 0xC3, 0x80, 0xED]) for _ in range(3))
    return data


def command_line_fuzz(lines: int) -> Probe:
    rng = random.Random(SEED)
    stdin = b"".join(fuzzed_line(rng) + b"\n" for _ in range(lines))
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"} | {
            "CORPUS_DIR": str(REPO / "corpus"), "INDEX_DIR": str(Path(folder) / "index"),
            "EMBEDDINGS": "off", "PYTHONIOENCODING": "ascii"}
        done = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "-"],
                              input=stdin, capture_output=True, env=env, timeout=3600)
    out = done.stdout.decode("utf-8").split("\n")[:-1]
    valid = sum(1 for line in out if _is_json_object(line))
    crashed = int(done.returncode != 0 or b"Traceback" in done.stderr)
    return Probe("fuzzed command-line questions (ask --json -)", lines,
                 f"{len(out)} JSON lines out, {valid} valid, exit {done.returncode}",
                 lost=max(0, lines - valid), duplicated=max(0, len(out) - lines),
                 crashed=crashed)


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict) and "\u2028" not in line
    except ValueError:
        return False


HOSTILE_FILES: list[tuple[str, bytes]] = [
    ("deep.md", b"---\ntitle: x\nz: " + b"[" * 25000 + b"]" * 25000 + b"\n---\n\nplainte.\n"),
    ("nested.md", b"---\ntitle: x\nz: " + b"{a: " * 60 + b"1" + b"}" * 60 + b"\n---\nplainte.\n"),
    ("date.md", b"---\ntitle: x\npublished: 2024-13-45\n---\n\nplainte.\n"),
    ("titledate.md", b"---\ntitle: 2024-02-30\n---\n\nplainte.\n"),
    ("numkey.md", b"---\ntitle: x\n1: x\n---\n\nplainte.\n"),
    ("list.md", b"---\n- a\n- b\n---\n\nplainte.\n"),
    ("scalar.md", b"---\njust text\n---\n\nplainte.\n"),
    ("open.md", b"---\ntitle: x\n\nplainte.\n"),
    ("typo.md", b"---\ntitle: x\nauteur: y\n---\n\nplainte.\n"),
    ("alias.md",
     b"---\na: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\ntitle: t\n---\nok.\n"),
    ("tag.md", b"---\ntitle: !!python/object/apply:os.system [echo pwned]\n---\nok.\n"),
    ("nul.md", b"\x00" * 5000),
    ("controls.md", bytes(range(32)) * 50),
    ("latin1.md", "Données à caractère personnel".encode("latin-1")),
    ("bom.md", b"\xef\xbb\xbf# Titre\n\nTexte avec BOM."),
    ("utf16.md", "# Titre\n\nTexte.".encode("utf-16")),
    ("empty.md", b""),
    ("spaces.md", b"   \n\n\t\n"),
    ("onlyfm.md", b"---\ntitle: x\n---\n"),
    ("huge.md", b"a" * 1_000_001),
    ("../evil.md", b"# x\n\ntexte"),
    ("..md", b"# x\n\ntexte"),
    ("/etc/passwd.md", b"# x\n\ntexte"),
    ("evil.md.exe", b"MZ"),
    ("CON.md", b"# x\n\nun texte correct"),
    ("x" * 200 + ".md", b"# x\n\ntexte"),
    ("url.md", b"---\ntitle: x\nurl: javascript:alert(1)\n---\ntexte.\n"),
    ("html.md", b"# <script>alert(1)</script>\n\n<img src=x onerror=alert(1)> texte."),
    ("copy.md", (REPO / "corpus" / "an-17-qe-484-delpech.md").read_bytes()),
    ("AN-17-QE-484-DELPECH.md", b"# Autre\n\nUn autre texte, de meme nom."),
]


def hostile_uploads() -> Probe:
    """Each file added to a copy of the corpus as an admin's upload is; then the corpus is
    indexed. Refusals are expected; anything else raised is a crash."""
    refused = accepted = crashed = 0
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        corpus.mkdir()
        for path in (REPO / "corpus").iterdir():
            (corpus / path.name).write_bytes(path.read_bytes())
        for name, data in HOSTILE_FILES:
            try:
                added = add_file(corpus, name, data)
                accepted += added.outcome in ("added", "replaced")
            except FileRefused:
                refused += 1
            except Exception:  # what the probe is looking for
                crashed += 1
        escaped = [p for p in Path(folder).rglob("*") if p.parent not in (corpus, Path(folder))]
        loaded = load_corpus(corpus)
        build_index(corpus, embeddings=False)
    return Probe("hostile admin uploads, then a rebuild", len(HOSTILE_FILES),
                 f"{refused} refused, {accepted} added, {len(loaded.documents)} documents "
                 f"indexed, {len(escaped)} files outside the corpus",
                 lost=0, duplicated=0, crashed=crashed + len(escaped))


def telegram_pushes(stub: BotAPIStub, rng: random.Random) -> list[Callable[[Sender], object]]:
    """What a fuzzing user can send, as stand-in calls."""
    return [
        lambda sender: stub.push_text(fuzzed_text(rng)[:4096] or "?", sender=sender),
        lambda sender: stub.push_text(fuzzed_text(rng)[:4096] or "?", sender=sender),
        lambda sender: stub.push_text(fuzzed_text(rng)[:4096] or "?", sender=sender),
        lambda sender: stub.push_text(f"/{rng.choice(['start', 'help', 'x', 'stats'])}",
                                      sender=sender),
        lambda sender: stub.push_sticker(sender=sender),
    ]


async def telegram_fuzz(messages: int, users: int, index_dir: Path, log: Path) -> Probe:
    """Fuzzed messages to the real bot process; each text or command deserves exactly one
    reply in a private chat, a sticker one too."""
    rng = random.Random(SEED)
    async with BotAPIStub(TOKEN) as stub:
        env = environment(stub, index_dir, 0, fresh_database(log.parent)) | {"EMBEDDINGS": "off"}
        async with bot_process(BOT[1], env, log):
            await polling_started(stub)
            pushes = telegram_pushes(stub, rng)
            asked: dict[int, int] = {}
            for n in range(messages):
                user = FIRST_USER + n % users
                rng.choice(pushes)(Sender(user))
                asked[user] = asked.get(user, 0) + 1
            await all_replies(stub, messages)
            alive = not stub.calls_of("close")
        replied: dict[int, int] = {}
        for call in stub.calls_of("sendMessage", ok=True):
            replied[call.params["chat_id"]] = replied.get(call.params["chat_id"], 0) + 1
    lost = sum(max(0, n - replied.get(u, 0)) for u, n in asked.items())
    duplicated = sum(max(0, replied.get(u, 0) - n) for u, n in asked.items())
    errors = sum(" ERROR bot" in line for line in log.read_text().splitlines())
    return Probe(f"fuzzed Telegram messages from {users} users", messages,
                 f"{sum(replied.values())} replies, {errors} errors logged",
                 lost=lost, duplicated=duplicated, crashed=int(not alive))


async def faulty_burst(questions: int, users: int, index_dir: Path, log: Path) -> Probe:
    """A burst at Telegram's cap while one send in ten fails (429 or 502) and some sends are
    answered only after 6 s: every question must get one answer, none twice."""
    async with BotAPIStub(TOKEN) as stub:
        env = environment(stub, index_dir, TELEGRAM_CAP, fresh_database(log.parent))
        async with bot_process(BOT[1], env, log):
            await polling_started(stub)
            stub.fail_randomly("sendMessage", FAULT_RATE, (429, 502), seed=SEED)
            stub.delay_next("sendMessage", SLOW_SEND_SECONDS, times=SLOW_SENDS)
            started = time.monotonic()
            asked = push_burst(stub, questions, users, FIRST_USER)
            await all_replies(stub, questions)
        result = tally(stub, "bot", TELEGRAM_CAP, FAULT_RATE, asked, started)
    unconfirmed = sum("it may have reached Telegram" in line
                      for line in log.read_text().splitlines())
    return Probe(f"burst from {users} users at the 30/s cap, {FAULT_RATE:.0%} 429/502, "
                 f"{SLOW_SENDS} sends answered after {SLOW_SEND_SECONDS:g} s", questions,
                 f"{result.delivered} delivered, {result.failed_sends} failed sends retried, "
                 f"{unconfirmed} unconfirmed sends, {result.replies_per_s:.1f} replies/s",
                 lost=result.lost, duplicated=result.duplicated, crashed=0)


async def killed_mid_burst(questions: int, index_dir: Path, log: Path) -> Probe:
    """kill -9 a few replies into a burst (one question a user), start again: every question
    must be answered; only replies sent but not yet marked handled may come twice."""
    async with BotAPIStub(TOKEN) as stub:
        env = environment(stub, index_dir, 0, fresh_database(log.parent)) | {"EMBEDDINGS": "off"}
        users = range(FIRST_USER, FIRST_USER + questions)
        async with bot_process(BOT[1], env, log) as process:
            await kill_during_burst(stub, process, QUESTIONS, users, KILLED_AFTER, timeout=60)
        before = len(stub.calls_of("sendMessage", ok=True))
        starts = len(stub.calls_of("deleteWebhook"))
        async with bot_process(BOT[1], env, log):
            await polling_started(stub, starts_before=starts)
            await all_replies(stub, questions + 20)  # until quiet: duplicates show too
        replied: dict[int, int] = defaultdict(int)
        for call in stub.calls_of("sendMessage", ok=True):
            replied[call.params["chat_id"]] += 1
    lost = sum(1 for user in users if not replied.get(user))
    duplicated = sum(max(0, n - 1) for n in replied.values())
    return Probe("kill -9 mid-burst, then a restart", questions,
                 f"killed after {before} replies; {len(replied)} users answered in all",
                 lost=lost, duplicated=duplicated, crashed=0)


async def run(lines: int, messages: int, users: int, only: str | None,
              flood: tuple[int, int, float]) -> list[Probe]:
    probes: list[Probe] = []
    if only in (None, "silent"):
        with tempfile.TemporaryDirectory() as folder:
            index_dir = Path(folder) / "index"
            save_index(build_index(REPO / "corpus", embeddings=False), index_dir)
            rows = await run_silent(index_dir, Path(folder), flood)
        probes += [Probe(**r) for r in rows]  # type: ignore[arg-type]
    if only == "silent":
        return probes
    for probe in (lambda: command_line_fuzz(lines), hostile_uploads):
        started = time.monotonic()
        probes.append(probe())
        print(f"{probes[-1]}  ({time.monotonic() - started:.0f} s)", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        index_dir, log = Path(folder) / "index", Path(folder) / "bot.log"
        save_index(build_index(REPO / "corpus", embeddings=False), index_dir)
        probes.append(await telegram_fuzz(messages, users, index_dir, log))
        print(probes[-1], flush=True)
        probes.append(await killed_mid_burst(KILLED_BURST, index_dir, log))
        print(probes[-1], flush=True)
        embedded = Path(folder) / "embedded-index"
        save_index(build_index(REPO / "corpus"), embedded)
        probes.append(await faulty_burst(BURST_QUESTIONS, BURST_USERS, embedded, log))
        print(probes[-1], flush=True)
    return probes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--only", choices=["silent"],
                        help="only the silent-failure probes (benchmarks/silent_failures.py)")
    parser.add_argument("--flood", default="300,15,30",
                        help="users,questions each,messages a second of the flood probe")
    parser.add_argument("--save", action="store_true", help=f"write the figures to {RESULTS}")
    args = parser.parse_args()
    users, each, rate = args.flood.split(",")
    probes = asyncio.run(run(args.lines, args.messages, args.users, args.only,
                             (int(users), int(each), float(rate))))
    print(markdown_table(["probe", "inputs", "result", "lost", "duplicated", "crashed"],
                         [list(asdict(p).values()) for p in probes]))
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"machine": machine(), "probes": [asdict(p) for p in probes]},
                                      indent=2, ensure_ascii=False))
    return 0 if all(p.crashed == 0 and p.lost == 0 for p in probes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
