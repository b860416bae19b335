"""Two processes of the bot on one PostgreSQL database, behind one webhook address: is every
question answered once when a send fails, when one process is killed, when both are restarted
in turn?

    .venv/bin/python -m benchmarks.replicas [--questions 1000]

Each replica is a real `python -m bot run` in webhook mode (DATABASE_URL, its own port), and a
balancer in this process is the one address the Bot API stand-in (bot_testing) posts updates
to: each post goes to the replicas in turn, to the other when one does not answer, as a load
balancer with health checks would. The PostgreSQL server is bot_testing.postgres's.

- a burst of questions while one send in ten fails (429 or 502);
- the same burst, one replica killed (kill -9) some replies in: the other answers what the
  killed one had kept once its leases end (LEASE_SECONDS) and it looks (TAKEOVER_SECONDS);
- the same burst through a rolling restart: each replica stopped (SIGINT) and started again,
  one after the other, while the questions come.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import re
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import astuple, dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from benchmarks.report import markdown_table
from benchmarks.silent_failures import free_port
from benchmarks.telegram_load import BOT, REPO, TELEGRAM_CAP, TOKEN, environment, push_burst
from bot.index_store import save_index
from bot.indexer import build_index
from bot.store_postgres import LEASE_SECONDS
from bot.telegram.inbox import TAKEOVER_SECONDS
from bot_testing import BotAPIStub
from bot_testing.postgres import PostgresServer
from bot_testing.process import bot_process
from bot_testing.webhook import SECRET_HEADER

SEED = 2024
FIRST_USER = 700_000
USERS = 200
FAULT_RATE = 0.10
KILLED_AFTER = 150  # replies before the kill, or before the rolling restart begins
SECRET = "replicas-benchmark-secret"
# Telegram's cap is the bot's, whatever the number of processes: each replica takes its share
# (docs/operations.md).
PER_REPLICA_CAP = TELEGRAM_CAP / 2
TAKEN_OVER = re.compile(r"(\d+) updates left unhandled by a stopped process queued")
# Enough for the killed replica's leases to end and the other to look, and for the rest.
SETTLE_SECONDS = LEASE_SECONDS + TAKEOVER_SECONDS + 30


@dataclass
class Probe:
    probe: str
    inputs: int
    delivered: int
    lost: int
    duplicated: int
    taken_over: int  # updates one replica answered for another (stopped or killed)
    seconds: float


class Balancer:
    """One address for the replicas: each post to the next replica in turn, to another when
    one refuses the connection."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self._turn = itertools.count()
        self._session: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {"Content-Type": "application/json",
                   SECRET_HEADER: request.headers.get(SECRET_HEADER, "")}
        for _ in self.ports:
            port = self.ports[next(self._turn) % len(self.ports)]
            try:
                async with self._session.post(f"http://127.0.0.1:{port}{request.path}",
                                              data=body, headers=headers) as answer:
                    return web.Response(status=answer.status)
            except aiohttp.ClientError:
                continue
        return web.Response(status=502)

    @contextlib.asynccontextmanager
    async def serving(self, port: int) -> AsyncIterator[None]:
        app = web.Application()
        app.router.add_post("/{path:.*}", self.forward)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        async with aiohttp.ClientSession() as self._session:
            try:
                yield
            finally:
                await runner.cleanup()


class Replicas:
    """The bot processes, each on its own port, all on one database and one address."""

    def __init__(self, stub: BotAPIStub, index_dir: Path, url: str, log: Path) -> None:
        self.stub, self.index_dir, self.url, self.log = stub, index_dir, url, log
        self.address = f"http://127.0.0.1:{free_port()}/hook"
        self.ports = [free_port(), free_port()]
        self.stack = contextlib.AsyncExitStack()
        self.processes: dict[int, asyncio.subprocess.Process] = {}  # the latest of each

    async def start(self, replica: int) -> asyncio.subprocess.Process:
        """Start a replica and wait until it has set the webhook (it is listening then).
        DATABASE_URL wins over the DATABASE_PATH `environment` sets."""
        env = environment(self.stub, self.index_dir, PER_REPLICA_CAP, self.log.parent) | {
            "DATABASE_URL": self.url, "EMBEDDINGS": "off", "WEBHOOK_URL": self.address,
            "WEBHOOK_SECRET": SECRET, "WEBHOOK_PORT": str(self.ports[replica]),
            "LOG_LEVEL": "INFO"}
        started = len(self.stub.calls_of("setWebhook"))
        process = await self.stack.enter_async_context(bot_process(BOT[1], env, self.log))
        async with asyncio.timeout(120):
            while len(self.stub.calls_of("setWebhook")) <= started:
                await asyncio.sleep(0.05)
        self.processes[replica] = process
        return process


async def settled(stub: BotAPIStub, expected: int, timeout: float) -> None:
    """Wait for `expected` replies (or `timeout`), then 3 s for duplicates to show."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while len(stub.calls_of("sendMessage", ok=True)) < expected:
                await asyncio.sleep(0.05)
    await asyncio.sleep(3)


def counted(stub: BotAPIStub, name: str, asked: dict[int, list[float]], started: float,
            log: Path) -> Probe:
    replied: dict[int, int] = {}
    for call in stub.calls_of("sendMessage", ok=True):
        replied[call.params["chat_id"]] = replied.get(call.params["chat_id"], 0) + 1
    lost = sum(max(0, len(times) - replied.get(user, 0)) for user, times in asked.items())
    duplicated = sum(max(0, replied.get(user, 0) - len(times)) for user, times in asked.items())
    taken_over = sum(int(found) for found in TAKEN_OVER.findall(log.read_text()))
    return Probe(name, sum(map(len, asked.values())), sum(replied.values()), lost, duplicated,
                 taken_over, round(time.monotonic() - started, 1))


async def scenario(kind: str, questions: int, server: PostgresServer, index_dir: Path,
                   work: Path) -> Probe:
    async with BotAPIStub(TOKEN) as stub:
        replicas = Replicas(stub, index_dir, server.new_database(), work / f"{kind}.log")
        balancer = Balancer(replicas.ports)
        port = int(replicas.address.rsplit(":", 1)[1].split("/")[0])
        async with balancer.serving(port), replicas.stack:
            await replicas.start(0)
            await replicas.start(1)
            if kind == "faults":
                stub.fail_randomly("sendMessage", FAULT_RATE, (429, 502), seed=SEED)
            started = time.monotonic()
            asked = push_burst(stub, questions, USERS, FIRST_USER)
            await stub.wait_for("sendMessage", KILLED_AFTER, timeout=120)
            if kind == "kill":
                replicas.processes[0].kill()
                await replicas.processes[0].wait()
            elif kind == "rolling":
                await rolling_restart(replicas)
            await settled(stub, questions, SETTLE_SECONDS + questions / PER_REPLICA_CAP)
            probe = counted(stub, PROBES[kind], asked, started, replicas.log)
    print(probe, flush=True)
    return probe


async def rolling_restart(replicas: Replicas) -> None:
    """Stop the first replica (SIGINT, as a deployment does) and start it again, then the
    same for the second."""
    for replica in (0, 1):
        replicas.processes[replica].send_signal(signal.SIGINT)
        await replicas.processes[replica].wait()
        await replicas.start(replica)


PROBES = {
    "faults": f"burst, 2 replicas, {FAULT_RATE:.0%} of sends fail (429/502)",
    "kill": f"burst, one of 2 replicas killed (kill -9) after {KILLED_AFTER} replies",
    "rolling": f"burst through a rolling restart of 2 replicas (after {KILLED_AFTER} replies)",
}


async def run(questions: int) -> list[Probe]:
    server = PostgresServer()
    try:
        server.start()
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            save_index(build_index(REPO / "corpus", embeddings=False), work / "index")
            return [await scenario(kind, questions, server, work / "index", work)
                    for kind in PROBES]
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=1_000)
    args = parser.parse_args()
    probes = asyncio.run(run(args.questions))
    print(markdown_table(["probe", "inputs", "delivered", "lost", "duplicated", "taken over",
                          "seconds"],
                         [list(astuple(p)) for p in probes]))
    return 0 if all(p.lost == 0 and p.duplicated == 0 for p in probes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
