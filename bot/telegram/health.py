"""Health for a supervisor and a load balancer, and metrics for a monitoring system:
/healthz (alive: the event loop turns and the checks run), /readyz (ready: an index is
served, the store can be written, Telegram was heard from recently, the inbox is not piling
up) and /metrics (Prometheus). They are served on the webhook's port, and, when HEALTH_PORT is
set, on a small server of their own (polling has no other; loopback by default).

A check runs every CHECK_SECONDS: it writes to the store (a full disk or a lock held shows
even when no update comes), counts the inbox and, with a webhook, asks Telegram whether
updates wait for the bot. A poller that stalls turns /readyz red within its long poll's
timeout (10 s) + CONTACT_SECONDS, a store that cannot be written within CHECK_SECONDS and
SQLite's wait for a lock: 30 s at most (benchmarks/health.py measures both).

Under systemd (Type=notify, WatchdogSec: deploy/fuite-sante-bot.service) the bot says READY=1
once it serves an index, and each check that runs says WATCHDOG=1: an event loop that stops
turning gets the process restarted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST
from telegram.error import TelegramError
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler

from bot.config import Settings
from bot.logs import ThrottledLog
from bot.stores import STORE_ERRORS

if TYPE_CHECKING:  # both hold a Health: imported for the annotations only
    from bot.telegram.ptb import BotApplication
    from bot.telegram.state import BotState

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0
# Long polling asks Telegram at least every 10 s (run_polling's timeout) and a webhook's check
# asks every CHECK_SECONDS: 18 s without a word is a poller, or a route from Telegram, stuck
# (a poll that hangs is seen at most 28 s after the fault: 10 s of the poll in flight).
CONTACT_SECONDS = 18.0
# Half a minute of replies at Telegram's cap (30 a second): past it, the bot falls behind.
MAX_INBOX_DEPTH = 1000


class ListenError(Exception):
    """An address cannot be listened on; the message says which, in one line."""


def listening(port: int, address: str, names: str) -> list[Any]:
    """Sockets bound to address:port, or ListenError naming the settings (`names`)."""
    try:
        return bind_sockets(port, address)
    except OSError as error:
        raise ListenError(f"cannot listen on {address}:{port} ({names}): "
                          f"{error.strerror}") from None


class Health:
    """What the last checks saw; the readiness is worked out when asked."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.checked_at = self.started  # the last check that ran
        self.heard_at: float | None = None  # the last word from Telegram
        self.inbox_depth = 0
        self.store_failures = ThrottledLog(log)
        self.server: HTTPServer | None = None
        self.watching: asyncio.Task[None] | None = None

    def heard_from_telegram(self) -> None:
        """A poll answered, an update posted, or Telegram saying nothing waits."""
        self.heard_at = self._clock()

    def alive(self) -> bool:
        return self._clock() - self.checked_at <= 3 * CHECK_SECONDS

    def problems(self, state: BotState) -> dict[str, str | None]:
        """Each readiness check's problem, None where it holds."""
        now = self._clock()
        silent = now - (self.heard_at if self.heard_at is not None else self.started)
        failing_since = state.store.failing_since
        return {
            "index": None if state.builder is not None else "no index served yet",
            "store": None if failing_since is None else (
                f"cannot be written for {time.time() - failing_since:.0f} s "
                f"({state.store.last_error})"),
            "telegram": None if silent <= CONTACT_SECONDS else (
                f"no word from Telegram for {silent:.0f} s"),
            "inbox": None if self.inbox_depth <= MAX_INBOX_DEPTH else (
                f"{self.inbox_depth} updates waiting"),
        }


async def watch(application: BotApplication) -> None:
    """Run the checks every CHECK_SECONDS until cancelled."""
    while True:
        try:
            await check(application)
        except Exception as error:  # the time of the last check stays: /healthz turns red
            log.error("health check failed: %s", type(error).__name__)
        await asyncio.sleep(CHECK_SECONDS)


async def check(application: BotApplication) -> None:
    state = application.bot_data
    health, metrics = state.health, state.metrics
    try:
        health.inbox_depth = await asyncio.to_thread(state.store.probe)
    except STORE_ERRORS as error:  # the store notes it (failing_since): /readyz is red
        health.store_failures.warning("the store cannot be written: %s: %s",
                                      type(error).__name__, error)
    if state.settings.webhook_url is not None:
        try:
            info = await application.bot.get_webhook_info()
        except TelegramError:
            pass  # nothing heard: /readyz turns red if it lasts
        else:
            if info.pending_update_count == 0:
                health.heard_from_telegram()
    health.checked_at = time.monotonic()
    notify_systemd("WATCHDOG=1")
    metrics.inbox_depth.set(health.inbox_depth)
    metrics.store_failing.set(state.store.failing_since is not None)
    metrics.ready.set(not any(health.problems(state).values()))


def notify_systemd(status: str) -> None:
    """Send systemd a status ("READY=1", "WATCHDOG=1", "STOPPING=1") when it runs the bot
    as a notify service (NOTIFY_SOCKET set); nothing otherwise."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        try:
            notify.sendto(status.encode(), address)
        except OSError as error:
            log.warning("systemd not told %s: %s", status, error.strerror)


class _Monitoring(RequestHandler):
    SUPPORTED_METHODS = ("GET",)

    def initialize(self, state: BotState) -> None:
        self.state = state

    def log_exception(self, *_args: Any) -> None:
        log.error("health request failed")  # no request line: nothing of a user's anyway


class Liveness(_Monitoring):
    def get(self) -> None:
        alive = self.state.health.alive()
        self.set_status(200 if alive else 503)
        self.finish("ok\n" if alive else "the checks have stopped running\n")


class Readiness(_Monitoring):
    def get(self) -> None:
        problems = self.state.health.problems(self.state)
        ready = not any(problems.values())
        self.set_status(200 if ready else 503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"ready": ready, "checks": {
            name: problem or "ok" for name, problem in problems.items()}}))


class MetricsPage(_Monitoring):
    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(self.state.metrics.exposition())


def monitoring_routes(state: BotState) -> list[tuple[str, type[RequestHandler], dict[str, Any]]]:
    """/healthz, /readyz and /metrics, for a tornado application."""
    return [(path, handler, {"state": state}) for path, handler in
            (("/healthz", Liveness), ("/readyz", Readiness), ("/metrics", MetricsPage))]


async def start_monitoring(application: BotApplication) -> None:
    """Start the checks, and the health server when HEALTH_PORT is set (ListenError if its
    address is taken)."""
    state = application.bot_data
    settings: Settings = state.settings
    health = state.health
    if settings.health_port is not None:
        sockets = listening(settings.health_port, settings.health_listen,
                            "HEALTH_LISTEN, HEALTH_PORT")
        health.server = HTTPServer(TornadoApplication(monitoring_routes(state)))
        health.server.add_sockets(sockets)
        log.info("health and metrics on %s:%d", settings.health_listen, settings.health_port)
    await check(application)
    health.watching = asyncio.create_task(watch(application))


async def stop_monitoring(application: BotApplication) -> None:
    notify_systemd("STOPPING=1")
    health = application.bot_data.health
    if health.watching is not None:
        health.watching.cancel()
        await asyncio.gather(health.watching, return_exceptions=True)
    if health.server is not None:
        health.server.stop()
        await health.server.close_all_connections()
